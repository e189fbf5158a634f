#!/bin/sh
# generations.sh -- a session with older generations (<id>.snap.2, written
# by a store that keeps more than one), seen through the commands: show
# lists each with its verdict, export --generation N writes one of them,
# verify reports each, and discard removes them all.
set -eu

: "${SESSNAP:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"
S="$SESSNAP"

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
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
	[ "$got" -eq "$want" ] ||
		fail "exit $got (want $want): $*: $(cat "$tmp/out" "$tmp/err")"
}
has() { grep -q -- "$1" "$2" || fail "no '$1' in $2: $(cat "$2")"; }

ID=00000000000000000000000000000007
D="$tmp/store"
mkdir -m 700 "$D"
"$MKSNAP" "$D" "$ID" --age 60 --state '{"g":0}'
"$MKSNAP" "$D" "$ID" --age 120 --name "$ID.snap.prev" --state '{"g":1}'
"$MKSNAP" "$D" "$ID" --age 180 --name "$ID.snap.2" --state '{"g":2}'

# show: one line per generation, with its number and verdict
expect 0 "$S" show --dir "$D" "$ID"
has 'generations (export --generation N):' "$tmp/out"
has '^  0  seq' "$tmp/out"
has '^  1  seq' "$tmp/out"
has '^  2  seq .* ok' "$tmp/out"
expect 0 "$S" show --dir "$D" "$ID" --json
n=$(jq '.generations | length' "$tmp/out" 2>/dev/null || echo jq-missing)
[ "$n" = 3 ] || [ "$n" = jq-missing ] || fail "show --json: $n generations"

# export --generation N: that generation alone; 0 is the newest
expect 0 "$S" export --dir "$D" "$ID" --generation 2
[ "$(cat "$tmp/out")" = '{"g":2}' ] || fail "generation 2: $(cat "$tmp/out")"
expect 0 "$S" export --dir "$D" "$ID" -g 0
[ "$(cat "$tmp/out")" = '{"g":0}' ] || fail "generation 0: $(cat "$tmp/out")"
expect 1 "$S" export --dir "$D" "$ID" --generation 3
has "no generation 3" "$tmp/err"
expect 2 "$S" export --dir "$D" "$ID" --generation 99
expect 2 "$S" export --dir "$D" "$ID" --generation x

# The two newest broken: the loader and verify use generation 2, and
# verify reports each generation.
printf 'broken\n' >"$D/$ID.snap"
: >"$D/$ID.snap.prev"
expect 0 "$S" export --dir "$D" "$ID"
[ "$(cat "$tmp/out")" = '{"g":2}' ] || fail "fallback: $(cat "$tmp/out")"
expect 0 "$S" verify --dir "$D"
has "ok-from-older" "$tmp/out"
has "generation 0 (seq 0): corrupt" "$tmp/out"
has "generation 2 (seq 3): ok" "$tmp/out"
expect 0 "$S" show --dir "$D" "$ID"
has "this is generation 2" "$tmp/out"
expect 1 "$S" export --dir "$D" "$ID" --generation 0
has "generation 0 of session $ID" "$tmp/err"

# discard: every generation goes
expect 0 "$S" discard --dir "$D" "$ID"
left=$(find "$D" -type f | wc -l)
[ "$left" -eq 0 ] || fail "$left file(s) left after discard: $(ls -a "$D")"

if [ "$fails" -ne 0 ]; then
	echo "generations.sh: $fails failure(s)" >&2
	exit 1
fi
echo "generations.sh: show, export --generation, verify, discard"
