/*
 * testutil.h -- fixture and helpers shared by the unit suites.
 *
 * Temporary directories.  tu_tcase_add_tmpdir(tc) gives a TCase two
 * fixtures:
 *
 *   - an unchecked one, run in the runner process once per TCase, that
 *     makes a root directory with mkdtemp under $TMPDIR (or /tmp), and
 *     afterwards removes it and everything below it, even files of mode 0
 *     and directories of mode 0500 or 0 (it makes them writable first).
 *     Being unchecked, the removal runs even when a test fails or crashes.
 *   - a checked one, run before each test (inside the test's child when
 *     check forks), that makes a fresh mkdtemp subdirectory of the root
 *     and points tu_dir at it.  Names come from mkdtemp because fork makes
 *     counters useless.
 *
 * The paths live in static storage: nothing to free, nothing to leak
 * under valgrind with CK_FORK=no.
 *
 * Helpers.  The tu_* helpers that create or join report failure through
 * ck_assert (a helper failing is a broken test, not a result); those that
 * read return NULL or -1 so that a test can assert on absence.
 *
 * Running.  TU_MAIN(my_suite) defines main() running the Suite that
 * my_suite() returns, with the mode check takes from the environment
 * (CK_FORK, CK_RUN_CASE, CK_TAP_LOG_FILE_NAME, ...).
 */
#ifndef SESSNAP_TESTUTIL_H
#define SESSNAP_TESTUTIL_H

#include <stddef.h>

#include <check.h>

/* The current test's own empty directory (set by the checked setup). */
extern const char *tu_dir;

/* The root of this TCase's directories (set by the unchecked setup). */
extern const char *tu_root;

/* Add the root and per-test directory fixtures to a TCase. */
void tu_tcase_add_tmpdir(TCase *tc);

/* The fixture functions themselves, for suites that compose their own. */
void tu_root_setup(void);
void tu_root_teardown(void);
void tu_dir_setup(void);
void tu_dir_teardown(void);

/*
 * Remove path and everything below it, without following symbolic links,
 * making directories writable first.  Returns 0, or -1 with errno set.
 * A missing path is not an error.
 */
int tu_rm_rf(const char *path);

/* Write "dir/name" (make or truncate, mode 0600) with len bytes; asserts. */
void tu_write_file(const char *dir, const char *name, const void *bytes,
		   size_t len);

/*
 * Read a whole file.  Returns a malloc'd buffer, NUL-terminated one byte
 * past the content, and its length in *len (if len is not NULL); or NULL
 * with errno set.  The caller frees it.
 */
char *tu_read_file(const char *path, size_t *len);

/* Join dir and name into out (size bytes); asserts that it fits. */
void tu_join(char *out, size_t size, const char *dir, const char *name);

/*
 * Wait until every store's closer has closed what it was handed (saves
 * and the cleaner hand it the files they unlinked), so that counting the
 * process's descriptors is exact.  A no-op in a test linked against the
 * public library alone.
 */
void tu_closers_drain(void);

/* The number of open descriptors of this process (/proc/self/fd), after
 * tu_closers_drain(). */
int tu_count_fds(void);

/*
 * The number of entries of dir other than "." and ".." whose name starts
 * with prefix (every entry, dot files included, when prefix is NULL); -1
 * with errno set when dir cannot be read.
 */
int tu_count_files(const char *dir, const char *prefix);

/*
 * The reason of a failure, from the library's one error channel:
 * TU_WHY(why, call) clears the thread-local message, makes the call, and
 * copies the message into the array `why` when the call returned a
 * negative code ("" otherwise), so that a test asserts on this call's
 * reason and never on one left by an earlier failure.  Returns the call's
 * code.  For the suites that include internal.h.
 */
int tu_why_copy(char *why, size_t len, int rc, const char *msg);
#define TU_WHY(why, call)                                                      \
	(sessnap__error(0, "%s", ""),                                          \
	 tu_why_copy((why), sizeof(why), (call), sessnap_error_last()))

/* Run a suite; EXIT_SUCCESS when no test failed, else EXIT_FAILURE. */
int tu_run_suite(Suite *s);

#define TU_MAIN(suite_fn)                                                      \
	int main(void)                                                         \
	{                                                                      \
		return tu_run_suite(suite_fn());                               \
	}

#endif /* SESSNAP_TESTUTIL_H */
