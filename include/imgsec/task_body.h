/* task_body.h - the request bodies of the task routes, checked (docs/api.md
 * "Scan tasks"): CreateManualImageScanTaskRequestBody and
 * CreateImageSynchronizeTaskRequestBody as JSON objects already parsed.
 *
 * A body is checked whole before anything is written: every field of the
 * SDK model with its JSON type and bound; a field imgsec cannot honour is
 * refused by name, never ignored. A refusal is IMGSEC_EINVAL whose message
 * names the field (HSS.0001). Whether the ids name the project's images or
 * registries is the store's question (store_tasks.h), not the body's.
 */
#ifndef IMGSEC_TASK_BODY_H
#define IMGSEC_TASK_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/store_tasks.h"

/* A scan task's body. Strings point into the body checked. */
typedef struct {
    bool is_all;
    int scan_scope, rate_limit;
    store_task_query q;      /* is_all's filters (query_info) */
    store_task_select *sel;  /* image_info: n entries (1..TASK_SELECT_MAX) unless is_all */
    size_t n;
} task_scan_body;

/* Checks body into *b (free it with task_scan_body_free, also after a
 * refusal). On IMGSEC_OK exactly one of b->is_all and b->n > 0 holds, and
 * each sel[i] has an image_id or a registry_id, never both (a registry id
 * imgsec never gives becomes INT64_MAX: no registry of the project). */
int task_scan_body_check(const json_t *body, task_scan_body *b, imgsec_err *err);
void task_scan_body_free(task_scan_body *b);

/* A sync task's body: *all (sync_all_registries, required), or ids[0..*n)
 * from registry_info (ids holds TASK_SELECT_MAX; an id imgsec never gives
 * becomes INT64_MAX). On IMGSEC_OK exactly one of *all and *n > 0 holds. */
int task_sync_body_check(const json_t *body, bool *all, int64_t *ids, size_t *n,
                         imgsec_err *err);

#endif
