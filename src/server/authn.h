/* authn.h - who is calling, and what they may touch (auth.md).
 *
 * Authentication turns X-Auth-Token, or an AK/SK signature, into a
 * principal: the user and their current grant on the token's (or the
 * path's) project, read from the store, or for a token from the token
 * cache only while the file is at the generation it was read at
 * (auth_cache.h), so that a deleted user, grant, token or key is locked
 * out at once.
 * Authorization then checks the role a route needs and resolves the
 * enterprise_project_id parameter into the EP scope of the query. */
#ifndef IMGSECD_AUTHN_H
#define IMGSECD_AUTHN_H

#include <stdbool.h>

#include "http.h"
#include "imgsec/index.h"

/* Fills req->principal from X-Auth-Token; replies 401 APIGW.0301 and
 * returns false on failure. */
bool authn_request(request *req);

/* Who holds token (any header's value, NULL allowed): IMGSEC_OK with *p,
 * IMGSEC_EAUTH when the token is missing, too long, unknown, expired or
 * without its grant, another code (in err) when the store fails. Goes
 * through the token cache at the auth epoch as of the request
 * (auth_cache.h), as authn_request does. */
int authn_token_principal(request *req, const char *token, store_principal *p, imgsec_err *err);
/* Revokes token: IMGSEC_ENOTFOUND when it is not stored (any more). */
int authn_token_revoke(request *req, const char *token, imgsec_err *err);

/* AK/SK signatures (auth.md), in two steps because the HMAC covers the
 * body. Is the request signed (Authorization: SDK-HMAC-SHA256 ..., and no
 * X-Auth-Token)? */
bool authn_is_signed(request *req);
/* Header time: a well-formed Authorization header naming host and
 * x-sdk-date, a date within 15 minutes, a known AK whose SK opens. Sets
 * req->sign_pending; replies 401 APIGW.0301 and returns false otherwise. */
bool authn_signed_begin(request *req);
/* Does the signature cover the body? Not with X-Sdk-Content-Sha256:
 * UNSIGNED-PAYLOAD: then authn_signed_finish can run at header time. */
bool authn_signed_covers_body(request *req);
/* With the whole body: verifies the HMAC in constant time, then fills
 * req->principal with the AK's user and its grant on the path's project
 * (403 HSS.0010 without one). Replies and returns false on failure. */
bool authn_signed_finish(request *req);
struct authn_sign;
void authn_sign_free(struct authn_sign *s);

/* Replies 403 HSS.0013 and returns false unless the caller's role is >= min. */
bool authz_role(request *req, role min);

/* The EP scope of a request: enterprise_project_id (default "0"), or every
 * EP the caller holds with all_granted_eps (when allowed). */
typedef struct ep_scope {
    index_scope ix;   /* points into the fields below and req->principal */
    char *list_buf;   /* owned copy of the grant's EP list, split in place */
    const char **list;
    const char *single;
} ep_scope;

/* Resolves the scope; replies 400 HSS.0001 or 403 HSS.0013 and returns
 * false on failure. Free with ep_scope_free. */
bool authz_scope(request *req, bool allow_all_granted, ep_scope *out);
void ep_scope_free(ep_scope *s);

/* For routes whose scope comes from elsewhere (an export task's own): a
 * given enterprise_project_id is checked exactly as authz_scope(req, true)
 * checks it, with the same replies; a missing or empty one is fine and
 * does not stand for the default EP. */
bool authz_ep_param_ok(request *req);

#endif
