/*
 * common.h - what the sessnap commands share: exit codes, the skeleton of
 * a command (its options and the store it names), JSON output, colour,
 * times; and, from sessions.c, what the commands that look at sessions
 * share
 */
#ifndef SESSNAP_CLI_COMMON_H
#define SESSNAP_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sessnap.h>

/*
 * The words for an age and a size, the library's own (lib/words.c is
 * compiled into the commands too): the one file of lib/ they may include.
 */
#include "../lib/words.h"

/* Exit codes of every command. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define STORE_HELP                                                             \
	"  -d, --dir DIR     use the store directory DIR\n"                    \
	"  -a, --app APP     use the default store of application APP\n"

/*
 * --read-bound SIZE, for the commands that read snapshots (list, show,
 * verify, export, recover): the largest
 * snapshot file they load (the store's read_bound option; the library's
 * default without it).  SIZE takes a k, M or G suffix (powers of 1024).
 */
#define READ_BOUND_HELP                                                        \
	"      --read-bound SIZE  load snapshots of up to SIZE bytes "         \
	"(k, M, G)\n"

/*
 * The skeleton of a command.  A command describes its command line in a
 * cmd_spec; cmd_parse() runs getopt_long over it, handles what every
 * command shares (--dir, --app, --help, --read-bound when the command
 * takes it, the usage errors and the count of operands) and hands each of
 * the command's own options to its `option` callback.  cmd_open() then
 * opens the store the user named.  A command is its spec, its callback
 * and what it does with the store:
 *
 *	struct cmd_args a;
 *	int rc = cmd_parse(&a, &spec, argc, argv, prog, &my_flags);
 *
 *	if (rc != CMD_CONTINUE)
 *		return rc;
 *	if ((rc = cmd_open(&store, &a, SESSNAP_STORE_READONLY)) != EXIT_OK)
 *		return rc;
 */

/* What a command takes after its options. */
enum cmd_operands {
	CMD_NO_OPERANDS, /* nothing: "unexpected argument" otherwise */
	CMD_ONE_ID,	 /* exactly one session id */
	CMD_IDS		 /* one session id or more */
};

struct cmd_spec {
	/* The command's own short options for getopt ("o:"), or "". */
	const char *shortopts;
	/*
	 * Its own long options, ending with a zero entry; NULL for none.  A
	 * yes/no option is best a getopt flag ({ "json", no_argument,
	 * &json, 1 }), which needs no callback.
	 */
	const struct option *longopts;
	/* Whether it takes --read-bound SIZE. */
	bool read_bound;
	enum cmd_operands operands;
	/* Prints its --help text. */
	void (*usage)(FILE *f, const char *prog);
	/*
	 * One of its own options (getopt's value and optarg; `payload` is
	 * cmd_parse()'s).  Returns CMD_CONTINUE, or an exit code to stop
	 * with (EXIT_OK after --version, EXIT_USAGE after printing why).
	 * NULL when it has no options of its own.
	 */
	int (*option)(int c, const char *arg, void *payload);
};

/* What the common options said, and the operands after the options. */
struct cmd_args {
	const char *prog;
	const char *dir, *app;
	int argc;
	char **argv;
};

/*
 * The option callback of a command whose one option with a value is
 * -o/--output FILE: `payload` is a const char ** that receives FILE.
 */
int output_option(int c, const char *arg, void *payload);

/* cmd_parse()'s "go on": not an exit code. */
#define CMD_CONTINUE (-1)

/*
 * Parse a command's arguments (argv[0] is the command's name).  Returns
 * CMD_CONTINUE with *out filled; EXIT_OK after printing --help; or
 * EXIT_USAGE (or the callback's code) after printing why.
 */
int cmd_parse(struct cmd_args *out, const struct cmd_spec *spec, int argc,
	      char **argv, const char *prog, void *payload);

/*
 * open_store() for the store that a command's --dir or --app named, which
 * must exist.  Returns EXIT_OK with *out set, or EXIT_USAGE or EXIT_FAIL
 * after printing why.
 */
int cmd_open(sessnap_store **out, const struct cmd_args *a, unsigned int flags);

/* Print "prog: message" and a pointer to --help on stderr; returns 2. */
int usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "prog: message: <library message>" on stderr. */
void lib_error(const char *prog, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Open the store named by --dir or --app (exactly one of them; a usage
 * error otherwise).  flags are SESSNAP_STORE_* flags.  Returns EXIT_OK with
 * *out set; EXIT_OK with *out NULL when the store does not exist and
 * `missing_ok`; EXIT_USAGE or EXIT_FAIL after printing why.
 */
int open_store(sessnap_store **out, const char *prog, const char *dir,
	       const char *app, unsigned int flags, bool missing_ok);

/*
 * List the store's sessions (sessnap_store_scan, every status).  Returns
 * EXIT_OK with *out and *out_count set, or EXIT_FAIL after printing why.
 */
int scan_store(sessnap_info ***out, size_t *out_count, const char *prog,
	       sessnap_store *store);

/* Colour: only on a terminal, and never with NO_COLOR set. */
bool use_color(FILE *f);
/* ANSI colour for a status, or "" without colour. */
const char *status_color(sessnap_verdict st, bool color);
const char *color_reset(bool color);

/* Milliseconds since the epoch. */
int64_t now_ms(void);

/*
 * Write a NUL-terminated text to `path` ("-" or NULL: stdout), via a
 * temporary file and a rename so that a failure leaves no half file.
 * Returns EXIT_OK or EXIT_FAIL after printing why.
 */
int write_output(const char *prog, const char *path, const char *text);

/*
 * Flush stdout at the end of a command.  Returns EXIT_OK, or EXIT_FAIL
 * after printing "prog: write to stdout failed: reason" when any output
 * was lost (a full disk, a closed pipe).
 */
int flush_stdout(const char *prog);

/* How write_json() prints: indented for people, or one plain line. */
#define JSON_FOR_PEOPLE                                                        \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |                   \
	 JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_ONE_LINE (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Write one JSON document and a newline with write_output(); `flags` are
 * json-c's (JSON_FOR_PEOPLE or JSON_ONE_LINE).  Returns EXIT_OK or
 * EXIT_FAIL after printing why.
 */
int write_json(const char *prog, const char *path, struct json_object *doc,
	       int flags);

/*
 * A session as JSON, the stable shape of "sessnap list --json" and
 * "sessnap show --json" (documented in sessnap(1)).  A new reference.
 */
struct json_object *info_json(const sessnap_info *info);
/* "plain" or "delta" (sessions.c). */
const char *layout_name(const sessnap_info *info);
/*
 * Where a session of another host runs, for people: "on HOST, lease
 * renewed 4 seconds ago" when the library judged its lease, "on HOST, no
 * lease" for a foreign one, "" for this host's.  Into buf; returns buf.
 */
const char *host_note(char *buf, size_t len, const sessnap_info *info,
		      int64_t now);

/* A key as two lowercase hex digits per byte, NUL-terminated, into out
 * (2 * len + 1 bytes): the form of a key that sessnap__key_plain()
 * refuses (sessions.c). */
void key_hex(char *out, const unsigned char *key, size_t len);

/*
 * Why a listed session is not what it seems, for people: "not a regular
 * file", "unreadable", "too big for the read bound", "from previous
 * generation", or "" (from its SESSNAP_INFO_* flags).
 */
const char *info_note(const sessnap_info *info);

/*
 * Find one session by id (full id, or a unique prefix of at least 4
 * digits) with sessnap_store_scan().  Returns EXIT_OK with *out filled (its
 * label is copied into label_buf, its key into a static buffer valid until
 * the next call), or EXIT_FAIL after printing why.
 */
int find_session(sessnap_info *out, char *label_buf, size_t label_len,
		 const char *prog, sessnap_store *store, const char *id);

/*
 * The store of a read-only command and one session of it: cmd_open() (read
 * only), then find_session() on the command's one operand.  Returns
 * EXIT_OK with *store open and *out filled, or an exit code after printing
 * why, with *store NULL.
 */
int open_session(sessnap_store **store, sessnap_info *out, char *label_buf,
		 size_t label_len, const struct cmd_args *a);

/* A generation's verdict in one word: ok, corrupt, newer, too-big, error. */
const char *verdict_word(int verdict);
/* sessnap_store_generations()'s generations as a JSON array, for --json. */
struct json_object *generations_json(const sessnap_generation *g, size_t n);
/*
 * sessnap_store_load() for a command: on failure the library's reason is
 * printed ("cannot load session ID: ..."), and the loader's notice (the
 * previous generation was used) goes to stderr as a note.  Returns EXIT_OK with
 * *out a new reference, or EXIT_FAIL.
 */
int load_state(struct json_object **out, const char *prog, sessnap_store *store,
	       const char *id);

/* A store opened read-only and its sessions, for list and verify. */
struct listing {
	const char *prog;
	sessnap_store *store;
	sessnap_info **infos;
	size_t n;
};

/*
 * cmd_open() (read only) and scan_store().  Returns EXIT_OK, or an exit
 * code after printing why with nothing left open.
 */
/* key: list only the sessions with this key (sessnap_store_scan_key()), or
 * NULL for all. */
int listing_open(struct listing *l, const struct cmd_args *a, const char *key);
void listing_close(struct listing *l);

/*
 * The head of list's and verify's JSON document: {"version": 1, "store":
 * path, "sessions": sessions}, taking `sessions` over.  A new reference.
 */
struct json_object *listing_json(const struct listing *l,
				 struct json_object *sessions);

#endif /* SESSNAP_CLI_COMMON_H */
