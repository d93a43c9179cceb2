/* fuzz_pkg_python.c - libFuzzer target: the python analyzer (METADATA, PKG-INFO). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_python, S_IFREG | 0644, "site-packages/x-1.0.dist-info/METADATA")
