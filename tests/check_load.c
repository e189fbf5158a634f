/*
 * check_load.c - reading a session back, whatever happened to its files
 *
 * Each test writes two real generations through the public calls (state A
 * saved first, so in <id>.snap.prev; state B in <id>.snap), damages the
 * main file the way crashes and people do - truncated, a flipped byte,
 * zero-filled, empty, deleted, replaced by a symlink, a FIFO or a 1 GiB
 * sparse file - and checks that the loader falls back to A and says why,
 * naming the file.  It also covers both generations bad, the validate and
 * migrate callbacks, a newer format (never a fallback), the read bound,
 * and read errors (never reported as corruption).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

struct fixture {
	sessnap_store *store;
	char id[SESSNAP_ID_LEN + 1];
	char snap[PATH_MAX];
	char prev[PATH_MAX];
	json_object *a, *b;
};

static sessnap_store *open_store(const sessnap_store_options *base)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	if (base != NULL)
		opts = *base;
	opts.dir = tu_dir;
	opts.app = "loadtest";
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static json_object *registry(int n)
{
	json_object *o = json_object_new_object();
	json_object *r = json_object_new_array();
	int i;

	for (i = 0; i < n; i++)
		json_object_array_add(r, json_object_new_int(i));
	json_object_object_add(o, "registry", r);
	return o;
}

/* Write state a, then state b, to one session; release it unended. */
static void setup_states(struct fixture *f, json_object *a, json_object *b,
			 unsigned int schema)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_session *s = NULL;

	memset(f, 0, sizeof(*f));
	opts.schema_version = schema;
	f->store = open_store(&opts);
	f->a = a;
	f->b = b;
	ck_assert_int_eq(sessnap_session_begin(&s, f->store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, a), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_update(s, b), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	strlcpy(f->id, sessnap_session_id(s), sizeof(f->id));
	sessnap_session_release(s);
	snprintf(f->snap, sizeof(f->snap), "%s/%s.snap", tu_dir, f->id);
	snprintf(f->prev, sizeof(f->prev), "%s/%s.snap.prev", tu_dir, f->id);
}

static void setup(struct fixture *f)
{
	setup_states(f, registry(2), registry(3), 0);
}

static void teardown(struct fixture *f)
{
	json_object_put(f->a);
	json_object_put(f->b);
	ck_assert_int_eq(sessnap_store_close(f->store), 0);
}

static size_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Offset of the payload: just after the header line. */
static size_t payload_offset(const char *path)
{
	size_t len = 0, off;
	char *buf = tu_read_file(path, &len);

	ck_assert_ptr_nonnull(buf);
	off = (size_t)(strchr(buf, '\n') - buf) + 1;
	free(buf);
	return off;
}

static void overwrite(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void corrupt_truncate(const char *path)
{
	ck_assert_int_eq(truncate(path, (off_t)file_size(path) / 2), 0);
}

static void corrupt_truncate_one(const char *path)
{
	ck_assert_int_eq(truncate(path, (off_t)file_size(path) - 1), 0);
}

static void corrupt_flip(const char *path)
{
	size_t off = payload_offset(path) + 3;
	char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
	close(fd);
	c ^= 0x01;
	overwrite(path, (off_t)off, &c, 1);
}

static void corrupt_zero(const char *path)
{
	size_t len = file_size(path);
	char *zeros = calloc(1, len);

	overwrite(path, 0, zeros, len);
	free(zeros);
}

static void corrupt_empty(const char *path)
{
	ck_assert_int_eq(truncate(path, 0), 0);
}

static void corrupt_delete(const char *path)
{
	ck_assert_int_eq(unlink(path), 0);
}

/* A symlink to a perfectly valid snapshot: still not followed. */
static void corrupt_symlink(const char *path)
{
	char target[PATH_MAX];

	snprintf(target, sizeof(target), "%s.elsewhere", path);
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void corrupt_fifo(const char *path)
{
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
}

static void corrupt_sparse(const char *path)
{
	ck_assert_int_eq(truncate(path, (off_t)1 << 30), 0);
}

static void corrupt_directory(const char *path)
{
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

/* The header names another session: the file is intact otherwise (the
 * checksum covers the payload only). */
static void corrupt_wrong_id(const char *path)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len), *at;
	char other[SESSNAP_ID_LEN + 1];

	ck_assert_ptr_nonnull(buf);
	at = strstr(buf, "\"id\":\"");
	ck_assert_ptr_nonnull(at);
	at += 6;
	memset(other, 'e', SESSNAP_ID_LEN);
	other[SESSNAP_ID_LEN] = '\0';
	if (memcmp(at, other, SESSNAP_ID_LEN) == 0)
		memset(other, 'd', SESSNAP_ID_LEN);
	overwrite(path, (off_t)(at - buf), other, SESSNAP_ID_LEN);
	free(buf);
}

static const struct {
	void (*damage)(const char *path);
	const char *why;
} damages[] = {
	{ corrupt_truncate, "truncated" },
	{ corrupt_truncate_one, "truncated" },
	{ corrupt_flip, "checksum mismatch" },
	{ corrupt_zero, "zero-filled" },
	{ corrupt_empty, "empty file" },
	{ corrupt_delete, "is missing" },
	{ corrupt_symlink, "symlink" },
	{ corrupt_fifo, "not a regular file" },
	{ corrupt_sparse, "read bound" },
	{ corrupt_directory, "not a regular file" },
	{ corrupt_wrong_id, "header names session" },
};

#define NDAMAGES (sizeof(damages) / sizeof(damages[0]))

static void expect_in(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) != NULL, "\"%s\" lacks \"%s\"", text,
		      part);
}

START_TEST(test_load_main)
{
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	setup(&f);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id), 0);
	ck_assert(json_object_equal(got, f.b));
	ck_assert_uint_eq(info->flags, 0);
	ck_assert_uint_eq(info->seq, 2);
	ck_assert_str_eq(info->notice, "");
	json_object_put(got);
	/* info may be NULL */
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id), 0);
	json_object_put(got);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

static void log_cb(sessnap_log_level level, const char *message, void *payload)
{
	char *last = payload;

	if (level == SESSNAP_LOG_WARNING)
		strlcpy(last, message, 512);
}

/* _i runs over damages[]. */
START_TEST(test_fallback)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	char logged[512] = "";
	sessnap_store *reader;
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;
	int fds;

	setup(&f);
	damages[_i].damage(f.snap);
	opts.log = log_cb;
	opts.payload = logged;
	reader = open_store(&opts);
	fds = tu_count_fds();
	ck_assert_msg(sessnap_store_load(&got, &info, reader, f.id) == 0, "%s",
		      sessnap_error_last());
	ck_assert_int_eq(tu_count_fds(), fds);
	ck_assert(json_object_equal(got, f.a));
	ck_assert_uint_eq(info->flags & SESSNAP_LOAD_FROM_PREV,
			  SESSNAP_LOAD_FROM_PREV);
	ck_assert_uint_eq(info->seq, 1);
	expect_in(info->notice, f.snap);
	expect_in(info->notice, f.prev);
	expect_in(info->notice, damages[_i].why);
	ck_assert_str_eq(logged, info->notice);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_missing)
{
	struct fixture f;
	json_object *got = (json_object *)&f;

	setup(&f);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store,
					    "00000000000000000000000000000000"),
			 SESSNAP_ENOTFOUND);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "00000000000000000000000000000000");
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, "nope"),
			 SESSNAP_EBADNAME);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, NULL),
			 SESSNAP_EBADNAME);
	ck_assert_int_eq(sessnap_store_load(NULL, NULL, f.store, f.id),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, NULL, f.id),
			 SESSNAP_EINVAL);
	teardown(&f);
}
END_TEST

START_TEST(test_both_bad)
{
	struct fixture f;
	json_object *got = NULL;
	const char *msg;

	setup(&f);
	corrupt_truncate(f.snap);
	corrupt_flip(f.prev);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id),
			 SESSNAP_ECORRUPT);
	ck_assert_ptr_null(got);
	msg = sessnap_error_last();
	expect_in(msg, f.snap);
	expect_in(msg, f.prev);
	expect_in(msg, "truncated");
	expect_in(msg, "checksum");
	expect_in(msg, "sessnap discard");
	/* Nothing was deleted or rewritten by looking. */
	ck_assert_uint_gt(file_size(f.snap), 0);
	ck_assert_uint_gt(file_size(f.prev), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_main_bad_no_prev)
{
	struct fixture f;
	json_object *got = NULL;

	setup(&f);
	corrupt_zero(f.snap);
	corrupt_delete(f.prev);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id),
			 SESSNAP_ECORRUPT);
	expect_in(sessnap_error_last(), "zero-filled");
	expect_in(sessnap_error_last(), "does not exist");
	teardown(&f);
}
END_TEST

struct calls {
	int validate;
	int migrate;
	unsigned int from, to;
	int migrate_rc;
};

/* The registry came back empty after a crash mid-update: reject it. */
static int validate_registry(const json_object *state, unsigned int schema,
			     void *payload)
{
	struct calls *c = payload;
	json_object *r;

	(void)schema;
	c->validate++;
	if (!json_object_object_get_ex(state, "registry", &r) ||
	    json_object_array_length(r) == 0)
		return -1;
	return 0;
}

START_TEST(test_validate_fallback)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct calls calls = { 0, 0, 0, 0, 0 };
	sessnap_store *reader;
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	setup_states(&f, registry(4), registry(0), 0);
	opts.validate = validate_registry;
	opts.payload = &calls;
	reader = open_store(&opts);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, f.id), 0);
	ck_assert_int_eq(calls.validate, 2);
	ck_assert(json_object_equal(got, f.a));
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_PREV);
	expect_in(info->notice, "rejected");
	expect_in(info->notice, f.snap);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

/*
 * A store that keeps three older generations, with the states n0..n4
 * saved in turn: <id>.snap holds the last, .prev, .snap.2 and .snap.3 the
 * ones before.  `empty` of the states are saved empty at the end (the app
 * that saved an empty state twice).
 */
static sessnap_store *gens_store(char id[SESSNAP_ID_LEN + 1], int empty)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_session *s = NULL;
	sessnap_store *store;
	json_object *st;
	int i;

	opts.generations = 3;
	store = open_store(&opts);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	for (i = 0; i < 5; i++) {
		st = registry(i < 5 - empty ? i + 1 : 0);
		/* Two empty states that differ: identical ones are not
		 * written twice. */
		json_object_object_add(st, "save", json_object_new_int(i));
		ck_assert_int_eq(sessnap_session_update(s, st), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(st);
	}
	strlcpy(id, sessnap_session_id(s), SESSNAP_ID_LEN + 1);
	sessnap_session_release(s);
	return store;
}

static int registry_len(json_object *state)
{
	json_object *r;

	ck_assert(json_object_object_get_ex(state, "registry", &r));
	return (int)json_object_array_length(r);
}

/*
 * The empty-state case: the last two saves were empty and the validation
 * refuses them; the loader goes on to <id>.snap.2, the newest state that
 * passes, and says which generation it used.  A reader with the default
 * option (a command) finds it too.
 */
START_TEST(test_generations_skip_rejected)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct calls calls = { 0, 0, 0, 0, 0 };
	char id[SESSNAP_ID_LEN + 1];
	sessnap_store *store = gens_store(id, 2), *reader;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	opts.validate = validate_registry;
	opts.payload = &calls;
	reader = open_store(&opts);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, id), 0);
	ck_assert_int_eq(calls.validate, 3);
	ck_assert_int_eq(registry_len(got), 3);
	ck_assert_uint_eq(info->generation, 2);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_OLDER);
	ck_assert_uint_eq(info->seq, 3);
	expect_in(info->notice, ".snap.2");
	expect_in(info->notice, "older generation");
	json_object_put(got);
	/* Without the callback the newest is taken, empty or not. */
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_int_eq(registry_len(got), 0);
	ck_assert_uint_eq(info->generation, 0);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* A corrupt newest and a corrupt .prev: the next one by seq is used. */
START_TEST(test_generations_skip_corrupt)
{
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	sessnap_store *store = gens_store(id, 0);
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	snprintf(path, sizeof(path), "%s/%s.snap", tu_dir, id);
	corrupt_flip(path);
	snprintf(path, sizeof(path), "%s/%s.snap.prev", tu_dir, id);
	corrupt_truncate(path);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_int_eq(registry_len(got), 3);
	ck_assert_uint_eq(info->generation, 2);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_OLDER);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/*
 * By seq, not by name: swap .snap.2 and .snap.3, as a rotation that a
 * power cut half kept could leave them, and break the two newest.  The
 * loader still takes the newer state (now named .snap.3).
 */
START_TEST(test_generations_by_seq)
{
	char id[SESSNAP_ID_LEN + 1], a[PATH_MAX], b[PATH_MAX], t[PATH_MAX];
	sessnap_store *store = gens_store(id, 0);
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	snprintf(a, sizeof(a), "%s/%s.snap.2", tu_dir, id);
	snprintf(b, sizeof(b), "%s/%s.snap.3", tu_dir, id);
	snprintf(t, sizeof(t), "%s/swap", tu_dir);
	ck_assert_int_eq(rename(a, t), 0);
	ck_assert_int_eq(rename(b, a), 0);
	ck_assert_int_eq(rename(t, b), 0);
	snprintf(a, sizeof(a), "%s/%s.snap", tu_dir, id);
	corrupt_zero(a);
	snprintf(a, sizeof(a), "%s/%s.snap.prev", tu_dir, id);
	corrupt_delete(a);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_int_eq(registry_len(got), 3);
	ck_assert_uint_eq(info->generation, 3);
	ck_assert_uint_eq(info->seq, 3);
	json_object_put(got);
	/* All of them unusable: one error naming the newest tried and
	 * counting the others. */
	corrupt_flip(b);
	snprintf(a, sizeof(a), "%s/%s.snap.2", tu_dir, id);
	corrupt_flip(a);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id),
			 SESSNAP_ECORRUPT);
	expect_in(sessnap_error_last(), ".snap.3");
	expect_in(sessnap_error_last(), "1 older generation");
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/*
 * A read error on an older generation's header says nothing about its
 * seq: that generation is tried first, so the fallback never goes past a
 * state that may be the newest.  Here .prev's header read fails once (the
 * main file is missing): .prev is still the one loaded, not .snap.2.
 */
START_TEST(test_generations_read_error_first)
{
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	sessnap_store *store = gens_store(id, 0);
	sessnap_load_info *info = NULL;
	json_object *got = NULL;

	snprintf(path, sizeof(path), "%s/%s.snap", tu_dir, id);
	corrupt_delete(path);
	sessnap__fault_arm(SESSNAP__SYS_READ, 1, EIO, 0);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	ck_assert_uint_eq(info->generation, 1);
	ck_assert_int_eq(registry_len(got), 4);
	json_object_put(got);
	/* Persistent: the error, never an older state. */
	sessnap__fault_arm(SESSNAP__SYS_READ, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id),
			 SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert_ptr_null(got);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_validate_both)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct calls calls = { 0, 0, 0, 0, 0 };
	sessnap_store *reader;
	struct fixture f;
	json_object *got = NULL;

	setup_states(&f, json_object_new_object(), registry(0), 0);
	opts.validate = validate_registry;
	opts.payload = &calls;
	reader = open_store(&opts);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, reader, f.id),
			 SESSNAP_EREJECTED);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), f.snap);
	expect_in(sessnap_error_last(), f.prev);
	expect_in(sessnap_error_last(), "rejected");
	/* Without a previous generation, too. */
	corrupt_delete(f.prev);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, reader, f.id),
			 SESSNAP_EREJECTED);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
}
END_TEST

static int migrate(json_object **state, unsigned int from, unsigned int to,
		   void *payload)
{
	struct calls *c = payload;

	c->migrate++;
	c->from = from;
	c->to = to;
	if (c->migrate_rc != 0)
		return c->migrate_rc;
	json_object_object_add(*state, "migrated", json_object_new_int(to));
	return 0;
}

START_TEST(test_migrate)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct calls calls = { 0, 0, 0, 0, 0 };
	sessnap_store *reader;
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL, *v;

	setup_states(&f, registry(1), registry(2), 1);
	opts.schema_version = 3;
	opts.migrate = migrate;
	opts.payload = &calls;
	reader = open_store(&opts);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, f.id), 0);
	ck_assert_int_eq(calls.migrate, 1);
	ck_assert_uint_eq(calls.from, 1);
	ck_assert_uint_eq(calls.to, 3);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_MIGRATED);
	ck_assert_uint_eq(info->schema_version, 1);
	ck_assert(json_object_object_get_ex(got, "migrated", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	json_object_put(got);

	/* A failing migration fails the load and leaves the files alone. */
	calls.migrate_rc = -7;
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, f.id),
			 SESSNAP_EMIGRATE);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "schema 1 to 3");
	expect_in(sessnap_error_last(), "-7");
	ck_assert_int_eq(sessnap_store_close(reader), 0);

	/* The same schema is not migrated. */
	calls.migrate = 0;
	opts.schema_version = 1;
	reader = open_store(&opts);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, f.id), 0);
	ck_assert_int_eq(calls.migrate, 0);
	ck_assert_uint_eq(info->flags, 0);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

static int migrate_keep(json_object **state, unsigned int from, unsigned int to,
			void *payload)
{
	(void)state;
	(void)from;
	(void)to;
	(void)payload;
	return 0;
}

/* A JSON null state survives a migration that keeps it. */
START_TEST(test_migrate_null)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *reader;
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = (json_object *)&f;

	setup_states(&f, NULL, NULL, 1);
	opts.schema_version = 2;
	opts.migrate = migrate_keep;
	reader = open_store(&opts);
	ck_assert_msg(sessnap_store_load(&got, &info, reader, f.id) == 0, "%s",
		      sessnap_error_last());
	ck_assert_ptr_null(got);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_MIGRATED);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

/* A main snapshot of a newer format stops the load: no fallback. */
START_TEST(test_newer_main)
{
	static const char payload[] = "{\"v2\":true}";
	struct fixture f;
	sessnap__header h;
	char *hbuf = NULL, *buf;
	size_t hlen = 0;
	json_object *got = NULL;
	char name[SESSNAP__NAME_MAX];

	setup(&f);
	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP_FORMAT_VERSION + 1;
	strlcpy(h.app, "loadtest", sizeof(h.app));
	strlcpy(h.id, f.id, sizeof(h.id));
	h.length = sizeof(payload) - 1;
	sessnap__checksum(h.checksum, payload, h.length);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &h), 0);
	buf = malloc(hlen + sizeof(payload));
	memcpy(buf, hbuf, hlen);
	memcpy(buf + hlen, payload, sizeof(payload) - 1);
	buf[hlen + sizeof(payload) - 1] = '\n';
	sessnap__snap_name(name, f.id);
	tu_write_file(tu_dir, name, buf, hlen + sizeof(payload));
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id),
			 SESSNAP_ENEWER);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), f.snap);
	expect_in(sessnap_error_last(), "newer");
	expect_in(sessnap_error_last(), "upgrade");
	free(hbuf);
	free(buf);
	teardown(&f);
}
END_TEST

START_TEST(test_read_bound)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *reader;
	struct fixture f;
	json_object *got = NULL;

	setup(&f);
	opts.read_bound = 64;
	reader = open_store(&opts);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, reader, f.id),
			 SESSNAP_ETOOBIG);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "read bound of 64");
	expect_in(sessnap_error_last(), f.snap);
	/* Too big for this reader is no verdict on the file. */
	expect_in(sessnap_error_last(), "--read-bound");
	ck_assert_ptr_null(strstr(sessnap_error_last(), "discard"));
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	teardown(&f);
}
END_TEST

/*
 * A header whose id differs from its file name is corrupt, as the scanner
 * says (format.c, the one verdict): without a previous generation the
 * load fails with SESSNAP_ECORRUPT naming both ids, and the raw reader
 * behind adopt and export refuses it the same way.
 */
START_TEST(test_wrong_id_alone)
{
	char name[SESSNAP__NAME_MAX], why[256];
	struct fixture f;
	json_object *got = NULL;
	sessnap__header h;
	size_t len = 0, off = 0;
	char *raw = NULL;

	setup(&f);
	corrupt_wrong_id(f.snap);
	corrupt_delete(f.prev);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id),
			 SESSNAP_ECORRUPT);
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "header names session");
	expect_in(sessnap_error_last(), f.id);
	sessnap__snap_name(name, f.id);
	ck_assert_int_eq(TU_WHY(why, sessnap__snapshot_read_raw(&raw, &len, &h, &off,
						    f.store, name)),
			 SESSNAP_ECORRUPT);
	ck_assert_ptr_null(raw);
	expect_in(why, "header names session");
	ck_assert_int_eq(TU_WHY(why, sessnap__header_read(&h, NULL, f.store, name)),
			 SESSNAP_ECORRUPT);
	expect_in(why, "header names session");
	teardown(&f);
}
END_TEST

/* A 1 GiB sparse file without a previous generation: refused unread. */
START_TEST(test_sparse_alone)
{
	struct fixture f;
	json_object *got = NULL;

	setup(&f);
	corrupt_sparse(f.snap);
	corrupt_delete(f.prev);
	sessnap__fault_arm(SESSNAP__SYS_READ, ULONG_MAX, EIO, 0);
	ck_assert_int_eq(sessnap_store_load(&got, NULL, f.store, f.id),
			 SESSNAP_ETOOBIG);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	expect_in(sessnap_error_last(), "1073741824 bytes");
	teardown(&f);
}
END_TEST

/* Read errors are not verdicts on the content. */
START_TEST(test_read_errors)
{
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;
	int fds;

	setup(&f);
	fds = tu_count_fds();
	sessnap__fault_arm(SESSNAP__SYS_READ, 1, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id),
			 SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "could not be read");
	expect_in(sessnap_error_last(), "Input/output error");
	ck_assert_int_eq(tu_count_fds(), fds);

	sessnap__fault_arm(SESSNAP__SYS_OPEN, 1, EACCES,
			   SESSNAP__FAULT_PERSISTENT);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id),
			 SESSNAP_EPERM);
	sessnap__fault_disarm();
	expect_in(sessnap_error_last(), "Permission denied");

	/*
	 * One failed read of the main file: an error, not the previous
	 * generation - the main file may be intact and newer (as with
	 * SESSNAP_ENEWER), and the next load may read it.
	 */
	sessnap__fault_arm(SESSNAP__SYS_READ, 1, EIO, 0);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id),
			 SESSNAP_EIO);
	sessnap__fault_disarm();
	ck_assert_ptr_null(got);
	expect_in(sessnap_error_last(), "Input/output error");
	expect_in(sessnap_error_last(), "previous generation was not used");
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id), 0);
	ck_assert_uint_eq(info->flags & SESSNAP_LOAD_FROM_PREV, 0);
	json_object_put(got);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

/* A main file of the previous generation's size but other bytes. */
START_TEST(test_swapped_payload)
{
	struct fixture f;
	sessnap_load_info *info = NULL;
	json_object *got = NULL;
	size_t off;

	setup(&f);
	off = payload_offset(f.snap);
	overwrite(f.snap, (off_t)off, "{\"registry\":[9,9,9]}", 20);
	ck_assert_int_eq(sessnap_store_load(&got, &info, f.store, f.id), 0);
	ck_assert(json_object_equal(got, f.a));
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_PREV);
	expect_in(info->notice, "checksum");
	json_object_put(got);
	teardown(&f);
	sessnap_load_info_free(info);
}
END_TEST

Suite *load_suite(void);

Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_load_main);
	tcase_add_loop_test(tc, test_fallback, 0, (int)NDAMAGES);
	tcase_add_test(tc, test_validate_fallback);
	tcase_add_test(tc, test_generations_skip_rejected);
	tcase_add_test(tc, test_generations_skip_corrupt);
	tcase_add_test(tc, test_generations_by_seq);
	tcase_add_test(tc, test_generations_read_error_first);
	tcase_add_test(tc, test_migrate);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_both_bad);
	tcase_add_test(tc, test_main_bad_no_prev);
	tcase_add_test(tc, test_validate_both);
	tcase_add_test(tc, test_newer_main);
	tcase_add_test(tc, test_read_bound);
	tcase_add_test(tc, test_wrong_id_alone);
	tcase_add_test(tc, test_read_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	/* a FIFO must never block the loader: fail fast if it does */
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sparse_alone);
	tcase_add_test(tc, test_migrate_null);
	tcase_add_test(tc, test_swapped_payload);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(load_suite)
