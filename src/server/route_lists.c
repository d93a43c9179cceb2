/* route_lists.c - the finding lists (imgsec/list.h, docs/api.md "Finding
 * lists"): one prepare and one handler serve every row of LIST_KINDS; the
 * route's pattern names the row.
 *
 * Access is declared in the route table (router.c: role reader, scope
 * SCOPE_ANY, the SDK's region) and enforced by the gate (gate.h); the
 * handler reads the EP scope the gate resolved (req->scope).
 *
 * The rows are read from the store (a pooled connection, one read
 * transaction per call): a transaction begun after the request arrived
 * sees every commit made before it, so a list is never older than the
 * file, and its total and page come from one state. A tenant-wide page
 * without record filters is located by the query index instead of the
 * images table (index_record_page), but only when the index is at exactly
 * the transaction's change-log position (follower_hold), so both name the
 * same state; otherwise the store locates it. The grouped lists and the
 * images of one vulnerability or rule use the index the same way
 * (index_with, index_list.c). While a list runs, its SQL asks every few
 * milliseconds of work whether the client has closed the connection
 * (http_client_gone) and stops if so. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "gate.h"
#include "imgsec/follow.h"
#include "imgsec/list.h"
#include "router.h"
#include "routes.h"

/* Names the row of LIST_KINDS the route serves; the gate (gate.h) has
 * checked role, region and the EP scope before. */
bool lists_prepare(request *req)
{
    if (!list_def_by_path(req->route->pattern)) {
        http_reply_internal(req, "no list for route %s", req->route->pattern);
        return false;
    }
    return true;
}

typedef struct {
    const char *name;
    bool found;
} bare_key;

static enum MHD_Result find_key(void *arg, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    bare_key *b = arg;
    (void)kind, (void)value;
    if (strcmp(key, b->name) == 0) {
        b->found = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* A query parameter; a key sent without '=' (the Go SDK's empty value)
 * reads as "" (sdk-routes.md section 3). */
static const char *query_get(void *ctx, const char *name)
{
    request *req = ctx;
    const char *v = http_query(req, name);
    if (v)
        return v;
    bare_key b = {name, false};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_key, &b);
    return b.found ? "" : NULL;
}

/* ---- the index as list_run's accelerator ---- */

typedef struct {
    request *req;
    int64_t pos;
    const index_scope *scope;
    report_type report;
    unsigned type_mask;
    int64_t offset, limit, *total;
    index_record_span *spans;
    size_t *n_spans;
    imgsec_err *err;
} page_hold;

/* Under the follower's hold: the index's page, if the index is at the
 * snapshot's position. */
static int page_under_hold(int64_t position, void *arg)
{
    page_hold *h = arg;
    if (position != h->pos)
        return IMGSEC_ENOTFOUND;
    return index_record_page(h->req->app->ix, h->scope, h->report, h->type_mask, h->offset,
                             h->limit, h->total, h->spans, h->n_spans, h->err);
}

/* list_run's read transaction began after the request arrived; once the
 * index reflects every commit made before now (follower_sync), it is at
 * that transaction's position unless a commit landed in between, and
 * then the store answers (IMGSEC_ENOTFOUND). */
static int index_page_for(void *arg, int64_t pos, const index_scope *scope, report_type report,
                          unsigned type_mask, int64_t offset, int64_t limit, int64_t *total,
                          index_record_span *spans, size_t *n_spans, imgsec_err *err)
{
    request *req = arg;
    int rc = follower_sync(req->app->follow, err);
    if (rc != IMGSEC_OK)
        return rc;
    page_hold h = {req, pos, scope, report, type_mask, offset, limit, total, spans, n_spans, err};
    return follower_hold(req->app->follow, page_under_hold, &h);
}

typedef struct {
    request *req;
    int64_t pos;
    int (*fn)(imgsec_index *ix, void *arg, imgsec_err *err);
    void *arg;
    imgsec_err *err;
} fn_hold;

static int fn_under_hold(int64_t position, void *arg)
{
    fn_hold *h = arg;
    if (position != h->pos)
        return IMGSEC_ENOTFOUND;
    return h->fn(h->req->app->ix, h->arg, h->err);
}

/* The same for the grouped lists and the images of one vulnerability or
 * rule (list_accel.with_index). */
static int index_with(void *arg, int64_t pos,
                      int (*fn)(imgsec_index *ix, void *fn_arg, imgsec_err *err), void *fn_arg,
                      imgsec_err *err)
{
    request *req = arg;
    int rc = follower_sync(req->app->follow, err);
    if (rc != IMGSEC_OK)
        return rc;
    fn_hold h = {req, pos, fn, fn_arg, err};
    return follower_hold(req->app->follow, fn_under_hold, &h);
}

static bool client_gone(void *arg)
{
    return http_client_gone(arg);
}

void lists_handle(request *req)
{
    const list_def *d = list_def_by_path(req->route->pattern);
    imgsec_err err = {0};
    list_params p = {query_get, req};
    const char *arg = strchr(d->path + strlen("/v5/{project_id}"), '{') ? req->params[1] : NULL;
    json_t *out = NULL;
    store *st = store_pool_acquire(req->app->pool);
    list_accel accel = {index_page_for, req, index_with, client_gone, 0, 0};
    int rc = list_run_accel(st, d->kind, &req->scope->ix, arg, &p, &accel, &out, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    /* CVSS scores are float32 in the SDK models: 7 significant digits */
    char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(7));
    json_decref(out);
    if (!text)
        return http_reply_internal(req, "out of memory");
    http_reply_json_text(req, 200, text, strlen(text));
    free(text);
}
