#!/usr/bin/env bash
# bench/start_store.sh - the store that bench/start_mem.sh starts imgsecd
# on: `imgsec gen` images with their records, imported into a new SQLite
# file the way bench/run.sh does it (project "bench", EPs 0, ep-dev and
# ep-prod, files of about 200,000 records, one transaction each), then the
# generated NDJSON deleted. The file holds the images, their aggregates
# (agg_vul, agg_build) and their record rows.
#
#   bench/start_store.sh IMGSEC_BIN DIR IMAGES [RECORDS_PER_IMAGE [SEED]]
#
# Writes DIR/store.db (RECORDS_PER_IMAGE default 20, SEED default 1) and
# prints the counts. 1,000,000 images x 20: about 20M records, a 5 GB
# file, 4.5 GB of NDJSON on the way; ~10 minutes on two idle cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1 dir=$2 images=$3 rpi=${4:-20} seed=${5:-1}
eps=0,ep-dev,ep-prod
db=$dir/store.db
[ -e "$db" ] && { echo "$db exists" >&2; exit 1; }
mkdir -p "$dir"
t0=$(date +%s)
"$here/gen-data.sh" "$bin" "$dir/set" "$images" "$rpi" "$seed" "$eps"
t1=$(date +%s)
IFS=, read -ra ep_list <<<"$eps"
for ep in "${ep_list[@]}"; do
  # one importer at a time: no waits for SQLite's lock
  "$bin" import --db "$db" --project bench --ep "$ep" "$dir/set/$ep"/part-*.ndjson >/dev/null
done
t2=$(date +%s)
rm -rf "$dir/set"
echo "gen_s=$((t1 - t0)) import_s=$((t2 - t1)) bytes=$(stat -c %s "$db")"
sqlite3 "$db" "SELECT 'images', count(*) FROM images UNION ALL
  SELECT 'agg_vul', count(*) FROM agg_vul UNION ALL
  SELECT 'agg_build', count(*) FROM agg_build UNION ALL
  SELECT 'vulnerability records', sum(n_vulnerability) FROM images"
