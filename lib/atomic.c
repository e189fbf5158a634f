/*
 * atomic.c - replace a file in the store atomically and durably
 *
 * sessnap__atomic_replace() is the one place where snapshot bytes reach the
 * disk.  Its contract: whatever the crash point (the process killed, a
 * write failing, the disk full), the target name holds either its old
 * content or its new content, both complete; on failure no temporary file
 * is left and the old content is untouched.
 *
 * The sequence, relative to the store's directory descriptor, is the one
 * the careful implementations converge on (Redis rdbSave + fsyncFileDir,
 * systemd write_string_file_atomic_at, glib g_file_set_contents_full):
 *
 *  1. openat(".<name>.XXXXXX", O_CREAT|O_EXCL|O_NOFOLLOW, 0600), then
 *     fallocate the final size.  The dot keeps the temp file out of globs
 *     and listings; O_EXCL|O_NOFOLLOW means a planted file or symlink is
 *     never written through; fallocate surfaces ENOSPC/EFBIG/EDQUOT before
 *     a single byte is written (file systems without it are fine).
 *  2. write everything, retrying EINTR (a bounded number of times in a
 *     row) and continuing after short writes; a write that returns 0 is an
 *     error (it would loop forever).
 *  3. fdatasync the temp file, so its data is on disk before its name can
 *     be.  Without this, ext4's delayed allocation could commit the rename
 *     and lose the data: the 2009 zero-length-file reports.  If it fails,
 *     it is NEVER retried on the same descriptor: after a failed fsync the
 *     kernel may have dropped the dirty pages and a second fsync can
 *     "succeed" with nothing written (PostgreSQL's fsyncgate, 2018).  The
 *     temp file is unlinked and the save fails; a later save starts over.
 *  4. close, and check it: NFS reports write errors at close.
 *  5. keep the previous generation: link the current file to a temp name,
 *     then rename that over `prev`.  Linking (not renaming) the current
 *     file means the target name is never missing; the rename makes `prev`
 *     replace atomically too.  Where the link fails (no hard links, or
 *     too many), the stale `prev` is removed instead: see drop_previous().
 *  6. renameat(temp, name): the commit point.
 *  7. fsync the directory: only now is the rename itself durable.  If this
 *     fails the new content is in place but may not survive a power loss:
 *     SESSNAP_EDURABILITY, "saved, durability unknown".
 *  8. hand the file that step 5 dropped (held open across its rename) to
 *     the store's closer, which frees it off the saving thread (closer.c).
 *
 * Durability FILE stops after step 6 (no directory fsync); NONE also skips
 * step 3.  The steps are named helpers: create_temp (1), fill_temp (1's
 * fallocate to 4), keep_previous (5), sync_dir (7).  Every failure after
 * the temp file exists funnels through one on_error label that unlinks it
 * and restores errno for the message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "closer.h"
#include "internal.h"

#define TEMP_TRIES 16

/*
 * Step 5 where the current file cannot be linked (no hard links on this file
 * system, or too many links to it: EPERM, EOPNOTSUPP, EMLINK, ENOSYS).  The
 * `prev` left by an earlier save is then a generation older than the one
 * this save replaces, and after the commit it would be two behind: a loader
 * falling back to it would return neither the last nor the next-to-last
 * committed state.  So it is removed, before the commit, and the save keeps
 * one generation only.  Renaming the current file to `prev` instead would
 * keep two, but leaves an instant with no `<id>.snap` at all, and that name
 * is what the scanner and the cleaner know a session by.  A copy would
 * double the I/O of every save.  Returns 0, or -1 with errno and *step set
 * when the stale file cannot be removed (the save then fails: committing
 * would leave it in place).
 */
static int drop_previous(sessnap_store *store, const char *name,
			 const char *prev_name, int link_err,
			 const char **step)
{
	char ebuf[256], id[SESSNAP_ID_LEN + 1], older[SESSNAP__NAME_MAX];
	unsigned int n;
	bool removed = false;

	/* Every older generation is as stale as `prev` (see above). */
	if (store->generations > 1 &&
	    sessnap__name_parse(prev_name, id) == SESSNAP__NAME_PREV) {
		for (n = store->generations; n >= 2; n--) {
			sessnap__gen_name(older, id, n);
			if (SYS(unlinkat)(store->dfd, older, 0) == 0) {
				removed = true;
			} else if (errno != ENOENT) {
				*step = "unlink of a stale older generation";
				return -1;
			}
		}
	}
	if (SYS(unlinkat)(store->dfd, prev_name, 0) < 0) {
		if (errno != ENOENT) {
			*step = "unlink of the stale previous generation";
			return -1;
		}
		if (!removed) {
			sessnap__log(
			    store, SESSNAP_LOG_DEBUG,
			    "no hard link to %s in %s (%s): saved "
			    "without a previous generation",
			    name, store->path,
			    sessnap__strerror_r(link_err, ebuf, sizeof(ebuf)));
			return 0;
		}
	}
	sessnap__log(store, SESSNAP_LOG_INFO,
		     "no hard link to %s in %s (%s): removed the stale %s%s, "
		     "saved without a previous generation",
		     name, store->path,
		     sessnap__strerror_r(link_err, ebuf, sizeof(ebuf)),
		     prev_name,
		     store->generations > 1 ? " and older ones" : "");
	return 0;
}

/*
 * Step 5 of a store that keeps N > 1 older generations: move each one up
 * a number, from the oldest down (<id>.snap.<N-1> over <id>.snap.<N>, ...,
 * <id>.snap.prev to <id>.snap.2), so that `prev_name` is free for the
 * link of the current file.  Each rename is atomic and the current file is
 * never touched, so a crash between two of them leaves every state that
 * was there under some name (one slot empty, or one state under two names
 * when two names were links of one file and the rename did nothing); the
 * loader orders generations by their seq, not by their names (load.c), so
 * neither matters, and the next save moves on from there.  A missing
 * generation is skipped.  The oldest, which the first rename drops, is
 * held open like the one a store of one generation drops (see below), and
 * returned in *held.  Returns 0, or -1 with errno and *step set; the
 * generations already moved stay where they are, which is harmless in the
 * same way.
 */
static int shift_older(sessnap_store *store, const char *prev_name,
		       const char **step, int *held)
{
	char id[SESSNAP_ID_LEN + 1], from[SESSNAP__NAME_MAX],
	    to[SESSNAP__NAME_MAX];
	struct stat st;
	unsigned int n;
	int fd;

	if (sessnap__name_parse(prev_name, id) != SESSNAP__NAME_PREV)
		return 0;
	sessnap__gen_name(to, id, store->generations);
	fd = SYS(openat)(store->dfd, to,
			 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd >= 0 && (SYS(fstat)(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		SYS(close)(fd);
		fd = -1;
	}
	for (n = store->generations; n >= 2; n--) {
		sessnap__gen_name(from, id, n - 1);
		sessnap__gen_name(to, id, n);
		if (SYS(renameat)(store->dfd, from, store->dfd, to) < 0 &&
		    errno != ENOENT) {
			if (fd >= 0) {
				PROTECT_ERRNO;
				SYS(close)(fd);
			}
			*step = "rename to an older generation";
			return -1;
		}
	}
	*held = fd;
	return 0;
}

/*
 * Step 5.  Returns 0 when `prev_name` now holds the current content, or
 * when there was no current content or no hard-link support; -1 with errno
 * and *step set on failure.
 */
static int keep_previous(sessnap_store *store, const char *name,
			 const char *prev_name, const char **step, int *held)
{
	char tmp[SESSNAP__NAME_MAX + 16];
	struct stat st;
	bool alias = true;
	int tries, old = -1, top = -1;

	for (tries = 0; tries < TEMP_TRIES; tries++) {
		sessnap__temp_name(tmp, sizeof(tmp), prev_name);
		if (SYS(linkat)(store->dfd, name, store->dfd, tmp, 0) == 0)
			break;
		if (errno == EEXIST)
			continue;
		if (errno == ENOENT)
			return 0; /* first save: nothing to keep */
		if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK ||
		    errno == ENOSYS)
			return drop_previous(store, name, prev_name, errno,
					     step);
		*step = "link";
		return -1;
	}
	if (tries == TEMP_TRIES) {
		*step = "link";
		errno = EEXIST;
		return -1;
	}
	if (store->generations > 1) {
		if (shift_older(store, prev_name, step, &top) < 0) {
			PROTECT_ERRNO;
			SYS(unlinkat)(store->dfd, tmp, 0);
			return -1;
		}
	}
	/*
	 * The rename below drops the last link of the generation before
	 * the previous one, and the kernel frees a file when its last link
	 * and its last descriptor are gone.  Freeing is not free: on a file
	 * system mounted with `discard` and no journal it waits for a
	 * discard of every block, about 70 us at 16 KiB and 1 ms at 4 MiB,
	 * longer than everything else this save does but the two fsyncs.
	 * Holding a descriptor to that file across the rename moves the
	 * freeing to the close, which the store's closer makes after the
	 * save is durable, off the saving thread (closer.c).  Nothing is
	 * lost if the open fails: the file is then freed by the rename, as
	 * before.  The descriptor is only held and fstat'ed, never read,
	 * so a plain read-only open through the seam is all it needs.
	 */
	old = SYS(openat)(store->dfd, prev_name,
			  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (old < 0) {
		alias = errno != ENOENT; /* ENOENT: none kept yet */
	} else if (SYS(fstat)(old, &st) == 0 && S_ISREG(st.st_mode)) {
		alias = st.st_nlink > 1;
	} else {
		SYS(close)(old);
		old = -1;
	}
	if (SYS(renameat)(store->dfd, tmp, store->dfd, prev_name) < 0) {
		{
			PROTECT_ERRNO;
			SYS(unlinkat)(store->dfd, tmp, 0);
			if (old >= 0)
				SYS(close)(old);
			if (top >= 0)
				SYS(close)(top);
		}
		*step = "rename to previous generation";
		return -1;
	}
	/*
	 * rename() of two links to the same file does nothing and succeeds
	 * (POSIX), leaving the temporary name behind.  That is the case when
	 * an earlier save failed between this step and its commit: `name`
	 * and `prev_name` are then one inode, which has another link than
	 * `prev_name`.  Remove the temporary name explicitly unless the link
	 * count of the file `prev_name` held says it had no other (or there
	 * was none).  A failure here loses nothing (prev_name holds the
	 * content either way) and the cleaner removes orphaned temporary
	 * files, so it does not fail the save.
	 */
	if (alias)
		SYS(unlinkat)(store->dfd, tmp, 0);
	/*
	 * With older generations the file the save drops is the oldest one,
	 * held by shift_older(); `prev_name` then held a file that is also
	 * linked as <id>.snap.2 (or nothing), and closing it frees nothing.
	 */
	if (top >= 0 || store->generations > 1) {
		if (old >= 0)
			SYS(close)(old);
		old = top;
	}
	*held = old;
	return 0;
}

/* Step 1: a fresh temporary file that nobody else can have planted. */
static int create_temp(sessnap_store *store, const char *name, char *tmp,
		       size_t tmp_len)
{
	int fd = -1, tries;

	for (tries = 0; tries < TEMP_TRIES; tries++) {
		sessnap__temp_name(tmp, tmp_len, name);
		fd = SYS(openat)(
		    store->dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	return fd;
}

/*
 * Steps 1 (fallocate) to 4 on the temporary file: its bytes, on disk, and
 * its descriptor closed.  fd is closed whatever happens.  Returns 0, or -1
 * with errno and *step set.
 */
static int fill_temp(int fd, const sessnap__buf *bufs, size_t nbufs,
		     sessnap_durability durability, const char **step)
{
	off_t total = 0;
	size_t i;

	for (i = 0; i < nbufs; i++)
		total += (off_t)bufs[i].len;
	if (total > 0 && SYS(fallocate)(fd, 0, 0, total) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS && errno != EINTR) {
		*step = "fallocate";
		goto on_error;
	}

	/* 2. the bytes */
	for (i = 0; i < nbufs; i++) {
		if (sessnap__write_full(fd, bufs[i].base, bufs[i].len,
					-1) < 0) {
			*step = "write";
			goto on_error;
		}
	}

	/* 3. data on disk before the name can be; never retried */
	if (durability != SESSNAP_DURABILITY_NONE && SYS(fdatasync)(fd) < 0) {
		*step = "fdatasync";
		goto on_error;
	}

	/* 4. close reports deferred write errors on some file systems */
	if (SYS(close)(fd) < 0) {
		*step = "close";
		return -1;
	}
	return 0;

on_error: {
	PROTECT_ERRNO;
	SYS(close)(fd);
}
	return -1;
}

/* Step 7: make the rename durable (SESSNAP_EDURABILITY if it fails). */
static int sync_dir(sessnap_store *store, const char *name,
		    sessnap_durability durability)
{
	char path[PATH_MAX], ebuf[256];
	int err;

	if (durability != SESSNAP_DURABILITY_FULL ||
	    SYS(fsync)(store->dfd) == 0)
		return 0;
	err = errno;
	return sessnap__error(
	    SESSNAP_EDURABILITY,
	    "saved %s, but fsync of the directory %s failed: %s; the save may "
	    "not survive a power failure",
	    sessnap__path(path, sizeof(path), store, name), store->path,
	    sessnap__strerror_r(err, ebuf, sizeof(ebuf)));
}

int sessnap__atomic_replace(sessnap_store *store, const char *name,
			    const char *prev_name, const sessnap__buf *bufs,
			    size_t nbufs, sessnap_durability durability,
			    bool *committed)
{
	return sessnap__atomic_replace_how(store, name, prev_name, bufs, nbufs,
					   durability, 0, committed);
}

int sessnap__atomic_replace_how(sessnap_store *store, const char *name,
				const char *prev_name,
				const sessnap__buf *bufs, size_t nbufs,
				sessnap_durability durability,
				unsigned int how, bool *committed)
{
	char tmp[SESSNAP__NAME_MAX + 16];
	char path[PATH_MAX];
	const char *step = NULL;
	const char *step_file = tmp;
	int fd, held = -1, rc;

	*committed = false;
	fd = create_temp(store, name, tmp, sizeof(tmp));
	if (fd < 0)
		return sessnap__syserr(
		    errno, "create",
		    sessnap__path(path, sizeof(path), store, tmp));
	/*
	 * A file that will be overwritten in place (a delta file's record
	 * area) asks for it while still empty, the only time btrfs takes
	 * the attribute.  A hint: where it fails or does not exist, the
	 * file is written all the same (design.md, "Written in place on
	 * btrfs").
	 */
	if (how & SESSNAP__REPLACE_IN_PLACE)
		(void)SYS(in_place)(fd);
	if (fill_temp(fd, bufs, nbufs, durability, &step) < 0)
		goto on_error;

	/* 5. the previous generation */
	if (prev_name != NULL &&
	    keep_previous(store, name, prev_name, &step, &held) < 0) {
		step_file = prev_name;
		goto on_error;
	}

	/* 6. commit */
	if (SYS(renameat)(store->dfd, tmp, store->dfd, name) < 0) {
		step = "rename";
		if (held >= 0)
			SYS(close)(held);
		goto on_error;
	}
	*committed = true;

	rc = sync_dir(store, name, durability);
	/* 8. the generation that the save dropped is freed off this path */
	sessnap__closer_hand(store, held);
	return rc;

on_error: {
	PROTECT_ERRNO;
	SYS(unlinkat)(store->dfd, tmp, 0);
}
	return sessnap__syserr(
	    errno, step, sessnap__path(path, sizeof(path), store, step_file));
}
