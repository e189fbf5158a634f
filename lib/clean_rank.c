/*
 * clean_rank.c - the `keep` newest sessions of a store, for the cleaner
 *
 * sessnap_clean_policy.keep protects the N newest sessions (by the saved
 * time in their headers) from removal, whatever their age.  The cleaner
 * streams the directory and keeps no list of sessions, so the ranking is
 * a pass of its own before the cleaning pass: sessnap__rank_pass() walks
 * the store once and keeps a min-heap of the N newest (saved time, id)
 * pairs seen, and during the cleaning pass sessnap__rank_protects() spares
 * every session at least as new as the heap's minimum.  Memory is N
 * entries, bounded by SESSNAP_CLEAN_KEEP_MAX; the id breaks ties so the
 * order is total.
 *
 * A session is ranked through its <id>.snap, or its .prev when the main
 * generation is unreadable or absent; a session with neither readable is
 * not ranked (corrupt, newer-format or gone).
 *
 * Lifecycle: sessnap__rank_init(), sessnap__rank_pass(), any number of
 * sessnap__rank_protects(), sessnap__rank_free().
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"

/* What the walk's callback needs. */
struct pass {
	sessnap__ranking *rank;
	sessnap_store *store;
};

static int rank_cmp(const sessnap__rank *a, const sessnap__rank *b)
{
	if (a->saved_ms != b->saved_ms)
		return a->saved_ms < b->saved_ms ? -1 : 1;
	return strcmp(a->id, b->id);
}

static void heap_down(sessnap__rank *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		sessnap__rank t;

		if (l < n && rank_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && rank_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_up(sessnap__rank *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		sessnap__rank t;

		if (rank_cmp(&h[i], &h[p]) >= 0)
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* Offer a session to the heap of the `keep` newest. */
static void offer(sessnap__ranking *r, int64_t saved_ms, const char *id)
{
	sessnap__rank e;

	e.saved_ms = saved_ms;
	strlcpy(e.id, id, sizeof(e.id));
	if (r->len < r->keep) {
		r->heap[r->len] = e;
		heap_up(r->heap, r->len++);
	} else if (rank_cmp(&e, &r->heap[0]) > 0) {
		r->heap[0] = e;
		heap_down(r->heap, r->len, 0);
	}
}

/* Pass 1 of keep-newest-N: rank every readable session by saved time. */
static int rank_entry(const sessnap__dir_entry *e, void *payload)
{
	struct pass *c = payload;
	struct stat st;
	sessnap__header h;
	int rc;

	if (e->kind != SESSNAP__NAME_SNAP && e->kind != SESSNAP__NAME_PREV)
		return 0;
	if (e->kind == SESSNAP__NAME_PREV) {
		char snap[SESSNAP__NAME_MAX];

		sessnap__snap_name(snap, e->id);
		if (SYS(fstatat)(c->store->dfd, snap, &st,
				 AT_SYMLINK_NOFOLLOW) == 0)
			return 0; /* ranked through its .snap */
	}
	rc = sessnap__header_read(&h, &st, c->store, e->name);
	if (rc < 0 && e->kind == SESSNAP__NAME_SNAP) {
		char prev[SESSNAP__NAME_MAX];

		sessnap__prev_name(prev, e->id);
		rc = sessnap__header_read(&h, &st, c->store, prev);
	}
	if (rc < 0)
		return 0; /* corrupt, newer or gone: not ranked */
	offer(c->rank, h.saved_ms, e->id);
	return 0;
}

int sessnap__rank_init(sessnap__ranking *r, unsigned int keep)
{
	r->heap = NULL;
	r->len = 0;
	r->keep = keep;
	if (keep == 0)
		return 0;
	r->heap = reallocarray(NULL, keep, sizeof(*r->heap));
	if (r->heap == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory for keep %u", keep);
	return 0;
}

void sessnap__rank_free(sessnap__ranking *r)
{
	free(r->heap);
	r->heap = NULL;
	r->len = 0;
}

int sessnap__rank_pass(sessnap__ranking *r, sessnap_store *store)
{
	struct pass p = { r, store };

	return sessnap__dir_walk(store, rank_entry, &p);
}

bool sessnap__rank_protects(const sessnap__ranking *r, int64_t saved_ms,
			    const char *id)
{
	sessnap__rank e;

	if (r->keep == 0)
		return false;
	if (r->len < r->keep)
		return true;
	e.saved_ms = saved_ms;
	strlcpy(e.id, id, sizeof(e.id));
	return rank_cmp(&e, &r->heap[0]) >= 0;
}
