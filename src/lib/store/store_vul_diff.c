/* store_vul_diff.c - the writes of store_replace_vulnerabilities: one
 * image's vulnerability rows and aggregates replaced by difference.
 *
 * Why: agg_vul_vul (vul_id, image) is ordered by vulnerability (and so
 * was rec_vul_vul before schema 19), so an image's rows sit on pages all
 * over it; deleting and inserting all of them costs about a page written
 * per row once the store is large (docs/performance.md). A rematch after
 * a database update changes few of an image's rows, so only those are
 * written.
 *
 * Rows: the image's stored records, read through the record API
 * (store_image_records_all: fields and seq), are each reduced to key
 * bytes (store_cell_key), the new records too (store_val_key: the value
 * store_bind_val binds), so equal bytes mean a stored row equal to what
 * inserting the record would store. A row is named by its key, (image,
 * seq), so the diff needs nothing of the storage but the record API and
 * three statements by key. Record i keeps the row at seq i when that row
 * has its bytes (the usual case: nothing written), else an unused row
 * with its bytes, moved to seq i (an UPDATE of seq: it touches the row and
 * the (image, seq) key, both on the image's own pages, not the indexes
 * ordered by vulnerability or by app). Rows no record keeps are deleted,
 * records no row keeps inserted. Moves go through negative seqs first, so
 * that no two rows hold one seq on the way. The result is, row for row,
 * what deleting and inserting everything stores, but for rowids, which no
 * reader depends on (readers order records by seq).
 *
 * Aggregates: merged with the new ones in doc_vul_cmp order: a key in
 * both keeps its row (its count, maxima and representative updated if
 * one changed; none of them is in an index), the others are deleted or
 * inserted. Their rowid order is then no longer their key order, so the
 * summary readers sort each image's aggregates (store_images.c
 * agg_buf_fixup).
 *
 * The buffers stay in the store between images (a rematch replaces
 * thousands): allocating and freeing some 100 KB per image cost the
 * writing thread as much as its SQL (glibc consolidates its free lists
 * on every free of a large block).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/records.h"
#include "store_int.h"

typedef struct {
    int64_t seq;
    size_t off, len; /* key bytes in the arena */
    const char *key; /* arena + off, once the arena stops growing */
    bool used;
} old_row;

/* A stored aggregate: the key first, so doc_vul_cmp reads it as a vul_agg. */
typedef struct {
    vul_agg a;
    int64_t rowid;
    size_t off; /* vul_id in the arena */
} old_agg;

struct vul_diff_buf {
    old_row *old;
    old_row **byk;
    size_t n_old, cap_old, cap_byk;
    size_t *fresh_off; /* n_new + 1 offsets into fresh */
    ptrdiff_t *keep;   /* the old row record i keeps, or -1 */
    size_t cap_new, cap_keep;
    util_buf arena, fresh; /* key bytes: stored rows, new records */
    old_agg *aggs;
    size_t cap_aggs;
    size_t *later; /* PostgreSQL: the aggregates to insert at the end */
    size_t cap_later;
    db_stmt *multi;     /* SQLite: the INSERT of MULTI_ROWS records (insert_rows) */
    db_stmt *multi_agg; /* and of MULTI_ROWS aggregates (store_agg_vul_replace) */
};

void store_vul_diff_free(store *st)
{
    vul_diff_buf *b = st->diff;
    if (!b)
        return;
    free(b->old);
    free(b->byk);
    free(b->fresh_off);
    free(b->keep);
    free(b->arena.buf);
    free(b->fresh.buf);
    free(b->aggs);
    free(b->later);
    db_finalize(b->multi);
    db_finalize(b->multi_agg);
    free(b);
    st->diff = NULL;
}

static vul_diff_buf *diff_buf(store *st)
{
    if (!st->diff)
        st->diff = calloc(1, sizeof *st->diff);
    if (st->diff) {
        st->diff->arena.len = st->diff->fresh.len = 0;
        st->diff->arena.failed = st->diff->fresh.failed = false;
    }
    return st->diff;
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* old_row pointers by key bytes, then seq. */
static int old_cmp(const void *pa, const void *pb)
{
    const old_row *a = *(old_row *const *)pa, *b = *(old_row *const *)pb;
    int c = key_cmp(a->key, a->len, b->key, b->len);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Runs s on one row of image id (?1 image, ?2 key: a record's seq, or an
 * aggregate's rowid, which the image narrows to its own rows on
 * PostgreSQL, where rowid is a column of no index; ?3 v3 when with3). */
static int run_on_row(store *st, db_stmt *s, int64_t id, int64_t key, bool with3, int64_t v3,
                      const char *what, imgsec_err *err)
{
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, key);
    if (with3)
        db_bind_int64(s, 3, v3);
    return store_drun(st, s, what, err);
}

/* Records at or above this many rows to insert go by COPY on PostgreSQL
 * (one round trip for all of them rather than one per row). */
#define COPY_MIN 2

/* Rows per INSERT statement for an image's first rows inside a bulk
 * write (SQLite, store_vul_bulk.c): one statement's start and end (its
 * cursors opened and closed, about 3,000 instructions) for that many
 * rows. OR FAIL: an INSERT of several rows that may abort needs a
 * statement journal (the pages it changes copied aside first, spilled to
 * a temporary file: measured twice the bytes written and more CPU than
 * the rows one by one, docs/performance.md); with FAIL a failing row
 * leaves the rows before it, and the caller rolls back the batch's
 * savepoint on any error anyway, so nothing of it stays. FAIL and ABORT
 * differ in nothing else; foreign keys are off in a bulk write. */
#define MULTI_ROWS 16

/* The INSERT of MULTI_ROWS records: the single-row INSERT's columns,
 * with the values of row r at parameters r * (2 + nfields) + 1... */
static db_stmt *multi_stmt(store *st, imgsec_err *err)
{
    vul_diff_buf *b = st->diff;
    if (b->multi)
        return b->multi;
    const record_kind *k = record_kind_get(REPORT_VULNERABILITY);
    util_buf q = {0};
    util_buf_printf(&q, "INSERT OR FAIL INTO \"%s\" (image, seq", k->table);
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&q, ", \"%s\"", k->fields[f].name);
    util_buf_printf(&q, ") VALUES ");
    for (size_t r = 0, p = 1; r < MULTI_ROWS; r++) {
        util_buf_printf(&q, "%s(", r ? ", " : "");
        for (size_t f = 0; f < k->nfields + 2; f++, p++)
            util_buf_printf(&q, "%s?%zu", f ? ", " : "", p);
        util_buf_printf(&q, ")");
    }
    if (q.failed) {
        free(q.buf);
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        return NULL;
    }
    b->multi = store_dprepare(st, q.buf, "storing records", err);
    free(q.buf);
    return b->multi;
}

/* Inserts the records i of recs (seq i) that keep does not keep (every
 * one when keep is NULL): by COPY on PostgreSQL, by the cached INSERT on
 * SQLite, where a prepared statement is as fast (db.h). */
static int insert_rows(store *st, int64_t id, const doc_records *recs, const ptrdiff_t *keep,
                       imgsec_err *err)
{
    const record_kind *k = record_kind_get(REPORT_VULNERABILITY);
    size_t n = recs->n, todo = 0;
    for (size_t i = 0; i < n; i++)
        todo += !keep || keep[i] < 0;
    int rc = IMGSEC_OK;
    if (db_backend_of(st->conn) != DB_PG || todo < COPY_MIN) {
        db_stmt *s = todo ? store_dstmt(st, (stmt_id)(STMT_REC_INSERT + REPORT_VULNERABILITY), err) : NULL;
        if (todo && !s)
            return store_drc(err);
        size_t i = 0, per = 2 + k->nfields;
        if (!keep && n >= MULTI_ROWS && st->bulk) {
            db_stmt *m = multi_stmt(st, err);
            if (!m)
                return store_drc(err);
            for (; rc == IMGSEC_OK && i + MULTI_ROWS <= n; i += MULTI_ROWS) {
                for (size_t r = 0; r < MULTI_ROWS; r++) {
                    const doc_val *rec = &recs->vals[(i + r) * k->nfields];
                    int p = (int)(r * per) + 1;
                    db_bind_int64(m, p, id);
                    db_bind_int64(m, p + 1, (int64_t)(i + r));
                    for (size_t f = 0; f < k->nfields; f++)
                        store_bind_val(m, p + 2 + (int)f, &rec[f]);
                }
                rc = store_drun(st, m, "storing a record", err);
            }
        }
        for (; rc == IMGSEC_OK && i < n; i++) {
            if (keep && keep[i] >= 0)
                continue;
            const doc_val *rec = &recs->vals[i * k->nfields];
            db_bind_int64(s, 1, id);
            db_bind_int64(s, 2, (int64_t)i);
            for (size_t f = 0; f < k->nfields; f++)
                store_bind_val(s, (int)f + 3, &rec[f]);
            rc = store_drun(st, s, "storing a record", err);
        }
        return rc;
    }
    db_copy *c = store_copy_records_begin(st, k, "replacing records", err);
    if (!c)
        return store_drc(err);
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++) {
        if (keep && keep[i] >= 0)
            continue;
        store_copy_record(c, k, id, (int64_t)i, &recs->vals[i * k->nfields]);
        rc = db_copy_row(c, err);
    }
    if (db_copy_end(c, rc == IMGSEC_OK, NULL) != IMGSEC_OK && rc == IMGSEC_OK)
        rc = store_derr(st, err, "replacing records");
    return rc;
}

/* Inserts the aggregates aggs[idx[0..n-1]] of image id by COPY
 * (PostgreSQL). */
static int copy_aggs(store *st, int64_t id, const vul_agg *aggs, const size_t *idx, size_t n,
                     imgsec_err *err)
{
    db_copy *c = db_copy_begin(st->conn, "agg_vul",
                               "image, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss", NULL);
    if (!c)
        return store_derr(st, err, "replacing aggregates");
    int rc = IMGSEC_OK;
    for (size_t j = 0; j < n && rc == IMGSEC_OK; j++) {
        const vul_agg *a = &aggs[idx[j]];
        if ((unsigned)a->type >= VUL_TYPE_COUNT) {
            rc = err_set(err, IMGSEC_EINTERNAL, "store: document has an invalid vul_type aggregate");
            break;
        }
        db_copy_int64(c, id);
        store_copy_vul_agg(c, a);
        rc = db_copy_row(c, err);
    }
    if (db_copy_end(c, rc == IMGSEC_OK, NULL) != IMGSEC_OK && rc == IMGSEC_OK)
        rc = store_derr(st, err, "replacing aggregates");
    return rc;
}

/* store_record_cb of the image's stored vulnerabilities (every field,
 * the image, the seq): one old_row per record, its key bytes in the
 * arena. REC_STOP: out of memory. */
static int old_row_add(const store_cell *x, size_t n, void *arg)
{
    vul_diff_buf *b = arg;
    if (!util_grow((void **)&b->old, &b->cap_old, b->n_old + 1, sizeof *b->old))
        return REC_STOP;
    old_row *o = &b->old[b->n_old++];
    *o = (old_row){x[n - 1].i, b->arena.len, 0, NULL, false};
    for (size_t f = 0; f + 2 < n; f++)
        store_cell_key(&b->arena, &x[f]);
    o->len = b->arena.len - o->off;
    return b->arena.failed ? REC_STOP : 0;
}

int store_vul_rows_replace(store *st, int64_t id, const doc_records *recs, imgsec_err *err)
{
    const record_kind *k = record_kind_get(REPORT_VULNERABILITY);
    db_stmt *del = store_dstmt(st, STMT_VUL_ROW_DELETE, err);
    db_stmt *move = del ? store_dstmt(st, STMT_VUL_ROW_SEQ, err) : NULL;
    if (!move)
        return store_drc(err);
    vul_diff_buf *b = diff_buf(st);
    if (!b)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    size_t n_new = recs->n;
    b->n_old = 0;
    int rc = store_image_records_all(st, id, REPORT_VULNERABILITY, old_row_add, b, err);
    if (rc == REC_STOP)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    if (rc != IMGSEC_OK)
        return rc;
    size_t n_old = b->n_old;
    if (n_old == 0) /* nothing to keep (an image's first matches): no keys */
        return insert_rows(st, id, recs, NULL, err);
    if (!util_grow((void **)&b->fresh_off, &b->cap_new, n_new + 1, sizeof *b->fresh_off) ||
        !util_grow((void **)&b->keep, &b->cap_keep, n_new + 1, sizeof *b->keep) ||
        !util_grow((void **)&b->byk, &b->cap_byk, n_old + 1, sizeof *b->byk))
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    old_row *old = b->old, **byk = b->byk;
    size_t *fresh_off = b->fresh_off;
    ptrdiff_t *keep = b->keep;
    for (size_t i = 0; i < n_new; i++) {
        const doc_val *rec = &recs->vals[i * k->nfields];
        fresh_off[i] = b->fresh.len;
        for (size_t f = 0; f < k->nfields; f++)
            store_val_key(&b->fresh, &rec[f]);
    }
    if (b->arena.failed || b->fresh.failed)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    fresh_off[n_new] = b->fresh.len;
    const char *fresh = b->fresh.buf;
    for (size_t j = 0; j < n_old; j++)
        old[j].key = b->arena.buf + old[j].off;

    /* first the rows in place (old is in seq order), then the moves among
     * the rows left, sorted by key (usually a few) */
    size_t p = 0;
    for (size_t i = 0; i < n_new; i++) {
        const char *key = fresh + fresh_off[i];
        size_t len = fresh_off[i + 1] - fresh_off[i];
        keep[i] = -1;
        while (p < n_old && old[p].seq < (int64_t)i)
            p++;
        if (p < n_old && old[p].seq == (int64_t)i && key_cmp(old[p].key, old[p].len, key, len) == 0) {
            keep[i] = (ptrdiff_t)p;
            old[p].used = true;
        }
    }
    size_t n_left = 0;
    for (size_t j = 0; j < n_old; j++)
        if (!old[j].used)
            byk[n_left++] = &old[j];
    qsort(byk, n_left, sizeof *byk, old_cmp);
    for (size_t i = 0; n_left && i < n_new; i++) {
        if (keep[i] >= 0)
            continue;
        const char *key = fresh + fresh_off[i];
        size_t len = fresh_off[i + 1] - fresh_off[i];
        size_t lo = 0, hi = n_left; /* the first row with key >= the record's */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (key_cmp(byk[mid]->key, byk[mid]->len, key, len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < n_left && key_cmp(byk[lo]->key, byk[lo]->len, key, len) == 0; lo++)
            if (!byk[lo]->used) {
                byk[lo]->used = true;
                keep[i] = byk[lo] - old;
                break;
            }
    }

    for (size_t j = 0; rc == IMGSEC_OK && j < n_old; j++)
        if (!old[j].used)
            rc = run_on_row(st, del, id, old[j].seq, false, 0, "replacing records", err);
    /* a kept row not at its seq moves to -1 - i, then to i */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; rc == IMGSEC_OK && i < n_new; i++)
            if (keep[i] >= 0 && old[keep[i]].seq != (int64_t)i)
                rc = run_on_row(st, move, id, pass ? -1 - (int64_t)i : old[keep[i]].seq, true,
                                pass ? (int64_t)i : -1 - (int64_t)i, "replacing records", err);
    return rc == IMGSEC_OK ? insert_rows(st, id, recs, keep, err) : rc;
}

/* A REAL column of agg_vul into *has, returned (0 for NULL). */
static double column_real(db_stmt *s, int col, bool *has)
{
    *has = db_column_type(s, col) != DB_NULL;
    return *has ? db_column_double(s, col) : 0;
}

/* Are a stored aggregate's count and maxima those of the new one (same
 * key)? The CVSS as SQLite gave it back: the double bound at insert. */
static bool same_agg(const vul_agg *a, const vul_agg *b)
{
    return a->n == b->n && a->rank == b->rank && a->has_cvss == b->has_cvss &&
           (!a->has_cvss || a->cvss == b->cvss) && a->rep_seq == b->rep_seq &&
           a->has_rep_cvss == b->has_rep_cvss && (!a->has_rep_cvss || a->rep_cvss == b->rep_cvss);
}

/* Rewrites the count and maxima of the aggregate row rowid (its key and
 * place in the indexes stay). */
static int agg_update(store *st, db_stmt *s, int64_t id, int64_t rowid, const vul_agg *a,
                      imgsec_err *err)
{
    db_bind_int64(s, 1, rowid);
    db_bind_int64(s, 2, a->n);
    db_bind_int64(s, 3, a->rank);
    if (a->has_cvss)
        db_bind_double(s, 4, a->cvss);
    else
        db_bind_null(s, 4);
    db_bind_int64(s, 5, a->rep_seq);
    if (a->has_rep_cvss)
        db_bind_double(s, 6, a->rep_cvss);
    else
        db_bind_null(s, 6);
    db_bind_int64(s, 7, id);
    return store_drun(st, s, "replacing aggregates", err);
}

/* Inserts aggs[0..n) (n a multiple of MULTI_ROWS) of image id, MULTI_ROWS
 * per INSERT (SQLite). */
static int insert_aggs_multi(store *st, int64_t id, const vul_agg *aggs, size_t n, imgsec_err *err)
{
    vul_diff_buf *b = st->diff;
    if (!b->multi_agg) {
        util_buf q = {0};
        util_buf_printf(&q, "INSERT OR FAIL INTO agg_vul (image, vul_id, vul_type, n, rank, cvss, "
                            "rep_seq, rep_cvss) VALUES ");
        for (size_t r = 0, p = 1; r < MULTI_ROWS; r++) {
            util_buf_printf(&q, "%s(", r ? ", " : "");
            for (size_t f = 0; f < 8; f++, p++)
                util_buf_printf(&q, "%s?%zu", f ? ", " : "", p);
            util_buf_printf(&q, ")");
        }
        if (q.failed) {
            free(q.buf);
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        }
        b->multi_agg = store_dprepare(st, q.buf, "storing aggregates", err);
        free(q.buf);
        if (!b->multi_agg)
            return store_drc(err);
    }
    int rc = IMGSEC_OK;
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i += MULTI_ROWS) {
        for (size_t r = 0; r < MULTI_ROWS; r++) {
            if ((unsigned)aggs[i + r].type >= VUL_TYPE_COUNT) {
                db_reset(b->multi_agg);
                return err_set(err, IMGSEC_EINTERNAL, "store: document has an invalid vul_type aggregate");
            }
            store_bind_vul_agg(b->multi_agg, (int)(r * 8) + 1, id, &aggs[i + r]);
        }
        rc = store_drun(st, b->multi_agg, "storing aggregates", err);
    }
    return rc;
}

int store_agg_vul_replace(store *st, int64_t id, const vul_agg *aggs, size_t n, imgsec_err *err)
{
    db_stmt *rows = store_dstmt(st, STMT_AGG_VUL_ROWS, err);
    db_stmt *del = rows ? store_dstmt(st, STMT_AGG_VUL_ROW_DELETE, err) : NULL;
    db_stmt *set = del ? store_dstmt(st, STMT_AGG_VUL_ROW_N, err) : NULL;
    if (!set)
        return store_drc(err);
    vul_diff_buf *b = diff_buf(st);
    if (!b)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    size_t n_old = 0;
    int rc = IMGSEC_OK, step;
    db_bind_int64(rows, 1, id);
    while ((step = db_step(rows)) == DB_ROW) {
        if (!util_grow((void **)&b->aggs, &b->cap_aggs, n_old + 1, sizeof *b->aggs)) {
            db_reset(rows);
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        }
        /* an unknown vul_type sorts last and equals no new key: deleted */
        int vt = vul_type_parse(db_column_text(rows, 2));
        old_agg *o = &b->aggs[n_old++];
        bool has_cvss, has_rep;
        double cvss = column_real(rows, 5, &has_cvss), rep = column_real(rows, 7, &has_rep);
        *o = (old_agg){{NULL, vt < 0 ? VUL_TYPE_COUNT : (vul_type)vt, db_column_int64(rows, 3),
                        (int)db_column_int64(rows, 4), has_cvss, cvss, db_column_int64(rows, 6),
                        has_rep, rep},
                       db_column_int64(rows, 0), b->arena.len};
        const char *v = db_column_text(rows, 1);
        util_buf_put(&b->arena, v ? v : "", db_column_bytes(rows, 1));
        util_buf_put(&b->arena, "", 1);
    }
    db_reset(rows);
    if (step != DB_DONE)
        return store_derr(st, err, "reading aggregates");
    if (b->arena.failed)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    old_agg *old = b->aggs;
    for (size_t j = 0; j < n_old; j++)
        old[j].a.vul_id = b->arena.buf + old[j].off;
    for (size_t k = 1; k < n_old; k++) /* stored in key order unless a diff added rows */
        if (doc_vul_cmp(&old[k - 1].a, &old[k].a) > 0) {
            qsort(old, n_old, sizeof *old, doc_vul_cmp);
            break;
        }
    /* on PostgreSQL the new keys are inserted at the end, by one COPY
     * (no key is both deleted and inserted: a key in both is updated) */
    bool later = db_backend_of(st->conn) == DB_PG;
    size_t n_later = 0;
    if (later && !util_grow((void **)&b->later, &b->cap_later, n + 1, sizeof *b->later))
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    size_t i = 0, j = 0;
    /* an image's first aggregates on SQLite: MULTI_ROWS per INSERT, the
     * rest one by one below */
    size_t n_new_multi = !later && n_old == 0 && st->bulk ? n - n % MULTI_ROWS : 0;
    if (n_new_multi)
        rc = insert_aggs_multi(st, id, aggs, n_new_multi, err);
    i = n_new_multi;
    while (rc == IMGSEC_OK && (i < n || j < n_old)) {
        int c = i == n ? 1 : j == n_old ? -1 : doc_vul_cmp(&aggs[i], &old[j].a);
        if (c < 0 && later) {
            b->later[n_later++] = i++;
        } else if (c < 0) {
            rc = store_dagg_vul_insert(st, id, &aggs[i++], 1, err);
        } else if (c > 0) {
            rc = run_on_row(st, del, id, old[j++].rowid, false, 0, "replacing aggregates", err);
        } else {
            if (!same_agg(&aggs[i], &old[j].a))
                rc = agg_update(st, set, id, old[j].rowid, &aggs[i], err);
            i++;
            j++;
        }
    }
    if (rc == IMGSEC_OK && n_later >= COPY_MIN)
        rc = copy_aggs(st, id, aggs, b->later, n_later, err);
    for (size_t k = 0; rc == IMGSEC_OK && n_later < COPY_MIN && k < n_later; k++)
        rc = store_dagg_vul_insert(st, id, &aggs[b->later[k]], 1, err);
    return rc;
}
