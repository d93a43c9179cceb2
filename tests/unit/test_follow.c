/* test_follow.c - the follower keeps the index equal to the file.
 *
 * A store handle of the test plays the other process (the CLI, or the
 * server's own ingest connection); the follower has connections of its
 * own. What is checked: the start-up build, that follower_sync returns
 * only once every commit made before it is in the index, that batches are
 * seen whole, and that readers keep going while ingest runs. No timing is
 * asserted: a wait that would never end fails by the ctest timeout.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "imgsec/doc.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "imgsec/store.h"
#include "unit_tmp.h"

typedef struct {
    char path[512];
    store *st;          /* the writer: another connection than the follower's */
    imgsec_index *ix;
    follower *f;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(unit_tmp_db_path(f->path, sizeof f->path, "test_follow_"), 0);
    imgsec_err err;
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    assert_non_null(f->ix = index_new());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    follower_close(f->f);
    index_free(f->ix);
    store_close(f->st);
    unit_tmp_db_remove(f->path);
    free(f);
    return 0;
}

static void open_follower(fx *f)
{
    imgsec_err err;
    if (follower_open(f->path, f->ix, &f->f, &err) != IMGSEC_OK)
        fail_msg("follower_open: %s", err.msg);
}

/* Stores n images named <prefix>-<i>, each with `apps` app records, in one
 * transaction (one bulk ingest). */
static void ingest(store *st, const char *prefix, int n, int apps)
{
    imgsec_doc *docs = calloc((size_t)n, sizeof *docs);
    store_ingest_result *res = calloc((size_t)n, sizeof *res);
    assert_non_null(docs);
    assert_non_null(res);
    imgsec_err err;
    for (int i = 0; i < n; i++) {
        char text[512];
        int len = snprintf(text, sizeof text,
                           "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"%s-%d\","
                           " \"scan_status\": \"success\"}, \"apps\": [",
                           prefix, i);
        for (int a = 0; a < apps; a++)
            len += snprintf(text + len, sizeof text - (size_t)len, "%s{\"app_name\": \"a%d\"}",
                            a ? ", " : "", a);
        snprintf(text + len, sizeof text - (size_t)len, "]}");
        json_error_t je;
        json_t *root = json_loads(text, 0, &je);
        assert_non_null(root);
        assert_int_equal(doc_from_json(root, NULL, &docs[i], &err), IMGSEC_OK);
        json_decref(root);
    }
    if (store_ingest(st, "P1", "0", docs, (size_t)n, NULL, res, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    for (int i = 0; i < n; i++)
        doc_free(&docs[i]);
    free(docs);
    free(res);
}

static int64_t apps_total(imgsec_index *ix)
{
    stat_query q;
    filter_init(&q, REPORT_APPS);
    q.operate_all = true;
    index_scope sc = {"P1", true, NULL, 0};
    int64_t total = -1;
    imgsec_err err;
    if (index_count(ix, &sc, &q, &total, &err) != IMGSEC_OK)
        fail_msg("index_count: %s", err.msg);
    return total;
}

static void sync_ok(follower *f)
{
    imgsec_err err;
    if (follower_sync(f, &err) != IMGSEC_OK)
        fail_msg("follower_sync: %s", err.msg);
}

/* ---- tests ---- */

static void test_open_builds_from_the_file(void **state)
{
    fx *f = *state;
    ingest(f->st, "a", 3, 2);
    ingest(f->st, "b", 2, 5);
    open_follower(f);
    assert_int_equal(index_size(f->ix), 5);
    assert_int_equal(apps_total(f->ix), 3 * 2 + 2 * 5);
    assert_int_equal(follower_rebuilds(f->f), 1);
    assert_true(follower_position(f->f) > 0);
}

/* What was committed before follower_sync is in the index when it returns. */
static void test_sync_sees_every_commit(void **state)
{
    fx *f = *state;
    open_follower(f);
    assert_int_equal(apps_total(f->ix), 0);
    for (int round = 1; round <= 20; round++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "r%d", round);
        ingest(f->st, prefix, 3, 1);
        sync_ok(f->f);
        assert_int_equal(apps_total(f->ix), round * 3);
        assert_int_equal(index_size(f->ix), (size_t)round * 3);
    }
    /* replacing an image (same identity) and deleting one */
    ingest(f->st, "r1", 1, 7); /* r1-0: 1 app -> 7 */
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), 60 + 6);
    imgsec_err err;
    assert_int_equal(store_image_delete(f->st, "P1", 1, NULL, &err), IMGSEC_OK);
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), 66 - 7);
    assert_int_equal(index_size(f->ix), 59);
    int64_t pos = follower_position(f->f);
    sync_ok(f->f); /* nothing new: nothing moves */
    sync_ok(f->f);
    assert_int_equal(follower_position(f->f), pos);
    assert_int_equal(follower_rebuilds(f->f), 1);
}

/* Commits are applied without any request asking (the follower polls). */
static void test_commits_applied_unasked(void **state)
{
    fx *f = *state;
    open_follower(f);
    ingest(f->st, "u", 4, 1);
    while (index_size(f->ix) != 4) { /* bounded by the ctest timeout */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(apps_total(f->ix), 4);
}

/* Readers in two threads sync and count while a writer commits bulk
 * ingests of BULK images (1 app each): every answer is a whole number of
 * bulks (never half of one), and never fewer than the bulks committed
 * before the sync began. Each count made inside a view (follower_view)
 * is recorded under the content the view names: one content, one total,
 * whichever thread counted it. */
#define BULK 40
#define BULKS 30
#define CONTENTS (4 * BULKS + 8) /* contents a run can name, and more */

typedef struct {
    fx *f;
    atomic_int committed;
    atomic_int stop;
    atomic_int bad_partial, bad_stale, bad_view;
    atomic_long reads, viewed;
    atomic_llong total_of[CONTENTS]; /* -1: no count made in that content yet */
} live_state;

/* Records that a count inside view v gave total. */
static void record_view(live_state *ls, const follower_view *v, int64_t total)
{
    if (v->content < 0 || v->content >= CONTENTS) {
        atomic_fetch_add(&ls->bad_view, 1);
        return;
    }
    long long none = -1;
    if (!atomic_compare_exchange_strong(&ls->total_of[v->content], &none, total) && none != total)
        atomic_fetch_add(&ls->bad_view, 1);
    atomic_fetch_add(&ls->viewed, 1);
}

static void *live_reader(void *arg)
{
    live_state *ls = arg;
    while (!atomic_load(&ls->stop)) {
        int before = atomic_load(&ls->committed);
        imgsec_err err;
        if (follower_sync(ls->f->f, &err) != IMGSEC_OK) {
            atomic_fetch_add(&ls->bad_stale, 1);
            continue;
        }
        follower_view v;
        bool in_view = follower_view_begin(ls->f->f, &v);
        int64_t total = apps_total(ls->f->ix);
        if (in_view && follower_view_still(ls->f->f, &v))
            record_view(ls, &v, total);
        if (total % BULK != 0)
            atomic_fetch_add(&ls->bad_partial, 1);
        if (total < (int64_t)before * BULK)
            atomic_fetch_add(&ls->bad_stale, 1);
        atomic_fetch_add(&ls->reads, 1);
    }
    return NULL;
}

static void test_readers_during_ingest(void **state)
{
    fx *f = *state;
    open_follower(f);
    live_state ls = {.f = f};
    for (int i = 0; i < CONTENTS; i++)
        atomic_init(&ls.total_of[i], -1);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, live_reader, &ls), 0);
    for (int b = 0; b < BULKS; b++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "bulk%d", b);
        ingest(f->st, prefix, BULK, 1);
        atomic_fetch_add(&ls.committed, 1);
    }
    while (atomic_load(&ls.reads) < 100) /* make sure the readers ran */
        sched_yield();
    atomic_store(&ls.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&ls.bad_partial), 0);
    assert_int_equal(atomic_load(&ls.bad_stale), 0);
    assert_int_equal(atomic_load(&ls.bad_view), 0);
    assert_true(atomic_load(&ls.viewed) > 0);
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), BULK * BULKS);
}

/* The view's content moves with the images, and only with them: a commit
 * that touches none (a user added, a grant changed) leaves it, an ingest
 * and a delete move it, and a view taken before a move is no longer
 * still. */
static void test_view_moves_with_images_only(void **state)
{
    fx *f = *state;
    ingest(f->st, "v", 2, 1);
    open_follower(f);
    follower_view v0, v;
    assert_true(follower_view_begin(f->f, &v0));
    imgsec_err err;
    store_grant g = {.project_id = "P1", .role = ROLE_READER, .eps_all = true};
    assert_int_equal(store_user_add(f->st, "d", "u", "$argon2id$x", &g, &err), IMGSEC_OK);
    g.role = ROLE_WRITER;
    assert_int_equal(store_user_grant(f->st, "d", "u", &g, &err), IMGSEC_OK);
    sync_ok(f->f);
    assert_true(follower_view_begin(f->f, &v));
    assert_int_equal(v.content, v0.content);
    assert_true(follower_view_still(f->f, &v0));
    ingest(f->st, "w", 1, 1);
    sync_ok(f->f);
    assert_true(follower_view_begin(f->f, &v));
    assert_int_equal(v.content, v0.content + 1);
    assert_false(follower_view_still(f->f, &v0));
    assert_int_equal(store_image_delete(f->st, "P1", 1, NULL, &err), IMGSEC_OK);
    sync_ok(f->f);
    follower_view v2;
    assert_true(follower_view_begin(f->f, &v2));
    assert_int_equal(v2.content, v.content + 1);
}

/* SQL on the file through a plain connection of its own: the way to put
 * a row there that the store would never write. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

typedef struct {
    fx *f;
} bad_commit;

/* Runs while no sync can: one ingest of three images, the last of which
 * (by id, the order the follower reads them in) then gets an image_type
 * the store cannot read. */
static int commit_bad_batch(int64_t position, void *arg)
{
    (void)position;
    bad_commit *b = arg;
    ingest(b->f->st, "b", 3, 5);
    raw_exec(b->f->path, "UPDATE images SET image_type = 'bogus' WHERE image_name = 'b-2'");
    return 0;
}

/* A sync that fails part-way publishes nothing: readers keep the last
 * whole state (index.h: none or all of a batch), through the failed
 * incremental sync and the failed rebuild that follows it; once the row
 * is repaired, the next sync brings everything. */
static void test_failed_sync_publishes_nothing(void **state)
{
    fx *f = *state;
    ingest(f->st, "a", 3, 1);
    open_follower(f);
    assert_int_equal(apps_total(f->ix), 3);
    bad_commit b = {f};
    assert_int_equal(follower_hold(f->f, commit_bad_batch, &b), 0);
    for (int i = 0; i < 2; i++) {
        imgsec_err err;
        assert_int_not_equal(follower_sync(f->f, &err), IMGSEC_OK);
        assert_int_equal(apps_total(f->ix), 3); /* not 3 + 5 + 5 */
        assert_int_equal(index_size(f->ix), 3);
    }
    raw_exec(f->path, "UPDATE images SET image_type = 'local_image' WHERE image_name = 'b-2'");
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), 3 + 3 * 5);
    assert_int_equal(index_size(f->ix), 6);
    /* the aborted batch had changed the hidden instance: rebuilt */
    assert_int_equal(follower_rebuilds(f->f), 2);
    ingest(f->st, "c", 1, 1); /* and both instances follow again */
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), 3 + 3 * 5 + 1);
    ingest(f->st, "d", 1, 1);
    sync_ok(f->f);
    assert_int_equal(apps_total(f->ix), 3 + 3 * 5 + 2);
}

/* The start-up build reads on a second thread and indexes on the
 * caller's (follow.c, "a full rebuild"): more images than its queue
 * holds, so the reader waits for room; then a file where the index
 * refuses one image half way (a count beyond 32 bits) and one where the
 * reader fails (a bad image_type): the open fails with that error, and
 * works again once the row is fixed. */
static void test_rebuild_reads_on_a_second_thread(void **state)
{
    fx *f = *state;
    ingest(f->st, "a", 1500, 1);
    ingest(f->st, "b", 1500, 2);
    open_follower(f);
    assert_int_equal(index_size(f->ix), 3000);
    assert_int_equal(apps_total(f->ix), 1500 + 3000);
    follower_close(f->f);
    f->f = NULL;

    imgsec_err err;
    raw_exec(f->path, "UPDATE images SET n_app = 5000000000 WHERE image_name = 'a-1400'");
    imgsec_index *ix = index_new();
    assert_non_null(ix);
    follower *g = NULL;
    assert_int_equal(follower_open(f->path, ix, &g, &err), IMGSEC_EINVAL);
    assert_null(g);
    assert_non_null(strstr(err.msg, "record count out of range"));
    raw_exec(f->path, "UPDATE images SET n_app = 1 WHERE image_name = 'a-1400'");
    raw_exec(f->path, "UPDATE images SET image_type = 'bogus' WHERE image_name = 'b-1200'");
    assert_int_equal(follower_open(f->path, ix, &g, &err), IMGSEC_EINTERNAL);
    assert_null(g);
    assert_non_null(strstr(err.msg, "bad attribute"));
    raw_exec(f->path, "UPDATE images SET image_type = 'local_image' WHERE image_name = 'b-1200'");
    assert_int_equal(follower_open(f->path, ix, &g, &err), IMGSEC_OK);
    assert_int_equal(index_size(ix), 3000);
    assert_int_equal(apps_total(ix), 1500 + 3000);
    follower_close(g);
    index_free(ix);
}

/* follower_hold from a thread of the test: the follower thread's syncs
 * wait until released. */
typedef struct {
    fx *f;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool held, release;
} holder;

static int hold_until_released(int64_t position, void *arg)
{
    (void)position;
    holder *h = arg;
    pthread_mutex_lock(&h->lock);
    h->held = true;
    pthread_cond_broadcast(&h->cond);
    while (!h->release)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void *holder_main(void *arg)
{
    holder *h = arg;
    follower_hold(h->f->f, hold_until_released, h);
    return NULL;
}

typedef struct {
    fx *f;
    atomic_int done;
    size_t size_at_return;
} syncer;

static void *syncer_main(void *arg)
{
    syncer *s = arg;
    sync_ok(s->f->f);
    s->size_at_return = index_size(s->f->ix);
    atomic_store(&s->done, 1);
    return NULL;
}

/* A commit that changes no image needs no sync: follower_sync returns
 * although the follower thread can run none (held), because the change
 * log still ends at the index's position (at start: /readyz answers while
 * the thread copies the second instance). A commit that does change an
 * image is still waited for: the sync returns only with it in the index. */
static void test_sync_without_image_change_needs_no_batch(void **state)
{
    fx *f = *state;
    ingest(f->st, "q", 3, 1);
    open_follower(f);
    int64_t pos = follower_position(f->f);
    holder h = {.f = f};
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, holder_main, &h), 0);
    pthread_mutex_lock(&h.lock);
    while (!h.held)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);

    raw_exec(f->path, "CREATE TABLE t_quiet(x); INSERT INTO t_quiet VALUES (1)");
    sync_ok(f->f); /* without the log's check: waits for the held thread forever */
    follower_stats fs;
    follower_stats_get(f->f, &fs);
    assert_int_equal(fs.quiet, 1);
    assert_int_equal(follower_position(f->f), pos);
    assert_int_equal(index_size(f->ix), 3);

    ingest(f->st, "q2", 1, 4); /* an image: the log moves */
    syncer s = {.f = f};
    atomic_init(&s.done, 0);
    pthread_t ts;
    assert_int_equal(pthread_create(&ts, NULL, syncer_main, &s), 0);
    struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
    assert_int_equal(atomic_load(&s.done), 0); /* waits for the held thread */
    pthread_mutex_lock(&h.lock);
    h.release = true;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pthread_join(ts, NULL), 0);
    assert_int_equal(s.size_at_return, 4);
    assert_int_equal(apps_total(f->ix), 3 + 4);
    assert_true(follower_position(f->f) > pos);
    follower_stats_get(f->f, &fs);
    assert_int_equal(fs.quiet, 1);
    pthread_cond_destroy(&h.cond);
    pthread_mutex_destroy(&h.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_builds_from_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_sees_every_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_applied_unasked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_during_ingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_moves_with_images_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_publishes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_reads_on_a_second_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_without_image_change_needs_no_batch, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
