/* test_vulndb_scan.c - the scan's vulnerability hook (src/lib/scan/an_vulndb.c):
 * with a database, the apps a scan emitted become vulnerability records
 * (Debian 9 packages against the real DLA records; the release from the
 * image's os-release when a purl has none); without one, nothing; a named
 * database that does not exist fails the scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/vulndb.h"
#include "scan/scan_int.h"
#include "unit_tmp.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

extern const scan_analyzer scan_an_vulndb;

static char g_dir[1024], g_db[1200];

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_dir(g_dir, sizeof g_dir, "vulndbscan") != 0) return -1;
    snprintf(g_db, sizeof g_db, "%s/osv.sqlite", g_dir);
    vulndb *db;
    imgsec_err err = {0};
    if (vulndb_open(g_db, true, &db, &err) != IMGSEC_OK) return -1;
    char dir[1200];
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    snprintf(dir, sizeof dir, "%s/scan/osv/osv-scanner-offline-db/Debian", fx && *fx ? fx : IMGSEC_FIXTURES_DIR);
    const char *paths[] = {dir};
    int rc = vulndb_import(db, paths, 1, NULL, NULL, NULL, &err);
    vulndb_close(db);
    return rc == IMGSEC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(g_dir);
}

static void emit_app(scan_result *res, const char *name, const char *version, const char *purl)
{
    json_t *a = json_pack("{s:s,s:s,s:s,s:s}", "app_name", name, "app_version", version, "app_type",
                          "deb", "app_path", "var/lib/dpkg/status");
    if (purl) json_object_set_new(a, "purl", json_string(purl));
    assert_int_equal(scan_emit(res, REPORT_APPS, a), 0);
}

static void test_hook(void **state)
{
    (void)state;
    scan_result *res = scan_result_new();
    assert_non_null(res);
    scan_set_os(res, "debian", "9");
    emit_app(res, "dpkg", "1.18.25", NULL); /* release from os-release */
    emit_app(res, "libssl1.1", "1.1.0l-1~deb9u5",
             "pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&upstream=openssl&distro=debian-9");
    emit_app(res, "tzdata", "2021a-0+deb9u4", "pkg:deb/debian/tzdata@2021a-0+deb9u4?distro=debian-9");
    scan_options opt = {0};
    opt.vulndb = g_db;
    void *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_an_vulndb.open(&opt, &st, &err), IMGSEC_OK);
    assert_non_null(st);
    assert_int_equal(scan_an_vulndb.finish(st, NULL, res, &err), IMGSEC_OK);
    scan_an_vulndb.close(st);
    json_t *v = res->records[REPORT_VULNERABILITY];
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "vul_id")), "CVE-2022-1664");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "app_path")),
                        "var/lib/dpkg/status");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "vul_id")), "CVE-2022-1292");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "fixed_version")),
                        "1.1.0l-1~deb9u6");
    scan_result_free(res);
}

static void test_no_database(void **state)
{
    (void)state;
    scan_options opt = {0};
    void *st = (void *)1;
    imgsec_err err = {0};
    unsetenv("IMGSEC_VULNDB");
    assert_int_equal(scan_an_vulndb.open(&opt, &st, &err), IMGSEC_OK);
    assert_null(st); /* off: finish does nothing */
    scan_result *res = scan_result_new();
    emit_app(res, "dpkg", "1.18.25", NULL);
    assert_int_equal(scan_an_vulndb.finish(st, NULL, res, &err), IMGSEC_OK);
    assert_int_equal(json_array_size(res->records[REPORT_VULNERABILITY]), 0);
    scan_result_free(res);
    opt.vulndb = "/nonexistent/osv.sqlite";
    assert_int_equal(scan_an_vulndb.open(&opt, &st, &err), IMGSEC_ENOTFOUND);
    assert_string_equal(err.msg, "no vulnerability database at /nonexistent/osv.sqlite");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hook), cmocka_unit_test(test_no_database)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
