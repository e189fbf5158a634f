/*
 * commands.h - the subcommands of sessnap, one cmd_<name>.c each
 *
 * Each takes the arguments from its own name on (argv[0] is "list",
 * "clean", ...) and returns the process exit code: 0 success, 1 failure,
 * 2 usage error.  `prog` is how it names itself in messages
 * ("sessnap list", or "snapshot-clean" for the cleaner's own program).
 */
#ifndef SESSNAP_CLI_COMMANDS_H
#define SESSNAP_CLI_COMMANDS_H

int cmd_list(int argc, char **argv, const char *prog);
int cmd_show(int argc, char **argv, const char *prog);
int cmd_recover(int argc, char **argv, const char *prog);
int cmd_discard(int argc, char **argv, const char *prog);
int cmd_verify(int argc, char **argv, const char *prog);
int cmd_export(int argc, char **argv, const char *prog);
int cmd_clean(int argc, char **argv, const char *prog);

#endif /* SESSNAP_CLI_COMMANDS_H */
