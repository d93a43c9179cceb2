#!/usr/bin/env bash
# bench/block_codec.sh - the record block codec on a store's records:
# bytes and CPU a record per report type (bench/block_codec.c;
# docs/plan-packed-records.md step 1, risk R1).
#
#   bench/block_codec.sh [--bin BUILD] DB [block_codec options]
#       builds BUILD/block_codec against BUILD/libimgsec.a (a `make build`)
#       and runs it on DB (SQLite, schema 17/18, read only), under nice
#   bench/block_codec.sh [--bin BUILD] --make-real DB
#       makes DB from real scanner output: every report of
#       ../shared/fixtures/scanners and tests/fixtures imported (imgsec
#       import), every image of ../shared/fixtures/scan/images analysed
#       (imgsec scan), and this machine's package databases (dpkg status,
#       Python dist-info, /usr/lib/node_modules, copied into DB.rootfs)
#       analysed with imgsec scan --rootfs, each into project real; then
#       runs the bench on it
#   bench/block_codec.sh [--bin BUILD] --make-gen DB IMAGES [RECORDS]
#       makes DB with `imgsec demo --images IMAGES --records-per-image RECORDS
#       --seed 7` (generated data, as in the plan's d10k measurements: 10,000
#       images, about 80 records each; RECORDS defaults to 80); then runs the
#       bench on it
#
# block_codec options: --repeat N (best of N runs, default 3), --train
# first:P|all (dictionaries from the first P % of each type's blocks,
# default 10, or from all of them), --frame-vul F (16), --frame-other F (128).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
if [ "${1:-}" = --bin ]; then
  build=$(cd "$2" && pwd)
  shift 2
fi
make_real= make_gen=
case "${1:-}" in
  --make-real) make_real=1; shift ;;
  --make-gen) make_gen=${3:?--make-gen DB IMAGES [RECORDS]}; shift ;;
esac
db=${1:?usage: bench/block_codec.sh [--bin BUILD] [--make-real | --make-gen] DB ...}
shift
gen_records=80
if [ -n "$make_gen" ]; then
  shift
  case "${1:-}" in [0-9]*) gen_records=$1; shift ;; esac
fi

bin=$build/imgsec
if [ -n "$make_real" ]; then
  rm -f "$db" "$db"-wal "$db"-shm
  shopt -s nullglob
  for f in "$root"/../shared/fixtures/scanners/*/*.json "$root"/tests/fixtures/*/*.json; do
    nice -n 19 "$bin" import --db "$db" --project real "$f" >/dev/null
  done
  for img in "$root"/../shared/fixtures/scan/images/*.tar "$root"/../shared/fixtures/scan/images/*.tar.gz \
             "$root"/../shared/fixtures/scan/images/*.oci; do
    # a few fixtures are traps (escapes, symlink cycles) the analyzer refuses: skip those
    nice -n 19 "$bin" scan --db "$db" --project real "$img" >/dev/null 2>&1 ||
      echo "block_codec: imgsec scan refused $(basename "$img") (skipped)" >&2
  done
  rootfs=$db.rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs/var/lib/dpkg" "$rootfs/etc" "$rootfs/usr/lib/python3/dist-packages"
  cp /var/lib/dpkg/status "$rootfs/var/lib/dpkg/status"
  cp -L /etc/os-release "$rootfs/etc/os-release"
  for d in /usr/lib/python3/dist-packages/*.dist-info /usr/lib/python3/dist-packages/*.egg-info; do
    cp -r "$d" "$rootfs/usr/lib/python3/dist-packages/"
  done
  [ -d /usr/lib/node_modules ] && cp -r /usr/lib/node_modules "$rootfs/usr/lib/"
  nice -n 19 "$bin" scan --db "$db" --project real --name host-rootfs:1 --rootfs "$rootfs" >/dev/null
elif [ -n "$make_gen" ]; then
  rm -f "$db" "$db"-wal "$db"-shm
  nice -n 19 "$bin" demo --db "$db" --project gen --images "$make_gen" \
    --records-per-image "$gen_records" --seed 7 >/dev/null
fi

libs=$(pkg-config --libs jansson sqlite3 libpq libsodium yajl xlsxwriter libarchive rpm yara \
  libpcre2-8 libcurl libxcrypt libcrypto zlib libzstd)
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$root/include" -I"$root/src/lib" \
  "$here/block_codec.c" "$build/libimgsec.a" $libs -lroaring -lpthread -lm -o "$build/block_codec"
nice -n 19 "$build/block_codec" "$db" "$@"
