#!/bin/sh
# test-summary.sh -- count the results of "make check" and friends (make
# check-summary, .ci/run).
#
# Usage: test-summary.sh [-r RESULTS]... [BUILDDIR]...
#
# For each BUILDDIR, reads the automake harness's tests/**/*.trs files: one
# ":test-result:" line per TAP test case (check suites) or per shell test.
# Each RESULTS file holds lines "PASS: what" / "FAIL: what" / "SKIP: what"
# (check-valgrind, check-docs, .ci/run stages).  For every failure it prints
# the failing TAP lines (or the end of the log); then a line per source and
# the closing line
#
#     N passed, N failed[, N skipped]
#
# PASS and XFAIL count as passed; FAIL, XPASS and ERROR as failed.  Exits 1
# when anything failed or nothing ran at all.
set -u

total_pass=0
total_fail=0
total_skip=0
report=

add() { # LABEL PASS FAIL SKIP
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
	report="$report  $1: $2 ok, $3 not ok, $4 skipped
"
}

show_failure() { # LOGFILE
	if test ! -f "$1"; then
		echo "    (no log $1)"
		return
	fi
	lines=$(grep -E '^(not ok|Bail out!|ERROR:|FAIL:|XPASS:)' "$1")
	if test -n "$lines"; then
		printf '%s\n' "$lines" | sed 's/^/    /'
	else
		tail -n 20 "$1" | sed 's/^/    /'
	fi
}

while test $# -gt 0; do
	case $1 in
	-r)
		file=$2
		shift 2
		if test ! -f "$file"; then
			echo "test-summary: no results file $file" >&2
			add "${file##*/}" 0 1 0
			continue
		fi
		p=$(grep -c '^PASS:' "$file")
		f=$(grep -c '^FAIL:' "$file")
		s=$(grep -c '^SKIP:' "$file")
		if test "$f" -gt 0; then
			echo "FAILED in ${file##*/}:"
			grep '^FAIL:' "$file" | sed 's/^/    /'
		fi
		add "${file##*/}" "$p" "$f" "$s"
		;;
	*)
		dir=$1
		shift
		p=0 f=0 s=0
		trs_list=$(find "$dir/tests" -name '*.trs' 2>/dev/null | sort)
		for trs in $trs_list; do
			tp=$(grep -cE '^:test-result: (PASS|XFAIL)' "$trs")
			tf=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
			ts=$(grep -c '^:test-result: SKIP' "$trs")
			if test "$tf" -gt 0; then
				echo "FAILED: ${trs%.trs} ($tf failing)"
				show_failure "${trs%.trs}.log"
			fi
			p=$((p + tp)) f=$((f + tf)) s=$((s + ts))
		done
		add "tests in $dir" "$p" "$f" "$s"
		;;
	esac
done

printf 'Summary:\n%s' "$report"
if test "$total_skip" -gt 0; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
test "$total_fail" -eq 0 && test $((total_pass + total_skip)) -gt 0
