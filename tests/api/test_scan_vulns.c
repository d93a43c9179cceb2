/* test_scan_vulns.c - issue 13 end to end: `imgsec vulndb import` of the
 * real OSV fixtures, then `imgsec scan --vulndb` of a Debian 9 image built
 * here with known vulnerable packages, stores exactly the expected
 * vulnerability records, and a running imgsecd's statistic counts them.
 *
 * The image (one layer; os-release Debian 9) holds six dpkg packages.
 * Worked out by hand from the records in
 * ../shared/fixtures/scan/osv/osv-scanner-offline-db/Debian (Debian:9,
 * each with one ECOSYSTEM range introduced 0, fixed F), with dpkg's order:
 *
 *   dpkg 1.18.25                   DLA-3022-1 fixed 1.18.26 -> affected, vul_id CVE-2022-1664
 *   libxml2 2.9.4+dfsg1-2.2+deb9u6 DLA-3012-1 fixed ...+deb9u7 -> affected, CVE-2022-29824
 *   libssl1.1 1.1.0l-1~deb9u5      source openssl: DLA-3008-1 names the SOURCE package
 *                                  openssl, fixed 1.1.0l-1~deb9u6 -> affected, CVE-2022-1292
 *   openssl 1.1.0l-1~deb9u6        DLA-3008-1: equal to fixed -> NOT affected
 *   tzdata 2021a-0+deb9u3          DLA-3051-1 fixed 2021a-0+deb9u4, no CVE alias
 *                                  -> affected, vul_id DLA-3051-1
 *   zlib1g 1:1.2.8.dfsg-5          no record for zlib -> nothing
 *
 * So 4 records, all linux_vul; none has a CVSS vector or a severity in
 * these records, so severity is "unknown".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/scan_builder.h"
#include "deb9_image.h"
#include "harness.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

static srv_t S;
static char *TOKEN;


static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    TOKEN = user_token(&S, "acme", "vulns", "vulns-pw-1", "P1", "admin", "all");
    return TOKEN ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(TOKEN);
    return srv_stop(&S, true);
}

static long long count(const char *extra)
{
    return api_count(&S, TOKEN, "P1", "vulnerability", NULL, extra);
}

static char *run(int want_rc, const char *const *args)
{
    return cli_run_expect(&S, want_rc, args);
}

static void test_import_scan_count(void **state)
{
    (void)state;
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    if (!fx || !*fx)
        fx = IMGSEC_FIXTURES_DIR;
    char *vdb = h_strdupf("%s/osv.sqlite", S.dir), *img = h_strdupf("%s/deb9.tar", S.dir);
    char *recs = h_strdupf("%s/scan/osv/records", fx);
    char *deb = h_strdupf("%s/scan/osv/osv-scanner-offline-db/Debian", fx);
    char *alp = h_strdupf("%s/scan/osv/osv-scanner-offline-db/Alpine", fx);

    /* 33 records + 5 Debian DLAs... the Debian dir holds 4, Alpine 1 */
    const char *imp[] = {"vulndb", "import", "--vulndb", vdb, recs, deb, alp, NULL};
    char *out = run(0, imp);
    assert_non_null(strstr(out, "imported 38 records from 38 files: 38 new, 0 replaced, 0 unchanged"));
    free(out);
    /* importing the same files again changes nothing */
    out = run(0, imp);
    assert_non_null(strstr(out, "imported 38 records from 38 files: 0 new, 0 replaced, 38 unchanged"));
    free(out);

    sb_layer l = sb_layer_make(FILES, 2, SB_GZIP);
    char *cfg = sb_config(&l, 1, "app", NULL, NULL);
    sb_docker_archive(img, &l, 1, cfg, "library/stretch-app:1");
    const char *scan[] = {"scan", "--db", S.db, "--vulndb", vdb, "--project", "P1", img, NULL};
    out = run(0, scan);
    assert_non_null(strstr(out, "image      library/stretch-app:1 (docker-archive)"));
    free(out);

    assert_int_equal(count(NULL), 4);
    assert_int_equal(count("\"vul_type\":\"linux_vul\""), 4);
    assert_int_equal(count("\"vul_type\":\"app_vul\""), 0);
    assert_int_equal(count("\"vul_id_list\":[\"CVE-2022-1664\"]"), 1);
    assert_int_equal(count("\"vul_id_list\":[\"CVE-2022-29824\"]"), 1);
    assert_int_equal(count("\"vul_id_list\":[\"CVE-2022-1292\"]"), 1);
    assert_int_equal(count("\"vul_id_list\":[\"DLA-3051-1\"]"), 1);
    /* openssl at the fixed version and zlib are not affected */
    assert_int_equal(count("\"vul_id_list\":[\"DLA-3008-1\"]"), 0);
    assert_int_equal(api_count(&S, TOKEN, "P1", "apps", NULL, NULL), 6);

    /* the records themselves, as stored: exactly these four */
    const char *js[] = {"scan", "--vulndb", vdb, "--output", "json", img, NULL};
    out = run(0, js);
    json_t *doc = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(doc);
    json_t *v = json_object_get(doc, "vulnerabilities");
    assert_int_equal(json_array_size(v), 4);
    static const char *const WANT[4][4] = {
        {"CVE-2022-1664", "dpkg", "1.18.25", "1.18.26"},
        {"CVE-2022-29824", "libxml2", "2.9.4+dfsg1-2.2+deb9u6", "2.9.4+dfsg1-2.2+deb9u7"},
        {"CVE-2022-1292", "libssl1.1", "1.1.0l-1~deb9u5", "1.1.0l-1~deb9u6"},
        {"DLA-3051-1", "tzdata", "2021a-0+deb9u3", "2021a-0+deb9u4"},
    };
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_array_get(v, i);
        assert_string_equal(json_string_value(json_object_get(r, "vul_id")), WANT[i][0]);
        assert_string_equal(json_string_value(json_object_get(r, "app_name")), WANT[i][1]);
        assert_string_equal(json_string_value(json_object_get(r, "app_version")), WANT[i][2]);
        assert_string_equal(json_string_value(json_object_get(r, "fixed_version")), WANT[i][3]);
        assert_string_equal(json_string_value(json_object_get(r, "vul_type")), "linux_vul");
        assert_string_equal(json_string_value(json_object_get(r, "severity")), "unknown");
    }
    json_decref(doc);
    free(out);

    free(l.data);
    free(cfg);
    free(vdb);
    free(img);
    free(recs);
    free(deb);
    free(alp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_scan_count),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    return rc || harness_failures();
}
