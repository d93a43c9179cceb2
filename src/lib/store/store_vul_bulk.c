/* store_vul_bulk.c - store_vul_bulk_begin/end/abort: many images'
 * vulnerabilities replaced in one write transaction with the indexes that
 * are ordered by vulnerability rebuilt once at its end.
 *
 * Why: a first rematch inserts every image's rows anew, and each row is
 * an insert at a random place in the indexes of rec_vulnerability and
 * agg_vul whose first column is not the image (agg_vul_vul; rec_vul_vul
 * too before schema 19 dropped it): once the store is large every
 * inserted row costs a page of each (docs/performance.md "Vulnerability
 * database"). Inserting into the tables and the image-ordered indexes
 * (primary key, rec_vul_app, agg_vul_image) appends in image order;
 * CREATE INDEX afterwards sorts the whole table once.
 *
 * Mechanism: begin opens BEGIN IMMEDIATE, reads from sqlite_master the
 * name and CREATE INDEX text of every such index (those whose first
 * column, pragma_index_info seqno 0, is not "image"), keeps them in the
 * store and drops them (store_indexes_drop), all inside that
 * transaction. While st->bulk is set, store_write_begin/commit/rollback
 * turn into SAVEPOINT / RELEASE /
 * ROLLBACK TO of a savepoint inside it (store.c), so a batch of
 * store_replace_vulnerabilities that fails undoes itself alone. end runs
 * the kept CREATE INDEX texts (the same definitions, whatever schema made
 * them) and commits; if any of that fails, or on abort, or when the
 * process dies before COMMIT, the whole transaction is rolled back: the
 * file is never seen, by other connections or after a crash, without its
 * indexes. Readers on other connections see the file as it was before
 * begin until end commits (WAL snapshots).
 *
 * On PostgreSQL no index is dropped (bulk_idx stays empty): DROP INDEX
 * takes an ACCESS EXCLUSIVE lock on the table until the commit, which
 * would keep every node's readers out of it for the whole run, where
 * SQLite's readers keep their snapshot. The bulk write there is the one
 * transaction with its savepoints (docs/design.md "Rematch on
 * PostgreSQL"); the rows come by COPY (store_vul_diff.c).
 *
 * The change-log check of store_replace_vulnerabilities (an image written
 * by someone else after it was read is left alone) would scan every row
 * the run appended, once per image: quadratic in the run. Inside a bulk
 * write nobody else writes, so the rows after its start are its own, one
 * per image noted in st->bulk_ids; store_vul_bulk_changed answers from
 * that list (store_images.c changed_since).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static void bulk_free(store *st)
{
    free(st->bulk_ids);
    st->bulk_ids = NULL;
    st->n_bulk_ids = st->cap_bulk_ids = 0;
    store_dropped_indexes_free(&st->bulk_idx);
}

/* The indexes to drop (?1: the vulnerability records' table): SQLite
 * only (on PostgreSQL none is dropped, see the top of this file). */
static const char BULK_INDEXES_SQL[] =
    "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'index' AND m.sql IS NOT NULL "
    "AND m.tbl_name IN (?1, 'agg_vul') AND (SELECT i.name FROM pragma_index_info(m.name) i "
    "WHERE i.seqno = 0) IS NOT 'image' ORDER BY m.name";

/* SQLite's foreign-key checks off for the bulk write (a no-op inside a
 * transaction, so set before BEGIN and after COMMIT / ROLLBACK): every
 * row it inserts belongs to an image it has just found in the same write
 * transaction (store_images.c replace_vuls), nobody else writes until it
 * ends, and it deletes no image, so no check can fail and no cascade is
 * due; each check is a probe of images per inserted row. */
static void bulk_fk(store *st, bool on)
{
    if (db_backend_of(st->conn) == DB_SQLITE)
        (void)db_exec(st->conn, on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF",
                      "foreign keys", NULL);
}

int store_vul_bulk_begin(store *st, imgsec_err *err)
{
    if (st->bulk)
        return err_set(err, IMGSEC_EINTERNAL, "store: a bulk write is already open");
    bulk_fk(st, false);
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK) {
        bulk_fk(st, true);
        return rc;
    }
    db_stmt *q = store_dprepare(st, "SELECT coalesce(max(seq), 0) FROM changes",
                                "reading the change log", err);
    if (!q)
        rc = store_drc(err);
    else if (db_step(q) == DB_ROW)
        st->bulk_seq = db_column_int64(q, 0);
    else
        rc = store_derr(st, err, "reading the change log");
    db_finalize(q);
    if (rc == IMGSEC_OK && db_backend_of(st->conn) == DB_SQLITE)
        rc = store_indexes_drop(st, BULK_INDEXES_SQL, record_kind_get(REPORT_VULNERABILITY)->table,
                                &st->bulk_idx, err);
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        bulk_fk(st, true);
        bulk_free(st);
        return rc;
    }
    st->bulk = true;
    return IMGSEC_OK;
}

size_t store_vul_bulk_indexes(const store *st)
{
    return st->bulk ? st->bulk_idx.n : 0;
}

int store_vul_bulk_end(store *st, void (*progress)(size_t done, size_t total, void *arg), void *arg,
                       imgsec_err *err)
{
    if (!st->bulk)
        return err_set(err, IMGSEC_EINTERNAL, "store: no bulk write is open");
    st->bulk = false;
    int rc = IMGSEC_OK;
    if (!db_in_transaction(st->conn)) /* SQLite rolled it back (disk full, I/O error) */
        rc = err_set(err, IMGSEC_EINTERNAL, "store: the bulk write was rolled back: nothing written");
    /* the sorts of the rebuild on two threads (SQLite's sorter hands
     * half its runs to a helper thread): by then the matching workers
     * are done and a core idles; idle, 100,000 images: the two rebuilds
     * 78 -> 61 s wall (docs/performance.md, "The first rematch's serial
     * tail"). Per connection, so set back for the connection's later
     * statements (imgsecd's rematch runs on a worker's connection). */
    bool threads = rc == IMGSEC_OK && st->bulk_idx.n && db_backend_of(st->conn) == DB_SQLITE;
    if (threads)
        rc = store_exec(st, "PRAGMA threads = 1", "setting the sort threads", err);
    for (size_t i = 0; rc == IMGSEC_OK && i < st->bulk_idx.n; i++) {
        rc = store_exec(st, st->bulk_idx.sql[i], "rebuilding an index", err);
        if (rc == IMGSEC_OK && progress)
            progress(i + 1, st->bulk_idx.n, arg);
    }
    if (threads)
        store_exec(st, "PRAGMA threads = 0", "setting the sort threads", NULL);
    if (rc == IMGSEC_OK)
        rc = store_commit(st, err); /* rolls back if the commit fails */
    else
        store_rollback(st);
    bulk_fk(st, true);
    bulk_free(st);
    return rc;
}

void store_vul_bulk_abort(store *st)
{
    if (!st->bulk)
        return;
    st->bulk = false;
    store_rollback(st);
    bulk_fk(st, true);
    bulk_free(st);
}

/* Every change-log row after bulk_seq is the bulk write's own (it holds
 * the write lock), one per image in bulk_ids; rows a failed batch's
 * savepoint undid stay noted, which errs towards "changed" (skipped). */
void store_vul_bulk_changed(const store *st, int64_t id, int64_t seen, bool *known, bool *changed)
{
    /* other connections read the file as it was at the start (seen ==
     * bulk_seq); a read inside the bulk write itself (seen > bulk_seq)
     * sees its rows so far, and the log after it is a short scan */
    *known = st->bulk && seen == st->bulk_seq;
    *changed = false;
    if (!*known)
        return;
    size_t lo = 0, hi = st->n_bulk_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->bulk_ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *changed = lo < st->n_bulk_ids && st->bulk_ids[lo] == id;
}

int store_vul_bulk_note(store *st, int64_t id, imgsec_err *err)
{
    if (!st->bulk)
        return IMGSEC_OK;
    if (!util_grow((void **)&st->bulk_ids, &st->cap_bulk_ids, st->n_bulk_ids + 1, sizeof *st->bulk_ids))
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    /* ascending: a rematch writes in id order, so this is an append */
    size_t at = st->n_bulk_ids;
    while (at > 0 && st->bulk_ids[at - 1] > id)
        at--;
    if (at > 0 && st->bulk_ids[at - 1] == id)
        return IMGSEC_OK;
    memmove(st->bulk_ids + at + 1, st->bulk_ids + at, (st->n_bulk_ids - at) * sizeof *st->bulk_ids);
    st->bulk_ids[at] = id;
    st->n_bulk_ids++;
    return IMGSEC_OK;
}
