/*
 * owner.c - fork() and the process that owns a handle
 *
 * A store and each of its sessions belong to the process that opened or
 * began them (store->pid, s->pid).  After fork() the child holds copies of
 * the parent's handles, but the snapshot files behind them are still the
 * parent's: the child must not write a snapshot that the parent is writing,
 * nor take a lock the parent holds.  So every entry point asks
 * sessnap__check_owner() first, and in a child a session inherited from
 * the parent can only be released.  The child may open a store of its own,
 * which gets its own writer.
 *
 * The fork registry.  Only the forking thread exists in the child, so a
 * mutex held by the writer at that moment would stay locked forever.
 * pthread_atfork handlers therefore take every store's mutex before fork()
 * (the writer holds it only for short bookkeeping, never across I/O) and
 * release it in both processes afterwards; the child also re-initialises
 * the condition variables, whose waiters do not exist there, and marks the
 * store as having no writer (sessnap__writer_forked()) and drops its copies
 * of the descriptors queued for closing (sessnap__closer_forked()).
 * Stores enter the registry when they are opened and leave it when they
 * are closed.
 *
 * The pid is cached (sessnap__self_pid()): getpid() is a system call, and
 * the check runs on every update().  The child handler refreshes it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "closer.h"
#include "owner.h"
#include "writer.h"

/* Every open store of this process, for the fork handlers. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static sessnap_store *registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static _Atomic pid_t self_pid;

static void fork_prepare(void)
{
	sessnap_store *st;

	pthread_mutex_lock(&registry_mu);
	for (st = registry; st != NULL; st = st->fork_next)
		pthread_mutex_lock(&st->mu);
}

static void fork_parent(void)
{
	sessnap_store *st;

	for (st = registry; st != NULL; st = st->fork_next)
		pthread_mutex_unlock(&st->mu);
	pthread_mutex_unlock(&registry_mu);
}

/* In the child: the writer threads are gone (see sessnap__writer_forked). */
static void fork_child(void)
{
	sessnap_store *st;

	atomic_store(&self_pid, getpid());
	for (st = registry; st != NULL; st = st->fork_next) {
		/* Its waiters do not exist here (see writer.c). */
		memset(&st->cond, 0, sizeof(st->cond));
		pthread_cond_init(&st->cond, NULL);
		if (!(st->opts.flags & SESSNAP_STORE_READONLY))
			sessnap__writer_forked(st);
		sessnap__closer_forked(st);
		pthread_mutex_unlock(&st->mu);
	}
	pthread_mutex_unlock(&registry_mu);
}

static void registry_init(void)
{
	atomic_store(&self_pid, getpid());
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void sessnap__owner_register(sessnap_store *store)
{
	pthread_once(&registry_once, registry_init);
	pthread_mutex_lock(&registry_mu);
	store->fork_next = registry;
	registry = store;
	pthread_mutex_unlock(&registry_mu);
}

void sessnap__owner_unregister(sessnap_store *store)
{
	sessnap_store **pp;

	pthread_mutex_lock(&registry_mu);
	for (pp = &registry; *pp != NULL; pp = &(*pp)->fork_next) {
		if (*pp == store) {
			*pp = store->fork_next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_mu);
}

pid_t sessnap__self_pid(void)
{
	pthread_once(&registry_once, registry_init);
	return atomic_load_explicit(&self_pid, memory_order_relaxed);
}

bool sessnap__owned(pid_t pid)
{
	return pid == sessnap__self_pid();
}

static int check_session(const sessnap_session *s, unsigned int flags,
			 const char *what)
{
	if (s == NULL)
		return sessnap__error(SESSNAP_EINVAL, "%s: session is NULL",
				      what);
	if (!sessnap__owned(s->pid))
		return sessnap__error(SESSNAP_ESTATE,
				      "%s: session %s belongs to the parent "
				      "process; a forked child may only "
				      "release it",
				      what, s->id);
	if ((flags & SESSNAP__CHECK_LIVE) && s->ended)
		return sessnap__error(SESSNAP_ESTATE,
				      "%s: session %s has ended", what, s->id);
	return 0;
}

static int check_store(const sessnap_store *store, unsigned int flags,
		       const char *what)
{
	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL, "%s: store is NULL",
				      what);
	if ((flags & SESSNAP__CHECK_WRITABLE) &&
	    (store->opts.flags & SESSNAP_STORE_READONLY))
		return sessnap__error(SESSNAP_ESTATE,
				      "%s: store %s was opened read-only", what,
				      store->path);
	if (!sessnap__owned(store->pid))
		return sessnap__error(SESSNAP_ESTATE,
				      "%s: store %s was opened by the parent "
				      "process; open it again in the child",
				      what, store->path);
	return 0;
}

int sessnap__check_owner(const sessnap_store *store, const sessnap_session *s,
			 unsigned int flags, const char *what)
{
	if (flags & SESSNAP__CHECK_SESSION)
		return check_session(s, flags, what);
	return check_store(store, flags, what);
}

void sessnap__owner_foreach(void (*fn)(sessnap_store *store))
{
	sessnap_store *st;

	pthread_once(&registry_once, registry_init);
	pthread_mutex_lock(&registry_mu);
	for (st = registry; st != NULL; st = st->fork_next)
		fn(st);
	pthread_mutex_unlock(&registry_mu);
}
