#!/bin/sh
# crashloop.sh -- SIGKILL a writer at random moments and recover each time
# (tests/crashloop.c), in the plain layout and in the delta layout.
# SESSNAP_CRASHLOOP_ITERATIONS sets the number of kills of each run: 200
# by default, 10000 under "make check-soak".
set -eu

iterations=${SESSNAP_CRASHLOOP_ITERATIONS:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$TOP_BUILDDIR/tests/crashloop" "$tmp/store" "$iterations"
# The same with three older generations rotated by every save.
"$TOP_BUILDDIR/tests/crashloop" "$tmp/store" "$iterations" 3
# The delta layout: kills in appends, in compactions and between them.
"$TOP_BUILDDIR/tests/crashloop" -d "$tmp/store" "$iterations"
"$TOP_BUILDDIR/tests/crashloop" -d "$tmp/store" "$iterations" 3

# Every crashed session was adopted and ended, or discarded: no snapshot
# may remain.  What a kill leaves behind besides - the temporary file of a
# save it interrupted, the lock file of a session killed before its first
# save - is the cleaner's to remove.
left=$(find "$tmp/store" ! -name '.*' \( -name '*.snap' -o \
	-name '*.snap.prev' -o -name '*.snap.[0-9]' \) | wc -l)
if test "$left" -ne 0; then
	echo "crashloop.sh: $left snapshot file(s) left after adopt/end" \
		"and discard:" >&2
	ls -la "$tmp/store" >&2
	exit 1
fi
temps=$(find "$tmp/store" -name '.*' -type f | wc -l)
locks=$(find "$tmp/store" -name '*.lock' | wc -l)
echo "crashloop.sh: left for the cleaner: $temps interrupted temporary" \
	"file(s), $locks lock file(s) of sessions that never saved"
