/* export_snapshot.c - take a snapshot and write it out (see imgsec/export.h).
 *
 * The snapshot owns its store connection (with the read transaction open
 * from take to free), a copy of the record filters, and the selection as
 * two arrays (image ids in id order, and each image's matching record
 * count): 16 bytes per selected image, the only memory that grows with
 * the size of an export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/export.h"
#include "imgsec/store_exports.h"

struct export_snapshot {
    store *st;
    bool in_txn;
    store_record_filter filter;
    int64_t *ids, *counts;
    size_t n, cap;
    int64_t total;
};

typedef struct {
    export_snapshot *s;
    imgsec_index *ix;
    const index_scope *scope;
    const stat_query *q;
    imgsec_err *err;
} take_ctx;

/* index_select's callback: appends one selected image. arg is the
 * take_ctx, so a failure is reported in its err right here; index_select
 * passes the code back as it is. */
static int collect(int64_t image_id, int64_t records, void *arg)
{
    take_ctx *c = arg;
    export_snapshot *s = c->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        int64_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (ids)
            s->ids = ids;
        int64_t *counts = ids ? realloc(s->counts, cap * sizeof *counts) : NULL;
        if (!ids || !counts)
            return err_set(c->err, IMGSEC_EINTERNAL, "out of memory");
        s->counts = counts;
        s->cap = cap;
    }
    s->ids[s->n] = image_id;
    s->counts[s->n] = records;
    s->n++;
    s->total += records;
    return IMGSEC_OK;
}

static int select_under_hold(int64_t position, void *arg)
{
    (void)position;
    take_ctx *c = arg;
    c->s->n = 0;
    c->s->total = 0;
    return index_select(c->ix, c->scope, c->q, collect, c, c->err);
}

int export_snapshot_take(follower *f, imgsec_index *ix, const char *db_path,
                         const index_scope *scope, const stat_query *q, export_snapshot **out,
                         imgsec_err *err)
{
    *out = NULL;
    export_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    int rc = store_record_filter_init(&s->filter, q, err);
    if (rc != IMGSEC_OK) {
        free(s);
        return rc;
    }
    if ((rc = store_open(db_path, &s->st, err)) == IMGSEC_OK) {
        take_ctx c = {s, ix, scope, q, err};
        rc = follower_with_snapshot(f, s->st, select_under_hold, &c, err);
        s->in_txn = rc == IMGSEC_OK;
    }
    if (rc != IMGSEC_OK) {
        export_snapshot_free(s);
        return rc;
    }
    *out = s;
    return IMGSEC_OK;
}

int64_t export_snapshot_total(const export_snapshot *s)
{
    return s->total;
}

void export_snapshot_free(export_snapshot *s)
{
    if (!s)
        return;
    if (s->st) {
        if (s->in_txn)
            store_snapshot_end(s->st);
        store_close(s->st);
    }
    store_record_filter_free(&s->filter);
    free(s->ids);
    free(s->counts);
    free(s);
}

/* ---- writing ---- */

typedef struct {
    export_writer *w;
    imgsec_err *err;
    int64_t written, total;
    export_progress_fn progress;
    void *arg;
} write_ctx;

static int write_row(const store_cell *cells, size_t n, void *arg)
{
    write_ctx *c = arg;
    int rc = export_writer_row(c->w, cells, n, c->err);
    if (rc != IMGSEC_OK)
        return rc;
    c->written++;
    if (c->progress && c->written % EXPORT_PROGRESS_EVERY == 0 &&
        c->progress(c->written, c->total, c->arg) != 0)
        return err_set(c->err, IMGSEC_EINTERNAL, "export cancelled");
    return IMGSEC_OK;
}

int export_snapshot_write(export_snapshot *s, export_format fmt, int64_t limit, const char *path,
                          const export_writer_options *opt, export_progress_fn progress,
                          void *arg, int64_t *written, imgsec_err *err)
{
    *written = 0;
    if (!s->in_txn)
        return err_set(err, IMGSEC_EINTERNAL, "export: the snapshot was already written");
    if (limit < 0)
        limit = 0;
    const record_kind *k = record_kind_get(s->filter.report);
    size_t ncols = STORE_EXPORT_IMAGE_COLS + k->nfields;
    const char **header = calloc(ncols, sizeof *header);
    if (!header)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; i < STORE_EXPORT_IMAGE_COLS; i++)
        header[i] = STORE_EXPORT_IMAGE_COL_NAMES[i];
    for (size_t i = 0; i < k->nfields; i++)
        header[STORE_EXPORT_IMAGE_COLS + i] = k->fields[i].name;

    write_ctx c = {.err = err, .total = limit < s->total ? limit : s->total,
                   .progress = progress, .arg = arg};
    int rc = export_writer_open(fmt, path, k->name, header, ncols, opt, &c.w, err);
    if (rc == IMGSEC_OK) {
        rc = store_records_walk(s->st, &s->filter, s->ids, s->counts, s->n, limit, write_row, &c,
                                err);
        if (rc == IMGSEC_OK && c.written != c.total)
            rc = err_set(err, IMGSEC_EINTERNAL,
                         "export: the snapshot held %lld records, %lld were expected",
                         (long long)c.written, (long long)c.total);
        if (rc == IMGSEC_OK)
            rc = export_writer_close(c.w, err);
        else
            export_writer_abort(c.w);
        if (rc != IMGSEC_OK)
            unlink(path);
    }
    /* The rows are out: release the snapshot now, so the WAL can be
     * checkpointed past it while the caller finishes up. */
    store_snapshot_end(s->st);
    s->in_txn = false;
    free(header);
    if (rc == IMGSEC_OK && progress)
        progress(c.written, c.total, arg);
    *written = c.written;
    return rc;
}
