/* index_record_page.c - where a page of a tenant-wide record list falls
 * (index_record_page in imgsec/list.h).
 *
 * A tenant-wide list shows the records of one report type of the selected
 * images, images in id order, each image's records in seq order (list.c).
 * Its page [offset, offset + limit) is found from the per-image record
 * counts the index already keeps: the selection is laid into a bitset by
 * rank in the id order (the order cache of index_page.c), walked once
 * adding each image's count until the offset is reached, and the page is
 * then the spans (image, first seq, how many) that follow. The cost is
 * the selection's size, the same at offset 0 as at 2,000,000, and no
 * record or image row of the store is read to find it. */
#include <stdlib.h>

#include "imgsec/list.h"
#include "index_internal.h"

typedef struct {
    report_type report;
    unsigned type_mask;
    int64_t offset, limit;
    int64_t *total;
    index_record_span *spans;
    size_t *n_spans;
} rp_ctx;

static int rp_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    rp_ctx *c = arg;
    *c->total = 0;
    *c->n_spans = 0;
    if (!sel->bm && !sel->arr)
        return 0;
    const struct ix_order *o = order_get(ix, INDEX_ORDER_ID);
    size_t words = ((size_t)ix->n_rows + 63) / 64;
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    if (!o || !bits) {
        free(bits);
        return -1;
    }
    const uint32_t *rank_of = order_rank_of(o), *by_rank = order_by_rank(o);
    const uint32_t *counts = ix->counts[c->report];
    int64_t total = 0;
    uint32_t buf[512];
    size_t k;
    rs_iter it;
    rs_iter_init(&it, sel);
    while ((k = rs_iter_next(&it, buf, sizeof buf / sizeof buf[0])))
        for (size_t i = 0; i < k; i++) {
            uint32_t row = buf[i];
            if ((c->type_mask && !(c->type_mask & (1u << ix->rows[row].type))) || counts[row] <= 0)
                continue;
            uint32_t rank = rank_of[row];
            bits[rank >> 6] |= 1ull << (rank & 63);
            total += counts[row];
        }
    *c->total = total;
    int64_t skip = c->offset, left = c->limit;
    for (size_t w = 0; w < words && left > 0; w++)
        for (uint64_t b = bits[w]; b && left > 0; b &= b - 1) {
            uint32_t row = by_rank[w * 64 + (size_t)__builtin_ctzll(b)];
            int64_t n = counts[row];
            if (skip >= n) {
                skip -= n;
                continue;
            }
            int64_t take = n - skip < left ? n - skip : left;
            c->spans[(*c->n_spans)++] = (index_record_span){ix->rows[row].id, skip, take};
            left -= take;
            skip = 0;
        }
    free(bits);
    return 0;
}

int index_record_page(imgsec_index *ix, const index_scope *scope, report_type report,
                      unsigned type_mask, int64_t offset, int64_t limit, int64_t *total,
                      index_record_span *spans, size_t *n_spans, imgsec_err *err)
{
    *total = 0;
    *n_spans = 0;
    if ((unsigned)report >= REPORT_TYPE_COUNT || offset < 0 || limit < 0 || limit > LIST_LIMIT_MAX)
        return err_set(err, IMGSEC_EINVAL, "index_record_page: bad request");
    stat_query q;
    filter_init(&q, report);
    q.operate_all = true;
    rp_ctx c = {report, type_mask, offset, limit, total, spans, n_spans};
    return with_selection(ix, scope, &q, rp_use, &c, err);
}
