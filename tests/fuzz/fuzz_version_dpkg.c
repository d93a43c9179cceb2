/* fuzz_version_dpkg.c - libFuzzer target: the dpkg version parser and comparator. */
#define FUZZ_SCHEME VERSION_DPKG
#include "fuzz_version.h"
