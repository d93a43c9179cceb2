/* export.h - an export: one snapshot of the file, counted and written
 * (export.md "What a file holds").
 *
 * The count is the contract: a file holds exactly min(export_size, N)
 * records, N being what the statistic route answers for the same body at
 * the moment the task is created, whatever is ingested meanwhile. So a
 * snapshot pairs two views of the same state of the file:
 *
 *   - a SQLite read transaction on a connection of the export's own
 *     (store_snapshot_begin), which later yields the rows, and
 *   - the index's selection (image ids with their matching record counts,
 *     index_select), whose sum is N,
 *
 * taken while the follower holds the index still (follower_hold), and
 * only when the read transaction's change-log position equals the
 * index's position; otherwise the follower syncs and it tries again.
 * Writing then walks the rows of the selected images in the snapshot; a
 * per-image count that differs from the index's fails the export rather
 * than write a different file.
 *
 * The same code serves the server's export tasks and the command line's
 * offline export (which builds its own index with follower_open).
 */
#ifndef IMGSEC_EXPORT_H
#define IMGSEC_EXPORT_H

#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/export_writer.h"
#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "imgsec/store.h"

#define EXPORT_SIZE_MIN 1
#define EXPORT_SIZE_MAX 10000000

/* follow_snapshot.c: brings the index up to date, then runs
 * fn(position, arg) with the index held still at position and st inside a
 * read transaction (store_snapshot_begin) of that same position. The
 * transaction stays open after the call when fn returns IMGSEC_OK (the
 * caller ends it with store_snapshot_end); on any error it is ended.
 * Gives up with IMGSEC_EINTERNAL if ingest moves the file on every one of
 * many attempts. */
int follower_with_snapshot(follower *f, store *st, int (*fn)(int64_t position, void *arg),
                           void *arg, imgsec_err *err);

typedef struct export_snapshot export_snapshot;

/* Opens a connection of its own on db_path and takes a snapshot of the
 * records of q (report type q->report) over scope. */
int export_snapshot_take(follower *f, imgsec_index *ix, const char *db_path,
                         const index_scope *scope, const stat_query *q, export_snapshot **out,
                         imgsec_err *err);
/* N: the records of the snapshot (what the statistic answers). */
int64_t export_snapshot_total(const export_snapshot *s);
void export_snapshot_free(export_snapshot *s);

/* Called every few thousand rows and at the end; a non-zero return
 * cancels the export (export_snapshot_write then fails with IMGSEC_EINTERNAL
 * "export cancelled"). */
typedef int (*export_progress_fn)(int64_t written, int64_t total, void *arg);

#define EXPORT_PROGRESS_EVERY 1024

/* Writes min(limit, N) records of the snapshot into path (created; it
 * must not exist), in (image id, natural key) order. *written gets the
 * rows written. On failure the partial file is removed. */
int export_snapshot_write(export_snapshot *s, export_format fmt, int64_t limit, const char *path,
                          const export_writer_options *opt, export_progress_fn progress,
                          void *arg, int64_t *written, imgsec_err *err);

#endif
