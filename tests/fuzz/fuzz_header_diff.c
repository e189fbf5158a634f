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
 * them.
 */
#include "config.h"

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
	rf = sessnap__header_parse_fast(&fast, line, len, why_fast,
					sizeof(why_fast));
	rr = sessnap__header_parse_json(&ref, line, len, why_ref,
					sizeof(why_ref));
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
	    strcmp(fast.label, ref.label) != 0 || fast.seq != ref.seq ||
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

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
