/*
 * fuzz_age.c - libFuzzer target: the command line's age parser
 *
 * Feeds arbitrary bytes (as a NUL-terminated string) to age_parse(), which
 * turns "7d", "12h", "90m" into milliseconds for the cleaning commands.
 * It must accept or refuse every input without crashing or overflowing
 * (UBSan checks the arithmetic); an accepted age must be non-negative and
 * format in the shared words (lib/words.c, which the commands and the
 * prompt print with) without crashing, whatever the clock.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *errstr = NULL;
	char buf[64];
	int64_t ms = -1;
	char *text;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (age_parse(&ms, text, &errstr) == 0) {
		if (ms < 0)
			abort();
		sessnap__age_format(buf, sizeof(buf), INT64_MAX,
				    INT64_MAX - ms);
		sessnap__age_format(buf, sizeof(buf), 0, ms);
		sessnap__size_format(buf, sizeof(buf), (uint64_t)ms);
	} else if (errstr == NULL) {
		abort(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
