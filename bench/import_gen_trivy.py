#!/usr/bin/env python3
"""import_gen_trivy.py - write a large Trivy-shaped JSON report (SchemaVersion 2).

Usage: bench/import_gen_trivy.py OUT.json [MEGABYTES]   (default 500)

The report has the shape `trivy image --format json --list-all-pkgs` writes:
Metadata with ImageConfig.history, then Results: one os-pkgs result and
lang-pkgs results, each with Packages and Vulnerabilities (with CVSS and
long descriptions, as real NVD text is), a secret result and a Dockerfile
misconfiguration. Written element by element, so the generator itself
never holds the report. Deterministic (no randomness), so numbers repeat.
"""
import json
import sys

out = sys.argv[1]
target = int(sys.argv[2] if len(sys.argv) > 2 else 500) * 1024 * 1024
SEVS = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
DESC = ("A flaw was found in the handling of crafted input by the library. An attacker able to "
        "supply such input could cause a denial of service or, in some configurations, execute "
        "code with the privileges of the process. ") * 6


def vuln(i, lang):
    pkg = ("lib%d" % (i % 5000)) if not lang else ("npm-mod-%d" % (i % 5000))
    return {
        "VulnerabilityID": "CVE-%d-%d" % (2000 + i % 25, i % 40000),
        "PkgID": "%s@1.%d" % (pkg, i % 9),
        "PkgName": pkg,
        "PkgIdentifier": {"PURL": ("pkg:npm/%s@1.%d" if lang else "pkg:deb/debian/%s@1.%d?arch=amd64")
                          % (pkg, i % 9)},
        "InstalledVersion": "1.%d" % (i % 9),
        "FixedVersion": "1.%d" % (i % 9 + 1),
        "Status": "fixed",
        "Layer": {"Digest": "sha256:%064x" % (i % 7), "DiffID": "sha256:%064x" % (i % 7 + 100)},
        "SeveritySource": "nvd",
        "PrimaryURL": "https://avd.aquasec.com/nvd/cve-%d" % i,
        "Title": "library: crafted input leads to a crash (%d)" % i,
        "Description": DESC,
        "Severity": SEVS[i % 5],
        "CweIDs": ["CWE-787"],
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                         "V3Score": (i % 100) / 10.0},
                 "redhat": {"V3Score": 5.5}},
        "References": ["https://example.org/advisory/%d" % i, "https://example.org/patch/%d" % i],
        "PublishedDate": "2021-01-01T00:00:00Z",
        "LastModifiedDate": "2022-01-01T00:00:00Z",
    }


def package(i, lang):
    return {"Name": ("npm-mod-%d" if lang else "lib%d") % i, "Version": "1.%d" % (i % 9),
            "Licenses": ["MIT"], "Layer": {"Digest": "sha256:%064x" % (i % 7)}}


with open(out, "w") as f:
    head = {
        "SchemaVersion": 2, "CreatedAt": "2026-11-28T12:00:00Z",
        "ArtifactName": "registry.example/bench/huge:1.0", "ArtifactType": "container_image",
        "Metadata": {"Size": 1234567890, "ImageID": "sha256:" + "ab" * 32,
                     "RepoTags": ["registry.example/bench/huge:1.0"],
                     "ImageConfig": {"created": "2026-11-01T00:00:00Z", "history": [
                         {"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
                         {"created_by": "/bin/sh -c curl -fsSL https://get.example/x.sh | sh"},
                         {"created_by": "/bin/sh -c #(nop)  USER root"}]}},
    }
    f.write(json.dumps(head)[:-1] + ', "Results": [')
    written = f.tell()
    n = 0
    r = 0
    while written < target:
        lang = r % 2 == 1
        f.write(("," if r else "") + json.dumps({
            "Target": "result-%d" % r, "Class": "lang-pkgs" if lang else "os-pkgs",
            "Type": "npm" if lang else "debian"})[:-1])
        f.write(', "Packages": [' + ",".join(json.dumps(package(i, lang)) for i in range(2000)) + "]")
        f.write(', "Vulnerabilities": [')
        for j in range(20000):
            f.write(("," if j else "") + json.dumps(vuln(n, lang)))
            n += 1
        f.write("]}")
        r += 1
        written = f.tell()
    f.write(', {"Target": "deploy.sh", "Class": "secret", "Secrets": [{"RuleID": "aws-access-key-id",'
            ' "Severity": "CRITICAL", "Title": "AWS Access Key ID", "Match": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"}]}')
    f.write(', {"Target": "Dockerfile", "Class": "config", "Type": "dockerfile", "Misconfigurations": ['
            '{"ID": "DS002", "Title": "Image user should not be root", "Severity": "HIGH", "Status": "FAIL",'
            ' "Message": "Specify at least 1 USER command"}]}')
    f.write("]}\n")
    sys.stderr.write("%s: %d bytes, %d results, %d vulnerabilities, %d packages\n"
                     % (out, f.tell(), r, n, r * 2000))
