/*
 * clean.c - remove old sessions and orphaned files, and nothing else
 *
 * The cleaner runs unattended (cron, a systemd timer) over a directory that
 * other processes are writing at the same moment, so every rule here is
 * about what it must NOT remove:
 *
 *  - only regular files named like the store's own files are considered:
 *    <id>.snap, <id>.snap.prev, <id>.lock, and the temporary files
 *    .<id>.snap.XXXXXX and .<id>.snap.prev.XXXXXX, as the store's one name
 *    parser says (names.c).  Anything else is ignored; a symlink, directory or FIFO with such a name is reported and
 *    left alone.  Nothing is ever followed: every call is relative to the
 *    store's descriptor, with AT_SYMLINK_NOFOLLOW or O_NOFOLLOW, as
 *    systemd-tmpfiles does, so renaming the store's path away or planting a
 *    symlink cannot make the cleaner delete anything outside the store;
 *  - a session's age is the saved time in its header, else the file's
 *    mtime; never atime (reading bumps it) nor ctime;
 *  - a running session (its lock is held) is never touched.  The cleaner
 *    takes the session's lock itself before removing anything, or, when
 *    the session has no lock file, the store gate (liveness.c), so an
 *    adopter cannot start writing in the middle of a removal; after
 *    locking it re-checks the lock file's link count and the snapshot's
 *    identity, because a live writer may have renamed a fresh snapshot in
 *    between the decision and the lock;
 *  - newer-format files, unfinished sessions of other hosts, and corrupt
 *    sessions (unless asked) are reported, never removed.
 *
 * Removal order per session: <id>.snap, <id>.snap.prev, then <id>.lock
 * while the lock is still held, so the lock file is the last thing to go.
 * Temporary files are judged on their own as the directory stream reaches
 * them (older than the temp age, and their session not running).
 *
 * The directory is streamed with the store's walk (names.c); memory does
 * not grow with the number of files.  keep-newest-N needs a ranking: a
 * first pass keeps a min-heap of the N newest (saved time, id) pairs
 * (clean_rank.c), the second pass spares every session at least as new as
 * the heap's minimum.  N is bounded by SESSNAP_CLEAN_KEEP_MAX.
 *
 * This file holds the passes, sessnap_store_clean() and the removal; the
 * judgement of each entry, the checks under the lock and the report are
 * clean_session.c's (clean.h says who owns what).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "clean.h"
#include "closer.h"

/*
 * Removed snapshots are held open across their unlinkat and handed to the
 * store's closer (closer.c), so that the freeing of one session (a
 * truncate, the block bitmaps and, on a file system mounted with discard,
 * a discard the kernel waits for) overlaps the next session's work
 * instead of adding to it.  sessnap_store_clean() drains the closer before it
 * returns, so the space is free when it returns.
 */

/* One run of the cleaner: what its files share (clean.h). */
struct ctx {
	sessnap__clean run;
};

/*
 * Make sure nothing changed since the decision, and remove the session's
 * files: snapshot, previous generation, lock file last.
 *
 * What makes this safe against a live writer is the session's lock: an
 * owner or adopter holds it for as long as it may save.  When the lock
 * file exists, the cleaner takes that lock (a held one means running:
 * kept) and removes the lock file last, still holding it; its link count
 * is checked after locking, zero meaning another cleaner removed the
 * session meanwhile.  When there is no lock file (a session that ended
 * cleanly removes its own), nobody can be writing, and the store gate,
 * held exclusively here and shared by adopters while they create a lock
 * file, keeps it that way until the removal is done.  Creating a lock
 * file only to delete it again would cost a second inode per session.
 *
 * Between the decision (made without any lock, to keep young sessions
 * free of lock files) and the lock, an adopter may have come and gone and
 * left a fresh snapshot.  A save always renames a new inode into place,
 * so comparing the snapshot's identity (device, inode, size, mtime) with
 * what the decision saw is enough; when it changed, the session is judged
 * again, now under the lock.
 *
 * Events are reported after the gate is released, so a slow callback (a
 * blocked terminal) never keeps adopters waiting.
 */
static void remove_session(struct ctx *c, sessnap__clean_sess *s,
			   sessnap_clean_action a)
{
	sessnap__clean_removal m = SESSNAP__CLEAN_REMOVAL_INIT;
	char older[SESSNAP__NAME_MAX], claim[SESSNAP__NAME_MAX];
	int snap_fd = -1, prev_fd = -1, rc;
	unsigned int n;

	if (c->run.dry) {
		sessnap__clean_remove_session_dry(&c->run, s, a);
		return;
	}
	if (sessnap__clean_removal_lock(&c->run, s, &m) != 0 ||
	    sessnap__clean_removal_recheck(&c->run, s, &m, &a, &snap_fd,
					   &prev_fd) != 0)
		goto report;
	rc = c->run.older ? sessnap__clean_older(&c->run, s) : 0;
	if (!c->run.older)
		s->older = 0;
	if (rc == SESSNAP_EUNSAFE) {
		m.again = SESSNAP_CLEAN_SKIP_UNSAFE; /* never touched */
		goto report;
	}
	if (rc < 0) {
		sessnap__clean_removal_failed(
		    &m, rc, s->has_snap ? s->snap : s->prev,
		    s->has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
				  SESSNAP_CLEAN_FILE_PREV);
		goto report;
	}

	if (s->has_snap) {
		if ((rc = sessnap__name_unlink(c->run.store, s->snap)) < 0) {
			sessnap__clean_removal_failed(
			    &m, rc, s->snap, SESSNAP_CLEAN_FILE_SNAPSHOT);
			goto report;
		}
		m.rm_snap = true;
		sessnap__closer_hand(c->run.store, snap_fd);
		snap_fd = -1;
	}
	if (s->has_prev) {
		if ((rc = sessnap__name_unlink(c->run.store, s->prev)) < 0) {
			sessnap__clean_removal_failed(&m, rc, s->prev,
						      SESSNAP_CLEAN_FILE_PREV);
			goto report;
		}
		m.rm_prev = true;
		sessnap__closer_hand(c->run.store, prev_fd);
		prev_fd = -1;
	}
	/* The older generations, newest first, like .snap before .prev. */
	for (n = 2; n <= SESSNAP__GEN_LAST; n++) {
		if (!(s->older & (1u << n)))
			continue;
		sessnap__gen_name(older, s->id, n);
		if ((rc = sessnap__name_unlink(c->run.store, older)) < 0) {
			sessnap__clean_removal_failed(&m, rc, older,
						      SESSNAP_CLEAN_FILE_PREV);
			goto report;
		}
	}
	/*
	 * A claim (a session taken over by another host, claim.c) goes with
	 * its session, before the lock file: while the lock file exists the
	 * claim is what fences a stale owner.
	 */
	sessnap__claim_name(claim, s->id);
	if ((rc = sessnap__name_unlink(c->run.store, claim)) < 0) {
		sessnap__clean_removal_failed(&m, rc, claim,
					      SESSNAP_CLEAN_FILE_LOCK);
		goto report;
	}
	/* The lock file goes last, while we still hold its lock. */
	if (m.fd >= 0) {
		if ((rc = sessnap__name_unlink(c->run.store, s->lock)) < 0) {
			sessnap__clean_removal_failed(&m, rc, s->lock,
						      SESSNAP_CLEAN_FILE_LOCK);
			goto report;
		}
		m.rm_lock = true;
	}

report:
	sessnap__clean_removal_report(&c->run, s, a, &m, snap_fd, prev_fd);
}

static void clean_session(struct ctx *c, const char *id)
{
	sessnap__clean_sess s;
	int a, err;

	sessnap__clean_sess_names(&s, id);
	a = sessnap__clean_evaluate(&c->run, &s, &err);
	if (a < 0)
		return;
	if (a == SESSNAP_CLEAN_FAILED) {
		sessnap__clean_fail(&c->run, s.has_snap ? s.snap : s.prev, id,
				    s.has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
						 SESSNAP_CLEAN_FILE_PREV,
				    err);
		return;
	}
	if (a > SESSNAP_CLEAN_REMOVE_LOCK) {
		sessnap__clean_emit_keep(&c->run, &s, (sessnap_clean_action)a);
		return;
	}
	remove_session(c, &s, (sessnap_clean_action)a);
}

/* ---- The passes ---------------------------------------------------------- */

/*
 * Pass 0, for a store opened with the default generations option (a
 * command's): does the store hold any older generation (<id>.snap.N) at
 * all?  Stops at the first.  Only then does a removal look for a
 * session's older generations (one lstat per name, sessnap__clean_older()),
 * so a store without them pays one readdir pass (getdents returns many
 * entries a call) and not seven lstats per removed session.
 */
static int find_older(const sessnap__dir_entry *e, void *payload)
{
	(void)payload;
	return e->kind == SESSNAP__NAME_OLDER ? 1 : 0;
}

/* Pass 2: judge each entry; a failure is recorded, never stops the pass. */
static int clean_entry(const sessnap__dir_entry *e, void *payload)
{
	struct ctx *c = payload;
	struct stat st;

	switch (e->kind) {
	case SESSNAP__NAME_SNAP:
		clean_session(c, e->id);
		break;
	case SESSNAP__NAME_PREV: {
		char snap[SESSNAP__NAME_MAX];

		/* With a main snapshot, its own entry decides. */
		sessnap__snap_name(snap, e->id);
		if (SYS(fstatat)(c->run.store->dfd, snap, &st,
				 AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			clean_session(c, e->id);
		break;
	}
	case SESSNAP__NAME_LOCK:
		sessnap__clean_lock(&c->run, e->id);
		break;
	case SESSNAP__NAME_TEMP:
		sessnap__clean_temp(&c->run, e->name, e->id);
		break;
	case SESSNAP__NAME_OLDER: /* removed with its session's .snap */
	case SESSNAP__NAME_CLAIM: /* removed with its session (claim.c) */
	case SESSNAP__NAME_OTHER:
		break;
	}
	return 0;
}

int sessnap_store_clean(sessnap_clean_report *out, sessnap_store *store,
			const sessnap_clean_policy *policy, sessnap_clean_cb cb,
			void *payload)
{
	sessnap_clean_policy defaults = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report empty = SESSNAP_CLEAN_REPORT_INIT;
	struct ctx c;
	int rc;

	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_clean: store is NULL");
	if (policy == NULL)
		policy = &defaults;
	if (policy->version != SESSNAP_CLEAN_POLICY_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown clean policy version %u (this "
				      "library knows %u)",
				      policy->version,
				      SESSNAP_CLEAN_POLICY_VERSION);
	if (out != NULL && out->version != SESSNAP_CLEAN_REPORT_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown clean report version %u (this "
				      "library knows %u): initialise it with "
				      "SESSNAP_CLEAN_REPORT_INIT",
				      out->version,
				      SESSNAP_CLEAN_REPORT_VERSION);
	if (policy->keep > SESSNAP_CLEAN_KEEP_MAX)
		return sessnap__error(SESSNAP_EINVAL,
				      "keep %u is larger than the limit %u",
				      policy->keep, SESSNAP_CLEAN_KEEP_MAX);
	if (policy->flags &
	    ~(SESSNAP_CLEAN_DRY_RUN | SESSNAP_CLEAN_INCLUDE_CORRUPT))
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown clean policy flags %#x",
				      policy->flags);

	memset(&c, 0, sizeof(c));
	c.run.store = store;
	c.run.pol = *policy;
	if (c.run.pol.now_ms == 0)
		c.run.pol.now_ms = sessnap__now_ms();
	c.run.rep = empty;
	c.run.cb = cb;
	c.run.payload = payload;
	c.run.dry = (policy->flags & SESSNAP_CLEAN_DRY_RUN) != 0;
	c.run.gate = -1;
	c.run.older = store->generations > 1;

	if ((rc = sessnap__rank_init(&c.run.rank, c.run.pol.keep)) < 0)
		return rc;
	if (c.run.pol.keep > 0 &&
	    (rc = sessnap__rank_pass(&c.run.rank, store)) < 0)
		goto on_error;
	if (!c.run.older && !c.run.dry) {
		if ((rc = sessnap__dir_walk(store, find_older, NULL)) < 0)
			goto on_error;
		c.run.older = rc > 0;
	}
	rc = sessnap__dir_walk(store, clean_entry, &c);
	sessnap__closer_drain(store);
	if (rc < 0)
		goto on_error;
	if (c.run.gate >= 0)
		SYS(close)(c.run.gate);
	sessnap__rank_free(&c.run.rank);
	if (out != NULL)
		*out = c.run.rep;
	if (c.run.first_error != 0) {
		/* Hand back the first failure, not the last one. */
		return sessnap__error(c.run.first_error, "%s", c.run.first_msg);
	}
	return 0;

on_error:
	if (c.run.gate >= 0)
		SYS(close)(c.run.gate);
	sessnap__rank_free(&c.run.rank);
	if (out != NULL)
		*out = c.run.rep;
	return rc;
}

const char *sessnap_clean_action_name(sessnap_clean_action action)
{
	switch (action) {
#define NAME_(name, num, str, field, words, desc)                             \
	case SESSNAP_CLEAN_##name:                                            \
		return str;
		SESSNAP_CLEAN_ACTION_MAP(NAME_)
#undef NAME_
	}
	return "unknown";
}
