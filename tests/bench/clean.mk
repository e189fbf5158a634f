## tests/bench/clean.mk -- the clean benchmark, run by "make bench" (never by
## "make check": speed is measured here, not in unit tests).

CLEAN_BENCH_FILES = tests/bench/clean-bench.sh
EXTRA_DIST += $(CLEAN_BENCH_FILES)

# Cleaning 100,000 old snapshots: snapshot-clean against find -delete.
bench-clean: snapshot-clean tests/mksnap
	SNAPSHOT_CLEAN=./snapshot-clean MKSNAP=./tests/mksnap \
	  $(SHELL) $(srcdir)/tests/bench/clean-bench.sh

.PHONY: bench-clean
