#!/bin/sh
# snapshot-clean.sh -- drive the built snapshot-clean through every option
# and every safety rule.  Snapshots are made by tests/mksnap with saved
# times in the past, so nothing here waits.
set -eu

: "${SNAPSHOT_CLEAN:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"
SC="$SNAPSHOT_CLEAN"

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
# expect CODE CMD...: run CMD, check its exit status; output in $tmp/out.
expect() {
	want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "exit $got (want $want): $*: $(cat "$tmp/err")"
}
has() { grep -q -- "$1" "$2" || fail "no '$1' in $2: $(cat "$2")"; }
hasnt() { if grep -q -- "$1" "$2"; then fail "'$1' in $2"; fi; }
present() { [ -e "$1" ] || [ -L "$1" ] || fail "$1 was removed"; }
absent() { if [ -e "$1" ] || [ -L "$1" ]; then fail "$1 is still there"; fi; }
# A JSON document must parse: with jq or python3 if present, else a
# structural check with grep.
json_ok() {
	if command -v jq >/dev/null 2>&1; then
		jq -e . "$1" >/dev/null || fail "invalid JSON in $1"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$1" >/dev/null || fail "invalid JSON in $1"
	else
		head -c1 "$1" | grep -q '{' || fail "not JSON: $1"
	fi
}
store() {
	d="$tmp/$1"
	rm -rf "$d"
	mkdir -m 700 "$d"
	echo "$d"
}

I1=00000000000000000000000000000001
I2=00000000000000000000000000000002
I3=00000000000000000000000000000003
DAY=86400

# ---- usage ------------------------------------------------------------------
expect 0 "$SC" --help
has "older-than" "$tmp/out"
expect 0 "$SC" --version
has "snapshot-clean" "$tmp/out"
expect 2 "$SC"
has "exactly one of" "$tmp/err"
d=$(store u)
expect 2 "$SC" --dir "$d" --app x
expect 2 "$SC" --dir "$d" --bogus
expect 2 "$SC" --dir "$d" stray
expect 2 "$SC" --dir "$d" --older-than
for bad in 7 7x x d -1d 1.5d 7dd "" 99999999999999999999w; do
	expect 2 "$SC" --dir "$d" --older-than "$bad"
	has "expected a whole number followed by s, m, h, d or w" "$tmp/err"
done
expect 2 "$SC" --dir "$d" --crashed-older-than 3y
expect 2 "$SC" --dir "$d" --tmp-older-than 1
expect 2 "$SC" --dir "$d" --keep -1
expect 2 "$SC" --dir "$d" --keep lots
has "expected a whole number" "$tmp/err"
for good in 90s 15m 12h 7d 2w 0s; do
	expect 0 "$SC" --dir "$d" --older-than "$good"
done

# ---- --dir, default ages: completed 7d, crashed 30d ---------------------------
d=$(store a)
"$MKSNAP" "$d" $I1 --age $((8 * DAY)) --completed
"$MKSNAP" "$d" $I1 --age $((9 * DAY)) --completed --name $I1.snap.prev
: >"$d/$I1.lock"
"$MKSNAP" "$d" $I2 --age $((6 * DAY)) --completed
"$MKSNAP" "$d" $I3 --age $((20 * DAY))
expect 0 "$SC" --dir "$d"
absent "$d/$I1.snap"
absent "$d/$I1.snap.prev"
absent "$d/$I1.lock"
present "$d/$I2.snap"
present "$d/$I3.snap"
has "removed $I1.snap (completed session" "$tmp/out"
has "removed $I1.snap (completed session, snapshot file, written 1 week ago, " "$tmp/out"
has "removed 1 session" "$tmp/out"
has "freed" "$tmp/out"

# ---- --older-than, --crashed-older-than ------------------------------------
expect 0 "$SC" --dir "$d" --older-than 5d --crashed-older-than 2w
absent "$d/$I2.snap"
absent "$d/$I3.snap"

# ---- --tmp-older-than ------------------------------------------------------------
d=$(store t)
: >"$d/.$I1.snap.AbC123"
: >"$d/.$I2.snap.prev.XyZ789"
touch -d "@$(($(date +%s) - 7200))" "$d/.$I1.snap.AbC123"
expect 0 "$SC" --dir "$d"
absent "$d/.$I1.snap.AbC123"
present "$d/.$I2.snap.prev.XyZ789"
expect 0 "$SC" --dir "$d" --tmp-older-than 0s
absent "$d/.$I2.snap.prev.XyZ789"

# ---- --keep ---------------------------------------------------------------------
d=$(store k)
"$MKSNAP" "$d" $I1 --age $((10 * DAY)) --completed
"$MKSNAP" "$d" $I2 --age $((20 * DAY)) --completed
"$MKSNAP" "$d" $I3 --age $((30 * DAY)) --completed
expect 0 "$SC" --dir "$d" --keep 2 -v
present "$d/$I1.snap"
present "$d/$I2.snap"
absent "$d/$I3.snap"
has "among the --keep newest" "$tmp/out"

# ---- --dry-run, -v, --json -------------------------------------------------------
d=$(store n)
"$MKSNAP" "$d" $I1 --age $((10 * DAY)) --completed
"$MKSNAP" "$d" $I2 --age $DAY --completed
before=$(ls -A "$d" | wc -l)
expect 0 "$SC" --dir "$d" --dry-run
has "would remove $I1.snap" "$tmp/out"
hasnt "kept" "$tmp/out"
[ "$(ls -A "$d" | wc -l)" -eq "$before" ] || fail "--dry-run changed the store"
expect 0 "$SC" --dir "$d" -n -v
has "kept $I2.snap: not old enough" "$tmp/out"
expect 0 "$SC" --dir "$d" --dry-run --json
json_ok "$tmp/out"
has '"dry_run": true' "$tmp/out"
has '"action":"removed-completed"' "$tmp/out"
has '"action":"kept-young"' "$tmp/out"
present "$d/$I1.snap"
expect 0 "$SC" --dir "$d" --json
json_ok "$tmp/out"
has '"sessions_removed": 1' "$tmp/out"
absent "$d/$I1.snap"

# ---- --app and --all-apps (under a private XDG_STATE_HOME) ---------------------
XDG_STATE_HOME="$tmp/state"
export XDG_STATE_HOME
mkdir -p -m 700 "$tmp/state/sessnap/ed" "$tmp/state/sessnap/calc"
"$MKSNAP" "$tmp/state/sessnap/ed" $I1 --age $((10 * DAY)) --completed
"$MKSNAP" "$tmp/state/sessnap/calc" $I2 --age $((10 * DAY)) --completed
expect 0 "$SC" --app ed
absent "$tmp/state/sessnap/ed/$I1.snap"
present "$tmp/state/sessnap/calc/$I2.snap"
expect 0 "$SC" --app nosuchapp
expect 2 "$SC" --app ../evil
"$MKSNAP" "$tmp/state/sessnap/ed" $I1 --age $((10 * DAY)) --completed
expect 0 "$SC" --all-apps --json
json_ok "$tmp/out"
absent "$tmp/state/sessnap/ed/$I1.snap"
absent "$tmp/state/sessnap/calc/$I2.snap"
# A store that is not safe to use is a failure (exit 1), not a silent skip.
chmod 770 "$tmp/state/sessnap/calc"
expect 1 "$SC" --all-apps
has "writable by its group" "$tmp/err"
chmod 700 "$tmp/state/sessnap/calc"
unset XDG_STATE_HOME

# ---- safety: a running session (its lock held) is never removed -----------------
d=$(store r)
"$MKSNAP" "$d" $I1 --age $((100 * DAY))
: >"$d/$I1.lock"
: >"$d/.$I1.snap.AbC123"
touch -d "@$(($(date +%s) - 100 * DAY))" "$d/.$I1.snap.AbC123"
# The holder is the sleeping process itself: killing it frees the lock.
(exec 9>"$d/$I1.lock" && flock -x 9 && exec sleep 60) &
holder=$!
i=0
while flock -n -x "$d/$I1.lock" true 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
expect 0 "$SC" --dir "$d" --crashed-older-than 0s --tmp-older-than 0s -v
present "$d/$I1.snap"
present "$d/$I1.lock"
present "$d/.$I1.snap.AbC123"
has "running" "$tmp/out"
kill "$holder"
wait "$holder" 2>/dev/null || :
holder=
expect 0 "$SC" --dir "$d" --crashed-older-than 0s --tmp-older-than 0s
absent "$d/$I1.snap"
absent "$d/$I1.lock"
absent "$d/.$I1.snap.AbC123"

# ---- safety: newer-format files are never removed -----------------------------
d=$(store f)
"$MKSNAP" "$d" $I1 --age $((100 * DAY)) --completed --format 99
expect 0 "$SC" --dir "$d" --older-than 0s --include-corrupt -v
present "$d/$I1.snap"
has "newer format" "$tmp/out"

# ---- safety: not regular files, symlinks out of the store --------------------
d=$(store s)
mkfifo "$d/$I1.snap"
mkdir "$d/$I2.snap"
echo keep >"$d/$I2.snap/inside"
"$MKSNAP" "$tmp" $I3 --age $((100 * DAY)) --completed --name outside.snap
ln -s "$tmp/outside.snap" "$d/$I3.snap"
ln -s "$tmp/outside.snap" "$d/.$I3.snap.AbC123"
expect 0 "$SC" --dir "$d" --older-than 0s --crashed-older-than 0s \
	--tmp-older-than 0s --include-corrupt
[ -p "$d/$I1.snap" ] || fail "FIFO touched"
present "$d/$I2.snap/inside"
[ -L "$d/$I3.snap" ] || fail "symlink removed"
[ -f "$tmp/outside.snap" ] || fail "file outside the store removed"
has "not a regular file" "$tmp/out"

# ---- safety: corrupt only with --include-corrupt ---------------------------------
d=$(store c)
printf 'garbage\n' >"$d/$I1.snap"
touch -d "@$(($(date +%s) - 100 * DAY))" "$d/$I1.snap"
expect 0 "$SC" --dir "$d"
present "$d/$I1.snap"
has "corrupt (use --include-corrupt" "$tmp/out"
expect 0 "$SC" --dir "$d" --include-corrupt
absent "$d/$I1.snap"

# ---- a foreign host's unfinished session is kept ---------------------------------
d=$(store h)
"$MKSNAP" "$d" $I1 --age $((100 * DAY)) --host elsewhere.example
expect 0 "$SC" --dir "$d" -v
present "$d/$I1.snap"
has "another host" "$tmp/out"

# ---- a missing or unsafe --dir is a failure -------------------------------------
expect 1 "$SC" --dir "$tmp/missing"
has "does not exist" "$tmp/err"
ln -s "$d" "$tmp/link"
expect 1 "$SC" --dir "$tmp/link"
has "symlink" "$tmp/err"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "snapshot-clean: all checks passed"
