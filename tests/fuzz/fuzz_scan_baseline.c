/* fuzz_scan_baseline.c - libFuzzer target: the baseline analyzer's
 * parsers of image files (an_baseline.c): /etc/shadow, /etc/passwd,
 * /etc/login.defs, sshd_config and an included sshd_config.d file.
 * Input: up to five segments separated by the two bytes "\xff\xfe", in
 * that order of files; each is offered as the analyzer's driver would,
 * then finish() judges them all (with an image config, so the image-user
 * check runs too). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const PATHS[] = {"etc/shadow", "etc/passwd", "etc/login.defs",
                                        "etc/ssh/sshd_config",
                                        "etc/ssh/sshd_config.d/10-fuzz.conf"};
    scan_baseline_budget(8, 0); /* a few cheap crypt_rn calls, no memory-hard ones */
    scan_options opt;
    memset(&opt, 0, sizeof opt);
    imgsec_err err = {0};
    void *st = NULL;
    scan_result *res = scan_result_new();
    if (!res || scan_an_baseline.open(&opt, &st, &err) != IMGSEC_OK) {
        scan_result_free(res);
        return 0;
    }
    size_t at = 0;
    for (size_t i = 0; i < sizeof PATHS / sizeof PATHS[0] && at <= size; i++) {
        const uint8_t *seg = data + at;
        size_t n = size - at;
        for (size_t k = 0; k + 1 < n; k++)
            if (seg[k] == 0xff && seg[k + 1] == 0xfe) {
                n = k;
                break;
            }
        scan_entry e = {.path = PATHS[i], .layer = "sha256:fuzz", .mode = S_IFREG | 0644,
                        .size = (int64_t)n};
        int64_t w = scan_an_baseline.want(st, &e);
        if (w != SCAN_WANT_NONE)
            scan_an_baseline.entry(st, &e, seg, w > 0 && (uint64_t)w < n ? (size_t)w : n, res,
                                   &err);
        at += n + 2;
    }
    json_t *cfg = json_pack("{s:{s:s}}", "config", "User", "");
    static const char *const diff_ids[] = {"sha256:fuzz"};
    scan_image img = {.config = cfg, .diff_ids = diff_ids, .n_layers = 1};
    scan_an_baseline.finish(st, &img, res, &err);
    scan_an_baseline.close(st);
    json_decref(cfg);
    scan_result_free(res);
    return 0;
}
