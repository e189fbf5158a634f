#!/bin/sh
# patch-editor.sh -- examples/patch-editor: an editor that hands over
# patches.  A first run edits two tabs with every kind of command (insert
# before a line and at the end, delete, cursor, a mark whose name needs
# escaping, close a tab, a sort sent as a full update), flushes, prints
# its state and kills itself with SIGKILL.  The state saved on disk must be
# what it printed, byte for byte.  A second run adopts the crashed session,
# must hold the same state, patches on from it, and ends; a third finds no
# crashed session.
set -eu

: "${TOP_BUILDDIR:?run me through make check}"
: "${SESSNAP:?run me through make check}"
prog=$TOP_BUILDDIR/examples/patch-editor

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/store"

fail() {
	echo "FAIL: patch-editor: $1" >&2
	for f in "$tmp"/out* "$tmp"/err*; do
		test -f "$f" && { echo "--- $f" >&2; cat "$f" >&2; }
	done
	exit 1
}

# The state the program printed last, and the one saved for session $1.
printed() { sed -n 's/^state //p' "$1" | tail -n 1; }
saved() { "$SESSNAP" export --dir "$tmp/store" "$1"; }

cat >"$tmp/in1" <<'CMDS'
open a.txt
insert 0 first
insert 1 third
insert 1 second
insert 3 fourth
delete 0
cursor 1 4
mark one/two~three
open b.txt
insert 0 zebra
insert 1 apple
sort
insert 0 mango
close 0
flush
print
kill
CMDS
st=0
"$prog" --dir "$tmp/store" <"$tmp/in1" >"$tmp/out1" 2>"$tmp/err1" || st=$?
test "$st" -eq 137 || fail "first run exited $st, not by SIGKILL"
test ! -s "$tmp/err1" || fail "first run complained"
id=$(sed -n 's/^new //p' "$tmp/out1")
test -n "$id" || fail "first run began no session"
want=$(printed "$tmp/out1")
case $want in
*'"name":"b.txt"'*'"lines":["mango","apple","zebra"]'*'"marks":{"one/two~three":[0,1,4]}'*) ;;
*'"name":"b.txt"'*) fail "unexpected state: $want" ;;
*) fail "no state printed" ;;
esac
case $want in *a.txt*) fail "closed tab still in the state: $want" ;; esac
got=$(saved "$id") || fail "sessnap export $id failed"
test "$got" = "$want" || fail "saved state differs:
saved:   $got
printed: $want"

printf 'print\ninsert 2 cherry\ndelete 0\nmark x\nflush\nprint\nquit\n' \
	>"$tmp/in2"
"$prog" --dir "$tmp/store" <"$tmp/in2" >"$tmp/out2" 2>"$tmp/err2" ||
	fail "second run failed"
test ! -s "$tmp/err2" || fail "second run complained"
grep -qx "restored $id" "$tmp/out2" || fail "second run did not adopt $id"
test "$(sed -n 's/^state //p' "$tmp/out2" | head -n 1)" = "$want" ||
	fail "adopted state is not the saved one"
after=$(printed "$tmp/out2")
case $after in
*'"lines":["apple","cherry","zebra"]'*'"x":[0,0,0]'*) ;;
*) fail "patches after the adoption missing: $after" ;;
esac

"$prog" --dir "$tmp/store" </dev/null >"$tmp/out3" 2>"$tmp/err3" ||
	fail "third run failed"
grep -q '^new ' "$tmp/out3" || fail "a session was still offered"
echo "patch-editor: all checks passed"
