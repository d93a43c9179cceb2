#!/usr/bin/env bash
# bench/pg_follow.sh - write-to-visible latency across two imgsecd nodes
# on one PostgreSQL database (issue 16 item 6), with the index follower
# woken by LISTEN/NOTIFY and with the old 10 ms poll.
#
#   bench/pg_follow.sh BUILD_DIR [WRITES] [MODES]
#
# Starts a throwaway cluster (tests/support/pg_cluster.sh, a unix socket,
# fsync off) unless PG_ADMIN names one (postgresql:///postgres?host=...),
# makes a database with one user, and for each mode (default
# "notify poll": --follow-notify on, then --follow-notify off
# --follow-poll-ms 10) starts nodes A and B on it and runs
# bench/pg_follow.py (WRITES writes per phase, default 200): the
# follower phase (B's /metrics position, no request to B syncs) and the
# request phase (B's statistic). One RESULT line per mode and phase, with
# the machine's load; then one IDLE line: the CPU a node and the cluster
# spend per second on following while nothing is written
# (PG_FOLLOW_IDLE_S seconds, default 20; 0 skips). PG_FOLLOW_SMOKE=1: 5
# writes, no idle measure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${1:?usage: $0 BUILD_DIR [WRITES] [MODES]}
writes=${2:-200}
modes=${3:-notify poll}
[ "${PG_FOLLOW_SMOKE:-}" = 1 ] && writes=5 && export PG_FOLLOW_IDLE_S=0
bin=$(cd "$bin" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pgfollow.XXXXXX")
cluster=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$cluster" ]; then "$here/../tests/support/pg_cluster.sh" stop "$cluster" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
admin=${PG_ADMIN:-}
if [ -z "$admin" ]; then
  cluster=/tmp/pgfb.$$ # short: a unix socket path has at most 107 bytes
  admin=$("$here/../tests/support/pg_cluster.sh" start "$cluster")
fi
sockdir=$(sed -n 's/.*host=\([^&]*\).*/\1/p' <<<"$admin")
pm=$(head -1 "$sockdir/data/postmaster.pid" 2>/dev/null || true)
tck=$(getconf CLK_TCK)
pg_ticks() { # the cluster's CPU: its processes, and what the postmaster reaped
  [ -n "$pm" ] || { echo 0; return; }
  local t; t=$(awk '{ print $16 + $17 }' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm") "$pm"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
name="imgsec_follow_$$"
psql -q -X -d "$admin" -c "CREATE DATABASE $name"
db=${admin/\/postgres\?/\/$name?}
IMGSEC_PASSWORD=bench-pw-1 "$bin/imgsec" user add --db "$db" --domain bench --name bench \
  --project bench --role admin --eps all >/dev/null
flags=(--listen 127.0.0.1:0 --region bench-1 --key-file "$work/k.key" --export-dir "$work/exports"
       --auth-fail-limit 0)
start_node() { # name mode -> url
  local n=$1 mode=$2 extra=()
  [ "$mode" = poll ] && extra=(--follow-notify off --follow-poll-ms 10)
  bench_imgsecd "$work/$n.log" "$work/$n.port" "$bin/imgsecd" --db "$db" "${flags[@]}" "${extra[@]}"
  pids+=("$bench_pid")
}
for mode in $modes; do
  start_node a "$mode"; a_url=$bench_url
  start_node b "$mode"; b_url=$bench_url
  token=$(bench_token "$a_url" bench bench bench-pw-1 bench)
  [ -n "$token" ] || { echo "no token" >&2; exit 1; }
  echo "mode=$mode build=$bin writes=$writes load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
  python3 "$here/pg_follow.py" --a "$a_url" --b "$b_url" --token "$token" --project bench \
    --region bench-1 --writes "$writes" --ep "follow-$mode" |
    sed "s/^RESULT /RESULT mode=$mode /; s/\$/ load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)/"
  # what following costs while nothing is written: CPU of the two nodes
  # and of the cluster over idle_s seconds
  idle_s=${PG_FOLLOW_IDLE_S:-20}
  if [ "$idle_s" -gt 0 ]; then
    n0=0; for p in "${pids[@]}"; do n0=$((n0 + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
    c0=$(pg_ticks)
    sleep "$idle_s"
    n1=0; for p in "${pids[@]}"; do n1=$((n1 + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
    c1=$(pg_ticks)
    echo "IDLE mode=$mode seconds=$idle_s nodes_cpu_ms_per_s=$(( (n1 - n0) * 1000 / tck / idle_s / 2 ))_per_node pg_cpu_ms_per_s=$(( (c1 - c0) * 1000 / tck / idle_s )) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
  fi
  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  pids=()
  grep -h "index follower:" "$work/b.log" | sed 's/^/b: /' || true
done
