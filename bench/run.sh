#!/usr/bin/env bash
# bench/run.sh - the fleet-scale benchmark of imgsecd, with its reference
# points, in one run. docs/performance.md shows the results and how to read
# them.
#
#   bench/run.sh [--images N] [--records-per-image R] [--seed S]
#                [--bin DIR] [--work DIR] [--data DIR]
#                [--latency-seconds S] [--wrk-seconds S] [--quick]
#                [--peers] [--peer-rounds N]
#
# What it does, in order, on one data set of `imgsec gen` (the bench's
# generator, bench/gen-data.sh):
#   1. ingest: `imgsec import` of every file (one transaction each) into a
#      fresh database, one process per EP side by side: records/s,
#      offline, parsing and validation included;
#   2. start: imgsecd on that file, time until it listens (index built);
#   3. the mix (bench/mix.sh, 20 bodies): each body's total_num from
#      imgsecd must equal the plain SQL's count, else the run fails; then
#      each again, answered from the result cache, must still equal it.
#      The plain SQL runs on WORK/oracle.db (bench/oracle.sh: the images
#      and every record as plain tables, dumped by `imgsec records`), not
#      on the store's own tables;
#   4. throughput as served (result cache on): the whole mix, wrk at 64
#      connections, and the cheapest body alone; the mix with one
#      connection;
#   5. reference points: nginx answering a static {"total_num": 1} to the
#      same wrk, and each body's plain SQL with sqlite3 on the oracle file
#      (the records as one row each, the store's layout up to schema 19);
#   6. the engine alone, restarted with --result-cache-mb 0 (warm start):
#      latency of each body alone, one keep-alive connection
#      (bench/latency.c, which times with CLOCK_MONOTONIC: wrk's
#      gettimeofday steps by milliseconds on this VM): p50/p99; and the
#      mix's throughput with every answer computed;
#   7. ingest while reading (result cache still off): the mix with one
#      connection while `imgsec import` adds another tenth of the fleet:
#      p99 during the ingest, and a check that the first answer after it
#      counts everything;
#   8. peak RSS of imgsecd (VmHWM), of both runs.
# --peers adds, right after 3 (the file as imported), bench/peers.sh: the
# same data and bodies on PostgreSQL 15 and DuckDB, tuned, interleaved with
# imgsec (result cache off), counts checked equal; its table goes to the
# end of summary.md (WORK/peers/peers.md).
# Results: WORK/results.txt (key=value) and WORK/summary.md (tables).
# --quick is the CI smoke run: a tiny data set, one second per phase.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)

images=10000 rpi=200 seed=1 quick=0
bin="$top/build-perf" work="" data=""
lat_s=3 wrk_s=15 eps="0,ep-dev,ep-prod" peers=0 peer_rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --images) images=$2; shift ;;
    --records-per-image) rpi=$2; shift ;;
    --seed) seed=$2; shift ;;
    --bin) bin=$2; shift ;;
    --work) work=$2; shift ;;
    --data) data=$2; shift ;;
    --latency-seconds) lat_s=$2; shift ;;
    --wrk-seconds) wrk_s=$2; shift ;;
    --quick) quick=1 ;;
    --peers) peers=1 ;;
    --peer-rounds) peer_rounds=$2; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  images=300 rpi=40 lat_s=1 wrk_s=1
fi
: "${work:=$top/bench/data/run-$images-$rpi-$seed}"
: "${data:=$top/bench/data}"
# Absolute paths from here on: nginx resolves relative ones against its -p prefix.
mkdir -p "$work" "$data"
work=$(cd "$work" && pwd) data=$(cd "$data" && pwd)
imgsec=$bin/imgsec imgsecd=$bin/imgsecd
for b in "$imgsec" "$imgsecd"; do
  [ -x "$b" ] || { echo "bench: $b is missing: build first (make bench builds it)" >&2; exit 2; }
done
for t in wrk nginx sqlite3 curl; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
    { echo "bench: $t is missing: scripts/deps.sh installs it" >&2; exit 2; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

project=bench region=bench-1 password=bench-password-0
rm -rf "$work"
mkdir -p "$work" "$data"
# the one-connection client (bench/latency.c: wrk's clock steps on this VM)
cc -O2 -o "$work/latency" "$here/latency.c" -lcurl -lm
results=$work/results.txt
: >"$results"
log() { printf 'bench: %s\n' "$*" >&2; }
# the machine is shared with whatever else runs: note its load at each phase
load() { put "load.$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
put() { printf '%s=%s\n' "$1" "$2" >>"$results"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

put images "$images"; put records_per_image "$rpi"; put seed "$seed"
put machine "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"

# ---- 1. data and ingest ----
set_dir=$data/set-$images-$rpi-$seed
log "data set $set_dir (imgsec gen --images $images --records-per-image $rpi --seed $seed)"
"$here/gen-data.sh" "$imgsec" "$set_dir" "$images" "$rpi" "$seed" "$eps"
db=$work/imgsec.db
# warm the page cache with the files, so the import measures imgsec, not the disk
cat "$set_dir"/*/part-*.ndjson >/dev/null
load ingest
log "ingest: imgsec import into $db"
# One importer per EP, side by side: SQLite takes one writer at a time,
# so while one process stores a file the others parse theirs. Each file is
# its own `imgsec import` (one transaction): on a loaded machine a writer
# can wait longer than the store's 10 s busy timeout for the others, and
# then that file, which changed nothing, is imported again (at most 20
# times); any other error fails the run.
import_ep() { # ep
  local ep=$1 f tries out=$work/import-$1.try
  : >"$work/import-$ep.log"
  for f in "$set_dir/$ep"/part-*.ndjson; do
    tries=0
    until "$imgsec" import --db "$db" --project "$project" --ep "$ep" "$f" 2>"$out" >/dev/null; do
      tries=$((tries + 1))
      if ! grep -q 'database is locked' "$out" || [ "$tries" -ge 20 ]; then
        cat "$out" >>"$work/import-$ep.log"
        return 1
      fi
      printf 'bench: retry %s (%d): database is locked\n' "$f" "$tries" >>"$work/import-retries.log"
    done
    cat "$out" >>"$work/import-$ep.log"
  done
  rm -f "$out"
}
t0=$(now)
IFS=, read -ra ep_list <<<"$eps"
import_pids=()
: >"$work/import-retries.log"
for ep in "${ep_list[@]}"; do
  import_ep "$ep" &
  import_pids+=($!)
done
for p in "${import_pids[@]}"; do
  wait "$p" || { cat "$work"/import-*.log >&2; echo "bench: import failed" >&2; exit 1; }
done
ingest_s=$(since "$t0")
cat "$work"/import-*.log >"$work/import.log"
put ingest_lock_retries "$(wc -l <"$work/import-retries.log")"
records=$(sed -n 's/.*imported [0-9]* images, \([0-9]*\) records.*/\1/p' "$work/import.log" | awk '{ s += $1 } END { print s + 0 }')
n_images=$(sqlite3 "$db" "SELECT count(*) FROM images")
put records "$records"; put images_stored "$n_images"
put ingest_seconds "$ingest_s"
put ingest_records_per_s "$(awk -v r="$records" -v s="$ingest_s" 'BEGIN { printf "%.0f", r / s }')"
put db_bytes "$(stat -c %s "$db")"
log "ingest: $records records of $n_images images in ${ingest_s}s"
IMGSEC_PASSWORD=$password "$imgsec" user add --db "$db" --domain bench --name admin \
  --project "$project" --role admin --eps all >/dev/null 2>&1

# ---- 2. start ----
if [ "$quick" = 0 ]; then # a cold start, where allowed (root)
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
fi
start_server() { # $1: log file, then imgsecd flags; sets srv_pid, port, start_s, url
  local logf=$1; shift
  rm -f "$work/port"
  local t0; t0=$(now)
  "$imgsecd" --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" --region "$region" "$@" 2>"$logf" &
  srv_pid=$!
  pids+=("$srv_pid")
  while [ ! -s "$work/port" ]; do
    kill -0 "$srv_pid" 2>/dev/null || { cat "$logf" >&2; echo "bench: imgsecd died" >&2; exit 1; }
    sleep 0.02
  done
  start_s=$(since "$t0")
  port=$(cat "$work/port")
  url="http://127.0.0.1:$port"
}
load start
start_server "$work/imgsecd.log"
put start_seconds "$start_s"
put start_log "$(grep -m1 '^imgsecd: serving' "$work/imgsecd.log")"
put rss_after_start_mb "$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$srv_pid/status")"
log "start: listening on $port after ${start_s}s"
token=$(bench_token "$url" bench admin "$password" "$project")
[ -n "$token" ] || { echo "bench: no token" >&2; exit 1; }

# ---- 3. the mix, checked against plain SQL ----
t0=$(now)
"$here/oracle.sh" "$imgsec" "$db" "$work/oracle.db"
oracle_s=$(since "$t0")
put oracle_seconds "$oracle_s"
log "oracle: the records dumped to $work/oracle.db in ${oracle_s}s"
"$here/mix.sh" "$work/oracle.db" "$project" "$work/mix"
mix=$work/mix/mix.tsv
statistic() { # name report ep body_file -> total_num
  curl -sS -H "X-Auth-Token: $token" -H "region: $region" -H 'Content-Type: application/json' \
    --data-binary "@$4" "$url/v5/$project/image/security-report/statistic?security_report_type=$2&enterprise_project_id=$3" |
    sed -n 's/.*"total_num": *\([0-9]*\).*/\1/p'
}
sql_time() { # sql file -> "seconds count"
  local t0 c; t0=$(now)
  c=$(timeout 600 sqlite3 -batch -noheader "$work/oracle.db" <"$1" || echo timeout)
  echo "$(since "$t0") $c"
}
passed=0 failed=0
while IFS=$'\t' read -r name report ep body sqlf; do
  got=$(statistic "$name" "$report" "$ep" "$body")
  read -r sql_s want < <(sql_time "$sqlf")
  put "sql_seconds.$name" "$sql_s"
  put "sql_total.$name" "$want"
  put "total.$name" "$got"
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    log "MISMATCH $name: imgsecd says ${got:-nothing}, SQL says $want"
  fi
done <"$mix"
log "mix: $passed bodies agree with SQL, $failed do not"
computed_passed=$passed
# The same bodies again, nothing committed since: answered from the result
# cache (api/test_result_cache.c asserts such answers are hits), and still
# equal to SQL's count.
while IFS=$'\t' read -r name report ep body _; do
  want=$(sed -n "s/^sql_total\.$name=//p" "$results")
  got=$(statistic "$name" "$report" "$ep" "$body")
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); log "MISMATCH $name from the result cache: $got, SQL says $want"
  fi
done <"$mix"
log "mix again (result cache): $((passed - computed_passed)) bodies agree"
put checks_passed "$passed"; put checks_failed "$failed"

# ---- 3b. the peers (--peers): bench/peers.sh on the file as imported ----
if [ "$peers" = 1 ]; then
  load peers
  peer_s=1; [ "$quick" = 1 ] && peer_s=0.2 peer_rounds=1
  if "$here/peers.sh" "$work" --bin "$bin" --project "$project" --oracle "$work/oracle.db" \
      --rounds "$peer_rounds" --seconds "$peer_s" >"$work/peers.log" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); tail -5 "$work/peers.log" >&2; log "FAILED the peers (bench/peers.sh): see $work/peers.log"
  fi
fi

wrk_run() { # seconds connections threads url [name] -> RESULT line
  local d=$1 c=$2 t=$3 u=$4; shift 4
  wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s -s "$here/statistic.lua" "$u" -- "$mix" "$token" "$project" "$region" "$@" |
    sed -n 's/^RESULT //p'
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# Every answer of a timed phase must be a 2xx: a run of 401s or 429s is a
# broken run, not a number. Counted as a check.
check_2xx() { # name RESULT-line
  local n; n=$(field non2xx "$2")
  if [ "${n:-none}" = 0 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); log "FAILED $1: ${n:-no count of} answers were not 2xx"
  fi
}
latency_run() { # seconds [name] -> RESULT line
  "$work/latency" "$url" "$mix" "$token" "$project" "$region" "$@" | sed -n 's/^RESULT //p'
}

# ---- 4. throughput at 64 connections, as served (result cache on) ----
load throughput
r=$(wrk_run "$wrk_s" 64 2 "$url"); put throughput.imgsecd "$r"; check_2xx throughput "$r"
log "throughput imgsecd: $(field rps "$r") req/s"
# the HTTP path alone: the cheapest body of the mix
r=$(wrk_run "$wrk_s" 64 2 "$url" 01-all-vulnerability); put throughput.imgsecd_light "$r"
check_2xx "throughput of body 01" "$r"
log "throughput imgsecd, body 01 only: $(field rps "$r") req/s"
r=$(latency_run "$lat_s"); put mix_cached "$r"; check_2xx "mix over one connection" "$r"

# ---- 5. nginx on the same wrk: the HTTP ceiling of the machine ----
nginx_start() { # $1: port; 0 when nginx is serving on it
  cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_buffer_size 1m;
  client_max_body_size 2m;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  fastcgi_temp_path $work/nginx-fastcgi;
  uwsgi_temp_path $work/nginx-uwsgi;
  scgi_temp_path $work/nginx-scgi;
  server {
    listen 127.0.0.1:$1;
    location / { default_type application/json; return 200 '{"total_num": 1}'; }
  }
}
NGINX
  "$nginx_bin" -c "$work/nginx.conf" -p "$work" 2>>"$work/nginx-error.log"
}
nginx_port=""
for p in $(seq $((port + 1)) $((port + 50))); do # the first free port above imgsecd's
  if nginx_start "$p"; then nginx_port=$p; break; fi
done
[ -n "$nginx_port" ] || { cat "$work/nginx-error.log" >&2; echo "bench: nginx did not start" >&2; exit 1; }
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.1; done
r=$(wrk_run "$wrk_s" 64 2 "http://127.0.0.1:$nginx_port"); put throughput.nginx "$r"
log "throughput nginx: $(field rps "$r") req/s"
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

# ---- 6. the engine alone: a restart without the result cache ----
# Every answer from here on is computed from the index, as the first
# request after each commit is: latency per body, throughput, and the
# ingest-while-reading phase.
put rss_peak_cached_mb "$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$srv_pid/status")"
kill -TERM "$srv_pid"; wait "$srv_pid" || true
put result_cache "$(sed -n 's/^imgsecd: statistic answers: //p' "$work/imgsecd.log")"
start_server "$work/imgsecd-engine.log" --result-cache-mb 0
put restart_seconds "$start_s"
log "restart (warm, result cache off): listening after ${start_s}s"
load latency
while IFS=$'\t' read -r name _; do
  r=$(latency_run "$lat_s" "$name"); put "latency.$name" "$r"; check_2xx "latency of $name" "$r"
done <"$mix"
# the image lists: a 200-item page at the front and deep in the list
# (the cost must not grow with the offset)
lists=$work/lists.tsv
deep=$(( images / 2 ))
{
  printf 'list.registry\tGET\timage/registries/images?enterprise_project_id=all_granted_eps&limit=200\t-\n'
  printf 'list.registry_deep\tGET\timage/registries/images?enterprise_project_id=all_granted_eps&limit=200&offset=%d\t-\n' "$deep"
  printf 'list.registry_sorted\tGET\timage/registries/images?enterprise_project_id=all_granted_eps&limit=200&offset=%d&sort_key=latest_scan_time&sort_dir=desc\t-\n' "$deep"
  printf 'list.cicd\tGET\timage/cicd/images?enterprise_project_id=all_granted_eps&limit=200\t-\n'
  printf 'list.local\tGET\timage/local-repositories?enterprise_project_id=all_granted_eps&limit=200&has_vul=true\t-\n'
} >"$lists"
while IFS=$'\t' read -r name _; do
  r=$("$work/latency" "$url" "$lists" "$token" "$project" "$region" "$lat_s" "$name" | sed -n 's/^RESULT //p')
  put "latency.$name" "$r"; check_2xx "latency of $name" "$r"
  log "latency $name: p99 $(field p99_ms "$r") ms"
done <"$lists"
load throughput_engine
r=$(wrk_run "$wrk_s" 64 2 "$url"); put throughput.imgsecd_engine "$r"
check_2xx "throughput, result cache off" "$r"
log "throughput imgsecd, result cache off: $(field rps "$r") req/s"

# ---- 7. ingest while reading ----
extra=$(( images / 10 )); [ "$extra" -lt 100 ] && extra=100
extra_dir=$data/set-$extra-$rpi-$((seed + 1))
"$here/gen-data.sh" "$imgsec" "$extra_dir" "$extra" "$rpi" "$((seed + 1))" "$eps"
cat "$extra_dir"/*/part-*.ndjson >/dev/null
load live_ingest
r=$(latency_run "$lat_s"); put mix_quiet "$r"; check_2xx "mix before the live ingest" "$r"
"$work/latency" "$url" "$mix" "$token" "$project" "$region" 600 >"$work/during-ingest.txt" &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1
t0=$(now)
for ep in "${ep_list[@]}"; do
  "$imgsec" import --db "$db" --project "$project" --ep "$ep" "$extra_dir/$ep"/part-*.ndjson 2>>"$work/import-live.log" >/dev/null
done
live_s=$(since "$t0")
# the first answer after the import must count all of it
got=$(statistic all "vulnerability" all_granted_eps "$work/mix/01-all-vulnerability.json")
"$here/oracle.sh" "$imgsec" "$db" "$work/oracle-live.db" --type vulnerability --project "$project"
want=$(sqlite3 "$work/oracle-live.db" "SELECT count(*) FROM rec_vulnerability")
rm -f "$work/oracle-live.db"
sleep 1
kill -INT "$wrk_pid"; wait "$wrk_pid" || true
r=$(sed -n 's/^RESULT //p' "$work/during-ingest.txt"); put mix_during_ingest "$r"
check_2xx "mix during the live ingest" "$r"
live_records=$(sed -n 's/.*imported [0-9]* images, \([0-9]*\) records.*/\1/p' "$work/import-live.log" | awk '{ s += $1 } END { print s + 0 }')
put live_ingest_records "$live_records"; put live_ingest_seconds "$live_s"
if [ "$got" = "$want" ]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); log "MISMATCH after the live ingest: imgsecd says ${got:-nothing}, SQL says $want"
fi
log "during ingest of $live_records records (${live_s}s): $r"

# ---- 8. memory ----
put rss_peak_mb "$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$srv_pid/status")"
kill -TERM "$srv_pid"; wait "$srv_pid" || true
put follower "$(sed -n 's/^imgsecd: index follower: //p' "$work/imgsecd-engine.log")"

# ---- 9. the finding lists: every list route, a 200-item page ----
# bench/lists.sh on the same file (its own imgsecd, result cache off, one
# keep-alive connection): the first page and, for the tenant-wide and
# grouped lists, the last page (offset total-200, at most 2,000,000).
load lists
lq=(); [ "$quick" = 1 ] && lq=(--quick)
if "$here/lists.sh" --db "$db" --project "$project" --bin "$bin" --work "$work/lists" \
    --seconds "$lat_s" "${lq[@]}" >"$work/lists.log" 2>&1; then passed=$((passed + 1)); else
  failed=$((failed + 1)); log "FAILED the finding lists (bench/lists.sh): see $work/lists.log"
fi
while read -r line; do
  name=$(field name "$line"); name=${name//=/:}; [ -n "$name" ] && put "flist.$name" "$line"
done <"$work/lists/lists.txt"
log "finding lists: $(wc -l <"$work/lists/lists.txt") URLs timed"

"$here/report.sh" "$results" >"$work/summary.md"
if [ "$peers" = 1 ] && [ -f "$work/peers/peers.md" ]; then
  printf '\n## The peers (bench/peers.sh)\n\n' >>"$work/summary.md"
  cat "$work/peers/peers.md" >>"$work/summary.md"
fi
cat "$work/summary.md"
echo "bench: $passed passed, $failed failed"
[ "$failed" = 0 ]
