#!/bin/sh
# install.sh - a program that uses only <sessnap.h> and pkg-config builds
# against an installed libsessnap, writes a session and reads it back.
#
# The library is installed with DESTDIR into a temporary directory; the
# pkg-config sysroot maps the configured prefix into it, so the test holds
# for any --prefix and --libdir.
set -eu

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

: "${TOP_BUILDDIR:?}" "${TOP_SRCDIR:?}"
cc=${CC:-cc}

${MAKE:-make} -s -C "$TOP_BUILDDIR" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	echo "install.sh: make install failed" >&2
	exit 1
}

pc=$(find "$tmp/root" -name sessnap.pc)
test -n "$pc" || { echo "install.sh: sessnap.pc was not installed" >&2; exit 1; }
hdr=$(find "$tmp/root" -name sessnap.h)
test -n "$hdr" || { echo "install.sh: sessnap.h was not installed" >&2; exit 1; }
so=$(find "$tmp/root" -name 'libsessnap.so*' | head -n 1)
test -n "$so" || { echo "install.sh: libsessnap.so was not installed" >&2; exit 1; }
# Only the public header is installed.
if find "$tmp/root" -name internal.h | grep -q .; then
	echo "install.sh: a private header was installed" >&2
	exit 1
fi

PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs sessnap)

# The same sanitizer flags as the library, when it was built with them.
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror ${SESSNAP_SANITIZE_FLAGS-} \
	-o "$tmp/example" "$TOP_SRCDIR/tests/install-example.c" $flags

LD_LIBRARY_PATH=$(dirname "$so")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
id=$("$tmp/example" write "$tmp/store")
state=$("$tmp/example" read "$tmp/store" "$id")
test "$state" = '{ "generation": 2 }' || {
	echo "install.sh: read back '$state'" >&2
	exit 1
}
# The program really used the installed library.
ldd "$tmp/example" | grep -q "$(dirname "$so")" || {
	echo "install.sh: the example did not link the installed library" >&2
	exit 1
}
echo "install.sh: built against $so and read back $state"
