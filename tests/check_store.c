/*
 * check_store.c - where the store is, and whether it is safe to use
 *
 * The default directory follows the XDG base directory specification
 * ($XDG_STATE_HOME when it is absolute, else ~/.local/state), and is
 * created 0700 with its missing parents.  A store directory that is a
 * symlink, is not a directory, is writable by group or others, or belongs
 * to someone else is refused with a message that says which and how to fix
 * it.  These tests point HOME and XDG_STATE_HOME at temporary directories:
 * they never touch the real state directory of the user running them.
 */
#include "config.h"

#include <errno.h>
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

static int open_at(sessnap_store **out, const char *dir, const char *app,
		   unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	opts.dir = dir;
	opts.app = app;
	opts.flags = flags;
	*out = NULL;
	return sessnap_store_open(out, &opts);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "lstat %s: %s", path,
		      strerror(errno));
	return st.st_mode;
}

static void expect_msg(const char *a, const char *b)
{
	const char *msg = sessnap_error_last();

	ck_assert_msg(
	    strstr(msg, a) != NULL && (b == NULL || strstr(msg, b) != NULL),
	    "message \"%s\" lacks \"%s\" / \"%s\"", msg, a, b ? b : "");
}

START_TEST(test_default_xdg)
{
	char xdg[PATH_MAX], want[PATH_MAX];
	sessnap_store *store = NULL;
	char *dir = NULL;

	tu_join(xdg, sizeof(xdg), tu_dir, "xdg");
	setenv("XDG_STATE_HOME", xdg, 1);
	setenv("HOME", "/nonexistent-home", 1);
	ck_assert_int_eq(sessnap_store_default_dir(&dir, "ed"), 0);
	tu_join(want, sizeof(want), xdg, "sessnap/ed");
	ck_assert_str_eq(dir, want);
	free(dir);

	/* Opening creates it and its parents, each 0700. */
	umask(022);
	ck_assert_int_eq(open_at(&store, NULL, "ed", 0), 0);
	ck_assert_str_eq(sessnap_store_path(store), want);
	ck_assert_uint_eq(mode_of(want) & 07777, 0700);
	tu_join(want, sizeof(want), xdg, "sessnap");
	ck_assert_uint_eq(mode_of(want) & 07777, 0700);
	ck_assert_uint_eq(mode_of(xdg) & 07777, 0700);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static void check_home_fallback(const char *xdg)
{
	char home[PATH_MAX], want[PATH_MAX], part[PATH_MAX];
	sessnap_store *store = NULL;
	char *dir = NULL;

	tu_join(home, sizeof(home), tu_dir, "home");
	ck_assert_int_eq(mkdir(home, 0755), 0);
	if (xdg != NULL)
		setenv("XDG_STATE_HOME", xdg, 1);
	else
		unsetenv("XDG_STATE_HOME");
	setenv("HOME", home, 1);
	ck_assert_int_eq(sessnap_store_default_dir(&dir, "ed"), 0);
	tu_join(want, sizeof(want), home, ".local/state/sessnap/ed");
	ck_assert_str_eq(dir, want);
	free(dir);
	umask(022);
	ck_assert_int_eq(open_at(&store, NULL, "ed", 0), 0);
	ck_assert_str_eq(sessnap_store_path(store), want);
	ck_assert_uint_eq(mode_of(want) & 07777, 0700);
	tu_join(part, sizeof(part), home, ".local");
	ck_assert_uint_eq(mode_of(part) & 07777, 0700);
	/* An existing parent is left as it was. */
	ck_assert_uint_eq(mode_of(home) & 07777, 0755);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}

START_TEST(test_default_home_unset)
{
	check_home_fallback(NULL);
}
END_TEST

START_TEST(test_default_home_relative)
{
	check_home_fallback("relative/state");
}
END_TEST

START_TEST(test_default_home_empty)
{
	check_home_fallback("");
}
END_TEST

START_TEST(test_explicit_dir)
{
	char dir[PATH_MAX];
	sessnap_store *store = NULL;

	tu_join(dir, sizeof(dir), tu_dir, "a/b/c");
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), 0);
	ck_assert_str_eq(sessnap_store_path(store), dir);
	ck_assert_str_eq(sessnap_store_app(store), "ed");
	ck_assert_ptr_null(sessnap_store_app(NULL));
	ck_assert(S_ISDIR(mode_of(dir)));
	ck_assert_uint_eq(mode_of(dir) & 07777, 0700);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	/* An existing safe directory opens again. */
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	ck_assert_int_eq(sessnap_store_close(NULL), 0);
}
END_TEST

START_TEST(test_app_names)
{
	static const char *const good[] = {
		"ed",
		"my-app_1.0",
		"A",
		"x.y",
		/* 64 characters: the longest accepted */
		"0123456789012345678901234567890123456789"
		"012345678901234567890123",
	};
	static const char *const bad[] = {
		"",
		".hidden",
		"a/b",
		"/abs",
		"..",
		"sp ace",
		"tab\t",
		"uni\xc3\xa9",
		/* 65 characters */
		"0123456789012345678901234567890123456789"
		"0123456789012345678901234",
	};
	sessnap_store *store;
	char dir[PATH_MAX];
	size_t i;

	tu_join(dir, sizeof(dir), tu_dir, "store");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(open_at(&store, dir, good[i], 0) == 0,
			      "%s refused: %s", good[i], sessnap_error_last());
		ck_assert_int_eq(sessnap_store_close(store), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;

		ck_assert_msg(open_at(&store, dir, bad[i], 0) ==
				  SESSNAP_EBADNAME,
			      "\"%s\" accepted", bad[i]);
		ck_assert_ptr_null(store);
		ck_assert_ptr_nonnull(strstr(sessnap_error_last(), bad[i]));
		ck_assert_int_eq(sessnap_store_default_dir(&out, bad[i]),
				 SESSNAP_EBADNAME);
		ck_assert_ptr_null(out);
	}
	ck_assert_int_eq(open_at(&store, dir, NULL, 0), SESSNAP_EBADNAME);
}
END_TEST

/* Put SESSNAP_TEST_FSYNC back as the harness set it (CK_FORK=no runs
 * every test in one process). */
static void restore_fsync_env(const char *saved)
{
	if (saved != NULL)
		setenv("SESSNAP_TEST_FSYNC", saved, 1);
	else
		unsetenv("SESSNAP_TEST_FSYNC");
}

START_TEST(test_fsync_env)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	const char *env = getenv("SESSNAP_TEST_FSYNC");
	char *saved = env ? strdup(env) : NULL;

	opts.dir = tu_dir;
	opts.app = "ed";
	opts.durability = SESSNAP_DURABILITY_FULL;
	setenv("SESSNAP_TEST_FSYNC", "0", 1);
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(store->durability, SESSNAP_DURABILITY_NONE);
	sessnap_store_close(store);
	setenv("SESSNAP_TEST_FSYNC", "1", 1);
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(store->durability, SESSNAP_DURABILITY_FULL);
	sessnap_store_close(store);
	unsetenv("SESSNAP_TEST_FSYNC");
	opts.durability = SESSNAP_DURABILITY_FILE;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(store->durability, SESSNAP_DURABILITY_FILE);
	sessnap_store_close(store);
	restore_fsync_env(saved);
	free(saved);
}
END_TEST

/* A store saves with no fsync at all under SESSNAP_TEST_FSYNC=0. */
START_TEST(test_fsync_env_no_calls)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	json_object *state = json_object_new_int(7);
	const char *env = getenv("SESSNAP_TEST_FSYNC");
	char *saved = env ? strdup(env) : NULL;

	opts.dir = tu_dir;
	opts.app = "ed";
	setenv("SESSNAP_TEST_FSYNC", "0", 1);
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, ULONG_MAX, EIO, 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
	json_object_put(state);
	restore_fsync_env(saved);
	free(saved);
}
END_TEST

/* Open a store at tu_dir/rel with durability d and fsync kept on, and
 * count the fsync calls the open makes; *rc receives its result. */
static unsigned long open_fsyncs(const char *rel, sessnap_durability d,
				 unsigned long fail_nth, int *rc)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	const char *env = getenv("SESSNAP_TEST_FSYNC");
	char *saved = env ? strdup(env) : NULL;
	char dir[PATH_MAX];
	unsigned long n;

	tu_join(dir, sizeof(dir), tu_dir, rel);
	opts.dir = dir;
	opts.app = "ed";
	opts.durability = d;
	setenv("SESSNAP_TEST_FSYNC", "1", 1);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, fail_nth, EIO, 0);
	*rc = sessnap_store_open(&store, &opts);
	n = sessnap__fault_disarm();
	sessnap_store_close(store);
	restore_fsync_env(saved);
	free(saved);
	return n;
}

/* Each directory the open creates has its parent synced (durability FULL). */
START_TEST(test_mkdir_syncs_parent)
{
	int rc;

	ck_assert_uint_eq(open_fsyncs("a/b", SESSNAP_DURABILITY_FULL,
				      ULONG_MAX, &rc),
			  2);
	ck_assert_int_eq(rc, 0);
	/* nothing created, nothing synced */
	ck_assert_uint_eq(open_fsyncs("a/b", SESSNAP_DURABILITY_FULL,
				      ULONG_MAX, &rc),
			  0);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(open_fsyncs("c/d", SESSNAP_DURABILITY_FILE,
				      ULONG_MAX, &rc),
			  0);
	ck_assert_int_eq(rc, 0);
}
END_TEST

/*
 * A failed fsync of a created directory's parent fails the open, naming the
 * parent, and takes back the directory it could not make durable: the next
 * open creates it again and syncs its parent then.
 */
START_TEST(test_mkdir_parent_fsync_fails)
{
	char path[PATH_MAX], want[PATH_MAX];
	struct stat st;
	int fds = tu_count_fds(), rc;

	tu_join(want, sizeof(want), tu_dir, "a");
	open_fsyncs("a/b", SESSNAP_DURABILITY_FULL, 2, &rc);
	ck_assert_int_eq(rc, SESSNAP_EIO);
	ck_assert_msg(strstr(sessnap_error_last(), "fsync") != NULL &&
			  strstr(sessnap_error_last(), want) != NULL,
		      "%s", sessnap_error_last());
	ck_assert_int_eq(tu_count_fds(), fds);
	tu_join(path, sizeof(path), tu_dir, "a/b");
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(lstat(want, &st), 0);
	ck_assert_uint_eq(open_fsyncs("a/b", SESSNAP_DURABILITY_FULL,
				      ULONG_MAX, &rc),
			  1);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
}
END_TEST

START_TEST(test_options_checked)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = (sessnap_store *)&opts;

	opts.dir = tu_dir;
	opts.app = "ed";
	opts.version = 99;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), SESSNAP_EINVAL);
	ck_assert_ptr_null(store);
	opts.version = SESSNAP_STORE_OPTIONS_VERSION;
	opts.durability = (sessnap_durability)7;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), SESSNAP_EINVAL);
	opts.durability = SESSNAP_DURABILITY_FULL;
	opts.dir = "";
	ck_assert_int_eq(sessnap_store_open(&store, &opts), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_open(NULL, &opts), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_open(&store, NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_options_init(&opts, 99), SESSNAP_EINVAL);
	ck_assert_int_eq(
	    sessnap_store_options_init(&opts, SESSNAP_STORE_OPTIONS_VERSION),
	    0);
	ck_assert_uint_eq(opts.version, SESSNAP_STORE_OPTIONS_VERSION);
	ck_assert_ptr_null(opts.app);
}
END_TEST

START_TEST(test_refuse_symlink)
{
	char real[PATH_MAX], link[PATH_MAX];
	sessnap_store *store;

	tu_join(real, sizeof(real), tu_dir, "real");
	tu_join(link, sizeof(link), tu_dir, "link");
	ck_assert_int_eq(mkdir(real, 0700), 0);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(open_at(&store, link, "ed", 0), SESSNAP_EUNSAFE);
	ck_assert_ptr_null(store);
	expect_msg("symlink", link);
	expect_msg("remove it", NULL);
	ck_assert_int_eq(open_at(&store, link, "ed", SESSNAP_STORE_NOCREATE),
			 SESSNAP_EUNSAFE);
	/* A dangling one too, and nothing is created through it. */
	ck_assert_int_eq(rmdir(real), 0);
	ck_assert_int_eq(open_at(&store, link, "ed", 0), SESSNAP_EUNSAFE);
	ck_assert_int_eq(access(real, F_OK), -1);
}
END_TEST

START_TEST(test_refuse_file)
{
	char file[PATH_MAX];
	sessnap_store *store;

	tu_write_file(tu_dir, "file", "x", 1);
	tu_join(file, sizeof(file), tu_dir, "file");
	ck_assert_int_eq(open_at(&store, file, "ed", 0), SESSNAP_EUNSAFE);
	expect_msg("not a directory", file);
	expect_msg("move it away", NULL);
}
END_TEST

START_TEST(test_refuse_writable)
{
	static const struct {
		mode_t mode;
		const char *who;
	} cases[] = {
		{ 0770, "its group" }, { 0720, "its group" },
		{ 0707, "others" },    { 0777, "others" },
		{ 01777, "others" },
	};
	char dir[PATH_MAX], fix[PATH_MAX + 16];
	sessnap_store *store;
	size_t i;

	tu_join(dir, sizeof(dir), tu_dir, "store");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(fix, sizeof(fix), "chmod 700 %s", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(chmod(dir, cases[i].mode), 0);
		ck_assert_int_eq(open_at(&store, dir, "ed", 0),
				 SESSNAP_EUNSAFE);
		ck_assert_ptr_null(store);
		expect_msg(cases[i].who, fix);
	}
	/* Readable by others is not a risk to integrity: accepted. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_refuse_foreign_owner)
{
	char dir[PATH_MAX];
	sessnap_store *store;

	tu_join(dir, sizeof(dir), tu_dir, "store");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	if (geteuid() != 0) {
		printf("# check_store: not root: cannot chown a directory to "
		       "another user; the foreign-owner refusal is not "
		       "tested in this run\n");
		return;
	}
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), SESSNAP_EUNSAFE);
	ck_assert_ptr_null(store);
	expect_msg("owned by uid 65534", "not by you");
	expect_msg("chown", dir);
}
END_TEST

START_TEST(test_nocreate_missing)
{
	char dir[PATH_MAX];
	sessnap_store *store;

	tu_join(dir, sizeof(dir), tu_dir, "missing");
	ck_assert_int_eq(open_at(&store, dir, "ed", SESSNAP_STORE_NOCREATE),
			 SESSNAP_ENOTFOUND);
	expect_msg("does not exist", dir);
	ck_assert_int_eq(access(dir, F_OK), -1);
	ck_assert_int_eq(open_at(&store, dir, "ed", SESSNAP_STORE_READONLY),
			 SESSNAP_ENOTFOUND);
	ck_assert_int_eq(access(dir, F_OK), -1);
}
END_TEST

/* A mkdir failure names the directory and the cause. */
START_TEST(test_mkdir_fails)
{
	char dir[PATH_MAX];
	sessnap_store *store;
	int fds = tu_count_fds();

	tu_join(dir, sizeof(dir), tu_dir, "x/y");
	sessnap__fault_arm(SESSNAP__SYS_MKDIR, 1, EACCES,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), SESSNAP_EPERM);
	sessnap__fault_disarm();
	expect_msg("mkdir of ", "Permission denied");
	/* A parent that is a file. */
	tu_write_file(tu_dir, "f", "", 0);
	tu_join(dir, sizeof(dir), tu_dir, "f/store");
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), SESSNAP_EIO);
	expect_msg("mkdir of ", "Not a directory");
	ck_assert_int_eq(tu_count_fds(), fds);
}
END_TEST

/* Failures after the directory was opened leak no descriptor. */
START_TEST(test_open_faults)
{
	sessnap_store *store;
	int fds = tu_count_fds();

	sessnap__fault_arm(SESSNAP__SYS_STAT, 1, EIO, 0);
	ck_assert_int_eq(open_at(&store, tu_dir, "ed", 0), SESSNAP_EIO);
	sessnap__fault_disarm();
	expect_msg("fstat of store directory", tu_dir);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap__fault_arm(SESSNAP__SYS_OPEN, 1, EMFILE, 0);
	ck_assert_int_eq(open_at(&store, tu_dir, "ed", 0), SESSNAP_EIO);
	sessnap__fault_disarm();
	expect_msg("open of store directory", "Too many open files");
	ck_assert_int_eq(tu_count_fds(), fds);
}
END_TEST

START_TEST(test_no_home)
{
	char *dir = NULL;

	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "relative", 1);
	/* The passwd entry is the last resort; it is absolute or absent. */
	if (sessnap_store_default_dir(&dir, "ed") == 0) {
		ck_assert_int_eq(dir[0], '/');
		ck_assert_ptr_nonnull(strstr(dir, "/.local/state/sessnap/ed"));
		free(dir);
	} else {
		expect_msg("XDG_STATE_HOME", "HOME");
	}
	ck_assert_int_eq(sessnap_store_default_dir(NULL, "ed"), SESSNAP_EINVAL);
}
END_TEST

START_TEST(test_trailing_slash)
{
	char dir[PATH_MAX];
	sessnap_store *store;

	tu_join(dir, sizeof(dir), tu_dir, "s//t/");
	ck_assert_int_eq(open_at(&store, dir, "ed", 0), 0);
	sessnap_store_close(store);
	tu_join(dir, sizeof(dir), tu_dir, "s/t");
	ck_assert(S_ISDIR(mode_of(dir)));
}
END_TEST

Suite *store_suite(void);

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_default_xdg);
	tcase_add_test(tc, test_default_home_unset);
	tcase_add_test(tc, test_default_home_relative);
	tcase_add_test(tc, test_explicit_dir);
	tcase_add_test(tc, test_app_names);
	tcase_add_test(tc, test_fsync_env);
	tcase_add_test(tc, test_fsync_env_no_calls);
	tcase_add_test(tc, test_mkdir_syncs_parent);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_options_checked);
	tcase_add_test(tc, test_refuse_symlink);
	tcase_add_test(tc, test_refuse_file);
	tcase_add_test(tc, test_refuse_writable);
	tcase_add_test(tc, test_refuse_foreign_owner);
	tcase_add_test(tc, test_nocreate_missing);
	tcase_add_test(tc, test_mkdir_fails);
	tcase_add_test(tc, test_mkdir_parent_fsync_fails);
	tcase_add_test(tc, test_open_faults);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_default_home_empty);
	tcase_add_test(tc, test_no_home);
	tcase_add_test(tc, test_trailing_slash);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(store_suite)
