/*
 * fuzz_header_diff.c - libFuzzer target: the header parser's fast path
 * against its reference
 *
 * sessnap__header_parse() tries an allocation-free parser first (header.c)
 * and falls back to json-c (format.c), the reference, when the fast path
 * defers.  The fast path is only allowed to decide as the reference would:
 * this target runs both on every input and aborts when
 *   - the fast path returns anything but 0, SESSNAP_ENEWER or "deferred"
 *     (it must never refuse a line itself);
 *   - it decides, and the reference's code, message or any header field
 *     differs;
 *   - it defers and leaves the header anything but zeroed.
 * Inputs are also tried with a newline appended, as the scanner passes
 * them.  Random bytes rarely make a header the fast path accepts, so each
 * input is also read as the values of a header's fields, written by
 * sessnap__header_format() (the canonical layout, every value reachable)
 * and fed to both parsers.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sessnap__header zero;

static void compare(const char *line, size_t len)
{
	sessnap__header fast, ref;
	char why_fast[256] = "", why_ref[256] = "";
	int rf, rr;

	/* Different fill, so an unset field cannot match by chance. */
	memset(&fast, 0xa5, sizeof(fast));
	memset(&ref, 0x5a, sizeof(ref));
	/* Each reason is copied out of the one thread-local message. */
	sessnap__error(0, "%s", "");
	rf = sessnap__header_parse_fast(&fast, line, len);
	if (rf < 0)
		strlcpy(why_fast, sessnap_error_last(), sizeof(why_fast));
	sessnap__error(0, "%s", "");
	rr = sessnap__header_parse_json(&ref, line, len);
	if (rr < 0)
		strlcpy(why_ref, sessnap_error_last(), sizeof(why_ref));
	if (rf == SESSNAP__HEADER_DEFERRED) {
		if (memcmp(&fast, &zero, sizeof(fast)) != 0)
			abort();
		return;
	}
	if (rf != 0 && rf != SESSNAP_ENEWER)
		abort();
	if (rf != rr || strcmp(why_fast, why_ref) != 0)
		abort();
	/* Both start from a memset and fill the same fields, so the
	 * padding matches too; compare field by field anyway, for a
	 * readable crash. */
	if (fast.format_version != ref.format_version ||
	    strcmp(fast.app, ref.app) != 0 || strcmp(fast.id, ref.id) != 0 ||
	    strcmp(fast.label, ref.label) != 0 ||
	    fast.key_len != ref.key_len ||
	    memcmp(fast.key, ref.key, sizeof(fast.key)) != 0 ||
	    fast.seq != ref.seq ||
	    fast.created_ms != ref.created_ms ||
	    fast.saved_ms != ref.saved_ms ||
	    fast.completed != ref.completed ||
	    fast.adoptions != ref.adoptions ||
	    fast.owner.pid != ref.owner.pid ||
	    strcmp(fast.owner.host, ref.owner.host) != 0 ||
	    strcmp(fast.owner.boot_id, ref.owner.boot_id) != 0 ||
	    fast.owner.start_time != ref.owner.start_time ||
	    fast.schema_version != ref.schema_version ||
	    fast.length != ref.length ||
	    strcmp(fast.checksum, ref.checksum) != 0)
		abort();
	if (memcmp(&fast, &ref, sizeof(fast)) != 0)
		abort();
}

/* Take n bytes of the input as a little-endian integer (0 once used up). */
static uint64_t take(const uint8_t **p, size_t *left, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && *left > 0; i++, (*p)++, (*left)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

/*
 * Take a string of up to size - 1 bytes: a 16-bit length, a byte saying
 * whether to keep the bytes raw (any but NUL) or map them to printable
 * ASCII without quote or backslash (what the fast path takes), then the
 * bytes.
 */
static void take_str(char *dst, size_t size, const uint8_t **p, size_t *left)
{
	size_t n = (size_t)take(p, left, 2), i;
	bool raw = take(p, left, 1) & 1;
	unsigned int c;

	for (i = 0; i < n && i + 1 < size && *left > 0; i++) {
		c = (unsigned int)take(p, left, 1);
		dst[i] = (char)(raw ? (c | 1) : ' ' + c % 95);
		if (!raw && (dst[i] == '"' || dst[i] == '\\'))
			dst[i] = '.';
	}
	dst[i] = '\0';
}

static void structured(const uint8_t *p, size_t left)
{
	static const char hex[] = "0123456789abcdef";
	sessnap__header h;
	char *line = NULL;
	size_t len = 0, i;
	uint64_t flags = take(&p, &left, 1);

	memset(&h, 0, sizeof(h));
	h.format_version = (uint32_t)(take(&p, &left, 1) % 3);
	for (i = 0; i < SESSNAP_ID_LEN; i++)
		h.id[i] = hex[(flags & 1) ? take(&p, &left, 1) % 16 : i % 16];
	if (flags & 2)
		take_str(h.app, sizeof(h.app), &p, &left);
	else
		strlcpy(h.app, "app", sizeof(h.app));
	take_str(h.label, sizeof(h.label), &p, &left);
	/* A key of any bytes (NUL included), written as "key" or
	 * "key_hex" by its content. */
	h.key_len = (size_t)take(&p, &left, 2) % (SESSNAP_KEY_MAX + 1);
	for (i = 0; i < h.key_len; i++)
		h.key[i] = (unsigned char)((flags & 16) ?
						 take(&p, &left, 1) :
						 ' ' + take(&p, &left, 1) % 95);
	h.seq = take(&p, &left, 8);
	h.created_ms = (int64_t)take(&p, &left, 8);
	h.saved_ms = (int64_t)take(&p, &left, 8);
	h.completed = (flags & 4) != 0;
	h.adoptions = (uint32_t)take(&p, &left, 4);
	h.owner.pid = (int64_t)take(&p, &left, 8);
	take_str(h.owner.host, sizeof(h.owner.host), &p, &left);
	take_str(h.owner.boot_id, sizeof(h.owner.boot_id), &p, &left);
	h.owner.start_time = take(&p, &left, 8);
	h.schema_version = (uint32_t)take(&p, &left, 4);
	h.length = take(&p, &left, 8);
	if (flags & 8)
		take_str(h.checksum, sizeof(h.checksum), &p, &left);
	else
		sessnap__checksum(h.checksum, "", 0);
	if (sessnap__header_format(&line, &len, &h) < 0)
		return;
	compare(line, len);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	structured(data, size);

	compare((const char *)data, size);
	/* The same line as the scanner hands it over: newline included. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\n';
	compare(buf, size + 1);
	free(buf);
	return 0;
}
