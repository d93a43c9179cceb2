#!/usr/bin/env bash
# Pull-and-scan rate from a loopback registry (docs/performance.md
# "Pulling from a registry"): pushes a docker-save archive (e.g. one made by
# bench/scan_image.sh) into Debian's docker-registry on 127.0.0.1 with skopeo
# (gzip layers), copies it back out as an OCI layout (the same blobs), then
# scans both with /usr/bin/time -v, --output json (nothing stored).
# usage: bench/scan_registry.sh IMAGE.tar [imgsec binary] [imgsec scan flags...]
set -euo pipefail
img=$1; bin=${2:-build/imgsec}; shift $(($# < 2 ? $# : 2))
work=$(mktemp -d "${TMPDIR:-/tmp}/scanreg.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; wait $reg 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
export HOME=$work XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "docker-archive:$img" "docker://127.0.0.1:$port/bench/image:1"
skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://127.0.0.1:$port/bench/image:1" "oci:$work/oci:1"
echo "stored (gzip): $(du -sb "$work/data/docker/registry/v2/blobs" | cut -f1) bytes in the registry"
for input in "--insecure-registry 127.0.0.1:$port/bench/image:1" "$work/oci"; do
  before=$(awk '{print $14 + $15}' "/proc/$reg/stat")
  echo "load $(cut -d' ' -f1-3 /proc/loadavg); imgsec scan $* ${input/$work/WORK}"
  # shellcheck disable=SC2086 # the input is two words for the registry
  /usr/bin/time -v "$bin" scan --output json "$@" $input 2> "$work/time" > "$work/out.json"
  grep -E "User time|System time|Elapsed|Maximum resident" "$work/time" | sed 's/^\s*/  /'
  echo "  registry CPU ticks: $(($(awk '{print $14 + $15}' "/proc/$reg/stat") - before))"
  python3 -c 'import json,sys; print("  image_size (uncompressed):", json.load(open(sys.argv[1]))["image"]["image_size"])' "$work/out.json"
done
