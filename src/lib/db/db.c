/* db.c - the driver interface (db.h): argument checks, the dispatch to a
 * backend's ops, and the error state both backends share.
 *
 * Every call on a NULL statement or connection is a no-op or an error,
 * never a crash, so store code that failed to prepare can still reset
 * and finalize unconditionally.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db_int.h"

bool db_uri_is_pg(const char *uri)
{
    return uri && (strncasecmp(uri, "postgres://", 11) == 0 || strncasecmp(uri, "postgresql://", 13) == 0);
}

void db_uri_display(const char *uri, char *out, size_t size)
{
    if (!size)
        return;
    snprintf(out, size, "%s", uri ? uri : "");
    if (!db_uri_is_pg(out))
        return;
    char tmp[1024];
    const char *p = out, *scheme_end = strstr(out, "://") + 3;
    const char *host_start = scheme_end + strcspn(scheme_end, "/?");
    const char *at = memchr(scheme_end, '@', (size_t)(host_start - scheme_end));
    size_t n = 0;
    /* scheme://user:password@ -> scheme://user:***@ */
    const char *colon = at ? memchr(scheme_end, ':', (size_t)(at - scheme_end)) : NULL;
    while (*p && n + 16 < sizeof tmp) { /* room for the longest insert, "password=***" */
        if (colon && p == colon + 1) {
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "***");
            p = at;
            continue;
        }
        /* password=...& -> password=***& (a query parameter) */
        if (p > host_start && strncmp(p, "password=", 9) == 0 && (p[-1] == '?' || p[-1] == '&')) {
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "password=***");
            p += 9 + strcspn(p + 9, "&");
            continue;
        }
        tmp[n++] = *p++;
    }
    tmp[n] = '\0';
    snprintf(out, size, "%s", tmp);
}

int db_fail(db_conn *c, db_errclass cls, const char *fmt, ...)
{
    va_list ap;
    c->errclass = cls;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    /* engines end their messages with a newline (libpq) or not (SQLite) */
    size_t n = strlen(c->errmsg);
    while (n && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' '))
        c->errmsg[--n] = '\0';
    return DB_ERROR;
}

int db_open(const char *uri, db_conn **out, imgsec_err *err)
{
    *out = NULL;
    if (!uri || !*uri)
        return err_set(err, IMGSEC_EINVAL, "db: no database path or URI");
    db_conn *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(err, IMGSEC_EINTERNAL, "db: out of memory");
    int rc = db_uri_is_pg(uri) ? db_pg_open(c, uri) : db_sqlite_open(c, uri);
    if (rc != 0) {
        /* EINTERNAL even for an unreachable server: opening is a start's,
         * whose caller reports and exits; a loss later is EUNAVAILABLE */
        rc = err_set(err, c->errclass == DB_EFULL ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                     "db: cannot open the database: %s", c->errmsg);
        db_close(c);
        return rc;
    }
    if (!(c->target = strdup(uri))) {
        db_close(c);
        return err_set(err, IMGSEC_EINTERNAL, "db: out of memory");
    }
    *out = c;
    return IMGSEC_OK;
}

const char *db_target(const db_conn *c)
{
    if (!c || !c->target || (c->backend == DB_SQLITE && (strcmp(c->target, ":memory:") == 0 ||
                                                         strncmp(c->target, "file:", 5) == 0)))
        return NULL;
    return c->target;
}

void db_close(db_conn *c)
{
    if (!c)
        return;
    if (c->ops && c->handle) {
        if (c->ops->in_transaction(c))
            c->ops->rollback(c);
        c->ops->close(c);
    }
    free(c->target);
    free(c);
}

db_backend db_backend_of(const db_conn *c)
{
    return c->backend;
}

struct sqlite3 *db_sqlite_handle(db_conn *c)
{
    return c && c->backend == DB_SQLITE ? c->handle : NULL;
}

struct sqlite3_stmt *db_sqlite_stmt(db_stmt *s)
{
    return s && s->c->backend == DB_SQLITE ? s->handle : NULL;
}

void db_progress(db_conn *c, int steps, int (*cb)(void *arg), void *arg)
{
    c->ops->progress(c, steps, cb, arg);
}

const char *db_sql_table_columns(db_conn *c)
{
    return c->ops->table_columns_sql;
}

/* ---- statements ---- */

db_stmt *db_prepare(db_conn *c, const char *sql, bool persistent, const char *what, imgsec_err *err)
{
    db_stmt *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, IMGSEC_EINTERNAL, "db: out of memory");
        return NULL;
    }
    s->c = c;
    if (c->ops->prepare(c, s, sql, persistent) != 0) {
        db_err(c, err, what);
        free(s);
        return NULL;
    }
    return s;
}

void db_finalize(db_stmt *s)
{
    if (!s)
        return;
    s->c->ops->finalize(s);
    free(s);
}

int db_param_count(const db_stmt *s)
{
    return s ? s->nparams : 0;
}

int db_column_count(const db_stmt *s)
{
    return s ? s->ncols : 0;
}

/* A parameter or column index the statement has. */
#define PARAM_OK(s, i) ((s) && (i) >= 1 && (i) <= (s)->nparams)
#define COL_OK(s, col) ((s) && (col) >= 0 && (col) < (s)->ncols)

void db_bind_null(db_stmt *s, int i)
{
    if (PARAM_OK(s, i))
        s->c->ops->bind_null(s, i);
}

void db_bind_int64(db_stmt *s, int i, int64_t v)
{
    if (PARAM_OK(s, i))
        s->c->ops->bind_int64(s, i, v);
}

void db_bind_double(db_stmt *s, int i, double v)
{
    if (PARAM_OK(s, i))
        s->c->ops->bind_double(s, i, v);
}

void db_bind_text(db_stmt *s, int i, const char *v, int len)
{
    if (!PARAM_OK(s, i))
        return;
    if (!v)
        return s->c->ops->bind_null(s, i);
    s->c->ops->bind_text(s, i, v, len < 0 ? strlen(v) : (size_t)len);
}

void db_bind_blob(db_stmt *s, int i, const void *v, size_t len)
{
    if (!PARAM_OK(s, i))
        return;
    if (!v)
        return s->c->ops->bind_null(s, i);
    s->c->ops->bind_blob(s, i, v, len);
}

int db_step(db_stmt *s)
{
    if (!s)
        return DB_ERROR;
    return s->c->ops->step(s);
}

void db_reset(db_stmt *s)
{
    if (s)
        s->c->ops->reset(s);
}

void db_stream(db_stmt *s, int rows)
{
    if (s && s->c->ops->stream)
        s->c->ops->stream(s, rows > 0 ? rows : 0);
}

void db_clear_bindings(db_stmt *s)
{
    if (s)
        s->c->ops->clear_bindings(s);
}

db_type db_column_type(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_type(s, col) : DB_NULL;
}

int64_t db_column_int64(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_int64(s, col) : 0;
}

double db_column_double(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_double(s, col) : 0.0;
}

const char *db_column_text(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_text(s, col) : NULL;
}

const void *db_column_blob(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_blob(s, col) : NULL;
}

size_t db_column_bytes(db_stmt *s, int col)
{
    return COL_OK(s, col) ? s->c->ops->column_bytes(s, col) : 0;
}

int64_t db_changes(db_conn *c)
{
    return c->changes;
}

/* ---- SQL text, transactions ---- */

int db_exec(db_conn *c, const char *sql, const char *what, imgsec_err *err)
{
    return c->ops->exec(c, sql) == 0 ? IMGSEC_OK : db_err(c, err, what);
}

int db_begin_write(db_conn *c, imgsec_err *err)
{
    return c->ops->begin_write(c) == 0 ? IMGSEC_OK : db_err(c, err, "starting a write transaction");
}

int db_begin_read(db_conn *c, imgsec_err *err)
{
    return c->ops->begin_read(c) == 0 ? IMGSEC_OK : db_err(c, err, "starting a read transaction");
}

int db_commit(db_conn *c, imgsec_err *err)
{
    if (c->ops->commit(c) == 0)
        return IMGSEC_OK;
    int rc = db_err(c, err, "committing");
    c->ops->rollback(c);
    return rc;
}

void db_rollback(db_conn *c)
{
    if (c->ops->in_transaction(c))
        c->ops->rollback(c);
}

int db_lock_session_try(db_conn *c, int64_t key, bool *got, imgsec_err *err)
{
    *got = c->backend != DB_PG;
    if (*got)
        return IMGSEC_OK;
    db_stmt *s = db_prepare(c, "SELECT pg_try_advisory_lock(?1)", false, "taking a lock", err);
    if (!s)
        return err->code;
    db_bind_int64(s, 1, key);
    int rc = db_step(s);
    if (rc == DB_ROW)
        *got = db_column_int64(s, 0) != 0;
    db_finalize(s);
    return rc == DB_ROW ? IMGSEC_OK : db_err(c, err, "taking a lock");
}

void db_unlock_session(db_conn *c, int64_t key)
{
    if (c->backend != DB_PG)
        return;
    db_stmt *s = db_prepare(c, "SELECT pg_advisory_unlock(?1)", false, "releasing a lock", NULL);
    if (!s)
        return;
    db_bind_int64(s, 1, key);
    (void)db_step(s);
    db_finalize(s);
}

bool db_in_transaction(db_conn *c)
{
    return c->ops->in_transaction(c);
}

/* ---- errors ---- */

db_errclass db_errclass_of(db_conn *c)
{
    return c ? c->errclass : DB_EOTHER;
}

const char *db_errmsg(db_conn *c)
{
    return c ? c->errmsg : "no database";
}

int db_err(db_conn *c, imgsec_err *err, const char *what)
{
    if (!c)
        return err_set(err, IMGSEC_EINTERNAL, "db: %s: no database", what);
    imgsec_code code = c->errclass == DB_EFULL   ? IMGSEC_ENOSPACE
                       : c->errclass == DB_ECONN ? IMGSEC_EUNAVAILABLE
                       : c->errclass == DB_ENOTSUP ? IMGSEC_EINVAL
                                                 : IMGSEC_EINTERNAL;
    return err_set(err, code, "db: %s: %s", what, c->errmsg[0] ? c->errmsg : "unknown error");
}

/* ---- connection loss, LISTEN/NOTIFY ---- */

int db_socket(const db_conn *c)
{
    return c && c->ops->socket ? c->ops->socket(c) : -1;
}

int64_t db_reconnects(const db_conn *c)
{
    return c ? c->reconnects : 0;
}

int64_t db_runs(const db_conn *c)
{
    return c ? c->runs : 0;
}

bool db_can_listen(const db_conn *c)
{
    return c && c->ops->listen;
}

static int no_listen(db_conn *c, imgsec_err *err)
{
    db_fail(c, DB_ENOTSUP, "LISTEN/NOTIFY needs PostgreSQL");
    return err_set(err, IMGSEC_EINVAL, "db: LISTEN/NOTIFY needs PostgreSQL");
}

static int channel_check(const char *channel, imgsec_err *err)
{
    size_t n = channel ? strlen(channel) : 0;
    bool ok = n >= 1 && n <= DB_CHANNEL_MAX && channel[0] >= 'a' && channel[0] <= 'z';
    for (size_t i = 0; ok && i < n; i++)
        ok = (channel[i] >= 'a' && channel[i] <= 'z') || (channel[i] >= '0' && channel[i] <= '9') ||
             channel[i] == '_';
    return ok ? IMGSEC_OK
              : err_set(err, IMGSEC_EINVAL, "db: a channel is 1 to %d of [a-z0-9_], from a letter",
                        DB_CHANNEL_MAX);
}

int db_listen(db_conn *c, const char *channel, imgsec_err *err)
{
    if (!c->ops->listen)
        return no_listen(c, err);
    int rc = channel_check(channel, err);
    if (rc != IMGSEC_OK)
        return rc;
    for (int i = 0; i < c->nlistens; i++)
        if (strcmp(c->listens[i], channel) == 0)
            return IMGSEC_OK;
    if (c->nlistens >= DB_LISTEN_MAX)
        return err_set(err, IMGSEC_EINVAL, "db: at most %d channels per connection", DB_LISTEN_MAX);
    if (c->ops->listen(c, channel) != 0)
        return db_err(c, err, "listening");
    snprintf(c->listens[c->nlistens++], sizeof c->listens[0], "%s", channel);
    return IMGSEC_OK;
}

int db_notify(db_conn *c, const char *channel, const char *payload, imgsec_err *err)
{
    if (!c->ops->notify)
        return no_listen(c, err);
    int rc = channel_check(channel, err);
    if (rc != IMGSEC_OK)
        return rc;
    if (payload && strlen(payload) > DB_PAYLOAD_MAX)
        return err_set(err, IMGSEC_EINVAL, "db: a notification's payload is at most %d bytes",
                       DB_PAYLOAD_MAX);
    return c->ops->notify(c, channel, payload ? payload : "") == 0 ? IMGSEC_OK
                                                                   : db_err(c, err, "notifying");
}

int db_wait_notify(db_conn *c, int timeout_ms, char *channel, size_t channel_size, char *payload,
                   size_t payload_size, imgsec_err *err)
{
    if (!c->ops->wait_notify) {
        no_listen(c, err);
        return DB_ERROR;
    }
    if (channel && channel_size)
        channel[0] = '\0';
    if (payload && payload_size)
        payload[0] = '\0';
    int rc = c->ops->wait_notify(c, timeout_ms < 0 ? 0 : timeout_ms, channel, channel_size, payload,
                                 payload_size);
    if (rc == DB_ERROR)
        db_err(c, err, "waiting for a notification");
    return rc;
}

/* ---- what differs in kind ---- */

int db_schema_header(db_conn *c, int64_t *version, bool *foreign, imgsec_err *err)
{
    *version = 0;
    *foreign = false;
    return c->ops->schema_header(c, version, foreign) == 0 ? IMGSEC_OK
                                                          : db_err(c, err, "reading the schema version");
}

int db_schema_set_version(db_conn *c, int version, imgsec_err *err)
{
    return c->ops->schema_set_version(c, version) == 0 ? IMGSEC_OK
                                                       : db_err(c, err, "recording the schema version");
}

int db_setup(db_conn *c, imgsec_err *err)
{
    return c->ops->setup(c) == 0 ? IMGSEC_OK : db_err(c, err, "setting up the connection");
}

char *db_ddl(db_conn *c, const char *sqlite_ddl, imgsec_err *err)
{
    char *s = c->ops->ddl(c, sqlite_ddl);
    if (!s)
        db_err(c, err, "translating the schema");
    return s;
}
