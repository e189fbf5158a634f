/*
 * writer.c - when pending states are written, and by whom
 *
 * The app hands over states (session.c queues serialized bytes under
 * store->mu, or marks the session touched in pull mode); this module
 * decides when they reach the disk.  Each store owns one writer thread
 * that serves all of its sessions and does all of their file I/O, so the
 * app thread never waits on write() or fsync():
 *
 *	sessnap_store_open()   sessnap__writer_start(): the thread
 *	update()/touch()       queue bytes / mark dirty (never blocks on I/O)
 *	    the writer sleeps until the earliest deadline of any session,
 *	    takes that session's newest bytes under the mutex, writes them
 *	    without it, and records the outcome under it again
 *	flush()/end()          wait on store->cond until the queued
 *	                       generation is durable or an attempt failed
 *	sessnap_store_close()  flush everything, then sessnap__writer_stop()
 *
 * Scheduling.  A dirty session is due one interval after its first unsaved
 * change, and no sooner than one interval after the start of its last save
 * attempt: saves of a session are at least one interval apart and come at
 * most one interval after the change.  Newer states replace pending ones in
 * the meantime (coalescing), and bytes equal to the durable ones are not
 * written at all (session.c compares their XXH3-128 hashes).  A flush asks
 * for an immediate save and ignores both limits.
 *
 * Disk trouble.  A failed save puts its bytes back (unless a newer state
 * arrived), and the session is retried after a backoff that starts at one
 * interval and doubles with each consecutive failure, up to
 * store->retry_max_ms.  Each failure is logged and recorded for
 * sessnap_session_status(); the first success after failures is logged too.
 *
 * Pull mode and event loops (sessnap_store_tick()) are in pull.c; fork()
 * and the owner checks in owner.c.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "owner.h"
#include "pull.h"
#include "writer.h"

#define RETRY_MAX_MS 300000u

static void init_conds(sessnap_store *store)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&store->writer_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/*
 * In the child (owner.c's fork handler, store->mu held): the writer threads
 * are gone.  Their condition variables may still count them as waiters,
 * and destroying such a variable would wait for them forever, so they are
 * made afresh (store->cond by owner.c).
 */
void sessnap__writer_forked(sessnap_store *st)
{
	st->writer_running = false;
	memset(&st->writer_cond, 0, sizeof(st->writer_cond));
	init_conds(st);
}

/* When the writer may next save `s` (monotonic ms); s has a pending state. */
static int64_t due_at(const sessnap_session *s, unsigned int interval)
{
	int64_t due;

	due = s->dirty_since_ms + interval;
	if (s->take_ms != 0 && s->take_ms + interval > due)
		due = s->take_ms + interval;
	if (s->failures > 0 && s->retry_at_ms > due)
		due = s->retry_at_ms;
	return due;
}

/*
 * The session to save now (store->mu held), or NULL; *next receives the
 * earliest later deadline, or -1 when no session waits.
 */
static sessnap_session *pick(sessnap_store *store, int64_t now, int64_t *next)
{
	sessnap_session *s, *best = NULL;
	int64_t due, best_due = 0;

	*next = -1;
	for (s = store->sessions; s != NULL; s = s->next) {
		if (!s->has_pending || s->saving || s->ended ||
		    !sessnap__owned(s->pid))
			continue;
		due = due_at(s, store->interval_ms);
		if (due <= now) {
			if (best == NULL || due < best_due) {
				best = s;
				best_due = due;
			}
		} else if (*next < 0 || due < *next) {
			*next = due;
		}
	}
	return best;
}

/*
 * One save attempt of `s`, called and returning with store->mu held; the
 * mutex is dropped during the write, while `saving` keeps the session
 * alive (release waits for it).  After a failure the next attempt is
 * scheduled with exponential backoff.  Log messages are built under the
 * mutex and sent after it is dropped, so a slow log callback never holds
 * up the app's updates.
 */
static int save_locked(sessnap_store *store, sessnap_session *s)
{
	sessnap__save_job job;
	char msg[768];
	unsigned int failures, shift;
	uint64_t backoff;
	bool recovered, wake;
	int rc;

	sessnap__session_take(&job, s);
	recovered = s->failures > 0;
	pthread_mutex_unlock(&store->mu);

	rc = sessnap__session_write_job(&job, s);

	pthread_mutex_lock(&store->mu);
	sessnap__session_finish(&job, s, rc);
	msg[0] = '\0';
	if (rc < 0 && rc != SESSNAP_EDURABILITY) {
		failures = s->failures;
		shift = failures - 1 < 20 ? failures - 1 : 20;
		backoff = (uint64_t)store->interval_ms << shift;
		if (backoff > store->retry_max_ms)
			backoff = store->retry_max_ms;
		s->retry_at_ms = sessnap__mono_ms() + (int64_t)backoff;
		snprintf(msg, sizeof(msg),
			 "session %s: save failed (%u in a row): %s; the "
			 "newest state is kept in memory, next attempt in "
			 "%llu ms",
			 s->id, failures, s->err_msg,
			 (unsigned long long)backoff);
	} else if (recovered) {
		snprintf(msg, sizeof(msg),
			 "session %s: saved again after earlier failures",
			 s->id);
	}
	/* Saved, but without a batch of patches that did not apply. */
	if (rc >= 0 && job.patch_rc < 0) {
		rc = job.patch_rc;
		strlcpy(msg, job.patch_msg, sizeof(msg));
	}
	/*
	 * A save that failed on the app's thread (flush) hands its state
	 * back as pending, and so does an update that arrived meanwhile;
	 * while this save ran, the writer saw nothing to do and may be
	 * asleep with no deadline at all.  Tell it when the state is due
	 * (after the backoff just set), once the mutex is dropped; on the
	 * writer's own thread this does nothing: it is not sleeping.
	 */
	wake = s->has_pending &&
	       sessnap__writer_notify(store, due_at(s, store->interval_ms));
	pthread_mutex_unlock(&store->mu);
	if (wake)
		sessnap__writer_wake(store);
	sessnap__save_job_free(&job);
	if (msg[0] != '\0')
		sessnap__log(store,
			     rc < 0 ? SESSNAP_LOG_WARNING : SESSNAP_LOG_INFO,
			     "%s", msg);
	pthread_mutex_lock(&store->mu);
	return rc;
}

/*
 * Leases (lease.c).  A session on a store with leases renews its lease
 * every store->lease_ms, from here: the writer's sleep deadline is the
 * earliest of the saves' and the renewals', and sessnap_store_tick() does
 * the same work for an event loop.  Renewals are paced by their own
 * schedule (due += period), not by the saves, so a busy session renews no
 * more often than an idle one.  A renewal writes the lock file without the
 * mutex, under `renewing`, which release waits for.  A failure is logged
 * and retried a quarter period later, and sessnap_session_status()
 * reports it (lease_error) until a renewal works; the first success
 * after failures is logged too.  Returns whether the mutex was dropped (a
 * renewal ran), with *next the earliest later renewal, -1 when none waits.
 */
static bool renew_due(sessnap_store *store, int64_t *next)
{
	sessnap_session *s;
	int64_t now, period = store->lease_ms;
	int64_t retry = period / 4 > 0 ? period / 4 : 1;
	char msg[768], why[512];
	bool ran = false;
	int rc;

	for (;;) {
		now = sessnap__mono_ms();
		*next = -1;
		for (s = store->sessions; s != NULL; s = s->next) {
			if (s->lease == NULL || s->ended || s->renewing ||
			    !sessnap__owned(s->pid))
				continue;
			if (s->lease_due_ms <= now)
				break;
			if (*next < 0 || s->lease_due_ms < *next)
				*next = s->lease_due_ms;
		}
		if (s == NULL)
			return ran;
		ran = true;
		s->renewing = true;
		pthread_mutex_unlock(&store->mu);
		rc = sessnap__lease_renew(store, s->lock_fd, s->lease);
		msg[0] = why[0] = '\0';
		if (rc < 0) {
			strlcpy(why, sessnap_error_last(), sizeof(why));
			snprintf(msg, sizeof(msg),
				 "session %s: lease renewal failed (%u in a "
				 "row): %s; retried in %lld ms",
				 s->id, s->lease_failures + 1, why,
				 (long long)retry);
		} else if (s->lease_failures > 0) {
			snprintf(msg, sizeof(msg),
				 "session %s: lease renewed again after %u "
				 "failures",
				 s->id, s->lease_failures);
		}
		pthread_mutex_lock(&store->mu);
		s->renewing = false;
		/* Kept for sessnap_session_status() until a renewal works. */
		s->lease_error = rc < 0 ? rc : 0;
		strlcpy(s->lease_msg, why, sizeof(s->lease_msg));
		if (rc < 0) {
			s->lease_failures++;
			s->lease_due_ms = now + retry;
		} else {
			s->lease_ok_ms = sessnap__mono_ms();
			s->lease_failures = 0;
			s->lease_due_ms += period;
			if (s->lease_due_ms <= now)
				s->lease_due_ms = now + period;
		}
		pthread_cond_broadcast(&store->cond);
		if (msg[0] != '\0') {
			pthread_mutex_unlock(&store->mu);
			sessnap__log(store,
				     rc < 0 ? SESSNAP_LOG_WARNING
					    : SESSNAP_LOG_INFO,
				     "%s", msg);
			pthread_mutex_lock(&store->mu);
		}
	}
}

void sessnap__writer_lease_added(sessnap_store *store, int64_t due_ms)
{
	bool wake;

	pthread_mutex_lock(&store->mu);
	wake = sessnap__writer_notify(store, due_ms);
	pthread_mutex_unlock(&store->mu);
	if (wake)
		sessnap__writer_wake(store);
}

static void deadline_ts(struct timespec *ts, int64_t mono_ms)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

void sessnap__writer_next_due(sessnap_store *store, int64_t *next)
{
	sessnap_session *s;

	pick(store, INT64_MIN, next);
	for (s = store->sessions; s != NULL; s = s->next)
		if (s->lease != NULL && !s->ended && !s->renewing &&
		    sessnap__owned(s->pid) &&
		    (*next < 0 || s->lease_due_ms < *next))
			*next = s->lease_due_ms;
}

int sessnap__writer_run_due(sessnap_store *store)
{
	sessnap_session *s;
	int64_t next;
	int rc, first_err = 0;

	pthread_mutex_lock(&store->mu);
	while ((s = pick(store, sessnap__mono_ms(), &next)) != NULL) {
		rc = save_locked(store, s);
		if (rc < 0 && first_err == 0)
			first_err = rc;
	}
	/* A failed renewal is the log's to report: the saves went fine. */
	if (store->lease_ms > 0)
		renew_due(store, &next);
	pthread_mutex_unlock(&store->mu);
	return first_err;
}

static void *writer_main(void *arg)
{
	sessnap_store *store = arg;
	sessnap_session *s;
	struct timespec ts;
	int64_t next, renew = -1;

	pthread_mutex_lock(&store->mu);
	while (!store->writer_stop) {
		s = pick(store, sessnap__mono_ms(), &next);
		if (s != NULL) {
			save_locked(store, s);
			continue;
		}
		/* A renewal dropped the mutex: look at the saves again. */
		if (store->lease_ms > 0 && renew_due(store, &renew))
			continue;
		if (store->lease_ms > 0 && renew >= 0 &&
		    (next < 0 || renew < next))
			next = renew;
		store->writer_sleeping = true;
		store->writer_wake_at = next < 0 ? INT64_MAX : next;
		if (next < 0) {
			pthread_cond_wait(&store->writer_cond, &store->mu);
		} else {
			deadline_ts(&ts, next);
			pthread_cond_timedwait(&store->writer_cond, &store->mu,
					       &ts);
		}
		store->writer_sleeping = false;
	}
	pthread_mutex_unlock(&store->mu);
	return NULL;
}

int sessnap__writer_start(sessnap_store *store)
{
	sigset_t all, old;
	int err;

	init_conds(store);
	store->retry_max_ms = store->interval_ms > RETRY_MAX_MS ?
				  store->interval_ms :
				  RETRY_MAX_MS;
	if (store->opts.flags & SESSNAP_STORE_NOTHREAD)
		return 0;

	/* The app's signal handlers must run on the app's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = SYS(thread_create)(&store->writer, writer_main, store);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		char buf[256];

		sessnap__writer_stop(store);
		/* EAGAIN here means out of threads or memory, not "busy". */
		return sessnap__error(
		    err == EAGAIN ? SESSNAP_ENOMEM : sessnap__errno_code(err),
		    "start of the writer thread for %s failed: %s",
		    store->path, sessnap__strerror_r(err, buf, sizeof(buf)));
	}
	store->writer_running = true;
	return 0;
}

void sessnap__writer_stop(sessnap_store *store)
{
	if (store->opts.flags & SESSNAP_STORE_READONLY)
		return;
	if (store->writer_running) {
		pthread_mutex_lock(&store->mu);
		store->writer_stop = true;
		pthread_cond_signal(&store->writer_cond);
		pthread_mutex_unlock(&store->mu);
		pthread_join(store->writer, NULL);
		store->writer_running = false;
	}
	pthread_cond_destroy(&store->writer_cond);
}

bool sessnap__writer_notify(sessnap_store *store, int64_t due_ms)
{
	if (store->writer_running && store->writer_sleeping &&
	    due_ms < store->writer_wake_at) {
		/* Once woken it rescans; later notifies need not signal. */
		store->writer_sleeping = false;
		return true;
	}
	return false;
}

void sessnap__writer_wake(sessnap_store *store)
{
	pthread_cond_signal(&store->writer_cond);
}

/*
 * flush() saves on the calling thread.  The caller is waiting for
 * durability anyway, and handing the save to the writer thread would only
 * add two thread wake-ups to its latency (a visible share on a busy
 * machine).  The `saving` flag keeps the writer away from a session being
 * saved here, exactly as it keeps two writers apart; if the writer is
 * saving it already, flush waits for that attempt, then saves whatever is
 * still newer than it.  A failed attempt is reported, not retried here:
 * the writer retries it with its backoff.
 */
int sessnap__writer_flush(sessnap_session *s)
{
	sessnap_store *store = s->store;
	uint64_t target;
	int rc;

	if ((rc = sessnap__pull_collect_touched(s)) < 0)
		return rc;
	rc = 0;
	pthread_mutex_lock(&store->mu);
	target = s->gen_queued;
	for (;;) {
		while (s->saving)
			pthread_cond_wait(&store->cond, &store->mu);
		if (s->gen_durable >= target)
			break;
		if (!s->has_pending) {
			/* The writer's attempt at it failed and a newer
			 * state replaced it: report that failure. */
			if (s->last_error < 0)
				rc = sessnap__error(s->last_error, "%s",
						    s->err_msg);
			break;
		}
		rc = save_locked(store, s);
		if (rc < 0)
			break;
	}
	pthread_mutex_unlock(&store->mu);
	return rc;
}

/*
 * How much of a caller's status struct its version has.  Version 1 ends
 * with `skips`: a caller built against it has a shorter struct, and
 * nothing may be written past it (docs/releasing.md, "Structs that
 * grow").
 */
static size_t status_size(unsigned int version)
{
	if (version == 1)
		return offsetof(sessnap_save_status, skips) +
		       sizeof(((sessnap_save_status *)NULL)->skips);
	return sizeof(sessnap_save_status);
}

int sessnap_session_status(sessnap_save_status *out, const sessnap_session *cs)
{
	sessnap_session *s = (sessnap_session *)cs;
	sessnap_save_status st;
	sessnap_store *store;
	int64_t now;

	if (out == NULL || s == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_status: NULL argument");
	if (out->version < 1 || out->version > SESSNAP_SAVE_STATUS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown save status version %u (this "
				      "library knows 1 to %u)",
				      out->version,
				      SESSNAP_SAVE_STATUS_VERSION);
	memset(&st, 0, sizeof(st));
	st.version = out->version;
	store = s->store;
	pthread_mutex_lock(&store->mu);
	now = sessnap__mono_ms();
	st.last_error = s->last_error;
	strlcpy(st.last_message, s->err_msg, sizeof(st.last_message));
	st.pending = s->has_pending || s->gen_queued > s->gen_durable ||
		     atomic_load(&s->touch_since_ms) != 0;
	st.failures = s->failures;
	st.retry_in_ms = (s->failures > 0 && s->retry_at_ms > now) ?
			     s->retry_at_ms - now :
			     0;
	st.durable_age_ms = s->durable_wall_ms != 0 ?
				sessnap__now_ms() - s->durable_wall_ms :
				-1;
	if (st.durable_age_ms < -1)
		st.durable_age_ms = 0;
	st.seq = s->seq_durable;
	st.saves = s->saves;
	st.skips = s->skips;
	st.lease_age_ms = -1;
	if (s->lease != NULL) {
		st.lease_error = s->lease_error;
		strlcpy(st.lease_message, s->lease_msg,
			sizeof(st.lease_message));
		st.lease_failures = s->lease_failures;
		st.lease_period_ms = s->lease->lease_ms;
		if (s->lease_ok_ms != 0)
			st.lease_age_ms = now - s->lease_ok_ms;
	}
	pthread_mutex_unlock(&store->mu);
	memcpy(out, &st, status_size(st.version));
	return 0;
}

