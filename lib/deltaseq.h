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
 * A compression context for records against `dict`: no frame checksum
 * (the slot's covers the record, design.md "Delta layout"), the
 * dictionary attached, not copied, at every frame.  NULL when out of
 * memory.
 */
ZSTD_CCtx *sessnap__delta_cctx_attached(const ZSTD_CDict *dict);

/*
 * The matches of a state against `base` (base_len bytes, which the caller
 * keeps), starting from the base itself (one match of all of it); NULL
 * when out of memory.  cdict is the codec's dictionary of the base, which
 * the sequences' own context references to find matches for the bytes
 * that changed; cp its parameters (of which the encoding's context takes
 * all but the match tables, which it does not use).
 */
sessnap__delta_seqs *sessnap__delta_seqs_new(const ZSTD_CDict *cdict,
					     ZSTD_compressionParameters cp,
					     const char *base, size_t base_len);
void sessnap__delta_seqs_free(sessnap__delta_seqs *s);
/* Forget the last state's matches: the next save starts from the base. */
void sessnap__delta_seqs_reset(sessnap__delta_seqs *s);

/*
 * Encode state (len bytes) as a record against the base, reusing the
 * matches of the last state encoded that still hold.  Returns 0 with
 * *out_len set and the state's matches kept for the next save, 1 when
 * the record does not fit in cap bytes, and -1 when this way cannot
 * encode it (the caller compresses the state whole and resets the
 * matches).  No error is set: the caller has the fallback.
 */
int sessnap__delta_seqs_compress(sessnap__delta_seqs *s, const char *state,
				 size_t len, int window_log, char *dst,
				 size_t cap, size_t *out_len);

/* Bytes of the last state encoded that zstd searched for matches (the
 * stretch between the kept ones); the rest came from the kept matches. */
size_t sessnap__delta_seqs_searched(const sessnap__delta_seqs *s);

#endif
