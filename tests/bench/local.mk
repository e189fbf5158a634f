## tests/bench/local.mk -- the benchmarks, built and run by "make bench"
## only, never by "make check": their numbers depend on the machine, and
## targets are judged from them (docs/performance.md), never from timed
## unit tests.  Every program links the public library only.
##
##   tests/bench/sessnap-bench   durable save latency against the disk's own
##                               floor (and glib and SQLite when configure
##                               found them), the app-thread cost of
##                               update() and touch(), of a one-row
##                               patch against a full update (and the
##                               writer's CPU and memory for it: --only
##                               patch), RSS over a soak;
##                               "tests/bench/sessnap-bench --help".  Its
##                               scan and clean cases run the two below.
##   tests/bench/scan-bench      sessnap_store_scan against a full-parse scanner
##                               and the head-read floor ("Scan").
##   tests/bench/scan-once       one scan of an existing store, for callgrind.
##   tests/bench/clean-bench.sh  cleaning 100,000 old snapshots:
##                               snapshot-clean against find -delete.
##   sessnap-bench --only delta  the delta layout against today's and
##                               SQLite ("make bench-delta"); as root it
##                               also makes ext4, XFS and btrfs on loop
##                               devices (mkfs.xfs and mkfs.btrfs from
##                               xfsprogs and btrfs-progs).

BENCH_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include $(BSD_CFLAGS)
BENCH_LDADD = lib/libsessnap.la $(BSD_LIBS)

EXTRA_PROGRAMS += tests/bench/sessnap-bench tests/bench/scan-bench \
	tests/bench/scan-once
CLEANFILES += tests/bench/sessnap-bench$(EXEEXT) \
	tests/bench/scan-bench$(EXEEXT) tests/bench/scan-once$(EXEEXT)
EXTRA_DIST += tests/bench/clean-bench.sh

tests_bench_sessnap_bench_SOURCES = tests/bench/sessnap-bench.c
tests_bench_sessnap_bench_CPPFLAGS = $(BENCH_CPPFLAGS) $(JSONC_CFLAGS) \
	$(ZSTD_CFLAGS) -DBENCH_BUILDDIR='"$(abs_top_builddir)"' \
	-DBENCH_SRCDIR='"$(abs_top_srcdir)"'
tests_bench_sessnap_bench_LDADD = $(BENCH_LDADD) $(JSONC_LIBS) $(ZSTD_LIBS)
if HAVE_GLIB
tests_bench_sessnap_bench_CPPFLAGS += $(GLIB_CFLAGS)
tests_bench_sessnap_bench_LDADD += $(GLIB_LIBS)
endif
if HAVE_SQLITE
tests_bench_sessnap_bench_CPPFLAGS += $(SQLITE_CFLAGS)
tests_bench_sessnap_bench_LDADD += $(SQLITE_LIBS)
endif

tests_bench_scan_bench_SOURCES = tests/bench/scan-bench.c
tests_bench_scan_bench_CPPFLAGS = $(BENCH_CPPFLAGS) $(JSONC_CFLAGS)
tests_bench_scan_bench_LDADD = $(BENCH_LDADD) $(JSONC_LIBS)

tests_bench_scan_once_SOURCES = tests/bench/scan-once.c
tests_bench_scan_once_CPPFLAGS = $(BENCH_CPPFLAGS)
tests_bench_scan_once_LDADD = $(BENCH_LDADD)

# "make bench" runs every case, the scan and clean ones included.  It
# writes under the build directory (a disk, not /tmp); a 10-minute soak is
# "tests/bench/sessnap-bench --only soak --soak 600".
bench: tests/bench/sessnap-bench$(EXEEXT) tests/bench/scan-bench$(EXEEXT) \
	snapshot-clean$(EXEEXT) tests/mksnap$(EXEEXT)
	./tests/bench/sessnap-bench

bench-autosave: tests/bench/sessnap-bench$(EXEEXT)
	./tests/bench/sessnap-bench --only save
	./tests/bench/sessnap-bench --only app

bench-delta: tests/bench/sessnap-bench$(EXEEXT)
	./tests/bench/sessnap-bench --only delta

bench-patch: tests/bench/sessnap-bench$(EXEEXT)
	./tests/bench/sessnap-bench --only patch

bench-scan: tests/bench/scan-bench$(EXEEXT)
	./tests/bench/scan-bench

bench-clean: snapshot-clean tests/mksnap
	SNAPSHOT_CLEAN=./snapshot-clean MKSNAP=./tests/mksnap \
	  $(SHELL) $(srcdir)/tests/bench/clean-bench.sh

.PHONY: bench bench-autosave bench-delta bench-patch bench-scan \
	bench-clean
