"""What the Python world expects of a state file, as tests (issue 16).

Each test can fail: it checks the files on disk, not only what the
binding says.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

import sessnap
from helpers import files, payload, prev, snap, temp_files

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- .prev ------------------------------------------------------------------

def test_prev_after_second_save_holds_previous_state(store, store_dir):
    s = store.begin()
    s.update({"n": 1})
    s.flush()
    assert not os.path.exists(prev(store_dir, s.id))
    assert payload(snap(store_dir, s.id)) == {"n": 1}
    for n in (2, 3, 4):
        s.update({"n": n})
        s.flush()
        assert payload(snap(store_dir, s.id)) == {"n": n}
        assert payload(prev(store_dir, s.id)) == {"n": n - 1}
    s.end()


# ---- validation and the .prev fallback -----------------------------------------

def nonempty_registry(state, schema_version):
    return bool(state.get("registry"))


def two_saves(store_dir, first, second):
    with sessnap.Store("pytest", str(store_dir),
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        s.update(first)
        s.save()
        if second is not None:
            s.update(second)
            s.save()
        s.release()
        return s.id


def validating(store_dir):
    return sessnap.Store("pytest", str(store_dir),
                         durability=sessnap.Durability.NONE,
                         validate=nonempty_registry)


def test_invalid_main_replaced_by_valid_prev_with_warning(store_dir):
    sid = two_saves(store_dir, {"registry": ["a", "b"]}, {"registry": []})
    with validating(store_dir) as st:
        with pytest.warns(sessnap.FallbackWarning, match="previous"):
            got = st.load(sid)
        assert got.state == {"registry": ["a", "b"]}
        assert got.info.from_prev
        # adopting takes the same generation
        with pytest.warns(sessnap.FallbackWarning):
            session, state = st.adopt(sid)
        assert state == {"registry": ["a", "b"]}
        assert session.recovered.from_prev
        session.release()


def test_generations_outlive_an_empty_state_saved_twice(store_dir):
    # The empty-snapshot bug: a valid but wrong state saved twice (here
    # with a changing field, as a real one would: an identical state is
    # not saved again) buries the good one under .prev too; three
    # generations keep it.
    with sessnap.Store("pytest", str(store_dir), generations=3,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin(keep=True)
        for state in ({"registry": ["a"]}, {"registry": ["a", "b"]},
                      {"registry": [], "at": 1}, {"registry": [], "at": 2}):
            s.update(state)
            s.flush()
        sid = s.id
        s.release()
        gens = st.generations(sid)
        assert [g.generation for g in gens] == [0, 1, 2, 3]
        assert [g.seq for g in gens] == [4, 3, 2, 1]
        assert all(g.ok and g.reason == "" for g in gens)
    with validating(store_dir) as st:
        with pytest.warns(sessnap.FallbackWarning):
            got = st.load(sid)
        assert got.state == {"registry": ["a", "b"]}
        assert got.info.generation == 2 and not got.info.from_prev
        with open(os.path.join(str(store_dir), sid + ".snap.2"), "r+b") as f:
            f.truncate(10)
        bad = {g.generation: g for g in st.generations(sid)}[2]
        assert not bad.ok and bad.error is sessnap.Corrupt
        assert bad.reason
        with pytest.warns(sessnap.FallbackWarning):
            got = st.load(sid)
        assert got.state == {"registry": ["a"]}
        assert got.info.generation == 3


def test_valid_main_no_fallback_no_warning(store_dir):
    sid = two_saves(store_dir, {"registry": ["old"]}, {"registry": ["new"]})
    with validating(store_dir) as st:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = st.load(sid)
        assert got.state == {"registry": ["new"]}
        assert not got.info.from_prev


def test_invalid_main_without_prev_is_a_clean_error(store_dir):
    sid = two_saves(store_dir, {"registry": []}, None)
    with validating(store_dir) as st:
        with pytest.raises(sessnap.Rejected) as ei:
            st.load(sid)
        assert ei.value.code == sessnap.Rejected(-15, "").code
        assert sid in ei.value.message


def test_invalid_main_and_invalid_prev(store_dir):
    sid = two_saves(store_dir, {"registry": []}, {"registry": []})
    with validating(store_dir) as st:
        with pytest.raises(sessnap.Rejected):
            st.load(sid)


def test_invalid_main_and_corrupt_prev(store_dir):
    sid = two_saves(store_dir, {"registry": ["a"]}, {"registry": []})
    p = prev(store_dir, sid)
    data = bytearray(open(p, "rb").read())
    data[-3] ^= 0xFF  # inside the payload: the checksum fails
    open(p, "wb").write(bytes(data))
    with validating(store_dir) as st:
        with pytest.raises(sessnap.Corrupt) as ei:
            st.load(sid)
        assert "checksum" in ei.value.message


def test_validate_exception_rejects_and_is_chained(store_dir):
    sid = two_saves(store_dir, {"registry": ["a"]}, None)

    def boom(state, version):
        raise RuntimeError("validator broke")

    with sessnap.Store("pytest", str(store_dir), validate=boom,
                       durability=sessnap.Durability.NONE) as st:
        with pytest.raises(sessnap.Rejected) as ei:
            st.load(sid)
        assert isinstance(ei.value.__cause__, RuntimeError)


# ---- temporary files, failed saves ----------------------------------------------

def test_no_temporary_file_after_saves(store, store_dir):
    s = store.begin()
    for n in range(20):
        s.update({"n": n, "pad": "x" * 1000 * n})
        s.save()
        assert temp_files(store_dir) == []
    s.end(keep=True)
    assert temp_files(store_dir) == []
    assert files(store_dir) == [s.id + ".snap", s.id + ".snap.prev"]


CHILD_FSIZE = r"""
import hashlib, json, resource, signal, sys
sys.path[:0] = json.loads(sys.argv[2])
import sessnap
store = sessnap.Store("pytest", sys.argv[1],
                      durability=sessnap.Durability.FULL)
s = store.begin()
s.update({"old": "state", "n": list(range(100))})
s.save()
path = store.path + "/" + s.id + ".snap"
before = hashlib.sha256(open(path, "rb").read()).hexdigest()
# a file size limit the next save cannot fit under: the write gets a
# short write and then EFBIG (SIGXFSZ ignored), half-way through the file
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
s.update({"new": "x" * 100000})
try:
    s.save()
    outcome = "saved"
except sessnap.SessnapError as e:
    outcome = type(e).__name__ + ": " + e.message
print(json.dumps({"id": s.id, "before": before, "outcome": outcome}))
sys.stdout.flush()
s.release()
"""


def test_failed_save_half_way_keeps_old_state(store_dir):
    out = subprocess.run(
        [sys.executable, "-c", CHILD_FSIZE, str(store_dir),
         json.dumps(sys.path)],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    res = json.loads(out.splitlines()[-1])
    assert res["outcome"].startswith("NoSpace"), res
    assert ".snap" in res["outcome"]  # the message names the file
    path = snap(store_dir, res["id"])
    after = hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert after == res["before"]
    assert temp_files(store_dir) == []
    with sessnap.Store("pytest", str(store_dir)) as st:
        assert st.load(res["id"]).state == {"old": "state",
                                            "n": list(range(100))}


CHILD_FULL = r"""
import hashlib, json, os, subprocess, sys
sys.path[:0] = json.loads(sys.argv[2])
import sessnap
mnt = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
               check=True)
store = sessnap.Store("pytest", mnt + "/store",
                      durability=sessnap.Durability.FULL)
s = store.begin()
s.update({"old": "state"})
s.save()
path = store.path + "/" + s.id + ".snap"
before = open(path, "rb").read()
s.update({"new": "z" * 200000})  # more than the file system holds
try:
    s.save()
    outcome = "saved"
except sessnap.SessnapError as e:
    outcome = type(e).__name__ + ": " + e.message
after = open(path, "rb").read()
res = {"outcome": outcome, "same": before == after,
       "temps": [n for n in os.listdir(store.path) if n.startswith(".")],
       "loaded": store.load(s.id).state}
s.release()
print(json.dumps(res))
"""


def test_disk_full_keeps_old_state(tmp_path):
    """A real ENOSPC: a 64 KiB tmpfs in a private mount namespace."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cmd = ["unshare", "--user", "--map-root-user", "--mount",
           sys.executable, "-c", CHILD_FULL, str(mnt), json.dumps(sys.path)]
    probe = subprocess.run(["unshare", "--user", "--map-root-user",
                            "--mount", "true"], stderr=subprocess.PIPE)
    if probe.returncode != 0:
        pytest.skip("no user and mount namespaces here: "
                    + probe.stderr.decode().strip())
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    res = json.loads(out.splitlines()[-1])
    assert res["outcome"].startswith("NoSpace"), res
    assert res["same"]
    assert res["temps"] == []
    assert res["loaded"] == {"old": "state"}


# ---- round trip, listing, removal, cleaning -------------------------------------

VALUES = [
    {"text": "caf\u00e9 \U0001F600 \u0000 \"quoted\" \\ /", "n": [1, -2]},
    [0.1, 1e300, -0.0, 2.5e-308, 123456789.123456789],
    2 ** 70,
    -(2 ** 64) - 1,
    "\ud800 lone surrogate",
    None,
    True,
    {"nested": [[[{"deep": [1, {}]}]]], "": ""},
    {"big": ["x" * 1000] * 300},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_round_trip_preserves_value_exactly(store, value):
    s = store.begin()
    s.update(value)
    s.flush()
    got = store.load(s.id).state
    assert got == value
    assert json.dumps(got) == json.dumps(value)  # types too (int, float)
    s.end()


def test_error_carries_its_short_line(store):
    # Loading a session that is not there: the short line is the start of
    # the detailed message, on one line, within SESSNAP_ERROR_SHORT_MAX.
    with pytest.raises(sessnap.SessnapError) as ei:
        store.load("0" * 32)
    e = ei.value
    assert e.message
    assert e.short
    assert e.message.startswith(e.short)
    assert "\n" not in e.short
    assert len(e.short.encode()) <= 160


def test_keep_given_at_begin_is_what_end_does(store):
    # The C library takes SESSNAP_SESSION_KEEP at end only; the binding
    # remembers begin's keep= and passes it there.
    kept = store.begin(keep=True)
    kept.update("kept")
    kept.end()
    gone = store.begin()
    gone.update("gone")
    gone.end()
    infos = store.scan()
    assert [i.id for i in infos] == [kept.id]
    assert infos[0].status == sessnap.Status.COMPLETED


def test_incomplete_sessions_exclude_completed_newest_first(store):
    done = store.begin(keep=True)
    done.update("done")
    done.end(keep=True)
    crashed = []
    for n in range(3):
        s = store.begin(label=f"run {n}")
        s.update({"run": n})
        s.flush()
        s.release()
        crashed.append(s.id)
        time.sleep(0.01)
    running = store.begin()
    running.update("alive")
    running.flush()
    got = store.scan(recoverable=True)
    assert [i.id for i in got] == list(reversed(crashed))
    assert all(i.status == sessnap.Status.CRASHED for i in got)
    assert [i.saved_ms for i in got] == sorted(
        (i.saved_ms for i in got), reverse=True)
    every = {i.id: i.status for i in store.scan()}
    assert every[done.id] == sessnap.Status.COMPLETED
    assert every[running.id] == sessnap.Status.RUNNING
    assert [i.id for i in store.scan(status=["completed"])] == [done.id]
    assert [i.id for i in store.scan(where=lambda i: i.label == "run 1")] \
        == [crashed[1]]
    running.end()


def test_removing_a_missing_session_says_so(store):
    missing = "0123456789abcdef0123456789abcdef"
    with pytest.raises(sessnap.NotFound) as ei:
        store.discard(missing)
    assert missing in ei.value.message
    with pytest.raises(sessnap.BadName):
        store.discard("not-an-id")


def test_discard_removes_a_crashed_session(store, store_dir):
    s = store.begin()
    s.update(1)
    s.flush()
    s.update(2)
    s.flush()
    s.release()
    store.discard(s.id)
    assert files(store_dir) == []


def test_age_based_cleanup_removes_only_the_old(store, store_dir):
    old = store.begin(keep=True)
    old.update("old")
    old.end(keep=True)
    time.sleep(0.5)
    young = store.begin(keep=True)
    young.update("young")
    young.end(keep=True)
    now = time.time() + 0.1
    report = store.clean(sessnap.CleanPolicy(completed_age=0.35, now=now))
    assert report.removed_completed == 1
    assert report.kept_young == 1
    left = files(store_dir)
    assert not any(n.startswith(old.id) for n in left)
    assert young.id + ".snap" in left
    removed = {e.id for e in report.events
               if e.action == "removed-completed"}
    assert removed == {old.id}
    # a dry run decides without removing
    report = store.clean(sessnap.CleanPolicy(completed_age=0, dry_run=True,
                                             now=now + 1))
    assert report.removed_completed == 1
    assert young.id + ".snap" in files(store_dir)


def test_files_that_are_not_snapshots_are_ignored(store, store_dir):
    s = store.begin(keep=True)
    s.update("real")
    s.end(keep=True)
    strangers = ["notes.txt", "README", "abc.snap", "x" * 32 + ".snap",
                 "0123456789abcdef0123456789abcdef.bak"]
    for n in strangers:
        open(os.path.join(store_dir, n), "w").write("{}\n")
    # Named like a session but not a regular file: reported as corrupt
    # (one verdict everywhere), never removed.
    odd = "fedcba9876543210fedcba9876543210"
    os.mkdir(os.path.join(store_dir, odd + ".snap"))
    got = {i.id: i for i in store.scan()}
    assert sorted(got) == sorted([s.id, odd])
    assert got[odd].status == sessnap.Status.CORRUPT and got[odd].not_regular
    assert not got[s.id].not_regular
    store.clean(sessnap.CleanPolicy(completed_age=0, crashed_age=0,
                                    temp_age=0, include_corrupt=True,
                                    now=time.time() + 10))
    for n in strangers:
        assert os.path.exists(os.path.join(store_dir, n))
    assert os.path.isdir(os.path.join(store_dir, odd + ".snap"))


def test_corrupt_file_is_reported_not_fatal(store, store_dir):
    good = store.begin()
    good.update({"good": True})
    good.flush()
    good.release()
    bad = store.begin()
    bad.update({"bad": True})
    bad.flush()
    bad.release()
    with open(snap(store_dir, bad.id), "r+b") as f:
        f.seek(-4, os.SEEK_END)
        f.write(b"\0\0\0")
    infos = {i.id: i for i in store.scan()}
    assert infos[good.id].status == sessnap.Status.CRASHED
    # the scan reads headers only; the load verifies the payload
    with pytest.raises(sessnap.Corrupt) as ei:
        store.load(bad.id)
    assert bad.id in ei.value.message
    with open(snap(store_dir, bad.id), "wb") as f:
        f.write(b"\0" * 100)
    infos = {i.id: i for i in store.scan()}
    assert infos[bad.id].status == sessnap.Status.CORRUPT
    assert infos[good.id].status == sessnap.Status.CRASHED
    assert store.load(good.id).state == {"good": True}


# ---- SIGKILL ----------------------------------------------------------------

CHILD_STREAM = r"""
import json, sys
sys.path[:0] = json.loads(sys.argv[2])
import sessnap
store = sessnap.Store("pytest", sys.argv[1], interval=0.02,
                      durability=sessnap.Durability.NONE)
s = store.begin(label="stream")
print("id", s.id, flush=True)
n = 0
while True:
    n += 1
    s.update({"n": n, "pad": "y" * (n % 5000)})
    if n % 25 == 0:
        s.flush()
        print("flushed", n, flush=True)
"""


def test_sigkilled_child_is_found_crashed_with_recent_state(store_dir):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_STREAM, str(store_dir),
         json.dumps(sys.path)], stdout=subprocess.PIPE, text=True)
    try:
        sid = child.stdout.readline().split()[1]
        flushed = 0
        while flushed < 500:
            line = child.stdout.readline()
            assert line, "the child died"
            flushed = int(line.split()[1])
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        # anything it printed before the kill was flushed too
        for line in child.stdout:
            flushed = max(flushed, int(line.split()[1]))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    with sessnap.Store("pytest", str(store_dir)) as st:
        crashed = st.scan(recoverable=True)
        assert [i.id for i in crashed] == [sid]
        assert crashed[0].label == "stream"
        state = st.load(sid).state
        assert state["n"] >= flushed
        session, adopted = st.adopt(sid)
        assert adopted == state
        assert session.recovered.adoptions == 1
        session.end()


def test_taken_over_session_is_completed_and_flagged(store, store_dir):
    # A crashed session that another host claimed (its <id>.claim, as
    # sessnap-format(5) specifies it) goes on elsewhere: never offered.
    s = store.begin()
    s.update({"n": 1})
    s.flush()
    s.release()
    record = {"claim": 1, "id": s.id, "generation": 1,
              "successor": "0123456789abcdef0123456789abcdef",
              "host": "far.example", "boot_id": "b", "pid": 1,
              "claimed_ms": 1}
    with open(os.path.join(store_dir, s.id + ".claim"), "w") as f:
        f.write(json.dumps(record) + "\n")
    (info,) = store.scan()
    assert info.status == sessnap.Status.COMPLETED
    assert info.taken_over
    assert store.scan(recoverable=True) == []
