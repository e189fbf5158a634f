/*
 * sessnap.c - the sessnap command: see and manage sessions from a shell
 *
 * "sessnap <command> [options]" looks the command up in the table below
 * and hands it the rest of the line; each command lives in its own
 * cmd_<name>.c, parses its own options with getopt_long and answers
 * --help.  Every command names its store with --dir DIR or --app APP.
 * Exit status: 0 success, 1 failure, 2 usage error (see sessnap(1)).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sessnap.h>

#include "commands.h"
#include "common.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv, const char *prog);
	const char *prog;
	const char *summary;
};

static const struct command commands[] = {
	{ "list", cmd_list, "sessnap list", "list the sessions of a store" },
	{ "show", cmd_show, "sessnap show", "show one session, or its state" },
	{ "recover", cmd_recover, "sessnap recover",
	  "ask which crashed session to restore and print its state" },
	{ "discard", cmd_discard, "sessnap discard", "remove sessions" },
	{ "verify", cmd_verify, "sessnap verify",
	  "check every snapshot completely" },
	{ "export", cmd_export, "sessnap export", "write a session's state" },
	{ "clean", cmd_clean, "sessnap clean",
	  "remove old sessions (as snapshot-clean)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: sessnap COMMAND [OPTION]... (--dir DIR | --app "
		   "APP)\n"
		   "See and manage crash-safe session snapshots.\n\n"
		   "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\n'sessnap COMMAND --help' describes a command.\n"
		   "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;
	int c;

	opterr = 0;
	/* "+": stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("sessnap %s\n", SESSNAP_VERSION_STRING);
			return EXIT_OK;
		default:
			return usage_error("sessnap", "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(argc - optind, argv + optind,
					       commands[i].prog);
	return usage_error("sessnap", "unknown command '%s'", argv[optind]);
}
