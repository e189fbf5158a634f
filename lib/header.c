/*
 * header.c - the allocation-free fast path of the header parser
 *
 * The scanner and the cleaner parse one header line per file, and the
 * reference parser (sessnap__header_parse_json() in format.c) builds a
 * json-c DOM of some twenty-five objects and two hash tables for each: it
 * cost about ten times as much as everything else a scan does per session.
 * This module reads the same line with jsmn, a header-only JSON tokenizer
 * that writes tokens into an array on the stack and allocates nothing,
 * then extracts the fields straight from the line.
 *
 * The fast path is conservative: it decides only lines laid out the way
 * sessnap__header_format() writes them, and hands everything else to the
 * reference parser by returning SESSNAP__HEADER_DEFERRED.  It defers on
 *   - a tokenizer error or more tokens than the array holds;
 *   - any byte outside a string that is not the one separator expected
 *     there (whitespace included), so the whole line is checked here and
 *     jsmn's own leniency never matters;
 *   - a string holding a backslash (an escape) or a control character;
 *   - a duplicate key (json-c keeps the last one);
 *   - a number that is not a plain integer in 0..INT64_MAX written without
 *     sign, fraction, exponent or leading zero;
 *   - an array, or an object anywhere but as the value of "owner";
 *   - and any field that parse_fields() would refuse: the reference parser
 *     then writes its own message, so both paths always agree on why.
 * Unknown keys whose value is a string, a number, true, false or null are
 * skipped, as json-c's lookups skip them.  The fast path never refuses a
 * line: it returns 0, SESSNAP_ENEWER (after checking the whole line is
 * valid JSON, as the reference does before looking at any field), or
 * "deferred".  tests/fuzz/fuzz_header_diff.c runs both paths on arbitrary
 * input and aborts when a decision of the fast path differs from the
 * reference's.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "internal.h"

/*
 * A canonical header has at most 55 tokens (a delta snapshot's: 23 keys
 * and their values, the owner's 4 keys and values, and the two objects; a
 * lock record's with its lease has 21 keys); 64 leave room for a few
 * unknown keys of a later minor writer.
 */
#define TOKENS_MAX 64

enum kind { K_STRING, K_INT, K_TRUE, K_FALSE, K_NULL, K_OBJECT };

/* The value of one known key, as found on the line. */
struct slot {
	bool present;
	enum kind kind;
	const char *s; /* K_STRING: the bytes between the quotes */
	size_t len;
	int64_t n; /* K_INT */
};

/* The known keys: the top-level object's first, then the owner's. */
enum key {
	F_FORMAT,
	F_VERSION,
	F_APP,
	F_ID,
	F_LABEL,
	F_KEY,
	F_KEY_HEX,
	F_SEQ,
	F_CREATED,
	F_SAVED,
	F_COMPLETED,
	F_ADOPTIONS,
	F_OWNER,
	F_SCHEMA,
	F_LENGTH,
	F_CHECKSUM,
	F_LAYOUT,
	F_BASE_CODEC,
	F_BASE_SIZE,
	F_AREA,
	F_LEASE_MS,
	F_RENEWALS,
	F_TOP_COUNT,
	F_PID = F_TOP_COUNT,
	F_HOST,
	F_BOOT_ID,
	F_START,
	F_COUNT
};

static const struct {
	const char *name;
	size_t len;
} keys[F_COUNT] = {
#define KEY(s) { s, sizeof(s) - 1 }
	[F_FORMAT] = KEY("format"),	  [F_VERSION] = KEY("version"),
	[F_APP] = KEY("app"),		  [F_ID] = KEY("id"),
	[F_LABEL] = KEY("label"),	  [F_KEY] = KEY("key"),
	[F_KEY_HEX] = KEY("key_hex"),	  [F_SEQ] = KEY("seq"),
	[F_CREATED] = KEY("created"),	  [F_SAVED] = KEY("saved"),
	[F_COMPLETED] = KEY("completed"), [F_ADOPTIONS] = KEY("adoptions"),
	[F_OWNER] = KEY("owner"),	  [F_SCHEMA] = KEY("schema"),
	[F_LENGTH] = KEY("length"),	  [F_CHECKSUM] = KEY("checksum"),
	[F_LAYOUT] = KEY("layout"),	  [F_BASE_CODEC] = KEY("base_codec"),
	[F_BASE_SIZE] = KEY("base_size"), [F_AREA] = KEY("area"),
	[F_LEASE_MS] = KEY("lease_ms"),	  [F_RENEWALS] = KEY("renewals"),
	[F_PID] = KEY("pid"),		  [F_HOST] = KEY("host"),
	[F_BOOT_ID] = KEY("boot_id"),	  [F_START] = KEY("start"),
#undef KEY
};

struct walk {
	const char *line;
	size_t len;
	const jsmntok_t *tok;
	int ntok;
	int next; /* the next token to consume */
	struct slot slot[F_COUNT];
	/* Keys not in keys[], for the duplicate check (rare: linear). */
	const char *unknown[TOKENS_MAX / 2];
	size_t unknown_len[TOKENS_MAX / 2];
	size_t nunknown;
};

static bool at(const struct walk *w, size_t pos, char c)
{
	return pos < w->len && w->line[pos] == c;
}

/*
 * A line whose strings the fast path can take verbatim: no backslash (so
 * no escape) and no control byte, anywhere (outside the strings, either is
 * whitespace or invalid, which defers anyway).  Eight bytes at a time:
 * hasless(w, n) below is true exactly when some byte of w is below n (for
 * n <= 128; "Bit Twiddling Hacks"), and a byte equals '\\' exactly when
 * the same byte of w ^ "\\\\..." is below 1.
 */
static bool line_plain(const char *s, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t w, x;
	size_t i = 0;

#define HASLESS(v, n) (((v) - ones * (n)) & ~(v) & highs)
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		x = w ^ (ones * '\\');
		if (HASLESS(w, 0x20) || HASLESS(x, 1))
			return false;
	}
#undef HASLESS
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '\\')
			return false;
	return true;
}

/*
 * A primitive: exactly true, false, null, or a non-negative integer in
 * canonical form that fits in int64_t.  Anything else (a sign, a fraction,
 * an exponent, a leading zero, a longer number, a misspelt literal, which
 * jsmn lets through as a primitive) is not classified.
 */
static bool classify(struct slot *v, const char *s, size_t len)
{
	size_t i;
	int64_t n = 0;

	if (len == 4 && memcmp(s, "true", 4) == 0) {
		v->kind = K_TRUE;
		return true;
	}
	if (len == 5 && memcmp(s, "false", 5) == 0) {
		v->kind = K_FALSE;
		return true;
	}
	if (len == 4 && memcmp(s, "null", 4) == 0) {
		v->kind = K_NULL;
		return true;
	}
	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || n > (INT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	v->kind = K_INT;
	v->n = n;
	return true;
}

/* The known key named s[0..len) among keys[first..last), or -1. */
static int lookup(const char *s, size_t len, int first, int last, int hint)
{
	int k;

	/* Keys usually come in the order the writer emits them: start with
	 * the one after the last match. */
	for (k = hint; k < last; k++)
		if (keys[k].len == len && memcmp(keys[k].name, s, len) == 0)
			return k;
	for (k = first; k < hint; k++)
		if (keys[k].len == len && memcmp(keys[k].name, s, len) == 0)
			return k;
	return -1;
}

static bool unknown_key(struct walk *w, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < w->nunknown; i++)
		if (w->unknown_len[i] == len &&
		    memcmp(w->unknown[i], s, len) == 0)
			return false;
	if (w->nunknown == TOKENS_MAX / 2)
		return false;
	w->unknown[w->nunknown] = s;
	w->unknown_len[w->nunknown++] = len;
	return true;
}

/*
 * Walk the object whose token is the next one, checking every byte of its
 * text: '{', then "key":value pairs separated by ',', then '}', with
 * nothing in between.  Known keys fill w->slot[first..last); unknown keys
 * are remembered for the duplicate check and their (simple) values
 * skipped.  The owner object is walked by recursion from the top level
 * only, so the depth is at most two.  Returns false to defer.
 */
static bool walk_object(struct walk *w, int first, int last, bool top)
{
	const jsmntok_t *o, *k, *v;
	struct slot scratch, *slot;
	size_t pos;
	int i, idx, hint = first;

	if (w->next >= w->ntok)
		return false;
	o = &w->tok[w->next++];
	if (o->type != JSMN_OBJECT || o->start < 0 || o->end < 0)
		return false;
	pos = (size_t)o->start;
	if (!at(w, pos, '{'))
		return false;
	pos++;
	for (i = 0; i < o->size; i++) {
		if (i > 0 && !at(w, pos++, ','))
			return false;
		if (w->next + 1 >= w->ntok)
			return false;
		k = &w->tok[w->next++];
		v = &w->tok[w->next];
		if (k->type != JSMN_STRING || k->size != 1 ||
		    (size_t)k->start != pos + 1 || !at(w, pos, '"'))
			return false;
		pos = (size_t)k->end + 1;
		if (!at(w, pos++, ':'))
			return false;
		idx = lookup(w->line + k->start, (size_t)(k->end - k->start),
			     first, last, hint);
		if (idx >= 0) {
			slot = &w->slot[idx];
			if (slot->present)
				return false;
			hint = idx + 1 < last ? idx + 1 : first;
		} else {
			if (!unknown_key(w, w->line + k->start,
					 (size_t)(k->end - k->start)))
				return false;
			slot = &scratch;
		}
		slot->present = true;
		switch (v->type) {
		case JSMN_STRING:
			if ((size_t)v->start != pos + 1 || !at(w, pos, '"') ||
			    v->size != 0)
				return false;
			slot->kind = K_STRING;
			slot->s = w->line + v->start;
			slot->len = (size_t)(v->end - v->start);
			pos = (size_t)v->end + 1;
			w->next++;
			break;
		case JSMN_PRIMITIVE:
			if ((size_t)v->start != pos || v->size != 0 ||
			    !classify(slot, w->line + v->start,
				      (size_t)(v->end - v->start)))
				return false;
			pos = (size_t)v->end;
			w->next++;
			break;
		case JSMN_OBJECT:
			if (!top || idx != F_OWNER || (size_t)v->start != pos)
				return false;
			slot->kind = K_OBJECT;
			if (!walk_object(w, F_TOP_COUNT, F_COUNT, false))
				return false;
			pos = (size_t)v->end;
			break;
		default:
			return false;
		}
	}
	return at(w, pos, '}') && pos + 1 == (size_t)o->end;
}

static bool get_int(const struct slot *v, int64_t min, int64_t max,
		    int64_t *out)
{
	if (!v->present || v->kind != K_INT || v->n < min || v->n > max)
		return false;
	*out = v->n;
	return true;
}

/* strlcpy() of a string slot, which holds no NUL (the line has none). */
static bool copy_str(char *dst, size_t size, const struct slot *v)
{
	size_t n;

	if (v->kind != K_STRING)
		return false;
	n = v->len < size - 1 ? v->len : size - 1;
	memcpy(dst, v->s, n);
	dst[n] = '\0';
	return true;
}

/* A string slot that must fit whole (id, app, checksum), then be valid. */
static bool copy_whole(char *dst, size_t size, const struct slot *v)
{
	return v->present && v->kind == K_STRING && v->len < size &&
	       copy_str(dst, size, v);
}

/* The key, as parse_key() takes it; false to defer. */
static bool extract_key(sessnap__header *h, const struct slot *f)
{
	const struct slot *k = &f[F_KEY], *x = &f[F_KEY_HEX];

	if (k->present && x->present)
		return false;
	if (k->present) {
		/* The line has no NUL byte, so neither has the string. */
		if (k->kind != K_STRING || k->len == 0 ||
		    k->len > SESSNAP_KEY_MAX)
			return false;
		memcpy(h->key, k->s, k->len);
		h->key[k->len] = '\0';
		h->key_len = k->len;
	} else if (x->present) {
		if (x->kind != K_STRING ||
		    !sessnap__key_from_hex(h->key, &h->key_len, x->s, x->len))
			return false;
	}
	return true;
}

static bool str_is(const struct slot *v, const char *s)
{
	return v->kind == K_STRING && v->len == strlen(s) &&
	       memcmp(v->s, s, v->len) == 0;
}

/* The delta layout's fields, as parse_layout() (format.c) takes them;
 * false to defer. */
static bool extract_layout(sessnap__header *h, const struct slot *f)
{
	int64_t n;

	if (h->format_version < SESSNAP__FORMAT_DELTA || !f[F_LAYOUT].present ||
	    str_is(&f[F_LAYOUT], "plain"))
		return true;
	if (!str_is(&f[F_LAYOUT], "delta") || !f[F_BASE_CODEC].present)
		return false;
	h->layout = SESSNAP_LAYOUT_DELTA;
	h->slot = -1;
	if (str_is(&f[F_BASE_CODEC], "none"))
		h->base_codec = SESSNAP__CODEC_NONE;
	else if (str_is(&f[F_BASE_CODEC], "zstd"))
		h->base_codec = SESSNAP__CODEC_ZSTD;
	else
		return false;
	if (!get_int(&f[F_BASE_SIZE], 0, INT64_MAX, &n))
		return false;
	h->base_size = (uint64_t)n;
	if (h->base_codec == SESSNAP__CODEC_NONE && h->base_size != h->length)
		return false;
	if (!get_int(&f[F_AREA], 0, INT64_MAX, &n))
		return false;
	h->area = (uint64_t)n;
	h->base_seq = h->seq;
	h->base_saved_ms = h->saved_ms;
	return true;
}

/*
 * The fields, in parse_fields()'s order and with its checks; any field it
 * would refuse defers instead, so the reference reports it.
 */
static int extract(sessnap__header *h, const struct walk *w)
{
	const struct slot *f = w->slot;
	int64_t n;

	if (!f[F_FORMAT].present || f[F_FORMAT].kind != K_STRING ||
	    f[F_FORMAT].len != sizeof(SESSNAP__FORMAT_NAME) - 1 ||
	    memcmp(f[F_FORMAT].s, SESSNAP__FORMAT_NAME, f[F_FORMAT].len) != 0)
		return SESSNAP__HEADER_DEFERRED;
	if (!get_int(&f[F_VERSION], 1, UINT32_MAX, &n))
		return SESSNAP__HEADER_DEFERRED;
	h->format_version = (uint32_t)n;
	if (h->format_version > SESSNAP_FORMAT_VERSION) {
		return sessnap__error(SESSNAP_ENEWER,
				      "written by format version %" PRIu32
				      ", newer than this library's %d",
				      h->format_version,
				      SESSNAP_FORMAT_VERSION);
	}
	if (!copy_whole(h->id, sizeof(h->id), &f[F_ID]) ||
	    !sessnap__id_valid(h->id))
		return SESSNAP__HEADER_DEFERRED;
	if (!copy_whole(h->app, sizeof(h->app), &f[F_APP]) ||
	    !sessnap__app_valid(h->app))
		return SESSNAP__HEADER_DEFERRED;
	if (f[F_LABEL].present &&
	    !copy_str(h->label, sizeof(h->label), &f[F_LABEL]))
		return SESSNAP__HEADER_DEFERRED;
	if (!extract_key(h, f))
		return SESSNAP__HEADER_DEFERRED;
	if (!get_int(&f[F_SEQ], 0, INT64_MAX, &n))
		return SESSNAP__HEADER_DEFERRED;
	h->seq = (uint64_t)n;
	if (!get_int(&f[F_CREATED], 0, INT64_MAX, &h->created_ms) ||
	    !get_int(&f[F_SAVED], 0, INT64_MAX, &h->saved_ms))
		return SESSNAP__HEADER_DEFERRED;
	if (!f[F_COMPLETED].present || (f[F_COMPLETED].kind != K_TRUE &&
					f[F_COMPLETED].kind != K_FALSE))
		return SESSNAP__HEADER_DEFERRED;
	h->completed = f[F_COMPLETED].kind == K_TRUE;
	if (f[F_ADOPTIONS].present) {
		if (!get_int(&f[F_ADOPTIONS], 0, UINT32_MAX, &n))
			return SESSNAP__HEADER_DEFERRED;
		h->adoptions = (uint32_t)n;
	}
	if (f[F_SCHEMA].present) {
		if (!get_int(&f[F_SCHEMA], 0, UINT32_MAX, &n))
			return SESSNAP__HEADER_DEFERRED;
		h->schema_version = (uint32_t)n;
	}
	if (f[F_OWNER].present) {
		if (f[F_OWNER].kind != K_OBJECT)
			return SESSNAP__HEADER_DEFERRED;
		if (f[F_PID].present &&
		    !get_int(&f[F_PID], 0, INT64_MAX, &h->owner.pid))
			return SESSNAP__HEADER_DEFERRED;
		if (f[F_HOST].present &&
		    !copy_str(h->owner.host, sizeof(h->owner.host), &f[F_HOST]))
			return SESSNAP__HEADER_DEFERRED;
		if (f[F_BOOT_ID].present &&
		    !copy_str(h->owner.boot_id, sizeof(h->owner.boot_id),
			      &f[F_BOOT_ID]))
			return SESSNAP__HEADER_DEFERRED;
		if (f[F_START].present) {
			if (!get_int(&f[F_START], 0, INT64_MAX, &n))
				return SESSNAP__HEADER_DEFERRED;
			h->owner.start_time = (uint64_t)n;
		}
	}
	if (!get_int(&f[F_LENGTH], 0, INT64_MAX, &n))
		return SESSNAP__HEADER_DEFERRED;
	h->length = (uint64_t)n;
	if (!copy_whole(h->checksum, sizeof(h->checksum), &f[F_CHECKSUM]) ||
	    !sessnap__checksum_valid(h->checksum))
		return SESSNAP__HEADER_DEFERRED;
	if (f[F_LEASE_MS].present || f[F_RENEWALS].present) {
		if (!get_int(&f[F_LEASE_MS], 1, UINT32_MAX, &n))
			return SESSNAP__HEADER_DEFERRED;
		h->lease_ms = (uint32_t)n;
		if (!get_int(&f[F_RENEWALS], 0, INT64_MAX, &n))
			return SESSNAP__HEADER_DEFERRED;
		h->renewals = (uint64_t)n;
	}
	return extract_layout(h, f) ? 0 : SESSNAP__HEADER_DEFERRED;
}

int sessnap__header_parse_fast(sessnap__header *out, const char *line,
			       size_t len)
{
	jsmntok_t tok[TOKENS_MAX];
	jsmn_parser parser;
	struct walk w;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0 || len >= SESSNAP__HEADER_MAX || !line_plain(line, len))
		return SESSNAP__HEADER_DEFERRED;
	jsmn_init(&parser);
	r = jsmn_parse(&parser, line, len, tok, TOKENS_MAX);
	if (r < 1)
		return SESSNAP__HEADER_DEFERRED;
	/* The object must span the whole line: jsmn stops at a NUL byte and
	 * accepts several values in a row. */
	if (tok[0].type != JSMN_OBJECT || tok[0].start != 0 ||
	    (size_t)tok[0].end != len)
		return SESSNAP__HEADER_DEFERRED;
	w.line = line;
	w.len = len;
	w.tok = tok;
	w.ntok = r;
	w.next = 0;
	w.nunknown = 0;
	memset(w.slot, 0, sizeof(w.slot));
	if (!walk_object(&w, 0, F_TOP_COUNT, true) || w.next != r)
		return SESSNAP__HEADER_DEFERRED;
	r = extract(out, &w);
	if (r == SESSNAP__HEADER_DEFERRED || r == SESSNAP_ENEWER) {
		memset(out, 0, sizeof(*out));
		if (r == SESSNAP_ENEWER)
			out->format_version = (uint32_t)w.slot[F_VERSION].n;
	}
	return r;
}
