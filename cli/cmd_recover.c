/*
 * cmd_recover.c - "sessnap recover": the recovery prompt, from a shell
 *
 * Asks, like a terminal application would at start-up, which crashed
 * session to restore (sessnap_recovery_prompt(), on stdin and stderr),
 * then prints the chosen session's verified state to stdout or to -o FILE.
 *
 * It does not adopt the session: a shell command cannot continue a
 * session, and adopting then releasing would only bump its adoption count
 * and leave it crashed anyway.  The snapshot is kept, so the application
 * can still adopt it at its next start; "sessnap discard ID" removes it
 * once its state is safe elsewhere.  Answering "discard" at the prompt
 * discards every crashed session, as in the application.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) [-o FILE] [--assume-tty]\n"
		"Ask which crashed session to restore and print its state "
		"(the snapshot is kept).\n\n" STORE_HELP
		    READ_BOUND_HELP
		"  -o, --output FILE write the state to FILE instead of "
		"stdout\n"
		"      --assume-tty  ask even when stdin is not a terminal\n"
		"  -h, --help        show this help\n",
		prog);
}

int cmd_recover(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		STORE_OPTIONS,
		READ_BOUND_OPTION,
		{ "output", required_argument, NULL, 'o' },
		{ "assume-tty", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	sessnap_prompt_options po = SESSNAP_PROMPT_OPTIONS_INIT;
	const char *dir = NULL, *app = NULL, *output = NULL;
	char id[SESSNAP_ID_LEN + 1], *buf = NULL;
	sessnap_prompt_answer answer = SESSNAP_PROMPT_NOTHING;
	sessnap_store *store = NULL;
	sessnap_load_info li;
	json_object *state = NULL;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:a:o:h", opts, NULL)) != -1) {
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
		case 'o':
			output = optarg;
			break;
		case 't':
			po.assume_tty = 1;
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
	rc = open_store(&store, prog, dir, app, SESSNAP_STORE_NOTHREAD, false);
	if (rc != EXIT_OK)
		return rc;
	po.in = stdin;
	po.out = stderr;
	if ((rc = sessnap_recovery_prompt(id, &answer, store, &po)) < 0) {
		lib_error(prog, rc, "recovery failed");
		rc = EXIT_FAIL;
		goto out;
	}
	if (answer != SESSNAP_PROMPT_RESTORE) {
		rc = EXIT_OK;
		goto out;
	}
	if ((rc = sessnap_load(&state, &li, store, id)) < 0) {
		lib_error(prog, rc, "cannot load session %s", id);
		rc = EXIT_FAIL;
		goto out;
	}
	if (li.notice[0] != '\0')
		fprintf(stderr, "%s: note: %s\n", prog, li.notice);
	if (asprintf(&buf, "%s\n",
		     json_object_to_json_string_ext(
			 state, JSON_C_TO_STRING_PRETTY |
				    JSON_C_TO_STRING_SPACED |
				    JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = EXIT_FAIL;
		goto out;
	}
	rc = write_output(prog, output, buf);
	if (rc == EXIT_OK)
		fprintf(stderr,
			"%s: restored session %s; its snapshot is kept (remove "
			"it with: sessnap discard %s)\n",
			prog, id, id);
out:
	free(buf);
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
