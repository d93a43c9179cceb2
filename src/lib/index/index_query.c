/* index_query.c - which images a statistic query selects (statistic.md).
 *
 * The selection is narrowed from the cheapest, most selective structures
 * to the dearest:
 *
 *   1. scope: the (project, ep) bitmaps, or the project's bitmap;
 *   2. the starting set (image_id_list: ids and content ids);
 *   3. categorical filters and derived flags: one bitmap AND each;
 *   4. exact string filters: one dictionary lookup each;
 *   5. substring filters: either scan the dictionary and AND the union of
 *      the matching entries, or - when fewer candidates are left than the
 *      dictionary has entries - test the candidates' own strings;
 *   6. ranges (size, times) and the substring tests chosen in 5: one pass
 *      over the surviving candidates, reading columns.
 *
 * The result is a row_set: the candidate bitmap itself when step 6 had
 * nothing to do, otherwise the sorted array of rows that passed.
 *
 * A count (query_total) need not make that set. While the candidates are
 * exactly the rows of a running sum (every image, one EP, or every image
 * with one categorical value: qctx.sums, followed through steps 1-5),
 * the count is that sum. When every image is a candidate up to one
 * substring filter and nothing is left for step 6, the count is the sum of
 * the matching dictionary entries' running sums (or the column's less the
 * others'), and step 5 makes no row set. When every image is still
 * a candidate after step 5 and step 6 has only ranges to test, it sums the
 * count column as it tests the ranges, over every row in order (a free
 * row counts 0 in every column, whatever its range values): on the
 * range columns' steps (ix_quantize), the rows on a bound's step checked
 * on their whole values, in chunks shared with the helpers of
 * index_scan.c.
 */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

#include "index_bits.h"
#include "index_key.h"

/* A row-by-row substring test (two scattered reads) costs about this many
 * rows gathered from dictionary entries (sequential copies). */
#define ROW_TEST_WEIGHT 10
/* Candidates up to this many are tested row by row without asking the
 * dictionary at all. A dictionary without a gram index is scanned, so
 * there the bound is its number of entries instead. */
#define ROW_TEST_FEW 64

/* ---- row sets ---- */

void row_set_free(row_set *s)
{
    if (s->bm)
        roaring_bitmap_free(s->bm);
    free(s->arr);
    *s = (row_set){0};
}

uint64_t row_set_count(const row_set *s)
{
    return s->bm ? roaring_bitmap_get_cardinality(s->bm) : s->n;
}

const row_set *row_set_of_types(const ix_inst *ix, const row_set *sel, unsigned mask,
                                row_set *tmp)
{
    if (!mask)
        return sel;
    roaring_bitmap_t *types = roaring_bitmap_create();
    tmp->bm = sel->bm ? roaring_bitmap_copy(sel->bm) : roaring_bitmap_create();
    if (!types || !tmp->bm) {
        if (types)
            roaring_bitmap_free(types);
        return NULL;
    }
    if (!sel->bm && sel->n)
        roaring_bitmap_add_many(tmp->bm, sel->n, sel->arr); /* ascending: row_pass */
    for (int t = 0; t < IMAGE_TYPE_COUNT; t++)
        if (mask & (1u << t))
            roaring_bitmap_or_inplace(types, ix->by_type[t]);
    roaring_bitmap_and_inplace(tmp->bm, types);
    roaring_bitmap_free(types);
    return tmp;
}

void rs_iter_init(rs_iter *it, const row_set *s)
{
    it->s = s;
    it->i = 0;
    if (s->bm)
        roaring_init_iterator(s->bm, &it->it);
}

size_t rs_iter_next(rs_iter *it, uint32_t *buf, size_t cap)
{
    if (it->s->bm)
        return roaring_read_uint32_iterator(&it->it, buf, (uint32_t)cap);
    size_t k = it->s->n - it->i;
    if (k > cap)
        k = cap;
    if (k)
        memcpy(buf, it->s->arr + it->i, k * sizeof *buf);
    it->i += k;
    return k;
}

/* ---- selection ---- */

/* An inclusive range on a column, for the row pass. */
typedef struct {
    int k; /* the range column (IX_Q_*) */
    int64_t lo, hi;
} col_range;

typedef struct {
    const ix_inst *ix;
    const stat_query *q;
    /* substring tests left for the row pass, only those that apply */
    struct {
        str_attr a;
        const char *needle;
        size_t nlen;
    } subs[SA_COUNT];
    size_t n_subs;
    col_range ranges[3];          /* image_size, update time, scan time */
    size_t n_ranges;
    /* while the candidates are exactly the rows of one running sum
     * (col_sums, a (project, ep)'s or a categorical value's): its sums of
     * the count columns; NULL once a filter makes them anything else */
    const int64_t *sums;
    /* query_total: the plan of a count column (NULL for a selection or
     * postings); counted once a step has found the count (total) without
     * making the candidates, which are then stale */
    const rec_plan *plan;
    bool counted;
    int64_t total;
} qctx;

static bool is_set(const char *s)
{
    return s && *s;
}

/* cand |= the images of the scope; c->sums: every image's, when the
 * project holds them all, or its one EP's (its dictionary entry's, when
 * it keeps them). */
static int scope_rows(qctx *c, const index_scope *scope, roaring_bitmap_t *cand)
{
    const ix_inst *ix = c->ix;
    if (!scope->project_id)
        return 0;
    const dict_entry *p =
        dict_find(&ix->dicts[SA_PROJECT], scope->project_id, strlen(scope->project_id));
    if (!p)
        return 0;
    if (scope->all_eps) {
        dict_entry_or(cand, p);
        if (p->n == ix->ids.n)
            c->sums = ix->col_sums;
        return 0;
    }
    for (size_t i = 0; i < scope->n_eps; i++) {
        if (!scope->eps[i])
            continue;
        ixkey k;
        key_init(&k);
        key_project_ep(&k, scope->project_id, scope->eps[i]);
        const dict_entry *e = k.failed ? NULL : dict_find(&ix->dicts[SA_PROJECT_EP], k.p, k.len);
        dict_entry_or(cand, e);
        if (e && scope->n_eps == 1)
            c->sums = e->sums;
        int failed = k.failed;
        key_free(&k);
        if (failed)
            return -1;
    }
    return 0;
}

/* cand &= the images named by image_id_list (by id or content id). A
 * decimal item is looked up as a content id too only if some content id
 * is decimal at all (ids are what consoles send; content ids are sha256:). */
static int start_rows(const ix_inst *ix, const stat_query *q, roaring_bitmap_t *cand)
{
    roaring_bitmap_t *start = roaring_bitmap_create();
    uint32_t *rows = malloc((2 * q->n_image_ids + 1) * sizeof *rows);
    int rc = -1;
    if (!start || !rows)
        goto done;
    size_t n = 0;
    for (size_t i = 0; i < q->n_image_ids; i++) {
        const char *item = q->image_ids[i];
        if (!item)
            continue;
        int64_t id;
        bool decimal = key_decimal_id(item, &id);
        if (decimal && idmap_get(&ix->ids, id, ix_row_id, ix, &rows[n]))
            n++;
        if (decimal && ix->n_decimal_image_ids == 0)
            continue;
        dict_entry one;
        const dict_entry *e = rows_find_exact(ix, SA_image_id, item, strlen(item), &one);
        if (e && e->n == 1)
            rows[n++] = e->one;
        else
            dict_entry_or(start, e);
    }
    if (bits_add_rows(start, rows, n, ix->n_rows) != 0)
        goto done;
    roaring_bitmap_and_inplace(cand, start);
    rc = 0;
done:
    if (start)
        roaring_bitmap_free(start);
    free(rows);
    return rc;
}

static void tri_filter(qctx *c, roaring_bitmap_t *cand, tri_bool want,
                       const roaring_bitmap_t *flag)
{
    if (want == TRI_TRUE)
        roaring_bitmap_and_inplace(cand, flag);
    else if (want == TRI_FALSE)
        roaring_bitmap_andnot_inplace(cand, flag);
    if (want == TRI_TRUE || want == TRI_FALSE)
        c->sums = NULL;
}

/* cand &= the rows of categorical value bm, whose running sums are
 * value_sums: those are the candidates' sums when every image was a
 * candidate before. */
static void value_filter(qctx *c, roaring_bitmap_t *cand, const roaring_bitmap_t *bm,
                         const int64_t *value_sums)
{
    roaring_bitmap_and_inplace(cand, bm);
    c->sums = c->sums == c->ix->col_sums ? value_sums : NULL;
}

int query_check(const ix_inst *ix, const stat_query *q, imgsec_err *err)
{
    if (!ix->ready)
        return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
    if (q->image_type >= IMAGE_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "image_type: must be %s", image_type_choices());
    if (q->scan_status >= SCAN_STATUS_COUNT)
        return err_set(err, IMGSEC_EINVAL, "scan_status: must be %s", scan_status_choices());
    if (q->severity_level >= SEVERITY_LEVEL_COUNT)
        return err_set(err, IMGSEC_EINVAL, "severity_level: must be %s",
                       severity_level_choices());
    return IMGSEC_OK;
}

/* The enums are in range (query_check). */
static void enum_filters(qctx *c, roaring_bitmap_t *cand)
{
    const ix_inst *ix = c->ix;
    const stat_query *q = c->q;
    if (q->image_type >= 0)
        value_filter(c, cand, ix->by_type[q->image_type], ix->type_sums[q->image_type]);
    if (q->scan_status >= 0)
        value_filter(c, cand, ix->by_status[q->scan_status], ix->status_sums[q->scan_status]);
    if (q->severity_level >= 0)
        value_filter(c, cand, ix->by_level[q->severity_level],
                     ix->level_sums[q->severity_level]);
    tri_filter(c, cand, q->has_vul, ix->flags[FLAG_HAS_VUL]);
    tri_filter(c, cand, q->has_malicious_file, ix->flags[FLAG_HAS_MALICIOUS_FILE]);
    tri_filter(c, cand, q->has_unsafe_setting, ix->flags[FLAG_HAS_UNSAFE_SETTING]);
    tri_filter(c, cand, q->has_container, ix->flags[FLAG_HAS_CONTAINER]);
    tri_filter(c, cand, q->risky, ix->flags[FLAG_RISKY]);
    if (q->latest_version) {
        roaring_bitmap_and_inplace(cand, ix->latest);
        c->sums = NULL;
    }
}

static int exact_filter(qctx *c, str_attr a, const char *want, roaring_bitmap_t *cand)
{
    if (!is_set(want))
        return 0;
    c->sums = NULL;
    dict_entry one;
    return dict_entry_and(cand, rows_find_exact(c->ix, a, want, strlen(want), &one));
}

/* A substring filter through the dictionary: cand &= rows of the matching
 * entries, or cand &= ~rows of the others when they are fewer (a short
 * needle can match nearly every image). Returns 1 (and changes nothing)
 * when testing the candidates row by row is cheaper than either set, 0
 * when done, -1 when out of memory. */
static int substring_by_dict(const ix_inst *ix, const dict *d, const char *needle,
                             size_t nlen, roaring_bitmap_t *cand, uint64_t card)
{
    roaring_bitmap_t *places = roaring_bitmap_create();
    if (!places || dict_match_substring(d, needle, nlen, places) != 0) {
        if (places)
            roaring_bitmap_free(places);
        return -1;
    }
    /* each entry has a row at least: when the entries on either side
     * already outnumber what the row test costs, their rows do too */
    uint64_t in = roaring_bitmap_get_cardinality(places), out = d->n - in;
    if (card * ROW_TEST_WEIGHT < (in < out ? in : out)) {
        roaring_bitmap_free(places);
        return 1;
    }
    size_t hit = dict_places_rows(d, places);
    size_t miss = ix->ids.n > hit ? ix->ids.n - hit : 0;
    if (card * ROW_TEST_WEIGHT < (hit < miss ? hit : miss)) {
        roaring_bitmap_free(places);
        return 1;
    }
    roaring_bitmap_t *rows = hit <= miss ? dict_rows_of(d, places, false, hit, ix->n_rows)
                                         : dict_rows_of(d, places, true, miss, ix->n_rows);
    roaring_bitmap_free(places);
    if (!rows)
        return -1;
    if (hit <= miss)
        roaring_bitmap_and_inplace(cand, rows);
    else
        roaring_bitmap_andnot_inplace(cand, rows);
    roaring_bitmap_free(rows);
    return 0;
}

/* The plan's count column over e's rows: e's running sum, if it keeps
 * them (index_rows.c), else its rows' counts. */
static int64_t entry_total(const dict_entry *e, const rec_plan *plan)
{
    if (e->sums)
        return e->sums[plan->sum_k];
    if (!e->bm)
        return e->arr ? rec_col_rows(plan->col, e->arr, e->n) : plan->col[e->one];
    int64_t t = 0; /* a bitmap entry without sums: only when they found no memory */
    roaring_uint32_iterator_t it;
    roaring_init_iterator(e->bm, &it);
    for (; it.has_value; roaring_advance_uint32_iterator(&it))
        t += plan->col[it.current_value];
    return t;
}

typedef struct {
    const dict *d;
    const rec_plan *plan;
    int64_t t;
} entries_walk;

static bool add_entry_total(uint32_t pos, void *arg)
{
    entries_walk *w = arg;
    w->t += entry_total(w->d->entries[pos], w->plan);
    return true;
}

/* The count when every image is a candidate (c->sums is col_sums), the
 * substring filter on d is the last step and nothing is left for the row
 * pass: the sums of the entries that match, or the whole column's sum
 * less those of the entries that do not, whichever side has fewer
 * entries. 0, or -1 when out of memory. */
static int substring_total(qctx *c, const dict *d, const char *needle, size_t nlen)
{
    roaring_bitmap_t *places = roaring_bitmap_create();
    if (!places || dict_match_substring(d, needle, nlen, places) != 0) {
        if (places)
            roaring_bitmap_free(places);
        return -1;
    }
    uint64_t in = roaring_bitmap_get_cardinality(places);
    bool others = d->n - in < in;
    roaring_bitmap_t *side = others ? roaring_bitmap_flip(places, 0, d->n) : places;
    if (!side) {
        roaring_bitmap_free(places);
        return -1;
    }
    entries_walk w = {d, c->plan, 0};
    roaring_iterate(side, add_entry_total, &w);
    c->total = others ? c->ix->col_sums[c->plan->sum_k] - w.t : w.t;
    c->counted = true;
    if (side != places)
        roaring_bitmap_free(side);
    roaring_bitmap_free(places);
    return 0;
}

/* Each exact string filter of model.h's table: one dictionary lookup. */
static int exact_filters(qctx *c, roaring_bitmap_t *cand)
{
    const stat_query *q = c->q;
#define EXACT_EXACT(m)                                                                         \
    if (exact_filter(c, SA_##m, q->m, cand) != 0)                                              \
        return -1;
#define EXACT_SUBSTR(m)
#define EXACT_ITEM(m, key, dmin, dmax, filter, ...) EXACT_##filter(m)
    MODEL_IMAGE_FILTER_STRINGS(EXACT_ITEM)
#undef EXACT_ITEM
#undef EXACT_SUBSTR
#undef EXACT_EXACT
    return 0;
}

/* Step 5: each substring filter by dictionary (its gram index) or,
 * deferred, per row. */
static int substring_filters(qctx *c, roaring_bitmap_t *cand)
{
    const stat_query *q = c->q;
    const struct {
        str_attr a;
        const char *needle;
    } subs[] = {
#define SUB_SUBSTR(m) {SA_##m, q->m},
#define SUB_EXACT(m)
#define SUB_ITEM(m, key, dmin, dmax, filter, ...) SUB_##filter(m)
        MODEL_IMAGE_FILTER_STRINGS(SUB_ITEM)
#undef SUB_ITEM
#undef SUB_EXACT
#undef SUB_SUBSTR
    };
    size_t n_set = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        n_set += is_set(subs[i].needle);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (!is_set(subs[i].needle))
            continue;
        size_t nlen = strlen(subs[i].needle);
        const dict *d = &c->ix->dicts[subs[i].a];
        if (c->plan && n_set == 1 && !c->n_ranges && c->sums == c->ix->col_sums)
            return substring_total(c, d, subs[i].needle, nlen);
        c->sums = NULL;
        uint64_t card = roaring_bitmap_get_cardinality(cand);
        uint64_t few = d->grams ? ROW_TEST_FEW : d->n;
        int rc = card < few ? 1 : substring_by_dict(c->ix, d, subs[i].needle, nlen, cand, card);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            c->subs[c->n_subs].a = subs[i].a;
            c->subs[c->n_subs].needle = subs[i].needle;
            c->subs[c->n_subs].nlen = nlen;
            c->n_subs++;
        }
    }
    return 0;
}

/* The range filters of q as column ranges (a missing bound is the
 * column's whole domain), so that the row pass tests only what applies. */
static void ranges_make(qctx *c)
{
    const stat_query *q = c->q;
    if (q->has_image_size)
        c->ranges[c->n_ranges++] = (col_range){IX_Q_SIZE, INT64_MIN, q->image_size};
    if (q->has_update_start || q->has_update_end)
        c->ranges[c->n_ranges++] = (col_range){IX_Q_UPDATE,
                                               q->has_update_start ? q->update_start : INT64_MIN,
                                               q->has_update_end ? q->update_end : INT64_MAX};
    if (q->has_scan_start || q->has_scan_end)
        c->ranges[c->n_ranges++] = (col_range){IX_Q_SCAN,
                                               q->has_scan_start ? q->scan_start : INT64_MIN,
                                               q->has_scan_end ? q->scan_end : INT64_MAX};
}

/* Does row pass the n ranges r (on the whole values)? */
static bool ranges_pass(const ix_inst *ix, const col_range *r, size_t n, uint32_t row)
{
    bool ok = true;
    for (size_t k = 0; k < n; k++) {
        int64_t v = ix_range_value(ix, r[k].k, row);
        ok &= v >= r[k].lo && v <= r[k].hi;
    }
    return ok;
}

/* The substring tests left for the row pass. */
static bool row_subs_pass(const qctx *c, uint32_t row)
{
    for (size_t i = 0; i < c->n_subs; i++) {
        size_t len;
        char buf[IX_STR_BUF];
        const char *hay = row_str(&c->ix->rows[row], c->subs[i].a, &len, buf);
        if (!dict_contains(hay, len, c->subs[i].needle, c->subs[i].nlen))
            return false;
    }
    return true;
}

/* Step 6: the candidates that pass the row checks, as a sorted array:
 * all of them, copied out in bulk, then compacted in place (a million
 * candidates cost a few milliseconds through the bitmap's iterator). */
static int row_pass(const qctx *c, const roaring_bitmap_t *cand, row_set *out)
{
    uint64_t n = roaring_bitmap_get_cardinality(cand);
    uint32_t *arr = malloc((n ? n : 1) * sizeof *arr);
    if (!arr)
        return -1;
    roaring_bitmap_to_uint32_array(cand, arr);
    /* about half of the candidates pass a typical range: the rows are
     * kept or not without a branch on the outcome */
    size_t kept = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t row = arr[i];
        bool ok = ranges_pass(c->ix, c->ranges, c->n_ranges, row);
        if (c->n_subs && ok)
            ok = row_subs_pass(c, row);
        arr[kept] = row;
        kept += ok;
    }
    out->arr = arr;
    out->n = kept;
    return 0;
}

/* Steps 1 to 5: *cand (NULL when nothing is selected) and, in c, the
 * checks left for the row pass. 0, or -1 when out of memory. */
static int candidates(const ix_inst *ix, const index_scope *scope, const stat_query *q,
                      const rec_plan *plan, qctx *c, roaring_bitmap_t **cand)
{
    *c = (qctx){.ix = ix, .q = q, .plan = plan && plan->col ? plan : NULL};
    ranges_make(c);
    roaring_bitmap_t *bm = *cand = roaring_bitmap_create();
    if (!bm)
        return -1;
    if (scope_rows(c, scope, bm) != 0)
        goto fail;
    if (!q->operate_all) {
        c->sums = NULL;
        if (start_rows(ix, q, bm) != 0)
            goto fail;
    }
    enum_filters(c, bm);
    if (!roaring_bitmap_is_empty(bm) &&
        (exact_filters(c, bm) != 0 || substring_filters(c, bm) != 0))
        goto fail;
    if (c->n_ranges)
        c->sums = NULL;
    if (roaring_bitmap_is_empty(bm)) {
        roaring_bitmap_free(bm);
        *cand = NULL;
    }
    return 0;
fail:
    roaring_bitmap_free(bm);
    *cand = NULL;
    return -1;
}

/* Step 6 and the result: cand itself, or the array of the rows that pass
 * the row checks (cand is consumed either way). 0, or -1 when out of
 * memory. */
static int finish(const qctx *c, roaring_bitmap_t *cand, row_set *out)
{
    *out = (row_set){0};
    if (!cand)
        return 0;
    if (!c->n_ranges && !c->n_subs) {
        out->bm = cand;
        return 0;
    }
    int rc = row_pass(c, cand, out);
    roaring_bitmap_free(cand);
    return rc;
}

int query_select(const ix_inst *ix, const index_scope *scope, const stat_query *q,
                 row_set *out, imgsec_err *err)
{
    *out = (row_set){0};
    qctx c;
    roaring_bitmap_t *cand;
    if (candidates(ix, scope, q, NULL, &c, &cand) != 0 || finish(&c, cand, out) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return IMGSEC_OK;
}

/* A range on a step column as two unsigned tests (q - lo <= span):
 * "maybe" (Q(v) within [Q(lo), Q(hi)]) and "surely" (strictly inside, or
 * an absent bound). sure is false when no row can be sure (a range within
 * one or two steps): then every row in maybe is tested whole. */
typedef struct {
    uint32_t mlo, mspan, slo, sspan;
    bool sure;
} qtest;

static qtest qtest_make(const col_range *r)
{
    unsigned shift = ix_qshift(r->k);
    bool has_lo = r->lo != INT64_MIN, has_hi = r->hi != INT64_MAX;
    uint32_t ql = has_lo ? ix_quantize(r->lo, shift) : 0;
    uint32_t qh = has_hi ? ix_quantize(r->hi, shift) : UINT32_MAX;
    qtest t = {ql, qh - ql, 0, 0, false}; /* lo <= hi (filter.c): ql <= qh */
    if ((has_lo && ql == UINT32_MAX) || (has_hi && qh == 0))
        return t;
    uint32_t sl = has_lo ? ql + 1 : 0, sh = has_hi ? qh - 1 : UINT32_MAX;
    if (sl <= sh)
        t = (qtest){ql, qh - ql, sl, sh - sl, true};
    return t;
}

/* One range count over every row: its ranges, their step tests, and the
 * column summed. */
typedef struct {
    const ix_inst *ix;
    const col_range *r;
    size_t n;
    bool sure; /* every range has a sure test */
    qtest t[3];
    const uint32_t *col;
} range_scan;

/* The rows of a block of QBLOCK from row that pass the ranges but were
 * not summed as sure of every range: tested on the whole values. */
#define QBLOCK 64
__attribute__((noinline)) static uint64_t edge_sum(const range_scan *s, uint32_t row)
{
    uint64_t sum = 0;
    for (uint32_t i = row; i < row + QBLOCK; i++) {
        bool sure = s->sure;
        for (size_t k = 0; k < s->n; k++)
            sure = sure && s->ix->qcols[s->r[k].k][i] - s->t[k].slo <= s->t[k].sspan;
        sum += !sure && ranges_pass(s->ix, s->r, s->n, i) ? s->col[i] : 0;
    }
    return sum;
}

/* col summed over the rows [from, to) that pass the n ranges: one pass in
 * row order, the step columns read in sequence, eight rows a step in
 * vector registers (GCC's vector extensions, which clang shares), no
 * branch on the outcome; n and sure are constants where it is inlined. A
 * compare of two vectors is a vector of masks: all ones where it holds.
 * The rows sure of every range are summed in the vector; a block of
 * QBLOCK rows with a row on a bound's step (rare: the steps are 1 s or 32
 * bytes wide; every row in maybe when a range has no sure test) tests
 * those on the whole values. */
typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef uint32_t u32x8 __attribute__((vector_size(32)));

__attribute__((always_inline)) static inline uint64_t
qranges_sum_n(const range_scan *s, size_t n, bool sure_ok, uint32_t from, uint32_t to)
{
#define SPLAT(x) {(x), (x), (x), (x), (x), (x), (x), (x)}
    const qtest *t = s->t, *t1 = &t[n > 1], *t2 = &t[n > 2 ? 2 : 0];
    u32x8 mlo0 = SPLAT(t[0].mlo), mspan0 = SPLAT(t[0].mspan);
    u32x8 slo0 = SPLAT(t[0].slo), sspan0 = SPLAT(t[0].sspan);
    u32x8 mlo1 = SPLAT(t1->mlo), mspan1 = SPLAT(t1->mspan);
    u32x8 slo1 = SPLAT(t1->slo), sspan1 = SPLAT(t1->sspan);
    u32x8 mlo2 = SPLAT(t2->mlo), mspan2 = SPLAT(t2->mspan);
    u32x8 slo2 = SPLAT(t2->slo), sspan2 = SPLAT(t2->sspan);
#undef SPLAT
    const col_range *r = s->r;
    const uint32_t *q0 = s->ix->qcols[r[0].k], *q1 = s->ix->qcols[r[n > 1].k],
                   *q2 = s->ix->qcols[r[n > 2 ? 2 : 0].k], *col = s->col;
    const u32x8 none = {0, 0, 0, 0, 0, 0, 0, 0};
    u64x4 acc = {0, 0, 0, 0};
    uint64_t sum = 0;
    uint32_t row = from;
    for (; row + QBLOCK <= to; row += QBLOCK) {
        u32x8 edges = none;
        for (uint32_t i = row; i < row + QBLOCK; i += 8) {
            u32x8 x, c;
            memcpy(&x, q0 + i, sizeof x);
            u32x8 maybe = (u32x8)(x - mlo0 <= mspan0), sure = (u32x8)(x - slo0 <= sspan0);
            if (n > 1) {
                memcpy(&x, q1 + i, sizeof x);
                maybe &= (u32x8)(x - mlo1 <= mspan1);
                sure &= (u32x8)(x - slo1 <= sspan1);
            }
            if (n > 2) {
                memcpy(&x, q2 + i, sizeof x);
                maybe &= (u32x8)(x - mlo2 <= mspan2);
                sure &= (u32x8)(x - slo2 <= sspan2);
            }
            if (!sure_ok)
                sure = none;
            memcpy(&c, col + i, sizeof c);
            c &= sure;
            acc += __builtin_convertvector(__builtin_shufflevector(c, c, 0, 1, 2, 3), u64x4) +
                   __builtin_convertvector(__builtin_shufflevector(c, c, 4, 5, 6, 7), u64x4);
            edges |= maybe & ~sure;
        }
        u64x4 any;
        memcpy(&any, &edges, sizeof any);
        if (__builtin_expect((any[0] | any[1] | any[2] | any[3]) != 0, 0))
            sum += edge_sum(s, row);
    }
    sum += acc[0] + acc[1] + acc[2] + acc[3];
    for (; row < to; row++)
        sum += ranges_pass(s->ix, r, n, row) ? col[row] : 0;
    return sum;
}

/* The rows [from, to) of a range_scan (index_scan.c's part): qranges_sum_n
 * with n and sure known, compiled for AVX2 too (the loader picks). */
__attribute__((target_clones("avx2", "default"))) static uint64_t
ranges_part(const void *arg, uint32_t from, uint32_t to)
{
    const range_scan *s = arg;
    if (s->sure)
        return s->n == 1   ? qranges_sum_n(s, 1, true, from, to)
               : s->n == 2 ? qranges_sum_n(s, 2, true, from, to)
                           : qranges_sum_n(s, 3, true, from, to);
    return s->n == 1   ? qranges_sum_n(s, 1, false, from, to)
           : s->n == 2 ? qranges_sum_n(s, 2, false, from, to)
                       : qranges_sum_n(s, 3, false, from, to);
}

/* col summed over every row passing the n ranges r, the rows split
 * across the cores by scan. */
static uint64_t ranges_sum(const ix_inst *ix, ix_scan *scan, const col_range *r, size_t n,
                           const uint32_t *col)
{
    range_scan s = {.ix = ix, .r = r, .n = n, .sure = true, .col = col};
    for (size_t k = 0; k < n; k++) {
        s.t[k] = qtest_make(&r[k]);
        s.sure = s.sure && s.t[k].sure;
    }
    return scan_sum(scan, ix->n_rows, ranges_part, &s);
}

int query_total(const ix_inst *ix, ix_scan *scan, const index_scope *scope,
                const stat_query *q, const rec_plan *plan, int64_t *total)
{
    *total = 0;
    qctx c;
    roaring_bitmap_t *cand;
    if (candidates(ix, scope, q, plan, &c, &cand) != 0)
        return -1;
    if (c.counted) { /* cand is stale */
        if (cand)
            roaring_bitmap_free(cand);
        *total = c.total;
        return 0;
    }
    if (c.sums && plan->col) {
        /* the candidates are the rows of a running sum, and none is left
         * to test */
        if (cand)
            roaring_bitmap_free(cand);
        *total = c.sums[plan->sum_k];
        return 0;
    }
    if (cand && plan->col && c.n_ranges && !c.n_subs &&
        roaring_bitmap_get_cardinality(cand) == ix->ids.n) {
        /* every image is a candidate: the ranges over the whole columns,
         * where a free row counts 0 (rows_remove) whatever its values */
        roaring_bitmap_free(cand);
        *total = (int64_t)ranges_sum(ix, scan, c.ranges, c.n_ranges, plan->col);
        return 0;
    }
    row_set sel;
    if (finish(&c, cand, &sel) != 0)
        return -1;
    int rc = rec_total(ix, plan, &sel, total);
    row_set_free(&sel);
    return rc;
}
