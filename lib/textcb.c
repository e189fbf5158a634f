/*
 * textcb.c - the loader's callbacks in text form: migrate_text, validate_text
 *
 * A program or a binding that holds no json-c objects (the Python binding)
 * migrates and validates states as JSON text.  The loader (load.c) calls
 * these two hooks where it calls the json-c callbacks: the loaded state is
 * serialized in json-c's plain form, handed to the app's callback, and a
 * migrated text is checked as sessnap_session_update_text() checks its
 * argument (jsoncheck.c, and the read bound) before it is parsed back, so
 * that a migration can never produce a state the loader would refuse.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sessnap__text_validate(sessnap_store *store, json_object *state,
			   unsigned int schema_version)
{
	const char *str;
	size_t len;

	if (store->opts.validate_text == NULL)
		return 0;
	str = json_object_to_json_string_length(state, SESSNAP__PAYLOAD_FLAGS,
						&len);
	if (str == NULL)
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory serializing a loaded "
				      "state for the validate_text callback");
	return store->opts.validate_text(str, len, schema_version,
					 store->opts.payload) != 0 ?
		   1 :
		   0;
}

/* Parse a text that sessnap__json_check() accepted, as the loader does. */
static int parse_checked(json_object **out, const char *text, size_t len)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;

	if ((tok = json_tokener_new_ex(SESSNAP__JSON_DEPTH)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		/* Not expected: the scanner accepts less than the tokener. */
		json_object_put(obj);
		return sessnap__error(SESSNAP_EINVAL,
				      "json-c refused a text the scanner "
				      "accepted: %s",
				      json_tokener_error_desc(jerr));
	}
	*out = obj;
	return 0;
}

int sessnap__text_migrate(json_object **state, sessnap_store *store,
			  const char *id, unsigned int from_version)
{
	unsigned int to_version = store->opts.schema_version;
	const char *str;
	char *text, *grown;
	size_t len;
	json_object *migrated = NULL;
	int rc;

	str = json_object_to_json_string_length(*state, SESSNAP__PAYLOAD_FLAGS,
						&len);
	if (str == NULL || (text = malloc(len + 1)) == NULL) {
		json_object_put(*state);
		*state = NULL;
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory migrating session %s", id);
	}
	memcpy(text, str, len + 1);
	json_object_put(*state);
	*state = NULL;
	rc = store->opts.migrate_text(&text, &len, from_version, to_version,
				      store->opts.payload);
	if (rc != 0) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u failed (the "
		    "migrate_text callback returned %d); the snapshot is left "
		    "as it is",
		    id, from_version, to_version, rc);
	}
	if (text == NULL)
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned no text; the snapshot is "
		    "left as it is",
		    id, from_version, to_version);
	if (len > sessnap__payload_max(store)) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned %zu bytes, more than the "
		    "%zu the store's read bound allows; the snapshot is left "
		    "as it is",
		    id, from_version, to_version, len,
		    sessnap__payload_max(store));
	}
	if ((rc = sessnap__json_check(text, len)) < 0) {
		free(text);
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u: the "
		    "migrate_text callback returned text that is not one "
		    "valid JSON value (%s); the snapshot is left as it is",
		    id, from_version, to_version, sessnap_error_last());
	}
	/* The tokener reads one byte past the value: give it a newline. */
	if ((grown = realloc(text, len + 1)) == NULL) {
		free(text);
		return sessnap__error(SESSNAP_ENOMEM,
				      "out of memory migrating session %s", id);
	}
	text = grown;
	text[len] = '\n';
	rc = parse_checked(&migrated, text, len);
	free(text);
	if (rc < 0)
		return sessnap__error(SESSNAP_EMIGRATE,
				      "migrating session %s: %s", id,
				      sessnap_error_last());
	*state = migrated;
	return 0;
}
