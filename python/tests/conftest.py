"""Fixtures of the binding's tests, and their results for the summary.

The tests run against the library the binding was built with (the in-tree
one under scripts/test.sh).  $SESSNAP names the C ``sessnap`` command and
$SESSNAP_DEMO the C demo, for the interoperability tests; without them the
build tree's are used.

With $SESSNAP_PYTEST_RESULTS set, every test's outcome is appended to that
file as a "PASS: ..." / "FAIL: ..." / "SKIP: ..." line, the format that
build-aux/test-summary.sh counts into the closing "N passed, N failed".
"""

import os
import pathlib

import pytest

import sessnap

HERE = pathlib.Path(__file__).resolve().parent
TOP = HERE.parent.parent


def tool(var, name):
    """The path of a built C program: $var, else the build tree's."""
    path = os.environ.get(var) or str(TOP / name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{name} is not built ({path}): run make first")
    return path


@pytest.fixture
def store_dir(tmp_path):
    """A store directory that does not exist yet."""
    return tmp_path / "store"


@pytest.fixture
def store(store_dir):
    """An open store (durability NONE: a process crash keeps the page
    cache, which is all these tests need)."""
    with sessnap.Store("pytest", str(store_dir),
                       durability=sessnap.Durability.NONE) as s:
        yield s


def _record(line):
    path = os.environ.get("SESSNAP_PYTEST_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def pytest_runtest_logreport(report):
    name = f"python: {report.nodeid}"
    if report.when == "call":
        if report.passed:
            _record(f"PASS: {name}")
        elif report.skipped:
            _record(f"SKIP: {name}")
        else:
            _record(f"FAIL: {name}")
    elif report.failed:
        _record(f"FAIL: {name} ({report.when})")
    elif report.skipped and report.when == "setup":
        _record(f"SKIP: {name}")


def pytest_collectreport(report):
    if report.failed:
        _record(f"FAIL: python: collecting {report.nodeid}")


def pytest_sessionfinish(session, exitstatus):
    # No test at all is a failure, not an empty success (exit status 5).
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        _record("FAIL: python: no tests were collected")
