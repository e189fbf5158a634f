/*
 * check_patch.c - patch updates: operations by JSON Pointer on the state
 *
 * sessnap_session_patch() and _patch_text() queue RFC 6902 operations;
 * the saving thread applies them to its copy of the state (patch.c) and
 * saves the result.  Covered here: every operation on objects, arrays and
 * the root, pointer escapes and escaped member names, batches (all or
 * none), refusals at the call (nothing queued) and failures when applied
 * (nothing of the batch saved, the status names the operation, patches
 * refused until a full update recovers), the copy built from an adopted
 * state, pull mode, and a property test: random documents and random
 * operation sequences, the state saved through patches byte for byte the
 * state json-c serializes of the same trees patched in the test.  A child
 * killed with SIGKILL during a patch stream leaves one of the committed
 * states.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "internal.h"
#include "testutil.h"

static sessnap_store *open_store_flags(unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "patchtest";
	opts.flags = flags;
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static sessnap_store *open_store(void)
{
	return open_store_flags(0);
}

static sessnap_session *begin(sessnap_store *store)
{
	sessnap_session *s = NULL;
	int rc;

	rc = sessnap_session_begin(&s, store, NULL);
	ck_assert_msg(rc == 0, "begin: %s", sessnap_error_last());
	return s;
}

static void update_text(sessnap_session *s, const char *text)
{
	int rc = sessnap_session_update_text(s, text, strlen(text));

	ck_assert_msg(rc == 0, "update_text: %s", sessnap_error_last());
}

/* The saved payload of session id, as text (the caller frees it). */
static char *saved(sessnap_store *store, const char *id)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = sessnap_store_load_text(&text, &len, NULL, store, id);
	ck_assert_msg(rc == 0, "load_text: %s", sessnap_error_last());
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

static void assert_saved(sessnap_store *store, sessnap_session *s,
			 const char *want)
{
	char *got;
	int rc;

	rc = sessnap_session_flush(s);
	ck_assert_msg(rc == 0, "flush: %s", sessnap_error_last());
	got = saved(store, sessnap_session_id(s));
	ck_assert_str_eq(got, want);
	free(got);
}

/* One operation with a text value (NULL for remove). */
static int patch1(sessnap_session *s, sessnap_patch_kind op, const char *path,
		  const char *value)
{
	sessnap_patch_text_op o;

	o.op = op;
	o.path = path;
	o.value = value;
	o.value_len = value ? strlen(value) : 0;
	return sessnap_session_patch_text(s, &o, 1);
}

static void ok1(sessnap_session *s, sessnap_patch_kind op, const char *path,
		const char *value)
{
	int rc = patch1(s, op, path, value);

	ck_assert_msg(rc == 0, "patch %d %s: %s", op, path,
		      sessnap_error_last());
}

/* ---- Every operation ---------------------------------------------------- */

static const struct {
	const char *base;
	sessnap_patch_kind op;
	const char *path;
	const char *value;
	const char *want;
} one_ops[] = {
	/* objects */
	{ "{\"a\":1,\"b\":2}", SESSNAP_PATCH_ADD, "/c", "3",
	  "{\"a\":1,\"b\":2,\"c\":3}" },
	{ "{\"a\":1,\"b\":2}", SESSNAP_PATCH_ADD, "/a", "[true]",
	  "{\"a\":[true],\"b\":2}" },
	{ "{}", SESSNAP_PATCH_ADD, "/x", "{\"y\":null}",
	  "{\"x\":{\"y\":null}}" },
	{ "{\"a\":1,\"b\":2}", SESSNAP_PATCH_REPLACE, "/b", "\"two\"",
	  "{\"a\":1,\"b\":\"two\"}" },
	{ "{\"a\":1,\"b\":2,\"c\":3}", SESSNAP_PATCH_REMOVE, "/a", NULL,
	  "{\"b\":2,\"c\":3}" },
	{ "{\"a\":1,\"b\":2,\"c\":3}", SESSNAP_PATCH_REMOVE, "/b", NULL,
	  "{\"a\":1,\"c\":3}" },
	{ "{\"a\":1,\"b\":2,\"c\":3}", SESSNAP_PATCH_REMOVE, "/c", NULL,
	  "{\"a\":1,\"b\":2}" },
	{ "{\"a\":1}", SESSNAP_PATCH_REMOVE, "/a", NULL, "{}" },
	/* nested */
	{ "{\"a\":{\"b\":{\"c\":[1,2]}}}", SESSNAP_PATCH_ADD, "/a/b/c/1", "9",
	  "{\"a\":{\"b\":{\"c\":[1,9,2]}}}" },
	{ "{\"a\":{\"b\":{\"c\":[1,2]}},\"z\":0}", SESSNAP_PATCH_ADD, "/a/d",
	  "\"x\"", "{\"a\":{\"b\":{\"c\":[1,2]},\"d\":\"x\"},\"z\":0}" },
	/* arrays */
	{ "[1,2,3]", SESSNAP_PATCH_ADD, "/0", "0", "[0,1,2,3]" },
	{ "[1,2,3]", SESSNAP_PATCH_ADD, "/1", "{}", "[1,{},2,3]" },
	{ "[1,2,3]", SESSNAP_PATCH_ADD, "/3", "4", "[1,2,3,4]" },
	{ "[1,2,3]", SESSNAP_PATCH_ADD, "/-", "4", "[1,2,3,4]" },
	{ "[]", SESSNAP_PATCH_ADD, "/-", "\"a\"", "[\"a\"]" },
	{ "[]", SESSNAP_PATCH_ADD, "/0", "[]", "[[]]" },
	{ "[1,2,3]", SESSNAP_PATCH_REPLACE, "/2", "\"c\"", "[1,2,\"c\"]" },
	{ "[1,2,3]", SESSNAP_PATCH_REMOVE, "/0", NULL, "[2,3]" },
	{ "[1,2,3]", SESSNAP_PATCH_REMOVE, "/1", NULL, "[1,3]" },
	{ "[1,2,3]", SESSNAP_PATCH_REMOVE, "/2", NULL, "[1,2]" },
	{ "[[1]]", SESSNAP_PATCH_REMOVE, "/0/0", NULL, "[[]]" },
	/* the root */
	{ "{\"a\":1}", SESSNAP_PATCH_ADD, "", "[1]", "[1]" },
	{ "[1]", SESSNAP_PATCH_REPLACE, "", "{\"b\":2}", "{\"b\":2}" },
	/* escapes in the pointer: ~1 is '/', ~0 is '~' */
	{ "{\"a/b\":1,\"m~n\":2}", SESSNAP_PATCH_REPLACE, "/a~1b", "10",
	  "{\"a/b\":10,\"m~n\":2}" },
	{ "{\"a/b\":1,\"m~n\":2}", SESSNAP_PATCH_REMOVE, "/m~0n", NULL,
	  "{\"a/b\":1}" },
	{ "{}", SESSNAP_PATCH_ADD, "/~01", "1", "{\"~1\":1}" },
	/* escaped member names in the text */
	{ "{\"\\u0061\":1,\"q\\\"t\":2}", SESSNAP_PATCH_REPLACE, "/a", "5",
	  "{\"\\u0061\":5,\"q\\\"t\":2}" },
	{ "{\"\\u0061\":1,\"q\\\"t\":2}", SESSNAP_PATCH_REMOVE, "/q\"t", NULL,
	  "{\"\\u0061\":1}" },
	{ "{\"\\u00e9\\ud83d\\ude00\":1}", SESSNAP_PATCH_REPLACE,
	  "/\xc3\xa9\xf0\x9f\x98\x80", "2", "{\"\\u00e9\\ud83d\\ude00\":2}" },
	{ "{\"a\\/b\":1}", SESSNAP_PATCH_REPLACE, "/a~1b", "2",
	  "{\"a\\/b\":2}" },
	/* a new member name json-c escapes */
	{ "{}", SESSNAP_PATCH_ADD, "/q\"\n", "1", "{\"q\\\"\\n\":1}" },
	/* the empty member name */
	{ "{\"\":1}", SESSNAP_PATCH_REPLACE, "/", "2", "{\"\":2}" },
	/* whitespace in a text state is kept around what changes */
	{ "{ \"a\" : [ 1 , 2 ] , \"b\" : 3 }", SESSNAP_PATCH_REMOVE, "/a/0",
	  NULL, "{ \"a\" : [ 2 ] , \"b\" : 3 }" },
	{ "{ \"a\" : [ 1 , 2 ] , \"b\" : 3 }", SESSNAP_PATCH_ADD, "/c", "4",
	  "{ \"a\" : [ 1 , 2 ] , \"b\" : 3,\"c\":4 }" },
	/* strings with brackets and quotes are skipped as strings */
	{ "{\"a\":\"}]\\\"[{\",\"b\":1}", SESSNAP_PATCH_REPLACE, "/b", "2",
	  "{\"a\":\"}]\\\"[{\",\"b\":2}" },
};

START_TEST(test_one_op)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);

	update_text(s, one_ops[_i].base);
	ok1(s, one_ops[_i].op, one_ops[_i].path, one_ops[_i].value);
	assert_saved(store, s, one_ops[_i].want);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* The json-c form: values are serialized as update() serializes them. */
START_TEST(test_object_values)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	json_object *state = json_object_new_object(), *v;
	sessnap_patch_op ops[3];

	json_object_object_add(state, "path", json_object_new_string("/a/b"));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_double(0.5));
	json_object_array_add(v, json_object_new_string("x/y"));
	ops[0] = (sessnap_patch_op){ SESSNAP_PATCH_ADD, "/list", v };
	ops[1] = (sessnap_patch_op){ SESSNAP_PATCH_ADD, "/nil", NULL };
	ops[2] = (sessnap_patch_op){ SESSNAP_PATCH_REPLACE, "/path", v };
	ck_assert_int_eq(sessnap_session_patch(s, ops, 3), 0);
	/* the values were serialized during the call: changing them now
	 * changes nothing queued */
	json_object_array_add(v, json_object_new_int(7));
	assert_saved(store, s,
		     "{\"path\":[0.5,\"x/y\"],\"list\":[0.5,\"x/y\"],"
		     "\"nil\":null}");
	json_object_put(v);
	json_object_put(state);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* Operations apply in order, batches in order, after the update before. */
START_TEST(test_order)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_patch_text_op ops[3] = {
		{ SESSNAP_PATCH_ADD, "/rows", "[]", 2 },
		{ SESSNAP_PATCH_ADD, "/rows/-", "1", 1 },
		{ SESSNAP_PATCH_ADD, "/rows/0", "0", 1 },
	};

	update_text(s, "{\"v\":1}");
	ck_assert_int_eq(sessnap_session_patch_text(s, ops, 3), 0);
	ok1(s, SESSNAP_PATCH_REPLACE, "/v", "2");
	assert_saved(store, s, "{\"v\":2,\"rows\":[0,1]}");
	/* a full update replaces the copy and drops patches queued before */
	ok1(s, SESSNAP_PATCH_REPLACE, "/v", "3");
	update_text(s, "{\"w\":0}");
	ok1(s, SESSNAP_PATCH_ADD, "/x", "1");
	assert_saved(store, s, "{\"w\":0,\"x\":1}");
	/* the copy carries on from the saved state */
	ok1(s, SESSNAP_PATCH_REMOVE, "/w", NULL);
	assert_saved(store, s, "{\"x\":1}");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- Refused at the call --------------------------------------------------
 */

static const struct {
	sessnap_patch_kind op;
	const char *path;
	const char *value;
	int rc;
	const char *msg;
} refused[] = {
	{ SESSNAP_PATCH_ADD, "a", "1", SESSNAP_EINVAL, "start with '/'" },
	{ SESSNAP_PATCH_ADD, "/a~", "1", SESSNAP_EINVAL, "~0" },
	{ SESSNAP_PATCH_ADD, "/a~2", "1", SESSNAP_EINVAL, "~1" },
	{ SESSNAP_PATCH_REMOVE, "", NULL, SESSNAP_EINVAL, "no state" },
	{ (sessnap_patch_kind)7, "/a", "1", SESSNAP_EINVAL, "unknown" },
	{ SESSNAP_PATCH_ADD, "/a", "tru", SESSNAP_EINVAL, "byte" },
	{ SESSNAP_PATCH_ADD, "/a", "1 2", SESSNAP_EINVAL, "byte" },
	{ SESSNAP_PATCH_ADD, "/a", "", SESSNAP_EINVAL, "empty" },
	{ SESSNAP_PATCH_ADD, "/\xff", "1", SESSNAP_EINVAL, "UTF-8" },
	{ SESSNAP_PATCH_ADD, NULL, "1", SESSNAP_EINVAL, "NULL" },
	{ SESSNAP_PATCH_REPLACE, "/a", NULL, SESSNAP_EINVAL, "NULL" },
};

START_TEST(test_refused)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	int rc;

	update_text(s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	rc = patch1(s, refused[_i].op, refused[_i].path, refused[_i].value);
	ck_assert_int_eq(rc, refused[_i].rc);
	ck_assert_msg(strstr(sessnap_error_last(), refused[_i].msg) != NULL,
		      "message: %s", sessnap_error_last());
	ck_assert_msg(strstr(sessnap_error_last(), "nothing was queued"),
		      "message: %s", sessnap_error_last());
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert(!st.pending);
	assert_saved(store, s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* One bad operation refuses its whole batch at the call. */
START_TEST(test_refused_batch)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_patch_text_op ops[2] = {
		{ SESSNAP_PATCH_ADD, "/b", "2", 1 },
		{ SESSNAP_PATCH_ADD, "b", "3", 1 },
	};

	update_text(s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_patch_text(s, ops, 2), SESSNAP_EINVAL);
	ck_assert_msg(strstr(sessnap_error_last(), "operation 1") != NULL,
		      "message: %s", sessnap_error_last());
	ck_assert_int_eq(sessnap_session_patch_text(s, ops, 0), SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_patch_text(s, NULL, 1),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_patch_text(NULL, ops, 1),
			 SESSNAP_EINVAL);
	assert_saved(store, s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_no_state)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);

	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "", "{}"),
			 SESSNAP_ESTATE);
	ck_assert_msg(strstr(sessnap_error_last(), "no state"), "message: %s",
		      sessnap_error_last());
	/* a label alone is no state either */
	ck_assert_int_eq(sessnap_session_set_label(s, "x"), 0);
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "/a", "1"),
			 SESSNAP_ESTATE);
	update_text(s, "{}");
	ok1(s, SESSNAP_PATCH_ADD, "/a", "1");
	assert_saved(store, s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* Nesting: the pointer's tokens count with the value's own depth. */
START_TEST(test_too_deep)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	size_t n = SESSNAP__JSON_DEPTH, i;
	char *deep = malloc(2 * n + 1), *path = malloc(2 * n + 2);
	json_object *v = json_object_new_array();
	sessnap_patch_op op;

	/* n nested arrays: the loader's limit, fine alone */
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	deep[2 * n] = '\0';
	update_text(s, "{\"a\":{}}");
	/* under "/a" one level more: too deep */
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "/a", deep),
			 SESSNAP_EINVAL);
	ck_assert_msg(strstr(sessnap_error_last(), "nested"), "message: %s",
		      sessnap_error_last());
	/* one bracket pair less fits */
	deep[n - 1] = ' ';
	deep[n] = ' ';
	ok1(s, SESSNAP_PATCH_ADD, "/a", deep);
	/* a pointer as deep as the limit, whatever the value */
	for (i = 0; i < SESSNAP__JSON_DEPTH; i++) {
		path[2 * i] = '/';
		path[2 * i + 1] = 'x';
	}
	path[2 * SESSNAP__JSON_DEPTH] = '\0';
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, path, "1"),
			 SESSNAP_ETOOBIG);
	/* the json-c form: its depth plus the pointer's */
	json_object_array_add(v, json_object_new_array());
	/* 1022 tokens and a depth of 1: a value inside 1023 containers */
	op = (sessnap_patch_op){ SESSNAP_PATCH_ADD, path + 2 * 2, v };
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), 0);
	op.path = path + 2 * 1;
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), SESSNAP_ETOOBIG);
	json_object_put(v);
	free(deep);
	free(path);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_too_big)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s;
	size_t max, n;
	char *big;

	opts.dir = tu_dir;
	opts.app = "patchtest";
	opts.read_bound = 16384;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	s = begin(store);
	max = sessnap__payload_max(store);
	n = max + 1;
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[0] = '"';
	big[n - 1] = '"';
	big[n] = '\0';
	update_text(s, "{\"a\":1}");
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "/b", big),
			 SESSNAP_ETOOBIG);
	ck_assert_msg(strstr(sessnap_error_last(), "read bound"), "message: %s",
		      sessnap_error_last());
	/* a value that fits alone, but not beside the state: the batch
	 * fails when applied */
	big[max - 9] = '"';
	big[max - 8] = '\0';
	ok1(s, SESSNAP_PATCH_ADD, "/b", big);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EPATCH);
	ck_assert_msg(strstr(sessnap_error_last(), "read bound"), "message: %s",
		      sessnap_error_last());
	assert_saved(store, s, "{\"a\":1}");
	free(big);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* A forked child must not patch the parent's session. */
START_TEST(test_fork)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	int status;
	pid_t pid;

	update_text(s, "{\"a\":1}");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(patch1(s, SESSNAP_PATCH_ADD, "/b", "2") ==
			      SESSNAP_ESTATE ?
			  0 :
			  1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ok1(s, SESSNAP_PATCH_ADD, "/c", "3");
	assert_saved(store, s, "{\"a\":1,\"c\":3}");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- Failing when applied ----------------------------------------------- */

static const struct {
	sessnap_patch_kind op;
	const char *path;
	const char *value;
	const char *msg;
} misses[] = {
	{ SESSNAP_PATCH_REPLACE, "/nope", "1", "no member \"nope\"" },
	{ SESSNAP_PATCH_REMOVE, "/nope", NULL, "no member \"nope\"" },
	{ SESSNAP_PATCH_ADD, "/nope/x", "1", "no member \"nope\"" },
	{ SESSNAP_PATCH_ADD, "/list/4", "1", "past the end" },
	{ SESSNAP_PATCH_REPLACE, "/list/3", "1", "past the end" },
	{ SESSNAP_PATCH_REMOVE, "/list/-", NULL, "\"-\"" },
	{ SESSNAP_PATCH_REPLACE, "/list/01", "1", "not an array index" },
	{ SESSNAP_PATCH_ADD, "/list/x", "1", "not an array index" },
	{ SESSNAP_PATCH_ADD, "/n/x", "1", "not an object or array" },
	{ SESSNAP_PATCH_REPLACE, "/list/99999999999999999999999", "1",
	  "past the end" },
	{ SESSNAP_PATCH_ADD, "/dup/k", "1", "more than once" },
};

#define MISS_BASE "{\"list\":[1,2,3],\"n\":5,\"dup\":{\"k\":1,\"k\":2}}"

START_TEST(test_apply_fails)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	sessnap_patch_text_op ops[2] = {
		{ SESSNAP_PATCH_ADD, "/first", "1", 1 },
		{ misses[_i].op, misses[_i].path, misses[_i].value,
		  misses[_i].value ? strlen(misses[_i].value) : 0 },
	};
	char want[128];

	update_text(s, MISS_BASE);
	ok1(s, SESSNAP_PATCH_ADD, "/before", "0");
	/* the failing batch: its first operation applies, then not */
	ck_assert_int_eq(sessnap_session_patch_text(s, ops, 2), 0);
	ok1(s, SESSNAP_PATCH_ADD, "/after", "2");
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EPATCH);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.last_error, SESSNAP_EPATCH);
	ck_assert_msg(strstr(st.last_message, sessnap_session_id(s)) &&
			  strstr(st.last_message, "operation 1") &&
			  strstr(st.last_message, misses[_i].path) &&
			  strstr(st.last_message, misses[_i].msg),
		      "status message: %s", st.last_message);
	ck_assert_uint_eq(st.failures, 0);
	/* the batch before was saved, nothing of the failed one, nor after */
	snprintf(want, sizeof(want), "%.*s,\"before\":0}",
		 (int)strlen(MISS_BASE) - 1, MISS_BASE);
	assert_saved(store, s, want);
	/* patches are refused until the next full update */
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "/x", "1"),
			 SESSNAP_EPATCH);
	ck_assert_msg(strstr(sessnap_error_last(), "full update"),
		      "message: %s", sessnap_error_last());
	update_text(s, "{\"fresh\":1}");
	ok1(s, SESSNAP_PATCH_ADD, "/x", "1");
	assert_saved(store, s, "{\"fresh\":1,\"x\":1}");
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.last_error, 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * A state json-c wrote names no member twice, and the scan may stop at
 * the member it finds; a value given as text may, and from then on the
 * scan goes on to refuse a name found twice.
 */
START_TEST(test_text_dup)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	json_object *state = json_object_new_object();
	json_object *five = json_object_new_int(5);
	sessnap_patch_op op = { SESSNAP_PATCH_REPLACE, "/d/k", five };

	json_object_object_add(state, "a", json_object_new_int(1));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ok1(s, SESSNAP_PATCH_ADD, "/d", "{\"k\":1,\"k\":2}");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	/* an operation with an object, after the text one */
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EPATCH);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_msg(strstr(st.last_message, "more than once"),
		      "status message: %s", st.last_message);
	assert_saved(store, s, "{\"a\":1,\"d\":{\"k\":1,\"k\":2}}");
	/* a state given as text, patched with objects */
	update_text(s, "{\"d\":{\"k\":1,\"k\":2}}");
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EPATCH);
	assert_saved(store, s, "{\"d\":{\"k\":1,\"k\":2}}");
	json_object_put(five);
	json_object_put(state);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- Where the copy comes from ------------------------------------------ */

/* An adopted session patches its recovered state, reread once. */
START_TEST(test_adopted)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store), *a = NULL;
	char id[SESSNAP_ID_LEN + 1];

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	update_text(s, "{\"doc\":[\"a\"]}");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_session_adopt(&a, NULL, NULL, store, id), 0);
	ok1(a, SESSNAP_PATCH_ADD, "/doc/-", "\"b\"");
	assert_saved(store, a, "{\"doc\":[\"a\",\"b\"]}");
	ok1(a, SESSNAP_PATCH_ADD, "/doc/0", "\"z\"");
	assert_saved(store, a, "{\"doc\":[\"z\",\"a\",\"b\"]}");
	ck_assert_int_eq(sessnap_session_end(a, SESSNAP_SESSION_KEEP), 0);
	sessnap_store_close(store);
}
END_TEST

/* A patch that leaves the bytes as they were is not written again. */
START_TEST(test_identical_skipped)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };

	update_text(s, "{\"a\":1}");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ok1(s, SESSNAP_PATCH_REPLACE, "/a", "1");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_uint_eq(st.saves, 1);
	ck_assert_uint_eq(st.skips, 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* Pull mode: a collect callback may hand its change over as patches. */
static json_object *collect_patch(sessnap_session *s, void *payload)
{
	int *calls = payload;

	(*calls)++;
	ck_assert_int_eq(patch1(s, SESSNAP_PATCH_ADD, "/n", "1"), 0);
	return NULL;
}

START_TEST(test_pull)
{
	sessnap_store *store = open_store_flags(SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = begin(store);
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	int calls = 0;

	update_text(s, "{}");
	ck_assert_int_eq(sessnap_session_set_collect(s, collect_patch, &calls),
			 0);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	assert_saved(store, s, "{\"n\":1}");
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	/* handed over: not touched any more, nothing pending */
	ck_assert(!st.pending);
	ck_assert_int_eq(sessnap_session_save_due(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * The writer thread applies patches on its own, coalescing those that
 * arrive within one interval into one save; a new label goes with them.
 */
START_TEST(test_writer_coalesces)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	sessnap_store *store = NULL;
	sessnap_session *s;
	sessnap_info **infos = NULL;
	size_t n = 0, i;
	char num[16], *text;
	int tries;

	opts.dir = tu_dir;
	opts.app = "patchtest";
	opts.autosave_interval_ms = 200;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	s = begin(store);
	update_text(s, "{\"n\":[]}");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	for (i = 0; i < 50; i++) {
		snprintf(num, sizeof(num), "%zu", i);
		ok1(s, SESSNAP_PATCH_ADD, "/n/-", num);
	}
	ck_assert_int_eq(sessnap_session_set_label(s, "patched"), 0);
	for (tries = 0; tries < 500; tries++) {
		ck_assert_int_eq(sessnap_session_status(&st, s), 0);
		if (!st.pending)
			break;
		usleep(10000);
	}
	ck_assert(!st.pending);
	/* one save for the 50 batches and the label */
	ck_assert_uint_eq(st.saves, 2);
	text = saved(store, sessnap_session_id(s));
	ck_assert_uint_eq(strlen(text),
			  strlen("{\"n\":[]}") + 10 * 2 + 40 * 3 - 1);
	ck_assert(strncmp(text, "{\"n\":[0,1,2,", 12) == 0);
	free(text);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->label, "patched");
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* end(KEEP) saves the patched state; end(0) drops queued patches. */
START_TEST(test_end)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	char id[SESSNAP_ID_LEN + 1], *text;

	strlcpy(id, sessnap_session_id(s), sizeof(id));
	update_text(s, "{\"a\":1}");
	ok1(s, SESSNAP_PATCH_ADD, "/b", "2");
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	text = saved(store, id);
	ck_assert_str_eq(text, "{\"a\":1,\"b\":2}");
	free(text);
	s = begin(store);
	update_text(s, "{\"a\":1}");
	ok1(s, SESSNAP_PATCH_ADD, "/b", "2");
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- The property: patches give json-c's bytes of the patched tree ------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: seeded per test, so a failure is reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Member names with every character a pointer or a JSON string escapes. */
static const char *const names[] = {
	"a",	    "b",   "c",	 "~",  "/", "~1", "a/b", "m~n",
	"\xc3\xa9", "q\"", "\\", "\n", "",  "0",  "-",	 "rows",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static json_object *gen(int depth)
{
	json_object *o;
	size_t n, i;

	switch (below(depth > 0 ? 9 : 6)) {
	case 0:
		return NULL; /* null */
	case 1:
		return json_object_new_boolean((int)below(2));
	case 2:
		return json_object_new_int64((int64_t)below(2000) - 1000);
	case 3:
		return json_object_new_double((double)below(1000) / 8.0);
	case 4:
		return json_object_new_string(names[below(N_NAMES)]);
	case 5:
		return json_object_new_string("}]\"[{,:");
	case 6:
	case 7:
		o = json_object_new_object();
		n = below(5);
		for (i = 0; i < n; i++)
			json_object_object_add(o, names[below(N_NAMES)],
					       gen(depth - 1));
		return o;
	default:
		o = json_object_new_array();
		n = below(5);
		for (i = 0; i < n; i++)
			json_object_array_add(o, gen(depth - 1));
		return o;
	}
}

/* Append the token, escaped as RFC 6901 wants, to the pointer. */
static void ptr_add(char *ptr, size_t size, const char *tok)
{
	size_t n = strlen(ptr);

	ck_assert_uint_lt(n + 1, size);
	ptr[n++] = '/';
	for (; *tok != '\0'; tok++) {
		ck_assert_uint_lt(n + 3, size);
		if (*tok == '~') {
			ptr[n++] = '~';
			ptr[n++] = '0';
		} else if (*tok == '/') {
			ptr[n++] = '~';
			ptr[n++] = '1';
		} else {
			ptr[n++] = *tok;
		}
	}
	ptr[n] = '\0';
}

/* Insert v at index i of array a (json-c 0.16 has no insert call). */
static void array_insert(json_object *a, size_t i, json_object *v)
{
	size_t n = json_object_array_length(a), j;
	json_object *e;

	json_object_array_add(a, NULL);
	for (j = n; j > i; j--) {
		e = json_object_get(json_object_array_get_idx(a, j - 1));
		json_object_array_put_idx(a, j, e);
	}
	json_object_array_put_idx(a, i, v);
}

/*
 * The operation's own copy of a value that goes into the tree: a later
 * operation of the same batch may change the tree's, and a batch's values
 * are serialized when it is queued.
 */
static json_object *value_copy(json_object *v)
{
	json_object *c = NULL;

	if (v != NULL)
		ck_assert_int_eq(json_object_deep_copy(v, &c, NULL), 0);
	return c;
}

struct rop {
	sessnap_patch_kind op;
	char path[256];
	json_object *value;
	bool fails; /* the operation names a target that is not there */
};

/*
 * A random operation on *tree, applied to it as RFC 6902 says (or not,
 * when it is meant to fail).  r->value is a reference of its own.
 */
static void random_op(struct rop *r, json_object **tree)
{
	json_object *parent = NULL, *cur = *tree, *v;
	const char *key = NULL;
	size_t idx = 0, n, steps = below(4);
	int kind;

	r->path[0] = '\0';
	r->fails = false;
	r->value = NULL;
	/* walk down a few levels into existing containers */
	while (steps-- > 0 && cur != NULL &&
	       (json_object_is_type(cur, json_type_object) ||
		json_object_is_type(cur, json_type_array))) {
		if (json_object_is_type(cur, json_type_object)) {
			n = (size_t)json_object_object_length(cur);
			if (n == 0)
				break;
			idx = below(n);
			json_object_object_foreach(cur, k, val)
			{
				if (idx-- == 0) {
					ptr_add(r->path, sizeof(r->path), k);
					cur = val;
					break;
				}
			}
		} else {
			n = json_object_array_length(cur);
			if (n == 0)
				break;
			idx = below(n);
			snprintf(r->path + strlen(r->path),
				 sizeof(r->path) - strlen(r->path), "/%zu",
				 idx);
			cur = json_object_array_get_idx(cur, idx);
		}
	}
	kind = (int)below(10);
	if (kind == 0 || cur == NULL ||
	    (!json_object_is_type(cur, json_type_object) &&
	     !json_object_is_type(cur, json_type_array))) {
		/* replace the value reached (or the whole state) */
		v = gen(2);
		r->op = below(2) ? SESSNAP_PATCH_REPLACE : SESSNAP_PATCH_ADD;
		r->value = value_copy(v);
		if (r->path[0] == '\0') {
			json_object_put(*tree);
			*tree = v;
			return;
		}
		/* set it through its parent: walk again */
		parent = *tree;
		{
			char *p = r->path + 1, *slash, tok[256];
			size_t tl, o, i2;

			for (;;) {
				slash = strchr(p, '/');
				tl = slash ? (size_t)(slash - p) : strlen(p);
				for (o = 0, i2 = 0; i2 < tl; i2++) {
					if (p[i2] == '~') {
						tok[o++] = p[i2 + 1] == '0' ?
							       '~' :
							       '/';
						i2++;
					} else {
						tok[o++] = p[i2];
					}
				}
				tok[o] = '\0';
				if (slash == NULL)
					break;
				if (json_object_is_type(parent,
							json_type_object))
					parent =
					    json_object_object_get(parent, tok);
				else
					parent = json_object_array_get_idx(
					    parent, (size_t)atol(tok));
				p = slash + 1;
			}
			/* "add" at an array index inserts: replace there */
			if (json_object_is_type(parent, json_type_object)) {
				json_object_object_add(parent, tok, v);
			} else {
				r->op = SESSNAP_PATCH_REPLACE;
				json_object_array_put_idx(parent,
							  (size_t)atol(tok), v);
			}
		}
		return;
	}
	parent = cur;
	if (json_object_is_type(parent, json_type_object)) {
		key = names[below(N_NAMES)];
		ptr_add(r->path, sizeof(r->path), key);
		switch (below(4)) {
		case 0: /* remove */
			r->op = SESSNAP_PATCH_REMOVE;
			if (json_object_object_get_ex(parent, key, NULL))
				json_object_object_del(parent, key);
			else
				r->fails = true;
			return;
		case 1: /* replace */
			r->op = SESSNAP_PATCH_REPLACE;
			v = gen(2);
			r->value = value_copy(v);
			if (json_object_object_get_ex(parent, key, NULL))
				json_object_object_add(parent, key, v);
			else {
				r->fails = true;
				json_object_put(v);
			}
			return;
		default: /* add: new or in place */
			r->op = SESSNAP_PATCH_ADD;
			v = gen(2);
			r->value = value_copy(v);
			json_object_object_add(parent, key, v);
			return;
		}
	}
	n = json_object_array_length(parent);
	switch (below(4)) {
	case 0:
		r->op = SESSNAP_PATCH_REMOVE;
		idx = below(n + 2);
		snprintf(r->path + strlen(r->path),
			 sizeof(r->path) - strlen(r->path), "/%zu", idx);
		if (idx < n)
			json_object_array_del_idx(parent, idx, 1);
		else
			r->fails = true;
		return;
	case 1:
		r->op = SESSNAP_PATCH_REPLACE;
		idx = below(n + 1);
		snprintf(r->path + strlen(r->path),
			 sizeof(r->path) - strlen(r->path), "/%zu", idx);
		v = gen(2);
		r->value = value_copy(v);
		if (idx < n)
			json_object_array_put_idx(parent, idx, v);
		else {
			r->fails = true;
			json_object_put(v);
		}
		return;
	default:
		r->op = SESSNAP_PATCH_ADD;
		v = gen(2);
		r->value = value_copy(v);
		if (below(3) == 0) {
			strlcat(r->path, "/-", sizeof(r->path));
			json_object_array_add(parent, v);
			return;
		}
		idx = below(n + 2);
		snprintf(r->path + strlen(r->path),
			 sizeof(r->path) - strlen(r->path), "/%zu", idx);
		if (idx <= n)
			array_insert(parent, idx, v);
		else {
			r->fails = true;
			json_object_put(v);
		}
		return;
	}
}

static char *serialize(json_object *tree, size_t *len)
{
	const char *str = json_object_to_json_string_length(
	    tree, SESSNAP__PAYLOAD_FLAGS, len);

	return strdup(str);
}

/*
 * The pure part, many cases: random documents, random operations applied
 * to the text by sessnap__patch_apply() and to the tree by json-c; the
 * text must be json-c's serialization of the tree after every operation,
 * and unchanged by one that fails.
 */
START_TEST(test_property_apply)
{
	size_t doc, k, len, cap, want_len, cases = 0, failures = 0;
	char *text, *want;
	json_object *tree;
	sessnap__patch_batch *b;
	sessnap_patch_op op;
	struct rop r;
	int rc;

	rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	for (doc = 0; doc < 300; doc++) {
		tree = gen(4);
		text = serialize(tree, &len);
		cap = len + 1;
		for (k = 0; k < 30; k++) {
			random_op(&r, &tree);
			op = (sessnap_patch_op){ r.op, r.path, r.value };
			rc = sessnap__patch_batch_new(&b, &op, NULL, 1,
						      SIZE_MAX / 4);
			ck_assert_msg(rc == 0, "batch: %s",
				      sessnap_error_last());
			/* json-c wrote the text: odd seeds let the scan
			 * stop at the member found */
			rc = sessnap__patch_apply(&text, &len, &cap, b, 0,
						  SIZE_MAX / 4, _i % 2);
			want = serialize(tree, &want_len);
			ck_assert_msg(rc == (r.fails ? SESSNAP_EPATCH : 0),
				      "seed %d doc %zu op %zu: %s %s: rc %d "
				      "(%s)",
				      _i, doc, k,
				      sessnap__patch_kind_name(r.op), r.path,
				      rc, sessnap_error_last());
			ck_assert_msg(
			    len == want_len && memcmp(text, want, len) == 0 &&
				text[len] == '\0',
			    "seed %d doc %zu op %zu: %s %s:\n got "
			    "%s\nwant %s",
			    _i, doc, k, sessnap__patch_kind_name(r.op), r.path,
			    text, want);
			cases++;
			failures += r.fails;
			free(want);
			free(b);
			json_object_put(r.value);
		}
		free(text);
		json_object_put(tree);
	}
	/* the mix holds every kind of case */
	ck_assert_uint_gt(failures, cases / 20);
	ck_assert_uint_lt(failures, cases / 2);
}
END_TEST

/*
 * The same property through sessions: batches of random operations
 * queued, saved, loaded back; after a batch that fails, a full update of
 * the tree recovers.  The saved state equals what a full update of the
 * same tree saves.
 */
START_TEST(test_property_saved)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s, *f;
	json_object *tree, *before;
	sessnap_patch_op ops[3];
	struct rop r[3];
	size_t doc, k, n, i;
	char *got, *want;
	bool fails;
	int rc;

	opts.dir = tu_dir;
	opts.app = "patchtest";
	opts.durability = SESSNAP_DURABILITY_NONE;
	opts.flags = SESSNAP_STORE_NOTHREAD;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	rng_state = 0x243f6a8885a308d3ULL;
	for (doc = 0; doc < 40; doc++) {
		s = begin(store);
		f = begin(store);
		tree = gen(4);
		ck_assert_int_eq(sessnap_session_update(s, tree), 0);
		for (k = 0; k < 25; k++) {
			/* a batch of up to three; the tree keeps the
			 * state before it in case the batch fails */
			before = NULL;
			if (tree != NULL) /* NULL is JSON null */
				ck_assert_int_eq(
				    json_object_deep_copy(tree, &before, NULL),
				    0);
			n = 1 + below(3);
			fails = false;
			for (i = 0; i < n; i++) {
				random_op(&r[i], &tree);
				ops[i] = (sessnap_patch_op){ r[i].op, r[i].path,
							     r[i].value };
				fails = fails || r[i].fails;
			}
			ck_assert_int_eq(sessnap_session_patch(s, ops, n), 0);
			for (i = 0; i < n; i++)
				json_object_put(r[i].value);
			rc = sessnap_session_flush(s);
			if (fails) {
				ck_assert_int_eq(rc, SESSNAP_EPATCH);
				json_object_put(tree);
				tree = before;
				got = saved(store, sessnap_session_id(s));
				want = serialize(tree, &i);
				ck_assert_str_eq(got, want);
				free(got);
				free(want);
				/* recover with a full update */
				ck_assert_int_eq(
				    sessnap_session_update(s, tree), 0);
				continue;
			}
			json_object_put(before);
			ck_assert_msg(rc == 0, "flush: %s",
				      sessnap_error_last());
			/* the same tree by a full update, elsewhere */
			ck_assert_int_eq(sessnap_session_update(f, tree), 0);
			ck_assert_int_eq(sessnap_session_flush(f), 0);
			got = saved(store, sessnap_session_id(s));
			want = saved(store, sessnap_session_id(f));
			ck_assert_msg(strcmp(got, want) == 0,
				      "doc %zu batch %zu:\n got %s\nwant %s",
				      doc, k, got, want);
			free(got);
			free(want);
		}
		json_object_put(tree);
		ck_assert_int_eq(sessnap_session_end(s, 0), 0);
		ck_assert_int_eq(sessnap_session_end(f, 0), 0);
	}
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * Memory: a session never patched keeps no copy; a patched one keeps one
 * state's text and at most an eighth more, however its patches grew it.
 */
START_TEST(test_memory)
{
	sessnap_store *store = open_store();
	sessnap_session *s = begin(store);
	size_t n = 1 << 20, i;
	char *big = malloc(n + 1);

	/* [1,1,...,11]: n bytes */
	for (i = 0; i < n; i++)
		big[i] = i % 2 ? '1' : ',';
	big[0] = '[';
	big[n - 2] = '1';
	big[n - 1] = ']';
	big[n] = '\0';
	update_text(s, big);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_ptr_null(s->copy);
	ok1(s, SESSNAP_PATCH_ADD, "/0", "2");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_ptr_nonnull(s->copy);
	ck_assert_uint_eq(s->copy_len, n + 2);
	ck_assert_uint_le(s->copy_cap, s->copy_len + s->copy_len / 8 + 2);
	for (i = 0; i < 500; i++)
		ok1(s, SESSNAP_PATCH_ADD, "/-", "\"grow\"");
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(s->copy_len, n + 2 + 500 * 7);
	ck_assert_uint_le(s->copy_cap, s->copy_len + s->copy_len / 8 + 2);
	printf("# patch copy: %zu bytes allocated for a state of %zu\n",
	       s->copy_cap, s->copy_len);
	fflush(stdout);
	/* a patched session's full update becomes its copy: no reread */
	update_text(s, big);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_ptr_nonnull(s->copy);
	ck_assert_uint_eq(s->copy_len, n);
	ck_assert_int_eq(memcmp(s->copy, big, n), 0);
	free(big);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- kill -9 during a patch stream ----------------------------------------
 */

/*
 * The child: a session whose state is {"n":[0..m-1],"last":m-1} after m
 * batches of two operations (append m-1, set "last").  It patches without
 * end, flushing every third batch and reporting the count after each flush
 * on the pipe; the writer saves the others on its own every 5 ms.
 */
static void patch_stream(int wfd)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_patch_text_op ops[2];
	char num[32];
	uint32_t m;

	opts.dir = tu_dir;
	opts.app = "patchtest";
	opts.durability = SESSNAP_DURABILITY_NONE;
	opts.autosave_interval_ms = 5;
	if (sessnap_store_open(&store, &opts) < 0 ||
	    sessnap_session_begin(&s, store, NULL) < 0 ||
	    write(wfd, sessnap_session_id(s), SESSNAP_ID_LEN) !=
		SESSNAP_ID_LEN ||
	    sessnap_session_update_text(s, "{\"n\":[],\"last\":-1}", 18) < 0 ||
	    sessnap_session_flush(s) < 0)
		_exit(2);
	for (m = 1;; m++) {
		snprintf(num, sizeof(num), "%u", m - 1);
		ops[0] = (sessnap_patch_text_op){ SESSNAP_PATCH_ADD, "/n/-",
						  num, strlen(num) };
		ops[1] = (sessnap_patch_text_op){ SESSNAP_PATCH_REPLACE,
						  "/last", num, strlen(num) };
		if (sessnap_session_patch_text(s, ops, 2) < 0)
			_exit(3);
		if (m % 3 == 0) {
			if (sessnap_session_flush(s) < 0 ||
			    write(wfd, &m, sizeof(m)) != sizeof(m))
				_exit(4);
		}
	}
}

START_TEST(test_kill9)
{
	char id[SESSNAP_ID_LEN + 1];
	sessnap_store *store;
	json_object *st = NULL, *n, *e;
	uint32_t got, committed = 0;
	size_t i, len;
	int fds[2], status;
	ssize_t r;
	pid_t pid;

	srand((unsigned int)_i + 1);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		patch_stream(fds[1]);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], id, SESSNAP_ID_LEN), SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	/* wait for a random number of flushes, then a random moment more */
	for (i = 0, len = 1 + (size_t)(rand() % 40); i < len; i++) {
		r = read(fds[0], &got, sizeof(got));
		ck_assert_int_eq(r, (ssize_t)sizeof(got));
		committed = got;
	}
	usleep((useconds_t)(rand() % 3000));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	while (read(fds[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
		committed = got;
	close(fds[0]);

	store = open_store();
	ck_assert_msg(sessnap_store_load(&st, NULL, store, id) == 0, "load: %s",
		      sessnap_error_last());
	/* a committed state: m whole batches, m at least what was flushed */
	ck_assert(json_object_object_get_ex(st, "n", &n));
	len = json_object_array_length(n);
	ck_assert_uint_ge(len, committed);
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(n, i);
		ck_assert_int_eq(json_object_get_int64(e), (int64_t)i);
	}
	ck_assert(json_object_object_get_ex(st, "last", &e));
	ck_assert_int_eq(json_object_get_int64(e), (int64_t)len - 1);
	json_object_put(st);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

Suite *patch_suite(void);

Suite *patch_suite(void)
{
	Suite *s = suite_create("patch");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_one_op, 0,
			    (int)(sizeof(one_ops) / sizeof(one_ops[0])));
	tcase_add_test(tc, test_object_values);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_adopted);
	tcase_add_test(tc, test_identical_skipped);
	tcase_add_test(tc, test_pull);
	tcase_add_test(tc, test_end);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_writer_coalesces);
	suite_add_tcase(s, tc);

	tc = tcase_create("property");
	tu_tcase_add_tmpdir(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_property_apply, 0, 4);
	tcase_add_test(tc, test_property_saved);
	tcase_add_loop_test(tc, test_kill9, 0, 12);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_refused, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, test_refused_batch);
	tcase_add_test(tc, test_no_state);
	tcase_add_test(tc, test_too_deep);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_fork);
	tcase_add_test(tc, test_text_dup);
	tcase_add_loop_test(tc, test_apply_fails, 0,
			    (int)(sizeof(misses) / sizeof(misses[0])));
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(patch_suite)
