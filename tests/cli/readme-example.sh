#!/bin/sh
# readme-example.sh -- the README's C example builds (make check) and works.
#
# The code block of README.md must be examples/readme-example.c (without
# its first comment line).
# Feeds examples/readme-example two notes on a pipe: with no terminal the
# recovery prompt asks nothing, the notes are handed over, and the clean
# end at EOF leaves the store without a snapshot.  Then a store that others
# can write must be refused, with the cure in the message.
set -eu

: "${TOP_BUILDDIR:?run from make check}" "${TOP_SRCDIR:?run from make check}"
ex=$TOP_BUILDDIR/examples/readme-example
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The README shows the example's code: the two must not drift apart.
sed -n '/^```c$/,/^```$/p' "$TOP_SRCDIR/README.md" | sed '1d;$d' >"$tmp/readme.c"
tail -n +2 "$TOP_SRCDIR/examples/readme-example.c" >"$tmp/example.c"
diff -u "$tmp/example.c" "$tmp/readme.c" ||
	fail "README.md's C example differs from examples/readme-example.c"

store=$tmp/state/sessnap/notes
printf 'first note\nsecond note\n' |
	XDG_STATE_HOME=$tmp/state "$ex" >"$tmp/out" 2>&1 ||
	fail "the example failed: $(cat "$tmp/out")"
test -d "$store" || fail "no store directory $store"
test "$(stat -c %a "$store")" = 700 || fail "store mode is not 700"
if ls "$store"/*.snap >/dev/null 2>&1; then
	fail "a clean end left a snapshot in $store"
fi

chmod 777 "$store"
rc=0
printf 'x\n' | XDG_STATE_HOME=$tmp/state "$ex" >"$tmp/out" 2>&1 || rc=$?
test "$rc" -eq 1 || fail "an unsafe store was accepted (status $rc)"
grep -q 'chmod 700' "$tmp/out" || fail "no cure in: $(cat "$tmp/out")"
echo "PASS: the README example saves, ends cleanly, refuses an unsafe store"
