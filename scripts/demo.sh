#!/bin/bash
# demo.sh -- quick start 1: build sessnap, then show it at work.
#
# Builds the tree, then runs scripts/demo-scenario.sh: the real sessnap-demo
# is started in a pseudo-terminal, given three notes, killed with SIGKILL
# and started again; it offers the crashed session, restores it, and the
# notes are back.  "sessnap list" and "snapshot-clean --dry-run" close the
# story.  The store is left in a temporary directory for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo
exec scripts/demo-scenario.sh "$@"
