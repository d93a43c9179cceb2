/* fuzz_version_pep440.c - libFuzzer target: the pep440 version parser and comparator. */
#define FUZZ_SCHEME VERSION_PEP440
#include "fuzz_version.h"
