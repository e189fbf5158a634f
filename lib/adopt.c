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
	if (rc == SESSNAP_EDURABILITY) {
		sessnap__log(store, SESSNAP_LOG_WARNING, "%s",
			     sessnap_error_last());
		rc = 0;
	}
	if (rc < 0)
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
 * Load the session's state under its lock.  A session that does not
 * exist loses the lock file we created for it (only if still absent: we
 * hold the lock, nobody writes), so a mistyped id leaves no stray file
 * behind; one last written on another host is refused.
 */
static int load_locked(json_object **state, sessnap_load_info *info,
		       sessnap__header *h, sessnap_store *store,
		       const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	int rc;

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
	if (sessnap__owner_foreign(&h->owner, &store->self))
		return sessnap__error(
		    SESSNAP_EFOREIGN,
		    "session %s was written on host \"%s\", not on this "
		    "host (\"%s\"): its owner may still be running there, "
		    "where this host cannot see its lock; adopt it on \"%s\"",
		    id, h->owner.host, store->self.host, h->owner.host);
	return 0;
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
	char gen[SESSNAP__NAME_MAX];
	sessnap_load_info info, *rec = NULL;
	sessnap__header h;
	sessnap_session *s = NULL;
	json_object *state = NULL;
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
	if ((rc = load_locked(&state, &info, &h, store, id)) < 0)
		goto on_error;
	/* Allocated before the adoption is written: after it, adopt cannot
	 * fail. */
	if (info_out != NULL &&
	    (rc = sessnap__load_info_new(&rec, &info, &h)) < 0)
		goto on_error;
	rc = sessnap__session_new(&s, store, id, fd,
				  h.label[0] != '\0' ? h.label : NULL, h.key,
				  h.key_len);
	if (rc < 0)
		goto on_error;
	fd = -1; /* the session owns the lock now */
	s->seq = h.seq;
	/*
	 * Recovered from an older generation: the newer ones that were
	 * refused stay on disk (rotated one up by the adoption's write) and
	 * carry higher seqs.  The session goes on above all of them, so that
	 * the loader's order by seq (load.c) never puts a refused state
	 * before the adopter's own saves.
	 */
	if (info.generation > 0)
		s->seq = sessnap__generations_max_seq(store, id, h.seq);
	s->created_ms = h.created_ms;
	/* Reopening a cleanly ended session is not a crash recovery. */
	s->adoptions = h.completed ? 0 : h.adoptions + 1;
	sessnap__gen_name(gen, id, info.generation);
	if ((rc = persist_adoption(s, &h, gen)) < 0)
		goto on_error;
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
