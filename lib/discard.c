/*
 * discard.c - remove a session's files, never a live one
 *
 * sessnap_store_discard() is what a program calls when the user declines to
 * recover a crashed session, or when it knows a session is no longer
 * wanted: every file of that session goes - every generation, the
 * temporary files a dead writer left, and the lock file - and nothing
 * else in the store is touched.
 *
 * It takes the session's lock first (sessnap__lock_take(): a live owner
 * makes it fail with SESSNAP_EBUSY, so a running session is never
 * touched), refuses a session with a name that is not a regular file (the
 * one verdict of format.c: SESSNAP_EUNSAFE), then removes the older
 * generation before the newer one, so that a failure half-way leaves the
 * newest state, never only an older one, and the lock file last, while it
 * still holds the lock.  The temporary files are found with the store's
 * directory walk and name parser (names.c), the same rule the cleaner
 * uses.  A file someone else removed meanwhile is not an error.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Remove one temporary file of the session given as payload. */
static int unlink_temp(const sessnap__dir_entry *e, void *payload)
{
	const struct {
		sessnap_store *store;
		const char *id;
	} *d = payload;

	if (e->kind != SESSNAP__NAME_TEMP || strcmp(e->id, d->id) != 0 ||
	    (e->type != DT_REG && e->type != DT_UNKNOWN))
		return 0; /* a temp name that is no file: left */
	return sessnap__name_unlink(d->store, e->name);
}

/* Remove the temporary files a dead writer left behind. */
static int unlink_temps(sessnap_store *store, const char *id)
{
	struct {
		sessnap_store *store;
		const char *id;
	} d = { store, id };

	return sessnap__dir_walk(store, unlink_temp, &d);
}

int sessnap_store_discard(sessnap_store *store, const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX], older[SESSNAP__NAME_MAX];
	char claim[SESSNAP__NAME_MAX];
	unsigned int n;
	int fd = -1, rc;

	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_discard: NULL store");
	if ((rc = sessnap__id_check(id)) < 0)
		return rc;
	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	sessnap__lock_name(lock, id);
	sessnap__claim_name(claim, id);
	if (sessnap__name_absent(store, snap) &&
	    sessnap__name_absent(store, prev))
		return sessnap__error(SESSNAP_ENOTFOUND, "no session %s in %s",
				      id, store->path);
	if ((rc = sessnap__session_regular(store, id, "discard")) < 0)
		return rc;
	if ((rc = sessnap__lock_take(&fd, store, id)) < 0)
		return rc;
	/* Oldest first: a failure half-way leaves the newer ones. */
	for (n = SESSNAP__GEN_LAST; n >= 2; n--) {
		sessnap__gen_name(older, id, n);
		if ((rc = sessnap__name_unlink(store, older)) < 0)
			goto out;
	}
	if ((rc = sessnap__name_unlink(store, prev)) < 0 ||
	    (rc = sessnap__name_unlink(store, snap)) < 0 ||
	    (rc = unlink_temps(store, id)) < 0 ||
	    (rc = sessnap__name_unlink(store, claim)) < 0 ||
	    (rc = sessnap__name_unlink(store, lock)) < 0)
		goto out;
out:
	SYS(close)(fd);
	return rc;
}
