/*
 * inject.c - the fault injector and the syscall tracer of the test suite
 *
 * The library's seam (lib/sys.c) is a table of the real system calls and
 * nothing more.  This file, linked into the unit suites only, copies that
 * table before main() runs and installs its own wrappers in it: each one
 * asks the injector whether this call fails, calls the real function
 * otherwise, and reports the call to the tracer when one is set.  The
 * table is global, so from then on every call the library makes goes
 * through a wrapper, on whatever thread: the caller's, the store's writer,
 * the store's closer, the scan's helpers.  Installing before main(),
 * rather than at the first sessnap__fault_arm(), means the table is never
 * written while one of those threads reads it.
 *
 * The injector's state is global and atomic for the same reason: a fault
 * armed on the test's thread may fire on the writer's.  When nothing is
 * armed a wrapped call costs one relaxed load; without a tracer, one load
 * of a pointer.  inject.h says what a suite can ask.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "inject.h"

/* The real calls, as lib/sys.c filled the table. */
static struct sessnap__sys real;

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

/* The offset of the pwrite being traced (-1 for every other call). */
static _Thread_local long long trace_off = -1;

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
	ev.off = trace_off;
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

static int inj_openat(int dfd, const char *path, int flags, mode_t mode)
{
	int fd;

	FAULT(SESSNAP__SYS_OPEN, -1);
	fd = real.openat(dfd, path, flags, mode);
	TRACE(fd >= 0 && ((flags & O_CREAT) || (flags & O_ACCMODE) != O_RDONLY),
	      SESSNAP__TRACE_CREATE, fd, dfd,
	      path, NULL, NULL, 0);
	return fd;
}

static int inj_flopenat(int dfd, const char *path, int flags, mode_t mode)
{
	int fd;

	FAULT(SESSNAP__SYS_OPEN, -1);
	FAULT(SESSNAP__SYS_FLOCK, -1);
	fd = real.flopenat(dfd, path, flags, mode);
	TRACE(fd >= 0 && (flags & O_CREAT), SESSNAP__TRACE_CREATE, fd, dfd,
	      path, NULL, NULL, 0);
	return fd;
}

static ssize_t inj_read(int fd, void *buf, size_t len)
{
	FAULT(SESSNAP__SYS_READ, -1);
	return real.read(fd, buf, len);
}

static ssize_t inj_write(int fd, const void *buf, size_t len)
{
	int f = fault_check(SESSNAP__SYS_WRITE);
	ssize_t n;

	if (f > 0) {
		errno = f;
		return -1;
	}
	if (f < 0 && len > 1)
		len /= 2;
	n = real.write(fd, buf, len);
	TRACE(n > 0, SESSNAP__TRACE_WRITE, fd, -1, NULL, NULL, buf, (size_t)n);
	return n;
}

static ssize_t inj_pread(int fd, void *buf, size_t len, off_t off)
{
	FAULT(SESSNAP__SYS_READ, -1);
	return real.pread(fd, buf, len, off);
}

static ssize_t inj_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	int f = fault_check(SESSNAP__SYS_WRITE);
	ssize_t n;

	if (f > 0) {
		errno = f;
		return -1;
	}
	if (f < 0 && len > 1)
		len /= 2;
	n = real.pwrite(fd, buf, len, off);
	if (trace_fn != NULL && n > 0) {
		trace_off = (long long)off;
		trace(SESSNAP__TRACE_PWRITE, fd, -1, NULL, NULL, buf,
		      (size_t)n);
		trace_off = -1;
	}
	return n;
}

static int inj_fsync(int fd)
{
	int r;

	FAULT(SESSNAP__SYS_FSYNC, -1);
	r = real.fsync(fd);
	TRACE(r == 0, SESSNAP__TRACE_FSYNC, fd, -1, NULL, NULL, NULL, 0);
	return r;
}

static int inj_fdatasync(int fd)
{
	int r;

	FAULT(SESSNAP__SYS_FSYNC, -1);
	r = real.fdatasync(fd);
	TRACE(r == 0, SESSNAP__TRACE_FSYNC, fd, -1, NULL, NULL, NULL, 0);
	return r;
}

static int inj_fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;

	FAULT(SESSNAP__SYS_FALLOCATE, -1);
	r = real.fallocate(fd, mode, off, len);
	TRACE(r == 0, SESSNAP__TRACE_FALLOCATE, fd, -1, NULL, NULL, NULL,
	      (size_t)(off + len));
	return r;
}

/* A hint on a new file, as fallocate is, and of its kind: the library
 * goes on without it whatever it returns. */
static int inj_in_place(int fd)
{
	FAULT(SESSNAP__SYS_FALLOCATE, -1);
	return real.in_place(fd);
}

static int inj_renameat(int odfd, const char *oldp, int ndfd, const char *newp)
{
	int r;

	FAULT(SESSNAP__SYS_RENAME, -1);
	r = real.renameat(odfd, oldp, ndfd, newp);
	TRACE(r == 0, SESSNAP__TRACE_RENAME, -1, odfd, oldp, newp, NULL, 0);
	return r;
}

static int inj_linkat(int odfd, const char *oldp, int ndfd, const char *newp,
		      int flags)
{
	int r;

	FAULT(SESSNAP__SYS_LINK, -1);
	r = real.linkat(odfd, oldp, ndfd, newp, flags);
	TRACE(r == 0, SESSNAP__TRACE_LINK, -1, odfd, oldp, newp, NULL, 0);
	return r;
}

static int inj_unlinkat(int dfd, const char *path, int flags)
{
	int r;

	FAULT(SESSNAP__SYS_UNLINK, -1);
	r = real.unlinkat(dfd, path, flags);
	TRACE(r == 0, SESSNAP__TRACE_UNLINK, -1, dfd, path, NULL, NULL, 0);
	return r;
}

static int inj_mkdirat(int dfd, const char *path, mode_t mode)
{
	int r;

	FAULT(SESSNAP__SYS_MKDIR, -1);
	r = real.mkdirat(dfd, path, mode);
	TRACE(r == 0, SESSNAP__TRACE_MKDIR, -1, dfd, path, NULL, NULL, 0);
	return r;
}

static int inj_flock(int fd, int op)
{
	FAULT(SESSNAP__SYS_FLOCK, -1);
	return real.flock(fd, op);
}

/*
 * A failed close still releases the descriptor on Linux, so an injected
 * close failure closes it too: the caller must never retry a close.
 */
static int inj_close(int fd)
{
	int f = fault_check(SESSNAP__SYS_CLOSE);
	int r;

	r = real.close(fd);
	TRACE(true, SESSNAP__TRACE_CLOSE, fd, -1, NULL, NULL, NULL, 0);
	if (f > 0) {
		errno = f;
		return -1;
	}
	return r;
}

static int inj_fstat(int fd, struct stat *st)
{
	FAULT(SESSNAP__SYS_STAT, -1);
	return real.fstat(fd, st);
}

static int inj_fstatat(int dfd, const char *path, struct stat *st, int flags)
{
	FAULT(SESSNAP__SYS_STAT, -1);
	return real.fstatat(dfd, path, st, flags);
}

static DIR *inj_fdopendir(int fd)
{
	FAULT(SESSNAP__SYS_READDIR, NULL);
	return real.fdopendir(fd);
}

static struct dirent *inj_readdir(DIR *dir)
{
	FAULT(SESSNAP__SYS_READDIR, NULL);
	return real.readdir(dir);
}

/* Like close: an injected failure still releases the stream. */
static int inj_closedir(DIR *dir)
{
	int f = fault_check(SESSNAP__SYS_CLOSE);
	int r;

	r = real.closedir(dir);
	if (f > 0) {
		errno = f;
		return -1;
	}
	return r;
}

/* A thread started while threads are held waits here before it runs. */
static atomic_int threads_held;

struct held_start {
	void *(*fn)(void *);
	void *arg;
};

static void *held_main(void *p)
{
	struct held_start h = *(struct held_start *)p;

	free(p);
	while (atomic_load(&threads_held))
		poll(NULL, 0, 1);
	return h.fn(h.arg);
}

void sessnap__thread_hold(bool hold)
{
	atomic_store(&threads_held, hold);
}

static int inj_thread_create(pthread_t *thread, void *(*fn)(void *),
			     void *arg)
{
	int f = fault_check(SESSNAP__SYS_THREAD);
	struct held_start *h;

	if (f > 0)
		return f;
	if (!atomic_load(&threads_held))
		return real.thread_create(thread, fn, arg);
	h = malloc(sizeof(*h));
	if (h == NULL)
		return ENOMEM;
	h->fn = fn;
	h->arg = arg;
	f = real.thread_create(thread, held_main, h);
	if (f != 0)
		free(h);
	return f;
}

/*
 * The lease's calls (lib/lease.c).  Its pwrite is inj_pwrite() above: a
 * WRITE to the injector, a SESSNAP__TRACE_PWRITE at its offset to the
 * tracer (the one at offset 0 of a new lock file is begin's record; a
 * renewal rewrites the same bytes in place).  ftruncate and futimens
 * count as writes, fstatfs as a stat.
 */
static int inj_ftruncate(int fd, off_t len)
{
	FAULT(SESSNAP__SYS_WRITE, -1);
	return real.ftruncate(fd, len);
}

static int inj_futimens(int fd, const struct timespec times[2])
{
	FAULT(SESSNAP__SYS_WRITE, -1);
	return real.futimens(fd, times);
}

static int inj_fstatfs(int fd, struct statfs *st)
{
	FAULT(SESSNAP__SYS_STAT, -1);
	return real.fstatfs(fd, st);
}

/*
 * Several hosts on one machine (tests of leases and cross-host
 * recovery): a process started with these variables in its environment
 * plays another host.  SESSNAP_TEST_HOST replaces the host name,
 * SESSNAP_TEST_BOOT_ID the boot id, and SESSNAP_TEST_CLOCK_OFFSET_MS
 * (signed) is added to the wall clock, for hosts whose clocks are off.
 * Read once, before main().
 */
static char test_host[SESSNAP_HOST_MAX + 1];
static char test_boot_id[40];
static int64_t test_clock_offset_ms;

static int test_gethostname(char *name, size_t len)
{
	strlcpy(name, test_host, len);
	return 0;
}

static void test_boot_id_read(char *buf, size_t len)
{
	strlcpy(buf, test_boot_id, len);
}

static int test_clock_gettime(clockid_t clock, struct timespec *ts)
{
	int64_t ns;
	int r = real.clock_gettime(clock, ts);

	if (r == 0 && clock == CLOCK_REALTIME) {
		ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec +
		     test_clock_offset_ms * 1000000;
		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
		if (ts->tv_nsec < 0) {
			ts->tv_nsec += 1000000000;
			ts->tv_sec--;
		}
	}
	return r;
}

static void install_host(void)
{
	const char *v;
	const char *err = NULL;

	if ((v = getenv("SESSNAP_TEST_HOST")) != NULL && v[0] != '\0') {
		strlcpy(test_host, v, sizeof(test_host));
		sessnap__sys.gethostname = test_gethostname;
	}
	if ((v = getenv("SESSNAP_TEST_BOOT_ID")) != NULL) {
		strlcpy(test_boot_id, v, sizeof(test_boot_id));
		sessnap__sys.boot_id = test_boot_id_read;
	}
	if ((v = getenv("SESSNAP_TEST_CLOCK_OFFSET_MS")) != NULL) {
		test_clock_offset_ms = strtonum(v, -86400000000LL,
						86400000000LL, &err);
		if (err == NULL)
			sessnap__sys.clock_gettime = test_clock_gettime;
	}
}

/*
 * Runs before main(), so before any thread of the library exists: the
 * table is written once, while nothing can read it.
 */
__attribute__((constructor)) static void install(void)
{
	real = sessnap__sys;
	sessnap__sys.openat = inj_openat;
	sessnap__sys.flopenat = inj_flopenat;
	sessnap__sys.read = inj_read;
	sessnap__sys.write = inj_write;
	sessnap__sys.pread = inj_pread;
	sessnap__sys.pwrite = inj_pwrite;
	sessnap__sys.fsync = inj_fsync;
	sessnap__sys.fdatasync = inj_fdatasync;
	sessnap__sys.fallocate = inj_fallocate;
	sessnap__sys.in_place = inj_in_place;
	sessnap__sys.renameat = inj_renameat;
	sessnap__sys.linkat = inj_linkat;
	sessnap__sys.unlinkat = inj_unlinkat;
	sessnap__sys.mkdirat = inj_mkdirat;
	sessnap__sys.flock = inj_flock;
	sessnap__sys.close = inj_close;
	sessnap__sys.fstat = inj_fstat;
	sessnap__sys.fstatat = inj_fstatat;
	sessnap__sys.fdopendir = inj_fdopendir;
	sessnap__sys.readdir = inj_readdir;
	sessnap__sys.closedir = inj_closedir;
	sessnap__sys.thread_create = inj_thread_create;
	sessnap__sys.ftruncate = inj_ftruncate;
	sessnap__sys.futimens = inj_futimens;
	sessnap__sys.fstatfs = inj_fstatfs;
	install_host();
}
