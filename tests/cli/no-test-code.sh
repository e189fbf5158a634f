#!/bin/sh
# no-test-code.sh -- the library holds no test machinery.
#
# The fault injector and the syscall tracer live in tests/inject.c and are
# linked into the unit suites only; the scan's thread count is a parameter
# of an internal function, not a variable a test sets.  This test reads
# every symbol (the full symbol table and the dynamic one) of the built
# libsessnap.so, of libsessnap.a when static libraries are built, and of
# the convenience library both wrap (lib/libsessnap-internal.la, which the
# unit suites link), and fails on any name of the injector, the tracer or
# a test knob.
set -eu

: "${TOP_BUILDDIR:?}"
nm=${NM:-nm}
if ! command -v "$nm" >/dev/null 2>&1; then
	echo "no-test-code.sh: nm not found (install binutils)" >&2
	exit 77
fi

# fault_*, *_fault_*, trace*, *_trace*, inject*, sessnap__scan_threads, and
# the test suite's helpers such as quiesce_all;
# "default" is not a fault.
pattern='(^|_)(fault|trace|inject|quiesce)|sessnap__scan_threads'
libs=
for f in libsessnap.so libsessnap.a libsessnap-internal.a; do
	if test -f "$TOP_BUILDDIR/lib/.libs/$f"; then
		libs="$libs $TOP_BUILDDIR/lib/.libs/$f"
	fi
done
case $libs in
*libsessnap.so* | *libsessnap.a*) ;;
*)
	echo "no-test-code.sh: no libsessnap built in $TOP_BUILDDIR/lib/.libs" >&2
	exit 99
	;;
esac

status=0
for lib in $libs; do
	case $lib in
	*.so) tables="-a -D" ;;
	*) tables="-a" ;;
	esac
	for t in $tables; do
		# "nm -a" fails on a stripped object: that is no symbol at all.
		syms=$("$nm" $t "$lib" 2>/dev/null | awk 'NF >= 2 { print $NF }') ||
			syms=
		hits=$(printf '%s\n' "$syms" | grep -E "$pattern" | sort -u) ||
			true
		if test -n "$hits"; then
			echo "no-test-code.sh: $(basename "$lib") (nm $t) holds" \
				"test machinery:" >&2
			printf '  %s\n' $hits >&2
			status=1
		fi
	done
done
test "$status" -eq 0 || exit 1
echo "no-test-code.sh: no injector, tracer or test knob in$libs"
