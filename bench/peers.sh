#!/usr/bin/env bash
# bench/peers.sh - imgsec against its tuned peers, PostgreSQL 15 and DuckDB,
# on the same data and the same 20 bodies, interleaved, counts checked.
#
#   bench/peers.sh WORK [--bin DIR] [--rounds N] [--seconds S] [--project P]
#                  [--oracle FILE]
#
# WORK is a bench/run.sh run directory (bench/run.sh --peers calls this
# right after its mix check; it also runs alone on a finished one): it
# needs WORK/imgsec.db and WORK/mix/ (bench/mix.sh); WORK/results.txt, when
# there, gives the `imgsec import` time to compare the loads with.
# What it does (docs/performance.md, "The peers in the same run"):
#   1. exports the images and the eight record tables to CSV from the
#      oracle (bench/oracle.sh: `imgsec records` and a copy of the images
#      table): --oracle FILE, else made anew as WORK/peers-oracle.db; the
#      export is timed apart: both peers load the same files;
#   2. PostgreSQL: a throwaway cluster under WORK/peers/pg (initdb, pg_ctl,
#      unix socket only, stopped at exit), tuned (postgresql.conf below),
#      loaded with COPY, the derived table images_x (per-image record
#      counts, per vul_type too, is_latest), btree and pg_trgm indexes,
#      VACUUM ANALYZE, CHECKPOINT:
#      all of it is the load time; on disk: the data directory;
#   3. DuckDB (npm @duckdb/node-api, bench/peers/package-lock.json, `npm
#      ci`): the same tables from the same CSV, the same images_x,
#      CHECKPOINT: load time; on disk: the file;
#   4. each body's SQL for the peers (bench/peers_sql.py); the count of
#      each body from imgsecd (its own instance, --result-cache-mb 0), from
#      PostgreSQL and from DuckDB must be equal, else the run FAILS;
#   5. latency, interleaved: ROUNDS rounds, in each every body in turn on
#      imgsec (bench/latency.c over HTTP, one keep-alive connection),
#      PostgreSQL (bench/pg_latency.c, libpq, prepared) and DuckDB
#      (bench/peers/duck.mjs, prepared, one long-lived process), S seconds
#      each; p50/p99 over all the rounds' samples of a body and engine.
# Results: WORK/peers/peers.txt (key=value) and WORK/peers/peers.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,34p' "$0"; exit 2; }
case $1 in -h|--help) sed -n '2,34p' "$0"; exit 0 ;; esac
work=$(cd "$1" && pwd); shift
bin="$top/build-perf" rounds=3 seconds=1 project=bench odb=
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --project) project=$2; shift ;;
    --oracle) odb=$2; shift ;;
    *) echo "bench/peers: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
bin=$(cd "$bin" && pwd)
db=$work/imgsec.db mixdir=$work/mix out=$work/peers
[ -f "$db" ] && [ -f "$mixdir/mix.tsv" ] || { echo "bench/peers: $work has no imgsec.db or mix/mix.tsv (bench/run.sh makes them)" >&2; exit 2; }
pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/initdb" ] || pgbin=/usr/lib/postgresql/15/bin
for t in "$pgbin/initdb" "$pgbin/pg_ctl" "$pgbin/psql" node npm python3 sqlite3 curl; do
  command -v "$t" >/dev/null || { echo "bench/peers: $t is missing: scripts/deps.sh installs it" >&2; exit 2; }
done
[ -f "$(pg_config --sharedir)/extension/pg_trgm.control" ] ||
  { echo "bench/peers: pg_trgm is missing (postgresql-contrib)" >&2; exit 2; }

log() { printf 'bench/peers: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
put() { printf '%s=%s\n' "$1" "$2" >>"$out/peers.txt"; }
load() { put "load.$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

# ---- the clients ----
if [ ! -d "$here/peers/node_modules/@duckdb/node-api" ]; then
  log "npm ci in bench/peers (@duckdb/node-api, pinned by package-lock.json)"
  (cd "$here/peers" && npm ci --no-audit --no-fund >/dev/null)
fi
rm -rf "$out"
mkdir -p "$out/csv" "$out/sql" "$out/samples"
: >"$out/peers.txt"
cc -O2 -o "$out/latency" "$here/latency.c" -lcurl -lm
cc -O2 -o "$out/pg_latency" "$here/pg_latency.c" -I"$(pg_config --includedir)" -lpq -lm

# ---- cleanup: the cluster, imgsecd, the DuckDB process ----
pgdata=$out/pg/data pgsock=$out/pg/sock pg_up=0 pids=() sock_tmp=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ "$pg_up" = 1 ] && as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "$sock_tmp" ] && rm -rf "$sock_tmp"
  return 0
}
trap cleanup EXIT

# ---- 1. export ----
# the records as plain tables (bench/oracle.sh): the peers load them, not
# the store's own tables. bench/run.sh passes the one it just made for its
# count check (--oracle); alone, on a finished run (whose live ingest came
# after that one), a fresh one is made.
if [ -z "$odb" ]; then
  odb=$out-oracle.db
  log "dumping the records (bench/oracle.sh) to $odb"
  "$here/oracle.sh" "$bin/imgsec" "$db" "$odb"
fi
tables=(images rec_vulnerability rec_app rec_file rec_risk_config rec_malware
  rec_sensitive_info rec_non_compliant_app rec_build_command_risk)
# CREATE TABLE of one table for a peer, from SQLite's declared types
create_sql() { # table pg|duck
  sqlite3 -batch -noheader -separator '|' "$odb" "PRAGMA table_info($1)" |
    awk -F'|' -v t="$1" -v d="$2" '
      { ty = toupper($3)
        if (ty ~ /INT/) ty = "bigint"; else if (ty ~ /REAL|FLOA|DOUB/) ty = (d == "pg" ? "double precision" : "double"); else ty = (d == "pg" ? "text" : "varchar")
        cols = cols (NR > 1 ? ", " : "") "\"" $2 "\" " ty }
      END { printf "CREATE TABLE %s (%s)", t, cols }'
}
cols_of() { sqlite3 -batch -noheader "$odb" "SELECT group_concat('\"' || name || '\"', ', ') FROM pragma_table_info('$1')"; }
load export
t0=$(now)
for t in "${tables[@]}"; do
  sqlite3 -batch -noheader -csv "$odb" "SELECT $(cols_of "$t") FROM $t ORDER BY rowid" >"$out/csv/$t.csv"
done
put export_seconds "$(since "$t0")"
put export_csv_bytes "$(du -cb "$out"/csv/*.csv | awk 'END { print $1 }')"
records=0
for t in "${tables[@]:1}"; do records=$((records + $(sqlite3 "$odb" "SELECT count(*) FROM $t"))); done
images=$(sqlite3 "$odb" "SELECT count(*) FROM images")
put images "$images"; put records "$records"
log "exported $images images, $records records to CSV in $(sed -n 's/^export_seconds=//p' "$out/peers.txt")s"

# The derived table both peers answer from (bench/peers_sql.py): the images,
# is_latest (mix.sh's latest_version window, computed once) and the count
# of each record table per image.
# For the vulnerabilities also one count per vul_type (a handful of values:
# app_vul, linux_vul), c_vul_<type>.
vul_types=$(sqlite3 -batch -noheader "$odb" "SELECT DISTINCT vul_type FROM rec_vulnerability WHERE vul_type GLOB '[a-z]*' AND vul_type NOT GLOB '*[^a-z_]*' ORDER BY 1" | paste -sd, -)
derived_sql() {
  local sel="" joins="" t k=0 v more
  for t in "${tables[@]:1}"; do
    k=$((k + 1)) more=""
    sel+=", coalesce(c$k.n, 0) AS c_$t"
    if [ "$t" = rec_vulnerability ]; then
      for v in ${vul_types//,/ }; do
        sel+=", coalesce(c$k.n_$v, 0) AS c_vul_$v"
        more+=", count(*) FILTER (WHERE vul_type = '$v') AS n_$v"
      done
    fi
    joins+=" LEFT JOIN (SELECT image, count(*) AS n$more FROM $t GROUP BY image) c$k ON c$k.image = i.id"
  done
  printf 'CREATE TABLE images_x AS SELECT i.*, row_number() OVER (PARTITION BY i.project_id, i.image_type, i.instance_id, i.namespace, i.image_name ORDER BY i.latest_update_time DESC, i.id DESC) = 1 AS is_latest%s FROM images i%s' "$sel" "$joins"
}

# ---- 2. PostgreSQL ----
# a unix socket's path has at most 107 bytes: a deep WORK gets one in /tmp
if [ ${#pgsock} -gt 80 ]; then pgsock=$(mktemp -d "${TMPDIR:-/tmp}/peers-pg.XXXXXX"); sock_tmp=$pgsock; fi
mkdir -p "$pgdata" "$pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$pgsock"
[ "$(id -u)" = 0 ] && chown -R postgres "$out/pg"
# the run dir's parents must let the server's user through
[ "$(id -u)" = 0 ] && { d=$out; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done; }
as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale C.UTF-8 >"$out/pg/initdb.log" 2>&1 ||
  { cat "$out/pg/initdb.log" >&2; exit 1; }
# The tuning (docs/performance.md says why each): this machine has 2 cores
# and 24 GiB shared with other work; the data set is loaded once and then
# only read.
cat >>"$pgdata/postgresql.conf" <<PGCONF
# bench/peers.sh
listen_addresses = ''
unix_socket_directories = '$pgsock'
port = 55432
shared_buffers = 2GB
effective_cache_size = 8GB
work_mem = 64MB
maintenance_work_mem = 1GB
random_page_cost = 1.1
effective_io_concurrency = 200
jit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
max_parallel_workers_per_gather = 2
max_parallel_maintenance_workers = 2
PGCONF
as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$out/pg/server.log" -w start >/dev/null || { cat "$out/pg/server.log" >&2; exit 1; }
pg_up=1
conninfo="host=$pgsock port=55432 user=postgres dbname=postgres"
psql_q() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p 55432 -U postgres -d postgres "$@"; }
trgm_cols=(namespace image_name image_version instance_name cicd_name)
{
  echo "CREATE EXTENSION pg_trgm;"
  echo "BEGIN;"
  for t in "${tables[@]}"; do
    echo "$(create_sql "$t" pg);"
    echo "\\copy $t FROM '$out/csv/$t.csv' WITH (FORMAT csv)"
  done
  echo "$(derived_sql);"
  echo "DROP TABLE images;"
  echo "COMMIT;"
  echo "ALTER TABLE images_x ADD PRIMARY KEY (id);"
  for c in project_id ep image_type scan_status image_id image_size latest_update_time latest_scan_time severity_level; do
    echo "CREATE INDEX ON images_x ($c);"
  done
  echo "CREATE INDEX ON images_x (project_id) WHERE is_latest;"
  for c in "${trgm_cols[@]}"; do echo "CREATE INDEX ON images_x USING gin ($c gin_trgm_ops);"; done
  for t in "${tables[@]:1}"; do echo "ALTER TABLE $t ADD PRIMARY KEY (image, seq);"; done
  echo "CREATE INDEX ON rec_vulnerability (vul_id, vul_type, image);"
  echo "CREATE INDEX ON rec_vulnerability (vul_type, image);"
  echo "CREATE INDEX ON rec_build_command_risk (rule_id, risk_level, image);"
  echo "CREATE INDEX ON rec_build_command_risk USING gin (risk_name gin_trgm_ops);"
  echo "VACUUM ANALYZE;"
  echo "CHECKPOINT;"
} >"$out/pg/load.sql"
load pg_load
log "PostgreSQL: load (COPY, images_x, indexes, VACUUM ANALYZE, CHECKPOINT)"
t0=$(now)
psql_q -f "$out/pg/load.sql" >"$out/pg/load.log" 2>&1 || { cat "$out/pg/load.log" >&2; exit 1; }
put pg_load_seconds "$(since "$t0")"
put pg_version "$(psql_q -At -c 'SHOW server_version')"
put pg_disk_bytes "$(du -sb "$pgdata" | cut -f1)"
put pg_database_bytes "$(psql_q -At -c 'SELECT pg_database_size(current_database())')"
log "PostgreSQL: loaded in $(sed -n 's/^pg_load_seconds=//p' "$out/peers.txt")s"

# ---- 3. DuckDB ----
duckdb=$out/duck.duckdb
{
  for t in "${tables[@]}"; do
    echo "$(create_sql "$t" duck);"
    echo "COPY $t FROM '$out/csv/$t.csv' (FORMAT csv, HEADER false);"
  done
  echo "$(derived_sql);"
  echo "DROP TABLE images;"
  echo "CHECKPOINT;"
} >"$out/duck-load.sql"
load duck_load
log "DuckDB: load (COPY, images_x, CHECKPOINT)"
r=$(node "$here/peers/duck.mjs" load "$duckdb" "$out/duck-load.sql")
put duck_load_seconds "${r#seconds=}"
put duck_version "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$here/peers/node_modules/@duckdb/node-api/package.json")"
put duck_disk_bytes "$(du -cb "$duckdb"* | awk 'END { print $1 }')"
log "DuckDB: loaded in ${r#seconds=}s"
coproc DUCK { exec node "$here/peers/duck.mjs" serve "$duckdb"; }
pids+=("$DUCK_PID")
duck() { echo "$*" >&"${DUCK[1]}"; local l; read -r l <&"${DUCK[0]}"; echo "$l"; }

# ---- imgsec: its own imgsecd, result cache off ----
imgsec=$bin/imgsec imgsecd=$bin/imgsecd region=bench-1 password=bench-password-2
IMGSEC_PASSWORD=$password "$imgsec" user add --db "$db" --domain peers --name reader \
  --project "$project" --role reader --eps all >/dev/null 2>&1 || true
bench_imgsecd "$out/imgsecd.log" "$out/port" "$imgsecd" --db "$db" --listen 127.0.0.1:0 \
  --region "$region" --result-cache-mb 0 || exit 1
pids+=("$bench_pid")
url=$bench_url
token=$(bench_token "$url" peers reader "$password" "$project")
[ -n "$token" ] || { echo "bench/peers: no token" >&2; exit 1; }

# ---- 4. the bodies, counts checked ----
passed=0 failed=0
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
names=()
while IFS=$'\t' read -r name report ep body sqlf; do
  names+=("$name")
  python3 "$here/peers_sql.py" "$sqlf" "$vul_types" >"$out/sql/$name.sql"
  got=$(curl -sS -H "X-Auth-Token: $token" -H "region: $region" -H 'Content-Type: application/json' \
    --data-binary "@$body" "$url/v5/$project/image/security-report/statistic?security_report_type=$report&enterprise_project_id=$ep" |
    sed -n 's/.*"total_num": *\([0-9]*\).*/\1/p')
  pg=$(field count "$("$out/pg_latency" "$conninfo" "$out/sql/$name.sql" 0)")
  dk=$(field count "$(duck count "$name" "$out/sql/$name.sql")")
  put "count.$name" "imgsec=$got pg=$pg duck=$dk"
  if [ -n "$got" ] && [ "$got" = "$pg" ] && [ "$got" = "$dk" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); log "MISMATCH $name: imgsec ${got:-nothing}, PostgreSQL ${pg:-nothing}, DuckDB ${dk:-nothing}"
  fi
done <"$mixdir/mix.tsv"
log "counts: $passed bodies agree on all three engines, $failed do not"
put checks_passed "$passed"; put checks_failed "$failed"
[ "$failed" = 0 ] || { echo "bench/peers: $passed passed, $failed failed"; exit 1; }

# ---- 5. latency, interleaved ----
load latency
for ((k = 1; k <= rounds; k++)); do
  log "round $k of $rounds"
  for name in "${names[@]}"; do
    r=$(LATENCY_SAMPLES=$out/samples/$name.imgsec "$out/latency" "$url" "$mixdir/mix.tsv" "$token" "$project" "$region" "$seconds" "$name" | sed -n 's/^RESULT //p')
    [ "$(field non2xx "$r")" = 0 ] && [ "$(field errors "$r")" = 0 ] ||
      { echo "bench/peers: imgsec $name: $r"; exit 1; }
    "$out/pg_latency" "$conninfo" "$out/sql/$name.sql" "$seconds" "$out/samples/$name.pg" >/dev/null
    duck time "$name" "$out/sql/$name.sql" "$seconds" "$out/samples/$name.duck" >/dev/null
  done
done
load latency_end
echo "quit" >&"${DUCK[1]}" 2>/dev/null || true

# ---- the tables ----
python3 - "$out" "$work/results.txt" "${names[@]}" <<'PY' >"$out/peers.md"
import math, os, sys
out, results, names = sys.argv[1], sys.argv[2], sys.argv[3:]
kv = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "peers.txt")) if "=" in l)
run = {}
if os.path.exists(results):
    run = dict(l.rstrip("\n").split("=", 1) for l in open(results) if "=" in l)
def pct(v, p):  # nearest rank, as bench/latency_stats.h
    i = math.ceil(p / 100 * len(v))
    return v[i - 1 if i else 0]
engines = [("imgsec", "imgsec"), ("pg", "PostgreSQL"), ("duck", "DuckDB")]
res = {}
for n in names:
    for e, _ in engines:
        v = sorted(float(x) for x in open(os.path.join(out, "samples", f"{n}.{e}")) if x.strip())
        res[n, e] = (pct(v, 50), pct(v, 99), len(v))
put = open(os.path.join(out, "peers.txt"), "a")
for (n, e), (p50, p99, c) in res.items():
    put.write(f"latency.{e}.{n}=p50_ms={p50:.3f} p99_ms={p99:.3f} samples={c}\n")
print(f"{kv['images']} images, {kv['records']} records; counts equal on all three engines for "
      f"{kv['checks_passed']} of {len(names)} bodies. Latency: p50 / p99 in ms over all rounds, "
      f"ratio = peer / imgsec. Load average: {kv.get('load.latency', '?')} at the start, "
      f"{kv.get('load.latency_end', '?')} at the end.\n")
print("| body | imgsec p50 | p99 | PostgreSQL p50 | p99 | ratio p50 / p99 | DuckDB p50 | p99 | ratio p50 / p99 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
def r(a, b): return f"{a / b:.1f}x" if b > 0 else "-"
for n in names:
    i, p, d = res[n, "imgsec"], res[n, "pg"], res[n, "duck"]
    print(f"| `{n}` | {i[0]:.3f} | {i[1]:.3f} | {p[0]:.3f} | {p[1]:.3f} | {r(p[0], i[0])} / {r(p[1], i[1])} "
          f"| {d[0]:.3f} | {d[1]:.3f} | {r(d[0], i[0])} / {r(d[1], i[1])} |")
s = {e: sum(res[n, e][0] for n in names) for e, _ in engines}
w = {e: max((res[n, e][1], n) for n in names) for e, _ in engines}
lead = {e: min((res[n, e][0] / res[n, "imgsec"][0], n) for n in names) for e in ("pg", "duck")}
print()
print("| | imgsec | PostgreSQL tuned | DuckDB tuned |")
print("|---|---:|---:|---:|")
print(f"| sum of p50 over the mix | {s['imgsec']:.2f} ms | {s['pg']:.2f} ms ({r(s['pg'], s['imgsec'])}) | {s['duck']:.2f} ms ({r(s['duck'], s['imgsec'])}) |")
print(f"| smallest per-body lead at p50 | | {lead['pg'][0]:.1f}x (`{lead['pg'][1]}`) | {lead['duck'][0]:.1f}x (`{lead['duck'][1]}`) |")
print(f"| worst p99 | {w['imgsec'][0]:.2f} ms (`{w['imgsec'][1]}`) | {w['pg'][0]:.2f} ms (`{w['pg'][1]}`) | {w['duck'][0]:.2f} ms (`{w['duck'][1]}`) |")
ing, ing_rec = run.get("ingest_seconds"), run.get("records")
mb = lambda b: f"{int(b) / 1e6:,.0f} MB" if int(b) >= 10e6 else f"{int(b) / 1e6:,.1f} MB"
rate = lambda n, t: f"{int(n) / float(t):,.0f} records/s"
if ing and ing_rec:
    imp = f"{float(ing):.1f} s for {int(ing_rec):,} records, {rate(ing_rec, ing)} (`imgsec import`, NDJSON)"
else:
    imp = "(no WORK/results.txt)"
print(f"| bulk load | {imp} | {float(kv['pg_load_seconds']):.1f} s for {int(kv['records']):,} records, "
      f"{rate(kv['records'], kv['pg_load_seconds'])} (COPY, images_x, indexes, VACUUM ANALYZE) "
      f"| {float(kv['duck_load_seconds']):.1f} s for {int(kv['records']):,} records, "
      f"{rate(kv['records'], kv['duck_load_seconds'])} (COPY, images_x) |")
# the SQLite file as the peers loaded it (its WAL too, when there)
dbf = os.path.join(os.path.dirname(out), "imgsec.db")
dbb = sum(os.path.getsize(f) for f in (dbf, dbf + "-wal") if os.path.exists(f))
print(f"| on disk, {int(kv['records']):,} records | {mb(dbb)} (SQLite file) | {mb(kv['pg_disk_bytes'])} (data directory) | {mb(kv['duck_disk_bytes'])} (file) |")
print(f"\nBoth peers read CSV exported from the oracle file (bench/oracle.sh, `imgsec records`): {float(kv['export_seconds']):.1f} s, "
      f"{mb(kv['export_csv_bytes'])}, not in their load times. PostgreSQL {kv['pg_version']}, DuckDB {kv['duck_version']} (@duckdb/node-api).")
PY
cat "$out/peers.md"
echo "bench/peers: $passed passed, $failed failed"
[ "$failed" = 0 ]
