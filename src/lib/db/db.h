/* db.h - the database driver under the store: one small interface, two
 * backends (SQLite through libsqlite3, PostgreSQL through libpq).
 *
 * The store keeps one copy of its logic and of its SQL (src/lib/store);
 * what the two engines do differently lives behind this interface and
 * nowhere else (docs/design.md "One store, two engines"):
 *
 *  - opening: db_open takes a file path (SQLite) or a postgres:// or
 *    postgresql:// URI (libpq);
 *  - statements: SQL is written once with SQLite's numbered placeholders
 *    ?1, ?2 (or plain ?, numbered in order); the PostgreSQL driver
 *    rewrites them to $1, $2 outside string literals, quoted names and
 *    comments. The interface is SQLite's step model: bind, step until
 *    DB_DONE, read columns of the current row, reset;
 *  - errors: the last error of a connection is classified once
 *    (db_errclass: unique or foreign-key violation, full disk, busy, lost
 *    connection), so callers map a constraint violation to the same
 *    imgsec error on both engines;
 *  - what differs in kind: the schema version (PRAGMA user_version vs a
 *    table), DDL types (AUTOINCREMENT vs identity, BLOB vs BYTEA, INTEGER
 *    vs BIGINT), how a write transaction excludes other writers (BEGIN
 *    IMMEDIATE vs a transaction-scoped advisory lock).
 *
 * A connection and its statements belong to one thread at a time.
 *
 * Connection loss (PostgreSQL): a call that finds the connection lost
 * fails with DB_ECONN, and db_err gives IMGSEC_EUNAVAILABLE (503 with
 * Retry-After at the server); the connection is then made again by the
 * driver itself, at the next call outside a transaction, with a backoff
 * between failed attempts (DB_RECONNECT_MIN_MS doubling up to
 * DB_RECONNECT_MAX_MS; a call before the next attempt is due fails at
 * once). Statements prepared before the loss stay valid: each is
 * prepared again on the new session before it runs. A transaction open
 * when the connection was lost is gone: its calls fail until the caller
 * rolls back, as after any failure. A lost idle connection is noticed
 * before a statement is sent (a non-blocking read of the socket), so
 * after the server came back the next call simply works.
 */
#ifndef IMGSEC_DB_H
#define IMGSEC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"

typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

typedef enum { DB_SQLITE, DB_PG } db_backend;

/* db_step's results. */
enum { DB_ERROR = -1, DB_DONE = 0, DB_ROW = 1 };

/* A column's type in the current row (NULL whatever the declared type). */
typedef enum { DB_NULL, DB_INT, DB_FLOAT, DB_TEXT, DB_BLOB } db_type;

/* What the last failure of a connection was, the same on both engines. */
typedef enum {
    DB_EOK,
    DB_EUNIQUE,     /* UNIQUE or PRIMARY KEY violated (SQLSTATE 23505) */
    DB_EFOREIGN,    /* FOREIGN KEY violated (23503) */
    DB_ECONSTRAINT, /* another constraint: NOT NULL, CHECK (23xxx) */
    DB_EFULL,       /* the disk or quota is full (SQLITE_FULL, ENOSPC, 53100) */
    DB_EBUSY,       /* another writer held the lock past the timeout */
    DB_ECONN,       /* the connection to the server is lost (08xxx, 57P0x) */
    DB_ENOTSUP,     /* the backend has no such feature (LISTEN/NOTIFY on SQLite) */
    DB_EOTHER,
} db_errclass;

/* Is uri a PostgreSQL one (postgres:// or postgresql://)? */
bool db_uri_is_pg(const char *uri);

/* uri as it may be shown (logs, errors): a PostgreSQL URI with its
 * password replaced by "***" (in user:password@ and in password=); a
 * file path as it is. Truncated to size. */
void db_uri_display(const char *uri, char *out, size_t size);

/* Opens uri: a PostgreSQL URI, else a SQLite file path (created 0600 if
 * absent; ":memory:" and "file:" URIs as SQLite takes them). Changes
 * nothing in the database (see db_setup). The message of a failure never
 * carries the URI's password. */
int db_open(const char *uri, db_conn **out, imgsec_err *err);
/* Rolls back an open transaction, finalizes nothing (the caller's
 * statements must be finalized first), closes. NULL is a no-op. */
void db_close(db_conn *c);
db_backend db_backend_of(const db_conn *c);
/* The path or URI c was opened with, for opening more connections to
 * the same database (the rematch's readers); NULL when another
 * connection would not reach it (SQLite's ":memory:" and "file:" URIs).
 * It may carry a password: never shown (db_uri_display). */
const char *db_target(const db_conn *c);
/* The SQLite handle of a SQLite connection (of a statement), NULL for
 * another backend: for tests that reach under the store (the store
 * itself runs through this interface only). */
struct sqlite3 *db_sqlite_handle(db_conn *c);
struct sqlite3_stmt *db_sqlite_stmt(db_stmt *s);
/* Inside a write transaction, writes the connection's dirty cached pages
 * out (SQLite: sqlite3_db_cacheflush, to the WAL; nothing is committed),
 * so that a savepoint begun next finds none of them to journal when it
 * spills them (store.c, the savepoints of a bulk write). A no-op on
 * another backend and outside a write transaction. */
int db_cache_flush(db_conn *c, imgsec_err *err);

/* ---- statements ---- */

/* Prepares sql (one statement). NULL with err set ("db: <what>: <the
 * engine's message>") on failure. persistent: run many times over the
 * life of the connection (a hint to SQLite; on PostgreSQL a server-side
 * prepared statement). A statement that is not persistent is, on
 * PostgreSQL, sent whole at each run (one round trip, not four): its SQL
 * is checked there at its first step, which fails (DB_ERROR) if it does
 * not compile, and db_column_count is 0 until that step. */
db_stmt *db_prepare(db_conn *c, const char *sql, bool persistent, const char *what, imgsec_err *err);
void db_finalize(db_stmt *s);
int db_param_count(const db_stmt *s);

/* Parameters are 1-based. Text and blobs are copied by the PostgreSQL
 * driver and must stay alive until the next step for SQLite (static). */
void db_bind_null(db_stmt *s, int i);
void db_bind_int64(db_stmt *s, int i, int64_t v);
void db_bind_double(db_stmt *s, int i, double v);
/* len < 0: up to the NUL. */
void db_bind_text(db_stmt *s, int i, const char *v, int len);
void db_bind_blob(db_stmt *s, int i, const void *v, size_t len);

/* DB_ROW (a row is current), DB_DONE, or DB_ERROR (see db_errclass,
 * db_err). The PostgreSQL driver runs the statement at the first step
 * after a reset and keeps its whole result. */
int db_step(db_stmt *s);
/* From the next run on, s reads its rows in batches of `rows` (> 0): on
 * PostgreSQL its run declares a cursor in the caller's transaction
 * (needed: outside one the step fails) and each batch is one FETCH, so a
 * walk over a whole table holds one batch in memory, not the table; any
 * number of such statements may be open at once on one connection. 0:
 * back to whole results. SQLite steps row by row anyway and ignores it. */
void db_stream(db_stmt *s, int rows);
/* Ends the current run; bindings are kept until db_clear_bindings. */
void db_reset(db_stmt *s);
void db_clear_bindings(db_stmt *s);

/* Columns of the current row, 0-based; valid until the next step or
 * reset. Text is NUL-terminated (NULL for a NULL column). The count is
 * known from the prepare, or (PostgreSQL, not persistent) from the first
 * step on. */
int db_column_count(const db_stmt *s);
db_type db_column_type(db_stmt *s, int col);
int64_t db_column_int64(db_stmt *s, int col);
double db_column_double(db_stmt *s, int col);
const char *db_column_text(db_stmt *s, int col);
const void *db_column_blob(db_stmt *s, int col);
/* Bytes of the text or blob of column col (0 for NULL). */
size_t db_column_bytes(db_stmt *s, int col);

/* Calls cb(arg) while a statement runs, on the calling thread: SQLite
 * about every steps virtual-machine steps, PostgreSQL about every 20 ms
 * while it waits for the server's answer; a non-zero return interrupts
 * the statement (SQLite's interrupt; PostgreSQL's cancel request, so the
 * server stops working on it) and its step fails (DB_ERROR; the
 * transaction is then to be rolled back). cb NULL: off. */
void db_progress(db_conn *c, int steps, int (*cb)(void *arg), void *arg);

/* Rows inserted, changed or deleted by the last statement run. */
int64_t db_changes(db_conn *c);

/* ---- bulk insert: PostgreSQL's COPY ---- */

/* COPY table (cols) FROM STDIN, in the caller's transaction: rows are
 * written field by field (text format, escaped here) and sent in blocks
 * of about 64 KiB, so a row costs no round trip. No other statement may
 * run on the connection until db_copy_end. PostgreSQL only: on SQLite
 * (where a prepared INSERT is as fast) db_copy_begin returns NULL with
 * IMGSEC_ENOTFOUND. table and cols are SQL text from the caller's own
 * tables, never input. */
typedef struct db_copy db_copy;
db_copy *db_copy_begin(db_conn *c, const char *table, const char *cols, imgsec_err *err);
void db_copy_null(db_copy *k);
void db_copy_int64(db_copy *k, int64_t v);
void db_copy_double(db_copy *k, double v);
void db_copy_text(db_copy *k, const char *v, size_t len);
/* Ends the current row; IMGSEC_OK, or the error of a failed send. */
int db_copy_row(db_copy *k, imgsec_err *err);
/* Ends the COPY and frees k: with ok, sends the rest and takes the
 * server's verdict (a constraint violated by any row fails it here);
 * without, cancels it (nothing of it is stored; the transaction is then
 * aborted, as after any failed statement). */
int db_copy_end(db_copy *k, bool ok, imgsec_err *err);

/* ---- SQL text, transactions ---- */

/* Runs SQL without results: several statements separated by ';'. */
int db_exec(db_conn *c, const char *sql, const char *what, imgsec_err *err);
/* A write transaction: waits (up to the busy timeout) until no other
 * writer of the same database holds one, on both engines, so a write
 * sees everything committed before it began. */
int db_begin_write(db_conn *c, imgsec_err *err);
/* A read transaction: one snapshot until commit or rollback. */
int db_begin_read(db_conn *c, imgsec_err *err);
/* COMMIT; rolls back when the commit fails. */
int db_commit(db_conn *c, imgsec_err *err);
/* ROLLBACK if a transaction is open. */
void db_rollback(db_conn *c);
bool db_in_transaction(db_conn *c);

/* A lock of the session, not of a transaction, on key (a number of the
 * caller's, other than DB_APPLICATION_ID, which write transactions take):
 * PostgreSQL's pg_try_advisory_lock. *got says whether this connection
 * now holds it; it is held until db_unlock_session or the end of the
 * session (a closed or lost connection, a node killed: the server frees
 * it). A reconnection (db_reconnects) therefore means it is no longer
 * held. SQLite: *got is true and nothing is taken (one file, one
 * server). Outside a transaction. */
int db_lock_session_try(db_conn *c, int64_t key, bool *got, imgsec_err *err);
void db_unlock_session(db_conn *c, int64_t key);

/* ---- errors ---- */

db_errclass db_errclass_of(db_conn *c);
const char *db_errmsg(db_conn *c);
/* Fills err from the connection's last failure: "db: <what>: <message>",
 * IMGSEC_ENOSPACE for a full disk, IMGSEC_EINTERNAL otherwise (a caller
 * that expects a constraint violation checks db_errclass_of first).
 * Returns the code. */
int db_err(db_conn *c, imgsec_err *err, const char *what);

/* ---- what differs in kind ---- */

/* The schema version the database records (0: none yet) and whether it
 * holds things that are not an imgsec database's (*foreign). Reads only. */
int db_schema_header(db_conn *c, int64_t *version, bool *foreign, imgsec_err *err);
/* Records version (and, for SQLite, the application id) in the caller's
 * write transaction. */
int db_schema_set_version(db_conn *c, int version, imgsec_err *err);
/* Per-connection settings, after db_schema_header has accepted the
 * database: SQLite's WAL mode and pragmas; nothing for PostgreSQL. */
int db_setup(db_conn *c, imgsec_err *err);
/* The DDL of the store (written in SQLite's dialect) in this backend's:
 * a malloc'd copy for SQLite; for PostgreSQL INTEGER becomes BIGINT, an
 * INTEGER PRIMARY KEY (AUTOINCREMENT) an identity column, REAL DOUBLE
 * PRECISION, BLOB BYTEA, TEXT is TEXT COLLATE "C" (text sorts by its
 * bytes, as in SQLite, whatever the cluster's locale), WITHOUT ROWID and
 * PRAGMA statements go, a table that SQLite keys by a hidden rowid (no
 * INTEGER PRIMARY KEY, not WITHOUT ROWID) gets an explicit last column
 * "rowid BIGINT GENERATED BY DEFAULT AS IDENTITY" (so SQL that orders or
 * finds rows by rowid runs on both engines), and a
 * trigger "CREATE TRIGGER t AFTER op ON tab BEGIN body; END" becomes a
 * plpgsql function and a FOR EACH ROW trigger. NULL with err set. */
char *db_ddl(db_conn *c, const char *sqlite_ddl, imgsec_err *err);

/* ---- connection loss ---- */

/* Reconnections the connection made so far (0 for SQLite). */
int64_t db_reconnects(const db_conn *c);
/* PostgreSQL: prepared statements the connection sent to the server so
 * far, each one round trip (a test's count of round trips); 0 on SQLite. */
int64_t db_runs(const db_conn *c);

/* ---- LISTEN/NOTIFY (PostgreSQL only) ----
 *
 * On SQLite each of these fails with IMGSEC_EINVAL "db: LISTEN/NOTIFY
 * needs PostgreSQL" and db_errclass_of(c) == DB_ENOTSUP; db_can_listen
 * tells beforehand. A channel is 1 to DB_CHANNEL_MAX of [a-z0-9_],
 * starting with a letter (anything else: IMGSEC_EINVAL, nothing sent). */
bool db_can_listen(const db_conn *c);
/* LISTEN channel on this connection (at most DB_LISTEN_MAX channels);
 * after a reconnection the driver listens again by itself. */
int db_listen(db_conn *c, const char *channel, imgsec_err *err);
/* pg_notify(channel, payload): inside the caller's transaction it is
 * delivered at commit, and not at all on rollback. payload may be NULL
 * (""); at most DB_PAYLOAD_MAX bytes. */
int db_notify(db_conn *c, const char *channel, const char *payload, imgsec_err *err);
/* Waits up to timeout_ms (0: only what already arrived) for a
 * notification on a channel this connection listens to, outside a
 * transaction. DB_ROW with channel and payload copied (truncated to the
 * sizes; either may be NULL), DB_DONE at the timeout, DB_ERROR with err
 * set. Notifications sent while the connection was lost are lost: after
 * a DB_ERROR (or any reconnection, db_reconnects) a follower must read
 * the state it follows again rather than wait for a notification. */
int db_wait_notify(db_conn *c, int timeout_ms, char *channel, size_t channel_size,
                   char *payload, size_t payload_size, imgsec_err *err);

/* The socket of a PostgreSQL connection, for a caller that waits for
 * notifications together with other descriptors: poll(2) it for POLLIN,
 * then db_wait_notify(c, 0, ...) takes what arrived (and notices a lost
 * connection). -1 when the connection is lost (a later db_wait_notify
 * makes it again: the socket may then differ) or on SQLite. */
int db_socket(const db_conn *c);

#define DB_CHANNEL_MAX 63
#define DB_LISTEN_MAX 8
#define DB_PAYLOAD_MAX 7999
#define DB_RECONNECT_MIN_MS 50
#define DB_RECONNECT_MAX_MS 2000
/* Retry-After (seconds) of an answer to a lost connection: the longest
 * backoff, rounded up. */
#define DB_RETRY_AFTER_S 2

/* A query taking a table's name as ?1 and giving the name of each of its
 * columns, one per row (none: no such table); SQLite's table_info, or
 * PostgreSQL's pg_attribute for the table the search path finds. A rowid
 * column the PostgreSQL DDL adds (db_ddl) is listed there. */
const char *db_sql_table_columns(db_conn *c);

/* The application id SQLite's header carries ("imgs"). */
#define DB_APPLICATION_ID 0x696d6773
/* Milliseconds a writer waits for another one before DB_EBUSY. */
#define DB_BUSY_TIMEOUT_MS 10000

#endif
