#!/usr/bin/env bash
# rematch_phases.sh - a first rematch (--bulk auto, 2 workers) on a copy of
# an un-rematched store, timed by phase: the images, each index rebuilt at
# the end of the bulk write, and the commit with its checkpoint; with the
# process's bytes written (/proc/PID/io write_bytes) and the WAL's size
# sampled every second (docs/performance.md "The first rematch by phase").
#
# usage: bench/rematch_phases.sh IMGSEC STORE.db VULNDB.sqlite WORKDIR
#   STORE.db is copied to WORKDIR/run.db first (it is not written);
#   WORKDIR/phases.log gets the progress lines with their times,
#   WORKDIR/io.log the samples (time, bytes written, WAL bytes, file bytes).
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: $0 IMGSEC STORE.db VULNDB.sqlite WORKDIR" >&2
    exit 2
fi
bin=$(realpath "$1") src=$2 vdb=$(realpath "$3") dir=$4
mkdir -p "$dir"
cd "$dir"
rm -f run.db run.db-wal run.db-shm
cp "$src" run.db
load0=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
# progress goes to stderr; every line gets the time it arrived
/usr/bin/time -o time.log -f "%e s wall, %U s user, %S s sys, %O blocks written, %M KB max RSS" \
    stdbuf -oL "$bin" vulndb rematch --workers 2 --bulk auto --vulndb "$vdb" --db run.db 2>&1 |
    while IFS= read -r l; do echo "$(date +%s.%N) $l"; done >phases.log &
pid=
for _ in $(seq 100); do
    pid=$(pgrep -n -f "vulndb rematch .*--db run.db" || true)
    [ -n "$pid" ] && break
    sleep 0.1
done
: >io.log
while [ -n "$pid" ] && [ -r "/proc/$pid/io" ]; do
    w=$(awk '/^write_bytes/{print $2}' "/proc/$pid/io" 2>/dev/null || true)
    [ -n "$w" ] && echo "$(date +%s.%N) $w $(stat -c %s run.db-wal 2>/dev/null || echo 0) $(stat -c %s run.db)" >>io.log
    sleep 1
done
wait
echo "load $load0 -> $(cut -d' ' -f1 /proc/loadavg); $(cat time.log)"
tail -1 phases.log | cut -d' ' -f2-
# phase ends: the last image, each index, the end; bytes written at the
# sample nearest before each
awk -v io=io.log -v t0="$start" '
    BEGIN { while ((getline line < io) > 0) { split(line, f, " "); n++; t[n] = f[1]; w[n] = f[2]; wal[n] = f[3] } }
    function wb(x,   i, r) { r = 0; for (i = 1; i <= n && t[i] <= x; i++) r = w[i]; return r }
    / images$/ { ti = $1 }
    /[0-9]+\/[0-9]+ indexes rebuilt$/ { k++; tk[k] = $1 }
    { te = $1 }
    END {
        for (i = 1; i <= n; i++) if (wal[i] > mw) mw = wal[i]
        printf "images %.1f s (%.2f GB written)\n", ti - t0, wb(ti) / 1e9
        p = ti
        for (i = 1; i <= k; i++) { printf "index %d %.1f s (%.2f GB)\n", i, tk[i] - p, (wb(tk[i]) - wb(p)) / 1e9; p = tk[i] }
        printf "commit and the rest %.1f s (%.2f GB to the end of the samples)\n", te - p, (w[n] - wb(p)) / 1e9
        printf "WAL at most %.2f GB\n", mw / 1e9
    }' phases.log
ls -l run.db
