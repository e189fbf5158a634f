/*
 * cmd_list.c - "sessnap list": the sessions of a store, newest first
 *
 * A table for people (aligned columns, "3 minutes ago", the status in colour
 * on a terminal) or, with --json, the stable document described in
 * sessnap(1).  Completed sessions are listed only with --all: what people
 * usually want to see is what is running and what can be recovered.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) [--all] [--json]\n"
		"List the sessions of a store, newest first.\n\n" STORE_HELP
		    READ_BOUND_HELP
		"      --all         also list completed sessions\n"
		"      --json        print JSON (see sessnap(1))\n"
		"  -h, --help        show this help\n",
		prog);
}

static void print_table(const sessnap_info *infos, size_t n, bool all)
{
	bool color = use_color(stdout);
	int64_t now = now_ms();
	char ago[32], size[16];
	const char *label, *note;
	size_t i;

	printf("%-32s  %-9s  %-14s  %6s  %5s  %s\n", "ID", "STATUS", "SAVED",
	       "SAVES", "SIZE", "LABEL");
	for (i = 0; i < n; i++) {
		const sessnap_info *in = &infos[i];

		if (!all && in->status == SESSNAP_STATUS_COMPLETED)
			continue;
		sessnap__age_format(ago, sizeof(ago), now, in->saved_ms);
		sessnap__size_format(size, sizeof(size), in->file_bytes);
		label = in->label ? in->label : "";
		note = info_note(in);
		printf("%-32s  %s%-9s%s  %-14s  %6llu  %5s%s%s%s%s%s\n",
		       in->id, status_color(in->status, color),
		       sessnap_status_name(in->status), color_reset(color), ago,
		       (unsigned long long)in->seq, size, label[0] ? "  " : "",
		       label, note[0] ? "  (" : "", note, note[0] ? ")" : "");
	}
}

int cmd_list(int argc, char **argv, const char *prog)
{
	static const struct option opts[] = {
		STORE_OPTIONS,
		READ_BOUND_OPTION,
		{ "all", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *app = NULL;
	bool all = false, json = false;
	sessnap_store *store = NULL;
	sessnap_info *infos = NULL;
	size_t n = 0, i;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'a':
			app = optarg;
			break;
		case 'B':
			if (set_read_bound(prog, optarg) != EXIT_OK)
				return EXIT_USAGE;
			break;
		case 'l':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout, prog);
			return EXIT_OK;
		case ':':
			return usage_error(prog, "option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error(prog, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(prog, "unexpected argument '%s'",
				   argv[optind]);
	rc = open_store(&store, prog, dir, app, SESSNAP_STORE_READONLY, false);
	if (rc != EXIT_OK)
		return rc;
	if (scan_store(&infos, &n, prog, store) != EXIT_OK) {
		sessnap_store_close(store);
		return EXIT_FAIL;
	}
	if (json) {
		json_object *doc = json_object_new_object();
		json_object *arr = json_object_new_array();

		json_object_object_add(doc, "version", json_object_new_int(1));
		json_object_object_add(
		    doc, "store",
		    json_object_new_string(sessnap_store_path(store)));
		for (i = 0; i < n; i++)
			if (all || infos[i].status != SESSNAP_STATUS_COMPLETED)
				json_object_array_add(arr,
						      info_json(&infos[i]));
		json_object_object_add(doc, "sessions", arr);
		printf("%s\n", json_object_to_json_string_ext(
				   doc, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		print_table(infos, n, all);
	}
	sessnap_scan_free(infos, n);
	sessnap_store_close(store);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
