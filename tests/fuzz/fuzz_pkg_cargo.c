/* fuzz_pkg_cargo.c - libFuzzer target: the rust analyzer on Cargo.lock, and on
 * the same bytes as an executable (ELF/Mach-O/PE headers, .dep-v0). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_rust, S_IFREG | 0755, "app/Cargo.lock", "usr/bin/x")
