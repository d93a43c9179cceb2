/* route_statistic.c - POST /v5/{project_id}/image/security-report/statistic.
 *
 * The heart of the product: validate the request (statistic.md), make sure
 * the index reflects the file, and count from the index. Nothing here
 * touches record rows. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "request_body.h"
#include "routes.h"

typedef struct {
    report_type report;
    ep_scope scope;
} statistic_state;

static void statistic_state_free(void *p)
{
    statistic_state *s = p;
    ep_scope_free(&s->scope);
    free(s);
}

/* Query parameters and EP scope, checked before the body is read. */
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
    req->state_free = statistic_state_free;
    return authz_scope(req, true, &s->scope) && authz_role(req, ROLE_READER);
}

void statistic_handle(request *req)
{
    statistic_state *s = req->state;
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    stat_query q;
    int64_t total = 0;
    int rc = filter_from_json(body, &q, &err);
    if (rc == IMGSEC_OK) {
        q.report = s->report;
        rc = follower_sync(req->app->follow, &err);
        if (rc == IMGSEC_OK)
            rc = index_count(req->app->ix, &s->scope.ix, &q, &total, &err);
        filter_free(&q);
    }
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_pack("{s:I}", "total_num", (json_int_t)total));
}
