/*
 * check_recover.c -- adopting, discarding, and the recovery prompt.
 *
 * Adoption is tested with real processes: a session left by a SIGKILLed
 * child, two children racing to adopt it (exactly one wins), and an
 * adopter killed before its first save (nothing is lost).  The prompt is
 * driven through pipes, with every answer it accepts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "scanutil.h"
#include "testutil.h"

#define NOW_MS ((int64_t)1700000000000)

static char *slurp(const char *name, size_t *len)
{
	char path[4096];

	tu_join(path, sizeof(path), tu_dir, name);
	return tu_read_file(path, len);
}

static int state_n(json_object *state)
{
	json_object *v;

	ck_assert_ptr_nonnull(state);
	ck_assert(json_object_object_get_ex(state, "n", &v));
	return json_object_get_int(v);
}

/* A crashed session left by a SIGKILLed child, with state {"n": n}. */
static void crashed_session(char id[SESSNAP_ID_LEN + 1], const char *label,
			    int n)
{
	struct su_child c;

	su_child_start(&c, SU_CHILD_WAIT, label, n);
	su_child_kill(&c);
	strlcpy(id, c.id, SESSNAP_ID_LEN + 1);
}

static void header_of(sessnap__header *h, sessnap_store *store, const char *id)
{
	char name[64], why[256];

	snprintf(name, sizeof(name), "%s.snap", id);
	ck_assert_msg(
	    TU_WHY(why, sessnap__header_read(h, NULL, store, name)) == 0,
	    "%s", why);
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(test_adopt_continues_session)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	sessnap_load_info *info = NULL;
	sessnap_session *s = NULL;
	json_object *state = NULL, *next;
	sessnap__header h;
	sessnap_info **infos;
	size_t n = 0;

	crashed_session(id, "draft", 5);
	ck_assert_int_eq(sessnap_session_adopt(&s, &state, &info, store, id),
			 0);
	ck_assert_int_eq(state_n(state), 5);
	ck_assert_str_eq(sessnap_session_id(s), id);
	ck_assert_str_eq(info->label, "draft");
	ck_assert_uint_eq(info->adoptions, 1);
	ck_assert_uint_eq(info->seq, 2);
	ck_assert_uint_eq(info->flags, 0);
	/* The adoption is on disk at once, the recovered state kept as
	 * .prev. */
	header_of(&h, store, id);
	ck_assert_uint_eq(h.seq, 2);
	ck_assert_uint_eq(h.adoptions, 1);
	ck_assert_int_eq(h.owner.pid, getpid());
	ck_assert_str_eq(h.label, "draft");
	{
		char prev[64];

		snprintf(prev, sizeof(prev), "%s.snap.prev", id);
		ck_assert(su_exists(prev));
	}
	/* Ours now: running. */
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	sessnap_info_free(infos, n);

	/* It goes on with the same id and sequence. */
	next = json_object_new_object();
	json_object_object_add(next, "n", json_object_new_int(6));
	ck_assert_int_eq(sessnap_session_update(s, next), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	json_object_put(next);
	header_of(&h, store, id);
	ck_assert_uint_eq(h.seq, 3);
	ck_assert_uint_eq(h.adoptions, 1);
	ck_assert_int_eq(h.created_ms, info->created_ms);
	json_object_put(state);

	/* Released without ending: crashed again, with its counter. */
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_CRASHED);
	ck_assert_uint_eq(infos[0]->adoptions, 1);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_adopt_race_one_wins)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	int go[2], res[2], i, status, won = 0, busy = 0;
	pid_t pids[2];

	crashed_session(id, NULL, 1);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(res), 0);
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			sessnap_store *cs;
			sessnap_session *s = NULL;
			char c, r;
			int rc;

			close(go[1]);
			close(res[0]);
			cs = su_store_open();
			if (read(go[0], &c, 1) != 0)
				_exit(9);
			rc = sessnap_session_adopt(&s, NULL, NULL, cs, id);
			r = (char)-rc;
			if (write(res[1], &r, 1) != 1)
				_exit(8);
			/* Hold the session until the parent is done. */
			for (;;)
				pause();
		}
	}
	close(go[0]);
	close(res[1]);
	/* Closing the pipe releases both children at once. */
	close(go[1]);
	for (i = 0; i < 2; i++) {
		char r;

		ck_assert_int_eq(read(res[0], &r, 1), 1);
		if (r == 0)
			won++;
		else if (r == -SESSNAP_EBUSY)
			busy++;
	}
	close(res[0]);
	for (i = 0; i < 2; i++) {
		kill(pids[i], SIGKILL);
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
	}
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(busy, 1);
	sessnap_store_close(store);
}
END_TEST

/*
 * The adopter dies before its first save: adopting again gives the same
 * state, and the counter shows it crashed after being restored.
 */
START_TEST(test_crash_during_recovery_loses_nothing)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	sessnap_load_info *info = NULL;
	sessnap_session *s = NULL;
	json_object *state = NULL;
	struct su_child c;
	pid_t pid;
	int status;

	crashed_session(id, "work", 42);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sessnap_store *cs = su_store_open();

		if (sessnap_session_adopt(&s, NULL, NULL, cs, id) < 0)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));

	ck_assert_int_eq(sessnap_session_adopt(&s, &state, &info, store, id),
			 0);
	ck_assert_int_eq(state_n(state), 42);
	ck_assert_uint_eq(info->adoptions, 2);
	json_object_put(state);
	sessnap_session_release(s);

	/* A child that adopts, saves once and is killed: its state is it. */
	memcpy(c.id, id, sizeof(c.id));
	su_child_start(&c, SU_CHILD_ADOPT_WAIT, NULL, 43);
	su_child_kill(&c);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&state, &info, store, id), 0);
	ck_assert_int_eq(state_n(state), 43);
	ck_assert_uint_eq(info->adoptions, 3);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_peek_does_not_adopt)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	sessnap_load_info *info = NULL;
	json_object *state = NULL;
	sessnap__header h;

	crashed_session(id, NULL, 3);
	ck_assert_int_eq(sessnap_store_load(&state, &info, store, id), 0);
	ck_assert_int_eq(state_n(state), 3);
	json_object_put(state);
	header_of(&h, store, id);
	ck_assert_uint_eq(h.seq, 1);
	ck_assert_uint_eq(h.adoptions, 0);
	ck_assert_int_eq(sessnap__lock_probe(store, id), 0);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_discard_removes_everything)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[96];
	sessnap__header h;

	su_id(id, 1);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{}");
	/* Every older generation goes with it (a store that keeps them). */
	snprintf(name, sizeof(name), "%s.snap.2", id);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), "%s.snap.%d", id, SESSNAP_GENERATIONS_MAX);
	su_put_snap(name, &h, "{}");
	snprintf(name, sizeof(name), ".%s.snap.Qw12Er", id);
	tu_write_file(tu_dir, name, "x", 1);
	snprintf(name, sizeof(name), ".%s.snap.prev.Ty34Ui", id);
	tu_write_file(tu_dir, name, "x", 1);
	snprintf(name, sizeof(name), "%s.lock", id);
	tu_write_file(tu_dir, name, "", 0);
	tu_write_file(tu_dir, "other.txt", "y", 1);
	ck_assert_int_eq(sessnap_store_discard(store, id), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 1);
	ck_assert_int_eq(sessnap_store_discard(store, id), SESSNAP_ENOTFOUND);
	sessnap_store_close(store);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_discard_refuses_running)
{
	sessnap_store *store = su_store_open();
	struct su_child c;
	char name[64];

	su_child_start(&c, SU_CHILD_WAIT, NULL, 1);
	ck_assert_int_eq(sessnap_store_discard(store, c.id), SESSNAP_EBUSY);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), c.id));
	snprintf(name, sizeof(name), "%s.snap", c.id);
	ck_assert(su_exists(name));
	snprintf(name, sizeof(name), "%s.lock", c.id);
	ck_assert(su_exists(name));
	su_child_kill(&c);
	ck_assert_int_eq(sessnap_store_discard(store, c.id), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_adopt_refusals)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_session *s = (sessnap_session *)1;
	json_object *state = (json_object *)1;
	sessnap__header h;
	char *before, *after;
	size_t blen, alen;

	/* Foreign host. */
	su_id(id, 2);
	su_header(&h, id, NOW_MS);
	strlcpy(h.owner.host, "far.example", sizeof(h.owner.host));
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{\"n\":1}");
	before = slurp(name, &blen);
	ck_assert_int_eq(sessnap_session_adopt(&s, &state, NULL, store, id),
			 SESSNAP_EFOREIGN);
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(state);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "far.example"));
	ck_assert_int_eq(sessnap__lock_probe(store, id), 0);
	after = slurp(name, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	free(before);
	free(after);

	/* Newer format. */
	su_id(id, 3);
	su_header(&h, id, NOW_MS);
	h.format_version = SESSNAP_FORMAT_VERSION + 1;
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_ENEWER);

	/* A header naming another session: corrupt, as the scanner says,
	 * and the file is left exactly as it was. */
	{
		char other[SESSNAP_ID_LEN + 1];

		su_id(id, 5);
		su_id(other, 6);
		su_header(&h, other, NOW_MS);
		snprintf(name, sizeof(name), "%s.snap", id);
		su_put_snap(name, &h, "{\"n\":1}");
		before = slurp(name, &blen);
		ck_assert_int_eq(
		    sessnap_session_adopt(&s, &state, NULL, store, id),
		    SESSNAP_ECORRUPT);
		ck_assert_ptr_null(s);
		ck_assert_ptr_nonnull(
		    strstr(sessnap_error_last(), "header names session"));
		after = slurp(name, &alen);
		ck_assert_uint_eq(alen, blen);
		ck_assert_mem_eq(after, before, blen);
		free(before);
		free(after);
		snprintf(name, sizeof(name), "%s.snap.prev", id);
		ck_assert(!su_exists(name));
	}

	/* A lock file that is a FIFO: refused, left as it is. */
	{
		char path[4096];
		struct stat st;

		su_id(id, 7);
		su_header(&h, id, NOW_MS);
		snprintf(name, sizeof(name), "%s.snap", id);
		su_put_snap(name, &h, "{\"n\":1}");
		snprintf(name, sizeof(name), "%s.lock", id);
		tu_join(path, sizeof(path), tu_dir, name);
		ck_assert_int_eq(mkfifo(path, 0600), 0);
		ck_assert_int_eq(
		    sessnap_session_adopt(&s, NULL, NULL, store, id),
		    SESSNAP_EUNSAFE);
		ck_assert_int_eq(sessnap_store_discard(store, id),
				 SESSNAP_EUNSAFE);
		ck_assert_ptr_nonnull(
		    strstr(sessnap_error_last(), "not a regular file"));
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISFIFO(st.st_mode));
		snprintf(name, sizeof(name), "%s.snap", id);
		ck_assert(su_exists(name));
	}

	/* No such session: no stray lock file either. */
	su_id(id, 4);
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_ENOTFOUND);
	snprintf(name, sizeof(name), "%s.lock", id);
	ck_assert(!su_exists(name));
	ck_assert_int_eq(sessnap_store_discard(store, id), SESSNAP_ENOTFOUND);
	ck_assert(!su_exists(name));

	/* Bad arguments. */
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, "zz"),
			 SESSNAP_EBADNAME);
	ck_assert_int_eq(sessnap_session_adopt(NULL, NULL, NULL, store, id),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_discard(store, "../x"),
			 SESSNAP_EBADNAME);
	ck_assert_int_eq(sessnap_store_discard(NULL, id), SESSNAP_EINVAL);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_adopt_running_busy)
{
	sessnap_store *store = su_store_open();
	sessnap_session *s = NULL;
	struct su_child c;

	su_child_start(&c, SU_CHILD_WAIT, NULL, 1);
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, c.id),
			 SESSNAP_EBUSY);
	ck_assert_ptr_null(s);
	su_child_kill(&c);
	sessnap_store_close(store);
}
END_TEST

/*
 * The store gate: while a cleaner holds it exclusively, an adopter waits;
 * a gate held for longer than SESSNAP__GATE_WAIT_MS gives SESSNAP_EBUSY
 * with nothing changed on disk and no lock file created.
 */
static void *release_gate(void *arg)
{
	struct timespec t = { 0, 100 * 1000000 };

	nanosleep(&t, NULL);
	flock(*(int *)arg, LOCK_UN);
	return NULL;
}

START_TEST(test_adopt_waits_for_gate)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64], lock[64];
	sessnap_session *s = NULL;
	json_object *state = NULL;
	sessnap__header h;
	struct stat st;
	char *before, *after;
	size_t blen, alen;
	pthread_t th;
	int gate;

	su_id(id, 6);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	snprintf(lock, sizeof(lock), "%s.lock", id);
	su_put_snap(name, &h, "{\"n\":4}");
	before = slurp(name, &blen);
	gate = open(tu_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(gate, 0);

	/* A stuck cleaner: busy, nothing touched. */
	ck_assert_int_eq(flock(gate, LOCK_EX), 0);
	ck_assert_int_eq(sessnap_session_adopt(&s, &state, NULL, store, id),
			 SESSNAP_EBUSY);
	ck_assert_msg(strstr(sessnap_error_last(), "store ") != NULL &&
			  strstr(sessnap_error_last(), tu_dir) != NULL,
		      "%s", sessnap_error_last());
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(state);
	after = slurp(name, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	free(after);
	ck_assert_int_ne(fstatat(store->dfd, lock, &st, AT_SYMLINK_NOFOLLOW),
			 0);

	/* A cleaner that finishes after 100 ms: the adopter waits and wins. */
	ck_assert_int_eq(pthread_create(&th, NULL, release_gate, &gate), 0);
	ck_assert_msg(sessnap_session_adopt(&s, &state, NULL, store, id) == 0,
		      "%s", sessnap_error_last());
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(state_n(state), 4);
	json_object_put(state);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	close(gate);
	free(before);
	sessnap_store_close(store);
}
END_TEST

/*
 * Fail each system call of an adoption in turn, once and persistently:
 * each failure is reported, the snapshot is unchanged or fully adopted
 * (never damaged), no temp file remains, the lock is free again, no
 * descriptor leaks.
 */
static void adopt_fault_loop(unsigned int flags)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_session *s;
	json_object *state;
	sessnap__header h;
	char *before;
	size_t blen;
	unsigned long nth;
	int fds, rc;

	su_id(id, 5);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{\"n\":9}");
	before = slurp(name, &blen);
	fds = tu_count_fds();
	for (nth = 1; nth < 200; nth++) {
		char prev[64];

		/* Each round starts from the crashed session alone. */
		snprintf(prev, sizeof(prev), "%s.snap.prev", id);
		if (su_exists(prev))
			ck_assert_int_eq(unlinkat(store->dfd, prev, 0), 0);
		s = NULL;
		state = NULL;
		/*
		 * Persistent unlink faults would also fail the cleanup.  No
		 * fsync faults: a failed directory fsync after the commit is
		 * "adopted, durability unknown", a success.
		 */
		sessnap__fault_arm(SESSNAP__SYS_ALL & ~SESSNAP__SYS_CLOSE &
				       ~SESSNAP__SYS_FSYNC &
				       ~((flags & SESSNAP__FAULT_PERSISTENT) ?
					     SESSNAP__SYS_UNLINK :
					     0u),
				   nth, EIO, flags);
		rc = sessnap_session_adopt(&s, &state, NULL, store, id);
		sessnap__fault_disarm();
		if (rc == 0) {
			/*
			 * Success, possibly despite a fault in a step whose
			 * failure does not matter (removing a leftover link):
			 * the adoption is whole.  Put the original back for
			 * the next call.
			 */
			ck_assert_int_eq(state_n(state), 9);
			json_object_put(state);
			header_of(&h, store, id);
			ck_assert_uint_eq(h.adoptions, 1);
			sessnap_session_release(s);
			if (sessnap__fault_fired() == 0)
				break;
			tu_write_file(tu_dir, name, before, blen);
			continue;
		}
		ck_assert(sessnap__fault_fired() > 0);
		ck_assert_ptr_null(s);
		ck_assert_ptr_null(state);
		ck_assert_int_gt(strlen(sessnap_error_last()), 0);
		ck_assert_int_eq(tu_count_fds(), fds);
		ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
		ck_assert_int_eq(sessnap__lock_probe(store, id), 0);
		{
			size_t alen;
			char *after = slurp(name, &alen);

			ck_assert_ptr_nonnull(after);
			ck_assert_uint_eq(alen, blen);
			ck_assert_mem_eq(after, before, blen);
			free(after);
		}
	}
	ck_assert_uint_gt(nth, 3);
	ck_assert_uint_lt(nth, 200);
	ck_assert_int_eq(tu_count_fds(), fds);
	free(before);
	sessnap_store_close(store);
}

START_TEST(test_adopt_faults_once)
{
	adopt_fault_loop(0);
}
END_TEST

START_TEST(test_adopt_faults_persistent)
{
	adopt_fault_loop(SESSNAP__FAULT_PERSISTENT);
}
END_TEST

START_TEST(test_discard_faults)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	unsigned long nth;
	int fds, rc;

	su_id(id, 6);
	su_header(&h, id, NOW_MS);
	fds = tu_count_fds();
	for (nth = 1; nth < 100; nth++) {
		/* A failed discard may have removed part: start whole. */
		snprintf(name, sizeof(name), "%s.snap", id);
		su_put_snap(name, &h, "{}");
		snprintf(name, sizeof(name), "%s.snap.prev", id);
		su_put_snap(name, &h, "{}");
		snprintf(name, sizeof(name), ".%s.snap.Zz99Zz", id);
		tu_write_file(tu_dir, name, "x", 1);
		/*
		 * Not STAT: a failed existence check counts as "present"
		 * and the discard goes on, rightly.
		 */
		sessnap__fault_arm(SESSNAP__SYS_ALL & ~SESSNAP__SYS_CLOSE &
				       ~SESSNAP__SYS_STAT,
				   nth, EACCES, 0);
		rc = sessnap_store_discard(store, id);
		sessnap__fault_disarm();
		ck_assert_int_eq(tu_count_fds(), fds);
		if (sessnap__fault_fired() == 0) {
			ck_assert_int_eq(rc, 0);
			break;
		}
		ck_assert_msg(rc == SESSNAP_EPERM, "call %lu: %d", nth, rc);
		ck_assert_ptr_nonnull(strstr(sessnap_error_last(), tu_dir));
		ck_assert_int_eq(sessnap__lock_probe(store, id), 0);
		/* Whatever is left, the newest generation goes last. */
		snprintf(name, sizeof(name), "%s.snap.prev", id);
		if (su_exists(name)) {
			snprintf(name, sizeof(name), "%s.snap", id);
			ck_assert(su_exists(name));
		}
	}
	ck_assert_uint_lt(nth, 100);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- the prompt -----------------------------------------------------------
 */

struct prompt_run {
	sessnap_prompt_answer answer;
	char id[SESSNAP_ID_LEN + 1];
	char out[8192];
	int rc;
};

/*
 * Run the prompt with `input` as the user's keystrokes, written into a
 * pipe that is then closed: after the input comes EOF.
 */
static void prompt_key(struct prompt_run *r, sessnap_store *store,
		       const char *input, const char *key);

static void prompt(struct prompt_run *r, sessnap_store *store,
		   const char *input, int assume_tty)
{
	if (assume_tty)
		prompt_key(r, store, input, NULL);
	else
		prompt_key(r, store, input, "");
}

/* As prompt(), with a key filter (NULL: none, assume_tty; "": none, no
 * terminal assumed). */
static void prompt_key(struct prompt_run *r, sessnap_store *store,
		       const char *input, const char *key)
{
	sessnap_prompt_options o = SESSNAP_PROMPT_OPTIONS_INIT;
	int assume_tty = key == NULL || key[0] != '\0';
	size_t len = strlen(input), olen = 0;
	char *obuf = NULL;
	int p[2];

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], input, len), (ssize_t)len);
	close(p[1]);
	o.in = fdopen(p[0], "r");
	o.out = open_memstream(&obuf, &olen);
	ck_assert_ptr_nonnull(o.in);
	ck_assert_ptr_nonnull(o.out);
	o.app_name = "editor";
	o.assume_tty = assume_tty;
	if (key != NULL && key[0] != '\0') {
		o.key = key;
		o.key_len = strlen(key);
	}
	r->rc = sessnap_prompt_run(r->id, &r->answer, store, &o);
	fclose(o.in);
	fclose(o.out);
	strlcpy(r->out, obuf, sizeof(r->out));
	free(obuf);
}

/* Two crashed sessions: "older" then "newer" (by save time). */
static void two_crashed(sessnap_store *store, char older[SESSNAP_ID_LEN + 1],
			char newer[SESSNAP_ID_LEN + 1])
{
	int64_t now = sessnap__now_ms();
	sessnap__header h;
	char name[64];

	(void)store;
	su_id(older, 100);
	su_header(&h, older, now - 2 * 3600 * 1000);
	strlcpy(h.label, "old notes", sizeof(h.label));
	h.seq = 12;
	snprintf(name, sizeof(name), "%s.snap", older);
	su_put_snap(name, &h, "{\"n\":1}");
	su_id(newer, 101);
	su_header(&h, newer, now - 5 * 60 * 1000 - 500);
	strlcpy(h.label, "new notes", sizeof(h.label));
	h.seq = 3;
	snprintf(name, sizeof(name), "%s.snap", newer);
	su_put_snap(name, &h, "{\"n\":2}");
}

/*
 * With a key, the prompt offers only that document's crashed sessions,
 * and "discard" removes only those; a label equal to the key is not a
 * match.  Options of version 1 (no key) still offer every session.
 */
START_TEST(test_prompt_key_filter)
{
	struct {
		unsigned int version;
		FILE *in, *out;
		const char *app_name;
		int assume_tty;
	} v1 = { 1, NULL, NULL, "editor", 0 };
	sessnap_store *store = su_store_open();
	char a[SESSNAP_ID_LEN + 1], b[SESSNAP_ID_LEN + 1], name[64];
	char id[SESSNAP_ID_LEN + 1];
	int64_t now = sessnap__now_ms();
	sessnap_prompt_answer ans;
	sessnap__header h;
	struct prompt_run r;

	su_id(a, 110);
	su_header(&h, a, now - 60000);
	strlcpy(h.label, "a.txt", sizeof(h.label));
	memcpy(h.key, "/d/a.txt", 9);
	h.key_len = 8;
	snprintf(name, sizeof(name), "%s.snap", a);
	su_put_snap(name, &h, "{\"n\":1}");
	su_id(b, 111);
	su_header(&h, b, now - 30000);
	strlcpy(h.label, "/d/a.txt", sizeof(h.label));
	memcpy(h.key, "/d/b.txt", 9);
	h.key_len = 8;
	snprintf(name, sizeof(name), "%s.snap", b);
	su_put_snap(name, &h, "{\"n\":2}");

	prompt_key(&r, store, "y\n", "/d/a.txt");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, a);
	ck_assert_ptr_nonnull(strstr(r.out, "1 session did not end cleanly"));
	ck_assert_ptr_null(strstr(r.out, "/d/a.txt"));
	prompt_key(&r, store, "y\n", "/d/c.txt");
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_NOTHING);
	prompt_key(&r, store, "discard\nyes\n", "/d/b.txt");
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DISCARDED);
	ck_assert(su_exists(name) == false);
	snprintf(name, sizeof(name), "%s.snap", a);
	ck_assert(su_exists(name));
	/* A version 1 caller: every crashed session, no terminal: kept. */
	v1.in = fopen("/dev/null", "r");
	v1.out = fopen("/dev/null", "w");
	ck_assert_ptr_nonnull(v1.in);
	ck_assert_ptr_nonnull(v1.out);
	ck_assert_int_eq(
	    sessnap_prompt_run(id, &ans, store,
			       (const sessnap_prompt_options *)&v1),
	    0);
	fclose(v1.in);
	fclose(v1.out);
	ck_assert_int_eq(ans, SESSNAP_PROMPT_DEFAULT);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_yes_restores_newest)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	struct prompt_run r;

	two_crashed(store, older, newer);
	prompt(&r, store, ("y\n"), 1);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, newer);
	ck_assert_ptr_nonnull(
	    strstr(r.out, "editor: 2 sessions did not end cleanly"));
	ck_assert_ptr_nonnull(strstr(r.out, "new notes"));
	ck_assert_ptr_nonnull(strstr(r.out, "5 minutes ago"));
	ck_assert_ptr_nonnull(strstr(r.out, "2 hours ago"));
	ck_assert_ptr_nonnull(strstr(r.out, "12 updates"));
	ck_assert_ptr_nonnull(strstr(r.out, "[Y/n/list/discard]"));
	/* The newest is listed first. */
	ck_assert(strstr(r.out, "new notes") < strstr(r.out, "old notes"));

	/* Enter alone means yes. */
	prompt(&r, store, ("\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, newer);
	/* The prompt itself keeps everything: the app adopts. */
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 2);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_not_now)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	struct prompt_run r;

	two_crashed(store, older, newer);
	prompt(&r, store, ("n\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_LATER);
	ck_assert_str_eq(r.id, "");
	ck_assert_ptr_nonnull(strstr(r.out, "asked again"));
	prompt(&r, store, ("Not Now\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_LATER);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 2);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_list_then_pick)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	struct prompt_run r;

	two_crashed(store, older, newer);
	prompt(&r, store, ("list\n2\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, older);
	ck_assert_ptr_nonnull(strstr(r.out, older));
	ck_assert_ptr_nonnull(strstr(r.out, "Restore which one? [1-2/n"));
	/* Once the list is shown, an empty line picks nothing. */
	prompt(&r, store, ("list\n\nn\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_LATER);
	ck_assert_str_eq(r.id, "");
	/* A number out of range is asked again; junk too. */
	prompt(&r, store, ("7\nwhat\n1\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, newer);
	ck_assert_ptr_nonnull(strstr(r.out, "Please answer"));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_discard_all)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	struct prompt_run r;

	two_crashed(store, older, newer);
	/* Not confirmed, then EOF: the safe default. */
	prompt(&r, store, ("discard\nn\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DEFAULT);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 2);
	prompt(&r, store, ("discard\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DEFAULT);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 2);
	prompt(&r, store, ("d\nyes\n"), 1);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DISCARDED);
	ck_assert_ptr_nonnull(strstr(r.out, "Discarded 2 sessions"));
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	prompt(&r, store, ("y\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_NOTHING);
	ck_assert_str_eq(r.out, "");
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_eof_and_no_terminal)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	struct prompt_run r;

	two_crashed(store, older, newer);
	prompt(&r, store, (""), 1);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DEFAULT);
	ck_assert_ptr_nonnull(strstr(r.out, "nothing restored"));
	ck_assert_ptr_nonnull(strstr(r.out, "kept"));
	/* Not a terminal: nothing is read, even a "discard". */
	prompt(&r, store, ("d\ny\n"), 0);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_DEFAULT);
	ck_assert_ptr_nonnull(strstr(r.out, "No terminal"));
	ck_assert_ptr_null(strstr(r.out, "[Y/n"));
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 2);
	sessnap_store_close(store);
}
END_TEST

/* Answers through a real pipe, as from another process. */
START_TEST(test_prompt_through_pipe)
{
	sessnap_prompt_options o = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1];
	char id[SESSNAP_ID_LEN + 1], buf[4096];
	sessnap_prompt_answer answer;
	int in[2], out[2];
	ssize_t got;

	two_crashed(store, older, newer);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(write(in[1], "l\n2\n", 4), 4);
	close(in[1]);
	o.in = fdopen(in[0], "r");
	o.out = fdopen(out[1], "w");
	o.assume_tty = 1;
	ck_assert_int_eq(sessnap_prompt_run(id, &answer, store, &o), 0);
	fclose(o.in);
	fclose(o.out);
	ck_assert_int_eq(answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(id, older);
	got = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	ck_assert_int_gt(got, 0);
	buf[got] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "t: 2 sessions"));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_warns_after_adoption)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	sessnap_session *s = NULL;
	struct prompt_run r;

	crashed_session(id, "fragile", 1);
	prompt(&r, store, ("n\n"), 1);
	ck_assert_ptr_null(strstr(r.out, "crashed again"));
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id), 0);
	/* While we hold it, nothing to ask: never a live session. */
	prompt(&r, store, ("y\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_NOTHING);
	sessnap_session_release(s);
	prompt(&r, store, ("y\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_RESTORE);
	ck_assert_str_eq(r.id, id);
	ck_assert_ptr_nonnull(
	    strstr(r.out, "crashed again after it was restored"));
	ck_assert_ptr_nonnull(strstr(r.out, "1 session did not end cleanly"));
	ck_assert_ptr_nonnull(strstr(r.out, "Restore it?"));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_hides_running_and_others)
{
	sessnap_store *store = su_store_open();
	char older[SESSNAP_ID_LEN + 1], newer[SESSNAP_ID_LEN + 1], name[64];
	sessnap__header h;
	struct su_child c;
	struct prompt_run r;

	su_child_start(&c, SU_CHILD_WAIT, "alive", 1);
	two_crashed(store, older, newer);
	su_id(older, 200);
	su_header(&h, older, NOW_MS);
	strlcpy(h.owner.host, "far.example", sizeof(h.owner.host));
	strlcpy(h.label, "remote", sizeof(h.label));
	snprintf(name, sizeof(name), "%s.snap", older);
	su_put_snap(name, &h, "{}");
	prompt(&r, store, ("list\nn\n"), 1);
	ck_assert_int_eq(r.answer, SESSNAP_PROMPT_LATER);
	ck_assert_ptr_null(strstr(r.out, "alive"));
	ck_assert_ptr_null(strstr(r.out, "remote"));
	ck_assert_ptr_nonnull(strstr(r.out, "2 sessions"));
	su_child_kill(&c);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_prompt_bad_arguments)
{
	sessnap_prompt_options o = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_store *store = su_store_open();
	sessnap_prompt_answer a;
	char id[SESSNAP_ID_LEN + 1];

	ck_assert_int_eq(sessnap_prompt_run(NULL, &a, store, NULL),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_prompt_run(id, NULL, store, NULL),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_prompt_run(id, &a, NULL, NULL),
			 SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "sessnap_prompt_run"));
	o.version = 99;
	ck_assert_int_eq(sessnap_prompt_run(id, &a, store, &o), SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "version 99"));
	/* A failing scan fails the prompt, which asks nothing. */
	o.version = SESSNAP_PROMPT_OPTIONS_VERSION;
	sessnap__fault_arm(SESSNAP__SYS_READDIR, 1, EIO, 0);
	ck_assert_int_eq(sessnap_prompt_run(id, &a, store, &o), SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert_int_eq(a, SESSNAP_PROMPT_NOTHING);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_age_format)
{
	char b[64];
	const int64_t t = NOW_MS;

	sessnap__age_format(b, sizeof(b), t, t - 3000);
	ck_assert_str_eq(b, "just now");
	sessnap__age_format(b, sizeof(b), t, t + 60000);
	ck_assert_str_eq(b, "just now");
	sessnap__age_format(b, sizeof(b), t, t - 42000);
	ck_assert_str_eq(b, "42 seconds ago");
	sessnap__age_format(b, sizeof(b), t, t - 60000);
	ck_assert_str_eq(b, "1 minute ago");
	sessnap__age_format(b, sizeof(b), t, t - 5 * 60000 - 59000);
	ck_assert_str_eq(b, "5 minutes ago");
	sessnap__age_format(b, sizeof(b), t, t - 3 * 3600000);
	ck_assert_str_eq(b, "3 hours ago");
	sessnap__age_format(b, sizeof(b), t, t - 86400000);
	ck_assert_str_eq(b, "1 day ago");
	sessnap__age_format(b, sizeof(b), t, t - 15 * 86400000LL);
	ck_assert_str_eq(b, "2 weeks ago");
	sessnap__age_format(b, sizeof(b), t, 0);
	ck_assert_str_eq(b, "at an unknown time");
}
END_TEST

/* ---- edge ---------------------------------------------------------------- */

static int migrate_add(json_object **state, unsigned int from, unsigned int to,
		       void *payload)
{
	(void)payload;
	json_object_object_add(*state, "migrated",
			       json_object_new_int((int)(from * 10 + to)));
	return 0;
}

static int refuse_empty(const json_object *state, unsigned int schema,
			void *payload)
{
	json_object *n;

	(void)schema;
	(void)payload;
	return json_object_object_get_ex(state, "n", &n) &&
		       json_object_get_int(n) > 0 ?
		   0 :
		   -1;
}

/*
 * Adopting a session whose two newest states the validation refuses (an
 * empty state saved twice): the state of <id>.snap.2 is recovered, and the
 * adoption's seq is above every generation's, so that the refused states,
 * still on disk, never pass for newer than the adopter's saves.
 */
START_TEST(test_adopt_from_older_generation)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_generation *g = NULL;
	sessnap_load_info *info = NULL;
	json_object *st, *got = NULL, *n;
	char id[SESSNAP_ID_LEN + 1];
	size_t count = 0, i;
	int k;

	opts.dir = tu_dir;
	opts.app = "recovertest";
	opts.generations = 3;
	opts.validate = refuse_empty;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	for (k = 0; k < 5; k++) {
		st = json_object_new_object();
		json_object_object_add(st, "n",
				       json_object_new_int(k < 3 ? k + 1 : 0));
		json_object_object_add(st, "k", json_object_new_int(k));
		ck_assert_int_eq(sessnap_session_update(s, st), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(st);
	}
	sessnap_session_release(s);
	s = NULL;
	ck_assert_int_eq(sessnap_session_adopt(&s, &got, &info, store, id), 0);
	ck_assert(json_object_object_get_ex(got, "n", &n));
	ck_assert_int_eq(json_object_get_int(n), 3);
	ck_assert_uint_eq(info->flags & SESSNAP_LOAD_FROM_OLDER,
			  SESSNAP_LOAD_FROM_OLDER);
	ck_assert_uint_eq(info->seq, 6);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_generations(&g, &count, store, id), 0);
	ck_assert_uint_eq(g[0].generation, 0);
	ck_assert_uint_eq(g[0].seq, 6);
	for (i = 1; i < count; i++)
		ck_assert_uint_lt(g[i].seq, 6);
	sessnap_generations_free(g);
	sessnap_session_release(s);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_adopt_from_prev_and_migrate)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_load_info *info = NULL;
	json_object *state = NULL;
	sessnap__header h;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD;
	o.schema_version = 2;
	o.migrate = migrate_add;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	su_id(id, 7);
	su_header(&h, id, NOW_MS);
	h.schema_version = 1;
	h.seq = 9;
	snprintf(name, sizeof(name), "%s.snap.prev", id);
	su_put_snap(name, &h, "{\"n\":8}");
	snprintf(name, sizeof(name), "%s.snap", id);
	tu_write_file(tu_dir, name, "", 0);
	ck_assert_int_eq(sessnap_session_adopt(&s, &state, &info, store, id),
			 0);
	ck_assert_int_eq(state_n(state), 8);
	ck_assert_uint_eq(info->flags & SESSNAP_LOAD_FROM_PREV,
			  SESSNAP_LOAD_FROM_PREV);
	ck_assert_uint_eq(info->flags & SESSNAP_LOAD_MIGRATED,
			  SESSNAP_LOAD_MIGRATED);
	ck_assert_uint_eq(info->seq, 10);
	{
		json_object *v;

		ck_assert(json_object_object_get_ex(state, "migrated", &v));
		ck_assert_int_eq(json_object_get_int(v), 12);
	}
	json_object_put(state);
	/* The main file is whole again, still the old schema's bytes. */
	header_of(&h, store, id);
	ck_assert_uint_eq(h.seq, 10);
	ck_assert_uint_eq(h.schema_version, 1);
	sessnap_session_release(s);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

/* A session that ended cleanly and was kept may be reopened. */
START_TEST(test_adopt_completed_resets_counter)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_session *s = NULL;
	sessnap_load_info *info = NULL;
	sessnap__header h;

	su_id(id, 8);
	su_header(&h, id, NOW_MS);
	h.completed = true;
	h.adoptions = 4;
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, &info, store, id), 0);
	ck_assert_uint_eq(info->adoptions, 0);
	header_of(&h, store, id);
	ck_assert(!h.completed);
	ck_assert_uint_eq(h.adoptions, 0);
	sessnap_session_release(s);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_adopt_readonly_store)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	char id[SESSNAP_ID_LEN + 1], name[64];
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap__header h;

	su_id(id, 9);
	su_header(&h, id, NOW_MS);
	snprintf(name, sizeof(name), "%s.snap", id);
	su_put_snap(name, &h, "{}");
	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_READONLY;
	ck_assert_int_eq(sessnap_store_open(&store, &o), 0);
	ck_assert_int_eq(sessnap_session_adopt(&s, NULL, NULL, store, id),
			 SESSNAP_ESTATE);
	/* Maintenance is allowed: discarding works. */
	ck_assert_int_eq(sessnap_store_discard(store, id), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

Suite *recover_suite(void);

Suite *recover_suite(void)
{
	Suite *s = suite_create("recover");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_adopt_continues_session);
	tcase_add_test(tc, test_adopt_race_one_wins);
	tcase_add_test(tc, test_crash_during_recovery_loses_nothing);
	tcase_add_test(tc, test_peek_does_not_adopt);
	tcase_add_test(tc, test_discard_removes_everything);
	tcase_add_test(tc, test_prompt_yes_restores_newest);
	tcase_add_test(tc, test_prompt_not_now);
	tcase_add_test(tc, test_prompt_list_then_pick);
	tcase_add_test(tc, test_prompt_discard_all);
	tcase_add_test(tc, test_prompt_eof_and_no_terminal);
	tcase_add_test(tc, test_prompt_through_pipe);
	tcase_add_test(tc, test_prompt_warns_after_adoption);
	tcase_add_test(tc, test_prompt_hides_running_and_others);
	tcase_add_test(tc, test_prompt_key_filter);
	tcase_add_test(tc, test_age_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_discard_refuses_running);
	tcase_add_test(tc, test_adopt_refusals);
	tcase_add_test(tc, test_adopt_running_busy);
	tcase_add_test(tc, test_adopt_waits_for_gate);
	tcase_add_test(tc, test_adopt_faults_once);
	tcase_add_test(tc, test_adopt_faults_persistent);
	tcase_add_test(tc, test_discard_faults);
	tcase_add_test(tc, test_prompt_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_adopt_from_prev_and_migrate);
	tcase_add_test(tc, test_adopt_from_older_generation);
	tcase_add_test(tc, test_adopt_completed_resets_counter);
	tcase_add_test(tc, test_adopt_readonly_store);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(recover_suite)
