/*
 * liveness.c - who owns a session, and is that owner still alive?
 *
 * A session's owner holds an exclusive flock(2) on <id>.lock for the whole
 * life of the session.  The kernel drops the lock when the owner dies,
 * however it dies, so "is the lock held?" is the liveness test: a recycled
 * pid cannot fool it, and a lock file left behind by a dead process is
 * harmless (it is simply free).  The lock lives on its own file, never on
 * the snapshot, because every save renames a new inode over the snapshot.
 *
 * Each snapshot also records its owner (pid, host, boot id, process start
 * time).  Those are for people ("pid 4242 on laptop") and for telling
 * local sessions from ones written on another host, whose locks this host
 * cannot see.
 *
 * The lock file also carries a small record written by begin (owner, key,
 * label, created time; sessnap__lock_record_write()): the scanner reads it
 * for a session that holds its lock but has no snapshot yet, so a second
 * instance sees "already open (pid N)" from the first instant.  An empty
 * or torn record (an older writer, a crash mid-write) only means the
 * running session is listed without those details.
 *
 * Locks are taken with libbsd's flopenat(), which re-checks after locking
 * that the file it locked is still the one at that name: a cleaner that
 * unlinked the lock file meanwhile cannot leave us holding a lock on a
 * deleted inode.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>


#include "internal.h"

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static char host_name[SESSNAP_HOST_MAX + 1];
static char boot_id[40];

static void read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Through the seam, so that a test can play another host (sys.c). */
static void host_init(void)
{
	if (SYS(gethostname)(host_name, sizeof(host_name) - 1) < 0)
		strlcpy(host_name, "localhost", sizeof(host_name));
	host_name[sizeof(host_name) - 1] = '\0';
	SYS(boot_id)(boot_id, sizeof(boot_id));
}

/*
 * Field 22 of /proc/self/stat: start time in clock ticks since boot.  The
 * command name (field 2) may contain spaces and parentheses, so fields are
 * counted from the last ')'.
 */
static uint64_t start_time_of_self(void)
{
	char buf[1024], *p;
	unsigned long long v;
	int field;

	read_small("/proc/self/stat", buf, sizeof(buf));
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	for (field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p == NULL || sscanf(p, " %llu", &v) != 1)
		return 0;
	return (uint64_t)v;
}

void sessnap__owner_self(sessnap_owner *out)
{
	pthread_once(&host_once, host_init);
	memset(out, 0, sizeof(*out));
	out->pid = (int64_t)getpid();
	strlcpy(out->host, host_name, sizeof(out->host));
	strlcpy(out->boot_id, boot_id, sizeof(out->boot_id));
	out->start_time = start_time_of_self();
}

bool sessnap__owner_foreign(const sessnap_owner *owner,
			    const sessnap_owner *self)
{
	return owner->host[0] != '\0' && strcmp(owner->host, self->host) != 0;
}

static int not_regular(sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	return sessnap__error(SESSNAP_EUNSAFE,
			      "%s is not a regular file, so it cannot be the "
			      "session's lock file; it is left as it is",
			      sessnap__path(path, sizeof(path), store, name));
}

static int lock_open(int *out, sessnap_store *store, const char *id,
		     int create)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;
	bool existed = false;
	int fd;

	*out = -1;
	sessnap__lock_name(name, id);
	/*
	 * Look first: a name that is not a regular file is refused before
	 * it is opened at all, and the look says whether a failure after
	 * an O_CREAT open below leaves a file that we made.
	 */
	if (SYS(fstatat)(store->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		existed = true;
		if (!S_ISREG(st.st_mode))
			return not_regular(store, name);
	} else if (errno != ENOENT) {
		return sessnap__syserr(errno, "fstatat",
				       sessnap__path(path, sizeof(path), store,
						     name));
	}
	/* O_NONBLOCK makes flopenat use LOCK_NB: never wait for a live
	 * owner. */
	fd = SYS(flopenat)(store->dfd, name,
			   O_RDWR | create | O_NOFOLLOW | O_CLOEXEC |
			       O_NONBLOCK,
			   0600);
	if (fd < 0) {
		if (errno == EWOULDBLOCK)
			return sessnap__error(
			    SESSNAP_EBUSY,
			    "session %s is in use by a live process (%s is "
			    "locked)",
			    id, sessnap__path(path, sizeof(path), store, name));
		if (errno == ENOENT && !create)
			return sessnap__error(
			    SESSNAP_ENOTFOUND, "%s does not exist",
			    sessnap__path(path, sizeof(path), store, name));
		if (errno == ELOOP || errno == EISDIR || errno == ENXIO ||
		    errno == ENODEV) {
			int err = errno;

			if (SYS(fstatat)(store->dfd, name, &st,
					 AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISREG(st.st_mode))
				return not_regular(store, name);
			errno = err;
		}
		return sessnap__syserr(errno, "open and lock",
				       sessnap__path(path, sizeof(path), store,
						     name));
	}
	/*
	 * A file that existed may have been replaced since the look.  A
	 * FIFO opens (O_NONBLOCK keeps that from waiting) and can even be
	 * flocked: only the type of what was opened tells it is no lock
	 * file.  Nothing is done to it but closing our descriptor.  A name
	 * that did not exist was just created by our O_CREAT: a regular
	 * file, and checking it again would only add a failure that leaves
	 * it behind.
	 */
	if (!existed)
		goto done;
	if (SYS(fstat)(fd, &st) < 0) {
		int rc = sessnap__syserr(errno, "fstat",
					 sessnap__path(path, sizeof(path),
						       store, name));

		SYS(close)(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		SYS(close)(fd);
		return not_regular(store, name);
	}
done:
	*out = fd;
	return 0;
}

int sessnap__lock_take(int *out, sessnap_store *store, const char *id)
{
	return lock_open(out, store, id, O_CREAT);
}

int sessnap__lock_take_existing(int *out, sessnap_store *store,
				const char *id)
{
	return lock_open(out, store, id, 0);
}

/*
 * The store gate: a flock(2) on the store directory itself, the way
 * systemd-tmpfiles lets programs keep it out of a directory.  A session
 * without a lock file (one that ended cleanly, or whose lock file a
 * cleaner already removed) can only gain one through sessnap__lock_take;
 * adopters take the gate shared around that call, and the cleaner takes
 * it exclusively around "no lock file here, so remove the snapshot".  So
 * the cleaner never has to create a lock file just to delete it, which
 * on a journalling file system costs about as much as the deletion.
 *
 * Both sides hold the gate for a few system calls, never across a wait on
 * anything else, so a busy gate is retried for up to
 * SESSNAP__GATE_WAIT_MS; past that, a process is stuck while holding it
 * and the caller gets SESSNAP_EBUSY.  Each holder uses its own open file
 * description (flock locks belong to those): threads of one process
 * exclude each other too.
 */
int sessnap__gate_open(int *out, sessnap_store *store)
{
	int fd;

	fd = SYS(openat)(store->dfd, ".",
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		*out = -1;
		return sessnap__syserr(errno, "open of store directory",
				       store->path);
	}
	*out = fd;
	return 0;
}

int sessnap__gate_lock(int fd, sessnap_store *store, int how)
{
	int64_t deadline = sessnap__mono_ms() + SESSNAP__GATE_WAIT_MS;
	struct timespec pause = { 0, 1000000 };

	for (;;) {
		if (SYS(flock)(fd, how | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return sessnap__syserr(errno, "flock of store directory",
					       store->path);
		if (sessnap__mono_ms() >= deadline)
			return sessnap__error(
			    SESSNAP_EBUSY,
			    "store %s is locked by another process (a cleaner "
			    "or an adopter) that has held its directory lock "
			    "for over %d ms; try again",
			    store->path, SESSNAP__GATE_WAIT_MS);
		nanosleep(&pause, NULL);
	}
}

void sessnap__gate_unlock(int fd)
{
	PROTECT_ERRNO;

	SYS(flock)(fd, LOCK_UN);
}

int sessnap__lock_probe(sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	int fd, rc;

	sessnap__lock_name(name, id);
	rc = sessnap__name_open_read(&fd, store, name);
	if (rc == SESSNAP__OPEN_ABSENT)
		return 0;
	/* A symlink, a socket: not a lock anyone can hold. */
	if (rc == SESSNAP__OPEN_NOT_REGULAR)
		return SESSNAP__LOCK_NOT_REGULAR;
	if (rc < 0)
		return rc;
	/*
	 * A shared probe: it fails only while an exclusive owner holds the
	 * lock.  The lock, if we get it, goes with the close.  No fstat: the
	 * scanner probes every session, this is its hot path, and the answer
	 * for a FIFO or a directory named like a lock file is the same
	 * without it (nobody holds it: free).
	 */
	if (SYS(flock)(fd, LOCK_SH | LOCK_NB) < 0) {
		int err = errno;

		SYS(close)(fd);
		if (err == EWOULDBLOCK)
			return 1;
		return sessnap__syserr(err, "flock",
				       sessnap__path(path, sizeof(path), store,
						     name));
	}
	SYS(close)(fd);
	return 0;
}

/*
 * The record is the header line sessnap__header_format() writes, for seq 0
 * and an empty payload, followed by the payload's own (empty) line: so the
 * one header reader (snapfile.c) reads it, checks its id against the file
 * name and its size against the record, and a torn record is caught by
 * that size rule.
 *
 * A record with a lease is padded with spaces before its newline (the
 * format allows blanks there) to the length its line has with a renewal
 * counter of 19 digits, the most a JSON integer of the format takes
 * (INT64_MAX; the counter wraps to 1 there).  Every renewal then
 * has the same length and rewrites the record in place: one pwrite at
 * offset 0, and a reader sees the old or the new record, or a torn one
 * that the size rule refuses (as "no lease": the safe side, see
 * lease.c), never a shorter record followed by the tail of a longer one.
 */
#define RENEWALS_DIGITS 19

int sessnap__lock_record_write(sessnap_store *store, int fd,
			       const sessnap__header *h, bool truncate)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	char *line = NULL, *tmp;
	size_t len = 0, want;
	int rc;
	const char *step = "write of the lock record";

	if ((rc = sessnap__header_format(&line, &len, h)) < 0)
		return rc;
	want = len + 1;
	if (h->lease_ms > 0) {
		char digits[24];
		int d = snprintf(digits, sizeof(digits), "%" PRIu64,
				 h->renewals);

		want = len + (size_t)(RENEWALS_DIGITS - d) + 1;
	}
	if ((tmp = realloc(line, want)) == NULL) {
		free(line);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	line = tmp;
	/* Blanks before the header's newline, then the payload's line. */
	memset(line + len - 1, ' ', want - len - 1);
	line[want - 2] = '\n';
	line[want - 1] = '\n';
	len = want;
	if (sessnap__write_full(fd, line, len, 0) < 0)
		goto on_error;
	step = "truncation of the lock record";
	if (truncate && SYS(ftruncate)(fd, (off_t)len) < 0)
		goto on_error;
	free(line);
	return 0;

on_error:
	sessnap__lock_name(name, h->id);
	rc = sessnap__syserr(errno, step,
			     sessnap__path(path, sizeof(path), store, name));
	free(line);
	return rc;
}
