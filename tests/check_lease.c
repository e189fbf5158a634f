/*
 * check_lease.c -- the lease (lib/lease.c) and the cross-host verdicts.
 *
 * Another host is played by hand-made files: a snapshot whose header
 * names another host, and a lock file holding a lock record with a lease
 * in it, whose age is set with utimensat (time is passed in, never
 * slept).  The clock a lease is judged by is the clock file's mtime, so a
 * lock file stamped "now" is fresh and one stamped a minute ago expired.
 * Renewals are counted with the seam's tracer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "scanutil.h"
#include "testutil.h"

#define NOW_MS ((int64_t)1700000000000)
#define PERIOD_MS 1000u /* expiry: 3 periods + 2 s = 5 s */
#define OTHER_HOST "elsewhere.example"

static sessnap_store *open_store(unsigned int flags, unsigned int period)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;
	int rc;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD | flags;
	o.lease_period_ms = period;
	rc = sessnap_store_open(&s, &o);
	ck_assert_msg(rc == 0, "store open: %s", sessnap_error_last());
	return s;
}

/* Set tu_dir/name's mtime to `age_ms` before the current time. */
static void set_age(const char *name, int64_t age_ms)
{
	char path[4096];
	struct timespec ts[2], now;
	int64_t ms;

	clock_gettime(CLOCK_REALTIME, &now);
	ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - age_ms;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(ms / 1000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(ms % 1000) * 1000000L;
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * Another host's session `id`: a snapshot written by `host` (boot id
 * `boot`), and its lock file with a lock record carrying a lease of
 * `period` ms (0: a record without lease) whose age is `age_ms`.
 */
static void put_other(sessnap_store *store, const char *id, const char *host,
		      const char *boot, unsigned int period, int64_t age_ms)
{
	char name[64], path[4096];
	sessnap__header h;
	int fd;

	su_header(&h, id, NOW_MS);
	strlcpy(h.owner.host, host, sizeof(h.owner.host));
	strlcpy(h.owner.boot_id, boot, sizeof(h.owner.boot_id));
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");

	su_header(&h, id, NOW_MS);
	strlcpy(h.owner.host, host, sizeof(h.owner.host));
	strlcpy(h.owner.boot_id, boot, sizeof(h.owner.boot_id));
	h.seq = 0;
	h.length = 0;
	sessnap__checksum(h.checksum, "", 0);
	h.lease_ms = period;
	h.renewals = 7;
	snprintf(name, sizeof(name), "%s.lock", id);
	tu_join(path, sizeof(path), tu_dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sessnap__lock_record_write(store, fd, &h, true), 0);
	close(fd);
	set_age(name, age_ms);
}

/* The one session of the store, scanned. */
static sessnap_info **scan_one(sessnap_store *store, const char *id)
{
	sessnap_info **infos = NULL;
	size_t n = 0;

	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, id);
	return infos;
}

static sessnap_verdict verdict_of(sessnap_store *store, const char *id)
{
	sessnap_info **infos = scan_one(store, id);
	sessnap_verdict v = infos[0]->status;

	sessnap_info_free(infos, 1);
	return v;
}

static int clock_files(void)
{
	return tu_count_files(tu_dir, SESSNAP__CLOCK_PREFIX);
}

/* ---- the record and its renewal ------------------------------------------ */

static unsigned long renewal_writes;

static void count_renewals(const struct sessnap__trace_event *ev, void *arg)
{
	(void)arg;
	/* a renewal is a pwrite in place */
	if ((ev->op == SESSNAP__TRACE_WRITE ||
	     ev->op == SESSNAP__TRACE_PWRITE) &&
	    ev->len > 0 &&
	    memmem(ev->buf, ev->len, "\"renewals\":", 11) != NULL)
		renewal_writes++;
}

/* Make the session's lease due now (as if a period had passed). */
static void make_due(sessnap_session *s)
{
	pthread_mutex_lock(&s->store->mu);
	s->lease_due_ms = 0;
	pthread_mutex_unlock(&s->store->mu);
}

static void read_record(sessnap__header *h, struct stat *st,
			sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX];

	sessnap__lock_name(name, id);
	ck_assert_msg(sessnap__header_read(h, st, store, name) == 0,
		      "record: %s", sessnap_error_last());
}

START_TEST(test_renewal_one_write_per_period)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	sessnap_session *s = NULL;
	sessnap__header h;
	struct stat st, st2;
	int64_t ms;

	ck_assert_uint_eq(store->lease_ms, PERIOD_MS);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	read_record(&h, &st, store, s->id);
	ck_assert_uint_eq(h.lease_ms, PERIOD_MS);
	ck_assert_uint_eq(h.renewals, 0);
	ck_assert_uint_eq(h.seq, 0);
	ck_assert_str_eq(h.owner.host, store->self.host);

	/* Its next renewal is what an event loop waits for. */
	ck_assert_int_eq(sessnap_store_next_deadline(&ms, store), 0);
	ck_assert_int_gt(ms, 0);
	ck_assert_int_le(ms, PERIOD_MS);

	renewal_writes = 0;
	sessnap__sys_set_trace(count_renewals, NULL);
	/* Not due: a tick writes nothing. */
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(renewal_writes, 0);
	/* Due: exactly one write, in place, the same length. */
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(renewal_writes, 1);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(renewal_writes, 1);
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(renewal_writes, 2);
	sessnap__sys_set_trace(NULL, NULL);
	read_record(&h, &st2, store, s->id);
	ck_assert_uint_eq(h.renewals, 2);
	ck_assert_int_eq(st2.st_size, st.st_size);

	/* Counters of any width keep the record's length; the largest
	 * JSON integer wraps to 1. */
	pthread_mutex_lock(&store->mu);
	s->lease->renewals = INT64_MAX - 1;
	pthread_mutex_unlock(&store->mu);
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	read_record(&h, &st2, store, s->id);
	ck_assert_uint_eq(h.renewals, INT64_MAX);
	ck_assert_int_eq(st2.st_size, st.st_size);
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	read_record(&h, &st2, store, s->id);
	ck_assert_uint_eq(h.renewals, 1);
	ck_assert_int_eq(st2.st_size, st.st_size);

	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* A local store: no lease written, no renewal, no clock file. */
START_TEST(test_local_store_pays_nothing)
{
	sessnap_store *store = open_store(SESSNAP_STORE_LOCAL, PERIOD_MS);
	sessnap_session *s = NULL;
	sessnap__header h;
	struct stat st;
	int64_t ms;

	ck_assert_uint_eq(store->lease_ms, 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_ptr_null(s->lease);
	read_record(&h, &st, store, s->id);
	ck_assert_uint_eq(h.lease_ms, 0);
	ck_assert_int_eq(sessnap_store_next_deadline(&ms, store), 0);
	ck_assert_int_eq(ms, -1);
	renewal_writes = 0;
	sessnap__sys_set_trace(count_renewals, NULL);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	sessnap__sys_set_trace(NULL, NULL);
	ck_assert_uint_eq(renewal_writes, 0);
	ck_assert_int_eq(verdict_of(store, s->id), SESSNAP_VERDICT_RUNNING);
	ck_assert_int_eq(clock_files(), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);

	/* The test directory is no network file system either. */
	store = open_store(0, 0);
	ck_assert_uint_eq(store->lease_ms, 0);
	sessnap_store_close(store);
}
END_TEST

/* The writer thread renews too, at its own pace. */
START_TEST(test_writer_thread_renews)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap__header h;
	struct stat st;
	struct timespec pause = { 0, 10000000 };
	int i;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_SHARED;
	o.lease_period_ms = 20;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	for (i = 0; i < 500; i++) {
		read_record(&h, &st, store, s->id);
		if (h.renewals >= 3)
			break;
		nanosleep(&pause, NULL);
	}
	ck_assert_uint_ge(h.renewals, 3);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* A renewal that fails is logged and retried; the session goes on. */
static int warnings;

static void count_log(sessnap_log_level level, const char *msg, void *arg)
{
	(void)msg;
	(void)arg;
	if (level == SESSNAP_LOG_WARNING)
		warnings++;
}

START_TEST(test_renewal_failure_retried)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap__header h;
	struct stat st;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_SHARED | SESSNAP_STORE_NOTHREAD;
	o.lease_period_ms = PERIOD_MS;
	o.log = count_log;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	warnings = 0;
	make_due(s);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	sessnap__fault_disarm();
	ck_assert_int_eq(warnings, 1);
	ck_assert_uint_eq(s->lease_failures, 1);
	/* Retried a quarter period later, not a whole one. */
	ck_assert_int_le(s->lease_due_ms, sessnap__mono_ms() + PERIOD_MS / 4);
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(s->lease_failures, 0);
	read_record(&h, &st, store, s->id);
	ck_assert_uint_eq(h.renewals, 2);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * A failed renewal is visible in sessnap_session_status(), apart from the
 * saves, until a renewal works; so is a lease whose first write (at
 * begin) failed.  A store without leases reports none.
 */
static void lease_status(sessnap_save_status *st, const sessnap_session *s)
{
	sessnap_save_status init = SESSNAP_SAVE_STATUS_INIT;

	*st = init;
	ck_assert_int_eq(sessnap_session_status(st, s), 0);
}

START_TEST(test_renewal_failure_in_status)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	sessnap_session *s = NULL;
	sessnap_save_status st;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, 0);
	ck_assert_str_eq(st.lease_message, "");
	ck_assert_uint_eq(st.lease_failures, 0);
	ck_assert_uint_eq(st.lease_period_ms, PERIOD_MS);
	ck_assert_int_ge(st.lease_age_ms, 0);
	ck_assert_int_le(st.lease_age_ms, 60000);

	/* The renewal's pwrite fails: reported, the saves untouched. */
	make_due(s);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(st.lease_message, tu_dir));
	ck_assert_ptr_nonnull(strstr(st.lease_message, ".lock"));
	ck_assert_uint_eq(st.lease_failures, 1);
	ck_assert_int_ge(st.lease_age_ms, 0);
	ck_assert_int_eq(st.last_error, 0);
	ck_assert_uint_eq(st.failures, 0);

	/* Twice in a row: counted. */
	make_due(s);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	sessnap__fault_disarm();
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, SESSNAP_ENOSPC);
	ck_assert_uint_eq(st.lease_failures, 2);

	/* The next renewal that works clears it. */
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, 0);
	ck_assert_str_eq(st.lease_message, "");
	ck_assert_uint_eq(st.lease_failures, 0);
	ck_assert_int_ge(st.lease_age_ms, 0);
	ck_assert_int_le(st.lease_age_ms, 60000);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);

	/* The first write of the lease, at begin, fails: reported too,
	 * with no successful write yet. */
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_uint_ge(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(st.lease_message, ".lock"));
	ck_assert_uint_eq(st.lease_failures, 1);
	ck_assert_int_eq(st.lease_age_ms, -1);
	make_due(s);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, 0);
	ck_assert_uint_eq(st.lease_failures, 0);
	ck_assert_int_ge(st.lease_age_ms, 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);

	/* No leases: nothing to report. */
	store = open_store(SESSNAP_STORE_LOCAL, PERIOD_MS);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	lease_status(&st, s);
	ck_assert_int_eq(st.lease_error, 0);
	ck_assert_uint_eq(st.lease_period_ms, 0);
	ck_assert_int_eq(st.lease_age_ms, -1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- verdicts --------------------------------------------------------- */

START_TEST(test_other_host_fresh_running_expired_crashed)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], lock[64];
	sessnap_info **infos;

	su_id(id, 1);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
	infos = scan_one(store, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_int_ge(infos[0]->lease_age_ms, 0);
	ck_assert_int_lt(infos[0]->lease_age_ms, 5000);
	ck_assert_uint_eq(infos[0]->lease_period_ms, PERIOD_MS);
	ck_assert_uint_eq(infos[0]->lease_renewals, 7);
	ck_assert_str_eq(infos[0]->owner.host, OTHER_HOST);
	sessnap_info_free(infos, 1);
	ck_assert_int_eq(clock_files(), 1);

	/* Just inside the expiry: still running; past it: crashed. */
	set_age(lock, 4000);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_RUNNING);
	set_age(lock, 60000);
	infos = scan_one(store, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_int_ge(infos[0]->lease_age_ms, 59000);
	sessnap_info_free(infos, 1);
	ck_assert_int_eq(clock_files(), 1);
	sessnap_store_close(store);
}
END_TEST

/* The local clock plays no part: off by an hour, the same verdicts. */
static int64_t skew_ms;
static int (*real_clock)(clockid_t, struct timespec *);

static int skewed_clock(clockid_t clock, struct timespec *ts)
{
	int r = real_clock(clock, ts);

	if (clock == CLOCK_REALTIME)
		ts->tv_sec += (time_t)(skew_ms / 1000);
	return r;
}

START_TEST(test_clock_skew_changes_nothing)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], lock[64];
	int64_t skews[] = { 3600000, -3600000, 300000 };
	size_t i;

	su_id(id, 2);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
	real_clock = sessnap__sys.clock_gettime;
	sessnap__sys.clock_gettime = skewed_clock;
	for (i = 0; i < sizeof(skews) / sizeof(skews[0]); i++) {
		skew_ms = skews[i];
		set_age(lock, 0);
		ck_assert_int_eq(verdict_of(store, id),
				 SESSNAP_VERDICT_RUNNING);
		set_age(lock, 60000);
		ck_assert_int_eq(verdict_of(store, id),
				 SESSNAP_VERDICT_CRASHED);
	}
	sessnap__sys.clock_gettime = real_clock;
	sessnap_store_close(store);
}
END_TEST

/* No lease (an older writer, leases off there): foreign, as before. */
START_TEST(test_other_host_without_lease_foreign)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_info **infos;

	su_id(id, 3);
	put_other(store, id, OTHER_HOST, "b00t", 0, 60000);
	infos = scan_one(store, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_FOREIGN);
	ck_assert_int_eq(infos[0]->lease_age_ms, -1);
	ck_assert_uint_eq(infos[0]->lease_period_ms, 0);
	sessnap_info_free(infos, 1);
	/* Nor a lock file at all. */
	snprintf(name, sizeof(name), "%s.lock", id);
	{
		char path[4096];

		tu_join(path, sizeof(path), tu_dir, name);
		ck_assert_int_eq(unlink(path), 0);
	}
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_FOREIGN);
	sessnap_store_close(store);

	/* SESSNAP_STORE_LOCAL: leases are not looked at. */
	store = open_store(SESSNAP_STORE_LOCAL, 0);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 60000);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_FOREIGN);
	sessnap_store_close(store);
}
END_TEST

/* This host and boot: the flock rule alone, and nothing more is read. */
START_TEST(test_same_host_flock_rule_unchanged)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	char id[SESSNAP_ID_LEN + 1];
	sessnap_info **infos;

	su_id(id, 4);
	put_other(store, id, store->self.host, store->self.boot_id, PERIOD_MS,
		  0);
	infos = scan_one(store, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_int_eq(infos[0]->lease_age_ms, -1);
	sessnap_info_free(infos, 1);
	ck_assert_int_eq(clock_files(), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * This host name, another boot: on a store with leases, a fresh lease is
 * another machine of the same name (running); without a lease, our own
 * previous boot (crashed).  On a local store, the flock rule.
 */
START_TEST(test_same_host_other_boot)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	char id[SESSNAP_ID_LEN + 1], lock[64];

	if (store->self.boot_id[0] == '\0') {
		sessnap_store_close(store);
		return; /* no boot id here: nothing to tell apart */
	}
	su_id(id, 5);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	put_other(store, id, store->self.host, "another-boot", PERIOD_MS, 0);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_RUNNING);
	set_age(lock, 60000);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_CRASHED);
	put_other(store, id, store->self.host, "another-boot", 0, 0);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_CRASHED);
	sessnap_store_close(store);

	store = open_store(SESSNAP_STORE_LOCAL, 0);
	put_other(store, id, store->self.host, "another-boot", PERIOD_MS, 0);
	ck_assert_int_eq(verdict_of(store, id), SESSNAP_VERDICT_CRASHED);
	ck_assert_int_eq(clock_files(), 1); /* from the shared open above */
	sessnap_store_close(store);
}
END_TEST

/* Another host's session that has not saved yet: listed while fresh. */
START_TEST(test_lock_only_other_host)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	char id[SESSNAP_ID_LEN + 1], name[64], path[4096];
	sessnap_info **infos = NULL;
	size_t n = 0;

	su_id(id, 6);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
	snprintf(name, sizeof(name), "%s.snap", id);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(unlink(path), 0);
	infos = scan_one(store, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_str_eq(infos[0]->owner.host, OTHER_HOST);
	ck_assert_int_ge(infos[0]->lease_age_ms, 0);
	sessnap_info_free(infos, 1);
	snprintf(name, sizeof(name), "%s.lock", id);
	set_age(name, 60000);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- the cleaner and adopt ------------------------------------------ */

static sessnap_clean_report clean_now(sessnap_store *store)
{
	sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;

	pol.crashed_age_ms = 0;
	pol.completed_age_ms = 0;
	ck_assert_msg(sessnap_store_clean(&r, store, &pol, NULL, NULL) == 0,
		      "clean: %s", sessnap_error_last());
	return r;
}

START_TEST(test_cleaner_keeps_fresh_removes_expired)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], snap[64], lock[64];
	sessnap_clean_report r;

	su_id(id, 7);
	snprintf(snap, sizeof(snap), "%s.snap", id);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
	r = clean_now(store);
	ck_assert_uint_eq(r.kept_running, 1);
	ck_assert_uint_eq(r.removed_crashed, 0);
	ck_assert(su_exists(snap));

	/* No lease: foreign, kept. */
	put_other(store, id, OTHER_HOST, "b00t", 0, 60000);
	r = clean_now(store);
	ck_assert_uint_eq(r.kept_foreign, 1);
	ck_assert(su_exists(snap));

	/* Expired: like a crashed session of ours. */
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 60000);
	r = clean_now(store);
	ck_assert_uint_eq(r.removed_crashed, 1);
	ck_assert(!su_exists(snap));
	ck_assert(!su_exists(lock));
	/* The clock file is the store's own: never removed. */
	ck_assert_int_eq(clock_files(), 1);
	r = clean_now(store);
	ck_assert_int_eq(clock_files(), 1);
	sessnap_store_close(store);
}
END_TEST

/*
 * The owner was only paused: its lease expired when the cleaner decided,
 * and it renews before the cleaner holds the lock.  The recheck under the
 * lock sees the fresh lease and keeps the session.  The renewal is played
 * by a wrapper of the lock's open, the step between the two looks.
 */
static char renew_lock[64];
static int (*real_flopenat)(int, const char *, int, mode_t);

static int renewing_flopenat(int dfd, const char *path, int flags,
			     mode_t mode)
{
	if (strcmp(path, renew_lock) == 0)
		set_age(renew_lock, 0);
	return real_flopenat(dfd, path, flags, mode);
}

START_TEST(test_cleaner_recheck_renewed)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], snap[64];
	sessnap_clean_report r;

	su_id(id, 11);
	snprintf(snap, sizeof(snap), "%s.snap", id);
	snprintf(renew_lock, sizeof(renew_lock), "%s.lock", id);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 60000);
	real_flopenat = sessnap__sys.flopenat;
	sessnap__sys.flopenat = renewing_flopenat;
	r = clean_now(store);
	sessnap__sys.flopenat = real_flopenat;
	ck_assert_uint_eq(r.removed_crashed, 0);
	ck_assert_uint_eq(r.kept_running, 1);
	ck_assert(su_exists(snap));
	sessnap_store_close(store);
}
END_TEST

/* A lock file alone (began there, no save yet): kept while fresh. */
START_TEST(test_cleaner_keeps_lone_fresh_lock)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], name[64], path[4096];
	sessnap_clean_report r;
	int dry;

	su_id(id, 12);
	for (dry = 1; dry >= 0; dry--) {
		sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;
		sessnap_clean_report rr = SESSNAP_CLEAN_REPORT_INIT;

		put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
		snprintf(name, sizeof(name), "%s.snap", id);
		tu_join(path, sizeof(path), tu_dir, name);
		ck_assert_int_eq(unlink(path), 0);
		pol.flags = dry ? SESSNAP_CLEAN_DRY_RUN : 0;
		ck_assert_int_eq(
		    sessnap_store_clean(&rr, store, &pol, NULL, NULL), 0);
		ck_assert_uint_eq(rr.kept_running, 1);
		ck_assert_uint_eq(rr.removed_lock, 0);
	}
	snprintf(name, sizeof(name), "%s.lock", id);
	ck_assert(su_exists(name));
	/* Expired: an orphaned lock file like any other. */
	set_age(name, 60000);
	r = clean_now(store);
	ck_assert_uint_eq(r.removed_lock, 1);
	ck_assert(!su_exists(name));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_adopt_by_lease)
{
	sessnap_store *store = open_store(SESSNAP_STORE_SHARED, PERIOD_MS);
	char id[SESSNAP_ID_LEN + 1], lock[64];
	sessnap_session *s = NULL;
	sessnap__header h;
	struct stat st;

	su_id(id, 8);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 0);
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_EBUSY);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), OTHER_HOST));
	put_other(store, id, OTHER_HOST, "b00t", 0, 0);
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_EFOREIGN);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 60000);
	ck_assert_msg(sessnap_session_adopt(&s, NULL, NULL, store, id) == 0,
		      "adopt: %s", sessnap_error_last());
	/* Across hosts the session goes on under a new id (claim.c), whose
	 * lock record is the adopter's, with its own lease. */
	ck_assert_str_ne(sessnap_session_id(s), id);
	read_record(&h, &st, store, sessnap_session_id(s));
	ck_assert_str_eq(h.owner.host, store->self.host);
	ck_assert_uint_eq(h.lease_ms, PERIOD_MS);
	ck_assert_uint_eq(h.renewals, 0);
	ck_assert_ptr_nonnull(s->lease);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- options and edges ----------------------------------------------- */

START_TEST(test_options)
{
	sessnap_store_options o;
	sessnap_store *store = NULL;

	/* Version 1 has no lease_period_ms: it is never read. */
	memset(&o, 0xa5, sizeof(o));
	ck_assert_int_eq(sessnap_store_options_init(&o, 1), 0);
	ck_assert_uint_eq(o.version, 1);
	ck_assert_uint_eq(o.lease_period_ms, 0xa5a5a5a5u);
	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD | SESSNAP_STORE_SHARED;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_uint_eq(store->lease_ms, SESSNAP__LEASE_DEFAULT_MS);
	sessnap_store_close(store);

	ck_assert_int_eq(sessnap_store_options_init(&o, 2), 0);
	ck_assert_uint_eq(o.lease_period_ms, 0);
	ck_assert_int_eq(sessnap_store_options_init(&o, 3), SESSNAP_EINVAL);
	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_SHARED | SESSNAP_STORE_LOCAL;
	ck_assert_int_eq(sessnap_store_open(&store, &o), SESSNAP_EINVAL);
	o.flags = SESSNAP_STORE_SHARED;
	o.lease_period_ms = 5;
	ck_assert_int_eq(sessnap_store_open(&store, &o), SESSNAP_EINVAL);
}
END_TEST

START_TEST(test_network_file_systems)
{
	ck_assert(sessnap__lease_fs_shared(0x6969));	  /* NFS */
	ck_assert(sessnap__lease_fs_shared(0xff534d42)); /* CIFS */
	ck_assert(sessnap__lease_fs_shared(0xfe534d42)); /* SMB2 */
	ck_assert(sessnap__lease_fs_shared(0x65735546)); /* FUSE */
	ck_assert(sessnap__lease_fs_shared(0x01021997)); /* 9P */
	ck_assert(sessnap__lease_fs_shared(0x00c36400)); /* Ceph */
	ck_assert(!sessnap__lease_fs_shared(0xef53));	  /* ext4 */
	ck_assert(!sessnap__lease_fs_shared(0x01021994)); /* tmpfs */
	ck_assert(!sessnap__lease_fs_shared(0x58465342)); /* XFS */
	ck_assert(!sessnap__lease_fs_shared(0x9123683e)); /* Btrfs */
	ck_assert_int_eq(sessnap__lease_expiry_ms(10000), 32000);
}
END_TEST

/* Both parsers read the lease, and the padded record, alike. */
START_TEST(test_record_parsers_agree)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], *line = NULL;
	sessnap__header h, a, b;
	size_t len = 0;

	su_id(id, 9);
	su_header(&h, id, NOW_MS);
	sessnap__checksum(h.checksum, "", 0);
	h.lease_ms = 250;
	h.renewals = 12345;
	ck_assert_int_eq(sessnap__header_format(&line, &len, &h), 0);
	ck_assert_int_eq(sessnap__header_parse_json(&a, line, len), 0);
	ck_assert_int_eq(sessnap__header_parse_fast(&b, line, len), 0);
	ck_assert_uint_eq(a.lease_ms, 250);
	ck_assert_uint_eq(b.lease_ms, 250);
	ck_assert_uint_eq(a.renewals, 12345);
	ck_assert_uint_eq(b.renewals, 12345);
	free(line);
	/* A snapshot's header carries no lease fields at all. */
	h.lease_ms = 0;
	ck_assert_int_eq(sessnap__header_format(&line, &len, &h), 0);
	ck_assert_ptr_null(memmem(line, len, "lease", 5));
	free(line);
	/* One without the other is refused by both. */
	h.lease_ms = 250;
	ck_assert_int_eq(sessnap__header_format(&line, &len, &h), 0);
	{
		char *p = memmem(line, len, "\"lease_ms\":250,", 15);

		ck_assert_ptr_nonnull(p);
		memmove(p, p + 15, len - (size_t)(p - line) - 15);
		len -= 15;
	}
	ck_assert_int_eq(sessnap__header_parse_json(&a, line, len),
			 SESSNAP_ECORRUPT);
	ck_assert_int_eq(sessnap__header_parse_fast(&b, line, len),
			 SESSNAP__HEADER_DEFERRED);
	free(line);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_clock_name)
{
	char name[SESSNAP__NAME_MAX], other[SESSNAP__NAME_MAX],
	    id[SESSNAP_ID_LEN + 1];

	sessnap__clock_name(name, "laptop");
	sessnap__clock_name(other, "desktop");
	ck_assert_str_ne(name, other);
	ck_assert_int_eq(strncmp(name, SESSNAP__CLOCK_PREFIX,
				 strlen(SESSNAP__CLOCK_PREFIX)),
			 0);
	ck_assert_uint_eq(strlen(name), strlen(SESSNAP__CLOCK_PREFIX) + 16);
	ck_assert_uint_eq(strspn(name + strlen(SESSNAP__CLOCK_PREFIX),
				 "0123456789abcdef"),
			  16);
	/* Never one of a session's names, nor a temporary file. */
	ck_assert_int_eq(sessnap__name_parse(name, id), SESSNAP__NAME_OTHER);
}
END_TEST

/* A planted FIFO or symlink as the clock file: refused, left alone. */
START_TEST(test_clock_file_not_regular)
{
	sessnap_store *store = open_store(0, 0);
	char id[SESSNAP_ID_LEN + 1], name[SESSNAP__NAME_MAX], path[4096];
	sessnap_info **infos;
	struct stat st;

	sessnap__clock_name(name, store->self.host);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	su_id(id, 10);
	put_other(store, id, OTHER_HOST, "b00t", PERIOD_MS, 60000);
	infos = scan_one(store, id);
	/* Its age is unknown: foreign, never crashed. */
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_FOREIGN);
	ck_assert_int_eq(infos[0]->lease_age_ms, -1);
	sessnap_info_free(infos, 1);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	sessnap_store_close(store);
}
END_TEST

/*
 * The seam plays another host for a whole process (tests/inject.c reads
 * the variables before main()): the test runs this suite's "seam" case
 * again in a child with them set, where the same test checks the host
 * name, the boot id and the wall clock the library sees.
 */
START_TEST(test_seam_plays_another_host)
{
	const char *host = getenv("SESSNAP_TEST_HOST");
	struct timespec ts;
	sessnap_owner o;
	int64_t real_ms, off;
	char self[4096];
	ssize_t n;
	int status, fd;
	pid_t pid;

	if (host != NULL) {
		sessnap__owner_self(&o);
		ck_assert_str_eq(o.host, "far.example");
		ck_assert_str_eq(o.boot_id, "boot-of-far");
		clock_gettime(CLOCK_REALTIME, &ts);
		real_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		off = sessnap__now_ms() - real_ms;
		ck_assert_int_ge(off, 3600000 - 5000);
		ck_assert_int_le(off, 3600000 + 5000);
		return;
	}
	/* readlink, not exec of /proc/self/exe: under valgrind that is
	 * valgrind, and readlink gives the suite's own path. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("SESSNAP_TEST_HOST", "far.example", 1);
		setenv("SESSNAP_TEST_BOOT_ID", "boot-of-far", 1);
		setenv("SESSNAP_TEST_CLOCK_OFFSET_MS", "3600000", 1);
		setenv("CK_RUN_CASE", "seam", 1);
		unsetenv("CK_TAP_LOG_FILE_NAME");
		unsetenv("CK_RUN_SUITE");
		execl(self, self, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child playing another host failed (status %d)",
		      status);
}
END_TEST

static Suite *lease_suite(void)
{
	Suite *s = suite_create("lease");
	TCase *tc;

	tc = tcase_create("renewal");
	tu_tcase_add_tmpdir(tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_renewal_one_write_per_period);
	tcase_add_test(tc, test_local_store_pays_nothing);
	tcase_add_test(tc, test_writer_thread_renews);
	tcase_add_test(tc, test_renewal_failure_retried);
	tcase_add_test(tc, test_renewal_failure_in_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdicts");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_other_host_fresh_running_expired_crashed);
	tcase_add_test(tc, test_clock_skew_changes_nothing);
	tcase_add_test(tc, test_other_host_without_lease_foreign);
	tcase_add_test(tc, test_same_host_flock_rule_unchanged);
	tcase_add_test(tc, test_same_host_other_boot);
	tcase_add_test(tc, test_lock_only_other_host);
	tcase_add_test(tc, test_cleaner_keeps_fresh_removes_expired);
	tcase_add_test(tc, test_cleaner_recheck_renewed);
	tcase_add_test(tc, test_cleaner_keeps_lone_fresh_lock);
	tcase_add_test(tc, test_adopt_by_lease);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_network_file_systems);
	tcase_add_test(tc, test_record_parsers_agree);
	tcase_add_test(tc, test_clock_name);
	tcase_add_test(tc, test_clock_file_not_regular);
	suite_add_tcase(s, tc);

	tc = tcase_create("seam");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_seam_plays_another_host);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(lease_suite)
