#!/bin/sh
# python.sh - build the Python binding (python/) against the library of
# this build tree and run its pytest suite (scripts/test.sh runs it).
#
# Usage: tests/python.sh [RESULTS]
#
# Every test's outcome goes to RESULTS (default python-tests.results) as a
# "PASS: ..." / "FAIL: ..." line, which build-aux/test-summary.sh -r
# counts into the closing "N passed, N failed" line; a build that fails,
# a pytest that finds no test (exit status 5) or exits non-zero without a
# failing test adds a FAIL line of its own.  $PYTHON is the interpreter
# (default /usr/bin/python3, Debian's, which has python3-cffi).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-python-tests.results}
case $results in /*) ;; *) results=$(pwd)/$results ;; esac
python=${PYTHON:-/usr/bin/python3}
: >"$results"

fail() {
	echo "FAIL: python: $1" >>"$results"
	echo "python.sh: $1" >&2
	exit 1
}

test -f "$top/lib/.libs/libsessnap.so" || fail "the library is not built (run make)"
log=$top/python/build/build.log
mkdir -p "$top/python/build"
# --force: the extension's C source is generated from the binding's
# declarations, which need not change when <sessnap.h> does (its structs
# are declared with "..."), so setuptools would keep an extension built
# against the old header, with the old struct sizes.
(
	cd "$top/python" &&
	SESSNAP_BUILD_TREE=$top "$python" setup.py -q build_ext --inplace \
		--force --build-temp "$top/python/build/temp"
) >"$log" 2>&1 || {
	cat "$log" >&2
	fail "building the binding failed"
}

SESSNAP_PYTEST_RESULTS=$results \
SESSNAP=${SESSNAP:-$top/sessnap} \
SESSNAP_DEMO=${SESSNAP_DEMO:-$top/sessnap-demo} \
PYTHONPATH=$top/python${PYTHONPATH:+:$PYTHONPATH} \
	"$python" -m pytest -p no:cacheprovider -q -rfE "$top/python/tests"
rc=$?
if test "$rc" -eq 5; then
	grep -q '^FAIL:' "$results" || fail "pytest collected no tests"
	exit 1
fi
if test "$rc" -ne 0 && ! grep -q '^FAIL:' "$results"; then
	fail "pytest exited with status $rc"
fi
if ! grep -q '^PASS:' "$results"; then
	fail "no test passed"
fi
exit "$rc"
