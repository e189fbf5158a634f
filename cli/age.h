/*
 * age.h - durations written like "90s", "15m", "12h", "7d", "2w"
 *
 * The cleaning commands take ages on their command line and show ages in
 * their output; this module parses the one and formats the other.
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

/*
 * Format how long ago `then_ms` was, seen from `now_ms`: "just now",
 * "42 s ago", "3 min ago", "5 h ago", "2 days ago", "3 weeks ago";
 * "in the future" for a time after now, "unknown" for 0.
 */
void age_ago(char *buf, size_t len, int64_t now_ms, int64_t then_ms);

/* Format a duration without "ago": "42 s", "3 min", "2 days". */
void age_span(char *buf, size_t len, int64_t ms);

#endif /* SESSNAP_CLI_AGE_H */
