#!/bin/sh
# api-coverage.sh -- tests/check_api.c exercises every public function.
#
# check_api links only the public library and includes only <sessnap.h>:
# it is the suite that uses the library as a program would.  Every
# function that libsessnap.so exports must be called there; this test
# reads the exported names with nm and fails on each one check_api.c never
# names.  Skips (77) without nm or the built shared library.
set -eu

: "${TOP_SRCDIR:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
so=$TOP_BUILDDIR/lib/.libs/libsessnap.so
command -v nm >/dev/null 2>&1 && test -f "$so" || {
	echo "api-coverage.sh: no nm or no $so; skipped"
	exit 77
}
missing=0
for sym in $(nm -D --defined-only "$so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}'); do
	if ! grep -Eq "(^|[^a-z0-9_])$sym\(" "$TOP_SRCDIR/tests/check_api.c"; then
		echo "api-coverage.sh: $sym is exported and never called in tests/check_api.c" >&2
		missing=$((missing + 1))
	fi
done
test "$missing" -eq 0 || exit 1
echo "api-coverage.sh: every exported function is called in tests/check_api.c"
