/*
 * deltaseq.h - a record's zstd sequences, kept from one save to the next
 * (deltaseq.c).  Internal to the delta codec (delta.c): it names zstd's
 * types, which the rest of the library does not see.
 */
#ifndef SESSNAP_DELTASEQ_H
#define SESSNAP_DELTASEQ_H

#include <stddef.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

typedef struct sessnap__delta_seqs sessnap__delta_seqs;

/*
 * The matches of a state against a base of base_len bytes, starting from
 * the base itself (one match of all of it); NULL when out of memory.  The
 * dictionary is the codec's, which the sequences' own zstd context
 * references to find matches for the bytes that changed.
 */
sessnap__delta_seqs *sessnap__delta_seqs_new(const ZSTD_CDict *cdict,
					     size_t base_len);
void sessnap__delta_seqs_free(sessnap__delta_seqs *s);
/* Forget the last state's matches: the next save starts from the base. */
void sessnap__delta_seqs_reset(sessnap__delta_seqs *s);

/*
 * Encode state (len bytes) as a record against base, through cctx (which
 * references the dictionary of base), reusing the matches of the last
 * state encoded that still hold.  Returns 0 with *out_len set and the
 * state's matches kept for the next save, 1 when the record does not fit
 * in cap bytes, and -1 when this way cannot encode it (the caller
 * compresses the state whole and resets the matches).  No error is set:
 * the caller has the fallback.
 */
int sessnap__delta_seqs_compress(sessnap__delta_seqs *s, ZSTD_CCtx *cctx,
				 const char *base, size_t base_len,
				 const char *state, size_t len, int window_log,
				 char *dst, size_t cap, size_t *out_len);

/* Bytes of the last state encoded that zstd searched for matches (the
 * stretch between the kept ones); the rest came from the kept matches. */
size_t sessnap__delta_seqs_searched(const sessnap__delta_seqs *s);

#endif
