/*
 * cmd_recover.c - "sessnap recover": the recovery prompt, from a shell
 *
 * Asks, like a terminal application would at start-up, which crashed
 * session to restore (sessnap_prompt_run(), on stdin and stderr),
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

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) [--key KEY] [-o FILE] "
		"[--assume-tty]\n"
		"Ask which crashed session to restore and print its state "
		"(the snapshot is kept).\n\n" STORE_HELP READ_BOUND_HELP
		"      --key KEY     offer only the sessions whose key is "
		"exactly KEY\n"
		"  -o, --output FILE write the state to FILE instead of "
		"stdout\n"
		"      --assume-tty  ask even when stdin is not a terminal\n"
		"  -h, --help        show this help\n",
		prog);
}

struct recover_args {
	const char *output;
	const char *key;
};

static int recover_option(int c, const char *arg, void *payload)
{
	struct recover_args *r = payload;

	if (c == 'k')
		r->key = arg;
	else
		r->output = arg;
	return CMD_CONTINUE;
}

int cmd_recover(int argc, char **argv, const char *prog)
{
	int assume_tty = 0;
	const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "assume-tty", no_argument, &assume_tty, 1 },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_spec spec = { .shortopts = "o:",
				       .longopts = opts,
				       .read_bound = true,
				       .operands = CMD_NO_OPERANDS,
				       .usage = usage,
				       .option = recover_option };
	sessnap_prompt_options po = SESSNAP_PROMPT_OPTIONS_INIT;
	struct recover_args r = { NULL, NULL };
	char id[SESSNAP_ID_LEN + 1];
	sessnap_prompt_answer answer = SESSNAP_PROMPT_NOTHING;
	sessnap_store *store = NULL;
	json_object *state = NULL;
	struct cmd_args a;
	int rc;

	rc = cmd_parse(&a, &spec, argc, argv, prog, &r);
	if (rc != CMD_CONTINUE)
		return rc;
	if (r.key != NULL &&
	    (r.key[0] == '\0' || strlen(r.key) > SESSNAP_KEY_MAX))
		return usage_error(prog, "--key needs 1 to %d bytes",
				   SESSNAP_KEY_MAX);
	if ((rc = cmd_open(&store, &a, SESSNAP_STORE_NOTHREAD)) != EXIT_OK)
		return rc;
	po.assume_tty = assume_tty;
	po.in = stdin;
	po.out = stderr;
	po.key = r.key;
	po.key_len = r.key ? strlen(r.key) : 0;
	if ((rc = sessnap_prompt_run(id, &answer, store, &po)) < 0) {
		lib_error(prog, rc, "recovery failed");
		rc = EXIT_FAIL;
		goto out;
	}
	rc = EXIT_OK;
	if (answer != SESSNAP_PROMPT_RESTORE)
		goto out;
	if ((rc = load_state(&state, prog, store, id)) != EXIT_OK)
		goto out;
	rc = write_json(prog, r.output, state, JSON_FOR_PEOPLE);
	if (rc == EXIT_OK)
		fprintf(stderr,
			"%s: restored session %s; its snapshot is kept (remove "
			"it with: sessnap discard %s)\n",
			prog, id, id);
out:
	json_object_put(state);
	sessnap_store_close(store);
	return rc;
}
