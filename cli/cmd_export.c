/*
 * cmd_export.c - "sessnap export ID": a session's state as a JSON file
 *
 * Loads and verifies the state (falling back to the previous generation
 * like the library's loader) and writes it as one line of plain JSON to
 * stdout or, with -o FILE, to FILE through a temporary file and a rename,
 * so an interrupted export never leaves half a file.
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
		"Usage: %s (--dir DIR | --app APP) ID [-o FILE]\n"
		"Write the verified state of a session as JSON.\n\n" STORE_HELP
		    READ_BOUND_HELP
		"  -o, --output FILE write to FILE instead of stdout\n"
		"  -h, --help        show this help\n",
		prog);
}

int cmd_export(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		STORE_OPTIONS,
		READ_BOUND_OPTION,
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *app = NULL, *output = NULL, *text;
	char label[SESSNAP_LABEL_MAX + 1], *buf = NULL;
	sessnap_store *store = NULL;
	sessnap_load_info li;
	sessnap_info info;
	json_object *state = NULL;
	int c, rc, lr;

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
	if ((lr = sessnap_load(&state, &li, store, info.id)) < 0) {
		lib_error(prog, lr, "cannot load session %s", info.id);
		rc = EXIT_FAIL;
		goto out;
	}
	if (li.notice[0] != '\0')
		fprintf(stderr, "%s: note: %s\n", prog, li.notice);
	text = json_object_to_json_string_ext(
	    state, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (asprintf(&buf, "%s\n", text) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = EXIT_FAIL;
		goto out;
	}
	rc = write_output(prog, output, buf);
out:
	free(buf);
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
