#!/usr/bin/env bash
# import_cpu.sh - CPU per record of `imgsec import` into PostgreSQL, on
# both sides: the client (user+sys of the imgsec process) and the server
# (the postmaster's reaped children: the import's backend, which exits
# with the import). CPU time is what to compare on a loaded machine;
# import_rate.sh's wall-clock rate is only meaningful when idle.
#
# Usage: PG_ADMIN=postgresql:///postgres?host=...&user=... \
#          bench/import_cpu.sh [IMAGES] [RECORDS_PER_IMAGE] [RUNS] BUILD_DIR[:TEMPLATE_DB]...
#   (defaults 1000 200 3). Each run imports one generated NDJSON file into
#   a new database (CREATE DATABASE ... TEMPLATE TEMPLATE_DB, default
#   template1: a template lets a schema variant be measured before it is
#   a migration) and drops it after. Runs alternate between the builds.
# The server must be local and its data directory readable (the
# postmaster's pid and /proc/<pid>/stat); its other work (autovacuum,
# checkpoints) counts too, so turn autovacuum off on a test cluster.
set -euo pipefail
images=${1:-1000} rpi=${2:-200} runs=${3:-3}
shift 3 || { echo "usage: $0 IMAGES RECORDS_PER_IMAGE RUNS BUILD_DIR[:TEMPLATE]..." >&2; exit 2; }
[ $# -ge 1 ] && [ -n "${PG_ADMIN:-}" ] || { echo "usage: PG_ADMIN=<uri> $0 IMAGES RECORDS_PER_IMAGE RUNS BUILD_DIR[:TEMPLATE]..." >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/import-cpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
b0=${1%%:*}
"$b0/imgsec" gen --images "$images" --seed 1 --records-per-image "$rpi" --eps 0 >"$work/set.ndjson"
records=$(python3 -c "
import json
print(sum(sum(len(v) for v in json.loads(l).values() if isinstance(v, list)) for l in open('$work/set.ndjson')))")
psql_admin() { psql -q -X -At -d "$PG_ADMIN" -c "$1"; }
pm=$(head -1 "$(psql_admin "SHOW data_directory")/postmaster.pid")
tick=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tick" '{print ($14 + $15 + $16 + $17) / t}' "/proc/$pm/stat"; }
echo "set: $images images, $records records; load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= runs; r++)); do
  for arg in "$@"; do
    b=${arg%%:*} tpl=template1
    [ "$arg" != "$b" ] && tpl=${arg#*:}
    name="imgsec_cpu_$$_$r"
    psql_admin "CREATE DATABASE $name TEMPLATE $tpl" >/dev/null
    db=${PG_ADMIN/\/postgres\?/\/$name?}
    s0=$(server_cpu) t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$work/time" "$b/imgsec" import --db "$db" --project B "$work/set.ndjson" \
      >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    sleep 0.3 # the backend's exit reaped
    s1=$(server_cpu)
    psql_admin "DROP DATABASE $name" >/dev/null
    read -r u s <"$work/time"
    python3 -c "
n = $records; w = $t1 - $t0; c = $u + $s; sv = $s1 - $s0
print('%-32s run %d: %6.2f s %7d records/s | client %5.2f s %5.1f us/record | server %5.2f s %5.1f us/record | load %s'
      % ('$arg'[-32:], $r, w, n / w, c, c / n * 1e6, sv, sv / n * 1e6, open('/proc/loadavg').read().split()[0]))"
  done
done
