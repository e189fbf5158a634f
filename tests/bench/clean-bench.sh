#!/bin/sh
# clean-bench.sh -- snapshot-clean against find -delete on 100,000 old
# snapshots, and snapshot-clean's peak memory at two tree sizes.
#
#   clean-bench.sh [N]        (default N = 100000)
#
# Two identical trees of N completed snapshots, saved (and modified) 30
# days ago, are cleaned, one by
#     snapshot-clean --dir DIR --older-than 7d
# and one by
#     find DIR -name '*.snap*' -mmin +10080 -delete
# The page cache is warm for both: each tree is copied just before its
# run, then sync'ed, so that neither run pays for the copy's writeback.  The ratio of the two wall-clock times is printed; the target is
# at most 1.25.  Peak RSS is measured with /usr/bin/time at N/10 and at N
# files: it must not grow with the number of files.
set -eu

: "${SNAPSHOT_CLEAN:=./snapshot-clean}"
: "${MKSNAP:=./tests/mksnap}"
N=${1:-100000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_ns() { date +%s%N; }

make_tree() {
	mkdir -m 700 "$2"
	"$MKSNAP" "$2" 00000000000000000000000000000000 --count "$1" \
		--age $((30 * 86400)) --completed
}

make_tree "$N" "$tmp/template"
sync

best_clean=
best_find=
for round in 1 2 3; do
	cp -a "$tmp/template" "$tmp/a"
	sync
	t0=$(now_ns)
	"$SNAPSHOT_CLEAN" --dir "$tmp/a" --older-than 7d >/dev/null
	t1=$(now_ns)
	left=$(ls -A "$tmp/a" | wc -l)
	[ "$left" -eq 0 ] || { echo "snapshot-clean left $left files" >&2; exit 1; }
	rmdir "$tmp/a"

	cp -a "$tmp/template" "$tmp/b"
	sync
	t2=$(now_ns)
	find "$tmp/b" -name '*.snap*' -mmin +10080 -delete
	t3=$(now_ns)
	left=$(ls -A "$tmp/b" | wc -l)
	[ "$left" -eq 0 ] || { echo "find left $left files" >&2; exit 1; }
	rmdir "$tmp/b"

	c=$(((t1 - t0) / 1000000))
	f=$(((t3 - t2) / 1000000))
	echo "round $round: snapshot-clean ${c} ms, find ${f} ms"
	if [ -z "$best_clean" ] || [ "$c" -lt "$best_clean" ]; then best_clean=$c; fi
	if [ -z "$best_find" ] || [ "$f" -lt "$best_find" ]; then best_find=$f; fi
done
[ "$best_find" -gt 0 ] || best_find=1
ratio=$(awk -v c="$best_clean" -v f="$best_find" 'BEGIN { printf "%.2f", c / f }')
echo "clean $N files (best of 3): snapshot-clean ${best_clean} ms, find -delete ${best_find} ms, ratio ${ratio}x (target <= 1.25x)"

if [ -x /usr/bin/time ]; then
	small=$((N / 10))
	make_tree "$small" "$tmp/small"
	rss_small=$(/usr/bin/time -f %M "$SNAPSHOT_CLEAN" --dir "$tmp/small" \
		--older-than 7d 2>&1 >/dev/null | tail -1)
	cp -a "$tmp/template" "$tmp/big"
	rss_big=$(/usr/bin/time -f %M "$SNAPSHOT_CLEAN" --dir "$tmp/big" \
		--older-than 7d 2>&1 >/dev/null | tail -1)
	echo "peak RSS: ${rss_small} KiB at $small files, ${rss_big} KiB at $N files"
	# Flat: the big run may not use more than 1 MiB over the small one.
	if [ "$rss_big" -gt $((rss_small + 1024)) ]; then
		echo "memory grows with the number of files" >&2
		exit 1
	fi
fi
