/*
 * common.h - what the sessnap commands share: exit codes, opening the
 * store the user named, colour, sizes and times
 */
#ifndef SESSNAP_CLI_COMMON_H
#define SESSNAP_CLI_COMMON_H

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

/* The long options every store-using command takes. */
#define STORE_OPTIONS                                                          \
	{ "dir", required_argument, NULL, 'd' },                               \
	{                                                                      \
		"app", required_argument, NULL, 'a'                            \
	}

#define STORE_HELP                                                             \
	"  -d, --dir DIR     use the store directory DIR\n"                    \
	"  -a, --app APP     use the default store of application APP\n"

/*
 * --read-bound SIZE, for the commands that read snapshots (list, show,
 * verify, export, recover): the largest
 * snapshot file they load (the store's read_bound option; the library's
 * default without it).  SIZE takes a k, M or G suffix (powers of 1024).
 */
#define READ_BOUND_OPTION                                                      \
	{                                                                      \
		"read-bound", required_argument, NULL, 'B'                     \
	}
#define READ_BOUND_HELP                                                        \
	"      --read-bound SIZE  load snapshots of up to SIZE bytes "        \
	"(k, M, G)\n"

/*
 * Parse --read-bound's SIZE and keep it for open_store().  Returns EXIT_OK,
 * or EXIT_USAGE after printing why.
 */
int set_read_bound(const char *prog, const char *arg);

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
 * List the store's sessions (sessnap_scan, every status).  Returns EXIT_OK
 * with *out and *out_count set, or EXIT_FAIL after printing why.
 */
int scan_store(sessnap_info **out, size_t *out_count, const char *prog,
	       sessnap_store *store);

/* Colour: only on a terminal, and never with NO_COLOR set. */
bool use_color(FILE *f);
/* ANSI colour for a status, or "" without colour. */
const char *status_color(sessnap_status st, bool color);
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
 * A session as JSON, the stable shape of "sessnap list --json" and
 * "sessnap show --json" (documented in sessnap(1)).  A new reference.
 */
struct json_object *info_json(const sessnap_info *info);

/*
 * Why a listed session is not what it seems, for people: "not a regular
 * file", "unreadable", "too big for the read bound", "from previous
 * generation", or "" (from its SESSNAP_INFO_* flags).
 */
const char *info_note(const sessnap_info *info);

/*
 * Find one session by id (full id, or a unique prefix of at least 4
 * digits) with sessnap_scan().  Returns EXIT_OK with *out filled (its
 * label is copied into label_buf), or EXIT_FAIL after printing why.
 */
int find_session(sessnap_info *out, char *label_buf, size_t label_len,
		 const char *prog, sessnap_store *store, const char *id);

#endif /* SESSNAP_CLI_COMMON_H */
