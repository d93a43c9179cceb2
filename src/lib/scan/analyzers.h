/* analyzers.h - every analyzer module's one export (internal).
 *
 * Each src/lib/scan/an_<name>.c defines one scan_analyzer; the driver's
 * table (scan_analyzers.c) lists them. One line per analyzer here; what
 * each reads and emits is documented at the top of its file and in
 * docs/scanning-packages.md (packages), docs/scanning-risks.md (risks) or
 * docs/scanning.md.
 */
#ifndef IMGSEC_SCAN_ANALYZERS_H
#define IMGSEC_SCAN_ANALYZERS_H

#include "imgsec/scan.h"

/* Packages (`apps`), docs/scanning-packages.md. */
extern const scan_analyzer scan_an_dpkg;   /* var/lib/dpkg/status, status.d/ */
extern const scan_analyzer scan_an_apk;    /* lib/apk/db/installed */
extern const scan_analyzer scan_an_rpm;    /* rpmdb.sqlite, Packages, Packages.db (librpm) */
extern const scan_analyzer scan_an_npm;    /* node_modules package.json, package-lock.json */
extern const scan_analyzer scan_an_python; /* dist-info/METADATA, egg-info */
extern const scan_analyzer scan_an_java;   /* .jar .war .ear, nested */
extern const scan_analyzer scan_an_go;     /* Go binaries' build info */
extern const scan_analyzer scan_an_ruby;   /* specifications/NAME.gemspec, Gemfile.lock */
extern const scan_analyzer scan_an_rust;   /* Cargo.lock, cargo-auditable binaries */

/* Risks, docs/scanning-risks.md (helpers for tests and fuzzing: analyzers_risk.h). */
extern const scan_analyzer scan_an_files;    /* files: setuid, world-writable, keys, credentials */
extern const scan_analyzer scan_an_secrets;  /* sensitive-info: secrets in contents (PCRE2) */
extern const scan_analyzer scan_an_baseline; /* risk-config: shadow, login.defs, sshd, image user */
extern const scan_analyzer scan_an_malware;  /* malwares: YARA rules, SHA-256 block list */
extern const scan_analyzer scan_an_policy;   /* non-compliant-app over apps; last in the table */

#endif
