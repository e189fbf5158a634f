/*
 * cmd_discard.c - "sessnap discard ID...": remove sessions for good
 *
 * Each id (or unique prefix) is resolved with the scanner and removed with
 * sessnap_discard(), which refuses a running session.  One failure does
 * not stop the others; the exit status is 1 if any failed.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) ID...\n"
		"Remove sessions (never a running one).  Each ID is a full id "
		"or a unique prefix.\n\n" STORE_HELP
		"  -h, --help        show this help\n",
		prog);
}

int cmd_discard(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = { STORE_OPTIONS,
					      { "help", no_argument, NULL,
						'h' },
					      { NULL, 0, NULL, 0 } };
	const char *dir = NULL, *app = NULL;
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_info info;
	int c, rc, status = EXIT_OK;

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
	if (optind >= argc)
		return usage_error(prog, "give at least one session ID");
	rc = open_store(&store, prog, dir, app, SESSNAP_STORE_NOTHREAD, false);
	if (rc != EXIT_OK)
		return rc;
	for (; optind < argc; optind++) {
		if (find_session(&info, label, sizeof(label), prog, store,
				 argv[optind]) != EXIT_OK) {
			status = EXIT_FAIL;
			continue;
		}
		if ((rc = sessnap_discard(store, info.id)) < 0) {
			lib_error(prog, rc, "cannot discard %s", info.id);
			status = EXIT_FAIL;
			continue;
		}
		printf("discarded %s\n", info.id);
	}
	sessnap_store_close(store);
	if (fflush(stdout) != 0)
		return EXIT_FAIL;
	return status;
}
