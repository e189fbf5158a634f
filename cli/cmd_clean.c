/*
 * cmd_clean.c - "snapshot-clean" and "sessnap clean": run the cleaner
 *
 * Both programs are this one function: snapshot-clean is the name that
 * cron jobs and systemd timers call, "sessnap clean" the one people find
 * next to list and discard.  It turns the command line into a
 * sessnap_clean_policy, runs sessnap_store_clean() on one store, on the store
 * of one application, or on every application's store under the default base
 * directory (--all-apps), and prints each decision as it is made: a line
 * per removed file, or one JSON event per decision with --json.  Output
 * is streamed, so cleaning a huge store takes no more memory than a small
 * one.
 *
 * Exit status: 0 when everything that should go is gone, 1 when some
 * removal (or the opening of a store) failed, 2 on a usage error.
 *
 * A store that cannot be opened or listed is not a failed removal: its
 * error is printed once, it is not counted in "N removals failed", and
 * when no store at all could be cleaned no summary follows the error, so
 * a refused store (mode 0777, another owner) prints only the refusal.
 * The JSON document still counts it in "failed", as it always has.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "age.h"
#include "commands.h"
#include "common.h"

struct run {
	const char *prog;
	bool json, verbose, all_apps;
	sessnap_clean_policy pol;
	/* Totals over every store.  `failed` counts every failure, the
	 * stores that could not be opened or listed included; those are
	 * also in `stores_failed`.  `stores_cleaned` counts the stores that
	 * were cleaned, fully or in part. */
	uint64_t sessions, temps, locks, files, bytes, failed;
	uint64_t stores_failed, stores_cleaned;
	bool first_store, first_event;
	int64_t now;
};

static const char *file_name(sessnap_clean_file f)
{
	switch (f) {
	case SESSNAP_CLEAN_FILE_SNAPSHOT:
		return "snapshot";
	case SESSNAP_CLEAN_FILE_PREV:
		return "previous";
	case SESSNAP_CLEAN_FILE_LOCK:
		return "lock";
	case SESSNAP_CLEAN_FILE_TEMP:
		return "temporary";
	}
	return "unknown";
}

/* Words for a decision in the terminal output (SESSNAP_CLEAN_ACTION_MAP). */
static const char *action_words(sessnap_clean_action a)
{
	switch (a) {
#define WORDS_(name, num, str, field, words, desc)                            \
	case SESSNAP_CLEAN_##name:                                            \
		return words;
		SESSNAP_CLEAN_ACTION_MAP(WORDS_)
#undef WORDS_
	}
	return "unknown";
}

static void print_event_json(struct run *r, const sessnap_clean_event *ev)
{
	json_object *o = json_object_new_object();

	json_object_object_add(
	    o, "action",
	    json_object_new_string(sessnap_clean_action_name(ev->action)));
	json_object_object_add(o, "file",
			       json_object_new_string(file_name(ev->file)));
	json_object_object_add(o, "name", json_object_new_string(ev->name));
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	json_object_object_add(o, "bytes",
			       json_object_new_int64((int64_t)ev->bytes));
	json_object_object_add(
	    o, "age_ms",
	    ev->age_ms < 0 ? NULL : json_object_new_int64(ev->age_ms));
	json_object_object_add(
	    o, "error",
	    ev->action == SESSNAP_CLEAN_FAILED ?
		json_object_new_string(sessnap_error_last()) :
		NULL);
	printf("%s\n    %s", r->first_event ? "" : ",",
	       json_object_to_json_string_ext(
		   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	r->first_event = false;
	json_object_put(o);
}

static void on_event(const sessnap_clean_event *ev, void *payload)
{
	struct run *r = payload;
	char size[16], age[32];

	if (r->json) {
		print_event_json(r, ev);
		return;
	}
	if (ev->action == SESSNAP_CLEAN_FAILED) {
		fprintf(stderr, "%s: could not remove %s: %s\n", r->prog,
			ev->name, sessnap_error_last());
		return;
	}
	if (ev->action <= SESSNAP_CLEAN_REMOVE_LOCK) {
		sessnap__size_format(size, sizeof(size), ev->bytes);
		if (ev->age_ms >= 0)
			sessnap__age_format(age, sizeof(age), r->now,
					    r->now - ev->age_ms);
		printf("%s %s (%s, %s file%s%s, %s)\n",
		       ev->dry_run ? "would remove" : "removed", ev->name,
		       action_words(ev->action), file_name(ev->file),
		       ev->age_ms >= 0 ? ", written " : "",
		       ev->age_ms >= 0 ? age : "", size);
		return;
	}
	/* Kept files are listed with -v; the ones a person must look at
	 * (corrupt, not regular) always. */
	if (r->verbose || ev->action == SESSNAP_CLEAN_KEEP_CORRUPT ||
	    ev->action == SESSNAP_CLEAN_SKIP_UNSAFE)
		printf("kept %s: %s\n", ev->name, action_words(ev->action));
}

static void add_totals(struct run *r, const sessnap_clean_report *rep)
{
	r->sessions += rep->removed_completed + rep->removed_crashed +
		       rep->removed_corrupt;
	r->temps += rep->removed_temp;
	r->locks += rep->removed_lock;
	r->files += rep->files_removed;
	r->bytes += rep->bytes_freed;
	r->failed += rep->failed;
}

static json_object *report_json(const sessnap_clean_report *rep)
{
	json_object *o = json_object_new_object();

#define F(name)                                                                \
	json_object_object_add(o, #name,                                       \
			       json_object_new_int64((int64_t)rep->name))
	F(removed_completed);
	F(removed_crashed);
	F(removed_corrupt);
	F(removed_temp);
	F(removed_lock);
	F(kept_running);
	F(kept_young);
	F(kept_newest);
	F(kept_newer);
	F(kept_corrupt);
	F(kept_foreign);
	F(skipped_unsafe);
	F(failed);
	F(files_removed);
	F(bytes_freed);
#undef F
	return o;
}

static void json_store_open(struct run *r, const char *dir)
{
	json_object *d = json_object_new_string(dir);

	printf(
	    "%s\n  {\"dir\": %s, \"events\": [", r->first_store ? "" : ",",
	    json_object_to_json_string_ext(d, JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(d);
	r->first_store = false;
	r->first_event = true;
}

static void json_store_close(const sessnap_clean_report *rep, const char *error)
{
	json_object *rj = rep ? report_json(rep) : NULL;
	json_object *ej = error ? json_object_new_string(error) : NULL;

	printf("%s],\n   \"report\": %s,\n   \"error\": %s}",
	       rep && rep->files_removed + rep->kept_running + rep->kept_young +
			       rep->kept_newest + rep->kept_newer +
			       rep->kept_corrupt + rep->kept_foreign +
			       rep->skipped_unsafe + rep->failed >
			   0 ?
		   "\n  " :
		   "",
	       rj ? json_object_to_json_string_ext(rj, JSON_C_TO_STRING_PLAIN) :
		    "null",
	       ej ? json_object_to_json_string_ext(
			ej, JSON_C_TO_STRING_NOSLASHESCAPE) :
		    "null");
	json_object_put(rj);
	json_object_put(ej);
}

/* Clean an open store, and close it. */
static void clean_store(struct run *r, sessnap_store *store)
{
	sessnap_clean_report rep = SESSNAP_CLEAN_REPORT_INIT;
	int rc;

	if (r->json)
		json_store_open(r, sessnap_store_path(store));
	else if (r->verbose)
		printf("cleaning %s\n", sessnap_store_path(store));
	rc = sessnap_store_clean(&rep, store, &r->pol, on_event, r);
	if (rc >= 0 || rep.failed > 0 || rep.files_removed > 0)
		r->stores_cleaned++;
	if (rc < 0 && rep.failed == 0) {
		/* The store could not be listed at all. */
		rep.failed++;
		r->stores_failed++;
		if (!r->json)
			lib_error(r->prog, rc, "cleaning %s failed",
				  sessnap_store_path(store));
	}
	add_totals(r, &rep);
	if (r->json)
		json_store_close(&rep, rc < 0 ? sessnap_error_last() : NULL);
	sessnap_store_close(store);
}

/*
 * Open one store (dir/app as for open_store()).  Returns EXIT_OK with
 * *out set, or NULL when it does not exist and that is fine; EXIT_FAIL
 * when it cannot be opened (counted as a failure; open_store() already
 * said why); EXIT_USAGE for a bad name.
 */
static int open_one(sessnap_store **out, struct run *r, const char *dir,
		    const char *app, bool missing_ok)
{
	int rc = open_store(out, r->prog, dir, app, SESSNAP_STORE_READONLY,
			    missing_ok);

	if (rc == EXIT_FAIL) {
		r->failed++;
		r->stores_failed++;
	}
	return rc;
}

/* Report a store that could not be opened in the JSON document. */
static void json_store_failed(struct run *r, const char *name)
{
	if (r->json) {
		json_store_open(r, name);
		json_store_close(NULL, sessnap_error_last());
	}
}

/* Every application's store under the default base directory. */
static int clean_all(struct run *r)
{
	char *probe = NULL, *slash, path[PATH_MAX];
	sessnap_store *store;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc;

	/* The base is the parent of any application's default store. */
	if ((rc = sessnap_store_default_dir(&probe, "sessnap")) < 0) {
		lib_error(r->prog, rc, "cannot find the default stores");
		return EXIT_FAIL;
	}
	slash = strrchr(probe, '/');
	*slash = '\0';
	d = opendir(probe);
	if (d == NULL) {
		rc = errno;
		if (rc == ENOENT) {
			if (r->verbose && !r->json)
				printf("no stores under %s\n", probe);
			free(probe);
			return EXIT_OK;
		}
		fprintf(stderr, "%s: cannot list %s: %s\n", r->prog, probe,
			strerror(rc));
		free(probe);
		r->failed++;
		r->stores_failed++;
		return EXIT_FAIL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", probe,
				     de->d_name) >= sizeof(path))
			continue;
		if (open_one(&store, r, path, NULL, false) == EXIT_OK)
			clean_store(r, store);
		else
			json_store_failed(r, path);
	}
	closedir(d);
	free(probe);
	return EXIT_OK;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP | --all-apps) [OPTION]...\n"
		"Remove old sessnap sessions and orphaned files, safely.\n"
		"\n"
		"  -d, --dir DIR                 clean the store directory "
		"DIR\n"
		"  -a, --app APP                 clean the default store of "
		"APP\n"
		"  -A, --all-apps                clean every application's "
		"default store\n"
		"      --older-than AGE          completed sessions older "
		"than AGE (7d)\n"
		"      --crashed-older-than AGE  crashed sessions older than "
		"AGE (30d)\n"
		"      --tmp-older-than AGE      orphaned temporary files "
		"older than AGE (1h)\n"
		"  -k, --keep N                  always keep the N newest "
		"sessions\n"
		"      --include-corrupt         also remove corrupt "
		"sessions\n"
		"  -n, --dry-run                 show what would be removed, "
		"remove nothing\n"
		"      --json                    print JSON (see "
		"snapshot-clean(1))\n"
		"  -v, --verbose                 also list what is kept and "
		"why\n"
		"  -h, --help                    show this help\n"
		"  -V, --version                 show the version\n"
		"\n"
		"AGE is %s.\n"
		"Exit status: 0 success, 1 some removals failed or a store "
		"could not be\nopened, 2 usage error.\n",
		prog, AGE_EXPECTED);
}

static int parse_age(int64_t *out, const char *prog, const char *opt,
		     const char *arg)
{
	const char *e = NULL;

	if (age_parse(out, arg, &e) < 0)
		return usage_error(prog, "%s '%s': %s; expected %s", opt, arg,
				   e, AGE_EXPECTED);
	return CMD_CONTINUE;
}

enum { OPT_OLDER = 256, OPT_CRASHED, OPT_TMP, OPT_CORRUPT, OPT_JSON };

static int parse_keep(struct run *r, const char *arg)
{
	const char *e = NULL;

	r->pol.keep =
	    (unsigned int)strtonum(arg, 0, SESSNAP_CLEAN_KEEP_MAX, &e);
	if (e != NULL)
		return usage_error(r->prog,
				   "--keep '%s': %s; expected a whole number "
				   "from 0 to %u",
				   arg, e, SESSNAP_CLEAN_KEEP_MAX);
	return CMD_CONTINUE;
}

/* The cleaner's own options, for cmd_parse(). */
static int clean_option(int c, const char *arg, void *payload)
{
	struct run *r = payload;

	switch (c) {
	case 'A':
		r->all_apps = true;
		break;
	case OPT_OLDER:
		return parse_age(&r->pol.completed_age_ms, r->prog,
				 "--older-than", arg);
	case OPT_CRASHED:
		return parse_age(&r->pol.crashed_age_ms, r->prog,
				 "--crashed-older-than", arg);
	case OPT_TMP:
		return parse_age(&r->pol.temp_age_ms, r->prog,
				 "--tmp-older-than", arg);
	case 'k':
		return parse_keep(r, arg);
	case OPT_CORRUPT:
		r->pol.flags |= SESSNAP_CLEAN_INCLUDE_CORRUPT;
		break;
	case 'n':
		r->pol.flags |= SESSNAP_CLEAN_DRY_RUN;
		break;
	case OPT_JSON:
		r->json = true;
		break;
	case 'v':
		r->verbose = true;
		break;
	default: /* 'V' */
		printf("%s (sessnap) %s\n", r->prog, SESSNAP_VERSION_STRING);
		return EXIT_OK;
	}
	return CMD_CONTINUE;
}

static void print_totals_json(const struct run *r)
{
	printf("%s],\n \"sessions_removed\": %llu, \"temp_removed\": "
	       "%llu, \"locks_removed\": %llu, \"files_removed\": "
	       "%llu, \"bytes_freed\": %llu, \"failed\": %llu}\n",
	       r->first_store ? "" : "\n ", (unsigned long long)r->sessions,
	       (unsigned long long)r->temps, (unsigned long long)r->locks,
	       (unsigned long long)r->files, (unsigned long long)r->bytes,
	       (unsigned long long)r->failed);
}

static void print_totals(const struct run *r)
{
	bool dry = (r->pol.flags & SESSNAP_CLEAN_DRY_RUN) != 0;
	uint64_t removals = r->failed - r->stores_failed;
	char size[16];

	/* Nothing but stores that could not be opened: their errors are
	 * the whole output. */
	if (r->stores_cleaned == 0 && r->stores_failed > 0)
		return;
	sessnap__size_format(size, sizeof(size), r->bytes);
	printf("%s %llu session%s, %llu temporary file%s, %llu lock "
	       "file%s: %llu file%s, %s %s\n",
	       dry ? "would remove" : "removed",
	       (unsigned long long)r->sessions, r->sessions == 1 ? "" : "s",
	       (unsigned long long)r->temps, r->temps == 1 ? "" : "s",
	       (unsigned long long)r->locks, r->locks == 1 ? "" : "s",
	       (unsigned long long)r->files, r->files == 1 ? "" : "s", size,
	       dry ? "would be freed" : "freed");
	if (removals)
		fprintf(stderr, "%s: %llu removal%s failed\n", r->prog,
			(unsigned long long)removals, removals == 1 ? "" : "s");
}

int cmd_clean(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		{ "all-apps", no_argument, NULL, 'A' },
		{ "older-than", required_argument, NULL, OPT_OLDER },
		{ "crashed-older-than", required_argument, NULL, OPT_CRASHED },
		{ "tmp-older-than", required_argument, NULL, OPT_TMP },
		{ "keep", required_argument, NULL, 'k' },
		{ "include-corrupt", no_argument, NULL, OPT_CORRUPT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct cmd_spec spec = { .shortopts = "Ak:nvV",
					      .longopts = opts,
					      .operands = CMD_NO_OPERANDS,
					      .usage = usage,
					      .option = clean_option };
	struct run r;
	sessnap_store *store = NULL;
	struct cmd_args a;
	int rc;

	memset(&r, 0, sizeof(r));
	r.pol = (sessnap_clean_policy)SESSNAP_CLEAN_POLICY_INIT;
	r.prog = prog;
	r.first_store = true;
	r.now = now_ms();
	if ((rc = cmd_parse(&a, &spec, argc, argv, prog, &r)) != CMD_CONTINUE)
		return rc;
	if ((a.dir != NULL) + (a.app != NULL) + r.all_apps != 1)
		return usage_error(prog, "give exactly one of --dir DIR, "
					 "--app APP or --all-apps");

	/* A single store is opened first: a bad name is a usage error
	 * before anything is printed. */
	if (!r.all_apps) {
		rc = open_one(&store, &r, a.dir, a.app, a.app != NULL);
		if (rc == EXIT_USAGE)
			return rc;
	}
	if (r.json)
		printf("{\"version\": 1, \"dry_run\": %s, \"stores\": [",
		       (r.pol.flags & SESSNAP_CLEAN_DRY_RUN) ? "true" :
							       "false");
	if (r.all_apps)
		clean_all(&r);
	else if (store != NULL)
		clean_store(&r, store);
	else if (rc != EXIT_OK)
		json_store_failed(&r, a.dir ? a.dir : a.app);
	else if (r.verbose && !r.json)
		printf("no store for %s: nothing to clean\n", a.app);

	if (r.json)
		print_totals_json(&r);
	else
		print_totals(&r);
	if (flush_stdout(prog) != EXIT_OK)
		return EXIT_FAIL;
	return r.failed ? EXIT_FAIL : EXIT_OK;
}
