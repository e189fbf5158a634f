#!/bin/sh
# seam.sh -- every system call the library makes on a store goes through
# the seam (lib/sys.c): no lib/*.c file but sys.c may call one directly.
# Calls are recognised as a name followed by "(" and not preceded by an
# identifier character, "." or "->" (SYS(name) and struct fields pass);
# comment lines are skipped.  fopen is allowed only for /proc.
set -eu

calls='open|openat|creat|read|pread|write|pwrite|fsync|fdatasync|fallocate|posix_fallocate|rename|renameat|renameat2|link|linkat|unlink|unlinkat|remove|rmdir|mkdir|mkdirat|flock|lockf|fcntl|close|stat|lstat|fstat|fstatat|opendir|fdopendir|readdir|closedir|flopen|flopenat|ftruncate|truncate|chmod|fchmod|fchmodat|utimensat|futimens|symlink|symlinkat|readlink|readlinkat'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in "$TOP_SRCDIR"/lib/*.c; do
	case $f in */lib/sys.c) continue ;; esac
	# string literals dropped first: messages name calls too
	sed 's/"[^"]*"/""/g' "$f" |
		grep -nE "(^|[^A-Za-z0-9_.>])($calls)[[:space:]]*\(" |
		grep -vE '^[0-9]+:[[:space:]]*(/?\*|//)' |
		sed "s|^|$(basename "$f"):|" >>"$tmp/hits" || true
done
# reading the process's own /proc entries is not a store operation
grep -vE '^liveness\.c:[0-9]+:.*fopen\(path, ""\)' "$tmp/hits" \
	>"$tmp/raw" || true
if test -s "$tmp/raw"; then
	echo "seam.sh: system calls that bypass SYS(...):" >&2
	cat "$tmp/raw" >&2
	exit 1
fi
echo "seam.sh: every system call in lib/ goes through the seam"
