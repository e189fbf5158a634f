/*
 * testutil.c -- temporary directory fixture and small helpers for the unit
 * suites (see testutil.h for the lifecycle).
 *
 * The root directory is made in the runner process by an unchecked setup
 * and removed by an unchecked teardown, because check skips a checked
 * teardown when the test fails.  Each test gets its own subdirectory from a
 * checked setup, so tests never see each other's files, whether check forks
 * or not.
 *
 * Removal walks the tree twice with nftw(FTW_PHYS), never following a
 * symbolic link: first it makes every directory 0700 (a test may leave a
 * read-only or unreadable directory behind, which nftw can then neither
 * list nor empty), then it removes entries depth first.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char root_buf[PATH_MAX];
static char dir_buf[PATH_MAX];

const char *tu_dir;
const char *tu_root;

/* Directories nftw could not read during the current chmod pass. */
static int unreadable;

static int make_writable(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	(void)st;
	(void)ftw;

	switch (type) {
	case FTW_DNR:
		unreadable++;
		(void)chmod(path, 0700);
		break;
	case FTW_D:
		(void)chmod(path, 0700);
		break;
	case FTW_F:
		(void)chmod(path, 0600);
		break;
	default:
		/* symbolic links and the unstat-able: leave them alone */
		break;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;

	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int tu_rm_rf(const char *path)
{
	struct stat st;
	int passes;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);

	/*
	 * Each pass opens up one more level of unreadable directories: nftw
	 * reports an unreadable directory without descending into it.
	 */
	for (passes = 0; passes < 64; passes++) {
		unreadable = 0;
		if (nftw(path, make_writable, 16, FTW_PHYS) != 0)
			return -1;
		if (unreadable == 0)
			break;
	}
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_root_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	n = snprintf(root_buf, sizeof(root_buf), "%s/sessnap-test.XXXXXX", tmp);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(root_buf), "TMPDIR too long");
	ck_assert_msg(mkdtemp(root_buf) != NULL, "mkdtemp %s: %s", root_buf,
		      strerror(errno));
	tu_root = root_buf;
}

void tu_root_teardown(void)
{
	if (tu_root != NULL && tu_rm_rf(tu_root) != 0)
		fprintf(stderr, "testutil: cannot remove %s: %s\n", tu_root,
			strerror(errno));
	tu_root = NULL;
	tu_dir = NULL;
}

void tu_dir_setup(void)
{
	ck_assert_msg(tu_root != NULL, "tu_dir_setup without tu_root_setup");
	tu_join(dir_buf, sizeof(dir_buf), tu_root, "t.XXXXXX");
	ck_assert_msg(mkdtemp(dir_buf) != NULL, "mkdtemp %s: %s", dir_buf,
		      strerror(errno));
	tu_dir = dir_buf;
}

void tu_dir_teardown(void)
{
	/* the root's teardown removes the directory, failed test or not */
	tu_dir = NULL;
}

void tu_tcase_add_tmpdir(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, tu_root_setup, tu_root_teardown);
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
}

void tu_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	ck_assert_msg(n > 0 && (size_t)n < size, "path too long: %s/%s", dir,
		      name);
}

void tu_write_file(const char *dir, const char *name, const void *bytes,
		   size_t len)
{
	char path[PATH_MAX];
	const char *p = bytes;
	int fd;

	tu_join(path, sizeof(path), dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "write %s: %s", path,
			      n < 0 ? strerror(errno) : "wrote nothing");
		p += n;
		len -= (size_t)n;
	}
	ck_assert_msg(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

char *tu_read_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t used = 0, cap = 0;
	int fd, saved_errno;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (cap - used < 2) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nbuf = realloc(buf, ncap);

			if (nbuf == NULL)
				goto on_error;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto on_error;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	if (len != NULL)
		*len = used;
	return buf;

on_error:
	saved_errno = errno;
	free(buf);
	close(fd);
	errno = saved_errno;
	return NULL;
}

static int count_entries(const char *dir, const char *prefix, int skip_fd)
{
	struct dirent *de;
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	DIR *d;
	int n = 0;

	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (skip_fd &&
		    strtonum(de->d_name, 0, INT_MAX, NULL) == dirfd(d))
			continue;
		if (prefix != NULL && strncmp(de->d_name, prefix, plen) != 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * Defined by the library (owner.c, closer.c) when the test links the
 * internal library; a test linked against the public library alone has no
 * stores' internals to wait for.
 */
struct sessnap_store;
void sessnap__owner_foreach(void (*fn)(struct sessnap_store *store))
    __attribute__((weak));
bool sessnap__closer_drain(struct sessnap_store *store) __attribute__((weak));

static void drain_one(struct sessnap_store *store)
{
	sessnap__closer_drain(store);
}

void tu_closers_drain(void)
{
	if (sessnap__owner_foreach != NULL && sessnap__closer_drain != NULL)
		sessnap__owner_foreach(drain_one);
}

int tu_count_fds(void)
{
	int n;

	/* Saves and the cleaner hand the files they unlinked to a closer. */
	tu_closers_drain();
	n = count_entries("/proc/self/fd", NULL, 1);

	ck_assert_msg(n >= 0, "cannot read /proc/self/fd: %s", strerror(errno));
	return n;
}

int tu_count_files(const char *dir, const char *prefix)
{
	return count_entries(dir, prefix, 0);
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int tu_why_copy(char *why, size_t len, int rc, const char *msg)
{
	strlcpy(why, rc < 0 ? msg : "", len);
	return rc;
}
