/*
 * words.c - how long ago, and how big, in words people read
 *
 * sessnap__age_format() turns two clocks into "42 seconds ago", "5 minutes
 * ago", "3 hours ago", "1 day ago", "2 weeks ago"; sessnap__size_format()
 * turns a byte count into "999B", "1.2K", "16M" (libbsd's humanize_number).
 * The recovery prompt and every sessnap command print these, so a session
 * reads the same at the prompt and in "sessnap list".
 *
 * This file is compiled into the library and into the command-line
 * programs (see words.h): it includes nothing of the library's internals.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libutil.h>

#include "words.h"

#define SEC_MS INT64_C(1000)

/*
 * The clocks may come from two hosts (a session saved on a file server's
 * client), so a time a little after now, or a few seconds before it,
 * reads as "just now"; only a minute or more ahead is "in the future".
 * Nothing adds to now_ms or subtracts across a sign: a clock near
 * INT64_MAX or below zero must not overflow (a fuzz finding).
 */
void sessnap__age_format(char *buf, size_t len, int64_t now_ms, int64_t then_ms)
{
	static const struct {
		int64_t secs;
		const char *unit;
	} units[] = {
		{ 86400 * 7, "week" }, { 86400, "day" }, { 3600, "hour" },
		{ 60, "minute" },      { 1, "second" },
	};
	int64_t d;
	size_t i;

	if (then_ms <= 0) {
		strlcpy(buf, "at an unknown time", len);
		return;
	}
	/* Here then_ms > 0, so now_ms - then_ms cannot overflow once
	 * now_ms >= then_ms, nor then_ms - now_ms once now_ms >= 0. */
	if (now_ms < then_ms) {
		if (now_ms < 0 || then_ms - now_ms > 60 * SEC_MS)
			strlcpy(buf, "in the future", len);
		else
			strlcpy(buf, "just now", len);
		return;
	}
	d = (now_ms - then_ms) / SEC_MS;
	if (d < 10) {
		/* A little clock skew between hosts reads as "now" too. */
		strlcpy(buf, "just now", len);
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t n = d / units[i].secs;

		if (n >= 1) {
			snprintf(buf, len, "%" PRId64 " %s%s ago", n,
				 units[i].unit, n == 1 ? "" : "s");
			return;
		}
	}
}

/*
 * Five characters plus the NUL make humanize_number scale the same way
 * whatever the caller's buffer: "999B", "1.2K", "34M", never "16384B".
 */
void sessnap__size_format(char *buf, size_t len, uint64_t bytes)
{
	char tmp[6];

	if (bytes > INT64_MAX ||
	    humanize_number(tmp, sizeof(tmp), (int64_t)bytes, "", HN_AUTOSCALE,
			    HN_DECIMAL | HN_NOSPACE | HN_B) < 0)
		strlcpy(tmp, "?", sizeof(tmp));
	strlcpy(buf, tmp, len);
}

/*
 * A key is bytes, and the header is JSON text.  A key that is valid UTF-8
 * with no control byte, DEL or NUL is written as the JSON string "key":
 * readable, and json-c escapes at most '"' and '\\' in it (two bytes per
 * byte at worst).  Any other key is written as "key_hex", two lowercase
 * hex digits per byte (also two bytes per byte), which a shell decodes
 * with `xxd -r -p`.  Either way every byte survives, and a key of
 * SESSNAP_KEY_MAX bytes fits the header bound with every other field at
 * its longest.
 */
bool sessnap__key_plain(const unsigned char *k, size_t len)
{
	size_t i = 0, n, j;

	while (i < len) {
		unsigned char c = k[i];
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (j = 1; j <= n; j++) {
			if ((k[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (k[i + j] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}
