/*
 * clean.h - what the cleaner's files share
 *
 * sessnap_store_clean() (clean.c) walks the store twice; its files split the
 * work so that each is one noun:
 *
 *	clean.c		the two directory passes and sessnap_store_clean()
 *	clean_rank.c	the ranking of the `keep` newest sessions (a heap)
 *	clean_session.c	one session, lock file or temporary file: the
 *			decision, the checks under the lock, the report
 *
 * A run's state is one sessnap__clean, which clean.c owns; the others
 * receive it.  Nothing here is used outside the cleaner.
 */
#ifndef SESSNAP_CLEAN_H
#define SESSNAP_CLEAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "internal.h"

/* ---- The ranking of the newest (clean_rank.c) -----------------------------
 */

typedef struct {
	int64_t saved_ms;
	char id[SESSNAP_ID_LEN + 1];
} sessnap__rank;

/* A min-heap of the `keep` newest (saved time, id) pairs seen. */
typedef struct {
	sessnap__rank *heap;
	size_t len;
	unsigned int keep; /* 0: no ranking */
} sessnap__ranking;

/* Allocate room for `keep` entries (none for 0); SESSNAP_ENOMEM. */
int sessnap__rank_init(sessnap__ranking *r, unsigned int keep);
void sessnap__rank_free(sessnap__ranking *r);
/*
 * Pass 1 of keep-newest-N: rank every readable session of the store by
 * its saved time.  Fails only when the directory walk does.
 */
int sessnap__rank_pass(sessnap__ranking *r, sessnap_store *store);
/* Is (saved_ms, id) among the `keep` newest?  Always false for keep 0. */
bool sessnap__rank_protects(const sessnap__ranking *r, int64_t saved_ms,
			    const char *id);

/* ---- One run (clean.c) ----------------------------------------------------
 */

typedef struct {
	sessnap_store *store;
	sessnap_clean_policy pol;
	sessnap_clean_report rep;
	sessnap_clean_cb cb;
	void *payload;
	bool dry;
	/* The first failure: its code and message, restored at the end. */
	int first_error;
	char first_msg[1024];
	/* keep-newest-N: a min-heap of the newest sessions seen. */
	sessnap__ranking rank;
	/* The cleaner's own descriptor for the store gate, or -1. */
	int gate;
	/* Older generations (<id>.snap.N) may be in the store: the store
	 * keeps them, or the walk has met one.  Only then does a removal
	 * look for a session's (sessnap__clean_older()). */
	bool older;
} sessnap__clean;

/* ---- One session (clean_session.c) ----------------------------------------
 */

/* What the cleaner knows of one session before and after locking. */
typedef struct {
	char id[SESSNAP_ID_LEN + 1];
	char snap[SESSNAP__NAME_MAX];
	char prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	bool has_snap, has_prev;
	struct stat st_snap, st_prev;
	sessnap__header hdr;
	bool has_hdr;  /* from the main snapshot or, failing that, .prev */
	bool bad_lock; /* <id>.lock is not a regular file: left alone */
	/* Bit n set: <id>.snap.<n> (n >= 2) exists, a regular file; looked
	 * at only under the lock of a session being removed. */
	unsigned int older;
	int64_t age_ms;
} sessnap__clean_sess;

/* Bytes a removal frees: nothing while another link keeps the inode. */
uint64_t sessnap__clean_freed(const struct stat *st);
/*
 * Report one decision.  `counted` is false for the second and later files
 * of one removed session, so the report counts sessions, not files.
 */
void sessnap__clean_emit(sessnap__clean *c, const char *name, const char *id,
			 sessnap_clean_action a, sessnap_clean_file f,
			 int error, uint64_t bytes, int64_t age_ms,
			 bool counted);
/* Record a failure (the message is already set) and report it. */
void sessnap__clean_fail(sessnap__clean *c, const char *name, const char *id,
			 sessnap_clean_file f, int code);
/* Report a session that is kept or skipped. */
void sessnap__clean_emit_keep(sessnap__clean *c, const sessnap__clean_sess *s,
			      sessnap_clean_action a);
bool sessnap__clean_same_file(const struct stat *a, const struct stat *b);
void sessnap__clean_sess_names(sessnap__clean_sess *s, const char *id);
/*
 * Judge a session without any lock: a KEEP_ or SKIP_ action, one of the
 * REMOVE_ actions for a candidate, SESSNAP_CLEAN_FAILED with *err set, or
 * -1 when the session has no files any more.
 */
int sessnap__clean_evaluate(sessnap__clean *c, sessnap__clean_sess *s,
			    int *err);
/* Note the older generations of a session being removed in s->older:
 * 0, SESSNAP_EUNSAFE for one that is not a regular file, or an error. */
int sessnap__clean_older(sessnap__clean *c, sessnap__clean_sess *s);
/* Open a store file to hold it across its removal (see clean_session.c). */
int sessnap__clean_hold_open(sessnap__clean *c, const char *name, int *fd,
			     struct stat *st);
/* close(fd) when fd >= 0, keeping errno. */
void sessnap__clean_close_if_open(int fd);
/* Dry run: say what would go, without locking or removing anything. */
void sessnap__clean_remove_session_dry(sessnap__clean *c,
				       sessnap__clean_sess *s,
				       sessnap_clean_action a);
/* Take the store gate exclusively (opening it on first use). */
int sessnap__clean_gate_hold(sessnap__clean *c);
/*
 * One removal in progress (remove_session() in clean.c), in three steps:
 * sessnap__clean_removal_lock() takes the gate and the session's lock,
 * sessnap__clean_removal_recheck() opens the generations and judges the
 * session again if it changed, and after the unlinks
 * sessnap__clean_removal_report() releases everything and reports what
 * happened.  A step returns 0 to go on, or 1 when the removal stops here
 * (kept, gone, or failed: the struct says which).
 */
typedef struct {
	int fd;	    /* the session's lock; -1: none (the gate protects) */
	bool gated; /* the store gate is held */
	int again;  /* -1, or the KEEP_/SKIP_ action found on the way */
	int rc;	    /* the failure's code, when fail_name is set */
	const char *fail_name; /* the file whose step failed, or NULL */
	sessnap_clean_file fail_file;
	bool rm_snap, rm_prev, rm_lock; /* what was removed */
} sessnap__clean_removal;

#define SESSNAP__CLEAN_REMOVAL_INIT                                            \
	{                                                                      \
		-1, false, -1, 0, NULL, SESSNAP_CLEAN_FILE_SNAPSHOT, false,    \
		    false, false                                               \
	}

int sessnap__clean_removal_lock(sessnap__clean *c, sessnap__clean_sess *s,
				sessnap__clean_removal *m);
/* *a may change (the session judged again); *snap_fd and *prev_fd receive
 * the generations held open, or -1. */
int sessnap__clean_removal_recheck(sessnap__clean *c, sessnap__clean_sess *s,
				   sessnap__clean_removal *m,
				   sessnap_clean_action *a, int *snap_fd,
				   int *prev_fd);
/* Record that the step on `name` failed with rc (message set); returns 1. */
int sessnap__clean_removal_failed(sessnap__clean_removal *m, int rc,
				  const char *name, sessnap_clean_file f);
/* Release the gate, the lock and the descriptors, then report. */
void sessnap__clean_removal_report(sessnap__clean *c,
				   const sessnap__clean_sess *s,
				   sessnap_clean_action a,
				   sessnap__clean_removal *m, int snap_fd,
				   int prev_fd);
/* An orphaned temporary file, and a lock file without a snapshot. */
void sessnap__clean_temp(sessnap__clean *c, const char *name, const char *id);
void sessnap__clean_lock(sessnap__clean *c, const char *id);

#endif /* SESSNAP_CLEAN_H */
