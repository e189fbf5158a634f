/*
 * check_hostile.c - a store full of things that are not what they seem
 *
 * Each test plants something hostile under a snapshot's name (or beside
 * it) and loads: symlinks to files, to directories and in loops, FIFOs,
 * sockets, directories, unreadable files, zero-length files, a 1 GiB
 * sparse file, JSON nested 100,000 deep, a header that claims a huge
 * payload, files of another owner, names that are not UTF-8 or try to
 * leave the store.  The loader must never crash, never hang (an alarm()
 * watchdog kills a test that blocks, e.g. on a FIFO), never follow a link
 * (the target's content is never returned), and never delete or change
 * what it finds.  Where a previous generation is valid it must be used,
 * flagged.  The scanner sees the same store: it lists the session as
 * crashed (from the previous generation) or corrupt, never reads through
 * a link, and never removes anything.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define WATCHDOG_S 20
#define GOOD "{\"good\":true}"
#define PREV "{\"good\":\"previous\"}"
#define OUTSIDE "{\"outside\":\"must never be read\"}"

static sessnap_store *store;
static char store_dir[PATH_MAX];

static void on_alarm(int sig)
{
	(void)sig;
	/* async-signal-safe: the test hangs; say so and die */
	static const char msg[] = "check_hostile: watchdog: a call hung\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void setup(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	tu_join(store_dir, sizeof(store_dir), tu_dir, "store");
	opts.dir = store_dir;
	opts.app = "hostile";
	opts.flags = SESSNAP_STORE_NOTHREAD;
	ck_assert_msg(sessnap_store_open(&store, &opts) == 0, "open: %s",
		      sessnap_error_last());
}

static void teardown(void)
{
	alarm(0);
	sessnap_store_close(store);
	store = NULL;
}

/*
 * Write a real session with one or two generations and release it, as if
 * its owner had crashed.  Returns its id in out.
 */
static void make_session(char out[SESSNAP_ID_LEN + 1], const char *prev,
			 const char *cur)
{
	sessnap_session *s;
	json_object *st;
	const char *states[2] = { prev, cur };
	int i;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	for (i = 0; i < 2; i++) {
		if (states[i] == NULL)
			continue;
		st = json_tokener_parse(states[i]);
		ck_assert_ptr_nonnull(st);
		ck_assert_int_eq(sessnap_session_update(s, st), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(st);
	}
	strlcpy(out, sessnap_session_id(s), SESSNAP_ID_LEN + 1);
	sessnap_session_release(s);
}

static void path_of(char *out, size_t len, const char *id, const char *suffix)
{
	char name[SESSNAP__NAME_MAX];

	snprintf(name, sizeof(name), "%s%s", id, suffix);
	tu_join(out, len, store_dir, name);
}

/* The path of <id>.snap (a static buffer). */
static const char *path_snap(const char *id)
{
	static char path[PATH_MAX];

	path_of(path, sizeof(path), id, ".snap");
	return path;
}

/* Replace <id>.snap by whatever plant() makes at its path. */
static void replace_snap(const char *id, void (*plant)(const char *path))
{
	char path[PATH_MAX];

	path_of(path, sizeof(path), id, ".snap");
	ck_assert_int_eq(unlink(path), 0);
	plant(path);
}

/* Load; expect a fallback to PREV, or (no prev) a clean error. */
static void expect_prev_or_error(const char *id, bool has_prev)
{
	sessnap_load_info *info = NULL;
	json_object *st = NULL;
	int rc;

	rc = sessnap_store_load(&st, &info, store, id);
	if (has_prev) {
		ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
		ck_assert(info->flags & SESSNAP_LOAD_FROM_PREV);
		ck_assert_str_eq(
		    json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
		    PREV);
		ck_assert(info->notice[0] != '\0');
		json_object_put(st);
	} else {
		ck_assert_int_lt(rc, 0);
		ck_assert_ptr_null(st);
		ck_assert(sessnap_error_last()[0] != '\0');
	}
	sessnap_load_info_free(info);
}

/*
 * The scanner lists the session: crashed from its previous generation
 * when the planted thing is a damaged regular file; corrupt, flagged
 * SESSNAP_INFO_NOT_REGULAR, when it is not a regular file at all (the
 * one verdict, format.c), with or without a previous generation; never
 * anything read through the planted thing.
 */
static void expect_scan(const char *id, bool has_prev, bool not_regular)
{
	sessnap_info **infos = NULL;
	size_t n = 0, i, found = 0;

	ck_assert_msg(sessnap_store_scan(&infos, &n, store, 0) == 0, "scan: %s",
		      sessnap_error_last());
	for (i = 0; i < n; i++) {
		if (strcmp(infos[i]->id, id) != 0)
			continue;
		found++;
		ck_assert_uint_eq(infos[i]->flags & SESSNAP_INFO_NOT_REGULAR,
				  not_regular ? SESSNAP_INFO_NOT_REGULAR : 0);
		if (has_prev)
			ck_assert(infos[i]->flags & SESSNAP_INFO_FROM_PREV);
		if (has_prev && !not_regular)
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
		else
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CORRUPT);
	}
	ck_assert_uint_eq(found, 1);
	sessnap_info_free(infos, n);
}

static bool still_there(const char *id, const char *suffix)
{
	char path[PATH_MAX];
	struct stat st;

	path_of(path, sizeof(path), id, suffix);
	return lstat(path, &st) == 0;
}

/* A valid snapshot outside the store, to point links at. */
static char outside[PATH_MAX];

static void make_outside(void)
{
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];

	make_session(id, NULL, OUTSIDE);
	path_of(path, sizeof(path), id, ".snap");
	tu_join(outside, sizeof(outside), tu_dir, "outside.snap");
	ck_assert_int_eq(rename(path, outside), 0);
}

static void plant_link_outside(const char *path)
{
	ck_assert_int_eq(symlink(outside, path), 0);
}

static void plant_link_dir(const char *path)
{
	ck_assert_int_eq(symlink(tu_dir, path), 0);
}

static void plant_link_loop(const char *path)
{
	ck_assert_int_eq(symlink(path, path), 0);
}

static void plant_fifo(const char *path)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
}

static void plant_dir(const char *path)
{
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void plant_empty(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void plant_socket(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		/* too long for a socket address: bind relative to the dir */
		ck_assert_int_eq(chdir(store_dir), 0);
		strlcpy(sa.sun_path, strrchr(path, '/') + 1,
			sizeof(sa.sun_path));
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void plant_sparse(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)1 << 30), 0);
	close(fd);
}

static bool still_there(const char *id, const char *suffix);

/*
 * What must never touch a name that is not a regular file: the cleaner,
 * even with SESSNAP_CLEAN_INCLUDE_CORRUPT and every age at zero, skips
 * the session; discard and adopt refuse it with SESSNAP_EUNSAFE.
 */
static void expect_untouched(const char *id)
{
	sessnap_clean_policy p = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;
	sessnap_session *s = NULL;

	p.completed_age_ms = 0;
	p.crashed_age_ms = 0;
	p.temp_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_msg(sessnap_store_clean(&r, store, &p, NULL, NULL) == 0, "%s",
		      sessnap_error_last());
	ck_assert_uint_eq(r.skipped_unsafe, 1);
	ck_assert_uint_eq(r.removed_corrupt + r.removed_crashed, 0);
	ck_assert(still_there(id, ".snap"));
	ck_assert(still_there(id, ".lock"));
	ck_assert_int_eq(sessnap_store_discard(store, id), SESSNAP_EUNSAFE);
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "not a regular file"));
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_EUNSAFE);
	ck_assert_ptr_null(s);
}

/*
 * The load's error for a session with a file that is not regular gives
 * advice that works: discard refuses such a session, so the message must
 * not send the user to it, and says the file is left for a person.
 */
static void expect_advice_by_hand(void)
{
	const char *msg = sessnap_error_last();

	ck_assert_msg(strstr(msg, "sessnap discard") == NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "by hand") != NULL, "%s", msg);
}

/* Planting helpers, each with and without a valid previous generation. */
static void hostile_case(void (*plant)(const char *path), bool with_prev)
{
	struct stat lst;
	bool not_regular;
	char id[SESSNAP_ID_LEN + 1];
	size_t len = 0;
	char *before;

	make_outside();
	make_session(id, with_prev ? PREV : NULL, GOOD);
	if (!with_prev)
		ck_assert(!still_there(id, ".snap.prev"));
	replace_snap(id, plant);
	before = tu_read_file(outside, &len);
	ck_assert_ptr_nonnull(before);
	ck_assert_int_eq(lstat(path_snap(id), &lst), 0);
	not_regular = !S_ISREG(lst.st_mode);
	expect_prev_or_error(id, with_prev);
	if (!with_prev && not_regular)
		expect_advice_by_hand();
	expect_scan(id, with_prev, not_regular);
	if (not_regular)
		expect_untouched(id);
	/* nothing deleted, the link target unchanged and never returned */
	ck_assert(still_there(id, ".snap"));
	ck_assert_int_eq(with_prev, still_there(id, ".snap.prev"));
	{
		size_t len2 = 0;
		char *after = tu_read_file(outside, &len2);

		ck_assert(after != NULL && len2 == len &&
			  memcmp(before, after, len) == 0);
		free(after);
	}
	free(before);
}

START_TEST(symlink_to_file)
{
	hostile_case(plant_link_outside, _i);
}
END_TEST

START_TEST(symlink_to_dir)
{
	hostile_case(plant_link_dir, _i);
}
END_TEST

START_TEST(symlink_loop)
{
	hostile_case(plant_link_loop, _i);
}
END_TEST

START_TEST(fifo_never_blocks)
{
	hostile_case(plant_fifo, _i);
}
END_TEST

START_TEST(socket_named_like_snapshot)
{
	hostile_case(plant_socket, _i);
}
END_TEST

START_TEST(directory_named_like_snapshot)
{
	hostile_case(plant_dir, _i);
}
END_TEST

START_TEST(zero_length)
{
	hostile_case(plant_empty, _i);
}
END_TEST

START_TEST(sparse_1gib)
{
	hostile_case(plant_sparse, _i);
}
END_TEST

/*
 * Unreadable: mode 000, and (root bypasses modes) EACCES from the seam.
 * The load fails with the permission error, with or without a previous
 * generation (_i): the unreadable snapshot may be intact and newer, so
 * falling back would hand the app an older state.
 */
START_TEST(unreadable)
{
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	json_object *st = NULL;
	int rc;

	make_session(id, _i ? PREV : NULL, GOOD);
	path_of(path, sizeof(path), id, ".snap");
	ck_assert_int_eq(chmod(path, 0), 0);
	if (geteuid() == 0)
		sessnap__fault_arm(SESSNAP__SYS_OPEN, 1, EACCES,
				   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_store_load(&st, NULL, store, id);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EPERM);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), store_dir));
	ck_assert(still_there(id, ".snap"));
}
END_TEST

/* Write "<header>\n<payload>\n" as <id>.snap, header built by hand. */
static void write_crafted(const char *id, const char *payload, size_t plen,
			  uint64_t claimed_len)
{
	sessnap__header h;
	char name[SESSNAP__NAME_MAX];
	char *hbuf, *file;
	size_t hlen;

	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP_FORMAT_VERSION;
	strlcpy(h.app, "hostile", sizeof(h.app));
	strlcpy(h.id, id, sizeof(h.id));
	h.seq = 1;
	h.created_ms = h.saved_ms = 1;
	h.length = claimed_len;
	sessnap__checksum(h.checksum, payload, plen);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &h), 0);
	file = malloc(hlen + plen + 1);
	ck_assert_ptr_nonnull(file);
	memcpy(file, hbuf, hlen);
	memcpy(file + hlen, payload, plen);
	file[hlen + plen] = '\n';
	sessnap__snap_name(name, id);
	tu_write_file(store_dir, name, file, hlen + plen + 1);
	free(file);
	free(hbuf);
}

START_TEST(json_nested_100000_deep)
{
	char id[SESSNAP_ID_LEN + 1];
	const size_t depth = 100000;
	json_object *st = NULL;
	char *p;
	size_t i;
	int rc;

	make_session(id, NULL, GOOD);
	p = malloc(2 * depth);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < depth; i++) {
		p[i] = '[';
		p[2 * depth - 1 - i] = ']';
	}
	/* checksum valid, length right: only the depth is hostile */
	write_crafted(id, p, 2 * depth, 2 * depth);
	free(p);
	rc = sessnap_store_load(&st, NULL, store, id);
	ck_assert_int_eq(rc, SESSNAP_ECORRUPT);
	ck_assert_ptr_null(st);
	ck_assert(still_there(id, ".snap"));
}
END_TEST

START_TEST(header_claims_huge_payload)
{
	char id[SESSNAP_ID_LEN + 1];
	json_object *st = NULL;
	int rc;

	make_session(id, PREV, GOOD);
	write_crafted(id, "{}", 2, (uint64_t)1 << 62);
	rc = sessnap_store_load(&st, NULL, store, id);
	/* the size check refuses it before any allocation: prev is used */
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(
	    json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), PREV);
	json_object_put(st);
	ck_assert(still_there(id, ".snap"));
}
END_TEST

/* A file of another owner loads (or is refused) cleanly and stays. */
START_TEST(file_of_another_owner)
{
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	json_object *st = NULL;
	int rc;

	if (geteuid() != 0) {
		printf("# file_of_another_owner: not root, chown not "
		       "possible: checked as root only\n");
		return;
	}
	make_session(id, NULL, GOOD);
	path_of(path, sizeof(path), id, ".snap");
	ck_assert_int_eq(chown(path, 12345, 12345), 0);
	rc = sessnap_store_load(&st, NULL, store, id);
	ck_assert(rc == 0 || rc < 0);
	if (rc == 0)
		json_object_put(st);
	ck_assert(still_there(id, ".snap"));
}
END_TEST

/* Ids that are not ids: never a path outside the store, never a crash. */
START_TEST(names_not_ids)
{
	static const char *const bad[] = {
		"../../../../etc/passwd",
		"",
		".",
		"..",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"\xff\xfe\xfd",
		"0123456789abcdef0123456789abcdef0",
		"0123456789abcdef/123456789abcde",
	};
	json_object *st = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(sessnap_store_load(&st, NULL, store, bad[i]),
				 SESSNAP_EBADNAME);
		ck_assert_ptr_null(st);
		ck_assert_int_eq(sessnap_store_discard(store, bad[i]),
				 SESSNAP_EBADNAME);
	}
}
END_TEST

/* Non-UTF-8 and odd names in the store do not disturb a load. */
START_TEST(non_utf8_names_beside)
{
	char id[SESSNAP_ID_LEN + 1];
	static const char junk[] = "x";
	json_object *st = NULL;
	int rc;

	make_session(id, NULL, GOOD);
	tu_write_file(store_dir, "\xff\xfe.snap", junk, 1);
	tu_write_file(store_dir, "caf\xe9.snap.prev", junk, 1);
	tu_write_file(store_dir, ".\x80.snap.XXXXXX", junk, 1);
	rc = sessnap_store_load(&st, NULL, store, id);
	ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
	ck_assert_str_eq(
	    json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), GOOD);
	json_object_put(st);
	ck_assert_int_eq(tu_count_files(store_dir, NULL), 5);
	{
		sessnap_info **infos = NULL;
		size_t n = 0;

		ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(infos[0]->id, id);
		sessnap_info_free(infos, n);
	}
	ck_assert_int_eq(tu_count_files(store_dir, NULL), 5);
}
END_TEST

/*
 * Discard removes the store's own names only: a session's temporary files
 * (.<id>.snap.XXXXXX, .<id>.snap.prev.XXXXXX) go with it, as the cleaner
 * would remove them, but a name that merely starts like one (a backup, an
 * editor's file) is not the store's and is left, as is a directory with a
 * temporary file's name.
 */
START_TEST(discard_store_names_only)
{
	static const char *const ours[] = { ".snap.abcdef",
					    ".snap.prev.ABC123" };
	static const char *const theirs[] = { ".snap.bak~", ".snap.orig",
					      ".snap.abcdefg", ".snap.prev." };
	char id[SESSNAP_ID_LEN + 1], name[SESSNAP__NAME_MAX + 16];
	char path[PATH_MAX];
	size_t i;

	make_session(id, PREV, GOOD);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), ".%s%s", id, ours[i]);
		tu_write_file(store_dir, name, "x", 1);
	}
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), ".%s%s", id, theirs[i]);
		tu_write_file(store_dir, name, "x", 1);
	}
	snprintf(name, sizeof(name), ".%s.snap.qwerty", id);
	tu_join(path, sizeof(path), store_dir, name);
	ck_assert_int_eq(mkdir(path, 0700), 0);

	ck_assert_msg(sessnap_store_discard(store, id) == 0, "discard: %s",
		      sessnap_error_last());
	ck_assert(!still_there(id, ".snap"));
	ck_assert(!still_there(id, ".snap.prev"));
	ck_assert(!still_there(id, ".lock"));
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), ".%s%s", id, ours[i]);
		tu_join(path, sizeof(path), store_dir, name);
		ck_assert_msg(access(path, F_OK) < 0, "%s kept", name);
	}
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), ".%s%s", id, theirs[i]);
		tu_join(path, sizeof(path), store_dir, name);
		ck_assert_msg(access(path, F_OK) == 0, "%s removed", name);
	}
	ck_assert_int_eq(tu_count_files(store_dir, NULL), 5);
}
END_TEST

/*
 * The delta layout's writer holds its file open between saves.  Whatever
 * is planted under the name meanwhile (a link to a file outside, a link
 * loop, a FIFO, a directory, a socket, an empty or a sparse 1 GiB file),
 * the next save never writes through it or into the file it held open:
 * the outside file and the old file keep every byte, no call blocks (the
 * watchdog), and the save either puts a new file of the layout under the
 * name, holding the new state, or fails with a message naming the store.
 */
static void (*const live_plants[])(const char *path) = {
	plant_link_outside, plant_link_loop, plant_fifo, plant_dir,
	plant_socket,	    plant_empty,     plant_sparse
};
static const char *const live_names[] = { "a link outside", "a link loop",
					  "a FIFO",	    "a directory",
					  "a socket",	    "an empty file",
					  "a sparse 1 GiB file" };

START_TEST(delta_name_replaced_under_the_writer)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap__header h;
	sessnap_store *ds;
	sessnap_session *s;
	json_object *st = NULL;
	char id[SESSNAP_ID_LEN + 1], name[SESSNAP__NAME_MAX];
	char *out_before, *old_before, *buf;
	size_t out_len, old_len, len;
	struct stat lst;
	ssize_t n;
	int old_fd, rc;

	make_outside();
	out_before = tu_read_file(outside, &out_len);
	ck_assert_ptr_nonnull(out_before);
	opts.dir = store_dir;
	opts.app = "hostile";
	opts.flags = SESSNAP_STORE_NOTHREAD | SESSNAP_STORE_DELTA;
	ck_assert_int_eq(sessnap_store_open(&ds, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, ds, NULL), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	st = json_tokener_parse(PREV);
	ck_assert_int_eq(sessnap_session_update(s, st), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	json_object_put(st);
	st = json_tokener_parse(GOOD);
	ck_assert_int_eq(sessnap_session_update(s, st), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0); /* an append */
	json_object_put(st);
	sessnap__snap_name(name, id);
	ck_assert_int_eq(sessnap__header_read(&h, NULL, ds, name), 0);
	ck_assert_uint_eq(h.layout, SESSNAP_LAYOUT_DELTA);
	ck_assert_int_ge(h.slot, 0);

	/* the file the writer holds open, watched through a descriptor */
	old_fd = open(path_snap(id), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(old_fd, 0);
	old_before = tu_read_file(path_snap(id), &old_len);
	ck_assert_ptr_nonnull(old_before);
	replace_snap(id, live_plants[_i]);

	st = json_tokener_parse(OUTSIDE);
	json_object_object_add(st, "new", json_object_new_int(_i));
	ck_assert_int_eq(sessnap_session_update(s, st), 0);
	rc = sessnap_session_flush(s);
	printf("# delta, name replaced by %s under the writer: %s\n",
	       live_names[_i], rc < 0 ? sessnap_error_last() : "saved");
	fflush(stdout);
	if (rc < 0) {
		ck_assert_ptr_nonnull(strstr(sessnap_error_last(), store_dir));
	} else {
		/* a new file under the name: a compaction */
		ck_assert_msg(lstat(path_snap(id), &lst) == 0 &&
				  S_ISREG(lst.st_mode) &&
				  sessnap__header_read(&h, NULL, ds, name) ==
				      0 &&
				  h.layout == SESSNAP_LAYOUT_DELTA &&
				  h.slot == -1,
			      "the save succeeded, but the name holds no new "
			      "file of the delta layout");
	}
	/* a second save goes the same way: never into the old file */
	(void)sessnap_session_flush(s);
	json_object_put(st);

	buf = tu_read_file(outside, &len);
	ck_assert_msg(buf != NULL && len == out_len &&
			  memcmp(buf, out_before, len) == 0,
		      "the file outside the store was written");
	free(buf);
	buf = malloc(old_len + 1);
	ck_assert_ptr_nonnull(buf);
	n = pread(old_fd, buf, old_len + 1, 0);
	ck_assert_msg(n == (ssize_t)old_len &&
			  memcmp(buf, old_before, old_len) == 0,
		      "the file no longer under the name was written");
	free(buf);
	free(old_before);
	free(out_before);
	close(old_fd);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(ds), 0);
}
END_TEST

Suite *hostile_suite(void);

Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *core = tcase_create("core");
	TCase *errors = tcase_create("errors");
	TCase *edge = tcase_create("edge");

	tu_tcase_add_tmpdir(core);
	tcase_add_checked_fixture(core, setup, teardown);
	/* _i = 0: no previous generation; 1: a valid one to fall back to */
	tcase_add_loop_test(core, symlink_to_file, 0, 2);
	tcase_add_loop_test(core, symlink_to_dir, 0, 2);
	tcase_add_loop_test(core, symlink_loop, 0, 2);
	tcase_add_loop_test(core, fifo_never_blocks, 0, 2);
	tcase_add_loop_test(core, socket_named_like_snapshot, 0, 2);
	tcase_add_loop_test(core, directory_named_like_snapshot, 0, 2);
	tcase_add_loop_test(core, zero_length, 0, 2);
	tcase_add_loop_test(core, sparse_1gib, 0, 2);
	suite_add_tcase(s, core);

	tu_tcase_add_tmpdir(errors);
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_loop_test(errors, unreadable, 0, 2);
	tcase_add_test(errors, json_nested_100000_deep);
	tcase_add_test(errors, header_claims_huge_payload);
	suite_add_tcase(s, errors);

	tu_tcase_add_tmpdir(edge);
	tcase_add_checked_fixture(edge, setup, teardown);
	tcase_add_test(edge, file_of_another_owner);
	tcase_add_test(edge, names_not_ids);
	tcase_add_test(edge, non_utf8_names_beside);
	tcase_add_test(edge, discard_store_names_only);
	tcase_add_loop_test(edge, delta_name_replaced_under_the_writer, 0,
			    (int)(sizeof(live_plants) / sizeof(live_plants[0])));
	suite_add_tcase(s, edge);
	return s;
}

TU_MAIN(hostile_suite)
