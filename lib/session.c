/*
 * session.c - one run of an interactive program
 *
 * Lifecycle:
 *
 *	sessnap_session_begin()    draw an id, take <id>.lock
 *	sessnap_session_update()   serialize the state, queue the bytes
 *	    ... the writer saves the newest queued state (writer.c), or the
 *	    app saves it now with sessnap_session_flush() ...
 *	sessnap_session_flush()    save now, until everything queued is durable
 *	sessnap_session_end()      flush, then remove (or keep, completed)
 *
 * The lock is held from begin to end; that is what tells the scanner the
 * session is alive.  A session adopted after a crash (adopt.c) enters
 * the same lifecycle with the id and sequence of the crashed one.
 *
 * Threads: the app thread queues states under store->mu; whoever saves
 * (the writer thread or the app itself) takes the pending bytes under the
 * mutex, marks the session `saving`, and writes without the mutex held, so
 * an update never waits for a save.  Only one save of a session runs at a
 * time; a failed save puts its bytes back unless a newer state arrived
 * meanwhile, so the newest state is never dropped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "closer.h"
#include "internal.h"
#include "owner.h"
#include "writer.h"


/*
 * Labels go into the one-line header: control characters become spaces and
 * the length is cut to SESSNAP_LABEL_MAX bytes at a UTF-8 boundary.
 */
static char *label_dup(const char *label)
{
	size_t len = strlen(label), i;
	char *out;

	if (len > SESSNAP_LABEL_MAX) {
		len = SESSNAP_LABEL_MAX;
		while (len > 0 && ((unsigned char)label[len] & 0xc0) == 0x80)
			len--;
	}
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];

		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[len] = '\0';
	return out;
}

/* The owner check of the calls that save: a live session of this process. */
static int check_live(const sessnap_session *s, const char *what)
{
	unsigned int flags = SESSNAP__CHECK_SESSION | SESSNAP__CHECK_LIVE;

	return sessnap__check_owner(NULL, s, flags, what);
}

int sessnap__session_new(sessnap_session **out, sessnap_store *store,
			 const char *id, int lock_fd, const char *label,
			 const void *key, size_t key_len)
{
	sessnap_session *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	if (label != NULL && (s->label = label_dup(label)) == NULL) {
		free(s);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	s->store = store;
	strlcpy(s->id, id, sizeof(s->id));
	if (key_len > 0)
		memcpy(s->key, key, key_len);
	s->key_len = key_len;
	s->lock_fd = lock_fd;
	s->pid = getpid();
	s->created_ms = sessnap__now_ms();
	s->label_dirty = true;

	pthread_mutex_lock(&store->mu);
	s->next = store->sessions;
	store->sessions = s;
	pthread_mutex_unlock(&store->mu);
	*out = s;
	return 0;
}

/* Fresh ids tried when a cleaner happens to hold the new lock file. */
#define BEGIN_TRIES 8

/* Options of version 1 (no key) and 2 are accepted. */
static int check_options(const sessnap_session_options *opts)
{
	if (opts == NULL)
		return 0;
	if (opts->version != 1 &&
	    opts->version != SESSNAP_SESSION_OPTIONS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown session options version %u",
				      opts->version);
	/* SESSNAP_SESSION_KEEP is decided when the session ends, in one
	 * place: sessnap_session_end()'s flags.  No flag is given here. */
	if (opts->flags != 0)
		return sessnap__error(
		    SESSNAP_EINVAL,
		    "sessnap_session_begin: flags 0x%x: no flag is given at "
		    "begin (SESSNAP_SESSION_KEEP is a flag of "
		    "sessnap_session_end())",
		    opts->flags);
	if (opts->version < 2)
		return 0;
	if (opts->key == NULL && opts->key_len > 0)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_begin: NULL key of "
				      "%zu bytes",
				      opts->key_len);
	if (opts->key_len > SESSNAP_KEY_MAX)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_begin: a key of %zu "
				      "bytes is longer than SESSNAP_KEY_MAX "
				      "(%d)",
				      opts->key_len, SESSNAP_KEY_MAX);
	return 0;
}

/*
 * The lock record (liveness.c): what a scan shows of this session until
 * its first save.  A failure (a full disk) does not fail the begin, which
 * needs no data block and worked before the record existed: the session
 * runs as before, listed as running without its key until it saves, and
 * the log callback hears why.
 */
static void write_lock_record(sessnap_session *s)
{
	sessnap__header h;

	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP__FORMAT_PLAIN;
	strlcpy(h.app, s->store->app, sizeof(h.app));
	strlcpy(h.id, s->id, sizeof(h.id));
	if (s->label != NULL)
		strlcpy(h.label, s->label, sizeof(h.label));
	memcpy(h.key, s->key, s->key_len);
	h.key_len = s->key_len;
	h.created_ms = s->created_ms;
	h.saved_ms = s->created_ms;
	h.owner = s->store->self;
	h.schema_version = s->store->opts.schema_version;
	sessnap__checksum(h.checksum, "", 0);
	if (sessnap__lock_record_write(s->store, s->lock_fd, &h) < 0)
		sessnap__log(s->store, SESSNAP_LOG_WARNING,
			     "%s: the session is listed without its key "
			     "until its first save",
			     sessnap_error_last());
}

int sessnap_session_begin(sessnap_session **out, sessnap_store *store,
			  const sessnap_session_options *opts)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[SESSNAP_ID_LEN / 2];
	char id[SESSNAP_ID_LEN + 1];
	sessnap_session *s;
	size_t i;
	int fd, rc, tries;
	bool has_key = opts != NULL && opts->version >= 2;

	if (out == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_begin: NULL argument");
	*out = NULL;
	if ((rc = check_options(opts)) < 0)
		return rc;
	if ((rc = sessnap__check_owner(store, NULL, SESSNAP__CHECK_WRITABLE,
				       "begin")) < 0)
		return rc;
	/*
	 * A fresh id's lock file is new, yet it can be busy: a cleaner that
	 * finds a lock file without a snapshot locks it for the instant it
	 * takes to see that (clean.c, clean_lock), and it may catch ours
	 * between flopenat's open and its flock.  That is no reason to fail
	 * a begin: take another id.
	 */
	for (tries = 0;; tries++) {
		arc4random_buf(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++) {
			id[2 * i] = hex[rnd[i] >> 4];
			id[2 * i + 1] = hex[rnd[i] & 15];
		}
		id[SESSNAP_ID_LEN] = '\0';
		rc = sessnap__lock_take(&fd, store, id);
		if (rc != SESSNAP_EBUSY || tries == BEGIN_TRIES - 1)
			break;
	}
	if (rc < 0)
		return rc;
	rc = sessnap__session_new(&s, store, id, fd, opts ? opts->label : NULL,
				  has_key ? opts->key : NULL,
				  has_key ? opts->key_len : 0);
	if (rc < 0) {
		char name[SESSNAP__NAME_MAX];

		sessnap__lock_name(name, id);
		SYS(unlinkat)(store->dfd, name, 0);
		SYS(close)(fd);
		return rc;
	}
	write_lock_record(s);
	*out = s;
	return 0;
}

static bool mark_pending(sessnap_session *s, int64_t now);

const char *sessnap_session_id(const sessnap_session *session)
{
	return session ? session->id : NULL;
}

int sessnap_session_set_label(sessnap_session *s, const char *label)
{
	char *copy = NULL;
	bool wake = false;

	if (s == NULL)
		return sessnap__error(SESSNAP_EINVAL, "session is NULL");
	if (label != NULL && (copy = label_dup(label)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	pthread_mutex_lock(&s->store->mu);
	free(s->label);
	s->label = copy;
	s->label_dirty = true;
	/*
	 * A new label is a change to save, like a new state (flush and the
	 * autosave must write it).  With no state pending, queue a save of
	 * the label alone: pending NULL, which rewrites the last snapshot's
	 * payload with the new header (relabel()).  Before the first save
	 * there is nothing to rewrite; the first state carries the label.
	 */
	/* `saving` first: while a save runs, it alone may write s->seq. */
	if (!s->has_pending && !s->ended && (s->saving || s->seq > 0)) {
		s->pending = NULL;
		s->pending_len = 0;
		s->pending_cap = 0;
		wake = mark_pending(s, sessnap__mono_ms());
	}
	pthread_mutex_unlock(&s->store->mu);
	if (wake)
		sessnap__writer_wake(s->store);
	return 0;
}

/*
 * Hand a buffer that a save no longer needs back to the session as its
 * spare (mu held), so the next update copies into memory that is already
 * allocated and mapped instead of calling malloc: for states above glibc's
 * mmap threshold every fresh buffer would cost an mmap, page faults and a
 * munmap on the app thread.  Returns what the caller must free after
 * dropping the mutex (NULL if the buffer was kept).
 */
char *sessnap__session_keep_spare(sessnap_session *s, char *buf, size_t cap)
{
	char *drop;

	if (buf == NULL)
		return NULL;
	if (s->spare == NULL || s->spare_cap < cap) {
		drop = s->spare;
		s->spare = buf;
		s->spare_cap = cap;
		return drop;
	}
	return buf;
}

/*
 * Mark the session as having a pending save, changed at monotonic time now
 * (store->mu held; s->pending already set).  Returns whether the writer
 * must be woken (sessnap__writer_wake() after the mutex is dropped).
 */
static bool mark_pending(sessnap_session *s, int64_t now)
{
	sessnap_store *store = s->store;
	int64_t due = -1;

	if (!s->has_pending || s->dirty_since_ms == 0 ||
	    now < s->dirty_since_ms) {
		s->dirty_since_ms = now;
		due = now + store->interval_ms;
		if (s->take_ms != 0 && s->take_ms + store->interval_ms > due)
			due = s->take_ms + store->interval_ms;
	}
	s->has_pending = true;
	s->gen_queued++;
	return due >= 0 && sessnap__writer_notify(store, due);
}

/*
 * Queue serialized bytes (ownership of buf, cap bytes allocated, passes to
 * the session).  The writer is woken only when this update makes the
 * session due earlier than the writer means to wake anyway: most updates
 * replace a pending state and cost no system call at all.
 */
static int queue_buf(sessnap_session *s, char *buf, size_t len, size_t cap)
{
	sessnap_store *store = s->store;
	int64_t touched, now = sessnap__mono_ms();
	bool wake;
	char *drop;

	/*
	 * A state handed over in pull mode has been unsaved since the first
	 * touch, not since now: the writer's deadline counts from there.
	 */
	touched = atomic_exchange(&s->touch_since_ms, (int64_t)0);
	if (touched != 0 && touched < now)
		now = touched;
	pthread_mutex_lock(&store->mu);
	drop = s->has_pending ? sessnap__session_keep_spare(s, s->pending,
							    s->pending_cap)
			      : NULL;
	s->pending = buf;
	s->pending_len = len;
	s->pending_cap = cap;
	wake = mark_pending(s, now);
	pthread_mutex_unlock(&store->mu);
	if (wake)
		sessnap__writer_wake(store);
	free(drop);
	return 0;
}

/*
 * Queue a copy of len bytes, in the session's spare buffer when it is
 * large enough: the end of sessnap_session_update() and of
 * sessnap_session_update_text() (text.c).
 */
int sessnap__session_queue_copy(sessnap_session *s, const char *data,
				size_t len)
{
	size_t cap;
	char *buf;

	pthread_mutex_lock(&s->store->mu);
	buf = s->spare;
	cap = s->spare_cap;
	s->spare = NULL;
	s->spare_cap = 0;
	pthread_mutex_unlock(&s->store->mu);
	if (buf == NULL || cap < len + 1) {
		free(buf);
		cap = len + 1;
		if ((buf = malloc(cap)) == NULL)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
	return queue_buf(s, buf, len, cap);
}

int sessnap_session_update(sessnap_session *s, const json_object *state)
{
	const char *str;
	size_t len;
	int rc, depth;

	if ((rc = check_live(s, "update")) < 0)
		return rc;
	/*
	 * Nothing accepted for saving may fail to load back: a state nested
	 * deeper than the loader's tokener accepts would be saved, then
	 * refused as corrupt by every load.  Checked before serializing: the
	 * walk stops at the limit, so a cyclic state is refused here rather
	 * than followed by the serializer without end.
	 */
	if (!sessnap__json_depth_ok(state, &depth))
		return sessnap__error(SESSNAP_ETOOBIG,
				      "state of session %s nests values more "
				      "than %d arrays or objects deep, the "
				      "loader's limit: it could not be loaded "
				      "back",
				      s->id, SESSNAP__JSON_DEPTH - 1);
	/*
	 * json-c caches the serialization inside the object, so this mutates
	 * `state` internally: it must happen on the app's thread.
	 */
	str = json_object_to_json_string_length((json_object *)state,
						SESSNAP__PAYLOAD_FLAGS, &len);
	if (str == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory serializing the state");
	/* The loader bounds the whole file, header line included. */
	if (len > sessnap__payload_max(s->store))
		return sessnap__error(SESSNAP_ETOOBIG,
				      "state of session %s is %zu bytes: with "
				      "its header line (up to %d bytes) that "
				      "is more than the store's read bound of "
				      "%zu: it could not be loaded back",
				      s->id, len, SESSNAP__HEADER_MAX,
				      s->store->read_bound);
	return sessnap__session_queue_copy(s, str, len);
}

/*
 * Write one snapshot.  When newline_follows is true, payload[len] already
 * holds the line's closing '\n' and the payload goes out in one write()
 * with it: a separate one-byte write after megabytes of payload was seen
 * to pay the kernel's dirty-page throttling a second time.
 */
/*
 * hash, when not NULL, is the XXH3-128 of the payload already computed for
 * the identical-state check: the checksum is the same function of the same
 * bytes, so a save reads its payload once, not twice.
 */
static int write_snapshot(sessnap_session *s, const char *payload, size_t len,
			  const XXH128_hash_t *hash, bool newline_follows,
			  bool completed)
{
	sessnap_store *store = s->store;
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	sessnap__header h;
	sessnap__buf bufs[3];
	char *hbuf = NULL;
	size_t hlen = 0;
	bool committed = false;
	int rc;

	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP__FORMAT_PLAIN;
	strlcpy(h.app, store->app, sizeof(h.app));
	strlcpy(h.id, s->id, sizeof(h.id));
	pthread_mutex_lock(&store->mu);
	if (s->label != NULL)
		strlcpy(h.label, s->label, sizeof(h.label));
	pthread_mutex_unlock(&store->mu);
	memcpy(h.key, s->key, s->key_len);
	h.key_len = s->key_len;
	h.seq = s->seq + 1;
	h.created_ms = s->created_ms;
	h.saved_ms = sessnap__now_ms();
	h.completed = completed;
	h.adoptions = s->adoptions;
	h.owner = store->self;
	h.schema_version = store->opts.schema_version;
	h.length = len;
	if (hash != NULL)
		sessnap__checksum_of_hash(h.checksum, *hash);
	else
		sessnap__checksum(h.checksum, payload, len);
	/* The delta layout: an append, or a compaction (deltafile.c). */
	if (store->opts.flags & SESSNAP_STORE_DELTA) {
		rc = sessnap__delta_save(&s->delta, store, &h, payload, len,
					 &committed);
		if (committed)
			s->seq = h.seq;
		if (rc < 0)
			sessnap__log(store,
				     committed ? SESSNAP_LOG_WARNING :
						 SESSNAP_LOG_ERROR,
				     "%s", sessnap_error_last());
		return rc;
	}
	if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
		return rc;

	bufs[0].base = hbuf;
	bufs[0].len = hlen;
	bufs[1].base = payload;
	bufs[1].len = newline_follows ? len + 1 : len;
	bufs[2].base = "\n";
	bufs[2].len = 1;
	sessnap__snap_name(snap, s->id);
	sessnap__prev_name(prev, s->id);
	rc = sessnap__atomic_replace(store, snap, prev, bufs,
				     newline_follows ? 2 : 3,
				     store->durability, &committed);
	/*
	 * Out of space while the store's closer still holds files that
	 * earlier saves unlinked (closer.c): close them here, which frees
	 * their space, and try once more.  The failed attempt left nothing
	 * behind.
	 */
	if (rc == SESSNAP_ENOSPC && !committed && sessnap__closer_drain(store))
		rc = sessnap__atomic_replace(store, snap, prev, bufs,
					     newline_follows ? 2 : 3,
					     store->durability, &committed);
	free(hbuf);
	if (committed)
		s->seq = h.seq;
	if (rc < 0)
		sessnap__log(
		    store, committed ? SESSNAP_LOG_WARNING : SESSNAP_LOG_ERROR,
		    "%s", sessnap_error_last());
	return rc;
}

int sessnap__session_write(sessnap_session *s, const char *payload,
			   size_t len, bool completed)
{
	return write_snapshot(s, payload, len, NULL, false, completed);
}

void sessnap__session_take(sessnap__save_job *job, sessnap_session *s)
{
	job->buf = s->pending;
	job->len = s->pending_len;
	job->cap = s->pending_cap;
	job->gen = s->gen_queued;
	job->label_dirty = s->label_dirty;
	job->skipped = false;
	job->dirty_since_ms = s->dirty_since_ms;
	s->pending = NULL;
	s->has_pending = false;
	s->label_dirty = false;
	s->saving = true;
	s->take_ms = sessnap__mono_ms();
}

/*
 * A save of the label alone (a job without bytes, queued by set_label()):
 * the last snapshot's payload, reread and verified, written again under a
 * header with the current label.  The payload is the last committed state,
 * so what is saved is that state, relabelled.
 */
static int relabel(sessnap__save_job *job, sessnap_session *s)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap__header h;
	size_t len = 0, off = 0;
	char *buf = NULL;
	int rc;

	sessnap__snap_name(name, s->id);
	if (s->seq == 0)
		return sessnap__error(SESSNAP_ENOSTATE,
				      "saving the label of session %s: it has "
				      "no saved state yet",
				      s->id);
	rc = sessnap__snapshot_read_raw(&buf, &len, &h, &off, s->store, name);
	if (rc < 0)
		return sessnap__error_prefix(rc,
					     "saving the label of session %s: "
					     "cannot reread %s",
					     s->id,
					     sessnap__path(path, sizeof(path),
							   s->store, name));
	job->hash = XXH3_128bits(buf + off, (size_t)h.length);
	rc = write_snapshot(s, buf + off, (size_t)h.length, &job->hash,
			    off + h.length < len && buf[off + h.length] == '\n',
			    false);
	free(buf);
	return rc;
}

int sessnap__session_write_job(sessnap__save_job *job, sessnap_session *s)
{
	int rc;

	if (job->buf == NULL)
		return relabel(job, s);

	/*
	 * The content hash is computed here, on the saving thread, not in
	 * update(): at megabytes of state it is a noticeable share of the
	 * app thread's cost, and only one state per interval is saved.
	 */
	job->hash = XXH3_128bits(job->buf, job->len);
	/* The same bytes as the last durable snapshot: nothing to write. */
	if (s->has_durable && !job->label_dirty &&
	    XXH128_isEqual(job->hash, s->durable_hash)) {
		job->skipped = true;
		return 0;
	}
	if (job->cap > job->len) {
		/* the buffer's spare byte (a NUL) becomes the newline */
		job->buf[job->len] = '\n';
		rc = write_snapshot(s, job->buf, job->len, &job->hash, true,
				    false);
		job->buf[job->len] = '\0';
		return rc;
	}
	return write_snapshot(s, job->buf, job->len, &job->hash, false,
			      false);
}

void sessnap__session_finish(sessnap__save_job *job, sessnap_session *s,
			     int rc)
{
	s->saving = false;
	s->last_error = rc;
	if (rc < 0)
		strlcpy(s->err_msg, sessnap_error_last(), sizeof(s->err_msg));
	else
		s->err_msg[0] = '\0';
	s->seq_durable = s->seq;
	if (rc == 0 || rc == SESSNAP_EDURABILITY) {
		if (job->skipped)
			s->skips++;
		else
			s->saves++;
		s->failures = 0;
		s->retry_at_ms = 0;
		if (job->gen > s->gen_durable)
			s->gen_durable = job->gen;
		s->durable_hash = job->hash;
		s->has_durable = true;
		if (!job->skipped || s->durable_wall_ms == 0)
			s->durable_wall_ms = sessnap__now_ms();
		if (!s->has_pending)
			s->dirty_since_ms = 0;
		job->buf = sessnap__session_keep_spare(s, job->buf, job->cap);
	} else {
		s->failures++;
		if (!s->has_pending ||
		    (s->pending == NULL && job->buf != NULL)) {
			/*
			 * Keep the newest state: the next attempt retries it.
			 * A label-only save queued meanwhile would rewrite
			 * the older state on disk: this one replaces it.
			 */
			s->pending = job->buf;
			s->pending_len = job->len;
			s->pending_cap = job->cap;
			s->has_pending = true;
			job->buf = NULL;
		} else {
			job->buf = sessnap__session_keep_spare(s, job->buf,
							       job->cap);
		}
		/* Still unsaved since the first update of the failed job. */
		if (job->dirty_since_ms != 0 &&
		    (s->dirty_since_ms == 0 ||
		     job->dirty_since_ms < s->dirty_since_ms))
			s->dirty_since_ms = job->dirty_since_ms;
		s->label_dirty = s->label_dirty || job->label_dirty;
	}
	pthread_cond_broadcast(&s->store->cond);
}

int sessnap_session_flush(sessnap_session *s)
{
	int rc;

	if ((rc = check_live(s, "flush")) < 0)
		return rc;
	return sessnap__writer_flush(s);
}

void sessnap_session_release(sessnap_session *s)
{
	sessnap_store *store;
	sessnap_session **pp;

	if (s == NULL)
		return;
	store = s->store;
	pthread_mutex_lock(&store->mu);
	while (s->saving && s->pid == getpid())
		pthread_cond_wait(&store->cond, &store->mu);
	s->ended = true;
	for (pp = &store->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&store->mu);
	/*
	 * Closing our descriptor releases the lock; in a forked child the
	 * parent's descriptor keeps it, as it should.
	 */
	if (s->lock_fd >= 0)
		SYS(close)(s->lock_fd);
	sessnap__delta_free(s->delta);
	free(s->pending);
	free(s->spare);
	free(s->label);
	free(s);
}

/* Rewrite the last snapshot with completed=true (SESSNAP_SESSION_KEEP). */
static int mark_completed(sessnap_session *s)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap__header h;
	size_t len = 0, off = 0;
	char *buf = NULL;
	int rc;

	sessnap__snap_name(name, s->id);
	rc = sessnap__snapshot_read_raw(&buf, &len, &h, &off, s->store, name);
	if (rc < 0)
		return sessnap__error_prefix(
		    rc, "ending session %s: cannot reread %s", s->id,
		    sessnap__path(path, sizeof(path), s->store, name));
	rc = sessnap__session_write(s, buf + off, (size_t)h.length, true);
	free(buf);
	return rc;
}

/*
 * An end that removes the session: whatever is pending would be written
 * only to be unlinked a moment later (with a large state that is most of
 * the time an app takes to quit), so it is dropped instead, and a touched
 * pull-mode session is not collected.  A save already under way (the
 * writer's) is waited for: its rename must not bring the snapshot back
 * after the unlinks.  Marking the session ended under the same hold of the
 * mutex keeps the writer from starting another.
 */
static void drop_pending(sessnap_session *s)
{
	sessnap_store *store = s->store;
	char *drop;

	atomic_store(&s->touch_since_ms, (int64_t)0);
	pthread_mutex_lock(&store->mu);
	while (s->saving)
		pthread_cond_wait(&store->cond, &store->mu);
	s->ended = true;
	drop = s->has_pending ? s->pending : NULL;
	s->pending = NULL;
	s->has_pending = false;
	s->label_dirty = false;
	pthread_mutex_unlock(&store->mu);
	free(drop);
}

int sessnap_session_end(sessnap_session *s, unsigned int flags)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX],
	    lock[SESSNAP__NAME_MAX], older[SESSNAP__NAME_MAX];
	sessnap_store *store;
	unsigned int n;
	bool keep;
	int rc;

	if (s == NULL)
		return 0;
	if ((rc = check_live(s, "end")) < 0) {
		sessnap_session_release(s);
		return rc;
	}
	store = s->store;
	keep = (flags & SESSNAP_SESSION_KEEP) != 0;
	if (keep) {
		rc = sessnap__writer_flush(s);
		if (rc < 0 && rc != SESSNAP_EDURABILITY)
			goto out;
	} else {
		drop_pending(s);
	}
	sessnap__snap_name(snap, s->id);
	sessnap__prev_name(prev, s->id);
	sessnap__lock_name(lock, s->id);
	if (keep && s->seq > 0) {
		if ((rc = mark_completed(s)) < 0 && rc != SESSNAP_EDURABILITY)
			goto out;
	} else {
		/*
		 * No point making a "completed" mark durable only to delete
		 * the file: remove the older generation first, so that a crash
		 * half-way leaves at worst a complete snapshot that looks
		 * crashed - offered again, never lost.  Every older
		 * generation name goes, whatever this store keeps: the
		 * session may have been written by a store that kept more.
		 */
		for (n = SESSNAP__GEN_LAST; n >= 2; n--) {
			sessnap__gen_name(older, s->id, n);
			if ((rc = sessnap__name_unlink(store, older)) < 0)
				goto out;
		}
		if ((rc = sessnap__name_unlink(store, prev)) < 0 ||
		    (rc = sessnap__name_unlink(store, snap)) < 0)
			goto out;
	}
	/* The lock file goes last, while we still hold the lock. */
	rc = sessnap__name_unlink(store, lock);
out:
	sessnap_session_release(s);
	return rc;
}
