/* fuzz_scan_secrets.c - libFuzzer target: the secrets analyzer
 * (an_secrets.c) on arbitrary file contents, every rule's pattern and
 * the redaction of what they match. Input: the bytes of one file at a
 * path that is scanned (not allow-listed). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *st; /* compiled once, as a scan compiles once */
    static scan_options opt;
    imgsec_err err = {0};
    if (!st && scan_an_secrets.open(&opt, &st, &err) != IMGSEC_OK)
        return 0;
    scan_result *res = scan_result_new();
    if (!res)
        return 0;
    scan_entry e = {.path = "srv/app/config.env", .layer = "sha256:fuzz",
                    .mode = S_IFREG | 0644, .size = (int64_t)size};
    if (scan_an_secrets.want(st, &e) != SCAN_WANT_NONE)
        scan_an_secrets.entry(st, &e, data, size, res, &err);
    scan_result_free(res);
    return 0;
}
