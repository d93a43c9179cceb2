#!/usr/bin/env bash
# bench/mix.sh - the fixed mix of 20 statistic bodies, and for each the
# plain SQL that computes the same total_num on the same database file.
#
#   bench/mix.sh ORACLE PROJECT OUTDIR
#
# ORACLE is bench/oracle.sh's database for the store (its images and
# records as plain tables, read through `imgsec records`, not from the
# store's own tables). Writes OUTDIR/mix.tsv (name, security_report_type,
# enterprise_project_id, body file, SQL file), one line per body. The long
# lists (vul_id_list, image_id_list) and the values of the filters are
# drawn from the data, so the mix is the same for the same data set. The
# SQL is what a straightforward implementation would run: join the record
# table to the images and count, with the filters as WHERE clauses; it
# runs on ORACLE.
set -euo pipefail
db=$1 project=$2 out=$3
mkdir -p "$out"
q() { sqlite3 -batch -noheader "$db" "$1"; }

P="i.project_id = '$project'"
# values drawn from the data
image_id=$(q "SELECT image_id FROM images WHERE project_id = '$project' AND image_id <> '' ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM images WHERE project_id = '$project')")
read -r t_lo t_hi < <(q "SELECT min(latest_update_time) + (max(latest_update_time) - min(latest_update_time)) / 4, min(latest_update_time) + 3 * (max(latest_update_time) - min(latest_update_time)) / 4 FROM images WHERE project_id = '$project'" | tr '|' ' ')
read -r s_lo s_hi < <(q "SELECT min(latest_scan_time) + (max(latest_scan_time) - min(latest_scan_time)) / 2, max(latest_scan_time) FROM images WHERE project_id = '$project' AND latest_scan_time > 0" | tr '|' ' ')
size=$(q "SELECT (min(image_size) + max(image_size)) / 3 FROM images WHERE project_id = '$project'")
# 2,048 distinct vul_ids (the longest list allowed), frequent and rare alike
q "SELECT DISTINCT vul_id FROM rec_vulnerability ORDER BY vul_id" >"$out/vul_ids.txt"
vul_n=$(wc -l <"$out/vul_ids.txt")
step=$(( vul_n / 2048 )); [ "$step" -lt 1 ] && step=1
awk -v s="$step" 'NR % s == 0' "$out/vul_ids.txt" | head -n 2048 >"$out/vul_long.txt"
head -n 100 "$out/vul_long.txt" >"$out/vul_short.txt"
# 5,000 image ids spread over the whole id range (a deterministic shuffle)
q "SELECT id FROM images WHERE project_id = '$project' ORDER BY (id * 2654435761) % 4294967296 LIMIT 5000" >"$out/image_ids.txt"

json_list() { awk 'BEGIN { printf "[" } { printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 } END { printf "]" }' "$1"; }
sql_list() { awk -v Q="$2" 'BEGIN { ORS = "" } { printf "%s%s%s%s", (NR > 1 ? "," : ""), Q, $0, Q }' "$1"; }

rec_table() {
  case $1 in
    vulnerability) echo rec_vulnerability ;; risk-config) echo rec_risk_config ;;
    malwares) echo rec_malware ;; apps) echo rec_app ;; files) echo rec_file ;;
    sensitive-info) echo rec_sensitive_info ;; non-compliant-app) echo rec_non_compliant_app ;;
    build-command-risks) echo rec_build_command_risk ;;
  esac
}
LATEST="i.id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY image_type, instance_id, namespace, image_name ORDER BY latest_update_time DESC, id DESC) AS k FROM images WHERE project_id = '$project') WHERE k = 1)"

: >"$out/mix.tsv"
n=0
# add NAME REPORT EP BODY WHERE [RECORD_WHERE]
add() {
  local name=$1 report=$2 ep=$3 body=$4 where=$5 rwhere=${6:-}
  n=$((n + 1))
  local id; id=$(printf '%02d-%s' "$n" "$name")
  printf '%s\n' "$body" >"$out/$id.json"
  local scope=""
  [ "$ep" != all_granted_eps ] && scope=" AND i.ep = '$ep'"
  printf 'SELECT count(*) FROM %s r JOIN images i ON i.id = r.image WHERE %s%s%s%s;\n' \
    "$(rec_table "$report")" "$P" "$scope" "${where:+ AND $where}" "${rwhere:+ AND $rwhere}" >"$out/$id.sql"
  printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$report" "$ep" "$out/$id.json" "$out/$id.sql" >>"$out/mix.tsv"
}

ALL=all_granted_eps
add all-vulnerability vulnerability $ALL '{"operate_all": true}' ""
add all-apps apps $ALL '{"operate_all": true}' ""
add one-ep-files files 0 '{"operate_all": true}' ""
add image-type vulnerability $ALL '{"operate_all": true, "image_type": "private_image"}' "i.image_type = 'private_image'"
add scan-status risk-config $ALL '{"operate_all": true, "scan_status": "success"}' "i.scan_status = 'success'"
add namespace vulnerability $ALL '{"operate_all": true, "namespace": "pay"}' "instr(i.namespace, 'pay') > 0"
add image-name apps $ALL '{"operate_all": true, "image_name": "web-"}' "instr(i.image_name, 'web-') > 0"
add image-version vulnerability $ALL '{"operate_all": true, "image_version": "alpine"}' "instr(i.image_version, 'alpine') > 0"
add image-id vulnerability $ALL "{\"operate_all\": true, \"image_id\": \"$image_id\"}" "i.image_id = '$image_id'"
add instance-name malwares $ALL '{"operate_all": true, "instance_name": "harbor"}' "instr(i.instance_name, 'harbor') > 0"
add cicd-name sensitive-info $ALL '{"operate_all": true, "cicd_name": "jenkins"}' "instr(i.cicd_name, 'jenkins') > 0"
add latest-version vulnerability $ALL '{"operate_all": true, "latest_version": true}' "$LATEST"
add size-and-update-time vulnerability $ALL \
  "{\"operate_all\": true, \"image_size\": $size, \"start_latest_update_time\": $t_lo, \"end_latest_update_time\": $t_hi}" \
  "i.image_size <= $size AND i.latest_update_time BETWEEN $t_lo AND $t_hi"
add scan-time non-compliant-app $ALL \
  "{\"operate_all\": true, \"start_latest_scan_time\": $s_lo, \"end_latest_scan_time\": $s_hi}" \
  "i.latest_scan_time BETWEEN $s_lo AND $s_hi"
add flags vulnerability $ALL '{"operate_all": true, "has_malicious_file": true, "has_container": true, "has_unsafe_setting": false, "risky": true}' \
  "i.n_malware > 0 AND i.container_num > 0 AND i.n_risk_config = 0 AND i.severity_level IN ('Low', 'Medium', 'High')"
add severity-and-vul-type vulnerability $ALL '{"operate_all": true, "severity_level": "High", "vul_type": "app_vul"}' \
  "i.severity_level = 'High'" "r.vul_type = 'app_vul'"
add vul-id-list-2048 vulnerability $ALL "{\"operate_all\": true, \"vul_id_list\": $(json_list "$out/vul_long.txt")}" \
  "" "r.vul_id IN ($(sql_list "$out/vul_long.txt" "'"))"
add image-id-list-5000 vulnerability $ALL "{\"image_id_list\": $(json_list "$out/image_ids.txt")}" \
  "(i.id IN ($(sql_list "$out/image_ids.txt" "")) OR i.image_id IN ($(sql_list "$out/image_ids.txt" "'")))"
add build-command-risks build-command-risks $ALL \
  '{"operate_all": true, "build_command_risk_level": "high", "build_command_risk_name": "root", "build_command_rule_id_list": ["DS001", "DS002", "DS003", "DS004", "DS005"]}' \
  "" "r.risk_level = 'high' AND instr(r.risk_name, 'root') > 0 AND r.rule_id IN ('DS001', 'DS002', 'DS003', 'DS004', 'DS005')"
add combination vulnerability ep-prod \
  "{\"operate_all\": true, \"image_type\": \"private_image\", \"latest_version\": true, \"has_vul\": true, \"namespace\": \"a\", \"vul_type\": \"linux_vul\", \"vul_id_list\": $(json_list "$out/vul_short.txt")}" \
  "i.image_type = 'private_image' AND $LATEST AND i.n_vulnerability > 0 AND instr(i.namespace, 'a') > 0" \
  "r.vul_type = 'linux_vul' AND r.vul_id IN ($(sql_list "$out/vul_short.txt" "'"))"
