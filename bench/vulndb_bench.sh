#!/usr/bin/env bash
# The vulnerability database benchmark (docs/performance.md "Vulnerability
# database"): generate a synthetic OSV set (bench/vulndb_gen.py), time its
# import, a repeated import (every record unchanged), matching 1,000
# packages (cold: a fresh process; warm: --repeat), and the rematch of N
# stored images with K apps each on W matching threads: first (every
# image written), again (every image unchanged), and after a database
# update that modifies a fraction F of the records (bench/vulndb_update_gen.py;
# the daily case: most images have a few records rewritten), then again.
# Each timed step prints wall, user and sys time, the bytes the process
# wrote (File system outputs) and the load average when it started.
#
# Any N: the images are imported in parts of 10,000 (the
# 100,000-image set is 1.9 GB of documents; its store about 13 GB after
# the first rematch (1.27 GB at 10,000), its vulnerability database 740 MB).
#
# --bulk MODE is the first rematch's --bulk (default auto: on a store of
# images without vulnerabilities, one transaction with the indexes by
# vulnerability rebuilt at its end; no: 100 images per transaction).
# --first-only stops after the first rematch (for 100,000 images, whose
# later runs are measured on 10,000).
#
# usage: bench/vulndb_bench.sh [--bin BUILD] [--work DIR] [--scale S] [--images N] [--apps K]
#                              [--workers W] [--update F] [--bulk auto|yes|no] [--first-only]
set -euo pipefail
bin=build; work=/tmp/imgsec-vulndb-bench; scale=1; images=2000; apps=100; workers=2; update=0.01
bulk=auto; first_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2;; --work) work=$2; shift 2;; --scale) scale=$2; shift 2;;
    --images) images=$2; shift 2;; --apps) apps=$2; shift 2;; --workers) workers=$2; shift 2;;
    --update) update=$2; shift 2;; --bulk) bulk=$2; shift 2;; --first-only) first_only=1; shift;;
    *) echo "usage: $0 [--bin BUILD] [--work DIR] [--scale S] [--images N] [--apps K] [--workers W] [--update F] [--bulk auto|yes|no] [--first-only]" >&2; exit 2;;
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
rm -f "$work"/vulndb.sqlite* "$work"/vulndb-updated.sqlite* "$work"/imgsec.db*
load() { echo "  (load average $(cut -d' ' -f1-3 /proc/loadavg))"; }
echo "== import (one transaction, $(ls "$data"/*/all.zip | wc -l) archives)"
/usr/bin/time -f "  %e s wall, %U s user, %S s sys, %M KB max RSS" \
  "$cli" vulndb import --vulndb "$work/vulndb.sqlite" "$data"/*/all.zip
ls -la "$work/vulndb.sqlite"
echo "== import again (all unchanged)"
/usr/bin/time -f "  %e s wall, %U s user, %S s sys" \
  "$cli" vulndb import --vulndb "$work/vulndb.sqlite" "$data"/*/all.zip
echo "== match 1,000 packages (fresh process, then warm runs)"
"$cli" vulndb match --repeat 20 --vulndb "$work/vulndb.sqlite" "$data/apps-1000.json" 2>&1 >/dev/null
echo "== import $images images"
rm -rf "$work/parts" && mkdir -p "$work/parts"
split -l 10000 "$data/images.ndjson" "$work/parts/part-"
for part in "$work"/parts/part-*; do
  "$cli" import --db "$work/imgsec.db" --project bench "$part" >/dev/null
done
rm -rf "$work/parts"
upd=$work/update-$scale-$update
if [ "$first_only" = 0 ]; then
  if [ ! -f "$upd/Debian/all.zip" ]; then
    python3 "$src/vulndb_update_gen.py" "$data" "$upd" --fraction "$update"
  fi
  cp "$work/vulndb.sqlite" "$work/vulndb-updated.sqlite"
  "$cli" vulndb import --vulndb "$work/vulndb-updated.sqlite" "$upd"/*/all.zip | tail -1
fi
for run in "first (every image written):vulndb" "again (every image unchanged):vulndb" \
           "after an update of $update of the records:vulndb-updated" \
           "again (every image unchanged):vulndb-updated"; do
  echo "== rematch $images images x $apps apps, $workers workers, ${run##*:}: ${run%:*}"
  load
  /usr/bin/time -f "  %e s wall, %U s user, %S s sys, %O x 512 bytes written" \
    "$cli" vulndb rematch --workers "$workers" --bulk "$bulk" --vulndb "$work/${run##*:}.sqlite" \
    --db "$work/imgsec.db" 2>&1 | tail -2
  load
  [ "$first_only" = 1 ] && break
  bulk=auto
done
