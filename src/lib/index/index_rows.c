/* index_rows.c - keeping every structure of the index in step with the
 * images: insert, replace and remove one image.
 *
 * An image is attached to its row (columns, dictionary entries, bitmaps,
 * postings, latest group) by row_attach and detached by row_detach. A
 * replacement detaches the old image and attaches the new one in the same
 * row, so the id -> row mapping never changes while an image lives. If
 * attaching runs out of memory half way, row_detach undoes the part that
 * was done: it copes with every half-attached state.
 *
 * Row-owned strings (sa_row_owned: content id, digest) are ix_str blocks
 * with a reference count, shared by the two instances: rows_clone takes a
 * reference to each of the source's, and a replayed upsert (donor set)
 * takes one to the other instance's copy when it holds the same string
 * for the image. A filtered one is found by string through
 * ix->owned[a] (one row per string) or, for a string several rows hold,
 * its dictionary: the first row to share a string moves it from the
 * rowmap into a dictionary entry, where it stays until no row holds it.
 */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"
#include "index_key.h"

#define ROWS_MIN_CAP 64

#define N_BITMAPS (IMAGE_TYPE_COUNT + SCAN_STATUS_COUNT + SEVERITY_LEVEL_COUNT + FLAG_COUNT + 1)

/* The addresses of every bitmap member, to create or free them in a loop. */
static void all_bitmaps(ix_inst *ix, roaring_bitmap_t **slots[N_BITMAPS])
{
    size_t n = 0;
    for (int i = 0; i < IMAGE_TYPE_COUNT; i++)
        slots[n++] = &ix->by_type[i];
    for (int i = 0; i < SCAN_STATUS_COUNT; i++)
        slots[n++] = &ix->by_status[i];
    for (int i = 0; i < SEVERITY_LEVEL_COUNT; i++)
        slots[n++] = &ix->by_level[i];
    for (int i = 0; i < FLAG_COUNT; i++)
        slots[n++] = &ix->flags[i];
    slots[n++] = &ix->latest;
}

int rows_init(ix_inst *ix)
{
    idmap_init(&ix->ids);
    for (int a = 0; a < SA_COUNT; a++) {
        dict_init(&ix->dicts[a]);
        rowmap_init(&ix->owned[a]);
    }
    /* the attributes filtered by substring get a gram index (index_gram.h);
     * without one (out of memory) their dictionary is scanned: same answers */
#define GRAM_SUBSTR(m) (void)dict_index_grams(&ix->dicts[SA_##m]);
#define GRAM_EXACT(m)
#define GRAM_ITEM(m, key, dmin, dmax, filter, ...) GRAM_##filter(m)
    MODEL_IMAGE_FILTER_STRINGS(GRAM_ITEM)
#undef GRAM_ITEM
#undef GRAM_EXACT
#undef GRAM_SUBSTR
    postings_init(&ix->vuls);
    postings_init(&ix->builds);
    postings_init(&ix->groups);
    roaring_bitmap_t **bms[N_BITMAPS];
    all_bitmaps(ix, bms);
    ix->ready = true;
    for (size_t i = 0; i < N_BITMAPS; i++)
        if (!(*bms[i] = roaring_bitmap_create()))
            ix->ready = false;
    return ix->ready ? 0 : -1;
}

/* ---- row-owned strings ---- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Packs s[0..len) into out[32] if it is "sha256:" and 64 lowercase hex
 * digits (the one spelling ix_str_text gives back). */
static bool str_pack(const char *s, size_t len, unsigned char out[32])
{
    if (len != IX_STR_PACKED_LEN || memcmp(s, "sha256:", 7) != 0)
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hex_digit(s[7 + 2 * i]), lo = hex_digit(s[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static ix_str *str_new(const char *s, size_t len)
{
    if (len > INT32_MAX - 1)
        return NULL;
    unsigned char bin[32];
    bool packed = str_pack(s, len, bin);
    ix_str *o = malloc(sizeof *o + (packed ? sizeof bin : len + 1));
    if (!o)
        return NULL;
    o->ref = 1;
    o->len = (uint32_t)len;
    o->packed = packed;
    if (packed) {
        memcpy(o->s, bin, sizeof bin);
    } else {
        memcpy(o->s, s, len);
        o->s[len] = '\0';
    }
    return o;
}

/* Is o's text s[0..len)? */
static bool str_eq(const ix_str *o, const char *s, size_t len)
{
    char buf[IX_STR_BUF];
    size_t olen;
    const char *t = ix_str_text(o, buf, &olen);
    return olen == len && memcmp(t, s, len) == 0;
}

/* Another reference to o (the writer's only: see ix_str). */
static ix_str *str_share(ix_str *o)
{
    o->ref++;
    return o;
}

static void str_drop(ix_str *o)
{
    if (o && --o->ref == 0)
        free(o);
}

/* The rowmap's key function's context: the map reads one key at a time
 * and is done with it before the next, so one buffer serves. */
typedef struct {
    const ix_inst *ix;
    str_attr a;
    char buf[IX_STR_BUF];
} owned_ctx;

static const char *owned_key(const void *ctx, uint32_t row, size_t *len)
{
    owned_ctx *c = (owned_ctx *)ctx; /* every owned_ctx is a writable local */
    return ix_str_text(c->ix->rows[row].str[c->a].own, c->buf, len);
}

const dict_entry *rows_find_exact(const ix_inst *ix, str_attr a, const char *s, size_t len,
                                  dict_entry *tmp)
{
    if (sa_row_owned(a)) {
        owned_ctx c = {ix, a, {0}};
        uint32_t row = rowmap_get(&ix->owned[a], s, len, owned_key, &c);
        if (row != IDMAP_EMPTY) {
            /* the row's string is s (its own may be packed) */
            *tmp = (dict_entry){.s = (char *)s, .len = len, .n = 1, .one = row};
            return tmp;
        }
    }
    return dict_find(&ix->dicts[a], s, len);
}

/* Makes row findable by its own string of the filtered attribute a (set
 * in the row). On failure the row may be findable or not: owned_leave
 * copes with both. */
static int owned_join(ix_inst *ix, uint32_t row, str_attr a)
{
    char buf[IX_STR_BUF];
    size_t len;
    const char *s = ix_str_text(ix->rows[row].str[a].own, buf, &len);
    dict *d = &ix->dicts[a];
    if (dict_find(d, s, len)) /* held by several rows already */
        return dict_ref(d, s, len, row) ? 0 : -1;
    owned_ctx c = {ix, a, {0}};
    uint32_t other = rowmap_get(&ix->owned[a], s, len, owned_key, &c);
    if (other == IDMAP_EMPTY)
        return rowmap_put(&ix->owned[a], row, owned_key, &c);
    /* the second row with this string: both into a dictionary entry */
    if (!dict_ref(d, s, len, other))
        return -1;
    rowmap_del(&ix->owned[a], other, s, len);
    return dict_ref(d, s, len, row) ? 0 : -1;
}

static void owned_leave(ix_inst *ix, uint32_t row, str_attr a)
{
    char buf[IX_STR_BUF];
    size_t len;
    const char *s = ix_str_text(ix->rows[row].str[a].own, buf, &len);
    dict_entry *e = dict_find(&ix->dicts[a], s, len);
    if (e)
        dict_unref(&ix->dicts[a], e, row); /* no-op if row is not in it */
    else
        rowmap_del(&ix->owned[a], row, s, len);
}

void rows_destroy(ix_inst *ix)
{
    (void)bulk_stop(ix); /* its failure no longer matters: all goes */
    for (uint32_t row = 0; ix->rows && row < ix->n_rows; row++)
        for (int a = 0; a < SA_COUNT; a++)
            if (sa_row_owned((str_attr)a))
                str_drop(ix->rows[row].str[a].own); /* the dictionaries own the others */
    free(ix->rows);
    free(ix->container_num);
    order_drop(ix);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        free(ix->counts[t]);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        free(ix->vul_counts[v]);
    for (int k = 0; k < IX_QCOLS; k++) {
        free(ix->qcols[k]);
        free(ix->qrems[k]);
    }
    memset(ix->qcols, 0, sizeof ix->qcols);
    memset(ix->qrems, 0, sizeof ix->qrems);
    free(ix->outliers);
    ix->outliers = NULL;
    ix->n_outliers = ix->cap_outliers = 0;
    free(ix->free_rows);
    ix->rows = NULL;
    ix->container_num = NULL;
    memset(ix->counts, 0, sizeof ix->counts);
    memset(ix->vul_counts, 0, sizeof ix->vul_counts);
    ix->free_rows = NULL;
    ix->n_rows = ix->cap_rows = ix->n_free = 0;
    ix->n_decimal_image_ids = 0;
    ix->n_records = 0;
    memset(ix->col_sums, 0, sizeof ix->col_sums);
    memset(ix->type_sums, 0, sizeof ix->type_sums);
    memset(ix->status_sums, 0, sizeof ix->status_sums);
    memset(ix->level_sums, 0, sizeof ix->level_sums);

    idmap_free(&ix->ids);
    for (int a = 0; a < SA_COUNT; a++) {
        dict_free(&ix->dicts[a]);
        rowmap_free(&ix->owned[a]);
    }
    roaring_bitmap_t **bms[N_BITMAPS];
    all_bitmaps(ix, bms);
    for (size_t i = 0; i < N_BITMAPS; i++) {
        if (*bms[i])
            roaring_bitmap_free(*bms[i]);
        *bms[i] = NULL;
    }
    postings_free(&ix->vuls);
    postings_free(&ix->builds);
    postings_free(&ix->groups);
    ix->ready = false;
}

static int grow_array(void **arr, uint32_t cap, size_t elem)
{
    void *p = realloc(*arr, (size_t)cap * elem);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

/* Room for one more row. An array that grew before another failed keeps
 * its larger size; cap_rows only moves when all have grown. */
static int rows_reserve(ix_inst *ix)
{
    if (ix->n_rows < ix->cap_rows)
        return 0;
    if (ix->cap_rows >= UINT32_MAX / 2)
        return -1;
    uint32_t cap = ix->cap_rows ? ix->cap_rows * 2 : ROWS_MIN_CAP;
    if (grow_array((void **)&ix->rows, cap, sizeof *ix->rows) != 0 ||
        grow_array((void **)&ix->container_num, cap, sizeof(int64_t)) != 0 ||
        grow_array((void **)&ix->free_rows, cap, sizeof(uint32_t)) != 0)
        return -1;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (grow_array((void **)&ix->counts[t], cap, sizeof(uint32_t)) != 0)
            return -1;
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        if (grow_array((void **)&ix->vul_counts[v], cap, sizeof(uint32_t)) != 0)
            return -1;
    for (int k = 0; k < IX_QCOLS; k++)
        if (grow_array((void **)&ix->qcols[k], cap, sizeof(uint32_t)) != 0 ||
            grow_array((void **)&ix->qrems[k], cap, sizeof(uint16_t)) != 0)
            return -1;
    ix->cap_rows = cap;
    return 0;
}

/* A free row: a released one if any, else a new one. */
static int row_alloc(ix_inst *ix, uint32_t *row)
{
    if (ix->n_free) {
        *row = ix->free_rows[--ix->n_free];
        return 0;
    }
    if (rows_reserve(ix) != 0)
        return -1;
    *row = ix->n_rows++;
    ix->rows[*row] = (ix_row){0};
    return 0;
}

static void row_release(ix_inst *ix, uint32_t row)
{
    ix->free_rows[ix->n_free++] = row; /* free_rows has cap_rows >= n_rows slots */
}

static void set_flag(ix_inst *ix, img_flag f, uint32_t row, bool on)
{
    if (on)
        roaring_bitmap_add(ix->flags[f], row);
}

/* ---- the range columns (index_internal.h, "The range columns") ---- */

/* The slot of (row, k) in ix->outliers, or where it would go. */
static size_t outlier_pos(const ix_inst *ix, int k, uint32_t row, bool *found)
{
    uint64_t key = (uint64_t)row << 2 | (uint64_t)k;
    size_t lo = 0, hi = ix->n_outliers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t m = (uint64_t)ix->outliers[mid].row << 2 | ix->outliers[mid].k;
        if (m < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < ix->n_outliers && ix->outliers[lo].row == row && ix->outliers[lo].k == (uint32_t)k;
    return lo;
}

int64_t rows_outlier(const ix_inst *ix, int k, uint32_t row)
{
    bool found;
    size_t i = outlier_pos(ix, k, row, &found);
    return found ? ix->outliers[i].v : 0; /* found: range_put kept it */
}

/* Row's value of range column k: its step and remainder, or an outlier
 * kept aside. 0, or -1 when out of memory (the row then holds 0). */
static int range_put(ix_inst *ix, int k, uint32_t row, int64_t v)
{
    unsigned shift = ix_qshift(k);
    uint32_t q = ix_quantize(v, shift);
    bool outlier = v < 0 || q == UINT32_MAX;
    ix->qcols[k][row] = q;
    ix->qrems[k][row] = outlier ? 0 : (uint16_t)(v - (int64_t)((uint64_t)q << shift));
    if (!outlier)
        return 0;
    bool found;
    size_t i = outlier_pos(ix, k, row, &found); /* never found: row_detach dropped it */
    if (!util_grow((void **)&ix->outliers, &ix->cap_outliers, ix->n_outliers + 1,
                   sizeof *ix->outliers)) {
        ix->qcols[k][row] = 0;
        return -1;
    }
    memmove(&ix->outliers[i + 1], &ix->outliers[i], (ix->n_outliers - i) * sizeof *ix->outliers);
    ix->outliers[i] = (ix_outlier){row, (uint32_t)k, v};
    ix->n_outliers++;
    ix->qrems[k][row] = IX_QREM_OUTLIER;
    return 0;
}

/* Row's value of range column k back to 0, its outlier dropped. */
static void range_clear(ix_inst *ix, int k, uint32_t row)
{
    if (ix->qrems[k][row] == IX_QREM_OUTLIER) {
        bool found;
        size_t i = outlier_pos(ix, k, row, &found);
        if (found) {
            ix->n_outliers--;
            memmove(&ix->outliers[i], &ix->outliers[i + 1],
                    (ix->n_outliers - i) * sizeof *ix->outliers);
        }
    }
    ix->qcols[k][row] = 0;
    ix->qrems[k][row] = 0;
}

/* ---- running sums per value ---- */

/* sums += sign * the count columns of row */
static void sums_add(int64_t *sums, const ix_inst *ix, uint32_t row, int64_t sign)
{
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        sums[t] += sign * ix->counts[t][row];
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        sums[REPORT_TYPE_COUNT + v] += sign * ix->vul_counts[v][row];
}

/* ---- running sums per dictionary entry ----
 *
 * An entry of the (project, ep) dictionary or of a substring-filtered
 * attribute's (namespace, image_name, ...) keeps the sums of its rows'
 * count columns once it has ENTRY_SUMS_MIN rows (dict_entry.sums), so
 * that a count over one EP, or over the entries a substring matches,
 * reads one sum per large entry instead of its rows (index_query.c).
 * Smaller entries keep none, which bounds the sums to one per
 * ENTRY_SUMS_MIN images. An entry's sums, while it has them, are
 * exactly its rows' (they are made from the rows, then follow each join
 * and leave); out of memory, an entry has none and a count reads its
 * rows. */
#define ENTRY_SUMS_MIN 16

#define SA_SUMMED_SUBSTR 1
#define SA_SUMMED_EXACT 0
#define SA_SUMMED_NONE 0
#define SA_SUMMED_ITEM(m, key, dmin, dmax, filter, ...) || (a == SA_##m && SA_SUMMED_##filter)
static bool sa_entry_summed(str_attr a)
{
    return a == SA_PROJECT_EP || (!sa_row_owned(a) && (0 MODEL_IMAGE_STRINGS(SA_SUMMED_ITEM)));
}
#undef SA_SUMMED_ITEM

/* row has just joined e (dict_ref). */
static void entry_sums_join(const ix_inst *ix, dict_entry *e, uint32_t row)
{
    if (e->sums) {
        sums_add(e->sums, ix, row, 1);
        return;
    }
    if (e->n < ENTRY_SUMS_MIN)
        return;
    int64_t *sums = calloc(IX_SUM_COLS, sizeof *sums);
    uint32_t *rows = malloc((size_t)e->n * sizeof *rows);
    if (sums && rows) {
        dict_entry_rows(e, rows);
        for (uint32_t i = 0; i < e->n; i++)
            sums_add(sums, ix, rows[i], 1);
        e->sums = sums;
        sums = NULL;
    }
    free(sums);
    free(rows);
}

/* Takes the image out of every structure; the row stays allocated. Only
 * rows the id map names are detached, and each of them holds an image,
 * whole or (after an attach ran out of memory) in part. */
static void row_detach(ix_inst *ix, uint32_t row)
{
    ix_row *r = &ix->rows[row];
    latest_leave(ix, row); /* also takes row out of ix->latest */
    (void)bulk_drain(ix); /* the worker's postings of row are in; a failure is
                             reported again when the batch ends */
    postings_row_clear(&ix->vuls, row);
    postings_row_clear(&ix->builds, row);
    /* the running sums, while the row's counts are there (row_attach adds
     * to these four before anything can fail; a dictionary entry's follow
     * its rows: below) */
    sums_add(ix->col_sums, ix, row, -1);
    sums_add(ix->type_sums[r->type], ix, row, -1);
    sums_add(ix->status_sums[r->status], ix, row, -1);
    if (r->level < SEVERITY_LEVEL_COUNT)
        sums_add(ix->level_sums[r->level], ix, row, -1);
    roaring_bitmap_remove(ix->by_type[r->type], row);
    roaring_bitmap_remove(ix->by_status[r->status], row);
    if (r->level < SEVERITY_LEVEL_COUNT)
        roaring_bitmap_remove(ix->by_level[r->level], row);
    for (int f = 0; f < FLAG_COUNT; f++)
        roaring_bitmap_remove(ix->flags[f], row);
    int64_t id;
    if (r->str[SA_image_id].own && !r->str[SA_image_id].own->packed &&
        key_decimal_id(r->str[SA_image_id].own->s, &id))
        ix->n_decimal_image_ids--;
    for (int a = 0; a < SA_COUNT; a++) {
        if (sa_row_owned((str_attr)a)) {
            if (!r->str[a].own)
                continue;
            if (!sa_shown_only((str_attr)a))
                owned_leave(ix, row, (str_attr)a);
            str_drop(r->str[a].own);
        } else if (r->str[a].e) {
            if (r->str[a].e->sums) /* the row is in it: attach_str */
                sums_add(r->str[a].e->sums, ix, row, -1);
            dict_unref(&ix->dicts[a], r->str[a].e, row);
        }
    }
    for (int k = 0; k < IX_QCOLS; k++)
        range_clear(ix, k, row);
    ix->container_num[row] = 0;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        ix->n_records -= ix->counts[t][row];
        ix->counts[t][row] = 0;
    }
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        ix->vul_counts[v][row] = 0;
    *r = (ix_row){.id = r->id};
}

/* The row's own string s[0..len) of attribute a: the donor's copy for
 * this image if it is the same string, else a new one. */
static ix_str *owned_make(const ix_inst *donor, int64_t id, str_attr a, const char *s,
                          size_t len)
{
    uint32_t drow;
    if (donor && idmap_get(&donor->ids, id, ix_row_id, donor, &drow)) {
        ix_str *o = donor->rows[drow].str[a].own;
        if (o && str_eq(o, s, len))
            return str_share(o);
    }
    return str_new(s, len);
}

static int attach_str(ix_inst *ix, uint32_t row, str_attr a, const char *s, size_t len,
                      const ix_inst *donor)
{
    if (!s)
        s = "", len = 0;
    if (sa_row_owned(a)) {
        ix_str *o = owned_make(donor, ix->rows[row].id, a, s, len);
        ix->rows[row].str[a].own = o;
        if (!o)
            return -1;
        return sa_shown_only(a) ? 0 : owned_join(ix, row, a);
    }
    dict_entry *e = dict_ref(&ix->dicts[a], s, len, row);
    ix->rows[row].str[a].e = e;
    if (e && sa_entry_summed(a))
        entry_sums_join(ix, e, row);
    return e ? 0 : -1;
}

static int attach_cstr(ix_inst *ix, uint32_t row, str_attr a, const char *s,
                       const ix_inst *donor)
{
    return attach_str(ix, row, a, s, s ? strlen(s) : 0, donor);
}

/* The string attributes of model.h's table, each into its dictionary (or
 * the row's own); a content id that spells an image id is counted
 * (index_query.c). */
static int attach_strings(ix_inst *ix, uint32_t row, const image_summary *s,
                          const ix_inst *donor)
{
    int64_t id;
    /* counted as soon as attached: row_detach uncounts what it finds attached */
#define ATTACH_STRING(m, ...)                                                                  \
    if (attach_cstr(ix, row, SA_##m, s->m, donor) != 0)                                        \
        return -1;                                                                             \
    if (SA_##m == SA_image_id && s->m && key_decimal_id(s->m, &id))                            \
        ix->n_decimal_image_ids++;
    MODEL_IMAGE_STRINGS(ATTACH_STRING)
#undef ATTACH_STRING
    return 0;
}

static int attach_postings(ix_inst *ix, uint32_t row, const image_summary *s)
{
    if (ix->bulk && bulk_add_vuls(ix, row, s) != 0)
        return -1;
    for (size_t i = 0; !ix->bulk && i < s->n_vuls; i++) {
        const vul_agg *v = &s->vuls[i];
        if (v->n <= 0)
            continue;
        ixkey k;
        key_init(&k);
        key_vul(&k, v->vul_id, (unsigned char)v->type);
        posting p = {.row = row, .n = (uint32_t)v->n, .seq = (uint32_t)v->rep_seq,
                     .cvss = pcvss_code(v->has_cvss, v->cvss),
                     .rcvss = pcvss_code(v->has_rep_cvss, v->rep_cvss), .v = (uint8_t)v->rank};
        int rc = k.failed ? -1 : postings_row_add(&ix->vuls, k.p, k.len, p);
        key_free(&k);
        if (rc != 0)
            return -1;
    }
    for (size_t i = 0; i < s->n_builds; i++) {
        const build_agg *b = &s->builds[i];
        if (b->n <= 0)
            continue;
        ixkey k;
        key_init(&k);
        key_build(&k, b->rule_id, b->risk_name, (unsigned char)b->level);
        int rc = k.failed ? -1 : postings_row_add(&ix->builds, k.p, k.len,
                                                  (posting){.row = row, .n = (uint32_t)b->n});
        key_free(&k);
        if (rc != 0)
            return -1;
    }
    if (!ix->bulk)
        postings_row_trim(&ix->vuls, row);
    postings_row_trim(&ix->builds, row);
    return 0;
}

/* Puts image s into the (detached) row. On failure the row is left
 * half-attached: the caller detaches it. */
static int row_attach(ix_inst *ix, uint32_t row, const image_summary *s, const ix_inst *donor)
{
    ix_row *r = &ix->rows[row];
    *r = (ix_row){.id = s->id, .type = (uint8_t)s->type, .status = (uint8_t)s->status,
                  .level = (uint8_t)s->severity_level};

    ix->container_num[row] = s->container_num;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        ix->counts[t][row] = (uint32_t)s->counts[t]; /* bounded by summary_check */
        ix->n_records += s->counts[t];
    }
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        ix->vul_counts[v][row] = (uint32_t)s->vul_counts[v];

    /* the running sums: every row's, then its values' (row_detach takes
     * the row out of the same ones) */
    sums_add(ix->col_sums, ix, row, 1);
    sums_add(ix->type_sums[s->type], ix, row, 1);
    sums_add(ix->status_sums[s->status], ix, row, 1);
    if (s->severity_level < SEVERITY_LEVEL_COUNT)
        sums_add(ix->level_sums[s->severity_level], ix, row, 1);
    roaring_bitmap_add(ix->by_type[s->type], row);
    roaring_bitmap_add(ix->by_status[s->status], row);
    if (s->severity_level < SEVERITY_LEVEL_COUNT)
        roaring_bitmap_add(ix->by_level[s->severity_level], row);
    set_flag(ix, FLAG_HAS_VUL, row, s->counts[REPORT_VULNERABILITY] > 0);
    set_flag(ix, FLAG_HAS_MALICIOUS_FILE, row, s->counts[REPORT_MALWARES] > 0);
    set_flag(ix, FLAG_HAS_UNSAFE_SETTING, row, s->counts[REPORT_RISK_CONFIG] > 0);
    set_flag(ix, FLAG_HAS_CONTAINER, row, s->container_num > 0);
    set_flag(ix, FLAG_RISKY, row,
             s->severity_level == SEVERITY_LEVEL_LOW ||
                 s->severity_level == SEVERITY_LEVEL_MEDIUM ||
                 s->severity_level == SEVERITY_LEVEL_HIGH);

    /* the range columns: an outlier's value may fail to be kept (row_detach
     * then finds the row's remainder 0, or IX_QREM_OUTLIER and the value) */
    for (int q = 0; q < IX_QCOLS; q++)
        ix->qcols[q][row] = ix->qrems[q][row] = 0;
    if (range_put(ix, IX_Q_SIZE, row, s->image_size) != 0 ||
        range_put(ix, IX_Q_UPDATE, row, s->latest_update_time) != 0 ||
        range_put(ix, IX_Q_SCAN, row, s->latest_scan_time) != 0)
        return -1;

    const char *ep = s->ep ? s->ep : MODEL_DEFAULT_EP;
    ixkey k;
    key_init(&k);
    key_project_ep(&k, s->project_id, ep);
    int rc = k.failed ? -1 : attach_str(ix, row, SA_PROJECT_EP, k.p, k.len, NULL);
    key_free(&k);
    if (rc != 0 || attach_cstr(ix, row, SA_PROJECT, s->project_id, NULL) != 0 ||
        attach_strings(ix, row, s, donor) != 0)
        return -1;
    if (attach_postings(ix, row, s) != 0)
        return -1;
    return latest_join(ix, row, s);
}

static int summary_check(const image_summary *s, imgsec_err *err)
{
    if (!s || !s->project_id)
        return err_set(err, IMGSEC_EINVAL, "image summary without project_id");
    if ((unsigned)s->type >= IMAGE_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "image %lld: bad image_type", (long long)s->id);
    if ((unsigned)s->status >= SCAN_STATUS_COUNT)
        return err_set(err, IMGSEC_EINVAL, "image %lld: bad scan_status", (long long)s->id);
    if ((unsigned)s->severity_level > SEVERITY_LEVEL_NONE)
        return err_set(err, IMGSEC_EINVAL, "image %lld: bad severity_level", (long long)s->id);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (s->counts[t] < 0 || s->counts[t] > UINT32_MAX)
            return err_set(err, IMGSEC_EINVAL, "image %lld: record count out of range",
                           (long long)s->id);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        if (s->vul_counts[v] < 0 || s->vul_counts[v] > UINT32_MAX)
            return err_set(err, IMGSEC_EINVAL, "image %lld: record count out of range",
                           (long long)s->id);
    for (size_t i = 0; i < s->n_vuls; i++)
        if ((unsigned)s->vuls[i].type >= VUL_TYPE_COUNT || s->vuls[i].n > UINT32_MAX ||
            !s->vuls[i].vul_id || s->vuls[i].rank < 0 || s->vuls[i].rank > 4 ||
            s->vuls[i].rep_seq < 0 || s->vuls[i].rep_seq > UINT32_MAX)
            return err_set(err, IMGSEC_EINVAL, "image %lld: bad vulnerability aggregate",
                           (long long)s->id);
    for (size_t i = 0; i < s->n_builds; i++)
        if ((unsigned)s->builds[i].level >= SEVERITY_COUNT || s->builds[i].n > UINT32_MAX ||
            !s->builds[i].rule_id || !s->builds[i].risk_name)
            return err_set(err, IMGSEC_EINVAL, "image %lld: bad build-command-risk aggregate",
                           (long long)s->id);
    return IMGSEC_OK;
}

int rows_upsert(ix_inst *ix, const image_summary *s, const ix_inst *donor, imgsec_err *err)
{
    int rc = summary_check(s, err);
    if (rc != IMGSEC_OK)
        return rc;
    order_drop(ix);
    if (!ix->ready)
        return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
    uint32_t row;
    if (idmap_get(&ix->ids, s->id, ix_row_id, ix, &row)) {
        row_detach(ix, row);
    } else {
        if (row_alloc(ix, &row) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
        ix->rows[row].id = s->id; /* the id map's key is read through the row */
        if (idmap_put(&ix->ids, s->id, row, ix_row_id, ix) != 0) {
            row_release(ix, row);
            return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
        }
    }
    if (row_attach(ix, row, s, donor) != 0) {
        row_detach(ix, row);
        idmap_del(&ix->ids, s->id, ix_row_id, ix);
        row_release(ix, row);
        return err_set(err, IMGSEC_EINTERNAL, "index: out of memory");
    }
    return IMGSEC_OK;
}

void rows_remove(ix_inst *ix, int64_t id)
{
    uint32_t row;
    if (!ix->ready || !idmap_get(&ix->ids, id, ix_row_id, ix, &row))
        return;
    order_drop(ix);
    row_detach(ix, row);
    idmap_del(&ix->ids, id, ix_row_id, ix);
    row_release(ix, row);
}

/* A copy of src's first n of cap elements, with room for cap. The rest
 * is left unwritten: rows >= n_rows are never read before row_alloc and
 * row_attach set them, and a large block's untouched pages cost no
 * resident memory (copying the whole capacity made them resident: up to
 * half of the rows and columns just after a doubling). */
static int dup_column(void **dst, const void *src, uint32_t n, uint32_t cap, size_t elem)
{
    if (!src || cap == 0)
        return 0;
    if (!(*dst = malloc((size_t)cap * elem)))
        return -1;
    memcpy(*dst, src, (size_t)n * elem);
    return 0;
}

/* The row-owned strings are shared (a reference each) and their rowmaps
 * copied. The dictionaries are rebuilt through dict_ref, entry by entry
 * in src's order and each entry's rows ascending, rather than copied:
 * dict_ref keeps whatever a dictionary maintains beside its entries, and
 * the entries come out in the same order. An entry's running sums are
 * copied (the rows' counts are the same). */
static int clone_dicts(ix_inst *dst, const ix_inst *src)
{
    uint32_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (uint32_t r = 0; r < src->n_rows; r++)
        for (int a = 0; a < SA_COUNT; a++) {
            ix_str *o = src->rows[r].str[a].own;
            if (sa_row_owned((str_attr)a) && o)
                dst->rows[r].str[a].own = str_share(o);
        }
    for (int a = 0; rc == 0 && a < SA_COUNT; a++)
        if (rowmap_copy(&dst->owned[a], &src->owned[a]) != 0)
            rc = -1;
    for (int a = 0; rc == 0 && a < SA_COUNT; a++) {
        const dict *d = &src->dicts[a];
        for (size_t i = 0; rc == 0 && i < d->n; i++) {
            const dict_entry *e = d->entries[i];
            if (e->n > cap) {
                size_t c = e->n > 2 * cap ? e->n : 2 * cap;
                uint32_t *nb = realloc(buf, c * sizeof *nb);
                if (!nb) {
                    rc = -1;
                    break;
                }
                buf = nb;
                cap = c;
            }
            dict_entry_rows(e, buf);
            dict_entry *ne = NULL;
            for (uint32_t k = 0; rc == 0 && k < e->n; k++) {
                if (!(ne = dict_ref(&dst->dicts[a], e->s, e->len, buf[k])))
                    rc = -1;
                else if (!sa_row_owned((str_attr)a))
                    dst->rows[buf[k]].str[a].e = ne;
            }
            if (rc == 0 && e->sums && (ne->sums = malloc(IX_SUM_COLS * sizeof *ne->sums)))
                memcpy(ne->sums, e->sums, IX_SUM_COLS * sizeof *ne->sums);
        }
    }
    free(buf);
    return rc;
}

int rows_clone(ix_inst *dst, const ix_inst *src)
{
    if (rows_init(dst) != 0 || !src->ready) {
        rows_destroy(dst);
        return -1;
    }
    uint32_t cap = src->cap_rows, n = src->n_rows;
    int rc = dup_column((void **)&dst->rows, src->rows, n, cap, sizeof *src->rows);
    /* the string pointers point into src until clone_dicts points them at
     * dst's own: none is followed (nor freed) before */
    for (uint32_t r = 0; rc == 0 && r < src->n_rows; r++)
        memset(dst->rows[r].str, 0, sizeof dst->rows[r].str);
    dst->n_rows = rc == 0 ? src->n_rows : 0;
    rc |= dup_column((void **)&dst->container_num, src->container_num, n, cap, sizeof(int64_t));
    /* the free-row stack: its first n_free entries */
    rc |= dup_column((void **)&dst->free_rows, src->free_rows, src->n_free, cap, sizeof(uint32_t));
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        rc |= dup_column((void **)&dst->counts[t], src->counts[t], n, cap, sizeof(uint32_t));
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        rc |= dup_column((void **)&dst->vul_counts[v], src->vul_counts[v], n, cap, sizeof(uint32_t));
    for (int k = 0; k < IX_QCOLS; k++) {
        rc |= dup_column((void **)&dst->qcols[k], src->qcols[k], n, cap, sizeof(uint32_t));
        rc |= dup_column((void **)&dst->qrems[k], src->qrems[k], n, cap, sizeof(uint16_t));
    }
    if (src->n_outliers) {
        dst->outliers = malloc(src->n_outliers * sizeof *dst->outliers);
        if (dst->outliers) {
            memcpy(dst->outliers, src->outliers, src->n_outliers * sizeof *dst->outliers);
            dst->n_outliers = dst->cap_outliers = src->n_outliers;
        } else {
            rc = -1;
        }
    }
    if (rc != 0) {
        rows_destroy(dst);
        return -1;
    }
    dst->cap_rows = cap;
    dst->n_free = src->n_free;
    dst->n_decimal_image_ids = src->n_decimal_image_ids;
    dst->n_records = src->n_records;
    memcpy(dst->col_sums, src->col_sums, sizeof dst->col_sums);
    memcpy(dst->type_sums, src->type_sums, sizeof dst->type_sums);
    memcpy(dst->status_sums, src->status_sums, sizeof dst->status_sums);
    memcpy(dst->level_sums, src->level_sums, sizeof dst->level_sums);
    if (src->ids.cap) {
        if (!(dst->ids.slots = malloc(src->ids.cap * sizeof *src->ids.slots))) {
            rows_destroy(dst);
            return -1;
        }
        memcpy(dst->ids.slots, src->ids.slots, src->ids.cap * sizeof *src->ids.slots);
        dst->ids.cap = src->ids.cap;
        dst->ids.n = src->ids.n;
    }
    roaring_bitmap_t **d[N_BITMAPS], **s[N_BITMAPS];
    all_bitmaps(dst, d);
    all_bitmaps((ix_inst *)src, s); /* only read */
    for (size_t i = 0; i < N_BITMAPS; i++) {
        roaring_bitmap_free(*d[i]);
        if (!(*d[i] = roaring_bitmap_copy(*s[i])))
            rc = -1;
    }
    postings_free(&dst->vuls);
    postings_free(&dst->builds);
    postings_free(&dst->groups);
    if (rc != 0 || postings_clone(&dst->vuls, &src->vuls) != 0 ||
        postings_clone(&dst->builds, &src->builds) != 0 ||
        postings_clone(&dst->groups, &src->groups) != 0 || clone_dicts(dst, src) != 0) {
        rows_destroy(dst);
        return -1;
    }
    return 0;
}
