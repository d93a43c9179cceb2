/* route_tokens.c - POST and DELETE /v3/auth/tokens, Keystone v3 style
 * (auth.md), so IAM clients written for the cloud get tokens here.
 *
 * Every way a login can fail (no such user, wrong password, no grant on
 * the project) answers the same 401 after the same Argon2id work, so the
 * route does not tell which users exist. That work runs on the background
 * pool's login queue (bg.h), never on an HTTP thread; a login the queue has no place
 * for is answered 429 with Retry-After before any work. Each login
 * reserves one failed-authentication attempt of its address before its
 * check (http_auth_attempt_reserve), given back unless it is answered 401,
 * so that --auth-fail-limit bounds the password checks of an address even
 * when its logins arrive all at once. */
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "imgsec/auth.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "bg.h"
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
    http_log_internal(req, err->code, err->msg);
    if (err->code == IMGSEC_ENOSPACE) /* a full disk: err.h's status and words */
        return http_reply_keystone_error(req, err_code_info(err->code)->http_status,
                                         "Insufficient Storage", err_code_info(err->code)->public_msg);
    if (err->code == IMGSEC_EUNAVAILABLE) { /* the database is unreachable: retry */
        http_add_header(req, "Retry-After", HTTP_RETRY_AFTER_UNAVAILABLE);
        return http_reply_keystone_error(req, 503, "Service Unavailable",
                                         err_code_info(err->code)->public_msg);
    }
    http_reply_keystone_error(req, 500, "Internal Server Error", "internal error");
}

/* One login, from the handler to a login worker (bg.h) and back. The
 * worker reads only the copies here, never the request; the request reads
 * the outcome only once the worker has resumed it. */
typedef struct {
    bg_job job; /* first: the pool sees this */
    request *req;
    int64_t token_ttl_ms;
    char domain[STORE_NAME_MAX + 1], name[STORE_NAME_MAX + 1];
    char project[MODEL_PROJECT_ID_MAX + 1];
    char password[AUTH_PASSWORD_MAX + 1]; /* wiped as soon as it is checked */
    /* the outcome */
    atomic_bool done;
    bool ok;
    int rc;
    imgsec_err err;
    store_user user;
    store_grant grant;
    char token[AUTH_TOKEN_CHARS + 1];
    int64_t issued, expires;
} login_job;

static void login_job_free(void *p)
{
    sodium_memzero(p, sizeof(login_job));
    free(p);
}

/* On a login worker, with its own store connection: the Argon2 check and
 * the token. No cancel function: a login accepted is run even at stop. */
static void login_run(bg_job *t, store *st)
{
    login_job *j = (login_job *)t;
    char hash[AUTH_PW_HASH_MAX];
    int rc = store_user_get(st, j->domain, j->name, &j->user, hash, sizeof hash, &j->err);
    bool ok = auth_password_verify(rc == IMGSEC_OK ? hash : NULL, j->password);
    sodium_memzero(j->password, sizeof j->password);
    sodium_memzero(hash, sizeof hash);
    if (ok)
        rc = store_grant_get(st, j->user.id, j->project, &j->grant, &j->err);
    j->issued = util_now_ms();
    j->expires = j->issued + j->token_ttl_ms;
    if (ok && rc == IMGSEC_OK) {
        unsigned char th[STORE_TOKEN_HASH_BYTES];
        auth_token_new(j->token);
        auth_token_hash(j->token, strlen(j->token), th);
        rc = store_token_insert(st, th, j->user.id, j->grant.project_id, j->issued, j->expires,
                                &j->err);
        sodium_memzero(th, sizeof th);
        if (rc != IMGSEC_OK)
            ok = false;
    }
    j->ok = ok;
    j->rc = rc;
    atomic_store_explicit(&j->done, true, memory_order_release);
    http_resume(j->req); /* the last touch: the request may be answered and freed now */
}

/* Back on an HTTP thread once login_run is done. */
static void tokens_create_resumed(request *req)
{
    login_job *j = req->state;
    if (!atomic_load_explicit(&j->done, memory_order_acquire)) {
        imgsec_err err;
        err_set(&err, IMGSEC_EINTERNAL, "login resumed before its check ended");
        return reply_internal(req, &err);
    }
    if (j->ok && j->rc == IMGSEC_OK) {
        http_add_header(req, "X-Subject-Token", j->token);
        sodium_memzero(j->token, sizeof j->token);
        return http_reply_json(req, 201, token_body(&j->user, &j->grant, j->issued, j->expires));
    }
    if (j->rc == IMGSEC_EINTERNAL || j->rc == IMGSEC_ENOSPACE || j->rc == IMGSEC_EUNAVAILABLE)
        return reply_internal(req, &j->err);
    http_reply_keystone_error(req, 401, "Unauthorized", UNAUTHORIZED_MSG);
}

/* The password as parsed, in the JSON tree and in the request body:
 * wiped once copied (or refused). */
static void wipe_password(request *req, json_t *body)
{
    json_t *pw = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(body, "auth"), "identity"),
                                        "password"),
                        "user"),
        "password");
    if (json_is_string(pw)) /* jansson owns the bytes; wiping them in place is safe */
        sodium_memzero((char *)json_string_value(pw), json_string_length(pw));
    http_body_wipe(req);
}

/* The body is parsed here; the password check, the costly part, is run by
 * a login worker while the connection is suspended (http.h). */
void tokens_create_handle(request *req)
{
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body) {
        http_body_wipe(req);
        return http_reply_keystone_error(req, 400, "Bad Request", err.msg);
    }
    login l = {0};
    const char *bad = login_parse(body, &l);
    login_job *j = bad ? NULL : calloc(1, sizeof *j);
    if (j) {
        j->job = (bg_job){.type = BG_LOGIN, .run = login_run};
        j->req = req;
        j->token_ttl_ms = req->app->cfg.token_ttl_ms;
        /* lengths checked by login_parse */
        snprintf(j->domain, sizeof j->domain, "%s", l.domain);
        snprintf(j->name, sizeof j->name, "%s", l.name);
        snprintf(j->project, sizeof j->project, "%s", l.project);
        snprintf(j->password, sizeof j->password, "%s", l.password);
    }
    wipe_password(req, body);
    json_decref(body);
    if (bad)
        return http_reply_keystone_error(req, 400, "Bad Request", bad);
    if (!j) {
        err_set(&err, IMGSEC_EINTERNAL, "out of memory for a login");
        return reply_internal(req, &err);
    }
    /* The attempt counts before the check, so logins sent at once cannot
     * get past the failed-login limit together (http.h). */
    if (!http_auth_attempt_reserve(req)) {
        login_job_free(j);
        return;
    }
    if (!bg_reserve(req->app->bg, BG_LOGIN)) {
        login_job_free(j);
        http_add_header(req, "Retry-After", "1");
        return http_reply_keystone_error(req, 429, "Too Many Requests",
                                         "too many logins in progress; retry later");
    }
    req->state = j;
    req->state_free = login_job_free;
    http_suspend(req, tokens_create_resumed); /* before the worker can resume it */
    bg_submit(req->app->bg, &j->job);
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
