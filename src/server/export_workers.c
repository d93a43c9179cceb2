/* export_workers.c - see export_workers.h.
 *
 * The queue, the workers and their store connections, the stop and the
 * clock are the background pool's (bg.h); this file is what is particular
 * to exports: a job's run (write the file, record its end) and cancel
 * (record the interruption), the running list that the status route reads
 * progress from, the owner and its lease, recovery and retention (the
 * janitor, one tick of the pool's clock).
 */
#include "export_workers.h"

#include "access_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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

struct export_workers {
    app *a;
    bg *bg;                   /* a->bg: the queue, workers and clock */
    pthread_mutex_t lock;     /* the running list and its progress */
    export_job *running;      /* being written, linked by next (export_workers_progress) */
    int64_t pace_ms;          /* IMGSEC_EXPORT_TEST_PACE_MS: slows tasks down, for tests */
    store_export_owner owner; /* this server; lease_ms unused (see export_workers_owner) */
    int64_t lease_ms;         /* EXPORT_LEASE_MS, or IMGSEC_EXPORT_TEST_LEASE_MS */
};

bool export_workers_file_path(const export_workers *w, const char *file_id, const char *ext,
                              char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s.%s", w->a->cfg.export_dir, file_id, ext);
    return n > 0 && (size_t)n < size;
}

typedef struct {
    export_workers *w;
    store *st;
    int64_t n;
} adopt_ctx;

/* ---- running one task ---- */

typedef struct {
    export_workers *w;
    export_job *job;
    int64_t last_ns;
} run_ctx;

static bool stopping(export_workers *w)
{
    return bg_stopping(w->bg);
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

/* Records the end of t. false when the task was no longer ours: another
 * server took this one for gone and failed it (its row says so). */
static bool finish(store *st, store_export_task *t)
{
    imgsec_err err = {0};
    t->finished_ms = util_now_ms();
    int rc = store_export_task_finish(st, t, &err);
    if (rc != IMGSEC_OK)
        server_log("export task %s: cannot record its end: %s", t->id, err.msg);
    return rc != IMGSEC_ENOTFOUND;
}

/* Makes the export directory again if it is gone (deleted while the
 * server runs), 0700 whatever the umask. */
static int dir_ensure(const char *dir, imgsec_err *err)
{
    if (mkdir(dir, 0700) == 0) {
        if (chmod(dir, 0700) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "cannot set the mode of --export-dir %s: %s",
                           dir, strerror(errno));
        return IMGSEC_OK;
    }
    if (errno != EEXIST)
        return err_set(err, errno == ENOSPC || errno == EDQUOT ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                       "cannot create --export-dir %s: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return err_set(err, IMGSEC_EINTERNAL, "--export-dir %s is not a directory", dir);
    return IMGSEC_OK;
}

/* bg_job.run: writes the file and records how the task ended. */
static void run_job(bg_job *base, store *st)
{
    export_job *job = (export_job *)base;
    export_workers *w = job->w;
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
    else
        rc = dir_ensure(w->a->cfg.export_dir, &err);
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
    /* into the database, where every server finds it; whole or not at all
     * (finish checks the chunks in the transaction of the success) */
    if (rc == IMGSEC_OK) {
        int64_t stored = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            rc = err_set(&err, IMGSEC_EINTERNAL, "export: cannot read the file back: %s",
                         strerror(errno));
        else
            rc = store_export_file_put(st, t->file_id, fd, &stored, &err);
        if (fd >= 0)
            close(fd);
        if (rc == IMGSEC_OK && stored != (int64_t)sb.st_size)
            rc = err_set(&err, IMGSEC_EINTERNAL, "export: the file changed while it was stored");
        if (rc != IMGSEC_OK)
            unlink(path);
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
            server_log("export task %s failed: %s", t->id, err.msg);
            snprintf(t->failure_reason, sizeof t->failure_reason,
                     "%s while writing the file; the server log names task %s",
                     err.code == IMGSEC_ENOSPACE ? "storage is full" : "internal error", t->id);
        }
    }
    if (!finish(st, t) && rc == IMGSEC_OK)
        unlink(path); /* not ours any more: no file without its success row */
    running_remove(w, job); /* only now: the row says how it ended */
    export_snapshot_free(job->snap);
    free(job);
}

/* bg_job.cancel: a task that had not started when the pool stopped. */
static void cancel_job(bg_job *base, store *st)
{
    export_job *job = (export_job *)base;
    job->task.status = EXPORT_FAILURE;
    snprintf(job->task.failure_reason, sizeof job->task.failure_reason, "%s", EXPORT_INTERRUPTED);
    (void)finish(st, &job->task);
    export_snapshot_free(job->snap);
    free(job);
}

/* ---- owners and recovery ---- */

void export_workers_owner(export_workers *w, store_export_owner *out)
{
    *out = w->owner;
    out->lease_ms = util_now_ms() + w->lease_ms;
}

/* Where a pid names the same process: this host, this boot, this pid
 * namespace (containers on one host share the boot id, not the pid
 * namespace). "" when any part is unknown: then only leases decide. */
static void node_identity(char *out, size_t size)
{
    char host[256] = "", boot[64] = "", ns[64] = "";
    out[0] = '\0';
    if (gethostname(host, sizeof host - 1) != 0 || !*host)
        return;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    bool ok = fgets(boot, sizeof boot, f) != NULL;
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (!ok || !*boot || n <= 0)
        return;
    ns[n] = '\0';
    snprintf(out, size, "%s %s %s", host, boot, ns);
}

/* store_export_owner_gone_fn: the lease ran out, or the owner is a
 * process of this node that no longer exists (a crash and restart is so
 * recovered at once; a live process keeps its tasks whatever its lease,
 * and a pid taken by another process only delays recovery to the lease's
 * end). Never this server itself. */
static bool owner_gone(const store_export_owner *o, int64_t now_ms, void *arg)
{
    const export_workers *w = arg;
    if (strcmp(o->id, w->owner.id) == 0)
        return false;
    if (o->lease_ms <= now_ms)
        return true;
    return *w->owner.node && strcmp(o->node, w->owner.node) == 0 && o->pid > 0 &&
           o->pid != w->owner.pid && kill((pid_t)o->pid, 0) != 0 && errno == ESRCH;
}

/* Removes the .part files in dir whose task is not running (any more):
 * a live task's partial file, this server's or another's, is kept. */
static void remove_partials(store *st, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096], file_id[STORE_EXPORT_ID_HEX + 1];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || strcmp(e->d_name + n - 5, ".part") != 0 ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        size_t idlen = strcspn(e->d_name, ".");
        bool running = false;
        imgsec_err err = {0};
        if (idlen == STORE_EXPORT_ID_HEX) {
            memcpy(file_id, e->d_name, idlen);
            file_id[idlen] = '\0';
            if (store_export_file_running(st, file_id, &running, &err) != IMGSEC_OK) {
                server_log("export recovery: %s", err.msg);
                continue; /* keep what cannot be checked */
            }
        }
        if (!running)
            unlink(path);
    }
    closedir(d);
}

/* Fails the tasks of gone owners and removes their partial files, then
 * logs (so a reader of the log sees the files gone too). at_start words
 * the log line for a start. */
static int recover(export_workers *w, store *st, bool at_start, imgsec_err *err)
{
    int64_t n = 0;
    int rc = store_export_tasks_recover(st, EXPORT_INTERRUPTED, util_now_ms(), owner_gone, w, &n,
                                        err);
    if (rc != IMGSEC_OK)
        return rc;
    if (n || at_start)
        remove_partials(st, w->a->cfg.export_dir);
    /* logged last: the line announces a recovery that is over, files too */
    if (n)
        server_log("%lld export tasks were interrupted by %s: marked failed, partial files removed",
                   (long long)n, at_start ? "the last stop" : "the stop of their server");
    return IMGSEC_OK;
}

/* The janitor's renewal: while this server has tasks (a quarter lease
 * apart), so an idle server commits nothing (every commit empties the
 * caches keyed on the file's generation). */
static void renew(export_workers *w, store *st)
{
    store_export_owner o;
    export_workers_owner(w, &o);
    imgsec_err err = {0};
    if (store_export_owner_renew(st, &o, &err) != IMGSEC_OK)
        server_log("renewing the export lease: %s", err.msg);
}

/* ---- retention ---- */

static void delete_file(const char *file_id, const char *format, void *arg)
{
    export_workers *w = arg;
    char path[4096];
    if (file_id && format && export_workers_file_path(w, file_id, format, path, sizeof path) &&
        unlink(path) != 0 && errno != ENOENT)
        server_log("cannot delete expired export file %s: %s", file_id,
                strerror(errno));
}

static void expire(export_workers *w, store *st)
{
    imgsec_err err = {0};
    int64_t n = 0;
    if (store_export_files_expire(st, util_now_ms(), delete_file, w, &n, &err) != IMGSEC_OK)
        server_log("expiring export files: %s", err.msg);
    else if (n)
        server_log("deleted %lld expired export files", (long long)n);
}

/* How often the janitor looks: a quarter of the retention, within bounds,
 * and always four times a lease (a short test lease goes below the lower
 * bound). */
static int64_t janitor_interval_ms(const export_workers *w)
{
    int64_t every = w->a->cfg.export_retention_ms / 4;
    if (every > JANITOR_MAX_MS)
        every = JANITOR_MAX_MS;
    if (every < JANITOR_MIN_MS)
        every = JANITOR_MIN_MS;
    if (every > w->lease_ms / 4)
        every = w->lease_ms / 4;
    return every;
}

/* The janitor: a tick of the pool's clock, on the clock's connection. */
static void janitor_tick(void *arg, store *st)
{
    export_workers *w = arg;
    imgsec_err err = {0};
    if (bg_places(w->bg, BG_EXPORT) > 0)
        renew(w, st);
    if (recover(w, st, false, &err) != IMGSEC_OK)
        server_log("export recovery: %s", err.msg);
    expire(w, st);
}

/* ---- files made before schema 12 ---- */

/* One file of the export directory into the database (the local copy
 * stays, as every server's own files do); a file that is gone is marked
 * so (it could not be served anyway). */
static void adopt_one(const char *file_id, const char *format, int64_t size, void *arg)
{
    adopt_ctx *c = arg;
    char path[4096];
    imgsec_err err = {0};
    if (!export_workers_file_path(c->w, file_id, format, path, sizeof path))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;
    if (fd < 0 && errno == ENOENT) {
        if ((rc = store_export_file_lost(c->st, file_id, &err)) == IMGSEC_OK)
            server_log("export file %s was missing from --export-dir: marked deleted", file_id);
        else
            server_log("export file %s: %s", file_id, err.msg);
        return;
    } else if (fd < 0) {
        rc = err_set(&err, IMGSEC_EINTERNAL, "cannot open %s: %s", path, strerror(errno));
    } else {
        int64_t stored = 0;
        rc = store_export_file_put(c->st, file_id, fd, &stored, &err);
        if (rc == IMGSEC_OK && stored != size)
            rc = err_set(&err, IMGSEC_EINTERNAL, "%s holds %lld bytes, its task %lld", path,
                         (long long)stored, (long long)size);
        if (rc == IMGSEC_OK)
            rc = store_export_file_adopt(c->st, file_id, &err);
        close(fd);
    }
    if (rc == IMGSEC_OK)
        c->n++;
    else
        server_log("moving export file %s into the database: %s (served from --export-dir)",
                   file_id, err.msg);
}

static void adopt_files(export_workers *w, store *st)
{
    adopt_ctx c = {w, st, 0};
    imgsec_err err = {0};
    if (store_export_files_on_disk(st, util_now_ms(), adopt_one, &c, &err) != IMGSEC_OK)
        server_log("moving export files into the database: %s", err.msg);
    else if (c.n)
        server_log("moved %lld export files into the database", (long long)c.n);
}

/* ---- start and stop ---- */

int export_workers_start(app *a, export_workers **out, imgsec_err *err)
{
    *out = NULL;
    int rc = dir_ensure(a->cfg.export_dir, err);
    if (rc != IMGSEC_OK)
        return rc;

    export_workers *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    w->a = a;
    w->bg = a->bg;
    util_random_hex(w->owner.id, STORE_EXPORT_ID_HEX / 2);
    const char *node_env = getenv("IMGSEC_EXPORT_TEST_NODE"); /* another machine, for tests */
    if (node_env && *node_env)
        snprintf(w->owner.node, sizeof w->owner.node, "%s", node_env);
    else
        node_identity(w->owner.node, sizeof w->owner.node);
    w->owner.pid = (int64_t)getpid();
    w->owner.started_ms = util_now_ms();
    const char *lease_env = getenv("IMGSEC_EXPORT_TEST_LEASE_MS");
    if (!lease_env || !*lease_env || !util_parse_int64(lease_env, &w->lease_ms) ||
        w->lease_ms < 400 || w->lease_ms > EXPORT_LEASE_MS)
        w->lease_ms = EXPORT_LEASE_MS;
    const char *pace_env = getenv("IMGSEC_EXPORT_TEST_PACE_MS");
    if (pace_env && *pace_env && (!util_parse_int64(pace_env, &w->pace_ms) || w->pace_ms < 0))
        w->pace_ms = 0;
    pthread_mutex_init(&w->lock, NULL);
    /* this server first, so that it is never taken for gone; then the others */
    store *st = store_pool_acquire(a->pool);
    store_export_owner o;
    export_workers_owner(w, &o);
    rc = store_export_owner_renew(st, &o, err);
    if (rc == IMGSEC_OK)
        rc = recover(w, st, true, err);
    if (rc == IMGSEC_OK) {
        expire(w, st);
        adopt_files(w, st);
    }
    store_pool_release(a->pool, st);
    /* last: once on the clock, w is the clock's until bg_stop */
    if (rc == IMGSEC_OK)
        rc = bg_every(w->bg, janitor_interval_ms(w), janitor_tick, w, err);
    if (rc != IMGSEC_OK) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rc;
    }
    *out = w;
    return IMGSEC_OK;
}

void export_workers_stop(export_workers *w)
{
    if (!w)
        return;
    /* bg_stop ended every task of ours: give the lease up */
    store *st = store_pool_acquire(w->a->pool);
    imgsec_err err = {0};
    if (store_export_owner_remove(st, w->owner.id, &err) != IMGSEC_OK)
        server_log("giving the export lease up: %s", err.msg);
    store_pool_release(w->a->pool, st);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

bool export_workers_reserve(export_workers *w)
{
    return bg_reserve(w->bg, BG_EXPORT);
}

void export_workers_unreserve(export_workers *w)
{
    bg_unreserve(w->bg, BG_EXPORT);
}

void export_workers_submit(export_workers *w, export_job *job)
{
    job->base = (bg_job){.type = BG_EXPORT, .run = run_job, .cancel = cancel_job};
    job->w = w;
    bg_submit(w->bg, &job->base);
}
