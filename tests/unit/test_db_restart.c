/* test_db_restart.c - a store on PostgreSQL across a stop and a start of
 * the database server (db.h "Connection loss").
 *
 * `unit_test_db_restart PG_CLUSTER_SH DIR` starts a cluster of its own in
 * DIR (tests/support/pg_cluster.sh: the shared fixture's cluster is not
 * stopped under the other tests), then, while a second thread stores
 * export task rows in a loop on its own store handle:
 *
 *   - pauses the server (pg_ctl stop -m fast): every call of either
 *     handle fails with IMGSEC_EUNAVAILABLE (503 at the server), none
 *     with another code, and a call before the next attempt is due fails
 *     at once saying so;
 *   - resumes it: both handles reconnect by themselves (no reopening),
 *     and every row whose insert was acknowledged is there.
 *
 * The server's 503 with Retry-After for IMGSEC_EUNAVAILABLE is the error
 * table's (err.h) and http_reply_err's; imgsecd on a PostgreSQL URI is
 * tested end to end once it opens one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgsec/store.h"
#include "imgsec/store_exports.h"
#include "imgsec/util.h"

#include "../support/pg_cluster_run.h"

static const char *cluster_sh, *cluster_dir;
static char uri[PATH_MAX + 64];

static int cluster(const char *cmd, char *out, size_t size)
{
    return pg_cluster_run(cluster_sh, cmd, cluster_dir, out, size);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void task_of(int n, store_export_task *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%032x", n);
    snprintf(t->project_id, sizeof t->project_id, "p1");
    snprintf(t->eps, sizeof t->eps, "*");
    t->export_size = 10;
    snprintf(t->file_format, sizeof t->file_format, "csv");
    t->total = 1;
    t->created_ms = 1000 + n;
}

#define WRITER_MAX 100000

typedef struct {
    atomic_bool stop;
    atomic_int acked[WRITER_MAX]; /* 1: the insert of task n was acknowledged */
    atomic_int n, unavailable, other;
    char other_msg[IMGSEC_ERR_MSG_MAX];
} writer_state;

static void *writer(void *arg)
{
    writer_state *w = arg;
    store *st = NULL;
    imgsec_err err;
    if (store_open(uri, &st, &err) != IMGSEC_OK) {
        atomic_fetch_add(&w->other, 1);
        snprintf(w->other_msg, sizeof w->other_msg, "%s", err.msg);
        return NULL;
    }
    while (!atomic_load(&w->stop)) {
        int n = atomic_load(&w->n);
        if (n >= WRITER_MAX)
            break;
        store_export_task t;
        task_of(100000 + n, &t);
        int rc = store_export_task_insert(st, &t, "{}", NULL, &err);
        if (rc == IMGSEC_OK) {
            atomic_store(&w->acked[n], 1);
            atomic_fetch_add(&w->n, 1);
        } else if (rc == IMGSEC_EUNAVAILABLE) {
            atomic_fetch_add(&w->unavailable, 1);
            sleep_ms(10);
        } else {
            /* a row of an insert that failed with the connection may be
             * there after all (the commit reached the server): then it
             * is a duplicate now; that is the one other outcome allowed */
            if (rc == IMGSEC_ECONFLICT || strstr(err.msg, "duplicate") || strstr(err.msg, "unique")) {
                atomic_store(&w->acked[n], 2);
                atomic_fetch_add(&w->n, 1);
                continue;
            }
            atomic_fetch_add(&w->other, 1);
            snprintf(w->other_msg, sizeof w->other_msg, "%s", err.msg);
            break;
        }
    }
    store_close(st);
    return NULL;
}

static void test_stop_start(void **state)
{
    (void)state;
    store *st = NULL;
    imgsec_err err;
    assert_int_equal(store_open(uri, &st, &err), IMGSEC_OK);
    store_export_task t, got;
    task_of(1, &t);
    assert_int_equal(store_export_task_insert(st, &t, "{}", NULL, &err), IMGSEC_OK);

    writer_state *w = calloc(1, sizeof *w);
    assert_non_null(w);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer, w), 0);
    while (atomic_load(&w->n) < 20 && atomic_load(&w->other) == 0)
        sleep_ms(5);

    assert_int_equal(cluster("pause", NULL, 0), 0);
    /* the server is down: unavailable, and again at once (backoff) */
    int rc = store_export_task_get(st, "p1", t.id, &got, &err);
    if (rc != IMGSEC_EUNAVAILABLE)
        fail_msg("%d: %s", rc, err.msg);
    rc = store_export_task_get(st, "p1", t.id, &got, &err);
    assert_int_equal(rc, IMGSEC_EUNAVAILABLE);
    assert_non_null(strstr(err.msg, "the connection to the database is lost"));
    int before = atomic_load(&w->unavailable);
    while (atomic_load(&w->unavailable) < before + 3 && atomic_load(&w->other) == 0)
        sleep_ms(5);

    assert_int_equal(cluster("resume", NULL, 0), 0);
    /* back: the same handle answers once its backoff has passed */
    int tries = 0;
    while ((rc = store_export_task_get(st, "p1", t.id, &got, &err)) == IMGSEC_EUNAVAILABLE &&
           tries++ < 1000)
        sleep_ms(10);
    assert_int_equal(rc, IMGSEC_OK);
    assert_string_equal(got.id, t.id);
    int n_at_resume = atomic_load(&w->n);
    while (atomic_load(&w->n) < n_at_resume + 20 && atomic_load(&w->other) == 0)
        sleep_ms(5);
    atomic_store(&w->stop, true);
    pthread_join(th, NULL);
    if (atomic_load(&w->other))
        fail_msg("the writer failed otherwise than unavailable: %s", w->other_msg);
    assert_true(atomic_load(&w->unavailable) >= 3);

    /* nothing acknowledged is lost */
    int n = atomic_load(&w->n);
    assert_true(n >= n_at_resume + 20);
    for (int i = 0; i < n; i++) {
        store_export_task x;
        task_of(100000 + i, &x);
        assert_int_equal(store_export_task_get(st, "p1", x.id, &got, &err), IMGSEC_OK);
    }
    free(w);
    store_close(st);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PG_CLUSTER_SH DIR\n", argv[0]);
        return 2;
    }
    cluster_sh = argv[1];
    cluster_dir = argv[2];
    if (cluster("start", uri, sizeof uri) != 0 || !*uri) {
        fprintf(stderr, "%s: cannot start a cluster in %s\n", argv[0], cluster_dir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_start),
    };
    int rc = cmocka_run_group_tests_name("store across a database restart", tests, NULL, NULL);
    cluster("stop", NULL, 0);
    return rc;
}
