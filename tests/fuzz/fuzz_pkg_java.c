/* fuzz_pkg_java.c - libFuzzer target: the java analyzer (jar archives with nested
 * jars, pom.properties and manifests, through libarchive). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_java, S_IFREG | 0644, "app/lib/x-1.0.jar")
