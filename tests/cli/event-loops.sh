#!/bin/sh
# event-loops.sh - the event-loop examples of docs/integration.md run:
# lines typed into them are saved (tick mode, pull), and a clean end of
# input ends the session, leaving no snapshot behind.
set -eu

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

run_example() {
	prog=$1
	dir=$tmp/$(basename "$prog")
	# Keep input open past the 2 s interval so that a tick saves while
	# the program runs, then end it.
	{
		printf 'first line\nsecond line\n'
		sleep 3.5
		printf 'third line\n'
	} | "$prog" "$dir" &
	pid=$!
	sleep 2.8
	snaps=$(find "$dir" -name '*.snap' | wc -l)
	if [ "$snaps" -ne 1 ]; then
		echo "$prog: expected one snapshot while running, found $snaps" >&2
		exit 1
	fi
	if ! grep -q 'second line' "$dir"/*.snap; then
		echo "$prog: the snapshot lacks the typed lines" >&2
		exit 1
	fi
	wait "$pid"
	pid=
	left=$(find "$dir" -type f | wc -l)
	if [ "$left" -ne 0 ]; then
		echo "$prog: $left files left after a clean end" >&2
		exit 1
	fi
}

run_example "$TOP_BUILDDIR/examples/poll-loop"
if [ -x "$TOP_BUILDDIR/examples/glib-loop" ]; then
	run_example "$TOP_BUILDDIR/examples/glib-loop"
fi
