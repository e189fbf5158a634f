/*
 * scan.c - list a store's sessions and say, for each, who it belongs to
 *
 * At startup an app asks which of its sessions did not end cleanly and
 * whether their owners are really gone.  A wrong answer is worse than
 * none: it either offers to "recover" a session another window is still
 * using, or it silently forgets work.  So the scanner decides liveness by
 * the session's flock (liveness.c), never by a pid, and it reads nothing
 * it does not need:
 *
 *  1. one walk of the store directory (names.c), keeping only the names
 *     <32 hex>.snap, <32 hex>.snap.prev and <32 hex>.lock (dotfiles -
 *     temporary files - and unrelated names are skipped), and noting a
 *     <32 hex>.lock that readdir says is not a regular file;
 *  1b. a session with a lock file and no snapshot yet is listed only while
 *     its lock is held: running, described by the record begin wrote into
 *     the lock file (owner, key, label, created; liveness.c), or by its id
 *     alone when that record is missing or torn.  A free lock file alone
 *     is no session (the cleaner removes it);
 *  2. for each session id, probe its lock FIRST, then read the header of
 *     <id>.snap (one bounded read: format.c), and only when that is
 *     missing or unusable the header of <id>.snap.prev, and only when
 *     that is unusable too those of <id>.snap.2 and up (read_older(): the
 *     newest by seq describes the session).  Probing first
 *     matters: a session that ends cleanly between the two steps removes
 *     its files while it still holds the lock, so a free lock followed by
 *     a present snapshot always means the owner is gone;
 *  3. classify: running (lock held; it wins over everything else, since
 *     the owner is alive and will write again), corrupt when any of the
 *     session's names is not a regular file (the one verdict of format.c:
 *     such a session is never adopted, discarded or cleaned, and a lock
 *     file nobody can hold says nothing about liveness), newer-format,
 *     corrupt (neither generation readable), completed, foreign (written
 *     on another host, whose locks this host cannot see), crashed;
 *  4. sort newest first by the header's saved time (by the file's mtime
 *     when there is no usable header).
 *
 * The cost is a few system calls and one small read per session, whatever
 * the size of the states; the memory is one fixed-size record per session
 * plus its label.  A bad entry hides nothing else: a session file that
 * cannot be read (EIO, EACCES) is listed, flagged unreadable and never
 * called crashed, and the others are listed as usual.  Only a failure of
 * the store directory itself, or of the process (no memory, no descriptor
 * left), fails the whole scan.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* What readdir showed for one session id. */
#define HAS_SNAP (1u << 0)
#define HAS_PREV (1u << 1)
/* <id>.lock, when readdir says it is not a regular file */
#define BAD_LOCK (1u << 2)
/* <id>.lock of any other type (regular, or unknown to readdir) */
#define HAS_LOCK (1u << 3)
/* <id>.claim: another host took the session over (claim.c) */
#define HAS_CLAIM (1u << 4)

struct cand {
	char id[SESSNAP_ID_LEN + 1];
	unsigned char has;
};

const char *sessnap_verdict_name(sessnap_verdict status)
{
	switch (status) {
#define NAME_(name, num, str, desc)                                            \
	case SESSNAP_VERDICT_##name:                                           \
		return str;
		SESSNAP_VERDICT_MAP(NAME_)
#undef NAME_
	}
	return "unknown";
}

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->id,
		      ((const struct cand *)b)->id);
}

/* The candidates found so far by the directory walk. */
struct cands {
	struct cand *c;
	size_t n, cap;
};

/*
 * Keep <id>.snap and <id>.snap.prev, and an <id>.lock that readdir says is
 * of a known type other than a regular file.  A symlink, FIFO,
 * directory... named like a session file is listed too: it is reported,
 * as corrupt (format.c).
 */
static int add_candidate(const sessnap__dir_entry *e, void *payload)
{
	struct cands *l = payload;
	struct cand *tmp;
	unsigned int kind;

	if (e->kind == SESSNAP__NAME_SNAP)
		kind = HAS_SNAP;
	else if (e->kind == SESSNAP__NAME_PREV)
		kind = HAS_PREV;
	else if (e->kind == SESSNAP__NAME_LOCK && e->type != DT_REG &&
		 e->type != DT_UNKNOWN)
		kind = BAD_LOCK;
	else if (e->kind == SESSNAP__NAME_LOCK)
		kind = HAS_LOCK;
	else if (e->kind == SESSNAP__NAME_CLAIM)
		kind = HAS_CLAIM;
	else
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		tmp = reallocarray(l->c, l->cap, sizeof(*l->c));
		if (tmp == NULL)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
		l->c = tmp;
	}
	memcpy(l->c[l->n].id, e->id, sizeof(e->id));
	l->c[l->n].has = (unsigned char)kind;
	l->n++;
	return 0;
}

/*
 * Read the store directory once (names.c) and return the session ids
 * seen, sorted and merged, each with the generations that were present.
 */
static int list_candidates(struct cand **out, size_t *out_n,
			   sessnap_store *store)
{
	struct cands l = { NULL, 0, 0 };
	size_t n, i, j;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = sessnap__dir_walk(store, add_candidate, &l)) < 0) {
		free(l.c);
		return rc;
	}
	if (l.n > 0)
		qsort(l.c, l.n, sizeof(*l.c), cand_cmp);
	for (i = 0, j = 0; i < l.n; i++) {
		if (j > 0 && strcmp(l.c[j - 1].id, l.c[i].id) == 0)
			l.c[j - 1].has |= l.c[i].has;
		else
			l.c[j++] = l.c[i];
	}
	/*
	 * A lock file alone is a session only while it is held (classify()
	 * probes it); a lock file that is not a regular file, alone, is no
	 * session of anyone's.
	 */
	for (i = 0, n = j, j = 0; i < n; i++)
		if (l.c[i].has & (HAS_SNAP | HAS_PREV | HAS_LOCK))
			l.c[j++] = l.c[i];
	*out = l.c;
	*out_n = j;
	return 0;
}

/*
 * Read one generation's header.  Returns 0, SESSNAP_ENEWER,
 * SESSNAP_ECORRUPT (also for a wrong id, or a name that is not a regular
 * file: *bad is then set), SESSNAP_ENOTFOUND, or a system error that
 * fails the scan.
 */
static int read_gen(sessnap__header *h, struct stat *st, bool *bad,
		    sessnap_store *store, const char *name)
{
	int rc = sessnap__header_read(h, st, store, name);

	if (rc == SESSNAP_ECORRUPT && st->st_mode != 0 &&
	    !S_ISREG(st->st_mode))
		*bad = true;
	return rc;
}

/*
 * Both <id>.snap and <id>.snap.prev are unusable: describe the session
 * from the newest (by seq, as the loader orders them) of its older
 * generations, <id>.snap.2 and up, whatever the store's own option.  A
 * newer-format one wins (the session is then newer, never corrupt).
 * Returns as read_gen(), with *gen the generation used; *h and *st are
 * left alone unless one was found.  Only sessions whose two first
 * generations are both unusable pay these reads.
 */
static int read_older(sessnap__header *h, struct stat *st, bool *bad,
		      sessnap_store *store, const char *id, unsigned int *gen)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header oh;
	struct stat ost;
	unsigned int n;
	int rc, best = SESSNAP_ENOTFOUND;

	for (n = 2; n <= SESSNAP__GEN_LAST; n++) {
		sessnap__gen_name(name, id, n);
		rc = read_gen(&oh, &ost, bad, store, name);
		if (rc == SESSNAP_ENOTFOUND)
			continue;
		if (rc == SESSNAP_ENEWER) {
			*h = oh;
			*st = ost;
			*gen = n;
			return rc;
		}
		if (rc == 0 && (best != 0 || oh.seq > h->seq)) {
			*h = oh;
			*st = ost;
			*gen = n;
			best = 0;
		} else if (rc != 0 && rc != SESSNAP_ECORRUPT) {
			return rc;
		} else if (best == SESSNAP_ENOTFOUND) {
			best = SESSNAP_ECORRUPT;
		}
	}
	return best;
}

static void fill_from_header(sessnap_info *info, const sessnap__header *h)
{
	info->created_ms = h->created_ms;
	info->saved_ms = h->saved_ms;
	info->seq = h->seq;
	info->adoptions = h->adoptions;
	info->format_version = h->format_version;
	info->schema_version = h->schema_version;
	info->owner = h->owner;
	info->payload_bytes = h->length;
	if (h->layout == SESSNAP_LAYOUT_DELTA) {
		info->layout = SESSNAP_LAYOUT_DELTA;
		info->base_seq = h->base_seq;
		info->base_stored_bytes = h->length;
		info->base_bytes = h->base_size;
		info->base_compressed = h->base_codec == SESSNAP__CODEC_ZSTD;
		info->area_bytes = h->area;
		/* the state of the newest commit the slots describe */
		info->record_bytes = h->slot >= 0 ? h->rec.length : 0;
		info->payload_bytes = h->slot >= 0 ? h->rec.size :
						     h->base_size;
	}
}

/*
 * A session file that could not be read (EIO, EACCES...) is that entry's
 * problem: the session is listed, flagged unreadable, and the scan goes
 * on.  It is never called crashed (its lock or its files could not be
 * looked at) and never described from its other generation (the one that
 * failed may be the newer).  Only what says nothing about the entry - no
 * memory, no descriptor left (EMFILE, ENFILE) - fails the scan, like a
 * failure of the store directory.  `err` is errno just after the failure.
 */
static int unreadable(sessnap_info *info, int live, int rc, int err)
{
	if (rc == SESSNAP_ENOMEM || err == EMFILE || err == ENFILE ||
	    err == ENOMEM)
		return rc;
	info->flags |= SESSNAP_INFO_UNREADABLE;
	info->status =
	    live == 1 ? SESSNAP_VERDICT_RUNNING : SESSNAP_VERDICT_CORRUPT;
	return 1;
}

/*
 * The key of h into info (after its label: on failure the label is freed
 * too, since a slot that fails the scan is never freed by the caller).
 */
static int copy_key(sessnap_info *info, const sessnap__header *h)
{
	if (h->key_len == 0)
		return 0;
	if ((info->key = malloc(h->key_len + 1)) == NULL) {
		free(info->label);
		info->label = NULL;
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	memcpy(info->key, h->key, h->key_len + 1);
	info->key_len = h->key_len;
	return 0;
}

/*
 * A session with a lock file, no snapshot, and a free lock on a store with
 * leases: another host's session that has not saved yet is listed while
 * its lease is fresh (running, from its record), as its flock would list
 * it on its own host.  An expired lease, or none, is skipped like any
 * free lock file alone: there is no state to recover.
 */
static int lock_only_leased(sessnap_info *info, sessnap_store *store,
			    const struct cand *c, int64_t *clock)
{
	char lock[SESSNAP__NAME_MAX];
	sessnap__header h;
	struct stat st;
	sessnap__lease l;

	if (sessnap__lease_look(&l, store, c->id) < 0 || l.period_ms == 0 ||
	    !sessnap__lease_applies(store, &l.owner) ||
	    sessnap__lease_judge(&l, store, c->id, clock) !=
		SESSNAP__LEASE_FRESH)
		return 0;
	sessnap__lock_name(lock, c->id);
	if (sessnap__header_read(&h, &st, store, lock) < 0)
		return 0;
	info->status = SESSNAP_VERDICT_RUNNING;
	info->mtime_ms = sessnap__mtime_ms(&st);
	info->created_ms = h.created_ms;
	info->format_version = h.format_version;
	info->schema_version = h.schema_version;
	info->owner = h.owner;
	info->lease_age_ms = l.age_ms;
	info->lease_period_ms = l.period_ms;
	info->lease_renewals = l.renewals;
	if (h.label[0] != '\0' && (info->label = strdup(h.label)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	return copy_key(info, &h) < 0 ? SESSNAP_ENOMEM : 1;
}

/*
 * A session with a lock file and no snapshot: listed while its lock is
 * held, as running, from its lock record (a header of seq 0 with an empty
 * payload: liveness.c).  The record is read as a header is (one bounded
 * read, regular files only, id checked against the name, size checked
 * against the record), so a torn one (a crash mid-write) or none (an
 * older version's lock file) is simply not used.  A free lock file, or one
 * whose probe fails, is skipped as before: it holds no state.
 */
static int classify_lock_only(sessnap_info *info, sessnap_store *store,
			      const struct cand *c, int64_t *clock)
{
	char lock[SESSNAP__NAME_MAX];
	sessnap__header h;
	struct stat st;
	int live;

	if (c->has & BAD_LOCK)
		return 0;
	live = sessnap__lock_probe(store, c->id);
	if (live == 0 && store->lease_ms > 0)
		return lock_only_leased(info, store, c, clock);
	if (live != 1)
		return 0;
	info->status = SESSNAP_VERDICT_RUNNING;
	sessnap__lock_name(lock, c->id);
	if (sessnap__header_read(&h, &st, store, lock) < 0 ||
	    h.seq != 0 || h.length != 0)
		return 1;
	info->mtime_ms = sessnap__mtime_ms(&st);
	info->created_ms = h.created_ms;
	info->format_version = h.format_version;
	info->schema_version = h.schema_version;
	info->owner = h.owner;
	if (h.label[0] != '\0' && (info->label = strdup(h.label)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	return copy_key(info, &h) < 0 ? SESSNAP_ENOMEM : 1;
}

/*
 * A session that did not complete and whose lock is free here: crashed,
 * or, by the cross-host rule (lease.c), running while another host's
 * lease is fresh, foreign when that host renews none.  A session of this
 * host and boot costs nothing more; another host's costs one bounded read
 * of its lock record, and the scan thread's first one the clock file.
 */
static int classify_free(sessnap_info *info, sessnap_store *store,
			 const char *id, const sessnap_owner *owner,
			 int64_t *clock)
{
	sessnap__lease l;
	int v = sessnap__lease_verdict(&l, store, id, owner, clock);

	if (v < 0) {
		if ((v = unreadable(info, 0, v, errno)) > 0)
			return v;
		/* A slot that fails the scan is never freed by the caller. */
		free(info->label);
		free(info->key);
		info->label = NULL;
		info->key = NULL;
		return v;
	}
	info->status = (sessnap_verdict)v;
	if (l.period_ms > 0) {
		info->lease_age_ms = l.age_ms;
		info->lease_period_ms = l.period_ms;
		info->lease_renewals = l.renewals;
	}
	return 1;
}

/*
 * The newest generation that reads, into *h and *st: the main file, else
 * .prev, else an older one (info's FROM_ flags and generation say which).
 * Returns 0 or SESSNAP_ENEWER when one was read; SESSNAP_ECORRUPT when
 * none reads (*st then the main file's, when it exists);
 * SESSNAP_ENOTFOUND when the main file and .prev are both gone (the
 * session vanished); or the error of a file that could not be read, with
 * errno still its cause (see unreadable()).
 */
static int read_newest(sessnap_info *info, sessnap__header *h, struct stat *st,
		       bool *bad, sessnap_store *store, const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	struct stat st_main;
	int rc, rc_prev;

	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	rc = read_gen(h, st, bad, store, snap);
	if (rc != SESSNAP_ECORRUPT && rc != SESSNAP_ENOTFOUND)
		return rc;
	st_main = *st;
	rc_prev = read_gen(h, st, bad, store, prev);
	if (rc_prev == 0 || rc_prev == SESSNAP_ENEWER) {
		info->flags |= SESSNAP_INFO_FROM_PREV;
		info->generation = 1;
		return rc_prev;
	}
	if (rc_prev != SESSNAP_ECORRUPT && rc_prev != SESSNAP_ENOTFOUND)
		return rc_prev;
	if (rc == SESSNAP_ENOTFOUND && rc_prev == SESSNAP_ENOTFOUND)
		return SESSNAP_ENOTFOUND;
	rc_prev = read_older(h, st, bad, store, id, &info->generation);
	if (rc_prev == 0 || rc_prev == SESSNAP_ENEWER) {
		info->flags |= SESSNAP_INFO_FROM_OLDER;
		return rc_prev;
	}
	if (rc_prev != SESSNAP_ECORRUPT && rc_prev != SESSNAP_ENOTFOUND)
		return rc_prev;
	/* Corrupt: describe the main file if it exists. */
	if (st_main.st_mode != 0)
		*st = st_main;
	return SESSNAP_ECORRUPT;
}

/*
 * Classify one session.  Returns 1 when *info was filled, 0 when the
 * session vanished meanwhile (nothing to list), or a negative error that
 * fails the scan (see unreadable()).
 */
static int classify(sessnap_info *info, sessnap_store *store,
		    const struct cand *c, int64_t *clock)
{
	sessnap__header h;
	struct stat st;
	bool have_header = false, bad = false;
	int live, rc;

	memset(info, 0, sizeof(*info));
	memcpy(info->id, c->id, sizeof(info->id));
	info->lease_age_ms = -1;
	if (!(c->has & (HAS_SNAP | HAS_PREV)))
		return classify_lock_only(info, store, c, clock);

	/* The lock first: see the essay at the top. */
	if (c->has & BAD_LOCK)
		live = SESSNAP__LOCK_NOT_REGULAR;
	else if ((live = sessnap__lock_probe(store, c->id)) < 0)
		return unreadable(info, 0, live, errno);
	if (live == SESSNAP__LOCK_NOT_REGULAR) {
		/* Nobody can hold it: liveness is unknown, never crashed. */
		live = 0;
		bad = true;
	}

	rc = read_newest(info, &h, &st, &bad, store, c->id);
	if (rc == SESSNAP_ENOTFOUND)
		return 0;
	if (rc < 0 && rc != SESSNAP_ECORRUPT && rc != SESSNAP_ENEWER)
		return unreadable(info, live, rc, errno);
	info->file_bytes = (uint64_t)st.st_size;
	info->mtime_ms = sessnap__mtime_ms(&st);
	if (bad)
		info->flags |= SESSNAP_INFO_NOT_REGULAR;
	if (rc == 0 && sessnap__too_big(store, &st))
		info->flags |= SESSNAP_INFO_TOOBIG;

	if (rc == 0) {
		have_header = true;
		fill_from_header(info, &h);
		if (h.label[0] != '\0' &&
		    (info->label = strdup(h.label)) == NULL)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
		if (copy_key(info, &h) < 0)
			return SESSNAP_ENOMEM;
	} else if (rc == SESSNAP_ENEWER) {
		info->format_version = h.format_version;
	}

	if (live)
		info->status = SESSNAP_VERDICT_RUNNING;
	else if (bad)
		info->status = SESSNAP_VERDICT_CORRUPT; /* see format.c */
	else if (rc == SESSNAP_ENEWER)
		info->status = SESSNAP_VERDICT_NEWER;
	else if (!have_header)
		info->status = SESSNAP_VERDICT_CORRUPT;
	else if (h.completed)
		info->status = SESSNAP_VERDICT_COMPLETED;
	else if (c->has & HAS_CLAIM) {
		/*
		 * Taken over by another host: its state goes on in the
		 * claim's successor, so it is never offered again.  The
		 * claim was seen by the directory walk: no system call.
		 */
		info->status = SESSNAP_VERDICT_COMPLETED;
		info->flags |= SESSNAP_INFO_TAKEN_OVER;
	} else
		return classify_free(info, store, c->id, &h.owner, clock);
	return 1;
}

static int64_t sort_key(const sessnap_info *i)
{
	return i->saved_ms > 0 ? i->saved_ms : i->mtime_ms;
}

/* Newest first; the id breaks ties so the order is stable. */
static int info_cmp(const void *a, const void *b)
{
	const sessnap_info *x = a, *y = b;
	int64_t kx = sort_key(x), ky = sort_key(y);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * Classifying is a few system calls per session, nearly all of it kernel
 * time that runs in parallel (path lookups under RCU, a private file and
 * lock each), so a large store is classified by several threads.  They
 * take chunks of candidates from a shared counter and write each result
 * into the candidate's own slot; the slots are compacted and sorted once
 * all are done.  A small store is not worth a thread's start.
 */
#define SCAN_CHUNK 64
#define SCAN_PER_THREAD 256 /* candidates per thread, at least */
#define SCAN_THREADS_MAX 8

struct scan_job {
	sessnap_store *store;
	const struct cand *c;
	sessnap_info *infos;
	signed char *kept; /* per candidate: 1 listed, 0 vanished */
	size_t n;
	/* How many threads were asked for; 0: scan_threads() decides. */
	unsigned int threads;
	atomic_size_t next;  /* the next chunk's first candidate */
	atomic_bool failed;  /* stop taking chunks */
	pthread_mutex_t mu;  /* guards the first error below */
	size_t err_at;	     /* its candidate: the lowest one wins */
	int err;
	char err_msg[512];
};

static void *scan_worker(void *arg)
{
	struct scan_job *job = arg;
	int64_t clock = -1; /* the file server's, read once if needed */
	size_t i, end;
	int rc;

	while (!atomic_load_explicit(&job->failed, memory_order_relaxed)) {
		i = atomic_fetch_add(&job->next, SCAN_CHUNK);
		if (i >= job->n)
			break;
		end = i + SCAN_CHUNK < job->n ? i + SCAN_CHUNK : job->n;
		for (; i < end; i++) {
			rc = classify(&job->infos[i], job->store, &job->c[i],
				      &clock);
			if (rc >= 0) {
				job->kept[i] = (signed char)rc;
				continue;
			}
			/* sessnap_error_last() is this thread's own. */
			pthread_mutex_lock(&job->mu);
			if (job->err == 0 || i < job->err_at) {
				job->err = rc;
				job->err_at = i;
				strlcpy(job->err_msg, sessnap_error_last(),
					sizeof(job->err_msg));
			}
			pthread_mutex_unlock(&job->mu);
			atomic_store(&job->failed, true);
			return NULL;
		}
	}
	return NULL;
}

static unsigned int scan_threads(size_t n, unsigned int asked)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = n / SCAN_PER_THREAD;

	if (asked > 0)
		return asked < SCAN_THREADS_MAX ? asked : SCAN_THREADS_MAX;
	if (cpus < 1)
		cpus = 1;
	if (want > (size_t)cpus)
		want = (size_t)cpus;
	if (want > SCAN_THREADS_MAX)
		want = SCAN_THREADS_MAX;
	return want < 1 ? 1 : (unsigned int)want;
}

/*
 * Classify every candidate into its slot of infos (kept[i] says whether
 * slot i was filled).  Helpers that cannot be started leave their share
 * to the others: the calling thread always works.  Returns 0 or the error
 * of the lowest candidate that failed, with its message.
 */
static int classify_all(struct scan_job *job)
{
	pthread_t tids[SCAN_THREADS_MAX];
	unsigned int want = scan_threads(job->n, job->threads);
	unsigned int started = 0, t;
	sigset_t all, old;

	atomic_init(&job->next, 0);
	atomic_init(&job->failed, false);
	pthread_mutex_init(&job->mu, NULL);
	job->err = 0;
	job->err_at = 0;
	if (want > 1) {
		/* The app's signal handlers must run on the app's threads. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (t = 0; t + 1 < want; t++) {
			if (SYS(thread_create)(&tids[started], scan_worker,
					   job) != 0)
				break;
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	scan_worker(job);
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&job->mu);
	if (job->err < 0)
		return sessnap__error(job->err, "%s", job->err_msg);
	return 0;
}

static int scan(sessnap_info ***out, size_t *out_count, sessnap_store *store,
		unsigned int flags, unsigned int threads, const void *key,
		size_t key_len);

int sessnap_store_scan(sessnap_info ***out, size_t *out_count,
		       sessnap_store *store, unsigned int flags)
{
	return scan(out, out_count, store, flags, 0, NULL, 0);
}

int sessnap__scan(sessnap_info ***out, size_t *out_count, sessnap_store *store,
		  unsigned int flags, unsigned int threads)
{
	return scan(out, out_count, store, flags, threads, NULL, 0);
}

int sessnap_store_scan_key(sessnap_info ***out, size_t *out_count,
			   sessnap_store *store, unsigned int flags,
			   const void *key, size_t key_len)
{
	if (out != NULL)
		*out = NULL;
	if (out_count != NULL)
		*out_count = 0;
	if (key == NULL || key_len == 0)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_scan_key: no key given");
	if (key_len > SESSNAP_KEY_MAX)
		return sessnap__error(
		    SESSNAP_EINVAL,
		    "sessnap_store_scan_key: a key of %zu bytes is "
		    "longer than SESSNAP_KEY_MAX (%d)",
		    key_len, SESSNAP_KEY_MAX);
	return scan(out, out_count, store, flags, 0, key, key_len);
}

/* Whether info passes the scan's filters: its status, its key. */
static bool wanted(const sessnap_info *info, unsigned int flags,
		   const void *key, size_t key_len)
{
	if ((flags & SESSNAP_SCAN_RECOVERABLE) &&
	    info->status != SESSNAP_VERDICT_CRASHED)
		return false;
	/* Keys are data: byte for byte, never the label. */
	return key == NULL || (info->key_len == key_len &&
			       memcmp(info->key, key, key_len) == 0);
}

/*
 * The result handed out: one block holding the array of pointers, then
 * (aligned) the records they point to, in the pointers' order.  A caller
 * only ever indexes the pointers, whose size never changes, so a record
 * can grow at its end without breaking a program compiled against a
 * smaller one; each record's `size` says how much of it this library
 * filled.  One free releases the block, after each record's label and key.
 */
static int publish(sessnap_info ***out, sessnap_info *infos, size_t count)
{
	size_t align = _Alignof(sessnap_info);
	size_t head = count * sizeof(sessnap_info *), i;
	sessnap_info **ptrs;
	sessnap_info *recs;

	head = (head + align - 1) / align * align;
	if (count > (SIZE_MAX - head) / sizeof(*recs) ||
	    (ptrs = malloc(head + count * sizeof(*recs))) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	recs = (sessnap_info *)(void *)((char *)ptrs + head);
	for (i = 0; i < count; i++) {
		recs[i] = infos[i];
		recs[i].size = sizeof(recs[i]);
		ptrs[i] = &recs[i];
	}
	*out = ptrs;
	return 0;
}

static int scan(sessnap_info ***out, size_t *out_count, sessnap_store *store,
		unsigned int flags, unsigned int threads, const void *key,
		size_t key_len)
{
	struct cand *c = NULL;
	sessnap_info *infos = NULL;
	signed char *kept = NULL;
	struct scan_job job;
	size_t n = 0, i, count = 0;
	int rc;

	if (out == NULL || out_count == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_scan: NULL argument");
	*out = NULL;
	*out_count = 0;
	if (flags & ~SESSNAP_SCAN_RECOVERABLE)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_scan: unknown flags %#x",
				      flags & ~SESSNAP_SCAN_RECOVERABLE);
	if ((rc = list_candidates(&c, &n, store)) < 0)
		return rc;
	if (n > 0 && ((infos = calloc(n, sizeof(*infos))) == NULL ||
		      (kept = calloc(n, sizeof(*kept))) == NULL)) {
		rc = sessnap__error(SESSNAP_ENOMEM, "out of memory");
		goto on_error;
	}
	job.store = store;
	job.c = c;
	job.infos = infos;
	job.kept = kept;
	job.n = n;
	job.threads = threads;
	rc = n > 0 ? classify_all(&job) : 0;
	/* Compact the filled slots, in candidate order. */
	for (i = 0; i < n; i++) {
		if (!kept[i])
			continue;
		if (rc < 0 || !wanted(&infos[i], flags, key, key_len)) {
			free(infos[i].label);
			infos[i].label = NULL;
			free(infos[i].key);
			infos[i].key = NULL;
			continue;
		}
		if (count != i)
			infos[count] = infos[i];
		count++;
	}
	if (rc < 0) {
		count = 0;
		goto on_error;
	}
	free(kept);
	free(c);
	kept = NULL;
	c = NULL;
	if (count > 0) {
		qsort(infos, count, sizeof(*infos), info_cmp);
		if ((rc = publish(out, infos, count)) < 0)
			goto on_error;
	}
	free(infos);
	*out_count = count;
	return 0;

on_error:
	free(kept);
	free(c);
	for (i = 0; i < count; i++) {
		free(infos[i].label);
		free(infos[i].key);
	}
	free(infos);
	return rc;
}

void sessnap_info_free(sessnap_info **infos, size_t count)
{
	size_t i;

	if (infos == NULL)
		return;
	for (i = 0; i < count; i++) {
		free(infos[i]->label);
		free(infos[i]->key);
	}
	free(infos);
}
