/* route_statistic.c - POST /v5/{project_id}/image/security-report/statistic.
 *
 * The heart of the product: validate the request (statistic.md), make sure
 * the index reflects the file, and count from the index. Nothing here
 * touches record rows. An answer already computed for the same report,
 * scope and body bytes on the same index content (follower_view: it moves
 * only when an image changes, not with every commit) is given again from
 * the result cache (result_cache.h) without parsing the body: only valid
 * bodies' answers are stored, so an invalid body is always parsed and
 * refused. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "request_body.h"
#include "result_cache.h"
#include "routes.h"

typedef struct {
    report_type report;
} statistic_state;

/* The query, checked before the body is read (the gate resolves the EP
 * scope and checks the role after it: gate.h). */
bool statistic_prepare(request *req)
{
    const char *type = http_query(req, "security_report_type");
    if (!type || !*type) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: security_report_type is required");
        return false;
    }
    int t = report_type_parse(type);
    if (t < 0) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: security_report_type must be one of %s",
                         report_type_choices());
        return false;
    }
    statistic_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->report = (report_type)t;
    req->state = s;
    req->state_free = free;
    return true;
}

/* The scope half of the result cache's key: the report and exactly the
 * images the caller may count (project and EP set), each length-prefixed
 * so that no two scopes serialize alike. 0 if it does not fit (no cache). */
static size_t scope_key(const request *req, char *out, size_t cap)
{
    const statistic_state *s = req->state;
    const index_scope *sc = &req->scope->ix;
    size_t n = 0;
    int w = snprintf(out, cap, "%d|%zu:%s|", (int)s->report, strlen(sc->project_id),
                     sc->project_id);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    n = (size_t)w;
    if (sc->all_eps) {
        w = snprintf(out + n, cap - n, "*");
        n = w < 0 || (size_t)w >= cap - n ? cap : n + (size_t)w;
    }
    for (size_t i = 0; !sc->all_eps && i < sc->n_eps && n < cap; i++) {
        const char *ep = sc->eps[i] ? sc->eps[i] : "";
        w = snprintf(out + n, cap - n, "%zu:%s,", strlen(ep), ep);
        n = w < 0 || (size_t)w >= cap - n ? cap : n + (size_t)w;
    }
    return n < cap ? n : 0;
}

static void reply_total(request *req, int64_t total)
{
    char text[48];
    int n = snprintf(text, sizeof text, "{\"total_num\":%lld}", (long long)total);
    http_reply_json_text(req, 200, text, (size_t)n);
}

/* Counts a valid body from the index, once it reflects generation gen. */
static int count_body(request *req, int64_t gen, int64_t *total, imgsec_err *err)
{
    statistic_state *s = req->state;
    size_t len;
    const char *text = http_body(req, &len);
    stat_query q;
    json_t *body = NULL;
    /* plain JSON without a tree (a 5,000-id list cost more to build as
     * one than to count); anything else through jansson, which also
     * words its syntax errors */
    int rc = filter_from_text(text, len, &q, err);
    if (rc == FILTER_NOT_PLAIN) {
        if (!(body = request_body_object(req, err)))
            return err->code != IMGSEC_OK ? (int)err->code
                                          : err_set(err, IMGSEC_EINTERNAL, "out of memory");
        rc = filter_from_json(body, &q, err);
    }
    if (rc == IMGSEC_OK) {
        q.report = s->report;
        rc = follower_sync_to(req->app->follow, gen, err);
        if (rc == IMGSEC_OK)
            rc = index_count(req->app->ix, &req->scope->ix, &q, total, err);
        filter_free(&q);
    }
    json_decref(body);
    return rc;
}

/* The result cache's key of this request, hashed; false when there is
 * none: the cache is off (then the body is not even hashed) or the scope
 * does not fit. */
static bool make_key(request *req, char *scope, size_t cap, result_key *key)
{
    if (!result_cache_enabled(req->app->results))
        return false;
    *key = (result_key){.scope = scope, .scope_len = scope_key(req, scope, cap)};
    if (key->scope_len == 0)
        return false;
    key->body = http_body(req, &key->body_len);
    result_cache_key_hash(key);
    return true;
}

void statistic_handle(request *req)
{
    imgsec_err err = {0};
    int64_t gen = http_file_gen(req);
    int64_t total = 0;
    char scope[2 * STORE_EPS_MAX + 256];
    result_key key = {0};
    follower_view view = {0};
    bool cacheable = make_key(req, scope, sizeof scope, &key);
    if (cacheable) {
        /* the index first reflects the file as of this request; the view
         * taken then names what any answer given from now on counts */
        int rc = follower_sync_to(req->app->follow, gen, &err);
        if (rc != IMGSEC_OK)
            return http_reply_err(req, &err);
        cacheable = follower_view_begin(req->app->follow, &view);
        if (cacheable && result_cache_get(req->app->results, &key, view.content, &total))
            return reply_total(req, total);
    }
    int rc = count_body(req, gen, &total, &err);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    if (cacheable && follower_view_still(req->app->follow, &view))
        result_cache_put(req->app->results, &key, view.content, total);
    reply_total(req, total);
}
