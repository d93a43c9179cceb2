#!/usr/bin/env bash
# ctest entry of the SDK conformance test (label `conformance`):
# installs the pinned official SDK (package-lock.json, `npm ci`) into the
# build dir, then runs test.js against the imgsecd and imgsec given.
# usage: tests/conformance/run.sh WORK_DIR IMGSECD IMGSEC_CLI
set -euo pipefail
work=$1; export IMGSECD=$2 IMGSEC_CLI=$3
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$work/"
# Reinstall only when the lock file changed since the last install.
if ! cmp -s "$src/package-lock.json" "$work/node_modules/.imgsec-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$work/node_modules/.imgsec-lock"
fi
export NODE_PATH="$work/node_modules"
exec node "$src/test.js"
