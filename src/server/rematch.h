/* rematch.h - background rematch: when the vulnerability database
 * (--vulndb) changes, every stored image gets its vulnerability records
 * recomputed from its stored apps (vulndb_rematch_run), on the background
 * pool's maintenance queue (bg.h), each image stored again in a
 * transaction of its own.
 *
 * The watch is a tick of the pool's clock every REMATCH_WATCH_MS: the
 * file's identity (device and inode: a new file in its place is a change)
 * and SQLite's `PRAGMA data_version` on a connection of the watch's own,
 * which changes exactly when another connection committed to the file
 * (an import, an update; not a checkpoint, not a read). A change submits
 * one rematch; the queue runs one at a time and holds one more, so a
 * change during a run is one more run after it, and further changes
 * meanwhile are covered by that run. The state found at start is the
 * baseline: a change made while the server was stopped is not noticed
 * (`imgsec vulndb import --db` and `update --db` rematch themselves).
 *
 * A run uses the maintenance worker's store connection and one
 * connection to the vulnerability database; it stops between images when
 * the pool stops (the images done stay done). Its start, progress (at
 * most every REMATCH_PROGRESS_MS) and a one-line summary go to the
 * server log (server_log).
 */
#ifndef IMGSECD_REMATCH_H
#define IMGSECD_REMATCH_H

#include "app.h"
#include "imgsec/err.h"

#define REMATCH_WATCH_MS 2000      /* how often the watch looks: a stat and a pragma */
#define REMATCH_PROGRESS_MS 30000  /* progress lines of a long run */

typedef struct rematch rematch;

/* With a->cfg.vulndb_path: takes the baseline and puts the watch on
 * a->bg's clock; *out NULL without one. A missing file is not an error
 * (logged): its appearance is a change. */
int rematch_start(app *a, rematch **out, imgsec_err *err);
/* After bg_stop. NULL is fine. */
void rematch_free(rematch *r);

#endif
