/* index.c - lifecycle, locking and the public entry points of the index.
 *
 * All locking lives here: readers (index_count, index_select) hold the
 * read lock for the whole evaluation, a write batch holds the write lock
 * from index_write_begin to index_write_end, and the mutators assume it is
 * held. The lock prefers writers, so a steady stream of statistic calls
 * cannot starve ingest. Swapping this for copy-on-write snapshots later
 * touches this file only.
 */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

imgsec_index *index_new(void)
{
    imgsec_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    pthread_rwlockattr_t attr;
    if (pthread_rwlockattr_init(&attr) != 0) {
        free(ix);
        return NULL;
    }
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&ix->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        free(ix);
        return NULL;
    }
    atomic_init(&ix->published_size, 0);
    if (rows_init(ix) != 0) {
        index_free(ix);
        return NULL;
    }
    return ix;
}

void index_free(imgsec_index *ix)
{
    if (!ix)
        return;
    rows_destroy(ix);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

void index_write_begin(imgsec_index *ix)
{
    pthread_rwlock_wrlock(&ix->lock);
}

void index_write_end(imgsec_index *ix)
{
    atomic_store(&ix->published_size, ix->live);
    pthread_rwlock_unlock(&ix->lock);
}

int index_upsert(imgsec_index *ix, const image_summary *s, imgsec_err *err)
{
    return rows_upsert(ix, s, err);
}

void index_remove(imgsec_index *ix, int64_t id)
{
    rows_remove(ix, id);
}

void index_clear(imgsec_index *ix)
{
    /* Dropping every structure at once is both simpler and faster than
     * removing images one by one. rows_init only fails when out of memory;
     * the index is then left empty but unusable for writes of new images,
     * which rows_upsert reports. */
    rows_destroy(ix);
    rows_init(ix);
}

size_t index_size(imgsec_index *ix)
{
    return atomic_load(&ix->published_size);
}

static int check_args(const index_scope *scope, const stat_query *q, imgsec_err *err)
{
    if (!scope || !q)
        return err_set(err, IMGSEC_EINVAL, "missing scope or query");
    if ((unsigned)q->report >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "security_report_type: must be %s",
                       report_type_choices());
    return IMGSEC_OK;
}

int index_count(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                int64_t *total, imgsec_err *err)
{
    *total = 0;
    int rc = check_args(scope, q, err);
    if (rc != IMGSEC_OK)
        return rc;
    pthread_rwlock_rdlock(&ix->lock);
    row_set sel = {0};
    rec_plan plan = {0};
    rc = query_select(ix, scope, q, &sel, err);
    if (rc == IMGSEC_OK)
        rc = rec_plan_make(ix, q, &plan, err);
    if (rc == IMGSEC_OK && rec_total(ix, &plan, &sel, total) != 0)
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    pthread_rwlock_unlock(&ix->lock);
    rec_plan_free(&plan);
    row_set_free(&sel);
    if (rc != IMGSEC_OK)
        *total = 0;
    return rc;
}

typedef struct {
    int64_t id;
    int64_t records;
} sel_item;

static int sel_item_cmp(const void *a, const void *b)
{
    int64_t x = ((const sel_item *)a)->id, y = ((const sel_item *)b)->id;
    return (x > y) - (x < y);
}

typedef struct {
    const imgsec_index *ix;
    sel_item *items;
    size_t n, cap;
} collector;

static void collect_one(uint32_t row, int64_t records, void *arg)
{
    collector *c = arg;
    if (c->n < c->cap)
        c->items[c->n++] = (sel_item){c->ix->rows[row].id, records};
}

/* The (id, records) of every selected image with records, in id order. */
static int collect(const imgsec_index *ix, const row_set *sel, const rec_plan *plan,
                   sel_item **out, size_t *n_out)
{
    collector c = {.ix = ix, .cap = row_set_count(sel)};
    c.items = malloc((c.cap ? c.cap : 1) * sizeof *c.items);
    if (!c.items || rec_each(ix, plan, sel, collect_one, &c) != 0) {
        free(c.items);
        return -1;
    }
    if (c.n)
        qsort(c.items, c.n, sizeof *c.items, sel_item_cmp);
    *out = c.items;
    *n_out = c.n;
    return 0;
}

int index_select(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                 int (*cb)(int64_t image_id, int64_t records, void *arg), void *arg,
                 imgsec_err *err)
{
    int rc = check_args(scope, q, err);
    if (rc != IMGSEC_OK)
        return rc;
    sel_item *items = NULL;
    size_t n = 0;
    pthread_rwlock_rdlock(&ix->lock);
    row_set sel = {0};
    rec_plan plan = {0};
    rc = query_select(ix, scope, q, &sel, err);
    if (rc == IMGSEC_OK)
        rc = rec_plan_make(ix, q, &plan, err);
    if (rc == IMGSEC_OK && collect(ix, &sel, &plan, &items, &n) != 0)
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    pthread_rwlock_unlock(&ix->lock);
    rec_plan_free(&plan);
    row_set_free(&sel);
    /* the callback runs without the lock: an export may take long, and
     * must not hold back ingest (nor deadlock if cb queries the index) */
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++)
        rc = cb(items[i].id, items[i].records, arg);
    free(items);
    return rc;
}
