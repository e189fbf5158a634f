#!/bin/sh
# clean-refused.sh -- a store the library refuses to open (writable by
# others, or owned by another user) makes snapshot-clean and "sessnap
# clean" print the refusal and nothing else, and exit 1: no "removal
# failed" line (nothing was tried), no "removed 0 sessions" summary
# (nothing was cleaned).  With --all-apps the stores that could be opened
# are cleaned and summed up, and the refused one is only its refusal.
# The other-owner case needs root (to chown the store to nobody); as
# another user it is left out and said so.
set -eu

: "${SESSNAP:?run me through make check}"
: "${SNAPSHOT_CLEAN:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
MKSNAP="$TOP_BUILDDIR/tests/mksnap"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
# run CMD...: run CMD; its status in $got, its output in $tmp/out and
# $tmp/err.
run() {
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
}
# same FILE TEXT: FILE holds exactly TEXT (one line, or empty for "").
same() {
	if [ -z "$2" ]; then
		[ ! -s "$1" ] || fail "${1##*/} is not empty: $(cat "$1")"
	else
		printf '%s\n' "$2" >"$tmp/want"
		cmp -s "$1" "$tmp/want" ||
			fail "${1##*/}: got '$(cat "$1")', want '$2'"
	fi
}
# refused WHY DIR: both programs print only the refusal WHY and exit 1.
refused() {
	why=$1
	d=$2
	for prog in snapshot-clean "sessnap clean"; do
		if [ "$prog" = snapshot-clean ]; then
			run "$SNAPSHOT_CLEAN" --dir "$d"
		else
			run "$SESSNAP" clean --dir "$d"
		fi
		[ "$got" -eq 1 ] || fail "$prog --dir $d: exit $got, want 1"
		same "$tmp/err" "$prog: cannot open the store: store $d $why"
		same "$tmp/out" ""
	done
	# The JSON document also names the store and its error.
	run "$SNAPSHOT_CLEAN" --dir "$d" --json
	[ "$got" -eq 1 ] || fail "--json --dir $d: exit $got, want 1"
	grep -q "\"error\": \"store $d $why" "$tmp/out" ||
		fail "--json: no error for $d: $(cat "$tmp/out")"
	grep -q '"failed": 1}' "$tmp/out" ||
		fail "--json: failed is not 1: $(cat "$tmp/out")"
	same "$tmp/err" \
	    "snapshot-clean: cannot open the store: store $d $why"
}

I1=00000000000000000000000000000001
OLD=$((10 * 86400))

# ---- a store writable by others -------------------------------------------------
d="$tmp/open"
mkdir -m 700 "$d"
"$MKSNAP" "$d" $I1 --age $OLD --completed
chmod 0777 "$d"
refused "is writable by others (mode 0777): others could plant or replace \
snapshots; fix it with: chmod 700 $d" "$d"
[ -e "$d/$I1.snap" ] || fail "the refused store lost $I1.snap"

# ---- a store of another user ----------------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	d="$tmp/theirs"
	mkdir -m 700 "$d"
	"$MKSNAP" "$d" $I1 --age $OLD --completed
	chown nobody "$d"
	refused "is owned by uid $(id -u nobody), not by you (uid 0): another \
user could read or replace your snapshots; use a directory of your own, or \
chown it" "$d"
	[ -e "$d/$I1.snap" ] || fail "the other user's store lost $I1.snap"
else
	echo "not root: the other-owner case is left out"
fi

# ---- --all-apps: the good store is cleaned, the refused one only reported --------
XDG_STATE_HOME="$tmp/state"
export XDG_STATE_HOME
mkdir -p -m 700 "$tmp/state/sessnap/ed" "$tmp/state/sessnap/calc"
"$MKSNAP" "$tmp/state/sessnap/ed" $I1 --age $OLD --completed
chmod 0777 "$tmp/state/sessnap/calc"
run "$SNAPSHOT_CLEAN" --all-apps
[ "$got" -eq 1 ] || fail "--all-apps with a refused store: exit $got, want 1"
c="$tmp/state/sessnap/calc"
same "$tmp/err" "snapshot-clean: cannot open the store: store $c is writable \
by others (mode 0777): others could plant or replace snapshots; fix it with: \
chmod 700 $c"
grep -q "^removed 1 session, " "$tmp/out" ||
	fail "--all-apps: no summary of the cleaned store: $(cat "$tmp/out")"
[ ! -e "$tmp/state/sessnap/ed/$I1.snap" ] || fail "ed was not cleaned"
# Only stores that could not be opened: the errors are the whole output.
rm -rf "$tmp/state/sessnap/ed"
run "$SNAPSHOT_CLEAN" --all-apps
[ "$got" -eq 1 ] || fail "--all-apps, only a refused store: exit $got"
same "$tmp/out" ""
[ "$(wc -l <"$tmp/err")" -eq 1 ] ||
	fail "--all-apps, only a refused store: $(cat "$tmp/err")"
unset XDG_STATE_HOME

# ---- the exit status, as snapshot-clean(1) documents it ------------------------
# "1: Some removals failed, or a store could not be opened": --help says
# the same of both programs.
for prog in snapshot-clean "sessnap clean"; do
	if [ "$prog" = snapshot-clean ]; then
		run "$SNAPSHOT_CLEAN" --help
	else
		run "$SESSNAP" clean --help
	fi
	tr '\n' ' ' <"$tmp/out" | grep -q "1 some removals failed or a store \
could not be opened, 2 usage error" ||
		fail "$prog --help: the exit status is not as in snapshot-clean(1)"
done

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "clean-refused: all checks passed"
