/* test_vulndb.c - the vulnerability database end to end, through the
 * command line and a real imgsecd: an image stored with apps (purls of
 * Debian 9 packages, no vulnerabilities) counts 0 vulnerability records;
 * after `imgsec vulndb import` of the real OSV fixtures and `imgsec vulndb
 * rematch`, the running server's statistic counts exactly the expected
 * ones (dpkg by DLA-3022-1, libssl1.1 through its source package openssl
 * by DLA-3008-1; tzdata at its fixed version is not affected). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

static srv_t S;
static char *T_ADM;

static const char DOC[] =
    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"postgres\",\"image_version\":\"stretch\","
    "\"scan_status\":\"success\"},\"apps\":["
    "{\"app_name\":\"dpkg\",\"app_version\":\"1.18.25\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/dpkg@1.18.25?arch=amd64&distro=debian-9\"},"
    "{\"app_name\":\"libssl1.1\",\"app_version\":\"1.1.0l-1~deb9u5\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&upstream=openssl&distro=debian-9\"},"
    "{\"app_name\":\"tzdata\",\"app_version\":\"2021a-0+deb9u4\",\"app_type\":\"deb\","
    "\"purl\":\"pkg:deb/debian/tzdata@2021a-0+deb9u4?distro=debian-9\"}]}\n";

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0) return -1;
    T_ADM = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    return T_ADM ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    return srv_stop(&S, true);
}

static void test_import_rematch_statistic(void **state)
{
    (void)state;
    char doc[H_PATH_MAX + 32], vdb[H_PATH_MAX + 32], osv[1024];
    snprintf(doc, sizeof doc, "%s/image.ndjson", S.dir);
    snprintf(vdb, sizeof vdb, "%s/osv.sqlite", S.dir);
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    snprintf(osv, sizeof osv, "%s/scan/osv/osv-scanner-offline-db/Debian", fx && *fx ? fx : IMGSEC_FIXTURES_DIR);
    FILE *f = fopen(doc, "w");
    assert_non_null(f);
    fputs(DOC, f);
    fclose(f);
    char *out = NULL;
    assert_int_equal(cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", doc, NULL), 0);
    free(out);
    assert_int_equal(api_count(&S, T_ADM, "P1", "vulnerability", NULL, NULL), 0);
    assert_int_equal(api_count(&S, T_ADM, "P1", "apps", NULL, NULL), 3);
    /* the database: four real DLA records */
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "import", "--vulndb", vdb, osv, NULL), 0);
    assert_non_null(strstr(out, "imported 4 records from 4 files: 4 new, 0 replaced, 0 unchanged"));
    free(out);
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "status", "--vulndb", vdb, NULL), 0);
    assert_non_null(strstr(out, "\"ecosystem\": \"Debian\""));
    assert_non_null(strstr(out, "\"records\": 4"));
    free(out);
    /* rematch the stored image: the server's next request sees it */
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "rematch", "--vulndb", vdb, "--db", S.db, NULL), 0);
    assert_non_null(strstr(out, "rematch: 1 images, 1 rematched, 0 unchanged (2 vulnerabilities)"));
    free(out);
    assert_int_equal(api_count(&S, T_ADM, "P1", "vulnerability", NULL, NULL), 2);
    assert_int_equal(api_count(&S, T_ADM, "P1", "apps", NULL, NULL), 3);
    /* the same again: the same answer, nothing written */
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "rematch", "--vulndb", vdb, "--db", S.db, NULL), 0);
    assert_non_null(strstr(out, "rematch: 1 images, 0 rematched, 1 unchanged (2 vulnerabilities)"));
    free(out);
    assert_int_equal(api_count(&S, T_ADM, "P1", "vulnerability", NULL, NULL), 2);
    /* rematch needs --db; a missing database is an error, not a new file */
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "rematch", "--vulndb", vdb, NULL), 2);
    free(out);
    assert_int_equal(cli_run(&S, NULL, &out, "vulndb", "status", "--vulndb", "/nonexistent/x.sqlite", NULL), 1);
    assert_non_null(strstr(out, "no vulnerability database at /nonexistent/x.sqlite"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_import_rematch_statistic)};
    int failed = cmocka_run_group_tests_name("vulndb", tests, setup, teardown);
    return failed + harness_failures();
}
