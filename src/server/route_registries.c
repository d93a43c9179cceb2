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
 * A body is checked whole (types, enums, character bounds) before
 * anything is written; the password is sealed under the server's key file
 * (keyfile.h) at once, and wiped from the parsed tree and the request
 * body, so it reaches neither the store in plain text, nor a reply, nor a
 * log line: error messages name the field, never its value. Nothing here
 * contacts a registry: a registry is stored with status "accessing" until
 * a sync (not in this round) reaches it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"
#include "imgsec/store_registries.h"
#include "imgsec/util.h"
#include "query.h"
#include "request_body.h"
#include "routes.h"

static const char *const ADD_TYPES[] = {"Harbor", "Jfrog", "Other", NULL};
static const char *const API_VERSIONS[] = {"V1", "V2", NULL};
static const char *const PROTOCOLS[] = {"http", "https", NULL};
static const char *const CHANNELS[] = {"Swr", "Other", NULL};
static const char *const STATUSES[] = {"success", "fail", "accessing", NULL};

/* A body's string fields: key, bound in characters, allowed values (NULL:
 * any text without control characters), where it goes. */
typedef struct {
    const char *key;
    size_t max_chars;
    const char *const *values;
    size_t offset; /* of the const char * in store_registry_fields */
    bool update;   /* in UpdateRegistryRequestBody */
} body_field;

#define AT(m) offsetof(store_registry_fields, m)
static const body_field BODY_FIELDS[] = {
    {"registry_name", REG_NAME_CHARS, NULL, AT(name), false},
    {"registry_type", 16, ADD_TYPES, AT(type), false},
    {"api_version", 2, API_VERSIONS, AT(api_version), true},
    {"protocol", 5, PROTOCOLS, AT(protocol), true},
    {"registry_addr", REG_ADDR_CHARS, NULL, AT(addr), true},
    {"registry_username", REG_USER_CHARS, NULL, AT(username), true},
    {"namespace", REG_NAMESPACE_CHARS, NULL, AT(namespace_), true},
    {"connect_cluster_id", REG_CLUSTER_CHARS, NULL, AT(cluster_id), true},
    {"get_scan_image_channel", 5, CHANNELS, AT(channel), true},
};
#define NBODY (sizeof BODY_FIELDS / sizeof BODY_FIELDS[0])

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool in_list(const char *v, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return true;
    return false;
}

/* HOST or HOST:PORT as the model's "网址/IP:端口" (no scheme, no path,
 * no user info): letters, digits and . - _ : [ ] only. */
static bool addr_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(".-_:[]", *s)))
            return false;
    return true;
}

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

/* Checks body into f (strings point into body); seals the password into sb.
 * add: AddRegistryRequestBody, else UpdateRegistryRequestBody. */
static int parse_fields(request *req, json_t *body, bool add, store_registry_fields *f,
                        seal_buf *sb, imgsec_err *err)
{
    memset(f, 0, sizeof *f);
    size_t given = 0;
    for (size_t i = 0; i < NBODY; i++) {
        const body_field *bf = &BODY_FIELDS[i];
        json_t *v = json_object_get(body, bf->key);
        if (!v || json_is_null(v))
            continue;
        if (!add && !bf->update)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s cannot be changed",
                           bf->key);
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be a string", bf->key);
        char list[128];
        if (bf->values && !in_list(s, bf->values))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be one of %s", bf->key,
                           model_join_names(bf->values, list, sizeof list));
        size_t n = utf8_chars(s);
        if (n < 1 || n > bf->max_chars || has_control(s))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s must be 1 to %zu characters without control "
                           "characters",
                           bf->key, bf->max_chars);
        if (strcmp(bf->key, "registry_addr") == 0 && !addr_ok(s))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_addr must be HOST or HOST:PORT (no "
                           "scheme: that is protocol's)");
        *(const char **)((char *)f + bf->offset) = s;
        given++;
    }
    json_t *pw = json_object_get(body, "registry_password");
    const char *password = NULL;
    if (pw && !json_is_null(pw)) {
        password = json_string_value(pw);
        if (!password || json_string_length(pw) != strlen(password))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_password must be a string");
        size_t n = utf8_chars(password);
        if (n < 1 || n > REG_PASSWORD_CHARS)
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_password must be 1 to %d characters",
                           REG_PASSWORD_CHARS);
        given++;
    }
    if (!f->username != !password)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s: registry_username and registry_password go "
                       "together",
                       f->username ? "registry_password" : "registry_username");
    if (f->channel && strcmp(f->channel, "Other") == 0 && !f->namespace_)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: namespace is required when get_scan_image_channel "
                       "is Other");
    if (add) {
        static const char *const REQUIRED[] = {"registry_name", "registry_type", "protocol",
                                               "registry_addr"};
        const char *have[] = {f->name, f->type, f->protocol, f->addr};
        for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
            if (!have[i])
                return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s is required",
                               REQUIRED[i]);
        if (!f->api_version)
            f->api_version = "V2";
    } else if (given == 0) {
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: body names no field to change");
    }
    if (password) {
        keyfile_seal(req->app->sk_key, (const unsigned char *)password, strlen(password),
                     sb->sealed);
        f->sealed = sb->sealed;
        f->sealed_len = strlen(password) + KEYFILE_SEAL_OVERHEAD;
    }
    return IMGSEC_OK;
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

/* The {id} path segment: a registry id, or 0 (no registry has it). */
static int64_t path_id(const char *text)
{
    int64_t id;
    if (!text || strlen(text) > REG_ID_CHARS || !util_parse_int64(text, &id) || id <= 0)
        return 0;
    return id;
}

static void reply_not_found(request *req, const char *param)
{
    imgsec_err err = {0};
    err_set(&err, IMGSEC_ENOTFOUND, "invalid parameter: %s: the project has no such registry",
            param);
    http_reply_err(req, &err);
}

void registries_add_handle(request *req)
{
    imgsec_err err = {0};
    json_t *body = body_object(req, &err);
    if (!body) {
        http_body_wipe(req);
        return http_reply_err(req, &err);
    }
    store_registry_fields f;
    seal_buf sb;
    int rc = parse_fields(req, body, true, &f, &sb, &err);
    wipe_body(req, body);
    if (rc == IMGSEC_OK) {
        int64_t id;
        store *st = store_pool_acquire(req->app->pool);
        rc = store_registry_add(st, req->principal.grant.project_id, &f, util_now_ms(), &id, &err);
        store_pool_release(req->app->pool, st);
    }
    sodium_memzero(&sb, sizeof sb);
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object()); /* AddRegistryResponse has no field */
}

void registries_update_handle(request *req)
{
    imgsec_err err = {0};
    int64_t id = path_id(req->params[1]);
    json_t *body = body_object(req, &err);
    if (!body) {
        http_body_wipe(req);
        return http_reply_err(req, &err);
    }
    store_registry_fields f;
    seal_buf sb;
    int rc = parse_fields(req, body, false, &f, &sb, &err);
    wipe_body(req, body);
    if (rc == IMGSEC_OK && id == 0)
        rc = err_set(&err, IMGSEC_ENOTFOUND,
                     "invalid parameter: id: the project has no such registry");
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_registry_update(st, req->principal.grant.project_id, id, &f, util_now_ms(),
                                   &err);
        store_pool_release(req->app->pool, st);
    }
    sodium_memzero(&sb, sizeof sb);
    json_decref(body);
    if (rc != IMGSEC_OK)
        return http_reply_err(req, &err);
    http_reply_json(req, 200, json_object());
}

void registries_delete_handle(request *req)
{
    imgsec_err err = {0};
    int64_t id = path_id(req->params[1]);
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
    json_t *ids = json_object_get(body, "ids");
    int64_t out[REG_PER_PROJECT_MAX];
    size_t n = json_array_size(ids);
    int rc = IMGSEC_OK;
    if (!json_is_array(ids) || n < 1 || n > REG_PER_PROJECT_MAX)
        rc = err_set(&err, IMGSEC_EINVAL,
                     "invalid parameter: ids must be an array of 1 to %d registry ids",
                     REG_PER_PROJECT_MAX);
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++) {
        const char *s = json_string_value(json_array_get(ids, i));
        if (!s || utf8_chars(s) < 1 || utf8_chars(s) > REG_ID_CHARS) {
            rc = err_set(&err, IMGSEC_EINVAL,
                         "invalid parameter: ids[%zu] must be a string of 1 to %d characters", i,
                         REG_ID_CHARS);
            break;
        }
        out[i] = path_id(s);
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(ids, j)), s) == 0) {
                rc = err_set(&err, IMGSEC_EINVAL, "invalid parameter: ids[%zu] repeats ids[%zu]",
                             i, j);
                break;
            }
        if (rc == IMGSEC_OK && out[i] == 0)
            rc = err_set(&err, IMGSEC_ENOTFOUND,
                         "invalid parameter: ids[%zu]: the project has no such registry", i);
    }
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
    if (id_text && !(f.id = path_id(id_text)))
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
