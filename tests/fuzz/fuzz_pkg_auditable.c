/* fuzz_pkg_auditable.c - libFuzzer target: cargo-auditable data (the bytes
 * of a .dep-v0 section: zlib, then JSON). */
#include "fuzz_pkg.h"
#include "scan/an_pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scan_result *res = scan_result_new();
    if (!res)
        abort();
    scan_entry e = {.path = "usr/bin/x", .layer = "sha256:00", .mode = S_IFREG | 0755,
                    .size = (int64_t)size};
    if (an_rust_audit(&e, data, size, res) != 0)
        abort();
    scan_result_free(res);
    return 0;
}
