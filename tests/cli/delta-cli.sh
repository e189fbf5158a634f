#!/bin/sh
# delta-cli.sh - the command line on a store holding sessions of both
# layouts: list shows the layout, show the base, area and newest record,
# export writes the current state, verify checks both (and calls a delta
# file with a damaged base corrupt), and clean removes a completed delta
# session with its previous generation, and nothing else.
set -eu

: "${TOP_BUILDDIR:?}" "${SESSNAP:?}"
command -v jq >/dev/null 2>&1 || {
	echo "delta-cli.sh: jq not found; skipped"
	exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
st=$tmp/st
mkdelta="$TOP_BUILDDIR/tests/mkdelta"
mksnap="$TOP_BUILDDIR/tests/mksnap"

fail() {
	echo "delta-cli.sh: $*" >&2
	exit 1
}

delta=$("$mkdelta" "$st" --saves 5)
kept=$("$mkdelta" "$st" --saves 2 --keep)
plain=0123456789abcdef0123456789abcdef
"$mksnap" "$st" "$plain" --age 60 --state '{"edit":"plain"}'

# list: a LAYOUT column, and "layout" in the JSON
"$SESSNAP" list --dir "$st" --all >"$tmp/list"
grep -q "^ID .* LAYOUT " "$tmp/list" || fail "no LAYOUT column"
grep -q "^$delta .* delta" "$tmp/list" || fail "list: $delta not delta"
grep -q "^$plain .* plain" "$tmp/list" || fail "list: $plain not plain"
"$SESSNAP" list --dir "$st" --all --json >"$tmp/list.json"
jq -e --arg id "$delta" '.sessions[] | select(.id == $id) |
	.layout == "delta" and .seq == 5 and .delta.base_seq == 1 and
	.delta.record_bytes > 0 and .delta.base_codec == "none"' \
	"$tmp/list.json" >/dev/null || fail "list --json: $delta"
jq -e --arg id "$plain" '.sessions[] | select(.id == $id) |
	.layout == "plain" and (has("delta") | not)' \
	"$tmp/list.json" >/dev/null || fail "list --json: $plain"

# show: the layout, the base, the area, the newest record
"$SESSNAP" show --dir "$st" "$delta" >"$tmp/show"
grep -q '^layout: *delta$' "$tmp/show" || fail "show: no delta layout"
grep -q '^base: *seq 1, ' "$tmp/show" || fail "show: no base"
grep -q '^area: ' "$tmp/show" || fail "show: no area"
grep -q '^record: .*seq 5 (4 saves since the base)' "$tmp/show" ||
	fail "show: no newest record: $(cat "$tmp/show")"
"$SESSNAP" show --dir "$st" "$plain" | grep -q '^layout: *plain$' ||
	fail "show: $plain not plain"

# export: the current state of each
"$SESSNAP" export --dir "$st" "$delta" | jq -e '.edit == 4' >/dev/null ||
	fail "export: $delta"
"$SESSNAP" export --dir "$st" "$kept" | jq -e '.edit == 1' >/dev/null ||
	fail "export: $kept"
"$SESSNAP" export --dir "$st" "$plain" | jq -e '.edit == "plain"' \
	>/dev/null || fail "export: $plain"

# verify: all usable
"$SESSNAP" verify --dir "$st" >"$tmp/verify" || fail "verify: $(cat "$tmp/verify")"
test "$(grep -c '^ok ' "$tmp/verify")" = 3 || fail "verify: $(cat "$tmp/verify")"

# clean: the completed delta session (and its .prev) goes, nothing else
"$SESSNAP" clean --dir "$st" --older-than 0s --crashed-older-than 30d \
	>"$tmp/clean" || fail "clean: $(cat "$tmp/clean")"
test ! -e "$st/$kept.snap" && test ! -e "$st/$kept.snap.prev" ||
	fail "clean left $kept"
test -e "$st/$delta.snap" && test -e "$st/$plain.snap" ||
	fail "clean removed a crashed session"

# a delta file whose newest record is damaged: the save before it, and
# verify says so
torn=$("$mkdelta" "$st" --saves 3)
f=$st/$torn.snap
H=$(head -n 1 "$f" | wc -c)
len=$(head -n 1 "$f" | jq .length)
for i in 0 1; do
	slot=$(tail -c +$((H + 512 * i + 1)) "$f" | head -c 511)
	if test "$(printf %s "$slot" | jq .seq)" = 3; then
		at=$(printf %s "$slot" | jq .at)
	fi
done
printf 'XXXXXXXX' | dd of="$f" bs=1 seek=$((H + 1024 + len + 1 + at + 4)) \
	conv=notrunc 2>/dev/null
"$SESSNAP" verify --dir "$st" >"$tmp/verify" || fail "verify: $(cat "$tmp/verify")"
grep -q "^ok-older-save  *$torn .*seq 3.*record checksum mismatch" \
	"$tmp/verify" || fail "verify: torn record: $(cat "$tmp/verify")"
"$SESSNAP" export --dir "$st" "$torn" 2>/dev/null | jq -e '.edit == 1' \
	>/dev/null || fail "export: torn record"

# a delta file whose base is damaged, and no older generation: corrupt
f=$st/$delta.snap
H=$(head -n 1 "$f" | wc -c)
printf 'X' | dd of="$f" bs=1 seek=$((H + 1024 + 3)) conv=notrunc 2>/dev/null
if "$SESSNAP" verify --dir "$st" >"$tmp/verify"; then
	fail "verify passed a damaged base: $(cat "$tmp/verify")"
fi
grep -q "^corrupt  *$delta" "$tmp/verify" || fail "verify: $(cat "$tmp/verify")"
grep -q "^ok  *$plain" "$tmp/verify" || fail "verify: $(cat "$tmp/verify")"
echo "delta-cli.sh: list, show, export, verify and clean on both layouts"
