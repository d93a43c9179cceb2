/* fuzz_pkg_apk.c - libFuzzer target: the apk analyzer (lib/apk/db/installed). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_apk, S_IFREG | 0644, "lib/apk/db/installed")
