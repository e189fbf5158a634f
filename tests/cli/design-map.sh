#!/bin/bash
# design-map.sh -- docs/design.md's map matches the tree.
#
# The map (the table under "## Map") gives every file of lib/, cli/ and
# examples/ a line: what it owns and the files it may call.  This test
# fails when
#   - a file of the tree has no line, or a line names a file that is gone;
#   - a built object calls a function of a file that its line does not
#     list (read with nm: the symbols an object leaves undefined, resolved
#     against the objects of the same program), or a public function when
#     its line does not say "the public API" (lib/ and examples/ lines
#     that call the public API name its files instead, or say so).
# Skips (77) without nm or without the built objects.
set -euo pipefail

: "${TOP_SRCDIR:?run me through make check}"
: "${TOP_BUILDDIR:?run me through make check}"
map=$TOP_SRCDIR/docs/design.md
command -v nm >/dev/null 2>&1 || {
	echo "design-map.sh: no nm; skipped"
	exit 77
}

fail=0
bad() {
	echo "design-map.sh: $*" >&2
	fail=1
}

# The map's rows: "| `a`, `b` | floor | owns | may call |".
rows=$(sed -n '/^## Map$/,/^## /p' "$map" | grep '^| `')
declare -A allowed=() # basename -> "may call" text
declare -A listed=()  # path -> 1
declare -A floor=()   # basename -> floor (1..7, 8 for "top")
while IFS= read -r row; do
	files=$(printf '%s\n' "$row" | cut -d'|' -f2)
	fl=$(printf '%s\n' "$row" | cut -d'|' -f3 | tr -d ' ')
	may=$(printf '%s\n' "$row" | cut -d'|' -f5)
	test "$fl" = top && fl=8
	for f in $(printf '%s\n' "$files" | grep -o '`[^`]*`' | tr -d '`'); do
		listed[$f]=1
		allowed[$(basename "$f")]=$may
		case $fl in [1-8]) floor[$(basename "$f")]=$fl ;; esac
		test -e "$TOP_SRCDIR/$f" || bad "the map names $f, which is not in the tree"
	done
done <<<"$rows"
test "${#listed[@]}" -gt 0 || bad "no map found in docs/design.md"

# The layering: a file may call only files on its own floor or below; the
# store handle's accessors (store.c) may be read from any floor.
for f in "${!floor[@]}"; do
	for d in $(printf '%s\n' "${allowed[$f]}" | tr ',' ' '); do
		test -n "${floor[$d]:-}" || continue
		test "$d" = store.c && continue
		test "${floor[$d]}" -le "${floor[$f]}" ||
			bad "$f (floor ${floor[$f]}) may call $d (floor ${floor[$d]}): an arrow up"
	done
done

# Every file of the tree has its line.
for f in "$TOP_SRCDIR"/lib/*.[ch] "$TOP_SRCDIR"/lib/include/*.h \
	"$TOP_SRCDIR"/cli/*.[ch] "$TOP_SRCDIR"/examples/*.c; do
	rel=${f#"$TOP_SRCDIR"/}
	test -n "${listed[$rel]:-}" || bad "$rel has no line in the map"
done

# check_calls SOURCE_OF_OBJECT OBJECT...: every object's calls into the
# other objects (and into the public API) must be allowed by its line.
# SOURCE_OF_OBJECT is a sed expression turning an object's path into the
# basename of its source file.
check_calls() {
	local to_src=$1 o src sym d
	shift
	declare -A def=()
	for o in "$@"; do
		src=$(printf '%s\n' "$o" | sed "$to_src")
		for sym in $(nm --defined-only -g "$o" | awk '{print $3}'); do
			def[$sym]=$src
		done
	done
	for o in "$@"; do
		src=$(printf '%s\n' "$o" | sed "$to_src")
		test -n "${allowed[$src]+set}" || continue # a stale object
		for sym in $(nm -u "$o" | awk '{print $2}'); do
			d=${def[$sym]:-}
			if test -z "$d"; then
				case $sym in
				sessnap_[a-z]*)
					case ${allowed[$src]} in
					*"public API"*) ;;
					*) bad "$src calls $sym, and its line does not allow the public API" ;;
					esac
					;;
				esac
				continue
			fi
			test "$d" = "$src" && continue
			case ", $(printf '%s' "${allowed[$src]}" | tr -s ' ' | sed 's/^ //; s/ $//')," in
			*", $d,"* | *" $d,"*) ;;
			*) bad "$src calls $sym of $d, which its line does not list (may call:${allowed[$src]})" ;;
			esac
		done
	done
}

shopt -s nullglob
b=$TOP_BUILDDIR
lib_objs=("$b"/lib/.libs/libsessnap_internal_la-*.o)
if test "${#lib_objs[@]}" -eq 0; then
	echo "design-map.sh: the library's objects are not built; skipped"
	exit 77
fi
check_calls 's|.*/libsessnap_internal_la-||; s|\.o$|.c|' "${lib_objs[@]}"
check_calls 's|.*/sessnap-||; s|\.o$|.c|' "$b"/cli/sessnap-*.o \
	"$b"/lib/sessnap-words.o
check_calls 's|.*/snapshot_clean-||; s|\.o$|.c|' \
	"$b"/cli/snapshot_clean-*.o "$b"/lib/snapshot_clean-words.o
for o in "$b"/examples/*-*.o; do
	check_calls 's|.*/[a-z_]*-||; s|\.o$|.c|' "$o"
done

test "$fail" -eq 0 || exit 1
echo "design-map.sh: every file has its line, and every call is allowed"
