/* test_doc.c - ingest documents and bodies (doc.c, data-model.md).
 *
 * A full document checks the summary exactly (counts, vul_counts, merged
 * aggregates, severity normalised in the JSON); the derived severity level
 * is checked case by case; every rule has a refused case whose message must
 * name the offending field by its full path; bodies are checked in their
 * three forms (object, array, NDJSON) including their error messages, and
 * an already parsed body answers as its text does (doc_list_from_json).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/doc.h"
#include "unit_text.h"

/* ---- helpers ---- */

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON %.200s: %s", text, jerr.text);
    return v;
}

/* Field name of record j of kind t in doc. */
static const doc_val *rec_val(const imgsec_doc *doc, report_type t, size_t j, const char *name)
{
    const record_kind *k = record_kind_get(t);
    assert_true(j < doc->records[t].n);
    for (size_t f = 0; f < k->nfields; f++)
        if (strcmp(k->fields[f].name, name) == 0)
            return &DOC_RECORD(&doc->records[t], t, j)[f];
    fail_msg("no field %s", name);
    return NULL;
}

/* root must be refused with EINVAL and a message containing needle. Consumes root. */
static void expect_root_invalid(json_t *root, const char *where, const char *needle)
{
    imgsec_doc doc;
    imgsec_err err;
    assert_non_null(root);
    err_clear(&err);
    int rc = doc_from_json(root, where, &doc, &err);
    if (rc == IMGSEC_OK)
        doc_free(&doc);
    json_decref(root);
    if (rc != IMGSEC_EINVAL || !strstr(err.msg, needle))
        fail_msg("want EINVAL with \"%s\", got %s \"%s\"", needle, err_code_name(rc), err.msg);
    assert_null(doc.arena); /* nothing to free on error */
    assert_null(doc.vuls);
}

static void expect_invalid(const char *text, const char *needle)
{
    expect_root_invalid(load(text), NULL, needle);
}

/* Consumes root. */
static void expect_root_ok(json_t *root)
{
    imgsec_doc doc;
    imgsec_err err;
    assert_non_null(root);
    int rc = doc_from_json(root, NULL, &doc, &err);
    json_decref(root);
    if (rc != IMGSEC_OK)
        fail_msg("want OK, got %s \"%s\"", err_code_name(rc), err.msg);
    doc_free(&doc);
}

static void expect_ok(const char *text)
{
    expect_root_ok(load(text));
}

/* A document with a valid image plus `records` (JSON members, may be "");
 * `image_extra` is spliced into the image object. */
static json_t *make_doc(const char *image_extra, const char *records)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"image\": {\"image_type\": \"private_image\", \"image_name\": \"web\"%s%s}%s%s}",
             image_extra[0] ? ", " : "", image_extra, records[0] ? ", " : "", records);
    return load(text);
}

/* A valid document whose image field `key` is n copies of unit. */
static json_t *doc_with_image_string(const char *key, const char *unit, size_t n)
{
    json_t *root = make_doc("", "");
    char *s = unit_repeat(unit, n);
    json_object_set_new(json_object_get(root, "image"), key, json_string(s));
    free(s);
    return root;
}

static severity_level level_of(const char *status, const char *records)
{
    char extra[64];
    imgsec_doc doc;
    imgsec_err err;
    snprintf(extra, sizeof extra, "\"scan_status\": \"%s\"", status);
    json_t *root = make_doc(extra, records);
    int rc = doc_from_json(root, NULL, &doc, &err);
    json_decref(root);
    if (rc != IMGSEC_OK)
        fail_msg("%s", err.msg);
    severity_level l = doc.summary.severity_level;
    doc_free(&doc);
    return l;
}

/* ---- a full document ---- */

static const char FULL_DOC[] =
    "{\"image\": {\"id\": \"999\", \"image_type\": \"private_image\", \"namespace\": \"shop\","
    "  \"image_name\": \"web\", \"image_version\": \"1.4.2\", \"image_id\": \"sha256:1f2e\","
    "  \"image_digest\": \"sha256:dd\", \"image_size\": 73400320,"
    "  \"latest_update_time\": 1764000000000, \"latest_scan_time\": 1764003600000,"
    "  \"scan_status\": \"success\", \"container_num\": 3, \"has_vul\": false,"
    "  \"severity_level\": \"Security\", \"some_future_key\": [1]},"
    " \"vulnerabilities\": ["
    "  {\"vul_id\": \"CVE-2024-6387\", \"vul_type\": \"linux_vul\", \"severity\": \"High\","
    "   \"app_name\": \"openssh-server\", \"cvss_score\": 8.1},"
    "  {\"vul_id\": \"CVE-2024-6387\", \"vul_type\": \"linux_vul\", \"severity\": \"high\"},"
    "  {\"vul_id\": \"CVE-2024-6387\", \"vul_type\": \"app_vul\", \"severity\": \"LOW\", \"cvss_score\": 5},"
    "  {\"vul_id\": \"CVE-2023-0001\", \"vul_type\": \"linux_vul\", \"severity\": \"medium\","
    "   \"fixed_version\": null}],"
    " \"risk_configs\": [{\"check_name\": \"ssh\", \"check_rule_id\": \"R1\", \"standard\": \"hw_standard\","
    "   \"severity\": \"Medium\"}],"
    " \"malwares\": [{\"file_path\": \"/bin/x\", \"size\": 10}],"
    " \"apps\": [{\"app_name\": \"openssh-server\", \"app_version\": \"1:9.2p1-2\", \"app_type\": \"deb\"},"
    "   {\"app_name\": \"bash\"}],"
    " \"files\": [{\"file_path\": \"/etc/shadow\", \"mode\": \"0640\", \"size\": 0}],"
    " \"sensitive_info\": [{\"rule_id\": \"aws-key\", \"severity\": \"CRITICAL\", \"file_path\": \"/app/.env\"}],"
    " \"non_compliant_apps\": null,"
    " \"build_command_risks\": ["
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"image runs as root\", \"risk_level\": \"high\","
    "   \"build_instruction\": \"USER root\"},"
    "  {\"rule_id\": \"DS001\", \"risk_name\": \"curl pipe\", \"risk_level\": \"Low\","
    "   \"build_instruction\": \"RUN curl | sh\"},"
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"image runs as root\", \"risk_level\": \"HIGH\","
    "   \"build_instruction\": \"USER 0\"},"
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"image runs as root\", \"risk_level\": \"medium\","
    "   \"build_instruction\": \"USER root\"},"
    "  {\"rule_id\": \"DS002\", \"risk_name\": \"root user\", \"risk_level\": \"high\","
    "   \"build_instruction\": \"USER root\"}],"
    " \"unknown_records\": [1, 2]}";

static void test_full_document(void **state)
{
    (void)state;
    imgsec_doc doc;
    imgsec_err err;
    json_t *root = load(FULL_DOC);

    assert_int_equal(doc_from_json(root, NULL, &doc, &err), IMGSEC_OK);
    json_decref(root); /* the document holds its own reference */
    const image_summary *s = &doc.summary;

    assert_int_equal(s->id, 0);
    assert_null(s->project_id);
    assert_null(s->ep);
    assert_int_equal(s->type, IMAGE_TYPE_PRIVATE);
    assert_int_equal(s->status, SCAN_STATUS_SUCCESS);
    assert_string_equal(s->namespace_, "shop");
    assert_string_equal(s->image_name, "web");
    assert_string_equal(s->image_version, "1.4.2");
    assert_string_equal(s->image_id, "sha256:1f2e");
    assert_string_equal(doc.summary.image_digest, "sha256:dd");
    assert_string_equal(s->instance_id, "");
    assert_string_equal(s->instance_name, "");
    assert_string_equal(s->cicd_name, "");
    assert_int_equal(s->image_size, 73400320);
    assert_int_equal(s->latest_update_time, 1764000000000LL);
    assert_int_equal(s->latest_scan_time, 1764003600000LL);
    assert_int_equal(s->container_num, 3);

    static const int64_t want_counts[REPORT_TYPE_COUNT] = {4, 1, 1, 2, 1, 1, 0, 5};
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        assert_int_equal(s->counts[t], want_counts[t]);
        assert_int_equal(doc.records[t].n, (size_t)want_counts[t]);
        assert_true(doc.records[t].n == 0 || doc.records[t].vals != NULL);
    }
    /* a null record array is an empty one */
    assert_int_equal(doc.records[REPORT_NON_COMPLIANT_APP].n, 0);
    assert_int_equal(s->vul_counts[VUL_TYPE_LINUX], 3);
    assert_int_equal(s->vul_counts[VUL_TYPE_APP], 1);

    /* critical sensitive-info dominates */
    assert_int_equal(s->severity_level, SEVERITY_LEVEL_HIGH);

    /* vul aggregates: sorted by vul_id then type, duplicates merged */
    assert_ptr_equal(s->vuls, doc.vuls);
    assert_int_equal(s->n_vuls, 3);
    assert_string_equal(s->vuls[0].vul_id, "CVE-2023-0001");
    assert_int_equal(s->vuls[0].type, VUL_TYPE_LINUX);
    assert_int_equal(s->vuls[0].n, 1);
    assert_string_equal(s->vuls[1].vul_id, "CVE-2024-6387");
    assert_int_equal(s->vuls[1].type, VUL_TYPE_LINUX);
    assert_int_equal(s->vuls[1].n, 2);
    assert_string_equal(s->vuls[2].vul_id, "CVE-2024-6387");
    assert_int_equal(s->vuls[2].type, VUL_TYPE_APP);
    assert_int_equal(s->vuls[2].n, 1);

    /* build aggregates: one per (rule_id, risk_name, level) */
    assert_ptr_equal(s->builds, doc.builds);
    assert_int_equal(s->n_builds, 4);
    assert_string_equal(s->builds[0].rule_id, "DS001");
    assert_string_equal(s->builds[0].risk_name, "curl pipe");
    assert_int_equal(s->builds[0].level, SEVERITY_LOW);
    assert_int_equal(s->builds[0].n, 1);
    assert_string_equal(s->builds[1].rule_id, "DS002");
    assert_string_equal(s->builds[1].risk_name, "image runs as root");
    assert_int_equal(s->builds[1].level, SEVERITY_MEDIUM);
    assert_int_equal(s->builds[1].n, 1);
    assert_string_equal(s->builds[2].rule_id, "DS002");
    assert_string_equal(s->builds[2].risk_name, "image runs as root");
    assert_int_equal(s->builds[2].level, SEVERITY_HIGH);
    assert_int_equal(s->builds[2].n, 2);
    assert_string_equal(s->builds[3].rule_id, "DS002");
    assert_string_equal(s->builds[3].risk_name, "root user");
    assert_int_equal(s->builds[3].level, SEVERITY_HIGH);
    assert_int_equal(s->builds[3].n, 1);

    /* severities stored lower-case */
    const report_type V = REPORT_VULNERABILITY;
    assert_string_equal(rec_val(&doc, V, 0, "severity")->u.s, "high");
    assert_int_equal(rec_val(&doc, V, 0, "severity")->len, 4);
    assert_string_equal(rec_val(&doc, V, 2, "severity")->u.s, "low");
    assert_string_equal(rec_val(&doc, REPORT_RISK_CONFIG, 0, "severity")->u.s, "medium");
    assert_string_equal(rec_val(&doc, REPORT_SENSITIVE_INFO, 0, "severity")->u.s, "critical");
    assert_string_equal(rec_val(&doc, REPORT_BUILD_COMMAND_RISKS, 1, "risk_level")->u.s, "low");
    assert_string_equal(rec_val(&doc, REPORT_BUILD_COMMAND_RISKS, 2, "risk_level")->u.s, "high");
    /* other fields as given; numbers are stored as REAL */
    assert_int_equal(rec_val(&doc, V, 0, "cvss_score")->kind, DOC_V_REAL);

    doc_free(&doc);
    assert_null(doc.arena);
}

static void test_minimal_document(void **state)
{
    (void)state;
    imgsec_doc doc;
    imgsec_err err;
    json_t *root = load("{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"a\","
                        " \"namespace\": null, \"image_size\": null, \"scan_status\": null}}");
    assert_int_equal(doc_from_json(root, NULL, &doc, &err), IMGSEC_OK);
    json_decref(root);
    assert_int_equal(doc.summary.type, IMAGE_TYPE_LOCAL);
    assert_int_equal(doc.summary.status, SCAN_STATUS_UNSCAN); /* absent/null: unscan */
    assert_string_equal(doc.summary.namespace_, "");
    assert_string_equal(doc.summary.image_version, "");
    assert_string_equal(doc.summary.image_digest, "");
    assert_int_equal(doc.summary.image_size, 0);
    assert_int_equal(doc.summary.severity_level, SEVERITY_LEVEL_NONE);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        assert_int_equal(doc.records[t].n, 0);
        assert_int_equal(doc.summary.counts[t], 0);
    }
    assert_null(doc.summary.vuls);
    assert_int_equal(doc.summary.n_vuls, 0);
    assert_null(doc.summary.builds);
    assert_int_equal(doc.summary.n_builds, 0);
    doc_free(&doc);
}

static void test_severity_level(void **state)
{
    (void)state;
    const char *critical_vul =
        "\"vulnerabilities\": [{\"vul_id\": \"C\", \"vul_type\": \"app_vul\", \"severity\": \"critical\"}]";

    assert_int_equal(level_of("failed", critical_vul), SEVERITY_LEVEL_NONE);
    assert_int_equal(level_of("unscan", critical_vul), SEVERITY_LEVEL_NONE);
    assert_int_equal(level_of("scanning", ""), SEVERITY_LEVEL_NONE);
    assert_int_equal(level_of("success", ""), SEVERITY_LEVEL_SECURITY);
    /* apps, files and non-compliant apps carry no severity */
    assert_int_equal(level_of("success", "\"apps\": [{\"app_name\": \"a\"}], \"files\": [{\"file_path\": \"/f\"}],"
                                         " \"non_compliant_apps\": [{\"app_name\": \"b\"}]"),
                     SEVERITY_LEVEL_SECURITY);
    assert_int_equal(level_of("success", "\"malwares\": [{\"file_path\": \"/x\"}]"), SEVERITY_LEVEL_HIGH);
    assert_int_equal(level_of("success",
                              "\"malwares\": [{\"file_path\": \"/x\"}],"
                              " \"risk_configs\": [{\"check_name\": \"c\", \"check_rule_id\": \"r\", \"severity\": \"low\"}]"),
                     SEVERITY_LEVEL_HIGH);
    assert_int_equal(level_of("success",
                              "\"vulnerabilities\": [{\"vul_id\": \"C\", \"vul_type\": \"app_vul\", \"severity\": \"low\"}],"
                              " \"sensitive_info\": [{\"rule_id\": \"s\", \"severity\": \"unknown\", \"file_path\": \"/f\"}]"),
                     SEVERITY_LEVEL_LOW);
    assert_int_equal(level_of("success",
                              "\"sensitive_info\": [{\"rule_id\": \"s\", \"severity\": \"Unknown\", \"file_path\": \"/f\"}]"),
                     SEVERITY_LEVEL_LOW);
    assert_int_equal(level_of("success", critical_vul), SEVERITY_LEVEL_HIGH);
    assert_int_equal(level_of("success",
                              "\"risk_configs\": [{\"check_name\": \"c\", \"check_rule_id\": \"r\", \"severity\": \"CRITICAL\"}]"),
                     SEVERITY_LEVEL_HIGH);
    assert_int_equal(level_of("success",
                              "\"build_command_risks\": [{\"rule_id\": \"r\", \"risk_name\": \"n\", \"risk_level\": \"medium\","
                              " \"build_instruction\": \"RUN x\"}, {\"rule_id\": \"r\", \"risk_name\": \"n\","
                              " \"risk_level\": \"low\", \"build_instruction\": \"RUN y\"}]"),
                     SEVERITY_LEVEL_MEDIUM);
}

/* ---- image rules ---- */

static void test_image_rules(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"[]", "invalid parameter: document must be a JSON object"},
        {"{}", "invalid parameter: image is required"},
        {"{\"image\": null}", "image is required"},
        {"{\"image\": [1]}", "invalid parameter: image must be an object"},
        {"{\"image\": {\"image_name\": \"web\"}}", "invalid parameter: image.image_type is required"},
        {"{\"image\": {\"image_type\": \"Private_image\", \"image_name\": \"web\"}}",
         "invalid parameter: image.image_type must be one of private_image, shared_image, "
         "local_image, instance_image, harbor, jfrog, cicd"},
        {"{\"image\": {\"image_type\": 1, \"image_name\": \"web\"}}", "image.image_type must be one of"},
        {"{\"image\": {\"image_type\": \"cicd\"}}", "invalid parameter: image.image_name is required"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": null}}", "image.image_name is required"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\"}}",
         "invalid parameter: image.image_name must be a string of 1-256 characters"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": 7}}", "image.image_name must be a string"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"namespace\": 1}}",
         "image.namespace must be a string of 0-256 characters"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"scan_status\": \"SUCCESS\"}}",
         "invalid parameter: image.scan_status must be one of unscan, success, scanning, failed, "
         "download_failed, image_oversized, waiting_for_scan"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"image_size\": -1}}",
         "invalid parameter: image.image_size must be an integer >= 0"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"image_size\": 1.0}}",
         "image.image_size must be an integer >= 0"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"image_size\": \"5\"}}",
         "image.image_size must be an integer >= 0"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"latest_update_time\": -5}}",
         "image.latest_update_time must be an integer >= 0"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"latest_scan_time\": true}}",
         "image.latest_scan_time must be an integer >= 0"},
        {"{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"container_num\": -1}}",
         "image.container_num must be an integer >= 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i].text, bad[i].needle);

    /* Length limits at the boundary, in characters (UTF-8 code points). */
    static const struct {
        const char *key;
        size_t max;
    } lens[] = {{"namespace", 256}, {"image_name", 256}, {"image_version", 128}, {"image_id", 128},
                {"image_digest", 128}, {"instance_id", 128}, {"instance_name", 128},
                {"cicd_name", 128}};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char needle[96];
        snprintf(needle, sizeof needle, "invalid parameter: image.%s must be a string of", lens[i].key);
        expect_root_ok(doc_with_image_string(lens[i].key, "a", lens[i].max));
        expect_root_invalid(doc_with_image_string(lens[i].key, "a", lens[i].max + 1), NULL, needle);
        expect_root_ok(doc_with_image_string(lens[i].key, "\xc3\xa9", lens[i].max));
        expect_root_invalid(doc_with_image_string(lens[i].key, "\xc3\xa9", lens[i].max + 1), NULL,
                            needle);
    }

    /* id and derived keys are the server's: ignored whatever their type; so are unknown keys. */
    expect_ok("{\"image\": {\"id\": -5, \"image_type\": \"cicd\", \"image_name\": \"w\","
              " \"has_vul\": \"yes\", \"severity_level\": 3, \"risky\": 1, \"foo\": [1]}, \"bar\": 1}");
    expect_ok("{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"w\", \"image_size\": 0,"
              " \"latest_update_time\": 9223372036854775807, \"namespace\": \"\", \"scan_status\": \"image_oversized\"}}");

    /* A NUL character (only possible in documents built in code). */
    json_t *root = make_doc("", "");
    json_object_set_new(json_object_get(root, "image"), "image_version", json_stringn("1\0002", 3));
    expect_root_invalid(root, NULL, "image.image_version must be a string");

    /* The prefix names the document inside a bulk body. */
    expect_root_invalid(load("{\"image\": {\"image_type\": \"cicd\"}}"), "documents[4].",
                        "invalid parameter: documents[4].image.image_name is required");
    expect_root_invalid(json_integer(7), "documents[2].", "invalid parameter: documents[2] must be a JSON object");
}

/* ---- record rules ---- */

static void test_record_rules(void **state)
{
    (void)state;
    static const struct {
        const char *records, *needle;
    } bad[] = {
        {"\"vulnerabilities\": {}", "invalid parameter: vulnerabilities must be an array of objects"},
        {"\"apps\": \"bash\"", "invalid parameter: apps must be an array"},
        {"\"malwares\": [{\"file_path\": \"/x\"}, 5]", "invalid parameter: malwares[1] must be an object"},
        {"\"vulnerabilities\": ["
         "{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"low\"},"
         "{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"low\"},"
         "{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"low\"},"
         "{\"vul_id\": \"a\", \"vul_type\": \"os_vul\", \"severity\": \"low\"}]",
         "invalid parameter: vulnerabilities[3].vul_type must be one of linux_vul, app_vul"},
        {"\"vulnerabilities\": [{\"vul_type\": \"app_vul\", \"severity\": \"low\"}]",
         "invalid parameter: vulnerabilities[0].vul_id is required"},
        {"\"vulnerabilities\": [{\"vul_id\": null, \"vul_type\": \"app_vul\", \"severity\": \"low\"}]",
         "vulnerabilities[0].vul_id is required"},
        {"\"vulnerabilities\": [{\"vul_id\": \"\", \"vul_type\": \"app_vul\", \"severity\": \"low\"}]",
         "vulnerabilities[0].vul_id must not be empty"},
        {"\"vulnerabilities\": [{\"vul_id\": 12, \"vul_type\": \"app_vul\", \"severity\": \"low\"}]",
         "vulnerabilities[0].vul_id must be a string"},
        {"\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\"}]",
         "vulnerabilities[0].severity is required"},
        {"\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"severe\"}]",
         "invalid parameter: vulnerabilities[0].severity must be one of critical, high, medium, low, unknown"},
        {"\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": 3}]",
         "vulnerabilities[0].severity must be one of"},
        {"\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"low\","
         " \"cvss_score\": \"9.8\"}]",
         "invalid parameter: vulnerabilities[0].cvss_score must be a number"},
        {"\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\", \"severity\": \"low\","
         " \"url\": [\"x\"]}]",
         "vulnerabilities[0].url must be a string"},
        {"\"risk_configs\": [{\"check_name\": \"c\", \"check_rule_id\": \"r\", \"severity\": \"low\","
         " \"standard\": \"xx_standard\"}]",
         "invalid parameter: risk_configs[0].standard must be one of cn_standard, hw_standard"},
        {"\"risk_configs\": [{\"check_name\": \"c\", \"severity\": \"low\"}]",
         "risk_configs[0].check_rule_id is required"},
        {"\"malwares\": [{\"file_path\": \"/x\", \"size\": -1}]",
         "invalid parameter: malwares[0].size must be an integer >= 0"},
        {"\"malwares\": [{\"file_path\": \"/x\", \"size\": 1.5}]", "malwares[0].size must be an integer >= 0"},
        {"\"malwares\": [{\"size\": 1}]", "malwares[0].file_path is required"},
        {"\"apps\": [{\"app_version\": \"1\"}]", "invalid parameter: apps[0].app_name is required"},
        {"\"files\": [{\"file_path\": \"/f\", \"mode\": \"0855\"}]",
         "invalid parameter: files[0].mode must be a string of 1-7 octal digits"},
        {"\"files\": [{\"file_path\": \"/f\", \"mode\": \"12345670\"}]", "files[0].mode must be"},
        {"\"files\": [{\"file_path\": \"/f\", \"mode\": \"\"}]", "files[0].mode must be"},
        {"\"files\": [{\"file_path\": \"/f\", \"mode\": 755}]", "files[0].mode must be"},
        {"\"sensitive_info\": [{\"rule_id\": \"s\", \"severity\": \"low\"}]",
         "invalid parameter: sensitive_info[0].file_path is required"},
        {"\"non_compliant_apps\": [{\"app_name\": \"a\", \"reason\": 1}]",
         "non_compliant_apps[0].reason must be a string"},
        {"\"build_command_risks\": [{\"rule_id\": \"r\", \"risk_name\": \"n\", \"risk_level\": \"high\"}]",
         "invalid parameter: build_command_risks[0].build_instruction is required"},
        {"\"build_command_risks\": [{\"rule_id\": \"r\", \"risk_name\": \"n\", \"risk_level\": \"urgent\","
         " \"build_instruction\": \"x\"}]",
         "build_command_risks[0].risk_level must be one of critical, high, medium, low, unknown"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_root_invalid(make_doc("", bad[i].records), NULL, bad[i].needle);

    /* Valid edge values. */
    expect_root_ok(make_doc("", "\"files\": [{\"file_path\": \"/f\", \"mode\": \"0755\"},"
                                " {\"file_path\": \"/g\", \"mode\": \"1234567\"}, {\"file_path\": \"/h\", \"mode\": \"0\"}],"
                                " \"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\","
                                " \"severity\": \"unknown\", \"cvss_score\": 9, \"app_name\": \"\"}],"
                                " \"risk_configs\": [{\"check_name\": \"c\", \"check_rule_id\": \"r\","
                                " \"severity\": \"low\", \"standard\": \"cn_standard\", \"extra\": {}}]"));

    /* Record strings: 65,535 bytes accepted, 65,536 refused. */
    char *big = unit_repeat("x", MODEL_RECORD_STRING_MAX);
    json_t *root = make_doc("", "\"apps\": [{\"app_name\": \"a\"}]");
    json_object_set_new(json_array_get(json_object_get(root, "apps"), 0), "license", json_string(big));
    expect_root_ok(root);
    root = make_doc("", "\"apps\": [{\"app_name\": \"a\"}, {\"app_name\": \"b\"}]");
    json_object_set_new(json_array_get(json_object_get(root, "apps"), 1), "license",
                        json_string(big));
    json_object_set_new(json_array_get(json_object_get(root, "apps"), 1), "app_path",
                        json_sprintf("%sy", big));
    expect_root_invalid(root, NULL, "invalid parameter: apps[1].app_path must be a string of at most 65535 bytes");
    free(big);

    /* At most DOC_RECORDS_MAX records of one kind (the count is checked first). */
    root = make_doc("", "");
    json_t *arr = json_array();
    for (size_t i = 0; i < (size_t)DOC_RECORDS_MAX + 1; i++)
        json_array_append(arr, json_null());
    json_object_set_new(root, "apps", arr);
    expect_root_invalid(root, NULL, "invalid parameter: apps must hold at most 1000000 records");

    /* Full path with the bulk prefix. */
    expect_root_invalid(make_doc("", "\"vulnerabilities\": [{\"vul_id\": \"a\", \"vul_type\": \"app_vul\","
                                     " \"severity\": \"low\"}, {\"vul_id\": \"a\", \"vul_type\": \"x\", \"severity\": \"low\"}]"),
                        "documents[4].",
                        "invalid parameter: documents[4].vulnerabilities[1].vul_type must be one of");
}

/* ---- bodies ---- */

/* A literal and its length, embedded NULs included. */
#define SZ(lit) lit, sizeof(lit) - 1
#define LINE_DOC(name) "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"" name "\"}}"

static int parse(const char *body, bool ndjson, doc_list *list, imgsec_err *err)
{
    err_clear(err);
    return doc_list_parse(body, strlen(body), ndjson, list, err);
}

static void expect_parse_error(const char *body, size_t len, bool ndjson, imgsec_code code,
                               const char *needle)
{
    doc_list list = {0};
    imgsec_err err;
    err_clear(&err);
    int rc = doc_list_parse(body, len, ndjson, &list, &err);
    if (rc != (int)code || !strstr(err.msg, needle))
        fail_msg("body %.100s: want %s with \"%s\", got %s \"%s\"", body, err_code_name(code),
                 needle, err_code_name(rc), err.msg);
    assert_int_equal(list.n, 0);
    assert_null(list.items);
}

static void test_body_object_and_array(void **state)
{
    (void)state;
    doc_list list;
    imgsec_err err;

    assert_int_equal(parse(LINE_DOC("a"), false, &list, &err), IMGSEC_OK);
    assert_int_equal(list.n, 1);
    assert_string_equal(list.items[0].summary.image_name, "a");
    doc_list_free(&list);
    assert_int_equal(list.n, 0);

    assert_int_equal(parse("[" LINE_DOC("a") ", " LINE_DOC("b") ",\n" LINE_DOC("c") "]", false,
                           &list, &err),
                     IMGSEC_OK);
    assert_int_equal(list.n, 3);
    assert_string_equal(list.items[0].summary.image_name, "a");
    assert_string_equal(list.items[2].summary.image_name, "c");
    doc_list_free(&list);

    /* A single object: paths carry no document index. */
    expect_parse_error(SZ("{\"image\": {\"image_type\": \"cicd\"}}"), false, IMGSEC_EINVAL,
                       "invalid parameter: image.image_name is required");
    expect_parse_error(SZ("[" LINE_DOC("a") ", {\"image\": {\"image_type\": \"cicd\"}}]"), false,
                       IMGSEC_EINVAL, "invalid parameter: documents[1].image.image_name is required");
    const char *not_obj = "[" LINE_DOC("a") ", 5]";
    expect_parse_error(not_obj, strlen(not_obj), false, IMGSEC_EPARSE, "documents[1]");
    expect_parse_error(SZ("[]"), false, IMGSEC_EINVAL, "no documents");

    /* Not JSON: jansson's position in the message. */
    expect_parse_error(SZ("{\"image\": "), false, IMGSEC_EPARSE, "invalid JSON body: line 1 column");
    expect_parse_error(SZ("{\n\"image\": x}"), false, IMGSEC_EPARSE, "invalid JSON body: line 2 column");
    expect_parse_error(SZ(""), false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(NULL, 0, false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(SZ("\"doc\""), false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(SZ(LINE_DOC("a") LINE_DOC("b")), false,
                       IMGSEC_EPARSE, "invalid JSON body");
    /* NUL bytes and bad UTF-8 fail cleanly. */
    expect_parse_error(SZ("{\"image\": \0 }"), false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(SZ("{\"image\": \"a\0b\"}"), false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(SZ("{\"image\": \"\xff\"}"), false, IMGSEC_EPARSE, "invalid JSON body");
    expect_parse_error(SZ("{\"a\": \"\\u0000\"}"), false, IMGSEC_EPARSE, "invalid JSON body");
}

static void test_body_ndjson(void **state)
{
    (void)state;
    doc_list list;
    imgsec_err err;

    /* Blank lines are skipped; the index counts documents, not lines. */
    const char *body = "\n" LINE_DOC("a") "\n\n  \t\n" LINE_DOC("b") "\n" LINE_DOC("c");
    assert_int_equal(parse(body, true, &list, &err), IMGSEC_OK);
    assert_int_equal(list.n, 3);
    assert_string_equal(list.items[1].summary.image_name, "b");
    assert_string_equal(list.items[2].summary.image_name, "c");
    doc_list_free(&list);

    /* CRLF line ends, trailing newline. */
    body = LINE_DOC("a") "\r\n" LINE_DOC("b") "\r\n\r\n";
    assert_int_equal(parse(body, true, &list, &err), IMGSEC_OK);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.items[1].summary.image_name, "b");
    doc_list_free(&list);

    /* A bad line: its physical line number. */
    body = LINE_DOC("a") "\n" LINE_DOC("b") "\n{\"image\": \n" LINE_DOC("d") "\n";
    expect_parse_error(body, strlen(body), true, IMGSEC_EPARSE, "invalid NDJSON body: line 3: ");
    body = LINE_DOC("a") "\n\n\n[1]\n";
    expect_parse_error(body, strlen(body), true, IMGSEC_EPARSE, "line 4: not a JSON object");
    body = LINE_DOC("a") "\n" LINE_DOC("b") " " LINE_DOC("c") "\n";
    expect_parse_error(body, strlen(body), true, IMGSEC_EPARSE, "line 2: ");
    /* A rule violation: the document's index among documents. */
    body = LINE_DOC("a") "\n\n" LINE_DOC("b") "\n{\"image\": {\"image_type\": \"cicd\", \"image_name\": 5}}\n";
    expect_parse_error(body, strlen(body), true, IMGSEC_EINVAL,
                       "invalid parameter: documents[2].image.image_name must be a string");
    /* NUL bytes and bad UTF-8 on a line. */
    expect_parse_error(SZ(LINE_DOC("a") "\n{\0}\n"), true, IMGSEC_EPARSE,
                       "line 2: ");
    expect_parse_error(SZ("{\"image\": \"\xc3\x28\"}\n"), true, IMGSEC_EPARSE, "line 1: ");

    /* No documents. */
    expect_parse_error(SZ(""), true, IMGSEC_EINVAL, "invalid parameter: the body holds no documents");
    expect_parse_error(NULL, 0, true, IMGSEC_EINVAL, "no documents");
    expect_parse_error(SZ("\n \r\n\n"), true, IMGSEC_EINVAL, "no documents");
}

/* doc_list_from_json on the parsed body answers exactly as doc_list_parse
 * on its text (import_buffer relies on it after detecting the format),
 * and leaves root to the caller. */
static void expect_same_from_json(const char *body)
{
    doc_list a, b;
    imgsec_err ea, eb;
    err_clear(&ea);
    err_clear(&eb);
    int ra = doc_list_parse(body, strlen(body), false, &a, &ea);
    json_t *root = load(body);
    int rb = doc_list_from_json(root, &b, &eb);
    if (ra != rb || strcmp(ea.msg, eb.msg) != 0)
        fail_msg("body %.100s: doc_list_parse gave %s \"%s\", doc_list_from_json %s \"%s\"", body,
                 err_code_name(ra), ea.msg, err_code_name(rb), eb.msg);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_string_equal(a.items[i].summary.image_name, b.items[i].summary.image_name);
    if (rb != IMGSEC_OK)
        assert_null(b.items);
    doc_list_free(&a);
    doc_list_free(&b);
    assert_int_equal(root->refcount, 1); /* the documents' references are gone; ours stays */
    json_decref(root);
}

static void test_body_from_json(void **state)
{
    (void)state;
    expect_same_from_json(LINE_DOC("a"));
    expect_same_from_json("[" LINE_DOC("a") ", " LINE_DOC("b") ",\n" LINE_DOC("c") "]");
    expect_same_from_json("{\"image\": {\"image_type\": \"cicd\"}}");
    expect_same_from_json("[" LINE_DOC("a") ", {\"image\": {\"image_type\": \"cicd\"}}]");
    expect_same_from_json("[" LINE_DOC("a") ", 5]");
    expect_same_from_json("[]");

    /* A caller's json_t may be what the parser never gives: refused, not crashed. */
    doc_list list;
    imgsec_err err;
    json_t *s = json_string("doc");
    assert_int_equal(doc_list_from_json(s, &list, &err), IMGSEC_EPARSE);
    assert_non_null(strstr(err.msg, "invalid JSON body"));
    assert_null(list.items);
    json_decref(s);
}

static void test_body_document_cap(void **state)
{
    (void)state;
    /* An array one over the cap is refused before any document is checked. */
    size_t n = (size_t)DOC_BULK_MAX + 1;
    char *body = malloc(n * 3 + 2);
    assert_non_null(body);
    size_t len = 0;
    body[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(body + len, i ? ",{}" : "{}", i ? 3 : 2);
        len += i ? 3 : 2;
    }
    body[len++] = ']';
    expect_parse_error(body, len, false, IMGSEC_EINVAL, "at most 100000 documents");
    free(body);

    /* NDJSON: DOC_BULK_MAX documents pass, one more is refused. */
    static const char line[] = LINE_DOC("a") "\n";
    size_t ll = sizeof line - 1;
    body = malloc(ll * n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        memcpy(body + i * ll, line, ll);
    doc_list list;
    imgsec_err err;
    assert_int_equal(doc_list_parse(body, ll * (n - 1), true, &list, &err), IMGSEC_OK);
    assert_int_equal(list.n, DOC_BULK_MAX);
    doc_list_free(&list);
    expect_parse_error(body, ll * n, true, IMGSEC_EINVAL, "at most 100000 documents");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_document),
        cmocka_unit_test(test_minimal_document),
        cmocka_unit_test(test_severity_level),
        cmocka_unit_test(test_image_rules),
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test(test_body_object_and_array),
        cmocka_unit_test(test_body_ndjson),
        cmocka_unit_test(test_body_from_json),
        cmocka_unit_test(test_body_document_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
