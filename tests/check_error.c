/*
 * check_error.c - the error codes, their names and the detailed message
 *
 * Every public function reports failure as a negative SESSNAP_E* code;
 * sessnap_error_string() and sessnap_error_name() describe it, and
 * sessnap_error_last() holds the thread-local message that says which step
 * failed on which file.  These tests prove that the three views of the
 * table agree (one X-macro table yields them all), that unknown codes are
 * described safely, and that a real failure leaves a message a user can act
 * on.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

struct code {
	int num;
	const char *name;
};

static const struct code codes[] = {
#define X(name, num, desc) { num, "SESSNAP_" #name },
	SESSNAP_ERRNO_MAP(X)
#undef X
};

#define NCODES (sizeof(codes) / sizeof(codes[0]))

static sessnap_store *open_store(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "errtest";
	opts.durability = SESSNAP_DURABILITY_NONE;
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

START_TEST(test_names_distinct)
{
	size_t i, j;

	for (i = 0; i < NCODES; i++) {
		const char *name = sessnap_error_name(codes[i].num);
		const char *desc = sessnap_error_string(codes[i].num);

		ck_assert_str_eq(name, codes[i].name);
		ck_assert_str_ne(desc, "unknown error");
		ck_assert_uint_gt(strlen(desc), 0);
		for (j = 0; j < i; j++) {
			ck_assert_int_ne(codes[i].num, codes[j].num);
			ck_assert_str_ne(name,
					 sessnap_error_name(codes[j].num));
			ck_assert_str_ne(desc,
					 sessnap_error_string(codes[j].num));
		}
	}
}
END_TEST

/* The table is append-only: values are 0, -1, -2, ... with no gaps. */
START_TEST(test_codes_dense)
{
	size_t i;

	ck_assert_int_eq(codes[0].num, SESSNAP_OK);
	for (i = 0; i < NCODES; i++)
		ck_assert_int_eq(codes[i].num, -(int)i);
	ck_assert_int_eq(SESSNAP_EIO, -3);
	ck_assert_int_eq(SESSNAP_EDURABILITY, -14);
	ck_assert_int_eq(SESSNAP_EPENDING, -19);
	ck_assert_int_eq(SESSNAP_EFENCED, -20);
	ck_assert_int_eq(SESSNAP_EPATCH, -21);
}
END_TEST

START_TEST(test_syserr_message)
{
	int rc;

	rc = sessnap__syserr(EIO, "fsync", "/some/dir/.x.snap.abcdef");
	ck_assert_int_eq(rc, SESSNAP_EIO);
	ck_assert_str_eq(sessnap_error_last(),
			 "fsync of /some/dir/.x.snap.abcdef failed: "
			 "Input/output error");
	rc = sessnap__error(SESSNAP_EUNSAFE, "store %s is %s", "/d", "bad");
	ck_assert_int_eq(rc, SESSNAP_EUNSAFE);
	ck_assert_str_eq(sessnap_error_last(), "store /d is bad");
}
END_TEST

START_TEST(test_errno_map)
{
	ck_assert_int_eq(sessnap__errno_code(ENOSPC), SESSNAP_ENOSPC);
	ck_assert_int_eq(sessnap__errno_code(EDQUOT), SESSNAP_ENOSPC);
	ck_assert_int_eq(sessnap__errno_code(EFBIG), SESSNAP_ENOSPC);
	ck_assert_int_eq(sessnap__errno_code(EACCES), SESSNAP_EPERM);
	ck_assert_int_eq(sessnap__errno_code(EPERM), SESSNAP_EPERM);
	ck_assert_int_eq(sessnap__errno_code(EROFS), SESSNAP_EPERM);
	ck_assert_int_eq(sessnap__errno_code(ENOMEM), SESSNAP_ENOMEM);
	ck_assert_int_eq(sessnap__errno_code(ENOENT), SESSNAP_ENOTFOUND);
	ck_assert_int_eq(sessnap__errno_code(EWOULDBLOCK), SESSNAP_EBUSY);
	ck_assert_int_eq(sessnap__errno_code(EIO), SESSNAP_EIO);
	ck_assert_int_eq(sessnap__errno_code(EXDEV), SESSNAP_EIO);
	ck_assert_int_eq(sessnap__errno_code(EMFILE), SESSNAP_EIO);
}
END_TEST

/* A failed save names the step, the file (in the store) and the cause. */
START_TEST(test_last_error_after_save)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	json_object *state = json_object_new_string("hello");
	char want[PATH_MAX];
	const char *msg;
	int rc;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_session_flush(s);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	msg = sessnap_error_last();
	snprintf(want, sizeof(want), "write of %s/.%s.snap.", tu_dir,
		 sessnap_session_id(s));
	ck_assert_msg(strstr(msg, want) != NULL, "message \"%s\" lacks \"%s\"",
		      msg, want);
	ck_assert_msg(strstr(msg, "No space left on device") != NULL,
		      "message \"%s\" lacks the cause", msg);

	sessnap__fault_arm(SESSNAP__SYS_RENAME, 1, EACCES,
			   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_session_flush(s);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EPERM);
	msg = sessnap_error_last();
	ck_assert_msg(strstr(msg, "rename of ") != NULL &&
			  strstr(msg, tu_dir) != NULL &&
			  strstr(msg, "Permission denied") != NULL,
		      "message \"%s\"", msg);

	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	json_object_put(state);
}
END_TEST

/* Errors of argument checking name what was wrong too. */
START_TEST(test_last_error_bad_name)
{
	sessnap_store *store = open_store();
	json_object *state = NULL;

	ck_assert_int_eq(
	    sessnap_store_load(&state, NULL, store, "../etc/passwd"),
	    SESSNAP_EBADNAME);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "../etc/passwd"));
	ck_assert_ptr_null(state);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_unknown_code)
{
	static const int bad[] = { 1, 42, -100, -1000, INT_MIN, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_str_eq(sessnap_error_string(bad[i]), "unknown error");
		ck_assert_str_eq(sessnap_error_name(bad[i]),
				 "SESSNAP_E_UNKNOWN");
	}
}
END_TEST

static void *other_thread(void *arg)
{
	(void)arg;
	sessnap__error(SESSNAP_EIO, "from the other thread");
	return NULL;
}

/* The message is thread-local: another thread's failure does not touch
 * ours. */
START_TEST(test_thread_local)
{
	pthread_t t;

	sessnap__error(SESSNAP_EINVAL, "mine");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(sessnap_error_last(), "mine");
}
END_TEST

/* Reporting an error keeps errno for the caller's own cleanup. */
START_TEST(test_errno_preserved)
{
	errno = EXDEV;
	sessnap__error(SESSNAP_EIO, "x");
	ck_assert_int_eq(errno, EXDEV);
	errno = EMFILE;
	sessnap__syserr(EIO, "read", "/p");
	ck_assert_int_eq(errno, EMFILE);
}
END_TEST

/* Context goes in front of the callee's message; code and errno kept. */
START_TEST(test_error_prefix)
{
	sessnap__error(SESSNAP_ECORRUPT, "checksum mismatch");
	errno = EXDEV;
	ck_assert_int_eq(sessnap__error_prefix(SESSNAP_ECORRUPT,
					       "cannot read %s", "/s/a.snap"),
			 SESSNAP_ECORRUPT);
	ck_assert_int_eq(errno, EXDEV);
	ck_assert_str_eq(sessnap_error_last(),
			 "cannot read /s/a.snap: checksum mismatch");
	/* The message may be an argument of the next, on either side. */
	sessnap__error(SESSNAP_EINVAL, "%s; nothing was queued",
		       sessnap_error_last());
	ck_assert_str_eq(sessnap_error_last(), "cannot read /s/a.snap: "
					       "checksum mismatch; nothing "
					       "was queued");
}
END_TEST

/* A prefix onto a message near the limit is cut, never overflowed. */
START_TEST(test_error_prefix_long)
{
	static char big[4096];
	size_t n;

	memset(big, 'b', sizeof(big) - 1);
	sessnap__error(SESSNAP_EIO, "%s", big);
	sessnap__error_prefix(SESSNAP_EIO, "step");
	n = strlen(sessnap_error_last());
	ck_assert_uint_lt(n, sizeof(big));
	ck_assert_int_eq(strncmp(sessnap_error_last(), "step: bbb", 9), 0);
}
END_TEST

/* The short form: the cause alone, before "; " or ". ", on one line. */
START_TEST(test_last_short)
{
	sessnap__error(SESSNAP_ENOSPC,
		       "write of %s failed: No space left on device; the last "
		       "snapshot is kept. Free some space",
		       "/s/.a.snap.X");
	ck_assert_str_eq(
	    sessnap_error_last_short(),
	    "write of /s/.a.snap.X failed: No space left on device");
	ck_assert_str_eq(sessnap_error_last(),
			 "write of /s/.a.snap.X failed: No space left on "
			 "device; the last snapshot is kept. Free some space");
	sessnap__error(SESSNAP_ECORRUPT,
		       "session a has no usable snapshot. Inspect it; or not");
	ck_assert_str_eq(sessnap_error_last_short(),
			 "session a has no usable snapshot");
	sessnap__error(SESSNAP_EIO, "read of /s/a\nb.snap failed");
	ck_assert_str_eq(sessnap_error_last_short(),
			 "read of /s/a b.snap failed");
	sessnap__error(SESSNAP_EIO, "x.snap.prev");
	ck_assert_str_eq(sessnap_error_last_short(), "x.snap.prev");
}
END_TEST

/* A long cause is cut to SESSNAP_ERROR_SHORT_MAX bytes, ending "...",
 * never inside a UTF-8 character. */
START_TEST(test_last_short_long)
{
	static char big[400];
	const char *s;
	size_t n, i;

	/* "é" (2 bytes) over and over: byte SHORT_MAX - 3 (odd) is the
	 * second byte of one, so a cut there would split it. */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	sessnap__error(SESSNAP_EIO, "%s", big);
	s = sessnap_error_last_short();
	n = strlen(s);
	ck_assert_uint_le(n, SESSNAP_ERROR_SHORT_MAX);
	ck_assert_uint_ge(n, SESSNAP_ERROR_SHORT_MAX - 4);
	ck_assert_str_eq(s + n - 3, "...");
	ck_assert_int_eq(strncmp(s, big, n - 3), 0);
	/* The byte before "..." ends a character: the second of "é". */
	ck_assert_uint_eq((unsigned char)s[n - 4], 0xa9);
	ck_assert_uint_eq((unsigned char)s[n - 5], 0xc3);
	ck_assert_uint_eq(n, SESSNAP_ERROR_SHORT_MAX - 1);
	/* Exactly SHORT_MAX bytes fit uncut. */
	memset(big, 'b', SESSNAP_ERROR_SHORT_MAX);
	big[SESSNAP_ERROR_SHORT_MAX] = '\0';
	sessnap__error(SESSNAP_EIO, "%s", big);
	ck_assert_str_eq(sessnap_error_last_short(), big);
}
END_TEST

static void *short_thread(void *arg)
{
	bool *empty = arg;

	*empty = sessnap_error_last_short()[0] == '\0';
	return NULL;
}

/* A thread that never failed has no short message either. */
START_TEST(test_last_short_fresh_thread)
{
	pthread_t t;
	bool empty = false;

	sessnap__error(SESSNAP_EINVAL, "mine");
	ck_assert_int_eq(pthread_create(&t, NULL, short_thread, &empty), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(empty);
	ck_assert_str_eq(sessnap_error_last_short(), "mine");
}
END_TEST

/* PROTECT_ERRNO gives errno back at the end of its block. */
START_TEST(test_protect_errno)
{
	errno = EIO;
	{
		PROTECT_ERRNO;
		errno = ENOENT;
		ck_assert_int_eq(errno, ENOENT);
	}
	ck_assert_int_eq(errno, EIO);
}
END_TEST

/* A message longer than the buffer is cut, never overflowed. */
START_TEST(test_long_message)
{
	static char big[8192];

	memset(big, 'a', sizeof(big) - 1);
	sessnap__syserr(EIO, "write", big);
	ck_assert_uint_lt(strlen(sessnap_error_last()), sizeof(big));
	ck_assert_uint_gt(strlen(sessnap_error_last()), 100);
	ck_assert_int_eq(strncmp(sessnap_error_last(), "write of aaa", 12), 0);
}
END_TEST

Suite *error_suite(void);

Suite *error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_names_distinct);
	tcase_add_test(tc, test_codes_dense);
	tcase_add_test(tc, test_syserr_message);
	tcase_add_test(tc, test_errno_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_last_error_after_save);
	tcase_add_test(tc, test_last_error_bad_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_unknown_code);
	tcase_add_test(tc, test_thread_local);
	tcase_add_test(tc, test_errno_preserved);
	tcase_add_test(tc, test_long_message);
	tcase_add_test(tc, test_error_prefix);
	tcase_add_test(tc, test_error_prefix_long);
	tcase_add_test(tc, test_protect_errno);
	tcase_add_test(tc, test_last_short);
	tcase_add_test(tc, test_last_short_long);
	tcase_add_test(tc, test_last_short_fresh_thread);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(error_suite)
