/*
 * check_scan.c -- the scanner: who crashed, who is running, what is not
 * ours.
 *
 * Liveness is tested with real processes: a child that saved and was
 * SIGKILLed, a child still running, a child that ended cleanly.  The rest
 * uses hand-made files: newer format, another host, a corrupt main file
 * with a good previous generation, and the things a store may hold that
 * are not sessions (temp files, stray locks, symlinks, FIFOs,
 * directories).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "scanutil.h"
#include "testutil.h"

#define NOW_MS ((int64_t)1700000000000)

static sessnap_info **scan_all(sessnap_store *store, size_t *n)
{
	sessnap_info **infos = NULL;
	int rc = sessnap_store_scan(&infos, n, store, 0);

	ck_assert_msg(rc == 0, "scan: %s", sessnap_error_last());
	return infos;
}

/* The one session the store is expected to list. */
static sessnap_verdict scan_one(sessnap_store *store, const char *id,
				unsigned int *flags)
{
	sessnap_info **infos;
	sessnap_verdict st;
	size_t n = 0;

	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, id);
	st = infos[0]->status;
	if (flags != NULL)
		*flags = infos[0]->flags;
	sessnap_info_free(infos, n);
	return st;
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(test_killed_child_is_crashed)
{
	sessnap_store *store = su_store_open();
	struct su_child c;
	sessnap_info **infos;
	size_t n = 0;

	su_child_start(&c, SU_CHILD_WAIT, "notes.txt", 7);
	/* Alive: running, never crashed. */
	ck_assert_int_eq(scan_one(store, c.id, NULL), SESSNAP_VERDICT_RUNNING);
	ck_assert_int_eq(sessnap__lock_probe(store, c.id), 1);
	su_child_kill(&c);

	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_str_eq(infos[0]->label, "notes.txt");
	ck_assert_uint_eq(infos[0]->seq, 1);
	ck_assert_uint_eq(infos[0]->flags, 0);
	ck_assert_uint_eq(infos[0]->payload_bytes, strlen("{\"n\":7}"));
	ck_assert_uint_gt(infos[0]->file_bytes, infos[0]->payload_bytes);
	ck_assert_int_gt(infos[0]->saved_ms, 0);
	ck_assert_uint_eq(infos[0]->format_version, SESSNAP__FORMAT_PLAIN);
	sessnap_info_free(infos, n);

	/* RECOVERABLE lists it too. */
	ck_assert_int_eq(
	    sessnap_store_scan(&infos, &n, store, SESSNAP_SCAN_RECOVERABLE), 0);
	ck_assert_uint_eq(n, 1);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_running_child_never_crashed)
{
	sessnap_store *store = su_store_open();
	struct su_child c;
	sessnap_info **infos;
	size_t n = 9;

	su_child_start(&c, SU_CHILD_WAIT, NULL, 1);
	ck_assert_int_eq(scan_one(store, c.id, NULL), SESSNAP_VERDICT_RUNNING);
	ck_assert_int_eq(
	    sessnap_store_scan(&infos, &n, store, SESSNAP_SCAN_RECOVERABLE), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(infos);
	su_child_kill(&c);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_clean_end_completed_or_gone)
{
	sessnap_store *store = su_store_open();
	struct su_child kept, gone;
	sessnap_info **infos;
	size_t n = 0;

	su_child_start(&kept, SU_CHILD_END_KEEP, "kept", 1);
	su_child_start(&gone, SU_CHILD_END, "gone", 2);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, kept.id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_COMPLETED);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(
	    sessnap_store_scan(&infos, &n, store, SESSNAP_SCAN_RECOVERABLE), 0);
	ck_assert_uint_eq(n, 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * The recorded pid is alive (it is ours), but nobody holds the lock: the
 * owner that wrote the snapshot is gone, whatever process got its pid.
 */
START_TEST(test_live_pid_free_lock_is_crashed)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], snap[64], lock[64];
	sessnap__header h;

	su_id(id, 1);
	su_header(&h, id, NOW_MS);
	h.owner.pid = getpid();
	snprintf(snap, sizeof(snap), "%s.snap", id);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	su_put_snap(snap, &h, "[1,2]");
	tu_write_file(tu_dir, lock, "", 0);
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CRASHED);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_sorted_newest_first)
{
	sessnap_store *store = su_store_open();
	char ids[4][SESSNAP_ID_LEN + 1], name[160], path[4096];
	const int64_t saved[3] = { NOW_MS - 5000, NOW_MS, NOW_MS - 100 };
	struct timespec ts[2];
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0, i;

	for (i = 0; i < 3; i++) {
		su_id(ids[i], (unsigned int)i + 10);
		su_header(&h, ids[i], saved[i]);
		snprintf(name, sizeof(name), "%s.snap", ids[i]);
		su_put_snap(name, &h, "{}");
	}
	/* A corrupt one sorts by its mtime: between the first two. */
	su_id(ids[3], 20);
	snprintf(name, sizeof(name), "%s.snap", ids[3]);
	tu_write_file(tu_dir, name, "garbage\n", 8);
	tu_join(path, sizeof(path), tu_dir, name);
	ts[0].tv_sec = ts[1].tv_sec = (NOW_MS - 50) / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = (long)((NOW_MS - 50) % 1000) * 1000000;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);

	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(infos[0]->id, ids[1]);
	ck_assert_str_eq(infos[1]->id, ids[3]);
	ck_assert_int_eq(infos[1]->status, SESSNAP_VERDICT_CORRUPT);
	ck_assert_int_eq(infos[1]->saved_ms, 0);
	ck_assert_int_eq(infos[1]->mtime_ms, NOW_MS - 50);
	ck_assert_str_eq(infos[2]->id, ids[2]);
	ck_assert_str_eq(infos[3]->id, ids[0]);
	for (i = 0; i < n; i++)
		if (i != 1)
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_status_names)
{
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_RUNNING),
			 "running");
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_CRASHED),
			 "crashed");
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_COMPLETED),
			 "completed");
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_FOREIGN),
			 "foreign");
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_NEWER), "newer");
	ck_assert_str_eq(sessnap_verdict_name(SESSNAP_VERDICT_CORRUPT),
			 "corrupt");
	ck_assert_str_eq(sessnap_verdict_name((sessnap_verdict)99), "unknown");
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_bad_arguments)
{
	sessnap_store *store = su_store_open();
	sessnap_info **infos;
	size_t n;

	ck_assert_int_eq(sessnap_store_scan(NULL, &n, store, 0),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_scan(&infos, NULL, store, 0),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, NULL, 0),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 1u << 7),
			 SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "flags"));
	sessnap_info_free(NULL, 0);
	sessnap_store_close(store);
}
END_TEST

/* How many of a scan's records are flagged unreadable. */
static size_t count_unreadable(sessnap_info *const *infos, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (infos[i]->flags & SESSNAP_INFO_UNREADABLE) {
			ck_assert_int_ne(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
			k++;
		}
	return k;
}

/*
 * Fail each system call of a scan in turn, once.  A failure of the store
 * directory itself (its open, fdopendir, readdir), or of the process
 * (EMFILE: `dir_only`), fails the scan: reported with a message naming
 * the store, no result.  A failure on one session's file hides nothing
 * else: the scan succeeds, lists both sessions, and flags that one
 * unreadable, never crashed.  No descriptor leaks; then the scan
 * succeeds cleanly.  Returns how many failures were entry failures.
 */
static unsigned long fault_loop(unsigned int kinds, int err, int want,
				bool dir_only)
{
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_store *store = su_store_open();
	sessnap__header h;
	sessnap_info **infos;
	unsigned long nth, entry = 0;
	size_t n;
	int fds, rc;

	su_id(id, 1);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{\"a\":1}");
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{\"a\":0}");
	snprintf(name, sizeof(name), "%s.lock", id);
	tu_write_file(tu_dir, name, "", 0); /* a free lock: probed */
	su_id(id, 2);
	snprintf(name, sizeof(name), "%s.snap", id);
	tu_write_file(tu_dir, name, "x", 1); /* corrupt: reads .prev too */

	fds = tu_count_fds();
	for (nth = 1; nth < 100; nth++) {
		sessnap__fault_arm(kinds, nth, err, 0);
		infos = (sessnap_info **)1;
		n = 7;
		rc = sessnap_store_scan(&infos, &n, store, 0);
		sessnap__fault_disarm();
		ck_assert_int_eq(tu_count_fds(), fds);
		if (sessnap__fault_fired() == 0) {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(n, 2);
			ck_assert_uint_eq(count_unreadable(infos, n), 0);
			sessnap_info_free(infos, n);
			break;
		}
		if (rc == 0) {
			ck_assert_msg(!dir_only, "call %lu: not failed", nth);
			ck_assert_uint_eq(n, 2);
			ck_assert_uint_eq(count_unreadable(infos, n), 1);
			sessnap_info_free(infos, n);
			entry++;
			continue;
		}
		ck_assert_msg(rc == want, "call %lu: %d (%s)", nth, rc,
			      sessnap_error_last());
		ck_assert_ptr_null(infos);
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_nonnull(strstr(sessnap_error_last(), tu_dir));
	}
	ck_assert_uint_gt(nth, 1);
	ck_assert_uint_lt(nth, 100);
	sessnap_store_close(store);
	return entry;
}

START_TEST(test_fault_open)
{
	/* the directory's open fails the scan, a file's open does not */
	ck_assert_uint_gt(fault_loop(SESSNAP__SYS_OPEN, EACCES, SESSNAP_EPERM,
				     false),
			  0);
}
END_TEST

START_TEST(test_fault_read_stat_dir)
{
	ck_assert_uint_gt(fault_loop(SESSNAP__SYS_READ, EIO, SESSNAP_EIO,
				     false),
			  0);
	ck_assert_uint_gt(fault_loop(SESSNAP__SYS_STAT, EIO, SESSNAP_EIO,
				     false),
			  0);
	/* only the directory is read with readdir: always a failure */
	ck_assert_uint_eq(fault_loop(SESSNAP__SYS_READDIR, EIO, SESSNAP_EIO,
				     true),
			  0);
	ck_assert_uint_gt(fault_loop(SESSNAP__SYS_FLOCK, EIO, SESSNAP_EIO,
				     false),
			  0);
}
END_TEST

/* No descriptor left is the process's failure, not an entry's. */
START_TEST(test_fault_emfile)
{
	ck_assert_uint_eq(fault_loop(SESSNAP__SYS_OPEN, EMFILE, SESSNAP_EIO,
				     true),
			  0);
}
END_TEST

/* ---- threads -------------------------------------------------------------- */

#define MIXED 300

/*
 * A store of MIXED sessions of every kind, the kind chosen by i % 7:
 * crashed, completed, corrupt main with a good .prev, .prev alone,
 * foreign, newer format, and running (its lock held by this process, on
 * lock_fds[i / 7]).  Saved times are all distinct; counts[] says how many
 * of each status there are.
 */
struct mixed {
	sessnap_store *store;
	int lock_fds[MIXED / 7];
	size_t counts[SESSNAP_VERDICT_CORRUPT + 1];
};

static void mixed_open(struct mixed *m)
{
	static const sessnap_verdict kinds[7] = {
		SESSNAP_VERDICT_CRASHED, SESSNAP_VERDICT_COMPLETED,
		SESSNAP_VERDICT_CRASHED, SESSNAP_VERDICT_CRASHED,
		SESSNAP_VERDICT_FOREIGN, SESSNAP_VERDICT_NEWER,
		SESSNAP_VERDICT_RUNNING,
	};
	char id[SESSNAP_ID_LEN + 1], name[64], label[32];
	sessnap__header h;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->store = su_store_open();
	for (i = 0; i < MIXED; i++) {
		su_id(id, 1000 + i);
		su_header(&h, id, NOW_MS + i);
		snprintf(label, sizeof(label), "document %u", i);
		strlcpy(h.label, label, sizeof(h.label));
		h.seq = i;
		snprintf(name, sizeof(name), "%s.snap", id);
		switch (i % 7) {
		case 1:
			h.completed = true;
			break;
		case 2:
			tu_write_file(tu_dir, name, "\0\0\0\0", 4);
			/* fall through */
		case 3:
			snprintf(name, sizeof(name), "%s.snap.prev", id);
			break;
		case 4:
			strlcpy(h.owner.host, "elsewhere.example",
				sizeof(h.owner.host));
			break;
		case 5:
			h.format_version = SESSNAP_FORMAT_VERSION + 1;
			break;
		case 6:
			ck_assert_int_eq(
			    sessnap__lock_take(&m->lock_fds[i / 7], m->store,
					       id),
			    0);
			break;
		}
		su_put_snap(name, &h, "{\"a\":1}");
		m->counts[kinds[i % 7]]++;
	}
}

static void mixed_close(struct mixed *m)
{
	size_t i;

	for (i = 0; i < MIXED / 7; i++)
		close(m->lock_fds[i]);
	sessnap_store_close(m->store);
}

/* Scan the whole store on `threads` threads. */
static sessnap_info **scan_on(sessnap_store *store, unsigned int threads,
			      size_t *n)
{
	sessnap_info **infos = NULL;
	int rc = sessnap__scan(&infos, n, store, 0, threads);

	ck_assert_msg(rc == 0, "scan: %s", sessnap_error_last());
	return infos;
}

/*
 * Several threads classify a large store exactly as one does: the same
 * sessions, statuses, flags, headers and order.
 */
START_TEST(test_threads_match_one)
{
	struct mixed m;
	size_t got[SESSNAP_VERDICT_CORRUPT + 1];
	sessnap_info **one, **many;
	size_t n1 = 0, n2 = 0, i;

	mixed_open(&m);
	one = scan_on(m.store, 1, &n1);
	many = scan_on(m.store, 4, &n2);
	ck_assert_uint_eq(n1, MIXED);
	ck_assert_uint_eq(n2, MIXED);
	memset(got, 0, sizeof(got));
	for (i = 0; i < n2; i++) {
		ck_assert_str_eq(one[i]->id, many[i]->id);
		ck_assert_int_eq(one[i]->status, many[i]->status);
		ck_assert_uint_eq(one[i]->flags, many[i]->flags);
		ck_assert_uint_eq(one[i]->seq, many[i]->seq);
		ck_assert_int_eq(one[i]->saved_ms, many[i]->saved_ms);
		ck_assert_str_eq(one[i]->label ? one[i]->label : "",
				 many[i]->label ? many[i]->label : "");
		/* newest first (by mtime when there is no header) */
		if (i > 0)
			ck_assert_int_ge(many[i - 1]->saved_ms
					     ? many[i - 1]->saved_ms
					     : many[i - 1]->mtime_ms,
					 many[i]->saved_ms ? many[i]->saved_ms
							  : many[i]->mtime_ms);
		got[many[i]->status]++;
	}
	for (i = 0; i <= SESSNAP_VERDICT_CORRUPT; i++)
		ck_assert_uint_eq(got[i], m.counts[i]);
	sessnap_info_free(one, n1);
	sessnap_info_free(many, n2);

	/* The recoverable filter on the threaded path: the crashed only. */
	ck_assert_int_eq(sessnap__scan(&many, &n2, m.store,
				       SESSNAP_SCAN_RECOVERABLE, 4),
			 0);
	ck_assert_uint_eq(n2, m.counts[SESSNAP_VERDICT_CRASHED]);
	for (i = 0; i < n2; i++)
		ck_assert_int_eq(many[i]->status, SESSNAP_VERDICT_CRASHED);
	sessnap_info_free(many, n2);
	mixed_close(&m);
}
END_TEST

/*
 * Helpers that cannot be started (thread creation fails for the first
 * one, or from the second on) leave their share to the threads that run:
 * the same result.
 */
START_TEST(test_threads_unavailable)
{
	struct mixed m;
	size_t n1 = 0, n2 = 0, i;
	sessnap_info **one, **some;
	unsigned long nth;

	mixed_open(&m);
	one = scan_on(m.store, 1, &n1);
	for (nth = 1; nth <= 2; nth++) {
		sessnap__fault_arm(SESSNAP__SYS_THREAD, nth, EAGAIN,
				   SESSNAP__FAULT_PERSISTENT);
		some = scan_on(m.store, 4, &n2);
		ck_assert_uint_eq(sessnap__fault_fired(), 1);
		sessnap__fault_disarm();
		ck_assert_uint_eq(n2, n1);
		for (i = 0; i < n2; i++) {
			ck_assert_str_eq(one[i]->id, some[i]->id);
			ck_assert_int_eq(one[i]->status, some[i]->status);
		}
		sessnap_info_free(some, n2);
	}
	sessnap_info_free(one, n1);
	mixed_close(&m);
}
END_TEST

/*
 * A system error on one session's file, on any thread, hides nothing
 * else: the scan lists every session, that one flagged unreadable, and
 * leaks no descriptor and no memory (the sanitizer and valgrind runs
 * check the latter).  A failure of the process (EMFILE) on any thread
 * fails the whole scan with its message and returns nothing.
 */
START_TEST(test_threads_fault)
{
	static const unsigned long nths[] = { 1, 40, 150, 299, 100000 };
	static const unsigned int kinds[] = { SESSNAP__SYS_READ,
					      SESSNAP__SYS_FLOCK };
	struct mixed m;
	size_t n, i, k;
	sessnap_info **infos;
	int fds, rc;

	mixed_open(&m);
	fds = tu_count_fds();
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(nths) / sizeof(nths[0]); i++) {
			sessnap__fault_arm(kinds[k], nths[i], EIO, 0);
			infos = (sessnap_info **)1;
			n = 7;
			rc = sessnap__scan(&infos, &n, m.store, 0, 4);
			sessnap__fault_disarm();
			ck_assert_int_eq(tu_count_fds(), fds);
			if (sessnap__fault_fired() == 0) {
				ck_assert_int_eq(rc, 0);
				ck_assert_uint_eq(n, MIXED);
				sessnap_info_free(infos, n);
				continue;
			}
			ck_assert_msg(rc == 0, "%s", sessnap_error_last());
			ck_assert_uint_eq(n, MIXED);
			ck_assert_uint_eq(count_unreadable(infos, n), 1);
			sessnap_info_free(infos, n);
		}
	}
	for (i = 0; i < sizeof(nths) / sizeof(nths[0]); i++) {
		sessnap__fault_arm(SESSNAP__SYS_OPEN, nths[i], EMFILE, 0);
		infos = (sessnap_info **)1;
		n = 7;
		rc = sessnap_store_scan(&infos, &n, m.store, 0);
		sessnap__fault_disarm();
		ck_assert_int_eq(tu_count_fds(), fds);
		if (sessnap__fault_fired() == 0) {
			ck_assert_int_eq(rc, 0);
			sessnap_info_free(infos, n);
			continue;
		}
		ck_assert_msg(rc == SESSNAP_EIO, "%s", sessnap_error_last());
		ck_assert_ptr_null(infos);
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_nonnull(strstr(sessnap_error_last(), tu_dir));
	}
	mixed_close(&m);
}
END_TEST

/* ---- edge ---------------------------------------------------------------- */

/*
 * A header longer than the scanner's first read (a label of 256 quotes
 * is 512 bytes escaped, and a long host name) is read whole by a second
 * read.
 */
START_TEST(test_long_header)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0;

	su_id(id, 8);
	su_header(&h, id, NOW_MS);
	memset(h.label, '"', SESSNAP_LABEL_MAX);
	h.label[SESSNAP_LABEL_MAX] = '\0';
	memset(h.owner.host, 'h', SESSNAP_HOST_MAX);
	h.owner.host[SESSNAP_HOST_MAX] = '\0';
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	{
		char path[4096], line[4096];
		FILE *f;

		tu_join(path, sizeof(path), tu_dir, name);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
		fclose(f);
		ck_assert_uint_gt(strlen(line), 1024);
	}
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_FOREIGN);
	ck_assert_str_eq(infos[0]->label, h.label);
	ck_assert_str_eq(infos[0]->owner.host, h.owner.host);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_empty_store)
{
	sessnap_store *store = su_store_open();
	sessnap_info **infos = (sessnap_info **)1;
	size_t n = 5;

	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(infos);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_newer_format)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	sessnap_info **infos;
	unsigned int flags;
	size_t n = 0;

	su_id(id, 3);
	su_header(&h, id, NOW_MS);
	h.format_version = SESSNAP_FORMAT_VERSION + 1;
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{\"v\":2}");
	/* A valid older generation must not hide the newer one. */
	su_header(&h, id, NOW_MS - 10);
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{}");
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_NEWER);
	ck_assert_uint_eq(infos[0]->format_version, SESSNAP_FORMAT_VERSION + 1);
	ck_assert_uint_eq(infos[0]->flags, 0);
	sessnap_info_free(infos, n);

	/* Only a newer .prev: still newer, from .prev. */
	snprintf(name, sizeof(name), "%s.snap", id);
	tu_write_file(tu_dir, name, "", 0);
	h.format_version = 7;
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(scan_one(store, id, &flags), SESSNAP_VERDICT_NEWER);
	ck_assert_uint_eq(flags, SESSNAP_INFO_FROM_PREV);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_foreign_host)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	int fd;

	su_id(id, 4);
	su_header(&h, id, NOW_MS);
	strlcpy(h.owner.host, "elsewhere.example", sizeof(h.owner.host));
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_FOREIGN);

	/* A held lock still wins. */
	ck_assert_int_eq(sessnap__lock_take(&fd, store, id), 0);
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_RUNNING);
	close(fd);

	/* Completed on another host: nothing to recover. */
	h.completed = true;
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_COMPLETED);

	/* No host recorded (an old writer): ours. */
	h.completed = false;
	h.owner.host[0] = '\0';
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CRASHED);
	sessnap_store_close(store);
}
END_TEST

/*
 * Both .snap and .prev unusable: the session is described from the newest
 * by seq of its older generations, flagged SESSNAP_INFO_FROM_OLDER with
 * the generation named; when they are all unusable too, it is corrupt.
 */
START_TEST(test_from_older_generation)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0;

	su_id(id, 9);
	su_header(&h, id, NOW_MS - 20);
	h.seq = 7;
	snprintf(name, sizeof(name), "%s.snap.3", id);
	su_put_snap(name, &h, "{\"gen\":3}");
	su_header(&h, id, NOW_MS - 10);
	h.seq = 8;
	snprintf(name, sizeof(name), "%s.snap.2", id);
	su_put_snap(name, &h, "{\"gen\":2}");
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	tu_write_file(tu_dir, name, "", 0);
	snprintf(name, sizeof(name), "%s.snap", id);
	tu_write_file(tu_dir, name, "\0\0\0\0", 4);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(infos[0]->flags, SESSNAP_INFO_FROM_OLDER);
	ck_assert_uint_eq(infos[0]->generation, 2);
	ck_assert_uint_eq(infos[0]->seq, 8);
	sessnap_info_free(infos, n);

	snprintf(name, sizeof(name), "%s.snap.2", id);
	tu_write_file(tu_dir, name, "{}\n", 3);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(infos[0]->flags, SESSNAP_INFO_FROM_OLDER);
	ck_assert_uint_eq(infos[0]->generation, 3);
	ck_assert_uint_eq(infos[0]->seq, 7);
	sessnap_info_free(infos, n);

	snprintf(name, sizeof(name), "%s.snap.3", id);
	tu_write_file(tu_dir, name, "{}\n", 3);
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CORRUPT);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_corrupt_main_good_prev)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	sessnap_info **infos;
	unsigned int flags;
	size_t n = 0;

	su_id(id, 5);
	su_header(&h, id, NOW_MS);
	h.seq = 41;
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{\"old\":true}");
	snprintf(name, sizeof(name), "%s.snap", id);
	/* ext4's zero-filled file after a crash. */
	tu_write_file(tu_dir, name, "\0\0\0\0\0\0\0\0", 8);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(infos[0]->flags, SESSNAP_INFO_FROM_PREV);
	ck_assert_uint_eq(infos[0]->seq, 41);
	sessnap_info_free(infos, n);

	/* Main missing: the .prev alone still counts. */
	ck_assert_int_eq(unlinkat(store->dfd, name, 0), 0);
	ck_assert_int_eq(scan_one(store, id, &flags), SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(flags, SESSNAP_INFO_FROM_PREV);

	/* Both bad: corrupt. */
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	tu_write_file(tu_dir, name, "{\"format\":\"x\"}\n", 15);
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CORRUPT);

	/* A truncated main file (size differs from the header): corrupt. */
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{\"a\":1}");
	{
		char path[4096];
		struct stat st;

		tu_join(path, sizeof(path), tu_dir, name);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(truncate(path, st.st_size - 3), 0);
	}
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CORRUPT);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_header_id_mismatch)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], other[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;

	su_id(id, 6);
	su_id(other, 7);
	su_header(&h, other, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(scan_one(store, id, NULL), SESSNAP_VERDICT_CORRUPT);
	sessnap_store_close(store);
}
END_TEST

/*
 * A store holding one real session and everything else that may lie
 * around: only the session is listed as a session, a FIFO named like a
 * snapshot does not hang the scan, and a symlink, FIFO or directory named
 * like a session file is listed as corrupt, flagged not regular (never
 * skipped: the user must see it).
 */
START_TEST(test_ignores_what_is_not_a_session)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], other[SESSNAP_ID_LEN + 1];
	char name[128], path[4096], target[4096];
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0, i, bad = 0;

	su_id(id, 8);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	tu_join(target, sizeof(target), tu_dir, name);

	/* Temp files of a writer, of the .prev step, and a stray lock. */
	snprintf(name, sizeof(name), ".%s.snap.Ab12Cd", id);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), ".%s.snap.prev.Xy34Zw", id);
	su_put_snap(name, &h, "{}");
	su_id(other, 9);
	snprintf(name, sizeof(name), "%s.lock", other);
	tu_write_file(tu_dir, name, "", 0);
	/* Unrelated and almost-right names. */
	tu_write_file(tu_dir, "notes.txt", "hi", 2);
	snprintf(name, sizeof(name), "%s.snapx", other);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), "%s.snap.prev.old", other);
	su_put_snap(name, &h, "{}");
	tu_write_file(tu_dir, "0123456789ABCDEF0123456789ABCDEF.snap", "x", 1);
	tu_write_file(tu_dir, "0123456789abcdef.snap", "x", 1);
	/* A symlink, a FIFO and a directory named like snapshots. */
	su_id(other, 10);
	snprintf(name, sizeof(name), "%s.snap", other);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(symlink(target, path), 0);
	su_id(other, 11);
	snprintf(name, sizeof(name), "%s.snap", other);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	su_id(other, 12);
	snprintf(name, sizeof(name), "%s.snap.prev", other);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(mkdir(path, 0700), 0);

	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++) {
		if (strcmp(infos[i]->id, id) == 0) {
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
			ck_assert_uint_eq(infos[i]->flags, 0);
			continue;
		}
		ck_assert_int_eq(infos[i]->status, SESSNAP_VERDICT_CORRUPT);
		ck_assert_uint_eq(infos[i]->flags & SESSNAP_INFO_NOT_REGULAR,
				  SESSNAP_INFO_NOT_REGULAR);
		bad++;
	}
	ck_assert_uint_eq(bad, 3);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

/* Bind a real AF_UNIX socket at tu_dir/name (and close it). */
static void bind_socket(const char *name)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	tu_join(sa.sun_path, sizeof(sa.sun_path), tu_dir, name);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/*
 * A bad entry hides nothing else: a socket (and, for another session, a
 * FIFO) named like a session's lock file.  The scan succeeds, lists that
 * session as corrupt, flagged not regular (nobody can hold such a lock:
 * never called crashed), and lists the good sessions beside it as they
 * are.  The probe itself answers for a socket instead of failing (what a
 * file system without d_type reaches).
 */
START_TEST(test_bad_lock_hides_nothing)
{
	sessnap_store *store = su_store_open();
	char bad1[SESSNAP_ID_LEN + 1], bad2[SESSNAP_ID_LEN + 1];
	char good[SESSNAP_ID_LEN + 1], done[SESSNAP_ID_LEN + 1];
	char name[64], path[4096];
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0, i, seen = 0;

	su_id(bad1, 20);
	su_id(bad2, 21);
	su_id(good, 22);
	su_id(done, 23);
	su_header(&h, bad1, NOW_MS + 1);
	snprintf(name, sizeof(name), "%s.snap", bad1);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), "%s.lock", bad1);
	bind_socket(name);
	su_header(&h, bad2, NOW_MS + 2);
	snprintf(name, sizeof(name), "%s.snap", bad2);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), "%s.lock", bad2);
	tu_join(path, sizeof(path), tu_dir, name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	su_header(&h, good, NOW_MS + 3);
	snprintf(name, sizeof(name), "%s.snap", good);
	su_put_snap(name, &h, "{}");
	su_header(&h, done, NOW_MS + 4);
	h.completed = true;
	snprintf(name, sizeof(name), "%s.snap", done);
	su_put_snap(name, &h, "{}");

	ck_assert_int_eq(sessnap__lock_probe(store, bad1),
			 SESSNAP__LOCK_NOT_REGULAR);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++) {
		if (strcmp(infos[i]->id, good) == 0) {
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
			ck_assert_uint_eq(infos[i]->flags, 0);
		} else if (strcmp(infos[i]->id, done) == 0) {
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_COMPLETED);
		} else {
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CORRUPT);
			ck_assert_uint_eq(infos[i]->flags,
					  SESSNAP_INFO_NOT_REGULAR);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, 2);
	sessnap_info_free(infos, n);
	/* Nothing was touched. */
	snprintf(name, sizeof(name), "%s.lock", bad1);
	ck_assert(su_exists(name));
	snprintf(name, sizeof(name), "%s.lock", bad2);
	ck_assert(su_exists(name));
	sessnap_store_close(store);
}
END_TEST

/*
 * A snapshot larger than the reader's bound is listed from its header as
 * what it is (crashed), flagged too big, and loading it says so without
 * calling it corrupt or advising to discard it.
 */
START_TEST(test_too_big_flagged_not_corrupt)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	char id[SESSNAP_ID_LEN + 1], name[64], payload[200];
	sessnap_store *store;
	sessnap__header h;
	json_object *st = NULL;
	unsigned int flags = 0;

	memset(payload, ' ', sizeof(payload) - 1);
	payload[0] = '1';
	payload[sizeof(payload) - 1] = '\0';
	su_id(id, 24);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, payload);
	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD;
	o.read_bound = 100;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_int_eq(scan_one(store, id, &flags), SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(flags, SESSNAP_INFO_TOOBIG);
	ck_assert_int_eq(sessnap_store_load(&st, NULL, store, id),
			 SESSNAP_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "read bound"));
	ck_assert_ptr_null(strstr(sessnap_error_last(), "discard"));
	ck_assert_ptr_null(strstr(sessnap_error_last(), "corrupt"));
	sessnap_store_close(store);
	/* The library's default bound reads it: no flag. */
	store = su_store_open();
	ck_assert_int_eq(scan_one(store, id, &flags), SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(flags, 0);
	sessnap_store_close(store);
}
END_TEST

/* The scan reads a bounded header: a big state costs no more. */
START_TEST(test_big_state_header_only)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	size_t big = (size_t)8 << 20, n = 0;
	sessnap__header h;
	sessnap_info **infos;
	unsigned long reads;
	char *payload;

	payload = malloc(big + 1);
	ck_assert_ptr_nonnull(payload);
	memset(payload, ' ', big);
	payload[0] = '1';
	payload[big] = '\0';
	su_id(id, 13);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, payload);
	free(payload);
	/* Count the reads: an armed fault that never fires counts calls. */
	sessnap__fault_arm(SESSNAP__SYS_READ, 1000000, EIO, 0);
	infos = scan_all(store, &n);
	reads = sessnap__fault_disarm();
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(infos[0]->payload_bytes, big);
	ck_assert_uint_le(reads, 2);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

/*
 * The one parser of store names (names.c), which the scanner, the
 * cleaner and discard share: each name with the kind and id it must give.
 */
START_TEST(test_name_parse)
{
#define ID "0123456789abcdef0123456789abcdef"
	static const struct {
		const char *name;
		sessnap__name_kind kind;
	} cases[] = {
		{ ID ".snap", SESSNAP__NAME_SNAP },
		{ ID ".snap.prev", SESSNAP__NAME_PREV },
		{ ID ".lock", SESSNAP__NAME_LOCK },
		{ "." ID ".snap.aZ09xy", SESSNAP__NAME_TEMP },
		{ "." ID ".snap.prev.ABCDEF", SESSNAP__NAME_TEMP },
		{ ID ".snap.bak", SESSNAP__NAME_OTHER },
		{ ID ".snap.prev.old", SESSNAP__NAME_OTHER },
		{ ID ".lock~", SESSNAP__NAME_OTHER },
		{ ID, SESSNAP__NAME_OTHER },
		{ "0123456789ABCDEF0123456789abcdef.snap", SESSNAP__NAME_OTHER },
		{ "0123456789abcdef0123456789abcde.snap", SESSNAP__NAME_OTHER },
		{ "x" ID ".snap", SESSNAP__NAME_OTHER },
		{ "." ID ".snap", SESSNAP__NAME_OTHER },
		{ "." ID ".snap.abcde", SESSNAP__NAME_OTHER },
		{ "." ID ".snap.abcdefg", SESSNAP__NAME_OTHER },
		{ "." ID ".snap.abc-ef", SESSNAP__NAME_OTHER },
		{ "." ID ".snap.prev.", SESSNAP__NAME_OTHER },
		{ "." ID ".lock.abcdef", SESSNAP__NAME_OTHER },
		{ ".", SESSNAP__NAME_OTHER },
		{ "..", SESSNAP__NAME_OTHER },
		{ "", SESSNAP__NAME_OTHER },
	};
	char id[SESSNAP_ID_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strlcpy(id, "unset", sizeof(id));
		ck_assert_msg(sessnap__name_parse(cases[i].name, id) ==
				  cases[i].kind,
			      "\"%s\"", cases[i].name);
		if (cases[i].kind != SESSNAP__NAME_OTHER)
			ck_assert_str_eq(id, ID);
		else
			ck_assert_str_eq(id, "unset");
	}
#undef ID
}
END_TEST


/* ---- keys and lock records ------------------------------------------- */

static sessnap_session *begin_keyed(sessnap_store *store, const void *key,
				    size_t key_len, const char *label)
{
	sessnap_session_options o = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_session *s = NULL;

	o.key = key;
	o.key_len = key_len;
	o.label = label;
	ck_assert_msg(sessnap_session_begin(&s, store, &o) == 0, "begin: %s",
		      sessnap_error_last());
	return s;
}

/*
 * A session is listed as running, with its key, label and owner, from the
 * moment begin returns: before any save, from its lock record.
 */
START_TEST(test_running_visible_from_begin)
{
	sessnap_store *store = su_store_open();
	static const unsigned char key[] = { '/', 'd', 0, 0xff };
	sessnap_session *s = begin_keyed(store, key, sizeof(key), "doc");
	sessnap_info **infos;
	sessnap_owner self;
	size_t n = 0;

	sessnap__owner_self(&self);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, sessnap_session_id(s));
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_uint_eq(infos[0]->key_len, sizeof(key));
	ck_assert_mem_eq(infos[0]->key, key, sizeof(key));
	ck_assert_str_eq(infos[0]->label, "doc");
	ck_assert_int_eq(infos[0]->owner.pid, getpid());
	ck_assert_str_eq(infos[0]->owner.host, self.host);
	ck_assert_int_gt(infos[0]->created_ms, 0);
	ck_assert_uint_eq(infos[0]->seq, 0);
	ck_assert_uint_eq(infos[0]->flags, 0);
	sessnap_info_free(infos, n);
	/* Released without a save: a free lock and no state, no session. */
	sessnap_session_release(s);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(infos);
	sessnap_store_close(store);
}
END_TEST

/* Hold `name` in tu_dir with `len` bytes of `bytes`; returns the fd. */
static int hold_lock(const char *name, const void *bytes, size_t len)
{
	char path[512];
	int fd;

	tu_write_file(tu_dir, name, bytes, len);
	tu_join(path, sizeof(path), tu_dir, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	return fd;
}

/*
 * A held lock file with no record (an older version's, empty) or a torn
 * one (a crash mid-write, a record of another id) is running without
 * details; the same files free are no session at all.
 */
START_TEST(test_lock_record_missing_or_torn)
{
	sessnap_store *store = su_store_open();
	char ids[4][SESSNAP_ID_LEN + 1], name[64], *rec;
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0, len, i;
	int fds[4];

	for (i = 0; i < 4; i++)
		su_id(ids[i], 40 + (unsigned int)i);
	/* A good record, as begin writes it, to damage. */
	su_header(&h, ids[0], NOW_MS);
	h.seq = 0;
	memcpy(h.key, "k", 2);
	h.key_len = 1;
	sessnap__checksum(h.checksum, "", 0);
	ck_assert_int_eq(sessnap__header_format(&rec, &len, &h), 0);
	snprintf(name, sizeof(name), "%s.lock", ids[0]);
	fds[0] = hold_lock(name, "", 0);
	snprintf(name, sizeof(name), "%s.lock", ids[1]);
	fds[1] = hold_lock(name, rec, len / 2);
	snprintf(name, sizeof(name), "%s.lock", ids[2]);
	fds[2] = hold_lock(name, rec, len); /* no payload line: torn */
	snprintf(name, sizeof(name), "%s.lock", ids[3]);
	fds[3] = hold_lock(name, rec, len); /* names ids[0], not ids[3] */
	ck_assert_int_eq(write(fds[3], "\n", 1), 1);

	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(infos[i]->status, SESSNAP_VERDICT_RUNNING);
		ck_assert_ptr_null(infos[i]->key);
		ck_assert_ptr_null(infos[i]->label);
		ck_assert_int_eq(infos[i]->owner.pid, 0);
	}
	sessnap_info_free(infos, n);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	infos = scan_all(store, &n);
	ck_assert_uint_eq(n, 0);
	free(rec);
	sessnap_store_close(store);
}
END_TEST

/* Keys are data: the filter compares bytes, never the label. */
START_TEST(test_scan_key_filter)
{
	sessnap_store *store = su_store_open();
	sessnap_session *s[4];
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	sessnap_info **infos = NULL;
	size_t n = 0;

	s[0] = begin_keyed(store, "ab", 2, "ab");
	s[1] = begin_keyed(store, "ab\0", 3, "x");
	s[2] = begin_keyed(store, "abc", 3, "y");
	s[3] = begin_keyed(store, NULL, 0, "ab"); /* a label, no key */
	/* A crashed session keyed "ab", written by hand. */
	su_id(id, 50);
	su_header(&h, id, NOW_MS);
	memcpy(h.key, "ab", 3);
	h.key_len = 2;
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");

	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, "ab", 2),
			 0);
	ck_assert_uint_eq(n, 2);
	/* The running one sorts by its lock file's mtime: newer. */
	ck_assert_str_eq(infos[0]->id, sessnap_session_id(s[0]));
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_str_eq(infos[1]->id, id);
	ck_assert_int_eq(infos[1]->status, SESSNAP_VERDICT_CRASHED);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store,
						SESSNAP_SCAN_RECOVERABLE, "ab",
						2),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, id);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(
	    sessnap_store_scan_key(&infos, &n, store, 0, "ab\0", 3), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, sessnap_session_id(s[1]));
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, "x", 1),
			 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(infos);

	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, NULL, 2),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, "ab", 0),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, "ab",
						SESSNAP_KEY_MAX + 1),
			 SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "SESSNAP_KEY_MAX"));
	for (n = 0; n < 4; n++)
		sessnap_session_release(s[n]);
	sessnap_store_close(store);
}
END_TEST

/*
 * The longest header (every field at its longest, a key of
 * SESSNAP_KEY_MAX bytes, over 1 KiB) is listed through the scan's
 * 1 KiB-first read, by the fast parser and by json-c, and loaded whole.
 */
START_TEST(test_longest_header_with_key)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_load_info *li = NULL;
	sessnap__header h;
	sessnap_info **infos = NULL;
	json_object *state = NULL;
	size_t n = 0;
	int plain;

	for (plain = 0; plain < 2; plain++) {
		su_id(id, 60 + (unsigned int)plain);
		su_header(&h, id, NOW_MS + plain);
		/* plain 0: nothing escaped, the fast parser decides; plain
		 * 1: escapes everywhere, json-c does. */
		memset(h.label, plain ? '"' : 'x', SESSNAP_LABEL_MAX);
		h.label[SESSNAP_LABEL_MAX] = '\0';
		memset(h.owner.boot_id, plain ? '\x01' : 'b',
		       sizeof(h.owner.boot_id) - 1);
		h.owner.boot_id[sizeof(h.owner.boot_id) - 1] = '\0';
		h.seq = INT64_MAX;
		h.adoptions = UINT32_MAX;
		memset(h.key, plain ? '\\' : '\x02', SESSNAP_KEY_MAX);
		h.key[SESSNAP_KEY_MAX] = '\0';
		h.key_len = SESSNAP_KEY_MAX;
		snprintf(name, sizeof(name), "%s.snap", id);
		su_put_snap(name, &h, "{\"a\":1}");

		ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0,
							h.key, SESSNAP_KEY_MAX),
				 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(infos[0]->id, id);
		ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
		ck_assert_str_eq(infos[0]->label, h.label);
		sessnap_info_free(infos, n);

		sessnap_load_info_free(li);
		ck_assert_int_eq(sessnap_store_load(&state, &li, store, id), 0);
		ck_assert_uint_eq(li->key_len, SESSNAP_KEY_MAX);
		ck_assert_mem_eq(li->key, h.key, SESSNAP_KEY_MAX);
		json_object_put(state);
	}
	sessnap_store_close(store);
	sessnap_load_info_free(li);
}
END_TEST

Suite *scan_suite(void);

Suite *scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_killed_child_is_crashed);
	tcase_add_test(tc, test_running_child_never_crashed);
	tcase_add_test(tc, test_clean_end_completed_or_gone);
	tcase_add_test(tc, test_live_pid_free_lock_is_crashed);
	tcase_add_test(tc, test_sorted_newest_first);
	tcase_add_test(tc, test_status_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_running_visible_from_begin);
	tcase_add_test(tc, test_lock_record_missing_or_torn);
	tcase_add_test(tc, test_scan_key_filter);
	tcase_add_test(tc, test_longest_header_with_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_fault_open);
	tcase_add_test(tc, test_fault_read_stat_dir);
	tcase_add_test(tc, test_fault_emfile);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_threads_match_one);
	tcase_add_test(tc, test_threads_fault);
	tcase_add_test(tc, test_threads_unavailable);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_empty_store);
	tcase_add_test(tc, test_newer_format);
	tcase_add_test(tc, test_foreign_host);
	tcase_add_test(tc, test_corrupt_main_good_prev);
	tcase_add_test(tc, test_from_older_generation);
	tcase_add_test(tc, test_header_id_mismatch);
	tcase_add_test(tc, test_ignores_what_is_not_a_session);
	tcase_add_test(tc, test_bad_lock_hides_nothing);
	tcase_add_test(tc, test_too_big_flagged_not_corrupt);
	tcase_add_test(tc, test_big_state_header_only);
	tcase_add_test(tc, test_long_header);
	tcase_add_test(tc, test_name_parse);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(scan_suite)
