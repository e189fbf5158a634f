## cli/local.mk -- command-line programs.
##
## Programs see only the public header (-I lib/include, never lib/) and link
## the public lib/libsessnap.la, like any other user of the library.  They
## are built at the top of the build tree, where tests find them through
## $SESSNAP* (see AM_TESTS_ENVIRONMENT in Makefile.am).  libbsd (overlay) is
## there for strtonum, strlcpy and friends.

CLI_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS)
CLI_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)

# sessnap-demo: a note-taking program that survives kill -9 (the quick
# start's scripts/demo-scenario.sh drives it).
noinst_PROGRAMS += sessnap-demo
sessnap_demo_SOURCES = cli/demo.c
sessnap_demo_CPPFLAGS = $(CLI_CPPFLAGS)
sessnap_demo_LDADD = $(CLI_LDADD)
