#!/bin/sh
# crashloop.sh -- SIGKILL a writer at random moments and recover each time
# (tests/crashloop.c).  SESSNAP_CRASHLOOP_ITERATIONS sets the number of
# kills: 200 by default, 10000 under "make check-soak".
set -eu

iterations=${SESSNAP_CRASHLOOP_ITERATIONS:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$TOP_BUILDDIR/tests/crashloop" "$tmp/store" "$iterations"
