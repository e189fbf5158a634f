/*
 * cmd_verify.c - "sessnap verify": check every snapshot completely
 *
 * The scanner reads headers only; verify loads each session's state with
 * sessnap_store_load(), which checks the payload's length and checksum and
 * parses it, falling back to the previous generation when the main snapshot is
 * damaged.  Each session ends up "ok", "ok-from-prev" (usable, but its main
 * snapshot is damaged), "ok-from-older" (usable from <id>.snap.N only),
 * "ok-older-save" (a delta snapshot whose newest record is damaged: the
 * save before it is usable),
 * "newer" (written by a newer format: not checked,
 * not an error), "too-big" (larger than the read bound, see --read-bound:
 * not checked, not an error), "corrupt" (neither generation usable, or a
 * file of the session is not a regular file) or "error" (could not be
 * read, e.g. a permission problem).  Exit status 1 when any session is
 * corrupt or could not be checked.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) [--read-bound SIZE] "
		"[--json]\n"
		"Load and verify every snapshot of a store.\n\n" STORE_HELP
		    READ_BOUND_HELP
		"      --json        print JSON (see sessnap(1))\n"
		"  -h, --help        show this help\n"
		"Exit status: 0 all usable (or newer, or too big to check), 1 "
		"some corrupt or unreadable, 2 usage error.\n",
		prog);
}

/*
 * Check one session; returns the result word and sets *msg.  The verdict
 * is the library's (scan and load judge every file by one rule): a name
 * that is not a regular file is "corrupt" whatever the other generation
 * holds, and a snapshot over the read bound is "too-big", not corrupt.
 */
static const char *check_one(const sessnap_info *in, sessnap_store *store,
			     char *msg, size_t len)
{
	sessnap_load_info *li = NULL;
	json_object *state = NULL;
	char notice[sizeof(li->notice)] = "";
	unsigned int flags = 0;
	int rc;

	msg[0] = '\0';
	if (in->status == SESSNAP_VERDICT_NEWER) {
		snprintf(msg, len, "written by format version %u",
			 in->format_version);
		return "newer";
	}
	rc = sessnap_store_load(&state, &li, store, in->id);
	json_object_put(state);
	if (li != NULL) {
		flags = li->flags;
		strlcpy(notice, li->notice, sizeof(notice));
		sessnap_load_info_free(li);
	}
	if (in->flags & SESSNAP_INFO_NOT_REGULAR) {
		/* Which file: the load's reason, else it is the lock. */
		snprintf(msg, len, "not a regular file (never removed): %s",
			 rc < 0		   ? sessnap_error_last() :
			 notice[0] != '\0' ? notice :
					     "its lock file is not a "
					     "regular file");
		return "corrupt";
	}
	if (rc == 0) {
		if (flags & SESSNAP_LOAD_FROM_PREV) {
			strlcpy(msg, notice, len);
			return "ok-from-prev";
		}
		if (flags & SESSNAP_LOAD_FROM_OLDER) {
			strlcpy(msg, notice, len);
			return "ok-from-older";
		}
		if (flags & SESSNAP_LOAD_RECORD_SKIPPED) {
			strlcpy(msg, notice, len);
			return "ok-older-save";
		}
		return "ok";
	}
	strlcpy(msg, sessnap_error_last(), len);
	if (rc == SESSNAP_ENEWER)
		return "newer";
	if (rc == SESSNAP_ETOOBIG)
		return "too-big";
	if (rc == SESSNAP_ECORRUPT)
		return "corrupt";
	return "error";
}

/* The results of a run, counted as the summary line names them. */
struct tally {
	size_t ok, bad, newer, big;
};

static void count(struct tally *t, const char *res)
{
	if (strncmp(res, "ok", 2) == 0)
		t->ok++;
	else if (strcmp(res, "newer") == 0)
		t->newer++;
	else if (strcmp(res, "too-big") == 0)
		t->big++;
	else
		t->bad++;
}

static json_object *result_json(const char *id, const char *res,
				const char *msg, const sessnap_generation *g,
				size_t n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "result", json_object_new_string(res));
	json_object_object_add(o, "message",
			       msg[0] ? json_object_new_string(msg) : NULL);
	json_object_object_add(o, "generations", generations_json(g, n));
	return o;
}

/*
 * The session's line, then, for a session with generations beyond
 * .prev (a store that keeps more), one line for each generation.
 */
static void print_result(const char *id, const char *res, const char *msg,
			 bool color, const sessnap_generation *g, size_t n)
{
	bool red = color && strncmp(res, "ok", 2) != 0, older = false;
	size_t i;

	printf("%s%-12s%s  %s%s%s\n", red ? "\033[31m" : "", res,
	       red ? "\033[0m" : "", id, msg[0] ? "  " : "", msg);
	for (i = 0; i < n; i++)
		older = older || g[i].generation > 1;
	for (i = 0; older && i < n; i++)
		printf("  generation %u (seq %llu): %s%s%s\n", g[i].generation,
		       (unsigned long long)g[i].seq, verdict_word(g[i].verdict),
		       g[i].reason[0] ? ": " : "", g[i].reason);
}

static int print_summary_json(const struct listing *l, json_object *arr,
			      const struct tally *t)
{
	json_object *doc = listing_json(l, arr);
	int rc;

	json_object_object_add(doc, "ok",
			       json_object_new_int64((int64_t)t->ok));
	json_object_object_add(doc, "newer",
			       json_object_new_int64((int64_t)t->newer));
	json_object_object_add(doc, "bad",
			       json_object_new_int64((int64_t)t->bad));
	json_object_object_add(doc, "too_big",
			       json_object_new_int64((int64_t)t->big));
	rc = write_json(l->prog, NULL, doc, JSON_FOR_PEOPLE);
	json_object_put(doc);
	return rc;
}

static int print_summary(const char *prog, const struct tally *t)
{
	printf("%zu ok, %zu corrupt or unreadable, %zu newer format", t->ok,
	       t->bad, t->newer);
	if (t->big > 0)
		printf(", %zu too big for the read bound (not checked: "
		       "try --read-bound SIZE)",
		       t->big);
	printf("\n");
	return flush_stdout(prog);
}

int cmd_verify(int argc, char **argv, const char *prog)
{
	int json = 0;
	const struct option opts[] = { { "json", no_argument, &json, 1 },
				       { NULL, 0, NULL, 0 } };
	const struct cmd_spec spec = { .shortopts = "",
				       .longopts = opts,
				       .read_bound = true,
				       .operands = CMD_NO_OPERANDS,
				       .usage = usage };
	struct tally t = { 0, 0, 0, 0 };
	json_object *arr = NULL;
	bool color;
	struct cmd_args a;
	struct listing l;
	const char *res;
	char msg[1024];
	size_t i;
	int rc;

	if ((rc = cmd_parse(&a, &spec, argc, argv, prog, NULL)) != CMD_CONTINUE)
		return rc;
	if ((rc = listing_open(&l, &a, NULL)) != EXIT_OK)
		return rc;
	color = use_color(stdout);
	if (json)
		arr = json_object_new_array();
	for (i = 0; i < l.n; i++) {
		sessnap_generation *g = NULL;
		size_t ng = 0;

		res = check_one(l.infos[i], l.store, msg, sizeof(msg));
		count(&t, res);
		/* What each generation holds; none when it cannot tell
		 * (the session's own line then says why). */
		if (sessnap_store_generations(&g, &ng, l.store,
					      l.infos[i]->id) < 0)
			ng = 0;
		if (json)
			json_object_array_add(
			    arr, result_json(l.infos[i]->id, res, msg, g, ng));
		else
			print_result(l.infos[i]->id, res, msg, color, g, ng);
		sessnap_generations_free(g);
	}
	rc = json ? print_summary_json(&l, arr, &t) : print_summary(prog, &t);
	listing_close(&l);
	if (rc != EXIT_OK)
		return rc;
	return t.bad ? EXIT_FAIL : EXIT_OK;
}
