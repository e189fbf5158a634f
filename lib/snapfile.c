/*
 * snapfile.c - the snapshot file: the format on disk, read from the store
 *
 * format.c decodes a snapshot held in memory; this module gets it there.
 * It opens a file of the store to look at it (never following a symlink,
 * never blocking on a FIFO, never updating its atime), reads a header with
 * one bounded read or a whole file up to the store's read bound, and hands
 * the bytes to format.c.  Every reader of a session file goes through it:
 *
 *	sessnap__header_read()        the header, to list or judge a session
 *	sessnap__snapshot_read_raw()  the whole file, verified, unparsed
 *	sessnap__snapshot_read()      the same with the payload parsed
 *	sessnap__open_look()          a descriptor to look at a file
 *
 * and so every one of them gets the same verdict on a file ("The one
 * verdict on a session file" below).  Nothing read here is trusted: a file
 * that is not a regular file is not read, and no read exceeds its bound.
 * Writing a snapshot is atomic.c's (the durable replace), with the header
 * that format.c encodes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "internal.h"

/*
 * Open a store file to look at it: read-only, never following a symlink,
 * never blocking on a FIFO.  O_NOATIME: looking at a snapshot is not a
 * use of it, and an atime update dirties the inode, a journal write per
 * file for a scan or a clean of a large store.  Only the file's owner may
 * ask for it; anyone else (EPERM) opens the ordinary way.
 */
int sessnap__open_look(sessnap_store *store, const char *name)
{
	int fd;

	fd = SYS(openat)(
	    store->dfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME, 0);
	if (fd < 0 && errno == EPERM)
		fd = SYS(openat)(store->dfd, name,
				 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				 0);
	return fd;
}

/*
 * The one verdict on a session file
 * ----------------------------------
 * Scan, load, verify, export, adopt, discard and clean all judge a
 * session's files through the functions below, so a file gets the same
 * verdict from every one of them:
 *
 *  - a name that is not a regular file (a symlink, FIFO, directory,
 *    socket or device) is corrupt, with the reason "is not a regular file
 *    (a FIFO)" or "is a symlink (not followed)".  *st then describes what
 *    is there (from lstat), so a caller can tell it from a damaged regular
 *    file: such a name is never opened for writing, never locked and
 *    never removed, not even when corrupt files are asked to be removed;
 *  - a header whose id is not the one in the file name is corrupt
 *    ("header names session X, not Y"): the format requires them to
 *    match, and a copied or renamed file must not be adopted, written or
 *    cleaned as the session its name claims;
 *  - a file larger than the store's read bound is too big
 *    (SESSNAP_ETOOBIG, "N bytes, more than the read bound of M"), never
 *    corrupt: a reader with a smaller bound than the writer's knows
 *    nothing bad about it.  The header alone is still read and used (to
 *    list and to clean the session); only the state is refused.
 */

static const char *type_name(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symlink";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a file";
}

/* The verdict on a name that exists but is not a regular file. */
static int not_regular(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return sessnap__error(SESSNAP_ECORRUPT,
					"is a symlink (not followed)");
	return sessnap__error(SESSNAP_ECORRUPT,
				"is not a regular file (%s)",
				type_name(st->st_mode));
}

bool sessnap__too_big(const sessnap_store *store, const struct stat *st)
{
	return (uint64_t)st->st_size > (uint64_t)store->read_bound;
}

size_t sessnap__payload_max(const sessnap_store *store)
{
	size_t max;

	if (store->read_bound <= (size_t)SESSNAP__HEADER_MAX + 1)
		return 0;
	max = store->read_bound - SESSNAP__HEADER_MAX - 1;
	if (max > (size_t)INT32_MAX - 2)
		max = (size_t)INT32_MAX - 2;
	return max;
}

/*
 * Open a file of the store for reading without following symlinks and
 * without blocking on a FIFO, and make sure it is a regular file.  *st
 * receives its stat: from fstat when it was opened, from lstat when it
 * could not be (a symlink, a socket); zeroed when it does not exist.
 */
static int open_regular(int *out, struct stat *st, sessnap_store *store,
			const char *name)
{
	char path[PATH_MAX];
	int fd, rc, err;

	memset(st, 0, sizeof(*st));
	fd = sessnap__open_look(store, name);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return sessnap__error(SESSNAP_ENOTFOUND,
						"does not exist");
		/* A symlink (ELOOP), a socket or a device without a driver
		 * (ENXIO, ENODEV): say what it is. */
		if (err == ELOOP || err == ENXIO || err == ENODEV) {
			if (SYS(fstatat)(store->dfd, name, st,
					 AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISREG(st->st_mode))
				return not_regular(st);
			memset(st, 0, sizeof(*st));
			if (errno == ENOENT)
				return sessnap__error(SESSNAP_ENOTFOUND,
							"does not exist");
			errno = err;
		}
		rc = sessnap__syserr(
		    errno, "open",
		    sessnap__path(path, sizeof(path), store, name));
		return rc;
	}
	if (SYS(fstat)(fd, st) < 0) {
		rc = sessnap__syserr(
		    errno, "fstat",
		    sessnap__path(path, sizeof(path), store, name));
		memset(st, 0, sizeof(*st));
		SYS(close)(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		SYS(close)(fd);
		return not_regular(st);
	}
	*out = fd;
	return 0;
}

/*
 * The id a session file's name gives ("<id>.snap", "<id>.snap.prev"), or
 * false for any other name (a temporary file: no verdict on its id).
 */
static bool name_id(char id[SESSNAP_ID_LEN + 1], const char *name)
{
	if (strlen(name) <= SESSNAP_ID_LEN || name[SESSNAP_ID_LEN] != '.')
		return false;
	memcpy(id, name, SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	return sessnap__id_valid(id);
}

static int check_id(const sessnap__header *h, const char *name)
{
	char id[SESSNAP_ID_LEN + 1];

	if (name_id(id, name) && strcmp(h->id, id) != 0)
		return sessnap__error(SESSNAP_ECORRUPT,
					"header names session %s, not %s",
					h->id, id);
	return 0;
}

static int read_error(sessnap_store *store, const char *name)
{
	char path[PATH_MAX];
	int rc = sessnap__syserr(
	    errno, "read", sessnap__path(path, sizeof(path), store, name));

	return rc;
}

/*
 * The first read of a header: a typical header line (about 400 bytes of
 * a plain file, 470 of a delta file) and, for a delta file, its two
 * slots of 512 bytes, in one read(2).
 */
#define HEAD_FIRST 2048

/*
 * A delta file's newest commit, from its slots: buf[0..n) holds the first
 * bytes of the file, the header line (hlen bytes) among them; the slots
 * are read too when they are not there yet.  The record is not read: a
 * scan costs the same whatever the state's size and the records' count
 * (design.md, "Delta layout").  A slot that fails its self-check is
 * ignored, as the loader ignores it.
 */
static int newest_slot(sessnap__header *h, int fd, char *buf, size_t n,
		       size_t hlen, uint64_t size, sessnap_store *store,
		       const char *name)
{
	size_t want = hlen + SESSNAP__SLOTS_LEN;
	ssize_t more;

	if (size < want) /* check_size() says why */
		return 0;
	if (n < want) {
		more = sessnap__read_full(fd, buf + n, want - n, -1);
		if (more < 0)
			return read_error(store, name);
		if ((size_t)more < want - n)
			return sessnap__error(SESSNAP_ECORRUPT,
					      "truncated inside the slots");
	}
	h->slot = sessnap__slots_newest(&h->rec, buf + hlen, h, -1);
	if (h->slot >= 0) {
		h->seq = h->rec.seq;
		h->saved_ms = h->rec.saved_ms;
	}
	return 0;
}

int sessnap__header_read(sessnap__header *out, struct stat *st_out,
			 sessnap_store *store, const char *name)
{
	char buf[SESSNAP__HEADER_MAX + SESSNAP__SLOTS_LEN];
	struct stat st;
	size_t hlen = 0, want;
	ssize_t n, more;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	rc = open_regular(&fd, &st, store, name);
	if (st_out != NULL)
		*st_out = st;
	if (rc < 0)
		return rc;
	/*
	 * A snapshot's size never changes once it is in place (saves rename
	 * a new inode over it; a delta file's appends overwrite it in place,
	 * within its size), so its size bounds the read: a small file costs
	 * one read(2), not a second one to see end-of-file.  The first read
	 * asks for HEAD_FIRST bytes, which hold a typical header (about 400
	 * bytes) and a delta file's slots with room to spare; only a header
	 * longer than that costs a second read, up to the bound.  The scanner reads one header per
	 * session, and copying 4 KiB where 400 bytes were needed was a
	 * visible share of its time.
	 */
	want = (uint64_t)st.st_size < SESSNAP__HEADER_MAX ?
		   (size_t)st.st_size :
		   SESSNAP__HEADER_MAX;
	n = sessnap__read_full(fd, buf, want < HEAD_FIRST ? want : HEAD_FIRST,
			       -1);
	if (n == HEAD_FIRST && want > HEAD_FIRST &&
	    memchr(buf, '\n', HEAD_FIRST) == NULL) {
		more = sessnap__read_full(fd, buf + HEAD_FIRST,
					  want - HEAD_FIRST, -1);
		n = more < 0 ? more : n + more;
	}
	if (n < 0) {
		rc = read_error(store, name);
		SYS(close)(fd);
		return rc;
	}
	rc = sessnap__header_of(out, &hlen, buf, (size_t)n);
	if (rc == 0)
		rc = check_id(out, name);
	if (rc == 0)
		rc = sessnap__check_size(out, hlen, (uint64_t)st.st_size);
	if (rc == 0 && out->layout == SESSNAP_LAYOUT_DELTA)
		rc = newest_slot(out, fd, buf, (size_t)n, hlen,
				 (uint64_t)st.st_size, store, name);
	SYS(close)(fd);
	return rc;
}

int sessnap__snapshot_read_raw(char **out, size_t *out_len,
			       sessnap__header *hdr, size_t *payload_off,
			       sessnap_store *store, const char *name)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	memset(hdr, 0, sizeof(*hdr));
	if ((rc = open_regular(&fd, &st, store, name)) < 0)
		return rc;
	if (sessnap__too_big(store, &st)) {
		SYS(close)(fd);
		return sessnap__error(SESSNAP_ETOOBIG,
		    "%jd bytes, more than the read bound of %zu",
		    (intmax_t)st.st_size, store->read_bound);
	}
	/* One byte more than fstat said, to notice a file that grew. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		SYS(close)(fd);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	n = sessnap__read_full(fd, buf, (size_t)st.st_size + 1, -1);
	if (n < 0) {
		rc = read_error(store, name);
		SYS(close)(fd);
		free(buf);
		return rc;
	}
	SYS(close)(fd);
	rc = sessnap__verify(hdr, payload_off, buf, (size_t)n);
	if (rc == 0)
		rc = check_id(hdr, name);
	if (rc == 0 && hdr->layout == SESSNAP_LAYOUT_DELTA) {
		/* The current state of a delta file, as if it were the
		 * payload of a plain one (delta.c). */
		char *cur = NULL;
		size_t cur_len = 0;

		rc = sessnap__delta_decode(
		    &cur, &cur_len, hdr, buf, (size_t)n,
		    (size_t)(*payload_off - SESSNAP__SLOTS_LEN),
		    sessnap__payload_max(store), store);
		free(buf);
		if (rc < 0)
			return rc;
		*out = cur;
		*out_len = cur_len + 1;
		*payload_off = 0;
		return 0;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}

int sessnap__snapshot_read(json_object **state, sessnap__header *hdr,
			   sessnap_store *store, const char *name)
{
	size_t len = 0, off = 0;
	char *buf;
	int rc;

	*state = NULL;
	rc = sessnap__snapshot_read_raw(&buf, &len, hdr, &off, store, name);
	if (rc < 0)
		return rc;
	rc = sessnap__parse_payload(state, buf + off, (size_t)hdr->length);
	free(buf);
	return rc;
}
