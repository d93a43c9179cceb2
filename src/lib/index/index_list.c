/* index_list.c - the images of one vulnerability or build rule, and the
 * grouped lists (per vulnerability, per build rule), from the postings of
 * the query index (imgsec/list.h).
 *
 * list.c's SQL for these lists groups or filters every record (or
 * per-image aggregate row) of the selection per request. The index
 * already holds the same facts as postings: per (vul_id, vul_type) and
 * per (rule_id, risk_name, level), the images that have such records and
 * how many (index_postings.h). So:
 *
 *   - the selection (scope, image types, per-image conditions) becomes a
 *     bitset over rows, once per request;
 *   - the images of one vulnerability or rule are its postings that fall
 *     in the bitset, laid into a second bitset by rank in id order (the
 *     order cache of index_page.c) and read from there: a page at any
 *     offset costs the postings and the row count, and images of several
 *     terms of one rule are counted once;
 *   - a group list walks every term of the postings, keeps the terms that
 *     pass the key filters and have a posting in the selection, sorts the
 *     kept ones by key and merges equal keys (a vul_id of both types, a
 *     rule_id under several names or levels): total and page come from
 *     there. When every image of the index is selected, a term's images
 *     and records are its posting count and total, read without walking
 *     the postings (the scan time is then read for the page's groups
 *     only).
 *
 * Each vulnerability posting also carries the image's highest severity
 * rank of that vulnerability (posting.v, vul_agg.rank, kept at ingest):
 * a group's level is the highest v of its postings in the selection, a
 * severity filter keeps the groups (or, for the images of one
 * vulnerability, the postings) whose rank is in range. It also carries
 * the image's highest CVSS score and its representative record (seq and
 * CVSS score, vul_agg.rep_seq/rep_cvss, as pcvss codes): a group's
 * representative - the highest rank, then CVSS score, then the lowest
 * (image, seq) - is the best of its postings in the selection (the order
 * decomposes per image), its CVSS score the highest; list.c then reads
 * the page's representative records by primary key for their texts.
 *
 * The vulnerability terms in key order, with their postings summed per
 * image type, are cached in the instance until its next write
 * (vul_terms_get): a grouped list does not sort the terms per request,
 * and one whose selection is exactly some image types reads the sums
 * instead of walking every posting (groups_by_type). One vul_id
 * (ListVulnerabilityCve, cve_id) is looked up by key. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imgsec/list.h"
#include "index_internal.h"
#include "index_key.h"

/* ---- the selection as a bitset over rows ---- */

typedef struct {
    uint64_t *bits;
    size_t words;
    int64_t n;    /* rows set */
    bool all;     /* every image of the index is set */
} selbits;

static bool bit_get(const uint64_t *b, uint32_t i)
{
    return (b[i >> 6] >> (i & 63)) & 1;
}

static bool row_matches(const ix_inst *ix, uint32_t row, const index_image_match *m)
{
    if (!m)
        return true;
    const ix_row *r = &ix->rows[row];
    if (m->ref) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRId64, r->id);
        size_t len, n = strlen(m->ref);
        const char *cid = row_str(r, SA_image_id, &len);
        if (strcmp(buf, m->ref) != 0 && !(len == n && memcmp(cid, m->ref, n) == 0))
            return false;
    }
    if (m->name) {
        size_t len;
        const char *name = row_str(r, SA_image_name, &len);
        if (!memmem(name, len, m->name, strlen(m->name)))
            return false;
    }
    return true;
}

static int sel_make(const ix_inst *ix, const row_set *sel, unsigned type_mask,
                    const index_image_match *m, selbits *out)
{
    *out = (selbits){0};
    out->words = ((size_t)ix->n_rows + 63) / 64;
    if (!(out->bits = calloc(out->words ? out->words : 1, sizeof *out->bits)))
        return -1;
    if (!sel->bm && !sel->arr)
        return 0;
    uint32_t buf[512];
    size_t k;
    rs_iter it;
    rs_iter_init(&it, sel);
    while ((k = rs_iter_next(&it, buf, sizeof buf / sizeof buf[0])))
        for (size_t i = 0; i < k; i++) {
            uint32_t row = buf[i];
            if ((type_mask && !(type_mask & (1u << ix->rows[row].type))) ||
                !row_matches(ix, row, m))
                continue;
            out->bits[row >> 6] |= 1ull << (row & 63);
            out->n++;
        }
    out->all = (uint64_t)out->n == (uint64_t)ix->ids.n;
    return 0;
}

/* ---- the images of some terms, in id order ---- */

typedef bool (*term_pred)(const pterm *t, const void *arg);

typedef struct {
    const postings *(*which)(const ix_inst *ix);
    term_pred pred;      /* NULL: the one term key/klen */
    const void *pred_arg;
    const char *key;
    size_t klen;
    unsigned type_mask;
    const index_image_match *m;
    int v_lo, v_hi; /* postings' v must be in [v_lo, v_hi] */
    int64_t offset, limit, *total, *ids;
    size_t *n_ids;
} img_ctx;

static void mark_term(const img_ctx *c, const pterm *t, const selbits *s, const uint32_t *rank_of,
                      uint64_t *by_rank)
{
    for (uint32_t k = 0; k < t->len; k++) {
        uint32_t row = t->p[k].row;
        if (bit_get(s->bits, row) && t->p[k].v >= c->v_lo && t->p[k].v <= c->v_hi) {
            uint32_t rank = rank_of[row];
            by_rank[rank >> 6] |= 1ull << (rank & 63);
        }
    }
}

static int images_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    img_ctx *c = arg;
    *c->total = 0;
    *c->n_ids = 0;
    const postings *P = c->which(ix);
    const pterm *one = NULL;
    if (!c->pred && !(one = strmap_get(&P->map, c->key, c->klen)))
        return 0;
    selbits s;
    const struct ix_order *o = order_get(ix, INDEX_ORDER_ID);
    uint64_t *by_rank = calloc(((size_t)ix->n_rows + 63) / 64 + 1, sizeof *by_rank);
    if (!o || !by_rank || sel_make(ix, sel, c->type_mask, c->m, &s) != 0) {
        free(by_rank);
        return -1;
    }
    const uint32_t *rank_of = order_rank_of(o), *row_of = order_by_rank(o);
    if (one)
        mark_term(c, one, &s, rank_of, by_rank);
    else
        for (uint32_t id = 0; id < P->n_ids; id++)
            if (P->terms[id] && c->pred(P->terms[id], c->pred_arg))
                mark_term(c, P->terms[id], &s, rank_of, by_rank);
    int64_t total = 0, skip = c->offset;
    for (size_t w = 0; w < s.words; w++) {
        uint64_t b = by_rank[w];
        int64_t n = __builtin_popcountll(b);
        total += n;
        if ((int64_t)*c->n_ids >= c->limit)
            continue;
        if (skip >= n) {
            skip -= n;
            continue;
        }
        for (; b && (int64_t)*c->n_ids < c->limit; b &= b - 1) {
            if (skip > 0) {
                skip--;
                continue;
            }
            c->ids[(*c->n_ids)++] = ix->rows[row_of[w * 64 + (size_t)__builtin_ctzll(b)]].id;
        }
    }
    *c->total = total;
    free(s.bits);
    free(by_rank);
    return 0;
}

static const postings *vul_postings(const ix_inst *ix)
{
    return &ix->vuls;
}

static const postings *build_postings(const ix_inst *ix)
{
    return &ix->builds;
}

static int run_images(imgsec_index *ix, const index_scope *scope, img_ctx *c, imgsec_err *err)
{
    *c->total = 0;
    *c->n_ids = 0;
    if (c->offset < 0 || c->limit < 0 || c->limit > LIST_LIMIT_MAX)
        return err_set(err, IMGSEC_EINVAL, "index: bad page request");
    stat_query q;
    filter_init(&q, REPORT_VULNERABILITY);
    q.operate_all = true;
    return with_selection(ix, scope, &q, images_use, c, err);
}

int index_vul_images(imgsec_index *ix, const index_scope *scope, unsigned type_mask,
                     const index_image_match *m, const char *vul_id, vul_type type,
                     int rank_lo, int rank_hi, int64_t offset, int64_t limit, int64_t *total,
                     int64_t *ids, size_t *n_ids, imgsec_err *err)
{
    ixkey k;
    key_init(&k);
    key_vul(&k, vul_id ? vul_id : "", (unsigned char)type);
    img_ctx c = {vul_postings, NULL, NULL, k.p, k.len, type_mask, m, rank_lo, rank_hi,
                 offset, limit, total, ids, n_ids};
    int rc = k.failed ? err_set(err, IMGSEC_EINTERNAL, "out of memory")
                      : run_images(ix, scope, &c, err);
    key_free(&k);
    return rc;
}

static bool rule_is(const pterm *t, const void *arg)
{
    key_build_parts kp;
    key_build_split(t->key, t->klen, &kp);
    const char *rule = arg;
    return kp.rule_len == strlen(rule) && memcmp(kp.rule, rule, kp.rule_len) == 0;
}

int index_build_images(imgsec_index *ix, const index_scope *scope, unsigned type_mask,
                       const index_image_match *m, const char *rule_id, int64_t offset,
                       int64_t limit, int64_t *total, int64_t *ids, size_t *n_ids,
                       imgsec_err *err)
{
    img_ctx c = {build_postings, rule_is, rule_id ? rule_id : "", NULL, 0, type_mask, m, 0,
                 UINT8_MAX, offset, limit, total, ids, n_ids};
    return run_images(ix, scope, &c, err);
}

/* ---- groups ---- */

/* One kept term: its key's group part, and its numbers in the selection. */
typedef struct {
    const pterm *t;
    const char *gkey; /* vul_id or rule_id (not NUL-terminated for rules) */
    size_t glen;
    const char *name; /* rules: risk_name */
    size_t name_len;
    int level;
    int rank; /* vulnerabilities: the highest posting v in the selection; -1: not computed */
    int64_t images, records;
    uint32_t gid; /* vulnerabilities: the vul_id's number in key order (ix_terms) */
} kept;

static int kept_cmp(const void *a, const void *b)
{
    const kept *x = a, *y = b;
    size_t n = x->glen < y->glen ? x->glen : y->glen;
    int c = memcmp(x->gkey, y->gkey, n);
    if (c)
        return c;
    return (x->glen > y->glen) - (x->glen < y->glen);
}

typedef struct {
    bool build;
    const index_group_req *r;
    int64_t *total;
    index_group *out;
    size_t *n_out;
} grp_ctx;

static bool contains(const char *s, size_t n, const char *needle)
{
    return !needle || memmem(s, n, needle, strlen(needle));
}

/* Does term t pass the key filters? Fills kp's key parts. */
static bool term_passes(const grp_ctx *c, const pterm *t, kept *kp)
{
    const index_group_req *r = c->r;
    *kp = (kept){.t = t, .level = -1, .rank = -1};
    if (c->build) {
        key_build_parts b;
        key_build_split(t->key, t->klen, &b);
        *kp = (kept){.t = t, .gkey = b.rule, .glen = b.rule_len, .name = b.risk,
                     .name_len = b.risk_len, .level = b.level, .rank = -1};
        if (r->level >= 0 && b.level != r->level)
            return false;
        if (!contains(b.risk, b.risk_len, r->name_contains))
            return false;
    } else {
        kp->gkey = t->key;
        kp->glen = t->klen - 2; /* vul_id, NUL, type byte */
        if (r->vul_type >= 0 && (unsigned char)t->key[t->klen - 1] != (unsigned)r->vul_type)
            return false;
        if (r->equals && (strlen(r->equals) != kp->glen ||
                          memcmp(kp->gkey, r->equals, kp->glen) != 0 ||
                          (r->equals_cve && (kp->glen < 4 || strncasecmp(kp->gkey, "CVE-", 4)))))
            return false;
    }
    for (int i = 0; i < 2; i++)
        if (!contains(kp->gkey, kp->glen, r->contains[i]))
            return false;
    return true;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Is posting p (of image id) a better representative than the best so far
 * (*best of image best_id; NULL: none)? Higher rank, higher CVSS code,
 * lower image id, lower seq. */
static bool rep_better(const posting *p, int64_t id, const posting *best, int64_t best_id)
{
    if (!best || p->v != best->v)
        return !best || p->v > best->v;
    if (p->rcvss != best->rcvss)
        return p->rcvss > best->rcvss;
    return id != best_id ? id < best_id : p->seq < best->seq;
}

/* The group of kept terms k[0..n) (equal keys): images, scan time, least
 * image id from their postings in the selection; images of several terms
 * counted once; vulnerabilities: the representative and the highest CVSS
 * score. */
static int group_fill(const ix_inst *ix, const selbits *s, const kept *k, size_t n,
                      index_group *g, bool build)
{
    int rank = -1;
    const posting *best = NULL;
    int64_t best_id = 0;
    uint16_t cvss = 0;
    g->held = true;
    g->scan_time = INT64_MIN;
    g->min_image = INT64_MAX;
    /* several terms (a vul_id of both types): an image is counted once,
     * marked in a bitset over rows (a sort of their rows cost a third of
     * the first page of ListGlobalVulnerabilities at 100,000 images) */
    uint64_t *seen = n > 1 ? calloc(((size_t)ix->n_rows + 63) / 64 + 1, sizeof *seen) : NULL;
    if (n > 1 && !seen)
        return -1;
    int64_t images = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t q = 0; q < k[i].t->len; q++) {
            uint32_t row = k[i].t->p[q].row;
            if (!bit_get(s->bits, row))
                continue;
            if (k[i].t->p[q].v > rank)
                rank = k[i].t->p[q].v;
            if (!seen) {
                images++;
            } else if (!(seen[row >> 6] & (1ull << (row & 63)))) {
                seen[row >> 6] |= 1ull << (row & 63);
                images++;
            }
            if (ix->scan_time[row] > g->scan_time)
                g->scan_time = ix->scan_time[row];
            if (ix->rows[row].id < g->min_image)
                g->min_image = ix->rows[row].id;
            if (build)
                continue;
            const posting *p = &k[i].t->p[q];
            if (p->cvss == PCVSS_OTHER || p->rcvss == PCVSS_OTHER)
                g->held = false;
            if (p->cvss > cvss)
                cvss = p->cvss;
            if (rep_better(p, ix->rows[row].id, best, best_id)) {
                best = p;
                best_id = ix->rows[row].id;
            }
        }
    free(seen);
    g->images = images;
    if (!build) {
        g->level = rank;
        g->rep_image = best ? best_id : 0;
        g->rep_seq = best ? best->seq : 0;
        g->has_cvss = cvss != 0;
        g->cvss = cvss ? pcvss_value(cvss) : 0;
    }
    return 0;
}

/* The highest posting v of t's postings in the selection (-1: none). */
static int term_rank(const pterm *t, const selbits *s)
{
    int rank = -1;
    for (uint32_t p = 0; p < t->len; p++)
        if ((s->all || bit_get(s->bits, t->p[p].row)) && t->p[p].v > rank)
            rank = t->p[p].v;
    return rank;
}

/* ---- the vulnerability terms in key order ---- */

/* One vulnerability term, and its postings summed per image type. */
typedef struct {
    const pterm *t; /* the term (live while the sums are: a write drops both) */
    uint32_t gid;  /* its vul_id's number: equal for the terms of one vul_id */
    uint8_t type;  /* its vul_type (the key's last byte) */
    int8_t rank[IMAGE_TYPE_COUNT];     /* highest posting v of rows of that type; -1: none */
    uint32_t images[IMAGE_TYPE_COUNT]; /* postings of rows of that type */
    int64_t records[IMAGE_TYPE_COUNT]; /* their n */
} term_sum;

struct ix_terms {
    uint32_t n;
    int64_t rows_of_type[IMAGE_TYPE_COUNT]; /* live rows of each image type */
    term_sum t[];
};

static int term_ptr_cmp(const void *a, const void *b)
{
    const pterm *x = *(const pterm *const *)a, *y = *(const pterm *const *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* The live vulnerability terms sorted by key, each with its postings
 * summed per image type. A key is vul_id, NUL, type byte, and no vul_id
 * holds a NUL, so this is kept_cmp's order (by vul_id, bytewise) with a
 * vul_id's terms next to each other: a grouped list walks it instead of
 * sorting every term per request, and when its selection is exactly some
 * image types (every EP, no image condition: the usual ListGeneralImageVuls
 * and tenant-wide list) reads a term's images, records and rank here
 * instead of walking its postings. Built like the row orders of
 * index_page.c: by the first reader that needs it (one walk of every
 * posting), a racing one frees its copy, any write to the instance drops
 * it (order_drop). NULL when out of memory. */
static const struct ix_terms *vul_terms_get(const ix_inst *ix)
{
    _Atomic(struct ix_terms *) *slot = (_Atomic(struct ix_terms *) *)&ix->vul_terms;
    struct ix_terms *o = atomic_load(slot);
    if (o)
        return o;
    const postings *P = &ix->vuls;
    const pterm **ts = malloc(((size_t)P->n_ids + 1) * sizeof *ts);
    if (!ts || !(o = calloc(1, sizeof *o + ((size_t)P->n_ids + 1) * sizeof o->t[0]))) {
        free(ts);
        return NULL;
    }
    uint32_t n = 0;
    for (uint32_t id = 0; id < P->n_ids; id++)
        if (P->terms[id])
            ts[n++] = P->terms[id];
    qsort(ts, n, sizeof *ts, term_ptr_cmp);
    uint32_t gid = 0;
    for (uint32_t i = 0; i < n; i++) {
        const pterm *t = ts[i];
        term_sum *e = &o->t[i];
        if (i > 0 && (ts[i - 1]->klen != t->klen || memcmp(ts[i - 1]->key, t->key, t->klen - 2)))
            gid++;
        e->t = t;
        e->gid = gid;
        e->type = (uint8_t)t->key[t->klen - 1];
        memset(e->rank, -1, sizeof e->rank);
        for (uint32_t q = 0; q < t->len; q++) {
            const posting *p = &t->p[q];
            unsigned ty = ix->rows[p->row].type;
            if (ty >= IMAGE_TYPE_COUNT)
                continue;
            e->images[ty]++;
            e->records[ty] += p->n;
            if ((int)p->v > e->rank[ty])
                e->rank[ty] = (int8_t)p->v;
        }
    }
    o->n = n;
    for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
        o->rows_of_type[ty] = (int64_t)roaring_bitmap_get_cardinality(ix->by_type[ty]);
    free(ts);
    struct ix_terms *none = NULL;
    if (!atomic_compare_exchange_strong(slot, &none, o)) {
        free(o);
        return none;
    }
    return o;
}

/* groups_use when the selection is exactly the rows of some image types
 * and no key filter applies: one pass over the summed terms in key order,
 * a vul_id's terms (at most one per vul_type) merged on the way, and the
 * postings walked for the page's groups only (group_fill). */
static int groups_by_type(const ix_inst *ix, const grp_ctx *c, const selbits *s,
                          const struct ix_terms *o, unsigned types)
{
    const index_group_req *r = c->r;
    int64_t total = 0, skip = r->offset;
    kept ks[VUL_TYPE_COUNT + 1];
    for (uint32_t j = 0; j < o->n;) {
        uint32_t gid = o->t[j].gid;
        size_t nk = 0;
        int rank = -1;
        for (; j < o->n && o->t[j].gid == gid; j++) {
            const term_sum *e = &o->t[j];
            if (r->vul_type >= 0 && e->type != (unsigned)r->vul_type)
                continue;
            kept k = {.t = e->t, .level = -1, .rank = -1, .gid = gid};
            for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
                if (types & (1u << ty)) {
                    k.images += e->images[ty];
                    k.records += e->records[ty];
                    if (e->rank[ty] > k.rank)
                        k.rank = e->rank[ty];
                }
            if (k.images == 0 || nk > VUL_TYPE_COUNT)
                continue;
            if (k.rank > rank)
                rank = k.rank;
            ks[nk++] = k;
        }
        if (nk == 0 || (r->by_rank && (rank < r->rank_lo || rank > r->rank_hi)))
            continue;
        total++;
        if (skip > 0) {
            skip--;
            continue;
        }
        if ((int64_t)*c->n_out >= r->limit)
            continue;
        index_group *g = &c->out[*c->n_out];
        *g = (index_group){.level = -1};
        (*c->n_out)++;
        for (size_t x = 0; x < nk; x++)
            g->records += ks[x].records;
        if (!(g->key = dupn(ks[0].t->key, ks[0].t->klen - 2)) ||
            group_fill(ix, s, ks, nk, g, false) != 0)
            return -1;
    }
    *c->total = total;
    return 0;
}

static int groups_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    grp_ctx *c = arg;
    const index_group_req *r = c->r;
    const postings *P = c->build ? &ix->builds : &ix->vuls;
    selbits s;
    kept *ks = malloc(((size_t)P->n_ids + 1) * sizeof *ks);
    if (!ks || sel_make(ix, sel, r->type_mask, r->m, &s) != 0) {
        free(ks);
        return -1;
    }
    /* vulnerabilities: the terms in key order (no sort per request), and
     * per image type their sums: when the selection is exactly the rows
     * of the requested types (sel_make keeps only those, so equal counts
     * mean equal sets), a term's numbers are read from there */
    const struct ix_terms *order = c->build ? NULL : vul_terms_get(ix);
    if (!c->build && !order) {
        free(ks);
        free(s.bits);
        return -1;
    }
    unsigned types = r->type_mask ? r->type_mask : (1u << IMAGE_TYPE_COUNT) - 1;
    int64_t typed_rows = 0;
    for (int ty = 0; order && ty < IMAGE_TYPE_COUNT; ty++)
        if (types & (1u << ty))
            typed_rows += order->rows_of_type[ty];
    bool by_type = order && !r->m && s.n == typed_rows;
    bool key_filters = r->equals || r->contains[0] || r->contains[1];
    if (by_type && !key_filters) {
        int rc = s.n > 0 ? groups_by_type(ix, c, &s, order, types) : 0;
        free(ks);
        free(s.bits);
        return rc;
    }
    /* one vul_id (ListVulnerabilityCve, cve_id): its terms by key, in
     * type order (= key order), instead of a walk of every term */
    const pterm *few[VUL_TYPE_COUNT];
    uint32_t n_few = 0;
    bool one = !c->build && r->equals;
    for (int vt = 0; one && vt < VUL_TYPE_COUNT; vt++) {
        if (r->vul_type >= 0 && vt != r->vul_type)
            continue;
        ixkey kk;
        key_init(&kk);
        key_vul(&kk, r->equals, (unsigned char)vt);
        const pterm *t = kk.failed ? NULL : strmap_get(&P->map, kk.p, kk.len);
        one = !kk.failed;
        key_free(&kk);
        if (t)
            few[n_few++] = t;
    }
    uint32_t n_walk = one ? n_few : order ? order->n : P->n_ids;
    size_t nk = 0;
    for (uint32_t j = 0; j < n_walk && s.n > 0; j++) {
        const term_sum *e = !one && order ? &order->t[j] : NULL;
        if (e && r->vul_type >= 0 && e->type != (unsigned)r->vul_type)
            continue;
        const pterm *t = one ? few[j] : e ? e->t : P->terms[j];
        kept k;
        if (!t || t->len == 0 || !term_passes(c, t, &k))
            continue;
        if (by_type && e) {
            int rank = -1;
            for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
                if (types & (1u << ty)) {
                    k.images += e->images[ty];
                    k.records += e->records[ty];
                    if (e->rank[ty] > rank)
                        rank = e->rank[ty];
                }
            if (k.images == 0)
                continue;
            if (r->by_rank)
                k.rank = rank;
            k.gid = e->gid;
            ks[nk++] = k;
            continue;
        }
        if (e)
            k.gid = e->gid;
        if (s.all) {
            k.images = t->len;
            k.records = t->total;
        } else {
            for (uint32_t p = 0; p < t->len; p++)
                if (bit_get(s.bits, t->p[p].row)) {
                    k.images++;
                    k.records += t->p[p].n;
                }
            if (k.images == 0)
                continue;
        }
        if (!c->build && r->by_rank)
            k.rank = term_rank(t, &s);
        ks[nk++] = k;
    }
    if (!order)
        qsort(ks, nk, sizeof *ks, kept_cmp);
    int64_t total = 0, skip = r->offset;
    int rc = 0;
    for (size_t i = 0; i < nk && rc == 0;) {
        size_t j = i + 1;
        while (j < nk && (order ? ks[i].gid == ks[j].gid : kept_cmp(&ks[i], &ks[j]) == 0))
            j++;
        if (!c->build && r->by_rank) { /* the merged group's highest rank */
            int rank = -1;
            for (size_t x = i; x < j; x++)
                if (ks[x].rank > rank)
                    rank = ks[x].rank;
            if (rank < r->rank_lo || rank > r->rank_hi) {
                i = j;
                continue;
            }
        }
        total++;
        if (skip > 0) {
            skip--;
        } else if ((int64_t)*c->n_out < r->limit) {
            index_group *g = &c->out[*c->n_out];
            *g = (index_group){.level = -1};
            (*c->n_out)++;
            const kept *best = &ks[i];
            for (size_t x = i; x < j; x++) {
                g->records += ks[x].records;
                if (ks[x].level > g->level)
                    g->level = ks[x].level;
                size_t n = ks[x].name_len < best->name_len ? ks[x].name_len : best->name_len;
                int cmp = c->build ? memcmp(ks[x].name, best->name, n) : 0;
                if (cmp > 0 || (cmp == 0 && ks[x].name_len > best->name_len))
                    best = &ks[x];
            }
            if (!(g->key = dupn(ks[i].gkey, ks[i].glen)) ||
                (c->build && !(g->name = dupn(best->name, best->name_len))) ||
                group_fill(ix, &s, &ks[i], j - i, g, c->build) != 0)
                rc = -1;
        }
        i = j;
    }
    *c->total = total;
    free(ks);
    free(s.bits);
    return rc;
}

static int run_groups(imgsec_index *ix, const index_scope *scope, const index_group_req *r,
                      bool build, int64_t *total, index_group *out, size_t *n_out,
                      imgsec_err *err)
{
    *total = 0;
    *n_out = 0;
    if (!r || r->offset < 0 || r->limit < 0 || r->limit > LIST_LIMIT_MAX)
        return err_set(err, IMGSEC_EINVAL, "index: bad group request");
    stat_query q;
    filter_init(&q, build ? REPORT_BUILD_COMMAND_RISKS : REPORT_VULNERABILITY);
    q.operate_all = true;
    grp_ctx c = {build, r, total, out, n_out};
    return with_selection(ix, scope, &q, groups_use, &c, err);
}

int index_vul_groups(imgsec_index *ix, const index_scope *scope, const index_group_req *r,
                     int64_t *total, index_group *out, size_t *n_out, imgsec_err *err)
{
    return run_groups(ix, scope, r, false, total, out, n_out, err);
}

int index_build_groups(imgsec_index *ix, const index_scope *scope, const index_group_req *r,
                       int64_t *total, index_group *out, size_t *n_out, imgsec_err *err)
{
    return run_groups(ix, scope, r, true, total, out, n_out, err);
}

void index_groups_free(index_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].key);
        free(g[i].name);
        g[i].key = g[i].name = NULL;
    }
}
