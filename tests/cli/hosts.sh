#!/bin/sh
# hosts.sh -- several hosts share one store: each "host" is a hostctl
# process in a UTS namespace of its own (its own host name), with its own
# boot id and, for the skew case, a clock minutes off, through the seam.
# Leases of 200 ms (expired after 3 periods and the 2 s margin).
#
#  1. host A renews its lease: host B sees its session running for longer
#     than the expiry; A's writer is killed: B sees it running until the
#     lease expires (not before: 1.5 s at least), then crashed;
#  2. hosts B and C race to adopt a crashed session of A, 50 times:
#     exactly one wins each time, the claim names its copy, the loser
#     leaves nothing;
#  3. A is stopped (SIGSTOP), B adopts its session and saves, A resumes:
#     its next save and its end are refused (SESSNAP_EFENCED, naming the
#     session, the claim and host B), and B's files are byte for byte
#     what B wrote;
#  4. hosts whose clocks are five minutes apart either way give the same
#     verdicts, and the cleaner of host B keeps A's session while its
#     lease is fresh (every age 0), and removes it once it expired.
#
# Skipped (77) where a UTS namespace cannot be made (unshare not
# permitted).
set -eu

: "${TOP_BUILDDIR:?run me through make check}"
: "${SESSNAP:?run me through make check}"
H="$TOP_BUILDDIR/tests/hostctl"

tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do
		kill -CONT "$p" 2>/dev/null || :
		kill -KILL "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
store=$tmp/store
mkdir -m 700 "$store"

set +e
"$H" --host probe "$store" scan >/dev/null 2>"$tmp/probe"
rc=$?
set -e
if [ "$rc" -eq 77 ]; then
	echo "SKIP: no UTS namespace here: $(cat "$tmp/probe")"
	exit 77
fi
[ "$rc" -eq 0 ] || { echo "FAIL: probe: $(cat "$tmp/probe")" >&2; exit 1; }

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# Host A begins n sessions and serves commands from the FIFO $1.in; its
# output goes to $1.out.  Sets $apid.  Extra hostctl options follow n.
host_a() {
	name=$1
	n=$2
	shift 2
	mkfifo "$tmp/$name.in"
	"$H" --host hosta --boot-id boot-a "$@" "$store" begin "$n" \
		<"$tmp/$name.in" >"$tmp/$name.out" 2>&1 &
	apid=$!
	pids="$pids $apid"
}

# wait_for FILE PATTERN [TENTHS]: until a line of FILE matches.
wait_for() {
	t=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		t=$((t + 1))
		if [ "$t" -gt "${3:-100}" ]; then
			fail "no '$2' in $1 after $t tenths: $(cat "$1")"
			return 1
		fi
		sleep 0.1
	done
}

# verdict HOST ID [OPTIONS...]: the verdict host HOST gives session ID.
verdict() {
	vh=$1
	vid=$2
	shift 2
	"$H" --host "$vh" --boot-id "boot-$vh" "$@" "$store" scan |
		awk -v id="$vid" '$1 == id { print $2 }'
}

# until_verdict WANT HOST ID [OPTIONS...]: poll (10 s at most).
until_verdict() {
	want=$1
	shift
	t=0
	while [ "$(verdict "$@")" != "$want" ]; do
		t=$((t + 1))
		if [ "$t" -gt 100 ]; then
			fail "$2 never became $want on $1: $(verdict "$@")"
			return 1
		fi
		sleep 0.1
	done
}

# ---- 1. A killed: running until its lease expires, then crashed ----------
host_a one 1
exec 3>"$tmp/one.in"
wait_for "$tmp/one.out" '^id ' || exit 1
id=$(awk '/^id/ { print $2; exit }' "$tmp/one.out")
[ "$(verdict hostb "$id")" = running ] ||
	fail "1: live session of A is $(verdict hostb "$id") on B"
# Longer than the expiry (3 x 200 ms + 2 s): A's renewals keep it running.
sleep 3
[ "$(verdict hostb "$id")" = running ] ||
	fail "1: live session of A is $(verdict hostb "$id") on B after 3 s"
kill -KILL "$apid"
killed=$(date +%s%N)
wait "$apid" 2>/dev/null || :
exec 3>&-
[ "$(verdict hostb "$id")" = running ] ||
	fail "1: killed A's session is $(verdict hostb "$id") on B at once"
until_verdict crashed hostb "$id"
# Not before its lease expired: 3 periods + 2 s after its last renewal,
# which was at most a period before the kill (less slack for a late
# renewal on a busy machine).
after=$((($(date +%s%N) - killed) / 1000000))
[ "$after" -ge 1500 ] ||
	fail "1: crashed on B $after ms after the kill, before its lease expired"
[ "$(verdict hostc "$id")" = crashed ] ||
	fail "1: crashed on B but $(verdict hostc "$id") on C"

# ---- 2. B and C race to adopt, 50 times: exactly one wins ----------------
host_a race 50
exec 3>"$tmp/race.in"
wait_for "$tmp/race.out" '^ok\|^id ' || exit 1
t=0
while [ "$(grep -c '^id ' "$tmp/race.out")" -lt 50 ]; do
	t=$((t + 1))
	[ "$t" -lt 100 ] || { fail "2: A began no 50 sessions"; break; }
	sleep 0.1
done
kill -KILL "$apid"
wait "$apid" 2>/dev/null || :
exec 3>&-
# Every lease expired (each is renewed at its own time).
awk '/^id/ { print $2 }' "$tmp/race.out" | sort >"$tmp/race.ids"
t=0
while :; do
	"$H" --host hostb --boot-id boot-b "$store" scan |
		awk '$2 == "crashed" { print $1 }' | sort >"$tmp/crashed"
	[ -n "$(comm -23 "$tmp/race.ids" "$tmp/crashed")" ] || break
	t=$((t + 1))
	[ "$t" -lt 100 ] || { fail "2: A's sessions never all crashed"; break; }
	sleep 0.1
done
for id in $(awk '/^id/ { print $2 }' "$tmp/race.out"); do
	"$H" --host hostb --boot-id boot-b "$store" adopt "$id" \
		</dev/null >"$tmp/b.out" 2>&1 &
	b=$!
	"$H" --host hostc --boot-id boot-c "$store" adopt "$id" \
		</dev/null >"$tmp/c.out" 2>&1 &
	c=$!
	wait "$b" || :
	wait "$c" || :
	wins=$(cat "$tmp/b.out" "$tmp/c.out" | grep -c '^adopted ' || :)
	if [ "$wins" -ne 1 ]; then
		fail "2: $id: $wins winners: $(cat "$tmp/b.out" "$tmp/c.out")"
		continue
	fi
	succ=$(cat "$tmp/b.out" "$tmp/c.out" | awk '/^adopted/ { print $2 }')
	cat "$tmp/b.out" "$tmp/c.out" | grep -q \
		'^error SESSNAP_E\(FENCED\|BUSY\) ' ||
		fail "2: $id: the loser: $(cat "$tmp/b.out" "$tmp/c.out")"
	grep -q "\"successor\":\"$succ\"" "$store/$id.claim" ||
		fail "2: $id: the claim does not name $succ: $(cat \
			"$store/$id.claim")"
done
# Each crashed session: taken over, and one copy of it; nothing else.
"$H" --host hostd --boot-id boot-d "$store" scan >"$tmp/scan"
taken=$(grep -c ' completed hosta 0x20$' "$tmp/scan" || :)
copies=$(awk '$3 == "hostb" || $3 == "hostc"' "$tmp/scan" | wc -l)
[ "$taken" -eq 50 ] || fail "2: $taken sessions taken over, not 50"
[ "$copies" -eq 50 ] || fail "2: $copies copies, not 50: $(cat "$tmp/scan")"
[ "$(find "$store" -name '.*claim*' | wc -l)" -eq 0 ] ||
	fail "2: temporary claim files left"

# ---- 3. A stopped, B adopts, A resumes: A is fenced -----------------------
host_a stop 1
exec 4>"$tmp/stop.in"
wait_for "$tmp/stop.out" '^id ' || exit 1
x=$(awk '/^id/ { print $2; exit }' "$tmp/stop.out")
echo "save 2" >&4
wait_for "$tmp/stop.out" '^ok' || exit 1
kill -STOP "$apid"
until_verdict crashed hostb "$x"
mkfifo "$tmp/b.in"
"$H" --host hostb --boot-id boot-b "$store" adopt "$x" \
	<"$tmp/b.in" >"$tmp/badopt.out" 2>&1 &
bpid=$!
pids="$pids $bpid"
exec 5>"$tmp/b.in"
wait_for "$tmp/badopt.out" '^adopted ' || exit 1
grep -q "^adopted [0-9a-f]* n=2$" "$tmp/badopt.out" ||
	fail "3: B adopted $(cat "$tmp/badopt.out")"
y=$(awk '/^adopted/ { print $2 }' "$tmp/badopt.out")
echo "save 5" >&5
wait_for "$tmp/badopt.out" '^ok' || exit 1
cp "$store/$y.snap" "$tmp/y.before"
cp "$store/$x.snap" "$tmp/x.before"
kill -CONT "$apid"
echo "save 3" >&4
wait_for "$tmp/stop.out" '^error ' || exit 1
grep -q "^error SESSNAP_EFENCED session $x is fenced: host \"hostb\"" \
	"$tmp/stop.out" || fail "3: A's save: $(cat "$tmp/stop.out")"
grep -q "$x.claim" "$tmp/stop.out" ||
	fail "3: the message names no claim: $(cat "$tmp/stop.out")"
cmp -s "$store/$y.snap" "$tmp/y.before" || fail "3: B's snapshot changed"
cmp -s "$store/$x.snap" "$tmp/x.before" ||
	fail "3: the taken-over snapshot changed"
echo end >&4
t=0
while [ "$(grep -c '^error SESSNAP_EFENCED' "$tmp/stop.out")" -lt 2 ]; do
	t=$((t + 1))
	[ "$t" -lt 100 ] || { fail "3: A's end: $(cat "$tmp/stop.out")"; break; }
	sleep 0.1
done
[ -f "$store/$x.snap" ] && [ -f "$store/$x.claim" ] ||
	fail "3: A's end removed the taken-over files"
"$H" --host hostd --boot-id boot-d "$store" show "$y" >"$tmp/show"
grep -q '^n=5$' "$tmp/show" || fail "3: B's state is $(cat "$tmp/show")"
[ "$(verdict hostd "$x")" = completed ] ||
	fail "3: the taken-over session is $(verdict hostd "$x")"
# What sessnap(1) shows of it.
"$SESSNAP" list --dir "$store" --all --json >"$tmp/list.json" 2>&1 ||
	fail "3: sessnap list: $(cat "$tmp/list.json")"
tr -d ' \n' <"$tmp/list.json" | grep -q "\"id\":\"$x\",[^}]*\"taken_over\":true" ||
	fail "3: list --json: $(cat "$tmp/list.json")"
"$SESSNAP" show --dir "$store" "$x" >"$tmp/show.txt" 2>&1 ||
	fail "3: sessnap show: $(cat "$tmp/show.txt")"
grep -q "taken over by another host.*$x.claim" "$tmp/show.txt" ||
	fail "3: sessnap show: $(cat "$tmp/show.txt")"
exec 4>&- 5>&-
kill -KILL "$apid" "$bpid" 2>/dev/null || :
wait "$apid" "$bpid" 2>/dev/null || :

# ---- 4. clocks five minutes apart; the cleaner of B and a fresh lease ----
host_a skew 1 --clock-offset-ms -300000
exec 3>"$tmp/skew.in"
wait_for "$tmp/skew.out" '^id ' || exit 1
id=$(awk '/^id/ { print $2; exit }' "$tmp/skew.out")
for off in 300000 -300000; do
	[ "$(verdict hostb "$id" --clock-offset-ms "$off")" = running ] ||
		fail "4: live session is $(verdict hostb "$id" \
			--clock-offset-ms "$off") on B at $off ms"
done
"$H" --host hostb --boot-id boot-b --clock-offset-ms 300000 "$store" clean \
	>"$tmp/clean" 2>&1 || fail "4: clean: $(cat "$tmp/clean")"
grep -q "^kept-running $id$" "$tmp/clean" ||
	fail "4: the cleaner of B: $(cat "$tmp/clean")"
[ -f "$store/$id.snap" ] && [ -f "$store/$id.lock" ] ||
	fail "4: the cleaner of B removed a live session's files"
kill -KILL "$apid"
wait "$apid" 2>/dev/null || :
exec 3>&-
[ "$(verdict hostb "$id" --clock-offset-ms 300000)" = running ] ||
	fail "4: killed A's session is not running on B at once"
until_verdict crashed hostb "$id" --clock-offset-ms 300000
[ "$(verdict hostc "$id" --clock-offset-ms -300000)" = crashed ] ||
	fail "4: crashed on B, $(verdict hostc "$id" --clock-offset-ms \
		-300000) on C"
"$H" --host hostb --boot-id boot-b --clock-offset-ms 300000 "$store" clean \
	>"$tmp/clean" 2>&1 || fail "4: clean: $(cat "$tmp/clean")"
[ ! -e "$store/$id.snap" ] ||
	fail "4: the cleaner kept an expired session: $(cat "$tmp/clean")"

[ "$fails" -eq 0 ] || exit 1
echo "hosts: 4 cases passed"
