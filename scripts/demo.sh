#!/bin/bash
# demo.sh -- quick start 1: build sessnap, then show it at work.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo
./sessnap-crashdemo run "$(mktemp -d)"
