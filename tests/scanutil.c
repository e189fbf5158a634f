/*
 * scanutil.c -- helpers shared by the scanner and recovery suites: child
 * processes that leave sessions behind, and hand-made snapshot files.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "scanutil.h"
#include "testutil.h"

sessnap_store *su_store_open(void)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;
	int rc;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD;
	rc = sessnap_store_open(&s, &o);
	ck_assert_msg(rc == 0, "store open: %s", sessnap_error_last());
	return s;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* The child's side; never returns. */
static void child_main(int wfd, enum su_child_mode mode, const char *label,
		       int n, const char *adopt_id)
{
	sessnap_session_options so = SESSNAP_SESSION_OPTIONS_INIT;
	sessnap_session *sess = NULL;
	sessnap_store *store;
	json_object *st;
	int rc;

	store = su_store_open();
	if (mode == SU_CHILD_ADOPT_WAIT) {
		rc = sessnap_session_adopt(&sess, NULL, NULL, store, adopt_id);
	} else {
		so.label = label;
		rc = sessnap_session_begin(&sess, store, &so);
	}
	if (rc < 0)
		_exit(2);
	st = json_object_new_object();
	json_object_object_add(st, "n", json_object_new_int(n));
	if (sessnap_session_update(sess, st) < 0 ||
	    sessnap_session_flush(sess) < 0)
		_exit(3);
	json_object_put(st);
	if (mode == SU_CHILD_END_KEEP || mode == SU_CHILD_END) {
		char id[SESSNAP_ID_LEN + 1];

		strlcpy(id, sessnap_session_id(sess), sizeof(id));
		rc = sessnap_session_end(
		    sess, mode == SU_CHILD_END_KEEP ? SESSNAP_SESSION_KEEP : 0);
		sessnap_store_close(store);
		if (rc < 0)
			_exit(4);
		if (write(wfd, id, SESSNAP_ID_LEN) != SESSNAP_ID_LEN)
			_exit(5);
		_exit(0);
	}
	if (write(wfd, sessnap_session_id(sess), SESSNAP_ID_LEN) !=
	    SESSNAP_ID_LEN)
		_exit(5);
	for (;;)
		pause();
}

void su_child_start(struct su_child *c, enum su_child_mode mode,
		    const char *label, int n)
{
	int p[2], status;
	ssize_t got;

	ck_assert_int_eq(pipe(p), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		close(p[0]);
		child_main(p[1], mode, label, n, c->id);
	}
	close(p[1]);
	got = read_full(p[0], c->id, SESSNAP_ID_LEN);
	close(p[0]);
	if (got != SESSNAP_ID_LEN) {
		waitpid(c->pid, &status, 0);
		ck_abort_msg("child failed (status %d)",
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	c->id[SESSNAP_ID_LEN] = '\0';
	if (mode == SU_CHILD_END_KEEP || mode == SU_CHILD_END) {
		ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		c->pid = 0;
	}
}

void su_child_kill(struct su_child *c)
{
	int status;

	ck_assert_int_gt(c->pid, 0);
	ck_assert_int_eq(kill(c->pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	ck_assert(WIFSIGNALED(status));
	c->pid = 0;
}

void su_header(sessnap__header *h, const char *id, int64_t saved_ms)
{
	memset(h, 0, sizeof(*h));
	h->format_version = SESSNAP_FORMAT_VERSION;
	strlcpy(h->app, "t", sizeof(h->app));
	strlcpy(h->id, id, sizeof(h->id));
	h->seq = 3;
	h->created_ms = saved_ms - 1000;
	h->saved_ms = saved_ms;
	sessnap__owner_self(&h->owner);
}

void su_put_snap(const char *name, sessnap__header *h, const char *payload)
{
	char *hbuf = NULL, *all;
	size_t hlen = 0, plen = strlen(payload);

	h->length = plen;
	sessnap__checksum(h->checksum, payload, plen);
	ck_assert_int_eq(sessnap__header_format(&hbuf, &hlen, h), 0);
	all = malloc(hlen + plen + 1);
	ck_assert_ptr_nonnull(all);
	memcpy(all, hbuf, hlen);
	memcpy(all + hlen, payload, plen);
	all[hlen + plen] = '\n';
	tu_write_file(tu_dir, name, all, hlen + plen + 1);
	free(all);
	free(hbuf);
}

void su_id(char out[SESSNAP_ID_LEN + 1], unsigned int n)
{
	snprintf(out, SESSNAP_ID_LEN + 1, "%08x0123456789abcdef%08x", n,
		 n * 2654435761u);
}

bool su_exists(const char *name)
{
	char path[4096];
	struct stat st;

	tu_join(path, sizeof(path), tu_dir, name);
	return lstat(path, &st) == 0;
}
