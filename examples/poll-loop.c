/*
 * poll-loop.c - autosave from a poll() event loop, with no library thread
 *
 * A line editor in miniature: every line read from standard input is
 * appended to the state.  The store is opened with SESSNAP_STORE_NOTHREAD,
 * so the library starts no thread; the loop sleeps in poll() for at most
 * sessnap_store_next_deadline() and calls sessnap_store_tick() when it
 * wakes, which collects the state (pull mode: touch on every change) and
 * saves it once it is due.  At end of input the session ends cleanly.
 *
 * SIGTERM and SIGHUP (the terminal closed) do not end the session: the
 * lines are unsaved user work.  The handler only notes the signal and
 * wakes poll() through a pipe; the loop then closes the store, which
 * writes the last state and leaves the session recoverable, so the next
 * start offers it.
 *
 * Usage: poll-loop [STORE-DIR] < input
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sessnap.h>

struct editor {
	json_object *lines;
};

/* Pull mode: the library asks for the state when a save is due. */
static json_object *collect(sessnap_session *session, void *payload)
{
	struct editor *ed = payload;
	json_object *state = json_object_new_object();

	(void)session;
	json_object_object_add(state, "lines", json_object_get(ed->lines));
	return state;
}

static volatile sig_atomic_t got_signal;
static int sig_pipe[2] = { -1, -1 };

/* Only note the signal and wake poll(): never call the library here. */
static void on_signal(int sig)
{
	int saved_errno = errno;

	got_signal = sig;
	(void)!write(sig_pipe[1], "", 1);
	errno = saved_errno;
}

static int catch_signals(void)
{
	struct sigaction sa;

	if (pipe(sig_pipe) < 0 || fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	return 0;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "poll-loop: %s: %s\n", what, sessnap_error_last());
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct editor ed = { json_object_new_array() };
	sessnap_store *store = NULL;
	sessnap_session *session = NULL;
	struct pollfd pfd[2] = { { STDIN_FILENO, POLLIN, 0 },
				 { -1, POLLIN, 0 } };
	char line[4096];
	int64_t wait_ms;
	int rc, timeout;

	if (catch_signals() < 0) {
		perror("poll-loop: signals");
		return 1;
	}
	pfd[1].fd = sig_pipe[0];
	opts.app = "poll-loop-example";
	opts.dir = argc > 1 ? argv[1] : NULL;
	opts.flags = SESSNAP_STORE_NOTHREAD;
	opts.autosave_interval_ms = 2000;
	if ((rc = sessnap_store_open(&store, &opts)) < 0)
		return fail("open", rc);
	if ((rc = sessnap_session_begin(&session, store, NULL)) < 0)
		return fail("begin", rc);
	sessnap_session_set_collect(session, collect, &ed);
	/*
	 * No stdio buffer: poll() must see every line that has not been
	 * read yet, which it cannot when stdio holds them.
	 */
	setvbuf(stdin, NULL, _IONBF, 0);

	for (;;) {
		if ((rc = sessnap_store_next_deadline(&wait_ms, store)) < 0)
			return fail("next_deadline", rc);
		timeout = wait_ms < 0	  ? -1 :
			  wait_ms > 60000 ? 60000 :
					    (int)wait_ms;
		rc = poll(pfd, 2, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (got_signal)
			break;
		if (rc > 0 && pfd[0].revents != 0) {
			if (fgets(line, sizeof(line), stdin) == NULL)
				break; /* end of input */
			line[strcspn(line, "\n")] = '\0';
			json_object_array_add(ed.lines,
					      json_object_new_string(line));
			sessnap_session_touch(session); /* O(1): no copy */
			printf("%zu lines\n",
			       json_object_array_length(ed.lines));
			fflush(stdout);
		}
		/* Saves that are due; a failure is kept and retried. */
		if ((rc = sessnap_store_tick(store)) < 0)
			fprintf(stderr, "poll-loop: %s\n",
				sessnap_error_last());
	}
	if (got_signal) {
		/*
		 * Terminated, or the terminal went away: the lines are work
		 * the user has not saved anywhere else.  Closing the store
		 * writes the last state (collecting the touched one) and
		 * releases the session without ending it, so it stays on
		 * disk and the next start offers it.  Then die of the
		 * signal, as the default action would have.
		 */
		if ((rc = sessnap_store_close(store)) < 0)
			fail("close", rc);
		json_object_put(ed.lines);
		signal(got_signal, SIG_DFL);
		raise(got_signal);
		return 1;
	}
	/* End of input: the user is done, and the work is finished.  End
	 * flushes (collecting the last touched state) and removes it. */
	if ((rc = sessnap_session_end(session, 0)) < 0)
		fail("end", rc);
	sessnap_store_close(store);
	json_object_put(ed.lines);
	return rc < 0 ? 1 : 0;
}
