#!/bin/sh
# check-valgrind.sh -- run check test binaries under valgrind (make
# check-valgrind).
#
# Usage: check-valgrind.sh RESULTS PROGRAM...
#
# Each PROGRAM (a libtool wrapper or a binary) runs in-process (the caller
# sets CK_FORK=no) under "$VALGRIND $VALGRIND_FLAGS" through
# "$LIBTOOL --mode=execute", with its log in PROGRAM.valgrind.log.  A
# program fails when it exits non-zero (a failed test, or valgrind's
# --error-exitcode for a memory error or a definite/indirect leak) or when
# its log shows a descriptor that it opened and left open at exit
# (--track-fds reports but does not count those as errors).  One line per
# program, "PASS: name" or "FAIL: name (why)", goes to stdout and to
# RESULTS; then a summary.  Exits 1 if any program failed.
set -u

results=$1
shift
: >"$results"
pass=0
fail=0

for prog in "$@"; do
	log=$prog.valgrind.log
	# shellcheck disable=SC2086
	$LIBTOOL --mode=execute "$VALGRIND" $VALGRIND_FLAGS \
		--log-file="$log.vg" "./$prog" >"$log.out" 2>&1
	rc=$?
	# Descriptors open at exit that were not inherited (0-2 and whatever
	# make handed down): valgrind prints each as "Open file descriptor N:
	# PATH" followed by its creation stack or "<inherited from parent>".
	fdleaks=$(awk '
		/Open (file descriptor|AF_UNIX socket|AF_INET socket)/ {
			pending = $0; next
		}
		pending != "" {
			if ($0 !~ /<inherited from parent>/) { print pending; n++ }
			pending = ""
		}
		END { exit n > 0 }' "$log.vg")
	fdrc=$?
	{
		echo "=== $prog: exit status $rc"
		cat "$log.out"
		echo "=== valgrind log"
		cat "$log.vg"
	} >"$log"
	rm -f "$log.out" "$log.vg"
	why=
	if test "$rc" -ne 0; then
		errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' \
			"$log" | tail -n 1)
		why="exit status $rc, ${errs:-?} valgrind errors"
	fi
	if test "$fdrc" -ne 0; then
		why="${why:+$why, }descriptors left open: $(echo "$fdleaks" |
			sed 's/.*Open [^0-9]*\([0-9]*\).*/\1/' | tr '\n' ' ' |
			sed 's/ $//')"
	fi
	if test -z "$why"; then
		line="PASS: $prog"
		pass=$((pass + 1))
	else
		line="FAIL: $prog ($why; see $log)"
		fail=$((fail + 1))
	fi
	echo "$line"
	echo "$line" >>"$results"
done

echo "check-valgrind: $pass clean, $fail failed (of $#)"
test "$fail" -eq 0
