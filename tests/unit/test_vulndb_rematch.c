/* test_vulndb_rematch.c - vulndb_rematch on a real store: an image stored
 * with apps (purls of Debian 9 and Alpine 3.18 packages) and a stale
 * vulnerability gets exactly the matches of the real OSV fixtures, keeps
 * its id and its other records, and the counts and aggregates the index
 * reads follow; an image without purls is left alone. vulndb_rematch_run
 * stops exactly where its stop callback asks (images before stay done)
 * and gives the same answer with worker threads. The bulk write (one
 * transaction, the indexes by vulnerability rebuilt at its end) leaves
 * every table, index definition and change log exactly as the write per
 * batch does, with workers or without, stopped or not; AUTO picks it for
 * a first rematch only; and a bulk write that fails or is abandoned
 * leaves the file as it was, indexes included, and is never seen by
 * another connection before its end; inside it an image the bulk write
 * has written counts as changed since the position read before it. */
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
#include "imgsec/vulndb.h"
#include "store/store_int.h"
#include "unit_tmp.h"
#include "unit_ingest.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

static char g_dir[1024];

static const char DOCS[] =
    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"stretch\",\"image_version\":\"1\","
    "\"scan_status\":\"success\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-1999-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}],"
    "\"apps\":["
    "{\"app_name\":\"dpkg\",\"app_version\":\"1.18.25\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/dpkg@1.18.25?arch=amd64&distro=debian-9\"},"
    "{\"app_name\":\"libssl1.1\",\"app_version\":\"1.1.0l-1~deb9u5\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&upstream=openssl&distro=debian-9\"},"
    "{\"app_name\":\"tzdata\",\"app_version\":\"2021a-0+deb9u4\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/tzdata@2021a-0+deb9u4?distro=debian-9\"}],"
    "\"files\":[{\"file_path\":\"/etc/passwd\"}]}\n"
    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"other-scanner\",\"scan_status\":\"success\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-2000-0001\",\"vul_type\":\"app_vul\",\"severity\":\"high\"}],"
    "\"apps\":[{\"app_name\":\"musl\",\"app_version\":\"1.2.4-r0\",\"app_type\":\"apk\"}]}\n";

typedef struct {
    int64_t id, n_vul, n_files, n_linux;
    char vul_ids[256];
} seen;

static int collect(const image_summary *s, void *arg)
{
    seen *out = arg;
    seen *o = &out[s->id == out[0].id || out[0].id == 0 ? 0 : 1];
    if (out[0].id && s->id != out[0].id) o = &out[1];
    o->id = s->id;
    o->n_vul = s->counts[REPORT_VULNERABILITY];
    o->n_files = s->counts[REPORT_FILES];
    o->n_linux = s->vul_counts[VUL_TYPE_LINUX];
    o->vul_ids[0] = '\0';
    for (size_t i = 0; i < s->n_vuls; i++) {
        strcat(o->vul_ids, s->vuls[i].vul_id);
        strcat(o->vul_ids, ";");
    }
    return 0;
}

/* The rows of a query (printf-formatted) as text, "|" after each value. */
static char *rows_text(store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *rows_text(store *st, const char *fmt, ...)
{
    char *sql = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&sql, fmt, ap) > 0);
    va_end(ap);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const unsigned char *v = sqlite3_column_text(s, c);
            fprintf(f, "%s|", v ? (const char *)v : "");
        }
        fputc('\n', f);
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(s);
    free(sql);
    fclose(f);
    return out;
}

static void test_rematch(void **state)
{
    (void)state;
    char path[1200], vpath[1200];
    snprintf(path, sizeof path, "%s/imgsec.db", g_dir);
    snprintf(vpath, sizeof vpath, "%s/vulndb.sqlite", g_dir);
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    doc_list list;
    assert_int_equal(doc_list_parse(DOCS, strlen(DOCS), true, &list, &err), IMGSEC_OK);
    store_ingest_result res[2];
    assert_int_equal(store_ingest(st, "P1", "0", list.items, list.n, NULL, res, NULL, NULL, &err), IMGSEC_OK);
    doc_list_free(&list);
    vulndb *db;
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    char dir[1200];
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    snprintf(dir, sizeof dir, "%s/scan/osv/osv-scanner-offline-db/Debian", fx && *fx ? fx : IMGSEC_FIXTURES_DIR);
    const char *paths[] = {dir};
    assert_int_equal(vulndb_import(db, paths, 1, NULL, NULL, NULL, &err), IMGSEC_OK);
    vulndb_rematch_stats rs;
    if (vulndb_rematch(db, st, NULL, NULL, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_int_equal(rs.images, 2);
    assert_int_equal(rs.rematched, 1);
    assert_int_equal(rs.skipped, 1);
    /* dpkg 1.18.25 < 1.18.26 (DLA-3022-1), libssl1.1 via source openssl
     * (DLA-3008-1); tzdata 2021a-0+deb9u4 is the fixed version of DLA-3051-1 */
    assert_int_equal(rs.vulnerabilities, 2);
    assert_int_equal(rs.errors, 0);
    seen s[2];
    memset(s, 0, sizeof s);
    s[0].id = res[0].id;
    assert_int_equal(store_summary_foreach(st, collect, s, NULL, &err), IMGSEC_OK);
    assert_int_equal(s[0].id, res[0].id);   /* same image, same id */
    assert_int_equal(s[0].n_vul, 2);
    assert_int_equal(s[0].n_linux, 2);
    assert_int_equal(s[0].n_files, 1);      /* other records kept */
    assert_non_null(strstr(s[0].vul_ids, "CVE-2022-1664;"));
    assert_non_null(strstr(s[0].vul_ids, "CVE-2022-1292;"));
    assert_null(strstr(s[0].vul_ids, "CVE-1999-0001"));
    assert_int_equal(s[1].id, res[1].id);   /* no purl: untouched */
    assert_int_equal(s[1].n_vul, 1);
    assert_string_equal(s[1].vul_ids, "CVE-2000-0001;");
    assert_int_equal(rs.unchanged, 0);
    /* again: the same answer, and nothing written */
    int64_t version = store_data_version(st);
    assert_int_equal(vulndb_rematch(db, st, NULL, NULL, &rs, &err), IMGSEC_OK);
    assert_int_equal(rs.vulnerabilities, 2);
    assert_int_equal(rs.rematched, 0);
    assert_int_equal(rs.unchanged, 1);
    assert_int_equal(store_data_version(st), version);
    int64_t seq0 = 0, seq1 = 0;
    assert_int_equal(store_read_begin(st, &err), IMGSEC_OK);
    assert_int_equal(store_change_seq(st, &seq0, &err), IMGSEC_OK);
    store_rollback(st);

    /* one of its two rows made stale (the first: a row inserted again gets
     * a rowid past the last): the rematch rewrites that row alone (the
     * other keeps its rowid), back to exactly what it was, and the change
     * log names the image once more */
    long long id = (long long)res[0].id;
    char *rows_before = rows_text(st, "SELECT * FROM rec_vulnerability WHERE image = %lld ORDER BY seq", id);
    char *kept_before = rows_text(st, "SELECT rowid FROM rec_vulnerability WHERE image = %lld AND "
                                      "vul_id = 'CVE-2022-1292'", id);
    char *stale_before = rows_text(st, "SELECT rowid FROM rec_vulnerability WHERE image = %lld AND "
                                       "vul_id = 'CVE-2022-1664'", id);
    char *done = rows_text(st, "UPDATE rec_vulnerability SET severity = 'Low', description = 'stale' "
                               "WHERE image = %lld AND vul_id = 'CVE-2022-1664'", id);
    free(done);
    assert_int_equal(vulndb_rematch(db, st, NULL, NULL, &rs, &err), IMGSEC_OK);
    assert_int_equal(rs.rematched, 1);
    assert_int_equal(rs.unchanged, 0);
    char *rows_after = rows_text(st, "SELECT * FROM rec_vulnerability WHERE image = %lld ORDER BY seq", id);
    char *kept_after = rows_text(st, "SELECT rowid FROM rec_vulnerability WHERE image = %lld AND "
                                     "vul_id = 'CVE-2022-1292'", id);
    char *stale_after = rows_text(st, "SELECT rowid FROM rec_vulnerability WHERE image = %lld AND "
                                      "vul_id = 'CVE-2022-1664'", id);
    assert_string_equal(rows_after, rows_before);
    assert_string_equal(kept_after, kept_before);
    assert_string_not_equal(stale_after, stale_before);
    assert_int_equal(store_read_begin(st, &err), IMGSEC_OK);
    assert_int_equal(store_change_seq(st, &seq1, &err), IMGSEC_OK);
    store_rollback(st);
    assert_int_equal(seq1, seq0 + 1);
    free(rows_before);
    free(kept_before);
    free(stale_before);
    free(rows_after);
    free(kept_after);
    free(stale_after);
    vulndb_close(db);
    store_close(st);
}

static void import_debian(vulndb *db)
{
    char dir[1200];
    imgsec_err err = {0};
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    snprintf(dir, sizeof dir, "%s/scan/osv/osv-scanner-offline-db/Debian", fx && *fx ? fx : IMGSEC_FIXTURES_DIR);
    const char *paths[] = {dir};
    assert_int_equal(vulndb_import(db, paths, 1, NULL, NULL, NULL, &err), IMGSEC_OK);
}

#define MANY 150

static bool stop_at(void *ctx)
{
    int *calls = ctx;
    return ++*calls > 100; /* the 101st poll: 100 images done */
}

static int count_vuls(const image_summary *s, void *arg)
{
    int64_t *n = arg;
    if (s->counts[REPORT_VULNERABILITY] == 2 && s->vul_counts[VUL_TYPE_LINUX] == 2) n[0]++;
    n[1]++;
    return 0;
}

static void test_rematch_stop_and_workers(void **state)
{
    (void)state;
    char path[1200], vpath[1200];
    snprintf(path, sizeof path, "%s/many.db", g_dir);
    snprintf(vpath, sizeof vpath, "%s/many-vulndb.sqlite", g_dir);
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    /* MANY copies of the first image of DOCS, named img0, img1, ... */
    const char *first_end = strchr(DOCS, '\n');
    size_t one = (size_t)(first_end - DOCS);
    char *ndjson = malloc(MANY * (one + 16));
    size_t len = 0;
    for (int i = 0; i < MANY; i++) {
        const char *name = strstr(DOCS, "stretch");
        len += (size_t)sprintf(ndjson + len, "%.*simg%d%.*s\n", (int)(name - DOCS), DOCS, i,
                               (int)(first_end - name - 7), name + 7);
    }
    doc_list list;
    assert_int_equal(doc_list_parse(ndjson, len, true, &list, &err), IMGSEC_OK);
    free(ndjson);
    store_ingest_result res[MANY];
    assert_int_equal(store_ingest(st, "P1", "0", list.items, list.n, NULL, res, NULL, NULL, &err), IMGSEC_OK);
    doc_list_free(&list);
    vulndb *db;
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    import_debian(db);

    /* stopped before the 101st image: 100 rematched, the rest untouched */
    int calls = 0;
    vulndb_rematch_opts o = {.workers = 2, .stop = stop_at, .ctx = &calls};
    vulndb_rematch_stats rs;
    assert_int_equal(vulndb_rematch_run(db, st, &o, &rs, &err), VULNDB_REMATCH_STOPPED);
    assert_string_equal(err.msg, "rematch stopped on request after 100 of 150 images");
    assert_true(rs.stopped);
    assert_int_equal(rs.images, 100);
    assert_int_equal(rs.rematched, 100);
    assert_int_equal(rs.vulnerabilities, 200);
    int64_t n[2] = {0, 0};
    assert_int_equal(store_summary_foreach(st, count_vuls, n, NULL, &err), IMGSEC_OK);
    assert_int_equal(n[0], 100);
    assert_int_equal(n[1], MANY);

    /* the rest with three workers; then again with none: nothing to write */
    o = (vulndb_rematch_opts){.workers = 3};
    if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_false(rs.stopped);
    assert_int_equal(rs.images, MANY);
    assert_int_equal(rs.rematched, MANY - 100);
    assert_int_equal(rs.unchanged, 100);
    assert_int_equal(rs.vulnerabilities, 2 * MANY);
    n[0] = n[1] = 0;
    assert_int_equal(store_summary_foreach(st, count_vuls, n, NULL, &err), IMGSEC_OK);
    assert_int_equal(n[0], MANY);
    int64_t version = store_data_version(st);
    assert_int_equal(vulndb_rematch_run(db, st, NULL, &rs, &err), IMGSEC_OK);
    assert_int_equal(rs.unchanged, MANY);
    assert_int_equal(rs.rematched, 0);
    assert_int_equal(store_data_version(st), version);
    vulndb_close(db);
    store_close(st);
}

/* n images named bulk0.. with the apps of DOCS' first image; the first
 * `stale` of them with its stale vulnerability, the others without any;
 * then DOCS' second image (no purl, a vulnerability of its own). */
static store *bulk_store(const char *name, int n, int stale)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    store *st;
    imgsec_err err = {0};
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    const char *first_end = strchr(DOCS, '\n');
    const char *vul = strstr(DOCS, "\"vulnerabilities\"");
    const char *apps = strstr(DOCS, "\"apps\"");
    const char *name_at = strstr(DOCS, "stretch");
    size_t cap = (size_t)n * 1024 + strlen(DOCS);
    char *ndjson = malloc(cap);
    assert_non_null(ndjson);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(ndjson + len, cap - len, "%.*sbulk%d%.*s%.*s\n", (int)(name_at - DOCS),
                                DOCS, i, (int)(vul - name_at - 7), name_at + 7,
                                i < stale ? (int)(first_end - vul) : (int)(first_end - apps),
                                i < stale ? vul : apps);
    }
    len += (size_t)snprintf(ndjson + len, cap - len, "%s", first_end + 1);
    unit_ingest_ndjson(st, ndjson, len);
    free(ndjson);
    return st;
}

/* Everything a rematch writes, as text: the images, the vulnerability
 * rows and aggregates (rowids too: the same writes in the same order),
 * the change log, and the definitions of the tables and indexes. */
static char *store_text(store *st)
{
    static const char *const Q[] = {
        "SELECT * FROM images ORDER BY id",
        "SELECT rowid, * FROM rec_vulnerability ORDER BY image, seq",
        "SELECT rowid, * FROM agg_vul ORDER BY image, rowid",
        "SELECT * FROM changes ORDER BY seq",
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
        "PRAGMA integrity_check",
    };
    char *all = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&all, &len);
    assert_non_null(f);
    for (size_t q = 0; q < sizeof Q / sizeof Q[0]; q++) {
        char *t = rows_text(st, "%s", Q[q]);
        fprintf(f, "-- %s\n%s", Q[q], t);
        free(t);
    }
    fclose(f);
    return all;
}

#define BULK_N 120

static void test_rematch_bulk_equals_batches(void **state)
{
    (void)state;
    char vpath[1200];
    snprintf(vpath, sizeof vpath, "%s/bulk-vulndb.sqlite", g_dir);
    vulndb *db;
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    import_debian(db);
    store *ref = bulk_store("bulk-ref.db", BULK_N, 10);
    vulndb_rematch_opts o = {.workers = 2, .bulk = VULNDB_REMATCH_BULK_NEVER};
    vulndb_rematch_stats want, rs;
    if (vulndb_rematch_run(db, ref, &o, &want, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_false(want.bulk);
    assert_int_equal(want.rematched, BULK_N);
    assert_int_equal(want.skipped, 1);
    assert_int_equal(want.vulnerabilities, 2 * BULK_N);
    char *expect = store_text(ref);
    /* the dropped indexes are back, the stale rows gone */
    assert_null(strstr(expect, "rec_vul_vul")); /* dropped by schema 19 */
    assert_non_null(strstr(expect, "|agg_vul_vul|agg_vul|CREATE INDEX agg_vul_vul ON "));
    assert_null(strstr(expect, "CVE-1999-0001"));
    assert_non_null(strstr(expect, "-- PRAGMA integrity_check\nok|\n"));

    /* bulk with workers, then on the calling thread alone */
    static const struct {
        const char *name;
        unsigned workers;
    } RUNS[] = {{"bulk-w2.db", 2}, {"bulk-w0.db", 0}};
    for (size_t r = 0; r < 2; r++) {
        store *st = bulk_store(RUNS[r].name, BULK_N, 10);
        o = (vulndb_rematch_opts){.workers = RUNS[r].workers, .bulk = VULNDB_REMATCH_BULK_ALWAYS};
        if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
        assert_true(rs.bulk);
        assert_int_equal(rs.rematched, want.rematched);
        assert_int_equal(rs.skipped, want.skipped);
        assert_int_equal(rs.vulnerabilities, want.vulnerabilities);
        assert_int_equal(store_vul_bulk_indexes(st), 0); /* closed */
        char *got = store_text(st);
        assert_string_equal(got, expect);
        free(got);
        store_close(st);
    }

    /* stopped after 100 images: those written, the indexes back; the
     * rest by a second bulk run: again the same store */
    store *st = bulk_store("bulk-stop.db", BULK_N, 10);
    int calls = 0;
    o = (vulndb_rematch_opts){.workers = 2, .stop = stop_at, .ctx = &calls,
                              .bulk = VULNDB_REMATCH_BULK_ALWAYS};
    assert_int_equal(vulndb_rematch_run(db, st, &o, &rs, &err), VULNDB_REMATCH_STOPPED);
    assert_true(rs.bulk);
    assert_true(rs.stopped);
    assert_int_equal(rs.rematched, 100);
    int64_t n[2] = {0, 0};
    assert_int_equal(store_summary_foreach(st, count_vuls, n, NULL, &err), IMGSEC_OK);
    assert_int_equal(n[0], 100);
    char *idx = rows_text(st, "SELECT name FROM sqlite_master WHERE name IN ('rec_vul_vul', "
                              "'agg_vul_vul') ORDER BY name");
    assert_string_equal(idx, "agg_vul_vul|\n");
    free(idx);
    o = (vulndb_rematch_opts){.workers = 2, .bulk = VULNDB_REMATCH_BULK_ALWAYS};
    if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_int_equal(rs.rematched, BULK_N - 100);
    assert_int_equal(rs.unchanged, 100);
    char *got = store_text(st);
    assert_string_equal(got, expect);
    free(got);
    store_close(st);
    free(expect);
    store_close(ref);
    vulndb_close(db);
}

static void test_rematch_bulk_auto(void **state)
{
    (void)state;
    char vpath[1200];
    snprintf(vpath, sizeof vpath, "%s/auto-vulndb.sqlite", g_dir);
    vulndb *db;
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(vpath, true, &db, &err), IMGSEC_OK);
    import_debian(db);
    vulndb_rematch_opts o = {.workers = 2, .bulk = VULNDB_REMATCH_BULK_AUTO};
    vulndb_rematch_stats rs;
    /* 31 of the 63 images with apps (DOCS' second image too) have none:
     * one short of half, not a first rematch */
    store *st = bulk_store("auto-half.db", 62, 31);
    if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_false(rs.bulk);
    assert_int_equal(rs.rematched, 62);
    store_close(st);
    /* 31 of 62: half, a bulk write; then every image has its
     * vulnerabilities and the next run writes per batch (nothing here) */
    st = bulk_store("auto-first.db", 61, 30);
    if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_true(rs.bulk);
    assert_int_equal(rs.rematched, 61);
    if (vulndb_rematch_run(db, st, &o, &rs, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_false(rs.bulk);
    assert_int_equal(rs.unchanged, 61);
    store_close(st);
    vulndb_close(db);
}

/* A bulk write that fails or is abandoned leaves the file as it was, and
 * another connection never sees the dropped indexes. */
static void test_rematch_bulk_failure(void **state)
{
    (void)state;
    imgsec_err err = {0};
    store *st = bulk_store("bulk-fail.db", 3, 3);
    char path[1200];
    snprintf(path, sizeof path, "%s/bulk-fail.db", g_dir);
    store *other;
    assert_int_equal(store_open(path, &other, &err), IMGSEC_OK);
    char *before = store_text(st);
    int64_t seq = 0;
    assert_int_equal(store_read_begin(st, &err), IMGSEC_OK);
    assert_int_equal(store_change_seq(st, &seq, &err), IMGSEC_OK);
    store_rollback(st);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(store_vul_bulk_begin(st, &err), IMGSEC_OK);
        assert_int_equal(store_vul_bulk_indexes(st), 1);
        assert_int_equal(store_vul_bulk_begin(st, &err), IMGSEC_EINTERNAL); /* one at a time */
        char *fk = rows_text(st, "PRAGMA foreign_keys"); /* off inside it (store_vul_bulk.c) */
        assert_string_equal(fk, "0|\n");
        free(fk);
        char *idx = rows_text(st, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                  "('rec_vul_vul', 'agg_vul_vul')");
        assert_string_equal(idx, "0|\n");
        free(idx);
        idx = rows_text(other, "SELECT count(*) FROM sqlite_master WHERE name IN "
                               "('rec_vul_vul', 'agg_vul_vul')");
        assert_string_equal(idx, "1|\n");
        free(idx);
        /* a write inside it: one image's vulnerabilities replaced */
        store_vul_replace item = {.image_id = 1, .seen_seq = seq,
                                  .vuls = json_pack("[{s:s, s:s, s:s}]", "vul_id", "CVE-2024-0001",
                                                    "vul_type", "linux_vul", "severity", "high")};
        assert_non_null(item.vuls);
        if (store_replace_vulnerabilities(st, &item, 1, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
        assert_false(item.skipped);
        json_decref(item.vuls);
        /* read at the same position: image 1 has been written since (by
         * the bulk write itself), image 2 not */
        store_vul_replace again[2] = {
            {.image_id = 1, .seen_seq = seq,
             .vuls = json_pack("[{s:s, s:s, s:s}]", "vul_id", "CVE-2024-0002", "vul_type", "app_vul", "severity", "low")},
            {.image_id = 2, .seen_seq = seq,
             .vuls = json_pack("[{s:s, s:s, s:s}]", "vul_id", "CVE-2024-0003", "vul_type", "app_vul", "severity", "low")}};
        if (store_replace_vulnerabilities(st, again, 2, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
        assert_true(again[0].skipped);
        assert_false(again[1].skipped);
        json_decref(again[0].vuls);
        json_decref(again[1].vuls);
        char *mid = rows_text(st, "SELECT image, vul_id FROM rec_vulnerability WHERE image IN (1, 2) "
                                  "ORDER BY image");
        assert_string_equal(mid, "1|CVE-2024-0001|\n2|CVE-2024-0003|\n");
        free(mid);
        mid = rows_text(other, "SELECT vul_id FROM rec_vulnerability WHERE image = 1");
        assert_string_equal(mid, "CVE-1999-0001|\n");
        free(mid);
        if (round == 0) {
            store_vul_bulk_abort(st);
        } else {
            /* rebuilding fails: a name taken meanwhile */
            free(rows_text(st, "CREATE INDEX agg_vul_vul ON images(id)"));
            assert_int_equal(store_vul_bulk_end(st, NULL, NULL, &err), IMGSEC_EINTERNAL);
            assert_non_null(strstr(err.msg, "rebuilding an index"));
        }
        assert_int_equal(store_vul_bulk_indexes(st), 0);
        fk = rows_text(st, "PRAGMA foreign_keys"); /* back on after it */
        assert_string_equal(fk, "1|\n");
        free(fk);
        char *after = store_text(st);
        assert_string_equal(after, before);
        free(after);
    }
    /* and one that ends: written, indexes back */
    assert_int_equal(store_vul_bulk_begin(st, &err), IMGSEC_OK);
    assert_int_equal(store_vul_bulk_end(st, NULL, NULL, &err), IMGSEC_OK);
    char *fk = rows_text(st, "PRAGMA foreign_keys");
    assert_string_equal(fk, "1|\n");
    free(fk);
    char *after = store_text(st);
    assert_string_equal(after, before);
    free(after);
    free(before);
    store_close(other);
    store_close(st);
}

/* Inside a bulk write each write first writes out the pages the writes
 * before it left dirty (store.c store_write_begin). Without that, the
 * page cache of the one long transaction stays full of them, and every
 * one it spills during a later write's savepoint is older than that
 * savepoint, so SQLite copies it to the savepoint's journal first: the
 * first rematch of 2,000 images wrote 185 MB of such copies beside its
 * 232 MB of WAL (docs/performance.md "The savepoint journal of a bulk
 * write"). Here the pages are few and never spilled: the count of pages
 * the cache wrote out moves only because of the flush. */
static void test_rematch_bulk_flush(void **state)
{
    (void)state;
    imgsec_err err = {0};
    store *st = bulk_store("bulk-flush.db", 3, 3);
    int64_t seq = 0;
    assert_int_equal(store_read_begin(st, &err), IMGSEC_OK);
    assert_int_equal(store_change_seq(st, &seq, &err), IMGSEC_OK);
    store_rollback(st);
    int cur = 0, hi = 0;
    assert_int_equal(store_vul_bulk_begin(st, &err), IMGSEC_OK);
    assert_int_equal(sqlite3_db_status(st->db, SQLITE_DBSTATUS_CACHE_WRITE, &cur, &hi, 1), SQLITE_OK);
    int written[3];
    for (int i = 0; i < 3; i++) {
        store_vul_replace item = {.image_id = i + 1, .seen_seq = seq,
                                  .vuls = json_pack("[{s:s, s:s, s:s}]", "vul_id", "CVE-2024-0001",
                                                    "vul_type", "linux_vul", "severity", "high")};
        assert_non_null(item.vuls);
        if (store_replace_vulnerabilities(st, &item, 1, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
        assert_false(item.skipped);
        json_decref(item.vuls);
        assert_int_equal(sqlite3_db_status(st->db, SQLITE_DBSTATUS_CACHE_WRITE, &cur, &hi, 0), SQLITE_OK);
        written[i] = cur;
    }
    /* the first write found nothing dirty before it (the bulk write's own
     * index drops were); each later one wrote the earlier one's pages */
    assert_true(written[0] > 0);
    assert_true(written[1] > written[0]);
    assert_true(written[2] > written[1]);
    assert_int_equal(store_vul_bulk_end(st, NULL, NULL, &err), IMGSEC_OK);
    char *rows = rows_text(st, "SELECT image, vul_id FROM rec_vulnerability WHERE image <= 3 ORDER BY image");
    assert_string_equal(rows, "1|CVE-2024-0001|\n2|CVE-2024-0001|\n3|CVE-2024-0001|\n");
    free(rows);
    rows = rows_text(st, "PRAGMA integrity_check");
    assert_string_equal(rows, "ok|\n");
    free(rows);
    store_close(st);
}

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(g_dir, sizeof g_dir, "rematch");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rematch),
                                       cmocka_unit_test(test_rematch_stop_and_workers),
                                       cmocka_unit_test(test_rematch_bulk_equals_batches),
                                       cmocka_unit_test(test_rematch_bulk_auto),
                                       cmocka_unit_test(test_rematch_bulk_failure),
                                       cmocka_unit_test(test_rematch_bulk_flush)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
