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
 * The vulnerability and the build-risk terms in key order, each with its
 * postings summed per image type (images, records, highest rank and CVSS
 * code, the rows of the greatest scan time and least id, the
 * representative posting) and each group's distinct images per type, are
 * cached in the instance until its next write (terms_get): a grouped
 * list does not sort the terms per request, and one whose selection is
 * every image of some types reads a page's groups from the sums without
 * touching a posting (groups_by_type; one vul_id by binary search). The
 * images of one term or rule are cached, on first ask, as ranks of the id
 * order per image type (unit_get), so their page is a binary search and a
 * merge (images_by_type). Other selections walk postings as before. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imgsec/list.h"
#include "imgsec/util.h"
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
        char cbuf[IX_STR_BUF];
        const char *cid = row_str(r, SA_image_id, &len, cbuf);
        if (strcmp(buf, m->ref) != 0 && !(len == n && memcmp(cid, m->ref, n) == 0))
            return false;
    }
    if (m->name) {
        size_t len;
        char nbuf[IX_STR_BUF];
        const char *name = row_str(r, SA_image_name, &len, nbuf);
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
    row_set typed = {0};
    const row_set *rows = row_set_of_types(ix, sel, type_mask, &typed);
    if (!rows) {
        free(out->bits);
        *out = (selbits){0};
        return -1;
    }
    uint32_t buf[512];
    size_t k;
    rs_iter it;
    rs_iter_init(&it, rows);
    while ((k = rs_iter_next(&it, buf, sizeof buf / sizeof buf[0])))
        for (size_t i = 0; i < k; i++) {
            uint32_t row = buf[i];
            if (!row_matches(ix, row, m))
                continue;
            out->bits[row >> 6] |= 1ull << (row & 63);
            out->n++;
        }
    row_set_free(&typed);
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
    uint8_t *vs; /* NULL, or the v of each of ids (one term: its posting's) */
    size_t *n_ids;
} img_ctx;

/* Marks the rows of t that s selects with a posting v in range, by their
 * id rank; v_of (NULL: not wanted) gets each one's v, by row. */
static void mark_term(const img_ctx *c, const pterm *t, const selbits *s, const uint32_t *rank_of,
                      uint64_t *by_rank, uint8_t *v_of)
{
    for (uint32_t k = 0; k < t->len; k++) {
        uint32_t row = t->p[k].row;
        if (bit_get(s->bits, row) && t->p[k].v >= c->v_lo && t->p[k].v <= c->v_hi) {
            uint32_t rank = rank_of[row];
            by_rank[rank >> 6] |= 1ull << (rank & 63);
            if (v_of)
                v_of[row] = t->p[k].v;
        }
    }
}

static int images_by_type(const ix_inst *ix, const row_set *sel, img_ctx *c);

static int images_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    img_ctx *c = arg;
    *c->total = 0;
    *c->n_ids = 0;
    int fast = images_by_type(ix, sel, c);
    if (fast != 0)
        return fast < 0 ? -1 : 0;
    const postings *P = c->which(ix);
    const pterm *one = NULL;
    if (!c->pred && !(one = strmap_get(&P->map, c->key, c->klen)))
        return 0;
    selbits s;
    const struct ix_order *o = order_get(ix, INDEX_ORDER_ID);
    uint64_t *by_rank = calloc(((size_t)ix->n_rows + 63) / 64 + 1, sizeof *by_rank);
    /* the vs of one term's rows (the only case that asks for them) */
    uint8_t *v_of = c->vs && one ? calloc((size_t)ix->n_rows + 1, 1) : NULL;
    if (!o || !by_rank || (c->vs && one && !v_of) || sel_make(ix, sel, c->type_mask, c->m, &s) != 0) {
        free(by_rank);
        free(v_of);
        return -1;
    }
    const uint32_t *rank_of = order_rank_of(o), *row_of = order_by_rank(o);
    if (one)
        mark_term(c, one, &s, rank_of, by_rank, v_of);
    else
        for (uint32_t id = 0; id < P->n_ids; id++)
            if (P->terms[id] && c->pred(P->terms[id], c->pred_arg))
                mark_term(c, P->terms[id], &s, rank_of, by_rank, NULL);
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
            uint32_t row = row_of[w * 64 + (size_t)__builtin_ctzll(b)];
            if (c->vs)
                c->vs[*c->n_ids] = v_of ? v_of[row] : 0;
            c->ids[(*c->n_ids)++] = ix->rows[row].id;
        }
    }
    *c->total = total;
    free(s.bits);
    free(by_rank);
    free(v_of);
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

/* m's conditions go into the selection's query, which has both with the
 * same meaning: the image_name filter is the same byte substring, served
 * by the dictionary's gram postings (the statistic's), and image_id_list
 * names an image by its id in canonical decimal or its content id, found
 * by the id map and the dictionary (the statistic's start_rows) - instead
 * of a test of every selected row in sel_make (ListVulAffectImages
 * image_name=pay at 100,000 images: 9-11 ms, most of it that test;
 * ListImageBuildCommandRisksImages image_id: a decimal print per row,
 * 10-11 ms). *one holds the query's one image_id; NULL: m is done. */
static const index_image_match *match_to_query(const index_image_match *m, stat_query *q,
                                               const char **one)
{
    if (!m || (!m->name && !m->ref))
        return m; /* (a matcher of nothing, kept: it makes a walk, tests compare by it) */
    if (m->name)
        q->image_name = m->name;
    if (m->ref) {
        *one = m->ref;
        q->image_ids = one;
        q->n_image_ids = 1;
        q->operate_all = false;
    }
    return NULL;
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
    const char *one;
    c->m = match_to_query(c->m, &q, &one);
    return with_selection(ix, scope, &q, images_use, c, err);
}

int index_vul_images(imgsec_index *ix, const index_scope *scope, unsigned type_mask,
                     const index_image_match *m, const char *vul_id, vul_type type,
                     int rank_lo, int rank_hi, int64_t offset, int64_t limit, int64_t *total,
                     int64_t *ids, uint8_t *ranks, size_t *n_ids, imgsec_err *err)
{
    ixkey k;
    key_init(&k);
    key_vul(&k, vul_id ? vul_id : "", (unsigned char)type);
    img_ctx c = {vul_postings, NULL, NULL, k.p, k.len, type_mask, m, rank_lo, rank_hi,
                 offset, limit, total, ids, ranks, n_ids};
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
                 UINT8_MAX, offset, limit, total, ids, NULL, n_ids};
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
    uint32_t gid; /* its group's number in key order (ix_terms) */
} kept;

typedef struct {
    bool build;
    const index_group_req *r;
    int64_t *total;
    index_group *out;
    size_t *n_out;
    const char *sel_key; /* the selection's identity (sel_key_make), or NULL */
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
        if (r->contains[i] && !(c->build ? contains(kp->gkey, kp->glen, r->contains[i])
                                         : strstr(kp->gkey, r->contains[i]) != NULL))
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
            if (ix_range_value(ix, IX_Q_SCAN, row) > g->scan_time)
                g->scan_time = ix_range_value(ix, IX_Q_SCAN, row);
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

/* ---- the terms in key order, summed per image type ---- */

/* A term's postings of the rows of one image type, summed: what
 * group_fill finds in them when the selection is every row of that type.
 * Rows, not values, for the scan time and the least image id: the
 * columns do not change while the sums live (a write drops both). */
typedef struct {
    int64_t records;   /* the postings' n */
    uint32_t images;   /* postings */
    uint32_t scan_row; /* a row with the greatest scan time */
    uint32_t min_row;  /* the row with the least image id */
    uint32_t rep;      /* vuls: the representative posting (its index in t->p) */
    uint16_t cvss;     /* vuls: the highest CVSS code */
    bool other;        /* vuls: a posting with a score the codes do not hold */
} type_sum;

/* A term as a request's pass over every term reads it (20 bytes). */
typedef struct {
    uint32_t gid;   /* its group's number in key order: equal for the terms of a
                       vul_id (one per vul_type) or of a rule_id */
    uint32_t sums;  /* its first type_sum in ix_terms.sums, one per bit of types */
    uint8_t type;   /* vuls: its vul_type (the key's last byte) */
    uint8_t types;  /* bit ty: it has postings of rows of image type ty */
    int8_t rank[IMAGE_TYPE_COUNT]; /* vuls: the highest posting v of such rows; -1: none */
} term_head;

/* The images of one vulnerability term or of one rule's terms, as ranks
 * of the id order (index_page.c), per image type, ascending and distinct:
 * a page of them at any offset is a binary search and a merge. */
struct unit_rows {
    uint32_t off[IMAGE_TYPE_COUNT + 1]; /* image type ty: r[off[ty] .. off[ty + 1]) */
    uint8_t vmax;                       /* the highest posting v among them */
    uint8_t *v;                         /* per r[i]: the highest posting v of its row */
    uint32_t r[];
};

/* The groups a pass of groups_by_type keeps for one filter (image types,
 * vul_type, rank range), in key order: cached per filter in the terms
 * (PASS_SLOTS of them, first come), so the total is n and a page at any
 * offset is g[offset ..], no pass over the heads. */
struct pass_list {
    uint32_t key; /* pass_key */
    uint32_t n;
    uint32_t g[];
};
#define PASS_SLOTS 16

/* The vulnerability groups whose vul_id contains one or two needles
 * (ListGlobalVulnerabilities vul_id, ListGeneralImageVuls vul_name), in
 * key order: cached per needle pair in the terms (NEEDLE_SLOTS, first
 * come), so a request tests its filter on those groups' heads only
 * instead of reading every term's key (100,000 terms at 100,000 images,
 * two cache misses each: 16-24 ms). */
struct needle_groups {
    char *needle[2]; /* NULL: none */
    uint32_t n;
    uint32_t g[];
};
#define NEEDLE_SLOTS 16

/* What one selection that is not every image of some types (an EP scope,
 * an image name or id) holds of each term with rows in it, in key order:
 * the walk of every posting against the selection's bits that groups_use
 * made per request (35-60 ms at 100,000 images for an EP-scoped user),
 * done once per selection and instance. Cached in the terms under the
 * selection's key (sel_key_make; SEL_SLOTS, first come). */
typedef struct {
    uint32_t j;          /* the term's index in key order */
    uint32_t gid;        /* its group (term_head) */
    uint32_t glen;       /* its vul_id's length (vulnerabilities) */
    int16_t rank;        /* the highest posting v in the selection (vulnerabilities) */
    uint8_t type;        /* its vul_type (term_head) */
    bool held;           /* vulnerabilities, from here on: group_fill's numbers of
                          * the term alone in the selection */
    uint16_t cvss;
    int64_t images, records;
    int64_t gimages;     /* its group's distinct images over all its terms */
    int64_t scan_time, min_image, best_id;
    const posting *best;
} sel_term;
struct sel_cache {
    char *key;
    selbits s;
    size_t n;
    sel_term e[];
};
#define SEL_SLOTS 4

struct ix_terms {
    bool build;
    uint32_t n, n_groups;
    int64_t rows_of_type[IMAGE_TYPE_COUNT]; /* live rows of each image type */
    term_head *head;     /* n, in key order */
    const pterm **t;     /* n: the terms (live while the sums are: a write drops both) */
    type_sum *sums;
    uint32_t *gfirst;    /* n_groups + 1: group g is terms gfirst[g] .. gfirst[g + 1] */
    uint32_t (*gimages)[IMAGE_TYPE_COUNT]; /* per group: distinct rows of each type
                                              among its terms' postings */
    /* per term (vuls) or group (builds): the images, built by the first
     * images list that asks for them (units_get) */
    _Atomic(struct unit_rows *) *units;
    uint32_t n_units;
    /* slots (slot_find, slot_put): struct pass_list, needle_groups, sel_cache */
    _Atomic(void *) pass[PASS_SLOTS];
    _Atomic(void *) needles[NEEDLE_SLOTS];
    _Atomic(void *) sels[SEL_SLOTS];
};

static void sel_cache_free(void *v)
{
    struct sel_cache *p = v;
    if (p) {
        free(p->key);
        free(p->s.bits);
        free(p);
    }
}

static void needle_groups_free(void *v)
{
    struct needle_groups *p = v;
    if (p) {
        free(p->needle[0]);
        free(p->needle[1]);
        free(p);
    }
}

void terms_free(struct ix_terms *o)
{
    if (!o)
        return;
    for (uint32_t i = 0; o->units && i < o->n_units; i++)
        free(atomic_load(&o->units[i]));
    free(o->units);
    for (int i = 0; i < PASS_SLOTS; i++)
        free(atomic_load(&o->pass[i]));
    for (int i = 0; i < NEEDLE_SLOTS; i++)
        needle_groups_free(atomic_load(&o->needles[i]));
    for (int i = 0; i < SEL_SLOTS; i++)
        sel_cache_free(atomic_load(&o->sels[i]));
    free(o->head);
    free(o->t);
    free(o->sums);
    free(o->gfirst);
    free(o->gimages);
    free(o);
}

static const type_sum *sum_of(const struct ix_terms *o, uint32_t j, int ty)
{
    const term_head *h = &o->head[j];
    return &o->sums[h->sums + (uint32_t)__builtin_popcount(h->types & ((1u << ty) - 1))];
}

static int term_ptr_cmp(const void *a, const void *b)
{
    const pterm *x = *(const pterm *const *)a, *y = *(const pterm *const *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* A term's group part: the vul_id or the rule_id, both up to the key's
 * first NUL (neither holds one). */
static size_t gkey_len(const pterm *t)
{
    return strlen(t->key);
}

/* One term's postings summed per image type into h and sums[]. */
static void term_sums(const ix_inst *ix, const pterm *t, bool build, term_head *h,
                      type_sum tmp[IMAGE_TYPE_COUNT])
{
    memset(h->rank, -1, sizeof h->rank);
    memset(tmp, 0, IMAGE_TYPE_COUNT * sizeof *tmp);
    for (uint32_t q = 0; q < t->len; q++) {
        const posting *p = &t->p[q];
        uint32_t row = p->row;
        unsigned ty = ix->rows[row].type;
        if (ty >= IMAGE_TYPE_COUNT)
            continue;
        type_sum *s = &tmp[ty];
        if (s->images++ == 0) {
            s->scan_row = s->min_row = row;
            s->rep = q;
        } else {
            if (ix_range_value(ix, IX_Q_SCAN, row) > ix_range_value(ix, IX_Q_SCAN, s->scan_row))
                s->scan_row = row;
            if (ix->rows[row].id < ix->rows[s->min_row].id)
                s->min_row = row;
            const posting *b = &t->p[s->rep];
            if (!build && rep_better(p, ix->rows[row].id, b, ix->rows[b->row].id))
                s->rep = q;
        }
        s->records += p->n;
        if ((int)p->v > h->rank[ty])
            h->rank[ty] = (int8_t)p->v;
        if (p->cvss > s->cvss)
            s->cvss = p->cvss;
        if (p->cvss == PCVSS_OTHER || p->rcvss == PCVSS_OTHER)
            s->other = true;
        h->types |= (uint8_t)(1u << ty);
    }
}

/* The live terms of P sorted by key, each with its postings summed per
 * image type, and their groups (a vul_id's terms, a rule_id's terms: next
 * to each other in key order, since the group part ends at the key's
 * first NUL). NULL when out of memory. */
static struct ix_terms *terms_build(const ix_inst *ix, bool build)
{
    const postings *P = build ? &ix->builds : &ix->vuls;
    struct ix_terms *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->build = build;
    size_t cap_sums = (size_t)P->n_ids + 16;
    if (!(o->t = malloc(((size_t)P->n_ids + 1) * sizeof *o->t)) ||
        !(o->head = calloc((size_t)P->n_ids + 1, sizeof *o->head)) ||
        !(o->gfirst = malloc(((size_t)P->n_ids + 2) * sizeof *o->gfirst)) ||
        !(o->sums = malloc(cap_sums * sizeof *o->sums))) {
        terms_free(o);
        return NULL;
    }
    uint32_t n = 0;
    for (uint32_t id = 0; id < P->n_ids; id++)
        if (P->terms[id] && P->terms[id]->len > 0)
            o->t[n++] = P->terms[id];
    qsort(o->t, n, sizeof *o->t, term_ptr_cmp);
    o->n = n;
    size_t n_sums = 0;
    uint32_t gid = 0;
    for (uint32_t i = 0; i < n; i++) {
        const pterm *t = o->t[i];
        term_head *h = &o->head[i];
        size_t gl = gkey_len(t);
        if (i == 0 || gkey_len(o->t[i - 1]) != gl || memcmp(o->t[i - 1]->key, t->key, gl))
            o->gfirst[gid++] = i;
        h->gid = gid - 1;
        h->type = build ? 0 : (uint8_t)t->key[t->klen - 1];
        type_sum tmp[IMAGE_TYPE_COUNT];
        term_sums(ix, t, build, h, tmp);
        if (n_sums + IMAGE_TYPE_COUNT > cap_sums) {
            type_sum *ns = realloc(o->sums, (cap_sums *= 2) * sizeof *ns);
            if (!ns) {
                terms_free(o);
                return NULL;
            }
            o->sums = ns;
        }
        h->sums = (uint32_t)n_sums;
        for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
            if (h->types & (1u << ty))
                o->sums[n_sums++] = tmp[ty];
    }
    o->n_groups = gid;
    o->gfirst[gid] = n;
    o->n_units = build ? o->n_groups : n;
    uint64_t *seen = NULL;
    if (!(o->gimages = calloc((size_t)gid + 1, sizeof *o->gimages)) ||
        !(o->units = calloc((size_t)o->n_units + 1, sizeof *o->units)) ||
        !(seen = calloc(((size_t)ix->n_rows + 63) / 64 + 1, sizeof *seen))) {
        terms_free(o);
        return NULL;
    }
    /* a group's distinct images per type: its one term's postings, or the
     * union of its terms' (an image with records under two names of a
     * rule, or of both vul_types, counts once) */
    for (uint32_t g = 0; g < gid; g++) {
        uint32_t a = o->gfirst[g], b = o->gfirst[g + 1];
        if (b - a == 1) {
            for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
                if (o->head[a].types & (1u << ty))
                    o->gimages[g][ty] = sum_of(o, a, ty)->images;
            continue;
        }
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t j = a; j < b; j++)
                for (uint32_t q = 0; q < o->t[j]->len; q++) {
                    uint32_t row = o->t[j]->p[q].row;
                    uint64_t bit = 1ull << (row & 63);
                    if (pass == 1) {
                        seen[row >> 6] &= ~bit;
                    } else if (!(seen[row >> 6] & bit)) {
                        seen[row >> 6] |= bit;
                        if (ix->rows[row].type < IMAGE_TYPE_COUNT)
                            o->gimages[g][ix->rows[row].type]++;
                    }
                }
    }
    free(seen);
    for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
        o->rows_of_type[ty] = (int64_t)roaring_bitmap_get_cardinality(ix->by_type[ty]);
    return o;
}

/* The instance's terms of P (build: the build risks) in key order with
 * their sums: a grouped list does not sort the terms per request, and
 * one whose selection is every row of some image types reads a page's
 * groups from the sums (groups_by_type) instead of walking postings.
 * Built like the row orders of index_page.c: by the first reader that
 * needs it (one walk of every posting), a racing one frees its copy, any
 * write to the instance drops it (order_drop). NULL when out of memory. */
static const struct ix_terms *terms_get(const ix_inst *ix, bool build)
{
    _Atomic(struct ix_terms *) *slot =
        (_Atomic(struct ix_terms *) *)(build ? &ix->build_terms : &ix->vul_terms);
    struct ix_terms *o = atomic_load(slot);
    if (o)
        return o;
    if (!(o = terms_build(ix, build)))
        return NULL;
    struct ix_terms *none = NULL;
    if (!atomic_compare_exchange_strong(slot, &none, o)) {
        terms_free(o);
        return none;
    }
    return o;
}

/* Is the selection sel every image of the index? Then its rows of some
 * image types are exactly those types' rows, and the sums apply. */
static bool sel_is_all(const ix_inst *ix, const row_set *sel)
{
    return row_set_count(sel) == (uint64_t)ix->ids.n;
}

/* The group of the cached terms [a, b) (one group) in the rows of the
 * image types in types: what group_fill (and groups_use's merge) compute
 * by walking postings, from the sums. vul_type >= 0: that vul_type's term
 * only. */
static int group_from_sums(const ix_inst *ix, const struct ix_terms *o, uint32_t a, uint32_t b,
                           unsigned types, int vtype, index_group *g)
{
    bool build = o->build;
    int rank = -1;
    const posting *best = NULL;
    int64_t best_id = 0, images = 0;
    uint16_t cvss = 0;
    uint32_t nk = 0;
    const pterm *named = NULL;
    key_build_parts bn = {0};
    *g = (index_group){.level = -1, .held = true, .scan_time = INT64_MIN,
                       .min_image = INT64_MAX};
    for (uint32_t j = a; j < b; j++) {
        const term_head *h = &o->head[j];
        unsigned in = h->types & types;
        if (!in || (vtype >= 0 && h->type != (unsigned)vtype))
            continue;
        nk++;
        if (build) { /* the greatest level and the greatest risk_name */
            key_build_parts kp;
            key_build_split(o->t[j]->key, o->t[j]->klen, &kp);
            if (kp.level > g->level)
                g->level = kp.level;
            size_t m = kp.risk_len < bn.risk_len ? kp.risk_len : bn.risk_len;
            int cmp = named ? memcmp(kp.risk, bn.risk, m) : 1;
            if (cmp > 0 || (cmp == 0 && kp.risk_len > bn.risk_len)) {
                named = o->t[j];
                bn = kp;
            }
        }
        for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++) {
            if (!(in & (1u << ty)))
                continue;
            const type_sum *s = sum_of(o, j, ty);
            images += s->images;
            g->records += s->records;
            if (h->rank[ty] > rank)
                rank = h->rank[ty];
            if (ix_range_value(ix, IX_Q_SCAN, s->scan_row) > g->scan_time)
                g->scan_time = ix_range_value(ix, IX_Q_SCAN, s->scan_row);
            if (ix->rows[s->min_row].id < g->min_image)
                g->min_image = ix->rows[s->min_row].id;
            if (build)
                continue;
            if (s->other)
                g->held = false;
            if (s->cvss > cvss)
                cvss = s->cvss;
            const posting *p = &o->t[j]->p[s->rep];
            int64_t id = ix->rows[p->row].id;
            if (rep_better(p, id, best, best_id)) {
                best = p;
                best_id = id;
            }
        }
    }
    if (nk > 1) { /* several terms: each image once */
        images = 0;
        for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
            if (types & (1u << ty))
                images += o->gimages[o->head[a].gid][ty];
    }
    g->images = images;
    if (!(g->key = dupn(o->t[a]->key, gkey_len(o->t[a]))))
        return -1;
    if (build)
        return (g->name = dupn(bn.risk, bn.risk_len)) ? 0 : -1;
    g->level = rank;
    g->rep_image = best ? best_id : 0;
    g->rep_seq = best ? best->seq : 0;
    g->has_cvss = cvss != 0;
    g->cvss = cvss ? pcvss_value(cvss) : 0;
    return 0;
}

/* Does group gi pass the filter of groups_by_type (some of its terms
 * have rows of the types, of vtype when >= 0, and with by_rank the
 * highest rank of those is in [lo, hi])? */
static bool group_passes(const struct ix_terms *o, uint32_t gi, unsigned types, int vtype,
                         bool by_rank, int lo, int hi)
{
    uint32_t a = o->gfirst[gi], b = o->gfirst[gi + 1];
    int rank = -1;
    bool any = false;
    for (uint32_t j = a; j < b; j++) {
        const term_head *h = &o->head[j];
        unsigned in = h->types & types;
        if (!in || (vtype >= 0 && h->type != (unsigned)vtype))
            continue;
        any = true;
        for (int ty = 0; by_rank && ty < IMAGE_TYPE_COUNT; ty++)
            if ((in & (1u << ty)) && h->rank[ty] > rank)
                rank = h->rank[ty];
    }
    return any && (!by_rank || (rank >= lo && rank <= hi));
}

/* ---- per-filter caches in the terms: slots filled first come ----
 *
 * A reader looks for its filter's entry (slot_find); missing, it builds
 * one and puts it into the first free slot by compare-and-swap
 * (slot_put). A racing reader that put the same filter's entry first
 * wins (the loser's copy is dropped); with every slot taken the entry is
 * returned uncached, *owned set, for the caller to free. Only the writer
 * frees the slots (terms_free, in the instance no reader uses). */

/* The entry of slots[0..n) that same() finds equal to key, or NULL. */
static void *slot_find(_Atomic(void *) *slots, int n, bool (*same)(const void *e, const void *key),
                       const void *key)
{
    for (int i = 0; i < n; i++) {
        void *e = atomic_load(&slots[i]);
        if (!e)
            break;
        if (same(e, key))
            return e;
    }
    return NULL;
}

/* p (key's entry, just built): cached, or a racing reader's equal one
 * (p dropped), or p itself with *owned set. */
static void *slot_put(_Atomic(void *) *slots, int n, void *p,
                      bool (*same)(const void *e, const void *key), const void *key,
                      void (*drop)(void *), bool *owned)
{
    *owned = false;
    for (int i = 0; i < n; i++) {
        void *none = NULL;
        if (atomic_compare_exchange_strong(&slots[i], &none, p))
            return p;
        if (same(none, key)) {
            drop(p);
            return none;
        }
    }
    *owned = true;
    return p;
}

static bool pass_same(const void *e, const void *key)
{
    return ((const struct pass_list *)e)->key == *(const uint32_t *)key;
}

/* The cached pass_list of one filter, built now if no reader has yet
 * (slot_put). NULL: out of memory. */
static const struct pass_list *pass_get(const struct ix_terms *o, unsigned types, int vtype,
                                        bool by_rank, int lo, int hi, bool *owned)
{
    uint32_t key = (uint32_t)types | (uint32_t)(vtype + 1) << 8 | (uint32_t)by_rank << 12 |
                   (uint32_t)(by_rank ? lo & 15 : 0) << 13 | (uint32_t)(by_rank ? hi & 15 : 0) << 17;
    _Atomic(void *) *slots = (_Atomic(void *) *)o->pass;
    *owned = false;
    struct pass_list *p = slot_find(slots, PASS_SLOTS, pass_same, &key);
    if (p)
        return p;
    if (!(p = malloc(sizeof *p + ((size_t)o->n_groups + 1) * sizeof p->g[0])))
        return NULL;
    p->key = key;
    p->n = 0;
    for (uint32_t gi = 0; gi < o->n_groups; gi++)
        if (group_passes(o, gi, types, vtype, by_rank, lo, hi))
            p->g[p->n++] = gi;
    return slot_put(slots, PASS_SLOTS, p, pass_same, &key, free, owned);
}

static bool same_needle(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool needles_same(const void *e, const void *key)
{
    const struct needle_groups *p = e;
    const index_group_req *r = key;
    return same_needle(p->needle[0], r->contains[0]) && same_needle(p->needle[1], r->contains[1]);
}

/* The groups gl[a..b) (gl NULL: the groups a..b) that pass
 * groups_by_type's filter (types, vul_type, rank range): the total, and
 * the page's groups from their sums. */
static int groups_passing(const ix_inst *ix, const grp_ctx *c, const struct ix_terms *o,
                          unsigned types, const uint32_t *gl, uint32_t a, uint32_t b)
{
    const index_group_req *r = c->r;
    int vtype = c->build ? -1 : r->vul_type;
    bool by_rank = !c->build && r->by_rank;
    int64_t total = 0, skip = r->offset;
    for (uint32_t i = a; i < b; i++) {
        uint32_t gi = gl ? gl[i] : i;
        if (!group_passes(o, gi, types, vtype, by_rank, r->rank_lo, r->rank_hi))
            continue;
        total++;
        if (skip > 0) {
            skip--;
            continue;
        }
        if ((int64_t)*c->n_out >= r->limit)
            continue;
        index_group *g = &c->out[(*c->n_out)++];
        if (group_from_sums(ix, o, o->gfirst[gi], o->gfirst[gi + 1], types, vtype, g) != 0)
            return -1;
    }
    *c->total = total;
    return 0;
}

/* The cached needle_groups of r's needles (vulnerabilities), built now
 * if no reader has yet (slot_put); NULL: out of memory. */
static const struct needle_groups *needle_groups_get(const struct ix_terms *o,
                                                     const index_group_req *r, bool *owned)
{
    _Atomic(void *) *slots = (_Atomic(void *) *)o->needles;
    *owned = false;
    struct needle_groups *p = slot_find(slots, NEEDLE_SLOTS, needles_same, r);
    if (p)
        return p;
    if (!(p = malloc(sizeof *p + ((size_t)o->n_groups + 1) * sizeof p->g[0])))
        return NULL;
    p->n = 0;
    p->needle[0] = r->contains[0] ? strdup(r->contains[0]) : NULL;
    p->needle[1] = r->contains[1] ? strdup(r->contains[1]) : NULL;
    if ((r->contains[0] && !p->needle[0]) || (r->contains[1] && !p->needle[1])) {
        needle_groups_free(p);
        return NULL;
    }
    for (uint32_t gi = 0; gi < o->n_groups; gi++) {
        const char *key = o->t[o->gfirst[gi]]->key; /* vul_id, NUL, type byte */
        if ((!p->needle[0] || strstr(key, p->needle[0])) &&
            (!p->needle[1] || strstr(key, p->needle[1])))
            p->g[p->n++] = gi;
    }
    return slot_put(slots, NEEDLE_SLOTS, p, needles_same, r, needle_groups_free, owned);
}

/* groups_use when the selection is every row of some image types and the
 * only key filters are needles in the vul_id: the groups of the needles
 * (needle_groups_get) that pass groups_by_type's filter, and the page's
 * groups from their sums. */
static int groups_by_needle(const ix_inst *ix, const grp_ctx *c, const struct ix_terms *o,
                            unsigned types)
{
    const index_group_req *r = c->r;
    bool owned;
    const struct needle_groups *p = needle_groups_get(o, r, &owned);
    if (!p)
        return -1;
    int rc = groups_passing(ix, c, o, types, p->g, 0, p->n);
    if (owned)
        needle_groups_free((struct needle_groups *)p);
    return rc;
}

/* groups_use when the selection is every row of some image types and no
 * filter but vul_type and the rank applies: the groups that pass, from
 * the cached pass_list of the filter (every group) or one pass over the
 * cached terms' heads in key order (a group's terms next to each other;
 * the groups [g0, g1) of one vul_id), and the page's groups from their
 * sums (group_from_sums): no posting is read, and a deep page costs what
 * the first does. */
static int groups_by_type(const ix_inst *ix, const grp_ctx *c, const struct ix_terms *o,
                          unsigned types, uint32_t g0, uint32_t g1)
{
    const index_group_req *r = c->r;
    int vtype = c->build ? -1 : r->vul_type;
    bool by_rank = !c->build && r->by_rank;
    if (g0 == 0 && g1 == o->n_groups) {
        bool owned;
        const struct pass_list *p =
            pass_get(o, types, vtype, by_rank, r->rank_lo, r->rank_hi, &owned);
        if (!p)
            return -1;
        *c->total = p->n;
        int rc = 0;
        for (int64_t i = r->offset; rc == 0 && i < (int64_t)p->n && (int64_t)*c->n_out < r->limit;
             i++) {
            uint32_t gi = p->g[i];
            index_group *g = &c->out[(*c->n_out)++];
            rc = group_from_sums(ix, o, o->gfirst[gi], o->gfirst[gi + 1], types, vtype, g);
        }
        if (owned)
            free((void *)p);
        return rc;
    }
    return groups_passing(ix, c, o, types, NULL, g0, g1);
}

/* ---- the images of one term or rule from the cache ---- */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The unit of the cached terms [a, b): their postings' rows as ranks of
 * the id order, per image type, sorted and distinct, each with its
 * highest posting v. NULL: out of memory. */
static struct unit_rows *unit_build(const ix_inst *ix, const struct ix_terms *o, uint32_t a,
                                    uint32_t b, const uint32_t *rank_of)
{
    size_t n = 0, m = 0;
    for (uint32_t j = a; j < b; j++)
        n += o->t[j]->len;
    /* type << 40 | rank << 8 | v: sorted, a row's entries are adjacent
     * and its highest v last */
    uint64_t *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return NULL;
    uint8_t vmax = 0;
    for (uint32_t j = a; j < b; j++)
        for (uint32_t q = 0; q < o->t[j]->len; q++) {
            const posting *p = &o->t[j]->p[q];
            if (p->v > vmax)
                vmax = p->v;
            v[m++] = (uint64_t)ix->rows[p->row].type << 40 | (uint64_t)rank_of[p->row] << 8 | p->v;
        }
    qsort(v, m, sizeof *v, u64_cmp);
    size_t d = 0;
    for (size_t i = 0; i < m; i++) {
        if (d > 0 && v[i] >> 8 == v[d - 1] >> 8)
            v[d - 1] = v[i]; /* the same row: keep the higher v */
        else
            v[d++] = v[i];
    }
    struct unit_rows *u = malloc(sizeof *u + (d + 1) * sizeof u->r[0] + d + 1);
    if (u) {
        u->vmax = vmax;
        u->v = (uint8_t *)(u->r + d + 1);
        size_t i = 0;
        for (int ty = 0; ty <= IMAGE_TYPE_COUNT; ty++) {
            u->off[ty] = (uint32_t)i;
            while (ty < IMAGE_TYPE_COUNT && i < d && (v[i] >> 40) == (uint64_t)ty) {
                u->r[i] = (uint32_t)(v[i] >> 8);
                u->v[i] = (uint8_t)v[i];
                i++;
            }
        }
    }
    free(v);
    return u;
}

/* The cached unit of index k (a term for vulnerabilities, a group for
 * rules), built now if no reader has yet (compare-and-swap, like the
 * terms themselves). */
static const struct unit_rows *unit_get(const ix_inst *ix, const struct ix_terms *o, uint32_t k,
                                        const uint32_t *rank_of)
{
    struct unit_rows *u = atomic_load(&o->units[k]);
    if (u)
        return u;
    uint32_t a = o->build ? o->gfirst[k] : k, b = o->build ? o->gfirst[k + 1] : k + 1;
    if (!(u = unit_build(ix, o, a, b, rank_of)))
        return NULL;
    struct unit_rows *none = NULL;
    if (!atomic_compare_exchange_strong(&o->units[k], &none, u)) {
        free(u);
        return none;
    }
    return u;
}

static int part_cmp(const char *k, size_t kl, const char *s, size_t sl)
{
    int c = memcmp(k, s, kl < sl ? kl : sl);
    return c ? c : (kl > sl) - (kl < sl);
}

/* The unit that c names, or -1: the vulnerability term with key c->key,
 * or the group of c->pred_arg's rule_id, by binary search in key order. */
static int64_t unit_find(const struct ix_terms *o, const img_ctx *c)
{
    uint32_t lo = 0, hi = o->build ? o->n_groups : o->n;
    const char *want = o->build ? c->pred_arg : c->key;
    size_t wl = o->build ? strlen(want) : c->klen;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const pterm *t = o->t[o->build ? o->gfirst[mid] : mid];
        int cmp = o->build ? part_cmp(t->key, gkey_len(t), want, wl)
                           : part_cmp(t->key, t->klen, want, wl);
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const uint32_t *upper_bound(const uint32_t *a, const uint32_t *e, uint32_t x)
{
    while (a < e) {
        const uint32_t *m = a + (e - a) / 2;
        if (*m <= x)
            a = m + 1;
        else
            e = m;
    }
    return a;
}

/* images_use when the selection is every row of some image types, no
 * image condition applies: the unit's rows of those types (unit_get) give
 * the total by their lengths, and the page by a binary search for the
 * rank where the offset falls and a merge of the types from there: no
 * posting is walked. A rank range that leaves some rows out keeps the
 * unit's rows whose v is in it first (one pass over the unit; a row's v
 * is its highest posting's, which for a vulnerability term is its only
 * posting's; rule units are never ranged). 1: done; 0: not this case;
 * -1: out of memory. */
static int images_by_type(const ix_inst *ix, const row_set *sel, img_ctx *c)
{
    bool build = c->which == build_postings;
    if (c->m || !sel_is_all(ix, sel))
        return 0;
    const struct ix_terms *o = terms_get(ix, build);
    const struct ix_order *ord = order_get(ix, INDEX_ORDER_ID);
    if (!o || !ord)
        return -1;
    int64_t k = unit_find(o, c);
    if (k < 0)
        return 1; /* no such term: no image */
    const struct unit_rows *u = unit_get(ix, o, (uint32_t)k, order_rank_of(ord));
    if (!u)
        return -1;
    unsigned types = c->type_mask ? c->type_mask : (1u << IMAGE_TYPE_COUNT) - 1;
    const uint32_t *from[IMAGE_TYPE_COUNT], *to[IMAGE_TYPE_COUNT];
    const uint8_t *fv[IMAGE_TYPE_COUNT]; /* fv[t][k]: the v of from[t][k] */
    int nt = 0;
    int64_t total = 0;
    /* a rank range that leaves some rows out: the rows in range (and
     * their vs), copied out of the unit in one pass over it (no posting,
     * no bitset) */
    uint32_t *in_range = NULL;
    uint8_t *in_v = NULL;
    if (c->v_lo > 0 || c->v_hi < u->vmax) {
        size_t nk = 0, cap = (size_t)u->off[IMAGE_TYPE_COUNT] + 1;
        in_range = malloc(cap * sizeof *in_range);
        in_v = malloc(cap);
        if (!in_range || !in_v) {
            free(in_range);
            free(in_v);
            return -1;
        }
        for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++) {
            if (!(types & (1u << ty)))
                continue;
            size_t k0 = nk;
            for (uint32_t i = u->off[ty]; i < u->off[ty + 1]; i++)
                if (u->v[i] >= c->v_lo && u->v[i] <= c->v_hi) {
                    in_v[nk] = u->v[i];
                    in_range[nk++] = u->r[i];
                }
            if (nk > k0) {
                from[nt] = in_range + k0;
                to[nt] = in_range + nk;
                fv[nt] = in_v + k0;
                total += to[nt] - from[nt];
                nt++;
            }
        }
    } else {
        for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
            if ((types & (1u << ty)) && u->off[ty + 1] > u->off[ty]) {
                from[nt] = u->r + u->off[ty];
                to[nt] = u->r + u->off[ty + 1];
                fv[nt] = u->v + u->off[ty];
                total += to[nt] - from[nt];
                nt++;
            }
    }
    *c->total = total;
    if (c->offset >= total || c->limit == 0) {
        free(in_range);
        free(in_v);
        return 1;
    }
    /* the least rank x with more than offset of the rows at or below it:
     * the page's first (ranks are distinct across types: one row, one type) */
    uint32_t lo = 0, hi = ix->n_rows ? ix->n_rows - 1 : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t at_or_below = 0;
        for (int t = 0; t < nt; t++)
            at_or_below += upper_bound(from[t], to[t], mid) - from[t];
        if (at_or_below > c->offset)
            hi = mid;
        else
            lo = mid + 1;
    }
    const uint32_t *cur[IMAGE_TYPE_COUNT];
    for (int t = 0; t < nt; t++)
        cur[t] = lo ? upper_bound(from[t], to[t], lo - 1) : from[t];
    const uint32_t *row_of = order_by_rank(ord);
    while ((int64_t)*c->n_ids < c->limit) {
        int best = -1;
        for (int t = 0; t < nt; t++)
            if (cur[t] < to[t] && (best < 0 || *cur[t] < *cur[best]))
                best = t;
        if (best < 0)
            break;
        if (c->vs)
            c->vs[*c->n_ids] = fv[best][cur[best] - from[best]];
        c->ids[(*c->n_ids)++] = ix->rows[row_of[*cur[best]++]].id;
    }
    free(in_range);
    free(in_v);
    return 1;
}

static bool sel_same(const void *e, const void *key)
{
    return strcmp(((const struct sel_cache *)e)->key, key) == 0;
}

/* The cached walk of selection sel (key) over every term, built now if
 * no reader has yet (slot_put). NULL: out of memory. */
static const struct sel_cache *sel_cache_get(const ix_inst *ix, const struct ix_terms *o,
                                             const row_set *sel, unsigned type_mask, bool build,
                                             const char *key, bool *owned)
{
    _Atomic(void *) *slots = (_Atomic(void *) *)o->sels;
    *owned = false;
    struct sel_cache *p = slot_find(slots, SEL_SLOTS, sel_same, key);
    if (p)
        return p;
    if (!(p = malloc(sizeof *p + ((size_t)o->n + 1) * sizeof p->e[0])))
        return NULL;
    p->n = 0;
    p->s = (selbits){0};
    if (!(p->key = strdup(key)) || sel_make(ix, sel, type_mask, NULL, &p->s) != 0) {
        sel_cache_free(p);
        return NULL;
    }
    /* vulnerabilities: each term's group_fill numbers, and per group its
     * distinct images (a row stamped with the group's number + 1) */
    uint32_t *stamp = build ? NULL : calloc((size_t)ix->n_rows + 1, sizeof *stamp);
    if (!build && !stamp) {
        sel_cache_free(p);
        return NULL;
    }
    size_t gfirst = 0; /* the first entry of the current group */
    int64_t gimages = 0;
    for (uint32_t j = 0; j < o->n && p->s.n > 0; j++) {
        const pterm *t = o->t[j];
        if (!t || t->len == 0)
            continue;
        sel_term e = {.j = j, .gid = o->head[j].gid,
                      .glen = (uint32_t)(t->klen >= 2 ? t->klen - 2 : 0), .rank = -1,
                      .type = (uint8_t)o->head[j].type, .held = true,
                      .scan_time = INT64_MIN, .min_image = INT64_MAX};
        if (!build && p->n > gfirst && p->e[gfirst].gid != e.gid) { /* a new group */
            for (size_t x = gfirst; x < p->n; x++)
                p->e[x].gimages = gimages;
            gfirst = p->n;
            gimages = 0;
        }
        if (build && p->s.all) {
            e.images = t->len;
            e.records = t->total;
        } else {
            for (uint32_t q = 0; q < t->len; q++) {
                const posting *ps = &t->p[q];
                uint32_t row = ps->row;
                if (!bit_get(p->s.bits, row))
                    continue;
                e.images++;
                e.records += ps->n;
                if (build)
                    continue;
                if (stamp[row] != e.gid + 1) {
                    stamp[row] = e.gid + 1;
                    gimages++;
                }
                if (ps->v > e.rank)
                    e.rank = ps->v;
                if (ix_range_value(ix, IX_Q_SCAN, row) > e.scan_time)
                    e.scan_time = ix_range_value(ix, IX_Q_SCAN, row);
                int64_t id = ix->rows[row].id;
                if (id < e.min_image)
                    e.min_image = id;
                if (ps->cvss == PCVSS_OTHER || ps->rcvss == PCVSS_OTHER)
                    e.held = false;
                if (ps->cvss > e.cvss)
                    e.cvss = ps->cvss;
                if (rep_better(ps, id, e.best, e.best_id)) {
                    e.best = ps;
                    e.best_id = id;
                }
            }
            if (e.images == 0)
                continue;
        }
        p->e[p->n++] = e;
    }
    for (size_t x = gfirst; !build && x < p->n; x++)
        p->e[x].gimages = gimages;
    free(stamp);
    return slot_put(slots, SEL_SLOTS, p, sel_same, key, sel_cache_free, owned);
}

/* groups_use's vulnerability groups from a selection's cached walk: the
 * total by one pass over its entries (sequential, no term read), and the
 * page's groups from the entries' numbers (what group_fill computes from
 * the postings, kept per term by sel_cache_get). gbits (NULL: none): the
 * groups of the needles. */
static int groups_from_sel(const grp_ctx *c, const struct ix_terms *o,
                           const struct sel_cache *sc, const uint64_t *gbits)
{
    const index_group_req *r = c->r;
    int64_t total = 0, skip = r->offset;
    int rc = 0;
    for (size_t x = 0, y; x < sc->n && rc == 0; x = y) {
        uint32_t gid = sc->e[x].gid;
        bool gok = !gbits || bit_get(gbits, gid), pass = false;
        int rank = -1;
        for (y = x; y < sc->n && sc->e[y].gid == gid; y++)
            if (gok && (r->vul_type < 0 || sc->e[y].type == (unsigned)r->vul_type)) {
                pass = true;
                if (sc->e[y].rank > rank)
                    rank = sc->e[y].rank;
            }
        if (!pass || (r->by_rank && (rank < r->rank_lo || rank > r->rank_hi)))
            continue;
        total++;
        if (skip > 0) {
            skip--;
            continue;
        }
        if ((int64_t)*c->n_out >= r->limit)
            continue;
        /* group_fill's numbers from the terms' (images: the group's
         * distinct ones when every term of it is in) */
        index_group *g = &c->out[*c->n_out];
        *g = (index_group){.level = -1, .held = true, .scan_time = INT64_MIN,
                           .min_image = INT64_MAX};
        (*c->n_out)++;
        const sel_term *first = NULL, *best = NULL;
        uint16_t cvss = 0;
        size_t in = 0;
        for (size_t z = x; z < y; z++) {
            const sel_term *e = &sc->e[z];
            if (r->vul_type >= 0 && e->type != (unsigned)r->vul_type)
                continue;
            first = first ? first : e;
            in++;
            g->records += e->records;
            g->images = e->images;
            if (e->rank > g->level)
                g->level = e->rank;
            if (e->scan_time > g->scan_time)
                g->scan_time = e->scan_time;
            if (e->min_image < g->min_image)
                g->min_image = e->min_image;
            if (!e->held)
                g->held = false;
            if (e->cvss > cvss)
                cvss = e->cvss;
            if (e->best && (!best || rep_better(e->best, e->best_id, best->best, best->best_id)))
                best = e;
        }
        if (in == y - x) /* every term of the group: its distinct images */
            g->images = first->gimages;
        g->rep_image = best ? best->best_id : 0;
        g->rep_seq = best ? best->best->seq : 0;
        g->has_cvss = cvss != 0;
        g->cvss = cvss ? pcvss_value(cvss) : 0;
        if (!(g->key = dupn(o->t[first->j]->key, first->glen)))
            rc = -1;
    }
    *c->total = total;
    return rc;
}

static int groups_use(const ix_inst *ix, const row_set *sel, const rec_plan *plan, void *arg)
{
    (void)plan;
    grp_ctx *c = arg;
    const index_group_req *r = c->r;
    const postings *P = c->build ? &ix->builds : &ix->vuls;
    /* the terms in key order (no sort per request), and per image type
     * their sums: when the selection is every row of the requested types,
     * a term's numbers are read from there */
    const struct ix_terms *order = terms_get(ix, c->build);
    if (!order)
        return -1;
    unsigned types = r->type_mask ? r->type_mask : (1u << IMAGE_TYPE_COUNT) - 1;
    bool by_type = !r->m && sel_is_all(ix, sel);
    bool key_filters = r->equals || r->contains[0] || r->contains[1] ||
                       (c->build && (r->level >= 0 || r->name_contains));
    if (by_type && !key_filters)
        return groups_by_type(ix, c, order, types, 0, order->n_groups);
    if (by_type && !c->build && !r->equals && (r->contains[0] || r->contains[1]))
        return groups_by_needle(ix, c, order, types);
    if (by_type && !c->build && r->equals && !r->contains[0] && !r->contains[1]) {
        /* one vul_id (ListVulnerabilityCve, cve_id): its group by binary
         * search, then from the sums like any other */
        size_t el = strlen(r->equals);
        uint32_t lo = 0, hi = order->n_groups;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            const pterm *t = order->t[order->gfirst[mid]];
            int cmp = part_cmp(t->key, gkey_len(t), r->equals, el);
            if (cmp == 0)
                lo = hi = mid;
            else if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        bool found = lo < order->n_groups &&
                     part_cmp(order->t[order->gfirst[lo]]->key,
                              gkey_len(order->t[order->gfirst[lo]]), r->equals, el) == 0 &&
                     !(r->equals_cve && (el < 4 || strncasecmp(r->equals, "CVE-", 4)));
        *c->total = 0;
        return found ? groups_by_type(ix, c, order, types, lo, lo + 1) : 0;
    }
    selbits s;
    kept *ks = malloc(((size_t)P->n_ids + 1) * sizeof *ks);
    /* a selection by its key, not every row of some types: its walk from
     * the cache (vulnerabilities without a one-vul_id filter) */
    bool owned = false;
    const struct sel_cache *sc = NULL;
    if (ks && !by_type && !r->m && c->sel_key && !(!c->build && r->equals))
        sc = sel_cache_get(ix, order, sel, r->type_mask, c->build, c->sel_key, &owned);
    if (sc)
        s = sc->s; /* borrowed */
    if (!ks || (!sc && sel_make(ix, sel, r->type_mask, r->m, &s) != 0)) {
        free(ks);
        if (owned)
            sel_cache_free((struct sel_cache *)sc);
        return -1;
    }
    /* needles in the vul_id: the groups of needle_groups, as bits by group
     * number, so that no term's key is read (each one a cache miss) */
    uint64_t *gbits = NULL;
    bool by_gbits = sc && !c->build && !r->equals && (r->contains[0] || r->contains[1]);
    if (by_gbits) {
        bool g_owned;
        const struct needle_groups *ng = needle_groups_get(order, r, &g_owned);
        if (ng && (gbits = calloc(((size_t)order->n_groups + 64) / 64, sizeof *gbits)))
            for (uint32_t i = 0; i < ng->n; i++)
                gbits[ng->g[i] >> 6] |= 1ull << (ng->g[i] & 63);
        if (g_owned)
            needle_groups_free((struct needle_groups *)ng);
        if (!gbits) {
            free(ks);
            if (owned)
                sel_cache_free((struct sel_cache *)sc);
            return -1;
        }
    }
    if (sc && !c->build) {
        int rc = groups_from_sel(c, order, sc, gbits);
        free(ks);
        free(gbits);
        if (owned)
            sel_cache_free((struct sel_cache *)sc);
        return rc;
    }
    size_t nk = 0;
    for (size_t x = 0; sc && x < sc->n; x++) {
        const sel_term *e = &sc->e[x];
        const term_head *h = &order->head[e->j];
        if (!c->build && r->vul_type >= 0 && h->type != (unsigned)r->vul_type)
            continue;
        if (gbits && !bit_get(gbits, h->gid))
            continue;
        const pterm *t = order->t[e->j];
        kept k;
        if ((key_filters && !by_gbits) || c->build) {
            if (!term_passes(c, t, &k))
                continue;
        } else /* term_passes' parts without reading the term (gkey: at
                * the page, from t) */
            k = (kept){.t = t, .glen = e->glen, .level = -1, .rank = -1};
        k.gid = h->gid;
        k.images = e->images;
        k.records = e->records;
        if (!c->build && r->by_rank)
            k.rank = e->rank;
        ks[nk++] = k;
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
    uint32_t n_walk = sc ? 0 : one ? n_few : order->n;
    for (uint32_t j = 0; j < n_walk && s.n > 0; j++) {
        const term_head *h = one ? NULL : &order->head[j];
        if (h && !c->build && r->vul_type >= 0 && h->type != (unsigned)r->vul_type)
            continue;
        const pterm *t = one ? few[j] : order->t[j];
        kept k;
        if (!t || t->len == 0 || !term_passes(c, t, &k))
            continue;
        if (h)
            k.gid = h->gid;
        if (by_type && h) {
            int rank = -1;
            for (int ty = 0; ty < IMAGE_TYPE_COUNT; ty++)
                if (types & h->types & (1u << ty)) {
                    const type_sum *e = sum_of(order, j, ty);
                    k.images += e->images;
                    k.records += e->records;
                    if (h->rank[ty] > rank)
                        rank = h->rank[ty];
                }
            if (k.images == 0)
                continue;
            if (!c->build && r->by_rank)
                k.rank = rank;
            ks[nk++] = k;
            continue;
        }
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
    int64_t total = 0, skip = r->offset;
    int rc = 0;
    for (size_t i = 0; i < nk && rc == 0;) {
        size_t j = i + 1;
        while (j < nk && ks[i].gid == ks[j].gid)
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
            if (!(g->key = dupn(ks[i].gkey ? ks[i].gkey : ks[i].t->key, ks[i].glen)) ||
                (c->build && !(g->name = dupn(best->name, best->name_len))) ||
                group_fill(ix, &s, &ks[i], j - i, g, c->build) != 0)
                rc = -1;
        }
        i = j;
    }
    *c->total = total;
    free(ks);
    free(gbits);
    if (!sc)
        free(s.bits);
    else if (owned)
        sel_cache_free((struct sel_cache *)sc);
    return rc;
}

/* The identity of the selection of scope, q (filter_init's, with at most
 * match_to_query's image_name and one image_id) and the type mask: what
 * sel_cache is kept under. NULL: out of memory (no cache). */
static char *sel_key_make(const index_scope *scope, const stat_query *q, unsigned type_mask)
{
    util_buf b = {0};
    util_buf_printf(&b, "%u|%zu:%s|", type_mask, strlen(scope->project_id), scope->project_id);
    if (scope->all_eps)
        util_buf_put(&b, "*", 1);
    else
        for (size_t k = 0; k < scope->n_eps; k++)
            util_buf_printf(&b, "%zu:%s,", strlen(scope->eps[k]), scope->eps[k]);
    const char *name = q->image_name ? q->image_name : "";
    util_buf_printf(&b, "|%d%zu:%s|", q->image_name != NULL, strlen(name), name);
    for (size_t k = 0; !q->operate_all && k < q->n_image_ids; k++)
        util_buf_printf(&b, "%zu:%s,", strlen(q->image_ids[k]), q->image_ids[k]);
    util_buf_put(&b, "", 1);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
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
    index_group_req rr = *r;
    const char *one;
    rr.m = match_to_query(r->m, &q, &one);
    char *key = sel_key_make(scope, &q, r->type_mask);
    grp_ctx c = {build, &rr, total, out, n_out, key};
    int rc = with_selection(ix, scope, &q, groups_use, &c, err);
    free(key);
    return rc;
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
