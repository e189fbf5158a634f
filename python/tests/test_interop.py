"""Interoperability with the C command line, both ways."""

import json
import subprocess

import pytest

import sessnap
from conftest import tool


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE,
                          text=True, **kw).stdout


def test_python_store_listed_and_exported_by_c(store, store_dir, tmp_path):
    value = {"notes": ["caf\u00e9", "\U0001F600"], "n": 2 ** 40, "f": 0.5}
    kept = store.begin(label="from python", keep=True)
    kept.update(value)
    kept.end(keep=True)
    crashed = store.begin(label="crashed one")
    crashed.update([1, 2, 3])
    crashed.flush()
    crashed.release()
    sessnap_cmd = tool("SESSNAP", "sessnap")
    listed = json.loads(run(sessnap_cmd, "list", "--all", "--json",
                            "--dir", str(store_dir)))
    by_id = {s["id"]: s for s in listed["sessions"]}
    assert by_id[kept.id]["status"] == "completed"
    assert by_id[kept.id]["label"] == "from python"
    assert by_id[crashed.id]["status"] == "crashed"
    out = tmp_path / "export.json"
    run(sessnap_cmd, "export", kept.id, "-o", str(out), "--dir",
        str(store_dir))
    assert json.loads(out.read_text()) == value
    run(sessnap_cmd, "verify", "--dir", str(store_dir))


def test_c_store_read_by_python(tmp_path):
    store_dir = tmp_path / "demo"
    demo = tool("SESSNAP_DEMO", "sessnap-demo")
    subprocess.run([demo, "--dir", str(store_dir), "--keep"],
                   input="first note\nsecond note\n", text=True,
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    sessnap_cmd = tool("SESSNAP", "sessnap")
    with sessnap.Store("sessnap-demo", str(store_dir),
                       readonly=True) as st:
        infos = st.scan()
        assert len(infos) == 1
        info = infos[0]
        assert info.status == sessnap.Status.COMPLETED
        assert "2 notes" in info.label
        state = st.load(info.id).state
        exported = json.loads(run(sessnap_cmd, "export", info.id, "--dir",
                                  str(store_dir)))
        assert state == exported
        assert "second note" in json.dumps(state)
