/*
 * fuzz_seqs.c - libFuzzer target: records encoded from kept matches
 *
 * The input is a base and a list of edits.  Its first two bytes give the
 * base's share of the rest; the base is the bytes that follow, and each
 * edit after it is 5 bytes (kind, position, length) followed by the bytes
 * it puts in (up to its length, from the input).  Every state, from the
 * base through each edit, is encoded by the writer's codec
 * (sessnap__delta_compress(): the kept matches of the state before,
 * deltaseq.c) and decoded by zstd against the base; the target aborts
 * unless every record decodes to exactly its state.  The codec keeps
 * matches from one state to the next, so a fuzzer-made history of edits
 * explores what a list that fits the state badly does.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The states are bounded, so that one input runs in milliseconds. */
#define STATE_MAX 65536
#define EDITS_MAX 64

static void check(sessnap__delta_codec *c, ZSTD_DCtx *d, const char *base,
		  size_t base_len, const char *st, size_t len, char *rec,
		  size_t cap, char *out)
{
	size_t rlen = 0, r;
	int rc = sessnap__delta_compress(c, rec, cap, &rlen, st, len);

	if (rc == 1)
		return; /* did not fit: the caller would compact */
	if (rc != 0)
		abort();
	r = ZSTD_decompress_usingDict(d, out, STATE_MAX, rec, rlen, base,
				      base_len);
	if (ZSTD_isError(r) || r != len || memcmp(out, st, len) != 0)
		abort();
}

/* Apply one edit; returns the input bytes it used. */
static size_t edit(char *st, size_t *len, const uint8_t *p, size_t n)
{
	size_t at, del, ins, i;

	if (n < 5)
		return n;
	at = *len > 0 ? ((size_t)p[1] << 8 | p[2]) % (*len + 1) : 0;
	del = (size_t)p[3] % (*len - at + 1);
	ins = (size_t)p[4];
	if (ins > n - 5)
		ins = n - 5;
	if (*len - del + ins > STATE_MAX)
		ins = 0;
	switch (p[0] % 4) {
	case 0: /* replaced by input bytes */
		memmove(st + at + ins, st + at + del, *len - at - del);
		memcpy(st + at, p + 5, ins);
		*len = *len - del + ins;
		return 5 + ins;
	case 1: /* a stretch of the state itself inserted */
		if (ins > *len)
			ins = *len;
		memmove(st + at + ins, st + at, *len - at);
		for (i = 0; i < ins; i++)
			st[at + i] = st[(at + ins + i * 7) % (*len + ins)];
		*len += ins;
		return 5;
	case 2: /* bytes flipped in place */
		for (i = 0; i < del; i++)
			st[at + i] ^= (char)p[4];
		return 5;
	default: /* removed */
		memmove(st + at, st + at + del, *len - at - del);
		*len -= del;
		return 5;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char st[STATE_MAX], out[STATE_MAX];
	size_t base_len, len, used, cap = ZSTD_compressBound(STATE_MAX);
	sessnap__delta_codec *c = NULL;
	const char *base;
	ZSTD_DCtx *d;
	char *rec;
	int k;

	if (size < 2)
		return 0;
	base_len = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	if (base_len > STATE_MAX)
		base_len = STATE_MAX;
	data += 2;
	size -= 2;
	base = (const char *)data;
	d = ZSTD_createDCtx();
	rec = malloc(cap);
	if (d == NULL || rec == NULL ||
	    sessnap__delta_codec_new(&c, base, base_len) != 0)
		abort();
	memcpy(st, data, base_len);
	len = base_len;
	check(c, d, base, base_len, st, len, rec, cap, out);
	data += base_len;
	size -= base_len;
	for (k = 0; k < EDITS_MAX && size > 0; k++) {
		used = edit(st, &len, data, size);
		data += used;
		size -= used;
		check(c, d, base, base_len, st, len, rec, cap, out);
	}
	sessnap__delta_codec_free(c);
	free(rec);
	ZSTD_freeDCtx(d);
	return 0;
}
