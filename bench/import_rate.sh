#!/usr/bin/env bash
# import_rate.sh - records per second of `imgsec import` (NDJSON ingest
# documents, one transaction per file) on a generated set, into a fresh
# SQLite file or a fresh PostgreSQL database, for one or more builds.
#
# Usage: bench/import_rate.sh [IMAGES] [RECORDS_PER_IMAGE] [RUNS] BUILD_DIR...
#   (defaults 10000 20 3; a BUILD_DIR holds the imgsec binary)
# With PG_ADMIN=postgresql:///postgres?host=...&user=... each run imports
# into a new database made there (and dropped after) instead of a file.
# Runs alternate between the builds so that a change of machine load hits
# them alike. Prints one line per run and the median per build.
# Numbers go to docs/performance.md with the machine's load.
# IMPORT_RATE_BEFORE=N (environment): each run first imports N other
# images (imgsec gen --seed 2, untimed) into its fresh store, so the timed
# import goes into a store that already holds data (the daily case; into
# an empty store `imgsec import --bulk auto` defers the search indexes on
# PostgreSQL, into a populated one it does not).
set -euo pipefail
images=${1:-10000} rpi=${2:-20} runs=${3:-3}
shift 3 || { echo "usage: $0 IMAGES RECORDS_PER_IMAGE RUNS BUILD_DIR..." >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 IMAGES RECORDS_PER_IMAGE RUNS BUILD_DIR..." >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/import-rate.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$1/imgsec" gen --images "$images" --seed 1 --records-per-image "$rpi" --eps 0 |
  split -l 1000 -d -a 5 --additional-suffix=.ndjson - "$work/part-"
before=${IMPORT_RATE_BEFORE:-0}
if [ "$before" -gt 0 ]; then
  "$1/imgsec" gen --images "$before" --seed 2 --records-per-image "$rpi" --eps 0 >"$work/before.ndjson"
fi
records=$(python3 -c "
import json,glob,sys
n=0
for f in glob.glob('$work/part-*.ndjson'):
    for line in open(f):
        d=json.loads(line)
        n+=sum(len(v) for k,v in d.items() if isinstance(v,list))
print(n)")
echo "set: $images images, $records records, $(ls "$work"/part-*.ndjson | wc -l) files; load $(cut -d' ' -f1-3 /proc/loadavg)$([ "$before" -gt 0 ] && echo "; each into a store of $before other images")"

psql_admin() { # sql: through the imgsec binary's driver-free path: psql
  psql -q -X -d "$PG_ADMIN" -c "$1" >/dev/null
}

declare -A results
for ((r = 1; r <= runs; r++)); do
  for b in "$@"; do
    if [ -n "${PG_ADMIN:-}" ]; then
      name="imgsec_rate_$$_$r"
      psql_admin "CREATE DATABASE $name"
      db=${PG_ADMIN/\/postgres\?/\/$name?}
    else
      db="$work/r.db"; rm -f "$db" "$db-wal" "$db-shm"
    fi
    if [ "$before" -gt 0 ]; then
      "$b/imgsec" import --db "$db" --project B "$work/before.ndjson" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    fi
    t0=$(date +%s.%N)
    "$b/imgsec" import --db "$db" --project B "$work"/part-*.ndjson >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    [ -n "${PG_ADMIN:-}" ] && psql_admin "DROP DATABASE $name"
    rate=$(python3 -c "print(round($records / ($t1 - $t0)))")
    printf '%-40s run %d: %6.2f s  %8d records/s  (load %s)\n' "$b" "$r" "$(python3 -c "print($t1-$t0)")" "$rate" "$(cut -d' ' -f1 /proc/loadavg)"
    results[$b]+="$rate "
  done
done
for b in "$@"; do
  echo "$b median: $(echo ${results[$b]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') records/s"
done
