/*
 * fuzz_header.c - libFuzzer target: the snapshot header parser
 *
 * Feeds arbitrary bytes to sessnap__header_parse(), the parser that the
 * scanner runs on the first line of every file in a store.  It must accept
 * or refuse every input without crashing, reading out of bounds or
 * leaking; an accepted header must hold a valid id and checksum.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sessnap__header h;

	if (sessnap__header_parse(&h, (const char *)data, size) == 0) {
		if (!sessnap__id_valid(h.id) ||
		    strlen(h.checksum) != SESSNAP__CHECKSUM_LEN)
			abort();
	}
	return 0;
}
