#!/bin/bash
# test.sh -- quick start 2: build sessnap and run its test suites.
#
# Runs "make check" (SESSNAP_TEST_FSYNC=1 in the environment keeps fsync on)
# and prints the failing tests' TAP lines and the closing
# "N passed, N failed" line.  Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
rc=0
make -j"$(nproc)" check || rc=$?
echo
build-aux/test-summary.sh . || { test "$rc" -ne 0 || rc=1; }
exit "$rc"
