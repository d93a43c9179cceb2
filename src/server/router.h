/* router.h - the table of routes and how a path finds its handler. */
#ifndef IMGSECD_ROUTER_H
#define IMGSECD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum {
    ROUTE_AUTH = 1 << 0,     /* needs credentials (401 without) */
    ROUTE_V5 = 1 << 1,       /* HSS route: path {project_id} scope and region header checked */
    ROUTE_KEYSTONE = 1 << 2, /* errors in the Keystone shape */
};

#define ROUTE_BODY_SMALL (64u << 10)  /* token requests, and routes that read no body */
#define ROUTE_BODY_QUERY (1u << 20)   /* statistic bodies: 1 MiB (statistic.md) */
#define ROUTE_BODY_CONFIG SIZE_MAX    /* limit taken from config (ingest) */

typedef struct route {
    const char *method;
    const char *pattern;   /* "/v5/{project_id}/image/scan-results/{id}" */
    unsigned flags;
    size_t body_max;       /* ROUTE_BODY_CONFIG: cfg.ingest_max_bytes */
    /* Header-time checks after the generic ones; replies and returns false
     * to refuse. May be NULL. */
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

#endif
