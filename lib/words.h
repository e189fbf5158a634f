/*
 * words.h - the words for an age and a size, shared by the library and the
 * command line
 *
 * The recovery prompt (lib/) and the sessnap commands (cli/) show people
 * how long ago a session was saved and how big its file is.  They say it
 * with the same words because they call the same two functions: this file
 * and lib/words.c are compiled into the library and into the command-line
 * programs alike (as curl's tool shares named lib/ files).  So words.c
 * depends on nothing but libc and libbsd: no internal.h, no store.
 */
#ifndef SESSNAP_WORDS_H
#define SESSNAP_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "5 minutes ago", "just now", "2 days ago": the age of then_ms at now_ms. */
void sessnap__age_format(char *buf, size_t len, int64_t now_ms,
			 int64_t then_ms);

/* "16K", "1.2K", "999B": a byte count for people. */
void sessnap__size_format(char *buf, size_t len, uint64_t bytes);

/*
 * Whether a key is valid UTF-8 with no control byte, DEL or NUL: such a
 * key is written as the header's "key", any other as "key_hex"
 * (sessnap-format(5)), and the commands show it the same way.
 */
bool sessnap__key_plain(const unsigned char *key, size_t len);

#endif /* SESSNAP_WORDS_H */
