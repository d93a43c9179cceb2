#!/usr/bin/env bash
# bench/oracle.sh - the bench's plain-SQL oracle database: every record of
# a store as plain tables, beside a copy of its images table.
#
#   bench/oracle.sh IMGSEC DB OUT [--type T[,T...]] [--project P]
#
# IMGSEC is the imgsec command line, DB the store (a SQLite file or a
# PostgreSQL URI), OUT a new SQLite file. The records come from
# `imgsec records --format sqlite` (one read transaction, through the
# record API: the same whatever stores the records), as the tables
# rec_<type> (image, seq, the fields); the images table is copied with
# the store's own declaration (SQLite stores only). bench/mix.sh draws its
# values from OUT and its SQL counts run on it (bench/run.sh), and
# bench/peers.sh loads the peers from it, so none of them reads the
# store's record tables, which are an implementation detail
# (docs/plan-packed-records.md, step 4).
# Nothing may write DB meanwhile (the bench's own runs do not): the
# records and the images are two reads.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
imgsec=$1 db=$2 out=$3; shift 3
rm -f "$out" "$out.part"
"$imgsec" records --db "$db" --format sqlite -o "$out" "$@" >/dev/null 2>"$out.log" ||
  { cat "$out.log" >&2; exit 1; }
rm -f "$out.log"
case $db in
  postgres://*|postgresql://*) echo "bench/oracle: $db: only the records (no images table copied from PostgreSQL)" >&2 ;;
  *)
    create=$(sqlite3 -batch -noheader "$db" "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'images'")
    [ -n "$create" ] || { echo "bench/oracle: $db has no images table" >&2; exit 1; }
    db_sql=${db//\'/\'\'}
    sqlite3 -batch "$out" "ATTACH '$db_sql' AS s; BEGIN; $create; INSERT INTO main.images SELECT * FROM s.images; COMMIT;"
    ;;
esac
