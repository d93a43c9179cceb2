/* gate.c - the route gate (gate.h): the route table's declarations,
 * enforced once. Handlers neither repeat these checks nor resolve the EP
 * scope themselves; they read req->scope and req->principal. */
#include "gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "router.h"

void gate_reply_other_project(request *req)
{
    http_reply_error(req, 403, "HSS.0010", "the credentials are scoped to another project than %s",
                     "project_id");
}

static bool region_ok(request *req, route_region need)
{
    const char *region = http_header(req, "region");
    if (!region || !*region) {
        if (need != REGION_REQUIRED)
            return true;
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: region header is required");
        return false;
    }
    if (strcmp(region, req->app->cfg.region) != 0) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: region does not match this endpoint's region");
        return false;
    }
    return true;
}

/* The route's own query checks. One that gave up without replying (out of
 * memory) gets a 500 here, so no handler runs on a request it abandoned. */
static bool prepare_ok(request *req)
{
    const route *r = req->route;
    if (!r->prepare || r->prepare(req))
        return true;
    if (!req->status)
        http_reply_internal(req, "the checks of %s stopped without a reply", r->pattern);
    return false;
}

static bool scope_ok(request *req, route_scope how)
{
    if (how == SCOPE_NONE)
        return true;
    if (how == SCOPE_CHECKED)
        return authz_ep_param_ok(req);
    ep_scope *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_internal(req, "out of memory");
        return false;
    }
    req->scope = s;
    return authz_scope(req, how == SCOPE_ANY, s);
}

/* A loopback client (127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104). */
static bool client_is_loopback(request *req)
{
    const struct sockaddr *sa = http_client_addr(req);
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool gate_admit(request *req)
{
    const route *r = req->route;
    if ((r->flags & ROUTE_LOOPBACK) && !req->app->cfg.metrics_any && !client_is_loopback(req)) {
        http_reply_error(req, 403, "HSS.0013",
                         "%s is served to loopback clients only (imgsecd --metrics-from)",
                         r->pattern);
        return false;
    }
    if (r->flags & ROUTE_V5) {
        if (req->authenticated && strcmp(req->params[0], req->principal.grant.project_id) != 0) {
            gate_reply_other_project(req);
            return false;
        }
        if (!region_ok(req, r->region))
            return false;
    }
    if (!prepare_ok(req))
        return false;
    if (!(r->flags & ROUTE_AUTH))
        return true;
    return scope_ok(req, r->scope) && authz_role(req, r->min_role);
}

void gate_request_free(request *req)
{
    if (req->scope) {
        ep_scope_free(req->scope);
        free(req->scope);
        req->scope = NULL;
    }
}
