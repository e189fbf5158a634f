#!/bin/sh
# exports.sh -- libsessnap.so exports the public API and nothing else.
#
# Three lists must be the same set of names:
#   - the functions that lib/include/sessnap.h declares;
#   - the names lib/libsessnap.sym exports (its global: entries);
#   - the symbols the built lib/.libs/libsessnap.so defines in its dynamic
#     table (objdump -T), where every one must carry a SESSNAP_<x>.<y>
#     version node, never "Base" or none.
# Besides the functions, the table may hold only the version nodes'
# own definitions (*ABS* symbols named like their node).
# Skips (77) without objdump.
set -eu

: "${TOP_SRCDIR:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
objdump=${OBJDUMP:-objdump}
if ! command -v "$objdump" >/dev/null 2>&1; then
	echo "exports.sh: objdump not found (install binutils)" >&2
	exit 77
fi
header=$TOP_SRCDIR/lib/include/sessnap.h
script=$TOP_SRCDIR/lib/libsessnap.sym
lib=$TOP_BUILDDIR/lib/.libs/libsessnap.so
if ! test -f "$lib"; then
	echo "exports.sh: $lib: not built (shared libraries disabled?)" >&2
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
bad() {
	echo "exports.sh: $*" >&2
	status=1
}

# A declaration starts a line with its return type and ends the name
# with "(": typedefs of function pointers "(*name)" do not match.
grep -oE '^[a-z][^(]*[ *]sessnap_[a-z0-9_]+\(' "$header" |
	grep -oE 'sessnap_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$tmp/header"
test -s "$tmp/header" || bad "$header: no public function found"

# The version script without its comments; the names between "global:"
# and the node's closing brace or "local:".
sed 's:/\*.*\*/::; /\/\*/,/\*\//d' "$script" | awk '
	/global:/ { g = 1; next }
	/local:/ || /}/ { g = 0 }
	g { gsub(/[ \t;]/, ""); if ($0 != "") print }' |
	sort >"$tmp/script"
sort -u "$tmp/script" | cmp -s - "$tmp/script" ||
	bad "$script: a name is listed twice"

# objdump -T: "ADDR FLAGS SECTION SIZE VERSION NAME" for a defined
# symbol; *UND* ones are what the library imports.
"$objdump" -T "$lib" >"$tmp/table" || {
	bad "$lib: objdump -T failed"
	exit 1
}
grep -E '^[0-9a-f]+ ' "$tmp/table" | grep -v '[*]UND[*]' |
	awk '{ print $(NF - 1), $NF }' >"$tmp/defined"
: >"$tmp/lib"
while read -r node name; do
	case $node:$name in
	SESSNAP_*:"$node")
		# a version node's own definition
		;;
	SESSNAP_[0-9]*.[0-9]*:sessnap_*)
		echo "$name" >>"$tmp/lib"
		;;
	*)
		bad "$lib exports $name with version '$node':" \
			"only sessnap_* functions, each in a SESSNAP_<x>.<y> node"
		;;
	esac
done <"$tmp/defined"
sort -o "$tmp/lib" "$tmp/lib"

compare() { # A-LABEL A-FILE B-LABEL B-FILE
	only=$(comm -23 "$2" "$4")
	test -z "$only" ||
		bad "in $1, not in $3:" $only
}
compare "$header" "$tmp/header" "$script" "$tmp/script"
compare "$script" "$tmp/script" "$header" "$tmp/header"
compare "$header" "$tmp/header" "$lib" "$tmp/lib"
compare "$lib" "$tmp/lib" "$header" "$tmp/header"

# The 0.x names that 1.0 renamed or merged (docs/design.md, "The 1.0
# names") never come back, not even as aliases.
for name in sessnap_scan sessnap_scan_key sessnap_scan_free sessnap_load \
	sessnap_load_generation sessnap_load_text sessnap_discard \
	sessnap_clean sessnap_generations sessnap_recovery_prompt \
	sessnap_strerror sessnap_err_name sessnap_last_error \
	sessnap_status_name sessnap_session_save; do
	if grep -qx "$name" "$tmp/header" "$tmp/script" "$tmp/lib"; then
		bad "$name is a 0.x name that 1.0 retired"
	fi
done

if test "$status" -eq 0; then
	echo "exports.sh: $(wc -l <"$tmp/lib") public functions, each versioned"
fi
exit "$status"
