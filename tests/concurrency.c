/*
 * concurrency.c - many writers and a reader-cleaner share one store
 *
 *	concurrency DIR SECONDS
 *
 * Forks 8 writer processes with 4 sessions each.  For SECONDS, each writer
 * updates and flushes its sessions in turn, with a sequence number in the
 * state, and after every flush checks that sessnap_load() returns exactly
 * what it flushed: no flushed update is lost, no file is corrupt.  At the
 * end each writer checks all its sessions once more while it still holds
 * them (so none was deleted under it), then ends them.
 *
 * Meanwhile another process walks the store in a loop and loads every
 * snapshot it finds: each must load (never corrupt, never from the
 * previous generation while its owner is alive and saving with atomic
 * renames), and sessnap_scan() must classify every session as running.
 * When the cleaner lands, the same process cleans in that loop.
 *
 * Exit status 0 when every process passed; the last line gives the figures.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sessnap.h>

#define APP "concurrency"
#define WRITERS 8
#define SESSIONS 4

/* Shared between the processes (an anonymous shared mapping). */
struct shared {
	unsigned long flushes[WRITERS];
	unsigned long loads;
	unsigned long scanned;
	unsigned long passes;
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "concurrency[%ld]: ", (long)getpid());
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_store(sessnap_store **out, const char *dir)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	opts.dir = dir;
	opts.app = APP;
	return sessnap_store_open(out, &opts);
}

static json_object *make_state(int w, int k, uint64_t seq)
{
	json_object *st = json_object_new_object();

	json_object_object_add(st, "writer", json_object_new_int(w));
	json_object_object_add(st, "session", json_object_new_int(k));
	json_object_object_add(st, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(st, "text",
			       json_object_new_string("the quick brown fox "
						      "jumps over the lazy "
						      "dog"));
	return st;
}

/* The session loads and holds exactly (w, k, seq). */
static int check_session(sessnap_store *store, const char *id, int w, int k,
			 uint64_t seq)
{
	json_object *st = NULL, *want;
	sessnap_load_info info;
	int rc, ok;

	rc = sessnap_load(&st, &info, store, id);
	if (rc < 0) {
		fail("writer %d session %s: load: %s", w, id,
		     sessnap_last_error());
		return -1;
	}
	want = make_state(w, k, seq);
	ok = json_object_equal(st, want) &&
	     !(info.flags & SESSNAP_LOAD_FROM_PREV);
	if (!ok)
		fail("writer %d session %s: flushed seq %" PRIu64
		     " but loaded %s%s",
		     w, id, seq, json_object_to_json_string(st),
		     (info.flags & SESSNAP_LOAD_FROM_PREV) ? " (from prev)" :
							     "");
	json_object_put(want);
	json_object_put(st);
	return ok ? 0 : -1;
}

static int writer(const char *dir, int w, double deadline, struct shared *sh)
{
	sessnap_session *s[SESSIONS];
	uint64_t seq[SESSIONS] = { 0 };
	sessnap_store *store;
	json_object *st;
	int k, rc = 0;

	if (open_store(&store, dir) < 0) {
		fail("writer %d: %s", w, sessnap_last_error());
		return 1;
	}
	for (k = 0; k < SESSIONS; k++) {
		if (sessnap_session_begin(&s[k], store, NULL) < 0) {
			fail("writer %d: begin: %s", w, sessnap_last_error());
			return 1;
		}
	}
	while (rc == 0 && now_s() < deadline) {
		for (k = 0; k < SESSIONS && rc == 0; k++) {
			seq[k]++;
			st = make_state(w, k, seq[k]);
			if (sessnap_session_update(s[k], st) < 0 ||
			    sessnap_session_flush(s[k]) < 0) {
				fail("writer %d: %s", w, sessnap_last_error());
				rc = -1;
			}
			json_object_put(st);
			if (rc == 0)
				rc = check_session(store,
						   sessnap_session_id(s[k]), w,
						   k, seq[k]);
			sh->flushes[w]++;
		}
	}
	for (k = 0; k < SESSIONS; k++) {
		if (rc == 0)
			rc = check_session(store, sessnap_session_id(s[k]), w,
					   k, seq[k]);
		if (sessnap_session_end(s[k], 0) < 0) {
			fail("writer %d: end: %s", w, sessnap_last_error());
			rc = -1;
		}
	}
	sessnap_store_close(store);
	return rc == 0 ? 0 : 1;
}

/* Is name "<32 hex>.snap"?  Copies the id. */
static int snap_id(char id[SESSNAP_ID_LEN + 1], const char *name)
{
	size_t i;

	if (strlen(name) != SESSNAP_ID_LEN + 5 ||
	    strcmp(name + SESSNAP_ID_LEN, ".snap") != 0)
		return 0;
	for (i = 0; i < SESSNAP_ID_LEN; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return 0;
	memcpy(id, name, SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	return 1;
}

/*
 * Scan the store: every session listed belongs to a live writer, so it
 * must be classified running - never crashed, never corrupt.
 */
static int scan_all(sessnap_store *store, struct shared *sh)
{
	sessnap_info *infos = NULL;
	size_t n = 0, i;
	int bad = 0;

	if (sessnap_scan(&infos, &n, store, 0) < 0) {
		fail("reader: scan: %s", sessnap_last_error());
		return 1;
	}
	for (i = 0; i < n && !bad; i++) {
		if (infos[i].status != SESSNAP_STATUS_RUNNING) {
			fail("reader: scan: session %s of a live writer is "
			     "%s",
			     infos[i].id, sessnap_status_name(infos[i].status));
			bad = 1;
		}
	}
	sh->scanned += n;
	sessnap_scan_free(infos, n);
	return bad;
}

/*
 * The reader: load every snapshot in the store, in a loop.  A session may
 * end between the listing and the load (ENOTFOUND); anything else that is
 * not a clean load is a failure.
 */
static int reader(const char *dir, double deadline, struct shared *sh)
{
	char id[SESSNAP_ID_LEN + 1];
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_load_info info;
	sessnap_store *store;
	struct dirent *de;
	json_object *st;
	DIR *d;
	int rc, bad = 0;

	opts.dir = dir;
	opts.app = APP;
	opts.flags = SESSNAP_STORE_READONLY;
	if (sessnap_store_open(&store, &opts) < 0) {
		fail("reader: %s", sessnap_last_error());
		return 1;
	}
	while (!bad && now_s() < deadline) {
		d = opendir(dir);
		if (d == NULL) {
			fail("reader: opendir: %s", strerror(errno));
			bad = 1;
			break;
		}
		while (!bad && (de = readdir(d)) != NULL) {
			if (!snap_id(id, de->d_name))
				continue;
			st = NULL;
			rc = sessnap_load(&st, &info, store, id);
			if (rc == SESSNAP_ENOTFOUND)
				continue;
			if (rc < 0) {
				fail("reader: load %s: %s", id,
				     sessnap_last_error());
				bad = 1;
			} else if (!json_object_is_type(st, json_type_object)) {
				fail("reader: %s: not an object", id);
				bad = 1;
			}
			json_object_put(st);
			sh->loads++;
		}
		closedir(d);
		if (!bad)
			bad = scan_all(store, sh);
		sh->passes++;
	}
	sessnap_store_close(store);
	return bad;
}

int main(int argc, char **argv)
{
	pid_t pids[WRITERS + 1];
	const char *errstr = NULL;
	struct shared *sh;
	sessnap_store *store;
	unsigned long total = 0;
	double deadline;
	long long secs;
	int i, status, failed = 0;

	if (argc != 3) {
		fail("usage: concurrency DIR SECONDS");
		return 1;
	}
	secs = strtonum(argv[2], 1, 86400, &errstr);
	if (errstr != NULL) {
		fail("SECONDS %s: %s", argv[2], errstr);
		return 1;
	}
	/* create the store once, before the processes race to */
	if (open_store(&store, argv[1]) < 0) {
		fail("%s", sessnap_last_error());
		return 1;
	}
	sessnap_store_close(store);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fail("mmap: %s", strerror(errno));
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	deadline = now_s() + (double)secs;
	for (i = 0; i <= WRITERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			fail("fork: %s", strerror(errno));
			return 1;
		}
		if (pids[i] == 0)
			_exit(i < WRITERS ? writer(argv[1], i, deadline, sh) :
					    reader(argv[1], deadline, sh));
	}
	for (i = 0; i <= WRITERS; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fail("%s %d failed (status %d)",
			     i < WRITERS ? "writer" : "reader", i, status);
			failed = 1;
		}
	}
	for (i = 0; i < WRITERS; i++)
		total += sh->flushes[i];
	printf("concurrency: %d writers x %d sessions for %llds: %lu flushes "
	       "checked, %lu loads and %lu scanned sessions by the reader in "
	       "%lu passes: %s\n",
	       WRITERS, SESSIONS, secs, total, sh->loads, sh->scanned,
	       sh->passes, failed ? "FAILED" : "ok");
	munmap(sh, sizeof(*sh));
	return failed;
}
