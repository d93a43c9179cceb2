/* store_images.c - images and their records: ingest, delete, and the two
 * ways the query index reads them (a full walk and the change log).
 *
 * Ingest replaces an image in place: an UPDATE by identity keeps the row
 * (and so its id), else an INSERT makes it, and the old records and
 * aggregates are deleted before the new ones go in, all in the one write
 * transaction of the call. (Not INSERT ... ON CONFLICT DO UPDATE: with
 * AUTOINCREMENT that consumes an id on every re-ingest, so new images'
 * ids would jump.) Records are bound straight from the document's rows
 * of typed values (doc.h doc_val), in the order of the record_field tables.
 * A long input is stored in batches inside one transaction
 * (store_ingest_begin/add/end), so the command line never holds more
 * than a batch of parsed documents.
 *
 * The full walk is one read transaction over three cursors ordered by
 * image id (images, agg_vul, agg_build) advanced in step, so it costs
 * three sequential scans and no per-image query, whatever the size.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/records.h"
#include "imgsec/util.h"
#include "store_int.h"

/* ---- ingest ---- */

/* "documents[3]." for bulk calls, "" for one document. */
static void doc_where(char *buf, size_t size, size_t i, size_t n)
{
    if (n > 1)
        snprintf(buf, size, "documents[%zu].", i);
    else
        buf[0] = '\0';
}

/* What doc_from_json guarantees, checked again because the store writes it. */
static int doc_check(const imgsec_doc *d, const char *where, imgsec_err *err)
{
    const image_summary *s = &d->summary;
    if ((unsigned)s->type >= IMAGE_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %simage.image_type", where);
    if ((unsigned)s->status >= SCAN_STATUS_COUNT)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %simage.scan_status", where);
    if (!s->image_name || !*s->image_name)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %simage.image_name", where);
    if ((unsigned)s->severity_level > SEVERITY_LEVEL_NONE)
        return err_set(err, IMGSEC_EINTERNAL, "store: document has an invalid severity level");
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const doc_records *a = &d->records[t];
        if (a->n && !a->vals)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s%s must be an array", where,
                           record_kind_get((report_type)t)->doc_key);
        if ((int64_t)a->n != s->counts[t])
            return err_set(err, IMGSEC_EINTERNAL, "store: document summary disagrees with its %s",
                           record_kind_get((report_type)t)->doc_key);
    }
    if ((s->n_vuls && !s->vuls) || (s->n_builds && !s->builds))
        return err_set(err, IMGSEC_EINTERNAL, "store: document aggregates missing");
    return IMGSEC_OK;
}

/* The statements ingest runs per document or record, fetched once per call. */
typedef struct {
    db_stmt *update, *agg_build_ins;
} ingest_stmts;

static int ingest_prepare(store *st, ingest_stmts *q, imgsec_err *err)
{
    if (!(q->update = store_dstmt(st, STMT_IMAGE_UPDATE, err)) ||
        !(q->agg_build_ins = store_dstmt(st, STMT_AGG_BUILD_INSERT, err)) ||
        !store_dstmt(st, STMT_AGG_VUL_INSERT, err))
        return store_drc(err);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (!store_dstmt(st, (stmt_id)(STMT_REC_INSERT + t), err))
            return store_drc(err);
    return IMGSEC_OK;
}

/* After a change-log append: PostgreSQL wakes the other nodes' followers
 * (store_changes_listen), once per transaction; the server delivers it
 * at commit, and not at all on rollback. SQLite's followers poll the
 * file. */
static int change_notify(store *st, imgsec_err *err)
{
    if (!st->notified && db_can_listen(st->conn)) {
        if (db_notify(st->conn, STORE_CHANGES_CHANNEL, NULL, NULL) != IMGSEC_OK)
            return store_derr(st, err, "announcing a change");
        st->notified = true;
    }
    return IMGSEC_OK;
}

int store_change_append(store *st, int64_t id, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_CHANGE_INSERT, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, id);
    int rc = store_drun(st, s, "appending to the change log", err);
    return rc == IMGSEC_OK ? change_notify(st, err) : rc;
}

int store_change_append_all(store *st, const int64_t *ids, size_t n, imgsec_err *err)
{
    if (n == 0)
        return IMGSEC_OK;
    util_buf b = {0};
    for (size_t i = 0; i < n; i++)
        util_buf_printf(&b, "%c%lld", i ? ',' : '{', (long long)ids[i]);
    util_buf_put(&b, "}", 1);
    if (b.failed) {
        free(b.buf);
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    }
    db_stmt *s = store_dstmt(st, STMT_CHANGE_INSERT_ALL, err);
    int rc = s ? IMGSEC_OK : store_drc(err);
    if (s) {
        db_bind_text(s, 1, b.buf, (int)b.len);
        rc = store_drun(st, s, "appending to the change log", err);
    }
    free(b.buf);
    return rc == IMGSEC_OK ? change_notify(st, err) : rc;
}

int store_change_prune(store *st, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_CHANGE_PRUNE, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, STORE_CHANGES_KEEP);
    return store_drun(st, s, "pruning the change log", err);
}

int store_image_find(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                     const store_grant *grant, const char *where, int64_t *id, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_IMAGE_FIND, err);
    if (!s)
        return store_drc(err);
    store_bind_image(s, project_id, ep, d);
    int rc = db_step(s);
    *id = 0;
    if (rc == DB_ROW) {
        const char *old_ep = db_column_text(s, 1);
        if (grant && !store_grant_covers_ep(grant, old_ep ? old_ep : "")) {
            db_reset(s);
            return err_set(err, IMGSEC_EFORBIDDEN,
                           "%simage exists in an enterprise project that is not granted", where);
        }
        *id = db_column_int64(s, 0);
        rc = db_step(s);
    }
    db_reset(s);
    if (rc != DB_DONE)
        return store_derr(st, err, "finding an image");
    return IMGSEC_OK;
}

int store_image_insert(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                       int64_t *id, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_IMAGE_INSERT, err);
    *id = 0;
    if (!s)
        return IMGSEC_EINTERNAL;
    store_bind_image(s, project_id, ep, d);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *id = db_column_int64(s, 0);
        rc = db_step(s);
    }
    db_reset(s);
    if (rc != DB_DONE)
        return store_derr(st, err, "storing an image");
    return IMGSEC_OK;
}

int store_image_clear(store *st, int64_t id, imgsec_err *err)
{
    int rc;
    if ((rc = store_names_drop_image(st, id, err)) != IMGSEC_OK)
        return rc;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        db_stmt *del = store_dstmt(st, (stmt_id)(STMT_REC_DELETE + t), err);
        if (!del)
            return store_drc(err);
        db_bind_int64(del, 1, id);
        if ((rc = store_drun(st, del, "replacing records", err)) != IMGSEC_OK)
            return rc;
    }
    static const stmt_id AGG_DELETES[] = {STMT_AGG_VUL_DELETE, STMT_AGG_BUILD_DELETE};
    for (size_t i = 0; i < sizeof AGG_DELETES / sizeof AGG_DELETES[0]; i++) {
        db_stmt *del = store_dstmt(st, AGG_DELETES[i], err);
        if (!del)
            return store_drc(err);
        db_bind_int64(del, 1, id);
        if ((rc = store_drun(st, del, "replacing aggregates", err)) != IMGSEC_OK)
            return rc;
    }
    return IMGSEC_OK;
}

int store_drecord_insert(store *st, report_type t, int64_t id, size_t j, const json_t *rec,
                         const char *where, imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    db_stmt *s = store_dstmt(st, (stmt_id)(STMT_REC_INSERT + t), err);
    if (!s)
        return store_drc(err);
    if (!json_is_object(rec))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s%s[%zu] must be an object", where,
                       k->doc_key, j);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, (int64_t)j);
    for (size_t f = 0; f < k->nfields; f++)
        if (!store_bind_field(s, (int)f + 3, &k->fields[f], json_object_get(rec, k->fields[f].name))) {
            db_reset(s);
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s%s[%zu].%s has the wrong type",
                           where, k->doc_key, j, k->fields[f].name);
        }
    return store_drun(st, s, "storing a record", err);
}

/* Inserts the records r of type t of image id (STMT_REC_INSERT + t),
 * seq from 0 in order. */
static int insert_records(store *st, report_type t, int64_t id, const doc_records *r,
                          imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    db_stmt *s = store_dstmt(st, (stmt_id)(STMT_REC_INSERT + t), err);
    int rc;
    if (!s)
        return store_drc(err);
    for (size_t j = 0; j < r->n; j++) {
        const doc_val *rec = &r->vals[j * k->nfields];
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, (int64_t)j);
        for (size_t f = 0; f < k->nfields; f++)
            store_bind_val(s, (int)f + 3, &rec[f]);
        if ((rc = store_drun(st, s, "storing a record", err)) != IMGSEC_OK)
            return rc;
    }
    return IMGSEC_OK;
}

int store_dagg_vul_insert(store *st, int64_t id, const vul_agg *vuls, size_t n, imgsec_err *err)
{
    int rc;
    db_stmt *s = store_dstmt(st, STMT_AGG_VUL_INSERT, err);
    if (!s)
        return store_drc(err);
    for (size_t i = 0; i < n; i++) {
        const vul_agg *a = &vuls[i];
        if ((unsigned)a->type >= VUL_TYPE_COUNT)
            return err_set(err, IMGSEC_EINTERNAL, "store: document has an invalid vul_type aggregate");
        store_bind_vul_agg(s, 1, id, a);
        if ((rc = store_drun(st, s, "storing aggregates", err)) != IMGSEC_OK)
            return rc;
    }
    return IMGSEC_OK;
}

/* records_later: the records and aggregates are not inserted here but by
 * copy_records after every document's image row, and the change-log row
 * by store_change_append_all (PostgreSQL). */
static int ingest_one(store *st, const ingest_stmts *q, const char *project_id, const char *ep,
                      const imgsec_doc *d, const store_grant *grant, const char *where,
                      bool records_later, store_ingest_result *res, imgsec_err *err)
{
    int rc;
    int64_t id = 0, records = 0;

    /* The image row: updated in place keeping its id, or inserted. */
    if ((rc = store_image_find(st, project_id, ep, d, grant, where, &id, err)) != IMGSEC_OK)
        return rc;
    if (id == 0) {
        if ((rc = store_image_insert(st, project_id, ep, d, &id, err)) != IMGSEC_OK)
            return rc;
        if (id <= 0)
            return err_set(err, IMGSEC_EINTERNAL, "store: storing an image gave no id");
    } else {
        /* An existing image loses all its records and aggregates; first,
         * while its row still holds the old EP (name_counts). */
        if ((rc = store_image_clear(st, id, err)) != IMGSEC_OK)
            return rc;
        store_bind_image(q->update, project_id, ep, d);
        db_bind_int64(q->update, IMAGE_NCOLS + 1, id);
        if ((rc = store_drun(st, q->update, "storing an image", err)) != IMGSEC_OK)
            return rc;
    }
    /* the names of its records (on PostgreSQL: copy_records, for the
     * documents whose records are kept) */
    if (!records_later && (rc = store_names_doc(st, project_id, ep, d, err)) != IMGSEC_OK)
        return rc;

    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        if (!records_later &&
            (rc = insert_records(st, (report_type)t, id, &d->records[t], err)) != IMGSEC_OK)
            return rc;
        records += (int64_t)d->records[t].n;
    }

    const image_summary *sum = &d->summary;
    if (records_later) /* the aggregates too: copy_aggregates */
        goto done;
    if ((rc = store_dagg_vul_insert(st, id, sum->vuls, sum->n_vuls, err)) != IMGSEC_OK)
        return rc;
    for (size_t i = 0; i < sum->n_builds; i++) {
        const build_agg *a = &sum->builds[i];
        if ((unsigned)a->level >= SEVERITY_COUNT)
            return err_set(err, IMGSEC_EINTERNAL, "store: document has an invalid risk_level aggregate");
        db_bind_int64(q->agg_build_ins, 1, id);
        store_dbind_text(q->agg_build_ins, 2, a->rule_id);
        store_dbind_text(q->agg_build_ins, 3, a->risk_name);
        store_dbind_text(q->agg_build_ins, 4, severity_name(a->level));
        db_bind_int64(q->agg_build_ins, 5, a->n);
        if ((rc = store_drun(st, q->agg_build_ins, "storing aggregates", err)) != IMGSEC_OK)
            return rc;
    }

done:
    /* the change-log row (with records_later the caller's, one statement
     * for the batch: store_change_append_all) */
    if (!records_later && (rc = store_change_append(st, id, err)) != IMGSEC_OK)
        return rc;
    res->id = id;
    res->records = records;
    return IMGSEC_OK;
}

/* ---- PostgreSQL: the records of a call through COPY ----
 *
 * A record is a round trip as a prepared INSERT on PostgreSQL (about
 * 2,000 a second on a local socket); COPY sends them in blocks. While a
 * COPY runs nothing else may, so a call first writes every document's
 * image row, aggregates and change-log row as before (ingest_one with
 * records_later), then one COPY per record table carries the records of
 * all documents, and one per aggregate table their aggregates. A document whose image a later document of the same
 * call replaced stores no records (on SQLite the later one's clear
 * deletes them). */

typedef struct {
    int64_t id;
    size_t i;
} doc_id;

static int doc_id_cmp(const void *a, const void *b)
{
    const doc_id *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* keep[i]: document i is the last of the call with its image. */
static bool *last_of_image(const int64_t *ids, size_t n)
{
    doc_id *v = malloc(n * sizeof *v);
    bool *keep = calloc(n, sizeof *keep);
    if (!v || !keep) {
        free(v);
        free(keep);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (doc_id){ids[i], i};
    qsort(v, n, sizeof *v, doc_id_cmp);
    for (size_t k = 0; k < n; k++)
        keep[v[k].i] = k + 1 == n || v[k + 1].id != v[k].id;
    free(v);
    return keep;
}

static int copy_table(store *st, report_type t, const imgsec_doc *docs, const int64_t *ids,
                      const bool *keep, size_t n, imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = keep[i] && docs[i].records[t].n > 0;
    if (!any)
        return IMGSEC_OK;
    db_copy *c = store_copy_records_begin(st, k, "storing records", err);
    int rc = c ? IMGSEC_OK : store_drc(err);
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        if (!keep[i])
            continue;
        const doc_records *r = &docs[i].records[t];
        for (size_t j = 0; j < r->n && rc == IMGSEC_OK; j++) {
            store_copy_record(c, k, ids[i], (int64_t)j, &r->vals[j * k->nfields]);
            rc = db_copy_row(c, err);
        }
    }
    if (!c)
        return rc;
    if (db_copy_end(c, rc == IMGSEC_OK, NULL) != IMGSEC_OK && rc == IMGSEC_OK)
        rc = store_derr(st, err, "storing records");
    return rc;
}

/* The aggregates of the kept documents: agg_vul, then agg_build. */
static int copy_aggregates(store *st, const imgsec_doc *docs, const int64_t *ids, const bool *keep,
                           size_t n, imgsec_err *err)
{
    int rc = IMGSEC_OK;
    for (int table = 0; table < 2 && rc == IMGSEC_OK; table++) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = keep[i] && (table ? docs[i].summary.n_builds : docs[i].summary.n_vuls) > 0;
        if (!any)
            continue;
        db_copy *c = db_copy_begin(st->conn, table ? "agg_build" : "agg_vul",
                                   table ? "image, rule_id, risk_name, risk_level, n"
                                         : "image, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss",
                                   NULL);
        if (!c)
            return store_derr(st, err, "storing aggregates");
        for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
            const image_summary *sum = &docs[i].summary;
            if (!keep[i])
                continue;
            for (size_t j = 0; j < (table ? sum->n_builds : sum->n_vuls) && rc == IMGSEC_OK; j++) {
                db_copy_int64(c, ids[i]);
                if (table) {
                    const build_agg *a = &sum->builds[j];
                    if ((unsigned)a->level >= SEVERITY_COUNT) {
                        rc = err_set(err, IMGSEC_EINTERNAL,
                                     "store: document has an invalid risk_level aggregate");
                        break;
                    }
                    db_copy_text(c, a->rule_id ? a->rule_id : "", a->rule_id ? strlen(a->rule_id) : 0);
                    db_copy_text(c, a->risk_name ? a->risk_name : "",
                                 a->risk_name ? strlen(a->risk_name) : 0);
                    db_copy_text(c, severity_name(a->level), strlen(severity_name(a->level)));
                    db_copy_int64(c, a->n);
                } else {
                    const vul_agg *a = &sum->vuls[j];
                    if ((unsigned)a->type >= VUL_TYPE_COUNT) {
                        rc = err_set(err, IMGSEC_EINTERNAL,
                                     "store: document has an invalid vul_type aggregate");
                        break;
                    }
                    store_copy_vul_agg(c, a);
                }
                rc = db_copy_row(c, err);
            }
        }
        if (db_copy_end(c, rc == IMGSEC_OK, NULL) != IMGSEC_OK && rc == IMGSEC_OK)
            rc = store_derr(st, err, "storing aggregates");
    }
    return rc;
}

static int copy_records(store *st, const char *project_id, const char *ep, const imgsec_doc *docs,
                        const int64_t *ids, size_t n, imgsec_err *err)
{
    bool *keep = last_of_image(ids, n);
    if (!keep)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++)
        if (keep[i])
            rc = store_names_doc(st, project_id, ep, &docs[i], err);
    for (int t = 0; t < REPORT_TYPE_COUNT && rc == IMGSEC_OK; t++)
        rc = copy_table(st, (report_type)t, docs, ids, keep, n, err);
    if (rc == IMGSEC_OK)
        rc = copy_aggregates(st, docs, ids, keep, n, err);
    free(keep);
    return rc;
}

struct store_ingest_txn {
    store *st;
    const char *project_id, *ep;
    const store_grant *grant;
    ingest_stmts q;
    bool copy; /* PostgreSQL: the records of a batch through COPY */
    /* store_ingest_defer_indexes: the dropped indexes, built again by
     * store_ingest_end before the commit */
    store_dropped_indexes idx;
};

/* The indexes of table that ingest never reads: not unique, not on the
 * image alone (the record tables' deletes by image use their primary
 * key (image, seq), the aggregates' their index on image). Name and
 * CREATE INDEX text of each, from the engine's catalog. */
static const char DEFER_SQL_PG[] =
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
    "JOIN pg_namespace n ON n.oid = t.relnamespace "
    "WHERE n.nspname = current_schema() AND t.relname = ?1 AND NOT x.indisunique "
    "AND NOT (x.indnatts = 1 AND (SELECT a.attname FROM pg_attribute a "
    "WHERE a.attrelid = t.oid AND a.attnum = x.indkey[0]) = 'image') ORDER BY i.relname";
static const char DEFER_SQL_SQLITE[] =
    "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'index' AND m.sql IS NOT NULL "
    "AND m.tbl_name = ?1 AND NOT (SELECT l.\"unique\" FROM pragma_index_list(?1) l "
    "WHERE l.name = m.name) AND NOT ((SELECT count(*) FROM pragma_index_info(m.name)) = 1 "
    "AND (SELECT i.name FROM pragma_index_info(m.name) i WHERE i.seqno = 0) IS 'image') "
    "ORDER BY m.name";

int store_ingest_defer_indexes(store_ingest_txn *tx, bool only_if_empty, size_t *deferred,
                               imgsec_err *err)
{
    store *st = tx->st;
    int rc = IMGSEC_OK;
    *deferred = 0;
    if (tx->idx.n)
        return err_set(err, IMGSEC_EINTERNAL, "store: the indexes are already deferred");
    if (only_if_empty) {
        db_stmt *s = store_dprepare(st, "SELECT EXISTS (SELECT 1 FROM images)",
                                    "reading the images", err);
        if (!s)
            return store_drc(err);
        bool any = false;
        if (db_step(s) == DB_ROW)
            any = db_column_int64(s, 0) != 0;
        else
            rc = store_derr(st, err, "reading the images");
        db_finalize(s);
        if (rc != IMGSEC_OK || any)
            return rc;
    }
    for (int t = 0; t < REPORT_TYPE_COUNT + 2 && rc == IMGSEC_OK; t++)
        rc = store_indexes_drop(st, tx->copy ? DEFER_SQL_PG : DEFER_SQL_SQLITE,
                                t == REPORT_TYPE_COUNT       ? "agg_vul"
                                : t == REPORT_TYPE_COUNT + 1 ? "agg_build"
                                                             : record_kind_get((report_type)t)->table,
                                &tx->idx, err);
    /* after a failure the caller ends tx without commit, which brings
     * back whatever was dropped */
    *deferred = tx->idx.n;
    return rc;
}

static int ingest_args_check(const char *project_id, const char *ep, const store_grant *grant,
                             imgsec_err *err)
{
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project_id");
    if (!model_scope_id_valid(ep))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: enterprise_project_id");
    return store_grant_check(grant, project_id, ep, err);
}

int store_ingest_begin(store *st, const char *project_id, const char *ep, const store_grant *grant,
                       store_ingest_txn **out, imgsec_err *err)
{
    int rc;
    *out = NULL;
    if ((rc = ingest_args_check(project_id, ep, grant, err)) != IMGSEC_OK)
        return rc;
    store_ingest_txn *tx = calloc(1, sizeof *tx);
    if (!tx)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    *tx = (store_ingest_txn){st, project_id, ep, grant, {0}, db_backend_of(st->conn) == DB_PG, {0}};
    if ((rc = ingest_prepare(st, &tx->q, err)) != IMGSEC_OK ||
        (rc = store_write_begin(st, err)) != IMGSEC_OK) {
        free(tx);
        return rc;
    }
    *out = tx;
    return IMGSEC_OK;
}

static void where_at(char *buf, size_t size, size_t i, bool bulk)
{
    if (bulk)
        snprintf(buf, size, "documents[%zu].", i);
    else
        buf[0] = '\0';
}

int store_ingest_add(store_ingest_txn *tx, const imgsec_doc *docs, size_t n, size_t first,
                     bool bulk, store_ingest_result *results,
                     void (*progress)(size_t done, size_t total, void *arg), void *arg,
                     imgsec_err *err)
{
    char where[48];
    int rc;
    store *st = tx->st;
    if (n == 0)
        return IMGSEC_OK;
    if (!docs)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: no documents");
    for (size_t i = 0; i < n; i++) {
        where_at(where, sizeof where, first + i, bulk);
        if ((rc = doc_check(&docs[i], where, err)) != IMGSEC_OK)
            return rc;
    }
    int64_t *ids = tx->copy ? calloc(n, sizeof *ids) : NULL;
    if (tx->copy && !ids)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    for (size_t i = 0; i < n; i++) {
        store_ingest_result r = {0};
        where_at(where, sizeof where, first + i, bulk);
        if ((rc = ingest_one(st, &tx->q, tx->project_id, tx->ep, &docs[i], tx->grant, where,
                             tx->copy, &r, err)) != IMGSEC_OK)
            goto out;
        if (ids)
            ids[i] = r.id;
        if (results)
            results[i] = r;
        if (progress) /* on PostgreSQL its records come after the last document */
            progress(i + 1, n, arg);
    }
    /* The batch's change-log rows, one per document in document order as
     * ingest_one appends them on SQLite, in one statement; they become
     * visible with everything else at the commit. A later batch that
     * replaces an image of this one deletes these records again
     * (store_image_clear), as a later document does. */
    if (tx->copy && (rc = store_change_append_all(st, ids, n, err)) == IMGSEC_OK)
        rc = copy_records(st, tx->project_id, tx->ep, docs, ids, n, err);
out:
    free(ids);
    return rc;
}

int store_ingest_end(store_ingest_txn *tx, bool commit, imgsec_err *err)
{
    int rc = IMGSEC_OK;
    if (!tx)
        return IMGSEC_OK;
    /* the deferred indexes: each one sort of its whole table */
    for (size_t i = 0; commit && rc == IMGSEC_OK && i < tx->idx.n; i++)
        rc = store_exec(tx->st, tx->idx.sql[i], "building an index", err);
    if (commit && rc == IMGSEC_OK && (rc = store_change_prune(tx->st, err)) == IMGSEC_OK)
        rc = store_commit(tx->st, err);
    else
        store_rollback(tx->st);
    store_dropped_indexes_free(&tx->idx);
    free(tx);
    return rc;
}

int store_ingest(store *st, const char *project_id, const char *ep, const imgsec_doc *docs, size_t n,
                 const store_grant *grant, store_ingest_result *results,
                 void (*progress)(size_t done, size_t total, void *arg), void *arg, imgsec_err *err)
{
    store_ingest_txn *tx;
    int rc = ingest_args_check(project_id, ep, grant, err);
    if (rc != IMGSEC_OK || n == 0)
        return rc;
    if (!docs)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: no documents");
    if ((rc = store_ingest_begin(st, project_id, ep, grant, &tx, err)) != IMGSEC_OK)
        return rc;
    rc = store_ingest_add(tx, docs, n, 0, n > 1, results, progress, arg, err);
    int end = store_ingest_end(tx, rc == IMGSEC_OK, rc == IMGSEC_OK ? err : &(imgsec_err){0});
    return rc != IMGSEC_OK ? rc : end;
}

int store_image_delete(store *st, const char *project_id, int64_t id, const store_grant *grant,
                       imgsec_err *err)
{
    int rc;
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project_id");
    if ((rc = store_grant_check(grant, project_id, NULL, err)) != IMGSEC_OK)
        return rc;
    db_stmt *find = store_dstmt(st, STMT_IMAGE_EP, err);
    db_stmt *del = find ? store_dstmt(st, STMT_IMAGE_DELETE, err) : NULL;
    if (!del)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    db_bind_int64(find, 1, id);
    store_dbind_text(find, 2, project_id);
    int step = db_step(find);
    if (step == DB_DONE) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "image %lld does not exist in this project", (long long)id);
        goto fail;
    }
    if (step != DB_ROW) {
        rc = store_derr(st, err, "finding an image");
        goto fail;
    }
    const char *ep = db_column_text(find, 0);
    if (grant && !store_grant_covers_ep(grant, ep ? ep : "")) {
        rc = err_set(err, IMGSEC_EFORBIDDEN,
                     "image %lld is in an enterprise project that is not granted", (long long)id);
        goto fail;
    }
    db_reset(find);
    /* Its records, aggregates and name counts first: PostgreSQL has no
     * cascade (schema version 16), SQLite's then finds nothing. */
    if ((rc = store_image_clear(st, id, err)) != IMGSEC_OK)
        goto fail;
    db_bind_int64(del, 1, id);
    store_dbind_text(del, 2, project_id);
    if ((rc = store_drun(st, del, "deleting an image", err)) != IMGSEC_OK)
        goto fail;
    if ((rc = store_change_append(st, id, err)) != IMGSEC_OK ||
        (rc = store_change_prune(st, err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

/* ---- reading summaries ---- */

/* Aggregates of one image, copied out of their cursor rows: strings go
 * to one arena and are pointed at once the image is complete (the arena
 * may move while it grows). Reused from image to image. */
typedef struct {
    vul_agg *vuls;
    size_t n_vuls, cap_vuls;
    build_agg *builds;
    size_t n_builds, cap_builds;
    size_t *offs; /* per vul: 1 offset; per build: 2 offsets; vuls first */
    size_t n_offs, cap_offs;
    char *arena;
    size_t len, cap;
} agg_buf;

static void agg_buf_free(agg_buf *b)
{
    free(b->vuls);
    free(b->builds);
    free(b->offs);
    free(b->arena);
}

static void agg_buf_clear(agg_buf *b)
{
    b->n_vuls = b->n_builds = b->n_offs = b->len = 0;
}

/* Copies a column's text to the arena and records its offset. */
static bool arena_add(agg_buf *b, db_stmt *s, int col)
{
    const char *t = db_column_text(s, col);
    size_t n = db_column_bytes(s, col);
    if (!util_grow((void **)&b->arena, &b->cap, b->len + n + 1, 1) ||
        !util_grow((void **)&b->offs, &b->cap_offs, b->n_offs + 1, sizeof *b->offs))
        return false;
    if (n)
        memcpy(b->arena + b->len, t, n);
    b->arena[b->len + n] = '\0';
    b->offs[b->n_offs++] = b->len;
    b->len += n + 1;
    return true;
}

static void agg_buf_fixup(agg_buf *b, image_summary *sum)
{
    size_t o = 0;
    for (size_t i = 0; i < b->n_vuls; i++)
        b->vuls[i].vul_id = b->arena + b->offs[o++];
    for (size_t i = 0; i < b->n_builds; i++) {
        b->builds[i].rule_id = b->arena + b->offs[o++];
        b->builds[i].risk_name = b->arena + b->offs[o++];
    }
    /* in key order whatever their rowids (store_vul_diff.c) */
    for (size_t i = 1; i < b->n_vuls; i++)
        if (doc_vul_cmp(&b->vuls[i - 1], &b->vuls[i]) > 0) {
            qsort(b->vuls, b->n_vuls, sizeof *b->vuls, doc_vul_cmp);
            break;
        }
    sum->vuls = b->vuls;
    sum->n_vuls = b->n_vuls;
    sum->builds = b->builds;
    sum->n_builds = b->n_builds;
}

/* A statement whose rows are ordered by image id in column 0, read in step
 * with the images; rc is the result of its last step. */
typedef struct {
    db_stmt *s;
    int rc;
} cursor;

static int cursor_next(store *st, cursor *c, imgsec_err *err)
{
    c->rc = db_step(c->s);
    if (c->rc != DB_ROW && c->rc != DB_DONE)
        return store_derr(st, err, "reading aggregates");
    return IMGSEC_OK;
}

/* Skips the rows of images before id. */
static int cursor_seek(store *st, cursor *c, int64_t id, imgsec_err *err)
{
    int rc;
    while (c->rc == DB_ROW && db_column_int64(c->s, 0) < id)
        if ((rc = cursor_next(st, c, err)) != IMGSEC_OK)
            return rc;
    return IMGSEC_OK;
}

/* Collects the rows of image id (after skipping those before it). */
static int collect_vuls(store *st, cursor *c, int64_t id, agg_buf *b, imgsec_err *err)
{
    int rc = cursor_seek(st, c, id, err);
    if (rc != IMGSEC_OK)
        return rc;
    while (c->rc == DB_ROW && db_column_int64(c->s, 0) == id) {
        int vt = vul_type_parse(db_column_text(c->s, 2));
        if (vt < 0)
            return err_set(err, IMGSEC_EINTERNAL, "store: image %lld has a bad vul aggregate",
                           (long long)id);
        if (!util_grow((void **)&b->vuls, &b->cap_vuls, b->n_vuls + 1, sizeof *b->vuls) ||
            !arena_add(b, c->s, 1))
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        bool has = db_column_type(c->s, 5) != DB_NULL;
        bool has_rep = db_column_type(c->s, 7) != DB_NULL;
        b->vuls[b->n_vuls++] = (vul_agg){NULL, (vul_type)vt, db_column_int64(c->s, 3),
                                         (int)db_column_int64(c->s, 4), has,
                                         has ? db_column_double(c->s, 5) : 0,
                                         db_column_int64(c->s, 6), has_rep,
                                         has_rep ? db_column_double(c->s, 7) : 0};
        if ((rc = cursor_next(st, c, err)) != IMGSEC_OK)
            return rc;
    }
    return IMGSEC_OK;
}

/* Build aggregates come after all vul aggregates in the arena offsets, so
 * collect_vuls must run first for each image. */
static int collect_builds(store *st, cursor *c, int64_t id, agg_buf *b, imgsec_err *err)
{
    int rc = cursor_seek(st, c, id, err);
    if (rc != IMGSEC_OK)
        return rc;
    while (c->rc == DB_ROW && db_column_int64(c->s, 0) == id) {
        int lv = severity_parse(db_column_text(c->s, 3));
        if (lv < 0)
            return err_set(err, IMGSEC_EINTERNAL, "store: image %lld has a bad build aggregate",
                           (long long)id);
        if (!util_grow((void **)&b->builds, &b->cap_builds, b->n_builds + 1, sizeof *b->builds) ||
            !arena_add(b, c->s, 1) || !arena_add(b, c->s, 2))
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        b->builds[b->n_builds++] = (build_agg){NULL, NULL, (severity)lv, db_column_int64(c->s, 4)};
        if ((rc = cursor_next(st, c, err)) != IMGSEC_OK)
            return rc;
    }
    return IMGSEC_OK;
}

static const char *col_text(db_stmt *s, int c)
{
    const char *t = db_column_text(s, c + 1);
    return t ? t : "";
}

/* The image row of s (SELECT id, <image columns>) as a summary without
 * aggregates; strings point into the row. */
static int row_summary(db_stmt *s, image_summary *sum, imgsec_err *err)
{
    memset(sum, 0, sizeof *sum);
    sum->id = db_column_int64(s, 0);
    int type = image_type_parse(col_text(s, IC_IMAGE_TYPE));
    int status = scan_status_parse(col_text(s, IC_SCAN_STATUS));
    int level = db_column_type(s, IC_SEVERITY_LEVEL + 1) == DB_NULL
                    ? SEVERITY_LEVEL_NONE
                    : severity_level_parse(col_text(s, IC_SEVERITY_LEVEL));
    if (type < 0 || status < 0 || level < 0)
        return err_set(err, IMGSEC_EINTERNAL, "store: image %lld has a bad attribute",
                       (long long)sum->id);
    sum->project_id = col_text(s, IC_PROJECT_ID);
    sum->ep = col_text(s, IC_EP);
    sum->type = (image_type)type;
    sum->status = (scan_status)status;
#define READ_STRING(m, ...) sum->m = col_text(s, IC_STR_##m);
#define READ_NUMBER(m, ...) sum->m = db_column_int64(s, IC_NUM_##m + 1);
    MODEL_IMAGE_STRINGS(READ_STRING)
    MODEL_IMAGE_NUMBERS(READ_NUMBER)
#undef READ_STRING
#undef READ_NUMBER
    sum->severity_level = (severity_level)level;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        sum->counts[t] = db_column_int64(s, IC_COUNT(t) + 1);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        sum->vul_counts[v] = db_column_int64(s, IC_VUL_COUNT(v) + 1);
    return IMGSEC_OK;
}

/* min and max seq of the change log (0, 0 when empty). */
static int changes_range(store *st, int64_t *lo, int64_t *hi, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_CHANGES_RANGE, err);
    if (!s)
        return store_drc(err);
    if (db_step(s) != DB_ROW) {
        store_derr(st, err, "reading the change log");
        db_reset(s);
        return IMGSEC_EINTERNAL;
    }
    *lo = db_column_int64(s, 0); /* NULL reads as 0 */
    *hi = db_column_int64(s, 1);
    db_reset(s);
    return IMGSEC_OK;
}

int store_summary_foreach(store *st, store_summary_cb cb, void *arg, int64_t *seq_out,
                          imgsec_err *err)
{
    int rc;
    int64_t lo = 0, hi = 0;
    agg_buf b = {0};
    cursor img = {store_dstmt(st, STMT_IMAGES_ALL, err), 0};
    cursor vul = {img.s ? store_dstmt(st, STMT_AGG_VUL_ALL, err) : NULL, 0};
    cursor bld = {vul.s ? store_dstmt(st, STMT_AGG_BUILD_ALL, err) : NULL, 0};
    if (!bld.s)
        return store_drc(err);
    /* on PostgreSQL, cursors: the walk holds a batch of each, not the tables */
    db_stream(img.s, STORE_WALK_ROWS);
    db_stream(vul.s, STORE_WALK_ROWS);
    db_stream(bld.s, STORE_WALK_ROWS);
    if ((rc = store_read_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = changes_range(st, &lo, &hi, err)) != IMGSEC_OK ||
        (rc = cursor_next(st, &img, err)) != IMGSEC_OK ||
        (rc = cursor_next(st, &vul, err)) != IMGSEC_OK ||
        (rc = cursor_next(st, &bld, err)) != IMGSEC_OK)
        goto fail;
    while (img.rc == DB_ROW) {
        image_summary sum;
        agg_buf_clear(&b);
        if ((rc = row_summary(img.s, &sum, err)) != IMGSEC_OK ||
            (rc = collect_vuls(st, &vul, sum.id, &b, err)) != IMGSEC_OK ||
            (rc = collect_builds(st, &bld, sum.id, &b, err)) != IMGSEC_OK)
            goto fail;
        agg_buf_fixup(&b, &sum);
        if ((rc = cb(&sum, arg)) != 0) {
            store_rollback(st); /* read-only: ending it either way is the same */
            agg_buf_free(&b);
            return rc;
        }
        if ((rc = cursor_next(st, &img, err)) != IMGSEC_OK)
            goto fail;
    }
    agg_buf_free(&b);
    if ((rc = store_commit(st, err)) != IMGSEC_OK)
        return rc;
    if (seq_out)
        *seq_out = hi;
    return IMGSEC_OK;
fail:
    agg_buf_free(&b);
    store_rollback(st);
    return rc;
}

/* Loads image id with its aggregates; *found false if it does not exist. */
static int load_one(store *st, int64_t id, image_summary *sum, agg_buf *b, bool *found,
                    imgsec_err *err)
{
    int rc;
    cursor img = {store_dstmt(st, STMT_IMAGE_ONE, err), 0};
    cursor vul = {img.s ? store_dstmt(st, STMT_AGG_VUL_ONE, err) : NULL, 0};
    cursor bld = {vul.s ? store_dstmt(st, STMT_AGG_BUILD_ONE, err) : NULL, 0};
    if (!bld.s)
        return store_drc(err);
    db_reset(img.s);
    db_reset(vul.s);
    db_reset(bld.s);
    db_bind_int64(img.s, 1, id);
    db_bind_int64(vul.s, 1, id);
    db_bind_int64(bld.s, 1, id);
    agg_buf_clear(b);
    *found = false;
    if ((rc = cursor_next(st, &img, err)) != IMGSEC_OK)
        return rc;
    if (img.rc != DB_ROW)
        return IMGSEC_OK;
    if ((rc = row_summary(img.s, sum, err)) != IMGSEC_OK ||
        (rc = cursor_next(st, &vul, err)) != IMGSEC_OK ||
        (rc = cursor_next(st, &bld, err)) != IMGSEC_OK ||
        (rc = collect_vuls(st, &vul, id, b, err)) != IMGSEC_OK ||
        (rc = collect_builds(st, &bld, id, b, err)) != IMGSEC_OK)
        return rc;
    agg_buf_fixup(b, sum);
    *found = true;
    return IMGSEC_OK;
}

int store_changes_since(store *st, int64_t since, store_summary_cb cb,
                        void (*gone)(int64_t id, void *arg), void *arg, int64_t *seq_out,
                        imgsec_err *err)
{
    int rc;
    int64_t lo = 0, hi = 0;
    agg_buf b = {0};
    if (since < 0)
        return err_set(err, IMGSEC_EINVAL, "store: negative change-log position");
    db_stmt *ids = store_dstmt(st, STMT_CHANGES_SINCE, err);
    if (!ids)
        return store_drc(err);
    if ((rc = store_read_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = changes_range(st, &lo, &hi, err)) != IMGSEC_OK)
        goto fail;
    /* Rows after since were pruned (lo > since + 1), or the follower is
     * ahead of this file (another database): either way, rebuild. */
    if (hi < since || (hi > since && lo > since + 1)) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "store: the change log no longer reaches back to %lld",
                     (long long)since);
        goto fail;
    }
    db_bind_int64(ids, 1, since);
    for (;;) {
        int step = db_step(ids);
        if (step == DB_DONE)
            break;
        if (step != DB_ROW) {
            rc = store_derr(st, err, "reading the change log");
            goto fail;
        }
        int64_t id = db_column_int64(ids, 0);
        image_summary sum;
        bool found;
        if ((rc = load_one(st, id, &sum, &b, &found, err)) != IMGSEC_OK)
            goto fail;
        if (found) {
            if ((rc = cb(&sum, arg)) != 0) {
                store_rollback(st);
                agg_buf_free(&b);
                return rc;
            }
        } else if (gone) {
            gone(id, arg);
        }
    }
    agg_buf_free(&b);
    if ((rc = store_commit(st, err)) != IMGSEC_OK)
        return rc;
    if (seq_out)
        *seq_out = hi > since ? hi : since;
    return IMGSEC_OK;
fail:
    agg_buf_free(&b);
    store_rollback(st);
    return rc;
}

/* ---- replacing the vulnerabilities of one image ---- */

bool store_after_load_due(store *st, int64_t records)
{
    return records >= STORE_ANALYZE_MIN_RECORDS && db_backend_of(st->conn) == DB_PG &&
           !db_in_transaction(st->conn);
}

int store_after_load(store *st, int64_t records, imgsec_err *err)
{
    if (!store_after_load_due(st, records))
        return IMGSEC_OK;
    return db_exec(st->conn, "ANALYZE", "updating the planner's statistics", err);
}

int store_change_seq(store *st, int64_t *seq, imgsec_err *err)
{
    int64_t lo = 0;
    *seq = 0;
    return changes_range(st, &lo, seq, err);
}

/* Whether image id may have changed after change-log position seen: a
 * row of it after seen, or rows after seen pruned (unknowable). */
static int changed_since(store *st, int64_t id, int64_t seen, bool *changed, imgsec_err *err)
{
    bool known;
    store_vul_bulk_changed(st, id, seen, &known, changed);
    if (known)
        return IMGSEC_OK;
    int64_t lo = 0, hi = 0;
    int rc = changes_range(st, &lo, &hi, err);
    if (rc != IMGSEC_OK)
        return rc;
    *changed = true;
    if (hi < seen || (hi > seen && lo > seen + 1))
        return IMGSEC_OK; /* another file's position, or pruned past it */
    db_stmt *s = store_dstmt(st, STMT_CHANGED_SINCE, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, seen);
    db_bind_int64(s, 2, id);
    int step = db_step(s);
    db_reset(s);
    if (step != DB_ROW && step != DB_DONE)
        return store_derr(st, err, "reading the change log");
    *changed = step == DB_ROW;
    return IMGSEC_OK;
}

/* Image id's scan status and malware count (*found false if it is gone). */
static int image_basis(store *st, int64_t id, scan_status *status, int64_t *n_malware, bool *found,
                       imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_IMAGE_ONE, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, id);
    int step = db_step(s), rc = IMGSEC_OK;
    *found = step == DB_ROW;
    if (*found) {
        image_summary sum;
        if ((rc = row_summary(s, &sum, err)) == IMGSEC_OK) {
            *status = sum.status;
            *n_malware = sum.counts[REPORT_MALWARES];
        }
    } else if (step != DB_DONE) {
        rc = store_derr(st, err, "reading an image");
    }
    db_reset(s);
    return rc;
}

typedef struct {
    int field; /* the severity field's place */
    bool *have_max;
    severity *max;
} sev_max;

static int row_severity(const store_cell *x, size_t n, void *arg)
{
    sev_max *m = arg;
    (void)n;
    const store_cell *c = &x[m->field];
    if (c->kind == CELL_NULL)
        return 0;
    int lv = c->kind == CELL_STRING ? severity_parse(c->s) : -1;
    if (lv < 0)
        return IMGSEC_EINVAL; /* turned into the error below */
    if (!*m->have_max || (severity)lv > *m->max) {
        *m->have_max = true;
        *m->max = (severity)lv;
    }
    return 0;
}

/* Raises *have_max / *max to the highest severity of image id's records
 * other than its vulnerabilities: each type with a severity field, read
 * whole through the record API (records.h). */
static int other_severities(store *st, int64_t id, bool *have_max, severity *max, imgsec_err *err)
{
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        if (t == REPORT_VULNERABILITY)
            continue;
        for (size_t f = 0; f < k->nfields; f++) {
            if (k->fields[f].kind != FIELD_SEVERITY)
                continue;
            sev_max m = {(int)f, have_max, max};
            int rc = store_image_records_all(st, id, (report_type)t, row_severity, &m, err);
            if (rc == IMGSEC_EINVAL)
                return err_set(err, IMGSEC_EINTERNAL, "store: image %lld has a bad severity",
                               (long long)id);
            if (rc != IMGSEC_OK)
                return rc;
        }
    }
    return IMGSEC_OK;
}

struct store_vul_prep {
    imgsec_doc doc; /* the vulnerability records alone, and their summary */
    bool have_max;
    severity max;
};

void store_vul_prep_free(store_vul_prep *p)
{
    if (!p)
        return;
    doc_free(&p->doc);
    free(p);
}

int store_vul_prepare(store_vul_replace *r, const char *where, imgsec_err *err)
{
    if (!where)
        where = "";
    store_vul_prep_free(r->prep);
    r->prep = NULL;
    if (!json_is_array(r->vuls))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %svulnerabilities must be an array", where);
    if (json_array_size(r->vuls) > DOC_RECORDS_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %svulnerabilities must hold at most %d records", where,
                       DOC_RECORDS_MAX);
    store_vul_prep *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    int rc = doc_vuls_from_json(r->vuls, where, &p->doc, &p->have_max, &p->max, err);
    if (rc != IMGSEC_OK) {
        free(p);
        return rc;
    }
    r->prep = p;
    return IMGSEC_OK;
}

/* The write of store_replace_vulnerabilities, inside its transaction. */
static int replace_vuls(store *st, int64_t id, int64_t seen, const store_vul_prep *p, bool *skipped,
                        imgsec_err *err)
{
    int rc;
    bool changed, found;
    scan_status status = SCAN_STATUS_COUNT;
    int64_t n_malware = 0;
    if ((rc = changed_since(st, id, seen, &changed, err)) != IMGSEC_OK)
        return rc;
    if (!changed && (rc = image_basis(st, id, &status, &n_malware, &found, err)) != IMGSEC_OK)
        return rc;
    if (changed || !found) {
        *skipped = true;
        return IMGSEC_OK;
    }
    bool have_max = p->have_max;
    severity max = p->max;
    if ((rc = other_severities(st, id, &have_max, &max, err)) != IMGSEC_OK)
        return rc;
    severity_level level = model_image_severity_level(status, have_max, max, n_malware);

    db_stmt *set = store_dstmt(st, STMT_IMAGE_SET_VULS, err);
    if (!set)
        return store_drc(err);
    const doc_records *recs = &p->doc.records[REPORT_VULNERABILITY];
    const image_summary *sum = &p->doc.summary;
    if ((rc = store_vul_rows_replace(st, id, recs, err)) != IMGSEC_OK ||
        (rc = store_agg_vul_replace(st, id, sum->vuls, sum->n_vuls, err)) != IMGSEC_OK)
        return rc;
    db_bind_int64(set, 1, (int64_t)recs->n);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        db_bind_int64(set, v + 2, sum->vul_counts[v]);
    if (level == SEVERITY_LEVEL_NONE)
        db_bind_null(set, VUL_TYPE_COUNT + 2);
    else
        store_dbind_text(set, VUL_TYPE_COUNT + 2, severity_level_name(level));
    db_bind_int64(set, VUL_TYPE_COUNT + 3, id);
    if ((rc = store_drun(st, set, "storing an image", err)) != IMGSEC_OK ||
        (rc = store_change_append(st, id, err)) != IMGSEC_OK)
        return rc;
    return store_vul_bulk_note(st, id, err);
}

int store_replace_vulnerabilities(store *st, store_vul_replace *items, size_t n, imgsec_err *err)
{
    if (n == 0)
        return IMGSEC_OK;
    if (!items || n > DOC_BULK_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: replacements");
    /* the items without a prep of their own get one here, freed at the end */
    store_vul_prep **mine = calloc(n, sizeof *mine);
    if (!mine)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    char where[48];
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        store_vul_replace *r = &items[i];
        r->skipped = false;
        doc_where(where, sizeof where, i, n);
        if (r->image_id <= 0)
            rc = err_set(err, IMGSEC_EINVAL, "invalid parameter: %simage id", where);
        else if (r->seen_seq < 0)
            rc = err_set(err, IMGSEC_EINVAL, "store: %snegative change-log position", where);
        else if (!r->prep) {
            store_vul_replace tmp = {.vuls = r->vuls};
            rc = store_vul_prepare(&tmp, where, err);
            mine[i] = tmp.prep;
        }
    }
    if (rc == IMGSEC_OK && (rc = store_write_begin(st, err)) == IMGSEC_OK) {
        for (size_t i = 0; i < n && rc == IMGSEC_OK; i++)
            rc = replace_vuls(st, items[i].image_id, items[i].seen_seq,
                              items[i].prep ? items[i].prep : mine[i], &items[i].skipped, err);
        if (rc == IMGSEC_OK)
            rc = store_change_prune(st, err);
        if (rc == IMGSEC_OK)
            rc = store_commit(st, err);
        else
            store_rollback(st);
    }
    for (size_t i = 0; i < n; i++)
        store_vul_prep_free(mine[i]);
    free(mine);
    return rc;
}
