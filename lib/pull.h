/*
 * pull.h - pull mode (internal); see pull.c
 */
#ifndef SESSNAP_PULL_H
#define SESSNAP_PULL_H

#include "internal.h"

/*
 * Collect a touched session's state now and queue it (flush, end).
 * Returns 1 when a state was queued, 0 when the session was not touched,
 * has no collect callback or the callback had none, or a negative code.
 */
int sessnap__pull_collect_touched(sessnap_session *s);

#endif /* SESSNAP_PULL_H */
