/*
 * check_delta.c - the delta layout: appends, compaction, loading, scanning
 *
 * Sessions of a store opened with SESSNAP_STORE_DELTA save a base and
 * records appended to it.  These tests write real files through the
 * public calls and check each rule of the layout: round trips (base only,
 * many appends, compaction, a compressed base, both layouts in one
 * store); a torn or garbled append ignored on load; a failed flush never
 * followed by another append to that file; the scan's view of the newest
 * commit at a cost independent of the records; the file's size and inode
 * kept across appends; and hostile slots and records, which fall back and
 * never crash or allocate without bound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "inject.h"
#include "internal.h"
#include "testutil.h"

#define APP "deltatest"

static sessnap_store *open_store(unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = APP;
	opts.flags = flags;
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

/* A document of about `size` bytes whose edit number n changes one value. */
static json_object *doc(size_t size, int n)
{
	json_object *o = json_object_new_object();
	json_object *lines = json_object_new_array();
	char line[80];
	size_t total = 0;
	int i;

	for (i = 0; total < size; i++) {
		snprintf(line, sizeof(line),
			 "line %d of the document, with some words in it", i);
		json_object_array_add(lines, json_object_new_string(line));
		total += strlen(line) + 3;
	}
	json_object_object_add(o, "lines", lines);
	json_object_object_add(o, "edit", json_object_new_int(n));
	return o;
}

static void save(sessnap_session *s, size_t size, int n)
{
	json_object *o = doc(size, n);
	int rc;

	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	rc = sessnap_session_flush(s);
	ck_assert_msg(rc == 0, "flush: %s", sessnap_error_last());
	json_object_put(o);
}

/* The edit number of the state loaded for id. */
static int load_edit(sessnap_store *store, const char *id, uint64_t *seq)
{
	json_object *state = NULL, *v;
	sessnap_load_info *info = NULL;
	int rc, n;

	rc = sessnap_store_load(&state, &info, store, id);
	ck_assert_msg(rc == 0, "load: %s", sessnap_error_last());
	ck_assert(json_object_object_get_ex(state, "edit", &v));
	n = json_object_get_int(v);
	if (seq != NULL)
		*seq = info->seq;
	json_object_put(state);
	sessnap_load_info_free(info);
	return n;
}

static void snap_path(char *out, size_t len, const char *id)
{
	char name[SESSNAP__NAME_MAX];

	sessnap__snap_name(name, id);
	tu_join(out, len, tu_dir, name);
}

/*
 * A new session of `store`: its id in id and, unless path is NULL, its
 * snapshot's path (PATH_MAX bytes) in path.
 */
static sessnap_session *begin_session(sessnap_store *store,
				      char id[SESSNAP_ID_LEN + 1], char *path)
{
	sessnap_session *s = NULL;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	strlcpy(id, sessnap_session_id(s), SESSNAP_ID_LEN + 1);
	if (path != NULL)
		snap_path(path, PATH_MAX, id);
	return s;
}


static ino_t inode_of(const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	snap_path(path, sizeof(path), id);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

/* The header of <id>.snap as the scanner reads it. */
static sessnap__header read_header(sessnap_store *store, const char *id,
				   int want)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header h;
	int rc;

	sessnap__snap_name(name, id);
	rc = sessnap__header_read(&h, NULL, store, name);
	ck_assert_msg(rc == want, "header_read: %d %s", rc,
		      sessnap_error_last());
	return h;
}

static size_t header_len(const char *path)
{
	size_t len = 0;
	char *buf = tu_read_file(path, &len), *nl;
	size_t hlen;

	ck_assert_ptr_nonnull(buf);
	nl = memchr(buf, '\n', len);
	ck_assert_ptr_nonnull(nl);
	hlen = (size_t)(nl - buf) + 1;
	free(buf);
	return hlen;
}

/* Overwrite bytes of a file in place. */
static void poke(const char *path, off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* ---- Round trips ------------------------------------------------------- */

START_TEST(test_base_only)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap__header h;
	uint64_t seq;

	s = begin_session(store, id, NULL);
	save(s, 16384, 1);
	h = read_header(store, id, 0);
	ck_assert_uint_eq(h.format_version, 2);
	ck_assert_uint_eq(h.layout, SESSNAP_LAYOUT_DELTA);
	ck_assert_uint_eq(h.base_codec, SESSNAP__CODEC_NONE);
	ck_assert_int_eq(h.slot, -1);
	ck_assert_uint_eq(h.seq, 1);
	ck_assert_int_eq(load_edit(store, id, &seq), 1);
	ck_assert_uint_eq(seq, 1);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* Many appends: one file, same size and inode, the newest state loads. */
START_TEST(test_appends)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	struct stat st0, st;
	sessnap__header h;
	uint64_t seq;
	int i;

	s = begin_session(store, id, path);
	save(s, 65536, 0);
	ck_assert_int_eq(stat(path, &st0), 0);
	for (i = 1; i <= 40; i++) {
		save(s, 65536, i);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_ino, st0.st_ino);
		ck_assert_int_eq(st.st_size, st0.st_size);
		ck_assert_uint_eq(sessnap__delta_records(s->delta),
				  (unsigned int)i);
	}
	h = read_header(store, id, 0);
	ck_assert_uint_eq(h.seq, 41);
	ck_assert_uint_eq(h.base_seq, 1);
	ck_assert_int_ge(h.slot, 0);
	ck_assert_uint_lt(h.rec.length, 4096);
	ck_assert_int_eq(load_edit(store, id, &seq), 40);
	ck_assert_uint_eq(seq, 41);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* Past the count of records the writer compacts: a new file, the old
 * one as .prev, which still loads.  (The count is a backstop: a small
 * state whose records stay small reaches it.) */
START_TEST(test_compaction_count)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	struct stat st0, st;
	sessnap__header h;
	int i;

	s = begin_session(store, id, path);
	save(s, 4096, 0);
	ck_assert_int_eq(stat(path, &st0), 0);
	for (i = 1; i <= SESSNAP__DELTA_RECORDS_MAX; i++)
		save(s, 4096, i);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, st0.st_ino);
	save(s, 4096, SESSNAP__DELTA_RECORDS_MAX + 1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_ne(st.st_ino, st0.st_ino);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 0);
	h = read_header(store, id, 0);
	ck_assert_uint_eq(h.base_seq, SESSNAP__DELTA_RECORDS_MAX + 2);
	ck_assert_int_eq(load_edit(store, id, NULL),
			 SESSNAP__DELTA_RECORDS_MAX + 1);
	save(s, 4096, SESSNAP__DELTA_RECORDS_MAX + 2);
	ck_assert_int_eq(load_edit(store, id, NULL),
			 SESSNAP__DELTA_RECORDS_MAX + 2);
	/* the main file gone: .prev, the old delta file, loads its
	 * newest record */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(load_edit(store, id, NULL),
			 SESSNAP__DELTA_RECORDS_MAX);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* A record that outgrows its room compacts instead of appending. */
START_TEST(test_compaction_size)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	json_object *o, *noise;
	char buf[64];
	int i;

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 1);
	/* 16 KiB of new, incompressible text: far over 4 KiB */
	o = doc(16384, 2);
	noise = json_object_new_array();
	for (i = 0; i < 800; i++) {
		snprintf(buf, sizeof(buf), "%08x%08x", arc4random(),
			 arc4random());
		json_object_array_add(noise, json_object_new_string(buf));
	}
	json_object_object_add(o, "noise", noise);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	json_object_put(o);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 0);
	ck_assert_uint_eq(read_header(store, id, 0).base_seq, 3);
	ck_assert_int_eq(load_edit(store, id, NULL), 2);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- When to compact: the cycle's average ---------------------------- */

/* The bytes of a session's saves, as the tracer sees them. */
struct spend {
	uint64_t bytes; /* passed to write calls */
	uint64_t rec;	/* the first pwrite's: an append's record */
	int pwrites, renames;
};

static void count_spend(const struct sessnap__trace_event *ev, void *arg)
{
	struct spend *sp = arg;

	if (ev->op == SESSNAP__TRACE_WRITE || ev->op == SESSNAP__TRACE_PWRITE)
		sp->bytes += ev->len;
	if (ev->op == SESSNAP__TRACE_PWRITE && sp->pwrites++ == 0)
		sp->rec = ev->len;
	if (ev->op == SESSNAP__TRACE_RENAME)
		sp->renames++;
}

/* Save `o` (one flush of a NOTHREAD store) and say what it wrote. */
static struct spend save_spend(sessnap_session *s, json_object *o)
{
	struct spend sp;
	int rc;

	memset(&sp, 0, sizeof(sp));
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	sessnap__sys_set_trace(count_spend, &sp);
	rc = sessnap_session_flush(s);
	sessnap__sys_set_trace(NULL, NULL);
	ck_assert_msg(rc == 0, "flush: %s", sessnap_error_last());
	return sp;
}

/* The record the writer's codec makes of `o` against `base`. */
static size_t record_of(json_object *base, json_object *o)
{
	sessnap__delta_codec *c = NULL;
	const char *bt, *ot;
	size_t blen, olen, rlen = 0, cap;
	char *rec;

	bt = json_object_to_json_string_length(base, SESSNAP__PAYLOAD_FLAGS,
					       &blen);
	ot =
	    json_object_to_json_string_length(o, SESSNAP__PAYLOAD_FLAGS, &olen);
	cap = olen + 1024;
	ck_assert_int_eq(sessnap__delta_codec_new(&c, bt, blen), 0);
	rec = malloc(cap);
	ck_assert_ptr_nonnull(rec);
	ck_assert_int_eq(sessnap__delta_compress(c, rec, cap, &rlen, ot, olen),
			 0);
	free(rec);
	sessnap__delta_codec_free(c);
	return rlen;
}

/*
 * The average, not a fixed fraction: a record of 2 to 4 KiB (more than
 * 1/100 of a 16 KiB state, within its half of the area) is appended while
 * the cycle's average bytes per save is above what it costs, right after
 * the compaction, and compacts once small appends have brought the
 * average below it.
 */
START_TEST(test_compaction_average)
{
	sessnap_store *store =
	    open_store(SESSNAP_STORE_DELTA | SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = NULL;
	json_object *base, *o, *noise, *small;
	struct spend sp;
	uint64_t spent, saves;
	char buf[64];
	size_t rlen;
	int i;

	base = doc(16384, 0);
	o = doc(16384, 1);
	noise = json_object_new_array();
	for (i = 0; i < 320; i++) {
		snprintf(buf, sizeof(buf), "%08x%08x", arc4random(),
			 arc4random());
		json_object_array_add(noise, json_object_new_string(buf));
	}
	json_object_object_add(o, "noise", noise);
	rlen = record_of(base, o);
	ck_assert_msg(rlen > 2048 && rlen < 4096 - 512, "record of %zu bytes",
		      rlen);

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	sp = save_spend(s, base);
	ck_assert_int_gt(sp.renames, 0);
	spent = sp.bytes;
	saves = 1;
	/* the average is the compaction's bytes: the record is appended */
	sp = save_spend(s, o);
	ck_assert_int_eq(sp.renames, 0);
	ck_assert_uint_eq(sp.rec, rlen);
	ck_assert_uint_lt(sp.bytes * saves, spent);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 1);
	spent += sp.bytes;
	saves++;
	/* small appends until the average is below the record's bytes */
	for (i = 2; spent >= (uint64_t)rlen * saves; i++) {
		ck_assert_int_lt(i, 100);
		small = doc(16384, i);
		sp = save_spend(s, small);
		json_object_put(small);
		ck_assert_int_eq(sp.renames, 0);
		ck_assert_uint_eq(sessnap__delta_records(s->delta),
				  (unsigned int)i);
		spent += sp.bytes;
		saves++;
	}
	/* the same record now costs more than the average: compaction */
	sp = save_spend(s, o);
	ck_assert_int_gt(sp.renames, 0);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 0);
	ck_assert_int_eq(load_edit(store, sessnap_session_id(s), NULL), 1);
	json_object_put(base);
	json_object_put(o);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* A line of 3 to 12 random words and a number: an edit's new content. */
static void new_line(char *out, size_t cap, uint64_t *x)
{
	static const char *const words[] = {
		"the",	   "of",     "and",    "to",	 "in",	   "is",
		"that",	   "for",    "it",     "as",	 "with",   "was",
		"session", "state",  "save",   "file",	 "write",  "read",
		"error",   "value",  "count",  "index",	 "line",   "window",
		"cursor",  "edit",   "undo",   "redo",	 "json",   "object",
		"array",   "string", "number", "buffer", "struct", "return"
	};
	size_t nw = sizeof(words) / sizeof(words[0]), have = 0, i, k;

	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	k = 3 + (size_t)(*x % 10);
	out[0] = '\0';
	for (i = 0; i < k && have + 16 < cap; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		have = strlcat(out, words[(*x >> 11) % nw], cap);
		have = strlcat(out, " ", cap);
	}
	snprintf(out + have, cap - have, "%u", (unsigned int)(*x % 100000));
}

#define CYCLE_STATE 262144
#define CYCLE_SAVES_MAX 600

/*
 * A stream of edits that each add new content (a line rewritten with new
 * words) to a 256 KiB state, so that every record is larger than the one
 * before.  Over the first whole compaction cycle, from the bytes the
 * tracer sees: every append lowered the cycle's average bytes per save;
 * the compaction came when the record would not have (its size measured
 * with the writer's codec against the cycle's base); and the cycle's
 * average is below the one a fixed limit of 1/100 of the state gives on
 * the same records (that rule compacts at the first record past it: the
 * cycle's average just before that record).
 */
START_TEST(test_compaction_cycle)
{
	sessnap_store *store =
	    open_store(SESSNAP_STORE_DELTA | SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = NULL;
	json_object *state, *lines, *base = NULL;
	struct spend sp;
	uint64_t x = 0x9e3779b97f4a7c15ULL, spent = 0, saves = 0;
	uint64_t fixed_spent = 0, fixed_saves = 0;
	size_t nlines, len, limit = 0, rej;
	char line[160];
	int i, cycles = 0;

	state = json_object_new_object();
	lines = json_object_new_array();
	json_object_object_add(state, "lines", lines);
	for (len = 0; len < CYCLE_STATE; len += strlen(line) + 3) {
		new_line(line, sizeof(line), &x);
		json_object_array_add(lines, json_object_new_string(line));
	}
	nlines = json_object_array_length(lines);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	for (i = 0; i < CYCLE_SAVES_MAX && cycles < 2; i++) {
		if (i > 0) {
			new_line(line, sizeof(line), &x);
			json_object_array_put_idx(lines,
						  ((size_t)i * 7919) % nlines,
						  json_object_new_string(line));
		}
		sp = save_spend(s, state);
		if (sp.renames > 0 && cycles++ == 1) {
			/* appending would not have lowered the average */
			rej = record_of(base, state);
			ck_assert_msg((rej + 512) * saves >= spent,
				      "compacted with a record of %zu bytes "
				      "at an average of %" PRIu64 " bytes",
				      rej, spent / saves);
			break;
		}
		if (sp.renames > 0) {
			/* the base of the cycle */
			json_object_put(base);
			base = NULL;
			ck_assert_int_eq(
			    json_object_deep_copy(state, &base, NULL), 0);
			json_object_to_json_string_length(
			    state, SESSNAP__PAYLOAD_FLAGS, &len);
			limit = len / 100 - 256;
			spent = sp.bytes;
			saves = 1;
			continue;
		}
		/* an append, which must lower the average */
		ck_assert_msg(sp.bytes * saves < spent,
			      "save %d: %" PRIu64 " bytes at an average of "
			      "%" PRIu64,
			      i, sp.bytes, spent / saves);
		if (fixed_saves == 0 && sp.rec > limit) {
			fixed_spent = spent;
			fixed_saves = saves;
		}
		spent += sp.bytes;
		saves++;
	}
	ck_assert_msg(cycles == 2, "no compaction in %d saves", i);
	ck_assert_msg(fixed_saves > 0, "no record past 1/100 of the state");
	ck_assert_msg(spent * fixed_saves < fixed_spent * saves,
		      "%" PRIu64 " bytes per save over %" PRIu64
		      " saves, the fixed limit's %" PRIu64 " over %" PRIu64,
		      spent / saves, saves, fixed_spent / fixed_saves,
		      fixed_saves);
	json_object_put(base);
	json_object_put(state);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_compressed_base)
{
	sessnap_store *store =
	    open_store(SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap__header h;
	int i;

	s = begin_session(store, id, NULL);
	save(s, 262144, 0);
	h = read_header(store, id, 0);
	ck_assert_uint_eq(h.base_codec, SESSNAP__CODEC_ZSTD);
	ck_assert_uint_lt(h.length, h.base_size / 4);
	ck_assert_int_eq(load_edit(store, id, NULL), 0);
	for (i = 1; i <= 5; i++)
		save(s, 262144, i);
	ck_assert_int_eq(load_edit(store, id, NULL), 5);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* One store, both layouts; a store opened without the flag reads both. */
START_TEST(test_both_layouts)
{
	sessnap_store *plain = open_store(0), *delta;
	sessnap_session *a = NULL, *b = NULL;
	char ida[SESSNAP_ID_LEN + 1], idb[SESSNAP_ID_LEN + 1];
	sessnap_info **infos = NULL;
	size_t count = 0, i;

	ck_assert_int_eq(sessnap_session_begin(&a, plain, NULL), 0);
	strlcpy(ida, sessnap_session_id(a), sizeof(ida));
	save(a, 8192, 7);
	delta = open_store(SESSNAP_STORE_DELTA);
	ck_assert_int_eq(sessnap_session_begin(&b, delta, NULL), 0);
	strlcpy(idb, sessnap_session_id(b), sizeof(idb));
	save(b, 8192, 8);
	save(b, 8192, 9);
	ck_assert_int_eq(load_edit(plain, idb, NULL), 9);
	ck_assert_int_eq(load_edit(delta, ida, NULL), 7);
	ck_assert_uint_eq(read_header(plain, ida, 0).format_version, 1);
	ck_assert_int_eq(sessnap_store_scan(&infos, &count, plain, 0), 0);
	ck_assert_uint_eq(count, 2);
	for (i = 0; i < count; i++) {
		if (strcmp(infos[i]->id, idb) == 0) {
			ck_assert_uint_eq(infos[i]->layout,
					  SESSNAP_LAYOUT_DELTA);
			ck_assert_uint_eq(infos[i]->seq, 2);
			ck_assert_uint_eq(infos[i]->base_seq, 1);
			ck_assert_uint_gt(infos[i]->record_bytes, 0);
			ck_assert_uint_gt(infos[i]->area_bytes, 0);
		} else {
			ck_assert_uint_eq(infos[i]->layout,
					  SESSNAP_LAYOUT_PLAIN);
			ck_assert_uint_eq(infos[i]->seq, 1);
		}
	}
	sessnap_info_free(infos, count);
	sessnap_session_release(a);
	sessnap_session_release(b);
	sessnap_store_close(delta);
	sessnap_store_close(plain);
}
END_TEST

/*
 * A slot's text is written with enough padding to cover the longer text
 * it held before: a record of 4 digits' length, then one of 2 digits, in
 * the same slot, leaves a slot that reads back.
 */
START_TEST(test_slot_shrinks)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], buf[64];
	json_object *o, *noise;
	sessnap__header h;
	int i;

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	/* slot 0: about 1 KB of new text, a record of 4 digits' length */
	o = doc(16384, 1);
	noise = json_object_new_array();
	for (i = 0; i < 130; i++) {
		snprintf(buf, sizeof(buf), "%08x%08x", arc4random(),
			 arc4random());
		json_object_array_add(noise, json_object_new_string(buf));
	}
	json_object_object_add(o, "noise", noise);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	json_object_put(o);
	h = read_header(store, id, 0);
	ck_assert_int_eq(h.slot, 0);
	ck_assert_uint_ge(h.rec.length, 1000);
	save(s, 16384, 2); /* slot 1 */
	save(s, 16384, 3); /* slot 0 again, a record of 2 digits */
	h = read_header(store, id, 0);
	ck_assert_int_eq(h.slot, 0);
	ck_assert_uint_lt(h.rec.length, 100);
	ck_assert_uint_eq(h.seq, 4);
	ck_assert_int_eq(load_edit(store, id, NULL), 3);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- Torn and failed appends ------------------------------------------- */

enum damage { RECORD, SLOT, BOTH_SLOTS, DAMAGES };

/* Three saves (a base, two records); damage the newest commit. */
START_TEST(test_torn_append)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	sessnap__header h;
	uint64_t seq;
	size_t hlen;
	char junk[64];

	memset(junk, 'x', sizeof(junk));
	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	save(s, 16384, 2);
	sessnap_session_release(s);
	h = read_header(store, id, 0);
	hlen = header_len(path);
	ck_assert_int_ge(h.slot, 0);
	switch (_i) {
	case RECORD: /* a record torn: its slot's checksum fails */
		poke(path,
		     (off_t)(sessnap__delta_area_off(&h, hlen) + h.rec.at +
			     h.rec.length / 2),
		     junk, 8);
		ck_assert_int_eq(load_edit(store, id, &seq), 1);
		ck_assert_uint_eq(seq, 2);
		/* and it says so */
		{
			sessnap_load_info *info = NULL;
			json_object *st = NULL;

			ck_assert_int_eq(
			    sessnap_store_load(&st, &info, store, id), 0);
			ck_assert(info->flags & SESSNAP_LOAD_RECORD_SKIPPED);
			ck_assert_ptr_nonnull(
			    strstr(info->notice, "record checksum mismatch"));
			ck_assert_ptr_nonnull(strstr(info->notice, "seq 3"));
			json_object_put(st);
			sessnap_load_info_free(info);
		}
		break;
	case SLOT: /* the slot torn: its self-check fails */
		poke(path,
		     (off_t)(hlen + (size_t)h.slot * SESSNAP__SLOT_LEN + 20),
		     "9", 1);
		ck_assert_int_eq(load_edit(store, id, &seq), 1);
		ck_assert_uint_eq(seq, 2);
		/* and the scan sees the commit that loads */
		ck_assert_uint_eq(read_header(store, id, 0).seq, 2);
		break;
	case BOTH_SLOTS: /* no record at all: the base is a commit too */
		poke(path, (off_t)(hlen + 20), junk, 8);
		poke(path, (off_t)(hlen + SESSNAP__SLOT_LEN + 20), junk, 8);
		ck_assert_int_eq(load_edit(store, id, &seq), 0);
		ck_assert_uint_eq(seq, 1);
		ck_assert_uint_eq(read_header(store, id, 0).seq, 1);
		break;
	}
	sessnap_store_close(store);
}
END_TEST

/*
 * The store's decompression context, kept between loads (delta.c,
 * dctx_take()): a load leaves one in the store, and loads of sessions of
 * different bases (plain and zstd-compressed, of other sizes), of a
 * plain session and of a delta file's base alone, interleaved, each get
 * their own state back exactly: nothing of one decode carries to the
 * next.
 */
struct two {
	sessnap_store *store;
	char a[SESSNAP_ID_LEN + 1], b[SESSNAP_ID_LEN + 1];
	char c[SESSNAP_ID_LEN + 1], p[SESSNAP_ID_LEN + 1];
	sessnap_store *zstore, *pstore;
};

/* a: 16 KiB, edit 7 in a record; b: a compressed 64 KiB base, edit 9 in
 * a record; c: a base alone (edit 3); p: a plain session (edit 5). */
static void two_make(struct two *t)
{
	sessnap_session *s = NULL;
	int i;

	t->store = open_store(SESSNAP_STORE_DELTA);
	t->zstore =
	    open_store(SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE);
	t->pstore = open_store(0);
	ck_assert_int_eq(sessnap_session_begin(&s, t->store, NULL), 0);
	strlcpy(t->a, sessnap_session_id(s), sizeof(t->a));
	for (i = 0; i <= 7; i++)
		save(s, 16384, i);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_session_begin(&s, t->zstore, NULL), 0);
	strlcpy(t->b, sessnap_session_id(s), sizeof(t->b));
	save(s, 65536, 0);
	save(s, 65536, 9);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_session_begin(&s, t->store, NULL), 0);
	strlcpy(t->c, sessnap_session_id(s), sizeof(t->c));
	save(s, 4096, 3);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_session_begin(&s, t->pstore, NULL), 0);
	strlcpy(t->p, sessnap_session_id(s), sizeof(t->p));
	save(s, 16384, 5);
	sessnap_session_release(s);
}

static void two_free(struct two *t)
{
	sessnap_store_close(t->pstore);
	sessnap_store_close(t->zstore);
	sessnap_store_close(t->store);
}

/* One round of loads through one store, every state checked. */
static int two_round(const struct two *t)
{
	char *text = NULL;
	size_t len = 0;
	int bad = 0;

	bad += load_edit(t->store, t->a, NULL) != 7;
	bad += load_edit(t->store, t->b, NULL) != 9;
	bad += load_edit(t->store, t->c, NULL) != 3;
	bad += load_edit(t->store, t->p, NULL) != 5;
	bad += load_edit(t->store, t->a, NULL) != 7;
	if (sessnap_store_load_text(&text, &len, NULL, t->store, t->b) != 0 ||
	    strstr(text, "\"edit\":9") == NULL)
		bad++;
	free(text);
	return bad;
}

START_TEST(test_load_cache)
{
	struct two t;
	int i;

	two_make(&t);
	ck_assert_ptr_null(atomic_load(&t.store->dctx));
	ck_assert_int_eq(load_edit(t.store, t.a, NULL), 7);
	/* kept, not freed */
	ck_assert_ptr_nonnull(atomic_load(&t.store->dctx));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(two_round(&t), 0);
	ck_assert_ptr_nonnull(atomic_load(&t.store->dctx));
	two_free(&t);
}
END_TEST

static void *two_thread(void *arg)
{
	const struct two *t = arg;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 50; i++)
		bad += two_round(t);
	return (void *)bad;
}

/* Threads loading through one store at once, and a forked child loading
 * with the context its parent left in the store: every state exact. */
START_TEST(test_load_cache_threads_fork)
{
	pthread_t th[3];
	struct two t;
	void *bad;
	pid_t pid;
	int i, status;

	two_make(&t);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, two_thread, &t),
				 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_join(th[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
	ck_assert_ptr_nonnull(atomic_load(&t.store->dctx));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(two_thread(&t) == NULL ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(two_round(&t), 0);
	two_free(&t);
}
END_TEST

/* Bytes of a file, to see it is never written again. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = tu_read_file(path, len);

	ck_assert_ptr_nonnull(buf);
	return buf;
}

/*
 * A failed flush of an append: the save fails, and the file it went to is
 * never written again: the next save compacts into a new file (the old
 * one becomes .prev, byte for byte as the failed append left it).
 */
START_TEST(test_failed_flush)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], prev[PATH_MAX];
	char name[SESSNAP__NAME_MAX];
	const char *env = getenv("SESSNAP_TEST_FSYNC");
	char saved_env[16] = "";
	struct stat st0, st;
	json_object *o;
	char *before, *after;
	size_t blen, alen;
	int rc;

	if (env != NULL)
		strlcpy(saved_env, env, sizeof(saved_env));
	unsetenv("SESSNAP_TEST_FSYNC");
	opts.dir = tu_dir;
	opts.app = APP;
	opts.flags = SESSNAP_STORE_DELTA | SESSNAP_STORE_NOTHREAD;
	opts.durability = SESSNAP_DURABILITY_FILE;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	if (env != NULL)
		setenv("SESSNAP_TEST_FSYNC", saved_env, 1);
	s = begin_session(store, id, path);
	sessnap__prev_name(name, id);
	tu_join(prev, sizeof(prev), tu_dir, name);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ck_assert_int_eq(stat(path, &st0), 0);

	o = doc(16384, 2);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	json_object_put(o);
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, 1, EIO, 0);
	rc = sessnap__session_write(s, s->pending, s->pending_len, false);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EIO);
	ck_assert_ptr_null(s->delta);
	/* the message names the session, the step, the file, the cause */
	{
		char want[PATH_MAX + 256];

		snprintf(want, sizeof(want),
			 "appending to session %s (the next save writes a new "
			 "file): fdatasync of %s failed: Input/output error",
			 id, path);
		ck_assert_str_eq(sessnap_error_last(), want);
	}
	before = slurp(path, &blen);

	/* The next save: a new file; the old one, now .prev, unchanged. */
	save(s, 16384, 3);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_ne(st.st_ino, st0.st_ino);
	ck_assert_int_eq(stat(prev, &st), 0);
	ck_assert_uint_eq(st.st_ino, st0.st_ino);
	save(s, 16384, 4);
	after = slurp(prev, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	ck_assert_int_eq(load_edit(store, id, NULL), 4);
	free(before);
	free(after);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* A failed record write: the save fails, nothing is committed, the next
 * save compacts. */
START_TEST(test_failed_write)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	struct stat st0, st;
	json_object *o;
	uint64_t seq;
	int rc;

	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ck_assert_int_eq(stat(path, &st0), 0);
	o = doc(16384, 2);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	json_object_put(o);
	sessnap__fault_arm(SESSNAP__SYS_WRITE, 1, ENOSPC, 0);
	rc = sessnap__session_write(s, s->pending, s->pending_len, false);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_ENOSPC);
	ck_assert_ptr_nonnull(
	    strstr(sessnap_error_last(), "pwrite (record) of "));
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), path));
	ck_assert_ptr_null(s->delta);
	ck_assert_int_eq(load_edit(store, id, &seq), 1);
	ck_assert_uint_eq(seq, 2);
	save(s, 16384, 3);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_ne(st.st_ino, st0.st_ino);
	ck_assert_int_eq(load_edit(store, id, NULL), 3);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/*
 * A compaction asks for its new file to be written in place (btrfs's
 * NOCOW, which keeps an append's extents where they are) while the file
 * is still empty, before fallocate; the plain layout does not ask.  It is
 * a hint: refused, the save goes on.
 */
START_TEST(test_compaction_in_place)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	json_object *o = doc(4096, 0);
	unsigned long calls;
	int rc;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	/* the first call of the kind is the hint, and it fails */
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1, EIO, 0);
	rc = sessnap_session_flush(s);
	ck_assert_uint_eq(sessnap__fault_fired(), 1);
	calls = sessnap__fault_disarm();
	ck_assert_msg(rc == 0, "flush: %s", sessnap_error_last());
	ck_assert_uint_eq(calls, 2); /* the hint, then fallocate */
	ck_assert_int_eq(sessnap__delta_records(s->delta), 0);
	ck_assert_int_ge(sessnap__delta_fd(s->delta), 0);
	/* an append creates no file: it asks nothing */
	json_object_put(o);
	o = doc(4096, 1);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1000, EIO, 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(sessnap__fault_disarm(), 0);
	ck_assert_int_eq(sessnap__delta_records(s->delta), 1);
	sessnap_session_release(s);
	sessnap_store_close(store);

	/* the plain layout: fallocate alone */
	store = open_store(0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	sessnap__fault_arm(SESSNAP__SYS_FALLOCATE, 1000, EIO, 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(sessnap__fault_disarm(), 1);
	json_object_put(o);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- What an append costs --------------------------------------------- */

struct counts {
	int flush, rename, create, write, pwrite;
};

static void count_ops(const struct sessnap__trace_event *ev, void *arg)
{
	struct counts *c = arg;

	switch (ev->op) {
	case SESSNAP__TRACE_FSYNC: /* fsync or fdatasync, file or directory */
		c->flush++;
		break;
	case SESSNAP__TRACE_RENAME:
		c->rename++;
		break;
	case SESSNAP__TRACE_CREATE:
		c->create++;
		break;
	case SESSNAP__TRACE_WRITE:
		c->write++;
		break;
	case SESSNAP__TRACE_PWRITE:
		c->pwrite++;
		break;
	default:
		break;
	}
}

/* Open a store whose durability is not forced to NONE by the harness. */
static sessnap_store *open_durable(sessnap_durability d, unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	const char *env = getenv("SESSNAP_TEST_FSYNC");
	char saved_env[16] = "";

	if (env != NULL)
		strlcpy(saved_env, env, sizeof(saved_env));
	unsetenv("SESSNAP_TEST_FSYNC");
	opts.dir = tu_dir;
	opts.app = APP;
	opts.flags = flags;
	opts.durability = d;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	if (env != NULL)
		setenv("SESSNAP_TEST_FSYNC", saved_env, 1);
	return store;
}

/*
 * An append is two pwrites and ONE fdatasync: no rename, no new file, no
 * directory flush (FULL durability); with DURABILITY_NONE no flush at all.
 */
START_TEST(test_append_one_flush)
{
	sessnap_durability d =
	    _i == 0 ? SESSNAP_DURABILITY_FULL : SESSNAP_DURABILITY_NONE;
	sessnap_store *store =
	    open_durable(d, SESSNAP_STORE_DELTA | SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = NULL;
	struct counts c;
	json_object *o;
	int i;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	save(s, 65536, 0);
	save(s, 65536, 1);
	for (i = 2; i < 5; i++) {
		o = doc(65536, i);
		ck_assert_int_eq(sessnap_session_update(s, o), 0);
		json_object_put(o);
		memset(&c, 0, sizeof(c));
		sessnap__sys_set_trace(count_ops, &c);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		sessnap__sys_set_trace(NULL, NULL);
		ck_assert_int_eq(c.pwrite, 2);
		ck_assert_int_eq(c.write, 0);
		ck_assert_int_eq(c.rename, 0);
		ck_assert_int_eq(c.create, 0);
		ck_assert_int_eq(c.flush, d == SESSNAP_DURABILITY_NONE ? 0 : 1);
	}
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/*
 * A compaction whose directory flush failed (SESSNAP_EDURABILITY: the
 * rename may not survive a power cut): no append goes to that file, whose
 * name may yet vanish; the next save compacts again.
 */
START_TEST(test_compaction_dir_flush)
{
	sessnap_store *store =
	    open_durable(SESSNAP_DURABILITY_FULL,
			 SESSNAP_STORE_DELTA | SESSNAP_STORE_NOTHREAD);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	json_object *o;
	ino_t ino;
	int rc;

	s = begin_session(store, id, NULL);
	o = doc(16384, 0);
	ck_assert_int_eq(sessnap_session_update(s, o), 0);
	json_object_put(o);
	/* the temp file's fdatasync, then the directory's fsync */
	sessnap__fault_arm(SESSNAP__SYS_FSYNC, 2, EIO, 0);
	rc = sessnap_session_flush(s);
	sessnap__fault_disarm();
	ck_assert_int_eq(rc, SESSNAP_EDURABILITY);
	ck_assert_ptr_null(s->delta);
	ino = inode_of(id);
	save(s, 16384, 1);
	ck_assert_uint_ne(inode_of(id), ino);
	ck_assert_ptr_nonnull(s->delta);
	ino = inode_of(id);
	save(s, 16384, 2);
	ck_assert_uint_eq(inode_of(id), ino);
	ck_assert_int_eq(load_edit(store, id, NULL), 2);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- When the writer compacts -------------------------------------------- */

/* A new label is in the header: the next save compacts. */
START_TEST(test_compact_label)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_info **infos = NULL;
	size_t count = 0;
	ino_t ino;

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ino = inode_of(id);
	ck_assert_int_eq(sessnap_session_set_label(s, "renamed.txt"), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_ne(inode_of(id), ino);
	ck_assert_int_eq(sessnap_store_scan(&infos, &count, store, 0), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(infos[0]->label, "renamed.txt");
	ck_assert_uint_eq(infos[0]->seq, 3);
	sessnap_info_free(infos, count);
	ck_assert_int_eq(load_edit(store, id, NULL), 1);
	/* and the one after appends again */
	ino = inode_of(id);
	save(s, 16384, 2);
	ck_assert_uint_eq(inode_of(id), ino);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* An end with SESSNAP_SESSION_KEEP compacts: completed is in the header. */
START_TEST(test_compact_keep)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap__header h;

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ck_assert_int_eq(sessnap_session_end(s, SESSNAP_SESSION_KEEP), 0);
	h = read_header(store, id, 0);
	ck_assert(h.completed);
	ck_assert_int_eq(h.slot, -1);
	ck_assert_uint_eq(h.base_seq, 3);
	ck_assert_int_eq(load_edit(store, id, NULL), 1);
	sessnap_store_close(store);
}
END_TEST

/* A second link to the file (or another file under its name): the writer
 * never appends to it, it compacts. */
START_TEST(test_compact_not_ours)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX], other[PATH_MAX];
	char *before, *after;
	size_t blen, alen;
	ino_t ino;

	s = begin_session(store, id, path);
	tu_join(other, sizeof(other), tu_dir, "elsewhere");
	save(s, 16384, 0);
	save(s, 16384, 1);
	ino = inode_of(id);
	ck_assert_int_eq(link(path, other), 0);
	before = slurp(other, &blen);
	save(s, 16384, 2);
	ck_assert_uint_ne(inode_of(id), ino);
	after = slurp(other, &alen);
	ck_assert(alen == blen && memcmp(before, after, blen) == 0);
	free(before);
	free(after);
	ck_assert_int_eq(load_edit(store, id, NULL), 2);
	/* a copy renamed over the name (one link, another inode): the
	 * save goes to the name, not to the file held open */
	save(s, 16384, 3);
	before = slurp(path, &blen);
	tu_write_file(tu_dir, "copy", before, blen);
	free(before);
	ck_assert_int_eq(unlink(other), 0);
	tu_join(other, sizeof(other), tu_dir, "copy");
	ck_assert_int_eq(rename(other, path), 0);
	ino = inode_of(id);
	save(s, 16384, 4);
	ck_assert_uint_ne(inode_of(id), ino);
	ck_assert_int_eq(load_edit(store, id, NULL), 4);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* An adopted delta session: its first save compacts, seq goes on. */
START_TEST(test_adopt)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	json_object *state = NULL, *v;
	uint64_t seq;
	ino_t ino;

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	save(s, 16384, 1);
	save(s, 16384, 2);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_session_adopt(&s, &state, NULL, store, id), 0);
	ck_assert(json_object_object_get_ex(state, "edit", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	json_object_put(state);
	ino = inode_of(id);
	save(s, 16384, 3);
	ck_assert_uint_ne(inode_of(id), ino);
	save(s, 16384, 4);
	ck_assert_int_eq(load_edit(store, id, &seq), 4);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 1);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/*
 * Nothing saved that cannot be loaded back: a state close to the read
 * bound, whose delta file with its area would pass the bound, is written
 * without an area (every save then compacts) and loads.
 */
START_TEST(test_near_read_bound)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	sessnap__header h;
	struct stat st;
	ino_t ino;

	opts.dir = tu_dir;
	opts.app = APP;
	opts.flags = SESSNAP_STORE_DELTA;
	opts.read_bound = 40000;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	s = begin_session(store, id, path);
	save(s, 34000, 0);
	h = read_header(store, id, 0);
	ck_assert_uint_eq(h.layout, SESSNAP_LAYOUT_DELTA);
	ck_assert_uint_eq(h.area, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_le(st.st_size, 40000);
	ino = st.st_ino;
	save(s, 34000, 1);
	ck_assert_uint_ne(inode_of(id), ino);
	ck_assert_int_eq(load_edit(store, id, NULL), 1);
	/* a smaller state has room for its area again */
	save(s, 16384, 2);
	ck_assert_uint_gt(read_header(store, id, 0).area, 0);
	save(s, 16384, 3);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 1);
	ck_assert_int_eq(load_edit(store, id, NULL), 3);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* Patches (sessnap_session_patch()) are saved as records too. */
START_TEST(test_patch)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_patch_op op;
	ino_t ino;
	int i;

	s = begin_session(store, id, NULL);
	save(s, 65536, 0);
	ino = inode_of(id);
	for (i = 1; i <= 3; i++) {
		op.op = SESSNAP_PATCH_REPLACE;
		op.path = "/edit";
		op.value = json_object_new_int(100 + i);
		ck_assert_int_eq(sessnap_session_patch(s, &op, 1), 0);
		json_object_put(op.value);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
	}
	ck_assert_uint_eq(inode_of(id), ino);
	ck_assert_uint_eq(sessnap__delta_records(s->delta), 3);
	ck_assert_int_eq(load_edit(store, id, NULL), 103);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- The cleaner --------------------------------------------------------- */

#define DAY_MS INT64_C(86400000)

/*
 * The cleaner ages a delta session by its newest commit, not by its base:
 * a base 40 days old with a commit 10 days old is kept from a 30-day
 * policy, and removed (with its .prev) from a 5-day one.
 */
START_TEST(test_clean_newest)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report rep = SESSNAP_CLEAN_REPORT_INIT;
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	char slot[SESSNAP__SLOT_LEN];
	sessnap__header h;
	sessnap__slot sl;
	int64_t base;

	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* again, left crashed this time */
	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	sessnap_session_release(s);
	h = read_header(store, id, 0);
	base = h.base_saved_ms;
	sl = h.rec;
	sl.saved_ms = base + 30 * DAY_MS;
	sessnap__slot_format(slot, &sl);
	poke(path,
	     (off_t)(header_len(path) + (size_t)h.slot * SESSNAP__SLOT_LEN),
	     slot, sizeof(slot));
	ck_assert_int_eq(read_header(store, id, 0).saved_ms, sl.saved_ms);

	pol.now_ms = base + 40 * DAY_MS;
	pol.crashed_age_ms = 30 * DAY_MS;
	ck_assert_int_eq(sessnap_store_clean(&rep, store, &pol, NULL, NULL), 0);
	ck_assert_uint_eq(rep.removed_crashed, 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	pol.crashed_age_ms = 5 * DAY_MS;
	ck_assert_int_eq(sessnap_store_clean(&rep, store, &pol, NULL, NULL), 0);
	ck_assert_uint_eq(rep.removed_crashed, 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- The scan ---------------------------------------------------------- */

static size_t bytes_read;
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);

static ssize_t count_read(int fd, void *buf, size_t len)
{
	ssize_t n = real_read(fd, buf, len);

	if (n > 0)
		bytes_read += (size_t)n;
	return n;
}

static ssize_t count_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = real_pread(fd, buf, len, off);

	if (n > 0)
		bytes_read += (size_t)n;
	return n;
}

/* Bytes a scan of the store reads. */
static size_t scan_cost(sessnap_store *store, uint64_t *seq)
{
	sessnap_info **infos = NULL;
	size_t count = 0;

	real_read = sessnap__sys.read;
	real_pread = sessnap__sys.pread;
	sessnap__sys.read = count_read;
	sessnap__sys.pread = count_pread;
	bytes_read = 0;
	ck_assert_int_eq(sessnap_store_scan(&infos, &count, store, 0), 0);
	sessnap__sys.read = real_read;
	sessnap__sys.pread = real_pread;
	ck_assert_uint_eq(count, 1);
	*seq = infos[0]->seq;
	sessnap_info_free(infos, count);
	return bytes_read;
}

/* The scan sees the newest record's seq and saved time, and reads as
 * much with 1 record as with 100, at 16 KiB as at 1 MiB. */
START_TEST(test_scan_cost)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	size_t c1, c100, cbig;
	uint64_t seq;
	int i;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	save(s, 16384, 0);
	save(s, 16384, 1);
	c1 = scan_cost(store, &seq);
	ck_assert_uint_eq(seq, 2);
	for (i = 2; i <= 100; i++)
		save(s, 16384, i);
	c100 = scan_cost(store, &seq);
	ck_assert_uint_eq(seq, 101);
	ck_assert_uint_eq(c100, c1);
	sessnap_session_end(s, 0);

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	save(s, 1 << 20, 0);
	save(s, 1 << 20, 1);
	cbig = scan_cost(store, &seq);
	ck_assert_uint_eq(seq, 2);
	ck_assert_uint_eq(cbig, c1);
	ck_assert_uint_lt(cbig, 8192);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- Hostile files ------------------------------------------------------ */

enum hostile {
	H_SIZE_HUGE,	  /* a size beyond the bound */
	H_AT_OUTSIDE,	  /* at past the area */
	H_LENGTH_OUTSIDE, /* at + length past the area */
	H_GARBAGE,	  /* a valid slot pointing at garbage */
	H_WRONG_SIZE,	  /* a record that decodes to another size */
	H_OLD_SEQ,	  /* a seq not above the base's */
	H_FRAME_HUGE,	  /* a valid frame and slot that both claim 1 TiB */
	HOSTILES
};

/*
 * Craft the slot of the newest commit: a self-checked slot that lies.  The
 * loader must fall back to the other slot's commit (edit 1), never crash,
 * never allocate what the slot claims.
 */
START_TEST(test_hostile_slot)
{
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	char slot[SESSNAP__SLOT_LEN];
	sessnap__header h;
	sessnap__slot sl;
	size_t hlen;
	uint64_t seq;

	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	save(s, 16384, 2);
	sessnap_session_release(s);
	h = read_header(store, id, 0);
	hlen = header_len(path);
	sl = h.rec;
	switch (_i) {
	case H_SIZE_HUGE:
		sl.size = UINT64_C(1) << 40;
		break;
	case H_AT_OUTSIDE:
		sl.at = h.area + 1;
		break;
	case H_LENGTH_OUTSIDE:
		sl.length = h.area - sl.at + 1;
		break;
	case H_GARBAGE: {
		/* zeros at the end of the first half: the checksum holds,
		 * but they are no zstd frame */
		char zeros[64];

		memset(zeros, 0, sizeof(zeros));
		sl.at = h.area / 2 - sizeof(zeros);
		sl.length = sizeof(zeros);
		sessnap__checksum(sl.checksum, zeros, sizeof(zeros));
		break;
	}
	case H_WRONG_SIZE:
		sl.size -= 1;
		break;
	case H_OLD_SEQ:
		sl.seq = h.base_seq;
		break;
	case H_FRAME_HUGE: {
		/*
		 * A zstd frame header announcing 2^40 bytes (single segment,
		 * 8-byte content size) and one empty last raw block: the
		 * slot agrees with it, so only the bound keeps the reader
		 * from allocating a terabyte.
		 */
		unsigned char frame[16] = { 0x28, 0xb5, 0x2f, 0xfd, 0xe0 };

		frame[5 + 5] = 0x01; /* 2^40, little-endian */
		frame[13] = 0x01;    /* last block, raw, size 0 */
		sl.at = h.area / 2 - sizeof(frame);
		sl.length = sizeof(frame);
		sl.size = UINT64_C(1) << 40;
		sessnap__checksum(sl.checksum, frame, sizeof(frame));
		poke(path, (off_t)(sessnap__delta_area_off(&h, hlen) + sl.at),
		     frame, sizeof(frame));
		break;
	}
	}
	sessnap__slot_format(slot, &sl);
	poke(path, (off_t)(hlen + (size_t)h.slot * SESSNAP__SLOT_LEN), slot,
	     sizeof(slot));
	ck_assert_int_eq(load_edit(store, id, &seq), 1);
	ck_assert_uint_eq(seq, 2);
	sessnap_store_close(store);
}
END_TEST

enum hostile_header {
	HH_BASE_HUGE,  /* a zstd base that claims to be 1 TiB */
	HH_BASE_WRONG, /* a zstd base that claims one byte less */
	HH_AREA_HUGE,  /* an area past any file */
	HH_NONE_SIZE,  /* an uncompressed base whose base_size is not length */
	HH_CODEC,      /* an unknown codec */
	HOSTILE_HEADERS
};

/*
 * A delta header that lies about its base or its area: the file is
 * refused (corrupt, or too big for the bound), with nothing allocated on
 * its word and no crash; the loader then has no generation to fall back
 * to and says so.
 */
START_TEST(test_hostile_header)
{
	sessnap_store *store =
	    open_store(SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	json_object *state = NULL;
	sessnap__header h;
	char *buf, *hbuf = NULL, *line;
	size_t len, hlen, nlen = 0;
	int rc, want = SESSNAP_ECORRUPT;
	FILE *f;

	s = begin_session(store, id, path);
	save(s, 16384, 0);
	save(s, 16384, 1);
	sessnap_session_release(s);
	buf = slurp(path, &len);
	ck_assert_int_eq(sessnap__header_of(&h, &hlen, buf, len), 0);
	switch (_i) {
	case HH_BASE_HUGE:
		h.base_size = UINT64_C(1) << 40;
		want = SESSNAP_ETOOBIG;
		break;
	case HH_BASE_WRONG:
		h.base_size -= 1;
		break;
	case HH_AREA_HUGE:
		h.area = UINT64_C(1) << 60;
		break;
	case HH_NONE_SIZE:
	case HH_CODEC:
		h.base_codec = SESSNAP__CODEC_NONE;
		break;
	}
	ck_assert_int_eq(sessnap__header_format(&hbuf, &nlen, &h), 0);
	if (_i == HH_CODEC) {
		/* "none" -> "lzma", and base_size = length so only the
		 * codec is wrong */
		line = strstr(hbuf, "\"base_codec\":\"none\"");
		ck_assert_ptr_nonnull(line);
		memcpy(line + 14, "lzma", 4);
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(hbuf, 1, nlen, f), nlen);
	ck_assert_uint_eq(fwrite(buf + hlen, 1, len - hlen, f), len - hlen);
	ck_assert_int_eq(fclose(f), 0);
	free(buf);
	free(hbuf);
	rc = sessnap_store_load(&state, NULL, store, id);
	ck_assert_msg(rc == want, "load: %d %s", rc, sessnap_error_last());
	ck_assert_ptr_null(state);
	sessnap_store_close(store);
}
END_TEST

/* A slot of `prefix` with its self-check, as a writer would seal it. */
static void seal(char out[SESSNAP__SLOT_LEN], const char *prefix)
{
	size_t n = strlen(prefix);

	sessnap__slot_blank(out);
	memcpy(out, prefix, n);
	n += (size_t)snprintf(
	    out + n, SESSNAP__SLOT_LEN - n, ",\"self\":\"xxh3-64:%016llx\"}",
	    (unsigned long long)XXH3_64bits(prefix, strlen(prefix)));
	out[n] = ' ';
}

/* tmpl with its '@' replaced by sum. */
static void with_sum(char *out, size_t size, const char *tmpl, const char *sum)
{
	const char *at = strchr(tmpl, '@');

	ck_assert_ptr_nonnull(at);
	snprintf(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl, sum, at + 1);
}

/* Only the writer's form is read, even when sealed: JSON that a writer
 * never writes is a damaged slot. */
START_TEST(test_slot_form)
{
	static const char sum[] = "xxh3-128:0123456789abcdef0123456789abcdef";
	static const struct {
		const char *fmt;
		int want;
	} cases[] = {
		{ "{\"seq\":1,\"saved\":2,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\"",
		  0 },
		{ "{\"seq\":01,\"saved\":2,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{ \"seq\":1,\"saved\":2,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{\"saved\":2,\"seq\":1,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{\"seq\":-1,\"saved\":2,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{\"seq\":9223372036854775807,\"saved\":2,\"at\":0,"
		  "\"length\":9,\"size\":5,\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{\"seq\":1,\"saved\":2,\"at\":0,\"length\":9,"
		  "\"size\":123456789012345678901,\"checksum\":\"@\"",
		  SESSNAP_ECORRUPT },
		{ "{\"seq\":1,\"saved\":2,\"at\":0,\"length\":9,\"size\":5,"
		  "\"checksum\":\"@\",\"extra\":1",
		  SESSNAP_ECORRUPT },
	};
	char prefix[SESSNAP__SLOT_LEN], buf[SESSNAP__SLOT_LEN];
	sessnap__slot out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		with_sum(prefix, sizeof(prefix), cases[i].fmt, sum);
		seal(buf, prefix);
		ck_assert_msg(sessnap__slot_parse(&out, buf) == cases[i].want,
			      "case %zu", i);
	}
	/* the first one is the form sessnap__slot_format() writes */
	with_sum(prefix, sizeof(prefix), cases[0].fmt, sum);
	seal(buf, prefix);
	{
		char again[SESSNAP__SLOT_LEN];

		ck_assert_int_eq(sessnap__slot_parse(&out, buf), 0);
		sessnap__slot_format(again, &out);
		ck_assert(memcmp(again, buf, sizeof(buf)) == 0);
	}
}
END_TEST

/* The slot codec: what it writes, it reads; anything torn is refused. */
/*
 * A record's zstd frame carries no content checksum: the slot's checksum
 * covers the record's bytes and the header's the base, and zstd's XXH64
 * of the whole state was a quarter of a save's compression (design.md
 * "The save's CPU and the load's CPU").  The frame header descriptor is
 * the byte after the 4-byte magic; its bit 2 is the content checksum
 * flag.  The record must
 * still decode to the state, with its content size, and a record of a
 * real file too.
 */
START_TEST(test_record_no_frame_checksum)
{
	sessnap__delta_codec *c = NULL;
	sessnap_store *store = open_store(SESSNAP_STORE_DELTA);
	sessnap_session *s = NULL;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	const char *base, *state;
	json_object *b, *o;
	sessnap__header h;
	char rec[4096], *file;
	size_t rlen = 0, flen = 0, hlen;
	uint64_t at;

	b = doc(16384, 0);
	o = doc(16384, 1);
	base = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
	state = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ck_assert_int_eq(sessnap__delta_codec_new(&c, base, strlen(base)), 0);
	ck_assert_int_eq(sessnap__delta_compress(c, rec, sizeof(rec), &rlen,
						 state, strlen(state)),
			 0);
	ck_assert_uint_gt(rlen, 5);
	ck_assert_int_eq(rec[4] & 0x04, 0);
	sessnap__delta_codec_free(c);
	json_object_put(b);
	json_object_put(o);

	s = begin_session(store, id, NULL);
	save(s, 16384, 0);
	save(s, 16384, 1);
	h = read_header(store, id, 0);
	ck_assert_int_ge(h.slot, 0);
	snap_path(path, sizeof(path), id);
	hlen = header_len(path);
	file = tu_read_file(path, &flen);
	ck_assert_ptr_nonnull(file);
	at = sessnap__delta_area_off(&h, hlen) + h.rec.at;
	ck_assert_uint_lt(at + 5, flen);
	ck_assert_int_eq(file[at + 4] & 0x04, 0);
	free(file);
	ck_assert_int_eq(load_edit(store, id, NULL), 1);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_slot_codec)
{
	char buf[SESSNAP__SLOT_LEN];
	sessnap__slot in, out;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.seq = 42;
	in.saved_ms = 1700000000000;
	in.at = 4096;
	in.length = 123;
	in.size = 16384;
	sessnap__checksum(in.checksum, "x", 1);
	sessnap__slot_format(buf, &in);
	ck_assert_int_eq(buf[SESSNAP__SLOT_LEN - 1], '\n');
	ck_assert_int_eq(sessnap__slot_parse(&out, buf), 0);
	ck_assert(memcmp(&in, &out, sizeof(in)) == 0);
	/* every byte flipped is refused (or still the same slot: padding) */
	for (i = 0; i < SESSNAP__SLOT_LEN; i++) {
		char save_c = buf[i];
		int rc;

		buf[i] ^= 0x01;
		rc = sessnap__slot_parse(&out, buf);
		ck_assert_msg(
		    rc == SESSNAP_ECORRUPT ||
			(rc == 0 && memcmp(&in, &out, sizeof(in)) == 0),
		    "byte %zu: %d", i, rc);
		buf[i] = save_c;
	}
	sessnap__slot_blank(buf);
	ck_assert_int_eq(sessnap__slot_parse(&out, buf), 1);
}
END_TEST

static Suite *delta_suite(void)
{
	Suite *s = suite_create("delta");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_base_only);
	tcase_add_test(tc, test_appends);
	tcase_add_test(tc, test_compaction_count);
	tcase_add_test(tc, test_compaction_size);
	tcase_add_test(tc, test_compaction_average);
	tcase_add_test(tc, test_compaction_cycle);
	tcase_add_test(tc, test_compressed_base);
	tcase_add_test(tc, test_both_layouts);
	tcase_add_test(tc, test_scan_cost);
	tcase_add_test(tc, test_slot_codec);
	tcase_add_test(tc, test_record_no_frame_checksum);
	tcase_add_test(tc, test_load_cache);
	tcase_add_test(tc, test_load_cache_threads_fork);
	tcase_add_test(tc, test_slot_form);
	tcase_add_test(tc, test_slot_shrinks);
	tcase_add_loop_test(tc, test_append_one_flush, 0, 2);
	tcase_add_test(tc, test_compact_label);
	tcase_add_test(tc, test_compact_keep);
	tcase_add_test(tc, test_compact_not_ours);
	tcase_add_test(tc, test_adopt);
	tcase_add_test(tc, test_patch);
	tcase_add_test(tc, test_clean_newest);
	tcase_add_test(tc, test_near_read_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_torn_append, 0, DAMAGES);
	tcase_add_test(tc, test_failed_flush);
	tcase_add_test(tc, test_failed_write);
	tcase_add_test(tc, test_compaction_dir_flush);
	tcase_add_test(tc, test_compaction_in_place);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tu_tcase_add_tmpdir(tc);
	tcase_add_loop_test(tc, test_hostile_slot, 0, HOSTILES);
	tcase_add_loop_test(tc, test_hostile_header, 0, HOSTILE_HEADERS);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(delta_suite)
