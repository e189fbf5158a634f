/*
 * text.c - states as JSON text: handed over, loaded, migrated, validated
 *
 * Programs and language bindings that hold no json-c objects hand over a
 * state they have already serialized, and read one back as text:
 *
 *	sessnap_session_update_text()   check the text, copy it, queue it
 *	sessnap_store_load_text()       sessnap_store_load(), as text
 *	sessnap_session_adopt_text()    sessnap_session_adopt(), as text
 *
 * (the store's migrate_text and validate_text callbacks, which the loader
 * calls, are in textcb.c).
 *
 * The rule is "nothing accepted that cannot be read back": the text is
 * written as the payload byte for byte, so update_text must refuse, at the
 * call, every text the loader would refuse.  The loader parses a payload
 * with json-c's tokener at a depth of SESSNAP__JSON_DEPTH (format.c), in
 * its default, lenient mode, and reads at most the store's read bound.
 * update_text accepts less than that tokener does: exactly one JSON value
 * as RFC 8259 defines it (UTF-8, no comments, trailing commas, single
 * quotes, NaN or leading zeros, which json-c's lenient mode lets through),
 * nested no deeper than the tokener allows: the validating scanner
 * (jsoncheck.c, sessnap__json_check()) decides that, allocating nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "owner.h"


/* ---- Text in --------------------------------------------------------------
 */

int sessnap_session_update_text(sessnap_session *s, const char *json,
				size_t len)
{
	size_t max;
	int rc;

	if (s == NULL || json == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_update_text: NULL "
				      "argument");
	if ((rc = sessnap__check_owner(NULL, s,
					SESSNAP__CHECK_SESSION |
					    SESSNAP__CHECK_LIVE,
					"update_text")) < 0)
		return rc;
	max = sessnap__payload_max(s->store);
	if (len > max)
		return sessnap__error(SESSNAP_ETOOBIG,
				      "state of session %s is %zu bytes: with "
				      "its header its snapshot could exceed "
				      "the store's read bound of %zu bytes "
				      "(the largest state accepted is %zu "
				      "bytes), so it could not be loaded "
				      "back; nothing was queued",
				      s->id, len, s->store->read_bound, max);
	if ((rc = sessnap__json_check(json, len)) < 0)
		return sessnap__error(rc,
				      "state of session %s is not one valid "
				      "JSON value: %s; nothing was queued",
				      s->id, sessnap_error_last());
	return sessnap__session_queue_copy(s, json, len);
}

/* ---- Text out -------------------------------------------------------------
 */

/* The state as text, in json-c's plain form (after a migration). */
static int serialize(char **out, size_t *out_len, json_object *state)
{
	const char *str;
	size_t len;

	str = json_object_to_json_string_length(state, SESSNAP__PAYLOAD_FLAGS, &len);
	if (str == NULL || (*out = malloc(len + 1)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory serializing a state");
	memcpy(*out, str, len + 1);
	*out_len = len;
	return 0;
}

/*
 * The payload bytes of generation `name`, provided they are those of the
 * state that was loaded (same checksum).  Returns 0, 1 when the file now
 * holds another state (a save replaced it), or an error.
 */
static int reread(char **out, size_t *out_len, sessnap_store *store,
		  const char *name, const sessnap__header *loaded)
{
	char path[PATH_MAX];
	sessnap__header h;
	size_t len = 0, off = 0;
	char *raw = NULL;
	int rc;

	rc = sessnap__snapshot_read_raw(&raw, &len, &h, &off, store, name);
	if (rc == SESSNAP_ENOTFOUND || rc == SESSNAP_ECORRUPT)
		return 1; /* replaced, or being replaced: load again */
	if (rc < 0)
		return sessnap__error_prefix(
		    rc, "cannot read %s back",
		    sessnap__path(path, sizeof(path), store, name));
	if (strcmp(h.checksum, loaded->checksum) != 0) {
		free(raw);
		return 1;
	}
	/* Keep the payload, NUL-terminated in place of its newline. */
	memmove(raw, raw + off, (size_t)h.length);
	raw[h.length] = '\0';
	*out = raw;
	*out_len = (size_t)h.length;
	return 0;
}

/* How many times a load is redone when a live owner keeps saving. */
#define LOAD_TRIES 8

int sessnap_store_load_text(char **out, size_t *out_len,
			    sessnap_load_info **info, sessnap_store *store,
			    const char *id)
{
	char name[SESSNAP__NAME_MAX];
	sessnap_load_info got;
	sessnap__header h;
	json_object *state;
	int rc, tries;

	if (info != NULL)
		*info = NULL;
	if (out == NULL || out_len == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_load_text: NULL argument");
	*out = NULL;
	*out_len = 0;
	if (!sessnap__id_valid(id))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid session id \"%s\": expected %d "
				      "lowercase hex digits",
				      id ? id : "(null)", SESSNAP_ID_LEN);
	/*
	 * The loader decides which generation to use (checksum, fallback,
	 * validation, migration) exactly as sessnap_store_load() does; the
	 * bytes are then read again from that generation, as adoption does
	 * (adopt.c), and must carry the checksum of the state that was
	 * loaded.  Without the session's lock a live owner may replace the
	 * file in between: then the load is redone.
	 */
	for (tries = 0; tries < LOAD_TRIES; tries++) {
		state = NULL;
		rc = sessnap__load(&state, &got, &h, store, id);
		if (rc < 0)
			return rc;
		if (got.flags & SESSNAP_LOAD_MIGRATED) {
			rc = serialize(out, out_len, state);
			json_object_put(state);
		} else {
			json_object_put(state);
			sessnap__gen_name(name, id, got.generation);
			rc = reread(out, out_len, store, name, &h);
			if (rc == 1)
				continue;
		}
		if (rc < 0)
			return rc;
		if (info != NULL &&
		    (rc = sessnap__load_info_new(info, &got, &h)) < 0) {
			free(*out);
			*out = NULL;
			*out_len = 0;
			return rc;
		}
		return 0;
	}
	return sessnap__error(SESSNAP_EBUSY,
			      "session %s in %s was replaced by its owner %d "
			      "times while it was being read; try again",
			      id, store->path, LOAD_TRIES);
}

int sessnap_session_adopt_text(sessnap_session **out, char **state,
			       size_t *state_len, sessnap_load_info **info,
			       sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap_load_info *got = NULL;
	sessnap__header h;
	sessnap_session *s = NULL;
	json_object *obj = NULL;
	size_t len = 0, off = 0;
	char *raw = NULL, *text = NULL;
	int rc;

	if (info != NULL)
		*info = NULL;
	if (out == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_adopt_text: NULL "
				      "argument");
	*out = NULL;
	if (state != NULL)
		*state = NULL;
	if (state_len != NULL)
		*state_len = 0;
	rc = sessnap_session_adopt(&s, state != NULL ? &obj : NULL, &got, store,
				   id);
	if (rc < 0)
		return rc;
	if (state != NULL) {
		if (got->flags & SESSNAP_LOAD_MIGRATED) {
			rc = serialize(&text, &len, obj);
		} else {
			/*
			 * The adoption wrote the recovered payload unchanged
			 * as <id>.snap, and holds the lock: nobody else
			 * writes it, and nothing was queued yet.
			 */
			sessnap__snap_name(name, id);
			rc = sessnap__snapshot_read_raw(&raw, &len, &h, &off,
							store, name);
			if (rc < 0) {
				rc = sessnap__error(
				    rc,
				    "adopting session %s: cannot read %s "
				    "back: %s; the session was released",
				    id,
				    sessnap__path(path, sizeof(path), store,
						  name),
				    sessnap_error_last());
			} else {
				memmove(raw, raw + off, (size_t)h.length);
				raw[h.length] = '\0';
				len = (size_t)h.length;
				text = raw;
			}
		}
		json_object_put(obj);
		if (rc < 0) {
			sessnap_session_release(s);
			sessnap_load_info_free(got);
			return rc;
		}
		*state = text;
		if (state_len != NULL)
			*state_len = len;
	}
	if (info != NULL)
		*info = got;
	else
		sessnap_load_info_free(got);
	*out = s;
	return 0;
}
