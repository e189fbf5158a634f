/*
 * scan-bench.c -- how fast is sessnap_store_scan(), and what does it cost?
 *
 * Builds a store of N crashed sessions whose states are S bytes each (the
 * real way: begin, update, save, release, so every session has its lock
 * file), then times three scanners over it, each in its own child process
 * so that its peak RSS (getrusage through wait4) is its own:
 *
 *   sessnap   sessnap_store_scan(): one bounded header read and a lock probe
 *             per session;
 *   naive     read every snapshot whole and parse both of its JSON lines,
 *             what a scanner that loads states to list them would do;
 *   floor     read a 512-byte head of every snapshot and probe every
 *             lock: the least any scanner that classifies by lock can do.
 *
 * Each scanner runs once to warm the page cache, then the three take turns
 * (REPEAT rounds; naive, the slow one, every ROUNDS_NAIVE-th), and the
 * best time of each is reported: turns make a burst of load on a shared
 * machine hit all three alike.  The targets: sessnap at least 50 times faster
 * than naive at 16 KiB states, within 1.5 times the floor, and a peak RSS
 * that does not grow with the state size (compare the two state sizes).
 *
 * Usage: scan-bench [SESSIONS...]   (default: 1000 10000)
 * The store is made under $TMPDIR (or /tmp) and removed afterwards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sessnap.h"

#define REPEAT 9
#define ROUNDS_NAIVE 3
#define KIB 1024

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "scan-bench: %s: %s (%s)\n", what, strerror(errno),
		sessnap_error_last());
	exit(1);
}

static sessnap_store *open_store(const char *dir)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;

	o.dir = dir;
	o.app = "bench";
	o.flags = SESSNAP_STORE_NOTHREAD;
	o.durability = SESSNAP_DURABILITY_NONE;
	if (sessnap_store_open(&s, &o) < 0)
		die("store open");
	return s;
}

/*
 * A state of about `size` bytes shaped like an editor's: an array of
 * buffers, each with a name, a cursor and lines of text (many small
 * values, which is what makes parsing cost what it costs).
 */
static json_object *make_state(size_t size)
{
	json_object *state = json_object_new_object();
	json_object *lines = json_object_new_array();
	size_t bytes = 0, i;

	json_object_object_add(state, "buffer",
			       json_object_new_string("notes.txt"));
	json_object_object_add(state, "cursor", json_object_new_int(42));
	for (i = 0; bytes < size; i++) {
		json_object *line = json_object_new_object();

		json_object_object_add(line, "n", json_object_new_int((int)i));
		json_object_object_add(
		    line, "text",
		    json_object_new_string("the quick brown fox jumps"));
		json_object_object_add(line, "dirty",
				       json_object_new_boolean(i % 3 == 0));
		json_object_array_add(lines, line);
		bytes += sizeof("{\"n\":000,\"text\":\"the quick brown fox "
				"jumps\",\"dirty\":false},") -
			 1;
	}
	json_object_object_add(state, "lines", lines);
	return state;
}

/* n crashed sessions with a state of about `size` bytes each. */
static void populate(const char *dir, size_t n, size_t size)
{
	sessnap_store *store = open_store(dir);
	json_object *state = make_state(size);
	size_t i;

	for (i = 0; i < n; i++) {
		sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
		sessnap_session *s;
		char label[64];

		snprintf(label, sizeof(label), "document %zu", i);
		so.label = label;
		if (sessnap_session_begin(&s, store, &so) < 0 ||
		    sessnap_session_update(s, state) < 0 ||
		    sessnap_session_flush(s) < 0)
			die("session");
		sessnap_session_release(s);
	}
	json_object_put(state);
	sessnap_store_close(store);
}

static int is_snap(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 &&
	       strcmp(name + len - 5, ".snap") == 0;
}

/* Probe <id>.lock beside the snapshot `name`: 1 when held. */
static int probe(int dfd, const char *name)
{
	char lock[256];
	int fd, held = 0;

	snprintf(lock, sizeof(lock), "%.*s.lock", (int)(strlen(name) - 5),
		 name);
	fd = openat(dfd, lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static size_t scan_floor(const char *dir)
{
	char buf[512];
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);
	int dfd, fd;

	if (d == NULL)
		die("opendir");
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (!is_snap(de->d_name))
			continue;
		fd = openat(dfd, de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			die("open");
		if (read(fd, buf, sizeof(buf)) > 0)
			n++;
		close(fd);
		probe(dfd, de->d_name);
	}
	closedir(d);
	return n;
}

static size_t scan_naive(const char *dir)
{
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d = opendir(dir);
	int dfd, fd;

	if (d == NULL)
		die("opendir");
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		json_object *hdr, *state;
		char *buf, *nl;

		if (!is_snap(de->d_name))
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			die("open");
		buf = malloc((size_t)st.st_size + 1);
		if (buf == NULL ||
		    read(fd, buf, (size_t)st.st_size) != st.st_size)
			die("read");
		close(fd);
		buf[st.st_size] = '\0';
		nl = strchr(buf, '\n');
		if (nl == NULL)
			die("format");
		*nl = '\0';
		hdr = json_tokener_parse(buf);
		state = json_tokener_parse(nl + 1);
		if (hdr != NULL && state != NULL)
			n++;
		json_object_put(hdr);
		json_object_put(state);
		free(buf);
		probe(dfd, de->d_name);
	}
	closedir(d);
	return n;
}

static size_t scan_sessnap(const char *dir)
{
	sessnap_store *store = open_store(dir);
	sessnap_info **infos;
	size_t n = 0;

	if (sessnap_store_scan(&infos, &n, store, 0) < 0)
		die("sessnap_store_scan");
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
	return n;
}

typedef size_t (*scanner)(const char *);

static double timed(scanner fn, const char *dir, size_t want)
{
	double t = now_s();

	if (fn(dir) != want)
		_exit(2);
	return now_s() - t;
}

/*
 * Best times of the three scanners, measured in one child and in rounds
 * (sessnap, floor, then naive every ROUNDS_NAIVE-th round), so that a
 * burst of load on a shared machine hits all of them alike.  Each one
 * runs once first to warm the page cache.
 */
static void measure_times(double best[3], const char *dir, size_t want)
{
	static const scanner fns[3] = { scan_sessnap, scan_naive, scan_floor };
	int p[2], status, i, k;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		double b[3] = { 1e9, 1e9, 1e9 }, t;

		close(p[0]);
		for (k = 0; k < 3; k++)
			timed(fns[k], dir, want);
		for (i = 0; i < REPEAT; i++) {
			for (k = 0; k < 3; k++) {
				if (k == 1 && i % ROUNDS_NAIVE != 0)
					continue;
				t = timed(fns[k], dir, want);
				if (t < b[k])
					b[k] = t;
			}
		}
		if (write(p[1], b, sizeof(b)) != sizeof(b))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], best, 3 * sizeof(double)) != 3 * sizeof(double))
		best[0] = -1;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || best[0] < 0) {
		fprintf(stderr, "scan-bench: a scanner failed\n");
		exit(1);
	}
}

/* Peak RSS in KiB of one run of `fn` in a fresh child (wait4). */
static long measure_rss(scanner fn, const char *dir, size_t want)
{
	struct rusage ru;
	int status;
	pid_t pid;

	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		timed(fn, dir, want);
		_exit(0);
	}
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "scan-bench: a scanner failed\n");
		exit(1);
	}
	return ru.ru_maxrss;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void run(size_t n, size_t size)
{
	char dir[4096];
	const char *tmp = getenv("TMPDIR");
	double best[3];
	int status;
	pid_t pid;
	double t;

	snprintf(dir, sizeof(dir), "%s/scan-bench.XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	t = now_s();
	/*
	 * In a child, so that the states it builds do not count in the
	 * RSS that the scanners' children inherit from this process.
	 */
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		populate(dir, n, size);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "scan-bench: populating the store failed\n");
		exit(1);
	}
	fprintf(stderr, "  (made %zu sessions of %zu KiB in %.1f s)\n", n,
		size / KIB, now_s() - t);
	measure_times(best, dir, n);
	printf("%6zu sessions x %4zu KiB: sessnap %7.1f ms, naive %8.1f ms, "
	       "floor %7.1f ms; naive/sessnap %6.1fx, sessnap/floor %.2fx; "
	       "peak RSS KiB: sessnap %ld, naive %ld, floor %ld\n",
	       n, size / KIB, best[0] * 1e3, best[1] * 1e3, best[2] * 1e3,
	       best[1] / best[0], best[0] / best[2],
	       measure_rss(scan_sessnap, dir, n),
	       measure_rss(scan_naive, dir, n),
	       measure_rss(scan_floor, dir, n));
	fflush(stdout);
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		die("cleanup");
}

int main(int argc, char **argv)
{
	const char *err = NULL;
	int i;

	/* Benchmarks measure the scan, not the disk's fsync. */
	setenv("SESSNAP_TEST_FSYNC", "0", 1);
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			long long n = strtonum(argv[i], 1, 1000000, &err);

			if (err != NULL) {
				fprintf(stderr, "scan-bench: %s: %s\n", argv[i],
					err);
				return 2;
			}
			run((size_t)n, 16 * KIB);
		}
		return 0;
	}
	run(1000, 16 * KIB);
	run(10000, 16 * KIB);
	/* The same count with states 16 times larger: RSS must not grow. */
	run(1000, 256 * KIB);
	return 0;
}
