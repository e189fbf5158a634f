#!/bin/bash
# test.sh -- quick start 2: build sessnap and run its test suites.
#
# Runs "make check" (SESSNAP_TEST_FSYNC=1 in the environment keeps fsync on),
# the Python binding's pytest suite (tests/python.sh) and its install test
# (tests/python-install.sh), and prints the failing tests' lines and the
# closing "N passed, N failed" line, which counts all three.  Exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
rc=0
make -j"$(nproc)" check || rc=$?
# The Python binding: built against this tree and tested with pytest, then
# installed with pip from a "make install" (python/README.md).
echo
tests/python.sh python-tests.results || rc=1
tests/python-install.sh python-install.results || rc=1
echo
build-aux/test-summary.sh . -r python-tests.results \
	-r python-install.results || { test "$rc" -ne 0 || rc=1; }
exit "$rc"
