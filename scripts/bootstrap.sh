#!/bin/bash
# bootstrap.sh -- install what the build needs (Debian) and build sessnap in
# the source tree.  Shared by scripts/demo.sh and scripts/test.sh.
#
# Missing Debian packages are installed with apt-get when running as root or
# when "sudo -n" works; otherwise the exact command to run is printed and
# the script exits 1.  Extra configure arguments may be given in
# $CONFIGURE_FLAGS (used only when the tree is configured for the first
# time; "make distclean" to start over).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential autoconf automake libtool pkg-config
	libjson-c-dev libbsd-dev check libxxhash-dev libjsmn-dev libzstd-dev
	valgrind groff-base)
# The Python binding (python/, tests/python.sh): cffi, setuptools and the
# headers to build it, pytest, and venv and pip for its install test.
PACKAGES+=(python3-cffi python3-setuptools python3-dev python3-pytest
	python3-venv python3-pip)
# make fuzz: clang, and libFuzzer, which Debian ships in libclang-rt-dev
# (only recommended by clang, and recommends are not installed here).
PACKAGES+=(clang libclang-rt-dev)
# tests/cli/delta-decode.sh reads a delta snapshot as docs/format.md tells
# a shell reader to: zstd, jq and xxhsum.
PACKAGES+=(zstd jq xxhash)
# make check-abi (.ci/run's abi stage): abidw and abidiff.
PACKAGES+=(abigail-tools)
# make bench only: the SQLite baseline (libsqlite3-dev), and the file
# systems the delta case makes on loop devices when run as root
# (mkfs.ext4, mkfs.xfs, mkfs.btrfs).
PACKAGES+=(libsqlite3-dev e2fsprogs xfsprogs btrfs-progs)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
else
	echo "bootstrap: not a Debian system: make sure these are installed:" \
		"${PACKAGES[*]}" >&2
fi

if ((${#missing[@]})); then
	echo "bootstrap: missing Debian packages: ${missing[*]}"
	if test "$(id -u)" -eq 0; then
		sudo=()
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo)
	else
		echo "bootstrap: missing packages; install them with:" >&2
		echo "  sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "bootstrap: installing them with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! test -x configure; then
	echo "bootstrap: ./autogen.sh"
	./autogen.sh
fi
if ! test -f Makefile; then
	echo "bootstrap: ./configure ${CONFIGURE_FLAGS:-}"
	# shellcheck disable=SC2086
	./configure ${CONFIGURE_FLAGS:-}
fi
# The Makefile reruns autoconf, automake and config.status itself when
# their inputs changed.
echo "bootstrap: make -j$(nproc)"
make -j"$(nproc)"
