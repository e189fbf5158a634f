#!/bin/sh
# demo-end.sh -- sessnap-demo ends its session cleanly on quit, EOF, SIGTERM
# and SIGINT.
#
# Each run types a note, waits until the autosave has put it on disk, then
# ends the demo one way.  A clean end removes the session's files, so the
# store must be left without a snapshot or a lock file, the demo must say
# so, and it must exit 0.  A session killed without ending would leave its
# snapshot behind: that is what the scenario test checks the other way.
# Last, a store it must refuse and a usage error.
set -eu

: "${SESSNAP_DEMO:?run from make check}"
tmp=$(mktemp -d)
keeper=
cleanup() {
	if test -n "$keeper"; then
		kill "$keeper" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	test -f "$tmp/out" && sed 's/^/    /' "$tmp/out" >&2
	exit 1
}

# wait_snap DIR: wait up to 15 s for a snapshot holding the note.
wait_snap() {
	i=0
	while ! grep -qs "a note" "$1"/*.snap; do
		i=$((i + 1))
		test "$i" -lt 150 || return 1
		sleep 0.1
	done
}

# check_clean DIR: the demo ended its session and removed its files.
check_clean() {
	grep -q 'session ended cleanly' "$tmp/out" || fail "$1: no clean end"
	for f in "$2"/*.snap "$2"/*.lock; do
		test -e "$f" && fail "$1: $f is left behind"
	done
	return 0
}

# quit and EOF: the note and the ending come on a pipe, after the autosave.
for how in quit eof; do
	store=$tmp/$how
	mkfifo "$tmp/in-$how"
	"$SESSNAP_DEMO" --dir "$store" --interval 100 <"$tmp/in-$how" \
		>"$tmp/out" 2>&1 &
	pid=$!
	exec 3>"$tmp/in-$how"
	echo "a note" >&3
	wait_snap "$store" || fail "$how: the note was never saved"
	test "$how" = quit && echo quit >&3
	exec 3>&-
	wait "$pid" || fail "$how: exit status $?"
	check_clean "$how" "$store"
	echo "PASS: ends cleanly on $how"
done

# SIGTERM and SIGINT: the terminal stays open; the signal ends the demo.
for sig in TERM INT; do
	store=$tmp/$sig
	mkfifo "$tmp/in-$sig"
	"$SESSNAP_DEMO" --dir "$store" --interval 100 <"$tmp/in-$sig" \
		>"$tmp/out" 2>&1 &
	pid=$!
	exec 3>"$tmp/in-$sig"
	echo "a note" >&3
	wait_snap "$store" || fail "SIG$sig: the note was never saved"
	kill -s "$sig" "$pid"
	wait "$pid" || fail "SIG$sig: exit status $?"
	exec 3>&-
	grep -q "got SIG$sig" "$tmp/out" || fail "SIG$sig: not noticed"
	check_clean "SIG$sig" "$store"
	echo "PASS: ends cleanly on SIG$sig"
done

# A store it cannot use: the demo says why and exits 1, touching nothing.
mkdir -m 777 "$tmp/open"
chmod 777 "$tmp/open"
rc=0
echo "a note" | "$SESSNAP_DEMO" --dir "$tmp/open" >"$tmp/out" 2>&1 || rc=$?
test "$rc" -eq 1 || fail "unsafe store: exit status $rc, expected 1"
grep -q "cannot open the store.*chmod 700" "$tmp/out" ||
	fail "unsafe store: the message does not give the cure"
test -z "$(ls -A "$tmp/open")" || fail "unsafe store: files were created"
echo "PASS: refuses an unsafe store"

# Usage errors exit 2.
rc=0
"$SESSNAP_DEMO" --interval 0 >"$tmp/out" 2>&1 || rc=$?
test "$rc" -eq 2 || fail "--interval 0: exit status $rc, expected 2"
echo "PASS: rejects --interval 0"
