/*
 * load.c - read a session's state back, whatever happened to its files
 *
 * A session has up to two generations on disk: <id>.snap, the last
 * committed state, and <id>.snap.prev, the one before it.  The loader
 * tries the main snapshot first and falls back to the previous generation
 * when the main one is missing, empty, truncated, zero-filled, fails its
 * checksum, or holds a state the application's validate callback rejects
 * (a registry that parsed but came back empty).  A fallback is never
 * silent: it is flagged in sessnap_load_info, explained in its `notice`,
 * and logged.
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
	strlcpy(info->label, h->label, sizeof(info->label));
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
		   sessnap_store *store, const char *name, char *why,
		   size_t why_len)
{
	json_object *state = NULL;
	int rc;

	rc = sessnap__snapshot_read(&state, h, store, name, why, why_len);
	if (rc < 0)
		return rc;
	if (store->opts.validate != NULL &&
	    store->opts.validate(state, h->schema_version,
				 store->opts.payload) != 0) {
		json_object_put(state);
		snprintf(why, why_len,
			 "state rejected by the application's validation");
		return SESSNAP_EREJECTED;
	}
	*out = state;
	return 0;
}

int sessnap__load(json_object **out, sessnap_load_info *info_out,
		  sessnap__header *hdr_out, sessnap_store *store,
		  const char *id)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char why_main[256] = "", why_prev[256] = "";
	char p1[PATH_MAX], p2[PATH_MAX];
	sessnap_load_info info;
	sessnap__header h;
	json_object *state = NULL;
	int rc_main, rc_prev, rc;

	memset(&info, 0, sizeof(info));
	sessnap__snap_name(snap, id);
	sessnap__prev_name(prev, id);
	sessnap__path(p1, sizeof(p1), store, snap);
	sessnap__path(p2, sizeof(p2), store, prev);

	rc_main = try_one(&state, &h, store, snap, why_main,
			  sizeof(why_main));
	if (rc_main == SESSNAP_ENEWER)
		return sessnap__error(
		    SESSNAP_ENEWER,
		    "%s: %s; upgrade sessnap to read it (it is never "
		    "treated as corrupt)",
		    p1, why_main);
	if (rc_main == SESSNAP_ENOMEM)
		return rc_main;
	/*
	 * A main snapshot that could not be read (EIO, EACCES) may well be
	 * intact and newer than the previous generation: falling back would
	 * hand the app an older state, and the app's next save would make
	 * that loss permanent.  Report the error instead; a later load may
	 * succeed.
	 */
	if (rc_main < 0 && !is_verdict(rc_main))
		return sessnap__error(rc_main,
				      "session %s could not be read: %s: %s; "
				      "its previous generation was not used, "
				      "as %s may be intact",
				      id, p1, why_main, p1);
	if (rc_main < 0) {
		rc_prev = try_one(&state, &h, store, prev, why_prev,
				  sizeof(why_prev));
		if (rc_prev == 0) {
			info.flags |= SESSNAP_LOAD_FROM_PREV;
			if (rc_main == SESSNAP_ENOTFOUND)
				notice(&info, "%s is missing; loaded the "
					      "previous generation %s",
				       p1, p2);
			else
				notice(&info, "%s is unusable (%s); loaded the "
					      "previous generation %s",
				       p1, why_main, p2);
			sessnap__log(store, SESSNAP_LOG_WARNING, "%s",
				     info.notice);
		} else if (rc_main == SESSNAP_ENOTFOUND &&
			   rc_prev == SESSNAP_ENOTFOUND) {
			return sessnap__error(SESSNAP_ENOTFOUND,
					      "no session %s in %s", id,
					      store->path);
		} else if (rc_prev == SESSNAP_ENOMEM) {
			return rc_prev;
		} else if (!is_verdict(rc_main) || !is_verdict(rc_prev)) {
			/* A read error says nothing about the content: never
			 * call such a session corrupt. */
			return sessnap__error(
			    !is_verdict(rc_main) ? rc_main : rc_prev,
			    "session %s could not be read: %s: %s; %s: %s",
			    id, p1, why_main, p2, why_prev);
		} else {
			if (rc_prev == SESSNAP_ENEWER)
				rc = SESSNAP_ENEWER;
			else if (rc_main == SESSNAP_EREJECTED &&
			    (rc_prev == SESSNAP_EREJECTED ||
			     rc_prev == SESSNAP_ENOTFOUND))
				rc = SESSNAP_EREJECTED;
			else if (rc_main == SESSNAP_ETOOBIG &&
				 rc_prev != SESSNAP_ECORRUPT)
				rc = SESSNAP_ETOOBIG;
			else
				rc = SESSNAP_ECORRUPT;
			/* Too big for this reader says nothing bad about the
			 * file: no advice to discard it. */
			if (rc == SESSNAP_ETOOBIG)
				return sessnap__error(
				    rc,
				    "session %s is too big for the read bound "
				    "of %zu bytes: %s: %s; %s: %s. Read it "
				    "with a larger bound (the application's "
				    "read_bound option, or 'sessnap COMMAND "
				    "--read-bound SIZE')",
				    id, store->read_bound, p1, why_main, p2,
				    why_prev);
			return sessnap__error(
			    rc,
			    "session %s has no usable snapshot: %s: %s; %s: "
			    "%s. Inspect them with 'sessnap verify', keep a "
			    "copy if the work matters, then remove them with "
			    "'sessnap discard %s'",
			    id, p1, why_main, p2, why_prev, id);
		}
	}

	if (h.schema_version < store->opts.schema_version &&
	    store->opts.migrate != NULL) {
		rc = store->opts.migrate(&state, h.schema_version,
					 store->opts.schema_version,
					 store->opts.payload);
		/* NULL is json-c's JSON null: a valid state, not a failure. */
		if (rc != 0) {
			json_object_put(state);
			return sessnap__error(
			    SESSNAP_EMIGRATE,
			    "migrating session %s from schema %u to %u failed "
			    "(the migrate callback returned %d); the snapshot "
			    "is left as it is",
			    id, h.schema_version, store->opts.schema_version,
			    rc);
		}
		info.flags |= SESSNAP_LOAD_MIGRATED;
	}
	fill_info(&info, &h);
	if (info_out != NULL)
		*info_out = info;
	if (hdr_out != NULL)
		*hdr_out = h;
	*out = state;
	return 0;
}

int sessnap_load(json_object **out, sessnap_load_info *info,
		 sessnap_store *store, const char *id)
{
	if (out == NULL || store == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_load: NULL argument");
	*out = NULL;
	if (sessnap__id_check(id) < 0)
		return SESSNAP_EBADNAME;
	return sessnap__load(out, info, NULL, store, id);
}
