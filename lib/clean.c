/*
 * clean.c - remove old sessions and orphaned files, and nothing else
 *
 * The cleaner runs unattended (cron, a systemd timer) over a directory that
 * other processes are writing at the same moment, so every rule here is
 * about what it must NOT remove:
 *
 *  - only regular files named like the store's own files are considered:
 *    <id>.snap, <id>.snap.prev, <id>.lock, and the temporary files
 *    .<id>.snap.XXXXXX and .<id>.snap.prev.XXXXXX.  Anything else is
 *    ignored; a symlink, directory or FIFO with such a name is reported and
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
 * The directory is streamed with readdir; memory does not grow with the
 * number of files.  keep-newest-N needs a ranking: a first pass keeps a
 * min-heap of the N newest (saved time, id) pairs, the second pass spares
 * every session at least as new as the heap's minimum.  N is bounded by
 * SESSNAP_CLEAN_KEEP_MAX.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "closer.h"
#include "internal.h"

/* What a directory entry's name says it is. */
enum kind { K_OTHER, K_SNAP, K_PREV, K_LOCK, K_TEMP };

#define SNAP_SUFFIX ".snap"
#define PREV_SUFFIX ".snap.prev"
#define LOCK_SUFFIX ".lock"
/* The random part of a temporary file name (atomic.c). */
#define TEMP_RANDOM 6

struct rank {
	int64_t saved_ms;
	char id[SESSNAP_ID_LEN + 1];
};

/*
 * Removed snapshots are held open across their unlinkat and handed to the
 * store's closer (closer.c), so that the freeing of one session overlaps
 * the next session's work instead of adding to it.  sessnap_clean() drains
 * the closer before it returns, so the space is free when it returns.
 */
struct ctx {
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
	struct rank *heap;
	size_t heap_len;
	/* The cleaner's own descriptor for the store gate, or -1. */
	int gate;
};

/* What the cleaner knows of one session before and after locking. */
struct sess {
	char id[SESSNAP_ID_LEN + 1];
	char snap[SESSNAP__NAME_MAX];
	char prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	bool has_snap, has_prev;
	struct stat st_snap, st_prev;
	sessnap__header hdr;
	bool has_hdr; /* from the main snapshot or, failing that, .prev */
	bool bad_lock; /* <id>.lock is not a regular file: left alone */
	int64_t age_ms;
};

static bool is_hex_id(const char *s)
{
	int i;

	for (i = 0; i < SESSNAP_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_alnum_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return s[n] == '\0';
}

/* Classify a name and extract its session id. */
static enum kind classify(const char *name, char id[SESSNAP_ID_LEN + 1])
{
	size_t len = strlen(name);
	const char *rest;

	if (name[0] == '.') {
		if (len < 1 + SESSNAP_ID_LEN || !is_hex_id(name + 1))
			return K_OTHER;
		rest = name + 1 + SESSNAP_ID_LEN;
		if (strncmp(rest, PREV_SUFFIX ".", sizeof(PREV_SUFFIX)) == 0 &&
		    is_alnum_n(rest + sizeof(PREV_SUFFIX), TEMP_RANDOM))
			goto temp;
		if (strncmp(rest, SNAP_SUFFIX ".", sizeof(SNAP_SUFFIX)) == 0 &&
		    is_alnum_n(rest + sizeof(SNAP_SUFFIX), TEMP_RANDOM))
			goto temp;
		return K_OTHER;
temp:
		memcpy(id, name + 1, SESSNAP_ID_LEN);
		id[SESSNAP_ID_LEN] = '\0';
		return K_TEMP;
	}
	if (len < SESSNAP_ID_LEN || !is_hex_id(name))
		return K_OTHER;
	memcpy(id, name, SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	rest = name + SESSNAP_ID_LEN;
	if (strcmp(rest, SNAP_SUFFIX) == 0)
		return K_SNAP;
	if (strcmp(rest, PREV_SUFFIX) == 0)
		return K_PREV;
	if (strcmp(rest, LOCK_SUFFIX) == 0)
		return K_LOCK;
	return K_OTHER;
}

static int64_t mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 +
	       st->st_mtim.tv_nsec / 1000000;
}

/* Bytes a removal frees: nothing while another link keeps the inode. */
static uint64_t freed(const struct stat *st)
{
	return st->st_nlink <= 1 ? (uint64_t)st->st_size : 0;
}

static void count(sessnap_clean_report *r, sessnap_clean_action a)
{
	switch (a) {
	case SESSNAP_CLEAN_REMOVE_COMPLETED:
		r->removed_completed++;
		break;
	case SESSNAP_CLEAN_REMOVE_CRASHED:
		r->removed_crashed++;
		break;
	case SESSNAP_CLEAN_REMOVE_CORRUPT:
		r->removed_corrupt++;
		break;
	case SESSNAP_CLEAN_REMOVE_TEMP:
		r->removed_temp++;
		break;
	case SESSNAP_CLEAN_REMOVE_LOCK:
		r->removed_lock++;
		break;
	case SESSNAP_CLEAN_KEEP_RUNNING:
		r->kept_running++;
		break;
	case SESSNAP_CLEAN_KEEP_YOUNG:
		r->kept_young++;
		break;
	case SESSNAP_CLEAN_KEEP_NEWEST:
		r->kept_newest++;
		break;
	case SESSNAP_CLEAN_KEEP_NEWER:
		r->kept_newer++;
		break;
	case SESSNAP_CLEAN_KEEP_CORRUPT:
		r->kept_corrupt++;
		break;
	case SESSNAP_CLEAN_KEEP_FOREIGN:
		r->kept_foreign++;
		break;
	case SESSNAP_CLEAN_SKIP_UNSAFE:
		r->skipped_unsafe++;
		break;
	case SESSNAP_CLEAN_FAILED:
		r->failed++;
		break;
	}
}

/*
 * Report one decision.  `counted` is false for the second and later files
 * of one removed session, so the report counts sessions, not files.
 */
static void emit(struct ctx *c, const char *name, const char *id,
		 sessnap_clean_action a, sessnap_clean_file f, int error,
		 uint64_t bytes, int64_t age_ms, bool counted)
{
	sessnap_clean_event ev;

	if (counted)
		count(&c->rep, a);
	if (a <= SESSNAP_CLEAN_REMOVE_LOCK) {
		c->rep.files_removed++;
		c->rep.bytes_freed += bytes;
	}
	if (c->cb == NULL)
		return;
	ev.name = name;
	ev.id = id;
	ev.action = a;
	ev.file = f;
	ev.error = error;
	ev.bytes = bytes;
	ev.age_ms = age_ms;
	ev.dry_run = c->dry;
	c->cb(&ev, c->payload);
}

/* Record a failure (the message is already set) and report it. */
static void fail(struct ctx *c, const char *name, const char *id,
		 sessnap_clean_file f, int code)
{
	if (c->first_error == 0) {
		c->first_error = code;
		strlcpy(c->first_msg, sessnap_last_error(),
			sizeof(c->first_msg));
	}
	emit(c, name, id, SESSNAP_CLEAN_FAILED, f, code, 0, -1, true);
}

/*
 * lstat a store file.  Returns 1 when it exists, 0 when it does not, or a
 * negative code.
 */
static int stat_nofollow(struct stat *st, sessnap_store *store,
			 const char *name)
{
	char path[PATH_MAX];

	if (SYS(fstatat)(store->dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return sessnap__syserr(errno, "fstatat",
			       sessnap__path(path, sizeof(path), store, name));
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* ---- keep-newest-N ------------------------------------------------------- */

static int rank_cmp(const struct rank *a, const struct rank *b)
{
	if (a->saved_ms != b->saved_ms)
		return a->saved_ms < b->saved_ms ? -1 : 1;
	return strcmp(a->id, b->id);
}

static void heap_down(struct rank *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct rank t;

		if (l < n && rank_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && rank_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_up(struct rank *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct rank t;

		if (rank_cmp(&h[i], &h[p]) >= 0)
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* Offer a session to the heap of the `keep` newest. */
static void heap_offer(struct ctx *c, const struct rank *r)
{
	if (c->heap_len < c->pol.keep) {
		c->heap[c->heap_len] = *r;
		heap_up(c->heap, c->heap_len++);
	} else if (rank_cmp(r, &c->heap[0]) > 0) {
		c->heap[0] = *r;
		heap_down(c->heap, c->heap_len, 0);
	}
}

/* Is the session among the `keep` newest? */
static bool protected_newest(const struct ctx *c, const struct sess *s)
{
	struct rank r;

	if (c->pol.keep == 0)
		return false;
	if (c->heap_len < c->pol.keep)
		return true;
	r.saved_ms = s->has_hdr ?
			 s->hdr.saved_ms :
			 mtime_ms(s->has_snap ? &s->st_snap : &s->st_prev);
	strlcpy(r.id, s->id, sizeof(r.id));
	return rank_cmp(&r, &c->heap[0]) >= 0;
}

/* ---- One session --------------------------------------------------------- */

static void sess_names(struct sess *s, const char *id)
{
	memset(s, 0, sizeof(*s));
	strlcpy(s->id, id, sizeof(s->id));
	sessnap__snap_name(s->snap, id);
	sessnap__prev_name(s->prev, id);
	sessnap__lock_name(s->lock, id);
}

/*
 * Read one generation's header for evaluate().  Returns 0 to go on, with
 * *rc the read's result (0, SESSNAP_ECORRUPT or SESSNAP_ENOTFOUND) and
 * *has whether the file exists; or the action the session gets at once:
 * SESSNAP_CLEAN_KEEP_NEWER, SESSNAP_CLEAN_SKIP_UNSAFE, or
 * SESSNAP_CLEAN_FAILED with *err set.  No stat first: the header read
 * opens the file with O_NOFOLLOW and fstats it, which says whether it
 * exists and gives its identity.  It fills *st only for a regular file it
 * opened; when it did not (a symlink, FIFO or directory gives
 * SESSNAP_ECORRUPT), an lstat tells what is there.
 */
static int read_generation(struct ctx *c, const char *name,
			   sessnap__header *h, struct stat *st, bool *has,
			   int *rc, int *err)
{
	char why[256];
	int r;

	*rc = sessnap__header_read(h, st, c->store, name, why, sizeof(why));
	*has = *rc != SESSNAP_ENOTFOUND;
	if (*has && st->st_mode != 0 && !S_ISREG(st->st_mode))
		return SESSNAP_CLEAN_SKIP_UNSAFE; /* never touched */
	if (*has && st->st_mode == 0 && *rc == SESSNAP_ECORRUPT) {
		if ((r = stat_nofollow(st, c->store, name)) < 0) {
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

/*
 * Look at a session's files and read its header.  Returns the action the
 * session deserves when it is NOT a removal candidate (a KEEP_ or SKIP_
 * value), SESSNAP_CLEAN_FAILED with *err set, or one of the REMOVE_
 * actions when it is a candidate.  Returns -1 when the session has no
 * files at all any more.
 */
static int evaluate(struct ctx *c, struct sess *s, int *err)
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
	if ((r = read_generation(c, s->snap, &s->hdr, &s->st_snap,
				 &s->has_snap, &rc_snap, err)) != 0)
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
		s->age_ms = c->pol.now_ms -
			    mtime_ms(s->has_snap ? &s->st_snap : &s->st_prev);
		if (!(c->pol.flags & SESSNAP_CLEAN_INCLUDE_CORRUPT))
			return SESSNAP_CLEAN_KEEP_CORRUPT;
		limit = c->pol.completed_age_ms;
		remove = SESSNAP_CLEAN_REMOVE_CORRUPT;
	} else {
		s->age_ms = c->pol.now_ms - s->hdr.saved_ms;
		if (s->hdr.completed) {
			limit = c->pol.completed_age_ms;
			remove = SESSNAP_CLEAN_REMOVE_COMPLETED;
		} else if (sessnap__owner_foreign(&s->hdr.owner,
						  &c->store->self)) {
			return SESSNAP_CLEAN_KEEP_FOREIGN;
		} else {
			limit = c->pol.crashed_age_ms;
			remove = SESSNAP_CLEAN_REMOVE_CRASHED;
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
	if ((r = stat_nofollow(&lst, c->store, s->lock)) < 0) {
		*err = r;
		return SESSNAP_CLEAN_FAILED;
	}
	if (r == 1 && !S_ISREG(lst.st_mode)) {
		s->bad_lock = true;
		return SESSNAP_CLEAN_SKIP_UNSAFE;
	}
	return remove;
}

/* Unlink one file of a session; ENOENT (someone else removed it) is fine. */
static int unlink_one(struct ctx *c, const char *name)
{
	char path[PATH_MAX];

	if (SYS(unlinkat)(c->store->dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	return sessnap__syserr(
	    errno, "unlinkat",
	    sessnap__path(path, sizeof(path), c->store, name));
}

/*
 * Open a store file to hold it across its removal.  Returns 1 with *fd
 * open and *st its fstat, 0 when the file does not exist, or a negative
 * code.  A name that cannot be opened (a symlink or FIFO put in its place,
 * or no read permission) gives 1 with *fd = -1 and *st from lstat: a
 * different file then shows as a different identity.
 */
static int hold_open(struct ctx *c, const char *name, int *fd,
		     struct stat *st)
{
	char path[PATH_MAX];
	int rc;

	*fd = sessnap__open_look(c->store, name);
	if (*fd < 0) {
		if (errno == ENOENT)
			return 0;
		return stat_nofollow(st, c->store, name);
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

static void close_if_open(int fd)
{
	int saved_errno = errno;

	if (fd >= 0)
		SYS(close)(fd);
	errno = saved_errno;
}

/* Dry run: say what would go, without locking or removing anything. */
static void remove_session_dry(struct ctx *c, struct sess *s,
			       sessnap_clean_action a)
{
	struct stat st;
	int r;

	r = sessnap__lock_probe(c->store, s->id);
	if (r < 0) {
		fail(c, s->lock, s->id, SESSNAP_CLEAN_FILE_LOCK, r);
		return;
	}
	if (r == 1) {
		emit(c, s->has_snap ? s->snap : s->prev, s->id,
		     SESSNAP_CLEAN_KEEP_RUNNING,
		     s->has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
				   SESSNAP_CLEAN_FILE_PREV,
		     0, 0, s->age_ms, true);
		return;
	}
	if (s->has_snap)
		emit(c, s->snap, s->id, a, SESSNAP_CLEAN_FILE_SNAPSHOT, 0,
		     freed(&s->st_snap), s->age_ms, true);
	if (s->has_prev)
		emit(c, s->prev, s->id, a, SESSNAP_CLEAN_FILE_PREV, 0,
		     freed(&s->st_prev), s->age_ms, !s->has_snap);
	if (stat_nofollow(&st, c->store, s->lock) == 1 && S_ISREG(st.st_mode))
		emit(c, s->lock, s->id, a, SESSNAP_CLEAN_FILE_LOCK, 0, 0,
		     s->age_ms, false);
}

/*
 * Report a session that is kept or skipped: on its lock file when that is
 * what makes it unsafe, else on its snapshot (or .prev).
 */
static void emit_keep(struct ctx *c, const struct sess *s,
		      sessnap_clean_action a)
{
	if (s->bad_lock)
		emit(c, s->lock, s->id, a, SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1,
		     true);
	else
		emit(c, s->has_snap ? s->snap : s->prev, s->id, a,
		     s->has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
				   SESSNAP_CLEAN_FILE_PREV,
		     0, 0, a == SESSNAP_CLEAN_SKIP_UNSAFE ? -1 : s->age_ms,
		     true);
}

/* Take the store gate exclusively, opening the cleaner's descriptor for it
 * on first use. */
static int gate_hold(struct ctx *c)
{
	int rc;

	if (c->gate < 0 && (rc = sessnap__gate_open(&c->gate, c->store)) < 0)
		return rc;
	return sessnap__gate_lock(c->gate, c->store, LOCK_EX);
}

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
static void remove_session(struct ctx *c, struct sess *s,
			   sessnap_clean_action a)
{
	struct stat st, now_snap, now_prev;
	int fd = -1, snap_fd = -1, prev_fd = -1, rc, r, err = 0, again = -1;
	const char *fail_name = NULL;
	sessnap_clean_file fail_file = SESSNAP_CLEAN_FILE_SNAPSHOT;
	bool gated = false, rm_snap = false, rm_prev = false, rm_lock = false;
	char msg[1024];

	if (c->dry) {
		remove_session_dry(c, s, a);
		return;
	}
	if ((rc = gate_hold(c)) < 0) {
		fail_name = s->has_snap ? s->snap : s->prev;
		goto report;
	}
	gated = true;
	rc = sessnap__lock_take_existing(&fd, c->store, s->id);
	if (rc == SESSNAP_EBUSY) {
		again = SESSNAP_CLEAN_KEEP_RUNNING;
		goto report;
	}
	if (rc == SESSNAP_EUNSAFE) {
		/* Replaced by a FIFO or the like since the decision. */
		s->bad_lock = true;
		again = SESSNAP_CLEAN_SKIP_UNSAFE;
		goto report;
	}
	if (rc == SESSNAP_ENOTFOUND) {
		fd = -1; /* no lock file: the gate alone protects us */
	} else if (rc < 0) {
		fail_name = s->lock;
		fail_file = SESSNAP_CLEAN_FILE_LOCK;
		goto report;
	} else {
		if (SYS(fstat)(fd, &st) < 0) {
			char path[PATH_MAX];

			rc = sessnap__syserr(errno, "fstat",
					     sessnap__path(path, sizeof(path),
							   c->store, s->lock));
			fail_name = s->lock;
			fail_file = SESSNAP_CLEAN_FILE_LOCK;
			goto report;
		}
		if (st.st_nlink == 0)
			goto report; /* another cleaner removed it */
	}

	/*
	 * Every save renames a new inode over the snapshot, so while the
	 * snapshot is unchanged its .prev is too, and only a session that
	 * has a .prev, or nothing but one, needs it looked at again.  (A
	 * save that died between its two renames leaves a .prev that is one
	 * more link to the unchanged snapshot: no state of its own.)
	 */
	if ((r = hold_open(c, s->snap, &snap_fd, &now_snap)) < 0) {
		rc = r;
		fail_name = s->snap;
		goto report;
	}
	rc = s->has_prev ? 1 : 0;
	if ((s->has_prev || !s->has_snap) &&
	    (rc = hold_open(c, s->prev, &prev_fd, &now_prev)) < 0) {
		fail_name = s->prev;
		fail_file = SESSNAP_CLEAN_FILE_PREV;
		goto report;
	}
	if ((r == 1) != s->has_snap || (rc == 1) != s->has_prev ||
	    (s->has_snap && !same_file(&now_snap, &s->st_snap)) ||
	    (s->has_prev && !same_file(&now_prev, &s->st_prev))) {
		rc = 0;
		again = evaluate(c, s, &err);
		if (again < 0)
			goto report; /* all gone */
		if (again == SESSNAP_CLEAN_FAILED) {
			rc = err;
			again = -1;
			fail_name = s->has_snap ? s->snap : s->prev;
			goto report;
		}
		if (again > SESSNAP_CLEAN_REMOVE_LOCK)
			goto report; /* now a keeper */
		a = (sessnap_clean_action)again;
		again = -1;
	}
	rc = 0;

	if (s->has_snap) {
		if ((rc = unlink_one(c, s->snap)) < 0) {
			fail_name = s->snap;
			goto report;
		}
		rm_snap = true;
		sessnap__closer_hand(c->store, snap_fd);
		snap_fd = -1;
	}
	if (s->has_prev) {
		if ((rc = unlink_one(c, s->prev)) < 0) {
			fail_name = s->prev;
			fail_file = SESSNAP_CLEAN_FILE_PREV;
			goto report;
		}
		rm_prev = true;
		sessnap__closer_hand(c->store, prev_fd);
		prev_fd = -1;
	}
	/* The lock file goes last, while we still hold its lock. */
	if (fd >= 0) {
		if ((rc = unlink_one(c, s->lock)) < 0) {
			fail_name = s->lock;
			fail_file = SESSNAP_CLEAN_FILE_LOCK;
			goto report;
		}
		rm_lock = true;
	}

report:
	/* Keep the failure's message: fail() records it below. */
	if (fail_name != NULL)
		strlcpy(msg, sessnap_last_error(), sizeof(msg));
	if (gated)
		sessnap__gate_unlock(c->gate);
	close_if_open(fd);
	close_if_open(snap_fd);
	close_if_open(prev_fd);
	if (again > SESSNAP_CLEAN_REMOVE_LOCK)
		emit_keep(c, s, (sessnap_clean_action)again);
	if (rm_snap)
		emit(c, s->snap, s->id, a, SESSNAP_CLEAN_FILE_SNAPSHOT, 0,
		     freed(&s->st_snap), s->age_ms, true);
	if (rm_prev)
		emit(c, s->prev, s->id, a, SESSNAP_CLEAN_FILE_PREV, 0,
		     freed(&s->st_prev), s->age_ms, !rm_snap);
	if (fail_name != NULL) {
		sessnap__error(rc, "%s", msg);
		fail(c, fail_name, s->id, fail_file, rc);
	}
	if (rm_lock)
		emit(c, s->lock, s->id, a, SESSNAP_CLEAN_FILE_LOCK, 0, 0,
		     s->age_ms, false);
}

static void clean_session(struct ctx *c, const char *id)
{
	struct sess s;
	int a, err;

	sess_names(&s, id);
	a = evaluate(c, &s, &err);
	if (a < 0)
		return;
	if (a == SESSNAP_CLEAN_FAILED) {
		fail(c, s.has_snap ? s.snap : s.prev, id,
		     s.has_snap ? SESSNAP_CLEAN_FILE_SNAPSHOT :
				  SESSNAP_CLEAN_FILE_PREV,
		     err);
		return;
	}
	if (a > SESSNAP_CLEAN_REMOVE_LOCK) {
		emit_keep(c, &s, (sessnap_clean_action)a);
		return;
	}
	remove_session(c, &s, (sessnap_clean_action)a);
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
static void clean_temp(struct ctx *c, const char *name, const char *id)
{
	struct stat st;
	int64_t age;
	int r;

	if ((r = stat_nofollow(&st, c->store, name)) <= 0) {
		if (r < 0)
			fail(c, name, id, SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		emit(c, name, id, SESSNAP_CLEAN_SKIP_UNSAFE,
		     SESSNAP_CLEAN_FILE_TEMP, 0, 0, -1, true);
		return;
	}
	age = c->pol.now_ms - mtime_ms(&st);
	if (c->pol.temp_age_ms < 0 || age < c->pol.temp_age_ms) {
		emit(c, name, id, SESSNAP_CLEAN_KEEP_YOUNG,
		     SESSNAP_CLEAN_FILE_TEMP, 0, 0, age, true);
		return;
	}
	r = sessnap__lock_probe(c->store, id);
	if (r < 0) {
		fail(c, name, id, SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	if (r == 1) {
		emit(c, name, id, SESSNAP_CLEAN_KEEP_RUNNING,
		     SESSNAP_CLEAN_FILE_TEMP, 0, 0, age, true);
		return;
	}
	if (!c->dry && (r = unlink_one(c, name)) < 0) {
		fail(c, name, id, SESSNAP_CLEAN_FILE_TEMP, r);
		return;
	}
	emit(c, name, id, SESSNAP_CLEAN_REMOVE_TEMP, SESSNAP_CLEAN_FILE_TEMP, 0,
	     freed(&st), age, true);
}

/*
 * A lock file whose session has no snapshot: either a session that began
 * and has not saved yet (its lock is held: kept), or one whose owner died
 * before the first save (free: removed).  It is taken before removal and
 * re-checked under the lock, so a session cannot save its first snapshot
 * in the middle; libbsd's flopenat makes a concurrent begin that opened
 * the same name retry on a fresh file.
 */
static void clean_lock(struct ctx *c, const char *id)
{
	struct sess s;
	struct stat st;
	int fd = -1, r;

	sess_names(&s, id);
	if ((r = stat_nofollow(&s.st_snap, c->store, s.snap)) != 0 ||
	    (r = stat_nofollow(&s.st_prev, c->store, s.prev)) != 0) {
		if (r < 0)
			fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
		return; /* the session's own entry decides */
	}
	if ((r = stat_nofollow(&st, c->store, s.lock)) <= 0) {
		if (r < 0)
			fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		emit(c, s.lock, id, SESSNAP_CLEAN_SKIP_UNSAFE,
		     SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1, true);
		return;
	}
	if (c->dry) {
		r = sessnap__lock_probe(c->store, id);
		if (r < 0) {
			fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
			return;
		}
		emit(c, s.lock, id,
		     r == 1 ? SESSNAP_CLEAN_KEEP_RUNNING :
			      SESSNAP_CLEAN_REMOVE_LOCK,
		     SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1, true);
		return;
	}
	/* Never O_CREAT: a session that ended meanwhile removed its lock
	 * file, and the cleaner creates nothing in a store. */
	r = sessnap__lock_take_existing(&fd, c->store, id);
	if (r == SESSNAP_ENOTFOUND)
		return; /* gone: nothing left to clean */
	if (r == SESSNAP_EBUSY) {
		emit(c, s.lock, id, SESSNAP_CLEAN_KEEP_RUNNING,
		     SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1, true);
		return;
	}
	if (r == SESSNAP_EUNSAFE) {
		emit(c, s.lock, id, SESSNAP_CLEAN_SKIP_UNSAFE,
		     SESSNAP_CLEAN_FILE_LOCK, 0, 0, -1, true);
		return;
	}
	if (r < 0) {
		fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
		return;
	}
	if ((r = stat_nofollow(&s.st_snap, c->store, s.snap)) != 0 ||
	    (r = stat_nofollow(&s.st_prev, c->store, s.prev)) != 0) {
		if (r < 0)
			fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
		goto on_error;
	}
	if ((r = unlink_one(c, s.lock)) < 0) {
		fail(c, s.lock, id, SESSNAP_CLEAN_FILE_LOCK, r);
		goto on_error;
	}
	emit(c, s.lock, id, SESSNAP_CLEAN_REMOVE_LOCK, SESSNAP_CLEAN_FILE_LOCK,
	     0, 0, -1, true);
	SYS(close)(fd);
	return;

on_error:
	if (fd >= 0) {
		int saved_errno = errno;

		SYS(close)(fd);
		errno = saved_errno;
	}
}

/* ---- The passes ---------------------------------------------------------- */

/*
 * Open a fresh stream on the store directory.  Each pass opens its own
 * descriptor ("." relative to the store's), so passes never share a
 * directory offset with each other or with the store.
 */
static int dir_open(DIR **out, sessnap_store *store)
{
	int fd, rc;

	fd = SYS(openat)(store->dfd, ".",
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return sessnap__syserr(errno, "open of store directory",
				       store->path);
	*out = SYS(fdopendir)(fd);
	if (*out == NULL) {
		rc = sessnap__syserr(errno, "fdopendir of store directory",
				     store->path);
		SYS(close)(fd);
		return rc;
	}
	return 0;
}

static int dir_next(struct dirent **out, DIR *dir, sessnap_store *store)
{
	errno = 0;
	*out = SYS(readdir)(dir);
	if (*out == NULL && errno != 0)
		return sessnap__syserr(errno, "readdir of store directory",
				       store->path);
	return 0;
}

/* Pass 1 of keep-newest-N: rank every readable session by saved time. */
static int rank_pass(struct ctx *c)
{
	char id[SESSNAP_ID_LEN + 1], why[256];
	struct dirent *de;
	struct stat st;
	sessnap__header h;
	struct rank r;
	DIR *dir;
	enum kind k;
	int rc;

	if ((rc = dir_open(&dir, c->store)) < 0)
		return rc;
	for (;;) {
		if ((rc = dir_next(&de, dir, c->store)) < 0)
			goto on_error;
		if (de == NULL)
			break;
		k = classify(de->d_name, id);
		if (k != K_SNAP && k != K_PREV)
			continue;
		if (k == K_PREV) {
			char snap[SESSNAP__NAME_MAX];

			sessnap__snap_name(snap, id);
			if (SYS(fstatat)(c->store->dfd, snap, &st,
					 AT_SYMLINK_NOFOLLOW) == 0)
				continue; /* ranked through its .snap */
		}
		rc = sessnap__header_read(&h, &st, c->store, de->d_name, why,
					  sizeof(why));
		if (rc < 0 && k == K_SNAP) {
			char prev[SESSNAP__NAME_MAX];

			sessnap__prev_name(prev, id);
			rc = sessnap__header_read(&h, &st, c->store, prev, why,
						  sizeof(why));
		}
		if (rc < 0)
			continue; /* corrupt, newer or gone: not ranked */
		r.saved_ms = h.saved_ms;
		strlcpy(r.id, id, sizeof(r.id));
		heap_offer(c, &r);
	}
	SYS(closedir)(dir);
	return 0;

on_error:
	SYS(closedir)(dir);
	return rc;
}

static int clean_pass(struct ctx *c)
{
	char id[SESSNAP_ID_LEN + 1];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int rc;

	if ((rc = dir_open(&dir, c->store)) < 0)
		return rc;
	for (;;) {
		if ((rc = dir_next(&de, dir, c->store)) < 0)
			goto on_error;
		if (de == NULL)
			break;
		switch (classify(de->d_name, id)) {
		case K_SNAP:
			clean_session(c, id);
			break;
		case K_PREV: {
			char snap[SESSNAP__NAME_MAX];

			/* With a main snapshot, its own entry decides. */
			sessnap__snap_name(snap, id);
			if (SYS(fstatat)(c->store->dfd, snap, &st,
					 AT_SYMLINK_NOFOLLOW) < 0 &&
			    errno == ENOENT)
				clean_session(c, id);
			break;
		}
		case K_LOCK:
			clean_lock(c, id);
			break;
		case K_TEMP:
			clean_temp(c, de->d_name, id);
			break;
		case K_OTHER:
			break;
		}
	}
	SYS(closedir)(dir);
	return 0;

on_error:
	SYS(closedir)(dir);
	return rc;
}

int sessnap_clean(sessnap_clean_report *out, sessnap_store *store,
		  const sessnap_clean_policy *policy, sessnap_clean_cb cb,
		  void *payload)
{
	sessnap_clean_policy defaults = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report empty = SESSNAP_CLEAN_REPORT_INIT;
	struct ctx c;
	int rc;

	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_clean: store is NULL");
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
	c.store = store;
	c.pol = *policy;
	if (c.pol.now_ms == 0)
		c.pol.now_ms = sessnap__now_ms();
	c.rep = empty;
	c.cb = cb;
	c.payload = payload;
	c.dry = (policy->flags & SESSNAP_CLEAN_DRY_RUN) != 0;
	c.gate = -1;

	if (c.pol.keep > 0) {
		c.heap = reallocarray(NULL, c.pol.keep, sizeof(*c.heap));
		if (c.heap == NULL)
			return sessnap__error(SESSNAP_ENOMEM,
					      "out of memory for keep %u",
					      c.pol.keep);
		if ((rc = rank_pass(&c)) < 0)
			goto on_error;
	}
	rc = clean_pass(&c);
	sessnap__closer_drain(store);
	if (rc < 0)
		goto on_error;
	if (c.gate >= 0)
		SYS(close)(c.gate);
	free(c.heap);
	if (out != NULL)
		*out = c.rep;
	if (c.first_error != 0) {
		/* Hand back the first failure, not the last one. */
		return sessnap__error(c.first_error, "%s", c.first_msg);
	}
	return 0;

on_error:
	if (c.gate >= 0)
		SYS(close)(c.gate);
	free(c.heap);
	if (out != NULL)
		*out = c.rep;
	return rc;
}

const char *sessnap_clean_action_name(sessnap_clean_action action)
{
	switch (action) {
	case SESSNAP_CLEAN_REMOVE_COMPLETED:
		return "removed-completed";
	case SESSNAP_CLEAN_REMOVE_CRASHED:
		return "removed-crashed";
	case SESSNAP_CLEAN_REMOVE_CORRUPT:
		return "removed-corrupt";
	case SESSNAP_CLEAN_REMOVE_TEMP:
		return "removed-temp";
	case SESSNAP_CLEAN_REMOVE_LOCK:
		return "removed-lock";
	case SESSNAP_CLEAN_KEEP_RUNNING:
		return "kept-running";
	case SESSNAP_CLEAN_KEEP_YOUNG:
		return "kept-young";
	case SESSNAP_CLEAN_KEEP_NEWEST:
		return "kept-newest";
	case SESSNAP_CLEAN_KEEP_NEWER:
		return "kept-newer-format";
	case SESSNAP_CLEAN_KEEP_CORRUPT:
		return "kept-corrupt";
	case SESSNAP_CLEAN_KEEP_FOREIGN:
		return "kept-foreign";
	case SESSNAP_CLEAN_SKIP_UNSAFE:
		return "skipped-not-regular";
	case SESSNAP_CLEAN_FAILED:
		return "failed";
	}
	return "unknown";
}
