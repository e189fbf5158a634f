#!/bin/sh
# per-document.sh -- examples/per-document in a real pseudo-terminal: one
# session per open file, keyed by its canonical path.
#
# A first instance opens a.txt and b.txt.  Before it saves anything, a
# second instance on a.txt is told "already open (pid N)", N being the
# first one's pid: the session is visible from begin.  The first saves a
# line in each file and is then killed with SIGKILL, leaving two crashed
# sessions in one store; a third instance on a.txt is offered exactly one
# session, a.txt's (never b.txt's), restores its line, and b.txt's session
# stays crashed, untouched.  Skips (77) without python3 (the pty driver).
set -eu

: "${TOP_BUILDDIR:?run me through make check}"
: "${SESSNAP:?run me through make check}"
prog=$TOP_BUILDDIR/examples/per-document
command -v python3 >/dev/null 2>&1 || exit 77

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/store"
echo a >"$tmp/a.txt"
echo b >"$tmp/b.txt"

python3 - "$prog" "$tmp" <<'PY'
import os, pty, select, signal, sys, time

prog, tmp = sys.argv[1], sys.argv[2]
store = tmp + "/store"


def spawn(*files):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(prog, [prog, "--dir", store] + list(files))
    return pid, fd


def expect(fd, text, seen, timeout=20.0):
    end = time.time() + timeout
    while text not in seen[0]:
        left = end - time.time()
        if left <= 0:
            sys.exit("FAIL: no %r in:\n%s" % (text, seen[0]))
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            sys.exit("FAIL: EOF before %r in:\n%s" % (text, seen[0]))
        seen[0] += chunk.decode("utf-8", "replace")


def finish(pid, fd, seen):
    # Read what is left, then reap.
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen[0] += chunk.decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return status


a, b = tmp + "/a.txt", tmp + "/b.txt"

p1, f1 = spawn(a, b)
s1 = [""]
expect(f1, "ready: 2 open", s1)
# Before any save: the second instance is told it is open elsewhere,
# with the first one's pid (from the lock record begin wrote).
p2, f2 = spawn(a)
s2 = [""]
expect(f2, "ready: 0 open", s2)
if "a.txt: already open (pid %d)" % p1 not in s2[0]:
    sys.exit("FAIL: second instance not told a.txt is open:\n" + s2[0])
if "did not end cleanly" in s2[0]:
    sys.exit("FAIL: a running session was offered:\n" + s2[0])
finish(p2, f2, s2)

os.write(f1, b"e 0 alpha line\n")
expect(f1, "saved 0", s1)
os.write(f1, b"e 1 beta line\n")
expect(f1, "saved 1", s1)

os.kill(p1, signal.SIGKILL)
finish(p1, f1, s1)

# After the kill: only a.txt's session is offered.
p3, f3 = spawn(a)
s3 = [""]
expect(f3, "Restore", s3)
if "1 session did not end cleanly" not in s3[0]:
    sys.exit("FAIL: not exactly one session offered:\n" + s3[0])
if "b.txt" in s3[0]:
    sys.exit("FAIL: b.txt's session was offered for a.txt:\n" + s3[0])
os.write(f3, b"y\n")
expect(f3, "a.txt: restored 1 lines", s3)
expect(f3, "ready: 1 open", s3)
os.write(f3, b"p\n")
expect(f3, "alpha line", s3)
if "beta line" in s3[0]:
    sys.exit("FAIL: b.txt's state in a.txt's session:\n" + s3[0])
os.write(f3, b"q\n")
status = finish(p3, f3, s3)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    sys.exit("FAIL: third instance exited with status %r:\n%s"
             % (status, s3[0]))
print("per-document: pty scenario passed")
PY

# b.txt's session is still there, crashed; a.txt's ended cleanly.
b=$(cd "$tmp" && pwd -P)/b.txt
a=$(cd "$tmp" && pwd -P)/a.txt
"$SESSNAP" list --dir "$tmp/store" --key "$b" >"$tmp/list"
grep -q crashed "$tmp/list" || {
	echo "FAIL: b.txt's crashed session is gone" >&2
	cat "$tmp/list" >&2
	exit 1
}
"$SESSNAP" list --dir "$tmp/store" --key "$a" >"$tmp/list"
if grep -q crashed "$tmp/list"; then
	echo "FAIL: a.txt's session is still crashed after its restore" >&2
	exit 1
fi
echo "per-document: all checks passed"
