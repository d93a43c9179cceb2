/* fuzz_pkg.h - the body of every package analyzer's fuzz target: the
 * input is one file of an image at each of the paths given, offered to
 * the analyzer as the scan driver would (open, want, entry, finish,
 * close), with os-release set so finish() builds purls with a distro.
 * Errors other than out of memory never happen for bad input (the
 * analyzers skip it with a warning); any crash, leak or sanitizer report
 * is the finding. */
#ifndef FUZZ_PKG_H
#define FUZZ_PKG_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "scan/analyzers.h"
#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_pkg_run(const scan_analyzer *a, const char *const *paths, size_t n_paths,
                                mode_t mode, const uint8_t *data, size_t size)
{
    scan_result *res = scan_result_new();
    if (!res)
        abort();
    scan_options opt = {0};
    imgsec_err err = {0};
    void *state = NULL;
    if (a->open && a->open(&opt, &state, &err) != IMGSEC_OK)
        abort();
    for (size_t i = 0; i < n_paths; i++) {
        scan_entry e = {.path = paths[i], .layer = "sha256:00", .mode = mode,
                        .size = (int64_t)size};
        int64_t w = a->want(state, &e);
        if (w == SCAN_WANT_NONE)
            continue; /* e.g. an executable too small to be one */
        size_t give = w == SCAN_WANT_META ? 0 : (w > 0 && (uint64_t)w < size ? (size_t)w : size);
        if (a->entry(state, &e, give ? data : NULL, give, res, &err) != IMGSEC_OK)
            abort();
    }
    scan_set_os(res, "debian", "12");
    scan_image img = {0};
    if (a->finish && a->finish(state, &img, res, &err) != IMGSEC_OK)
        abort();
    if (a->close)
        a->close(state);
    scan_result_free(res);
}

/* One target: NAME the analyzer, then the paths. */
#define FUZZ_PKG_TARGET(analyzer, mode, ...)                                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                             \
    {                                                                                         \
        static const char *const PATHS[] = {__VA_ARGS__};                                     \
        fuzz_pkg_run(&(analyzer), PATHS, sizeof PATHS / sizeof *PATHS, (mode), data, size);  \
        return 0;                                                                             \
    }

#endif
