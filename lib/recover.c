/*
 * recover.c - adopt, discard, and ask the user: startup recovery
 *
 * After a crash the scanner (scan.c) finds sessions whose owner is gone.
 * This module does something with them:
 *
 *	sessnap_session_adopt()    take the lock, load the state, continue
 *	sessnap_load()             peek: load without adopting (load.c)
 *	sessnap_discard()          remove a session's files, never a live one
 *	sessnap_recovery_prompt()  "2 sessions did not end cleanly: ...
 *	                            Restore? [Y/n/list/discard]"
 *
 * Adoption takes the session's flock first, so of two processes racing to
 * adopt the same session exactly one wins and the other gets
 * SESSNAP_EBUSY.  The winner then re-writes the recovered snapshot
 * unchanged except for its header: one more in the sequence, one more
 * adoption, the new owner.  That write goes through the atomic replace, so
 * the recovered generation is kept as <id>.snap.prev and nothing is lost
 * if the adopter crashes at once; and because the adoption counter is on
 * disk before the app touches the state, a state that crashes the app
 * every time it is restored shows up at the next prompt as "crashed again
 * after it was restored" (Firefox's max_resumed_crashes exists for the
 * same reason).  The payload bytes are written back exactly as read, with
 * their own schema version, so a migration is redone from the original at
 * every load until the app saves a state of its own.
 *
 * The prompt reads one line at a time from a FILE *, so it can be driven
 * by a pipe or fmemopen() in tests; when its input is not a terminal (and
 * the caller did not say otherwise) it asks nothing and takes the safe
 * default: keep every snapshot, restore nothing, and say so.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <libutil.h>

#include "internal.h"

/* ---- adopt ------------------------------------------------------------- */

/*
 * Write the recovered generation `gen` back as <id>.snap with the header
 * of the adopted session.  The raw bytes are read again (the lock is ours,
 * so nobody else writes them) and must carry the checksum of the state
 * that was loaded: a different file would mean we are not writing what
 * the app received.
 */
static int persist_adoption(sessnap_session *s, const sessnap__header *loaded,
			    const char *gen)
{
	sessnap_store *store = s->store;
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char why[256], path[PATH_MAX];
	sessnap__header raw_h, h;
	sessnap__buf bufs[2];
	size_t len = 0, off = 0, hlen = 0;
	char *raw = NULL, *hbuf = NULL;
	bool committed = false;
	int rc;

	rc = sessnap__snapshot_read_raw(&raw, &len, &raw_h, &off, store, gen,
					why, sizeof(why));
	if (rc < 0) {
		rc = sessnap__error(
		    rc,
		    "adopting session %s: cannot reread "
		    "%s: %s",
		    s->id, sessnap__path(path, sizeof(path), store, gen), why);
		goto on_error;
	}
	if (strcmp(raw_h.checksum, loaded->checksum) != 0) {
		rc = sessnap__error(
		    SESSNAP_ECORRUPT,
		    "adopting session %s: %s changed while "
		    "it was being loaded",
		    s->id, sessnap__path(path, sizeof(path), store, gen));
		goto on_error;
	}
	h = raw_h;
	h.format_version = SESSNAP_FORMAT_VERSION;
	strlcpy(h.app, store->app, sizeof(h.app));
	h.seq = raw_h.seq + 1;
	h.saved_ms = sessnap__now_ms();
	h.completed = false;
	h.adoptions = s->adoptions;
	h.owner = store->self;
	if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
		goto on_error;
	/* The payload and its newline, exactly as they were. */
	bufs[0].base = hbuf;
	bufs[0].len = hlen;
	bufs[1].base = raw + off;
	bufs[1].len = len - off;
	sessnap__snap_name(snap, s->id);
	sessnap__prev_name(prev, s->id);
	rc = sessnap__atomic_replace(store, snap, prev, bufs, 2,
				     store->durability, &committed);
	if (committed)
		s->seq = h.seq;
	if (rc == SESSNAP_EDURABILITY) {
		sessnap__log(store, SESSNAP_LOG_WARNING, "%s",
			     sessnap_last_error());
		rc = 0;
	}
	if (rc < 0)
		goto on_error;
	free(hbuf);
	free(raw);
	return 0;

on_error:
	free(hbuf);
	free(raw);
	return rc;
}

static int absent(sessnap_store *store, const char *name)
{
	struct stat st;

	return SYS(fstatat)(store->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	       errno == ENOENT;
}

/*
 * A session with a name that is not a regular file (a FIFO, directory or
 * symlink as its <id>.snap or <id>.snap.prev) is never written to or
 * removed: adopt and discard refuse it, as the cleaner skips it and the
 * scanner reports it corrupt (format.c, "The one verdict on a session
 * file").  The lock file gets the same check in sessnap__lock_take().
 */
static int check_regular(sessnap_store *store, const char *id,
			 const char *what)
{
	char names[2][SESSNAP__NAME_MAX], path[PATH_MAX];
	struct stat st;
	int i;

	sessnap__snap_name(names[0], id);
	sessnap__prev_name(names[1], id);
	for (i = 0; i < 2; i++) {
		if (SYS(fstatat)(store->dfd, names[i], &st,
				 AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return sessnap__syserr(errno, "fstatat",
					       sessnap__path(path, sizeof(path),
							     store, names[i]));
		}
		if (!S_ISREG(st.st_mode))
			return sessnap__error(
			    SESSNAP_EUNSAFE,
			    "cannot %s session %s: %s is not a regular file; "
			    "it is left as it is (remove it by hand if it is "
			    "not needed)",
			    what, id,
			    sessnap__path(path, sizeof(path), store,
					  names[i]));
	}
	return 0;
}

/*
 * Failure handling: until the adoption is written, nothing on disk has
 * changed, so every failure just releases the lock.  The lock file is
 * removed only when we created it for a session that does not exist, so a
 * mistyped id leaves no stray file behind.
 */
int sessnap_session_adopt(sessnap_session **out, json_object **state_out,
			  sessnap_load_info *info_out, sessnap_store *store,
			  const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	sessnap_load_info info;
	sessnap__header h;
	sessnap_session *s = NULL;
	json_object *state = NULL;
	int fd = -1, gate, rc, saved_errno;

	if (out == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_session_adopt: NULL argument");
	*out = NULL;
	if (state_out != NULL)
		*state_out = NULL;
	if (!sessnap__id_valid(id))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid session id \"%s\": expected %d "
				      "lowercase hex digits",
				      id ? id : "(null)", SESSNAP_ID_LEN);
	if (store->opts.flags & SESSNAP_STORE_READONLY)
		return sessnap__error(SESSNAP_ESTATE,
				      "store %s was opened read-only: "
				      "sessions cannot be adopted",
				      store->path);
	if (store->pid != getpid())
		return sessnap__error(SESSNAP_ESTATE,
				      "store %s was opened by the parent "
				      "process; open it again in the child",
				      store->path);
	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	sessnap__lock_name(lock, id);

	/* Shared gate: a cleaner cannot judge the session lock-free while
	 * its lock file is being created (see liveness.c). */
	if ((rc = sessnap__gate_open(&gate, store)) < 0)
		return rc;
	if ((rc = sessnap__gate_lock(gate, store, LOCK_SH)) == 0)
		rc = sessnap__lock_take(&fd, store, id);
	SYS(close)(gate);
	if (rc < 0)
		return rc;
	if ((rc = check_regular(store, id, "adopt")) < 0)
		goto on_error;
	rc = sessnap__load(&state, &info, &h, store, id);
	if (rc == SESSNAP_ENOTFOUND) {
		/* Only if still absent: we hold the lock, nobody writes. */
		if (absent(store, snap) && absent(store, prev))
			SYS(unlinkat)(store->dfd, lock, 0);
		goto on_error;
	}
	if (rc < 0)
		goto on_error;
	if (sessnap__owner_foreign(&h.owner, &store->self)) {
		rc = sessnap__error(
		    SESSNAP_EFOREIGN,
		    "session %s was written on host \"%s\", not on this "
		    "host (\"%s\"): its owner may still be running there, "
		    "where this host cannot see its lock; adopt it on \"%s\"",
		    id, h.owner.host, store->self.host, h.owner.host);
		goto on_error;
	}
	rc = sessnap__session_new(&s, store, id, fd,
				  h.label[0] != '\0' ? h.label : NULL, 0);
	if (rc < 0)
		goto on_error;
	fd = -1; /* the session owns the lock now */
	s->seq = h.seq;
	s->created_ms = h.created_ms;
	/* Reopening a cleanly ended session is not a crash recovery. */
	s->adoptions = h.completed ? 0 : h.adoptions + 1;
	rc = persist_adoption(
	    s, &h, (info.flags & SESSNAP_LOAD_FROM_PREV) ? prev : snap);
	if (rc < 0)
		goto on_error;
	info.seq = s->seq;
	info.adoptions = s->adoptions;
	if (info_out != NULL)
		*info_out = info;
	if (state_out != NULL)
		*state_out = state;
	else
		json_object_put(state);
	*out = s;
	return 0;

on_error:
	saved_errno = errno;
	json_object_put(state);
	if (s != NULL)
		sessnap_session_release(s);
	if (fd >= 0)
		SYS(close)(fd);
	errno = saved_errno;
	return rc;
}

/* ---- discard ------------------------------------------------------------ */

static int unlink_name(sessnap_store *store, const char *name)
{
	char path[PATH_MAX];

	if (SYS(unlinkat)(store->dfd, name, 0) < 0 && errno != ENOENT)
		return sessnap__syserr(
		    errno, "unlink",
		    sessnap__path(path, sizeof(path), store, name));
	return 0;
}

/* Remove the temporary files ".<id>.snap.*" a dead writer left behind. */
static int unlink_temps(sessnap_store *store, const char *id)
{
	char prefix[SESSNAP__NAME_MAX + 2], path[PATH_MAX];
	struct dirent *de;
	size_t plen;
	DIR *dir;
	int fd, rc = 0, saved_errno;

	plen = (size_t)snprintf(prefix, sizeof(prefix), ".%s.snap.", id);
	fd = SYS(openat)(store->dfd, ".",
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return sessnap__syserr(
		    errno, "open",
		    sessnap__path(path, sizeof(path), store, "."));
	if ((dir = SYS(fdopendir)(fd)) == NULL) {
		rc = sessnap__syserr(
		    errno, "opendir",
		    sessnap__path(path, sizeof(path), store, "."));
		goto on_error;
	}
	for (;;) {
		errno = 0;
		if ((de = SYS(readdir)(dir)) == NULL) {
			if (errno != 0)
				rc = sessnap__syserr(errno, "readdir",
						     sessnap__path(path,
								   sizeof(path),
								   store, "."));
			break;
		}
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue; /* a temp name that is no file: left */
		if ((rc = unlink_name(store, de->d_name)) < 0)
			break;
	}
	SYS(closedir)(dir);
	return rc;

on_error:
	saved_errno = errno;
	SYS(close)(fd);
	errno = saved_errno;
	return rc;
}

/*
 * Ordering: the lock is taken before anything is removed (a live owner
 * makes it fail, so a running session is never touched), the older
 * generation goes before the newer one (a failure half-way leaves the
 * newest state, never only an older one), and the lock file goes last,
 * while we still hold it.
 */
int sessnap_discard(sessnap_store *store, const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char lock[SESSNAP__NAME_MAX];
	int fd = -1, rc;

	if (store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_discard: NULL store");
	if (!sessnap__id_valid(id))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid session id \"%s\": expected %d "
				      "lowercase hex digits",
				      id ? id : "(null)", SESSNAP_ID_LEN);
	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	sessnap__lock_name(lock, id);
	if (absent(store, snap) && absent(store, prev))
		return sessnap__error(SESSNAP_ENOTFOUND, "no session %s in %s",
				      id, store->path);
	if ((rc = check_regular(store, id, "discard")) < 0)
		return rc;
	if ((rc = sessnap__lock_take(&fd, store, id)) < 0)
		return rc;
	if ((rc = unlink_name(store, prev)) < 0 ||
	    (rc = unlink_name(store, snap)) < 0 ||
	    (rc = unlink_temps(store, id)) < 0 ||
	    (rc = unlink_name(store, lock)) < 0)
		goto out;
out:
	SYS(close)(fd);
	return rc;
}

/* ---- the prompt ---------------------------------------------------------- */

void sessnap__age_format(char *buf, size_t len, int64_t now_ms, int64_t then_ms)
{
	static const struct {
		int64_t secs;
		const char *unit;
	} units[] = {
		{ 86400 * 7, "week" }, { 86400, "day" }, { 3600, "hour" },
		{ 60, "minute" },      { 1, "second" },
	};
	int64_t d = (now_ms - then_ms) / 1000;
	size_t i;

	if (then_ms <= 0) {
		strlcpy(buf, "at an unknown time", len);
		return;
	}
	if (d < 10) {
		/* A little clock skew between hosts reads as "now" too. */
		strlcpy(buf, "just now", len);
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t n = d / units[i].secs;

		if (n >= 1) {
			snprintf(buf, len, "%" PRId64 " %s%s ago", n,
				 units[i].unit, n == 1 ? "" : "s");
			return;
		}
	}
}

static void size_format(char *buf, size_t len, uint64_t bytes)
{
	if (humanize_number(buf, len, (int64_t)bytes, "", HN_AUTOSCALE,
			    HN_DECIMAL | HN_NOSPACE | HN_B) < 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
}

static void print_entry(FILE *f, size_t n, const sessnap_info *in,
			int64_t now_ms, bool detail)
{
	char age[64], size[8];

	sessnap__age_format(age, sizeof(age), now_ms, in->saved_ms);
	size_format(size, sizeof(size), in->file_bytes);
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

static void print_list(FILE *f, const sessnap_info *infos, size_t n,
		       int64_t now_ms, bool detail)
{
	size_t i;

	for (i = 0; i < n; i++)
		print_entry(f, i + 1, &infos[i], now_ms, detail);
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
static int discard_all(FILE *f, sessnap_store *store, const sessnap_info *infos,
		       size_t n)
{
	size_t i, done = 0;
	int rc;

	for (i = 0; i < n; i++) {
		rc = sessnap_discard(store, infos[i].id);
		if (rc == SESSNAP_EBUSY) {
			fprintf(f, "Session %zu is now in use; kept it.\n",
				i + 1);
			continue;
		}
		if (rc == SESSNAP_ENOTFOUND)
			continue;
		if (rc < 0) {
			fprintf(f, "Could not discard session %zu: %s\n", i + 1,
				sessnap_last_error());
			return rc;
		}
		done++;
	}
	fprintf(f, "Discarded %zu session%s.\n", done, done == 1 ? "" : "s");
	return 0;
}

int sessnap_recovery_prompt(char out[SESSNAP_ID_LEN + 1],
			    sessnap_prompt_answer *answer, sessnap_store *store,
			    const sessnap_prompt_options *opts)
{
	sessnap_prompt_options def = SESSNAP_PROMPT_OPTIONS_INIT;
	sessnap_info *infos = NULL;
	size_t n = 0, pick = 0;
	char line[128];
	const char *app;
	int64_t now;
	FILE *in, *f;
	bool listed = false;
	int rc, tries;

	if (out == NULL || answer == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_recovery_prompt: NULL argument");
	out[0] = '\0';
	*answer = SESSNAP_PROMPT_NOTHING;
	if (opts == NULL)
		opts = &def;
	if (opts->version != SESSNAP_PROMPT_OPTIONS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown prompt options version %u",
				      opts->version);
	in = opts->in ? opts->in : stdin;
	f = opts->out ? opts->out : stderr;
	app = opts->app_name ? opts->app_name : store->app;

	/* Only crashed sessions: never one whose owner is alive. */
	if ((rc = sessnap_scan(&infos, &n, store, SESSNAP_SCAN_RECOVERABLE)) <
	    0)
		return rc;
	if (n == 0)
		return 0;
	now = sessnap__now_ms();
	fprintf(f, "%s: %zu session%s did not end cleanly:\n", app, n,
		n == 1 ? "" : "s");
	print_list(f, infos, n > 3 ? 3 : n, now, false);
	if (n > 3)
		fprintf(f, "  ... and %zu more ('list' shows all)\n", n - 3);

	if (!opts->assume_tty && !isatty(fileno(in))) {
		say_kept(f, n, "No terminal to ask");
		*answer = SESSNAP_PROMPT_DEFAULT;
		goto done;
	}
	for (tries = 0; tries < MAX_TRIES; tries++) {
		if (listed)
			fprintf(f,
				"Restore which one? [1-%zu/n/discard] (n: not "
				"now) ",
				n);
		else
			fprintf(f,
				"Restore %s? [Y/n/list/discard] (n: not now, "
				"keep %s and ask at the next start) ",
				n == 1 ? "it" : "the newest one",
				n == 1 ? "it" : "them");
		fflush(f);
		if (!read_answer(line, sizeof(line), in)) {
			fputc('\n', f);
			say_kept(f, n, "No answer");
			*answer = SESSNAP_PROMPT_DEFAULT;
			goto done;
		}
		if ((pick = answer_number(line, n)) > 0 ||
		    (!listed && is_one_of(line, yes_words)) ||
		    (listed && is_one_of(line, yes_words + 1))) {
			if (pick == 0)
				pick = 1;
			strlcpy(out, infos[pick - 1].id, SESSNAP_ID_LEN + 1);
			*answer = SESSNAP_PROMPT_RESTORE;
			goto done;
		}
		if (is_one_of(line, no_words)) {
			say_kept(f, n, "Not now");
			*answer = SESSNAP_PROMPT_LATER;
			goto done;
		}
		if (is_one_of(line, list_words)) {
			print_list(f, infos, n, now, true);
			listed = true;
			continue;
		}
		if (is_one_of(line, discard_words)) {
			fprintf(f,
				"Discard %s %zu session%s? Their unsaved work "
				"is lost. [y/N] ",
				n == 1 ? "the" : "all", n, n == 1 ? "" : "s");
			fflush(f);
			if (!read_answer(line, sizeof(line), in)) {
				fputc('\n', f);
				say_kept(f, n, "No answer");
				*answer = SESSNAP_PROMPT_DEFAULT;
				goto done;
			}
			if (strcmp(line, "y") == 0 ||
			    strcmp(line, "yes") == 0) {
				if ((rc = discard_all(f, store, infos, n)) < 0)
					goto done;
				*answer = SESSNAP_PROMPT_DISCARDED;
				goto done;
			}
			continue;
		}
		fprintf(f, "Please answer y (restore), n (not now), list, "
			   "discard, or a session number.\n");
	}
	say_kept(f, n, "No valid answer");
	*answer = SESSNAP_PROMPT_DEFAULT;
done:
	sessnap_scan_free(infos, n);
	return rc;
}
