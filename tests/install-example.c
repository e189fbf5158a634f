/*
 * install-example.c - the smallest user of an installed libsessnap
 *
 *	install-example write DIR      save two states, print the session id
 *	install-example read DIR ID    print the state (and any notice)
 *
 * It includes <sessnap.h> alone and builds with
 * `cc install-example.c $(pkg-config --cflags --libs sessnap)`.
 */
#include <stdio.h>
#include <string.h>

#include <sessnap.h>

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *s = NULL;
	sessnap_load_info *info = NULL;
	json_object *state = NULL;
	int rc, n;

	if (argc < 3 || (strcmp(argv[1], "read") == 0 && argc != 4))
		return fprintf(stderr, "usage: install-example write|read "
				       "DIR [ID]\n"),
		       2;
	opts.dir = argv[2];
	opts.app = "example";
	if ((rc = sessnap_store_open(&store, &opts)) < 0)
		goto on_error;
	if (strcmp(argv[1], "write") == 0) {
		if ((rc = sessnap_session_begin(&s, store, NULL)) < 0)
			goto on_error;
		for (n = 1; n <= 2 && rc == 0; n++) {
			state = json_object_new_object();
			json_object_object_add(state, "generation",
					       json_object_new_int(n));
			if ((rc = sessnap_session_update(s, state)) == 0)
				rc = sessnap_session_flush(s);
			json_object_put(state);
		}
		printf("%s\n", sessnap_session_id(s));
		sessnap_session_release(s); /* left on disk, as a crash */
	} else if ((rc = sessnap_store_load(&state, &info, store, argv[3])) ==
		   0) {
		printf("%s\n", json_object_to_json_string(state));
		if (info->flags & SESSNAP_LOAD_FROM_PREV)
			fprintf(stderr, "notice: %s\n", info->notice);
		json_object_put(state);
	}
on_error:
	if (rc < 0)
		fprintf(stderr, "install-example: %s\n", sessnap_error_last());
	sessnap_store_close(store);
	sessnap_load_info_free(info);
	return rc < 0;
}
