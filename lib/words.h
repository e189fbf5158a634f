/*
 * words.h - the age and size of a session, in words
 *
 * "saved 5 minutes ago", "12KB": the wording the recovery prompt and the
 * command-line tool both print, so that they never disagree.  It depends
 * on nothing but libc and libbsd.
 */
#ifndef SESSNAP_WORDS_H
#define SESSNAP_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* "5 minutes ago", "just now", "2 days ago": the age of then_ms at now_ms. */
void sessnap__age_format(char *buf, size_t len, int64_t now_ms,
			 int64_t then_ms);
/* "12KB", "3.4MB": a size in bytes, in at most len - 1 characters. */
void sessnap__size_format(char *buf, size_t len, uint64_t bytes);

#endif /* SESSNAP_WORDS_H */
