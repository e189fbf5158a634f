/*
 * clean_session.c - the cleaner's judgement of one session, lock file or
 * temporary file
 *
 * For each entry of its cleaning pass, clean.c asks this file what to do:
 *
 *  - a session (sessnap__clean_evaluate()): read the header of each
 *    generation (the one verdict of format.c), work out its kind and age,
 *    and say whether it is kept (running is decided later, under the
 *    lock), skipped (a name that is not a regular file, a lock file that
 *    is not one) or a removal candidate.  No lock is taken for that, so
 *    young sessions cost no lock file;
 *  - before a removal, the checks made again under the lock:
 *    sessnap__clean_hold_open() keeps each generation open across its
 *    unlink and gives its identity, compared with what the decision saw
 *    (sessnap__clean_same_file());
 *  - an orphaned temporary file (sessnap__clean_temp()) and a lock file
 *    whose session has no snapshot (sessnap__clean_lock()), judged and
 *    removed on their own;
 *  - the report: every decision goes through sessnap__clean_emit() (the
 *    counters of sessnap_clean_report, then the caller's callback) and
 *    every failure through sessnap__clean_fail(), which keeps the first
 *    message for sessnap_store_clean() to return.
 *
 * The rules of what must never be removed are in clean.c's essay; this
 * file applies them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "clean.h"

/* Bytes a removal frees: nothing while another link keeps the inode. */
uint64_t sessnap__clean_freed(const struct stat *st)
{
	return st->st_nlink <= 1 ? (uint64_t)st->st_size : 0;
}

static void count(sessnap_clean_report *r, sessnap_clean_action a)
{
	switch (a) {
#define COUNT_(name, num, str, field, words, desc)                             \
	case SESSNAP_CLEAN_##name:                                             \
		r->field++;                                                    \
		break;
		SESSNAP_CLEAN_ACTION_MAP(COUNT_)
#undef COUNT_
	}
}

/*
 * Report one decision.  `counted` is false for the second and later files
 * of one removed session, so the report counts sessions, not files.
 */
void sessnap__clean_emit(sessnap__clean *c, const char *name, const char *id,
			 sessnap_clean_action a, sessnap_clean_file f,
			 int error, uint64_t bytes, int64_t age_ms,
			 bool counted)
{
	sessnap_clean_event ev = { .name = name,
				   .id = id,
				   .action = a,
				   .file = f,
				   .error = error,
				   .bytes = bytes,
				   .age_ms = age_ms,
				   .dry_run = c->dry };

	if (counted)
		count(&c->rep, a);
	if (a <= SESSNAP_CLEAN_REMOVE_LOCK) {
		c->rep.files_removed++;
		c->rep.bytes_freed += bytes;
	}
	if (c->cb != NULL)
		c->cb(&ev, c->payload);
}

/* Record a failure (the message is already set) and report it. */
void sessnap__clean_fail(sessnap__clean *c, const char *name, const char *id,
			 sessnap_clean_file f, int code)
{
	if (c->first_error == 0) {
		c->first_error = code;
		strlcpy(c->first_msg, sessnap_error_last(),
			sizeof(c->first_msg));
	}
	sessnap__clean_emit(c, name, id, SESSNAP_CLEAN_FAILED, f, code, 0, -1,
			    true);
}

bool sessnap__clean_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Is the session among the `keep` newest? */
static bool protected_newest(const sessnap__clean *c,
			     const sessnap__clean_sess *s)
{
	int64_t saved_ms;

	saved_ms = s->has_hdr ? s->hdr.saved_ms :
				sessnap__mtime_ms(s->has_snap ? &s->st_snap :
								&s->st_prev);
	return sessnap__rank_protects(&c->rank, saved_ms, s->id);
}

/* ---- One session --------------------------------------------------------- */

void sessnap__clean_sess_names(sessnap__clean_sess *s, const char *id)
{
	memset(s, 0, sizeof(*s));
	strlcpy(s->id, id, sizeof(s->id));
	sessnap__snap_name(s->snap, id);
	sessnap__prev_name(s->prev, id);
	sessnap__lock_name(s->lock, id);
}

/*
 * Read one generation's header for sessnap__clean_evaluate().  Returns 0 to go
 * on, with *rc the read's result (0, SESSNAP_ECORRUPT or SESSNAP_ENOTFOUND) and
 * *has whether the file exists; or the action the session gets at once:
 * SESSNAP_CLEAN_KEEP_NEWER, SESSNAP_CLEAN_SKIP_UNSAFE, or
 * SESSNAP_CLEAN_FAILED with *err set.  No stat first: the header read
 * opens the file with O_NOFOLLOW and fstats it, which says whether it
 * exists and gives its identity.  It fills *st only for a regular file it
 * opened; when it did not (a symlink, FIFO or directory gives
 * SESSNAP_ECORRUPT), an lstat tells what is there.
 */
static int read_generation(sessnap__clean *c, const char *name,
			   sessnap__header *h, struct stat *st, bool *has,
			   int *rc, int *err)
{
	int r;

	*rc = sessnap__header_read(h, st, c->store, name);
	*has = *rc != SESSNAP_ENOTFOUND;
	if (*has && st->st_mode != 0 && !S_ISREG(st->st_mode))
		return SESSNAP_CLEAN_SKIP_UNSAFE; /* never touched */
	if (*has && st->st_mode == 0 && *rc == SESSNAP_ECORRUPT) {
		if ((r = sessnap__name_stat(st, c->store, name)) < 0) {
			*err = r;
			return SESSNAP_CLEAN_FAILED;
		}
		*has = r == 1;
		if (*has && !S_ISREG(st->st_mode))
			return SESSNAP_CLEAN_SKIP_UNSAFE;
	}
	if (*rc == SESSNAP_ENEWER)
		return SESSNAP_CLEAN_KEEP_NEWER;
	if (*rc < 0 && *rc != SESSNAP_ECORRUPT && *rc != SESSNAP_ENOTFOUND) {
		*err = *rc;
		return SESSNAP_CLEAN_FAILED;
	}
	return 0;
}

/* 1 when the session has a claim, 0 when not, or an lstat error. */
static int taken_over(sessnap__clean *c, const char *id)
{
	char claim[SESSNAP__NAME_MAX];
	struct stat st;

	sessnap__claim_name(claim, id);
	return sessnap__name_stat(&st, c->store, claim);
}

/*
 * A session that did not end cleanly, by the one cross-host rule
 * (lease.c): kept while it runs (here, or on another host whose lease is
 * fresh), kept as foreign while its owner cannot be judged and no claim
 * took it over; otherwise crashed.  This host's sessions cost nothing
 * more.  Returns SESSNAP_CLEAN_REMOVE_CRASHED (the age rule decides), a
 * KEEP_ action, or SESSNAP_CLEAN_FAILED with *err set.
 */
static sessnap_clean_action judge_unfinished(sessnap__clean *c,
					     sessnap__clean_sess *s, int *err)
{
	sessnap__lease l;
	int64_t clock = -1;
	int r, t;

	r = sessnap__lease_verdict(&l, c->store, s->id, &s->hdr.owner, &clock);
	if (r < 0) {
		*err = r;
		return SESSNAP_CLEAN_FAILED;
	}
	if (r == SESSNAP_VERDICT_RUNNING)
		return SESSNAP_CLEAN_KEEP_RUNNING;
	/*
	 * Taken over by another host (claim.c): its state goes on in the
	 * successor, but a stale owner may still wake, so it waits for the
	 * crashed age.
	 */
	if ((t = taken_over(c, s->id)) < 0) {
		*err = t;
		return SESSNAP_CLEAN_FAILED;
	}
	if (t == 0 && r == SESSNAP_VERDICT_FOREIGN)
		return SESSNAP_CLEAN_KEEP_FOREIGN;
	return SESSNAP_CLEAN_REMOVE_CRASHED;
}

/*
 * Look at a session's files and read its header.  Returns the action the
 * session deserves when it is NOT a removal candidate (a KEEP_ or SKIP_
 * value), SESSNAP_CLEAN_FAILED with *err set, or one of the REMOVE_
 * actions when it is a candidate.  Returns -1 when the session has no
 * files at all any more.
 */
int sessnap__clean_evaluate(sessnap__clean *c, sessnap__clean_sess *s, int *err)
{
	sessnap__header ph;
	struct stat lst;
	int rc_snap = SESSNAP_ENOTFOUND, rc_prev = SESSNAP_ENOTFOUND;
	int r;
	bool corrupt;
	int64_t limit;
	sessnap_clean_action remove;

	*err = 0;
	s->has_hdr = false;
	s->bad_lock = false;
	if ((r = read_generation(c, s->snap, &s->hdr, &s->st_snap, &s->has_snap,
				 &rc_snap, err)) != 0)
		return r;
	s->has_hdr = rc_snap == 0;
	/*
	 * The previous generation is read even when the main one is fine:
	 * a newer-format .prev must not be removed along with the session.
	 */
	if ((r = read_generation(c, s->prev, &ph, &s->st_prev, &s->has_prev,
				 &rc_prev, err)) != 0)
		return r;
	if (!s->has_hdr && rc_prev == 0) {
		s->hdr = ph;
		s->has_hdr = true;
	}
	if (!s->has_snap && !s->has_prev)
		return -1;
	corrupt = !s->has_hdr;
	if (corrupt) {
		s->age_ms =
		    c->pol.now_ms -
		    sessnap__mtime_ms(s->has_snap ? &s->st_snap : &s->st_prev);
		if (!(c->pol.flags & SESSNAP_CLEAN_INCLUDE_CORRUPT))
			return SESSNAP_CLEAN_KEEP_CORRUPT;
		limit = c->pol.completed_age_ms;
		remove = SESSNAP_CLEAN_REMOVE_CORRUPT;
	} else {
		s->age_ms = c->pol.now_ms - s->hdr.saved_ms;
		if (s->hdr.completed) {
			limit = c->pol.completed_age_ms;
			remove = SESSNAP_CLEAN_REMOVE_COMPLETED;
		} else {
			remove = judge_unfinished(c, s, err);
			if (remove != SESSNAP_CLEAN_REMOVE_CRASHED)
				return remove;
			limit = c->pol.crashed_age_ms;
		}
	}
	if (limit < 0 || s->age_ms < limit)
		return SESSNAP_CLEAN_KEEP_YOUNG;
	if (protected_newest(c, s))
		return SESSNAP_CLEAN_KEEP_NEWEST;
	/*
	 * A lock file that is not a regular file (a FIFO, socket, directory
	 * or symlink) is never touched, and without a lock to take nothing
	 * keeps an adopter out: the whole session is left alone.
	 */
	if ((r = sessnap__name_stat(&lst, c->store, s->lock)) < 0) {
		*err = r;
		return SESSNAP_CLEAN_FAILED;
	}
	if (r == 1 && !S_ISREG(lst.st_mode)) {
		s->bad_lock = true;
		return SESSNAP_CLEAN_SKIP_UNSAFE;
	}
	return remove;
}

/*
 * The older generations (<id>.snap.2 and up) of a session being removed:
 * they go with it, as one session.  Looked at under the session's lock,
 * after the recheck, one lstat each: paid only by sessions that are
 * removed, so a clean that keeps everything costs what it did.  Any of
 * them that is not a regular file stops the removal before anything is
 * unlinked (SESSNAP_EUNSAFE, naming it), as a .snap or .prev would.
 */
int sessnap__clean_older(sessnap__clean *c, sessnap__clean_sess *s)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;
	unsigned int n;
	int r;

	s->older = 0;
	for (n = 2; n <= SESSNAP__GEN_LAST; n++) {
		sessnap__gen_name(name, s->id, n);
		if ((r = sessnap__name_stat(&st, c->store, name)) < 0)
			return r;
		if (r == 1 && !S_ISREG(st.st_mode))
			return sessnap__error(
			    SESSNAP_EUNSAFE,
			    "cannot remove session %s: %s is not a regular "
			    "file; the session is left as it is",
			    s->id,
			    sessnap__path(path, sizeof(path), c->store, name));
		if (r == 1)
			s->older |= 1u << n;
	}
	return 0;
}

/*
 * Open a store file to hold it across its removal.  Returns 1 with *fd
 * open and *st its fstat, 0 when the file does not exist, or a negative
 * code.  A name that cannot be opened (a symlink or FIFO put in its place,
 * or no read permission) gives 1 with *fd = -1 and *st from lstat: a
 * different file then shows as a different identity.
 */
int sessnap__clean_hold_open(sessnap__clean *c, const char *name, int *fd,
			     struct stat *st)
{
	char path[PATH_MAX];
	int rc;

	*fd = sessnap__open_look(c->store, name);
	if (*fd < 0) {
		if (errno == ENOENT)
			return 0;
		return sessnap__name_stat(st, c->store, name);
	}
	if (SYS(fstat)(*fd, st) < 0) {
		rc = sessnap__syserr(
		    errno, "fstat",
		    sessnap__path(path, sizeof(path), c->store, name));
		SYS(close)(*fd);
		*fd = -1;
		return rc;
	}
	return 1;
}

void sessnap__clean_close_if_open(int fd)
{
	PROTECT_ERRNO;

	if (fd >= 0)
		SYS(close)(fd);
}

/*
 * Report the removal of a session's generations: one event per file, the
 * session counted once (on its snapshot, or on its .prev without one).
 */
static void emit_removed(sessnap__clean *c, const sessnap__clean_sess *s,
			 sessnap_clean_action a, bool snap, bool prev)
{
	if (snap)
		sessnap__clean_emit(
		    c, s->snap, s->id, a, SESSNAP_CLEAN_FILE_SNAPSHOT, 0,
		    sessnap__clean_freed(&s->st_snap), s->age_ms, true);
	if (prev)
		sessnap__clean_emit(
		    c, s->prev, s->id, a, SESSNAP_CLEAN_FILE_PREV, 0,
		    sessnap__clean_freed(&s->st_prev), s->age_ms, !snap);
}

/* Dry run: say what would go, without locking or removing anything. */
void sessnap__clean_remove_session_dry(sessnap__clean *c,
				       sessnap__clean_sess *s,
				       sessnap_clean_action a)
{
	struct stat st;
	int r;

	r = sessnap__lock_probe(c->store, s->id);
	if (r < 0) {
		sessnap__clean_fail(c, s->lock, s->id, SESSNAP_CLEAN_FILE_LOCK,
				    r);
		return;
	}
	if (r == 1) {
		sessnap__clean_emit(c, s->has_snap ? s->snap : s->prev, s->id,
				    SESSNAP_CLEAN_KEEP_RUNNING,
				    s->has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
						  SESSNAP_CLEAN_FILE_PREV,
				    0, 0, s->age_ms, true);
		return;
	}
	emit_removed(c, s, a, s->has_snap, s->has_prev);
	if (sessnap__name_stat(&st, c->store, s->lock) == 1 &&
	    S_ISREG(st.st_mode))
		sessnap__clean_emit(c, s->lock, s->id, a,
				    SESSNAP_CLEAN_FILE_LOCK, 0, 0, s->age_ms,
				    false);
}

/*
 * Report a session that is kept or skipped: on its lock file when that is
 * what makes it unsafe, else on its snapshot (or .prev).
 */
void sessnap__clean_emit_keep(sessnap__clean *c, const sessnap__clean_sess *s,
			      sessnap_clean_action a)
{
	if (s->bad_lock)
		sessnap__clean_emit(c, s->lock, s->id, a,
				    SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1, true);
	else
		sessnap__clean_emit(
		    c, s->has_snap ? s->snap : s->prev, s->id, a,
		    s->has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
				  SESSNAP_CLEAN_FILE_PREV,
		    0, 0, a == SESSNAP_CLEAN_SKIP_UNSAFE ? -1 : s->age_ms,
		    true);
}

/* Take the store gate exclusively, opening the cleaner's descriptor for it
 * on first use. */
int sessnap__clean_gate_hold(sessnap__clean *c)
{
	int rc;

	if (c->gate < 0 && (rc = sessnap__gate_open(&c->gate, c->store)) < 0)
		return rc;
	return sessnap__gate_lock(c->gate, c->store, LOCK_EX);
}

/* ---- A removal, step by step (remove_session() in clean.c) ------------- */

int sessnap__clean_removal_failed(sessnap__clean_removal *m, int rc,
				  const char *name, sessnap_clean_file f)
{
	m->rc = rc;
	m->fail_name = name;
	m->fail_file = f;
	return 1;
}

/*
 * Step 1: the gate, then the session's lock.  A held lock means running
 * (kept), a lock file that is no longer a regular file is skipped, no
 * lock file leaves the gate alone to protect us, and a lock file with no
 * link left means another cleaner removed the session meanwhile.
 */
int sessnap__clean_removal_lock(sessnap__clean *c, sessnap__clean_sess *s,
				sessnap__clean_removal *m)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = sessnap__clean_gate_hold(c)) < 0)
		return sessnap__clean_removal_failed(
		    m, rc, s->has_snap ? s->snap : s->prev,
		    SESSNAP_CLEAN_FILE_SNAPSHOT);
	m->gated = true;
	rc = sessnap__lock_take_existing(&m->fd, c->store, s->id);
	if (rc == SESSNAP_EBUSY) {
		m->again = SESSNAP_CLEAN_KEEP_RUNNING;
		return 1;
	}
	if (rc == SESSNAP_EUNSAFE) {
		/* Replaced by a FIFO or the like since the decision. */
		s->bad_lock = true;
		m->again = SESSNAP_CLEAN_SKIP_UNSAFE;
		return 1;
	}
	if (rc == SESSNAP_ENOTFOUND) {
		m->fd = -1; /* no lock file: the gate alone protects us */
		return 0;
	}
	if (rc < 0)
		return sessnap__clean_removal_failed(m, rc, s->lock,
						     SESSNAP_CLEAN_FILE_LOCK);
	if (SYS(fstat)(m->fd, &st) < 0) {
		rc = sessnap__syserr(
		    errno, "fstat",
		    sessnap__path(path, sizeof(path), c->store, s->lock));
		return sessnap__clean_removal_failed(m, rc, s->lock,
						     SESSNAP_CLEAN_FILE_LOCK);
	}
	if (st.st_nlink == 0)
		return 1; /* another cleaner removed it */
	return 0;
}

/*
 * Another host's session whose lease had expired, now under its lock and
 * with its snapshot unchanged: the lease is judged once more, because on
 * a shared store our lock may keep out nobody there (lease.c).  A lease
 * renewed meanwhile (its owner was only paused) keeps the session.
 * Returns 0 to go on with the removal, 1 with m->again set, or an error.
 */
static int lease_recheck(sessnap__clean *c, sessnap__clean_sess *s,
			 sessnap__clean_removal *m)
{
	sessnap__lease l;
	int64_t clock = -1;
	int v;

	if (!s->has_hdr || s->hdr.completed ||
	    !sessnap__lease_applies(c->store, &s->hdr.owner))
		return 0;
	v = sessnap__lease_verdict(&l, c->store, s->id, &s->hdr.owner, &clock);
	if (v < 0)
		return sessnap__clean_removal_failed(m, v, s->lock,
						     SESSNAP_CLEAN_FILE_LOCK);
	if (v == SESSNAP_VERDICT_CRASHED)
		return 0;
	/* Taken over (claim.c): foreign, yet the cleaner's to remove. */
	if (v == SESSNAP_VERDICT_FOREIGN && taken_over(c, s->id) == 1)
		return 0;
	m->again = v == SESSNAP_VERDICT_RUNNING ? SESSNAP_CLEAN_KEEP_RUNNING
						: SESSNAP_CLEAN_KEEP_FOREIGN;
	return 1;
}

/*
 * Step 2: hold the generations open and compare them with what the
 * decision saw.  Every save renames a new inode over the snapshot, so
 * while the snapshot is unchanged its .prev is too, and only a session
 * that has a .prev, or nothing but one, needs it looked at again.  (A
 * save that died between its two renames leaves a .prev that is one more
 * link to the unchanged snapshot: no state of its own.)  When anything
 * changed, the session is judged again, now under the lock.
 */
int sessnap__clean_removal_recheck(sessnap__clean *c, sessnap__clean_sess *s,
				   sessnap__clean_removal *m,
				   sessnap_clean_action *a, int *snap_fd,
				   int *prev_fd)
{
	struct stat now_snap, now_prev;
	int r, rp, err = 0, again;

	if ((r = sessnap__clean_hold_open(c, s->snap, snap_fd, &now_snap)) < 0)
		return sessnap__clean_removal_failed(
		    m, r, s->snap, SESSNAP_CLEAN_FILE_SNAPSHOT);
	rp = s->has_prev ? 1 : 0;
	if ((s->has_prev || !s->has_snap) &&
	    (rp = sessnap__clean_hold_open(c, s->prev, prev_fd, &now_prev)) < 0)
		return sessnap__clean_removal_failed(m, rp, s->prev,
						     SESSNAP_CLEAN_FILE_PREV);
	if ((r == 1) == s->has_snap && (rp == 1) == s->has_prev &&
	    (!s->has_snap ||
	     sessnap__clean_same_file(&now_snap, &s->st_snap)) &&
	    (!s->has_prev || sessnap__clean_same_file(&now_prev, &s->st_prev)))
		return lease_recheck(c, s, m);
	again = sessnap__clean_evaluate(c, s, &err);
	if (again < 0)
		return 1; /* all gone */
	if (again == SESSNAP_CLEAN_FAILED)
		return sessnap__clean_removal_failed(
		    m, err, s->has_snap ? s->snap : s->prev,
		    SESSNAP_CLEAN_FILE_SNAPSHOT);
	if (again > SESSNAP_CLEAN_REMOVE_LOCK) {
		m->again = again; /* now a keeper */
		return 1;
	}
	*a = (sessnap_clean_action)again;
	return 0;
}

/*
 * Step 4 (after the unlinks): release, then report.  Events are reported
 * after the gate is released, so a slow callback (a blocked terminal)
 * never keeps adopters waiting.
 */
void sessnap__clean_removal_report(sessnap__clean *c,
				   const sessnap__clean_sess *s,
				   sessnap_clean_action a,
				   sessnap__clean_removal *m, int snap_fd,
				   int prev_fd)
{
	char msg[1024];

	/* Keep the failure's message: sessnap__clean_fail() records it. */
	if (m->fail_name != NULL)
		strlcpy(msg, sessnap_error_last(), sizeof(msg));
	if (m->gated)
		sessnap__gate_unlock(c->gate);
	sessnap__clean_close_if_open(m->fd);
	sessnap__clean_close_if_open(snap_fd);
	sessnap__clean_close_if_open(prev_fd);
	if (m->again > SESSNAP_CLEAN_REMOVE_LOCK)
		sessnap__clean_emit_keep(c, s, (sessnap_clean_action)m->again);
	emit_removed(c, s, a, m->rm_snap, m->rm_prev);
	if (m->fail_name != NULL) {
		sessnap__error(m->rc, "%s", msg);
		sessnap__clean_fail(c, m->fail_name, s->id, m->fail_file,
				    m->rc);
	}
	if (m->rm_lock)
		sessnap__clean_emit(c, s->lock, s->id, a,
				    SESSNAP_CLEAN_FILE_LOCK, 0, 0, s->age_ms,
				    false);
}

/* ---- Orphans ------------------------------------------------------------- */

/*
 * An orphaned temporary file: a save that died before its rename.  The
 * loader never promotes one, so it only wastes space.  It is removed when
 * it is older than the temp age and its session's lock is free.  A probe
 * (not a lock) is enough here: only the lock holder writes temporary
 * files, and a writer that takes the lock after the probe creates a new
 * temp file under a new random name, never this old one.
 */
void sessnap__clean_temp(sessnap__clean *c, const char *name, const char *id)
{
	struct stat st;
	int64_t age;
	int r;

	if ((r = sessnap__name_stat(&st, c->store, name)) <= 0) {
		if (r < 0)
			sessnap__clean_fail(c, name, id,
					    SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		sessnap__clean_emit(c, name, id, SESSNAP_CLEAN_SKIP_UNSAFE,
				    SESSNAP_CLEAN_FILE_TEMP, 0, 0, -1, true);
		return;
	}
	age = c->pol.now_ms - sessnap__mtime_ms(&st);
	if (c->pol.temp_age_ms < 0 || age < c->pol.temp_age_ms) {
		sessnap__clean_emit(c, name, id, SESSNAP_CLEAN_KEEP_YOUNG,
				    SESSNAP_CLEAN_FILE_TEMP, 0, 0, age, true);
		return;
	}
	r = sessnap__lock_probe(c->store, id);
	if (r < 0) {
		sessnap__clean_fail(c, name, id, SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	if (r == 1) {
		sessnap__clean_emit(c, name, id, SESSNAP_CLEAN_KEEP_RUNNING,
				    SESSNAP_CLEAN_FILE_TEMP, 0, 0, age, true);
		return;
	}
	if (!c->dry && (r = sessnap__name_unlink(c->store, name)) < 0) {
		sessnap__clean_fail(c, name, id, SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	sessnap__clean_emit(c, name, id, SESSNAP_CLEAN_REMOVE_TEMP,
			    SESSNAP_CLEAN_FILE_TEMP, 0,
			    sessnap__clean_freed(&st), age, true);
}

/*
 * Whether a lock file alone holds another host's fresh lease: a session
 * that began there and has not saved yet, whose lock this host may not
 * see.  1 fresh (kept as running), 0 not, or an error.  Skipped on a
 * store opened with SESSNAP_STORE_LOCAL; otherwise one bounded read of
 * the record, paid only by free lock files without a snapshot.
 */
static int lone_lease_fresh(sessnap__clean *c, const char *id)
{
	sessnap__lease l;
	int64_t clock = -1;
	int r;

	if (c->store->opts.flags & SESSNAP_STORE_LOCAL)
		return 0;
	if ((r = sessnap__lease_look(&l, c->store, id)) < 0)
		return r;
	if (l.period_ms == 0 || !sessnap__lease_applies(c->store, &l.owner))
		return 0;
	r = sessnap__lease_judge(&l, c->store, id, &clock);
	if (r < 0)
		return r;
	/* A lease of unknown age is kept too: never removed on a guess. */
	return r == SESSNAP__LEASE_FRESH || r == SESSNAP__LEASE_UNKNOWN;
}

/* A lone lock file's failure and decision, reported under its name. */
static void lock_fail(sessnap__clean *c, const sessnap__clean_sess *s, int r)
{
	sessnap__clean_fail(c, s->lock, s->id, SESSNAP_CLEAN_FILE_LOCK, r);
}

static void lock_emit(sessnap__clean *c, const sessnap__clean_sess *s,
		      sessnap_clean_action a)
{
	sessnap__clean_emit(c, s->lock, s->id, a, SESSNAP_CLEAN_FILE_LOCK, 0, 0,
			    -1, true);
}

/* 1 when the session has a snapshot or a previous file, 0 neither, or an
 * error. */
static int has_snapshot(sessnap__clean *c, sessnap__clean_sess *s)
{
	int r;

	if ((r = sessnap__name_stat(&s->st_snap, c->store, s->snap)) != 0)
		return r;
	return sessnap__name_stat(&s->st_prev, c->store, s->prev);
}

/* A dry run: what a real run would decide, judged by a probe. */
static void lock_dry(sessnap__clean *c, const sessnap__clean_sess *s)
{
	int r = sessnap__lock_probe(c->store, s->id);

	if (r == 0)
		r = lone_lease_fresh(c, s->id);
	if (r < 0) {
		lock_fail(c, s, r);
		return;
	}
	lock_emit(c, s,
		  r == 1 ? SESSNAP_CLEAN_KEEP_RUNNING :
			   SESSNAP_CLEAN_REMOVE_LOCK);
}

/*
 * Under the session's lock: judged again (a first save or another host's
 * lease may have come meanwhile), then a claim left by a removal that
 * failed half-way and the lock file are removed, in that order.
 */
static void lock_remove(sessnap__clean *c, sessnap__clean_sess *s)
{
	char claim[SESSNAP__NAME_MAX];
	int r;

	if ((r = has_snapshot(c, s)) != 0) {
		if (r < 0)
			lock_fail(c, s, r);
		return;
	}
	/* Under our lock, which another host's owner may not see. */
	if ((r = lone_lease_fresh(c, s->id)) != 0) {
		if (r < 0)
			lock_fail(c, s, r);
		else
			lock_emit(c, s, SESSNAP_CLEAN_KEEP_RUNNING);
		return;
	}
	sessnap__claim_name(claim, s->id);
	if ((r = sessnap__name_unlink(c->store, claim)) < 0) {
		sessnap__clean_fail(c, claim, s->id, SESSNAP_CLEAN_FILE_LOCK,
				    r);
		return;
	}
	if ((r = sessnap__name_unlink(c->store, s->lock)) < 0) {
		lock_fail(c, s, r);
		return;
	}
	lock_emit(c, s, SESSNAP_CLEAN_REMOVE_LOCK);
}

/*
 * A lock file whose session has no snapshot: either a session that began
 * and has not saved yet (its lock is held: kept), or one whose owner died
 * before the first save (free: removed).  It is taken before removal and
 * re-checked under the lock, so a session cannot save its first snapshot
 * in the middle; libbsd's flopenat makes a concurrent begin that opened
 * the same name retry on a fresh file.
 */
void sessnap__clean_lock(sessnap__clean *c, const char *id)
{
	sessnap__clean_sess s;
	struct stat st;
	int fd = -1, r;

	sessnap__clean_sess_names(&s, id);
	if ((r = has_snapshot(c, &s)) != 0) {
		if (r < 0)
			lock_fail(c, &s, r);
		return; /* the session's own entry decides */
	}
	if ((r = sessnap__name_stat(&st, c->store, s.lock)) <= 0) {
		if (r < 0)
			lock_fail(c, &s, r);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		lock_emit(c, &s, SESSNAP_CLEAN_SKIP_UNSAFE);
		return;
	}
	if (c->dry) {
		lock_dry(c, &s);
		return;
	}
	/* Never O_CREAT: a session that ended meanwhile removed its lock
	 * file, and the cleaner creates nothing in a store. */
	r = sessnap__lock_take_existing(&fd, c->store, id);
	if (r == SESSNAP_ENOTFOUND)
		return; /* gone: nothing left to clean */
	if (r == SESSNAP_EBUSY || r == SESSNAP_EUNSAFE) {
		lock_emit(c, &s,
			  r == SESSNAP_EBUSY ? SESSNAP_CLEAN_KEEP_RUNNING :
					       SESSNAP_CLEAN_SKIP_UNSAFE);
		return;
	}
	if (r < 0) {
		lock_fail(c, &s, r);
		return;
	}
	lock_remove(c, &s);
	PROTECT_ERRNO;
	SYS(close)(fd);
}
