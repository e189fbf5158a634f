#!/bin/sh
# demo-scenario.sh -- the README's first command, tried as a new user would.
#
# Runs scripts/demo-scenario.sh (the real sessnap-demo in a pseudo-terminal,
# killed with SIGKILL and started again) and checks its output: the banner
# shows the store and the session, the second start offered the crashed
# session, every note typed before the kill is shown after the recovery,
# and the listing and the dry run ran.  Skips (77) without script(1).
set -eu

: "${TOP_SRCDIR:?run from make check}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0
sh_out=$tmp/out
bash "$TOP_SRCDIR/scripts/demo-scenario.sh" "$tmp/store" >"$sh_out" 2>&1 ||
	rc=$?
cat "$sh_out"
if test "$rc" -eq 77; then
	exit 77
fi
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
test "$rc" -eq 0 || fail "the scenario exited with status $rc"

# What the demo showed after it was started again.
after=$tmp/after
sed -n '/^==> Starting sessnap-demo again/,$p' "$sh_out" >"$after"
test -s "$after" || fail "the scenario never restarted the demo"

grep -q '^    | *store: *'"$tmp/store" "$sh_out" ||
	fail "the banner does not show the store path"
grep -Eq '^    \| +session: [0-9a-f]{32} \(new' "$sh_out" ||
	fail "the first banner does not show a new session id"
grep -Eq '^    \| +session: [0-9a-f]{32} \(restored' "$after" ||
	fail "the second start did not restore the session"
grep -q 'restored 3 notes' "$after" ||
	fail "the demo did not say it restored 3 notes"
# In the prompt's words ("just now", "42 seconds ago"), not "42s ago".
grep -Eq 'restored 3 notes of "[^"]*" \(saved (just now|[0-9]+ seconds? ago)\)' \
	"$after" || fail "the demo did not say when the notes were saved"
for note in "buy milk" "call the plumber about the kitchen sink" \
	"the crash-recovery chapter: start with kill -9"; do
	# Typed only before the kill: here it can only come from recovery.
	grep -qF "$note" "$after" || fail "note \"$note\" was not recovered"
done
grep -q 'session ended cleanly' "$after" ||
	fail "the restarted demo did not end cleanly on quit"
# The listing shows the kept session as completed, with its id.
id=$(sed -n 's/^    | *session: \([0-9a-f]\{32\}\) (restored.*/\1/p' "$after")
test -n "$id" || fail "no restored session id in the banner"
sed -n '/^==> sessnap list/,/^==> /p' "$sh_out" >"$tmp/list"
grep -q "$id.*completed" "$tmp/list" ||
	fail "sessnap list does not show session $id as completed"
# The dry run with a zero age names the session it would remove.
sed -n '/^==> snapshot-clean --dry-run --older-than/,/^==> /p' "$sh_out" \
	>"$tmp/clean"
grep -q "$id" "$tmp/clean" ||
	fail "snapshot-clean --dry-run does not name session $id"
# A dry run removes nothing.
ls "$tmp/store"/*.snap >/dev/null 2>&1 ||
	fail "the dry run or the demo removed the kept snapshot"
echo "PASS: the notes typed before the kill came back"
