/* route_ingest.c - POST /v5/{project_id}/image/scan-results and
 * DELETE /v5/{project_id}/image/scan-results/{id} (data-model.md).
 *
 * A body is parsed and validated whole before anything is written, then
 * stored in one transaction; the index follows the commit before the reply
 * is sent, so the caller's next statistic already counts what it sent. */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/doc.h"
#include "imgsec/follow.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "routes.h"

#define NDJSON_TYPE "application/x-ndjson"

typedef struct {
    ep_scope scope;
} ingest_state;

static void ingest_state_free(void *p)
{
    ingest_state *s = p;
    ep_scope_free(&s->scope);
    free(s);
}

bool ingest_prepare(request *req)
{
    ingest_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    req->state = s;
    req->state_free = ingest_state_free;
    return authz_scope(req, false, &s->scope) && authz_role(req, ROLE_WRITER);
}

static bool body_is_ndjson(request *req)
{
    const char *type = http_header(req, "Content-Type");
    return type && strncasecmp(type, NDJSON_TYPE, strlen(NDJSON_TYPE)) == 0;
}

static json_t *ingest_response(const doc_list *docs, const store_ingest_result *results)
{
    json_t *images = json_array();
    for (size_t i = 0; i < docs->n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)results[i].id);
        json_array_append_new(images,
                              json_pack("{s:s, s:s, s:s, s:I}", "id", id, "image_name",
                                        docs->items[i].summary.image_name, "image_version",
                                        docs->items[i].summary.image_version, "records",
                                        (json_int_t)results[i].records));
    }
    return json_pack("{s:o}", "images", images);
}

void ingest_handle(request *req)
{
    ingest_state *s = req->state;
    imgsec_err err = {0};
    doc_list docs = {0};
    int rc = doc_list_parse(req->body ? req->body : "", req->body_len, body_is_ndjson(req),
                            &docs, &err);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    store_ingest_result *results = calloc(docs.n ? docs.n : 1, sizeof *results);
    if (!results) {
        doc_list_free(&docs);
        err_set(&err, IMGSEC_EINTERNAL, "out of memory");
        return http_reply_err(req, &err);
    }
    store *st = store_pool_acquire(req->app->pool);
    rc = store_ingest(st, s->scope.ix.project_id, s->scope.single, docs.items, docs.n,
                      &req->principal.grant, results, NULL, NULL, &err);
    store_pool_release(req->app->pool, st);
    if (rc == IMGSEC_OK)
        rc = follower_sync(req->app->follow, &err);
    if (rc == IMGSEC_OK)
        http_reply_json(req, 200, ingest_response(&docs, results));
    else
        http_reply_err(req, &err);
    free(results);
    doc_list_free(&docs);
}

bool ingest_delete_prepare(request *req)
{
    return authz_role(req, ROLE_WRITER);
}

void ingest_delete_handle(request *req)
{
    imgsec_err err = {0};
    int64_t id;
    const char *text = req->params[1];
    if (!util_parse_int64(text, &id) || id <= 0) {
        err_set(&err, IMGSEC_ENOTFOUND, "image %s does not exist in this project", "id");
        return http_reply_err(req, &err);
    }
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_image_delete(st, req->principal.grant.project_id, id, &req->principal.grant,
                                &err);
    store_pool_release(req->app->pool, st);
    if (rc == IMGSEC_OK)
        rc = follower_sync(req->app->follow, &err);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object());
}
