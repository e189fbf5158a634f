/*
 * sys.c - the system-call seam and its fault injector
 *
 * Every system call that libsessnap makes on a store goes through the
 * table sessnap__sys (call sites write SYS(write)(...)).  In production the
 * entries are thin wrappers around the real calls.  Tests use the fault
 * injector to fail the Nth call of chosen kinds with a chosen errno, once
 * (a transient fault) or from then on (a persistent one), or to turn a
 * write into a short write.  That is how the test suite proves that every
 * failure point of a save leaves the previous snapshot intact and no
 * temporary file behind: root bypasses EACCES and no unprivileged test can
 * fill a disk on demand, so only the seam makes those paths testable.
 *
 * The injector's state is global and atomic: the store's writer thread may
 * make the calls.  When nothing is armed the cost is one relaxed load.
 *
 * The seam can also trace: with a tracer set, each successful call that
 * changes the store is reported after it returned.  The test suite replays
 * every prefix of such a trace into a scratch directory, dropping what was
 * not yet synced, to show that the loader recovers whatever the instant of
 * a power loss.  Without a tracer the cost is one load of a pointer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <unistd.h>

#include <libutil.h>

#include "internal.h"

static atomic_uint fault_kinds;
static atomic_ulong fault_nth;
static atomic_ulong fault_count;
static atomic_ulong fault_fired_count;
static atomic_int fault_err;
static atomic_uint fault_flags;
static atomic_uint fault_fired_kinds;

static sessnap__trace_fn trace_fn;
static void *trace_arg;

void sessnap__sys_set_trace(sessnap__trace_fn fn, void *arg)
{
	trace_arg = arg;
	trace_fn = fn;
}

static void trace(enum sessnap__trace_op op, int fd, int dfd,
		  const char *path, const char *path2, const void *buf,
		  size_t len)
{
	struct sessnap__trace_event ev;
	int saved_errno = errno;

	ev.op = op;
	ev.fd = fd;
	ev.dfd = dfd;
	ev.path = path;
	ev.path2 = path2;
	ev.buf = buf;
	ev.len = len;
	trace_fn(&ev, trace_arg);
	errno = saved_errno;
}

#define TRACE(cond, ...)                                                      \
	do {                                                                  \
		if (trace_fn != NULL && (cond))                               \
			trace(__VA_ARGS__);                                   \
	} while (0)

void sessnap__fault_arm(unsigned int kinds, unsigned long nth, int err,
			unsigned int flags)
{
	atomic_store(&fault_kinds, 0u);
	atomic_store(&fault_count, 0ul);
	atomic_store(&fault_fired_count, 0ul);
	atomic_store(&fault_fired_kinds, 0u);
	atomic_store(&fault_nth, nth);
	atomic_store(&fault_err, err);
	atomic_store(&fault_flags, flags);
	atomic_store(&fault_kinds, kinds);
}

unsigned long sessnap__fault_disarm(void)
{
	atomic_store(&fault_kinds, 0u);
	return atomic_load(&fault_count);
}

unsigned long sessnap__fault_fired(void)
{
	return atomic_load(&fault_fired_count);
}

unsigned int sessnap__fault_fired_kinds(void)
{
	return atomic_load(&fault_fired_kinds);
}

/*
 * Decide whether this call of `kind` fails.  Returns 0 to proceed, an errno
 * value to fail, or -1 to make a short write.
 */
static int fault_check(unsigned int kind)
{
	unsigned long n, nth;
	unsigned int flags;

	if (!(atomic_load_explicit(&fault_kinds, memory_order_relaxed) & kind))
		return 0;
	n = atomic_fetch_add(&fault_count, 1ul) + 1;
	nth = atomic_load(&fault_nth);
	flags = atomic_load(&fault_flags);
	if (n == nth || (n > nth && (flags & SESSNAP__FAULT_PERSISTENT))) {
		atomic_fetch_add(&fault_fired_count, 1ul);
		atomic_fetch_or(&fault_fired_kinds, kind);
		if (flags & SESSNAP__FAULT_SHORT)
			return -1;
		return atomic_load(&fault_err);
	}
	return 0;
}

#define FAULT(kind, failval)                                                  \
	do {                                                                  \
		int fault_e_ = fault_check(kind);                             \
		if (fault_e_ > 0) {                                           \
			errno = fault_e_;                                     \
			return failval;                                       \
		}                                                             \
	} while (0)

static int sys_openat(int dfd, const char *path, int flags, mode_t mode)
{
	int fd;

	FAULT(SESSNAP__SYS_OPEN, -1);
	fd = openat(dfd, path, flags, mode);
	TRACE(fd >= 0 && (flags & O_CREAT), SESSNAP__TRACE_CREATE, fd, dfd,
	      path, NULL, NULL, 0);
	return fd;
}

static int sys_flopenat(int dfd, const char *path, int flags, mode_t mode)
{
	int fd;

	FAULT(SESSNAP__SYS_OPEN, -1);
	FAULT(SESSNAP__SYS_FLOCK, -1);
	fd = flopenat(dfd, path, flags, mode);
	TRACE(fd >= 0 && (flags & O_CREAT), SESSNAP__TRACE_CREATE, fd, dfd,
	      path, NULL, NULL, 0);
	return fd;
}

static ssize_t sys_read(int fd, void *buf, size_t len)
{
	FAULT(SESSNAP__SYS_READ, -1);
	return read(fd, buf, len);
}

static ssize_t sys_write(int fd, const void *buf, size_t len)
{
	int f = fault_check(SESSNAP__SYS_WRITE);

	if (f > 0) {
		errno = f;
		return -1;
	}
	ssize_t n;

	if (f < 0 && len > 1)
		len /= 2;
	n = write(fd, buf, len);
	TRACE(n > 0, SESSNAP__TRACE_WRITE, fd, -1, NULL, NULL, buf, (size_t)n);
	return n;
}

static int sys_fsync(int fd)
{
	int r;

	FAULT(SESSNAP__SYS_FSYNC, -1);
	r = fsync(fd);
	TRACE(r == 0, SESSNAP__TRACE_FSYNC, fd, -1, NULL, NULL, NULL, 0);
	return r;
}

static int sys_fdatasync(int fd)
{
	int r;

	FAULT(SESSNAP__SYS_FSYNC, -1);
	r = fdatasync(fd);
	TRACE(r == 0, SESSNAP__TRACE_FSYNC, fd, -1, NULL, NULL, NULL, 0);
	return r;
}

static int sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;

	FAULT(SESSNAP__SYS_FALLOCATE, -1);
	r = fallocate(fd, mode, off, len);
	TRACE(r == 0, SESSNAP__TRACE_FALLOCATE, fd, -1, NULL, NULL, NULL,
	      (size_t)(off + len));
	return r;
}

static int sys_renameat(int odfd, const char *oldp, int ndfd, const char *newp)
{
	int r;

	FAULT(SESSNAP__SYS_RENAME, -1);
	r = renameat(odfd, oldp, ndfd, newp);
	TRACE(r == 0, SESSNAP__TRACE_RENAME, -1, odfd, oldp, newp, NULL, 0);
	return r;
}

static int sys_linkat(int odfd, const char *oldp, int ndfd, const char *newp,
		      int flags)
{
	int r;

	FAULT(SESSNAP__SYS_LINK, -1);
	r = linkat(odfd, oldp, ndfd, newp, flags);
	TRACE(r == 0, SESSNAP__TRACE_LINK, -1, odfd, oldp, newp, NULL, 0);
	return r;
}

static int sys_unlinkat(int dfd, const char *path, int flags)
{
	int r;

	FAULT(SESSNAP__SYS_UNLINK, -1);
	r = unlinkat(dfd, path, flags);
	TRACE(r == 0, SESSNAP__TRACE_UNLINK, -1, dfd, path, NULL, NULL, 0);
	return r;
}

static int sys_mkdirat(int dfd, const char *path, mode_t mode)
{
	int r;

	FAULT(SESSNAP__SYS_MKDIR, -1);
	r = mkdirat(dfd, path, mode);
	TRACE(r == 0, SESSNAP__TRACE_MKDIR, -1, dfd, path, NULL, NULL, 0);
	return r;
}

static int sys_flock(int fd, int op)
{
	FAULT(SESSNAP__SYS_FLOCK, -1);
	return flock(fd, op);
}

/*
 * A failed close still releases the descriptor on Linux, so an injected
 * close failure closes it too: the caller must never retry a close.
 */
static int sys_close(int fd)
{
	int f = fault_check(SESSNAP__SYS_CLOSE);

	int r;

	if (f > 0) {
		close(fd);
		TRACE(true, SESSNAP__TRACE_CLOSE, fd, -1, NULL, NULL, NULL, 0);
		errno = f;
		return -1;
	}
	r = close(fd);
	TRACE(true, SESSNAP__TRACE_CLOSE, fd, -1, NULL, NULL, NULL, 0);
	return r;
}

/*
 * Close a descriptor held only so that an unlinked file is freed later
 * (sessnap__writer_release()).  Its result cannot matter, and these closes
 * run on the writer thread at times no test controls, so no fault is
 * injected here and nothing is traced: a fault armed for a save must hit
 * that save's calls.
 */
void sessnap__sys_release(int fd)
{
	close(fd);
}

static int sys_fstat(int fd, struct stat *st)
{
	FAULT(SESSNAP__SYS_STAT, -1);
	return fstat(fd, st);
}

static int sys_fstatat(int dfd, const char *path, struct stat *st, int flags)
{
	FAULT(SESSNAP__SYS_STAT, -1);
	return fstatat(dfd, path, st, flags);
}

static DIR *sys_fdopendir(int fd)
{
	FAULT(SESSNAP__SYS_READDIR, NULL);
	return fdopendir(fd);
}

static struct dirent *sys_readdir(DIR *dir)
{
	FAULT(SESSNAP__SYS_READDIR, NULL);
	return readdir(dir);
}

/* Like close: an injected failure still releases the stream. */
static int sys_closedir(DIR *dir)
{
	int f = fault_check(SESSNAP__SYS_CLOSE);

	if (f > 0) {
		closedir(dir);
		errno = f;
		return -1;
	}
	return closedir(dir);
}

static int sys_thread_create(pthread_t *thread, void *(*fn)(void *),
			     void *arg)
{
	int f = fault_check(SESSNAP__SYS_THREAD);

	if (f > 0)
		return f;
	return pthread_create(thread, NULL, fn, arg);
}

struct sessnap__sys sessnap__sys = {
	.openat = sys_openat,
	.flopenat = sys_flopenat,
	.read = sys_read,
	.write = sys_write,
	.fsync = sys_fsync,
	.fdatasync = sys_fdatasync,
	.fallocate = sys_fallocate,
	.renameat = sys_renameat,
	.linkat = sys_linkat,
	.unlinkat = sys_unlinkat,
	.mkdirat = sys_mkdirat,
	.flock = sys_flock,
	.close = sys_close,
	.fstat = sys_fstat,
	.fstatat = sys_fstatat,
	.fdopendir = sys_fdopendir,
	.readdir = sys_readdir,
	.closedir = sys_closedir,
	.thread_create = sys_thread_create,
};
