/*
 * claim.c - exactly one adopter across hosts, and the fence
 *
 * A session of another host cannot be adopted by taking its flock: that
 * host's locks are not visible here (NFSv3 locks never expire, NFSv4
 * emulates flock with a lease of its own, local_lock= makes them
 * host-local).  So a cross-host adopter claims the session instead, with
 * the one operation that is atomic on every NFS version: link(2) of a
 * file of its own onto the claim name <id>.claim.  The claim is made in
 * four steps, the classic NFS lock recipe (open(2) of Linux, "O_EXCL"):
 *
 *  1. write the claim record into a temporary file of a unique name,
 *     .<id>.claim.XXXXXX (O_CREAT | O_EXCL | O_NOFOLLOW, 0600), and sync it;
 *  2. link(2) it to <id>.claim;
 *  3. whatever link(2) returned, fstat the temporary file: a link count of
 *     2 means the link is ours, anything else means another claimant was
 *     first.  A reply lost on the wire makes an NFS client retransmit the
 *     LINK, and the server answers the retransmission with EEXIST although
 *     the first one succeeded; so link(2)'s own result is never trusted;
 *  4. unlink the temporary file (and, for a won claim, sync the directory).
 *
 * O_EXCL alone is not enough on NFSv2 and on some servers of later
 * versions, and rename(2) replaces an existing name, so neither is used.
 *
 * The record is one JSON line: the claimed session, the claim's
 * generation (the number of adoptions of the session line it starts: the
 * claimed session's own adoptions, plus one), the session that continues
 * the claimed one (the successor: cross-host adoption goes on under a new
 * id, see docs/design.md "Claims and fencing"), who claimed (host, boot
 * id, pid) and when.  A claim is never withdrawn: it fences the claimed
 * session for as long as the session's files exist, and goes with them
 * (the cleaner removes it with its session, before the lock file).
 *
 * The fence, sessnap__fence_check(), is what every commit of a session
 * calls before it renames anything: a claim on the session's own id means
 * another host took it over, and the commit is refused with
 * SESSNAP_EFENCED.  The adopter writes only names of its successor id, so
 * even a commit that passed the check just before the claim was made
 * (paused between check and rename) lands on the claimed id's files, never
 * on the adopter's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "internal.h"

/* A record is one short line; anything longer is not a claim of ours. */
#define CLAIM_READ_MAX 4096
#define CLAIM_TRIES 16

static char *record_format(const sessnap__claim *c)
{
	json_object *o = json_object_new_object();
	char *line = NULL;
	const char *text;

	if (o == NULL)
		return NULL;
	if (json_object_object_add(o, "claim", json_object_new_int(1)) < 0 ||
	    json_object_object_add(o, "id", json_object_new_string(c->id)) <
		0 ||
	    json_object_object_add(
		o, "generation",
		json_object_new_int64((int64_t)c->generation)) < 0 ||
	    json_object_object_add(o, "successor",
				   json_object_new_string(c->successor)) < 0 ||
	    json_object_object_add(o, "host",
				   json_object_new_string(c->owner.host)) < 0 ||
	    json_object_object_add(
		o, "boot_id", json_object_new_string(c->owner.boot_id)) < 0 ||
	    json_object_object_add(o, "pid",
				   json_object_new_int64(c->owner.pid)) < 0 ||
	    json_object_object_add(o, "claimed_ms",
				   json_object_new_int64(c->claimed_ms)) < 0)
		goto out;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (text != NULL && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
out:
	json_object_put(o);
	return line;
}

static bool get_string(json_object *o, const char *key, char *out, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return false;
	strlcpy(out, json_object_get_string(v), len);
	return true;
}

static bool get_int(json_object *o, const char *key, int64_t min, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0 && *out >= min;
}

/* Decode a record; false for anything that is not one whole claim of id. */
static bool record_parse(sessnap__claim *out, const char *text, size_t len,
			 const char *id)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL;
	int64_t gen = 0, pid = 0, ms = 0, version = 0;
	bool ok = false;

	if (tok == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	if (len == 0 || text[len - 1] != '\n')
		goto out;
	o = json_tokener_parse_ex(tok, text, (int)(len - 1));
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len - 1 ||
	    !json_object_is_type(o, json_type_object))
		goto out;
	ok = get_int(o, "claim", 1, &version) && version == 1 &&
	     get_string(o, "id", out->id, sizeof(out->id)) &&
	     strcmp(out->id, id) == 0 && get_int(o, "generation", 1, &gen) &&
	     get_string(o, "successor", out->successor,
			sizeof(out->successor)) &&
	     sessnap__id_valid(out->successor) &&
	     get_string(o, "host", out->owner.host, sizeof(out->owner.host)) &&
	     get_string(o, "boot_id", out->owner.boot_id,
			sizeof(out->owner.boot_id)) &&
	     get_int(o, "pid", 0, &pid) && get_int(o, "claimed_ms", 0, &ms);
	out->generation = (uint64_t)gen;
	out->owner.pid = pid;
	out->claimed_ms = ms;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

int sessnap__claim_read(sessnap__claim *out, sessnap_store *store,
			const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	char buf[CLAIM_READ_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	sessnap__claim_name(name, id);
	rc = sessnap__name_open_read(&fd, store, name);
	if (rc == SESSNAP__OPEN_ABSENT)
		return 0;
	if (rc == SESSNAP__OPEN_NOT_REGULAR)
		goto not_regular;
	if (rc < 0)
		return rc;
	if (SYS(fstat)(fd, &st) < 0) {
		rc = sessnap__syserr(
		    errno, "fstat",
		    sessnap__path(path, sizeof(path), store, name));
		SYS(close)(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		SYS(close)(fd);
		goto not_regular;
	}
	/* Bounded: one byte more than a record may have tells "too long". */
	if ((n = sessnap__read_full(fd, buf, sizeof(buf), -1)) < 0) {
		rc = sessnap__syserr(errno, "read",
				     sessnap__path(path, sizeof(path), store,
						   name));
		SYS(close)(fd);
		return rc;
	}
	len = (size_t)n;
	SYS(close)(fd);
	if (len > CLAIM_READ_MAX || !record_parse(out, buf, len, id))
		return sessnap__error(
		    SESSNAP_ECORRUPT,
		    "%s is not a valid claim record: the session is treated "
		    "as claimed, and the file is left as it is",
		    sessnap__path(path, sizeof(path), store, name));
	return 1;

not_regular:
	return sessnap__error(SESSNAP_EUNSAFE,
			      "%s is not a regular file, so it cannot be the "
			      "session's claim; it is left as it is",
			      sessnap__path(path, sizeof(path), store, name));
}

/* The claim that beat ours, in words, for the loser's message. */
static int lost(sessnap_store *store, const char *id)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	sessnap__claim other;
	int rc;

	sessnap__claim_name(name, id);
	sessnap__path(path, sizeof(path), store, name);
	rc = sessnap__claim_read(&other, store, id);
	if (rc > 0)
		return sessnap__error(
		    SESSNAP_EFENCED,
		    "session %s was already adopted by host \"%s\" (pid %" PRId64
		    ") as session %s: %s holds its claim",
		    id, other.owner.host, other.owner.pid, other.successor,
		    path);
	return sessnap__error(SESSNAP_EFENCED,
			      "session %s was already claimed by another "
			      "adopter: %s exists",
			      id, path);
}

/* Does <id>.claim hold exactly our record?  1 yes, 0 no, or an error. */
static int claim_is_ours(sessnap_store *store, const sessnap__claim *c)
{
	sessnap__claim got;
	int rc = sessnap__claim_read(&got, store, c->id);

	if (rc <= 0)
		return rc == 0 ? 0 : rc;
	return strcmp(got.successor, c->successor) == 0 &&
	       strcmp(got.owner.host, c->owner.host) == 0 &&
	       strcmp(got.owner.boot_id, c->owner.boot_id) == 0 &&
	       got.owner.pid == c->owner.pid &&
	       got.claimed_ms == c->claimed_ms &&
	       got.generation == c->generation;
}

/*
 * Failure handling: nothing but the temporary file is created before the
 * link, and it is unlinked on every path (a failed unlink leaves it to
 * the cleaner, like a save's).  After the link was tried, a failure of the
 * fstat falls back to reading the claim back and comparing it with our
 * record; when that cannot be read either, the outcome is unknown and
 * *unsure says so: the caller must then keep what it prepared (a
 * successor that may be the claimed one's only continuation), and must
 * not write as the claimant.  A claim, once linked, is never withdrawn.
 */
int sessnap__claim_take(sessnap_store *store, const sessnap__claim *c,
			bool *unsure)
{
	char tmp[SESSNAP__NAME_MAX], name[SESSNAP__NAME_MAX];
	char path[PATH_MAX];
	const char *step = NULL;
	struct stat st;
	char *line;
	int fd = -1, tries, link_err = 0, rc, ours;

	*unsure = false;
	if ((line = record_format(c)) == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	sessnap__claim_name(name, c->id);
	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		sessnap__temp_name(tmp, sizeof(tmp), name);
		fd = SYS(openat)(
		    store->dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = sessnap__syserr(
		    errno, "create of the claim's temporary file",
		    sessnap__path(path, sizeof(path), store, tmp));
		free(line);
		return rc;
	}
	if (sessnap__write_full(fd, line, strlen(line), -1) < 0) {
		step = "write";
		goto on_error;
	}
	if (store->durability != SESSNAP_DURABILITY_NONE &&
	    SYS(fsync)(fd) < 0) {
		step = "fsync";
		goto on_error;
	}
	free(line);
	line = NULL;
	if (SYS(linkat)(store->dfd, tmp, store->dfd, name, 0) < 0)
		link_err = errno;
	/* The link count decides, not link(2)'s answer (see above). */
	if (SYS(fstat)(fd, &st) == 0) {
		ours = st.st_nlink == 2;
	} else {
		ours = claim_is_ours(store, c);
		if (ours < 0) {
			*unsure = true;
			SYS(close)(fd);
			SYS(unlinkat)(store->dfd, tmp, 0);
			return sessnap__error_prefix(
			    ours,
			    "claiming session %s: cannot tell whether "
			    "the claim is ours",
			    c->id);
		}
	}
	SYS(close)(fd);
	SYS(unlinkat)(store->dfd, tmp, 0);
	if (!ours) {
		if (link_err == 0 || link_err == EEXIST)
			return lost(store, c->id);
		return sessnap__syserr(
		    link_err, "link of the claim",
		    sessnap__path(path, sizeof(path), store, name));
	}
	if (store->durability == SESSNAP_DURABILITY_FULL &&
	    SYS(fsync)(store->dfd) < 0)
		return sessnap__error(
		    SESSNAP_EDURABILITY,
		    "session %s claimed, but the fsync of the store directory "
		    "%s failed: %s",
		    c->id, store->path, strerror(errno));
	return 0;

on_error:
	rc = sessnap__syserr(errno, step,
			     sessnap__path(path, sizeof(path), store, tmp));
	{
		PROTECT_ERRNO;

		SYS(close)(fd);
		SYS(unlinkat)(store->dfd, tmp, 0);
	}
	free(line);
	return rc;
}

/*
 * One lstat per commit (ENOENT in the common case).  The answer is kept
 * by the caller: once fenced, a session stays fenced, even if its claim
 * is later removed with its files.
 */
int sessnap__fence_check(sessnap_store *store, const char *id,
			 uint64_t generation)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX], cause[512];
	sessnap__claim c;
	struct stat st;
	int rc;

	sessnap__claim_name(name, id);
	if (SYS(fstatat)(store->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return sessnap__syserr(
		    errno, "fstatat of the claim",
		    sessnap__path(path, sizeof(path), store, name));
	}
	sessnap__path(path, sizeof(path), store, name);
	rc = sessnap__claim_read(&c, store, id);
	if (rc > 0)
		return sessnap__error(
		    SESSNAP_EFENCED,
		    "session %s is fenced: host \"%s\" (pid %" PRId64
		    ", boot %s) adopted it as session %s at generation %" PRIu64
		    " (this process holds %" PRIu64
		    "), as %s records; the save "
		    "is refused and that host's files are left untouched",
		    id, c.owner.host, c.owner.pid,
		    c.owner.boot_id[0] != '\0' ? c.owner.boot_id : "unknown",
		    c.successor, c.generation, generation, path);
	/* Unreadable or not a record: still a claim, still fenced. */
	strlcpy(cause, sessnap_error_last(), sizeof(cause));
	return sessnap__error(SESSNAP_EFENCED,
			      "session %s is fenced: %s exists (%s); the save "
			      "is refused",
			      id, path, cause);
}
