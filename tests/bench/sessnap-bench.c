/*
 * sessnap-bench.c - what autosave costs, against what the disk allows
 *
 * One run measures, for states of 1 KiB, 16 KiB, 256 KiB and 4 MiB:
 *
 *  save/<kind>   durable save latency, median and p99:
 *                  sessnap   update() untimed, then flush() timed: the
 *                            writer thread's full save (header, checksum,
 *                            temp file, fdatasync, previous generation,
 *                            rename, directory fsync) plus the handoff;
 *                  floor     the same bytes written by this program with
 *                            the minimum durable replace: open, write,
 *                            fsync, rename, fsync of the directory;
 *                  glib      g_file_set_contents_full(CONSISTENT|DURABLE)
 *                            (when configure found glib-2.0);
 *                  sqlite    one row per session in a WAL database with
 *                            synchronous=FULL (when configure found it).
 *  update        app-thread cost of sessnap_session_update() while the
 *                writer makes durable saves of 64 sessions, against bare
 *                json-c serialization of the same state ("serialize");
 *  touch         app-thread cost of sessnap_session_touch() in the same
 *                conditions (pull mode, collect callbacks dispatched);
 *  patch/...     a one-row patch against a full update at 16 KiB, 1 MiB
 *                and 16 MiB: app-thread cost, the writer's CPU per save,
 *                the heap the library's copy of the state costs (above
 *                case_patch);
 *  soak_rss      with --soak SECONDS: resident set size while 64 sessions
 *                are updated and saved for that long.
 *
 * Saves run with durability FULL (SESSNAP_TEST_FSYNC is ignored) in --dir,
 * or in a new directory under the current one: /tmp is often a tmpfs,
 * where fsync costs nothing and the numbers would mean nothing.
 *
 * Output: a table for people, or with --json one object per line per case:
 * {"case":..., "bytes":..., "median_us":..., "p99_us":...,
 *  "ratio":{"<baseline>":...}} where a ratio is ours over the baseline's
 * median (for saves) or p99 (for the app-thread costs).
 *
 *  scan/<n>      the startup scan of n sessions (1,000 and 10,000, at
 *                16 KiB and 256 KiB), against reading and parsing every
 *                file fully (naive) and a 512-byte head read plus lock
 *                probe (floor), run by tests/bench/scan-bench;
 *  clean/<n>     snapshot-clean removing n old snapshots (100,000),
 *                against find -delete, run by tests/bench/clean-bench.sh.
 *
 * More cases: add a function to the `cases` table at the bottom.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sessnap.h>
#ifdef HAVE_GLIB
#include <glib.h>
#include <glib/gstdio.h>
#endif
#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define TMPFS_MAGIC_ 0x01021994
#define NSESSIONS 64
#define MAX_RATIOS 4

static const size_t sizes[] = { 1024, 16384, 262144, 4194304 };

static struct {
	const char *dir;
	int json;
	const char *only; /* run only this case */
	double scale;	  /* multiplies iteration counts */
	long soak_s;
	const char *scan_sessions; /* arguments of scan-bench ("": its
				      default, 1,000 and 10,000 sessions of
				      16 KiB and 1,000 of 256 KiB) */
	long clean_files;
} cfg = { NULL, 0, NULL, 1.0, 0, "", 100000 };

typedef struct {
	double median, p99, max;
} stats;

typedef struct {
	const char *name;
	double value;
} ratio;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static stats summarize(double *v, size_t n)
{
	stats s;
	size_t i99;

	qsort(v, n, sizeof(*v), cmp_double);
	i99 = (size_t)((double)n * 0.99);
	if (i99 >= n)
		i99 = n - 1;
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.p99 = v[i99];
	s.max = v[n - 1];
	return s;
}

static void die(const char *what)
{
	fprintf(stderr, "sessnap-bench: %s: %s\n", what,
		errno ? strerror(errno) : sessnap_error_last());
	exit(1);
}

static void die_sn(const char *what, int rc)
{
	fprintf(stderr, "sessnap-bench: %s: %s (%s)\n", what,
		sessnap_error_last(), sessnap_error_string(rc));
	exit(1);
}

static void report(const char *name, size_t bytes, stats s, const ratio *r,
		   size_t nr)
{
	size_t i;

	if (cfg.json) {
		printf("{\"case\":\"%s\",\"bytes\":%zu,\"median_us\":%.1f,"
		       "\"p99_us\":%.1f,\"max_us\":%.1f,\"ratio\":{",
		       name, bytes, s.median, s.p99, s.max);
		for (i = 0; i < nr; i++)
			printf("%s\"%s\":%.3f", i ? "," : "", r[i].name,
			       r[i].value);
		printf("}}\n");
	} else {
		printf("%-16s %8zu %12.1f %12.1f %12.1f  ", name, bytes,
		       s.median, s.p99, s.max);
		for (i = 0; i < nr; i++)
			printf("%s%s %.2fx", i ? ", " : "", r[i].name,
			       r[i].value);
		printf("\n");
	}
	fflush(stdout);
}

/* A state whose serialization is about `bytes` long; "n" changes. */
static json_object *make_state(size_t bytes)
{
	json_object *o = json_object_new_object(), *arr;
	char chunk[128];
	size_t have = 0;
	unsigned int i = 0;

	json_object_object_add(o, "n", json_object_new_int(0));
	arr = json_object_new_array();
	json_object_object_add(o, "buffers", arr);
	while (have + 96 < bytes) {
		snprintf(chunk, sizeof(chunk),
			 "line %06u: the quick brown fox jumps over the lazy "
			 "dog, again and again",
			 i++);
		json_object_array_add(arr, json_object_new_string(chunk));
		have += strlen(chunk) + 3;
	}
	return o;
}

static void set_n(json_object *o, int n)
{
	json_object_object_add(o, "n", json_object_new_int(n));
}

static size_t iterations(size_t bytes)
{
	size_t n = bytes <= 16384 ? 300 : bytes <= 262144 ? 100 : 20;

	n = (size_t)((double)n * cfg.scale);
	return n < 5 ? 5 : n;
}

static sessnap_store *open_store(const char *sub, unsigned int interval_ms,
				 unsigned int flags)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", cfg.dir, sub);
	o.dir = path;
	o.app = "bench";
	o.durability = SESSNAP_DURABILITY_FULL;
	o.autosave_interval_ms = interval_ms;
	o.flags = flags;
	if ((rc = sessnap_store_open(&store, &o)) < 0)
		die_sn("store open", rc);
	return store;
}

/* ---- durable save latency ---------------------------------------------- */

static double time_ours(json_object *state, sessnap_session *s)
{
	double t0;
	int rc;

	if ((rc = sessnap_session_update(s, state)) < 0)
		die_sn("update", rc);
	t0 = now_us();
	if ((rc = sessnap_session_flush(s)) < 0)
		die_sn("flush", rc);
	return now_us() - t0;
}

/* The floor: the least a durable atomic replace can do. */
static double time_floor(int dfd, const char *bytes, size_t len)
{
	const char *p = bytes;
	size_t left = len;
	ssize_t w;
	double t0 = now_us();
	int fd;

	fd = openat(dfd, ".floor.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		die("floor open");
	while (left > 0) {
		if ((w = write(fd, p, left)) <= 0)
			die("floor write");
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		die("floor fsync");
	if (renameat(dfd, ".floor.tmp", dfd, "floor.snap") < 0)
		die("floor rename");
	if (fsync(dfd) < 0)
		die("floor fsync dir");
	return now_us() - t0;
}

#ifdef HAVE_GLIB
static double time_glib(const char *path, const char *bytes, size_t len)
{
	GError *err = NULL;
	double t0 = now_us();

	if (!g_file_set_contents_full(path, bytes, (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT |
					  G_FILE_SET_CONTENTS_DURABLE,
				      0600, &err)) {
		fprintf(stderr, "sessnap-bench: glib: %s\n", err->message);
		exit(1);
	}
	return now_us() - t0;
}
#endif

#ifdef HAVE_SQLITE
typedef struct {
	sqlite3 *db;
	sqlite3_stmt *put;
} sqlite_bench;

static void sqlite_open(sqlite_bench *b, const char *path)
{
	char *err = NULL;

	if (sqlite3_open(path, &b->db) != SQLITE_OK ||
	    sqlite3_exec(b->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE IF NOT EXISTS sessions (id TEXT "
			 "PRIMARY KEY, state BLOB)",
			 NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_prepare_v2(b->db,
			       "INSERT OR REPLACE INTO sessions VALUES (?, ?)",
			       -1, &b->put, NULL) != SQLITE_OK) {
		fprintf(stderr, "sessnap-bench: sqlite: %s\n",
			err ? err : sqlite3_errmsg(b->db));
		exit(1);
	}
}

static double time_sqlite(sqlite_bench *b, const char *id, const char *bytes,
			  size_t len)
{
	double t0 = now_us();

	sqlite3_bind_text(b->put, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(b->put, 2, bytes, (int)len, SQLITE_STATIC);
	if (sqlite3_step(b->put) != SQLITE_DONE) {
		fprintf(stderr, "sessnap-bench: sqlite: %s\n",
			sqlite3_errmsg(b->db));
		exit(1);
	}
	sqlite3_reset(b->put);
	return now_us() - t0;
}
#endif

/*
 * An untimed pause after every contender's save, the same for all: work
 * that a save leaves to the background must not land in the next
 * contender's time.  sessnap leaves some on purpose: its writer thread
 * frees the replaced generation after the save is durable, which on a
 * file system mounted with discard waits for the disk (about 70 us at
 * 16 KiB, 1 ms at 4 MiB here).  The pause is several times that.
 */
static void settle(size_t bytes)
{
	struct timespec ts = { 0, 1000000L + (long)(bytes / 1024) * 1000L };

	nanosleep(&ts, NULL);
}

/*
 * The contenders take turns within each iteration, so that a slow patch
 * of the disk (another tenant, writeback) hits all of them alike.
 */
static void case_save(void)
{
	size_t k, i, n, len, nr;
	sessnap_store *store = open_store("save", 3600000, 0);
	sessnap_session *s = NULL;
	char path[PATH_MAX];
	int dfd, rc;

	if ((rc = sessnap_session_begin(&s, store, NULL)) < 0)
		die_sn("begin", rc);
	dfd = open(sessnap_store_path(store), O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open store dir");
#ifdef HAVE_SQLITE
	sqlite_bench sq;

	snprintf(path, sizeof(path), "%s/sqlite.db", cfg.dir);
	sqlite_open(&sq, path);
#endif
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		json_object *state = make_state(sizes[k]);
		double *ours, *floor_v, *glib_v, *sql_v;
		const char *bytes;
		stats so, sf;
		ratio r[MAX_RATIOS];

		n = iterations(sizes[k]);
		ours = calloc(n, sizeof(double));
		floor_v = calloc(n, sizeof(double));
		glib_v = calloc(n, sizeof(double));
		sql_v = calloc(n, sizeof(double));
		if (!ours || !floor_v || !glib_v || !sql_v)
			die("calloc");
		for (i = 0; i < n; i++) {
			size_t turn;

			/* This iteration's state, the same bytes for all. */
			set_n(state, (int)i + 1);
			bytes = json_object_to_json_string_length(
			    state, JSON_C_TO_STRING_PLAIN, &len);
			/*
			 * The order rotates, so that each contender follows
			 * each other one equally often: a save pays for what
			 * the one before it left behind (dirty pages, a
			 * journal commit, SQLite's checkpoints).
			 */
			for (turn = 0; turn < 4; turn++) {
				switch ((i + turn) % 4) {
				case 0:
					ours[i] = time_ours(state, s);
					break;
				case 1:
					floor_v[i] = time_floor(dfd, bytes,
								len);
					break;
				case 2:
#ifdef HAVE_GLIB
					snprintf(path, sizeof(path),
						 "%s/glib.snap",
						 sessnap_store_path(store));
					glib_v[i] = time_glib(path, bytes, len);
#endif
					break;
				case 3:
#ifdef HAVE_SQLITE
					sql_v[i] = time_sqlite(
					    &sq, sessnap_session_id(s), bytes,
					    len);
#endif
					break;
				}
				settle(len);
			}
		}
		so = summarize(ours, n);
		sf = summarize(floor_v, n);
		nr = 0;
		r[nr].name = "floor";
		r[nr++].value = so.median / sf.median;
#ifdef HAVE_GLIB
		stats sg = summarize(glib_v, n);

		r[nr].name = "glib";
		r[nr++].value = so.median / sg.median;
#endif
#ifdef HAVE_SQLITE
		stats sq_s = summarize(sql_v, n);

		r[nr].name = "sqlite";
		r[nr++].value = so.median / sq_s.median;
#endif
		report("save/sessnap", len, so, r, nr);
		report("save/floor", len, sf, NULL, 0);
#ifdef HAVE_GLIB
		report("save/glib", len, sg, NULL, 0);
#endif
#ifdef HAVE_SQLITE
		report("save/sqlite", len, sq_s, NULL, 0);
#endif
		free(ours);
		free(floor_v);
		free(glib_v);
		free(sql_v);
		json_object_put(state);
	}
#ifdef HAVE_SQLITE
	sqlite3_finalize(sq.put);
	sqlite3_close(sq.db);
#endif
	unlinkat(dfd, "floor.snap", 0);
	unlinkat(dfd, "glib.snap", 0);
	close(dfd);
	if ((rc = sessnap_session_end(s, 0)) < 0)
		die_sn("end", rc);
	sessnap_store_close(store);
}

/* ---- app-thread cost ------------------------------------------------------
 */

static json_object *collect_state(sessnap_session *s, void *payload)
{
	(void)s;
	return json_object_get(payload);
}

/*
 * 64 sessions share one writer, with a 20 ms interval so that durable
 * saves are in flight all the time; the app thread updates them round
 * robin over about two seconds, timing each call.  Serialization alone, of the
 * same object, is timed in the same loop as the baseline.
 */
static void case_app_thread(void)
{
	sessnap_store *store = open_store("app", 20, 0);
	sessnap_session *ss[NSESSIONS];
	size_t k, i, n, len;
	int rc;

	for (i = 0; i < NSESSIONS; i++)
		if ((rc = sessnap_session_begin(&ss[i], store, NULL)) < 0)
			die_sn("begin", rc);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		json_object *state = make_state(sizes[k]);
		double *upd, *ser, *tch, t0;
		useconds_t pace_us;
		stats su, sb, st;
		ratio r[1];

		n = iterations(sizes[k]) * 4;
		if (n < 4 * NSESSIONS)
			n = 4 * NSESSIONS;
		pace_us = (useconds_t)(2e6 / (double)n);
		/*
		 * Warm up: every session's buffers exist and have been
		 * written once, as in an app that has been running; else the
		 * first update of each session measures page faults.
		 */
		for (i = 0; i < 2 * NSESSIONS; i++) {
			set_n(state, -(int)i - 1);
			if ((rc = sessnap_session_update(ss[i % NSESSIONS],
							 state)) < 0 ||
			    (i >= NSESSIONS && (rc = sessnap_session_flush(
						    ss[i % NSESSIONS])) < 0))
				die_sn("warm-up", rc);
		}
		upd = calloc(n, sizeof(double));
		ser = calloc(n, sizeof(double));
		tch = calloc(n * 16, sizeof(double));
		if (!upd || !ser || !tch)
			die("calloc");
		for (i = 0; i < n; i++) {
			set_n(state, (int)i);
			t0 = now_us();
			json_object_to_json_string_length(
			    state, JSON_C_TO_STRING_PLAIN, &len);
			ser[i] = now_us() - t0;
			set_n(state, (int)i + 1);
			t0 = now_us();
			rc = sessnap_session_update(ss[i % NSESSIONS], state);
			upd[i] = now_us() - t0;
			if (rc < 0)
				die_sn("update", rc);
			/* Spread the updates over about two seconds, so that
			 * they meet the writer in every phase of its saves. */
			if (pace_us > 0)
				usleep(pace_us);
		}
		/* Pull mode: touch, and collect when due, saves in flight. */
		for (i = 0; i < NSESSIONS; i++)
			sessnap_session_set_collect(ss[i], collect_state,
						    state);
		for (i = 0; i < n * 16; i++) {
			t0 = now_us();
			sessnap_session_touch(ss[i % NSESSIONS]);
			tch[i] = now_us() - t0;
			if (i % 256 == 255)
				sessnap_store_dispatch(store);
		}
		for (i = 0; i < NSESSIONS; i++) {
			sessnap_session_set_collect(ss[i], NULL, NULL);
			if ((rc = sessnap_session_flush(ss[i])) < 0)
				die_sn("flush", rc);
		}
		json_object_to_json_string_length(state, JSON_C_TO_STRING_PLAIN,
						  &len);
		su = summarize(upd, n);
		sb = summarize(ser, n);
		st = summarize(tch, n * 16);
		r[0].name = "serialize";
		r[0].value = su.p99 / sb.p99;
		report("update", len, su, r, 1);
		report("serialize", len, sb, NULL, 0);
		r[0].value = st.p99 / sb.p99;
		report("touch", len, st, r, 1);
		free(upd);
		free(ser);
		free(tch);
		json_object_put(state);
	}
	for (i = 0; i < NSESSIONS; i++)
		sessnap_session_end(ss[i], 0);
	sessnap_store_close(store);
}

/*
 * JSON text in: sessnap_session_update_text() against
 * sessnap_session_update() for the same state, on the app's thread.  The
 * text is what a program or a binding holds already (serialized before the
 * clock starts); the object path serializes, as it must.  The two calls
 * alternate, each on its own sessions, with saves in flight.  The target:
 * the text path costs no more than the object path (ratio <= 1).
 */
static void case_text(void)
{
	enum { NS = 8 };
	sessnap_store *store = open_store("text", 20, 0);
	sessnap_session *obj_s[NS], *txt_s[NS];
	static const size_t text_sizes[] = { 16384, 262144, 4194304 };
	size_t k, i, n, len;
	int rc;

	for (i = 0; i < NS; i++)
		if ((rc = sessnap_session_begin(&obj_s[i], store, NULL)) < 0 ||
		    (rc = sessnap_session_begin(&txt_s[i], store, NULL)) < 0)
			die_sn("begin", rc);
	for (k = 0; k < sizeof(text_sizes) / sizeof(text_sizes[0]); k++) {
		json_object *state = make_state(text_sizes[k]);
		double *upd, *txt, t0;
		stats su, stx;
		ratio r[2];
		char *text;
		const char *str;

		n = iterations(text_sizes[k]) * 4;
		str = json_object_to_json_string_length(
		    state, JSON_C_TO_STRING_PLAIN, &len);
		if ((text = malloc(len + 64)) == NULL)
			die("malloc");
		/* Warm up the buffers of every session. */
		for (i = 0; i < 2 * NS; i++) {
			set_n(state, -(int)i - 1);
			str = json_object_to_json_string_length(
			    state, JSON_C_TO_STRING_PLAIN, &len);
			if ((rc = sessnap_session_update(obj_s[i % NS],
							 state)) < 0 ||
			    (rc = sessnap_session_update_text(txt_s[i % NS],
							      str, len)) < 0 ||
			    (rc = sessnap_session_flush(obj_s[i % NS])) < 0 ||
			    (rc = sessnap_session_flush(txt_s[i % NS])) < 0)
				die_sn("warm-up", rc);
		}
		upd = calloc(n, sizeof(double));
		txt = calloc(n, sizeof(double));
		if (!upd || !txt)
			die("calloc");
		for (i = 0; i < n; i++) {
			set_n(state, (int)i);
			str = json_object_to_json_string_length(
			    state, JSON_C_TO_STRING_PLAIN, &len);
			memcpy(text, str, len);
			set_n(state, (int)i + 1);
			if (i % 2 == 0) {
				t0 = now_us();
				rc = sessnap_session_update(obj_s[i % NS],
							    state);
				upd[i] = now_us() - t0;
				if (rc == 0) {
					t0 = now_us();
					rc = sessnap_session_update_text(
					    txt_s[i % NS], text, len);
					txt[i] = now_us() - t0;
				}
			} else {
				t0 = now_us();
				rc = sessnap_session_update_text(
				    txt_s[i % NS], text, len);
				txt[i] = now_us() - t0;
				if (rc == 0) {
					t0 = now_us();
					rc = sessnap_session_update(
					    obj_s[i % NS], state);
					upd[i] = now_us() - t0;
				}
			}
			if (rc < 0)
				die_sn("update", rc);
			usleep(1000);
		}
		for (i = 0; i < NS; i++)
			if ((rc = sessnap_session_flush(obj_s[i])) < 0 ||
			    (rc = sessnap_session_flush(txt_s[i])) < 0)
				die_sn("flush", rc);
		su = summarize(upd, n);
		stx = summarize(txt, n);
		r[0].name = "median text/object";
		r[0].value = stx.median / su.median;
		r[1].name = "p99 text/object";
		r[1].value = stx.p99 / su.p99;
		report("update", len, su, NULL, 0);
		report("update_text", len, stx, r, 2);
		free(upd);
		free(txt);
		free(text);
		json_object_put(state);
	}
	for (i = 0; i < NS; i++) {
		sessnap_session_end(obj_s[i], 0);
		sessnap_session_end(txt_s[i], 0);
	}
	sessnap_store_close(store);
}

/* ---- soak -----------------------------------------------------------------
 */

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void case_soak(void)
{
	sessnap_store *store;
	sessnap_session *ss[NSESSIONS];
	json_object *state;
	double start, *samples;
	long first = -1, last = -1, peak = 0, r;
	size_t i, nsamples = 0, cap;
	int rc, n = 0;
	stats s;

	if (cfg.soak_s <= 0)
		return;
	store = open_store("soak", 100, 0);
	state = make_state(16384);
	for (i = 0; i < NSESSIONS; i++)
		if ((rc = sessnap_session_begin(&ss[i], store, NULL)) < 0)
			die_sn("begin", rc);
	cap = (size_t)cfg.soak_s + 2;
	samples = calloc(cap, sizeof(double));
	if (samples == NULL)
		die("calloc");
	start = now_us();
	while (now_us() - start < (double)cfg.soak_s * 1e6) {
		double sec = now_us();

		while (now_us() - sec < 1e6) {
			set_n(state, ++n);
			if ((rc = sessnap_session_update(ss[n % NSESSIONS],
							 state)) < 0)
				die_sn("update", rc);
			usleep(1000);
		}
		r = rss_kib();
		if (first < 0)
			first = r;
		last = r;
		if (r > peak)
			peak = r;
		if (nsamples < cap)
			samples[nsamples++] = (double)r;
	}
	for (i = 0; i < NSESSIONS; i++)
		sessnap_session_end(ss[i], 0);
	sessnap_store_close(store);
	json_object_put(state);
	s = summarize(samples, nsamples);
	if (cfg.json)
		printf("{\"case\":\"soak_rss\",\"bytes\":16384,"
		       "\"seconds\":%ld,\"updates\":%d,\"rss_first_kib\":%ld,"
		       "\"rss_median_kib\":%.0f,\"rss_last_kib\":%ld,"
		       "\"rss_peak_kib\":%ld,\"ratio\":{\"first\":%.3f}}\n",
		       cfg.soak_s, n, first, s.median, last, peak,
		       first > 0 ? (double)last / (double)first : 0);
	else
		printf("soak_rss         %8d  %lds, %d updates: RSS first %ld "
		       "KiB, median %.0f, last %ld, peak %ld (last/first "
		       "%.2fx)\n",
		       16384, cfg.soak_s, n, first, s.median, last, peak,
		       first > 0 ? (double)last / (double)first : 0);
	free(samples);
}

/* ---- patch: a one-row change, whatever the state's size -----------------
 */

/*
 * What a patch costs, against a full update of the same state, at 16 KiB,
 * 1 MiB and 16 MiB (a table of rows, "/buffers/<k>"):
 *
 *  patch/app         sessnap_session_patch() replacing one row, on the
 *                    app's thread, while the store's writer applies and
 *                    saves (durably) behind it; ratios: the full
 *                    update's median at the same size over the patch's
 *                    ("update/patch", inverted so that it prints: the
 *                    target is at least 100 at 16 MiB), and the patch's
 *                    median over its median at 16 KiB ("16KiB": the
 *                    target is the same within noise at every size);
 *  patch/update      sessnap_session_update() of the whole state, in the
 *                    same conditions: the baseline;
 *  patch/writer_cpu  the CPU time (CLOCK_THREAD_CPUTIME_ID) of one save
 *                    after one patch, apply included: a store without a
 *                    writer thread saves in flush(), on the timed thread;
 *  patch/update_cpu  the same after a full update;
 *  patch_mem         the heap the library holds for a session whose
 *                    state came by full updates only, and after its first
 *                    patch (which builds the library's copy): mallinfo2()
 *                    in-use bytes (arenas and mmap), else RSS.
 *
 * Before it reports a size, the case loads the session's saved state and
 * checks that it is byte for byte the program's own tree serialized: a
 * benchmark of a patch path that saves something else would mean nothing.
 */
static const size_t patch_sizes[] = { 16384, 1048576, 16777216 };

static double thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define HEAP_HOW "mallinfo2"
static long long heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long long)(mi.uordblks + mi.hblkhd);
}
#else
#define HEAP_HOW "rss"
static long long heap_in_use(void)
{
	return (long long)rss_kib() * 1024;
}
#endif

/* Row k of the state made by make_state(), as edit number `edit` left it. */
static json_object *edited_row(size_t k, unsigned int edit)
{
	char chunk[128];

	/* As long as make_state()'s rows: the state keeps its size. */
	snprintf(chunk, sizeof(chunk),
		 "line %06zu: edit %010u, the lazy dog jumps over the quick "
		 "fox again",
		 k, edit);
	return json_object_new_string(chunk);
}

/* Replace row k, in the library (the timed call) and in the program's own
 * tree (as a program does: it changed the row, and says so). */
static double patch_row(sessnap_session *s, json_object *state, size_t k,
			unsigned int edit)
{
	json_object *rows = json_object_object_get(state, "buffers");
	json_object *row = edited_row(k, edit);
	char path[64];
	sessnap_patch_op op;
	double t0, t;
	int rc;

	snprintf(path, sizeof(path), "/buffers/%zu", k);
	op.op = SESSNAP_PATCH_REPLACE;
	op.path = path;
	op.value = row;
	t0 = now_us();
	rc = sessnap_session_patch(s, &op, 1);
	t = now_us() - t0;
	if (rc < 0)
		die_sn("patch", rc);
	json_object_array_put_idx(rows, k, row); /* takes the reference */
	return t;
}

/* The saved state must be the program's tree, byte for byte. */
static void check_saved(sessnap_store *store, sessnap_session *s,
			json_object *state)
{
	sessnap_load_info *info = NULL;
	const char *want;
	char *got = NULL;
	size_t got_len, want_len;
	int rc;

	if ((rc = sessnap_session_flush(s)) < 0)
		die_sn("flush", rc);
	if ((rc = sessnap_store_load_text(&got, &got_len, &info, store,
					  sessnap_session_id(s))) < 0)
		die_sn("load", rc);
	want = json_object_to_json_string_length(
	    state, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &want_len);
	if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		fprintf(stderr,
			"sessnap-bench: patch: the saved state (%zu bytes) "
			"is not the program's (%zu bytes)\n",
			got_len, want_len);
		exit(1);
	}
	free(got);
	sessnap_load_info_free(info);
}

static size_t row_count(json_object *state)
{
	return json_object_array_length(
	    json_object_object_get(state, "buffers"));
}

/* App-thread cost of patch() and of update(), one size, saves in flight. */
static void patch_app(sessnap_store *store, size_t bytes, stats *sp, stats *su,
		      size_t *len_out)
{
	json_object *state = make_state(bytes);
	sessnap_session *s = NULL;
	size_t i, n, nu, rows = row_count(state);
	double *pt, *ut, t0;
	unsigned int edit = 0;
	int rc;

	n = (size_t)(400.0 * cfg.scale);
	n = n < 20 ? 20 : n;
	nu = bytes >= 16777216 ? 10 : bytes >= 1048576 ? 40 : 200;
	nu = (size_t)((double)nu * cfg.scale);
	nu = nu < 5 ? 5 : nu;
	pt = calloc(n, sizeof(double));
	ut = calloc(nu, sizeof(double));
	if (!pt || !ut)
		die("calloc");
	if ((rc = sessnap_session_begin(&s, store, NULL)) < 0)
		die_sn("begin", rc);
	/* The first full update; the first patches build the copy. */
	if ((rc = sessnap_session_update(s, state)) < 0)
		die_sn("update", rc);
	for (i = 0; i < 8; i++)
		patch_row(s, state, (i * 7919) % rows, ++edit);
	check_saved(store, s, state);
	/* Spread over about two seconds: they meet the writer in every
	 * phase of its apply-and-save. */
	for (i = 0; i < n; i++) {
		pt[i] = patch_row(s, state, (i * 7919) % rows, ++edit);
		usleep(5000);
	}
	check_saved(store, s, state);
	for (i = 0; i < nu; i++) {
		set_n(state, (int)i + 1);
		t0 = now_us();
		rc = sessnap_session_update(s, state);
		ut[i] = now_us() - t0;
		if (rc < 0)
			die_sn("update", rc);
		usleep(5000);
	}
	check_saved(store, s, state);
	json_object_to_json_string_length(state, JSON_C_TO_STRING_PLAIN,
					  len_out);
	*sp = summarize(pt, n);
	*su = summarize(ut, nu);
	free(pt);
	free(ut);
	if ((rc = sessnap_session_end(s, 0)) < 0)
		die_sn("end", rc);
	json_object_put(state);
}

/*
 * The writer's side, on a store without a writer thread: flush() applies
 * and saves on the calling thread, whose CPU time is what a save costs
 * the writer.  Then the heap the session holds, before and after the copy.
 */
static void patch_writer(sessnap_store *store, size_t bytes, stats *cp,
			 stats *cu, long long *held_full, long long *held_patch)
{
	json_object *state = make_state(bytes);
	sessnap_session *s = NULL;
	size_t i, n, len, rows = row_count(state);
	unsigned int edit = 0;
	long long h0;
	double *pc, *uc, t0;
	int rc;

	n = bytes >= 16777216 ? 10 : bytes >= 1048576 ? 30 : 100;
	n = (size_t)((double)n * cfg.scale);
	n = n < 5 ? 5 : n;
	pc = calloc(n, sizeof(double));
	uc = calloc(n, sizeof(double));
	if (!pc || !uc)
		die("calloc");
	/* The program's own serialization is cached in its tree; make it
	 * before the first measure, so that it is not counted as ours. */
	json_object_to_json_string_length(
	    state, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &len);
	if ((rc = sessnap_session_begin(&s, store, NULL)) < 0)
		die_sn("begin", rc);
	h0 = heap_in_use();
	for (i = 0; i < 2; i++)
		if ((rc = sessnap_session_update(s, state)) < 0 ||
		    (rc = sessnap_session_flush(s)) < 0)
			die_sn("update", rc);
	*held_full = heap_in_use() - h0;
	for (i = 0; i < 2; i++) {
		patch_row(s, state, i, ++edit);
		if ((rc = sessnap_session_flush(s)) < 0)
			die_sn("flush", rc);
	}
	*held_patch = heap_in_use() - h0;
	for (i = 0; i < n; i++) {
		patch_row(s, state, (i * 7919) % rows, ++edit);
		t0 = thread_cpu_us();
		rc = sessnap_session_flush(s);
		pc[i] = thread_cpu_us() - t0;
		if (rc < 0)
			die_sn("flush", rc);
		settle(bytes);
	}
	check_saved(store, s, state);
	for (i = 0; i < n; i++) {
		set_n(state, (int)i + 1);
		if ((rc = sessnap_session_update(s, state)) < 0)
			die_sn("update", rc);
		t0 = thread_cpu_us();
		rc = sessnap_session_flush(s);
		uc[i] = thread_cpu_us() - t0;
		if (rc < 0)
			die_sn("flush", rc);
		settle(bytes);
	}
	*cp = summarize(pc, n);
	*cu = summarize(uc, n);
	free(pc);
	free(uc);
	if ((rc = sessnap_session_end(s, 0)) < 0)
		die_sn("end", rc);
	json_object_put(state);
}

static void report_mem(size_t bytes, long long held_full, long long held_patch)
{
	double extra = (double)(held_patch - held_full);

	if (cfg.json)
		printf("{\"case\":\"patch_mem\",\"bytes\":%zu,\"how\":\"%s\","
		       "\"held_full_bytes\":%lld,\"held_patch_bytes\":%lld,"
		       "\"extra_bytes\":%.0f,\"ratio\":{\"state\":%.3f}}\n",
		       bytes, HEAP_HOW, held_full, held_patch, extra,
		       extra / (double)bytes);
	else
		printf("%-16s %8zu  %s: held %lld B after full updates, "
		       "%lld B after patches: extra %.0f B = %.2fx the "
		       "state\n",
		       "patch_mem", bytes, HEAP_HOW, held_full, held_patch,
		       extra, extra / (double)bytes);
	fflush(stdout);
}

static void case_patch(void)
{
	sessnap_store *store = open_store("patch", 100, 0);
	sessnap_store *nothread =
	    open_store("patch-nothread", 3600000, SESSNAP_STORE_NOTHREAD);
	stats sp[3], su[3], cp, cu;
	long long held_full, held_patch;
	size_t k, len[3];
	ratio r[2];

	for (k = 0; k < 3; k++)
		patch_app(store, patch_sizes[k], &sp[k], &su[k], &len[k]);
	for (k = 0; k < 3; k++) {
		r[0].name = "update/patch";
		r[0].value = su[k].median / sp[k].median;
		r[1].name = "16KiB";
		r[1].value = sp[k].median / sp[0].median;
		report("patch/app", len[k], sp[k], r, 2);
		report("patch/update", len[k], su[k], NULL, 0);
	}
	for (k = 0; k < 3; k++) {
		patch_writer(nothread, patch_sizes[k], &cp, &cu, &held_full,
			     &held_patch);
		r[0].name = "update_cpu";
		r[0].value = cp.median / cu.median;
		report("patch/writer_cpu", len[k], cp, r, 1);
		report("patch/update_cpu", len[k], cu, NULL, 0);
		report_mem(len[k], held_full, held_patch);
	}
	sessnap_store_close(nothread);
	sessnap_store_close(store);
}

/* ---- scan and clean: the companion programs ---------------------------- */

/*
 * The startup scan and the cleaner are measured by their own programs,
 * tests/bench/scan-bench and tests/bench/clean-bench.sh: each builds a
 * store of thousands of sessions and times whole scans or whole
 * processes, in turns, and keeps the best round.  These two cases run
 * them (their progress goes to stderr), read their result lines, and
 * report them here like every other case: median_us and p99_us are both
 * that best round, and the ratios are ours over each baseline's best.
 * The programs are found in the build tree this benchmark was built in
 * (SESSNAP_BENCH_BUILDDIR and SESSNAP_BENCH_SRCDIR override it); their
 * stores go under --dir, on the disk being measured.
 */
#ifndef BENCH_BUILDDIR
#define BENCH_BUILDDIR "."
#endif
#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "."
#endif

static const char *tree(const char *env, const char *fallback)
{
	const char *v = getenv(env);

	v = v != NULL && v[0] != '\0' ? v : fallback;
	if (strchr(v, '\'') != NULL) {
		fprintf(stderr, "sessnap-bench: %s: a quote in the path\n", v);
		exit(1);
	}
	return v;
}

static FILE *run_tool(const char *cmd)
{
	FILE *f;

	fflush(stdout);
	if ((f = popen(cmd, "r")) == NULL)
		die(cmd);
	return f;
}

static void end_tool(FILE *f, const char *what)
{
	int st = pclose(f);

	if (st != 0) {
		fprintf(stderr, "sessnap-bench: %s failed (status %d)\n", what,
			st);
		exit(1);
	}
}

static void case_scan(void)
{
	char cmd[3 * PATH_MAX], line[1024], dir[PATH_MAX];
	double ours, naive, floor_ms;
	size_t n, kib;
	ratio r[2];
	FILE *f;
	stats st;

	if (realpath(cfg.dir, dir) == NULL)
		die(cfg.dir);
	snprintf(cmd, sizeof(cmd),
		 "TMPDIR='%s' '%s/tests/bench/scan-bench' %s", dir,
		 tree("SESSNAP_BENCH_BUILDDIR", BENCH_BUILDDIR),
		 cfg.scan_sessions);
	f = run_tool(cmd);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line,
			   "%zu sessions x %zu KiB: sessnap %lf ms, naive "
			   "%lf ms, floor %lf ms",
			   &n, &kib, &ours, &naive, &floor_ms) != 5)
			continue;
		if (!cfg.json)
			printf("  scan: %s", line); /* with peak RSS */
		st.median = st.p99 = st.max = ours * 1e3;
		r[0].name = "naive";
		r[0].value = ours / naive;
		r[1].name = "floor";
		r[1].value = ours / floor_ms;
		snprintf(cmd, sizeof(cmd), "scan/%zu", n);
		report(cmd, kib * 1024, st, r, 2);
		st.median = st.p99 = st.max = naive * 1e3;
		snprintf(cmd, sizeof(cmd), "scan-naive/%zu", n);
		report(cmd, kib * 1024, st, NULL, 0);
		st.median = st.p99 = st.max = floor_ms * 1e3;
		snprintf(cmd, sizeof(cmd), "scan-floor/%zu", n);
		report(cmd, kib * 1024, st, NULL, 0);
	}
	end_tool(f, "scan-bench");
}

static void case_clean(void)
{
	char cmd[4 * PATH_MAX], line[1024], dir[PATH_MAX];
	const char *build = tree("SESSNAP_BENCH_BUILDDIR", BENCH_BUILDDIR);
	long n, ours, find_ms;
	ratio r[1];
	stats st;
	FILE *f;
	int got = 0;

	if (realpath(cfg.dir, dir) == NULL)
		die(cfg.dir);
	snprintf(cmd, sizeof(cmd),
		 "TMPDIR='%s' SNAPSHOT_CLEAN='%s/snapshot-clean' "
		 "MKSNAP='%s/tests/mksnap' sh '%s/tests/bench/clean-bench.sh' "
		 "%ld",
		 dir, build, build, tree("SESSNAP_BENCH_SRCDIR", BENCH_SRCDIR),
		 cfg.clean_files);
	f = run_tool(cmd);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "peak RSS", 8) == 0 ||
		    strncmp(line, "round ", 6) == 0) {
			if (!cfg.json)
				printf("  clean: %s", line);
			continue;
		}
		if (sscanf(line,
			   "clean %ld files (best of 3): snapshot-clean %ld "
			   "ms, find -delete %ld ms",
			   &n, &ours, &find_ms) != 3)
			continue;
		got = 1;
		st.median = st.p99 = st.max = (double)ours * 1e3;
		r[0].name = "find";
		r[0].value = find_ms > 0 ? (double)ours / (double)find_ms : 0;
		snprintf(cmd, sizeof(cmd), "clean/%ld", n);
		report(cmd, 0, st, r, 1);
		st.median = st.p99 = st.max = (double)find_ms * 1e3;
		snprintf(cmd, sizeof(cmd), "clean-find/%ld", n);
		report(cmd, 0, st, NULL, 0);
	}
	end_tool(f, "clean-bench.sh");
	if (!got) {
		fprintf(stderr, "sessnap-bench: clean-bench.sh printed no "
				"result\n");
		exit(1);
	}
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "save", case_save },
	{ "app", case_app_thread },
	{ "text", case_text },
	{ "patch", case_patch },
	{ "soak", case_soak },
	{ "scan", case_scan },
	{ "clean", case_clean },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sessnap-bench [--json] [--dir DIR] [--scale X] "
		"[--soak SECONDS] [--only CASE] [--clean-files N]\n"
		"  --dir DIR       where to write (default: a new directory "
		"under the current one)\n"
		"  --json          one JSON object per line per case\n"
		"  --scale X       multiply iteration counts by X (default 1)\n"
		"  --soak SECONDS  also measure RSS while saving for SECONDS\n"
		"  --only CASE     run one case: save, app, text, patch, soak, "
		"scan or clean\n"
		"  --clean-files N the clean case's store size (default "
		"100000)\n");
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Remove the directory this run made (never one given with --dir). */
static int rm_dir(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dir", required_argument, NULL, 'd' },
		{ "scale", required_argument, NULL, 's' },
		{ "soak", required_argument, NULL, 'S' },
		{ "only", required_argument, NULL, 'o' },
		{ "clean-files", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char tmpl[] = "sessnap-bench.XXXXXX";
	const char *errstr = NULL;
	struct statfs sfs;
	char *made = NULL;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jd:s:S:o:C:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			cfg.json = 1;
			break;
		case 'd':
			cfg.dir = optarg;
			break;
		case 's':
			cfg.scale = strtod(optarg, NULL);
			if (cfg.scale <= 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'S':
			cfg.soak_s = (long)strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL) {
				fprintf(stderr,
					"sessnap-bench: --soak %s: %s\n",
					optarg, errstr);
				return 2;
			}
			break;
		case 'o':
			cfg.only = optarg;
			break;
		case 'C':
			cfg.clean_files =
			    (long)strtonum(optarg, 10, 10000000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr,
					"sessnap-bench: --clean-files %s: %s\n",
					optarg, errstr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Real fsync: this measures the disk, not the page cache. */
	unsetenv("SESSNAP_TEST_FSYNC");
	if (cfg.dir == NULL) {
		if ((made = mkdtemp(tmpl)) == NULL)
			die("mkdtemp");
		cfg.dir = made;
	}
	if (statfs(cfg.dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_)
		fprintf(stderr,
			"sessnap-bench: warning: %s is a tmpfs: fsync "
			"is free there, the numbers say nothing about "
			"a disk\n",
			cfg.dir);
	if (!cfg.json)
		printf("%-16s %8s %12s %12s %12s  %s\n", "case", "bytes",
		       "median_us", "p99_us", "max_us", "ratio");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cfg.only == NULL || strcmp(cfg.only, cases[i].name) == 0)
			cases[i].run();
	if (made != NULL && rm_dir(made) != 0)
		fprintf(stderr, "sessnap-bench: could not remove %s\n", made);
	return 0;
}
