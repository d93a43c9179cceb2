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
    struct MHD_Daemon *daemon;
    atomic_int in_flight; /* requests begun and not yet completed */
} app;

#endif
