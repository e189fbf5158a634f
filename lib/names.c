/*
 * names.c - the store's file names, their paths, and the directory walk
 *
 * A store directory holds, per session id (SESSNAP_ID_LEN lowercase hex
 * digits), at most these names:
 *
 *	<id>.snap			the newest generation
 *	<id>.snap.prev			the generation before it
 *	<id>.snap.2 ... <id>.snap.8	older ones, when the store keeps them
 *	<id>.lock			the session's flock (liveness.c)
 *	.<id>.snap.XXXXXX		a save's temporary file (atomic.c)
 *	.<id>.snap.prev.XXXXXX		a save's temporary link of .prev
 *	<id>.claim			a cross-host adoption's claim (claim.c)
 *	.<id>.claim.XXXXXX		a claim's temporary file
 *	.sessnap-clock.<16 hex>		a host's clock file (lease.c),
 *					never a session's name
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
#include <stdlib.h>
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

void sessnap__id_new(char id[SESSNAP_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[SESSNAP_ID_LEN / 2];
	size_t i;

	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[SESSNAP_ID_LEN] = '\0';
}

void sessnap__temp_name(char *out, size_t len, const char *target)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char bytes[6];
	char rnd[6];
	size_t i;

	/*
	 * One arc4random_buf() call: each libbsd arc4random call checks for
	 * a fork with getpid(2), so six arc4random_uniform() calls cost six
	 * system calls per name.  62 characters from a byte: the modulo bias
	 * (256 = 4 * 62 + 8) does not matter for a name that only has to be
	 * unlikely to collide; O_EXCL and the creator's retries handle
	 * collisions.
	 */
	arc4random_buf(bytes, sizeof(bytes));
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = chars[bytes[i] % (sizeof(chars) - 1)];
	snprintf(out, len, ".%s.%.6s", target, rnd);
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

void sessnap__claim_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".claim", sizeof(".claim") - 1);
}

void sessnap__clock_name(char out[SESSNAP__NAME_MAX], const char *host)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = XXH3_64bits(host, strlen(host));
	size_t p = sizeof(SESSNAP__CLOCK_PREFIX) - 1;
	int i;

	memcpy(out, SESSNAP__CLOCK_PREFIX, p);
	for (i = 15; i >= 0; i--, h >>= 4)
		out[p + (size_t)i] = hex[h & 15];
	out[p + 16] = '\0';
}

void sessnap__gen_name(char out[SESSNAP__NAME_MAX], const char *id,
		       unsigned int n)
{
	char suffix[24];

	if (n == 0) {
		sessnap__snap_name(out, id);
		return;
	}
	if (n == 1) {
		sessnap__prev_name(out, id);
		return;
	}
	snprintf(suffix, sizeof(suffix), ".snap.%u", n);
	name_of(out, id, suffix, strlen(suffix));
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
#define CLAIM_SUFFIX ".claim"
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

/* ".<id>" then ".snap.XXXXXX", ".snap.prev.XXXXXX" or ".claim.XXXXXX". */
static bool is_temp(const char *name, size_t len)
{
	const char *rest;

	if (len < 1 + SESSNAP_ID_LEN || !is_hex_id(name + 1))
		return false;
	rest = name + 1 + SESSNAP_ID_LEN;
	if (strncmp(rest, PREV_SUFFIX ".", sizeof(PREV_SUFFIX)) == 0 &&
	    is_alnum_n(rest + sizeof(PREV_SUFFIX), TEMP_RANDOM))
		return true;
	if (strncmp(rest, CLAIM_SUFFIX ".", sizeof(CLAIM_SUFFIX)) == 0 &&
	    is_alnum_n(rest + sizeof(CLAIM_SUFFIX), TEMP_RANDOM))
		return true;
	return strncmp(rest, SNAP_SUFFIX ".", sizeof(SNAP_SUFFIX)) == 0 &&
	       is_alnum_n(rest + sizeof(SNAP_SUFFIX), TEMP_RANDOM);
}

/*
 * ".snap.<n>" with n one decimal number from 2 to SESSNAP_GENERATIONS_MAX
 * and no leading zero: the number, else -1.
 */
static int older_number(const char *rest)
{
	size_t len = strlen(rest);
	int n;

	if (len < sizeof(SNAP_SUFFIX ".") ||
	    strncmp(rest, SNAP_SUFFIX ".", sizeof(SNAP_SUFFIX)) != 0)
		return -1;
	rest += sizeof(SNAP_SUFFIX);
	len -= sizeof(SNAP_SUFFIX);
	if (len == 0 || len > 2 || rest[0] < '1' || rest[0] > '9' ||
	    (len == 2 && (rest[1] < '0' || rest[1] > '9')))
		return -1;
	n = rest[0] - '0';
	if (len == 2)
		n = n * 10 + (rest[1] - '0');
	return n >= 2 && n <= SESSNAP_GENERATIONS_MAX ? n : -1;
}

int sessnap__name_generation(const char *name)
{
	char id[SESSNAP_ID_LEN + 1];

	switch (sessnap__name_parse(name, id)) {
	case SESSNAP__NAME_SNAP:
		return 0;
	case SESSNAP__NAME_PREV:
		return 1;
	case SESSNAP__NAME_OLDER:
		return older_number(name + SESSNAP_ID_LEN);
	case SESSNAP__NAME_LOCK:
	case SESSNAP__NAME_TEMP:
	case SESSNAP__NAME_CLAIM:
	case SESSNAP__NAME_OTHER:
		break;
	}
	return -1;
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
	else if (strcmp(rest, CLAIM_SUFFIX) == 0)
		kind = SESSNAP__NAME_CLAIM;
	else if (older_number(rest) >= 2)
		kind = SESSNAP__NAME_OLDER;
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

int sessnap__name_open_read(int *fd, sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	*fd = SYS(openat)(store->dfd, name,
			  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT)
		return SESSNAP__OPEN_ABSENT;
	if (errno == ELOOP || errno == ENXIO || errno == ENODEV)
		return SESSNAP__OPEN_NOT_REGULAR;
	return sessnap__syserr(errno, "open",
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
 * symlink as any of its generations, <id>.snap, <id>.snap.prev or
 * <id>.snap.N) is never written to or removed: adopt and discard refuse
 * it, as the cleaner skips it and the scanner reports it corrupt (snapfile.c,
 * "The one verdict on a session file").  The lock file gets the same check in
 * sessnap__lock_take().
 */
int sessnap__session_regular(sessnap_store *store, const char *id,
			     const char *what)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;
	unsigned int n;
	int r;

	for (n = 0; n <= SESSNAP__GEN_LAST; n++) {
		sessnap__gen_name(name, id, n);
		if ((r = sessnap__name_stat(&st, store, name)) < 0)
			return r;
		if (r == 1 && !S_ISREG(st.st_mode))
			return sessnap__error(
			    SESSNAP_EUNSAFE,
			    "cannot %s session %s: %s is not a regular file; "
			    "it is left as it is (remove it by hand if it is "
			    "not needed)",
			    what, id,
			    sessnap__path(path, sizeof(path), store, name));
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
		e.generation = e.kind == SESSNAP__NAME_SNAP ?
				   0 :
			       e.kind == SESSNAP__NAME_PREV ?
				   1 :
			       e.kind == SESSNAP__NAME_OLDER ?
				   older_number(de->d_name + SESSNAP_ID_LEN) :
				   -1;
		if ((rc = cb(&e, payload)) != 0)
			break;
	}
	{
		PROTECT_ERRNO;
		SYS(closedir)(dir);
	}
	return rc;
}
