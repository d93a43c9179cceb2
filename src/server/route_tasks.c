/* route_tasks.c - registry sync and scan tasks (docs/api.md "Scan tasks";
 * the SDK models create_manual_image_scan_task_*, list_image_scan_task_*,
 * stop_image_scan_task_*, create_image_synchronize_task_*):
 *
 *   POST /v5/{project_id}/image/image-scan/tasks                CreateManualImageScanTask
 *   GET  /v5/{project_id}/image/tasks                           ListImageScanTask
 *   PUT  /v5/{project_id}/image/image-scan/tasks/{task_id}/stop StopImageScanTask
 *   POST /v5/{project_id}/image/image-sync/tasks                CreateImageSynchronizeTask
 *
 * A body is checked whole before anything is written (task_body.h: every
 * field of the SDK model with its JSON type and bound, a field imgsec
 * cannot honour refused by name, HSS.0001). A task made is one store
 * transaction (store_tasks.h); the work runs on the scan queue
 * (scan_tasks.h), kicked here. The create answers are the SDK's empty
 * models plus task_id (an extension: the SDKs ignore it; ListImageScanTask
 * with task_id finds the task). */
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"
#include "imgsec/registry_body.h"
#include "imgsec/store_tasks.h"
#include "imgsec/task_body.h"
#include "imgsec/util.h"
#include "query.h"
#include "request_body.h"
#include "routes.h"
#include "scan_tasks.h"

/* global_image_type on a create: only "registry" (these tasks are registry
 * tasks; imgsec has no agents to scan local images). */
static bool global_type_ok(request *req)
{
    static const char *const TYPES[] = {"registry", NULL};
    int v;
    return query_enum(req, "global_image_type", TYPES, &v);
}

static void reply_created(request *req, int64_t task_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)task_id);
    scan_tasks_kick(req->app);
    http_reply_json(req, 200, json_pack("{s:s}", "task_id", id));
}

void tasks_scan_create_handle(request *req)
{
    if (!global_type_ok(req))
        return;
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    task_scan_body b;
    int64_t task_id = 0;
    int rc = task_scan_body_check(body, &b, &err);
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_task_create_scan(st, req->principal.grant.project_id, b.is_all, &b.q, b.sel,
                                    b.n, b.scan_scope, b.rate_limit, util_now_ms(), &task_id,
                                    &err);
        store_pool_release(req->app->pool, st);
    }
    task_scan_body_free(&b);
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    reply_created(req, task_id);
}

void tasks_sync_create_handle(request *req)
{
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    bool all;
    int64_t ids[TASK_SELECT_MAX];
    size_t n;
    int64_t task_id = 0;
    int rc = task_sync_body_check(body, &all, ids, &n, &err);
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_task_create_sync(st, req->principal.grant.project_id, ids, n, util_now_ms(),
                                    &task_id, &err);
        store_pool_release(req->app->pool, st);
    }
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    reply_created(req, task_id);
}

void tasks_stop_handle(request *req)
{
    imgsec_err err = {0};
    int64_t id = registry_id_parse(req->params[1]); /* task ids are written as registry ids */
    int rc;
    if (id == 0) {
        rc = err_set(&err, IMGSEC_ENOTFOUND,
                     "invalid parameter: task_id: the project has no such task");
    } else {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_task_stop(st, req->principal.grant.project_id, id, util_now_ms(), &err);
        store_pool_release(req->app->pool, st);
    }
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object());
}

/* ---- ListImageScanTask ---- */

typedef struct {
    json_t *list;
    json_t *failed; /* the last task's failed_images */
    int64_t now;
} list_ctx;

static void task_cb(const store_task *t, void *arg)
{
    list_ctx *c = arg;
    char id[24], name[48];
    snprintf(id, sizeof id, "%lld", (long long)t->id);
    snprintf(name, sizeof name, "%s-%lld", t->kind == TASK_KIND_SCAN ? "image_scan" : "image_sync",
             (long long)t->id);
    int64_t done = t->success + t->failed;
    int status, remain = 0;
    const char *reason = "";
    if (strcmp(t->status, "finished") == 0) {
        status = 100;
    } else if (strcmp(t->status, "stopped") == 0) {
        status = -1;
        reason = "stopped by StopImageScanTask";
    } else {
        status = t->total ? (int)(done * 100 / t->total) : 0;
        if (status > 99)
            status = 99;
        if (done > 0 && t->begin_ms > 0) {
            int64_t per = (c->now - t->begin_ms) / done;
            remain = (int)((per * (t->waiting + t->running) + 59999) / 60000);
        }
    }
    c->failed = json_array();
    json_array_append_new(
        c->list,
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:s, s:s, s:i, s:i, s:i, s:b, s:I, s:I, s:I, "
                  "s:I, s:s, s:s, s:O}",
                  "task_id", id, "policy_id", "", "task_name", name, "begin_time",
                  (json_int_t)(t->begin_ms ? t->begin_ms : t->created_ms), "end_time",
                  (json_int_t)t->end_ms, "remain_min", remain, "task_type", t->task_type,
                  "image_type", "registry", "task_status", status, "scan_scope", t->scan_scope,
                  "rate_limit", t->rate_limit, "is_all", t->is_all, "failed_num",
                  (json_int_t)t->failed, "success_num", (json_int_t)t->success, "total_num",
                  (json_int_t)t->total, "risky_num", (json_int_t)t->risky, "sync_task_type",
                  t->kind == TASK_KIND_SYNC ? t->task_type : "", "failed_reason", reason,
                  "failed_images", c->failed));
    json_decref(c->failed); /* the task object holds it */
}

static void failure_cb(const store_task_failure *f, void *arg)
{
    list_ctx *c = arg;
    char reg[24];
    snprintf(reg, sizeof reg, "%lld", (long long)f->registry_id);
    json_array_append_new(
        c->failed,
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)f->image_id,
                  "registry_id", reg, "registry_name", f->registry_name, "image_name",
                  f->image_name, "image_version", f->image_version, "namespace", f->namespace_,
                  "registry_type", f->registry_type, "failed_reason", f->reason));
}

void tasks_list_handle(request *req)
{
    static const char *const TYPES[] = {"image_scan", "image_sync", NULL};
    static const char *const TASK_TYPES[] = {"cycle", "manual", "autoSync", "manualSync", NULL};
    static const char *const STATUSES[] = {"scanning", "finished", NULL};
    store_task_filter f = {.status = -1};
    int64_t offset, limit, scope;
    int type, task_type;
    const char *id_text;
    static const char *const GLOBAL_TYPES[] = {"registry", "local", NULL};
    int global;
    if (!query_enum(req, "global_image_type", GLOBAL_TYPES, &global) ||
        !query_page(req, 10, &offset, &limit) ||
        !query_enum(req, "type", TYPES, &type) ||
        !query_enum(req, "task_type", TASK_TYPES, &task_type) ||
        !query_string(req, "task_name", 256, &f.name) ||
        !query_string(req, "task_id", 256, &id_text) ||
        !query_int(req, "create_time", 0, 4070880000000LL, 0, &f.created_from, NULL) ||
        !query_int(req, "end_time", 0, 4070880000000LL, 0, &f.ended_before, NULL) ||
        !query_enum(req, "task_status", STATUSES, &f.status) ||
        !query_int(req, "scan_scope", 0, 0x7fffffff, 0, &scope, NULL))
        return;
    if (type < 0)
        return http_reply_error(req, 400, "HSS.0001",
                                "invalid parameter: type is required: image_scan or image_sync");
    f.kind = type == 0 ? TASK_KIND_SCAN : TASK_KIND_SYNC;
    if (global == 1) /* local images' tasks: imgsec has none */
        f.task_id = INT64_MAX;
    f.task_type = task_type >= 0 ? TASK_TYPES[task_type] : NULL;
    if (id_text && !(f.task_id = registry_id_parse(id_text)))
        f.task_id = INT64_MAX; /* not an id of ours: no task has it */
    list_ctx c = {.list = json_array(), .now = util_now_ms()};
    imgsec_err err = {0};
    int64_t total = 0;
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_task_list(st, req->principal.grant.project_id, &f, offset, limit, task_cb,
                             failure_cb, &c, &total, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK) {
        json_decref(c.list);
        return http_reply_err(req, &err);
    }
    http_reply_json(req, 200,
                    json_pack("{s:I, s:o}", "total_num", (json_int_t)total, "data_list", c.list));
}
