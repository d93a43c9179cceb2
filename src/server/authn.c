/* authn.c - see authn.h. */
#include "authn.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/auth.h"
#include "imgsec/model.h"
#include "imgsec/util.h"

#define ALL_GRANTED_EPS "all_granted_eps"

bool authn_request(request *req)
{
    const char *token = http_header(req, "X-Auth-Token");
    if (!token || !*token) {
        http_reply_error(req, 401, "APIGW.0301",
                         "authentication required: send an X-Auth-Token header");
        return false;
    }
    size_t len = strlen(token);
    imgsec_err err = {0};
    int rc = IMGSEC_EAUTH;
    if (len <= AUTH_TOKEN_MAX) {
        unsigned char hash[STORE_TOKEN_HASH_BYTES];
        auth_token_hash(token, len, hash);
        store *st = store_pool_acquire(req->app->pool);
        rc = store_token_lookup(st, hash, util_now_ms(), &req->principal, &err);
        store_pool_release(req->app->pool, st);
    }
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
            imgsec_err err;
            err_set(&err, IMGSEC_EINTERNAL, "out of memory");
            http_reply_err(req, &err);
            return false;
        }
        return true;
    }
    if (!model_scope_id_valid(ep)) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: enterprise_project_id must be 1-64 characters of "
                         "A-Za-z0-9_- or all_granted_eps");
        return false;
    }
    if (!store_grant_covers_ep(g, ep)) {
        http_reply_error(req, 403, "HSS.0013",
                         "the caller holds no grant on enterprise_project_id %s", ep);
        return false;
    }
    out->single = ep;
    out->ix.eps = &out->single;
    out->ix.n_eps = 1;
    return true;
}

void ep_scope_free(ep_scope *s)
{
    free(s->list_buf);
    free(s->list);
    memset(s, 0, sizeof *s);
}
