/* test_cli_stat.c - imgsec stat gives the API's numbers: offline on the
 * database file and against the server (--server, token from --token and
 * from --token-file), as a table, JSON and CSV. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static srv_t S;
static char *T_ADM;

static const char SEED[] =
    "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"a\",\"scan_status\":\"success\"},"
    "\"apps\":[{\"app_name\":\"x\"},{\"app_name\":\"y\"}],"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"}]}\n"
    "{\"image\":{\"image_type\":\"cicd\",\"image_name\":\"b\",\"cicd_name\":\"p\"},"
    "\"apps\":[{\"app_name\":\"z\"}]}\n";

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "stat-pw-123", "P1", "admin", "all");
    if (!T_ADM)
        return -1;
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "0", SEED, true, &r);
    long st = r.status;
    http_resp_free(&r);
    return st == 200 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    return srv_stop(&S, true);
}

static void test_offline_and_server_agree(void **state)
{
    (void)state;
    assert_int_equal(api_count(&S, T_ADM, "P1", "apps", "0", NULL), 3);
    assert_int_equal(api_count(&S, T_ADM, "P1", "apps", "0", "\"image_type\":\"cicd\""), 1);
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "stat", "--db", S.db, "--project", "P1", "--type",
                     "apps,vulnerability,malwares", "--output", "csv", NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "security_report_type,total_num\napps,3\nvulnerability,1\nmalwares,0\n");
    free(out);
    rc = cli_run(&S, NULL, &out, "stat", "--db", S.db, "--project", "P1", "--type", "apps",
                 "--body", "{\"operate_all\":true,\"image_type\":\"cicd\"}", "--output", "json",
                 NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"apps\":1}\n");
    free(out);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", S.port);
    rc = cli_run(&S, NULL, &out, "stat", "--server", url, "--token", T_ADM, "--region", S.region,
                 "--project", "P1", "--type", "apps,vulnerability", "--output", "csv", NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "security_report_type,total_num\napps,3\nvulnerability,1\n");
    free(out);
    char tf[H_PATH_MAX + 16];
    snprintf(tf, sizeof tf, "%s/token", S.dir);
    assert_int_equal(h_write_file(tf, T_ADM, strlen(T_ADM)), 0);
    rc = cli_run(&S, NULL, &out, "stat", "--server", url, "--token-file", tf, "--region",
                 S.region, "--project", "P1", "--type", "apps", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "apps"));
    assert_non_null(strstr(out, " 3\n"));
    free(out);
    /* a bad body is the statistic's 400, and a failure */
    rc = cli_run(&S, NULL, &out, "stat", "--server", url, "--token", T_ADM, "--region", S.region,
                 "--project", "P1", "--type", "apps", "--body", "{\"image_type\":\"x\"}", NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "HSS.0001"));
    free(out);
    rc = cli_run(&S, NULL, &out, "stat", "--db", S.db, "--project", "P1", "--type", "bogus", NULL);
    assert_int_equal(rc, 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_and_server_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
