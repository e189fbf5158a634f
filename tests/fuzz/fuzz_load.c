/*
 * fuzz_load.c - libFuzzer target: the whole snapshot loader
 *
 * Feeds arbitrary bytes, as the complete content of a snapshot file, to
 * sessnap__snapshot_parse(): header, size check, checksum and payload
 * parse.  It must accept or refuse every input without crashing, reading
 * out of bounds, recursing without bound or leaking; an accepted snapshot
 * must have a payload whose checksum matches its header.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *state = NULL;
	sessnap__header h;

	if (sessnap__snapshot_parse(&state, &h, (const char *)data, size) == 0) {
		if (state == NULL && h.length != 4)
			abort(); /* only "null" parses to NULL */
		json_object_put(state);
	} else if (state != NULL) {
		abort();
	}
	return 0;
}
