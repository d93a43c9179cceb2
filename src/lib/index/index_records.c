/* index_records.c - the records of the selected images that pass the
 * record filters (statistic.md: vul_type, vul_id_list, build_command_*).
 *
 * A plan says where the numbers come from. Without record filters (or with
 * vul_type alone) it is a column of per-image counts, summed over the
 * selection: read from the column's running sum when every image is
 * selected, through the complement when more than half of the rows are
 * (the running sum less the rows not selected; a free row counts 0), else
 * row by row. Otherwise it is a sorted set of posting terms - each distinct
 * (vul_id, vul_type), or each distinct (rule_id, risk_name, level), that
 * passes the filters - so a list naming a vul_id twice still counts its
 * records once. Such a plan is summed from whichever side is cheaper:
 *
 *   - the terms' side: walk their postings and keep those whose row is
 *     selected (a dense bitset of the selection when the postings are many,
 *     else a membership test per posting);
 *   - the rows' side: walk each selected row's own references and keep
 *     those into the plan's terms (for small selections).
 */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

#include "index_bits.h"
#include "index_key.h"

#define CHUNK 256
#define ROW_SIDE_WEIGHT 10
#define ROW_FIXED_REFS 4 /* the row's own cache misses, in references */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rec_plan_free(rec_plan *plan)
{
    free(plan->terms);
    free(plan->term_bits);
    *plan = (rec_plan){0};
}

bool rec_plan_empty(const rec_plan *plan)
{
    return !plan->col && plan->n_terms == 0;
}

#define LOOKUP_BATCH 64

/* One (vul_id, vul_type) key of a batch (key_vul_write), kept in buf. */
typedef struct {
    size_t off, len;
    uint64_t hash;
} batch_key;

static void plan_mark(rec_plan *plan, uint32_t term)
{
    plan->term_bits[term >> 6] |= UINT64_C(1) << (term & 63);
}

/* Terms of the (vul_id, vul_type) pairs the query names. A list of 2,048
 * ids is up to 4,096 lookups in a map far larger than the cache, so they
 * run in batches: hash every key of a batch and prefetch its slot, then
 * look each up (the slot is in the cache by then) and prefetch the term,
 * then read the term ids. */
static int vul_terms(const ix_inst *ix, const stat_query *q, rec_plan *plan)
{
    char *buf = malloc(LOOKUP_BATCH * KEY_VUL_LEN(FILTER_VUL_ID_ITEM_MAX * 4));
    if (!buf)
        return -1;
    batch_key keys[LOOKUP_BATCH];
    const pterm *found[LOOKUP_BATCH];
    size_t i = 0;
    while (i < q->n_vul_ids) {
        size_t nk = 0, used = 0;
        for (; i < q->n_vul_ids && nk + VUL_TYPE_COUNT <= LOOKUP_BATCH; i++) {
            const char *id = q->vul_ids[i];
            size_t len = id ? strlen(id) : 0;
            if (!id || len > FILTER_VUL_ID_ITEM_MAX * 4) /* no such term (bytes of 128 chars) */
                continue;
            for (int vt = 0; vt < VUL_TYPE_COUNT; vt++) {
                if (q->vul_type >= 0 && vt != q->vul_type)
                    continue;
                char *k = buf + used;
                size_t klen = key_vul_write(k, id, len, (unsigned char)vt);
                keys[nk] = (batch_key){used, klen, hash_bytes(k, klen)};
                strmap_prefetch(&ix->vuls.map, keys[nk].hash);
                used += klen;
                nk++;
            }
        }
        for (size_t j = 0; j < nk; j++) {
            found[j] = strmap_get_hashed(&ix->vuls.map, buf + keys[j].off, keys[j].len,
                                         keys[j].hash);
            if (found[j])
                __builtin_prefetch(found[j]);
        }
        for (size_t j = 0; j < nk; j++)
            if (found[j])
                plan_mark(plan, found[j]->id);
    }
    free(buf);
    return 0;
}

/* Terms of the build-command risks passing level, name and rule ids.
 * There are few distinct risks (rules x names x levels), so all are tested. */
static int build_terms(const ix_inst *ix, const stat_query *q, rec_plan *plan)
{
    const postings *P = &ix->builds;
    const char **rules = NULL;
    if (q->n_build_rule_ids && !(rules = malloc(q->n_build_rule_ids * sizeof *rules)))
        return -1;
    size_t n_rules = 0;
    for (size_t i = 0; i < q->n_build_rule_ids; i++)
        if (q->build_rule_ids[i])
            rules[n_rules++] = q->build_rule_ids[i];
    if (n_rules)
        qsort(rules, n_rules, sizeof *rules, cmp_str);
    const char *name = q->build_name && *q->build_name ? q->build_name : NULL;
    size_t name_len = name ? strlen(name) : 0;
    for (uint32_t id = 0; id < P->n_ids; id++) {
        const pterm *t = P->terms[id];
        if (!t)
            continue;
        key_build_parts k;
        key_build_split(t->key, t->klen, &k);
        if (q->build_level >= 0 && k.level != q->build_level)
            continue;
        if (name && !dict_contains(k.risk, k.risk_len, name, name_len))
            continue;
        /* the rule is the key's first part, so t->key reads as the rule
         * id alone (a C string) */
        if (q->n_build_rule_ids &&
            (!n_rules || !bsearch(&t->key, rules, n_rules, sizeof *rules, cmp_str)))
            continue;
        plan_mark(plan, id);
    }
    free(rules);
    return 0;
}

/* The plan's terms as a bitset over term ids (filled by vul_terms or
 * build_terms), then as the ascending array the terms' side walks. */
static int terms_make(const ix_inst *ix, const stat_query *q, const postings *P, rec_plan *plan)
{
    plan->P = P;
    size_t words = ((size_t)P->n_ids + 63) / 64;
    plan->term_bits = calloc(words ? words : 1, sizeof *plan->term_bits);
    if (!plan->term_bits)
        return -1;
    if ((P == &ix->vuls ? vul_terms(ix, q, plan) : build_terms(ix, q, plan)) != 0)
        return -1;
    size_t n = 0;
    for (size_t w = 0; w < words; w++)
        n += (size_t)__builtin_popcountll(plan->term_bits[w]);
    if (n == 0)
        return 0;
    if (!(plan->terms = malloc(n * sizeof *plan->terms)))
        return -1;
    for (size_t w = 0; w < words; w++)
        for (uint64_t b = plan->term_bits[w]; b; b &= b - 1)
            plan->terms[plan->n_terms++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
    return 0;
}

int rec_plan_make(const ix_inst *ix, const stat_query *q, rec_plan *plan, imgsec_err *err)
{
    *plan = (rec_plan){0};
    int rc = 0;
    if (q->report == REPORT_VULNERABILITY && (q->vul_type >= 0 || q->n_vul_ids > 0)) {
        if (q->vul_type >= VUL_TYPE_COUNT)
            return err_set(err, IMGSEC_EINVAL, "vul_type: must be %s", vul_type_choices());
        if (q->n_vul_ids == 0) {
            plan->col = ix->vul_counts[q->vul_type];
            plan->sum_k = REPORT_TYPE_COUNT + q->vul_type;
            return IMGSEC_OK;
        }
        rc = terms_make(ix, q, &ix->vuls, plan);
    } else if (q->report == REPORT_BUILD_COMMAND_RISKS &&
               (q->build_level >= 0 || (q->build_name && *q->build_name) ||
                q->n_build_rule_ids > 0)) {
        if (q->build_level >= SEVERITY_COUNT)
            return err_set(err, IMGSEC_EINVAL, "build_command_risk_level: out of range");
        rc = terms_make(ix, q, &ix->builds, plan);
    } else {
        plan->col = ix->counts[q->report];
        plan->sum_k = (int)q->report;
    }
    if (rc != 0) {
        rec_plan_free(plan);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

static bool plan_has(const rec_plan *plan, uint32_t term)
{
    return plan->term_bits && (plan->term_bits[term >> 6] >> (term & 63) & 1);
}

/* Records of one row passing the plan. */
static int64_t rec_row(const rec_plan *plan, uint32_t row)
{
    if (plan->col)
        return plan->col[row];
    int64_t sum = 0;
    uint32_t n;
    const pref *refs = postings_row_refs(plan->P, row, &n);
    for (uint32_t i = 0; i < n; i++)
        if (plan_has(plan, refs[i].term))
            sum += plan->P->terms[refs[i].term]->p[refs[i].pos].n;
    return sum;
}

static int64_t sum_rows(const rec_plan *plan, const row_set *s)
{
    rs_iter it;
    uint32_t buf[CHUNK];
    size_t k;
    int64_t sum = 0;
    rs_iter_init(&it, s);
    while ((k = rs_iter_next(&it, buf, CHUNK)))
        for (size_t i = 0; i < k; i++)
            sum += rec_row(plan, buf[i]);
    return sum;
}

int64_t rec_col_rows(const uint32_t *col, const uint32_t *rows, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += col[rows[i]];
    return sum;
}

/* col summed over the rows of bitmap bm: its rows copied out in bulk (the
 * bitmap's iterator costs about three times the sum itself). */
static int sum_col_bitmap(const roaring_bitmap_t *bm, const uint32_t *col, int64_t *sum)
{
    uint64_t n = roaring_bitmap_get_cardinality(bm);
    uint32_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        return -1;
    roaring_bitmap_to_uint32_array(bm, rows);
    *sum = rec_col_rows(col, rows, n);
    free(rows);
    return 0;
}

/* The plan's count column over the rows of s. A bitmap of more than half
 * of the instance's rows is summed through its complement: the running
 * sum less the rows not selected (a free row counts 0 in every column,
 * rows_remove), so selecting 90 % of a fleet reads a tenth of it. */
static int sum_col(const ix_inst *ix, const rec_plan *plan, const row_set *s, int64_t *total)
{
    if (!s->bm) {
        *total = rec_col_rows(plan->col, s->arr, s->n);
        return 0;
    }
    if (roaring_bitmap_get_cardinality(s->bm) <= ix->n_rows / 2)
        return sum_col_bitmap(s->bm, plan->col, total);
    roaring_bitmap_t *rest = roaring_bitmap_flip(s->bm, 0, ix->n_rows);
    if (!rest)
        return -1;
    int64_t out;
    int rc = sum_col_bitmap(rest, plan->col, &out);
    roaring_bitmap_free(rest);
    *total = ix->col_sums[plan->sum_k] - out;
    return rc;
}

static bool set_has(const row_set *s, uint32_t row)
{
    if (s->bm)
        return roaring_bitmap_contains(s->bm, row);
    return s->n && bsearch(&row, s->arr, s->n, sizeof row, bits_cmp_u32) != NULL;
}

/* The terms' side when every row is selected: each term's running total,
 * so a 2,048-id vul_id_list over the whole fleet reads 4,096 numbers
 * instead of hundreds of thousands of postings. */
static int64_t sum_terms_all(const rec_plan *plan)
{
    int64_t sum = 0;
    for (size_t i = 0; i < plan->n_terms; i++)
        sum += plan->P->terms[plan->terms[i]]->total;
    return sum;
}

/* The terms' side, testing membership in the row set itself. */
static int64_t sum_terms_probe(const rec_plan *plan, const row_set *s)
{
    int64_t sum = 0;
    for (size_t i = 0; i < plan->n_terms; i++) {
        const pterm *t = plan->P->terms[plan->terms[i]];
        for (uint32_t j = 0; j < t->len; j++)
            if (set_has(s, t->p[j].row))
                sum += t->p[j].n;
    }
    return sum;
}

/* The terms' side, with the selection spread into a dense bitset first. */
static int sum_terms_dense(const ix_inst *ix, const rec_plan *plan, const row_set *s,
                           int64_t *total)
{
    size_t words = ((size_t)ix->n_rows + 63) / 64;
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    if (!bits)
        return -1;
    rs_iter it;
    uint32_t buf[CHUNK];
    size_t k;
    rs_iter_init(&it, s);
    while ((k = rs_iter_next(&it, buf, CHUNK)))
        for (size_t i = 0; i < k; i++)
            bits[buf[i] >> 6] |= UINT64_C(1) << (buf[i] & 63);
    int64_t sum = 0;
    for (size_t i = 0; i < plan->n_terms; i++) {
        const pterm *t = plan->P->terms[plan->terms[i]];
        for (uint32_t j = 0; j < t->len; j++) {
            uint32_t row = t->p[j].row;
            if (bits[row >> 6] >> (row & 63) & 1)
                sum += t->p[j].n;
        }
    }
    free(bits);
    *total = sum;
    return 0;
}

/* Postings of the plan's terms: the work of the terms' side. */
static uint64_t term_side_cost(const rec_plan *plan)
{
    uint64_t cost = 0;
    for (size_t i = 0; i < plan->n_terms; i++)
        cost += plan->P->terms[plan->terms[i]]->len;
    return cost;
}

/* Should the rows' side be taken for `selected` rows? Costs are counted in
 * postings read in sequence: the rows' side reads each selected row's
 * references at scattered addresses (and the postings it hits), about
 * ROW_SIDE_WEIGHT times dearer per reference (measured at 1M images). */
static bool rows_side_cheaper(const ix_inst *ix, const rec_plan *plan, uint64_t selected,
                              uint64_t term_side)
{
    double per_row = ix->ids.n ? (double)plan->P->n_postings / (double)ix->ids.n : 0.0;
    return (double)selected * (per_row + ROW_FIXED_REFS) * ROW_SIDE_WEIGHT < (double)term_side;
}

int rec_each(const ix_inst *ix, const rec_plan *plan, const row_set *s,
             void (*fn)(uint32_t row, int64_t records, void *arg), void *arg)
{
    rs_iter it;
    uint32_t buf[CHUNK];
    size_t k;
    uint64_t selected = row_set_count(s);
    if (selected == 0 || rec_plan_empty(plan))
        return 0;
    int64_t *acc = NULL;
    if (!plan->col && !rows_side_cheaper(ix, plan, selected, term_side_cost(plan))) {
        /* the terms' side: every posting of the plan adds to its row */
        acc = calloc(ix->n_rows ? ix->n_rows : 1, sizeof *acc);
        if (!acc)
            return -1;
        for (size_t i = 0; i < plan->n_terms; i++) {
            const pterm *t = plan->P->terms[plan->terms[i]];
            for (uint32_t j = 0; j < t->len; j++)
                acc[t->p[j].row] += t->p[j].n;
        }
    }
    rs_iter_init(&it, s);
    while ((k = rs_iter_next(&it, buf, CHUNK))) {
        for (size_t i = 0; i < k; i++) {
            int64_t n = acc ? acc[buf[i]] : rec_row(plan, buf[i]);
            if (n > 0)
                fn(buf[i], n, arg);
        }
    }
    free(acc);
    return 0;
}

int rec_total(const ix_inst *ix, const rec_plan *plan, const row_set *s, int64_t *total)
{
    *total = 0;
    uint64_t selected = row_set_count(s);
    if (selected == 0 || rec_plan_empty(plan))
        return 0;
    if (plan->col) {
        /* every image selected: the column's running sum (col_sums) */
        if (selected == ix->ids.n) {
            *total = ix->col_sums[plan->sum_k];
            return 0;
        }
        return sum_col(ix, plan, s, total);
    }
    if (selected == ix->ids.n) {
        /* every image is selected (postings only name live rows): every
         * posting of the plan counts, with no membership test at all */
        *total = sum_terms_all(plan);
        return 0;
    }
    uint64_t term_side = term_side_cost(plan);
    if (rows_side_cheaper(ix, plan, selected, term_side)) {
        *total = sum_rows(plan, s);
        return 0;
    }
    if (term_side * 16 < selected) {
        *total = sum_terms_probe(plan, s);
        return 0;
    }
    return sum_terms_dense(ix, plan, s, total);
}
