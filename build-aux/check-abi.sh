#!/bin/sh
# check-abi.sh -- the built libsessnap.so against the committed ABI
# baseline (make check-abi, .ci/run's abi stage).
#
# Usage: check-abi.sh RESULTS BASELINE LIBRARY HEADERS-DIR
#        (abidiff reads its suppressions from BASELINE's directory:
#        grown-at-end.abignore, the structs that may grow at their end)
#        check-abi.sh -w BASELINE LIBRARY HEADERS-DIR   (make abi-baseline)
#
# Writes the library's ABI with abidw, restricted to the types of the
# public header (HEADERS-DIR), to LIBRARY's directory as
# libsessnap.abi.current, then runs abidiff BASELINE against it.  With -w
# it writes BASELINE itself instead, with the same abidw flags, and
# compares nothing.  abidiff's exit status is a bit
# set: 1 an error, 2 a usage error, 4 an ABI change, 8 an incompatible
# change (ABIDIFF_ABI_INCOMPATIBLE_CHANGE: a removed symbol).  Any error,
# and any change other than an added function (a removed function, a
# changed parameter, return or struct layout, a changed soname), fails;
# added functions pass, with the report shown.
# Writes one "PASS: ..." or "FAIL: ..." line to RESULTS.  $ABIDW and
# $ABIDIFF name the tools (default: abidw, abidiff).  Exits 1 on failure.
set -u

# --drop-undefined-syms: abidw 2.2 otherwise records the declarations a
# file sees of functions defined in another one, and abidiff then misses a
# change to a struct that such a function reaches.  No path of the build
# machine goes into the output.
flags="--drop-undefined-syms --drop-private-types --no-corpus-path
	--no-comp-dir-path"

write=false
if test "${1:-}" = -w; then
	write=true
	set -- /dev/null "$2" "$3" "$4"
fi
results=$1
baseline=$2
lib=$3
headers=$4
ABIDW=${ABIDW:-abidw}
ABIDIFF=${ABIDIFF:-abidiff}
: >"$results"

fail() {
	echo "check-abi: $*" >&2
	echo "FAIL: abi: $*" >>"$results"
	exit 1
}

for tool in "$ABIDW" "$ABIDIFF"; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool not found: install it with: apt-get install abigail-tools"
done
test -f "$lib" || fail "$lib: not built"
# Without DWARF abidw sees only symbol names, and a changed type would
# pass unseen.
if ! LC_ALL=C readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info'; then
	fail "$lib has no debug information: build it with -g (the default CFLAGS)"
fi

if $write; then
	# shellcheck disable=SC2086
	"$ABIDW" $flags --headers-dir "$headers" --out-file "$baseline" \
		"$lib" || fail "$lib: abidw failed"
	echo "check-abi: wrote $baseline from $lib"
	exit 0
fi
test -f "$baseline" || fail "$baseline: no ABI baseline (make abi-baseline)"

current=$(dirname "$lib")/libsessnap.abi.current
suppr=$(dirname "$baseline")/grown-at-end.abignore
test -f "$suppr" || fail "$suppr: missing"
# shellcheck disable=SC2086
"$ABIDW" $flags --headers-dir "$headers" --out-file "$current" \
	"$lib" || fail "$lib: abidw failed"

# abidiff sets bit 8 only for a removed or changed symbol: a changed type
# or parameter sets bit 4 alone.  So the verdict runs without the added
# symbols, where any change at all (bit 4) is one a program would see.
"$ABIDIFF" --no-added-syms --suppressions "$suppr" "$baseline" "$current"
rc=$?
if test $((rc & 3)) -ne 0; then
	fail "abidiff $baseline $current: error (exit status $rc)"
fi
if test $((rc & 12)) -ne 0; then
	fail "$lib: incompatible ABI change against $baseline (abidiff exit status $rc): see above"
fi
# Then the additions, which a release records (docs/releasing.md).
added=$("$ABIDIFF" --suppressions "$suppr" "$baseline" "$current")
rc=$?
if test $((rc & 3)) -ne 0; then
	fail "abidiff $baseline $current: error (exit status $rc)"
fi
if test $((rc & 4)) -ne 0; then
	printf '%s\n' "$added"
	echo "check-abi: additions only (above): a release puts them in a new" \
		"version node of lib/libsessnap.sym (docs/releasing.md)"
	echo "PASS: abi: $lib compatible with $baseline (additions)" >>"$results"
else
	echo "check-abi: $lib: the ABI of $baseline, unchanged"
	echo "PASS: abi: $lib unchanged against $baseline" >>"$results"
fi
exit 0
