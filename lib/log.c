/*
 * log.c - messages to the app's log callback
 *
 * A store opened with a log callback (sessnap_store_options.log) hears what
 * the library does on its own: a save that failed and will be retried, a
 * save that succeeded again after failures, a file system without hard
 * links.  sessnap__log(store, level, fmt, ...) formats one message (at most
 * 1 KiB, cut beyond) and hands it to the callback with the store's payload;
 * without a callback it does nothing and costs nothing but the test.
 *
 * Logging never changes errno: it is called from cleanup paths that are
 * about to report a failed system call.  A slow callback delays only the
 * thread that logs, so callers build their message under a mutex if they
 * must, and log after dropping it (the writer does).
 *
 * This file is on the bottom floor: it reads the store's options and calls
 * nothing of the library's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "internal.h"

void sessnap__log(const sessnap_store *store, sessnap_log_level level,
		  const char *fmt, ...)
{
	char msg[1024];
	PROTECT_ERRNO;
	va_list ap;

	if (store == NULL || store->opts.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	store->opts.log(level, msg, store->opts.payload);
}
