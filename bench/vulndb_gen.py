#!/usr/bin/env python3
"""Synthetic OSV data of the size of OSV's Debian, Alpine, npm, PyPI, Maven
and Go sets, as per-ecosystem all.zip archives, plus matching inputs.

usage: vulndb_gen.py OUT_DIR [--scale S] [--images N] [--apps-per-image K]

Writes OUT_DIR/<Ecosystem>/all.zip (records shaped like the real ones:
aliases, summary, details, severity vectors, references, one or more
affected entries with ECOSYSTEM/SEMVER ranges or versions lists, Debian and
Alpine per release), OUT_DIR/apps-1000.json (1,000 apps records with purls
of an image: Debian packages, npm, PyPI, Maven, Go, half of them named in
the records) and OUT_DIR/images.ndjson (N ingest documents with K apps
each, for the rematch benchmark). Deterministic (seeded).
At --scale 1: Debian 150k, Alpine 30k, npm 150k, PyPI 30k, Maven 20k, Go
20k records (400k), about the size of OSV's sets of those ecosystems.
"""
import json
import os
import random
import sys
import zipfile

args = sys.argv[1:]
out = args[0]
scale = float(args[args.index("--scale") + 1]) if "--scale" in args else 1.0
n_images = int(args[args.index("--images") + 1]) if "--images" in args else 0
apps_per_image = int(args[args.index("--apps-per-image") + 1]) if "--apps-per-image" in args else 100
rnd = random.Random(13)

COUNTS = {"Debian": 150000, "Alpine": 30000, "npm": 150000, "PyPI": 30000, "Maven": 20000, "Go": 20000}
PACKAGES = {"Debian": 4000, "Alpine": 1500, "npm": 40000, "PyPI": 8000, "Maven": 5000, "Go": 4000}
DEB_RELEASES = ["10", "11", "12", "13"]
ALPINE_RELEASES = ["v3.16", "v3.17", "v3.18", "v3.19", "v3.20"]
WORDS = ("buffer overflow in the parser allows remote attackers to cause a denial of service "
         "or possibly execute arbitrary code via a crafted input file when the length field "
         "is not validated against the allocation size").split()


def pkg_name(eco, i):
    if eco == "Maven":
        return "org.example%d:artifact-%d" % (i % 500, i)
    if eco == "Go":
        return "github.com/example%d/module%d" % (i % 700, i)
    return "%s-pkg%d" % (eco.lower(), i)


def deb_version(r):
    return "%d.%d.%d-%d+deb%su%d" % (r.randint(0, 9), r.randint(0, 30), r.randint(0, 20),
                                     r.randint(1, 5), rnd.choice(["10", "11", "12"]), r.randint(1, 9))


def semver(r):
    return "%d.%d.%d" % (r.randint(0, 12), r.randint(0, 30), r.randint(0, 40))


def text(r, n):
    return " ".join(r.choice(WORDS) for _ in range(n))


def record(eco, i):
    r = random.Random("%s-%d" % (eco, i))
    cve = "CVE-%d-%05d" % (2015 + i % 10, i)
    p = r.randrange(PACKAGES[eco])
    name = pkg_name(eco, p)
    rec = {"schema_version": "1.6.0", "modified": "2024-%02d-%02dT%02d:00:00Z" % (1 + i % 12, 1 + i % 28, i % 24),
           "published": "2023-01-01T00:00:00Z", "summary": text(r, 8), "details": text(r, 60)}
    affected = []
    if eco == "Debian":
        rec["id"] = "DEBIAN-%s-%d" % (cve, i)
        rec["upstream"] = [cve]
        for rel in r.sample(DEB_RELEASES, r.randint(1, 3)):
            affected.append({"package": {"ecosystem": "Debian:" + rel, "name": name},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": deb_version(r)}]}]})
    elif eco == "Alpine":
        rec["id"] = "ALPINE-%s-%d" % (cve, i)
        rec["upstream"] = [cve]
        for rel in r.sample(ALPINE_RELEASES, r.randint(1, 4)):
            affected.append({"package": {"ecosystem": "Alpine:" + rel, "name": name},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                        {"fixed": "%s-r%d" % (semver(r), r.randint(0, 9))}]}]})
    else:
        rec["id"] = ("GHSA-%04x-%04x-%04x" % (i, r.randrange(65536), r.randrange(65536))) if eco != "Go" else "GO-%d-%04d" % (2020 + i % 5, i)
        rec["aliases"] = [cve]
        rtype = "SEMVER" if eco in ("npm", "Go") else "ECOSYSTEM"
        ranges = []
        for _ in range(r.randint(1, 3)):
            a, b = sorted([semver(r), semver(r)])
            ev = [{"introduced": a}, {"fixed": b}] if r.random() < 0.85 else [{"introduced": a}, {"last_affected": b}]
            ranges.append({"type": rtype, "events": ev})
        entry = {"package": {"ecosystem": eco, "name": name, "purl": "pkg:%s/%s" % (eco.lower(), name)},
                 "ranges": ranges}
        if eco in ("PyPI", "Maven") and r.random() < 0.5:
            entry["versions"] = [semver(r) for _ in range(r.randint(5, 40))]
        affected.append(entry)
        rec["database_specific"] = {"severity": r.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])}
    rec["affected"] = affected
    if r.random() < 0.7:
        rec["severity"] = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:%s/AC:%s/PR:%s/UI:%s/S:%s/C:%s/I:%s/A:%s" % (
            r.choice("NALP"), r.choice("LH"), r.choice("NLH"), r.choice("NR"), r.choice("UC"),
            r.choice("HLN"), r.choice("HLN"), r.choice("HLN"))}]
    rec["references"] = [{"type": "ADVISORY", "url": "https://example.org/advisory/%s" % rec["id"]},
                         {"type": "WEB", "url": "https://example.org/%s" % cve}]
    return rec


os.makedirs(out, exist_ok=True)
for eco, n in COUNTS.items():
    n = int(n * scale)
    os.makedirs(os.path.join(out, eco), exist_ok=True)
    with zipfile.ZipFile(os.path.join(out, eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            rec = record(eco, i)
            z.writestr(rec["id"] + ".json", json.dumps(rec))
    print("%s: %d records" % (eco, n), file=sys.stderr)


def app(r):
    kind = r.random()
    hit = r.random() < 0.5
    if kind < 0.4:
        i = r.randrange(PACKAGES["Debian"]) if hit else 100000 + r.randrange(10000)
        name = pkg_name("Debian", i)
        v = deb_version(r)
        return {"app_name": name, "app_version": v, "app_type": "deb", "app_path": "/var/lib/dpkg/status",
                "purl": "pkg:deb/debian/%s@%s?arch=amd64&distro=debian-12" % (name, v)}
    eco, typ, ptype = r.choice([("npm", "npm", "npm"), ("PyPI", "python", "pypi"), ("Maven", "jar", "maven"),
                                ("Go", "go", "golang")])
    i = r.randrange(PACKAGES[eco]) if hit else 100000 + r.randrange(10000)
    name = pkg_name(eco, i)
    v = semver(r)
    path = name.replace(":", "/") if eco != "Maven" else name.split(":")[1]
    purl = "pkg:%s/%s@%s" % (ptype, name.replace(":", "/"), v)
    return {"app_name": name.split(":")[-1] if eco == "Maven" else name, "app_version": v, "app_type": typ,
            "app_path": "/app/" + path, "purl": purl}


r = random.Random(7)
with open(os.path.join(out, "apps-1000.json"), "w") as f:
    json.dump([app(r) for _ in range(1000)], f)
if n_images:
    with open(os.path.join(out, "images.ndjson"), "w") as f:
        for k in range(n_images):
            doc = {"image": {"image_type": "local_image", "image_name": "img%d" % k, "image_version": "1",
                             "scan_status": "success"},
                   "apps": [app(r) for _ in range(apps_per_image)]}
            f.write(json.dumps(doc) + "\n")
