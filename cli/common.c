/*
 * common.c - helpers shared by sessnap and snapshot-clean
 *
 * The commands see only <sessnap.h>, like any program that links the
 * library.  This module holds what they all need: one way to report a
 * usage error (exit 2) or a failure (exit 1), one way to open the store the
 * user named, and the small formatting rules of the terminal output
 * (colour only on a terminal and never with NO_COLOR).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libutil.h>

#include "common.h"

int usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

void lib_error(const char *prog, int code, const char *fmt, ...)
{
	va_list ap;
	const char *msg = sessnap_error_last();

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", msg[0] ? msg : sessnap_error_string(code));
}

/*
 * Whether `app` is a valid application name, by the library's own rule:
 * sessnap_store_default_dir() refuses exactly the names that opening a
 * store refuses (SESSNAP_EBADNAME), so the commands keep no copy of it.
 */
static bool app_valid(const char *app)
{
	char *path = NULL;
	int rc = sessnap_store_default_dir(&path, app);

	free(path);
	return rc != SESSNAP_EBADNAME;
}

/* The application name a bare --dir stands for: its last component. */
static const char *app_of_dir(char *buf, size_t len, const char *dir)
{
	const char *base;
	size_t n;

	if (strlcpy(buf, dir, len) >= len)
		return "sessnap";
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	return app_valid(base) ? base : "sessnap";
}

/* --read-bound, or 0 for the library's default: kept for open_store(). */
static size_t read_bound;

static int set_read_bound(const char *prog, const char *arg)
{
	uint64_t n;

	if (arg[0] < '0' || arg[0] > '9' || expand_number(arg, &n) < 0 ||
	    n == 0 || n > SIZE_MAX)
		return usage_error(prog,
				   "invalid --read-bound '%s': give a size in "
				   "bytes, with an optional k, M or G suffix "
				   "(e.g. 512M)",
				   arg);
	read_bound = (size_t)n;
	return EXIT_OK;
}

/* The options every command takes, in front of its own. */
static const struct option common_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "app", required_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ "read-bound", required_argument, NULL, 'B' },
};
#define NCOMMON (sizeof(common_opts) / sizeof(common_opts[0]))
/* Room for the common options, a command's own and the zero entry. */
#define MAX_OPTS 32

/*
 * The long options of a command: the common ones (without --read-bound
 * when it does not take it), then its own, then the zero entry.
 */
static void merge_options(struct option *all, const struct cmd_spec *spec)
{
	size_t n = 0, i;

	for (i = 0; i < NCOMMON; i++)
		if (common_opts[i].val != 'B' || spec->read_bound)
			all[n++] = common_opts[i];
	for (i = 0; spec->longopts && spec->longopts[i].name; i++)
		if (n < MAX_OPTS - 1)
			all[n++] = spec->longopts[i];
	memset(&all[n], 0, sizeof(all[n]));
}

static int check_operands(const struct cmd_args *a, enum cmd_operands want)
{
	switch (want) {
	case CMD_NO_OPERANDS:
		if (a->argc > 0)
			return usage_error(a->prog, "unexpected argument '%s'",
					   a->argv[0]);
		break;
	case CMD_ONE_ID:
		if (a->argc != 1)
			return usage_error(a->prog,
					   "give exactly one session ID");
		break;
	case CMD_IDS:
		if (a->argc < 1)
			return usage_error(a->prog,
					   "give at least one session ID");
		break;
	}
	return CMD_CONTINUE;
}

int cmd_parse(struct cmd_args *out, const struct cmd_spec *spec, int argc,
	      char **argv, const char *prog, void *payload)
{
	struct option opts[MAX_OPTS];
	char shortopts[64];
	int c, rc;

	memset(out, 0, sizeof(*out));
	out->prog = prog;
	merge_options(opts, spec);
	snprintf(shortopts, sizeof(shortopts), ":d:a:h%s", spec->shortopts);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			out->dir = optarg;
			break;
		case 'a':
			out->app = optarg;
			break;
		case 'B':
			if (set_read_bound(prog, optarg) != EXIT_OK)
				return EXIT_USAGE;
			break;
		case 0: /* a flag option: getopt_long has set it */
			break;
		case 'h':
			spec->usage(stdout, prog);
			return EXIT_OK;
		case ':':
			return usage_error(prog, "option '%s' needs a value",
					   argv[optind - 1]);
		case '?':
			return usage_error(prog, "unknown option '%s'",
					   argv[optind - 1]);
		default:
			rc = spec->option ? spec->option(c, optarg, payload) :
					    EXIT_USAGE;
			if (rc != CMD_CONTINUE)
				return rc;
		}
	}
	out->argc = argc - optind;
	out->argv = argv + optind;
	return check_operands(out, spec->operands);
}

int output_option(int c, const char *arg, void *payload)
{
	(void)c;
	*(const char **)payload = arg;
	return CMD_CONTINUE;
}

int cmd_open(sessnap_store **out, const struct cmd_args *a, unsigned int flags)
{
	return open_store(out, a->prog, a->dir, a->app, flags, false);
}

int open_store(sessnap_store **out, const char *prog, const char *dir,
	       const char *app, unsigned int flags, bool missing_ok)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	char buf[PATH_MAX];
	int rc;

	*out = NULL;
	if (dir != NULL && app != NULL)
		return usage_error(prog, "give --dir or --app, not both");
	if (dir == NULL && app == NULL)
		return usage_error(prog, "which store? give --dir DIR or "
					 "--app APP");
	o.dir = dir;
	o.app = app ? app : app_of_dir(buf, sizeof(buf), dir);
	o.flags = flags | SESSNAP_STORE_NOCREATE;
	o.read_bound = read_bound;
	rc = sessnap_store_open(out, &o);
	if (rc == SESSNAP_ENOTFOUND && missing_ok)
		return EXIT_OK;
	if (rc == SESSNAP_EBADNAME)
		return usage_error(prog, "%s", sessnap_error_last());
	if (rc < 0) {
		lib_error(prog, rc, "cannot open the store");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

bool use_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	if (nc != NULL && nc[0] != '\0')
		return false;
	return isatty(fileno(f)) == 1;
}

const char *status_color(sessnap_verdict st, bool color)
{
	if (!color)
		return "";
	switch (st) {
	case SESSNAP_VERDICT_RUNNING:
		return "\033[32m";
	case SESSNAP_VERDICT_CRASHED:
		return "\033[33m";
	case SESSNAP_VERDICT_COMPLETED:
		return "\033[2m";
	case SESSNAP_VERDICT_FOREIGN:
		return "\033[36m";
	case SESSNAP_VERDICT_NEWER:
		return "\033[35m";
	case SESSNAP_VERDICT_CORRUPT:
		return "\033[31m";
	}
	return "";
}

const char *color_reset(bool color)
{
	return color ? "\033[0m" : "";
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Write through a temporary file in the same directory, then rename: the
 * target is either untouched or complete.  On any failure the temporary
 * file is removed.
 */
int write_output(const char *prog, const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	FILE *f;
	int fd, saved_errno;
	const char *step = "write";

	if (path == NULL || strcmp(path, "-") == 0) {
		/* A short write sets the error indicator that
		 * flush_stdout() reports. */
		if (fwrite(text, 1, len, stdout) == len || ferror(stdout))
			return flush_stdout(prog);
		return EXIT_FAIL;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		fprintf(stderr, "%s: %s: path too long\n", prog, path);
		return EXIT_FAIL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, tmp,
			strerror(errno));
		return EXIT_FAIL;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		step = "fdopen";
		close(fd);
		goto on_error;
	}
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		goto on_error;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		step = "flush";
		fclose(f);
		goto on_error;
	}
	if (fclose(f) != 0) {
		step = "close";
		goto on_error;
	}
	if (rename(tmp, path) != 0) {
		step = "rename";
		goto on_error;
	}
	return EXIT_OK;

on_error:
	saved_errno = errno;
	unlink(tmp);
	errno = saved_errno;
	fprintf(stderr, "%s: %s of %s failed: %s\n", prog, step, tmp,
		strerror(errno));
	return EXIT_FAIL;
}

int write_json(const char *prog, const char *path, json_object *doc, int flags)
{
	char *text = NULL;
	int rc;

	if (asprintf(&text, "%s\n",
		     json_object_to_json_string_ext(doc, flags)) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAIL;
	}
	rc = write_output(prog, path, text);
	free(text);
	return rc;
}

/*
 * ferror() as well as fflush(): a printf that filled the buffer may have
 * failed to write it already, and the fflush at the end then has nothing
 * left to fail on.
 */
int flush_stdout(const char *prog)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write to stdout failed: %s\n", prog,
			strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int scan_store(sessnap_info ***out, size_t *out_count, const char *prog,
	       sessnap_store *store)
{
	int rc = sessnap_store_scan(out, out_count, store, 0);

	if (rc < 0) {
		lib_error(prog, rc, "cannot list the sessions of %s",
			  sessnap_store_path(store));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const char *info_note(const sessnap_info *in)
{
	if (in->flags & SESSNAP_INFO_NOT_REGULAR)
		return "not a regular file: left as it is";
	if (in->flags & SESSNAP_INFO_UNREADABLE)
		return "unreadable: see 'sessnap verify'";
	if (in->flags & SESSNAP_INFO_TOOBIG)
		return "too big for the read bound: see --read-bound";
	if (in->flags & SESSNAP_INFO_FROM_PREV)
		return "from previous generation";
	return "";
}
