/*
 * clock.c - the two clocks of the library
 *
 * Everything that is stored or shown (a snapshot's created and saved
 * times, a session's age) uses the wall clock, sessnap__now_ms(): it means
 * the same thing in every process and on every host.  Everything that
 * schedules (when a session is due for its autosave, a retry's backoff, how
 * long a busy lock is waited for) uses the monotonic clock,
 * sessnap__mono_ms(): a wall clock set back by an hour must not postpone a
 * save by an hour.  Both are milliseconds in an int64_t.
 *
 * This file is on the bottom floor: it calls nothing of the library's.
 */
#include "config.h"

#include <time.h>

#include "internal.h"

int64_t sessnap__now_ms(void)
{
	struct timespec ts;

	/* Through the seam: a test may play a host whose clock is off. */
	SYS(clock_gettime)(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sessnap__mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
