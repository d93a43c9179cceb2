#!/usr/bin/env bash
# The vulnerability database benchmark (docs/performance.md "Vulnerability
# database"): generate a synthetic OSV set (bench/vulndb_gen.py), time its
# import, a repeated import (every record unchanged), matching 1,000
# packages (cold: a fresh process; warm: --repeat), and the rematch of N
# stored images with K apps each on W matching threads: first (every
# image written) and again (every image unchanged).
#
# usage: bench/vulndb_bench.sh [--bin BUILD] [--work DIR] [--scale S] [--images N] [--apps K]
#                              [--workers W]
set -euo pipefail
bin=build; work=/tmp/imgsec-vulndb-bench; scale=1; images=2000; apps=100; workers=2
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2;; --work) work=$2; shift 2;; --scale) scale=$2; shift 2;;
    --images) images=$2; shift 2;; --apps) apps=$2; shift 2;; --workers) workers=$2; shift 2;;
    *) echo "usage: $0 [--bin BUILD] [--work DIR] [--scale S] [--images N] [--apps K] [--workers W]" >&2; exit 2;;
  esac
done
cli=$bin/imgsec
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
data=$work/data-$scale-$images-$apps
if [ ! -f "$data/apps-1000.json" ]; then
  echo "generating (scale $scale, $images images x $apps apps) into $data"
  python3 "$src/vulndb_gen.py" "$data" --scale "$scale" --images "$images" --apps-per-image "$apps"
fi
rm -f "$work"/vulndb.sqlite* "$work"/imgsec.db*
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "  wall $(echo "$e - $s" | bc) s"; }
echo "== import (one transaction, $(ls "$data"/*/all.zip | wc -l) archives)"
/usr/bin/time -f "  %e s wall, %U s user, %S s sys, %M KB max RSS" \
  "$cli" vulndb import --vulndb "$work/vulndb.sqlite" "$data"/*/all.zip
ls -la "$work/vulndb.sqlite"
echo "== import again (all unchanged)"
/usr/bin/time -f "  %e s wall, %U s user, %S s sys" \
  "$cli" vulndb import --vulndb "$work/vulndb.sqlite" "$data"/*/all.zip
echo "== match 1,000 packages (fresh process, then warm runs)"
"$cli" vulndb match --repeat 20 --vulndb "$work/vulndb.sqlite" "$data/apps-1000.json" 2>&1 >/dev/null
"$cli" import --db "$work/imgsec.db" --project bench "$data/images.ndjson" >/dev/null
for run in "first (every image written)" "again (every image unchanged)"; do
  echo "== rematch $images images x $apps apps, $workers workers: $run"
  /usr/bin/time -f "  %e s wall, %U s user, %S s sys" \
    "$cli" vulndb rematch --workers "$workers" --vulndb "$work/vulndb.sqlite" --db "$work/imgsec.db" 2>&1 | tail -2
done
