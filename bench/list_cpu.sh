#!/usr/bin/env bash
# bench/list_cpu.sh - imgsecd's CPU per request (user + system, from
# /proc/PID/stat) for list URLs, N sequential requests each after one
# warm-up. On a shared machine wall-clock latency is mostly other
# processes' scheduling; the server's own CPU is what a change moves.
#
#   bench/list_cpu.sh BIN DB URLS [N]
#
# URLS: lines "name<TAB>path?query" as bench/lists.sh writes them to
# WORK/lists-urls.tsv; DB must hold lists.sh's user (lists/reader, project
# bench). Prints one line per URL: cpu_ms_per_req, wall_ms_per_req and the
# last answer's bytes (equal bytes before/after: the same answer size).
# The clock tick is 10 ms: take N so that N x CPU is well above it.
# LIST_CPU_BODIES=DIR (environment): keep each URL's last answer as
# DIR/name.json, to compare two builds' answers with cmp.
set -euo pipefail
bin=$1 db=$2 urls=$3 n=${4:-5}
region=bench-1 password=bench-password-1 work=$(mktemp -d)
. "$(dirname "$0")/lib.sh"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
bench_imgsecd "$work/log" "$work/port" "$bin/imgsecd" --db "$db" --listen 127.0.0.1:0 \
  --region "$region" --result-cache-mb 0 || exit 1
pid=$bench_pid url=$bench_url
token=$(bench_token "$url" lists reader "$password" bench)
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
while IFS=$'\t' read -r name path; do
  curl -sS -o /dev/null -H "X-Auth-Token: $token" -H "region: $region" "$url$path" # warm
  c0=$(cpu); t0=$(date +%s.%N)
  for i in $(seq "$n"); do
    curl -sS -o "$work/body" -H "X-Auth-Token: $token" -H "region: $region" "$url$path"
  done
  c1=$(cpu); t1=$(date +%s.%N)
  [ -n "${LIST_CPU_BODIES:-}" ] && cp "$work/body" "$LIST_CPU_BODIES/$name.json"
  awk -v n="$n" -v c="$((c1 - c0))" -v hz="$hz" -v w0="$t0" -v w1="$t1" -v name="$name" -v b="$(wc -c <"$work/body")" \
    'BEGIN { printf "%s cpu_ms_per_req=%.1f wall_ms_per_req=%.1f bytes=%d\n", name, c * 1000 / hz / n, (w1 - w0) * 1000 / n, b }'
done <"$urls"
