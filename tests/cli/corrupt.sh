#!/bin/sh
# corrupt.sh - a main snapshot damaged by hand (truncated with truncate(1),
# one payload byte flipped with dd, zero-filled, emptied) still loads the
# previous generation, with a notice that names the file and the cause.
set -eu

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

: "${TOP_BUILDDIR:?}"
example="$TOP_BUILDDIR/tests/install-example"

check() {
	what=$1
	why=$2
	state=$("$example" read "$store" "$id" 2>"$tmp/notice")
	test "$state" = '{ "generation": 1 }' || {
		echo "corrupt.sh: $what: loaded '$state'" >&2
		exit 1
	}
	grep -q "notice: .*$snap.*$why" "$tmp/notice" || {
		echo "corrupt.sh: $what: no notice naming $snap and '$why':" >&2
		cat "$tmp/notice" >&2
		exit 1
	}
	echo "corrupt.sh: $what: $(cat "$tmp/notice")"
}

fresh() {
	rm -rf "$tmp/store"
	id=$("$example" write "$tmp/store")
	store="$tmp/store"
	snap="$store/$id.snap"
	test -f "$snap" && test -f "$snap.prev"
	test "$("$example" read "$store" "$id")" = '{ "generation": 2 }'
}

fresh
truncate -s -10 "$snap"
check truncated "truncated"

fresh
# the payload starts after the header line; flip its 5th byte
off=$(($(head -n 1 "$snap" | wc -c) + 4))
byte=$(dd if="$snap" bs=1 skip="$off" count=1 2>/dev/null)
if test "$byte" = x; then new=y; else new=x; fi
printf %s "$new" | dd of="$snap" bs=1 seek="$off" conv=notrunc 2>/dev/null
check "one byte flipped" "checksum mismatch"

fresh
size=$(wc -c <"$snap")
dd if=/dev/zero of="$snap" bs="$size" count=1 conv=notrunc 2>/dev/null
check zero-filled "zero-filled"

fresh
: >"$snap"
check emptied "empty file"

# And both generations damaged: a clear error naming both files.
fresh
truncate -s 0 "$snap"
truncate -s -1 "$snap.prev"
if "$example" read "$store" "$id" >/dev/null 2>"$tmp/err"; then
	echo "corrupt.sh: loaded with both generations damaged" >&2
	exit 1
fi
grep -q "$snap:.*$snap.prev:" "$tmp/err" || {
	echo "corrupt.sh: the error does not name both files:" >&2
	cat "$tmp/err" >&2
	exit 1
}
echo "corrupt.sh: both damaged: $(cat "$tmp/err")"
