#!/bin/sh
# verdict.sh -- one verdict per file, the same from every command: a header
# whose id is not its file name's, a FIFO, directory or symlink named like a
# snapshot, a lock file that is not a regular file, an empty owner host, and
# a snapshot over the read bound, each seen through list, show, verify,
# export, discard and snapshot-clean.
set -eu

: "${SESSNAP:?run me through make check}"
: "${SNAPSHOT_CLEAN:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"
S="$SESSNAP"
C="$SNAPSHOT_CLEAN"

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
hasnt() { if grep -q -- "$1" "$2"; then fail "'$1' in $2: $(cat "$2")"; fi; }

GOOD=00000000000000000000000000000001
WRONG=00000000000000000000000000000002
OTHER=00000000000000000000000000000003
BIG=00000000000000000000000000000004
NOHOST=00000000000000000000000000000005
ODD=00000000000000000000000000000006
DAY=86400

fresh() {
	rm -rf "$tmp/store"
	d="$tmp/store"
	mkdir -m 700 "$d"
	"$MKSNAP" "$d" $GOOD --age 60 --label good
}

# ---- a header naming another session -------------------------------------
fresh
"$MKSNAP" "$d" $OTHER --age $((100 * DAY)) --name $WRONG.snap
expect 0 "$S" list --dir "$d" --all
has "$WRONG  corrupt " "$tmp/out"
has "$GOOD  crashed " "$tmp/out"
expect 1 "$S" verify --dir "$d"
has "^corrupt  *$WRONG.*header names session $OTHER, not $WRONG" "$tmp/out"
has "^ok  *$GOOD" "$tmp/out"
expect 1 "$S" export --dir "$d" $WRONG
has "header names session" "$tmp/err"
expect 1 "$S" show --dir "$d" $WRONG --state
has "header names session" "$tmp/err"
expect 0 "$C" --dir "$d" --crashed-older-than 1s --older-than 1s
[ -e "$d/$WRONG.snap" ] ||
	fail "clean removed a corrupt file without --include-corrupt"
expect 0 "$C" --dir "$d" --crashed-older-than 1s --older-than 1s \
	--include-corrupt
[ -e "$d/$WRONG.snap" ] && fail "clean --include-corrupt kept $WRONG.snap"

# ---- a FIFO, a directory, a symlink named like a snapshot ----------------
for kind in fifo dir symlink; do
	fresh
	case $kind in
	fifo) mkfifo "$d/$ODD.snap" ;;
	dir) mkdir "$d/$ODD.snap" ;;
	symlink) ln -s "$d/$GOOD.snap" "$d/$ODD.snap" ;;
	esac
	expect 0 "$S" list --dir "$d" --all
	has "$ODD  corrupt .*(not a regular file" "$tmp/out"
	has "$GOOD  crashed " "$tmp/out"
	expect 0 "$S" list --dir "$d" --all --json
	has '"not_regular": true' "$tmp/out"
	expect 1 "$S" verify --dir "$d"
	has "^corrupt  *$ODD.*not a regular file" "$tmp/out"
	has "^ok  *$GOOD" "$tmp/out"
	hasnt "^0 ok" "$tmp/out"
	expect 0 "$S" show --dir "$d" $ODD
	has "status:  *corrupt" "$tmp/out"
	expect 1 "$S" export --dir "$d" $ODD
	expect 1 "$S" discard --dir "$d" $ODD
	has "not a regular file" "$tmp/err"
	expect 0 "$C" --dir "$d" --older-than 1s --crashed-older-than 1s \
		--tmp-older-than 1s --include-corrupt
	[ -e "$d/$ODD.snap" ] || [ -L "$d/$ODD.snap" ] ||
		fail "$kind: removed by clean --include-corrupt"
	case $kind in
	fifo) [ -p "$d/$ODD.snap" ] || fail "fifo: not a FIFO any more" ;;
	dir) [ -d "$d/$ODD.snap" ] && ! [ -L "$d/$ODD.snap" ] ||
		fail "dir: not a directory any more" ;;
	symlink) [ -L "$d/$ODD.snap" ] || fail "symlink: not a link any more" ;;
	esac
done

# ---- a lock file that is not a regular file -------------------------------
fresh
"$MKSNAP" "$d" $ODD --age $((100 * DAY))
mkfifo "$d/$ODD.lock"
expect 0 "$S" list --dir "$d" --all
has "$ODD  corrupt " "$tmp/out"
has "$GOOD  crashed " "$tmp/out"
expect 0 "$C" --dir "$d" --crashed-older-than 1s
[ -p "$d/$ODD.lock" ] || fail "clean removed a FIFO named like a lock file"
[ -e "$d/$ODD.snap" ] || fail "clean removed a session whose lock is a FIFO"
if command -v python3 >/dev/null 2>&1; then
	rm -f "$d/$ODD.lock"
	"$MKSNAP" "$d" $GOOD --age 60 --label good
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/$ODD.lock"
	expect 0 "$S" list --dir "$d" --all
	has "$ODD  corrupt " "$tmp/out"
	has "$GOOD  crashed " "$tmp/out"
	[ -S "$d/$ODD.lock" ] || fail "list touched the socket"
fi

# ---- an unreadable snapshot hides nothing else ---------------------------
if [ "$(id -u)" -ne 0 ]; then
	fresh
	"$MKSNAP" "$d" $ODD --age 60
	chmod 000 "$d/$ODD.snap"
	expect 0 "$S" list --dir "$d" --all
	has "$ODD  corrupt .*(unreadable" "$tmp/out"
	has "$GOOD  crashed " "$tmp/out"
	expect 1 "$S" verify --dir "$d"
	has "^error  *$ODD" "$tmp/out"
	chmod 600 "$d/$ODD.snap"
fi

# ---- an empty owner host: ours, for list and clean alike -----------------
fresh
"$MKSNAP" "$d" $NOHOST --age $((100 * DAY)) --host ""
expect 0 "$S" list --dir "$d"
has "$NOHOST  crashed " "$tmp/out"
expect 0 "$C" --dir "$d" --crashed-older-than 1d
[ -e "$d/$NOHOST.snap" ] && fail "clean kept a crashed session of this host"

# ---- over the read bound: too big, never corrupt -------------------------
fresh
state=$(printf '{"text":"%02000d"}' 0)
"$MKSNAP" "$d" $BIG --age 60 --state "$state"
expect 0 "$S" verify --dir "$d" --read-bound 1k
has "^too-big  *$BIG.*read bound of 1024" "$tmp/out"
hasnt "corrupt  *$BIG" "$tmp/out"
hasnt "discard" "$tmp/out"
has "1 too big for the read bound" "$tmp/out"
expect 0 "$S" verify --dir "$d" --read-bound 1k --json
has '"result": "too-big"' "$tmp/out"
has '"too_big": 1' "$tmp/out"
expect 0 "$S" verify --dir "$d" --read-bound 4k
has "^ok  *$BIG" "$tmp/out"
expect 0 "$S" verify --dir "$d"
has "^ok  *$BIG" "$tmp/out"
expect 1 "$S" show --dir "$d" $BIG --state --read-bound 1k
has "read bound" "$tmp/err"
hasnt "discard" "$tmp/err"
expect 1 "$S" export --dir "$d" $BIG --read-bound 1k
has "read bound" "$tmp/err"
expect 0 "$S" export --dir "$d" $BIG --read-bound 1M
expect 2 "$S" recover --dir "$d" --read-bound 1q
has "invalid --read-bound" "$tmp/err"
expect 0 "$S" recover --dir "$d" --read-bound 1k
expect 0 "$S" list --dir "$d" --read-bound 1k
has "$BIG  crashed .*(too big for the read bound" "$tmp/out"
expect 0 "$S" list --dir "$d"
hasnt "too big" "$tmp/out"
for bad in 0 x 12q -5 ""; do
	expect 2 "$S" verify --dir "$d" --read-bound "$bad"
	has "invalid --read-bound" "$tmp/err"
done

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "verdict: all checks passed"
