/*
 * owner.h - which process owns a store or a session (internal)
 *
 * See owner.c.  Every entry point that acts on a store or a session asks
 * sessnap__check_owner() first; the writer and pull mode skip sessions of
 * another process with sessnap__owned().
 */
#ifndef SESSNAP_OWNER_H
#define SESSNAP_OWNER_H

#include "internal.h"

/* What sessnap__check_owner() checks, besides the owning process. */
#define SESSNAP__CHECK_SESSION 1u  /* the handle is `s`, not `store` */
#define SESSNAP__CHECK_LIVE 2u	   /* the session has not ended */
#define SESSNAP__CHECK_WRITABLE 4u /* the store was not opened read-only */

/*
 * The one check of an entry point's handle: the session `s` (with
 * SESSNAP__CHECK_SESSION) or the store `store`.  Refuses a NULL handle
 * (SESSNAP_EINVAL) and a handle that the parent process opened
 * (SESSNAP_ESTATE: a forked child may only release it); with
 * SESSNAP__CHECK_LIVE a session that has ended, with
 * SESSNAP__CHECK_WRITABLE a read-only store (SESSNAP_ESTATE).  Every
 * message starts with `what`, the operation.  Returns 0 or the code.
 */
int sessnap__check_owner(const sessnap_store *store, const sessnap_session *s,
			 unsigned int flags, const char *what);
/* Whether `pid` (a store's or a session's) is this process. */
bool sessnap__owned(pid_t pid);
/*
 * This process's pid, cached (and updated in a forked child by the atfork
 * handler): getpid() is a system call, too slow for every update().
 */
pid_t sessnap__self_pid(void);
/*
 * Enter a store into the fork registry (sessnap_store_open()) and take it
 * out again (sessnap_store_close()).
 */
void sessnap__owner_register(sessnap_store *store);
void sessnap__owner_unregister(sessnap_store *store);
/* Call fn on every registered store, the registry locked (not store->mu). */
void sessnap__owner_foreach(void (*fn)(sessnap_store *store));

#endif /* SESSNAP_OWNER_H */
