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

# sessnap-crashdemo: kill -9 a writer, then recover its state.
noinst_PROGRAMS += sessnap-crashdemo
sessnap_crashdemo_SOURCES = cli/crashdemo.c
sessnap_crashdemo_CPPFLAGS = $(CLI_CPPFLAGS)
sessnap_crashdemo_LDADD = $(CLI_LDADD)
