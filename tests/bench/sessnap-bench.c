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
 *  delta         the delta layout (SESSNAP_STORE_DELTA) against today's
 *                and SQLite: save latency, CPU, bytes written by the
 *                library and by the device, metadata left alone by
 *                appends, loading, an editor's hour; on --dir's file
 *                system and, as root, on ext4, XFS and btrfs that it makes
 *                on loop devices.  It ends with the targets of the
 *                layout and whether each holds (see case_delta).
 *
 * More cases: add a function to the `cases` table at the bottom.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/loop.h>
/* the sequence API (ZSTD_compressSequences) is zstd's experimental one,
 * and ZSTD_generateSequences deprecated from 1.5.6 (lib/deltaseq.c) */
#define ZSTD_STATIC_LINKING_ONLY
#define ZSTD_DISABLE_DEPRECATE_WARNINGS
#include <zstd.h>

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
	const char *fs_list; /* the delta case's file systems, or NULL */
} cfg = { NULL, 0, NULL, 1.0, 0, "", 100000, NULL };

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
					floor_v[i] =
					    time_floor(dfd, bytes, len);
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
				rc = sessnap_session_update_text(txt_s[i % NS],
								 text, len);
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

/* ---- the delta layout against today's and SQLite ----------------------- */

/*
 * The "delta" case measures what issue 17's targets name, on the file
 * system of --dir and, when run as root, on ext4 (with its journal), XFS
 * and btrfs that it makes itself on image files under --dir (truncate,
 * mkfs, a loop device of its own, mount; unmounted, detached and deleted
 * afterwards).  A file system it cannot make is skipped, and it says why.
 *
 * Per file system and state size (16 KiB, 256 KiB, 4 MiB), the
 * contenders save the same state in turns, in a random order, one array
 * element edited between saves (the edits accumulate, as an editor's do,
 * so that delta records grow with the edits since the base until a
 * compaction):
 *   plain    a store of today's layout, update() untimed, flush() timed;
 *   delta    the same with SESSNAP_STORE_DELTA;
 *   sqlite   the SQLite baseline above (WAL, synchronous=FULL, INSERT OR
 *            REPLACE of one row);
 *   floor    the append floor: one 4 KiB page and one 512-byte slot
 *            written in place, one fdatasync (see floor_save);
 * and, for CPU only, zstd -1 of the whole state (level 1 and the content
 * checksum, as the command does; one reused context).  For each save it
 * records the wall time, the thread's CPU time (CLOCK_THREAD_CPUTIME_ID:
 * flush() saves on the calling thread; kernel time included), the bytes
 * passed to write calls (the wchar field of /proc/self/io: nothing else in
 * the process writes meanwhile) and the device's sectors written
 * (/sys/block/<dev>/stat, field 7, times 512).  The delta layout's
 * compression alone is timed inside the zstd calls the library makes (see
 * comp_on below).
 *
 * Then, per contender alone, a device phase: syncfs, K saves, syncfs;
 * the device's bytes over the phase divided by K, so that what the
 * journal or writeback writes later is counted too.  During the delta
 * phase the snapshot's inode, size, blocks and extent map (FIEMAP) are
 * compared before and after each save: an append must change none of them
 * (a compaction replaces the file, a new inode, and is counted apart).
 * Last, loading: sessnap_store_load() and sessnap_store_load_text() of the
 * delta session against the plain one, which hold the same state, in
 * turns.
 *
 * Once, on the first file system: the editor workload, a scripted stream
 * of small edits to a 1 MiB state saved every 15 s for a simulated hour:
 * 240 saves driven by update() and flush(), so no clock is waited for;
 * total bytes passed to write calls, compactions included, plain against
 * delta (and delta with a compressed base when the library has it).
 *
 * The case ends with each target, its value in this run and whether it
 * holds ("reported" for the figures the issue asks for without a target).
 * With --json: one "delta" object per file system and size, one
 * "delta-editor" and one "delta-target" per target; -1 is a figure not
 * measured (no delta layout in the library, no device counters).
 */

#ifdef SESSNAP_STORE_DELTA
#define HAVE_DELTA 1
#else
#define HAVE_DELTA 0
#endif

/* <linux/fs.h>'s, which clashes with <sys/mount.h> in older glibc. */
#ifndef FS_IOC_FIEMAP
#define FS_IOC_FIEMAP _IOWR('f', 11, struct fiemap)
#endif

#define FS_MAX 4
#define DELTA_SIZES 3
static const size_t delta_sizes[DELTA_SIZES] = { 16384, 262144, 4194304 };
static const double delta_sqlite_target[DELTA_SIZES] = { 0.95, 0.5, 0.15 };

typedef struct {
	char name[16];		   /* "dir", "ext4", "xfs", "btrfs" */
	char what[PATH_MAX + 160]; /* for people */
	char dir[PATH_MAX];	   /* where the stores go */
	char img[PATH_MAX];	   /* the image file, when made */
	char mnt[PATH_MAX];	   /* its mount point */
	char loopdev[64];	   /* /dev/loopN */
	char devstat[PATH_MAX];	   /* a block device's stat file, or "" */
	int made;
} bench_fs;

enum { C_PLAIN, C_DELTA, C_SQLITE, C_ZSTD, C_FLOOR, NCONT };

/*
 * The append floor: the least a save by one flush can do, one 4 KiB
 * page and one 512-byte slot written into a file written in full
 * beforehand, then fdatasync.  Its descriptor, per file system.
 */
#define FLOOR_AREA (1 << 20)
static int floor_fd = -1;
static size_t floor_next;

static void floor_open(const char *dir)
{
	char path[PATH_MAX], *zero;
	size_t off;

	snprintf(path, sizeof(path), "%s/append-floor.bin", dir);
	floor_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (floor_fd < 0 || (zero = calloc(1, 65536)) == NULL)
		die(path);
	for (off = 0; off < FLOOR_AREA + 4096; off += 65536)
		if (pwrite(floor_fd, zero, 65536, (off_t)off) != 65536)
			die(path);
	free(zero);
	/* Kept under its name until the file system is done with, as a
	 * snapshot is: an unlinked file could flush differently. */
	if (fsync(floor_fd) < 0)
		die(path);
	floor_next = 0;
}

static void floor_save(void)
{
	static char page[4096], slot[512];

	page[0]++;
	slot[0]++;
	if (pwrite(floor_fd, page, sizeof(page),
		   (off_t)(4096 + floor_next * 4096)) != sizeof(page) ||
	    pwrite(floor_fd, slot, sizeof(slot), 0) != sizeof(slot) ||
	    fdatasync(floor_fd) < 0)
		die("append floor");
	floor_next = (floor_next + 1) % (FLOOR_AREA / 4096);
}

/* What one file system and size gave, for the summary of targets. */
typedef struct {
	int have;
	double wall[NCONT], cpu[NCONT], upd[2], upd99[2];
	double lib_mean[NCONT], lib_median[NCONT];
	double dev_phase[NCONT], dev_median[NCONT];
	double comp_cpu; /* the delta layout's compression alone, or -1 */
	double load[2], load_text[2], load_cpu[2], load_zstd;
	long appends, meta_changed, compactions;
	double cycle_bytes; /* per save over one compaction cycle, or -1 */
	long cycle_saves;   /* the saves of that cycle */
	double cycle_z;	    /* the same with a compressed base, or -1 */
	long cycle_z_saves; /* the saves of that one */
	double cycle_n;	    /* the same with a counter changed, or -1 */
	long cycle_n_saves; /* the saves of that one */
	double dirty;	    /* median bytes of the pages an append dirtied */
} delta_result;

static bench_fs fss[FS_MAX];
static size_t nfs;
static delta_result dres[FS_MAX][DELTA_SIZES];

static double thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Bytes this process has passed to write calls so far (wchar). */
static double proc_wchar(void)
{
	char buf[1024], *p;
	ssize_t n;
	int fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("/proc/self/io");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die("/proc/self/io: read");
	buf[n] = '\0';
	if ((p = strstr(buf, "wchar:")) == NULL)
		die("/proc/self/io: no wchar");
	return strtod(p + 6, NULL);
}

/* Bytes written to the device so far, or -1 when it is not known. */
static double dev_written(const bench_fs *f)
{
	char buf[512], *p, *end;
	double v[7];
	ssize_t n;
	int fd, i;

	if (f->devstat[0] == '\0')
		return -1;
	if ((fd = open(f->devstat, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (p = buf, i = 0; i < 7; i++, p = end) {
		v[i] = strtod(p, &end);
		if (end == p)
			return -1;
	}
	return v[6] * 512.0;
}

static void sync_fs(const bench_fs *f)
{
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		die("syncfs");
	close(fd);
}

/*
 * What an append must leave alone: the inode, the size, the blocks and the
 * extent map (logical and physical offsets, lengths and flags: an
 * unwritten extent turned written is metadata too).  Returns a hash of
 * them, 0 when the file cannot be read; sets *ino and *extents.
 */
static uint64_t file_map(const char *path, ino_t *ino, unsigned int *extents)
{
	enum { NEXT = 64 };
	union {
		struct fiemap fm;
		char raw[sizeof(struct fiemap) +
			 NEXT * sizeof(struct fiemap_extent)];
	} u;
	struct stat st;
	uint64_t h = 1469598103934665603ULL;
	unsigned int i;
	int fd;

	*ino = 0;
	*extents = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	memset(&u, 0, sizeof(u));
	u.fm.fm_length = FIEMAP_MAX_OFFSET;
	u.fm.fm_extent_count = NEXT;
	if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) < 0)
		u.fm.fm_mapped_extents = 0;
	close(fd);
	*ino = st.st_ino;
	*extents = u.fm.fm_mapped_extents;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ULL)
	MIX(st.st_ino);
	MIX(st.st_size);
	MIX(st.st_blocks);
	for (i = 0; i < u.fm.fm_mapped_extents && i < NEXT; i++) {
		MIX(u.fm.fm_extents[i].fe_logical);
		MIX(u.fm.fm_extents[i].fe_physical);
		MIX(u.fm.fm_extents[i].fe_length);
		MIX(u.fm.fm_extents[i].fe_flags);
	}
#undef MIX
	return h;
}

/* The integer after the last `key` in s[0..len), or -1. */
static long long field_of(const char *s, size_t len, const char *key)
{
	size_t kl = strlen(key), i;
	long long v = -1;

	for (i = 0; i + kl < len; i++)
		if (memcmp(s + i, key, kl) == 0)
			v = strtoll(s + i + kl, NULL, 10);
	return v;
}

static double span_pages(double from, double len)
{
	return len <= 0 ? 0 :
			  (double)((long long)((from + len - 1) / 4096) -
				   (long long)(from / 4096) + 1);
}

/*
 * The bytes of the pages the newest append dirtied in a delta file: the
 * pages its record spans and those of its slot (docs/format.md: header
 * line of H bytes, two 512-byte slots, the base of `length` bytes and a
 * newline, then the record area), or -1 when the file says otherwise.
 */
static double append_pages(const char *path)
{
	char buf[8192], *nl;
	long long blen, seq[2], at[2], rlen[2];
	double h, rec, slot, n;
	ssize_t got;
	int fd, i, w;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	got = read(fd, buf, sizeof(buf));
	close(fd);
	if (got <= 0 || (nl = memchr(buf, '\n', (size_t)got)) == NULL)
		return -1;
	h = (double)(nl - buf + 1);
	blen = field_of(buf, (size_t)(nl - buf), "\"length\":");
	if (blen < 0 || h + 1024 > (double)got)
		return -1;
	for (i = 0; i < 2; i++) {
		const char *sl = buf + (size_t)h + (size_t)i * 512;

		seq[i] = field_of(sl, 511, "\"seq\":");
		at[i] = field_of(sl, 511, "\"at\":");
		rlen[i] = field_of(sl, 511, "\"length\":");
	}
	w = seq[1] > seq[0] ? 1 : 0;
	if (seq[w] < 0 || at[w] < 0 || rlen[w] <= 0)
		return -1;
	rec = h + 1024 + (double)blen + 1 + (double)at[w];
	slot = h + 512 * w;
	n = span_pages(rec, (double)rlen[w]) + span_pages(slot, 512);
	if ((long long)(rec / 4096) == (long long)((slot + 511) / 4096))
		n--; /* one page holds both */
	return n * 4096;
}

/* Run a shell command, its output thrown away; 0 when it exited 0. */
static int run_quiet(const char *cmd)
{
	char full[4 * PATH_MAX];

	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	fflush(stdout);
	return system(full) == 0 ? 0 : -1;
}

/* Detach a loop device; a busy one goes at its last close. */
static int loop_detach(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, LOOP_CLR_FD, 0);
	close(fd);
	return rc;
}

/*
 * Unmount, detach and delete what fs_make() made.  Only system calls, so
 * that the signal handler below can call it too (`lazy`: the unmount
 * detaches the file system now, and the kernel frees it once this
 * process's descriptors on it are closed).
 */
static void fs_undo(bench_fs *f, int lazy)
{
	if (!f->made)
		return;
	f->made = 0;
	if (umount2(f->mnt, 0) == 0 ||
	    (errno == EBUSY && umount2(f->mnt, MNT_DETACH) == 0))
		rmdir(f->mnt);
	else if (!lazy)
		fprintf(stderr, "sessnap-bench: could not unmount %s: %s\n",
			f->mnt, strerror(errno));
	if (loop_detach(f->loopdev) < 0 && !lazy)
		fprintf(stderr, "sessnap-bench: could not detach %s: %s\n",
			f->loopdev, strerror(errno));
	unlink(f->img);
}

static void fs_teardown(bench_fs *f)
{
	fs_undo(f, 0);
}

/* Interrupted: leave no mount, loop device or image behind. */
static void on_signal(int sig)
{
	size_t i;

	for (i = 0; i < nfs + 1 && i < FS_MAX; i++)
		fs_undo(&fss[i], 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fs_teardown_all(void)
{
	size_t i;

	for (i = 0; i < nfs; i++)
		fs_teardown(&fss[i]);
}

/*
 * Make a file system of `type` on a 1 GiB sparse image under `base`, on a
 * loop device of its own, and mount it there.  0, or -1 after saying why
 * not (and undoing what was done).
 */
static int fs_make(bench_fs *f, const char *type, const char *mkfs_opts,
		   const char *base)
{
	char cmd[3 * PATH_MAX], line[128];
	FILE *p;
	int fd;

	memset(f, 0, sizeof(*f));
	strlcpy(f->name, type, sizeof(f->name));
	if ((size_t)snprintf(f->img, sizeof(f->img), "%s/%s.img", base, type) >=
		sizeof(f->img) ||
	    (size_t)snprintf(f->mnt, sizeof(f->mnt), "%s/mnt-%s", base, type) >=
		sizeof(f->mnt)) {
		fprintf(stderr,
			"sessnap-bench: skipping %s: %s: path too "
			"long\n",
			type, base);
		return -1;
	}
	fd = open(f->img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1L << 30) < 0) {
		fprintf(stderr, "sessnap-bench: skipping %s: %s: %s\n", type,
			f->img, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(f->img);
		}
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "mkfs.%s %s '%s'", type, mkfs_opts, f->img);
	if (run_quiet(cmd) != 0) {
		fprintf(stderr,
			"sessnap-bench: skipping %s: mkfs.%s failed "
			"(is it installed?)\n",
			type, type);
		unlink(f->img);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null",
		 f->img);
	fflush(stdout);
	line[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL ||
	    fgets(line, sizeof(line), p) == NULL ||
	    strncmp(line, "/dev/loop", 9) != 0) {
		if (p != NULL)
			pclose(p);
		fprintf(stderr,
			"sessnap-bench: skipping %s: no loop device "
			"(losetup -f failed)\n",
			type);
		unlink(f->img);
		return -1;
	}
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	strlcpy(f->loopdev, line, sizeof(f->loopdev));
	if (mkdir(f->mnt, 0700) < 0) {
		fprintf(stderr, "sessnap-bench: skipping %s: %s: %s\n", type,
			f->mnt, strerror(errno));
	} else {
		if (mount(f->loopdev, f->mnt, type, 0, NULL) == 0) {
			f->made = 1;
			strlcpy(f->dir, f->mnt, sizeof(f->dir));
			snprintf(f->devstat, sizeof(f->devstat),
				 "/sys/block/%s/stat", line + 5);
			snprintf(f->what, sizeof(f->what),
				 "%s, made on %s (a 1 GiB image, mkfs.%s %s)",
				 type, line, type, mkfs_opts);
			return 0;
		}
		fprintf(stderr, "sessnap-bench: skipping %s: mount of %s: %s\n",
			type, f->loopdev, strerror(errno));
		rmdir(f->mnt);
	}
	loop_detach(f->loopdev);
	unlink(f->img);
	return -1;
}

/* --dir's own file system, and the device under it when there is one. */
static void fs_here(bench_fs *f)
{
	struct statfs sfs;
	struct stat st;
	char path[PATH_MAX], dir[PATH_MAX];

	memset(f, 0, sizeof(*f));
	strlcpy(f->name, "dir", sizeof(f->name));
	if (realpath(cfg.dir, dir) == NULL)
		die(cfg.dir);
	strlcpy(f->dir, dir, sizeof(f->dir));
	if (stat(dir, &st) < 0)
		die(dir);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
		 major(st.st_dev), minor(st.st_dev));
	if (access(path, R_OK) == 0)
		strlcpy(f->devstat, path, sizeof(f->devstat));
	snprintf(f->what, sizeof(f->what),
		 "the file system of %s (statfs type 0x%lx, device %u:%u%s)",
		 dir, statfs(dir, &sfs) == 0 ? (unsigned long)sfs.f_type : 0UL,
		 major(st.st_dev), minor(st.st_dev),
		 path[0] && f->devstat[0] ?
		     "; its counters count every writer of the device" :
		     "; no device counters");
}

/* xorshift64: the same sequence in every run. */
static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t text_seed = 0x9e3779b97f4a7c15ULL;

/*
 * A line of text such as an editor holds: 3 to 12 words of a small
 * vocabulary and a number.  The other cases' state (make_state) repeats
 * one sentence, which zstd -1 compresses 70-fold at 2 GB/s; text like
 * this compresses about 2.5-fold, as prose and code do, so that the
 * compression baseline and the records are what a real state gives.
 */
static void text_line(char *out, size_t cap)
{
	static const char *const words[] = {
		"the",	   "of",      "and",	 "to",	   "in",     "is",
		"that",	   "for",     "it",	 "as",	   "with",   "was",
		"on",	   "be",      "at",	 "by",	   "this",   "had",
		"not",	   "are",     "but",	 "from",   "or",     "have",
		"an",	   "they",    "which",	 "one",	   "you",    "were",
		"all",	   "there",   "would",	 "their",  "we",     "been",
		"has",	   "when",    "who",	 "will",   "more",   "no",
		"if",	   "out",     "so",	 "said",   "what",   "up",
		"its",	   "about",   "into",	 "than",   "them",   "can",
		"only",	   "other",   "new",	 "some",   "could",  "time",
		"these",   "two",     "may",	 "then",   "do",     "first",
		"any",	   "now",     "such",	 "like",   "over",   "even",
		"most",	   "made",    "after",	 "also",   "did",    "many",
		"before",  "must",    "through", "back",   "years",  "where",
		"much",	   "your",    "way",	 "well",   "down",   "should",
		"because", "each",    "just",	 "those",  "people", "static",
		"int",	   "return",  "char",	 "size_t", "const",  "struct",
		"buffer",  "session", "state",	 "save",   "file",   "write",
		"read",	   "error",   "value",	 "count",  "index",  "line",
		"window",  "cursor",  "edit",	 "undo",   "redo",   "json",
		"object",  "array",   "string",	 "number", "true",   "false",
		"null"
	};
	size_t nw = sizeof(words) / sizeof(words[0]), have = 0, i, k;

	k = 3 + (size_t)(xorshift(&text_seed) % 10);
	out[0] = '\0';
	for (i = 0; i < k && have + 16 < cap; i++) {
		have = strlcat(out, words[xorshift(&text_seed) % nw], cap);
		have = strlcat(out, " ", cap);
	}
	snprintf(out + have, cap - have, "%u",
		 (unsigned int)(xorshift(&text_seed) % 100000));
}

/* A state of about `bytes` of such lines; "n" as in make_state. */
static json_object *make_text_state(size_t bytes)
{
	json_object *o = json_object_new_object(), *arr;
	char line[160];
	size_t have = 0;

	text_seed = 0x9e3779b97f4a7c15ULL;
	json_object_object_add(o, "n", json_object_new_int(0));
	arr = json_object_new_array();
	json_object_object_add(o, "buffers", arr);
	while (have + 96 < bytes) {
		text_line(line, sizeof(line));
		json_object_array_add(arr, json_object_new_string(line));
		have += strlen(line) + 3;
	}
	return o;
}

/* One small edit: line j rewritten with new words, j moving with i. */
static void edit_one(json_object *state, size_t i)
{
	json_object *arr;
	char line[160];
	size_t nl, j;

	if (!json_object_object_get_ex(state, "buffers", &arr) ||
	    (nl = json_object_array_length(arr)) == 0)
		return;
	j = (i * 7919u) % nl;
	text_line(line, sizeof(line));
	json_object_array_put_idx(arr, j, json_object_new_string(line));
}

static ZSTD_CCtx *zcctx;
static void *zbuf;
static size_t zbuf_len;

/*
 * The CPU baseline: what `zstd -1` does to the whole state, minus the
 * I/O: level 1 with the content checksum (the command's default, and the
 * records carry one too), one context reused.
 */
static void zstd1(const char *bytes, size_t len)
{
	size_t need = ZSTD_compressBound(len), r;

	if (zcctx == NULL && ((zcctx = ZSTD_createCCtx()) == NULL ||
			      ZSTD_isError(ZSTD_CCtx_setParameter(
				  zcctx, ZSTD_c_compressionLevel, 1)) ||
			      ZSTD_isError(ZSTD_CCtx_setParameter(
				  zcctx, ZSTD_c_checksumFlag, 1))))
		die("ZSTD_createCCtx");
	if (need > zbuf_len) {
		free(zbuf);
		if ((zbuf = malloc(need)) == NULL)
			die("malloc");
		zbuf_len = need;
	}
	r = ZSTD_compress2(zcctx, zbuf, zbuf_len, bytes, len);
	if (ZSTD_isError(r)) {
		fprintf(stderr, "sessnap-bench: zstd: %s\n",
			ZSTD_getErrorName(r));
		exit(1);
	}
}

/*
 * The delta layout's compression alone, as the library does it: this
 * program defines the zstd calls that compress a record, so the dynamic
 * linker binds the library's calls to these (an executable's definitions
 * come first); each forwards to libzstd's own and, while `comp_on` is set,
 * adds its thread CPU time to comp_cpu_us.  `comp_depth` keeps a call
 * that libzstd makes to another of them from being counted twice.
 */
static int comp_on, comp_depth;
static double comp_cpu_us;
static long comp_calls;

static void *next_sym(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		fprintf(stderr, "sessnap-bench: dlsym %s: %s\n", name,
			dlerror());
		exit(1);
	}
	return f;
}

#define COMP_WRAP(call)                                                        \
	do {                                                                   \
		double t0_ = 0;                                                \
		int top_ = comp_on && comp_depth++ == 0;                       \
		if (top_)                                                      \
			t0_ = thread_cpu_us();                                 \
		r = call;                                                      \
		if (top_) {                                                    \
			comp_cpu_us += thread_cpu_us() - t0_;                  \
			comp_calls++;                                          \
		}                                                              \
		if (comp_on)                                                   \
			comp_depth--;                                          \
	} while (0)

size_t ZSTD_compress2(ZSTD_CCtx *cctx, void *dst, size_t cap, const void *src,
		      size_t len)
{
	static size_t (*real)(ZSTD_CCtx *, void *, size_t, const void *,
			      size_t);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_compress2");
	COMP_WRAP(real(cctx, dst, cap, src, len));
	return r;
}

size_t ZSTD_compress_usingCDict(ZSTD_CCtx *cctx, void *dst, size_t cap,
				const void *src, size_t len,
				const ZSTD_CDict *cdict)
{
	static size_t (*real)(ZSTD_CCtx *, void *, size_t, const void *, size_t,
			      const ZSTD_CDict *);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_compress_usingCDict");
	COMP_WRAP(real(cctx, dst, cap, src, len, cdict));
	return r;
}

size_t ZSTD_compressStream2(ZSTD_CCtx *cctx, ZSTD_outBuffer *out,
			    ZSTD_inBuffer *in, ZSTD_EndDirective end)
{
	static size_t (*real)(ZSTD_CCtx *, ZSTD_outBuffer *, ZSTD_inBuffer *,
			      ZSTD_EndDirective);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_compressStream2");
	COMP_WRAP(real(cctx, out, in, end));
	return r;
}

size_t ZSTD_compressSequences(ZSTD_CCtx *cctx, void *dst, size_t cap,
			      const ZSTD_Sequence *seqs, size_t nseqs,
			      const void *src, size_t len)
{
	static size_t (*real)(ZSTD_CCtx *, void *, size_t,
			      const ZSTD_Sequence *, size_t, const void *,
			      size_t);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_compressSequences");
	COMP_WRAP(real(cctx, dst, cap, seqs, nseqs, src, len));
	return r;
}

#if HAVE_DECL_ZSTD_GENERATESEQUENCES
size_t ZSTD_generateSequences(ZSTD_CCtx *cctx, ZSTD_Sequence *seqs,
			      size_t cap, const void *src, size_t len)
{
	static size_t (*real)(ZSTD_CCtx *, ZSTD_Sequence *, size_t,
			      const void *, size_t);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_generateSequences");
	COMP_WRAP(real(cctx, seqs, cap, src, len));
	return r;
}
#endif

/*
 * The same for loading: the CPU time spent in libzstd's decompression and
 * context calls while `dec_on` is set, so that a delta load's extra cost
 * splits into zstd's share and the rest.
 */
static int dec_on, dec_depth;
static double dec_cpu_us;

#define DEC_WRAP(call)                                                         \
	do {                                                                   \
		double t0_ = 0;                                                \
		int top_ = dec_on && dec_depth++ == 0;                         \
		if (top_)                                                      \
			t0_ = thread_cpu_us();                                 \
		call;                                                          \
		if (top_)                                                      \
			dec_cpu_us += thread_cpu_us() - t0_;                   \
		if (dec_on)                                                    \
			dec_depth--;                                           \
	} while (0)

ZSTD_DCtx *ZSTD_createDCtx(void)
{
	static ZSTD_DCtx *(*real)(void);
	ZSTD_DCtx *r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_createDCtx");
	DEC_WRAP(r = real());
	return r;
}

size_t ZSTD_freeDCtx(ZSTD_DCtx *dctx)
{
	static size_t (*real)(ZSTD_DCtx *);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_freeDCtx");
	DEC_WRAP(r = real(dctx));
	return r;
}

size_t ZSTD_decompressDCtx(ZSTD_DCtx *dctx, void *dst, size_t cap,
			   const void *src, size_t len)
{
	static size_t (*real)(ZSTD_DCtx *, void *, size_t, const void *,
			      size_t);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_decompressDCtx");
	DEC_WRAP(r = real(dctx, dst, cap, src, len));
	return r;
}

size_t ZSTD_decompress_usingDict(ZSTD_DCtx *dctx, void *dst, size_t cap,
				 const void *src, size_t len, const void *dict,
				 size_t dict_len)
{
	static size_t (*real)(ZSTD_DCtx *, void *, size_t, const void *, size_t,
			      const void *, size_t);
	size_t r;

	if (real == NULL)
		*(void **)&real = next_sym("ZSTD_decompress_usingDict");
	DEC_WRAP(r = real(dctx, dst, cap, src, len, dict, dict_len));
	return r;
}

typedef struct {
	double wall, cpu, lib, dev;
} save_cost;

static sessnap_store *open_store_in(const char *dir, const char *sub,
				    unsigned int flags)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	o.dir = path;
	o.app = "bench";
	o.durability = SESSNAP_DURABILITY_FULL;
	o.autosave_interval_ms = 3600000;
	o.flags = flags;
	if ((rc = sessnap_store_open(&store, &o)) < 0)
		die_sn("store open", rc);
	return store;
}

static void snap_path(char *out, size_t cap, sessnap_store *store,
		      sessnap_session *s)
{
	snprintf(out, cap, "%s/%s.snap", sessnap_store_path(store),
		 sessnap_session_id(s));
}

/*
 * One durable save by contender `c` of `state` (already edited; `bytes`
 * is its text), its costs in *out and the app thread's update() in *upd.
 */
static void save_one(save_cost *out, int c, const bench_fs *f,
		     sessnap_session *s, json_object *state, const char *bytes,
		     size_t len, void *sq, const char *sq_id, double *upd)
{
	double w0, c0, l0, d0, t0;
	int rc;

	if (c == C_PLAIN || c == C_DELTA) {
		t0 = now_us();
		if ((rc = sessnap_session_update(s, state)) < 0)
			die_sn("update", rc);
		*upd = now_us() - t0;
	}
	d0 = dev_written(f);
	l0 = proc_wchar();
	c0 = thread_cpu_us();
	w0 = now_us();
	switch (c) {
	case C_PLAIN:
	case C_DELTA:
		comp_on = c == C_DELTA;
		if ((rc = sessnap_session_flush(s)) < 0)
			die_sn("flush", rc);
		comp_on = 0;
		break;
	case C_FLOOR:
		floor_save();
		break;
	case C_SQLITE:
#ifdef HAVE_SQLITE
		time_sqlite(sq, sq_id, bytes, len);
#else
		(void)sq;
		(void)sq_id;
#endif
		break;
	default:
		zstd1(bytes, len);
		break;
	}
	out->wall = now_us() - w0;
	out->cpu = thread_cpu_us() - c0;
	out->lib = proc_wchar() - l0;
	out->dev = d0 < 0 ? -1 : dev_written(f) - d0;
}

/* The same sequence of orders in every run. */
static uint64_t next_rand(void)
{
	static uint64_t x = 88172645463325252ULL;

	return xorshift(&x);
}

static double median_of(double *v, size_t n)
{
	return n == 0 ? -1 : summarize(v, n).median;
}

static double mean_of(const double *v, size_t n)
{
	double t = 0;
	size_t i;

	for (i = 0; i < n; i++)
		t += v[i];
	return n == 0 ? -1 : t / (double)n;
}

static size_t delta_iterations(size_t bytes)
{
	size_t n = bytes <= 16384 ? 200 : bytes <= 262144 ? 100 : 30;

	n = (size_t)((double)n * cfg.scale);
	return n < 5 ? 5 : n;
}

static void fmt_bytes(char *out, size_t cap, double v)
{
	if (v < 0)
		strlcpy(out, "-", cap);
	else if (v >= 1048576.0 * 10)
		snprintf(out, cap, "%.1f MiB", v / 1048576.0);
	else if (v >= 10240.0)
		snprintf(out, cap, "%.1f KiB", v / 1024.0);
	else
		snprintf(out, cap, "%.0f B", v);
}

/* A figure for people: "-" when not measured (negative). */
static const char *num(double v, int prec)
{
	static char bufs[16][32];
	static unsigned int next;
	char *b = bufs[next++ % 16];

	if (v < 0)
		strlcpy(b, "-", sizeof(bufs[0]));
	else
		snprintf(b, sizeof(bufs[0]), "%.*f", prec, v);
	return b;
}

static double ratio_of(double a, double b)
{
	return a < 0 || b <= 0 ? -1 : a / b;
}

/*
 * The bytes of a whole compaction cycle: saves of the delta session alone
 * (the same edits) until a compaction, then on to the next one; the bytes
 * passed to write calls from the first compaction up to the next,
 * divided by the saves in between, are what a save costs in the long run,
 * its share of the compaction included.  A window of the timed saves
 * holds one compaction or none, and over- or undercounts it.  Run once,
 * on the first file system (the bytes do not depend on it), at 16 and
 * 256 KiB (at 4 MiB a cycle is 1,000 appends of 4 MiB serialized states).
 */
/*
 * What encoding a record can cost: the delta save's CPU above the append
 * floor's (the same writes and flush without a library), which holds the
 * identical-state hash, the comparison of the kept matches (deltaseq.c),
 * zstd's calls and the bookkeeping.  It bounds the compression's CPU from
 * above without reaching into the library, whose own comparisons the
 * zstd wrappers cannot see.
 */
static double enc_cpu(const delta_result *r)
{
	if (r->cpu[C_DELTA] < 0 || r->cpu[C_FLOOR] < 0)
		return -1;
	return r->cpu[C_DELTA] > r->cpu[C_FLOOR] ?
		       r->cpu[C_DELTA] - r->cpu[C_FLOOR] :
		       0;
}

/*
 * The bytes per save over one whole compaction cycle (from the first
 * compaction seen to the next, that one included), with a line rewritten
 * with new words at every save, or (counter) only the state's "n" counted
 * up: the "one value changed" without new content.
 */
static void delta_cycle(delta_result *r, sessnap_session *s, json_object *state,
			const char *path, size_t *edit, int counter)
{
	ino_t ino0, ino;
	unsigned int ext;
	double l0, total = 0;
	long saves = 0, seen = 0, i;
	int rc;

	file_map(path, &ino0, &ext);
	for (i = 0; i < 3000 && seen < 2; i++) {
		if (counter)
			set_n(state, (int)(*edit)++);
		else
			edit_one(state, (*edit)++);
		if ((rc = sessnap_session_update(s, state)) < 0)
			die_sn("update", rc);
		l0 = proc_wchar();
		if ((rc = sessnap_session_flush(s)) < 0)
			die_sn("flush", rc);
		l0 = proc_wchar() - l0;
		file_map(path, &ino, &ext);
		if (ino != ino0)
			seen++;
		ino0 = ino;
		if (seen == 1) {
			total += l0;
			saves++;
		}
	}
	if (seen == 2) {
		r->cycle_bytes = total / (double)saves;
		r->cycle_saves = saves;
	}
}

/*
 * The same cycle with a compressed base (SESSNAP_STORE_COMPRESS_BASE),
 * in a store of its own, on a copy of the state and the same edits.
 */
static void delta_cycle_z(delta_result *r, const char *dir, json_object *state,
			  size_t edit)
{
#if HAVE_DELTA
	sessnap_store *sz = open_store_in(
	    dir, "delta-z", SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE);
	sessnap_session *s = NULL;
	json_object *copy = NULL;
	delta_result rz;
	char path[PATH_MAX];
	int rc;

	if (json_object_deep_copy(state, &copy, NULL) < 0)
		die("copy of the state");
	if ((rc = sessnap_session_begin(&s, sz, NULL)) < 0 ||
	    (rc = sessnap_session_update(s, copy)) < 0 ||
	    (rc = sessnap_session_flush(s)) < 0)
		die_sn("compressed base", rc);
	snap_path(path, sizeof(path), sz, s);
	rz.cycle_bytes = -1;
	rz.cycle_saves = 0;
	delta_cycle(&rz, s, copy, path, &edit, 0);
	r->cycle_z = rz.cycle_bytes;
	r->cycle_z_saves = rz.cycle_saves;
	sessnap_session_end(s, 0);
	sessnap_store_close(sz);
	json_object_put(copy);
#else
	(void)r, (void)dir, (void)state, (void)edit;
#endif
}

static void delta_size(size_t fi, size_t k, sessnap_store *sp,
		       sessnap_store *sd, void *sq)
{
	bench_fs *f = &fss[fi];
	delta_result *r = &dres[fi][k];
	size_t bytes = delta_sizes[k], n = delta_iterations(bytes), i, j, m;
	size_t nphase = (size_t)((bytes <= 262144 ? 32 : 12) * cfg.scale);
	size_t nload = (size_t)((bytes <= 262144 ? 40 : 10) * cfg.scale);
	sessnap_session *s[2] = { NULL, NULL };
	json_object *state = make_text_state(bytes);
	double *v[NCONT][4], *upd[2], *comp, *ld[2], *ldt[2], *pdev, *lc[2];
	double *lz, *dirty;
	size_t ndirty = 0;
	char path[PATH_MAX], id[32], b1[32], b2[32], b3[32], b4[32];
	const char *txt;
	size_t len = 0, edit = 0, c, q;
	ino_t ino, ino0 = 0;
	unsigned int ext = 0;
	uint64_t h0, h1;
	save_cost sc;
	double u, d0, d1;
	int rc;

	if (nphase < 4)
		nphase = 4;
	if (nload < 4)
		nload = 4;
	memset(r, 0, sizeof(*r));
	r->have = 1;
	snprintf(id, sizeof(id), "delta-%zu", bytes);
	if ((rc = sessnap_session_begin(&s[0], sp, NULL)) < 0 ||
	    (sd != NULL && (rc = sessnap_session_begin(&s[1], sd, NULL)) < 0))
		die_sn("begin", rc);
	for (c = 0; c < NCONT; c++)
		for (q = 0; q < 4; q++)
			if ((v[c][q] = calloc(n + nphase, sizeof(double))) ==
			    NULL)
				die("calloc");
	upd[0] = calloc(n, sizeof(double));
	upd[1] = calloc(n, sizeof(double));
	comp = calloc(n, sizeof(double));
	pdev = calloc(nphase, sizeof(double));
	ld[0] = calloc(nload, sizeof(double));
	ld[1] = calloc(nload, sizeof(double));
	ldt[0] = calloc(nload, sizeof(double));
	ldt[1] = calloc(nload, sizeof(double));
	lc[0] = calloc(nload, sizeof(double));
	lc[1] = calloc(nload, sizeof(double));
	lz = calloc(nload, sizeof(double));
	dirty = calloc(nphase, sizeof(double));
	if (!upd[0] || !upd[1] || !comp || !pdev || !ld[0] || !ld[1] ||
	    !ldt[0] || !ldt[1] || !lc[0] || !lc[1] || !lz || !dirty)
		die("calloc");
	/* Warm-up: the files, the row and the base exist. */
	for (i = 0; i < 3; i++) {
		edit_one(state, edit++);
		txt = json_object_to_json_string_length(
		    state, JSON_C_TO_STRING_PLAIN, &len);
		for (c = 0; c < NCONT; c++)
			if (c != C_DELTA || sd != NULL)
				save_one(&sc, (int)c, f, s[c == C_DELTA], state,
					 txt, len, sq, id, &u);
	}
	if (sd != NULL) {
		snap_path(path, sizeof(path), sd, s[1]);
		file_map(path, &ino0, &ext);
	}
	/*
	 * Timed: the contenders in turns, in a new random order every
	 * iteration, so that each follows each other one equally often (a
	 * save pays for what the one before it left behind).
	 */
	for (i = 0; i < n; i++) {
		size_t order[NCONT];

		edit_one(state, edit++);
		txt = json_object_to_json_string_length(
		    state, JSON_C_TO_STRING_PLAIN, &len);
		for (q = 0; q < NCONT; q++)
			order[q] = q;
		for (q = NCONT - 1; q > 0; q--) {
			size_t x = (size_t)(next_rand() % (q + 1)),
			       y = order[q];

			order[q] = order[x];
			order[x] = y;
		}
		for (q = 0; q < NCONT; q++) {
			c = order[q];
			if (c == C_DELTA && sd == NULL)
				continue;
#ifndef HAVE_SQLITE
			if (c == C_SQLITE)
				continue;
#endif
			comp_cpu_us = 0;
			save_one(&sc, (int)c, f, s[c == C_DELTA], state, txt,
				 len, sq, id, &u);
			v[c][0][i] = sc.wall;
			v[c][1][i] = sc.cpu;
			v[c][2][i] = sc.lib;
			v[c][3][i] = sc.dev;
			if (c == C_PLAIN || c == C_DELTA)
				upd[c == C_DELTA][i] = u;
			if (c == C_DELTA) {
				comp[i] = comp_cpu_us;
				file_map(path, &ino, &ext);
				if (ino != ino0)
					r->compactions++;
				ino0 = ino;
			}
			if (c != C_ZSTD)
				settle(len);
		}
	}
	for (c = 0; c < NCONT; c++) {
		r->lib_mean[c] = mean_of(v[c][2], n);
		r->wall[c] = median_of(v[c][0], n);
		r->cpu[c] = median_of(v[c][1], n);
		r->lib_median[c] = median_of(v[c][2], n);
		r->dev_median[c] = v[c][3][0] < 0 ? -1 : median_of(v[c][3], n);
		r->dev_phase[c] = -1;
	}
	r->comp_cpu = comp_calls > 0 ? median_of(comp, n) : -1;
	for (j = 0; j < 2; j++) {
		stats st = summarize(upd[j], n);

		r->upd[j] = st.median;
		r->upd99[j] = st.p99;
	}
	if (sd == NULL)
		for (c = 0; c < NCONT; c++)
			if (c == C_DELTA)
				r->wall[c] = r->cpu[c] = r->lib_mean[c] =
				    r->lib_median[c] = r->dev_median[c] =
					r->upd[1] = r->upd99[1] = -1;
	/*
	 * Device phases, one contender at a time between two syncfs, so
	 * that what a save leaves to the journal or to writeback is counted.
	 * The delta one also checks that appends change no metadata.
	 */
	for (c = 0; c < C_ZSTD; c++) {
		if (c == C_DELTA && sd == NULL)
			continue;
#ifndef HAVE_SQLITE
		if (c == C_SQLITE)
			continue;
#endif
		sync_fs(f);
		d0 = dev_written(f);
		for (m = 0; m < nphase; m++) {
			edit_one(state, edit++);
			txt = json_object_to_json_string_length(
			    state, JSON_C_TO_STRING_PLAIN, &len);
			h0 = c == C_DELTA ? file_map(path, &ino0, &ext) : 0;
			save_one(&sc, (int)c, f, s[c == C_DELTA], state, txt,
				 len, sq, id, &u);
			pdev[m] = sc.dev;
			if (c == C_DELTA) {
				h1 = file_map(path, &ino, &ext);
				if (ino != ino0)
					r->compactions++;
				else if (h1 != h0 || h1 == 0)
					r->meta_changed++;
				else
					r->appends++;
				if (ino == ino0 &&
				    (dirty[ndirty] = append_pages(path)) >= 0)
					ndirty++;
			}
		}
		sync_fs(f);
		d1 = dev_written(f);
		r->dev_phase[c] =
		    d0 < 0 || d1 < 0 ? -1 : (d1 - d0) / (double)nphase;
		if (d0 >= 0)
			r->dev_median[c] = median_of(pdev, nphase);
	}
	r->dirty = ndirty > 0 ? median_of(dirty, ndirty) : -1;
	r->cycle_bytes = -1;
	r->cycle_saves = 0;
	r->cycle_z = -1;
	r->cycle_z_saves = 0;
	r->cycle_n = -1;
	r->cycle_n_saves = 0;
	if (sd != NULL && fi == 0 && k < 2) {
		delta_cycle_z(r, f->dir, state, edit);
		delta_cycle(r, s[1], state, path, &edit, 0);
	}
	if (sd != NULL && fi == 0 && k == 1) {
		delta_result rn = *r;

		/* a cycle of the backstop's 1,000 appends: 256 KiB only */
		delta_cycle(&rn, s[1], state, path, &edit, 1);
		r->cycle_n = rn.cycle_bytes;
		r->cycle_n_saves = rn.cycle_saves;
	}
	/*
	 * The same state in both sessions again (the phases and the cycle
	 * edited it): after the cycle's last compaction this save appends a
	 * record, so the delta load below decodes one, as a session's loads
	 * do between compactions.  One edit first: the cycle ends on a
	 * compaction of this very state, which would be skipped as unchanged.
	 */
	edit_one(state, edit++);
	for (c = 0; c < 2; c++)
		if (s[c] != NULL &&
		    ((rc = sessnap_session_update(s[c], state)) < 0 ||
		     (rc = sessnap_session_flush(s[c])) < 0))
			die_sn("save", rc);
	free(dirty);
	if (sd != NULL)
		file_map(path, &ino, &ext);
	/* Loading the two sessions, which hold the same state, in turns. */
	for (i = 0; i < nload; i++) {
		for (q = 0; q < 2; q++) {
			json_object *o = NULL;
			char *t = NULL;
			size_t tl;
			double t0, c0;

			c = (i + q) % 2;
			if (c == 1 && sd == NULL)
				continue;
			t0 = now_us();
			if ((rc = sessnap_store_load(
				 &o, NULL, c ? sd : sp,
				 sessnap_session_id(s[c]))) < 0)
				die_sn("load", rc);
			ld[c][i] = now_us() - t0;
			json_object_put(o);
			t0 = now_us();
			c0 = thread_cpu_us();
			dec_cpu_us = 0;
			dec_on = 1;
			rc = sessnap_store_load_text(&t, &tl, NULL, c ? sd : sp,
						     sessnap_session_id(s[c]));
			dec_on = 0;
			lc[c][i] = thread_cpu_us() - c0;
			ldt[c][i] = now_us() - t0;
			if (rc < 0)
				die_sn("load_text", rc);
			if (c == 1)
				lz[i] = dec_cpu_us;
			free(t);
		}
	}
	for (j = 0; j < 2; j++) {
		r->load[j] =
		    j == 1 && sd == NULL ? -1 : median_of(ld[j], nload);
		r->load_text[j] =
		    j == 1 && sd == NULL ? -1 : median_of(ldt[j], nload);
		r->load_cpu[j] =
		    j == 1 && sd == NULL ? -1 : median_of(lc[j], nload);
	}
	r->load_zstd = sd == NULL ? -1 : median_of(lz, nload);
	if ((rc = sessnap_session_end(s[0], 0)) < 0 ||
	    (s[1] != NULL && (rc = sessnap_session_end(s[1], 0)) < 0))
		die_sn("end", rc);

	if (cfg.json) {
		printf("{\"case\":\"delta\",\"fs\":\"%s\",\"bytes\":%zu,"
		       "\"saves\":%zu,\"median_us\":{\"plain\":%.1f,"
		       "\"delta\":%.1f,\"sqlite\":%.1f,\"floor\":%.1f},"
		       "\"cpu_us\":{"
		       "\"plain\":%.1f,\"delta\":%.1f,\"delta_compress\":%.1f,"
		       "\"sqlite\":%.1f,\"zstd1\":%.1f,\"floor\":%.1f},",
		       f->name, len, n, r->wall[0], r->wall[1], r->wall[2],
		       r->wall[C_FLOOR], r->cpu[0], r->cpu[1], r->comp_cpu,
		       r->cpu[2], r->cpu[3], r->cpu[C_FLOOR]);
		printf("\"lib_bytes\":{\"plain_mean\":%.0f,\"delta_mean\":%.0f,"
		       "\"delta_median\":%.0f,\"sqlite_mean\":%.0f,"
		       "\"delta_cycle\":%.0f,\"cycle_saves\":%ld,"
		       "\"delta_cycle_z\":%.0f,\"cycle_z_saves\":%ld,"
		       "\"delta_cycle_n\":%.0f,\"cycle_n_saves\":%ld},"
		       "\"dev_bytes\":{\"plain\":%.0f,\"delta\":%.0f,"
		       "\"sqlite\":%.0f,\"delta_median\":%.0f},",
		       r->lib_mean[0], r->lib_mean[1], r->lib_median[1],
		       r->lib_mean[2], r->cycle_bytes, r->cycle_saves,
		       r->cycle_z, r->cycle_z_saves, r->cycle_n,
		       r->cycle_n_saves, r->dev_phase[0],
		       r->dev_phase[1], r->dev_phase[2], r->dev_median[1]);
		printf("\"appends\":%ld,\"appends_meta_changed\":%ld,"
		       "\"compactions\":%ld,\"extents\":%u,"
		       "\"append_dirty_bytes\":%.0f,\"floor_dev_bytes\":%.0f,"
		       "\"update_us\":{\"plain\":%.1f,\"delta\":%.1f,"
		       "\"plain_p99\":%.1f,\"delta_p99\":%.1f},"
		       "\"load_us\":{\"plain\":%.1f,\"delta\":%.1f,"
		       "\"plain_text\":%.1f,\"delta_text\":%.1f,"
		       "\"plain_text_cpu\":%.1f,\"delta_text_cpu\":%.1f,"
		       "\"delta_text_zstd_cpu\":%.1f},"
		       "\"ratio\":{\"delta/sqlite\":%.3f,\"plain/sqlite\":%.3f,"
		       "\"lib delta/plain\":%.5f}}\n",
		       r->appends, r->meta_changed, r->compactions, ext,
		       r->dirty, r->dev_median[C_FLOOR], r->upd[0], r->upd[1],
		       r->upd99[0], r->upd99[1], r->load[0], r->load[1],
		       r->load_text[0], r->load_text[1], r->load_cpu[0],
		       r->load_cpu[1], r->load_zstd,
		       ratio_of(r->wall[1], r->wall[2]),
		       ratio_of(r->wall[0], r->wall[2]),
		       ratio_of(r->lib_mean[1], r->lib_mean[0]));
	} else {
		printf("  %s, %zu-byte state, %zu saves each in turns, one "
		       "array element edited per save:\n",
		       f->name, len, n);
		printf("    save median:      plain %9s us  delta %9s us  "
		       "sqlite %9s us   delta/sqlite %sx (target <= %.2f)  "
		       "plain/sqlite %sx\n",
		       num(r->wall[0], 1), num(r->wall[1], 1),
		       num(r->wall[2], 1),
		       num(ratio_of(r->wall[1], r->wall[2]), 2),
		       delta_sqlite_target[k],
		       num(ratio_of(r->wall[0], r->wall[2]), 2));
		printf("    append floor (4 KiB + 512 B written in place, one "
		       "fdatasync): %s us, %sx sqlite; delta/floor %sx\n",
		       num(r->wall[C_FLOOR], 1),
		       num(ratio_of(r->wall[C_FLOOR], r->wall[2]), 2),
		       num(ratio_of(r->wall[1], r->wall[C_FLOOR]), 2));
		printf("    save CPU median:  plain %9s us  delta %9s us  "
		       "sqlite %9s us   delta's zstd calls %s us, zstd -1 "
		       "of the state %s us\n",
		       num(r->cpu[0], 1), num(r->cpu[1], 1), num(r->cpu[2], 1),
		       num(r->comp_cpu, 1), num(r->cpu[3], 1));
		printf("    delta save CPU above the append floor's (%s us): "
		       "%s us, all that encoding the record can cost\n",
		       num(r->cpu[C_FLOOR], 1),
		       num(enc_cpu(r), 1));
		fmt_bytes(b1, sizeof(b1), r->lib_mean[0]);
		fmt_bytes(b2, sizeof(b2), r->lib_mean[1]);
		fmt_bytes(b3, sizeof(b3), r->lib_median[1]);
		fmt_bytes(b4, sizeof(b4), r->lib_mean[2]);
		printf("    written (wchar) per save: plain %s, delta mean %s "
		       "(median %s; %ld compactions in %zu saves), sqlite %s; "
		       "delta/plain %s (target <= 0.01 at 256 KiB, 4 MiB)\n",
		       b1, b2, b3, r->compactions, n + nphase, b4,
		       num(ratio_of(r->lib_mean[1], r->lib_mean[0]), 4));
		if (r->cycle_bytes >= 0) {
			fmt_bytes(b1, sizeof(b1), r->cycle_bytes);
			printf(
			    "    written per delta save over a whole "
			    "compaction cycle (%ld saves, its compaction "
			    "included): %s, delta/plain %s (the target's "
			    "figure)\n",
			    r->cycle_saves, b1,
			    num(ratio_of(r->cycle_bytes, r->lib_mean[0]), 4));
		}
		if (r->cycle_z >= 0) {
			fmt_bytes(b1, sizeof(b1), r->cycle_z);
			printf(
			    "    the same with a compressed base (%ld saves): "
			    "%s, delta/plain %s\n",
			    r->cycle_z_saves, b1,
			    num(ratio_of(r->cycle_z, r->lib_mean[0]), 4));
		}
		if (r->cycle_n >= 0) {
			fmt_bytes(b1, sizeof(b1), r->cycle_n);
			printf(
			    "    the same when one value changes without new "
			    "content (a counter; %ld saves): %s, delta/plain "
			    "%s\n",
			    r->cycle_n_saves, b1,
			    num(ratio_of(r->cycle_n, r->lib_mean[0]), 4));
		}
		fmt_bytes(b1, sizeof(b1), r->dev_phase[0]);
		fmt_bytes(b2, sizeof(b2), r->dev_phase[1]);
		fmt_bytes(b3, sizeof(b3), r->dev_median[1]);
		fmt_bytes(b4, sizeof(b4), r->dev_phase[2]);
		printf("    device bytes per save (%zu saves between syncfs): "
		       "plain %s, delta %s (per-save median %s), sqlite %s; "
		       "delta/plain %s\n",
		       nphase, b1, b2, b3, b4,
		       num(ratio_of(r->dev_phase[1], r->dev_phase[0]), 4));
		printf("    delta appends: %ld left inode, size, blocks and "
		       "extent map (%u extents) alone, %ld changed them; %ld "
		       "compactions (a new inode) in all\n",
		       r->appends, ext, r->meta_changed, r->compactions);
		fmt_bytes(b1, sizeof(b1), r->dev_median[1]);
		fmt_bytes(b2, sizeof(b2), r->dirty);
		fmt_bytes(b3, sizeof(b3), r->dev_median[C_FLOOR]);
		printf("    device bytes per delta append (median) %s, against "
		       "the pages it dirtied (record and slot) %s: %sx; the "
		       "append floor's (2 pages) %s\n",
		       b1, b2, num(ratio_of(r->dev_median[1], r->dirty), 2),
		       b3);
		printf("    update() median/p99: plain %s/%s us, delta %s/%s "
		       "us (delta/plain %sx/%sx)\n",
		       num(r->upd[0], 1), num(r->upd99[0], 1),
		       num(r->upd[1], 1), num(r->upd99[1], 1),
		       num(ratio_of(r->upd[1], r->upd[0]), 2),
		       num(ratio_of(r->upd99[1], r->upd99[0]), 2));
		printf("    load median: plain %s us, delta %s us (%sx); "
		       "load_text: plain %s us, delta %s us (%sx) (target "
		       "<= 1.5)\n",
		       num(r->load[0], 1), num(r->load[1], 1),
		       num(ratio_of(r->load[1], r->load[0]), 2),
		       num(r->load_text[0], 1), num(r->load_text[1], 1),
		       num(ratio_of(r->load_text[1], r->load_text[0]), 2));
		printf("    load_text CPU median: plain %s us, delta %s us, of "
		       "which zstd's context and decompression %s us\n",
		       num(r->load_cpu[0], 1), num(r->load_cpu[1], 1),
		       num(r->load_zstd, 1));
	}
	fflush(stdout);
	for (c = 0; c < NCONT; c++)
		for (q = 0; q < 4; q++)
			free(v[c][q]);
	free(upd[0]);
	free(upd[1]);
	free(comp);
	free(pdev);
	free(ld[0]);
	free(ld[1]);
	free(ldt[0]);
	free(ldt[1]);
	free(lc[0]);
	free(lc[1]);
	free(lz);
	json_object_put(state);
}

/*
 * The editor workload: the scripted edits of one 15-second interval to a
 * 1 MiB state (an array of lines): typing about 30 characters into the
 * line under the cursor, the cursor moving every 8 intervals, a new line
 * every 20 and a line deleted every 30.
 */
static void editor_interval(json_object *state, size_t t, size_t *cursor)
{
	json_object *arr, *line;
	char buf[4096];
	size_t nl;

	if (!json_object_object_get_ex(state, "buffers", &arr) ||
	    (nl = json_object_array_length(arr)) < 2)
		return;
	if (t % 8 == 0)
		*cursor = (*cursor * 31 + 17 + t) % nl;
	if (*cursor >= nl)
		*cursor = nl - 1;
	line = json_object_array_get_idx(arr, *cursor);
	snprintf(buf, sizeof(buf), "%s typed %zu", json_object_get_string(line),
		 t);
	if (strlen(buf) > 1024)
		snprintf(buf, sizeof(buf), "line rewritten at %zu", t);
	json_object_array_put_idx(arr, *cursor, json_object_new_string(buf));
	if (t % 20 == 19)
		json_object_array_add(
		    arr, json_object_new_string(
			     "a new line, appended by the script"));
	if (t % 30 == 29)
		json_object_array_del_idx(arr, (*cursor + 7) % nl, 1);
}

enum { W_PLAIN, W_DELTA, W_DELTA_Z, NWORK };

static double work_total[NWORK];
static long work_compactions[NWORK];
static int work_ran;

static void editor_workload(const bench_fs *f)
{
	static const char *const sub[NWORK] = { "work-plain", "work-delta",
						"work-deltaz" };
	unsigned int flags[NWORK] = { 0, 0, 0 };
	int use[NWORK] = { 1, 0, 0 };
	sessnap_store *st[NWORK] = { NULL, NULL, NULL };
	sessnap_session *s[NWORK] = { NULL, NULL, NULL };
	json_object *state = make_text_state(1u << 20);
	const size_t saves = 3600 / 15;
	char path[PATH_MAX], b[NWORK][32];
	ino_t ino[NWORK] = { 0, 0, 0 }, now_ino;
	size_t t, w, cursor = 0;
	unsigned int ext = 0;
	double l0;
	int rc;

#if HAVE_DELTA
	flags[W_DELTA] = SESSNAP_STORE_DELTA;
	use[W_DELTA] = 1;
#ifdef SESSNAP_STORE_COMPRESS_BASE
	flags[W_DELTA_Z] = SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE;
	use[W_DELTA_Z] = 1;
#endif
#endif
	for (w = 0; w < NWORK; w++) {
		work_total[w] = -1;
		work_compactions[w] = 0;
		if (!use[w])
			continue;
		st[w] = open_store_in(f->dir, sub[w], flags[w]);
		if ((rc = sessnap_session_begin(&s[w], st[w], NULL)) < 0)
			die_sn("begin", rc);
		work_total[w] = 0;
	}
	for (t = 0; t < saves; t++) {
		editor_interval(state, t, &cursor);
		for (w = 0; w < NWORK; w++) {
			if (!use[w])
				continue;
			l0 = proc_wchar();
			if ((rc = sessnap_session_update(s[w], state)) < 0 ||
			    (rc = sessnap_session_flush(s[w])) < 0)
				die_sn("editor workload", rc);
			work_total[w] += proc_wchar() - l0;
			snap_path(path, sizeof(path), st[w], s[w]);
			file_map(path, &now_ino, &ext);
			if (t > 0 && now_ino != ino[w])
				work_compactions[w]++;
			ino[w] = now_ino;
		}
	}
	for (w = 0; w < NWORK; w++) {
		if (!use[w])
			continue;
		if ((rc = sessnap_session_end(s[w], 0)) < 0)
			die_sn("end", rc);
		sessnap_store_close(st[w]);
		fmt_bytes(b[w], sizeof(b[w]), work_total[w]);
	}
	for (w = 0; w < NWORK; w++)
		if (!use[w])
			strlcpy(b[w], "-", sizeof(b[w]));
	work_ran = 1;
	if (cfg.json)
		printf("{\"case\":\"delta-editor\",\"fs\":\"%s\",\"bytes\":%d,"
		       "\"saves\":%zu,\"lib_bytes\":{\"plain\":%.0f,"
		       "\"delta\":%.0f,\"delta_zbase\":%.0f},\"compactions\":{"
		       "\"delta\":%ld,\"delta_zbase\":%ld},\"ratio\":{"
		       "\"delta/plain\":%.5f,\"delta_zbase/plain\":%.5f}}\n",
		       f->name, 1 << 20, saves, work_total[0], work_total[1],
		       work_total[2], work_compactions[1], work_compactions[2],
		       ratio_of(work_total[1], work_total[0]),
		       ratio_of(work_total[2], work_total[0]));
	else
		printf("  editor workload, 1 MiB state, %zu saves (an hour at "
		       "15 s), bytes passed to write calls in all: plain %s, "
		       "delta %s (%ld compactions after the first save), "
		       "delta with a compressed base %s (%ld); delta/plain "
		       "%s, compressed base/plain %s (target <= 0.01)\n",
		       saves, b[0], b[1], work_compactions[1], b[2],
		       work_compactions[2],
		       num(ratio_of(work_total[1], work_total[0]), 4),
		       num(ratio_of(work_total[2], work_total[0]), 4));
	fflush(stdout);
	json_object_put(state);
}

static void delta_on_fs(size_t fi)
{
	bench_fs *f = &fss[fi];
	sessnap_store *sp, *sd = NULL;
	void *sq = NULL;
	char path[PATH_MAX], fpath[PATH_MAX + 8];
	size_t k;

	if (!cfg.json)
		printf("delta layout on %s:\n", f->what);
	fflush(stdout);
	sp = open_store_in(f->dir, "plain", 0);
#if HAVE_DELTA
	sd = open_store_in(f->dir, "delta", SESSNAP_STORE_DELTA);
#endif
#ifdef HAVE_SQLITE
	sqlite_bench sqb;

	snprintf(path, sizeof(path), "%s/delta-sqlite.db", f->dir);
	sqlite_open(&sqb, path);
	sq = &sqb;
#endif
	floor_open(f->dir);
	for (k = 0; k < DELTA_SIZES; k++)
		delta_size(fi, k, sp, sd, sq);
	close(floor_fd);
	floor_fd = -1;
	snprintf(fpath, sizeof(fpath), "%s/append-floor.bin", f->dir);
	unlink(fpath);
#ifdef HAVE_SQLITE
	sqlite3_finalize(sqb.put);
	sqlite3_close(sqb.db);
	unlink(path);
	snprintf(fpath, sizeof(fpath), "%s-wal", path);
	unlink(fpath);
	snprintf(fpath, sizeof(fpath), "%s-shm", path);
	unlink(fpath);
#endif
	(void)path;
	sessnap_store_close(sp);
	if (sd != NULL)
		sessnap_store_close(sd);
}

static int want_fs(const char *name)
{
	const char *p = cfg.fs_list;
	size_t n = strlen(name);

	if (p == NULL)
		return 1;
	while (*p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return 0;
}

static void verdict(const char *what, double value, double target,
		    const char *note)
{
	const char *v = value < 0	? "not measured" :
			value <= target ? "holds" :
					  "MISSES";

	if (cfg.json)
		printf("{\"case\":\"delta-target\",\"target\":\"%s\","
		       "\"value\":%.5f,\"limit\":%.5f,\"verdict\":\"%s\"}\n",
		       what, value, target, v);
	else
		printf("  %-52s %9s  <= %-7.4g %s%s%s\n", what, num(value, 4),
		       target, v, note[0] ? ": " : "", note);
}

/* A figure the issue asks to report, with no target. */
static void report_only(const char *what, double value, const char *note)
{
	if (cfg.json)
		printf("{\"case\":\"delta-target\",\"target\":\"%s\","
		       "\"value\":%.5f,\"verdict\":\"reported\"}\n",
		       what, value);
	else
		printf("  %-52s %9s  %-10s reported: %s\n", what, num(value, 4),
		       "", note);
}

static void delta_targets(void)
{
	static const char *const sz[DELTA_SIZES] = { "16K", "256K", "4M" };
	char what[128], note[96];
	size_t fi, k;

	if (!cfg.json)
		printf("targets (issue 17), this run:\n");
	for (fi = 0; fi < nfs; fi++) {
		for (k = 0; k < DELTA_SIZES; k++) {
			delta_result *r = &dres[fi][k];

			if (!r->have)
				continue;
			snprintf(what, sizeof(what),
				 "%.15s %s save delta/sqlite", fss[fi].name,
				 sz[k]);
			snprintf(note, sizeof(note),
				 "the append floor alone is %.2fx sqlite",
				 ratio_of(r->wall[C_FLOOR], r->wall[2]));
			verdict(what, ratio_of(r->wall[1], r->wall[2]),
				delta_sqlite_target[k], note);
			if (k > 0) {
				delta_result *c = &dres[0][k];
				int cyc = c->cycle_bytes >= 0;

				snprintf(
				    what, sizeof(what),
				    "%.15s %s written per save delta/plain",
				    fss[fi].name, sz[k]);
				if (cyc)
					snprintf(note, sizeof(note),
						 "over a compaction cycle of "
						 "%ld saves",
						 c->cycle_saves);
				else
					strlcpy(note, "mean of the timed saves",
						sizeof(note));
				verdict(what,
					ratio_of(cyc ? c->cycle_bytes :
						       r->lib_mean[1],
						 r->lib_mean[0]),
					0.01, note);
			}
			if (k == 1 && dres[0][k].cycle_n >= 0) {
				snprintf(what, sizeof(what),
					 "%.15s %s written per save, a counter",
					 fss[fi].name, sz[k]);
				snprintf(note, sizeof(note),
					 "one value changed, a cycle of %ld "
					 "saves",
					 dres[0][k].cycle_n_saves);
				verdict(what,
					ratio_of(dres[0][k].cycle_n,
						 r->lib_mean[0]),
					0.01, note);
			}
			if (k == 2 && strcmp(fss[fi].name, "btrfs") == 0) {
				snprintf(what, sizeof(what),
					 "%.15s %s device bytes delta/plain",
					 fss[fi].name, sz[k]);
				report_only(
				    what,
				    ratio_of(r->dev_phase[1], r->dev_phase[0]),
				    "btrfs writes its log tree at "
				    "every fdatasync");
			}
			if (k == 2 && (strcmp(fss[fi].name, "ext4") == 0 ||
				       strcmp(fss[fi].name, "xfs") == 0)) {
				snprintf(what, sizeof(what),
					 "%.15s %s device bytes delta/plain",
					 fss[fi].name, sz[k]);
				verdict(
				    what,
				    ratio_of(r->dev_phase[1], r->dev_phase[0]),
				    0.01, "");
			}
			snprintf(what, sizeof(what),
				 "%.15s %s compression CPU / zstd -1",
				 fss[fi].name, sz[k]);
			verdict(what, ratio_of(enc_cpu(r), r->cpu[3]), 1.0,
				"the save's CPU above the append floor's");
			snprintf(what, sizeof(what),
				 "%.15s %s save CPU delta/sqlite", fss[fi].name,
				 sz[k]);
			verdict(what, ratio_of(r->cpu[1], r->cpu[2]), 1.0, "");
			snprintf(what, sizeof(what),
				 "%.15s %s update() median delta/plain",
				 fss[fi].name, sz[k]);
			verdict(what, ratio_of(r->upd[1], r->upd[0]), 1.1,
				"unchanged, within noise");
			snprintf(what, sizeof(what),
				 "%.15s %s load delta/plain", fss[fi].name,
				 sz[k]);
			verdict(what, ratio_of(r->load[1], r->load[0]), 1.5,
				"sessnap_store_load");
			snprintf(what, sizeof(what),
				 "%.15s %s load_text delta/plain", fss[fi].name,
				 sz[k]);
			verdict(what,
				ratio_of(r->load_text[1], r->load_text[0]), 1.5,
				"sessnap_store_load_text");
			snprintf(what, sizeof(what),
				 "%.15s %s appends that changed metadata",
				 fss[fi].name, sz[k]);
			/* btrfs too: a delta file is written in place there
			 * (NOCOW, asked for at compaction) */
			verdict(what,
				r->wall[1] >= 0 ? (double)r->meta_changed : -1,
				0, "inode, size, blocks, extent map");
		}
	}
	if (work_ran)
		verdict("editor hour, 1 MiB, written delta/plain",
			ratio_of(work_total[1], work_total[0]), 0.01,
			"compactions included");
	if (work_ran && work_total[2] >= 0)
		verdict("editor hour, compressed base, delta/plain",
			ratio_of(work_total[2], work_total[0]), 0.01,
			"compactions included");
}

static void case_delta(void)
{
	static const struct {
		const char *type, *opts;
	} mk[] = {
		/* the inode tables and journal zeroed now, not by a
		 * background thread while the device is measured */
		{ "ext4", "-q -F -E lazy_itable_init=0,lazy_journal_init=0" },
		{ "xfs", "-q -f" },
		{ "btrfs", "-q -f" },
	};
	char base[PATH_MAX];
	size_t i;

	if (realpath(cfg.dir, base) == NULL)
		die(cfg.dir);
	if (!HAVE_DELTA)
		fprintf(stderr, "sessnap-bench: this library has no delta "
				"layout (SESSNAP_STORE_DELTA): its rows are "
				"\"-\"\n");
	nfs = 0;
	memset(dres, 0, sizeof(dres));
	if (want_fs("dir"))
		fs_here(&fss[nfs++]);
	atexit(fs_teardown_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	for (i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		if (!want_fs(mk[i].type))
			continue;
		if (geteuid() != 0) {
			fprintf(stderr,
				"sessnap-bench: skipping %s: loop "
				"mounts need root\n",
				mk[i].type);
			continue;
		}
		if (strchr(base, '\'') != NULL) {
			fprintf(stderr,
				"sessnap-bench: skipping %s: a quote "
				"in %s\n",
				mk[i].type, base);
			continue;
		}
		if (fs_make(&fss[nfs], mk[i].type, mk[i].opts, base) == 0)
			nfs++;
	}
	for (i = 0; i < nfs; i++) {
		delta_on_fs(i);
		if (i == 0)
			editor_workload(&fss[0]);
		if (fss[i].made)
			fs_teardown(&fss[i]);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	delta_targets();
	ZSTD_freeCCtx(zcctx);
	zcctx = NULL;
	free(zbuf);
	zbuf = NULL;
	zbuf_len = 0;
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
	snprintf(cmd, sizeof(cmd), "TMPDIR='%s' '%s/tests/bench/scan-bench' %s",
		 dir, tree("SESSNAP_BENCH_BUILDDIR", BENCH_BUILDDIR),
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
	{ "save", case_save },	 { "app", case_app_thread },
	{ "text", case_text },	 { "patch", case_patch },
	{ "soak", case_soak },	 { "scan", case_scan },
	{ "clean", case_clean }, { "delta", case_delta },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sessnap-bench [--json] [--dir DIR] [--scale X] "
		"[--soak SECONDS] [--only CASE] [--clean-files N] "
		"[--fs LIST]\n"
		"  --dir DIR       where to write (default: a new directory "
		"under the current one)\n"
		"  --json          one JSON object per line per case\n"
		"  --scale X       multiply iteration counts by X (default 1)\n"
		"  --soak SECONDS  also measure RSS while saving for SECONDS\n"
		"  --only CASE     run one case: save, app, text, patch, soak, "
		"scan, clean or delta\n"
		"  --clean-files N the clean case's store size (default "
		"100000)\n"
		"  --fs LIST       the delta case's file systems, of dir "
		"(--dir's own), ext4,\n"
		"                  xfs and btrfs (made on loop devices, as "
		"root); default all\n");
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
		{ "fs", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char tmpl[] = "sessnap-bench.XXXXXX";
	const char *errstr = NULL;
	struct statfs sfs;
	char *made = NULL;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jd:s:S:o:C:F:h", longopts,
				NULL)) != -1) {
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
		case 'F':
			cfg.fs_list = optarg;
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
