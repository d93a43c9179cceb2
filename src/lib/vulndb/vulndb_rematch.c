/* vulndb_rematch.c - recompute the vulnerability records of stored images
 * from their stored apps, without the images.
 *
 * Per image, in id order: its apps and vulnerability records are read in
 * one read transaction of the store, with the change-log position of that
 * snapshot (store_change_seq), the apps matched (vulndb_match_apps) and
 * the matches compared with the stored records (same records, same
 * order: matching is deterministic). Only when they differ are the
 * image's vulnerabilities replaced, by store_replace_vulnerabilities (up
 * to BATCH images per write transaction), which rewrites its vulnerability records,
 * counts, severity level and aggregates and appends to the change log -
 * not its other records - so a server's index and statistic move from
 * one true answer to the next, batch by batch. It writes only if the
 * image has no change-log row after the position read with its apps: a
 * scan or delete of the image between the rematch's read and its write
 * wins, and the image is counted in stats->changed (a scan made with a
 * vulnerability database carries its own matches; else the next rematch
 * does it). A rematch after an update that changed little costs reads and
 * matching, not writes.
 *
 * Threads: the image list is handed out in id order to opts->workers
 * matching workers, each with its own vulndb and store connections
 * (opened here by file name, read transactions only; each worker is a
 * draining job of a pool of its own, work.h, one queue of that many
 * workers and no waiting place), which do everything but the write
 * (checking and summarising an image's new records too: store_vul_prepare);
 * their outcomes go into a window of WINDOW slots that the calling thread
 * consumes in id order, writing through the caller's store. SQLite
 * serialises writers anyway, and one writer keeps the change log in id
 * order. A worker claims image i only when i < written + WINDOW, which
 * bounds the records held in memory (WINDOW slots and one batch). Without workers the calling thread
 * fills each slot itself just before consuming it.
 *
 * Bulk (opts->bulk, vulndb.h): the same writes, into one transaction
 * for the whole run with the indexes ordered by vulnerability dropped
 * and rebuilt at its end (store_vul_bulk_begin/end: every row of a first
 * rematch would otherwise be an insert at a random place in them). The
 * workers read as before, from snapshots taken before it began; without
 * workers the calling thread's reads go inside the write transaction
 * (reader.nested), which the calling thread alone writes, so they see
 * what they would have seen. Images are still each written whole or not
 * at all, but the run becomes visible at once, at its end.
 *
 * The store is read and written through the driver (db.h), so all of
 * this runs on SQLite and on PostgreSQL alike; there the run first takes
 * the database's rematch lock (store_rematch.c, one rematch at a time
 * across nodes) and AUTO never picks bulk (store_vul_bulk.c drops no
 * index there).
 *
 * Only images with at least one apps record carrying a purl are
 * rematched (those imgsec scan produced, or an importer that keeps
 * purls): vulnerabilities of images whose apps cannot be matched again
 * (no purl: other scanners' reports) are left as they are.
 */
#include <pthread.h>

#include "imgsec/work.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/records.h"
#include "imgsec/util.h"
#include "store/store_int.h"
#include "vulndb/vulndb_db.h"

typedef struct {
    int64_t id;
} image_ref;

/* A reader's state between read_begin and read_end. */
typedef struct {
    bool nested; /* read_begin found a transaction open (a bulk write on the
                    calling thread): the reads go inside it, read_end leaves it */
} reader;

/* A read transaction of the reader's own. The record reads inside it
 * (the handle's cached statements, records.h) are reset after each use,
 * so none holds the transaction past read_end. */
static int read_begin(store *st, reader *rd, imgsec_err *err)
{
    if ((rd->nested = db_in_transaction(st->conn))) return IMGSEC_OK;
    if (db_begin_read(st->conn, NULL) != IMGSEC_OK) return store_derr(st, err, "starting a read transaction");
    return IMGSEC_OK;
}

static void read_end(store *st, reader *rd)
{
    if (rd->nested || !db_in_transaction(st->conn)) return; /* not ours, or none open */
    db_rollback(st->conn); /* the cached statements it used are reset already */
}

typedef struct {
    const record_kind *k;
    json_t *arr;
} json_rows;

static int row_json(const store_cell *x, size_t n, void *arg)
{
    json_rows *j = arg;
    json_t *r = json_object();
    for (size_t f = 0; r && f + 2 < n && f < j->k->nfields; f++) {
        const char *name = j->k->fields[f].name;
        json_t *v = x[f].kind == CELL_INT      ? json_integer(x[f].i)
                    : x[f].kind == CELL_REAL   ? json_real(x[f].d)
                    : x[f].kind == CELL_STRING ? json_stringn(x[f].s, x[f].len)
                                               : NULL;
        if (x[f].kind != CELL_NULL && json_object_set_new(r, name, v) != 0) {
            json_decref(r);
            r = NULL;
        }
    }
    if (!r || json_array_append_new(j->arr, r) != 0) return -1;
    return 0;
}

/* The records of type t of image id, in seq order, as a new JSON array
 * (empty when the image has none or is gone); NULL with err set. */
static json_t *read_records(store *st, report_type t, int64_t id, imgsec_err *err)
{
    json_rows j = {record_kind_get(t), json_array()};
    if (!j.arr) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    int rc = store_image_records_all(st, id, t, row_json, &j, err);
    if (rc != IMGSEC_OK) {
        json_decref(j.arr);
        if (rc == -1) err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    return j.arr;
}

typedef struct {
    const record_kind *k;
    const json_t *want;
    size_t i;
} json_cmp;

enum { RECORDS_DIFFER = REC_STOP }; /* row_equal's stop, not an error */

static int row_equal(const store_cell *x, size_t n, void *arg)
{
    json_cmp *c = arg;
    const json_t *o = json_array_get(c->want, c->i++);
    if (!o) return RECORDS_DIFFER;
    size_t present = 0;
    for (size_t f = 0; f + 2 < n && f < c->k->nfields; f++) {
        const json_t *v = json_object_get(o, c->k->fields[f].name);
        bool equal;
        if (x[f].kind == CELL_NULL) {
            if (v) return RECORDS_DIFFER;
            continue;
        }
        present++;
        if (x[f].kind == CELL_INT)
            equal = json_is_integer(v) && json_integer_value(v) == x[f].i;
        else if (x[f].kind == CELL_REAL)
            equal = json_is_real(v) && json_real_value(v) == x[f].d;
        else
            equal = json_is_string(v) && json_string_length(v) == x[f].len &&
                    memcmp(json_string_value(v), x[f].s, x[f].len) == 0;
        if (!equal) return RECORDS_DIFFER;
    }
    return json_object_size(o) == present ? 0 : RECORDS_DIFFER;
}

/* Whether the records of type t of image id are exactly the objects of
 * want, in order: what json_equal says of want and read_records' array,
 * without building that array. -1 with err set on a read error. */
static int records_equal(store *st, report_type t, int64_t id, const json_t *want,
                         imgsec_err *err)
{
    json_cmp c = {record_kind_get(t), want, 0};
    int rc = store_image_records_all(st, id, t, row_equal, &c, err);
    if (rc == RECORDS_DIFFER) return 0;
    if (rc != IMGSEC_OK) return -1;
    return c.i == json_array_size(want);
}

static bool has_purl(const json_t *apps)
{
    size_t i;
    const json_t *a;
    json_array_foreach(apps, i, a) {
        const json_t *p = json_object_get(a, "purl");
        if (json_is_string(p) && json_string_length(p) > 0) return true;
    }
    return false;
}

/* Whether a bulk write suits the store (VULNDB_REMATCH_BULK_AUTO): at
 * least half of its images with apps records have no vulnerability
 * records. */
static int bulk_suits(store *st, bool *yes, imgsec_err *err)
{
    char apps[64], vuls[64], sql[512];
    store_image_col(IC_COUNT(REPORT_APPS), apps, sizeof apps);
    store_image_col(IC_COUNT(REPORT_VULNERABILITY), vuls, sizeof vuls);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(\"%s\" > 0), 0), coalesce(sum(\"%s\" > 0 AND \"%s\" = 0), 0) "
             "FROM images",
             apps, apps, vuls);
    db_stmt *s = store_dprepare(st, sql, "count images", err);
    if (!s) return store_drc(err);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        int64_t with_apps = db_column_int64(s, 0), without_vuls = db_column_int64(s, 1);
        *yes = without_vuls > 0 && 2 * without_vuls >= with_apps;
    }
    rc = rc == DB_ROW ? IMGSEC_OK : store_derr(st, err, "counting images");
    db_finalize(s);
    return rc;
}

/* The image ids of the store. */
static int list_images(store *st, image_ref **out, size_t *n, imgsec_err *err)
{
    *out = NULL;
    *n = 0;
    db_stmt *s = store_dprepare(st, "SELECT id FROM images ORDER BY id", "listing images", err);
    if (!s) return store_drc(err);
    size_t cap = 0;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            image_ref *nr = realloc(*out, cap * sizeof **out);
            if (!nr) { db_finalize(s); return err_set(err, IMGSEC_EINTERNAL, "out of memory"); }
            *out = nr;
        }
        image_ref *r = &(*out)[(*n)++];
        r->id = db_column_int64(s, 0);
    }
    rc = rc == DB_DONE ? IMGSEC_OK : store_derr(st, err, "listing images");
    db_finalize(s);
    return rc;
}

typedef enum { OUT_SKIPPED, OUT_UNCHANGED, OUT_WRITE } outcome;

/* One image's outcome, filled by whoever matched it, consumed (and
 * emptied) by the writer. */
typedef struct {
    bool ready;
    int rc;
    imgsec_err err;
    outcome what;
    int64_t vulnerabilities, errors;
    store_vul_prep *prep; /* OUT_WRITE: the new vulnerability records, checked */
    int64_t seen; /* OUT_WRITE: the change-log position they were read at */
} slot;

/* Everything but the write, for image img, with connections vdb and st. */
static void match_image(vulndb *vdb, store *st, reader *rd, const image_ref *img, slot *out)
{
    imgsec_err *err = &out->err;
    json_t *apps = NULL, *vuls = NULL;
    out->what = OUT_SKIPPED;
    /* one read transaction: the apps, then (after matching) the stored
     * vulnerabilities they are compared with */
    int rc = read_begin(st, rd, err);
    if (rc != IMGSEC_OK) goto done;
    if ((rc = store_change_seq(st, &out->seen, err)) != IMGSEC_OK) goto done;
    if (!(apps = read_records(st, REPORT_APPS, img->id, err))) {
        rc = err->code;
        goto done;
    }
    if (!has_purl(apps)) goto done; /* no purl, or gone meanwhile (no apps) */
    vulndb_match_stats ms;
    if (!(vuls = json_array())) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    rc = vulndb_match_apps(vdb, apps, NULL, NULL, vuls, NULL, &ms, err);
    if (rc != IMGSEC_OK) goto done;
    out->errors = ms.errors;
    out->vulnerabilities = (int64_t)json_array_size(vuls);
    int same = records_equal(st, REPORT_VULNERABILITY, img->id, vuls, err);
    read_end(st, rd);
    if (same < 0) {
        rc = err->code;
        goto done;
    }
    if (same) {
        /* the same records in the same order: nothing to write */
        out->what = OUT_UNCHANGED;
        goto done;
    }
    /* checked and summarised here, on the matching thread, so that the
     * writing thread only writes (store_vul_prepare); the JSON is freed here too */
    store_vul_replace r = {.vuls = vuls};
    if ((rc = store_vul_prepare(&r, "", err)) != IMGSEC_OK) goto done;
    out->prep = r.prep;
    out->what = OUT_WRITE;
done:
    read_end(st, rd);
    if (rc == IMGSEC_ENOTFOUND) rc = IMGSEC_OK, out->what = OUT_SKIPPED;
    out->rc = rc;
    json_decref(apps);
    json_decref(vuls);
}

#define WINDOW 64

typedef struct run run;
typedef struct {
    work_job job; /* first: the pool's view of the worker */
    run *r;
    vulndb *vdb;
    store *st;
    reader rd;
} worker;

struct run {
    const image_ref *imgs;
    size_t n;
    slot slots[WINDOW];
    pthread_mutex_t mu;
    pthread_cond_t claimable, ready;
    size_t next;    /* the next image a worker may claim */
    size_t written; /* images the writer consumed */
    bool quit;
};

/* A worker's job: claims and matches images until all are claimed or the
 * run quits (a draining job: it ends when the window has nothing left
 * for it, not per image). The worker is the run's, so nothing is freed. */
static void worker_main(work_job *job, store *unused)
{
    worker *w = (worker *)job;
    run *r = w->r;
    (void)unused;
    pthread_mutex_lock(&r->mu);
    while (!r->quit && r->next < r->n) {
        if (r->next >= r->written + WINDOW) {
            pthread_cond_wait(&r->claimable, &r->mu);
            continue;
        }
        size_t i = r->next++;
        pthread_mutex_unlock(&r->mu);
        slot *s = &r->slots[i % WINDOW];
        match_image(w->vdb, w->st, &w->rd, &r->imgs[i], s);
        pthread_mutex_lock(&r->mu);
        s->ready = true;
        pthread_cond_broadcast(&r->ready);
    }
    pthread_mutex_unlock(&r->mu);
}

static void slot_clear(slot *s)
{
    store_vul_prep_free(s->prep);
    memset(s, 0, sizeof *s);
}

/* The workers' connections, opened on the calling thread; 0 workers when
 * the store has no file. */
static int workers_open(vulndb *db, store *st, unsigned n, worker **out, unsigned *nout,
                        imgsec_err *err)
{
    *out = NULL;
    *nout = 0;
    const char *path = db_target(st->conn);
    if (n <= 1 || !path || !*path) return IMGSEC_OK;
    if (n > VULNDB_REMATCH_WORKERS_MAX) n = VULNDB_REMATCH_WORKERS_MAX;
    worker *w = calloc(n, sizeof *w);
    if (!w) return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    *out = w;
    for (unsigned i = 0; i < n; i++) {
        int rc = vulndb_open(db->path, false, &w[i].vdb, err);
        if (rc == IMGSEC_OK) rc = store_open(path, &w[i].st, err);
        /* a reader only: pages through a memory map, as the vulndb's */
        if (rc == IMGSEC_OK && db_backend_of(w[i].st->conn) == DB_SQLITE)
            (void)db_exec(w[i].st->conn, "PRAGMA mmap_size=1073741824", "mapping the file", NULL);
        *nout = i + 1;
        if (rc != IMGSEC_OK) return rc;
    }
    return IMGSEC_OK;
}

static void workers_close(worker *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        store_close(w[i].st);
        vulndb_close(w[i].vdb);
    }
    free(w);
}

/* The writes waiting for the next store_replace_vulnerabilities call:
 * up to BATCH images per write transaction, so that the index pages the
 * images share are written to the WAL once per batch, not per image
 * (docs/performance.md: 100 rather than 32 took a fifth less CPU and 40%
 * less wall on the benchmark's images; a transaction then holds the write lock for about a second at
 * most, well inside the busy timeout a concurrent ingest waits). The
 * progress points (every 100 images) also end a batch. */
#define BATCH 100
typedef struct {
    store_vul_replace items[BATCH];
    int64_t nvul[BATCH];
    size_t n;
} batch;

static void batch_clear(batch *b)
{
    for (size_t k = 0; k < b->n; k++) store_vul_prep_free(b->items[k].prep);
    b->n = 0;
}

static int batch_write(store *st, batch *b, vulndb_rematch_stats *stats, imgsec_err *err)
{
    /* a connection made again has lost the rematch lock: another node may
     * be rematching now */
    int rc = b->n == 0 || store_rematch_lock_held(st)
                 ? store_replace_vulnerabilities(st, b->items, b->n, err)
                 : err_set(err, IMGSEC_EUNAVAILABLE,
                           "store: the connection was lost during the rematch (its lock with it)");
    for (size_t k = 0; rc == IMGSEC_OK && k < b->n; k++) {
        if (b->items[k].skipped) {
            stats->changed++;
        } else {
            stats->rematched++;
            stats->vulnerabilities += b->nvul[k];
        }
    }
    batch_clear(b);
    return rc;
}

typedef struct {
    const vulndb_rematch_opts *opts;
} bulk_progress;

static void show_indexes(size_t done, size_t total, void *arg)
{
    const bulk_progress *bp = arg;
    bp->opts->progress(bp->opts->ctx, "indexes rebuilt", (int64_t)done, (int64_t)total);
}

static int run_locked(vulndb *db, store *st, const vulndb_rematch_opts *opts,
                      vulndb_rematch_stats *stats, imgsec_err *err)
{
    image_ref *imgs = NULL;
    size_t n = 0;
    bool bulk = opts->bulk == VULNDB_REMATCH_BULK_ALWAYS;
    int rc = store_read_begin(st, err);
    if (rc == IMGSEC_OK) {
        rc = list_images(st, &imgs, &n, err);
        /* PostgreSQL drops no index in a bulk write (store_vul_bulk.c): it
         * would only hold the write lock for the whole run */
        if (rc == IMGSEC_OK && opts->bulk == VULNDB_REMATCH_BULK_AUTO &&
            db_backend_of(st->conn) == DB_SQLITE)
            rc = bulk_suits(st, &bulk, err);
        store_rollback(st);
    }
    worker *w = NULL;
    unsigned nw = 0;
    if (rc == IMGSEC_OK) rc = workers_open(db, st, opts->workers, &w, &nw, err);
    run *r = calloc(1, sizeof *r);
    if (rc == IMGSEC_OK && !r) rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    /* after the workers' connections are open: they read the file as it
     * was before it, in snapshots of their own */
    if (rc == IMGSEC_OK && bulk && n > 0 && (rc = store_vul_bulk_begin(st, err)) == IMGSEC_OK)
        stats->bulk = true;
    if (rc != IMGSEC_OK) {
        workers_close(w, nw);
        free(r);
        free(imgs);
        return rc;
    }
    r->imgs = imgs;
    r->n = n;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->claimable, NULL);
    pthread_cond_init(&r->ready, NULL);
    /* without a pool (out of threads) the calling thread matches alone */
    work_pool *pool = NULL;
    bool threaded = false;
    if (nw > 0 &&
        work_start(&(work_opts){.queues = &(work_queue_spec){.workers = nw, .queue = 0},
                                .n_queues = 1},
                   &pool, &(imgsec_err){0}) == IMGSEC_OK)
        for (unsigned i = 0; i < nw && work_reserve(pool, 0); i++) {
            w[i].r = r;
            w[i].job = (work_job){.type = 0, .run = worker_main};
            work_submit(pool, &w[i].job);
            threaded = true;
        }
    reader rd = {0};
    batch b = {.n = 0};
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        if (opts->stop && opts->stop(opts->ctx)) {
            if ((rc = batch_write(st, &b, stats, err)) != IMGSEC_OK) break;
            stats->stopped = true;
            rc = err_set(err, VULNDB_REMATCH_STOPPED,
                         "rematch stopped on request after %zu of %zu images", i, n);
            break;
        }
        slot *s = &r->slots[i % WINDOW];
        if (threaded) {
            pthread_mutex_lock(&r->mu);
            while (!s->ready) pthread_cond_wait(&r->ready, &r->mu);
            pthread_mutex_unlock(&r->mu);
        } else {
            match_image(db, st, &rd, &imgs[i], s);
        }
        stats->images++;
        stats->errors += s->errors;
        if ((rc = s->rc) != IMGSEC_OK) {
            imgsec_err e = {0};
            batch_write(st, &b, stats, &e); /* the images before it stay done */
            *err = s->err;
        } else if (s->what == OUT_SKIPPED) {
            stats->skipped++;
        } else if (s->what == OUT_UNCHANGED) {
            stats->unchanged++;
            stats->vulnerabilities += s->vulnerabilities;
        } else {
            /* the slot is handed back below: the batch takes its records */
            b.items[b.n] = (store_vul_replace){imgs[i].id, s->seen, NULL, false, s->prep};
            b.nvul[b.n++] = s->vulnerabilities;
            s->prep = NULL;
            if (b.n == BATCH) rc = batch_write(st, &b, stats, err);
        }
        pthread_mutex_lock(&r->mu);
        slot_clear(s);
        r->written = i + 1;
        pthread_cond_broadcast(&r->claimable);
        pthread_mutex_unlock(&r->mu);
        bool report = opts->progress && (i + 1 == n || (i + 1) % 100 == 0);
        if (rc == IMGSEC_OK && (report || i + 1 == n)) rc = batch_write(st, &b, stats, err);
        if (rc == IMGSEC_OK && report)
            opts->progress(opts->ctx, "images", (int64_t)(i + 1), (int64_t)n);
    }
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_broadcast(&r->claimable);
    pthread_mutex_unlock(&r->mu);
    work_stop(pool); /* the workers' jobs end on quit; joins them */
    work_free(pool);
    if (stats->bulk) {
        /* the images done stay done, failure or stop as without bulk; if
         * the indexes or the commit fail, none of them is written */
        imgsec_err e = {0};
        bulk_progress bp = {opts};
        int brc = store_vul_bulk_end(st, opts->progress ? show_indexes : NULL, &bp, &e);
        if (brc != IMGSEC_OK) {
            stats->rematched = stats->changed = 0;
            stats->stopped = false;
            if (rc == IMGSEC_OK || rc == VULNDB_REMATCH_STOPPED) {
                rc = brc;
                *err = e;
            }
        }
    }
    for (size_t k = 0; k < WINDOW; k++) slot_clear(&r->slots[k]);
    batch_clear(&b);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->claimable);
    pthread_cond_destroy(&r->ready);
    free(r);
    workers_close(w, nw);
    free(imgs);
    return rc;
}

int vulndb_rematch_run(vulndb *db, store *st, const vulndb_rematch_opts *opts,
                       vulndb_rematch_stats *stats, imgsec_err *err)
{
    static const vulndb_rematch_opts none = {0};
    vulndb_rematch_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!opts) opts = &none;
    bool got = false;
    int rc = store_rematch_lock(st, &got, err);
    if (rc != IMGSEC_OK) return rc;
    if (!got) {
        stats->busy = true;
        return err_set(err, VULNDB_REMATCH_BUSY,
                       "another rematch of this database is running (another node or process); "
                       "nothing done");
    }
    rc = run_locked(db, st, opts, stats, err);
    store_rematch_unlock(st);
    return rc;
}

int vulndb_rematch(vulndb *db, store *st, vulndb_progress_fn progress, void *ctx,
                   vulndb_rematch_stats *stats, imgsec_err *err)
{
    vulndb_rematch_opts o = {.progress = progress, .ctx = ctx};
    return vulndb_rematch_run(db, st, &o, stats, err);
}
