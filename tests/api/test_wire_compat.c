/* test_wire_compat.c - the wire habits of the official SDKs
 * (sdk-routes.md section 3) that imgsec must take as they come:
 *
 *   - a query key without '=' (the Go SDK's empty value) is an empty
 *     string, and an empty optional parameter is not given;
 *   - a scalar parameter given twice is a 400 naming it;
 *   - Content-Type: application/json on a bodiless GET;
 *   - the export-task body as the Go SDK serialises it (operate_all always
 *     present, no region header).
 *
 * The image lists' own wire rules (numeric id, paging) are in
 * test_image_lists.c.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define STAT "/v5/P1/image/security-report/statistic"
#define TASKS "/v5/P1/image/security-report/export-tasks"

static srv_t S;
static char *T_ADM;
static char ID[32];

static const char SEED[] =
    "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":\"web\","
    "\"image_version\":\"1.0\",\"scan_status\":\"success\"},"
    "\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"}]}\n"
    "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":\"api\","
    "\"image_version\":\"1.0\",\"scan_status\":\"success\"},"
    "\"apps\":[{\"app_name\":\"c\"}]}\n";

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "wire-pw-123", "P1", "admin", "all");
    if (!T_ADM)
        return -1;
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "0", SEED, true, &r);
    char ids[2][32];
    int n = ingest_ids(&r, ids, 2);
    http_resp_free(&r);
    if (n != 2)
        return -1;
    snprintf(ID, sizeof ID, "%s", ids[0]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    T_ADM = NULL;
    return srv_stop(&S, true);
}

static long long total_of(const http_resp *r)
{
    json_t *t = r->json ? json_object_get(r->json, "total_num") : NULL;
    return json_is_integer(t) ? (long long)json_integer_value(t) : -1;
}

static void test_bare_keys(void **state)
{
    (void)state;
    http_resp r;
    /* a bare enterprise_project_id is "", which is the default EP "0" */
    api_call(&S, "POST", STAT, "enterprise_project_id&security_report_type=apps", T_ADM, S.region,
             "{\"operate_all\":true}", "application/json", &r);
    assert_status(&r, 200);
    assert_int_equal(total_of(&r), 3);
    http_resp_free(&r);
    /* a bare required key is present but empty: refused naming it */
    api_call(&S, "POST", STAT, "security_report_type", T_ADM, S.region, "{\"operate_all\":true}",
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "security_report_type");
    http_resp_free(&r);
    /* Go's trimmed form: trailing bare key, no '=' anywhere after it */
    api_call(&S, "POST", STAT, "security_report_type=apps&enterprise_project_id", T_ADM, S.region,
             "{\"operate_all\":true}", "application/json", &r);
    assert_status(&r, 200);
    assert_int_equal(total_of(&r), 3);
    http_resp_free(&r);
}

static void test_json_content_type_on_bodiless_get(void **state)
{
    (void)state;
    http_resp r;
    api_call(&S, "GET", "/v5/P1/export-task/0123456789abcdef0123456789abcdef", NULL, T_ADM, NULL,
             NULL, "application/json", &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    api_call(&S, "GET", "/v5/P1/image/registries/images", NULL, T_ADM, NULL, NULL,
             "application/json", &r);
    assert_status(&r, 200);
    assert_int_equal(total_of(&r), 2);
    http_resp_free(&r);
}

static void test_repeated_scalar(void **state)
{
    (void)state;
    http_resp r;
    api_call(&S, "GET", "/v5/P1/image/registries/images", "limit=10&limit=20", T_ADM, NULL, NULL,
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "limit");
    http_resp_free(&r);
}

/* What the Go SDK sends for ExportImageSecurityReportTask: every
 * non-pointer field (export_size, security_report_type, operate_all),
 * the pointers it was given, no region header. */
static void test_go_export_body(void **state)
{
    (void)state;
    http_resp r;
    char *body = h_strdupf("{\"export_size\":100,\"security_report_type\":\"apps\","
                           "\"operate_all\":false,\"image_id_list\":[\"%s\"]}",
                           ID);
    api_call(&S, "POST", TASKS, NULL, T_ADM, NULL, body, "application/json", &r);
    free(body);
    assert_status(&r, 200);
    json_t *id = json_object_get(r.json, "task_id");
    assert_true(json_is_string(id) && h_is_hex(json_string_value(id), 32));
    http_resp_free(&r);
    /* operate_all false and nothing selected: the statistic's own rule */
    api_call(&S, "POST", TASKS, NULL, T_ADM, NULL,
             "{\"export_size\":100,\"security_report_type\":\"apps\",\"operate_all\":false}",
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "image_id_list");
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_keys),
        cmocka_unit_test(test_json_content_type_on_bodiless_get),
        cmocka_unit_test(test_repeated_scalar),
        cmocka_unit_test(test_go_export_body),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
