/* router.h - the table of routes and how a path finds its handler.
 *
 * Each route declares what it requires - credentials, the role, how its
 * enterprise-project scope is resolved, whether the `region` header is
 * required, optional or absent in the SDKs, its body limit, its error
 * shape - and the gate (gate.h) enforces that declaration once for every
 * route. A handler finds what the gate resolved in the request
 * (req->scope, req->principal). */
#ifndef IMGSECD_ROUTER_H
#define IMGSECD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum {
    ROUTE_AUTH = 1 << 0,     /* needs credentials (401 without) */
    ROUTE_V5 = 1 << 1,       /* HSS route: the path's {project_id} must be the credentials' */
    ROUTE_KEYSTONE = 1 << 2, /* errors in the Keystone shape */
    ROUTE_LOOPBACK = 1 << 3, /* operators' data: only clients on a loopback address, unless
                                --metrics-from any (403 HSS.0013); docs/operations.md */
};

/* The `region` header as the official SDKs declare it for the operation
 * (sdk-routes.md, the "region" column; spec README "The region header").
 * Present, it must equal the server's region on every route; REQUIRED
 * routes also refuse an absent one. OPTIONAL and ABSENT behave alike: they
 * differ in what an SDK user can send, and the table says which it is. */
typedef enum { REGION_ABSENT, REGION_OPTIONAL, REGION_REQUIRED } route_region;

/* How the route's enterprise-project scope is resolved from the query
 * `enterprise_project_id` (default "0"); into req->scope. */
typedef enum {
    SCOPE_NONE,    /* the route names no EP: none resolved */
    SCOPE_ONE,     /* one EP; all_granted_eps refused (400) */
    SCOPE_ANY,     /* one EP or all_granted_eps (every EP the caller holds) */
    SCOPE_CHECKED, /* the scope comes from the object (an export task): a given EP is
                      checked like SCOPE_ANY's, none is resolved */
} route_scope;

#define ROUTE_BODY_SMALL (64u << 10)  /* token requests, and routes that read no body */
#define ROUTE_BODY_QUERY (1u << 20)   /* statistic bodies: 1 MiB (statistic.md) */
#define ROUTE_BODY_CONFIG SIZE_MAX    /* limit taken from config (ingest) */

typedef struct route {
    const char *method;
    const char *pattern;   /* "/v5/{project_id}/image/scan-results/{id}" */
    const char *op;        /* the SDK operation, e.g. "ListRegistryImages" (or imgsec's own) */
    unsigned flags;
    role min_role;         /* ROUTE_AUTH routes */
    route_scope scope;
    route_region region;
    size_t body_max;       /* ROUTE_BODY_CONFIG: cfg.ingest_max_bytes */
    /* The route's own query checks, between the region and the scope
     * (gate.h); replies and returns false to refuse. May be NULL. */
    bool (*prepare)(request *req);
    /* Runs with the whole body; must reply. */
    void (*handle)(request *req);
} route;

typedef enum { ROUTER_FOUND, ROUTER_NO_PATH, ROUTER_NO_METHOD, ROUTER_NO_MEMORY } router_result;

/* Finds the route of (method, path); on ROUTER_FOUND fills req->params.
 * On ROUTER_NO_METHOD, allow gets the comma-separated methods the path takes.
 * ROUTER_NO_MEMORY: a path parameter could not be copied (nothing is
 * captured; the request gets a 500). */
router_result router_match(request *req, const route **out, char *allow, size_t allow_size);

/* The table, for tests and docs: *n gets its length. */
const route *router_table(size_t *n);

#endif
