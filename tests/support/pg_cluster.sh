#!/bin/sh
# pg_cluster.sh - a throwaway PostgreSQL cluster for the tests labelled pg.
#
#   pg_cluster.sh start DIR   initdb + pg_ctl start in DIR (made anew), listening
#                             only on a unix socket in DIR (no TCP port), trust
#                             authentication for the superuser "imgsec";
#                             prints the URI of its "postgres" database
#   pg_cluster.sh stop DIR    stops it (fast, then immediate) and removes DIR
#   pg_cluster.sh uri DIR     the URI, without starting anything
#   pg_cluster.sh pause DIR   stops the server (fast), keeping DIR: clients
#                             lose their connections (tests of connection loss)
#   pg_cluster.sh crash DIR   stops the server as a crash would (immediate:
#                             no shutdown checkpoint; the start replays the
#                             WAL), keeping DIR
#   pg_cluster.sh resume DIR  starts the paused (or crashed) server again
#
# CTest runs start as the setup of the fixture "pg" and stop as its cleanup
# (tests/CMakeLists.txt); a pg test reads the URI from IMGSEC_TEST_PG and
# makes its own database in it (tests/support/pg_test.h).
#
# initdb refuses to run as root: as root, the cluster is made and run by
# the unprivileged user IMGSEC_PG_USER (default postgres, which Debian's
# postgresql package creates), DIR is owned by that user, and root (the
# test) connects through the socket like any client. DIR must be short:
# a unix socket path has at most 107 bytes.
#
# Speed over durability (fsync off, no WAL archiving): the data lives for
# one test run. synchronous_commit is off too, unless
# IMGSEC_PG_SYNCHRONOUS_COMMIT=on: a test that crashes the server (crash,
# below) and counts acknowledged commits wants it on, since with it off
# PostgreSQL acknowledges a commit before its WAL is written, and an
# immediate stop loses the last ones (fsync off only matters when the
# machine itself crashes).
set -eu

usage() { echo "usage: $0 start|stop|uri|pause|crash|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=${IMGSEC_PG_BINDIR:-}
if [ -z "$bindir" ]; then
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && bindir=$d
    done
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || { echo "pg_cluster.sh: no initdb (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${IMGSEC_PG_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

uri() { echo "postgresql:///postgres?host=$dir&user=imgsec"; }

stop() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
            as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

server_start() {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off \
            -c synchronous_commit=${IMGSEC_PG_SYNCHRONOUS_COMMIT:-off} -c full_page_writes=off -c max_connections=400" \
        start >/dev/null || { cat "$dir/data/server.log" >&2; exit 1; }
}

case $cmd in
uri) uri ;;
stop) stop ;;
start)
    stop # a cluster an interrupted run left behind
    mkdir -m 0700 "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown "${IMGSEC_PG_USER:-postgres}" "$dir"
    fi
    as_owner "$bindir/initdb" -D "$dir/data" -U imgsec --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; rm -f "$dir.initdb.log"; exit 1; }
    rm -f "$dir.initdb.log"
    server_start
    uri
    ;;
pause) as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ;;
crash) as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null ;;
resume) server_start ;;
*) usage ;;
esac
