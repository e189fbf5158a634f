/*
 * crashloop.c - kill a writer with SIGKILL at random moments, then recover
 *
 *	crashloop [-d] DIR ITERATIONS [GENERATIONS]
 *
 * GENERATIONS is the store's generations option (default 1: <id>.snap and
 * .prev); with 3 every save of the writer rotates .prev, .snap.2 and
 * .snap.3 as well, and a kill lands in the middle of those renames too.
 * With -d the store uses the delta layout (SESSNAP_STORE_DELTA): most
 * saves append a record to the session's file, and the writer changes its
 * label every COMPACT_EVERY saves, which starts a new file (a compaction,
 * tmp-then-rename), so that kills land in appends, in compactions and
 * between them; the states it saves grow and shrink so that records of
 * many sizes are written.
 *
 * Each iteration forks a writer that opens the store DIR, begins a session,
 * sends the session id to the parent through a pipe, and then loops:
 * seq += 1, update the state {"seq":seq,...}, flush, and acknowledge seq
 * through the pipe (8 bytes, atomic on a pipe).  The parent kills it with
 * SIGKILL after a random delay: one time in ten 0 to 5 ms after the fork
 * (while it opens the store or begins), otherwise 0 to 10 ms after the
 * session began (before the first save, inside saves and between them).
 * Then it reaps the writer, reads every acknowledgement, and loads the
 * session:
 *
 *   - no acknowledgement: the session is absent, or holds a valid state;
 *   - last acknowledgement L: the state is valid (the loader verified its
 *     checksum) and its seq is L - 1, L or L + 1: the last or next-to-last
 *     acknowledged, or the one update that was in flight - never older.
 *
 * Then it takes the session off the store through the library - adopting
 * it (the adopted state must be the one just loaded) and ending it every
 * other time, discarding it otherwise - and goes on; the store must end
 * empty.  The store's durability
 * is whatever the environment sets (SESSNAP_TEST_FSYNC=0 in "make check"):
 * a process crash keeps the page cache, so durability NONE must already
 * survive it.  Exit status 0 when every iteration passed; the last line of
 * output gives the figures.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sessnap.h>

#define APP "crashloop"
#define PAD "0123456789abcdefghijklmnopqrstuvwxyz"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crashloop: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 1;
}

/* The store's generations option, from the command line. */
static unsigned int generations;
/* The store flags: SESSNAP_STORE_DELTA with -d. */
static unsigned int store_flags;

/* In the delta layout, a new label (and so a new file) every so many saves. */
#define COMPACT_EVERY 7

static int open_store(sessnap_store **out, const char *dir)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	opts.dir = dir;
	opts.app = APP;
	opts.generations = generations;
	opts.flags = store_flags;
	return sessnap_store_open(out, &opts);
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char pad[512];

/* The state the writer saves as `seq`. */
static json_object *state_of(uint64_t seq)
{
	json_object *st = json_object_new_object();

	json_object_object_add(st, "seq", json_object_new_int64((int64_t)seq));
	/* delta: pads of 0 to 511 bytes, records of many sizes */
	json_object_object_add(
	    st, "pad",
	    store_flags != 0
		? json_object_new_string_len(pad, (int)(seq * 37 % 512))
		: json_object_new_string(pad));
	return st;
}

/* The writer: never returns. */
static void writer(const char *dir, int ack)
{
	sessnap_store *store;
	sessnap_session *s;
	json_object *st;
	uint64_t seq = 0;
	char label[32];
	if (open_store(&store, dir) < 0 ||
	    sessnap_session_begin(&s, store, NULL) < 0) {
		fail("writer: %s", sessnap_error_last());
		_exit(2);
	}
	if (write_full(ack, sessnap_session_id(s), SESSNAP_ID_LEN) < 0)
		_exit(2);
	for (;;) {
		seq++;
		st = state_of(seq);
		if (store_flags != 0 && seq % COMPACT_EVERY == 0) {
			snprintf(label, sizeof(label), "label %" PRIu64,
				 seq / COMPACT_EVERY);
			if (sessnap_session_set_label(s, label) < 0) {
				fail("writer: label: %s", sessnap_error_last());
				_exit(2);
			}
		}
		if (sessnap_session_update(s, st) < 0 ||
		    sessnap_session_flush(s) < 0) {
			fail("writer: seq %" PRIu64 ": %s", seq,
			     sessnap_error_last());
			_exit(2);
		}
		json_object_put(st);
		if (write_full(ack, &seq, sizeof(seq)) < 0)
			_exit(2);
	}
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Take the crashed session off the store through the library, as an app
 * would: every other time adopt it (it must hold the state just loaded,
 * `want`) and end it; otherwise discard it.  Returns 0 or 1 (reported).
 */
static int finish_session(sessnap_store *store, const char *id,
			  const json_object *want, unsigned long kill_no)
{
	sessnap_session *s;
	json_object *st = NULL;
	int rc;

	if (want != NULL && kill_no % 2 == 0) {
		rc = sessnap_session_adopt(&s, &st, NULL, store, id);
		if (rc < 0)
			return fail("kill %lu: adopt %s: %s", kill_no, id,
				    sessnap_error_last());
		rc = json_object_equal(st, (json_object *)want);
		json_object_put(st);
		if (!rc) {
			sessnap_session_release(s);
			return fail("kill %lu: adopted a state other than the "
				    "one loaded",
				    kill_no);
		}
		if (sessnap_session_end(s, 0) < 0)
			return fail("kill %lu: end %s: %s", kill_no, id,
				    sessnap_error_last());
		return 0;
	}
	rc = sessnap_store_discard(store, id);
	if (rc < 0 && rc != SESSNAP_ENOTFOUND)
		return fail("kill %lu: discard %s: %s", kill_no, id,
			    sessnap_error_last());
	return 0;
}

struct tally {
	unsigned long kills;
	unsigned long before_begin; /* killed before the id was sent */
	unsigned long no_ack; /* killed before the first acknowledgement */
	unsigned long at_last, at_prev, at_next;
	unsigned long from_prev; /* the loader used <id>.snap.prev */
	uint64_t acks;
};

/* One kill and its check; returns 0 or 1 (failure, reported). */
static int iteration(sessnap_store *store, const char *dir, struct tally *t)
{
	char id[SESSNAP_ID_LEN + 1];
	struct timespec delay;
	sessnap_load_info *info = NULL;
	unsigned int flags = 0;
	json_object *st = NULL, *v;
	uint64_t last = 0, seq, got;
	int p[2], status, rc;
	bool early;
	pid_t pid;
	ssize_t n;

	if (pipe(p) < 0)
		return fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		writer(dir, p[1]);
	}
	close(p[1]);
	/*
	 * One kill in ten lands anywhere from the fork on (store open,
	 * begin); the others after the session began, while it flushes.
	 */
	early = arc4random_uniform(10) == 0;
	if (!early && read_full(p[0], id, SESSNAP_ID_LEN) != SESSNAP_ID_LEN)
		early = true; /* the writer died: reported below */
	delay.tv_sec = 0;
	delay.tv_nsec = (long)arc4random_uniform(early ? 5000 : 10000) * 1000;
	nanosleep(&delay, NULL);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid: %s", strerror(errno));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		close(p[0]);
		return fail("writer exited on its own (status %d)", status);
	}
	t->kills++;
	n = early ? read_full(p[0], id, SESSNAP_ID_LEN) : SESSNAP_ID_LEN;
	if (n != SESSNAP_ID_LEN) {
		close(p[0]);
		t->before_begin++;
		return 0;
	}
	id[SESSNAP_ID_LEN] = '\0';
	while ((n = read_full(p[0], &seq, sizeof(seq))) == sizeof(seq)) {
		last = seq;
		t->acks++;
	}
	close(p[0]);

	rc = sessnap_store_load(&st, &info, store, id);
	if (info != NULL) {
		flags = info->flags;
		sessnap_load_info_free(info);
	}
	if (last == 0) {
		t->no_ack++;
		if (rc == SESSNAP_ENOTFOUND)
			return finish_session(store, id, NULL, t->kills);
	}
	if (rc < 0)
		return fail("kill %lu: session %s (last ack %" PRIu64
			    "): load failed: %s",
			    t->kills, id, last, sessnap_error_last());
	if (!json_object_object_get_ex(st, "seq", &v))
		return fail("kill %lu: state without seq", t->kills);
	got = (uint64_t)json_object_get_int64(v);
	if (flags & (SESSNAP_LOAD_FROM_PREV | SESSNAP_LOAD_FROM_OLDER))
		t->from_prev++;
	if (got + 1 < last || got > last + 1) {
		json_object_put(st);
		return fail("kill %lu: session %s recovered seq %" PRIu64
			    ", last acknowledged %" PRIu64,
			    t->kills, id, got, last);
	}
	/* delta: a record decoded against its base gives that exact state */
	if (store_flags != 0) {
		v = state_of(got);
		rc = json_object_equal(st, v);
		json_object_put(v);
		if (!rc) {
			json_object_put(st);
			return fail("kill %lu: session %s: seq %" PRIu64
				    " recovered with other content",
				    t->kills, id, got);
		}
	}
	if (last > 0) {
		if (got == last)
			t->at_last++;
		else if (got < last)
			t->at_prev++;
		else
			t->at_next++;
	}
	rc = finish_session(store, id, st, t->kills);
	json_object_put(st);
	return rc;
}

int main(int argc, char **argv)
{
	struct tally t;
	sessnap_store *store;
	const char *errstr = NULL;
	long long iterations;
	long long i;

	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		store_flags = SESSNAP_STORE_DELTA;
		argv++;
		argc--;
	}
	if (argc != 3 && argc != 4)
		return fail("usage: crashloop [-d] DIR ITERATIONS [GENERATIONS]");
	iterations = strtonum(argv[2], 1, 100000000, &errstr);
	if (errstr != NULL)
		return fail("ITERATIONS %s: %s", argv[2], errstr);
	if (argc == 4) {
		generations = (unsigned int)strtonum(
		    argv[3], 1, SESSNAP_GENERATIONS_MAX, &errstr);
		if (errstr != NULL)
			return fail("GENERATIONS %s: %s", argv[3], errstr);
	}
	for (i = 0; i + 1 < (long long)sizeof(pad); i++)
		pad[i] = PAD[i % (long long)(sizeof(PAD) - 1)];
	pad[i] = '\0';
	memset(&t, 0, sizeof(t));
	if (open_store(&store, argv[1]) < 0)
		return fail("%s", sessnap_error_last());
	for (i = 0; i < iterations; i++) {
		if (iteration(store, argv[1], &t) != 0) {
			sessnap_store_close(store);
			return 1;
		}
	}
	sessnap_store_close(store);
	printf("crashloop%s: %lu kills survived: %lu before the session "
	       "began, %lu before the first flush; recovered the last "
	       "acknowledged state %lu times, the next-to-last %lu, the one "
	       "in flight %lu; %lu from an older generation; %" PRIu64
	       " flushes acknowledged\n",
	       store_flags != 0 ? " (delta layout)" : "", t.kills,
	       t.before_begin, t.no_ack, t.at_last, t.at_prev,
	       t.at_next, t.from_prev, t.acks);
	return 0;
}
