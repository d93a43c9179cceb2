/* authn.c - see authn.h. Every secret comparison here is constant time:
 * tokens are compared as SHA-256 digests inside SQLite's index or the
 * token cache (auth_cache.h; the token itself is never compared or kept),
 * signatures with sodium_memcmp (sign.c). The 401 messages never echo what
 * the caller sent. */
#include "authn.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth_cache.h"
#include "gate.h"
#include "imgsec/auth.h"
#include "imgsec/keyfile.h"
#include "imgsec/model.h"
#include "imgsec/sign.h"
#include "imgsec/store_keys.h"
#include "imgsec/util.h"
#include "router.h"

struct authn_sign {
    sign_auth auth;
    char date[SIGN_DATE_LEN + 1];
    store_user user;
    unsigned char sk[STORE_SK_SEALED_MAX];
    size_t sk_len;
    /* the token cache's entry for (AK, project): key_ok when there is a
     * key and an epoch; cached when begin found the principal there (no
     * grant read) */
    bool key_ok, cached;
    unsigned char key[STORE_TOKEN_HASH_BYTES];
    int64_t epoch;
    store_principal p;
    unsigned char sealed[STORE_SK_SEALED_MAX]; /* for the cache, once verified */
    size_t sealed_len;
};

void authn_sign_free(struct authn_sign *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof *s);
    free(s);
}

static bool refuse_signature(request *req, const char *why)
{
    http_reply_error(req, 401, "APIGW.0301", "the signature does not authenticate: %s", why);
    return false;
}

bool authn_is_signed(request *req)
{
    const char *token = http_header(req, "X-Auth-Token");
    return (!token || !*token) && sign_is_signed(http_header(req, "Authorization"));
}

/* The auth epoch as of this request (auth_cache.h): remembered for the
 * request's file generation, else read from the store (after the
 * generation was probed, so it is at least as new) and remembered.
 * False when the cache is off or the read failed: then nothing is looked
 * up in the cache nor put there, and the principal is read as without it. */
static bool request_epoch(request *req, int64_t *epoch)
{
    struct auth_cache *c = req->app->tokens;
    if (!auth_cache_enabled(c))
        return false;
    int64_t gen = http_file_gen(req);
    if (auth_cache_epoch_at(c, gen, epoch))
        return true;
    imgsec_err err = {0};
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_auth_epoch(st, epoch, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK)
        return false;
    auth_cache_epoch_set(c, gen, *epoch);
    return true;
}

/* The project a signed request names: the path's on HSS routes, else
 * X-Project-Id; NULL when there is none or the two disagree (auth.md). */
static const char *signed_project(request *req)
{
    const char *xp = http_header(req, "X-Project-Id");
    const char *project = (req->route->flags & ROUTE_V5) ? req->params[0] : xp;
    if (!project || (xp && strcmp(xp, project) != 0))
        return NULL;
    return project;
}

/* The cache key of (ak, project): SHA-256 over both, NUL-separated after
 * a label of its own, so it is no token's hash. */
static bool access_key_hash(const char *ak, const char *project,
                            unsigned char out[STORE_TOKEN_HASH_BYTES])
{
    if (!project)
        return false;
    static const char label[] = "imgsec access key";
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)label, sizeof label);
    crypto_hash_sha256_update(&h, (const unsigned char *)ak, strlen(ak) + 1);
    crypto_hash_sha256_update(&h, (const unsigned char *)project, strlen(project));
    crypto_hash_sha256_final(&h, out);
    return true;
}

bool authn_signed_begin(request *req)
{
    const char *h = http_header(req, "Authorization");
    struct authn_sign *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_internal(req, "out of memory");
        return false;
    }
    imgsec_err err = {0};
    req->sign = s;
    if (sign_parse_authorization(h, strnlen(h, SIGN_AUTH_HEADER_MAX + 1), &s->auth, &err) !=
        IMGSEC_OK)
        return refuse_signature(req, err.msg);
    const char *date = http_header(req, "X-Sdk-Date");
    int64_t ms;
    if (!date || !sign_parse_date(date, &ms))
        return refuse_signature(req, "X-Sdk-Date must be YYYYMMDDTHHMMSSZ");
    int64_t skew = util_now_ms() - ms;
    if (skew > SIGN_MAX_SKEW_MS || skew < -SIGN_MAX_SKEW_MS)
        return refuse_signature(req, "X-Sdk-Date is more than 15 minutes from the server clock");
    memcpy(s->date, date, SIGN_DATE_LEN + 1);

    /* the epoch first: a principal read after it is at least as new as
     * the epoch it is cached under */
    s->key_ok = request_epoch(req, &s->epoch) &&
                access_key_hash(s->auth.ak, signed_project(req), s->key);
    s->cached = s->key_ok && auth_cache_get_key(req->app->tokens, s->key, s->epoch, &s->p,
                                                 s->sealed, &s->sealed_len);
    int rc = IMGSEC_OK;
    if (s->cached) {
        s->user = s->p.user;
    } else {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_key_lookup(st, s->auth.ak, &s->user, s->sealed, &s->sealed_len, &err);
        store_pool_release(req->app->pool, st);
        if (rc == IMGSEC_EAUTH)
            return refuse_signature(req, "unknown access key or bad signature");
    }
    if (rc == IMGSEC_OK)
        rc = keyfile_open(req->app->sk_key, s->sealed, s->sealed_len, s->sk, &s->sk_len, &err);
    if (rc != IMGSEC_OK) {
        http_reply_err(req, &err);
        return false;
    }
    req->sign_pending = true;
    return true;
}

static const char *sign_header(void *arg, const char *lower_name)
{
    return http_header(arg, lower_name);
}

bool authn_signed_covers_body(request *req)
{
    const char *csha = http_header(req, "X-Sdk-Content-Sha256");
    return !(csha && strcmp(csha, "UNSIGNED-PAYLOAD") == 0);
}

bool authn_signed_finish(request *req)
{
    struct authn_sign *s = req->sign;
    size_t body_len;
    const char *body = http_body(req, &body_len);
    sign_request r = {
        .method = req->method,
        .raw_target = req->raw_target,
        .header = sign_header,
        .header_arg = req,
        .body = (const unsigned char *)body,
        .body_len = body_len,
        .unsigned_payload = !authn_signed_covers_body(req),
    };
    bool ok = sign_verify(&r, &s->auth, s->date, (const char *)s->sk, s->sk_len);
    sodium_memzero(s->sk, sizeof s->sk);
    req->sign_pending = false;
    if (!ok)
        return refuse_signature(req, "unknown access key or bad signature");

    const char *project = signed_project(req);
    if (!project) {
        gate_reply_other_project(req);
        return false;
    }
    if (s->cached) {
        req->principal = s->p;
        req->authenticated = true;
        return true;
    }
    imgsec_err err = {0};
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_grant_get(st, s->user.id, project, &req->principal.grant, &err);
    store_pool_release(req->app->pool, st);
    if (rc == IMGSEC_ENOTFOUND || rc == IMGSEC_EINVAL) {
        http_reply_error(req, 403, "HSS.0010",
                         "the access key's user holds no grant on this %s", "project_id");
        return false;
    }
    if (rc != IMGSEC_OK) {
        http_reply_err(req, &err);
        return false;
    }
    req->principal.user = s->user;
    req->principal.expires_at_ms = 0;
    req->authenticated = true;
    if (s->key_ok)
        auth_cache_put_key(req->app->tokens, s->key, s->epoch, &req->principal, s->sealed,
                           s->sealed_len);
    return true;
}

#define ALL_GRANTED_EPS "all_granted_eps"

/* The stored form of a token, or false when no token could match: absent,
 * empty, or longer than any we issue (and than we care to hash). */
static bool token_hash(const char *token, unsigned char hash[STORE_TOKEN_HASH_BYTES])
{
    size_t len = token ? strnlen(token, AUTH_TOKEN_MAX + 1) : 0;
    if (len == 0 || len > AUTH_TOKEN_MAX)
        return false;
    auth_token_hash(token, len, hash);
    return true;
}

int authn_token_principal(request *req, const char *token, store_principal *p, imgsec_err *err)
{
    unsigned char hash[STORE_TOKEN_HASH_BYTES];
    if (!token_hash(token, hash))
        return err_set(err, IMGSEC_EAUTH, "invalid token");
    /* the epoch first: a principal read after it is at least as new as
     * the epoch it is cached under */
    int64_t epoch = 0;
    bool cache = request_epoch(req, &epoch);
    int64_t now = util_now_ms();
    int rc = IMGSEC_OK;
    if (!cache || !auth_cache_get(req->app->tokens, hash, epoch, now, p)) {
        store *st = store_pool_acquire(req->app->pool);
        rc = store_token_lookup(st, hash, now, p, err);
        store_pool_release(req->app->pool, st);
        if (rc == IMGSEC_OK && cache)
            auth_cache_put(req->app->tokens, hash, epoch, p);
    }
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int authn_token_revoke(request *req, const char *token, imgsec_err *err)
{
    unsigned char hash[STORE_TOKEN_HASH_BYTES];
    if (!token_hash(token, hash))
        return err_set(err, IMGSEC_ENOTFOUND, "token not found");
    store *st = store_pool_acquire(req->app->pool);
    int rc = store_token_delete(st, hash, err);
    store_pool_release(req->app->pool, st);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

bool authn_request(request *req)
{
    const char *token = http_header(req, "X-Auth-Token");
    if (!token || !*token) {
        http_reply_error(req, 401, "APIGW.0301",
                         "authentication required: send an X-Auth-Token header");
        return false;
    }
    imgsec_err err = {0};
    int rc = authn_token_principal(req, token, &req->principal, &err);
    if (rc == IMGSEC_OK) {
        req->authenticated = true;
        return true;
    }
    if (rc != IMGSEC_EAUTH) {
        http_reply_err(req, &err);
        return false;
    }
    http_reply_error(req, 401, "APIGW.0301", "the token is invalid, expired or revoked");
    return false;
}

bool authz_role(request *req, role min)
{
    if (req->principal.grant.role >= min)
        return true;
    http_reply_error(req, 403, "HSS.0013", "this operation needs role %s or higher; the caller has %s",
                     role_name(min), role_name(req->principal.grant.role));
    return false;
}

/* Splits the grant's comma list in place into s->list. */
static bool scope_from_grant(ep_scope *s, const store_grant *g)
{
    s->list_buf = strdup(g->eps);
    size_t n = 1;
    for (const char *c = g->eps; *c; c++)
        n += *c == ',';
    s->list = calloc(n, sizeof *s->list);
    if (!s->list_buf || !s->list)
        return false;
    size_t k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s->list_buf, ",", &save); tok && k < n;
         tok = strtok_r(NULL, ",", &save))
        s->list[k++] = tok;
    s->ix.eps = s->list;
    s->ix.n_eps = k;
    return true;
}

/* The rules for one named EP: well-formed, and within the caller's grant.
 * Replies 400 HSS.0001 or 403 HSS.0013 and returns false otherwise. */
static bool ep_named_ok(request *req, const char *ep)
{
    if (!model_scope_id_valid(ep)) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: enterprise_project_id must be 1-64 characters of "
                         "A-Za-z0-9_- or all_granted_eps");
        return false;
    }
    if (!store_grant_covers_ep(&req->principal.grant, ep)) {
        http_reply_error(req, 403, "HSS.0013",
                         "the caller holds no grant on enterprise_project_id %s", ep);
        return false;
    }
    return true;
}

bool authz_scope(request *req, bool allow_all_granted, ep_scope *out)
{
    memset(out, 0, sizeof *out);
    const store_grant *g = &req->principal.grant;
    out->ix.project_id = g->project_id;
    const char *ep = http_query(req, "enterprise_project_id");
    if (!ep || !*ep)
        ep = MODEL_DEFAULT_EP;
    if (strcmp(ep, ALL_GRANTED_EPS) == 0) {
        if (!allow_all_granted) {
            http_reply_error(req, 400, "HSS.0001",
                             "invalid parameter: enterprise_project_id must name one enterprise "
                             "project here, not all_granted_eps");
            return false;
        }
        if (g->eps_all || g->role == ROLE_ADMIN) {
            out->ix.all_eps = true;
            return true;
        }
        if (!scope_from_grant(out, g)) {
            http_reply_internal(req, "out of memory");
            return false;
        }
        return true;
    }
    if (!ep_named_ok(req, ep))
        return false;
    out->single = ep;
    out->ix.eps = &out->single;
    out->ix.n_eps = 1;
    return true;
}

bool authz_ep_param_ok(request *req)
{
    const char *ep = http_query(req, "enterprise_project_id");
    /* all_granted_eps: every caller holds some set of EPs, maybe empty */
    if (!ep || !*ep || strcmp(ep, ALL_GRANTED_EPS) == 0)
        return true;
    return ep_named_ok(req, ep);
}

void ep_scope_free(ep_scope *s)
{
    free(s->list_buf);
    free(s->list);
    memset(s, 0, sizeof *s);
}
