/* store_exports.h - what the store keeps and reads for exports (export.md).
 *
 * Two concerns, both on a store handle of their own:
 *
 *  - export tasks: one row per task, from creation ("running") to
 *    "success" with its file, or "failure" with a reason. A task is never
 *    re-run: its record count was fixed against a snapshot of the file
 *    that exists only in the server that made it. Each running task names
 *    its owner, the server process writing it; an owner holds a lease it
 *    renews while it has tasks. Another server fails a running task only
 *    when its owner is gone: its lease expired, or it is a process of this
 *    very node that no longer exists (store_export_tasks_recover). Many
 *    servers can so share one database, each leaving the others' tasks
 *    alone.
 *
 *  - files: a finished task's file lives in the database, as chunks of
 *    at most STORE_EXPORT_CHUNK_BYTES (store_export_file_put, committed a
 *    few at a time while the task still runs, so nobody serves them), and
 *    becomes a file when the transaction that records the task's success
 *    finds every chunk there (store_export_task_finish). So any server on
 *    the database serves any download, chunk by chunk
 *    (store_export_chunk_get), and a half-written file is never a
 *    success: the chunks of a task that fails or whose server died are
 *    deleted with its failure (finish, recover), expired ones with the
 *    expiry, and strays by store_export_files_expire.
 *
 *  - reading records for an export: a snapshot is one SQLite read
 *    transaction (store_snapshot_begin .. store_snapshot_end); inside it,
 *    store_records_walk reads the records of given images in (image id,
 *    natural key) order, applying the record filters of a stat_query the
 *    way the index counts them, so the rows written are exactly the rows
 *    counted. Natural keys (always ending in seq, the record's position in
 *    its ingest document, as the last tie-breaker; strings compare
 *    bytewise, absent values first):
 *
 *      vulnerability        vul_id, app_name, app_version, app_path, seq
 *      risk-config          check_rule_id, check_name, seq
 *      malwares             file_path, seq
 *      apps                 app_name, app_version, app_type, app_path, seq
 *      files                file_path, seq
 *      sensitive-info       rule_id, file_path, position, seq
 *      non-compliant-app    app_name, app_version, app_path, seq
 *      build-command-risks  rule_id, build_instruction, seq
 */
#ifndef IMGSEC_STORE_EXPORTS_H
#define IMGSEC_STORE_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/filter.h"
#include "imgsec/model.h"
#include "imgsec/store.h"

/* ---- export tasks ---- */

#define STORE_EXPORT_ID_HEX 32        /* task and file ids: 128 random bits, hex */
#define STORE_EXPORT_REASON_MAX 255
#define STORE_EXPORT_FILE_NAME_MAX 127

typedef enum { EXPORT_RUNNING, EXPORT_SUCCESS, EXPORT_FAILURE, EXPORT_STATUS_COUNT } export_status;
const char *export_status_name(export_status s);

typedef struct {
    char id[STORE_EXPORT_ID_HEX + 1];
    char project_id[MODEL_PROJECT_ID_MAX + 1];
    char eps[STORE_EPS_MAX + 1];       /* "*" or a comma list */
    int64_t user_id;
    report_type report;
    int64_t export_size;
    char file_format[8];               /* "xlsx" or "csv" */
    export_status status;
    int progress;                      /* 0-100 */
    int64_t record_num;                /* records written so far */
    int64_t total;                     /* records the file will hold */
    char failure_reason[STORE_EXPORT_REASON_MAX + 1];
    char file_id[STORE_EXPORT_ID_HEX + 1];  /* "" until success */
    char file_name[STORE_EXPORT_FILE_NAME_MAX + 1];
    int64_t file_size;
    bool file_deleted;                 /* removed by retention */
    bool file_in_db;                   /* its chunks are whole in the database (schema 12 on) */
    int64_t created_ms, finished_ms, expires_ms;
} store_export_task;

#define STORE_EXPORT_NODE_MAX 255

/* A server process that runs export tasks. */
typedef struct {
    char id[STORE_EXPORT_ID_HEX + 1];  /* random, one per process */
    char node[STORE_EXPORT_NODE_MAX + 1]; /* where pid is meaningful: host, boot, pid namespace */
    int64_t pid;
    int64_t started_ms;
    int64_t lease_ms;                  /* alive until then (wall clock, ms) unless renewed */
} store_export_owner;

/* Inserts or renews owner o (its lease_ms). */
int store_export_owner_renew(store *st, const store_export_owner *o, imgsec_err *err);
/* Deletes owner id (a clean stop: it has no tasks left). */
int store_export_owner_remove(store *st, const char *id, imgsec_err *err);

/* Inserts a new task (status running) owned by owner (may be NULL: then
 * any server takes it for gone), whose lease is renewed in the same
 * transaction. t->file_id is kept, for store_export_file_running, but
 * reads give "" until the task succeeds. request is the body as JSON
 * text. */
int store_export_task_insert(store *st, const store_export_task *t, const char *request,
                             const store_export_owner *owner, imgsec_err *err);
/* The task id of project_id. IMGSEC_ENOTFOUND when no such task there. */
int store_export_task_get(store *st, const char *project_id, const char *task_id,
                          store_export_task *t, imgsec_err *err);
/* The successful task whose file is file_id, in project_id, not deleted
 * and not expired at now_ms. IMGSEC_ENOTFOUND otherwise. */
int store_export_file_get(store *st, const char *project_id, const char *file_id, int64_t now_ms,
                          store_export_task *t, imgsec_err *err);
/* Progress of a running task. */
int store_export_task_progress(store *st, const char *task_id, int progress, int64_t record_num,
                               imgsec_err *err);
/* Ends a running task: success (with file_id, file_name, file_size,
 * expires_ms; the file's chunks must all be in the database, stored by
 * store_export_file_put: IMGSEC_EINTERNAL and nothing changed otherwise)
 * or failure (with reason; its chunks are deleted). A task that is no
 * longer running (another server took it for gone) is left as it is:
 * IMGSEC_ENOTFOUND, and the caller removes the file it made. */
int store_export_task_finish(store *st, const store_export_task *t, imgsec_err *err);

/* Decides whether owner o (its row as stored) is gone at now_ms. */
typedef bool (*store_export_owner_gone_fn)(const store_export_owner *o, int64_t now_ms, void *arg);

/* In one transaction: every owner row that gone() says is gone is
 * deleted, and every running task whose owner has no row (gone, or NULL)
 * is marked failure with reason at now_ms. *n gets how many tasks. The
 * caller's own owner must be renewed first (it is asked like any other). */
int store_export_tasks_recover(store *st, const char *reason, int64_t now_ms,
                               store_export_owner_gone_fn gone, void *arg, int64_t *n,
                               imgsec_err *err);
/* *running: file_id belongs to a running task (its partial file is live). */
int store_export_file_running(store *st, const char *file_id, bool *running, imgsec_err *err);
/* Calls cb for each file that expired at now_ms and is not yet deleted,
 * then marks those deleted and deletes their chunks, and the chunks of no
 * running task nor live file (a failure's that was cut short). cb deletes
 * the file's local copy (its return is ignored: a file already gone, or
 * never on this server, is fine). */
int store_export_files_expire(store *st, int64_t now_ms,
                              void (*cb)(const char *file_id, const char *format, void *arg),
                              void *arg, int64_t *n, imgsec_err *err);

/* ---- files in the database ---- */

#define STORE_EXPORT_CHUNK_BYTES (1024 * 1024)
/* Chunks per write transaction of store_export_file_put. */
#define STORE_EXPORT_CHUNKS_PER_COMMIT 8

/* Stores what fd holds from its current offset to its end as the chunks
 * of file_id, replacing any it had; *size gets the bytes. Commits every
 * STORE_EXPORT_CHUNKS_PER_COMMIT chunks, outside any transaction of the
 * caller's; on failure the chunks stored so far stay until the task's
 * failure (or the expiry's sweep) deletes them. */
int store_export_file_put(store *st, const char *file_id, int fd, int64_t *size, imgsec_err *err);
/* Chunk seq (from 0) of file_id's file in the database into buf (size at
 * least STORE_EXPORT_CHUNK_BYTES): *len bytes. IMGSEC_ENOTFOUND when
 * there is no such chunk of a whole file (past its end, or the file was
 * deleted meanwhile). */
int store_export_chunk_get(store *st, const char *file_id, int64_t seq, void *buf, size_t size,
                           size_t *len, imgsec_err *err);
/* Calls cb for the files of successful tasks, neither deleted nor expired
 * at now_ms, that are not in the database (made before schema 12, in
 * the export directory). */
int store_export_files_on_disk(store *st, int64_t now_ms,
                               void (*cb)(const char *file_id, const char *format, int64_t size,
                                          void *arg),
                               void *arg, imgsec_err *err);
/* Makes the chunks store_export_file_put stored for file_id its file in
 * the database, if they hold exactly the size the task recorded
 * (IMGSEC_EINTERNAL otherwise, nothing changed). */
int store_export_file_adopt(store *st, const char *file_id, imgsec_err *err);
/* Marks file_id deleted: its file is gone from the export directory
 * before it was moved into the database. */
int store_export_file_lost(store *st, const char *file_id, imgsec_err *err);

/* ---- snapshots and records ---- */

/* Begins a read transaction and fixes its snapshot; *position gets the
 * change-log position of that snapshot (the one follower_position names
 * when the index reflects the same state). */
int store_snapshot_begin(store *st, int64_t *position, imgsec_err *err);
/* Ends the read transaction (no-op when none is open). */
void store_snapshot_end(store *st);

/* One cell of an exported row. */
typedef enum { CELL_NULL, CELL_STRING, CELL_INT, CELL_REAL } cell_kind;
typedef struct {
    cell_kind kind;
    const char *s;  /* CELL_STRING: bytes (not necessarily NUL-free), len of them */
    size_t len;
    int64_t i;
    double d;
} store_cell;

/* The image columns that open every row (export.md), in order: id,
 * image_type, the string attributes model.h marks exported (in its
 * order), enterprise_project_id. */
#define STORE_EXPORT_IMAGE_ONE(m, key, dmin, dmax, filter, fmax, qlists, ilists, col, exported) \
    +(exported)
#define STORE_EXPORT_IMAGE_COLS (3 MODEL_IMAGE_STRINGS(STORE_EXPORT_IMAGE_ONE))
extern const char *const STORE_EXPORT_IMAGE_COL_NAMES[STORE_EXPORT_IMAGE_COLS];

/* The record filters of a query, owned (a stat_query borrows its strings
 * from a JSON body; a task outlives the request). */
typedef struct {
    report_type report;
    int vul_type;              /* -1: any */
    char **vul_ids;            /* sorted, distinct */
    size_t n_vul_ids;
    int build_level;           /* severity or -1 */
    char *build_name;          /* substring of risk_name, or NULL */
    char **build_rule_ids;     /* sorted, distinct */
    size_t n_build_rule_ids;
} store_record_filter;

/* Copies the record filters of q. */
int store_record_filter_init(store_record_filter *f, const stat_query *q, imgsec_err *err);
void store_record_filter_free(store_record_filter *f);

/* Called once per record with STORE_EXPORT_IMAGE_COLS image cells, then
 * one cell per field of the record kind; valid during the call only. A
 * non-zero return stops the walk and is returned. */
typedef int (*store_record_cb)(const store_cell *cells, size_t n, void *arg);

/* Inside a snapshot: for each image ids[i] in the order given, its records
 * of f->report passing f, in natural-key order, up to limit records in
 * all. expect[i] (may be NULL) is how many such records image i must
 * have: a different number is IMGSEC_EINTERNAL (the snapshot and the
 * counts disagree), never a silently different file. */
int store_records_walk(store *st, const store_record_filter *f, const int64_t *ids,
                       const int64_t *expect, size_t n, int64_t limit, store_record_cb cb,
                       void *arg, imgsec_err *err);

#endif
