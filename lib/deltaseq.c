/*
 * deltaseq.c - encoding a record from the last one's matches
 *
 * A record is the state compressed against the base, and between two
 * saves the state changes in a few places only.  Compressing it whole
 * (ZSTD_compress2) makes zstd search the base again after every place
 * that differs from it, which after a hundred edits since the base is
 * most of a save's CPU, and with the caches cold after the flush's sleep
 * most of that is waiting for memory (docs/design.md, "Records from the
 * last record's matches").  This module keeps the matches of the last
 * state encoded (where each stretch of it came from, in the base or
 * earlier in the state) and encodes the next state from them:
 *
 *  1. the matches from the front that still hold, compared byte for byte
 *     against the new state, up to the first one that does not;
 *  2. the same from the back, each moved by the change of length, with
 *     the offset it had or the one that keeps its source in place;
 *  3. zstd's own matches for the stretch between (ZSTD_generateSequences,
 *     against the same dictionary), in chunks of one block;
 *  4. ZSTD_compressSequences() of the whole list: the frame is what
 *     ZSTD_compress2 makes, a standard one that `zstd -d -D base`
 *     decodes.
 *
 * Every match is compared against the bytes it stands for before it is
 * used, and every other byte is a literal taken from the state itself,
 * so the record decodes to the state whatever the kept matches were; a
 * list that no longer fits the state only makes the record larger.  Any
 * failure returns -1 and the caller compresses the state whole.
 */
#include "config.h"

/* ZSTD_generateSequences() is deprecated from zstd 1.5.6 on (middle()
 * says why it is still the one to use); its warning would stop a build
 * with -Werror. */
#define ZSTD_DISABLE_DEPRECATE_WARNINGS

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd_errors.h>

#include "deltaseq.h"

/* The shortest match kept: ZSTD_compressSequences() refuses shorter ones
 * unless the level's minMatch is 3. */
#define MIN_MATCH 4
/* The middle is given to zstd a block at a time, which bounds the
 * sequences' buffer (ZSTD_sequenceBound of one block). */
#define CHUNK ((size_t)128 * 1024)

/* At most one kept match per this many bytes of state (and a few more):
 * a state that zstd cuts finer is compressed whole, which bounds the
 * lists' memory to a fraction of the state's. */
#define BYTES_PER_MATCH 16

/* A match: bytes [at, at + len) of the state are those `off` bytes before
 * them in the stream of base then state (zstd's offset). */
typedef struct {
	uint32_t at, len, off;
} match;

typedef struct {
	match *v;
	size_t n, cap;
} match_list;

struct sessnap__delta_seqs {
	match_list last; /* the last state's matches, in order */
	size_t last_len; /* that state's length */
	match_list next; /* being built */
	match_list tail; /* the kept matches from the back, last first */
	ZSTD_Sequence *zs;
	size_t zs_cap;
	const char *base; /* the codec's */
	size_t base_len;
	size_t searched; /* the last encode's middle */
	/*
	 * The encoding's context references a dictionary of the same base
	 * with the smallest match tables: ZSTD_compressSequences() searches
	 * nothing, but a context sizes and clears its own tables from its
	 * dictionary's at every frame (768 KB at 256 KiB with the codec's).
	 */
	ZSTD_CDict *small;
	ZSTD_CCtx *enc;
	ZSTD_CCtx *gen; /* ZSTD_generateSequences() keeps its collector on */
};

static int push(match_list *l, uint32_t at, uint32_t len, uint32_t off)
{
	match *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap > 0 ? 2 * l->cap : 256;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (match){ at, len, off };
	return 0;
}

static int zs_reserve(sessnap__delta_seqs *s, size_t n)
{
	ZSTD_Sequence *z;

	if (n <= s->zs_cap)
		return 0;
	if ((z = realloc(s->zs, n * sizeof(*z))) == NULL)
		return -1;
	s->zs = z;
	s->zs_cap = n;
	return 0;
}

void sessnap__delta_seqs_reset(sessnap__delta_seqs *s)
{
	s->last.n = 0;
	s->last_len = s->base_len;
	/* The state is the base: one match of all of it, base_len back. */
	if (s->base_len >= MIN_MATCH)
		s->last.v[s->last.n++] =
		    (match){ 0, (uint32_t)s->base_len, (uint32_t)s->base_len };
}

ZSTD_CCtx *sessnap__delta_cctx_attached(const ZSTD_CDict *dict)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (c == NULL ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_forceAttachDict,
						ZSTD_dictForceAttach)) ||
	    ZSTD_isError(ZSTD_CCtx_refCDict(c, dict))) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

sessnap__delta_seqs *sessnap__delta_seqs_new(const ZSTD_CDict *cdict,
					     ZSTD_compressionParameters cp,
					     const char *base, size_t base_len)
{
	sessnap__delta_seqs *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->base_len = base_len;
	cp.hashLog = ZSTD_HASHLOG_MIN;
	cp.chainLog = ZSTD_CHAINLOG_MIN;
	s->small = ZSTD_createCDict_advanced(base, base_len, ZSTD_dlm_byRef,
					     ZSTD_dct_rawContent, cp,
					     ZSTD_defaultCMem);
	if (s->small == NULL ||
	    (s->enc = sessnap__delta_cctx_attached(s->small)) == NULL ||
	    (s->gen = sessnap__delta_cctx_attached(cdict)) == NULL ||
	    push(&s->last, 0, 0, 0) < 0 ||
	    ZSTD_isError(
		ZSTD_CCtx_setParameter(s->enc, ZSTD_c_validateSequences, 1))) {
		sessnap__delta_seqs_free(s);
		return NULL;
	}
	sessnap__delta_seqs_reset(s);
	return s;
}

size_t sessnap__delta_seqs_searched(const sessnap__delta_seqs *s)
{
	return s->searched;
}

void sessnap__delta_seqs_free(sessnap__delta_seqs *s)
{
	if (s == NULL)
		return;
	ZSTD_freeCCtx(s->gen);
	ZSTD_freeCCtx(s->enc);
	ZSTD_freeCDict(s->small);
	free(s->last.v);
	free(s->next.v);
	free(s->tail.v);
	free(s->zs);
	free(s);
}

/* ---- Comparing a match with the bytes it stands for -------------------- */

/* The stream a match refers into: the base, then the state. */
typedef struct {
	const char *base, *state;
	size_t base_len, len;
} stream;

static const char *at_of(const stream *t, size_t v)
{
	return v < t->base_len ? t->base + v : t->state + (v - t->base_len);
}

/* How many bytes a and b have in common from their start (same_head)
 * or from their end (same_tail), of n: 64 at a time, then one by one. */
static size_t same_head(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	while (n - i >= 64 && memcmp(a + i, b + i, 64) == 0)
		i += 64;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static size_t same_tail(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	while (n - i >= 64 && memcmp(a + n - i - 64, b + n - i - 64, 64) == 0)
		i += 64;
	while (i < n && a[n - 1 - i] == b[n - 1 - i])
		i++;
	return i;
}

/* How many bytes from state[at] on equal those from stream position v
 * on, at most max; each piece stays within one of the two buffers. */
static size_t same_forward(const stream *t, size_t at, size_t v, size_t max)
{
	size_t done = 0, piece, i;
	const char *a, *b;

	while (done < max) {
		piece = max - done;
		if (v + done < t->base_len && t->base_len - (v + done) < piece)
			piece = t->base_len - (v + done);
		a = t->state + at + done;
		b = at_of(t, v + done);
		i = memcmp(a, b, piece) == 0 ? piece : same_head(a, b, piece);
		done += i;
		if (i < piece)
			break;
	}
	return done;
}

/* The same backwards: state bytes before `end` against stream bytes
 * before `vend`. */
static size_t same_backward(const stream *t, size_t end, size_t vend,
			    size_t max)
{
	size_t done = 0, piece, i;
	const char *a, *b;

	while (done < max) {
		piece = max - done;
		if (vend - done > t->base_len &&
		    vend - done - t->base_len < piece)
			piece = vend - done - t->base_len;
		a = t->state + end - done - piece;
		b = at_of(t, vend - done - piece);
		i = memcmp(a, b, piece) == 0 ? piece : same_tail(a, b, piece);
		done += i;
		if (i < piece)
			break;
	}
	return done;
}

/* Bytes of a match ending at state[end] with offset off that hold, from
 * its end back, at most max; 0 when off cannot be such a match's. */
static size_t holds_backward(const stream *t, size_t end, uint64_t off,
			     size_t max)
{
	size_t vend = t->base_len + end;

	if (off == 0 || off >= vend)
		return 0;
	/* the source may not start before the stream */
	if (max > vend - off)
		max = vend - (size_t)off;
	return same_backward(t, end, vend - (size_t)off, max);
}

/* ---- The three parts --------------------------------------------------- */

/*
 * The kept matches from the front that still hold.  Returns the first
 * position not covered (the literals before a match that fails are
 * covered: any byte may be a literal), and in *stop the index of that
 * match.
 */
static int front(sessnap__delta_seqs *s, const stream *t, size_t *p_out,
		 size_t *stop)
{
	size_t i, avail, c, p = 0;
	match m;

	for (i = 0; i < s->last.n; i++) {
		m = s->last.v[i];
		if (m.at >= t->len || m.off == 0 ||
		    m.off > t->base_len + m.at) {
			p = m.at < t->len ? m.at : t->len;
			break;
		}
		avail = t->len - m.at < m.len ? t->len - m.at : m.len;
		c = same_forward(t, m.at, t->base_len + m.at - m.off, avail);
		if (c >= MIN_MATCH && push(&s->next, m.at, (uint32_t)c, m.off))
			return -1;
		p = c >= MIN_MATCH ? m.at + c : m.at;
		if (c < m.len)
			break;
	}
	/* All held: the last state's trailing literals are covered too. */
	if (i == s->last.n)
		p = s->last_len < t->len ? s->last_len : t->len;
	*p_out = p;
	*stop = i;
	return 0;
}

/*
 * The kept matches from the back that still hold once moved by the
 * change of length, down to position p.  A match's source moved with it
 * when it lies in the same stretch, and stayed when it is in the base or
 * before the change: both offsets are tried, the longer agreement wins.
 * Returns the first position they cover.
 */
static int back(sessnap__delta_seqs *s, const stream *t, size_t p, size_t stop,
		size_t *q_out)
{
	size_t j = s->last.n, q = t->len, end, max, b;
	int64_t shift = (int64_t)t->len - (int64_t)s->last_len;
	uint64_t off, alt[2];
	match m;

	while (j-- > stop) {
		m = s->last.v[j];
		if ((int64_t)m.at + m.len + shift <= (int64_t)p)
			break;
		end = (size_t)((int64_t)m.at + m.len + shift);
		if (end > q)
			break;
		q = end; /* the literals after it are covered */
		max = m.len < q - p ? m.len : q - p;
		/*
		 * The source either moved with the match (the same offset)
		 * or stayed (the offset grows by the shift).  The likelier
		 * is tried first, the other only when it does not hold all
		 * the way: a source in the base stayed, one in the state
		 * most often moved with it.
		 */
		if (shift == 0) {
			off = m.off;
			b = holds_backward(t, q, off, max);
		} else {
			alt[0] = m.off;
			alt[1] = (int64_t)m.off + shift > 0 ?
				     (uint64_t)((int64_t)m.off + shift) :
				     0;
			if (m.off > m.at) {
				alt[1] = m.off;
				alt[0] = (uint64_t)((int64_t)m.off + shift);
			}
			off = alt[0];
			b = holds_backward(t, q, off, max);
			if (b < max) {
				size_t b1 = holds_backward(t, q, alt[1], max);

				if (b1 > b) {
					b = b1;
					off = alt[1];
				}
			}
		}
		if (b < MIN_MATCH)
			break;
		if (push(&s->tail, (uint32_t)(q - b), (uint32_t)b,
			 (uint32_t)off) < 0)
			return -1;
		q -= b;
		if (b < m.len)
			break;
	}
	*q_out = q;
	return 0;
}

/*
 * zstd's matches for state[from, to), found against the dictionary a
 * block at a time.  The offsets zstd gives are of a stream in which the
 * chunk follows the base directly: one reaching into the base grows by
 * the chunk's position.  Each is checked like the kept ones; one that
 * does not hold is left to the literals.
 *
 * ZSTD_generateSequences() is the one call that gives zstd's matches
 * without a frame.  zstd 1.5.6 deprecates it as flawed (it may give up
 * on some blocks, and may go in a later version): here a failure falls
 * back (the caller compresses the state whole), and every match it gives
 * is checked, so its flaws can cost size, never a byte of the state.
 * Where it is gone (configure's HAVE_DECL_ZSTD_GENERATESEQUENCES), the
 * stretch is literals.
 */
static int middle(sessnap__delta_seqs *s, const stream *t, size_t from,
		  size_t to, int window_log)
{
#if HAVE_DECL_ZSTD_GENERATESEQUENCES
	size_t c0, clen, n, k, pos, loc;
	uint64_t off;
	ZSTD_Sequence z;

	if (ZSTD_isError(
		ZSTD_CCtx_setParameter(s->gen, ZSTD_c_windowLog, window_log)))
		return -1;
	for (c0 = from; c0 < to; c0 += clen) {
		clen = to - c0 < CHUNK ? to - c0 : CHUNK;
		if (zs_reserve(s, ZSTD_sequenceBound(clen)) < 0)
			return -1;
		n = ZSTD_generateSequences(s->gen, s->zs, s->zs_cap,
					   t->state + c0, clen);
		if (ZSTD_isError(n) || n > s->zs_cap)
			return -1;
		for (k = 0, pos = c0; k < n; k++) {
			z = s->zs[k];
			pos += z.litLength;
			if (pos + z.matchLength > c0 + clen)
				return -1;
			if (z.matchLength == 0)
				continue;
			loc = pos - c0;
			off =
			    z.offset > loc ? (uint64_t)z.offset + c0 : z.offset;
			if (z.matchLength >= MIN_MATCH && off >= 1 &&
			    off <= t->base_len + pos &&
			    same_forward(t, pos, t->base_len + pos - off,
					 z.matchLength) == z.matchLength &&
			    push(&s->next, (uint32_t)pos, z.matchLength,
				 (uint32_t)off) < 0)
				return -1;
			pos += z.matchLength;
		}
	}
	return 0;
#else
	(void)s;
	(void)t;
	(void)from;
	(void)to;
	(void)window_log;
	return 0;
#endif
}

/* The list as zstd's sequences: the literals before each match, which
 * the state holds; the bytes after the last are literals too. */
static int to_sequences(sessnap__delta_seqs *s, size_t *n_out)
{
	size_t i, end = 0;
	match m;

	if (zs_reserve(s, s->next.n + 1) < 0)
		return -1;
	for (i = 0; i < s->next.n; i++) {
		m = s->next.v[i];
		if (m.at < end)
			return -1;
		s->zs[i] = (ZSTD_Sequence){ .offset = m.off,
					    .litLength = (uint32_t)(m.at - end),
					    .matchLength = m.len };
		end = m.at + m.len;
	}
	*n_out = s->next.n;
	return 0;
}

int sessnap__delta_seqs_compress(sessnap__delta_seqs *s, const char *state,
				 size_t len, int window_log, char *dst,
				 size_t cap, size_t *out_len)
{
	stream t = { s->base, state, s->base_len, len };
	size_t p, q, stop, n, r;
	match_list swap;

	if (s->base_len + len > UINT32_MAX)
		return -1;
	s->next.n = 0;
	s->tail.n = 0;
	s->searched = len;
	if (front(s, &t, &p, &stop) < 0 || back(s, &t, p, stop, &q) < 0)
		return -1;
	s->searched = q > p ? q - p : 0;
	if (q > p && middle(s, &t, p, q, window_log) < 0)
		return -1;
	if (s->next.n + s->tail.n > len / BYTES_PER_MATCH + 256)
		return -1;
	while (s->tail.n > 0) {
		match m = s->tail.v[--s->tail.n];

		if (push(&s->next, m.at, m.len, m.off) < 0)
			return -1;
	}
	/* ZSTD_compressSequences() leaves its frame's stage behind it,
	 * where parameters cannot be set: start a new one. */
	if (to_sequences(s, &n) < 0 ||
	    ZSTD_isError(ZSTD_CCtx_reset(s->enc, ZSTD_reset_session_only)) ||
	    ZSTD_isError(
		ZSTD_CCtx_setParameter(s->enc, ZSTD_c_windowLog, window_log)))
		return -1;
	r = ZSTD_compressSequences(s->enc, dst, cap, s->zs, n, state, len);
	if (ZSTD_isError(r))
		return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? 1 :
									     -1;
	*out_len = r;
	swap = s->last;
	s->last = s->next;
	s->next = swap;
	s->last_len = len;
	return 0;
}
