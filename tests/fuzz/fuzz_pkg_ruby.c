/* fuzz_pkg_ruby.c - libFuzzer target: the ruby analyzer (gemspec, Gemfile.lock). */
#include "fuzz_pkg.h"

FUZZ_PKG_TARGET(scan_an_ruby, S_IFREG | 0644, "gems/specifications/x-1.0.gemspec",
                "app/Gemfile.lock")
