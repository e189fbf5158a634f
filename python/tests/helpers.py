"""Helpers shared by the binding's tests."""

import json
import os


def files(store_dir):
    """The names in the store directory, sorted."""
    return sorted(os.listdir(store_dir))


def temp_files(store_dir):
    """Temporary files of the save protocol (dot files)."""
    return [n for n in files(store_dir) if n.startswith(".")]


def payload(path):
    """The state in a snapshot file (its second line), parsed."""
    with open(path, "rb") as f:
        f.readline()
        return json.loads(f.read())


def snap(store_dir, sid):
    return os.path.join(store_dir, sid + ".snap")


def prev(store_dir, sid):
    return os.path.join(store_dir, sid + ".snap.prev")
