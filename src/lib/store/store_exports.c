/* store_exports.c - export task rows (see imgsec/store_exports.h).
 *
 * Each call is one short statement or transaction with its SQL prepared
 * per call (tasks are few and slow; a statement cache would only add
 * coupling with store_int.h's table of statements). Rows are always read
 * together with their project, so another project's task or file is simply
 * not found. */
#include <string.h>

#include "imgsec/store_exports.h"
#include "store_int.h"

static const char *const STATUS_NAMES[EXPORT_STATUS_COUNT] = {"running", "success", "failure"};

const char *export_status_name(export_status s)
{
    return (unsigned)s < EXPORT_STATUS_COUNT ? STATUS_NAMES[s] : "failure";
}

static int status_parse(const char *s)
{
    for (int i = 0; i < EXPORT_STATUS_COUNT; i++)
        if (s && strcmp(s, STATUS_NAMES[i]) == 0)
            return i;
    return -1;
}

static db_stmt *prepare(store *st, const char *sql, imgsec_err *err)
{
    return store_dprepare(st, sql, "preparing an export statement", err);
}

/* Steps a statement without rows and finalizes it. */
static int run_once(store *st, db_stmt *s, const char *what, imgsec_err *err)
{
    int rc = db_step(s) == DB_DONE ? IMGSEC_OK : store_derr(st, err, what);
    db_finalize(s);
    return rc;
}

#define TASK_COLS                                                                              \
    "id, project_id, eps, user_id, report_type, export_size, file_format, status, progress, " \
    "record_num, total, failure_reason, "                                                    \
    "CASE status WHEN 'success' THEN coalesce(file_id, '') ELSE '' END, file_name, file_size, "        \
    "file_deleted, created_ms, coalesce(finished_ms, 0), coalesce(expires_ms, 0)"

static int read_task(db_stmt *s, store_export_task *t, imgsec_err *err)
{
    memset(t, 0, sizeof *t);
    store_dcolumn_copy(t->id, sizeof t->id, s, 0);
    store_dcolumn_copy(t->project_id, sizeof t->project_id, s, 1);
    store_dcolumn_copy(t->eps, sizeof t->eps, s, 2);
    t->user_id = db_column_int64(s, 3);
    int report = report_type_parse(db_column_text(s, 4));
    t->export_size = db_column_int64(s, 5);
    store_dcolumn_copy(t->file_format, sizeof t->file_format, s, 6);
    int status = status_parse(db_column_text(s, 7));
    if (report < 0 || status < 0)
        return err_set(err, IMGSEC_EINTERNAL, "store: export task %s has a bad state", t->id);
    t->report = (report_type)report;
    t->status = (export_status)status;
    t->progress = (int)db_column_int64(s, 8);
    t->record_num = db_column_int64(s, 9);
    t->total = db_column_int64(s, 10);
    store_dcolumn_copy(t->failure_reason, sizeof t->failure_reason, s, 11);
    store_dcolumn_copy(t->file_id, sizeof t->file_id, s, 12);
    store_dcolumn_copy(t->file_name, sizeof t->file_name, s, 13);
    t->file_size = db_column_int64(s, 14);
    t->file_deleted = (int)db_column_int64(s, 15) != 0;
    t->created_ms = db_column_int64(s, 16);
    t->finished_ms = db_column_int64(s, 17);
    t->expires_ms = db_column_int64(s, 18);
    return IMGSEC_OK;
}

static int owner_renew(store *st, const store_export_owner *o, imgsec_err *err)
{
    db_stmt *s = prepare(st,
                              "INSERT INTO export_owners (id, node, pid, started_ms, lease_ms) "
                              "VALUES (?1, ?2, ?3, ?4, ?5) "
                              "ON CONFLICT (id) DO UPDATE SET lease_ms = excluded.lease_ms",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, o->id);
    store_dbind_text(s, 2, o->node);
    db_bind_int64(s, 3, o->pid);
    db_bind_int64(s, 4, o->started_ms);
    db_bind_int64(s, 5, o->lease_ms);
    return run_once(st, s, "renewing an export owner", err);
}

int store_export_owner_renew(store *st, const store_export_owner *o, imgsec_err *err)
{
    return owner_renew(st, o, err);
}

int store_export_owner_remove(store *st, const char *id, imgsec_err *err)
{
    db_stmt *s = prepare(st, "DELETE FROM export_owners WHERE id = ?1", err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, id);
    return run_once(st, s, "removing an export owner", err);
}

static int task_insert(store *st, const store_export_task *t, const char *request,
                       const store_export_owner *owner, imgsec_err *err)
{
    db_stmt *s = prepare(
        st,
        "INSERT INTO export_tasks (id, project_id, eps, user_id, report_type, request, "
        "export_size, file_format, status, total, created_ms, file_id, owner) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, nullif(?11, ''), ?12)",
        err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, t->id);
    store_dbind_text(s, 2, t->project_id);
    store_dbind_text(s, 3, t->eps);
    if (t->user_id > 0)
        db_bind_int64(s, 4, t->user_id);
    store_dbind_text(s, 5, report_type_name(t->report));
    store_dbind_text(s, 6, request ? request : "{}");
    db_bind_int64(s, 7, t->export_size);
    store_dbind_text(s, 8, t->file_format);
    db_bind_int64(s, 9, t->total);
    db_bind_int64(s, 10, t->created_ms);
    store_dbind_text(s, 11, t->file_id);
    if (owner)
        store_dbind_text(s, 12, owner->id);
    return run_once(st, s, "storing an export task", err);
}

int store_export_task_insert(store *st, const store_export_task *t, const char *request,
                             const store_export_owner *owner, imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    if ((owner && (rc = owner_renew(st, owner, err)) != IMGSEC_OK) ||
        (rc = task_insert(st, t, request, owner, err)) != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

/* Runs a SELECT TASK_COLS statement expected to give at most one row. */
static int get_one(store *st, db_stmt *s, store_export_task *t, const char *what,
                   imgsec_err *err)
{
    int step = db_step(s);
    int rc;
    if (step == DB_ROW)
        rc = read_task(s, t, err);
    else if (step == DB_DONE)
        rc = err_set(err, IMGSEC_ENOTFOUND, "%s does not exist in this project", what);
    else
        rc = store_derr(st, err, "reading an export task");
    db_finalize(s);
    return rc;
}

int store_export_task_get(store *st, const char *project_id, const char *task_id,
                          store_export_task *t, imgsec_err *err)
{
    db_stmt *s = prepare(st,
                              "SELECT " TASK_COLS " FROM export_tasks "
                              "WHERE id = ?1 AND project_id = ?2",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, task_id);
    store_dbind_text(s, 2, project_id);
    return get_one(st, s, t, "export task", err);
}

int store_export_file_get(store *st, const char *project_id, const char *file_id, int64_t now_ms,
                          store_export_task *t, imgsec_err *err)
{
    db_stmt *s = prepare(st,
                              "SELECT " TASK_COLS " FROM export_tasks "
                              "WHERE file_id = ?1 AND project_id = ?2 AND status = 'success' "
                              "AND file_deleted = 0 AND expires_ms > ?3",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, file_id);
    store_dbind_text(s, 2, project_id);
    db_bind_int64(s, 3, now_ms);
    return get_one(st, s, t, "file", err);
}

int store_export_task_progress(store *st, const char *task_id, int progress, int64_t record_num,
                               imgsec_err *err)
{
    db_stmt *s = prepare(st,
                              "UPDATE export_tasks SET progress = ?2, record_num = ?3 "
                              "WHERE id = ?1 AND status = 'running'",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, task_id);
    db_bind_int64(s, 2, progress);
    db_bind_int64(s, 3, record_num);
    return run_once(st, s, "updating an export task", err);
}

int store_export_task_finish(store *st, const store_export_task *t, imgsec_err *err)
{
    db_stmt *s = prepare(
        st,
        "UPDATE export_tasks SET status = ?2, progress = ?3, record_num = ?4, "
        "failure_reason = ?5, file_id = nullif(?6, ''), file_name = ?7, file_size = ?8, "
        "finished_ms = ?9, expires_ms = ?10 WHERE id = ?1 AND status = 'running'",
        err);
    if (!s)
        return IMGSEC_EINTERNAL;
    bool ok = t->status == EXPORT_SUCCESS;
    store_dbind_text(s, 1, t->id);
    store_dbind_text(s, 2, export_status_name(t->status));
    db_bind_int64(s, 3, t->progress);
    db_bind_int64(s, 4, t->record_num);
    store_dbind_text(s, 5, ok ? "" : t->failure_reason);
    store_dbind_text(s, 6, ok ? t->file_id : "");
    store_dbind_text(s, 7, ok ? t->file_name : "");
    db_bind_int64(s, 8, ok ? t->file_size : 0);
    db_bind_int64(s, 9, t->finished_ms);
    if (ok)
        db_bind_int64(s, 10, t->expires_ms);
    int rc = run_once(st, s, "finishing an export task", err);
    if (rc == IMGSEC_OK && db_changes(st->conn) == 0)
        rc = err_set(err, IMGSEC_ENOTFOUND, "export task %s is no longer running", t->id);
    return rc;
}

/* The owners gone() gives up on: their rows are deleted. */
static int owners_reap(store *st, int64_t now_ms, store_export_owner_gone_fn gone, void *arg,
                       imgsec_err *err)
{
    db_stmt *s = prepare(st, "SELECT id, node, pid, started_ms, lease_ms FROM export_owners",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    db_stmt *del = prepare(st, "DELETE FROM export_owners WHERE id = ?1", err);
    if (!del) {
        db_finalize(s);
        return IMGSEC_EINTERNAL;
    }
    int step, rc = IMGSEC_OK;
    while (rc == IMGSEC_OK && (step = db_step(s)) == DB_ROW) {
        store_export_owner o = {0};
        store_dcolumn_copy(o.id, sizeof o.id, s, 0);
        store_dcolumn_copy(o.node, sizeof o.node, s, 1);
        o.pid = db_column_int64(s, 2);
        o.started_ms = db_column_int64(s, 3);
        o.lease_ms = db_column_int64(s, 4);
        if (!gone(&o, now_ms, arg))
            continue;
        store_dbind_text(del, 1, o.id);
        if (db_step(del) != DB_DONE)
            rc = store_derr(st, err, "removing a gone export owner");
        db_reset(del);
    }
    if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "reading export owners");
    db_finalize(del);
    db_finalize(s);
    return rc;
}

int store_export_tasks_recover(store *st, const char *reason, int64_t now_ms,
                               store_export_owner_gone_fn gone, void *arg, int64_t *n,
                               imgsec_err *err)
{
    *n = 0;
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = NULL;
    if ((rc = owners_reap(st, now_ms, gone, arg, err)) != IMGSEC_OK)
        goto fail;
    s = prepare(st,
                "UPDATE export_tasks SET status = 'failure', failure_reason = ?1, "
                "finished_ms = ?2, file_id = NULL WHERE status = 'running' AND "
                "(owner IS NULL OR owner NOT IN (SELECT id FROM export_owners))",
                err);
    if (!s) {
        rc = IMGSEC_EINTERNAL;
        goto fail;
    }
    store_dbind_text(s, 1, reason);
    db_bind_int64(s, 2, now_ms);
    if ((rc = run_once(st, s, "recovering export tasks", err)) != IMGSEC_OK)
        goto fail;
    *n = db_changes(st->conn);
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_export_file_running(store *st, const char *file_id, bool *running, imgsec_err *err)
{
    *running = false;
    db_stmt *s = prepare(st,
                              "SELECT 1 FROM export_tasks WHERE file_id = ?1 AND status = 'running'",
                              err);
    if (!s)
        return IMGSEC_EINTERNAL;
    store_dbind_text(s, 1, file_id);
    int step = db_step(s);
    int rc = step == DB_ROW || step == DB_DONE ? IMGSEC_OK
                                                       : store_derr(st, err, "reading an export task");
    *running = step == DB_ROW;
    db_finalize(s);
    return rc;
}

int store_export_files_expire(store *st, int64_t now_ms,
                              void (*cb)(const char *file_id, const char *format, void *arg),
                              void *arg, int64_t *n, imgsec_err *err)
{
    *n = 0;
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = prepare(st,
                              "SELECT file_id, file_format FROM export_tasks "
                              "WHERE file_id IS NOT NULL AND file_deleted = 0 AND expires_ms <= ?1",
                              err);
    if (!s) {
        store_rollback(st);
        return IMGSEC_EINTERNAL;
    }
    db_bind_int64(s, 1, now_ms);
    int step;
    while ((step = db_step(s)) == DB_ROW) {
        cb(db_column_text(s, 0), db_column_text(s, 1), arg);
        (*n)++;
    }
    db_finalize(s);
    if (step != DB_DONE) {
        rc = store_derr(st, err, "expiring export files");
        store_rollback(st);
        return rc;
    }
    s = prepare(st,
                "UPDATE export_tasks SET file_deleted = 1 "
                "WHERE file_id IS NOT NULL AND file_deleted = 0 AND expires_ms <= ?1",
                err);
    if (!s) {
        store_rollback(st);
        return IMGSEC_EINTERNAL;
    }
    db_bind_int64(s, 1, now_ms);
    if ((rc = run_once(st, s, "expiring export files", err)) != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}
