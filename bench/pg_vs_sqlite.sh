#!/usr/bin/env bash
# bench/pg_vs_sqlite.sh - the statistic's latency on a node whose database
# is PostgreSQL against one on a SQLite file holding the same data (issue
# 16 item 6: the same index, so the same engine cost; what PostgreSQL adds
# is the per-request probe's round trip).
#
#   bench/pg_vs_sqlite.sh BUILD_DIR PG_URI SQLITE_FILE MIX_TSV [SECONDS] [NODE_FLAGS]
#
# Both databases need the user bench/bench (password bench-pw-1, project
# bench); MIX_TSV is bench/mix.sh's index for that data (its body paths
# are relative: run from the directory that holds them). For each
# database: one node (NODE_FLAGS appended, e.g. "--result-cache-mb 0"),
# ready, then bench/latency.c over one keep-alive connection for SECONDS
# (default 10). One line per database: latency.c's RESULT fields, the
# node's CPU per request from /proc, and the machine's load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=$(cd "${1:?usage: $0 BUILD_DIR PG_URI SQLITE_FILE MIX_TSV [SECONDS] [NODE_FLAGS]}" && pwd)
pg=${2:?PG_URI} sq=${3:?SQLITE_FILE} mix=${4:?MIX_TSV} secs=${5:-10} flags=${6:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/pgvsq.XXXXXX")
bench_pid=""
trap '[ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null; rm -rf "$work"' EXIT
cc -O2 -o "$work/latency" "$here/latency.c" -lcurl -lm
tck=$(getconf CLK_TCK)
for db in "$pg" "$sq"; do
  # shellcheck disable=SC2086
  bench_imgsecd "$work/log" "$work/port" "$bin/imgsecd" --db "$db" --listen 127.0.0.1:0 \
    --region bench-1 --key-file "$work/k.key" --export-dir "$work/exports" $flags
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$bench_url/readyz")" = 200 ]; do sleep 0.2; done
  tok=$(bench_token "$bench_url" bench bench bench-pw-1 bench)
  [ -n "$tok" ] || { echo "pg_vs_sqlite: no token from $db" >&2; exit 1; }
  c0=$(awk '{ print $14 + $15 }' "/proc/$bench_pid/stat")
  r=$("$work/latency" "$bench_url" "$mix" "$tok" bench bench-1 "$secs" | sed -n 's/^RESULT //p')
  c1=$(awk '{ print $14 + $15 }' "/proc/$bench_pid/stat")
  n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$r")
  echo "RESULT db=${db%%\?*} flags='$flags' $r node_cpu_us=$(( (c1 - c0) * 1000000 / tck / n )) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
  kill "$bench_pid"; wait "$bench_pid" 2>/dev/null || true; bench_pid=""
done
