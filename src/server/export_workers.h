/* export_workers.h - the export tasks of a server: a bounded pool of
 * worker threads, a bounded queue, restart recovery and file retention.
 *
 * A task's snapshot is taken by the request that creates it (so its count
 * is the statistic's answer at that moment); a worker then writes the
 * file from that snapshot on a store connection of its own, never
 * holding anything the statistic route or ingest waits on. At most
 * export_workers tasks run and export_queue more wait; a request beyond
 * that is refused (429), because every waiting task pins a snapshot (an
 * open read transaction, which keeps the WAL from being checkpointed past
 * it).
 *
 * Files are written as <dir>/<file_id>.<ext>.part and renamed when
 * complete, so a file that exists under its final name is whole.
 *
 * Ownership: the pool is one owner (store_exports.h) with a random id and
 * a lease of EXPORT_LEASE_MS, renewed with every task it creates and by
 * the janitor every quarter lease while it has tasks. Other servers on
 * the same database leave its tasks alone. On start and at every janitor
 * round, tasks whose owner is gone (lease expired, or a process of this
 * node, by host, boot and pid namespace, that no longer exists: a crash
 * and restart is recovered at once) are marked "failure" with reason
 * "interrupted by a server stop", and .part files of tasks no longer
 * running are removed; a stop marks the tasks it cancels the same way and
 * gives its lease up. A janitor deletes files past their retention and,
 * about once an hour, the expired tokens (the server purges them on start
 * too), so that the tokens table does not grow for the life of the
 * process. A missing export directory (deleted while the server runs) is
 * made again (0700) before each task.
 */
#ifndef IMGSECD_EXPORT_WORKERS_H
#define IMGSECD_EXPORT_WORKERS_H

#include <stdbool.h>

#include "app.h"
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
    store_export_task task;
    export_format fmt;
    export_snapshot *snap;
    /* While a worker writes the file: its progress as the status route
     * shows it (export_workers_progress), under the pool's lock. */
    int live_progress;
    int64_t live_records;
    struct export_job *next;   /* the queue while waiting, the running list after */
} export_job;

/* Recovers interrupted tasks, prepares the directory, starts the threads. */
int export_workers_start(app *a, export_workers **out, imgsec_err *err);
/* Cancels running tasks (marked failure), fails queued ones, joins. */
void export_workers_stop(export_workers *w);

/* Takes a place in the queue; false when it is full (or stopping). */
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
 * is kept here rather than in the store because every commit starts a new
 * file generation, which would empty the caches keyed on it (result
 * cache, token cache) though no image changed. The store gets a task's row
 * when it is created and when it ends, and a task leaves this list only
 * after its end is committed: read this first, then the row, and a task
 * ending in between is seen ended. */
bool export_workers_progress(export_workers *w, const char *task_id, int *progress,
                             int64_t *record_num);

/* <dir>/<file_id>.<ext> into buf; false if it does not fit. */
bool export_workers_file_path(const export_workers *w, const char *file_id, const char *ext,
                              char *buf, size_t size);

#endif
