/*
 * fdio.c - whole reads and writes on a descriptor, through the seam
 *
 * Every loop of the library that moves a buffer to or from a file needs
 * the same three rules, and here is the one place they are written:
 * continue after a short transfer, retry EINTR a bounded number of times
 * in a row (SESSNAP__EINTR_MAX: a call that fails with EINTR every time
 * must end in an error, not a hang), and treat a write that makes no
 * progress as a full disk rather than spin.  An offset of -1 means the
 * descriptor's own position (read(2), write(2)); any other offset means
 * pread(2), pwrite(2), which leave the position alone.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "internal.h"

int sessnap__write_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	ssize_t n;
	int eintr = 0;

	while (len > 0) {
		n = off < 0 ? SYS(write)(fd, p, len) :
			      SYS(pwrite)(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR && ++eintr < SESSNAP__EINTR_MAX)
				continue;
			return -1;
		}
		eintr = 0;
		if (n == 0) {
			/* No progress and no error: a full disk, not a spin. */
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

ssize_t sessnap__read_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;
	int eintr = 0;

	while (got < len) {
		n = off < 0 ?
			SYS(read)(fd, p + got, len - got) :
			SYS(pread)(fd, p + got, len - got, off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR && ++eintr < SESSNAP__EINTR_MAX)
				continue;
			return -1;
		}
		eintr = 0;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
