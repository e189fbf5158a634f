## tests/bench/local.mk -- benchmarks, built and run by "make bench" only.
##
## Each benchmark is a program in BENCHES; "make bench" builds them
## and runs each in turn.  They link the public library only.  Figures and
## the machine they were taken on go to docs/performance.md.

BENCHES = tests/bench/scan-bench
EXTRA_PROGRAMS = $(BENCHES)
CLEANFILES += $(BENCHES)

BENCH_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS)
BENCH_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)

tests_bench_scan_bench_SOURCES = tests/bench/scan-bench.c
tests_bench_scan_bench_CPPFLAGS = $(BENCH_CPPFLAGS)
tests_bench_scan_bench_LDADD = $(BENCH_LDADD)

bench: $(BENCHES)
	@for p in $(BENCHES); do \
	  echo "== $$p"; \
	  ./$$p || exit 1; \
	done
