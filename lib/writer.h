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
 * store->mu held; wakes the writer only when it sleeps past that time.
 */
void sessnap__writer_notify(sessnap_store *store, int64_t due_ms);
/* Wait until every update queued on `s` so far is durable, or failed. */
int sessnap__writer_flush(sessnap_session *s);

#endif /* SESSNAP_WRITER_H */
