/* notes.c - each line read is a note; a crash loses none of them. */
#include <stdio.h>
#include <sessnap.h>

static int fail(void)
{
	fprintf(stderr, "notes: %s\n", sessnap_error_last());
	return 1; /* what is on disk stays there, to be offered again */
}

int main(void)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store;
	sessnap_session *session;
	sessnap_prompt_answer answer;
	json_object *notes = NULL;
	char id[SESSNAP_ID_LEN + 1], line[256];
	int rc;

	opts.app = "notes";
	if (sessnap_store_open(&store, &opts) < 0)
		return fail();
	/* Did an earlier run crash?  Offer its notes back. */
	if (sessnap_prompt_run(id, &answer, store, NULL) == 0 &&
	    answer == SESSNAP_PROMPT_RESTORE)
		rc = sessnap_session_adopt(&session, &notes, NULL, store, id);
	else
		rc = sessnap_session_begin(&session, store, NULL);
	if (rc < 0)
		return fail();
	if (!json_object_is_type(notes, json_type_array)) {
		json_object_put(notes);
		notes = json_object_new_array();
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		json_object_array_add(notes, json_object_new_string(line));
		/* Serialized now; the store's writer thread saves it. */
		if (sessnap_session_update(session, notes) < 0)
			return fail();
	}
	json_object_put(notes);
	rc = sessnap_session_end(session, 0); /* clean exit: removed */
	if (sessnap_store_close(store) < 0 || rc < 0)
		return fail();
	return 0;
}
