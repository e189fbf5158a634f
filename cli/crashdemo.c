/*
 * crashdemo.c - watch sessnap recover the state of a program killed mid-run
 *
 *	sessnap-crashdemo run DIR
 *
 * The demo forks.  The child plays an editor: it opens the store DIR (app
 * "crashdemo"), begins a session, and hands over three states, a list of
 * notes that grows by one each time, saving each durably.  Then it tells
 * the parent it is done and waits, still holding its session.  The parent
 * kills it with SIGKILL, as a crash or the OOM killer would: the child never
 * gets to end its session.  The parent then does what the editor would do
 * on its next start: it loads the session that was never ended, and finds
 * the last state saved.  The store is left in DIR
 * for inspection: the first line of each DIR/<id>.snap is its header.
 *
 * Only the public API is used, as any application would.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sessnap.h>

#define APP "crashdemo"

static const char *const notes[] = {
	"buy milk",
	"call the plumber about the kitchen sink",
	"write the crash-recovery chapter",
};
#define NNOTES (sizeof(notes) / sizeof(notes[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: sessnap-crashdemo run DIR\n"
		   "\n"
		   "Start a child that saves a growing list of notes into the "
		   "store DIR,\n"
		   "kill it with SIGKILL, then recover and print its last "
		   "saved state.\n");
}

static int fail(const char *who, const char *what, int code)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", who, what, sessnap_strerror(code),
		sessnap_last_error());
	return EXIT_FAILURE;
}

static int open_store(sessnap_store **out, const char *dir, unsigned int flags)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;

	opts.dir = dir;
	opts.app = APP;
	opts.flags = flags;
	return sessnap_store_open(out, &opts);
}

/* The child: an "editor" that saves its notes, then hangs until killed. */
static int child_main(const char *dir, int ready_fd)
{
	sessnap_session_options sopts = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_store *store = NULL;
	sessnap_session *session = NULL;
	json_object *state, *list;
	char who[32];
	size_t i;
	int rc;

	snprintf(who, sizeof(who), "  app[%ld]", (long)getpid());
	rc = open_store(&store, dir, 0);
	if (rc < 0)
		return fail(who, "cannot open the store", rc);
	sopts.label = "notes.txt - crash demo";
	rc = sessnap_session_begin(&session, store, &sopts);
	if (rc < 0)
		return fail(who, "cannot begin a session", rc);
	printf("%s: began session %s\n", who, sessnap_session_id(session));

	state = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(state, "file",
			       json_object_new_string("notes.txt"));
	json_object_object_add(state, "notes", list);
	for (i = 0; i < NNOTES; i++) {
		json_object_array_add(list, json_object_new_string(notes[i]));
		json_object_object_add(state, "cursor",
				       json_object_new_int((int)i + 1));
		rc = sessnap_session_update(session, state);
		if (rc == 0)
			rc = sessnap_session_save(session);
		if (rc < 0) {
			json_object_put(state);
			return fail(who, "cannot save", rc);
		}
		printf("%s: saved state %zu: %s\n", who, i + 1,
		       json_object_to_json_string_ext(state,
						      JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(state);

	printf("%s: all saved; working on, session still open...\n", who);
	if (write(ready_fd, sessnap_session_id(session), SESSNAP_ID_LEN) !=
	    SESSNAP_ID_LEN)
		return EXIT_FAILURE;
	for (;;)
		pause();
}

/* Print the first line of DIR/ID.snap: the snapshot's header. */
static void print_header(const char *dir, const char *id)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.snap", dir, id);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	n = getline(&line, &cap, f);
	if (n > 0)
		printf("crashdemo: on disk, %s.snap begins with its header:\n  "
		       "%s",
		       id, line);
	free(line);
	fclose(f);
}

static int recover(const char *dir, const char *id)
{
	sessnap_store *store = NULL;
	sessnap_load_info info;
	json_object *state = NULL;
	int rc, ret = EXIT_FAILURE;

	print_header(dir, id);
	rc = open_store(&store, dir, SESSNAP_STORE_READONLY);
	if (rc < 0)
		return fail("crashdemo", "cannot open the store", rc);
	printf("crashdemo: the app starts again and loads session %s\n", id);
	rc = sessnap_load(&state, &info, store, id);
	if (rc < 0) {
		fail("crashdemo", "cannot load the session", rc);
		goto out;
	}
	printf("crashdemo: verified save %llu of %s (%s, label \"%s\"%s); "
	       "recovered state:\n",
	       (unsigned long long)info.seq, id,
	       info.completed ? "completed" : "never ended", info.label,
	       info.flags & SESSNAP_LOAD_FROM_PREV ? ", from .prev" : "");
	printf("%s\n",
	       json_object_to_json_string_ext(
		   state, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	printf("crashdemo: nothing saved was lost; the store stays in %s\n",
	       dir);
	ret = EXIT_SUCCESS;

out:
	json_object_put(state);
	sessnap_store_close(store);
	return ret;
}

static int run(const char *dir)
{
	char id[SESSNAP_ID_LEN + 1];
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	/* Line-buffered, so that nothing sits in a buffer when the kill comes.
	 */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("crashdemo: store directory %s\n", dir);
	if (pipe(fds) != 0) {
		perror("crashdemo: pipe");
		return EXIT_FAILURE;
	}
	pid = fork();
	if (pid < 0) {
		perror("crashdemo: fork");
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(child_main(dir, fds[1]));
	}
	close(fds[1]);
	printf("crashdemo: started the app as process %ld\n", (long)pid);

	/* The child sends its session id once everything is saved. */
	while (got < SESSNAP_ID_LEN) {
		n = read(fds[0], id + got, SESSNAP_ID_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	id[got] = '\0';
	close(fds[0]);
	if (got != SESSNAP_ID_LEN) {
		fprintf(stderr, "crashdemo: the app stopped before saving\n");
		waitpid(pid, &status, 0);
		return EXIT_FAILURE;
	}

	printf("crashdemo: killing process %ld with SIGKILL; it cannot end "
	       "its session\n",
	       (long)pid);
	if (kill(pid, SIGKILL) != 0) {
		perror("crashdemo: kill");
		return EXIT_FAILURE;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("crashdemo: waitpid");
			return EXIT_FAILURE;
		}
	}
	if (WIFSIGNALED(status))
		printf("crashdemo: process %ld died from signal %d (%s)\n",
		       (long)pid, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	else
		printf("crashdemo: process %ld exited with status %d\n",
		       (long)pid, WEXITSTATUS(status));

	return recover(dir, id);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "run") != 0) {
		usage(stderr);
		return 2;
	}
	return run(argv[optind + 1]);
}
