/* route_export.c - export tasks, their status and downloads (export.md).
 *
 *   POST /v5/{project_id}/image/security-report/export-tasks
 *   POST /v5/{project_id}/image/baseline/export?export_size=N          (risk-config)
 *   POST /v5/{project_id}/image/local-vulnerability/export?export_size=N (vulnerability,
 *                                                   image_type forced to local_image)
 *   GET  /v5/{project_id}/export-task/{task_id}
 *   GET  /v5/{project_id}/download/{file_id}
 *
 * Creating a task validates the body exactly as the statistic route does
 * (filter_from_json) plus the export keys, takes the snapshot right here
 * (so N is the statistic's answer at this moment), records the task and
 * hands the snapshot to the worker pool. A task remembers the EP scope it
 * was created with; reading its status or file needs a grant covering that
 * scope. A task or file of another project is simply not found (404).
 * Downloads are streamed by libmicrohttpd from this server's own copy of
 * the file (a file descriptor) when it has one, else from the database,
 * chunk by chunk (store_exports.h "files"): any server serves any file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_log.h"
#include "authn.h"
#include "export_workers.h"
#include "imgsec/export.h"
#include "imgsec/filter.h"
#include "imgsec/store_exports.h"
#include "imgsec/util.h"
#include "request_body.h"
#include "routes.h"

typedef enum { KIND_TASKS, KIND_BASELINE, KIND_LOCAL_VUL } create_kind;

typedef struct {
    int64_t query_export_size; /* baseline / local-vulnerability routes */
} export_state;

/* ---- creating ---- */

/* The baseline and local-vulnerability routes: export_size in the query.
 * (Scope and role: the gate, gate.h.) */
bool export_sized_prepare(request *req)
{
    export_state *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_internal(req, "out of memory");
        return false;
    }
    req->state = s;
    req->state_free = free;
    const char *v = http_query(req, "export_size");
    if (!v || !*v || !util_parse_int64(v, &s->query_export_size) ||
        s->query_export_size < EXPORT_SIZE_MIN || s->query_export_size > EXPORT_SIZE_MAX) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: export_size is required and must be an integer "
                         "from %d to %d",
                         EXPORT_SIZE_MIN, EXPORT_SIZE_MAX);
        return false;
    }
    return true;
}

/* The export keys of a body (export.md); null counts as absent. */
static int read_export_keys(const json_t *body, create_kind kind, int *report, int64_t *size,
                            int *fmt, imgsec_err *err)
{
    const json_t *v;
    if (kind == KIND_TASKS) {
        v = json_object_get(body, "security_report_type");
        if (!v || json_is_null(v))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: security_report_type is required");
        if (!json_is_string(v) || (*report = report_type_parse(json_string_value(v))) < 0)
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: security_report_type must be one of %s",
                           report_type_choices());
        v = json_object_get(body, "export_size");
        if (!v || json_is_null(v))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: export_size is required");
        if (!json_is_integer(v) || json_integer_value(v) < EXPORT_SIZE_MIN ||
            json_integer_value(v) > EXPORT_SIZE_MAX)
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: export_size must be an integer from %d to %d",
                           EXPORT_SIZE_MIN, EXPORT_SIZE_MAX);
        *size = json_integer_value(v);
    } else {
        *report = kind == KIND_BASELINE ? REPORT_RISK_CONFIG : REPORT_VULNERABILITY;
    }
    *fmt = EXPORT_XLSX;
    v = json_object_get(body, "file_format");
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || (*fmt = export_format_parse(json_string_value(v))) < 0))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: file_format must be one of xlsx, csv");
    return IMGSEC_OK;
}

/* "*" for every EP, else the scope's EPs joined by commas. */
static void scope_text(const ep_scope *s, char *buf, size_t size)
{
    if (s->ix.all_eps) {
        snprintf(buf, size, "*");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->ix.n_eps; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", s->ix.eps[i]);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

/* report-20261128T201500Z.ext */
static void make_file_name(report_type r, int64_t ms, export_format fmt, char *buf, size_t size)
{
    char iso[UTIL_ISO_TIME_MAX];
    util_iso_time(ms, iso); /* 2026-11-28T20:15:00.000000Z */
    char compact[24];
    size_t k = 0;
    for (size_t i = 0; iso[i] && iso[i] != '.' && k + 1 < sizeof compact; i++)
        if (iso[i] != '-' && iso[i] != ':')
            compact[k++] = iso[i];
    compact[k] = '\0';
    snprintf(buf, size, "%s-%sZ.%s", report_type_name(r), compact, export_format_name(fmt));
}

static void create_handle(request *req, create_kind kind)
{
    const export_state *s = req->state;
    const ep_scope *scope = req->scope;
    app *a = req->app;
    imgsec_err err = {0};
    json_t *body = request_body_object(req, &err);
    if (!body)
        return http_reply_err(req, &err);
    int report = 0, fmt = 0;
    int64_t size = s ? s->query_export_size : 0;
    stat_query q;
    int rc = read_export_keys(body, kind, &report, &size, &fmt, &err);
    if (rc == IMGSEC_OK)
        rc = filter_from_json(body, &q, &err);
    if (rc != IMGSEC_OK) {
        json_decref(body);
        return http_reply_err(req, &err);
    }
    q.report = (report_type)report;
    if (kind == KIND_LOCAL_VUL)
        q.image_type = IMAGE_TYPE_LOCAL;

    if (!export_workers_reserve(a->exports)) {
        filter_free(&q);
        json_decref(body);
        http_add_header(req, "Retry-After", "10");
        return http_reply_error(req, 429, "APIGW.0308",
                                "too many export tasks are running or waiting; retry later");
    }
    export_snapshot *snap = NULL;
    rc = export_snapshot_take(a->follow, a->ix, a->cfg.db_path, &scope->ix, &q, &snap, &err);
    filter_free(&q);
    export_job *job = rc == IMGSEC_OK ? calloc(1, sizeof *job) : NULL;
    if (rc == IMGSEC_OK && !job)
        rc = err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    char *request_text = rc == IMGSEC_OK ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    int64_t n = rc == IMGSEC_OK ? export_snapshot_total(snap) : 0;
    if (rc == IMGSEC_OK) {
        store_export_task *t = &job->task;
        util_random_hex(t->id, STORE_EXPORT_ID_HEX / 2);
        util_random_hex(t->file_id, STORE_EXPORT_ID_HEX / 2);
        snprintf(t->project_id, sizeof t->project_id, "%s", scope->ix.project_id);
        scope_text(scope, t->eps, sizeof t->eps);
        t->user_id = req->principal.user.id;
        t->report = (report_type)report;
        t->export_size = size;
        snprintf(t->file_format, sizeof t->file_format, "%s", export_format_name((export_format)fmt));
        t->status = EXPORT_RUNNING;
        t->total = n < size ? n : size;
        t->created_ms = util_now_ms();
        make_file_name(t->report, t->created_ms, (export_format)fmt, t->file_name,
                       sizeof t->file_name);
        job->fmt = (export_format)fmt;
        job->snap = snap;
        store_export_owner owner;
        export_workers_owner(a->exports, &owner);
        store *st = store_pool_acquire(a->pool);
        rc = store_export_task_insert(st, t, request_text, &owner, &err);
        store_pool_release(a->pool, st);
    }
    free(request_text);
    if (rc != IMGSEC_OK) {
        export_snapshot_free(snap);
        free(job);
        export_workers_unreserve(a->exports);
        return http_reply_err(req, &err);
    }
    char task_id[STORE_EXPORT_ID_HEX + 1];
    memcpy(task_id, job->task.id, sizeof task_id);
    export_workers_submit(a->exports, job); /* job belongs to the pool now */
    if (kind == KIND_TASKS)
        http_reply_json(req, 200, json_pack("{s:s}", "task_id", task_id));
    else
        http_reply_json(req, 200, json_pack("{s:I, s:s}", "record_total_num", (json_int_t)n,
                                            "task_id", task_id));
}

void export_tasks_handle(request *req)
{
    create_handle(req, KIND_TASKS);
}

void export_baseline_handle(request *req)
{
    create_handle(req, KIND_BASELINE);
}

void export_local_vul_handle(request *req)
{
    create_handle(req, KIND_LOCAL_VUL);
}

/* ---- reading ---- */

/* The task's own scope decides (load_task). A given enterprise_project_id
 * is still checked as on every route (the gate's SCOPE_CHECKED), but a
 * missing one does not stand for the default EP "0" here: that would
 * refuse a caller granted only the EPs the task was created in, polling
 * the URL the task came from. */

/* Does the caller's grant cover every EP of the task's scope? */
static bool covers_task(const store_grant *g, const store_export_task *t)
{
    if (strcmp(t->eps, "*") == 0)
        return g->eps_all || g->role == ROLE_ADMIN;
    char buf[STORE_EPS_MAX + 1];
    snprintf(buf, sizeof buf, "%s", t->eps);
    char *save = NULL;
    for (char *ep = strtok_r(buf, ",", &save); ep; ep = strtok_r(NULL, ",", &save))
        if (!store_grant_covers_ep(g, ep))
            return false;
    return true;
}

/* Task and file ids are 32 lower-case hex digits; anything else is not found. */
static bool export_id_ok(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
            return false;
    return n == STORE_EXPORT_ID_HEX;
}

/* The task (or file) row for the path's id, or a reply. */
static bool load_task(request *req, bool by_file, store_export_task *t)
{
    imgsec_err err = {0};
    const char *id = req->params[1];
    const char *what = by_file ? "file" : "export task";
    if (!export_id_ok(id)) {
        err_set(&err, IMGSEC_ENOTFOUND, "%s does not exist in this project", what);
        http_reply_err(req, &err);
        return false;
    }
    store *st = store_pool_acquire(req->app->pool);
    int rc = by_file ? store_export_file_get(st, req->principal.grant.project_id, id,
                                             util_now_ms(), t, &err)
                     : store_export_task_get(st, req->principal.grant.project_id, id, t, &err);
    store_pool_release(req->app->pool, st);
    if (rc != IMGSEC_OK) {
        http_reply_err(req, &err);
        return false;
    }
    if (!covers_task(&req->principal.grant, t)) {
        http_reply_error(req, 403, "HSS.0013",
                         "the caller holds no grant on the enterprise projects of this %s", what);
        return false;
    }
    return true;
}

void export_task_status_handle(request *req)
{
    /* A running task's progress lives in the worker pool, not in its row.
     * Asked before the row is read, so that a task ending in between is
     * read ended from its row rather than running at the row's 0%. */
    int live_progress = 0;
    int64_t live_records = 0;
    bool live = export_id_ok(req->params[1]) &&
                export_workers_progress(req->app->exports, req->params[1], &live_progress,
                                        &live_records);
    store_export_task t;
    if (!load_task(req, false, &t))
        return;
    if (live && t.status == EXPORT_RUNNING) {
        t.progress = live_progress;
        t.record_num = live_records;
    }
    bool ok = t.status == EXPORT_SUCCESS;
    char name[64];
    char iso[UTIL_ISO_TIME_MAX];
    util_iso_time(t.created_ms, iso);
    snprintf(name, sizeof name, "export %s %.19sZ", report_type_name(t.report), iso);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s}", "task_id", t.id,
                          "task_name", name, "task_status", export_status_name(t.status),
                          "file_id", ok ? t.file_id : "", "file_name", ok ? t.file_name : "",
                          "progress", ok ? 100 : t.progress, "record_num", (json_int_t)t.record_num,
                          "failure_reason", t.status == EXPORT_FAILURE ? t.failure_reason : "");
    http_reply_json(req, 200, o);
}

/* A download streamed from the database, one chunk in memory at a time
 * (store_exports.h "files"): each chunk is read on a store connection
 * taken from the pool for that read only. */
typedef struct {
    app *a;
    char file_id[STORE_EXPORT_ID_HEX + 1];
    int64_t size, next_seq;
    unsigned char *buf;
    size_t len, off;
} db_download;

static ssize_t db_download_read(void *cls, uint64_t pos, char *out, size_t max)
{
    db_download *d = cls;
    if (pos >= (uint64_t)d->size)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (d->off == d->len) {
        store *st = store_pool_acquire(d->a->pool);
        imgsec_err err = {0};
        int rc = store_export_chunk_get(st, d->file_id, d->next_seq, d->buf,
                                        STORE_EXPORT_CHUNK_BYTES, &d->len, &err);
        store_pool_release(d->a->pool, st);
        if (rc != IMGSEC_OK || d->len == 0) {
            /* deleted by retention mid-way, or the database is gone: the
             * client sees a cut body (its length is announced) */
            server_log("download of export file %s cut at byte %llu: %s", d->file_id,
                       (unsigned long long)pos, rc != IMGSEC_OK ? err.msg : "an empty chunk");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        d->next_seq++;
        d->off = 0;
    }
    size_t n = d->len - d->off < max ? d->len - d->off : max;
    memcpy(out, d->buf + d->off, n);
    d->off += n;
    return (ssize_t)n;
}

static void db_download_free(void *cls)
{
    db_download *d = cls;
    if (d)
        free(d->buf);
    free(d);
}

void export_download_handle(request *req)
{
    store_export_task t;
    if (!load_task(req, true, &t))
        return;
    export_format fmt = (export_format)export_format_parse(t.file_format);
    char disposition[STORE_EXPORT_FILE_NAME_MAX + 64];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", t.file_name);
    /* this server's own copy when it has it whole, else the database's */
    char path[4096];
    int fd = -1;
    struct stat sb;
    if ((int)fmt >= 0 &&
        export_workers_file_path(req->app->exports, t.file_id, t.file_format, path, sizeof path))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &sb) != 0 || (t.file_in_db && sb.st_size != t.file_size))) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        if (!http_reply_fd(req, 200, fd, (size_t)sb.st_size, export_format_mime(fmt), disposition))
            http_reply_internal(req, "cannot create the download response");
        return;
    }
    if ((int)fmt < 0 || !t.file_in_db) {
        imgsec_err err;
        err_set(&err, IMGSEC_ENOTFOUND, "file does not exist in this project");
        return http_reply_err(req, &err);
    }
    db_download *d = calloc(1, sizeof *d);
    if (d)
        d->buf = malloc(STORE_EXPORT_CHUNK_BYTES);
    if (!d || !d->buf) {
        db_download_free(d);
        return http_reply_internal(req, "out of memory for a download");
    }
    d->a = req->app;
    snprintf(d->file_id, sizeof d->file_id, "%s", t.file_id);
    d->size = t.file_size;
    if (!http_reply_stream(req, 200, (uint64_t)t.file_size, db_download_read, db_download_free, d,
                           export_format_mime(fmt), disposition))
        http_reply_internal(req, "cannot create the download response");
}
