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
 * on its next start: it scans the store, finds the crashed session, and
 * loads its state, which is the last one saved.  The store is left in DIR
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
#include <time.h>
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
	if (write(ready_fd, "R", 1) != 1)
		return EXIT_FAILURE;
	for (;;)
		pause();
}

static void print_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		printf("unknown");
	else
		printf("%s", buf);
}

static int recover(const char *dir)
{
	sessnap_store *store = NULL;
	sessnap_info *infos = NULL;
	sessnap_load_info info;
	json_object *state = NULL;
	const char *crashed = NULL;
	size_t count = 0, i;
	int rc, ret = EXIT_FAILURE;

	rc = open_store(&store, dir, SESSNAP_STORE_READONLY);
	if (rc < 0)
		return fail("crashdemo", "cannot open the store", rc);
	rc = sessnap_scan(&infos, &count, store, 0);
	if (rc < 0) {
		fail("crashdemo", "cannot scan the store", rc);
		goto out;
	}
	printf("crashdemo: the program starts again and scans the store: "
	       "%zu session%s\n",
	       count, count == 1 ? "" : "s");
	for (i = 0; i < count; i++) {
		printf("  %s  %-9s seq %llu  saved ", infos[i].id,
		       sessnap_status_name(infos[i].status),
		       (unsigned long long)infos[i].seq);
		print_time(infos[i].saved_ms);
		printf("  \"%s\"\n", infos[i].label ? infos[i].label : "");
		if (crashed == NULL &&
		    infos[i].status == SESSNAP_STATUS_CRASHED)
			crashed = infos[i].id;
	}
	if (crashed == NULL) {
		fprintf(stderr, "crashdemo: no crashed session found\n");
		goto out;
	}

	rc = sessnap_load(&state, &info, store, crashed);
	if (rc < 0) {
		fail("crashdemo", "cannot load the crashed session", rc);
		goto out;
	}
	printf("crashdemo: loaded session %s (seq %llu%s); recovered state:\n",
	       crashed, (unsigned long long)info.seq,
	       info.flags & SESSNAP_LOAD_FROM_PREV ? ", from .prev" : "");
	printf("%s\n", json_object_to_json_string_ext(
			       state, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_SPACED));
	printf("crashdemo: nothing saved was lost; the files stay in %s\n",
	       dir);
	ret = EXIT_SUCCESS;

out:
	json_object_put(state);
	sessnap_scan_free(infos, count);
	sessnap_store_close(store);
	return ret;
}

static int run(const char *dir)
{
	int fds[2], status;
	char ready;
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

	do
		n = read(fds[0], &ready, 1);
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n != 1) {
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

	return recover(dir);
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
