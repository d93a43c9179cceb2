#!/usr/bin/env bash
# bench/gen-data.sh - the bench's data set: `imgsec gen` output, split into
# import files (one transaction each), one folder per (images, records
# per image, seed). Reused when it is already complete.
#
#   bench/gen-data.sh IMGSEC_BIN DIR IMAGES RECORDS_PER_IMAGE SEED EPS
#
# EPS is a comma list; the files of EP e are DIR/e/part-NNNNN.ndjson.
# Each file holds about 200,000 records (at least 1,000 images), the size
# of one bulk ingest; DIR/done marks a complete set.
set -euo pipefail
bin=$1 dir=$2 images=$3 rpi=$4 seed=$5 eps=$6

[ -f "$dir/done" ] && exit 0
rm -rf "$dir"
mkdir -p "$dir"
lines=$(( 200000 / rpi ))
[ "$lines" -lt 1000 ] && lines=1000
IFS=, read -ra ep_list <<<"$eps"
# one `imgsec gen` per EP, in parallel: each generates the whole fleet
# (so every EP gets the same images as in one run) and keeps its own EP
pids=()
for ep in "${ep_list[@]}"; do
  mkdir -p "$dir/$ep"
  "$bin" gen --images "$images" --seed "$seed" --records-per-image "$rpi" --eps "$eps" --ep "$ep" |
    split -l "$lines" -d -a 5 --additional-suffix=.ndjson - "$dir/$ep/part-" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "images=$images records_per_image=$rpi seed=$seed eps=$eps" >"$dir/done"
