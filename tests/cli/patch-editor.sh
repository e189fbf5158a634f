#!/bin/sh
# patch-editor.sh -- examples/patch-editor: an editor that hands over
# patches.  A first run edits two tabs with every kind of command (a sort
# sent as a full update first, then insert before a line and at the end,
# delete, cursor, a mark whose name needs escaping, close a tab: all of
# them patches after the last full update), flushes, prints its state and
# kills itself with SIGKILL.  The state saved on disk must be what it
# printed, byte for byte.  A second run adopts the crashed session, must
# hold the same state, patches on from it and is killed again: the saved
# state is again what it printed.  A third adopts it and ends; a fourth
# finds no crashed session.
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

# run N: the program on $tmp/inN, killed by its own "kill" command.
killed_run() {
	st=0
	"$prog" --dir "$tmp/store" <"$tmp/in$1" >"$tmp/out$1" \
		2>"$tmp/err$1" || st=$?
	test "$st" -eq 137 || fail "run $1 exited $st, not by SIGKILL"
	test ! -s "$tmp/err$1" || fail "run $1 complained"
}

cat >"$tmp/in1" <<'CMDS'
open b.txt
insert 0 zebra
insert 1 apple
sort
insert 0 mango
open a.txt
insert 0 first
insert 1 third
insert 1 second
insert 3 fourth
delete 0
cursor 1 4
mark one/two~three
close 0
flush
print
kill
CMDS
killed_run 1
id=$(sed -n 's/^new //p' "$tmp/out1")
test -n "$id" || fail "the first run began no session"
want=$(printed "$tmp/out1")
test "$want" = '{"active":0,"tabs":[{"name":"a.txt","cursor":[1,4],"lines":["second","third","fourth"]}],"marks":{"one/two~three":[1,1,4]}}' ||
	fail "unexpected state: $want"
got=$(saved "$id") || fail "sessnap export $id failed"
test "$got" = "$want" || fail "saved state differs:
saved:   $got
printed: $want"

cat >"$tmp/in2" <<'CMDS'
print
insert 3 cherry
delete 0
mark x
open c/d
flush
print
kill
CMDS
killed_run 2
grep -qx "restored $id" "$tmp/out2" || fail "run 2 did not adopt $id"
test "$(sed -n 's/^state //p' "$tmp/out2" | head -n 1)" = "$want" ||
	fail "the adopted state is not the saved one"
after=$(printed "$tmp/out2")
test "$after" = '{"active":1,"tabs":[{"name":"a.txt","cursor":[0,0],"lines":["third","fourth","cherry"]},{"name":"c/d","cursor":[0,0],"lines":[]}],"marks":{"one/two~three":[1,1,4],"x":[0,0,0]}}' ||
	fail "unexpected state after the adoption: $after"
got=$(saved "$id") || fail "sessnap export $id failed"
test "$got" = "$after" || fail "saved state differs after the adoption:
saved:   $got
printed: $after"

printf 'print\nquit\n' >"$tmp/in3"
"$prog" --dir "$tmp/store" <"$tmp/in3" >"$tmp/out3" 2>"$tmp/err3" ||
	fail "run 3 failed"
grep -qx "restored $id" "$tmp/out3" || fail "run 3 did not adopt $id"
test "$(printed "$tmp/out3")" = "$after" || fail "run 3's state differs"

"$prog" --dir "$tmp/store" </dev/null >"$tmp/out4" 2>"$tmp/err4" ||
	fail "run 4 failed"
grep -q '^new ' "$tmp/out4" || fail "a session was still offered"
echo "patch-editor: all checks passed"
