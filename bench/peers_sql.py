#!/usr/bin/env python3
"""bench/peers_sql.py - the tuned peers' SQL for one body of bench/mix.sh.

    peers_sql.py MIX_SQL_FILE [VUL_TYPES] > PEER_SQL_FILE

mix.sh writes, per body, the plain SQL (SQLite) that joins the record table
to the images and counts. The peers (PostgreSQL, DuckDB: bench/peers.sh)
answer the same question from the derived table images_x that
bench/peers.sh builds at load time (the images, plus is_latest, one
record count per record table, c_<record table>, and one count of
vulnerabilities per vul_type of VUL_TYPES, comma-separated: c_vul_<type>). The rewrite, each rule
checked by bench/peers.sh's count comparison:
  - `JOIN images i` reads images_x;
  - the latest_version window subquery becomes `i.is_latest` (computed
    once at load, with the same partition and order);
  - `instr(col, 'v') > 0` becomes `col LIKE '%v%'` (a trigram index can
    serve it in PostgreSQL), unless v holds a LIKE wildcard or escape;
  - a body without any condition on the record (no `r.`) sums the
    per-image count instead of joining: `SELECT coalesce(sum(i.c_T), 0)
    FROM images_x i WHERE ...`; one whose only record condition is
    `r.vul_type = 'T'`, T in VUL_TYPES, sums c_vul_T.
The result is one statement both PostgreSQL and DuckDB accept.
"""
import re
import sys

sql = open(sys.argv[1]).read().strip().rstrip(";")
sql = sql.replace("JOIN images i ON", "JOIN images_x i ON")
sql, n = re.subn(
    r"i\.id IN \(SELECT id FROM \(SELECT id, row_number\(\) OVER \(PARTITION BY "
    r"image_type, instance_id, namespace, image_name ORDER BY latest_update_time DESC, "
    r"id DESC\) AS k FROM images WHERE project_id = '[^']*'\) WHERE k = 1\)",
    "i.is_latest",
    sql,
)
if "row_number()" in sql:
    sys.exit("peers_sql: a latest_version subquery this rewrite does not know: " + sys.argv[1])


def like(m):
    col, v = m.group(1), m.group(2)
    if any(c in v for c in "%_\\"):
        return m.group(0).replace("instr(", "strpos(")
    return "%s LIKE '%%%s%%'" % (col, v)


sql = re.sub(r"instr\(([a-z]\.[a-z_]+), '((?:[^']|'')*)'\) > 0", like, sql)
m = re.fullmatch(r"SELECT count\(\*\) FROM (rec_[a-z_]+) r JOIN images_x i ON i\.id = r\.image WHERE (.*)", sql, re.S)
if not m:
    sys.exit("peers_sql: not the shape mix.sh writes: " + sys.argv[1])
table, where = m.group(1), m.group(2)
vul_types = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else []
v = re.fullmatch(r"(.*) AND r\.vul_type = '([a-z_]+)'", where, re.S)
if not re.search(r"\br\.", where):
    sql = "SELECT coalesce(sum(i.c_%s), 0) FROM images_x i WHERE %s" % (table, where)
elif table == "rec_vulnerability" and v and v.group(2) in vul_types and not re.search(r"\br\.", v.group(1)):
    sql = "SELECT coalesce(sum(i.c_vul_%s), 0) FROM images_x i WHERE %s" % (v.group(2), v.group(1))
print(sql + ";")
