#!/bin/sh
# systemd-units.sh -- the cleaner's systemd units pass systemd-analyze
# verify (skipped where systemd-analyze is not installed).  The copies
# verified here run the built snapshot-clean, and find its man page in the
# source tree, since neither is installed yet.
set -eu

: "${SNAPSHOT_CLEAN:?run me through make check}"
: "${TOP_SRCDIR:?run me through make check}"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not installed: skipped"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

units="$TOP_SRCDIR/docs/systemd"
grep -q '^ExecStart=/usr/bin/snapshot-clean ' "$units/sessnap-clean.service"
grep -q '^WantedBy=timers.target' "$units/sessnap-clean.timer"

mkdir -p "$tmp/man/man1"
cp "$TOP_SRCDIR/docs/man/snapshot-clean.1" "$tmp/man/man1/"
sed "s|^ExecStart=/usr/bin/snapshot-clean|ExecStart=$SNAPSHOT_CLEAN|" \
	"$units/sessnap-clean.service" >"$tmp/sessnap-clean.service"
cp "$units/sessnap-clean.timer" "$tmp/"
cd "$tmp"
MANPATH="$tmp/man" systemd-analyze verify ./sessnap-clean.service \
	./sessnap-clean.timer
echo "systemd units verified"
