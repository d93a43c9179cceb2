/* db_sqlite.c - the SQLite driver of db.h: libsqlite3 as the store has
 * always used it.
 *
 * Opening creates a missing file 0600 whatever the umask (SQLite would
 * make it 0644 less the umask, and its -wal and -shm follow the file's
 * mode), with extended result codes and a busy timeout, so writers wait
 * for each other instead of failing. Nothing in the file changes until
 * db_setup: the caller first reads the header (db_schema_header) and
 * refuses a newer or foreign database untouched.
 *
 * A full disk is DB_EFULL whatever way SQLite says it: SQLITE_FULL (a
 * write that hit ENOSPC), or an I/O error whose errno is ENOSPC or EDQUOT
 * (an fsync, a WAL or -shm extension).
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db_int.h"
#include "imgsec/util.h"

#define SQ(c) ((sqlite3 *)(c)->handle)
#define ST(s) ((sqlite3_stmt *)(s)->handle)

/* Records the connection's current SQLite error on c. */
static int sq_fail(db_conn *c)
{
    sqlite3 *db = SQ(c);
    int rc = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
    db_errclass cls;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: cls = DB_EUNIQUE; break;
    case SQLITE_CONSTRAINT_FOREIGNKEY: cls = DB_EFOREIGN; break;
    default:
        switch (rc & 0xff) {
        case SQLITE_CONSTRAINT: cls = DB_ECONSTRAINT; break;
        case SQLITE_FULL: cls = DB_EFULL; break;
        case SQLITE_IOERR: cls = sys == ENOSPC || sys == EDQUOT ? DB_EFULL : DB_EOTHER; break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED: cls = DB_EBUSY; break;
        default: cls = DB_EOTHER; break;
        }
    }
    return db_fail(c, cls, "%s", sqlite3_errmsg(db));
}

static int create_private(db_conn *c, const char *path)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        return db_fail(c, errno == ENOSPC || errno == EDQUOT ? DB_EFULL : DB_EOTHER,
                       "cannot create %s: %s", path, strerror(errno));
    }
    int rc = fchmod(fd, 0600) == 0 ? 0 : db_fail(c, DB_EOTHER, "cannot set the mode of %s: %s", path,
                                                  strerror(errno));
    close(fd);
    return rc;
}

static int sq_prepare(db_conn *c, db_stmt *s, const char *sql, bool persistent)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(SQ(c), sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(st);
        return sq_fail(c);
    }
    if (!st) /* only a comment or white space */
        return db_fail(c, DB_EOTHER, "no statement in the SQL");
    s->handle = st;
    s->nparams = sqlite3_bind_parameter_count(st);
    s->ncols = sqlite3_column_count(st);
    return 0;
}

static void sq_finalize(db_stmt *s) { sqlite3_finalize(ST(s)); }
static void sq_bind_null(db_stmt *s, int i) { sqlite3_bind_null(ST(s), i); }
static void sq_bind_int64(db_stmt *s, int i, int64_t v) { sqlite3_bind_int64(ST(s), i, v); }
static void sq_bind_double(db_stmt *s, int i, double v) { sqlite3_bind_double(ST(s), i, v); }

static void sq_bind_text(db_stmt *s, int i, const char *v, size_t len)
{
    sqlite3_bind_text64(ST(s), i, v, len, SQLITE_STATIC, SQLITE_UTF8);
}

static void sq_bind_blob(db_stmt *s, int i, const void *v, size_t len)
{
    sqlite3_bind_blob64(ST(s), i, v, len, SQLITE_STATIC);
}

static int sq_step(db_stmt *s)
{
    int rc = sqlite3_step(ST(s));
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        s->c->changes = sqlite3_changes64(SQ(s->c));
        return DB_DONE;
    }
    return sq_fail(s->c);
}

static void sq_reset(db_stmt *s) { sqlite3_reset(ST(s)); }
static void sq_clear_bindings(db_stmt *s) { sqlite3_clear_bindings(ST(s)); }

static db_type sq_column_type(db_stmt *s, int col)
{
    switch (sqlite3_column_type(ST(s), col)) {
    case SQLITE_INTEGER: return DB_INT;
    case SQLITE_FLOAT: return DB_FLOAT;
    case SQLITE_TEXT: return DB_TEXT;
    case SQLITE_BLOB: return DB_BLOB;
    default: return DB_NULL;
    }
}

static int64_t sq_column_int64(db_stmt *s, int col) { return sqlite3_column_int64(ST(s), col); }
static double sq_column_double(db_stmt *s, int col) { return sqlite3_column_double(ST(s), col); }

static const char *sq_column_text(db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(ST(s), col);
}

static const void *sq_column_blob(db_stmt *s, int col) { return sqlite3_column_blob(ST(s), col); }

static size_t sq_column_bytes(db_stmt *s, int col)
{
    int n = sqlite3_column_bytes(ST(s), col);
    return n > 0 ? (size_t)n : 0;
}

static int sq_exec(db_conn *c, const char *sql)
{
    if (sqlite3_exec(SQ(c), sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(c);
    c->changes = sqlite3_changes64(SQ(c));
    return 0;
}

int db_cache_flush(db_conn *c, imgsec_err *err)
{
    if (db_backend_of(c) != DB_SQLITE)
        return IMGSEC_OK;
    if (sqlite3_db_cacheflush(SQ(c)) != SQLITE_OK) {
        sq_fail(c);
        return db_err(c, err, "writing the cached pages out");
    }
    return IMGSEC_OK;
}

/* The transaction statements, prepared once per connection: a rematch
 * begins and ends a read transaction per image, and sqlite3_exec parses
 * its text every time (docs/performance.md "Vulnerability database"). */
enum { TXN_BEGIN, TXN_BEGIN_IMMEDIATE, TXN_COMMIT, TXN_ROLLBACK };
static const char *const TXN_SQL[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};

static int sq_txn(db_conn *c, int which)
{
    sqlite3_stmt *s = c->txn_stmts[which];
    if (!s && sqlite3_prepare_v2(SQ(c), TXN_SQL[which], -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return sq_fail(c);
    }
    c->txn_stmts[which] = s;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(c);
    c->changes = sqlite3_changes64(SQ(c));
    return 0;
}

/* BEGIN IMMEDIATE waits (busy timeout) for other writers. */
static int sq_begin_write(db_conn *c) { return sq_txn(c, TXN_BEGIN_IMMEDIATE); }
/* The first read fixes the snapshot. */
static int sq_begin_read(db_conn *c) { return sq_txn(c, TXN_BEGIN); }
static int sq_commit(db_conn *c) { return sq_txn(c, TXN_COMMIT); }
static bool sq_in_transaction(db_conn *c) { return !sqlite3_get_autocommit(SQ(c)); }

static void sq_rollback(db_conn *c)
{
    if (!sqlite3_get_autocommit(SQ(c)))
        (void)sq_txn(c, TXN_ROLLBACK);
}

/* The schema version, application id and number of schema objects, read
 * by one statement so they come from one snapshot even while another
 * process is creating the schema. */
static int sq_schema_header(db_conn *c, int64_t *version, bool *foreign)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(SQ(c),
                           "SELECT (SELECT user_version FROM pragma_user_version), "
                           "(SELECT application_id FROM pragma_application_id), "
                           "(SELECT count(*) FROM sqlite_master)",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        sq_fail(c);
        sqlite3_finalize(s);
        return DB_ERROR;
    }
    *version = sqlite3_column_int64(s, 0);
    int64_t app_id = sqlite3_column_int64(s, 1), objects = sqlite3_column_int64(s, 2);
    sqlite3_finalize(s);
    *foreign = (*version > 0 || objects > 0) && app_id != DB_APPLICATION_ID;
    return 0;
}

static int sq_schema_set_version(db_conn *c, int version)
{
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d", version,
             DB_APPLICATION_ID);
    return sq_exec(c, sql);
}

/* One attempt at PRAGMA journal_mode = WAL: the SQLite result code, and
 * *ok when the mode is WAL (or "memory" for an in-memory database). */
static int try_journal_wal(db_conn *c, bool *ok)
{
    sqlite3_stmt *s = NULL;
    *ok = false;
    int rc = sqlite3_prepare_v2(SQ(c), "PRAGMA journal_mode = WAL", -1, &s, NULL);
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
static int sq_setup(db_conn *c)
{
    int64_t deadline = util_mono_ns() + (int64_t)DB_BUSY_TIMEOUT_MS * 1000000;
    unsigned delay_us = 1000;
    for (;;) {
        bool ok;
        int rc = try_journal_wal(c, &ok);
        if (rc == SQLITE_ROW) {
            if (!ok)
                return db_fail(c, DB_EOTHER, "cannot switch the database to WAL mode");
            break;
        }
        if ((rc & 0xff) != SQLITE_BUSY || util_mono_ns() > deadline)
            return sq_fail(c);
        struct timespec ts = {0, (long)delay_us * 1000};
        nanosleep(&ts, NULL);
        if (delay_us < 50000)
            delay_us *= 2;
    }
    return sq_exec(c, "PRAGMA synchronous = NORMAL;"
                      "PRAGMA foreign_keys = ON;"
                      "PRAGMA cache_size = -16384;");
}

static char *sq_ddl(db_conn *c, const char *sql)
{
    char *s = strdup(sql);
    if (!s)
        db_fail(c, DB_EOTHER, "out of memory");
    return s;
}

static void sq_progress(db_conn *c, int steps, int (*cb)(void *arg), void *arg)
{
    sqlite3_progress_handler(SQ(c), cb ? steps : 0, cb, cb ? arg : NULL);
}

static void sq_close(db_conn *c)
{
    for (size_t i = 0; i < sizeof c->txn_stmts / sizeof c->txn_stmts[0]; i++) {
        sqlite3_finalize(c->txn_stmts[i]);
        c->txn_stmts[i] = NULL;
    }
    sqlite3_close(SQ(c));
}

static const db_ops SQLITE_OPS = {
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_null = sq_bind_null,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .step = sq_step,
    .reset = sq_reset,
    .clear_bindings = sq_clear_bindings,
    .column_type = sq_column_type,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .column_bytes = sq_column_bytes,
    .exec = sq_exec,
    .begin_write = sq_begin_write,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .schema_header = sq_schema_header,
    .schema_set_version = sq_schema_set_version,
    .setup = sq_setup,
    .ddl = sq_ddl,
    .progress = sq_progress,
    .table_columns_sql = "SELECT name FROM pragma_table_info(?1)",
    .close = sq_close,
};

int db_sqlite_open(db_conn *c, const char *path)
{
    sqlite3 *db = NULL;
    if (create_private(c, path) != 0)
        return DB_ERROR;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        db_fail(c, DB_EOTHER, "%s", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return DB_ERROR;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
    c->backend = DB_SQLITE;
    c->ops = &SQLITE_OPS;
    c->handle = db;
    return 0;
}
