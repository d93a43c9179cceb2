/* index.c - lifecycle, publication and the public entry points of the index.
 *
 * Readers never wait on the writer: the index is two complete instances
 * (left-right). Readers enter the published one, announcing themselves in
 * its reader counter (one atomic increment and decrement per query, never
 * a lock). The writer changes the other one, the hidden instance: a batch
 * is applied to it and index_write_end publishes it with one atomic store,
 * so a reader sees all of a batch or none of it. The instance readers used
 * until then now lags by that batch; before the writer touches it again
 * (index_catch_up, or at the latest the next index_write_begin) it waits
 * until the readers that entered it have left, and replays the batch's
 * ops, logged by index_log.c; a batch that began with index_clear (a full
 * rebuild) is not logged but copied whole from the published instance
 * (rows_clone), which is faster than building it again and keeps no copy
 * of every summary. Memory doubles, but for the row-owned strings, which
 * the instances share (index_rows.c); a query costs the same.
 *
 * Only the writer waits, and only for queries already running. A reader
 * may retry its entry if a publication races it (lock-free, not
 * wait-free); the retry happens at most once per publication.
 *
 * When the hidden instance cannot be made equal to the published one -
 * the last batch could not be logged, its replay ran out of memory, or a
 * batch that had changed it was aborted - nothing can repair it short of
 * a copy, so it is emptied and marked (hidden_lost): only a batch that
 * starts again from nothing (index_clear) may be published from it. That
 * is what index_write_begin reports and index_write_end enforces.
 */
#include "index_internal.h"

#include <sched.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_LINE 64

/* readers currently inside one instance; each on its own cache line */
typedef struct {
    alignas(CACHE_LINE) atomic_long n;
} reader_count;

struct imgsec_index {
    ix_inst inst[2];
    reader_count readers[2];
    alignas(CACHE_LINE) atomic_int published; /* the instance readers enter */
    atomic_size_t published_size;             /* its live images */
    _Atomic int64_t published_records;        /* and their records */
    /* the writer's own: the ops of the last published batch, not yet
     * applied to the hidden instance (inside a batch: the batch's ops) */
    ix_log log;
    bool hidden_lost;   /* the writer's: the hidden instance is empty, not
                           the published state; cleared by index_clear */
    ix_scan *scan;      /* the readers' row passes across the cores (NULL:
                           serial) */
};

imgsec_index *index_new(void)
{
    size_t size = (sizeof(imgsec_index) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    imgsec_index *ix = aligned_alloc(CACHE_LINE, size);
    if (!ix)
        return NULL;
    memset(ix, 0, sizeof *ix);
    atomic_init(&ix->published, 0);
    atomic_init(&ix->published_size, 0);
    atomic_init(&ix->published_records, 0);
    for (int i = 0; i < 2; i++)
        atomic_init(&ix->readers[i].n, 0);
    ix->scan = scan_new();
    if (rows_init(&ix->inst[0]) != 0 || rows_init(&ix->inst[1]) != 0) {
        index_free(ix);
        return NULL;
    }
    return ix;
}

void index_free(imgsec_index *ix)
{
    if (!ix)
        return;
    rows_destroy(&ix->inst[0]);
    rows_destroy(&ix->inst[1]);
    ix_log_reset(&ix->log);
    scan_free(ix->scan);
    free(ix);
}

const ix_inst *index_published(const imgsec_index *ix)
{
    return &ix->inst[atomic_load(&ix->published)];
}

/* ---- readers ---- */

static const ix_inst *read_enter(imgsec_index *ix, int *slot)
{
    for (;;) {
        int i = atomic_load(&ix->published);
        atomic_fetch_add(&ix->readers[i].n, 1);
        /* Sequentially consistent: if the instance is still published
         * after the increment, the writer's drain (which loads the counter
         * after storing a new published) sees this reader. */
        if (atomic_load(&ix->published) == i) {
            *slot = i;
            return &ix->inst[i];
        }
        atomic_fetch_sub(&ix->readers[i].n, 1);
    }
}

static void read_leave(imgsec_index *ix, int slot)
{
    atomic_fetch_sub(&ix->readers[slot].n, 1);
}

/* ---- the writer ---- */

static int hidden(const imgsec_index *ix)
{
    return 1 - atomic_load(&ix->published);
}

/* Waits until no query runs in instance h (none can enter it: it is not
 * published). Queries take microseconds to a few milliseconds. */
static void drain(imgsec_index *ix, int h)
{
    for (unsigned spins = 0; atomic_load(&ix->readers[h].n) != 0; spins++) {
        if (spins < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* Empties the hidden instance, which cannot become the published state
 * again: only a full rebuild may be published from it (index_clear clears
 * the mark). rows_init only fails when out of memory; the instance then
 * refuses upserts, and index_clear tries again. */
static void hidden_lose(imgsec_index *ix)
{
    int h = hidden(ix);
    drain(ix, h);
    rows_destroy(&ix->inst[h]);
    rows_init(&ix->inst[h]);
    ix->hidden_lost = true;
}

void index_catch_up(imgsec_index *ix)
{
    int h = hidden(ix);
    drain(ix, h);
    /* the last batch could not be recorded, or its replay (or copy) ran
     * out of memory: the instance differs from the published one for good */
    if (ix->log.lost)
        hidden_lose(ix);
    else if (ix->log.clone) { /* a full rebuild: copy it */
        rows_destroy(&ix->inst[h]);
        if (rows_clone(&ix->inst[h], &ix->inst[1 - h]) != 0)
            hidden_lose(ix);
    } else if (ix_log_replay(&ix->log, &ix->inst[h], &ix->inst[1 - h]) != 0)
        hidden_lose(ix);
    ix_log_reset(&ix->log);
}

int index_write_begin(imgsec_index *ix)
{
    index_catch_up(ix);
    return ix->hidden_lost ? IMGSEC_EINTERNAL : IMGSEC_OK;
}

int index_write_flush(imgsec_index *ix, imgsec_err *err)
{
    if (bulk_stop(&ix->inst[hidden(ix)]) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
    return IMGSEC_OK;
}

int index_write_end(imgsec_index *ix)
{
    if (index_write_flush(ix, NULL) != IMGSEC_OK) {
        /* the rebuild lacks postings: never published (index.h) */
        index_write_abort(ix);
        return IMGSEC_EINTERNAL;
    }
    if (ix->hidden_lost) {
        /* begin asked for a full rebuild and this batch is not one:
         * publishing it would show an index without the images the batch
         * did not touch */
        index_write_abort(ix);
        return IMGSEC_EINVAL;
    }
    int h = hidden(ix);
    if (ix->log.clone) { /* a full rebuild: its terms are complete */
        postings_trim(&ix->inst[h].vuls);
        postings_trim(&ix->inst[h].builds);
        postings_trim(&ix->inst[h].groups);
    }
    atomic_store(&ix->published_size, ix->inst[h].ids.n);
    atomic_store(&ix->published_records, ix->inst[h].n_records);
    atomic_store(&ix->published, h);
    return ix->log.lost ? IMGSEC_EINTERNAL : IMGSEC_OK;
}

void index_write_abort(imgsec_index *ix)
{
    (void)bulk_stop(&ix->inst[hidden(ix)]);
    /* Every change of a batch is logged (or the log is marked lost; a
     * refused upsert changes nothing), so an empty log means the hidden
     * instance is still the published state and the writer may simply try
     * again. Otherwise it holds part of the batch, which cannot be taken
     * back. */
    if (ix->log.n || ix->log.lost)
        hidden_lose(ix);
    ix_log_reset(&ix->log);
}

int index_upsert(imgsec_index *ix, const image_summary *s, imgsec_err *err)
{
    int rc = rows_upsert(&ix->inst[hidden(ix)], s, NULL, err);
    if (rc == IMGSEC_OK)
        ix_log_add(&ix->log, IX_OP_UPSERT, s->id, s);
    else if (rc != IMGSEC_EINVAL) /* out of memory: the image is now absent */
        ix_log_add(&ix->log, IX_OP_REMOVE, s->id, NULL);
    return rc;
}

void index_remove(imgsec_index *ix, int64_t id)
{
    rows_remove(&ix->inst[hidden(ix)], id);
    ix_log_add(&ix->log, IX_OP_REMOVE, id, NULL);
}

void index_clear(imgsec_index *ix)
{
    /* Dropping every structure at once is both simpler and faster than
     * removing images one by one. rows_init only fails when out of memory;
     * the instance is then left empty but unusable for writes of new
     * images, which rows_upsert reports. */
    ix_inst *w = &ix->inst[hidden(ix)];
    rows_destroy(w);
    if (rows_init(w) == 0)
        (void)bulk_start(w); /* without the pool, the rebuild is built serially */
    ix_log_add(&ix->log, IX_OP_CLEAR, 0, NULL);
    ix->hidden_lost = false; /* a full rebuild starts here */
}

size_t index_size(imgsec_index *ix)
{
    return atomic_load(&ix->published_size);
}

int index_project_eps(imgsec_index *ix, const char *project_id,
                      void (*cb)(const char *ep, void *arg), void *arg)
{
    size_t plen = strlen(project_id);
    int slot;
    const ix_inst *r = read_enter(ix, &slot);
    /* the (project, ep) dictionary: one entry per EP holding images;
     * its keys are project NUL ep (index_key.h) */
    const dict *d = &r->dicts[SA_PROJECT_EP];
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const dict_entry *e = d->entries[i];
        if (e->len > plen + 1 && memcmp(e->s, project_id, plen) == 0 && e->s[plen] == '\0') {
            cb(e->s + plen + 1, arg);
            n++;
        }
    }
    read_leave(ix, slot);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int64_t index_records(imgsec_index *ix)
{
    return atomic_load(&ix->published_records);
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

/* Inside the published instance: plans q's record sums, then calls use
 * (which returns 0 or -1, out of memory) with the plan and, when select
 * is set, the rows of scope and q. The shared read path of index_count
 * and with_selection.
 *
 * The plan comes first because it does not depend on the selection but
 * can make it moot: record filters that name no term (a vul_id_list of
 * unknown ids) pass no record in any image, so use gets an empty
 * selection instead of one that costs bitmaps and substring scans (2 ms
 * at a million images) only to sum to 0. query_check keeps the errors of
 * such a query what they were. */
static int in_published(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                        bool select,
                        int (*use)(const ix_inst *r, const row_set *sel, const rec_plan *plan,
                                   void *arg),
                        void *arg, imgsec_err *err)
{
    int rc = check_args(scope, q, err);
    if (rc != IMGSEC_OK)
        return rc;
    int slot;
    const ix_inst *r = read_enter(ix, &slot);
    row_set sel = {0};
    rec_plan plan = {0};
    rc = query_check(r, q, err);
    if (rc == IMGSEC_OK)
        rc = rec_plan_make(r, q, &plan, err);
    if (rc == IMGSEC_OK && select && !rec_plan_empty(&plan))
        rc = query_select(r, scope, q, &sel, err);
    if (rc == IMGSEC_OK && use(r, &sel, &plan, arg) != 0)
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    read_leave(ix, slot);
    rec_plan_free(&plan);
    row_set_free(&sel);
    return rc;
}

int with_selection(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                   int (*use)(const ix_inst *r, const row_set *sel, const rec_plan *plan,
                              void *arg),
                   void *arg, imgsec_err *err)
{
    return in_published(ix, scope, q, true, use, arg, err);
}

typedef struct {
    ix_scan *scan;
    const index_scope *scope;
    const stat_query *q;
    int64_t *total;
} count_arg;

/* the selection is query_total's: it sums as it selects where it can */
static int count_use(const ix_inst *r, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)sel;
    const count_arg *a = arg;
    return rec_plan_empty(plan) ? 0 : query_total(r, a->scan, a->scope, a->q, plan, a->total);
}

int index_count(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                int64_t *total, imgsec_err *err)
{
    *total = 0;
    count_arg a = {ix->scan, scope, q, total};
    int rc = in_published(ix, scope, q, false, count_use, &a, err);
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
    const ix_inst *ix;
    sel_item *items;
    size_t n, cap;
} collector;

static void collect_one(uint32_t row, int64_t records, void *arg)
{
    collector *c = arg;
    if (c->n < c->cap)
        c->items[c->n++] = (sel_item){c->ix->rows[row].id, records};
}

/* The (id, records) of every selected image with records, in id order,
 * into the collector arg. */
static int collect(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    collector *c = arg;
    *c = (collector){.ix = ix, .cap = row_set_count(sel)};
    c->items = malloc((c->cap ? c->cap : 1) * sizeof *c->items);
    if (!c->items || rec_each(ix, plan, sel, collect_one, c) != 0) {
        free(c->items);
        *c = (collector){0};
        return -1;
    }
    if (c->n)
        qsort(c->items, c->n, sizeof *c->items, sel_item_cmp);
    return 0;
}

int index_select(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                 int (*cb)(int64_t image_id, int64_t records, void *arg), void *arg,
                 imgsec_err *err)
{
    collector sel = {0};
    int rc = with_selection(ix, scope, q, collect, &sel, err);
    /* the callback runs outside the instance: an export may take long, and
     * must not hold back the writer's next batch (which waits for readers
     * of the instance it is about to change) */
    for (size_t i = 0; rc == IMGSEC_OK && i < sel.n; i++)
        rc = cb(sel.items[i].id, sel.items[i].records, arg);
    free(sel.items);
    return rc;
}
