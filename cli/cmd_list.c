/*
 * cmd_list.c - "sessnap list": the sessions of a store, newest first
 *
 * A table for people (aligned columns, "3 minutes ago", the status in colour
 * on a terminal) or, with --json, the stable document described in
 * sessnap(1).  Completed sessions are listed only with --all: what people
 * usually want to see is what is running and what can be recovered.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "common.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s (--dir DIR | --app APP) [--all] [--key KEY] "
		"[--json]\n"
		"List the sessions of a store, newest first.\n\n" STORE_HELP
		    READ_BOUND_HELP
		"      --all         also list completed sessions\n"
		"      --key KEY     only the sessions whose key is exactly "
		"KEY\n"
		"      --json        print JSON (see sessnap(1))\n"
		"  -h, --help        show this help\n",
		prog);
}

static void print_table(sessnap_info *const *infos, size_t n, bool all)
{
	bool color = use_color(stdout);
	int64_t now = now_ms();
	char ago[32], size[16], where[SESSNAP_HOST_MAX + 64];
	const char *label, *note;
	size_t i;

	printf("%-32s  %-9s  %-14s  %6s  %5s  %-6s  %s\n", "ID", "STATUS",
	       "SAVED", "SAVES", "SIZE", "LAYOUT", "LABEL");
	for (i = 0; i < n; i++) {
		const sessnap_info *in = infos[i];

		if (!all && in->status == SESSNAP_VERDICT_COMPLETED)
			continue;
		sessnap__age_format(ago, sizeof(ago), now, in->saved_ms);
		sessnap__size_format(size, sizeof(size), in->file_bytes);
		label = in->label ? in->label : "";
		note = info_note(in);
		host_note(where, sizeof(where), in, now);
		printf("%-32s  %s%-9s%s  %-14s  %6llu  %5s  %-6s%s%s%s%s%s%s%s%s\n",
		       in->id, status_color(in->status, color),
		       sessnap_verdict_name(in->status), color_reset(color),
		       ago, (unsigned long long)in->seq, size,
		       layout_name(in), label[0] ? "  " : "", label,
		       note[0] ? "  (" : "", note, note[0] ? ")" : "",
		       where[0] ? "  [" : "", where, where[0] ? "]" : "");
	}
}

static int print_json(const struct listing *l, bool all)
{
	json_object *arr = json_object_new_array(), *doc;
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		if (all || l->infos[i]->status != SESSNAP_VERDICT_COMPLETED)
			json_object_array_add(arr, info_json(l->infos[i]));
	doc = listing_json(l, arr);
	rc = write_json(l->prog, NULL, doc, JSON_FOR_PEOPLE);
	json_object_put(doc);
	return rc;
}

int cmd_list(int argc, char **argv, const char *prog)
{
	int all = 0, json = 0;
	const struct option opts[] = { { "all", no_argument, &all, 1 },
				       { "json", no_argument, &json, 1 },
				       { "key", required_argument, NULL, 'k' },
				       { NULL, 0, NULL, 0 } };
	const struct cmd_spec spec = { .shortopts = "",
				       .longopts = opts,
				       .read_bound = true,
				       .operands = CMD_NO_OPERANDS,
				       .usage = usage,
				       .option = output_option };
	const char *key = NULL;
	struct cmd_args a;
	struct listing l;
	int rc;

	if ((rc = cmd_parse(&a, &spec, argc, argv, prog, &key)) != CMD_CONTINUE)
		return rc;
	if (key != NULL && (key[0] == '\0' || strlen(key) > SESSNAP_KEY_MAX))
		return usage_error(prog, "--key needs 1 to %d bytes",
				   SESSNAP_KEY_MAX);
	if ((rc = listing_open(&l, &a, key)) != EXIT_OK)
		return rc;
	if (json) {
		rc = print_json(&l, all);
	} else {
		print_table(l.infos, l.n, all);
		rc = flush_stdout(prog);
	}
	listing_close(&l);
	return rc;
}
