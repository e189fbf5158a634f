/*
 * scanutil.h -- helpers shared by the scanner and recovery suites.
 *
 * They make sessions the way real programs leave them: a child process
 * that begins a session, saves, and is then killed or ends cleanly; and
 * hand-made snapshot files whose header fields (host, format version,
 * saved time, adoptions) a test chooses.  Everything happens in tu_dir.
 */
#ifndef SESSNAP_SCANUTIL_H
#define SESSNAP_SCANUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "internal.h"

/* What a child does after its first save. */
enum su_child_mode {
	SU_CHILD_WAIT,	    /* keep the session open until killed */
	SU_CHILD_END_KEEP,  /* end cleanly, keeping the completed snapshot */
	SU_CHILD_END,	    /* end cleanly, removing the session */
	SU_CHILD_ADOPT_WAIT /* adopt `id` (no new session), then wait */
};

/* A child process holding a session. */
struct su_child {
	pid_t pid;
	char id[SESSNAP_ID_LEN + 1];
};

/*
 * Open the store in tu_dir (app "t", no writer thread, full durability
 * unless SESSNAP_TEST_FSYNC=0 turns it off); asserts.
 */
sessnap_store *su_store_open(void);

/*
 * Fork a child that opens its own store, begins a session labelled
 * `label` (or, for SU_CHILD_ADOPT_WAIT, adopts c->id), saves {"n": n},
 * tells the parent its id, then acts by `mode`.  Returns when the child
 * has saved (and, for the END modes, ended and exited).
 */
void su_child_start(struct su_child *c, enum su_child_mode mode,
		    const char *label, int n);
/* SIGKILL the child and reap it. */
void su_child_kill(struct su_child *c);

/* A header with every field valid for id, owned by this process. */
void su_header(sessnap__header *h, const char *id, int64_t saved_ms);
/* Write file `name` in tu_dir: h (length and checksum filled in) and
 * payload. */
void su_put_snap(const char *name, sessnap__header *h, const char *payload);
/* A fresh random-looking session id built from n. */
void su_id(char out[SESSNAP_ID_LEN + 1], unsigned int n);
/* Whether tu_dir/name exists (without following a symlink). */
bool su_exists(const char *name);

#endif /* SESSNAP_SCANUTIL_H */
