/*
 * load.c - read a session's state back, whatever happened to its files
 *
 * A session has up to SESSNAP_GENERATIONS_MAX + 1 generations on disk:
 * <id>.snap, the last committed state, <id>.snap.prev, the one before it,
 * and <id>.snap.2 to <id>.snap.N when the store keeps N > 1 (atomic.c).
 * The loader tries the main snapshot first: it is the commit point, the
 * one name every save and adoption writes last.  It falls back to the
 * older generations, newest first by their seq (order_older() says why
 * not by name), when the main one is missing, empty, truncated,
 * zero-filled, fails its checksum, or holds a state the application's
 * validate callback rejects (a registry that parsed but came back empty,
 * or saved empty twice).  Every generation name is looked for, whatever
 * the store's own option, so that a reader with the default (a command)
 * finds what an application that keeps more wrote.  A fallback is never
 * silent: it is flagged in sessnap_load_info (with the generation used),
 * explained in its `notice`, and logged.
 *
 * A main snapshot of a newer format version stops the load with
 * SESSNAP_ENEWER instead: falling back would hand the app an older state
 * while a newer one exists.
 *
 * When neither generation is usable the error names both files, why each
 * was refused, and what the user can do.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "internal.h"

static void fill_info(sessnap_load_info *info, const sessnap__header *h)
{
	info->seq = h->seq;
	info->schema_version = h->schema_version;
	info->adoptions = h->adoptions;
	info->created_ms = h->created_ms;
	info->saved_ms = h->saved_ms;
	info->completed = h->completed;
	info->owner = h->owner;
	info->key_len = h->key_len;
}

/*
 * What the library returns, the library frees: the record, its label and
 * its key are allocated here and released together by
 * sessnap_load_info_free(), as a scan's are by sessnap_info_free().
 */
int sessnap__load_info_new(sessnap_load_info **out,
			   const sessnap_load_info *info,
			   const sessnap__header *h)
{
	sessnap_load_info *rec;

	*out = NULL;
	if ((rec = malloc(sizeof(*rec))) == NULL)
		goto on_error;
	*rec = *info;
	rec->size = sizeof(*rec);
	rec->label = NULL;
	rec->key = NULL;
	rec->key_len = h->key_len;
	if (h->label[0] != '\0' && (rec->label = strdup(h->label)) == NULL)
		goto on_error;
	if (h->key_len > 0) {
		if ((rec->key = malloc(h->key_len + 1)) == NULL)
			goto on_error;
		memcpy(rec->key, h->key, h->key_len);
		rec->key[h->key_len] = '\0';
	}
	*out = rec;
	return 0;

on_error:
	sessnap_load_info_free(rec);
	return sessnap__error(SESSNAP_ENOMEM, "out of memory");
}

void sessnap_load_info_free(sessnap_load_info *info)
{
	if (info == NULL)
		return;
	free(info->label);
	free(info->key);
	free(info);
}

/* A long path may cut the notice short; that is acceptable. */
static void notice(sessnap_load_info *info, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notice(sessnap_load_info *info, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(info->notice, sizeof(info->notice), fmt, ap);
	va_end(ap);
}

/*
 * Whether a failure to use one generation is a verdict on its content
 * (missing, corrupt, rejected, too big, newer) rather than a failure to
 * read it (EIO, EPERM, ...), which says nothing about what is on disk.
 */
static bool is_verdict(int rc)
{
	return rc == SESSNAP_ENOTFOUND || rc == SESSNAP_ECORRUPT ||
	       rc == SESSNAP_EREJECTED || rc == SESSNAP_ETOOBIG ||
	       rc == SESSNAP_ENEWER;
}

/* Read one generation and apply the validate callback to it. */
static int try_one(json_object **out, sessnap__header *h,
		   sessnap_store *store, const char *name)
{
	json_object *state = NULL;
	int rc;

	rc = sessnap__snapshot_read(&state, h, store, name);
	if (rc < 0)
		return rc;
	if (store->opts.validate != NULL &&
	    store->opts.validate(state, h->schema_version,
				 store->opts.payload) != 0) {
		json_object_put(state);
		return sessnap__error(SESSNAP_EREJECTED,
				      "state rejected by the application's "
				      "validation");
	}
	/* The text form of the callback (textcb.c). */
	if ((rc = sessnap__text_validate(store, state, h->schema_version)) !=
	    0) {
		json_object_put(state);
		if (rc < 0)
			return rc;
		return sessnap__error(SESSNAP_EREJECTED,
				      "state rejected by the application's "
				      "validation");
	}
	*out = state;
	return 0;
}

/* One generation of a session, and how reading it went. */
struct generation {
	char name[SESSNAP__NAME_MAX];
	char path[PATH_MAX]; /* for messages */
	char why[256]; /* why it was refused: a copy of the message */
	int rc;
	uint64_t seq; /* from its header, for the order of the fallback */
};

/*
 * Read generation g.  The messages that name several generations are
 * built after they were tried, so the reason of each is kept, as data,
 * from the thread-local message at the point of its failure.
 */
static int try_gen(json_object **out, sessnap__header *h,
		   sessnap_store *store, struct generation *g)
{
	g->rc = try_one(out, h, store, g->name);
	if (g->rc < 0)
		strlcpy(g->why, sessnap_error_last(), sizeof(g->why));
	return g->rc;
}

/* Whether a generation's file is a regular file, or absent. */
static bool regular(sessnap_store *store, const struct generation *g)
{
	struct stat st;

	return sessnap__name_stat(&st, store, g->name) != 1 ||
	       S_ISREG(st.st_mode);
}

/*
 * Neither generation is usable, and both were judged on their content:
 * one error for the two, with advice that fits.
 */
static int refuse_both(sessnap_store *store, const char *id,
		       const struct generation *m, const struct generation *p)
{
	int rc;

	if (p->rc == SESSNAP_ENEWER)
		rc = SESSNAP_ENEWER;
	else if (m->rc == SESSNAP_EREJECTED &&
		 (p->rc == SESSNAP_EREJECTED || p->rc == SESSNAP_ENOTFOUND))
		rc = SESSNAP_EREJECTED;
	else if (m->rc == SESSNAP_ETOOBIG && p->rc != SESSNAP_ECORRUPT)
		rc = SESSNAP_ETOOBIG;
	else
		rc = SESSNAP_ECORRUPT;
	/* Too big for this reader says nothing bad about the file: no
	 * advice to discard it. */
	if (rc == SESSNAP_ETOOBIG)
		return sessnap__error(
		    rc,
		    "session %s is too big for the read bound of %zu bytes: "
		    "%s: %s; %s: %s. Read it with a larger bound (the "
		    "application's read_bound option, or 'sessnap COMMAND "
		    "--read-bound SIZE')",
		    id, store->read_bound, m->path, m->why, p->path, p->why);
	/* Discard refuses a session with a file that is not regular (the one
	 * verdict, snapfile.c): do not send the user there. */
	if (!regular(store, m) || !regular(store, p))
		return sessnap__error(
		    rc,
		    "session %s has no usable snapshot: %s: %s; %s: %s. "
		    "sessnap never removes a file that is not a regular "
		    "file: inspect it, and remove it by hand if it is not "
		    "needed",
		    id, m->path, m->why, p->path, p->why);
	return sessnap__error(
	    rc,
	    "session %s has no usable snapshot: %s: %s; %s: %s. Inspect "
	    "them with 'sessnap verify', keep a copy if the work matters, "
	    "then remove them with 'sessnap discard %s'",
	    id, m->path, m->why, p->path, p->why, id);
}

/*
 * The order in which the older generations are tried: newest first by the
 * seq in their headers, not by their names.  A rotation is a series of
 * renames made durable by one directory fsync at its end (atomic.c): a
 * crash in the middle leaves an empty slot or one state under two names,
 * and after a power cut a file system that does not order directory
 * updates may keep some of those renames and not others, so the number
 * in a name says where a rotation put a file, not how old it is.  The seq
 * says when it was committed.  A generation whose header is of a newer
 * format, or could not be read at all (EIO, EACCES), comes first (it
 * stops the fallback: an older state must not be handed out while a newer
 * one may exist); one whose header is unusable
 * comes last, by name, to be refused with its reason.  Equal seqs (two
 * names of one file) keep the lower number.
 */
static size_t order_older(unsigned int order[], sessnap_store *store,
			  struct generation g[])
{
	sessnap__header h;
	struct stat st;
	size_t count = 0, i, j;
	unsigned int n;
	int rc;

	for (n = 1; n <= SESSNAP__GEN_LAST; n++) {
		rc = sessnap__header_read(&h, &st, store, g[n].name);
		g[n].rc = rc;
		if (rc < 0)
			strlcpy(g[n].why, sessnap_error_last(),
				sizeof(g[n].why));
		if (rc == SESSNAP_ENOTFOUND)
			continue;
		/* A newer format or a read error may hide the newest state:
		 * first, to stop the fallback there. */
		if (rc == 0)
			g[n].seq = h.seq;
		else if (rc == SESSNAP_ENEWER || !is_verdict(rc))
			g[n].seq = UINT64_MAX;
		else
			g[n].seq = 0;
		for (i = count; i > 0 && g[order[i - 1]].seq < g[n].seq; i--)
			order[i] = order[i - 1];
		order[i] = n;
		count++;
	}
	for (j = 0; j < count; j++)
		g[order[j]].why[0] = '\0';
	return count;
}

/*
 * The main snapshot was refused on its content (m): try the older
 * generations (`.prev`, then <id>.snap.2 and up when the store keeps
 * them) in the order above, and say so in the notice and the log when one
 * is used.  On failure *p describes them for the message: the newest one
 * tried, with a code that sums them all up.
 */
static int load_older(json_object **state, sessnap__header *h,
		      sessnap_load_info *info, sessnap_store *store,
		      const char *id, const struct generation *m,
		      struct generation g[], struct generation *p)
{
	unsigned int order[SESSNAP__GEN_LAST + 1], n = 1;
	size_t count, i;
	bool rejected = true, toobig = false, corrupt = false;

	count = order_older(order, store, g);
	for (i = 0; i < count; i++) {
		n = order[i];
		try_gen(state, h, store, &g[n]);
		if (g[n].rc == 0)
			break;
		if (g[n].rc == SESSNAP_ENOMEM)
			return g[n].rc;
		/* A newer format, or a read error that says nothing about
		 * the content: nothing older is handed out in its place. */
		if (g[n].rc == SESSNAP_ENEWER || !is_verdict(g[n].rc))
			break;
		rejected = rejected && g[n].rc == SESSNAP_EREJECTED;
		toobig = toobig || g[n].rc == SESSNAP_ETOOBIG;
		corrupt = corrupt || g[n].rc == SESSNAP_ECORRUPT;
	}
	if (i < count && g[n].rc == 0) {
		info->generation = n;
		info->flags |=
		    n == 1 ? SESSNAP_LOAD_FROM_PREV : SESSNAP_LOAD_FROM_OLDER;
		if (m->rc == SESSNAP_ENOTFOUND)
			notice(
			    info, "%s is missing; loaded the %s generation %s",
			    m->path, n == 1 ? "previous" : "older", g[n].path);
		else
			notice(info,
			       "%s is unusable (%s); loaded the %s "
			       "generation %s",
			       m->path, m->why, n == 1 ? "previous" : "older",
			       g[n].path);
		sessnap__log(store, SESSNAP_LOG_WARNING, "%s", info->notice);
		return 0;
	}
	*p = count > 0 ? g[order[0]] : g[1];
	if (i < count)
		*p = g[n]; /* where it stopped: newer, or unreadable */
	else if (count > 0)
		p->rc = rejected ? SESSNAP_EREJECTED :
			corrupt	 ? SESSNAP_ECORRUPT :
			toobig	 ? SESSNAP_ETOOBIG :
				   p->rc;
	if (count > 1 && i == count) {
		size_t len = strlen(p->why);

		snprintf(p->why + len, sizeof(p->why) - len,
			 " (and %zu older generation%s: none usable)",
			 count - 1, count > 2 ? "s" : "");
	}
	if (m->rc == SESSNAP_ENOTFOUND && p->rc == SESSNAP_ENOTFOUND)
		return sessnap__error(SESSNAP_ENOTFOUND, "no session %s in %s",
				      id, store->path);
	/* A read error says nothing about the content: never call such a
	 * session corrupt. */
	if (!is_verdict(p->rc))
		return sessnap__error(
		    p->rc, "session %s could not be read: %s: %s; %s: %s", id,
		    m->path, m->why, p->path, p->why);
	return refuse_both(store, id, m, p);
}

/*
 * Bring a state of an older schema up to the app's, if it asks to, with
 * the migrate callback or else its text form (text.c).  On failure *state
 * is the caller's to free (NULL when the text form consumed it).
 */
static int migrate(json_object **state, const sessnap__header *h,
		   sessnap_load_info *info, sessnap_store *store,
		   const char *id)
{
	int rc;

	if (h->schema_version >= store->opts.schema_version)
		return 0;
	if (store->opts.migrate == NULL) {
		if (store->opts.migrate_text == NULL)
			return 0;
		if ((rc = sessnap__text_migrate(state, store, id,
						h->schema_version)) < 0)
			return rc;
		info->flags |= SESSNAP_LOAD_MIGRATED;
		return 0;
	}
	rc = store->opts.migrate(state, h->schema_version,
				 store->opts.schema_version,
				 store->opts.payload);
	/* NULL is json-c's JSON null: a valid state, not a failure. */
	if (rc != 0)
		return sessnap__error(
		    SESSNAP_EMIGRATE,
		    "migrating session %s from schema %u to %u failed (the "
		    "migrate callback returned %d); the snapshot is left as "
		    "it is",
		    id, h->schema_version, store->opts.schema_version, rc);
	info->flags |= SESSNAP_LOAD_MIGRATED;
	return 0;
}

int sessnap__load(json_object **out, sessnap_load_info *info_out,
		  sessnap__header *hdr_out, sessnap_store *store,
		  const char *id)
{
	struct generation m = { .why = "" }, p = { .why = "" };
	struct generation g[SESSNAP__GEN_LAST + 1];
	sessnap_load_info info;
	sessnap__header h;
	json_object *state = NULL;
	unsigned int n;
	int rc;

	memset(&info, 0, sizeof(info));
	sessnap__snap_name(m.name, id);
	sessnap__path(m.path, sizeof(m.path), store, m.name);

	try_gen(&state, &h, store, &m);
	if (m.rc == SESSNAP_ENEWER)
		return sessnap__error(
		    SESSNAP_ENEWER,
		    "%s: %s; upgrade sessnap to read it (it is never "
		    "treated as corrupt)",
		    m.path, m.why);
	if (m.rc == SESSNAP_ENOMEM)
		return m.rc;
	/*
	 * A main snapshot that could not be read (EIO, EACCES) may well be
	 * intact and newer than the previous generation: falling back would
	 * hand the app an older state, and the app's next save would make
	 * that loss permanent.  Report the error instead; a later load may
	 * succeed.
	 */
	if (m.rc < 0 && !is_verdict(m.rc))
		return sessnap__error(m.rc,
				      "session %s could not be read: %s: %s; "
				      "its previous generation was not used, "
				      "as %s may be intact",
				      id, m.path, m.why, m.path);
	if (m.rc < 0) {
		for (n = 1; n <= SESSNAP__GEN_LAST; n++) {
			sessnap__gen_name(g[n].name, id, n);
			sessnap__path(g[n].path, sizeof(g[n].path), store,
				      g[n].name);
		}
		if ((rc = load_older(&state, &h, &info, store, id, &m, g, &p)) <
		    0)
			return rc;
	}
	/* A delta file's newest record refused: never silent either. */
	if (h.skipped) {
		info.flags |= SESSNAP_LOAD_RECORD_SKIPPED;
		if (info.notice[0] == '\0') {
			notice(&info,
			       "%s: the record of its newest save (seq %llu) "
			       "is unusable (%s); loaded the save before it "
			       "(seq %llu)",
			       info.generation == 0 ?
				   m.path :
				   g[info.generation].path,
			       (unsigned long long)h.skipped_seq,
			       h.skipped_why, (unsigned long long)h.seq);
			sessnap__log(store, SESSNAP_LOG_WARNING, "%s",
				     info.notice);
		}
	}
	if ((rc = migrate(&state, &h, &info, store, id)) < 0) {
		json_object_put(state);
		return rc;
	}
	fill_info(&info, &h);
	if (info_out != NULL)
		*info_out = info;
	if (hdr_out != NULL)
		*hdr_out = h;
	*out = state;
	return 0;
}

int sessnap_store_load(json_object **out, sessnap_load_info **info,
		       sessnap_store *store, const char *id)
{
	sessnap_load_info li;
	sessnap__header h;
	int rc;

	if (info != NULL)
		*info = NULL;
	if (out == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_load: NULL argument");
	*out = NULL;
	if (sessnap__id_check(id) < 0)
		return SESSNAP_EBADNAME;
	if ((rc = sessnap__load(out, &li, &h, store, id)) < 0)
		return rc;
	if (info != NULL && (rc = sessnap__load_info_new(info, &li, &h)) < 0) {
		json_object_put(*out);
		*out = NULL;
		return rc;
	}
	return 0;
}

int sessnap_store_load_generation(json_object **out, sessnap_load_info **info,
				  sessnap_store *store, const char *id,
				  unsigned int generation)
{
	struct generation g = { .why = "" };
	sessnap_load_info li;
	sessnap__header h;
	json_object *state = NULL;
	int rc;

	if (info != NULL)
		*info = NULL;
	if (out == NULL || store == NULL)
		return sessnap__error(
		    SESSNAP_EINVAL,
		    "sessnap_store_load_generation: NULL argument");
	*out = NULL;
	if (sessnap__id_check(id) < 0)
		return SESSNAP_EBADNAME;
	if (generation > SESSNAP_GENERATIONS_MAX)
		return sessnap__error(SESSNAP_EINVAL,
				      "no generation %u: generations are "
				      "numbered 0 to %d",
				      generation, SESSNAP_GENERATIONS_MAX);
	memset(&li, 0, sizeof(li));
	sessnap__gen_name(g.name, id, generation);
	sessnap__path(g.path, sizeof(g.path), store, g.name);
	rc = try_gen(&state, &h, store, &g);
	if (rc == SESSNAP_ENOTFOUND)
		return sessnap__error(rc,
				      "session %s has no generation %u "
				      "in %s (%s does not exist)",
				      id, generation, store->path, g.path);
	if (rc == SESSNAP_ENOMEM)
		return rc;
	if (rc < 0)
		return sessnap__error(rc, "generation %u of session %s: %s: %s",
				      generation, id, g.path, g.why);
	if ((rc = migrate(&state, &h, &li, store, id)) < 0) {
		json_object_put(state);
		return rc;
	}
	fill_info(&li, &h);
	li.generation = generation;
	if (generation == 1)
		li.flags |= SESSNAP_LOAD_FROM_PREV;
	else if (generation > 1)
		li.flags |= SESSNAP_LOAD_FROM_OLDER;
	if (info != NULL && (rc = sessnap__load_info_new(info, &li, &h)) < 0) {
		json_object_put(state);
		return rc;
	}
	*out = state;
	return 0;
}
