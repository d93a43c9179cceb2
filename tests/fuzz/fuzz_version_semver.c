/* fuzz_version_semver.c - libFuzzer target: the semver version parser and comparator. */
#define FUZZ_SCHEME VERSION_SEMVER
#include "fuzz_version.h"
