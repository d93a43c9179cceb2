/* export_workers.h - the export tasks of a server: their jobs on the
 * background pool (bg.h), restart recovery, leases and file retention.
 *
 * A task's snapshot is taken by the request that creates it (so its count
 * is the statistic's answer at that moment); a worker of the pool's
 * export queue then writes the file from that snapshot on a store
 * connection of its own, never holding anything the statistic route or
 * ingest waits on. At most --export-workers tasks run and --export-queue
 * more wait; a request beyond that is refused (429), because every
 * waiting task pins a snapshot (an open read transaction, which keeps the
 * WAL from being checkpointed past it).
 *
 * Files are written as <dir>/<file_id>.<ext>.part and renamed when
 * complete, so a file that exists under its final name is whole; then
 * stored in the database (store_export_file_put) before the success is
 * recorded, which checks the stored chunks whole: any server on the
 * database serves the download, the writing one from its own copy. At
 * start, files of a database older than schema 12 are moved in.
 *
 * Ownership: the server is one owner (store_exports.h) with a random id
 * and a lease of EXPORT_LEASE_MS, renewed with every task it creates and
 * by the janitor (a tick of the pool's clock) every quarter lease while
 * it has tasks. Other servers on the same database leave its tasks
 * alone. On start and at every janitor round, tasks whose owner is gone
 * (lease expired, or a process of this node, by host, boot and pid
 * namespace, that no longer exists: a crash and restart is recovered at
 * once) are marked "failure" with reason "interrupted by a server stop",
 * and .part files of tasks no longer running are removed. When the pool
 * stops, a running task ends at its next batch of rows and a waiting one
 * is cancelled, both marked the same way; export_workers_stop then gives
 * the lease up. The janitor also deletes files past their retention. A
 * missing export directory (deleted while the server runs) is made again
 * (0700) before each task.
 */
#ifndef IMGSECD_EXPORT_WORKERS_H
#define IMGSECD_EXPORT_WORKERS_H

#include <stdbool.h>

#include "app.h"
#include "bg.h"
#include "imgsec/export.h"
#include "imgsec/store_exports.h"

#define EXPORT_INTERRUPTED "interrupted by a server stop"
/* An owner not renewed for this long is gone (IMGSEC_EXPORT_TEST_LEASE_MS
 * replaces it, for tests). Nodes sharing a database need clocks within a
 * few seconds of each other (NTP). */
#define EXPORT_LEASE_MS 60000

typedef struct export_workers export_workers;

/* One task handed to the pool: the row as inserted and its snapshot
 * (owned by the pool from export_workers_submit on). */
typedef struct export_job {
    bg_job base;               /* first: the pool sees this; export_workers_submit fills it */
    struct export_workers *w;
    store_export_task task;
    export_format fmt;
    export_snapshot *snap;
    /* While a worker writes the file: its progress as the status route
     * shows it (export_workers_progress), under the pool's lock. */
    int live_progress;
    int64_t live_records;
    struct export_job *next;   /* the running list */
} export_job;

/* Recovers interrupted tasks, prepares the directory, deletes expired
 * files and puts the janitor on a->bg's clock (a->bg started first). */
int export_workers_start(app *a, export_workers **out, imgsec_err *err);
/* After bg_stop (which ended every task of this server: running ones and
 * waiting ones marked interrupted): gives the lease up, frees. */
void export_workers_stop(export_workers *w);

/* Takes a place on the pool's export queue; false when it is full (or
 * the pool is stopping). */
bool export_workers_reserve(export_workers *w);
/* Gives a reserved place back (the task was not created after all). */
void export_workers_unreserve(export_workers *w);
/* This server as the owner of the task it is about to insert, its lease
 * running from now (for store_export_task_insert). */
void export_workers_owner(export_workers *w, store_export_owner *out);
/* Queues job on a reserved place; the pool owns job and its snapshot. */
void export_workers_submit(export_workers *w, export_job *job);

/* The progress of a task a worker is writing now: true with *progress
 * (0-100) and *record_num (rows written), false when no worker runs it
 * (waiting, finished, or unknown: its row tells). Running tasks' progress
 * is kept here rather than in the store: a commit per update would write
 * the file twice a second for nothing a reader needs kept, and each commit
 * makes the next requests probe the file and re-read the auth epoch
 * (auth_cache.h), though no image and no principal changed. The store gets a task's row
 * when it is created and when it ends, and a task leaves this list only
 * after its end is committed: read this first, then the row, and a task
 * ending in between is seen ended. */
bool export_workers_progress(export_workers *w, const char *task_id, int *progress,
                             int64_t *record_num);

/* <dir>/<file_id>.<ext> into buf; false if it does not fit. */
bool export_workers_file_path(const export_workers *w, const char *file_id, const char *ext,
                              char *buf, size_t size);

#endif
