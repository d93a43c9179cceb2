/* authn.h - who is calling, and what they may touch (auth.md).
 *
 * Authentication turns X-Auth-Token into a principal: the user and their
 * current grant on the token's project, read from the store on every
 * request so that a deleted user, grant or token is locked out at once.
 * Authorization then checks the role a route needs and resolves the
 * enterprise_project_id parameter into the EP scope of the query. */
#ifndef IMGSECD_AUTHN_H
#define IMGSECD_AUTHN_H

#include <stdbool.h>

#include "http.h"
#include "imgsec/index.h"

/* Fills req->principal; replies 401 APIGW.0301 and returns false on failure. */
bool authn_request(request *req);

/* Replies 403 HSS.0013 and returns false unless the caller's role is >= min. */
bool authz_role(request *req, role min);

/* The EP scope of a request: enterprise_project_id (default "0"), or every
 * EP the caller holds with all_granted_eps (when allowed). */
typedef struct {
    index_scope ix;   /* points into the fields below and req->principal */
    char *list_buf;   /* owned copy of the grant's EP list, split in place */
    const char **list;
    const char *single;
} ep_scope;

/* Resolves the scope; replies 400 HSS.0001 or 403 HSS.0013 and returns
 * false on failure. Free with ep_scope_free. */
bool authz_scope(request *req, bool allow_all_granted, ep_scope *out);
void ep_scope_free(ep_scope *s);

#endif
