/*
 * check_claim.c -- the cross-host claim and the fence (lib/claim.c).
 *
 * The claim: link(2) of a temporary file onto <id>.claim, won only when
 * the temporary file's link count is 2 afterwards, whatever link(2) said.
 * The tests race forked claimants (exactly one wins, 50 times), make
 * link(2) report a failure although it linked (an NFS retransmission's
 * EEXIST: the claim is still won), and fail every system call of a claim
 * in turn (nothing is left behind).  The fence: a session whose id has a
 * claim can neither save nor end, its files stay as they are, and the
 * refusal stays after the claim is gone; the scanner, the cleaner and
 * discard treat the claim as part of its session.
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

#include "inject.h"
#include "internal.h"
#include "scanutil.h"
#include "testutil.h"

#define NOW_MS ((int64_t)1700000000000)

/* A store whose sessions renew leases: only those can be taken over. */
static sessnap_store *shared_store_open(void)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	sessnap_store *s = NULL;
	int rc;

	o.dir = tu_dir;
	o.app = "t";
	o.flags = SESSNAP_STORE_NOTHREAD | SESSNAP_STORE_SHARED;
	o.lease_period_ms = 100;
	rc = sessnap_store_open(&s, &o);
	ck_assert_msg(rc == 0, "store open: %s", sessnap_error_last());
	return s;
}

static void claim_of(sessnap__claim *c, const char *id, unsigned int succ,
		     const char *host)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, id, sizeof(c->id));
	su_id(c->successor, succ);
	c->generation = 1;
	strlcpy(c->owner.host, host, sizeof(c->owner.host));
	strlcpy(c->owner.boot_id, "boot-of-", sizeof(c->owner.boot_id));
	strlcat(c->owner.boot_id, host, sizeof(c->owner.boot_id));
	c->owner.pid = (int64_t)getpid();
	c->claimed_ms = NOW_MS;
}

/* Temporary files left in the store (every one is dot-named). */
static int count_claim_temps(void)
{
	return tu_count_files(tu_dir, ".");
}

/* Those of one session's claim. */
static int count_temps_of(const char *id)
{
	char prefix[SESSNAP__NAME_MAX];

	snprintf(prefix, sizeof(prefix), ".%s.claim.", id);
	return tu_count_files(tu_dir, prefix);
}

/* ---- core ---------------------------------------------------------------- */

START_TEST(test_names)
{
	char id[SESSNAP_ID_LEN + 1], got[SESSNAP_ID_LEN + 1];
	char name[SESSNAP__NAME_MAX], tmp[SESSNAP__NAME_MAX + 8];

	su_id(id, 7);
	sessnap__claim_name(name, id);
	ck_assert_int_eq(sessnap__name_parse(name, got), SESSNAP__NAME_CLAIM);
	ck_assert_str_eq(got, id);
	snprintf(tmp, sizeof(tmp), ".%s.claim.aB3xZ9", id);
	ck_assert_int_eq(sessnap__name_parse(tmp, got), SESSNAP__NAME_TEMP);
	snprintf(tmp, sizeof(tmp), ".%s.claim.aB3x", id);
	ck_assert_int_eq(sessnap__name_parse(tmp, got), SESSNAP__NAME_OTHER);
	snprintf(tmp, sizeof(tmp), "%s.claim.1", id);
	ck_assert_int_eq(sessnap__name_parse(tmp, got), SESSNAP__NAME_OTHER);
	ck_assert_int_eq(sessnap__name_generation(name), -1);
}
END_TEST

START_TEST(test_claim_won_then_lost)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], why[1024], name[SESSNAP__NAME_MAX];
	sessnap__claim c, d, got;
	struct stat st;
	bool unsure;

	su_id(id, 1);
	claim_of(&c, id, 2, "hostb");
	ck_assert_int_eq(TU_WHY(why, sessnap__claim_take(store, &c, &unsure)),
			 0);
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), 1);
	ck_assert_str_eq(got.id, id);
	ck_assert_str_eq(got.successor, c.successor);
	ck_assert_str_eq(got.owner.host, "hostb");
	ck_assert_str_eq(got.owner.boot_id, "boot-of-hostb");
	ck_assert_int_eq(got.owner.pid, getpid());
	ck_assert_uint_eq(got.generation, 1);
	ck_assert_int_eq(got.claimed_ms, NOW_MS);
	sessnap__claim_name(name, id);
	ck_assert(su_exists(name));
	ck_assert_int_eq(fstatat(store->dfd, name, &st, 0), 0);
	ck_assert_uint_eq(st.st_nlink, 1); /* the temporary link is gone */
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(count_claim_temps(), 0);

	/* A second claimant loses, and learns who won. */
	claim_of(&d, id, 3, "hostc");
	ck_assert_int_eq(TU_WHY(why, sessnap__claim_take(store, &d, &unsure)),
			 SESSNAP_EFENCED);
	ck_assert_ptr_nonnull(strstr(why, id));
	ck_assert_ptr_nonnull(strstr(why, "\"hostb\""));
	ck_assert_ptr_nonnull(strstr(why, c.successor));
	ck_assert_ptr_nonnull(strstr(why, ".claim"));
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), 1);
	ck_assert_str_eq(got.successor, c.successor);
	ck_assert_int_eq(count_claim_temps(), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * An NFS client whose LINK reply was lost retransmits it, and the server
 * answers the retransmission with EEXIST: the link is ours although
 * link(2) failed.  Only the link count tells.
 */
static int (*real_linkat)(int, const char *, int, const char *, int);

static int linkat_lost_reply(int od, const char *op, int nd, const char *np,
			     int flags)
{
	if (real_linkat(od, op, nd, np, flags) < 0)
		return -1;
	errno = EEXIST;
	return -1;
}

START_TEST(test_claim_link_error_but_linked)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], why[1024];
	sessnap__claim c, got;
	bool unsure;
	int rc;

	su_id(id, 4);
	claim_of(&c, id, 5, "hostb");
	real_linkat = sessnap__sys.linkat;
	sessnap__sys.linkat = linkat_lost_reply;
	rc = TU_WHY(why, sessnap__claim_take(store, &c, &unsure));
	sessnap__sys.linkat = real_linkat;
	ck_assert_msg(rc == 0, "claim: %d %s", rc, why);
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), 1);
	ck_assert_str_eq(got.successor, c.successor);
	ck_assert_int_eq(count_claim_temps(), 0);
	sessnap_store_close(store);
}
END_TEST

/* Claimants in separate processes: exactly one wins, 50 times over. */
START_TEST(test_claim_race_one_wins)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1];
	sessnap__claim got;
	int round, k, go[2], status, wins, fenced;
	pid_t pid[3];

	for (round = 0; round < 50; round++) {
		su_id(id, 100 + (unsigned int)round);
		ck_assert_int_eq(pipe(go), 0);
		for (k = 0; k < 3; k++) {
			pid[k] = fork();
			ck_assert_int_ge(pid[k], 0);
			if (pid[k] == 0) {
				sessnap_store *cs;
				sessnap__claim c;
				bool unsure;
				char b;
				int rc;

				close(go[1]);
				cs = su_store_open();
				claim_of(&c, id, 1000 + (unsigned int)k,
					 k == 0 ? "hostb" :
					 k == 1 ? "hostc" :
						  "hostd");
				/* All start when the pipe closes. */
				while (read(go[0], &b, 1) < 0 && errno == EINTR)
					;
				rc = sessnap__claim_take(cs, &c, &unsure);
				_exit(rc == 0		    ? 0 :
				      rc == SESSNAP_EFENCED ? 1 :
							      2);
			}
		}
		close(go[0]);
		close(go[1]);
		wins = fenced = 0;
		for (k = 0; k < 3; k++) {
			ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
			ck_assert(WIFEXITED(status));
			ck_assert_int_lt(WEXITSTATUS(status), 2);
			if (WEXITSTATUS(status) == 0) {
				wins++;
				ck_assert_int_eq(
				    sessnap__claim_read(&got, store, id), 1);
				{
					char want[SESSNAP_ID_LEN + 1];

					su_id(want, 1000 + (unsigned int)k);
					ck_assert_str_eq(got.successor, want);
				}
			} else {
				fenced++;
			}
		}
		ck_assert_int_eq(wins, 1);
		ck_assert_int_eq(fenced, 2);
	}
	ck_assert_int_eq(count_claim_temps(), 0);
	sessnap_store_close(store);
}
END_TEST

/* ---- the fence ----------------------------------------------------------- */

static void put_claim_from_another_process(const char *id, const char *host)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sessnap_store *cs = su_store_open();
		sessnap__claim c;
		bool unsure;

		claim_of(&c, id, 77, host);
		c.generation = 3;
		_exit(sessnap__claim_take(cs, &c, &unsure) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_fence_refuses_save_and_end)
{
	sessnap_store *store = shared_store_open();
	sessnap_session *s = NULL;
	sessnap_save_status st = SESSNAP_SAVE_STATUS_INIT;
	char why[1024], snap[SESSNAP__NAME_MAX], claim[SESSNAP__NAME_MAX];
	char path[4096], *before, *after;
	size_t blen, alen;
	json_object *state;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	state = json_tokener_parse("{\"n\": 1}");
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	sessnap__snap_name(snap, sessnap_session_id(s));
	sessnap__claim_name(claim, sessnap_session_id(s));
	tu_join(path, sizeof(path), tu_dir, snap);
	before = tu_read_file(path, &blen);
	ck_assert_ptr_nonnull(before);

	put_claim_from_another_process(sessnap_session_id(s), "hostb");

	json_object_object_add(state, "n", json_object_new_int(2));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(TU_WHY(why, sessnap_session_flush(s)),
			 SESSNAP_EFENCED);
	ck_assert_ptr_nonnull(strstr(why, sessnap_session_id(s)));
	ck_assert_ptr_nonnull(strstr(why, claim));
	ck_assert_ptr_nonnull(strstr(why, "\"hostb\""));
	ck_assert_ptr_nonnull(strstr(why, "generation 3"));
	ck_assert_int_eq(sessnap_session_status(&st, s), 0);
	ck_assert_int_eq(st.last_error, SESSNAP_EFENCED);
	after = tu_read_file(path, &alen);
	ck_assert_ptr_nonnull(after);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(before, after, blen) == 0);
	free(after);
	ck_assert_int_eq(tu_count_files(tu_dir, "."), 0);

	/* Fenced for good: even with its claim gone. */
	ck_assert_int_eq(unlinkat(store->dfd, claim, 0), 0);
	json_object_object_add(state, "n", json_object_new_int(3));
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), SESSNAP_EFENCED);
	put_claim_from_another_process(sessnap_session_id(s), "hostb");

	/* An end neither marks nor removes what is no longer its own. */
	ck_assert_int_eq(TU_WHY(why, sessnap_session_end(s, 0)),
			 SESSNAP_EFENCED);
	after = tu_read_file(path, &alen);
	ck_assert_ptr_nonnull(after);
	ck_assert(alen == blen && memcmp(before, after, blen) == 0);
	free(after);
	ck_assert(su_exists(claim));
	free(before);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_fence_allows_unclaimed)
{
	sessnap_store *store = shared_store_open();
	sessnap_session *s = NULL;
	json_object *state;
	char id[SESSNAP_ID_LEN + 1];

	/* A claim on another id fences nothing here. */
	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	su_id(id, 9);
	put_claim_from_another_process(id, "hostb");
	state = json_tokener_parse("{\"n\": 1}");
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	json_object_put(state);
	sessnap_store_close(store);
}
END_TEST

/* A store without leases makes no fence check: one save, no lstat of a
 * claim (a session there has no lease, so no host can take it over). */
static unsigned long claim_looks;
static int (*real_fstatat)(int, const char *, struct stat *, int);

static int fstatat_count(int dfd, const char *path, struct stat *st, int fl)
{
	size_t n = strlen(path);

	if (n > 6 && strcmp(path + n - 6, ".claim") == 0)
		claim_looks++;
	return real_fstatat(dfd, path, st, fl);
}

START_TEST(test_fence_costs_local_store_nothing)
{
	sessnap_store *local = su_store_open(), *shared;
	sessnap_session *s = NULL;
	json_object *state = json_tokener_parse("{\"n\": 1}");

	real_fstatat = sessnap__sys.fstatat;
	sessnap__sys.fstatat = fstatat_count;
	ck_assert_int_eq(sessnap_session_begin(&s, local, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	ck_assert_uint_eq(claim_looks, 0);
	sessnap_store_close(local);
	shared = shared_store_open();
	ck_assert_int_eq(sessnap_session_begin(&s, shared, NULL), 0);
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(sessnap_session_flush(s), 0);
	ck_assert_uint_eq(claim_looks, 1);
	ck_assert_int_eq(sessnap_session_end(s, 0), 0);
	sessnap__sys.fstatat = real_fstatat;
	json_object_put(state);
	sessnap_store_close(shared);
}
END_TEST

/* The scanner lists a taken-over session as completed, never crashed. */
START_TEST(test_scan_taken_over)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], lone[SESSNAP_ID_LEN + 1];
	sessnap__header h;
	sessnap_info **infos = NULL;
	size_t n = 0;

	su_id(id, 11);
	su_header(&h, id, NOW_MS);
	{
		char name[SESSNAP__NAME_MAX];

		sessnap__snap_name(name, id);
		su_put_snap(name, &h, "{}");
	}
	put_claim_from_another_process(id, "hostb");
	su_id(lone, 12); /* a claim alone is no session */
	put_claim_from_another_process(lone, "hostb");
	ck_assert_int_eq(sessnap_store_scan(&infos, &n, store, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0]->id, id);
	ck_assert_int_eq(infos[0]->status, SESSNAP_VERDICT_COMPLETED);
	ck_assert(infos[0]->flags & SESSNAP_INFO_TAKEN_OVER);
	sessnap_info_free(infos, n);
	sessnap_store_close(store);
}
END_TEST

/* The cleaner waits for the crashed age, then removes the claim too;
 * discard removes it with its session. */
START_TEST(test_clean_and_discard_take_the_claim)
{
	sessnap_store *store = su_store_open();
	sessnap_clean_policy pol = SESSNAP_CLEAN_POLICY_INIT;
	sessnap_clean_report rep = SESSNAP_CLEAN_REPORT_INIT;
	char id[SESSNAP_ID_LEN + 1], id2[SESSNAP_ID_LEN + 1];
	char name[SESSNAP__NAME_MAX], claim[SESSNAP__NAME_MAX];
	sessnap__header h;

	su_id(id, 21);
	su_header(&h, id, NOW_MS);
	/* Written by the owner that was taken over, on its own host. */
	strlcpy(h.owner.host, "hosta", sizeof(h.owner.host));
	sessnap__snap_name(name, id);
	su_put_snap(name, &h, "{}");
	put_claim_from_another_process(id, "hostb");
	sessnap__claim_name(claim, id);

	pol.now_ms = NOW_MS + pol.crashed_age_ms - 1000;
	ck_assert_int_eq(sessnap_store_clean(&rep, store, &pol, NULL, NULL), 0);
	ck_assert(su_exists(name));
	ck_assert(su_exists(claim));
	pol.now_ms = NOW_MS + pol.crashed_age_ms + 1000;
	ck_assert_int_eq(sessnap_store_clean(&rep, store, &pol, NULL, NULL), 0);
	ck_assert(!su_exists(name));
	ck_assert(!su_exists(claim));

	su_id(id2, 22);
	su_header(&h, id2, NOW_MS);
	sessnap__snap_name(name, id2);
	su_put_snap(name, &h, "{}");
	put_claim_from_another_process(id2, "hostb");
	sessnap__claim_name(claim, id2);
	ck_assert_int_eq(sessnap_store_discard(store, id2), 0);
	ck_assert(!su_exists(name));
	ck_assert(!su_exists(claim));

	/* A lock file and a claim that a failed removal left: both go. */
	sessnap__lock_name(name, id2);
	tu_write_file(tu_dir, name, "", 0);
	put_claim_from_another_process(id2, "hostb");
	ck_assert_int_eq(sessnap_store_clean(&rep, store, &pol, NULL, NULL), 0);
	ck_assert(!su_exists(name));
	ck_assert(!su_exists(claim));
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/*
 * A session another host ended cleanly is reopened across hosts like a
 * crashed one: under a new id, claimed, so a second host cannot reopen it
 * too (their locks do not see each other).
 */
START_TEST(test_reopen_completed_of_another_host)
{
	sessnap_store *store = shared_store_open();
	char id[SESSNAP_ID_LEN + 1], name[SESSNAP__NAME_MAX], why[1024];
	sessnap_session *s = NULL, *t = NULL;
	sessnap__claim got;
	sessnap__header h;

	su_id(id, 61);
	su_header(&h, id, NOW_MS);
	strlcpy(h.owner.host, "hosta", sizeof(h.owner.host));
	h.completed = true;
	h.adoptions = 2;
	sessnap__snap_name(name, id);
	su_put_snap(name, &h, "{\"n\":7}");
	ck_assert_int_eq(
	    TU_WHY(why, sessnap_session_adopt(&s, NULL, NULL, store, id)), 0);
	ck_assert_str_ne(sessnap_session_id(s), id);
	ck_assert_uint_eq(s->adoptions, 0);
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), 1);
	ck_assert_str_eq(got.successor, sessnap_session_id(s));
	ck_assert_uint_eq(got.generation, 3);
	ck_assert_int_eq(
	    TU_WHY(why, sessnap_session_adopt(&t, NULL, NULL, store, id)),
	    SESSNAP_EFENCED);
	ck_assert_ptr_nonnull(strstr(why, sessnap_session_id(s)));
	ck_assert_ptr_null(t);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

/* A file system without hard links cannot claim: a clear error, no file. */
static int linkat_eperm(int od, const char *op, int nd, const char *np,
			int flags)
{
	(void)od;
	(void)op;
	(void)nd;
	(void)np;
	(void)flags;
	errno = EPERM;
	return -1;
}

START_TEST(test_claim_without_hard_links)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], why[1024];
	sessnap__claim c, got;
	bool unsure;
	int rc;

	su_id(id, 31);
	claim_of(&c, id, 32, "hostb");
	real_linkat = sessnap__sys.linkat;
	sessnap__sys.linkat = linkat_eperm;
	rc = TU_WHY(why, sessnap__claim_take(store, &c, &unsure));
	sessnap__sys.linkat = real_linkat;
	ck_assert_int_eq(rc, SESSNAP_EPERM);
	ck_assert_ptr_nonnull(strstr(why, "link of the claim"));
	ck_assert_ptr_nonnull(strstr(why, ".claim"));
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), 0);
	ck_assert_int_eq(tu_count_files(tu_dir, NULL), 0);
	sessnap_store_close(store);
}
END_TEST

/* Every call of a claim fails in turn: an error naming a file, and
 * nothing left behind but a won claim. */
START_TEST(test_claim_faults)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], why[1024];
	sessnap__claim c, got;
	unsigned long nth;
	bool unsure;
	int rc, fds = tu_count_fds();

	for (nth = 1;; nth++) {
		su_id(id, 40 + (unsigned int)nth);
		claim_of(&c, id, 1, "hostb");
		sessnap__fault_arm(SESSNAP__SYS_ALL, nth, EIO, 0);
		rc = TU_WHY(why, sessnap__claim_take(store, &c, &unsure));
		if (sessnap__fault_fired() == 0) {
			sessnap__fault_disarm();
			ck_assert_int_eq(rc, 0);
			break;
		}
		sessnap__fault_disarm();
		ck_assert(!unsure || rc < 0);
		if (rc == 0 || rc == SESSNAP_EDURABILITY) {
			/* The close, the unlink of the temporary file or the
			 * directory's sync failed: the claim is ours all the
			 * same, and a temporary file left is the cleaner's. */
			ck_assert_int_eq(sessnap__claim_read(&got, store, id),
					 1);
			ck_assert_str_eq(got.successor, c.successor);
			continue;
		}
		ck_assert_msg(rc == SESSNAP_EIO, "call %lu: %d %s", nth, rc,
			      why);
		ck_assert_msg(strstr(why, tu_dir) != NULL, "call %lu: %s", nth,
			      why);
		ck_assert_int_eq(count_temps_of(id), 0);
		if (sessnap__claim_read(&got, store, id) == 1) {
			/* Only a failed fstat after the link can leave a
			 * claim, and then it was confirmed ours or the
			 * caller was told it cannot know. */
			ck_assert(unsure);
		}
	}
	ck_assert_uint_gt(nth, 4);
	ck_assert_int_eq(tu_count_fds(), fds);
	sessnap_store_close(store);
}
END_TEST

/* What is not a claim record still fences, and is left as it is. */
START_TEST(test_fence_on_bad_claim)
{
	sessnap_store *store = shared_store_open();
	sessnap_session *s = NULL;
	char why[1024], claim[SESSNAP__NAME_MAX];
	sessnap__claim got;
	json_object *state;

	ck_assert_int_eq(sessnap_session_begin(&s, store, NULL), 0);
	sessnap__claim_name(claim, sessnap_session_id(s));
	tu_write_file(tu_dir, claim, "not a claim\n", 12);
	ck_assert_int_eq(TU_WHY(why, sessnap__claim_read(
					 &got, store, sessnap_session_id(s))),
			 SESSNAP_ECORRUPT);
	state = json_tokener_parse("{\"n\": 1}");
	ck_assert_int_eq(sessnap_session_update(s, state), 0);
	ck_assert_int_eq(TU_WHY(why, sessnap_session_flush(s)),
			 SESSNAP_EFENCED);
	ck_assert_ptr_nonnull(strstr(why, claim));
	ck_assert(su_exists(claim));
	json_object_put(state);
	sessnap_session_release(s);
	sessnap_store_close(store);
}
END_TEST

START_TEST(test_claim_not_regular)
{
	sessnap_store *store = su_store_open();
	char id[SESSNAP_ID_LEN + 1], claim[SESSNAP__NAME_MAX], path[4096];
	sessnap__claim got;

	su_id(id, 51);
	sessnap__claim_name(claim, id);
	tu_join(path, sizeof(path), tu_dir, claim);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), SESSNAP_EUNSAFE);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("elsewhere", path), 0);
	ck_assert_int_eq(sessnap__claim_read(&got, store, id), SESSNAP_EUNSAFE);
	sessnap_store_close(store);
}
END_TEST

Suite *claim_suite(void);

Suite *claim_suite(void)
{
	Suite *s = suite_create("claim");
	TCase *tc;

	tc = tcase_create("core");
	tu_tcase_add_tmpdir(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_claim_won_then_lost);
	tcase_add_test(tc, test_claim_link_error_but_linked);
	tcase_add_test(tc, test_claim_race_one_wins);
	tcase_add_test(tc, test_fence_refuses_save_and_end);
	tcase_add_test(tc, test_fence_allows_unclaimed);
	tcase_add_test(tc, test_fence_costs_local_store_nothing);
	tcase_add_test(tc, test_scan_taken_over);
	tcase_add_test(tc, test_clean_and_discard_take_the_claim);
	tcase_add_test(tc, test_reopen_completed_of_another_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tu_tcase_add_tmpdir(tc);
	tcase_add_test(tc, test_claim_without_hard_links);
	tcase_add_test(tc, test_claim_faults);
	tcase_add_test(tc, test_fence_on_bad_claim);
	tcase_add_test(tc, test_claim_not_regular);
	suite_add_tcase(s, tc);
	return s;
}

TU_MAIN(claim_suite)
