/*
 * age.h - durations written like "90s", "15m", "12h", "7d", "2w"
 *
 * The cleaning commands take ages on their command line; this module
 * parses them.  Ages are shown with the library's own words
 * (sessnap__age_format() in lib/words.h), so that the commands and the
 * recovery prompt say "5 minutes ago" alike.
 */
#ifndef SESSNAP_CLI_AGE_H
#define SESSNAP_CLI_AGE_H

#include <stddef.h>
#include <stdint.h>

/* What age_parse() accepts, for error messages. */
#define AGE_EXPECTED                                                           \
	"a whole number followed by s, m, h, d or w (90s, 15m, 12h, 7d, 2w)"

/*
 * Parse an age into milliseconds.  Returns 0, or -1 with *errstr saying
 * what is wrong ("missing unit", "too large", ...).
 */
int age_parse(int64_t *out_ms, const char *text, const char **errstr);

#endif /* SESSNAP_CLI_AGE_H */
