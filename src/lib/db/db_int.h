/* db_int.h - what db.c shares with the two drivers, private to src/lib/db.
 *
 * db.c holds the public functions: each checks its arguments once and
 * calls the backend's function through the connection's ops table, so a
 * backend is one file (db_sqlite.c, db_pg.c) filling one table. The
 * connection keeps the class and message of its last failure, set by the
 * drivers when a call fails (db_fail), so db_errclass_of and db_err read
 * the same thing on both engines.
 */
#ifndef IMGSEC_DB_INT_H
#define IMGSEC_DB_INT_H

#include "db/db.h"

#define DB_ERRMSG_MAX 256

typedef struct {
    int (*prepare)(db_conn *c, db_stmt *s, const char *sql, bool persistent);
    void (*finalize)(db_stmt *s);
    void (*bind_null)(db_stmt *s, int i);
    void (*bind_int64)(db_stmt *s, int i, int64_t v);
    void (*bind_double)(db_stmt *s, int i, double v);
    void (*bind_text)(db_stmt *s, int i, const char *v, size_t len);
    void (*bind_blob)(db_stmt *s, int i, const void *v, size_t len);
    int (*step)(db_stmt *s);
    void (*reset)(db_stmt *s);
    void (*stream)(db_stmt *s, int rows); /* NULL: nothing to do */
    void (*clear_bindings)(db_stmt *s);
    db_type (*column_type)(db_stmt *s, int col);
    int64_t (*column_int64)(db_stmt *s, int col);
    double (*column_double)(db_stmt *s, int col);
    const char *(*column_text)(db_stmt *s, int col);
    const void *(*column_blob)(db_stmt *s, int col);
    size_t (*column_bytes)(db_stmt *s, int col);
    int (*exec)(db_conn *c, const char *sql);
    int (*begin_write)(db_conn *c);
    int (*begin_read)(db_conn *c);
    int (*commit)(db_conn *c);
    void (*rollback)(db_conn *c);
    bool (*in_transaction)(db_conn *c);
    int (*schema_header)(db_conn *c, int64_t *version, bool *foreign);
    int (*schema_set_version)(db_conn *c, int version);
    int (*setup)(db_conn *c);
    char *(*ddl)(db_conn *c, const char *sqlite_ddl);
    void (*progress)(db_conn *c, int steps, int (*cb)(void *arg), void *arg);
    const char *table_columns_sql;
    void (*close)(db_conn *c);
    /* LISTEN/NOTIFY: NULL for a backend without them (SQLite) */
    int (*listen)(db_conn *c, const char *channel);
    int (*notify)(db_conn *c, const char *channel, const char *payload);
    int (*wait_notify)(db_conn *c, int timeout_ms, char *channel, size_t channel_size,
                       char *payload, size_t payload_size);
    int (*socket)(const db_conn *c);
} db_ops;

struct db_conn {
    db_backend backend;
    const db_ops *ops;
    char *target;          /* what db_open opened (db_target) */
    void *txn_stmts[4];    /* SQLite: BEGIN, BEGIN IMMEDIATE, COMMIT, ROLLBACK,
                              prepared on first use (db_sqlite.c) */
    void *handle;          /* sqlite3 * or PGconn * */
    db_errclass errclass;  /* of the last failure */
    char errmsg[DB_ERRMSG_MAX];
    int64_t changes;       /* of the last statement run */
    unsigned next_name;    /* PostgreSQL: names of prepared statements */
    /* PostgreSQL: the session a lost connection was replaced by (db_pg.c
     * "Connection loss"): statements prepared in an older generation are
     * prepared again before they run; channels listened to are listened
     * to again. */
    unsigned generation;
    int backoff_ms;        /* wait before the next attempt; 0: none failed */
    int64_t retry_at_ns;   /* no attempt before this (util_mono_ns) */
    int64_t reconnects;    /* successful ones, for tests and logs */
    int64_t runs;          /* PostgreSQL: prepared statements sent (db_runs) */
    bool txn;              /* a transaction was begun and not yet ended: a
                            * loss inside it is not repaired until it is */
    char listens[DB_LISTEN_MAX][DB_CHANNEL_MAX + 1];
    int nlistens;
    /* PostgreSQL: db_progress's callback, asked while a statement runs */
    int (*progress_cb)(void *arg);
    void *progress_arg;
};

struct db_stmt {
    db_conn *c;
    int nparams, ncols;
    void *handle;          /* sqlite3_stmt *, or the driver's own state */
};

/* Records a failure on c; returns DB_ERROR (or IMGSEC_EINTERNAL: both -1
 * and nonzero, callers of the ops test for != 0 / < 0 as documented). */
int db_fail(db_conn *c, db_errclass cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The two drivers: each opens its kind of target, fills c (ops, handle)
 * or records why not in c and returns -1. */
int db_sqlite_open(db_conn *c, const char *path);
int db_pg_open(db_conn *c, const char *uri);

/* Rewrites ?N (and plain ?, numbered as SQLite does: one past the
 * largest so far) to $N outside literals, quoted names and comments,
 * and two SQLite spellings to PostgreSQL's: "a IS b" / "a IS NOT b" to
 * IS [NOT] DISTINCT FROM (IS [NOT] NULL/TRUE/FALSE stay), "WHERE 1" to
 * "WHERE TRUE", the index hints INDEXED BY name and NOT INDEXED dropped;
 * malloc'd, NULL on OOM or a number outside 1..DB_PG_MAX_PARAMS. Marks
 * each number used in used (bit n, may be NULL) and gives the largest in
 * *max_out (may be NULL): SQLite lets a statement skip a number,
 * PostgreSQL must be told the type of one it skipped. */
#define DB_PG_MAX_PARAMS 65535
char *db_pg_placeholders(const char *sql, unsigned char used[DB_PG_MAX_PARAMS / 8 + 1], int *max_out);
/* db_ddl's PostgreSQL translation (db_pg_ddl.c); malloc'd, NULL with
 * *why set (static text) on a form it does not know or OOM. */
char *db_pg_translate_ddl(const char *sql, const char **why);

#endif
