/* fuzz_pkg_auditable.c - libFuzzer target: cargo-auditable data (the bytes
 * of a .dep-v0 section: zlib, then JSON).
 *
 * An input that starts with 'J' is the JSON itself: the harness deflates
 * the rest before the call, so mutations reach the JSON reader (mutated
 * compressed bytes almost never inflate). Any other input goes in as it
 * is, for the inflate path and its bounds. */
#include <zlib.h>

#include "fuzz_pkg.h"
#include "scan/an_pkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *packed = NULL;
    if (size > 0 && data[0] == 'J') {
        uLongf n = compressBound((uLong)(size - 1));
        packed = malloc(n);
        if (!packed || compress2(packed, &n, data + 1, (uLong)(size - 1), 6) != Z_OK)
            abort();
        data = packed;
        size = n;
    }
    scan_result *res = scan_result_new();
    if (!res)
        abort();
    scan_entry e = {.path = "usr/bin/x", .layer = "sha256:00", .mode = S_IFREG | 0755,
                    .size = (int64_t)size};
    if (an_rust_audit(&e, data, size, res) != 0)
        abort();
    scan_result_free(res);
    free(packed);
    return 0;
}
