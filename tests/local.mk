## tests/local.mk -- unit suites and shell tests.
##
## Unit suites: one check binary per module, tests/check_<module>.c, each
## built from its own source and linked with the test fixture library
## tests/libtestutil.la (tests/testutil.c).  They link the internal
## convenience library, so they may call sessnap__* and include lib/*.h,
## and the suites' own helpers (tests/libsuite.la): the fault injector and
## syscall tracer (tests/inject.c), which the library does not ship, and
## the scan fixtures.  tests/check_api is the exception: it links only the
## public library and includes only <sessnap.h>, like a user.  To add a
## module suite, add its name to CHECK_INTERNAL_TESTS and its flags line
## below.
##
## Shell tests: add tests/cli/<name>.sh to CLI_TESTS.  They run with the
## plain test-driver (exit 0 pass, 77 skip, 99 error) and find the programs in
## $SESSNAP, $SNAPSHOT_CLEAN, ... (AM_TESTS_ENVIRONMENT in Makefile.am).
## Helper files they source go to CLI_TEST_HELPERS (distributed, not run).

CHECK_INTERNAL_TESTS = \
	tests/check_error \
	tests/check_atomic \
	tests/check_format \
	tests/check_store \
	tests/check_session \
	tests/check_load \
	tests/check_clean \
	tests/check_writer \
	tests/check_scan \
	tests/check_recover \
	tests/check_faults \
	tests/check_hostile \
	tests/check_powerloss \
	tests/check_text \
	tests/check_delta \
	tests/check_deltaseq \
	tests/check_claim \
	tests/check_lease \
	tests/check_patch

CHECK_TESTS = $(CHECK_INTERNAL_TESTS) tests/check_api tests/check_age

CLI_TESTS =
CLI_TESTS += tests/cli/event-loops.sh
CLI_TESTS += tests/cli/snapshot-clean.sh
CLI_TESTS += tests/cli/sessnap.sh
CLI_TESTS += tests/cli/systemd-units.sh
CLI_TESTS += tests/cli/demo-end.sh
CLI_TESTS += tests/cli/demo-scenario.sh
CLI_TESTS += tests/cli/readme-example.sh
# A store refused at open: only the refusal, exit 1.
CLI_TESTS += tests/cli/clean-refused.sh
# The signal pattern for unsaved work: close, stay recoverable.
CLI_TESTS += tests/cli/signal-close.sh
# One session per open document, keyed by its path, in a pseudo-terminal.
CLI_TESTS += tests/cli/per-document.sh
# Patch updates from an editor, through SIGKILL and adoption.
CLI_TESTS += tests/cli/patch-editor.sh
CLI_TEST_HELPERS =

# install.sh: make install (DESTDIR) to a temporary root, then build
# tests/install-example.c with only <sessnap.h> and pkg-config against it.
# corrupt.sh: damage a main snapshot by hand, load the previous generation.
CLI_TESTS += tests/cli/install.sh tests/cli/corrupt.sh
AM_TESTS_ENVIRONMENT += \
	CC='$(CC)'; export CC; MAKE='$(MAKE)'; export MAKE; \
	SESSNAP_SANITIZE_FLAGS='$(SANITIZE_CFLAGS)'; \
	export SESSNAP_SANITIZE_FLAGS;

# The example user program, also built here (public header and library
# only) for corrupt.sh.
check_PROGRAMS += tests/install-example
tests_install_example_SOURCES = tests/install-example.c
tests_install_example_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS)
tests_install_example_LDADD = lib/libsessnap.la $(JSONC_LIBS)

check_PROGRAMS += $(CHECK_TESTS)
TESTS += $(CHECK_TESTS) $(CLI_TESTS)
EXTRA_DIST += $(CLI_TESTS) $(CLI_TEST_HELPERS)

# Temp-dir fixture and helpers shared by every suite (check, libc, libbsd).
check_LTLIBRARIES += tests/libtestutil.la
tests_libtestutil_la_SOURCES = tests/testutil.c tests/testutil.h
tests_libtestutil_la_CPPFLAGS = $(AM_CPPFLAGS) $(CHECK_CFLAGS) $(BSD_CFLAGS)
tests_libtestutil_la_LIBADD = $(CHECK_LIBS) $(BSD_LIBS)

# Flags of every suite that links the internal library.
TEST_INTERNAL_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/lib -I$(top_srcdir)/lib/include -I$(top_srcdir)/tests \
	$(JSONC_CFLAGS) $(BSD_CFLAGS) $(XXHASH_CFLAGS) $(CHECK_CFLAGS)
TEST_INTERNAL_LDADD = tests/libsuite.la tests/libtestutil.la \
	lib/libsessnap-internal.la \
	$(JSONC_LIBS) $(BSD_LIBS) $(XXHASH_LIBS) $(CHECK_LIBS)

# The internal suites' helpers.  inject.c installs its wrappers in the
# seam's table before main(); a suite that calls none of its functions
# does not link it and runs on the real calls.
check_LTLIBRARIES += tests/libsuite.la
tests_libsuite_la_SOURCES = tests/inject.c tests/inject.h \
	tests/scanutil.c tests/scanutil.h
tests_libsuite_la_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)

# Every internal suite is built from tests/<name>.c, automake's default
# source, and linked with LDADD (every other program names its own
# _LDADD).  Per-target flags are the one thing automake cannot default, so
# each suite has its line.
LDADD = $(TEST_INTERNAL_LDADD)
tests_check_error_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_atomic_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_format_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_store_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_session_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_load_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_clean_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_writer_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_scan_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_recover_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_faults_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_hostile_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_powerloss_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_text_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_delta_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_deltaseq_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS) $(ZSTD_CFLAGS)
tests_check_deltaseq_LDADD = $(TEST_INTERNAL_LDADD) $(ZSTD_LIBS)
tests_check_claim_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_lease_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_check_patch_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)

# The API suite: public header and public library only.
tests_check_api_SOURCES = tests/check_api.c
tests_check_api_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	-I$(top_srcdir)/tests $(JSONC_CFLAGS) $(CHECK_CFLAGS)
tests_check_api_LDADD = tests/libtestutil.la lib/libsessnap.la \
	$(JSONC_LIBS) $(CHECK_LIBS)

# The command line's age parser (cli/age.c), tested on its own.
tests_check_age_SOURCES = tests/check_age.c cli/age.c cli/age.h \
	lib/words.c lib/words.h
tests_check_age_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli \
	-I$(top_srcdir)/tests $(BSD_CFLAGS) $(CHECK_CFLAGS)
tests_check_age_LDADD = tests/libtestutil.la $(BSD_LIBS) $(CHECK_LIBS)

# hostctl: one of several hosts that share a store (its own UTS namespace,
# boot id and clock offset through the seam), for tests/cli/hosts.sh.
check_PROGRAMS += tests/hostctl
tests_hostctl_SOURCES = tests/hostctl.c
tests_hostctl_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_hostctl_LDADD = $(TEST_INTERNAL_LDADD)
# Hosts sharing a store: leases, the claim race, the fence, clock skew.
CLI_TESTS += tests/cli/hosts.sh

# mksnap: writes hand-made snapshot files (old, foreign, newer-format) for
# the shell tests, which find it as $TOP_BUILDDIR/tests/mksnap.
check_PROGRAMS += tests/mksnap
tests_mksnap_SOURCES = tests/mksnap.c
tests_mksnap_CPPFLAGS = $(TEST_INTERNAL_CPPFLAGS)
tests_mksnap_LDADD = $(TEST_INTERNAL_LDADD)

# The README's integration example: built by make check, so it cannot rot,
# and run by tests/cli/readme-example.sh.  Public header and library only.
check_PROGRAMS += examples/readme-example
examples_readme_example_SOURCES = examples/readme-example.c
examples_readme_example_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS)
examples_readme_example_LDADD = lib/libsessnap.la $(JSONC_LIBS)

# The plain driver of the shell tests (SH_LOG_DRIVER).  automake installs
# it only when no extension has a driver of its own, so it is kept in the
# tree, as tap-driver.sh is.
EXTRA_DIST += build-aux/test-driver

## Reliability (docs/reliability.md): the fault walk and the hostile store
## are unit suites; the crash loop and the concurrency run are helper
## programs driven by shell tests, whose length the environment sets
## (SESSNAP_CRASHLOOP_ITERATIONS, SESSNAP_CONCURRENCY_SECONDS): "make
## check" runs the short versions, "make check-soak" the long ones.
# Helper programs of the shell tests (public API only, like a user).
check_PROGRAMS += tests/crashloop
tests_crashloop_SOURCES = tests/crashloop.c
tests_crashloop_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS)
tests_crashloop_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)

CLI_TESTS += tests/cli/crashloop.sh

check_PROGRAMS += tests/concurrency
tests_concurrency_SOURCES = tests/concurrency.c
tests_concurrency_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS) $(BSD_CFLAGS)
tests_concurrency_LDADD = lib/libsessnap.la $(JSONC_LIBS) $(BSD_LIBS)

CLI_TESTS += tests/cli/concurrency.sh

# No system call in lib/ bypasses the seam, and the library holds no test
# machinery (no-test-code.sh reads its symbols with nm).
CLI_TESTS += tests/cli/seam.sh tests/cli/no-test-code.sh
AM_TESTS_ENVIRONMENT += NM='$(NM_PROG)'; export NM;

# The long versions: 10,000 kills and 60 s of concurrency.
check-soak: tests/crashloop$(EXEEXT) tests/concurrency$(EXEEXT)
	rm -f tests/cli/crashloop.log tests/cli/crashloop.trs \
	  tests/cli/concurrency.log tests/cli/concurrency.trs
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS \
	  TESTS='tests/cli/crashloop.sh tests/cli/concurrency.sh' \
	  SESSNAP_CRASHLOOP_ITERATIONS=10000 SESSNAP_CONCURRENCY_SECONDS=60
.PHONY: check-soak

# verdict.sh: one verdict per file (wrong id, not a regular file, over the
# read bound) from every command.
CLI_TESTS += tests/cli/verdict.sh

# lease.sh: another host's sessions in list, show and the cleaner.
CLI_TESTS += tests/cli/lease.sh

# design-map.sh: docs/design.md's map matches the tree and its calls.
CLI_TESTS += tests/cli/design-map.sh

# api-coverage.sh: check_api calls every exported function.
CLI_TESTS += tests/cli/api-coverage.sh

# generations.sh: show, export --generation, verify and discard on a
# session with older generations.
CLI_TESTS += tests/cli/generations.sh

# exports.sh: libsessnap.so exports exactly the header's functions, each
# with its version node from lib/libsessnap.sym.
CLI_TESTS += tests/cli/exports.sh

# abi.sh: build-aux/check-abi.sh on the built library, against the
# committed baseline and against baselines edited to show an addition, a
# removal and a changed struct.
CLI_TESTS += tests/cli/abi.sh

# mkdelta: a session in the delta layout, through the public API, for the
# shell tests (tests/cli/delta-*.sh), which find it as
# $TOP_BUILDDIR/tests/mkdelta.
check_PROGRAMS += tests/mkdelta
tests_mkdelta_SOURCES = tests/mkdelta.c
tests_mkdelta_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib/include \
	$(JSONC_CFLAGS)
tests_mkdelta_LDADD = lib/libsessnap.la $(JSONC_LIBS)
# delta-decode.sh: a delta snapshot decoded with dd, head, tail, jq and
# zstd alone, as docs/format.md says, equals what "sessnap export" writes.
# delta-cli.sh: list, show, export, verify and clean on both layouts.
CLI_TESTS += tests/cli/delta-decode.sh tests/cli/delta-cli.sh
