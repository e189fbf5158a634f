/*
 * closer.c - closing the last descriptor of an unlinked file, off the path
 *
 * Removing a file's last name is quick; freeing its inode and blocks (the
 * truncate, the block bitmaps and, on a file system mounted with discard, a
 * discard the kernel waits for: about 70 us at 16 KiB, 1 ms at 4 MiB)
 * happens when the last reference to it goes.  Two kinds of work drop such
 * files: a save's rename drops the generation before the previous one
 * (atomic.c), and the cleaner unlinks whole sessions (clean.c).  Both keep
 * a descriptor of the file across the unlink and hand it here:
 *
 *	sessnap__closer_hand(store, fd)   queue fd; a thread closes it
 *	sessnap__closer_drain(store)      close what is queued on this thread
 *	                                  and wait for closes under way
 *	sessnap__closer_stop(store)       drain and end the thread (close)
 *
 * so that the freeing happens on the store's closer thread, after the save
 * is durable or while the cleaner works on the next session, instead of in
 * the middle of the caller's work.
 *
 * The thread is the store's, started on the first hand-off (most stores
 * never drop a file: a session needs three saves first) through the
 * system-call table, with every signal blocked, and stopped by
 * sessnap_store_close().  If it cannot be started, every descriptor is
 * closed at once, on the caller's thread; no later hand-off tries again.
 * A store opened with SESSNAP_STORE_NOTHREAD starts no thread at all: its
 * descriptors are closed at once, where they are handed over.
 *
 * The queue is bounded (SESSNAP__CLOSER_MAX): when it is full the caller
 * closes the descriptor itself, so memory and open descriptors stay flat
 * however fast files are dropped, and nobody ever waits for the thread.
 *
 * Where a caller needs the space now, it drains: a save that failed with
 * ENOSPC while files were queued (session.c retries it once after the
 * drain), and the cleaner before it returns (its files are then free).
 *
 * The queue is guarded by store->mu, which fork() handlers already take
 * (owner.c); in a forked child the thread is gone, and the queued
 * descriptors are copies, closed there (sessnap__closer_forked()).
 * Descriptors are closed with sessnap__sys_release(), outside the
 * system-call table: these closes come at times no test controls, and a
 * fault that a test arms for a save must hit that save's own calls.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "closer.h"

/*
 * Close the oldest queued descriptor, with store->mu dropped around the
 * close (it may wait for the disk); called and returns with it held.
 */
static void close_next(sessnap_store *store)
{
	struct sessnap__closer *c = &store->closer;
	int fd = c->fds[c->tail++ % SESSNAP__CLOSER_MAX];

	c->closing++;
	pthread_mutex_unlock(&store->mu);
	sessnap__sys_release(fd);
	pthread_mutex_lock(&store->mu);
	c->closing--;
	pthread_cond_broadcast(&c->cond);
}

static void *closer_main(void *arg)
{
	sessnap_store *store = arg;
	struct sessnap__closer *c = &store->closer;

	pthread_mutex_lock(&store->mu);
	for (;;) {
		while (c->head == c->tail && !c->stop)
			pthread_cond_wait(&c->cond, &store->mu);
		if (c->head == c->tail)
			break;
		close_next(store);
	}
	pthread_mutex_unlock(&store->mu);
	return NULL;
}

/* Start the thread, once (store->mu held). */
static void start(sessnap_store *store)
{
	struct sessnap__closer *c = &store->closer;
	sigset_t all, old;

	c->failed = true; /* until it runs: never tried twice */
	if (pthread_cond_init(&c->cond, NULL) != 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (SYS(thread_create)(&c->thread, closer_main, store) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_cond_destroy(&c->cond);
		return;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->failed = false;
	c->started = true;
}

void sessnap__closer_hand(sessnap_store *store, int fd)
{
	PROTECT_ERRNO;
	struct sessnap__closer *c = &store->closer;

	if (fd < 0)
		return;
	if (!(store->opts.flags & SESSNAP_STORE_NOTHREAD)) {
		pthread_mutex_lock(&store->mu);
		if (!c->started && !c->failed && !c->stop)
			start(store);
		if (c->started && !c->stop &&
		    c->head - c->tail < SESSNAP__CLOSER_MAX) {
			c->fds[c->head++ % SESSNAP__CLOSER_MAX] = fd;
			fd = -1;
			pthread_cond_broadcast(&c->cond);
		}
		pthread_mutex_unlock(&store->mu);
	}
	if (fd >= 0)
		sessnap__sys_release(fd);
}

bool sessnap__closer_drain(sessnap_store *store)
{
	struct sessnap__closer *c = &store->closer;
	bool any;

	pthread_mutex_lock(&store->mu);
	any = c->head != c->tail || c->closing > 0;
	while (c->head != c->tail)
		close_next(store);
	/* The thread is closing some: a close, nothing else, to wait for. */
	while (c->closing > 0)
		pthread_cond_wait(&c->cond, &store->mu);
	pthread_mutex_unlock(&store->mu);
	return any;
}

void sessnap__closer_stop(sessnap_store *store)
{
	struct sessnap__closer *c = &store->closer;
	bool started;

	pthread_mutex_lock(&store->mu);
	c->stop = true;
	started = c->started;
	if (started)
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&store->mu);
	if (!started)
		return;
	/* It closes everything queued before it ends. */
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	c->started = false;
}

void sessnap__closer_forked(sessnap_store *store)
{
	struct sessnap__closer *c = &store->closer;

	/* The parent's thread closes the parent's; these are copies. */
	while (c->head != c->tail)
		sessnap__sys_release(c->fds[c->tail++ % SESSNAP__CLOSER_MAX]);
	c->head = c->tail = 0;
	c->closing = 0;
	if (c->started)
		memset(&c->cond, 0, sizeof(c->cond));
	c->started = false;
	c->failed = false;
}
