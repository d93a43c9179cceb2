#!/usr/bin/env bash
# Builds a docker-save archive from directories of this machine, one layer
# per argument (bottom first), for measuring `imgsec scan` (docs/performance.md).
# usage: bench/scan_image.sh OUT.tar NAME:TAG LAYER... where a LAYER is
#   DIR        DIR of this machine (relative to /), at its own path
#   root:DIR   the content of DIR (any path) as the layer's root
#   -rm:PATH   a whiteout layer deleting PATH (several: -rm:A,B)
set -euo pipefail
out=$1; tag=$2; shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/scanimg.XXXXXX")
trap 'rm -rf "$work"' EXIT
layers=(); diffs=()
i=0
for d in "$@"; do
  i=$((i + 1)); mkdir -p "$work/l$i"
  if [[ $d == -rm:* ]]; then
    IFS=, read -ra rms <<< "${d#-rm:}"
    for p in "${rms[@]}"; do
      mkdir -p "$work/wh/$(dirname "$p")"; : > "$work/wh/$(dirname "$p")/.wh.$(basename "$p")"
    done
    tar -C "$work/wh" -cf "$work/l$i/layer.tar" . ; rm -rf "$work/wh"
  elif [[ $d == root:* ]]; then
    tar -C "${d#root:}" -cf "$work/l$i/layer.tar" .
  else
    tar -C / --warning=no-file-ignored -cf "$work/l$i/layer.tar" "$d" 2>/dev/null || true
  fi
  layers+=("l$i/layer.tar")
  diffs+=("sha256:$(sha256sum "$work/l$i/layer.tar" | cut -d' ' -f1)")
done
python3 - "$work" "$tag" "${layers[@]}" -- "${diffs[@]}" <<'PY'
import hashlib, json, sys
work, tag = sys.argv[1], sys.argv[2]
rest = sys.argv[3:]; k = rest.index('--')
layers, diffs = rest[:k], rest[k + 1:]
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"User": "", "Env": ["PATH=/usr/bin"]},
    "rootfs": {"type": "layers", "diff_ids": diffs},
    "history": [{"created_by": "/bin/sh -c #(nop) ADD dir:%d in / " % i} for i in range(len(layers))]}).encode()
h = hashlib.sha256(config).hexdigest()
open(f"{work}/{h}.json", "wb").write(config)
json.dump([{"Config": f"{h}.json", "RepoTags": [tag], "Layers": layers}], open(f"{work}/manifest.json", "w"))
PY
tar -C "$work" -cf "$out" .
ls -l "$out"
