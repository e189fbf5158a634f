/*
 * check_powerloss.c - a power loss at every instant of a sequence of saves
 *
 * A kill -9 proves process crashes only: the page cache survives them.  To
 * simulate a power loss, this suite traces every mutating call that a
 * sequence of saves makes at the seam (sessnap__sys_set_trace()), then
 * replays each prefix of the trace into a model of a file system that
 * keeps only what was made durable:
 *
 *   - a file's content survives as of its last fsync/fdatasync; content
 *     written after it (or never synced) is dropped - or, in the second
 *     variant, replaced by zeros of the same length, as ext4's delayed
 *     allocation did in 2009;
 *   - the directory's entries (create, link, rename, unlink) survive as of
 *     the directory's last fsync.
 *
 * After each prefix the surviving files are written to a scratch store and
 * loaded (as ALICE and SQLite's test6.c do).  With durability FULL the
 * loaded state must be valid and equal to the last save that returned
 * before the crash, or to the one in progress; before the first save
 * returned, the session may also be absent.
 *
 * A third variant lets the writes made since a file's last sync survive
 * in any combination, as a disk that reorders them may leave them: every
 * subset of them, and each one torn (only its first half written) with
 * the others present or not.  That is what a delta append meets (record
 * written and slot not, slot written and record not, a torn slot), so
 * each walk runs once with the plain layout and once with the delta one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define SAVES 5
/*
 * The delta layout's sequence: save 1 starts a file, 2 appends, 3 has a
 * new label and compacts, 4 to 7 append; 6 and 7 write their records
 * over those of 4 and 5 (a file keeps the newest two).
 */
#define DELTA_SAVES 7
#define SAVES_MAX DELTA_SAVES
/* How many saves the recorded sequence made. */
static int nsaves;
#define MAX_EVENTS 1024
#define MAX_FILES 64
#define MAX_INODES 256
#define MAX_FDS 64
/* Unsynced writes of the files that survive, for the subset variant: at
 * most 2^MAX_PEND combinations at one crash point. */
#define MAX_PEND 6

struct event {
	enum sessnap__trace_op op;
	int fd;
	char path[SESSNAP__NAME_MAX + 32];
	char path2[SESSNAP__NAME_MAX + 32];
	char *buf;
	size_t len;
	/* pwrite: where, as traced; write: where, found by the replay */
	long long off;
};

static struct event events[MAX_EVENTS];
static size_t nevents;

static void record(const struct sessnap__trace_event *ev, void *arg)
{
	struct event *e;

	(void)arg;
	ck_assert_int_lt(nevents, MAX_EVENTS);
	e = &events[nevents++];
	memset(e, 0, sizeof(*e));
	e->op = ev->op;
	e->fd = ev->fd;
	if (ev->path != NULL)
		strlcpy(e->path, ev->path, sizeof(e->path));
	if (ev->path2 != NULL)
		strlcpy(e->path2, ev->path2, sizeof(e->path2));
	e->len = ev->len;
	e->off = ev->off;
	if (ev->op == SESSNAP__TRACE_WRITE || ev->op == SESSNAP__TRACE_PWRITE) {
		e->buf = malloc(ev->len);
		ck_assert_ptr_nonnull(e->buf);
		memcpy(e->buf, ev->buf, ev->len);
	}
}

/* ---- the model ----------------------------------------------------------- */

struct inode {
	char *vol; /* what a reader sees now */
	size_t vol_len;
	char *dur; /* what survives a power loss */
	size_t dur_len;
	bool synced;
	/* the writes since the last sync, as indexes into events[] */
	size_t pend[MAX_EVENTS];
	size_t npend;
};

struct entry {
	char name[SESSNAP__NAME_MAX + 32];
	int ino;
};

struct model {
	struct inode ino[MAX_INODES];
	int ninodes;
	struct entry vol[MAX_FILES]; /* the directory now */
	int nvol;
	struct entry dur[MAX_FILES]; /* the directory as last synced */
	int ndur;
	int fd_ino[MAX_FDS];
	size_t fd_off[MAX_FDS];
};

static int lookup(const struct model *m, const char *name)
{
	int i;

	for (i = 0; i < m->nvol; i++)
		if (strcmp(m->vol[i].name, name) == 0)
			return i;
	return -1;
}

static void dir_set(struct model *m, const char *name, int ino)
{
	int i = lookup(m, name);

	if (i < 0) {
		ck_assert_int_lt(m->nvol, MAX_FILES);
		i = m->nvol++;
		strlcpy(m->vol[i].name, name, sizeof(m->vol[i].name));
	}
	m->vol[i].ino = ino;
}

static void dir_del(struct model *m, const char *name)
{
	int i = lookup(m, name);

	ck_assert_int_ge(i, 0);
	m->vol[i] = m->vol[--m->nvol];
}

static void grow(struct inode *n, size_t len)
{
	if (len <= n->vol_len)
		return;
	n->vol = realloc(n->vol, len);
	ck_assert_ptr_nonnull(n->vol);
	memset(n->vol + n->vol_len, 0, len - n->vol_len);
	n->vol_len = len;
}

static void apply(struct model *m, struct event *e)
{
	struct inode *n;
	int i;

	switch (e->op) {
	case SESSNAP__TRACE_CREATE:
		ck_assert(e->fd >= 0 && e->fd < MAX_FDS);
		i = lookup(m, e->path);
		if (i >= 0) {
			m->fd_ino[e->fd] = m->vol[i].ino; /* opened, existed */
		} else {
			ck_assert_int_lt(m->ninodes, MAX_INODES);
			m->fd_ino[e->fd] = m->ninodes++;
			dir_set(m, e->path, m->fd_ino[e->fd]);
		}
		m->fd_off[e->fd] = 0;
		break;
	case SESSNAP__TRACE_WRITE:
		n = &m->ino[m->fd_ino[e->fd]];
		e->off = (long long)m->fd_off[e->fd];
		grow(n, (size_t)e->off + e->len);
		memcpy(n->vol + e->off, e->buf, e->len);
		m->fd_off[e->fd] += e->len;
		n->pend[n->npend++] = (size_t)(e - events);
		break;
	case SESSNAP__TRACE_PWRITE: /* in place: the file offset stays */
		n = &m->ino[m->fd_ino[e->fd]];
		grow(n, (size_t)e->off + e->len);
		memcpy(n->vol + e->off, e->buf, e->len);
		n->pend[n->npend++] = (size_t)(e - events);
		break;
	case SESSNAP__TRACE_FALLOCATE:
		grow(&m->ino[m->fd_ino[e->fd]], e->len);
		break;
	case SESSNAP__TRACE_FSYNC:
		if (e->fd >= 0 && e->fd < MAX_FDS && m->fd_ino[e->fd] >= 0) {
			n = &m->ino[m->fd_ino[e->fd]];
			free(n->dur);
			n->dur = malloc(n->vol_len + 1);
			ck_assert_ptr_nonnull(n->dur);
			memcpy(n->dur, n->vol, n->vol_len);
			n->dur_len = n->vol_len;
			n->synced = true;
			n->npend = 0;
		} else {
			/* the store directory's descriptor */
			memcpy(m->dur, m->vol, sizeof(m->vol));
			m->ndur = m->nvol;
		}
		break;
	case SESSNAP__TRACE_RENAME:
		i = lookup(m, e->path);
		ck_assert_int_ge(i, 0);
		dir_set(m, e->path2, m->vol[i].ino);
		dir_del(m, e->path);
		break;
	case SESSNAP__TRACE_LINK:
		i = lookup(m, e->path);
		ck_assert_int_ge(i, 0);
		dir_set(m, e->path2, m->vol[i].ino);
		break;
	case SESSNAP__TRACE_UNLINK:
		dir_del(m, e->path);
		break;
	case SESSNAP__TRACE_MKDIR:
		break;
	case SESSNAP__TRACE_CLOSE:
		if (e->fd >= 0 && e->fd < MAX_FDS)
			m->fd_ino[e->fd] = -1;
		break;
	}
}

/*
 * Which unsynced writes survive: the writes since their file's last sync,
 * of the files that survive, numbered in the order they were made; bit j
 * of `keep` keeps write j whole, and write `torn` (when not -1) survives
 * as its first 1/`cut` only (a half, or an eighth: a slot's line cut in
 * its JSON).  NONE keeps none of them.
 */
struct survivors {
	unsigned int keep;
	int torn;
	size_t cut;
};

static const struct survivors NONE = { 0, -1, 2 };

/* The unsynced writes of the files that survive, in the order made. */
static size_t pending(const struct model *m, size_t out[MAX_EVENTS])
{
	size_t n = 0, j, k;
	int i, a;
	bool seen;

	for (i = 0; i < m->ndur; i++) {
		seen = false;
		for (a = 0; a < i && !seen; a++)
			seen = m->dur[a].ino == m->dur[i].ino;
		if (seen)
			continue;
		for (j = 0; j < m->ino[m->dur[i].ino].npend; j++)
			out[n++] = m->ino[m->dur[i].ino].pend[j];
	}
	/* in event order: insertion sort of a few entries */
	for (j = 1; j < n; j++)
		for (k = j; k > 0 && out[k - 1] > out[k]; k--) {
			size_t t = out[k];

			out[k] = out[k - 1];
			out[k - 1] = t;
		}
	return n;
}

/*
 * Write what survives into dir: the synced directory entries, each with
 * its inode's synced content; an inode never synced is empty, or (zero)
 * zero-filled to the length it had; then the unsynced writes that `sv`
 * keeps, over that content.
 */
static void materialize(const struct model *m, const char *dir, bool zero,
			struct survivors sv)
{
	const struct inode *n;
	const struct event *e;
	size_t pend[MAX_EVENTS], np, j, len, size, cap;
	char *c;
	int i, p;

	np = pending(m, pend);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (i = 0; i < m->ndur; i++) {
		n = &m->ino[m->dur[i].ino];
		size = n->synced ? n->dur_len : zero ? n->vol_len : 0;
		cap = size > n->vol_len ? size : n->vol_len;
		c = calloc(1, cap + 1);
		ck_assert_ptr_nonnull(c);
		if (n->synced)
			memcpy(c, n->dur, n->dur_len);
		for (j = 0; j < n->npend; j++) {
			for (p = 0; (size_t)p < np && pend[p] != n->pend[j]; p++)
				;
			ck_assert_uint_lt((size_t)p, np);
			if (p == sv.torn)
				len = events[pend[p]].len / sv.cut;
			else if (p < MAX_PEND && (sv.keep & (1u << p)))
				len = events[pend[p]].len;
			else
				continue;
			e = &events[pend[p]];
			ck_assert_uint_le((size_t)e->off + len, cap);
			memcpy(c + e->off, e->buf, len);
			if ((size_t)e->off + len > size)
				size = (size_t)e->off + len;
		}
		tu_write_file(dir, m->dur[i].name, c, size);
		free(c);
	}
}

/* ---- the test
 * ---------------------------------------------------------------- */

static char state_json[SAVES_MAX + 1][64];

static void record_saves(const char *dir, char id[SESSNAP_ID_LEN + 1],
			 size_t done_at[SAVES_MAX + 1], unsigned int gens,
			 unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store;
	sessnap_session *s;
	json_object *st;
	int i;

	unsetenv("SESSNAP_TEST_FSYNC");
	opts.dir = dir;
	opts.app = "powerloss";
	opts.durability = SESSNAP_DURABILITY_FULL;
	opts.flags = SESSNAP_STORE_NOTHREAD | flags;
	opts.generations = gens;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	nevents = 0;
	sessnap__sys_set_trace(record, NULL);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), SESSNAP_ID_LEN + 1);
	done_at[0] = nevents;
	nsaves = flags != 0 ? DELTA_SAVES : SAVES;
	for (i = 1; i <= nsaves; i++) {
		snprintf(state_json[i], sizeof(state_json[i]),
			 "{\"save\":%d,\"text\":\"generation %d\"}", i, i);
		st = json_tokener_parse(state_json[i]);
		/* delta: a new label, a new file, at the third save */
		if (flags != 0 && i == 3)
			ck_assert_int_eq(sessnap_session_set_label(s, "new"), 0);
		ck_assert_int_eq(sessnap_session_update(s, st), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(st);
		done_at[i] = nevents;
	}
	sessnap__sys_set_trace(NULL, NULL);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}

/*
 * One crash point: what survives under `sv` is written to a scratch store
 * and loaded; `d` saves had returned.  The state must be the last one that
 * returned or the one in progress (or none at all before the first).
 */
static void check_point(const struct model *m, const char *id, size_t k,
			int d, bool zero, struct survivors sv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_load_info *info = NULL;
	char scratch[PATH_MAX], name[64];
	sessnap_store *store;
	json_object *st = NULL;
	const char *got;
	int rc;

	snprintf(name, sizeof(name), "crash%zu", k);
	tu_join(scratch, sizeof(scratch), tu_dir, name);
	materialize(m, scratch, zero, sv);
	opts.dir = scratch;
	opts.app = "powerloss";
	opts.flags = SESSNAP_STORE_READONLY;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	rc = sessnap_store_load(&st, &info, store, id);
	sessnap_load_info_free(info);
	if (d == 0 && rc == SESSNAP_ENOTFOUND) {
		sessnap_store_close(store);
		ck_assert_int_eq(tu_rm_rf(scratch), 0);
		return;
	}
	ck_assert_msg(rc == 0,
		      "power loss after event %zu of %zu (%d saves "
		      "returned, unsynced writes kept %#x, torn %d at 1/%zu): "
		      "load failed: %s",
		      k, nevents, d, sv.keep, sv.torn, sv.cut,
		      sessnap_error_last());
	got = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);
	ck_assert_msg((d > 0 && strcmp(got, state_json[d]) == 0) ||
			  (d < nsaves && strcmp(got, state_json[d + 1]) == 0),
		      "power loss after event %zu (%d saves returned, "
		      "unsynced writes kept %#x, torn %d at 1/%zu): loaded %s",
		      k, d, sv.keep, sv.torn, sv.cut, got);
	json_object_put(st);
	sessnap_store_close(store);
	ck_assert_int_eq(tu_rm_rf(scratch), 0);
}

/*
 * Replay every prefix of saves to a store that keeps `gens` older
 * generations, with store flags `flags`; returns how many crash points
 * were checked.  With `subsets`, each crash point is checked once for
 * every combination of the unsynced writes that survive, and once for
 * each of them torn with the ones before it kept or not; else once, with
 * none of them.
 */
static size_t replay(bool zero, unsigned int gens, unsigned int flags,
		     bool subsets)
{
	char rec_dir[PATH_MAX], id[SESSNAP_ID_LEN + 1];
	size_t done_at[SAVES_MAX + 1], pend[MAX_EVENTS], k, np, checked = 0;
	struct survivors sv;
	struct model *m;
	unsigned int mask;
	int d, i, t;

	tu_join(rec_dir, sizeof(rec_dir), tu_dir, "recorded");
	record_saves(rec_dir, id, done_at, gens, flags);
	ck_assert_int_gt(nevents, nsaves * 5);

	m = calloc(1, sizeof(*m));
	ck_assert_ptr_nonnull(m);
	for (i = 0; i < MAX_FDS; i++)
		m->fd_ino[i] = -1;
	for (k = 0; k <= nevents; k++) {
		if (k > 0)
			apply(m, &events[k - 1]);
		/* saves that returned before the crash */
		for (d = 0; d < nsaves && done_at[d + 1] <= k; d++)
			;
		if (!subsets) {
			check_point(m, id, k, d, zero, NONE);
			checked++;
			continue;
		}
		np = pending(m, pend);
		ck_assert_msg(np <= MAX_PEND,
			      "%zu unsynced writes at event %zu: more than "
			      "the replay combines",
			      np, k);
		sv = NONE;
		for (mask = 0; mask < 1u << np; mask++) {
			sv.keep = mask;
			check_point(m, id, k, d, zero, sv);
			checked++;
		}
		for (t = 0; (size_t)t < np; t++) {
			for (sv.cut = 2; sv.cut <= 8; sv.cut *= 4) {
				if (events[pend[t]].len < sv.cut)
					continue;
				sv.torn = t;
				sv.keep = 0;
				check_point(m, id, k, d, zero, sv);
				sv.keep = (1u << t) - 1;
				check_point(m, id, k, d, zero, sv);
				checked += 2;
			}
		}
	}
	for (k = 0; k < nevents; k++)
		free(events[k].buf);
	for (i = 0; i < m->ninodes; i++) {
		free(m->ino[i].vol);
		free(m->ino[i].dur);
	}
	free(m);
	return checked;
}

START_TEST(every_prefix_drop_unsynced)
{
	size_t n = replay(false, 0, 0, false);

	printf("# power loss: %zu crash points checked (unsynced data "
	       "dropped)\n",
	       n);
	fflush(stdout);
}
END_TEST

START_TEST(every_prefix_zero_unsynced)
{
	size_t n = replay(true, 0, 0, false);

	printf("# power loss: %zu crash points checked (unsynced data "
	       "zero-filled)\n",
	       n);
	fflush(stdout);
}
END_TEST

/* The same with three older generations, rotated by every save. */
START_TEST(every_prefix_three_generations)
{
	size_t n = replay(_i == 1, 3, 0, false);

	printf("# power loss, 3 generations: %zu crash points checked "
	       "(unsynced data %s)\n",
	       n, _i == 1 ? "zero-filled" : "dropped");
	fflush(stdout);
}
END_TEST

/*
 * The layouts of the subset variant (a loop test's _i): the plain one and
 * the delta one.
 */
static const struct {
	const char *name;
	unsigned int flags;
} layouts[] = {
	{ "plain", 0 },
	{ "delta", SESSNAP_STORE_DELTA },
	{ "delta, compressed base",
	  SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE },
};
#define NLAYOUTS ((int)(sizeof(layouts) / sizeof(layouts[0])))

/*
 * Every prefix, and at each the unsynced writes in every combination and
 * torn: in the delta layout an append's record and slot (either without
 * the other, or torn) and a compaction (the middle save's new label).
 */
START_TEST(every_prefix_unsynced_any_subset)
{
	size_t n = replay(false, 0, layouts[_i].flags, true);

	printf("# power loss, %s layout: %zu crash states checked (at every "
	       "event, the unsynced writes in every combination, each "
	       "torn)\n",
	       layouts[_i].name, n);
	fflush(stdout);
}
END_TEST

/* The tracer sees the calls of a save in the protocol's order. */
START_TEST(trace_follows_the_protocol)
{
	char rec_dir[PATH_MAX], id[SESSNAP_ID_LEN + 1];
	size_t done_at[SAVES_MAX + 1], k, fsync_data = 0, fsync_dir = 0;
	size_t commit = 0;
	char snap[SESSNAP__NAME_MAX];

	tu_join(rec_dir, sizeof(rec_dir), tu_dir, "recorded");
	record_saves(rec_dir, id, done_at, 0, 0);
	sessnap__snap_name(snap, id);
	/* last save: data fsync < commit rename < directory fsync */
	for (k = done_at[SAVES - 1]; k < done_at[SAVES]; k++) {
		if (events[k].op == SESSNAP__TRACE_FSYNC && commit == 0 &&
		    fsync_data == 0)
			fsync_data = k + 1;
		else if (events[k].op == SESSNAP__TRACE_RENAME &&
			 strcmp(events[k].path2, snap) == 0)
			commit = k + 1;
		else if (events[k].op == SESSNAP__TRACE_FSYNC && commit != 0)
			fsync_dir = k + 1;
	}
	ck_assert_uint_gt(fsync_data, 0);
	ck_assert_uint_gt(commit, fsync_data);
	ck_assert_uint_gt(fsync_dir, commit);
	for (k = 0; k < nevents; k++)
		free(events[k].buf);
}
END_TEST

/*
 * The delta layout's trace, save by save: an append is its record's and
 * its slot's writes in place and one flush, nothing else that changes
 * the store; a compaction (saves 1 and 3) writes a new file and renames
 * it into place.  So the replay above walks both.
 */
START_TEST(trace_delta_appends_and_compactions)
{
	char rec_dir[PATH_MAX], id[SESSNAP_ID_LEN + 1];
	char snap[SESSNAP__NAME_MAX];
	size_t done_at[SAVES_MAX + 1], k, pwrites, syncs, renames, other;
	int i;

	tu_join(rec_dir, sizeof(rec_dir), tu_dir, "recorded");
	record_saves(rec_dir, id, done_at, 0, SESSNAP_STORE_DELTA);
	sessnap__snap_name(snap, id);
	for (i = 1; i <= nsaves; i++) {
		pwrites = syncs = renames = other = 0;
		for (k = done_at[i - 1]; k < done_at[i]; k++) {
			switch (events[k].op) {
			case SESSNAP__TRACE_PWRITE:
				pwrites++;
				break;
			case SESSNAP__TRACE_FSYNC:
				syncs++;
				break;
			case SESSNAP__TRACE_RENAME:
				renames += strcmp(events[k].path2, snap) == 0;
				other++;
				break;
			default:
				other++;
			}
		}
		if (i == 1 || i == 3) {
			ck_assert_msg(renames == 1 && pwrites == 0,
				      "save %d: not a compaction", i);
		} else {
			ck_assert_msg(pwrites == 2 && syncs == 1 && other == 0,
				      "save %d: not an append of a record and "
				      "a slot with one flush (%zu writes, %zu "
				      "flushes, %zu other calls)",
				      i, pwrites, syncs, other);
		}
	}
	for (k = 0; k < nevents; k++)
		free(events[k].buf);
}
END_TEST

Suite *powerloss_suite(void);

Suite *powerloss_suite(void)
{
	Suite *s = suite_create("powerloss");
	TCase *core = tcase_create("core");
	TCase *errors = tcase_create("errors");
	TCase *edge = tcase_create("edge");

	tu_tcase_add_tmpdir(core);
	tcase_add_test(core, every_prefix_drop_unsynced);
	tcase_add_loop_test(core, every_prefix_three_generations, 0, 2);
	tcase_add_loop_test(core, every_prefix_unsynced_any_subset, 0,
			    NLAYOUTS);
	suite_add_tcase(s, core);
	tu_tcase_add_tmpdir(errors);
	tcase_add_test(errors, every_prefix_zero_unsynced);
	suite_add_tcase(s, errors);
	tu_tcase_add_tmpdir(edge);
	tcase_add_test(edge, trace_follows_the_protocol);
	tcase_add_test(edge, trace_delta_appends_and_compactions);
	suite_add_tcase(s, edge);
	return s;
}

TU_MAIN(powerloss_suite)
