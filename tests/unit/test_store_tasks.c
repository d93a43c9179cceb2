/* test_store_tasks.c - unit tests of the task store (imgsec/store_tasks.h):
 * a sync's tags become waiting_for_scan images once; selections (all, a
 * registry, a namespace, an unsynced name:tag, ids) and their refusals,
 * which leave no task; claims oldest first, marking the image scanning;
 * settlement finishing the task; stop; resume after a restart; the
 * running-task bound; a registry deleted under a task; the migration
 * from schema 8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/store_tasks.h"
#include "unit_pg.h"
#include "unit_tmp.h"

typedef struct {
    char path[PATH_MAX]; /* the file, or the PostgreSQL URI */
    char pg_name[64];
    store *st;
    int64_t reg;
} fx;

/* `unit_test_store_tasks pg`: the tasks that touch no image (registry
 * syncs up to the sync itself) on a fresh PostgreSQL database of the test
 * cluster (pg.test_store_tasks, unit_pg.h); the images are not on the
 * driver yet. */
static bool use_pg;

static const char P[] = "P1";
/* A lease no test clock reaches. */
#define LEASE_END 1000000

static int64_t q1(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

static store_registry reg_of(int64_t id)
{
    store_registry r;
    memset(&r, 0, sizeof r);
    r.id = id;
    snprintf(r.name, sizeof r.name, "loop");
    snprintf(r.type, sizeof r.type, "Harbor");
    return r;
}

/* A store with one registry, "loop". */
static fx *open_with_registry(void)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err = {0};
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->path, sizeof f->path,
                                  "test_store_tasks_"),
                     0);
    if (store_open(f->path, &f->st, &err) != IMGSEC_OK)
        fail_msg("store_open: %s", err.msg);
    store_registry_fields rf = {.name = "loop", .type = "Harbor", .api_version = "V2",
                                .protocol = "http", .addr = "127.0.0.1:5000"};
    assert_int_equal(store_registry_add(f->st, P, &rf, 1000, &f->reg, &err), IMGSEC_OK);
    return f;
}

static int setup_registry(void **state)
{
    *state = open_with_registry();
    return 0;
}

static int setup(void **state)
{
    fx *f = open_with_registry();
    imgsec_err err = {0};
    /* a sync found four tags in two namespaces */
    store_sync_tag tags[] = {{"team", "web", "1"}, {"team", "web", "2"}, {"team", "db", "1"},
                             {"", "solo", "latest"}};
    store_registry r = reg_of(f->reg);
    int64_t added = 0;
    assert_int_equal(store_task_sync_apply(f->st, P, &r, tags, 4, 2000, &added, &err), IMGSEC_OK);
    assert_int_equal(added, 4);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    unit_db_remove(use_pg, f->pg_name, f->path);
    free(f);
    return 0;
}

typedef struct {
    store_task t[4];
    size_t n, failures;
    char reason[4096];
} listed;

static void on_task(const store_task *t, void *arg)
{
    listed *l = arg;
    if (l->n < 4)
        l->t[l->n] = *t;
    l->n++;
}

static void on_failure(const store_task_failure *f, void *arg)
{
    listed *l = arg;
    l->failures++;
    snprintf(l->reason, sizeof l->reason, "%s %s/%s:%s", f->reason, f->namespace_, f->image_name,
             f->image_version);
}

static listed list(store *st, task_kind kind, int64_t id)
{
    listed l;
    memset(&l, 0, sizeof l);
    store_task_filter filter = {.kind = kind, .task_id = id, .status = -1};
    int64_t total = 0;
    imgsec_err err = {0};
    assert_int_equal(store_task_list(st, P, &filter, 0, 10, on_task, on_failure, &l, &total, &err),
                     IMGSEC_OK);
    assert_int_equal((int64_t)l.n, total);
    return l;
}

static void test_sync_once(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE scan_status = "
                                 "'waiting_for_scan' AND image_type = 'harbor' AND "
                                 "instance_name = 'loop' AND ep = '0'"),
                     4);
    assert_int_equal(q1(f->path, "SELECT images_num * 10 + (status = 'success') FROM registries"),
                     41);
    /* again with one more tag: one row more, the others untouched */
    store_sync_tag tags[] = {{"team", "web", "1"}, {"team", "web", "3"}};
    store_registry r = reg_of(f->reg);
    int64_t added = 0;
    assert_int_equal(store_task_sync_apply(f->st, P, &r, tags, 2, 3000, &added, &err), IMGSEC_OK);
    assert_int_equal(added, 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 5);
    assert_int_equal(q1(f->path, "SELECT images_num FROM registries"), 2);
    /* a failed sync marks the registry */
    assert_int_equal(store_task_sync_failed(f->st, f->reg, "auth_failed", 4000, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, "SELECT (status = 'fail') + (fail_reason = 'auth_failed') FROM "
                                 "registries"),
                     2);
}

static int64_t scan_task(store *st, bool all, const store_task_query *q,
                         const store_task_select *sel, size_t n, int expect, imgsec_err *err)
{
    int64_t id = 0;
    store_task_query none = {.image_type = -1};
    assert_int_equal(store_task_create_scan(st, P, all, q ? q : &none, sel, n, 0x7fffffff, 0, 5000,
                                            &id, err),
                     expect);
    return id;
}

static void test_selections(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t t1 = scan_task(f->st, true, NULL, NULL, 0, IMGSEC_OK, &err);
    assert_int_equal(list(f->st, TASK_KIND_SCAN, t1).t[0].total, 4);
    store_task_query q = {.namespace_ = "team", .image_name = "web", .image_type = -1};
    int64_t t2 = scan_task(f->st, true, &q, NULL, 0, IMGSEC_OK, &err);
    assert_int_equal(list(f->st, TASK_KIND_SCAN, t2).t[0].total, 2);
    /* a registry's namespace, an unsynced tag, an id, and a repeat: 4 items */
    int64_t img = q1(f->path, "SELECT id FROM images WHERE image_name = 'solo'");
    store_task_select sel[] = {{.registry_id = f->reg, .namespace_ = "team", .image_name = "db"},
                               {.registry_id = f->reg, .namespace_ = "team", .image_name = "web",
                                .image_version = "9"},
                               {.image_id = img},
                               {.image_id = img}};
    int64_t t3 = scan_task(f->st, false, NULL, sel, 4, IMGSEC_OK, &err);
    assert_int_equal(list(f->st, TASK_KIND_SCAN, t3).t[0].total, 3);
    int64_t tasks = q1(f->path, "SELECT count(*) FROM image_tasks");
    /* refusals name the entry and leave no task */
    store_task_select bad_reg[] = {{.registry_id = f->reg}, {.registry_id = 999, .image_name = "a",
                                                             .image_version = "1"}};
    scan_task(f->st, false, NULL, bad_reg, 2, IMGSEC_ENOTFOUND, &err);
    assert_string_equal(err.msg, "invalid parameter: image_info[1].registry_id: the project has no "
                                 "such registry");
    store_task_select bad_id[] = {{.image_id = 424242}};
    scan_task(f->st, false, NULL, bad_id, 1, IMGSEC_ENOTFOUND, &err);
    assert_string_equal(err.msg, "invalid parameter: image_info[0].id: the project has no such "
                                 "registry image");
    store_task_query nothing = {.image_name = "absent", .image_type = -1};
    scan_task(f->st, true, &nothing, NULL, 0, IMGSEC_EINVAL, &err);
    assert_non_null(strstr(err.msg, "the task selects no image"));
    scan_task(f->st, false, NULL, NULL, 0, IMGSEC_EINVAL, &err);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM image_tasks"), tasks);
    /* another project sees no registry */
    int64_t id = 0;
    store_task_select other[] = {{.registry_id = f->reg, .image_name = "a", .image_version = "1"}};
    store_task_query none = {.image_type = -1};
    assert_int_equal(store_task_create_scan(f->st, "P2", false, &none, other, 1, 0, 0, 1, &id, &err),
                     IMGSEC_ENOTFOUND);
    assert_int_equal(store_task_create_sync(f->st, "P2", NULL, 0, 1, &id, &err), IMGSEC_EINVAL);
    int64_t ids[] = {f->reg, 77};
    assert_int_equal(store_task_create_sync(f->st, P, ids, 2, 1, &id, &err), IMGSEC_ENOTFOUND);
    assert_string_equal(err.msg, "invalid parameter: registry_info[1].registry_id: the project has "
                                 "no such registry");
    assert_int_equal(q1(f->path, "SELECT count(*) FROM image_tasks"), tasks);
}

static void test_claim_settle_finish(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    store_task_query q = {.namespace_ = "team", .image_name = "web", .image_type = -1};
    int64_t t = scan_task(f->st, true, &q, NULL, 0, IMGSEC_OK, &err);
    store_task_work w;
    bool found = false;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6000, &err), IMGSEC_OK);
    assert_true(found);
    assert_int_equal(w.task_id, t);
    assert_int_equal(w.kind, TASK_KIND_SCAN);
    assert_string_equal(w.reg.addr, "127.0.0.1:5000");
    assert_string_equal(w.reg.protocol, "http");
    assert_string_equal(w.image_version, "1"); /* oldest first */
    assert_int_equal(w.sealed_len, 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE scan_status = 'scanning'"), 1);
    assert_int_equal(q1(f->path, "SELECT image_version FROM images WHERE scan_status = 'scanning'"),
                     1);
    int64_t first = w.item_id;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6001, &err), IMGSEC_OK);
    assert_true(found);
    assert_string_equal(w.image_version, "2");
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6002, &err), IMGSEC_OK);
    assert_false(found);
    assert_int_equal(store_task_item_done(f->st, first, true, true, NULL, 7000, &err), IMGSEC_OK);
    listed l = list(f->st, TASK_KIND_SCAN, t);
    assert_string_equal(l.t[0].status, "running");
    assert_int_equal(l.t[0].begin_ms, 6000);
    char longer[300];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(store_task_item_done(f->st, w.item_id, false, false, longer, 8000, &err),
                     IMGSEC_OK);
    l = list(f->st, TASK_KIND_SCAN, t);
    assert_string_equal(l.t[0].status, "finished");
    assert_int_equal(l.t[0].end_ms, 8000);
    assert_int_equal(l.t[0].success * 1000 + l.t[0].failed * 100 + l.t[0].risky * 10 + l.t[0].total,
                     1112);
    assert_int_equal(l.failures, 1);
    assert_int_equal(strlen(l.reason), TASK_REASON_CHARS + strlen(" team/web:2"));
}

static void test_stop_resume(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t t = scan_task(f->st, true, NULL, NULL, 0, IMGSEC_OK, &err);
    store_task_work w;
    bool found;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6000, &err), IMGSEC_OK);
    assert_true(found);
    /* a restart: the running item waits again and is claimed again */
    int64_t n = 0;
    assert_int_equal(store_task_resume(f->st, 0, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 1);
    int64_t again = w.item_id;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6100, &err), IMGSEC_OK);
    assert_int_equal(w.item_id, again);
    /* stop: three waiting become stopped, the running one settles later */
    assert_int_equal(store_task_stop(f->st, P, t, 6200, &err), IMGSEC_OK);
    bool any = true;
    assert_int_equal(store_task_pending(f->st, 0, &any, &err), IMGSEC_OK);
    assert_false(any);
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 6300, &err), IMGSEC_OK);
    assert_false(found);
    assert_int_equal(store_task_item_done(f->st, again, true, false, NULL, 6400, &err), IMGSEC_OK);
    listed l = list(f->st, TASK_KIND_SCAN, t);
    assert_string_equal(l.t[0].status, "stopped");
    assert_int_equal(l.t[0].end_ms, 6200);
    assert_int_equal(l.t[0].stopped * 100 + l.t[0].success * 10 + l.t[0].total, 314);
    assert_int_equal(store_task_stop(f->st, P, t, 6500, &err), IMGSEC_OK); /* again: nothing */
    assert_int_equal(list(f->st, TASK_KIND_SCAN, t).t[0].end_ms, 6200);
    assert_int_equal(store_task_stop(f->st, "P2", t, 6500, &err), IMGSEC_ENOTFOUND);
    assert_string_equal(err.msg, "invalid parameter: task_id: the project has no such task");
}

static void test_bound_and_deleted_registry(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t id = 0;
    for (int i = 0; i < TASK_ACTIVE_MAX; i++)
        assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 1, &id, &err), IMGSEC_OK);
    assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 1, &id, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "16 tasks running"));
    int64_t ids[] = {f->reg};
    assert_int_equal(store_registry_delete(f->st, P, ids, 1, "id", &err), IMGSEC_OK);
    store_task_work w;
    bool found = true;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 9000, &err), IMGSEC_OK);
    assert_false(found); /* every item failed on the way: the registry is gone */
    listed l = list(f->st, TASK_KIND_SYNC, id);
    assert_string_equal(l.t[0].status, "finished");
    assert_int_equal(l.t[0].failed, 1);
    assert_string_equal(l.reason, "the registry was deleted /:");
}

static void test_migration_from_8(void **state)
{
    fx *f = *state;
    store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    /* a version-8 file: neither the tasks (9) nor agg_vul's maxima (10)
     * nor its representatives (11) nor the distinct names (12) */
    assert_int_equal(sqlite3_exec(db, "DROP TABLE image_task_items; DROP TABLE image_tasks; "
                                      "DROP TABLE name_counts; "
                                      "DROP INDEX rec_app_name; DROP INDEX rec_file_name; "
                                      "ALTER TABLE agg_vul DROP COLUMN rank; "
                                      "ALTER TABLE agg_vul DROP COLUMN cvss; "
                                      "ALTER TABLE agg_vul DROP COLUMN rep_seq; "
                                      "ALTER TABLE agg_vul DROP COLUMN rep_cvss; "
                                      "PRAGMA user_version = 8",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    imgsec_err err = {0};
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM image_tasks"), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 4); /* kept */
    /* name_counts (16) filled from the records */
    assert_int_equal(q1(f->path, "SELECT count(DISTINCT name) FROM name_counts WHERE kind = 0"),
                     q1(f->path, "SELECT count(DISTINCT app_name) FROM rec_app"));
    assert_int_equal(q1(f->path, "SELECT sum(n) FROM name_counts WHERE kind = 0"),
                     q1(f->path, "SELECT count(*) FROM rec_app WHERE app_name IS NOT NULL"));
    int64_t id = 0;
    assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 1, &id, &err), IMGSEC_OK);
}

/* A sync task from creation to its end: claims, a restart, a failure,
 * the registry marked, the list and its filters. No image is touched. */
static void test_sync_task_cycle(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t t = 0, none[] = {999};
    assert_int_equal(store_task_create_sync(f->st, P, none, 1, 100, &t, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 100, &t, &err), IMGSEC_OK);
    bool any = false;
    assert_int_equal(store_task_pending(f->st, 0, &any, &err), IMGSEC_OK);
    assert_true(any);
    store_task_work w;
    bool found = false;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 200, &err), IMGSEC_OK);
    assert_true(found);
    assert_int_equal(w.task_id, t);
    assert_int_equal(w.kind, TASK_KIND_SYNC);
    assert_int_equal(w.reg.id, f->reg);
    assert_string_equal(w.reg.addr, "127.0.0.1:5000");
    assert_int_equal(w.sealed_len, 0);
    int64_t item = w.item_id;
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 210, &err), IMGSEC_OK);
    assert_false(found); /* its only item runs */
    assert_int_equal(store_task_pending(f->st, 0, &any, &err), IMGSEC_OK);
    assert_false(any);
    int64_t n = 0;
    assert_int_equal(store_task_resume(f->st, LEASE_END, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_task_claim(f->st, "n1", LEASE_END, &w, &found, 220, &err), IMGSEC_OK);
    assert_true(found);
    assert_int_equal(w.item_id, item);
    assert_int_equal(store_task_sync_failed(f->st, f->reg, "auth_failed", 230, &err), IMGSEC_OK);
    assert_int_equal(store_task_item_done(f->st, item, false, false, "login refused", 240, &err),
                     IMGSEC_OK);
    listed l = list(f->st, TASK_KIND_SYNC, t);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.t[0].status, "finished");
    assert_string_equal(l.t[0].task_type, "manualSync");
    assert_int_equal(l.t[0].begin_ms, 200);
    assert_int_equal(l.t[0].end_ms, 240);
    assert_int_equal(l.t[0].total * 10 + l.t[0].failed, 11);
    assert_int_equal(l.failures, 1);
    assert_string_equal(l.reason, "login refused /:");
    int64_t ok = -1, bad = -1;
    assert_int_equal(store_registry_counts(f->st, P, 0, &ok, &bad, &err), IMGSEC_OK);
    assert_int_equal(ok * 10 + bad, 1);
    /* the list's filters: by name (kind-id), by status, by time */
    char name[48];
    snprintf(name, sizeof name, "image_sync-%lld", (long long)t);
    store_task_filter flt = {.kind = TASK_KIND_SYNC, .name = name, .status = -1};
    int64_t total = -1;
    listed m;
    memset(&m, 0, sizeof m);
    assert_int_equal(store_task_list(f->st, P, &flt, 0, 10, on_task, on_failure, &m, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 1);
    flt.name = "image_scan-";
    assert_int_equal(store_task_list(f->st, P, &flt, 0, 10, on_task, on_failure, &m, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 0);
    flt = (store_task_filter){.kind = TASK_KIND_SYNC, .status = 1, .created_from = 100,
                              .ended_before = 240};
    assert_int_equal(store_task_list(f->st, P, &flt, 0, 10, on_task, on_failure, &m, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 1);
    flt.status = 0; /* running */
    assert_int_equal(store_task_list(f->st, P, &flt, 0, 10, on_task, on_failure, &m, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 0);
    flt.status = 1;
    flt.ended_before = 239;
    assert_int_equal(store_task_list(f->st, P, &flt, 0, 10, on_task, on_failure, &m, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 0);
}

/* Claimers, each on a store handle of its own, claiming sync items until
 * none is left. */
#define CLAIMERS 4
#define CLAIM_TASKS 12
typedef struct {
    const char *target;
    char owner[8];
    int64_t got[CLAIM_TASKS];
    int n, rc;
} claimer;

static void *claim_all(void *arg)
{
    claimer *c = arg;
    store *st = NULL;
    imgsec_err err = {0};
    if ((c->rc = store_open(c->target, &st, &err)) != IMGSEC_OK)
        return NULL;
    for (;;) {
        store_task_work w;
        bool found = false;
        if ((c->rc = store_task_claim(st, c->owner, LEASE_END, &w, &found, 500, &err)) != IMGSEC_OK ||
            !found || c->n >= CLAIM_TASKS)
            break;
        c->got[c->n++] = w.item_id;
    }
    store_close(st);
    return NULL;
}

/* Two claimers never get the same item: CLAIMERS threads claim
 * CLAIM_TASKS items at once (FOR UPDATE SKIP LOCKED on PostgreSQL, the
 * single writer on SQLite); every item is claimed exactly once. */
static void test_claims_disjoint(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t t = 0;
    for (int i = 0; i < CLAIM_TASKS; i++) {
        if (i == TASK_ACTIVE_MAX - 1) /* room for more running tasks */
            break;
        assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 100 + i, &t, &err), IMGSEC_OK);
    }
    claimer c[CLAIMERS];
    pthread_t th[CLAIMERS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < CLAIMERS; i++) {
        c[i].target = f->path;
        snprintf(c[i].owner, sizeof c[i].owner, "c%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, claim_all, &c[i]), 0);
    }
    int total = 0;
    int64_t seen[CLAIMERS * CLAIM_TASKS];
    for (int i = 0; i < CLAIMERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].rc, IMGSEC_OK);
        for (int k = 0; k < c[i].n; k++) {
            for (int j = 0; j < total; j++)
                assert_true(seen[j] != c[i].got[k]);
            seen[total++] = c[i].got[k];
        }
    }
    assert_int_equal(total, CLAIM_TASKS);
    bool any = true;
    assert_int_equal(store_task_pending(f->st, 600, &any, &err), IMGSEC_OK);
    assert_false(any);
}

/* Leases: a live lease is not taken, a renewed one neither; a lease that
 * ran out is taken over by another owner, counted; the fourth time the
 * item fails with the reason stored, and its task finishes. Resume at
 * start: every running item on SQLite, only gone owners' on PostgreSQL. */
static void test_leases_takeover(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    int64_t t1 = 0, t2 = 0, n = 0;
    assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 100, &t1, &err), IMGSEC_OK);
    assert_int_equal(store_task_create_sync(f->st, P, NULL, 0, 101, &t2, &err), IMGSEC_OK);
    store *other = NULL;
    assert_int_equal(store_open(f->path, &other, &err), IMGSEC_OK);
    store_task_work w;
    bool found = false, any = false;
    /* node A takes item 1 until 1000, node B item 2 until 1000 */
    assert_int_equal(store_task_claim(f->st, "A", 1000, &w, &found, 200, &err), IMGSEC_OK);
    assert_true(found);
    int64_t i1 = w.item_id;
    assert_int_equal(store_task_claim(other, "B", 1000, &w, &found, 200, &err), IMGSEC_OK);
    assert_true(found);
    int64_t i2 = w.item_id;
    assert_true(i1 != i2);
    assert_int_equal(store_task_claim(other, "B", 1000, &w, &found, 999, &err), IMGSEC_OK);
    assert_false(found); /* both leases live */
    assert_int_equal(store_task_pending(other, 999, &any, &err), IMGSEC_OK);
    assert_false(any);
    /* A renews; B does not (it died) */
    assert_int_equal(store_task_renew(f->st, "A", 5000, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_task_renew(f->st, "nobody", 5000, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_task_pending(other, 1000, &any, &err), IMGSEC_OK);
    assert_true(any);
    /* C takes item 2 over, three times in all, from owners that die */
    const char *owners[] = {"C", "D", "E"};
    for (int k = 0; k < 3; k++) {
        int64_t now = 1000 + 100 * k;
        assert_int_equal(store_task_claim(other, owners[k], now + 100, &w, &found, now, &err),
                         IMGSEC_OK);
        assert_true(found);
        assert_int_equal(w.item_id, i2);
        assert_int_equal(w.task_id, t2);
    }
    /* the fourth stop: failed with the reason, its task over */
    assert_int_equal(store_task_claim(other, "F", 1500, &w, &found, 1400, &err), IMGSEC_OK);
    assert_false(found); /* item 1 is A's till 5000 */
    listed l = list(f->st, TASK_KIND_SYNC, t2);
    assert_string_equal(l.t[0].status, "finished");
    assert_int_equal(l.t[0].end_ms, 1400);
    assert_int_equal(l.t[0].failed, 1);
    assert_int_equal(l.failures, 1);
    assert_string_equal(l.reason, TASK_TAKEOVER_REASON " /:");
    l = list(f->st, TASK_KIND_SYNC, t1);
    assert_string_equal(l.t[0].status, "running");
    assert_int_equal(l.t[0].running, 1);
    /* a start at 2000: A's lease is live (PostgreSQL leaves it), SQLite
     * takes every running item for its own server's */
    assert_int_equal(store_task_resume(other, 2000, &n, &err), IMGSEC_OK);
    assert_int_equal(n, use_pg ? 0 : 1);
    assert_int_equal(store_task_resume(other, 5000, &n, &err), IMGSEC_OK);
    assert_int_equal(n, use_pg ? 1 : 0);
    assert_int_equal(store_task_claim(other, "G", 9000, &w, &found, 5001, &err), IMGSEC_OK);
    assert_true(found);
    assert_int_equal(w.item_id, i1);
    store_close(other);
}

/* A scan item taken over a fourth time fails, and so does its image,
 * which the last server left scanning; the claim goes on to the next. */
static void test_scan_takeover_fails_image(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    scan_task(f->st, true, NULL, NULL, 0, IMGSEC_OK, &err);
    store_task_work w;
    bool found = false;
    assert_int_equal(store_task_claim(f->st, "A", 100, &w, &found, 0, &err), IMGSEC_OK);
    assert_true(found);
    int64_t first = w.item_id;
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE scan_status = 'scanning'"), 1);
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(store_task_claim(f->st, "B", 100 * k + 100, &w, &found, 100 * k, &err),
                         IMGSEC_OK);
        assert_int_equal(w.item_id, first);
    }
    assert_int_equal(store_task_claim(f->st, "C", 9000, &w, &found, 400, &err), IMGSEC_OK);
    assert_true(found);
    assert_true(w.item_id != first);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE scan_status = 'failed'"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE scan_status = 'scanning'"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM image_task_items WHERE state = 'failed' AND "
                                 "failed_reason = '" TASK_TAKEOVER_REASON "'"),
                     1);
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    if (pg) {
        use_pg = true;
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test_setup_teardown(test_sync_task_cycle, setup_registry, teardown),
            cmocka_unit_test_setup_teardown(test_bound_and_deleted_registry, setup_registry, teardown),
            cmocka_unit_test_setup_teardown(test_claims_disjoint, setup_registry, teardown),
            cmocka_unit_test_setup_teardown(test_leases_takeover, setup_registry, teardown),
        };
        return cmocka_run_group_tests_name("store tasks on PostgreSQL", pg_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_settle_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_and_deleted_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_task_cycle, setup_registry, teardown),
        cmocka_unit_test_setup_teardown(test_claims_disjoint, setup_registry, teardown),
        cmocka_unit_test_setup_teardown(test_leases_takeover, setup_registry, teardown),
        cmocka_unit_test_setup_teardown(test_scan_takeover_fails_image, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
