/* fuzz_version_rpm.c - libFuzzer target: the rpm version parser and comparator. */
#define FUZZ_SCHEME VERSION_RPM
#include "fuzz_version.h"
