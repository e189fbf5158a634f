/*
 * error.c - error codes, their descriptions and the thread-local message
 *
 * Every public function returns 0 or a negative SESSNAP_E* code.  The code
 * says what kind of failure it was; the thread-local message says exactly
 * what happened: which step, on which file, with which system error
 * ("fsync of /path/.id.snap.Ab3xYz failed: Input/output error").  Library
 * code reports a failure with
 *
 *	return sessnap__syserr(errno, "fsync", path);
 *	return sessnap__error(SESSNAP_EUNSAFE, "%s is a symlink; ...", path);
 *
 * Both set the message and return the code, so an error is reported at the
 * point where the most is known about it.  A caller that knows more (the
 * file a parser was reading) adds it in front of the callee's message:
 *
 *	return sessnap__error_prefix(rc, "cannot read %s", path);
 *
 * giving "cannot read /path/x.snap: checksum mismatch: ...".  The message
 * is the only channel: no function passes a reason buffer of its own.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MSG_MAX 1024

static _Thread_local char last_msg[MSG_MAX];
static _Thread_local char last_short[SESSNAP_ERROR_SHORT_MAX + 1];

const char *sessnap_error_string(int code)
{
	/* A switch with no default: -Wswitch flags a code left undescribed. */
	switch ((sessnap_error)code) {
#define X(name, num, desc)                                                    \
	case SESSNAP_##name:                                                  \
		return desc;
		SESSNAP_ERRNO_MAP(X)
#undef X
	}
	return "unknown error";
}

const char *sessnap_error_name(int code)
{
	switch ((sessnap_error)code) {
#define X(name, num, desc)                                                    \
	case SESSNAP_##name:                                                  \
		return "SESSNAP_" #name;
		SESSNAP_ERRNO_MAP(X)
#undef X
	}
	return "SESSNAP_E_UNKNOWN";
}

const char *sessnap_error_last(void)
{
	return last_msg;
}

/* Where the cause ends: at the first "; " or ". ", else at the end. */
static size_t cause_len(const char *msg)
{
	const char *semi = strstr(msg, "; ");
	const char *stop = strstr(msg, ". ");

	if (semi != NULL && (stop == NULL || semi < stop))
		stop = semi;
	return stop != NULL ? (size_t)(stop - msg) : strlen(msg);
}

const char *sessnap_error_last_short(void)
{
	size_t n = cause_len(last_msg), i;

	if (n > SESSNAP_ERROR_SHORT_MAX) {
		/* Room for "...", and never half a UTF-8 character. */
		n = SESSNAP_ERROR_SHORT_MAX - 3;
		while (n > 0 && ((unsigned char)last_msg[n] & 0xc0) == 0x80)
			n--;
		memcpy(last_short, last_msg, n);
		memcpy(last_short + n, "...", sizeof("..."));
	} else {
		memcpy(last_short, last_msg, n);
		last_short[n] = '\0';
	}
	for (i = 0; last_short[i] != '\0'; i++)
		if ((unsigned char)last_short[i] < 0x20 ||
		    last_short[i] == 0x7f)
			last_short[i] = ' ';
	return last_short;
}

/*
 * The message is formatted aside first, so the current one may be an
 * argument of the next: sessnap__error(rc, "...: %s; nothing was queued",
 * sessnap_error_last()) puts context on both sides of a callee's reason.
 */
int sessnap__error(int code, const char *fmt, ...)
{
	PROTECT_ERRNO;
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(last_msg, msg, sizeof(last_msg));
	return code;
}

int sessnap__error_prefix(int code, const char *fmt, ...)
{
	PROTECT_ERRNO;
	char prev[MSG_MAX];
	va_list ap;

	strlcpy(prev, last_msg, sizeof(prev));
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	strlcat(last_msg, ": ", sizeof(last_msg));
	strlcat(last_msg, prev, sizeof(last_msg));
	return code;
}

/* glibc with _GNU_SOURCE has the GNU strerror_r; others the XSI one. */
static const char *pick_gnu(char *r, char *buf)
{
	(void)buf;
	return r;
}

static const char *pick_xsi(int r, char *buf)
{
	return r == 0 ? buf : "unknown system error";
}

const char *sessnap__strerror_r(int err, char *buf, size_t len)
{
	buf[0] = '\0';
	return _Generic(strerror_r(err, buf, len),
		char *: pick_gnu,
		int: pick_xsi)(strerror_r(err, buf, len), buf);
}

int sessnap__errno_code(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return SESSNAP_ENOSPC;
	case EACCES:
	case EPERM:
	case EROFS:
		return SESSNAP_EPERM;
	case ENOMEM:
		return SESSNAP_ENOMEM;
	case ENOENT:
		return SESSNAP_ENOTFOUND;
	case EWOULDBLOCK:
		return SESSNAP_EBUSY;
	default:
		return SESSNAP_EIO;
	}
}

int sessnap__syserr(int err, const char *step, const char *path)
{
	char buf[256];

	return sessnap__error(sessnap__errno_code(err), "%s of %s failed: %s",
			      step, path,
			      sessnap__strerror_r(err, buf, sizeof(buf)));
}
