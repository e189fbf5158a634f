/*
 * cmd_show.c - "sessnap show ID": one session in detail, or its state
 *
 * Without options it prints what the header says (status, label, times,
 * owner, sizes).  --state prints the state itself, loaded and verified
 * with sessnap_load() (the previous generation is used when the main
 * snapshot is damaged, and a note on stderr says so).  --json prints the
 * session object of "sessnap list --json", with a "state" member when
 * --state is given.  Showing never adopts or changes anything.
 */
#include "config.h"

#include <getopt.h>
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

static void print_info(const sessnap_info *in)
{
	bool color = use_color(stdout);
	char a[16], b[16];
	int64_t now = now_ms();

	printf("%-10s %s\n", "id:", in->id);
	printf("%-10s %s%s%s\n", "status:", status_color(in->status, color),
	       sessnap_status_name(in->status), color_reset(color));
	printf("%-10s %s\n", "label:", in->label ? in->label : "");
	when("created:", in->created_ms, now);
	when("saved:", in->saved_ms, now);
	printf("%-10s %llu\n", "saves:", (unsigned long long)in->seq);
	printf("%-10s %u\n", "adoptions:", in->adoptions);
	printf("%-10s pid %lld on %s\n", "owner:", (long long)in->owner.pid,
	       in->owner.host[0] ? in->owner.host : "an unknown host");
	printf("%-10s format %u, state schema %u\n",
	       "version:", in->format_version, in->schema_version);
	sessnap__size_format(a, sizeof(a), in->payload_bytes);
	sessnap__size_format(b, sizeof(b), in->file_bytes);
	printf("%-10s state %s, file %s\n", "size:", a, b);
	if (in->flags & (SESSNAP_INFO_NOT_REGULAR | SESSNAP_INFO_UNREADABLE |
			 SESSNAP_INFO_TOOBIG))
		printf("%-10s %s\n", "note:", info_note(in));
	else if (in->flags & SESSNAP_INFO_FROM_PREV)
		printf("%-10s the main snapshot is damaged; this is the "
		       "previous generation\n",
		       "note:");
}

int cmd_show(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		STORE_OPTIONS,
		READ_BOUND_OPTION,
		{ "state", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *app = NULL;
	bool want_state = false, json = false;
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_load_info li;
	sessnap_info info;
	json_object *state = NULL, *doc;
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
		case 's':
			want_state = true;
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
	if (argc - optind != 1)
		return usage_error(prog, "give exactly one session ID");
	rc = open_store(&store, prog, dir, app, SESSNAP_STORE_READONLY, false);
	if (rc != EXIT_OK)
		return rc;
	rc = find_session(&info, label, sizeof(label), prog, store,
			  argv[optind]);
	if (rc != EXIT_OK)
		goto out;
	if (want_state) {
		int lr = sessnap_load(&state, &li, store, info.id);

		if (lr < 0) {
			lib_error(prog, lr, "cannot load session %s", info.id);
			rc = EXIT_FAIL;
			goto out;
		}
		if (li.notice[0] != '\0')
			fprintf(stderr, "%s: note: %s\n", prog, li.notice);
	}
	if (json) {
		doc = info_json(&info);
		if (want_state)
			json_object_object_add(doc, "state",
					       json_object_get(state));
		printf("%s\n", json_object_to_json_string_ext(
				   doc, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else if (want_state) {
		printf("%s\n", json_object_to_json_string_ext(
				   state, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		print_info(&info);
	}
	if (fflush(stdout) != 0)
		rc = EXIT_FAIL;
out:
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
