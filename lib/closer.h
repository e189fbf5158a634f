/*
 * closer.h - deferred close of unlinked files (internal); see closer.c
 */
#ifndef SESSNAP_CLOSER_H
#define SESSNAP_CLOSER_H

#include "internal.h"

/*
 * Close fd (a descriptor of a file just unlinked; -1 does nothing) off the
 * calling thread: on the store's closer thread, or at once with
 * SESSNAP_STORE_NOTHREAD, without a thread or with the queue full.  Keeps
 * errno.  Called without store->mu.
 */
void sessnap__closer_hand(sessnap_store *store, int fd);
/*
 * Close on the calling thread every descriptor queued, and wait for those
 * the thread is closing at this moment; returns whether there was any.
 * Called without store->mu.
 */
bool sessnap__closer_drain(sessnap_store *store);
/* Close everything queued and end the thread (sessnap_store_close()). */
void sessnap__closer_stop(sessnap_store *store);
/* Reset the closer in a forked child (owner.c, store->mu held). */
void sessnap__closer_forked(sessnap_store *store);

#endif /* SESSNAP_CLOSER_H */
