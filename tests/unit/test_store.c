/* test_store.c - unit tests of the store (imgsec/store.h).
 *
 * Each test gets a fresh database file under $TMPDIR. What the store
 * wrote is checked through a second connection of the driver (db.h), so
 * the tests see the database as any other process would.
 *
 * `unit_test_store pg` runs the same tests, but those that need SQLite
 * itself (its header, its catalog, two processes creating one file), on
 * a fresh database of the test cluster instead (ctest: pg.test_store,
 * unit_pg.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgsec/doc.h"
#include "imgsec/store.h"
#include "imgsec/store_keys.h"
#include "unit_pg.h"
#include "unit_tmp.h"
#include "../support/name_recount.h"
#include "../support/rec_text.h"

/* ---- fixture ---- */

typedef struct {
    char path[PATH_MAX]; /* the file, or the URI of the PostgreSQL database */
    char pg_name[64];    /* that database's name; "" on SQLite */
    store *st;
} fx;

static bool use_pg;

/* A unique path that does not exist yet. */
static void temp_path(char *out, size_t size)
{
    assert_int_equal(unit_tmp_db_path(out, size, "test_store_"), 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err;
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->path, sizeof f->path,
                                  "test_store_"),
                     0);
    if (store_open(f->path, &f->st, &err) != IMGSEC_OK)
        fail_msg("store_open: %s", err.msg);
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

/* ---- a second connection through the driver: SQLite or PostgreSQL ---- */

/* The integer result of a one-row query on the file or URI target. */
static int64_t dq1(const char *target, const char *sql)
{
    db_conn *c = NULL;
    imgsec_err err;
    if (db_open(target, &c, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    db_stmt *s = db_prepare(c, sql, false, "test", &err);
    if (!s)
        fail_msg("%s: %s", sql, err.msg);
    assert_int_equal(db_step(s), DB_ROW);
    int64_t v = db_column_type(s, 0) == DB_NULL ? -1 : db_column_int64(s, 0);
    db_finalize(s);
    db_close(c);
    return v;
}

static void dexec(const char *target, const char *sql)
{
    db_conn *c = NULL;
    imgsec_err err;
    if (db_open(target, &c, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    if (db_exec(c, sql, "test", &err) != IMGSEC_OK)
        fail_msg("%s: %s", sql, err.msg);
    db_close(c);
}

/* ---- the same through the old names: every check runs on either ---- */

/* The integer result of a one-row query (NULL reads as -1). */
static int64_t q1(const char *path, const char *sql)
{
    return dq1(path, sql);
}

/* The text result of a one-row query, into buf ("<null>" for NULL). */
static const char *qs(const char *path, const char *sql, char *buf, size_t size)
{
    db_conn *c = NULL;
    imgsec_err err;
    if (db_open(path, &c, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    db_stmt *s = db_prepare(c, sql, false, "test", &err);
    if (!s)
        fail_msg("%s: %s", sql, err.msg);
    assert_int_equal(db_step(s), DB_ROW);
    const char *t = db_column_text(s, 0);
    snprintf(buf, size, "%s", t ? t : "<null>");
    db_finalize(s);
    db_close(c);
    return buf;
}

static void raw_exec(const char *path, const char *sql)
{
    dexec(path, sql);
}

/* ---- documents ---- */

/* Identity private_image shop/web:1.4.2; 8 records, level High. */
static const char *DOC_WEB =
    "{\"image\": {\"image_type\": \"private_image\", \"namespace\": \"shop\", \"image_name\": \"web\","
    " \"image_version\": \"1.4.2\", \"image_id\": \"sha256:aa\", \"image_digest\": \"sha256:dd\","
    " \"image_size\": 100, \"latest_update_time\": 1000, \"latest_scan_time\": 2000,"
    " \"scan_status\": \"success\", \"container_num\": 3},"
    " \"vulnerabilities\": ["
    "  {\"vul_id\": \"CVE-1\", \"vul_type\": \"linux_vul\", \"severity\": \"HIGH\", \"app_name\": \"openssl\", \"cvss_score\": 7.5},"
    "  {\"vul_id\": \"CVE-1\", \"vul_type\": \"linux_vul\", \"severity\": \"high\", \"app_name\": \"libssl\"},"
    "  {\"vul_id\": \"CVE-2\", \"vul_type\": \"app_vul\", \"severity\": \"medium\", \"cvss_score\": 5}],"
    " \"apps\": [{\"app_name\": \"openssl\", \"app_version\": \"3.0\"}],"
    " \"files\": [{\"file_path\": \"/etc/passwd\", \"size\": 1234, \"mode\": \"644\"}],"
    " \"build_command_risks\": ["
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"root\", \"risk_level\": \"high\", \"build_instruction\": \"USER root\"},"
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"root\", \"risk_level\": \"HIGH\", \"build_instruction\": \"USER 0\"},"
    "  {\"rule_id\": \"DS001\", \"risk_name\": \"latest\", \"risk_level\": \"low\", \"build_instruction\": \"FROM x:latest\"}]}";

/* Same identity as DOC_WEB, other content: 1 record, level Low. */
static const char *DOC_WEB_V2 =
    "{\"image\": {\"image_type\": \"private_image\", \"namespace\": \"shop\", \"image_name\": \"web\","
    " \"image_version\": \"1.4.2\", \"image_id\": \"sha256:bb\", \"scan_status\": \"success\"},"
    " \"vulnerabilities\": [{\"vul_id\": \"CVE-3\", \"vul_type\": \"linux_vul\", \"severity\": \"low\"}]}";

/* Scan failed (level null), one malware. */
static const char *DOC_DB =
    "{\"image\": {\"image_type\": \"private_image\", \"namespace\": \"shop\", \"image_name\": \"db\","
    " \"image_version\": \"15\", \"scan_status\": \"failed\"},"
    " \"malwares\": [{\"file_path\": \"/bin/miner\", \"size\": 42}]}";

/* Scanned, nothing found: level Security. */
static const char *DOC_CLEAN =
    "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"clean\", \"scan_status\": \"success\"}}";

/* An app record the "boom" trigger of test_bulk_fails_midway refuses. */
static const char *DOC_BOOM =
    "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"boom\"},"
    " \"apps\": [{\"app_name\": \"boom\"}]}";

static void doc_parse(imgsec_doc *d, const char *text)
{
    json_error_t je;
    imgsec_err err;
    json_t *root = json_loads(text, 0, &je);
    if (!root)
        fail_msg("bad test JSON: %s", je.text);
    int rc = doc_from_json(root, NULL, d, &err);
    if (rc != IMGSEC_OK)
        fail_msg("doc_from_json: %s", err.msg);
    json_decref(root);
}

/* Ingests one document into P1/0 and returns its result. */
static store_ingest_result ingest1(store *st, const char *text)
{
    imgsec_doc d;
    imgsec_err err;
    store_ingest_result r = {0, 0};
    doc_parse(&d, text);
    int rc = store_ingest(st, "P1", "0", &d, 1, NULL, &r, NULL, NULL, &err);
    if (rc != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    doc_free(&d);
    return r;
}

static store_grant grant(const char *project, role r, const char *eps)
{
    store_grant g;
    memset(&g, 0, sizeof g);
    snprintf(g.project_id, sizeof g.project_id, "%s", project);
    g.role = r;
    if (strcmp(eps, "all") == 0)
        g.eps_all = true;
    else
        snprintf(g.eps, sizeof g.eps, "%s", eps);
    return g;
}

/* ---- summaries collected from callbacks ---- */

typedef struct {
    int64_t id;
    char name[64], project[72], ep[72], image_id[64];
    int type, status, level;
    int64_t counts[REPORT_TYPE_COUNT], vul_counts[VUL_TYPE_COUNT];
    int64_t size, update_time, scan_time, containers;
    size_t n_vuls, n_builds;
    char vul_id[4][32];
    int vul_type[4];
    int64_t vul_n[4];
    char rule_id[4][32], risk_name[4][32];
    int risk_level[4];
    int64_t build_n[4];
} seen;

typedef struct {
    seen s[16];
    size_t n;
    int64_t gone[16];
    size_t n_gone;
    int stop_after; /* return 7 from the callback after this many (0: never) */
    store *other;   /* if set: ingest DOC_CLEAN through it during the first callback */
} collect;

static int collect_cb(const image_summary *s, void *arg)
{
    collect *c = arg;
    assert_true(c->n < 16);
    seen *x = &c->s[c->n++];
    memset(x, 0, sizeof *x);
    x->id = s->id;
    snprintf(x->name, sizeof x->name, "%s", s->image_name);
    snprintf(x->project, sizeof x->project, "%s", s->project_id);
    snprintf(x->ep, sizeof x->ep, "%s", s->ep);
    snprintf(x->image_id, sizeof x->image_id, "%s", s->image_id);
    x->type = s->type;
    x->status = s->status;
    x->level = s->severity_level;
    memcpy(x->counts, s->counts, sizeof x->counts);
    memcpy(x->vul_counts, s->vul_counts, sizeof x->vul_counts);
    x->size = s->image_size;
    x->update_time = s->latest_update_time;
    x->scan_time = s->latest_scan_time;
    x->containers = s->container_num;
    x->n_vuls = s->n_vuls;
    x->n_builds = s->n_builds;
    for (size_t i = 0; i < s->n_vuls && i < 4; i++) {
        snprintf(x->vul_id[i], sizeof x->vul_id[i], "%s", s->vuls[i].vul_id);
        x->vul_type[i] = s->vuls[i].type;
        x->vul_n[i] = s->vuls[i].n;
    }
    for (size_t i = 0; i < s->n_builds && i < 4; i++) {
        snprintf(x->rule_id[i], sizeof x->rule_id[i], "%s", s->builds[i].rule_id);
        snprintf(x->risk_name[i], sizeof x->risk_name[i], "%s", s->builds[i].risk_name);
        x->risk_level[i] = s->builds[i].level;
        x->build_n[i] = s->builds[i].n;
    }
    if (c->other && c->n == 1)
        ingest1(c->other, DOC_CLEAN);
    if (c->stop_after && (int)c->n >= c->stop_after)
        return 7;
    return 0;
}

static void gone_cb(int64_t id, void *arg)
{
    collect *c = arg;
    assert_true(c->n_gone < 16);
    c->gone[c->n_gone++] = id;
}

/* ---- open, schema, migrations ---- */

static void test_open_reopen(void **state)
{
    fx *f = *state;
    imgsec_err err;
    char buf[64];
    store *second = NULL;

    assert_int_equal(q1(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(q1(f->path, "PRAGMA application_id"), 0x696d6773);
    assert_string_equal(qs(f->path, "PRAGMA journal_mode", buf, sizeof buf), "wal");

    /* A second handle on the same file while the first is open. */
    assert_int_equal(store_open(f->path, &second, &err), IMGSEC_OK);
    store_ingest_result r = ingest1(second, DOC_WEB);
    assert_int_equal(r.id, 1);
    store_close(second);

    /* Reopen: data kept, schema not re-created. */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    collect c = {0};
    int64_t seq = -1;
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &c, &seq, &err), IMGSEC_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.s[0].id, 1);
    assert_string_equal(c.s[0].name, "web");
    assert_int_equal(seq, 1);
    assert_int_equal(q1(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* Schema 18 adds the index rec_non_compliant_app_name: a store at 17
 * without it has it after an open, with its data kept. */
static void test_migrate_nc_app_name(void **state)
{
    fx *f = *state;
    imgsec_err err;
    const char *has = use_pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = "
                               "'rec_non_compliant_app_name'"
                             : "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                               "name = 'rec_non_compliant_app_name'";
    const char *version = use_pg ? "SELECT version FROM imgsec_schema" : "PRAGMA user_version";
    assert_int_equal(q1(f->path, has), 1);
    ingest1(f->st, DOC_WEB);
    store_close(f->st);
    f->st = NULL;
    raw_exec(f->path, "DROP INDEX rec_non_compliant_app_name");
    raw_exec(f->path, use_pg ? "UPDATE imgsec_schema SET version = 17" : "PRAGMA user_version = 17");
    assert_int_equal(q1(f->path, has), 0);
    assert_int_equal(q1(f->path, version), 17);
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, version), STORE_SCHEMA_VERSION);
    assert_int_equal(q1(f->path, has), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
}

static void doc_all(imgsec_doc *d);

/* Schema 19 drops rec_vul_vul: a store at 18 with it has it no more
 * after an open, rec_vul_app and the records and aggregates kept. */
static void test_migrate_drop_vul_vul(void **state)
{
    fx *f = *state;
    imgsec_err err;
    const char *has = use_pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'rec_vul_vul'"
                             : "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                               "name = 'rec_vul_vul'";
    const char *app = use_pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'rec_vul_app'"
                             : "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                               "name = 'rec_vul_app'";
    const char *version = use_pg ? "SELECT version FROM imgsec_schema" : "PRAGMA user_version";
    assert_int_equal(q1(f->path, has), 0);
    assert_int_equal(q1(f->path, app), 1);
    imgsec_doc d;
    store_ingest_result r;
    doc_all(&d);
    if (store_ingest(f->st, "P1", "0", &d, 1, NULL, &r, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    doc_free(&d);
    int64_t vuls = rec_stored(f->st, REPORT_VULNERABILITY);
    int64_t aggs = q1(f->path, "SELECT count(*) FROM agg_vul");
    assert_true(vuls > 0);
    assert_true(aggs > 0);
    store_close(f->st);
    f->st = NULL;
    /* the definition of schema 6 */
    raw_exec(f->path, "CREATE INDEX rec_vul_vul ON rec_vulnerability(vul_id, vul_type, image, severity)");
    raw_exec(f->path, use_pg ? "UPDATE imgsec_schema SET version = 18" : "PRAGMA user_version = 18");
    assert_int_equal(q1(f->path, has), 1);
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, version), 19);
    assert_int_equal(q1(f->path, has), 0);
    assert_int_equal(q1(f->path, app), 1);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), vuls);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), aggs);
}

static void test_open_refuses_newer_and_foreign(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store *st = NULL;
    char path[PATH_MAX];

    store_close(f->st);
    f->st = NULL;
    char newer[64];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
    raw_exec(f->path, newer);
    assert_int_equal(store_open(f->path, &st, &err), IMGSEC_EINTERNAL);
    assert_null(st);
    assert_non_null(strstr(err.msg, "newer"));
    assert_int_equal(q1(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1); /* untouched */

    temp_path(path, sizeof path);
    raw_exec(path, "CREATE TABLE other (x)");
    assert_int_equal(store_open(path, &st, &err), IMGSEC_EINTERNAL);
    assert_non_null(strstr(err.msg, "not an imgsec database"));
    assert_int_equal(q1(path, "PRAGMA user_version"), 0);
    assert_int_equal(q1(path, "SELECT count(*) FROM sqlite_master"), 1);
    unit_tmp_db_remove(path);

    assert_int_equal(store_open("", &st, &err), IMGSEC_EINVAL);
}

/* A database whose tables lack what model.c now declares gets it on open. */
static void test_open_reconciles_columns(void **state)
{
    fx *f = *state;
    imgsec_err err;

    store_close(f->st);
    f->st = NULL;
    raw_exec(f->path, "ALTER TABLE rec_vulnerability DROP COLUMN url;"
                      "ALTER TABLE images DROP COLUMN n_file;"
                      "DROP TABLE rec_file;");
    assert_int_equal(q1(f->path, "SELECT count(*) FROM pragma_table_info('rec_vulnerability') WHERE name = 'url'"), 0);
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM pragma_table_info('rec_vulnerability') WHERE name = 'url'"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM pragma_table_info('images') WHERE name = 'n_file'"), 1);
    /* image, seq + 5 file fields */
    assert_int_equal(q1(f->path, "SELECT count(*) FROM pragma_table_info('rec_file')"), 7);
    store_ingest_result r = ingest1(f->st, DOC_WEB);
    assert_int_equal(r.records, 8);
    assert_int_equal(rec_stored(f->st, REPORT_FILES), 1);
    assert_int_equal(q1(f->path, "SELECT n_file FROM images"), 1);
}

/* Several processes opening a new file at once: one creates the schema. */
static void test_concurrent_first_open(void **state)
{
    fx *f = *state;
    imgsec_err err;
    char path[PATH_MAX];
    int go[2];
    enum { KIDS = 6 };
    pid_t kids[KIDS];

    temp_path(path, sizeof path);
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char b, name[16];
            close(go[1]);
            if (read(go[0], &b, 1) < 0)
                _exit(3);
            store *st = NULL;
            imgsec_err e;
            store_grant g = {.project_id = "P1", .role = ROLE_READER, .eps_all = true};
            snprintf(name, sizeof name, "u%d", i);
            if (store_open(path, &st, &e) != IMGSEC_OK) {
                fprintf(stderr, "child %d: %s\n", i, e.msg);
                _exit(1);
            }
            int rc = store_user_add(st, "acme", name, "hash", &g, &e);
            store_close(st);
            _exit(rc == IMGSEC_OK ? 0 : 2);
        }
    }
    close(go[0]);
    close(go[1]); /* everyone starts now */
    for (int i = 0; i < KIDS; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    store *st = NULL;
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    store_close(st);
    assert_int_equal(q1(path, "SELECT count(*) FROM users"), KIDS);
    assert_int_equal(q1(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    unit_tmp_db_remove(path);
    (void)f;
}

/* ---- ingest ---- */

static void test_ingest_one(void **state)
{
    fx *f = *state;
    char buf[64];
    store_ingest_result r = ingest1(f->st, DOC_WEB);

    assert_int_equal(r.id, 1);
    assert_int_equal(r.records, 8);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    /* Records, read through the record API: in document order, typed as
     * the field tables say (a real stays a real: 5 is 5.0), absent is NULL. */
    char *t = rec_text(f->st, REPORT_VULNERABILITY, 1, "vul_id,severity,app_name,cvss_score");
    assert_string_equal(t, "1|0|CVE-1|high|openssl|7.5|\n"
                           "1|1|CVE-1|high|libssl|<null>|\n"
                           "1|2|CVE-2|medium|<null>|5.0|\n");
    free(t);
    t = rec_text(f->st, REPORT_APPS, -1, NULL);
    assert_string_equal(t, "1|0|openssl|3.0|<null>|<null>|<null>|<null>|<null>|\n");
    free(t);
    t = rec_text(f->st, REPORT_FILES, -1, NULL);
    assert_string_equal(t, "1|0|/etc/passwd|<null>|1234|644|<null>|\n");
    free(t);
    t = rec_text(f->st, REPORT_BUILD_COMMAND_RISKS, 1, "rule_id,risk_level,build_instruction");
    assert_string_equal(t, "1|0|DS002|high|USER root|\n"
                           "1|1|DS002|high|USER 0|\n"
                           "1|2|DS001|low|FROM x:latest|\n");
    free(t);
    assert_int_equal(rec_stored(f->st, REPORT_MALWARES), 0);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 3);

    /* The image row: attributes, derived level, counts. */
    assert_string_equal(qs(f->path, "SELECT project_id || '/' || ep || '/' || image_type || '/' || instance_id || '/' || cicd_name || '/' || image_digest FROM images", buf, sizeof buf),
                        "P1/0/private_image///sha256:dd");
    assert_string_equal(qs(f->path, "SELECT severity_level FROM images", buf, sizeof buf), "High");
    assert_int_equal(q1(f->path, "SELECT n_vulnerability FROM images"), 3);
    assert_int_equal(q1(f->path, "SELECT n_build_command_risk FROM images"), 3);
    assert_int_equal(q1(f->path, "SELECT n_linux_vul * 10 + n_app_vul FROM images"), 21);
    assert_int_equal(q1(f->path, "SELECT container_num FROM images"), 3);

    /* Aggregates and the change log. */
    assert_int_equal(q1(f->path, "SELECT n FROM agg_vul WHERE vul_id = 'CVE-1' AND vul_type = 'linux_vul'"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 2);
    assert_int_equal(q1(f->path, "SELECT n FROM agg_build WHERE rule_id = 'DS002' AND risk_level = 'high'"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_build"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes WHERE image = 1"), 1);
}

static void test_reingest_replaces(void **state)
{
    fx *f = *state;
    char buf[64];

    assert_int_equal(ingest1(f->st, DOC_WEB).id, 1);
    store_ingest_result r = ingest1(f->st, DOC_WEB_V2);
    assert_int_equal(r.id, 1);
    assert_int_equal(r.records, 1);

    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 1);
    char *t = rec_text(f->st, REPORT_VULNERABILITY, -1, "vul_id");
    assert_string_equal(t, "1|0|CVE-3|\n");
    free(t);
    assert_int_equal(rec_stored(f->st, REPORT_APPS), 0);
    assert_int_equal(rec_stored(f->st, REPORT_FILES), 0);
    assert_int_equal(rec_stored(f->st, REPORT_BUILD_COMMAND_RISKS), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul WHERE vul_id = 'CVE-3' AND n = 1"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_build"), 0);
    /* Attributes replaced too, absent ones back to their defaults. */
    assert_string_equal(qs(f->path, "SELECT image_id || ',' || image_digest || ',' || severity_level FROM images", buf, sizeof buf),
                        "sha256:bb,,Low");
    assert_int_equal(q1(f->path, "SELECT image_size + container_num + n_build_command_risk FROM images"), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes WHERE image = 1"), 2);

    /* Another identity (other version) is another image. */
    assert_int_equal(ingest1(f->st, DOC_DB).id, 2);

    /* The same identity in another EP moves the image, keeping its id. */
    imgsec_doc d;
    imgsec_err err;
    store_ingest_result r2;
    doc_parse(&d, DOC_WEB_V2);
    assert_int_equal(store_ingest(f->st, "P1", "ep-a", &d, 1, NULL, &r2, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r2.id, 1);
    assert_string_equal(qs(f->path, "SELECT ep FROM images WHERE id = 1", buf, sizeof buf), "ep-a");
    /* ... but the same identity in another project is another image. */
    assert_int_equal(store_ingest(f->st, "P2", "0", &d, 1, NULL, &r2, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r2.id, 3);
    doc_free(&d);
}

static void count_progress(size_t done, size_t total, void *arg)
{
    size_t *calls = arg;
    assert_int_equal(done, *calls + 1);
    assert_int_equal(total, 3);
    (*calls)++;
}

static void test_bulk_same_identity(void **state)
{
    fx *f = *state;
    imgsec_doc d[3];
    imgsec_err err;
    store_ingest_result r[3];
    size_t calls = 0;

    doc_parse(&d[0], DOC_WEB);
    doc_parse(&d[1], DOC_DB);
    doc_parse(&d[2], DOC_WEB_V2);
    assert_int_equal(store_ingest(f->st, "P1", "0", d, 3, NULL, r, count_progress, &calls, &err), IMGSEC_OK);
    assert_int_equal(calls, 3);
    assert_int_equal(r[0].id, 1);
    assert_int_equal(r[1].id, 2);
    assert_int_equal(r[2].id, 1);
    assert_int_equal(r[0].records, 8);
    assert_int_equal(r[1].records, 1);
    assert_int_equal(r[2].records, 1);
    /* The later document wins. */
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 2);
    assert_int_equal(rec_count(f->st, REPORT_VULNERABILITY, 1), 1);
    assert_int_equal(rec_stored(f->st, REPORT_BUILD_COMMAND_RISKS), 0);
    assert_int_equal(rec_count(f->st, REPORT_MALWARES, 2), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 3);
    for (int i = 0; i < 3; i++)
        doc_free(&d[i]);
}

static void test_bulk_invalid_scope_stores_nothing(void **state)
{
    fx *f = *state;
    imgsec_doc d[2];
    imgsec_err err;
    store_ingest_result r[2];

    doc_parse(&d[0], DOC_WEB);
    doc_parse(&d[1], DOC_DB);
    assert_int_equal(store_ingest(f->st, "P 1", "0", d, 2, NULL, r, NULL, NULL, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "project_id"));
    assert_int_equal(store_ingest(f->st, "", "0", d, 2, NULL, r, NULL, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(store_ingest(f->st, "P1", "all_granted_eps!", d, 2, NULL, r, NULL, NULL, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "enterprise_project_id"));
    assert_int_equal(store_ingest(f->st, "P1", NULL, d, 2, NULL, r, NULL, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 0);
    doc_free(&d[0]);
    doc_free(&d[1]);
}

static void test_bulk_fails_midway(void **state)
{
    fx *f = *state;
    imgsec_doc d[3];
    imgsec_err err;
    store_ingest_result r[3];

    assert_int_equal(ingest1(f->st, DOC_DB).id, 1);

    /* A failure inside the database while storing the third document. */
    raw_exec(f->path, use_pg ? "CREATE FUNCTION boom_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                               "IF NEW.app_name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; "
                               "RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON rec_app "
                               "FOR EACH ROW EXECUTE FUNCTION boom_fn()"
                             : "CREATE TRIGGER boom BEFORE INSERT ON rec_app WHEN NEW.app_name = 'boom' "
                               "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    doc_parse(&d[0], DOC_WEB);
    doc_parse(&d[1], DOC_WEB_V2); /* replaces d[0] inside the transaction */
    doc_parse(&d[2], DOC_BOOM);
    assert_int_equal(store_ingest(f->st, "P1", "0", d, 3, NULL, r, NULL, NULL, &err), IMGSEC_EINTERNAL);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 0);
    assert_int_equal(rec_stored(f->st, REPORT_APPS), 0);
    assert_int_equal(rec_stored(f->st, REPORT_MALWARES), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 1);
    doc_free(&d[2]);

    /* A second document whose summary disagrees with its records (not
     * one doc.c builds): refused before anything is written. */
    d[1].summary.counts[REPORT_VULNERABILITY]++;
    assert_int_equal(store_ingest(f->st, "P1", "0", d, 2, NULL, r, NULL, NULL, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "store: document summary disagrees with its vulnerabilities");
    d[1].summary.counts[REPORT_VULNERABILITY]--;
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 1);

    /* The handle still works, and (SQLite) no id was used up by the
     * failures; PostgreSQL's identity sequence is not rolled back with a
     * transaction: its ids grow, with gaps. */
    int64_t id = ingest1(f->st, DOC_WEB).id;
    if (use_pg)
        assert_true(id > 1);
    else
        assert_int_equal(id, 2);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 3);
    doc_free(&d[0]);
    doc_free(&d[1]);
}

static void test_image_delete(void **state)
{
    fx *f = *state;
    imgsec_err err;

    assert_int_equal(ingest1(f->st, DOC_WEB).id, 1);
    assert_int_equal(ingest1(f->st, DOC_DB).id, 2);
    assert_int_equal(store_image_delete(f->st, "P2", 1, NULL, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_image_delete(f->st, "P1", 99, NULL, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_image_delete(f->st, "bad project", 1, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 2);

    assert_int_equal(store_image_delete(f->st, "P1", 1, NULL, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images WHERE id = 1"), 0);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY) + rec_stored(f->st, REPORT_APPS) +
                         rec_stored(f->st, REPORT_FILES) + rec_stored(f->st, REPORT_BUILD_COMMAND_RISKS),
                     0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_build"), 0);
    assert_int_equal(rec_count(f->st, REPORT_MALWARES, 2), 1);
    assert_int_equal(q1(f->path, "SELECT image FROM changes ORDER BY seq DESC LIMIT 1"), 1);
    assert_int_equal(store_image_delete(f->st, "P1", 1, NULL, &err), IMGSEC_ENOTFOUND);

    /* Ids are never reused: the same identity comes back as a new image. */
    assert_int_equal(ingest1(f->st, DOC_WEB).id, 3);
}

/* ---- no orphan rows: every path that deletes or replaces an image ---- */

/* Identity private_image shop/all:1 with two records of every report type,
 * every field set ("s0"/"s1" for strings: two vulnerabilities and two
 * build-command rules, so two rows in each aggregate table):
 * 2 * REPORT_TYPE_COUNT + 4 rows hang off its image. */
static void doc_all(imgsec_doc *d)
{
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"image\": {\"image_type\": \"private_image\", \"namespace\": \"shop\","
                                " \"image_name\": \"all\", \"image_version\": \"1\", \"scan_status\": \"success\"}");
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        n += (size_t)snprintf(text + n, sizeof text - n, ", \"%s\": [", k->doc_key);
        for (int i = 0; i < 2; i++) {
            for (size_t fi = 0; fi < k->nfields; fi++) {
                const record_field *fd = &k->fields[fi];
                char v[96];
                switch (fd->kind) {
                case FIELD_STRING: snprintf(v, sizeof v, "\"s%d\"", i); break;
                case FIELD_INT64:
                case FIELD_NUMBER: snprintf(v, sizeof v, "%d", i + 1); break;
                case FIELD_SEVERITY: snprintf(v, sizeof v, "\"low\""); break;
                case FIELD_ENUM: snprintf(v, sizeof v, "\"%s\"", fd->enum_values[0]); break;
                case FIELD_OCTAL: snprintf(v, sizeof v, "\"644\""); break;
                }
                n += (size_t)snprintf(text + n, sizeof text - n, "%s\"%s\": %s",
                                      fi ? ", " : (i ? ", {" : "{"), fd->name, v);
                assert_true(n < sizeof text);
            }
            n += (size_t)snprintf(text + n, sizeof text - n, "}");
        }
        n += (size_t)snprintf(text + n, sizeof text - n, "]");
        assert_true(n < sizeof text);
    }
    snprintf(text + n, sizeof text - n, "}");
    doc_parse(d, text);
}
#define DOC_ALL_ROWS (2 * REPORT_TYPE_COUNT + 4)

/* The rows of the record and aggregate tables whose image is id (id 0:
 * whose image does not exist). */
static int64_t image_rows(const char *path, int64_t id)
{
    char sql[4096], where[96];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT 0");
    if (id)
        snprintf(where, sizeof where, "image = %lld", (long long)id);
    else
        snprintf(where, sizeof where, "image NOT IN (SELECT id FROM images)");
    for (int t = 0; t < REPORT_TYPE_COUNT + 2; t++) {
        const char *table = t == REPORT_TYPE_COUNT       ? "agg_vul"
                            : t == REPORT_TYPE_COUNT + 1 ? "agg_build"
                                                         : record_kind_get((report_type)t)->table;
        n += (size_t)snprintf(sql + n, sizeof sql - n, " + (SELECT count(*) FROM \"%s\" WHERE %s)", table,
                              where);
        assert_true(n < sizeof sql);
    }
    return q1(path, sql);
}

/* Deleting, re-ingesting (alone, twice in one call, in two batches of one
 * transaction, into another EP) leaves exactly the image's current rows
 * and none of an image that is gone. On PostgreSQL no foreign key cascades
 * (schema version 16): the store's own deletes are what this counts. */
static void test_no_orphan_rows(void **state)
{
    fx *f = *state;
    imgsec_err err;
    imgsec_doc d[2];
    store_ingest_result r[2];
    if (use_pg)
        assert_int_equal(q1(f->path, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                                     "confrelid = 'images'::regclass"),
                         0);
    doc_all(&d[0]);
    doc_all(&d[1]);

    assert_int_equal(store_ingest(f->st, "P1", "0", d, 1, NULL, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);
    assert_int_equal(ingest1(f->st, DOC_DB).id, 2);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);
    assert_int_equal(image_rows(f->path, 2), 1);

    /* re-ingested alone, then twice in one call */
    assert_int_equal(store_ingest(f->st, "P1", "0", d, 1, NULL, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);
    assert_int_equal(store_ingest(f->st, "P1", "0", d, 2, NULL, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);
    assert_int_equal(r[1].id, 1);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);

    /* in two batches of one transaction */
    store_ingest_txn *tx;
    assert_int_equal(store_ingest_begin(f->st, "P1", "0", NULL, &tx, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_add(tx, &d[0], 1, 0, true, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_add(tx, &d[1], 1, 1, true, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_end(tx, true, &err), IMGSEC_OK);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);

    /* moved to another EP: the same image, its rows replaced */
    assert_int_equal(store_ingest(f->st, "P1", "ep-a", d, 1, NULL, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);
    assert_int_equal(image_rows(f->path, 0), 0);

    /* deleted: nothing of it stays, the other image keeps its own */
    assert_int_equal(store_image_delete(f->st, "P1", 1, NULL, &err), IMGSEC_OK);
    assert_int_equal(image_rows(f->path, 1), 0);
    assert_int_equal(image_rows(f->path, 0), 0);
    assert_int_equal(image_rows(f->path, 2), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    doc_free(&d[0]);
    doc_free(&d[1]);
}

/* The record and aggregate tables' indexes, name and definition, in name
 * order: what store_ingest_defer_indexes drops and rebuilds. */
static const char *index_defs(const char *path, char *buf, size_t size)
{
    return qs(path,
              use_pg ? "SELECT string_agg(indexname || ':' || indexdef, ';' ORDER BY indexname) "
                       "FROM pg_indexes WHERE schemaname = current_schema() AND "
                       "(tablename LIKE 'rec\\_%' OR tablename LIKE 'agg\\_%')"
                     : "SELECT group_concat(name || ':' || sql, ';') FROM (SELECT name, sql FROM "
                       "sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                       "(tbl_name LIKE 'rec!_%' ESCAPE '!' OR tbl_name LIKE 'agg!_%' ESCAPE '!') "
                       "ORDER BY name)",
              buf, size);
}

/* A load with the indexes deferred (imgsec import --bulk): the six
 * indexes that ingest never reads are dropped inside the transaction and
 * built again before its commit, so afterwards the tables hold exactly
 * what a plain ingest leaves, with every index as it was; a rollback, at
 * any point, brings them back with everything else. only_if_empty defers
 * nothing in a store with images. */
static void test_ingest_defer_indexes(void **state)
{
    fx *f = *state;
    imgsec_err err;
    imgsec_doc d[3];
    store_ingest_result r[3];
    store_ingest_txn *tx;
    size_t n = 99;
    char before[8192], after[8192];
    index_defs(f->path, before, sizeof before);
    assert_non_null(strstr(before, "rec_app_name:"));
    assert_non_null(strstr(before, "rec_vul_app:"));
    assert_null(strstr(before, "rec_vul_vul:")); /* schema 19 */
    assert_non_null(strstr(before, "agg_vul_image:"));
    doc_all(&d[0]);
    doc_parse(&d[1], DOC_DB);
    doc_all(&d[2]);

    /* an empty store: deferred; the same image twice, in two batches */
    assert_int_equal(store_ingest_begin(f->st, "P1", "0", NULL, &tx, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_defer_indexes(tx, true, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 6);
    assert_int_equal(store_ingest_add(tx, d, 2, 0, true, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_add(tx, &d[2], 1, 2, true, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);
    if (store_ingest_end(tx, true, &err) != IMGSEC_OK)
        fail_msg("store_ingest_end: %s", err.msg);
    assert_string_equal(index_defs(f->path, after, sizeof after), before);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);
    assert_int_equal(image_rows(f->path, 2), 1);
    assert_int_equal(image_rows(f->path, 0), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 3);

    /* a store with images: only_if_empty defers nothing */
    assert_int_equal(store_ingest_begin(f->st, "P1", "0", NULL, &tx, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_defer_indexes(tx, true, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_ingest_end(tx, false, NULL), IMGSEC_OK);

    /* deferred whatever the store holds; rolled back: all as before */
    assert_int_equal(store_ingest_begin(f->st, "P1", "0", NULL, &tx, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_defer_indexes(tx, false, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 6);
    assert_int_equal(store_ingest_add(tx, &d[1], 1, 0, true, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_end(tx, false, NULL), IMGSEC_OK);
    assert_string_equal(index_defs(f->path, after, sizeof after), before);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 3);

    /* a failure inside the database after the drop: nothing stays */
    raw_exec(f->path, use_pg ? "CREATE FUNCTION boom_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                               "IF NEW.app_name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; "
                               "RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON rec_app "
                               "FOR EACH ROW EXECUTE FUNCTION boom_fn()"
                             : "CREATE TRIGGER boom BEFORE INSERT ON rec_app WHEN NEW.app_name = 'boom' "
                               "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    doc_free(&d[1]);
    doc_parse(&d[1], DOC_BOOM);
    assert_int_equal(store_ingest_begin(f->st, "P1", "0", NULL, &tx, &err), IMGSEC_OK);
    assert_int_equal(store_ingest_defer_indexes(tx, false, &n, &err), IMGSEC_OK);
    assert_int_equal(n, 6);
    assert_int_equal(store_ingest_add(tx, d, 2, 0, true, r, NULL, NULL, &err), IMGSEC_EINTERNAL);
    assert_int_equal(store_ingest_end(tx, false, NULL), IMGSEC_OK);
    assert_string_equal(index_defs(f->path, after, sizeof after), before);
    assert_int_equal(image_rows(f->path, 1), DOC_ALL_ROWS);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 3);
    for (int i = 0; i < 3; i++)
        doc_free(&d[i]);
}

/* ---- name_counts after writes of many names (store_names.c) ---- */

/* name_counts against a recount of the records (through the record API),
 * both ways: the rows that differ (0 when the counts are exact). */
static int64_t names_differ(store *st)
{
    return name_counts_differ(st);
}

/* A document of image `name` with apps "n-000".."n-<apps-1>", each
 * special name once, "gone" `gone` times, and files "f-00".."f-<files-1>". */
static void doc_names(imgsec_doc *d, const char *name, int apps, int files, int gone,
                      bool special)
{
    static const char *const SPECIAL[] = {"q\"uote", "back\\slash", "{brace}", "a,b", " sp ace ",
                                          "NULL", "\xc3\xa9-\xc3\xbc", ",",  "\\\"", "x}\"{"};
    json_t *a = json_array(), *f = json_array();
    char n[32];
    for (int i = 0; i < apps; i++) {
        snprintf(n, sizeof n, "n-%03d", i);
        json_array_append_new(a, json_pack("{s:s, s:s}", "app_name", n, "app_version", "1"));
    }
    for (size_t i = 0; special && i < sizeof SPECIAL / sizeof SPECIAL[0]; i++)
        json_array_append_new(a, json_pack("{s:s}", "app_name", SPECIAL[i]));
    for (int i = 0; i < gone; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "app_name", "gone", "app_version", i ? "2" : "1"));
    for (int i = 0; i < files; i++) {
        snprintf(n, sizeof n, "f-%02d", i);
        json_array_append_new(f, json_pack("{s:s, s:s}", "file_path", "/x", "file_name", n));
    }
    json_t *root = json_pack("{s:{s:s, s:s, s:s}, s:o, s:o}", "image", "image_type", "local_image",
                             "image_name", name, "scan_status", "success", "apps", a, "files", f);
    imgsec_err err;
    assert_non_null(root);
    if (doc_from_json(root, NULL, d, &err) != IMGSEC_OK)
        fail_msg("doc_from_json: %s", err.msg);
    json_decref(root);
}

/* Writes of hundreds of names per transaction keep name_counts exactly the
 * recount, names that need quoting included, and a count that falls to 0
 * (a re-ingest without the name, a delete) loses its row. On PostgreSQL
 * the commit writes the whole map in at most two statements (an upsert
 * of arrays and a delete of the counts that reached 0), not one or two
 * per name: each write here sends fewer statements than it has names. */
static void test_name_counts_many(void **state)
{
    fx *f = *state;
    imgsec_err err;
    imgsec_doc d[2];
    store_ingest_result r[2];
    doc_names(&d[0], "names-a", 400, 50, 1, true); /* 461 names */
    doc_names(&d[1], "names-b", 10, 0, 2, false);
    int64_t sent = store_statements_sent(f->st);
    if (store_ingest(f->st, "P1", "0", d, 2, NULL, r, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    sent = store_statements_sent(f->st) - sent;
    if (use_pg && sent > 40)
        fail_msg("ingest of 461 names: %lld statements", (long long)sent);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts"), 461);
    assert_int_equal(names_differ(f->st), 0);
    assert_int_equal(q1(f->path, "SELECT n FROM name_counts WHERE name = 'gone'"), 3);
    assert_int_equal(q1(f->path, "SELECT n FROM name_counts WHERE name = 'n-005'"), 2);
    assert_int_equal(q1(f->path, "SELECT n FROM name_counts WHERE kind = 1 AND name = 'f-49'"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts WHERE n = 1 AND name IN "
                                 "('q\"uote', 'back\\slash', '{brace}', 'a,b', ' sp ace ', "
                                 "'NULL', '\xc3\xa9-\xc3\xbc', ',', '\\\"', 'x}\"{')"),
                     10);
    int64_t b_id = r[1].id;
    doc_free(&d[0]);

    /* image a again with 100 apps, no file, no "gone": 361 counts fall,
     * 300 + 50 + 10 of them to 0 */
    doc_names(&d[0], "names-a", 100, 0, 0, false);
    sent = store_statements_sent(f->st);
    if (store_ingest(f->st, "P1", "0", d, 1, NULL, r, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    sent = store_statements_sent(f->st) - sent;
    if (use_pg && sent > 40)
        fail_msg("re-ingest of 461 names: %lld statements", (long long)sent);
    assert_int_equal(names_differ(f->st), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts"), 101);
    assert_int_equal(q1(f->path, "SELECT n FROM name_counts WHERE name = 'gone'"), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts WHERE name = 'n-100' OR "
                                 "name = 'q\"uote' OR kind = 1 OR n <= 0"),
                     0);

    /* image b deleted: "gone" falls to 0 and goes */
    assert_int_equal(store_image_delete(f->st, "P1", b_id, NULL, &err),
                     IMGSEC_OK);
    assert_int_equal(names_differ(f->st), 0);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts"), 100);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM name_counts WHERE name = 'gone'"), 0);
    assert_int_equal(q1(f->path, "SELECT n FROM name_counts WHERE name = 'n-005'"), 1);
    for (int i = 0; i < 2; i++)
        doc_free(&d[i]);
}

/* One call of 30 documents (the 30th the 4th's image again): the change
 * log gets one row per document, in document order, as one row per
 * ingest_one did; on PostgreSQL (COPY) the batch's rows are one
 * statement, so the call sends fewer than three statements per document
 * (75; was 104: a find, an insert and a change-log row each, and the
 * clear and update of the image replaced). */
static void test_change_log_batch(void **state)
{
    fx *f = *state;
    imgsec_err err;
    imgsec_doc d[30];
    store_ingest_result r[30];
    char want[512] = "", got[512], name[16];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "cl-%02d", i == 29 ? 3 : i);
        doc_names(&d[i], name, 1, 0, 0, false);
    }
    int64_t sent = store_statements_sent(f->st);
    if (store_ingest(f->st, "P1", "0", d, 30, NULL, r, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    sent = store_statements_sent(f->st) - sent;
    if (use_pg && sent >= 90)
        fail_msg("ingest of 30 documents: %lld statements", (long long)sent);
    for (int i = 0; i < 30; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
                 (long long)r[i].id);
    assert_int_equal(r[29].id, r[3].id);
    assert_int_equal(r[28].id, 29);
    assert_string_equal(qs(f->path,
                           use_pg ? "SELECT string_agg(image::text, ',' ORDER BY seq) FROM changes"
                                  : "SELECT group_concat(image, ',') FROM (SELECT image FROM "
                                    "changes ORDER BY seq)",
                           got, sizeof got),
                        want);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 29);
    assert_int_equal(names_differ(f->st), 0);
    for (int i = 0; i < 30; i++)
        doc_free(&d[i]);
}

/* With the caller's grant: its project, role and EPs, including the EP an
 * image already lives in. A refused call stores nothing. */
static void test_ingest_delete_with_grant(void **state)
{
    fx *f = *state;
    imgsec_err err;
    imgsec_doc d[2];
    store_ingest_result r[2];
    char buf[32];
    store_grant writer_a = grant("P1", ROLE_WRITER, "ep-a");
    store_grant writer_all = grant("P1", ROLE_WRITER, "all");
    store_grant admin = grant("P1", ROLE_ADMIN, "ep-z");
    store_grant reader = grant("P1", ROLE_READER, "all");
    store_grant other = grant("P2", ROLE_ADMIN, "all");

    assert_int_equal(ingest1(f->st, DOC_WEB).id, 1); /* lives in EP "0" */
    doc_parse(&d[0], DOC_DB);
    doc_parse(&d[1], DOC_WEB_V2);

    assert_int_equal(store_ingest(f->st, "P1", "ep-a", d, 1, &other, r, NULL, NULL, &err), IMGSEC_EPROJECT);
    assert_int_equal(store_ingest(f->st, "P1", "ep-a", d, 1, &reader, r, NULL, NULL, &err), IMGSEC_EFORBIDDEN);
    assert_int_equal(store_ingest(f->st, "P1", "ep", d, 1, &writer_a, r, NULL, NULL, &err), IMGSEC_EFORBIDDEN);
    /* The second document would take over image 1 of EP "0". */
    assert_int_equal(store_ingest(f->st, "P1", "ep-a", d, 2, &writer_a, r, NULL, NULL, &err), IMGSEC_EFORBIDDEN);
    assert_non_null(strstr(err.msg, "documents[1]."));
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 1);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 3);

    assert_int_equal(store_ingest(f->st, "P1", "ep-a", d, 1, &writer_a, r, NULL, NULL, &err), IMGSEC_OK);
    int64_t id_a = r[0].id;
    assert_int_equal(id_a, use_pg ? 3 : 2); /* PostgreSQL: the refused ingest used up id 2 */
    /* Moving image 1 to ep-a takes a grant covering its current EP too. */
    assert_int_equal(store_ingest(f->st, "P1", "ep-a", &d[1], 1, &writer_all, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);
    assert_string_equal(qs(f->path, "SELECT ep FROM images WHERE id = 1", buf, sizeof buf), "ep-a");
    assert_int_equal(store_ingest(f->st, "P1", "ep-b", &d[1], 1, &admin, r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r[0].id, 1);

    /* Delete: not found first, then project, role and the image's EP. */
    assert_int_equal(store_image_delete(f->st, "P1", 99, &writer_a, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_image_delete(f->st, "P1", 1, &other, &err), IMGSEC_EPROJECT);
    assert_int_equal(store_image_delete(f->st, "P1", 1, &reader, &err), IMGSEC_EFORBIDDEN);
    assert_int_equal(store_image_delete(f->st, "P1", 1, &writer_a, &err), IMGSEC_EFORBIDDEN); /* in ep-b */
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 2);
    assert_int_equal(store_image_delete(f->st, "P1", id_a, &writer_a, &err), IMGSEC_OK);
    assert_int_equal(store_image_delete(f->st, "P1", 1, &admin, &err), IMGSEC_OK);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 0);
    doc_free(&d[0]);
    doc_free(&d[1]);
}

/* ---- feeding the index ---- */

static void test_summary_foreach(void **state)
{
    fx *f = *state;
    imgsec_err err;
    collect c = {0};
    int64_t seq = -1;

    /* Empty store. */
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &c, &seq, &err), IMGSEC_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(seq, 0);

    ingest1(f->st, DOC_WEB);
    ingest1(f->st, DOC_DB);
    ingest1(f->st, DOC_CLEAN);
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &c, &seq, &err), IMGSEC_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(seq, 3);

    seen *w = &c.s[0];
    assert_int_equal(w->id, 1);
    assert_string_equal(w->name, "web");
    assert_string_equal(w->project, "P1");
    assert_string_equal(w->ep, "0");
    assert_string_equal(w->image_id, "sha256:aa");
    assert_int_equal(w->type, IMAGE_TYPE_PRIVATE);
    assert_int_equal(w->status, SCAN_STATUS_SUCCESS);
    assert_int_equal(w->level, SEVERITY_LEVEL_HIGH);
    assert_int_equal(w->size, 100);
    assert_int_equal(w->update_time, 1000);
    assert_int_equal(w->scan_time, 2000);
    assert_int_equal(w->containers, 3);
    assert_int_equal(w->counts[REPORT_VULNERABILITY], 3);
    assert_int_equal(w->counts[REPORT_APPS], 1);
    assert_int_equal(w->counts[REPORT_FILES], 1);
    assert_int_equal(w->counts[REPORT_BUILD_COMMAND_RISKS], 3);
    assert_int_equal(w->counts[REPORT_MALWARES], 0);
    assert_int_equal(w->counts[REPORT_RISK_CONFIG], 0);
    assert_int_equal(w->vul_counts[VUL_TYPE_LINUX], 2);
    assert_int_equal(w->vul_counts[VUL_TYPE_APP], 1);
    assert_int_equal(w->n_vuls, 2);
    assert_string_equal(w->vul_id[0], "CVE-1");
    assert_int_equal(w->vul_type[0], VUL_TYPE_LINUX);
    assert_int_equal(w->vul_n[0], 2);
    assert_string_equal(w->vul_id[1], "CVE-2");
    assert_int_equal(w->vul_type[1], VUL_TYPE_APP);
    assert_int_equal(w->vul_n[1], 1);
    assert_int_equal(w->n_builds, 2);
    assert_string_equal(w->rule_id[0], "DS001");
    assert_string_equal(w->risk_name[0], "latest");
    assert_int_equal(w->risk_level[0], SEVERITY_LOW);
    assert_int_equal(w->build_n[0], 1);
    assert_string_equal(w->rule_id[1], "DS002");
    assert_string_equal(w->risk_name[1], "root");
    assert_int_equal(w->risk_level[1], SEVERITY_HIGH);
    assert_int_equal(w->build_n[1], 2);

    seen *db = &c.s[1];
    assert_int_equal(db->id, 2);
    assert_int_equal(db->status, SCAN_STATUS_FAILED);
    assert_int_equal(db->level, SEVERITY_LEVEL_NONE);
    assert_int_equal(db->counts[REPORT_MALWARES], 1);
    assert_int_equal(db->n_vuls, 0);
    assert_int_equal(db->n_builds, 0);

    seen *cl = &c.s[2];
    assert_int_equal(cl->id, 3);
    assert_int_equal(cl->type, IMAGE_TYPE_LOCAL);
    assert_int_equal(cl->level, SEVERITY_LEVEL_SECURITY);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        assert_int_equal(cl->counts[t], 0);

    /* A non-zero callback result stops the walk and is returned. */
    collect stop = {.stop_after = 2};
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &stop, NULL, &err), 7);
    assert_int_equal(stop.n, 2);
    /* ... and the handle is usable afterwards (no transaction left open). */
    assert_int_equal(ingest1(f->st, DOC_WEB_V2).id, 1);
}

/* The walk is one snapshot: a commit by another connection meanwhile is
 * not in it, and shows up through the change log afterwards. */
static void test_summary_foreach_is_snapshot(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store *other = NULL;
    int64_t seq = -1, seq2 = -1;

    ingest1(f->st, DOC_WEB);
    ingest1(f->st, DOC_DB);
    assert_int_equal(store_open(f->path, &other, &err), IMGSEC_OK);
    collect c = {.other = other};
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &c, &seq, &err), IMGSEC_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(seq, 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM images"), 3);

    collect c2 = {0};
    assert_int_equal(store_changes_since(f->st, seq, collect_cb, gone_cb, &c2, &seq2, &err), IMGSEC_OK);
    assert_int_equal(c2.n, 1);
    assert_int_equal(c2.s[0].id, 3);
    assert_string_equal(c2.s[0].name, "clean");
    assert_int_equal(seq2, 3);
    store_close(other);
}

static void test_changes_since(void **state)
{
    fx *f = *state;
    imgsec_err err;
    int64_t seq0 = -1, seq1 = -1, seq2 = -1;

    ingest1(f->st, DOC_WEB);   /* 1 */
    ingest1(f->st, DOC_DB);    /* 2 */
    ingest1(f->st, DOC_CLEAN); /* 3 */
    collect all = {0};
    assert_int_equal(store_summary_foreach(f->st, collect_cb, &all, &seq0, &err), IMGSEC_OK);
    assert_int_equal(seq0, 3);

    /* Nothing new. */
    collect c0 = {0};
    assert_int_equal(store_changes_since(f->st, seq0, collect_cb, gone_cb, &c0, &seq1, &err), IMGSEC_OK);
    assert_int_equal(c0.n + c0.n_gone, 0);
    assert_int_equal(seq1, seq0);

    /* Re-ingest 1 twice, delete 3, add 4. */
    ingest1(f->st, DOC_WEB_V2);
    ingest1(f->st, DOC_WEB);
    imgsec_doc d;
    store_ingest_result r;
    doc_parse(&d, DOC_CLEAN);
    assert_int_equal(store_ingest(f->st, "P2", "ep-b", &d, 1, NULL, &r, NULL, NULL, &err), IMGSEC_OK);
    assert_int_equal(r.id, 4);
    doc_free(&d);
    assert_int_equal(store_image_delete(f->st, "P1", 3, NULL, &err), IMGSEC_OK);

    collect c = {0};
    assert_int_equal(store_changes_since(f->st, seq0, collect_cb, gone_cb, &c, &seq1, &err), IMGSEC_OK);
    assert_int_equal(seq1, seq0 + 4);
    assert_int_equal(c.n, 2); /* each image once, in id order */
    assert_int_equal(c.s[0].id, 1);
    assert_int_equal(c.s[0].counts[REPORT_VULNERABILITY], 3);
    assert_int_equal(c.s[0].n_vuls, 2);
    assert_int_equal(c.s[0].n_builds, 2);
    assert_int_equal(c.s[0].build_n[1], 2);
    assert_int_equal(c.s[1].id, 4);
    assert_string_equal(c.s[1].project, "P2");
    assert_string_equal(c.s[1].ep, "ep-b");
    assert_int_equal(c.n_gone, 1);
    assert_int_equal(c.gone[0], 3);

    /* From a later position only the later changes. */
    collect c2 = {0};
    assert_int_equal(store_changes_since(f->st, seq0 + 3, collect_cb, gone_cb, &c2, &seq2, &err), IMGSEC_OK);
    assert_int_equal(c2.n, 0);
    assert_int_equal(c2.n_gone, 1);
    assert_int_equal(seq2, seq1);

    /* From 0: everything that ever changed. */
    collect c3 = {0};
    assert_int_equal(store_changes_since(f->st, 0, collect_cb, gone_cb, &c3, &seq2, &err), IMGSEC_OK);
    assert_int_equal(c3.n, 3);
    assert_int_equal(c3.n_gone, 1);
    assert_int_equal(seq2, 7);

    /* A position ahead of the file (another database): rebuild. */
    assert_int_equal(store_changes_since(f->st, 100, collect_cb, gone_cb, &c3, &seq2, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_changes_since(f->st, -1, collect_cb, gone_cb, &c3, &seq2, &err), IMGSEC_EINVAL);
}

static void test_changes_pruned(void **state)
{
    fx *f = *state;
    imgsec_err err;
    int64_t seq = -1;

    /* 100,001 old changes of a long-gone image 999, then one real ingest. */
    raw_exec(f->path, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100001) "
                      "INSERT INTO changes (image) SELECT 999 FROM c");
    assert_int_equal(ingest1(f->st, DOC_WEB).id, 1);
    /* Seqs 1..100002; the newest 100,000 are kept. */
    assert_int_equal(q1(f->path, "SELECT count(*) FROM changes"), 100000);
    assert_int_equal(q1(f->path, "SELECT min(seq) FROM changes"), 3);
    assert_int_equal(q1(f->path, "SELECT max(seq) FROM changes"), 100002);

    collect c = {0};
    assert_int_equal(store_changes_since(f->st, 1, collect_cb, gone_cb, &c, &seq, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_changes_since(f->st, 0, collect_cb, gone_cb, &c, &seq, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(c.n + c.n_gone, 0);
    assert_int_equal(seq, -1);

    /* Just inside the kept window. */
    assert_int_equal(store_changes_since(f->st, 2, collect_cb, gone_cb, &c, &seq, &err), IMGSEC_OK);
    assert_int_equal(seq, 100002);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.s[0].id, 1);
    assert_int_equal(c.n_gone, 1);
    assert_int_equal(c.gone[0], 999);
}

static void test_data_version(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store *other = NULL;

    int64_t v0 = store_data_version(f->st);
    assert_true(v0 >= 0);
    assert_int_equal(store_data_version(f->st), v0);
    assert_int_equal(store_open(f->path, &other, &err), IMGSEC_OK);
    ingest1(other, DOC_WEB);
    int64_t v1 = store_data_version(f->st);
    assert_true(v1 != v0);
    assert_int_equal(store_data_version(f->st), v1);
    /* a principal changed elsewhere moves it too (the token cache's key) */
    store_grant g = grant("P1", ROLE_ADMIN, "all");
    assert_int_equal(store_user_add(other, "acme", "bob", "h", &g, &err), IMGSEC_OK);
    int64_t v2 = store_data_version(f->st);
    assert_int_equal(store_user_del(other, "acme", "bob", &err), IMGSEC_OK);
    int64_t v3 = store_data_version(f->st);
    assert_true(v3 != v2);
    assert_int_equal(store_data_version(f->st), v3);
    store_close(other);
}

/* ---- users, grants, tokens ---- */

typedef struct {
    char line[8][1400];
    int n;
} user_lines;

static void list_cb(const store_user *u, const store_grant *g, void *arg)
{
    user_lines *l = arg;
    assert_true(l->n < 8);
    if (g)
        snprintf(l->line[l->n++], sizeof l->line[0], "%s/%s %s %s %s", u->domain, u->name,
                 g->project_id, role_name(g->role), g->eps_all ? "all" : g->eps);
    else
        snprintf(l->line[l->n++], sizeof l->line[0], "%s/%s -", u->domain, u->name);
}

static void test_users(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store_grant g1 = grant("P1", ROLE_READER, "0,ep-a");
    store_grant g2 = grant("P2", ROLE_WRITER, "all");
    store_grant bad;
    store_user u;
    store_grant got;
    char hash[128];

    assert_int_equal(store_user_add(f->st, "acme", "alice", "$argon2id$x", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_user_add(f->st, "acme", "alice", "$argon2id$y", &g2, &err), IMGSEC_ECONFLICT);
    assert_int_equal(store_user_add(f->st, "acme", "bob", "$argon2id$b", &g2, &err), IMGSEC_OK);
    assert_int_equal(store_user_add(f->st, "beta", "alice", "$argon2id$c", &g1, &err), IMGSEC_OK);

    /* Validation. */
    assert_int_equal(store_user_add(f->st, "acme", "", "h", &g1, &err), IMGSEC_EINVAL);
    assert_int_equal(store_user_add(f->st, "acme", "a\tb", "h", &g1, &err), IMGSEC_EINVAL);
    assert_int_equal(store_user_add(f->st, "ac\nme", "carol", "h", &g1, &err), IMGSEC_EINVAL);
    assert_int_equal(store_user_add(f->st, "acme", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "h", &g1, &err),
                     IMGSEC_EINVAL); /* 65 */
    assert_int_equal(store_user_add(f->st, "acme", "Jos\xc3\xa9 K", "h", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_user_add(f->st, "acme", "bad\xc3", "h", &g1, &err), IMGSEC_EINVAL);
    assert_int_equal(store_user_add(f->st, "acme", "carol", "", &g1, &err), IMGSEC_EINVAL);
    bad = grant("P 1", ROLE_READER, "0");
    assert_int_equal(store_user_add(f->st, "acme", "carol", "h", &bad, &err), IMGSEC_EINVAL);
    bad = grant("P1", ROLE_READER, "0,,ep-a");
    assert_int_equal(store_user_add(f->st, "acme", "carol", "h", &bad, &err), IMGSEC_EINVAL);
    bad = grant("P1", ROLE_READER, "");
    assert_int_equal(store_user_add(f->st, "acme", "carol", "h", &bad, &err), IMGSEC_EINVAL);
    bad = grant("P1", ROLE_READER, "0,ep a");
    assert_int_equal(store_user_add(f->st, "acme", "carol", "h", &bad, &err), IMGSEC_EINVAL);
    bad = grant("P1", ROLE_COUNT, "0");
    assert_int_equal(store_user_add(f->st, "acme", "carol", "h", &bad, &err), IMGSEC_EINVAL);
    assert_int_equal(store_user_get(f->st, "acme", "carol", &u, NULL, 0, &err), IMGSEC_ENOTFOUND);

    /* Get and grant_get. */
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, hash, sizeof hash, &err), IMGSEC_OK);
    assert_int_equal(u.id, 1);
    assert_string_equal(u.domain, "acme");
    assert_string_equal(u.name, "alice");
    assert_string_equal(hash, "$argon2id$x");
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, hash, 5, &err), IMGSEC_EINTERNAL);
    assert_int_equal(store_grant_get(f->st, u.id, "P1", &got, &err), IMGSEC_OK);
    assert_string_equal(got.project_id, "P1");
    assert_int_equal(got.role, ROLE_READER);
    assert_false(got.eps_all);
    assert_string_equal(got.eps, "0,ep-a");
    assert_int_equal(store_grant_get(f->st, u.id, "P2", &got, &err), IMGSEC_ENOTFOUND);

    /* Grant adds, then replaces. An EP may be called "all" (a list, not everything). */
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g2, &err), IMGSEC_OK);
    assert_int_equal(store_grant_get(f->st, u.id, "P2", &got, &err), IMGSEC_OK);
    assert_int_equal(got.role, ROLE_WRITER);
    assert_true(got.eps_all);
    store_grant named_all = grant("P2", ROLE_ADMIN, "x");
    snprintf(named_all.eps, sizeof named_all.eps, "all");
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &named_all, &err), IMGSEC_OK);
    assert_int_equal(store_grant_get(f->st, u.id, "P2", &got, &err), IMGSEC_OK);
    assert_int_equal(got.role, ROLE_ADMIN);
    assert_false(got.eps_all);
    assert_string_equal(got.eps, "all");
    assert_int_equal(store_user_grant(f->st, "acme", "nobody", &g2, &err), IMGSEC_ENOTFOUND);

    user_lines l = {0};
    assert_int_equal(store_user_list(f->st, list_cb, &l, &err), IMGSEC_OK);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.line[0], "acme/Jos\xc3\xa9 K P1 reader 0,ep-a");
    assert_string_equal(l.line[1], "acme/alice P1 reader 0,ep-a");
    assert_string_equal(l.line[2], "acme/alice P2 admin all");
    assert_string_equal(l.line[3], "acme/bob P2 writer all");
    assert_string_equal(l.line[4], "beta/alice P1 reader 0,ep-a");

    /* Revoke. */
    assert_int_equal(store_user_revoke(f->st, "acme", "alice", "P2", &err), IMGSEC_OK);
    assert_int_equal(store_grant_get(f->st, u.id, "P2", &got, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_user_revoke(f->st, "acme", "alice", "P2", &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_user_revoke(f->st, "acme", "nobody", "P2", &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_user_revoke(f->st, "acme", "bob", "P2", &err), IMGSEC_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_user_list(f->st, list_cb, &l, &err), IMGSEC_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.line[2], "acme/bob -");

    /* Delete. */
    assert_int_equal(store_user_del(f->st, "acme", "alice", &err), IMGSEC_OK);
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, NULL, 0, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_user_del(f->st, "acme", "alice", &err), IMGSEC_ENOTFOUND);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM grants WHERE user_id = 1"), 0);
    assert_int_equal(store_user_get(f->st, "beta", "alice", &u, NULL, 0, &err), IMGSEC_OK);
    /* A new alice is a new user id. */
    assert_int_equal(store_user_add(f->st, "acme", "alice", "h", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, NULL, 0, &err), IMGSEC_OK);
    assert_int_equal(u.id, 5);
}

static void fill_hash(unsigned char h[STORE_TOKEN_HASH_BYTES], unsigned char seed)
{
    for (int i = 0; i < STORE_TOKEN_HASH_BYTES; i++)
        h[i] = (unsigned char)(seed + i);
}

static void test_tokens(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store_grant g1 = grant("P1", ROLE_WRITER, "0,ep-a");
    store_grant g2 = grant("P2", ROLE_READER, "all");
    store_user u;
    store_principal p;
    unsigned char h1[32], h2[32], h3[32], h4[32];
    const int64_t now = 1764000000000;

    fill_hash(h1, 1);
    fill_hash(h2, 2);
    fill_hash(h3, 3);
    fill_hash(h4, 4);
    assert_int_equal(store_user_add(f->st, "acme", "alice", "h", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g2, &err), IMGSEC_OK);
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, NULL, 0, &err), IMGSEC_OK);

    assert_int_equal(store_token_insert(f->st, h1, u.id, "P1", now, now + 1000, &err), IMGSEC_OK);
    assert_int_equal(store_token_insert(f->st, h2, u.id, "P2", now, now + 1000, &err), IMGSEC_OK);
    assert_int_equal(store_token_insert(f->st, h3, u.id, "P2", now - 5000, now - 1000, &err), IMGSEC_OK);
    assert_int_equal(store_token_insert(f->st, h1, u.id, "P1", now, now + 1000, &err), IMGSEC_ECONFLICT);
    assert_int_equal(store_token_insert(f->st, h4, 999, "P1", now, now + 1000, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM tokens"), 3);

    /* Lookup gives the user and the current grant. */
    assert_int_equal(store_token_lookup(f->st, h1, now, &p, &err), IMGSEC_OK);
    assert_int_equal(p.user.id, u.id);
    assert_string_equal(p.user.domain, "acme");
    assert_string_equal(p.user.name, "alice");
    assert_string_equal(p.grant.project_id, "P1");
    assert_int_equal(p.grant.role, ROLE_WRITER);
    assert_string_equal(p.grant.eps, "0,ep-a");
    assert_int_equal(p.expires_at_ms, now + 1000);
    /* Unknown, expired (at and after expiry). */
    assert_int_equal(store_token_lookup(f->st, h4, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_token_lookup(f->st, h3, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_token_lookup(f->st, h1, now + 1000, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_token_lookup(f->st, h1, now + 999, &p, &err), IMGSEC_OK);

    /* A changed grant applies to the token at once. */
    store_grant g1b = grant("P1", ROLE_READER, "ep-b");
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g1b, &err), IMGSEC_OK);
    assert_int_equal(store_token_lookup(f->st, h1, now, &p, &err), IMGSEC_OK);
    assert_int_equal(p.grant.role, ROLE_READER);
    assert_string_equal(p.grant.eps, "ep-b");

    /* Revoking the grant kills the project's tokens, for good. */
    assert_int_equal(store_user_revoke(f->st, "acme", "alice", "P1", &err), IMGSEC_OK);
    assert_int_equal(store_token_lookup(f->st, h1, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_token_lookup(f->st, h1, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_token_lookup(f->st, h2, now, &p, &err), IMGSEC_OK);
    assert_true(p.grant.eps_all);

    /* Delete and purge. */
    assert_int_equal(store_token_insert(f->st, h4, u.id, "P1", now, now + 10, &err), IMGSEC_OK);
    assert_int_equal(store_token_delete(f->st, h4, &err), IMGSEC_OK);
    assert_int_equal(store_token_delete(f->st, h4, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_token_lookup(f->st, h4, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(store_token_purge(f->st, now, &err), 1); /* h3 */
    assert_int_equal(store_token_purge(f->st, now, &err), 0);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM tokens"), 1); /* h2 */

    /* Deleting the user kills its tokens. */
    assert_int_equal(store_user_del(f->st, "acme", "alice", &err), IMGSEC_OK);
    assert_int_equal(store_token_lookup(f->st, h2, now, &p, &err), IMGSEC_EAUTH);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM tokens"), 0);
}

static void test_roles_and_covers_ep(void **state)
{
    (void)state;
    assert_int_equal(role_parse("reader"), ROLE_READER);
    assert_int_equal(role_parse("writer"), ROLE_WRITER);
    assert_int_equal(role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(role_parse("Admin"), -1);
    assert_int_equal(role_parse(NULL), -1);
    assert_string_equal(role_name(ROLE_WRITER), "writer");

    store_grant g = grant("P1", ROLE_READER, "0,ep-a,b");
    assert_true(store_grant_covers_ep(&g, "0"));
    assert_true(store_grant_covers_ep(&g, "ep-a"));
    assert_true(store_grant_covers_ep(&g, "b"));
    assert_false(store_grant_covers_ep(&g, "ep"));   /* not a prefix match */
    assert_false(store_grant_covers_ep(&g, "ep-"));
    assert_false(store_grant_covers_ep(&g, "a"));    /* not a suffix match */
    assert_false(store_grant_covers_ep(&g, "ep-ab"));
    assert_false(store_grant_covers_ep(&g, "0,ep-a"));
    assert_false(store_grant_covers_ep(&g, ""));
    assert_false(store_grant_covers_ep(&g, NULL));
    store_grant one = grant("P1", ROLE_WRITER, "ep-a");
    assert_false(store_grant_covers_ep(&one, "ep"));
    assert_true(store_grant_covers_ep(&one, "ep-a"));
    store_grant all = grant("P1", ROLE_READER, "all");
    assert_true(store_grant_covers_ep(&all, "anything"));
    store_grant admin = grant("P1", ROLE_ADMIN, "0");
    assert_true(store_grant_covers_ep(&admin, "ep-z"));
    assert_false(store_grant_covers_ep(NULL, "0"));
}

/* The auth epoch (store_auth_epoch) moves with every change that can
 * change a stored principal, from any connection, and with nothing else. */
static int64_t epoch(store *st)
{
    imgsec_err err;
    int64_t e = -1;
    assert_int_equal(store_auth_epoch(st, &e, &err), IMGSEC_OK);
    return e;
}

static void test_auth_epoch(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store_grant g1 = grant("P1", ROLE_WRITER, "0");
    store_grant g2 = grant("P2", ROLE_READER, "all");
    store_user u;
    unsigned char h1[32], h2[32];
    fill_hash(h1, 1);
    fill_hash(h2, 2);
    const int64_t now = 1764000000000;
    int64_t e = epoch(f->st);
    assert_int_equal(e, 0);
    /* a user added with a grant: the grant is new, the epoch moves once */
    assert_int_equal(store_user_add(f->st, "acme", "alice", "h", &g1, &err), IMGSEC_OK);
    assert_int_equal(epoch(f->st), e + 1);
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, NULL, 0, &err), IMGSEC_OK);
    e = epoch(f->st);
    /* left alone: tokens issued, a key created, an image ingested */
    assert_int_equal(store_token_insert(f->st, h1, u.id, "P1", now, now + 1000, &err), IMGSEC_OK);
    assert_int_equal(store_token_insert(f->st, h2, u.id, "P1", now, now + 1000, &err), IMGSEC_OK);
    unsigned char sealed[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(store_key_insert(f->st, "AKAKAKAKAKAKAKAKAKAK", u.id, sealed, sizeof sealed,
                                      now, &err),
                     IMGSEC_OK);
    ingest1(f->st, "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"n\"}}");
    assert_int_equal(epoch(f->st), e);
    /* moved: a token revoked, a grant added, changed, revoked, a key
     * deleted, a user deleted; each once at least */
    int64_t last = e;
    assert_int_equal(store_token_delete(f->st, h1, &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g2, &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    g2.role = ROLE_WRITER;
    assert_int_equal(store_user_grant(f->st, "acme", "alice", &g2, &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    assert_int_equal(store_user_revoke(f->st, "acme", "alice", "P2", &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    assert_int_equal(store_key_delete(f->st, "AKAKAKAKAKAKAKAKAKAK", &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    assert_int_equal(store_user_del(f->st, "acme", "alice", &err), IMGSEC_OK);
    assert_true(epoch(f->st) > last);
    last = epoch(f->st);
    /* another connection's commit is seen: the trigger runs in every writer */
    dexec(f->path, "DELETE FROM tokens");
    assert_int_equal(epoch(f->st), last); /* no token was left to delete */
    assert_int_equal(store_user_add(f->st, "acme", "bob", "h", &g1, &err), IMGSEC_OK);
    last = epoch(f->st);
    dexec(f->path, "UPDATE grants SET eps = '*'");
    assert_true(epoch(f->st) > last);
}

/* The access keys (store_keys.h): stored, found, listed, deleted; a
 * second key of the same AK conflicts. */
static void test_keys(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store_grant g1 = grant("P1", ROLE_WRITER, "0");
    store_user u, found;
    const unsigned char sealed[40] = {0, 1, 2, 0xff, 0x5c, 0x78}; /* NUL, 0xff, "\\x" */
    unsigned char got[STORE_SK_SEALED_MAX];
    size_t got_len = 0;
    assert_int_equal(store_user_add(f->st, "acme", "alice", "h", &g1, &err), IMGSEC_OK);
    assert_int_equal(store_user_get(f->st, "acme", "alice", &u, NULL, 0, &err), IMGSEC_OK);
    assert_int_equal(store_key_insert(f->st, "AKAKAKAKAKAKAKAKAKAK", u.id, sealed, sizeof sealed, 5, &err),
                     IMGSEC_OK);
    assert_int_equal(store_key_insert(f->st, "AKAKAKAKAKAKAKAKAKAK", u.id, sealed, 3, 6, &err),
                     IMGSEC_ECONFLICT);
    assert_int_equal(store_key_insert(f->st, "BKBKBKBKBKBKBKBKBKBK", u.id, sealed, 3, 4, &err), IMGSEC_OK);
    assert_int_equal(store_key_insert(f->st, "bad", u.id, sealed, 3, 4, &err), IMGSEC_EINVAL);
    assert_int_equal(store_key_lookup(f->st, "AKAKAKAKAKAKAKAKAKAK", &found, got, &got_len, &err), IMGSEC_OK);
    assert_int_equal(found.id, u.id);
    assert_string_equal(found.domain, "acme");
    assert_string_equal(found.name, "alice");
    assert_int_equal(got_len, sizeof sealed);
    assert_memory_equal(got, sealed, sizeof sealed);
    assert_int_equal(store_key_lookup(f->st, "CKCKCKCKCKCKCKCKCKCK", &found, got, &got_len, &err),
                     IMGSEC_EAUTH);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM access_keys"), 2);
    assert_int_equal(store_key_delete(f->st, "AKAKAKAKAKAKAKAKAKAK", &err), IMGSEC_OK);
    assert_int_equal(store_key_delete(f->st, "AKAKAKAKAKAKAKAKAKAK", &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_key_lookup(f->st, "AKAKAKAKAKAKAKAKAKAK", &found, got, &got_len, &err),
                     IMGSEC_EAUTH);
    /* a user's keys go with the user */
    assert_int_equal(store_user_del(f->st, "acme", "alice", &err), IMGSEC_OK);
    assert_int_equal(dq1(f->path, "SELECT count(*) FROM access_keys"), 0);
}

/* store_open on a database with a newer schema version or someone
 * else's tables: refused, and the database is left as it was. */
static void test_open_refuses_pg(void **state)
{
    fx *f = *state;
    imgsec_err err;
    store *st = NULL;
    char sql[128];
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(dq1(f->path, "SELECT version FROM imgsec_schema"), STORE_SCHEMA_VERSION);
    /* reopening finds the schema made */
    assert_int_equal(store_open(f->path, &f->st, &err), IMGSEC_OK);
    store_close(f->st);
    f->st = NULL;
    snprintf(sql, sizeof sql, "UPDATE imgsec_schema SET version = %d", STORE_SCHEMA_VERSION + 1);
    dexec(f->path, sql);
    assert_int_equal(store_open(f->path, &st, &err), IMGSEC_EINTERNAL);
    assert_null(st);
    assert_non_null(strstr(err.msg, "newer"));
    assert_int_equal(dq1(f->path, "SELECT version FROM imgsec_schema"), STORE_SCHEMA_VERSION + 1);
    dexec(f->path, "DROP TABLE imgsec_schema");
    assert_int_equal(store_open(f->path, &st, &err), IMGSEC_EINTERNAL);
    assert_non_null(strstr(err.msg, "not an imgsec database"));
    assert_int_equal(dq1(f->path, "SELECT to_regclass('imgsec_schema') IS NULL"), 1);
    /* a server that is not there */
    assert_int_equal(store_open("postgresql:///x?host=/nonexistent-imgsec", &st, &err), IMGSEC_EINTERNAL);
    assert_int_equal(strncmp(err.msg, "store: cannot open the database: ", 33), 0);
}

/* The vulnerability replacement of rematch runs on PostgreSQL too (the
 * whole of it: tests/unit/test_rematch_engines.c): two records replace
 * the image's, then one of them again (a delete), and a replace read
 * before another write of the image is skipped. */
static void test_replace_vulnerabilities_pg(void **state)
{
    fx *f = *state;
    imgsec_err err;
    ingest1(f->st, DOC_WEB);
    int64_t seq = 0;
    assert_int_equal(store_change_seq(f->st, &seq, &err), IMGSEC_OK);
    store_vul_replace r = {
        .image_id = 1,
        .seen_seq = seq,
        .vuls = json_loads("[{\"vul_id\":\"CVE-2026-1\",\"vul_type\":\"app_vul\",\"severity\":\"high\","
                           "\"cvss_score\":7.5},{\"vul_id\":\"CVE-2026-2\",\"vul_type\":\"linux_vul\","
                           "\"severity\":\"low\"}]",
                           0, NULL)};
    assert_non_null(r.vuls);
    if (store_replace_vulnerabilities(f->st, &r, 1, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_false(r.skipped);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 2);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 2);
    assert_int_equal(json_array_remove(r.vuls, 0), 0);
    assert_int_equal(store_change_seq(f->st, &r.seen_seq, &err), IMGSEC_OK);
    assert_int_equal(store_replace_vulnerabilities(f->st, &r, 1, &err), IMGSEC_OK);
    assert_false(r.skipped);
    char *t = rec_text(f->st, REPORT_VULNERABILITY, -1, "vul_id,severity");
    assert_string_equal(t, "1|0|CVE-2026-2|low|\n");
    free(t);
    assert_int_equal(rec_stored(f->st, REPORT_VULNERABILITY), 1);
    assert_int_equal(q1(f->path, "SELECT count(*) FROM agg_vul"), 1);
    /* read at seq, then the image is ingested again: the replace loses */
    r.seen_seq = seq;
    assert_int_equal(store_replace_vulnerabilities(f->st, &r, 1, &err), IMGSEC_OK);
    assert_true(r.skipped);
    json_decref(r.vuls);
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    if (pg) {
        use_pg = true;
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test_setup_teardown(test_open_refuses_pg, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_one, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reingest_replaces, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bulk_same_identity, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bulk_invalid_scope_stores_nothing, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bulk_fails_midway, setup, teardown),
            cmocka_unit_test_setup_teardown(test_image_delete, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_orphan_rows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_defer_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_counts_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_log_batch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_name_counts_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_log_batch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_change_log_batch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_delete_with_grant, setup, teardown),
            cmocka_unit_test_setup_teardown(test_summary_foreach, setup, teardown),
            cmocka_unit_test_setup_teardown(test_summary_foreach_is_snapshot, setup, teardown),
            cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
            cmocka_unit_test_setup_teardown(test_changes_pruned, setup, teardown),
            cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
            cmocka_unit_test_setup_teardown(test_users, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
            cmocka_unit_test_setup_teardown(test_auth_epoch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
            cmocka_unit_test_setup_teardown(test_replace_vulnerabilities_pg, setup, teardown),
        };
        return cmocka_run_group_tests_name("store on PostgreSQL", pg_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_nc_app_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_drop_vul_vul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_newer_and_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_reconciles_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reingest_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_same_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_invalid_scope_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_fails_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_defer_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_counts_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_log_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_delete_with_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_foreach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_foreach_is_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test(test_roles_and_covers_ep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
