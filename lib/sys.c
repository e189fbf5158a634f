/*
 * sys.c - the system-call seam
 *
 * Every system call that libsessnap makes on a store goes through the
 * table sessnap__sys (call sites write SYS(write)(...)).  Here the table
 * holds the real calls and nothing else: the library ships no fault
 * injector, no tracer and no switch that turns either on.
 *
 * The table is writable so that the test suite can put its own functions
 * in front of the real ones.  tests/inject.c does, before main() runs: it
 * keeps a copy of this table and installs wrappers that fail the Nth call
 * of chosen kinds with a chosen errno, make short writes, or report every
 * call that changes the store to a tracer.  That is how the suite proves
 * that every failure point of a save leaves the previous snapshot intact
 * and no temporary file behind (root bypasses EACCES and no unprivileged
 * test can fill a disk on demand), and how it replays a power loss at
 * every instant of a sequence of saves.  Because the table is one global,
 * the wrappers serve the store's writer thread as well as the caller's.
 *
 * Most entries point at the libc function itself; the few below adapt a
 * variadic or wider signature to the table's.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <libutil.h>

#include "internal.h"

/*
 * FS_NOCOW_FL through the inode flags (what `chattr +C` sets).  The
 * kernel reads and writes an int through these two requests, whatever
 * their declared type.
 */
static int sys_in_place(int fd)
{
	int flags = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -1;
	if (flags & FS_NOCOW_FL)
		return 0;
	flags |= FS_NOCOW_FL;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static int sys_openat(int dfd, const char *path, int flags, mode_t mode)
{
	return openat(dfd, path, flags, mode);
}

static int sys_flopenat(int dfd, const char *path, int flags, mode_t mode)
{
	return flopenat(dfd, path, flags, mode);
}

static int sys_thread_create(pthread_t *thread, void *(*fn)(void *),
			     void *arg)
{
	return pthread_create(thread, NULL, fn, arg);
}

static int sys_gethostname(char *name, size_t len)
{
	return gethostname(name, len);
}

/* The kernel's id of this boot: its first line, "" when unreadable. */
static void sys_boot_id(char *buf, size_t len)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Close a descriptor held only so that an unlinked file is freed later
 * (closer.c).  Its result cannot matter, and these closes run on the
 * store's closer thread at times no test controls, so it bypasses the
 * table: a fault that a test arms for a save must hit that save's calls.
 */
void sessnap__sys_release(int fd)
{
	close(fd);
}

struct sessnap__sys sessnap__sys = {
	.openat = sys_openat,
	.flopenat = sys_flopenat,
	.read = read,
	.write = write,
	.pread = pread,
	.pwrite = pwrite,
	.fsync = fsync,
	.fdatasync = fdatasync,
	.fallocate = fallocate,
	.in_place = sys_in_place,
	.renameat = renameat,
	.linkat = linkat,
	.unlinkat = unlinkat,
	.mkdirat = mkdirat,
	.flock = flock,
	.close = close,
	.fstat = fstat,
	.fstatat = fstatat,
	.fdopendir = fdopendir,
	.readdir = readdir,
	.closedir = closedir,
	.thread_create = sys_thread_create,
	.ftruncate = ftruncate,
	.futimens = futimens,
	.fstatfs = fstatfs,
	.gethostname = sys_gethostname,
	.boot_id = sys_boot_id,
	.clock_gettime = clock_gettime,
};
