#!/usr/bin/env bash
# test_deb.sh - the Debian package, end to end (docs/operations.md
# "Installing"; `make package-test`).
#
#   tests/package/test_deb.sh SOURCE_DIR WORK_DIR
#
# 1. Builds imgsec for /usr in WORK_DIR/build and makes the .deb with CPack.
# 2. Checks what it holds (binaries, console, unit, defaults, man pages)
#    and that its Depends were derived from the linked shared libraries;
#    the man pages document every flag of imgsecd --help and every command
#    of imgsec --help.
# 3. Installs it into a clean Debian 12 root: debootstrap (minbase) once
#    into WORK_DIR/base (kept: a few minutes and the Debian mirror), copied
#    to a fresh WORK_DIR/root on every run; `apt-get install ./imgsec.deb`
#    there resolves the dependencies from the mirror (with systemd, so
#    that `systemd-analyze verify --root` checks the installed unit among
#    Debian's units, with the binary it names in place).
# 4. Runs the installed imgsecd in the root (chroot, as the package's user
#    imgsec, on a free loopback port), with a user and a scan result added
#    by the installed imgsec, and checks from outside: /healthz and /readyz
#    200, a token, a statistic that counts the imported image (total_num 1),
#    the console's index from /usr/share/imgsec/console, /metrics.
#
# Needs root (chroot, mount), debootstrap, and the Debian mirror
# (IMGSEC_DEBIAN_MIRROR, default http://deb.debian.org/debian).
set -euo pipefail

src=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
mirror=${IMGSEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$work/root
pid=

fail() { echo "test_deb: FAIL: $*" >&2; exit 1; }
step() { echo "test_deb: $*" >&2; }

cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    for m in proc dev/pts dev; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true
    done
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || fail "needs root (chroot, mount)"
command -v debootstrap >/dev/null || fail "debootstrap missing (scripts/deps.sh)"

# ---- 1. the package ----
step "building the .deb"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DBUILD_TESTING=OFF >/dev/null
cmake --build "$work/build" -j "${JOBS:-2}" --target imgsecd imgsec-cli manpages >/dev/null
rm -f "$work"/build/imgsec_*.deb
(cd "$work/build" && cpack -G DEB >/dev/null)
debs=("$work"/build/imgsec_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "want one imgsec_*.deb, got: ${debs[*]}"
deb=${debs[0]}
step "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# ---- 2. what it holds ----
listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/sbin/imgsecd /usr/bin/imgsec /usr/share/imgsec/console/index.html \
         /usr/share/imgsec/console/app.js /usr/lib/systemd/system/imgsecd.service \
         /etc/default/imgsecd /usr/share/man/man8/imgsecd.8.gz /usr/share/man/man1/imgsec.1.gz \
         /usr/share/doc/imgsec/operations.md; do
    grep -qx "$f" <<<"$listing" || fail "the package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
step "Depends: $depends"
for lib in libc6 libmicrohttpd12 libsqlite3-0 libsodium23 libjansson4 libcurl4; do
    grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib (shlibdeps): $depends"
done
conffiles=$(dpkg-deb -I "$deb" conffiles 2>/dev/null || true)
grep -qx /etc/default/imgsecd <<<"$conffiles" || fail "/etc/default/imgsecd is not a conffile"

tree=$work/tree
rm -rf "$tree" && mkdir -p "$tree"
dpkg-deb -x "$deb" "$tree"
man8=$work/imgsecd.8
man1=$work/imgsec.1
gzip -dc "$tree/usr/share/man/man8/imgsecd.8.gz" >"$man8"
gzip -dc "$tree/usr/share/man/man1/imgsec.1.gz" >"$man1"
[ -s "$man8" ] && [ -s "$man1" ] || fail "man pages empty"
# the man pages render without warnings and cover --help
for m in "$man8" "$man1"; do
    warn=$(groff -man -Tutf8 -ww "$m" 2>&1 >/dev/null || true)
    [ -z "$warn" ] || fail "$(basename "$m"): groff warns: $warn"
done
rendered8=$(MANWIDTH=200 man -l "$man8" 2>/dev/null | col -b)
for flag in $("$tree/usr/sbin/imgsecd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$flag" <<<"$rendered8" || fail "imgsecd(8) does not document $flag"
done
rendered1=$(MANWIDTH=200 man -l "$man1" 2>/dev/null | col -b)
for cmd in $("$tree/usr/bin/imgsec" --help 2>&1 | awk '/^commands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
    grep -q "^ *$cmd\b" <<<"$rendered1" || fail "imgsec(1) does not document the command $cmd"
done

# ---- 3. a clean Debian 12 root ----
if [ ! -x "$work/base/usr/bin/apt-get" ]; then
    step "debootstrap bookworm (minbase) into $work/base from $mirror"
    rm -rf "$work/base.tmp"
    debootstrap --variant=minbase bookworm "$work/base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        fail "debootstrap failed: see $work/debootstrap.log"
    mv "$work/base.tmp" "$work/base"
fi
step "fresh root from the base"
cleanup
rm -rf "$root"
cp -a "$work/base" "$root"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${IMGSEC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
SOURCES
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$deb" "$root/tmp/imgsec.deb"
step "apt-get install ./imgsec.deb in the root"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq update >"$work/apt.log" 2>&1 ||
    fail "apt-get update in the root: $(tail -5 "$work/apt.log")"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends \
    install /tmp/imgsec.deb systemd >>"$work/apt.log" 2>&1 ||
    fail "apt-get install ./imgsec.deb: $(tail -20 "$work/apt.log")"
chroot "$root" dpkg -s imgsec | grep -qx 'Status: install ok installed' || fail "imgsec not installed"
chroot "$root" getent passwd imgsec >/dev/null || fail "postinst made no user imgsec"
mode=$(chroot "$root" stat -c '%a %U:%G' /var/lib/imgsec)
[ "$mode" = "700 imgsec:imgsec" ] || fail "/var/lib/imgsec: want 700 imgsec:imgsec, got $mode"

# the unit as installed, among Debian's own units and with its binary there
# (the man pages were checked above: --man=no)
step "systemd-analyze verify imgsecd.service"
out=$(systemd-analyze verify --root="$root" --man=no /usr/lib/systemd/system/imgsecd.service 2>&1) ||
    fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complains: $out"

# ---- 4. the installed imgsecd ----
db=/var/lib/imgsec/imgsec.db
as_imgsec() { chroot "$root" setpriv --reuid=imgsec --regid=imgsec --init-groups "$@"; }
as_imgsec env IMGSEC_PASSWORD=pkg-test-pw1 /usr/bin/imgsec user add --db $db --domain acme \
    --name root --project P1 --role admin --eps all >/dev/null || fail "imgsec user add"
cat >"$root/tmp/doc.json" <<'DOC'
{"image":{"image_type":"local_image","image_name":"pkg","image_version":"1","scan_status":"success"},
 "apps":[{"app_name":"openssl","app_version":"3.0.0"}]}
DOC
chmod 644 "$root/tmp/doc.json"
as_imgsec /usr/bin/imgsec import --db $db --project P1 /tmp/doc.json >/dev/null || fail "imgsec import"
rm -f "$root/tmp/port"
step "starting the installed /usr/sbin/imgsecd"
# not through as_imgsec: a function run with & is a subshell, and $! must be
# imgsecd itself (chroot and setpriv exec it) for the SIGTERM below
chroot "$root" setpriv --reuid=imgsec --regid=imgsec --init-groups \
    /usr/sbin/imgsecd --db $db --listen 127.0.0.1:0 --region pkg-1 --port-file /tmp/port \
    >"$work/imgsecd.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
    [ -s "$root/tmp/port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "imgsecd exited: $(cat "$work/imgsecd.log")"
    sleep 0.1
done
[ -s "$root/tmp/port" ] || fail "imgsecd wrote no port in 30 s: $(cat "$work/imgsecd.log")"
base=http://127.0.0.1:$(cat "$root/tmp/port")
check() { # want-status what curl-args...
    local want=$1 what=$2; shift 2
    local got
    got=$(curl -s -o "$work/body" -w '%{http_code}' "$@") || fail "$what: curl failed"
    [ "$got" = "$want" ] || fail "$what: want $want, got $got: $(head -c 400 "$work/body")"
}
check 200 "GET /healthz" "$base/healthz"
grep -qx '{"status":"ok"}' "$work/body" || fail "/healthz body: $(cat "$work/body")"
check 200 "GET /readyz" "$base/readyz"
grep -q '"images":1' "$work/body" || fail "/readyz body: $(cat "$work/body")"
check 200 "GET /console/" "$base/console/"
cmp -s "$work/body" "$root/usr/share/imgsec/console/index.html" || fail "/console/ is not the installed index.html"
check 201 "POST /v3/auth/tokens" -D "$work/headers" -H 'Content-Type: application/json' \
    --data '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"root","password":"pkg-test-pw1","domain":{"name":"acme"}}}},"scope":{"project":{"id":"P1"}}}}' \
    "$base/v3/auth/tokens"
token=$(awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' "$work/headers" | tr -d '\r')
[ -n "$token" ] || fail "no X-Subject-Token"
check 200 "statistic" -H "X-Auth-Token: $token" -H 'region: pkg-1' \
    -H 'Content-Type: application/json' --data '{"operate_all":true}' \
    "$base/v5/P1/image/security-report/statistic?security_report_type=apps"
grep -q '"total_num":1' "$work/body" || fail "statistic: want total_num 1, got $(cat "$work/body")"
check 200 "GET /metrics" "$base/metrics"
grep -q '^imgsec_index_images 1$' "$work/body" || fail "/metrics: want imgsec_index_images 1"
kill "$pid"
wait "$pid" || fail "imgsecd did not exit 0 on SIGTERM: $(tail -5 "$work/imgsecd.log")"
pid=
grep -q 'imgsecd: stopped' "$work/imgsecd.log" || fail "imgsecd log: $(tail -5 "$work/imgsecd.log")"
step "PASS: $(basename "$deb") installs on Debian 12 and serves"
