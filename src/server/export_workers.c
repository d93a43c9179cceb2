/* export_workers.c - see export_workers.h. */
#include "export_workers.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/util.h"

/* Progress is published at most twice a second, as api.md tells callers. */
#define PROGRESS_PUBLISH_NS 500000000LL
#define JANITOR_MAX_MS 60000
#define JANITOR_MIN_MS 1000
#define TOKEN_PURGE_MS (3600LL * 1000) /* expired tokens go about once an hour */

struct export_workers {
    app *a;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* workers: a job or stop; janitor: stop */
    export_job *head, *tail;
    export_job *running;      /* being written, linked by next (export_workers_progress) */
    unsigned places;          /* reserved + queued */
    unsigned capacity;        /* workers + queue */
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
    pthread_t janitor;
    bool janitor_started;
    int64_t pace_ms;          /* IMGSEC_EXPORT_TEST_PACE_MS: slows tasks down, for tests */
    int64_t token_purge_ms;   /* TOKEN_PURGE_MS, or IMGSEC_TOKEN_PURGE_TEST_MS for tests */
};

bool export_workers_file_path(const export_workers *w, const char *file_id, const char *ext,
                              char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s.%s", w->a->cfg.export_dir, file_id, ext);
    return n > 0 && (size_t)n < size;
}

/* ---- running one task ---- */

typedef struct {
    export_workers *w;
    export_job *job;
    int64_t last_ns;
} run_ctx;

static bool stopping(export_workers *w)
{
    pthread_mutex_lock(&w->lock);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return s;
}

/* Sleeps ms in small steps, returning early (true) when the pool stops. */
static bool pace(export_workers *w, int64_t ms)
{
    for (int64_t left = ms; left > 0; left -= 10) {
        if (stopping(w))
            return true;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return stopping(w);
}

/* The running list: a job is on it from its start until its end is
 * committed (export_workers_progress relies on that order). */
static void running_add(export_workers *w, export_job *job)
{
    pthread_mutex_lock(&w->lock);
    job->live_progress = 0;
    job->live_records = 0;
    job->next = w->running;
    w->running = job;
    pthread_mutex_unlock(&w->lock);
}

static void running_remove(export_workers *w, export_job *job)
{
    pthread_mutex_lock(&w->lock);
    export_job **p = &w->running;
    while (*p && *p != job)
        p = &(*p)->next;
    if (*p)
        *p = job->next;
    pthread_mutex_unlock(&w->lock);
}

bool export_workers_progress(export_workers *w, const char *task_id, int *progress,
                             int64_t *record_num)
{
    pthread_mutex_lock(&w->lock);
    const export_job *job = w->running;
    while (job && strcmp(job->task.id, task_id) != 0)
        job = job->next;
    if (job) {
        *progress = job->live_progress;
        *record_num = job->live_records;
    }
    pthread_mutex_unlock(&w->lock);
    return job != NULL;
}

/* Progress is kept in memory only, not written to the store: see
 * export_workers_progress. */
static int on_progress(int64_t written, int64_t total, void *arg)
{
    run_ctx *c = arg;
    if (stopping(c->w) || (c->w->pace_ms && pace(c->w, c->w->pace_ms)))
        return 1;
    int64_t now = util_mono_ns();
    if (now - c->last_ns >= PROGRESS_PUBLISH_NS && written < total) {
        c->last_ns = now;
        pthread_mutex_lock(&c->w->lock);
        c->job->live_progress = total ? (int)(written * 100 / total) : 100;
        c->job->live_records = written;
        pthread_mutex_unlock(&c->w->lock);
    }
    return 0;
}

static void finish(store *st, store_export_task *t)
{
    imgsec_err err = {0};
    t->finished_ms = util_now_ms();
    if (store_export_task_finish(st, t, &err) != IMGSEC_OK)
        fprintf(stderr, "imgsecd: export task %s: cannot record its end: %s\n", t->id, err.msg);
}

static void run_job(export_workers *w, store *st, export_job *job)
{
    running_add(w, job);
    store_export_task *t = &job->task;
    const char *ext = export_format_name(job->fmt);
    char path[4096], part[4200];
    imgsec_err err = {0};
    int64_t written = 0;
    int rc = IMGSEC_OK;
    if (!export_workers_file_path(w, t->file_id, ext, path, sizeof path) ||
        snprintf(part, sizeof part, "%s.part", path) >= (int)sizeof part)
        rc = err_set(&err, IMGSEC_EINTERNAL, "export: --export-dir path too long");
    if (rc == IMGSEC_OK) {
        run_ctx c = {w, job, 0}; /* the first progress is published at once */
        export_writer_options opt = {
            .zip64 = t->total > 1000000, /* a file past 4 GiB needs ZIP64 */
            .tmpdir = w->a->cfg.export_dir,
        };
        rc = export_snapshot_write(job->snap, job->fmt, t->export_size, part, &opt, on_progress, &c,
                                   &written, &err);
    }
    struct stat sb;
    if (rc == IMGSEC_OK && (rename(part, path) != 0 || stat(path, &sb) != 0)) {
        rc = err_set(&err, IMGSEC_EINTERNAL, "export: cannot move the file in place: %s",
                     strerror(errno));
        unlink(part);
    }
    t->record_num = written;
    if (rc == IMGSEC_OK) {
        t->status = EXPORT_SUCCESS;
        t->progress = 100;
        t->file_size = (int64_t)sb.st_size;
        t->expires_ms = util_now_ms() + w->a->cfg.export_retention_ms;
    } else {
        t->status = EXPORT_FAILURE;
        if (stopping(w)) {
            snprintf(t->failure_reason, sizeof t->failure_reason, "%s", EXPORT_INTERRUPTED);
        } else {
            /* the details are for the operator; the caller gets the task id to quote */
            fprintf(stderr, "imgsecd: export task %s failed: %s\n", t->id, err.msg);
            snprintf(t->failure_reason, sizeof t->failure_reason,
                     "internal error while writing the file; the server log names task %s", t->id);
        }
    }
    finish(st, t);
    running_remove(w, job); /* only now: the row says how it ended */
    export_snapshot_free(job->snap);
    free(job);
}

static void fail_job(store *st, export_job *job, const char *reason)
{
    job->task.status = EXPORT_FAILURE;
    snprintf(job->task.failure_reason, sizeof job->task.failure_reason, "%s", reason);
    finish(st, &job->task);
    export_snapshot_free(job->snap);
    free(job);
}

static void *worker_main(void *arg)
{
    export_workers *w = arg;
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(w->a->cfg.db_path, &st, &err) != IMGSEC_OK)
        fprintf(stderr, "imgsecd: export worker: %s\n", err.msg);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->stopping && !w->head)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stopping) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        export_job *job = w->head;
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->lock);
        if (!st && store_open(w->a->cfg.db_path, &st, &err) != IMGSEC_OK) {
            fprintf(stderr, "imgsecd: export worker: %s\n", err.msg);
            store *pst = store_pool_acquire(w->a->pool);
            fail_job(pst, job, "the export worker could not open the database");
            store_pool_release(w->a->pool, pst);
        } else {
            run_job(w, st, job);
        }
        pthread_mutex_lock(&w->lock);
        w->places--;
        pthread_mutex_unlock(&w->lock);
    }
    store_close(st);
    return NULL;
}

/* ---- retention ---- */

static void delete_file(const char *file_id, const char *format, void *arg)
{
    export_workers *w = arg;
    char path[4096];
    if (file_id && format && export_workers_file_path(w, file_id, format, path, sizeof path) &&
        unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "imgsecd: cannot delete expired export file %s: %s\n", file_id,
                strerror(errno));
}

static void expire(export_workers *w, store *st)
{
    imgsec_err err = {0};
    int64_t n = 0;
    if (store_export_files_expire(st, util_now_ms(), delete_file, w, &n, &err) != IMGSEC_OK)
        fprintf(stderr, "imgsecd: expiring export files: %s\n", err.msg);
    else if (n)
        fprintf(stderr, "imgsecd: deleted %lld expired export files\n", (long long)n);
}

/* Deletes the expired tokens: one indexed DELETE, so cheap even hourly. */
static void purge_tokens(store *st)
{
    imgsec_err err = {0};
    int64_t n = store_token_purge(st, util_now_ms(), &err);
    if (n < 0)
        fprintf(stderr, "imgsecd: purging expired tokens: %s\n", err.msg);
    else if (n)
        fprintf(stderr, "imgsecd: deleted %lld expired tokens\n", (long long)n);
}

/* How often the janitor looks: a quarter of the retention, within bounds,
 * and at least as often as tokens are purged. */
static int64_t janitor_interval_ms(const export_workers *w)
{
    int64_t every = w->a->cfg.export_retention_ms / 4;
    if (every > w->token_purge_ms)
        every = w->token_purge_ms;
    if (every > JANITOR_MAX_MS)
        every = JANITOR_MAX_MS;
    if (every < JANITOR_MIN_MS)
        every = JANITOR_MIN_MS;
    return every;
}

static void *janitor_main(void *arg)
{
    export_workers *w = arg;
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(w->a->cfg.db_path, &st, &err) != IMGSEC_OK) {
        fprintf(stderr, "imgsecd: export janitor: %s\n", err.msg);
        return NULL;
    }
    int64_t every = janitor_interval_ms(w);
    int64_t purged_ns = util_mono_ns(); /* main purged on start */
    struct timespec next;
    clock_gettime(CLOCK_REALTIME, &next);
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        util_timespec_add_ms(&next, every);
        /* the condition also wakes workers: wait out the whole interval */
        while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &next) != ETIMEDOUT)
            ;
        if (w->stopping)
            break;
        pthread_mutex_unlock(&w->lock);
        expire(w, st);
        if (util_mono_ns() - purged_ns >= w->token_purge_ms * 1000000) {
            purge_tokens(st);
            purged_ns = util_mono_ns();
        }
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    store_close(st);
    return NULL;
}

/* ---- start and stop ---- */

/* Removes the .part files in dir: files of tasks that never finished. */
static void remove_partials(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".part") == 0 &&
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    closedir(d);
}

int export_workers_start(app *a, export_workers **out, imgsec_err *err)
{
    *out = NULL;
    const char *dir = a->cfg.export_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return err_set(err, IMGSEC_EINTERNAL, "cannot create --export-dir %s: %s", dir,
                       strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return err_set(err, IMGSEC_EINTERNAL, "--export-dir %s is not a directory", dir);

    store *st = store_pool_acquire(a->pool);
    int64_t n = 0;
    int rc = store_export_tasks_interrupt(st, EXPORT_INTERRUPTED, util_now_ms(), &n, err);
    store_pool_release(a->pool, st);
    if (rc != IMGSEC_OK)
        return rc;
    if (n)
        fprintf(stderr, "imgsecd: %lld export tasks were interrupted by the last stop: marked failed\n",
                (long long)n);
    remove_partials(dir);

    export_workers *w = calloc(1, sizeof *w);
    if (!w || !(w->threads = calloc(a->cfg.export_workers, sizeof *w->threads))) {
        free(w);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    w->a = a;
    w->capacity = a->cfg.export_workers + a->cfg.export_queue;
    const char *pace_env = getenv("IMGSEC_EXPORT_TEST_PACE_MS");
    if (pace_env && *pace_env && (!util_parse_int64(pace_env, &w->pace_ms) || w->pace_ms < 0))
        w->pace_ms = 0;
    const char *purge_env = getenv("IMGSEC_TOKEN_PURGE_TEST_MS");
    if (!purge_env || !*purge_env || !util_parse_int64(purge_env, &w->token_purge_ms) ||
        w->token_purge_ms <= 0 || w->token_purge_ms > TOKEN_PURGE_MS)
        w->token_purge_ms = TOKEN_PURGE_MS;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    st = store_pool_acquire(a->pool);
    expire(w, st);
    store_pool_release(a->pool, st);
    for (unsigned i = 0; i < a->cfg.export_workers; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
            break;
        w->nthreads++;
    }
    w->janitor_started = pthread_create(&w->janitor, NULL, janitor_main, w) == 0;
    if (w->nthreads == 0 || !w->janitor_started) {
        export_workers_stop(w);
        return err_set(err, IMGSEC_EINTERNAL, "cannot start the export threads");
    }
    *out = w;
    return IMGSEC_OK;
}

void export_workers_stop(export_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    if (w->janitor_started)
        pthread_join(w->janitor, NULL);
    /* tasks that never started */
    if (w->head) {
        store *st = store_pool_acquire(w->a->pool);
        while (w->head) {
            export_job *job = w->head;
            w->head = job->next;
            fail_job(st, job, EXPORT_INTERRUPTED);
        }
        store_pool_release(w->a->pool, st);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}

bool export_workers_reserve(export_workers *w)
{
    pthread_mutex_lock(&w->lock);
    bool ok = !w->stopping && w->places < w->capacity;
    if (ok)
        w->places++;
    pthread_mutex_unlock(&w->lock);
    return ok;
}

void export_workers_unreserve(export_workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->places--;
    pthread_mutex_unlock(&w->lock);
}

void export_workers_submit(export_workers *w, export_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}
