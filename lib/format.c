/*
 * format.c - the on-disk snapshot format
 *
 * A snapshot file is two lines of JSON, so `head -1 x.snap | jq` shows the
 * header and `tail -1` the state:
 *
 *	{"format":"sessnap","version":1,"app":"ed","id":"<32 hex>",...,
 *	 "length":1234,"checksum":"xxh3-128:<32 hex>"}\n
 *	<the state, exactly `length` bytes of compact JSON>\n
 *
 * The header is bounded (SESSNAP__HEADER_MAX), so a scanner reads one small
 * block per file to list and classify a session, and the file size must be
 * header + length + 1: a truncated or extended file is caught without
 * reading the payload.  The payload is verified against its XXH3-128
 * checksum (xxHash, a well-kept library) only when the state is asked for.
 * docs/sessnap-format.5 is the specification.
 *
 * A header whose format version is newer than SESSNAP_FORMAT_VERSION is
 * reported as SESSNAP_ENEWER before any other field is looked at: a newer
 * writer may change every other field, and its files must never be called
 * corrupt (the cleaner deletes corrupt files on request).
 *
 * Nothing decoded here is trusted: every size is bounded and the JSON
 * nesting depth is limited.
 *
 * This module is pure: it encodes and decodes a header and a payload held
 * in memory and computes the checksum, and makes no system call.  Reading
 * a snapshot file of the store (opening it safely, one bounded read of the
 * header, the one verdict on a session file) is snapfile.c's, one floor
 * up.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "internal.h"

#define CHECKSUM_PREFIX "xxh3-128:"

void sessnap__checksum(char out[SESSNAP__CHECKSUM_LEN + 1], const void *data,
		       size_t len)
{
	sessnap__checksum_of_hash(out, XXH3_128bits(data, len));
}

void sessnap__checksum_of_hash(char out[SESSNAP__CHECKSUM_LEN + 1],
			       XXH128_hash_t h)
{
	XXH128_canonical_t c;
	static const char hex[] = "0123456789abcdef";
	size_t i, o = sizeof(CHECKSUM_PREFIX) - 1;

	XXH128_canonicalFromHash(&c, h);
	memcpy(out, CHECKSUM_PREFIX, o);
	for (i = 0; i < sizeof(c.digest); i++) {
		out[o++] = hex[c.digest[i] >> 4];
		out[o++] = hex[c.digest[i] & 15];
	}
	out[o] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool sessnap__key_from_hex(unsigned char out[SESSNAP_KEY_MAX + 1],
			   size_t *out_len, const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len % 2 != 0 || len / 2 > SESSNAP_KEY_MAX)
		return false;
	for (i = 0; i < len; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	*out_len = len / 2;
	return true;
}

static json_object *key_hex(const sessnap__header *h)
{
	static const char hex[] = "0123456789abcdef";
	char buf[2 * SESSNAP_KEY_MAX];
	size_t i;

	for (i = 0; i < h->key_len; i++) {
		buf[2 * i] = hex[h->key[i] >> 4];
		buf[2 * i + 1] = hex[h->key[i] & 15];
	}
	return json_object_new_string_len(buf, (int)(2 * h->key_len));
}

static int add(json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int sessnap__header_format(char **out, size_t *out_len,
			   const sessnap__header *h)
{
	json_object *obj, *owner;
	const char *s;
	size_t len;
	char *buf;
	int bad = 0;

	*out = NULL;
	obj = json_object_new_object();
	owner = json_object_new_object();
	if (obj == NULL || owner == NULL) {
		json_object_put(obj);
		json_object_put(owner);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	bad |= add(obj, "format", json_object_new_string(SESSNAP__FORMAT_NAME));
	bad |= add(obj, "version", json_object_new_int64(h->format_version));
	bad |= add(obj, "app", json_object_new_string(h->app));
	bad |= add(obj, "id", json_object_new_string(h->id));
	bad |= add(obj, "label", json_object_new_string(h->label));
	if (h->key_len > 0 && sessnap__key_plain(h->key, h->key_len))
		bad |= add(obj, "key",
			   json_object_new_string_len((const char *)h->key,
						      (int)h->key_len));
	else if (h->key_len > 0)
		bad |= add(obj, "key_hex", key_hex(h));
	bad |= add(obj, "seq", json_object_new_int64((int64_t)h->seq));
	bad |= add(obj, "created", json_object_new_int64(h->created_ms));
	bad |= add(obj, "saved", json_object_new_int64(h->saved_ms));
	bad |= add(obj, "completed", json_object_new_boolean(h->completed));
	bad |= add(obj, "adoptions", json_object_new_int64(h->adoptions));
	bad |= add(owner, "pid", json_object_new_int64(h->owner.pid));
	bad |= add(owner, "host", json_object_new_string(h->owner.host));
	bad |= add(owner, "boot_id", json_object_new_string(h->owner.boot_id));
	bad |= add(owner, "start",
		   json_object_new_int64((int64_t)h->owner.start_time));
	bad |= add(obj, "owner", owner);
	bad |= add(obj, "schema", json_object_new_int64(h->schema_version));
	bad |= add(obj, "length", json_object_new_int64((int64_t)h->length));
	bad |= add(obj, "checksum", json_object_new_string(h->checksum));
	if (h->lease_ms > 0) {
		bad |= add(obj, "lease_ms", json_object_new_int64(h->lease_ms));
		bad |= add(obj, "renewals",
			   json_object_new_int64((int64_t)h->renewals));
	}
	if (h->layout == SESSNAP_LAYOUT_DELTA) {
		bad |= add(obj, "layout", json_object_new_string("delta"));
		bad |= add(obj, "base_codec",
			   json_object_new_string(h->base_codec ==
							  SESSNAP__CODEC_ZSTD ?
						      "zstd" :
						      "none"));
		bad |= add(obj, "base_size",
			   json_object_new_int64((int64_t)h->base_size));
		bad |= add(obj, "area", json_object_new_int64((int64_t)h->area));
	}
	if (bad) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || (buf = malloc(len + 1)) == NULL) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	json_object_put(obj);
	*out = buf;
	*out_len = len + 1;
	return 0;
}

static bool get_int(json_object *obj, const char *key, int64_t min,
		    int64_t max, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	/*
	 * json-c keeps integers above INT64_MAX as uint64 (clamped to
	 * UINT64_MAX when larger still) and get_int64 then returns INT64_MAX
	 * without setting errno: tell them apart through get_uint64.
	 */
	if (*out == INT64_MAX &&
	    json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	return errno == 0 && *out >= min && *out <= max;
}

static const char *get_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool sessnap__checksum_valid(const char *s)
{
	size_t p = sizeof(CHECKSUM_PREFIX) - 1;

	return strncmp(s, CHECKSUM_PREFIX, p) == 0 &&
	       strspn(s + p, "0123456789abcdef") == SESSNAP__CHECKSUM_LEN - p &&
	       s[SESSNAP__CHECKSUM_LEN] == '\0';
}

#define BAD(what)                                                              \
	sessnap__error(SESSNAP_ECORRUPT, "header: %s", what)

/* The "owner" object: each field is optional, but typed when present. */
static int parse_owner(sessnap_owner *o, json_object *owner)
{
	json_object *v;
	const char *s;
	int64_t n;

	if (!json_object_is_type(owner, json_type_object))
		return BAD("invalid \"owner\"");
	if (json_object_object_get_ex(owner, "pid", &v)) {
		if (!get_int(owner, "pid", 0, INT64_MAX, &n))
			return BAD("invalid \"owner.pid\"");
		o->pid = n;
	}
	if (json_object_object_get_ex(owner, "host", &v)) {
		if ((s = get_str(owner, "host")) == NULL)
			return BAD("invalid \"owner.host\"");
		strlcpy(o->host, s, sizeof(o->host));
	}
	if (json_object_object_get_ex(owner, "boot_id", &v)) {
		if ((s = get_str(owner, "boot_id")) == NULL)
			return BAD("invalid \"owner.boot_id\"");
		strlcpy(o->boot_id, s, sizeof(o->boot_id));
	}
	if (json_object_object_get_ex(owner, "start", &v)) {
		if (!get_int(owner, "start", 0, INT64_MAX, &n))
			return BAD("invalid \"owner.start\"");
		o->start_time = (uint64_t)n;
	}
	return 0;
}

/*
 * "key" (a string of 1 to SESSNAP_KEY_MAX bytes with no NUL) or "key_hex"
 * (see sessnap__key_from_hex()), not both; neither: no key.
 */
static int parse_key(sessnap__header *h, json_object *obj)
{
	json_object *v, *x;
	const char *s;
	size_t len;

	if (json_object_object_get_ex(obj, "key", &v)) {
		if (json_object_object_get_ex(obj, "key_hex", &x))
			return BAD("both \"key\" and \"key_hex\"");
		if (!json_object_is_type(v, json_type_string))
			return BAD("invalid \"key\"");
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (len == 0 || len > SESSNAP_KEY_MAX ||
		    memchr(s, '\0', len) != NULL)
			return BAD("invalid \"key\"");
		memcpy(h->key, s, len);
		h->key[len] = '\0';
		h->key_len = len;
	} else if (json_object_object_get_ex(obj, "key_hex", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !sessnap__key_from_hex(
			h->key, &h->key_len, json_object_get_string(v),
			(size_t)json_object_get_string_len(v)))
			return BAD("invalid \"key_hex\"");
	}
	return 0;
}

/*
 * Format version 2: "layout" is "plain" (the default) or "delta"; a delta
 * header also has "base_codec", "base_size" and "area".  A version 1
 * header has no layout: any "layout" key there is not looked at.
 */
static int parse_layout(sessnap__header *h, json_object *obj)
{
	json_object *v;
	const char *s;
	int64_t n;

	h->layout = SESSNAP_LAYOUT_PLAIN;
	if (h->format_version < SESSNAP__FORMAT_DELTA ||
	    !json_object_object_get_ex(obj, "layout", &v))
		return 0;
	s = get_str(obj, "layout");
	if (s != NULL && strcmp(s, "plain") == 0)
		return 0;
	if (s == NULL || strcmp(s, "delta") != 0)
		return BAD("invalid \"layout\"");
	h->layout = SESSNAP_LAYOUT_DELTA;
	h->slot = -1;
	s = get_str(obj, "base_codec");
	if (s != NULL && strcmp(s, "none") == 0)
		h->base_codec = SESSNAP__CODEC_NONE;
	else if (s != NULL && strcmp(s, "zstd") == 0)
		h->base_codec = SESSNAP__CODEC_ZSTD;
	else
		return BAD("missing or invalid \"base_codec\"");
	if (!get_int(obj, "base_size", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"base_size\"");
	h->base_size = (uint64_t)n;
	if (h->base_codec == SESSNAP__CODEC_NONE && h->base_size != h->length)
		return BAD("\"base_size\" differs from \"length\" of an "
			   "uncompressed base");
	if (!get_int(obj, "area", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"area\"");
	h->area = (uint64_t)n;
	h->base_seq = h->seq;
	h->base_saved_ms = h->saved_ms;
	return 0;
}

static int parse_fields(sessnap__header *h, json_object *obj)
{
	json_object *v, *owner;
	const char *s;
	int64_t n;
	int rc;

	s = get_str(obj, "format");
	if (s == NULL || strcmp(s, SESSNAP__FORMAT_NAME) != 0)
		return BAD(
		    "not a sessnap snapshot (no \"format\":\"sessnap\")");
	if (!get_int(obj, "version", 1, UINT32_MAX, &n))
		return BAD("missing or invalid \"version\"");
	h->format_version = (uint32_t)n;
	if (h->format_version > SESSNAP_FORMAT_VERSION)
		return sessnap__error(SESSNAP_ENEWER,
					"written by format version %" PRIu32
					", newer than this library's %d",
					h->format_version,
					SESSNAP_FORMAT_VERSION);

	s = get_str(obj, "id");
	if (s == NULL || !sessnap__id_valid(s))
		return BAD("missing or invalid \"id\"");
	strlcpy(h->id, s, sizeof(h->id));
	s = get_str(obj, "app");
	if (s == NULL || !sessnap__app_valid(s))
		return BAD("missing or invalid \"app\"");
	strlcpy(h->app, s, sizeof(h->app));
	if (json_object_object_get_ex(obj, "label", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return BAD("invalid \"label\"");
		strlcpy(h->label, json_object_get_string(v),
			sizeof(h->label));
	}
	if ((rc = parse_key(h, obj)) < 0)
		return rc;
	if (!get_int(obj, "seq", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"seq\"");
	h->seq = (uint64_t)n;
	if (!get_int(obj, "created", 0, INT64_MAX, &h->created_ms))
		return BAD("missing or invalid \"created\"");
	if (!get_int(obj, "saved", 0, INT64_MAX, &h->saved_ms))
		return BAD("missing or invalid \"saved\"");
	if (!json_object_object_get_ex(obj, "completed", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return BAD("missing or invalid \"completed\"");
	h->completed = json_object_get_boolean(v);
	h->adoptions = 0;
	if (json_object_object_get_ex(obj, "adoptions", &v)) {
		if (!get_int(obj, "adoptions", 0, UINT32_MAX, &n))
			return BAD("invalid \"adoptions\"");
		h->adoptions = (uint32_t)n;
	}
	h->schema_version = 0;
	if (json_object_object_get_ex(obj, "schema", &v)) {
		if (!get_int(obj, "schema", 0, UINT32_MAX, &n))
			return BAD("invalid \"schema\"");
		h->schema_version = (uint32_t)n;
	}
	memset(&h->owner, 0, sizeof(h->owner));
	if (json_object_object_get_ex(obj, "owner", &owner) &&
	    (rc = parse_owner(&h->owner, owner)) < 0)
		return rc;
	if (!get_int(obj, "length", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"length\"");
	h->length = (uint64_t)n;
	s = get_str(obj, "checksum");
	if (s == NULL || !sessnap__checksum_valid(s))
		return BAD("missing or invalid \"checksum\"");
	strlcpy(h->checksum, s, sizeof(h->checksum));
	/* The lease of a lock record (lease.c): both or neither. */
	h->lease_ms = 0;
	h->renewals = 0;
	if (json_object_object_get_ex(obj, "lease_ms", &v) ||
	    json_object_object_get_ex(obj, "renewals", &v)) {
		if (!get_int(obj, "lease_ms", 1, UINT32_MAX, &n))
			return BAD("invalid \"lease_ms\"");
		h->lease_ms = (uint32_t)n;
		if (!get_int(obj, "renewals", 0, INT64_MAX, &n))
			return BAD("invalid \"renewals\"");
		h->renewals = (uint64_t)n;
	}
	return parse_layout(h, obj);
}
#undef BAD

int sessnap__header_parse_json(sessnap__header *out, const char *line,
			       size_t len)
{
	json_tokener *tok;
	json_object *obj;
	size_t end;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return sessnap__error(SESSNAP_ECORRUPT,
					"header line is empty");
	if (len >= SESSNAP__HEADER_MAX)
		return sessnap__error(SESSNAP_ECORRUPT,
					"header line is longer than %d bytes",
					SESSNAP__HEADER_MAX);
	if (memchr(line, '\0', len) != NULL)
		return sessnap__error(SESSNAP_ECORRUPT,
					"header contains NUL bytes");
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, "", 1);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL)
		return sessnap__error(SESSNAP_ECORRUPT,
					"header is not valid JSON");
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	if (end < len || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ECORRUPT,
					"header is not one JSON object");
	}
	rc = parse_fields(out, obj);
	json_object_put(obj);
	return rc;
}

/*
 * The allocation-free parser (header.c) decides the lines laid out as
 * sessnap__header_format() writes them; json-c, the reference, decides
 * everything else, and writes every refusal's message.
 */
int sessnap__header_parse(sessnap__header *out, const char *line, size_t len)
{
	int rc = sessnap__header_parse_fast(out, line, len);

	if (rc != SESSNAP__HEADER_DEFERRED)
		return rc;
	return sessnap__header_parse_json(out, line, len);
}

/* Check that the file's size is exactly what its header announces. */
int sessnap__check_size(const sessnap__header *h, size_t hlen, uint64_t size)
{
	uint64_t want = (uint64_t)hlen + h->length + 1;

	/* A delta file: header, slots, base and newline, record area
	 * (length and area are each at most INT64_MAX: no overflow). */
	if (h->layout == SESSNAP_LAYOUT_DELTA)
		want = sessnap__delta_area_off(h, hlen) + h->area;

	if (size < want)
		return sessnap__error(SESSNAP_ECORRUPT,
					"truncated: %" PRIu64
					" bytes, the header "
					"announces %" PRIu64,
					size, want);
	if (size > want)
		return sessnap__error(SESSNAP_ECORRUPT,
					"%" PRIu64
					" bytes, longer than the %" PRIu64
					" its header announces",
					size, want);
	return 0;
}

int sessnap__header_of(sessnap__header *out, size_t *hlen, const char *buf,
		       size_t len)
{
	const char *nl;
	size_t scan = len < SESSNAP__HEADER_MAX ? len : SESSNAP__HEADER_MAX;

	if (len == 0)
		return sessnap__error(SESSNAP_ECORRUPT,
					"empty file");
	nl = memchr(buf, '\n', scan);
	if (nl == NULL) {
		if (memchr(buf, '\0', scan) != NULL)
			return sessnap__error(SESSNAP_ECORRUPT,
			    "zero-filled or binary data, no header");
		return sessnap__error(SESSNAP_ECORRUPT,
		    len < SESSNAP__HEADER_MAX ?
			"truncated inside the header" :
			"no header line in the first %d bytes",
		    SESSNAP__HEADER_MAX);
	}
	*hlen = (size_t)(nl - buf) + 1;
	return sessnap__header_parse(out, buf, *hlen);
}

/*
 * Verify a whole snapshot in memory: header, size, checksum.  Sets *off to
 * the payload's offset.
 */
int sessnap__verify(sessnap__header *hdr, size_t *off, const char *buf,
		    size_t len)
{
	char sum[SESSNAP__CHECKSUM_LEN + 1];
	size_t hlen = 0;
	int rc;

	if ((rc = sessnap__header_of(hdr, &hlen, buf, len)) < 0)
		return rc;
	if ((rc = sessnap__check_size(hdr, hlen, len)) < 0)
		return rc;
	if (hdr->layout == SESSNAP_LAYOUT_DELTA) {
		/* The base, as stored; the slots and records are checked
		 * each on its own when decoded (delta.c). */
		size_t boff = (size_t)sessnap__delta_base_off(hlen);

		if (buf[boff + hdr->length] != '\n')
			return sessnap__error(SESSNAP_ECORRUPT,
			    "base is not terminated by a newline");
		sessnap__checksum(sum, buf + boff, (size_t)hdr->length);
		if (strcmp(sum, hdr->checksum) != 0)
			return sessnap__error(SESSNAP_ECORRUPT,
			    "checksum mismatch: the base was damaged");
		*off = boff;
		return 0;
	}
	if (buf[len - 1] != '\n')
		return sessnap__error(SESSNAP_ECORRUPT,
		    "payload is not terminated by a newline");
	sessnap__checksum(sum, buf + hlen, (size_t)hdr->length);
	if (strcmp(sum, hdr->checksum) != 0)
		return sessnap__error(SESSNAP_ECORRUPT,
		    "checksum mismatch: the payload was damaged");
	*off = hlen;
	return 0;
}

int sessnap__parse_payload(json_object **state, const char *p, size_t len)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT32_MAX - 1)
		return sessnap__error(SESSNAP_ETOOBIG,
		    "payload of %zu bytes is too large to parse", len);
	tok = json_tokener_new_ex(SESSNAP__JSON_DEPTH);
	if (tok == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	/* The payload is followed by its newline: parsing it too lets a
	 * bare top-level number end. */
	obj = json_tokener_parse_ex(tok, p, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ECORRUPT,
					"payload is not valid JSON: %s",
					json_tokener_error_desc(jerr));
	}
	while (end < len + 1 && (p[end] == ' ' || p[end] == '\n'))
		end++;
	if (end != len + 1) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ECORRUPT,
		    "payload holds more than one JSON value");
	}
	*state = obj;
	return 0;
}

/*
 * The deepest a value inside container `o` lies (o itself at depth d), or
 * SESSNAP__JSON_DEPTH when that reaches the limit.  The tokener refuses a
 * value at depth SESSNAP__JSON_DEPTH (json_tokener_new_ex()'s depth counts
 * the value's enclosing containers plus one), so an empty container at
 * depth SESSNAP__JSON_DEPTH - 1 is fine and any element there is not.
 * Only containers are descended into: the walk costs one step per element
 * and nothing per byte of a string.
 */
static int container_depth(json_object *o, int d)
{
	struct array_list *list;
	json_object *child;
	size_t i, n;
	int deepest = d, got;
	json_type t;

	if (json_object_get_type(o) == json_type_array) {
		/* the list itself: one call less per element than get_idx */
		list = json_object_get_array(o);
		n = list->length;
		if (n == 0)
			return d;
		if (d + 1 >= SESSNAP__JSON_DEPTH)
			return SESSNAP__JSON_DEPTH;
		deepest = d + 1;
		for (i = 0; i < n; i++) {
			child = list->array[i];
			t = json_object_get_type(child);
			if (t != json_type_array && t != json_type_object)
				continue;
			got = container_depth(child, d + 1);
			if (got >= SESSNAP__JSON_DEPTH)
				return got;
			if (got > deepest)
				deepest = got;
		}
		return deepest;
	}
	if (json_object_object_length(o) == 0)
		return d;
	if (d + 1 >= SESSNAP__JSON_DEPTH)
		return SESSNAP__JSON_DEPTH;
	deepest = d + 1;
	json_object_object_foreach(o, key, val)
	{
		(void)key;
		t = json_object_get_type(val);
		if (t != json_type_array && t != json_type_object)
			continue;
		got = container_depth(val, d + 1);
		if (got >= SESSNAP__JSON_DEPTH)
			return got;
		if (got > deepest)
			deepest = got;
	}
	return deepest;
}

bool sessnap__json_depth_ok(const json_object *state, int *depth)
{
	json_object *o = (json_object *)state;
	json_type t = json_object_get_type(o);

	*depth = 0;
	if (t == json_type_array || t == json_type_object)
		*depth = container_depth(o, 0);
	return *depth < SESSNAP__JSON_DEPTH;
}

int sessnap__snapshot_parse(json_object **state, sessnap__header *hdr,
			    const char *buf, size_t len)
{
	size_t off = 0;
	int rc;

	char *cur = NULL;
	size_t cur_len = 0;

	*state = NULL;
	if ((rc = sessnap__verify(hdr, &off, buf, len)) < 0)
		return rc;
	if (hdr->layout != SESSNAP_LAYOUT_DELTA)
		return sessnap__parse_payload(state, buf + off,
					      (size_t)hdr->length);
	/* No store here: the bound of a store with the default read
	 * bound, so that a fuzzer's input never allocates more. */
	rc = sessnap__delta_decode(&cur, &cur_len, hdr, buf, len,
				   off - SESSNAP__SLOTS_LEN,
				   SESSNAP__DEFAULT_READ_BOUND -
				       SESSNAP__HEADER_MAX - 1,
				   NULL);
	if (rc < 0)
		return rc;
	rc = sessnap__parse_payload(state, cur, cur_len);
	free(cur);
	return rc;
}
