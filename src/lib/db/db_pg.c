/* db_pg.c - the PostgreSQL driver of db.h, through libpq.
 *
 * A persistent statement (the store's cached ones, run again and again)
 * is a server-side prepared statement (PQprepare, named imgsec_<n> per
 * connection); any other runs as one message of the extended protocol
 * (PQexecParams: parse, bind, describe and execute in one round trip,
 * where preparing, describing, running and DEALLOCATE took four): a
 * list's query is built for one request and run once, so a list answer
 * of a dozen statements took some 40 round trips. Such a statement's
 * SQL is checked by the server at its first run, and its column count
 * is known from then on. The SQL is the store's with ?N rewritten to
 * $N (db_pg_sql.c); parameters go as text, blobs as binary, and results
 * come back as text, converted on read (integers by strtoll, BYTEA
 * unescaped once per row and column). A step runs the statement on its
 * first call after a reset and keeps the whole result, then walks it row
 * by row: the store reads small results this way (a user, a token, a
 * page of a list). A statement marked with db_stream (the index build's
 * walk over whole tables) runs instead as a cursor declared in the
 * caller's transaction, read a FETCH of that many rows at a time, so the
 * client holds one batch, not the table; a cursor is a name in the
 * session, so several walk side by side on one connection (single-row
 * mode allows only one query in flight). Bulk writes go through COPY.
 *
 * Transactions: a write transaction is BEGIN plus a transaction-scoped
 * advisory lock on one key, so writers of one database take turns as
 * SQLite's BEGIN IMMEDIATE makes them, and waits at most the busy
 * timeout (lock_timeout) before DB_EBUSY; a read transaction is
 * REPEATABLE READ, one snapshot as a SQLite read transaction is. After a
 * failed statement PostgreSQL refuses everything but ROLLBACK in that
 * transaction, which is what the store does after any failure.
 *
 * Errors are classified by SQLSTATE; the message kept is the primary
 * one, never the DETAIL, which would quote the values of a violated key
 * (a token's hash).
 *
 * Connection loss. Before a call that starts work outside a transaction
 * (BEGIN, a statement in autocommit, LISTEN), pg_ensure reads what the
 * idle socket holds without blocking (PQconsumeInput; libpq's socket is
 * non-blocking): a server that stopped or restarted has closed it, so
 * the loss is seen before anything is sent. A lost connection is made
 * again with PQreset, at most once per backoff period (50 ms doubling
 * to 2 s while attempts fail; a call in between fails at once with
 * DB_ECONN, which the server answers 503 with Retry-After). A reset is
 * a new session: the connection's generation goes up, each statement
 * notices its older generation at its next step and is prepared again
 * under its own name, and the channels listened to are listened to
 * again. A statement that fails on a connection lost mid-way is never
 * retried (it may have run); a BEGIN that fails so is, once, since it
 * changed nothing.
 *
 * Cancellation (db_progress): with a callback set, a statement is sent
 * with PQsendQueryPrepared and its result awaited with poll(2) on the
 * socket, the callback asked every PG_PROGRESS_MS meanwhile; when it
 * answers non-zero (the list's client hung up) the server is asked to
 * cancel the query (PQcancel on a PQgetCancel handle), which it ends
 * with SQLSTATE 57014: the step fails, as SQLite's does when its
 * progress handler interrupts it, and the transaction must be rolled
 * back. Without a callback a step is one PQexecPrepared.
 *
 * LISTEN/NOTIFY: LISTEN by db_listen; NOTIFY as pg_notify($1, $2), a
 * statement, so it belongs to the caller's transaction; waiting is
 * poll(2) on the socket, PQconsumeInput, PQnotifies.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"
#include "imgsec/util.h"

#define PG(c) ((PGconn *)(c)->handle)
#define PS(s) ((pg_stmt *)(s)->handle)

/* Type OIDs of pg_type (catalog/pg_type_d.h is a server header). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
    OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700,
};

/* The advisory lock key of write transactions: the application id. */
#define WRITE_LOCK_KEY DB_APPLICATION_ID

typedef struct {
    char name[24];
    char *sql;         /* as sent to PQprepare, for a new session */
    Oid *types;        /* nmax parameter types (0: deduced) */
    int nmax;
    unsigned generation; /* of the session it is prepared in */
    char **vals;       /* nparams: a copy of each bound value, NULL for NULL */
    int *lens, *fmts;  /* binary length and format (1 for a blob) */
    PGresult *res;     /* the current run's result (or batch), NULL before the first step */
    int row, nrows;
    int stream;        /* db_stream's batch, 0: whole results */
    bool oneshot;      /* not prepared on the server: each run is one PQexecParams */
    bool cursor;       /* a cursor of this run is open (name + "_c") */
    bool more;         /* and may have rows after the current batch */
    unsigned char **blob; /* ncols: unescaped BYTEA of the current row */
    size_t *blob_len;
} pg_stmt;

static db_errclass class_of(db_conn *c, const char *state)
{
    if (PQstatus(PG(c)) == CONNECTION_BAD || !state)
        return DB_ECONN;
    if (strcmp(state, "23505") == 0)
        return DB_EUNIQUE;
    if (strcmp(state, "23503") == 0)
        return DB_EFOREIGN;
    if (strncmp(state, "23", 2) == 0)
        return DB_ECONSTRAINT;
    if (strcmp(state, "53100") == 0)
        return DB_EFULL;
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0)
        return DB_EBUSY;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return DB_ECONN;
    return DB_EOTHER;
}

/* Records the failure res (or, without one, the connection's) on c and
 * frees res. */
static int pg_fail(db_conn *c, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    db_fail(c, class_of(c, state), "%s", msg ? msg : PQerrorMessage(PG(c)));
    PQclear(res);
    return DB_ERROR;
}

/* Runs sql (one or more statements, no parameters); 0 when every one
 * succeeded. */
static int pg_exec_raw(db_conn *c, const char *sql)
{
    PGresult *res = PQexec(PG(c), sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        return pg_fail(c, res);
    c->changes = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

static int pg_ensure(db_conn *c);

static int pg_exec(db_conn *c, const char *sql)
{
    if (pg_ensure(c) != 0)
        return DB_ERROR;
    return pg_exec_raw(c, sql);
}

/* ---- connection loss ---- */

/* After a PQreset: the channels again. */
static int relisten(db_conn *c)
{
    for (int i = 0; i < c->nlistens; i++) {
        char sql[DB_CHANNEL_MAX + 16];
        snprintf(sql, sizeof sql, "LISTEN %s", c->listens[i]);
        if (pg_exec_raw(c, sql) != 0)
            return DB_ERROR;
    }
    return 0;
}

/* Makes a lost connection again if the backoff allows; 0 when it is up. */
static int reconnect(db_conn *c)
{
    int64_t now = util_mono_ns();
    if (c->backoff_ms && now < c->retry_at_ns)
        return db_fail(c, DB_ECONN, "the connection to the database is lost; reconnecting in %lld ms",
                       (long long)((c->retry_at_ns - now) / 1000000 + 1));
    PQreset(PG(c));
    if (PQstatus(PG(c)) == CONNECTION_OK) {
        c->generation++;
        c->reconnects++;
        c->backoff_ms = 0;
        if (relisten(c) == 0)
            return 0;
        /* lost again at once: count it as a failed attempt */
    }
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : DB_RECONNECT_MIN_MS;
    if (c->backoff_ms > DB_RECONNECT_MAX_MS)
        c->backoff_ms = DB_RECONNECT_MAX_MS;
    c->retry_at_ns = util_mono_ns() + (int64_t)c->backoff_ms * 1000000;
    return db_fail(c, DB_ECONN, "the connection to the database is lost: %s",
                   PQerrorMessage(PG(c)));
}

/* Before work that starts outside a transaction: notices a connection the
 * server closed while it was idle, and makes a lost one again. Inside a
 * transaction, nothing: a loss there fails the transaction's statements. */
static int pg_ensure(db_conn *c)
{
    PGconn *pg = PG(c);
    if (c->txn) /* a new session would run the rest of it outside it */
        return PQstatus(pg) == CONNECTION_OK
                   ? 0
                   : db_fail(c, DB_ECONN, "the connection to the database was lost in a transaction");
    if (PQstatus(pg) == CONNECTION_OK) {
        if (PQtransactionStatus(pg) != PQTRANS_IDLE)
            return 0;
        /* twice: a server that ends the session sends a message, then
         * closes; one read may take the message and not yet the end */
        if (PQconsumeInput(pg) && PQstatus(pg) == CONNECTION_OK && PQconsumeInput(pg) &&
            PQstatus(pg) == CONNECTION_OK)
            return 0;
    }
    return reconnect(c);
}

/* ---- statements ---- */

static void drop_result(pg_stmt *p, int ncols)
{
    if (p->blob)
        for (int i = 0; i < ncols; i++) {
            PQfreemem(p->blob[i]);
            p->blob[i] = NULL;
        }
    PQclear(p->res);
    p->res = NULL;
    p->row = -1;
    p->nrows = 0;
}

static void pg_finalize(db_stmt *s);

/* PQprepare of p's SQL under its name in the connection's session. */
static int prepare_server(db_conn *c, pg_stmt *p)
{
    PGresult *res = PQprepare(PG(c), p->name, p->sql, p->nmax, p->types);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(c, res);
    PQclear(res);
    p->generation = c->generation;
    return 0;
}

static int pg_prepare(db_conn *c, db_stmt *s, const char *sql, bool persistent)
{
    static const Oid OID_TEXT = 25;
    unsigned char used[DB_PG_MAX_PARAMS / 8 + 1] = {0};
    int max = 0;
    if (pg_ensure(c) != 0)
        return DB_ERROR;
    pg_stmt *p = calloc(1, sizeof *p);
    char *text = db_pg_placeholders(sql, used, &max);
    /* a number the SQL skips is a text parameter nobody reads (SQLite
     * allows gaps; PostgreSQL cannot deduce a type for one) */
    Oid *types = max > 0 ? calloc((size_t)max, sizeof *types) : NULL;
    if (!p || !text || (max > 0 && !types)) {
        free(p);
        free(text);
        free(types);
        return db_fail(c, DB_EOTHER, "out of memory or a bad placeholder");
    }
    for (int n = 1; n <= max; n++)
        if (!(used[n / 8] & (1u << (n % 8))))
            types[n - 1] = OID_TEXT;
    snprintf(p->name, sizeof p->name, "imgsec_%u", c->next_name++);
    p->sql = text;
    p->types = types;
    p->nmax = max;
    p->oneshot = !persistent;
    if (p->oneshot) { /* nothing sent: the columns come with the first run */
        s->nparams = max;
        s->ncols = 0;
    } else {
        PGresult *res = NULL;
        if (prepare_server(c, p) != 0)
            goto fail;
        res = PQdescribePrepared(PG(c), p->name);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            pg_fail(c, res);
            goto fail;
        }
        s->nparams = PQnparams(res);
        s->ncols = PQnfields(res);
        PQclear(res);
    }
    size_t np = (size_t)s->nparams ? (size_t)s->nparams : 1, nc = (size_t)s->ncols ? (size_t)s->ncols : 1;
    p->vals = calloc(np, sizeof *p->vals);
    p->lens = calloc(np, sizeof *p->lens);
    p->fmts = calloc(np, sizeof *p->fmts);
    p->blob = calloc(nc, sizeof *p->blob);
    p->blob_len = calloc(nc, sizeof *p->blob_len);
    p->row = -1;
    s->handle = p;
    if (!p->vals || !p->lens || !p->fmts || !p->blob || !p->blob_len) {
        pg_finalize(s);
        s->handle = NULL;
        return db_fail(c, DB_EOTHER, "out of memory");
    }
    return 0;
fail:
    free(p->sql);
    free(p->types);
    free(p);
    return DB_ERROR;
}

static void pg_clear_bindings(db_stmt *s)
{
    pg_stmt *p = PS(s);
    for (int i = 0; i < s->nparams; i++) {
        free(p->vals[i]);
        p->vals[i] = NULL;
        p->lens[i] = p->fmts[i] = 0;
    }
}

static void pg_finalize(db_stmt *s)
{
    pg_stmt *p = PS(s);
    if (!p)
        return;
    drop_result(p, s->ncols);
    if (p->vals && p->lens && p->fmts)
        pg_clear_bindings(s);
    /* DEALLOCATE fails inside a failed transaction; the statement then
     * lives until the connection closes, which is harmless. */
    if (!p->oneshot && p->generation == s->c->generation && PQstatus(PG(s->c)) == CONNECTION_OK &&
        PQtransactionStatus(PG(s->c)) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
        PQclear(PQexec(PG(s->c), sql));
    }
    free(p->sql);
    free(p->types);
    free(p->vals);
    free(p->lens);
    free(p->fmts);
    free(p->blob);
    free(p->blob_len);
    free(p);
}

/* Keeps a copy of len bytes (and a NUL) as parameter i. */
static void put(db_stmt *s, int i, const void *v, size_t len, int fmt)
{
    pg_stmt *p = PS(s);
    char *copy = malloc(len + 1);
    free(p->vals[i - 1]);
    p->vals[i - 1] = NULL;
    if (!copy)
        return; /* sent as NULL; the caller's statement then fails a NOT NULL or finds nothing */
    memcpy(copy, v, len);
    copy[len] = '\0';
    p->vals[i - 1] = copy;
    p->lens[i - 1] = (int)len;
    p->fmts[i - 1] = fmt;
}

static void pg_bind_null(db_stmt *s, int i)
{
    pg_stmt *p = PS(s);
    free(p->vals[i - 1]);
    p->vals[i - 1] = NULL;
}

static void pg_bind_int64(db_stmt *s, int i, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    put(s, i, buf, (size_t)n, 0);
}

static void pg_bind_double(db_stmt *s, int i, double v)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", v);
    put(s, i, buf, (size_t)n, 0);
}

static void pg_bind_text(db_stmt *s, int i, const char *v, size_t len)
{
    put(s, i, v, len, 0);
}

static void pg_bind_blob(db_stmt *s, int i, const void *v, size_t len)
{
    put(s, i, v, len, 1);
}

/* How often a running statement asks db_progress's callback. */
#define PG_PROGRESS_MS 20

/* The last result of the statement sent, the ones before it freed
 * (PQexec keeps the last too); NULL when none came. */
static PGresult *last_result(PGconn *pc)
{
    PGresult *res = NULL, *next;
    while ((next = PQgetResult(pc))) {
        PQclear(res);
        res = next;
    }
    return res;
}

/* Runs statement p (prepared, or its SQL in one message when oneshot):
 * at once, or, with a progress callback, watched and cancelled when the
 * callback says so (see the top). NULL (the connection's error) when
 * nothing came back. */
static PGresult *exec_prepared(db_conn *c, pg_stmt *p, int nparams)
{
    PGconn *pc = PG(c);
    const char *const *vals = (const char *const *)p->vals;
    c->runs++;
    if (!c->progress_cb)
        return p->oneshot ? PQexecParams(pc, p->sql, nparams, p->types, vals, p->lens, p->fmts, 0)
                          : PQexecPrepared(pc, p->name, nparams, vals, p->lens, p->fmts, 0);
    if (!(p->oneshot ? PQsendQueryParams(pc, p->sql, nparams, p->types, vals, p->lens, p->fmts, 0)
                     : PQsendQueryPrepared(pc, p->name, nparams, vals, p->lens, p->fmts, 0)))
        return NULL;
    bool cancelled = false;
    while (PQisBusy(pc)) {
        struct pollfd pfd = {.fd = PQsocket(pc), .events = POLLIN};
        if (pfd.fd < 0 || (poll(&pfd, 1, PG_PROGRESS_MS) < 0 && errno != EINTR) ||
            !PQconsumeInput(pc))
            break; /* PQgetResult below reports the connection's error */
        if (!cancelled && PQisBusy(pc) && c->progress_cb(c->progress_arg)) {
            PGcancel *k = PQgetCancel(pc);
            char why[256];
            /* a cancel that cannot be sent leaves the query to run to its end */
            if (k)
                (void)PQcancel(k, why, (int)sizeof why);
            PQfreeCancel(k);
            cancelled = true;
        }
    }
    return last_result(pc);
}

/* A oneshot statement learns its columns from its result: s->ncols, and
 * room for their unescaped blobs. */
static int take_cols(db_stmt *s, const PGresult *res)
{
    pg_stmt *p = PS(s);
    int n = PQnfields(res);
    if (!p->oneshot || n <= s->ncols)
        return 0;
    unsigned char **blob = realloc(p->blob, (size_t)n * sizeof *blob);
    if (blob)
        p->blob = blob;
    size_t *len = blob ? realloc(p->blob_len, (size_t)n * sizeof *len) : NULL;
    if (len)
        p->blob_len = len;
    if (!blob || !len)
        return db_fail(s->c, DB_EOTHER, "out of memory");
    for (int i = s->ncols; i < n; i++) {
        p->blob[i] = NULL;
        p->blob_len[i] = 0;
    }
    s->ncols = n;
    return 0;
}

/* ---- streamed runs (db_stream): a cursor, a FETCH per batch ---- */

/* The next batch of p's open cursor as the current result. */
static int fetch_batch(db_stmt *s)
{
    pg_stmt *p = PS(s);
    char sql[80];
    snprintf(sql, sizeof sql, "FETCH FORWARD %d FROM %s_c", p->stream, p->name);
    drop_result(p, s->ncols);
    PGresult *res = PQexec(PG(s->c), sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        p->more = false;
        return pg_fail(s->c, res);
    }
    p->res = res;
    p->nrows = PQntuples(res);
    p->row = -1;
    p->more = p->nrows == p->stream;
    return take_cols(s, res);
}

/* DECLARE of p's SQL with its bound parameters (parameters reach the
 * cursor's query through the extended protocol), then the first batch. */
static int open_cursor(db_stmt *s)
{
    pg_stmt *p = PS(s);
    db_conn *c = s->c;
    if (!c->txn)
        return db_fail(c, DB_EOTHER, "a streamed statement runs inside a transaction");
    util_buf sql = {0};
    util_buf_printf(&sql, "DECLARE %s_c NO SCROLL CURSOR FOR %s", p->name, p->sql);
    if (sql.failed) {
        free(sql.buf);
        return db_fail(c, DB_EOTHER, "out of memory");
    }
    PGresult *res = PQexecParams(PG(c), sql.buf, s->nparams,
                                 p->nmax == s->nparams ? p->types : NULL,
                                 (const char *const *)p->vals, p->lens, p->fmts, 0);
    free(sql.buf);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(c, res);
    PQclear(res);
    p->cursor = true;
    return fetch_batch(s);
}

static void pg_stream(db_stmt *s, int rows)
{
    PS(s)->stream = rows;
}

static int pg_step(db_stmt *s)
{
    pg_stmt *p = PS(s);
    db_conn *c = s->c;
    if (p->cursor) {
        for (int i = 0; i < s->ncols; i++) {
            PQfreemem(p->blob[i]);
            p->blob[i] = NULL;
        }
        if (p->res && p->row + 1 < p->nrows) {
            p->row++;
            return DB_ROW;
        }
        if (!p->more) {
            p->row = p->nrows;
            return DB_DONE;
        }
        if (fetch_batch(s) != 0)
            return DB_ERROR;
        if (p->nrows == 0) {
            p->row = 0;
            return DB_DONE;
        }
        p->row = 0;
        return DB_ROW;
    }
    if (!p->res) {
        if (pg_ensure(c) != 0 ||
            (!p->oneshot && p->generation != c->generation && prepare_server(c, p) != 0))
            return DB_ERROR;
        if (p->stream > 0)
            return open_cursor(s) != 0 ? DB_ERROR : pg_step(s);
        PGresult *res = exec_prepared(c, p, s->nparams);
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            return pg_fail(c, res);
        p->res = res;
        p->nrows = PQntuples(res);
        p->row = -1;
        c->changes = strtoll(PQcmdTuples(res), NULL, 10);
        if (take_cols(s, res) != 0)
            return DB_ERROR;
    }
    for (int i = 0; i < s->ncols; i++) {
        PQfreemem(p->blob[i]);
        p->blob[i] = NULL;
    }
    if (p->row + 1 < p->nrows) {
        p->row++;
        return DB_ROW;
    }
    p->row = p->nrows;
    return DB_DONE;
}

static void pg_reset(db_stmt *s)
{
    pg_stmt *p = PS(s);
    drop_result(p, s->ncols);
    /* the cursor's name is taken until CLOSE or the end of the
     * transaction; a failed transaction or a lost session has none left */
    if (p->cursor && PQstatus(PG(s->c)) == CONNECTION_OK &&
        PQtransactionStatus(PG(s->c)) == PQTRANS_INTRANS) {
        char sql[48];
        snprintf(sql, sizeof sql, "CLOSE %s_c", p->name);
        PQclear(PQexec(PG(s->c), sql));
    }
    p->cursor = p->more = false;
}

/* The current row has column col and it is not NULL. */
static bool has_value(db_stmt *s, int col)
{
    pg_stmt *p = PS(s);
    return p->res && p->row >= 0 && p->row < p->nrows && !PQgetisnull(p->res, p->row, col);
}

static db_type pg_column_type(db_stmt *s, int col)
{
    if (!has_value(s, col))
        return DB_NULL;
    switch (PQftype(PS(s)->res, col)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return DB_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: return DB_FLOAT;
    case OID_BYTEA: return DB_BLOB;
    default: return DB_TEXT;
    }
}

static const char *pg_column_text(db_stmt *s, int col)
{
    return has_value(s, col) ? PQgetvalue(PS(s)->res, PS(s)->row, col) : NULL;
}

static int64_t pg_column_int64(db_stmt *s, int col)
{
    const char *v = pg_column_text(s, col);
    if (!v)
        return 0;
    if (PQftype(PS(s)->res, col) == OID_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static double pg_column_double(db_stmt *s, int col)
{
    const char *v = pg_column_text(s, col);
    return v ? strtod(v, NULL) : 0.0;
}

static const void *pg_column_blob(db_stmt *s, int col)
{
    pg_stmt *p = PS(s);
    const char *v = pg_column_text(s, col);
    if (!v)
        return NULL;
    if (PQftype(p->res, col) != OID_BYTEA) {
        p->blob_len[col] = (size_t)PQgetlength(p->res, p->row, col);
        return v;
    }
    if (!p->blob[col]) {
        size_t n = 0;
        p->blob[col] = PQunescapeBytea((const unsigned char *)v, &n);
        p->blob_len[col] = p->blob[col] ? n : 0;
    }
    return p->blob[col];
}

static size_t pg_column_bytes(db_stmt *s, int col)
{
    pg_stmt *p = PS(s);
    if (!has_value(s, col))
        return 0;
    if (PQftype(p->res, col) == OID_BYTEA) {
        pg_column_blob(s, col);
        return p->blob_len[col];
    }
    return (size_t)PQgetlength(p->res, p->row, col);
}

/* ---- COPY ---- */

#define COPY_BLOCK 65536

struct db_copy {
    db_conn *c;
    util_buf b;
    bool first; /* no field of the current row yet */
    bool failed;
};

db_copy *db_copy_begin(db_conn *c, const char *table, const char *cols, imgsec_err *err)
{
    if (c->backend != DB_PG) {
        err_set(err, IMGSEC_ENOTFOUND, "db: COPY is PostgreSQL's");
        return NULL;
    }
    db_copy *k = calloc(1, sizeof *k);
    if (!k) {
        err_set(err, IMGSEC_EINTERNAL, "db: out of memory");
        return NULL;
    }
    util_buf sql = {0};
    util_buf_printf(&sql, "COPY %s (%s) FROM STDIN", table, cols);
    PGresult *res = sql.failed ? NULL : PQexec(PG(c), sql.buf);
    free(sql.buf);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_fail(c, res);
        db_err(c, err, "starting a bulk insert");
        free(k);
        return NULL;
    }
    PQclear(res);
    k->c = c;
    k->first = true;
    return k;
}

static void copy_sep(db_copy *k)
{
    if (!k->first)
        util_buf_put(&k->b, "\t", 1);
    k->first = false;
}

void db_copy_null(db_copy *k)
{
    copy_sep(k);
    util_buf_put(&k->b, "\\N", 2);
}

void db_copy_int64(db_copy *k, int64_t v)
{
    copy_sep(k);
    util_buf_printf(&k->b, "%lld", (long long)v);
}

void db_copy_double(db_copy *k, double v)
{
    copy_sep(k);
    util_buf_printf(&k->b, "%.17g", v);
}

/* Text format: backslash, tab, newline and carriage return escaped. */
void db_copy_text(db_copy *k, const char *v, size_t len)
{
    copy_sep(k);
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = v[i] == '\\' ? "\\\\" : v[i] == '\t' ? "\\t" : v[i] == '\n' ? "\\n"
                        : v[i] == '\r' ? "\\r" : NULL;
        if (!esc)
            continue;
        util_buf_put(&k->b, v + from, i - from);
        util_buf_put(&k->b, esc, 2);
        from = i + 1;
    }
    util_buf_put(&k->b, v + from, len - from);
}

static int copy_send(db_copy *k, imgsec_err *err)
{
    if (k->b.failed) {
        k->failed = true;
        return err_set(err, IMGSEC_EINTERNAL, "db: out of memory");
    }
    if (k->b.len && PQputCopyData(PG(k->c), k->b.buf, (int)k->b.len) != 1) {
        k->failed = true;
        db_fail(k->c, DB_ECONN, "%s", PQerrorMessage(PG(k->c)));
        return db_err(k->c, err, "bulk insert");
    }
    k->b.len = 0;
    return IMGSEC_OK;
}

int db_copy_row(db_copy *k, imgsec_err *err)
{
    util_buf_put(&k->b, "\n", 1);
    k->first = true;
    return k->b.len >= COPY_BLOCK ? copy_send(k, err) : IMGSEC_OK;
}

int db_copy_end(db_copy *k, bool ok, imgsec_err *err)
{
    if (!k)
        return IMGSEC_OK;
    db_conn *c = k->c;
    int rc = IMGSEC_OK;
    if (ok && !k->failed)
        rc = copy_send(k, err);
    ok = ok && rc == IMGSEC_OK;
    if (PQputCopyEnd(PG(c), ok ? NULL : "cancelled by imgsec") != 1 && ok)
        rc = db_err(c, err, "bulk insert");
    PGresult *res;
    while ((res = PQgetResult(PG(c)))) {
        if (ok && rc == IMGSEC_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
            pg_fail(c, res);
            rc = db_err(c, err, "bulk insert");
            continue;
        }
        PQclear(res);
    }
    free(k->b.buf);
    free(k);
    return rc;
}

/* ---- transactions ---- */

/* BEGIN (and what goes with it): retried once on a connection found lost
 * only then, as it changed nothing. */
static int begin(db_conn *c, const char *sql)
{
    if (pg_ensure(c) != 0)
        return DB_ERROR;
    for (int attempt = 0;; attempt++) {
        if (pg_exec_raw(c, sql) == 0) {
            c->txn = true;
            return 0;
        }
        bool lost = PQstatus(PG(c)) == CONNECTION_BAD;
        if (!lost)
            PQclear(PQexec(PG(c), "ROLLBACK"));
        if (!lost || attempt > 0 || reconnect(c) != 0)
            return DB_ERROR;
    }
}

static int pg_begin_write(db_conn *c)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "BEGIN; SET LOCAL lock_timeout = %d; SELECT pg_advisory_xact_lock(%d)",
             DB_BUSY_TIMEOUT_MS, WRITE_LOCK_KEY);
    return begin(c, sql);
}

static int pg_begin_read(db_conn *c)
{
    return begin(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
}

/* COMMIT of a failed transaction "succeeds" as a ROLLBACK: that is a
 * failure to the caller. */
static int pg_commit(db_conn *c)
{
    c->txn = false;
    PGresult *res = PQexec(PG(c), "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(c, res);
    bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back)
        return db_fail(c, DB_EOTHER, "the transaction was rolled back by an earlier error");
    return 0;
}

static bool pg_in_transaction(db_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(PG(c));
    return c->txn || t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void pg_rollback(db_conn *c)
{
    c->txn = false;
    PQclear(PQexec(PG(c), "ROLLBACK"));
}

/* ---- schema version ---- */

/* The version lives in a one-row table of the connection's schema; any
 * other table there without it (or with another application id) is a
 * database imgsec did not make. */
static int pg_schema_header(db_conn *c, int64_t *version, bool *foreign)
{
    PGresult *res = PQexec(PG(c),
                           "SELECT (SELECT count(*) FROM pg_catalog.pg_class k "
                           "JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace "
                           "WHERE n.nspname = current_schema() AND k.relkind IN ('r', 'v', 'm', 'p')), "
                           "to_regclass('imgsec_schema') IS NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return pg_fail(c, res);
    long long objects = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    bool has = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    long long app_id = 0;
    if (has) {
        res = PQexec(PG(c), "SELECT application_id, version FROM imgsec_schema WHERE id = 1");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return pg_fail(c, res);
        if (PQntuples(res) == 1) {
            app_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            *version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        }
        PQclear(res);
    }
    *foreign = objects > 0 && app_id != DB_APPLICATION_ID;
    return 0;
}

/* With the version, the few SQLite scalar functions the store's SQL
 * calls that PostgreSQL spells otherwise, made (again) with every
 * migration: instr(haystack, needle), 1-based, 0 when absent. */
static int pg_schema_set_version(db_conn *c, int version)
{
    char sql[640];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS imgsec_schema (\n"
             "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
             "  application_id BIGINT NOT NULL,\n"
             "  version BIGINT NOT NULL);\n"
             "INSERT INTO imgsec_schema (id, application_id, version) VALUES (1, %d, %d)\n"
             "  ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;\n"
             "CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer\n"
             "  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT strpos($1, $2)';\n",
             DB_APPLICATION_ID, version);
    return pg_exec(c, sql);
}

static int pg_setup(db_conn *c)
{
    (void)c;
    return 0;
}

static char *pg_ddl(db_conn *c, const char *sql)
{
    const char *why = NULL;
    char *out = db_pg_translate_ddl(sql, &why);
    if (!out)
        db_fail(c, DB_EOTHER, "%s", why ? why : "out of memory");
    return out;
}

static void pg_progress(db_conn *c, int steps, int (*cb)(void *arg), void *arg)
{
    (void)steps; /* asked every PG_PROGRESS_MS instead */
    c->progress_cb = cb;
    c->progress_arg = cb ? arg : NULL;
}

static void pg_close(db_conn *c)
{
    PQfinish(PG(c));
}

/* ---- LISTEN/NOTIFY ---- */

static int pg_listen(db_conn *c, const char *channel)
{
    char sql[DB_CHANNEL_MAX + 16]; /* the channel is checked: [a-z0-9_] */
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return pg_exec(c, sql);
}

static int pg_notify(db_conn *c, const char *channel, const char *payload)
{
    if (pg_ensure(c) != 0)
        return DB_ERROR;
    const char *vals[2] = {channel, payload};
    PGresult *res = PQexecParams(PG(c), "SELECT pg_notify($1, $2)", 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(c, res);
    PQclear(res);
    return 0;
}

/* A notification that arrived, into the buffers: DB_ROW, else DB_DONE. */
static int take_notify(db_conn *c, char *channel, size_t channel_size, char *payload,
                       size_t payload_size)
{
    PGnotify *n = PQnotifies(PG(c));
    if (!n)
        return DB_DONE;
    if (channel && channel_size)
        snprintf(channel, channel_size, "%s", n->relname);
    if (payload && payload_size)
        snprintf(payload, payload_size, "%s", n->extra ? n->extra : "");
    PQfreemem(n);
    return DB_ROW;
}

static int pg_wait_notify(db_conn *c, int timeout_ms, char *channel, size_t channel_size,
                          char *payload, size_t payload_size)
{
    if (c->txn)
        return db_fail(c, DB_EOTHER, "waiting for a notification inside a transaction");
    if (pg_ensure(c) != 0) /* reads what arrived, or makes a lost connection again */
        return DB_ERROR;
    int64_t deadline = util_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int rc = take_notify(c, channel, channel_size, payload, payload_size);
        if (rc != DB_DONE)
            return rc;
        int64_t left_ms = (deadline - util_mono_ns()) / 1000000;
        if (left_ms <= 0)
            return DB_DONE;
        struct pollfd pfd = {.fd = PQsocket(PG(c)), .events = POLLIN};
        if (pfd.fd < 0)
            return db_fail(c, DB_ECONN, "the connection to the database is lost");
        int n = poll(&pfd, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (n > 0 && (!PQconsumeInput(PG(c)) || PQstatus(PG(c)) != CONNECTION_OK))
            return db_fail(c, DB_ECONN, "the connection to the database is lost: %s",
                           PQerrorMessage(PG(c)));
    }
}

static int pg_socket(const db_conn *c)
{
    return PQstatus(PG(c)) == CONNECTION_OK ? PQsocket(PG(c)) : -1;
}

static const db_ops PG_OPS = {
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_null = pg_bind_null,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .reset = pg_reset,
    .stream = pg_stream,
    .clear_bindings = pg_clear_bindings,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .column_bytes = pg_column_bytes,
    .exec = pg_exec,
    .begin_write = pg_begin_write,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .schema_header = pg_schema_header,
    .schema_set_version = pg_schema_set_version,
    .setup = pg_setup,
    .ddl = pg_ddl,
    .progress = pg_progress,
    /* the catalog itself: information_schema.columns takes tens of ms */
    .table_columns_sql = "SELECT attname::text FROM pg_catalog.pg_attribute "
                         "WHERE attrelid = to_regclass(quote_ident(?1)) AND attnum > 0 "
                         "AND NOT attisdropped ORDER BY attnum",
    .close = pg_close,
    .listen = pg_listen,
    .notify = pg_notify,
    .wait_notify = pg_wait_notify,
    .socket = pg_socket,
};

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int db_pg_open(db_conn *c, const char *uri)
{
    /* libpq's own words about a malformed URI may quote it, password and all */
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &why);
    PQfreemem(why);
    if (!opts)
        return db_fail(c, DB_EOTHER, "the PostgreSQL URI is malformed");
    PQconninfoFree(opts);
    /* Defaults the URI may override (it comes later): libpq would wait
     * for an unreachable server forever, and the server's views name the
     * client. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"10", "imgsec", uri, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg)
        return db_fail(c, DB_EOTHER, "out of memory");
    c->backend = DB_PG;
    c->ops = &PG_OPS;
    c->handle = pg;
    if (PQstatus(pg) != CONNECTION_OK) {
        db_fail(c, DB_ECONN, "%s", PQerrorMessage(pg));
        PQfinish(pg);
        c->handle = NULL;
        return DB_ERROR;
    }
    PQsetNoticeProcessor(pg, no_notices, NULL);
    return 0;
}
