#!/usr/bin/env bash
# bench/start_mem.sh - what starting imgsecd on a database costs: the
# wall time until it listens (the index built from the store, both
# instances), the CPU time it took (user + system: on a shared machine the
# wall time measures the other work too), its resident memory once
# listening (VmRSS) and the most it ever held (VmHWM, the start's peak).
#
#   bench/start_mem.sh --db FILE [--runs N] BIN_DIR...
#
# Each BIN_DIR holds an imgsecd; the binaries are run in turn, N rounds
# (default 3), so that a change in the machine's load hits them alike. The
# page cache is left warm (the first round warms it). One line per start:
#   bin=DIR run=K wall_s=... cpu_s=... rss_mb=... hwm_mb=... load=1m,5m,15m
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db="" runs=3 bins=()
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift ;;
    --runs) runs=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) bins+=("$1") ;;
  esac
  shift
done
[ -n "$db" ] && [ "${#bins[@]}" -gt 0 ] || { echo "usage: $0 --db FILE [--runs N] BIN_DIR..." >&2; exit 2; }
tmp=$(mktemp -d)
bench_pid=""
trap '[ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
tck=$(getconf CLK_TCK)
for ((k = 1; k <= runs; k++)); do
  for b in "${bins[@]}"; do
    t0=$(date +%s.%N)
    bench_imgsecd "$tmp/log" "$tmp/port" "$b/imgsecd" --db "$db" --listen 127.0.0.1:0 --region bench-1
    t1=$(date +%s.%N)
    # fields 14 and 15 of /proc/PID/stat: utime, stime (after the name, which has no spaces here)
    read -r ut st < <(awk '{ print $14, $15 }' "/proc/$bench_pid/stat")
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$bench_pid/status")
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$bench_pid/status")
    printf 'bin=%s run=%d wall_s=%.2f cpu_s=%.2f rss_mb=%d hwm_mb=%d load=%s\n' "$b" "$k" \
      "$(echo "$t1 - $t0" | bc)" "$(echo "($ut + $st) / $tck" | bc -l)" $((rss / 1024)) $((hwm / 1024)) \
      "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
    kill "$bench_pid"
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=""
  done
done
