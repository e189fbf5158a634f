#!/bin/sh
# lease.sh -- sessions of another host on a shared store, as the commands
# show them: "sessnap list" and "sessnap show" name the host and the age of
# its lease; a fresh lease is running, an expired one crashed, none foreign;
# snapshot-clean keeps a session whose lease is fresh.  The other host is
# played by tests/mksnap (--host, --lease, --lease-age).
set -eu

: "${SESSNAP:?run me through make check}"
: "${SNAPSHOT_CLEAN:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"
S="$SESSNAP"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d="$tmp/store"
mkdir -m 700 "$d"

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
has() {
	grep -q -- "$1" "$2" || fail "no '$1' in $2: $(cat "$2")"
}

FRESH=00000000000000000000000000000f01
GONE=00000000000000000000000000000f02
NONE=00000000000000000000000000000f03
"$MKSNAP" "$d" $FRESH --age 30 --host far.example --lease 10000
"$MKSNAP" "$d" $GONE --age 300 --host far.example --lease 10000 \
	--lease-age 120
"$MKSNAP" "$d" $NONE --age 60 --host far.example

expect 0 "$S" list --dir "$d"
has "^$FRESH  running .*\[on far.example, lease renewed " "$tmp/out"
has "^$GONE  crashed .*\[on far.example, lease renewed 2 minutes ago\]" \
	"$tmp/out"
has "^$NONE  foreign .*\[on far.example, no lease\]" "$tmp/out"

expect 0 "$S" list --dir "$d" --json
python3 - "$tmp/out" $FRESH $GONE $NONE <<'PY' || fail "list --json"
import json, sys
doc = json.load(open(sys.argv[1]))
by = {s["id"]: s for s in doc["sessions"]}
fresh, gone, none = (by[i] for i in sys.argv[2:5])
assert fresh["status"] == "running", fresh
assert 0 <= fresh["lease_age_ms"] < 32000, fresh
assert fresh["lease_period_ms"] == 10000, fresh
assert gone["status"] == "crashed" and gone["lease_age_ms"] >= 110000, gone
assert none["status"] == "foreign", none
assert none["lease_age_ms"] is None and none["lease_period_ms"] is None
PY

expect 0 "$S" show --dir "$d" $FRESH
has "^host: *on far.example, lease renewed " "$tmp/out"
expect 0 "$S" show --dir "$d" $NONE
has "^host: *on far.example, no lease" "$tmp/out"

# The cleaner: the fresh one stays, the expired one goes like a crash.
expect 0 "$SNAPSHOT_CLEAN" --dir "$d" --crashed-older-than 1m
[ -e "$d/$FRESH.snap" ] || fail "the cleaner removed a session with a fresh lease"
[ -e "$d/$GONE.snap" ] && fail "the cleaner kept a session whose lease expired"
[ -e "$d/$NONE.snap" ] || fail "the cleaner removed a foreign session"

# This host's own sessions show no host note.
"$MKSNAP" "$d" 00000000000000000000000000000f04 --age 60
expect 0 "$S" list --dir "$d"
if grep -q "^00000000000000000000000000000f04 .*\[on " "$tmp/out"; then
	fail "a session of this host is shown with a host"
fi

[ "$fails" -eq 0 ] || exit 1
echo "lease.sh: ok"
