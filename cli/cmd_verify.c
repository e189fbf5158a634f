/*
 * cmd_verify.c - "sessnap verify": check every snapshot completely
 *
 * The scanner reads headers only; verify loads each session's state with
 * sessnap_load(), which checks the payload's length and checksum and parses
 * it, falling back to the previous generation when the main snapshot is
 * damaged.  Each session ends up "ok", "ok-from-prev" (usable, but its main
 * snapshot is damaged), "newer" (written by a newer format: not checked,
 * not an error), "too-big" (larger than the read bound, see --read-bound:
 * not checked, not an error), "corrupt" (neither generation usable, or a
 * file of the session is not a regular file) or "error" (could not be
 * read, e.g. a permission problem).  Exit status 1 when any session is
 * corrupt or could not be checked.
 */
#include "config.h"

#include <getopt.h>
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
	sessnap_load_info li;
	json_object *state = NULL;
	int rc;

	msg[0] = '\0';
	if (in->status == SESSNAP_STATUS_NEWER) {
		snprintf(msg, len, "written by format version %u",
			 in->format_version);
		return "newer";
	}
	rc = sessnap_load(&state, &li, store, in->id);
	json_object_put(state);
	if (in->flags & SESSNAP_INFO_NOT_REGULAR) {
		/* Which file: the load's reason, else it is the lock. */
		snprintf(msg, len, "not a regular file (never removed): %s",
			 rc < 0		       ? sessnap_last_error() :
			 li.notice[0] != '\0' ? li.notice :
						 "its lock file is not a "
						 "regular file");
		return "corrupt";
	}
	if (rc == 0) {
		if (li.flags & SESSNAP_LOAD_FROM_PREV) {
			strlcpy(msg, li.notice, len);
			return "ok-from-prev";
		}
		return "ok";
	}
	strlcpy(msg, sessnap_last_error(), len);
	if (rc == SESSNAP_ENEWER)
		return "newer";
	if (rc == SESSNAP_ETOOBIG)
		return "too-big";
	if (rc == SESSNAP_ECORRUPT)
		return "corrupt";
	return "error";
}

int cmd_verify(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		STORE_OPTIONS,
		READ_BOUND_OPTION,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *app = NULL, *res;
	bool json = false, color;
	sessnap_store *store = NULL;
	sessnap_info *infos = NULL;
	size_t n = 0, i, ok = 0, bad = 0, newer = 0, big = 0;
	json_object *doc = NULL, *arr = NULL;
	char msg[1024];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'a':
			app = optarg;
			break;
		case 'B':
			if (set_read_bound(prog, optarg) != EXIT_OK)
				return EXIT_USAGE;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout, prog);
			return EXIT_OK;
		case ':':
			return usage_error(prog, "option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error(prog, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(prog, "unexpected argument '%s'",
				   argv[optind]);
	rc = open_store(&store, prog, dir, app, SESSNAP_STORE_READONLY, false);
	if (rc != EXIT_OK)
		return rc;
	if (scan_store(&infos, &n, prog, store) != EXIT_OK) {
		sessnap_store_close(store);
		return EXIT_FAIL;
	}
	color = use_color(stdout);
	if (json) {
		doc = json_object_new_object();
		arr = json_object_new_array();
	}
	for (i = 0; i < n; i++) {
		res = check_one(&infos[i], store, msg, sizeof(msg));
		if (strncmp(res, "ok", 2) == 0)
			ok++;
		else if (strcmp(res, "newer") == 0)
			newer++;
		else if (strcmp(res, "too-big") == 0)
			big++;
		else
			bad++;
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(
			    o, "id", json_object_new_string(infos[i].id));
			json_object_object_add(o, "result",
					       json_object_new_string(res));
			json_object_object_add(
			    o, "message",
			    msg[0] ? json_object_new_string(msg) : NULL);
			json_object_array_add(arr, o);
		} else {
			bool red = color && strncmp(res, "ok", 2) != 0;

			printf("%s%-12s%s  %s%s%s\n", red ? "\033[31m" : "",
			       res, red ? "\033[0m" : "", infos[i].id,
			       msg[0] ? "  " : "", msg);
		}
	}
	if (json) {
		json_object_object_add(doc, "version", json_object_new_int(1));
		json_object_object_add(
		    doc, "store",
		    json_object_new_string(sessnap_store_path(store)));
		json_object_object_add(doc, "sessions", arr);
		json_object_object_add(doc, "ok",
				       json_object_new_int64((int64_t)ok));
		json_object_object_add(doc, "newer",
				       json_object_new_int64((int64_t)newer));
		json_object_object_add(doc, "bad",
				       json_object_new_int64((int64_t)bad));
		json_object_object_add(doc, "too_big",
				       json_object_new_int64((int64_t)big));
		printf("%s\n", json_object_to_json_string_ext(
				   doc, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		printf("%zu ok, %zu corrupt or unreadable, %zu newer format",
		       ok, bad, newer);
		if (big > 0)
			printf(", %zu too big for the read bound (not checked: "
			       "try --read-bound SIZE)",
			       big);
		printf("\n");
	}
	sessnap_scan_free(infos, n);
	sessnap_store_close(store);
	if (fflush(stdout) != 0)
		return EXIT_FAIL;
	return bad ? EXIT_FAIL : EXIT_OK;
}
