/*
 * check_deltaseq.c - records encoded from the last record's matches
 *
 * The delta codec (delta.c) encodes a record from the matches of the
 * state it encoded last (deltaseq.c), compared byte for byte against the
 * new state before use.  These tests drive the codec as the writer does,
 * one state after another against one base, and decode every record
 * with zstd itself against the base, as `zstd -d -D base` would:
 *
 *  - edits of every kind (bytes replaced with the same length, inserted,
 *    removed, at the front, at the end, whole blocks moved, the state
 *    emptied, made anew, made the base again), in random order: every
 *    record decodes to its state exactly;
 *  - after one edit, and after a hundred scattered ones, zstd searches
 *    only the bytes around the edit (the kept matches cover the rest);
 *  - a state zstd cuts into more matches than the bound is compressed
 *    whole, and the save after it starts again from the base: both
 *    decode.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zstd.h>

#include "internal.h"
#include "testutil.h"

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Text of words, as an editor's state is: it compresses and matches. */
static void words(char *out, size_t len)
{
	static const char *const w[] = { "the ",     "state ", "of ",
					 "session ", "line ",  "buffer ",
					 "cursor ",  "undo ",  "json ",
					 "{\"k\":",  "1234, ", "\"v\"} " };
	size_t i = 0, k, n;

	while (i < len) {
		k = (size_t)(rnd() % (sizeof(w) / sizeof(w[0])));
		n = strlen(w[k]);
		if (n > len - i)
			n = len - i;
		memcpy(out + i, w[k], n);
		i += n;
		if (rnd() % 7 == 0 && i < len)
			out[i++] = (char)('a' + rnd() % 26);
	}
}

typedef struct {
	char *v;
	size_t len, cap;
} buf;

static void reserve(buf *b, size_t n)
{
	if (n > b->cap) {
		b->cap = n * 2;
		b->v = realloc(b->v, b->cap);
		ck_assert_ptr_nonnull(b->v);
	}
}

/* Replace [at, at + del) by `ins` new bytes (words, or a copy of another
 * stretch of the state when `copy`). */
static void splice(buf *b, size_t at, size_t del, size_t ins, int copy)
{
	char *add = malloc(ins + 1);

	ck_assert_ptr_nonnull(add);
	if (copy && b->len > ins)
		memcpy(add, b->v + rnd() % (b->len - ins), ins);
	else
		words(add, ins);
	reserve(b, b->len - del + ins + 1);
	memmove(b->v + at + ins, b->v + at + del, b->len - at - del);
	memcpy(b->v + at, add, ins);
	b->len = b->len - del + ins;
	free(add);
}

/* One random edit of the kinds an app makes to its state. */
static void edit(buf *b, const char *base, size_t base_len)
{
	size_t at = b->len > 0 ? (size_t)(rnd() % b->len) : 0;
	size_t room = b->len - at, n = 1 + (size_t)(rnd() % 200);

	switch (rnd() % 12) {
	case 0: /* the same length, other bytes */
		words(b->v + at, n < room ? n : room);
		break;
	case 1: /* one byte flipped in place */
		if (b->len > 0)
			b->v[at] ^= 0x20;
		break;
	case 2:
		splice(b, at, 0, n, 0);
		break;
	case 3:
		splice(b, at, n < room ? n : room, 0, 0);
		break;
	case 4: /* at the front */
		splice(b, 0, b->len > 5 ? 5 : b->len, n, 0);
		break;
	case 5: /* at the end */
		splice(b, b->len, 0, n, 0);
		break;
	case 6:
		splice(b, at, n < room ? n : room, n / 2, 0);
		break;
	case 7: /* a stretch of the state copied elsewhere in it */
		splice(b, at, 0, 4096 < b->len ? 4096 : b->len / 2, 1);
		break;
	case 8: /* rarely: emptied, made anew, or the base again */
		if (rnd() % 8 == 0) {
			b->len = (size_t)(rnd() % 3) == 0 ? 0 : b->len;
			if (b->len > 0 && rnd() % 2 == 0) {
				words(b->v, b->len);
			} else if (b->len > 0) {
				reserve(b, base_len + 1);
				memcpy(b->v, base, base_len);
				b->len = base_len;
			}
		}
		break;
	default: /* the common case: one short stretch rewritten */
		splice(b, at, n < room ? n : room, n, 0);
		break;
	}
}

/* Decode a record against the base with zstd itself and compare. */
static void decodes_to(const char *rec, size_t rlen, const char *base,
		       size_t base_len, const buf *want, int step)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	char *out = malloc(want->len + 1);
	size_t r;

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(out);
	r = ZSTD_decompress_usingDict(d, out, want->len + 1, rec, rlen, base,
				      base_len);
	ck_assert_msg(!ZSTD_isError(r), "step %d: %s", step,
		      ZSTD_getErrorName(r));
	ck_assert_msg(r == want->len, "step %d: %zu bytes, want %zu", step, r,
		      want->len);
	ck_assert_msg(memcmp(out, want->v, r) == 0, "step %d: content", step);
	free(out);
	ZSTD_freeDCtx(d);
}

static void encode(sessnap__delta_codec *c, const buf *b, const char *base,
		   size_t base_len, int step, buf *rec)
{
	size_t rlen = 0;
	int rc;

	reserve(rec, ZSTD_compressBound(b->len) + 64);
	rc = sessnap__delta_compress(c, rec->v, rec->cap, &rlen, b->v, b->len);
	ck_assert_msg(rc == 0, "step %d: rc %d: %s", step, rc,
		      sessnap_error_last());
	decodes_to(rec->v, rlen, base, base_len, b, step);
	rec->len = rlen;
}

START_TEST(test_edits_roundtrip)
{
	static const size_t sizes[] = { 0, 3, 700, 20000, 300000 };
	size_t base_len = sizes[_i];
	char *base = malloc(base_len + 1);
	buf b = { 0 }, rec = { 0 };
	sessnap__delta_codec *c = NULL;
	int step;

	rnd_state = 0x2545f4914f6cdd1dULL + (uint64_t)_i;
	words(base, base_len);
	ck_assert_int_eq(sessnap__delta_codec_new(&c, base, base_len), 0);
	reserve(&b, base_len + 1);
	memcpy(b.v, base, base_len);
	b.len = base_len;
	for (step = 0; step < 400; step++) {
		edit(&b, base, base_len);
		encode(c, &b, base, base_len, step, &rec);
	}
	sessnap__delta_codec_free(c);
	free(base);
	free(b.v);
	free(rec.v);
}
END_TEST

/*
 * After each edit zstd searches about the edit's bytes, not the state:
 * the kept matches are carried from record to record, and each new one
 * covers what the edit left alone.
 */
START_TEST(test_search_follows_edit)
{
	size_t base_len = 256 * 1024, at, searched, worst = 0;
	char *base = malloc(base_len);
	buf b = { 0 }, rec = { 0 };
	sessnap__delta_codec *c = NULL;
	int step;

	rnd_state = 77;
	words(base, base_len);
	ck_assert_int_eq(sessnap__delta_codec_new(&c, base, base_len), 0);
	reserve(&b, base_len + 1);
	memcpy(b.v, base, base_len);
	b.len = base_len;
	for (step = 0; step < 100; step++) {
		/* a line rewritten, longer or shorter, somewhere else each
		 * time */
		at = (size_t)step * 7919 * 31 % (b.len - 200);
		splice(&b, at, 40, 30 + (size_t)(rnd() % 30), 0);
		encode(c, &b, base, base_len, step, &rec);
		searched = sessnap__delta_codec_searched(c);
		if (searched > worst)
			worst = searched;
	}
	/* the edit's 30 to 60 bytes, and the matches it cut short around
	 * it: far below the 256 KiB a whole compression searches */
	ck_assert_msg(worst <= 4096, "searched up to %zu bytes of %zu", worst,
		      b.len);
	sessnap__delta_codec_free(c);
	free(base);
	free(b.v);
	free(rec.v);
}
END_TEST

/*
 * A state whose matches are all short (four letters, in random order) is
 * cut by zstd into more matches than the kept list may hold: it is
 * compressed whole, and the next save, with the list started again from
 * the base, still decodes.
 */
START_TEST(test_fine_state_compressed_whole)
{
	size_t base_len = 64 * 1024, i;
	char *base = malloc(base_len);
	buf b = { 0 }, rec = { 0 };
	sessnap__delta_codec *c = NULL;

	rnd_state = 99;
	for (i = 0; i < base_len; i++)
		base[i] = "acgt"[rnd() % 4];
	ck_assert_int_eq(sessnap__delta_codec_new(&c, base, base_len), 0);
	reserve(&b, base_len + 1);
	for (i = 0; i < base_len; i++)
		b.v[i] = "acgt"[rnd() % 4];
	b.len = base_len;
	encode(c, &b, base, base_len, 0, &rec);
	ck_assert_uint_eq(sessnap__delta_codec_searched(c), b.len);
	memcpy(b.v, base, base_len);
	b.v[100] = 'x';
	encode(c, &b, base, base_len, 1, &rec);
	ck_assert_uint_lt(sessnap__delta_codec_searched(c), 1024);
	sessnap__delta_codec_free(c);
	free(base);
	free(b.v);
	free(rec.v);
}
END_TEST

static Suite *deltaseq_suite(void)
{
	Suite *s = suite_create("deltaseq");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_edits_roundtrip, 0, 5);
	tcase_add_test(tc, test_search_follows_edit);
	tcase_add_test(tc, test_fine_state_compressed_whole);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(deltaseq_suite)
