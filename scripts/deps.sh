#!/usr/bin/env bash
# Installs the Debian 12 packages imgsec needs to build, test and run,
# skipping what is already there. Safe to run again and again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git curl sqlite3
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libroaring-dev
  libcmocka-dev libcurl4-openssl-dev openssl
  libxlsxwriter-dev python3 python3-openpyxl
  libyajl-dev libxxhash-dev
  # imgsec scan and vulndb: archives, rpm databases, YARA, PCRE2, zstd layers;
  # libzstd also compresses the store's record blocks (src/lib/store/store_block.c)
  libarchive-dev librpm-dev libyara-dev libpcre2-dev libzstd-dev zstd
  rpm-common # librpm reads /usr/lib/rpm/rpmrc; without it test_scan_pkgs_os fails
  # layer digests: OpenSSL's SHA-256 (SHA-NI), several times libsodium's portable one
  libssl-dev
  zlib1g-dev binutils # cargo-auditable data (zlib); tests add sections with objcopy
  libcrypt-dev # the baseline analyzer's weak-password check (libxcrypt's crypt_rn)
  # tests: the official Python SDK's dependencies (tests/conformance, ../shared/sdk)
  python3-requests python3-requests-toolbelt python3-simplejson python3-pymongo
  python3-pyasn1 python3-defusedxml python3-yaml python3-six python3-certifi
  wrk nginx-light # bench/run.sh: the load generator and the HTTP reference point
  # bench/peers.sh: PostgreSQL 15, a tuned peer (a throwaway cluster; pg_trgm
  # is in postgresql-contrib; its client is libpq)
  postgresql postgresql-contrib libpq-dev
  chromium # tests/console: the web console in a real browser (playwright-core drives it)
  # tests/registry: a real registry on loopback (basic auth: htpasswd), filled by skopeo
  docker-registry skopeo apache2-utils
  # tests/package/test_deb.sh (make package-test): a clean Debian 12 root; the unit's check
  debootstrap systemd
)

# `make fuzz` only: clang and its libFuzzer runtime.
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-14-dev)
fi
# The SDK conformance test (tests/conformance) runs the official Node SDK;
# keep any node already installed (e.g. a newer one from elsewhere).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
