/*
 * names.h - the store's file names, their paths, and the directory walk
 *
 * See names.c.  Included by internal.h: every module of lib/ may use it.
 */
#ifndef SESSNAP_NAMES_H
#define SESSNAP_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sessnap.h"

/* 1 to SESSNAP_APP_MAX of [A-Za-z0-9._-], not starting with a dot. */
bool sessnap__app_valid(const char *app);
/* Exactly SESSNAP_ID_LEN lowercase hex digits. */
bool sessnap__id_valid(const char *id);
/* 0 for a valid id, else SESSNAP_EBADNAME with the message saying why. */
int sessnap__id_check(const char *id);
/* A fresh id: 128 random bits as SESSNAP_ID_LEN lowercase hex digits. */
void sessnap__id_new(char id[SESSNAP_ID_LEN + 1]);
/*
 * A temporary name for `target` (a name of the store or its stem, such as
 * "<id>.claim"): ".<target>.XXXXXX", six random characters of
 * [A-Za-z0-9].  The dot keeps it out of globs and listings; its creator
 * opens it with O_CREAT|O_EXCL and tries another name on EEXIST.
 */
void sessnap__temp_name(char *out, size_t len, const char *target);

/* Full path of a file in the store, for messages: writes into buf. */
const char *sessnap__path(char *buf, size_t len, const sessnap_store *store,
			  const char *name);
/* File names of a session. */
#define SESSNAP__NAME_MAX (SESSNAP_ID_LEN + 32)
void sessnap__snap_name(char out[SESSNAP__NAME_MAX], const char *id);
void sessnap__prev_name(char out[SESSNAP__NAME_MAX], const char *id);
void sessnap__lock_name(char out[SESSNAP__NAME_MAX], const char *id);
/* <id>.claim: the cross-host adoption's claim of a session (claim.c). */
void sessnap__claim_name(char out[SESSNAP__NAME_MAX], const char *id);
/*
 * Generation n of a session: 0 is <id>.snap, 1 <id>.snap.prev, and 2 to
 * SESSNAP_GENERATIONS_MAX <id>.snap.<n> (decimal, no leading zero).
 */
void sessnap__gen_name(char out[SESSNAP__NAME_MAX], const char *id,
		       unsigned int n);
/*
 * The clock file of a host (lease.c): ".sessnap-clock." and 16 lowercase
 * hex digits of the XXH3-64 hash of the host name.  One per host that
 * judged a lease in the store, touched to read the file server's clock.
 * It parses as SESSNAP__NAME_OTHER (a dot and no session id: never a
 * temporary file), so no scan, clean, discard or adopt ever reads, writes
 * or removes it.
 */
#define SESSNAP__CLOCK_PREFIX ".sessnap-clock."
void sessnap__clock_name(char out[SESSNAP__NAME_MAX], const char *host);
/* Every generation name a reader looks for: 0 to this, inclusive. */
#define SESSNAP__GEN_LAST SESSNAP_GENERATIONS_MAX

/*
 * What a name in the store is.  Only these six kinds belong to the
 * library; SESSNAP__NAME_OTHER is never read, written or removed.
 */
typedef enum {
	SESSNAP__NAME_OTHER = 0,
	SESSNAP__NAME_SNAP, /* <id>.snap */
	SESSNAP__NAME_PREV, /* <id>.snap.prev */
	SESSNAP__NAME_LOCK, /* <id>.lock */
	/* .<id>.snap.XXXXXX, .<id>.snap.prev.XXXXXX, .<id>.claim.XXXXXX */
	SESSNAP__NAME_TEMP,
	SESSNAP__NAME_OLDER, /* <id>.snap.<n>, n from 2 to GENERATIONS_MAX */
	SESSNAP__NAME_CLAIM /* <id>.claim */
} sessnap__name_kind;

/*
 * Parse a directory entry's name: its kind, and for any kind but
 * SESSNAP__NAME_OTHER the session id in it (id is left alone otherwise).
 * The one rule for every module: the scanner, the cleaner, discard and
 * adopt all ask it.
 */
sessnap__name_kind sessnap__name_parse(const char *name,
				       char id[SESSNAP_ID_LEN + 1]);
/*
 * The generation a name of kind SNAP (0), PREV (1) or OLDER (2 and up)
 * holds; -1 for any other name.
 */
int sessnap__name_generation(const char *name);

/* A file's mtime in milliseconds since the epoch. */
int64_t sessnap__mtime_ms(const struct stat *st);
/*
 * lstat a store file (AT_SYMLINK_NOFOLLOW).  Returns 1 when it exists
 * (*st filled), 0 when it does not, or a negative code with the message
 * naming the file.
 */
int sessnap__name_stat(struct stat *st, sessnap_store *store, const char *name);
/*
 * Open store file `name` to read it: read-only, never through a link,
 * never waiting on a FIFO.  Returns 0 with *fd set,
 * SESSNAP__OPEN_ABSENT when there is no such name,
 * SESSNAP__OPEN_NOT_REGULAR when the name holds what no one can open so
 * (a symlink, a socket, a device), or an error naming the file.
 */
enum { SESSNAP__OPEN_ABSENT = 1, SESSNAP__OPEN_NOT_REGULAR = 2 };
int sessnap__name_open_read(int *fd, sessnap_store *store, const char *name);
/* True only when lstat says the name does not exist (ENOENT). */
bool sessnap__name_absent(sessnap_store *store, const char *name);
/*
 * SESSNAP_EUNSAFE ("cannot <what> session <id>: <path> is not a regular
 * file ...") when <id>.snap or <id>.snap.prev exists and is not a regular
 * file; 0 when both are regular or absent; or an lstat error.
 */
int sessnap__session_regular(sessnap_store *store, const char *id,
			     const char *what);
/*
 * Unlink a store file.  ENOENT (someone else removed it first) is
 * success; any other failure is an error naming the file.
 */
int sessnap__name_unlink(sessnap_store *store, const char *name);

/* One entry of the store directory, as sessnap__dir_walk() hands it. */
typedef struct {
	const char *name;	 /* d_name: valid during the callback only */
	sessnap__name_kind kind; /* never SESSNAP__NAME_OTHER */
	int generation;		 /* 0, 1, 2...: SNAP, PREV, OLDER; else -1 */
	char id[SESSNAP_ID_LEN + 1];
	unsigned char type; /* d_type: DT_REG, DT_LNK, ... or DT_UNKNOWN */
} sessnap__dir_entry;

/* Returns 0 to go on, or a value that stops the walk: a negative code, or
 * a positive one for "found, no need to read on". */
typedef int (*sessnap__dir_cb)(const sessnap__dir_entry *entry, void *payload);
/*
 * Read the store directory once, on a stream of its own, and hand each
 * entry that is one of the store's names to cb, in directory order.
 * Returns 0, the first non-zero value cb returned, or an error of the
 * directory itself (its open, fdopendir or readdir) whose message names
 * the store.  errno is kept across the closing of the stream.
 */
int sessnap__dir_walk(sessnap_store *store, sessnap__dir_cb cb, void *payload);

#endif /* SESSNAP_NAMES_H */
