#!/bin/sh
# signal-close.sh -- the signal pattern of docs/integration.md for unsaved
# work: examples/poll-loop notes SIGTERM (or SIGHUP), closes its store
# from the main loop and dies of the signal.  The session must be left on
# disk, reported crashed (recoverable) by the scanner, with the last lines
# typed, although no autosave was due yet (the example's interval is 2 s).
# Ending the session there, or not catching the signal, fails this test.
set -eu

: "${SESSNAP:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
PROG="$TOP_BUILDDIR/examples/poll-loop"

tmp=$(mktemp -d)
pid=
feeder=
cleanup() {
	for p in $pid $feeder; do
		kill "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

die() {
	echo "FAIL: $*" >&2
	exit 1
}

# run_signal SIG: type two lines into the example, send SIG before any
# autosave is due, and check what it leaves.
run_signal() {
	sig=$1
	dir=$tmp/$sig
	mkfifo "$tmp/in.$sig"
	"$PROG" "$dir" <"$tmp/in.$sig" >"$tmp/out.$sig" 2>"$tmp/err.$sig" &
	pid=$!
	# Keep the input open (no end of input: that would be a clean end).
	{
		printf 'first line\nunsaved edit\n'
		sleep 30
	} >"$tmp/in.$sig" &
	feeder=$!
	# The example prints the number of lines it holds after each one it
	# reads; the handlers are installed before the first.
	i=0
	while ! grep -q '^2 lines$' "$tmp/out.$sig" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 200 ] || die "$sig: the example never read the lines"
		sleep 0.1
	done
	kill -s "$sig" "$pid"
	set +e
	wait "$pid"
	got=$?
	set -e
	pid=
	kill "$feeder" 2>/dev/null || :
	wait "$feeder" 2>/dev/null || :
	feeder=
	# Died of the signal, as without a handler, after closing the store.
	[ "$got" -gt 128 ] || die "$sig: exit status $got, not death by signal"
	[ ! -s "$tmp/err.$sig" ] || die "$sig: $(cat "$tmp/err.$sig")"

	"$SESSNAP" list --dir "$dir" >"$tmp/list" 2>&1 ||
		die "$sig: sessnap list failed: $(cat "$tmp/list")"
	grep -q crashed "$tmp/list" ||
		die "$sig: no crashed session left: $(cat "$tmp/list")"
	id=$(basename "$(ls "$dir"/*.snap)" .snap)
	"$SESSNAP" export --dir "$dir" "$id" >"$tmp/state" 2>&1 ||
		die "$sig: export failed: $(cat "$tmp/state")"
	grep -q 'unsaved edit' "$tmp/state" ||
		die "$sig: the last state was lost: $(cat "$tmp/state")"
}

run_signal TERM
run_signal HUP
echo "signal-close: the session survives SIGTERM and SIGHUP, recoverable"
