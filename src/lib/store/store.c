/* store.c - the connection: open, migrations, transactions and the
 * statement caches of the store, on SQLite or PostgreSQL through the
 * driver (src/lib/db/db.h), which holds everything the two engines do
 * differently: WAL mode and pragmas, the schema version's home, the DDL
 * dialect, how a write transaction excludes other writers.
 *
 * Opening is safe when several processes open a new database at once
 * (the server starting while the CLI adds the first user): the schema
 * version is read once cheaply, and if the database needs migrating it
 * is read again inside a write transaction, so exactly one process
 * creates the schema and the others find it done. Writers wait for each
 * other up to the busy timeout instead of failing.
 *
 * Cached statements are prepared once per handle and reset at the end of
 * every transaction, so a forgotten reset can never pin an old WAL
 * snapshot (which would make a reader answer from stale state). There
 * is one cache, of driver statements (store_dstmt).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"
#include "store_int.h"

/* A full disk is IMGSEC_ENOSPACE (the driver classifies it, db.h). */
static atomic_llong db_errors; /* store_derr calls, process-wide (store_db_errors) */

int64_t store_db_errors(void)
{
    return (int64_t)atomic_load_explicit(&db_errors, memory_order_relaxed);
}

int store_derr(store *st, imgsec_err *err, const char *what)
{
    atomic_fetch_add_explicit(&db_errors, 1, memory_order_relaxed);
    if (!st || !st->conn)
        return err_set(err, IMGSEC_EINTERNAL, "store: %s: no database", what);
    db_errclass cls = db_errclass_of(st->conn);
    return err_set(err, cls == DB_EFULL   ? IMGSEC_ENOSPACE
                        : cls == DB_ECONN ? IMGSEC_EUNAVAILABLE /* 503, reconnecting (db.h) */
                                          : IMGSEC_EINTERNAL,
                   "store: %s: %s", what, db_errmsg(st->conn));
}

db_stmt *store_dstmt(store *st, stmt_id id, imgsec_err *err)
{
    if (!st->dstmt[id]) {
        st->dstmt[id] = db_prepare(st->conn, st->sql[id], true, "preparing a statement", NULL);
        if (!st->dstmt[id]) {
            store_derr(st, err, "preparing a statement");
            return NULL;
        }
    }
    return st->dstmt[id];
}

db_stmt *store_dprepare(store *st, const char *sql, const char *what, imgsec_err *err)
{
    db_stmt *s = db_prepare(st->conn, sql, false, what, NULL);
    if (!s)
        store_derr(st, err, what);
    return s;
}

int store_drun(store *st, db_stmt *s, const char *what, imgsec_err *err)
{
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? IMGSEC_OK : store_derr(st, err, what);
}

void store_dbind_text(db_stmt *s, int i, const char *v)
{
    db_bind_text(s, i, v ? v : "", -1);
}

void store_dcolumn_copy(char *dst, size_t size, db_stmt *s, int col)
{
    const char *v = db_column_text(s, col);
    snprintf(dst, size, "%s", v ? v : "");
}

int store_exec(store *st, const char *sql, const char *what, imgsec_err *err)
{
    if (db_exec(st->conn, sql, what, NULL) != IMGSEC_OK)
        return store_derr(st, err, what);
    return IMGSEC_OK;
}

int store_indexes_drop(store *st, const char *select, const char *table,
                       store_dropped_indexes *d, imgsec_err *err)
{
    db_stmt *s = store_dprepare(st, select, "reading the indexes", err);
    if (!s)
        return store_drc(err);
    db_bind_text(s, 1, table, -1);
    char **names = NULL;
    size_t n = 0, cap = 0, cap_sql = d->n;
    int rc = IMGSEC_OK, step = DB_DONE;
    while (rc == IMGSEC_OK && (step = db_step(s)) == DB_ROW) {
        const char *name = db_column_text(s, 0), *sql = db_column_text(s, 1);
        char *n2 = NULL, *s2 = NULL;
        if (!util_grow((void **)&names, &cap, n + 1, sizeof *names) ||
            !util_grow((void **)&d->sql, &cap_sql, d->n + 1, sizeof *d->sql) || !name || !sql ||
            !(n2 = strdup(name)) || !(s2 = strdup(sql))) {
            free(n2);
            rc = err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
            break;
        }
        /* names are quoted as identifiers below */
        if (strchr(n2, '"') || strlen(n2) > 200) {
            free(n2);
            free(s2);
            rc = err_set(err, IMGSEC_EINTERNAL, "store: unexpected index name");
            break;
        }
        names[n++] = n2;
        d->sql[d->n++] = s2;
    }
    if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "reading the indexes");
    db_finalize(s);
    for (size_t i = 0; i < n; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP INDEX \"%s\"", names[i]);
        if (rc == IMGSEC_OK)
            rc = store_exec(st, sql, "dropping an index", err);
        free(names[i]);
    }
    free(names);
    return rc;
}

void store_dropped_indexes_free(store_dropped_indexes *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->sql[i]);
    free(d->sql);
    *d = (store_dropped_indexes){0};
}

static void reset_all(store *st)
{
    for (int i = 0; i < STMT_COUNT; i++) {
        if (st->dstmt[i]) {
            db_reset(st->dstmt[i]);
            db_clear_bindings(st->dstmt[i]);
        }
    }
}

/* The savepoint of a write inside a bulk write (store_vul_bulk.c). */
#define BULK_PART "SAVEPOINT store_bulk_part"

int store_write_begin(store *st, imgsec_err *err)
{
    st->notified = false;
    if (st->bulk) {
        /* The pages earlier writes of the bulk write left dirty go to the
         * WAL first. Else each one the page cache spills during this
         * savepoint (the cache is full of them after its first 16 MB) is
         * older than the savepoint, so SQLite copies it to the savepoint's
         * journal before spilling it: nearly every page of the run was
         * copied once more (docs/performance.md "The savepoint journal of
         * a bulk write"). After the flush only the pages this write
         * changes that existed before it are journaled. */
        if (db_cache_flush(st->conn, NULL) != IMGSEC_OK)
            return store_derr(st, err, "starting a write");
        return store_exec(st, BULK_PART, "starting a write", err);
    }
    if (db_begin_write(st->conn, NULL) != IMGSEC_OK)
        return store_derr(st, err, "starting a write transaction");
    return IMGSEC_OK;
}

int store_read_begin(store *st, imgsec_err *err)
{
    if (db_begin_read(st->conn, NULL) != IMGSEC_OK)
        return store_derr(st, err, "starting a read transaction");
    return IMGSEC_OK;
}

int store_commit(store *st, imgsec_err *err)
{
    int rc = store_names_flush(st, err); /* the write's name counts (store_names.c) */
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    reset_all(st);
    st->notified = false;
    if (st->bulk) {
        if (db_exec(st->conn, "RELEASE store_bulk_part", "committing", NULL) != IMGSEC_OK) {
            rc = store_derr(st, err, "committing");
            store_rollback(st);
            return rc;
        }
        return IMGSEC_OK;
    }
    if (db_commit(st->conn, NULL) != IMGSEC_OK) /* rolls back on failure */
        return store_derr(st, err, "committing");
    return IMGSEC_OK;
}

void store_rollback(store *st)
{
    store_names_forget(st);
    reset_all(st);
    st->notified = false; /* a notification is undone with its (sub)transaction */
    if (st->bulk) {
        /* fails harmlessly when no savepoint is open */
        if (db_exec(st->conn, "ROLLBACK TO store_bulk_part", "rolling back", NULL) == IMGSEC_OK)
            db_exec(st->conn, "RELEASE store_bulk_part", "rolling back", NULL);
        return;
    }
    db_rollback(st->conn);
}

/* ---- open and migrate ---- */

/* Reads the header and refuses databases this program must not touch:
 * made by a newer imgsec, or not an imgsec database at all. */
static int check_header(store *st, int64_t *version, imgsec_err *err)
{
    bool foreign = false;
    if (db_schema_header(st->conn, version, &foreign, NULL) != IMGSEC_OK)
        return store_derr(st, err, "reading the database header");
    if (foreign)
        return err_set(err, IMGSEC_EINTERNAL, "store: the %s is not an imgsec database",
                       st->db ? "file" : "database");
    if (*version > STORE_SCHEMA_VERSION)
        return err_set(err, IMGSEC_EINTERNAL,
                       "store: the database has schema version %lld, newer than the %d this "
                       "imgsec supports; upgrade imgsec",
                       (long long)*version, STORE_SCHEMA_VERSION);
    return IMGSEC_OK;
}

/* version is what store_open's check_header read without a lock.
 * Reconciling the record tables with the model reads the engine's
 * catalog (store_schema.c, db_sql_table_columns). */
static int migrate(store *st, int64_t version, imgsec_err *err)
{
    int rc, diffs = 0;

    if (store_schema_steps() != STORE_SCHEMA_VERSION)
        return err_set(err, IMGSEC_EINTERNAL, "store: schema version and migrations disagree");
    if (version == STORE_SCHEMA_VERSION) {
        if ((rc = store_schema_needs_reconcile(st, &diffs, err)) != IMGSEC_OK)
            return rc;
        if (diffs == 0)
            return IMGSEC_OK;
    }

    /* Someone else may be migrating right now: decide again under the lock. */
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = check_header(st, &version, err)) != IMGSEC_OK)
        goto fail;
    for (int v = (int)version + 1; v <= STORE_SCHEMA_VERSION; v++) {
        char *ddl = store_schema_step(st, v, err);
        if (!ddl) {
            rc = IMGSEC_EINTERNAL;
            goto fail;
        }
        rc = store_exec(st, ddl, "migrating the schema", err);
        free(ddl);
        if (rc != IMGSEC_OK)
            goto fail;
    }
    if (version < STORE_SCHEMA_VERSION &&
        db_schema_set_version(st->conn, STORE_SCHEMA_VERSION, NULL) != IMGSEC_OK) {
        rc = store_derr(st, err, "migrating the schema");
        goto fail;
    }
    if ((rc = store_schema_reconcile(st, &diffs, err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_open(const char *path, store **out, imgsec_err *err)
{
    int rc;
    *out = NULL;
    if (!path || !*path)
        return err_set(err, IMGSEC_EINVAL, "store: no database path");
    store *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    imgsec_err open_err;
    if ((rc = db_open(path, &st->conn, &open_err)) != IMGSEC_OK) {
        /* "db: cannot open the database: ..." in the store's words */
        const char *msg = open_err.msg;
        if (strncmp(msg, "db: ", 4) == 0)
            msg += 4;
        err_set(err, open_err.code, "store: %s", msg);
        store_close(st);
        return rc;
    }
    st->db = db_sqlite_handle(st->conn);

    /* Refuse a newer or foreign database before changing anything in it. */
    int64_t version = 0;
    if ((rc = check_header(st, &version, err)) != IMGSEC_OK ||
        (db_setup(st->conn, NULL) != IMGSEC_OK && (rc = store_derr(st, err, "setting up the connection"))) ||
        (rc = store_sql_build(st, err)) != IMGSEC_OK ||
        (rc = migrate(st, version, err)) != IMGSEC_OK) {
        store_close(st);
        return rc;
    }
    *out = st;
    return IMGSEC_OK;
}

void store_close(store *st)
{
    if (!st)
        return;
    store_vul_bulk_abort(st); /* an open bulk write is undone whole */
    if (st->conn && db_in_transaction(st->conn))
        store_rollback(st);
    store_rematch_unlock(st);
    for (int i = 0; i < STMT_COUNT; i++) {
        db_finalize(st->dstmt[i]);
        free(st->sql[i]);
    }
    store_vul_diff_free(st); /* its statement before the connection */
    db_close(st->conn);
    store_names_forget(st);
    if (st->list_cache_free)
        st->list_cache_free(st->list_cache); /* list.c's name tables */
    free(st);
}

void store_db_display(const char *db, char *out, size_t size)
{
    db_uri_display(db, out, size);
}

bool store_db_is_pg(const char *db)
{
    return db_uri_is_pg(db);
}

bool store_is_pg(const store *st)
{
    return db_backend_of(st->conn) == DB_PG;
}

/* ---- the change log's notifications (PostgreSQL) ---- */

bool store_can_listen(const store *st)
{
    return db_can_listen(st->conn);
}

int store_changes_listen(store *st, imgsec_err *err)
{
    if (db_listen(st->conn, STORE_CHANGES_CHANNEL, NULL) != IMGSEC_OK)
        return store_derr(st, err, "listening for changes");
    return IMGSEC_OK;
}

int store_changes_wait(store *st, int timeout_ms, imgsec_err *err)
{
    int n = 0;
    for (;;) {
        int rc = db_wait_notify(st->conn, n ? 0 : timeout_ms, NULL, 0, NULL, 0, NULL);
        if (rc == DB_DONE)
            return n;
        if (rc != DB_ROW) {
            store_derr(st, err, "waiting for changes");
            return -1;
        }
        n++;
    }
}

int store_listen_socket(const store *st)
{
    return db_socket(st->conn);
}

int64_t store_reconnects(const store *st)
{
    return db_reconnects(st->conn);
}

int64_t store_statements_sent(const store *st)
{
    return db_runs(st->conn);
}

int64_t store_data_version(store *st)
{
    db_stmt *s = store_dstmt(st, STMT_DATA_VERSION, NULL);
    if (!s)
        return -1;
    int64_t v = db_step(s) == DB_ROW ? db_column_int64(s, 0) : -1;
    db_reset(s);
    return v;
}
