/* route_tasks.c - registry sync and scan tasks (docs/api.md "Scan tasks";
 * the SDK models create_manual_image_scan_task_*, list_image_scan_task_*,
 * stop_image_scan_task_*, create_image_synchronize_task_*):
 *
 *   POST /v5/{project_id}/image/image-scan/tasks                CreateManualImageScanTask
 *   GET  /v5/{project_id}/image/tasks                           ListImageScanTask
 *   PUT  /v5/{project_id}/image/image-scan/tasks/{task_id}/stop StopImageScanTask
 *   POST /v5/{project_id}/image/image-sync/tasks                CreateImageSynchronizeTask
 *
 * A body is checked whole before anything is written: every field of the
 * SDK model with its JSON type and bound, a field imgsec cannot honour
 * refused by name (HSS.0001), never ignored. A task made is one store
 * transaction (store_tasks.h); the work runs on the scan queue
 * (scan_tasks.h), kicked here. The create answers are the SDK's empty
 * models plus task_id (an extension: the SDKs ignore it; ListImageScanTask
 * with task_id finds the task). */
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"
#include "imgsec/registry_body.h"
#include "imgsec/store_tasks.h"
#include "imgsec/util.h"
#include "query.h"
#include "request_body.h"
#include "routes.h"
#include "scan_tasks.h"

#define bad(err, ...) err_set(err, IMGSEC_EINVAL, __VA_ARGS__)

/* A string of 0..chars characters at obj.key; *out NULL when absent or null. */
static int get_string(const json_t *obj, const char *where, const char *key, size_t chars,
                      const char **out, imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return IMGSEC_OK;
    if (!json_is_string(v) || util_utf8_chars(json_string_value(v), json_string_length(v)) > chars)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s%s must be a string of 0-%zu characters", where, key,
                       chars);
    *out = json_string_value(v);
    return IMGSEC_OK;
}

static int get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t dflt,
                   int64_t *out, imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return IMGSEC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must be an integer of %lld to %lld", key,
                       (long long)min, (long long)max);
    *out = json_integer_value(v);
    return IMGSEC_OK;
}

static int get_bool(const json_t *obj, const char *key, bool required, bool *out,
                    imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if ((!v || json_is_null(v)) && !required)
        return IMGSEC_OK;
    if (!json_is_boolean(v))
        return bad(err, "invalid parameter: %s must be true or false", key);
    *out = json_is_true(v);
    return IMGSEC_OK;
}

/* Keys of obj outside allowed: refused by name. */
static int only_keys(const json_t *obj, const char *where, const char *const *allowed,
                     imgsec_err *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k) == 0;
        if (!ok && !json_is_null(v))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s%.64s is not a filter imgsec supports", where, k);
    }
    return IMGSEC_OK;
}

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

static const char *const QUERY_KEYS[] = {"namespace", "image_name", "image_version", "image_type",
                                         NULL};
static const char *const REGISTRY_IMAGE_TYPES[] = {"private_image", "shared_image",
                                                   "instance_image", "harbor", "jfrog", NULL};

static int parse_query_info(const json_t *qi, store_task_query *q, imgsec_err *err)
{
    q->image_type = -1;
    if (!qi || json_is_null(qi))
        return IMGSEC_OK;
    if (!json_is_object(qi))
        return bad(err, "invalid parameter: query_info must be an object");
    int rc;
    const char *type;
    if ((rc = only_keys(qi, "query_info.", QUERY_KEYS, err)) ||
        (rc = get_string(qi, "query_info.", "namespace", 256, &q->namespace_, err)) ||
        (rc = get_string(qi, "query_info.", "image_name", 256, &q->image_name, err)) ||
        (rc = get_string(qi, "query_info.", "image_version", 128, &q->image_version, err)) ||
        (rc = get_string(qi, "query_info.", "image_type", 32, &type, err)))
        return rc;
    if (type) {
        for (size_t i = 0; REGISTRY_IMAGE_TYPES[i]; i++)
            if (strcmp(REGISTRY_IMAGE_TYPES[i], type) == 0)
                q->image_type = image_type_parse(type);
        if (q->image_type < 0)
            return bad(err,
                       "invalid parameter: query_info.image_type must be one of private_image, "
                       "shared_image, instance_image, harbor, jfrog");
    }
    return IMGSEC_OK;
}

/* image_info[i]: id, or registry_id with namespace / image_name /
 * image_version narrowing it; the list's other fields describe and are
 * not checked beyond their types. */
static int parse_image_info(const json_t *arr, store_task_select *sel, size_t *n, imgsec_err *err)
{
    *n = 0;
    if (!arr || json_is_null(arr))
        return IMGSEC_OK;
    if (!json_is_array(arr) || json_array_size(arr) > TASK_SELECT_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: image_info must be an array of at most %d images",
                       TASK_SELECT_MAX);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *it = json_array_get(arr, i);
        char where[40];
        snprintf(where, sizeof where, "image_info[%zu].", i);
        if (!json_is_object(it))
            return bad(err, "invalid parameter: %s must be an object", where);
        store_task_select *s = &sel[i];
        memset(s, 0, sizeof *s);
        const json_t *id = json_object_get(it, "id");
        if (id && !json_is_null(id)) {
            if (!json_is_integer(id) || json_integer_value(id) <= 0)
                return bad(err, "invalid parameter: %sid must be a positive integer", where);
            s->image_id = json_integer_value(id);
        }
        const char *reg, *ignored;
        int rc;
        if ((rc = get_string(it, where, "registry_id", REG_ID_CHARS, &reg, err)) ||
            (rc = get_string(it, where, "namespace", 256, &s->namespace_, err)) ||
            (rc = get_string(it, where, "image_name", 256, &s->image_name, err)) ||
            (rc = get_string(it, where, "image_version", 128, &s->image_version, err)))
            return rc;
        static const char *const DESCRIPTIVE[] = {"image_id",    "image_digest", "registry_name",
                                                  "instance_id", "instance_url", "registry_type",
                                                  NULL};
        for (size_t k = 0; DESCRIPTIVE[k]; k++)
            if ((rc = get_string(it, where, DESCRIPTIVE[k], 512, &ignored, err)))
                return rc;
        if (reg && !(s->registry_id = registry_id_parse(reg)))
            s->registry_id = INT64_MAX; /* not an id of ours: not the project's */
        if (!s->image_id && !s->registry_id)
            return bad(err, "invalid parameter: %sid or %sregistry_id is required", where, where);
        if (s->image_id)
            s->registry_id = 0;
        (*n)++;
    }
    return IMGSEC_OK;
}

void tasks_scan_create_handle(request *req)
{
    if (!global_type_ok(req))
        return;
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    store_task_query q = {0};
    store_task_select *sel = NULL;
    size_t n = 0;
    int64_t scope = 0, rate = 0, task_id = 0;
    bool is_all = false;
    static const char *const KEYS[] = {"scan_scope", "rate_limit", "is_all", "query_info",
                                       "image_info", NULL};
    int rc = only_keys(body, "", KEYS, &err);
    if (rc == IMGSEC_OK)
        rc = get_int(body, "scan_scope", 0, 0x7fffffff, 0x7fffffff, &scope, &err);
    if (rc == IMGSEC_OK)
        rc = get_int(body, "rate_limit", 0, 1000, 0, &rate, &err);
    if (rc == IMGSEC_OK)
        rc = get_bool(body, "is_all", false, &is_all, &err);
    if (rc == IMGSEC_OK)
        rc = parse_query_info(json_object_get(body, "query_info"), &q, &err);
    if (rc == IMGSEC_OK) {
        const json_t *ii = json_object_get(body, "image_info");
        size_t cap = json_is_array(ii) && json_array_size(ii) <= TASK_SELECT_MAX
                         ? json_array_size(ii)
                         : 0;
        if (cap && !(sel = calloc(cap, sizeof *sel)))
            rc = err_set(&err, IMGSEC_EINTERNAL, "out of memory");
        else
            rc = parse_image_info(ii, sel, &n, &err);
    }
    if (rc == IMGSEC_OK && is_all && n)
        rc = bad(&err, "invalid parameter: image_info must be absent when is_all is true");
    if (rc == IMGSEC_OK && !is_all && !n)
        rc = bad(&err,
                 "invalid parameter: image_info must name images when is_all is false");
    if (rc == IMGSEC_OK && !is_all && (q.namespace_ || q.image_name || q.image_version ||
                                       q.image_type >= 0))
        rc = bad(&err, "invalid parameter: query_info applies only when is_all is true");
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_task_create_scan(st, req->principal.grant.project_id, is_all, &q, sel, n,
                                    (int)scope, (int)rate, util_now_ms(), &task_id, &err);
        store_pool_release(req->app->pool, st);
    }
    free(sel);
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
    static const char *const KEYS[] = {"sync_all_registries", "registry_info", NULL};
    bool all = false;
    int64_t ids[TASK_SELECT_MAX];
    size_t n = 0;
    int rc = only_keys(body, "", KEYS, &err);
    if (rc == IMGSEC_OK)
        rc = get_bool(body, "sync_all_registries", true, &all, &err);
    const json_t *ri = json_object_get(body, "registry_info");
    if (rc == IMGSEC_OK && ri && !json_is_null(ri) &&
        (!json_is_array(ri) || json_array_size(ri) > TASK_SELECT_MAX))
        rc = err_set(&err, IMGSEC_EINVAL,
                     "invalid parameter: registry_info must be an array of at most %d registries",
                     TASK_SELECT_MAX);
    for (size_t i = 0; rc == IMGSEC_OK && i < json_array_size(ri); i++) {
        const json_t *it = json_array_get(ri, i);
        char where[40];
        snprintf(where, sizeof where, "registry_info[%zu].", i);
        const char *id, *type;
        if (!json_is_object(it)) {
            rc = bad(&err, "invalid parameter: %s must be an object", where);
            break;
        }
        if ((rc = get_string(it, where, "registry_id", REG_ID_CHARS, &id, &err)) ||
            (rc = get_string(it, where, "registry_type", 16, &type, &err)))
            break;
        if (!id) {
            rc = bad(&err, "invalid parameter: %sregistry_id is required", where);
            break;
        }
        ids[n] = registry_id_parse(id);
        if (!ids[n])
            ids[n] = INT64_MAX; /* no registry of ours: not found below */
        n++;
    }
    if (rc == IMGSEC_OK && all && n)
        rc = bad(&err,
                 "invalid parameter: registry_info must be absent when sync_all_registries is "
                 "true");
    if (rc == IMGSEC_OK && !all && !n)
        rc = bad(&err,
                 "invalid parameter: registry_info must name registries when "
                 "sync_all_registries is false");
    int64_t task_id = 0;
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
