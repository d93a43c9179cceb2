/* store_image_records.c - the record API on today's rows (imgsec/records.h).
 *
 * Records are rows of one table per report type (record_kind.table),
 * keyed by (image, seq) with seq dense from 0, one column per model
 * field (the field's name). So an image's records are one range of that
 * key, and a page of them without conditions starts at seq = from. The
 * conditions become SQL (instr and = with bound values): the rows are
 * filtered where they are read, as the lists did before this API. The
 * plan's blocks will decode an image's records and test the same
 * conditions with rec_preds_match instead.
 *
 * Spans of many images are one statement (a VALUES table joined to the
 * key; on PostgreSQL arrays read through the key), and so are an app
 * page's counts on PostgreSQL. Every statement runs on the handle's
 * connection, so a list whose client left is stopped here as everywhere
 * else (store_list_watch's progress handler).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/list.h"
#include "imgsec/records.h"
#include "imgsec/util.h"
#include "store_int.h"

/* fields of the widest record type (model.c), with room to grow */
#define STORE_RECORD_FIELDS_MAX 32

/* Whether fields[0..nf) are places among k's fields. */
static bool fields_ok(const record_kind *k, const int *fields, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (fields[i] < 0 || (size_t)fields[i] >= k->nfields)
            return false;
    return true;
}

/* ?1 is the image (?1-?3 the spans' arrays on PostgreSQL); a
 * condition's values follow in order. */
#define BINDS_MAX (3 + REC_PREDS_MAX * REC_PRED_VALUES_MAX)

typedef struct {
    util_buf sql;
    store_list_bind b[BINDS_MAX];
    size_t nb;
} query;

static void q_value(query *q, const char *v)
{
    q->b[q->nb].s = v;
    util_buf_printf(&q->sql, "?%zu", ++q->nb);
}

/* " AND <conditions>", their values bound after the binds so far */
static void q_preds(query *q, const record_kind *k, const rec_preds *ps)
{
    if (ps->none)
        util_buf_printf(&q->sql, " AND 0 = 1");
    for (size_t i = 0; i < ps->n; i++) {
        const rec_pred *p = &ps->p[i];
        const char *col = k->fields[p->field].name;
        if (p->op == REC_PRED_SUBSTR) {
            util_buf_printf(&q->sql, " AND instr(\"%s\", ", col);
            q_value(q, p->v[0]);
            util_buf_printf(&q->sql, ") > 0");
            continue;
        }
        if (p->nv == 1) { /* the SQL the lists had */
            util_buf_printf(&q->sql, " AND \"%s\" = ", col);
            q_value(q, p->v[0]);
            continue;
        }
        util_buf_printf(&q->sql, " AND \"%s\" IN (", col);
        for (size_t j = 0; j < p->nv; j++) {
            if (j)
                util_buf_printf(&q->sql, ", ");
            q_value(q, p->v[j]);
        }
        util_buf_printf(&q->sql, ")");
    }
}

/* " FROM "rec_x" WHERE image = ?1 AND <conditions>" */
static void q_from(query *q, const record_kind *k, const rec_preds *ps, int64_t image)
{
    q->nb = 1;
    q->b[0] = (store_list_bind){.i = image};
    util_buf_printf(&q->sql, " FROM \"%s\" WHERE image = ?1", k->table);
    q_preds(q, k, ps);
}

/* "SELECT <p>"f1", <p>"f2", ..., <p>image, <p>seq" */
static void q_select(query *q, const record_kind *k, const int *fields, size_t nf, const char *p)
{
    util_buf_printf(&q->sql, "SELECT ");
    for (size_t i = 0; i < nf; i++)
        util_buf_printf(&q->sql, "%s\"%s\", ", p, k->fields[fields[i]].name);
    util_buf_printf(&q->sql, "%simage, %sseq", p, p);
}

static int row_count(const store_cell *cells, int n, void *arg)
{
    *(int64_t *)arg = n > 0 && cells[0].kind == CELL_INT ? cells[0].i : 0;
    return 0;
}

typedef struct {
    store_record_cb cb;
    void *arg;
} row_ctx;

static int row_record(const store_cell *cells, int n, void *arg)
{
    row_ctx *x = arg;
    return x->cb(cells, (size_t)n, x->arg);
}

static int q_run(store *st, query *q, int (*row)(const store_cell *, int, void *), void *arg,
                 imgsec_err *err)
{
    int rc = q->sql.failed ? err_set(err, IMGSEC_EINTERNAL, "out of memory")
                           : store_list_query(st, q->sql.buf, q->b, q->nb, row, arg, err);
    free(q->sql.buf);
    q->sql = (util_buf){0};
    return rc;
}

/* The handle's cached statement (STMT_REC_ALL). */
int store_image_records_all(store *st, int64_t image, report_type t, store_record_cb cb,
                            void *arg, imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    if (!k)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of no such type");
    db_stmt *s = store_dstmt(st, (stmt_id)(STMT_REC_ALL + t), err);
    if (!s)
        return IMGSEC_EINTERNAL;
    size_t n = k->nfields + 2;
    store_cell cells[STORE_RECORD_FIELDS_MAX + 2];
    if (n > STORE_RECORD_FIELDS_MAX + 2)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record type with too many fields");
    db_bind_int64(s, 1, image);
    int step, rc = IMGSEC_OK;
    while ((step = db_step(s)) == DB_ROW) {
        for (size_t c = 0; c < n; c++)
            store_cell_from_column(s, (int)c, &cells[c]);
        if ((rc = cb(cells, n, arg)) != 0)
            break;
    }
    if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "reading an image's records");
    db_reset(s);
    return rc;
}

int store_image_records(store *st, int64_t image, const rec_preds *ps, const int *fields,
                        size_t nf, int64_t from, int64_t take, int64_t *total, store_record_cb cb,
                        void *arg, imgsec_err *err)
{
    const record_kind *k = record_kind_get(ps->type);
    if (!k || ps->wrong || ps->n > REC_PREDS_MAX || from < 0)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read with a wrong condition");
    if (!fields_ok(k, fields, nf))
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of no such field");
    bool filtered = ps->n || ps->none;
    query q = {0};
    int rc;
    if (total) {
        if (filtered) {
            util_buf_printf(&q.sql, "SELECT count(*)");
            q_from(&q, k, ps, image);
        } else { /* the image's record count of the type (store_image_col) */
            util_buf_printf(&q.sql, "SELECT \"n_%s\" FROM images WHERE id = ?1", k->table + 4);
            q.b[0] = (store_list_bind){.i = image};
            q.nb = 1;
        }
        *total = 0;
        if ((rc = q_run(st, &q, row_count, total, err)) != IMGSEC_OK || from >= *total ||
            take == 0)
            return rc;
    }
    q_select(&q, k, fields, nf, "");
    q_from(&q, k, ps, image);
    if (!filtered) /* seq is dense from 0: the records from `from` on */
        util_buf_printf(&q.sql, " AND seq >= %" PRId64 " ORDER BY seq", from);
    else
        util_buf_printf(&q.sql, " ORDER BY seq");
    util_buf_printf(&q.sql, " LIMIT %" PRId64, take < 0 ? INT64_MAX : take);
    if (filtered && from)
        util_buf_printf(&q.sql, " OFFSET %" PRId64, from);
    return q_run(st, &q, row_record, &(row_ctx){cb, arg}, err);
}

typedef struct {
    int (*cb)(int64_t image, int64_t n, void *arg);
    void *arg;
    bool bad;
} images_ctx;

static int image_row(const store_cell *cells, int n, void *arg)
{
    images_ctx *x = arg;
    if (n != 2 || cells[0].kind != CELL_INT || cells[1].kind != CELL_INT) {
        x->bad = true;
        return IMGSEC_EINTERNAL;
    }
    return x->cb(cells[0].i, cells[1].i, x->arg);
}

int store_record_images(store *st, report_type t, const char *project,
                        int (*cb)(int64_t image, int64_t n, void *arg), void *arg,
                        imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    if (!k)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of no such type");
    query q = {0};
    util_buf_printf(&q.sql, "SELECT id, \"n_%s\" FROM images WHERE \"n_%s\" > 0", k->table + 4,
                    k->table + 4);
    if (project) {
        util_buf_printf(&q.sql, " AND project_id = ?1");
        q.b[0] = (store_list_bind){.s = project};
        q.nb = 1;
    }
    util_buf_printf(&q.sql, " ORDER BY id");
    images_ctx x = {cb, arg, false};
    int rc = q_run(st, &q, image_row, &x, err);
    return x.bad ? err_set(err, IMGSEC_EINTERNAL, "store: an image row without its id or count")
                 : rc;
}

int store_records_stored(store *st, report_type t, int64_t *n, imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    if (!k)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record count of no such type");
    query q = {0};
    util_buf_printf(&q.sql, "SELECT count(*) FROM \"%s\"", k->table);
    *n = 0;
    return q_run(st, &q, row_count, n, err);
}

/* PostgreSQL: spans (image, from, end) as three array parameters, each
 * read by a LATERAL subquery on the primary key, with ps's conditions
 * (ps NULL: none). Its ORDER BY keeps the planner from flattening it
 * into a join or a filter over the whole table: at 3,000 images
 * PostgreSQL hashed a VALUES table of 200 spans and scanned every row of
 * rec_file (39,923: 9.4 ms, where 200 index reads take 0.5 ms), and
 * tested `image IN (200 ids)` on every row of rec_build_command_risk
 * (24,367: 3.4 ms); and the text of 200 typed VALUES rows cost 1.4 ms
 * more to parse and bind than the arrays. */
static int spans_arrays(store *st, const record_kind *k, const rec_preds *ps,
                        const store_span *spans, size_t n, const int *fields, size_t nf,
                        store_record_cb cb, void *arg, imgsec_err *err)
{
    util_buf a[3] = {{0}};
    for (int j = 0; j < 3; j++)
        util_buf_put(&a[j], "{", 1);
    for (size_t i = 0; i < n; i++) {
        store_array_int(&a[0], spans[i].image);
        store_array_int(&a[1], spans[i].seq);
        store_array_int(&a[2], spans[i].seq + spans[i].take);
    }
    query q = {0};
    for (int j = 0; j < 3; j++) {
        util_buf_put(&a[j], "}", 2); /* with its NUL: a bound text */
        q.b[j].s = a[j].buf;
        q.sql.failed |= a[j].failed;
    }
    q.nb = 3;
    util_buf_printf(&q.sql, "SELECT r.* FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BIGINT[]), "
                            "CAST(?3 AS BIGINT[])) v(image, lo, hi) CROSS JOIN LATERAL (");
    q_select(&q, k, fields, nf, "x.");
    util_buf_printf(&q.sql,
                    " FROM \"%s\" x WHERE x.image = v.image AND x.seq >= v.lo AND x.seq < v.hi",
                    k->table);
    if (ps)
        q_preds(&q, k, ps);
    util_buf_printf(&q.sql, " ORDER BY x.seq) r ORDER BY r.image, r.seq");
    int rc = q_run(st, &q, row_record, &(row_ctx){cb, arg}, err);
    for (int j = 0; j < 3; j++)
        free(a[j].buf);
    return rc;
}

static int span_image_cmp(const void *a, const void *b)
{
    int64_t x = ((const store_span *)a)->image, y = ((const store_span *)b)->image;
    return (x > y) - (x < y);
}

/* Integers are written into the text (ids from the store itself, at
 * most STORE_SPANS_MAX): the statement names its images, as a page's
 * image read does (list.c qb_ids). PostgreSQL reads each image's whole
 * key range (spans_arrays), once however often it is named. */
int store_images_records(store *st, const rec_preds *ps, const int64_t *images, size_t n,
                         const int *fields, size_t nf, store_record_cb cb, void *arg,
                         imgsec_err *err)
{
    const record_kind *k = record_kind_get(ps->type);
    if (!k || ps->wrong || ps->n > REC_PREDS_MAX || n > STORE_SPANS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read with a wrong condition");
    if (!fields_ok(k, fields, nf))
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of no such field");
    if (n == 0)
        return IMGSEC_OK;
    if (db_backend_of(st->conn) == DB_PG) {
        store_span sp[STORE_SPANS_MAX];
        for (size_t i = 0; i < n; i++)
            sp[i] = (store_span){images[i], 0, INT64_MAX / 2};
        qsort(sp, n, sizeof *sp, span_image_cmp);
        size_t d = 0;
        for (size_t i = 0; i < n; i++)
            if (d == 0 || sp[d - 1].image != sp[i].image)
                sp[d++] = sp[i];
        return spans_arrays(st, k, ps, sp, d, fields, nf, cb, arg, err);
    }
    query q = {0};
    q_select(&q, k, fields, nf, "");
    util_buf_printf(&q.sql, " FROM \"%s\" WHERE image IN (", k->table);
    for (size_t i = 0; i < n; i++)
        util_buf_printf(&q.sql, "%s%" PRId64, i ? ", " : "", images[i]);
    util_buf_printf(&q.sql, ")");
    q_preds(&q, k, ps);
    util_buf_printf(&q.sql, " ORDER BY image, seq");
    return q_run(st, &q, row_record, &(row_ctx){cb, arg}, err);
}

/* The spans are a VALUES table joined to the record table's primary key,
 * one statement: not an OR of n conditions, which SQLite's planner
 * compares pairwise (for 200 spans that cost more CPU than reading the
 * rows). Integers are written into the text. PostgreSQL reads them as
 * arrays (spans_arrays). */
int store_record_spans(store *st, report_type t, const store_span *spans, size_t n,
                       const int *fields, size_t nf, store_record_cb cb, void *arg,
                       imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    if (!k || n > STORE_SPANS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of too many spans");
    if (!fields_ok(k, fields, nf))
        return err_set(err, IMGSEC_EINTERNAL, "store: a record read of no such field");
    if (n == 0)
        return IMGSEC_OK;
    if (db_backend_of(st->conn) == DB_PG)
        return spans_arrays(st, k, NULL, spans, n, fields, nf, cb, arg, err);
    query q = {0};
    q_select(&q, k, fields, nf, "r.");
    util_buf_printf(&q.sql, " FROM (VALUES ");
    for (size_t i = 0; i < n; i++)
        util_buf_printf(&q.sql,
                        "%s(CAST(%" PRId64 " AS BIGINT), CAST(%" PRId64 " AS BIGINT), CAST(%" PRId64
                        " AS BIGINT))",
                        i ? ", " : "", spans[i].image, spans[i].seq, spans[i].seq + spans[i].take);
    util_buf_printf(&q.sql,
                    ") v CROSS JOIN \"%s\" r WHERE r.image = v.column1 AND r.seq >= v.column2 "
                    "AND r.seq < v.column3 ORDER BY r.image, r.seq",
                    k->table);
    return q_run(st, &q, row_record, &(row_ctx){cb, arg}, err);
}

/* SQLite: one cached statement per app, run in-process (a call costs
 * microseconds, and a page's statement of 200 VALUES rows costs more to
 * prepare than it saves). */
static int app_counts_each(store *st, store_app_count what, const store_app_ref *apps, size_t n,
                           int64_t *out, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, what == STORE_APP_VULS ? STMT_APP_VUL_NUM : STMT_APP_NON_COMPLIANT,
                             err);
    if (!s)
        return store_drc(err);
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        db_bind_int64(s, 1, apps[i].image);
        db_bind_text(s, 2, apps[i].name, (int)apps[i].name_len);
        if (apps[i].version)
            db_bind_text(s, 3, apps[i].version, (int)apps[i].version_len);
        else
            db_bind_null(s, 3);
        if (what == STORE_APP_NON_COMPLIANT && apps[i].path)
            db_bind_text(s, 4, apps[i].path, (int)apps[i].path_len);
        else if (what == STORE_APP_NON_COMPLIANT)
            db_bind_null(s, 4);
        if (db_step(s) == DB_ROW)
            out[i] = db_column_int64(s, 0);
        else
            rc = store_derr(st, err, "counting an app's records");
        db_reset(s);
    }
    return rc;
}

/* PostgreSQL: one statement for the whole page (a statement per app would
 * be a round trip each), prepared once: the apps go as array parameters
 * (unnest), each counted by a subquery over the same rows as the
 * tenant-wide list's correlated ones (list.c, APP_VUL_NUM and
 * APP_COMPLIANT). */
static int app_counts_arrays(store *st, store_app_count what, const store_app_ref *apps,
                             size_t n, int64_t *out, imgsec_err *err)
{
    util_buf a[4] = {{0}};
    for (int k = 0; k < 4; k++)
        util_buf_put(&a[k], "{", 1);
    for (size_t i = 0; i < n; i++) {
        out[i] = 0;
        store_array_int(&a[0], apps[i].image);
        store_array_text(&a[1], apps[i].name, apps[i].name_len);
        if (apps[i].version)
            store_array_text(&a[2], apps[i].version, apps[i].version_len);
        else
            store_array_null(&a[2]);
        if (apps[i].path)
            store_array_text(&a[3], apps[i].path, apps[i].path_len);
        else
            store_array_null(&a[3]);
    }
    int rc = IMGSEC_OK, arrays = what == STORE_APP_VULS ? 3 : 4;
    for (int k = 0; k < 4; k++) {
        util_buf_put(&a[k], "}", 1);
        if (a[k].failed || a[k].len > INT32_MAX)
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    db_stmt *s = rc == IMGSEC_OK ? store_dstmt(st,
                                               what == STORE_APP_VULS ? STMT_APP_VUL_NUM_ALL
                                                                      : STMT_APP_NON_COMPLIANT_ALL,
                                               err)
                                 : NULL;
    if (rc == IMGSEC_OK && !s)
        rc = store_drc(err);
    if (rc == IMGSEC_OK) {
        for (int k = 0; k < arrays; k++)
            db_bind_text(s, k + 1, a[k].buf, (int)a[k].len);
        int step;
        while ((step = db_step(s)) == DB_ROW) {
            int64_t k = db_column_int64(s, 0); /* WITH ORDINALITY counts from 1 */
            if (k >= 1 && (size_t)k <= n)
                out[k - 1] = db_column_int64(s, 1);
        }
        if (step != DB_DONE)
            rc = store_derr(st, err, "counting apps' records");
        db_reset(s);
    }
    for (int k = 0; k < 4; k++)
        free(a[k].buf);
    return rc;
}

int store_app_counts(store *st, store_app_count what, const store_app_ref *apps, size_t n,
                     int64_t *out, imgsec_err *err)
{
    if (n == 0)
        return IMGSEC_OK;
    if (n > STORE_SPANS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "store: too many apps to count at once");
    for (size_t i = 0; i < n; i++)
        if (!apps[i].name || apps[i].name_len > INT32_MAX || apps[i].version_len > INT32_MAX ||
            apps[i].path_len > INT32_MAX)
            return err_set(err, IMGSEC_EINTERNAL, "store: an app without a name, or too long");
    return db_backend_of(st->conn) == DB_PG ? app_counts_arrays(st, what, apps, n, out, err)
                                             : app_counts_each(st, what, apps, n, out, err);
}
