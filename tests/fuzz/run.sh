#!/usr/bin/env bash
# Runs each libFuzzer target for FUZZ_SECONDS (make fuzz).
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
# The seed corpus (tests/fuzz/corpus/<t>) is read only; what the fuzzer
# finds goes to BUILD_DIR/corpus/<t>, crashes to BUILD_DIR/crashes/, the
# full output to BUILD_DIR/fuzz-<t>.log. A crash fails the run: copy the
# input to tests/fuzz/regressions/<t>/ and fix the bug.
set -uo pipefail
build=$1; seconds=$2; shift 2
src=$(cd "$(dirname "$0")" && pwd)
status=0
for t in "$@"; do
  mkdir -p "$build/corpus/$t" "$build/crashes"
  log="$build/fuzz-$t.log"
  echo "fuzz: $t for ${seconds}s (log: $log)"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
    "$build/corpus/$t" "$src/corpus/$t" >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log" | sed "s/^/fuzz: $t: /"
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); see $log and $build/crashes/" >&2
    status=1
  fi
done
exit $status
