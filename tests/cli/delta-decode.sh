#!/bin/sh
# delta-decode.sh - a delta snapshot decoded with the zstd command line and
# a few lines of shell, exactly as docs/format.md ("Decoding with a
# shell") tells a reader to, gives the state that "sessnap export" writes:
# with the base only, with records, with a compressed base, and with the
# newest record's slot torn or its record damaged (the other slot's commit
# then).
set -eu

: "${TOP_BUILDDIR:?}" "${SESSNAP:?}"
for tool in zstd jq dd xxhsum; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "delta-decode.sh: $tool not found; skipped"
		exit 77
	}
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdelta="$TOP_BUILDDIR/tests/mkdelta"

fail() {
	echo "delta-decode.sh: $*" >&2
	exit 1
}

# XXH3-128 of a file in the header's and the slots' form.
xxh() {
	echo "xxh3-128:$(xxhsum -H2 "$1" 2>/dev/null | cut -d ' ' -f 1)"
}

# The reader of docs/format.md: FILE -> the current state on stdout.  Like
# the library, it trusts the base and a record only when their checksums
# hold, and takes the newest slot whose record is whole, else the other
# one, else the base.
decode() {
	f=$1
	H=$(head -n 1 "$f" | wc -c)
	len=$(head -n 1 "$f" | jq .length)
	codec=$(head -n 1 "$f" | jq -r .base_codec)
	# the base: `length` bytes at H + 1024
	tail -c +$((H + 1024 + 1)) "$f" | head -c "$len" >"$tmp/base.stored"
	test "$(xxh "$tmp/base.stored")" = "$(head -n 1 "$f" | jq -r .checksum)" ||
		fail "$f: the base's checksum does not hold"
	if test "$codec" = zstd; then
		zstd -q -d -c "$tmp/base.stored" >"$tmp/base"
	else
		cp "$tmp/base.stored" "$tmp/base"
	fi
	# the slots: 511 bytes each at H and H + 512, blank when unused;
	# newest first
	: >"$tmp/slots"
	for i in 0 1; do
		slot=$(tail -c +$((H + 512 * i + 1)) "$f" | head -c 511)
		test -n "$(printf %s "$slot" | tr -d ' ')" || continue
		seq=$(printf %s "$slot" | jq .seq 2>/dev/null) || continue
		echo "$seq $i" >>"$tmp/slots"
	done
	for i in $(sort -rn "$tmp/slots" | cut -d ' ' -f 2); do
		slot=$(tail -c +$((H + 512 * i + 1)) "$f" | head -c 511)
		at=$(printf %s "$slot" | jq .at)
		rlen=$(printf %s "$slot" | jq .length)
		# the record: `length` bytes at `at` in the area, after the base
		tail -c +$((H + 1024 + len + 1 + at + 1)) "$f" |
			head -c "$rlen" >"$tmp/rec.zst"
		if test "$(xxh "$tmp/rec.zst")" = \
			"$(printf %s "$slot" | jq -r .checksum)"; then
			zstd -q -d -c --patch-from="$tmp/base" "$tmp/rec.zst"
			return
		fi
	done
	cat "$tmp/base"
}

# The state export writes, without its final newline, to compare.
check() {
	what=$1
	id=$2
	"$SESSNAP" export --dir "$tmp/st" "$id" >"$tmp/export"
	decode "$tmp/st/$id.snap" >"$tmp/decoded"
	printf '\n' >>"$tmp/decoded"
	cmp -s "$tmp/export" "$tmp/decoded" ||
		fail "$what: decoded state differs from export"
	echo "delta-decode.sh: $what: $(wc -c <"$tmp/decoded") bytes, as exported"
}

id=$("$mkdelta" "$tmp/st" --saves 1)
head -n 1 "$tmp/st/$id.snap" | jq -e '.layout == "delta"' >/dev/null ||
	fail "head -1 | jq does not read a delta header"
check "base only" "$id"
jq -e '.edit == 0' "$tmp/decoded" >/dev/null || fail "base only: not edit 0"

id=$("$mkdelta" "$tmp/st" --saves 12 --size 200000)
check "records" "$id"
jq -e '.edit == 11' "$tmp/decoded" >/dev/null || fail "records: not edit 11"
# zstd -D takes the base as a dictionary as well as --patch-from does
{ zstd -q -d -c -D "$tmp/base" "$tmp/rec.zst"; printf '\n'; } |
	cmp -s - "$tmp/export" || fail "zstd -D base does not decode the record"

id=$("$mkdelta" "$tmp/st" --saves 6 --compress --size 100000)
test "$(head -n 1 "$tmp/st/$id.snap" | jq -r .base_codec)" = zstd ||
	fail "no zstd base with --compress"
check "compressed base" "$id"
jq -e '.edit == 5' "$tmp/decoded" >/dev/null || fail "compressed: not edit 5"

# The newest slot torn: both readers take the other slot's commit.
id=$("$mkdelta" "$tmp/st" --saves 4)
f=$tmp/st/$id.snap
H=$(head -n 1 "$f" | wc -c)
s0=$(tail -c +$((H + 1)) "$f" | head -c 511 | jq .seq)
s1=$(tail -c +$((H + 513)) "$f" | head -c 511 | jq .seq)
if test "$s0" -gt "$s1"; then i=0; else i=1; fi
printf 'x' | dd of="$f" bs=1 seek=$((H + 512 * i + 1)) conv=notrunc 2>/dev/null
check "torn slot" "$id"
jq -e '.edit == 2' "$tmp/decoded" >/dev/null || fail "torn slot: not edit 2"

# The newest record damaged, its slot whole: its checksum no longer holds,
# and both readers take the other slot's commit.
id=$("$mkdelta" "$tmp/st" --saves 4)
f=$tmp/st/$id.snap
H=$(head -n 1 "$f" | wc -c)
len=$(head -n 1 "$f" | jq .length)
s0=$(tail -c +$((H + 1)) "$f" | head -c 511)
s1=$(tail -c +$((H + 513)) "$f" | head -c 511)
if test "$(printf %s "$s0" | jq .seq)" -gt "$(printf %s "$s1" | jq .seq)"; then
	slot=$s0
else
	slot=$s1
fi
at=$(printf %s "$slot" | jq .at)
rlen=$(printf %s "$slot" | jq .length)
off=$((H + 1024 + len + 1 + at + rlen / 2))
byte=$(dd if="$f" bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\$(printf %03o $(((byte + 1) % 256)))" |
	dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
check "damaged record" "$id"
jq -e '.edit == 2' "$tmp/decoded" >/dev/null || fail "damaged record: not edit 2"
