/*
 * hostctl.c - play one host of several that share a store
 *
 *	hostctl [--host NAME] [--boot-id ID] [--clock-offset-ms MS]
 *		[--lease-ms MS] DIR COMMAND [ARG]
 *
 * For tests/cli/hosts.sh, which plays several machines on one: --host
 * moves the process into a UTS namespace of its own (unshare(2)
 * CLONE_NEWUTS) and sets its host name there, before the library asks
 * for it; --boot-id and --clock-offset-ms go to the test seam
 * (tests/inject.c reads SESSNAP_TEST_BOOT_ID and
 * SESSNAP_TEST_CLOCK_OFFSET_MS before main(), so the program sets them
 * and runs itself again).  The store DIR is opened shared (leases on), app
 * "hosts", with the lease period --lease-ms (default 200).  Each process
 * is a host of its own, whose flock(2) locks the others do not see (see
 * open_unlocked()).
 *
 * Commands:
 *	begin N		begin N sessions, save {"n": 1} in each, print
 *			"id <id>" for each, then serve (below)
 *	adopt ID	adopt ID: "adopted <id> n=<n>", then serve; or
 *			"error <SESSNAP_E...> <message>" and exit 1
 *	scan		"<id> <verdict> <host> <flags>" per session
 *	clean		clean with every age 0: "<action> <id>" per event
 *	show ID		"n=<n>" of the session's state
 *
 * Serving reads commands from standard input, one a line, for the
 * session(s) begun or adopted, and answers each with one line, "ok" or
 * "error <SESSNAP_E...> <message>":
 *	save N		update every session to {"n": N} and flush
 *	end		end every session (removing it)
 * At end of input the program exits without ending anything, as a crash
 * would leave it.
 *
 * Exit status: 0, 1 (a library error), 2 (usage), 77 (no UTS namespace
 * here: not permitted).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject.h"
#include "internal.h"

#define SESSIONS_MAX 64

static sessnap_session *sessions[SESSIONS_MAX];
static size_t nsessions;

static int fail(int rc)
{
	printf("error %s %s\n", sessnap_error_name(rc), sessnap_error_last());
	fflush(stdout);
	return 1;
}

static int save_all(int n)
{
	json_object *state = json_object_new_object();
	size_t i;
	int rc = 0;

	json_object_object_add(state, "n", json_object_new_int(n));
	for (i = 0; i < nsessions && rc == 0; i++)
		if ((rc = sessnap_session_update(sessions[i], state)) == 0)
			rc = sessnap_session_flush(sessions[i]);
	json_object_put(state);
	return rc;
}

static int serve(void)
{
	char line[256];
	const char *err = NULL;
	size_t i;
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "save ", 5) == 0) {
			int n = (int)strtonum(line + 5, 0, 1000000000, &err);

			rc = err != NULL ? SESSNAP_EINVAL : save_all(n);
		} else if (strcmp(line, "end") == 0) {
			rc = 0;
			for (i = 0; i < nsessions; i++) {
				int r = sessnap_session_end(sessions[i], 0);

				if (r < 0 && rc == 0)
					rc = r;
			}
			nsessions = 0;
		} else {
			rc = sessnap__error(SESSNAP_EINVAL,
					    "unknown command \"%s\"", line);
		}
		if (rc < 0)
			fail(rc);
		else
			printf("ok\n");
		fflush(stdout);
	}
	return 0;
}

static int n_of(json_object *state)
{
	json_object *v;

	if (state == NULL || !json_object_object_get_ex(state, "n", &v))
		return -1;
	return json_object_get_int(v);
}

static void print_clean_event(const sessnap_clean_event *ev, void *payload)
{
	(void)payload;
	printf("%s %s\n", sessnap_clean_action_name(ev->action),
	       ev->id ? ev->id : "-");
}

static int run(sessnap_store *store, const char *cmd, const char *arg)
{
	const char *err = NULL;
	json_object *state = NULL;
	sessnap_session *s = NULL;
	int rc, n;

	if (strcmp(cmd, "begin") == 0) {
		n = arg ? (int)strtonum(arg, 1, SESSIONS_MAX, &err) : 1;
		if (err != NULL)
			return 2;
		while (nsessions < (size_t)n) {
			if ((rc = sessnap_session_begin(&s, store, NULL)) < 0)
				return fail(rc);
			sessions[nsessions++] = s;
		}
		if ((rc = save_all(1)) < 0)
			return fail(rc);
		for (n = 0; (size_t)n < nsessions; n++)
			printf("id %s\n", sessnap_session_id(sessions[n]));
		fflush(stdout);
		return serve();
	}
	if (strcmp(cmd, "adopt") == 0 && arg != NULL) {
		rc = sessnap_session_adopt(&s, &state, NULL, store, arg);
		if (rc < 0)
			return fail(rc);
		sessions[nsessions++] = s;
		printf("adopted %s n=%d\n", sessnap_session_id(s), n_of(state));
		fflush(stdout);
		json_object_put(state);
		return serve();
	}
	if (strcmp(cmd, "show") == 0 && arg != NULL) {
		if ((rc = sessnap_store_load(&state, NULL, store, arg)) < 0)
			return fail(rc);
		printf("n=%d\n", n_of(state));
		json_object_put(state);
		return 0;
	}
	if (strcmp(cmd, "scan") == 0) {
		sessnap_info **infos = NULL;
		size_t count = 0, i;

		if ((rc = sessnap_store_scan(&infos, &count, store, 0)) < 0)
			return fail(rc);
		for (i = 0; i < count; i++)
			printf("%s %s %s %#x\n", infos[i]->id,
			       sessnap_verdict_name(infos[i]->status),
			       infos[i]->owner.host[0] ? infos[i]->owner.host :
							 "-",
			       infos[i]->flags);
		sessnap_info_free(infos, count);
		return 0;
	}
	if (strcmp(cmd, "clean") == 0) {
		sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;

		pol.completed_age_ms = 0;
		pol.crashed_age_ms = 0;
		pol.temp_age_ms = 0;
		rc = sessnap_store_clean(NULL, store, &pol, print_clean_event,
					 NULL);
		return rc < 0 ? fail(rc) : 0;
	}
	return 2;
}

/*
 * Each process plays a host of its own, and a host's flock(2) locks are
 * not seen by the others, as on NFS mounted with local_lock=flock (or
 * lock=local, or NFSv3 without a lock manager): so the other "hosts" on
 * this machine must judge its sessions by their leases alone.  The lock
 * calls become no-ops that succeed; the files are still opened as the
 * library asks.
 */
static int open_unlocked(int dfd, const char *path, int flags, mode_t mode)
{
	return sessnap__sys.openat(dfd, path, flags, mode);
}

static int flock_invisible(int fd, int how)
{
	(void)fd;
	(void)how;
	return 0;
}

/* The seam reads its variables before main(): set them, run again. */
static void seam_env(const char *name, const char *value, char **argv)
{
	const char *now = getenv(name);

	if (value == NULL || (now != NULL && strcmp(now, value) == 0))
		return;
	if (setenv(name, value, 1) < 0) {
		perror("hostctl: setenv");
		exit(1);
	}
	execv("/proc/self/exe", argv);
	perror("hostctl: exec");
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "boot-id", required_argument, NULL, 'b' },
		{ "clock-offset-ms", required_argument, NULL, 'c' },
		{ "lease-ms", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	const char *host = NULL, *boot = NULL, *offset = NULL, *err = NULL;
	sessnap_store *store = NULL;
	unsigned int lease = 200;
	int c, rc;

	/* Links the seam (tests/inject.c), which installs itself. */
	sessnap__fault_disarm();
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'b':
			boot = optarg;
			break;
		case 'c':
			offset = optarg;
			break;
		case 'l':
			lease =
			    (unsigned int)strtonum(optarg, 10, 3600000, &err);
			if (err != NULL)
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 2)
		return 2;
	seam_env("SESSNAP_TEST_BOOT_ID", boot, argv);
	seam_env("SESSNAP_TEST_CLOCK_OFFSET_MS", offset, argv);
	if (host != NULL) {
		if (unshare(CLONE_NEWUTS) < 0) {
			fprintf(stderr, "hostctl: unshare(CLONE_NEWUTS): %s\n",
				strerror(errno));
			return errno == EPERM || errno == EINVAL ||
				       errno == ENOSYS ?
				   77 :
				   1;
		}
		if (sethostname(host, strlen(host)) < 0) {
			fprintf(stderr, "hostctl: sethostname: %s\n",
				strerror(errno));
			return 1;
		}
	}
	sessnap__sys.flopenat = open_unlocked;
	sessnap__sys.flock = flock_invisible;
	o.dir = argv[optind];
	o.app = "hosts";
	o.flags = SESSNAP_STORE_SHARED;
	o.lease_period_ms = lease;
	if (getenv("SESSNAP_TEST_FSYNC") != NULL &&
	    strcmp(getenv("SESSNAP_TEST_FSYNC"), "0") == 0)
		o.durability = SESSNAP_DURABILITY_NONE;
	if ((rc = sessnap_store_open(&store, &o)) < 0)
		return fail(rc);
	rc = run(store, argv[optind + 1],
		 argc - optind > 2 ? argv[optind + 2] : NULL);
	/* Nothing ended: what is left is what a crash leaves. */
	fflush(stdout);
	_exit(rc);
}
