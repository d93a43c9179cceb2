/* fuzz_task_body.c - libFuzzer target: the task routes' bodies
 * (task_body.h). Input: a request body. When it is a JSON object it is
 * checked as CreateManualImageScanTask's and CreateImageSynchronizeTask's
 * body; on top of memory safety, an accepted body must satisfy the
 * header's promises (abort if not): exactly one of "all" and a non-empty
 * selection, at most TASK_SELECT_MAX entries, each scan entry naming an
 * image id or a registry id but not both. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "imgsec/task_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    task_scan_body b;
    imgsec_err err = {0};
    if (task_scan_body_check(body, &b, &err) == IMGSEC_OK) {
        if (b.is_all == (b.n > 0) || b.n > TASK_SELECT_MAX || b.scan_scope < 0 ||
            b.rate_limit < 0 || b.rate_limit > 1000)
            abort();
        for (size_t i = 0; i < b.n; i++)
            if ((b.sel[i].image_id > 0) == (b.sel[i].registry_id != 0))
                abort();
    } else if (err.code != IMGSEC_EINVAL || !err.msg[0]) {
        abort();
    }
    task_scan_body_free(&b);
    bool all;
    int64_t ids[TASK_SELECT_MAX];
    size_t n;
    imgsec_err err2 = {0};
    if (task_sync_body_check(body, &all, ids, &n, &err2) == IMGSEC_OK) {
        if (all == (n > 0) || n > TASK_SELECT_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (ids[i] <= 0)
                abort();
    } else if (err2.code != IMGSEC_EINVAL || !err2.msg[0]) {
        abort();
    }
    json_decref(body);
    return 0;
}
