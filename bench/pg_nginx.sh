#!/usr/bin/env bash
# bench/pg_nginx.sh - aggregate statistic throughput of 1, 2 and 3 imgsecd
# nodes on one PostgreSQL database behind nginx (issue 16 item 6), and the
# CPU time each request cost each party, for the extrapolation to N nodes
# on N machines.
#
#   bench/pg_nginx.sh BUILD_DIR DB_URI MIX_TSV [SECONDS] [NODE_COUNTS] [NODE_FLAGS]
#
# DB_URI: a loaded database with the user bench/bench (password
# bench-pw-1, project bench, admin of all EPs); MIX_TSV: bench/mix.sh's
# index for the same data (made from a SQLite copy). Starts 3 nodes on
# DB_URI (NODE_FLAGS appended, e.g. "--result-cache-mb 0"), waits until
# each is ready, then for each count n in NODE_COUNTS (default "1 2 3"):
# nginx (worker_processes 1, the upstream block of docs/operations.md with
# the first n nodes, keepalive 32) and wrk -t2 -c48 for SECONDS (default
# 15) with bench/statistic.lua through it; and once with wrk straight at
# node 1 (no proxy). Per run it prints requests/s and the CPU time per
# request of the nodes (sum), of nginx, and of the PostgreSQL cluster
# (every process of the user running the postmaster, and what it reaped),
# from /proc, with the machine's load. 48 connections, not 64: every
# connection a node gets comes from nginx's one address, and imgsecd takes
# at most 64 per client address (src/server/http.c), so more in flight
# than that makes a node drop some of nginx's connections (a 502 to the
# client: nginx does not retry a POST on another node).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=$(cd "${1:?usage: $0 BUILD_DIR DB_URI MIX_TSV [SECONDS] [NODE_COUNTS]}" && pwd)
db=${2:?DB_URI}
mix=${3:?MIX_TSV}
secs=${4:-15}
counts=${5:-1 2 3}
node_flags=${6:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/pgnginx.XXXXXX")
pids=() nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# the cluster: the postmaster of the socket directory in DB_URI
sockdir=$(sed -n 's/.*host=\([^&]*\).*/\1/p' <<<"$db")
pm=$(head -1 "$sockdir/data/postmaster.pid" 2>/dev/null || true)
pg_ticks() {
  [ -n "$pm" ] || { echo 0; return; }
  local t; t=$(awk '{ print $16 + $17 }' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm") "$pm"; do t=$((t + $(ticks_of "$p" 2>/dev/null || echo 0))); done
  echo "$t"
}
tck=$(getconf CLK_TCK)
urls=()
for i in 1 2 3; do
  # shellcheck disable=SC2086
  bench_imgsecd "$work/n$i.log" "$work/n$i.port" "$bin/imgsecd" --db "$db" --listen 127.0.0.1:0 \
    --region bench-1 --key-file "$work/k.key" --export-dir "$work/exports" --auth-fail-limit 0 \
    $node_flags
  pids+=("$bench_pid"); urls+=("$bench_url")
done
for u in "${urls[@]}"; do
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$u/readyz")" = 200 ]; do sleep 0.2; done
done
token=$(bench_token "${urls[0]}" bench bench bench-pw-1 bench)
[ -n "$token" ] || { echo "pg_nginx: no token" >&2; exit 1; }
port_of() { sed 's/.*://' <<<"$1"; }

nginx_conf() { # port n
  {
    echo "worker_processes 1; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon off;"
    echo "events { worker_connections 1024; }"
    echo "http { log_format st '\$status \$upstream_status'; access_log $work/access.log st buffer=64k;"
    echo "  client_body_temp_path $work/nb; proxy_temp_path $work/np;"
    echo "  fastcgi_temp_path $work/nf; uwsgi_temp_path $work/nu; scgi_temp_path $work/ns;"
    echo "  upstream imgsecd {"
    for ((k = 0; k < $2; k++)); do echo "    server ${urls[$k]#http://} max_fails=3 fail_timeout=10s;"; done
    echo "    keepalive 32; }"
    echo "  server { listen 127.0.0.1:$1; client_max_body_size 64m; client_body_buffer_size 1m;"
    echo "    location = /metrics { return 404; }"
    echo "    location / { proxy_pass http://imgsecd; proxy_http_version 1.1;"
    echo "      proxy_set_header Connection \"\"; proxy_set_header Host \$http_host;"
    echo "      proxy_next_upstream error timeout http_502 http_503 http_504;"
    echo "      proxy_next_upstream_tries 2; proxy_request_buffering on; proxy_buffering off; } } }"
  } >"$work/nginx.conf"
}

run() { # label url nodes(pids...) -- prints the line
  local label=$1 url=$2; shift 2
  local before=() n0 g0 p0 t0 out rps reqs
  for p in "$@"; do before+=("$(ticks_of "$p")"); done
  g0=0
  if [ -n "$nginx_pid" ]; then
    g0=$(ticks_of "$nginx_pid")
    for w in $(pgrep -P "$nginx_pid"); do g0=$((g0 + $(ticks_of "$w"))); done
  fi
  p0=$(pg_ticks)
  out=$(wrk -t2 -c48 -d"${secs}s" --timeout 10s -s "$here/statistic.lua" "$url" -- "$mix" "$token" bench bench-1)
  local n1=0 i=0
  for p in "$@"; do n1=$((n1 + $(ticks_of "$p") - before[i])); i=$((i + 1)); done
  local g1=0
  if [ -n "$nginx_pid" ]; then
    g1=$(ticks_of "$nginx_pid")
    for w in $(pgrep -P "$nginx_pid"); do g1=$((g1 + $(ticks_of "$w"))); done
  fi
  local p1; p1=$(pg_ticks)
  reqs=$(sed -n 's/^RESULT .*requests=\([0-9]*\).*/\1/p' <<<"$out")
  rps=$(sed -n 's/^RESULT .*rps=\([0-9.]*\).*/\1/p' <<<"$out")
  local non2xx; non2xx=$(sed -n 's/^RESULT .*non2xx=\([0-9]*\).*/\1/p' <<<"$out")
  python3 - "$label" "$reqs" "$rps" "$n1" "$((g1 - g0))" "$((p1 - p0))" "$tck" "${non2xx:-?}" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" <<'PY'
import sys
label, reqs, rps, n, g, p, tck, bad, load = sys.argv[1:]
reqs = int(reqs); tck = int(tck)
per = lambda t: 1e6 * int(t) / tck / reqs if reqs else 0
print("RESULT run=%s requests=%d rps=%s non2xx=%s node_cpu_us=%.0f nginx_cpu_us=%.0f pg_cpu_us=%.0f load=%s"
      % (label, reqs, rps, bad, per(n), per(g), per(p), load))
PY
}

run direct-1 "${urls[0]}" "${pids[0]}"
for n in $counts; do
  port=$((20000 + RANDOM % 20000))
  nginx_conf "$port" "$n"
  nginx -c "$work/nginx.conf" -p "$work" 2>>"$work/nginx-error.log" &
  nginx_pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.1; done
  run "nginx-$n" "http://127.0.0.1:$port" "${pids[@]:0:$n}"
  kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
  # what nginx answered (and what the nodes answered it), when not all 200
  sort "$work/access.log" | uniq -c | sort -rn | awk '$2 != 200 { printf "  status %s upstream %s: %d\n", $2, $3, $1 }'
  tail -n 3 "$work/nginx-error.log" | sed 's/^/  nginx: /'
  rm -f "$work/access.log"
done
