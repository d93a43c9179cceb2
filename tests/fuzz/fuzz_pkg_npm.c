/* fuzz_pkg_npm.c - libFuzzer target: the npm analyzer (package.json, lock files;
 * the same bytes as an installed manifest and as the lock of its project). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_npm, S_IFREG | 0644, "app/node_modules/x/package.json",
                "app/package-lock.json")
