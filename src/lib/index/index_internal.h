/* index_internal.h - the layout of imgsec_index, shared by its files.
 *
 * Every image has a dense row number (freed rows are reused), so that sets
 * of images are roaring bitmaps of rows and per-image numbers are plain
 * arrays indexed by row ("columns"). What a filter needs decides where an
 * attribute lives:
 *
 *   - categorical attributes and derived flags: one bitmap per value;
 *   - string attributes: a dictionary entry per distinct string (with its
 *     rows), referenced from the row; the substring-filtered ones also with
 *     byte and trigram postings over their distinct strings (index_gram.c);
 *     the ones nearly every image has its own value of (image_digest,
 *     image_id: sa_row_owned) are the row's own string (ix_str), shared by
 *     both instances, found from the string by a rowmap when filtered;
 *   - numbers filtered by range, and the record counts that are summed:
 *     columns, read only for rows that survived the bitmap filters;
 *   - record filters (vul_id, build-command risks): inverted postings.
 *
 * The public imgsec_index is a pair of such instances (ix_inst) behind an
 * atomically published index: readers use the published one and never
 * wait, the writer changes the other one and publishes it (index.c; the
 * log of the last batch, replayed on the lagging instance, is
 * index_log.c). Everything below works on one instance.
 *
 * Files: index.c (lifecycle, left-right publication, public entry points),
 * index_log.c (the batch log), index_bulk.c (a rebuild's vulnerability
 * postings on a worker of a pool, work.h), index_rows.c
 * (upsert/remove: keeping all of the above in step; the copy of a whole
 * instance after a rebuild), index_latest.c
 * (latest-version groups), index_query.c (image selection),
 * index_records.c (summing records under the record filters); and the
 * building blocks index_hash.c (hash maps), index_dict.c (dictionaries),
 * index_gram.c (their substring postings),
 * index_postings.c (inverted indexes), index_bits.c (sorted row inserts),
 * index_key.c (composite keys, decimal ids).
 *
 * Readers only read: every query builds its own bitmaps and buffers, so
 * any number of them can share a published instance.
 */
#ifndef IMGSEC_INDEX_INTERNAL_H
#define IMGSEC_INDEX_INTERNAL_H

#include <roaring/roaring.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "imgsec/filter.h"
#include "imgsec/index.h"
#include "imgsec/model.h"
#include "index_dict.h"
#include "index_hash.h"
#include "index_postings.h"

/* The string attributes of an image, each with its own dictionary: the
 * scope's two, then one per line of model.h's MODEL_IMAGE_STRINGS, named
 * SA_<member> (SA_namespace_, SA_image_name, ...). */
#define SA_ENUM_ITEM(m, ...) SA_##m,
typedef enum {
    SA_PROJECT,        /* project_id */
    SA_PROJECT_EP,     /* (project_id, ep) composite key */
    MODEL_IMAGE_STRINGS(SA_ENUM_ITEM)
    SA_COUNT
} str_attr;
#undef SA_ENUM_ITEM

/* Derived boolean attributes (data-model.md), one bitmap each. */
typedef enum {
    FLAG_HAS_VUL,
    FLAG_HAS_MALICIOUS_FILE,
    FLAG_HAS_UNSAFE_SETTING,
    FLAG_HAS_CONTAINER,
    FLAG_RISKY,
    FLAG_COUNT
} img_flag;

typedef struct ix_inst ix_inst;

/* The count columns that are summed: counts[t] at t, vul_counts[v] at
 * REPORT_TYPE_COUNT + v. */
#define IX_SUM_COLS (REPORT_TYPE_COUNT + VUL_TYPE_COUNT)

typedef struct ix_bulk ix_bulk; /* index_bulk.c */
struct ix_order; /* index_page.c */
struct ix_terms; /* index_list.c (terms_free) */

/* Is attribute a only shown, never filtered (model.h's filter NONE:
 * image_digest)? */
#define SA_SHOWN_ONLY_SUBSTR 0
#define SA_SHOWN_ONLY_EXACT 0
#define SA_SHOWN_ONLY_NONE 1
#define SA_SHOWN_ONLY_ITEM(m, key, dmin, dmax, filter, ...) || (a == SA_##m && SA_SHOWN_ONLY_##filter)
static inline bool sa_shown_only(str_attr a)
{
    return 0 MODEL_IMAGE_STRINGS(SA_SHOWN_ONLY_ITEM);
}
#undef SA_SHOWN_ONLY_ITEM

/* Is attribute a kept as the row's own string (ix_str) rather than a
 * dictionary entry? The shown-only ones (nothing looks them up) and the
 * content id (image_id: filtered exactly, and nearly one per image, so a
 * dictionary entry, its map slot and its string would cost about 210
 * bytes per image and instance; the row's shared string and a rowmap slot
 * cost 96 bytes once plus 16 per instance). The rows of a row-owned
 * filtered attribute are found through ix_inst.owned: a rowmap of the rows
 * whose string no other row holds, and the attribute's dictionary for the
 * strings several rows hold (rows_find_exact). */
static inline bool sa_row_owned(str_attr a)
{
    return sa_shown_only(a) || a == SA_image_id;
}

/* A row-owned string: immutable once made, and shared by the two
 * instances (rows_clone, and the replay of a batch, take a reference to
 * the other instance's copy instead of making one). ref is only touched by
 * the writer (every change of either instance is the writer's), and
 * readers only read len, packed and s: no atomics needed.
 *
 * Content ids and digests are nearly always "sha256:" and 64 lowercase
 * hex digits (71 bytes): such a string is kept packed, its 32 bytes in s
 * (a 40-byte block instead of 80), and spelled out again by ix_str_text
 * into the reader's buffer. Any other string is kept as it is. */
#define IX_STR_PACKED_LEN 71 /* "sha256:" + 64 hex digits */
#define IX_STR_BUF (IX_STR_PACKED_LEN + 1)
typedef struct {
    uint32_t ref;
    uint32_t len : 31;    /* of the text, packed or not */
    uint32_t packed : 1;  /* s holds the 32 bytes of a "sha256:" + hex string */
    char s[];             /* NUL-terminated text, or 32 bytes when packed */
} ix_str;

/* The text of o, of *len bytes, NUL-terminated: o's own, or spelled out
 * into buf when packed. */
static inline const char *ix_str_text(const ix_str *o, char buf[IX_STR_BUF], size_t *len)
{
    *len = o->len;
    if (!o->packed)
        return o->s;
    static const char hex[] = "0123456789abcdef";
    memcpy(buf, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        unsigned char b = (unsigned char)o->s[i];
        buf[7 + 2 * i] = hex[b >> 4];
        buf[8 + 2 * i] = hex[b & 15];
    }
    buf[IX_STR_PACKED_LEN] = '\0';
    return buf;
}

typedef union {
    dict_entry *e;        /* a dictionary's entry (!sa_row_owned) */
    ix_str *own;          /* the row's own string (sa_row_owned) */
} ix_strref;

typedef struct {
    int64_t id;
    ix_strref str[SA_COUNT]; /* NULL on a free row */
    uint8_t type, status, level;
} ix_row;

/* The string of attribute a of row r ("" when unset), and its length:
 * valid while r is, and for a row-owned string while buf is (a packed
 * one is spelled out into buf). */
static inline const char *row_str(const ix_row *r, str_attr a, size_t *len, char buf[IX_STR_BUF])
{
    if (sa_row_owned(a)) {
        const ix_str *o = r->str[a].own;
        *len = 0;
        return o ? ix_str_text(o, buf, len) : "";
    }
    const dict_entry *e = r->str[a].e;
    *len = e ? e->len : 0;
    return e ? e->s : "";
}

/* The range columns (image_size, latest update and scan times), each
 * held as two narrow columns: the value's step q = v >> shift in 32 bits
 * and its remainder v - (q << shift) in 16. The step is what a range
 * count reads (index_query.c): Q is monotone, so v in [lo, hi] needs Q(v)
 * in [Q(lo), Q(hi)], and Q(v) strictly between them proves it; only the
 * rows on a bound's step need the whole value (ix_range_value). The
 * shifts make a step 32 bytes of image size and 1.024 s of time
 * (milliseconds), and reach 128 GiB and the year 2109. A value no step
 * holds (negative, or at or beyond the last step) is an outlier: its step
 * is clamped (0 or UINT32_MAX, still monotone), its remainder
 * IX_QREM_OUTLIER, and the value itself kept in ix_inst.outliers. 6 bytes
 * a value instead of 8, and the counts read 4. */
enum { IX_Q_SIZE, IX_Q_UPDATE, IX_Q_SCAN, IX_QCOLS };
#define IX_QSHIFT_SIZE 5
#define IX_QSHIFT_TIME 10
#define IX_QREM_OUTLIER 0xFFFFu

static inline unsigned ix_qshift(int k)
{
    return k == IX_Q_SIZE ? IX_QSHIFT_SIZE : IX_QSHIFT_TIME;
}

static inline uint32_t ix_quantize(int64_t v, unsigned shift)
{
    if (v < 0)
        return 0;
    uint64_t q = (uint64_t)v >> shift;
    return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

/* An outlier's value, by (row, column). */
typedef struct {
    uint32_t row, k;
    int64_t v;
} ix_outlier;

/* One complete instance of the index. */
struct ix_inst {
    bool ready;                   /* rows_init succeeded (false only after OOM) */

    /* rows and columns, all of cap_rows elements; rows >= n_rows never used */
    ix_row *rows;
    int64_t *container_num;       /* listed (has_container is a flag) */
    /* records per image: 32 bits (index_upsert refuses more), half the
     * memory of the widest columns; sums are 64-bit */
    uint32_t *counts[REPORT_TYPE_COUNT];
    uint32_t *vul_counts[VUL_TYPE_COUNT];
    /* image_size, update_time, scan_time (IX_Q_*): step and remainder */
    uint32_t *qcols[IX_QCOLS];
    uint16_t *qrems[IX_QCOLS];
    ix_outlier *outliers;         /* sorted by (row, k) */
    size_t n_outliers, cap_outliers;
    uint32_t n_rows, cap_rows;
    uint32_t *free_rows;          /* stack of reusable rows */
    uint32_t n_free;

    idmap ids;                    /* image id -> row (keyed by rows[row].id);
                                     ids.n is the number of images */
    size_t n_decimal_image_ids;   /* images whose content id spells an image id */
    int64_t n_records;            /* sum of counts[*][*]: the records of every image */
    /* per column, the sum over every row: counts[t] at t, vul_counts[v] at
     * REPORT_TYPE_COUNT + v (a total over every image: rec_total) */
    int64_t col_sums[IX_SUM_COLS];
    /* the same sums over the rows of each categorical value (by_type,
     * by_status, by_level): the total of a selection that is exactly one
     * of them (query_total); those of a (project, ep) and of a
     * substring-filtered string are its dictionary entry's
     * (dict_entry.sums, index_rows.c) */
    int64_t type_sums[IMAGE_TYPE_COUNT][IX_SUM_COLS];
    int64_t status_sums[SCAN_STATUS_COUNT][IX_SUM_COLS];
    int64_t level_sums[SEVERITY_LEVEL_COUNT][IX_SUM_COLS];
    dict dicts[SA_COUNT];         /* a row-owned filtered attribute's: only the
                                     strings several rows hold */
    rowmap owned[SA_COUNT];       /* a row-owned filtered attribute's rows whose
                                     string is in no dictionary entry */

    roaring_bitmap_t *by_type[IMAGE_TYPE_COUNT];
    roaring_bitmap_t *by_status[SCAN_STATUS_COUNT];
    roaring_bitmap_t *by_level[SEVERITY_LEVEL_COUNT]; /* NONE has no bitmap */
    roaring_bitmap_t *flags[FLAG_COUNT];
    roaring_bitmap_t *latest;     /* rows that are the latest version */

    postings vuls;                /* (vul_id, vul_type) -> (row, records) */
    ix_bulk *bulk;                /* during a full rebuild: the pool whose worker
                                     owns vuls until bulk_stop (index_bulk.c) */
    postings builds;              /* (rule_id, risk_name, level) -> (row, records) */
    postings groups;              /* latest-version group -> (row, 0); aux = latest row */

    /* Sorted orders of the rows, built by the first page that needs one
     * and dropped by any write to the instance (index_page.c). */
    _Atomic(struct ix_order *) orders[INDEX_ORDER_COUNT];
    /* The vulnerability and the build-risk terms in key order with their
     * postings summed per image type, built by the first grouped list
     * that needs them and dropped with the orders (index_list.c). */
    _Atomic(struct ix_terms *) vul_terms, build_terms;
};

/* The value of range column k (IX_Q_*) at row: its step and remainder, or
 * the outlier kept for it (index_rows.c). */
int64_t rows_outlier(const ix_inst *ix, int k, uint32_t row);
static inline int64_t ix_range_value(const ix_inst *ix, int k, uint32_t row)
{
    unsigned rem = ix->qrems[k][row];
    if (__builtin_expect(rem == IX_QREM_OUTLIER, 0))
        return rows_outlier(ix, k, row);
    return (int64_t)((uint64_t)ix->qcols[k][row] << ix_qshift(k)) | (int64_t)rem;
}

/* The id of row: the key function of ix->ids (index_hash.h), ctx = ix. */
static inline int64_t ix_row_id(const void *ctx, uint32_t row)
{
    return ((const ix_inst *)ctx)->rows[row].id;
}

/* ---- index_log.c: the ops of a write batch, to replay on the other instance ---- */

typedef enum { IX_OP_UPSERT, IX_OP_REMOVE, IX_OP_CLEAR } ix_op_kind;

typedef struct {
    ix_op_kind kind;
    int64_t id;             /* IX_OP_REMOVE */
    image_summary *s;       /* IX_OP_UPSERT: a deep copy, in the log's arena */
} ix_op;

typedef struct ix_chunk ix_chunk;

typedef struct {
    ix_op *ops;
    size_t n, cap;
    ix_chunk *chunks;       /* arena of the copied summaries */
    bool lost;              /* an op could not be recorded (out of memory) */
    bool clone;             /* the batch began with a clear: the other instance
                               is to become a copy of this one (rows_clone), so
                               ops are counted in n but not kept */
} ix_log;

/* Records an op (copying s for an upsert), or after a clear only counts
 * it (log->clone). Sets log->lost when out of memory. */
void ix_log_add(ix_log *log, ix_op_kind kind, int64_t id, const image_summary *s);
/* Applies every op to ix, in order (log->clone false); donor is the
 * instance the log was recorded on (rows_upsert). 0, or -1 when an op
 * failed (out of memory): ix then differs from the instance the log was
 * recorded on. */
int ix_log_replay(const ix_log *log, ix_inst *ix, const ix_inst *donor);
/* Empties the log (keeps nothing allocated). */
void ix_log_reset(ix_log *log);

/* The published instance, for tests that look inside it. */
const ix_inst *index_published(const imgsec_index *ix);

/* ---- index_rows.c ---- */
int rows_init(ix_inst *ix);     /* bitmaps; -1 when out of memory */
void rows_destroy(ix_inst *ix); /* frees everything index_rows owns */
/* donor, when not NULL, is the other instance (only read): a row-owned
 * string equal to its copy of the image's is shared, not copied. */
int rows_upsert(ix_inst *ix, const image_summary *s, const ix_inst *donor, imgsec_err *err);
void rows_remove(ix_inst *ix, int64_t id);
/* Makes dst (destroyed or never initialized) an instance equal to src:
 * the same images in the same rows, answering every query alike. 0, or -1
 * when out of memory (dst is then destroyed). index_rows.c. */
int rows_clone(ix_inst *dst, const ix_inst *src);
/* The rows holding the string s[0..len) of the exactly filtered attribute
 * a: its dictionary entry, or for a row-owned attribute whose string one
 * row holds, a one-row entry written to *tmp (valid while tmp is). NULL
 * when no row holds it. Readers may call it. */
const dict_entry *rows_find_exact(const ix_inst *ix, str_attr a, const char *s, size_t len,
                                  dict_entry *tmp);

/* ---- index_bulk.c: a full rebuild's vulnerability postings on a pool's worker ----
 *
 * While ix->bulk is set, rows_upsert queues each image's vulnerability
 * postings (bulk_add_vuls) for the one worker of a pool (work.h) that
 * owns ix->vuls; any other reader or writer of ix->vuls calls bulk_drain
 * first. Started by
 * index_clear, stopped at the batch's end (and by rows_destroy). */
/* Starts the pool; -1 (nothing started: the build stays serial) when
 * out of memory or threads. */
int bulk_start(ix_inst *ix);
/* Queues row's postings of s. -1 when out of memory (nothing queued). */
int bulk_add_vuls(ix_inst *ix, uint32_t row, const image_summary *s);
/* Waits until the worker has applied everything queued. 0, or -1 if it
 * ran out of memory at some point: ix->vuls lacks postings then. */
int bulk_drain(ix_inst *ix);
/* bulk_drain, then stops the pool and clears ix->bulk (0 without one). */
int bulk_stop(ix_inst *ix);

/* ---- index_latest.c ---- */
/* Puts row (whose id and update_time are set) into its group and
 * recomputes that group's latest version. 0, or -1 when out of memory. */
int latest_join(ix_inst *ix, uint32_t row, const image_summary *s);
/* Takes row out of its group (if any) and recomputes the group. Then row
 * is not in ix->latest: only a group's latest row is, and a row that
 * never joined a group (its join failed) never was. */
void latest_leave(ix_inst *ix, uint32_t row);

/* ---- index_query.c: the selected images of a query ---- */

/* A set of rows, ascending: a bitmap, or (after per-row checks) an array. */
typedef struct {
    roaring_bitmap_t *bm;
    uint32_t *arr;
    size_t n;                 /* elements of arr */
} row_set;

void row_set_free(row_set *s);
uint64_t row_set_count(const row_set *s);
/* The rows of sel whose image type is in mask: sel itself when mask is 0,
 * else *tmp (zeroed by the caller, freed with row_set_free), made from
 * the types' bitmaps so that no row is read (a row's type is in its
 * ix_row, a cache line each: 1.1M of them cost a page of the whole fleet
 * 9 ms). NULL when out of memory. */
const row_set *row_set_of_types(const ix_inst *ix, const row_set *sel, unsigned mask,
                                row_set *tmp);
/* Iteration in chunks:
 *   rs_iter it; rs_iter_init(&it, s); while ((k = rs_iter_next(&it, buf, cap))) ... */
typedef struct {
    const row_set *s;
    roaring_uint32_iterator_t it;
    size_t i;
} rs_iter;
void rs_iter_init(rs_iter *it, const row_set *s);
size_t rs_iter_next(rs_iter *it, uint32_t *buf, size_t cap);

/* The errors of query_select that do not depend on the selection: ix is
 * unusable (out of memory) or an enum of q is out of range. */
int query_check(const ix_inst *ix, const stat_query *q, imgsec_err *err);
/* The rows of the images selected by scope and q (statistic.md); q has
 * passed query_check. */
int query_select(const ix_inst *ix, const index_scope *scope, const stat_query *q,
                 row_set *out, imgsec_err *err);

struct rec_plan;
struct ix_scan;
/* rec_total of plan over the rows query_select would select, without
 * making that row set where it need not (all for a count column): a
 * running sum when the candidates are exactly its rows (qctx.sums); the
 * running sums of the dictionary entries a substring matches when every
 * image was a candidate before that one filter; or a sum made as the rows
 * are tested when every image is a candidate and only ranges are left to
 * test. 0, or -1 when out of memory. */
int query_total(const ix_inst *ix, struct ix_scan *scan, const index_scope *scope,
                const stat_query *q, const struct rec_plan *plan, int64_t *total);

/* ---- index_scan.c: a pass over every row, split across the cores ---- */

typedef struct ix_scan ix_scan;
/* A scanner; its pool of helper threads starts with the first scan large
 * enough to split. NULL when out of memory (scan_sum then runs serial). */
ix_scan *scan_new(void);
/* Stops the helpers; no scan may be running. */
void scan_free(ix_scan *s);
/* fn(arg, from, to) summed over [0, n) cut into chunks (each from a
 * multiple of 64), on this thread and on the helpers free now; serial
 * when s is NULL, n is small or no helper can be had. fn must be safe to
 * call from several threads at once and its sums exact in any order.
 * Returns once every chunk is summed; no helper touches arg after. */
typedef uint64_t scan_fn(const void *arg, uint32_t from, uint32_t to);
uint64_t scan_sum(ix_scan *s, uint32_t n, scan_fn *fn, const void *arg);

/* ---- index_records.c: records of q->report under the record filters ---- */

typedef struct rec_plan {
    const uint32_t *col;        /* per-row counts when no postings are needed */
    int sum_k;                  /* col's place in the running sums (col_sums,
                                   type_sums, ...), when col is set */
    const postings *P;          /* else: sum these terms' postings */
    uint32_t *terms;            /* sorted, distinct term ids */
    size_t n_terms;
    uint64_t *term_bits;        /* the same as a bitset over term ids */
} rec_plan;

int rec_plan_make(const ix_inst *ix, const stat_query *q, rec_plan *plan, imgsec_err *err);
void rec_plan_free(rec_plan *plan);
/* Does the plan pass no record at all (record filters that name no term of
 * the index, e.g. unknown vul ids)? Then every selection sums to 0. */
bool rec_plan_empty(const rec_plan *plan);
/* col summed over rows[0..n). */
int64_t rec_col_rows(const uint32_t *col, const uint32_t *rows, size_t n);
/* Records of all rows of s passing the plan. -1 when out of memory. */
int rec_total(const ix_inst *ix, const rec_plan *plan, const row_set *s, int64_t *total);
/* Calls fn for each row of s, ascending, that has records passing the
 * plan, with their number. -1 when out of memory (before any call). */
int rec_each(const ix_inst *ix, const rec_plan *plan, const row_set *s,
             void (*fn)(uint32_t row, int64_t records, void *arg), void *arg);

/* ---- index_page.c: ordered pages ---- */

/* index.c's shared read path: inside the published instance, the rows
 * selected by scope and q (and q's record plan) handed to use, which
 * returns 0 or -1 (out of memory). */
int with_selection(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                   int (*use)(const ix_inst *r, const row_set *sel, const rec_plan *plan,
                              void *arg),
                   void *arg, imgsec_err *err);

/* Frees a cache of terms (index_list.c); NULL is fine. */
void terms_free(struct ix_terms *o);
/* Frees the instance's cached orders and terms; every write to it calls this. */
void order_drop(ix_inst *ix);
/* The instance's order k (rank -> row, row -> rank), built now if it is
 * not cached; NULL when out of memory. */
const struct ix_order *order_get(const ix_inst *ix, index_order k);
/* Its arrays, for readers outside index_page.c. */
const uint32_t *order_by_rank(const struct ix_order *o);
const uint32_t *order_rank_of(const struct ix_order *o);

#endif
