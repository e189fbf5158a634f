/*
 * check_text.c - states as JSON text: in, out, and through the callbacks
 *
 * sessnap_session_update_text() must accept exactly what it can promise
 * to load back, byte for byte, and refuse everything else at the call
 * with nothing on disk changed: invalid text (truncated, two values,
 * trailing garbage, empty, json-c's lenient extensions), nesting deeper
 * than the loader's limit, and text too big for the read bound.  The
 * scanner behind it is checked against the loader's own parser
 * (sessnap__snapshot_parse) over hand-written and generated texts: every
 * text it accepts, the loader must accept.  sessnap_store_load_text(),
 * sessnap_session_adopt_text() and the migrate_text / validate_text
 * callbacks are covered with the fallback to the previous generation.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "internal.h"
#include "testutil.h"

static sessnap_store *open_store_opts(sessnap_store_options *opts)
{
	sessnap_store *store = NULL;
	int rc;

	opts->dir = tu_dir;
	opts->app = "texttest";
	rc = sessnap_store_open(&store, opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

static sessnap_store *open_store(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	return open_store_opts(&opts);
}

static char *snap_path(char *out, size_t size, const char *id)
{
	char name[SESSNAP__NAME_MAX];

	sessnap__snap_name(name, id);
	tu_join(out, size, tu_dir, name);
	return out;
}

/* The loader's verdict on a payload: a whole snapshot built in memory. */
static int loader_verdict(const char *text, size_t len)
{
	sessnap__header h;
	json_object *state = NULL;
	char *hbuf = NULL, *file, why[256];
	size_t hlen = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	h.format_version = SESSNAP_FORMAT_VERSION;
	strlcpy(h.app, "texttest", sizeof(h.app));
	memset(h.id, 'a', SESSNAP_ID_LEN);
	h.seq = 1;
	h.created_ms = h.saved_ms = 1;
	h.length = len;
	sessnap__checksum(h.checksum, text, len);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &h), 0);
	file = malloc(hlen + len + 1);
	ck_assert_ptr_nonnull(file);
	memcpy(file, hbuf, hlen);
	memcpy(file + hlen, text, len);
	file[hlen + len] = '\n';
	rc = TU_WHY(why, sessnap__snapshot_parse(&state, &h, file, hlen + len + 1));
	json_object_put(state);
	free(file);
	free(hbuf);
	return rc;
}

static int check(const char *text, size_t len)
{
	char why[256];

	return TU_WHY(why, sessnap__json_check(text, len));
}

static const char *why_of(const char *text, size_t len)
{
	static char why[256];

	TU_WHY(why, sessnap__json_check(text, len));
	return why;
}

/* Begin a session and save state `first` as text; returns the session. */
static sessnap_session *begin_saved(sessnap_store *store, const char *first,
				    char id[SESSNAP_ID_LEN + 1])
{
	sessnap_session *s = NULL;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), SESSNAP_ID_LEN + 1);
	ck_assert_int_eq(sessnap_session_update_text(s, first, strlen(first)),
			 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	return s;
}

/* ---- core -----------------------------------------------------------------
 */

static const char *const round_trips[] = {
	"{\"a\":1}",
	"  {\"b\" : [1, 2.5e-3, -0, true, false, null],\n\t\"c\": {}}\r\n ",
	"\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \xf0\x9f\x98\x80 \\n\\/\"",
	"123",
	"-1.5E+300",
	"null",
	"[[[]],{\"\":\"\"}]",
	"\"\\ud800 lone surrogate escape\"",
	"123456789012345678901234567890",
	"{\"a\":1,\"a\":2}",
};

/* What update_text accepts, load_text returns byte for byte. */
START_TEST(test_round_trip)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	sessnap_load_info *info = NULL;
	json_object *obj = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	const char *in = round_trips[_i];
	size_t len = 0;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_msg(sessnap_session_update_text(s, in, strlen(in)) == 0,
		      "%s: %s", in, sessnap_error_last());
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_uint_eq(len, strlen(in));
	ck_assert(memcmp(text, in, len) == 0);
	ck_assert_int_eq(text[len], '\0');
	ck_assert_uint_eq(info->seq, 1);
	ck_assert_uint_eq(info->flags, 0);
	free(text);
	/* and the object loader takes it too */
	ck_assert_int_eq(sessnap_store_load(&obj, NULL, store, id), 0);
	json_object_put(obj);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* A text whose length excludes a NUL-free tail: only len bytes count. */
START_TEST(test_not_terminated)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	static const char buf[] = "[1,2]garbage";
	size_t len = 0;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_update_text(s, buf, 5), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "[1,2]");
	free(text);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* Text and object updates mix; the newest one wins. */
START_TEST(test_mixed_updates)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	json_object *o = json_object_new_array();
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	ck_assert_int_eq(sessnap_session_update_text(s, "{\"n\": 2}", 8), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "{\"n\": 2}");
	free(text);
	ck_assert_int_eq(sessnap_session_update_text(s, "[3]", 3), 0);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "[]");
	free(text);
	json_object_put(o);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* load_text takes the previous generation when the main one is damaged. */
START_TEST(test_load_text_fallback)
{
	sessnap_store *store = open_store();
	sessnap_session *s;
	sessnap_load_info *info = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], *text = NULL, *file;
	size_t len = 0, flen = 0;

	s = begin_saved(store, "[\"first\"]", id);
	ck_assert_int_eq(sessnap_session_update_text(s, "[\"second\"]", 10), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_session_release(s);
	/* flip a payload byte of the main snapshot: its checksum fails */
	snap_path(path, sizeof(path), id);
	file = tu_read_file(path, &flen);
	ck_assert_ptr_nonnull(file);
	file[flen - 3] = 'X';
	tu_write_file(tu_dir, strrchr(path, '/') + 1, file, flen);
	free(file);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_str_eq(text, "[\"first\"]");
	ck_assert_uint_eq(len, 9);
	ck_assert(info->flags & SESSNAP_LOAD_FROM_PREV);
	ck_assert_ptr_nonnull(strstr(info->notice, "unusable"));
	free(text);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* adopt_text continues a crashed session and returns its bytes. */
START_TEST(test_adopt_text)
{
	sessnap_store *store = open_store();
	sessnap_session *s, *a = NULL;
	sessnap_load_info *info = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	static const char state[] = "{ \"notes\" : [\"x\", \"y\"] }";
	size_t len = 0;

	s = begin_saved(store, state, id);
	sessnap_session_release(s); /* a crash */
	ck_assert_int_eq(
	    sessnap_session_adopt_text(&a, &text, &len, &info, store, id), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sessnap_session_id(a), id);
	ck_assert_uint_eq(len, strlen(state));
	ck_assert_str_eq(text, state);
	ck_assert_uint_eq(info->adoptions, 1);
	ck_assert_uint_eq(info->seq, 2);
	free(text);
	/* the adopter goes on writing text */
	ck_assert_int_eq(sessnap_session_update_text(a, "[]", 2), 0);
	ck_assert_int_eq(sessnap_session_flush(a), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "[]");
	free(text);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	/* without wanting the state; and a missing session */
	s = begin_saved(store, "1", id);
	sessnap_session_release(s);
	ck_assert_int_eq(
	    sessnap_session_adopt_text(&a, NULL, NULL, NULL, store, id), 0);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(
	    sessnap_session_adopt_text(&a, &text, &len, NULL, store, id),
	    SESSNAP_ENOTFOUND);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

struct cb_log {
	int validate_calls;
	int migrate_calls;
	char seen[64];
	const char *reject, *reject2; /* validate_text rejects these */
	const char *replace;	      /* migrate_text returns this text */
	int migrate_rc;
};

static int validate_text(const char *state, size_t len, unsigned int schema,
			 void *payload)
{
	struct cb_log *log = payload;

	(void)schema;
	log->validate_calls++;
	ck_assert_uint_eq(strlen(state), len);
	return (log->reject != NULL && strcmp(state, log->reject) == 0) ||
	       (log->reject2 != NULL && strcmp(state, log->reject2) == 0);
}

static int migrate_text(char **state, size_t *len, unsigned int from,
			unsigned int to, void *payload)
{
	struct cb_log *log = payload;
	size_t n;

	log->migrate_calls++;
	ck_assert_uint_eq(from, 1);
	ck_assert_uint_eq(to, 2);
	strlcpy(log->seen, *state, sizeof(log->seen));
	ck_assert_uint_eq(strlen(*state), *len);
	if (log->replace != NULL) {
		free(*state);
		n = strlen(log->replace);
		*state = malloc(n);
		ck_assert_ptr_nonnull(*state);
		memcpy(*state, log->replace, n); /* not NUL-terminated */
		*len = n;
	}
	return log->migrate_rc;
}

/* A main state that validate_text rejects falls back to .prev. */
START_TEST(test_validate_text)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct cb_log log;
	sessnap_store *store;
	sessnap_session *s;
	sessnap_load_info *info = NULL;
	json_object *obj = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t len = 0;

	memset(&log, 0, sizeof(log));
	log.reject = "{\"registry\":[]}";
	opts.validate_text = validate_text;
	opts.payload = &log;
	store = open_store_opts(&opts);
	s = begin_saved(store, "{\"registry\": [1]}", id);
	ck_assert_int_eq(
	    sessnap_session_update_text(s, "{\"registry\": []}", 16), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_str_eq(text, "{\"registry\": [1]}");
	ck_assert(info->flags & SESSNAP_LOAD_FROM_PREV);
	ck_assert_int_eq(log.validate_calls, 2);
	free(text);
	/* the object loader applies it too */
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&obj, &info, store, id), 0);
	ck_assert(info->flags & SESSNAP_LOAD_FROM_PREV);
	json_object_put(obj);
	/* both rejected: EREJECTED, nothing returned */
	log.reject2 = "{\"registry\":[1]}";
	ck_assert_int_eq(
	    sessnap_session_update_text(s, "{\"registry\":[1]}", 16), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 SESSNAP_EREJECTED);
	ck_assert_ptr_null(text);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_migrate_text)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct cb_log log;
	sessnap_store *store;
	sessnap_session *s, *a = NULL;
	sessnap_load_info *info = NULL;
	json_object *obj = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t len = 0;

	memset(&log, 0, sizeof(log));
	opts.schema_version = 1;
	store = open_store_opts(&opts);
	s = begin_saved(store, "{\"v\": 1}", id);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);

	opts = (sessnap_store_options)SESSNAP_STORE_OPTIONS_INIT;
	opts.schema_version = 2;
	opts.migrate_text = migrate_text;
	opts.payload = &log;
	log.replace = "{\"v\": 2, \"new\": true}";
	store = open_store_opts(&opts);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_str_eq(log.seen, "{\"v\":1}");
	ck_assert(info->flags & SESSNAP_LOAD_MIGRATED);
	ck_assert_str_eq(text, "{\"v\":2,\"new\":true}");
	free(text);
	ck_assert_int_eq(sessnap_store_load(&obj, NULL, store, id), 0);
	ck_assert(json_object_get_boolean(json_object_object_get(obj, "new")));
	json_object_put(obj);
	/* unchanged text is fine too */
	log.replace = NULL;
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_str_eq(text, "{\"v\":1}");
	free(text);
	/* invalid text back: EMIGRATE, the message says why */
	log.replace = "{\"v\": 2,}";
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 SESSNAP_EMIGRATE);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "not one valid"));
	ck_assert_ptr_null(text);
	/* the callback fails */
	log.replace = NULL;
	log.migrate_rc = 7;
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 SESSNAP_EMIGRATE);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "returned 7"));
	/* adoption migrates and returns the migrated text */
	log.migrate_rc = 0;
	log.replace = "[2]";
	sessnap_load_info_free(info);
	ck_assert_int_eq(
	    sessnap_session_adopt_text(&a, &text, &len, &info, store, id), 0);
	ck_assert_str_eq(text, "[2]");
	ck_assert(info->flags & SESSNAP_LOAD_MIGRATED);
	free(text);
	sessnap_session_release(a);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* ---- errors ---------------------------------------------------------------
 */

static const char *const invalid[] = {
	"",
	"   \n\t ",
	"{\"a\": [1, 2",
	"{\"a\": [1, 2]",
	"\"unterminated",
	"\"bad escape \\x\"",
	"\"\\u12\"",
	"[1] [2]",
	"{} {}",
	"1 2",
	"[1]x",
	"null garbage",
	"[1,]",
	"{\"a\":1,}",
	"NaN",
	"[Infinity]",
	"'single'",
	"/* comment */ 1",
	"[1] // comment",
	"{a: 1}",
	"01",
	"[1.]",
	"[.5]",
	"[+1]",
	"[1e]",
	"[-]",
	"TRUE",
	"nul",
	"\"tab\tinside\"",
	"\"\x01\"",
	"\"\xff\"",
	"\"\xc0\xaf\"",
	"\"\xed\xa0\x80\"",
	"\"\xf4\x90\x80\x80\"",
	"\"\xe2\x82\"",
	"\f[1]",
	"[1]\f",
	"{\"a\" 1}",
	"{\"a\":}",
	"[1 2]",
	"]",
	"{]",
};

/* Invalid text is refused with EINVAL; disk and queue are unchanged. */
START_TEST(test_invalid)
{
	sessnap_store *store = open_store();
	sessnap_session *s;
	sessnap_save_status st = SESSNAP_SAVE_STATUS_INIT;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], *before, *after;
	const char *bad = invalid[_i];
	size_t blen = 0, alen = 0, len = strlen(bad);
	char *text = NULL;

	if (_i == 0)
		len = 0;
	s = begin_saved(store, "[\"kept\"]", id);
	/* a queued, unsaved state must survive the refused update */
	ck_assert_int_eq(sessnap_session_update_text(s, "[\"queued\"]", 10), 0);
	snap_path(path, sizeof(path), id);
	before = tu_read_file(path, &blen);
	ck_assert_ptr_nonnull(before);
	ck_assert_msg(sessnap_session_update_text(s, bad, len) ==
			  SESSNAP_EINVAL,
		      "accepted: %s", bad);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), id));
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "nothing was "
							   "queued"));
	after = tu_read_file(path, &alen);
	ck_assert_ptr_nonnull(after);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.pending, 1);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "[\"queued\"]");
	free(text);
	free(before);
	free(after);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* The messages say what is wrong and where. */
START_TEST(test_messages)
{
	char why[256];

	ck_assert_int_eq(TU_WHY(why, sessnap__json_check("[1,]", 4)),
			 SESSNAP_EINVAL);
	ck_assert_str_eq(why, "expected a value at byte 3");
	ck_assert_int_eq(TU_WHY(why, sessnap__json_check("[1] [2]", 7)),
			 SESSNAP_EINVAL);
	ck_assert_str_eq(why, "more than one JSON value, or trailing "
			      "characters after the value at byte 4");
	ck_assert_int_eq(TU_WHY(why, sessnap__json_check("", 0)),
			 SESSNAP_EINVAL);
	ck_assert_str_eq(why, "the text holds no JSON value (it is empty)");
	ck_assert_int_eq(TU_WHY(why, sessnap__json_check("[\"\\q\"]", 6)),
			 SESSNAP_EINVAL);
	ck_assert_str_eq(why, "an invalid escape in a string, in the value "
			      "at byte 1");
	ck_assert_int_eq(TU_WHY(why, sessnap__json_check("{\"a\":1", 6)),
			 SESSNAP_EINVAL);
	ck_assert_str_eq(why, "the text ends inside an object at byte 6");
}
END_TEST

/* n nested arrays around `inner` ("" for none). */
static char *nested(size_t n, const char *open, const char *inner,
		    const char *close, size_t *len)
{
	size_t lo = strlen(open), li = strlen(inner), lc = strlen(close), i;
	char *b = malloc(n * (lo + lc) + li + 1), *p = b;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, inner, li);
	p += li;
	for (i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	*len = (size_t)(p - b);
	return b;
}

struct depth_case {
	const char *open, *inner, *close;
	size_t deepest; /* the most that the loader accepts */
};

static const struct depth_case depths[] = {
	{ "[", "", "]", SESSNAP__JSON_DEPTH },
	{ "[", "1", "]", SESSNAP__JSON_DEPTH - 1 },
	{ "[", "\"s\"", "]", SESSNAP__JSON_DEPTH - 1 },
	{ "[", "{}", "]", SESSNAP__JSON_DEPTH - 1 },
	{ "{\"a\":", "1", "}", SESSNAP__JSON_DEPTH - 1 },
	{ "{\"a\":", "[]", "}", SESSNAP__JSON_DEPTH - 1 },
	{ "[0,", "[]", "]", SESSNAP__JSON_DEPTH - 1 },
	{ " [ ", " { } ", " ] ", SESSNAP__JSON_DEPTH - 1 },
};

/*
 * The deepest nesting the loader takes is accepted and loads; one level
 * more is refused at the call, as the loader would refuse it.
 */
START_TEST(test_depth)
{
	const struct depth_case *c = &depths[_i];
	sessnap_store *store = open_store();
	sessnap_session *s;
	char id[SESSNAP_ID_LEN + 1], *text, *deeper, *got = NULL;
	size_t len, dlen, glen = 0;

	text = nested(c->deepest, c->open, c->inner, c->close, &len);
	ck_assert_int_eq(loader_verdict(text, len), 0);
	s = begin_saved(store, "0", id);
	ck_assert_msg(sessnap_session_update_text(s, text, len) == 0, "%s",
		      sessnap_error_last());
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&got, &glen, NULL, store, id),
			 0);
	ck_assert_uint_eq(glen, len);
	ck_assert(memcmp(got, text, len) == 0);
	free(got);

	deeper = nested(c->deepest + 1, c->open, c->inner, c->close, &dlen);
	ck_assert_int_ne(loader_verdict(deeper, dlen), 0);
	ck_assert_int_eq(sessnap_session_update_text(s, deeper, dlen),
			 SESSNAP_EINVAL);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "limit of 1024"));
	free(deeper);
	/* the saved state is untouched */
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&got, &glen, NULL, store, id),
			 0);
	ck_assert_uint_eq(glen, len);
	ck_assert(memcmp(got, text, len) == 0);
	free(got);
	free(text);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * Over the read bound: refused with ETOOBIG at the call.  The largest
 * text accepted loads back, header and all, within the bound.
 */
START_TEST(test_too_big)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store;
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], label[SESSNAP_LABEL_MAX];
	char *text, *got = NULL, *before, *after;
	size_t bound = 16384, max = bound - SESSNAP__HEADER_MAX - 1, len;
	size_t blen = 0, alen = 0;

	opts.read_bound = bound;
	store = open_store_opts(&opts);
	/* the longest label makes the longest header */
	memset(label, '"', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	so.label = label;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	strlcpy(id, sessnap_session_id(s), sizeof(id));
	ck_assert_int_eq(sessnap_session_update_text(s, "[]", 2), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	snap_path(path, sizeof(path), id);
	before = tu_read_file(path, &blen);

	text = malloc(max + 2);
	ck_assert_ptr_nonnull(text);
	text[0] = '"';
	memset(text + 1, 'x', max);
	text[max - 1] = '"';
	ck_assert_int_eq(sessnap_session_update_text(s, text, max), 0);
	/* one byte more: refused, and the queued state stays */
	text[max - 1] = 'x';
	text[max] = '"';
	ck_assert_int_eq(sessnap_session_update_text(s, text, max + 1),
			 SESSNAP_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "read bound"));
	after = tu_read_file(path, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&got, &len, NULL, store, id),
			 0);
	ck_assert_uint_eq(len, max);
	free(got);
	free(text);
	free(before);
	free(after);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);

	/* a read bound too small for any snapshot takes nothing */
	opts = (sessnap_store_options)SESSNAP_STORE_OPTIONS_INIT;
	opts.read_bound = SESSNAP__HEADER_MAX;
	store = open_store_opts(&opts);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update_text(s, "1", 1),
			 SESSNAP_ETOOBIG);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

START_TEST(test_null_args)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	char *text = (char *)1;
	size_t len = 1;

	ck_assert_int_eq(sessnap_session_update_text(NULL, "1", 1),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update_text(s, NULL, 0),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_load_text(NULL, &len, NULL, store,
						 sessnap_session_id(s)),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, "x"),
			 SESSNAP_EBADNAME);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store,
						 sessnap_session_id(s)),
			 SESSNAP_ENOTFOUND);
	ck_assert_int_eq(sessnap_session_adopt_text(NULL, &text, &len, NULL,
						    store,
						    sessnap_session_id(s)),
			 SESSNAP_EINVAL);
	/* our own running session cannot be adopted */
	ck_assert_int_eq(sessnap_session_update_text(s, "1", 1), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_adopt_text(&s, &text, &len, NULL,
						    store,
						    sessnap_session_id(s)),
			 SESSNAP_EBUSY);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/* ---- the scanner against the loader ---------------------------------------
 */

static const char *const lenient[] = {
	/* json-c's lenient mode takes these; RFC 8259 does not */
	"[1,]", "{\"a\":1,}", "NaN",  "-Infinity", "'s'",      "/*c*/1",
	"00",	"[1.]",	      "TRUE", "\"\x01\"",  "\"\xff\"",
};

START_TEST(test_stricter_than_loader)
{
	size_t i;

	for (i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++) {
		ck_assert_msg(
		    loader_verdict(lenient[i], strlen(lenient[i])) == 0,
		    "the loader refuses %s: update the list", lenient[i]);
		ck_assert_msg(check(lenient[i], strlen(lenient[i])) ==
				  SESSNAP_EINVAL,
			      "accepted %s", lenient[i]);
	}
}
END_TEST

/* A small deterministic generator (xorshift64). */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned int rnd(unsigned int n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned int)(rng % n);
}

struct gen {
	char *buf;
	size_t len, cap;
};

static void put(struct gen *g, const char *s, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->buf = realloc(g->buf, g->cap);
		ck_assert_ptr_nonnull(g->buf);
	}
	memcpy(g->buf + g->len, s, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

static void put_str(struct gen *g, const char *s)
{
	put(g, s, strlen(s));
}

static void gen_ws(struct gen *g)
{
	static const char *const ws[] = { "",	"",   "",   " ",
					  "\n", "\t", "\r", "  \r\n" };

	put_str(g, ws[rnd(8)]);
}

static void gen_value(struct gen *g, unsigned int depth)
{
	static const char *const scalars[] = {
		"0",
		"-0",
		"1",
		"-12",
		"3.25",
		"1e5",
		"1E-300",
		"-0.0e+0",
		"1e99999",
		"true",
		"false",
		"null",
		"\"\"",
		"\"a b\"",
		"\"\\u0000\"",
		"\"\\ud83d\\ude00\"",
		"\"\\udc00\"",
		"\"\xc3\xa9\"",
		"\"\xef\xbf\xbf\"",
		"\"\xf0\x90\x80\x80\"",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"\"\x7f\"",
		"98765432109876543210987",
		"\"\xe0\xa0\x80\"",
	};
	unsigned int i, n;

	gen_ws(g);
	switch (depth > 6 ? 0 : rnd(4)) {
	case 0:
	case 1:
		put_str(g, scalars[rnd(sizeof(scalars) / sizeof(scalars[0]))]);
		break;
	case 2:
		put_str(g, "[");
		n = rnd(4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				put_str(g, ",");
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		put_str(g, "]");
		break;
	default:
		put_str(g, "{");
		n = rnd(4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				put_str(g, ",");
			gen_ws(g);
			put_str(g, rnd(2) ? "\"k\"" : "\"\\u00e9\\n\"");
			gen_ws(g);
			put_str(g, ":");
			gen_value(g, depth + 1);
		}
		gen_ws(g);
		put_str(g, "}");
		break;
	}
	gen_ws(g);
}

/* Bytes a mutation inserts or overwrites with. */
static const char mut_bytes[] = "[]{},:\"\\ \t\n\r\f0123456789.eE+-/*'xu"
				"tfnaNI\x01\x7f\x80\xc3\xed\xff";

static void mutate(struct gen *g)
{
	size_t at = g->len ? rnd((unsigned int)g->len) : 0;
	char c = mut_bytes[rnd(sizeof(mut_bytes) - 1)];

	switch (rnd(3)) {
	case 0: /* delete */
		if (g->len > 0) {
			memmove(g->buf + at, g->buf + at + 1, g->len - at - 1);
			g->len--;
		}
		break;
	case 1: /* overwrite */
		if (g->len > 0)
			g->buf[at] = c;
		break;
	default: /* insert */
		put(g, "", 0);
		put(g, " ", 1);
		memmove(g->buf + at + 1, g->buf + at, g->len - at - 1);
		g->buf[at] = c;
		break;
	}
}

/*
 * Every text the scanner accepts, the loader accepts: the promise behind
 * "nothing accepted that cannot be read back".  Generated valid texts
 * must all be accepted; their mutations exercise the refusals.
 */
START_TEST(test_differential)
{
	struct gen g = { NULL, 0, 0 };
	unsigned long accepted = 0, refused = 0, i, m;

	for (i = 0; i < 20000; i++) {
		g.len = 0;
		gen_value(&g, 0);
		ck_assert_msg(check(g.buf, g.len) == 0,
			      "refused valid (%s): %.40s", why_of(g.buf, g.len),
			      g.buf);
		ck_assert_msg(loader_verdict(g.buf, g.len) == 0,
			      "the loader refuses: %s", g.buf);
		for (m = 1 + rnd(3); m > 0; m--)
			mutate(&g);
		if (check(g.buf, g.len) == 0) {
			accepted++;
			ck_assert_msg(loader_verdict(g.buf, g.len) == 0,
				      "accepted, but the loader refuses: "
				      "%.*s",
				      (int)g.len, g.buf);
		} else {
			refused++;
		}
	}
	free(g.buf);
	/* both ways were taken */
	ck_assert_uint_gt(accepted, 1000);
	ck_assert_uint_gt(refused, 1000);
}
END_TEST

Suite *text_suite(void);

Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(
	    tc, test_round_trip, 0,
	    (int)(sizeof(round_trips) / sizeof(round_trips[0])));
	tcase_add_test(tc, test_not_terminated);
	tcase_add_test(tc, test_mixed_updates);
	tcase_add_test(tc, test_load_text_fallback);
	tcase_add_test(tc, test_adopt_text);
	tcase_add_test(tc, test_validate_text);
	tcase_add_test(tc, test_migrate_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_invalid, 0,
			    (int)(sizeof(invalid) / sizeof(invalid[0])));
	tcase_add_test(tc, test_messages);
	tcase_add_loop_test(tc, test_depth, 0,
			    (int)(sizeof(depths) / sizeof(depths[0])));
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_null_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_stricter_than_loader);
	tcase_add_test(tc, test_differential);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(text_suite)
