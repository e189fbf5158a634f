## examples/local.mk -- example programs from docs/integration.md, and
## the demo.
##
## They are compiled (and run) by "make check", so the documented code
## cannot rot; the GLib one only when configure found glib-2.0.

EXAMPLE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include $(JSONC_CFLAGS)
EXAMPLE_LDADD = lib/libsessnap.la $(JSONC_LIBS)

# sessnap-demo: a note-taking program that survives kill -9 (the quick
# start's scripts/demo-scenario.sh drives it).  It is built at the top of
# the build tree, where scripts/demo.sh and the shell tests find it
# ($SESSNAP_DEMO); libbsd (overlay) is there for strtonum and strlcpy.
noinst_PROGRAMS += sessnap-demo
sessnap_demo_SOURCES = examples/demo.c
sessnap_demo_CPPFLAGS = $(EXAMPLE_CPPFLAGS) $(BSD_CFLAGS)
sessnap_demo_LDADD = $(EXAMPLE_LDADD) $(BSD_LIBS)

check_PROGRAMS += examples/poll-loop
examples_poll_loop_SOURCES = examples/poll-loop.c
examples_poll_loop_CPPFLAGS = $(EXAMPLE_CPPFLAGS)
examples_poll_loop_LDADD = $(EXAMPLE_LDADD)

# One session per open document, keyed by its canonical path
# (docs/integration.md; tests/cli/per-document.sh drives it in a pty).
check_PROGRAMS += examples/per-document
examples_per_document_SOURCES = examples/per-document.c
examples_per_document_CPPFLAGS = $(EXAMPLE_CPPFLAGS)
examples_per_document_LDADD = $(EXAMPLE_LDADD)

# Patch updates: an editor that says what changed (docs/integration.md;
# tests/cli/patch-editor.sh drives it and kills it).
check_PROGRAMS += examples/patch-editor
examples_patch_editor_SOURCES = examples/patch-editor.c
examples_patch_editor_CPPFLAGS = $(EXAMPLE_CPPFLAGS)
examples_patch_editor_LDADD = $(EXAMPLE_LDADD)

if HAVE_GLIB
check_PROGRAMS += examples/glib-loop
examples_glib_loop_SOURCES = examples/glib-loop.c
examples_glib_loop_CPPFLAGS = $(EXAMPLE_CPPFLAGS) $(GLIB_CFLAGS)
examples_glib_loop_LDADD = $(EXAMPLE_LDADD) $(GLIB_LIBS)
endif
EXTRA_DIST += examples/glib-loop.c
