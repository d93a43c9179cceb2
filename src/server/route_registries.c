/* route_registries.c - a project's image registries (docs/api.md
 * "Registries"; the SDK models add_registry_*, list_registry_*,
 * update_registry_*, delete_registry_*, batch_delete_registry_*,
 * list_registry_statistics_*):
 *
 *   POST   /v5/{project_id}/image/registries               AddRegistry
 *   GET    /v5/{project_id}/image/registries               ListRegistry
 *   PUT    /v5/{project_id}/image/registries/{id}          UpdateRegistry
 *   DELETE /v5/{project_id}/image/registries/{id}          DeleteRegistry
 *   POST   /v5/{project_id}/image/registries/batch-delete  BatchDeleteRegistry
 *   GET    /v5/{project_id}/image/registries/statistics    ListRegistryStatistics
 *
 * A body is checked whole (registry_body.h) before anything is written;
 * the password is sealed under the server's key file (keyfile.h) at once,
 * and wiped from the parsed tree and the request body, so it reaches
 * neither the store in plain text, nor a reply, nor a log line: error
 * messages name the field, never its value. Nothing here
 * contacts a registry: a registry is stored with status "accessing" until
 * a sync (not in this round) reaches it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"
#include "imgsec/registry_body.h"
#include "imgsec/store_registries.h"
#include "imgsec/util.h"
#include "query.h"
#include "request_body.h"
#include "routes.h"

static const char *const STATUSES[] = {"success", "fail", "accessing", NULL};

/* Where a password's seal goes: sized for the longest password. */
typedef struct {
    unsigned char sealed[REG_SEALED_MAX];
} seal_buf;

static void wipe_body(request *req, json_t *body)
{
    json_t *pw = json_object_get(body, "registry_password");
    if (json_is_string(pw)) /* jansson owns the bytes; wiping them in place is safe */
        sodium_memzero((char *)json_string_value(pw), json_string_length(pw));
    http_body_wipe(req);
}

/* registry_body_check, then the password sealed into sb. */
static int parse_fields(request *req, json_t *body, bool add, store_registry_fields *f,
                        seal_buf *sb, imgsec_err *err)
{
    const char *password;
    int rc = registry_body_check(body, add, f, &password, err);
    if (rc == IMGSEC_OK && password) {
        size_t len = strlen(password); /* <= REG_PASSWORD_CHARS * 4: checked */
        keyfile_seal(req->app->sk_key, (const unsigned char *)password, len, sb->sealed);
        f->sealed = sb->sealed;
        f->sealed_len = len + KEYFILE_SEAL_OVERHEAD;
    }
    return rc;
}

/* The body as an object; a parse error's message quotes no body bytes. */
static json_t *body_object(request *req, imgsec_err *err)
{
    json_t *body = request_body_object(req, err);
    if (!body) {
        imgsec_code code = err->code;
        err_set(err, code, "request body must be a JSON object");
    }
    return body;
}

static int not_found(imgsec_err *err, const char *param)
{
    return err_set(err, IMGSEC_ENOTFOUND,
                   "invalid parameter: %s: the project has no such registry", param);
}

static void reply_not_found(request *req, const char *param)
{
    imgsec_err err = {0};
    not_found(&err, param);
    http_reply_err(req, &err);
}

/* Add (id < 0) or Update (id of the path, 0 when it names none): the body
 * is checked first (a bad body is 400 whatever the id), its password
 * sealed and wiped, then one store write. Both answers have no field. */
static void write_registry(request *req, int64_t id)
{
    imgsec_err err = {0};
    json_t *body = body_object(req, &err);
    if (!body) {
        http_body_wipe(req);
        return http_reply_err(req, &err);
    }
    store_registry_fields f;
    seal_buf sb;
    int rc = parse_fields(req, body, id < 0, &f, &sb, &err);
    wipe_body(req, body);
    if (rc == IMGSEC_OK && id == 0)
        rc = not_found(&err, "id");
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        const char *project = req->principal.grant.project_id;
        int64_t new_id;
        rc = id < 0 ? store_registry_add(st, project, &f, util_now_ms(), &new_id, &err)
                    : store_registry_update(st, project, id, &f, util_now_ms(), &err);
        store_pool_release(req->app->pool, st);
    }
    sodium_memzero(&sb, sizeof sb);
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object()); /* Add/UpdateRegistryResponse have no field */
}

void registries_add_handle(request *req)
{
    write_registry(req, -1);
}

void registries_update_handle(request *req)
{
    write_registry(req, registry_id_parse(req->params[1]));
}

void registries_delete_handle(request *req)
{
    imgsec_err err = {0};
    int64_t id = registry_id_parse(req->params[1]);
    if (id == 0)
        return reply_not_found(req, "id");
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_registry_delete(st, req->principal.grant.project_id, &id, 1, "id", &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object());
}

void registries_batch_delete_handle(request *req)
{
    imgsec_err err = {0};
    json_t *body = body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    int64_t out[REG_PER_PROJECT_MAX];
    size_t n;
    int rc = registry_ids_check(body, out, &n, &err);
    json_decref(body);
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_registry_delete(st, req->principal.grant.project_id, out, n, "ids", &err);
        store_pool_release(req->app->pool, st);
    }
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object());
}

/* registry_type as a comma-separated list of the SDK's types into a mask
 * (bit i: STORE_REGISTRY_TYPES[i]); replies and returns false if bad. */
static bool type_mask(request *req, unsigned *mask)
{
    const char *v;
    *mask = 0;
    if (!query_string(req, "registry_type", 128, &v))
        return false;
    if (!v)
        return true;
    const char *p = v;
    while (true) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (unsigned i = 0; STORE_REGISTRY_TYPES[i]; i++)
            if (strlen(STORE_REGISTRY_TYPES[i]) == len &&
                memcmp(STORE_REGISTRY_TYPES[i], p, len) == 0) {
                *mask |= 1u << i;
                found = true;
            }
        if (!found) {
            char list[256];
            http_reply_error(req, 400, "HSS.0001",
                             "invalid parameter: registry_type must be a comma-separated list "
                             "of %s",
                             model_join_names(STORE_REGISTRY_TYPES, list, sizeof list));
            return false;
        }
        if (!p[len])
            return true;
        p += len + 1;
    }
}

static void item_cb(const store_registry *r, void *arg)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
                       "id", id, "registry_name", r->name, "registry_type", r->type,
                       "api_version", r->api_version, "protocol", r->protocol, "registry_addr",
                       r->addr, "registry_username", r->username, "namespace", r->namespace_,
                       "connect_cluster_id", r->cluster_id, "get_scan_image_channel",
                       r->channel, "status", r->status, "fail_reason", r->fail_reason,
                       "images_num", (json_int_t)r->images_num, "latest_sync_time",
                       (json_int_t)r->latest_sync_ms));
}

void registries_list_handle(request *req)
{
    store_registry_filter f = {0};
    int64_t offset, limit;
    const char *id_text;
    int status;
    if (!query_page(req, QUERY_LIMIT_DEFAULT, &offset, &limit) ||
        !query_string(req, "registry_name", REG_NAME_CHARS, &f.name) ||
        !query_string(req, "registry_id", REG_ID_CHARS, &id_text) ||
        !query_string(req, "registry_addr", REG_ADDR_CHARS, &f.addr) ||
        !query_enum(req, "status", STATUSES, &status) || !type_mask(req, &f.type_mask))
        return;
    if (id_text && !(f.id = registry_id_parse(id_text)))
        f.id = INT64_MAX; /* not an id of ours: no registry has it */
    f.status = status >= 0 ? STATUSES[status] : NULL;
    imgsec_err err = {0};
    json_t *list = json_array();
    int64_t total = 0;
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_registry_list(st, req->principal.grant.project_id, &f, offset, limit, item_cb,
                                 list, &total, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK) {
        json_decref(list);
        return http_reply_err(req, &err);
    }
    http_reply_json(req, 200,
                    json_pack("{s:I, s:o}", "total_num", (json_int_t)total, "data_list", list));
}

void registries_statistics_handle(request *req)
{
    unsigned mask;
    if (!type_mask(req, &mask))
        return;
    imgsec_err err = {0};
    int64_t ok = 0, bad = 0;
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_registry_counts(st, req->principal.grant.project_id, mask, &ok, &bad, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_pack("{s:I, s:I}", "fail_num", (json_int_t)bad, "success_num",
                                        (json_int_t)ok));
}
