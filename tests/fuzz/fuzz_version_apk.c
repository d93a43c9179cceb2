/* fuzz_version_apk.c - libFuzzer target: the apk version parser and comparator. */
#define FUZZ_SCHEME VERSION_APK
#include "fuzz_version.h"
