/*
 * cmd_export.c - "sessnap export ID": a session's state as a JSON file
 *
 * Loads and verifies the state (falling back to the previous generation
 * like the library's loader) and writes it as one line of plain JSON to
 * stdout or, with -o FILE, to FILE through a temporary file and a rename,
 * so an interrupted export never leaves half a file.
 */
#include "config.h"

#include <stdio.h>

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
		{ "output", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 }
	};
	static const struct cmd_spec spec = { .shortopts = "o:",
					      .longopts = opts,
					      .read_bound = true,
					      .operands = CMD_ONE_ID,
					      .usage = usage,
					      .option = output_option };
	const char *output = NULL;
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_info info;
	json_object *state = NULL;
	struct cmd_args a;
	int rc;

	rc = cmd_parse(&a, &spec, argc, argv, prog, &output);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = open_session(&store, &info, label, sizeof(label), &a);
	if (rc != EXIT_OK)
		return rc;
	if ((rc = load_state(&state, prog, store, info.id)) == EXIT_OK)
		rc = write_json(prog, output, state, JSON_ONE_LINE);
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
