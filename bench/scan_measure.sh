#!/usr/bin/env bash
# Measures `imgsec scan --output json` on images (docs/performance.md
# "Scanning images"): one markdown row per image with the layer data,
# entries, CPU seconds (user + system of /usr/bin/time -v), MiB/s per core
# (layer MiB / CPU s), wall seconds, peak RSS, and the records per type.
# usage: bench/scan_measure.sh IMGSEC IMAGE... [-- SCAN FLAGS]
#   e.g. bench/scan_measure.sh build/imgsec DATA/img100.tar DATA/img1g.tar
# Every analyzer runs (the default); vulndb only with IMGSEC_VULNDB or --vulndb.
set -euo pipefail
imgsec=$1; shift
imgs=(); flags=()
while [[ $# -gt 0 && $1 != -- ]]; do imgs+=("$1"); shift; done
[[ $# -gt 0 ]] && { shift; flags=("$@"); }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| image | layer data | entries | CPU s | MiB/s per core | wall s | peak RSS | records |"
echo "|---|---|---|---|---|---|---|---|"
for img in "${imgs[@]}"; do
  entries=$("$imgsec" scan --output files "${flags[@]}" "$img" 2>/dev/null | wc -l)
  /usr/bin/time -v "$imgsec" scan --output json "${flags[@]}" "$img" >"$out/doc.json" 2>"$out/time"
  python3 - "$img" "$entries" "$out/doc.json" "$out/time" <<'PY'
import json, re, sys
img, entries, doc, tm = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3])), open(sys.argv[4]).read()
def f(k):
    return re.search(re.escape(k) + r': (.*)', tm).group(1)
cpu = float(f('User time (seconds)')) + float(f('System time (seconds)'))
w = f('Elapsed (wall clock) time (h:mm:ss or m:ss)').split(':')
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
rss = int(f('Maximum resident set size (kbytes)')) / 1024
mib = doc['image']['image_size'] / 2**20
recs = ', '.join('%s %d' % (k, len(v)) for k, v in doc.items() if isinstance(v, list))
print('| %s | %.1f MiB | %s | %.2f | %.0f | %.1f | %.1f MiB | %s |' % (
    img.rstrip('/').split('/')[-1], mib, f'{entries:,}', cpu, mib / cpu, wall, rss, recs))
PY
done
