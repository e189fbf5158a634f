/*
 * sessnap.h - crash-safe session snapshots for interactive programs
 *
 * A program opens a *store* (one directory per application), begins a
 * *session* for its run, and hands the library its state as a json-c value
 * whenever the state changes.  The library writes the state, durably and
 * atomically, to one snapshot file per session.  When the program starts
 * again, it scans the store for sessions that never ended cleanly and whose
 * owner is gone, and offers to restore them.
 *
 * Conventions:
 *  - Every function that can fail returns 0 on success or a negative
 *    SESSNAP_E* code.  sessnap_error_string() describes a code;
 *    sessnap_error_last() returns a thread-local message that names the
 *    file, the step and the system error of the last failure on the calling
 *    thread.
 *  - Out-parameters come first; a single one is named `out`.
 *  - Options structs carry a `version` field: initialise them with the
 *    matching *_INIT macro so that later versions of the library can grow
 *    them without breaking callers.
 *  - Handles are opaque.  A store handle may be used from several threads;
 *    a session handle belongs to one thread at a time (the library's own
 *    writer thread synchronises with it internally).
 */
#ifndef SESSNAP_H
#define SESSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SESSNAP_VERSION_MAJOR 0
#define SESSNAP_VERSION_MINOR 1
#define SESSNAP_VERSION_PATCH 0
#define SESSNAP_VERSION_STRING "0.1.0"

/**
 * The newest on-disk snapshot format version this library reads and
 * writes.  A plain snapshot is written as version 1, a snapshot of the
 * delta layout (SESSNAP_STORE_DELTA) as version 2.
 */
#define SESSNAP_FORMAT_VERSION 2

/* sessnap_info.layout: how a snapshot file is laid out. */
/** Header and state (format version 1). */
#define SESSNAP_LAYOUT_PLAIN 0
/** A base state and appended delta records (format version 2). */
#define SESSNAP_LAYOUT_DELTA 1

/** Length of a session id: 128 random bits as 32 lowercase hex digits. */
#define SESSNAP_ID_LEN 32
/** Longest application name accepted. */
#define SESSNAP_APP_MAX 64
/** Longest label stored (longer labels are truncated at a UTF-8 boundary). */
#define SESSNAP_LABEL_MAX 256
/** Longest host name recorded in a snapshot. */
#define SESSNAP_HOST_MAX 255
/**
 * Longest session key, in bytes.  A key is any bytes the app chooses (a
 * canonical path, a workspace id), stored and compared exactly; with every
 * other header field at its longest, a key of this length still fits the
 * header's read bound (see sessnap-format(5)).
 */
#define SESSNAP_KEY_MAX 512

/*
 * Error codes.  This table is append-only: a value is never removed or
 * renumbered.  It yields the enum, sessnap_error_string() and
 * sessnap_error_name(), so the three cannot drift apart.
 *
 *   X(NAME, number, description)
 */
#define SESSNAP_ERRNO_MAP(X)                                                  \
	X(OK, 0, "success")                                                   \
	X(EINVAL, -1, "invalid argument")                                     \
	X(ENOMEM, -2, "out of memory")                                        \
	X(EIO, -3, "input/output error")                                      \
	X(ENOSPC, -4, "no space left on device or quota exceeded")            \
	X(EPERM, -5, "permission denied")                                     \
	X(EUNSAFE, -6, "store directory is not safe to use")                  \
	X(ENOTFOUND, -7, "no such session")                                   \
	X(EBUSY, -8, "session is in use by a live process")                   \
	X(ECORRUPT, -9, "snapshot is corrupt")                                \
	X(ENEWER, -10, "snapshot was written by a newer format version")      \
	X(ETOOBIG, -11, "snapshot exceeds the read bound")                    \
	X(EBADNAME, -12, "invalid application name or session id")            \
	X(ESTATE, -13, "operation not valid in the current state")            \
	X(EDURABILITY, -14, "saved, but durability is unknown")               \
	X(EREJECTED, -15, "state rejected by the validation callback")        \
	X(EMIGRATE, -16, "state schema migration failed")                     \
	X(EFOREIGN, -17, "session belongs to another host")                   \
	X(ENOSTATE, -18, "session has no state yet")                          \
	X(EPENDING, -19, "work is still pending")                             \
	X(EFENCED, -20, "session was taken over by an adoption on another host") \
	X(EPATCH, -21, "a patch does not apply to the state")

typedef enum {
#define SESSNAP_ERR_ENUM_(name, num, desc) SESSNAP_##name = (num),
	SESSNAP_ERRNO_MAP(SESSNAP_ERR_ENUM_)
#undef SESSNAP_ERR_ENUM_
} sessnap_error;

/**
 * Describe an error code.
 * @param code a value returned by a sessnap function
 * @return a static string; "unknown error" for a code this library does
 *         not know
 */
const char *sessnap_error_string(int code);

/**
 * The symbolic name of an error code ("SESSNAP_EIO").
 * @param code a value returned by a sessnap function
 * @return a static string; "SESSNAP_E_UNKNOWN" for an unknown code
 */
const char *sessnap_error_name(int code);

/**
 * The detailed message of the last failure on the calling thread.
 *
 * The message names the file, the step that failed and the system error,
 * for example "fsync of /home/u/.local/state/sessnap/ed/.ab12.snap.Xq3
 * failed: Input/output error".  A successful call does not clear it.
 *
 * @return a thread-local string, valid until the next failing call on this
 *         thread; "" when no failure happened yet
 */
const char *sessnap_error_last(void);

/** The longest sessnap_error_last_short(), in bytes, without its NUL. */
#define SESSNAP_ERROR_SHORT_MAX 160

/**
 * The last failure on the calling thread in one short line, for a status
 * bar or a log line: the detailed message of sessnap_error_last() up to
 * its first "; " or ". " (the cause comes first; what the library did
 * about it and what the user may do come after, and are left out), every
 * control character (a newline in a file name) replaced by a space, and
 * cut to at most SESSNAP_ERROR_SHORT_MAX bytes on a UTF-8 character
 * boundary, ending in "..." when cut.
 *
 * @return a thread-local string, valid until the next call of this
 *         function or failing call on this thread; "" when no failure
 *         happened yet
 */
const char *sessnap_error_last_short(void);

/** How much a save waits for the disk. */
typedef enum {
	/** fsync the file and the directory (the default). */
	SESSNAP_DURABILITY_FULL = 0,
	/** fsync the file only: the rename may be lost on power failure. */
	SESSNAP_DURABILITY_FILE = 1,
	/** no fsync at all: for tests and tmpfs. */
	SESSNAP_DURABILITY_NONE = 2
} sessnap_durability;

/** Severity of a log message. */
typedef enum {
	SESSNAP_LOG_DEBUG = 0,
	SESSNAP_LOG_INFO = 1,
	SESSNAP_LOG_WARNING = 2,
	SESSNAP_LOG_ERROR = 3
} sessnap_log_level;

/**
 * Receives the library's log messages.  It may be called from the store's
 * writer thread; it must not call back into the library.
 */
typedef void (*sessnap_log_cb)(sessnap_log_level level, const char *message,
			       void *payload);

/**
 * Migrates a loaded state from an older application schema version.
 *
 * @param state in: the loaded state (owned by the library); out: the
 *        migrated state.  To replace it, put the old one and store a new
 *        reference.
 * @param from_version the schema version recorded in the snapshot
 * @param to_version the store's current schema version
 * @return 0 on success, anything else fails the load with SESSNAP_EMIGRATE
 */
typedef int (*sessnap_migrate_cb)(json_object **state,
				  unsigned int from_version,
				  unsigned int to_version, void *payload);

/**
 * Decides whether a loaded state is usable.  The loader applies it to each
 * generation in turn; a rejected main snapshot falls back to the previous
 * generation.  Example: a registry that parsed but came back empty.
 *
 * @return 0 to accept the state, anything else to reject it
 */
typedef int (*sessnap_validate_cb)(const json_object *state,
				   unsigned int schema_version, void *payload);

/**
 * The text form of sessnap_migrate_cb, for programs and bindings that hold
 * no json-c objects.  Runs when sessnap_migrate_cb is not set.
 *
 * @param state in: the loaded state as JSON text, NUL-terminated, in a
 *        malloc'd buffer owned by the library; out: the migrated state.
 *        To replace it, free() the old buffer and store a malloc'd one
 *        (its text need not be NUL-terminated) and its length in
 *        `state_len`.  The new text is checked as
 *        sessnap_session_update_text() checks its argument; text it would
 *        refuse fails the load with SESSNAP_EMIGRATE.
 * @param state_len in and out: the length of `*state` in bytes
 * @param from_version the schema version recorded in the snapshot
 * @param to_version the store's current schema version
 * @return 0 on success, anything else fails the load with SESSNAP_EMIGRATE
 */
typedef int (*sessnap_migrate_text_cb)(char **state, size_t *state_len,
				       unsigned int from_version,
				       unsigned int to_version,
				       void *payload);

/**
 * The text form of sessnap_validate_cb: decides on a loaded state given as
 * JSON text (the value the loader parsed, in json-c's plain form,
 * NUL-terminated; not necessarily the bytes on disk).  Applied after
 * sessnap_validate_cb when both are set.
 *
 * @return 0 to accept the state, anything else to reject it
 */
typedef int (*sessnap_validate_text_cb)(const char *state, size_t state_len,
					unsigned int schema_version,
					void *payload);

/* sessnap_store_options.flags */
/** Do not create the store directory; fail with ENOTFOUND if missing. */
#define SESSNAP_STORE_NOCREATE (1u << 0)
/** Start no writer thread: the app drives saves with sessnap_store_tick(). */
#define SESSNAP_STORE_NOTHREAD (1u << 1)
/** Open for reading and maintenance only: no sessions can be begun. */
#define SESSNAP_STORE_READONLY (1u << 2)
/**
 * The store is shared by several hosts: its sessions renew a lease,
 * whatever file system it is on (the default on a network file system:
 * NFS, SMB/CIFS, 9P, Ceph, AFS, FUSE, ...).  Excludes
 * SESSNAP_STORE_LOCAL.
 */
#define SESSNAP_STORE_SHARED (1u << 3)
/**
 * Only this host uses the store, even on a network file system: no
 * leases are written, and sessions of other hosts stay
 * SESSNAP_VERDICT_FOREIGN whatever their leases say.
 */
#define SESSNAP_STORE_LOCAL (1u << 4)
/**
 * Save this store's sessions in the delta layout: a base state followed
 * by records, each the new state compressed with zstd against the base,
 * so that a save writes about what changed and flushes once.  A store
 * reads both layouts whatever its flags.
 */
#define SESSNAP_STORE_DELTA (1u << 5)
/** With SESSNAP_STORE_DELTA: store each base zstd-compressed. */
#define SESSNAP_STORE_COMPRESS_BASE (1u << 6)

/** Options for sessnap_store_open(). */
typedef struct {
	unsigned int version;
	/**
	 * Store directory.  NULL: $XDG_STATE_HOME/sessnap/<app>, or
	 * ~/.local/state/sessnap/<app> when XDG_STATE_HOME is unset or not
	 * absolute.
	 */
	const char *dir;
	/** Application name: [A-Za-z0-9._-], no leading dot, at most
	 * SESSNAP_APP_MAX bytes.  Required. */
	const char *app;
	/** Durability of saves.  The environment variable SESSNAP_TEST_FSYNC=0
	 * forces SESSNAP_DURABILITY_NONE (for test suites). */
	sessnap_durability durability;
	/** Autosave interval in milliseconds; 0 means 15000. */
	unsigned int autosave_interval_ms;
	/** Largest snapshot file the loader reads; 0 means 256 MiB. */
	size_t read_bound;
	/** The application's current state schema version. */
	unsigned int schema_version;
	/** SESSNAP_STORE_* flags. */
	unsigned int flags;
	/** Optional callbacks; each receives `payload`. */
	sessnap_migrate_cb migrate;
	sessnap_validate_cb validate;
	sessnap_log_cb log;
	void *payload;
	/** Optional text forms of migrate and validate (see
	 * sessnap_store_load_text()); each receives `payload`. */
	sessnap_migrate_text_cb migrate_text;
	sessnap_validate_text_cb validate_text;
	/**
	 * How many older generations a save keeps besides the newest:
	 * 1 (the default, also for 0) keeps <id>.snap.prev; N keeps
	 * <id>.snap.prev and <id>.snap.2 to <id>.snap.N, at most
	 * SESSNAP_GENERATIONS_MAX.  Each generation above the first costs
	 * one rename per save.
	 */
	unsigned int generations;
	/**
	 * Version 2.  The lease period of the store's sessions when leases
	 * are on (SESSNAP_STORE_SHARED, or a network file system), in
	 * milliseconds; 0 means 10000, and at least 10.  Each running
	 * session rewrites its lock record once per period (one small
	 * write, no fsync); another host calls it crashed once its lease
	 * is older than 3 periods plus 2 seconds.
	 */
	unsigned int lease_period_ms;
} sessnap_store_options;

/** The most older generations a store keeps (sessnap_store_options). */
#define SESSNAP_GENERATIONS_MAX 8

#define SESSNAP_STORE_OPTIONS_VERSION 2
#define SESSNAP_STORE_OPTIONS_INIT                                            \
	{                                                                     \
		SESSNAP_STORE_OPTIONS_VERSION, NULL, NULL,                    \
		    SESSNAP_DURABILITY_FULL, 0, 0, 0, 0, NULL, NULL, NULL,    \
		    NULL, NULL, NULL, 0, 0                                    \
	}

/** An open store directory. */
typedef struct sessnap_store sessnap_store;
/** One run of an interactive program, owned by this process. */
typedef struct sessnap_session sessnap_session;

/**
 * Initialise an options struct (for callers that cannot use the macro).
 * @param opts the struct to fill
 * @param version SESSNAP_STORE_OPTIONS_VERSION
 * @return 0, or SESSNAP_EINVAL for an unknown version
 */
int sessnap_store_options_init(sessnap_store_options *opts,
			       unsigned int version);

/**
 * Open (and by default create, mode 0700) a store directory.
 *
 * Refuses a directory that is a symlink, is not a directory, is owned by
 * another user, or is writable by group or others; the error message says
 * which and how to fix it.
 *
 * @param out receives the store; close it with sessnap_store_close()
 * @param opts options; `app` is required
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_EUNSAFE,
 *         SESSNAP_ENOTFOUND (with SESSNAP_STORE_NOCREATE), SESSNAP_EPERM,
 *         SESSNAP_EIO, SESSNAP_ENOMEM
 */
int sessnap_store_open(sessnap_store **out,
		       const sessnap_store_options *opts);

/**
 * Close a store: stop its writer after it has written every pending
 * update, and free it.  Sessions still open are flushed and then released
 * without being ended (they stay "running" until the process exits, then
 * "crashed"); end them first for a clean exit.  This is also the call for
 * a program told to quit (SIGTERM, SIGHUP) while its state is unsaved
 * work: the last state is written and the session stays recoverable.
 *
 * @param store the store, or NULL
 * @return 0, or the first error met while flushing pending updates (the
 *         store is freed in every case)
 */
int sessnap_store_close(sessnap_store *store);

/**
 * The store's directory path.
 * @return a string owned by the store
 */
const char *sessnap_store_path(const sessnap_store *store);

/**
 * The application name the store was opened for.
 * @return a string owned by the store; NULL when store is NULL
 */
const char *sessnap_store_app(const sessnap_store *store);

/**
 * Compute the default store directory of an application without opening
 * it.
 * @param out receives a malloc'd path; free it with free()
 * @param app the application name
 * @return 0, SESSNAP_EBADNAME, SESSNAP_EINVAL (no HOME), SESSNAP_ENOMEM
 */
int sessnap_store_default_dir(char **out, const char *app);

/* sessnap_session_end() flags */
/** On sessnap_session_end(), keep the completed snapshot instead of
 * removing it.  Accepted there alone. */
#define SESSNAP_SESSION_KEEP (1u << 0)

/** Options for sessnap_session_begin(). */
typedef struct {
	unsigned int version;
	/** Optional human label ("notes.txt - 3 buffers"). */
	const char *label;
	/** Reserved: must be 0 (SESSNAP_EINVAL otherwise).  Keeping the
	 * snapshot is decided at sessnap_session_end(). */
	unsigned int flags;
	/**
	 * Optional key chosen by the app (version 2): `key_len` bytes, any
	 * bytes (NUL and invalid UTF-8 included), at most SESSNAP_KEY_MAX.
	 * Stored exactly as given, returned by the scan, kept by adopt and
	 * matched byte for byte by sessnap_store_scan_key() and the prompt.
	 * key_len 0: no key.  Copied at begin; the caller keeps its buffer.
	 */
	const void *key;
	size_t key_len;
} sessnap_session_options;

#define SESSNAP_SESSION_OPTIONS_VERSION 2
#define SESSNAP_SESSION_OPTIONS_INIT                                          \
	{                                                                     \
		SESSNAP_SESSION_OPTIONS_VERSION, NULL, 0, NULL, 0             \
	}

/**
 * Begin a new session: draw a random id and take its lock, which is held
 * for the whole life of the session, and write a small record (owner, key,
 * label, creation time) into the lock file, so that a scan lists the
 * session as running, with its key, from the moment begin returns.  No
 * snapshot is written until the first save.  One process may begin
 * several sessions in one store (one per open document, each with its
 * key).
 *
 * @param out receives the session
 * @param store an open store (not SESSNAP_STORE_READONLY)
 * @param opts options, or NULL for the defaults; version 1 (no key) and 2
 *        are accepted
 * @return 0, SESSNAP_EINVAL (a key longer than SESSNAP_KEY_MAX, a NULL
 *         key with a length, or flags not 0), SESSNAP_ESTATE, SESSNAP_EIO,
 *         SESSNAP_EPERM, SESSNAP_ENOSPC, SESSNAP_ENOMEM
 */
int sessnap_session_begin(sessnap_session **out, sessnap_store *store,
			  const sessnap_session_options *opts);

/**
 * The session's id (SESSNAP_ID_LEN characters).
 * @return a string owned by the session
 */
const char *sessnap_session_id(const sessnap_session *session);

/**
 * Set the session's label; it is written with the next save (flush, save
 * or autosave), even when the state did not change.
 * @param label the new label, or NULL for none
 * @return 0, SESSNAP_EINVAL, SESSNAP_ENOMEM
 */
int sessnap_session_set_label(sessnap_session *session, const char *label);

/**
 * Hand over a new state (push).  The state is serialized on the calling
 * thread (json-c objects are not thread-safe) and queued; a newer update
 * replaces a pending one.  The store's writer saves it within the autosave
 * interval.  The caller keeps its reference to `state`.
 *
 * @return 0, SESSNAP_EINVAL, SESSNAP_ESTATE (ended, or in a forked child),
 *         SESSNAP_ENOMEM, SESSNAP_ETOOBIG (the state exceeds the read bound
 *         or the loader's nesting limit: it could not be loaded back)
 */
int sessnap_session_update(sessnap_session *session,
			   const json_object *state);

/**
 * Save now: collect a touched pull-mode state, save the pending update on
 * the calling thread and wait until every update handed over so far is
 * durable.  Does nothing when all is durable already.  Freeing the older
 * generation a save replaced is left to the store's writer thread (done in
 * the call with SESSNAP_STORE_NOTHREAD), so the call returns once the
 * state is durable.
 *
 * @return 0, SESSNAP_EDURABILITY (committed, but the directory fsync
 *         failed), SESSNAP_EIO, SESSNAP_ENOSPC, SESSNAP_EPERM,
 *         SESSNAP_ESTATE, SESSNAP_ENOMEM, SESSNAP_EFENCED (another host
 *         took the session over: this and every later save is refused,
 *         and that host's files are left untouched); or the error of the
 *         writer's failed attempt at an update a newer one replaced
 *         before it was durable
 */
int sessnap_session_flush(sessnap_session *session);

/**
 * End a session cleanly: remove its files, dropping any pending update
 * unwritten (or, with SESSNAP_SESSION_KEEP, flush and keep the snapshot
 * marked completed), release the lock and free the handle.  The handle is
 * freed even when an error is returned; the files then stay on disk as a
 * crashed session, so no work is lost.
 *
 * @param session the session, or NULL
 * @param flags SESSNAP_SESSION_KEEP or 0
 * @return 0 or an error of sessnap_session_flush()
 */
int sessnap_session_end(sessnap_session *session, unsigned int flags);

/**
 * Release a session handle without ending it and without writing anything:
 * the lock is released and the session becomes "crashed" for the scanner.
 * This is what a forked child must call for the sessions it inherited.
 *
 * fork(): the child has no writer thread, and it must not write the
 * parent's sessions: there, sessnap_session_update(), _touch(), _save(),
 * _flush(), _end(), sessnap_store_dispatch() and sessnap_session_begin()
 * on the parent's store return SESSNAP_ESTATE.  The child may release the
 * inherited sessions (this does not release the parent's locks: the lock
 * belongs to the open file, which the parent still holds) and close the
 * inherited store, and it may open a store of its own.  Do not call fork()
 * from a library callback.
 */
void sessnap_session_release(sessnap_session *session);

/*
 * Autosave.  Two ways to hand over state:
 *
 *  - Push: call sessnap_session_update() whenever the state changes.  It
 *    serializes on the calling thread every time, so use it when changes
 *    are rare (a few a second at most) or the state is small (a few KiB).
 *  - Pull: call sessnap_session_touch() on every change - it costs a few
 *    nanoseconds and allocates nothing - and let the library ask for the
 *    state when a save is due: through a collect callback run from
 *    sessnap_store_dispatch() (or sessnap_store_tick()) on the app's own
 *    thread, or by asking sessnap_session_save_due() and then calling
 *    sessnap_session_update().  The state is then serialized at most once
 *    per autosave interval, however often it changes.  Use it for large
 *    states or changes on every keystroke.
 *
 * Either way, a dirty session is saved no more often than the store's
 * autosave interval and no later than one interval after its first unsaved
 * change (plus, in pull mode, the delay until the app dispatches).
 */

/**
 * Supplies the state of a session in pull mode.  Runs on the thread that
 * calls sessnap_store_dispatch(), sessnap_store_tick(),
 * sessnap_session_flush() or sessnap_session_end(); it must not end or
 * release `session`.
 *
 * @param session the session whose state is due
 * @param payload the pointer given to sessnap_session_set_collect()
 * @return a new reference to the state (the library serializes it and
 *         drops the reference), or NULL to save nothing this time (the
 *         session stays dirty and is asked again after one interval)
 */
typedef json_object *(*sessnap_collect_cb)(sessnap_session *session,
					   void *payload);

/**
 * Mark the session's state as changed (pull mode).  O(1), lock-free and
 * allocation-free: call it on every change.  The state itself is asked for
 * later, when a save is due (see sessnap_session_set_collect() and
 * sessnap_session_save_due()).
 *
 * @param session the session
 * @return 0, SESSNAP_EINVAL (NULL session), SESSNAP_ESTATE (in a forked
 *         child)
 */
int sessnap_session_touch(sessnap_session *session);

/**
 * Set the callback that supplies the session's state in pull mode.  The
 * library calls it from sessnap_store_dispatch() or sessnap_store_tick()
 * once the session has been touched and a save is due, and from
 * sessnap_session_flush() and a keeping sessnap_session_end() when it was
 * touched.
 *
 * @param session the session
 * @param collect the callback, or NULL to remove it
 * @param payload passed to the callback; owned by the caller
 * @return 0, SESSNAP_EINVAL, SESSNAP_ESTATE (ended, or in a forked child)
 */
int sessnap_session_set_collect(sessnap_session *session,
				sessnap_collect_cb collect, void *payload);

/**
 * Ask whether a save is due (pull mode without a callback): true once the
 * session was touched at least one autosave interval ago.  Hand the state
 * over with sessnap_session_update(), which clears the touch.
 *
 * @param session the session
 * @return 1 when due, 0 when not, SESSNAP_EINVAL, SESSNAP_ESTATE
 */
int sessnap_session_save_due(const sessnap_session *session);

/** What sessnap_session_status() reports. */
typedef struct {
	unsigned int version;
	/** 0, or the SESSNAP_E* code of the last save attempt. */
	int last_error;
	/** The message of last_error ("" when last_error is 0). */
	char last_message[512];
	/** 1 when a state newer than the durable one is held in memory
	 * (queued, being saved, or touched and not yet collected). */
	int pending;
	/** Consecutive failed save attempts (0 when the last one worked). */
	unsigned int failures;
	/** Milliseconds until the next retry after a failure, else 0. */
	int64_t retry_in_ms;
	/** Age in milliseconds of the newest durable state, -1 if none. */
	int64_t durable_age_ms;
	/** Sequence number of the last committed snapshot (0: none yet). */
	uint64_t seq;
	/** Snapshots written by this handle. */
	uint64_t saves;
	/** Saves skipped because the state's bytes equalled the durable
	 * ones. */
	uint64_t skips;
	/**
	 * Version 2.  0, or the SESSNAP_E* code of the last write of the
	 * session's lease (on a store with leases: its first write at begin
	 * or adoption, then each renewal); the next write that works clears
	 * it.  While renewals fail, other hosts see the lease age: once it
	 * is older than 3 periods plus 2 seconds they call the session
	 * crashed and may adopt it, and this session's later saves then
	 * fail with SESSNAP_EFENCED.
	 */
	int lease_error;
	/** The message of lease_error ("" when lease_error is 0). */
	char lease_message[512];
	/** Consecutive failed lease writes (0 when the last one worked). */
	unsigned int lease_failures;
	/** The lease period in milliseconds; 0 when the session renews no
	 * lease (a store without leases). */
	unsigned int lease_period_ms;
	/** Milliseconds since the lease was last written successfully, by
	 * this host's monotonic clock; -1 when the session has no lease or
	 * no write of it has worked yet. */
	int64_t lease_age_ms;
} sessnap_save_status;

#define SESSNAP_SAVE_STATUS_VERSION 2
#define SESSNAP_SAVE_STATUS_INIT                                              \
	{                                                                     \
		SESSNAP_SAVE_STATUS_VERSION, 0, "", 0, 0, 0, 0, 0, 0, 0, 0,   \
		    "", 0, 0, 0                                               \
	}

/**
 * Report how saving a session goes: the last error and its message, the
 * age of the newest durable state, whether newer state waits in memory.
 * Never blocks on the disk.  When the disk fails, the writer keeps the
 * newest state in memory and retries with exponential backoff (from one
 * autosave interval, doubling, capped at five minutes); this call and the
 * store's log callback are how the app learns of it.
 *
 * A failed renewal of the session's lease (a store with leases) is
 * reported in the version 2 members (lease_error and the next ones),
 * apart from the saves: the saves may work while the lease does not.
 *
 * @param out filled in; set out->version = SESSNAP_SAVE_STATUS_VERSION
 *        (or initialise with SESSNAP_SAVE_STATUS_INIT).  A caller built
 *        with version 1 gets the members of version 1 only: nothing is
 *        written past them.
 * @param session the session
 * @return 0, SESSNAP_EINVAL (NULL argument or unknown version)
 */
int sessnap_session_status(sessnap_save_status *out,
			   const sessnap_session *session);

/**
 * Run the collect callbacks of this store's sessions whose save is due, on
 * the calling thread, and queue their states for the writer.  Call it from
 * the app's event loop, when sessnap_store_next_deadline() says.
 *
 * @param store the store
 * @return the number of states collected (0 or more; a callback that
 *         returned NULL collected none), SESSNAP_EINVAL, SESSNAP_ESTATE (in
 *         a forked child), SESSNAP_ENOMEM, SESSNAP_ETOOBIG (a state exceeds
 *         the read bound or the nesting limit)
 */
int sessnap_store_dispatch(sessnap_store *store);

/**
 * How long the app's event loop may sleep before it must call
 * sessnap_store_tick() (SESSNAP_STORE_NOTHREAD) or
 * sessnap_store_dispatch() (pull mode).
 *
 * @param out_ms receives milliseconds from now (0: now), or -1 when
 *        nothing is scheduled
 * @param store the store
 * @return 0, SESSNAP_EINVAL, SESSNAP_ESTATE (in a forked child)
 */
int sessnap_store_next_deadline(int64_t *out_ms, sessnap_store *store);

/**
 * Do the writer's work on the calling thread (SESSNAP_STORE_NOTHREAD): run
 * due collect callbacks, then save every session whose save is due.  Saves
 * block on the disk; an app that must never wait uses the writer thread.
 * A failed save keeps the state in memory and is retried with backoff.
 *
 * @param store the store, opened with SESSNAP_STORE_NOTHREAD
 * @return 0, or the first error met (every due session is still tried):
 *         SESSNAP_EINVAL, SESSNAP_ESTATE (a writer thread runs, or in a
 *         forked child), an error of sessnap_session_flush()
 */
int sessnap_store_tick(sessnap_store *store);

/*
 * Classification of a session by the scanner.  One table yields the enum
 * and sessnap_verdict_name(), so the two cannot drift apart; values are
 * never renumbered.
 *
 *   X(NAME, number, name, description)
 */
#define SESSNAP_VERDICT_MAP(X)                                                 \
	X(RUNNING, 0, "running",                                               \
	  "Its lock is held by a live process, or another host's lease on "    \
	  "it is fresh.")                                                      \
	X(CRASHED, 1, "crashed",                                               \
	  "Not completed and its owner is gone: its lock is free here, or "   \
	  "another host's lease on it expired.")                               \
	X(COMPLETED, 2, "completed", "Ended cleanly and kept.")                \
	X(FOREIGN, 3, "foreign",                                               \
	  "Written on another host that renews no lease on it, where locks "   \
	  "cannot be trusted.")                                                \
	X(NEWER, 4, "newer",                                                   \
	  "Written by a newer format version than this library reads.")        \
	X(CORRUPT, 5, "corrupt", "Neither generation is valid.")

/** Classification of a session by the scanner (SESSNAP_VERDICT_MAP). */
typedef enum {
#define SESSNAP_VERDICT_ENUM_(name, num, str, desc)                            \
	SESSNAP_VERDICT_##name = (num),
	SESSNAP_VERDICT_MAP(SESSNAP_VERDICT_ENUM_)
#undef SESSNAP_VERDICT_ENUM_
} sessnap_verdict;

/**
 * The name of a status ("running", "crashed", ...).
 * @return a static string
 */
const char *sessnap_verdict_name(sessnap_verdict status);

/** Who wrote a snapshot. */
typedef struct {
	int64_t pid;
	char host[SESSNAP_HOST_MAX + 1];
	/** /proc/sys/kernel/random/boot_id, or "" when unknown. */
	char boot_id[40];
	/** Process start time in clock ticks since boot, 0 when unknown. */
	uint64_t start_time;
} sessnap_owner;

/* sessnap_info.flags */
/** The main snapshot was unusable; the header came from `.prev`. */
#define SESSNAP_INFO_FROM_PREV (1u << 0)
/** A file of the session (<id>.snap, <id>.snap.prev or <id>.lock) is not
 * a regular file: the session is SESSNAP_VERDICT_CORRUPT, and nothing
 * writes, locks or removes it. */
#define SESSNAP_INFO_NOT_REGULAR (1u << 1)
/** The snapshot is larger than the store's read bound: its header is
 * valid, but sessnap_store_load() refuses its state with SESSNAP_ETOOBIG. */
#define SESSNAP_INFO_TOOBIG (1u << 2)
/** A file of the session could not be read (EIO, EACCES...): the session
 * is SESSNAP_VERDICT_CORRUPT (SESSNAP_VERDICT_RUNNING when its lock is
 * held) and the rest of the store is listed as usual. */
#define SESSNAP_INFO_UNREADABLE (1u << 3)
/** The main snapshot and `.prev` were unusable; the header came from an
 * older generation (<id>.snap.2 and up: sessnap_info.generation says
 * which). */
#define SESSNAP_INFO_FROM_OLDER (1u << 4)
/** Another host took the session over (sessnap_session_adopt() of a
 * session of another host whose lease expired): its state goes on under
 * another id, named by its claim file <id>.claim.  The session is
 * SESSNAP_VERDICT_COMPLETED: never offered again, and removed by the
 * cleaner with its claim once it is older than the crashed age. */
#define SESSNAP_INFO_TAKEN_OVER (1u << 5)

/**
 * What the scanner knows of a session (from its header only).  The library
 * allocates every record and frees it, with its label and key, in
 * sessnap_info_free(): a caller reads fields and never frees one.  Records
 * grow only at their end; `size` is sizeof(sessnap_info) as the library
 * was built, so a caller built against a newer header reads a field it
 * knows only when `offsetof(sessnap_info, field) < info->size`.
 */
typedef struct {
	/** The size of this record as the library filled it, in bytes. */
	size_t size;
	char id[SESSNAP_ID_LEN + 1];
	sessnap_verdict status;
	/** SESSNAP_INFO_* flags. */
	unsigned int flags;
	/** Label, or NULL.  Owned by the record: freed by
	 * sessnap_info_free(). */
	char *label;
	/** Milliseconds since the epoch (UTC); 0 when unknown (corrupt). */
	int64_t created_ms;
	int64_t saved_ms;
	/** Number of saves so far. */
	uint64_t seq;
	/** How many times the session was adopted after a crash. */
	uint32_t adoptions;
	/** Format version of the file (may be newer than ours). */
	uint32_t format_version;
	uint32_t schema_version;
	sessnap_owner owner;
	/** Size of the state payload and of the snapshot file, in bytes. */
	uint64_t payload_bytes;
	uint64_t file_bytes;
	/** Modification time of the file described, in milliseconds since
	 * the epoch: the age of a corrupt or newer-format session. */
	int64_t mtime_ms;
	/** The session's key (key_len bytes, followed by a NUL that is not
	 * part of it), or NULL when it has none.  Owned by the record, like
	 * `label`: freed by sessnap_info_free(). */
	unsigned char *key;
	size_t key_len;
	/** The generation described: 0 for <id>.snap, 1 for `.prev`, N for
	 * <id>.snap.N. */
	unsigned int generation;
	/**
	 * The lease of a session of another host (or of this host name in
	 * another boot), judged by the file server's clock: its age in
	 * milliseconds, -1 when none was judged (a session of this host, no
	 * lease, or an age that could not be read).
	 */
	int64_t lease_age_ms;
	/** Its period in milliseconds, 0 when there is none. */
	uint32_t lease_period_ms;
	/** Its renewal counter. */
	uint64_t lease_renewals;
	/** SESSNAP_LAYOUT_PLAIN or SESSNAP_LAYOUT_DELTA.  The fields below
	 * describe a delta snapshot (all 0 for a plain one). */
	unsigned int layout;
	/** The base's seq: seq - base_seq saves were appended since. */
	uint64_t base_seq;
	/** The base's bytes as stored, and uncompressed (equal unless
	 * base_compressed). */
	uint64_t base_stored_bytes;
	uint64_t base_bytes;
	/** 1 when the base is stored zstd-compressed. */
	unsigned int base_compressed;
	/** The record area's bytes, and the newest record's (0: the newest
	 * commit is the base itself). */
	uint64_t area_bytes;
	uint64_t record_bytes;
} sessnap_info;

/* sessnap_store_scan() flags */
/** List only the sessions a user can recover: SESSNAP_VERDICT_CRASHED
 * (without it, every session is listed). */
#define SESSNAP_SCAN_RECOVERABLE (1u << 0)

/**
 * List the store's sessions, newest first, each classified.  Reads only the
 * header of each snapshot, with a bounded read, and probes its lock: the
 * cost grows with the number of sessions, not with the size of their
 * states.  Skips temporary (dot) files, lock files without a snapshot and
 * anything not named like a snapshot.  A symlink, FIFO, directory or
 * socket named like a session's file is listed as
 * SESSNAP_VERDICT_CORRUPT with SESSNAP_INFO_NOT_REGULAR.
 *
 * Classification: a held lock makes a session SESSNAP_VERDICT_RUNNING
 * whatever its files say; otherwise a newer format version gives
 * SESSNAP_VERDICT_NEWER, no valid header in either generation
 * SESSNAP_VERDICT_CORRUPT, the completed mark SESSNAP_VERDICT_COMPLETED,
 * another host's lease (renewed in the lock file on a shared store)
 * SESSNAP_VERDICT_RUNNING while fresh and SESSNAP_VERDICT_CRASHED once
 * expired, another host without a lease SESSNAP_VERDICT_FOREIGN, and
 * anything else SESSNAP_VERDICT_CRASHED.  A lease is aged by the file
 * server's clock (a file of this host's, just touched in the store), never
 * the local one; see lease_age_ms.  Sorted by saved time (by mtime when there is no
 * usable header), newest first.
 *
 * A store of 512 sessions or more is classified by up to one thread per
 * online CPU (at most 8), started and joined within the call, with every
 * signal blocked; the result is the same as with one thread.  Safe to call
 * from several threads at once.
 *
 * @param out receives an array of pointers to records, newest first (NULL
 *        when empty); index it as (*out)[i]->field.  The library owns the
 *        records, their labels and keys; release all of it with one
 *        sessnap_info_free()
 * @param out_count receives its length
 * @param store an open store
 * @param flags SESSNAP_SCAN_RECOVERABLE, or 0 for every session
 * @return 0, SESSNAP_EINVAL, SESSNAP_EIO, SESSNAP_EPERM, SESSNAP_ENOMEM
 *         (only a failure of the store directory itself, or of the
 *         process - no memory, no descriptor left - fails the scan; a
 *         session file that cannot be read is listed with
 *         SESSNAP_INFO_UNREADABLE)
 */
int sessnap_store_scan(sessnap_info ***out, size_t *out_count,
		       sessnap_store *store, unsigned int flags);

/**
 * List the store's sessions whose key is exactly `key` (`key_len` bytes,
 * compared byte for byte; a label is never looked at), as sessnap_store_scan()
 * lists them: "the sessions of this document".  A session without a key
 * never matches.  It costs what sessnap_store_scan() costs.
 *
 * @param out receives an array of pointers to records, newest first (NULL
 *        when empty); index it as (*out)[i]->field.  The library owns the
 *        records, their labels and keys; release all of it with one
 *        sessnap_info_free()
 * @param out_count receives its length
 * @param store an open store
 * @param flags SESSNAP_SCAN_RECOVERABLE, or 0 for every matching session
 * @param key the key to match, at most SESSNAP_KEY_MAX bytes
 * @param key_len its length; must not be 0
 * @return as sessnap_store_scan(), and SESSNAP_EINVAL for a NULL or empty
 *         key or one longer than SESSNAP_KEY_MAX
 */
int sessnap_store_scan_key(sessnap_info ***out, size_t *out_count,
			   sessnap_store *store, unsigned int flags,
			   const void *key, size_t key_len);

/**
 * Free a scan result: the array, every record in it and their labels and
 * keys.  What the scan returns, this one call frees.
 * @param infos an array from sessnap_store_scan() or
 *        sessnap_store_scan_key(), or NULL
 * @param count its length
 */
void sessnap_info_free(sessnap_info **infos, size_t count);

/* sessnap_load_info.flags */
/** The state came from the previous generation (`<id>.snap.prev`). */
#define SESSNAP_LOAD_FROM_PREV (1u << 0)
/** The state was migrated from an older schema version. */
#define SESSNAP_LOAD_MIGRATED (1u << 1)
/** The state came from an older generation (<id>.snap.N, N >= 2):
 * sessnap_load_info.generation says which. */
#define SESSNAP_LOAD_FROM_OLDER (1u << 2)
/** The snapshot is of the delta layout and the record of its newest
 * commit was unusable (torn by a crash, or damaged): the state is the
 * commit before it, and `notice` says why. */
#define SESSNAP_LOAD_RECORD_SKIPPED (1u << 3)

/**
 * What a load or an adoption found.  As with sessnap_info, the library
 * allocates the record, its label and its key, and one call,
 * sessnap_load_info_free(), frees all of it; `size` is
 * sizeof(sessnap_load_info) as the library was built, and the record
 * grows only at its end.
 */
typedef struct {
	/** The size of this record as the library filled it, in bytes. */
	size_t size;
	/** SESSNAP_LOAD_* flags. */
	unsigned int flags;
	uint64_t seq;
	uint32_t schema_version;
	uint32_t adoptions;
	int64_t created_ms;
	int64_t saved_ms;
	int completed;
	sessnap_owner owner;
	/** Label, or NULL.  Owned by the record: freed by
	 * sessnap_load_info_free(). */
	char *label;
	/** When the main snapshot was skipped: why, in words. */
	char notice[512];
	/** The session's key (key_len bytes, followed by a NUL that is not
	 * part of it), or NULL when it has none.  Owned by the record, like
	 * `label`. */
	unsigned char *key;
	size_t key_len;
	/** The generation loaded: 0 for <id>.snap, 1 for `.prev`, N for
	 * <id>.snap.N (newest first by seq after the main snapshot). */
	unsigned int generation;
} sessnap_load_info;

/**
 * Load a session's state without adopting it ("peek").  Verifies the
 * checksum; on a missing, empty, truncated, corrupt or rejected main
 * snapshot falls back to the previous generation and says so in `info`.
 * Migrates an older schema through the store's migrate callback.
 *
 * @param out receives the state (a new reference: json_object_put() it)
 * @param info receives a record of what was found, allocated by the
 *        library (free it with sessnap_load_info_free()), or NULL when not
 *        wanted; *info is NULL on error
 * @param store an open store
 * @param id the session id
 * @return 0, SESSNAP_EBADNAME, SESSNAP_ENOTFOUND, SESSNAP_ECORRUPT (both
 *         generations bad; the message names both files),
 *         SESSNAP_ENEWER, SESSNAP_ETOOBIG, SESSNAP_EMIGRATE, SESSNAP_EIO,
 *         SESSNAP_ENOMEM
 */
int sessnap_store_load(json_object **out, sessnap_load_info **info,
		       sessnap_store *store, const char *id);

/**
 * Load one generation of a session, by its number, as sessnap_store_load()
 * loads the one it chooses: checksum, the validate callbacks, migration.
 * Numbering: 0 is <id>.snap (the newest), 1 <id>.snap.prev, N
 * <id>.snap.N; sessnap_store_generations() lists what exists, with the seq of
 * each.  Nothing falls back to another generation.
 *
 * @param out receives the state (a new reference: json_object_put() it)
 * @param info receives a record of what was found (`generation` is the
 *        argument), as sessnap_store_load() returns it, or NULL
 * @param store an open store
 * @param id the session id
 * @param generation 0 to SESSNAP_GENERATIONS_MAX
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_ENOTFOUND (no such
 *         generation), SESSNAP_ECORRUPT, SESSNAP_ENEWER, SESSNAP_ETOOBIG,
 *         SESSNAP_EREJECTED, SESSNAP_EMIGRATE, SESSNAP_EIO, SESSNAP_ENOMEM
 */
int sessnap_store_load_generation(json_object **out, sessnap_load_info **info,
				  sessnap_store *store, const char *id,
				  unsigned int generation);

/**
 * Free a record of what a load found: the record, its label and its key.
 * What sessnap_store_load() and the other loads return, this one call
 * frees.
 * @param info a record from sessnap_store_load(),
 *        sessnap_store_load_generation(), sessnap_store_load_text(),
 *        sessnap_session_adopt() or sessnap_session_adopt_text(), or NULL
 */
void sessnap_load_info_free(sessnap_load_info *info);

/** One generation of a session, as sessnap_store_generations() finds it. */
typedef struct {
	/** 0 for <id>.snap, 1 for `.prev`, N for <id>.snap.N. */
	unsigned int generation;
	/** The verdict: 0 when it is complete and its checksum holds, else
	 * SESSNAP_ECORRUPT, SESSNAP_ENEWER, SESSNAP_ETOOBIG (not checked:
	 * over the read bound) or a read error such as SESSNAP_EIO. */
	int verdict;
	/** Why, in words, when verdict is not 0. */
	char reason[256];
	/** From its header; 0 when the header is unusable. */
	uint64_t seq;
	int64_t saved_ms;
	/** Size of the file in bytes. */
	uint64_t file_bytes;
} sessnap_generation;

/**
 * List the generations of a session that exist on disk, newest first by
 * seq (<id>.snap first, as the loader tries it; a generation without a
 * usable header last), each with its verdict.  Reads and verifies every
 * one that is within the read bound; a file that is not a regular file is
 * SESSNAP_ECORRUPT and is never followed or blocked on.
 *
 * @param out receives an array owned by the caller; free it with
 *        sessnap_generations_free()
 * @param out_count receives its length (at least 1)
 * @param store an open store
 * @param id the session id
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_ENOTFOUND (no
 *         generation at all), SESSNAP_ENOMEM
 */
int sessnap_store_generations(sessnap_generation **out, size_t *out_count,
			      sessnap_store *store, const char *id);

/**
 * Free a list from sessnap_store_generations().
 * @param gens the array, or NULL
 */
void sessnap_generations_free(sessnap_generation *gens);

/**
 * Adopt a crashed session: take its lock (exactly one process wins), load
 * its state (as sessnap_store_load(): checksum, `.prev` fallback, validation,
 * migration), and continue it with the same id, creation time, label and
 * sequence.
 *
 * Before returning, the adoption is written: the recovered payload,
 * unchanged, with the next sequence number, this process as owner and the
 * adoption counter plus one (reset to 0 for a session that had completed).
 * The atomic replace keeps the recovered snapshot as `<id>.snap.prev`, so
 * the recovered data stays on disk until the adopter's first own save,
 * and a state that crashes the app while it is restored is counted.
 *
 * A session of another host whose lease expired (its owner may only be
 * paused) goes on under a NEW id (sessnap_session_id() of *out): its
 * state is written durably as the new session's first snapshot, then the
 * old session is claimed (<id>.claim, made by link(2) and confirmed by
 * the link count): of any number of adopters on any hosts exactly one
 * wins.  The old session is then taken over (SESSNAP_INFO_TAKEN_OVER),
 * and its former owner's saves fail with SESSNAP_EFENCED.
 *
 * @param out receives the session, owned by the caller (end or release
 *        it); NULL on error
 * @param state receives the recovered state (a new reference, owned by
 *        the caller), or NULL when not wanted
 * @param info receives a record of what was found (seq and adoptions as
 *        adopted), as sessnap_store_load() returns it, or NULL
 * @param store an open store, not SESSNAP_STORE_READONLY, opened by this
 *        process
 * @param id the session id
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_ESTATE,
 *         SESSNAP_EBUSY (another process holds it, or another host's
 *         lease on it is fresh), SESSNAP_EFOREIGN (written on another
 *         host that renews no lease on it; one whose lease expired is
 *         adopted), SESSNAP_EFENCED (taken over by another host, or
 *         another adopter claimed it first: the message names the
 *         session that goes on), SESSNAP_EUNSAFE (a file of the
 *         session is not a regular file), SESSNAP_ENOSPC or another error of
 *         the write, or an error of sessnap_store_load(); on error nothing on
 *         disk has changed and the lock is released
 */
int sessnap_session_adopt(sessnap_session **out, json_object **state,
			  sessnap_load_info **info, sessnap_store *store,
			  const char *id);

/**
 * Remove a session's files: `.prev`, the snapshot, its temporary files
 * (`.<id>.snap.*`), then its lock file last, all while holding its lock.
 * Refuses a running session.  Allowed on a read-only store.
 *
 * @param store an open store
 * @param id the session id
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_ENOTFOUND (neither
 *         generation exists; nothing is created), SESSNAP_EBUSY,
 *         SESSNAP_EUNSAFE (a file of the session is not a regular file:
 *         nothing is removed), SESSNAP_EIO, SESSNAP_EPERM
 */
int sessnap_store_discard(sessnap_store *store, const char *id);

/** What the user answered at the recovery prompt. */
typedef enum {
	/** No crashed session of this host: nothing was asked. */
	SESSNAP_PROMPT_NOTHING = 0,
	/** The user chose a session to restore; its id is in `out`. */
	SESSNAP_PROMPT_RESTORE = 1,
	/** "not now": everything kept, asked again at the next start. */
	SESSNAP_PROMPT_LATER = 2,
	/** The user discarded every crashed session. */
	SESSNAP_PROMPT_DISCARDED = 3,
	/** EOF or no terminal: the safe default, everything kept. */
	SESSNAP_PROMPT_DEFAULT = 4
} sessnap_prompt_answer;

/** Options for sessnap_prompt_run(). */
typedef struct {
	unsigned int version;
	/** Where to read answers and write the prompt; NULL: stdin/stderr. */
	FILE *in;
	FILE *out;
	/** Program name used in the question ("ed"); NULL: the store's app. */
	const char *app_name;
	/** Ask even when `in` is not a terminal (scripted use, tests). */
	int assume_tty;
	/**
	 * Version 2: offer only the sessions whose key is exactly these
	 * `key_len` bytes (sessnap_store_scan_key()); key_len 0 offers every
	 * crashed session.  Version 1 callers get every crashed session.
	 */
	const void *key;
	size_t key_len;
} sessnap_prompt_options;

#define SESSNAP_PROMPT_OPTIONS_VERSION 2
#define SESSNAP_PROMPT_OPTIONS_INIT                                           \
	{                                                                     \
		SESSNAP_PROMPT_OPTIONS_VERSION, NULL, NULL, NULL, 0, NULL, 0  \
	}

/**
 * Ask a terminal user which crashed session to restore:
 * "2 sessions did not end cleanly: ... Restore the newest one?
 * [Y/n/list/discard]".  Lists only crashed sessions of this host (never a
 * running one), newest first, with label, age, update count and size, and
 * warns about a session that crashed again after it was restored.
 * Answers: y or Enter (the newest), a number, n / "not now" (keep all, ask
 * again next start), list (all, with ids), discard (after a
 * confirmation).  On EOF, after five unusable answers, or when `in` is
 * not a terminal (unless assume_tty), it keeps every snapshot, restores
 * nothing and says so.  The prompt only chooses: adopt the returned id.
 *
 * @param out receives the chosen session id (SESSNAP_PROMPT_RESTORE only;
 *        "" otherwise); adopt it with sessnap_session_adopt()
 * @param answer receives what the user answered
 * @param store an open store
 * @param opts options, or NULL for the defaults; the streams stay the
 *        caller's
 * @return 0, SESSNAP_EINVAL, or an error of sessnap_store_scan() (nothing was
 *         asked) / sessnap_store_discard() (the rest is kept)
 */
int sessnap_prompt_run(char out[SESSNAP_ID_LEN + 1],
		       sessnap_prompt_answer *answer, sessnap_store *store,
		       const sessnap_prompt_options *opts);

/* ---- Cleaning ------------------------------------------------------------ */

/*
 * What the cleaner did with one file (or would do, in a dry run).  One
 * table yields the enum, sessnap_clean_action_name(), the per-action
 * counters of sessnap_clean_report (in this order) and the words the
 * command-line tools print, so none can drift from the others.  Values
 * are never renumbered; the REMOVE_ actions come first (an action is a
 * removal when it is at most SESSNAP_CLEAN_REMOVE_LOCK).
 *
 *   X(NAME, number, name, report field, words for a person, description)
 */
#define SESSNAP_CLEAN_ACTION_MAP(X)                                           \
	X(REMOVE_COMPLETED, 0, "removed-completed", removed_completed,        \
	  "completed session",                                                \
	  "Removed: part of a completed session older than its age.")         \
	X(REMOVE_CRASHED, 1, "removed-crashed", removed_crashed,              \
	  "crashed session",                                                  \
	  "Removed: part of a crashed session older than its age.")           \
	X(REMOVE_CORRUPT, 2, "removed-corrupt", removed_corrupt,              \
	  "corrupt session",                                                  \
	  "Removed: part of a corrupt session "                               \
	  "(SESSNAP_CLEAN_INCLUDE_CORRUPT).")                                 \
	X(REMOVE_TEMP, 3, "removed-temp", removed_temp,                       \
	  "orphaned temporary file",                                          \
	  "Removed: an orphaned temporary file whose writer is gone.")        \
	X(REMOVE_LOCK, 4, "removed-lock", removed_lock,                       \
	  "lock file without a snapshot",                                     \
	  "Removed: a free lock file whose session has no snapshot.")         \
	X(KEEP_RUNNING, 5, "kept-running", kept_running, "running",           \
	  "Kept: the session's lock is held by a live process.")              \
	X(KEEP_YOUNG, 6, "kept-young", kept_young, "not old enough",          \
	  "Kept: younger than the policy's age for its kind.")                \
	X(KEEP_NEWEST, 7, "kept-newest", kept_newest,                         \
	  "among the --keep newest",                                          \
	  "Kept: among the policy's `keep` newest sessions.")                 \
	X(KEEP_NEWER, 8, "kept-newer-format", kept_newer,                     \
	  "written by a newer format version",                                \
	  "Kept: written by a newer format version (never removed).")         \
	X(KEEP_CORRUPT, 9, "kept-corrupt", kept_corrupt,                      \
	  "corrupt (use --include-corrupt to remove it)",                     \
	  "Kept: corrupt, and SESSNAP_CLEAN_INCLUDE_CORRUPT is not set.")     \
	X(KEEP_FOREIGN, 10, "kept-foreign", kept_foreign,                     \
	  "unfinished session of another host",                               \
	  "Kept: an unfinished session of another host, whose lock this "     \
	  "host cannot see.")                                                 \
	X(SKIP_UNSAFE, 11, "skipped-not-regular", skipped_unsafe,             \
	  "not a regular file, never touched",                                \
	  "Skipped: named like a store file but not a regular file "          \
	  "(symlink, directory, FIFO, ...); never touched.")                  \
	X(FAILED, 12, "failed", failed, "failed",                             \
	  "A removal (or the check before it) failed; `error` says why.  "    \
	  "In the report: sessions or files whose removal failed.")

/** What the cleaner did with one file (SESSNAP_CLEAN_ACTION_MAP). */
typedef enum {
#define SESSNAP_CLEAN_ACTION_ENUM_(name, num, str, field, words, desc)        \
	SESSNAP_CLEAN_##name = (num),
	SESSNAP_CLEAN_ACTION_MAP(SESSNAP_CLEAN_ACTION_ENUM_)
#undef SESSNAP_CLEAN_ACTION_ENUM_
} sessnap_clean_action;

/** Which file of a session an event is about. */
typedef enum {
	SESSNAP_CLEAN_FILE_SNAPSHOT = 0, /**< <id>.snap */
	SESSNAP_CLEAN_FILE_PREV = 1,	 /**< <id>.snap.prev */
	SESSNAP_CLEAN_FILE_LOCK = 2,	 /**< <id>.lock */
	SESSNAP_CLEAN_FILE_TEMP = 3	 /**< .<id>.snap.XXXXXX and
					      .<id>.snap.prev.XXXXXX */
} sessnap_clean_file;

/* sessnap_clean_policy.flags */
/** Decide and report, but remove nothing and create nothing. */
#define SESSNAP_CLEAN_DRY_RUN (1u << 0)
/** Also remove corrupt sessions (neither generation valid) older than
 * `completed_age_ms` (by mtime).  Without it they are only reported. */
#define SESSNAP_CLEAN_INCLUDE_CORRUPT (1u << 1)

/** The largest `keep` accepted (the cleaner holds that many entries). */
#define SESSNAP_CLEAN_KEEP_MAX 1000000u

/** What sessnap_store_clean() removes.  Ages are in milliseconds; a negative
 * age means "never remove this kind". */
typedef struct {
	unsigned int version;
	/** Completed sessions older than this (default 7 days). */
	int64_t completed_age_ms;
	/** Crashed sessions older than this (default 30 days): they still
	 * hold work that can be recovered. */
	int64_t crashed_age_ms;
	/** Orphaned temporary files older than this (default 1 hour). */
	int64_t temp_age_ms;
	/** Never remove the `keep` newest sessions (by saved time); 0: no
	 * such protection.  At most SESSNAP_CLEAN_KEEP_MAX. */
	unsigned int keep;
	/** SESSNAP_CLEAN_* flags. */
	unsigned int flags;
	/** The current time in milliseconds since the epoch; 0: the clock. */
	int64_t now_ms;
} sessnap_clean_policy;

#define SESSNAP_CLEAN_POLICY_VERSION 1
#define SESSNAP_CLEAN_POLICY_INIT                                             \
	{                                                                     \
		SESSNAP_CLEAN_POLICY_VERSION, INT64_C(604800000),             \
		    INT64_C(2592000000), INT64_C(3600000), 0, 0, 0            \
	}

/** One decision of the cleaner, handed to the callback. */
typedef struct {
	/** The file's name inside the store (owned by the cleaner). */
	const char *name;
	/** The session id the file belongs to. */
	const char *id;
	sessnap_clean_action action;
	sessnap_clean_file file;
	/** SESSNAP_CLEAN_FAILED: the error code (sessnap_error_last() has
	 * the message while the callback runs); otherwise 0. */
	int error;
	/** Size of the file in bytes (0 for a lock file). */
	uint64_t bytes;
	/** Age used for the decision in milliseconds; -1 when none. */
	int64_t age_ms;
	/** Non-zero in a dry run: nothing was actually removed. */
	int dry_run;
} sessnap_clean_event;

/**
 * Receives each decision of sessnap_store_clean(): one event per removed file,
 * and one per kept or skipped session or file.  It must not call back into
 * the library with the same store.
 */
typedef void (*sessnap_clean_cb)(const sessnap_clean_event *event,
				 void *payload);

/** What sessnap_store_clean() did: sessions (or stray files) per action. */
typedef struct {
	unsigned int version;
	/** One counter per action, in SESSNAP_CLEAN_ACTION_MAP's order:
	 * removed_completed ... skipped_unsafe, failed. */
#define SESSNAP_CLEAN_REPORT_FIELD_(name, num, str, field, words, desc)       \
	uint64_t field;
	SESSNAP_CLEAN_ACTION_MAP(SESSNAP_CLEAN_REPORT_FIELD_)
#undef SESSNAP_CLEAN_REPORT_FIELD_
	/** Files removed (or that would be), all kinds together. */
	uint64_t files_removed;
	/** Bytes freed: sizes of removed files that had no other link. */
	uint64_t bytes_freed;
} sessnap_clean_report;

#define SESSNAP_CLEAN_REPORT_VERSION 1
#define SESSNAP_CLEAN_REPORT_INIT                                             \
	{                                                                     \
		SESSNAP_CLEAN_REPORT_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   \
		    0, 0, 0, 0, 0                                             \
	}

/**
 * Remove old sessions and orphaned files from a store, safely.
 *
 * Removes completed sessions older than `completed_age_ms`, crashed ones
 * older than `crashed_age_ms`, orphaned temporary files older than
 * `temp_age_ms` whose session is not running, and free lock files of
 * sessions that have no snapshot.  A session's age comes from the saved
 * time in its header, else from the file's mtime (never atime or ctime).
 *
 * It never touches a running session (its lock is held), a newer-format
 * file, a corrupt session without SESSNAP_CLEAN_INCLUDE_CORRUPT, or
 * anything that is not a regular file named like the store's own files;
 * it never follows a symlink and works only relative to the store's
 * directory descriptor.  Each session is locked, then re-checked (a live
 * writer may have renamed a fresh snapshot in), then its snapshot,
 * previous generation and lock file are unlinked, the lock file last.
 *
 * The directory is streamed: memory does not grow with the number of
 * files.  With `keep`, a first pass holds the `keep` newest entries.
 *
 * A failure on one session is reported through the callback, counted in
 * `failed`, and the cleaner carries on with the others.
 *
 * @param out receives the report (initialise it with
 *        SESSNAP_CLEAN_REPORT_INIT); may be NULL
 * @param store an open store (SESSNAP_STORE_READONLY is enough)
 * @param policy the policy, or NULL for SESSNAP_CLEAN_POLICY_INIT
 * @param cb called for each decision, or NULL
 * @param payload handed to `cb`
 * @return 0; the code of the first failed removal (the message names its
 *         file) when some failed and the others were done; SESSNAP_EINVAL
 *         (bad version, keep too large); SESSNAP_EIO, SESSNAP_ENOMEM or
 *         SESSNAP_EPERM when the store cannot be listed
 */
int sessnap_store_clean(sessnap_clean_report *out, sessnap_store *store,
			const sessnap_clean_policy *policy, sessnap_clean_cb cb,
			void *payload);

/**
 * The name of a cleaner action ("removed-completed", "kept-running", ...),
 * as used in `snapshot-clean --json`.
 * @return a static string; "unknown" for an unknown value
 */
const char *sessnap_clean_action_name(sessnap_clean_action action);

/* ---- States as JSON text ------------------------------------------------- */

/*
 * For programs and language bindings that hold no json-c objects: a state
 * handed over as JSON text it has already serialized, and read back as
 * text.  What sessnap_session_update_text() accepts, sessnap_store_load_text()
 * returns byte for byte; what the loader would refuse is refused at the
 * call, and nothing on disk changes.
 */

/**
 * Hand over a new state as JSON text (push), like
 * sessnap_session_update() with an object.  The text is checked on the
 * calling thread, copied and queued; the caller keeps its buffer.
 *
 * Accepted: exactly one JSON value (RFC 8259: UTF-8, no comments, no
 * trailing commas, no NaN), with whitespace (space, tab, newline, carriage
 * return) around it, nested at most 1024 values deep (the loader's
 * limit), whose snapshot file (a header of at most 4 KiB, the text, a
 * newline) fits the store's read bound.
 *
 * @param session the session
 * @param json the text; it need not be NUL-terminated
 * @param len its length in bytes
 * @return 0, SESSNAP_EINVAL (NULL argument, or text that is not exactly
 *         one JSON value or nests too deep: the message says what is
 *         wrong and at which byte), SESSNAP_ETOOBIG (over the read
 *         bound), SESSNAP_ESTATE (ended, or in a forked child),
 *         SESSNAP_ENOMEM; on error nothing is queued and a state queued
 *         before stays queued
 */
int sessnap_session_update_text(sessnap_session *session, const char *json,
				size_t len);

/**
 * Load a session's state as JSON text without adopting it, as
 * sessnap_store_load() does (checksum, `.prev` fallback, validation,
 * migration).  The text is the payload exactly as it was handed over
 * (by sessnap_session_update_text(), or as sessnap_session_update()
 * serialized it); after a migration it is the migrated state in json-c's
 * plain form.
 *
 * @param out receives the text in a malloc'd buffer, NUL-terminated (the
 *        terminator is not counted in out_len); free it with free()
 * @param out_len receives its length in bytes
 * @param info receives a record of what was found, as sessnap_store_load()
 *        returns it, or NULL
 * @param store an open store
 * @param id the session id
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBUSY (a live owner kept replacing
 *         the snapshot while it was read), or an error of sessnap_store_load()
 */
int sessnap_store_load_text(char **out, size_t *out_len,
			    sessnap_load_info **info, sessnap_store *store,
			    const char *id);

/**
 * Adopt a crashed session as sessnap_session_adopt() does, and return its
 * state as JSON text, as sessnap_store_load_text() returns it.
 *
 * @param out receives the session, owned by the caller; NULL on error
 * @param state receives the text in a malloc'd, NUL-terminated buffer
 *        (free it with free()), or NULL when not wanted
 * @param state_len receives its length (may be NULL)
 * @param info receives a record of what was found, as sessnap_store_load()
 *        returns it, or NULL
 * @param store an open store, not SESSNAP_STORE_READONLY
 * @param id the session id
 * @return 0, or an error of sessnap_session_adopt(); SESSNAP_ENOMEM or a
 *         read error when the adopted snapshot cannot be read back (the
 *         session is then released: it stays on disk, crashed, with its
 *         state unchanged)
 */
int sessnap_session_adopt_text(sessnap_session **out, char **state,
			       size_t *state_len, sessnap_load_info **info,
			       sessnap_store *store, const char *id);

/*
 * ---- Patch updates ---------------------------------------------------------
 *
 * A program that knows what changed hands over only that: operations on
 * the state, addressed by JSON Pointer (RFC 6901), as RFC 6902 defines
 * "add", "replace" and "remove".  On the calling thread an operation costs
 * the check of its pointer, the serialization of its value and a queue
 * push: nothing that grows with the state.  The library keeps its own
 * copy of the state as JSON text (about one state's size of memory, built
 * on the saving thread from the last full update or the adopted state)
 * and applies the queued operations to it on the saving thread, in order,
 * each batch as one step; what is saved is byte for byte what json-c would
 * serialize of the patched tree.
 */

/** The operations of a patch (RFC 6902). */
typedef enum {
	/**
	 * "add": set an object member (created, appended after the others,
	 * or replaced in place), or insert into an array before an index
	 * ("-" or the array's length appends); "" replaces the whole state.
	 */
	SESSNAP_PATCH_ADD = 1,
	/** "replace": the target must exist. */
	SESSNAP_PATCH_REPLACE,
	/** "remove": the target must exist; "" is refused. */
	SESSNAP_PATCH_REMOVE
} sessnap_patch_kind;

/** One operation, with its value as a json-c object. */
typedef struct {
	sessnap_patch_kind op;
	/** RFC 6901 JSON Pointer, NUL-terminated; "" is the whole state. */
	const char *path;
	/** ADD and REPLACE: serialized during the call, not kept; NULL is
	 *  JSON null.  Unused by REMOVE. */
	json_object *value;
} sessnap_patch_op;

/** One operation, with its value as JSON text. */
typedef struct {
	sessnap_patch_kind op;
	/** RFC 6901 JSON Pointer, NUL-terminated; "" is the whole state. */
	const char *path;
	/** ADD and REPLACE: JSON text of value_len bytes (need not be
	 *  NUL-terminated), checked as sessnap_session_update_text() checks
	 *  a state, copied during the call.  Unused by REMOVE. */
	const char *value;
	size_t value_len;
} sessnap_patch_text_op;

/**
 * Queue operations on the session's state as one batch: applied all or
 * none, after every update queued before, on the saving thread (the
 * writer, or the thread of sessnap_session_flush() or
 * sessnap_store_tick()).
 *
 * Checked during the call, refusing the whole batch with nothing queued:
 * the pointer's syntax (RFC 6901: "" or "/" tokens, "~" only as "~0" or
 * "~1"), the operation, that the value's nesting under its pointer stays
 * within the loader's limit and that its size fits the store's read
 * bound, and that the session has a state (an update, or an adopted
 * state).  What only the state can tell (a member or index that does not
 * exist, an index past the end, a result over the read bound) fails the
 * batch when it is applied: nothing of it is saved, the state stays as it
 * was before the batch, sessnap_session_status() reports SESSNAP_EPATCH
 * with a message naming the operation and its pointer, later patches
 * (queued or to come) are refused until the next full update
 * (sessnap_session_update() or _update_text()), which recovers.
 *
 * @param session the session
 * @param ops the operations, in order
 * @param n_ops how many (at least 1)
 * @return 0, SESSNAP_EINVAL (NULL argument, no operation, unknown
 *         operation, bad pointer, remove of "", a value that is not JSON),
 *         SESSNAP_ETOOBIG (the value nests too deep under its pointer, or
 *         exceeds the read bound), SESSNAP_ESTATE (no state yet, ended, or
 *         in a forked child), SESSNAP_EPATCH (an earlier batch failed and
 *         no full update came since), SESSNAP_ENOMEM
 */
int sessnap_session_patch(sessnap_session *session, const sessnap_patch_op *ops,
			  size_t n_ops);

/**
 * sessnap_session_patch() with values given as JSON text.
 *
 * @return as sessnap_session_patch()
 */
int sessnap_session_patch_text(sessnap_session *session,
			       const sessnap_patch_text_op *ops, size_t n_ops);

#ifdef __cplusplus
}
#endif

#endif /* SESSNAP_H */
