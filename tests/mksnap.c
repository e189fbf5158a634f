/*
 * mksnap.c - write a hand-made snapshot file, for the shell tests
 *
 *   mksnap DIR ID [--age SECONDS] [--completed] [--host HOST]
 *          [--format N] [--name NAME] [--label LABEL] [--state JSON]
 *          [--count N] [--key KEY]
 *
 * writes DIR/NAME (default <ID>.snap) in the real on-disk format, with the
 * saved time SECONDS in the past, the completed flag, the owner's host
 * (default: this host) and format version as asked.  The shell tests use it
 * to build stores with old, crashed, foreign or newer-format sessions
 * without waiting days.  The file's mtime is set to its saved time, as a
 * real save leaves it.  --count N writes N sessions, ID, ID+1, ... (the
 * benchmark's 100,000-file trees).  It links the internal library for the
 * header writer and the checksum.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "age", required_argument, NULL, 'a' },
		{ "completed", no_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "label", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'N' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	sessnap__header h;
	const char *name = NULL, *state = "{\"text\":\"hello\"}", *e = NULL;
	char path[4096], *hdr;
	size_t hlen;
	long long age = 0, count = 1, i;
	struct timespec ts[2];
	char id[SESSNAP_ID_LEN + 1];
	FILE *f;
	int c;

	memset(&h, 0, sizeof(h));
	sessnap__owner_self(&h.owner);
	h.format_version = SESSNAP__FORMAT_PLAIN;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			age = strtonum(optarg, 0, INT64_MAX / 1000, &e);
			break;
		case 'c':
			h.completed = true;
			break;
		case 'H':
			strlcpy(h.owner.host, optarg, sizeof(h.owner.host));
			break;
		case 'f':
			h.format_version =
			    (uint32_t)strtonum(optarg, 1, UINT32_MAX, &e);
			break;
		case 'n':
			name = optarg;
			break;
		case 'l':
			strlcpy(h.label, optarg, sizeof(h.label));
			break;
		case 's':
			state = optarg;
			break;
		case 'N':
			count = strtonum(optarg, 1, 100000000, &e);
			break;
		case 'k':
			h.key_len = strlen(optarg);
			if (h.key_len > SESSNAP_KEY_MAX)
				e = "too long";
			else
				memcpy(h.key, optarg, h.key_len + 1);
			break;
		default:
			return 2;
		}
		if (e != NULL) {
			fprintf(stderr, "mksnap: %s: %s\n", optarg, e);
			return 2;
		}
	}
	if (argc - optind != 2 || !sessnap__id_valid(argv[optind + 1])) {
		fprintf(stderr, "usage: mksnap DIR ID [options]\n");
		return 2;
	}
	strlcpy(h.app, "t", sizeof(h.app));
	h.seq = 3;
	h.saved_ms = sessnap__now_ms() - (int64_t)age * 1000;
	h.created_ms = h.saved_ms - 1000;
	h.length = strlen(state);
	sessnap__checksum(h.checksum, state, h.length);
	ts[0].tv_sec = ts[1].tv_sec = h.saved_ms / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	strlcpy(id, argv[optind + 1], sizeof(id));
	for (i = 0; i < count; i++) {
		if (i > 0) /* the next id: bump the last 8 hex digits */
			snprintf(
			    id + SESSNAP_ID_LEN - 8, 9, "%08llx",
			    (unsigned long long)(strtoull(argv[optind + 1] +
							      SESSNAP_ID_LEN -
							      8,
							  NULL, 16) +
						 (unsigned long long)i) &
				0xffffffffull);
		strlcpy(h.id, id, sizeof(h.id));
		if (sessnap__header_format(&hdr, &hlen, &h) < 0)
			return 1;
		snprintf(path, sizeof(path), "%s/%s%s", argv[optind],
			 name ? name : id, name ? "" : ".snap");
		f = fopen(path, "w");
		if (f == NULL || fwrite(hdr, 1, hlen, f) != hlen ||
		    fprintf(f, "%s\n", state) < 0 || fclose(f) != 0 ||
		    utimensat(AT_FDCWD, path, ts, 0) != 0) {
			perror(path);
			free(hdr);
			return 1;
		}
		free(hdr);
	}
	return 0;
}
