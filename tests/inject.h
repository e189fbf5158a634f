/*
 * inject.h - the test suite's fault injector and syscall tracer
 *
 * The library's system-call seam (lib/sys.c, struct sessnap__sys) holds
 * the real calls only.  tests/inject.c, linked into the unit suites and
 * never into libsessnap, puts its wrappers in front of them before main()
 * runs, so that a suite can:
 *
 *   - fail the Nth call of chosen kinds with a chosen errno, once (a
 *     transient fault) or from then on (a persistent one), or turn a write
 *     into a short write (sessnap__fault_arm());
 *   - see every successful call that changes the store, after it returned
 *     (sessnap__sys_set_trace()), for the power-loss replay.
 *
 * The table is one global, so the wrappers serve every thread, the store's
 * writer thread included; the injector's state is atomic for that reason.
 * With nothing armed a wrapped call costs one relaxed load, and without a
 * tracer one load of a pointer.  A suite may still put a function of its
 * own into a table entry for one test (and put the previous one back).
 *
 * The names keep the sessnap__ prefix that they had when they lived in the
 * library, so that every suite calls them as before.
 */
#ifndef SESSNAP_TESTS_INJECT_H
#define SESSNAP_TESTS_INJECT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Each seam call belongs to one kind; the injector counts the calls whose
 * kind is in the armed mask and fails the Nth (one-shot) or the Nth and
 * every later one (persistent) with the chosen errno.  With
 * SESSNAP__FAULT_SHORT a write of more than one byte instead writes half of
 * its bytes (a short write, not an error).
 */
enum sessnap__sys_kind {
	SESSNAP__SYS_OPEN = 1u << 0, /* openat, flopenat */
	SESSNAP__SYS_READ = 1u << 1,
	SESSNAP__SYS_WRITE = 1u << 2,
	SESSNAP__SYS_FSYNC = 1u << 3, /* fsync, fdatasync */
	SESSNAP__SYS_FALLOCATE = 1u << 4, /* fallocate, in_place */
	SESSNAP__SYS_RENAME = 1u << 5,
	SESSNAP__SYS_LINK = 1u << 6,
	SESSNAP__SYS_UNLINK = 1u << 7,
	SESSNAP__SYS_MKDIR = 1u << 8,
	SESSNAP__SYS_FLOCK = 1u << 9, /* flock, flopenat's lock */
	SESSNAP__SYS_CLOSE = 1u << 10, /* close, closedir */
	SESSNAP__SYS_STAT = 1u << 11, /* fstat, fstatat */
	SESSNAP__SYS_READDIR = 1u << 12, /* fdopendir, readdir */
	SESSNAP__SYS_ALL = (1u << 13) - 1,
	/*
	 * Thread creation (the writer, the store's closer, the scan's
	 * helpers).  Not part of SESSNAP__SYS_ALL: where it fails the
	 * library mostly does without the thread and succeeds, which the
	 * sweeps over every call do not expect.
	 */
	SESSNAP__SYS_THREAD = 1u << 13
};

#define SESSNAP__FAULT_PERSISTENT (1u << 0)
#define SESSNAP__FAULT_SHORT (1u << 1)

/* Arm: fail the nth (1-based) matching call with err.  Resets the count. */
void sessnap__fault_arm(unsigned int kinds, unsigned long nth, int err,
			unsigned int flags);
/* Disarm; returns how many matching calls were seen while armed. */
unsigned long sessnap__fault_disarm(void);
/* How many injected failures have fired since the last arm. */
unsigned long sessnap__fault_fired(void);
/* The kinds of the calls that an injected failure hit since the last arm. */
unsigned int sessnap__fault_fired_kinds(void);
/*
 * Hold the threads that the library starts from now on (the store's
 * closer, say): each waits, before it runs at all, until threads are no
 * longer held.  Threads already running are not affected.
 */
void sessnap__thread_hold(bool hold);

/*
 * Tracing of the mutating calls, for the power-loss simulation: with a
 * tracer set, every successful call that changes the store (a create,
 * write, fsync, rename, link, unlink, mkdir, close) is reported after it
 * returned, with its arguments and result.  An open for writing without
 * O_CREAT (a delta file reopened for its appends) is reported as a
 * create of an existing name.  Names are as passed (relative
 * to dfd); `fd` is the descriptor written, synced or closed, or the one a
 * create returned.  The tracer runs on the calling thread.
 */
enum sessnap__trace_op {
	SESSNAP__TRACE_CREATE,
	SESSNAP__TRACE_WRITE,
	SESSNAP__TRACE_FSYNC, /* fsync or fdatasync of fd */
	SESSNAP__TRACE_FALLOCATE,
	SESSNAP__TRACE_RENAME,
	SESSNAP__TRACE_LINK,
	SESSNAP__TRACE_UNLINK,
	SESSNAP__TRACE_MKDIR,
	SESSNAP__TRACE_CLOSE,
	SESSNAP__TRACE_PWRITE /* a write at `off`: a delta file's append */
};

struct sessnap__trace_event {
	enum sessnap__trace_op op;
	int fd;
	int dfd;
	const char *path;
	const char *path2; /* rename and link: the new name */
	const void *buf; /* write: the bytes written */
	size_t len; /* write: how many were written */
	long long off; /* pwrite: where; -1 for every other call */
};

typedef void (*sessnap__trace_fn)(const struct sessnap__trace_event *ev,
				  void *arg);
/* Set (or with NULL clear) the tracer.  Not thread-safe: set it before
 * the calls to trace start. */
void sessnap__sys_set_trace(sessnap__trace_fn fn, void *arg);

#endif /* SESSNAP_TESTS_INJECT_H */
