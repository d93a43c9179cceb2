/* test_rematch_engines.c - rematching the same store content on SQLite
 * and on PostgreSQL stores exactly the same vulnerability records
 * (issue 16: every CLI command works on both, the same way).
 *
 * Both stores get the same 4 * COPIES + 1 images (ingested in the same
 * order): a Debian 9 image (dpkg, libssl1.1, tzdata: 2 matches, DLA-3022-1
 * and DLA-3008-1 through the source package openssl; tzdata is at its
 * fixed version), an npm one (jquery 3.3.9: 3, debug 2.5.2: 2, ms 1.0.0:
 * 1), a Go one (stdlib 1.15.2: 2) and a Maven one (guava 29.0-jre: 2),
 * each from ../shared/fixtures/scan/osv/EXPECTED-MATCHES.tsv; every third
 * copy carries a stale vulnerability the rematch replaces; and one image
 * whose apps have no purl keeps its vulnerability. The rematch runs with
 * two worker threads and --bulk auto (SQLite: a bulk write, the
 * indexes rebuilt at its end; PostgreSQL: batches, new rows by COPY).
 * Then the database changes: a new record for dpkg and a withdrawn
 * version of GHSA-9vvw-cc9w-f27h (debug), and both rematch again (the
 * row-by-row difference: inserts, deletes and moves of seq).
 *
 * After each run: the same counts (exact), and the same SHA-256 of the
 * vulnerability rows, the aggregates and the images' counts, read through
 * the driver in key order (image names, not ids or rowids, which either
 * engine may number differently) and written out by type, so 7.5 is
 * 7.5 on both. Needs the fixture pg (IMGSEC_TEST_PG). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "imgsec/doc.h"
#include "imgsec/store.h"
#include "imgsec/vulndb.h"
#include "store/store_int.h"
#include "unit_pg.h"
#include "unit_ingest.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

#define COPIES 30

static const char *const KINDS[4] = {
    "\"apps\":[{\"app_name\":\"dpkg\",\"app_version\":\"1.18.25\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/dpkg@1.18.25?arch=amd64&distro=debian-9\"},"
    "{\"app_name\":\"libssl1.1\",\"app_version\":\"1.1.0l-1~deb9u5\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&upstream=openssl&distro=debian-9\"},"
    "{\"app_name\":\"tzdata\",\"app_version\":\"2021a-0+deb9u4\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/tzdata@2021a-0+deb9u4?distro=debian-9\"}]",
    "\"apps\":[{\"app_name\":\"jquery\",\"app_version\":\"3.3.9\",\"app_type\":\"npm\","
    "\"purl\":\"pkg:npm/jquery@3.3.9\",\"app_path\":\"/app/node_modules/jquery\"},"
    "{\"app_name\":\"debug\",\"app_version\":\"2.5.2\",\"app_type\":\"npm\","
    "\"purl\":\"pkg:npm/debug@2.5.2\",\"app_path\":\"/app/node_modules/debug\"},"
    "{\"app_name\":\"ms\",\"app_version\":\"1.0.0\",\"app_type\":\"npm\","
    "\"purl\":\"pkg:npm/ms@1.0.0\",\"app_path\":\"/app/node_modules/ms\"}]",
    "\"apps\":[{\"app_name\":\"stdlib\",\"app_version\":\"1.15.2\",\"app_type\":\"go\","
    "\"purl\":\"pkg:golang/stdlib@1.15.2\",\"app_path\":\"/usr/bin/app\"}]",
    "\"apps\":[{\"app_name\":\"com.google.guava:guava\",\"app_version\":\"29.0-jre\",\"app_type\":\"jar\","
    "\"purl\":\"pkg:maven/com.google.guava/guava@29.0-jre\",\"app_path\":\"/app/lib/guava.jar\"}]",
};
static const int64_t KIND_VULS[4] = {2, 6, 2, 2};

#define STALE "\"vulnerabilities\":[{\"vul_id\":\"CVE-1999-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}],"

/* A new record for dpkg, and GHSA-9vvw-cc9w-f27h withdrawn (a later
 * modified time than the fixture's). */
static const char DPKG_RECORD[] =
    "{\"id\": \"TEST-DPKG-1\", \"modified\": \"2026-01-01T00:00:00Z\", \"aliases\": [\"CVE-2026-0001\"],"
    " \"affected\": [{\"package\": {\"name\": \"dpkg\", \"ecosystem\": \"Debian:9\"}, \"ranges\": [{"
    "\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"1.18.26\"}]}]}]}";
static const char DEBUG_WITHDRAWN[] =
    "{\"id\": \"GHSA-9vvw-cc9w-f27h\", \"modified\": \"2030-01-01T00:00:00Z\","
    " \"withdrawn\": \"2030-01-01T00:00:00Z\", \"affected\": [{\"package\": {\"name\": \"debug\","
    " \"ecosystem\": \"npm\"}, \"ranges\": [{\"type\": \"SEMVER\", \"events\": [{\"introduced\": \"0\"},"
    " {\"fixed\": \"2.6.9\"}]}]}]}";

static char g_dir[1024];

static void ingest_all(store *st)
{
    size_t cap = 4 * COPIES * 2048 + 4096, len = 0;
    char *nd = malloc(cap);
    assert_non_null(nd);
    for (int i = 0; i < COPIES; i++)
        for (int k = 0; k < 4; k++)
            len += (size_t)snprintf(nd + len, cap - len,
                                    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"k%d-%03d\","
                                    "\"image_version\":\"1\",\"scan_status\":\"success\"},%s%s}\n",
                                    k, i, i % 3 == 0 ? STALE : "", KINDS[k]);
    len += (size_t)snprintf(nd + len, cap - len, "%s",
                            "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"other-scanner\","
                            "\"scan_status\":\"success\"},\"vulnerabilities\":[{\"vul_id\":\"CVE-2000-0001\","
                            "\"vul_type\":\"app_vul\",\"severity\":\"high\",\"cvss_score\":7.5}],"
                            "\"apps\":[{\"app_name\":\"musl\",\"app_version\":\"1.2.4-r0\",\"app_type\":\"apk\"}]}\n");
    unit_ingest_ndjson(st, nd, len);
    free(nd);
}

/* The rows of sql, one line each, every column written by its type. */
static void dump(FILE *f, store *st, const char *sql, int64_t *rows)
{
    imgsec_err err = {0};
    db_stmt *s = db_prepare(st->conn, sql, false, "dump", &err);
    if (!s) fail_msg("%s", err.msg);
    int rc;
    *rows = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        for (int c = 0; c < db_column_count(s); c++) {
            switch (db_column_type(s, c)) {
            case DB_NULL: fputs("NULL", f); break;
            case DB_INT: fprintf(f, "%lld", (long long)db_column_int64(s, c)); break;
            case DB_FLOAT: fprintf(f, "%.17g", db_column_double(s, c)); break;
            default: fprintf(f, "'%s'", db_column_text(s, c)); break;
            }
            fputc(c + 1 < db_column_count(s) ? '|' : '\n', f);
        }
        ++*rows;
    }
    assert_int_equal(rc, DB_DONE);
    db_finalize(s);
}

typedef struct {
    int64_t vul_rows, agg_rows, images;
    char sha[65];
} digest;

static void store_digest(store *st, digest *d)
{
    const record_kind *k = record_kind_get(REPORT_VULNERABILITY);
    util_buf q = {0};
    util_buf_printf(&q, "SELECT i.image_name, v.seq");
    for (size_t f = 0; f < k->nfields; f++) util_buf_printf(&q, ", v.\"%s\"", k->fields[f].name);
    util_buf_printf(&q, " FROM \"%s\" v JOIN images i ON i.id = v.image ORDER BY i.image_name, v.seq",
                    k->table);
    assert_false(q.failed);
    char vcount[64], level[64], linux_n[64], app_n[64];
    store_image_col(IC_COUNT(REPORT_VULNERABILITY), vcount, sizeof vcount);
    store_image_col(IC_SEVERITY_LEVEL, level, sizeof level);
    store_image_col(IC_VUL_COUNT(VUL_TYPE_LINUX), linux_n, sizeof linux_n);
    store_image_col(IC_VUL_COUNT(VUL_TYPE_APP), app_n, sizeof app_n);
    char images[512];
    snprintf(images, sizeof images,
             "SELECT image_name, \"%s\", \"%s\", \"%s\", \"%s\" FROM images ORDER BY image_name", vcount,
             level, linux_n, app_n);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    dump(f, st, q.buf, &d->vul_rows);
    dump(f, st,
         "SELECT i.image_name, a.vul_id, a.vul_type, a.n, a.rank, a.cvss, a.rep_seq, a.rep_cvss "
         "FROM agg_vul a JOIN images i ON i.id = a.image ORDER BY i.image_name, a.vul_id, a.vul_type",
         &d->agg_rows);
    dump(f, st, images, &d->images);
    fclose(f);
    free(q.buf);
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_int_equal(EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++) snprintf(d->sha + 2 * i, 3, "%02x", md[i]);
    free(text);
}

static void import(vulndb *db, const char *sub)
{
    char dir[1200];
    imgsec_err err = {0};
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    snprintf(dir, sizeof dir, "%s/scan/osv/%s", fx && *fx ? fx : IMGSEC_FIXTURES_DIR, sub);
    const char *paths[] = {dir};
    if (vulndb_import(db, paths, 1, NULL, NULL, NULL, &err) != IMGSEC_OK) fail_msg("%s: %s", dir, err.msg);
}

static void import_text(vulndb *db, const char *name, const char *json)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    imgsec_err err = {0};
    const char *paths[] = {path};
    if (vulndb_import(db, paths, 1, NULL, NULL, NULL, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
}

static void rematch(vulndb *db, store *st, vulndb_rematch_stats *rs)
{
    imgsec_err err = {0};
    vulndb_rematch_opts o = {.workers = 2, .bulk = VULNDB_REMATCH_BULK_AUTO};
    if (vulndb_rematch_run(db, st, &o, rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
}

static void test_same_records_on_both_engines(void **state)
{
    (void)state;
    char vpath[1200], spath[1200], pname[64], puri[1024];
    snprintf(vpath, sizeof vpath, "%s/osv.sqlite", g_dir);
    snprintf(spath, sizeof spath, "%s/store.db", g_dir);
    assert_int_equal(unit_pg_create(pname, sizeof pname, puri, sizeof puri), 0);
    vulndb *db;
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    /* the Debian records but DLA-3051-1 (tzdata at its fixed version
     * either way), npm, Go and Maven */
    import(db, "osv-scanner-offline-db/Debian/DLA-3008-1.json");
    import(db, "osv-scanner-offline-db/Debian/DLA-3012-1.json");
    import(db, "osv-scanner-offline-db/Debian/DLA-3022-1.json");
    import(db, "records/npm");
    import(db, "osv-scanner-offline-db/Go");
    import(db, "records/Go");
    import(db, "records/Maven");

    store *sq, *pg;
    assert_int_equal(store_open(spath, &sq, &err), IMGSEC_OK);
    if (store_open(puri, &pg, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    ingest_all(sq);
    ingest_all(pg);

    int64_t want = 0;
    for (int k = 0; k < 4; k++) want += COPIES * KIND_VULS[k];
    vulndb_rematch_stats a, b;
    rematch(db, sq, &a);
    rematch(db, pg, &b);
    assert_true(a.bulk);  /* half the images have no vulnerability: a first rematch */
    assert_false(b.bulk); /* PostgreSQL: batches (store_vul_bulk.c) */
    assert_int_equal(a.images, 4 * COPIES + 1);
    assert_int_equal(a.rematched, 4 * COPIES);
    assert_int_equal(a.skipped, 1);
    assert_int_equal(a.vulnerabilities, want);
    assert_int_equal(b.images, a.images);
    assert_int_equal(b.rematched, a.rematched);
    assert_int_equal(b.skipped, a.skipped);
    assert_int_equal(b.vulnerabilities, a.vulnerabilities);
    digest ds, dp;
    store_digest(sq, &ds);
    store_digest(pg, &dp);
    assert_int_equal(ds.vul_rows, want + 1); /* and other-scanner's own */
    assert_int_equal(ds.images, 4 * COPIES + 1);
    assert_int_equal(dp.vul_rows, ds.vul_rows);
    assert_int_equal(dp.agg_rows, ds.agg_rows);
    assert_int_equal(dp.images, ds.images);
    assert_string_equal(dp.sha, ds.sha);

    /* the database changes: one more for dpkg, one less for debug */
    import_text(db, "dpkg.json", DPKG_RECORD);
    import_text(db, "debug.json", DEBUG_WITHDRAWN);
    rematch(db, sq, &a);
    rematch(db, pg, &b);
    assert_false(a.bulk); /* every image has its vulnerabilities now */
    assert_int_equal(a.rematched, 2 * COPIES); /* the Debian and the npm ones */
    assert_int_equal(a.unchanged, 2 * COPIES);
    assert_int_equal(a.vulnerabilities, want);   /* + COPIES - COPIES */
    assert_int_equal(b.rematched, a.rematched);
    assert_int_equal(b.unchanged, a.unchanged);
    assert_int_equal(b.vulnerabilities, a.vulnerabilities);
    store_digest(sq, &ds);
    store_digest(pg, &dp);
    assert_int_equal(ds.vul_rows, want + 1);
    assert_int_equal(dp.vul_rows, ds.vul_rows);
    assert_int_equal(dp.agg_rows, ds.agg_rows);
    assert_string_equal(dp.sha, ds.sha);

    /* once more: nothing to write on either */
    rematch(db, sq, &a);
    rematch(db, pg, &b);
    assert_int_equal(a.rematched + b.rematched, 0);
    assert_int_equal(a.unchanged, 4 * COPIES);
    assert_int_equal(b.unchanged, 4 * COPIES);

    store_close(sq);
    store_close(pg);
    vulndb_close(db);
    unit_pg_drop(pname);
}

/* Two rematches of one PostgreSQL database at once: the second finds the
 * first's lock and does nothing (VULNDB_REMATCH_BUSY, stats.busy). */
static void test_one_rematch_at_a_time(void **state)
{
    (void)state;
    char vpath[1200], pname[64], puri[1024];
    snprintf(vpath, sizeof vpath, "%s/osv2.sqlite", g_dir);
    assert_int_equal(unit_pg_create(pname, sizeof pname, puri, sizeof puri), 0);
    vulndb *db;
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    store *one, *two;
    if (store_open(puri, &one, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_int_equal(store_open(puri, &two, &err), IMGSEC_OK);
    bool got = false;
    assert_int_equal(store_rematch_lock(one, &got, &err), IMGSEC_OK);
    assert_true(got);
    vulndb_rematch_stats rs;
    assert_int_equal(vulndb_rematch_run(db, two, NULL, &rs, &err), VULNDB_REMATCH_BUSY);
    assert_true(rs.busy);
    assert_int_equal(rs.images, 0);
    assert_string_equal(err.msg, "another rematch of this database is running (another node or "
                                 "process); nothing done");
    store_rematch_unlock(one);
    assert_int_equal(vulndb_rematch_run(db, two, NULL, &rs, &err), IMGSEC_OK);
    assert_false(rs.busy);
    /* a closed connection frees it */
    assert_int_equal(store_rematch_lock(two, &got, &err), IMGSEC_OK);
    assert_true(got);
    assert_int_equal(store_rematch_lock(one, &got, &err), IMGSEC_OK);
    assert_false(got);
    store_close(two);
    assert_int_equal(store_rematch_lock(one, &got, &err), IMGSEC_OK);
    assert_true(got);
    store_close(one);
    vulndb_close(db);
    unit_pg_drop(pname);
}

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(g_dir, sizeof g_dir, "rematch-engines") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unit_tmp_dir_remove(g_dir);
    return 0;
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0) return 1;
    if (pg == 0) {
        fprintf(stderr, "test_rematch_engines: needs PostgreSQL (argument pg, fixture pg)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_records_on_both_engines),
        cmocka_unit_test(test_one_rematch_at_a_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
