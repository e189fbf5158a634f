/*
 * generations.c - the generations of one session, each with its verdict
 *
 * sessnap_store_generations() is what `sessnap show` and `sessnap verify` print
 * for a session: every generation name that exists (<id>.snap,
 * <id>.snap.prev, <id>.snap.2 to <id>.snap.N: names.c), its seq and saved
 * time from its header, its size, and its verdict, given by the one pair
 * of readers every module uses (snapfile.c: the header, then the whole
 * file verified against its checksum, "One verdict per file").  It looks
 * for every generation name whatever the store's own option, since a
 * command opens a store with the defaults.
 *
 * The list is ordered as the loader tries the generations (load.c): the
 * main snapshot first, then the others newest first by seq, a generation
 * without a usable header last; so the first entry whose verdict is 0 is
 * the one sessnap_store_load() returns when the application validates nothing.
 * Reading never changes anything.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One generation: 1 when it exists (*g filled), 0 when absent, or < 0. */
static int look(sessnap_generation *g, sessnap_store *store, const char *id,
		unsigned int n)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header h;
	struct stat st;
	size_t len, off;
	char *raw = NULL;
	int rc;

	memset(g, 0, sizeof(*g));
	g->generation = n;
	sessnap__gen_name(name, id, n);
	memset(&st, 0, sizeof(st));
	rc = sessnap__header_read(&h, &st, store, name);
	if (rc < 0)
		strlcpy(g->reason, sessnap_error_last(), sizeof(g->reason));
	if (rc == SESSNAP_ENOTFOUND)
		return 0;
	if (rc == SESSNAP_ENOMEM)
		return rc;
	g->file_bytes = (uint64_t)st.st_size;
	if (rc == 0) {
		g->seq = h.seq;
		g->saved_ms = h.saved_ms;
		if (sessnap__too_big(store, &st)) {
			rc = SESSNAP_ETOOBIG;
			snprintf(g->reason, sizeof(g->reason),
				 "larger than the read bound of %zu bytes: "
				 "not checked",
				 store->read_bound);
		} else {
			rc = sessnap__snapshot_read_raw(&raw, &len, &h, &off,
							store, name);
			if (rc < 0)
				strlcpy(g->reason, sessnap_error_last(),
					sizeof(g->reason));
			free(raw);
			if (rc == SESSNAP_ENOMEM)
				return rc;
		}
	}
	g->verdict = rc;
	if (rc == 0)
		g->reason[0] = '\0';
	return 1;
}

/* The loader's order: the main snapshot, then by seq, unusable last. */
static int compare(const void *a, const void *b)
{
	const sessnap_generation *x = a, *y = b;
	bool hx = x->seq > 0 || x->verdict == 0,
	     hy = y->seq > 0 || y->verdict == 0;

	if ((x->generation == 0) != (y->generation == 0))
		return x->generation == 0 ? -1 : 1;
	if (hx != hy)
		return hx ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return x->generation < y->generation ? -1 : 1;
}

int sessnap_store_generations(sessnap_generation **out, size_t *out_count,
			      sessnap_store *store, const char *id)
{
	sessnap_generation *gens;
	size_t count = 0;
	unsigned int n;
	int rc;

	if (out == NULL || out_count == NULL || store == NULL)
		return sessnap__error(
		    SESSNAP_EINVAL, "sessnap_store_generations: NULL argument");
	*out = NULL;
	*out_count = 0;
	if ((rc = sessnap__id_check(id)) < 0)
		return rc;
	gens = calloc(SESSNAP__GEN_LAST + 1, sizeof(*gens));
	if (gens == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	for (n = 0; n <= SESSNAP__GEN_LAST; n++) {
		rc = look(&gens[count], store, id, n);
		if (rc < 0) {
			free(gens);
			return rc;
		}
		count += (size_t)rc;
	}
	if (count == 0) {
		free(gens);
		return sessnap__error(SESSNAP_ENOTFOUND, "no session %s in %s",
				      id, store->path);
	}
	qsort(gens, count, sizeof(*gens), compare);
	*out = gens;
	*out_count = count;
	return 0;
}

uint64_t sessnap__generations_max_seq(sessnap_store *store, const char *id,
				      uint64_t floor)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header h;
	struct stat st;
	unsigned int n;

	for (n = 0; n <= SESSNAP__GEN_LAST; n++) {
		sessnap__gen_name(name, id, n);
		if (sessnap__header_read(&h, &st, store, name) == 0 &&
		    h.seq > floor)
			floor = h.seq;
	}
	return floor;
}

void sessnap_generations_free(sessnap_generation *gens)
{
	free(gens);
}
