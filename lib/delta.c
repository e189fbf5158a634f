/*
 * delta.c - the delta layout's codec: slots, records and bases, in memory
 *
 * A snapshot of the delta layout (format version 2) holds a base state
 * and up to two committed records, each the state of a later save
 * compressed with zstd against the base as a raw-content dictionary (what
 * `zstd --patch-from=base` and `zstd -D base` decode):
 *
 *	header line             the v1 fields, "layout":"delta" and the base's
 *	slot 0, slot 1          512 bytes each: one line of JSON, padded
 *	base, "\n"              `length` bytes as stored (zstd or not)
 *	record area             `area` bytes; records at the slots' offsets
 *
 * A save appends a record and writes the slot that does not hold the
 * newest commit (deltafile.c); a reader takes the newest slot whose
 * self-check, record checksum and record decoding all hold, else the other
 * one, else the base itself.  Everything read from a file is bounded
 * before anything is allocated: a record is decoded only when zstd's
 * frame header announces exactly the slot's size, and that size is at
 * most the caller's bound.
 *
 * This module is pure, like format.c: it encodes and decodes in memory
 * and makes no system call.  The file (appends, compaction, reading it
 * from the store) is deltafile.c's and snapfile.c's.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "deltaseq.h"
#include "internal.h"

/*
 * zstd's level for records and compressed bases.  Level 3 costs about
 * the CPU of level 1 against a dictionary and makes records 0.56 to 0.87
 * times as large (measured on the prototype of the layout).
 */
#define LEVEL 3
/*
 * zstd's level for a compressed base (SESSNAP_STORE_COMPRESS_BASE).  A
 * base is written once per compaction cycle, and the bytes of its file
 * are most of what a cycle writes (docs/design.md, "When to compact"):
 * level 6 makes a 256 KiB text base about 5% smaller than level 3 for a
 * few milliseconds of the writer's CPU per compaction, and decodes as
 * fast.
 */
#define BASE_LEVEL 6
/*
 * The largest window a record asks of its decoder: 2^27 bytes, the zstd
 * command line's default limit, so that `zstd -d -D base` decodes every
 * record without --long.  A base and state larger than that together
 * still compress, with matches in the last 128 MiB only.
 */
#define WINDOW_LOG_MAX 27

#define SELF_KEY ",\"self\":\"xxh3-64:"

/* ---- Slots ------------------------------------------------------------- */

void sessnap__slot_blank(char out[SESSNAP__SLOT_LEN])
{
	memset(out, ' ', SESSNAP__SLOT_LEN - 1);
	out[SESSNAP__SLOT_LEN - 1] = '\n';
}

void sessnap__slot_format(char out[SESSNAP__SLOT_LEN], const sessnap__slot *s)
{
	int n, m;

	sessnap__slot_blank(out);
	/* At most about 200 bytes: every number fits in 20 digits. */
	n = snprintf(
	    out, SESSNAP__SLOT_LEN,
	    "{\"seq\":%" PRIu64 ",\"saved\":%" PRId64 ",\"at\":%" PRIu64
	    ",\"length\":%" PRIu64 ",\"size\":%" PRIu64 ",\"checksum\":\"%s\"",
	    s->seq, s->saved_ms, s->at, s->length, s->size, s->checksum);
	m = snprintf(out + n, SESSNAP__SLOT_LEN - (size_t)n,
		     SELF_KEY "%016" PRIx64 "\"}",
		     (uint64_t)XXH3_64bits(out, (size_t)n));
	/* snprintf's NUL becomes padding again */
	out[n + m] = ' ';
}

/*
 * A slot is read in the one form sessnap__slot_format() writes: its keys
 * in that order, integers in canonical decimal (no sign, no leading zero,
 * below INT64_MAX), no space inside.  That form is still JSON (jq reads
 * it), and a reader that takes only it needs no JSON library and no
 * allocation: a scan parses two slots per delta session.  Anything else,
 * a slot of another writer included, is refused as a damaged slot would
 * be, and the reader falls back.
 */
struct cursor {
	const char *p, *end;
};

static bool lit(struct cursor *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool num(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	if (c->p < c->end && *c->p == '0' && c->p + 1 < c->end &&
	    c->p[1] >= '0' && c->p[1] <= '9')
		return false;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (++digits > 19)
			return false;
		v = v * 10 + (uint64_t)(*c->p++ - '0');
	}
	if (digits == 0 || v >= (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

#define BAD(what) sessnap__error(SESSNAP_ECORRUPT, "slot: %s", what)

int sessnap__slot_parse(sessnap__slot *out, const char *buf)
{
	char want[17];
	struct cursor c;
	size_t len = SESSNAP__SLOT_LEN - 1;
	uint64_t saved = 0;
	const char *self;

	memset(out, 0, sizeof(*out));
	if (buf[len] != '\n')
		return BAD("not terminated by a newline");
	while (len > 0 && buf[len - 1] == ' ')
		len--;
	if (len == 0)
		return 1;
	c.p = buf;
	c.end = buf + len;
	if (!lit(&c, "{\"seq\":") || !num(&c, &out->seq) ||
	    !lit(&c, ",\"saved\":") || !num(&c, &saved) ||
	    !lit(&c, ",\"at\":") || !num(&c, &out->at) ||
	    !lit(&c, ",\"length\":") || !num(&c, &out->length) ||
	    !lit(&c, ",\"size\":") || !num(&c, &out->size) ||
	    !lit(&c, ",\"checksum\":\"") ||
	    c.end - c.p < SESSNAP__CHECKSUM_LEN + 1 ||
	    c.p[SESSNAP__CHECKSUM_LEN] != '"')
		return BAD("not in the form a writer writes (torn or damaged)");
	memcpy(out->checksum, c.p, SESSNAP__CHECKSUM_LEN);
	out->checksum[SESSNAP__CHECKSUM_LEN] = '\0';
	out->saved_ms = (int64_t)saved;
	if (!sessnap__checksum_valid(out->checksum))
		return BAD("invalid \"checksum\"");
	c.p += SESSNAP__CHECKSUM_LEN + 1;
	/* The self-check: the XXH3-64 of the bytes before ,"self": */
	self = c.p;
	snprintf(want, sizeof(want), "%016" PRIx64,
		 (uint64_t)XXH3_64bits(buf, (size_t)(self - buf)));
	if (!lit(&c, SELF_KEY) || !lit(&c, want) || !lit(&c, "\"}") ||
	    c.p != c.end)
		return BAD("self-check mismatch (torn or damaged)");
	return 0;
}
#undef BAD

/* Whether slot s may describe a commit of the file whose header is h. */
static bool slot_usable(const sessnap__slot *s, const sessnap__header *h)
{
	return s->seq > h->base_seq && s->length > 0 && s->at <= h->area &&
	       s->length <= h->area - s->at;
}

int sessnap__slots_newest(sessnap__slot *out, const char *slots,
			  const sessnap__header *h, int skip)
{
	sessnap__slot s[2];
	bool ok[2];
	int i;

	for (i = 0; i < 2; i++)
		ok[i] = i != skip &&
			sessnap__slot_parse(
			    &s[i], slots + i * SESSNAP__SLOT_LEN) == 0 &&
			slot_usable(&s[i], h);
	if (ok[0] && ok[1])
		i = s[1].seq > s[0].seq ? 1 : 0;
	else if (ok[0] || ok[1])
		i = ok[0] ? 0 : 1;
	else
		return -1;
	*out = s[i];
	return i;
}

/* ---- Reading a whole delta file ---------------------------------------- */

/* An unusable record or base: the reason in the message, and 1. */
#define UNUSABLE(...) (sessnap__error(SESSNAP_ECORRUPT, __VA_ARGS__), 1)

/*
 * Decode a zstd frame whose content must be exactly `size` bytes (dict:
 * the raw-content dictionary, or NULL) into a new buffer of size + 2
 * bytes (room for the newline and NUL).  The frame header is checked
 * first, so a hostile size costs no allocation.  Returns 0, 1 when the
 * frame is not what it should be (message set), or SESSNAP_ENOMEM.
 */
static int decode_frame(char **out, ZSTD_DCtx *dctx, const char *src,
			size_t len, uint64_t size, const char *dict,
			size_t dict_len, const char *what)
{
	unsigned long long want = ZSTD_getFrameContentSize(src, len);
	size_t got;
	char *buf;

	*out = NULL;
	if (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN)
		return UNUSABLE("%s is not a zstd frame with its "
				"content size",
				what);
	if (want != size)
		return UNUSABLE("%s holds %llu bytes, not the %" PRIu64
				" announced",
				what, want, size);
	if (ZSTD_findFrameCompressedSize(src, len) != len)
		return UNUSABLE("%s is not exactly one zstd frame", what);
	if ((buf = malloc((size_t)size + 2)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	if (dict != NULL)
		got = ZSTD_decompress_usingDict(dctx, buf, (size_t)size + 1,
						src, len, dict, dict_len);
	else
		got =
		    ZSTD_decompressDCtx(dctx, buf, (size_t)size + 1, src, len);
	if (ZSTD_isError(got) || got != size) {
		free(buf);
		return UNUSABLE("%s does not decode: %s", what,
				ZSTD_isError(got) ? ZSTD_getErrorName(got) :
						    "wrong size");
	}
	*out = buf;
	return 0;
}

/*
 * A record must hold exactly what a slot says, and decode against the
 * base.  Returns 0 with *out the state, 1 when it is unusable (reason in
 * the message), or SESSNAP_ENOMEM.
 */
static int decode_record(char **out, ZSTD_DCtx *dctx, const char *area,
			 const sessnap__slot *s, const char *base,
			 size_t base_len, size_t max)
{
	char sum[SESSNAP__CHECKSUM_LEN + 1];

	if (s->size > max)
		return UNUSABLE("record of %" PRIu64 " bytes is "
				"over the bound of %zu",
				s->size, max);
	sessnap__checksum(sum, area + s->at, (size_t)s->length);
	if (strcmp(sum, s->checksum) != 0)
		return UNUSABLE("record checksum mismatch (torn "
				"or damaged)");
	return decode_frame(out, dctx, area + s->at, (size_t)s->length, s->size,
			    base, base_len, "record");
}

/*
 * The decompression context.  Creating one allocates about 96 KB and
 * freeing it gives the pages back: 17 us of a 16 KiB load's 70 (design.md
 * "The save's CPU and the load's CPU").  So a store keeps one between
 * loads: a load takes it with an atomic exchange (NULL left behind) and
 * puts it back with a compare-and-exchange, freeing its own when another
 * load put one back first.  Concurrent loads never wait and never share
 * one: a load that finds none makes its own.  No lock is held while
 * decoding (a load may run with the store's mutex held or not), and after
 * a fork the child holds a copy of the context or none, both usable.  Per
 * store rather than per thread: a pthread key's destructor would outlive
 * a dlclose()d library, and the main thread's context would never be
 * freed.  Nothing of one decode carries to the next: every frame is
 * decoded by a one-shot call that begins the frame anew with the
 * dictionary it is given (ZSTD_decompress_usingDict(), or none with
 * ZSTD_decompressDCtx()), no dictionary or parameter is ever made sticky,
 * and the session is reset when the context is taken.
 */
static ZSTD_DCtx *dctx_take(sessnap_store *store)
{
	ZSTD_DCtx *d = NULL;

	if (store != NULL && (d = atomic_exchange(&store->dctx, NULL)) != NULL)
		ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
	return d != NULL ? d : ZSTD_createDCtx();
}

static void dctx_give(sessnap_store *store, ZSTD_DCtx *d)
{
	ZSTD_DCtx *none = NULL;

	if (store == NULL ||
	    !atomic_compare_exchange_strong(&store->dctx, &none, d))
		ZSTD_freeDCtx(d);
}

void sessnap__delta_cache_free(sessnap_store *store)
{
	ZSTD_freeDCtx(atomic_exchange(&store->dctx, NULL));
}

int sessnap__delta_decode(char **out, size_t *out_len, sessnap__header *hdr,
			  const char *buf, size_t len, size_t hlen, size_t max,
			  sessnap_store *store)
{
	const char *slots = buf + hlen, *area, *base;
	char *plain = NULL, *state = NULL;
	sessnap__slot s;
	ZSTD_DCtx *dctx;
	size_t base_len, state_len;
	int i = -1, skip = -1, rc;

	(void)len; /* sessnap__verify() checked it against the header */
	*out = NULL;
	hdr->skipped = false;
	if (hdr->base_size > max)
		return sessnap__error(SESSNAP_ETOOBIG,
				      "base of %" PRIu64 " bytes is over the "
				      "bound of %zu",
				      hdr->base_size, max);
	if ((dctx = dctx_take(store)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	base = buf + sessnap__delta_base_off(hlen);
	base_len = (size_t)hdr->length;
	if (hdr->base_codec == SESSNAP__CODEC_ZSTD) {
		rc = decode_frame(&plain, dctx, base, base_len, hdr->base_size,
				  NULL, 0, "base");
		if (rc != 0) {
			dctx_give(store, dctx);
			return rc < 0 ? rc :
					sessnap__error_prefix(SESSNAP_ECORRUPT,
							      "zstd base");
		}
		base = plain;
		base_len = (size_t)hdr->base_size;
	}
	area = buf + sessnap__delta_area_off(hdr, hlen);
	/* The newest usable slot, else the other one, else the base. */
	for (rc = 1; rc == 1;) {
		if ((i = sessnap__slots_newest(&s, slots, hdr, skip)) < 0)
			break;
		rc = decode_record(&state, dctx, area, &s, base, base_len, max);
		if (rc == 1) {
			if (!hdr->skipped) {
				hdr->skipped = true;
				hdr->skipped_seq = s.seq;
				strlcpy(hdr->skipped_why, sessnap_error_last(),
					sizeof(hdr->skipped_why));
			}
			if (skip >= 0)
				break;
			skip = i;
		}
	}
	dctx_give(store, dctx);
	if (rc < 0) {
		free(plain);
		return rc;
	}
	hdr->slot = -1;
	if (rc == 0 && state != NULL) {
		hdr->slot = i;
		hdr->rec = s;
		hdr->seq = s.seq;
		hdr->saved_ms = s.saved_ms;
		state_len = (size_t)s.size;
		free(plain);
	} else {
		hdr->seq = hdr->base_seq;
		hdr->saved_ms = hdr->base_saved_ms;
		state_len = base_len;
		if (plain != NULL) {
			state = plain;
		} else if ((state = malloc(base_len + 2)) == NULL) {
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
		} else {
			memcpy(state, base, base_len);
		}
	}
	state[state_len] = '\n';
	state[state_len + 1] = '\0';
	hdr->length = state_len;
	sessnap__checksum(hdr->checksum, state, state_len);
	*out = state;
	*out_len = state_len;
	return 0;
}

/* ---- The writer's codec ------------------------------------------------ */

struct sessnap__delta_codec {
	char *base;
	size_t base_len;
	ZSTD_CDict *cdict;
	ZSTD_CCtx *cctx;
	sessnap__delta_seqs *seqs; /* the last record's matches */
	size_t searched;	   /* of the last record's state */
};

size_t sessnap__delta_codec_searched(const sessnap__delta_codec *c)
{
	return c->searched;
}

void sessnap__delta_codec_free(sessnap__delta_codec *c)
{
	if (c == NULL)
		return;
	sessnap__delta_seqs_free(c->seqs);
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeCDict(c->cdict);
	free(c->base);
	free(c);
}

/*
 * The dictionary is built once per base, from its raw content, and
 * referenced by every record's compression: building it costs a pass over
 * the base, which a save per record (ZSTD_CCtx_refPrefix) would pay every
 * time.  Its match tables are sized for the base (ZSTD_getCParams with
 * the base's size): with the level's defaults a 4 MiB base found no match
 * at all.  ZSTD_dictForceAttach keeps zstd from copying those tables into
 * the context at every save above 8 KiB.
 *
 * A record's frame carries no content checksum: the slot's checksum
 * (XXH3-128 of the record's bytes) and the header's (of the base) already
 * cover every byte the state is decoded from, and decoding is a function
 * of those bytes alone (a frame that does not decode to exactly the
 * slot's size is refused as before).  zstd's XXH64 of
 * the whole state was a quarter of a save's compression at 256 KiB
 * (design.md "Delta layout", "The save's CPU and the load's CPU").
 */
int sessnap__delta_codec_new(sessnap__delta_codec **out, const char *base,
			     size_t len)
{
	sessnap__delta_codec *c;
	ZSTD_compressionParameters cp;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	if ((c->base = malloc(len > 0 ? len : 1)) == NULL)
		goto on_error;
	memcpy(c->base, base, len);
	c->base_len = len;
	cp = ZSTD_getCParams(LEVEL, len, len);
	c->cdict = ZSTD_createCDict_advanced(c->base, len, ZSTD_dlm_byRef,
					     ZSTD_dct_rawContent, cp,
					     ZSTD_defaultCMem);
	if (c->cdict == NULL ||
	    (c->cctx = sessnap__delta_cctx_attached(c->cdict)) == NULL ||
	    (c->seqs = sessnap__delta_seqs_new(c->cdict, cp, c->base, len)) ==
		NULL)
		goto on_error;
	*out = c;
	return 0;

on_error:
	sessnap__delta_codec_free(c);
	return sessnap__error(SESSNAP_ENOMEM, "out of memory");
}

/* The window a record needs to reach all of the base: log2 of base +
 * state, rounded up, within zstd's limits and WINDOW_LOG_MAX. */
static int window_log(size_t total)
{
	int w = ZSTD_WINDOWLOG_MIN;

	while (w < WINDOW_LOG_MAX && ((size_t)1 << w) < total)
		w++;
	return w;
}

int sessnap__delta_compress(sessnap__delta_codec *c, char *dst, size_t cap,
			    size_t *out_len, const char *state, size_t len)
{
	int w = window_log(c->base_len + len), rc;
	size_t r;

	/* From the last record's matches (deltaseq.c), unless the window
	 * cannot reach all of the base; else, or when that way fails, the
	 * state whole, and the next save starts again from the base. */
	if ((c->base_len + len) >> WINDOW_LOG_MAX == 0) {
		rc = sessnap__delta_seqs_compress(c->seqs, state, len, w, dst,
						  cap, out_len);
		c->searched = sessnap__delta_seqs_searched(c->seqs);
		if (rc >= 0)
			return rc;
		sessnap__delta_seqs_reset(c->seqs);
	}
	c->searched = len;
	r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_windowLog, w);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c->cctx, dst, cap, state, len);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return 1;
		if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
		return sessnap__error(SESSNAP_EIO,
				      "zstd could not compress a record: %s",
				      ZSTD_getErrorName(r));
	}
	*out_len = r;
	return 0;
}

int sessnap__delta_base_compress(char **out, size_t *out_len, const char *base,
				 size_t len)
{
	size_t cap = ZSTD_compressBound(len), r;
	ZSTD_CCtx *cctx;
	char *buf;

	*out = NULL;
	cctx = ZSTD_createCCtx();
	buf = malloc(cap);
	if (cctx == NULL || buf == NULL) {
		ZSTD_freeCCtx(cctx);
		free(buf);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
				   BASE_LEVEL);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(cctx, buf, cap, base, len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(r)) {
		free(buf);
		return sessnap__error(SESSNAP_EIO,
				      "zstd could not compress a base: %s",
				      ZSTD_getErrorName(r));
	}
	*out = buf;
	*out_len = r;
	return 0;
}
