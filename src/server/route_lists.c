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
 * file, and its total and page come from one state. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "gate.h"
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

void lists_handle(request *req)
{
    const list_def *d = list_def_by_path(req->route->pattern);
    imgsec_err err = {0};
    list_params p = {query_get, req};
    const char *arg = strchr(d->path + strlen("/v5/{project_id}"), '{') ? req->params[1] : NULL;
    json_t *out = NULL;
    store *st = store_pool_acquire(req->app->pool);
    int rc = list_run(st, d->kind, &req->scope->ix, arg, &p, &out, &err);
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
