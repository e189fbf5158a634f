#!/bin/sh
# run.sh -- run each libFuzzer target for SECONDS (default 60).
#
#	tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# Run from the build directory after "make fuzz".  Each target starts from
# its seed corpus tests/fuzz/corpus/<target>/ (read only), with the
# dictionary tests/fuzz/<target>.dict when there is one and the libFuzzer
# flags of tests/fuzz/<target>.options (one a line) when there are some
# (fuzz_delta's malloc limit, far under what a size it read but did not
# bound could ask for), and keeps what it
# finds in tests/fuzz/findings/<target>/; one process per target, one target
# at a time.  A crash, leak or timeout stops the run with the reproducer
# in tests/fuzz/findings/ (crash-*, leak-*, timeout-*): turn it into a
# regression test.  The last line of each target gives its executions.
set -eu

seconds=${1:-60}
test $# -gt 0 && shift
targets=${*:-"header header_diff load age delta slot seqs"}
srcdir=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
status=0

for t in $targets; do
	bin=tests/fuzz/fuzz_$t
	if ! test -x "$bin"; then
		echo "run.sh: $bin not built (make fuzz); skipped" >&2
		continue
	fi
	out=tests/fuzz/findings/$t
	mkdir -p "$out"
	log=tests/fuzz/findings/$t.log
	dict=
	if test -f "$srcdir/tests/fuzz/$t.dict"; then
		dict=-dict=$srcdir/tests/fuzz/$t.dict
	fi
	opts=
	if test -f "$srcdir/tests/fuzz/$t.options"; then
		opts=$(cat "$srcdir/tests/fuzz/$t.options")
	fi
	if (cd "$out" && "../../../../$bin" -max_total_time="$seconds" \
		-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=./ $dict $opts . \
		"$srcdir/tests/fuzz/corpus/$t") \
		>"$log" 2>&1; then
		res=ok
	else
		res=FAILED
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "fuzz_$t: $res: ${execs:-?} executions in ${seconds}s"
	test "$res" = ok || tail -40 "$log" >&2
done
exit "$status"
