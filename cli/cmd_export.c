/*
 * cmd_export.c - "sessnap export ID": a session's state as a JSON file
 *
 * Loads and verifies the state (falling back to the older generations
 * like the library's loader; --generation N takes generation N alone:
 * 0 <id>.snap, 1 .prev, N <id>.snap.N, as `sessnap show` lists them)
 * and writes it as one line of plain JSON to
 * stdout or, with -o FILE, to FILE through a temporary file and a rename,
 * so an interrupted export never leaves half a file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) ID [-g N] [-o FILE]\n"
		"Write the verified state of a session as JSON.\n\n" STORE_HELP
		    READ_BOUND_HELP
		"  -g, --generation N  write generation N (0 the newest, 1 "
		".prev, N .snap.N;\n"
		"                    see sessnap show) instead of the one "
		"the loader picks\n"
		"  -o, --output FILE write to FILE instead of stdout\n"
		"  -h, --help        show this help\n",
		prog);
}

/* What export's own options said. */
struct export_opts {
	const char *output;
	long long generation; /* -1: the loader's choice */
	const char *prog;
};

static int export_option(int c, const char *arg, void *payload)
{
	struct export_opts *o = payload;
	const char *errstr = NULL;

	if (c == 'o') {
		o->output = arg;
		return CMD_CONTINUE;
	}
	o->generation = strtonum(arg, 0, SESSNAP_GENERATIONS_MAX, &errstr);
	if (errstr != NULL)
		return usage_error(o->prog, "--generation %s: %s (0 to %d)",
				   arg, errstr, SESSNAP_GENERATIONS_MAX);
	return CMD_CONTINUE;
}

int cmd_export(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "generation", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct cmd_spec spec = { .shortopts = "o:g:",
					      .longopts = opts,
					      .read_bound = true,
					      .operands = CMD_ONE_ID,
					      .usage = usage,
					      .option = export_option };
	struct export_opts eo = { NULL, -1, prog };
	char label[SESSNAP_LABEL_MAX + 1];
	sessnap_store *store = NULL;
	sessnap_info info;
	json_object *state = NULL;
	struct cmd_args a;
	int rc;

	rc = cmd_parse(&a, &spec, argc, argv, prog, &eo);
	if (rc != CMD_CONTINUE)
		return rc;
	rc = open_session(&store, &info, label, sizeof(label), &a);
	if (rc != EXIT_OK)
		return rc;
	if (eo.generation < 0) {
		rc = load_state(&state, prog, store, info.id);
	} else if ((rc = sessnap_store_load_generation(
			&state, NULL, store, info.id,
			(unsigned int)eo.generation)) < 0) {
		lib_error(prog, rc, "cannot load generation %lld of session %s",
			  eo.generation, info.id);
		rc = EXIT_FAIL;
	} else {
		rc = EXIT_OK;
	}
	if (rc == EXIT_OK)
		rc = write_json(prog, eo.output, state, JSON_ONE_LINE);
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
