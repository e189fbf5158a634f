/*
 * concurrency.c - many writers and a reader-cleaner share one store
 *
 *	concurrency DIR SECONDS
 *
 * Forks 8 writer processes with 4 sessions each.  For SECONDS, each writer
 * updates and flushes its sessions in turn, with a sequence number in the
 * state, and after every flush checks that sessnap_store_load() returns exactly
 * what it flushed: no flushed update is lost, no file is corrupt.  At the
 * end each writer checks all its sessions once more while it still holds
 * them (so none was deleted under it), then ends them.
 *
 * Meanwhile another process walks the store in a loop and loads every
 * snapshot it finds: each must load (never corrupt, never from the
 * previous generation while its owner is alive and saving with atomic
 * renames), and sessnap_store_scan() must classify every session as running.
 * The same process cleans the store in that loop with every age at zero:
 * every session is running, so nothing may be removed.
 *
 * In a second store (DIR/adopt), two adopters race a cleaner.  Each
 * adopter ends sessions with SESSNAP_SESSION_KEEP (completed: no lock
 * file left) and adopts the completed sessions it finds; the cleaner
 * removes completed sessions as soon as it sees them.  Whenever an
 * adoption succeeds, the adopted state must be the session's own and its
 * snapshot must still be on disk, and stay there through a flush: the
 * cleaner may remove a session before it is adopted, never after (the
 * store gate, lib/liveness.c).
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
	unsigned long adoptions;
	unsigned long adopt_lost; /* adopt found the session gone or busy */
	unsigned long removed;	  /* sessions the race's cleaner removed */
};

#define ADOPTERS 2

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
	sessnap_load_info *info = NULL;
	int rc, ok;

	rc = sessnap_store_load(&st, &info, store, id);
	if (rc < 0) {
		fail("writer %d session %s: load: %s", w, id,
		     sessnap_error_last());
		return -1;
	}
	want = make_state(w, k, seq);
	ok = json_object_equal(st, want) &&
	     !(info->flags & SESSNAP_LOAD_FROM_PREV);
	if (!ok)
		fail("writer %d session %s: flushed seq %" PRIu64
		     " but loaded %s%s",
		     w, id, seq, json_object_to_json_string(st),
		     (info->flags & SESSNAP_LOAD_FROM_PREV) ? " (from prev)" :
							      "");
	json_object_put(want);
	json_object_put(st);
	sessnap_load_info_free(info);
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
		fail("writer %d: %s", w, sessnap_error_last());
		return 1;
	}
	for (k = 0; k < SESSIONS; k++) {
		if (sessnap_session_begin(&s[k], store, NULL) < 0) {
			fail("writer %d: begin: %s", w, sessnap_error_last());
			return 1;
		}
	}
	while (rc == 0 && now_s() < deadline) {
		for (k = 0; k < SESSIONS && rc == 0; k++) {
			seq[k]++;
			st = make_state(w, k, seq[k]);
			if (sessnap_session_update(s[k], st) < 0 ||
			    sessnap_session_flush(s[k]) < 0) {
				fail("writer %d: %s", w, sessnap_error_last());
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
			fail("writer %d: end: %s", w, sessnap_error_last());
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
	sessnap_info **infos = NULL;
	size_t n = 0, i;
	int bad = 0;

	if (sessnap_store_scan(&infos, &n, store, 0) < 0) {
		fail("reader: scan: %s", sessnap_error_last());
		return 1;
	}
	for (i = 0; i < n && !bad; i++) {
		if (infos[i]->status != SESSNAP_VERDICT_RUNNING) {
			fail("reader: scan: session %s of a live writer is "
			     "%s",
			     infos[i]->id,
			     sessnap_verdict_name(infos[i]->status));
			bad = 1;
		}
	}
	sh->scanned += n;
	sessnap_info_free(infos, n);
	return bad;
}

/* A clean policy with every age at zero: remove all it may. */
static sessnap_clean_policy clean_all_policy(void)
{
	sessnap_clean_policy p = SESSNAP_CLEAN_POLICY_INIT;

	p.completed_age_ms = 0;
	p.crashed_age_ms = 0;
	p.temp_age_ms = 0;
	return p;
}

/*
 * Every session of this store is running: the cleaner removes no session
 * and no temporary file.  A free lock file without a snapshot may go: a
 * beginning session's new lock file can be caught between its creation
 * and its lock, and begin then takes another id.
 */
static int clean_nothing(sessnap_store *store)
{
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;
	sessnap_clean_policy p = clean_all_policy();
	uint64_t removed;

	if (sessnap_store_clean(&r, store, &p, NULL, NULL) < 0) {
		fail("reader: clean: %s", sessnap_error_last());
		return 1;
	}
	removed = r.removed_completed + r.removed_crashed +
		  r.removed_corrupt + r.removed_temp;
	if (removed != 0) {
		fail("reader: clean removed %" PRIu64 " session(s) or "
		     "temporary file(s) of live writers",
		     removed);
		return 1;
	}
	return 0;
}

/* {"id": id, "n": n}: a state that names its own session. */
static json_object *own_state(const char *id, int64_t n)
{
	json_object *st = json_object_new_object();

	json_object_object_add(st, "id", json_object_new_string(id));
	json_object_object_add(st, "n", json_object_new_int64(n));
	return st;
}

/* The state is the session's own; returns its "n", or -1. */
static int64_t own_n(json_object *st, const char *id)
{
	json_object *v;

	if (st == NULL || !json_object_object_get_ex(st, "id", &v) ||
	    strcmp(json_object_get_string(v), id) != 0 ||
	    !json_object_object_get_ex(st, "n", &v))
		return -1;
	return json_object_get_int64(v);
}

/* Our adopted session is on disk and holds exactly n. */
static int still_there(sessnap_store *store, const char *id, int64_t n,
		       const char *when)
{
	json_object *st = NULL;
	int64_t got;

	if (sessnap_store_load(&st, NULL, store, id) < 0) {
		fail("adopter: session %s %s: %s", id, when,
		     sessnap_error_last());
		return -1;
	}
	got = own_n(st, id);
	json_object_put(st);
	if (got != n) {
		fail("adopter: session %s %s: holds n=%" PRId64
		     ", not %" PRId64,
		     id, when, got, n);
		return -1;
	}
	return 0;
}

/* Begin a session, save {"id","n":1}, end it kept: completed, no lock. */
static int make_completed(sessnap_store *store)
{
	sessnap_session *s;
	json_object *st;
	int rc;

	if ((rc = sessnap_session_begin(&s, store, NULL)) < 0) {
		fail("adopter: begin: %s", sessnap_error_last());
		return -1;
	}
	st = own_state(sessnap_session_id(s), 1);
	rc = sessnap_session_update(s, st);
	json_object_put(st);
	if (rc < 0) {
		fail("adopter: update: %s", sessnap_error_last());
		sessnap_session_release(s);
		return -1;
	}
	if (sessnap_session_end(s, SESSNAP_SESSION_KEEP) < 0) {
		fail("adopter: end: %s", sessnap_error_last());
		return -1;
	}
	return 0;
}

static int adopt_one(sessnap_store *store, const char *id, struct shared *sh)
{
	sessnap_session *s = NULL;
	json_object *st = NULL;
	int64_t n;
	int rc;

	rc = sessnap_session_adopt(&s, &st, NULL, store, id);
	if (rc == SESSNAP_EBUSY || rc == SESSNAP_ENOTFOUND) {
		sh->adopt_lost++;
		return 0; /* the other adopter or the cleaner was first */
	}
	if (rc < 0) {
		fail("adopter: adopt %s: %s", id, sessnap_error_last());
		return -1;
	}
	n = own_n(st, id);
	json_object_put(st);
	if (n < 1) {
		fail("adopter: adopted %s: not its own state", id);
		sessnap_session_release(s);
		return -1;
	}
	/* Ours now: the cleaner must leave it alone. */
	if (still_there(store, id, n, "right after adopt") < 0) {
		sessnap_session_release(s);
		return -1;
	}
	st = own_state(id, n + 1);
	rc = sessnap_session_update(s, st);
	json_object_put(st);
	if (rc < 0 || sessnap_session_flush(s) < 0) {
		fail("adopter: %s: %s", id, sessnap_error_last());
		sessnap_session_release(s);
		return -1;
	}
	if (still_there(store, id, n + 1, "after a flush") < 0) {
		sessnap_session_release(s);
		return -1;
	}
	sh->adoptions++;
	if (sessnap_session_end(s, SESSNAP_SESSION_KEEP) < 0) {
		fail("adopter: end %s: %s", id, sessnap_error_last());
		return -1;
	}
	return 0;
}

static int adopter(const char *dir, double deadline, struct shared *sh)
{
	sessnap_store *store;
	sessnap_info **infos;
	size_t n, i;
	int bad = 0;

	if (open_store(&store, dir) < 0) {
		fail("adopter: %s", sessnap_error_last());
		return 1;
	}
	while (!bad && now_s() < deadline) {
		if (make_completed(store) < 0) {
			bad = 1;
			break;
		}
		if (sessnap_store_scan(&infos, &n, store, 0) < 0) {
			fail("adopter: scan: %s", sessnap_error_last());
			bad = 1;
			break;
		}
		for (i = 0; i < n && !bad; i++)
			if (infos[i]->status == SESSNAP_VERDICT_COMPLETED)
				bad = adopt_one(store, infos[i]->id, sh) < 0;
		sessnap_info_free(infos, n);
	}
	sessnap_store_close(store);
	return bad;
}

/* Remove every completed session, as fast as it can, until the deadline. */
static int race_cleaner(const char *dir, double deadline, struct shared *sh)
{
	sessnap_clean_policy p = clean_all_policy();
	sessnap_store *store;
	int bad = 0;

	if (open_store(&store, dir) < 0) {
		fail("cleaner: %s", sessnap_error_last());
		return 1;
	}
	while (!bad && now_s() < deadline) {
		sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;

		if (sessnap_store_clean(&r, store, &p, NULL, NULL) < 0) {
			fail("cleaner: %s", sessnap_error_last());
			bad = 1;
		}
		sh->removed += r.removed_completed;
	}
	sessnap_store_close(store);
	return bad;
}

/* After the race: remove what is left and the directory itself. */
static int race_teardown(const char *dir)
{
	sessnap_clean_policy p = clean_all_policy();
	sessnap_clean_report r = SESSNAP_CLEAN_REPORT_INIT;
	sessnap_store *store;

	if (open_store(&store, dir) < 0 ||
	    sessnap_store_clean(&r, store, &p, NULL, NULL) < 0) {
		fail("teardown: %s", sessnap_error_last());
		return 1;
	}
	sessnap_store_close(store);
	if (rmdir(dir) < 0) {
		fail("teardown: rmdir %s: %s (files left)", dir,
		     strerror(errno));
		return 1;
	}
	return 0;
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
	sessnap_store *store;
	struct dirent *de;
	json_object *st;
	DIR *d;
	int rc, bad = 0;

	opts.dir = dir;
	opts.app = APP;
	opts.flags = SESSNAP_STORE_READONLY;
	if (sessnap_store_open(&store, &opts) < 0) {
		fail("reader: %s", sessnap_error_last());
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
			rc = sessnap_store_load(&st, NULL, store, id);
			if (rc == SESSNAP_ENOTFOUND)
				continue;
			if (rc < 0) {
				fail("reader: load %s: %s", id,
				     sessnap_error_last());
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
		if (!bad)
			bad = clean_nothing(store);
		sh->passes++;
	}
	sessnap_store_close(store);
	return bad;
}

int main(int argc, char **argv)
{
	pid_t pids[WRITERS + 1 + ADOPTERS + 1];
	char race_dir[PATH_MAX];
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
		fail("%s", sessnap_error_last());
		return 1;
	}
	sessnap_store_close(store);
	snprintf(race_dir, sizeof(race_dir), "%s/adopt", argv[1]);
	if (open_store(&store, race_dir) < 0) {
		fail("%s", sessnap_error_last());
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
	for (i = 0; i < WRITERS + 1 + ADOPTERS + 1; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			fail("fork: %s", strerror(errno));
			return 1;
		}
		if (pids[i] != 0)
			continue;
		if (i < WRITERS)
			_exit(writer(argv[1], i, deadline, sh));
		if (i == WRITERS)
			_exit(reader(argv[1], deadline, sh));
		if (i < WRITERS + 1 + ADOPTERS)
			_exit(adopter(race_dir, deadline, sh));
		_exit(race_cleaner(race_dir, deadline, sh));
	}
	for (i = 0; i < WRITERS + 1 + ADOPTERS + 1; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fail("%s %d failed (status %d)",
			     i < WRITERS	       ? "writer" :
			     i == WRITERS	       ? "reader" :
			     i < WRITERS + 1 + ADOPTERS ? "adopter" :
							  "cleaner",
			     i, status);
			failed = 1;
		}
	}
	if (race_teardown(race_dir) != 0)
		failed = 1;
	if (sh->adoptions == 0 || sh->removed == 0) {
		fail("the adopt-clean race did not happen: %lu adoptions, "
		     "%lu sessions removed",
		     sh->adoptions, sh->removed);
		failed = 1;
	}
	for (i = 0; i < WRITERS; i++)
		total += sh->flushes[i];
	printf("concurrency: %d writers x %d sessions for %llds: %lu flushes "
	       "checked, %lu loads and %lu scanned sessions by the reader in "
	       "%lu passes; %d adopters against a cleaner: %lu adoptions "
	       "checked, %lu lost the race, %lu sessions cleaned: %s\n",
	       WRITERS, SESSIONS, secs, total, sh->loads, sh->scanned,
	       sh->passes, ADOPTERS, sh->adoptions, sh->adopt_lost,
	       sh->removed, failed ? "FAILED" : "ok");
	munmap(sh, sizeof(*sh));
	return failed;
}
