#!/bin/sh
# event-loops.sh - the event-loop examples of docs/integration.md run:
# lines typed into them are saved (tick mode, pull), and a clean end of
# input ends the session, leaving no snapshot behind.
#
# Input comes through a FIFO held open by this script, so the program
# runs until the test has seen its snapshot: a slow start (a loaded
# machine, a sanitizer build) makes the test wait, never fail.
set -eu

tmp=$(mktemp -d)
pid=
cleanup() {
	exec 3>&- 2>/dev/null || :
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Wait (at most 60 s) for exactly one snapshot in $1 holding $2.
wait_for_snapshot() {
	tries=0
	while :; do
		snaps=$(find "$1" -name '*.snap' 2>/dev/null | wc -l)
		if [ "$snaps" -eq 1 ] && grep -q "$2" "$1"/*.snap; then
			return 0
		fi
		if [ "$snaps" -gt 1 ]; then
			echo "$prog: expected one snapshot while running, found $snaps" >&2
			return 1
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$prog: ended before its snapshot held \"$2\"" >&2
			return 1
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 600 ]; then
			echo "$prog: no snapshot holding \"$2\" after 60 s (found $snaps)" >&2
			return 1
		fi
		sleep 0.1
	done
}

run_example() {
	prog=$1
	dir=$tmp/$(basename "$prog")
	fifo=$tmp/input
	rm -f "$fifo"
	mkfifo "$fifo"
	"$prog" "$dir" <"$fifo" &
	pid=$!
	exec 3>"$fifo"
	printf 'first line\nsecond line\n' >&3
	# The interval is 2 s: a tick saves while the program still runs.
	wait_for_snapshot "$dir" 'second line'
	printf 'third line\n' >&3
	exec 3>&-
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
