/*
 * pull.c - pull mode and event-loop integration
 *
 * Two ways for an app to hand its state to the store without calling
 * update() on every change:
 *
 * Pull mode.  sessnap_session_touch() only stores the time of the first
 * change in an atomic (one relaxed load when already dirty).  The state is
 * collected on the app's thread - json-c objects are not thread-safe - by
 * sessnap_store_dispatch(), sessnap_store_tick(), flush or end, through the
 * callback given to sessnap_session_set_collect(), and then queued like a
 * pushed update whose change time is that of the first touch.  A callback
 * that returns NULL leaves the session dirty: it is asked again one
 * interval later.  sessnap_session_save_due() says whether a touched
 * session's interval has passed, for apps that collect by themselves.
 *
 * Event loops (SESSNAP_STORE_NOTHREAD).  No writer thread is started; the
 * app sleeps for sessnap_store_next_deadline() (the earliest of the
 * writer's save deadlines and the touched sessions' collect deadlines)
 * and calls sessnap_store_tick(), which collects what is due and then does
 * the writer's work on its thread (sessnap__writer_run_due()).
 *
 *	sessnap_session_set_collect(s, cb, payload)
 *	loop:  sessnap_store_next_deadline(&ms, store); poll(..., ms);
 *	       sessnap_store_tick(store);
 */
#include "config.h"

#include "owner.h"
#include "pull.h"
#include "writer.h"

/*
 * Ask the collect callback for the state and queue it.  A callback that
 * returns NULL leaves the session dirty; it is asked again one interval
 * later.  Returns 1 when a state was queued, 0 when the callback had none,
 * or a negative code.
 */
static int collect_one(sessnap_session *s, sessnap_collect_cb cb, void *payload)
{
	json_object *state;
	uint64_t before, after;
	int rc;

	pthread_mutex_lock(&s->store->mu);
	before = s->gen_queued;
	pthread_mutex_unlock(&s->store->mu);
	state = cb(s, payload);
	if (state == NULL) {
		/* A callback that queued patches instead handed its change
		 * over: the session is no longer touched. */
		pthread_mutex_lock(&s->store->mu);
		after = s->gen_queued;
		pthread_mutex_unlock(&s->store->mu);
		if (after != before)
			return 1;
		atomic_store(&s->touch_since_ms, sessnap__mono_ms());
		return 0;
	}
	rc = sessnap_session_update(s, state);
	json_object_put(state);
	if (rc < 0) {
		sessnap__log(s->store, SESSNAP_LOG_ERROR,
			     "session %s: collected state not queued: %s",
			     s->id, sessnap_error_last());
		return rc;
	}
	return 1;
}

int sessnap__pull_collect_touched(sessnap_session *s)
{
	sessnap_collect_cb cb;
	void *payload;

	if (atomic_load(&s->touch_since_ms) == 0)
		return 0;
	pthread_mutex_lock(&s->store->mu);
	cb = s->collect;
	payload = s->collect_payload;
	pthread_mutex_unlock(&s->store->mu);
	if (cb == NULL)
		return 0;
	return collect_one(s, cb, payload);
}

int sessnap_session_touch(sessnap_session *s)
{
	int64_t zero = 0;

	if (s == NULL || !sessnap__owned(s->pid))
		return sessnap__check_owner(NULL, s, SESSNAP__CHECK_SESSION,
					    "touch");
	if (atomic_load_explicit(&s->touch_since_ms, memory_order_relaxed) == 0)
		atomic_compare_exchange_strong(&s->touch_since_ms, &zero,
					       sessnap__mono_ms());
	return 0;
}

int sessnap_session_set_collect(sessnap_session *s, sessnap_collect_cb collect,
				void *payload)
{
	int rc;

	if ((rc = sessnap__check_owner(NULL, s, SESSNAP__CHECK_SESSION,
				       "set_collect")) < 0)
		return rc;
	pthread_mutex_lock(&s->store->mu);
	if (s->ended) {
		pthread_mutex_unlock(&s->store->mu);
		return sessnap__error(
		    SESSNAP_ESTATE, "set_collect: session %s has ended", s->id);
	}
	s->collect = collect;
	s->collect_payload = payload;
	pthread_mutex_unlock(&s->store->mu);
	return 0;
}

int sessnap_session_save_due(const sessnap_session *s)
{
	int64_t t;
	int rc;

	if ((rc = sessnap__check_owner(NULL, s, SESSNAP__CHECK_SESSION,
				       "save_due")) < 0)
		return rc;
	t = atomic_load(&((sessnap_session *)s)->touch_since_ms);
	if (t == 0)
		return 0;
	return sessnap__mono_ms() >= t + (int64_t)s->store->interval_ms;
}

/*
 * Visit each session at most once per call: the callback runs without the
 * mutex, so the list is scanned again after each one, and the round stamp
 * says which sessions were already visited.
 */
int sessnap_store_dispatch(sessnap_store *store)
{
	sessnap_session *s;
	sessnap_collect_cb cb;
	void *payload;
	uint64_t round;
	int64_t t, now;
	int rc, first_err = 0, count = 0;

	if ((rc = sessnap__check_owner(store, NULL, SESSNAP__CHECK_WRITABLE,
				       "dispatch")) < 0)
		return rc;
	pthread_mutex_lock(&store->mu);
	round = ++store->dispatch_round;
	for (;;) {
		now = sessnap__mono_ms();
		for (s = store->sessions; s != NULL; s = s->next) {
			if (s->collect == NULL || s->ended ||
			    s->dispatch_round == round ||
			    !sessnap__owned(s->pid))
				continue;
			t = atomic_load(&s->touch_since_ms);
			if (t != 0 && now >= t + (int64_t)store->interval_ms)
				break;
		}
		if (s == NULL)
			break;
		s->dispatch_round = round;
		cb = s->collect;
		payload = s->collect_payload;
		pthread_mutex_unlock(&store->mu);
		rc = collect_one(s, cb, payload);
		pthread_mutex_lock(&store->mu);
		if (rc < 0 && first_err == 0)
			first_err = rc;
		else if (rc > 0)
			count++;
	}
	pthread_mutex_unlock(&store->mu);
	return first_err < 0 ? first_err : count;
}

int sessnap_store_next_deadline(int64_t *out_ms, sessnap_store *store)
{
	sessnap_session *s;
	int64_t now, t, next = -1;
	bool nothread;
	int rc;

	if (out_ms == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "next_deadline: out_ms is NULL");
	*out_ms = -1;
	if ((rc = sessnap__check_owner(store, NULL, SESSNAP__CHECK_WRITABLE,
				       "next_deadline")) < 0)
		return rc;
	nothread = (store->opts.flags & SESSNAP_STORE_NOTHREAD) != 0;
	pthread_mutex_lock(&store->mu);
	now = sessnap__mono_ms();
	if (nothread)
		sessnap__writer_next_due(store, &next);
	for (s = store->sessions; s != NULL; s = s->next) {
		if (s->ended || !sessnap__owned(s->pid))
			continue;
		t = atomic_load(&s->touch_since_ms);
		if (t == 0)
			continue;
		t += store->interval_ms;
		if (next < 0 || t < next)
			next = t;
	}
	pthread_mutex_unlock(&store->mu);
	if (next >= 0)
		*out_ms = next > now ? next - now : 0;
	return 0;
}

int sessnap_store_tick(sessnap_store *store)
{
	int rc, first_err = 0;

	if ((rc = sessnap__check_owner(store, NULL, SESSNAP__CHECK_WRITABLE,
				       "tick")) < 0)
		return rc;
	if (!(store->opts.flags & SESSNAP_STORE_NOTHREAD))
		return sessnap__error(SESSNAP_ESTATE,
				      "tick: store %s has a writer thread; "
				      "open it with SESSNAP_STORE_NOTHREAD "
				      "to drive saves from an event loop",
				      store->path);
	if ((rc = sessnap_store_dispatch(store)) < 0)
		first_err = rc;
	if ((rc = sessnap__writer_run_due(store)) < 0 && first_err == 0)
		first_err = rc;
	return first_err;
}
