/*
 * errmsg.h - set the thread's last error message
 *
 * The one setter of the message that sessnap_error_last() returns
 * (error.c).  internal.h includes it for the whole library; the recovery
 * prompt, written on the public API like a program would be, includes
 * this alone beside <sessnap.h>, so that its refusals carry a message as
 * every other function's do.
 */
#ifndef SESSNAP_ERRMSG_H
#define SESSNAP_ERRMSG_H

/* Set the thread-local message; returns code. */
int sessnap__error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* SESSNAP_ERRMSG_H */
