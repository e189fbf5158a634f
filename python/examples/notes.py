#!/usr/bin/env python3
"""notes: a list of notes that survives kill -9.

Type a note per line; end with Ctrl-D.  Every note is handed to sessnap,
which saves the list off this thread within a second.  Kill the program
with ``kill -9`` and start it again: it finds the crashed run and offers
its notes back.  $NOTES_STORE chooses the store directory (default
~/.local/state/sessnap/notes).
"""

import os
import sys

import sessnap


def main() -> int:
    with sessnap.Store("notes", os.environ.get("NOTES_STORE"),
                       interval=1.0) as store:
        crashed = store.scan(recoverable=True)
        if crashed:
            # The newest crashed run; a terminal program could ask first:
            # store.recovery_prompt() returns the id the user chose.
            session, notes = store.adopt(crashed[0].id)
            print(f"restored {len(notes)} notes from a crashed run",
                  flush=True)
        else:
            session, notes = store.begin(label="notes"), []
        print(f"notes: pid {os.getpid()}; type a note per line, Ctrl-D "
              "to finish", flush=True)
        for line in sys.stdin:
            notes.append(line.rstrip("\n"))
            # Serialized now (json.dumps); the writer saves it.
            session.update(notes)
            print(f"noted ({len(notes)})", flush=True)
        session.end()  # a clean exit: the session's files are removed
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except sessnap.SessnapError as e:
        # What is on disk stays there, to be offered again.
        print(f"notes: {e.message}", file=sys.stderr)
        sys.exit(1)
