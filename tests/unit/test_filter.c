/* test_filter.c - statistic body validation (filter.c, statistic.md "Body fields").
 *
 * Every field is tried valid and invalid; length and count limits are
 * tried at the exact boundary (max accepted, max + 1 refused). Invalid
 * cases are tables of (body, expected text in the message) so that a new
 * rule is one line.
 *
 * Every body tried here also goes through the text front end
 * (filter_from_text), which must give the same answer or say the text is
 * not plain (filter_diff.h); test_text_front_end says which texts it
 * must take, and replays the fuzz corpus and its truncations through both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>

#include "filter_diff.h"
#include "imgsec/filter.h"
#include "unit_text.h"

#ifndef SOURCE_DIR
#error "SOURCE_DIR must be defined"
#endif

/* ---- helpers ---- */

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* The text front end agrees with the tree on text (filter_diff.h). */
static void expect_fronts_agree(const char *text, size_t len)
{
    char why[16384];
    if (!filter_diff_text(text, len, NULL, why, sizeof why))
        fail_msg("body %.200s: the two front ends differ:\n%s", text, why);
}

/* Parses text and runs filter_from_json; the body stays in *body. */
static int run(const char *text, json_t **body, stat_query *q, imgsec_err *err)
{
    expect_fronts_agree(text, strlen(text));
    *body = load(text);
    err_clear(err);
    return filter_from_json(*body, q, err);
}

/* text must be refused with EINVAL and a message containing needle. */
static void expect_invalid(const char *text, const char *needle)
{
    stat_query q;
    imgsec_err err;
    json_t *body;
    int rc = run(text, &body, &q, &err);
    if (rc != IMGSEC_EINVAL || !strstr(err.msg, needle))
        fail_msg("body %.200s: want EINVAL with \"%s\", got %s \"%s\"", text, needle,
                 err_code_name(rc), err.msg);
    if (rc == IMGSEC_OK)
        filter_free(&q);
    json_decref(body);
}

/* text must be accepted; the query is left in *q for checks (free after). */
static void expect_ok(const char *text, json_t **body, stat_query *q)
{
    imgsec_err err;
    int rc = run(text, body, q, &err);
    if (rc != IMGSEC_OK)
        fail_msg("body %.200s: want OK, got %s \"%s\"", text, err_code_name(rc), err.msg);
}

static void expect_ok_free(const char *text)
{
    stat_query q;
    json_t *body;
    expect_ok(text, &body, &q);
    filter_free(&q);
    json_decref(body);
}

/* {"operate_all": true, key: "<n copies of unit>"} */
static json_t *body_with_string(const char *key, const char *unit, size_t n)
{
    char *s = unit_repeat(unit, n);
    json_t *body = json_pack("{s:b, s:s}", "operate_all", 1, key, s);
    free(s);
    assert_non_null(body);
    return body;
}

/* {"operate_all": true, key: [count strings of item_len chars]} */
static json_t *body_with_list(const char *key, size_t count, size_t item_len)
{
    json_t *list = json_array();
    char *item = unit_repeat("a", item_len);
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, json_string(item));
    free(item);
    json_t *body = json_pack("{s:b, s:o}", "operate_all", 1, key, list);
    assert_non_null(body);
    return body;
}

static int filter_body(json_t *body, imgsec_err *err)
{
    stat_query q;
    assert_non_null(body); /* a json_pack mistake must not pass as {} */
    for (size_t f = 0; f < 2; f++) { /* compact, and indented */
        char *text = json_dumps(body, f ? JSON_INDENT(2) : JSON_COMPACT);
        assert_non_null(text);
        expect_fronts_agree(text, strlen(text));
        free(text);
    }
    err_clear(err);
    int rc = filter_from_json(body, &q, err);
    if (rc == IMGSEC_OK)
        filter_free(&q);
    json_decref(body);
    return rc;
}

static void expect_body_ok(json_t *body)
{
    imgsec_err err;
    int rc = filter_body(body, &err);
    if (rc != IMGSEC_OK)
        fail_msg("want OK, got %s \"%s\"", err_code_name(rc), err.msg);
}

static void expect_body_invalid(json_t *body, const char *needle)
{
    imgsec_err err;
    int rc = filter_body(body, &err);
    if (rc != IMGSEC_EINVAL || !strstr(err.msg, needle))
        fail_msg("want EINVAL with \"%s\", got %s \"%s\"", needle, err_code_name(rc), err.msg);
}

/* ---- defaults, null, the caller's report ---- */

static void test_defaults_and_report_untouched(void **state)
{
    (void)state;
    stat_query q;
    json_t *body = load("{\"operate_all\": true}");
    imgsec_err err;
    memset(&q, 0xAB, sizeof q);
    q.report = REPORT_FILES;
    assert_int_equal(filter_from_json(body, &q, &err), IMGSEC_OK);
    assert_int_equal(q.report, REPORT_FILES);
    assert_true(q.operate_all);
    assert_null(q.image_ids);
    assert_int_equal(q.n_image_ids, 0);
    assert_int_equal(q.image_type, -1);
    assert_int_equal(q.scan_status, -1);
    assert_int_equal(q.severity_level, -1);
    assert_int_equal(q.vul_type, -1);
    assert_int_equal(q.build_level, -1);
    assert_null(q.namespace_);
    assert_null(q.image_name);
    assert_null(q.image_version);
    assert_null(q.instance_name);
    assert_null(q.cicd_name);
    assert_null(q.image_id);
    assert_null(q.instance_id);
    assert_null(q.build_name);
    assert_false(q.latest_version);
    assert_false(q.has_image_size);
    assert_false(q.has_update_start);
    assert_false(q.has_update_end);
    assert_false(q.has_scan_start);
    assert_false(q.has_scan_end);
    assert_int_equal(q.has_malicious_file, TRI_ANY);
    assert_int_equal(q.has_vul, TRI_ANY);
    assert_int_equal(q.has_unsafe_setting, TRI_ANY);
    assert_int_equal(q.has_container, TRI_ANY);
    assert_int_equal(q.risky, TRI_ANY);
    assert_null(q.vul_ids);
    assert_int_equal(q.n_vul_ids, 0);
    assert_null(q.build_rule_ids);
    assert_int_equal(q.n_build_rule_ids, 0);
    filter_free(&q);
    json_decref(body);
}

static void test_nulls_are_absent(void **state)
{
    (void)state;
    stat_query q;
    json_t *body;
    expect_ok("{\"operate_all\": true, \"image_id_list\": null, \"image_type\": null,"
              " \"scan_status\": null, \"namespace\": null, \"image_name\": null,"
              " \"image_version\": null, \"instance_name\": null, \"cicd_name\": null,"
              " \"image_id\": null, \"instance_id\": null, \"latest_version\": null,"
              " \"image_size\": null, \"start_latest_update_time\": null,"
              " \"end_latest_update_time\": null, \"start_latest_scan_time\": null,"
              " \"end_latest_scan_time\": null, \"has_malicious_file\": null, \"has_vul\": null,"
              " \"has_unsafe_setting\": null, \"has_container\": null, \"risky\": null,"
              " \"severity_level\": null, \"vul_type\": null, \"vul_id_list\": null,"
              " \"build_command_risk_level\": null, \"build_command_risk_name\": null,"
              " \"build_command_rule_id_list\": null, \"unknown_key\": {\"x\": 1}}",
              &body, &q);
    assert_int_equal(q.image_type, -1);
    assert_false(q.has_image_size);
    assert_int_equal(q.risky, TRI_ANY);
    assert_null(q.build_name);
    assert_int_equal(q.n_vul_ids, 0);
    filter_free(&q);
    json_decref(body);

    /* operate_all null is absent: the image_id_list rule applies. */
    expect_invalid("{\"operate_all\": null}", "image_id_list must not be empty");
}

static void test_body_shapes(void **state)
{
    (void)state;
    stat_query q;
    imgsec_err err;

    /* NULL and JSON null are {}: valid shape, but the operate_all rule applies. */
    assert_int_equal(filter_from_json(NULL, &q, &err), IMGSEC_EINVAL);
    assert_string_equal(err.msg, "invalid parameter: image_id_list must not be empty unless "
                                 "operate_all is true");
    json_t *null = json_null();
    assert_int_equal(filter_from_json(null, &q, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "image_id_list must not be empty"));
    expect_invalid("{}", "image_id_list must not be empty unless operate_all is true");

    /* Not an object: the server answers HSS.0002 first; here EINVAL, defensively. */
    json_t *arr = load("[1, 2]");
    assert_int_equal(filter_from_json(arr, &q, &err), IMGSEC_EINVAL);
    json_decref(arr);
}

/* ---- operate_all and image_id_list ---- */

static void test_operate_all_rule(void **state)
{
    (void)state;
    stat_query q;
    json_t *body;

    expect_ok_free("{\"operate_all\": true}");
    expect_ok("{\"operate_all\": false, \"image_id_list\": [\"17\", \"sha256:ab\", \"17\"]}", &body,
              &q);
    assert_false(q.operate_all);
    assert_int_equal(q.n_image_ids, 3); /* duplicates are kept */
    assert_string_equal(q.image_ids[0], "17");
    assert_string_equal(q.image_ids[1], "sha256:ab");
    assert_string_equal(q.image_ids[2], "17");
    filter_free(&q);
    assert_null(q.image_ids);
    json_decref(body);

    expect_ok("{\"image_id_list\": [\"5\"]}", &body, &q);
    assert_int_equal(q.n_image_ids, 1);
    filter_free(&q);
    json_decref(body);

    /* operate_all true: the list is checked, then dropped. */
    expect_ok("{\"operate_all\": true, \"image_id_list\": [\"5\"]}", &body, &q);
    assert_true(q.operate_all);
    assert_null(q.image_ids);
    assert_int_equal(q.n_image_ids, 0);
    filter_free(&q);
    json_decref(body);
    expect_invalid("{\"operate_all\": true, \"image_id_list\": [\"\"]}", "image_id_list[0]");

    expect_invalid("{\"operate_all\": false}",
                   "invalid parameter: image_id_list must not be empty unless operate_all is true");
    expect_invalid("{\"operate_all\": false, \"image_id_list\": []}",
                   "image_id_list must not be empty");
    expect_invalid("{\"image_id_list\": []}", "image_id_list must not be empty");
    expect_invalid("{\"operate_all\": \"true\"}", "invalid parameter: operate_all must be true or false");
    expect_invalid("{\"operate_all\": 1}", "operate_all must be true or false");
}

static void test_image_id_list(void **state)
{
    (void)state;
    static const struct {
        const char *body, *needle;
    } bad[] = {
        {"{\"image_id_list\": \"17\"}", "invalid parameter: image_id_list must be an array of strings"},
        {"{\"image_id_list\": {\"a\": 1}}", "image_id_list must be an array"},
        {"{\"image_id_list\": [\"1\", 2]}", "invalid parameter: image_id_list[1] must be a string of 1-128 characters"},
        {"{\"image_id_list\": [\"1\", \"2\", \"\"]}", "image_id_list[2] must be a string of 1-128 characters"},
        {"{\"image_id_list\": [null]}", "image_id_list[0]"},
        {"{\"image_id_list\": [[\"1\"]]}", "image_id_list[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i].body, bad[i].needle);

    json_t *body;
    /* Item length: 128 accepted, 129 refused (without operate_all). */
    body = body_with_list("image_id_list", 1, FILTER_IMAGE_ID_ITEM_MAX);
    json_object_del(body, "operate_all");
    expect_body_ok(body);
    body = body_with_list("image_id_list", 1, FILTER_IMAGE_ID_ITEM_MAX + 1);
    json_object_del(body, "operate_all");
    expect_body_invalid(body, "image_id_list[0] must be a string of 1-128 characters");

    /* Count: 10,000 accepted, 10,001 refused. */
    body = body_with_list("image_id_list", FILTER_IMAGE_ID_LIST_MAX, 3);
    json_object_del(body, "operate_all");
    stat_query q;
    imgsec_err err;
    assert_int_equal(filter_from_json(body, &q, &err), IMGSEC_OK);
    assert_int_equal(q.n_image_ids, 10000);
    filter_free(&q);
    json_decref(body);
    body = body_with_list("image_id_list", FILTER_IMAGE_ID_LIST_MAX + 1, 3);
    json_object_del(body, "operate_all");
    expect_body_invalid(body, "invalid parameter: image_id_list must have at most 10000 items");
}

/* ---- image filters ---- */

static void test_enums(void **state)
{
    (void)state;
    stat_query q;
    json_t *body;

    expect_ok("{\"operate_all\": true, \"image_type\": \"harbor\", \"scan_status\": "
              "\"download_failed\", \"severity_level\": \"Security\"}",
              &body, &q);
    assert_int_equal(q.image_type, IMAGE_TYPE_HARBOR);
    assert_int_equal(q.scan_status, SCAN_STATUS_DOWNLOAD_FAILED);
    assert_int_equal(q.severity_level, SEVERITY_LEVEL_SECURITY);
    filter_free(&q);
    json_decref(body);

    expect_ok("{\"operate_all\": true, \"image_type\": \"private_image\", \"scan_status\": "
              "\"image_oversized\", \"severity_level\": \"High\"}",
              &body, &q);
    assert_int_equal(q.image_type, IMAGE_TYPE_PRIVATE);
    assert_int_equal(q.scan_status, SCAN_STATUS_IMAGE_OVERSIZED);
    assert_int_equal(q.severity_level, SEVERITY_LEVEL_HIGH);
    filter_free(&q);
    json_decref(body);

    static const struct {
        const char *body, *needle;
    } bad[] = {
        {"{\"operate_all\": true, \"image_type\": \"HARBOR\"}",
         "invalid parameter: image_type must be one of private_image, shared_image, local_image, "
         "instance_image, harbor, jfrog, cicd"},
        {"{\"operate_all\": true, \"image_type\": 3}", "image_type must be one of"},
        {"{\"operate_all\": true, \"image_type\": \"\"}", "image_type must be one of"},
        {"{\"operate_all\": true, \"scan_status\": \"done\"}",
         "invalid parameter: scan_status must be one of unscan, success, scanning, failed, "
         "download_failed, image_oversized, waiting_for_scan"},
        {"{\"operate_all\": true, \"scan_status\": true}", "scan_status must be one of"},
        {"{\"operate_all\": true, \"severity_level\": \"high\"}",
         "invalid parameter: severity_level must be one of Security, Low, Medium, High"},
        {"{\"operate_all\": true, \"severity_level\": \"None\"}", "severity_level must be one of"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i].body, bad[i].needle);
}

static void test_strings(void **state)
{
    (void)state;
    static const char *const longs[] = {"namespace", "image_name", "image_version"};
    static const char *const shorts[] = {"instance_name", "cicd_name", "image_id", "instance_id"};
    char needle[128];

    for (size_t i = 0; i < 3; i++) {
        snprintf(needle, sizeof needle, "invalid parameter: %s must be a string of 0-65535 characters",
                 longs[i]);
        expect_body_ok(body_with_string(longs[i], "a", FILTER_LONG_STRING_MAX));
        expect_body_invalid(body_with_string(longs[i], "a", FILTER_LONG_STRING_MAX + 1), needle);
        /* Characters, not bytes: 65,535 two-byte characters pass. */
        expect_body_ok(body_with_string(longs[i], "\xc3\xa9", FILTER_LONG_STRING_MAX));
        expect_body_invalid(body_with_string(longs[i], "\xc3\xa9", FILTER_LONG_STRING_MAX + 1),
                            needle);
        json_t *body = json_pack("{s:b, s:i}", "operate_all", 1, longs[i], 5);
        expect_body_invalid(body, needle);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(needle, sizeof needle, "invalid parameter: %s must be a string of 0-128 characters",
                 shorts[i]);
        expect_body_ok(body_with_string(shorts[i], "a", FILTER_SHORT_STRING_MAX));
        expect_body_invalid(body_with_string(shorts[i], "a", FILTER_SHORT_STRING_MAX + 1), needle);
        expect_body_ok(body_with_string(shorts[i], "\xe4\xb8\xad", FILTER_SHORT_STRING_MAX));
        expect_body_invalid(body_with_string(shorts[i], "\xe4\xb8\xad",
                                             FILTER_SHORT_STRING_MAX + 1),
                            needle);
        expect_body_invalid(json_pack("{s:b, s:[s]}", "operate_all", 1, shorts[i], "x"), needle);
    }

    /* Values are borrowed; "" filters nothing and comes back as NULL. */
    stat_query q;
    json_t *body;
    expect_ok("{\"operate_all\": true, \"namespace\": \"shop\", \"image_name\": \"web\","
              " \"image_version\": \"1.4\", \"instance_name\": \"reg\", \"cicd_name\": \"ci\","
              " \"image_id\": \"sha256:1\", \"instance_id\": \"i-1\"}",
              &body, &q);
    assert_string_equal(q.namespace_, "shop");
    assert_ptr_equal(q.namespace_, json_string_value(json_object_get(body, "namespace")));
    assert_string_equal(q.image_name, "web");
    assert_string_equal(q.image_version, "1.4");
    assert_string_equal(q.instance_name, "reg");
    assert_string_equal(q.cicd_name, "ci");
    assert_string_equal(q.image_id, "sha256:1");
    assert_string_equal(q.instance_id, "i-1");
    filter_free(&q);
    json_decref(body);
    expect_ok("{\"operate_all\": true, \"namespace\": \"\", \"image_id\": \"\"}", &body, &q);
    assert_null(q.namespace_);
    assert_null(q.image_id);
    filter_free(&q);
    json_decref(body);

    /* A NUL inside a string (possible only for bodies built in code). */
    body = json_pack("{s:b, s:s#}", "operate_all", 1, "image_name", "we\0b", (int)4);
    expect_body_invalid(body, "image_name must be a string");
}

static void test_bools(void **state)
{
    (void)state;
    static const char *const tris[] = {"has_malicious_file", "has_vul", "has_unsafe_setting",
                                       "has_container", "risky"};
    stat_query q;
    json_t *body;
    imgsec_err err;
    char needle[96];

    for (size_t i = 0; i < 5; i++) {
        for (int value = 0; value <= 1; value++) {
            body = json_pack("{s:b, s:b}", "operate_all", 1, tris[i], value);
            assert_int_equal(filter_from_json(body, &q, &err), IMGSEC_OK);
            tri_bool got = i == 0   ? q.has_malicious_file
                           : i == 1 ? q.has_vul
                           : i == 2 ? q.has_unsafe_setting
                           : i == 3 ? q.has_container
                                    : q.risky;
            assert_int_equal(got, value ? TRI_TRUE : TRI_FALSE);
            filter_free(&q);
            json_decref(body);
        }
        snprintf(needle, sizeof needle, "invalid parameter: %s must be true or false", tris[i]);
        expect_body_invalid(json_pack("{s:b, s:s}", "operate_all", 1, tris[i], "true"), needle);
        expect_body_invalid(json_pack("{s:b, s:i}", "operate_all", 1, tris[i], 0), needle);
    }

    expect_ok("{\"operate_all\": true, \"latest_version\": true}", &body, &q);
    assert_true(q.latest_version);
    filter_free(&q);
    json_decref(body);
    expect_ok("{\"operate_all\": true, \"latest_version\": false}", &body, &q);
    assert_false(q.latest_version);
    filter_free(&q);
    json_decref(body);
    expect_invalid("{\"operate_all\": true, \"latest_version\": \"yes\"}",
                   "invalid parameter: latest_version must be true or false");
}

static void test_ints_and_ranges(void **state)
{
    (void)state;
    static const char *const ints[] = {"image_size", "start_latest_update_time",
                                       "end_latest_update_time", "start_latest_scan_time",
                                       "end_latest_scan_time"};
    char needle[96];
    stat_query q;
    json_t *body;

    for (size_t i = 0; i < 5; i++) {
        snprintf(needle, sizeof needle, "invalid parameter: %s must be an integer >= 0", ints[i]);
        expect_body_ok(json_pack("{s:b, s:I}", "operate_all", 1, ints[i], (json_int_t)0));
        expect_body_ok(json_pack("{s:b, s:I}", "operate_all", 1, ints[i], (json_int_t)INT64_MAX));
        expect_body_invalid(json_pack("{s:b, s:I}", "operate_all", 1, ints[i], (json_int_t)-1),
                            needle);
        expect_body_invalid(json_pack("{s:b, s:f}", "operate_all", 1, ints[i], 1.5), needle);
        expect_body_invalid(json_pack("{s:b, s:f}", "operate_all", 1, ints[i], 10.0), needle);
        expect_body_invalid(json_pack("{s:b, s:s}", "operate_all", 1, ints[i], "10"), needle);
        expect_body_invalid(json_pack("{s:b, s:b}", "operate_all", 1, ints[i], 1), needle);
    }

    expect_ok("{\"operate_all\": true, \"image_size\": 73400320,"
              " \"start_latest_update_time\": 1764000000000, \"end_latest_update_time\": 1764000000000,"
              " \"start_latest_scan_time\": 5, \"end_latest_scan_time\": 6}",
              &body, &q);
    assert_true(q.has_image_size);
    assert_int_equal(q.image_size, 73400320);
    assert_true(q.has_update_start && q.has_update_end && q.has_scan_start && q.has_scan_end);
    assert_int_equal(q.update_start, 1764000000000LL);
    assert_int_equal(q.update_end, 1764000000000LL);
    assert_int_equal(q.scan_start, 5);
    assert_int_equal(q.scan_end, 6);
    filter_free(&q);
    json_decref(body);

    /* One bound alone is fine. */
    expect_ok("{\"operate_all\": true, \"start_latest_update_time\": 9}", &body, &q);
    assert_true(q.has_update_start);
    assert_false(q.has_update_end);
    filter_free(&q);
    json_decref(body);

    expect_invalid("{\"operate_all\": true, \"start_latest_update_time\": 2, \"end_latest_update_time\": 1}",
                   "invalid parameter: start_latest_update_time must not be greater than "
                   "end_latest_update_time");
    expect_invalid("{\"operate_all\": true, \"start_latest_scan_time\": 10, \"end_latest_scan_time\": 0}",
                   "invalid parameter: start_latest_scan_time must not be greater than "
                   "end_latest_scan_time");
}

/* ---- record filters ---- */

static void test_vul_filters(void **state)
{
    (void)state;
    stat_query q;
    json_t *body;

    expect_ok("{\"operate_all\": true, \"vul_type\": \"app_vul\","
              " \"vul_id_list\": [\"CVE-2024-6387\", \"CVE-2024-6387\"]}",
              &body, &q);
    assert_int_equal(q.vul_type, VUL_TYPE_APP);
    assert_int_equal(q.n_vul_ids, 2);
    assert_string_equal(q.vul_ids[0], "CVE-2024-6387");
    filter_free(&q);
    json_decref(body);

    expect_ok("{\"operate_all\": true, \"vul_type\": \"linux_vul\", \"vul_id_list\": []}", &body, &q);
    assert_int_equal(q.vul_type, VUL_TYPE_LINUX);
    assert_int_equal(q.n_vul_ids, 0);
    assert_null(q.vul_ids);
    filter_free(&q);
    json_decref(body);

    expect_invalid("{\"operate_all\": true, \"vul_type\": \"APP_VUL\"}",
                   "invalid parameter: vul_type must be one of linux_vul, app_vul");
    expect_invalid("{\"operate_all\": true, \"vul_id_list\": \"CVE-1\"}",
                   "vul_id_list must be an array of strings");
    expect_invalid("{\"operate_all\": true, \"vul_id_list\": [\"a\", \"b\", 3]}",
                   "invalid parameter: vul_id_list[2] must be a string of 1-128 characters");

    expect_body_ok(body_with_list("vul_id_list", 1, FILTER_VUL_ID_ITEM_MAX));
    expect_body_invalid(body_with_list("vul_id_list", 1, FILTER_VUL_ID_ITEM_MAX + 1),
                        "vul_id_list[0] must be a string of 1-128 characters");
    expect_body_ok(body_with_list("vul_id_list", FILTER_VUL_ID_LIST_MAX, 8));
    expect_body_invalid(body_with_list("vul_id_list", FILTER_VUL_ID_LIST_MAX + 1, 8),
                        "invalid parameter: vul_id_list must have at most 2048 items");
}

static void test_build_filters(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"critical", SEVERITY_CRITICAL}, {"high", SEVERITY_HIGH},
                  {"medium", SEVERITY_MEDIUM}, {"low", SEVERITY_LOW}};
    stat_query q;
    json_t *body;
    imgsec_err err;

    for (size_t i = 0; i < 4; i++) {
        body = json_pack("{s:b, s:s}", "operate_all", 1, "build_command_risk_level", levels[i].name);
        assert_int_equal(filter_from_json(body, &q, &err), IMGSEC_OK);
        assert_int_equal(q.build_level, levels[i].level);
        filter_free(&q);
        json_decref(body);
    }
    const char *level_msg =
        "invalid parameter: build_command_risk_level must be one of critical, high, medium, low";
    expect_invalid("{\"operate_all\": true, \"build_command_risk_level\": \"unknown\"}", level_msg);
    expect_invalid("{\"operate_all\": true, \"build_command_risk_level\": \"High\"}", level_msg);
    expect_invalid("{\"operate_all\": true, \"build_command_risk_level\": 2}", level_msg);

    expect_ok("{\"operate_all\": true, \"build_command_risk_name\": \"root\","
              " \"build_command_rule_id_list\": [\"DS002\"]}",
              &body, &q);
    assert_string_equal(q.build_name, "root");
    assert_int_equal(q.n_build_rule_ids, 1);
    assert_string_equal(q.build_rule_ids[0], "DS002");
    filter_free(&q);
    json_decref(body);

    const char *name_msg =
        "invalid parameter: build_command_risk_name must be a string of 1-128 characters";
    expect_invalid("{\"operate_all\": true, \"build_command_risk_name\": \"\"}", name_msg);
    expect_invalid("{\"operate_all\": true, \"build_command_risk_name\": [\"x\"]}", name_msg);
    expect_body_ok(body_with_string("build_command_risk_name", "a", FILTER_SHORT_STRING_MAX));
    expect_body_invalid(body_with_string("build_command_risk_name", "a", FILTER_SHORT_STRING_MAX + 1),
                        name_msg);

    expect_body_ok(body_with_list("build_command_rule_id_list", 1, FILTER_RULE_ID_ITEM_MAX));
    expect_body_invalid(body_with_list("build_command_rule_id_list", 1, FILTER_RULE_ID_ITEM_MAX + 1),
                        "invalid parameter: build_command_rule_id_list[0] must be a string of "
                        "1-200 characters");
    expect_body_ok(body_with_list("build_command_rule_id_list", FILTER_RULE_ID_LIST_MAX, 5));
    expect_body_invalid(body_with_list("build_command_rule_id_list", FILTER_RULE_ID_LIST_MAX + 1, 5),
                        "invalid parameter: build_command_rule_id_list must have at most 2048 items");
    expect_invalid("{\"operate_all\": true, \"build_command_rule_id_list\": 5}",
                   "build_command_rule_id_list must be an array of strings");
}

/* A failure after lists were allocated frees them (checked by LeakSanitizer). */
static void test_error_after_lists_frees(void **state)
{
    (void)state;
    expect_invalid("{\"image_id_list\": [\"1\"], \"vul_id_list\": [\"CVE-1\"],"
                   " \"build_command_rule_id_list\": [\"DS1\"], \"start_latest_scan_time\": 3,"
                   " \"end_latest_scan_time\": 2}",
                   "start_latest_scan_time must not be greater than end_latest_scan_time");
    expect_invalid("{\"image_id_list\": [\"1\"], \"vul_id_list\": [\"CVE-1\"],"
                   " \"build_command_rule_id_list\": [\"DS1\", \"\"]}",
                   "build_command_rule_id_list[1]");
}

/* ---- the text front end (filter_from_text) ---- */

static bool takes(const char *text)
{
    bool plain = false;
    char why[16384];
    if (!filter_diff_text(text, strlen(text), &plain, why, sizeof why))
        fail_msg("body %.200s: the two front ends differ:\n%s", text, why);
    return plain;
}

static void replay_dir(const char *dir, size_t *files, size_t *plain)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *buf = util_read_file(path, &len);
        assert_non_null(buf);
        char why[16384];
        bool p = false;
        if (!filter_diff_text(buf, len, &p, why, sizeof why))
            fail_msg("%s: the two front ends differ:\n%s", path, why);
        *plain += p;
        for (size_t cut = 0; cut < len; cut++) /* every truncation */
            if (!filter_diff_text(buf, cut, NULL, why, sizeof why))
                fail_msg("%s cut at %zu: the two front ends differ:\n%s", path, cut, why);
        free(buf);
        (*files)++;
    }
    closedir(d);
}

static void test_text_front_end(void **state)
{
    (void)state;
    /* plain: taken, and the same answer (a query, or the same error) */
    static const char *const plain[] = {
        "", " \n\t\r ", "{}", "{ }", "{\"operate_all\":true}",
        "{\"operate_all\": true, \"vul_id_list\": [\"CVE-2024-1\", \"CVE-2024-2\"]}",
        "{\"image_id_list\": [\"1\", \"2\", \"1\"]}",
        "{\"image_id_list\" : [ ] , \"operate_all\" : true }",
        "{\"operate_all\":true,\"image_type\":\"private_image\",\"scan_status\":\"success\","
        "\"namespace\":\"a\",\"image_name\":\"\",\"image_version\":\"1.0\",\"latest_version\":true,"
        "\"image_size\":123456789012345678,\"start_latest_update_time\":0,"
        "\"end_latest_update_time\":10,\"has_vul\":false,\"risky\":true,\"severity_level\":\"High\","
        "\"vul_type\":\"linux_vul\",\"build_command_risk_level\":\"high\","
        "\"build_command_risk_name\":\"root\",\"build_command_rule_id_list\":[\"DS002\"],"
        "\"unknown_key\":[\"x\"],\"other\":null}",
        /* plain but invalid: the same error as the tree */
        "{\"operate_all\":1}", "{\"operate_all\":true,\"image_size\":\"1\"}",
        "{\"operate_all\":true,\"vul_id_list\":[\"\"]}", "{\"operate_all\":true,\"image_type\":\"x\"}",
        "{\"operate_all\":true,\"start_latest_update_time\":5,\"end_latest_update_time\":4}",
        "{\"operate_all\":true,\"image_name\":[\"a\"]}",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!takes(plain[i]))
            fail_msg("plain body not taken by the text front end: %s", plain[i]);
    /* not plain: jansson decides (the agreement is still checked) */
    static const char *const not_plain[] = {
        "{\"image_name\":\"caf\\u00e9\",\"operate_all\":true}",
        "{\"image_name\":\"caf\xc3\xa9\",\"operate_all\":true}",
        "{\"image_name\":\"a\\\"b\",\"operate_all\":true}",
        "{\"image_name\":\"a\tb\",\"operate_all\":true}",
        "{\"image_size\":1.5,\"operate_all\":true}", "{\"image_size\":1e3,\"operate_all\":true}",
        "{\"image_size\":-1,\"operate_all\":true}", "{\"image_size\":0123,\"operate_all\":true}",
        "{\"image_size\":1234567890123456789,\"operate_all\":true}",
        "{\"a\":{\"b\":1},\"operate_all\":true}", "{\"operate_all\":true,\"operate_all\":false}",
        "{\"operate_all\":true,}", "{\"operate_all\":true} x", "[1]", "\"x\"", "{\"operate_all\":tru}",
        "{\"vul_id_list\":[\"a\",1],\"operate_all\":true}", "{\"vul_id_list\":[\"a\",],\"operate_all\":true}",
        "{\"operate_all\":true,\"k\":[[\"a\"]]}", "\xef\xbb\xbf{}", "{\"operate_all\":true}\f",
    };
    for (size_t i = 0; i < sizeof not_plain / sizeof not_plain[0]; i++)
        if (takes(not_plain[i]))
            fail_msg("body taken by the text front end, but not plain: %s", not_plain[i]);
    /* the fuzz corpus and its regressions, whole and every truncation */
    size_t files = 0, nplain = 0;
    replay_dir(SOURCE_DIR "/tests/fuzz/corpus/statistic", &files, &nplain);
    replay_dir(SOURCE_DIR "/tests/fuzz/regressions/statistic", &files, &nplain);
    print_message("fuzz corpus: %zu files, %zu plain\n", files, nplain);
    assert_true(files >= 80);
    assert_true(nplain >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_report_untouched),
        cmocka_unit_test(test_nulls_are_absent),
        cmocka_unit_test(test_body_shapes),
        cmocka_unit_test(test_operate_all_rule),
        cmocka_unit_test(test_image_id_list),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_ints_and_ranges),
        cmocka_unit_test(test_vul_filters),
        cmocka_unit_test(test_build_filters),
        cmocka_unit_test(test_error_after_lists_frees),
        cmocka_unit_test(test_text_front_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
