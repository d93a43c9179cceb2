/* fuzz_version_maven.c - libFuzzer target: the maven version parser and comparator. */
#define FUZZ_SCHEME VERSION_MAVEN
#include "fuzz_version.h"
