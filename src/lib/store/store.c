/* store.c - the connection: open, pragmas, migrations, transactions and
 * the statement cache of the SQLite store.
 *
 * Opening is safe when several processes open a new file at once (the
 * server starting while the CLI adds the first user): the schema version
 * is read once cheaply, and if the file needs migrating it is read again
 * inside BEGIN IMMEDIATE, so exactly one process creates the schema and
 * the others find it done. Writers wait for each other up to the busy
 * timeout instead of failing.
 *
 * Cached statements are prepared once per handle and reset at the end of
 * every transaction, so a forgotten reset can never pin an old WAL
 * snapshot (which would make a reader answer from stale state).
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/util.h"
#include "store_int.h"

/* A full disk is IMGSEC_ENOSPACE, whatever way SQLite says it: SQLITE_FULL
 * (a write that hit ENOSPC), or an I/O error whose errno is ENOSPC or
 * EDQUOT (an fsync, a WAL or -shm extension). */
static atomic_llong db_errors; /* store_dberr calls, process-wide (store_db_errors) */

int64_t store_db_errors(void)
{
    return (int64_t)atomic_load_explicit(&db_errors, memory_order_relaxed);
}

int store_dberr(store *st, imgsec_err *err, const char *what)
{
    atomic_fetch_add_explicit(&db_errors, 1, memory_order_relaxed);
    if (!st || !st->db)
        return err_set(err, IMGSEC_EINTERNAL, "store: %s: no database", what);
    int rc = sqlite3_extended_errcode(st->db), sys = sqlite3_system_errno(st->db);
    bool full = (rc & 0xff) == SQLITE_FULL ||
                ((rc & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT));
    return err_set(err, full ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL, "store: %s: %s", what,
                   sqlite3_errmsg(st->db));
}

sqlite3_stmt *store_prepare(store *st, const char *sql, const char *what, imgsec_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        store_dberr(st, err, what);
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

sqlite3_stmt *store_stmt(store *st, stmt_id id, imgsec_err *err)
{
    if (!st->stmt[id] &&
        sqlite3_prepare_v3(st->db, st->sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL) !=
            SQLITE_OK) {
        store_dberr(st, err, "preparing a statement");
        st->stmt[id] = NULL;
        return NULL;
    }
    return st->stmt[id];
}

int store_exec(store *st, const char *sql, const char *what, imgsec_err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_dberr(st, err, what);
    return IMGSEC_OK;
}

static void reset_all(store *st)
{
    for (int i = 0; i < STMT_COUNT; i++)
        if (st->stmt[i]) {
            sqlite3_reset(st->stmt[i]);
            sqlite3_clear_bindings(st->stmt[i]);
        }
}

/* The savepoint of a write inside a bulk write (store_vul_bulk.c). */
#define BULK_PART "SAVEPOINT store_bulk_part"

int store_write_begin(store *st, imgsec_err *err)
{
    if (st->bulk)
        return store_exec(st, BULK_PART, "starting a write", err);
    return store_exec(st, "BEGIN IMMEDIATE", "starting a write transaction", err);
}

int store_read_begin(store *st, imgsec_err *err)
{
    return store_exec(st, "BEGIN", "starting a read transaction", err);
}

int store_commit(store *st, imgsec_err *err)
{
    reset_all(st);
    if (st->bulk) {
        if (sqlite3_exec(st->db, "RELEASE store_bulk_part", NULL, NULL, NULL) != SQLITE_OK) {
            int rc = store_dberr(st, err, "committing");
            store_rollback(st);
            return rc;
        }
        return IMGSEC_OK;
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = store_dberr(st, err, "committing");
        store_rollback(st);
        return rc;
    }
    return IMGSEC_OK;
}

void store_rollback(store *st)
{
    reset_all(st);
    if (st->bulk) {
        /* fails harmlessly when no savepoint is open */
        if (sqlite3_exec(st->db, "ROLLBACK TO store_bulk_part", NULL, NULL, NULL) == SQLITE_OK)
            sqlite3_exec(st->db, "RELEASE store_bulk_part", NULL, NULL, NULL);
        return;
    }
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- open and migrate ---- */

/* One attempt at PRAGMA journal_mode = WAL: the SQLite result code, and
 * *ok when the mode is WAL (or "memory" for an in-memory database). */
static int try_journal_wal(store *st, bool *ok)
{
    sqlite3_stmt *s = NULL;
    *ok = false;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(s, 0);
        *ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    }
    sqlite3_finalize(s);
    return rc;
}

/* Switching a new file to WAL needs an exclusive lock, and SQLite does
 * not call the busy handler when another process opening the same new
 * file holds a shared lock meanwhile (it would deadlock), so this retries
 * on its own until the busy timeout. */
static int set_journal_wal(store *st, imgsec_err *err)
{
    int64_t deadline = util_mono_ns() + (int64_t)STORE_BUSY_TIMEOUT_MS * 1000000;
    unsigned delay_us = 1000;
    for (;;) {
        bool ok;
        int rc = try_journal_wal(st, &ok);
        if (rc == SQLITE_ROW)
            return ok ? IMGSEC_OK
                      : err_set(err, IMGSEC_EINTERNAL, "store: cannot switch the database to WAL mode");
        if ((rc & 0xff) != SQLITE_BUSY || util_mono_ns() > deadline)
            return store_dberr(st, err, "switching to WAL mode");
        struct timespec ts = {0, (long)delay_us * 1000};
        nanosleep(&ts, NULL);
        if (delay_us < 50000)
            delay_us *= 2;
    }
}

/* The schema version, application id and number of schema objects, read
 * by one statement so they come from one snapshot even while another
 * process is creating the schema. */
static int read_header(store *st, int64_t *version, int64_t *app_id, int64_t *objects,
                       imgsec_err *err)
{
    sqlite3_stmt *s = store_prepare(st,
                                    "SELECT (SELECT user_version FROM pragma_user_version), "
                                    "(SELECT application_id FROM pragma_application_id), "
                                    "(SELECT count(*) FROM sqlite_master)",
                                    "reading the database header", err);
    if (!s)
        return IMGSEC_EINTERNAL;
    if (sqlite3_step(s) != SQLITE_ROW) {
        store_dberr(st, err, "reading the database header");
        sqlite3_finalize(s);
        return IMGSEC_EINTERNAL;
    }
    *version = sqlite3_column_int64(s, 0);
    *app_id = sqlite3_column_int64(s, 1);
    *objects = sqlite3_column_int64(s, 2);
    sqlite3_finalize(s);
    return IMGSEC_OK;
}

/* Reads the header and refuses files this program must not touch: made
 * by a newer imgsec, or not an imgsec database at all. */
static int check_header(store *st, int64_t *version, imgsec_err *err)
{
    int64_t app_id = 0, objects = 0;
    int rc = read_header(st, version, &app_id, &objects, err);
    if (rc != IMGSEC_OK)
        return rc;
    if ((*version > 0 || objects > 0) && app_id != STORE_APPLICATION_ID)
        return err_set(err, IMGSEC_EINTERNAL, "store: the file is not an imgsec database");
    if (*version > STORE_SCHEMA_VERSION)
        return err_set(err, IMGSEC_EINTERNAL,
                       "store: the database has schema version %lld, newer than the %d this "
                       "imgsec supports; upgrade imgsec",
                       (long long)*version, STORE_SCHEMA_VERSION);
    return IMGSEC_OK;
}

/* version is what store_open's check_header read without a lock. */
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
        char *sql = store_schema_step(v, err);
        if (!sql) {
            rc = IMGSEC_EINTERNAL;
            goto fail;
        }
        rc = store_exec(st, sql, "migrating the schema", err);
        free(sql);
        if (rc != IMGSEC_OK)
            goto fail;
    }
    if (version < STORE_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if ((rc = store_exec(st, sql, "migrating the schema", err)) != IMGSEC_OK)
            goto fail;
    }
    if ((rc = store_schema_reconcile(st, &diffs, err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

/* Creates the database file 0600 whatever the umask, when it does not
 * exist yet: SQLite would make it 0644 less the umask, and it makes -wal
 * and -shm with the mode of the database file, so those follow. An
 * existing file keeps its mode (imgsecd warns about an open one). */
static int create_private(const char *path, imgsec_err *err)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return IMGSEC_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return IMGSEC_OK;
        return err_set(err, errno == ENOSPC || errno == EDQUOT ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                       "store: cannot create the database %s: %s", path, strerror(errno));
    }
    int rc = fchmod(fd, 0600) == 0 ? IMGSEC_OK
                                   : err_set(err, IMGSEC_EINTERNAL,
                                             "store: cannot set the mode of %s: %s", path,
                                             strerror(errno));
    close(fd);
    return rc;
}

int store_open(const char *path, store **out, imgsec_err *err)
{
    int rc;
    *out = NULL;
    if (!path || !*path)
        return err_set(err, IMGSEC_EINVAL, "store: no database path");
    if ((rc = create_private(path, err)) != IMGSEC_OK)
        return rc;
    store *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        rc = err_set(err, IMGSEC_EINTERNAL, "store: cannot open the database: %s",
                     st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);

    /* Refuse a newer or foreign database before changing anything in it. */
    int64_t version = 0;
    if ((rc = check_header(st, &version, err)) != IMGSEC_OK ||
        (rc = set_journal_wal(st, err)) != IMGSEC_OK ||
        (rc = store_exec(st,
                         "PRAGMA synchronous = NORMAL;"
                         "PRAGMA foreign_keys = ON;"
                         "PRAGMA cache_size = -16384;",
                         "setting pragmas", err)) != IMGSEC_OK ||
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
    if (st->db && !sqlite3_get_autocommit(st->db))
        store_rollback(st);
    for (int i = 0; i < STMT_COUNT; i++) {
        if (st->stmt[i])
            sqlite3_finalize(st->stmt[i]);
        free(st->sql[i]);
    }
    if (st->db)
        sqlite3_close(st->db);
    store_vul_diff_free(st);
    free(st);
}

int64_t store_data_version(store *st)
{
    sqlite3_stmt *s = store_stmt(st, STMT_DATA_VERSION, NULL);
    if (!s)
        return -1;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return v;
}
