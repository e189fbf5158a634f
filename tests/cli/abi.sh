#!/bin/sh
# abi.sh -- build-aux/check-abi.sh on the built library (make check-abi).
#
#   - against the committed baseline lib/abi/libsessnap.abi: passes
#     (unchanged, or with additions);
#   - against a baseline that lacks one function: passes, as an addition;
#   - against a baseline with one more function: fails (a removal);
#   - against a baseline where sessnap_info had another size: fails (a
#     changed type, which abidiff reports with its bit 4 alone).
# The edited baselines are the committed one with a line changed, so the
# test needs no second build.  Skips (77) without abigail-tools or when
# the library was built without -g.
set -eu

: "${TOP_SRCDIR:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
for tool in abidw abidiff readelf; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "abi.sh: $tool not found (apt-get install abigail-tools); skipped"
		exit 77
	fi
done
lib=$TOP_BUILDDIR/lib/.libs/libsessnap.so
if ! test -f "$lib"; then
	echo "abi.sh: $lib: not built (shared libraries disabled?); skipped"
	exit 77
fi
if ! LC_ALL=C readelf -S "$lib" | grep -q '\.debug_info'; then
	echo "abi.sh: $lib has no debug information; skipped"
	exit 77
fi
baseline=$TOP_SRCDIR/lib/abi/libsessnap.abi
check=$TOP_SRCDIR/build-aux/check-abi.sh
headers=$TOP_SRCDIR/lib/include
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The edited baselines sit in $tmp: check-abi.sh looks for the list of
# structs that grow at their end beside the baseline.
cp "$(dirname "$baseline")/grown-at-end.abignore" "$tmp/"

status=0
bad() {
	echo "abi.sh: $*" >&2
	status=1
}

# run NAME BASELINE EXPECTED-STATUS EXPECTED-LINE
run() {
	rc=0
	sh "$check" "$tmp/$1.results" "$2" "$lib" "$headers" \
		>"$tmp/$1.out" 2>&1 || rc=$?
	if test "$rc" -ne "$3"; then
		cat "$tmp/$1.out" >&2
		bad "$1: exit status $rc, not $3"
	fi
	grep -q "$4" "$tmp/$1.results" ||
		bad "$1: no line '$4' in the results:" "$(cat "$tmp/$1.results")"
}

# Unchanged, or grown by the functions of a newer version node.
run committed "$baseline" 0 '^PASS: abi: .* \(unchanged against \|compatible with .* (additions)\)'

# sessnap_error_string's symbol and declaration taken out of the baseline.
awk '/<elf-symbol name=.sessnap_error_string. / { next }
	/<function-decl name=.sessnap_error_string. / { skip = 1 }
	skip { if (/<\/function-decl>/) skip = 0; next }
	{ print }' "$baseline" >"$tmp/fewer.abi"
cmp -s "$baseline" "$tmp/fewer.abi" && bad "no sessnap_error_string in $baseline"
run fewer "$tmp/fewer.abi" 0 '^PASS: abi: .* (additions)'
grep -q "sessnap_error_string" "$tmp/fewer.out" ||
	bad "fewer: the report does not name the added sessnap_error_string"

# The same symbol and declaration again, under a name the library lacks.
awk '/<elf-symbol name=.sessnap_error_string. / {
		print; gsub(/sessnap_error_string/, "sessnap_gone"); print; next }
	/<function-decl name=.sessnap_error_string. / { keep = 1; copy = "" }
	keep { copy = copy $0 "\n"; print
		if (/<\/function-decl>/) { keep = 0
			gsub(/sessnap_error_string/, "sessnap_gone", copy)
			printf "%s", copy }
		next }
	{ print }' "$baseline" >"$tmp/more.abi"
test "$(grep -c sessnap_gone "$tmp/more.abi")" -ge 2 ||
	bad "could not add sessnap_gone to the baseline"
run more "$tmp/more.abi" 1 '^FAIL: abi: .*incompatible ABI change'
grep -q "sessnap_gone" "$tmp/more.out" ||
	bad "more: the report does not name the removed sessnap_gone"

sed "s/\(<class-decl name='sessnap_info' size-in-bits='\)[0-9]*'/\199999'/" \
	"$baseline" >"$tmp/size.abi"
cmp -s "$baseline" "$tmp/size.abi" && bad "no sessnap_info in $baseline"
run size "$tmp/size.abi" 1 '^FAIL: abi: .*incompatible ABI change'
grep -q "sessnap_info" "$tmp/size.out" ||
	bad "size: the report does not name sessnap_info"

test "$status" -eq 0 && echo "abi.sh: the four verdicts as expected"
exit "$status"
