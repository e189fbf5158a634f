/*
 * age.c - parse "7d"-style ages
 *
 * An age is a whole number and one unit: s (seconds), m (minutes), h
 * (hours), d (days) or w (weeks).  There is deliberately nothing else: no
 * fractions, no combinations like "1h30m", no default unit, so that a
 * typo in a crontab is a usage error instead of a surprising deletion.
 * The number is parsed with libbsd's strtonum, bounded so that the result
 * in milliseconds cannot overflow.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"

#define SEC_MS INT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define WEEK_MS (7 * DAY_MS)

static int64_t unit_ms(char c)
{
	switch (c) {
	case 's':
		return SEC_MS;
	case 'm':
		return MIN_MS;
	case 'h':
		return HOUR_MS;
	case 'd':
		return DAY_MS;
	case 'w':
		return WEEK_MS;
	default:
		return 0;
	}
}

int age_parse(int64_t *out_ms, const char *text, const char **errstr)
{
	char num[24];
	size_t len;
	int64_t unit;
	long long n;
	const char *e = NULL;

	len = text ? strlen(text) : 0;
	if (len == 0) {
		*errstr = "empty";
		return -1;
	}
	unit = unit_ms(text[len - 1]);
	if (unit == 0) {
		*errstr = (text[len - 1] >= '0' && text[len - 1] <= '9') ?
			      "missing unit" :
			      "unknown unit";
		return -1;
	}
	if (len == 1) {
		*errstr = "missing number";
		return -1;
	}
	if (len - 1 >= sizeof(num)) {
		*errstr = "too large";
		return -1;
	}
	/* strtonum accepts a sign and leading blanks; an age does not. */
	if (text[0] < '0' || text[0] > '9') {
		*errstr = "not a whole number";
		return -1;
	}
	memcpy(num, text, len - 1);
	num[len - 1] = '\0';
	n = strtonum(num, 0, INT64_MAX / unit, &e);
	if (e != NULL) {
		*errstr = strcmp(e, "too large") == 0 ? "too large" :
							"not a whole number";
		return -1;
	}
	*out_ms = (int64_t)n * unit;
	return 0;
}
