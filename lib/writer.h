/*
 * writer.h - the store's autosave writer (internal)
 *
 * session.c queues serialized states; the writer decides when to save
 * them.  These are the hooks between the two.
 */
#ifndef SESSNAP_WRITER_H
#define SESSNAP_WRITER_H

#include "internal.h"

/* Called by sessnap_store_open(); starts the writer thread unless the
 * store was opened with SESSNAP_STORE_NOTHREAD. */
int sessnap__writer_start(sessnap_store *store);
/* Called by sessnap_store_close() after every session was flushed. */
void sessnap__writer_stop(sessnap_store *store);
/*
 * A session became due at monotonic time due_ms (0: now).  Called with
 * store->mu held.  Returns true when the writer sleeps past that time and
 * must be woken: the caller then calls sessnap__writer_wake() after
 * dropping the mutex, so that the writer does not wake up only to block on
 * the mutex the caller still holds.
 */
bool sessnap__writer_notify(sessnap_store *store, int64_t due_ms);
void sessnap__writer_wake(sessnap_store *store);
/*
 * The earliest time (monotonic ms) at which the writer would save a
 * session, whatever the clock says now, or -1 when none waits (store->mu
 * held): sessnap_store_next_deadline() with no writer thread.
 */
void sessnap__writer_next_due(sessnap_store *store, int64_t *next);
/*
 * Do the writer's work on the calling thread: save every session that is
 * due now (sessnap_store_tick()).  Returns 0 or the first failure.
 */
int sessnap__writer_run_due(sessnap_store *store);
/*
 * A session's lease was added with its first renewal due at due_ms
 * (monotonic; store->mu not held): wakes a writer that sleeps past it.
 */
void sessnap__writer_lease_added(sessnap_store *store, int64_t due_ms);
/* Reset the writer's state in a forked child (owner.c, store->mu held). */
void sessnap__writer_forked(sessnap_store *store);
/* Wait until every update queued on `s` so far is durable, or failed. */
int sessnap__writer_flush(sessnap_session *s);

#endif /* SESSNAP_WRITER_H */
