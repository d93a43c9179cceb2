/* store_lists.c - the SQL side of the finding lists (imgsec/list.h).
 *
 * list.c builds each list's SQL from its parameters (every value bound,
 * never spliced into the text) and reads the rows through here, inside
 * one read transaction per list call, so that the total and the page come
 * from one state of the file. A statement is prepared per call: the text
 * depends on which filters are present. */
#include <string.h>

#include "imgsec/list.h"
#include "store_int.h"

#define LIST_COLS_MAX 32

typedef struct {
    bool (*gone)(void *arg);
    void *arg;
    bool fired;
} watch;

/* One watch per thread: a store connection is used by one thread at a
 * time, between store_list_watch(st, gone) and store_list_watch(st, NULL). */
static _Thread_local watch W;

static int watch_step(void *arg)
{
    watch *w = arg;
    if (w->gone && !w->fired && w->gone(w->arg))
        w->fired = true;
    return w->fired; /* non-zero: the step is interrupted */
}

/* On both engines a list whose client left is stopped mid-query
 * (db_progress: SQLite's progress handler, PostgreSQL's cancel). */
void store_list_watch(store *st, bool (*gone)(void *arg), void *arg)
{
    W = (watch){gone, arg, false};
    db_progress(st->conn, STORE_LIST_WATCH_STEPS, gone ? watch_step : NULL, gone ? &W : NULL);
}

void *store_list_cache(store *st)
{
    return st->list_cache;
}

void store_list_cache_set(store *st, void *cache, void (*free_fn)(void *))
{
    if (st->list_cache && st->list_cache_free && st->list_cache != cache)
        st->list_cache_free(st->list_cache);
    st->list_cache = cache;
    st->list_cache_free = cache ? free_fn : NULL;
}

int store_list_query(store *st, const char *sql, const store_list_bind *binds, size_t n,
                     int (*row)(const store_cell *cells, int ncols, void *arg), void *arg,
                     imgsec_err *err)
{
    db_stmt *s = store_dprepare(st, sql, "preparing a list query", err);
    if (!s)
        return store_drc(err);
    if (n > (size_t)db_param_count(s)) {
        db_finalize(s);
        return err_set(err, IMGSEC_EINTERNAL, "store: a list query has more values than parameters");
    }
    for (size_t i = 0; i < n; i++) {
        if (binds[i].s)
            db_bind_text(s, (int)i + 1, binds[i].s, -1);
        else
            db_bind_int64(s, (int)i + 1, binds[i].i);
    }
    store_cell cells[LIST_COLS_MAX];
    int step, rc = IMGSEC_OK;
    while ((step = db_step(s)) == DB_ROW) {
        int ncols = db_column_count(s); /* known from the first step on (db.h) */
        if (ncols > LIST_COLS_MAX) {
            rc = err_set(err, IMGSEC_EINTERNAL, "store: a list query has too many columns");
            break;
        }
        for (int c = 0; c < ncols; c++)
            store_cell_from_column(s, c, &cells[c]);
        if ((rc = row(cells, ncols, arg)) != 0)
            break;
    }
    if (rc == IMGSEC_OK && step == DB_ERROR && W.fired)
        rc = err_set(err, IMGSEC_EINTERNAL, "client gone");
    else if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "reading a list");
    db_finalize(s);
    return rc;
}
