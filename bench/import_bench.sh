#!/usr/bin/env bash
# import_bench.sh - peak memory of `imgsec import` on a large Trivy report.
#
# Usage: bench/import_bench.sh [BUILD_DIR] [MEGABYTES]   (defaults: build, 500)
# Generates a MEGABYTES Trivy-shaped report (bench/import_gen_trivy.py)
# in a temp dir, imports it into a fresh database with the streaming path
# (--stream) and prints wall time and peak RSS (/usr/bin/time -v). With
# COMPARE_MB=N it also imports an N MB report both ways (in-memory path via
# standard input) to show what streaming saves. Run on purpose; numbers go
# to docs/performance.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mb=${2:-500}
cli="$build/imgsec"
[ -x "$cli" ] || { echo "no $cli: build first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/import-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

measure() { # label, then the command
  local label=$1; shift
  /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null || { cat "$work/time.txt" >&2; exit 1; }
  local rss wall
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$work/time.txt")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/time.txt")
  printf '%-44s peak RSS %7d KiB (%5d MiB)  wall %s\n' "$label" "$rss" $((rss / 1024)) "$wall"
}

python3 "$here/import_gen_trivy.py" "$work/big.json" "$mb"
ls -l "$work/big.json" | awk '{printf "report: %d bytes\n", $5}'
measure "stream ${mb} MB (--stream)" "$cli" import --db "$work/s.db" --project B --stream "$work/big.json"
sqlite3 "$work/s.db" "SELECT 'stored records: vulnerability ' || sum(n_vulnerability) || ', apps ' || sum(n_app) FROM images"

if [ -n "${COMPARE_MB:-}" ]; then
  python3 "$here/import_gen_trivy.py" "$work/mid.json" "$COMPARE_MB"
  measure "stream ${COMPARE_MB} MB (--stream)" "$cli" import --db "$work/m1.db" --project B --stream "$work/mid.json"
  measure "in memory ${COMPARE_MB} MB (stdin, jansson)" sh -c "'$cli' import --db '$work/m2.db' --project B --format trivy - < '$work/mid.json'"
fi
