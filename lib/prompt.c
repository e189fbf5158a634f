/*
 * prompt.c - ask the user which crashed session to restore
 *
 *	sessnap_prompt_run()  "2 sessions did not end cleanly: ...
 *	                            Restore? [Y/n/list/discard]"
 *
 * The prompt is written on the public API alone, as a program would write
 * it: it lists the crashed sessions with sessnap_store_scan(), discards with
 * sessnap_store_discard(), and only chooses: the caller adopts the returned id.
 * Beside <sessnap.h> it includes words.h, the age and size wording that
 * the command-line tool prints too, and errmsg.h, so that a refused
 * argument sets the thread's last error message as everywhere else.
 *
 * The prompt reads one line at a time from a FILE *, so it can be driven
 * by a pipe or fmemopen() in tests; when its input is not a terminal (and
 * the caller did not say otherwise) it asks nothing and takes the safe
 * default: keep every snapshot, restore nothing, and say so.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "sessnap.h"
#include "words.h"

/* Milliseconds since the epoch, the clock a snapshot's saved time is on. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_entry(FILE *f, size_t n, const sessnap_info *in,
			int64_t now_ms, bool detail)
{
	char age[64], size[8];

	sessnap__age_format(age, sizeof(age), now_ms, in->saved_ms);
	sessnap__size_format(size, sizeof(size), in->file_bytes);
	if (in->label != NULL)
		fprintf(f, "  %zu) %s\n", n, in->label);
	else
		fprintf(f, "  %zu) untitled session %.8s\n", n, in->id);
	fprintf(f, "     saved %s, %" PRIu64 " update%s, %s\n", age, in->seq,
		in->seq == 1 ? "" : "s", size);
	if (detail)
		fprintf(f, "     id %s, last run by pid %" PRId64 " on %s\n",
			in->id, in->owner.pid,
			in->owner.host[0] ? in->owner.host : "this host");
	if (in->adoptions > 0)
		fprintf(f,
			"     warning: it crashed again after it was restored "
			"(restored %" PRIu32 " time%s); restoring it may crash "
			"again\n",
			in->adoptions, in->adoptions == 1 ? "" : "s");
}

static void print_list(FILE *f, sessnap_info *const *infos, size_t n,
		       int64_t now_ms, bool detail)
{
	size_t i;

	for (i = 0; i < n; i++)
		print_entry(f, i + 1, infos[i], now_ms, detail);
}

/*
 * Read one answer line, trimmed and lowercased.  Returns false on EOF or a
 * read error: the caller then takes the safe default.
 */
static bool read_answer(char *buf, size_t len, FILE *in)
{
	size_t n, start = 0, i;

	if (fgets(buf, (int)len, in) == NULL)
		return false;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(in)) {
		int c;

		/* An overlong line: drop the rest of it. */
		while ((c = fgetc(in)) != EOF && c != '\n')
			;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (buf[start] == ' ' || buf[start] == '\t')
		start++;
	memmove(buf, buf + start, n - start + 1);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	return true;
}

/* A session number 1..n, or 0 when the answer is not one. */
static size_t answer_number(const char *a, size_t n)
{
	const char *err = NULL;
	long long v;

	if (a[0] < '0' || a[0] > '9')
		return 0;
	v = strtonum(a, 1, (long long)n, &err);
	return err == NULL ? (size_t)v : 0;
}

static bool is_one_of(const char *a, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(a, *words) == 0)
			return true;
	return false;
}

static const char *const yes_words[] = { "", "y", "yes", NULL };
static const char *const no_words[] = { "n", "no", "not now", "later", NULL };
static const char *const list_words[] = { "l", "list", NULL };
static const char *const discard_words[] = { "d", "discard", "discard all",
					     NULL };

#define MAX_TRIES 5

static void say_kept(FILE *f, size_t n, const char *why)
{
	fprintf(f,
		"%s: nothing restored; %s kept. You will be asked again at "
		"the next start ('sessnap list' shows them).\n",
		why, n == 1 ? "the session is" : "all the sessions are");
}

/* Discard every listed session; one adopted meanwhile is left alone. */
static int discard_all(FILE *f, sessnap_store *store,
		       sessnap_info *const *infos, size_t n)
{
	size_t i, done = 0;
	int rc;

	for (i = 0; i < n; i++) {
		rc = sessnap_store_discard(store, infos[i]->id);
		if (rc == SESSNAP_EBUSY) {
			fprintf(f, "Session %zu is now in use; kept it.\n",
				i + 1);
			continue;
		}
		if (rc == SESSNAP_ENOTFOUND)
			continue;
		if (rc < 0) {
			fprintf(f, "Could not discard session %zu: %s\n", i + 1,
				sessnap_error_last());
			return rc;
		}
		done++;
	}
	fprintf(f, "Discarded %zu session%s.\n", done, done == 1 ? "" : "s");
	return 0;
}

/* The dialogue: what every step of it needs. */
struct dialogue {
	FILE *in;
	FILE *f;
	sessnap_store *store;
	sessnap_info *const *infos;
	size_t n;
	int64_t now;
	bool listed; /* the full list was shown: a number is asked for */
};

/* How a step ends: ask again, or stop with the answer made. */
enum { ASK_AGAIN = 0, ANSWERED = 1 };

/* The question, which depends on whether the full list was shown. */
static void ask(const struct dialogue *d)
{
	if (d->listed)
		fprintf(d->f,
			"Restore which one? [1-%zu/n/discard] (n: not now) ",
			d->n);
	else
		fprintf(d->f,
			"Restore %s? [Y/n/list/discard] (n: not now, keep %s "
			"and ask at the next start) ",
			d->n == 1 ? "it" : "the newest one",
			d->n == 1 ? "it" : "them");
	fflush(d->f);
}

/* Read an answer; on EOF, keep everything and say so. */
static bool answer_or_default(char *line, size_t len,
			      const struct dialogue *d,
			      sessnap_prompt_answer *answer)
{
	if (read_answer(line, len, d->in))
		return true;
	fputc('\n', d->f);
	say_kept(d->f, d->n, "No answer");
	*answer = SESSNAP_PROMPT_DEFAULT;
	return false;
}

/* "discard": confirm, then discard them all.  Sets *rc on a failure. */
static int confirm_discard(const struct dialogue *d,
			   sessnap_prompt_answer *answer, int *rc)
{
	char line[128];

	fprintf(d->f,
		"Discard %s %zu session%s? Their unsaved work is lost. [y/N] ",
		d->n == 1 ? "the" : "all", d->n, d->n == 1 ? "" : "s");
	fflush(d->f);
	if (!answer_or_default(line, sizeof(line), d, answer))
		return ANSWERED;
	if (strcmp(line, "y") != 0 && strcmp(line, "yes") != 0)
		return ASK_AGAIN;
	if ((*rc = discard_all(d->f, d->store, d->infos, d->n)) == 0)
		*answer = SESSNAP_PROMPT_DISCARDED;
	return ANSWERED;
}

/*
 * One question and its answer.  Enter or "y" picks the newest session,
 * a number picks that one; once the full list is shown an empty line no
 * longer picks anything, as the question then asks for a number.
 */
static int step(struct dialogue *d, char out[SESSNAP_ID_LEN + 1],
		sessnap_prompt_answer *answer, int *rc)
{
	char line[128];
	size_t pick;

	ask(d);
	if (!answer_or_default(line, sizeof(line), d, answer))
		return ANSWERED;
	if ((pick = answer_number(line, d->n)) > 0 ||
	    is_one_of(line, d->listed ? yes_words + 1 : yes_words)) {
		if (pick == 0)
			pick = 1;
		strlcpy(out, d->infos[pick - 1]->id, SESSNAP_ID_LEN + 1);
		*answer = SESSNAP_PROMPT_RESTORE;
		return ANSWERED;
	}
	if (is_one_of(line, no_words)) {
		say_kept(d->f, d->n, "Not now");
		*answer = SESSNAP_PROMPT_LATER;
		return ANSWERED;
	}
	if (is_one_of(line, list_words)) {
		print_list(d->f, d->infos, d->n, d->now, true);
		d->listed = true;
		return ASK_AGAIN;
	}
	if (is_one_of(line, discard_words))
		return confirm_discard(d, answer, rc);
	fprintf(d->f, "Please answer y (restore), n (not now), list, "
		      "discard, or a session number.\n");
	return ASK_AGAIN;
}

/* The opening lines: how many, and the newest three. */
static void introduce(const struct dialogue *d, const char *app)
{
	fprintf(d->f, "%s: %zu session%s did not end cleanly:\n", app, d->n,
		d->n == 1 ? "" : "s");
	print_list(d->f, d->infos, d->n > 3 ? 3 : d->n, d->now, false);
	if (d->n > 3)
		fprintf(d->f, "  ... and %zu more ('list' shows all)\n",
			d->n - 3);
}

int sessnap_prompt_run(char out[SESSNAP_ID_LEN + 1],
		       sessnap_prompt_answer *answer, sessnap_store *store,
		       const sessnap_prompt_options *opts)
{
	sessnap_prompt_options def = SESSNAP_PROMPT_OPTIONS_INIT;
	struct dialogue d = { 0 };
	sessnap_info **infos = NULL;
	int rc, tries;

	if (out == NULL || answer == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_prompt_run: NULL argument");
	out[0] = '\0';
	*answer = SESSNAP_PROMPT_NOTHING;
	if (opts == NULL)
		opts = &def;
	if (opts->version != 1 &&
	    opts->version != SESSNAP_PROMPT_OPTIONS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown prompt options version %u",
				      opts->version);
	/*
	 * Only crashed sessions: never one whose owner is alive; with a key
	 * (version 2), only that document's, so "discard" too removes only
	 * those.
	 */
	if (opts->version >= 2 && opts->key_len > 0)
		rc = sessnap_store_scan_key(&infos, &d.n, store,
					    SESSNAP_SCAN_RECOVERABLE, opts->key,
					    opts->key_len);
	else
		rc = sessnap_store_scan(&infos, &d.n, store,
					SESSNAP_SCAN_RECOVERABLE);
	if (rc < 0)
		return rc;
	if (d.n == 0)
		return 0;
	d.in = opts->in ? opts->in : stdin;
	d.f = opts->out ? opts->out : stderr;
	d.store = store;
	d.infos = infos;
	d.now = wall_ms();
	introduce(&d, opts->app_name ? opts->app_name
				     : sessnap_store_app(store));
	if (!opts->assume_tty && !isatty(fileno(d.in))) {
		say_kept(d.f, d.n, "No terminal to ask");
		*answer = SESSNAP_PROMPT_DEFAULT;
		goto done;
	}
	for (tries = 0; tries < MAX_TRIES; tries++)
		if (step(&d, out, answer, &rc) == ANSWERED)
			goto done;
	say_kept(d.f, d.n, "No valid answer");
	*answer = SESSNAP_PROMPT_DEFAULT;
done:
	sessnap_info_free(infos, d.n);
	return rc;
}
