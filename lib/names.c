/*
 * names.c - the store's file names, their paths, and the directory walk
 *
 * A store directory holds, per session id (SESSNAP_ID_LEN lowercase hex
 * digits), at most these names:
 *
 *	<id>.snap			the newest generation
 *	<id>.snap.prev			the generation before it
 *	<id>.lock			the session's flock (liveness.c)
 *	.<id>.snap.XXXXXX		a save's temporary file (atomic.c)
 *	.<id>.snap.prev.XXXXXX		a save's temporary link of .prev
 *
 * and anything else is somebody else's: no module of the library ever
 * reads, writes or removes a name this module does not recognise.  This
 * file builds the names (sessnap__snap_name() and its siblings), checks
 * the application names and session ids that go into them, and writes
 * the full paths that messages show.  It also parses them: one function,
 * sessnap__name_parse(), says what a directory entry is, for the scanner,
 * the cleaner and discard alike, so that the modules cannot disagree on
 * which files are the store's.
 *
 * The directory walk, sessnap__dir_walk(), is the one place that reads
 * the store directory.  It opens "." relative to the store's descriptor
 * (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, through the seam) rather than
 * dup'ing it: a dup would share its read position with store->dfd, and
 * the store may be scanned and cleaned from several threads at once, or
 * walked twice by one cleaner.  It streams the entries with readdir, so
 * memory does not grow with the number of files, and hands each of the
 * store's own names to a callback, parsed, with readdir's d_type; every
 * other name is skipped there.
 *
 * The small file helpers every remover needs sit beside it: an lstat that
 * tells "absent" from a failure, an unlink for which "already gone" is
 * success, and a file's mtime in milliseconds.  Every call is relative to
 * the store's descriptor and never follows a symlink.  Model: systemd's
 * src/basic/fs-util.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

bool sessnap__app_valid(const char *app)
{
	size_t n;

	if (app == NULL || app[0] == '\0' || app[0] == '.')
		return false;
	for (n = 0; app[n] != '\0'; n++) {
		char c = app[n];

		if (n >= SESSNAP_APP_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool sessnap__id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strspn(id, "0123456789abcdef");
	return n == SESSNAP_ID_LEN && id[n] == '\0';
}

int sessnap__id_check(const char *id)
{
	if (sessnap__id_valid(id))
		return 0;
	return sessnap__error(SESSNAP_EBADNAME,
			      "invalid session id \"%s\": expected %d "
			      "lowercase hex digits",
			      id ? id : "(null)", SESSNAP_ID_LEN);
}

/*
 * The scanner and the cleaner build two or three names per session, so
 * these are two memcpy calls rather than snprintf's format machinery.  An
 * id longer than SESSNAP_ID_LEN (never valid) is cut so that the suffix
 * always fits.
 */
static void name_of(char out[SESSNAP__NAME_MAX], const char *id,
		    const char *suffix, size_t suffix_len)
{
	size_t n = strnlen(id, SESSNAP__NAME_MAX - 1 - suffix_len);

	memcpy(out, id, n);
	memcpy(out + n, suffix, suffix_len + 1);
}

void sessnap__snap_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".snap", sizeof(".snap") - 1);
}

void sessnap__prev_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".snap.prev", sizeof(".snap.prev") - 1);
}

void sessnap__lock_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".lock", sizeof(".lock") - 1);
}

const char *sessnap__path(char *buf, size_t len, const sessnap_store *store,
			  const char *name)
{
	snprintf(buf, len, "%s/%s", store->path, name);
	return buf;
}

/* ---- Parsing a name ------------------------------------------------------ */

#define SNAP_SUFFIX ".snap"
#define PREV_SUFFIX ".snap.prev"
#define LOCK_SUFFIX ".lock"
/* The random part of a temporary file name (atomic.c). */
#define TEMP_RANDOM 6

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

/* ".<id>" then ".snap.XXXXXX" or ".snap.prev.XXXXXX". */
static bool is_temp(const char *name, size_t len)
{
	const char *rest;

	if (len < 1 + SESSNAP_ID_LEN || !is_hex_id(name + 1))
		return false;
	rest = name + 1 + SESSNAP_ID_LEN;
	if (strncmp(rest, PREV_SUFFIX ".", sizeof(PREV_SUFFIX)) == 0 &&
	    is_alnum_n(rest + sizeof(PREV_SUFFIX), TEMP_RANDOM))
		return true;
	return strncmp(rest, SNAP_SUFFIX ".", sizeof(SNAP_SUFFIX)) == 0 &&
	       is_alnum_n(rest + sizeof(SNAP_SUFFIX), TEMP_RANDOM);
}

sessnap__name_kind sessnap__name_parse(const char *name,
				       char id[SESSNAP_ID_LEN + 1])
{
	size_t len = strlen(name);
	const char *rest;
	sessnap__name_kind kind;

	if (name[0] == '.') {
		if (!is_temp(name, len))
			return SESSNAP__NAME_OTHER;
		memcpy(id, name + 1, SESSNAP_ID_LEN);
		id[SESSNAP_ID_LEN] = '\0';
		return SESSNAP__NAME_TEMP;
	}
	if (len < SESSNAP_ID_LEN || !is_hex_id(name))
		return SESSNAP__NAME_OTHER;
	rest = name + SESSNAP_ID_LEN;
	if (strcmp(rest, SNAP_SUFFIX) == 0)
		kind = SESSNAP__NAME_SNAP;
	else if (strcmp(rest, PREV_SUFFIX) == 0)
		kind = SESSNAP__NAME_PREV;
	else if (strcmp(rest, LOCK_SUFFIX) == 0)
		kind = SESSNAP__NAME_LOCK;
	else
		return SESSNAP__NAME_OTHER;
	memcpy(id, name, SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	return kind;
}

/* ---- Files --------------------------------------------------------------- */

int64_t sessnap__mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 +
	       st->st_mtim.tv_nsec / 1000000;
}

int sessnap__name_stat(struct stat *st, sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	if (SYS(fstatat)(store->dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return sessnap__syserr(errno, "fstatat",
			       sessnap__path(path, sizeof(path), store, name));
}

bool sessnap__name_absent(sessnap_store *store, const char *name)
{
	struct stat st;

	return SYS(fstatat)(store->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	       errno == ENOENT;
}

/*
 * A session with a name that is not a regular file (a FIFO, directory or
 * symlink as its <id>.snap or <id>.snap.prev) is never written to or
 * removed: adopt and discard refuse it, as the cleaner skips it and the
 * scanner reports it corrupt (snapfile.c, "The one verdict on a session
 * file").  The lock file gets the same check in sessnap__lock_take().
 */
int sessnap__session_regular(sessnap_store *store, const char *id,
			     const char *what)
{
	char names[2][SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;
	int i, r;

	sessnap__snap_name(names[0], id);
	sessnap__prev_name(names[1], id);
	for (i = 0; i < 2; i++) {
		if ((r = sessnap__name_stat(&st, store, names[i])) < 0)
			return r;
		if (r == 1 && !S_ISREG(st.st_mode))
			return sessnap__error(
			    SESSNAP_EUNSAFE,
			    "cannot %s session %s: %s is not a regular file; "
			    "it is left as it is (remove it by hand if it is "
			    "not needed)",
			    what, id,
			    sessnap__path(path, sizeof(path), store, names[i]));
	}
	return 0;
}

int sessnap__name_unlink(sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	if (SYS(unlinkat)(store->dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	return sessnap__syserr(errno, "unlinkat",
			       sessnap__path(path, sizeof(path), store, name));
}

/* ---- The directory walk -------------------------------------------------- */

static int dir_error(const sessnap_store *store, const char *step)
{
	char buf[256];

	return sessnap__error(
	    sessnap__errno_code(errno), "%s of store directory %s failed: %s",
	    step, store->path, sessnap__strerror_r(errno, buf, sizeof(buf)));
}

int sessnap__dir_walk(sessnap_store *store, sessnap__dir_cb cb, void *payload)
{
	sessnap__dir_entry e;
	struct dirent *de;
	DIR *dir;
	int fd, rc = 0;

	fd = SYS(openat)(store->dfd, ".",
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return dir_error(store, "open");
	if ((dir = SYS(fdopendir)(fd)) == NULL) {
		PROTECT_ERRNO;
		rc = dir_error(store, "fdopendir");
		SYS(close)(fd);
		return rc;
	}
	for (;;) {
		errno = 0;
		if ((de = SYS(readdir)(dir)) == NULL) {
			if (errno != 0)
				rc = dir_error(store, "readdir");
			break;
		}
		e.kind = sessnap__name_parse(de->d_name, e.id);
		if (e.kind == SESSNAP__NAME_OTHER)
			continue;
		e.name = de->d_name;
		e.type = de->d_type;
		if ((rc = cb(&e, payload)) < 0)
			break;
	}
	{
		PROTECT_ERRNO;
		SYS(closedir)(dir);
	}
	return rc;
}
