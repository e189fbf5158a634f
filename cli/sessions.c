/*
 * sessions.c - helpers of the sessnap commands that look at sessions
 *
 * The JSON shape of one session (shared by "list --json" and "show
 * --json", documented in sessnap(1) and kept stable: members are only
 * ever added), finding a session by a unique id prefix, loading its state
 * with the commands' messages (show, export, recover), and the store's
 * listing that list and verify print.  Kept apart from common.c so that
 * snapshot-clean links nothing of the scanner.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common.h"

/* The SESSNAP_INFO_* flags, as members of a session's JSON object. */
static const struct {
	const char *name;
	unsigned int bit;
} flags[] = {
	{ "from_prev", SESSNAP_INFO_FROM_PREV },
	{ "not_regular", SESSNAP_INFO_NOT_REGULAR },
	{ "unreadable", SESSNAP_INFO_UNREADABLE },
	{ "too_big", SESSNAP_INFO_TOOBIG },
	{ "taken_over", SESSNAP_INFO_TAKEN_OVER },
};

void key_hex(char *out, const unsigned char *k, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[k[i] >> 4];
		out[2 * i + 1] = hex[k[i] & 15];
	}
	out[2 * len] = '\0';
}

const char *layout_name(const sessnap_info *in)
{
	return in->layout == SESSNAP_LAYOUT_DELTA ? "delta" : "plain";
}

/* A delta snapshot's base and newest record (sessnap(1), "list"). */
static json_object *delta_json(const sessnap_info *in)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "base_seq",
			       json_object_new_int64((int64_t)in->base_seq));
	json_object_object_add(o, "base_bytes",
			       json_object_new_int64((int64_t)in->base_bytes));
	json_object_object_add(
	    o, "base_stored_bytes",
	    json_object_new_int64((int64_t)in->base_stored_bytes));
	json_object_object_add(
	    o, "base_codec",
	    json_object_new_string(in->base_compressed ? "zstd" : "none"));
	json_object_object_add(o, "area_bytes",
			       json_object_new_int64((int64_t)in->area_bytes));
	json_object_object_add(
	    o, "record_bytes", json_object_new_int64((int64_t)in->record_bytes));
	return o;
}

/* Whether the library that filled `in` knew its lease members. */
static bool has_lease_fields(const sessnap_info *in)
{
	return offsetof(sessnap_info, lease_renewals) < in->size;
}

const char *host_note(char *buf, size_t len, const sessnap_info *in,
		      int64_t now)
{
	char ago[32];
	const char *host = in->owner.host[0] ? in->owner.host : "another host";

	buf[0] = '\0';
	if (has_lease_fields(in) && in->lease_age_ms >= 0) {
		sessnap__age_format(ago, sizeof(ago), now,
				    now - in->lease_age_ms);
		snprintf(buf, len, "on %s, lease renewed %s", host, ago);
	} else if (in->status == SESSNAP_VERDICT_FOREIGN) {
		snprintf(buf, len, "on %s, %s", host,
			 has_lease_fields(in) && in->lease_period_ms > 0
			     ? "lease age unknown"
			     : "no lease");
	}
	return buf;
}

json_object *info_json(const sessnap_info *in)
{
	char hex[2 * SESSNAP_KEY_MAX + 1];
	json_object *o = json_object_new_object();
	json_object *owner = json_object_new_object();
	size_t i;

	json_object_object_add(o, "id", json_object_new_string(in->id));
	json_object_object_add(
	    o, "status",
	    json_object_new_string(sessnap_verdict_name(in->status)));
	json_object_object_add(
	    o, "label", in->label ? json_object_new_string(in->label) : NULL);
	/* As in the header: "key" when readable, else "key_hex". */
	if (in->key != NULL && sessnap__key_plain(in->key, in->key_len)) {
		json_object_object_add(
		    o, "key",
		    json_object_new_string_len((const char *)in->key,
					       (int)in->key_len));
	} else if (in->key != NULL) {
		key_hex(hex, in->key, in->key_len);
		json_object_object_add(o, "key", NULL);
		json_object_object_add(o, "key_hex",
				       json_object_new_string(hex));
	} else {
		json_object_object_add(o, "key", NULL);
	}
	json_object_object_add(o, "created_ms",
			       json_object_new_int64(in->created_ms));
	json_object_object_add(o, "saved_ms",
			       json_object_new_int64(in->saved_ms));
	json_object_object_add(o, "seq",
			       json_object_new_int64((int64_t)in->seq));
	json_object_object_add(o, "adoptions",
			       json_object_new_int64(in->adoptions));
	json_object_object_add(o, "format_version",
			       json_object_new_int64(in->format_version));
	json_object_object_add(o, "schema_version",
			       json_object_new_int64(in->schema_version));
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		json_object_object_add(
		    o, flags[i].name,
		    json_object_new_boolean((in->flags & flags[i].bit) != 0));
	json_object_object_add(owner, "pid",
			       json_object_new_int64(in->owner.pid));
	json_object_object_add(owner, "host",
			       json_object_new_string(in->owner.host));
	json_object_object_add(owner, "boot_id",
			       json_object_new_string(in->owner.boot_id));
	json_object_object_add(
	    owner, "start_time",
	    json_object_new_int64((int64_t)in->owner.start_time));
	json_object_object_add(o, "owner", owner);
	/* The lease of another host's session: null when none was judged. */
	json_object_object_add(
	    o, "lease_age_ms",
	    has_lease_fields(in) && in->lease_age_ms >= 0
		? json_object_new_int64(in->lease_age_ms)
		: NULL);
	json_object_object_add(
	    o, "lease_period_ms",
	    has_lease_fields(in) && in->lease_period_ms > 0
		? json_object_new_int64(in->lease_period_ms)
		: NULL);
	json_object_object_add(
	    o, "payload_bytes",
	    json_object_new_int64((int64_t)in->payload_bytes));
	json_object_object_add(o, "file_bytes",
			       json_object_new_int64((int64_t)in->file_bytes));
	json_object_object_add(o, "layout",
			       json_object_new_string(layout_name(in)));
	if (in->layout == SESSNAP_LAYOUT_DELTA)
		json_object_object_add(o, "delta", delta_json(in));
	return o;
}

int find_session(sessnap_info *out, char *label_buf, size_t label_len,
		 const char *prog, sessnap_store *store, const char *id)
{
	sessnap_info **infos = NULL;
	size_t n = 0, i, len = strlen(id), hits = 0, hit = 0;

	if (len < 4 || len > SESSNAP_ID_LEN) {
		fprintf(stderr,
			"%s: '%s' is not a session id (32 hex digits, or a "
			"unique prefix of at least 4)\n",
			prog, id);
		return EXIT_FAIL;
	}
	if (scan_store(&infos, &n, prog, store) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < n; i++) {
		if (strncmp(infos[i]->id, id, len) == 0) {
			hits++;
			hit = i;
		}
	}
	if (hits != 1) {
		fprintf(stderr, "%s: %s session %s in %s\n", prog,
			hits ? "more than one" : "no", id,
			sessnap_store_path(store));
		sessnap_info_free(infos, n);
		return EXIT_FAIL;
	}
	*out = *infos[hit];
	out->key = NULL;
	if (infos[hit]->key != NULL) {
		/* The command's one session at a time: see common.h. */
		static unsigned char key_buf[SESSNAP_KEY_MAX + 1];

		memcpy(key_buf, infos[hit]->key, infos[hit]->key_len + 1);
		out->key = key_buf;
	}
	label_buf[0] = '\0';
	if (infos[hit]->label != NULL)
		strlcpy(label_buf, infos[hit]->label, label_len);
	out->label = infos[hit]->label ? label_buf : NULL;
	sessnap_info_free(infos, n);
	return EXIT_OK;
}

int open_session(sessnap_store **store, sessnap_info *out, char *label_buf,
		 size_t label_len, const struct cmd_args *a)
{
	int rc = cmd_open(store, a, SESSNAP_STORE_READONLY);

	if (rc != EXIT_OK)
		return rc;
	rc = find_session(out, label_buf, label_len, a->prog, *store,
			  a->argv[0]);
	if (rc != EXIT_OK) {
		sessnap_store_close(*store);
		*store = NULL;
	}
	return rc;
}

int load_state(json_object **out, const char *prog, sessnap_store *store,
	       const char *id)
{
	sessnap_load_info *li = NULL;
	int rc = sessnap_store_load(out, &li, store, id);

	if (rc < 0) {
		lib_error(prog, rc, "cannot load session %s", id);
		return EXIT_FAIL;
	}
	if (li->notice[0] != '\0')
		fprintf(stderr, "%s: note: %s\n", prog, li->notice);
	sessnap_load_info_free(li);
	return EXIT_OK;
}

const char *verdict_word(int verdict)
{
	switch (verdict) {
	case 0:
		return "ok";
	case SESSNAP_ECORRUPT:
		return "corrupt";
	case SESSNAP_ENEWER:
		return "newer";
	case SESSNAP_ETOOBIG:
		return "too-big";
	default:
		return "error";
	}
}

json_object *generations_json(const sessnap_generation *g, size_t n)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i;

	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(
		    o, "generation",
		    json_object_new_int64((int64_t)g[i].generation));
		json_object_object_add(
		    o, "seq", json_object_new_int64((int64_t)g[i].seq));
		json_object_object_add(o, "saved_ms",
				       json_object_new_int64(g[i].saved_ms));
		json_object_object_add(
		    o, "file_bytes",
		    json_object_new_int64((int64_t)g[i].file_bytes));
		json_object_object_add(
		    o, "verdict",
		    json_object_new_string(verdict_word(g[i].verdict)));
		json_object_object_add(o, "reason",
				       g[i].reason[0] ?
					   json_object_new_string(g[i].reason) :
					   NULL);
		json_object_array_add(arr, o);
	}
	return arr;
}

int listing_open(struct listing *l, const struct cmd_args *a, const char *key)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->prog = a->prog;
	if ((rc = cmd_open(&l->store, a, SESSNAP_STORE_READONLY)) != EXIT_OK)
		return rc;
	if (key != NULL) {
		rc = sessnap_store_scan_key(&l->infos, &l->n, l->store, 0, key,
					    strlen(key));
		if (rc < 0) {
			lib_error(a->prog, rc, "cannot list the sessions of %s",
				  sessnap_store_path(l->store));
			rc = EXIT_FAIL;
		}
	} else {
		rc = scan_store(&l->infos, &l->n, a->prog, l->store);
	}
	if (rc != EXIT_OK) {
		sessnap_store_close(l->store);
		l->store = NULL;
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void listing_close(struct listing *l)
{
	sessnap_info_free(l->infos, l->n);
	sessnap_store_close(l->store);
	memset(l, 0, sizeof(*l));
}

json_object *listing_json(const struct listing *l, json_object *sessions)
{
	json_object *doc = json_object_new_object();

	json_object_object_add(doc, "version", json_object_new_int(1));
	json_object_object_add(
	    doc, "store", json_object_new_string(sessnap_store_path(l->store)));
	json_object_object_add(doc, "sessions", sessions);
	return doc;
}
