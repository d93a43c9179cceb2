#!/usr/bin/env bash
# Builds the images of docs/performance.md "Scanning images": a Debian 12
# (bookworm) minbase root filesystem made by debootstrap, then layers of
# language trees (node_modules from bench/scan_npm's lock file, this
# machine's Python dist-packages, jars, Go and Rust binaries), planted
# secrets and risky files, large data files and a whiteout layer, as
# docker-save archives of about 100 MiB, 1 GiB and 4 GiB of uncompressed
# layer data, and the 1 GiB one again as an OCI layout with gzip layers.
#
# usage: bench/scan_debootstrap.sh DATADIR [100 1g 4g oci]   (as root)
#   needs: apt-get install -y debootstrap skopeo; npm (for the node_modules layer)
#   MIRROR=http://deb.debian.org/debian picks the Debian mirror.
# DATADIR keeps the rootfs and the npm tree between runs (delete them to
# rebuild); it gets img100.tar, img1g.tar, img4g.tar and img1g-oci/.
# Scan one: /usr/bin/time -v build/imgsec scan --output json DATADIR/img1g.tar >/dev/null
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:?usage: $0 DATADIR [100 1g 4g oci]}; shift
want=("$@"); [[ ${#want[@]} -gt 0 ]] || want=(100 1g 4g oci)
mirror=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$data"; data=$(cd "$data" && pwd)
export TMPDIR=$data # the layer tars are as large as the image
need() { command -v "$1" >/dev/null || { echo "$0: needs $1 ($2)" >&2; exit 2; }; }
need debootstrap "apt-get install -y debootstrap"
need npm "apt-get install -y npm"

# 1. the base: Debian 12 minbase
if [[ ! -f $data/rootfs/etc/os-release ]]; then
  rm -rf "$data/rootfs"
  debootstrap --variant=minbase bookworm "$data/rootfs" "$mirror"
fi
# 2. node_modules, pinned by bench/scan_npm/package-lock.json
if [[ ! -d $data/npm/node_modules ]]; then
  mkdir -p "$data/npm"; cp "$here/scan_npm/package.json" "$here/scan_npm/package-lock.json" "$data/npm/"
  (cd "$data/npm" && npm ci --ignore-scripts --no-audit --no-fund)
fi

# A directory staged for one layer: st NAME -> path (emptied).
st() { rm -rf "$data/st/$1"; mkdir -p "$data/st/$1"; echo "$data/st/$1"; }

# The slim base of img100: the rootfs without apt lists and caches, docs,
# man pages and locales (what debian:bookworm-slim leaves out).
slim=$(st slim)
tar -C "$data/rootfs" --exclude=./var/lib/apt/lists --exclude=./var/cache/apt \
  --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
  --exclude=./usr/share/info -cf - . | tar -C "$slim" -xf -

# Language trees. small: express and lodash's part of node_modules only.
lang=$(st lang)
mkdir -p "$lang/app" "$lang/usr/lib/python3" "$lang/opt/java/lib" "$lang/usr/local/bin"
cp -a "$data/npm/node_modules" "$data/npm/package.json" "$data/npm/package-lock.json" "$lang/app/"
[[ -d /usr/lib/python3/dist-packages ]] && cp -a /usr/lib/python3/dist-packages "$lang/usr/lib/python3/"
find /usr/share/java -maxdepth 1 -name '*.jar' -type f -exec cp {} "$lang/opt/java/lib/" \; 2>/dev/null || true
for b in /usr/lib/google-cloud-sdk/bin/kubectl /usr/local/go/bin/go /usr/bin/go; do # Go binaries, if any
  [[ -f $b ]] && cp "$b" "$lang/usr/local/bin/" && break
done
for b in "$HOME"/.rustup/toolchains/stable-*/bin/cargo; do # a Rust binary, if any
  [[ -f $b ]] && cp "$b" "$lang/usr/local/bin/cargo"
done
small=$(st small)
mkdir -p "$small/app/node_modules"
for m in express lodash body-parser debug ms qs cookie accepts mime mime-types mime-db; do
  [[ -d $data/npm/node_modules/$m ]] && cp -a "$data/npm/node_modules/$m" "$small/app/node_modules/"
done
cp "$data/npm/package.json" "$small/app/"

# Secrets and risky files (tokens built from pieces, so this script holds
# none; none is a real credential).
plant() {
  local d=$1
  mkdir -p "$d/app/config" "$d/root/.ssh" "$d/home/dev/.aws" "$d/etc" "$d/usr/local/bin" "$d/srv"
  printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nGITHUB_TOKEN=%s\n' \
    "AKIA""Z7Q3HD2KX4PLM5TR" "wJalrXUtnFEMI/K7MDENG/bPxRfiCY""Z8Q3kTn1Vb" \
    "ghp_""R7c2XnV9hQw4LmT8pZ3sK6yB1dF5gJ0aE2uY" > "$d/app/.env"
  printf 'database:\n  host: db\n  password: "%s"\nstripe: %s\n' "Xk9#mQ2v""Lp7zR4tW" \
    "sk_live_""51H8xJ2eZvKYlo2C9q8Rt4Ws" > "$d/app/config/settings.yaml"
  printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "AKIA""Q4T7WN3RZ8HLX2PV" \
    "9dKq3Lm7Xv2Rt8Wn4Zp6Yc1Bf5Hj0Gs""Ta3Ue7Kow" > "$d/home/dev/.aws/credentials"
  { echo "-----BEGIN OPENSSH PRIVATE""  KEY-----" | tr -s ' '; head -c 1200 /dev/urandom | base64 -w 70
    echo "-----END OPENSSH PRIVATE KEY-----"; } > "$d/root/.ssh/id_rsa"
  chmod 600 "$d/root/.ssh/id_rsa"
  printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$d/srv/eicar.com"
  printf '{"donate-level": 1, "pools": [{"url": "pool.example.net:3333"}]}\n' > "$d/srv/config.json"
  printf '#!/bin/sh\nexec "$@"\n' > "$d/usr/local/bin/runas"; chmod 4755 "$d/usr/local/bin/runas"
  printf 'shared\n' > "$d/srv/drop"; chmod 666 "$d/srv/drop"
  # a weak account (baseline): password "password", sha512crypt
  cp "$data/rootfs/etc/passwd" "$data/rootfs/etc/shadow" "$d/etc/"
  echo 'dev:x:1000:1000::/home/dev:/bin/bash' >> "$d/etc/passwd"
  echo "dev:$(openssl passwd -6 -salt benchsalt password):19700:0:99999:7:::" >> "$d/etc/shadow"
}
sec=$(st secrets); plant "$sec"
echo "OLD_TOKEN=ghp_""Q2w3E4r5T6y7U8i9O0pLkJhGfDsA1z2X3c4V" > "$sec/app/.env.old" # deleted on top

# Large data files: MiB of random bytes (model weights, archives), of
# zeros (sparse-ish disk images), and of text logs (4 MiB each).
data_layer() { # DIR RANDOM_MIB ZERO_MIB LOG_MIB
  local d=$1 r=$2 z=$3 l=$4 i
  mkdir -p "$d/data/blobs" "$d/data/logs"
  for ((i = 0; r > 0; i++)); do
    local n=$((r > 256 ? 256 : r)); head -c $((n << 20)) /dev/urandom > "$d/data/blobs/weights-$i.bin"; r=$((r - n))
  done
  [[ $z -gt 0 ]] && head -c $((z << 20)) /dev/zero > "$d/data/disk.img"
  if [[ $l -gt 0 ]]; then
    python3 - "$d/data/logs/access-0.log" <<'PY'
import random, sys
random.seed(12)
paths = ["/api/v1/users", "/api/v1/orders", "/static/app.js", "/login", "/health", "/api/v1/search?q=shoes"]
with open(sys.argv[1], "w") as f:
    n = 0
    while n < 4 << 20:
        line = '10.%d.%d.%d - - [06/Dec/2026:08:%02d:%02d +0000] "GET %s HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64)"\n' % (
            random.randrange(256), random.randrange(256), random.randrange(256), random.randrange(60),
            random.randrange(60), random.choice(paths), random.choice([200, 200, 200, 304, 404, 500]),
            random.randrange(100, 90000))
        f.write(line); n += len(line)
PY
    for ((i = 1; i < l / 4; i++)); do cp "$d/data/logs/access-0.log" "$d/data/logs/access-$i.log"; done
  fi
}

built=()
for w in "${want[@]}"; do
  case $w in
  100)
    d=$(st data100); data_layer "$d" 16 0 4
    bash "$here/scan_image.sh" "$data/img100.tar" perf/deb100:1 "root:$slim" "root:$small" "root:$sec" \
      "root:$d" -rm:app/.env.old ;;
  1g)
    d=$(st data1g); data_layer "$d" 320 64 128
    bash "$here/scan_image.sh" "$data/img1g.tar" perf/deb1g:1 "root:$data/rootfs" "root:$lang" "root:$sec" \
      "root:$d" -rm:app/.env.old,var/lib/apt/lists ;;
  4g)
    d=$(st data4g); data_layer "$d" 2560 512 512
    bash "$here/scan_image.sh" "$data/img4g.tar" perf/deb4g:1 "root:$data/rootfs" "root:$lang" "root:$sec" \
      "root:$d" -rm:app/.env.old,var/lib/apt/lists ;;
  oci)
    need skopeo "apt-get install -y skopeo"
    [[ -f $data/img1g.tar ]] || { echo "$0: oci needs img1g.tar (build 1g first)" >&2; exit 2; }
    rm -rf "$data/img1g-oci"
    skopeo copy --quiet --dest-compress docker-archive:"$data/img1g.tar" oci:"$data/img1g-oci:perf" ;;
  *) echo "$0: unknown image '$w' (100 1g 4g oci)" >&2; exit 2 ;;
  esac
  built+=("$w")
done
rm -rf "$data/st"
echo "built: ${built[*]} in $data"
