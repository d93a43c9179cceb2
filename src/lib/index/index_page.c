/* index_page.c - pages of the selected images in a stable order (index.h
 * index_page), for the image list routes.
 *
 * An order is a permutation of the instance's rows: rank -> row and row ->
 * rank, sorted by its key with ties by image id. It is built by the first
 * page that asks for it (a sort of every row, ~10 ms at 100,000 images)
 * and kept in the instance until the writer next changes that instance
 * (order_drop), so readers of one published state share it. Two readers
 * racing to build it both do; one wins the compare-and-swap, the other
 * frees its copy.
 *
 * A page: the selection (a row set, as the statistic makes it) is laid
 * into a bitset indexed by rank, one bit per row of the instance; the
 * offset-th set bit is found by popcounts, 64 rows per step, from the
 * front (ascending) or the back (descending), and the page's rows are the
 * set bits after it. The cost is the selection's size plus rows/64, the
 * same for offset 0 as for offset 2,000,000: no walk of the list. A type
 * mask (the registry, CI/CD and local lists) is applied to the selection
 * as bitmaps first, so that the pass reads only rank_of. */
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"

struct ix_order {
    uint32_t *by_rank;
    uint32_t *rank_of;
    uint32_t n;
};

static void order_free(struct ix_order *o)
{
    if (!o)
        return;
    free(o->by_rank);
    free(o->rank_of);
    free(o);
}

void order_drop(ix_inst *ix)
{
    for (int k = 0; k < INDEX_ORDER_COUNT; k++)
        order_free(atomic_exchange(&ix->orders[k], NULL));
    terms_free(atomic_exchange(&ix->vul_terms, NULL));
    terms_free(atomic_exchange(&ix->build_terms, NULL));
}

typedef struct {
    int64_t key, id;
    uint32_t row;
} sort_item;

static int sort_item_cmp(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static struct ix_order *order_build(const ix_inst *ix, index_order k)
{
    uint32_t n = ix->n_rows;
    struct ix_order *o = calloc(1, sizeof *o);
    sort_item *items = malloc((n ? n : 1) * sizeof *items);
    if (o) {
        o->by_rank = malloc((n ? n : 1) * sizeof *o->by_rank);
        o->rank_of = malloc((n ? n : 1) * sizeof *o->rank_of);
    }
    if (!o || !items || !o->by_rank || !o->rank_of) {
        free(items);
        order_free(o);
        return NULL;
    }
    for (uint32_t r = 0; r < n; r++)
        items[r] = (sort_item){k == INDEX_ORDER_SCAN_TIME ? ix_range_value(ix, IX_Q_SCAN, r) : ix->rows[r].id,
                               ix->rows[r].id, r};
    qsort(items, n, sizeof *items, sort_item_cmp);
    for (uint32_t i = 0; i < n; i++) {
        o->by_rank[i] = items[i].row;
        o->rank_of[items[i].row] = i;
    }
    o->n = n;
    free(items);
    return o;
}

/* The instance's order k, built now if it is not cached; NULL when out of
 * memory. The cache is the one thing a reader writes to an instance. */
const struct ix_order *order_get(const ix_inst *ix, index_order k)
{
    _Atomic(struct ix_order *) *slot = (_Atomic(struct ix_order *) *)&ix->orders[k];
    struct ix_order *o = atomic_load(slot);
    if (o)
        return o;
    if (!(o = order_build(ix, k)))
        return NULL;
    struct ix_order *none = NULL;
    if (!atomic_compare_exchange_strong(slot, &none, o)) {
        order_free(o);
        return none;
    }
    return o;
}

const uint32_t *order_by_rank(const struct ix_order *o)
{
    return o->by_rank;
}

const uint32_t *order_rank_of(const struct ix_order *o)
{
    return o->rank_of;
}

typedef struct {
    const index_page_req *p;
    int64_t *total;
    void (*cb)(const index_image *img, void *arg);
    void *arg;
} page_ctx;

/* buf: a packed row-owned string's text, one buffer per attribute */
static const char *str_of(const ix_row *r, str_attr a, char (*buf)[IX_STR_BUF])
{
    size_t len;
    return row_str(r, a, &len, buf[a]);
}

static void emit(const ix_inst *ix, uint32_t row, const page_ctx *c)
{
    const ix_row *r = &ix->rows[row];
    char buf[SA_COUNT][IX_STR_BUF];
    index_image img = {
        .id = r->id,
        .type = (image_type)r->type,
        .status = (scan_status)r->status,
        .severity_level = (severity_level)r->level,
#define PAGE_STRING(m, ...) .m = str_of(r, SA_##m, buf),
        MODEL_IMAGE_STRINGS(PAGE_STRING)
#undef PAGE_STRING
        .image_size = ix_range_value(ix, IX_Q_SIZE, row),
        .latest_update_time = ix_range_value(ix, IX_Q_UPDATE, row),
        .latest_scan_time = ix_range_value(ix, IX_Q_SCAN, row),
        .container_num = ix->container_num[row],
        .latest_version = roaring_bitmap_contains(ix->latest, row),
    };
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        img.counts[t] = ix->counts[t][row];
    c->cb(&img, c->arg);
}

/* Calls emit for the limit set bits after the first skip ones, walking
 * the bitset forwards or backwards. */
static void emit_page(const ix_inst *ix, const struct ix_order *o, const uint64_t *bits,
                      size_t words, const page_ctx *c)
{
    int64_t skip = c->p->offset, left = c->p->limit;
    for (size_t i = 0; i < words && left > 0; i++) {
        size_t w = c->p->desc ? words - 1 - i : i;
        uint64_t b = bits[w];
        int pc = __builtin_popcountll(b);
        if (skip >= pc) {
            skip -= pc;
            continue;
        }
        while (b && left > 0) {
            int bit = c->p->desc ? 63 - __builtin_clzll(b) : __builtin_ctzll(b);
            b &= ~(1ull << bit);
            if (skip > 0) {
                skip--;
                continue;
            }
            emit(ix, o->by_rank[w * 64 + (size_t)bit], c);
            left--;
        }
    }
}

static int page_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    page_ctx *c = arg;
    *c->total = 0;
    if (!sel->bm && !sel->arr)
        return 0; /* nothing selected */
    const struct ix_order *o = order_get(ix, c->p->order);
    size_t words = ((size_t)ix->n_rows + 63) / 64;
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    row_set typed = {0};
    const row_set *rows = o && bits ? row_set_of_types(ix, sel, c->p->type_mask, &typed) : NULL;
    if (!rows) {
        free(bits);
        row_set_free(&typed);
        return -1;
    }
    int64_t total = 0;
    uint32_t buf[512];
    size_t k;
    rs_iter it;
    rs_iter_init(&it, rows);
    while ((k = rs_iter_next(&it, buf, sizeof buf / sizeof buf[0])))
        for (size_t i = 0; i < k; i++) {
            uint32_t rank = o->rank_of[buf[i]];
            bits[rank >> 6] |= 1ull << (rank & 63);
            total++;
        }
    *c->total = total;
    emit_page(ix, o, bits, words, c);
    free(bits);
    row_set_free(&typed);
    return 0;
}

int index_page(imgsec_index *ix, const index_scope *scope, const stat_query *q,
               const index_page_req *p, int64_t *total,
               void (*cb)(const index_image *img, void *arg), void *arg, imgsec_err *err)
{
    *total = 0;
    if (!p || (unsigned)p->order >= INDEX_ORDER_COUNT || p->offset < 0 || p->limit < 0)
        return err_set(err, IMGSEC_EINVAL, "index_page: bad page request");
    page_ctx c = {p, total, cb, arg};
    return with_selection(ix, scope, q, page_use, &c, err);
}
