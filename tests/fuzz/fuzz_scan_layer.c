/* fuzz_scan_layer.c - libFuzzer target: one image layer (any compression
 * libarchive reads: plain, gzip, zstd, xz, ...) through the layer reader,
 * whiteout bookkeeping and every analyzer of the table (scan_run_source). */
#include <stddef.h>
#include <stdint.h>

#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    imgsec_err err = {0};
    scan_src *src = scan_src_memory(data, size, "fuzz", &err);
    if (!src)
        return 0;
    scan_result *res = NULL;
    if (scan_run_source(src, NULL, &res, &err) == IMGSEC_OK)
        scan_result_destroy(res);
    scan_src_close(src);
    return 0;
}
