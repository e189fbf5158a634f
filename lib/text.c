/*
 * text.c - states as JSON text: handed over, loaded, migrated, validated
 *
 * Programs and language bindings that hold no json-c objects hand over a
 * state they have already serialized, and read one back as text:
 *
 *	sessnap_session_update_text()   check the text, copy it, queue it
 *	sessnap_load_text()             sessnap_load(), the payload as text
 *	sessnap_session_adopt_text()    sessnap_session_adopt(), as text
 *
 * and the store's migrate_text and validate_text callbacks, which the
 * loader (load.c) calls through sessnap__text_migrate() and
 * sessnap__text_validate().
 *
 * The rule is "nothing accepted that cannot be read back": the text is
 * written as the payload byte for byte, so update_text must refuse, at the
 * call, every text the loader would refuse.  The loader parses a payload
 * with json-c's tokener at a depth of SESSNAP__JSON_DEPTH (format.c), in
 * its default, lenient mode, and reads at most the store's read bound.
 * update_text accepts less than that tokener does: exactly one JSON value
 * as RFC 8259 defines it (UTF-8, no comments, trailing commas, single
 * quotes, NaN or leading zeros, which json-c's lenient mode lets through),
 * nested no deeper than the tokener allows.  Every such text is one the
 * tokener accepts, which tests/check_text.c checks against the loader's
 * own parser over generated and hand-written texts.
 *
 * Why a scanner of our own rather than the tokener: update_text runs on
 * the app's thread and must cost no more than update() with an object
 * (serialize and copy).  The tokener builds a json-c object of every value
 * and frees it again, several times the cost of serializing; the scanner
 * below allocates nothing and reads each byte once.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "owner.h"

#define PAYLOAD_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- The validating scanner ---------------------------------------------- */

/* Byte classes inside a string. */
enum {
	C_PLAIN = 0, /* printable ASCII other than '"' and '\\' */
	C_QUOTE,
	C_BACKSLASH,
	C_CONTROL, /* below 0x20: must be escaped */
	C_UTF8	   /* 0x80 and above: part of a UTF-8 sequence */
};

/* One row per 16 bytes. */
/* clang-format off */
static const unsigned char str_class[256] = {
#define R4(x) x, x, x, x
#define R16(x) R4(x), R4(x), R4(x), R4(x)
	R16(C_CONTROL), R16(C_CONTROL),
	/* 0x20 - 0x2f: ' ' '!' '"' ... */
	C_PLAIN, C_PLAIN, C_QUOTE, C_PLAIN, R4(C_PLAIN), R4(C_PLAIN),
	R4(C_PLAIN),
	R16(C_PLAIN), /* 0x30 */
	R16(C_PLAIN), /* 0x40 */
	/* 0x50 - 0x5f: '\\' is 0x5c */
	R4(C_PLAIN), R4(C_PLAIN), R4(C_PLAIN), C_BACKSLASH, C_PLAIN, C_PLAIN,
	C_PLAIN,
	R16(C_PLAIN), R16(C_PLAIN), /* 0x60, 0x70 (DEL is allowed) */
	R16(C_UTF8), R16(C_UTF8), R16(C_UTF8), R16(C_UTF8),
	R16(C_UTF8), R16(C_UTF8), R16(C_UTF8), R16(C_UTF8)
#undef R16
#undef R4
};
/* clang-format on */

struct scan {
	const unsigned char *start;
	const unsigned char *end;
	const char *what; /* what was wrong, when the scan failed */
};

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static const unsigned char *skip_ws(const unsigned char *p,
				    const unsigned char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/*
 * One well-formed UTF-8 sequence (Unicode's table 3-7: no overlong forms,
 * no surrogates, nothing above U+10FFFF).  Returns the byte after it, or
 * NULL.
 */
static const unsigned char *utf8_seq(const unsigned char *p,
				     const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 1;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3;
	else
		return NULL;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - p) <= n)
		return NULL;
	if (p[1] < lo || p[1] > hi)
		return NULL;
	for (i = 2; i <= n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return NULL;
	return p + n + 1;
}

/* A string; p is on its opening quote.  Returns the byte after it. */
static const unsigned char *scan_string(struct scan *sc, const unsigned char *p)
{
	const unsigned char *end = sc->end;
	int i;

	for (p++;;) {
		while (p < end && str_class[*p] == C_PLAIN)
			p++;
		if (p == end) {
			sc->what = "the text ends inside a string";
			return NULL;
		}
		switch (str_class[*p]) {
		case C_QUOTE:
			return p + 1;
		case C_BACKSLASH:
			if (end - p < 2)
				goto truncated;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6)
					goto truncated;
				for (i = 2; i < 6; i++)
					if (!is_hex(p[i])) {
						sc->what = "a \\u escape needs "
							   "four hex digits";
						return NULL;
					}
				p += 6;
				break;
			default:
				sc->what = "an invalid escape in a string";
				return NULL;
			}
			break;
		case C_CONTROL:
			sc->what = "a control character in a string (it must "
				   "be escaped)";
			return NULL;
		case C_UTF8:
			if ((p = utf8_seq(p, end)) == NULL) {
				sc->what = "a string is not valid UTF-8";
				return NULL;
			}
			break;
		default:
			p++;
			break;
		}
	}
truncated:
	sc->what = "the text ends inside an escape";
	return NULL;
}

static const unsigned char *digits(const unsigned char *p,
				   const unsigned char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const unsigned char *scan_number(struct scan *sc, const unsigned char *p)
{
	const unsigned char *end = sc->end, *q;

	if (*p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		goto bad;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9') {
			sc->what = "a number with a leading zero";
			return NULL;
		}
	} else {
		p = digits(p, end);
	}
	if (p < end && *p == '.') {
		q = digits(p + 1, end);
		if (q == p + 1)
			goto bad;
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		q = digits(p, end);
		if (q == p)
			goto bad;
		p = q;
	}
	return p;
bad:
	sc->what = "a malformed number";
	return NULL;
}

static const unsigned char *scan_literal(struct scan *sc,
					 const unsigned char *p,
					 const char *word, size_t n)
{
	if ((size_t)(sc->end - p) < n || memcmp(p, word, n) != 0) {
		sc->what = "expected a value";
		return NULL;
	}
	return p + n;
}

/*
 * Check that text[0..len) is exactly one JSON value (RFC 8259) that the
 * loader's tokener accepts.  Returns 0, or SESSNAP_EINVAL with the reason
 * and the byte offset in `why`.
 *
 * Nesting: json-c's tokener (json_tokener_new_ex(SESSNAP__JSON_DEPTH))
 * holds one level for every value being parsed, its scalars included, so
 * a value may sit inside at most SESSNAP__JSON_DEPTH - 1 containers: 1024
 * nested empty arrays parse, 1023 nested objects around a number parse,
 * one more of either does not.  The check below counts the same way.
 */
int sessnap__json_check(const char *text, size_t len, char *why, size_t why_len)
{
	/* The open containers: '[' or '{', innermost last. */
	char stack[SESSNAP__JSON_DEPTH];
	struct scan sc;
	const unsigned char *p, *end, *v;
	size_t depth = 0;

	sc.start = (const unsigned char *)text;
	sc.end = sc.start + len;
	sc.what = NULL;
	p = sc.start;
	end = sc.end;
	p = skip_ws(p, end);
	if (p == end) {
		snprintf(why, why_len, "the text holds no JSON value%s",
			 len == 0 ? " (it is empty)" : " (only whitespace)");
		return SESSNAP_EINVAL;
	}

value:
	if (p == end) {
		sc.what = "the text ends where a value was expected";
		goto fail;
	}
	if (depth + 1 > SESSNAP__JSON_DEPTH) {
		snprintf(why, why_len,
			 "the value at byte %zu is nested %zu deep, more than "
			 "the loader's limit of %d",
			 (size_t)(p - sc.start), depth + 1,
			 SESSNAP__JSON_DEPTH);
		return SESSNAP_EINVAL;
	}
	v = p;
	switch (*p) {
	case '{':
		p = skip_ws(p + 1, end);
		if (p < end && *p == '}') {
			p++;
			goto after;
		}
		stack[depth++] = '{';
		goto key;
	case '[':
		p = skip_ws(p + 1, end);
		if (p < end && *p == ']') {
			p++;
			goto after;
		}
		stack[depth++] = '[';
		goto value;
	case '"':
		p = scan_string(&sc, p);
		break;
	case 't':
		p = scan_literal(&sc, p, "true", 4);
		break;
	case 'f':
		p = scan_literal(&sc, p, "false", 5);
		break;
	case 'n':
		p = scan_literal(&sc, p, "null", 4);
		break;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		p = scan_number(&sc, p);
		break;
	default:
		sc.what = "expected a value";
		goto fail;
	}
	if (p == NULL)
		goto fail_at_value;
	goto after;

key:
	if (p == end || *p != '"') {
		sc.what = "expected a string as the member's name";
		goto fail;
	}
	v = p;
	if ((p = scan_string(&sc, p)) == NULL)
		goto fail_at_value;
	p = skip_ws(p, end);
	if (p == end || *p != ':') {
		sc.what = "expected ':' after the member's name";
		goto fail;
	}
	p = skip_ws(p + 1, end);
	goto value;

after:
	p = skip_ws(p, end);
	if (depth == 0) {
		if (p != end) {
			sc.what = "more than one JSON value, or trailing "
				  "characters after the value";
			goto fail;
		}
		return 0;
	}
	if (p == end) {
		sc.what = stack[depth - 1] == '[' ? "the text ends inside an "
						    "array" :
						    "the text ends inside an "
						    "object";
		goto fail;
	}
	if (*p == ',') {
		p = skip_ws(p + 1, end);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if ((*p == ']' && stack[depth - 1] == '[') ||
	    (*p == '}' && stack[depth - 1] == '{')) {
		p++;
		depth--;
		goto after;
	}
	sc.what = stack[depth - 1] == '[' ? "expected ',' or ']' in an array" :
					    "expected ',' or '}' in an object";
	goto fail;

fail_at_value:
	/* The helpers return NULL: report where the value starts. */
	snprintf(why, why_len, "%s, in the value at byte %zu", sc.what,
		 (size_t)(v - sc.start));
	return SESSNAP_EINVAL;
fail:
	snprintf(why, why_len, "%s at byte %zu", sc.what,
		 (size_t)(p - sc.start));
	return SESSNAP_EINVAL;
}

/*
 * The largest payload whose snapshot file fits the read bound: the file is
 * a header line (never longer than SESSNAP__HEADER_MAX, which the reader
 * enforces and the writer cannot exceed), the payload and a newline.  The
 * exact header is not known here (the label may still change before the
 * save), so the bound assumes the longest.  The tokener also takes at most
 * INT32_MAX - 1 bytes (format.c, parse_payload).
 */
static size_t text_max(const sessnap_store *store)
{
	size_t max;

	if (store->read_bound <= (size_t)SESSNAP__HEADER_MAX + 1)
		return 0;
	max = store->read_bound - SESSNAP__HEADER_MAX - 1;
	if (max > (size_t)INT32_MAX - 2)
		max = (size_t)INT32_MAX - 2;
	return max;
}

/* ---- Text in --------------------------------------------------------------
 */

int sessnap_session_update_text(sessnap_session *s, const char *json,
				size_t len)
{
	char why[256];
	size_t max;
	int rc;

	if (s == NULL || json == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_update_text: NULL "
				      "argument");
	if ((rc = sessnap__check_owner(NULL, s,
					SESSNAP__CHECK_SESSION |
					    SESSNAP__CHECK_LIVE,
					"update_text")) < 0)
		return rc;
	max = text_max(s->store);
	if (len > max)
		return sessnap__error(SESSNAP_ETOOBIG,
				      "state of session %s is %zu bytes: with "
				      "its header its snapshot could exceed "
				      "the store's read bound of %zu bytes "
				      "(the largest state accepted is %zu "
				      "bytes), so it could not be loaded "
				      "back; nothing was queued",
				      s->id, len, s->store->read_bound, max);
	if ((rc = sessnap__json_check(json, len, why, sizeof(why))) < 0)
		return sessnap__error(rc,
				      "state of session %s is not one valid "
				      "JSON value: %s; nothing was queued",
				      s->id, why);
	return sessnap__session_queue_copy(s, json, len);
}

/* ---- Callbacks ------------------------------------------------------------
 */

int sessnap__text_validate(sessnap_store *store, json_object *state,
			   unsigned int schema_version)
{
	const char *str;
	size_t len;

	if (store->opts.validate_text == NULL)
		return 0;
	str = json_object_to_json_string_length(state, PAYLOAD_FLAGS, &len);
	if (str == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory serializing a loaded "
				      "state for the validate_text callback");
	return store->opts.validate_text(str, len, schema_version,
					 store->opts.payload) != 0 ?
		   1 :
		   0;
}

/* Parse a text that sessnap__json_check() accepted, as the loader does. */
static int parse_checked(json_object **out, const char *text, size_t len)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;

	if ((tok = json_tokener_new_ex(SESSNAP__JSON_DEPTH)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		/* Not expected: the scanner accepts less than the tokener. */
		json_object_put(obj);
		return sessnap__error(SESSNAP_EINVAL,
				      "json-c refused a text the scanner "
				      "accepted: %s",
				      json_tokener_error_desc(jerr));
	}
	*out = obj;
	return 0;
}

int sessnap__text_migrate(json_object **state, sessnap_store *store,
			  const char *id, unsigned int from_version)
{
	unsigned int to_version = store->opts.schema_version;
	const char *str;
	char *text, *grown, why[256];
	size_t len;
	json_object *migrated = NULL;
	int rc;

	str = json_object_to_json_string_length(*state, PAYLOAD_FLAGS, &len);
	if (str == NULL || (text = malloc(len + 1)) == NULL) {
		json_object_put(*state);
		*state = NULL;
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory migrating session %s", id);
	}
	memcpy(text, str, len + 1);
	json_object_put(*state);
	*state = NULL;
	rc = store->opts.migrate_text(&text, &len, from_version, to_version,
				      store->opts.payload);
	if (rc != 0) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u failed (the "
		    "migrate_text callback returned %d); the snapshot is left "
		    "as it is",
		    id, from_version, to_version, rc);
	}
	if (text == NULL)
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned no text; the snapshot is "
		    "left as it is",
		    id, from_version, to_version);
	if (len > text_max(store)) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned %zu bytes, more than the "
		    "%zu the store's read bound allows; the snapshot is left "
		    "as it is",
		    id, from_version, to_version, len, text_max(store));
	}
	if ((rc = sessnap__json_check(text, len, why, sizeof(why))) < 0) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned text that is not one "
		    "valid JSON value (%s); the snapshot is left as it is",
		    id, from_version, to_version, why);
	}
	/* The tokener reads one byte past the value: give it a newline. */
	if ((grown = realloc(text, len + 1)) == NULL) {
		free(text);
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory migrating session %s", id);
	}
	text = grown;
	text[len] = '\n';
	rc = parse_checked(&migrated, text, len);
	free(text);
	if (rc < 0)
		return sessnap__error(SESSNAP_EMIGRATE,
				      "migrating session %s: %s", id,
				      sessnap_last_error());
	*state = migrated;
	return 0;
}

/* ---- Text out -------------------------------------------------------------
 */

/* The state as text, in json-c's plain form (after a migration). */
static int serialize(char **out, size_t *out_len, json_object *state)
{
	const char *str;
	size_t len;

	str = json_object_to_json_string_length(state, PAYLOAD_FLAGS, &len);
	if (str == NULL || (*out = malloc(len + 1)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory serializing a state");
	memcpy(*out, str, len + 1);
	*out_len = len;
	return 0;
}

/*
 * The payload bytes of generation `name`, provided they are those of the
 * state that was loaded (same checksum).  Returns 0, 1 when the file now
 * holds another state (a save replaced it), or an error.
 */
static int reread(char **out, size_t *out_len, sessnap_store *store,
		  const char *name, const sessnap__header *loaded)
{
	char why[256], path[PATH_MAX];
	sessnap__header h;
	size_t len = 0, off = 0;
	char *raw = NULL;
	int rc;

	rc = sessnap__snapshot_read_raw(&raw, &len, &h, &off, store, name, why,
					sizeof(why));
	if (rc == SESSNAP_ENOTFOUND || rc == SESSNAP_ECORRUPT)
		return 1; /* replaced, or being replaced: load again */
	if (rc < 0)
		return sessnap__error(
		    rc, "cannot read %s back: %s",
		    sessnap__path(path, sizeof(path), store, name), why);
	if (strcmp(h.checksum, loaded->checksum) != 0) {
		free(raw);
		return 1;
	}
	/* Keep the payload, NUL-terminated in place of its newline. */
	memmove(raw, raw + off, (size_t)h.length);
	raw[h.length] = '\0';
	*out = raw;
	*out_len = (size_t)h.length;
	return 0;
}

/* How many times a load is redone when a live owner keeps saving. */
#define LOAD_TRIES 8

int sessnap_load_text(char **out, size_t *out_len, sessnap_load_info *info,
		      sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX];
	sessnap_load_info got;
	sessnap__header h;
	json_object *state;
	int rc, tries;

	if (out == NULL || out_len == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_load_text: NULL argument");
	*out = NULL;
	*out_len = 0;
	if (!sessnap__id_valid(id))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid session id \"%s\": expected %d "
				      "lowercase hex digits",
				      id ? id : "(null)", SESSNAP_ID_LEN);
	/*
	 * The loader decides which generation to use (checksum, fallback,
	 * validation, migration) exactly as sessnap_load() does; the bytes
	 * are then read again from that generation, as adoption does
	 * (adopt.c), and must carry the checksum of the state that was
	 * loaded.  Without the session's lock a live owner may replace the
	 * file in between: then the load is redone.
	 */
	for (tries = 0; tries < LOAD_TRIES; tries++) {
		state = NULL;
		rc = sessnap__load(&state, &got, &h, store, id);
		if (rc < 0)
			return rc;
		if (got.flags & SESSNAP_LOAD_MIGRATED) {
			rc = serialize(out, out_len, state);
			json_object_put(state);
		} else {
			json_object_put(state);
			sessnap__gen_name(name, id, got.generation);
			rc = reread(out, out_len, store, name, &h);
			if (rc == 1)
				continue;
		}
		if (rc < 0)
			return rc;
		if (info != NULL)
			*info = got;
		return 0;
	}
	return sessnap__error(SESSNAP_EBUSY,
			      "session %s in %s was replaced by its owner %d "
			      "times while it was being read; try again",
			      id, store->path, LOAD_TRIES);
}

int sessnap_session_adopt_text(sessnap_session **out, char **state,
			       size_t *state_len, sessnap_load_info *info,
			       sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX], why[256], path[PATH_MAX];
	sessnap_load_info got;
	sessnap__header h;
	sessnap_session *s = NULL;
	json_object *obj = NULL;
	size_t len = 0, off = 0;
	char *raw = NULL, *text = NULL;
	int rc;

	if (out == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_adopt_text: NULL "
				      "argument");
	*out = NULL;
	if (state != NULL)
		*state = NULL;
	if (state_len != NULL)
		*state_len = 0;
	rc = sessnap_session_adopt(&s, state != NULL ? &obj : NULL, &got, store,
				   id);
	if (rc < 0)
		return rc;
	if (state != NULL) {
		if (got.flags & SESSNAP_LOAD_MIGRATED) {
			rc = serialize(&text, &len, obj);
		} else {
			/*
			 * The adoption wrote the recovered payload unchanged
			 * as <id>.snap, and holds the lock: nobody else
			 * writes it, and nothing was queued yet.
			 */
			sessnap__snap_name(name, id);
			rc = sessnap__snapshot_read_raw(&raw, &len, &h, &off,
							store, name, why,
							sizeof(why));
			if (rc < 0) {
				rc = sessnap__error(
				    rc,
				    "adopting session %s: cannot read %s "
				    "back: %s; the session was released",
				    id,
				    sessnap__path(path, sizeof(path), store,
						  name),
				    why);
			} else {
				memmove(raw, raw + off, (size_t)h.length);
				raw[h.length] = '\0';
				len = (size_t)h.length;
				text = raw;
			}
		}
		json_object_put(obj);
		if (rc < 0) {
			sessnap_session_release(s);
			return rc;
		}
		*state = text;
		if (state_len != NULL)
			*state_len = len;
	}
	if (info != NULL)
		*info = got;
	*out = s;
	return 0;
}
