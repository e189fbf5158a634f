/*
 * demo.c - sessnap-demo, a note-taking program that survives being killed
 *
 *	sessnap-demo [--dir DIR] [--interval MS] [--keep]
 *
 * A small terminal program that uses libsessnap the way a real application
 * would, and nothing else: it includes only <sessnap.h> and links the
 * public library.  Each line typed is a note; a few words are commands
 * (list, del N, label TEXT, save, help, quit).
 *
 * Its life, in library calls:
 *
 *	sessnap_store_open()        app "sessnap-demo", autosave every 500 ms
 *	sessnap_prompt_run()        "1 session did not end cleanly ..."
 *	sessnap_session_adopt()     when the user restores one, or else
 *	sessnap_session_begin()     a fresh session
 *	sessnap_session_update()    after every edit; the store's writer
 *	                            thread saves it within the interval
 *	sessnap_session_end()       on quit, EOF, SIGINT or SIGTERM
 *	sessnap_store_close()
 *
 * The autosave interval is short (500 ms, where an editor would use
 * seconds) so that a kill -9 a moment after typing still finds the notes
 * on disk.
 *
 * Signals: the handlers only set a flag and write one byte to a self-pipe.
 * The main loop waits in poll() on the terminal and the pipe, and it is the
 * main loop that ends the session: the library is never called from a
 * signal handler.  For that reason the notes are read with read(2) into a
 * buffer of our own, not with stdio, whose buffer poll() cannot see; stdin
 * is unbuffered while the recovery prompt reads its answer through stdio,
 * so the prompt never swallows the first notes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sessnap.h>

#define APP "sessnap-demo"
#define DEFAULT_INTERVAL_MS 500
#define DEFAULT_LABEL "my notes"
/* Longest line kept; the rest of a longer line is dropped. */
#define LINE_MAX_BYTES 4096

static volatile sig_atomic_t got_signal;
static int sig_pipe[2] = { -1, -1 };

struct demo {
	sessnap_store *store;
	sessnap_session *session;
	/* {"label": "...", "notes": ["...", ...]} */
	json_object *state;
	json_object *notes;
	char label[SESSNAP_LABEL_MAX + 1];
};

struct line_reader {
	char buf[LINE_MAX_BYTES + 1];
	size_t len;
	bool overflow;
	bool eof;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sessnap-demo [--dir DIR] [--interval MS] [--keep]\n"
		"\n"
		"A note-taking program whose notes survive a crash.  Each "
		"line you type is a\n"
		"note; the words below are commands.  After a crash (try "
		"kill -9), start it\n"
		"again and it offers to restore the notes.\n"
		"\n"
		"Options:\n"
		"  -d, --dir DIR       store directory (default: "
		"$XDG_STATE_HOME/sessnap/" APP ")\n"
		"  -i, --interval MS   autosave interval in milliseconds "
		"(default: %d)\n"
		"  -k, --keep          on a clean end, keep the session as "
		"completed\n"
		"                      (default: remove it)\n"
		"  -h, --help          show this help\n",
		DEFAULT_INTERVAL_MS);
}

static void help(void)
{
	printf("  TEXT        add a note (also: add TEXT)\n"
	       "  list        show the notes\n"
	       "  del N       delete note N\n"
	       "  label TEXT  name this set of notes (label: show it)\n"
	       "  save        save now instead of waiting for the autosave\n"
	       "  help        this list\n"
	       "  quit        end cleanly (so do Ctrl-D, Ctrl-C and "
	       "SIGTERM)\n");
}

/* Print a library failure: the code's meaning and the detailed message. */
static void complain(const char *what, int rc)
{
	fprintf(stderr, "sessnap-demo: %s: %s (%s)\n", what,
		sessnap_error_string(rc), sessnap_error_last());
}

static void log_cb(sessnap_log_level level, const char *message, void *payload)
{
	(void)payload;
	if (level >= SESSNAP_LOG_WARNING)
		fprintf(stderr, "sessnap-demo: library: %s\n", message);
}

/*
 * Async-signal-safe: a flag for the main loop and a byte to wake its
 * poll().  The pipe is non-blocking, so a full pipe cannot hang us here.
 */
static void on_signal(int sig)
{
	int saved_errno = errno;
	char c = 's';
	ssize_t n;

	got_signal = sig;
	n = write(sig_pipe[1], &c, 1);
	(void)n;
	errno = saved_errno;
}

static int signals_setup(void)
{
	struct sigaction sa;
	int i;

	if (pipe(sig_pipe) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		int fl = fcntl(sig_pipe[i], F_GETFL);

		if (fl < 0 ||
		    fcntl(sig_pipe[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC) < 0)
			return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	return 0;
}

static size_t note_count(const struct demo *d)
{
	return json_object_array_length(d->notes);
}

/*
 * Hand the new state to the library.  It serializes the state now, on this
 * thread, and the writer saves it within the autosave interval; a failure
 * here leaves the notes in memory, so the next edit tries again.
 */
static void changed(struct demo *d)
{
	/* Room for the count; the library cuts the label to its maximum. */
	char label[SESSNAP_LABEL_MAX + 48];
	size_t n = note_count(d);
	int rc;

	snprintf(label, sizeof(label), "%s (%zu note%s)", d->label, n,
		 n == 1 ? "" : "s");
	if ((rc = sessnap_session_set_label(d->session, label)) < 0)
		complain("cannot set the label", rc);
	if ((rc = sessnap_session_update(d->session, d->state)) < 0)
		complain("cannot queue the notes for saving", rc);
}

static void list(const struct demo *d)
{
	size_t i, n = note_count(d);

	if (n == 0) {
		printf("  (no notes yet: type one and press Enter)\n");
		return;
	}
	for (i = 0; i < n; i++)
		printf("  %zu. %s\n", i + 1,
		       json_object_get_string(
			   json_object_array_get_idx(d->notes, i)));
}

static int add_note(struct demo *d, const char *text)
{
	json_object *s = json_object_new_string(text);

	if (s == NULL || json_object_array_add(d->notes, s) < 0) {
		json_object_put(s);
		fprintf(stderr, "sessnap-demo: out of memory\n");
		return -1;
	}
	printf("  noted (%zu)\n", note_count(d));
	changed(d);
	return 0;
}

static void del_note(struct demo *d, const char *arg)
{
	const char *err = NULL;
	long long n;

	n = strtonum(arg, 1, (long long)note_count(d), &err);
	if (err != NULL) {
		printf("  del: no note \"%s\" (there %s %zu)\n", arg,
		       note_count(d) == 1 ? "is" : "are", note_count(d));
		return;
	}
	json_object_array_del_idx(d->notes, (size_t)n - 1, 1);
	printf("  deleted note %lld\n", n);
	changed(d);
}

static int state_label(struct demo *d);

static int set_label(struct demo *d, const char *text)
{
	strlcpy(d->label, text, sizeof(d->label));
	if (state_label(d) < 0) {
		fprintf(stderr, "sessnap-demo: out of memory\n");
		return -1;
	}
	printf("  label: %s\n", d->label);
	changed(d);
	return 0;
}

static void save_now(struct demo *d)
{
	int rc = sessnap_session_flush(d->session);

	if (rc < 0)
		complain("save failed (the notes are kept in memory)", rc);
	else
		printf("  saved\n");
}

/* Returns 1 to quit, -1 on a fatal error, else 0. */
static int command(struct demo *d, char *line)
{
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			   line[len - 1] == '\t'))
		line[--len] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0')
		return 0;
	if (strcmp(line, "quit") == 0 || strcmp(line, "exit") == 0)
		return 1;
	if (strcmp(line, "help") == 0 || strcmp(line, "?") == 0) {
		help();
		return 0;
	}
	if (strcmp(line, "list") == 0) {
		list(d);
		return 0;
	}
	if (strcmp(line, "save") == 0) {
		save_now(d);
		return 0;
	}
	if (strncmp(line, "del ", 4) == 0) {
		del_note(d, line + 4);
		return 0;
	}
	if (strcmp(line, "label") == 0) {
		printf("  label: %s\n", d->label);
		return 0;
	}
	if (strncmp(line, "label ", 6) == 0)
		return set_label(d, line + 6);
	if (strncmp(line, "add ", 4) == 0)
		return add_note(d, line + 4);
	return add_note(d, line);
}

/*
 * Read what the terminal has and run each complete line.  A line longer
 * than the buffer is cut; at EOF an unterminated last line still counts.
 * Returns 1 to quit (EOF, "quit"), -1 on an error it has reported, else 0.
 */
static int read_lines(struct demo *d, struct line_reader *r)
{
	char *nl;
	ssize_t n;
	int rc;

	n = read(STDIN_FILENO, r->buf + r->len, LINE_MAX_BYTES - r->len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		perror("sessnap-demo: read");
		return -1;
	}
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
		size_t used = (size_t)(nl - r->buf) + 1;

		*nl = '\0';
		rc = r->overflow ? 0 : command(d, r->buf);
		r->overflow = false;
		memmove(r->buf, r->buf + used, r->len - used);
		r->len -= used;
		r->buf[r->len] = '\0';
		if (rc != 0)
			return rc;
	}
	if (r->len == LINE_MAX_BYTES) {
		if (!r->overflow) {
			printf("  (line longer than %d bytes: kept the "
			       "first part)\n",
			       LINE_MAX_BYTES);
			if ((rc = command(d, r->buf)) != 0)
				return rc;
		}
		r->overflow = true;
		r->len = 0;
	}
	if (r->eof) {
		if (r->len > 0 && !r->overflow &&
		    (rc = command(d, r->buf)) != 0)
			return rc;
		return 1;
	}
	return 0;
}

static void prompt(void)
{
	if (isatty(STDIN_FILENO)) {
		printf("> ");
		fflush(stdout);
	}
}

/* Returns 0 after quit or EOF or a signal, -1 on a read error. */
static int main_loop(struct demo *d)
{
	struct line_reader *r = calloc(1, sizeof(*r));
	struct pollfd pfd[2];
	int rc = 0;

	if (r == NULL) {
		fprintf(stderr, "sessnap-demo: out of memory\n");
		return -1;
	}
	prompt();
	while (!got_signal) {
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = sig_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("sessnap-demo: poll");
			rc = -1;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents == 0)
			continue;
		/* Errors were reported where they happened. */
		rc = read_lines(d, r);
		if (rc < 0)
			break;
		if (rc > 0) {
			rc = 0;
			break;
		}
		prompt();
	}
	if (got_signal)
		printf("\nsessnap-demo: got %s\n",
		       got_signal == SIGINT ? "SIGINT" : "SIGTERM");
	free(r);
	return rc;
}

/* Store d->label in the state object. */
static int state_label(struct demo *d)
{
	json_object *s = json_object_new_string(d->label);

	if (s == NULL || json_object_object_add(d->state, "label", s) < 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/*
 * Take the notes out of a recovered state.  The state came from disk: it
 * is checked, not trusted, and anything that is not a string is skipped.
 */
static int take_state(struct demo *d, json_object *state)
{
	json_object *notes = NULL, *label = NULL, *v;
	size_t i, n;

	if (json_object_is_type(state, json_type_object)) {
		json_object_object_get_ex(state, "notes", &notes);
		json_object_object_get_ex(state, "label", &label);
	}
	if (json_object_is_type(label, json_type_string))
		strlcpy(d->label, json_object_get_string(label),
			sizeof(d->label));
	if (state_label(d) < 0)
		return -1;
	if (!json_object_is_type(notes, json_type_array))
		return 0;
	n = json_object_array_length(notes);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(notes, i);
		if (!json_object_is_type(v, json_type_string))
			continue;
		v = json_object_new_string(json_object_get_string(v));
		if (v == NULL || json_object_array_add(d->notes, v) < 0) {
			json_object_put(v);
			return -1;
		}
	}
	return 0;
}

static int state_new(struct demo *d)
{
	d->state = json_object_new_object();
	d->notes = json_object_new_array();
	if (d->state == NULL || d->notes == NULL) {
		json_object_put(d->state);
		json_object_put(d->notes);
		d->state = d->notes = NULL;
		return -1;
	}
	if (json_object_object_add(d->state, "notes", d->notes) < 0) {
		json_object_put(d->notes);
		d->notes = NULL;
		return -1;
	}
	return state_label(d);
}

/*
 * " (saved 5 minutes ago)": the words the recovery prompt uses just
 * above, so that the two lines agree.
 */
static void print_age(int64_t saved_ms)
{
	long long s = (long long)time(NULL) - saved_ms / 1000, n;
	const char *unit;

	if (saved_ms <= 0)
		return;
	if (s < 10) {
		printf(" (saved just now)");
		return;
	}
	if (s < 60) {
		n = s;
		unit = "second";
	} else if (s < 3600) {
		n = s / 60;
		unit = "minute";
	} else if (s < 86400) {
		n = s / 3600;
		unit = "hour";
	} else {
		n = s / 86400;
		unit = "day";
	}
	printf(" (saved %lld %s%s ago)", n, unit, n == 1 ? "" : "s");
}

/*
 * Adopt the session the user chose.  On failure nothing is lost: the
 * crashed session's files stay on disk and are offered again at the next
 * start, and the caller begins a fresh session.
 */
static int restore(struct demo *d, const char *id)
{
	sessnap_load_info *info = NULL;
	json_object *state = NULL;
	int rc;

	rc = sessnap_session_adopt(&d->session, &state, &info, d->store, id);
	if (rc < 0) {
		complain("cannot restore the session (its files are kept "
			 "and it will be offered again)",
			 rc);
		return rc;
	}
	if (take_state(d, state) < 0) {
		/* Released, not ended: it stays a crashed session on disk. */
		json_object_put(state);
		sessnap_session_release(d->session);
		d->session = NULL;
		sessnap_load_info_free(info);
		fprintf(stderr, "sessnap-demo: out of memory\n");
		return SESSNAP_ENOMEM;
	}
	json_object_put(state);
	printf("sessnap-demo: restored %zu note%s of \"%s\"", note_count(d),
	       note_count(d) == 1 ? "" : "s", d->label);
	print_age(info->saved_ms);
	printf("\n");
	if (info->flags & SESSNAP_LOAD_FROM_PREV)
		printf("sessnap-demo: the last snapshot was damaged; these "
		       "notes come from the one before it: %s\n",
		       info->notice);
	list(d);
	sessnap_load_info_free(info);
	return 0;
}

/* Offer crashed sessions, then adopt the chosen one or begin a new one. */
static int start(struct demo *d)
{
	sessnap_prompt_options popts = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_session_options sopts = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_prompt_answer answer = SESSNAP_PROMPT_NOTHING;
	char id[SESSNAP_ID_LEN + 1] = "";
	bool restored = false;
	int rc;

	popts.in = stdin;
	popts.out = stdout;
	popts.app_name = APP;
	rc = sessnap_prompt_run(id, &answer, d->store, &popts);
	if (rc < 0)
		complain("cannot look for crashed sessions (starting a new "
			 "session; nothing is removed)",
			 rc);
	else if (answer == SESSNAP_PROMPT_RESTORE) {
		rc = restore(d, id);
		if (rc == SESSNAP_ENOMEM)
			return rc;
		restored = rc == 0;
	}
	if (!restored) {
		sopts.label = DEFAULT_LABEL " (0 notes)";
		rc = sessnap_session_begin(&d->session, d->store, &sopts);
		if (rc < 0) {
			complain("cannot begin a session", rc);
			return rc;
		}
	}
	printf("  session: %s (%s, pid %ld)\n", sessnap_session_id(d->session),
	       restored ? "restored" : "new", (long)getpid());
	return 0;
}

/*
 * Free what main() set up.  A session still open here (begin or adopt
 * went half-way) is released, not ended: it stays on disk as a crashed
 * session, so nothing is lost.  Closing the store writes what is pending.
 */
static int teardown(struct demo *d, int ret)
{
	int rc;

	json_object_put(d->state);
	if (d->session != NULL)
		sessnap_session_release(d->session);
	rc = sessnap_store_close(d->store);
	if (rc < 0) {
		complain("cannot close the store", rc);
		ret = EXIT_FAILURE;
	}
	return ret;
}

/* What the command line asked for. */
struct demo_args {
	const char *dir;
	unsigned int interval_ms;
	unsigned int end_flags;
};

/*
 * Parse the command line.  Returns -1 to go on, or the exit status to
 * stop with (0 after --help, 2 after a usage error).
 */
static int parse_args(struct demo_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *err = NULL;
	int c;

	a->dir = NULL;
	a->interval_ms = DEFAULT_INTERVAL_MS;
	a->end_flags = 0;
	while ((c = getopt_long(argc, argv, "d:i:kh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 'i':
			a->interval_ms =
			    (unsigned int)strtonum(optarg, 1, 3600000, &err);
			if (err != NULL) {
				fprintf(stderr,
					"sessnap-demo: --interval %s: %s "
					"(milliseconds, 1 to 3600000)\n",
					optarg, err);
				return 2;
			}
			break;
		case 'k':
			a->end_flags |= SESSNAP_SESSION_KEEP;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sessnap-demo: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/*
 * End the session cleanly, from the main loop and never from the signal
 * handler.  Returns `ret`, or EXIT_FAILURE when the end failed: then the
 * snapshot stays on disk and is offered at the next start.
 */
static int end_session(struct demo *d, unsigned int end_flags, int ret)
{
	int rc = sessnap_session_end(d->session, end_flags);

	d->session = NULL;
	if (rc < 0) {
		complain("could not end the session cleanly (its snapshot "
			 "stays on disk and is offered at the next start)",
			 rc);
		return EXIT_FAILURE;
	}
	printf("sessnap-demo: session ended cleanly%s\n",
	       end_flags & SESSNAP_SESSION_KEEP ?
		   "; its completed snapshot is kept" :
		   "; its snapshot was removed");
	return ret;
}

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct demo_args args;
	struct demo d;
	int rc, ret;

	memset(&d, 0, sizeof(d));
	strlcpy(d.label, DEFAULT_LABEL, sizeof(d.label));
	if ((ret = parse_args(&args, argc, argv)) >= 0)
		return ret;

	/* Line-buffered even into a pipe, so output keeps its order when a
	 * kill comes; stdin unbuffered, see the comment at the top. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stdin, NULL, _IONBF, 0);
	if (signals_setup() < 0) {
		perror("sessnap-demo: cannot set up signal handling");
		return EXIT_FAILURE;
	}
	if (state_new(&d) < 0) {
		fprintf(stderr, "sessnap-demo: out of memory\n");
		return EXIT_FAILURE;
	}

	opts.dir = args.dir;
	opts.app = APP;
	opts.autosave_interval_ms = args.interval_ms;
	opts.log = log_cb;
	rc = sessnap_store_open(&d.store, &opts);
	if (rc < 0) {
		complain("cannot open the store", rc);
		return teardown(&d, EXIT_FAILURE);
	}
	printf("sessnap-demo: notes that survive a crash (autosave every "
	       "%u ms)\n"
	       "  store:   %s\n",
	       args.interval_ms, sessnap_store_path(d.store));
	if (start(&d) < 0)
		return teardown(&d, EXIT_FAILURE);
	printf("Type a note and press Enter; \"help\" lists the commands.\n");

	rc = main_loop(&d);
	ret = end_session(&d, args.end_flags,
			  rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
	return teardown(&d, ret);
}
