/*
 * check_writer.c - the autosave writer: coalescing, interval bounds, the
 * identical-state skip, flush, close, disk trouble, pull mode, tick mode
 * and fork.
 *
 * The writer works in real time, so some tests wait for it.  Every bound
 * they check is a correctness bound (never earlier than the interval,
 * never much later), with a generous slack for loaded machines; speed is
 * measured by tests/bench, never here.
 *
 * Save attempts are observed through the seam: a wrapper around openat
 * records, for each attempt of the watched session, the monotonic time at
 * which the writer took its state (s->take_ms, read on the writer thread
 * itself while the attempt runs).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "closer.h"
#include "inject.h"
#include "internal.h"
#include "testutil.h"
#include "writer.h"

#define MAX_TAKES 64

static int (*real_openat)(int, const char *, int, mode_t);
static int (*real_fdatasync)(int);
static sessnap_session *watched;
static int64_t takes[MAX_TAKES];
static atomic_int ntakes;
static atomic_int slow_fsync; /* 1: fdatasync sleeps, then fails */
static atomic_int in_slow_fsync;
static atomic_int warnings;

static int watch_openat(int dfd, const char *path, int flags, mode_t mode)
{
	sessnap_session *s = watched;

	if (s != NULL && (flags & O_CREAT) && path[0] == '.' &&
	    strncmp(path + 1, s->id, SESSNAP_ID_LEN) == 0) {
		int n = atomic_load(&ntakes);

		if (n < MAX_TAKES) {
			takes[n] = s->take_ms;
			atomic_store(&ntakes, n + 1);
		}
	}
	return real_openat(dfd, path, flags, mode);
}

static int slow_fdatasync(int fd)
{
	if (atomic_load(&slow_fsync)) {
		atomic_store(&in_slow_fsync, 1);
		poll(NULL, 0, 1500);
		atomic_store(&in_slow_fsync, 0);
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}

static void count_log(sessnap_log_level level, const char *msg, void *payload)
{
	(void)msg;
	(void)payload;
	if (level == SESSNAP_LOG_WARNING)
		atomic_fetch_add(&warnings, 1);
}

static void hooks_setup(void)
{
	real_openat = sessnap__sys.openat;
	real_fdatasync = sessnap__sys.fdatasync;
	sessnap__sys.openat = watch_openat;
	sessnap__sys.fdatasync = slow_fdatasync;
	watched = NULL;
	atomic_store(&ntakes, 0);
	atomic_store(&slow_fsync, 0);
	atomic_store(&warnings, 0);
}

static void hooks_teardown(void)
{
	sessnap__sys.openat = real_openat;
	sessnap__sys.fdatasync = real_fdatasync;
	sessnap__fault_disarm();
	sessnap__thread_hold(false);
}

static sessnap_store *open_store(unsigned int interval_ms, unsigned int flags)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	o.dir = tu_dir;
	o.app = "writer-test";
	o.autosave_interval_ms = interval_ms;
	o.flags = flags;
	o.log = count_log;
	rc = sessnap_store_open(&store, &o);
	ck_assert_msg(rc == 0, "open: %s", sessnap_error_last());
	return store;
}

static sessnap_session *begin(sessnap_store *store)
{
	sessnap_session *s = NULL;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	return s;
}

static json_object *state_n(int n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int(n));
	json_object_object_add(o, "text", json_object_new_string("hello"));
	return o;
}

static void update_n(sessnap_session *s, int n)
{
	json_object *o = state_n(n);
	int rc = sessnap_session_update(s, o);

	json_object_put(o);
	ck_assert_msg(rc == 0, "update: %s", sessnap_error_last());
}

static void get_status(sessnap_save_status *st, const sessnap_session *s)
{
	sessnap_save_status init = SESSNAP_SAVE_STATUS_INIT;

	*st = init;
	ck_assert_int_eq(sessnap_session_status(st, s), 0);
}

/* Wait (polling, up to 10 s) until the session's save counter reaches n. */
static void wait_saves(const sessnap_session *s, uint64_t n)
{
	sessnap_save_status st;
	int i;

	for (i = 0; i < 5000; i++) {
		get_status(&st, s);
		if (st.saves >= n)
			return;
		poll(NULL, 0, 2);
	}
	ck_abort_msg("timed out waiting for save %llu", (unsigned long long)n);
}

/* The n the snapshot of `s` holds, read back through the loader. */
static int loaded_n(sessnap_store *store, const char *id)
{
	json_object *o = NULL, *n = NULL;
	int rc, v;

	rc = sessnap_store_load(&o, NULL, store, id);
	ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
	ck_assert(json_object_object_get_ex(o, "n", &n));
	v = json_object_get_int(n);
	json_object_put(o);
	return v;
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(test_coalescing)
{
	sessnap_store *store = open_store(200, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];
	int i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	for (i = 1; i <= 500; i++)
		update_n(s, i);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	get_status(&st, s);
	/* 500 updates within one interval: one save, or two if the writer
	 * woke in the middle of the burst on a slow machine. */
	ck_assert_uint_ge(st.saves, 1);
	ck_assert_uint_le(st.saves, 2);
	ck_assert_uint_eq(st.seq, st.saves);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(loaded_n(store, id), 500);
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* Wait (polling, up to 10 s) until nothing of `s` waits to be saved. */
static void wait_idle(const sessnap_session *s)
{
	sessnap_save_status st;
	int i;

	for (i = 0; i < 5000; i++) {
		get_status(&st, s);
		if (!st.pending)
			return;
		poll(NULL, 0, 2);
	}
	ck_abort_msg("timed out waiting for the writer");
}

/*
 * Six bursts of updates, each followed by a pause until the writer is
 * idle.  The first save of each burst must come no sooner than one
 * interval after its first update and no later than that plus a slack;
 * every two saves must be at least one interval apart.  A burst that a
 * slow machine stretches past the interval may take two saves, never more.
 */
START_TEST(test_interval_bounds)
{
	const int64_t interval = 100, slack = 1500;
	sessnap_store *store = open_store((unsigned int)interval, 0);
	sessnap_session *s = begin(store);
	int64_t first[6];
	int start[7];
	int k, j, n;

	watched = s;
	for (k = 0; k < 6; k++) {
		start[k] = atomic_load(&ntakes);
		first[k] = sessnap__mono_ms();
		for (j = 0; j < 5; j++) {
			update_n(s, k * 10 + j);
			poll(NULL, 0, 4);
		}
		wait_idle(s);
		poll(NULL, 0, (int)(k * 7 % 30));
	}
	start[6] = n = atomic_load(&ntakes);
	ck_assert_int_ge(n, 6);
	for (k = 0; k < 6; k++) {
		int64_t t = takes[start[k]];

		ck_assert_int_ge(start[k + 1] - start[k], 1);
		ck_assert_int_le(start[k + 1] - start[k], 2);
		/* no earlier than one interval after the first change ... */
		ck_assert_int_ge(t, first[k] + interval);
		/* ... and no later, give or take a loaded machine */
		ck_assert_int_le(t, first[k] + interval + slack);
	}
	/* saves at least one interval apart */
	for (k = 1; k < n; k++)
		ck_assert_int_ge(takes[k] - takes[k - 1], interval);
	watched = NULL;
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_identical_skip)
{
	sessnap_store *store = open_store(60000, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	unsigned long opens;

	update_n(s, 7);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	/* Count every open while the same state is handed over again. */
	sessnap__fault_arm(SESSNAP__SYS_OPEN | SESSNAP__SYS_WRITE |
			       SESSNAP__SYS_RENAME,
			   ULONG_MAX, EIO, 0);
	update_n(s, 7);
	update_n(s, 7);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	opens = sessnap__fault_disarm();
	ck_assert_uint_eq(opens, 0);
	get_status(&st, s);
	ck_assert_uint_eq(st.saves, 1);
	ck_assert_uint_eq(st.skips, 1);
	ck_assert_uint_eq(st.seq, 1);
	/* A different state is written. */
	update_n(s, 8);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	get_status(&st, s);
	ck_assert_uint_eq(st.saves, 2);
	ck_assert_uint_eq(st.seq, 2);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_flush)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	/* Nothing pending: flush returns at once. */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	update_n(s, 1);
	get_status(&st, s);
	ck_assert_int_eq(st.pending, 1);
	ck_assert_int_eq(st.durable_age_ms, -1);
	/* The interval is ten minutes: only the flush can have saved. */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	get_status(&st, s);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_uint_eq(st.saves, 1);
	ck_assert_int_ge(st.durable_age_ms, 0);
	ck_assert_int_eq(loaded_n(store, id), 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_close_loses_nothing)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	int i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	for (i = 1; i <= 20; i++)
		update_n(s, i);
	/* Close right away: the pending update must still be written. */
	ck_assert_int_eq(sessnap_store_close(store), 0);
	store = open_store(600000, 0);
	ck_assert_int_eq(loaded_n(store, id), 20);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_end_flushes)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	sessnap_load_info *info = NULL;
	json_object *o = NULL;
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	update_n(s, 42);
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	ck_assert_int_eq(sessnap_store_load(&o, &info, store, id), 0);
	ck_assert_int_eq(info->completed, 1);
	json_object_put(o);
	ck_assert_int_eq(loaded_n(store, id), 42);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* The label of the snapshot of `id`, read back through the loader. */
static void loaded_label(char *out, size_t len, sessnap_store *store,
			 const char *id)
{
	sessnap_load_info *info = NULL;
	json_object *o = NULL;
	int rc;

	rc = sessnap_store_load(&o, &info, store, id);
	ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
	json_object_put(o);
	strlcpy(out, info->label != NULL ? info->label : "", len);
	sessnap_load_info_free(info);
}

/* A label change alone is saved by the autosave, with the state kept. */
START_TEST(test_label_alone_autosaved)
{
	sessnap_store *store = open_store(20, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1], label[SESSNAP_LABEL_MAX + 1];
	sessnap_save_status st;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	update_n(s, 12);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	get_status(&st, s);
	ck_assert_uint_eq(st.saves, 1);
	ck_assert_int_eq(sessnap_session_set_label(s, "renamed.txt"), 0);
	get_status(&st, s);
	ck_assert_int_eq(st.pending, 1);
	wait_saves(s, 2);
	loaded_label(label, sizeof(label), store, id);
	ck_assert_str_eq(label, "renamed.txt");
	ck_assert_int_eq(loaded_n(store, id), 12);
	get_status(&st, s);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_uint_eq(st.seq, 2);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A label set while the writer saves a newer state queues a save of the
 * label alone; when that state's save then fails, the state is kept and
 * saved with the label, not replaced by a rewrite of the older state on
 * disk.
 */
START_TEST(test_label_behind_failed_save)
{
	sessnap_store *store = open_store(20, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1], label[SESSNAP_LABEL_MAX + 1];
	int i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	/* Real fsync calls whatever SESSNAP_TEST_FSYNC says, so that the
	 * slow one is reached. */
	store->durability = SESSNAP_DURABILITY_FULL;
	update_n(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	atomic_store(&slow_fsync, 1);
	update_n(s, 2);
	for (i = 0; i < 5000 && !atomic_load(&in_slow_fsync); i++)
		poll(NULL, 0, 2);
	ck_assert(atomic_load(&in_slow_fsync));
	ck_assert(!s->has_pending);
	ck_assert_int_eq(sessnap_session_set_label(s, "after"), 0);
	atomic_store(&slow_fsync, 0); /* this attempt still fails */
	for (i = 0; i < 5000 && atomic_load(&in_slow_fsync); i++)
		poll(NULL, 0, 2);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(loaded_n(store, id), 2);
	loaded_label(label, sizeof(label), store, id);
	ck_assert_str_eq(label, "after");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static atomic_int collects;

static json_object *collect_cb(sessnap_session *s, void *payload)
{
	int *value = payload;

	(void)s;
	atomic_fetch_add(&collects, 1);
	return state_n(*value);
}

START_TEST(test_pull_mode)
{
	sessnap_store *store = open_store(50, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];
	int64_t wait = -2;
	int value = 0, i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	atomic_store(&collects, 0);
	ck_assert_int_eq(sessnap_session_set_collect(s, collect_cb, &value), 0);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_eq(wait, -1);
	for (i = 1; i <= 10000; i++) {
		value = i;
		ck_assert_int_eq(sessnap_session_touch(s), 0);
	}
	/* Not due yet (unless this machine stalled for a whole interval). */
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_ge(wait, 0);
	ck_assert_int_le(wait, 50);
	poll(NULL, 0, (int)wait + 1);
	ck_assert_int_eq(sessnap_session_save_due(s), 1);
	ck_assert_int_eq(sessnap_store_dispatch(store), 1);
	ck_assert_int_eq(atomic_load(&collects), 1);
	ck_assert_int_eq(sessnap_session_save_due(s), 0);
	/* Nothing touched since: a second dispatch collects nothing. */
	ck_assert_int_eq(sessnap_store_dispatch(store), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(loaded_n(store, id), 10000);
	/* flush collects a touched state at once */
	value = 10001;
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(atomic_load(&collects), 2);
	ck_assert_int_eq(loaded_n(store, id), 10001);
	get_status(&st, s);
	ck_assert_uint_eq(st.saves, 2);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static atomic_int null_collects;

static json_object *collect_none(sessnap_session *s, void *payload)
{
	(void)s;
	(void)payload;
	atomic_fetch_add(&null_collects, 1);
	return NULL;
}

/*
 * dispatch counts the states collected: a callback that returned NULL
 * collected none (the session stays dirty and is asked again later).
 */
START_TEST(test_dispatch_counts_states)
{
	sessnap_store *store = open_store(20, 0);
	sessnap_session *a = begin(store), *b = begin(store);
	int value = 3, i;

	atomic_store(&collects, 0);
	atomic_store(&null_collects, 0);
	ck_assert_int_eq(sessnap_session_set_collect(a, collect_cb, &value),
			 0);
	ck_assert_int_eq(sessnap_session_set_collect(b, collect_none, NULL),
			 0);
	ck_assert_int_eq(sessnap_session_touch(a), 0);
	ck_assert_int_eq(sessnap_session_touch(b), 0);
	for (i = 0; i < 1000 && (sessnap_session_save_due(a) == 0 ||
				 sessnap_session_save_due(b) == 0);
	     i++)
		poll(NULL, 0, 5);
	ck_assert_int_eq(sessnap_store_dispatch(store), 1);
	ck_assert_int_eq(atomic_load(&collects), 1);
	ck_assert_int_eq(atomic_load(&null_collects), 1);
	/* b alone, again: no state */
	for (i = 0; i < 1000 && sessnap_session_save_due(b) == 0; i++)
		poll(NULL, 0, 5);
	ck_assert_int_eq(sessnap_store_dispatch(store), 0);
	ck_assert_int_eq(atomic_load(&null_collects), 2);
	ck_assert_int_eq(sessnap_session_end(b, 0), 0);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * In pull mode an end that removes the session does not even collect the
 * state; one that keeps it collects and saves it.
 */
START_TEST(test_pull_end_collects_only_to_keep)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	json_object *o = NULL;
	int value = 7;

	atomic_store(&collects, 0);
	ck_assert_int_eq(sessnap_session_set_collect(s, collect_cb, &value), 0);
	update_n(s, 6);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	sessnap__fault_arm(SESSNAP__SYS_OPEN | SESSNAP__SYS_WRITE |
			       SESSNAP__SYS_FSYNC | SESSNAP__SYS_RENAME,
			   ULONG_MAX, EIO, 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	ck_assert_int_eq(atomic_load(&collects), 0);
	ck_assert_int_eq(sessnap_store_load(&o, NULL, store, id),
			 SESSNAP_ENOTFOUND);

	s = begin(store);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_set_collect(s, collect_cb, &value), 0);
	update_n(s, 6);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	ck_assert_int_eq(atomic_load(&collects), 1);
	ck_assert_int_eq(loaded_n(store, id), 7);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static json_object *collect_deep(sessnap_session *s, void *payload)
{
	json_object *o = json_object_new_int(1), *a;
	int i;

	(void)s;
	(void)payload;
	atomic_fetch_add(&collects, 1);
	for (i = 0; i < 1100; i++) {
		a = json_object_new_array();
		json_object_array_add(a, o);
		o = a;
	}
	return o;
}

/*
 * In pull mode a collected state nested deeper than the loader accepts is
 * refused too: flush reports it, and the state on disk stays.
 */
START_TEST(test_pull_too_deep)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	update_n(s, 4);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	atomic_store(&collects, 0);
	ck_assert_int_eq(sessnap_session_set_collect(s, collect_deep, NULL),
			 0);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "deep"));
	ck_assert_int_eq(atomic_load(&collects), 1);
	ck_assert_int_eq(loaded_n(store, id), 4);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_pull_without_callback)
{
	sessnap_store *store = open_store(30, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	int i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_save_due(s), 0);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	for (i = 0; i < 1000 && sessnap_session_save_due(s) == 0; i++)
		poll(NULL, 0, 5);
	ck_assert_int_eq(sessnap_session_save_due(s), 1);
	update_n(s, 5);
	ck_assert_int_eq(sessnap_session_save_due(s), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(loaded_n(store, id), 5);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

/*
 * Count the store's temporary files at a moment when no save attempt is
 * running.  A retry creates its temporary file before its write fails and
 * removes it after, so counting at any other moment can see one.  The
 * writer takes a job only under the store's mutex, so holding it once the
 * current attempt has finished keeps the next one from starting.
 */
static int count_temps_between_attempts(sessnap_session *s)
{
	sessnap_store *store = s->store;
	int n;

	pthread_mutex_lock(&store->mu);
	while (s->saving)
		pthread_cond_wait(&store->cond, &store->mu);
	n = tu_count_files(tu_dir, ".");
	pthread_mutex_unlock(&store->mu);
	return n;
}

/*
 * A flush that fails on the app's thread hands its state back as pending.
 * While that save ran, the writer found nothing to do and went to sleep
 * with no deadline; it must be woken to retry, or the state would wait
 * for the next update.  Here the flush's fdatasync takes 1.5 s and then
 * fails, long after the writer's 20 ms interval came and went.
 */
START_TEST(test_failed_flush_wakes_writer)
{
	sessnap_store *store = open_store(20, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	/* Real fsync calls whatever SESSNAP_TEST_FSYNC says, so that the
	 * slow one is reached. */
	store->durability = SESSNAP_DURABILITY_FULL;
	update_n(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	atomic_store(&slow_fsync, 1);
	update_n(s, 2);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EIO);
	atomic_store(&slow_fsync, 0);
	get_status(&st, s);
	ck_assert_int_eq(st.pending, 1);
	/* Nobody calls into the library now: the writer must act alone. */
	wait_saves(s, 2);
	ck_assert_int_eq(loaded_n(store, id), 2);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_failing_disk_retries)
{
	sessnap_store *store = open_store(20, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], name[SESSNAP__NAME_MAX];
	char *before, *after;
	size_t blen, alen;
	int i, n, k;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	store->retry_max_ms = 160;
	update_n(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap__snap_name(name, id);
	tu_join(path, sizeof(path), tu_dir, name);
	before = tu_read_file(path, &blen);
	ck_assert_ptr_nonnull(before);

	watched = s;
	atomic_store(&ntakes, 0);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	update_n(s, 2);
	for (i = 0; i < 5000 && atomic_load(&ntakes) < 6; i++)
		poll(NULL, 0, 2);
	n = atomic_load(&ntakes);
	ck_assert_int_ge(n, 6);
	/* Backoff: 20, 40, 80, 160, then capped at 160 ms. */
	for (k = 1; k < 6; k++) {
		int64_t want = (int64_t)20 << (k - 1);

		if (want > 160)
			want = 160;
		ck_assert_msg(takes[k] - takes[k - 1] >= want,
			      "attempt %d came %lld ms after the previous one, "
			      "backoff is %lld",
			      k, (long long)(takes[k] - takes[k - 1]),
			      (long long)want);
	}
	get_status(&st, s);
	ck_assert_int_eq(st.last_error, SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(st.last_message, "write"));
	ck_assert_ptr_nonnull(strstr(st.last_message, tu_dir));
	ck_assert_uint_ge(st.failures, 5);
	ck_assert_int_eq(st.pending, 1);
	ck_assert_int_ge(st.durable_age_ms, 0);
	ck_assert_uint_eq(st.seq, 1);
	ck_assert_int_ge(atomic_load(&warnings), 5);
	/* The old snapshot is intact and no temp file was left. */
	after = tu_read_file(path, &alen);
	ck_assert_ptr_nonnull(after);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	free(after);
	free(before);
	ck_assert_int_eq(count_temps_between_attempts(s), 0);
	/* flush reports the failure instead of waiting forever */
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "write"));

	/* The disk comes back: the writer recovers on its own. */
	sessnap__fault_disarm();
	wait_saves(s, 2);
	get_status(&st, s);
	ck_assert_int_eq(st.last_error, 0);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_uint_eq(st.seq, 2);
	ck_assert_int_eq(loaded_n(store, id), 2);
	watched = NULL;
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_app_never_blocked)
{
	sessnap_store *store;
	sessnap_session *s;
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];
	int64_t t0, worst = 0, d;
	char saved_env[16];
	const char *env;
	int i;

	/* Real fsync calls, so that the slow one is reached. */
	env = getenv("SESSNAP_TEST_FSYNC");
	if (env != NULL)
		strlcpy(saved_env, env, sizeof(saved_env));
	setenv("SESSNAP_TEST_FSYNC", "1", 1);
	store = open_store(10, 0);
	if (env != NULL)
		setenv("SESSNAP_TEST_FSYNC", saved_env, 1);
	else
		unsetenv("SESSNAP_TEST_FSYNC");
	s = begin(store);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	store->retry_max_ms = 20;
	atomic_store(&slow_fsync, 1);
	update_n(s, 1);
	for (i = 0; i < 5000 && !atomic_load(&in_slow_fsync); i++)
		poll(NULL, 0, 1);
	ck_assert_int_eq(atomic_load(&in_slow_fsync), 1);
	/* The writer is stuck in a 1.5 s fsync: the app goes on. */
	for (i = 2; i <= 200; i++) {
		t0 = sessnap__mono_ms();
		update_n(s, i);
		get_status(&st, s);
		ck_assert_int_eq(sessnap_session_touch(s), 0);
		d = sessnap__mono_ms() - t0;
		if (d > worst)
			worst = d;
	}
	ck_assert_msg(worst < 500, "an update waited %lld ms",
		      (long long)worst);
	ck_assert_int_eq(atomic_load(&in_slow_fsync), 1);
	/* Wait for the failure, then let the disk recover. */
	for (i = 0; i < 5000; i++) {
		get_status(&st, s);
		if (st.failures > 0)
			break;
		poll(NULL, 0, 2);
	}
	ck_assert_uint_ge(st.failures, 1);
	ck_assert_int_eq(st.last_error, SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(st.last_message, "fdatasync"));
	atomic_store(&slow_fsync, 0);
	wait_saves(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(loaded_n(store, id), 200);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A writer thread that cannot be started fails the store's opening with
 * a message naming the store, and leaves nothing behind.
 */
START_TEST(test_writer_start_failure)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int fds = tu_count_fds();

	o.dir = tu_dir;
	o.app = "writer-test";
	sessnap__fault_arm(SESSNAP__SYS_THREAD, 1, EAGAIN, 0);
	ck_assert_int_eq(sessnap_store_open(&store, &o), SESSNAP_ENOMEM);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_ptr_null(store);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "writer thread"));
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), tu_dir));
	ck_assert_int_eq(tu_count_fds(), fds);
	/* Nothing is left half-open: the next attempt works. */
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A caller built against version 1 of sessnap_save_status has a struct
 * that ends with `skips`: it gets its members filled and nothing written
 * past them.
 */
START_TEST(test_status_version_1)
{
	sessnap_store *store = open_store(100, 0);
	sessnap_session *s = begin(store);
	size_t v1 = offsetof(sessnap_save_status, skips) + sizeof(uint64_t);
	union {
		sessnap_save_status st;
		unsigned char b[sizeof(sessnap_save_status)];
	} u;
	size_t i;

	update_n(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	memset(&u, 0xa5, sizeof(u));
	u.st.version = 1;
	ck_assert_int_eq(sessnap_session_status(&u.st, s), 0);
	ck_assert_uint_eq(u.st.version, 1);
	ck_assert_int_eq(u.st.last_error, 0);
	ck_assert_str_eq(u.st.last_message, "");
	ck_assert_int_eq(u.st.pending, 0);
	ck_assert_uint_eq(u.st.saves, 1);
	ck_assert_uint_eq(u.st.seq, 1);
	ck_assert_uint_eq(u.st.skips, 0);
	ck_assert_int_ge(u.st.durable_age_ms, 0);
	for (i = v1; i < sizeof(u.b); i++)
		ck_assert_msg(u.b[i] == 0xa5,
			      "byte %zu past a version 1 struct was written",
			      i);
	/* The current version fills the rest. */
	memset(&u, 0xa5, sizeof(u));
	u.st.version = SESSNAP_SAVE_STATUS_VERSION;
	ck_assert_int_eq(sessnap_session_status(&u.st, s), 0);
	ck_assert_uint_eq(u.st.saves, 1);
	ck_assert_int_eq(u.st.lease_error, 0);
	ck_assert_str_eq(u.st.lease_message, "");
	ck_assert_uint_eq(u.st.lease_period_ms, 0);
	ck_assert_int_eq(u.st.lease_age_ms, -1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_bad_arguments)
{
	sessnap_store *store = open_store(100, 0);
	sessnap_session *s = begin(store);
	sessnap_save_status st = SESSNAP_SAVE_STATUS_INIT;
	int64_t ms;

	ck_assert_int_eq(sessnap_session_touch(NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_save_due(NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_set_collect(NULL, collect_cb, NULL),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_status(NULL, s), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_status(&st, NULL), SESSNAP_EINVAL);
	st.version = 99;
	ck_assert_int_eq(sessnap_session_status(&st, s), SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "version"));
	st.version = 0;
	ck_assert_int_eq(sessnap_session_status(&st, s), SESSNAP_EINVAL);
	st.version = SESSNAP_SAVE_STATUS_VERSION + 1;
	ck_assert_int_eq(sessnap_session_status(&st, s), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_dispatch(NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_tick(NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_next_deadline(NULL, store),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_next_deadline(&ms, NULL),
			 SESSNAP_EINVAL);
	/* tick belongs to stores without a writer thread */
	ck_assert_int_eq(sessnap_store_tick(store), SESSNAP_ESTATE);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "NOTHREAD"));
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* ---- edge ---------------------------------------------------------------- */

START_TEST(test_tick_mode)
{
	sessnap_store *store = open_store(50, SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = begin(store);
	sessnap_save_status st;
	char id[SESSNAP_ID_LEN + 1];
	int64_t wait = -2, t0;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_eq(wait, -1);
	t0 = sessnap__mono_ms();
	update_n(s, 1);
	update_n(s, 2);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_ge(wait, 0);
	ck_assert_int_le(wait, 50);
	/* No thread saves it, and a tick before the deadline does not. */
	if (sessnap__mono_ms() - t0 < 40) {
		ck_assert_int_eq(sessnap_store_tick(store), 0);
		get_status(&st, s);
		ck_assert_uint_eq(st.saves, 0);
	}
	poll(NULL, 0, (int)wait + 1);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_eq(wait, 0);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	get_status(&st, s);
	ck_assert_uint_eq(st.saves, 1);
	ck_assert_int_eq(loaded_n(store, id), 2);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_eq(wait, -1);

	/* A failing save in tick mode is reported and retried later. */
	update_n(s, 3);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_ENOSPC);
	get_status(&st, s);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_int_eq(st.last_error, SESSNAP_ENOSPC);
	ck_assert_int_eq(st.pending, 1);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait, store), 0);
	ck_assert_int_ge(wait, 0);
	sessnap__fault_disarm();
	poll(NULL, 0, (int)wait + 1);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_int_eq(loaded_n(store, id), 3);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static int child_rules(sessnap_store *store, sessnap_session *s,
		       const char *subdir)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *mine = NULL;
	sessnap_session *t = NULL;
	json_object *obj = state_n(99);
	int fails = 0;

	fails += sessnap_session_update(s, obj) != SESSNAP_ESTATE;
	fails += sessnap_session_flush(s) != SESSNAP_ESTATE;
	fails += sessnap_session_touch(s) != SESSNAP_ESTATE;
	fails += sessnap_session_flush(s) != SESSNAP_ESTATE;
	fails += sessnap_store_dispatch(store) != SESSNAP_ESTATE;
	fails += sessnap_session_begin(&t, store, NULL) != SESSNAP_ESTATE;
	/* end refuses, and releases the child's handle */
	fails += sessnap_session_end(s, 0) != SESSNAP_ESTATE;
	/* The child may open a store of its own and write to it. */
	o.dir = subdir;
	o.app = "writer-child";
	fails += sessnap_store_open(&mine, &o) != 0;
	if (mine != NULL) {
		fails += sessnap_session_begin(&t, mine, NULL) != 0;
		fails += sessnap_session_update(t, obj) != 0;
		fails += sessnap_session_end(t, SESSNAP_SESSION_KEEP) != 0;
		fails += sessnap_store_close(mine) != 0;
	}
	fails += sessnap_store_close(store) != 0;
	json_object_put(obj);
	return fails;
}

/*
 * Run fn in a forked child and return its verdict, sent through a pipe
 * rather than the exit status: under valgrind a child's exit status also
 * reports the memory that only the parent's threads referenced (a save
 * in flight at the fork), which is no fault of the child's.  A child that
 * hangs is killed by its alarm and reports nothing.
 */
static int in_child(int (*fn)(void *), void *arg)
{
	char verdict = 'x';
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		alarm(20);
		verdict = fn(arg) == 0 ? 'y' : 'n';
		if (write(fds[1], &verdict, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &verdict, 1) != 1)
		verdict = 'x';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child status %d", status);
	return verdict == 'y' ? 0 : -1;
}

struct child_args {
	sessnap_store *store;
	sessnap_session *s;
	const char *sub;
};

static int child_rules_fn(void *arg)
{
	struct child_args *a = arg;

	return child_rules(a->store, a->s, a->sub);
}

static int child_release_fn(void *arg)
{
	struct child_args *a = arg;

	sessnap_session_release(a->s);
	return sessnap_store_close(a->store);
}

START_TEST(test_fork_child)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1], sub[PATH_MAX];
	struct child_args args = { store, s, sub };

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	tu_join(sub, sizeof(sub), tu_dir, "child");
	update_n(s, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	update_n(s, 2); /* pending at fork time */
	ck_assert_int_eq(in_child(child_rules_fn, &args), 0);
	/* The child's release did not release the parent's lock ... */
	ck_assert_int_eq(sessnap__lock_probe(store, id), 1);
	/* ... nor write the parent's snapshot; the parent goes on. */
	ck_assert_int_eq(loaded_n(store, id), 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(loaded_n(store, id), 2);
	ck_assert_int_eq(tu_count_files(sub, NULL) > 0, 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * Fork while the writer is busy saving: the child must find the store's
 * mutex usable (the atfork handlers), or its release and close deadlock
 * and the alarm kills it.
 */
START_TEST(test_fork_while_writing)
{
	sessnap_store *store = open_store(1, 0);
	sessnap_session *s = begin(store);
	struct child_args args = { store, s, NULL };
	int i, j;

	for (i = 0; i < 20; i++) {
		for (j = 0; j < 20; j++)
			update_n(s, i * 100 + j);
		ck_assert_msg(in_child(child_release_fn, &args) == 0,
			      "child %d failed", i);
	}
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* ---- freeing unlinked generations --------------------------------------- */

/*
 * How many of this process's descriptors refer to a file of session `id`
 * that is no longer linked: the generations a save unlinked and the
 * library still holds so that they are freed after the save.
 */
static int held_unlinked(const char *id)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;
	int count = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strstr(target, id) != NULL &&
		    strstr(target, " (deleted)") != NULL)
			count++;
	}
	closedir(d);
	return count;
}

/* How many descriptors the store's closer holds, queued or closing. */
static unsigned int parked(sessnap_store *store)
{
	unsigned int n;

	pthread_mutex_lock(&store->mu);
	n = store->closer.head - store->closer.tail + store->closer.closing;
	pthread_mutex_unlock(&store->mu);
	return n;
}

/* Save states from..to of `s`, each with a flush. */
static void flush_n(sessnap_session *s, int from, int to)
{
	int i;

	for (i = from; i <= to; i++) {
		update_n(s, i);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
	}
}

/*
 * A save unlinks the generation before the previous one.  The flush that
 * does it returns without waiting for that file to be freed (on a file
 * system mounted with discard, freeing waits for the disk): the store's
 * closer frees it afterwards, and at most SESSNAP__CLOSER_MAX wait for it;
 * the flush frees the others itself.  The closer's thread is held (it
 * starts with the first file handed to it, and waits before it runs), so
 * what it was handed stays held; once it runs, it frees them all, and
 * nothing is left open.
 */
START_TEST(test_unlinked_freed_by_closer)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *a = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	int fds = tu_count_fds();

	strlcpy(id, sessnap_session_id(a), sizeof(id));
	sessnap__thread_hold(true);
	flush_n(a, 1, 2);
	/* Nothing unlinked yet: generation 1 is the previous one. */
	ck_assert_int_eq(held_unlinked(id), 0);
	update_n(a, 3);
	ck_assert_int_eq(sessnap_session_flush(a), 0);
	/* Generation 1 is unlinked, and held for the closer. */
	ck_assert_int_eq(held_unlinked(id), 1);
	ck_assert_uint_eq(parked(store), 1);
	ck_assert_int_eq(loaded_n(store, id), 3);
	flush_n(a, 4, 3 + SESSNAP__CLOSER_MAX + 2);
	ck_assert_uint_eq(parked(store), SESSNAP__CLOSER_MAX);
	ck_assert_int_eq(held_unlinked(id), SESSNAP__CLOSER_MAX);
	ck_assert_int_eq(loaded_n(store, id), 3 + SESSNAP__CLOSER_MAX + 2);
	sessnap__thread_hold(false);
	/* The closer frees them all once it runs. */
	while (parked(store) > 0)
		poll(NULL, 0, 1);
	ck_assert_int_eq(tu_count_fds(), fds);
	ck_assert_int_eq(held_unlinked(id), 0);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* With no writer thread, the save frees the file itself. */
START_TEST(test_unlinked_freed_without_thread)
{
	sessnap_store *store = open_store(600000, SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	int i;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	for (i = 1; i <= 4; i++) {
		update_n(s, i);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		ck_assert_int_eq(held_unlinked(id), 0);
		ck_assert_uint_eq(parked(store), 0);
	}
	ck_assert_int_eq(loaded_n(store, id), 4);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A save that finds the disk full while the closer still holds files that
 * earlier saves unlinked closes them itself, which frees their space, and
 * tries once more.  It does not wait for the closer, which here is held
 * before it runs.  The interval is long, so no save but the test's runs:
 * the writer cannot take the save that the one-shot fault is meant for.
 */
START_TEST(test_no_space_frees_held_files)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *a = begin(store);
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(a), sizeof(id));
	sessnap__thread_hold(true);
	flush_n(a, 1, 3);
	ck_assert_uint_eq(parked(store), 1);
	ck_assert_int_eq(held_unlinked(id), 1);
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, ENOSPC, 0);
	update_n(a, 4);
	ck_assert_int_eq(sessnap_session_flush(a), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	/* The closer is still held; the held file was freed, and the
	 * retried save handed over the one it unlinked. */
	ck_assert_uint_eq(parked(store), 1);
	ck_assert_int_eq(held_unlinked(id), 1);
	ck_assert_int_eq(loaded_n(store, id), 4);
	sessnap__thread_hold(false);
	/* With nothing held, a full disk fails the save at once. */
	tu_closers_drain();
	ck_assert_uint_eq(parked(store), 0);
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, ENOSPC, 0);
	update_n(a, 5);
	ck_assert_int_eq(sessnap_session_flush(a), SESSNAP_ENOSPC);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_int_eq(sessnap_session_flush(a), 0);
	ck_assert_int_eq(loaded_n(store, id), 5);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

struct held_args {
	const char *id;
};

static int child_held_fn(void *arg)
{
	struct held_args *a = arg;

	/* The parent's closer frees the parent's; the child holds none. */
	return held_unlinked(a->id) == 0 ? 0 : -1;
}

/* A child does not keep the parent's unlinked generations alive. */
START_TEST(test_fork_drops_held_files)
{
	sessnap_store *store = open_store(600000, 0);
	sessnap_session *a = begin(store);
	char id[SESSNAP_ID_LEN + 1];
	struct held_args args = { id };

	strlcpy(id, sessnap_session_id(a), sizeof(id));
	sessnap__thread_hold(true);
	flush_n(a, 1, 4);
	ck_assert_int_eq(held_unlinked(id), 2);
	ck_assert_int_eq(in_child(child_held_fn, &args), 0);
	ck_assert_int_eq(held_unlinked(id), 2);
	sessnap__thread_hold(false);
	tu_closers_drain();
	ck_assert_int_eq(held_unlinked(id), 0);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A store opened with SESSNAP_STORE_NOTHREAD starts no thread at all, the
 * closer's included: what its saves and its cleaner drop is closed at
 * once, where it is dropped.
 */
START_TEST(test_nothread_store_closes_at_once)
{
	sessnap_store *store = open_store(600000, SESSNAP_STORE_NOTHREAD);
	sessnap_session *s[3];
	sessnap_clean_policy p = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;
	int i, fds = tu_count_fds();

	sessnap__fault_arm(SESSNAP__SYS_THREAD, 1, EAGAIN,
			   SESSNAP__FAULT_PERSISTENT);
	for (i = 0; i < 3; i++) {
		s[i] = begin(store);
		flush_n(s[i], 1, 4);
		ck_assert_int_eq(held_unlinked(sessnap_session_id(s[i])), 0);
		ck_assert_int_eq(sessnap_session_end(s[i], SESSNAP_SESSION_KEEP),
				 0);
	}
	/* Thirty days on, the completed sessions are old enough to go. */
	p.now_ms = sessnap__now_ms() + 30LL * 24 * 3600 * 1000;
	ck_assert_msg(sessnap_store_clean(&r, store, &p, NULL, NULL) == 0, "%s",
		      sessnap_error_last());
	ck_assert_uint_eq(r.removed_completed, 3);
	ck_assert_uint_eq(sessnap__fault_fired(), 0);
	sessnap__fault_disarm();
	ck_assert_uint_eq(parked(store), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(tu_count_fds(), fds);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

Suite *writer_suite(void);

Suite *writer_suite(void)
{
	Suite *suite = suite_create("writer");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, hooks_setup, hooks_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_coalescing);
	tcase_add_test(tc, test_interval_bounds);
	tcase_add_test(tc, test_identical_skip);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_close_loses_nothing);
	tcase_add_test(tc, test_end_flushes);
	tcase_add_test(tc, test_label_alone_autosaved);
	tcase_add_test(tc, test_label_behind_failed_save);
	tcase_add_test(tc, test_pull_mode);
	tcase_add_test(tc, test_pull_without_callback);
	tcase_add_test(tc, test_pull_too_deep);
	tcase_add_test(tc, test_pull_end_collects_only_to_keep);
	tcase_add_test(tc, test_dispatch_counts_states);
	suite_add_tcase(suite, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, hooks_setup, hooks_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_failing_disk_retries);
	tcase_add_test(tc, test_failed_flush_wakes_writer);
	tcase_add_test(tc, test_app_never_blocked);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_status_version_1);
	tcase_add_test(tc, test_writer_start_failure);
	suite_add_tcase(suite, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_checked_fixture(tc, hooks_setup, hooks_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tick_mode);
	tcase_add_test(tc, test_fork_child);
	tcase_add_test(tc, test_fork_while_writing);
	tcase_add_test(tc, test_unlinked_freed_by_closer);
	tcase_add_test(tc, test_unlinked_freed_without_thread);
	tcase_add_test(tc, test_no_space_frees_held_files);
	tcase_add_test(tc, test_fork_drops_held_files);
	tcase_add_test(tc, test_nothread_store_closes_at_once);
	suite_add_tcase(suite, tc);
	return suite;
}

TU_MAIN(writer_suite)
