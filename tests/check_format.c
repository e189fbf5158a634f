/*
 * check_format.c - the two-line snapshot format
 *
 * A snapshot is a header line (one JSON object) and a payload line (the
 * state).  These tests prove that a header survives a format/parse round
 * trip field by field, that every field is checked on the way in, that a
 * header of a newer format version is reported as newer (never as
 * corrupt), and that no damaged input - truncated, extended, flipped,
 * zero-filled, empty, absurdly nested - gets past sessnap__snapshot_parse()
 * or crashes it.  The "fastpath" cases prove that the header parser's
 * allocation-free path takes what sessnap__header_format() writes, agrees
 * with the json-c reference on it, and defers everything unusual.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "internal.h"
#include "testutil.h"

#define ID "0123456789abcdef0123456789abcdef"

static void fill_header(sessnap__header *h, const char *payload, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->format_version = SESSNAP__FORMAT_PLAIN;
	strlcpy(h->app, "editor", sizeof(h->app));
	strlcpy(h->id, ID, sizeof(h->id));
	strlcpy(h->label, "notes.txt \xe2\x80\x94 3 buffers", sizeof(h->label));
	h->seq = 42;
	h->created_ms = 1700000000123;
	h->saved_ms = 1700000009999;
	h->completed = true;
	h->adoptions = 2;
	h->owner.pid = 4242;
	strlcpy(h->owner.host, "laptop", sizeof(h->owner.host));
	strlcpy(h->owner.boot_id, "6d3c2f38-0d7a-4f7e-9b55-2f1b6c1f6b41",
		sizeof(h->owner.boot_id));
	h->owner.start_time = 123456;
	h->schema_version = 7;
	h->length = len;
	sessnap__checksum(h->checksum, payload, len);
}

/* A complete snapshot in memory: header line, payload, newline. */
static char *make_snapshot(size_t *out_len, const char *payload, size_t plen,
			   uint32_t version)
{
	sessnap__header h;
	char *hbuf = NULL, *buf;
	size_t hlen = 0;

	fill_header(&h, payload, plen);
	h.format_version = version;
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &h), 0);
	buf = malloc(hlen + plen + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, hbuf, hlen);
	memcpy(buf + hlen, payload, plen);
	buf[hlen + plen] = '\n';
	free(hbuf);
	*out_len = hlen + plen + 1;
	return buf;
}

/* The formatted header as a json-c object, to damage one field. */
static json_object *header_object(void)
{
	sessnap__header h;
	json_object *obj;
	char *hbuf = NULL;
	size_t hlen = 0;

	fill_header(&h, "{}", 2);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &h), 0);
	hbuf[hlen - 1] = '\0';
	obj = json_tokener_parse(hbuf);
	ck_assert_ptr_nonnull(obj);
	free(hbuf);
	return obj;
}

/* Parse obj as a header line; return the code and the reason. */
static int parse_object(json_object *obj, char *why, size_t why_len)
{
	sessnap__header h;
	const char *s;
	size_t len;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
					      &len);
	why[0] = '\0';
	sessnap__error(0, "%s", "");
	return tu_why_copy(why, why_len, sessnap__header_parse(&h, s, len),
			   sessnap_error_last());
}

START_TEST(test_header_round_trip)
{
	sessnap__header in, out;
	char *hbuf = NULL, why[256] = "";
	size_t hlen = 0;

	fill_header(&in, "[1,2,3]", 7);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &in), 0);
	ck_assert_uint_lt(hlen, SESSNAP__HEADER_MAX);
	ck_assert_int_eq(hbuf[hlen - 1], '\n');
	ck_assert_ptr_null(memchr(hbuf, '\n', hlen - 1));
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__header_parse(&out, hbuf, hlen)), 0);
	ck_assert_uint_eq(out.format_version, in.format_version);
	ck_assert_str_eq(out.app, in.app);
	ck_assert_str_eq(out.id, in.id);
	ck_assert_str_eq(out.label, in.label);
	ck_assert_uint_eq(out.seq, in.seq);
	ck_assert_int_eq(out.created_ms, in.created_ms);
	ck_assert_int_eq(out.saved_ms, in.saved_ms);
	ck_assert(out.completed == in.completed);
	ck_assert_uint_eq(out.adoptions, in.adoptions);
	ck_assert_int_eq(out.owner.pid, in.owner.pid);
	ck_assert_str_eq(out.owner.host, in.owner.host);
	ck_assert_str_eq(out.owner.boot_id, in.owner.boot_id);
	ck_assert_uint_eq(out.owner.start_time, in.owner.start_time);
	ck_assert_uint_eq(out.schema_version, in.schema_version);
	ck_assert_uint_eq(out.length, in.length);
	ck_assert_str_eq(out.checksum, in.checksum);
	/* Without its newline too. */
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__header_parse(&out, hbuf, hlen - 1)), 0);
	free(hbuf);
}
END_TEST

/* A header line is readable by jq: the documented field names. */
START_TEST(test_header_fields_named)
{
	static const char *const keys[] = {
		"format", "version", "app",    "id",	    "label",
		"seq",	  "created", "saved",  "completed", "adoptions",
		"owner",  "schema",  "length", "checksum",
	};
	json_object *obj = header_object(), *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_object_get_ex(obj, keys[i], &v),
			      "no \"%s\"", keys[i]);
	json_object_object_get_ex(obj, "checksum", &v);
	ck_assert_int_eq(strncmp(json_object_get_string(v), "xxh3-128:", 9), 0);
	json_object_put(obj);
}
END_TEST

START_TEST(test_checksum_known)
{
	char a[SESSNAP__CHECKSUM_LEN + 1], b[SESSNAP__CHECKSUM_LEN + 1];

	sessnap__checksum(a, "abc", 3);
	ck_assert_uint_eq(strlen(a), SESSNAP__CHECKSUM_LEN);
	sessnap__checksum(b, "abd", 3);
	ck_assert_str_ne(a, b);
	sessnap__checksum(b, "abc", 3);
	ck_assert_str_eq(a, b);
	/* XXH3-128 of the empty input, canonical (big-endian) form. */
	sessnap__checksum(a, "", 0);
	ck_assert_str_eq(a, "xxh3-128:99aa06d3014798d86001c324468d497f");
}
END_TEST

START_TEST(test_snapshot_round_trip)
{
	static const char payload[] = "{\"buffers\":[\"a\",\"b\"],\"n\":3}";
	json_object *state = NULL, *want;
	sessnap__header h;
	char why[256] = "";
	size_t len;
	char *buf = make_snapshot(&len, payload, sizeof(payload) - 1,
				  SESSNAP_FORMAT_VERSION);

	ck_assert_int_eq(
	    TU_WHY(why, sessnap__snapshot_parse(&state, &h, buf, len)), 0);
	want = json_tokener_parse(payload);
	ck_assert(json_object_equal(state, want));
	ck_assert_uint_eq(h.seq, 42);
	json_object_put(want);
	json_object_put(state);
	free(buf);
}
END_TEST

/* Top-level scalars are states too. */
START_TEST(test_scalar_payloads)
{
	static const char *const payloads[] = {
		"0",
		"42",
		"-17",
		"3.5",
		"-1e300",
		"true",
		"false",
		"null",
		"\"\"",
		"\"text \\u00e9\"",
		"[]",
		"{}",
		"9223372036854775807",
	};
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		json_object *state = NULL, *want;
		sessnap__header h;
		char why[256] = "";
		size_t len;
		char *buf =
		    make_snapshot(&len, payloads[i], strlen(payloads[i]),
				  SESSNAP_FORMAT_VERSION);
		int rc = TU_WHY(why, sessnap__snapshot_parse(&state, &h, buf, len));

		ck_assert_msg(rc == 0, "%s: %d %s", payloads[i], rc, why);
		want = json_tokener_parse(payloads[i]);
		ck_assert_msg(json_object_equal(state, want), "%s differs",
			      payloads[i]);
		json_object_put(want);
		json_object_put(state);
		free(buf);
	}
}
END_TEST

/* Each required field, missing: corrupt, and the reason names it. */
START_TEST(test_missing_fields)
{
	static const char *const required[] = {
		"format", "version",   "id",	 "seq",	     "created",
		"saved",  "completed", "length", "checksum", "app",
	};
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		json_object *obj = header_object();
		char why[256];

		json_object_object_del(obj, required[i]);
		ck_assert_msg(parse_object(obj, why, sizeof(why)) ==
				  SESSNAP_ECORRUPT,
			      "missing %s accepted", required[i]);
		ck_assert_msg(strstr(why, required[i]) != NULL,
			      "reason \"%s\" does not name %s", why,
			      required[i]);
		json_object_put(obj);
	}
}
END_TEST

/* Each field with a value of the wrong type or out of range. */
START_TEST(test_wrong_types)
{
	struct {
		const char *key;
		const char *json;
	} cases[] = {
		{ "format", "\"other\"" },
		{ "format", "1" },
		{ "version", "\"1\"" },
		{ "version", "0" },
		{ "version", "-1" },
		{ "version", "1.0" },
		{ "id", "42" },
		{ "seq", "\"1\"" },
		{ "seq", "-1" },
		{ "created", "true" },
		{ "created", "-5" },
		{ "saved", "null" },
		{ "completed", "1" },
		{ "completed", "\"true\"" },
		{ "adoptions", "-1" },
		{ "adoptions", "\"x\"" },
		{ "adoptions", "4294967296" },
		{ "schema", "[]" },
		{ "schema", "-3" },
		{ "length", "-1" },
		{ "length", "\"12\"" },
		{ "length", "1.5" },
		{ "checksum", "7" },
		{ "app", "7" },
		{ "app", "\"../x\"" },
		{ "label", "[1]" },
		{ "owner", "\"me\"" },
		{ "seq", "99999999999999999999" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *obj = header_object();
		json_object *v = json_tokener_parse(cases[i].json);
		char why[256];

		/* json-c represents JSON null as NULL */
		ck_assert(v != NULL || strcmp(cases[i].json, "null") == 0);
		json_object_object_add(obj, cases[i].key, v);
		ck_assert_msg(parse_object(obj, why, sizeof(why)) ==
				  SESSNAP_ECORRUPT,
			      "%s=%s accepted", cases[i].key, cases[i].json);
		ck_assert_msg(strstr(why, cases[i].key) != NULL ||
				  strstr(why, "sessnap") != NULL,
			      "reason \"%s\" for %s", why, cases[i].key);
		json_object_put(obj);
	}
}
END_TEST

/* Owner fields are informative but typed: a wrong type is corrupt. */
START_TEST(test_owner_fields)
{
	static const char *const keys[] = { "pid", "host", "boot_id", "start" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_object *obj = header_object(), *owner;
		char why[256];

		json_object_object_get_ex(obj, "owner", &owner);
		json_object_object_add(owner, keys[i], json_object_new_array());
		ck_assert_msg(parse_object(obj, why, sizeof(why)) ==
				  SESSNAP_ECORRUPT,
			      "owner.%s accepted", keys[i]);
		ck_assert_ptr_nonnull(strstr(why, keys[i]));
		json_object_put(obj);
	}
}
END_TEST

/* A header whose `key` holds the string `value` is corrupt, and the
 * reason contains `needle`. */
static void refuse_string(const char *key, const char *value,
			  const char *needle)
{
	json_object *obj = header_object();
	char why[256];

	json_object_object_add(obj, key, json_object_new_string(value));
	ck_assert_msg(parse_object(obj, why, sizeof(why)) == SESSNAP_ECORRUPT,
		      "%s \"%s\" accepted", key, value);
	ck_assert_msg(strstr(why, needle) != NULL,
		      "reason \"%s\" for %s \"%s\"", why, key, value);
	json_object_put(obj);
}

START_TEST(test_bad_ids)
{
	static const char *const ids[] = {
		"",
		"0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0",
		"0123456789ABCDEF0123456789ABCDEF",
		"0123456789abcdef0123456789abcdeg",
		"../3456789abcdef0123456789abcdef",
		"0123456789abcdef 123456789abcdef",
	};
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		refuse_string("id", ids[i], "\"id\"");
}
END_TEST

START_TEST(test_bad_checksums)
{
	static const char *const sums[] = {
		"",
		"xxh3-128:",
		"xxh3-128:99aa06d3014798d86001c324468d497",
		"xxh3-128:99aa06d3014798d86001c324468d497f0",
		"xxh3-128:99AA06D3014798D86001C324468D497F",
		"xxh3-128:99aa06d3014798d86001c324468d497g",
		"xxh64:99aa06d3014798d86001c324468d497f00",
		"sha256:99aa06d3014798d86001c324468d497f",
	};
	size_t i;

	for (i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
		refuse_string("checksum", sums[i], "checksum");
}
END_TEST

/* A newer version is ENEWER whatever else the header holds. */
START_TEST(test_newer_version)
{
	json_object *obj = header_object();
	sessnap__header h;
	char why[256];
	static const char odd[] =
	    "{\"format\":\"sessnap\",\"version\":3,\"id\":7,\"totally\":[]}";

	json_object_object_add(obj, "version", json_object_new_int(3));
	ck_assert_int_eq(parse_object(obj, why, sizeof(why)), SESSNAP_ENEWER);
	ck_assert_ptr_nonnull(strstr(why, "version 3"));
	/* Every other field may change in a newer format. */
	json_object_object_del(obj, "checksum");
	json_object_object_del(obj, "length");
	json_object_object_add(obj, "seq", json_object_new_string("x"));
	ck_assert_int_eq(parse_object(obj, why, sizeof(why)), SESSNAP_ENEWER);
	json_object_put(obj);
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__header_parse(&h, odd, sizeof(odd) - 1)),
	    SESSNAP_ENEWER);
	ck_assert_uint_eq(h.format_version, 3);
}
END_TEST

/* A whole newer snapshot (any payload) is ENEWER, not ECORRUPT. */
START_TEST(test_newer_snapshot)
{
	json_object *state = NULL;
	sessnap__header h;
	char why[256] = "";
	size_t len;
	char *buf = make_snapshot(&len, "{\"x\":1}", 7, 3);

	/* Even with a damaged payload. */
	buf[len - 3] = '9';
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__snapshot_parse(&state, &h, buf, len)),
	    SESSNAP_ENEWER);
	ck_assert_ptr_null(state);
	ck_assert_uint_eq(h.format_version, 3);
	free(buf);
}
END_TEST

START_TEST(test_header_too_long)
{
	json_object *obj = header_object();
	sessnap__header h;
	char why[256];
	char *label = malloc(5000);
	const char *s;
	size_t len;

	memset(label, 'x', 4999);
	label[4999] = '\0';
	json_object_object_add(obj, "label", json_object_new_string(label));
	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
					      &len);
	ck_assert_uint_gt(len, SESSNAP__HEADER_MAX);
	ck_assert_int_eq(TU_WHY(why, sessnap__header_parse(&h, s, len)),
			 SESSNAP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "longer than"));
	json_object_put(obj);
	free(label);
}
END_TEST

START_TEST(test_header_nul)
{
	json_object *obj = header_object();
	sessnap__header h;
	char why[256];
	char *copy;
	const char *s;
	size_t len;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
					      &len);
	copy = strdup(s);
	/* Inside the label string, where JSON would otherwise accept it. */
	copy[strstr(copy, "notes") - copy] = '\0';
	ck_assert_int_eq(TU_WHY(why, sessnap__header_parse(&h, copy, len)),
			 SESSNAP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	free(copy);
	json_object_put(obj);
}
END_TEST

START_TEST(test_header_not_object)
{
	static const char *const lines[] = {
		"",	"\n",	   "[1,2]",   "\"sessnap\"",
		"{",	"{}",	   "{} {}",   "{\"format\":\"sessnap\"} x",
		"null", "garbage", "{'a':1}", "{\"a\":1,}",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		sessnap__header h;
		char why[256] = "";

		ck_assert_msg(
		    TU_WHY(why, sessnap__header_parse(&h, lines[i], strlen(lines[i]))) == SESSNAP_ECORRUPT,
		    "\"%s\" accepted", lines[i]);
		ck_assert_uint_gt(strlen(why), 0);
	}
}
END_TEST

/* Every proper prefix of a snapshot is corrupt, with a reason. */
START_TEST(test_truncated)
{
	static const char payload[] = "{\"text\":\"hello world\"}";
	json_object *state = NULL;
	sessnap__header h;
	size_t len, cut;
	char *buf = make_snapshot(&len, payload, sizeof(payload) - 1,
				  SESSNAP_FORMAT_VERSION);

	for (cut = 0; cut < len; cut++) {
		char why[256] = "";
		char *copy = malloc(cut + 1);

		memcpy(copy, buf, cut);
		ck_assert_msg(TU_WHY(why, sessnap__snapshot_parse(&state, &h, copy, cut)) ==
				  SESSNAP_ECORRUPT,
			      "prefix of %zu bytes accepted", cut);
		ck_assert_ptr_null(state);
		ck_assert_uint_gt(strlen(why), 0);
		free(copy);
	}
	free(buf);
}
END_TEST

START_TEST(test_extended)
{
	static const char payload[] = "[1,2,3]";
	static const char *const tails[] = { "\n", "x", "\0", "[4]\n" };
	json_object *state = NULL;
	sessnap__header h;
	size_t len, i;
	char *buf = make_snapshot(&len, payload, sizeof(payload) - 1,
				  SESSNAP_FORMAT_VERSION);

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t tl = tails[i][0] ? strlen(tails[i]) : 1;
		char *copy = malloc(len + tl);
		char why[256] = "";

		memcpy(copy, buf, len);
		memcpy(copy + len, tails[i], tl);
		ck_assert_int_eq(TU_WHY(why, sessnap__snapshot_parse(&state, &h, copy,
							 len + tl)),
				 SESSNAP_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(why, "longer"));
		free(copy);
	}
	free(buf);
}
END_TEST

/* Flipping any bit of any payload byte (or its newline) is caught. */
START_TEST(test_flipped)
{
	static const char payload[] = "{\"k\":[1,2,{\"deep\":\"value\"}],\"n\":"
				      "null}";
	json_object *state = NULL;
	sessnap__header h;
	size_t len, i, hlen;
	int bit;
	char *buf = make_snapshot(&len, payload, sizeof(payload) - 1,
				  SESSNAP_FORMAT_VERSION);

	hlen = len - sizeof(payload);
	for (i = hlen; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			char why[256] = "";

			buf[i] ^= (char)(1 << bit);
			ck_assert_msg(TU_WHY(why, sessnap__snapshot_parse(
					  &state, &h, buf, len)) == SESSNAP_ECORRUPT,
				      "flip at %zu bit %d accepted", i, bit);
			ck_assert_uint_gt(strlen(why), 0);
			buf[i] ^= (char)(1 << bit);
		}
	}
	/* A flip in the header's length or checksum is caught too. */
	for (i = 0; i < hlen; i++) {
		if (strncmp(buf + i, "\"length\":", 9) == 0 ||
		    strncmp(buf + i, "\"checksum\":\"xxh3-128:", 21) == 0) {
			char *p = strchr(buf + i, ':') + 1;
			char why[256] = "";

			p += (*p == '"') ? 10 : 0;
			*p = (char)(*p == '1' ? '2' : '1');
			ck_assert_int_eq(TU_WHY(why, sessnap__snapshot_parse(&state, &h,
								 buf, len)),
					 SESSNAP_ECORRUPT);
			free(buf);
			buf = make_snapshot(&len, payload, sizeof(payload) - 1,
					    SESSNAP_FORMAT_VERSION);
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_zero_filled_and_empty)
{
	json_object *state = NULL;
	sessnap__header h;
	char why[256] = "";
	char *zeros = calloc(1, 300);

	ck_assert_int_eq(
	    TU_WHY(why, sessnap__snapshot_parse(&state, &h, zeros, 300)),
	    SESSNAP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "zero-filled"));
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__snapshot_parse(&state, &h, zeros, 0)),
	    SESSNAP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_ptr_null(state);
	free(zeros);
}
END_TEST

/* A checksum-valid payload that is not JSON is still refused. */
START_TEST(test_payload_not_json)
{
	static const char *const payloads[] = { "{",   "[1,2",	     "nul",
						"1 2", "{\"a\":1}}", "\"open" };
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		json_object *state = NULL;
		sessnap__header h;
		char why[256] = "";
		size_t len;
		char *buf =
		    make_snapshot(&len, payloads[i], strlen(payloads[i]),
				  SESSNAP_FORMAT_VERSION);

		ck_assert_msg(TU_WHY(why, sessnap__snapshot_parse(&state, &h, buf, len)) ==
				  SESSNAP_ECORRUPT,
			      "payload %s accepted", payloads[i]);
		ck_assert_ptr_null(state);
		ck_assert_ptr_nonnull(strstr(why, "payload"));
		free(buf);
	}
}
END_TEST

/* 100000 levels of nesting: an error, not a stack overflow. */
START_TEST(test_deep_nesting)
{
	const size_t depth = 100000;
	json_object *state = NULL;
	sessnap__header h;
	char why[256] = "";
	char *payload = malloc(2 * depth), *buf;
	size_t len;

	memset(payload, '[', depth);
	memset(payload + depth, ']', depth);
	buf = make_snapshot(&len, payload, 2 * depth, SESSNAP_FORMAT_VERSION);
	ck_assert_int_eq(
	    TU_WHY(why, sessnap__snapshot_parse(&state, &h, buf, len)),
	    SESSNAP_ECORRUPT);
	ck_assert_ptr_null(state);
	ck_assert_ptr_nonnull(strstr(why, "payload"));
	free(buf);
	free(payload);
}
END_TEST

/*
 * `n` containers around `inner`: arrays (kind 0), objects (1), the two in
 * turn (2), or arrays whose element comes after a scalar sibling (3).
 * Returns malloc'd text.
 */
static char *nest(int n, const char *inner, int kind)
{
	size_t cap = (size_t)n * 8 + strlen(inner) + 1, off = 0;
	char *out = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		bool obj = kind == 1 || (kind == 2 && i % 2 == 1);
		const char *open = obj ? "{\"k\":" : kind == 3 ? "[0," : "[";

		memcpy(out + off, open, strlen(open));
		off += strlen(open);
	}
	memcpy(out + off, inner, strlen(inner));
	off += strlen(inner);
	for (i = n - 1; i >= 0; i--) {
		bool obj = kind == 1 || (kind == 2 && i % 2 == 1);

		out[off++] = obj ? '}' : ']';
	}
	out[off] = '\0';
	return out;
}

/*
 * The save side's depth rule (sessnap__json_depth_ok) and the loader agree
 * on every shape around the limit: a state is accepted for saving exactly
 * when its snapshot parses back.
 */
START_TEST(test_depth_rule_matches_loader)
{
	static const char *const inners[] = { "",   "1",    "{}",     "[]",
					      "null", "\"s\"", "{\"a\":1}",
					      "[[]]" };
	size_t k, len;
	int n, kind, depth, agreed = 0, total = 0;

	for (kind = 0; kind < 4; kind++) {
		for (n = 1015; n <= 1027; n++) {
			for (k = 0; k < sizeof(inners) / sizeof(inners[0]);
			     k++) {
				char *text, *buf;
				json_tokener *tok;
				json_object *obj, *back = NULL;
				sessnap__header h;
				char why[256] = "";
				bool ok, loads;

				/* "[0,]" and {"k":} are not JSON */
				if (inners[k][0] == '\0' &&
				    (kind == 1 || kind == 3 ||
				     (kind == 2 && (n - 1) % 2 == 1)))
					continue;
				text = nest(n, inners[k], kind);
				tok = json_tokener_new_ex(4096);
				total++;
				ck_assert_ptr_nonnull(tok);
				obj = json_tokener_parse_ex(
				    tok, text, (int)strlen(text) + 1);
				ck_assert_msg(json_tokener_get_error(tok) ==
						  json_tokener_success,
					      "kind %d, %d around %s: test "
					      "text does not parse",
					      kind, n, inners[k]);
				json_tokener_free(tok);
				ok = sessnap__json_depth_ok(obj, &depth);
				buf = make_snapshot(&len, text, strlen(text),
						    SESSNAP_FORMAT_VERSION);
				loads = TU_WHY(why, sessnap__snapshot_parse(&back, &h, buf,
								len)) ==
					0;
				ck_assert_msg(ok == loads,
					      "kind %d, %d levels around %s: "
					      "save side says %d, loader %d "
					      "(%s)",
					      kind, n, inners[k], ok, loads,
					      why);
				ck_assert(ok ? depth < SESSNAP__JSON_DEPTH
					     : depth == SESSNAP__JSON_DEPTH);
				agreed += ok;
				json_object_put(back);
				json_object_put(obj);
				free(buf);
				free(text);
			}
		}
	}
	/* both verdicts were met */
	ck_assert_int_gt(agreed, 0);
	ck_assert_int_lt(agreed, total);
}
END_TEST

/* A cycle is refused at the limit, not followed. */
START_TEST(test_depth_rule_cycle)
{
	json_object *a = json_object_new_array();
	int depth;

	json_object_array_add(a, json_object_get(a));
	ck_assert(!sessnap__json_depth_ok(a, &depth));
	ck_assert_int_eq(depth, SESSNAP__JSON_DEPTH);
	/* break the cycle to free it */
	json_object_array_put_idx(a, 0, NULL);
	json_object_put(a);
	ck_assert(sessnap__json_depth_ok(NULL, &depth));
	ck_assert_int_eq(depth, 0);
}
END_TEST

/* ---- The fast path (header.c) against the reference (json-c) ---------- */

/* The canonical header line of fill_header(), without its newline. */
static char *canonical_line(size_t *out_len, const sessnap__header *h)
{
	char *hbuf = NULL;
	size_t hlen = 0;

	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, h), 0);
	hbuf[--hlen] = '\0';
	*out_len = hlen;
	return hbuf;
}

/* line with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *line, const char *from, const char *to)
{
	const char *at = strstr(line, from);
	size_t n, pre;
	char *out;

	ck_assert_msg(at != NULL, "\"%s\" not in the line", from);
	pre = (size_t)(at - line);
	n = strlen(line) - strlen(from) + strlen(to) + 1;
	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "%.*s%s%s", (int)pre, line, to, at + strlen(from));
	return out;
}

/*
 * Both parsers on one line: the fast path must either defer (and leave the
 * header zeroed) or agree with the reference in code, message and every
 * field.  Returns the fast path's code; *ref_rc gets the reference's.
 */
static int both(const char *line, size_t len, sessnap__header *ref,
		int *ref_rc)
{
	static const sessnap__header zero;
	sessnap__header fast;
	char why_fast[256] = "", why_ref[256] = "";
	int rf;

	rf = TU_WHY(why_fast, sessnap__header_parse_fast(&fast, line, len));
	*ref_rc = TU_WHY(why_ref, sessnap__header_parse_json(ref, line, len));
	if (rf == SESSNAP__HEADER_DEFERRED) {
		ck_assert_mem_eq(&fast, &zero, sizeof(fast));
		return rf;
	}
	ck_assert_int_eq(rf, *ref_rc);
	ck_assert_str_eq(why_fast, why_ref);
	ck_assert_mem_eq(&fast, ref, sizeof(fast));
	return rf;
}

/*
 * A delta snapshot's header (format version 2) takes the fast path too,
 * with its four fields; whatever parse_layout() would refuse defers, and
 * a version 1 line's "layout" is ignored by both parsers.
 */
START_TEST(test_fast_delta)
{
	static const struct {
		const char *from, *to;
		int fast; /* 0: decided; 1: deferred */
	} cases[] = {
		{ NULL, NULL, 0 },
		{ "\"base_codec\":\"none\"", "\"base_codec\":\"zstd\"", 0 },
		{ "\"layout\":\"delta\"", "\"layout\":\"plain\"", 0 },
		{ "\"layout\":\"delta\"", "\"layout\":\"other\"", 1 },
		{ "\"base_codec\":\"none\"", "\"base_codec\":\"lz4\"", 1 },
		{ "\"base_size\":7", "\"base_size\":8", 1 },
		{ "\"area\":8192", "\"area\":-1", 1 },
		{ "\"area\":8192", "\"area\":\"8192\"", 1 },
		{ "\"version\":2", "\"version\":1", 0 },
	};
	sessnap__header in, ref;
	char *line, *edited;
	size_t len, i;
	int rr, rf;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill_header(&in, "[1,2,3]", 7);
		in.format_version = SESSNAP__FORMAT_DELTA;
		in.layout = SESSNAP_LAYOUT_DELTA;
		in.base_codec = SESSNAP__CODEC_NONE;
		in.base_size = 7;
		in.area = 8192;
		ck_assert_int_eq(sessnap__header_format(&line, &len, &in), 0);
		/* the line is not NUL-terminated: a copy that is */
		edited = strndup(line, len);
		free(line);
		ck_assert_ptr_nonnull(edited);
		if (cases[i].from != NULL) {
			line = edited;
			edited = replace(line, cases[i].from, cases[i].to);
			free(line);
		}
		rf = both(edited, strlen(edited), &ref, &rr);
		ck_assert_msg(rf == (cases[i].fast ? SESSNAP__HEADER_DEFERRED :
						     rr),
			      "case %zu: fast %d, reference %d: %s", i, rf, rr,
			      edited);
		if (i == 0) {
			ck_assert_int_eq(rr, 0);
			ck_assert_uint_eq(ref.layout, SESSNAP_LAYOUT_DELTA);
			ck_assert_uint_eq(ref.area, 8192);
			ck_assert_uint_eq(ref.base_seq, 42);
			ck_assert_int_eq(ref.slot, -1);
		}
		if (cases[i].to != NULL && strstr(cases[i].to, "plain"))
			ck_assert_uint_eq(ref.layout, SESSNAP_LAYOUT_PLAIN);
		free(edited);
	}
}
END_TEST

/* What sessnap__header_format() writes takes the fast path. */
START_TEST(test_fast_canonical)
{
	sessnap__header in, ref;
	char *line;
	size_t len;
	int rr, i;

	for (i = 0; i < 6; i++) {
		fill_header(&in, "[1,2,3]", 7);
		switch (i) {
		case 1:
			in.completed = false;
			in.label[0] = '\0';
			in.owner.host[0] = '\0';
			in.owner.boot_id[0] = '\0';
			break;
		case 2: /* the largest values */
			in.seq = INT64_MAX;
			in.created_ms = INT64_MAX;
			in.saved_ms = INT64_MAX;
			in.adoptions = UINT32_MAX;
			in.schema_version = UINT32_MAX;
			in.owner.pid = INT64_MAX;
			in.owner.start_time = INT64_MAX;
			in.length = INT64_MAX;
			break;
		case 3: /* the smallest */
			in.seq = 0;
			in.created_ms = 0;
			in.saved_ms = 0;
			in.adoptions = 0;
			in.schema_version = 0;
			in.owner.pid = 0;
			in.owner.start_time = 0;
			in.length = 0;
			break;
		case 4: /* the longest label, every byte not escaped */
			memset(in.label, 'x', SESSNAP_LABEL_MAX);
			in.label[SESSNAP_LABEL_MAX] = '\0';
			in.label[7] = '\xc3';
			in.label[8] = '\xa9';
			in.label[9] = '\x7f';
			break;
		case 5:
			memset(in.owner.host, 'h', SESSNAP_HOST_MAX);
			in.owner.host[SESSNAP_HOST_MAX] = '\0';
			strlcpy(in.app, "A.b_c-9", sizeof(in.app));
			break;
		}
		line = canonical_line(&len, &in);
		ck_assert_int_eq(both(line, len, &ref, &rr), 0);
		ck_assert_int_eq(rr, 0);
		ck_assert_str_eq(ref.label, in.label);
		ck_assert_str_eq(ref.owner.host, in.owner.host);
		ck_assert_uint_eq(ref.seq, in.seq);
		ck_assert_uint_eq(ref.length, in.length);
		/* With its newline, as the scanner passes it. */
		line[len] = '\n';
		ck_assert_int_eq(both(line, len + 1, &ref, &rr), 0);
		free(line);
	}
}
END_TEST

/* A newer version is decided by the fast path too, with the same words. */
START_TEST(test_fast_newer)
{
	sessnap__header in, ref;
	char *line, *odd;
	size_t len;
	int rr;

	fill_header(&in, "{}", 2);
	in.format_version = SESSNAP_FORMAT_VERSION + 1;
	line = canonical_line(&len, &in);
	ck_assert_int_eq(both(line, len, &ref, &rr), SESSNAP_ENEWER);
	ck_assert_uint_eq(ref.format_version, SESSNAP_FORMAT_VERSION + 1);
	/* Whatever the other fields hold. */
	odd = replace(line, "\"id\":\"" ID "\"", "\"id\":17");
	ck_assert_int_eq(both(odd, strlen(odd), &ref, &rr), SESSNAP_ENEWER);
	free(odd);
	free(line);
}
END_TEST

/* Unknown keys with simple values are skipped, as json-c skips them. */
START_TEST(test_fast_unknown_keys)
{
	sessnap__header in, ref;
	char *line, *odd, *odd2;
	size_t len;
	int rr;

	fill_header(&in, "{}", 2);
	line = canonical_line(&len, &in);
	odd = replace(line, "\"seq\"",
		      "\"later\":\"x\",\"n\":null,\"t\":true,\"f\":false,"
		      "\"k\":12,\"seq\"");
	odd2 = replace(odd, "\"pid\"", "\"uid\":1000,\"pid\"");
	ck_assert_int_eq(both(odd2, strlen(odd2), &ref, &rr), 0);
	ck_assert_int_eq(rr, 0);
	ck_assert_uint_eq(ref.seq, 42);
	ck_assert_int_eq(ref.owner.pid, 4242);
	free(odd2);
	free(odd);
	free(line);
}
END_TEST

/*
 * Lines off the canonical layout defer, and the reference still parses
 * them: escapes, duplicates, whitespace, numbers that are not plain
 * integers, nesting the format does not have.
 */
START_TEST(test_fast_defers)
{
	static const struct {
		const char *from, *to;
		int rc; /* the reference's verdict */
	} cases[] = {
		{ "\"laptop\"", "\"lap\\u0074op\"", 0 },
		{ "\"laptop\"", "\"lap\\/top\"", 0 },
		{ "\"notes.txt", "\"\\\"notes.txt", 0 },
		{ "\"seq\":42", "\"seq\":1,\"seq\":42", 0 },
		{ "\"pid\":4242", "\"pid\":1,\"pid\":4242", 0 },
		{ ",\"seq\"", ", \"seq\"", 0 },
		{ "\"seq\":42", "\"seq\" : 42", 0 },
		{ "\"seq\":42", "\"seq\":-0", 0 },
		{ "\"seq\":42", "\"seq\":-1", SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":042", SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":42.0", SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":4e1", SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":9223372036854775808",
		  SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":42,\"x\":{\"y\":1}", 0 },
		{ "\"seq\":42", "\"seq\":42,\"x\":[1]", 0 },
		{ "\"pid\":4242", "\"pid\":4242,\"x\":{}", 0 },
		{ "\"seq\":42", "\"seq\":\"42\"", SESSNAP_ECORRUPT },
		{ "\"seq\":42", "\"seq\":tru", SESSNAP_ECORRUPT },
		{ "\"completed\":true", "\"completed\":1", SESSNAP_ECORRUPT },
		{ "\"id\":\"", "\"id\":\"x", SESSNAP_ECORRUPT },
		{ "{\"format\"", "\t{\"format\"", 0 },
	};
	sessnap__header in, ref;
	char *line, *odd;
	size_t len, i;
	int rr;

	fill_header(&in, "{}", 2);
	line = canonical_line(&len, &in);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		odd = replace(line, cases[i].from, cases[i].to);
		ck_assert_msg(both(odd, strlen(odd), &ref, &rr) ==
				  SESSNAP__HEADER_DEFERRED,
			      "not deferred: %s", odd);
		ck_assert_msg(rr == cases[i].rc, "%s: %d", odd, rr);
		/* And the dispatcher gives the reference's answer. */
		ck_assert_int_eq(
		    sessnap__header_parse(&in, odd, strlen(odd)), rr);
		if (rr == 0)
			ck_assert_mem_eq(&in, &ref, sizeof(in));
		free(odd);
	}
	/* Through json-c: the escape decoded, the last duplicate kept. */
	odd = replace(line, "\"laptop\"", "\"lap\\u0074op\"");
	ck_assert_int_eq(sessnap__header_parse(&ref, odd, strlen(odd)),
			 0);
	ck_assert_str_eq(ref.owner.host, "laptop");
	free(odd);
	odd = replace(line, "\"seq\":42", "\"seq\":1,\"seq\":42");
	ck_assert_int_eq(sessnap__header_parse(&ref, odd, strlen(odd)),
			 0);
	ck_assert_uint_eq(ref.seq, 42);
	free(odd);
	free(line);
}
END_TEST

/* The fast path never refuses: a bad field defers to json-c's message. */
START_TEST(test_fast_never_refuses)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
		{ "\"format\":\"sessnap\"", "\"format\":\"other\"",
		  "header: not a sessnap snapshot" },
		{ "\"version\":1", "\"version\":0", "\"version\"" },
		{ "\"id\":\"0123", "\"id\":\"Z123", "\"id\"" },
		{ "\"app\":\"editor\"", "\"app\":\".x\"", "\"app\"" },
		{ "\"label\":\"", "\"label\":null,\"x\":\"", "\"label\"" },
		{ "\"adoptions\":2", "\"adoptions\":4294967296",
		  "\"adoptions\"" },
		{ "\"schema\":7", "\"schema\":false", "\"schema\"" },
		{ "\"pid\":4242", "\"pid\":\"4242\"", "\"owner.pid\"" },
		{ "\"host\":\"laptop\"", "\"host\":1", "\"owner.host\"" },
		{ "\"checksum\":\"xxh3", "\"checksum\":\"md5", "\"checksum\"" },
		{ "\"length\":2", "\"length\":null", "\"length\"" },
		{ "\"owner\":{", "\"owner\":{{", "JSON" },
		{ "\"owner\":{", "\"owner\":[{", "JSON" },
	};
	sessnap__header in, ref;
	char *line, *odd, why[256];
	size_t len, i;
	int rr;

	fill_header(&in, "{}", 2);
	line = canonical_line(&len, &in);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		odd = replace(line, cases[i].from, cases[i].to);
		ck_assert_int_eq(both(odd, strlen(odd), &ref, &rr),
				 SESSNAP__HEADER_DEFERRED);
		ck_assert_msg(rr == SESSNAP_ECORRUPT, "%s: %d", odd, rr);
		why[0] = '\0';
		ck_assert_int_eq(TU_WHY(why, sessnap__header_parse(&in, odd, strlen(odd))),
				 SESSNAP_ECORRUPT);
		ck_assert_msg(strstr(why, cases[i].why) != NULL, "%s: %s", odd,
			      why);
		free(odd);
	}
	free(line);
}
END_TEST

/* A NUL byte, an empty or overlong line: deferred, refused by json-c. */
START_TEST(test_fast_bounds)
{
	sessnap__header in, ref;
	char *line, *big;
	size_t len;
	int rr;

	fill_header(&in, "{}", 2);
	line = canonical_line(&len, &in);
	line[len / 2] = '\0';
	ck_assert_int_eq(both(line, len, &ref, &rr), SESSNAP__HEADER_DEFERRED);
	ck_assert_int_eq(rr, SESSNAP_ECORRUPT);
	ck_assert_int_eq(both(line, 0, &ref, &rr), SESSNAP__HEADER_DEFERRED);
	ck_assert_int_eq(both("\n", 1, &ref, &rr), SESSNAP__HEADER_DEFERRED);
	free(line);
	big = malloc(SESSNAP__HEADER_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', SESSNAP__HEADER_MAX + 1);
	big[0] = '{';
	big[SESSNAP__HEADER_MAX - 1] = '}';
	ck_assert_int_eq(both(big, SESSNAP__HEADER_MAX, &ref, &rr),
			 SESSNAP__HEADER_DEFERRED);
	ck_assert_int_eq(rr, SESSNAP_ECORRUPT);
	free(big);
}
END_TEST


/* ---- Keys: bytes in a JSON header ------------------------------------- */

/* A header with key k (n bytes) through both parsers: the key survives. */
static void key_round_trip(const void *k, size_t n, const char *field,
			   int want_fast)
{
	sessnap__header in, ref;
	char *line;
	size_t len;
	int rr;

	fill_header(&in, "[1,2,3]", 7);
	memcpy(in.key, k, n);
	in.key[n] = '\0';
	in.key_len = n;
	line = canonical_line(&len, &in);
	ck_assert_msg(strstr(line, field) != NULL, "%s not in %s", field,
		      line);
	ck_assert_int_eq(both(line, len, &ref, &rr), want_fast);
	ck_assert_int_eq(rr, 0);
	ck_assert_uint_eq(ref.key_len, n);
	ck_assert_mem_eq(ref.key, k, n);
	ck_assert_int_eq(ref.key[n], '\0');
	free(line);
}

START_TEST(test_key_forms)
{
	static const unsigned char raw[] = { 'a', 0, 0xff, 0xfe, '\n', 'z' };
	static const char esc[] = "C:\\dir\\\"quoted\".txt";
	sessnap__header in, ref;
	char *line;
	size_t len;
	int rr;

	/* Valid UTF-8 without control bytes: a readable string. */
	key_round_trip("/home/u/notes \xc3\xa9t\xc3\xa9.txt", 19,
		       "\"key\":\"/home/u/notes", 0);
	/* NUL, invalid UTF-8, a newline: hex, still on the fast path. */
	key_round_trip(raw, sizeof(raw), "\"key_hex\":\"6100fffe0a7a\"", 0);
	key_round_trip("a\tb", 3, "\"key_hex\":\"610962\"", 0);
	key_round_trip("\x7f", 1, "\"key_hex\":\"7f\"", 0);
	/* An overlong form and a surrogate are not UTF-8. */
	key_round_trip("\xc0\xaf", 2, "\"key_hex\":\"c0af\"", 0);
	key_round_trip("\xed\xa0\x80", 3, "\"key_hex\":\"eda080\"", 0);
	/* Quotes and backslashes are escaped: the reference decodes them. */
	key_round_trip(esc, sizeof(esc) - 1, "\"key\":\"C:\\\\dir",
		       SESSNAP__HEADER_DEFERRED);
	/* No key: neither field. */
	fill_header(&in, "[1,2,3]", 7);
	line = canonical_line(&len, &in);
	ck_assert_ptr_null(strstr(line, "\"key"));
	ck_assert_int_eq(both(line, len, &ref, &rr), 0);
	ck_assert_uint_eq(ref.key_len, 0);
	free(line);
}
END_TEST

/* What no writer writes is corrupt, by both parsers' verdict. */
START_TEST(test_key_refused)
{
	static const char *const bad[] = {
		"\"key\":\"\"",
		"\"key_hex\":\"\"",
		"\"key_hex\":\"616\"",
		"\"key_hex\":\"6A\"",
		"\"key_hex\":\"6g\"",
		"\"key\":1",
		"\"key_hex\":null",
		"\"key\":\"a\\u0000b\"",
		"\"key\":\"a\",\"key_hex\":\"61\"",
	};
	sessnap__header in, ref;
	char *line, *bent, *big, why[256];
	size_t len, i;
	int rr;

	fill_header(&in, "[1,2,3]", 7);
	line = canonical_line(&len, &in);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char to[64];

		snprintf(to, sizeof(to), "%s,\"seq\"", bad[i]);
		bent = replace(line, "\"seq\"", to);
		both(bent, strlen(bent), &ref, &rr);
		ck_assert_msg(rr == SESSNAP_ECORRUPT, "%s: %d", bad[i], rr);
		ck_assert_int_eq(TU_WHY(why, sessnap__header_parse(
						     &ref, bent, strlen(bent))),
				 SESSNAP_ECORRUPT);
		ck_assert_msg(strstr(why, "key") != NULL, "%s", why);
		free(bent);
	}
	/* One byte over SESSNAP_KEY_MAX, in either form. */
	big = malloc(2 * SESSNAP_KEY_MAX + 64);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "\"key\":\"", 7);
	memset(big + 7, 'k', SESSNAP_KEY_MAX + 1);
	memcpy(big + 7 + SESSNAP_KEY_MAX + 1, "\",\"seq\"", 8);
	bent = replace(line, "\"seq\"", big);
	both(bent, strlen(bent), &ref, &rr);
	ck_assert_int_eq(rr, SESSNAP_ECORRUPT);
	free(bent);
	memcpy(big, "\"key_hex\":\"", 11);
	memset(big + 11, 'a', 2 * SESSNAP_KEY_MAX + 2);
	memcpy(big + 11 + 2 * SESSNAP_KEY_MAX + 2, "\",\"seq\"", 8);
	bent = replace(line, "\"seq\"", big);
	both(bent, strlen(bent), &ref, &rr);
	ck_assert_int_eq(rr, SESSNAP_ECORRUPT);
	free(bent);
	free(big);
	free(line);
}
END_TEST

/*
 * The longest header any writer makes: every field at its longest and
 * escaped to its longest (a label of quotes, a host and boot id of control
 * bytes, the largest numbers) and a key of SESSNAP_KEY_MAX bytes in either
 * form still fits SESSNAP__HEADER_MAX, and parses back.
 */
static void worst_header(sessnap__header *h, int plain_key)
{
	fill_header(h, "[1,2,3]", 7);
	memset(h->app, 'a', SESSNAP_APP_MAX);
	h->app[SESSNAP_APP_MAX] = '\0';
	memset(h->label, '"', SESSNAP_LABEL_MAX);
	h->label[SESSNAP_LABEL_MAX] = '\0';
	memset(h->owner.host, '\x01', SESSNAP_HOST_MAX);
	h->owner.host[SESSNAP_HOST_MAX] = '\0';
	memset(h->owner.boot_id, '\x01', sizeof(h->owner.boot_id) - 1);
	h->owner.boot_id[sizeof(h->owner.boot_id) - 1] = '\0';
	h->seq = INT64_MAX;
	h->created_ms = INT64_MAX;
	h->saved_ms = INT64_MAX;
	h->adoptions = UINT32_MAX;
	h->schema_version = UINT32_MAX;
	h->owner.pid = INT64_MAX;
	h->owner.start_time = INT64_MAX;
	h->format_version = SESSNAP__FORMAT_PLAIN;
	/* '"' doubles on the line as a string; 0x01 doubles as hex. */
	memset(h->key, plain_key ? '"' : '\x01', SESSNAP_KEY_MAX);
	h->key[SESSNAP_KEY_MAX] = '\0';
	h->key_len = SESSNAP_KEY_MAX;
}

START_TEST(test_key_worst_case_fits)
{
	sessnap__header in, out;
	char *hbuf = NULL, *line, why[256] = "";
	size_t hlen = 0;
	int plain, rr;

	for (plain = 0; plain < 2; plain++) {
		worst_header(&in, plain);
		ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, &in), 0);
		ck_assert_msg(hlen < SESSNAP__HEADER_MAX, "%zu bytes", hlen);
		ck_assert_uint_gt(hlen, 1024); /* the second read of a scan */
		ck_assert_int_eq(
		    TU_WHY(why, sessnap__header_parse(&out, hbuf, hlen)), 0);
		ck_assert_uint_eq(out.key_len, SESSNAP_KEY_MAX);
		ck_assert_mem_eq(out.key, in.key, SESSNAP_KEY_MAX);
		ck_assert_str_eq(out.label, in.label);
		ck_assert_str_eq(out.owner.host, in.owner.host);
		free(hbuf);
		hbuf = NULL;
	}
	/* The longest header the fast path decides itself (no escapes): a
	 * hex key of SESSNAP_KEY_MAX bytes, every string at its longest. */
	worst_header(&in, 0);
	memset(in.label, 'x', SESSNAP_LABEL_MAX);
	memset(in.owner.host, 'h', SESSNAP_HOST_MAX);
	memset(in.owner.boot_id, 'b', sizeof(in.owner.boot_id) - 1);
	line = canonical_line(&hlen, &in);
	ck_assert_uint_gt(hlen, 1024);
	ck_assert_int_eq(both(line, hlen, &out, &rr), 0);
	ck_assert_int_eq(rr, 0);
	ck_assert_uint_eq(out.key_len, SESSNAP_KEY_MAX);
	ck_assert_mem_eq(out.key, in.key, SESSNAP_KEY_MAX);
	free(line);
}
END_TEST

Suite *format_suite(void);

Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_header_round_trip);
	tcase_add_test(tc, test_header_fields_named);
	tcase_add_test(tc, test_checksum_known);
	tcase_add_test(tc, test_snapshot_round_trip);
	tcase_add_test(tc, test_scalar_payloads);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_missing_fields);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_owner_fields);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_bad_checksums);
	tcase_add_test(tc, test_newer_version);
	tcase_add_test(tc, test_newer_snapshot);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_extended);
	tcase_add_test(tc, test_flipped);
	tcase_add_test(tc, test_zero_filled_and_empty);
	tcase_add_test(tc, test_payload_not_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_header_too_long);
	tcase_add_test(tc, test_header_nul);
	tcase_add_test(tc, test_header_not_object);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_depth_rule_matches_loader);
	tcase_add_test(tc, test_depth_rule_cycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("fastpath");
	tcase_add_test(tc, test_fast_canonical);
	tcase_add_test(tc, test_fast_delta);
	tcase_add_test(tc, test_fast_newer);
	tcase_add_test(tc, test_fast_unknown_keys);
	tcase_add_test(tc, test_fast_defers);
	tcase_add_test(tc, test_fast_never_refuses);
	tcase_add_test(tc, test_fast_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_forms);
	tcase_add_test(tc, test_key_refused);
	tcase_add_test(tc, test_key_worst_case_fits);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(format_suite)
