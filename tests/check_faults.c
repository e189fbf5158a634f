/*
 * check_faults.c - a fault at every system call
 *
 * The fault walk.  For an operation (save, end, begin, load, open, ...) and
 * for each errno of EIO, ENOSPC, EDQUOT, EINTR and EACCES, plus short
 * writes, once as a one-shot fault and once as a persistent one, it fails
 * the Nth call that the operation makes through the seam, for N = 1, 2, ...
 * until the operation runs to the end without meeting the fault.  Every
 * iteration starts from a fresh store holding:
 *
 *   - the session under test S, with two committed generations (A1 in
 *     <id>.snap.prev, A in <id>.snap) and a pending update B;
 *   - a bystander session O with two committed generations of its own.
 *
 * After each injected failure it checks:
 *
 *   1. the error was reported: a negative code and a message that names
 *      the file (the store path appears in it);
 *   2. the last committed state still loads, byte-identical: the payload
 *      line of <id>.snap is exactly A (or exactly B when the operation
 *      reports that it committed), and sessnap_store_load() agrees;
 *   3. no temporary (dot-prefixed) file remains.  The exception is a
 *      fault that also hit an unlink: then the save could not remove its
 *      own temp file, and the check becomes "whatever temp file remains
 *      is dot-prefixed, is ignored by the loader, and is never promoted"
 *      (the cleaner removes orphans; docs/design.md, "Reliability");
 *   4. the bystander's files are byte-identical and its lock still held;
 *
 * and also that no descriptor leaked, that a lock the operation was meant
 * to release is free, and that once the fault is gone the same session
 * saves its newest state (a failed save never drops the pending update).
 *
 * The walk uses durability FULL whatever SESSNAP_TEST_FSYNC says, so the
 * fsync and fdatasync points are walked too.  The patch walks save a batch
 * of patches instead of B (all of it or none).  Each walk prints how many
 * fault points it covered as a TAP diagnostic ("# fault walk ...").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define A1 "{\"gen\":\"a1\",\"text\":\"first\"}"
#define A "{\"gen\":\"a\",\"text\":\"committed\",\"n\":[1,2,3]}"
#define B "{\"gen\":\"b\",\"text\":\"pending update\",\"n\":[4,5,6,7]}"
#define A2 "{\"gen\":\"a2\",\"text\":\"second older\"}"
#define A3 "{\"gen\":\"a3\",\"text\":\"oldest\"}"
#define O1 "{\"other\":1}"
#define O2 "{\"other\":2,\"more\":\"bystander\"}"

/* The largest N tried before the walk calls the operation endless. */
#define WALK_MAX 5000

static const int walk_errs[] = { EIO, ENOSPC, EDQUOT, EINTR, EACCES };

/*
 * The older generations the walk's store keeps (its generations option):
 * 0 is the default; with 3, S has A3, A2, A1 and A committed, so that
 * every save rotates a full set (<id>.snap.3 .. <id>.snap).
 */
static unsigned int walk_gens;

/*
 * The layouts every walk runs with (a loop test's _i): the plain one,
 * and the delta layout (docs/design.md, "Delta layout").  walk_flags joins the store flags of every store the walk
 * opens; walk_delta says which layout the checks expect.
 */
static const struct layout {
	const char *name;
	unsigned int flags;
	bool delta;
} layouts[] = {
	{ "plain", 0, false },
	{ "delta", SESSNAP_STORE_DELTA, true },
	{ "delta, compressed base",
	  SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE, true },
};
#define NLAYOUTS ((int)(sizeof(layouts) / sizeof(layouts[0])))

static unsigned int walk_flags;
static bool walk_delta;
static const char *walk_layout;

/*
 * Set the label of S before the operation, so that a save under test is a
 * compaction in the delta layout (a new label starts a new file); in the
 * plain layout it is a save like any other, with a label.
 */
static bool walk_compact;

/* How many failed saves of a walk had their file watched (delta). */
static unsigned long stale_watched;

static void set_layout(int i)
{
	ck_assert_int_lt(i, NLAYOUTS);
	walk_flags = layouts[i].flags;
	walk_delta = layouts[i].delta;
	walk_layout = layouts[i].name;
}

/* One iteration's world. */
struct world {
	char dir[PATH_MAX];
	sessnap_store *store;
	sessnap_session *s;
	sessnap_session *o;
	char s_id[SESSNAP_ID_LEN + 1];
	char o_id[SESSNAP_ID_LEN + 1];
	char *o_snap;
	size_t o_snap_len;
	char *o_prev;
	size_t o_prev_len;
	/* S's snapshot file after the setup, and how many files there were */
	ino_t s_ino;
	int nfiles;
};

/* The outcome of one faulted operation. */
struct outcome {
	int rc;
	unsigned long fired;
	unsigned int fired_kinds;
	int err; /* the errno injected; 0 for short writes */
	char msg[1024];
};

typedef void (*op_fn)(struct world *w, struct outcome *out, unsigned int kinds,
		      unsigned long nth, int err, unsigned int flags);
typedef void (*check_fn)(struct world *w, const struct outcome *out);

static void update_str(sessnap_session *s, const char *json)
{
	json_object *st = json_tokener_parse(json);

	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(sessnap_session_update(s, st), 0);
	json_object_put(st);
}

static void commit_str(sessnap_session *s, const char *json)
{
	update_str(s, json);
	ck_assert_msg(sessnap_session_flush(s) == 0, "save: %s",
		      sessnap_error_last());
}

static char *read_in(const struct world *w, const char *name, size_t *len)
{
	char path[PATH_MAX];

	tu_join(path, sizeof(path), w->dir, name);
	return tu_read_file(path, len);
}

static bool exists_in(const struct world *w, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	tu_join(path, sizeof(path), w->dir, name);
	return lstat(path, &st) == 0;
}

/*
 * The payload line of a snapshot file, compared byte for byte with want.
 * Returns false when the file is missing or differs.
 */
static bool payload_is(const struct world *w, const char *name,
		       const char *want)
{
	size_t len = 0, wl = strlen(want);
	char *buf = read_in(w, name, &len);
	char *nl;
	bool ok;

	if (buf == NULL)
		return false;
	nl = memchr(buf, '\n', len);
	ok = nl != NULL && (size_t)(buf + len - (nl + 1)) == wl + 1 &&
	     memcmp(nl + 1, want, wl) == 0 && buf[len - 1] == '\n';
	free(buf);
	return ok;
}

/*
 * Whether snapshot file `name` holds `want` as its current state: in the
 * plain layout its payload line, byte for byte; in the delta layout what
 * the library's reader makes of that one file (its base or its newest
 * valid record, every checksum verified), serialized as it was saved.
 */
static bool holds(struct world *w, const char *name, const char *want)
{
	sessnap__header h;
	json_object *st = NULL;
	bool ok;

	if (!walk_delta)
		return payload_is(w, name, want);
	if (sessnap__snapshot_read(&st, &h, w->store, name) != 0)
		return false;
	ok = strcmp(json_object_to_json_string_ext(st, SESSNAP__PAYLOAD_FLAGS),
		    want) == 0;
	json_object_put(st);
	return ok;
}

/* sessnap_store_load() returns exactly `want`; FROM_PREV as expected. */
static void assert_loads(struct world *w, const char *id, const char *want,
			 bool from_prev)
{
	sessnap_load_info *info = NULL;
	json_object *st = NULL;
	const char *got;
	int rc;

	rc = sessnap_store_load(&st, &info, w->store, id);
	ck_assert_msg(rc == 0, "load %s: %s", id, sessnap_error_last());
	got = json_object_to_json_string_ext(
	    st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(!!(info->flags & SESSNAP_LOAD_FROM_PREV), from_prev);
	json_object_put(st);
	sessnap_load_info_free(info);
}

/* The inode of a session's <id>.snap, 0 when there is none. */
static ino_t snap_ino(const struct world *w, const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;

	sessnap__snap_name(name, id);
	tu_join(path, sizeof(path), w->dir, name);
	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/* The session's <id>.snap is of the layout under test. */
static void assert_layout(struct world *w, const char *id)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header h;

	sessnap__snap_name(name, id);
	ck_assert_int_eq(sessnap__header_read(&h, NULL, w->store, name), 0);
	ck_assert_uint_eq(h.layout, walk_delta ? SESSNAP_LAYOUT_DELTA
					       : SESSNAP_LAYOUT_PLAIN);
}

static void world_open_store(struct world *w)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	opts.dir = w->dir;
	opts.app = "faults";
	opts.durability = SESSNAP_DURABILITY_FULL;
	opts.flags = SESSNAP_STORE_NOTHREAD | walk_flags;
	opts.generations = walk_gens;
	ck_assert_msg(sessnap_store_open(&w->store, &opts) == 0, "open: %s",
		      sessnap_error_last());
}

static void world_setup(struct world *w, unsigned long iter)
{
	char name[64];

	memset(w, 0, sizeof(*w));
	snprintf(name, sizeof(name), "w%lu", iter);
	tu_join(w->dir, sizeof(w->dir), tu_dir, name);
	ck_assert_int_eq(mkdir(w->dir, 0700), 0);
	world_open_store(w);

	ck_assert_int_eq(sessnap_session_begin(&w->o, w->store, NULL), 0);
	strlcpy(w->o_id, sessnap_session_id(w->o), sizeof(w->o_id));
	commit_str(w->o, O1);
	commit_str(w->o, O2);
	snprintf(name, sizeof(name), "%s.snap", w->o_id);
	w->o_snap = read_in(w, name, &w->o_snap_len);
	snprintf(name, sizeof(name), "%s.snap.prev", w->o_id);
	w->o_prev = read_in(w, name, &w->o_prev_len);
	ck_assert_ptr_nonnull(w->o_snap);
	/* in the delta layout O2 is a record appended to O1's file */
	if (!walk_delta)
		ck_assert_ptr_nonnull(w->o_prev);

	ck_assert_int_eq(sessnap_session_begin(&w->s, w->store, NULL), 0);
	strlcpy(w->s_id, sessnap_session_id(w->s), sizeof(w->s_id));
	if (walk_gens > 1) {
		commit_str(w->s, A3);
		commit_str(w->s, A2);
	}
	commit_str(w->s, A1);
	commit_str(w->s, A);
	update_str(w->s, B);
	if (walk_compact)
		ck_assert_int_eq(sessnap_session_set_label(w->s, "compact"),
				 0);
	w->s_ino = snap_ino(w, w->s_id);
	w->nfiles = tu_count_files(w->dir, NULL);
	assert_layout(w, w->s_id);
	assert_layout(w, w->o_id);
}

static void world_teardown(struct world *w)
{
	if (w->s != NULL)
		sessnap_session_release(w->s);
	if (w->o != NULL)
		sessnap_session_release(w->o);
	ck_assert_int_eq(sessnap_store_close(w->store), 0);
	free(w->o_snap);
	free(w->o_prev);
	ck_assert_int_eq(tu_rm_rf(w->dir), 0);
}

/* Check 4: the bystander is untouched and still locked by its owner. */
static void check_bystander(struct world *w)
{
	char name[SESSNAP__NAME_MAX];
	size_t len;
	char *buf;

	snprintf(name, sizeof(name), "%s.snap", w->o_id);
	buf = read_in(w, name, &len);
	ck_assert_msg(buf != NULL && len == w->o_snap_len &&
			  memcmp(buf, w->o_snap, len) == 0,
		      "bystander's snapshot changed");
	free(buf);
	snprintf(name, sizeof(name), "%s.snap.prev", w->o_id);
	buf = read_in(w, name, &len);
	if (w->o_prev == NULL)
		ck_assert_msg(buf == NULL, "bystander gained a generation");
	else
		ck_assert_msg(buf != NULL && len == w->o_prev_len &&
				  memcmp(buf, w->o_prev, len) == 0,
			      "bystander's previous generation changed");
	free(buf);
	ck_assert_int_eq(sessnap__lock_probe(w->store, w->o_id), 1);
	assert_loads(w, w->o_id, O2, false);
}

/*
 * Check 3.  A dot-prefixed file may remain only when the fault also hit an
 * unlink (the temp file's own removal); it must then be a temp file of the
 * session under test, which the loader never reads.
 */
static void check_temps(struct world *w, const struct outcome *out)
{
	char prefix[SESSNAP_ID_LEN + 4];
	int dots = tu_count_files(w->dir, ".");

	ck_assert_int_ge(dots, 0);
	if (dots == 0)
		return;
	snprintf(prefix, sizeof(prefix), ".%s", w->s_id);
	ck_assert_msg(out->fired_kinds & SESSNAP__SYS_UNLINK,
		      "%d temporary file(s) left behind after a fault that "
		      "did not hit an unlink (rc %d: %s)",
		      dots, out->rc, out->msg);
	ck_assert_int_eq(tu_count_files(w->dir, prefix), dots);
}

/*
 * Check 1: a negative code and a message naming the file.  Messages about
 * the store's files contain the store path; a failure while creating the
 * store's parents ("mkdir of /tmp failed: ...") names one of them.
 */
static void check_reported(struct world *w, const struct outcome *out)
{
	const char *of, *end;
	size_t n;

	ck_assert_int_lt(out->rc, 0);
	ck_assert_msg(out->msg[0] != '\0', "error %d without a message",
		      out->rc);
	/*
	 * delta: the message also gives the cause, the injected errno (but
	 * EINTR, which a lock wait reports as the lock held too long)
	 */
	if (walk_delta && out->fired > 0 && out->err != 0 &&
	    out->err != EINTR)
		ck_assert_msg(strstr(out->msg, strerror(out->err)) != NULL,
			      "message does not give the cause (%s): %s",
			      strerror(out->err), out->msg);
	if (strstr(out->msg, w->dir) != NULL)
		return;
	of = strstr(out->msg, " of /");
	end = of != NULL ? strstr(of, " failed") : NULL;
	ck_assert_msg(end != NULL, "message does not name the file: %s",
		      out->msg);
	n = (size_t)(end - (of + 4));
	ck_assert_msg(strncmp(w->dir, of + 4, n) == 0 &&
			  (w->dir[n] == '/' || w->dir[n] == '\0'),
		      "message names no file of the store: %s", out->msg);
}

/* Collect what the injector saw and disarm it before any check runs. */
static void run_armed(struct outcome *out)
{
	out->fired = sessnap__fault_fired();
	out->fired_kinds = sessnap__fault_fired_kinds();
	sessnap__fault_disarm();
	strlcpy(out->msg, out->rc < 0 ? sessnap_error_last() : "",
		sizeof(out->msg));
}

/* ---- operations under test ------------------------------------------- */

static void op_save(struct world *w, struct outcome *out, unsigned int kinds,
		    unsigned long nth, int err, unsigned int flags)
{
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_session_flush(w->s);
	run_armed(out);
}

/*
 * A file the library must never write again (the delta layout's file of a
 * failed save), held open read-only with a copy of its bytes, so that a
 * write to it under any name, or after its last name is gone, is seen.
 */
struct stale {
	int fd;
	ino_t ino;
	char *buf;
	size_t len;
};

static void stale_take(struct stale *sf, const struct world *w,
		       const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	tu_join(path, sizeof(path), w->dir, name);
	sf->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ck_assert_int_ge(sf->fd, 0);
	ck_assert_int_eq(fstat(sf->fd, &st), 0);
	sf->ino = st.st_ino;
	sf->buf = tu_read_file(path, &sf->len);
	ck_assert_ptr_nonnull(sf->buf);
	stale_watched++;
}

/* The file is byte for byte as it was taken; with `drop`, let it go. */
static void stale_check(struct stale *sf, bool drop)
{
	struct stat st;
	char *now;
	ssize_t n;

	ck_assert_int_eq(fstat(sf->fd, &st), 0);
	ck_assert_msg((size_t)st.st_size == sf->len,
		      "the file of a failed save was written again (size %zu, "
		      "was %zu)",
		      (size_t)st.st_size, sf->len);
	now = malloc(sf->len + 1);
	ck_assert_ptr_nonnull(now);
	n = pread(sf->fd, now, sf->len + 1, 0);
	ck_assert_msg(n == (ssize_t)sf->len && memcmp(now, sf->buf, sf->len) == 0,
		      "the file of a failed save was written again");
	free(now);
	if (drop) {
		close(sf->fd);
		free(sf->buf);
	}
}

static void check_save(struct world *w, const struct outcome *out)
{
	char snap[SESSNAP__NAME_MAX];
	struct stale sf;
	const char *want;
	bool failed = out->rc < 0 && out->rc != SESSNAP_EDURABILITY;

	sessnap__snap_name(snap, w->s_id);
	if (out->rc == 0 || out->rc == SESSNAP_EDURABILITY) {
		want = B;
	} else {
		check_reported(w, out);
		want = A;
	}
	if (out->rc == SESSNAP_EDURABILITY)
		check_reported(w, out);
	/*
	 * A delta append whose flush failed has put B's record and slot into
	 * the page cache: the file then reads as B, the state in flight.
	 */
	if (walk_delta && failed && (out->fired_kinds & SESSNAP__SYS_FSYNC) &&
	    holds(w, snap, B))
		want = B;
	ck_assert_msg(holds(w, snap, want),
		      "%s does not hold the last committed state (rc %d: %s)",
		      snap, out->rc, out->msg);
	assert_loads(w, w->s_id, want, false);
	check_temps(w, out);
	check_bystander(w);
	if (walk_delta && out->fired == 0)
		ck_assert_msg((snap_ino(w, w->s_id) != w->s_ino) == walk_compact,
			      walk_compact ? "the save did not compact"
					   : "the save did not append");
	/*
	 * After a failed write or flush, the file is never appended to again:
	 * the next save compacts into a new file.
	 */
	if (walk_delta && failed &&
	    (out->fired_kinds & (SESSNAP__SYS_WRITE | SESSNAP__SYS_FSYNC)))
		stale_take(&sf, w, snap);
	/* The fault is gone: the pending update was kept and now saves. */
	ck_assert_msg(sessnap_session_flush(w->s) == 0, "retry: %s",
		      sessnap_error_last());
	ck_assert(holds(w, snap, B));
	assert_loads(w, w->s_id, B, false);
	if (walk_delta && failed &&
	    (out->fired_kinds & (SESSNAP__SYS_WRITE | SESSNAP__SYS_FSYNC))) {
		ck_assert_msg(snap_ino(w, w->s_id) != sf.ino,
			      "the save after a failed one (rc %d: %s) did not "
			      "start a new file",
			      out->rc, out->msg);
		stale_check(&sf, false);
		commit_str(w->s, A2);
		ck_assert(holds(w, snap, A2));
		stale_check(&sf, true);
	}
}

/*
 * A save of a store that keeps three older generations: check_save's
 * checks, and every older state still on disk under one of the session's
 * names (a crash or failure in the middle of the rotation may have moved
 * them, never lost them), but A3, the oldest, which the first rename of
 * the rotation drops whether the save then commits or not.
 */
static void check_save_gens(struct world *w, const struct outcome *out)
{
	static const char *const older[] = { A1, A2 };
	char name[SESSNAP__NAME_MAX];
	unsigned int g, k;
	bool found;

	/* The delta layout keeps the older states in one file, as records
	 * the newest two slots no longer point at: check_save's checks. */
	if (walk_delta) {
		check_save(w, out);
		return;
	}
	for (k = 0; k < 2; k++) {
		found = false;
		for (g = 0; g <= SESSNAP_GENERATIONS_MAX && !found; g++) {
			sessnap__gen_name(name, w->s_id, g);
			found = payload_is(w, name, older[k]);
		}
		ck_assert_msg(found, "%s was lost (rc %d: %s)", older[k],
			      out->rc, out->msg);
	}
	sessnap__gen_name(name, w->s_id, 4);
	ck_assert(!exists_in(w, name));
	check_save(w, out);
	/* After the retry, the names are in order again. */
	sessnap__gen_name(name, w->s_id, 1);
	ck_assert(payload_is(w, name, A));
}

static void op_end(struct world *w, struct outcome *out, unsigned int kinds,
		   unsigned long nth, int err, unsigned int flags,
		   unsigned int end_flags)
{
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_session_end(w->s, end_flags);
	w->s = NULL; /* freed, error or not */
	run_armed(out);
}

static void op_end_remove(struct world *w, struct outcome *out,
			  unsigned int kinds, unsigned long nth, int err,
			  unsigned int flags)
{
	op_end(w, out, kinds, nth, err, flags, 0);
}

static void op_end_keep(struct world *w, struct outcome *out,
			unsigned int kinds, unsigned long nth, int err,
			unsigned int flags)
{
	op_end(w, out, kinds, nth, err, flags, SESSNAP_SESSION_KEEP);
}

/*
 * After a failed end the files stay as a crashed session: the snapshot
 * holds A (the flush failed) or B (it succeeded), and the previous
 * generation may already be gone (it is removed first).  Both data files
 * gone means the removal itself completed and only the lock file's
 * unlink failed.
 */
static void check_end_common(struct world *w, const struct outcome *out,
			     bool keep)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	sessnap_load_info *info = NULL;
	json_object *st = NULL;
	bool has_snap;

	sessnap__snap_name(snap, w->s_id);
	sessnap__prev_name(prev, w->s_id);
	/* The handle is gone: so is its lock, whatever happened. */
	ck_assert_int_eq(sessnap__lock_probe(w->store, w->s_id), 0);
	check_temps(w, out);
	check_bystander(w);
	has_snap = exists_in(w, snap);
	if (out->rc == 0) {
		if (keep) {
			ck_assert(holds(w, snap, B));
			ck_assert_int_eq(
			    sessnap_store_load(&st, &info, w->store, w->s_id),
			    0);
			ck_assert_int_eq(info->completed, 1);
			json_object_put(st);
			sessnap_load_info_free(info);
		} else {
			ck_assert(!has_snap && !exists_in(w, prev));
		}
		return;
	}
	check_reported(w, out);
	if (!has_snap) {
		ck_assert_msg(!keep && !exists_in(w, prev),
			      "ending lost %s but kept %s", snap, prev);
		return;
	}
	ck_assert_msg(holds(w, snap, A) || holds(w, snap, B),
		      "%s holds neither committed state after a failed end "
		      "(rc %d: %s)",
		      snap, out->rc, out->msg);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&st, &info, w->store, w->s_id), 0);
	ck_assert_int_eq(info->flags & SESSNAP_LOAD_FROM_PREV, 0);
	json_object_put(st);
	sessnap_load_info_free(info);
}

static void check_end_remove(struct world *w, const struct outcome *out)
{
	check_end_common(w, out, false);
}

static void check_end_keep(struct world *w, const struct outcome *out)
{
	check_end_common(w, out, true);
}

static void op_begin(struct world *w, struct outcome *out, unsigned int kinds,
		     unsigned long nth, int err, unsigned int flags)
{
	sessnap_session *n = NULL;

	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_session_begin(&n, w->store, NULL);
	run_armed(out);
	if (out->rc == 0) {
		ck_assert_ptr_nonnull(n);
		sessnap_session_release(n);
	} else {
		ck_assert_ptr_null(n);
	}
}

/* A failed begin changes nothing: the files of both sessions stay. */
static void check_begin(struct world *w, const struct outcome *out)
{
	char snap[SESSNAP__NAME_MAX];

	if (out->rc < 0) {
		check_reported(w, out);
		/* O and S: .snap, .snap.prev, .lock each */
		ck_assert_int_eq(tu_count_files(w->dir, NULL),
				 walk_delta ? w->nfiles : 6);
	}
	sessnap__snap_name(snap, w->s_id);
	ck_assert(holds(w, snap, A));
	check_temps(w, out);
	check_bystander(w);
}

static void op_load(struct world *w, struct outcome *out, unsigned int kinds,
		    unsigned long nth, int err, unsigned int flags)
{
	sessnap_load_info *info = NULL;
	json_object *st = NULL;
	const char *got;

	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_store_load(&st, &info, w->store, w->s_id);
	run_armed(out);
	if (out->rc == 0) {
		/*
		 * A fault reading the main snapshot must fail the load, never
		 * fall back to the older generation: the main one is intact.
		 */
		got = json_object_to_json_string_ext(
		    st,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		ck_assert_str_eq(got, A);
		ck_assert_int_eq(info->flags & SESSNAP_LOAD_FROM_PREV, 0);
		json_object_put(st);
	} else {
		ck_assert_ptr_null(st);
	}
	sessnap_load_info_free(info);
}

static void check_load(struct world *w, const struct outcome *out)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];

	if (out->rc < 0)
		check_reported(w, out);
	sessnap__snap_name(snap, w->s_id);
	sessnap__prev_name(prev, w->s_id);
	ck_assert(holds(w, snap, A));
	if (!walk_delta)
		ck_assert(payload_is(w, prev, A1));
	check_temps(w, out);
	check_bystander(w);
}

static void op_open(struct world *w, struct outcome *out, unsigned int kinds,
		    unsigned long nth, int err, unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *st = NULL;

	opts.dir = w->dir;
	opts.app = "faults";
	opts.flags = SESSNAP_STORE_NOTHREAD | walk_flags;
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_store_open(&st, &opts);
	run_armed(out);
	if (out->rc == 0)
		ck_assert_int_eq(sessnap_store_close(st), 0);
	else
		ck_assert_ptr_null(st);
}

static void check_open(struct world *w, const struct outcome *out)
{
	if (out->rc < 0)
		check_reported(w, out);
	check_temps(w, out);
	check_bystander(w);
}

/*
 * Scan, adopt and discard work on a crashed session: S is released (its
 * owner "died" with B still pending, which is lost as it would be in a
 * crash), so its last committed state is A.  The release happens before
 * the fault is armed; it frees S's lock descriptor (fd_delta 1).
 */
static void crash_s(struct world *w)
{
	sessnap_session_release(w->s);
	w->s = NULL;
}

static void op_scan(struct world *w, struct outcome *out, unsigned int kinds,
		    unsigned long nth, int err, unsigned int flags)
{
	sessnap_info **infos = NULL;
	size_t n = 0, i;

	crash_s(w);
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_store_scan(&infos, &n, w->store, 0);
	run_armed(out);
	if (out->rc < 0) {
		ck_assert_ptr_null(infos);
		return;
	}
	/*
	 * A fault never makes a session vanish or look crashed or corrupt
	 * without saying why: a file that could not be read is flagged
	 * unreadable, and the other session is listed as usual.
	 */
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++) {
		if (infos[i]->flags & SESSNAP_INFO_UNREADABLE) {
			ck_assert_int_ne(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
			ck_assert_uint_gt(out->fired, 0);
		} else if (strcmp(infos[i]->id, w->s_id) == 0) {
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_CRASHED);
			ck_assert_uint_eq(infos[i]->seq, 2);
		} else {
			ck_assert_str_eq(infos[i]->id, w->o_id);
			ck_assert_int_eq(infos[i]->status,
					 SESSNAP_VERDICT_RUNNING);
		}
	}
	sessnap_info_free(infos, n);
}

/* After scan, adopt or discard: S holds A (or is gone, discard only). */
static void check_crashed(struct world *w, const struct outcome *out,
			  bool may_be_gone)
{
	char snap[SESSNAP__NAME_MAX];

	if (out->rc < 0)
		check_reported(w, out);
	sessnap__snap_name(snap, w->s_id);
	ck_assert_int_eq(sessnap__lock_probe(w->store, w->s_id), 0);
	check_temps(w, out);
	check_bystander(w);
	if (may_be_gone && !exists_in(w, snap))
		return;
	ck_assert_msg(holds(w, snap, A),
		      "%s does not hold the last committed state (rc %d: %s)",
		      snap, out->rc, out->msg);
	assert_loads(w, w->s_id, A, false);
}

static void check_scan(struct world *w, const struct outcome *out)
{
	check_crashed(w, out, false);
}

static void op_adopt(struct world *w, struct outcome *out, unsigned int kinds,
		     unsigned long nth, int err, unsigned int flags)
{
	sessnap_session *n = NULL;
	sessnap_load_info *info = NULL;
	json_object *st = NULL;

	crash_s(w);
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_session_adopt(&n, &st, &info, w->store, w->s_id);
	run_armed(out);
	if (out->rc < 0) {
		ck_assert_ptr_null(n);
		ck_assert_ptr_null(st);
		return;
	}
	ck_assert_str_eq(
	    json_object_to_json_string_ext(
		st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    A);
	ck_assert_int_eq(info->flags & SESSNAP_LOAD_FROM_PREV, 0);
	json_object_put(st);
	/* only one adopter: the lock is ours until released */
	ck_assert_int_eq(sessnap__lock_probe(w->store, w->s_id), 1);
	sessnap_session_release(n);
	sessnap_load_info_free(info);
}

static void check_adopt(struct world *w, const struct outcome *out)
{
	check_crashed(w, out, false);
}

static void op_discard(struct world *w, struct outcome *out, unsigned int kinds,
		       unsigned long nth, int err, unsigned int flags)
{
	crash_s(w);
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_store_discard(w->store, w->s_id);
	run_armed(out);
}

/*
 * A failed discard leaves the session loadable, or (when only the lock
 * file's removal failed) already without data: that was the intent.
 */
static void check_discard(struct world *w, const struct outcome *out)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];

	sessnap__snap_name(snap, w->s_id);
	sessnap__prev_name(prev, w->s_id);
	if (out->rc == 0) {
		ck_assert(!exists_in(w, snap) && !exists_in(w, prev));
		check_temps(w, out);
		check_bystander(w);
		return;
	}
	check_crashed(w, out, true);
}

/*
 * A save of patches (patch.c, session.c's write_patched): with B
 * committed, a batch of two operations turns it into C.  The walk covers
 * the reread of the committed state that builds the saving thread's copy
 * (walk_patch_reread: the session's first patch) or a copy already in
 * memory (walk_patch_copy: a batch D0 saved before), then the save.
 */
#define C "{\"gen\":\"c\",\"text\":\"pending update\",\"n\":[4,5,6,7,8]}"
#define D0 "{\"gen\":\"d0\",\"text\":\"pending update\",\"n\":[4,5,6,7]}"
#define D "{\"gen\":\"d0\",\"text\":\"pending update\",\"n\":[4,5,6,7,8]}"

static bool patch_from_copy;

static void queue_patch(sessnap_session *s, const char *gen)
{
	sessnap_patch_text_op ops[2] = {
		{ SESSNAP_PATCH_REPLACE, "/gen", gen, strlen(gen) },
		{ SESSNAP_PATCH_ADD, "/n/-", "8", 1 },
	};

	ck_assert_msg(sessnap_session_patch_text(s, ops, 2) == 0, "patch: %s",
		      sessnap_error_last());
}

static void op_patch(struct world *w, struct outcome *out, unsigned int kinds,
		     unsigned long nth, int err, unsigned int flags)
{
	sessnap_patch_text_op d0 = { SESSNAP_PATCH_REPLACE, "/gen", "\"d0\"",
				     4 };

	ck_assert_int_eq(sessnap_session_flush(w->s), 0);
	if (patch_from_copy) {
		ck_assert_int_eq(sessnap_session_patch_text(w->s, &d0, 1), 0);
		ck_assert_int_eq(sessnap_session_flush(w->s), 0);
		queue_patch(w->s, "\"d0\"");
	} else {
		queue_patch(w->s, "\"c\"");
	}
	sessnap__fault_arm(kinds, nth, err, flags);
	out->rc = sessnap_session_flush(w->s);
	run_armed(out);
}

/*
 * Saved: all of the batch (C) or, after a failure, none of it: the
 * committed state before the batch still loads; and once the fault is
 * gone, the batch saves: it was kept, never lost.
 */
static void check_patch(struct world *w, const struct outcome *out)
{
	char snap[SESSNAP__NAME_MAX];
	const char *before = patch_from_copy ? D0 : B;
	const char *after = patch_from_copy ? D : C;
	const char *want;

	sessnap__snap_name(snap, w->s_id);
	if (out->rc == 0 || out->rc == SESSNAP_EDURABILITY) {
		want = after;
	} else {
		check_reported(w, out);
		want = before;
	}
	if (out->rc == SESSNAP_EDURABILITY)
		check_reported(w, out);
	/* delta: a failed flush after the append leaves the batch in flight */
	if (walk_delta && out->rc < 0 && out->rc != SESSNAP_EDURABILITY &&
	    (out->fired_kinds & SESSNAP__SYS_FSYNC) && holds(w, snap, after))
		want = after;
	ck_assert_msg(holds(w, snap, want),
		      "%s does not hold %s (rc %d: %s)", snap, want, out->rc,
		      out->msg);
	assert_loads(w, w->s_id, want, false);
	check_temps(w, out);
	check_bystander(w);
	ck_assert_msg(sessnap_session_flush(w->s) == 0, "retry: %s",
		      sessnap_error_last());
	ck_assert(holds(w, snap, after));
	assert_loads(w, w->s_id, after, false);
}

/* ---- the walk ------------------------------------------------------------ */

/* 1 when session s holds its delta file open for the appends, else 0. */
static int append_fd(const sessnap_session *s)
{
	return s != NULL && s->delta != NULL &&
	       sessnap__delta_fd(s->delta) >= 0;
}

/*
 * One iteration: a fresh world, the operation with call N failing, the
 * checks.  Returns whether the fault fired (false: the walk is over).
 * The descriptor count is taken after the world is set up, so it counts
 * the store's and the sessions' own descriptors; `fd_delta` is how many of
 * those the operation releases by design (an ended session's lock).  In
 * the delta layout S may also hold its file open for the appends: that
 * descriptor is counted wherever S holds it, before and after.
 */
static bool walk_one(op_fn op, check_fn check, int fd_delta, unsigned long iter,
		     unsigned int kinds, unsigned long nth, int err,
		     unsigned int flags)
{
	struct outcome out;
	struct world w;
	int fds;

	world_setup(&w, iter);
	fds = tu_count_fds() - append_fd(w.s);
	memset(&out, 0, sizeof(out));
	out.err = flags & SESSNAP__FAULT_SHORT ? 0 : err;
	op(&w, &out, kinds, nth, err, flags);
	fds += append_fd(w.s);
	ck_assert_msg(tu_count_fds() == fds - fd_delta,
		      "descriptor leak: %d open, expected %d (N=%lu, errno "
		      "%d, flags %u, rc %d: %s)",
		      tu_count_fds(), fds - fd_delta, nth, err, flags, out.rc,
		      out.msg);
	if (out.fired == 0)
		ck_assert_msg(out.rc == 0,
			      "failed with no fault injected: %d %s", out.rc,
			      out.msg);
	check(&w, &out);
	world_teardown(&w);
	return out.fired > 0;
}

/* Walk every fault point of one operation; returns how many. */
static unsigned long walk(const char *name, op_fn op, check_fn check,
			  int fd_delta)
{
	static const unsigned int modes[] = { 0, SESSNAP__FAULT_PERSISTENT };
	unsigned long points = 0, iter = 0, nth;
	size_t e, m;

	unsetenv("SESSNAP_TEST_FSYNC");
	stale_watched = 0;
	for (m = 0; m < 2; m++) {
		for (e = 0; e < sizeof(walk_errs) / sizeof(walk_errs[0]); e++) {
			for (nth = 1;; nth++) {
				ck_assert_int_lt(nth, WALK_MAX);
				if (!walk_one(op, check, fd_delta, iter++,
					      SESSNAP__SYS_ALL, nth,
					      walk_errs[e], modes[m]))
					break;
				points++;
			}
		}
		/* short writes, on writes only */
		for (nth = 1;; nth++) {
			ck_assert_int_lt(nth, WALK_MAX);
			if (!walk_one(op, check, fd_delta, iter++,
				      SESSNAP__SYS_WRITE, nth, 0,
				      modes[m] | SESSNAP__FAULT_SHORT))
				break;
			points++;
		}
	}
	if (walk_delta && stale_watched > 0)
		printf("# fault walk %s (%s layout): %lu fault points "
		       "covered, %lu failed saves whose file was watched\n",
		       name, walk_layout, points, stale_watched);
	else if (walk_delta)
		printf("# fault walk %s (%s layout): %lu fault points "
		       "covered\n",
		       name, walk_layout, points);
	else
		printf("# fault walk %s: %lu fault points covered\n", name,
		       points);
	fflush(stdout);
	ck_assert_int_gt(points, 0);
	return points;
}

/*
 * Each walk is a loop test over the layouts; the checked fixture puts the
 * plain layout back before every test, walks or not.
 */
static void walk_reset(void)
{
	set_layout(0);
	walk_gens = 0;
	walk_compact = false;
}

START_TEST(walk_save)
{
	/* every call of a save: create, fallocate, write, fdatasync, close,
	 * link, rename, fsync of the directory, and the cleanup unlinks;
	 * in the delta layout the append's writes and its one fdatasync */
	set_layout(_i);
	ck_assert_int_ge(walk("save", op_save, check_save, 0),
			 walk_delta ? 20 : 60);
}
END_TEST

/*
 * A save that starts a new file in the delta layout (a new label): every
 * call of a compaction, tmp-then-rename as in the plain layout.
 */
START_TEST(walk_save_compaction)
{
	set_layout(_i);
	walk_compact = true;
	ck_assert_int_ge(walk("save, compaction", op_save, check_save, 0),
			 60);
}
END_TEST

START_TEST(walk_save_generations)
{
	set_layout(_i);
	walk_gens = 3;
	ck_assert_int_ge(
	    walk("save, 3 generations", op_save, check_save_gens, 0),
	    walk_delta ? 20 : 60);
	walk_gens = 0;
}
END_TEST

START_TEST(walk_end_remove)
{
	set_layout(_i);
	walk("end", op_end_remove, check_end_remove, 1);
}
END_TEST

START_TEST(walk_end_keep)
{
	set_layout(_i);
	walk("end-keep", op_end_keep, check_end_keep, 1);
}
END_TEST

START_TEST(walk_begin)
{
	set_layout(_i);
	walk("begin", op_begin, check_begin, 0);
}
END_TEST

START_TEST(walk_load)
{
	set_layout(_i);
	walk("load", op_load, check_load, 0);
}
END_TEST

START_TEST(walk_scan)
{
	set_layout(_i);
	walk("scan", op_scan, check_scan, 1);
}
END_TEST

START_TEST(walk_adopt)
{
	set_layout(_i);
	walk("adopt", op_adopt, check_adopt, 1);
}
END_TEST

START_TEST(walk_discard)
{
	set_layout(_i);
	walk("discard", op_discard, check_discard, 1);
}
END_TEST

START_TEST(walk_open)
{
	set_layout(_i);
	walk("open", op_open, check_open, 0);
}
END_TEST

START_TEST(walk_patch_reread)
{
	set_layout(_i);
	patch_from_copy = false;
	ck_assert_int_ge(walk("patch, copy reread", op_patch, check_patch, 0),
			 walk_delta ? 20 : 60);
}
END_TEST

START_TEST(walk_patch_copy)
{
	set_layout(_i);
	patch_from_copy = true;
	ck_assert_int_ge(
	    walk("patch, copy in memory", op_patch, check_patch, 0),
	    walk_delta ? 20 : 60);
	patch_from_copy = false;
}
END_TEST

/* ---- errors: particular failures, named -------------------------------- */

/* fsyncgate: a failed fdatasync is never retried and the save fails. */
START_TEST(fdatasync_failure_not_retried)
{
	struct world w;
	char snap[SESSNAP__NAME_MAX];
	int rc;

	unsetenv("SESSNAP_TEST_FSYNC");
	world_setup(&w, 0);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, 1, EIO, 0);
	rc = sessnap_session_flush(w.s);
	ck_assert_int_eq(sessnap__fault_disarm(), 1);
	ck_assert_int_eq(rc, SESSNAP_EIO);
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), "fdatasync"));
	sessnap__snap_name(snap, w.s_id);
	ck_assert(payload_is(&w, snap, A));
	ck_assert_int_eq(tu_count_files(w.dir, "."), 0);
	world_teardown(&w);
}
END_TEST

/* The directory fsync fails after the commit: "saved, durability
 * unknown", and the new state is in place. */
START_TEST(dir_fsync_failure_is_edurability)
{
	struct world w;
	char snap[SESSNAP__NAME_MAX];
	int rc;

	unsetenv("SESSNAP_TEST_FSYNC");
	world_setup(&w, 0);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, 2, EIO, 0);
	rc = sessnap_session_flush(w.s);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EDURABILITY);
	sessnap__snap_name(snap, w.s_id);
	ck_assert(payload_is(&w, snap, B));
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), w.dir));
	world_teardown(&w);
}
END_TEST

/* EINTR on write is retried: the save succeeds. */
START_TEST(eintr_on_write_retried)
{
	struct world w;
	char snap[SESSNAP__NAME_MAX];

	world_setup(&w, 0);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, EINTR, 0);
	ck_assert_int_eq(sessnap_session_flush(w.s), 0);
	ck_assert_int_eq(sessnap__fault_fired(), 1);
	sessnap__fault_disarm();
	sessnap__snap_name(snap, w.s_id);
	ck_assert(payload_is(&w, snap, B));
	world_teardown(&w);
}
END_TEST

/* A persistent ENOSPC keeps failing; the app's newest state waits in
 * memory and is saved once space is back. */
START_TEST(persistent_enospc_then_recovery)
{
	struct world w;
	char snap[SESSNAP__NAME_MAX];
	int i;

	world_setup(&w, 0);
	sessnap__snap_name(snap, w.s_id);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC,
			   SESSNAP__FAULT_PERSISTENT);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(sessnap_session_flush(w.s), SESSNAP_ENOSPC);
		ck_assert(payload_is(&w, snap, A));
		ck_assert_int_eq(tu_count_files(w.dir, "."), 0);
	}
	sessnap__fault_disarm();
	ck_assert_int_eq(sessnap_session_flush(w.s), 0);
	ck_assert(payload_is(&w, snap, B));
	world_teardown(&w);
}
END_TEST

/* ---- disk full ------------------------------------------------------------
 */

/* A state of about `bytes` bytes. */
static json_object *big_state(size_t bytes)
{
	json_object *st = json_object_new_object();
	char *pad = malloc(bytes + 1);

	ck_assert_ptr_nonnull(pad);
	memset(pad, 'x', bytes);
	pad[bytes] = '\0';
	json_object_object_add(st, "pad", json_object_new_string(pad));
	free(pad);
	return st;
}

/*
 * RLIMIT_FSIZE with SIGXFSZ ignored: a write past the limit is cut short,
 * then fails with EFBIG.  _i = 0: as the file system behaves, fallocate
 * fails first; _i = 1: without fallocate (the seam says EOPNOTSUPP), so
 * the short write and the EFBIG are met by the write loop.  Either way the
 * save fails cleanly, the old state stays, and once the limit is lifted
 * the same pending state saves.
 */
START_TEST(disk_full_rlimit_fsize)
{
	struct rlimit old, lim;
	struct world w;
	char snap[SESSNAP__NAME_MAX];
	json_object *st;
	void (*old_handler)(int);
	int rc;

	world_setup(&w, 0);
	ck_assert_int_eq(sessnap_session_flush(w.s), 0); /* B committed */
	sessnap__snap_name(snap, w.s_id);
	st = big_state(64 * 1024);
	ck_assert_int_eq(sessnap_session_update(w.s, st), 0);

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	old_handler = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 16 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	if (_i == 1)
		sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, EOPNOTSUPP,
				   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_session_flush(w.s);
	sessnap__fault_disarm();
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), _i ? "write" : "fallocate"));
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), w.dir));
	ck_assert(payload_is(&w, snap, B));
	ck_assert_int_eq(tu_count_files(w.dir, "."), 0);
	check_bystander(&w);

	/* space again: the pending state is saved */
	ck_assert_int_eq(sessnap_session_flush(w.s), 0);
	assert_loads(
	    &w, w.s_id,
	    json_object_to_json_string_ext(
		st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    false);
	json_object_put(st);
	world_teardown(&w);
}
END_TEST

static int write_id_map(const char *file, const char *line)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, line, strlen(line));
	close(fd);
	return n == (ssize_t)strlen(line) ? 0 : -1;
}

/*
 * In a child: a new user and mount namespace, a 256 KiB tmpfs, a store on
 * it, filled up with a filler file.  Exit 77 when namespaces or the mount
 * are not permitted, 0 when every check passed, 1 otherwise (with a
 * message).  Plain checks, no ck_assert: this runs in a child of the
 * test, and with CK_FORK=no a failed assertion would unwind into check's
 * runner inside the child.
 */
#define FAILIF(cond, ...)                                                      \
	do {                                                                   \
		if (cond) {                                                    \
			fprintf(stderr, "disk_full_tmpfs: " __VA_ARGS__);      \
			fprintf(stderr, " (%s)\n", sessnap_error_last());      \
			_exit(1);                                              \
		}                                                              \
	} while (0)

/* big_state() without check's assertions, which a forked child of a
 * CK_FORK=no run must not use (a failure would unwind into the runner). */
static json_object *child_state(size_t bytes)
{
	json_object *st = json_object_new_object();
	char *pad = malloc(bytes + 1);

	if (st == NULL || pad == NULL)
		_exit(1);
	memset(pad, 'x', bytes);
	pad[bytes] = '\0';
	json_object_object_add(st, "pad", json_object_new_string(pad));
	free(pad);
	return st;
}

static void tmpfs_child(const char *mnt)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	char map[64], store_dir[PATH_MAX], filler[PATH_MAX];
	sessnap_store *store;
	sessnap_session *s;
	json_object *a, *b, *got;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int fd, rc;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		_exit(77);
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
	if (write_id_map("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		_exit(77);
	if (write_id_map("/proc/self/uid_map", map) < 0)
		_exit(77);
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
	if (write_id_map("/proc/self/gid_map", map) < 0)
		_exit(77);
	/* the type is ignored for MS_PRIVATE; a non-NULL one keeps valgrind
	 * from flagging the call */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") < 0)
		_exit(77);

	FAILIF(snprintf(store_dir, sizeof(store_dir), "%s/%s", mnt, "store") >=
		       (int)sizeof(store_dir) ||
		   snprintf(filler, sizeof(filler), "%s/%s", mnt, "filler") >=
		       (int)sizeof(filler),
	       "path too long");
	opts.dir = store_dir;
	opts.app = "diskfull";
	opts.flags = SESSNAP_STORE_NOTHREAD;
	FAILIF(sessnap_store_open(&store, &opts) < 0, "open");
	FAILIF(sessnap_session_begin(&s, store, NULL) < 0, "begin");
	a = child_state(4096);
	FAILIF(sessnap_session_update(s, a) < 0, "update");
	FAILIF(sessnap_session_flush(s) < 0, "save A");

	/* fill the file system to the last block */
	fd = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FAILIF(fd < 0, "create filler");
	{
		char block[4096];

		memset(block, 'f', sizeof(block));
		while (write(fd, block, sizeof(block)) > 0)
			;
		while (write(fd, block, 1) > 0)
			;
		FAILIF(errno != ENOSPC, "filler stopped with %d", errno);
	}
	close(fd);

	b = child_state(32 * 1024);
	FAILIF(sessnap_session_update(s, b) < 0, "update B");
	rc = sessnap_session_flush(s);
	FAILIF(rc != SESSNAP_ENOSPC, "save on a full disk returned %d", rc);
	FAILIF(strstr(sessnap_error_last(), store_dir) == NULL,
	       "message names no file");
	FAILIF(tu_count_files(store_dir, ".") != 0, "temp file left");
	FAILIF(sessnap_store_load(&got, NULL, store, sessnap_session_id(s)) < 0,
	       "load after the failure");
	FAILIF(!json_object_equal(got, a), "old state not kept");
	json_object_put(got);

	/* space again */
	FAILIF(unlink(filler) < 0, "unlink filler");
	FAILIF(sessnap_session_flush(s) < 0, "save after space came back");
	FAILIF(sessnap_store_load(&got, NULL, store, sessnap_session_id(s)) < 0,
	       "load after recovery");
	FAILIF(!json_object_equal(got, b), "new state not saved");
	json_object_put(got);
	json_object_put(a);
	json_object_put(b);
	FAILIF(sessnap_session_end(s, 0) < 0, "end");
	sessnap_store_close(store);
	_exit(0);
}

START_TEST(disk_full_tmpfs)
{
	char mnt[PATH_MAX];
	int status;
	pid_t pid;

	tu_join(mnt, sizeof(mnt), tu_dir, "mnt");
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		tmpfs_child(mnt);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		printf("# disk_full_tmpfs: skipped: this system does not "
		       "permit unshare --user --mount or a tmpfs mount\n");
		fflush(stdout);
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- edge ------------------------------------------------------------------
 */

/* An orphaned temp file (a save that could not remove it) is never
 * promoted by the loader, and the next save does not trip on it. */
START_TEST(orphan_temp_never_promoted)
{
	struct world w;
	char snap[SESSNAP__NAME_MAX];
	int rc;

	world_setup(&w, 0);
	/* fail the commit rename and the temp file's unlink */
	sessnap__fault_arm(SESSNAP__SYS_RENAME | SESSNAP__SYS_UNLINK, 2, EIO,
			   SESSNAP__FAULT_PERSISTENT);
	rc = sessnap_session_flush(w.s);
	sessnap__fault_disarm();
	ck_assert_int_lt(rc, 0);
	ck_assert_int_ge(tu_count_files(w.dir, "."), 1);
	sessnap__snap_name(snap, w.s_id);
	ck_assert(payload_is(&w, snap, A));
	assert_loads(&w, w.s_id, A, false);
	ck_assert_int_eq(sessnap_session_flush(w.s), 0);
	assert_loads(&w, w.s_id, B, false);
	world_teardown(&w);
}
END_TEST

/* The injector counts only the armed kinds and reports what it hit. */
START_TEST(injector_counts_kinds)
{
	struct world w;

	world_setup(&w, 0);
	sessnap__fault_arm(SESSNAP__SYS_RENAME, 1000, EIO, 0);
	ck_assert_int_eq(sessnap_session_flush(w.s), 0);
	/* a save renames twice: previous generation, then the commit */
	ck_assert_int_eq(sessnap__fault_disarm(), 2);
	ck_assert_int_eq(sessnap__fault_fired(), 0);
	ck_assert_int_eq(sessnap__fault_fired_kinds(), 0);
	update_str(w.s, A);
	sessnap__fault_arm(SESSNAP__SYS_RENAME, 1, EIO, 0);
	ck_assert_int_lt(sessnap_session_flush(w.s), 0);
	ck_assert_int_eq(sessnap__fault_fired_kinds(), SESSNAP__SYS_RENAME);
	sessnap__fault_disarm();
	world_teardown(&w);
}
END_TEST

Suite *faults_suite(void);

Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *core = tcase_create("core");
	TCase *errors = tcase_create("errors");
	TCase *edge = tcase_create("edge");

	tu_tcase_add_tmpdir(core);
	tcase_add_checked_fixture(core, walk_reset, NULL);
	tcase_set_timeout(core, 600);
	tcase_add_loop_test(core, walk_save, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_save_compaction, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_save_generations, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_end_remove, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_end_keep, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_begin, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_load, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_open, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_scan, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_adopt, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_discard, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_patch_reread, 0, NLAYOUTS);
	tcase_add_loop_test(core, walk_patch_copy, 0, NLAYOUTS);
	suite_add_tcase(s, core);

	tu_tcase_add_tmpdir(errors);
	tcase_add_checked_fixture(errors, walk_reset, NULL);
	tcase_add_test(errors, fdatasync_failure_not_retried);
	tcase_add_test(errors, dir_fsync_failure_is_edurability);
	tcase_add_test(errors, eintr_on_write_retried);
	tcase_add_test(errors, persistent_enospc_then_recovery);
	tcase_add_loop_test(errors, disk_full_rlimit_fsize, 0, 2);
	tcase_add_test(errors, disk_full_tmpfs);
	suite_add_tcase(s, errors);

	tu_tcase_add_tmpdir(edge);
	tcase_add_checked_fixture(edge, walk_reset, NULL);
	tcase_add_test(edge, orphan_temp_never_promoted);
	tcase_add_test(edge, injector_counts_kinds);
	suite_add_tcase(s, edge);
	return s;
}

/*
 * The walk sets up thousands of stores with durability FULL.  The injector
 * fails calls before they reach the kernel, so a tmpfs covers the same
 * fault points as a disk, without waiting for thousands of real fsyncs:
 * use /dev/shm when TMPDIR is not set and it is writable.
 */
int main(void)
{
	if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK | X_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	return tu_run_suite(faults_suite());
}
