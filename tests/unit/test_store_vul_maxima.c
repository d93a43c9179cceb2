/* test_store_vul_maxima.c - the per-(image, vulnerability) maxima of
 * agg_vul (schema 10: rank, cvss, desc_seq, sol_seq, url_seq) against the
 * records they summarise.
 *
 * Each case checks exact values for a vulnerability whose records differ
 * in severity, CVSS score and texts, and then that every agg_vul row of
 * the file agrees with SQL over its records (the same max() the lists'
 * SQL takes): after an ingest, after the image is ingested again with a
 * lower severity, after store_replace_vulnerabilities, after a delete,
 * and after a version-9 file (no such columns) is opened and migrated. */
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
#include "store/store_int.h"
#include "unit_tmp.h"

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
    doc_list list;
    imgsec_err err = {0};
    if (doc_list_parse(doc, strlen(doc), true, &list, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(store_ingest(st, "P1", "0", list.items, list.n, NULL, NULL, NULL, NULL, &err),
                     IMGSEC_OK);
    doc_list_free(&list);
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

/* The maxima of image/vul X: rank, cvss, and the texts their seqs point at. */
#define MAXIMA_OF_X                                                                            \
    "SELECT a.rank, a.cvss, (SELECT description FROM rec_vulnerability WHERE image = a.image " \
    "AND seq = a.desc_seq), (SELECT solution FROM rec_vulnerability WHERE image = a.image AND " \
    "seq = a.sol_seq), (SELECT url FROM rec_vulnerability WHERE image = a.image AND seq = "     \
    "a.url_seq), a.desc_seq FROM agg_vul a JOIN images i ON i.id = a.image WHERE a.vul_id = "   \
    "'CVE-2099-0001' AND i.image_name = 'x'"

/* Every agg_vul row against its records: how many rows disagree (0). A
 * text's seq must hold the greatest text and be the lowest such seq. */
static void expect_all_exact(store *st)
{
#define RECS "FROM rec_vulnerability r WHERE r.image = a.image AND r.vul_id = a.vul_id AND " \
             "r.vul_type = a.vul_type"
#define HOLDER(col) \
    "(SELECT r.seq " RECS " AND r." col " IS NOT NULL ORDER BY r." col " DESC, r.seq LIMIT 1)"
    expect_row(st,
               "SELECT count(*) FROM agg_vul a WHERE "
               "a.rank IS NOT coalesce((SELECT max(CASE r.severity WHEN 'critical' THEN 4 WHEN "
               "'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) " RECS "), 0) "
               "OR a.cvss IS NOT (SELECT max(r.cvss_score) " RECS ") "
               "OR a.desc_seq IS NOT " HOLDER("description") " OR a.sol_seq IS NOT "
               HOLDER("solution") " OR a.url_seq IS NOT " HOLDER("url")
               " OR a.n IS NOT (SELECT count(*) " RECS ")",
               "0");
#undef HOLDER
#undef RECS
}

static const char VULS_X[] =
    "[{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
    "\"cvss_score\":2.5,\"description\":\"b\",\"url\":\"u\"},"
    "{\"vul_id\":\"CVE-2099-0002\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"Critical\","
    "\"cvss_score\":9.75,\"description\":\"ab\",\"solution\":\"s1\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"medium\","
    "\"description\":\"b\",\"solution\":\"s2\",\"url\":\"\"},"
    "{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}]";

static const char VULS_X_LOWER[] =
    "[{\"vul_id\":\"CVE-2099-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
    "\"cvss_score\":1.5,\"description\":\"a\"}]";

/* At ingest: rank of "Critical" (stored as critical) 4, the highest CVSS,
 * the greatest texts ("b" at seqs 0 and 3: the lowest; "s2"; "u" > ""). */
static void test_maxima_at_ingest(void **state)
{
    (void)state;
    store *st = open_fresh("ingest");
    char *x = make_doc("x", VULS_X), *y = make_doc("y", VULS_X_LOWER);
    ingest(st, x);
    ingest(st, y);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "4|9.75|b|s2|u|0");
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'app_vul'", "1|-|-|-|-|-");
    expect_row(st,
               "SELECT rank, cvss, desc_seq, sol_seq, url_seq, n FROM agg_vul WHERE vul_id = "
               "'CVE-2099-0002'",
               "3|-|-|-|-|1");
    expect_all_exact(st);
    free(x);
    free(y);
    store_close(st);
}

/* Ingested again with a lower severity, replaced, deleted: the maxima
 * follow, never keeping an old image's values. */
static void test_maxima_follow_changes(void **state)
{
    (void)state;
    store *st = open_fresh("changes");
    char *x = make_doc("x", VULS_X), *x2 = make_doc("x", VULS_X_LOWER);
    ingest(st, x);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "4|9.75|b|s2|u|0");
    ingest(st, x2); /* the same image (identity), lower */
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "1|1.5|a|-|-|0");
    expect_row(st, "SELECT count(*) FROM agg_vul", "1");
    expect_all_exact(st);

    char *id_s = row(st, "SELECT id FROM images WHERE image_name = 'x'");
    int64_t id = strtoll(id_s, NULL, 10);
    free(id_s);
    char *seen_s = row(st, "SELECT max(seq) FROM changes");
    int64_t seen = strtoll(seen_s, NULL, 10);
    free(seen_s);
    json_error_t jerr;
    json_t *vuls = json_loads(VULS_X, 0, &jerr);
    assert_non_null(vuls);
    /* the document's severities are checked (and made canonical) by the replace */
    store_vul_replace r = {id, seen, vuls, true};
    imgsec_err err = {0};
    assert_int_equal(store_replace_vulnerabilities(st, &r, 1, &err), IMGSEC_OK);
    assert_false(r.skipped);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "4|9.75|b|s2|u|0");
    expect_all_exact(st);
    json_decref(vuls);

    assert_int_equal(store_image_delete(st, "P1", id, NULL, &err), IMGSEC_OK);
    expect_row(st, "SELECT count(*) FROM agg_vul", "0");
    free(x);
    free(x2);
    store_close(st);
}

/* A version-9 file (agg_vul without the maxima) is filled by the
 * migration from its records, in the open's transaction. */
static void test_migration_fills_maxima(void **state)
{
    (void)state;
    store *st = open_fresh("migrate");
    char *x = make_doc("x", VULS_X), *y = make_doc("y", VULS_X_LOWER);
    ingest(st, x);
    ingest(st, y);
    char *e = NULL, older[160];
    /* the version before the maxima (STORE_SCHEMA_VERSION is the one that adds them) */
    snprintf(older, sizeof older,
             "ALTER TABLE agg_vul DROP COLUMN rank; ALTER TABLE agg_vul DROP COLUMN cvss; "
             "PRAGMA user_version = %d;",
             STORE_SCHEMA_VERSION - 1);
    assert_int_equal(sqlite3_exec(st->db,
                                  "ALTER TABLE agg_vul DROP COLUMN desc_seq; "
                                  "ALTER TABLE agg_vul DROP COLUMN sol_seq; "
                                  "ALTER TABLE agg_vul DROP COLUMN url_seq;",
                                  NULL, NULL, &e),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(st->db, older, NULL, NULL, &e), SQLITE_OK);
    store_close(st);
    char *path = path_of("migrate");
    imgsec_err err = {0};
    st = NULL;
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    free(path);
    char want[32];
    snprintf(want, sizeof want, "%d", STORE_SCHEMA_VERSION);
    expect_row(st, "PRAGMA user_version", want);
    expect_row(st, MAXIMA_OF_X " AND a.vul_type = 'linux_vul'", "4|9.75|b|s2|u|0");
    expect_row(st, "SELECT a.rank, a.cvss, a.desc_seq FROM agg_vul a JOIN images i ON "
                   "i.id = a.image WHERE i.image_name = 'y'",
               "1|1.5|0");
    expect_all_exact(st);
    free(x);
    free(y);
    store_close(st);
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_maxima_at_ingest),
                                       cmocka_unit_test(test_maxima_follow_changes),
                                       cmocka_unit_test(test_migration_fills_maxima)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
