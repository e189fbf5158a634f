/*
 * names.c - the store's file names, their paths, and the directory walk
 *
 * A store directory holds, per session id (SESSNAP_ID_LEN lowercase hex
 * digits), at most these names:
 *
 *	<id>.snap			the newest generation
 *	<id>.snap.prev			the generation before it
 *	<id>.lock			the session's flock (liveness.c)
 *	.<id>.snap.XXXXXX		a save's temporary file (atomic.c)
 *	.<id>.snap.prev.XXXXXX		a save's temporary link of .prev
 *
 * and anything else is somebody else's: no module of the library ever
 * reads, writes or removes a name this module does not recognise.  This
 * file builds the names (sessnap__snap_name() and its siblings), checks
 * the application names and session ids that go into them, and writes
 * the full paths that messages show.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

bool sessnap__app_valid(const char *app)
{
	size_t n;

	if (app == NULL || app[0] == '\0' || app[0] == '.')
		return false;
	for (n = 0; app[n] != '\0'; n++) {
		char c = app[n];

		if (n >= SESSNAP_APP_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool sessnap__id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strspn(id, "0123456789abcdef");
	return n == SESSNAP_ID_LEN && id[n] == '\0';
}

/*
 * The scanner and the cleaner build two or three names per session, so
 * these are two memcpy calls rather than snprintf's format machinery.  An
 * id longer than SESSNAP_ID_LEN (never valid) is cut so that the suffix
 * always fits.
 */
static void name_of(char out[SESSNAP__NAME_MAX], const char *id,
		    const char *suffix, size_t suffix_len)
{
	size_t n = strnlen(id, SESSNAP__NAME_MAX - 1 - suffix_len);

	memcpy(out, id, n);
	memcpy(out + n, suffix, suffix_len + 1);
}

void sessnap__snap_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".snap", sizeof(".snap") - 1);
}

void sessnap__prev_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".snap.prev", sizeof(".snap.prev") - 1);
}

void sessnap__lock_name(char out[SESSNAP__NAME_MAX], const char *id)
{
	name_of(out, id, ".lock", sizeof(".lock") - 1);
}

const char *sessnap__path(char *buf, size_t len, const sessnap_store *store,
			  const char *name)
{
	snprintf(buf, len, "%s/%s", store->path, name);
	return buf;
}


