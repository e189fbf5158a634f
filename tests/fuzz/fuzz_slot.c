/*
 * fuzz_slot.c - libFuzzer target: the commit slot of a delta snapshot
 *
 * Feeds arbitrary bytes, cut or padded with spaces to SESSNAP__SLOT_LEN,
 * to sessnap__slot_parse(), the parser every reader of a delta file runs
 * on both slots.  It must accept, call unused, or refuse every input
 * without crashing, reading out of bounds or leaking.  A slot it accepts
 * is written back by sessnap__slot_format() as one self-checked line of
 * exactly SESSNAP__SLOT_LEN bytes that parses to the same slot; changing
 * any one byte of that line before the padding (a digit to the next
 * digit, any other byte to a neighbour, so that the line stays in the
 * writer's form) makes it refused, never a different slot: that is the
 * self-check's job.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const sessnap__slot *a, const sessnap__slot *b)
{
	return a->seq == b->seq && a->saved_ms == b->saved_ms &&
	       a->at == b->at && a->length == b->length &&
	       a->size == b->size && strcmp(a->checksum, b->checksum) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[SESSNAP__SLOT_LEN], again[SESSNAP__SLOT_LEN];
	sessnap__slot s, t;
	size_t i, end;
	int rc;

	memset(buf, ' ', sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	rc = sessnap__slot_parse(&s, buf);
	if (rc != 0)
		return 0;
	sessnap__slot_format(again, &s);
	if (again[SESSNAP__SLOT_LEN - 1] != '\n' ||
	    sessnap__slot_parse(&t, again) != 0 || !same(&s, &t))
		abort();
	/* the self-check: one changed byte of the line is never another slot */
	for (end = 0; end < SESSNAP__SLOT_LEN && again[end] != ' '; end++)
		;
	for (i = 0; i < end; i++) {
		memcpy(buf, again, sizeof(buf));
		if (buf[i] >= '0' && buf[i] <= '9')
			buf[i] = (char)('0' + (buf[i] - '0' + 1) % 10);
		else
			buf[i] ^= 1;
		if (sessnap__slot_parse(&t, buf) == 0 && !same(&s, &t))
			abort();
	}
	return 0;
}
