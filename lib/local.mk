## lib/local.mk -- libsessnap.
##
## All library sources go into the noinst convenience library
## lib/libsessnap-internal.la; the installed lib/libsessnap.la only wraps it
## and exports the public names through the version script lib/libsessnap.sym
## (each with its version node; sessnap__* and everything else stays hidden).
## Unit tests link the internal library so they can reach sessnap__* calls.

LIB_DEP_CFLAGS = $(JSONC_CFLAGS) $(BSD_CFLAGS) $(XXHASH_CFLAGS) $(ZSTD_CFLAGS)
LIB_DEP_LIBS = $(JSONC_LIBS) $(BSD_LIBS) $(XXHASH_LIBS) $(ZSTD_LIBS)

noinst_LTLIBRARIES += lib/libsessnap-internal.la
lib_libsessnap_internal_la_SOURCES = \
	lib/internal.h \
	lib/errmsg.h \
	lib/error.c \
	lib/sys.c \
	lib/fdio.c \
	lib/names.h \
	lib/names.c \
	lib/clock.c \
	lib/log.c \
	lib/atomic.c \
	lib/format.c \
	lib/header.c \
	lib/delta.c \
	lib/deltaseq.c \
	lib/deltaseq.h \
	lib/snapfile.c \
	lib/deltafile.c \
	lib/store.c \
	lib/session.c \
	lib/load.c \
	lib/generations.c \
	lib/liveness.c \
	lib/claim.c \
	lib/lease.c \
	lib/clean.h \
	lib/clean.c \
	lib/clean_rank.c \
	lib/clean_session.c \
	lib/scan.c \
	lib/adopt.c \
	lib/prompt.c \
	lib/words.h \
	lib/words.c \
	lib/discard.c \
	lib/closer.h \
	lib/closer.c \
	lib/owner.h \
	lib/owner.c \
	lib/pull.h \
	lib/pull.c \
	lib/writer.h \
	lib/writer.c \
	lib/jsoncheck.c \
	lib/patch.c \
	lib/text.c \
	lib/textcb.c
lib_libsessnap_internal_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/lib/include -I$(top_srcdir)/lib $(LIB_DEP_CFLAGS)
lib_libsessnap_internal_la_LIBADD = $(LIB_DEP_LIBS)

lib_LTLIBRARIES += lib/libsessnap.la
lib_libsessnap_la_SOURCES =
lib_libsessnap_la_LIBADD = lib/libsessnap-internal.la $(LIB_DEP_LIBS)
lib_libsessnap_la_LDFLAGS = $(AM_LDFLAGS) \
	-version-info $(LIBSESSNAP_VERSION_INFO) \
	-Wl,--version-script=$(top_srcdir)/lib/libsessnap.sym \
	-no-undefined
EXTRA_lib_libsessnap_la_DEPENDENCIES = lib/libsessnap.sym
EXTRA_DIST += lib/libsessnap.sym

include_HEADERS += lib/include/sessnap.h
pkgconfig_DATA += lib/sessnap.pc
