/*
 * lease.c - is a session of another host still running?
 *
 * On one host, liveness is a flock (liveness.c): the kernel drops it when
 * the owner dies.  Across hosts on a shared file system a lock proves
 * nothing (NFSv3 locks outlive a dead client, NFSv4 emulates flock with
 * leases of its own, local_lock= keeps them on the client), so a running
 * session on a shared store also renews a lease:
 *
 *  - The lease lives in the lock record that begin writes into <id>.lock
 *    (liveness.c): the record gains "lease_ms" (the period) and
 *    "renewals" (a counter), and is padded so that every renewal has the
 *    same length.  The owner's host, boot id and pid are already in it.
 *  - The owner renews it every period (the writer thread, or
 *    sessnap_store_tick() for an event loop: writer.c): one pwrite of the
 *    record at offset 0, then futimens(fd, NULL), which sets the lock
 *    file's mtime; on NFS the client first sends the write, then the
 *    server stamps the time with its own clock.  No fsync: a lease is
 *    liveness, not state.
 *  - Another host judges it by the file server's clock alone: it touches
 *    a clock file of its own in the same store (futimens(fd, NULL), then
 *    fstat) and compares that mtime with the lock file's, read through a
 *    fresh open (close-to-open: NFS revalidates attributes on open).
 *    Clock skew between hosts cancels out: both mtimes come from the
 *    server.  The local clock is never used.
 *  - A lease older than 3 periods plus SESSNAP__LEASE_MARGIN_MS is
 *    expired: its owner has missed three renewals in a row, and the
 *    session is crashed there, adoptable and cleanable like a local one.
 *    A fresh lease is running.  No lease at all (an older writer, or a
 *    store whose owner ran with leases off) keeps the old rule: foreign.
 *
 * When leases are on (sessnap__lease_mode()): with SESSNAP_STORE_SHARED,
 * or when the store directory is on a network file system; never with
 * SESSNAP_STORE_LOCAL.  A local store writes no lease and reads no clock:
 * the scan judges a lease only for a session of another host (or, on a
 * store with leases, of this host name in another boot), and only then
 * reads its lock record and, once per scan thread, the clock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

/*
 * The file systems whose files other hosts share (statfs(2) f_type, from
 * linux/magic.h and the file systems' own sources).  FUSE covers sshfs,
 * GlusterFS, s3fs and the like; local FUSE file systems are counted too,
 * which costs them one small write per period and is always safe.
 */
static const int64_t shared_fs[] = {
	0x6969,	    /* NFS */
	0x517b,	    /* SMB */
	0xff534d42, /* CIFS */
	0xfe534d42, /* SMB2 */
	0x01021997, /* 9P (v9fs) */
	0x00c36400, /* Ceph */
	0x5346414f, /* AFS (kAFS) */
	0x6b414653, /* AFS (OpenAFS) */
	0x65735546, /* FUSE */
	0x73757245, /* Coda */
	0x564c,	    /* NCP */
	0x7461636f, /* OCFS2 */
	0x01161970, /* GFS2 */
	0x0bd00bd0, /* Lustre */
	0x47504653, /* GPFS */
	0x20030528, /* OrangeFS */
	0x786f4256, /* VirtualBox shared folders */
};

bool sessnap__lease_fs_shared(int64_t f_type)
{
	size_t i;

	for (i = 0; i < sizeof(shared_fs) / sizeof(shared_fs[0]); i++)
		if ((f_type & 0xffffffff) == shared_fs[i])
			return true;
	return false;
}

void sessnap__lease_mode(sessnap_store *store, uint32_t period_ms)
{
	unsigned int flags = store->opts.flags;
	struct statfs sf;

	store->lease_ms = 0;
	if (flags & SESSNAP_STORE_LOCAL)
		return;
	if (!(flags & SESSNAP_STORE_SHARED)) {
		/* A failed fstatfs says nothing: the store stays local. */
		if (SYS(fstatfs)(store->dfd, &sf) < 0 ||
		    !sessnap__lease_fs_shared((int64_t)sf.f_type))
			return;
	}
	store->lease_ms = period_ms ? period_ms : SESSNAP__LEASE_DEFAULT_MS;
}

int64_t sessnap__lease_expiry_ms(uint32_t period_ms)
{
	return 3 * (int64_t)period_ms + SESSNAP__LEASE_MARGIN_MS;
}

/* A clock that could not be read: not tried again in the same scan. */
#define CLOCK_FAILED INT64_MIN

int sessnap__lease_clock(int64_t *clock_ms, sessnap_store *store)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	const char *step;
	struct stat st;
	int fd, rc;

	if (*clock_ms >= 0)
		return 0;
	sessnap__clock_name(name, store->self.host);
	if (*clock_ms == CLOCK_FAILED)
		return sessnap__error(SESSNAP_EIO,
				      "the clock file %s could not be read",
				      sessnap__path(path, sizeof(path), store,
						    name));
	/* O_NONBLOCK: a FIFO planted under the name must not hang us. */
	fd = SYS(openat)(store->dfd, name,
			 O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
			     O_CLOEXEC,
			 0600);
	if (fd < 0) {
		step = "open of the clock file";
		goto on_error;
	}
	step = "fstat of the clock file";
	if (SYS(fstat)(fd, &st) < 0)
		goto on_close;
	if (!S_ISREG(st.st_mode)) {
		SYS(close)(fd);
		*clock_ms = CLOCK_FAILED;
		return sessnap__error(SESSNAP_EUNSAFE,
				      "%s is not a regular file, so it cannot "
				      "be this host's clock file; it is left "
				      "as it is",
				      sessnap__path(path, sizeof(path), store,
						    name));
	}
	/* NULL: "now" by the file server's clock (NFS SET_TO_SERVER_TIME). */
	step = "futimens of the clock file";
	if (SYS(futimens)(fd, NULL) < 0)
		goto on_close;
	step = "fstat of the clock file";
	if (SYS(fstat)(fd, &st) < 0)
		goto on_close;
	SYS(close)(fd);
	*clock_ms = sessnap__mtime_ms(&st);
	if (*clock_ms < 0)
		*clock_ms = 0;
	return 0;

on_close: {
	PROTECT_ERRNO;
	SYS(close)(fd);
}
on_error:
	*clock_ms = CLOCK_FAILED;
	rc = sessnap__syserr(errno, step,
			     sessnap__path(path, sizeof(path), store, name));
	return rc;
}

int sessnap__lease_look(sessnap__lease *out, sessnap_store *store,
			const char *id)
{
	char name[SESSNAP__NAME_MAX];
	sessnap__header h;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	out->age_ms = -1;
	sessnap__lock_name(name, id);
	rc = sessnap__header_read(&h, &st, store, name);
	if (rc == SESSNAP_ENOTFOUND || rc == SESSNAP_ECORRUPT ||
	    rc == SESSNAP_ENEWER)
		return 0;
	if (rc < 0)
		return rc;
	if (h.seq != 0 || h.length != 0 || h.lease_ms == 0)
		return 0;
	out->period_ms = h.lease_ms;
	out->renewals = h.renewals;
	out->owner = h.owner;
	out->mtime_ms = sessnap__mtime_ms(&st);
	return 0;
}

int sessnap__lease_judge(sessnap__lease *out, sessnap_store *store,
			 const char *id, int64_t *clock_ms)
{
	int64_t age;
	int rc;

	if ((rc = sessnap__lease_look(out, store, id)) < 0)
		return rc;
	if (out->period_ms == 0)
		return SESSNAP__LEASE_NONE;
	if (sessnap__lease_clock(clock_ms, store) < 0) {
		sessnap__log(store, SESSNAP_LOG_WARNING,
			     "session %s: the age of its lease is unknown, "
			     "so it is kept as foreign: %s",
			     id, sessnap_error_last());
		return SESSNAP__LEASE_UNKNOWN;
	}
	age = *clock_ms - out->mtime_ms;
	out->age_ms = age > 0 ? age : 0;
	return out->age_ms > sessnap__lease_expiry_ms(out->period_ms)
		       ? SESSNAP__LEASE_EXPIRED
		       : SESSNAP__LEASE_FRESH;
}

bool sessnap__lease_applies(const sessnap_store *store,
			    const sessnap_owner *owner)
{
	if (store->opts.flags & SESSNAP_STORE_LOCAL)
		return false;
	if (sessnap__owner_foreign(owner, &store->self))
		return true;
	/*
	 * The same host name in another boot: on a local store, our own
	 * previous boot, whose owners are certainly dead (the flock rule
	 * stands, and costs nothing more).  On a shared store it may also
	 * be another machine that has our name: its lease says which.
	 */
	return store->lease_ms > 0 && owner->host[0] != '\0' &&
	       owner->boot_id[0] != '\0' && store->self.boot_id[0] != '\0' &&
	       strcmp(owner->boot_id, store->self.boot_id) != 0;
}

int sessnap__lease_renew(sessnap_store *store, int fd, sessnap__header *h)
{
	char name[SESSNAP__NAME_MAX], path[PATH_MAX];
	int rc;

	/* The largest JSON integer the format allows wraps to 1. */
	h->renewals = h->renewals < INT64_MAX ? h->renewals + 1 : 1;
	if ((rc = sessnap__lock_record_write(store, fd, h, false)) < 0)
		return rc;
	if (SYS(futimens)(fd, NULL) < 0) {
		sessnap__lock_name(name, h->id);
		return sessnap__syserr(errno, "futimens of the lock file",
				       sessnap__path(path, sizeof(path), store,
						     name));
	}
	return 0;
}

int sessnap__lease_verdict(sessnap__lease *out, sessnap_store *store,
			   const char *id, const sessnap_owner *owner,
			   int64_t *clock_ms)
{
	bool foreign = sessnap__owner_foreign(owner, &store->self);
	int rc;

	memset(out, 0, sizeof(*out));
	out->age_ms = -1;
	if (!sessnap__lease_applies(store, owner))
		return foreign ? SESSNAP_VERDICT_FOREIGN
			       : SESSNAP_VERDICT_CRASHED;
	if ((rc = sessnap__lease_judge(out, store, id, clock_ms)) < 0)
		return rc;
	switch (rc) {
	case SESSNAP__LEASE_FRESH:
		return SESSNAP_VERDICT_RUNNING;
	case SESSNAP__LEASE_EXPIRED:
		return SESSNAP_VERDICT_CRASHED;
	case SESSNAP__LEASE_UNKNOWN:
		return SESSNAP_VERDICT_FOREIGN;
	default:
		return foreign ? SESSNAP_VERDICT_FOREIGN
			       : SESSNAP_VERDICT_CRASHED;
	}
}
