#!/usr/bin/env bash
# bench/start_store_grow.sh - grows a store made by bench/start_store.sh
# to TARGET images by copying its images and their aggregates (agg_vul,
# agg_build) under new ids, for bench/start_mem.sh: a start reads only
# images and aggregates (store_summary_foreach), so the copies cost a
# start what imported images would; the record rows are not copied (the
# list routes over records would see only the originals).
#
#   bench/start_store_grow.sh DB TARGET
#
# Copy k (1, 2, ...) of image i: id i + k * N (N the images before), EP
# "copy-k", image_version + ".k" (the identity is unique per project,
# not per EP), latest_update_time + k, content id and digest with their
# first byte replaced by k (still "sha256:" + 64 hex digits, and two
# images that shared a content id still share it). The last copy takes the
# first images only, up to TARGET. Deterministic: the same file and TARGET
# give the same store.
set -euo pipefail
db=$1 target=$2
n=$(sqlite3 "$db" "SELECT count(*) FROM images")
max=$(sqlite3 "$db" "SELECT max(id) FROM images")
[ "$n" = "$max" ] || { echo "ids of $db are not 1..N" >&2; exit 1; }
k=1
while [ "$((n * k))" -lt "$target" ]; do
  left=$((target - n * k))
  lim=$(( left < n ? left : n ))
  off=$((n * k))
  sqlite3 "$db" <<SQL
BEGIN;
INSERT INTO images SELECT id + $off, project_id, 'copy-$k', image_type, scan_status, namespace,
  image_name, image_version || '.$k',
  CASE WHEN image_id LIKE 'sha256:%' AND length(image_id) = 71
       THEN 'sha256:' || printf('%02x', $k) || substr(image_id, 10) ELSE image_id END,
  CASE WHEN image_digest LIKE 'sha256:%' AND length(image_digest) = 71
       THEN 'sha256:' || printf('%02x', $k) || substr(image_digest, 10) ELSE image_digest END,
  instance_id, instance_name, cicd_name, image_size, latest_update_time + $k, latest_scan_time,
  container_num, severity_level, n_vulnerability, n_risk_config, n_malware, n_app, n_file,
  n_sensitive_info, n_non_compliant_app, n_build_command_risk, n_linux_vul, n_app_vul
  FROM images WHERE id <= $lim ORDER BY id;
INSERT INTO agg_vul SELECT image + $off, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss
  FROM agg_vul WHERE image <= $lim ORDER BY image;
INSERT INTO agg_build SELECT image + $off, rule_id, risk_name, risk_level, n
  FROM agg_build WHERE image <= $lim ORDER BY image;
COMMIT;
SQL
  k=$((k + 1))
done
sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
echo "bytes=$(stat -c %s "$db")"
sqlite3 "$db" "SELECT 'images', count(*) FROM images UNION ALL
  SELECT 'agg_vul', count(*) FROM agg_vul UNION ALL
  SELECT 'agg_build', count(*) FROM agg_build UNION ALL
  SELECT 'records (the images'' counts)', sum(n_vulnerability + n_risk_config + n_malware + n_app
    + n_file + n_sensitive_info + n_non_compliant_app + n_build_command_risk) FROM images"
