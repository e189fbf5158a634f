/*
 * adopt.c - continue a crashed session: sessnap_session_adopt()
 *
 * After a crash the scanner (scan.c) finds sessions whose owner is gone;
 * the prompt (prompt.c) or the app picks one, and adoption continues it:
 * take the lock, load the state, write the adoption down, hand the session
 * and its state to the caller.
 *
 * Adoption takes the session's flock first, so of two processes racing to
 * adopt the same session exactly one wins and the other gets
 * SESSNAP_EBUSY.  The winner then re-writes the recovered snapshot
 * unchanged except for its header: one more in the sequence, one more
 * adoption, the new owner.  That write goes through the atomic replace, so
 * the recovered generation is kept as <id>.snap.prev and nothing is lost
 * if the adopter crashes at once; and because the adoption counter is on
 * disk before the app touches the state, a state that crashes the app
 * every time it is restored shows up at the next prompt as "crashed again
 * after it was restored" (Firefox's max_resumed_crashes exists for the
 * same reason).  The payload bytes are written back exactly as read, with
 * their own schema version, so a migration is redone from the original at
 * every load until the app saves a state of its own.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "internal.h"
#include "owner.h"

/* Fresh ids tried for a successor whose lock a cleaner holds (begin's). */
#define SUCCESSOR_TRIES 8

/*
 * A commit whose directory flush failed (SESSNAP_EDURABILITY) is on disk
 * and visible: the adoption goes on, with the warning logged.  Any other
 * code is returned as it is.
 */
static int durable_enough(sessnap_store *store, int rc)
{
	if (rc != SESSNAP_EDURABILITY)
		return rc;
	sessnap__log(store, SESSNAP_LOG_WARNING, "%s", sessnap_error_last());
	return 0;
}

/*
 * Write the recovered generation `gen` back as <id>.snap with the header
 * of the adopted session.  The raw bytes are read again (the lock is ours,
 * so nobody else writes them) and must carry the checksum of the state
 * that was loaded: a different file would mean we are not writing what
 * the app received.
 */
static int persist_adoption(sessnap_session *s, const sessnap__header *loaded,
			    const char *gen)
{
	sessnap_store *store = s->store;
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char path[PATH_MAX];
	sessnap__header raw_h, h;
	sessnap__buf bufs[2];
	size_t len = 0, off = 0, hlen = 0;
	char *raw = NULL, *hbuf = NULL;
	bool committed = false;
	int rc;

	rc = sessnap__snapshot_read_raw(&raw, &len, &raw_h, &off, store, gen);
	if (rc < 0) {
		rc = sessnap__error_prefix(
		    rc, "adopting session %s: cannot reread %s", s->id,
		    sessnap__path(path, sizeof(path), store, gen));
		goto on_error;
	}
	if (strcmp(raw_h.checksum, loaded->checksum) != 0) {
		rc = sessnap__error(
		    SESSNAP_ECORRUPT,
		    "adopting session %s: %s changed while "
		    "it was being loaded",
		    s->id, sessnap__path(path, sizeof(path), store, gen));
		goto on_error;
	}
	h = raw_h;
	/* The adopted session's own id: a cross-host adoption goes on under
	 * a new one (see adopt_across()). */
	strlcpy(h.id, s->id, sizeof(h.id));
	/* Written plain, whatever the layout read: the session's first
	 * save in a delta store compacts it into a delta file. */
	h.format_version = SESSNAP__FORMAT_PLAIN;
	h.layout = SESSNAP_LAYOUT_PLAIN;
	strlcpy(h.app, store->app, sizeof(h.app));
	/* Above every generation's seq (see sessnap_session_adopt()). */
	h.seq = (raw_h.seq > s->seq ? raw_h.seq : s->seq) + 1;
	h.saved_ms = sessnap__now_ms();
	h.completed = false;
	h.adoptions = s->adoptions;
	h.owner = store->self;
	if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
		goto on_error;
	/* The payload and its newline, exactly as they were. */
	bufs[0].base = hbuf;
	bufs[0].len = hlen;
	bufs[1].base = raw + off;
	bufs[1].len = len - off;
	sessnap__snap_name(snap, s->id);
	sessnap__prev_name(prev, s->id);
	rc = sessnap__atomic_replace(store, snap, prev, bufs, 2,
				     store->durability, &committed);
	if (committed)
		s->seq = h.seq;
	if ((rc = durable_enough(store, rc)) < 0)
		goto on_error;
	free(hbuf);
	free(raw);
	return 0;

on_error:
	free(hbuf);
	free(raw);
	return rc;
}

/* The refusals that need no file: a bad id, a store that cannot adopt. */
static int check_args(sessnap_store *store, const char *id)
{
	int rc;

	if ((rc = sessnap__id_check(id)) < 0)
		return rc;
	return sessnap__check_owner(store, NULL, SESSNAP__CHECK_WRITABLE,
				    "adopt");
}

/*
 * Take the session's lock under the shared gate: a cleaner cannot judge
 * the session lock-free while its lock file is being created (see
 * liveness.c).
 */
static int lock_session(int *fd, sessnap_store *store, const char *id)
{
	int gate, rc;

	if ((rc = sessnap__gate_open(&gate, store)) < 0)
		return rc;
	if ((rc = sessnap__gate_lock(gate, store, LOCK_SH)) == 0)
		rc = sessnap__lock_take(fd, store, id);
	SYS(close)(gate);
	return rc;
}

/*
 * A session another host took over (claim.c) is not adopted again, on any
 * host, however its files look: its state goes on in the claim's
 * successor.
 */
static int check_unclaimed(sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap__claim c;
	int rc;

	if ((rc = sessnap__claim_read(&c, store, id)) == 0)
		return 0;
	sessnap__claim_name(name, id);
	sessnap__path(path, sizeof(path), store, name);
	if (rc > 0)
		return sessnap__error(
		    SESSNAP_EFENCED,
		    "session %s was taken over by host \"%s\" (pid %lld) as "
		    "session %s, as %s records: adopt that one",
		    id, c.owner.host, (long long)c.owner.pid, c.successor,
		    path);
	return sessnap__error_prefix(
	    rc == SESSNAP_ECORRUPT ? SESSNAP_EFENCED : rc,
	    "session %s cannot be adopted", id);
}

/*
 * Load the session's state under its lock.  A session that does not
 * exist loses the lock file we created for it (only if still absent: we
 * hold the lock, nobody writes), so a mistyped id leaves no stray file
 * behind.  One last written on another host is refused while its lease is
 * fresh (SESSNAP_EBUSY) or when it has none (SESSNAP_EFOREIGN), and
 * adopted once its lease expired; *leased says whether the lock file
 * held a lease, which the adopter must then replace with its own.
 */
static int load_locked(json_object **state, sessnap_load_info *info,
		       sessnap__header *h, bool *leased, bool *across,
		       sessnap_store *store, const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	sessnap__lease l;
	int64_t clock = -1;
	int rc, v;

	*leased = false;
	*across = false;
	if ((rc = check_unclaimed(store, id)) < 0)
		return rc;
	if ((rc = sessnap__session_regular(store, id, "adopt")) < 0)
		return rc;
	rc = sessnap__load(state, info, h, store, id);
	if (rc == SESSNAP_ENOTFOUND) {
		sessnap__snap_name(snap, id);
		sessnap__prev_name(prev, id);
		sessnap__lock_name(lock, id);
		if (sessnap__name_absent(store, snap) &&
		    sessnap__name_absent(store, prev))
			SYS(unlinkat)(store->dfd, lock, 0);
		return rc;
	}
	if (rc < 0)
		return rc;
	/*
	 * Reopening a session another host ended cleanly: nobody writes it,
	 * yet several hosts may reopen it at once, and their locks do not
	 * exclude each other; the claim does.
	 */
	if (h->completed) {
		*across = sessnap__lease_applies(store, &h->owner);
		return 0;
	}
	/* The one cross-host rule (lease.c), under our lock. */
	v = sessnap__lease_verdict(&l, store, id, &h->owner, &clock);
	if (v < 0)
		return v;
	*leased = l.period_ms > 0;
	if (v == SESSNAP_VERDICT_RUNNING)
		return sessnap__error(
		    SESSNAP_EBUSY,
		    "session %s is running on host \"%s\": its lease was "
		    "renewed %lld ms ago (it expires after %lld ms without "
		    "renewal)",
		    id, l.owner.host, (long long)l.age_ms,
		    (long long)sessnap__lease_expiry_ms(l.period_ms));
	if (v == SESSNAP_VERDICT_FOREIGN && l.period_ms > 0)
		return sessnap__error(
		    SESSNAP_EFOREIGN,
		    "session %s was written on host \"%s\", and the age of "
		    "its lease cannot be read here: %s",
		    id, h->owner.host, sessnap_error_last());
	if (v == SESSNAP_VERDICT_FOREIGN)
		return sessnap__error(
		    SESSNAP_EFOREIGN,
		    "session %s was written on host \"%s\", not on this "
		    "host (\"%s\"), which renews no lease on it: its owner "
		    "may still be running there, where this host cannot see "
		    "its lock; adopt it on \"%s\"",
		    id, h->owner.host, store->self.host, h->owner.host);
	/* Crashed by an expired lease: its owner may only be paused. */
	*across = *leased && sessnap__lease_applies(store, &h->owner);
	return 0;
}

/* The session's successor as a fresh id, and its lock (as begin does). */
static int successor_lock(int *fd, char id[SESSNAP_ID_LEN + 1],
			  sessnap_store *store)
{
	int rc, tries;

	for (tries = 0;; tries++) {
		sessnap__id_new(id);
		rc = lock_session(fd, store, id);
		if (rc != SESSNAP_EBUSY || tries == SUCCESSOR_TRIES - 1)
			return rc;
	}
}

/* Remove what adopt_across() wrote of a successor, lock file last. */
static void successor_remove(sessnap_session *s)
{
	char name[SESSNAP__NAME_MAX];

	sessnap__snap_name(name, s->id);
	SYS(unlinkat)(s->store->dfd, name, 0);
	sessnap__prev_name(name, s->id);
	SYS(unlinkat)(s->store->dfd, name, 0);
	sessnap__lock_name(name, s->id);
	SYS(unlinkat)(s->store->dfd, name, 0);
}

/*
 * Adopt session `id` of another host, whose lease expired (its owner is
 * gone, or only paused or cut off, and may wake and save again), or
 * which that host ended cleanly (other hosts may reopen it at once).  So the
 * session goes on under a NEW id (the successor), with the same key,
 * label, created time and sequence, and one more adoption:
 *
 *  1. the successor's id and its lock;
 *  2. its first snapshot: the recovered generation of `id`, written
 *     durably before anything else, so that from the claim on the state
 *     is always on disk under the successor's name;
 *  3. the claim of `id` naming the successor (claim.c): of all adopters,
 *     on whatever host, exactly one links it.  A loser removes what it
 *     wrote (nobody else knows its successor) and returns
 *     SESSNAP_EFENCED naming the winner.
 *
 * The successor's lock record and lease are written before its snapshot,
 * so whatever point the adopter dies at, other hosts judge the copy by
 * its lease like any session.
 *
 * The stale owner writes only names of `id`, which the adopter never
 * writes again, and its claim fences the owner's later saves.  A crash
 * between 2 and 3 leaves the successor as a crashed session of this host
 * beside the unclaimed original: the same state twice, offered twice,
 * nothing lost.  When the claim's outcome cannot be read back (*unsure),
 * the successor is kept for the same reason.
 */
static int adopt_across(sessnap_session **out, const sessnap__header *h,
			const sessnap_load_info *info, sessnap_store *store,
			const char *id)
{
	char succ[SESSNAP_ID_LEN + 1], gen[SESSNAP__NAME_MAX];
	sessnap_session *s = NULL;
	sessnap__claim c;
	bool unsure = false;
	int fd = -1, rc;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if ((rc = successor_lock(&fd, succ, store)) < 0)
		return rc;
	rc = sessnap__session_new(&s, store, succ, fd,
				  h->label[0] != '\0' ? h->label : NULL,
				  h->key, h->key_len);
	if (rc < 0) {
		char lock[SESSNAP__NAME_MAX];

		sessnap__lock_name(lock, succ);
		SYS(unlinkat)(store->dfd, lock, 0);
		SYS(close)(fd);
		return rc;
	}
	s->seq = h->seq;
	if (info->generation > 0)
		s->seq = sessnap__generations_max_seq(store, id, h->seq);
	s->created_ms = h->created_ms;
	/* Reopening a cleanly ended session is not a crash recovery. */
	s->adoptions = h->completed ? 0 : h->adoptions + 1;
	/*
	 * The successor's lock record and lease first: should we die before
	 * the claim, other hosts see it expire and may adopt the copy; after
	 * it, they see it running.  A failed write is retried by the next
	 * renewal (session.c); only no memory fails the adoption.
	 */
	if ((rc = sessnap__session_record(s, false)) == SESSNAP_ENOMEM)
		goto on_error;
	sessnap__gen_name(gen, id, info->generation);
	if ((rc = persist_adoption(s, h, gen)) < 0)
		goto on_error;

	strlcpy(c.id, id, sizeof(c.id));
	c.generation = (uint64_t)h->adoptions + 1;
	strlcpy(c.successor, succ, sizeof(c.successor));
	c.owner = store->self;
	c.claimed_ms = sessnap__now_ms();
	rc = sessnap__claim_take(store, &c, &unsure);
	if ((rc = durable_enough(store, rc)) < 0)
		goto on_error;
	*out = s;
	return 0;

on_error: {
	PROTECT_ERRNO;

	if (!unsure)
		successor_remove(s);
	else
		sessnap__log(store, SESSNAP_LOG_ERROR,
			     "adopting session %s: session %s, its copy, is "
			     "kept and offered as crashed: %s",
			     id, succ, sessnap_error_last());
	sessnap_session_release(s);
}
	return rc;
}

/*
 * Adoption on this host: the session takes over the lock descriptor
 * (*fd becomes -1), goes on above every generation's seq, and its
 * adoption is written.  On failure *sp may hold the session, for the
 * caller to release.
 */
static int adopt_here(sessnap_session **sp, int *fd, const sessnap__header *h,
		      const sessnap_load_info *info, bool leased,
		      sessnap_store *store, const char *id)
{
	char gen[SESSNAP__NAME_MAX];
	sessnap_session *s;
	int rc;

	rc = sessnap__session_new(sp, store, id, *fd,
				  h->label[0] != '\0' ? h->label : NULL,
				  h->key, h->key_len);
	if (rc < 0)
		return rc;
	*fd = -1; /* the session owns the lock now */
	s = *sp;
	s->seq = h->seq;
	/*
	 * Recovered from an older generation: the newer ones that were
	 * refused stay on disk (rotated one up by the adoption's write) and
	 * carry higher seqs.  The session goes on above all of them, so that
	 * the loader's order by seq (load.c) never puts a refused state
	 * before the adopter's own saves.
	 */
	if (info->generation > 0)
		s->seq = sessnap__generations_max_seq(store, id, h->seq);
	s->created_ms = h->created_ms;
	/* Reopening a cleanly ended session is not a crash recovery. */
	s->adoptions = h->completed ? 0 : h->adoptions + 1;
	sessnap__gen_name(gen, id, info->generation);
	/*
	 * The lock file still holds the crashed owner's record.  On a store
	 * with leases it becomes ours, renewed from now on; and a dead
	 * host's expired lease never stays beside a living adopter's
	 * snapshot, where a third host would read it as crashed.  So it is
	 * replaced before the adoption is written: in between, a third host
	 * sees the old snapshot with our fresh lease (running).  Otherwise
	 * it stays, as before: the snapshot describes the session.  A
	 * failure is logged and, with a lease, written whole at the next
	 * renewal.
	 */
	if (store->lease_ms > 0 || leased)
		sessnap__session_record(s, true);
	return persist_adoption(s, h, gen);
}

/*
 * Failure handling: until the adoption is written, nothing on disk has
 * changed, so every failure just releases the lock.  The lock file is
 * removed only when we created it for a session that does not exist (see
 * load_locked()).
 */
int sessnap_session_adopt(sessnap_session **out, json_object **state_out,
			  sessnap_load_info **info_out, sessnap_store *store,
			  const char *id)
{
	sessnap_load_info info, *rec = NULL;
	sessnap__header h;
	sessnap_session *s = NULL;
	json_object *state = NULL;
	bool leased = false, across = false;
	int fd = -1, rc;

	if (info_out != NULL)
		*info_out = NULL;
	if (out == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_adopt: NULL argument");
	*out = NULL;
	if (state_out != NULL)
		*state_out = NULL;
	if ((rc = check_args(store, id)) < 0)
		return rc;
	if ((rc = lock_session(&fd, store, id)) < 0)
		return rc;
	if ((rc = load_locked(&state, &info, &h, &leased, &across, store,
			      id)) < 0)
		goto on_error;
	/* Allocated before the adoption is written: after it, adopt cannot
	 * fail. */
	if (info_out != NULL &&
	    (rc = sessnap__load_info_new(&rec, &info, &h)) < 0)
		goto on_error;
	if (across) {
		/* Our flock on the original kept this host's other adopters
		 * out; the claim decides across hosts.  */
		rc = adopt_across(&s, &h, &info, store, id);
		SYS(close)(fd);
		fd = -1;
		if (rc < 0) {
			s = NULL;
			goto on_error;
		}
		goto adopted;
	}
	rc = adopt_here(&s, &fd, &h, &info, leased, store, id);
	if (rc < 0)
		goto on_error;
adopted:
	/*
	 * Patches apply to the adopted payload, reread from the snapshot
	 * just written.  A migrated state is not that payload: the program
	 * hands it over in full before it patches (SESSNAP_ESTATE till then).
	 */
	pthread_mutex_lock(&store->mu);
	s->has_state = !(info.flags & SESSNAP_LOAD_MIGRATED);
	pthread_mutex_unlock(&store->mu);
	if (rec != NULL) {
		rec->seq = s->seq;
		rec->adoptions = s->adoptions;
		*info_out = rec;
	}
	if (state_out != NULL)
		*state_out = state;
	else
		json_object_put(state);
	*out = s;
	return 0;

on_error: {
	PROTECT_ERRNO;
	json_object_put(state);
	sessnap_load_info_free(rec);
	if (s != NULL)
		sessnap_session_release(s);
	if (fd >= 0)
		SYS(close)(fd);
}
	return rc;
}
