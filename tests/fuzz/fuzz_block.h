/* fuzz_block.h - the small fixed dictionary that fuzz_block.c offers as
 * id 1, and that tests/unit/test_store_block.c uses to write the blocks of
 * the seed corpus (tests/fuzz/corpus/block). Raw content: zstd takes bytes
 * that are not a trained dictionary as text to match against. */
#ifndef IMGSEC_FUZZ_BLOCK_H
#define IMGSEC_FUZZ_BLOCK_H

#define FUZZ_BLOCK_DICT_ID 1
static const char FUZZ_BLOCK_DICT[] =
    "CVE-2023-CVE-2024-linux_vulapp_vulcriticalhighmediumlowunknown"
    "openssllibssl3libc6zlib1g/usr/lib/x86_64-linux-gnu/usr/share/doc/"
    "https://nvd.nist.gov/vuln/detail/CVE-https://security-tracker.debian.org/tracker/"
    "Upgrade to the fixed version.pkg:deb/debian/pkg:npm/pkg:pypi/";

#endif
