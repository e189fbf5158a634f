/*
 * check_clean.c - the cleaner: what it removes, and everything it must not
 *
 * Snapshots are written by hand here (sessnap__header_format plus a
 * payload), so each test sets the saved time, the completed flag, the
 * owner's host and the format version it needs; time is passed to the
 * cleaner as policy.now_ms, never slept.  Each safety rule has its own
 * test that fails when the rule is taken out of lib/clean.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define DAY_MS INT64_C(86400000)
#define NOW (INT64_C(1800000000000))

static const char *ID1 = "00000000000000000000000000000001";
static const char *ID2 = "00000000000000000000000000000002";
static const char *ID3 = "00000000000000000000000000000003";

static const char payload[] = "{\"text\":\"hello\"}";

/* The host this process records as a snapshot's owner. */
static char self_host[SESSNAP_HOST_MAX + 1];

static void snap_bytes(char **out, size_t *out_len, const char *id,
		       int64_t saved_ms, bool completed, const char *host,
		       uint32_t format)
{
	sessnap__header h;
	char *hdr, *buf;
	size_t hlen, plen = strlen(payload);

	memset(&h, 0, sizeof(h));
	h.format_version = format;
	strlcpy(h.app, "t", sizeof(h.app));
	strlcpy(h.id, id, sizeof(h.id));
	h.seq = 1;
	h.created_ms = saved_ms;
	h.saved_ms = saved_ms;
	h.completed = completed;
	h.owner.pid = 1;
	strlcpy(h.owner.host, host ? host : self_host, sizeof(h.owner.host));
	h.length = plen;
	sessnap__checksum(h.checksum, payload, plen);
	ck_assert_int_eq(sessnap__header_format(&hdr, &hlen, &h), 0);
	buf = malloc(hlen + plen + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, hdr, hlen);
	memcpy(buf + hlen, payload, plen);
	buf[hlen + plen] = '\n';
	free(hdr);
	*out = buf;
	*out_len = hlen + plen + 1;
}

/* Write a snapshot file `name` into dir. */
static void put_snap_in(const char *dir, const char *name, const char *id,
			int64_t saved_ms, bool completed, const char *host,
			uint32_t format)
{
	char *buf;
	size_t len;

	snap_bytes(&buf, &len, id, saved_ms, completed, host, format);
	tu_write_file(dir, name, buf, len);
	free(buf);
}

static void put_snap(const char *suffix, const char *id, int64_t saved_ms,
		     bool completed)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", id, suffix);
	put_snap_in(tu_dir, name, id, saved_ms, completed, NULL,
		    SESSNAP_FORMAT_VERSION);
}

static void set_mtime(const char *name, int64_t ms)
{
	char path[PATH_MAX];
	struct timespec ts[2];

	tu_join(path, sizeof(path), tu_dir, name);
	ts[0].tv_sec = ts[1].tv_sec = ms / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = (ms % 1000) * 1000000;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static bool exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	tu_join(path, sizeof(path), tu_dir, name);
	return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool exists_id(const char *id, const char *suffix)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", id, suffix);
	return exists(name);
}

static sessnap_store *open_store_at(const char *dir)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;

	o.dir = dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_READONLY;
	ck_assert_msg(sessnap_store_open(&s, &o) == 0, "%s",
		      sessnap_error_last());
	strlcpy(self_host, s->self.host, sizeof(self_host));
	return s;
}

static sessnap_store *open_store(void)
{
	return open_store_at(tu_dir);
}

static sessnap_clean_policy policy(void)
{
	sessnap_clean_policy p = SESSNAP_CLEAN_POLICY_INIT;

	p.now_ms = NOW;
	return p;
}

/* Fill self_host before the first snapshot is written. */
static void host_setup(void)
{
	sessnap_owner o;

	sessnap__owner_self(&o);
	strlcpy(self_host, o.host, sizeof(self_host));
}

/* A callback that records the events of one run. */
struct events {
	int n;
	sessnap_clean_action action[64];
	sessnap_clean_file file[64];
	char name[64][80];
};

static void record(const sessnap_clean_event *ev, void *payload_)
{
	struct events *e = payload_;

	if (e->n < 64) {
		e->action[e->n] = ev->action;
		e->file[e->n] = ev->file;
		strlcpy(e->name[e->n], ev->name, sizeof(e->name[0]));
		e->n++;
	}
}

static int run(sessnap_clean_report *rep, sessnap_store *s,
	       const sessnap_clean_policy *p)
{
	sessnap_clean_report init = SESSNAP_CLEAN_REPORT_INIT;

	*rep = init;
	return sessnap_store_clean(rep, s, p, NULL, NULL);
}

/* ---- core ---------------------------------------------------------------- */

/*
 * The older generations of a store that keeps them go with their session,
 * as one session (counted once); a session one of whose older generations
 * is not a regular file is left whole.  Names beyond the store's naming
 * (.snap.9, .snap.02) are not the store's and stay.
 */
START_TEST(test_removes_older_generations)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char path[PATH_MAX], name[128];

	put_snap(".snap", ID1, NOW - 8 * DAY_MS, true);
	put_snap(".snap.prev", ID1, NOW - 9 * DAY_MS, true);
	put_snap(".snap.2", ID1, NOW - 10 * DAY_MS, true);
	put_snap(".snap.3", ID1, NOW - 11 * DAY_MS, true);
	snprintf(path, sizeof(path), "%s.snap.9", ID1);
	tu_write_file(tu_dir, path, "x", 1);
	snprintf(path, sizeof(path), "%s.snap.02", ID1);
	tu_write_file(tu_dir, path, "x", 1);
	put_snap(".snap", ID2, NOW - 8 * DAY_MS, true);
	snprintf(name, sizeof(name), "%s.snap.2", ID2);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert(!exists_id(ID1, ".snap"));
	ck_assert(!exists_id(ID1, ".snap.prev"));
	ck_assert(!exists_id(ID1, ".snap.2"));
	ck_assert(!exists_id(ID1, ".snap.3"));
	ck_assert(exists_id(ID1, ".snap.9"));
	ck_assert(exists_id(ID1, ".snap.02"));
	ck_assert_uint_eq(r.skipped_unsafe, 1);
	ck_assert(exists_id(ID2, ".snap"));
	ck_assert(exists_id(ID2, ".snap.2"));
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_removes_old_completed_all_files)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	struct events ev = { 0 };
	sessnap_clean_report init = SESSNAP_CLEAN_REPORT_INIT;

	put_snap(".snap", ID1, NOW - 8 * DAY_MS, true);
	put_snap(".snap.prev", ID1, NOW - 9 * DAY_MS, true);
	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	r = init;
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, record, &ev), 0);
	ck_assert(!exists_id(ID1, ".snap"));
	ck_assert(!exists_id(ID1, ".snap.prev"));
	ck_assert(!exists_id(ID1, ".lock"));
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert_uint_eq(r.files_removed, 3);
	ck_assert_uint_gt(r.bytes_freed, 2 * strlen(payload));
	/* The lock file is the last file of the session to go. */
	ck_assert_int_eq(ev.n, 3);
	ck_assert_int_eq(ev.file[2], SESSNAP_CLEAN_FILE_LOCK);
	ck_assert_int_eq(ev.action[0], SESSNAP_CLEAN_REMOVE_COMPLETED);
	sessnap_store_close(s);
}
END_TEST

/*
 * More sessions than the reaper's queue holds: every one is removed, and
 * when sessnap_store_clean() returns every removed file has been closed (no
 * descriptor is left open, so the space is free).
 */
START_TEST(test_many_sessions_all_closed)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char id[SESSNAP_ID_LEN + 1], name[64];
	int i, n = 300, fds = tu_count_fds();

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%032x", i + 16);
		snprintf(name, sizeof(name), "%s.snap", id);
		put_snap_in(tu_dir, name, id, NOW - 8 * DAY_MS, true, NULL,
			    SESSNAP_FORMAT_VERSION);
		if (i % 2 == 0) {
			snprintf(name, sizeof(name), "%s.snap.prev", id);
			put_snap_in(tu_dir, name, id, NOW - 9 * DAY_MS, true,
				    NULL, SESSNAP_FORMAT_VERSION);
		}
	}
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_completed, (unsigned)n);
	ck_assert_uint_eq(r.files_removed, (unsigned)(n + n / 2));
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(s);
}
END_TEST

/*
 * Without its reaper thread (thread creation fails), the cleaner closes
 * each removed file itself: the same result, nothing left open.
 */
START_TEST(test_reaper_unavailable)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char id[SESSNAP_ID_LEN + 1], name[64];
	int i, n = 100, fds = tu_count_fds();

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%032x", i + 16);
		snprintf(name, sizeof(name), "%s.snap", id);
		put_snap_in(tu_dir, name, id, NOW - 8 * DAY_MS, true, NULL,
			    SESSNAP_FORMAT_VERSION);
	}
	sessnap__fault_arm(SESSNAP__SYS_THREAD, 1, EAGAIN,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_uint_eq(r.removed_completed, (unsigned)n);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(s);
}
END_TEST

/*
 * The age rules, one row per case: sessions with a saved time (NOW minus
 * their age) and a completed mark, a policy, which sessions survive, and
 * the report's counters (-1: not checked).
 */
#define NONE -1
#define ID_1 "00000000000000000000000000000001"
#define ID_2 "00000000000000000000000000000002"
static const struct age_case {
	const char *what;
	struct {
		const char *id;
		int64_t age_ms;
		bool completed;
		bool kept;
	} sess[2];
	size_t n;
	bool crashed_never; /* crashed_age_ms = -1 */
	unsigned int keep;
	int kept_young, kept_newest, removed_crashed, files_removed;
} age_cases[] = {
	{ .what = "young completed session kept",
	  .sess = { { ID_1, 6 * DAY_MS, true, true } },
	  .n = 1,
	  .kept_young = 1,
	  .kept_newest = NONE,
	  .removed_crashed = NONE,
	  .files_removed = 0 },
	{ .what = "crashed sessions get the longer age",
	  .sess = { { ID_1, 10 * DAY_MS, false, true },
		    { ID_2, 31 * DAY_MS, false, false } },
	  .n = 2,
	  .kept_young = 1,
	  .kept_newest = NONE,
	  .removed_crashed = 1,
	  .files_removed = NONE },
	{ .what = "a negative age never removes",
	  .sess = { { ID_1, 1000 * DAY_MS, false, true } },
	  .n = 1,
	  .crashed_never = true,
	  .kept_young = NONE,
	  .kept_newest = NONE,
	  .removed_crashed = NONE,
	  .files_removed = NONE },
	{ .what = "exactly the age is old enough, a millisecond less is not",
	  .sess = { { ID_1, 7 * DAY_MS, true, false },
		    { ID_2, 7 * DAY_MS - 1, true, true } },
	  .n = 2,
	  .kept_young = NONE,
	  .kept_newest = NONE,
	  .removed_crashed = NONE,
	  .files_removed = NONE },
	{ .what = "keep more than there are sessions",
	  .sess = { { ID_1, 100 * DAY_MS, true, true } },
	  .n = 1,
	  .keep = 5,
	  .kept_young = NONE,
	  .kept_newest = 1,
	  .removed_crashed = NONE,
	  .files_removed = NONE },
};
#define N_AGE_CASES (int)(sizeof(age_cases) / sizeof(age_cases[0]))

static void expect_counter(const char *what, const char *field, int want,
			   uint64_t got)
{
	if (want != NONE)
		ck_assert_msg(got == (uint64_t)want, "%s: %s is %llu, not %d",
			      what, field, (unsigned long long)got, want);
}

START_TEST(test_age_rules)
{
	const struct age_case *t = &age_cases[_i];
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	size_t i;

	for (i = 0; i < t->n; i++)
		put_snap(".snap", t->sess[i].id, NOW - t->sess[i].age_ms,
			 t->sess[i].completed);
	if (t->crashed_never)
		p.crashed_age_ms = -1;
	p.keep = t->keep;
	ck_assert_int_eq(run(&r, s, &p), 0);
	for (i = 0; i < t->n; i++)
		ck_assert_msg(exists_id(t->sess[i].id, ".snap") ==
				  t->sess[i].kept,
			      "%s: session %zu %s", t->what, i,
			      t->sess[i].kept ? "removed" : "kept");
	expect_counter(t->what, "kept_young", t->kept_young, r.kept_young);
	expect_counter(t->what, "kept_newest", t->kept_newest, r.kept_newest);
	expect_counter(t->what, "removed_crashed", t->removed_crashed,
		       r.removed_crashed);
	expect_counter(t->what, "files_removed", t->files_removed,
		       r.files_removed);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_age_from_header_not_mtime)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	/* Header says young, mtime says old: kept. */
	put_snap(".snap", ID1, NOW - DAY_MS, true);
	set_mtime("00000000000000000000000000000001.snap", NOW - 100 * DAY_MS);
	/* Header says old, mtime says young: removed. */
	put_snap(".snap", ID2, NOW - 100 * DAY_MS, true);
	set_mtime("00000000000000000000000000000002.snap", NOW);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(!exists_id(ID2, ".snap"));
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_orphan_temp_files)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	const char *old_t = ".00000000000000000000000000000001.snap.aB3xYz";
	const char *old_p =
	    ".00000000000000000000000000000001.snap.prev.Qq1234";
	const char *young = ".00000000000000000000000000000002.snap.zzzzzz";

	tu_write_file(tu_dir, old_t, "partial", 7);
	tu_write_file(tu_dir, old_p, "partial", 7);
	tu_write_file(tu_dir, young, "partial", 7);
	set_mtime(old_t, NOW - 2 * 3600000);
	set_mtime(old_p, NOW - 2 * 3600000);
	set_mtime(young, NOW - 60000);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(!exists(old_t));
	ck_assert(!exists(old_p));
	ck_assert(exists(young));
	ck_assert_uint_eq(r.removed_temp, 2);
	ck_assert_uint_eq(r.bytes_freed, 14);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_stray_lock_removed_when_free)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(!exists_id(ID1, ".lock"));
	ck_assert_uint_eq(r.removed_lock, 1);
	sessnap_store_close(s);
}
END_TEST


/*
 * A lock file with the record begin writes is judged as an empty one: by
 * its lock alone.  Held (a session that has not saved yet), it is kept;
 * released, it is an orphaned lock file, removed like an old empty one.
 */
START_TEST(test_lock_with_record_judged_by_its_lock)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;
	sessnap_clean_policy p = policy();
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_clean_report r;
	sessnap_session *sess = NULL;
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD; /* writable: it begins a session */
	ck_assert_int_eq(sessnap_store_open(&s, &o), 0);
	so.key = "/home/u/a.txt";
	so.key_len = 13;
	ck_assert_int_eq(sessnap_session_begin(&sess, s, &so), 0);
	sessnap__lock_name(name, sessnap_session_id(sess));
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_size, 0); /* the record */
	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.kept_running, 1);
	ck_assert_uint_eq(r.removed_lock, 1);
	ck_assert_int_eq(stat(path, &st), 0);
	sessnap_session_release(sess);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_lock, 1);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_dry_run_removes_nothing)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int before;

	put_snap(".snap", ID1, NOW - 8 * DAY_MS, true);
	put_snap(".snap", ID2, NOW - 40 * DAY_MS, false);
	before = tu_count_files(tu_dir, NULL);
	p.flags = SESSNAP_CLEAN_DRY_RUN;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert_uint_eq(r.removed_crashed, 1);
	/* Nothing removed, and no lock file created either. */
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), before);
	p.flags = 0;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_keep_newest)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	put_snap(".snap", ID1, NOW - 10 * DAY_MS, true);
	put_snap(".snap", ID2, NOW - 20 * DAY_MS, true);
	put_snap(".snap", ID3, NOW - 30 * DAY_MS, true);
	p.keep = 2;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(exists_id(ID2, ".snap"));
	ck_assert(!exists_id(ID3, ".snap"));
	ck_assert_uint_eq(r.kept_newest, 2);
	ck_assert_uint_eq(r.removed_completed, 1);
	sessnap_store_close(s);
}
END_TEST

/* ---- errors: the safety rules -------------------------------------------- */

START_TEST(test_running_session_never_removed)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *w = NULL, *s;
	sessnap_session *sess = NULL;
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	json_object *state = json_object_new_object();
	char name[64];

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD;
	ck_assert_int_eq(sessnap_store_open(&w, &o), 0);
	ck_assert_int_eq(sessnap_session_begin(&sess, w, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(sess, state), 0);
	ck_assert_int_eq(sessnap_session_flush(sess), 0);
	s = open_store();
	/* Far in the future: every age limit is passed. */
	p.now_ms = sessnap__now_ms() + 1000 * DAY_MS;
	p.completed_age_ms = 0;
	p.crashed_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	snprintf(name, sizeof(name), "%s.snap", sessnap_session_id(sess));
	ck_assert(exists(name));
	snprintf(name, sizeof(name), "%s.lock", sessnap_session_id(sess));
	ck_assert(exists(name));
	ck_assert_uint_eq(r.kept_running, 1);
	ck_assert_uint_eq(r.files_removed, 0);
	/* Released (the owner is gone): now it goes. */
	sessnap_session_release(sess);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_crashed, 1);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	json_object_put(state);
	sessnap_store_close(s);
	sessnap_store_close(w);
}
END_TEST

START_TEST(test_running_temp_and_lock_kept)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *w = NULL, *s;
	sessnap_session *sess = NULL;
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char name[80];

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD;
	ck_assert_int_eq(sessnap_store_open(&w, &o), 0);
	ck_assert_int_eq(sessnap_session_begin(&sess, w, NULL), 0);
	/* A begun session with no snapshot yet, and an old temp file. */
	snprintf(name, sizeof(name), ".%s.snap.abcdef",
		 sessnap_session_id(sess));
	tu_write_file(tu_dir, name, "x", 1);
	set_mtime(name, NOW - 100 * DAY_MS);
	s = open_store();
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists(name));
	snprintf(name, sizeof(name), "%s.lock", sessnap_session_id(sess));
	ck_assert(exists(name));
	ck_assert_uint_eq(r.kept_running, 2);
	sessnap_session_release(sess);
	sessnap_store_close(s);
	sessnap_store_close(w);
}
END_TEST

START_TEST(test_newer_format_never_removed)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	put_snap_in(tu_dir, "00000000000000000000000000000001.snap", ID1,
		    NOW - 1000 * DAY_MS, true, NULL,
		    SESSNAP_FORMAT_VERSION + 1);
	/* A valid old main, but a newer-format previous generation. */
	put_snap(".snap", ID2, NOW - 1000 * DAY_MS, true);
	put_snap_in(tu_dir, "00000000000000000000000000000002.snap.prev", ID2,
		    NOW - 1000 * DAY_MS, true, NULL,
		    SESSNAP_FORMAT_VERSION + 1);
	p.completed_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(exists_id(ID2, ".snap"));
	ck_assert(exists_id(ID2, ".snap.prev"));
	ck_assert_uint_eq(r.kept_newer, 2);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_fifo_untouched)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char path[PATH_MAX];
	struct stat st;

	tu_join(path, sizeof(path), tu_dir,
		"00000000000000000000000000000001.snap");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	tu_join(path, sizeof(path), tu_dir,
		".00000000000000000000000000000002.snap.abcdef");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	p.completed_age_ms = p.crashed_age_ms = p.temp_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert_uint_eq(r.skipped_unsafe, 2);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_directory_named_like_snapshot_untouched)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char path[PATH_MAX];

	tu_join(path, sizeof(path), tu_dir,
		"00000000000000000000000000000001.snap");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	tu_write_file(path, "inside", "x", 1);
	tu_join(path, sizeof(path), tu_dir,
		"00000000000000000000000000000002.lock");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	p.completed_age_ms = p.crashed_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists("00000000000000000000000000000001.snap/inside"));
	ck_assert(exists_id(ID2, ".lock"));
	ck_assert_uint_eq(r.skipped_unsafe, 2);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_symlink_outside_untouched)
{
	sessnap_store *s;
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char store[PATH_MAX], target[PATH_MAX], link[PATH_MAX];
	struct stat st;

	/* The store is a subdirectory; the target sits outside it, an old
	 * completed snapshot that the cleaner would love to remove. */
	tu_join(store, sizeof(store), tu_dir, "store");
	ck_assert_int_eq(mkdir(store, 0700), 0);
	put_snap_in(tu_dir, "outside.snap", ID1, NOW - 100 * DAY_MS, true, NULL,
		    SESSNAP_FORMAT_VERSION);
	tu_join(target, sizeof(target), tu_dir, "outside.snap");
	tu_join(link, sizeof(link), store,
		"00000000000000000000000000000001.snap");
	ck_assert_int_eq(symlink(target, link), 0);
	tu_join(link, sizeof(link), store,
		".00000000000000000000000000000001.snap.abcdef");
	ck_assert_int_eq(symlink(target, link), 0);
	tu_join(link, sizeof(link), store,
		"00000000000000000000000000000002.lock");
	ck_assert_int_eq(symlink(target, link), 0);
	s = open_store_at(store);
	p.completed_age_ms = p.crashed_age_ms = p.temp_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(tu_count_files(store, NULL), 3);
	ck_assert_uint_eq(r.skipped_unsafe, 3);
	ck_assert_uint_eq(r.files_removed, 0);
	sessnap_store_close(s);
}
END_TEST

/*
 * The race with a live writer.  The seam's flopenat is wrapped: just
 * before the cleaner takes the session's lock, an adopter "saves" a fresh
 * snapshot by renaming it over <id>.snap (as atomic.c does).  The cleaner
 * must notice under the lock and keep the fresh snapshot.
 */
static int (*real_flopenat)(int, const char *, int, mode_t);
static int race_fired;

static int racing_flopenat(int dfd, const char *path, int flags, mode_t mode)
{
	char *buf;
	size_t len;

	if (!race_fired) {
		race_fired = 1;
		snap_bytes(&buf, &len, ID1, NOW, false, NULL,
			   SESSNAP_FORMAT_VERSION);
		tu_write_file(tu_dir,
			      ".00000000000000000000000000000001.snap."
			      "Fresh1",
			      buf, len);
		free(buf);
		ck_assert_int_eq(
		    renameat(dfd,
			     ".00000000000000000000000000000001.snap.Fresh1",
			     dfd, "00000000000000000000000000000001.snap"),
		    0);
	}
	return real_flopenat(dfd, path, flags, mode);
}

START_TEST(test_race_with_live_writer)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	json_object *state = NULL;
	sessnap_load_info *info = NULL;

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, false);
	real_flopenat = sessnap__sys.flopenat;
	sessnap__sys.flopenat = racing_flopenat;
	race_fired = 0;
	ck_assert_int_eq(run(&r, s, &p), 0);
	sessnap__sys.flopenat = real_flopenat;
	ck_assert_int_eq(race_fired, 1);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert_int_eq(sessnap_store_load(&state, &info, s, ID1), 0);
	ck_assert(info->saved_ms == NOW);
	ck_assert_uint_eq(r.kept_young, 1);
	ck_assert_uint_eq(r.files_removed, 0);
	json_object_put(state);
	sessnap_store_close(s);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_corrupt_only_with_flag)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	const char *name = "00000000000000000000000000000001.snap";

	tu_write_file(tu_dir, name, "garbage\n", 8);
	set_mtime(name, NOW - 100 * DAY_MS);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists(name));
	ck_assert_uint_eq(r.kept_corrupt, 1);
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(!exists(name));
	ck_assert_uint_eq(r.removed_corrupt, 1);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_relative_to_store_descriptor)
{
	sessnap_store *s;
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char a[PATH_MAX], b[PATH_MAX];

	tu_join(a, sizeof(a), tu_dir, "store");
	tu_join(b, sizeof(b), tu_dir, "moved");
	ck_assert_int_eq(mkdir(a, 0700), 0);
	put_snap_in(a, "00000000000000000000000000000001.snap", ID1,
		    NOW - 100 * DAY_MS, true, NULL, SESSNAP_FORMAT_VERSION);
	s = open_store_at(a);
	/* Move the store away and put a decoy where its path was. */
	ck_assert_int_eq(rename(a, b), 0);
	ck_assert_int_eq(mkdir(a, 0700), 0);
	put_snap_in(a, "00000000000000000000000000000001.snap", ID1,
		    NOW - 100 * DAY_MS, true, NULL, SESSNAP_FORMAT_VERSION);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert_int_eq(tu_count_files(b, NULL), 0);
	ck_assert_int_eq(tu_count_files(a, NULL), 1);
	sessnap_store_close(s);
}
END_TEST

/*
 * Two old completed sessions; the fault (kind, nth, err) fails the
 * removal of the first.  The clean returns SESSNAP_EIO with a message
 * holding both `part1` and `part2`, reports one failure, removes the
 * other session and goes on.  The failed session lost nothing: its
 * snapshot is still there, and no lock file was created for it; nothing
 * is left open.
 */
static void one_of_two_fails(unsigned int kind, unsigned long nth, int err,
			     const char *part1, const char *part2)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int rc, fds = tu_count_fds();

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, true);
	put_snap(".snap", ID2, NOW - 100 * DAY_MS, true);
	sessnap__fault_arm(kind, nth, err, 0);
	rc = run(&r, s, &p);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EIO);
	ck_assert_msg(strstr(sessnap_error_last(), part1) != NULL &&
			  strstr(sessnap_error_last(), part2) != NULL,
		      "%s", sessnap_error_last());
	ck_assert_uint_eq(r.failed, 1);
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 1);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(s);
}

START_TEST(test_unlink_failure_reported_and_continues)
{
	one_of_two_fails(SESSNAP__SYS_UNLINK, 1, EIO, "unlinkat of ",
			 ".snap failed");
}
END_TEST

/* A stale lock file (its owner died) that cannot be locked. */
START_TEST(test_lock_failure_reported)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int fds = tu_count_fds();

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, true);
	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	/* The first flock is the store gate's, the second the session's. */
	sessnap__fault_arm(SESSNAP__SYS_FLOCK, 2, EACCES, 0);
	ck_assert_int_eq(run(&r, s, &p), SESSNAP_EPERM);
	sessnap__fault_disarm();
	ck_assert_msg(strstr(sessnap_error_last(), ".lock") != NULL, "%s",
		      sessnap_error_last());
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(exists_id(ID1, ".lock"));
	ck_assert_uint_eq(r.failed, 1);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(s);
}
END_TEST

/*
 * One run over a store holding only a lone lock file whose owner died
 * (an empty one, as begin's record is judged: by its lock), with system
 * call N failing.  Whatever fails, nothing leaks, the lock file is either
 * removed and reported so or kept, and a kept one is a reported failure
 * naming the store or the session.  A dry run never removes it.  Returns
 * whether the fault fired.
 */
static bool lone_lock_fails_at(unsigned long nth, bool dry)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char name[128], path[PATH_MAX];
	bool fired;
	int rc, fds = tu_count_fds();

	snprintf(name, sizeof(name), "%s.lock", ID1);
	tu_join(path, sizeof(path), tu_dir, name);
	tu_write_file(tu_dir, name, "", 0);
	if (dry)
		p.flags = SESSNAP_CLEAN_DRY_RUN;
	sessnap__fault_arm(SESSNAP__SYS_ALL, nth, EIO, 0);
	rc = run(&r, s, &p);
	fired = sessnap__fault_fired() > 0;
	sessnap__fault_disarm();
	ck_assert_int_eq(tu_count_fds(), fds);
	if (!fired)
		ck_assert_msg(rc == 0, "N=%lu: %s", nth, sessnap_error_last());
	if (fired && rc < 0)
		ck_assert_msg(strstr(sessnap_error_last(), tu_dir) != NULL ||
				  strstr(sessnap_error_last(), ID1) != NULL,
			      "N=%lu: %s", nth, sessnap_error_last());
	if (exists_id(ID1, ".lock")) {
		/* A dry run says what it would remove, even when a later
		 * call (the next directory read) fails. */
		if (!dry || rc == 0)
			ck_assert_msg(
			    r.removed_lock == (dry ? 1u : 0u),
			    "N=%lu dry=%d rc=%d removed_lock=%" PRIu64 ": %s",
			    nth, dry, rc, r.removed_lock, sessnap_error_last());
		ck_assert_msg(dry || rc < 0, "N=%lu: kept without a failure",
			      nth);
	} else {
		ck_assert_msg(!dry, "N=%lu: a dry run removed the lock", nth);
		ck_assert_uint_eq(r.removed_lock, 1);
	}
	sessnap_store_close(s);
	if (exists_id(ID1, ".lock"))
		ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	return fired;
}

/* Every system call of the cleaner's handling of a lone lock file. */
START_TEST(test_lone_lock_fault_walk)
{
	unsigned long nth, points = 0;
	int dry;

	for (dry = 0; dry < 2; dry++) {
		for (nth = 1; lone_lock_fails_at(nth, dry); nth++) {
			ck_assert_uint_lt(nth, 1000);
			points++;
		}
	}
	ck_assert_uint_gt(points, 10);
}
END_TEST

/* The store gate itself cannot be locked: the session is kept, reported. */
START_TEST(test_gate_failure_reported)
{
	one_of_two_fails(SESSNAP__SYS_FLOCK, 1, EIO, "flock of store directory",
			 tu_dir);
}
END_TEST

/*
 * The re-check under the gate (an open and fstat of the snapshot, held
 * across its unlink) fails: reported, and the snapshot stays.  The
 * session's first fstat is its header read's, the second and third the
 * looks at its lock file's type (the cleaner's, then the lock's own), the
 * fourth the re-check's.
 */
START_TEST(test_recheck_failure_reported)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int fds = tu_count_fds();

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, true);
	sessnap__fault_arm(SESSNAP__SYS_STAT, 4, EIO, 0);
	ck_assert_int_eq(run(&r, s, &p), SESSNAP_EIO);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_msg(strstr(sessnap_error_last(), "fstat of ") != NULL &&
			  strstr(sessnap_error_last(), ".snap") != NULL,
		      "%s", sessnap_error_last());
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert_uint_eq(r.failed, 1);
	ck_assert_uint_eq(r.files_removed, 0);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(s);
}
END_TEST

/*
 * An adopter in the middle of taking a session's lock: it holds the store
 * gate shared (as sessnap_session_adopt does) and its lock file does not
 * exist yet.  The cleaner, which judged the old session removable, must
 * wait for the gate, then find the lock held and keep the session.
 * Without the gate it would see no lock file and delete the snapshot the
 * adopter is about to load.
 */
struct adopter {
	int gate;
	int lock;
	char lock_path[PATH_MAX];
};

static void *adopter_thread(void *arg)
{
	struct adopter *a = arg;
	struct timespec t = { 0, 200 * 1000000 };

	nanosleep(&t, NULL);
	a->lock = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock >= 0 && flock(a->lock, LOCK_EX) == 0)
		flock(a->gate, LOCK_UN);
	return NULL;
}

START_TEST(test_adopter_taking_lock_keeps_session)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	struct adopter a;
	pthread_t th;

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, false);
	a.gate = open(tu_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(a.gate, 0);
	ck_assert_int_eq(flock(a.gate, LOCK_SH), 0);
	a.lock = -1;
	tu_join(a.lock_path, sizeof(a.lock_path), tu_dir,
		"00000000000000000000000000000001.lock");
	ck_assert_int_eq(pthread_create(&th, NULL, adopter_thread, &a), 0);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_ge(a.lock, 0);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(exists_id(ID1, ".lock"));
	ck_assert_uint_eq(r.kept_running, 1);
	ck_assert_uint_eq(r.files_removed, 0);
	close(a.lock);
	close(a.gate);
	sessnap_store_close(s);
}
END_TEST

/* A session without a lock file is removed without creating one. */
static void count_creates(const struct sessnap__trace_event *ev, void *arg)
{
	if (ev->op == SESSNAP__TRACE_CREATE)
		++*(int *)arg;
}

START_TEST(test_no_lock_file_created)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	struct events e;
	sessnap_clean_report init = SESSNAP_CLEAN_REPORT_INIT;
	int i, creates = 0;

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, true);
	memset(&e, 0, sizeof(e));
	r = init;
	sessnap__sys_set_trace(count_creates, &creates);
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, record, &e), 0);
	sessnap__sys_set_trace(NULL, NULL);
	ck_assert_int_eq(creates, 0);
	ck_assert_uint_eq(r.removed_completed, 1);
	ck_assert_uint_eq(r.files_removed, 1);
	ck_assert_int_eq(e.n, 1);
	for (i = 0; i < e.n; i++)
		ck_assert_int_ne(e.file[i], SESSNAP_CLEAN_FILE_LOCK);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(s);
}
END_TEST

/*
 * A lock file that vanishes between the cleaner's look at it and its
 * lock: the session ended meanwhile and removed it.  The cleaner must
 * not create it again (in order to delete it): it creates nothing in a
 * store, and reports nothing for a file that is gone.  The seam's
 * flopenat is wrapped to remove the lock file just before it runs.
 */
static int (*real_flopenat)(int, const char *, int, mode_t);

static int flopenat_after_end(int dfd, const char *path, int flags,
			      mode_t mode)
{
	unlinkat(dfd, path, 0);
	return real_flopenat(dfd, path, flags, mode);
}

START_TEST(test_vanished_lock_not_recreated)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int creates = 0;

	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	real_flopenat = sessnap__sys.flopenat;
	sessnap__sys.flopenat = flopenat_after_end;
	sessnap__sys_set_trace(count_creates, &creates);
	ck_assert_int_eq(run(&r, s, &p), 0);
	sessnap__sys_set_trace(NULL, NULL);
	sessnap__sys.flopenat = real_flopenat;
	ck_assert_int_eq(creates, 0);
	ck_assert_uint_eq(r.removed_lock, 0);
	ck_assert_uint_eq(r.failed, 0);
	ck_assert_uint_eq(r.files_removed, 0);
	ck_assert(!exists_id(ID1, ".lock"));
	sessnap_store_close(s);
}
END_TEST

/*
 * A FIFO named like an old crashed session's lock file: never opened for
 * writing, never removed, and without a lock to take the session's
 * snapshot stays too, reported as skipped on the lock file; the same in
 * a dry run.
 */
START_TEST(test_fifo_lock_untouched)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r, init = SESSNAP_CLEAN_REPORT_INIT;
	struct events e;
	char path[PATH_MAX];
	struct stat st;
	int pass;

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, false);
	tu_join(path, sizeof(path), tu_dir,
		"00000000000000000000000000000001.lock");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	p.crashed_age_ms = 1000;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	for (pass = 0; pass < 2; pass++) {
		p.flags |= pass == 0 ? SESSNAP_CLEAN_DRY_RUN : 0;
		if (pass == 1)
			p.flags &= ~SESSNAP_CLEAN_DRY_RUN;
		memset(&e, 0, sizeof(e));
		r = init;
		ck_assert_msg(sessnap_store_clean(&r, s, &p, record, &e) == 0,
			      "%s", sessnap_error_last());
		ck_assert_uint_eq(r.skipped_unsafe, 1);
		ck_assert_uint_eq(r.removed_crashed, 0);
		ck_assert_uint_eq(r.files_removed, 0);
		ck_assert_int_eq(e.n, 1);
		ck_assert_int_eq(e.action[0], SESSNAP_CLEAN_SKIP_UNSAFE);
		ck_assert_int_eq(e.file[0], SESSNAP_CLEAN_FILE_LOCK);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISFIFO(st.st_mode));
		ck_assert(exists_id(ID1, ".snap"));
	}
	sessnap_store_close(s);
}
END_TEST

/*
 * The cleaner's own lock open refuses a FIFO (the one that replaced the
 * lock file after the decision): remove_session() keeps the session and
 * the FIFO.  The seam's flopenat is wrapped to swap the lock file for a
 * FIFO just before it runs.
 */
static int flopenat_fifo_swap(int dfd, const char *path, int flags,
			      mode_t mode)
{
	unlinkat(dfd, path, 0);
	mkfifoat(dfd, path, 0600);
	return real_flopenat(dfd, path, flags, mode);
}

START_TEST(test_lock_turned_fifo_untouched)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	char path[PATH_MAX];
	struct stat st;

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, false);
	tu_write_file(tu_dir, "00000000000000000000000000000001.lock", "", 0);
	p.crashed_age_ms = 1000;
	real_flopenat = sessnap__sys.flopenat;
	sessnap__sys.flopenat = flopenat_fifo_swap;
	ck_assert_int_eq(run(&r, s, &p), 0);
	sessnap__sys.flopenat = real_flopenat;
	ck_assert_uint_eq(r.skipped_unsafe, 1);
	ck_assert_uint_eq(r.files_removed, 0);
	tu_join(path, sizeof(path), tu_dir,
		"00000000000000000000000000000001.lock");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert(exists_id(ID1, ".snap"));
	sessnap_store_close(s);
}
END_TEST

/*
 * One rule for "is this host foreign?": a crashed session whose header
 * has an empty owner host (an old writer) is ours.  The scanner calls it
 * crashed, so the cleaner removes it as crashed once old enough, rather
 * than keeping it forever as another host's.
 */
START_TEST(test_empty_host_is_ours)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	sessnap_info **infos = NULL;
	size_t n = 0;

	put_snap_in(tu_dir, "00000000000000000000000000000001.snap", ID1,
		    NOW - 100 * DAY_MS, false, "", SESSNAP_FORMAT_VERSION);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, s, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_uint_eq(r.kept_foreign, 0);
	ck_assert_uint_eq(r.removed_crashed, 1);
	ck_assert(!exists_id(ID1, ".snap"));
	sessnap_store_close(s);
}
END_TEST

/*
 * A header whose id is not its file name's is corrupt, as the scanner
 * says: kept without SESSNAP_CLEAN_INCLUDE_CORRUPT (not removed as a
 * crashed session), removed as corrupt with it.
 */
START_TEST(test_wrong_id_is_corrupt)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	const char *name = "00000000000000000000000000000001.snap";

	put_snap_in(tu_dir, name, ID2, NOW - 100 * DAY_MS, false, NULL,
		    SESSNAP_FORMAT_VERSION);
	set_mtime(name, NOW - 100 * DAY_MS);
	p.crashed_age_ms = 1000;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists(name));
	ck_assert_uint_eq(r.removed_crashed, 0);
	ck_assert_uint_eq(r.kept_corrupt, 1);
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(!exists(name));
	ck_assert_uint_eq(r.removed_corrupt, 1);
	ck_assert_uint_eq(r.removed_crashed, 0);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_readdir_failure)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	int fds = tu_count_fds();

	put_snap(".snap", ID1, NOW - 100 * DAY_MS, true);
	sessnap__fault_arm(SESSNAP__SYS_READDIR, 2, EIO, 0);
	ck_assert_int_eq(run(&r, s, &p), SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert(strstr(sessnap_error_last(), "readdir") != NULL ||
		  strstr(sessnap_error_last(), "fdopendir") != NULL);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap__fault_arm(SESSNAP__SYS_OPEN, 1, EMFILE, 0);
	ck_assert_int_eq(run(&r, s, &p), SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert(exists_id(ID1, ".snap"));
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_bad_arguments)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;

	ck_assert_int_eq(sessnap_store_clean(&r, NULL, &p, NULL, NULL),
			 SESSNAP_EINVAL);
	p.version = 99;
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, NULL, NULL),
			 SESSNAP_EINVAL);
	ck_assert(strstr(sessnap_error_last(), "version") != NULL);
	p = policy();
	p.keep = SESSNAP_CLEAN_KEEP_MAX + 1;
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, NULL, NULL),
			 SESSNAP_EINVAL);
	p = policy();
	p.flags = 1u << 7;
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, NULL, NULL),
			 SESSNAP_EINVAL);
	r.version = 0;
	p = policy();
	ck_assert_int_eq(sessnap_store_clean(&r, s, &p, NULL, NULL),
			 SESSNAP_EINVAL);
	sessnap_store_close(s);
}
END_TEST

/* ---- edge ---------------------------------------------------------------- */

START_TEST(test_foreign_crashed_kept_completed_removed)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	put_snap_in(tu_dir, "00000000000000000000000000000001.snap", ID1,
		    NOW - 100 * DAY_MS, false, "elsewhere.example",
		    SESSNAP_FORMAT_VERSION);
	put_snap_in(tu_dir, "00000000000000000000000000000002.snap", ID2,
		    NOW - 100 * DAY_MS, true, "elsewhere.example",
		    SESSNAP_FORMAT_VERSION);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(exists_id(ID1, ".snap"));
	ck_assert(!exists_id(ID2, ".snap"));
	ck_assert_uint_eq(r.kept_foreign, 1);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_prev_only_session)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;

	put_snap(".snap.prev", ID1, NOW - 100 * DAY_MS, false);
	/* Main corrupt, .prev valid and young: not corrupt, and young. */
	tu_write_file(tu_dir, "00000000000000000000000000000002.snap", "\0\0",
		      2);
	set_mtime("00000000000000000000000000000002.snap", NOW - 100 * DAY_MS);
	put_snap(".snap.prev", ID2, NOW - DAY_MS, false);
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert(!exists_id(ID1, ".snap.prev"));
	ck_assert(exists_id(ID2, ".snap"));
	ck_assert_uint_eq(r.removed_crashed, 1);
	ck_assert_uint_eq(r.kept_young, 1);
	ck_assert_uint_eq(r.kept_corrupt, 0);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_foreign_names_ignored)
{
	sessnap_store *s = open_store();
	sessnap_clean_policy p = policy();
	sessnap_clean_report r;
	static const char *const names[] = {
		"notes.txt",
		"0000000000000000000000000000000A.snap",
		"0000000000000000000000000000001.snap",
		"00000000000000000000000000000001.snap.bak",
		".00000000000000000000000000000001.snap.abc",
		".00000000000000000000000000000001.snap.abcdefg",
		"x00000000000000000000000000000001.lock",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tu_write_file(tu_dir, names[i], "x", 1);
		set_mtime(names[i], NOW - 1000 * DAY_MS);
	}
	p.completed_age_ms = p.crashed_age_ms = p.temp_age_ms = 0;
	p.flags = SESSNAP_CLEAN_INCLUDE_CORRUPT;
	ck_assert_int_eq(run(&r, s, &p), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL),
			 (int)(sizeof(names) / sizeof(names[0])));
	ck_assert_uint_eq(r.files_removed, 0);
	sessnap_store_close(s);
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(
	    sessnap_clean_action_name(SESSNAP_CLEAN_REMOVE_COMPLETED),
	    "removed-completed");
	ck_assert_str_eq(sessnap_clean_action_name(SESSNAP_CLEAN_FAILED),
			 "failed");
	ck_assert_str_eq(sessnap_clean_action_name((sessnap_clean_action)99),
			 "unknown");
}
END_TEST

/*
 * The ABI the action table must keep: every action's value, its name, and
 * the report counter it lands in (offset in the struct, in enum order).
 * Generating the lists from one table must never move one of them.
 */
START_TEST(test_action_table_abi)
{
#define A(name, num, str)                                                      \
	{                                                                      \
		SESSNAP_CLEAN_##name, num, str                                 \
	}
	static const struct {
		sessnap_clean_action a;
		int value;
		const char *name;
	} want[] = {
		A(REMOVE_COMPLETED, 0, "removed-completed"),
		A(REMOVE_CRASHED, 1, "removed-crashed"),
		A(REMOVE_CORRUPT, 2, "removed-corrupt"),
		A(REMOVE_TEMP, 3, "removed-temp"),
		A(REMOVE_LOCK, 4, "removed-lock"),
		A(KEEP_RUNNING, 5, "kept-running"),
		A(KEEP_YOUNG, 6, "kept-young"),
		A(KEEP_NEWEST, 7, "kept-newest"),
		A(KEEP_NEWER, 8, "kept-newer-format"),
		A(KEEP_CORRUPT, 9, "kept-corrupt"),
		A(KEEP_FOREIGN, 10, "kept-foreign"),
		A(SKIP_UNSAFE, 11, "skipped-not-regular"),
		A(FAILED, 12, "failed"),
	};
#undef A
	static const char *const status[] = { "running", "crashed", "completed",
					      "foreign", "newer",   "corrupt" };
	const size_t first = offsetof(sessnap_clean_report, removed_completed);
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq((int)want[i].a, want[i].value);
		ck_assert_str_eq(sessnap_clean_action_name(want[i].a),
				 want[i].name);
	}
	ck_assert_uint_eq(offsetof(sessnap_clean_report, version), 0);
	ck_assert_uint_eq(first, sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, removed_lock),
			  first + 4 * sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, kept_running),
			  first + 5 * sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, skipped_unsafe),
			  first + 11 * sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, failed),
			  first + 12 * sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, files_removed),
			  first + 13 * sizeof(uint64_t));
	ck_assert_uint_eq(offsetof(sessnap_clean_report, bytes_freed),
			  first + 14 * sizeof(uint64_t));
	ck_assert_uint_eq(sizeof(sessnap_clean_report),
			  first + 15 * sizeof(uint64_t));
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(sessnap_verdict_name((sessnap_verdict)i),
				 status[i]);
	ck_assert_str_eq(sessnap_verdict_name((sessnap_verdict)6), "unknown");
}
END_TEST

Suite *clean_suite(void);

Suite *clean_suite(void)
{
	Suite *s = suite_create("clean");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, host_setup, NULL);
	tcase_add_test(tc, test_removes_old_completed_all_files);
	tcase_add_test(tc, test_removes_older_generations);
	tcase_add_test(tc, test_many_sessions_all_closed);
	tcase_add_test(tc, test_reaper_unavailable);
	tcase_add_loop_test(tc, test_age_rules, 0, N_AGE_CASES);
	tcase_add_test(tc, test_age_from_header_not_mtime);
	tcase_add_test(tc, test_orphan_temp_files);
	tcase_add_test(tc, test_stray_lock_removed_when_free);
	tcase_add_test(tc, test_lock_with_record_judged_by_its_lock);
	tcase_add_test(tc, test_dry_run_removes_nothing);
	tcase_add_test(tc, test_keep_newest);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, host_setup, NULL);
	tcase_add_test(tc, test_running_session_never_removed);
	tcase_add_test(tc, test_running_temp_and_lock_kept);
	tcase_add_test(tc, test_newer_format_never_removed);
	tcase_add_test(tc, test_fifo_untouched);
	tcase_add_test(tc, test_directory_named_like_snapshot_untouched);
	tcase_add_test(tc, test_symlink_outside_untouched);
	tcase_add_test(tc, test_race_with_live_writer);
	tcase_add_test(tc, test_corrupt_only_with_flag);
	tcase_add_test(tc, test_relative_to_store_descriptor);
	tcase_add_test(tc, test_unlink_failure_reported_and_continues);
	tcase_add_test(tc, test_lock_failure_reported);
	tcase_add_test(tc, test_lone_lock_fault_walk);
	tcase_add_test(tc, test_gate_failure_reported);
	tcase_add_test(tc, test_recheck_failure_reported);
	tcase_add_test(tc, test_adopter_taking_lock_keeps_session);
	tcase_add_test(tc, test_no_lock_file_created);
	tcase_add_test(tc, test_vanished_lock_not_recreated);
	tcase_add_test(tc, test_fifo_lock_untouched);
	tcase_add_test(tc, test_lock_turned_fifo_untouched);
	tcase_add_test(tc, test_empty_host_is_ours);
	tcase_add_test(tc, test_wrong_id_is_corrupt);
	tcase_add_test(tc, test_readdir_failure);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, host_setup, NULL);
	tcase_add_test(tc, test_foreign_crashed_kept_completed_removed);
	tcase_add_test(tc, test_prev_only_session);
	tcase_add_test(tc, test_foreign_names_ignored);
	tcase_add_test(tc, test_action_names);
	tcase_add_test(tc, test_action_table_abi);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(clean_suite)
