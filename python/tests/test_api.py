"""The binding's API: errors, callbacks, threads, the prompt."""

import io
import json
import logging
import os
import threading
import time

import pytest

import sessnap
from sessnap._sessnap import ffi, lib


def test_error_classes_carry_code_name_message(store):
    with pytest.raises(sessnap.NotFound) as ei:
        store.load("0" * 32)
    e = ei.value
    assert isinstance(e, sessnap.SessnapError)
    assert isinstance(e, LookupError)
    assert e.code == lib.SESSNAP_ENOTFOUND
    assert e.name == "SESSNAP_ENOTFOUND"
    assert "0" * 32 in e.message and str(e) == e.message


def test_every_library_code_has_its_class():
    classes = set()
    code = -1
    while sessnap.SessnapError(code, "").name != "SESSNAP_E_UNKNOWN":
        cls = type(sessnap._error(code))
        assert cls is not sessnap.SessnapError, code
        assert cls.__name__ in sessnap.__all__
        classes.add(cls)
        code -= 1
    assert len(classes) == -code - 1 >= 19  # one class per family
    assert type(sessnap._error(code)) is sessnap.SessnapError


def test_busy_when_another_process_would_adopt(store):
    s = store.begin()
    s.update(1)
    s.flush()
    with pytest.raises(sessnap.Busy):
        store.adopt(s.id)
    s.end()


def test_update_refuses_what_cannot_be_loaded(store_dir):
    with sessnap.Store("pytest", str(store_dir), read_bound=64 * 1024,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        s.update({"ok": 1})
        with pytest.raises(ValueError):
            s.update(float("nan"))
        with pytest.raises(TypeError):
            s.update({"x": object()})
        deep = "[" * 1025 + "]" * 1025  # one more than the loader takes
        with pytest.raises(sessnap.InvalidArgument) as ei:
            s.update_json(deep)
        assert "1024" in ei.value.message
        with pytest.raises(sessnap.TooBig):
            s.update("x" * 64 * 1024)
        with pytest.raises(sessnap.InvalidArgument):
            s.update_json(b"[1,]")
        s.flush()
        assert st.load(s.id).state == {"ok": 1}
        s.end()


def test_migrate_function(store_dir):
    with sessnap.Store("pytest", str(store_dir), schema_version=1,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        s.update({"names": ["a", "b"]})
        s.flush()
        s.release()
    calls = []

    def migrate(state, old, new):
        calls.append((old, new))
        return {"people": [{"name": n} for n in state["names"]]}

    with sessnap.Store("pytest", str(store_dir), schema_version=2,
                       migrate=migrate,
                       durability=sessnap.Durability.NONE) as st:
        got = st.load(s.id)
        assert got.info.migrated
        assert got.state == {"people": [{"name": "a"}, {"name": "b"}]}
        assert calls == [(1, 2)]

    def broken(state, old, new):
        raise KeyError("names")

    with sessnap.Store("pytest", str(store_dir), schema_version=2,
                       migrate=broken,
                       durability=sessnap.Durability.NONE) as st:
        with pytest.raises(sessnap.MigrationFailed) as ei:
            st.load(s.id)
        assert isinstance(ei.value.__cause__, KeyError)


def test_context_managers(store_dir):
    with sessnap.Store("pytest", str(store_dir),
                       durability=sessnap.Durability.NONE) as st:
        with st.begin() as s:
            s.update("clean exit")
        assert st.scan() == []  # ended: removed
        with pytest.raises(RuntimeError):
            with st.begin() as s:
                s.update("work in progress")
                s.flush()
                raise RuntimeError("the program failed")
        # released, not ended: recoverable
        assert [i.id for i in st.scan(recoverable=True)] == [s.id]
        with pytest.raises(sessnap.InvalidState):
            s.update(1)
    with pytest.raises(sessnap.InvalidState):
        st.scan()
    st.close()  # twice is fine


def test_store_errors(tmp_path):
    with pytest.raises(sessnap.BadName):
        sessnap.Store("no/slash", str(tmp_path / "x"))
    with pytest.raises(sessnap.NotFound):
        sessnap.Store("pytest", str(tmp_path / "missing"), create=False)
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir(mode=0o777)
    os.chmod(unsafe, 0o777)
    with pytest.raises(sessnap.UnsafeStore) as ei:
        sessnap.Store("pytest", str(unsafe))
    assert str(unsafe) in ei.value.message
    with sessnap.Store("pytest", str(tmp_path / "ro0")) as st:
        pass
    with sessnap.Store("pytest", str(tmp_path / "ro0"), readonly=True) as st:
        with pytest.raises(sessnap.InvalidState):
            st.begin()


def test_default_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert sessnap.default_dir("ed") == str(tmp_path / "sessnap" / "ed")


def test_label_status_and_pull_mode(store_dir):
    # The interval is long enough that a loaded machine does not make a
    # save due between touch() and the first check.
    with sessnap.Store("pytest", str(store_dir), interval=0.5,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin(label="first")
        s.set_label("second")
        s.touch()
        assert not s.save_due()
        time.sleep(0.6)
        assert s.save_due()
        s.update({"pulled": True})
        assert not s.save_due()
        s.flush()
        status = s.status()
        assert status.seq == 1 and status.last_error == 0
        assert not status.pending
        assert st.scan()[0].label == "second"
        s.end()


def test_no_thread_store_ticks(store_dir):
    with sessnap.Store("pytest", str(store_dir), thread=False, interval=0.01,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        s.update([1])
        time.sleep(0.03)
        st.tick()
        assert s.status().seq == 1
        s.end()


def test_log_callback(store_dir):
    seen = []
    with sessnap.Store("pytest", str(store_dir),
                       durability=sessnap.Durability.NONE,
                       log=lambda level, msg: seen.append((level, msg))) \
            as st:
        s = st.begin()
        s.update(1)
        s.save()
        s.update(2)
        s.save()
        s.release()
        with open(os.path.join(st.path, s.id + ".snap"), "wb") as f:
            f.write(b"")
        with pytest.warns(sessnap.FallbackWarning):
            st.load(s.id)
    assert any(level == logging.WARNING and "previous generation" in msg
               for level, msg in seen)


def test_gil_is_released_around_library_calls():
    """cffi releases the GIL around every call through `lib`: while one
    thread sits in a C call (usleep), another runs Python code."""
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0)

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    before = len(ticks)
    lib.usleep(300000)
    during = len(ticks) - before
    stop.set()
    t.join()
    assert during > 10


def test_recovery_prompt(store, tmp_path):
    s = store.begin(label="my notes")
    s.update(["a"])
    s.flush()
    s.release()
    answers = tmp_path / "answers"
    answers.write_text("y\n")
    out = tmp_path / "out"
    with open(answers) as fin, open(out, "w") as fout:
        res = store.recovery_prompt(fin, fout, app_name="notes",
                                    assume_tty=True)
    assert res.answer == sessnap.PromptAnswer.RESTORE
    assert res.id == s.id
    assert "my notes" in out.read_text()
    # not a terminal, not assumed: nothing is asked, everything kept
    with open(answers) as fin, open(out, "w") as fout:
        res = store.recovery_prompt(fin, fout)
    assert res.answer == sessnap.PromptAnswer.DEFAULT and res.id is None
    session, state = store.adopt(s.id)
    assert state == ["a"]
    session.end()
    with open(answers) as fin, open(out, "w") as fout:
        res = store.recovery_prompt(fin, fout, assume_tty=True)
    assert res.answer == sessnap.PromptAnswer.NOTHING


def test_type_hints_and_docstrings():
    import inspect
    for name in sessnap.__all__:
        obj = getattr(sessnap, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
            for mname, m in inspect.getmembers(obj, inspect.isfunction):
                if not mname.startswith("_"):
                    assert m.__doc__, f"{name}.{mname}"
    assert os.path.exists(os.path.join(os.path.dirname(sessnap.__file__),
                                       "py.typed"))


def test_keys_begin_scan_and_prompt(store, tmp_path):
    a = store.begin(label="a.txt", key="/home/u/a.txt")
    b = store.begin(label="/home/u/a.txt", key=b"/home/u/b\xff.txt")
    # visible, with its key, before any save
    running = store.scan(key="/home/u/a.txt")
    assert [i.id for i in running] == [a.id]
    assert running[0].status == sessnap.Status.RUNNING
    assert running[0].key == b"/home/u/a.txt"
    assert running[0].key_str == "/home/u/a.txt"
    assert running[0].owner.pid == os.getpid()
    info_b = store.scan(key=b"/home/u/b\xff.txt")
    assert [i.id for i in info_b] == [b.id]
    assert info_b[0].key == b"/home/u/b\xff.txt"
    assert info_b[0].key_str is None  # not UTF-8
    # a label is never matched, and keys are compared whole
    assert store.scan(key="/home/u/a.tx") == []
    with pytest.raises(ValueError):
        store.scan(key=b"")
    for s, state in ((a, ["a"]), (b, ["b"])):
        s.update(state)
        s.flush()
        s.release()
    answers = tmp_path / "answers"
    answers.write_text("y\n")
    out = tmp_path / "out"
    with open(answers) as fin, open(out, "w") as fout:
        res = store.recovery_prompt(fin, fout, assume_tty=True,
                                    key=b"/home/u/b\xff.txt")
    assert res.answer == sessnap.PromptAnswer.RESTORE and res.id == b.id
    assert "1 session did not end cleanly" in out.read_text()
    loaded = store.load(b.id)
    assert loaded.info.key == b"/home/u/b\xff.txt"
    session, state = store.adopt(a.id)
    assert state == ["a"]
    assert store.scan(key="/home/u/a.txt")[0].key == b"/home/u/a.txt"
    session.end()


# ---- Leases: shared stores ------------------------------------------------


def _record(path):
    """The JSON header line of a snapshot or of a lock record."""
    with open(path, "rb") as f:
        return json.loads(f.readline())


def test_shared_store_renews_a_lease_of_its_period(store_dir):
    # The period reaches the library only in version 2 of the options:
    # the lock record carrying it shows that the binding set the version.
    with sessnap.Store("pytest", str(store_dir), shared=True,
                       lease_period_ms=250,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        rec = _record(os.path.join(store_dir, s.id + ".lock"))
        assert rec["lease_ms"] == 250
        assert rec["renewals"] == 0
        status = s.status()
        assert status.lease_period_ms == 250
        assert status.lease_error == 0 and status.lease_message == ""
        assert status.lease_failures == 0 and not status.lease_failing
        assert status.lease_age_ms is not None
        assert 0 <= status.lease_age_ms < 60000
        # Its own sessions are judged by flock, not by their lease.
        (info,) = st.scan()
        assert info.status == sessnap.Status.RUNNING
        assert info.lease_age_ms is None and info.lease_period_ms is None
        assert info.lease_renewals is None
        s.end()


@pytest.mark.parametrize("shared", [False, None])
def test_local_store_writes_no_lease(store_dir, shared):
    # None: the test directory is on no network file system.
    with sessnap.Store("pytest", str(store_dir), shared=shared,
                       lease_period_ms=250,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        rec = _record(os.path.join(store_dir, s.id + ".lock"))
        assert "lease_ms" not in rec and "renewals" not in rec
        status = s.status()
        assert status.lease_period_ms is None
        assert status.lease_age_ms is None
        assert status.lease_error == 0 and not status.lease_failing
        s.end()


def test_shared_and_lease_period_are_checked(store_dir):
    with pytest.raises(TypeError):
        sessnap.Store("pytest", str(store_dir), shared="yes")
    with pytest.raises(TypeError):
        sessnap.Store("pytest", str(store_dir), lease_period_ms=1.5)
    with pytest.raises(TypeError):
        sessnap.Store("pytest", str(store_dir), lease_period_ms=True)
    for bad in (0, -1, 1 << 32):
        with pytest.raises(ValueError):
            sessnap.Store("pytest", str(store_dir), lease_period_ms=bad)
    # Under the library's shortest period (10 ms): its own refusal.
    with pytest.raises(sessnap.InvalidArgument) as e:
        sessnap.Store("pytest", str(store_dir), shared=True,
                      lease_period_ms=5)
    assert "lease period" in e.value.message


def _play_other_host(store_dir, sid):
    """Rewrite a released session's snapshot and lock record as if
    another host (a host name of the same length) had written them; the
    payload checksum covers no header, and the record keeps its
    length."""
    host = _record(os.path.join(store_dir, sid + ".snap"))["owner"]["host"]
    other = ("y" if host[:1] == "x" else "x") * len(host)
    for name in (sid + ".snap", sid + ".lock"):
        path = os.path.join(store_dir, name)
        with open(path, "rb") as f:
            data = f.read()
        old = b'"host":' + json.dumps(host).encode()
        assert old in data, (name, data[:200])
        with open(path, "wb") as f:
            f.write(data.replace(old, b'"host":' + json.dumps(other).encode()))
    return other


def test_scan_reports_another_hosts_lease(store_dir):
    with sessnap.Store("pytest", str(store_dir), shared=True,
                       lease_period_ms=250,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin()
        s.update({"n": 1})
        s.flush()
        sid = s.id
        s.release()
        other = _play_other_host(store_dir, sid)
        lock = os.path.join(store_dir, sid + ".lock")
        # Renewed just now: running there.
        os.utime(lock)
        (info,) = st.scan()
        assert info.owner.host == other
        assert info.status == sessnap.Status.RUNNING
        assert info.lease_period_ms == 250
        assert info.lease_renewals == 0
        assert info.lease_age_ms is not None
        assert 0 <= info.lease_age_ms <= 1750
        # Last renewed a minute ago (expiry: 3 periods + 2 s): crashed.
        t = time.time() - 60
        os.utime(lock, (t, t))
        (info,) = st.scan()
        assert info.status == sessnap.Status.CRASHED
        assert info.lease_age_ms >= 55000
        assert info.lease_period_ms == 250


def test_adopt_of_another_hosts_expired_session_gives_a_new_id(store_dir):
    with sessnap.Store("pytest", str(store_dir), shared=True,
                       lease_period_ms=250,
                       durability=sessnap.Durability.NONE) as st:
        s = st.begin(key="doc.txt")
        s.update({"n": 1})
        s.flush()
        sid = s.id
        s.release()
        _play_other_host(store_dir, sid)
        lock = os.path.join(store_dir, sid + ".lock")
        os.utime(lock)
        with pytest.raises(sessnap.Busy):
            st.adopt(sid)
        t = time.time() - 60
        os.utime(lock, (t, t))
        session, state = st.adopt(sid)
        assert state == {"n": 1}
        assert session.id != sid
        assert session.recovered.adoptions == 1
        (old,) = st.scan(where=lambda i: i.id == sid)
        assert old.status == sessnap.Status.COMPLETED and old.taken_over
        (new,) = st.scan(key="doc.txt", status=[sessnap.Status.RUNNING])
        assert new.id == session.id
        with pytest.raises(sessnap.Fenced):
            st.adopt(sid)
        session.end()


def test_info_members_past_size_are_absent():
    # A record filled by an older library ends before the lease members:
    # they read as None, whatever the bytes past its size hold.
    i = ffi.new("sessnap_info *")
    i.id = b"0123456789abcdef0123456789abcdef"
    i.status = lib.SESSNAP_VERDICT_RUNNING
    i.lease_age_ms = 5
    i.lease_period_ms = 10
    i.lease_renewals = 3
    i.size = ffi.offsetof("sessnap_info", "lease_age_ms")
    info = sessnap.Store._info(i[0])
    assert info.lease_age_ms is None
    assert info.lease_period_ms is None and info.lease_renewals is None
    i.size = ffi.sizeof("sessnap_info")
    info = sessnap.Store._info(i[0])
    assert (info.lease_age_ms, info.lease_period_ms,
            info.lease_renewals) == (5, 10, 3)
    # Present, but none judged (-1) and no lease seen (period 0).
    i.lease_age_ms = -1
    i.lease_period_ms = 0
    info = sessnap.Store._info(i[0])
    assert (info.lease_age_ms, info.lease_period_ms,
            info.lease_renewals) == (None, None, None)
