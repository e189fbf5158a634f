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
 *    SESSNAP_E* code.  sessnap_strerror() describes a code;
 *    sessnap_last_error() returns a thread-local message that names the
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

/** Version of the on-disk snapshot format this library writes. */
#define SESSNAP_FORMAT_VERSION 1

/** Length of a session id: 128 random bits as 32 lowercase hex digits. */
#define SESSNAP_ID_LEN 32
/** Longest application name accepted. */
#define SESSNAP_APP_MAX 64
/** Longest label stored (longer labels are truncated at a UTF-8 boundary). */
#define SESSNAP_LABEL_MAX 256
/** Longest host name recorded in a snapshot. */
#define SESSNAP_HOST_MAX 255

/*
 * Error codes.  This table is append-only: a value is never removed or
 * renumbered.  It yields the enum, sessnap_strerror() and
 * sessnap_err_name(), so the three cannot drift apart.
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
	X(EPENDING, -19, "work is still pending")

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
const char *sessnap_strerror(int code);

/**
 * The symbolic name of an error code ("SESSNAP_EIO").
 * @param code a value returned by a sessnap function
 * @return a static string; "SESSNAP_E_UNKNOWN" for an unknown code
 */
const char *sessnap_err_name(int code);

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
const char *sessnap_last_error(void);

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

/* sessnap_store_options.flags */
/** Do not create the store directory; fail with ENOTFOUND if missing. */
#define SESSNAP_STORE_NOCREATE (1u << 0)
/** Start no writer thread: the app drives saves with sessnap_store_tick(). */
#define SESSNAP_STORE_NOTHREAD (1u << 1)
/** Open for reading and maintenance only: no sessions can be begun. */
#define SESSNAP_STORE_READONLY (1u << 2)

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
} sessnap_store_options;

#define SESSNAP_STORE_OPTIONS_VERSION 1
#define SESSNAP_STORE_OPTIONS_INIT                                            \
	{                                                                     \
		SESSNAP_STORE_OPTIONS_VERSION, NULL, NULL,                    \
		    SESSNAP_DURABILITY_FULL, 0, 0, 0, 0, NULL, NULL, NULL,    \
		    NULL                                                      \
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
 * "crashed"); end them first for a clean exit.
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
 * Compute the default store directory of an application without opening
 * it.
 * @param out receives a malloc'd path; free it with free()
 * @param app the application name
 * @return 0, SESSNAP_EBADNAME, SESSNAP_EINVAL (no HOME), SESSNAP_ENOMEM
 */
int sessnap_store_default_dir(char **out, const char *app);

/* sessnap_session_options.flags */
/** On sessnap_session_end(), keep the completed snapshot instead of
 * removing it. */
#define SESSNAP_SESSION_KEEP (1u << 0)

/** Options for sessnap_session_begin(). */
typedef struct {
	unsigned int version;
	/** Optional human label ("notes.txt - 3 buffers"). */
	const char *label;
	/** SESSNAP_SESSION_* flags. */
	unsigned int flags;
} sessnap_session_options;

#define SESSNAP_SESSION_OPTIONS_VERSION 1
#define SESSNAP_SESSION_OPTIONS_INIT                                          \
	{                                                                     \
		SESSNAP_SESSION_OPTIONS_VERSION, NULL, 0                      \
	}

/**
 * Begin a new session: draw a random id and take its lock, which is held
 * for the whole life of the session.  Nothing is written until the first
 * save.
 *
 * @param out receives the session
 * @param store an open store (not SESSNAP_STORE_READONLY)
 * @param opts options, or NULL for the defaults
 * @return 0, SESSNAP_EINVAL, SESSNAP_ESTATE, SESSNAP_EIO, SESSNAP_EPERM,
 *         SESSNAP_ENOSPC, SESSNAP_ENOMEM
 */
int sessnap_session_begin(sessnap_session **out, sessnap_store *store,
			  const sessnap_session_options *opts);

/**
 * The session's id (SESSNAP_ID_LEN characters).
 * @return a string owned by the session
 */
const char *sessnap_session_id(const sessnap_session *session);

/**
 * Set the session's label; it is written with the next save.
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
 *         SESSNAP_ENOMEM
 */
int sessnap_session_update(sessnap_session *session,
			   const json_object *state);

/**
 * Save the pending update now, on the calling thread, and wait until it
 * is durable.  Does nothing when no update is pending.
 *
 * @return 0, SESSNAP_EDURABILITY (committed, but the directory fsync
 *         failed), SESSNAP_EIO, SESSNAP_ENOSPC, SESSNAP_EPERM,
 *         SESSNAP_ESTATE, SESSNAP_ENOMEM
 */
int sessnap_session_save(sessnap_session *session);

/**
 * Wait until every update handed over so far is durable.
 * @return as sessnap_session_save()
 */
int sessnap_session_flush(sessnap_session *session);

/**
 * End a session cleanly: flush, mark it completed, then remove its files
 * (or keep the completed snapshot with SESSNAP_SESSION_KEEP, given here or
 * at begin), release the lock and free the handle.  The handle is freed
 * even when an error is returned; the files then stay on disk as a
 * crashed session, so no work is lost.
 *
 * @param session the session, or NULL
 * @param flags SESSNAP_SESSION_KEEP or 0
 * @return 0 or an error of sessnap_session_save()
 */
int sessnap_session_end(sessnap_session *session, unsigned int flags);

/**
 * Release a session handle without ending it and without writing anything:
 * the lock is released and the session becomes "crashed" for the scanner.
 * This is what a forked child must call for the sessions it inherited.
 */
void sessnap_session_release(sessnap_session *session);

/** Classification of a session by the scanner. */
typedef enum {
	/** Its lock is held by a live process. */
	SESSNAP_STATUS_RUNNING = 0,
	/** Not completed and its lock is free: the owner died. */
	SESSNAP_STATUS_CRASHED = 1,
	/** Ended cleanly and kept. */
	SESSNAP_STATUS_COMPLETED = 2,
	/** Written on another host, where locks cannot be trusted. */
	SESSNAP_STATUS_FOREIGN = 3,
	/** Written by a newer format version than this library reads. */
	SESSNAP_STATUS_NEWER = 4,
	/** Neither generation is valid. */
	SESSNAP_STATUS_CORRUPT = 5
} sessnap_status;

/**
 * The name of a status ("running", "crashed", ...).
 * @return a static string
 */
const char *sessnap_status_name(sessnap_status status);

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

/** What the scanner knows of a session (from its header only). */
typedef struct {
	char id[SESSNAP_ID_LEN + 1];
	sessnap_status status;
	/** SESSNAP_INFO_* flags. */
	unsigned int flags;
	/** Label, or NULL. */
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
} sessnap_info;

/* sessnap_scan() flags */
/** List only the sessions a user can recover: SESSNAP_STATUS_CRASHED
 * (without it, every session is listed). */
#define SESSNAP_SCAN_RECOVERABLE (1u << 0)

/**
 * List the store's sessions, newest first, each classified.  Reads only the
 * header of each snapshot, with a bounded read, and probes its lock: the
 * cost grows with the number of sessions, not with the size of their
 * states.  Skips temporary (dot) files, lock files without a snapshot,
 * symlinks, FIFOs, directories and anything not named like a snapshot.
 *
 * Classification: a held lock makes a session SESSNAP_STATUS_RUNNING
 * whatever its files say; otherwise a newer format version gives
 * SESSNAP_STATUS_NEWER, no valid header in either generation
 * SESSNAP_STATUS_CORRUPT, the completed mark SESSNAP_STATUS_COMPLETED, a
 * different host SESSNAP_STATUS_FOREIGN, and anything else
 * SESSNAP_STATUS_CRASHED.  Sorted by saved time (by mtime when there is no
 * usable header), newest first.
 *
 * @param out receives an array owned by the caller (NULL when empty); free
 *        it with sessnap_scan_free()
 * @param out_count receives its length
 * @param store an open store
 * @param flags SESSNAP_SCAN_RECOVERABLE, or 0 for every session
 * @return 0, SESSNAP_EINVAL, SESSNAP_EIO, SESSNAP_EPERM, SESSNAP_ENOMEM
 *         (a system error on any file fails the whole scan, rather than
 *         guess)
 */
int sessnap_scan(sessnap_info **out, size_t *out_count, sessnap_store *store,
		 unsigned int flags);

/**
 * Free a scan result.
 * @param infos an array from sessnap_scan(), or NULL
 * @param count its length
 */
void sessnap_scan_free(sessnap_info *infos, size_t count);

/* sessnap_load_info.flags */
/** The state came from the previous generation (`<id>.snap.prev`). */
#define SESSNAP_LOAD_FROM_PREV (1u << 0)
/** The state was migrated from an older schema version. */
#define SESSNAP_LOAD_MIGRATED (1u << 1)

/** What sessnap_load() found. */
typedef struct {
	/** SESSNAP_LOAD_* flags. */
	unsigned int flags;
	uint64_t seq;
	uint32_t schema_version;
	uint32_t adoptions;
	int64_t created_ms;
	int64_t saved_ms;
	int completed;
	sessnap_owner owner;
	char label[SESSNAP_LABEL_MAX + 1];
	/** When the main snapshot was skipped: why, in words. */
	char notice[512];
} sessnap_load_info;

/**
 * Load a session's state without adopting it ("peek").  Verifies the
 * checksum; on a missing, empty, truncated, corrupt or rejected main
 * snapshot falls back to the previous generation and says so in `info`.
 * Migrates an older schema through the store's migrate callback.
 *
 * @param out receives the state (a new reference: json_object_put() it)
 * @param info receives what was found, or NULL
 * @param store an open store
 * @param id the session id
 * @return 0, SESSNAP_EBADNAME, SESSNAP_ENOTFOUND, SESSNAP_ECORRUPT (both
 *         generations bad; the message names both files),
 *         SESSNAP_ENEWER, SESSNAP_ETOOBIG, SESSNAP_EMIGRATE, SESSNAP_EIO,
 *         SESSNAP_ENOMEM
 */
int sessnap_load(json_object **out, sessnap_load_info *info,
		 sessnap_store *store, const char *id);

/**
 * Adopt a crashed session: take its lock (exactly one process wins), load
 * its state (as sessnap_load(): checksum, `.prev` fallback, validation,
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
 * @param out receives the session, owned by the caller (end or release
 *        it); NULL on error
 * @param state receives the recovered state (a new reference, owned by
 *        the caller), or NULL when not wanted
 * @param info receives what was found (seq and adoptions as adopted), or
 *        NULL
 * @param store an open store, not SESSNAP_STORE_READONLY, opened by this
 *        process
 * @param id the session id
 * @return 0, SESSNAP_EINVAL, SESSNAP_EBADNAME, SESSNAP_ESTATE,
 *         SESSNAP_EBUSY (another process holds it), SESSNAP_EFOREIGN
 *         (written on another host), SESSNAP_ENOSPC or another error of
 *         the write, or an error of sessnap_load(); on error nothing on
 *         disk has changed and the lock is released
 */
int sessnap_session_adopt(sessnap_session **out, json_object **state,
			  sessnap_load_info *info, sessnap_store *store,
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
 *         SESSNAP_EIO, SESSNAP_EPERM
 */
int sessnap_discard(sessnap_store *store, const char *id);

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

/** Options for sessnap_recovery_prompt(). */
typedef struct {
	unsigned int version;
	/** Where to read answers and write the prompt; NULL: stdin/stderr. */
	FILE *in;
	FILE *out;
	/** Program name used in the question ("ed"); NULL: the store's app. */
	const char *app_name;
	/** Ask even when `in` is not a terminal (scripted use, tests). */
	int assume_tty;
} sessnap_prompt_options;

#define SESSNAP_PROMPT_OPTIONS_VERSION 1
#define SESSNAP_PROMPT_OPTIONS_INIT                                           \
	{                                                                     \
		SESSNAP_PROMPT_OPTIONS_VERSION, NULL, NULL, NULL, 0           \
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
 * @return 0, SESSNAP_EINVAL, or an error of sessnap_scan() (nothing was
 *         asked) / sessnap_discard() (the rest is kept)
 */
int sessnap_recovery_prompt(char out[SESSNAP_ID_LEN + 1],
			    sessnap_prompt_answer *answer,
			    sessnap_store *store,
			    const sessnap_prompt_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* SESSNAP_H */
