#!/bin/sh
# autogen.sh -- generate configure and the Makefile.in files from a clone.
set -eu
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --force --install --warnings=all
