#!/usr/bin/python3
"""python-bench: the app-thread cost of Session.update() against
json.dumps of the same value, measured in the same run.

Target (issue 16): update() of a 16 KiB and a 256 KiB dict costs at most
1.5x json.dumps of it.  update() is json.dumps (compact separators, NaN
refused), the encoding to bytes, and sessnap_session_update_text (the
library's validating scan and a copy); the save itself runs on the
library's writer thread, at a 50 ms interval here so that saves are in
flight while the app thread is timed.

Beside it, Session.patch() of the one value that changed (the cursor) on
the same session, against update() of the whole state (issue 19: the
cost of a patch follows the change; "update/patch" is printed, no
target is checked).

Usage: tests/bench/python-bench.py [--dir DIR] [--iterations N]
Run it with the binding importable (tests/python.sh builds it in the
tree: PYTHONPATH=python).  Exits 1 when a ratio is over the target.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import sessnap

TARGET = 1.5


def make_state(size):
    """A dict whose JSON text is about `size` bytes."""
    state = {"cursor": [0, 0], "buffers": {}}
    i = 0
    while len(json.dumps(state)) < size:
        state["buffers"][f"file{i:05d}.txt"] = {
            "line": i, "dirty": i % 3 == 0,
            "text": f"line {i}: the quick brown fox jumps over the lazy dog",
        }
        i += 1
    return state


def time_patch(session, state, n):
    """Median µs of Session.patch() replacing the cursor, n calls."""
    times = []
    for i in range(n):
        state["cursor"] = [i, 0]
        t0 = time.perf_counter()
        session.patch([{"op": "replace", "path": "/cursor",
                        "value": state["cursor"]}])
        times.append(time.perf_counter() - t0)
    session.flush()
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="where to write (default: a new "
                    "directory under the current one)")
    ap.add_argument("--iterations", type=int, default=0,
                    help="timed calls per size (default 2000 at 16 KiB, "
                    "300 at 256 KiB)")
    args = ap.parse_args()
    base = args.dir or tempfile.mkdtemp(prefix="python-bench.", dir=".")
    ok = True
    print(f"{'case':<10} {'bytes':>8} {'dumps_us':>10} {'update_us':>10} "
          f"{'ratio':>6}  (medians; target <= {TARGET}x)")
    with sessnap.Store("pybench", os.path.join(base, "store"),
                       interval=0.05) as store:
        for size, n in ((16384, 2000), (262144, 300)):
            n = args.iterations or n
            state = make_state(size)
            session = store.begin()
            for _ in range(20):  # warm up buffers and caches
                json.dumps(state)
                session.update(state)
            dumps, update = [], []
            for i in range(n):
                state["cursor"][0] = i
                t0 = time.perf_counter()
                json.dumps(state)
                t1 = time.perf_counter()
                session.update(state)
                t2 = time.perf_counter()
                dumps.append(t1 - t0)
                update.append(t2 - t1)
            patch = time_patch(session, state, n)
            session.end()
            d = statistics.median(dumps) * 1e6
            u = statistics.median(update) * 1e6
            ratio = u / d
            ok = ok and ratio <= TARGET
            print(f"update    {len(json.dumps(state)):>8} {d:>10.1f} "
                  f"{u:>10.1f} {ratio:>5.2f}x")
            print(f"patch     {len(json.dumps(state)):>8} "
                  f"{patch:>10.1f} us: update/patch {u / patch:.1f}x")
    if not args.dir:
        import shutil
        shutil.rmtree(base)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
