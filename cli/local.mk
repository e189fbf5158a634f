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

# snapshot-clean and sessnap: the cleaner and the session manager.  Both
# share cmd_clean.c (the cleaner), age.c and common.c.
#
# The one exception to "public header only": lib/words.c (the words for
# an age and a size, which depends on nothing of the library) is compiled
# into the commands too, and cli/common.h includes lib/words.h by its
# relative path, so the commands and the recovery prompt print the same
# words.  lib/ itself is still not on the include path.
CLI_COMMON_SOURCES = cli/age.c cli/age.h cli/common.c cli/common.h \
	cli/commands.h cli/cmd_clean.c lib/words.c lib/words.h

bin_PROGRAMS += snapshot-clean
snapshot_clean_SOURCES = cli/snapshot-clean.c $(CLI_COMMON_SOURCES)
snapshot_clean_CPPFLAGS = $(CLI_CPPFLAGS)
snapshot_clean_LDADD = $(CLI_LDADD)

bin_PROGRAMS += sessnap
sessnap_SOURCES = cli/sessnap.c $(CLI_COMMON_SOURCES) cli/sessions.c \
	cli/cmd_list.c cli/cmd_show.c cli/cmd_recover.c cli/cmd_discard.c \
	cli/cmd_verify.c cli/cmd_export.c
sessnap_CPPFLAGS = $(CLI_CPPFLAGS)
sessnap_LDADD = $(CLI_LDADD)
