/*
 * check_age.c - the command line's age parser (cli/age.c) and the words
 * for an age and a size (lib/words.c), which the commands share with the
 * recovery prompt
 *
 * Ages decide what snapshot-clean deletes, so the parser must refuse
 * anything that is not exactly "<whole number><unit>", and never overflow
 * on the way to milliseconds.  The formatter shows ages in listings and
 * at the prompt and must survive any clock, including ones near the ends
 * of int64_t (a fuzz finding: "now + 60 s" overflowed for a clock at
 * INT64_MAX).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "age.h"
#include "testutil.h"
#include "../lib/words.h"

#define S 1000
#define M (60 * S)
#define H (60 * M)
#define D (24 * (int64_t)H)
#define W (7 * D)

static void parses(const char *text, int64_t want)
{
	const char *err = NULL;
	int64_t ms = -1;

	ck_assert_msg(age_parse(&ms, text, &err) == 0, "%s refused: %s", text,
		      err ? err : "?");
	ck_assert_int_eq(ms, want);
}

static void refuses(const char *text, const char *why)
{
	const char *err = NULL;
	int64_t ms = -7;

	ck_assert_msg(age_parse(&ms, text, &err) == -1, "%s accepted", text);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, why);
	ck_assert_int_eq(ms, -7);
}

START_TEST(test_units)
{
	parses("90s", 90 * S);
	parses("15m", 15 * M);
	parses("12h", 12 * (int64_t)H);
	parses("7d", 7 * D);
	parses("2w", 2 * W);
	parses("0s", 0);
	parses("007d", 7 * D);
}
END_TEST

START_TEST(test_refusals)
{
	refuses("", "empty");
	refuses("7", "missing unit");
	refuses("d", "missing number");
	refuses("7x", "unknown unit");
	refuses("-1d", "not a whole number");
	refuses("+1d", "not a whole number");
	refuses(" 1d", "not a whole number");
	refuses("1.5h", "not a whole number");
	refuses("1h30m", "not a whole number");
	refuses("7d ", "unknown unit");
}
END_TEST

START_TEST(test_overflow)
{
	refuses("15250284453w", "too large");
	refuses("99999999999999999999999999d", "too large");
	/* The largest accepted count of weeks still fits in milliseconds. */
	parses("15250284452w", INT64_C(15250284452) * W);
}
END_TEST

static void ago(int64_t now, int64_t then, const char *want)
{
	char buf[64];

	sessnap__age_format(buf, sizeof(buf), now, then);
	ck_assert_str_eq(buf, want);
}

START_TEST(test_ago)
{
	int64_t now = INT64_C(1800000000000);

	ago(now, 0, "at an unknown time");
	ago(now, now, "just now");
	ago(now, now - 4 * S, "just now");
	ago(now, now - 9 * S, "just now");
	ago(now, now - 42 * S, "42 seconds ago");
	ago(now, now - M, "1 minute ago");
	ago(now, now - 3 * M, "3 minutes ago");
	ago(now, now - 5 * (int64_t)H, "5 hours ago");
	ago(now, now - D, "1 day ago");
	ago(now, now - 2 * D, "2 days ago");
	ago(now, now - 15 * D, "2 weeks ago");
	ago(now, now - 3 * W, "3 weeks ago");
	ago(now, now + 30 * S, "just now");
	ago(now, now + M, "just now");
	ago(now, now + 2 * M, "in the future");
}
END_TEST

/* The words are cut to the caller's buffer, never overrun it. */
START_TEST(test_ago_short_buffer)
{
	char buf[6];

	memset(buf, 'x', sizeof(buf));
	sessnap__age_format(buf, sizeof(buf), 100 * S, 100 * S - 42 * S);
	ck_assert_str_eq(buf, "42 se");
}
END_TEST

static void size(uint64_t bytes, size_t len, const char *want)
{
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	sessnap__size_format(buf, len, bytes);
	ck_assert_str_eq(buf, want);
}

/*
 * One scale whatever the buffer: the prompt passed 8 bytes and printed
 * "16384B" where the commands printed "16K".
 */
START_TEST(test_size)
{
	size(0, 16, "0B");
	size(999, 16, "999B");
	size(1200, 16, "1200B");
	size(16384, 8, "16K");
	size(16384, 16, "16K");
	size(12 * 1024 + 300, 16, "12K");
	size(34 * 1024 * 1024, 16, "34M");
	size(UINT64_MAX, 16, "?");
	size(16384, 3, "16");
}
END_TEST

START_TEST(test_ago_extreme_clocks)
{
	/* Regression: the fuzzer's "2w" seed, formatted at INT64_MAX. */
	ago(INT64_MAX, INT64_MAX - 2 * W, "2 weeks ago");
	ago(INT64_MAX, INT64_MAX, "just now");
	ago(INT64_MAX, 1, "15250284452 weeks ago");
	ago(INT64_MIN, 1, "in the future");
	ago(-5, INT64_MAX, "in the future");
}
END_TEST

static Suite *age_suite(void)
{
	Suite *s = suite_create("age");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, test_units);
	tcase_add_test(tc, test_ago);
	tcase_add_test(tc, test_size);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_overflow);
	suite_add_tcase(s, tc);
	tc = tcase_create("edge");
	tcase_add_test(tc, test_ago_extreme_clocks);
	tcase_add_test(tc, test_ago_short_buffer);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(age_suite)
