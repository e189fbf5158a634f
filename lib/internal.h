/*
 * internal.h - types and functions shared inside libsessnap
 *
 * Nothing here is installed or exported: names shared across lib/ files use
 * the sessnap__ prefix and are hidden by -export-symbols-regex.  Unit tests
 * link the internal convenience library and may call them.
 */
#ifndef SESSNAP_INTERNAL_H
#define SESSNAP_INTERNAL_H

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <time.h>

#include <xxhash.h>

#include "sessnap.h"
#include "names.h"

/* ---- The system-call seam (sys.c) ---------------------------------------
 *
 * Every system call the library makes on the store goes through this table.
 * Call sites write SYS(write)(fd, ...).  The library fills it with the real
 * calls; the test suite puts its fault injector and tracer in front of them
 * (tests/inject.h), so that it can fail or watch any one of them, on any
 * thread.
 */
struct sessnap__sys {
	int (*openat)(int dfd, const char *path, int flags, mode_t mode);
	int (*flopenat)(int dfd, const char *path, int flags, mode_t mode);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	/* pread and pwrite: the delta layout's slots and records
	 * (deltafile.c), the lease's record (lease.c) */
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int (*fallocate)(int fd, int mode, off_t off, off_t len);
	/* Ask the file system to write this new, empty file's blocks in
	 * place (btrfs's FS_NOCOW_FL; a delta file, see atomic.c); -1 with
	 * errno where there is no such attribute. */
	int (*in_place)(int fd);
	int (*renameat)(int odfd, const char *oldp, int ndfd, const char *newp);
	int (*linkat)(int odfd, const char *oldp, int ndfd, const char *newp,
		      int flags);
	int (*unlinkat)(int dfd, const char *path, int flags);
	int (*mkdirat)(int dfd, const char *path, mode_t mode);
	int (*flock)(int fd, int op);
	/* Like close(2), an entry releases fd even when it fails: no caller
	 * retries a close or a closedir. */
	int (*close)(int fd);
	int (*fstat)(int fd, struct stat *st);
	int (*fstatat)(int dfd, const char *path, struct stat *st, int flags);
	DIR *(*fdopendir)(int fd);
	struct dirent *(*readdir)(DIR *dir);
	int (*closedir)(DIR *dir);
	/* pthread_create: returns 0 or an error number, as it does */
	int (*thread_create)(pthread_t *thread, void *(*fn)(void *),
			     void *arg);
	/* The lease (lease.c): its record is rewritten in place (pwrite,
	 * above), and the file server's clock is read through
	 * futimens(fd, NULL). */
	int (*ftruncate)(int fd, off_t len);
	int (*futimens)(int fd, const struct timespec times[2]);
	int (*fstatfs)(int fd, struct statfs *st);
	/*
	 * Who and when this process is: the host name (gethostname), the
	 * boot id (the first line of /proc/sys/kernel/random/boot_id into
	 * buf, "" when unknown) and the wall clock.  In the table so that a
	 * test can play several hosts on one machine (tests/inject.c).
	 */
	int (*gethostname)(char *name, size_t len);
	void (*boot_id)(char *buf, size_t len);
	int (*clock_gettime)(clockid_t clock, struct timespec *ts);
};

extern struct sessnap__sys sessnap__sys;
/* Close a descriptor of an unlinked file held to free it later, outside
 * the table: no test's fault or trace sees it (sys.c, for closer.c). */
void sessnap__sys_release(int fd);
#define SYS(name) (sessnap__sys.name)

/*
 * How many consecutive EINTR failures a read or write loop retries before
 * it gives up with EINTR.  A signal interrupts a call now and then; a call
 * that fails with EINTR every time (a signal storm, a broken FUSE file
 * system, a persistent injected fault) must end in an error, not a hang.
 */
#define SESSNAP__EINTR_MAX 64

/* ---- Whole reads and writes (fdio.c) ------------------------------------ */
/*
 * Write all len bytes of buf to fd: at the descriptor's position when off
 * is -1 (write), else at off (pwrite).  Continues after short writes,
 * retries EINTR up to SESSNAP__EINTR_MAX times in a row, and fails a
 * write that makes no progress with ENOSPC.  Returns 0, or -1 with errno.
 */
int sessnap__write_full(int fd, const void *buf, size_t len, off_t off);
/*
 * Read up to len bytes from fd into buf, as above (read when off is -1,
 * else pread at off); stops at end of file.  Returns the number of bytes
 * read, or -1 with errno.
 */
ssize_t sessnap__read_full(int fd, void *buf, size_t len, off_t off);

/* ---- Errors (error.c) ---------------------------------------------------- */

/* sessnap__error(): set the thread-local message (errmsg.h). */
#include "errmsg.h"
/*
 * Report a failed system call: "<step> of <path> failed: <strerror(err)>".
 * Returns the sessnap code that err maps to.
 */
int sessnap__syserr(int err, const char *step, const char *path);
/* Map an errno value to a sessnap code. */
int sessnap__errno_code(int err);
/* strerror into a caller buffer, whichever strerror_r libc has. */
const char *sessnap__strerror_r(int err, char *buf, size_t len);
/*
 * Put context in front of the current message: "<context>: <message>".
 * A caller that adds what it knows (the file, the step) to a callee's
 * failure uses this instead of a buffer of its own; returns code.
 */
int sessnap__error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * PROTECT_ERRNO keeps errno across the rest of the enclosing block: the
 * cleanup of a failure (close, unlink) must not overwrite the errno the
 * caller reports.  Write it first in a block of its own:
 *
 *	{
 *		PROTECT_ERRNO;
 *		SYS(close)(fd);
 *	}
 */
static inline void sessnap__errno_restore(const int *saved)
{
	errno = *saved;
}
#define PROTECT_ERRNO                                                          \
	const int sessnap__saved_errno                                         \
	    __attribute__((cleanup(sessnap__errno_restore), unused)) = errno

/* ---- Clocks (clock.c) -------------------------------------------------- */

/* Milliseconds since the epoch, UTC (CLOCK_REALTIME). */
int64_t sessnap__now_ms(void);
/* Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t sessnap__mono_ms(void);

/* ---- Log (log.c) ------------------------------------------------------- */

/* Log through the store's callback (no-op without one); keeps errno. */
void sessnap__log(const sessnap_store *store, sessnap_log_level level,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- Names and time (store.c) --------------------------------------------- */

bool sessnap__app_valid(const char *app);
bool sessnap__id_valid(const char *id);

/* ---- Claims and the fence (claim.c) -------------------------------------- */

/* A claim record: who took over session `id`, and as which session. */
typedef struct {
	char id[SESSNAP_ID_LEN + 1]; /* the claimed session */
	/* The adoptions of the session line it starts (the claimed
	 * session's, plus one); at least 1. */
	uint64_t generation;
	char successor[SESSNAP_ID_LEN + 1]; /* the session that goes on */
	sessnap_owner owner; /* who claimed: host, boot id, pid */
	int64_t claimed_ms; /* wall clock of the claimant */
} sessnap__claim;

/*
 * Claim c->id for c->successor: link(2) of a temporary file onto
 * <id>.claim, confirmed by its link count.  Returns 0 when the claim is
 * ours, SESSNAP_EFENCED when another claimant was first (the message
 * names it), SESSNAP_EDURABILITY when won but the directory's sync
 * failed, or another error: the claim is not ours, except when *unsure is
 * set (the link was tried and its outcome cannot be read back).
 */
int sessnap__claim_take(sessnap_store *store, const sessnap__claim *c,
			bool *unsure);
/*
 * Read <id>.claim (bounded, O_NOFOLLOW): 1 with *out filled, 0 when there
 * is none, SESSNAP_ECORRUPT for a file that is not a record of this id,
 * SESSNAP_EUNSAFE for a name that is not a regular file, or a read error.
 */
int sessnap__claim_read(sessnap__claim *out, sessnap_store *store,
			const char *id);
/*
 * The fence every commit of session `id` calls before it renames: 0 when
 * the session has no claim, SESSNAP_EFENCED (the message names the
 * session, the claim file and who holds it) when another host took it
 * over, or an error of the lstat.  `generation` is the holder's, for the
 * message.
 */
int sessnap__fence_check(sessnap_store *store, const char *id,
			 uint64_t generation);

/* ---- Liveness (liveness.c) ------------------------------------------------ */

/* Fill the calling process's owner record. */
void sessnap__owner_self(sessnap_owner *out);
/*
 * Take <id>.lock exclusively without waiting (creating it 0600).
 * Returns 0 with *fd set, SESSNAP_EBUSY when another process holds it,
 * SESSNAP_EUNSAFE when <id>.lock is not a regular file (a FIFO, socket,
 * directory or symlink: it is left as it is), or another error.
 */
int sessnap__lock_take(int *fd, sessnap_store *store, const char *id);
/* The same without creating it: SESSNAP_ENOTFOUND when it is absent. */
int sessnap__lock_take_existing(int *fd, sessnap_store *store,
				const char *id);
/*
 * The store gate (liveness.c): a flock on the store directory, shared
 * around an adopter's lock_take, exclusive around the cleaner's removal of
 * a session that has no lock file.  gate_open opens a private descriptor
 * of the store directory; gate_lock takes LOCK_SH or LOCK_EX, retrying a
 * busy gate for up to SESSNAP__GATE_WAIT_MS before SESSNAP_EBUSY;
 * gate_unlock releases it (closing the descriptor does too).
 */
#define SESSNAP__GATE_WAIT_MS 2000
int sessnap__gate_open(int *fd, sessnap_store *store);
int sessnap__gate_lock(int fd, sessnap_store *store, int how);
void sessnap__gate_unlock(int fd);
/*
 * Probe <id>.lock: 1 when a live process holds it, 0 when it is free or
 * absent, SESSNAP__LOCK_NOT_REGULAR when it cannot be opened because it
 * is not a regular file (a socket, a symlink), negative on error.
 */
#define SESSNAP__LOCK_NOT_REGULAR 2
int sessnap__lock_probe(sessnap_store *store, const char *id);
/*
 * True when `owner` was recorded on another host than `self` (an empty
 * host, from an old writer, counts as ours).  Locks on another host are
 * invisible here, so such a session is never called crashed.  The one
 * rule for "is this host foreign?": the scanner, adopt and the cleaner
 * all ask it.
 */
bool sessnap__owner_foreign(const sessnap_owner *owner,
			    const sessnap_owner *self);

/* ---- Words (words.c; words.h) ------------------------------------------ */

/* The words for an age and a size (words.c, shared with the CLI). */
#include "words.h"

/* ---- Format (format.c) ---------------------------------------------------- */

#define SESSNAP__FORMAT_NAME "sessnap"
/*
 * The format version of a plain snapshot (header, payload): every plain
 * file is written as version 1, as before the delta layout existed; a
 * delta snapshot is version 2 (SESSNAP_FORMAT_VERSION, delta.c).
 */
#define SESSNAP__FORMAT_PLAIN 1
#define SESSNAP__FORMAT_DELTA 2
/* The read bound of a store whose options leave it 0 (store.c). */
#define SESSNAP__DEFAULT_READ_BOUND ((size_t)256 << 20)
/* Longest header line a reader accepts, newline included. */
#define SESSNAP__HEADER_MAX 4096
/* How a payload is serialized: json-c's plain form, '/' left as it is. */
#define SESSNAP__PAYLOAD_FLAGS                                                \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* "xxh3-128:" + 32 hex digits */
#define SESSNAP__CHECKSUM_LEN 41
/*
 * Deepest JSON nesting the loader accepts, and so the deepest that update()
 * accepts for saving: json-c's tokener depth, under which a value may sit
 * inside at most SESSNAP__JSON_DEPTH - 1 arrays or objects.  The loader
 * passes it to json_tokener_new_ex(); sessnap__json_depth_ok() applies the
 * same rule to a state before it is saved.
 */
#define SESSNAP__JSON_DEPTH 1024

/* A commit slot of a delta snapshot (delta.c). */
typedef struct {
	uint64_t seq;
	int64_t saved_ms;
	uint64_t at; /* the record's offset in the record area */
	uint64_t length; /* the record's bytes */
	uint64_t size; /* the state's bytes, decompressed */
	char checksum[SESSNAP__CHECKSUM_LEN + 1]; /* of the record's bytes */
} sessnap__slot;

/* How a delta snapshot's base is stored ("base_codec"). */
#define SESSNAP__CODEC_NONE 0
#define SESSNAP__CODEC_ZSTD 1

typedef struct {
	uint32_t format_version;
	char app[SESSNAP_APP_MAX + 1];
	char id[SESSNAP_ID_LEN + 1];
	char label[SESSNAP_LABEL_MAX + 1];
	/* The key: key_len bytes (key[key_len] is '\0'); "key" on disk when
	 * sessnap__key_plain(), else "key_hex" (format.c). */
	unsigned char key[SESSNAP_KEY_MAX + 1];
	size_t key_len;
	uint64_t seq;
	int64_t created_ms;
	int64_t saved_ms;
	bool completed;
	uint32_t adoptions;
	sessnap_owner owner;
	uint32_t schema_version;
	uint64_t length;
	char checksum[SESSNAP__CHECKSUM_LEN + 1];
	/*
	 * Format version 2, the delta layout (delta.c); 0 in a plain file.
	 * On disk: "layout", "base_codec", "base_size" and "area".  length
	 * and checksum are then those of the base as stored.
	 */
	uint32_t layout; /* SESSNAP_LAYOUT_PLAIN or SESSNAP_LAYOUT_DELTA */
	uint32_t base_codec; /* SESSNAP__CODEC_* */
	uint64_t base_size; /* the base's bytes, uncompressed */
	uint64_t area; /* the record area's bytes */
	/*
	 * Not on the header line: what a reader of a delta file found in
	 * its slots (sessnap__header_read() and the whole-file readers).
	 * seq and saved_ms above are then the newest commit's, base_seq and
	 * base_saved_ms the base's own; slot is the newest self-checked slot
	 * (-1: none, the base is the newest commit) and rec its content.
	 */
	uint64_t base_seq;
	int64_t base_saved_ms;
	int slot;
	sessnap__slot rec;
	/* Set by sessnap__delta_decode(): a slot newer than the commit
	 * used was refused for its record, and why. */
	bool skipped;
	uint64_t skipped_seq;
	char skipped_why[128];
	/* The lease of a lock record ("lease_ms", "renewals"): 0 when the
	 * record carries none, and always 0 in a snapshot (lease.c). */
	uint32_t lease_ms;
	uint64_t renewals;
} sessnap__header;

/*
 * Whether the loader could parse `state` back: no value in it lies inside
 * more than SESSNAP__JSON_DEPTH - 1 arrays or objects.  Walks the
 * containers only, and stops at the limit (so a cycle is refused, not
 * followed).  Sets *depth to the depth found: that of the deepest value,
 * or SESSNAP__JSON_DEPTH when the limit was reached.
 */
bool sessnap__json_depth_ok(const json_object *state, int *depth);

/* The payload checksum: "xxh3-128:<32 hex digits>". */
void sessnap__checksum(char out[SESSNAP__CHECKSUM_LEN + 1], const void *data,
		       size_t len);
/* The same, from an XXH3-128 hash of the payload already computed. */
void sessnap__checksum_of_hash(char out[SESSNAP__CHECKSUM_LEN + 1],
			       XXH128_hash_t h);
/*
 * Whether a key is written as the JSON string "key" (valid UTF-8 with no
 * control byte, no DEL and no NUL: at most two bytes on the line per byte
 * of key, and readable by people), rather than as "key_hex".
 */
/*
 * Decode the value of "key_hex" (s[0..len): lowercase hex digits, two per
 * byte, 1 to SESSNAP_KEY_MAX bytes) into out (NUL-terminated) and
 * *out_len.  False when it is not such a value.
 */
bool sessnap__key_from_hex(unsigned char out[SESSNAP_KEY_MAX + 1],
			   size_t *out_len, const char *s, size_t len);

/*
 * Serialize a header line (newline included) into a malloc'd buffer.
 * Returns 0 or SESSNAP_ENOMEM.
 */
int sessnap__header_format(char **out, size_t *out_len,
			   const sessnap__header *h);
/*
 * Parse a header line (without or with its newline).  Returns 0,
 * SESSNAP_ENEWER (format_version is set), or SESSNAP_ECORRUPT, with the
 * reason in the thread-local message.
 */
int sessnap__header_parse(sessnap__header *out, const char *line, size_t len);
/*
 * The two parsers behind sessnap__header_parse(), exposed for the
 * differential fuzzer and the tests.  The json-c one is the reference and
 * returns what sessnap__header_parse() documents.  The fast one (header.c)
 * allocates nothing and either decides as the reference would (0 or
 * SESSNAP_ENEWER, same fields, same message) or returns
 * SESSNAP__HEADER_DEFERRED (positive) and leaves *out zeroed: it never
 * refuses a line itself.
 */
#define SESSNAP__HEADER_DEFERRED 1
int sessnap__header_parse_json(sessnap__header *out, const char *line,
			       size_t len);
int sessnap__header_parse_fast(sessnap__header *out, const char *line,
			       size_t len);
/*
 * Write the lock record of a session into its lock file `fd`, which it
 * holds (liveness.c): a header line of seq 0 with an empty payload
 * (owner, key, label, created time), so a scan can list the session as
 * running before its first save.  With a lease (h->lease_ms > 0) the
 * line is padded with spaces to a length that no renewal counter
 * changes, so each renewal rewrites it in place with one pwrite at
 * offset 0.  `truncate` cuts the file to the record afterwards (an
 * adopter's lock file holds the crashed owner's record).  Not synced: it
 * describes a live process, and after a power cut nobody holds the lock.
 * Returns 0 or an error (message set); the caller treats a failure as a
 * missing record.
 */
int sessnap__lock_record_write(sessnap_store *store, int fd,
			       const sessnap__header *h, bool truncate);
/* "xxh3-128:" followed by 32 lowercase hex digits, and nothing more. */
bool sessnap__checksum_valid(const char *s);
/*
 * The steps of reading a snapshot held in memory, shared with snapfile.c.
 * Each returns 0 or a code, with the reason (no file name: the caller
 * adds it) in the thread-local message: header_of finds the header line in
 * the first bytes of a file (*hlen: its length, newline included) and
 * parses it; check_size checks the file's size against the header's
 * length; verify checks a whole snapshot (header, size, checksum) and
 * sets *off to the payload; parse_payload parses `len` bytes of payload
 * followed by their newline into a new reference.
 */
int sessnap__header_of(sessnap__header *out, size_t *hlen, const char *buf,
		       size_t len);
int sessnap__check_size(const sessnap__header *h, size_t hlen, uint64_t size);
int sessnap__verify(sessnap__header *hdr, size_t *off, const char *buf,
		    size_t len);
int sessnap__parse_payload(json_object **state, const char *p, size_t len);
/* Parse a complete snapshot held in memory (the fuzzers' entry point). */
int sessnap__snapshot_parse(json_object **state, sessnap__header *hdr,
			    const char *buf, size_t len);

/* ---- The delta layout, pure (delta.c) ---------------------------------- */

/*
 * A delta snapshot: the header line (H bytes, newline included), two
 * commit slots of SESSNAP__SLOT_LEN bytes each at H, the base (`length`
 * bytes and a newline) at H + SESSNAP__SLOTS_LEN, then the record area of
 * `area` bytes.  docs/format.md specifies it; design.md says why.
 */
#define SESSNAP__SLOT_LEN 512
#define SESSNAP__SLOTS_LEN (2 * SESSNAP__SLOT_LEN)

/* Where the base and the record area start, for a header of hlen bytes. */
static inline uint64_t sessnap__delta_base_off(size_t hlen)
{
	return (uint64_t)hlen + SESSNAP__SLOTS_LEN;
}
static inline uint64_t sessnap__delta_area_off(const sessnap__header *h,
					       size_t hlen)
{
	return sessnap__delta_base_off(hlen) + h->length + 1;
}

/*
 * Encode a slot: one line of JSON padded with spaces to
 * SESSNAP__SLOT_LEN - 1 bytes and a newline, its last field "self" the
 * XXH3-64 of the bytes before `,"self":`.  An unused slot is
 * SESSNAP__SLOT_LEN - 1 spaces and a newline (sessnap__slot_blank()).
 */
void sessnap__slot_format(char out[SESSNAP__SLOT_LEN], const sessnap__slot *s);
void sessnap__slot_blank(char out[SESSNAP__SLOT_LEN]);
/*
 * Parse one slot.  Returns 0, 1 for an unused slot, or SESSNAP_ECORRUPT
 * with the reason (a torn or garbled slot: the reader ignores it).
 */
int sessnap__slot_parse(sessnap__slot *out, const char *buf);
/*
 * The newest usable slot of the two in slots[0..SESSNAP__SLOTS_LEN) of a
 * delta file whose header is h: self-checked, with a seq above the base's
 * and a record inside the area.  skip (-1 for none) is a slot index not
 * to consider (the loader's fallback).  Returns its index with *out set,
 * or -1.
 */
int sessnap__slots_newest(sessnap__slot *out, const char *slots,
			  const sessnap__header *h, int skip);
/*
 * Decode the current state of a delta snapshot held in memory, already
 * checked by sessnap__verify() (hlen: its header line's length): the base
 * (decompressed when stored with zstd), then the record of the newest
 * slot whose record checksum holds and that decompresses to exactly its
 * `size`, else the other slot's, else the base itself.  No state larger
 * than `max` bytes is allocated.  On success *out is a malloc'd copy of
 * the state followed by "\n" and a NUL, *out_len its length, and hdr
 * describes the commit used: seq and saved_ms, slot and rec, and length
 * and checksum those of the state (so that a caller compares two reads
 * by checksum whatever the layout).  Returns 0, SESSNAP_ECORRUPT (the base
 * itself is unusable), SESSNAP_ETOOBIG or SESSNAP_ENOMEM.
 */
int sessnap__delta_decode(char **out, size_t *out_len, sessnap__header *hdr,
			  const char *buf, size_t len, size_t hlen, size_t max,
			  sessnap_store *store);
/*
 * The decompression context that sessnap__delta_decode() keeps in
 * `store` between loads (a NULL store: a context for this decode only).
 * Freed by sessnap_store_close() through this call.
 */
void sessnap__delta_cache_free(sessnap_store *store);

/*
 * The writer's side of the codec: one per session of a delta store,
 * created at a compaction for the new base and reused by every append.
 * It holds the base (a copy, referenced by the dictionary), the zstd
 * dictionary built from it once, and one compression context.
 */
typedef struct sessnap__delta_codec sessnap__delta_codec;
/* Returns 0 or SESSNAP_ENOMEM; the base is copied. */
int sessnap__delta_codec_new(sessnap__delta_codec **out, const char *base,
			     size_t len);
void sessnap__delta_codec_free(sessnap__delta_codec *c);
/*
 * Compress state as a record against the codec's base into dst (at most
 * cap bytes).  Returns 0 with *out_len set, 1 when the record would not
 * fit in cap bytes, or SESSNAP_ENOMEM / SESSNAP_EIO (a zstd failure,
 * message set).
 */
int sessnap__delta_compress(sessnap__delta_codec *c, char *dst, size_t cap,
			    size_t *out_len, const char *state, size_t len);
/*
 * Bytes of the last state compressed that zstd searched for matches: the
 * stretch between the last record's matches that still held (deltaseq.c),
 * or all of it when compressed whole.  For the tests and the benchmarks'
 * reasoning; no decision depends on it.
 */
size_t sessnap__delta_codec_searched(const sessnap__delta_codec *c);
/*
 * Compress a base with zstd (base_codec "zstd"): *out malloc'd.  Returns
 * 0, SESSNAP_ENOMEM or SESSNAP_EIO.
 */
int sessnap__delta_base_compress(char **out, size_t *out_len,
				 const char *base, size_t len);

/* ---- The snapshot file (snapfile.c) ----------------------------------- */

/*
 * Open a store file read-only to look at it (O_NOFOLLOW, O_NONBLOCK,
 * O_NOATIME when allowed).  Returns the descriptor, or -1 with errno set.
 */
int sessnap__open_look(sessnap_store *store, const char *name);
/*
 * Read and parse the header of snapshot file `name` in the store with one
 * bounded read.  This and sessnap__snapshot_read_raw() give every session
 * file its one verdict (snapfile.c, "The one verdict on a session file"): a
 * name that is not a regular file (symlink, FIFO, directory, socket,
 * device) is SESSNAP_ECORRUPT "is not a regular file (...)" with `st`
 * from lstat, so !S_ISREG(st->st_mode) tells it apart; a header whose id
 * is not the one in `name` is SESSNAP_ECORRUPT; the file size must match
 * the header.  `st` (may be NULL) receives the file's stat, zeroed when
 * the file does not exist or could not be looked at.  Returns 0,
 * SESSNAP_ENOTFOUND, SESSNAP_ENEWER, SESSNAP_ECORRUPT (the message says what
 * is wrong, without the file's name) or a system error (its message names
 * the file).
 */
int sessnap__header_read(sessnap__header *out, struct stat *st,
			 sessnap_store *store, const char *name);
/* Whether a file of this size is over the store's read bound: its state
 * is refused with SESSNAP_ETOOBIG, never called corrupt. */
bool sessnap__too_big(const sessnap_store *store, const struct stat *st);
/*
 * The largest payload whose snapshot file is sure to fit the read bound:
 * the file is a header line (at most SESSNAP__HEADER_MAX bytes, whatever
 * the label becomes before the save), the payload and a newline; and at
 * most what json-c's tokener takes (INT32_MAX - 2 bytes).  What update()
 * and update_text() accept, so that nothing saved is refused when loaded.
 */
size_t sessnap__payload_max(const sessnap_store *store);
/*
 * Read a whole snapshot file, verify it and parse its payload.  Returns 0
 * with *state a new reference, or an error as sessnap__header_read() plus
 * SESSNAP_ETOOBIG.
 */
int sessnap__snapshot_read(json_object **state, sessnap__header *hdr,
			   sessnap_store *store, const char *name);
/*
 * Read and verify a whole snapshot file without parsing its payload:
 * *out receives the malloc'd file, *payload_off where the payload starts.
 */
int sessnap__snapshot_read_raw(char **out, size_t *out_len,
			       sessnap__header *hdr, size_t *payload_off,
			       sessnap_store *store, const char *name);

/* ---- The delta file (deltafile.c) -------------------------------------- */

/*
 * A session's open delta snapshot (deltafile.c): owned by whoever holds
 * the session's `saving`, freed with the session.
 */
typedef struct sessnap__delta sessnap__delta;
/*
 * Save one state of a session of a delta store: append it as a record
 * with one flush when the open file allows it, else compact (write a new
 * file whose base is this state, through sessnap__atomic_replace()).  h
 * is the header of the save (seq, saved, label, completed, owner...,
 * and length and checksum those of the state: a compaction's uncompressed
 * base takes them as they are); payload[0..len) the state.  *committed as sessnap__atomic_replace()'s:
 * whether a reader now sees the new state.  Returns 0 or an error with
 * the message set; after any failed write or flush the open file is
 * dropped and never written again.
 */
int sessnap__delta_save(sessnap__delta **dp, sessnap_store *store,
			const sessnap__header *h, const char *payload,
			size_t len, bool *committed);
void sessnap__delta_free(sessnap__delta *d);
/* Appends per base at most: the next save compacts (deltafile.c). */
#define SESSNAP__DELTA_RECORDS_MAX 1000
/* What the tests look at: appends since the base, and the open fd. */
unsigned int sessnap__delta_records(const sessnap__delta *d);
int sessnap__delta_fd(const sessnap__delta *d);

/* ---- Leases (lease.c) ------------------------------------------------------
 *
 * A running session on a shared store renews a lease in its lock record
 * every store->lease_ms; another host judges it by the lock file's mtime
 * against the mtime of a file it has just touched in the same store (the
 * file server's clock, never the local one).  See lease.c.
 */

/* The default lease period, and the margin added to 3 periods before a
 * lease is expired. */
#define SESSNAP__LEASE_DEFAULT_MS 10000u
#define SESSNAP__LEASE_MARGIN_MS 2000
/* The shortest period accepted (tests use short ones). */
#define SESSNAP__LEASE_MIN_MS 10u

/*
 * Decide at open whether the store's sessions renew leases: on with
 * SESSNAP_STORE_SHARED, off with SESSNAP_STORE_LOCAL, else on when the
 * store directory is on a network file system (fstatfs; a failure counts
 * as local).  Sets store->lease_ms to the period (0 = default), or to 0
 * for "off".  store.c has refused both flags together and a period
 * under SESSNAP__LEASE_MIN_MS.
 */
void sessnap__lease_mode(sessnap_store *store, uint32_t period_ms);
/* Whether the file system of fstatfs' f_type is a network one. */
bool sessnap__lease_fs_shared(int64_t f_type);
/* How old a lease of this period may be and still be fresh. */
int64_t sessnap__lease_expiry_ms(uint32_t period_ms);

/* What a lock file says of its lease (sessnap__lease_look()). */
typedef struct {
	uint32_t period_ms; /* 0: no lease (no record, torn, older writer) */
	uint64_t renewals;
	sessnap_owner owner; /* of the record */
	int64_t mtime_ms;    /* the lock file's mtime: the file server's */
	int64_t age_ms;      /* clock now minus mtime_ms (>= 0); -1 unknown */
} sessnap__lease;

/*
 * The file server's clock now, in ms since the epoch: the mtime of this
 * host's clock file (.sessnap-clock.<16 hex digits of the host name's
 * hash>, names.c) right after futimens(fd, NULL) set it, which NFS does
 * with the server's time.  *clock_ms is a cache: when >= 0 it is used as
 * it is, else it is filled.  Returns 0 or an error naming the file.
 */
int sessnap__lease_clock(int64_t *clock_ms, sessnap_store *store);
/*
 * Read session `id`'s lock record for its lease.  Returns 0 with *out
 * filled (out->period_ms 0 when there is none: missing lock file, no or
 * torn record, no lease), or a system error.  out->age_ms is -1: see
 * sessnap__lease_judge().
 */
int sessnap__lease_look(sessnap__lease *out, sessnap_store *store,
			const char *id);

/* sessnap__lease_judge() */
#define SESSNAP__LEASE_NONE 0	 /* no lease to judge by */
#define SESSNAP__LEASE_FRESH 1	 /* renewed within the expiry */
#define SESSNAP__LEASE_EXPIRED 2 /* older than the expiry: owner gone */
#define SESSNAP__LEASE_UNKNOWN 3 /* a lease, but the clock is unreadable */
/*
 * The cross-host rule.  `owner` wrote session `id`'s newest header and is
 * not this process's host incarnation (sessnap__lease_applies()): its
 * lock record's lease (read into *out) is fresh, expired, absent or of
 * unknown age.  *clock_ms caches the server clock (-1: not read yet), so
 * a scan reads it once.  Returns one of SESSNAP__LEASE_*, or a negative
 * error of the lock file (the clock's failure gives _UNKNOWN and logs).
 */
int sessnap__lease_judge(sessnap__lease *out, sessnap_store *store,
			 const char *id, int64_t *clock_ms);
/*
 * Whether a session whose lock is free here is judged by its lease:
 * written on another host (sessnap__owner_foreign()), or, on a store
 * with leases, by this host name in another boot (another machine that
 * has the same name, or our own previous boot).  Never on a store opened
 * with SESSNAP_STORE_LOCAL.
 */
bool sessnap__lease_applies(const sessnap_store *store,
			    const sessnap_owner *owner);
/*
 * The one verdict of a session whose lock is free here and which did not
 * complete, written last by `owner`: SESSNAP_VERDICT_CRASHED (this host
 * and boot: the flock rule; or its lease expired), SESSNAP_VERDICT_RUNNING
 * (a fresh lease), SESSNAP_VERDICT_FOREIGN (another host and no lease,
 * or a lease of unknown age), or a negative error of the lock file.  *out
 * receives the lease seen (period 0 and age -1 when none was looked at);
 * *clock_ms as in sessnap__lease_judge().  The scanner, the cleaner and
 * adopt all ask it.
 */
int sessnap__lease_verdict(sessnap__lease *out, sessnap_store *store,
			   const char *id, const sessnap_owner *owner,
			   int64_t *clock_ms);
/*
 * Renew the lease of one session now: bump the renewal counter of its
 * record, rewrite it in place and set the lock file's mtime
 * (futimens(fd, NULL)).  `h` is the session's record, `fd` its lock file.
 * Returns 0 or an error naming the lock file.
 */
int sessnap__lease_renew(sessnap_store *store, int fd, sessnap__header *h);

/* ---- Scanner (scan.c) ------------------------------------------------------ */

/*
 * sessnap_store_scan() on `threads` threads: 0, what sessnap_store_scan()
 * passes, decides by the number of sessions and of CPUs; another count (at most
 * 8) is used whatever the store's size, which is how the test suite runs the
 * threaded path on any machine.
 */
int sessnap__scan(sessnap_info ***out, size_t *out_count, sessnap_store *store,
		  unsigned int flags, unsigned int threads);

/* ---- Generations (generations.c) ----------------------------------------- */

/*
 * The highest seq in the usable headers of a session's generations, or
 * `floor` when it is higher.
 */
uint64_t sessnap__generations_max_seq(sessnap_store *store, const char *id,
				      uint64_t floor);

/* ---- Atomic replace (atomic.c) -------------------------------------------- */

typedef struct {
	const void *base;
	size_t len;
} sessnap__buf;

/*
 * Replace file `name` in the store directory with the concatenation of
 * bufs, atomically and with the given durability, keeping the previous
 * content as `prev_name` when prev_name is not NULL.  On failure the temp
 * file is gone and `name` is untouched.  *committed says whether the new
 * content was renamed into place (it may be set while an error is returned:
 * SESSNAP_EDURABILITY).
 *
 * The file that the save unlinked (the generation before `prev_name`'s)
 * is held open across the rename and handed to the store's closer once the
 * save is durable, so that the kernel frees it off the saving thread
 * (closer.c).
 */
int sessnap__atomic_replace(sessnap_store *store, const char *name,
			    const char *prev_name, const sessnap__buf *bufs,
			    size_t nbufs, sessnap_durability durability,
			    bool *committed);
/*
 * The same, `how` a set of SESSNAP__REPLACE_*: IN_PLACE for a file whose
 * blocks will be overwritten in place (a delta file), which asks the file
 * system not to copy them on write (sys.c's in_place; btrfs).
 */
#define SESSNAP__REPLACE_IN_PLACE 1u
int sessnap__atomic_replace_how(sessnap_store *store, const char *name,
				const char *prev_name,
				const sessnap__buf *bufs, size_t nbufs,
				sessnap_durability durability,
				unsigned int how, bool *committed);

/* ---- Store (store.c) ------------------------------------------------------ */

/* ---- Deferred close (closer.c) ----------------------------------------- */

/* How many unlinked files a store's closer may hold for closing. */
#define SESSNAP__CLOSER_MAX 64

/* Guarded by the store's mu; see closer.c. */
struct sessnap__closer {
	pthread_t thread;
	pthread_cond_t cond; /* queued, closed, stop: every change */
	int fds[SESSNAP__CLOSER_MAX];
	unsigned int head, tail; /* head: next free slot; tail: next close */
	unsigned int closing; /* taken off the queue, being closed */
	bool started, failed, stop;
};

struct sessnap_store {
	char *path;
	int dfd;
	char app[SESSNAP_APP_MAX + 1];
	sessnap_store_options opts;
	sessnap_durability durability;
	unsigned int interval_ms;
	size_t read_bound;
	unsigned int generations; /* older ones kept: 1 to _GENERATIONS_MAX */
	sessnap_owner self;

	/* Guards the session list and the fields of sessions marked
	 * "guarded by store->mu" below. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct sessnap_session *sessions;

	/* Writer thread state (writer.c). */
	bool writer_running;
	bool writer_stop;
	pthread_t writer;
	pthread_cond_t writer_cond; /* wakes the writer (CLOCK_MONOTONIC) */
	bool writer_sleeping; /* waiting on writer_cond until writer_wake_at */
	int64_t writer_wake_at; /* monotonic ms; INT64_MAX: no deadline */
	/* Closes the files that saves and the cleaner unlinked (closer.c). */
	struct sessnap__closer closer;
	struct sessnap_store *fork_next; /* guarded by the fork registry */
	unsigned int retry_max_ms; /* cap of the retry backoff */
	uint64_t dispatch_round; /* sessnap_store_dispatch() rounds */
	pid_t pid; /* the process that opened the store */
	/* The lease period of this store's sessions in ms; 0: leases off
	 * (lease.c, sessnap__lease_mode()). */
	uint32_t lease_ms;
	/* A zstd decompression context kept between loads of delta files;
	 * a load takes it with an atomic exchange and puts it back
	 * (delta.c, "The save's CPU and the load's CPU" in design.md). */
	_Atomic(struct ZSTD_DCtx_s *) dctx;
};


/* ---- Sessions (session.c) ------------------------------------------------- */

struct sessnap_session {
	sessnap_store *store;
	struct sessnap_session *next; /* guarded by store->mu */
	char id[SESSNAP_ID_LEN + 1];
	int lock_fd;
	pid_t pid; /* the process that began or adopted it */
	int64_t created_ms;
	uint32_t adoptions;
	/* The app's key (begin, or the adopted header); never changes. */
	unsigned char key[SESSNAP_KEY_MAX];
	size_t key_len;

	/* Guarded by store->mu. */
	char *label;
	bool label_dirty; /* the label changed since the last save */
	char *pending; /* serialized state waiting to be written */
	bool pending_unique; /* by json-c: no member name twice (patch.c) */
	size_t pending_len;
	size_t pending_cap; /* allocated size of pending */
	char *spare; /* a written state's buffer, reused by the next update */
	size_t spare_cap;
	bool has_pending;
	uint64_t gen_queued; /* bumped by every update */
	uint64_t gen_durable; /* the generation last made durable */
	int64_t dirty_since_ms; /* monotonic; first unsaved update */
	int last_error;
	int64_t durable_wall_ms; /* wall clock of the newest durable save */
	bool saving; /* a save of this session is in progress */
	int64_t take_ms; /* monotonic; start of the last save attempt */
	unsigned int failures; /* consecutive failed save attempts */
	int64_t retry_at_ms; /* monotonic; no attempt before (after failure) */
	uint64_t saves; /* snapshots written */
	uint64_t skips; /* saves skipped: identical bytes */
	uint64_t seq_durable; /* copy of seq, readable under store->mu */
	char err_msg[512]; /* message of last_error */
	/* Patches (patch.c): batches queued after the pending state, in
	 * order; whether there is a state to patch; whether a batch failed
	 * since the last full update (later ones are refused); full updates
	 * so far; whether the session was ever patched. */
	struct sessnap__patch_batch *patch_head, *patch_tail;
	bool has_state;
	bool patch_broken;
	bool patch_mode;
	uint64_t full_gen;
	sessnap_collect_cb collect;
	void *collect_payload;
	uint64_t dispatch_round; /* last dispatch round that visited it */

	/* Pull mode: monotonic time of the first touch since the last
	 * collect, 0 when clean.  Lock-free: touch() is one relaxed load
	 * when already dirty. */
	_Atomic int64_t touch_since_ms;

	/* The lease (lease.c), guarded by store->mu: the record rewritten
	 * at each renewal (NULL when the store has no leases), the next
	 * renewal (monotonic), a renewal in progress (the lock file is
	 * written without the mutex; release waits for it) and the
	 * consecutive failures.  For sessnap_session_status(): the error
	 * of the last write of the lease (0 once one works) and its
	 * message, and when a write last worked (monotonic, 0: never). */
	sessnap__header *lease;
	int64_t lease_due_ms;
	bool renewing;
	unsigned int lease_failures;
	int lease_error;
	char lease_msg[512];
	int64_t lease_ok_ms;

	/* Owned by whoever holds `saving`. */
	uint64_t seq; /* sequence of the last committed snapshot */
	/* The saving thread's copy of the state, as JSON text, once patched
	 * (NUL-terminated); copy_dirty: it is not durable yet. */
	char *copy;
	size_t copy_len, copy_cap;
	bool copy_dirty;
	bool copy_unique; /* no member name twice in it (patch.c) */
	XXH128_hash_t durable_hash;
	bool has_durable;
	bool ended;
	/* The open delta snapshot (delta stores; NULL until the first
	 * save of this handle, and after a failed append). */
	sessnap__delta *delta;
	/* Another host took the session over (claim.c): every later commit
	 * is refused, even if the claim goes away. */
	bool fenced;
	char fence_msg[512];
};

/*
 * Allocate a session holding lock_fd and register it with the store (used
 * by begin and by adopt).
 */
int sessnap__session_new(sessnap_session **out, sessnap_store *store,
			 const char *id, int lock_fd, const char *label,
			 const void *key, size_t key_len);
/*
 * Write the session's lock record (begin, and an adopter on a store with
 * leases: `truncate`, since the file holds its crashed owner's record),
 * and on a store with leases keep it as the lease the writer renews
 * (session.c).  Returns 0, SESSNAP_ENOMEM (nothing written), or the
 * write's error, which the caller may ignore: the session runs, listed
 * without its record, and a lease is written whole at its next renewal.
 */
int sessnap__session_record(sessnap_session *s, bool truncate);
/*
 * The fence of every commit (claim.c, "Claims and fencing" in
 * docs/design.md): 0, or SESSNAP_EFENCED (sticky, logged once) when
 * another host took the session over.  Call it, holding `saving`, before
 * any write that commits to the session's files: the snapshot's rename,
 * the completed mark, an end's removal, a delta layout's append.  Free on
 * a store without leases.
 */
int sessnap__session_fence(sessnap_session *s);
/* Keep buf (cap bytes) as the session's spare buffer (store->mu held);
 * returns the buffer the caller must free once the mutex is dropped. */
char *sessnap__session_keep_spare(sessnap_session *s, char *buf, size_t cap);
/*
 * Load a session's state with the .prev fallback, the validate callback
 * and schema migration (load.c).  hdr (may be NULL) receives the header of
 * the generation that was used.
 */
int sessnap__load(json_object **out, sessnap_load_info *info,
		  sessnap__header *hdr, sessnap_store *store, const char *id);
/*
 * The caller's record of a load (load.c): a copy of `info` (whose label
 * and key are unused) with the label and key of `h`, all allocated here,
 * freed by sessnap_load_info_free().  Returns 0 or SESSNAP_ENOMEM, with
 * *out NULL.
 */
int sessnap__load_info_new(sessnap_load_info **out,
			   const sessnap_load_info *info,
			   const sessnap__header *h);

/*
 * Write one snapshot of `s` with the given payload (seq + 1), on the
 * calling thread.  The caller must hold s->saving (not store->mu).
 */
int sessnap__session_write(sessnap_session *s, const char *payload,
			   size_t len, bool completed);
/*
 * One save attempt, split in three so that the writer can pick a session
 * and mark it `saving` under one hold of store->mu: take (mu held) moves
 * the pending bytes into the job, write (mu not held) writes them unless
 * they equal the durable ones, finish (mu held) records the outcome, puts
 * the bytes back on failure unless a newer state arrived, and wakes
 * waiters.
 */
typedef struct {
	char *buf;
	size_t len;
	size_t cap;
	bool unique; /* buf was serialized by json-c */
	XXH128_hash_t hash;
	uint64_t gen;
	bool label_dirty;
	bool skipped;
	int64_t dirty_since_ms;
	/* Patches taken with the state: applied by write, put back by
	 * finish when they were not (a failure before); drop: batches for
	 * the caller to free; patch_rc and patch_msg: a batch that did not
	 * apply (the save went on without it). */
	struct sessnap__patch_batch *patches, *drop;
	uint64_t full_gen;
	int patch_rc;
	char patch_msg[512];
} sessnap__save_job;

void sessnap__session_take(sessnap__save_job *job, sessnap_session *s);
int sessnap__session_write_job(sessnap__save_job *job, sessnap_session *s);
/* On return job->buf is a buffer the caller frees after dropping the
 * mutex (or NULL), with sessnap__save_job_free(). */
void sessnap__session_finish(sessnap__save_job *job, sessnap_session *s,
			     int rc);
/* Free what a finished job leaves to its caller (no mutex held). */
void sessnap__save_job_free(sessnap__save_job *job);

/* ---- The validating scanner (jsoncheck.c) -------------------------------- */

/*
 * Check that text[0..len) is exactly one JSON value (RFC 8259) that the
 * loader accepts (nesting within SESSNAP__JSON_DEPTH).  Returns 0, or
 * SESSNAP_EINVAL with what is wrong and where in the message.
 */
int sessnap__json_check(const char *text, size_t len);

/*
 * sessnap__json_check() for a text that goes inside `outer` arrays or
 * objects (a patch's value under its pointer): the nesting counts them.
 */
int sessnap__json_check_under(const char *text, size_t len, size_t outer);

/* ---- Patches (patch.c) -------------------------------------------------- */

/*
 * One operation of a queued batch.  Offsets are from the start of the
 * batch, whose one allocation holds the operations, then each pointer, new
 * member name and value, NUL-terminated.  key: the pointer's last token
 * as a JSON string (json-c's escaping), for an add that creates a member.
 */
typedef struct {
	int op; /* sessnap_patch_kind */
	size_t path_off, path_len;
	size_t key_off, key_len;
	size_t value_off, value_len;
} sessnap__patch_rec;

typedef struct sessnap__patch_batch {
	struct sessnap__patch_batch *next; /* the session's queue, in order */
	size_t n_ops;
	bool text;   /* values given as text (may hold a name twice) */
	size_t used; /* bytes of the allocation */
	sessnap__patch_rec ops[];
} sessnap__patch_batch;

/*
 * Check an RFC 6901 pointer of len bytes ("" or "/" tokens, '~' only in
 * "~0" and "~1"); *tokens receives how many tokens it has.  Returns 0 or
 * SESSNAP_EINVAL with the reason.
 */
int sessnap__pointer_check(const char *ptr, size_t len, size_t *tokens);
/*
 * Build a batch from ops (json-c values) or, when ops is NULL, from tops
 * (text values), on the app's thread: every pointer, operation and value
 * checked (nesting under the pointer, size at most max_value), each value
 * and new member name serialized as update() serializes.  Returns 0 with
 * *out malloc'd, or SESSNAP_EINVAL, SESSNAP_ETOOBIG or SESSNAP_ENOMEM with
 * a message naming the operation's index, kind and pointer.
 */
int sessnap__patch_batch_new(sessnap__patch_batch **out,
			     const sessnap_patch_op *ops,
			     const sessnap_patch_text_op *tops, size_t n_ops,
			     size_t max_value);
/* Free a list of batches (NULL is fine). */
void sessnap__patch_list_free(sessnap__patch_batch *b);
/* "add", "replace", "remove". */
const char *sessnap__patch_kind_name(int op);
/*
 * Apply operation i of batch b to the JSON text *text (*len bytes, *cap
 * allocated, text[*len] a NUL that stays one), in place, growing the
 * buffer when needed.  Returns 0; SESSNAP_EPATCH when the operation does
 * not apply (the target is missing, an index is out of range or not one,
 * the result would exceed max bytes) with the cause in the message; or
 * SESSNAP_ENOMEM.  On error the text is unchanged.  unique: the text is
 * known to hold no object with a member name twice (json-c wrote it), so
 * a member's scan may stop once it is found.
 */
int sessnap__patch_apply(char **text, size_t *len, size_t *cap,
			 const sessnap__patch_batch *b, size_t i, size_t max,
			 bool unique);

/* ---- States as JSON text (text.c) ----------------------------------------- */

/*
 * The loader's hooks for the text callbacks (load.c).  text_validate:
 * 0 when validate_text is unset or accepts, 1 when it rejects, or an
 * error.  text_migrate runs migrate_text on *state (which it consumes):
 * 0 with *state the migrated state, or SESSNAP_EMIGRATE / SESSNAP_ENOMEM
 * with the message set and *state NULL.
 */
int sessnap__text_validate(sessnap_store *store, json_object *state,
			   unsigned int schema_version);
int sessnap__text_migrate(json_object **state, sessnap_store *store,
			  const char *id, unsigned int from_version);
/*
 * For sessnap_session_update_text() (session.c): the queueing of a copy of
 * len bytes, in the session's spare buffer when it is large enough.
 */
int sessnap__session_queue_copy(sessnap_session *s, const char *data,
				size_t len);

#endif /* SESSNAP_INTERNAL_H */
