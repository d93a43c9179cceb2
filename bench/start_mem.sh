#!/usr/bin/env bash
# bench/start_mem.sh - what starting imgsecd on a database costs: the
# wall time until it listens (the first instance of the index built from
# the store) and until it is ready (GET /readyz answers 200: the index
# caught up with the file, which waits for the second instance if
# anything was committed since the build), the wall time until it has settled
# (the follower thread's copy of the second instance done: its CPU time
# stops growing), the CPU time it took by then (user + system: on a shared
# machine the wall time measures the other work too), its resident memory
# when ready and once settled (VmRSS) and the most it ever held (VmHWM,
# the start's peak).
#
#   bench/start_mem.sh --db FILE|URI [--runs N] [--flags "FLAGS"] BIN_DIR...
#
# FLAGS: more imgsecd flags, split on spaces (a PostgreSQL URI needs
# "--export-dir DIR --key-file FILE").
#
# Each BIN_DIR holds an imgsecd; the binaries are run in turn, N rounds
# (default 3), so that a change in the machine's load hits them alike. The
# page cache is left warm (the first round warms it). One line per start:
#   bin=DIR run=K listen_s=... ready_s=... settled_s=... cpu_s=... ready_rss_mb=...
#   rss_mb=... hwm_mb=... load=1m,5m,15m
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db="" runs=3 bins=() flags=""
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift ;;
    --runs) runs=$2; shift ;;
    --flags) flags=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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
    bench_imgsecd "$tmp/log" "$tmp/port" "$b/imgsecd" --db "$db" --listen 127.0.0.1:0 --region bench-1 $flags
    tl=$(date +%s.%N)
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$bench_url/readyz")" = 200 ]; do sleep 0.05; done
    t1=$(date +%s.%N)
    ready_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$bench_pid/status")
    # settled: less than 2 ticks of CPU in a second (the follower's polls
    # cost less than that)
    ticks() { awk '{ print $14 + $15 }' "/proc/$bench_pid/stat"; } # fields after the name (no spaces here)
    prev=$(ticks)
    while sleep 1; now=$(ticks); [ $((now - prev)) -ge 2 ]; do prev=$now; done
    t2=$(date +%s.%N)
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$bench_pid/status")
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$bench_pid/status")
    printf 'bin=%s run=%d listen_s=%.2f ready_s=%.2f settled_s=%.2f cpu_s=%.2f ready_rss_mb=%d rss_mb=%d hwm_mb=%d load=%s\n' \
      "$b" "$k" "$(echo "$tl - $t0" | bc)" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t0 - 1" | bc)" "$(echo "$now / $tck" | bc -l)" \
      $((ready_rss / 1024)) $((rss / 1024)) $((hwm / 1024)) "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
    kill "$bench_pid"
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=""
  done
done
