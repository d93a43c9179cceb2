/* fuzz_pkg_dpkg.c - libFuzzer target: the dpkg analyzer (status, status.d). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_dpkg, S_IFREG | 0644, "var/lib/dpkg/status", "var/lib/dpkg/status.d/x")
