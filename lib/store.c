/*
 * store.c - the store handle: where the directory is, whether it is safe
 *
 * A store is one directory per application, by default
 * $XDG_STATE_HOME/sessnap/<app> (or ~/.local/state/sessnap/<app>).  Opening
 * creates it 0700 when it is missing and then refuses to use it unless it
 * is a real directory (not a symlink), owned by the caller and not writable
 * by group or others - the checks ssh's StrictModes makes, for the same
 * reason: anyone who can write the directory can plant or swap snapshots.
 *
 * Every later file operation is relative to the descriptor opened here
 * (openat, renameat, unlinkat), so a directory swapped under us after the
 * checks cannot redirect a write or a delete elsewhere.
 *
 * The store also owns the writer thread (writer.c), the closer that frees
 * dropped files (closer.c) and the list of its open sessions; store->mu
 * guards all three.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "closer.h"
#include "owner.h"
#include "writer.h"

#define DEFAULT_INTERVAL_MS 15000u
#define DEFAULT_READ_BOUND SESSNAP__DEFAULT_READ_BOUND

/*
 * How much of a caller's options struct its version has: version 1 ends
 * before lease_period_ms (docs/releasing.md, "Structs that grow").
 */
static size_t options_size(unsigned int version)
{
	if (version == 1)
		return offsetof(sessnap_store_options, lease_period_ms);
	return sizeof(sessnap_store_options);
}

int sessnap_store_options_init(sessnap_store_options *opts,
			       unsigned int version)
{
	sessnap_store_options init = SESSNAP_STORE_OPTIONS_INIT;

	if (opts == NULL || version < 1 ||
	    version > SESSNAP_STORE_OPTIONS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown options version %u", version);
	/* A caller built against version 1 has a shorter struct. */
	init.version = version;
	memcpy(opts, &init, options_size(version));
	return 0;
}

int sessnap_store_default_dir(char **out, const char *app)
{
	const char *base = getenv("XDG_STATE_HOME");
	const char *home;
	char *path = NULL;
	int n;

	if (out == NULL)
		return sessnap__error(SESSNAP_EINVAL, "out is NULL");
	*out = NULL;
	if (!sessnap__app_valid(app))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid application name \"%s\": use "
				      "1 to %d of [A-Za-z0-9._-], not starting "
				      "with a dot",
				      app ? app : "(null)", SESSNAP_APP_MAX);
	if (base != NULL && base[0] == '/') {
		n = asprintf(&path, "%s/sessnap/%s", base, app);
	} else {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (home == NULL || home[0] != '/')
			return sessnap__error(
			    SESSNAP_EINVAL,
			    "cannot find the default store directory: "
			    "neither XDG_STATE_HOME nor HOME is an absolute "
			    "path; set one or pass a directory");
		n = asprintf(&path, "%s/.local/state/sessnap/%s", home, app);
	}
	if (n < 0)
		return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	*out = path;
	return 0;
}

/*
 * Make the entry of a directory just created durable: fsync its parent
 * (`path` up to its last slash).  Without it a power cut after the first
 * save can lose the new directory and everything in it on file systems
 * that do not order directory updates the way ext4's journal does.
 */
static int sync_parent(const char *path)
{
	char parent[PATH_MAX];
	char *slash;
	int fd, err;

	strlcpy(parent, path, sizeof(parent));
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strlcpy(parent, ".", sizeof(parent));
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	fd = SYS(openat)(AT_FDCWD, parent,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return sessnap__syserr(errno, "open for fsync", parent);
	if (SYS(fsync)(fd) < 0) {
		err = errno;
		SYS(close)(fd);
		return sessnap__syserr(err, "fsync", parent);
	}
	SYS(close)(fd);
	return 0;
}

/*
 * Create the directory and its missing parents, each 0700 (the XDG base
 * directory specification asks 0700 of the state directory too).  Only
 * components that do not exist are created; existing ones are left as
 * they are.  With durability FULL the parent of each created directory is
 * synced, as a save syncs the store directory after its rename.  If that
 * fails the directory just created (still empty) is removed again, so that
 * the next open creates and syncs it afresh instead of finding it and
 * trusting an entry that may not survive a power cut.
 */
static int mkdir_parents(const char *path, sessnap_durability durability)
{
	char buf[PATH_MAX];
	size_t i, len;
	int rc;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return sessnap__error(SESSNAP_EINVAL,
				      "store path is too long: %s", path);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (SYS(mkdirat)(AT_FDCWD, buf, 0700) < 0) {
			if (errno != EEXIST)
				return sessnap__syserr(errno, "mkdir", buf);
		} else if (durability == SESSNAP_DURABILITY_FULL &&
			   (rc = sync_parent(buf)) < 0) {
			PROTECT_ERRNO;
			SYS(unlinkat)(AT_FDCWD, buf, AT_REMOVEDIR);
			return rc;
		}
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

/*
 * Open the directory without following a final symlink, then check what
 * we opened (fstat on the descriptor, so there is no window between the
 * check and the use).
 */
static int open_checked(int *out, const char *path)
{
	struct stat st;
	int fd, err;

	fd = SYS(openat)(AT_FDCWD, path,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return sessnap__error(SESSNAP_ENOTFOUND,
					      "store %s does not exist", path);
		if ((err == ELOOP || err == ENOTDIR) &&
		    SYS(fstatat)(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) ==
			0) {
			if (S_ISLNK(st.st_mode))
				return sessnap__error(
				    SESSNAP_EUNSAFE,
				    "store %s is a symlink, which sessnap "
				    "refuses to follow: remove it, or pass "
				    "the directory it points to",
				    path);
			return sessnap__error(
			    SESSNAP_EUNSAFE,
			    "store %s is not a directory: move it away or "
			    "choose another store directory",
			    path);
		}
		return sessnap__syserr(err, "open of store directory", path);
	}
	if (SYS(fstat)(fd, &st) < 0) {
		err = sessnap__syserr(errno, "fstat of store directory", path);
		SYS(close)(fd);
		return err;
	}
	if (st.st_uid != geteuid()) {
		SYS(close)(fd);
		return sessnap__error(
		    SESSNAP_EUNSAFE,
		    "store %s is owned by uid %lu, not by you (uid %lu): "
		    "another user could read or replace your snapshots; "
		    "use a directory of your own, or chown it",
		    path, (unsigned long)st.st_uid, (unsigned long)geteuid());
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		SYS(close)(fd);
		return sessnap__error(
		    SESSNAP_EUNSAFE,
		    "store %s is writable by %s (mode %04o): others could "
		    "plant or replace snapshots; fix it with: chmod 700 %s",
		    path,
		    (st.st_mode & S_IWOTH) ? "others" : "its group",
		    (unsigned)(st.st_mode & 07777), path);
	}
	*out = fd;
	return 0;
}

/* The options' own rules, before anything is touched: 0 or the error. */
static int check_options(const sessnap_store_options *opts)
{
	if (opts->version < 1 || opts->version > SESSNAP_STORE_OPTIONS_VERSION)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown store options version %u "
				      "(this library knows %u)",
				      opts->version,
				      SESSNAP_STORE_OPTIONS_VERSION);
	if (!sessnap__app_valid(opts->app))
		return sessnap__error(SESSNAP_EBADNAME,
				      "invalid application name \"%s\": use "
				      "1 to %d of [A-Za-z0-9._-], not starting "
				      "with a dot",
				      opts->app ? opts->app : "(null)",
				      SESSNAP_APP_MAX);
	if (opts->durability > SESSNAP_DURABILITY_NONE)
		return sessnap__error(SESSNAP_EINVAL,
				      "unknown durability level %d",
				      (int)opts->durability);
	if (opts->generations > SESSNAP_GENERATIONS_MAX)
		return sessnap__error(SESSNAP_EINVAL,
				      "cannot keep %u older generations: at "
				      "most %d",
				      opts->generations,
				      SESSNAP_GENERATIONS_MAX);
	if ((opts->flags & SESSNAP_STORE_SHARED) &&
	    (opts->flags & SESSNAP_STORE_LOCAL))
		return sessnap__error(SESSNAP_EINVAL,
				      "SESSNAP_STORE_SHARED and "
				      "SESSNAP_STORE_LOCAL exclude each other");
	if (opts->version >= 2 && opts->lease_period_ms != 0 &&
	    opts->lease_period_ms < SESSNAP__LEASE_MIN_MS)
		return sessnap__error(SESSNAP_EINVAL,
				      "a lease period of %u ms is under the "
				      "shortest, %u ms",
				      opts->lease_period_ms,
				      SESSNAP__LEASE_MIN_MS);
	return 0;
}

/* A new handle's fields from the options, its directory open. */
static void store_init(sessnap_store *store, const sessnap_store_options *opts,
		       char *path, int dfd, sessnap_durability durability)
{
	store->path = path;
	store->dfd = dfd;
	strlcpy(store->app, opts->app, sizeof(store->app));
	/* Only what the caller's version has: the rest keeps its default. */
	memcpy(&store->opts, opts, options_size(opts->version));
	store->opts.version = SESSNAP_STORE_OPTIONS_VERSION;
	store->opts.dir = NULL;
	store->opts.app = store->app;
	store->durability = durability;
	store->interval_ms = opts->autosave_interval_ms
				 ? opts->autosave_interval_ms
				 : DEFAULT_INTERVAL_MS;
	store->read_bound = opts->read_bound ? opts->read_bound
					     : DEFAULT_READ_BOUND;
	store->generations = opts->generations ? opts->generations : 1;
	store->pid = getpid();
	sessnap__owner_self(&store->self);
	sessnap__lease_mode(store, store->opts.lease_period_ms);
	pthread_mutex_init(&store->mu, NULL);
	pthread_cond_init(&store->cond, NULL);
	sessnap__owner_register(store);
}

int sessnap_store_open(sessnap_store **out, const sessnap_store_options *opts)
{
	sessnap_store *store = NULL;
	sessnap_durability durability;
	const char *env;
	char *path = NULL;
	int dfd = -1, rc;

	if (out == NULL || opts == NULL)
		return sessnap__error(SESSNAP_EINVAL,
				      "sessnap_store_open: NULL argument");
	*out = NULL;
	if ((rc = check_options(opts)) < 0)
		return rc;
	if (opts->dir != NULL) {
		if (opts->dir[0] == '\0')
			return sessnap__error(SESSNAP_EINVAL,
					      "store directory is empty");
		path = strdup(opts->dir);
		if (path == NULL)
			return sessnap__error(SESSNAP_ENOMEM, "out of memory");
	} else if ((rc = sessnap_store_default_dir(&path, opts->app)) < 0) {
		return rc;
	}

	durability = opts->durability;
	env = getenv("SESSNAP_TEST_FSYNC");
	if (env != NULL && strcmp(env, "0") == 0)
		durability = SESSNAP_DURABILITY_NONE;
	if (!(opts->flags & (SESSNAP_STORE_NOCREATE | SESSNAP_STORE_READONLY)) &&
	    (rc = mkdir_parents(path, durability)) < 0)
		goto on_error;
	if ((rc = open_checked(&dfd, path)) < 0)
		goto on_error;

	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		rc = sessnap__error(SESSNAP_ENOMEM, "out of memory");
		goto on_error;
	}
	store_init(store, opts, path, dfd, durability);

	if (!(opts->flags & SESSNAP_STORE_READONLY) &&
	    (rc = sessnap__writer_start(store)) < 0) {
		sessnap__owner_unregister(store);
		pthread_cond_destroy(&store->cond);
		pthread_mutex_destroy(&store->mu);
		free(store);
		goto on_error;
	}
	*out = store;
	return 0;

on_error:
	if (dfd >= 0)
		SYS(close)(dfd);
	free(path);
	return rc;
}

int sessnap_store_close(sessnap_store *store)
{
	sessnap_session *s;
	int rc = 0, r;

	if (store == NULL)
		return 0;
	/*
	 * Write what is pending before the writer goes: closing must never
	 * lose an update the app already handed over.
	 */
	pthread_mutex_lock(&store->mu);
	while ((s = store->sessions) != NULL) {
		pthread_mutex_unlock(&store->mu);
		if (s->pid == getpid()) {
			r = sessnap_session_flush(s);
			if (r < 0 && rc == 0)
				rc = r;
		}
		sessnap_session_release(s);
		pthread_mutex_lock(&store->mu);
	}
	pthread_mutex_unlock(&store->mu);
	sessnap__writer_stop(store);
	sessnap__closer_stop(store);
	sessnap__owner_unregister(store);
	pthread_cond_destroy(&store->cond);
	pthread_mutex_destroy(&store->mu);
	SYS(close)(store->dfd);
	sessnap__delta_cache_free(store);
	free(store->path);
	free(store);
	return rc;
}

const char *sessnap_store_path(const sessnap_store *store)
{
	return store ? store->path : NULL;
}

const char *sessnap_store_app(const sessnap_store *store)
{
	return store ? store->app : NULL;
}
