/* follow_snapshot.c - pairs the index with a store snapshot of the same
 * position (see follower_with_snapshot in imgsec/export.h).
 *
 * Only the public follower API is used: follower_sync to catch up, and
 * follower_hold to keep syncs out while the read transaction is opened
 * and its position compared. The window in which ingest can slip in is
 * between the sync's read and the BEGIN under the hold (microseconds), so
 * a retry is rare even under steady ingest; the hold itself lasts one
 * small read plus fn (an index_select), never the export. */
#include <time.h>

#include "imgsec/export.h"
#include "imgsec/store_exports.h"

#define SNAPSHOT_ATTEMPTS 200
#define SNAPSHOT_RETRY 1 /* fn's return when the positions differ */

typedef struct {
    store *st;
    int (*fn)(int64_t position, void *arg);
    void *arg;
    imgsec_err *err;
} hold_ctx;

static int under_hold(int64_t position, void *arg)
{
    hold_ctx *c = arg;
    int64_t store_pos;
    int rc = store_snapshot_begin(c->st, &store_pos, c->err);
    if (rc != IMGSEC_OK)
        return rc;
    if (store_pos != position) {
        store_snapshot_end(c->st);
        return -SNAPSHOT_RETRY;
    }
    rc = c->fn(position, c->arg);
    if (rc != IMGSEC_OK)
        store_snapshot_end(c->st);
    return rc;
}

int follower_with_snapshot(follower *f, store *st, int (*fn)(int64_t position, void *arg),
                           void *arg, imgsec_err *err)
{
    hold_ctx c = {st, fn, arg, err};
    for (int attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
        int rc = follower_sync(f, err);
        if (rc != IMGSEC_OK)
            return rc;
        rc = follower_hold(f, under_hold, &c);
        if (rc != -SNAPSHOT_RETRY)
            return rc;
        if (attempt >= 10) {
            struct timespec ts = {0, 1000000L * (attempt < 50 ? 1 : 10)};
            nanosleep(&ts, NULL);
        }
    }
    return err_set(err, IMGSEC_EINTERNAL,
                   "export: the database kept changing; no consistent snapshot after %d attempts",
                   SNAPSHOT_ATTEMPTS);
}
