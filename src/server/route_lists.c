/* route_lists.c - the finding lists (imgsec/list.h, docs/api.md "Finding
 * lists"): one prepare and one handler serve every row of LIST_KINDS; the
 * route's pattern names the row.
 *
 * Access is the statistic's: role reader or more, the EP scope of
 * enterprise_project_id (all_granted_eps allowed), the path's project
 * (checked by http.c). It is decided in lists_prepare alone, so that it
 * moves onto the route gate in one piece.
 *
 * The rows are read from the store (a pooled connection, one read
 * transaction per call): a transaction begun after the request arrived
 * sees every commit made before it, so a list is never older than the
 * file, and its total and page come from one state. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/list.h"
#include "router.h"
#include "routes.h"

typedef struct {
    const list_def *def;
    ep_scope scope;
} lists_state;

static void lists_state_free(void *p)
{
    lists_state *s = p;
    ep_scope_free(&s->scope);
    free(s);
}

bool lists_prepare(request *req)
{
    const list_def *d = list_def_by_path(req->route->pattern);
    if (!d) {
        http_reply_internal(req, "no list for route %s", req->route->pattern);
        return false;
    }
    lists_state *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_internal(req, "out of memory");
        return false;
    }
    s->def = d;
    req->state = s;
    req->state_free = lists_state_free;
    return authz_scope(req, true, &s->scope) && authz_role(req, ROLE_READER);
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
    lists_state *s = req->state;
    imgsec_err err = {0};
    list_params p = {query_get, req};
    const char *arg = strchr(s->def->path + strlen("/v5/{project_id}"), '{') ? req->params[1] : NULL;
    json_t *out = NULL;
    store *st = store_pool_acquire(req->app->pool);
    int rc = list_run(st, s->def->kind, &s->scope.ix, arg, &p, &out, &err);
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
