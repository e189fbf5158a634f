/*
 * patch-editor.c - an editor that hands sessnap what changed, not its state
 *
 * A full update serializes the whole state on the program's thread; an
 * editor holding megabytes of text pays that at every autosave.  This one
 * knows what each command changed and says only that, with
 * sessnap_session_patch(): one batch of JSON Pointer operations per
 * command, applied by the library to its own copy of the state, on the
 * writer's side.  The app's thread pays for the changed values only.
 *
 *	patch-editor --dir STORE
 *
 * At start it adopts the newest crashed session of the store, if any
 * ("restored ID"), else begins one ("new ID").  Then commands on stdin,
 * one a line, each mapped to one batch (T is the active tab):
 *
 *   open NAME       add /tabs/- {"name":NAME,...}, replace /active
 *   insert N TEXT   add /tabs/T/lines/N (or /tabs/T/lines/- at the end),
 *                   replace /tabs/T/cursor
 *   delete N        remove /tabs/T/lines/N, replace /tabs/T/cursor
 *   cursor L C      replace /tabs/T/cursor
 *   mark NAME       add /marks/NAME (NAME escaped: "a/b" is "a~1b")
 *   close T         remove /tabs/T, replace /active
 *   sort            sorts the active tab's lines: every index moves, so
 *                   this one is a full update (sessnap_session_update)
 *   print           the state, as the library saves it ("state {...}")
 *   flush           wait until everything is durable; report a failure
 *   kill            SIGKILL itself, as a crash would
 *   quit            end the session cleanly
 *
 * The state: {"active":T,"tabs":[{"name":...,"cursor":[L,C],"lines":[...]}],
 * "marks":{NAME:[T,L,C]}}.  The program keeps it as json-c objects (its
 * model); a patch's value is serialized at the call and not kept, so the
 * model may hold the same object.  tests/cli/patch-editor.sh drives it,
 * kills it, and checks the saved state against "print", byte for byte.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sessnap.h>

#define MAX_OPS 4
#define PTR_MAX 1024  /* an escaped token */
#define PREFIX_MAX 64 /* "/tabs/T" */

static sessnap_store *store;
static sessnap_session *session;
static json_object *state;

/* One command's batch: up to MAX_OPS operations and their pointers. */
struct batch {
	sessnap_patch_op ops[MAX_OPS];
	char paths[MAX_OPS][PREFIX_MAX + PTR_MAX]; /* prefix, then a token */
	size_t n;
};

/*
 * A JSON Pointer token for an object key (RFC 6901): "~" is written "~0"
 * and "/" is written "~1", so that any key can be addressed.  0, or -1
 * when it does not fit.
 */
static int escape_token(char *out, size_t size, const char *key)
{
	size_t o = 0;

	for (; *key != '\0'; key++) {
		const char *rep = *key == '~' ? "~0" :
				  *key == '/' ? "~1" :
						NULL;
		size_t n = rep != NULL ? 2 : 1;

		if (o + n >= size)
			return -1;
		if (rep != NULL)
			memcpy(out + o, rep, 2);
		else
			out[o] = *key;
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* A decimal number of 0 to INT_MAX, or -1. */
static int number(const char *s)
{
	char *end;
	long v;

	if (s == NULL)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != '\n') || v < 0 ||
	    v > INT_MAX)
		return -1;
	return (int)v;
}

/* A command the model refuses: say why; nothing is sent. */
static int refuse(const char *fmt, ...)
{
	va_list ap;

	fputs("patch-editor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

/* Queue an operation whose pointer is prefix followed by tail. */
static void push(struct batch *b, sessnap_patch_kind op, const char *prefix,
		 const char *tail, json_object *value)
{
	snprintf(b->paths[b->n], sizeof(b->paths[b->n]), "%s%s", prefix, tail);
	b->ops[b->n].op = op;
	b->ops[b->n].path = b->paths[b->n];
	b->ops[b->n].value = value;
	b->n++;
}

/* Hand the batch over: one step, all of it or nothing. */
static int send(struct batch *b)
{
	if (sessnap_session_patch(session, b->ops, b->n) < 0) {
		/* Nothing of it was queued; the model moved on, so the
		 * simplest way back in step is a full update. */
		fprintf(stderr, "patch-editor: patch: %s\n",
			sessnap_error_last());
		return sessnap_session_update(session, state);
	}
	return 0;
}

static json_object *tabs(void)
{
	return json_object_object_get(state, "tabs");
}

static int active(void)
{
	return json_object_get_int(json_object_object_get(state, "active"));
}

static json_object *lines_of(int t)
{
	return json_object_object_get(json_object_array_get_idx(tabs(), t),
				      "lines");
}

static json_object *pair(int a, int b)
{
	json_object *p = json_object_new_array();

	json_object_array_add(p, json_object_new_int(a));
	json_object_array_add(p, json_object_new_int(b));
	return p;
}

/* json-c 0.16 has no insert: shift the tail up by one, then put. */
static void array_insert(json_object *arr, size_t i, json_object *v)
{
	size_t j, n = json_object_array_length(arr);

	json_object_array_add(arr, NULL);
	for (j = n; j > i; j--)
		json_object_array_put_idx(
		    arr, j,
		    json_object_get(json_object_array_get_idx(arr, j - 1)));
	json_object_array_put_idx(arr, i, v);
}

static json_object *new_state(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "active", json_object_new_int(-1));
	json_object_object_add(o, "tabs", json_object_new_array());
	json_object_object_add(o, "marks", json_object_new_object());
	return o;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(json_object *const *)a),
		      json_object_get_string(*(json_object *const *)b));
}

/* /tabs/T of the active tab, or -1 (and a message) without one. */
static int tab_prefix(char *out, size_t size)
{
	int t = active();

	if (t < 0)
		return refuse("no open tab"), -1;
	snprintf(out, size, "/tabs/%d", t);
	return t;
}

static int needs_tab(const char *cmd)
{
	static const char *const names[] = { "insert", "delete", "cursor",
					     "mark", "sort" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(cmd, names[i]) == 0)
			return 1;
	return 0;
}

static int run(char *line)
{
	char prefix[PREFIX_MAX], tok[PTR_MAX], *text;
	char *cmd = strtok(line, " \n");
	struct batch b = { .n = 0 };
	int t = -1, n, col;

	if (cmd == NULL)
		return 0;
	if (needs_tab(cmd) && (t = tab_prefix(prefix, sizeof(prefix))) < 0)
		return 0;
	if (strcmp(cmd, "open") == 0 && (text = strtok(NULL, "\n")) != NULL) {
		json_object *tab = json_object_new_object();

		json_object_object_add(tab, "name",
				       json_object_new_string(text));
		json_object_object_add(tab, "cursor", pair(0, 0));
		json_object_object_add(tab, "lines", json_object_new_array());
		json_object_array_add(tabs(), tab);
		t = (int)json_object_array_length(tabs()) - 1;
		json_object_object_add(state, "active", json_object_new_int(t));
		push(&b, SESSNAP_PATCH_ADD, "/tabs/-", "", tab);
		push(&b, SESSNAP_PATCH_REPLACE, "/active", "",
		     json_object_object_get(state, "active"));
		return send(&b);
	}
	if (strcmp(cmd, "insert") == 0 && (text = strtok(NULL, " ")) != NULL) {
		json_object *row, *lines = lines_of(t);
		char idx[16];

		n = number(text);
		if (n < 0 || (size_t)n > json_object_array_length(lines))
			return refuse("no line %s", text);
		text = strtok(NULL, "\n");
		row = json_object_new_string(text != NULL ? text : "");
		if ((size_t)n == json_object_array_length(lines))
			snprintf(idx, sizeof(idx), "-"); /* after the last */
		else
			snprintf(idx, sizeof(idx), "%d", n);
		array_insert(lines, (size_t)n, row);
		snprintf(tok, sizeof(tok), "/lines/%s", idx);
		push(&b, SESSNAP_PATCH_ADD, prefix, tok, row);
		json_object_object_add(
		    json_object_array_get_idx(tabs(), t), "cursor",
		    pair(n, (int)json_object_get_string_len(row)));
		push(&b, SESSNAP_PATCH_REPLACE, prefix, "/cursor",
		     json_object_object_get(
			 json_object_array_get_idx(tabs(), t), "cursor"));
		return send(&b);
	}
	if (strcmp(cmd, "delete") == 0 && (text = strtok(NULL, " \n"))) {
		json_object *lines = lines_of(t);

		n = number(text);
		if (n < 0 || (size_t)n >= json_object_array_length(lines))
			return refuse("no line %s", text);
		json_object_array_del_idx(lines, (size_t)n, 1);
		snprintf(tok, sizeof(tok), "/lines/%d", n);
		push(&b, SESSNAP_PATCH_REMOVE, prefix, tok, NULL);
		json_object_object_add(json_object_array_get_idx(tabs(), t),
				       "cursor", pair(n, 0));
		push(&b, SESSNAP_PATCH_REPLACE, prefix, "/cursor",
		     json_object_object_get(
			 json_object_array_get_idx(tabs(), t), "cursor"));
		return send(&b);
	}
	if (strcmp(cmd, "cursor") == 0 && (text = strtok(NULL, " "))) {
		n = number(text);
		col = number(strtok(NULL, " \n"));
		if (n < 0 || col < 0)
			return refuse("cursor LINE COLUMN");
		json_object_object_add(json_object_array_get_idx(tabs(), t),
				       "cursor", pair(n, col));
		push(&b, SESSNAP_PATCH_REPLACE, prefix, "/cursor",
		     json_object_object_get(
			 json_object_array_get_idx(tabs(), t), "cursor"));
		return send(&b);
	}
	if (strcmp(cmd, "mark") == 0 && (text = strtok(NULL, "\n")) != NULL) {
		json_object *cur = json_object_object_get(
		    json_object_array_get_idx(tabs(), t), "cursor");
		json_object *mark = json_object_new_array();

		if (escape_token(tok, sizeof(tok), text) < 0) {
			json_object_put(mark);
			return refuse("mark name too long");
		}
		json_object_array_add(mark, json_object_new_int(t));
		json_object_array_add(mark,
				      json_object_new_int(json_object_get_int(
					  json_object_array_get_idx(cur, 0))));
		json_object_array_add(mark,
				      json_object_new_int(json_object_get_int(
					  json_object_array_get_idx(cur, 1))));
		json_object_object_add(json_object_object_get(state, "marks"),
				       text, mark);
		push(&b, SESSNAP_PATCH_ADD, "/marks/", tok, mark);
		return send(&b);
	}
	if (strcmp(cmd, "close") == 0 && (text = strtok(NULL, " \n"))) {
		int ntabs = (int)json_object_array_length(tabs());

		t = number(text);
		if (t < 0 || t >= ntabs)
			return refuse("no tab %s", text);
		json_object_array_del_idx(tabs(), (size_t)t, 1);
		snprintf(prefix, sizeof(prefix), "/tabs/%d", t);
		push(&b, SESSNAP_PATCH_REMOVE, prefix, "", NULL);
		if (active() >= ntabs - 1)
			json_object_object_add(state, "active",
					       json_object_new_int(ntabs - 2));
		push(&b, SESSNAP_PATCH_REPLACE, "/active", "",
		     json_object_object_get(state, "active"));
		return send(&b);
	}
	if (strcmp(cmd, "sort") == 0) {
		/* Every line may move: as patches that would be about one
		 * operation per line, as large as the tab itself. */
		json_object_array_sort(lines_of(t), cmp_lines);
		return sessnap_session_update(session, state);
	}
	if (strcmp(cmd, "print") == 0) {
		printf("state %s\n",
		       json_object_to_json_string_ext(
			   state, JSON_C_TO_STRING_PLAIN |
				      JSON_C_TO_STRING_NOSLASHESCAPE));
		return fflush(stdout);
	}
	if (strcmp(cmd, "flush") == 0) {
		sessnap_save_status st = SESSNAP_SAVE_STATUS_INIT;

		int rc = sessnap_session_flush(session);

		/* A batch the writer could not apply: the library kept its
		 * last good state; a full update puts it back in step. */
		if (rc == SESSNAP_EPATCH &&
		    sessnap_session_status(&st, session) == 0) {
			fprintf(stderr, "patch-editor: %s\n", st.last_message);
			rc = sessnap_session_update(session, state);
			if (rc == 0)
				rc = sessnap_session_flush(session);
		}
		if (rc < 0)
			return rc;
		printf("flushed\n");
		return fflush(stdout);
	}
	if (strcmp(cmd, "kill") == 0)
		return raise(SIGKILL);
	if (strcmp(cmd, "quit") == 0)
		return 1;
	return refuse("unknown command or missing argument: %s", cmd);
}

/* Adopt the newest crashed session, else begin one with an empty state. */
static int start(void)
{
	sessnap_info **infos = NULL;
	size_t n = 0;
	int rc;

	if (sessnap_store_scan(&infos, &n, store, SESSNAP_SCAN_RECOVERABLE) < 0)
		return -1;
	rc = n > 0 ? sessnap_session_adopt(&session, &state, NULL, store,
					   infos[0]->id) :
		     -1;
	sessnap_info_free(infos, n);
	if (rc == 0 &&
	    json_object_is_type(json_object_object_get(state, "tabs"),
				json_type_array)) {
		/* The library's copy is the adopted state: patches go on
		 * from it. */
		printf("restored %s\n", sessnap_session_id(session));
		return 0;
	}
	if (rc == 0) {
		json_object_put(state);
		sessnap_session_release(session);
	}
	if (sessnap_session_begin(&session, store, NULL) < 0)
		return -1;
	state = new_state();
	printf("new %s\n", sessnap_session_id(session));
	/* A patch needs a state to apply to: the first one is a full
	 * update. */
	return sessnap_session_update(session, state);
}

int main(int argc, char **argv)
{
	sessnap_store_options o = SESSNAP_STORE_OPTIONS_INIT;
	char line[4096];
	int rc;

	if (argc != 3 || strcmp(argv[1], "--dir") != 0) {
		fprintf(stderr, "usage: patch-editor --dir STORE\n");
		return 2;
	}
	o.dir = argv[2];
	o.app = "patch-editor";
	o.autosave_interval_ms = 200;
	if (sessnap_store_open(&store, &o) < 0 || start() < 0) {
		fprintf(stderr, "patch-editor: %s\n", sessnap_error_last());
		return 1;
	}
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((rc = run(line)) > 0)
			break;
		if (rc < 0) /* the library refused: say so, go on */
			fprintf(stderr, "patch-editor: %s\n",
				sessnap_error_last());
	}
	rc = sessnap_session_end(session, 0);
	json_object_put(state);
	if (rc < 0 || sessnap_store_close(store) < 0) {
		fprintf(stderr, "patch-editor: %s\n", sessnap_error_last());
		return 1;
	}
	return 0;
}
