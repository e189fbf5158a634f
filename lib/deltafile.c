/*
 * deltafile.c - the delta snapshot of a running session: appends and
 * compaction
 *
 * A session of a store opened with SESSNAP_STORE_DELTA saves through
 * sessnap__delta_save(), which does one of two things:
 *
 *  - compaction: write a new file whose base is the state being saved,
 *    with blank slots and a record area of zeros, through the durable
 *    replace (sessnap__atomic_replace(): temp file, flush, the old file
 *    kept as the previous generation, rename, directory flush), then open
 *    it for the appends that follow;
 *  - append: compress the state against the base (delta.c), write the
 *    record into the half of the area that the newest commit does not
 *    use, then the slot that does not hold the newest commit, then ONE
 *    fdatasync.  The file's size and extents never change (the area was
 *    written in full, with zeros, at compaction), so the flush writes
 *    data only, no metadata, and no directory entry changes.
 *
 * The newest commit is never overwritten by an append, so a torn or lost
 * append leaves it the newest valid commit, and a reader (delta.c) ignores
 * the torn one.  An append is made only to a file this handle compacted
 * itself and still holds open, whose name still refers to it (same
 * device and inode, one link); any failed write or flush drops the file:
 * it is never written again, and the next save compacts into a new one
 * (PostgreSQL's fsyncgate: after a failed flush nothing written to that
 * file since can be trusted).  The rules that choose between the two are
 * in must_compact() and append(); docs/design.md "Delta layout" says why.
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

#include "closer.h"
#include "internal.h"

/*
 * Compaction rules (design.md "Delta layout", "When to compact").  An
 * append goes on while it lowers the average bytes per save of the
 * current cycle (the compaction that wrote the base, and the appends
 * since): a record whose bytes, slot included, are at least the cycle's
 * average so far compacts instead, since every record is the whole
 * difference from the base and the ones after it are no smaller.  Each
 * half of the record area holds a record of a RECORD_FRACTION-th of the
 * base's size (less SLOT_WRITE_MAX, the slot's bytes written with it),
 * rounded up to AREA_ALIGN, but never less than RECORD_FLOOR: what an
 * append may cost in a cycle whose average meets the byte target; a
 * record that does not fit compacts too.  RECORDS_MAX appends per base
 * is a backstop only.
 */
#define RECORDS_MAX SESSNAP__DELTA_RECORDS_MAX
#define RECORD_FLOOR 2048
#define RECORD_FRACTION 100
#define SLOT_WRITE_MAX 256
#define AREA_ALIGN 4096

struct sessnap__delta {
	int fd;
	dev_t dev;
	ino_t ino;
	char name[SESSNAP__NAME_MAX];
	size_t hlen;
	uint64_t area_off;  /* the record area's offset in the file */
	uint64_t half;	    /* each record's room: half the area */
	uint64_t spent;	    /* bytes written since the base, its own too */
	size_t slot_len[2]; /* bytes of each slot's text on disk */
	uint64_t base_seq;
	int newest;	      /* the slot of the newest commit; -1: the base */
	unsigned int records; /* appended since the base */
	char label[SESSNAP_LABEL_MAX + 1]; /* the header's */
	sessnap__delta_codec *codec;
	char *rec; /* `half` bytes: the record being written */
};

unsigned int sessnap__delta_records(const sessnap__delta *d)
{
	return d != NULL ? d->records : 0;
}

int sessnap__delta_fd(const sessnap__delta *d)
{
	return d != NULL ? d->fd : -1;
}

void sessnap__delta_free(sessnap__delta *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		SYS(close)(d->fd);
	sessnap__delta_codec_free(d->codec);
	free(d->rec);
	free(d);
}

/* The record a half of the area holds, for a base of `size` bytes. */
static uint64_t record_room(uint64_t size)
{
	uint64_t lim = size / RECORD_FRACTION;

	lim = lim > RECORD_FLOOR + SLOT_WRITE_MAX ? lim - SLOT_WRITE_MAX :
						    RECORD_FLOOR;
	return lim;
}

/* Half the record area: the room of one record. */
static uint64_t half_area(uint64_t size)
{
	uint64_t lim = record_room(size);

	return (lim + AREA_ALIGN - 1) / AREA_ALIGN * AREA_ALIGN;
}

/* The bytes of a formatted slot's text, its padding left out. */
static size_t slot_text_len(const char slot[SESSNAP__SLOT_LEN])
{
	size_t n = SESSNAP__SLOT_LEN - 1;

	while (n > 0 && slot[n - 1] == ' ')
		n--;
	return n;
}

/*
 * Whether this save must compact rather than append: no open file (the
 * first save of a handle, or the last append failed), the records' count
 * reached, the end of a session kept as completed (the header says
 * completed), a new label (the header holds it), or the name no longer
 * refers to the file held open.
 */
static bool must_compact(const sessnap__delta *d, sessnap_store *store,
			 const sessnap__header *h)
{
	struct stat st;

	if (d == NULL || d->fd < 0 || d->records >= RECORDS_MAX ||
	    h->completed || strcmp(d->label, h->label) != 0)
		return true;
	if (SYS(fstatat)(store->dfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	return !S_ISREG(st.st_mode) || st.st_dev != d->dev ||
	       st.st_ino != d->ino || st.st_nlink != 1;
}

/*
 * Append: 0 when committed (and flushed unless DURABILITY_NONE), 1 when
 * the record does not fit its half of the area or would not lower the
 * cycle's average bytes per save (the caller compacts instead, nothing
 * was written), or an error.
 */
static int append(sessnap__delta *d, sessnap_store *store,
		  const sessnap__header *h, const char *payload, size_t len,
		  bool *committed)
{
	char slot[SESSNAP__SLOT_LEN], path[PATH_MAX];
	const char *step;
	sessnap__slot s;
	size_t rlen = 0, slen;
	int i = d->newest == 0 ? 1 : 0, rc;
	uint64_t saves = (uint64_t)d->records + 1;
	size_t cap = (size_t)d->half;

	/* A record of the cycle's average or more does not lower it. */
	if (d->spent / saves < cap)
		cap = (size_t)(d->spent / saves);
	rc =
	    sessnap__delta_compress(d->codec, d->rec, cap, &rlen, payload, len);
	if (rc != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.seq = h->seq;
	s.saved_ms = h->saved_ms;
	s.at = (uint64_t)i * d->half;
	s.length = rlen;
	s.size = len;
	sessnap__checksum(s.checksum, d->rec, rlen);
	sessnap__slot_format(slot, &s);
	/* The slot's text, and enough of its padding to cover the longer
	 * text that the slot held before (the newline at its end stays). */
	slen = slot_text_len(slot);
	if (slen < d->slot_len[i])
		slen = d->slot_len[i];
	/* Rent or buy: compact once appending costs the average or more. */
	if ((uint64_t)(rlen + slen) * saves >= d->spent)
		return 1;

	/* The record first, in the half that the newest commit does not
	 * use; then its slot, the one that does not hold the newest. */
	step = "pwrite (record)";
	if (sessnap__write_full(d->fd, d->rec, rlen,
				(off_t)(d->area_off + s.at)) < 0)
		goto on_error;
	step = "pwrite (commit slot)";
	if (sessnap__write_full(d->fd, slot, slen,
		     (off_t)(d->hlen + (size_t)i * SESSNAP__SLOT_LEN)) < 0)
		goto on_error;
	d->slot_len[i] = slot_text_len(slot);
	/* A reader sees it now, flushed or not. */
	*committed = true;
	step = "fdatasync";
	if (store->durability != SESSNAP_DURABILITY_NONE &&
	    SYS(fdatasync)(d->fd) < 0)
		goto on_error;
	d->newest = i;
	d->records++;
	d->spent += rlen + slen;
	return 0;

on_error:
	rc = sessnap__syserr(errno, step,
			     sessnap__path(path, sizeof(path), store, d->name));
	return sessnap__error_prefix(rc,
				     "appending to session %s (the next "
				     "save writes a new file)",
				     h->id);
}

/*
 * After a compaction: open the file just renamed into place for the
 * appends, and make sure it is the one written (a regular file of one
 * link, of the expected size, whose header line is ours).  Returns the
 * new state, or NULL (with nothing to undo: the save succeeded, and the
 * next one compacts again).
 */
static sessnap__delta *open_new(sessnap_store *store, const char *name,
				const sessnap__header *h, const char *hbuf,
				size_t hlen, uint64_t total,
				const char *payload, size_t len)
{
	sessnap__delta *d;
	struct stat st;
	char *head;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->fd = SYS(openat)(store->dfd, name,
			    O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (d->fd < 0 || SYS(fstat)(d->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (uint64_t)st.st_size != total)
		goto on_error;
	if ((head = malloc(hlen)) == NULL)
		goto on_error;
	if (sessnap__read_full(d->fd, head, hlen, 0) != (ssize_t)hlen ||
	    memcmp(head, hbuf, hlen)) {
		free(head);
		goto on_error;
	}
	free(head);
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	strlcpy(d->name, name, sizeof(d->name));
	d->hlen = hlen;
	d->area_off = sessnap__delta_area_off(h, hlen);
	d->half = h->area / 2;
	d->spent = total;
	d->base_seq = h->seq;
	d->newest = -1;
	strlcpy(d->label, h->label, sizeof(d->label));
	if (d->half == 0 || (d->rec = malloc((size_t)d->half)) == NULL ||
	    sessnap__delta_codec_new(&d->codec, payload, len) < 0)
		goto on_error;
	return d;

on_error:
	sessnap__delta_free(d);
	return NULL;
}

static int replace(sessnap_store *store, const char *name, const char *prev,
		   const sessnap__buf *bufs, size_t nbufs, bool *committed)
{
	int rc = sessnap__atomic_replace_how(store, name, prev, bufs, nbufs,
					     store->durability,
					     SESSNAP__REPLACE_IN_PLACE,
					     committed);

	/* As a plain save does (session.c): a full disk while the
	 * store's closer holds unlinked files frees them and tries once
	 * more. */
	if (rc == SESSNAP_ENOSPC && !*committed && sessnap__closer_drain(store))
		rc = sessnap__atomic_replace_how(
		    store, name, prev, bufs, nbufs, store->durability,
		    SESSNAP__REPLACE_IN_PLACE, committed);
	return rc;
}

/*
 * Compaction: the state becomes the base of a new file.  A file that
 * would be larger than the store's read bound (a state close to the
 * bound) is written without a record area, or else in the plain layout,
 * so that everything saved can be loaded back.
 */
static int compact(sessnap__delta **dp, sessnap_store *store,
		   const sessnap__header *h0, const char *payload, size_t len,
		   bool *committed)
{
	char snap[SESSNAP__NAME_MAX], prev[SESSNAP__NAME_MAX];
	char slots[SESSNAP__SLOTS_LEN];
	sessnap__header h = *h0;
	sessnap__buf bufs[5];
	char *stored = NULL, *hbuf = NULL, *zeros = NULL;
	size_t stored_len = len, hlen = 0, nbufs;
	uint64_t total;
	int rc;

	sessnap__delta_free(*dp);
	*dp = NULL;
	sessnap__snap_name(snap, h.id);
	sessnap__prev_name(prev, h.id);
	h.format_version = SESSNAP__FORMAT_DELTA;
	h.layout = SESSNAP_LAYOUT_DELTA;
	h.base_codec = SESSNAP__CODEC_NONE;
	if (store->opts.flags & SESSNAP_STORE_COMPRESS_BASE) {
		if ((rc = sessnap__delta_base_compress(&stored, &stored_len,
						       payload, len)) < 0)
			return rc;
		h.base_codec = SESSNAP__CODEC_ZSTD;
	}
	h.base_size = len;
	h.length = stored_len;
	/* An uncompressed base is the state: h0 has its checksum already. */
	if (stored != NULL)
		sessnap__checksum(h.checksum, stored, stored_len);
	h.area = 2 * half_area(len);
	if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
		goto out;
	total = sessnap__delta_area_off(&h, hlen) + h.area;
	if (total > store->read_bound) {
		free(hbuf);
		hbuf = NULL;
		h.area = 0;
		if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
			goto out;
		total = sessnap__delta_area_off(&h, hlen);
	}
	if (total > store->read_bound) {
		/* The plain layout: header, state, newline. */
		free(hbuf);
		hbuf = NULL;
		h = *h0;
		h.format_version = SESSNAP__FORMAT_PLAIN;
		h.layout = SESSNAP_LAYOUT_PLAIN;
		if ((rc = sessnap__header_format(&hbuf, &hlen, &h)) < 0)
			goto out;
		bufs[0] = (sessnap__buf){ hbuf, hlen };
		bufs[1] = (sessnap__buf){ payload, len };
		bufs[2] = (sessnap__buf){ "\n", 1 };
		rc = replace(store, snap, prev, bufs, 3, committed);
		goto out;
	}
	if (h.area > 0 && (zeros = calloc(1, (size_t)h.area)) == NULL) {
		rc = sessnap__error(SESSNAP_ENOMEM, "out of memory");
		goto out;
	}
	sessnap__slot_blank(slots);
	sessnap__slot_blank(slots + SESSNAP__SLOT_LEN);
	bufs[0] = (sessnap__buf){ hbuf, hlen };
	bufs[1] = (sessnap__buf){ slots, sizeof(slots) };
	bufs[2] = (sessnap__buf){ stored ? stored : payload, stored_len };
	bufs[3] = (sessnap__buf){ "\n", 1 };
	bufs[4] = (sessnap__buf){ zeros, (size_t)h.area };
	nbufs = h.area > 0 ? 5 : 4;
	rc = replace(store, snap, prev, bufs, nbufs, committed);
	/*
	 * Appends only to a file whose name is durable: after a failed
	 * directory flush (SESSNAP_EDURABILITY) a power cut may take the
	 * rename back, and the appends with it, so the next save compacts
	 * again (and flushes the directory again).
	 */
	if (rc == 0 && *committed && h.area > 0)
		*dp =
		    open_new(store, snap, &h, hbuf, hlen, total, payload, len);

out:
	free(zeros);
	free(hbuf);
	free(stored);
	return rc;
}

int sessnap__delta_save(sessnap__delta **dp, sessnap_store *store,
			const sessnap__header *h, const char *payload,
			size_t len, bool *committed)
{
	int rc;

	*committed = false;
	if (!must_compact(*dp, store, h)) {
		rc = append(*dp, store, h, payload, len, committed);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			/* Never written again: the next save compacts. */
			sessnap__delta_free(*dp);
			*dp = NULL;
			return rc;
		}
	}
	return compact(dp, store, h, payload, len, committed);
}
