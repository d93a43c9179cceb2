/* route_ingest.c - POST /v5/{project_id}/image/scan-results and
 * DELETE /v5/{project_id}/image/scan-results/{id} (data-model.md).
 *
 * A body is parsed and validated whole before anything is written, then
 * stored in one transaction; the index follows the commit before the reply
 * is sent, so the caller's next statistic already counts what it sent.
 *
 * Query `format` (importers.h): native (default) is today's ingest
 * document path; auto/trivy/grype/syft/cyclonedx/spdx convert ONE report
 * per request into a document first, then the same validation and store
 * apply. Queries image_type, image_name, image_version and namespace
 * override the identity the report gives (docs/importers.md). */
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/doc.h"
#include "imgsec/follow.h"
#include "imgsec/importers.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "routes.h"

#define NDJSON_TYPE "application/x-ndjson"

typedef struct {
    import_format format;
    import_options id;
} ingest_state;

/* The format and identity queries, checked before the body is read. */
static bool ingest_parse_format(request *req, ingest_state *s)
{
    const char *f = http_query(req, "format");
    int fmt = f ? import_format_parse(f) : IMPORT_NATIVE;
    if (fmt < 0) {
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: format must be one of %s",
                         import_format_choices());
        return false;
    }
    s->format = (import_format)fmt;
    s->id.image_type = http_query(req, "image_type");
    s->id.image_name = http_query(req, "image_name");
    s->id.image_version = http_query(req, "image_version");
    s->id.namespace_ = http_query(req, "namespace");
    if (s->id.image_type && image_type_parse(s->id.image_type) < 0) {
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: image_type must be one of %s",
                         image_type_choices());
        return false;
    }
    return true;
}

bool ingest_prepare(request *req)
{
    ingest_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    req->state = s;
    req->state_free = free;
    return ingest_parse_format(req, s);
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
    size_t len;
    const char *body = http_body(req, &len);
    int rc;
    if (s->format == IMPORT_NATIVE) {
        rc = doc_list_parse(body, len, body_is_ndjson(req), &docs, &err);
    } else {
        s->id.now_ms = util_now_ms();
        rc = import_buffer(body, len, s->format, body_is_ndjson(req), &s->id, "body", &docs, NULL,
                           &err);
    }
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    store_ingest_result *results = calloc(docs.n ? docs.n : 1, sizeof *results);
    if (!results) {
        doc_list_free(&docs);
        return http_reply_internal(req, "out of memory");
    }
    store *st = store_pool_acquire(req->app->pool);
    rc = store_ingest(st, req->scope->ix.project_id, req->scope->single, docs.items, docs.n,
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
