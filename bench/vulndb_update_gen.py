#!/usr/bin/env python3
"""A database update for the rematch benchmark: a fraction of the records of
vulndb_gen.py's archives, modified as OSV's daily changes modify them.

usage: vulndb_update_gen.py DATA_DIR OUT_DIR [--fraction F]

Reads DATA_DIR/<Ecosystem>/all.zip and writes OUT_DIR/<Ecosystem>/all.zip
with every record whose index is a multiple of round(1/F) (F = 0.01 by
default: 1%), with a later `modified`, new `details` (so the description
of every vulnerability record it matches changes) and, for every other
one of them, another CVSS vector (so the severity and score change too).
Importing it replaces those records (same id, newer modified); a rematch
then rewrites the vulnerability records that came from them and nothing
else. Deterministic.
"""
import json
import os
import sys
import zipfile

args = sys.argv[1:]
src, out = args[0], args[1]
fraction = float(args[args.index("--fraction") + 1]) if "--fraction" in args else 0.01
step = max(1, round(1 / fraction))
os.makedirs(out, exist_ok=True)
for eco in sorted(os.listdir(src)):
    path = os.path.join(src, eco, "all.zip")
    if not os.path.isfile(path):
        continue
    os.makedirs(os.path.join(out, eco), exist_ok=True)
    n = 0
    with zipfile.ZipFile(path) as zin, \
            zipfile.ZipFile(os.path.join(out, eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as zout:
        for i, name in enumerate(sorted(zin.namelist())):
            if i % step:
                continue
            rec = json.loads(zin.read(name))
            rec["modified"] = "2025-06-01T00:00:00Z"
            rec["details"] = "Updated analysis. " + rec.get("details", "")
            if n % 2 == 0:
                rec["severity"] = [{"type": "CVSS_V3",
                                    "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
            zout.writestr(name, json.dumps(rec))
            n += 1
    print("%s: %d records modified" % (eco, n), file=sys.stderr)
