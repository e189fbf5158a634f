/*
 * check_api.c - the library as a user sees it
 *
 * This suite includes no private header and links only the installed
 * library (lib/libsessnap.la), as check's own check_check_export does: a
 * program that uses <sessnap.h> alone must be able to open a store, write
 * a session and read it back.  It also proves that the shared library
 * exports none of the internal sessnap__* names: they are hidden by the
 * link's -export-symbols-regex, and a user must never be able to call (or
 * collide with) them.
 */
#define _GNU_SOURCE /* dladdr */

#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sessnap.h>

#include "testutil.h"

static sessnap_store *open_store(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	int rc;

	opts.dir = tu_dir;
	opts.app = "apitest";
	rc = sessnap_store_open(&store, &opts);
	ck_assert_msg(rc == 0, "store_open: %s", sessnap_error_last());
	return store;
}

START_TEST(test_round_trip)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	json_object *state = json_object_new_object(), *got = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_load_info *info = NULL;

	so.label = "api test";
	json_object_object_add(state, "text", json_object_new_string("hi"));
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert(json_object_equal(got, state));
	ck_assert_str_eq(info->label, "api test");
	ck_assert_uint_eq(info->seq, 1);
	json_object_put(got);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id),
			 SESSNAP_ENOTFOUND);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	json_object_put(state);
	sessnap_load_info_free(info);
}
END_TEST


/*
 * The delta layout through the installed header: a store opened with
 * SESSNAP_STORE_DELTA saves a base and records; the scan's record says so
 * (its size covers the new members), and a store opened without the flag
 * loads the newest state.
 */
START_TEST(test_delta_layout)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL, *plain;
	sessnap_session *s = NULL;
	json_object *state, *got = NULL;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_info **infos = NULL;
	size_t count = 0;
	int i;

	opts.dir = tu_dir;
	opts.app = "apitest";
	opts.flags = SESSNAP_STORE_DELTA | SESSNAP_STORE_COMPRESS_BASE;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	for (i = 0; i < 3; i++) {
		state = json_object_new_object();
		json_object_object_add(state, "n", json_object_new_int(i));
		ck_assert_int_eq(sessnap_session_update(s, state), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(state);
	}
	ck_assert_int_eq(sessnap_store_scan(&infos, &count, store, 0), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_ge(infos[0]->size,
			  offsetof(sessnap_info, record_bytes) +
			      sizeof(infos[0]->record_bytes));
	ck_assert_uint_eq(infos[0]->layout, SESSNAP_LAYOUT_DELTA);
	ck_assert_uint_eq(infos[0]->format_version, SESSNAP_FORMAT_VERSION);
	ck_assert_uint_eq(infos[0]->seq, 3);
	ck_assert_uint_eq(infos[0]->base_seq, 1);
	ck_assert_uint_eq(infos[0]->base_compressed, 1);
	ck_assert_uint_gt(infos[0]->record_bytes, 0);
	sessnap_info_free(infos, count);
	sessnap_session_release(s);
	plain = open_store();
	ck_assert_int_eq(sessnap_store_load(&got, NULL, plain, id), 0);
	state = json_object_new_object();
	json_object_object_add(state, "n", json_object_new_int(2));
	ck_assert(json_object_equal(got, state));
	json_object_put(state);
	json_object_put(got);
	ck_assert_int_eq(sessnap_store_close(plain), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * Keys through the installed header: begin with a key, the scan's key
 * filter and sessnap_info.key, sessnap_load_info.key, the prompt's key.
 */
START_TEST(test_keys)
{
	static const char key[] = "/home/u/doc\xff.txt";
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_prompt_options po = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL, *t = NULL;
	sessnap_info **infos = NULL;
	sessnap_load_info *info = NULL;
	sessnap_prompt_answer answer;
	json_object *state = json_object_new_object(), *got = NULL;
	char id[SESSNAP_ID_LEN + 1];
	size_t n = 0;

	ck_assert_uint_eq(so.version, SESSNAP_SESSION_OPTIONS_VERSION);
	ck_assert_ptr_null(so.key);
	ck_assert_uint_eq(so.key_len, 0);
	ck_assert_ptr_null(po.key);
	so.key = key;
	so.key_len = sizeof(key) - 1;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	so.key = "other";
	so.key_len = 5;
	ck_assert_int_eq(sessnap_session_begin(&t, store, &so), 0);
	/* Listed, with its key, before any save. */
	ck_assert_int_eq(
	    sessnap_store_scan_key(&infos, &n, store, 0, key, sizeof(key) - 1),
	    0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, sessnap_session_id(s));
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_uint_eq(infos[0]->key_len, sizeof(key) - 1);
	ck_assert_mem_eq(infos[0]->key, key, sizeof(key));
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_store_scan_key(&infos, &n, store, 0, NULL, 0),
			 SESSNAP_EINVAL);

	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_uint_eq(info->key_len, sizeof(key) - 1);
	ck_assert_mem_eq(info->key, key, sizeof(key) - 1);
	json_object_put(got);
	/* Running sessions are never offered, keyed or not. */
	po.key = key;
	po.key_len = sizeof(key) - 1;
	po.assume_tty = 1;
	ck_assert_int_eq(sessnap_prompt_run(id, &answer, store, &po), 0);
	ck_assert_int_eq(answer, SESSNAP_PROMPT_NOTHING);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_session_end(t, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	json_object_put(state);
	sessnap_load_info_free(info);
}
END_TEST

static int not_empty(const json_object *state, unsigned int schema,
		     void *payload)
{
	json_object *n;

	(void)schema;
	(void)payload;
	return json_object_object_get_ex(state, "n", &n) &&
		       json_object_get_int(n) > 0 ?
		   0 :
		   -1;
}

/*
 * Generations through the public header alone: the store option, the
 * fallback past two empty saves (the validation refuses them), the load
 * info's generation and flag, the scan's flag and generation,
 * sessnap_store_generations() and sessnap_store_load_generation().
 */
START_TEST(test_generations)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL, *reader = NULL;
	sessnap_session *s = NULL;
	sessnap_generation *g = NULL;
	sessnap_load_info *info = NULL;
	sessnap_info **infos = NULL;
	json_object *st, *got = NULL, *n;
	char id[SESSNAP_ID_LEN + 1], path[PATH_MAX];
	size_t count = 0, i;
	int k;

	opts.dir = tu_dir;
	opts.app = "apitest";
	opts.generations = 3;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	for (k = 0; k < 5; k++) {
		st = json_object_new_object();
		json_object_object_add(st, "n",
				       json_object_new_int(k < 3 ? k + 1 : 0));
		json_object_object_add(st, "k", json_object_new_int(k));
		ck_assert_int_eq(sessnap_session_update(s, st), 0);
		ck_assert_int_eq(sessnap_session_flush(s), 0);
		json_object_put(st);
	}
	sessnap_session_release(s);

	ck_assert_int_eq(sessnap_store_generations(&g, &count, store, id), 0);
	ck_assert_uint_eq(count, 4);
	for (i = 0; i < count; i++) {
		ck_assert_uint_eq(g[i].generation, i);
		ck_assert_uint_eq(g[i].seq, 5 - i);
		ck_assert_int_eq(g[i].verdict, 0);
		ck_assert_uint_gt(g[i].file_bytes, 0);
		ck_assert_int_gt(g[i].saved_ms, 0);
	}
	sessnap_generations_free(g);

	ck_assert_int_eq(
	    sessnap_store_load_generation(&got, &info, store, id, 3), 0);
	ck_assert(json_object_object_get_ex(got, "n", &n));
	ck_assert_int_eq(json_object_get_int(n), 2);
	ck_assert_uint_eq(info->generation, 3);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_OLDER);
	json_object_put(got);
	sessnap_load_info_free(info);
	ck_assert_int_eq(
	    sessnap_store_load_generation(&got, &info, store, id, 4),
	    SESSNAP_ENOTFOUND);
	sessnap_load_info_free(info);
	ck_assert_int_eq(
	    sessnap_store_load_generation(&got, &info, store, id,
					  SESSNAP_GENERATIONS_MAX + 1),
	    SESSNAP_EINVAL);

	opts.generations = 0;
	opts.validate = not_empty;
	ck_assert_int_eq(sessnap_store_open(&reader, &opts), 0);
	sessnap_load_info_free(info);
	ck_assert_int_eq(sessnap_store_load(&got, &info, reader, id), 0);
	ck_assert(json_object_object_get_ex(got, "n", &n));
	ck_assert_int_eq(json_object_get_int(n), 3);
	ck_assert_uint_eq(info->generation, 2);
	ck_assert_uint_eq(info->flags, SESSNAP_LOAD_FROM_OLDER);
	json_object_put(got);

	snprintf(path, sizeof(path), "%s/%s.snap", tu_dir, id);
	ck_assert_int_eq(truncate(path, 3), 0);
	snprintf(path, sizeof(path), "%s/%s.snap.prev", tu_dir, id);
	ck_assert_int_eq(truncate(path, 3), 0);
	ck_assert_int_eq(sessnap_store_scan(&infos, &count, reader, 0), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(infos[0]->flags, SESSNAP_INFO_FROM_OLDER);
	ck_assert_uint_eq(infos[0]->generation, 2);
	sessnap_info_free(infos, count);
	/* The verdict of each: the two truncated ones corrupt, with why. */
	ck_assert_int_eq(sessnap_store_generations(&g, &count, reader, id), 0);
	ck_assert_uint_eq(count, 4);
	ck_assert_uint_eq(g[0].generation, 0);
	ck_assert_int_eq(g[0].verdict, SESSNAP_ECORRUPT);
	ck_assert(g[0].reason[0] != '\0');
	ck_assert_int_eq(g[1].verdict, 0);
	ck_assert_uint_eq(g[1].generation, 2);
	ck_assert_uint_eq(g[3].generation, 1);
	ck_assert_int_eq(g[3].verdict, SESSNAP_ECORRUPT);
	sessnap_generations_free(g);

	ck_assert_int_eq(sessnap_store_discard(reader, id), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	ck_assert_int_eq(sessnap_store_close(reader), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* Pull mode and the event-loop calls, on a store with no library thread. */
static json_object *api_collect(sessnap_session *session, void *payload)
{
	int *calls = payload;
	json_object *st = json_object_new_object();

	(void)session;
	json_object_object_add(st, "calls", json_object_new_int(++*calls));
	return st;
}

START_TEST(test_pull_and_loop)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_save_status st = SESSNAP_SAVE_STATUS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_info **infos = NULL;
	size_t n = 0;
	int64_t wait_ms = 0;
	int calls = 0, i;

	opts.dir = tu_dir;
	opts.app = "apitest";
	opts.flags = SESSNAP_STORE_NOTHREAD;
	opts.autosave_interval_ms = 1;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	ck_assert_int_eq(sessnap_session_set_collect(s, api_collect, &calls),
			 0);
	ck_assert_int_eq(sessnap_session_save_due(s), 0); /* nothing changed */
	ck_assert_int_eq(sessnap_store_next_deadline(&wait_ms, store), 0);
	ck_assert_int_eq(wait_ms, -1);
	ck_assert_int_eq(sessnap_session_touch(s), 0);
	ck_assert_int_eq(sessnap_store_next_deadline(&wait_ms, store), 0);
	ck_assert_int_ge(wait_ms, 0);
	for (i = 0; i < 2000 && sessnap_session_save_due(s) != 1; i++)
		usleep(1000);
	ck_assert_int_eq(sessnap_session_save_due(s), 1);
	ck_assert_int_eq(sessnap_store_dispatch(store), 1);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(sessnap_store_tick(store), 0);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.last_error, 0);
	ck_assert_int_eq(st.pending, 0);
	/* Version 2: a local store renews no lease. */
	ck_assert_uint_eq(st.version, 2);
	ck_assert_int_eq(st.lease_error, 0);
	ck_assert_uint_eq(st.lease_period_ms, 0);
	ck_assert_int_eq(st.lease_age_ms, -1);
	/* A label alone is saved by the next flush. */
	ck_assert_int_eq(sessnap_session_set_label(s, "pulled"), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->label, "pulled");
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_RUNNING);
	ck_assert_str_eq(sessnap_verdict_name(infos[0]->status), "running");
	sessnap_info_free(infos, n);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

static void api_count_event(const sessnap_clean_event *ev, void *payload)
{
	int *removed = payload;

	ck_assert_ptr_nonnull(sessnap_clean_action_name(ev->action));
	if (ev->action == SESSNAP_CLEAN_REMOVE_COMPLETED &&
	    ev->file == SESSNAP_CLEAN_FILE_SNAPSHOT)
		++*removed;
}

/* A crash, its adoption, a kept end, and the cleaner removing it. */
START_TEST(test_adopt_and_clean)
{
	sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report rep = SESSNAP_CLEAN_REPORT_INIT;
	sessnap_store *store = open_store(), *again = NULL;
	sessnap_session *s = NULL, *t = NULL;
	sessnap_load_info *info = NULL;
	json_object *state = json_object_new_int(42), *got = NULL;
	char id[SESSNAP_ID_LEN + 1];
	char *dir = NULL;
	int removed = 0;

	ck_assert_str_eq(sessnap_store_app(store), "apitest");
	ck_assert_ptr_nonnull(strstr(sessnap_store_path(store), tu_dir));
	ck_assert_int_eq(sessnap_store_default_dir(&dir, "apitest"), 0);
	ck_assert_ptr_nonnull(strstr(dir, "/sessnap/apitest"));
	free(dir);
	ck_assert_int_eq(sessnap_store_default_dir(&dir, "../bad"),
			 SESSNAP_EBADNAME);

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_session_release(s); /* as a crash leaves it */
	ck_assert_int_eq(sessnap_store_close(store), 0);

	again = open_store();
	ck_assert_int_eq(sessnap_session_adopt(&t, &got, &info, again, id), 0);
	ck_assert_int_eq(json_object_get_int(got), 42);
	ck_assert_uint_eq(info->adoptions, 1); /* this one */
	json_object_put(got);
	ck_assert_int_eq(sessnap_session_end(t, SESSNAP_SESSION_KEEP), 0);
	pol.completed_age_ms = 0;
	ck_assert_int_eq(
	    sessnap_store_clean(&rep, again, &pol, api_count_event, &removed),
	    0);
	ck_assert_uint_eq(rep.removed_completed, 1);
	ck_assert_int_eq(removed, 1);
	ck_assert_int_eq(sessnap_store_close(again), 0);
	json_object_put(state);
	sessnap_load_info_free(info);
}
END_TEST

START_TEST(test_errors_public)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	char file[PATH_MAX];

	tu_write_file(tu_dir, "file", "x", 1);
	tu_join(file, sizeof(file), tu_dir, "file");
	opts.dir = file;
	opts.app = "apitest";
	ck_assert_int_eq(sessnap_store_open(&store, &opts), SESSNAP_EUNSAFE);
	ck_assert_str_eq(sessnap_error_name(SESSNAP_EUNSAFE),
			 "SESSNAP_EUNSAFE");
	ck_assert_str_eq(sessnap_error_string(SESSNAP_EUNSAFE),
			 "store directory is not safe to use");
	ck_assert_ptr_nonnull(strstr(sessnap_error_last(), file));
	/* The short form is the message's start, on one line. */
	ck_assert_int_eq(strncmp(sessnap_error_last(),
				 sessnap_error_last_short(),
				 strlen(sessnap_error_last_short())),
			 0);
	ck_assert_uint_gt(strlen(sessnap_error_last_short()), 0);
	ck_assert_uint_le(strlen(sessnap_error_last_short()),
			  SESSNAP_ERROR_SHORT_MAX);
	ck_assert_ptr_null(strchr(sessnap_error_last_short(), '\n'));
	ck_assert_str_eq(SESSNAP_VERSION_STRING, "0.1.0");
}
END_TEST

static int api_validate_text(const char *state, size_t len,
			     unsigned int schema, void *payload)
{
	(void)schema;
	(*(int *)payload)++;
	return len == 2 && strcmp(state, "[]") == 0; /* an empty list: no */
}

static int api_migrate_text(char **state, size_t *len, unsigned int from,
			    unsigned int to, void *payload)
{
	(void)payload;
	if (from != 0 || to != 1 || strcmp(*state, "[\"old\"]") != 0)
		return 1;
	free(*state);
	if ((*state = strdup("[\"new\"]")) == NULL)
		return 1;
	*len = strlen(*state);
	return 0;
}

/* States as JSON text, through the public header alone. */
START_TEST(test_text)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL, *a = NULL;
	sessnap_load_info *info = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t len = 0;
	int calls = 0;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_update_text(s, "[\"old\"]", 7), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_update_text(s, "[1,]", 4),
			 SESSNAP_EINVAL);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, &info, store, id),
			 0);
	ck_assert_str_eq(text, "[\"old\"]");
	ck_assert_uint_eq(len, 7);
	free(text);
	ck_assert_int_eq(sessnap_session_update_text(s, "[]", 2), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap_session_release(s);
	ck_assert_int_eq(sessnap_store_close(store), 0);

	/* schema 1 with both text callbacks: "[]" is rejected, so the
	 * previous generation is migrated and adopted */
	opts.dir = tu_dir;
	opts.app = "apitest";
	opts.schema_version = 1;
	opts.validate_text = api_validate_text;
	opts.migrate_text = api_migrate_text;
	opts.payload = &calls;
	ck_assert_int_eq(sessnap_store_open(&store, &opts), 0);
	sessnap_load_info_free(info);
	ck_assert_int_eq(
	    sessnap_session_adopt_text(&a, &text, &len, &info, store, id), 0);
	ck_assert_str_eq(text, "[\"new\"]");
	ck_assert(info->flags & SESSNAP_LOAD_FROM_PREV);
	ck_assert(info->flags & SESSNAP_LOAD_MIGRATED);
	ck_assert_int_eq(calls, 2);
	free(text);
	ck_assert_int_eq(sessnap_session_end(a, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	sessnap_load_info_free(info);
}
END_TEST

/* Patch updates, through the public header alone. */
START_TEST(test_patch)
{
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	sessnap_save_status st = { .version = SESSNAP_SAVE_STATUS_VERSION };
	json_object *v = json_object_new_int(2);
	sessnap_patch_op op = { SESSNAP_PATCH_ADD, "/b", v };
	sessnap_patch_text_op top = { SESSNAP_PATCH_ADD, "/a/-", "3", 1 };
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), SESSNAP_ESTATE);
	ck_assert_int_eq(sessnap_session_update_text(s, "{\"a\":[]}", 8), 0);
	ck_assert_int_eq(sessnap_session_patch(s, &op, 1), 0);
	ck_assert_int_eq(sessnap_session_patch_text(s, &top, 1), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load_text(&text, &len, NULL, store, id),
			 0);
	ck_assert_str_eq(text, "{\"a\":[3],\"b\":2}");
	free(text);
	top.path = "/nope/x";
	ck_assert_int_eq(sessnap_session_patch_text(s, &top, 1), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EPATCH);
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.last_error, SESSNAP_EPATCH);
	ck_assert_str_eq(sessnap_error_name(SESSNAP_EPATCH), "SESSNAP_EPATCH");
	json_object_put(v);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * Find the shared object that holds sessnap_error_string and look the names
 * up in it.  Built without shared libraries there is no export table to
 * check: say so rather than pass silently.
 */
START_TEST(test_no_internal_exports)
{
	static const char *const hidden[] = {
		"sessnap__fault_arm",	   "sessnap__error", "sessnap__sys",
		"sessnap__atomic_replace", "sessnap__load",
		"sessnap__scan",
	};
	char exe[PATH_MAX];
	Dl_info dli;
	void *h, *sym;
	size_t i;
	ssize_t n;

	sym = dlsym(RTLD_DEFAULT, "sessnap_error_string");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	if (sym == NULL || dladdr(sym, &dli) == 0 ||
	    strcmp(dli.dli_fname, exe) == 0) {
		printf("# check_api: linked statically; the export table of "
		       "the shared library is not checked in this build\n");
		return;
	}
	ck_assert_ptr_nonnull(strstr(dli.dli_fname, "libsessnap"));
	h = dlopen(dli.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	ck_assert_msg(h != NULL, "dlopen %s: %s", dli.dli_fname, dlerror());
	ck_assert_ptr_nonnull(dlsym(h, "sessnap_error_string"));
	ck_assert_ptr_nonnull(dlsym(h, "sessnap_store_open"));
	ck_assert_ptr_nonnull(dlsym(h, "sessnap_store_load"));
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		ck_assert_msg(dlsym(h, hidden[i]) == NULL, "%s is exported",
			      hidden[i]);
	dlclose(h);
}
END_TEST

START_TEST(test_options_init)
{
	sessnap_store_options opts;

	memset(&opts, 0xff, sizeof(opts));
	ck_assert_int_eq(
	    sessnap_store_options_init(&opts, SESSNAP_STORE_OPTIONS_VERSION),
	    0);
	ck_assert_uint_eq(opts.version, SESSNAP_STORE_OPTIONS_VERSION);
	ck_assert_ptr_null(opts.dir);
	ck_assert(opts.validate == NULL);
	ck_assert_uint_eq(opts.flags, 0);
	ck_assert_uint_eq(opts.generations, 0);
	ck_assert_int_eq(sessnap_store_options_init(NULL, 1), SESSNAP_EINVAL);
}
END_TEST

/*
 * What a program built against an older, smaller sessnap_info sees: it
 * knows only the record's first fields.  The scan hands out pointers, so
 * the caller's own sizeof never steps through the array; each record
 * says in `size` how much of it the library filled, and a field is read
 * only below that size.  With the 0.x array of records, the second
 * record of such a caller started inside the first one.
 */
struct old_info {
	size_t size;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_verdict status;
};

START_TEST(test_scan_records_grow)
{
	sessnap_store *store = open_store();
	sessnap_session *s[3];
	sessnap_info **infos = NULL;
	struct old_info old;
	size_t n = 0, i, k, seen = 0;

	for (k = 0; k < 3; k++)
		ck_assert_int_eq(sessnap_session_begin(&s[k], store, NULL), 0);
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		/* An old caller copies only the prefix it knows. */
		ck_assert_uint_ge(infos[i]->size, sizeof(old));
		memcpy(&old, infos[i], sizeof(old));
		ck_assert_uint_eq(old.size, sizeof(sessnap_info));
		ck_assert_int_eq(old.status, SESSNAP_VERDICT_RUNNING);
		for (k = 0; k < 3; k++)
			if (strcmp(old.id, sessnap_session_id(s[k])) == 0)
				seen |= 1u << k;
		/* A newer field, read only when the record holds it. */
		ck_assert(offsetof(sessnap_info, generation) < infos[i]->size);
		ck_assert_uint_eq(infos[i]->generation, 0);
	}
	ck_assert_uint_eq(seen, 7);
	/* One call frees the array, the records, their labels and keys. */
	sessnap_info_free(infos, n);
	sessnap_info_free(NULL, 0);
	for (k = 0; k < 3; k++)
		ck_assert_int_eq(sessnap_session_end(s[k], 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
}
END_TEST

/*
 * A load's record follows the scan's rule: the library allocates it, its
 * label and its key, says in `size` how much it filled, and one call
 * frees it all; on error the caller gets NULL, never a stale record.
 */
START_TEST(test_load_record)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = open_store();
	sessnap_session *s = NULL;
	sessnap_load_info *info = NULL;
	json_object *state = json_object_new_object(), *got = NULL;
	char id[SESSNAP_ID_LEN + 1], *text = NULL;
	size_t text_len = 0;

	so.label = "notes";
	so.key = "k\0y";
	so.key_len = 3;
	ck_assert_int_eq(sessnap_session_begin(&s, store, &so), 0);
	snprintf(id, sizeof(id), "%s", sessnap_session_id(s));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, id), 0);
	ck_assert_ptr_nonnull(info);
	ck_assert_uint_eq(info->size, sizeof(*info));
	ck_assert(offsetof(sessnap_load_info, generation) < info->size);
	ck_assert_str_eq(info->label, "notes");
	ck_assert_uint_eq(info->key_len, 3);
	ck_assert_mem_eq(info->key, "k\0y", 4);
	ck_assert_uint_eq(info->seq, 1);
	json_object_put(got);
	sessnap_load_info_free(info);
	sessnap_load_info_free(NULL);
	/* Not wanted: nothing is allocated. */
	ck_assert_int_eq(sessnap_store_load(&got, NULL, store, id), 0);
	json_object_put(got);
	/* On error, *info is NULL. */
	info = (sessnap_load_info *)1;
	ck_assert_int_eq(sessnap_store_load(&got, &info, store, "nope"),
			 SESSNAP_EBADNAME);
	ck_assert_ptr_null(info);
	ck_assert_int_eq(sessnap_session_set_label(s, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(
	    sessnap_store_load_text(&text, &text_len, &info, store, id), 0);
	ck_assert_ptr_null(info->label);
	ck_assert_uint_eq(info->seq, 2);
	sessnap_load_info_free(info);
	free(text);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_int_eq(sessnap_store_close(store), 0);
	json_object_put(state);
}
END_TEST

Suite *api_suite(void);

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_delta_layout);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_generations);
	tcase_add_test(tc, test_pull_and_loop);
	tcase_add_test(tc, test_adopt_and_clean);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_errors_public);
	tcase_add_test(tc, test_patch);
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_no_internal_exports);
	tcase_add_test(tc, test_options_init);
	tcase_add_test(tc, test_scan_records_grow);
	tcase_add_test(tc, test_load_record);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(api_suite)
