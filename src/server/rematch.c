/* rematch.c - see rematch.h.
 *
 * The watch runs on the clock thread only, so its state (the connection,
 * the identity and version it last saw) needs no lock. A run is a bg_job
 * of type BG_MAINT holding nothing but the rematch it belongs to; whether
 * one more can be queued is the maintenance queue's bound (one running,
 * one waiting): when bg_reserve refuses, a run is waiting already and
 * will read the database as it is then, this change included.
 *
 * The marker <db>.rematch-pending says a run is owed: made (under the
 * lock, with the change counter moved) when a change is seen, removed by
 * a run that completed with no change seen since it began. A run stopped
 * or failed, or never started, leaves it, and the next start runs again.
 *
 * On PostgreSQL nothing lies beside the database and several nodes share
 * it: the marker is the database's rematch_owed row (store_rematch_owe,
 * _owed, _paid: a generation every node moves and reads), looked at on
 * the first tick (the clock's store connection) rather than at start,
 * and a run whose store reads nothing owed does nothing (another node's
 * run that began after the change paid it). One rematch runs at a time
 * per database (vulndb_rematch_run takes the lock of store_rematch.c):
 * a run that finds another node's holds it is submitted again at the
 * next tick, and then usually finds nothing owed.
 */
#include "rematch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "bg.h"
#include "imgsec/util.h"
#include "imgsec/vulndb.h"

struct rematch {
    app *a;
    const char *path;
    /* the watch (clock thread only) */
    sqlite3 *watch;     /* NULL while the file is missing or cannot be opened */
    dev_t dev;
    ino_t ino;
    int64_t version;    /* PRAGMA data_version when last looked */
    bool open_failed;   /* logged once until it opens again */
    /* the marker (rematch.h) */
    pthread_mutex_t lock;
    int64_t changes;    /* changes seen so far */
    char marker[4200];  /* <db>.rematch-pending (SQLite) */
    int64_t pace_ms;    /* IMGSEC_REMATCH_TEST_PACE_MS: a pause before each image, for tests */
    /* PostgreSQL: the marker is the rematch_owed row */
    bool pg;
    bool first_tick;    /* look at the row (clock thread only) */
    bool retry;         /* under lock: a run found another's lock; submit again */
};

typedef struct {
    bg_job base; /* first: the pool sees this */
    rematch *r;
} rematch_job;

/* ---- the marker ---- */

/* A change seen: the counter moves and the marker exists. st: a store
 * connection of the calling thread (PostgreSQL). */
static void owed(rematch *r, store *st)
{
    if (r->pg) {
        imgsec_err e = {0};
        if (!st || store_rematch_owe(st, &e) != IMGSEC_OK)
            server_log("rematch: cannot record that a rematch is owed: %s", st ? e.msg : "no store");
        return;
    }
    pthread_mutex_lock(&r->lock);
    r->changes++;
    int fd = open(r->marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        server_log("rematch: cannot create %s: %s", r->marker, strerror(errno));
    else
        close(fd);
    pthread_mutex_unlock(&r->lock);
}

static int64_t changes_now(rematch *r)
{
    pthread_mutex_lock(&r->lock);
    int64_t n = r->changes;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* A run that began after change number seen completed: nothing is owed
 * unless a change came since. */
static void paid(rematch *r, int64_t seen)
{
    pthread_mutex_lock(&r->lock);
    if (r->changes == seen && unlink(r->marker) != 0 && errno != ENOENT)
        server_log("rematch: cannot remove %s: %s", r->marker, strerror(errno));
    pthread_mutex_unlock(&r->lock);
}

/* ---- the run ---- */

typedef struct {
    rematch *r;
    int64_t last_ns;
} run_ctx;

/* Polled by the run before each image (after the test pause, which the
 * stop cuts short). */
static bool on_stop(void *ctx)
{
    run_ctx *c = ctx;
    for (int64_t left = c->r->pace_ms; left > 0 && !bg_stopping(c->r->a->bg); left -= 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return bg_stopping(c->r->a->bg);
}

static void on_progress(void *ctx, const char *what, int64_t done, int64_t total)
{
    run_ctx *c = ctx;
    (void)what;
    int64_t now = util_mono_ns();
    if (done < total && now - c->last_ns >= (int64_t)REMATCH_PROGRESS_MS * 1000000) {
        c->last_ns = now;
        server_log("rematch: %lld of %lld images", (long long)done, (long long)total);
    }
}

static void run_job(bg_job *base, store *st)
{
    rematch *r = ((rematch_job *)base)->r;
    free(base);
    int64_t t0 = util_mono_ns(), seen = changes_now(r);
    imgsec_err err = {0};
    if (r->pg) {
        /* the owed generation before the run: paid at its end if still it */
        if (store_rematch_owed(st, &seen, &err) != IMGSEC_OK) {
            server_log("rematch: cannot read whether a rematch is owed: %s", err.msg);
            pthread_mutex_lock(&r->lock);
            r->retry = true;
            pthread_mutex_unlock(&r->lock);
            return;
        }
        if (seen == 0) {
            server_log("rematch: nothing owed: another node's run covered the change");
            return;
        }
    }
    server_log("rematch: rematching the stored images against %s", r->path);
    vulndb *db = NULL;
    vulndb_rematch_stats s = {0};
    run_ctx c = {r, t0};
    int rc = vulndb_open(r->path, false, &db, &err);
    /* matching on this worker alone: the maintenance queue's one thread */
    vulndb_rematch_opts opts = {.workers = 0, .stop = on_stop, .progress = on_progress, .ctx = &c};
    if (rc == IMGSEC_OK)
        rc = vulndb_rematch_run(db, st, &opts, &s, &err);
    vulndb_close(db);
    double secs = (double)(util_mono_ns() - t0) / 1e9;
    if (rc != IMGSEC_OK && s.busy) {
        server_log("rematch: another node is rematching this database: trying again after it");
        pthread_mutex_lock(&r->lock);
        r->retry = true;
        pthread_mutex_unlock(&r->lock);
    } else if (rc != IMGSEC_OK && s.stopped)
        server_log("rematch stopped by the server stop after %.1f s: %lld images, %lld rematched "
                   "(the next start runs it again)",
                   secs, (long long)s.images, (long long)s.rematched);
    else if (rc != IMGSEC_OK)
        server_log("rematch failed after %lld images (%lld rematched) in %.1f s: %s",
                   (long long)s.images, (long long)s.rematched, secs, err.msg);
    if (rc == IMGSEC_OK && r->pg) {
        imgsec_err e = {0};
        if (store_rematch_paid(st, seen, &e) != IMGSEC_OK)
            server_log("rematch: cannot record the rematch as done (it will run again): %s", e.msg);
    } else if (rc == IMGSEC_OK) {
        paid(r, seen);
    }
    if (rc == IMGSEC_OK) {
        server_log("rematch done in %.1f s: %lld images, %lld rematched, %lld unchanged, "
                   "%lld without purls; %lld vulnerability records, %lld versions not comparable, "
                   "%lld changed meanwhile",
                   secs, (long long)s.images, (long long)s.rematched, (long long)s.unchanged,
                   (long long)s.skipped, (long long)s.vulnerabilities, (long long)s.errors,
                   (long long)s.changed);
    }
}

/* A run that had not started when the pool stopped. */
static void cancel_job(bg_job *base, store *st)
{
    (void)st;
    free(base);
}

/* ---- the watch ---- */

static void watch_close(rematch *r)
{
    sqlite3_close(r->watch);
    r->watch = NULL;
}

/* PRAGMA data_version of the watch's connection; false when it cannot be
 * read (busy: the next look tries again). */
static bool data_version(rematch *r, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    bool ok = sqlite3_prepare_v2(r->watch, "PRAGMA data_version", -1, &s, NULL) == SQLITE_OK &&
              sqlite3_step(s) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return ok;
}

/* Opens the watch on the file now at r->path (identity sb). */
static bool watch_open(rematch *r, const struct stat *sb)
{
    watch_close(r);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        r->watch = db;
        if (data_version(r, &r->version)) {
            r->dev = sb->st_dev;
            r->ino = sb->st_ino;
            r->open_failed = false;
            return true;
        }
    } else {
        sqlite3_close(db);
    }
    if (!r->open_failed)
        server_log("rematch: cannot watch the vulnerability database %s: %s", r->path,
                   r->watch ? sqlite3_errmsg(r->watch) : sqlite3_errstr(rc));
    watch_close(r);
    r->open_failed = true;
    return false;
}

/* True when the file's content changed since the last look: another
 * file in its place, a file where there was none, or a commit. */
static bool changed(rematch *r)
{
    struct stat sb;
    if (stat(r->path, &sb) != 0) {
        if (r->watch)
            server_log("rematch: the vulnerability database %s is gone", r->path);
        watch_close(r);
        return false;
    }
    if (!r->watch || sb.st_dev != r->dev || sb.st_ino != r->ino)
        return watch_open(r, &sb);
    int64_t v;
    if (!data_version(r, &v) || v == r->version)
        return false;
    r->version = v;
    return true;
}

/* Queues a run unless one waits already (it will see this change). */
static void submit(rematch *r)
{
    rematch_job *j = NULL;
    if (!bg_reserve(r->a->bg, BG_MAINT))
        return; /* a run waits already: it will see this change */
    if (!(j = calloc(1, sizeof *j))) {
        bg_unreserve(r->a->bg, BG_MAINT);
        server_log("rematch: out of memory");
        return;
    }
    j->base = (bg_job){.type = BG_MAINT, .run = run_job, .cancel = cancel_job};
    j->r = r;
    bg_submit(r->a->bg, &j->base);
}

static void watch_tick(void *ctx, store *st)
{
    rematch *r = ctx;
    if (r->first_tick) {
        /* PostgreSQL: the marker is read here, where a store is */
        int64_t gen = 0;
        imgsec_err e = {0};
        if (!st || store_rematch_owed(st, &gen, &e) != IMGSEC_OK) {
            server_log("rematch: cannot read whether a rematch is owed (trying again): %s",
                       st ? e.msg : "no store");
        } else {
            r->first_tick = false;
            if (gen > 0) {
                server_log("rematch: the database says a rematch is owed (stopped, failed or "
                           "requested): running it");
                submit(r);
            }
        }
    }
    pthread_mutex_lock(&r->lock);
    bool again = r->retry;
    r->retry = false;
    pthread_mutex_unlock(&r->lock);
    if (again)
        submit(r);
    if (!changed(r))
        return;
    owed(r, st);
    submit(r);
}

int rematch_start(app *a, rematch **out, imgsec_err *err)
{
    *out = NULL;
    if (!a->cfg.vulndb_path)
        return IMGSEC_OK;
    rematch *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    r->a = a;
    r->path = a->cfg.vulndb_path;
    r->pg = r->first_tick = store_db_is_pg(a->cfg.db_path);
    if (!r->pg && snprintf(r->marker, sizeof r->marker, "%s.rematch-pending", a->cfg.db_path) >=
                      (int)sizeof r->marker) {
        free(r);
        return err_set(err, IMGSEC_EINVAL, "--db path too long");
    }
    pthread_mutex_init(&r->lock, NULL);
    const char *pace = getenv("IMGSEC_REMATCH_TEST_PACE_MS");
    if (pace && *pace && (!util_parse_int64(pace, &r->pace_ms) || r->pace_ms < 0))
        r->pace_ms = 0;
    /* the baseline: what is there now is not a change */
    struct stat sb;
    if (stat(r->path, &sb) != 0)
        server_log("rematch: the vulnerability database %s does not exist (yet): the stored "
                   "images are rematched once it does", r->path);
    else
        (void)watch_open(r, &sb);
    int rc = bg_every(a->bg, REMATCH_WATCH_MS, watch_tick, r, err);
    if (rc != IMGSEC_OK) {
        rematch_free(r);
        return rc;
    }
    if (!r->pg && access(r->marker, F_OK) == 0) {
        server_log("rematch: %s says a rematch is owed (stopped, failed or requested): running it",
                   r->marker);
        owed(r, NULL);
        submit(r);
    }
    *out = r;
    return IMGSEC_OK;
}

void rematch_free(rematch *r)
{
    if (!r)
        return;
    watch_close(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
