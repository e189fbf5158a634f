/*
 * check_atomic.c - the atomic, durable replace of a store file
 *
 * sessnap__atomic_replace() promises: the target holds its old or its new
 * content, complete, whatever fails; a failure leaves no temporary file,
 * no open descriptor, and a message naming the step and the file.  These
 * tests hold it to that with the system-call seam: every call of each kind
 * (write, fdatasync, fallocate, close, link, rename, ...) is failed in turn,
 * first once and then persistently, with each errno a disk or a quota can
 * produce, and the store directory is checked after every attempt.  EINTR
 * and short writes must be absorbed, and the durability levels must make
 * exactly the fsync calls they promise.
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

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define NAME "0123456789abcdef0123456789abcdef.snap"
#define PREV NAME ".prev"
#define GEN2 NAME ".2"
#define GEN3 NAME ".3"
#define GEN4 NAME ".4"

static const char older[] = "the older content\n";
static const char old[] = "the old content, which must survive\n";
static const char fresh[] = "the new content, complete or not at all\n";

static sessnap_store *open_store(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "atomictest";
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static int replace(sessnap_store *store, const void *data, size_t len,
		   sessnap_durability durability, bool *committed)
{
	sessnap__buf buf = { data, len };
	bool c = false;
	int rc;

	rc = sessnap__atomic_replace(store, NAME, PREV, &buf, 1, durability,
				     &c);
	if (committed != NULL)
		*committed = c;
	return rc;
}

/* Whether file `name` of the test directory holds exactly `want`. */
static bool file_is(const char *name, const char *want)
{
	char path[PATH_MAX];
	size_t len = 0;
	char *got;
	bool same;

	tu_join(path, sizeof(path), tu_dir, name);
	got = tu_read_file(path, &len);
	if (got == NULL)
		return false;
	same = len == strlen(want) && memcmp(got, want, len) == 0;
	free(got);
	return same;
}

static bool file_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	tu_join(path, sizeof(path), tu_dir, name);
	return lstat(path, &st) == 0;
}

static int expected_code(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return SESSNAP_ENOSPC;
	case EACCES:
		return SESSNAP_EPERM;
	default:
		return SESSNAP_EIO;
	}
}

START_TEST(test_creates_0600)
{
	sessnap_store *store = open_store();
	char path[PATH_MAX];
	struct stat st;
	mode_t mask;

	tu_join(path, sizeof(path), tu_dir, NAME);
	mask = umask(0);
	ck_assert_int_eq(
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_NONE, NULL),
	    0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	umask(077);
	ck_assert_int_eq(
	    replace(store, old, strlen(old), SESSNAP_DURABILITY_NONE, NULL), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	umask(mask);
	ck_assert(file_is(NAME, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_keeps_prev)
{
	sessnap_store *store = open_store();
	bool committed = false;

	ck_assert_int_eq(replace(store, older, strlen(older),
				 SESSNAP_DURABILITY_FULL, &committed),
			 0);
	ck_assert(committed);
	ck_assert(file_is(NAME, older));
	ck_assert(!file_exists(PREV));
	ck_assert_int_eq(
	    replace(store, old, strlen(old), SESSNAP_DURABILITY_FULL, NULL), 0);
	ck_assert(file_is(NAME, old));
	ck_assert(file_is(PREV, older));
	ck_assert_int_eq(
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL),
	    0);
	ck_assert(file_is(NAME, fresh));
	ck_assert(file_is(PREV, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * The file that the save unlinked (the generation before the previous one)
 * is not freed by the save: it is handed, open, to the store's closer, which
 * frees it at its close.  When nothing was unlinked, nothing is handed.
 * The closer's thread is held, so what it was handed stays in its queue.
 */
START_TEST(test_unlinked_handed_to_closer)
{
	sessnap_store *store = open_store();
	const char *gens[] = { older, old, fresh };
	char got[64];
	struct stat st;
	bool committed;
	int i, fd;

	sessnap__thread_hold(true);
	for (i = 0; i < 3; i++) {
		sessnap__buf buf = { gens[i], strlen(gens[i]) };

		ck_assert_int_eq(sessnap__atomic_replace(
				     store, NAME, PREV, &buf, 1,
				     SESSNAP_DURABILITY_NONE, &committed),
				 0);
		/* no previous generation to unlink before the third */
		ck_assert_uint_eq(store->closer.head - store->closer.tail,
				  i < 2 ? 0 : 1);
	}
	fd = store->closer.fds[store->closer.tail % SESSNAP__CLOSER_MAX];
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_int_eq(pread(fd, got, sizeof(got), 0),
			 (ssize_t)strlen(older));
	ck_assert(memcmp(got, older, strlen(older)) == 0);
	ck_assert(file_is(NAME, fresh));
	ck_assert(file_is(PREV, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap__thread_hold(false);
	sessnap_store_close(store);
	/* The store's close waited for the closer: the file is gone. */
	errno = 0;
	ck_assert_int_eq(fstat(fd, &st), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* Several buffers are written back to back, an empty one included. */
START_TEST(test_several_buffers)
{
	sessnap_store *store = open_store();
	sessnap__buf bufs[3] = { { "head\n", 5 }, { "", 0 }, { "tail\n", 5 } };
	bool committed;

	ck_assert_int_eq(sessnap__atomic_replace(store, NAME, NULL, bufs, 3,
						 SESSNAP_DURABILITY_NONE,
						 &committed),
			 0);
	ck_assert(file_is(NAME, "head\ntail\n"));
	/* Without prev_name no previous generation is kept. */
	ck_assert_int_eq(sessnap__atomic_replace(store, NAME, NULL, bufs, 1,
						 SESSNAP_DURABILITY_NONE,
						 &committed),
			 0);
	ck_assert(file_is(NAME, "head\n"));
	ck_assert(!file_exists(PREV));
	sessnap_store_close(store);
}
END_TEST

/* Count the fsync/fdatasync calls of one replace at a durability level. */
static unsigned long fsyncs(sessnap_store *store, sessnap_durability d)
{
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, ULONG_MAX, EIO, 0);
	ck_assert_int_eq(replace(store, fresh, strlen(fresh), d, NULL), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 0);
	return sessnap__fault_disarm();
}

START_TEST(test_durability_levels)
{
	sessnap_store *store = open_store();

	ck_assert_uint_eq(fsyncs(store, SESSNAP_DURABILITY_FULL), 2);
	ck_assert_uint_eq(fsyncs(store, SESSNAP_DURABILITY_FILE), 1);
	ck_assert_uint_eq(fsyncs(store, SESSNAP_DURABILITY_NONE), 0);
	ck_assert(file_is(NAME, fresh));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_eintr_retried)
{
	sessnap_store *store = open_store();
	unsigned long nth;

	for (nth = 1; nth <= 3; nth++) {
		sessnap__fault_arm(SESSNAP__SYS_WRITE, nth, EINTR, 0);
		ck_assert_int_eq(replace(store, fresh, strlen(fresh),
					 SESSNAP_DURABILITY_FULL, NULL),
				 0);
		if (nth == 1)
			ck_assert_uint_eq(sessnap__fault_fired(), 1);
		sessnap__fault_disarm();
		ck_assert(file_is(NAME, fresh));
	}
	/* An interrupted fallocate is only an optimisation lost. */
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, EINTR, 0);
	ck_assert_int_eq(
	    replace(store, old, strlen(old), SESSNAP_DURABILITY_FULL, NULL), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert(file_is(NAME, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_short_writes)
{
	sessnap_store *store = open_store();
	size_t len = 100000, i;
	char *big = malloc(len + 1);

	for (i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, 0,
			   SESSNAP__FAULT_SHORT | SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(
	    replace(store, big, len, SESSNAP_DURABILITY_FULL, NULL), 0);
	/* Every write was cut in half: about log2(len) of them. */
	ck_assert_uint_gt(sessnap__fault_fired(), 10);
	sessnap__fault_disarm();
	ck_assert(file_is(NAME, big));
	free(big);
	sessnap_store_close(store);
}
END_TEST

static void unlink_file(const char *name)
{
	char path[PATH_MAX];

	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert(unlink(path) == 0 || errno == ENOENT);
}

static void reset_files(void)
{
	unlink_file(NAME);
	unlink_file(PREV);
	tu_write_file(tu_dir, NAME, old, strlen(old));
	tu_write_file(tu_dir, PREV, older, strlen(older));
}

/*
 * Fail the nth call of `kind` (n = 1, 2, ... until the replace succeeds),
 * once or persistently, and check the store after each attempt.
 */
static void fail_in_turn(unsigned int kind, int err, unsigned int flags)
{
	sessnap_store *store = open_store();
	char ebuf[128];
	unsigned long nth;
	int fds;

	for (nth = 1; nth < 50; nth++) {
		unsigned long fired;
		bool committed = false;
		const char *msg;
		int rc;

		/* Separate inodes: a failed commit leaves one behind. */
		reset_files();
		fds = tu_count_fds();
		sessnap__fault_arm(kind, nth, err, flags);
		rc = replace(store, fresh, strlen(fresh),
			     SESSNAP_DURABILITY_FULL, &committed);
		fired = sessnap__fault_fired();
		sessnap__fault_disarm();
		msg = sessnap_error_last();

		ck_assert_msg(tu_count_files(tu_dir, ".") == 0,
			      "nth %lu: a temporary file remains (%s)", nth,
			      msg);
		ck_assert_int_eq(tu_count_fds(), fds);
		if (fired == 0) {
			ck_assert_int_eq(rc, 0);
			ck_assert(file_is(NAME, fresh));
			ck_assert(file_is(PREV, old));
			ck_assert_uint_gt(nth, 1);
			break;
		}
		if (committed && rc == 0) {
			/*
			 * Only one call may fail without failing the save:
			 * the open (or fstat) of the generation that the
			 * save unlinks, held so that it is freed later.
			 * The save then frees it itself.
			 */
			ck_assert(kind & (SESSNAP__SYS_OPEN | SESSNAP__SYS_STAT));
			ck_assert(file_is(NAME, fresh));
			ck_assert(file_is(PREV, old));
			continue;
		}
		if (committed) {
			/* Only the directory fsync comes after the commit. */
			ck_assert(kind & SESSNAP__SYS_FSYNC);
			ck_assert_int_eq(rc, SESSNAP_EDURABILITY);
			ck_assert(file_is(NAME, fresh));
			ck_assert(file_is(PREV, old));
			ck_assert_msg(strstr(msg, "fsync of the directory") &&
					  strstr(msg, tu_dir),
				      "message \"%s\"", msg);
			continue;
		}
		ck_assert_msg(rc == expected_code(err), "nth %lu: %s for %s",
			      nth, sessnap_error_name(rc), strerror(err));
		ck_assert_msg(file_is(NAME, old), "nth %lu: the target changed",
			      nth);
		/* prev is the older generation, or already the old one. */
		ck_assert(file_is(PREV, older) || file_is(PREV, old));
		ck_assert_msg(
		    strstr(msg, " failed: ") != NULL &&
			strstr(msg, tu_dir) != NULL &&
			strstr(msg, sessnap__strerror_r(err, ebuf,
							sizeof(ebuf))) != NULL,
		    "message \"%s\"", msg);
		switch (kind) {
		case SESSNAP__SYS_WRITE:
			ck_assert_ptr_nonnull(strstr(msg, "write of"));
			break;
		case SESSNAP__SYS_FSYNC:
			ck_assert_ptr_nonnull(strstr(msg, "fdatasync of"));
			break;
		case SESSNAP__SYS_FALLOCATE:
			ck_assert_ptr_nonnull(strstr(msg, "fallocate of"));
			break;
		case SESSNAP__SYS_CLOSE:
			ck_assert_ptr_nonnull(strstr(msg, "close of"));
			break;
		case SESSNAP__SYS_LINK:
			ck_assert_ptr_nonnull(strstr(msg, "link of"));
			break;
		case SESSNAP__SYS_RENAME:
			ck_assert_ptr_nonnull(strstr(msg, "rename"));
			break;
		case SESSNAP__SYS_OPEN:
			ck_assert_ptr_nonnull(strstr(msg, "create of"));
			break;
		default:
			/* a mixed mask: any step may have failed */
			break;
		}
	}
	ck_assert_uint_lt(nth, 50);
	/* A later save starts from scratch and succeeds. */
	ck_assert_int_eq(
	    replace(store, older, strlen(older), SESSNAP_DURABILITY_FULL, NULL),
	    0);
	ck_assert(file_is(NAME, older));
	sessnap_store_close(store);
}

static const unsigned int fault_kinds[] = {
	SESSNAP__SYS_WRITE, SESSNAP__SYS_FSYNC, SESSNAP__SYS_FALLOCATE,
	SESSNAP__SYS_CLOSE, SESSNAP__SYS_LINK,	SESSNAP__SYS_RENAME,
	SESSNAP__SYS_OPEN,  SESSNAP__SYS_STAT,
};
static const int fault_errs[] = { ENOSPC, EIO, EDQUOT, EFBIG, EACCES };
#define NKINDS (sizeof(fault_kinds) / sizeof(fault_kinds[0]))
#define NERRS (sizeof(fault_errs) / sizeof(fault_errs[0]))

/* _i runs over kinds x errnos. */
START_TEST(test_fail_once)
{
	fail_in_turn(fault_kinds[_i / NERRS], fault_errs[_i % NERRS], 0);
}
END_TEST

START_TEST(test_fail_persistent)
{
	fail_in_turn(fault_kinds[_i / NERRS], fault_errs[_i % NERRS],
		     SESSNAP__FAULT_PERSISTENT);
}
END_TEST

/* Every kind at once: whichever call fails first. */
START_TEST(test_fail_any_call)
{
	fail_in_turn(SESSNAP__SYS_ALL &
			 ~(SESSNAP__SYS_UNLINK | SESSNAP__SYS_STAT),
		     fault_errs[_i], 0);
}
END_TEST

/*
 * A commit rename that fails after the previous generation was kept leaves
 * the target and .prev as two names of one inode.  The next save must
 * still leave no temporary file (rename between two links of one file is
 * a successful no-op).
 */
START_TEST(test_after_failed_commit)
{
	sessnap_store *store = open_store();

	reset_files();
	sessnap__fault_arm(SESSNAP__SYS_RENAME, 2, EIO, 0);
	ck_assert_int_eq(
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL),
	    SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert(file_is(NAME, old));
	ck_assert(file_is(PREV, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	ck_assert_int_eq(
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL),
	    0);
	ck_assert(file_is(NAME, fresh));
	ck_assert(file_is(PREV, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

static ssize_t write_nothing(int fd, const void *buf, size_t len)
{
	(void)fd;
	(void)buf;
	(void)len;
	return 0;
}

/* A write that makes no progress is an error, not an endless loop. */
START_TEST(test_write_returns_zero)
{
	sessnap_store *store = open_store();
	ssize_t (*saved)(int, const void *, size_t) = sessnap__sys.write;
	int rc;

	tu_write_file(tu_dir, NAME, old, strlen(old));
	sessnap__sys.write = write_nothing;
	rc =
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL);
	sessnap__sys.write = saved;
	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "write of"));
	ck_assert(file_is(NAME, old));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

static int link_unsupported(int odfd, const char *oldp, int ndfd,
			    const char *newp, int flags)
{
	(void)odfd;
	(void)oldp;
	(void)ndfd;
	(void)newp;
	(void)flags;
	errno = EPERM;
	return -1;
}

/* File systems without hard links still get the atomic replace. */
START_TEST(test_no_hard_links)
{
	sessnap_store *store = open_store();
	int (*saved)(int, const char *, int, const char *, int) =
	    sessnap__sys.linkat;
	int rc;

	tu_write_file(tu_dir, NAME, old, strlen(old));
	sessnap__sys.linkat = link_unsupported;
	rc =
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL);
	sessnap__sys.linkat = saved;
	ck_assert_int_eq(rc, 0);
	ck_assert(file_is(NAME, fresh));
	ck_assert(!file_exists(PREV));
	sessnap_store_close(store);
}
END_TEST

static int link_errno;
static char link_log[512];

static int link_fails(int odfd, const char *oldp, int ndfd, const char *newp,
		      int flags)
{
	(void)odfd;
	(void)oldp;
	(void)ndfd;
	(void)newp;
	(void)flags;
	errno = link_errno;
	return -1;
}

static void keep_log(sessnap_log_level level, const char *msg, void *payload)
{
	(void)payload;
	if (level >= SESSNAP_LOG_INFO)
		strlcpy(link_log, msg, sizeof(link_log));
}

static const int link_errs[] = { EMLINK, EPERM, EOPNOTSUPP, ENOSYS };

/*
 * Where the current file cannot be linked, the `prev` of an earlier save
 * would be two generations behind after this one: it is removed, and the
 * log says so.  The new content is committed either way.
 */
START_TEST(test_link_fails_drops_stale_prev)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int (*saved)(int, const char *, int, const char *, int) =
	    sessnap__sys.linkat;
	int rc;

	opts.dir = tu_dir;
	opts.app = "atomictest";
	opts.log = keep_log;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	link_log[0] = '\0';
	tu_write_file(tu_dir, NAME, older, strlen(older));
	ck_assert_int_eq(replace(store, old, strlen(old),
				 SESSNAP_DURABILITY_FULL, NULL),
			 0);
	ck_assert(file_is(PREV, older));
	link_errno = link_errs[_i];
	sessnap__sys.linkat = link_fails;
	rc =
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL);
	sessnap__sys.linkat = saved;
	ck_assert_int_eq(rc, 0);
	ck_assert(file_is(NAME, fresh));
	ck_assert_msg(!file_exists(PREV), "a stale %s was kept", PREV);
	ck_assert_msg(strstr(link_log, "removed the stale") != NULL,
		      "log: \"%s\"", link_log);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

/* A store that keeps `n` older generations. */
static sessnap_store *open_store_gens(unsigned int n)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "atomictest";
	opts.generations = n;
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static const char *const contents[] = { "c1\n", "c2\n", "c3\n",
					"c4\n", "c5\n", "c6\n" };
static const char *const gen_names[] = { NAME, PREV, GEN2, GEN3, GEN4 };

/*
 * With three older generations kept, each save moves every generation up
 * one name and drops the oldest; nothing beyond <id>.snap.3 appears, no
 * temporary file stays, and the dropped one goes to the closer.
 */
START_TEST(test_keeps_n_generations)
{
	sessnap_store *store = open_store_gens(3);
	int i, k;

	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(replace(store, contents[i],
					 strlen(contents[i]),
					 SESSNAP_DURABILITY_FULL, NULL),
				 0);
		for (k = 0; k < 5; k++) {
			if (k <= 3 && k <= i)
				ck_assert_msg(
				    file_is(gen_names[k], contents[i - k]),
				    "save %d: %s", i, gen_names[k]);
			else
				ck_assert_msg(!file_exists(gen_names[k]),
					      "save %d: %s exists", i,
					      gen_names[k]);
		}
		ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	}
	sessnap_store_close(store);
}
END_TEST

/* The store option is checked: 0 is the default of 1, above the most is
 * refused. */
START_TEST(test_generations_option)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;

	opts.dir = tu_dir;
	opts.app = "atomictest";
	opts.generations = SESSNAP_GENERATIONS_MAX + 1;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "generations"));
	store = open_store_gens(0);
	ck_assert_uint_eq(store->generations, 1);
	sessnap_store_close(store);
	store = open_store_gens(SESSNAP_GENERATIONS_MAX);
	ck_assert_uint_eq(store->generations, SESSNAP_GENERATIONS_MAX);
	sessnap_store_close(store);
}
END_TEST

/* The calls of one kind that a save makes with its generations full. */
static unsigned long calls_of_save(unsigned int gens, unsigned int kind)
{
	sessnap_store *store = open_store_gens(gens);
	unsigned long n;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(replace(store, contents[i],
					 strlen(contents[i]),
					 SESSNAP_DURABILITY_FULL, NULL),
				 0);
	sessnap__fault_arm(kind, 1000, EIO, 0);
	ck_assert_int_eq(replace(store, contents[4], strlen(contents[4]),
				 SESSNAP_DURABILITY_FULL, NULL),
			 0);
	n = sessnap__fault_disarm();
	sessnap_store_close(store);
	for (i = 0; i < 5; i++)
		unlink_file(gen_names[i]);
	return n;
}

/*
 * The default costs what one .prev always cost: N = 1 makes the same calls
 * as a store opened before the option existed (0); each generation above
 * the first adds one rename, and the oldest is opened and fstat'ed (held
 * for the closer) instead of .prev.
 */
START_TEST(test_generation_costs)
{
	unsigned int kinds[] = { SESSNAP__SYS_RENAME, SESSNAP__SYS_OPEN,
				 SESSNAP__SYS_STAT,   SESSNAP__SYS_LINK,
				 SESSNAP__SYS_UNLINK, SESSNAP__SYS_WRITE,
				 SESSNAP__SYS_FSYNC };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_uint_eq(calls_of_save(1, kinds[i]),
				  calls_of_save(0, kinds[i]));
	ck_assert_uint_eq(calls_of_save(1, SESSNAP__SYS_RENAME), 2);
	ck_assert_uint_eq(calls_of_save(3, SESSNAP__SYS_RENAME), 4);
	ck_assert_uint_eq(calls_of_save(3, SESSNAP__SYS_LINK), 1);
}
END_TEST

/*
 * Every call of a save with three older generations failed in turn, once
 * and persistently: the target is the old content or (committed) the new
 * one, no temporary file stays, and every state that was on disk before
 * is still there under some name unless the save committed (then the
 * oldest alone may go).  A later save puts the names back in order.
 */
static void gens_fail_in_turn(unsigned int flags)
{
	sessnap_store *store = open_store_gens(3);
	const char *const before[] = { "g0\n", "g1\n", "g2\n", "g3\n" };
	unsigned long nth;
	int k, j;

	for (nth = 1; nth < 60; nth++) {
		bool committed = false, found;
		unsigned long fired;
		int rc;

		for (k = 0; k < 4; k++) {
			unlink_file(gen_names[k]);
			tu_write_file(tu_dir, gen_names[k], before[k],
				      strlen(before[k]));
		}
		sessnap__fault_arm(SESSNAP__SYS_ALL & ~SESSNAP__SYS_UNLINK, nth,
				   EIO, flags);
		rc = replace(store, fresh, strlen(fresh),
			     SESSNAP_DURABILITY_FULL, &committed);
		fired = sessnap__fault_fired();
		sessnap__fault_disarm();
		ck_assert_msg(tu_count_files(tu_dir, ".") == 0,
			      "nth %lu: a temporary file remains", nth);
		ck_assert(!file_exists(GEN4));
		if (committed || rc == 0) {
			ck_assert(file_is(NAME, fresh));
			ck_assert(file_is(PREV, before[0]));
		} else {
			ck_assert_msg(file_is(NAME, before[0]),
				      "nth %lu: the target changed", nth);
		}
		/* Nothing but the oldest state is ever lost. */
		for (j = 0; j < 3; j++) {
			found = false;
			for (k = 0; k < 4; k++)
				found =
				    found || file_is(gen_names[k], before[j]);
			ck_assert_msg(found, "nth %lu: %s lost", nth,
				      before[j]);
		}
		if (fired == 0)
			break;
	}
	ck_assert_uint_lt(nth, 60);
	ck_assert_int_eq(
	    replace(store, older, strlen(older), SESSNAP_DURABILITY_FULL, NULL),
	    0);
	ck_assert(file_is(NAME, older));
	ck_assert(file_is(PREV, fresh));
	ck_assert(file_is(GEN2, before[0]));
	sessnap_store_close(store);
}

START_TEST(test_generations_fail_once)
{
	gens_fail_in_turn(0);
}
END_TEST

START_TEST(test_generations_fail_persistent)
{
	gens_fail_in_turn(SESSNAP__FAULT_PERSISTENT);
}
END_TEST

/* No hard links: every older generation is as stale as .prev, and goes. */
START_TEST(test_link_fails_drops_all_generations)
{
	sessnap_store *store = open_store_gens(3);
	int (*saved)(int, const char *, int, const char *, int) =
	    sessnap__sys.linkat;
	int i, rc;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(replace(store, contents[i],
					 strlen(contents[i]),
					 SESSNAP_DURABILITY_FULL, NULL),
				 0);
	ck_assert(file_exists(GEN3));
	link_errno = EPERM;
	sessnap__sys.linkat = link_fails;
	rc =
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL);
	sessnap__sys.linkat = saved;
	ck_assert_int_eq(rc, 0);
	ck_assert(file_is(NAME, fresh));
	ck_assert(!file_exists(PREV));
	ck_assert(!file_exists(GEN2));
	ck_assert(!file_exists(GEN3));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

/* A stale `prev` that cannot be removed fails the save, which loses nothing. */
START_TEST(test_link_fails_prev_stuck)
{
	sessnap_store *store = open_store();
	int (*saved)(int, const char *, int, const char *, int) =
	    sessnap__sys.linkat;
	int rc;

	tu_write_file(tu_dir, NAME, older, strlen(older));
	ck_assert_int_eq(
	    replace(store, old, strlen(old), SESSNAP_DURABILITY_FULL, NULL), 0);
	link_errno = EMLINK;
	sessnap__sys.linkat = link_fails;
	sessnap__fault_arm(SESSNAP__SYS_UNLINK, 1, EACCES, 0);
	rc =
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL);
	sessnap__fault_disarm();
	sessnap__sys.linkat = saved;
	ck_assert_int_eq(rc, SESSNAP_EPERM);
	ck_assert_msg(strstr(sessnap_error_last(), PREV) != NULL, "%s",
		      sessnap_error_last());
	ck_assert(file_is(NAME, old));
	ck_assert(file_is(PREV, older));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_store_close(store);
}
END_TEST

/* fallocate unsupported by the file system is not an error. */
START_TEST(test_fallocate_unsupported)
{
	sessnap_store *store = open_store();

	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, EOPNOTSUPP,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(
	    replace(store, fresh, strlen(fresh), SESSNAP_DURABILITY_FULL, NULL),
	    0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert(file_is(NAME, fresh));
	sessnap_store_close(store);
}
END_TEST

/* An empty file is replaced atomically too (no fallocate of 0). */
START_TEST(test_empty_content)
{
	sessnap_store *store = open_store();

	tu_write_file(tu_dir, NAME, old, strlen(old));
	ck_assert_int_eq(replace(store, "", 0, SESSNAP_DURABILITY_FULL, NULL),
			 0);
	ck_assert(file_is(NAME, ""));
	ck_assert(file_is(PREV, old));
	sessnap_store_close(store);
}
END_TEST

Suite *atomic_suite(void);

Suite *atomic_suite(void)
{
	Suite *s = suite_create("atomic");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_creates_0600);
	tcase_add_test(tc, test_keeps_prev);
	tcase_add_test(tc, test_several_buffers);
	tcase_add_test(tc, test_unlinked_handed_to_closer);
	tcase_add_test(tc, test_durability_levels);
	tcase_add_test(tc, test_eintr_retried);
	tcase_add_test(tc, test_short_writes);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_fail_once, 0, (int)(NKINDS * NERRS));
	tcase_add_loop_test(tc, test_fail_persistent, 0, (int)(NKINDS * NERRS));
	tcase_add_loop_test(tc, test_fail_any_call, 0, (int)NERRS);
	tcase_add_test(tc, test_write_returns_zero);
	tcase_add_test(tc, test_after_failed_commit);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_no_hard_links);
	tcase_add_loop_test(tc, test_link_fails_drops_stale_prev, 0,
			    (int)(sizeof(link_errs) / sizeof(link_errs[0])));
	tcase_add_test(tc, test_link_fails_prev_stuck);
	tcase_add_test(tc, test_link_fails_drops_all_generations);
	tcase_add_test(tc, test_keeps_n_generations);
	tcase_add_test(tc, test_generations_option);
	tcase_add_test(tc, test_generation_costs);
	tcase_add_test(tc, test_generations_fail_once);
	tcase_add_test(tc, test_generations_fail_persistent);
	tcase_add_test(tc, test_fallocate_unsupported);
	tcase_add_test(tc, test_empty_content);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(atomic_suite)
