/* test_model.c - the value tables of model.c: every name parses back to
 * its value, case rules, the derived severity level, scope ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/model.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < IMAGE_TYPE_COUNT; i++)
        assert_int_equal(image_type_parse(image_type_name((image_type)i)), i);
    for (int i = 0; i < SCAN_STATUS_COUNT; i++)
        assert_int_equal(scan_status_parse(scan_status_name((scan_status)i)), i);
    for (int i = 0; i < SEVERITY_COUNT; i++)
        assert_int_equal(severity_parse(severity_name((severity)i)), i);
    for (int i = 0; i < SEVERITY_LEVEL_COUNT; i++)
        assert_int_equal(severity_level_parse(severity_level_name((severity_level)i)), i);
    for (int i = 0; i < VUL_TYPE_COUNT; i++)
        assert_int_equal(vul_type_parse(vul_type_name((vul_type)i)), i);
    for (int i = 0; i < REPORT_TYPE_COUNT; i++)
        assert_int_equal(report_type_parse(report_type_name((report_type)i)), i);
    assert_null(severity_level_name(SEVERITY_LEVEL_NONE));
}

static void test_exact_spellings(void **state)
{
    (void)state;
    assert_int_equal(image_type_parse("private_image"), IMAGE_TYPE_PRIVATE);
    assert_int_equal(image_type_parse("cicd"), IMAGE_TYPE_CICD);
    assert_int_equal(scan_status_parse("download_failed"), SCAN_STATUS_DOWNLOAD_FAILED);
    assert_int_equal(report_type_parse("build-command-risks"), REPORT_BUILD_COMMAND_RISKS);
    assert_int_equal(report_type_parse("non-compliant-app"), REPORT_NON_COMPLIANT_APP);
    /* Enums of the API are exact; only record severities ignore case. */
    assert_int_equal(image_type_parse("Private_Image"), -1);
    assert_int_equal(severity_level_parse("high"), -1);
    assert_int_equal(report_type_parse("vulnerabilities"), -1);
    assert_int_equal(report_type_parse(NULL), -1);
    assert_int_equal(severity_parse("HIGH"), SEVERITY_HIGH);
    assert_int_equal(severity_parse("Critical"), SEVERITY_CRITICAL);
    assert_int_equal(severity_parse("severe"), -1);
    assert_string_equal(severity_name(SEVERITY_UNKNOWN), "unknown");
}

static void test_choices_lists(void **state)
{
    (void)state;
    assert_string_equal(image_type_choices(),
                        "private_image, shared_image, local_image, instance_image, harbor, jfrog, cicd");
    assert_string_equal(severity_level_choices(), "Security, Low, Medium, High");
    assert_string_equal(vul_type_choices(), "linux_vul, app_vul");
}

static void test_severity_level(void **state)
{
    (void)state;
    assert_int_equal(model_severity_level(SCAN_STATUS_FAILED, 1, SEVERITY_CRITICAL),
                     SEVERITY_LEVEL_NONE);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 0, SEVERITY_UNKNOWN),
                     SEVERITY_LEVEL_SECURITY);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 1, SEVERITY_CRITICAL),
                     SEVERITY_LEVEL_HIGH);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 1, SEVERITY_HIGH), SEVERITY_LEVEL_HIGH);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 1, SEVERITY_MEDIUM),
                     SEVERITY_LEVEL_MEDIUM);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 1, SEVERITY_LOW), SEVERITY_LEVEL_LOW);
    assert_int_equal(model_severity_level(SCAN_STATUS_SUCCESS, 1, SEVERITY_UNKNOWN),
                     SEVERITY_LEVEL_LOW);
}

static void test_scope_ids(void **state)
{
    (void)state;
    char longest[MODEL_PROJECT_ID_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[MODEL_PROJECT_ID_MAX] = '\0';
    assert_true(model_scope_id_valid(longest));
    longest[MODEL_PROJECT_ID_MAX] = 'a';
    longest[MODEL_PROJECT_ID_MAX + 1] = '\0';
    assert_false(model_scope_id_valid(longest));
    assert_true(model_scope_id_valid("0"));
    assert_true(model_scope_id_valid("ep-A_9"));
    assert_false(model_scope_id_valid(""));
    assert_false(model_scope_id_valid("ep a"));
    assert_false(model_scope_id_valid("ep/a"));
    assert_false(model_scope_id_valid(NULL));
}

static void test_record_kinds(void **state)
{
    (void)state;
    static const char *const KEYS[REPORT_TYPE_COUNT] = {
        "vulnerabilities", "risk_configs", "malwares", "apps", "files",
        "sensitive_info", "non_compliant_apps", "build_command_risks"};
    static const size_t NFIELDS[REPORT_TYPE_COUNT] = {11, 8, 6, 7, 5, 6, 5, 6};
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        assert_int_equal(k->type, t);
        assert_string_equal(k->doc_key, KEYS[t]);
        assert_string_equal(k->name, report_type_name((report_type)t));
        assert_int_equal(k->nfields, NFIELDS[t]);
        assert_true(k->fields[0].required);
    }
    const record_kind *b = record_kind_get(REPORT_BUILD_COMMAND_RISKS);
    assert_string_equal(b->fields[2].name, "risk_level");
    assert_int_equal(b->fields[2].kind, FIELD_SEVERITY);
    assert_null(record_kind_get(REPORT_TYPE_COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip), cmocka_unit_test(test_exact_spellings),
        cmocka_unit_test(test_choices_lists),    cmocka_unit_test(test_severity_level),
        cmocka_unit_test(test_scope_ids),        cmocka_unit_test(test_record_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
