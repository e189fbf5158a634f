/*
 * recover.c - discard a crashed session, and the words for its age and size
 *
 *	sessnap_discard()          remove a session's files, never a live one
 *	sessnap__age_format()      "5 minutes ago"
 *	sessnap__size_format()     "12KB"
 *
 * Adopting a session is adopt.c's, asking the user prompt.c's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>


#include "internal.h"
#include "words.h"

/* ---- discard ------------------------------------------------------------ */

static int unlink_name(sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	if (SYS(unlinkat)(store->dfd, name, 0) < 0 && errno != ENOENT)
		return sessnap__syserr(
		    errno, "unlink",
		    sessnap__path(path, sizeof(path), store, name));
	return 0;
}

/* Remove the temporary files ".<id>.snap.*" a dead writer left behind. */
static int unlink_temps(sessnap_store *store, const char *id)
{
	char prefix[SESSNAP__NAME_MAX + 2], path[PATH_MAX];
	struct dirent *de;
	size_t plen;
	DIR *dir;
	int fd, rc = 0, saved_errno;

	plen = (size_t)snprintf(prefix, sizeof(prefix), ".%s.snap.", id);
	fd = SYS(openat)(store->dfd, ".",
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return sessnap__syserr(
		    errno, "open",
		    sessnap__path(path, sizeof(path), store, "."));
	if ((dir = SYS(fdopendir)(fd)) == NULL) {
		rc = sessnap__syserr(
		    errno, "opendir",
		    sessnap__path(path, sizeof(path), store, "."));
		goto on_error;
	}
	for (;;) {
		errno = 0;
		if ((de = SYS(readdir)(dir)) == NULL) {
			if (errno != 0)
				rc = sessnap__syserr(errno, "readdir",
						     sessnap__path(path,
								   sizeof(path),
								   store, "."));
			break;
		}
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue; /* a temp name that is no file: left */
		if ((rc = unlink_name(store, de->d_name)) < 0)
			break;
	}
	SYS(closedir)(dir);
	return rc;

on_error:
	saved_errno = errno;
	SYS(close)(fd);
	errno = saved_errno;
	return rc;
}

/*
 * Ordering: the lock is taken before anything is removed (a live owner
 * makes it fail, so a running session is never touched), the older
 * generation goes before the newer one (a failure half-way leaves the
 * newest state, never only an older one), and the lock file goes last,
 * while we still hold it.
 */
int sessnap_discard(sessnap_store *store, const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	int fd = -1, rc;

	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_discard: NULL store");
	if (!sessnap__id_valid(id))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid session id \"%s\": expected %d "
				      "lowercase hex digits",
				      id ? id : "(null)", SESSNAP_ID_LEN);
	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	sessnap__lock_name(lock, id);
	if (sessnap__name_absent(store, snap) &&
	    sessnap__name_absent(store, prev))
		return sessnap__error(SESSNAP_ENOTFOUND, "no session %s in %s",
				      id, store->path);
	if ((rc = sessnap__session_regular(store, id, "discard")) < 0)
		return rc;
	if ((rc = sessnap__lock_take(&fd, store, id)) < 0)
		return rc;
	if ((rc = unlink_name(store, prev)) < 0 ||
	    (rc = unlink_name(store, snap)) < 0 ||
	    (rc = unlink_temps(store, id)) < 0 ||
	    (rc = unlink_name(store, lock)) < 0)
		goto out;
out:
	SYS(close)(fd);
	return rc;
}
