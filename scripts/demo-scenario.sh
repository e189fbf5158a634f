#!/bin/bash
# demo-scenario.sh -- the whole story, with the real sessnap-demo: work,
# crash, recovery, cleaning.
#
# Usage: demo-scenario.sh [STORE_DIR]
#
# Starts sessnap-demo in a pseudo-terminal (script(1), from util-linux),
# types three notes, waits for the autosave, kills the demo with SIGKILL,
# starts it again, answers "y" to the recovery prompt, and checks that the
# notes came back.  Then it lists the store with "sessnap list" and asks
# "snapshot-clean --dry-run" what it would remove (nothing is removed).  Each step is narrated
# in one line starting with "==>"; what the demo printed follows, indented.
#
# STORE_DIR (default: a new temporary directory) is the demo's store; it is
# left in place for inspection.  The programs are taken from $SESSNAP_DEMO,
# $SESSNAP and $SNAPSHOT_CLEAN, by default from the top of the build tree
# ($TOP_BUILDDIR, else the source tree).
#
# Exit status: 0 when the notes came back, 1 when they did not or a step
# failed, 77 when script(1) is missing or cannot open a pseudo-terminal.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${TOP_BUILDDIR:-$top}
DEMO=${SESSNAP_DEMO:-$build/sessnap-demo}
SESSNAP=${SESSNAP:-$build/sessnap}
SNAPSHOT_CLEAN=${SNAPSHOT_CLEAN:-$build/snapshot-clean}
NOTES=("buy milk" "call the plumber about the kitchen sink"
	"the crash-recovery chapter: start with kill -9")

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'demo-scenario: %s\n' "$*" >&2
	exit 1
}

if ! command -v script >/dev/null 2>&1; then
	echo "demo-scenario: script(1) not found: install util-linux" >&2
	exit 77
fi
if ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	echo "demo-scenario: script(1) cannot open a pseudo-terminal here" \
		"(is /dev/pts mounted?)" >&2
	exit 77
fi
for p in "$DEMO" "$SESSNAP" "$SNAPSHOT_CLEAN"; do
	test -x "$p" || die "$p is not built: run scripts/demo.sh or make"
done

work=$(mktemp -d)
spid=
cleanup() {
	exec 3>&- 2>/dev/null || true
	if test -n "$spid" && kill -0 "$spid" 2>/dev/null; then
		kill "$spid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
store=${1:-$(mktemp -d)}
mkdir -p "$store"
chmod 700 "$store"

# start_demo OUTPUT [ARG...]: run the demo in a pseudo-terminal whose
# keyboard is file descriptor 3; its screen goes to OUTPUT.
start_demo() {
	local out=$1
	shift
	rm -f "$work/keys"
	mkfifo "$work/keys"
	script -qfec "$(printf '%q ' "$DEMO" --dir "$store" "$@")" \
		/dev/null <"$work/keys" >"$out" 2>&1 &
	spid=$!
	exec 3>"$work/keys"
}

# type LINE: type a line on the demo's keyboard.
type_line() {
	printf '%s\n' "$1" >&3
	sleep 0.3
}

# wait_for PATTERN FILE...: wait up to 15 s until grep finds PATTERN.
wait_for() {
	local pattern=$1 i
	shift
	for ((i = 0; i < 150; i++)); do
		if grep -qsF -- "$pattern" "$@"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# show FILE: what the demo printed, indented, without the terminal's CRs.
show() {
	tr -d '\r' <"$1" | awk '{ print "    | " $0 }'
}

say "Starting sessnap-demo in a terminal; its store is $store"
start_demo "$work/run1.out" --interval 500
wait_for "session:" "$work/run1.out" || die "the demo did not start"
pid=$(tr -d '\r' <"$work/run1.out" | sed -n 's/.*session: .*pid \([0-9]*\)).*/\1/p')
test -n "$pid" || die "no pid in the demo's banner"

say "Typing ${#NOTES[@]} notes; each edit is handed to the library at once"
for n in "${NOTES[@]}"; do
	type_line "$n"
done

say "Waiting for the autosave (every 500 ms) to put the last note on disk"
wait_for "${NOTES[${#NOTES[@]} - 1]}" "$store"/*.snap ||
	die "the last note never reached a snapshot in $store"

say "Killing sessnap-demo (pid $pid) with SIGKILL, as a crash would"
kill -KILL "$pid"
wait "$spid" || true
spid=
exec 3>&-
show "$work/run1.out"

say "Starting sessnap-demo again; it finds the crashed session and asks: answering y"
start_demo "$work/run2.out" --interval 500 --keep
wait_for "[Y/n" "$work/run2.out" || {
	show "$work/run2.out"
	die "the demo did not offer the crashed session"
}
type_line "y"
wait_for "session:" "$work/run2.out" || die "the demo did not restart"
type_line "list"
type_line "quit"
exec 3>&-
wait "$spid" || die "sessnap-demo did not end cleanly"
spid=
show "$work/run2.out"

restored=$(tr -d '\r' <"$work/run2.out" | sed -n '/restored [0-9]* note/,$p')
for n in "${NOTES[@]}"; do
	case $restored in
	*"$n"*) ;;
	*) die "the note \"$n\" did not come back" ;;
	esac
done
say "All ${#NOTES[@]} notes typed before the kill came back"

say "sessnap list --all: the session is in the store, ended and kept (--keep)"
"$SESSNAP" list --all --dir "$store" | sed 's/^/    | /'

say "snapshot-clean --dry-run --verbose: with the default ages it keeps it"
"$SNAPSHOT_CLEAN" --dry-run --verbose --dir "$store" | sed 's/^/    | /'

say "snapshot-clean --dry-run --older-than 0s: what it would remove today"
"$SNAPSHOT_CLEAN" --dry-run --older-than 0s --dir "$store" |
	sed 's/^/    | /'

say "Done; the store is left in $store"
