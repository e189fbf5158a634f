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
 * its first save, and on a store with leases the lease that the writer
 * renews (lease.c).  A failure (a full disk) does not fail the begin,
 * which needs no data block and worked before the record existed: the
 * session runs as before, listed as running without its key until it
 * saves, and the log callback hears why.  A lease whose first write
 * failed is written whole again at its first renewal.
 */
int sessnap__session_record(sessnap_session *s, bool truncate)
{
	sessnap_store *store = s->store;
	sessnap__header h, *lease = NULL;
	char why[512];
	int rc;

	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP__FORMAT_PLAIN;
	strlcpy(h.app, store->app, sizeof(h.app));
	strlcpy(h.id, s->id, sizeof(h.id));
	if (s->label != NULL)
		strlcpy(h.label, s->label, sizeof(h.label));
	memcpy(h.key, s->key, s->key_len);
	h.key_len = s->key_len;
	h.created_ms = s->created_ms;
	h.saved_ms = s->created_ms;
	h.owner = store->self;
	h.schema_version = store->opts.schema_version;
	h.lease_ms = store->lease_ms;
	sessnap__checksum(h.checksum, "", 0);
	if (h.lease_ms > 0 && (lease = malloc(sizeof(*lease))) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	rc = sessnap__lock_record_write(store, s->lock_fd, &h, truncate);
	why[0] = '\0';
	if (rc < 0) {
		/* Kept before the log callback, which may call us again. */
		strlcpy(why, sessnap_error_last(), sizeof(why));
		sessnap__log(store, SESSNAP_LOG_WARNING,
			     "%s: the session is listed without its key "
			     "until its first save%s",
			     why,
			     lease ? "; its lease is written again at its "
				     "next renewal" :
				     "");
	}
	if (lease != NULL) {
		*lease = h;
		pthread_mutex_lock(&store->mu);
		free(s->lease);
		s->lease = lease;
		s->lease_due_ms = sessnap__mono_ms() + store->lease_ms;
		/* What sessnap_session_status() reports of the lease. */
		s->lease_error = rc < 0 ? rc : 0;
		s->lease_failures = rc < 0 ? 1 : 0;
		strlcpy(s->lease_msg, why, sizeof(s->lease_msg));
		s->lease_ok_ms = rc < 0 ? 0 : sessnap__mono_ms();
		pthread_mutex_unlock(&store->mu);
		sessnap__writer_lease_added(store, s->lease_due_ms);
	}
	return rc;
}

int sessnap_session_begin(sessnap_session **out, sessnap_store *store,
			  const sessnap_session_options *opts)
{
	char id[SESSNAP_ID_LEN + 1];
	char lock[SESSNAP__NAME_MAX];
	sessnap_session *s;
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
		sessnap__id_new(id);
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
	if (sessnap__session_record(s, false) == SESSNAP_ENOMEM) {
		rc = SESSNAP_ENOMEM;
		sessnap__lock_name(lock, id);
		SYS(unlinkat)(store->dfd, lock, 0);
		sessnap_session_release(s);
		return rc;
	}
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
static int queue_buf(sessnap_session *s, char *buf, size_t len, size_t cap,
		     bool unique)
{
	sessnap_store *store = s->store;
	int64_t touched, now = sessnap__mono_ms();
	sessnap__patch_batch *patches;
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
	s->pending_unique = unique;
	/* A full state replaces the patches queued before it, and ends a
	 * failed patch's refusal (patch.c). */
	patches = s->patch_head;
	s->patch_head = s->patch_tail = NULL;
	s->has_state = true;
	s->patch_broken = false;
	s->full_gen++;
	wake = mark_pending(s, now);
	pthread_mutex_unlock(&store->mu);
	if (wake)
		sessnap__writer_wake(store);
	free(drop);
	sessnap__patch_list_free(patches);
	return 0;
}

/* The refusal of a patch on a session that has no state yet. */
static int no_state(const sessnap_session *s)
{
	return sessnap__error(SESSNAP_ESTATE,
			      "session %s has no state to patch yet: hand one "
			      "over with sessnap_session_update() first; "
			      "nothing was queued",
			      s->id);
}

/*
 * Queue a batch of patches after whatever is queued (ownership of b
 * passes to the session), as queue_buf() queues a state: the same
 * deadline and the same wake-up rule.
 */
static int queue_patch(sessnap_session *s, sessnap__patch_batch *b)
{
	sessnap_store *store = s->store;
	int64_t touched, now = sessnap__mono_ms();
	bool wake;

	pthread_mutex_lock(&store->mu);
	if (!s->has_state || s->patch_broken) {
		bool broken = s->has_state;

		pthread_mutex_unlock(&store->mu);
		free(b);
		if (broken)
			return sessnap__error(
			    SESSNAP_EPATCH,
			    "session %s: an earlier patch did not apply (see "
			    "sessnap_session_status()): patches are refused "
			    "until the next full update; nothing was queued",
			    s->id);
		return no_state(s);
	}
	touched = atomic_exchange(&s->touch_since_ms, (int64_t)0);
	if (touched != 0 && touched < now)
		now = touched;
	if (s->patch_tail != NULL)
		s->patch_tail->next = b;
	else
		s->patch_head = b;
	s->patch_tail = b;
	s->patch_mode = true;
	wake = mark_pending(s, now);
	pthread_mutex_unlock(&store->mu);
	if (wake)
		sessnap__writer_wake(store);
	return 0;
}

static int patch_common(sessnap_session *s, const sessnap_patch_op *ops,
			const sessnap_patch_text_op *tops, size_t n_ops,
			const char *what)
{
	sessnap__patch_batch *b;
	bool has_state;
	int rc;

	if (s == NULL || (ops == NULL && tops == NULL))
		return sessnap__error(
		    SESSNAP_EINVAL, "sessnap_session_%s: NULL argument", what);
	if ((rc = check_live(s, what)) < 0)
		return rc;
	if (n_ops == 0)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_%s: no operation "
				      "(n_ops is 0)",
				      what);
	pthread_mutex_lock(&s->store->mu);
	has_state = s->has_state;
	pthread_mutex_unlock(&s->store->mu);
	if (!has_state)
		return no_state(s);
	rc = sessnap__patch_batch_new(&b, ops, tops, n_ops,
				      sessnap__payload_max(s->store));
	if (rc < 0)
		return sessnap__error(rc,
				      "patch of session %s: %s; nothing was "
				      "queued",
				      s->id, sessnap_error_last());
	return queue_patch(s, b);
}

int sessnap_session_patch(sessnap_session *s, const sessnap_patch_op *ops,
			  size_t n_ops)
{
	return patch_common(s, ops, NULL, n_ops, "patch");
}

int sessnap_session_patch_text(sessnap_session *s,
			       const sessnap_patch_text_op *ops, size_t n_ops)
{
	return patch_common(s, NULL, ops, n_ops, "patch_text");
}

/*
 * Queue a copy of len bytes, in the session's spare buffer when it is
 * large enough: the end of sessnap_session_update() and of
 * sessnap_session_update_text() (text.c).
 */
static int queue_copy(sessnap_session *s, const char *data, size_t len,
		      bool unique)
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
	return queue_buf(s, buf, len, cap, unique);
}

int sessnap__session_queue_copy(sessnap_session *s, const char *data,
				size_t len)
{
	/* a text: it may name a member twice */
	return queue_copy(s, data, len, false);
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
	return queue_copy(s, str, len, true);
}

/*
 * Write one snapshot.  When newline_follows is true, payload[len] already
 * holds the line's closing '\n' and the payload goes out in one write()
 * with it: a separate one-byte write after megabytes of payload was seen
 * to pay the kernel's dirty-page throttling a second time.
 */
/*
 * The fence (claim.c): a session that another host took over never
 * commits again.  Checked before every commit, by whoever holds `saving`
 * (or ends the session); any other path that commits bytes to a session's
 * files (an append of the delta layout) must call it too.  Remembered: the claim may go with the old
 * session's files later, the refusal stays.  See docs/design.md "Claims
 * and fencing" for why a commit that passed this check an instant before
 * the claim still cannot touch the adopter's files.
 */
int sessnap__session_fence(sessnap_session *s)
{
	int rc;

	if (s->fenced)
		return sessnap__error(SESSNAP_EFENCED, "%s", s->fence_msg);
	/*
	 * Only a session with a lease can be taken over (an adopter on
	 * another host needs it expired: lease.c), so a store without
	 * leases pays nothing here.
	 */
	if (s->store->lease_ms == 0)
		return 0;
	rc = sessnap__fence_check(s->store, s->id, s->adoptions);
	if (rc == SESSNAP_EFENCED) {
		s->fenced = true;
		strlcpy(s->fence_msg, sessnap_error_last(),
			sizeof(s->fence_msg));
		sessnap__log(s->store, SESSNAP_LOG_ERROR, "%s", s->fence_msg);
	}
	return rc;
}

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
	if ((rc = sessnap__session_fence(s)) < 0)
		return rc;
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
	job->unique = s->pending_unique;
	job->gen = s->gen_queued;
	job->label_dirty = s->label_dirty;
	job->skipped = false;
	job->dirty_since_ms = s->dirty_since_ms;
	job->patches = s->patch_head;
	job->drop = NULL;
	job->full_gen = s->full_gen;
	job->patch_rc = 0;
	job->patch_msg[0] = '\0';
	s->patch_head = s->patch_tail = NULL;
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

/*
 * The saving thread's copy of the state when the session is patched and
 * none is in memory: the last committed snapshot's payload, which is the
 * last full state (a patched one would be in memory).  It is checked as
 * update_text() checks a text, so the patch scan only ever sees RFC 8259
 * JSON; a payload json-c's lenient reader took but the scanner does not
 * (an old or hand-made file) is parsed and serialized again.
 */
static int copy_from_disk(sessnap_session *s, char **out, size_t *out_len,
			  size_t *out_cap, bool *unique)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap__header h;
	size_t len = 0, off = 0, plen;
	char *buf = NULL;
	json_object *obj = NULL;
	const char *str;
	int rc;

	sessnap__snap_name(name, s->id);
	rc = sessnap__snapshot_read_raw(&buf, &len, &h, &off, s->store, name);
	if (rc < 0)
		return sessnap__error_prefix(
		    rc,
		    "patching session %s: cannot "
		    "reread its state from %s",
		    s->id, sessnap__path(path, sizeof(path), s->store, name));
	plen = (size_t)h.length;
	memmove(buf, buf + off, plen);
	buf[plen] = '\0';
	*unique = false;
	if (sessnap__json_check(buf, plen) == 0) {
		*out = buf;
		*out_len = plen;
		*out_cap = len;
		return 0;
	}
	*unique = true; /* json-c's serialization, below */
	rc = sessnap__parse_payload(&obj, buf, plen);
	free(buf);
	if (rc < 0)
		return sessnap__error_prefix(
		    rc,
		    "patching session %s: its state "
		    "in %s does not parse",
		    s->id, sessnap__path(path, sizeof(path), s->store, name));
	str = json_object_to_json_string_length(obj, SESSNAP__PAYLOAD_FLAGS,
						&plen);
	if (str == NULL || (*out = malloc(plen + 1)) == NULL) {
		json_object_put(obj);
		return sessnap__error(
		    SESSNAP_ENOMEM, "out of memory patching session %s", s->id);
	}
	memcpy(*out, str, plen + 1);
	*out_len = plen;
	*out_cap = plen + 1;
	json_object_put(obj);
	return 0;
}

/*
 * Apply one batch to the text, all or none: a batch of one operation in
 * place (an operation that fails changes nothing), a longer one on a
 * scratch copy that replaces the text only when every operation applied.
 * Returns 0, or the failing operation's error with *failed its index.
 */
static int apply_batch(char **text, size_t *len, size_t *cap,
		       const sessnap__patch_batch *b, size_t max, bool unique,
		       size_t *failed)
{
	char *w = *text;
	size_t wlen = *len, wcap = *cap, i;
	int rc;

	*failed = 0;
	if (b->n_ops > 1) {
		if ((w = malloc(wlen + 1)) == NULL)
			return sessnap__error(SESSNAP_ENOMEM,
					      "out of memory patching the "
					      "state");
		memcpy(w, *text, wlen + 1);
		wcap = wlen + 1;
	}
	for (i = 0; i < b->n_ops; i++) {
		if ((rc = sessnap__patch_apply(&w, &wlen, &wcap, b, i, max,
					       unique && !b->text)) < 0) {
			*failed = i;
			if (b->n_ops > 1)
				free(w);
			return rc;
		}
	}
	if (b->n_ops > 1)
		free(*text);
	*text = w;
	*len = wlen;
	*cap = wcap;
	return 0;
}

/*
 * A save of a patched session: the base (the full state taken with the
 * job, else the copy in memory, else the snapshot on disk), the taken
 * batches applied in order, and the result, which becomes the copy,
 * written as any state is.  A batch that does not apply is dropped with
 * every later one (they were built on a state that will not exist): the
 * state before it is saved and job->patch_rc tells finish.  Batches not
 * yet applied when something else fails (reading the base, memory) stay
 * in the job, and finish puts them back in front of the queue.
 */
static int write_patched(sessnap__save_job *job, sessnap_session *s)
{
	size_t max = sessnap__payload_max(s->store), failed;
	sessnap__patch_batch *b;
	const char *path;
	bool unique;
	char *t;
	size_t len, cap;
	int rc;

	if (job->buf != NULL) {
		free(s->copy);
		t = job->buf;
		len = job->len;
		cap = job->cap;
		unique = job->unique;
		job->buf = NULL;
	} else if (s->copy != NULL) {
		t = s->copy;
		len = s->copy_len;
		cap = s->copy_cap;
		unique = s->copy_unique;
	} else if ((rc = copy_from_disk(s, &t, &len, &cap, &unique)) < 0) {
		return rc;
	}
	s->copy = NULL;
	rc = 0;
	while ((b = job->patches) != NULL) {
		rc = apply_batch(&t, &len, &cap, b, max, unique, &failed);
		if (rc == SESSNAP_EPATCH) {
			path = (const char *)b + b->ops[failed].path_off;
			job->patch_rc = rc;
			snprintf(job->patch_msg, sizeof(job->patch_msg),
				 "session %s: patch operation %zu (%s "
				 "\"%.120s%s\") did not apply: %s; nothing of "
				 "its batch was saved, and later patches are "
				 "dropped until the next full update",
				 s->id, failed,
				 sessnap__patch_kind_name(b->ops[failed].op),
				 path,
				 b->ops[failed].path_len > 120 ? "..." : "",
				 sessnap_error_last());
			sessnap__patch_list_free(b);
			job->patches = NULL;
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		/* a value given as text may name a member twice */
		unique = unique && !b->text;
		job->patches = b->next;
		free(b);
	}
	s->copy = t;
	s->copy_len = len;
	s->copy_cap = cap;
	s->copy_unique = unique;
	s->copy_dirty = true;
	if (rc < 0)
		return rc;

	job->hash = XXH3_128bits(t, len);
	if (s->has_durable && !job->label_dirty &&
	    XXH128_isEqual(job->hash, s->durable_hash)) {
		job->skipped = true;
		s->copy_dirty = false;
		return 0;
	}
	/* the buffer's spare byte (a NUL) becomes the newline */
	t[len] = '\n';
	rc = write_snapshot(s, t, len, &job->hash, true, false);
	t[len] = '\0';
	if (rc == 0 || rc == SESSNAP_EDURABILITY)
		s->copy_dirty = false;
	return rc;
}

int sessnap__session_write_job(sessnap__save_job *job, sessnap_session *s)
{
	int rc;

	if (job->patches != NULL || (job->buf == NULL && s->copy_dirty))
		return write_patched(job, s);
	if (job->buf == NULL)
		return relabel(job, s);
	/* A full state: the copy of an older one is no use any more. */
	free(s->copy);
	s->copy = NULL;
	s->copy_dirty = false;

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

/*
 * The patches' part of finish (mu held).  Batches the job could not apply
 * go back in front of the queue, unless a full update came since the take
 * (it replaced them); a batch that did not apply makes the session refuse
 * patches until the next full update, and drops those queued meanwhile,
 * unless that update already came.  Its error is the session's last one
 * when the save itself went well.
 */
static void finish_patches(sessnap__save_job *job, sessnap_session *s, int rc)
{
	sessnap__patch_batch *last;
	bool current = s->full_gen == job->full_gen;

	if (job->patches != NULL) {
		if (current) {
			for (last = job->patches; last->next != NULL;
			     last = last->next)
				;
			last->next = s->patch_head;
			if (s->patch_head == NULL)
				s->patch_tail = last;
			s->patch_head = job->patches;
			job->patches = NULL;
			s->has_pending = true;
		} /* else sessnap__save_job_free() frees them */
	}
	if (job->patch_rc < 0) {
		if (current) {
			s->patch_broken = true;
			job->drop = s->patch_head;
			s->patch_head = s->patch_tail = NULL;
		}
		if (rc == 0 || rc == SESSNAP_EDURABILITY) {
			s->last_error = job->patch_rc;
			strlcpy(s->err_msg, job->patch_msg, sizeof(s->err_msg));
		}
	}
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
		if (s->patch_mode && job->buf != NULL && s->copy == NULL) {
			/* A patched session's next patch starts from it. */
			s->copy = job->buf;
			s->copy_len = job->len;
			s->copy_cap = job->cap;
			s->copy_unique = job->unique;
			job->buf = NULL;
		}
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
			s->pending_unique = job->unique;
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
	finish_patches(job, s, rc);
	pthread_cond_broadcast(&s->store->cond);
}

void sessnap__save_job_free(sessnap__save_job *job)
{
	free(job->buf);
	job->buf = NULL;
	sessnap__patch_list_free(job->patches);
	job->patches = NULL;
	sessnap__patch_list_free(job->drop);
	job->drop = NULL;
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
	while ((s->saving || s->renewing) && s->pid == getpid())
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
	free(s->copy);
	sessnap__patch_list_free(s->patch_head);
	free(s->label);
	free(s->lease);
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
	sessnap__patch_batch *patches;
	char *drop;

	atomic_store(&s->touch_since_ms, (int64_t)0);
	pthread_mutex_lock(&store->mu);
	while (s->saving)
		pthread_cond_wait(&store->cond, &store->mu);
	s->ended = true;
	drop = s->has_pending ? s->pending : NULL;
	patches = s->patch_head;
	s->patch_head = s->patch_tail = NULL;
	s->pending = NULL;
	s->has_pending = false;
	s->label_dirty = false;
	pthread_mutex_unlock(&store->mu);
	free(drop);
	sessnap__patch_list_free(patches);
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
	/*
	 * Taken over by another host: its files are no longer this
	 * process's to mark or remove (the adopter's are under another id
	 * anyway); they go with their claim, by the cleaner.
	 */
	if ((rc = sessnap__session_fence(s)) < 0)
		goto out;
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
