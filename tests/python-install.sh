#!/bin/sh
# python-install.sh - the Python binding installed as a user installs it:
# the library with "make install" into a temporary root, the binding with
# pip into a temporary virtual environment (system site packages allowed,
# for Debian's python3-cffi; no package index is used), and then the
# README's example (python/examples/notes.py) run from there: it is killed
# with SIGKILL after two notes, and the next run must restore them.
#
# Usage: tests/python-install.sh [RESULTS]
#
# Writes "PASS: python-install" or "FAIL: python-install: why" to RESULTS
# (default python-install.results) for build-aux/test-summary.sh -r.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-python-install.results}
case $results in /*) ;; *) results=$(pwd)/$results ;; esac
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
pid=
cleanup() {
	test -n "$pid" && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
: >"$results"

fail() {
	echo "FAIL: python-install: $1" >>"$results"
	echo "python-install.sh: $1" >&2
	for f in "$tmp"/*.log; do
		test -f "$f" && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

${MAKE:-make} -s -C "$top" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
	fail "make install failed"
pc=$(find "$tmp/root" -name sessnap.pc | head -n 1)
test -n "$pc" || fail "sessnap.pc was not installed"
so=$(find "$tmp/root" -name 'libsessnap.so.*' | head -n 1)
test -n "$so" || fail "libsessnap.so was not installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$tmp/root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
unset SESSNAP_BUILD_TREE PYTHONPATH

"$python" -m venv --system-site-packages "$tmp/venv" >"$tmp/venv.log" 2>&1 ||
	fail "python3 -m venv failed (is python3-venv installed?)"
# pip builds in its source directory: give it a copy, not the tree.
mkdir "$tmp/src"
(cd "$top/python" && tar -cf - --exclude=build --exclude='*.so' \
	--exclude=__pycache__ --exclude='*.egg-info' .) | (cd "$tmp/src" && tar -xf -)
"$tmp/venv/bin/pip" install --no-build-isolation --no-index "$tmp/src" \
	>"$tmp/pip.log" 2>&1 || fail "pip install failed"

vpy=$tmp/venv/bin/python
where=$(cd "$tmp" && "$vpy" -c 'import sessnap, os; print(os.path.dirname(sessnap.__file__))') ||
	fail "the installed binding does not import"
case $where in "$tmp/venv/"*) ;; *) fail "sessnap imported from $where, not the venv" ;; esac
test -f "$where/py.typed" || fail "py.typed was not installed"
ext=$(ls "$where"/_sessnap*.so 2>/dev/null | head -n 1)
test -n "$ext" || fail "the extension was not installed"
ldd "$ext" | grep -q "$(dirname "$so")" ||
	fail "the extension does not link the installed library"

# The README's example: two notes, kill -9, then a restart restores them.
notes=$tmp/src/examples/notes.py
NOTES_STORE=$tmp/store
export NOTES_STORE
mkfifo "$tmp/in"
(cd "$tmp" && exec "$vpy" "$notes" <"$tmp/in" >"$tmp/run1.log" 2>&1) &
pid=$!
exec 3>"$tmp/in"
printf 'buy milk\ncall mum\n' >&3
# Wait until the writer has saved both notes (it saves within 1 s).
i=0
until (cd "$tmp" && "$vpy" - <<'PY') 2>/dev/null
import os, sys, sessnap
with sessnap.Store("notes", os.environ["NOTES_STORE"], readonly=True) as st:
    infos = st.scan()
    sys.exit(0 if infos and len(st.load(infos[0].id).state) == 2 else 1)
PY
do
	i=$((i + 1))
	test "$i" -lt 100 || fail "the notes were not saved within 10 s"
	sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
exec 3>&-
out=$(cd "$tmp" && printf 'water plants\n' | "$vpy" "$notes" 2>&1) ||
	fail "the second run failed: $out"
echo "$out" >"$tmp/run2.log"
echo "$out" | grep -q '^restored 2 notes from a crashed run$' ||
	fail "the second run did not restore the notes"
test "$(echo "$out" | tail -n 3)" = "buy milk
call mum
water plants" || fail "the second run ended with the wrong notes"
# Its clean exit removed the session.
test -z "$(ls -A "$tmp/store")" || fail "the clean exit left files behind"

echo "PASS: python-install" >>"$results"
echo "python-install.sh: pip-installed binding on $so: notes survived kill -9"
