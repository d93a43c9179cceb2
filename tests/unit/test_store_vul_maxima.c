/* test_store_vul_maxima.c - the per-(image, vulnerability) maxima and
 * representative of agg_vul (schema 11: rank, cvss, rep_seq, rep_cvss)
 * against the records they summarise.
 *
 * Each case checks exact values for a vulnerability whose records differ
 * in severity and CVSS score (ties included), and then that every agg_vul
 * row of the file agrees with SQL over its records (the order the lists'
 * SQL takes: rank DESC, cvss_score DESC, seq): after an ingest, a
 * streamed import, the image ingested again with a lower severity,
 * store_replace_vulnerabilities (a new representative with the same
 * counts and maxima: store_vul_diff.c's update), a delete, and after a
 * version-10 file (the text holders instead) is opened and migrated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/doc.h"
#include "imgsec/store.h"
#include "imgsec/store_stream.h"
#include "store/store_int.h"
#include "unit_tmp.h"
#include "unit_ingest.h"

static char g_dir[1024];

/* An image document named name with the vulnerability records vuls. */
static char *make_doc(const char *name, const char *vuls)
{
    char *s = NULL;
    int n = asprintf(&s,
                     "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"%s\","
                     "\"image_version\":\"1\",\"scan_status\":\"success\"},"
                     "\"vulnerabilities\":%s}",
                     name, vuls);
    assert_true(n > 0);
    return s;
}

static void ingest(store *st, const char *doc)
{
    unit_ingest_ndjson(st, doc, strlen(doc));
}

static char *path_of(const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s.db", g_dir, name) > 0);
    return p;
}

static store *open_fresh(const char *name)
{
    char *path = path_of(name);
    static const char *const SUFFIX[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[1300];
        snprintf(p, sizeof p, "%s%s", path, SUFFIX[i]);
        remove(p);
    }
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    free(path);
    return st;
}

/* One row of sql as "a|b|c" (NULL as "-"); "" when there is none. */
static char *row(store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(st->db));
    char *out = calloc(1, 1024);
    assert_non_null(out);
    if (sqlite3_step(s) == SQLITE_ROW)
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const char *t = (const char *)sqlite3_column_text(s, c);
            size_t n = strlen(out);
            snprintf(out + n, 1024 - n, "%s%s", c ? "|" : "", t ? t : "-");
        }
    sqlite3_finalize(s);
    return out;
}

static void expect_row(store *st, const char *sql, const char *want)
{
    char *got = row(st, sql);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n got  %s\n want %s", sql, got, want);
    free(got);
}

/* The maxima of image/vul X: rank, cvss, rep_seq, rep_cvss and the
 * representative's description. */
#define MAXIMA_OF_X                                                                            \
    "SELECT a.rank, a.cvss, a.rep_seq, a.rep_cvss, (SELECT description FROM rec_vulnerability " \
    "WHERE image = a.image AND seq = a.rep_seq) FROM agg_vul a JOIN images i ON i.id = a.image " \
    "WHERE a.vul_id = 'CVE-2099-0001' AND i.image_name = 'x'"

/* Every agg_vul row against its records: how many rows disagree (0). */
static void expect_all_exact(store *st)
{
#define RECS "FROM rec_vulnerability r WHERE r.image = a.image AND r.vul_id = a.vul_id AND " \
             "r.vul_type = a.vul_type"
#define RANK_OF "CASE r.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 " \
                "WHEN 'low' THEN 1 ELSE 0 END"
#define REP "(SELECT r.seq " RECS " ORDER BY " RANK_OF " DESC, r.cvss_score DESC, r.seq LIMIT 1)"
    expect_row(st,
               "SELECT count(*) FROM agg_vul a WHERE "
               "a.rank IS NOT coalesce((SELECT max(" RANK_OF ") " RECS "), 0) "
               "OR a.cvss IS NOT (SELECT max(r.cvss_score) " RECS ") "
               "OR a.rep_seq IS NOT " REP
               " OR a.rep_cvss IS NOT (SELECT r.cvss_score FROM rec_vulnerability r WHERE "
               "r.image = a.image AND r.seq = a.rep_seq)"
               " OR a.n IS NOT (SELECT count(*) " RECS ")",
               "0");
    expect_row(st, "SELECT count(*) FROM agg_vul", "4");
#undef REP
#undef RANK_OF
#undef RECS
}

/* CVE-2099-0001 linux_vul: three critical records, 9.8 at seqs 5 and 7
 * (the lower seq wins), none at 6 (no score is lowest), 9.75 at 2. */
static const char VULS_X[] =
    "[{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
    "\"cvss_score\":2.5,\"description\":\"b\",\"url\":\"u\"},"
    "{\"vul_id\":\"CVE-2099-0002\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"Critical\","
    "\"cvss_score\":9.75,\"description\":\"ab\",\"solution\":\"s1\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"medium\","
    "\"description\":\"b\",\"solution\":\"s2\",\"url\":\"\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"cvss_score\":9.8,\"description\":\"c\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"description\":\"z\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"cvss_score\":9.8,\"description\":\"d\"}]";
#define X_LINUX "4|9.8|5|9.8|c"

/* The same counts, rank and highest score; the representative moves to
 * seq 7 (9.8 there, 9.7 at 5). */
static const char VULS_X_MOVED[] =
    "[{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
    "\"cvss_score\":2.5,\"description\":\"b\",\"url\":\"u\"},"
    "{\"vul_id\":\"CVE-2099-0002\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"Critical\","
    "\"cvss_score\":9.75,\"description\":\"ab\",\"solution\":\"s1\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"medium\","
    "\"description\":\"b\",\"solution\":\"s2\",\"url\":\"\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"cvss_score\":9.7,\"description\":\"c\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"description\":\"z\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"critical\","
    "\"cvss_score\":9.8,\"description\":\"d\"}]";

static const char VULS_X_LOWER[] =
    "[{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
    "\"cvss_score\":1.5,\"description\":\"a\"}]";

/* rep_seq, rep_cvss of y's one record */
#define Y_ROW "SELECT a.rank, a.cvss, a.rep_seq, a.rep_cvss FROM agg_vul a JOIN images i ON " \
              "i.id = a.image WHERE i.image_name = 'y'"

/* At ingest: the critical records outrank the others; of them the highest
 * score (9.8, no score lowest) at the lowest seq, 5. */
static void test_maxima_at_ingest(void **state)
{
    (void)state;
    store *st = open_fresh("ingest");
    char *x = make_doc("x", VULS_X), *y = make_doc("y", VULS_X_LOWER);
    ingest(st, x);
    ingest(st, y);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", X_LINUX);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'app_vul'", "1|-|4|-|-");
    expect_row(st,
               "SELECT rank, cvss, rep_seq, rep_cvss, n FROM agg_vul WHERE vul_id = "
               "'CVE-2099-0002'",
               "3|-|1|-|1");
    expect_row(st, Y_ROW, "1|1.5|0|1.5");
    expect_all_exact(st);
    free(x);
    free(y);
    store_close(st);
}

/* The same documents through store_stream (a streamed import) give the
 * same rows. */
static void test_maxima_streamed(void **state)
{
    (void)state;
    store *st = open_fresh("stream");
    const char *const VULS[2] = {VULS_X, VULS_X_LOWER}, *const NAMES[2] = {"x", "y"};
    for (int d = 0; d < 2; d++) {
        char *doc = make_doc(NAMES[d], VULS[d]);
        doc_list list;
        imgsec_err err = {0};
        if (doc_list_parse(doc, strlen(doc), true, &list, &err) != IMGSEC_OK)
            fail_msg("%s", err.msg);
        store_stream *ss = NULL;
        assert_int_equal(store_stream_begin(st, "P1", "0", &list.items[0], NULL, &ss, &err),
                         IMGSEC_OK);
        size_t i;
        json_t *rec, *root = json_loads(doc, 0, NULL); /* the records as the streamed importer has them */
        assert_non_null(root);
        json_array_foreach(json_object_get(root, "vulnerabilities"), i, rec)
            assert_int_equal(store_stream_record(ss, REPORT_VULNERABILITY, rec, "", &err),
                             IMGSEC_OK);
        json_decref(root);
        assert_int_equal(store_stream_commit(ss, NULL, &err), IMGSEC_OK);
        doc_list_free(&list);
        free(doc);
    }
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", X_LINUX);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'app_vul'", "1|-|4|-|-");
    expect_row(st, Y_ROW, "1|1.5|0|1.5");
    expect_all_exact(st);
    store_close(st);
}

static void replace(store *st, int64_t id, const char *vuls_s)
{
    char *seen_s = row(st, "SELECT max(seq) FROM changes");
    int64_t seen = strtoll(seen_s, NULL, 10);
    free(seen_s);
    json_error_t jerr;
    json_t *vuls = json_loads(vuls_s, 0, &jerr);
    assert_non_null(vuls);
    /* the document's severities are checked (and made canonical) by the replace */
    store_vul_replace r = {id, seen, vuls, true, NULL};
    imgsec_err err = {0};
    assert_int_equal(store_replace_vulnerabilities(st, &r, 1, &err), IMGSEC_OK);
    assert_false(r.skipped);
    json_decref(vuls);
}

/* Ingested again with a lower severity, replaced, deleted: the maxima
 * and the representative follow, never keeping an old image's values. */
static void test_maxima_follow_changes(void **state)
{
    (void)state;
    store *st = open_fresh("changes");
    char *x = make_doc("x", VULS_X), *x2 = make_doc("x", VULS_X_LOWER), *y = make_doc("y", VULS_X_LOWER);
    ingest(st, y);
    ingest(st, x);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", X_LINUX);
    ingest(st, x2); /* the same image (identity), lower */
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "1|1.5|0|1.5|a");
    expect_row(st, "SELECT count(*) FROM agg_vul WHERE rep_seq = 0 AND rep_cvss = 1.5", "2");

    char *id_s = row(st, "SELECT id FROM images WHERE image_name = 'x'");
    int64_t id = strtoll(id_s, NULL, 10);
    free(id_s);
    replace(st, id, VULS_X);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", X_LINUX);
    expect_all_exact(st);
    /* the row stays (same key, count, rank, highest score): only the
     * representative moves */
    char *rowid = row(st, "SELECT a.rowid FROM agg_vul a JOIN images i ON i.id = a.image WHERE "
                          "i.image_name = 'x' AND a.vul_id = 'CVE-2099-0001' AND "
                          "a.vul_type = 'linux_vul'");
    replace(st, id, VULS_X_MOVED);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "4|9.8|7|9.8|d");
    char *sql = NULL;
    assert_true(asprintf(&sql, "SELECT rep_seq FROM agg_vul WHERE rowid = %s", rowid) > 0);
    expect_row(st, sql, "7");
    free(sql);
    free(rowid);
    expect_all_exact(st);

    imgsec_err err = {0};
    assert_int_equal(store_image_delete(st, "P1", id, NULL, &err), IMGSEC_OK);
    expect_row(st, "SELECT count(*) FROM agg_vul", "1");
    expect_row(st, Y_ROW, "1|1.5|0|1.5");
    free(x);
    free(x2);
    free(y);
    store_close(st);
}

/* A version-10 file (agg_vul with the text holders, no representative) is
 * filled by the migration from its records, in the open's transaction; a
 * file newer than this build is refused, unchanged. */
static void test_migration_fills_reps(void **state)
{
    (void)state;
    store *st = open_fresh("migrate");
    char *x = make_doc("x", VULS_X), *y = make_doc("y", VULS_X_LOWER);
    ingest(st, x);
    ingest(st, y);
    char *e = NULL, older[64];
    snprintf(older, sizeof older, "PRAGMA user_version = %d;", 10);
    assert_int_equal(sqlite3_exec(st->db,
                                  "DROP TABLE name_counts; "
                                  "DROP INDEX rec_app_name; DROP INDEX rec_file_name; "
                                  "ALTER TABLE agg_vul DROP COLUMN rep_seq; "
                                  "ALTER TABLE agg_vul DROP COLUMN rep_cvss; "
                                  "ALTER TABLE agg_vul ADD COLUMN desc_seq INTEGER; "
                                  "ALTER TABLE agg_vul ADD COLUMN sol_seq INTEGER; "
                                  "ALTER TABLE agg_vul ADD COLUMN url_seq INTEGER;",
                                  NULL, NULL, &e),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(st->db, older, NULL, NULL, &e), SQLITE_OK);
    store_close(st);
    char *path = path_of("migrate");
    imgsec_err err = {0};
    st = NULL;
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    char want[32];
    snprintf(want, sizeof want, "%d", STORE_SCHEMA_VERSION);
    expect_row(st, "PRAGMA user_version", want);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", X_LINUX);
    expect_row(st, Y_ROW, "1|1.5|0|1.5");
    expect_row(st, "SELECT count(*) FROM pragma_table_info('agg_vul') WHERE name IN "
                   "('desc_seq', 'sol_seq', 'url_seq')",
               "0");
    expect_all_exact(st);

    /* one version newer: refused, and left as it was */
    char newer[64];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d;", STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(st->db, newer, NULL, NULL, &e), SQLITE_OK);
    store_close(st);
    st = NULL;
    err = (imgsec_err){0};
    assert_int_not_equal(store_open(path, &st, &err), IMGSEC_OK);
    assert_non_null(strstr(err.msg, "newer"));
    assert_null(st);
    free(path);
    free(x);
    free(y);
}

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(g_dir, sizeof g_dir, "vulmax");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(g_dir);
}

/* The streamed image (store_stream) keeps name_counts (schema 17) too,
 * and a second stream of the same image replaces its counts. */
static void test_stream_name_counts(void **state)
{
    (void)state;
    store *st = open_fresh("names");
    static const char *const DOCS[2] = {
        "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"s\",\"image_version\":\"1\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a1\"},{\"app_name\":\"a1\"},"
        "{\"app_name\":\"a2\"}],\"files\":[{\"file_path\":\"/f\",\"file_name\":\"f1\"}]}",
        "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"s\",\"image_version\":\"1\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a2\"}]}"};
    static const char *const WANT[2] = {"0|a1|2;0|a2|1;1|f1|1", "0|a2|1"};
    for (int d = 0; d < 2; d++) {
        doc_list list;
        imgsec_err err = {0};
        if (doc_list_parse(DOCS[d], strlen(DOCS[d]), true, &list, &err) != IMGSEC_OK)
            fail_msg("%s", err.msg);
        store_stream *ss = NULL;
        assert_int_equal(store_stream_begin(st, "P1", "0", &list.items[0], NULL, &ss, &err),
                         IMGSEC_OK);
        json_t *root = json_loads(DOCS[d], 0, NULL), *rec;
        size_t i;
        assert_non_null(root);
        json_array_foreach(json_object_get(root, "apps"), i, rec)
            assert_int_equal(store_stream_record(ss, REPORT_APPS, rec, "", &err), IMGSEC_OK);
        json_array_foreach(json_object_get(root, "files"), i, rec)
            assert_int_equal(store_stream_record(ss, REPORT_FILES, rec, "", &err), IMGSEC_OK);
        json_decref(root);
        assert_int_equal(store_stream_commit(ss, NULL, &err), IMGSEC_OK);
        doc_list_free(&list);
        char *got = row(st, "SELECT group_concat(kind || '|' || name || '|' || n, ';') FROM "
                            "(SELECT * FROM name_counts WHERE project_id = 'P1' AND "
                            "image_type = 'harbor' AND ep = '0' ORDER BY kind, name)");
        assert_string_equal(got, WANT[d]);
        free(got);
    }
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_maxima_at_ingest),
                                       cmocka_unit_test(test_maxima_streamed),
                                       cmocka_unit_test(test_maxima_follow_changes),
                                       cmocka_unit_test(test_migration_fills_reps),
                                       cmocka_unit_test(test_stream_name_counts)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
