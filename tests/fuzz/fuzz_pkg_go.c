/* fuzz_pkg_go.c - libFuzzer target: the go analyzer (ELF, Mach-O and PE headers,
 * embedded build info). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_go, S_IFREG | 0755, "usr/bin/x")
