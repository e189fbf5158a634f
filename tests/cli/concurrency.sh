#!/bin/sh
# concurrency.sh -- 8 processes x 4 sessions flush while another process
# loads every snapshot in a loop (tests/concurrency.c).
# SESSNAP_CONCURRENCY_SECONDS sets the duration: 5 by default, 60 under
# "make check-soak".
set -eu

seconds=${SESSNAP_CONCURRENCY_SECONDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$TOP_BUILDDIR/tests/concurrency" "$tmp/store" "$seconds"
# every session ended cleanly: nothing may be left but nothing else
left=$(find "$tmp/store" -mindepth 1 | wc -l)
if test "$left" -ne 0; then
	echo "concurrency.sh: $left file(s) left in the store:" >&2
	ls -la "$tmp/store" >&2
	exit 1
fi
