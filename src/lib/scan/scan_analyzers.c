/* scan_analyzers.c - the analyzer table (scan_int.h). Order matters twice:
 * entries are offered in this order, and finish steps run in this order,
 * so an analyzer that works on what others emitted (vulnerability
 * matching on apps, the non-compliant policy) comes after them. Adding an
 * analyzer: its own an_<name>.c defining `const scan_analyzer scan_an_<name>`,
 * one extern line and one table line here. */
#include "scan/analyzers.h"
#include "scan/scan_int.h"

extern const scan_analyzer scan_an_os;
extern const scan_analyzer scan_an_history;
extern const scan_analyzer scan_an_vulndb;

const scan_analyzer *const scan_analyzers[] = {
    &scan_an_os,      /* first: the package analyzers' finish reads the OS */
    &scan_an_history, /* build-command-risks from the config's history */
    &scan_an_dpkg,    /* apps: the package analyzers, docs/scanning-packages.md */
    &scan_an_apk,
    &scan_an_rpm,
    &scan_an_npm,
    &scan_an_python,
    &scan_an_java,
    &scan_an_go,
    &scan_an_ruby,
    &scan_an_rust,
    &scan_an_files,    /* files of interest (mode, names) */
    &scan_an_secrets,  /* sensitive-info in file contents */
    &scan_an_baseline, /* risk-config from etc/ files and the image user */
    &scan_an_malware,  /* malwares: YARA and the SHA-256 block list */
    &scan_an_policy,   /* after every package analyzer: non-compliant-app over the apps */
    &scan_an_vulndb,   /* last: matches the apps the package analyzers emitted (--vulndb) */
};
const size_t scan_analyzers_count = sizeof scan_analyzers / sizeof scan_analyzers[0];
