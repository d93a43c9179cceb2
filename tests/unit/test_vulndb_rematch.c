/* test_vulndb_rematch.c - vulndb_rematch on a real store: an image stored
 * with apps (purls of Debian 9 and Alpine 3.18 packages) and a stale
 * vulnerability gets exactly the matches of the real OSV fixtures, keeps
 * its id and its other records, and the counts and aggregates the index
 * reads follow; an image without purls is left alone. vulndb_rematch_run
 * stops exactly where its stop callback asks (images before stay done)
 * and gives the same answer with worker threads. */
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
#include "unit_tmp.h"

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
                                       cmocka_unit_test(test_rematch_stop_and_workers)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
