/*
 * fuzz_delta.c - libFuzzer target: the reader of a delta snapshot
 *
 * Feeds arbitrary bytes, as the complete content of a snapshot file, to
 * the reader of the delta layout: sessnap__verify() (header line, size
 * rule, the stored base's checksum), then sessnap__delta_decode() (the
 * two slots, the base decompressed when stored with zstd, the newest
 * record that holds, else the other, else the base), with a bound of
 * STATE_MAX bytes on any state.
 *
 * Each input is read twice: as it is, and "repaired": the base's checksum
 * in the header recomputed in place (it has a fixed width), and each slot
 * that parses once its self-check is recomputed written again with its
 * record's checksum and, where a zstd frame starts at its offset, that
 * frame's length and announced content size, so that mutations of the base, of the slots' fields and
 * of the zstd frames (their content size included) reach the code behind
 * those checks instead of stopping at them.  A hostile file can carry
 * valid checksums too.
 *
 * Either way the reader must accept or refuse without crashing, reading
 * out of bounds, leaking or allocating for a size it has not bounded
 * (run.sh runs this target with a malloc limit far under what a claimed
 * size could ask for).  An accepted file gives a state of at most
 * STATE_MAX bytes, followed by a newline and a NUL, whose checksum is the
 * one the reader reports, and that is either the base (seq the base's) or
 * the record of the slot it names (that slot's size and seq, above the
 * base's).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "internal.h"

#define STATE_MAX (1u << 20)

#define SUM_KEY "\"checksum\":\"xxh3-128:"
#define SELF_KEY ",\"self\":\"xxh3-64:"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_one(const char *buf, size_t size)
{
	char sum[SESSNAP__CHECKSUM_LEN + 1];
	sessnap__header h;
	size_t off, len;
	char *state = NULL;

	if (sessnap__verify(&h, &off, buf, size) != 0 ||
	    h.layout != SESSNAP_LAYOUT_DELTA)
		return;
	/* sessnap__verify() sets off to the base, after the two slots that
	 * follow the header line */
	if (off < SESSNAP__SLOTS_LEN)
		abort();
	if (sessnap__delta_decode(&state, &len, &h, buf, size,
				  off - SESSNAP__SLOTS_LEN, STATE_MAX,
				  NULL) != 0) {
		if (state != NULL)
			abort();
		return;
	}
	if (state == NULL || len > STATE_MAX || state[len] != '\n' ||
	    state[len + 1] != '\0' || h.length != len)
		abort();
	sessnap__checksum(sum, state, len);
	if (strcmp(sum, h.checksum) != 0)
		abort();
	if (h.slot >= 0 && (h.slot > 1 || h.rec.size != len ||
			    h.seq != h.rec.seq || h.rec.seq <= h.base_seq))
		abort();
	if (h.slot < 0 && h.seq != h.base_seq)
		abort();
	free(state);
}

/* The last occurrence of key in p[0..len), or NULL. */
static char *last_of(char *p, size_t len, const char *key)
{
	size_t klen = strlen(key);
	char *hit = NULL, *q = p;

	while ((q = memmem(q, len - (size_t)(q - p), key, klen)) != NULL)
		hit = q++;
	return hit;
}

/* Write checksum `sum` ("xxh3-128:<32 hex>") over the hex after key. */
static void patch_sum(char *p, size_t len, const char *sum)
{
	char *at = last_of(p, len, SUM_KEY);
	size_t hex = sizeof("xxh3-128:") - 1;

	if (at != NULL && (size_t)(at - p) + sizeof(SUM_KEY) - 1 + 32 <= len)
		memcpy(at + sizeof(SUM_KEY) - 1, sum + hex, 32);
}

/* Recompute a slot's self-check: the XXH3-64 of the bytes before it. */
static void patch_self(char *slot)
{
	char *at = last_of(slot, SESSNAP__SLOT_LEN - 1, SELF_KEY);
	char hex[17];

	if (at == NULL ||
	    (size_t)(at - slot) + sizeof(SELF_KEY) - 1 + 16 >
		SESSNAP__SLOT_LEN - 1)
		return;
	snprintf(hex, sizeof(hex), "%016" PRIx64,
		 (uint64_t)XXH3_64bits(slot, (size_t)(at - slot)));
	memcpy(at + sizeof(SELF_KEY) - 1, hex, 16);
}

/*
 * Make every checksum of a delta file hold, where the layout is found, and
 * each slot's size what its record's frame announces.
 */
static void repair(char *buf, size_t size)
{
	char sum[SESSNAP__CHECKSUM_LEN + 1];
	sessnap__header h;
	sessnap__slot s;
	size_t hlen = 0;
	uint64_t base, area;
	unsigned long long content;
	size_t flen;
	char *slot;
	int i;

	if (sessnap__header_of(&h, &hlen, buf, size) != 0 ||
	    h.layout != SESSNAP_LAYOUT_DELTA ||
	    sessnap__check_size(&h, hlen, size) != 0)
		return;
	base = sessnap__delta_base_off(hlen);
	sessnap__checksum(sum, buf + base, (size_t)h.length);
	patch_sum(buf, hlen, sum);
	area = sessnap__delta_area_off(&h, hlen);
	for (i = 0; i < 2; i++) {
		slot = buf + hlen + (size_t)i * SESSNAP__SLOT_LEN;
		patch_self(slot);
		if (sessnap__slot_parse(&s, slot) != 0 || s.at > h.area ||
		    s.length > h.area - s.at)
			continue;
		flen = ZSTD_findFrameCompressedSize(buf + area + s.at,
						    (size_t)(h.area - s.at));
		if (!ZSTD_isError(flen) && flen > 0)
			s.length = flen;
		content = ZSTD_getFrameContentSize(buf + area + s.at,
						   (size_t)s.length);
		if (content != ZSTD_CONTENTSIZE_ERROR &&
		    content != ZSTD_CONTENTSIZE_UNKNOWN)
			s.size = content;
		sessnap__checksum(s.checksum, buf + area + s.at,
				  (size_t)s.length);
		sessnap__slot_format(slot, &s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	read_one((const char *)data, size);
	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	repair(copy, size);
	read_one(copy, size);
	free(copy);
	return 0;
}
