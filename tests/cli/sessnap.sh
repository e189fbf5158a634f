#!/bin/sh
# sessnap.sh -- drive the built sessnap command: every subcommand and
# option, usage errors (exit 2), failures (exit 1), JSON that parses, and
# colour only on a terminal without NO_COLOR.
set -eu

: "${SESSNAP:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"
S="$SESSNAP"

tmp=$(mktemp -d)
holder=
cleanup() {
	if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || :; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
expect() {
	want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "exit $got (want $want): $*: $(cat "$tmp/err")"
}
# expect_in CODE INPUT CMD...: as expect, with INPUT on stdin.
expect_in() {
	want=$1
	input=$2
	shift 2
	set +e
	printf '%s' "$input" | "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "exit $got (want $want): $*: $(cat "$tmp/err")"
}
has() { grep -q -- "$1" "$2" || fail "no '$1' in $2: $(cat "$2")"; }
hasnt() { if grep -q -- "$1" "$2"; then fail "'$1' in $2"; fi; }
json_ok() {
	if command -v jq >/dev/null 2>&1; then
		jq -e . "$1" >/dev/null || fail "invalid JSON in $1"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$1" >/dev/null || fail "invalid JSON in $1"
	else
		head -c1 "$1" | grep -q '[{[]' || fail "not JSON: $1"
	fi
}

I1=00000000000000000000000000000001
I2=00000000000000000000000000000002
I3=00000000000000000000000000000003
I4=00000000000000000000000000000004
DAY=86400
d="$tmp/store"
mkdir -m 700 "$d"

# ---- layering ----------------------------------------------------------------
# The commands include their own headers, <sessnap.h> and, as the one
# exception, lib/words.h; words.c, compiled into them, includes nothing
# of the library's internals (see "One set of words" in docs/design.md).
if [ -n "${TOP_SRCDIR:-}" ] && [ -d "$TOP_SRCDIR/cli" ]; then
	grep -H '^#include "' "$TOP_SRCDIR"/cli/*.c "$TOP_SRCDIR"/cli/*.h |
		grep -v '#include "[a-z_-]*\.h"$' |
		grep -v '#include "\.\./lib/words\.h"$' >"$tmp/inc" || :
	[ ! -s "$tmp/inc" ] || fail "cli/ reaches into lib/: $(cat "$tmp/inc")"
	grep -H '^#include "' "$TOP_SRCDIR"/lib/words.[ch] |
		grep -v '#include "config\.h"$' |
		grep -v '#include "words\.h"$' >"$tmp/inc" || :
	[ ! -s "$tmp/inc" ] ||
		fail "words.c depends on the library: $(cat "$tmp/inc")"
fi

# ---- usage --------------------------------------------------------------------
expect 0 "$S" --help
for c in list show recover discard verify export clean; do
	has "$c" "$tmp/out"
done
expect 0 "$S" --version
has "sessnap" "$tmp/out"
expect 2 "$S"
expect 2 "$S" frobnicate
expect 2 "$S" --bogus
for c in list show recover discard verify export clean; do
	expect 0 "$S" "$c" --help
	has "Usage: " "$tmp/out"
	expect 2 "$S" "$c" --bogus
done
expect 2 "$S" list
has "give --dir DIR or --app APP" "$tmp/err"
expect 2 "$S" list --dir "$d" --app x
expect 2 "$S" list --dir "$d" extra
expect 2 "$S" show --dir "$d"
expect 2 "$S" export --dir "$d"
expect 2 "$S" discard --dir "$d"
expect 2 "$S" list --dir
expect 2 "$S" clean --dir "$d" --older-than 3x
expect 1 "$S" list --dir "$tmp/missing"

# ---- a store: crashed, completed, running, newer, foreign ----------------------
"$MKSNAP" "$d" $I1 --age 180 --label "notes.txt" --state '{"text":"one"}'
"$MKSNAP" "$d" $I2 --age $((10 * DAY)) --completed --label done
"$MKSNAP" "$d" $I3 --age 60 --label live
(exec 9>"$d/$I3.lock" && flock -x 9 && exec sleep 60) &
holder=$!
i=0
while flock -n -x "$d/$I3.lock" true 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
"$MKSNAP" "$d" $I4 --age 100 --format 99

# ---- list ---------------------------------------------------------------------------
expect 0 "$S" list --dir "$d"
has "^ID  *STATUS  *SAVED" "$tmp/out"
has "$I1  crashed " "$tmp/out"
has "3 minutes ago" "$tmp/out"
has "notes.txt" "$tmp/out"
has "$I3  running " "$tmp/out"
has "$I4  newer " "$tmp/out"
hasnt "$I2" "$tmp/out"
hasnt "$(printf '\033')" "$tmp/out"
expect 0 "$S" list --dir "$d" --all
has "$I2  completed " "$tmp/out"
expect 0 "$S" list --dir "$d" --all --json
json_ok "$tmp/out"
has '"version": 1' "$tmp/out"
has '"status": "crashed"' "$tmp/out"
has '"label": "notes.txt"' "$tmp/out"
has '"saved_ms": ' "$tmp/out"
has '"owner": {' "$tmp/out"
has "\"id\": \"$I2\"" "$tmp/out"
expect 0 "$S" list --dir "$d" --json
hasnt "\"id\": \"$I2\"" "$tmp/out"
# --app finds the default store under XDG_STATE_HOME.
mkdir -p -m 700 "$tmp/state/sessnap/ed"
"$MKSNAP" "$tmp/state/sessnap/ed" $I1 --age 60
expect 0 env XDG_STATE_HOME="$tmp/state" "$S" list --app ed
has "$I1" "$tmp/out"

# Colour: never into a file or pipe; on a terminal unless NO_COLOR.
if command -v script >/dev/null 2>&1 &&
	script -qec true /dev/null >/dev/null 2>&1; then
	script -qec "$S list --dir $d" /dev/null >"$tmp/tty" </dev/null
	has "$(printf '\033')\[" "$tmp/tty"
	NO_COLOR=1 script -qec "$S list --dir $d" /dev/null >"$tmp/tty" \
		</dev/null
	hasnt "$(printf '\033')\[" "$tmp/tty"
fi

# Output that cannot be written is a failure that says so, for every way
# a command prints: a short table, a JSON document, and a listing larger
# than stdio's buffer (its write fails before the final flush).
if [ -w /dev/full ]; then
	big="$tmp/big"
	mkdir -m 700 "$big"
	i=0
	while [ $i -lt 80 ]; do
		"$MKSNAP" "$big" "$(printf '%032x' $((i + 1)))" --age 60
		i=$((i + 1))
	done
	for args in "list --dir $d" "list --dir $d --json" "show --dir $d $I1" \
		"show --dir $d $I1 --json" "export --dir $d $I1" \
		"list --dir $big" "list --dir $big --json"; do
		set +e
		# shellcheck disable=SC2086
		"$S" $args >/dev/full 2>"$tmp/err"
		got=$?
		set -e
		[ "$got" -eq 1 ] || fail "exit $got (want 1): $args >/dev/full"
		has "write to stdout failed" "$tmp/err"
	done
fi

# ---- show ---------------------------------------------------------------------------
expect 0 "$S" show --dir "$d" $I1
has "status:  *crashed" "$tmp/out"
has "label:  *notes.txt" "$tmp/out"
has "saved:.*ago" "$tmp/out"
"$MKSNAP" "$d" abcd0000000000000000000000000005 --age 30 --state '{"n":5}'
expect 0 "$S" show --dir "$d" abcd --state
has '"n": 5' "$tmp/out"
expect 0 "$S" discard --dir "$d" abcd
has "discarded abcd0000000000000000000000000005" "$tmp/out"
expect 1 "$S" show --dir "$d" 0000
has "more than one" "$tmp/err"
expect 0 "$S" show --dir "$d" $I1 --state
has '"text": "one"' "$tmp/out"
expect 0 "$S" show --dir "$d" $I1 --state --json
json_ok "$tmp/out"
has '"state": {' "$tmp/out"
expect 0 "$S" show --dir "$d" $I1 --json
hasnt '"state"' "$tmp/out"
expect 1 "$S" show --dir "$d" ffffffffffffffffffffffffffffffff
has "no session" "$tmp/err"
expect 1 "$S" show --dir "$d" xyz

# ---- export -------------------------------------------------------------------------
expect 0 "$S" export --dir "$d" $I1
[ "$(cat "$tmp/out")" = '{"text":"one"}' ] || fail "export: $(cat "$tmp/out")"
expect 0 "$S" export --dir "$d" $I1 -o "$tmp/exported.json"
[ "$(cat "$tmp/exported.json")" = '{"text":"one"}' ] || fail "export -o"
ls "$tmp" | grep -q 'exported.json.' && fail "export left a temporary file"
expect 1 "$S" export --dir "$d" $I4
expect 1 "$S" export --dir "$d" $I1 -o "$tmp/no/such/dir/x.json"

# ---- verify -------------------------------------------------------------------------
expect 0 "$S" verify --dir "$d"
has "^ok  *$I1" "$tmp/out"
has "^newer  *$I4" "$tmp/out"
printf 'garbage\n' >"$d/$I2.snap"
expect 1 "$S" verify --dir "$d"
has "^corrupt  *$I2" "$tmp/out"
expect 1 "$S" verify --dir "$d" --json
json_ok "$tmp/out"
has '"result": "corrupt"' "$tmp/out"
has '"bad": 1' "$tmp/out"

# ---- discard ------------------------------------------------------------------------
expect 1 "$S" discard --dir "$d" $I3
[ -e "$d/$I3.snap" ] || fail "discard removed a running session"
expect 0 "$S" discard --dir "$d" $I2
[ -e "$d/$I2.snap" ] && fail "discard left $I2.snap"
expect 1 "$S" discard --dir "$d" ffffffffffffffffffffffffffffffff $I4
[ -e "$d/$I4.snap" ] && fail "discard stopped at the first failure"

# ---- recover ------------------------------------------------------------------------
# No terminal and no --assume-tty: nothing restored, everything kept.
expect 0 "$S" recover --dir "$d"
[ -s "$tmp/out" ] && fail "recover printed a state without asking"
[ -e "$d/$I1.snap" ] || fail "recover removed a snapshot"
expect_in 0 'y
' "$S" recover --dir "$d" --assume-tty -o "$tmp/restored.json"
has '"text": "one"' "$tmp/restored.json"
[ -e "$d/$I1.snap" ] || fail "recover did not keep the snapshot"
expect_in 0 'y
' "$S" recover --dir "$d" --assume-tty
has '"text": "one"' "$tmp/out"

# ---- keys: list --key, recover --key, the key in list --json and show -----
k=$tmp/keys
mkdir -m 700 "$k"
K1=0000000000000000000000000000000a
K2=0000000000000000000000000000000b
K3=0000000000000000000000000000000c
"$MKSNAP" "$k" $K1 --age 60 --key /home/u/a.txt --label a --state '{"f":"a"}'
"$MKSNAP" "$k" $K2 --age 30 --key /home/u/b.txt --label /home/u/a.txt \
	--state '{"f":"b"}'
"$MKSNAP" "$k" $K3 --age 10 --key "$(printf 'bad\001key')" --state '{}'
expect 0 "$S" list --dir "$k" --key /home/u/a.txt
has $K1 "$tmp/out"
hasnt $K2 "$tmp/out" # a label is never matched
hasnt $K3 "$tmp/out"
expect 0 "$S" list --dir "$k" --key /home/u/a.tx
hasnt $K1 "$tmp/out"
expect 0 "$S" list --dir "$k" --json
json_ok "$tmp/out"
has '"key": "/home/u/a.txt"' "$tmp/out"
has '"key_hex": "626164016b6579"' "$tmp/out"
expect 0 "$S" show --dir "$k" $K1
has 'key: *\/home\/u\/a.txt' "$tmp/out"
expect 0 "$S" show --dir "$k" $K3 --json
has '"key_hex": "626164016b6579"' "$tmp/out"
expect 2 "$S" list --dir "$k" --key ''
expect_in 0 'y
' "$S" recover --dir "$k" --key /home/u/a.txt --assume-tty
has '"f": "a"' "$tmp/out"
has '1 session' "$tmp/err"
expect_in 0 'y
' "$S" recover --dir "$k" --key /home/u/b.txt --assume-tty
has '"f": "b"' "$tmp/out"
expect 0 "$S" recover --dir "$k" --key /nowhere --assume-tty
[ -s "$tmp/out" ] && fail "recover --key offered another key's session"

# ---- clean ---------------------------------------------------------------------------
"$MKSNAP" "$d" $I2 --age $((10 * DAY)) --completed
expect 0 "$S" clean --dir "$d" --dry-run
has "would remove $I2.snap" "$tmp/out"
expect 0 "$S" clean --dir "$d" --json
json_ok "$tmp/out"
[ -e "$d/$I2.snap" ] && fail "clean left $I2.snap"
[ -e "$d/$I3.snap" ] || fail "clean removed a running session"

kill "$holder"
wait "$holder" 2>/dev/null || :
holder=

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "sessnap: all checks passed"
