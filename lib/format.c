/*
 * format.c - the on-disk snapshot format
 *
 * A snapshot file is two lines of JSON, so `head -1 x.snap | jq` shows the
 * header and `tail -1` the state:
 *
 *	{"format":"sessnap","version":1,"app":"ed","id":"<32 hex>",...,
 *	 "length":1234,"checksum":"xxh3-128:<32 hex>"}\n
 *	<the state, exactly `length` bytes of compact JSON>\n
 *
 * The header is bounded (SESSNAP__HEADER_MAX), so a scanner reads one small
 * block per file to list and classify a session, and the file size must be
 * header + length + 1: a truncated or extended file is caught without
 * reading the payload.  The payload is verified against its XXH3-128
 * checksum (xxHash, a well-kept library) only when the state is asked for.
 * docs/sessnap-format.5 is the specification.
 *
 * A header whose format version is newer than SESSNAP_FORMAT_VERSION is
 * reported as SESSNAP_ENEWER before any other field is looked at: a newer
 * writer may change every other field, and its files must never be called
 * corrupt (the cleaner deletes corrupt files on request).
 *
 * Nothing read here is trusted: every size is bounded, the JSON nesting
 * depth is limited, and a file that is not a regular file is not read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "internal.h"

#define CHECKSUM_PREFIX "xxh3-128:"

static int why_set(char *why, size_t why_len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_set(char *why, size_t why_len, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return code;
}

void sessnap__checksum(char out[SESSNAP__CHECKSUM_LEN + 1], const void *data,
		       size_t len)
{
	sessnap__checksum_of_hash(out, XXH3_128bits(data, len));
}

void sessnap__checksum_of_hash(char out[SESSNAP__CHECKSUM_LEN + 1],
			       XXH128_hash_t h)
{
	XXH128_canonical_t c;
	static const char hex[] = "0123456789abcdef";
	size_t i, o = sizeof(CHECKSUM_PREFIX) - 1;

	XXH128_canonicalFromHash(&c, h);
	memcpy(out, CHECKSUM_PREFIX, o);
	for (i = 0; i < sizeof(c.digest); i++) {
		out[o++] = hex[c.digest[i] >> 4];
		out[o++] = hex[c.digest[i] & 15];
	}
	out[o] = '\0';
}

static int add(json_object *obj, const char *key, json_object *val)
{
	if (val == NULL)
		return -1;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int sessnap__header_format(char **out, size_t *out_len,
			   const sessnap__header *h)
{
	json_object *obj, *owner;
	const char *s;
	size_t len;
	char *buf;
	int bad = 0;

	*out = NULL;
	obj = json_object_new_object();
	owner = json_object_new_object();
	if (obj == NULL || owner == NULL) {
		json_object_put(obj);
		json_object_put(owner);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	bad |= add(obj, "format", json_object_new_string(SESSNAP__FORMAT_NAME));
	bad |= add(obj, "version", json_object_new_int64(h->format_version));
	bad |= add(obj, "app", json_object_new_string(h->app));
	bad |= add(obj, "id", json_object_new_string(h->id));
	bad |= add(obj, "label", json_object_new_string(h->label));
	bad |= add(obj, "seq", json_object_new_int64((int64_t)h->seq));
	bad |= add(obj, "created", json_object_new_int64(h->created_ms));
	bad |= add(obj, "saved", json_object_new_int64(h->saved_ms));
	bad |= add(obj, "completed", json_object_new_boolean(h->completed));
	bad |= add(obj, "adoptions", json_object_new_int64(h->adoptions));
	bad |= add(owner, "pid", json_object_new_int64(h->owner.pid));
	bad |= add(owner, "host", json_object_new_string(h->owner.host));
	bad |= add(owner, "boot_id", json_object_new_string(h->owner.boot_id));
	bad |= add(owner, "start",
		   json_object_new_int64((int64_t)h->owner.start_time));
	bad |= add(obj, "owner", owner);
	bad |= add(obj, "schema", json_object_new_int64(h->schema_version));
	bad |= add(obj, "length", json_object_new_int64((int64_t)h->length));
	bad |= add(obj, "checksum", json_object_new_string(h->checksum));
	if (bad) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || (buf = malloc(len + 1)) == NULL) {
		json_object_put(obj);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	json_object_put(obj);
	*out = buf;
	*out_len = len + 1;
	return 0;
}

static bool get_int(json_object *obj, const char *key, int64_t min,
		    int64_t max, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	/*
	 * json-c keeps integers above INT64_MAX as uint64 (clamped to
	 * UINT64_MAX when larger still) and get_int64 then returns INT64_MAX
	 * without setting errno: tell them apart through get_uint64.
	 */
	if (*out == INT64_MAX &&
	    json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	return errno == 0 && *out >= min && *out <= max;
}

static const char *get_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool sessnap__checksum_valid(const char *s)
{
	size_t p = sizeof(CHECKSUM_PREFIX) - 1;

	return strncmp(s, CHECKSUM_PREFIX, p) == 0 &&
	       strspn(s + p, "0123456789abcdef") == SESSNAP__CHECKSUM_LEN - p &&
	       s[SESSNAP__CHECKSUM_LEN] == '\0';
}

static int parse_fields(sessnap__header *h, json_object *obj, char *why,
			size_t why_len)
{
	json_object *v, *owner;
	const char *s;
	int64_t n;

#define BAD(what) why_set(why, why_len, SESSNAP_ECORRUPT, "header: %s", what)
	s = get_str(obj, "format");
	if (s == NULL || strcmp(s, SESSNAP__FORMAT_NAME) != 0)
		return BAD("not a sessnap snapshot (no \"format\":\"sessnap\")");
	if (!get_int(obj, "version", 1, UINT32_MAX, &n))
		return BAD("missing or invalid \"version\"");
	h->format_version = (uint32_t)n;
	if (h->format_version > SESSNAP_FORMAT_VERSION)
		return why_set(why, why_len, SESSNAP_ENEWER,
			       "written by format version %" PRIu32
			       ", newer than this library's %d",
			       h->format_version, SESSNAP_FORMAT_VERSION);

	s = get_str(obj, "id");
	if (s == NULL || !sessnap__id_valid(s))
		return BAD("missing or invalid \"id\"");
	strlcpy(h->id, s, sizeof(h->id));
	s = get_str(obj, "app");
	if (s == NULL || !sessnap__app_valid(s))
		return BAD("missing or invalid \"app\"");
	strlcpy(h->app, s, sizeof(h->app));
	if (json_object_object_get_ex(obj, "label", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return BAD("invalid \"label\"");
		strlcpy(h->label, json_object_get_string(v),
			sizeof(h->label));
	}
	if (!get_int(obj, "seq", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"seq\"");
	h->seq = (uint64_t)n;
	if (!get_int(obj, "created", 0, INT64_MAX, &h->created_ms))
		return BAD("missing or invalid \"created\"");
	if (!get_int(obj, "saved", 0, INT64_MAX, &h->saved_ms))
		return BAD("missing or invalid \"saved\"");
	if (!json_object_object_get_ex(obj, "completed", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return BAD("missing or invalid \"completed\"");
	h->completed = json_object_get_boolean(v);
	h->adoptions = 0;
	if (json_object_object_get_ex(obj, "adoptions", &v)) {
		if (!get_int(obj, "adoptions", 0, UINT32_MAX, &n))
			return BAD("invalid \"adoptions\"");
		h->adoptions = (uint32_t)n;
	}
	h->schema_version = 0;
	if (json_object_object_get_ex(obj, "schema", &v)) {
		if (!get_int(obj, "schema", 0, UINT32_MAX, &n))
			return BAD("invalid \"schema\"");
		h->schema_version = (uint32_t)n;
	}
	memset(&h->owner, 0, sizeof(h->owner));
	if (json_object_object_get_ex(obj, "owner", &owner)) {
		/* Each owner field is optional, but typed when present. */
		if (!json_object_is_type(owner, json_type_object))
			return BAD("invalid \"owner\"");
		if (json_object_object_get_ex(owner, "pid", &v)) {
			if (!get_int(owner, "pid", 0, INT64_MAX, &n))
				return BAD("invalid \"owner.pid\"");
			h->owner.pid = n;
		}
		if (json_object_object_get_ex(owner, "host", &v)) {
			if ((s = get_str(owner, "host")) == NULL)
				return BAD("invalid \"owner.host\"");
			strlcpy(h->owner.host, s, sizeof(h->owner.host));
		}
		if (json_object_object_get_ex(owner, "boot_id", &v)) {
			if ((s = get_str(owner, "boot_id")) == NULL)
				return BAD("invalid \"owner.boot_id\"");
			strlcpy(h->owner.boot_id, s, sizeof(h->owner.boot_id));
		}
		if (json_object_object_get_ex(owner, "start", &v)) {
			if (!get_int(owner, "start", 0, INT64_MAX, &n))
				return BAD("invalid \"owner.start\"");
			h->owner.start_time = (uint64_t)n;
		}
	}
	if (!get_int(obj, "length", 0, INT64_MAX, &n))
		return BAD("missing or invalid \"length\"");
	h->length = (uint64_t)n;
	s = get_str(obj, "checksum");
	if (s == NULL || !sessnap__checksum_valid(s))
		return BAD("missing or invalid \"checksum\"");
	strlcpy(h->checksum, s, sizeof(h->checksum));
#undef BAD
	return 0;
}

int sessnap__header_parse_json(sessnap__header *out, const char *line,
			       size_t len, char *why, size_t why_len)
{
	json_tokener *tok;
	json_object *obj;
	size_t end;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header line is empty");
	if (len >= SESSNAP__HEADER_MAX)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header line is longer than %d bytes",
			       SESSNAP__HEADER_MAX);
	if (memchr(line, '\0', len) != NULL)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header contains NUL bytes");
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (obj == NULL &&
	    json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, "", 1);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header is not valid JSON");
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	if (end < len || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header is not one JSON object");
	}
	rc = parse_fields(out, obj, why, why_len);
	json_object_put(obj);
	return rc;
}

/*
 * The allocation-free parser (header.c) decides the lines laid out as
 * sessnap__header_format() writes them; json-c, the reference, decides
 * everything else, and writes every refusal's message.
 */
int sessnap__header_parse(sessnap__header *out, const char *line, size_t len,
			  char *why, size_t why_len)
{
	int rc = sessnap__header_parse_fast(out, line, len, why, why_len);

	if (rc != SESSNAP__HEADER_DEFERRED)
		return rc;
	return sessnap__header_parse_json(out, line, len, why, why_len);
}

/*
 * Open a store file to look at it: read-only, never following a symlink,
 * never blocking on a FIFO.  O_NOATIME: looking at a snapshot is not a
 * use of it, and an atime update dirties the inode, a journal write per
 * file for a scan or a clean of a large store.  Only the file's owner may
 * ask for it; anyone else (EPERM) opens the ordinary way.
 */
int sessnap__open_look(sessnap_store *store, const char *name)
{
	int fd;

	fd = SYS(openat)(store->dfd, name,
			 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
			     O_NOATIME,
			 0);
	if (fd < 0 && errno == EPERM)
		fd = SYS(openat)(store->dfd, name,
				 O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				     O_CLOEXEC,
				 0);
	return fd;
}

/*
 * The one verdict on a session file
 * ----------------------------------
 * Scan, load, verify, export, adopt, discard and clean all judge a
 * session's files through the functions below, so a file gets the same
 * verdict from every one of them:
 *
 *  - a name that is not a regular file (a symlink, FIFO, directory,
 *    socket or device) is corrupt, with the reason "is not a regular file
 *    (a FIFO)" or "is a symlink (not followed)".  *st then describes what
 *    is there (from lstat), so a caller can tell it from a damaged regular
 *    file: such a name is never opened for writing, never locked and
 *    never removed, not even when corrupt files are asked to be removed;
 *  - a header whose id is not the one in the file name is corrupt
 *    ("header names session X, not Y"): the format requires them to
 *    match, and a copied or renamed file must not be adopted, written or
 *    cleaned as the session its name claims;
 *  - a file larger than the store's read bound is too big
 *    (SESSNAP_ETOOBIG, "N bytes, more than the read bound of M"), never
 *    corrupt: a reader with a smaller bound than the writer's knows
 *    nothing bad about it.  The header alone is still read and used (to
 *    list and to clean the session); only the state is refused.
 */

static const char *type_name(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symlink";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a file";
}

/* The verdict on a name that exists but is not a regular file. */
static int not_regular(const struct stat *st, char *why, size_t why_len)
{
	if (S_ISLNK(st->st_mode))
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "is a symlink (not followed)");
	return why_set(why, why_len, SESSNAP_ECORRUPT,
		       "is not a regular file (%s)", type_name(st->st_mode));
}

bool sessnap__too_big(const sessnap_store *store, const struct stat *st)
{
	return (uint64_t)st->st_size > (uint64_t)store->read_bound;
}

/*
 * Open a file of the store for reading without following symlinks and
 * without blocking on a FIFO, and make sure it is a regular file.  *st
 * receives its stat: from fstat when it was opened, from lstat when it
 * could not be (a symlink, a socket); zeroed when it does not exist.
 */
static int open_regular(int *out, struct stat *st, sessnap_store *store,
			const char *name, char *why, size_t why_len)
{
	char path[PATH_MAX];
	int fd, rc, err;

	memset(st, 0, sizeof(*st));
	fd = sessnap__open_look(store, name);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return why_set(why, why_len, SESSNAP_ENOTFOUND,
				       "does not exist");
		/* A symlink (ELOOP), a socket or a device without a driver
		 * (ENXIO, ENODEV): say what it is. */
		if (err == ELOOP || err == ENXIO || err == ENODEV) {
			if (SYS(fstatat)(store->dfd, name, st,
					 AT_SYMLINK_NOFOLLOW) == 0 &&
			    !S_ISREG(st->st_mode))
				return not_regular(st, why, why_len);
			memset(st, 0, sizeof(*st));
			if (errno == ENOENT)
				return why_set(why, why_len,
					       SESSNAP_ENOTFOUND,
					       "does not exist");
			errno = err;
		}
		rc = sessnap__syserr(errno, "open",
				     sessnap__path(path, sizeof(path), store,
						   name));
		return why_set(why, why_len, rc, "%s", sessnap_last_error());
	}
	if (SYS(fstat)(fd, st) < 0) {
		rc = sessnap__syserr(errno, "fstat",
				     sessnap__path(path, sizeof(path), store,
						   name));
		memset(st, 0, sizeof(*st));
		SYS(close)(fd);
		return why_set(why, why_len, rc, "%s", sessnap_last_error());
	}
	if (!S_ISREG(st->st_mode)) {
		SYS(close)(fd);
		return not_regular(st, why, why_len);
	}
	*out = fd;
	return 0;
}

/*
 * The id a session file's name gives ("<id>.snap", "<id>.snap.prev"), or
 * false for any other name (a temporary file: no verdict on its id).
 */
static bool name_id(char id[SESSNAP_ID_LEN + 1], const char *name)
{
	if (strlen(name) <= SESSNAP_ID_LEN || name[SESSNAP_ID_LEN] != '.')
		return false;
	memcpy(id, name, SESSNAP_ID_LEN);
	id[SESSNAP_ID_LEN] = '\0';
	return sessnap__id_valid(id);
}

static int check_id(const sessnap__header *h, const char *name, char *why,
		    size_t why_len)
{
	char id[SESSNAP_ID_LEN + 1];

	if (name_id(id, name) && strcmp(h->id, id) != 0)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "header names session %s, not %s", h->id, id);
	return 0;
}

/* Read up to len bytes, retrying EINTR (up to SESSNAP__EINTR_MAX in a row)
 * and short reads; stops at EOF. */
static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int eintr = 0;

	while (got < len) {
		n = SYS(read)(fd, buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR && ++eintr < SESSNAP__EINTR_MAX)
				continue;
			return -1;
		}
		eintr = 0;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int read_error(sessnap_store *store, const char *name, char *why,
		      size_t why_len)
{
	char path[PATH_MAX];
	int rc = sessnap__syserr(errno, "read",
				 sessnap__path(path, sizeof(path), store, name));

	return why_set(why, why_len, rc, "%s", sessnap_last_error());
}

/* Check that the file's size is exactly what its header announces. */
static int check_size(const sessnap__header *h, size_t hlen, uint64_t size,
		      char *why, size_t why_len)
{
	uint64_t want = (uint64_t)hlen + h->length + 1;

	if (size < want)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "truncated: %" PRIu64 " bytes, the header "
			       "announces %" PRIu64,
			       size, want);
	if (size > want)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "%" PRIu64 " bytes, longer than the %" PRIu64
			       " its header announces",
			       size, want);
	return 0;
}

static int header_of(sessnap__header *out, size_t *hlen, const char *buf,
		     size_t len, char *why, size_t why_len)
{
	const char *nl;
	size_t scan = len < SESSNAP__HEADER_MAX ? len : SESSNAP__HEADER_MAX;

	if (len == 0)
		return why_set(why, why_len, SESSNAP_ECORRUPT, "empty file");
	nl = memchr(buf, '\n', scan);
	if (nl == NULL) {
		if (memchr(buf, '\0', scan) != NULL)
			return why_set(why, why_len, SESSNAP_ECORRUPT,
				       "zero-filled or binary data, no header");
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       len < SESSNAP__HEADER_MAX
				   ? "truncated inside the header"
				   : "no header line in the first %d bytes",
			       SESSNAP__HEADER_MAX);
	}
	*hlen = (size_t)(nl - buf) + 1;
	return sessnap__header_parse(out, buf, *hlen, why, why_len);
}

#define HEAD_FIRST 1024

int sessnap__header_read(sessnap__header *out, struct stat *st_out,
			 sessnap_store *store, const char *name, char *why,
			 size_t why_len)
{
	char buf[SESSNAP__HEADER_MAX];
	struct stat st;
	size_t hlen = 0, want;
	ssize_t n, more;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	rc = open_regular(&fd, &st, store, name, why, why_len);
	if (st_out != NULL)
		*st_out = st;
	if (rc < 0)
		return rc;
	/*
	 * A snapshot never changes once it is in place (saves rename a new
	 * inode over it), so its size bounds the read: a small file costs
	 * one read(2), not a second one to see end-of-file.  The first read
	 * asks for HEAD_FIRST bytes, which hold a typical header (about 400
	 * bytes) with room to spare; only a header longer than that costs a
	 * second read, up to the bound.  The scanner reads one header per
	 * session, and copying 4 KiB where 400 bytes were needed was a
	 * visible share of its time.
	 */
	want = (uint64_t)st.st_size < sizeof(buf) ? (size_t)st.st_size :
						     sizeof(buf);
	n = read_full(fd, buf, want < HEAD_FIRST ? want : HEAD_FIRST);
	if (n == HEAD_FIRST && want > HEAD_FIRST &&
	    memchr(buf, '\n', HEAD_FIRST) == NULL) {
		more = read_full(fd, buf + HEAD_FIRST, want - HEAD_FIRST);
		n = more < 0 ? more : n + more;
	}
	if (n < 0) {
		rc = read_error(store, name, why, why_len);
		SYS(close)(fd);
		return rc;
	}
	SYS(close)(fd);
	rc = header_of(out, &hlen, buf, (size_t)n, why, why_len);
	if (rc < 0)
		return rc;
	if ((rc = check_id(out, name, why, why_len)) < 0)
		return rc;
	return check_size(out, hlen, (uint64_t)st.st_size, why, why_len);
}

/*
 * Verify a whole snapshot in memory: header, size, checksum.  Sets *off to
 * the payload's offset.
 */
static int verify(sessnap__header *hdr, size_t *off, const char *buf,
		  size_t len, char *why, size_t why_len)
{
	char sum[SESSNAP__CHECKSUM_LEN + 1];
	size_t hlen = 0;
	int rc;

	if ((rc = header_of(hdr, &hlen, buf, len, why, why_len)) < 0)
		return rc;
	if ((rc = check_size(hdr, hlen, len, why, why_len)) < 0)
		return rc;
	if (buf[len - 1] != '\n')
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "payload is not terminated by a newline");
	sessnap__checksum(sum, buf + hlen, (size_t)hdr->length);
	if (strcmp(sum, hdr->checksum) != 0)
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "checksum mismatch: the payload was damaged");
	*off = hlen;
	return 0;
}

static int parse_payload(json_object **state, const char *p, size_t len,
			 char *why, size_t why_len)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT32_MAX - 1)
		return why_set(why, why_len, SESSNAP_ETOOBIG,
			       "payload of %zu bytes is too large to parse",
			       len);
	tok = json_tokener_new_ex(SESSNAP__JSON_DEPTH);
	if (tok == NULL)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	/* The payload is followed by its newline: parsing it too lets a
	 * bare top-level number end. */
	obj = json_tokener_parse_ex(tok, p, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "payload is not valid JSON: %s",
			       json_tokener_error_desc(jerr));
	}
	while (end < len + 1 && (p[end] == ' ' || p[end] == '\n'))
		end++;
	if (end != len + 1) {
		json_object_put(obj);
		return why_set(why, why_len, SESSNAP_ECORRUPT,
			       "payload holds more than one JSON value");
	}
	*state = obj;
	return 0;
}

/*
 * The deepest a value inside container `o` lies (o itself at depth d), or
 * SESSNAP__JSON_DEPTH when that reaches the limit.  The tokener refuses a
 * value at depth SESSNAP__JSON_DEPTH (json_tokener_new_ex()'s depth counts
 * the value's enclosing containers plus one), so an empty container at
 * depth SESSNAP__JSON_DEPTH - 1 is fine and any element there is not.
 * Only containers are descended into: the walk costs one step per element
 * and nothing per byte of a string.
 */
static int container_depth(json_object *o, int d)
{
	struct array_list *list;
	json_object *child;
	size_t i, n;
	int deepest = d, got;
	json_type t;

	if (json_object_get_type(o) == json_type_array) {
		/* the list itself: one call less per element than get_idx */
		list = json_object_get_array(o);
		n = list->length;
		if (n == 0)
			return d;
		if (d + 1 >= SESSNAP__JSON_DEPTH)
			return SESSNAP__JSON_DEPTH;
		deepest = d + 1;
		for (i = 0; i < n; i++) {
			child = list->array[i];
			t = json_object_get_type(child);
			if (t != json_type_array && t != json_type_object)
				continue;
			got = container_depth(child, d + 1);
			if (got >= SESSNAP__JSON_DEPTH)
				return got;
			if (got > deepest)
				deepest = got;
		}
		return deepest;
	}
	if (json_object_object_length(o) == 0)
		return d;
	if (d + 1 >= SESSNAP__JSON_DEPTH)
		return SESSNAP__JSON_DEPTH;
	deepest = d + 1;
	json_object_object_foreach(o, key, val)
	{
		(void)key;
		t = json_object_get_type(val);
		if (t != json_type_array && t != json_type_object)
			continue;
		got = container_depth(val, d + 1);
		if (got >= SESSNAP__JSON_DEPTH)
			return got;
		if (got > deepest)
			deepest = got;
	}
	return deepest;
}

bool sessnap__json_depth_ok(const json_object *state, int *depth)
{
	json_object *o = (json_object *)state;
	json_type t = json_object_get_type(o);

	*depth = 0;
	if (t == json_type_array || t == json_type_object)
		*depth = container_depth(o, 0);
	return *depth < SESSNAP__JSON_DEPTH;
}

int sessnap__snapshot_parse(json_object **state, sessnap__header *hdr,
			    const char *buf, size_t len, char *why,
			    size_t why_len)
{
	size_t off = 0;
	int rc;

	*state = NULL;
	if ((rc = verify(hdr, &off, buf, len, why, why_len)) < 0)
		return rc;
	return parse_payload(state, buf + off, (size_t)hdr->length, why,
			     why_len);
}

int sessnap__snapshot_read_raw(char **out, size_t *out_len,
			       sessnap__header *hdr, size_t *payload_off,
			       sessnap_store *store, const char *name,
			       char *why, size_t why_len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	memset(hdr, 0, sizeof(*hdr));
	if ((rc = open_regular(&fd, &st, store, name, why, why_len)) < 0)
		return rc;
	if (sessnap__too_big(store, &st)) {
		SYS(close)(fd);
		return why_set(why, why_len, SESSNAP_ETOOBIG,
			       "%jd bytes, more than the read bound of %zu",
			       (intmax_t)st.st_size, store->read_bound);
	}
	/* One byte more than fstat said, to notice a file that grew. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		SYS(close)(fd);
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	}
	n = read_full(fd, buf, (size_t)st.st_size + 1);
	if (n < 0) {
		rc = read_error(store, name, why, why_len);
		SYS(close)(fd);
		free(buf);
		return rc;
	}
	SYS(close)(fd);
	rc = verify(hdr, payload_off, buf, (size_t)n, why, why_len);
	if (rc == 0)
		rc = check_id(hdr, name, why, why_len);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}

int sessnap__snapshot_read(json_object **state, sessnap__header *hdr,
			   sessnap_store *store, const char *name, char *why,
			   size_t why_len)
{
	size_t len = 0, off = 0;
	char *buf;
	int rc;

	*state = NULL;
	rc = sessnap__snapshot_read_raw(&buf, &len, hdr, &off, store, name,
					why, why_len);
	if (rc < 0)
		return rc;
	rc = parse_payload(state, buf + off, (size_t)hdr->length, why,
			   why_len);
	free(buf);
	return rc;
}
