/*
 * per-document.c - one session per open document, keyed by its path
 *
 * An editor that opens several files keeps one session per file, each with
 * the file's canonical path as its key.  At start, for each file:
 *
 *   1. sessnap_store_scan_key(): does a running session hold this file's key?
 *      Then another instance has it open: say "already open (pid N)" and
 *      leave the file alone;
 *   2. otherwise the ready-made prompt with the key filter offers only this
 *      file's crashed sessions (never another file's, never by label);
 *   3. adopt the chosen one, or begin a new session with the key.
 *
 *	per-document --dir STORE FILE...
 *
 * Commands on stdin, one a line: "e N TEXT" appends TEXT to file N (from
 * 0) and saves, "p" prints every buffer, "q" ends every session cleanly
 * and quits.  The buffers are the state; the files on disk are never
 * written (this is a demonstration of recovery, not an editor).
 * tests/cli/per-document.sh runs it in a pseudo-terminal and kills it.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sessnap.h>

#define MAX_DOCS 16

struct doc {
	char path[PATH_MAX];
	sessnap_session *session;
	json_object *state; /* {"path": ..., "lines": [...]} */
};

static void fail(const char *what)
{
	fprintf(stderr, "per-document: %s: %s\n", what, sessnap_error_last());
}

/* Another instance holds a session of this key: its pid, else 0. */
static long running_pid(sessnap_store *store, const char *key)
{
	sessnap_info **infos = NULL;
	size_t n = 0, i;
	long pid = 0;

	if (sessnap_store_scan_key(&infos, &n, store, 0, key, strlen(key)) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (infos[i]->status == SESSNAP_VERDICT_RUNNING)
			pid = (long)infos[i]->owner.pid;
	sessnap_info_free(infos, n);
	return pid;
}

static json_object *new_state(const char *path)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "lines", json_object_new_array());
	return o;
}

/* Open one document: refuse, restore or begin.  0 when it is open. */
static int open_doc(struct doc *d, sessnap_store *store)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_prompt_options po = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_prompt_answer answer;
	char id[SESSNAP_ID_LEN + 1];
	const char *base = strrchr(d->path, '/');
	long pid;
	int rc;

	base = base ? base + 1 : d->path;
	pid = running_pid(store, d->path);
	if (pid != 0) {
		printf("%s: already open (pid %ld)\n", base, pid);
		return -1;
	}
	po.key = d->path;
	po.key_len = strlen(d->path);
	po.app_name = base;
	po.in = stdin;
	po.out = stdout;
	rc = sessnap_prompt_run(id, &answer, store, &po);
	if (rc < 0) {
		fail("prompt");
		return -1;
	}
	if (answer == SESSNAP_PROMPT_RESTORE) {
		rc = sessnap_session_adopt(&d->session, &d->state, NULL, store,
					   id);
		if (rc == 0) {
			printf("%s: restored %zu lines\n", base,
			       json_object_array_length(
				   json_object_object_get(d->state, "lines")));
			return 0;
		}
		fail("adopt");
	}
	so.key = d->path;
	so.key_len = strlen(d->path);
	so.label = base;
	if ((rc = sessnap_session_begin(&d->session, store, &so)) < 0) {
		fail("begin");
		return -1;
	}
	d->state = new_state(d->path);
	printf("%s: new session %s\n", base, sessnap_session_id(d->session));
	return 0;
}

static void edit(struct doc *docs, size_t n, const char *line)
{
	char *end;
	unsigned long i = strtoul(line, &end, 10);
	json_object *lines;
	int rc;

	if (end == line || *end != ' ' || i >= n || docs[i].session == NULL) {
		printf("no such open file\n");
		return;
	}
	lines = json_object_object_get(docs[i].state, "lines");
	json_object_array_add(lines, json_object_new_string(end + 1));
	rc = sessnap_session_update(docs[i].session, docs[i].state);
	if (rc == 0)
		rc = sessnap_session_flush(docs[i].session);
	if (rc < 0)
		fail("save");
	else
		printf("saved %lu\n", i);
}

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *store = NULL;
	struct doc docs[MAX_DOCS];
	char line[1024];
	size_t n = 0, i, open = 0;
	int rc, a;

	if (argc < 4 || strcmp(argv[1], "--dir") != 0 || argc - 3 > MAX_DOCS) {
		fprintf(stderr, "usage: per-document --dir STORE FILE...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	opts.dir = argv[2];
	opts.app = "per-document";
	if ((rc = sessnap_store_open(&store, &opts)) < 0) {
		fail("store");
		return 1;
	}
	memset(docs, 0, sizeof(docs));
	for (a = 3; a < argc; a++) {
		struct doc *d = &docs[n++];

		/* The key: the canonical path, so two spellings of one
		 * file are one document. */
		if (realpath(argv[a], d->path) == NULL) {
			perror(argv[a]);
			continue;
		}
		if (open_doc(d, store) == 0)
			open++;
	}
	printf("ready: %zu open\n", open);
	while (open > 0 && fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "e ", 2) == 0) {
			edit(docs, n, line + 2);
		} else if (strcmp(line, "p") == 0) {
			for (i = 0; i < n; i++)
				if (docs[i].state != NULL)
					printf("%zu %s\n", i,
					       json_object_to_json_string(
						   docs[i].state));
		} else if (strcmp(line, "q") == 0) {
			break;
		}
	}
	for (i = 0; i < n; i++) {
		if (docs[i].session != NULL &&
		    (rc = sessnap_session_end(docs[i].session, 0)) < 0)
			fail("end");
		json_object_put(docs[i].state);
	}
	sessnap_store_close(store);
	return 0;
}
