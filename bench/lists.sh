#!/usr/bin/env bash
# bench/lists.sh - latency of every finding list (imgsec/list.h) at a
# 200-item page, with one keep-alive connection (bench/list_latency.c).
#
#   bench/lists.sh [--db FILE | --pg | --pg-uri URI]
#                  [--images N --records-per-image R --seed S]
#                  [--project P] [--bin DIR] [--work DIR] [--seconds S] [--quick]
#                  [--eps LIST] [--urls-only]
#
# --db reuses a database (e.g. bench/run.sh's WORK/imgsec.db, project
# bench); otherwise `imgsec demo` makes one. --pg: the store is PostgreSQL,
# a throwaway cluster (tests/support/pg_cluster.sh, its socket in
# /tmp/lspg.PID: a socket path has at most 107 bytes) that `imgsec demo`
# fills and the exit stops and removes. --pg-uri URI (or --db URI): an
# existing PostgreSQL database, reused as it is; only one holding no image
# at all gets the demo. After its demo a PostgreSQL database gets VACUUM
# ANALYZE (as autovacuum would, a minute or so later). imgsecd gets
# --export-dir and --key-file (in WORK) there.
# For every route it asks one page of 200 at offset 0 and, for the
# tenant-wide and grouped lists, the last page (offset total-200, at most
# 2,000,000), on the image with the most records of the list's type and
# on the most common vulnerability and build rule. lists.md gives each
# URL's total_num and page size, so a row that times a short page (no
# image has 200 records of that type) says so.
# The picks: the images by SQL on the images table (sqlite3, or psql on
# PostgreSQL); every other pick from the API, as the user sees it (no SQL
# on record tables, which become blocks: docs/plan-packed-records.md):
# - the vulnerability and its type: the ListGeneralImageVuls item
#   (registry images, linux_vul and app_vul, the first 5 pages of each)
#   with the largest image_num. Before: the one on most of the project's
#   first 200 images of any image type, its type that of any of its rows
#   (on the demo data the same CVE-2014-1000, now linux_vul, was app_vul);
# - its level (ListVulAffectImages.repair_necessity): that item's
#   severity_level, its highest severity over the registry images. Before:
#   its highest severity in one image that has it;
# - the build rule: the ListImageBuildCommandRisks item (registry) with the
#   largest image_num. Before: the rule on most of the first 200 images;
# - the app and file name: the first item of ListImageApps of the largest
#   image, the first item with a file_name of ListImageFiles (as before);
# - the baseline check and standard: the ListImageRiskConfigs row with a
#   standard and the most failed rules (as before).
# Results: WORK/lists.txt (one RESULT line per URL) and WORK/lists.md.
# LIST_TIMEOUT_S=S (environment) bounds one request (default 60 s): a URL
# whose request takes longer is reported timed_out=1 and the next one runs.
# --eps LIST: ask as a user granted only those EPs (comma list; default
# all), as an EP-scoped user of the console would.
# --quick: a tiny demo database, a fraction of a second per URL (CI; with
# --pg, a quick check of the PostgreSQL mode).
# --urls-only: write WORK/lists-urls.tsv (for bench/list_cpu.sh) and stop.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
images=10000 rpi=200 seed=1 db="" project=bench bin="$top/build-perf" work="" seconds=2 quick=0
urls_only=0 eps=all pg=0 pg_uri=""
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift ;;
    --pg) pg=1 ;;
    --pg-uri) pg_uri=$2; shift ;;
    --images) images=$2; shift ;;
    --records-per-image) rpi=$2; shift ;;
    --seed) seed=$2; shift ;;
    --project) project=$2; shift ;;
    --bin) bin=$2; shift ;;
    --work) work=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --quick) quick=1 ;;
    --eps) eps=$2; shift ;;
    --urls-only) urls_only=1 ;;
    -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
    *) echo "bench/lists: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case $db in postgres://* | postgresql://*) pg_uri=$db db="" ;; esac
[ -n "$pg_uri" ] && pg=1
[ "$pg" = 1 ] && [ -n "$db" ] && { echo "bench/lists: --db FILE and --pg/--pg-uri exclude each other" >&2; exit 2; }
[ "$quick" = 1 ] && images=300 rpi=40 seconds=0.2
work=${work:-$(mktemp -d)}
mkdir -p "$work"
imgsec=$bin/imgsec imgsecd=$bin/imgsecd region=bench-1 password=bench-password-1
pids=() cluster=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$cluster" ] || "$top/tests/support/pg_cluster.sh" stop "$cluster" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cc -O2 -o "$work/list_latency" "$here/list_latency.c" -lcurl -lm
demo() { "$imgsec" demo --db "$1" --project "$project" --images "$images" --records-per-image "$rpi" \
  --seed "$seed" >/dev/null; }
srv_flags=()
if [ "$pg" = 1 ]; then
  psql=$(command -v psql || true)
  [ -n "$psql" ] || psql=$(pg_config --bindir 2>/dev/null)/psql
  if [ ! -x "$psql" ]; then for p in /usr/lib/postgresql/*/bin/psql; do [ ! -x "$p" ] || psql=$p; done; fi
  [ -x "$psql" ] || { echo "bench/lists: no psql (apt-get install postgresql-client)" >&2; exit 1; }
  # the demo, then the statistics and visibility map autovacuum would make
  # some time later: until then the planner has no statistics (the grouped
  # vulnerability lists' spans were a hash join over all of
  # rec_vulnerability, 40-55 ms a page at 3,000 images, not 4-6 ms) and
  # index-only scans read the heap (docs/performance.md)
  pg_demo() { demo "$1" && "$psql" -X -q -v ON_ERROR_STOP=1 -d "$1" -c "VACUUM ANALYZE"; }
  if [ -z "$pg_uri" ]; then
    cluster=/tmp/lspg.$$ # short: a unix socket path has at most 107 bytes
    admin=$("$top/tests/support/pg_cluster.sh" start "$cluster")
    "$psql" -q -X -d "$admin" -c "CREATE DATABASE imgsec_lists"
    pg_uri=${admin/\/postgres\?/\/imgsec_lists?}
    pg_demo "$pg_uri"
  else # an existing database: the demo only fills one without any image (nothing of anyone's is touched)
    has=$("$psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$pg_uri" -c "SELECT to_regclass('images') IS NOT NULL")
    [ "$has" = t ] && has=$("$psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$pg_uri" -c "SELECT EXISTS (SELECT 1 FROM images)")
    [ "$has" = t ] || pg_demo "$pg_uri"
  fi
  db=$pg_uri
  # nothing is beside a PostgreSQL database: the export files and the key go to WORK
  srv_flags=(--export-dir "$work/exports" --key-file "$work/lists.key")
  q() { "$psql" -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -d "$pg_uri" -c "$1"; }
elif [ -z "$db" ]; then
  db=$work/lists.db
  rm -f "$db" "$db-wal" "$db-shm"
  demo "$db"
fi
[ "$pg" = 1 ] || q() { sqlite3 -batch -noheader -separator '|' "$db" "$1"; }
user=reader
[ "$eps" = all ] || user=reader-$(printf '%s' "$eps" | tr -c 'a-zA-Z0-9-' '_')
IMGSEC_PASSWORD=$password "$imgsec" user add --db "$db" --domain lists --name "$user" \
  --project "$project" --role reader --eps "$eps" >/dev/null 2>&1 || true
bench_imgsecd "$work/imgsecd-lists.log" "$work/port" "$imgsecd" --db "$db" --listen 127.0.0.1:0 \
  --region "$region" --result-cache-mb 0 "${srv_flags[@]}" || exit 1
pids+=("$bench_pid")
url=$bench_url
token=$(bench_token "$url" lists "$user" "$password" "$project")
[ -n "$token" ] || { echo "bench/lists: no token" >&2; exit 1; }
eq="enterprise_project_id=all_granted_eps"
ep="$eq&limit=200"
P=/v5/$project

# SQL only on the images table; the images the user sees: every EP, or those of --eps
epw=""
[ "$eps" = all ] || epw=" AND ep IN ('$(printf '%s' "$eps" | sed "s/'/''/g; s/,/','/g")')"
IFS='|' read -r img itype <<<"$(q "SELECT id, image_type FROM images WHERE project_id = '$project'$epw ORDER BY n_vulnerability + n_app + n_file DESC LIMIT 1")"
# per one-image list, the image with the most records of its type (a list
# of the largest image by vulnerabilities may be empty of malware, ...)
most() { q "SELECT id || '&image_type=' || image_type FROM images WHERE project_id = '$project'$epw ORDER BY n_$1 DESC, id LIMIT 1"; }
mal=$(most malware) fil=$(most file) sen=$(most sensitive_info) nca=$(most non_compliant_app)
IFS='|' read -r rimg ritype <<<"$(q "SELECT id, image_type FROM images WHERE project_id = '$project'$epw ORDER BY n_risk_config DESC, id LIMIT 1")"
# items PATH QUERY PAGES FIELD...: the items of a list's first PAGES pages
# of 200, one line each, its FIELDs tab-separated (a missing one empty)
items() {
  python3 - "$url" "$token" "$region" "$@" <<'PY'
import json, sys, urllib.request
base, token, region, path, query, pages, *fields = sys.argv[1:]
get = urllib.request.build_opener(urllib.request.ProxyHandler({})).open
off = 0
for _ in range(int(pages)):
    req = urllib.request.Request(f"{base}{path}?{query}&limit=200&offset={off}",
                                 headers={"X-Auth-Token": token, "region": region})
    with get(req, timeout=600) as r:
        d = json.load(r)
    for it in d.get("data_list") or []:
        print("\t".join("" if it.get(f) is None else str(it[f]) for f in fields))
    off += 200
    if off >= (d.get("total_num") or 0):
        break
PY
}
# top: the line with the largest first field (the first such in list order), without that field
top() { sort -s -t $'\t' -k1,1nr | awk 'NR == 1 { sub(/^[^\t]*\t/, ""); print }'; }
# the most common vulnerability: on the most registry images of one type
IFS=$'\t' read -r vul vtype vul_level <<<"$(for t in linux_vul app_vul; do
  items "$P/images/vulnerabilities" "$eq&type=$t&handle_status=unhandled&image_type=registry" 5 \
    image_num vul_id type severity_level; done | top)"
rule=$(items "$P/image/build-command-risks" "$eq&image_type=registry" 5 image_num rule_id | top)
# a whole app name and file name of the largest image: the selective
# needles of app_name and file_name ("lib" below is the broad one)
app=$(items "$P/image/$img/apps" "$eq&image_type=$itype" 1 app_name | awk 'NR == 1')
file=$(items "$P/image/${fil%%&*}/files" "$eq&${fil#*&}" 1 file_name | awk 'length && !n++')
IFS=$'\t' read -r check standard <<<"$(items "$P/image/baseline/risk-configs" \
  "$eq&image_type=$ritype&image_id=$rimg" 5 failed_rule_num check_name standard | awk -F '\t' '$3 != ""' | top)"
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
vul_e=$(enc "$vul") rule_e=$(enc "$rule") check_e=$(enc "$check") app_e=$(enc "$app") file_e=$(enc "$file")
urls=$work/lists-urls.tsv
: >"$urls"
add() { printf '%s\t%s\n' "$1" "$2" >>"$urls"; }
last() { # name path query: the page at offset total-200 (capped), if deeper than 0
  local t
  t=$(curl -sS -H "X-Auth-Token: $token" -H "region: $region" "$url$2?$3" | sed -n 's/.*"total_num":\([0-9]*\).*/\1/p')
  t=$(( ${t:-0} > 200 ? ${t:-0} - 200 : 0 )); [ "$t" -gt 2000000 ] && t=2000000
  [ "$t" -gt 0 ] && add "$1.last(offset=$t)" "$2?$3&offset=$t"
  return 0
}
mid() { # name path query: the page in the middle (offset total/2, capped), if deeper than 0
  local t
  t=$(curl -sS -H "X-Auth-Token: $token" -H "region: $region" "$url$2?$3" | sed -n 's/.*"total_num":\([0-9]*\).*/\1/p')
  t=$(( ${t:-0} / 2 )); [ "$t" -gt 2000000 ] && t=2000000
  [ "$t" -gt 0 ] && add "$1.mid(offset=$t)" "$2?$3&offset=$t"
  return 0
}
add ListImageVulnerabilities "$P/image/$img/vulnerabilities?$ep&image_type=$itype"
last ListImageVulnerabilities "$P/image/$img/vulnerabilities" "$ep&image_type=$itype"
add ListImageVulnerabilities.filtered "$P/image/$img/vulnerabilities?$ep&image_type=$itype&repair_necessity=delay_repair"
add ListImageApps "$P/image/$img/apps?$ep&image_type=$itype"
add ListImageMalware "$P/image/${mal%%&*}/malwares?$ep&${mal#*&}"
add ListImageFiles "$P/image/${fil%%&*}/files?$ep&${fil#*&}"
add ListImageSensitive "$P/image/${sen%%&*}/sensitive?$ep&${sen#*&}"
add ListImageNonCompliantApp "$P/image/${nca%%&*}/non-compliant-app?$ep&${nca#*&}"
add ListImageRiskConfigs "$P/image/baseline/risk-configs?$ep&image_type=$ritype&image_id=$rimg"
[ -n "$check" ] && add ListImageRiskConfigRules "$P/image/baseline/risk-configs/$check_e/rules?$ep&image_type=$ritype&image_id=$rimg&standard=$standard"
add ListImageBuildCommandRisks "$P/image/build-command-risks?$ep&image_type=registry"
add ListImageBuildCommandRisksImages "$P/image/build-command-risks/images?$ep&image_type=registry&rule_id=$rule_e"
last ListImageBuildCommandRisksImages "$P/image/build-command-risks/images" "$ep&image_type=registry&rule_id=$rule_e"
add ListGeneralImageVuls "$P/images/vulnerabilities?$ep&type=$vtype&handle_status=unhandled&image_type=registry"
last ListGeneralImageVuls "$P/images/vulnerabilities" "$ep&type=$vtype&handle_status=unhandled&image_type=registry"
add ListVulAffectImages "$P/vulnerability/images?$ep&is_handled=false&vul_id=$vul_e&type=$vtype&image_type=registry"
last ListVulAffectImages "$P/vulnerability/images" "$ep&is_handled=false&vul_id=$vul_e&type=$vtype&image_type=registry"
add ListVulnerabilityCve "$P/image/vulnerability/$vul_e/cve?$ep"
add ListGlobalVulnerabilities "$P/image/vulnerabilities?$ep&offset=0"
# the severity filters (maxima over records per vulnerability or image)
add ListGeneralImageVuls.severity_level "$P/images/vulnerabilities?$ep&type=$vtype&handle_status=unhandled&image_type=registry&severity_level=High"
add ListGlobalVulnerabilities.repair_necessity "$P/image/vulnerabilities?$ep&repair_necessity=immediate_repair"
# a prefix of the common vulnerability's id as a substring (vul_id, vul_name): the index's needle groups
vul_sub_e=$(enc "${vul:0:8}")
add ListGlobalVulnerabilities.vul_id "$P/image/vulnerabilities?$ep&offset=0&vul_id=$vul_sub_e"
add ListGeneralImageVuls.vul_name "$P/images/vulnerabilities?$ep&type=$vtype&handle_status=unhandled&image_type=registry&vul_name=$vul_sub_e"
add ListVulAffectImages.image_name "$P/vulnerability/images?$ep&is_handled=false&vul_id=$vul_e&type=$vtype&image_type=registry&image_name=a"
add ListVulAffectImages.repair_necessity "$P/vulnerability/images?$ep&is_handled=false&vul_id=$vul_e&type=$vtype&image_type=registry&repair_necessity=$vul_level"
add ListGlobalImageApps "$P/image/apps?$ep"
last ListGlobalImageApps "$P/image/apps" "$ep"
add ListGlobalImageApps.non_compliant "$P/image/apps?$ep&is_compliant=false"
add ListGlobalImageApps.compliant "$P/image/apps?$ep&is_compliant=true"
mid ListGlobalImageApps.compliant "$P/image/apps" "$ep&is_compliant=true"
add ListGlobalImageApps.app_name_compliant "$P/image/apps?$ep&app_name=lib&is_compliant=true"
add ListGlobalImageApps.app_name_non_compliant "$P/image/apps?$ep&app_name=lib&is_compliant=false"
add ListGlobalImageApps.app_name "$P/image/apps?$ep&app_name=lib"
# the middle of a name filter's list: the needle's per-image counts (list.c "needle maps")
mid ListGlobalImageApps.app_name "$P/image/apps" "$ep&app_name=lib"
last ListGlobalImageApps.app_name "$P/image/apps" "$ep&app_name=lib"
[ -n "$app" ] && add ListGlobalImageApps.app_name_whole "$P/image/apps?$ep&app_name=$app_e"
[ -n "$app" ] && mid ListGlobalImageApps.app_name_whole "$P/image/apps" "$ep&app_name=$app_e"
add ListGlobalMalware "$P/image/malwares?$ep&image_type=registry"
add ListGlobalMalware.file_name "$P/image/malwares?$ep&image_type=registry&file_name=a"
add ListGlobalImageFiles "$P/image/files?$ep"
last ListGlobalImageFiles "$P/image/files" "$ep"
[ -n "$file" ] && add ListGlobalImageFiles.file_name "$P/image/files?$ep&file_name=$file_e"
[ -n "$file" ] && mid ListGlobalImageFiles.file_name "$P/image/files" "$ep&file_name=$file_e"
add ListImageSensitiveInfo "$P/image/sensitive-information?$ep"
last ListImageSensitiveInfo "$P/image/sensitive-information" "$ep"
[ "$urls_only" = 1 ] && { cat "$urls"; exit 0; }

n_images=$(q "SELECT count(*) FROM images")
# what each URL's page holds: total_num and the items of the page, so that
# a row timing an empty or short answer says so (the image picked per
# one-image list is the one with the most records of its type; if even
# that one has fewer than 200, no image has a full page)
: >"$work/lists-items.txt"
while IFS=$'\t' read -r name path; do
  body=$(curl -sS -H "X-Auth-Token: $token" -H "region: $region" "$url$path")
  total=$(printf '%s' "$body" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d.get("total_num", "-"), len(d.get("data_list", [])))' 2>/dev/null || echo "- -")
  printf '%s %s\n' "$name" "$total" >>"$work/lists-items.txt"
done <"$urls"
# the CPU of our own cluster's processes (--pg), and what its postmaster reaped, in clock ticks
pg_ticks() {
  local pm t p
  pm=$(head -1 "$cluster/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
[ -z "$cluster" ] || pg_t0=$(pg_ticks)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$work/list_latency" "$url" "$urls" "$token" "$region" "$seconds" | sed 's/^RESULT //' | tee "$work/lists.txt"
# imgsecd's CPU over the whole run (user + system, /proc/PID/stat fields
# 14 and 15 in clock ticks), the client's apart: on a shared machine the
# wall-clock tails are other processes' scheduling, CPU is ours
srv_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/${pids[0]}/stat")
{
  echo "imgsecd CPU (user+sys) over the run: ${srv_cpu} s; load average at the start of the timing: $load0, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  [ -z "$cluster" ] ||
    echo "PostgreSQL cluster CPU (user+sys, every process of it) over the timing: $(awk -v t="$(( $(pg_ticks) - pg_t0 ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s"
  echo
  echo "lists at $n_images images ($(q "SELECT sum(n_vulnerability + n_risk_config + n_malware + n_app + n_file + n_sensitive_info + n_non_compliant_app + n_build_command_risk) FROM images") records) on $([ "$pg" = 1 ] && echo PostgreSQL || echo SQLite), one connection, limit=200"
  echo
  echo "| list | p50 ms | p99 ms | max ms | requests | total_num | items |"
  echo "|---|---|---|---|---|---|---|"
  sed -n 's/^name=\([^ ]*\) requests=\([0-9]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) max_ms=\([0-9.]*\).*/\1 \3 \4 \5 \2/p' "$work/lists.txt" |
    while read -r name p50 p99 max n; do
      read -r _ total items < <(grep -F "$name " "$work/lists-items.txt" | head -1)
      echo "| $name | $p50 | $p99 | $max | $n | ${total:--} | ${items:--} |"
    done
} >"$work/lists.md"
cat "$work/lists.md"
! grep -q 'non2xx=[1-9]\|errors=[1-9]' "$work/lists.txt"
