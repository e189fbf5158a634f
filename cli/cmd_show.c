/*
 * cmd_show.c - "sessnap show ID": one session in detail, or its state
 *
 * Without options it prints what the header says (status, label, times,
 * owner, sizes).  --state prints the state itself, loaded and verified
 * with sessnap_store_load() (the previous generation is used when the main
 * snapshot is damaged, and a note on stderr says so).  Both list the
 * session's generations (sessnap_store_generations(): number, seq, saved time,
 * size and verdict of each, in the order the loader tries them; the
 * number is what `sessnap export --generation N` takes).  --json prints
 * the session object of "sessnap list --json" with a "generations" array,
 * and a "state" member when --state is given.  Showing never adopts or changes
 * anything.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(
	    f,
	    "Usage: %s (--dir DIR | --app APP) ID [--state] [--json]\n"
	    "Show one session.  ID is the full id or a unique prefix.\n\n" STORE_HELP
		READ_BOUND_HELP
	    "      --state       print the session's state (verified)\n"
	    "      --json        print JSON (see sessnap(1))\n"
	    "  -h, --help        show this help\n",
	    prog);
}

static void when(const char *what, int64_t ms, int64_t now)
{
	char date[64] = "unknown", ago[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms > 0 && localtime_r(&t, &tm) != NULL)
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm);
	sessnap__age_format(ago, sizeof(ago), now, ms);
	printf("%-10s %s (%s)\n", what, date, ago);
}

/* The layout; for a delta file its base, area and newest record. */
static void print_layout(const sessnap_info *in)
{
	char a[16], b[16], c[16], d[16];

	if (in->layout != SESSNAP_LAYOUT_DELTA) {
		printf("%-10s plain\n", "layout:");
		return;
	}
	sessnap__size_format(a, sizeof(a), in->base_bytes);
	sessnap__size_format(b, sizeof(b), in->base_stored_bytes);
	sessnap__size_format(c, sizeof(c), in->area_bytes);
	sessnap__size_format(d, sizeof(d), in->record_bytes);
	printf("%-10s delta\n", "layout:");
	printf("%-10s seq %llu, %s, stored %s (%s)\n", "base:",
	       (unsigned long long)in->base_seq, a, b,
	       in->base_compressed ? "zstd" : "uncompressed");
	printf("%-10s %s\n", "area:", c);
	if (in->record_bytes > 0)
		printf("%-10s %s, seq %llu (%llu saves since the base)\n",
		       "record:", d, (unsigned long long)in->seq,
		       (unsigned long long)(in->seq - in->base_seq));
	else
		printf("%-10s none: the base is the newest commit\n",
		       "record:");
}

static void print_info(const sessnap_info *in)
{
	bool color = use_color(stdout);
	char a[16], b[16], where[SESSNAP_HOST_MAX + 64];
	int64_t now = now_ms();

	printf("%-10s %s\n", "id:", in->id);
	printf("%-10s %s%s%s\n", "status:", status_color(in->status, color),
	       sessnap_verdict_name(in->status), color_reset(color));
	printf("%-10s %s\n", "label:", in->label ? in->label : "");
	if (in->key != NULL && sessnap__key_plain(in->key, in->key_len)) {
		printf("%-10s %s\n", "key:", (const char *)in->key);
	} else if (in->key != NULL) {
		char hex[2 * SESSNAP_KEY_MAX + 1];

		key_hex(hex, in->key, in->key_len);
		printf("%-10s hex %s\n", "key:", hex);
	}
	when("created:", in->created_ms, now);
	when("saved:", in->saved_ms, now);
	printf("%-10s %llu\n", "saves:", (unsigned long long)in->seq);
	printf("%-10s %u\n", "adoptions:", in->adoptions);
	printf("%-10s pid %lld on %s\n", "owner:", (long long)in->owner.pid,
	       in->owner.host[0] ? in->owner.host : "an unknown host");
	if (host_note(where, sizeof(where), in, now)[0] != '\0')
		printf("%-10s %s\n", "host:", where);
	printf("%-10s format %u, state schema %u\n",
	       "version:", in->format_version, in->schema_version);
	sessnap__size_format(a, sizeof(a), in->payload_bytes);
	sessnap__size_format(b, sizeof(b), in->file_bytes);
	printf("%-10s state %s, file %s\n", "size:", a, b);
	print_layout(in);
	if (in->flags & (SESSNAP_INFO_NOT_REGULAR | SESSNAP_INFO_UNREADABLE |
			 SESSNAP_INFO_TOOBIG))
		printf("%-10s %s\n", "note:", info_note(in));
	else if (in->flags & SESSNAP_INFO_FROM_PREV)
		printf("%-10s the main snapshot is damaged; this is the "
		       "previous generation\n",
		       "note:");
	else if (in->flags & SESSNAP_INFO_FROM_OLDER)
		printf("%-10s the main snapshot and .prev are damaged; this "
		       "is generation %u\n",
		       "note:", in->generation);
	if (in->flags & SESSNAP_INFO_TAKEN_OVER)
		printf("%-10s taken over by another host: its state goes on "
		       "in the session that %s.claim names\n",
		       "note:", in->id);
}

/* One line per generation, the loader's order; "-" when it cannot be. */
static void print_generations(const sessnap_generation *g, size_t n)
{
	char size[16], ago[32];
	int64_t now = now_ms();
	size_t i;

	printf("generations (export --generation N):\n");
	for (i = 0; i < n; i++) {
		sessnap__size_format(size, sizeof(size), g[i].file_bytes);
		sessnap__age_format(ago, sizeof(ago), now, g[i].saved_ms);
		printf("  %u  seq %-6llu %-16s %-6s %s%s%s\n", g[i].generation,
		       (unsigned long long)g[i].seq,
		       g[i].saved_ms > 0 ? ago : "-", size,
		       verdict_word(g[i].verdict), g[i].reason[0] ? ": " : "",
		       g[i].reason);
	}
}

int cmd_show(int argc, char **argv, const char *prog)
{
	int want_state = 0, json = 0;
	const struct option opts[] = { { "state", no_argument, &want_state, 1 },
				       { "json", no_argument, &json, 1 },
				       { NULL, 0, NULL, 0 } };
	const struct cmd_spec spec = { .shortopts = "",
				       .longopts = opts,
				       .read_bound = true,
				       .operands = CMD_ONE_ID,
				       .usage = usage };
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_info info;
	sessnap_generation *gens = NULL;
	size_t ngens = 0;
	json_object *state = NULL, *doc;
	struct cmd_args a;
	int rc;

	if ((rc = cmd_parse(&a, &spec, argc, argv, prog, NULL)) != CMD_CONTINUE)
		return rc;
	rc = open_session(&store, &info, label, sizeof(label), &a);
	if (rc != EXIT_OK)
		return rc;
	if (want_state && (rc = load_state(&state, prog, store, info.id)) != 0)
		goto out;
	if ((rc = sessnap_store_generations(&gens, &ngens, store, info.id)) <
		0 &&
	    rc != SESSNAP_ENOTFOUND) {
		lib_error(prog, rc, "cannot list the generations of %s",
			  info.id);
		rc = EXIT_FAIL;
		goto out;
	}
	if (json) {
		doc = info_json(&info);
		json_object_object_add(doc, "generations",
				       generations_json(gens, ngens));
		if (want_state)
			json_object_object_add(doc, "state",
					       json_object_get(state));
		rc = write_json(prog, NULL, doc, JSON_FOR_PEOPLE);
		json_object_put(doc);
	} else if (want_state) {
		rc = write_json(prog, NULL, state, JSON_FOR_PEOPLE);
	} else {
		print_info(&info);
		print_generations(gens, ngens);
		rc = flush_stdout(prog);
	}
out:
	sessnap_generations_free(gens);
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
