/* test_export_store.c - what the store does for exports
 * (imgsec/store_exports.h): the record walk inside a snapshot (natural-key
 * order, record filters, limit, the per-image count check, isolation from
 * later commits), and the life of task rows (project isolation, finish,
 * interrupt, expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/doc.h"
#include "imgsec/store.h"
#include "imgsec/store_exports.h"
#include "unit_pg.h"
#include "unit_tmp.h"

static char DB[512];

static const char *DOCS =
    "{\"image\": {\"image_type\": \"private_image\", \"image_name\": \"a\", \"scan_status\": \"success\"},"
    " \"vulnerabilities\": ["
    "  {\"vul_id\": \"CVE-2\", \"vul_type\": \"app_vul\", \"severity\": \"low\", \"app_name\": \"z\"},"
    "  {\"vul_id\": \"CVE-1\", \"vul_type\": \"linux_vul\", \"severity\": \"high\", \"app_name\": \"b\"},"
    "  {\"vul_id\": \"CVE-1\", \"vul_type\": \"linux_vul\", \"severity\": \"low\"},"
    "  {\"vul_id\": \"CVE-2\", \"vul_type\": \"app_vul\", \"severity\": \"low\", \"app_name\": \"a\"}],"
    " \"build_command_risks\": ["
    "  {\"rule_id\": \"R2\", \"risk_name\": \"runs as root\", \"risk_level\": \"high\", \"build_instruction\": \"USER root\"},"
    "  {\"rule_id\": \"R1\", \"risk_name\": \"curl to shell\", \"risk_level\": \"high\", \"build_instruction\": \"RUN x\"},"
    "  {\"rule_id\": \"R1\", \"risk_name\": \"curl to shell\", \"risk_level\": \"low\", \"build_instruction\": \"RUN y\"}]}\n"
    "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"b\"},"
    " \"vulnerabilities\": [{\"vul_id\": \"CVE-3\", \"vul_type\": \"app_vul\", \"severity\": \"medium\"}]}\n";

static void ingest(store *st, const char *text)
{
    doc_list docs = {0};
    imgsec_err err = {0};
    assert_int_equal(doc_list_parse(text, strlen(text), true, &docs, &err), IMGSEC_OK);
    assert_int_equal(store_ingest(st, "P1", "0", docs.items, docs.n, NULL, NULL, NULL, NULL, &err),
                     IMGSEC_OK);
    doc_list_free(&docs);
}

/* `unit_test_export_store pg`: the task and owner rows on a fresh
 * PostgreSQL database of the test cluster (pg.test_export_store,
 * unit_pg.h); DB is then its URI. */
static bool use_pg;
static char pg_name[64];

static int setup(void **state)
{
    (void)state;
    return unit_db_make(use_pg, pg_name, sizeof pg_name, DB, sizeof DB, "imgsec-export-store-");
}

static int teardown(void **state)
{
    (void)state;
    unit_db_remove(use_pg, pg_name, DB);
    return 0;
}

/* A database of the case's own, whatever the group's (SQLite: the cases
 * of the group share one file). */
static char saved_db[sizeof DB], saved_pg[sizeof pg_name];

static int setup_own(void **state)
{
    memcpy(saved_db, DB, sizeof DB);
    memcpy(saved_pg, pg_name, sizeof pg_name);
    return setup(state);
}

static int teardown_own(void **state)
{
    teardown(state);
    memcpy(DB, saved_db, sizeof DB);
    memcpy(pg_name, saved_pg, sizeof pg_name);
    return 0;
}

/* The integer of a one-row query, through the driver (either engine). */
static int64_t dq1(const char *sql)
{
    db_conn *c = NULL;
    imgsec_err err;
    if (db_open(DB, &c, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    db_stmt *s = db_prepare(c, sql, false, "test", &err);
    if (!s)
        fail_msg("%s: %s", sql, err.msg);
    assert_int_equal(db_step(s), DB_ROW);
    int64_t v = db_column_int64(s, 0);
    db_finalize(s);
    db_close(c);
    return v;
}

typedef struct {
    char rows[16][96];
    size_t n;
} seen;

/* "image|vul_id|app_name|severity" per row, or for build risks
 * "image|rule_id|build_instruction|risk_level". */
static int collect(const store_cell *c, size_t n, void *arg)
{
    seen *s = arg;
    (void)n;
    const store_cell *r = c + STORE_EXPORT_IMAGE_COLS;
    /* vulnerability: vul_id, app_name, severity; build: rule_id, build_instruction, risk_level */
    const store_cell *k1 = &r[0], *k2 = &r[3], *k3 = &r[2];
    snprintf(s->rows[s->n++], sizeof s->rows[0], "%s|%s|%s|%s", c[0].s,
             k1->kind == CELL_STRING ? k1->s : "-", k2->kind == CELL_STRING ? k2->s : "-",
             k3->kind == CELL_STRING ? k3->s : "-");
    return 0;
}

static void test_walk_order_filters_snapshot(void **state)
{
    (void)state;
    store *st, *other;
    imgsec_err err = {0};
    assert_int_equal(store_open(DB, &st, &err), IMGSEC_OK);
    assert_int_equal(store_open(DB, &other, &err), IMGSEC_OK);
    ingest(other, DOCS);

    int64_t pos = -1;
    assert_int_equal(store_snapshot_begin(st, &pos, &err), IMGSEC_OK);
    assert_true(pos >= 2);
    /* a commit after the snapshot began is not seen by it */
    ingest(other, "{\"image\": {\"image_type\": \"private_image\", \"image_name\": \"a\"}, "
                  "\"vulnerabilities\": []}");

    stat_query q = {.report = REPORT_VULNERABILITY, .vul_type = -1, .build_level = -1};
    store_record_filter f;
    assert_int_equal(store_record_filter_init(&f, &q, &err), IMGSEC_OK);
    int64_t ids[] = {1, 2}, counts[] = {4, 1};
    seen s = {0};
    assert_int_equal(store_records_walk(st, &f, ids, counts, 2, 100, collect, &s, &err), IMGSEC_OK);
    assert_int_equal(s.n, 5);
    /* vul_id, then app_name (absent first), app_version, app_path, then seq */
    assert_string_equal(s.rows[0], "1|CVE-1|-|low");
    assert_string_equal(s.rows[1], "1|CVE-1|b|high");
    assert_string_equal(s.rows[2], "1|CVE-2|a|low");
    assert_string_equal(s.rows[3], "1|CVE-2|z|low");
    assert_string_equal(s.rows[4], "2|CVE-3|-|medium");

    /* limit */
    s.n = 0;
    assert_int_equal(store_records_walk(st, &f, ids, counts, 2, 2, collect, &s, &err), IMGSEC_OK);
    assert_int_equal(s.n, 2);
    /* a count that disagrees with the snapshot fails, never a different file */
    int64_t wrong[] = {3, 1};
    s.n = 0;
    assert_int_equal(store_records_walk(st, &f, ids, wrong, 2, 100, collect, &s, &err),
                     IMGSEC_EINTERNAL);
    assert_non_null(strstr(err.msg, "image 1 has 4 matching records"));
    store_record_filter_free(&f);

    /* vul_type and vul_id_list */
    const char *list[] = {"CVE-2", "CVE-3", "CVE-2"};
    q.vul_type = 1; /* app_vul */
    q.vul_ids = list;
    q.n_vul_ids = 3;
    assert_int_equal(store_record_filter_init(&f, &q, &err), IMGSEC_OK);
    int64_t c2[] = {2, 1};
    s.n = 0;
    assert_int_equal(store_records_walk(st, &f, ids, c2, 2, 100, collect, &s, &err), IMGSEC_OK);
    assert_int_equal(s.n, 3);
    store_record_filter_free(&f);

    /* build-command risks: level and name substring */
    stat_query b = {.report = REPORT_BUILD_COMMAND_RISKS, .vul_type = -1,
                    .build_level = 3 /* high */, .build_name = "curl"};
    assert_int_equal(store_record_filter_init(&f, &b, &err), IMGSEC_OK);
    int64_t c3[] = {1};
    s.n = 0;
    assert_int_equal(store_records_walk(st, &f, ids, c3, 1, 100, collect, &s, &err), IMGSEC_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.rows[0], "1|R1|RUN x|high");
    store_record_filter_free(&f);
    store_snapshot_end(st);

    /* a new snapshot sees the re-ingested image 1 without records */
    assert_int_equal(store_snapshot_begin(st, &pos, &err), IMGSEC_OK);
    assert_int_equal(store_record_filter_init(&f, &q, &err), IMGSEC_OK);
    int64_t zero[] = {0};
    s.n = 0;
    assert_int_equal(store_records_walk(st, &f, ids, zero, 1, 100, collect, &s, &err), IMGSEC_OK);
    assert_int_equal(s.n, 0);
    store_record_filter_free(&f);
    store_snapshot_end(st);
    store_close(other);
    store_close(st);
}

static void count_file(const char *file_id, const char *format, void *arg)
{
    (void)format;
    int *n = arg;
    assert_int_equal(strlen(file_id), 32);
    (*n)++;
}

static bool never_gone(const store_export_owner *o, int64_t now_ms, void *arg)
{
    (void)o, (void)now_ms, (void)arg;
    return false;
}

/* gone when the lease ran out, or when the owner's pid is in arg's list */
static bool lease_or_listed(const store_export_owner *o, int64_t now_ms, void *arg)
{
    const int64_t *dead_pid = arg;
    return o->lease_ms <= now_ms || o->pid == *dead_pid;
}

static void count_listed(const char *file_id, const char *format, int64_t size, void *arg)
{
    (void)file_id;
    (void)format;
    (void)size;
    (*(int *)arg)++;
}

static void ignore_expired(const char *file_id, const char *format, void *arg)
{
    (void)file_id;
    (void)format;
    (void)arg;
}

/* Stores size bytes (byte i is i % 251) as file_id's chunks. */
static void put_file(store *st, const char *file_id, int64_t size)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    for (int64_t i = 0; i < size; i++)
        fputc((int)(i % 251), f);
    fflush(f);
    rewind(f);
    int64_t stored = -1;
    imgsec_err err = {0};
    assert_int_equal(store_export_file_put(st, file_id, fileno(f), &stored, &err), IMGSEC_OK);
    assert_int_equal(stored, size);
    fclose(f);
}

static store_export_task task_of(int id, int file_id)
{
    store_export_task t = {.report = REPORT_APPS, .export_size = 10, .total = 7,
                           .created_ms = 1000, .status = EXPORT_RUNNING};
    snprintf(t.id, sizeof t.id, "%032d", id);
    snprintf(t.file_id, sizeof t.file_id, "%032d", file_id);
    snprintf(t.project_id, sizeof t.project_id, "P1");
    snprintf(t.eps, sizeof t.eps, "*");
    snprintf(t.file_format, sizeof t.file_format, "csv");
    return t;
}

/* Only the tasks of gone owners are recovered; live owners' tasks and
 * partial files are left alone, and gone owners' rows are dropped. */
static void test_recover_only_gone_owners(void **state)
{
    (void)state;
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(DB, &st, &err), IMGSEC_OK);
    store_export_owner live = {.pid = 101, .started_ms = 1, .lease_ms = 60000};
    store_export_owner expired = {.pid = 102, .started_ms = 1, .lease_ms = 9000};
    store_export_owner dead = {.pid = 103, .started_ms = 1, .lease_ms = 60000};
    snprintf(live.id, sizeof live.id, "%032d", 501);
    snprintf(expired.id, sizeof expired.id, "%032d", 502);
    snprintf(dead.id, sizeof dead.id, "%032d", 503);
    snprintf(live.node, sizeof live.node, "host boot ns");
    snprintf(expired.node, sizeof expired.node, "host boot ns");
    snprintf(dead.node, sizeof dead.node, "host boot ns");
    store_export_task a = task_of(601, 701), b = task_of(602, 702), c = task_of(603, 703);
    assert_int_equal(store_export_task_insert(st, &a, "{}", &live, &err), IMGSEC_OK);
    assert_int_equal(store_export_task_insert(st, &b, "{}", &expired, &err), IMGSEC_OK);
    assert_int_equal(store_export_task_insert(st, &c, "{}", &dead, &err), IMGSEC_OK);
    /* renewing moves the lease: expired's now ends at 9000 + 1000 */
    expired.lease_ms = 10000;
    assert_int_equal(store_export_owner_renew(st, &expired, &err), IMGSEC_OK);
    int64_t none = -1, n = -1;
    /* at 9999 every lease holds and no pid is dead: nothing */
    assert_int_equal(store_export_tasks_recover(st, "gone", 9999, lease_or_listed, &none, &n, &err),
                     IMGSEC_OK);
    assert_int_equal(n, 0);
    /* at 10000 expired's lease ran out, and dead's process is gone */
    int64_t dead_pid = 103;
    assert_int_equal(store_export_tasks_recover(st, "gone", 10000, lease_or_listed, &dead_pid, &n,
                                                &err),
                     IMGSEC_OK);
    assert_int_equal(n, 2);
    store_export_task g;
    assert_int_equal(store_export_task_get(st, "P1", a.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_RUNNING);
    assert_int_equal(store_export_task_get(st, "P1", b.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_FAILURE);
    assert_string_equal(g.failure_reason, "gone");
    assert_int_equal(g.finished_ms, 10000);
    assert_int_equal(store_export_task_get(st, "P1", c.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_FAILURE);
    bool running;
    assert_int_equal(store_export_file_running(st, a.file_id, &running, &err), IMGSEC_OK);
    assert_true(running);
    assert_int_equal(store_export_file_running(st, b.file_id, &running, &err), IMGSEC_OK);
    assert_false(running);
    /* the gone owners' rows are dropped, the live one's is kept */
    assert_int_equal(dq1("SELECT count(*) FROM export_owners"), 1);
    assert_int_equal(dq1("SELECT pid FROM export_owners"), 101);
    /* the live owner ends its task; a clean stop gives its lease up */
    a.status = EXPORT_SUCCESS;
    a.finished_ms = 11000;
    put_file(st, a.file_id, 1);
    a.file_size = 1;
    assert_int_equal(store_export_task_finish(st, &a, &err), IMGSEC_OK);
    assert_int_equal(store_export_owner_remove(st, live.id, &err), IMGSEC_OK);
    store_close(st);
}

static void test_task_rows(void **state)
{
    (void)state;
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(DB, &st, &err), IMGSEC_OK);
    store_export_task t = {.report = REPORT_APPS, .export_size = 10, .total = 7,
                           .created_ms = 1000};
    snprintf(t.id, sizeof t.id, "%032d", 1);
    snprintf(t.project_id, sizeof t.project_id, "P1");
    snprintf(t.eps, sizeof t.eps, "0,ep-a");
    snprintf(t.file_format, sizeof t.file_format, "csv");
    assert_int_equal(store_export_task_insert(st, &t, "{}", NULL, &err), IMGSEC_OK);
    store_export_task g;
    assert_int_equal(store_export_task_get(st, "P2", t.id, &g, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_export_task_get(st, "P1", t.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_RUNNING);
    assert_string_equal(g.eps, "0,ep-a");
    assert_int_equal(g.total, 7);
    assert_string_equal(g.file_id, "");
    assert_int_equal(store_export_task_progress(st, t.id, 40, 3, &err), IMGSEC_OK);
    assert_int_equal(store_export_task_get(st, "P1", t.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.progress, 40);
    assert_int_equal(g.record_num, 3);

    t.status = EXPORT_SUCCESS;
    t.record_num = 7;
    t.progress = 100;
    snprintf(t.file_id, sizeof t.file_id, "%032d", 9);
    snprintf(t.file_name, sizeof t.file_name, "apps.csv");
    t.file_size = 123;
    t.finished_ms = 2000;
    t.expires_ms = 5000;
    /* a success needs its file whole in the database */
    assert_int_equal(store_export_task_finish(st, &t, &err), IMGSEC_EINTERNAL);
    put_file(st, t.file_id, 122);
    assert_int_equal(store_export_task_finish(st, &t, &err), IMGSEC_EINTERNAL);
    put_file(st, t.file_id, 123);
    assert_int_equal(store_export_task_finish(st, &t, &err), IMGSEC_OK);
    assert_int_equal(store_export_file_get(st, "P1", t.file_id, 4999, &g, &err), IMGSEC_OK);
    assert_string_equal(g.file_name, "apps.csv");
    assert_int_equal(g.file_size, 123);
    assert_int_equal(store_export_file_get(st, "P2", t.file_id, 4999, &g, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_export_file_get(st, "P1", t.id, 4999, &g, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_export_file_get(st, "P1", t.file_id, 5000, &g, &err), IMGSEC_ENOTFOUND);

    /* a second task, still running and owned by nobody, is recovered */
    store_export_task u = t;
    snprintf(u.id, sizeof u.id, "%032d", 2);
    snprintf(u.file_id, sizeof u.file_id, "%032d", 8);
    u.status = EXPORT_RUNNING;
    assert_int_equal(store_export_task_insert(st, &u, "{}", NULL, &err), IMGSEC_OK);
    bool running = false;
    assert_int_equal(store_export_file_running(st, u.file_id, &running, &err), IMGSEC_OK);
    assert_true(running);
    int64_t n = 0;
    assert_int_equal(store_export_tasks_recover(st, "interrupted by a server stop", 3000, never_gone,
                                                NULL, &n, &err),
                     IMGSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_export_task_get(st, "P1", u.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_FAILURE);
    assert_string_equal(g.failure_reason, "interrupted by a server stop");
    assert_string_equal(g.file_id, "");
    assert_int_equal(store_export_file_running(st, u.file_id, &running, &err), IMGSEC_OK);
    assert_false(running);
    /* finishing an ended task changes nothing, and says so */
    u.status = EXPORT_SUCCESS;
    assert_int_equal(store_export_task_finish(st, &u, &err), IMGSEC_ENOTFOUND);
    assert_string_equal(err.msg, "export task 00000000000000000000000000000002 is no longer running");
    assert_int_equal(store_export_task_get(st, "P1", u.id, &g, &err), IMGSEC_OK);
    assert_int_equal(g.status, EXPORT_FAILURE);

    /* expiry: once, then the file is gone for downloads */
    int files = 0;
    assert_int_equal(store_export_files_expire(st, 4999, count_file, &files, &n, &err), IMGSEC_OK);
    assert_int_equal(files, 0);
    assert_int_equal(store_export_files_expire(st, 5000, count_file, &files, &n, &err), IMGSEC_OK);
    assert_int_equal(files, 1);
    assert_int_equal(n, 1);
    assert_int_equal(store_export_files_expire(st, 9000, count_file, &files, &n, &err), IMGSEC_OK);
    assert_int_equal(files, 1);
    assert_int_equal(store_export_task_get(st, "P1", t.id, &g, &err), IMGSEC_OK);
    assert_true(g.file_deleted);
    store_close(st);
}

/* Reads file_id's file back chunk by chunk; its bytes must be put_file's
 * pattern over size bytes. */
static void assert_file(store *st, const char *file_id, int64_t size)
{
    unsigned char *buf = malloc(STORE_EXPORT_CHUNK_BYTES);
    assert_non_null(buf);
    imgsec_err err = {0};
    int64_t at = 0;
    size_t len = 0;
    for (int64_t seq = 0;; seq++) {
        int rc = store_export_chunk_get(st, file_id, seq, buf, STORE_EXPORT_CHUNK_BYTES, &len, &err);
        if (rc == IMGSEC_ENOTFOUND)
            break;
        assert_int_equal(rc, IMGSEC_OK);
        assert_true(len > 0 && len <= STORE_EXPORT_CHUNK_BYTES);
        for (size_t i = 0; i < len; i++)
            if (buf[i] != (unsigned char)((at + (int64_t)i) % 251))
                fail_msg("byte %lld differs", (long long)(at + (int64_t)i));
        at += (int64_t)len;
    }
    assert_int_equal(at, size);
    free(buf);
}

/* Export files in the database: a file of several chunks reads back
 * byte for byte, only once its task's success recorded it whole; a
 * failure's chunks, a gone owner's task's and an expired file's are
 * deleted; a file made before schema 12 is adopted. */
static void test_files_in_db(void **state)
{
    (void)state;
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(DB, &st, &err), IMGSEC_OK);
    store_export_owner me = {.pid = 1, .started_ms = 1, .lease_ms = 60000};
    snprintf(me.id, sizeof me.id, "%032d", 1);
    const int64_t big = 2 * STORE_EXPORT_CHUNK_BYTES + 12345;
    store_export_task a = task_of(801, 901), b = task_of(802, 902), c = task_of(803, 903);
    assert_int_equal(store_export_task_insert(st, &a, "{}", &me, &err), IMGSEC_OK);
    assert_int_equal(store_export_task_insert(st, &b, "{}", &me, &err), IMGSEC_OK);
    assert_int_equal(store_export_task_insert(st, &c, "{}", NULL, &err), IMGSEC_OK);
    put_file(st, a.file_id, big);
    put_file(st, b.file_id, 10);
    put_file(st, c.file_id, 10);
    /* chunks of a running task are no file yet */
    size_t len = 0;
    unsigned char *buf = malloc(STORE_EXPORT_CHUNK_BYTES);
    assert_non_null(buf);
    assert_int_equal(store_export_chunk_get(st, a.file_id, 0, buf, STORE_EXPORT_CHUNK_BYTES, &len,
                                            &err),
                     IMGSEC_ENOTFOUND);
    assert_int_equal(dq1("SELECT count(*) FROM export_file_chunks"), 5);
    a.status = EXPORT_SUCCESS;
    a.file_size = big;
    a.expires_ms = 5000;
    snprintf(a.file_name, sizeof a.file_name, "a.csv");
    assert_int_equal(store_export_task_finish(st, &a, &err), IMGSEC_OK);
    store_export_task g;
    assert_int_equal(store_export_file_get(st, "P1", a.file_id, 4999, &g, &err), IMGSEC_OK);
    assert_true(g.file_in_db);
    assert_int_equal(g.file_size, big);
    assert_file(st, a.file_id, big);
    /* a failure takes its chunks along */
    b.status = EXPORT_FAILURE;
    snprintf(b.failure_reason, sizeof b.failure_reason, "no");
    assert_int_equal(store_export_task_finish(st, &b, &err), IMGSEC_OK);
    assert_int_equal(dq1("SELECT count(*) FROM export_file_chunks WHERE file_id = "
                         "'00000000000000000000000000000902'"),
                     0);
    /* so does the recovery of a task without a live owner */
    int64_t n = 0, none = -1;
    assert_int_equal(store_export_tasks_recover(st, "gone", 100, lease_or_listed, &none, &n, &err),
                     IMGSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(dq1("SELECT count(*) FROM export_file_chunks"), 3);
    /* a finish of a task no longer running leaves no chunk either */
    put_file(st, c.file_id, 10);
    c.status = EXPORT_SUCCESS;
    c.file_size = 10;
    c.expires_ms = 5000;
    assert_int_equal(store_export_task_finish(st, &c, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(dq1("SELECT count(*) FROM export_file_chunks"), 3);
    /* a file made before schema 12: on disk, then adopted */
    assert_int_equal(dq1("SELECT count(*) FROM export_files"), 1);
    assert_int_equal(store_export_file_adopt(st, a.file_id, &err), IMGSEC_OK); /* again: same */
    assert_int_equal(dq1("DELETE FROM export_files RETURNING 0"), 0);
    assert_int_equal(store_export_file_get(st, "P1", a.file_id, 4999, &g, &err), IMGSEC_OK);
    assert_false(g.file_in_db);
    assert_int_equal(store_export_chunk_get(st, a.file_id, 0, buf, STORE_EXPORT_CHUNK_BYTES, &len,
                                            &err),
                     IMGSEC_ENOTFOUND);
    int listed = 0;
    assert_int_equal(store_export_files_on_disk(st, 4999, count_listed, &listed, &err), IMGSEC_OK);
    assert_int_equal(listed, 1);
    assert_int_equal(store_export_file_adopt(st, a.file_id, &err), IMGSEC_OK);
    assert_int_equal(store_export_file_get(st, "P1", a.file_id, 4999, &g, &err), IMGSEC_OK);
    assert_true(g.file_in_db);
    assert_file(st, a.file_id, big);
    listed = 0;
    assert_int_equal(store_export_files_on_disk(st, 4999, count_listed, &listed, &err), IMGSEC_OK);
    assert_int_equal(listed, 0);
    /* expiry: the file and its chunks go */
    assert_int_equal(store_export_files_expire(st, 5000, ignore_expired, NULL, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(dq1("SELECT count(*) FROM export_file_chunks"), 0);
    assert_int_equal(dq1("SELECT count(*) FROM export_files"), 0);
    free(buf);
    store_close(st);
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    if (pg) {
        use_pg = true;
        /* the walk's order on PostgreSQL too: absent values first, where
         * its ORDER BY put them last before the walk sorted in C */
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test_setup_teardown(test_walk_order_filters_snapshot, setup, teardown),
            cmocka_unit_test_setup_teardown(test_recover_only_gone_owners, setup, teardown),
            cmocka_unit_test_setup_teardown(test_task_rows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_files_in_db, setup, teardown),
        };
        return cmocka_run_group_tests_name("export store on PostgreSQL", pg_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_order_filters_snapshot),
        cmocka_unit_test(test_task_rows),
        cmocka_unit_test(test_recover_only_gone_owners),
        cmocka_unit_test_setup_teardown(test_files_in_db, setup_own, teardown_own),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
