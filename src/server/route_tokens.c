/* route_tokens.c - POST and DELETE /v3/auth/tokens, Keystone v3 style
 * (auth.md), so IAM clients written for the cloud get tokens here.
 *
 * Every way a login can fail (no such user, wrong password, no grant on
 * the project) answers the same 401 after the same Argon2id work, so the
 * route does not tell which users exist. */
#include <sodium.h>
#include <string.h>

#include "authn.h"
#include "imgsec/auth.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "request_body.h"
#include "routes.h"

#define UNAUTHORIZED_MSG "The request you have made requires authentication."

typedef struct {
    const char *domain, *name, *password, *project;
} login;

/* Reads the password identity and project scope; NULL error means ok. */
static const char *login_parse(json_t *body, login *l)
{
    json_t *auth = json_object_get(body, "auth");
    json_t *identity = json_object_get(auth, "identity");
    json_t *methods = json_object_get(identity, "methods");
    bool has_password = false;
    size_t i;
    json_t *m;
    json_array_foreach(methods, i, m) has_password |= json_is_string(m) &&
                                                      strcmp(json_string_value(m), "password") == 0;
    if (!has_password)
        return "auth.identity.methods must contain \"password\"";
    json_t *user = json_object_get(json_object_get(identity, "password"), "user");
    json_t *domain = json_object_get(user, "domain");
    l->name = json_string_value(json_object_get(user, "name"));
    l->password = json_string_value(json_object_get(user, "password"));
    l->domain = json_string_value(json_object_get(domain, "name"));
    if (!l->domain)
        l->domain = json_string_value(json_object_get(domain, "id"));
    if (!l->name || !l->password || !l->domain)
        return "auth.identity.password.user needs name, password and domain.name";
    if (strlen(l->name) > STORE_NAME_MAX || strlen(l->domain) > STORE_NAME_MAX ||
        strlen(l->password) > AUTH_PASSWORD_MAX)
        return "auth.identity.password.user: name, domain or password too long";
    json_t *project = json_object_get(json_object_get(auth, "scope"), "project");
    l->project = json_string_value(json_object_get(project, "id"));
    if (!l->project)
        l->project = json_string_value(json_object_get(project, "name"));
    if (!l->project)
        return "auth.scope.project.id (or .name) is required: tokens are project-scoped";
    if (!model_scope_id_valid(l->project))
        return "auth.scope.project.id must be 1-64 characters of A-Za-z0-9_-";
    return NULL;
}

static json_t *token_body(const store_user *u, const store_grant *g, int64_t issued,
                          int64_t expires)
{
    char issued_s[UTIL_ISO_TIME_MAX], expires_s[UTIL_ISO_TIME_MAX];
    util_iso_time(issued, issued_s);
    util_iso_time(expires, expires_s);
    return json_pack("{s:{s:s, s:s, s:[s], s:{s:s, s:{s:s}}, s:{s:s, s:s}, s:[{s:s}]}}", "token",
                     "expires_at", expires_s, "issued_at", issued_s, "methods", "password",
                     "user", "name", u->name, "domain", "name", u->domain, "project", "id",
                     g->project_id, "name", g->project_id, "roles", "name", role_name(g->role));
}

/* A 500 in the Keystone shape; the cause goes to the log only. */
static void reply_internal(request *req, const imgsec_err *err)
{
    http_log_internal(req, err->msg);
    http_reply_keystone_error(req, 500, "Internal Server Error", "internal error");
}

void tokens_create_handle(request *req)
{
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_keystone_error(req, 400, "Bad Request", err.msg);
    login l = {0};
    const char *bad = login_parse(body, &l);
    if (bad) {
        http_reply_keystone_error(req, 400, "Bad Request", bad);
        return json_decref(body);
    }
    store *st = store_pool_acquire(req->app->pool);
    store_user user;
    store_grant grant;
    char hash[AUTH_PW_HASH_MAX];
    int rc = store_user_get(st, l.domain, l.name, &user, hash, sizeof hash, &err);
    bool ok = auth_password_verify(rc == IMGSEC_OK ? hash : NULL, l.password);
    if (ok)
        rc = store_grant_get(st, user.id, l.project, &grant, &err);
    char token[AUTH_TOKEN_CHARS + 1];
    int64_t issued = util_now_ms(), expires = issued + req->app->cfg.token_ttl_ms;
    if (ok && rc == IMGSEC_OK) {
        unsigned char th[STORE_TOKEN_HASH_BYTES];
        auth_token_new(token);
        auth_token_hash(token, strlen(token), th);
        rc = store_token_insert(st, th, user.id, grant.project_id, issued, expires, &err);
        sodium_memzero(th, sizeof th);
        if (rc != IMGSEC_OK)
            ok = false;
    }
    store_pool_release(req->app->pool, st);
    json_decref(body);
    if (ok && rc == IMGSEC_OK) {
        http_add_header(req, "X-Subject-Token", token);
        return http_reply_json(req, 201, token_body(&user, &grant, issued, expires));
    }
    if (rc == IMGSEC_EINTERNAL)
        return reply_internal(req, &err);
    http_reply_keystone_error(req, 401, "Unauthorized", UNAUTHORIZED_MSG);
}

/* Whose the subject token is, or a reply: unknown (404) or a store failure
 * (500). */
static bool subject_principal(request *req, store_principal *target)
{
    imgsec_err err = {0};
    int rc = authn_token_principal(req, http_header(req, "X-Subject-Token"), target, &err);
    if (rc == IMGSEC_EAUTH)
        http_reply_keystone_error(req, 404, "Not Found", "Could not find token.");
    else if (rc != IMGSEC_OK)
        reply_internal(req, &err);
    return rc == IMGSEC_OK;
}

void tokens_delete_handle(request *req)
{
    store_principal caller, target;
    imgsec_err err = {0};
    /* Only a refused credential is a 401 (and counts against the address):
     * a store that fails is a 500. */
    int rc = authn_token_principal(req, http_header(req, "X-Auth-Token"), &caller, &err);
    if (rc == IMGSEC_EAUTH)
        return http_reply_keystone_error(req, 401, "Unauthorized", UNAUTHORIZED_MSG);
    if (rc != IMGSEC_OK)
        return reply_internal(req, &err);
    if (!subject_principal(req, &target))
        return;
    if (target.user.id != caller.user.id &&
        !(caller.grant.role == ROLE_ADMIN &&
          strcmp(caller.grant.project_id, target.grant.project_id) == 0))
        return http_reply_keystone_error(req, 403, "Forbidden",
                                         "only the token's owner or an admin can revoke it");
    rc = authn_token_revoke(req, http_header(req, "X-Subject-Token"), &err);
    if (rc == IMGSEC_ENOTFOUND) /* revoked by someone else meanwhile */
        return http_reply_keystone_error(req, 404, "Not Found", "Could not find token.");
    if (rc != IMGSEC_OK)
        return reply_internal(req, &err);
    http_reply_json(req, 204, NULL);
}
