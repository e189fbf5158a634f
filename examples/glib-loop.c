/*
 * glib-loop.c - autosave from a GLib main loop, with no library thread
 *
 * The GLib equivalent of poll-loop.c: standard input is watched by a
 * GIOChannel; every line is appended to the state and the session is
 * touched.  A one-shot timeout source is armed for
 * sessnap_store_next_deadline() and re-armed after every event, and calls
 * sessnap_store_tick() when it fires.  A GTK application does the same
 * with its own main loop (or keeps the default writer thread and calls
 * only sessnap_store_dispatch() from the timeout).
 *
 * Usage: glib-loop [STORE-DIR] < input
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <sessnap.h>

struct app {
	GMainLoop *loop;
	sessnap_store *store;
	sessnap_session *session;
	json_object *lines;
	guint timer;
};

static json_object *collect(sessnap_session *session, void *payload)
{
	struct app *app = payload;
	json_object *state = json_object_new_object();

	(void)session;
	json_object_object_add(state, "lines", json_object_get(app->lines));
	return state;
}

static void arm_timer(struct app *app);

static gboolean on_deadline(gpointer data)
{
	struct app *app = data;

	app->timer = 0;
	if (sessnap_store_tick(app->store) < 0)
		g_printerr("glib-loop: %s\n", sessnap_error_last());
	arm_timer(app);
	return G_SOURCE_REMOVE;
}

/* (Re-)arm the one timeout the library needs, or none. */
static void arm_timer(struct app *app)
{
	int64_t wait_ms;

	if (app->timer != 0) {
		g_source_remove(app->timer);
		app->timer = 0;
	}
	if (sessnap_store_next_deadline(&wait_ms, app->store) < 0 ||
	    wait_ms < 0)
		return;
	app->timer =
	    g_timeout_add((guint)MIN(wait_ms, 60000), on_deadline, app);
}

static gboolean on_input(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	struct app *app = data;
	gchar *line = NULL;
	gsize len = 0;

	(void)cond;
	if (g_io_channel_read_line(ch, &line, &len, NULL, NULL) !=
	    G_IO_STATUS_NORMAL) {
		g_main_loop_quit(app->loop);
		return G_SOURCE_REMOVE;
	}
	g_strchomp(line);
	json_object_array_add(app->lines, json_object_new_string(line));
	g_free(line);
	sessnap_session_touch(app->session);
	arm_timer(app);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	sessnap_store_options opts = SESSNAP_STORE_OPTIONS_INIT;
	struct app app = { 0 };
	GIOChannel *in;
	int rc;

	opts.app = "glib-loop-example";
	opts.dir = argc > 1 ? argv[1] : NULL;
	opts.flags = SESSNAP_STORE_NOTHREAD;
	opts.autosave_interval_ms = 2000;
	if (sessnap_store_open(&app.store, &opts) < 0 ||
	    sessnap_session_begin(&app.session, app.store, NULL) < 0) {
		g_printerr("glib-loop: %s\n", sessnap_error_last());
		return 1;
	}
	app.lines = json_object_new_array();
	sessnap_session_set_collect(app.session, collect, &app);
	app.loop = g_main_loop_new(NULL, FALSE);
	in = g_io_channel_unix_new(0);
	g_io_add_watch(in, G_IO_IN | G_IO_HUP, on_input, &app);
	g_main_loop_run(app.loop);

	if (app.timer != 0)
		g_source_remove(app.timer);
	rc = sessnap_session_end(app.session, 0);
	if (rc < 0)
		g_printerr("glib-loop: %s\n", sessnap_error_last());
	sessnap_store_close(app.store);
	json_object_put(app.lines);
	g_io_channel_unref(in);
	g_main_loop_unref(app.loop);
	return rc < 0 ? 1 : 0;
}
