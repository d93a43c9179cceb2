#!/usr/bin/env bash
# bench/export_bench.sh - export N records (default 1,000,000) of the
# vulnerability report through a running imgsecd, to CSV and to XLSX:
# records/s of each task (creation to success, as a console sees it),
# download time, file size, and the server's peak resident memory
# (VmHWM, reset before each export through /proc/PID/clear_refs).
#
#   bench/export_bench.sh [BUILD_DIR] [WORK_DIR] [RECORDS]
#
# The data set (12,000 generated images, 250 records per image, about
# 1.1 million vulnerability records, seed 7) is made once in WORK_DIR
# with `imgsec demo` and reused.
set -euo pipefail
build=${1:-build}
work=${2:-/tmp/imgsec-export-bench}
records=${3:-1000000}
bin=$build/imgsec
srv=$build/imgsecd
db=$work/bench.db
mkdir -p "$work"

if [ ! -f "$work/demo.done" ]; then
  rm -f "$db" "$db"-*
  echo "generating the data set (once)..." >&2
  "$bin" demo --db "$db" --project bench --images 12000 --records-per-image 250 --eps 0 --seed 7 >&2
  echo done >"$work/demo.done"
fi
IMGSEC_PASSWORD=bench-password "$bin" user add --db "$db" --domain acme --name bench \
  --project bench --role admin --eps all >/dev/null 2>&1 || true

rm -f "$work/port"
"$srv" --db "$db" --listen 127.0.0.1:0 --region bench-1 --port-file "$work/port" \
  --export-dir "$work/exports" 2>"$work/imgsecd.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
base=http://127.0.0.1:$port
hwm() { awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status; }
rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status; }
echo "server up: pid $pid, peak RSS after start (index built) $(hwm) MB" >&2

tok=$(curl -s -i -X POST "$base/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"bench","password":"bench-password","domain":{"name":"acme"}}}},"scope":{"project":{"id":"bench"}}}}' |
  awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
hdr=(-H "X-Auth-Token: $tok" -H "region: bench-1" -H 'Content-Type: application/json')
total=$(curl -s -X POST "$base/v5/bench/image/security-report/statistic?security_report_type=vulnerability" \
  "${hdr[@]}" -d '{"operate_all":true}' | sed 's/.*"total_num":\([0-9]*\).*/\1/')
echo "statistic: total_num $total vulnerability records; exporting $records" >&2

printf '| format | records | task (s) | records/s | file (MB) | download (s) | server peak RSS (MB) |\n'
printf '|---|---|---|---|---|---|---|\n'
for fmt in csv xlsx; do
  echo 5 >/proc/$pid/clear_refs   # resets VmHWM to the current RSS
  t0=$(date +%s.%N)
  task=$(curl -s -X POST "$base/v5/bench/image/security-report/export-tasks" "${hdr[@]}" \
    -d "{\"operate_all\":true,\"security_report_type\":\"vulnerability\",\"export_size\":$records,\"file_format\":\"$fmt\"}" |
    sed 's/.*"task_id":"\([0-9a-f]*\)".*/\1/')
  while :; do
    st=$(curl -s "$base/v5/bench/export-task/$task" "${hdr[@]}")
    case $st in *'"task_status":"running"'*) sleep 0.2 ;; *) break ;; esac
  done
  t1=$(date +%s.%N)
  case $st in *'"task_status":"success"'*) ;; *) echo "task failed: $st" >&2; exit 1 ;; esac
  n=$(echo "$st" | sed 's/.*"record_num":\([0-9]*\).*/\1/')
  fid=$(echo "$st" | sed 's/.*"file_id":"\([0-9a-f]*\)".*/\1/')
  t2=$(date +%s.%N)
  size=$(curl -s -o /dev/null -w '%{size_download}' "$base/v5/bench/download/$fid" "${hdr[@]}")
  t3=$(date +%s.%N)
  peak=$(hwm)
  awk -v f="$fmt" -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v s="$size" -v p="$peak" \
    'BEGIN { printf "| %s | %d | %.1f | %.0f | %.1f | %.2f | %d |\n", f, n, b-a, n/(b-a), s/1048576, d-c, p }'
done
echo "server RSS at the end: $(rss) MB" >&2
