#!/usr/bin/env bash
# bench/stall.sh - does a bulk ingest stall the statistic? An A/B of two
# imgsecd builds on the same database, under the same ingest.
#
#   bench/stall.sh --db DB --mix MIX_TSV --bin DIR [--bin DIR ...]
#                  [--images N] [--records-per-image R] [--data DIR] [--seconds S]
#
# DB and MIX_TSV come from a bench/run.sh work folder (imgsec.db, mix/mix.tsv;
# its user admin/bench-password-0). For each build, in turn: start its
# imgsecd on DB, measure the mix with one connection for S seconds while
# nothing is written, then again while `imgsec import` (of that build)
# stores a fresh generated fleet of N images into DB in files of 1,000
# images, one transaction each; print both, and the follower's own account
# (how many requests waited for a commit to be applied, and how long).
# Latency is timed by bench/latency.c (one keep-alive connection).
# Each build gets a fleet of its own seed, so every ingest inserts new
# images rather than replacing the previous build's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db="" mix="" bins=() images=10000 rpi=200 data="$here/data" secs=10
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift ;;
    --mix) mix=$2; shift ;;
    --bin) bins+=("$2"); shift ;;
    --images) images=$2; shift ;;
    --records-per-image) rpi=$2; shift ;;
    --data) data=$2; shift ;;
    --seconds) secs=$2; shift ;;
    *) echo "stall: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$db" ] && [ -n "$mix" ] && [ ${#bins[@]} -gt 0 ] || { sed -n '2,17p' "$0"; exit 2; }
work=$(mktemp -d)
cc -O2 -o "$work/latency" "$here/latency.c" -lcurl -lm
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"' EXIT
seed=100
for bin in "${bins[@]}"; do
  seed=$((seed + 1))
  set_dir=$data/set-$images-$rpi-$seed
  "$here/gen-data.sh" "$bin/imgsec" "$set_dir" "$images" "$rpi" "$seed" 0
  cat "$set_dir"/0/part-*.ndjson >/dev/null
  rm -f "$work/port"
  "$bin/imgsecd" --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" --region bench-1 2>"$work/log" &
  srv=$!
  while [ ! -s "$work/port" ]; do sleep 0.05; done
  url=http://127.0.0.1:$(cat "$work/port")
  token=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$url/v3/auth/tokens" \
    -d '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "bench-password-0", "domain": {"name": "bench"}}}}, "scope": {"project": {"id": "bench"}}}}' |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  quiet=$("$work/latency" "$url" "$mix" "$token" bench bench-1 "$secs" | sed -n 's/^RESULT //p')
  "$work/latency" "$url" "$mix" "$token" bench bench-1 600 >"$work/wrk" &
  wrk_pid=$!
  sleep 1
  t0=$(date +%s.%N)
  "$bin/imgsec" import --db "$db" --project bench --ep 0 "$set_dir"/0/part-*.ndjson 2>"$work/import" >/dev/null
  t1=$(date +%s.%N)
  sleep 1
  kill -INT "$wrk_pid"; wait "$wrk_pid" || true
  kill -TERM "$srv"; wait "$srv" || true
  srv=""
  records=$(sed -n 's/.*imported [0-9]* images, \([0-9]*\) records.*/\1/p' "$work/import" | awk '{ s += $1 } END { print s + 0 }')
  echo "== $bin"
  echo "quiet:        $quiet"
  echo "during ingest ($records records, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s): $(sed -n 's/^RESULT //p' "$work/wrk")"
  sed -n 's/^imgsecd: index follower: /follower:     /p' "$work/log"
done
