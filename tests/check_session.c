/*
 * check_session.c - one run of a program: begin, update, save, end
 *
 * A session holds <id>.lock from begin to end (that is how the scanner
 * tells it is alive), writes <id>.snap at each save with a growing
 * sequence number, skips a save whose state did not change, keeps the
 * newest state pending when a save fails, and on a clean end removes its
 * files or keeps one completed snapshot.  These tests prove each of those
 * through the public calls, look at the files directly, and use forked
 * children where another process's point of view matters (lock probes,
 * the fork rule).  Round trips go from the empty object to 16 MiB.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

static sessnap_store *open_store_ex(size_t read_bound, unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "sesstest";
	opts.read_bound = read_bound;
	opts.flags = flags;
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static sessnap_store *open_store(void)
{
	return open_store_ex(0, 0);
}

static sessnap_session *begin(sessnap_store *store)
{
	sessnap_session *s = NULL;
	int rc = sessnap_session_begin(&s, store, NULL);

	ck_assert_msg(rc == 0, "begin: %s", sessnap_error_last());
	ck_assert_ptr_nonnull(s);
	return s;
}

static void session_file(char *out, size_t len, const sessnap_session *s,
			 const char *suffix)
{
	char name[SESSNAP__NAME_MAX + 8];

	snprintf(name, sizeof(name), "%s%s", sessnap_session_id(s), suffix);
	tu_join(out, len, tu_dir, name);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void update_save(sessnap_session *s, const json_object *state)
{
	int rc;

	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	rc = sessnap_session_flush(s);
	ck_assert_msg(rc == 0, "save: %s", sessnap_error_last());
}

/* Load `id` and check that it equals `want`; return the load info (free
 * it with sessnap_load_info_free()). */
static sessnap_load_info *load_equal(sessnap_store *store, const char *id,
				     const json_object *want)
{
	sessnap_load_info *info = NULL;
	json_object *got = NULL;
	int rc;

	rc = sessnap_store_load(&got, &info, store, id);
	ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
	ck_assert_msg(json_object_equal(got, (json_object *)want),
		      "loaded state differs");
	json_object_put(got);
	return info;
}

/* load_equal(), for the check alone. */
static void loads_equal(sessnap_store *store, const char *id,
			const json_object *want)
{
	sessnap_load_info_free(load_equal(store, id, want));
}

/* load_equal(), for its seq alone. */
static uint64_t load_equal_seq(sessnap_store *store, const char *id,
			       const json_object *want)
{
	sessnap_load_info *info = load_equal(store, id, want);
	uint64_t seq = info->seq;

	sessnap_load_info_free(info);
	return seq;
}

/* Run fn in a forked child; return its exit status. */
static int in_child(int (*fn)(sessnap_store *, sessnap_session *),
		    sessnap_store *store, sessnap_session *s)
{
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(store, s));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int child_probe(sessnap_store *store, sessnap_session *s)
{
	return sessnap__lock_probe(store, sessnap_session_id(s));
}

static int child_take(sessnap_store *store, sessnap_session *s)
{
	int fd = -1;

	return sessnap__lock_take(&fd, store, sessnap_session_id(s)) ==
		       SESSNAP_EBUSY ?
		   0 :
		   1;
}

static json_object *sample_state(int n)
{
	json_object *o = json_object_new_object();
	json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_string("buffer one"));
	json_object_array_add(a, json_object_new_string("caf\xc3\xa9 \"q\"\n"));
	json_object_object_add(o, "buffers", a);
	json_object_object_add(o, "n", json_object_new_int(n));
	json_object_object_add(o, "pi", json_object_new_double(3.25));
	json_object_object_add(o, "none", NULL);
	return o;
}

START_TEST(test_begin_locks)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	char lock[PATH_MAX];
	struct stat st;

	session_file(lock, sizeof(lock), s, ".lock");
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* Another process sees it held, and cannot take it. */
	ck_assert_int_eq(in_child(child_probe, store, s), 1);
	ck_assert_int_eq(in_child(child_take, store, s), 0);
	/* Nothing is written before the first save. */
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert(!exists(lock));
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_ids)
{
	sessnap_store *store = open_store();
	sessnap_session *s[8];
	size_t i, j, k;

	for (i = 0; i < 8; i++) {
		const char *id;

		s[i] = begin(store);
		id = sessnap_session_id(s[i]);
		ck_assert_uint_eq(strlen(id), SESSNAP_ID_LEN);
		for (k = 0; k < SESSNAP_ID_LEN; k++)
			ck_assert(strchr("0123456789abcdef", id[k]) != NULL);
		ck_assert(sessnap__id_valid(id));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(id, sessnap_session_id(s[j]));
	}
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(sessnap_session_end(s[i], 0), 0);
	ck_assert_ptr_null(sessnap_session_id(NULL));
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_update_save_load)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *state = sample_state(1);
	char snap[PATH_MAX];
	sessnap_load_info *info = NULL;
	struct stat st;

	update_save(s, state);
	session_file(snap, sizeof(snap), s, ".snap");
	ck_assert_int_eq(stat(snap, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_uint_eq(info->seq, 1);
	ck_assert_uint_eq(info->flags, 0);
	ck_assert_int_eq(info->completed, 0);
	ck_assert_int_eq(info->owner.pid, getpid());
	ck_assert_int_gt(info->saved_ms, 0);
	ck_assert_int_ge(info->saved_ms, info->created_ms);
	ck_assert_str_eq(info->notice, "");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_seq_increments)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	char name[SESSNAP__NAME_MAX], why[256];
	sessnap__header h;
	sessnap_load_info *info = NULL;
	int i;

	for (i = 1; i <= 3; i++) {
		json_object *state = sample_state(i);

		update_save(s, state);
		sessnap_load_info_free(info);
		info = load_equal(store, sessnap_session_id(s), state);
		ck_assert_uint_eq(info->seq, (uint64_t)i);
		json_object_put(state);
	}
	sessnap__prev_name(name, sessnap_session_id(s));
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__header_read(&h, NULL, store, name)), 0);
	ck_assert_uint_eq(h.seq, 2);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

/* An update equal to the last saved state writes nothing. */
START_TEST(test_identical_state)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(5), *b = sample_state(5);
	char snap[PATH_MAX];
	struct stat st1, st2;
	sessnap_load_info *info = NULL;

	update_save(s, a);
	session_file(snap, sizeof(snap), s, ".snap");
	ck_assert_int_eq(stat(snap, &st1), 0);
	sessnap__fault_arm(SESSNAP__SYS_ALL, ULONG_MAX, EIO, 0);
	update_save(s, b);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	ck_assert_int_eq(stat(snap, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	ck_assert_int_eq(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), b);
	ck_assert_uint_eq(info->seq, 1);
	/* A save with nothing pending writes nothing either. */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(stat(snap, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(a);
	json_object_put(b);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_label)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	json_object *state = sample_state(1);
	sessnap_load_info *info = NULL;
	char long_label[400];

	so.label = "notes.txt \xe2\x80\x94 3 buffers";
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	update_save(s, state);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, so.label);
	/* A new label alone is a change worth saving. */
	ck_assert_int_eq(sessnap_session_set_label(s, "two\tlines\nhere"), 0);
	update_save(s, state);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, "two lines here");
	ck_assert_uint_eq(info->seq, 2);
	/* Cut to SESSNAP_LABEL_MAX bytes, never inside a character. */
	memset(long_label, 'x', sizeof(long_label));
	memcpy(long_label + SESSNAP_LABEL_MAX - 1, "\xe2\x80\x94", 3);
	long_label[sizeof(long_label) - 1] = '\0';
	ck_assert_int_eq(sessnap_session_set_label(s, long_label), 0);
	update_save(s, state);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_uint_eq(strlen(info->label), SESSNAP_LABEL_MAX - 1);
	ck_assert_int_eq(sessnap_session_set_label(s, NULL), 0);
	update_save(s, state);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_ptr_null(info->label);
	ck_assert_int_eq(sessnap_session_set_label(NULL, "x"), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

/*
 * A label change alone is saved by the next flush and by an explicit save,
 * with the state unchanged; before the first save there is nothing to
 * write, and the first state carries the label.
 */
START_TEST(test_label_alone_flushed)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *state = sample_state(1);
	sessnap_load_info *info = NULL;

	ck_assert_int_eq(sessnap_session_set_label(s, "before"), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 1);
	update_save(s, state);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, "before");
	ck_assert_int_eq(sessnap_session_set_label(s, "by flush"), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, "by flush");
	ck_assert_uint_eq(info->seq, 2);
	ck_assert_int_eq(sessnap_session_set_label(s, "by save"), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, "by save");
	ck_assert_uint_eq(info->seq, 3);
	/* nothing changed since: nothing written */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_uint_eq(info->seq, 3);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

/* A label-only save whose snapshot cannot be reread fails clearly. */
START_TEST(test_label_alone_reread_fails)
{
	sessnap_store *store = open_store_ex(0, SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = begin(store);
	json_object *state = sample_state(1);
	char snap[PATH_MAX];
	sessnap_load_info *info = NULL;

	update_save(s, state);
	ck_assert_int_eq(sessnap_session_set_label(s, "x"), 0);
	sessnap__fault_arm(SESSNAP__SYS_READ, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EIO);
	sessnap__fault_disarm();
	session_file(snap, sizeof(snap), s, ".snap");
	ck_assert_msg(strstr(sessnap_error_last(), "label") != NULL &&
			  strstr(sessnap_error_last(), snap) != NULL,
		      "%s", sessnap_error_last());
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_ptr_null(info->label);
	/* still pending: the next save writes it */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_load_info_free(info);
	info = load_equal(store, sessnap_session_id(s), state);
	ck_assert_str_eq(info->label, "x");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_end_removes)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(1), *b = sample_state(2);
	char id[SESSNAP_ID_LEN + 1];
	json_object *got = NULL;

	update_save(s, a);
	update_save(s, b);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 3);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, store, id),
			 SESSNAP_ENOTFOUND);
	ck_assert_int_eq(sessnap_session_end(NULL, 0), 0);
	json_object_put(a);
	json_object_put(b);
	sessnap_store_close(store);
}
END_TEST

/* An end that removes the session removes every generation it kept. */
START_TEST(test_end_removes_generations)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s;
	json_object *st;
	int i;

	opts.dir = tu_dir;
	opts.app = "sessiontest";
	opts.generations = 3;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	s = begin(store);
	for (i = 1; i <= 5; i++) {
		st = sample_state(i);
		update_save(s, st);
		json_object_put(st);
	}
	/* .snap, .prev, .snap.2, .snap.3 and the lock */
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 5);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * An end that removes the session writes nothing: a pending state is
 * dropped, not saved and then unlinked.
 */
START_TEST(test_end_removes_writes_nothing)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(1), *b = sample_state(2);

	update_save(s, a);
	ck_assert_int_eq(sessnap_session_update(s, b), 0);
	sessnap__fault_arm(SESSNAP__SYS_OPEN | SESSNAP__SYS_WRITE |
			       SESSNAP__SYS_FSYNC | SESSNAP__SYS_RENAME |
			       SESSNAP__SYS_LINK,
			   ULONG_MAX, EIO, 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	json_object_put(a);
	json_object_put(b);
	sessnap_store_close(store);
}
END_TEST

/* An update not saved yet is written by end before anything goes. */
START_TEST(test_end_keep)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	json_object *a = sample_state(1), *b = sample_state(2);
	char id[SESSNAP_ID_LEN + 1], lock[PATH_MAX], snap[PATH_MAX];
	sessnap_load_info *info = NULL;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	update_save(s, a);
	ck_assert_int_eq(sessnap_session_update(s, b), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	session_file(lock, sizeof(lock), s, ".lock");
	session_file(snap, sizeof(snap), s, ".snap");
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	ck_assert(!exists(lock));
	ck_assert(exists(snap));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	sessnap_load_info_free(info);
	info = load_equal(store, id, b);
	ck_assert_int_eq(info->completed, 1);
	ck_assert_uint_eq(info->seq, 3);
	json_object_put(a);
	json_object_put(b);
	sessnap_store_close(store);
	sessnap_load_info_free(info);
}
END_TEST

/* SESSNAP_SESSION_KEEP is a flag of end only: begin refuses it, and any
 * other flag, before it takes a lock or writes a file. */
START_TEST(test_begin_refuses_flags)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;

	so.flags = SESSNAP_SESSION_KEEP;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), SESSNAP_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "sessnap_session_begin: flags 0x1"));
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "sessnap_session_end"));
	so.flags = 1u << 7;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), SESSNAP_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	so.flags = 0;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* Keeping a session that never saved keeps nothing. */
START_TEST(test_end_keep_unsaved)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);

	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * The handle is freed by end, so "after end" is the instant between the
 * two (the writer thread can see it): the ended flag must refuse work.
 */
START_TEST(test_update_after_end)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *state = sample_state(1);

	s->ended = true;
	ck_assert_int_eq(sessnap_session_update(s, state), SESSNAP_ESTATE);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "has ended"));
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_ESTATE);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_ESTATE);
	ck_assert(!s->has_pending);
	s->ended = false;
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

static int child_update(sessnap_store *store, sessnap_session *s)
{
	json_object *state = json_object_new_int(1);
	int rc = sessnap_session_update(s, state), bad = 0;

	(void)store;
	json_object_put(state);
	bad |= rc != SESSNAP_ESTATE;
	bad |= strstr(sessnap_error_last(), "forked child") == NULL;
	bad |= sessnap_session_flush(s) != SESSNAP_ESTATE;
	bad |= sessnap_session_flush(s) != SESSNAP_ESTATE;
	/* end in a child refuses, and only releases the child's handle */
	bad |= sessnap_session_end(s, 0) != SESSNAP_ESTATE;
	return bad;
}

START_TEST(test_forked_child)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *state = sample_state(1);
	char snap[PATH_MAX];

	update_save(s, state);
	ck_assert_int_eq(in_child(child_update, store, s), 0);
	/* The parent's session is untouched and still locked. */
	session_file(snap, sizeof(snap), s, ".snap");
	ck_assert(exists(snap));
	ck_assert_int_eq(in_child(child_probe, store, s), 1);
	loads_equal(store, sessnap_session_id(s), state);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

/* A failed save keeps the newest state pending; a later save writes it. */
START_TEST(test_failed_save_pending)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(1), *b = sample_state(2);
	json_object *c = sample_state(3);
	char snap[PATH_MAX];
	int rc;

	session_file(snap, sizeof(snap), s, ".snap");
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_update(s, a), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EIO);
	ck_assert_int_eq(sessnap_session_update(s, b), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert(!exists(snap));
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	ck_assert(s->has_pending);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	loads_equal(store, sessnap_session_id(s), b);

	/* A failed second generation leaves the first loadable as is. */
	sessnap__fault_arm(SESSNAP__SYS_RENAME, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_update(s, c), 0);
	rc = sessnap_session_flush(s);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	ck_assert_uint_eq(load_equal_seq(store, sessnap_session_id(s), b), 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(load_equal_seq(store, sessnap_session_id(s), c), 2);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	sessnap_store_close(store);
}
END_TEST

/* A failed directory fsync is "saved, durability unknown": not retried. */
START_TEST(test_durability_unknown)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(1);

	store->durability = SESSNAP_DURABILITY_FULL;
	ck_assert_int_eq(sessnap_session_update(s, a), 0);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, 2, EIO, 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EDURABILITY);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "fsync of the directory"));
	ck_assert(!s->has_pending);
	loads_equal(store, sessnap_session_id(s), a);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(a);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_close_flushes)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(9);
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_update(s, a), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	store = open_store();
	loads_equal(store, id, a);
	/* Released, not ended: its lock is free now. */
	ck_assert_int_eq(sessnap__lock_probe(store, id), 0);
	json_object_put(a);
	sessnap_store_close(store);
}
END_TEST

/* A close whose flush fails reports it, and still frees everything. */
START_TEST(test_close_flush_fails)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *a = sample_state(9);
	int fds, rc;

	fds = tu_count_fds();
	ck_assert_int_eq(sessnap_session_update(s, a), 0);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_store_close(store);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	/* The lock and the directory descriptors are gone. */
	ck_assert_int_eq(tu_count_fds(), fds - 2);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	json_object_put(a);
}
END_TEST

/* A JSON string state whose serialization is `len` bytes. */
static json_object *string_of(size_t len)
{
	char *buf = malloc(len - 1);
	json_object *o;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'x', len - 2);
	buf[len - 2] = '\0';
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

/*
 * The read bound applies to the whole file, header line included: a state
 * that fits the bound only without its header would be saved, then
 * refused by every load.  update refuses it (test_update_refused); a state
 * that fits with the longest header (the longest label) is saved and loads
 * back.
 */
START_TEST(test_update_bound_counts_header)
{
	const size_t bound = 8192;
	sessnap_store *store = open_store_ex(bound, 0);
	sessnap_session *s = begin(store);
	json_object *fits = string_of(bound - SESSNAP__HEADER_MAX - 1);
	char label[SESSNAP_LABEL_MAX + 1];

	memset(label, 'y', SESSNAP_LABEL_MAX);
	label[SESSNAP_LABEL_MAX] = '\0';
	ck_assert_int_eq(sessnap_session_set_label(s, label), 0);
	update_save(s, fits);
	loads_equal(store, sessnap_session_id(s), fits);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(fits);
	sessnap_store_close(store);
}
END_TEST

/* `n` arrays around the number 1, built as objects (not parsed). */
static json_object *nested(int n)
{
	json_object *o = json_object_new_int(1), *a;
	int i;

	for (i = 0; i < n; i++) {
		a = json_object_new_array();
		json_object_array_add(a, o);
		o = a;
	}
	return o;
}

/*
 * States that the loader would refuse are refused by update, and nothing
 * on disk changes (the session's last snapshot stays byte for byte, and
 * nothing is left pending to be saved): over the read bound (the state
 * alone, or with the header line counted), or nested deeper than the
 * loader accepts (an array too deep, and one at exactly the limit).  A
 * bound below the longest header line refuses every state: that session
 * has no snapshot before or after.
 */
static const struct refused {
	size_t bound;	   /* the store's read bound; 0: the default */
	size_t string_len; /* a string state of this serialized length, or */
	int depth;	   /* arrays nested this deep */
	const char *why;   /* in the message */
	bool saved;	   /* a first state was saved before */
} refused[] = {
	{ 1024, 2048, 0, "read bound", false },
	{ 8192, 8192 - 300, 0, "read bound", true },
	{ 0, 0, 1100, "deep", true },
	{ 0, 0, SESSNAP__JSON_DEPTH, "deep", true },
};

START_TEST(test_update_refused)
{
	const struct refused *r = &refused[_i];
	sessnap_store *store = open_store_ex(r->bound, 0);
	sessnap_session *s = begin(store);
	json_object *a = sample_state(1);
	json_object *bad =
	    r->depth ? nested(r->depth) : string_of(r->string_len);
	char snap[PATH_MAX];
	size_t before_len = 0, after_len = 0;
	char *before = NULL, *after = NULL;

	session_file(snap, sizeof(snap), s, ".snap");
	if (r->saved) {
		update_save(s, a);
		before = tu_read_file(snap, &before_len);
		ck_assert_ptr_nonnull(before);
	}
	ck_assert_int_eq(sessnap_session_update(s, bad), SESSNAP_ETOOBIG);
	ck_assert_msg(strstr(sessnap_error_last(), r->why) != NULL &&
			  strstr(sessnap_error_last(), sessnap_session_id(s)) !=
			      NULL,
		      "%s", sessnap_error_last());
	ck_assert(!s->has_pending);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	/* the lock file, and the snapshot if there was one */
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), r->saved ? 2 : 1);
	if (r->saved) {
		after = tu_read_file(snap, &after_len);
		ck_assert_ptr_nonnull(after);
		ck_assert_uint_eq(after_len, before_len);
		ck_assert_mem_eq(after, before, before_len);
		loads_equal(store, sessnap_session_id(s), a);
	}
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	free(before);
	free(after);
	json_object_put(a);
	json_object_put(bad);
	sessnap_store_close(store);
}
END_TEST

/* The deepest state the loader accepts is saved and loads back. */
START_TEST(test_update_deepest)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *deepest = nested(SESSNAP__JSON_DEPTH - 1);

	update_save(s, deepest);
	loads_equal(store, sessnap_session_id(s), deepest);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(deepest);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_begin_errors)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_store *ro = open_store_ex(0, SESSNAP_STORE_READONLY);
	sessnap_session *s = NULL;
	int fds;

	ck_assert_int_eq(sessnap_session_begin(&s, ro, NULL), SESSNAP_ESTATE);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "read-only"));
	so.version = 42;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_begin(NULL, store, NULL),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_begin(&s, NULL, NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_update(NULL, NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_flush(NULL), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_flush(NULL), SESSNAP_EINVAL);
	fds = tu_count_fds();
	sessnap__fault_arm(SESSNAP__SYS_OPEN, 1, EACCES, 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), SESSNAP_EPERM);
	sessnap__fault_disarm();
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), ".lock"));
	ck_assert_ptr_null(s);
	ck_assert_int_eq(tu_count_fds(), fds);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(ro);
	sessnap_store_close(store);
}
END_TEST

/*
 * A cleaner may hold a brand-new lock file for an instant (it locks lock
 * files that have no snapshot): begin takes another id instead of failing,
 * and gives up with SESSNAP_EBUSY only when every try is busy.
 */
START_TEST(test_begin_busy_lock_retries)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	int fds = tu_count_fds();

	sessnap__fault_arm(SESSNAP__SYS_FLOCK, 1, EWOULDBLOCK, 0);
	ck_assert_msg(sessnap_session_begin(&s, store, NULL) == 0, "%s",
		      sessnap_error_last());
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	s = NULL;

	sessnap__fault_arm(SESSNAP__SYS_FLOCK, 1, EWOULDBLOCK,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL),
			 SESSNAP_EBUSY);
	ck_assert_uint_eq(sessnap__fault_fired(), 8);
	sessnap__fault_disarm();
	ck_assert_ptr_null(s);
	ck_assert_int_eq(tu_count_fds(), fds);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * Fail call N = 1, 2, ... of any kind during a save until the save
 * succeeds, once and persistently.  After each attempt the session loads
 * as the old or the new state (the new one only when committed), no
 * temporary file or descriptor is left, the lock is still held, and a
 * save without faults then writes the newest state.
 */
static void sweep(int err, unsigned int flags)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	unsigned long nth;

	store->durability = SESSNAP_DURABILITY_FULL;
	for (nth = 1; nth < 100; nth++) {
		json_object *a = sample_state((int)nth * 2);
		json_object *b = sample_state((int)nth * 2 + 1);
		unsigned long fired;
		int fds, rc;

		update_save(s, a);
		fds = tu_count_fds();
		ck_assert_int_eq(sessnap_session_update(s, b), 0);
		/* A temporary file cannot be removed while unlink keeps
		 * failing (the cleaner removes it later): persistent faults
		 * spare unlink. */
		sessnap__fault_arm((flags & SESSNAP__FAULT_PERSISTENT) ?
				       SESSNAP__SYS_ALL & ~SESSNAP__SYS_UNLINK :
				       SESSNAP__SYS_ALL,
				   nth, err, flags);
		rc = sessnap_session_flush(s);
		fired = sessnap__fault_fired();
		sessnap__fault_disarm();
		ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
		ck_assert_int_eq(tu_count_fds(), fds);
		ck_assert_int_eq(in_child(child_probe, store, s), 1);
		if (rc == 0 || rc == SESSNAP_EDURABILITY) {
			loads_equal(store, sessnap_session_id(s), b);
		} else {
			ck_assert_uint_gt(fired, 0);
			ck_assert_uint_gt(strlen(sessnap_error_last()), 0);
			loads_equal(store, sessnap_session_id(s), a);
			ck_assert_int_eq(sessnap_session_flush(s), 0);
			loads_equal(store, sessnap_session_id(s), b);
		}
		json_object_put(a);
		json_object_put(b);
		if (fired == 0)
			break;
	}
	ck_assert_uint_gt(nth, 5);
	ck_assert_uint_lt(nth, 100);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}


/* ---- keys --------------------------------------------------------------- */

static sessnap_session *begin_key(sessnap_store *store, const void *key,
				  size_t key_len)
{
	sessnap_session_options o = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_session *s = NULL;
	int rc;

	o.key = key;
	o.key_len = key_len;
	o.label = "doc";
	rc = sessnap_session_begin(&s, store, &o);
	ck_assert_msg(rc == 0, "begin: %s", sessnap_error_last());
	return s;
}

/*
 * One process, one session per open document, each with its own key: the
 * lock record and every snapshot carry it, and adopt keeps it.
 */
START_TEST(test_keys_per_document)
{
	static const char *const keys[3] = { "/home/u/a.txt", "/home/u/b.txt",
					     "/tmp/\xff\x00.txt" };
	static const size_t lens[3] = { 13, 13, 11 };
	sessnap_store *store = open_store();
	sessnap_session *s[3], *again = NULL;
	sessnap_load_info *li = NULL;
	sessnap_info **infos = NULL;
	json_object *state = json_object_new_object(), *got = NULL;
	char path[PATH_MAX], id[SESSNAP_ID_LEN + 1], *rec;
	size_t n = 0, i, j;

	for (i = 0; i < 3; i++)
		s[i] = begin_key(store, keys[i], lens[i]);
	/* The lock record: a header line of seq 0 with the key. */
	session_file(path, sizeof(path), s[0], ".lock");
	rec = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(strstr(rec, "\"key\":\"/home/u/a.txt\""));
	ck_assert_ptr_nonnull(strstr(rec, "\"seq\":0,"));
	free(rec);
	session_file(path, sizeof(path), s[2], ".lock");
	rec = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(
	    strstr(rec, "\"key_hex\":\"2f746d702fff002e747874\""));
	free(rec);

	for (i = 0; i < 2; i++)
		update_save(s[i], state);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++)
		for (j = 0; j < n; j++)
			if (strcmp(infos[j]->id, sessnap_session_id(s[i])) ==
			    0) {
				ck_assert_uint_eq(infos[j]->key_len, lens[i]);
				ck_assert_mem_eq(infos[j]->key, keys[i],
						 lens[i]);
				ck_assert_int_eq(infos[j]->key[lens[i]], '\0');
			}
	sessnap_info_free(infos, n);

	/* b.txt crashes (released: its lock is free) and is adopted. */
	strlcpy(id, sessnap_session_id(s[1]), sizeof(id));
	sessnap_session_release(s[1]);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store,
						SESSNAP_SCAN_RECOVERABLE,
						keys[1], lens[1]),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, id);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_session_adopt(&again, &got, &li, store, id),
			 0);
	ck_assert_uint_eq(li->key_len, lens[1]);
	ck_assert_mem_eq(li->key, keys[1], lens[1]);
	json_object_put(got);
	json_object_object_add(state, "n", json_object_new_int(2));
	update_save(again, state);
	sessnap_load_info_free(li);
	li = load_equal(store, id, state);
	ck_assert_uint_eq(li->key_len, lens[1]);
	ck_assert_mem_eq(li->key, keys[1], lens[1]);

	ck_assert_int_eq(sessnap_session_end(again, 0), 0);
	ck_assert_int_eq(sessnap_session_end(s[0], 0), 0);
	ck_assert_int_eq(sessnap_session_end(s[2], 0), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	json_object_put(state);
	sessnap_store_close(store);
	sessnap_load_info_free(li);
}
END_TEST

START_TEST(test_begin_key_options)
{
	struct {
		unsigned int version;
		const char *label;
		unsigned int flags;
	} v1 = { 1, "old", 0 };
	sessnap_store *store = open_store();
	sessnap_session_options o = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_session *s = NULL;
	sessnap_info **infos = NULL;
	unsigned char big[SESSNAP_KEY_MAX + 1];
	size_t n = 0;

	memset(big, 'k', sizeof(big));
	o.key = big;
	o.key_len = sizeof(big);
	ck_assert_int_eq(sessnap_session_begin(&s, store, &o), SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "SESSNAP_KEY_MAX"));
	ck_assert_ptr_null(s);
	o.key = NULL;
	o.key_len = 3;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &o), SESSNAP_EINVAL);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	/* The longest key is taken. */
	s = begin_key(store, big, SESSNAP_KEY_MAX);
	sessnap_session_release(s);
	/* A caller built against version 1 has no key fields. */
	s = NULL;
	ck_assert_int_eq(sessnap_session_begin(
			     &s, store, (const sessnap_session_options *)&v1),
			 0);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->label, "old");
	ck_assert_ptr_null(infos[0]->key);
	sessnap_info_free(infos, n);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

static void log_keep(sessnap_log_level level, const char *msg, void *payload)
{
	if (level == SESSNAP_LOG_WARNING)
		strlcpy(payload, msg, 512);
}

/*
 * The lock record is liveness, not state: a begin whose record cannot be
 * written (a full disk) still begins, says why in the log, and the session
 * is listed as running without its key until its first save.
 */
START_TEST(test_lock_record_write_fails)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_info **infos = NULL;
	json_object *state = json_object_new_object();
	char logged[512] = "";
	size_t n = 0;

	opts.dir = tu_dir;
	opts.app = "sesstest";
	opts.log = log_keep;
	opts.payload = logged;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC, 0);
	s = begin_key(store, "k", 1);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_ptr_nonnull(strstr(logged, "lock record"));
	ck_assert_ptr_nonnull(strstr(logged, ".lock"));
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_ptr_null(infos[0]->key);
	sessnap_info_free(infos, n);
	update_save(s, state);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, "k", 1),
			 0);
	ck_assert_uint_eq(n, 1);
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_fault_sweep_once)
{
	sweep(_i == 0 ? ENOSPC : EIO, 0);
}
END_TEST

START_TEST(test_fault_sweep_persistent)
{
	sweep(_i == 0 ? ENOSPC : EIO, SESSNAP__FAULT_PERSISTENT);
}
END_TEST

static const size_t sizes[] = { 0, 1024, 65536, 1 << 20, 16 << 20 };

/* States from the empty object to 16 MiB, strings and arrays. */
START_TEST(test_round_trip_sizes)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	size_t size = sizes[_i], i;
	json_object *state;

	if (size == 0) {
		state = json_object_new_object();
	} else if (_i % 2 == 0) {
		/* an array of 1 KiB strings */
		char chunk[1024];

		state = json_object_new_array();
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)('a' + i % 26);
		for (i = 0; i < size / sizeof(chunk); i++)
			json_object_array_add(
			    state, json_object_new_string_len(
				       chunk, (int)sizeof(chunk) - (int)i % 7));
	} else {
		char *str = malloc(size);

		for (i = 0; i < size; i++)
			str[i] = (char)(' ' + i % 90);
		state = json_object_new_string_len(str, (int)size);
		free(str);
	}
	update_save(s, state);
	loads_equal(store, sessnap_session_id(s), state);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

/* 16 MiB fits the default read bound with room to spare. */
START_TEST(test_default_bound)
{
	sessnap_store *store = open_store();

	ck_assert_uint_ge(store->read_bound, (size_t)64 << 20);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_scalar_states)
{
	static const char *const states[] = {
		"null", "0", "-3.5", "true", "\"just a string\"", "[]"
	};
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		json_object *state = json_tokener_parse(states[i]);

		update_save(s, state);
		loads_equal(store, sessnap_session_id(s), state);
		json_object_put(state);
	}
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

Suite *session_suite(void);

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_begin_locks);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_update_save_load);
	tcase_add_test(tc, test_seq_increments);
	tcase_add_test(tc, test_identical_state);
	tcase_add_test(tc, test_label);
	tcase_add_test(tc, test_label_alone_flushed);
	tcase_add_test(tc, test_end_removes);
	tcase_add_test(tc, test_end_removes_generations);
	tcase_add_test(tc, test_end_removes_writes_nothing);
	tcase_add_test(tc, test_end_keep);
	tcase_add_test(tc, test_begin_refuses_flags);
	tcase_add_test(tc, test_close_flushes);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_keys_per_document);
	tcase_add_test(tc, test_begin_key_options);
	tcase_add_test(tc, test_lock_record_write_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_update_after_end);
	tcase_add_test(tc, test_forked_child);
	tcase_add_test(tc, test_failed_save_pending);
	tcase_add_test(tc, test_durability_unknown);
	tcase_add_test(tc, test_close_flush_fails);
	tcase_add_loop_test(tc, test_update_refused, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, test_update_deepest);
	tcase_add_test(tc, test_update_bound_counts_header);
	tcase_add_test(tc, test_label_alone_reread_fails);
	tcase_add_test(tc, test_begin_errors);
	tcase_add_test(tc, test_begin_busy_lock_retries);
	tcase_add_loop_test(tc, test_fault_sweep_once, 0, 2);
	tcase_add_loop_test(tc, test_fault_sweep_persistent, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	/* 16 MiB through json-c under valgrind takes a while. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_end_keep_unsaved);
	tcase_add_loop_test(tc, test_round_trip_sizes, 0,
			    (int)(sizeof(sizes) / sizeof(sizes[0])));
	tcase_add_test(tc, test_default_bound);
	tcase_add_test(tc, test_scalar_states);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(session_suite)
