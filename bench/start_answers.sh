#!/usr/bin/env bash
# bench/start_answers.sh - the statistic answers of bench/mix.sh's 20
# bodies from each build's imgsecd started on the same store, to show
# that two builds index it alike (e.g. a parallel build against a serial
# one). Computed, not cached (--result-cache-mb 0). Adds the user
# bench/admin to DB (project "bench", as bench/run.sh does) if missing.
#
#   bench/start_answers.sh DB OUTDIR BIN_DIR...
#
# Writes OUTDIR/mix (the bodies) and OUTDIR/answers-K.txt ("name total_num"
# per body, K = the BIN_DIR's position), and prints whether they agree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
db=$1 out=$2; shift 2
project=bench region=bench-1 password=bench-password-0
mkdir -p "$out"
[ -f "$out/mix/mix.tsv" ] || "$here/mix.sh" "$db" "$project" "$out/mix"
bench_pid=""
trap '[ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true' EXIT
k=0
for b in "$@"; do
  k=$((k + 1))
  if [ "$k" = 1 ]; then
    IMGSEC_PASSWORD=$password "$b/imgsec" user add --db "$db" --domain bench --name admin \
      --project "$project" --role admin --eps all >/dev/null 2>&1 || true
  fi
  bench_imgsecd "$out/log-$k" "$out/port" "$b/imgsecd" --db "$db" --listen 127.0.0.1:0 \
    --region "$region" --result-cache-mb 0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$bench_url/readyz")" = 200 ]; do sleep 0.1; done
  token=$(bench_token "$bench_url" bench admin "$password" "$project")
  [ -n "$token" ] || { echo "no token from $b" >&2; exit 1; }
  : >"$out/answers-$k.txt"
  while IFS=$'\t' read -r name report ep body _; do
    got=$(curl -sS -H "X-Auth-Token: $token" -H "region: $region" -H 'Content-Type: application/json' \
      --data-binary "@$body" \
      "$bench_url/v5/$project/image/security-report/statistic?security_report_type=$report&enterprise_project_id=$ep" |
      sed -n 's/.*"total_num": *\([0-9]*\).*/\1/p')
    echo "$name ${got:-none}" >>"$out/answers-$k.txt"
  done <"$out/mix/mix.tsv"
  kill "$bench_pid"
  wait "$bench_pid" 2>/dev/null || true
  bench_pid=""
done
for ((j = 2; j <= k; j++)); do
  if cmp -s "$out/answers-1.txt" "$out/answers-$j.txt"; then
    echo "build $j: the same $(wc -l <"$out/answers-1.txt") answers as build 1"
  else
    echo "build $j: DIFFERENT answers from build 1:"; diff "$out/answers-1.txt" "$out/answers-$j.txt" || true
  fi
done
