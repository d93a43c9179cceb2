/* store_exports.c - export task rows (see imgsec/store_exports.h).
 *
 * Each call is one short statement or transaction with its SQL prepared
 * per call (tasks are few and slow; a statement cache would only add
 * coupling with store_int.h's table of statements). Rows are always read
 * together with their project, so another project's task or file is simply
 * not found. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "file_deleted, created_ms, coalesce(finished_ms, 0), coalesce(expires_ms, 0), "             \
    "EXISTS (SELECT 1 FROM export_files f WHERE f.file_id = export_tasks.file_id)"

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
    t->file_in_db = db_column_int64(s, 19) != 0;
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
        return store_drc(err);
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
        return store_drc(err);
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
        return store_drc(err);
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
        return store_drc(err);
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
        return store_drc(err);
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
        return store_drc(err);
    store_dbind_text(s, 1, task_id);
    db_bind_int64(s, 2, progress);
    db_bind_int64(s, 3, record_num);
    return run_once(st, s, "updating an export task", err);
}

/* Runs sql with ?1 = text a in the open transaction. */
static int run_text(store *st, const char *sql, const char *a, const char *what, imgsec_err *err)
{
    db_stmt *s = prepare(st, sql, err);
    if (!s)
        return store_drc(err);
    store_dbind_text(s, 1, a);
    return run_once(st, s, what, err);
}

/* Checks that the chunks of file_id hold size bytes, numbered 0..n-1
 * without a gap, and records the file (export_files). */
static int file_record(store *st, const char *file_id, int64_t size, imgsec_err *err)
{
    db_stmt *s = prepare(st,
                         "SELECT count(*), coalesce(sum(length(data)), 0), coalesce(max(seq), -1) "
                         "FROM export_file_chunks WHERE file_id = ?1",
                         err);
    if (!s)
        return store_drc(err);
    store_dbind_text(s, 1, file_id);
    if (db_step(s) != DB_ROW) {
        int rc = store_derr(st, err, "checking an export file");
        db_finalize(s);
        return rc;
    }
    int64_t n = db_column_int64(s, 0), bytes = db_column_int64(s, 1), last = db_column_int64(s, 2);
    db_finalize(s);
    int64_t want = size ? (size + STORE_EXPORT_CHUNK_BYTES - 1) / STORE_EXPORT_CHUNK_BYTES : 1;
    if (n == 0 || n != want || last != n - 1 || bytes != size)
        return err_set(err, IMGSEC_EINTERNAL,
                       "store: export file %s is not whole in the database (%lld chunks, %lld "
                       "bytes, %lld expected)",
                       file_id, (long long)n, (long long)bytes, (long long)size);
    if (!(s = prepare(st,
                      "INSERT INTO export_files (file_id, size, chunks) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (file_id) DO UPDATE SET size = excluded.size, chunks = "
                      "excluded.chunks",
                      err)))
        return store_drc(err);
    store_dbind_text(s, 1, file_id);
    db_bind_int64(s, 2, size);
    db_bind_int64(s, 3, n);
    return run_once(st, s, "recording an export file", err);
}

int store_export_task_finish(store *st, const store_export_task *t, imgsec_err *err)
{
    bool ok = t->status == EXPORT_SUCCESS;
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = NULL;
    if (!(s = prepare(st,
                      "UPDATE export_tasks SET status = ?2, progress = ?3, record_num = ?4, "
                      "failure_reason = ?5, file_id = nullif(?6, ''), file_name = ?7, file_size = "
                      "?8, finished_ms = ?9, expires_ms = ?10 WHERE id = ?1 AND status = 'running'",
                      err)))
        rc = store_drc(err);
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
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
    rc = run_once(st, s, "finishing an export task", err);
    if (rc == IMGSEC_OK && db_changes(st->conn) == 0)
        rc = err_set(err, IMGSEC_ENOTFOUND, "export task %s is no longer running", t->id);
    /* a success needs its file whole; a failure leaves no chunk behind */
    if (rc == IMGSEC_OK && ok)
        rc = file_record(st, t->file_id, t->file_size, err);
    else if (rc == IMGSEC_OK && t->file_id[0])
        rc = run_text(st, "DELETE FROM export_file_chunks WHERE file_id = ?1", t->file_id,
                      "deleting a failed export's chunks", err);
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        /* not ours any more: the file's chunks go (the task is not running) */
        if (rc == IMGSEC_ENOTFOUND && t->file_id[0] && store_write_begin(st, NULL) == IMGSEC_OK) {
            if (run_text(st,
                         "DELETE FROM export_file_chunks WHERE file_id = ?1 AND NOT EXISTS "
                         "(SELECT 1 FROM export_files f WHERE f.file_id = ?1)",
                         t->file_id, "deleting an export's chunks", NULL) == IMGSEC_OK)
                store_commit(st, NULL);
            else
                store_rollback(st);
        }
        return rc;
    }
    return store_commit(st, err);
}

/* ---- files in the database ---- */

/* Reads up to size bytes of fd (less only at its end). */
static ssize_t read_full(int fd, unsigned char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int store_export_file_put(store *st, const char *file_id, int fd, int64_t *size, imgsec_err *err)
{
    *size = 0;
    unsigned char *buf = malloc(STORE_EXPORT_CHUNK_BYTES);
    if (!buf)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    int rc = store_write_begin(st, err);
    if (rc == IMGSEC_OK)
        rc = run_text(st, "DELETE FROM export_file_chunks WHERE file_id = ?1", file_id,
                      "storing an export file", err);
    db_stmt *ins = rc == IMGSEC_OK ? prepare(st,
                                             "INSERT INTO export_file_chunks (file_id, seq, data) "
                                             "VALUES (?1, ?2, ?3)",
                                             err)
                                   : NULL;
    if (rc == IMGSEC_OK && !ins)
        rc = store_drc(err);
    for (int64_t seq = 0; rc == IMGSEC_OK; seq++) {
        ssize_t n = read_full(fd, buf, STORE_EXPORT_CHUNK_BYTES);
        if (n < 0) {
            rc = err_set(err, errno == ENOSPC ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                         "export: reading the file: %s", strerror(errno));
            break;
        }
        if (n == 0 && seq > 0)
            break;
        db_reset(ins);
        store_dbind_text(ins, 1, file_id);
        db_bind_int64(ins, 2, seq);
        db_bind_blob(ins, 3, buf, (size_t)n);
        if (db_step(ins) != DB_DONE) {
            rc = store_derr(st, err, "storing an export file");
            break;
        }
        *size += n;
        if (n < STORE_EXPORT_CHUNK_BYTES)
            break;
        /* a few chunks per transaction: other writers get their turn */
        if ((seq + 1) % STORE_EXPORT_CHUNKS_PER_COMMIT == 0 &&
            ((rc = store_commit(st, err)) != IMGSEC_OK || (rc = store_write_begin(st, err)) != IMGSEC_OK))
            break;
    }
    db_finalize(ins);
    free(buf);
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

int store_export_chunk_get(store *st, const char *file_id, int64_t seq, void *buf, size_t size,
                           size_t *len, imgsec_err *err)
{
    *len = 0;
    db_stmt *s = prepare(st,
                         "SELECT c.data FROM export_file_chunks c JOIN export_files f ON "
                         "f.file_id = c.file_id WHERE c.file_id = ?1 AND c.seq = ?2",
                         err);
    if (!s)
        return store_drc(err);
    store_dbind_text(s, 1, file_id);
    db_bind_int64(s, 2, seq);
    int step = db_step(s), rc = IMGSEC_OK;
    if (step == DB_ROW) {
        const void *data = db_column_blob(s, 0);
        size_t n = db_column_bytes(s, 0);
        if (n > size || (n && !data))
            rc = err_set(err, IMGSEC_EINTERNAL, "store: export file %s: chunk %lld is too large",
                         file_id, (long long)seq);
        else if (n)
            memcpy(buf, data, n);
        *len = rc == IMGSEC_OK ? n : 0;
    } else if (step == DB_DONE) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "file does not exist in this project");
    } else {
        rc = store_derr(st, err, "reading an export file");
    }
    db_finalize(s);
    return rc;
}

int store_export_files_on_disk(store *st, int64_t now_ms,
                               void (*cb)(const char *file_id, const char *format, int64_t size,
                                          void *arg),
                               void *arg, imgsec_err *err)
{
    db_stmt *s = prepare(st,
                         "SELECT file_id, file_format, file_size FROM export_tasks t WHERE status "
                         "= 'success' AND file_id IS NOT NULL AND file_deleted = 0 AND expires_ms "
                         "> ?1 AND NOT EXISTS (SELECT 1 FROM export_files f WHERE f.file_id = "
                         "t.file_id) ORDER BY file_id",
                         err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, now_ms);
    /* the callback stores chunks on this same connection: rows first */
    char (*ids)[STORE_EXPORT_ID_HEX + 1] = NULL;
    char (*fmts)[8] = NULL;
    int64_t *sizes = NULL;
    size_t n = 0, cap = 0;
    int step, rc = IMGSEC_OK;
    while ((step = db_step(s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *a = realloc(ids, cap * sizeof *ids), *b = a ? realloc(fmts, cap * sizeof *fmts) : NULL,
                 *c = b ? realloc(sizes, cap * sizeof *sizes) : NULL;
            if (a)
                ids = a;
            if (b)
                fmts = b;
            if (c)
                sizes = c;
            if (!a || !b || !c) {
                rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
                break;
            }
        }
        store_dcolumn_copy(ids[n], sizeof ids[n], s, 0);
        store_dcolumn_copy(fmts[n], sizeof fmts[n], s, 1);
        sizes[n] = db_column_int64(s, 2);
        n++;
    }
    if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "listing export files");
    db_finalize(s);
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++)
        cb(ids[i], fmts[i], sizes[i], arg);
    free(ids);
    free(fmts);
    free(sizes);
    return rc;
}

int store_export_file_adopt(store *st, const char *file_id, imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = prepare(st,
                         "SELECT file_size FROM export_tasks WHERE file_id = ?1 AND status = "
                         "'success' AND file_deleted = 0",
                         err);
    if (!s) {
        store_rollback(st);
        return store_drc(err);
    }
    store_dbind_text(s, 1, file_id);
    int step = db_step(s);
    int64_t size = step == DB_ROW ? db_column_int64(s, 0) : -1;
    db_finalize(s);
    if (step == DB_ROW)
        rc = file_record(st, file_id, size, err);
    else if (step == DB_DONE)
        rc = err_set(err, IMGSEC_ENOTFOUND, "export file %s is no longer live", file_id);
    else
        rc = store_derr(st, err, "reading an export task");
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

int store_export_file_lost(store *st, const char *file_id, imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    if ((rc = run_text(st, "UPDATE export_tasks SET file_deleted = 1 WHERE file_id = ?1", file_id,
                       "marking an export file lost", err)) != IMGSEC_OK ||
        (rc = run_text(st, "DELETE FROM export_file_chunks WHERE file_id = ?1", file_id,
                       "marking an export file lost", err)) != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

/* The owners gone() gives up on: their rows are deleted. */
static int owners_reap(store *st, int64_t now_ms, store_export_owner_gone_fn gone, void *arg,
                       imgsec_err *err)
{
    db_stmt *s = prepare(st, "SELECT id, node, pid, started_ms, lease_ms FROM export_owners",
                              err);
    if (!s)
        return store_drc(err);
    db_stmt *del = prepare(st, "DELETE FROM export_owners WHERE id = ?1", err);
    if (!del) {
        db_finalize(s);
        return store_drc(err);
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
    if ((rc = run_text(st,
                       "DELETE FROM export_file_chunks WHERE file_id IN (SELECT file_id FROM "
                       "export_tasks WHERE status = 'running' AND file_id IS NOT NULL AND "
                       "(owner IS NULL OR owner NOT IN (SELECT id FROM export_owners)))",
                       reason, "recovering export tasks", err)) != IMGSEC_OK)
        goto fail;
    s = prepare(st,
                "UPDATE export_tasks SET status = 'failure', failure_reason = ?1, "
                "finished_ms = ?2, file_id = NULL WHERE status = 'running' AND "
                "(owner IS NULL OR owner NOT IN (SELECT id FROM export_owners))",
                err);
    if (!s) {
        rc = store_drc(err);
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
        return store_drc(err);
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
        return store_drc(err);
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
    static const char *const STEPS[] = {
        "UPDATE export_tasks SET file_deleted = 1 "
        "WHERE file_id IS NOT NULL AND file_deleted = 0 AND expires_ms <= ?1",
        /* the chunks of no live file nor running task: expired, or strays */
        "DELETE FROM export_files WHERE file_id NOT IN (SELECT file_id FROM "
        "export_tasks WHERE file_id IS NOT NULL AND status = 'success' AND file_deleted = 0)",
        "DELETE FROM export_file_chunks WHERE file_id NOT IN (SELECT file_id "
        "FROM export_tasks WHERE file_id IS NOT NULL AND (status = 'running' OR (status = "
        "'success' AND file_deleted = 0)))",
    };
    for (size_t k = 0; k < sizeof STEPS / sizeof STEPS[0]; k++) {
        if (!(s = prepare(st, STEPS[k], err))) {
            store_rollback(st);
            return store_drc(err);
        }
        db_bind_int64(s, 1, now_ms);
        if ((rc = run_once(st, s, "expiring export files", err)) != IMGSEC_OK) {
            store_rollback(st);
            return rc;
        }
    }
    return store_commit(st, err);
}
