/*
 * cmd_discard.c - "sessnap discard ID...": remove sessions for good
 *
 * Each id (or unique prefix) is resolved with the scanner and removed with
 * sessnap_store_discard(), which refuses a running session.  One failure does
 * not stop the others; the exit status is 1 if any failed.
 */
#include "config.h"

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
	static const struct cmd_spec spec = { .shortopts = "",
					      .operands = CMD_IDS,
					      .usage = usage };
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_info info;
	struct cmd_args a;
	int i, rc, status = EXIT_OK;

	if ((rc = cmd_parse(&a, &spec, argc, argv, prog, NULL)) != CMD_CONTINUE)
		return rc;
	if ((rc = cmd_open(&store, &a, SESSNAP_STORE_NOTHREAD)) != EXIT_OK)
		return rc;
	for (i = 0; i < a.argc; i++) {
		if (find_session(&info, label, sizeof(label), prog, store,
				 a.argv[i]) != EXIT_OK) {
			status = EXIT_FAIL;
			continue;
		}
		if ((rc = sessnap_store_discard(store, info.id)) < 0) {
			lib_error(prog, rc, "cannot discard %s", info.id);
			status = EXIT_FAIL;
			continue;
		}
		printf("discarded %s\n", info.id);
	}
	sessnap_store_close(store);
	if (flush_stdout(prog) != EXIT_OK)
		return EXIT_FAIL;
	return status;
}
