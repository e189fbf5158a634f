## tests/bench/scan.mk -- the scan benchmark, built and run by "make bench"
## (through bench-scan) only, never by "make check": speed is measured
## here, not in unit tests.  It links the public library only.  Figures go
## to docs/performance.md, "Scan".

EXTRA_PROGRAMS += tests/bench/scan-bench
CLEANFILES += tests/bench/scan-bench$(EXEEXT)
tests_bench_scan_bench_SOURCES = tests/bench/scan-bench.c
tests_bench_scan_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS)
tests_bench_scan_bench_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)

# One scan of an existing store, for callgrind (docs/performance.md).
EXTRA_PROGRAMS += tests/bench/scan-once
CLEANFILES += tests/bench/scan-once$(EXEEXT)
tests_bench_scan_once_SOURCES = tests/bench/scan-once.c
tests_bench_scan_once_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(BSD_CFLAGS)
tests_bench_scan_once_LDADD = lib/libsessnap.la $(BSD_LIBS)

# sessnap_scan against a full-parse scanner and the head-read floor.
bench-scan: tests/bench/scan-bench$(EXEEXT)
	./tests/bench/scan-bench

.PHONY: bench-scan
