#!/bin/sh
# test_cli_pg.sh - the command line's user and key commands on PostgreSQL
# (ctest: pg.cli_users_keys, fixture pg): `--db postgresql://...` works as
# a file path does for imgsec user and imgsec key, the schema is made on
# first use, a large demo or import leaves the planner's statistics
# current, and the URI's password never appears in a message.
#
#   test_cli_pg.sh IMGSEC_CLI IMGSECD STORE_H   (IMGSEC_TEST_PG: the cluster's admin URI;
#   STORE_H: include/imgsec/store.h, whose STORE_SCHEMA_VERSION the schema must carry)
set -eu
cli=$1
imgsecd=$2
schema=$(sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$3")
[ -n "$schema" ] || { echo "FAIL: no STORE_SCHEMA_VERSION in $3" >&2; exit 1; }
admin=${IMGSEC_TEST_PG:?IMGSEC_TEST_PG is not set (run through ctest: fixture pg)}
name=imgsec_cli$$
uri=$(printf '%s' "$admin" | sed "s|/postgres?|/$name?|")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cli_pg.XXXXXX")
cleanup() { psql -q "$admin" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect WANT GOT WHAT
    [ "$1" = "$2" ] || fail "$3: want [$1], got [$2]"
}

psql -q "$admin" -c "CREATE DATABASE $name" >/dev/null

# users: add (schema made on first use), grant, list, revoke
IMGSEC_PASSWORD=pw1 "$cli" user add --db "$uri" --domain acme --name alice --project P1 \
    --role writer --eps 0,ep-a >/dev/null
IMGSEC_PASSWORD=pw2 "$cli" user add --db "$uri" --domain acme --name bob --project P2 \
    --role reader --eps all >/dev/null
if IMGSEC_PASSWORD=pw3 "$cli" user add --db "$uri" --domain acme --name alice --project P1 \
    --role reader --eps all 2>"$tmp/err"; then fail "a second acme/alice was added"; fi
grep -q "already exists" "$tmp/err" || fail "duplicate user: $(cat "$tmp/err")"
"$cli" user grant --db "$uri" --domain acme --name alice --project P2 --role admin --eps all >/dev/null
"$cli" user list --db "$uri" >"$tmp/list"
printf 'domain\tname\tproject\trole\teps\nacme\talice\tP1\twriter\t0,ep-a\nacme\talice\tP2\tadmin\tall\nacme\tbob\tP2\treader\tall\n' >"$tmp/want"
cmp -s "$tmp/want" "$tmp/list" || fail "user list: $(cat "$tmp/list")"
"$cli" user revoke --db "$uri" --domain acme --name alice --project P2 >/dev/null
expect 2 "$(psql -tAq "$uri" -c "SELECT count(*) FROM grants")" "grants after revoke"
expect "$schema" "$(psql -tAq "$uri" -c "SELECT version FROM imgsec_schema")" "schema version"

# keys: a PostgreSQL database has no key file beside it
if "$cli" key create --db "$uri" --domain acme --name alice >/dev/null 2>"$tmp/err"; then
    fail "key create without --key-file"
fi
grep -q -- "--key-file" "$tmp/err" || fail "key create message: $(cat "$tmp/err")"
"$cli" key create --db "$uri" --key-file "$tmp/server.key" --domain acme --name alice >"$tmp/key"
expect 1 "$(psql -tAq "$uri" -c "SELECT count(*) FROM access_keys")" "access keys"
ak=$(psql -tAq "$uri" -c "SELECT ak FROM access_keys")
"$cli" key list --db "$uri" | grep -q "$ak" || fail "key list lacks $ak"
"$cli" key del --db "$uri" --ak "$ak" >/dev/null
expect 0 "$(psql -tAq "$uri" -c "SELECT count(*) FROM access_keys")" "access keys after del"

# deleting the user takes its grants; the auth epoch moved with each change
"$cli" user del --db "$uri" --domain acme --name alice >/dev/null
expect 1 "$(psql -tAq "$uri" -c "SELECT count(*) FROM users")" "users after del"
[ "$(psql -tAq "$uri" -c "SELECT n FROM auth_epoch")" -gt 0 ] || fail "auth epoch did not move"

# a load of many records leaves the planner's statistics current (ANALYZE,
# store_after_load); a small one leaves them to autovacuum
analyzed() { psql -tAq "$uri" -c "SELECT count(*) FROM pg_stat_user_tables WHERE relname = '$1' AND last_analyze IS NOT NULL"; }
"$cli" demo --db "$uri" --project P9 --images 10 --records-per-image 20 >/dev/null 2>"$tmp/err"
expect 0 "$(analyzed rec_vulnerability)" "analyzed after a small demo"
grep -q "ANALYZE" "$tmp/err" && fail "a small demo said it analyzed: $(cat "$tmp/err")"
"$cli" demo --db "$uri" --project P9 --images 300 --records-per-image 200 >/dev/null 2>"$tmp/err"
expect 1 "$(analyzed rec_vulnerability)" "analyzed after a demo of 300 images"
expect 1 "$(analyzed images)" "images analyzed after a demo of 300 images"
grep -q "updating the planner's statistics (ANALYZE)" "$tmp/err" || fail "demo: $(cat "$tmp/err")"
"$cli" gen --images 300 --records-per-image 200 --seed 3 >"$tmp/fleet.ndjson"
psql -q "$uri" -c "SELECT pg_stat_reset()" >/dev/null
expect 0 "$(analyzed rec_app)" "analyzed after the reset"
"$cli" import --db "$uri" --project P8 "$tmp/fleet.ndjson" >/dev/null 2>"$tmp/err"
expect 1 "$(analyzed rec_app)" "analyzed after an import of 300 images"
grep -q "updating the planner's statistics (ANALYZE)" "$tmp/err" || fail "import: $(cat "$tmp/err")"

# a server that refuses: the password of the URI is not shown
bad="postgresql://u:s3cret@/nodb?host=$tmp/nowhere"
if "$cli" user list --db "$bad" 2>"$tmp/err"; then fail "user list on no server"; fi
grep -q "s3cret" "$tmp/err" && fail "the password was shown: $(cat "$tmp/err")"
grep -q "u:\*\*\*@" "$tmp/err" || fail "the URI was not shown redacted: $(cat "$tmp/err")"

# imgsecd on a URI without --export-dir: nothing is beside a database on a
# server, so it says what it needs and exits 2 (the API suite runs it with
# one: pg.api.*)
rc=0
"$imgsecd" --db "$uri" --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" || rc=$?
expect 2 "$rc" "imgsecd --db URI exit code"
grep -q "a PostgreSQL database needs --export-dir" "$tmp/err" || fail "imgsecd message: $(cat "$tmp/err")"
echo "ok"
