/*
 * mkdelta.c - write a session in the delta layout, for the shell tests
 *
 *   mkdelta DIR [--saves N] [--size BYTES] [--compress] [--keep]
 *
 * opens the store DIR (app "deltacli") with SESSNAP_STORE_DELTA (and
 * SESSNAP_STORE_COMPRESS_BASE with --compress), begins a session, saves N
 * states (default 5) of a document of about BYTES bytes (default 16384)
 * whose last edit is {"edit":N-1}, and prints the session's id.  The
 * session is then released unended (it looks crashed), or with --keep
 * ended and kept as completed.  It uses the public API only, like a
 * program would.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sessnap.h"

static json_object *doc(size_t size, int n)
{
	json_object *o = json_object_new_object();
	json_object *lines = json_object_new_array();
	char line[80];
	size_t total = 0;
	int i;

	for (i = 0; total < size; i++) {
		snprintf(line, sizeof(line), "line %d of the document", i);
		json_object_array_add(lines, json_object_new_string(line));
		total += strlen(line) + 3;
	}
	json_object_object_add(o, "lines", lines);
	json_object_object_add(o, "edit", json_object_new_int(n));
	return o;
}

static int fail(const char *what)
{
	fprintf(stderr, "mkdelta: %s: %s\n", what, sessnap_error_last());
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "saves", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "compress", no_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	sessnap_store_options so = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	long saves = 5, size = 16384, i;
	int c, keep = 0, rc = 0;
	json_object *o;

	so.flags = SESSNAP_STORE_DELTA;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			saves = strtol(optarg, NULL, 10);
			break;
		case 's':
			size = strtol(optarg, NULL, 10);
			break;
		case 'c':
			so.flags |= SESSNAP_STORE_COMPRESS_BASE;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 1 || saves < 1 || size < 1) {
		fprintf(stderr, "usage: mkdelta DIR [--saves N] [--size BYTES] "
				"[--compress] [--keep]\n");
		return 2;
	}
	so.dir = argv[optind];
	so.app = "deltacli";
	if (sessnap_store_open(&store, &so) < 0)
		return fail("open");
	if (sessnap_session_begin(&s, store, NULL) < 0)
		return fail("begin");
	for (i = 0; i < saves && rc == 0; i++) {
		o = doc((size_t)size, (int)i);
		rc = sessnap_session_update(s, o);
		if (rc == 0)
			rc = sessnap_session_flush(s);
		json_object_put(o);
	}
	if (rc < 0)
		return fail("save");
	printf("%s\n", sessnap_session_id(s));
	if (keep)
		rc = sessnap_session_end(s, SESSNAP_SESSION_KEEP);
	else
		sessnap_session_release(s);
	if (rc < 0)
		return fail("end");
	sessnap_store_close(store);
	return 0;
}
