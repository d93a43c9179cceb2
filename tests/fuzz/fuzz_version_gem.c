/* fuzz_version_gem.c - libFuzzer target: the gem version parser and comparator. */
#define FUZZ_SCHEME VERSION_GEM
#include "fuzz_version.h"
