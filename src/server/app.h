/* app.h - what every request handler can reach: settings, the store
 * connections, the query index and its follower. One per process. */
#ifndef IMGSECD_APP_H
#define IMGSECD_APP_H

#include <stdatomic.h>

#include "config.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "pool.h"

typedef struct app {
    config cfg;
    store_pool *pool;
    imgsec_index *ix;
    follower *follow;
    struct bg *bg;                  /* background work: logins, exports, rematch (bg.h) */
    struct export_workers *exports; /* export tasks on it (export_workers.h) */
    struct rematch *rematch;        /* the --vulndb watch and its runs on it (rematch.h) */
    struct MHD_Daemon *daemon;
    atomic_int in_flight; /* requests begun and not yet completed */
    unsigned char sk_key[32];   /* the key file (keyfile.h): opens sealed SKs */
    struct ratelimit *limiter;  /* failed authentications per address (ratelimit.h) */
    char *tls_cert_pem, *tls_key_pem; /* loaded from --tls-cert/--tls-key */
    struct auth_cache *tokens;  /* principals of tokens and access keys, per auth epoch */
    struct result_cache *results; /* statistic answers, per index content (follower_view) */
    struct access_log *alog;    /* the request lines (access_log.h) */
    struct body_budget *unverified; /* bodies held before their signature is checked */
    struct metrics *metrics;    /* requests per route, for GET /metrics (metrics.h) */
    atomic_bool draining;       /* SIGTERM: finishing requests; /readyz answers 503 */
} app;

#endif
