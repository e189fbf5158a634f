/*
 * scan-once.c -- one sessnap_store_scan() of an existing store, for profilers
 *
 *	scan-once DIR [ROUNDS]
 *
 * opens the store DIR (app "bench"), scans it ROUNDS times (default 1)
 * and prints the number of sessions found.  Run it under
 *	valgrind --tool=callgrind --toggle-collect=sessnap_store_scan
 * to count the instructions a scan spends per session, on a store built by
 * tests/mksnap --count N (docs/performance.md, "Scan").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessnap.h"

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store;
	sessnap_info **infos;
	size_t count = 0;
	long long rounds = 1, i;
	const char *e = NULL;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: scan-once DIR [ROUNDS]\n");
		return 2;
	}
	if (argc == 3) {
		rounds = strtonum(argv[2], 1, 1000000, &e);
		if (e != NULL) {
			fprintf(stderr, "scan-once: ROUNDS is %s\n", e);
			return 2;
		}
	}
	opts.dir = argv[1];
	opts.app = "bench";
	opts.flags = SESSNAP_STORE_NOCREATE;
	if ((rc = sessnap_store_open(&store, &opts)) < 0) {
		fprintf(stderr, "scan-once: %s\n", sessnap_error_last());
		return 1;
	}
	for (i = 0; i < rounds; i++) {
		if ((rc = sessnap_store_scan(&infos, &count, store, 0)) < 0) {
			fprintf(stderr, "scan-once: %s\n",
				sessnap_error_last());
			sessnap_store_close(store);
			return 1;
		}
		sessnap_info_free(infos, count);
	}
	printf("%zu sessions\n", count);
	sessnap_store_close(store);
	return 0;
}
