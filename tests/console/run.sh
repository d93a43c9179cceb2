#!/usr/bin/env bash
# ctest entry of the console's browser test (label `console`): installs the
# pinned playwright-core (package-lock.json, `npm ci`) into the build dir,
# then runs test.js with Debian's /usr/bin/chromium against a real imgsecd.
# usage: tests/console/run.sh WORK_DIR IMGSECD IMGSEC_CLI [SHOT_DIR]
set -euo pipefail
work=$1; export IMGSECD=$2 IMGSEC_CLI=$3 CONSOLE_SHOTS=${4:-}
src=$(cd "$(dirname "$0")" && pwd)
export CONSOLE_DIR=${CONSOLE_DIR:-$src/../../console}
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$work/"
if ! cmp -s "$src/package-lock.json" "$work/node_modules/.imgsec-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$work/node_modules/.imgsec-lock"
fi
export NODE_PATH="$work/node_modules"
exec node "$src/test.js"
