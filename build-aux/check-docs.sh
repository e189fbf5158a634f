#!/bin/sh
# check-docs.sh -- lint the manual (make check-docs).
#
# Usage: check-docs.sh RESULTS SRCDIR LIBRARY.so [LISTED_PAGE...]
#
# Checks, one result line each ("PASS: ..." or "FAIL: ..."), written to
# stdout and to RESULTS:
#   - every page SRCDIR/docs/man/*.[135] gives nothing on stderr from
#     "groff -man -ww -z" (all warnings on, no output);
#   - every such page is in LISTED_PAGE (the dist_manN_MANS lists of
#     docs/local.mk), so that it is installed and distributed;
#   - every listed page exists;
#   - every symbol that LIBRARY.so exports and whose name starts with
#     sessnap_ has its page docs/man/<symbol>.3.
# $GROFF and $NM name the tools (default: groff, nm).  Exits 1 on any
# failure.
set -u

results=$1
srcdir=$2
lib=$3
shift 3
GROFF=${GROFF:-groff}
NM=${NM:-nm}
: >"$results"
pass=0
fail=0

result() { # STATUS TEXT
	echo "$1: $2"
	echo "$1: $2" >>"$results"
	if test "$1" = PASS; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
}

listed=" $* "

if ! command -v "$GROFF" >/dev/null 2>&1; then
	result FAIL "groff not found: install it with: apt-get install groff-base"
else
	for page in "$srcdir"/docs/man/*.[135]; do
		test -f "$page" || continue
		name=docs/man/${page##*/}
		err=$(LC_ALL=C.UTF-8 "$GROFF" -man -ww -z "$page" 2>&1 >/dev/null)
		if test -n "$err"; then
			result FAIL "$name: groff warnings:"
			printf '%s\n' "$err" | sed 's/^/    /'
		else
			result PASS "$name: groff -man -ww -z"
		fi
		case $listed in
		*" $name "*) ;;
		*) result FAIL "$name: not listed in docs/local.mk (dist_man${name##*.}_MANS)" ;;
		esac
	done
fi

for name in "$@"; do
	test -f "$srcdir/$name" ||
		result FAIL "$name: listed in docs/local.mk but missing"
done

if ! test -f "$lib"; then
	result FAIL "$lib: not built (run make first)"
else
	syms=$("$NM" -D --defined-only "$lib" |
		awk '$3 ~ /^sessnap_/ { print $3 }' | sed 's/@.*//' | sort -u)
	if test -z "$syms"; then
		result FAIL "$lib: exports no sessnap_* symbol"
	fi
	for sym in $syms; do
		if test -f "$srcdir/docs/man/$sym.3"; then
			result PASS "$sym: has docs/man/$sym.3"
		else
			result FAIL "$sym: exported but docs/man/$sym.3 is missing"
		fi
	done
fi

echo "check-docs: $pass ok, $fail failed"
test "$fail" -eq 0
