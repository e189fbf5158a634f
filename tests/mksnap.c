/*
 * mksnap.c - write a hand-made snapshot file, for the shell tests
 *
 *   mksnap DIR ID [--age SECONDS] [--completed] [--host HOST]
 *          [--format N] [--name NAME] [--label LABEL] [--state JSON]
 *          [--count N] [--key KEY] [--lease MS] [--lease-age SECONDS]
 *
 * writes DIR/NAME (default <ID>.snap) in the real on-disk format, with the
 * saved time SECONDS in the past, the completed flag, the owner's host
 * (default: this host) and format version as asked.  The shell tests use it
 * to build stores with old, crashed, foreign or newer-format sessions
 * without waiting days.  The file's mtime is set to its saved time, as a
 * real save leaves it.  --count N writes N sessions, ID, ID+1, ... (the
 * benchmark's 100,000-file trees).  --lease MS also writes <ID>.lock with
 * a lock record carrying a lease of period MS (lib/lease.c), its mtime
 * --lease-age SECONDS in the past (default 0: just renewed), as a running
 * owner on another host leaves it.  It links the internal library for the
 * header writer and the checksum.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* <id>.lock with a lock record carrying a lease, lease_age s old. */
static int put_lease(const char *dir, const sessnap__header *snap,
		     uint32_t period, long long lease_age)
{
	sessnap__header h = *snap;
	struct timespec ts[2];
	char path[4096], *line;
	size_t len;
	int64_t ms = sessnap__now_ms() - (int64_t)lease_age * 1000;
	FILE *f;

	h.seq = 0;
	h.length = 0;
	h.completed = false;
	sessnap__checksum(h.checksum, "", 0);
	h.lease_ms = period;
	h.renewals = 1;
	if (sessnap__header_format(&line, &len, &h) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, h.id);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(ms / 1000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(ms % 1000) * 1000000L;
	f = fopen(path, "w");
	if (f == NULL || fwrite(line, 1, len, f) != len ||
	    fputc('\n', f) == EOF || fclose(f) != 0 ||
	    utimensat(AT_FDCWD, path, ts, 0) != 0) {
		perror(path);
		free(line);
		return -1;
	}
	free(line);
	return 0;
}

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
		{ "lease", required_argument, NULL, 'L' },
		{ "lease-age", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	sessnap__header h;
	const char *name = NULL, *state = "{\"text\":\"hello\"}", *e = NULL;
	char path[4096], *hdr;
	size_t hlen;
	long long age = 0, count = 1, i, lease = 0, lease_age = 0;
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
		case 'L':
			lease = strtonum(optarg, 1, UINT32_MAX, &e);
			break;
		case 'A':
			lease_age = strtonum(optarg, 0, INT64_MAX / 1000, &e);
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
		if (lease > 0 && put_lease(argv[optind], &h, (uint32_t)lease,
					   lease_age) < 0)
			return 1;
	}
	return 0;
}
