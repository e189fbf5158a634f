## tests/bench/local.mk -- the benchmark, built by "make bench" only.
##
## tests/bench/sessnap-bench measures durable save latency against the
## disk's own floor (and glib and SQLite when configure found them), the
## app-thread cost of update() and touch(), and RSS over a soak.  It is not
## part of "make check": its numbers depend on the machine, and targets are
## judged from them, never from timed unit tests.  Run it with
## "tests/bench/sessnap-bench --help".  Its scan and clean cases run
## tests/bench/scan-bench (scan.mk) and tests/bench/clean-bench.sh
## (clean.mk), found in this build tree.

EXTRA_PROGRAMS += tests/bench/sessnap-bench
CLEANFILES += tests/bench/sessnap-bench$(EXEEXT)
tests_bench_sessnap_bench_SOURCES = tests/bench/sessnap-bench.c
tests_bench_sessnap_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS) \
	-DBENCH_BUILDDIR='"$(abs_top_builddir)"' \
	-DBENCH_SRCDIR='"$(abs_top_srcdir)"'
tests_bench_sessnap_bench_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)
if HAVE_GLIB
tests_bench_sessnap_bench_CPPFLAGS += $(GLIB_CFLAGS)
tests_bench_sessnap_bench_LDADD += $(GLIB_LIBS)
endif
if HAVE_SQLITE
tests_bench_sessnap_bench_CPPFLAGS += $(SQLITE_CFLAGS)
tests_bench_sessnap_bench_LDADD += $(SQLITE_LIBS)
endif

# Durable saves against the floor, glib and SQLite; app-thread costs.  It
# writes under the build directory (a disk, not /tmp); a 10-minute soak is
# "tests/bench/sessnap-bench --only soak --soak 600".
# "make bench" runs every case, the scan and clean ones included.
bench: tests/bench/sessnap-bench$(EXEEXT) tests/bench/scan-bench$(EXEEXT) \
	snapshot-clean$(EXEEXT) tests/mksnap$(EXEEXT)
	./tests/bench/sessnap-bench

bench-autosave: tests/bench/sessnap-bench$(EXEEXT)
	./tests/bench/sessnap-bench --only save
	./tests/bench/sessnap-bench --only app

.PHONY: bench bench-autosave
