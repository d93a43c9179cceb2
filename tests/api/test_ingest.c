/* test_ingest.c - POST/DELETE /v5/{project_id}/image/scan-results and
 * `imgsec import` (data-model.md "Ingest document"), checked through the
 * statistic route: ids and their order, replacement by identity, whole
 * rejection of bad documents and bad bulks, roles, deletion, the CLI
 * writing under a running server, atomic replacement under concurrent
 * reads, and state kept across a restart.
 *
 * Each test works in its own enterprise project of P1, so their totals
 * never mix.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static srv_t S;
static char *T_ADM; /* admin, P1, all EPs */
static char *T_W;   /* writer, P1, EPs 0 and ep-w */
static char *T_R;   /* reader, P1, all EPs */
static char *T_P2;  /* admin, P2 */

static const char *const TYPES[8] = {"vulnerability", "risk-config", "malwares", "apps",
                                     "files", "sensitive-info", "non-compliant-app",
                                     "build-command-risks"};

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    T_W = user_token(&S, "acme", "wendy", "wendy-pw-2", "P1", "writer", "0,ep-w");
    T_R = user_token(&S, "acme", "rex", "rex-pw-3", "P1", "reader", "all");
    T_P2 = user_token(&S, "acme", "pat", "pat-pw-4", "P2", "admin", "all");
    return (T_ADM && T_W && T_R && T_P2) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    free(T_W);
    free(T_R);
    free(T_P2);
    T_ADM = T_W = T_R = T_P2 = NULL;
    return srv_stop(&S, true);
}

/* ---- helpers ---- */

/* total_num of type over EP ep of P1 (admin, operate_all), -1 on error. */
static long long count(const char *type, const char *ep, const char *extra)
{
    return api_count(&S, T_ADM, "P1", type, ep, extra);
}

/* All eight totals of an EP. */
static void totals(const char *ep, long long out[8])
{
    for (int t = 0; t < 8; t++)
        out[t] = count(TYPES[t], ep, NULL);
}

static void assert_totals_at(const char *ep, const long long want[8], const char *what,
                             const char *file, int line)
{
    long long got[8];
    totals(ep, got);
    for (int t = 0; t < 8; t++)
        if (got[t] != want[t]) {
            print_error("%s:%d: [%s] EP %s, %s: want %lld, got %lld\n", file, line, what, ep,
                        TYPES[t], want[t], got[t]);
            _fail(file, line);
        }
}
#define assert_totals(ep, want, what) assert_totals_at((ep), (want), (what), __FILE__, __LINE__)

#define assert_count(type, ep, extra, want)                                                      \
    do {                                                                                       \
        long long got_ = count((type), (ep), (extra));                                         \
        if (got_ != (want)) {                                                                  \
            print_error("%s ep=%s %s: want %lld, got %lld\n", (type), (ep),                    \
                        (extra) ? (const char *)(extra) : "", (long long)(want), got_);        \
            fail();                                                                            \
        }                                                                                      \
    } while (0)

/* A document: name, version and counts of vulnerabilities, apps, malwares. */
static char *doc(const char *name, const char *version, int vuls, int apps, int malwares,
                 const char *image_extra)
{
    size_t cap = 4096;
    char *s = malloc(cap);
    if (!s)
        abort();
    int n = snprintf(s, cap,
                     "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\","
                     "\"image_name\":\"%s\",\"image_version\":\"%s\",\"scan_status\":\"success\""
                     "%s%s},\"vulnerabilities\":[",
                     name, version, image_extra ? "," : "", image_extra ? image_extra : "");
    for (int i = 0; i < vuls; i++)
        n += snprintf(s + n, cap - (size_t)n,
                      "%s{\"vul_id\":\"CVE-2024-%d\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}",
                      i ? "," : "", i);
    n += snprintf(s + n, cap - (size_t)n, "],\"apps\":[");
    for (int i = 0; i < apps; i++)
        n += snprintf(s + n, cap - (size_t)n, "%s{\"app_name\":\"pkg%d\"}", i ? "," : "", i);
    n += snprintf(s + n, cap - (size_t)n, "],\"malwares\":[");
    for (int i = 0; i < malwares; i++)
        n += snprintf(s + n, cap - (size_t)n, "%s{\"file_path\":\"/bin/m%d\"}", i ? "," : "", i);
    snprintf(s + n, cap - (size_t)n, "]}");
    return s;
}

/* Ingests body; returns the number of ids put into ids (or -1, printed). */
static int ingest(const char *token, const char *project, const char *ep, const char *body,
                  bool ndjson, char (*ids)[32], size_t n)
{
    http_resp r;
    api_ingest(&S, token, project, ep, body, ndjson, &r);
    int got = r.status == 200 ? ingest_ids(&r, ids, n) : -1;
    if (got < 0)
        print_error("ingest into %s/%s: %ld %.1500s\n", project, ep ? ep : "(default)", r.status,
                    r.body);
    http_resp_free(&r);
    return got;
}

/* True if r is 400 with error_code code and an error_msg naming part
 * (any error_msg when part is NULL). */
static bool is_400(const http_resp *r, const char *code, const char *part)
{
    const char *got = json_string_value(json_object_get(r->json, "error_code"));
    const char *msg = json_string_value(json_object_get(r->json, "error_msg"));
    return r->status == 400 && got && msg && strcmp(got, code) == 0 && (!part || strstr(msg, part));
}

static bool is_decimal_id(const char *s)
{
    if (!s || !*s || strlen(s) > 19)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* ---- tests ---- */

/* data-model.md's own example document, verbatim. */
static void test_single_document(void **state)
{
    (void)state;
    static const char example[] =
        "{\n"
        "  \"image\": {\n"
        "    \"image_type\": \"private_image\", \"namespace\": \"shop\", \"image_name\": \"web\",\n"
        "    \"image_version\": \"1.4.2\", \"image_id\": \"sha256:1f2e...\", \"image_size\": 73400320,\n"
        "    \"latest_update_time\": 1764000000000, \"latest_scan_time\": 1764003600000,\n"
        "    \"scan_status\": \"success\", \"container_num\": 3\n"
        "  },\n"
        "  \"vulnerabilities\": [\n"
        "    {\"vul_id\": \"CVE-2024-6387\", \"vul_type\": \"linux_vul\", \"severity\": \"high\",\n"
        "     \"app_name\": \"openssh-server\", \"app_version\": \"1:9.2p1-2\", \"fixed_version\": \"1:9.2p1-2+deb12u3\"}\n"
        "  ],\n"
        "  \"apps\": [{\"app_name\": \"openssh-server\", \"app_version\": \"1:9.2p1-2\", \"app_type\": \"deb\"}],\n"
        "  \"build_command_risks\": [\n"
        "    {\"rule_id\": \"DS002\", \"risk_name\": \"image runs as root\", \"risk_level\": \"high\",\n"
        "     \"build_instruction\": \"USER root\"}\n"
        "  ]\n"
        "}\n";
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "s1", example, false, &r);
    assert_status(&r, 200);
    json_t *images = json_object_get(r.json, "images");
    assert_true(json_is_array(images));
    assert_int_equal(json_array_size(images), 1);
    json_t *e = json_array_get(images, 0);
    const char *idv = json_string_value(json_object_get(e, "id"));
    if (!is_decimal_id(idv)) {
        print_error("id should be a decimal int64 string: %s\n", r.body);
        fail();
    }
    char id[32];
    snprintf(id, sizeof id, "%s", idv);
    assert_string_equal(json_string_value(json_object_get(e, "image_name")), "web");
    assert_string_equal(json_string_value(json_object_get(e, "image_version")), "1.4.2");
    assert_true(json_is_integer(json_object_get(e, "records")));
    assert_int_equal(json_integer_value(json_object_get(e, "records")), 3);
    http_resp_free(&r);

    long long want[8] = {1, 0, 0, 1, 0, 0, 0, 1};
    assert_totals("s1", want, "after the example");
    /* unknown keys in records are ignored; cvss_score takes any number */
    static const char lenient[] =
        "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"lenient\",\"scan_status\":\"unscan\"},"
        "\"vulnerabilities\":[{\"vul_id\":\"C1\",\"vul_type\":\"app_vul\",\"severity\":\"UNKNOWN\","
        "\"cvss_score\":9,\"x_vendor\":{\"a\":[1]}},{\"vul_id\":\"C2\",\"vul_type\":\"linux_vul\","
        "\"severity\":\"Medium\",\"cvss_score\":0.5}],\"files\":[{\"file_path\":\"/etc/x\","
        "\"mode\":\"644\",\"extra\":null}]}";
    api_ingest(&S, T_ADM, "P1", "s1-lenient", lenient, false, &r);
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "images"), 0), "records")),
                     3);
    http_resp_free(&r);
    assert_count("vulnerability", "s1-lenient", NULL, 2);
    assert_count("files", "s1-lenient", NULL, 1);

    /* its attributes are filterable as ingested */
    assert_count("vulnerability", "s1", "\"image_size\":73400320", 1);
    assert_count("vulnerability", "s1", "\"image_size\":73400319", 0);
    assert_count("vulnerability", "s1", "\"has_container\":true", 1);
    assert_count("vulnerability", "s1", "\"severity_level\":\"High\"", 1);
    assert_count("apps", "s1", "\"image_id_list\":[\"sha256:1f2e...\"],\"operate_all\":false", 1);
    char *by_id = h_strdupf("\"operate_all\":false,\"image_id_list\":[\"%s\"]", id);
    assert_count("build-command-risks", "s1", by_id, 1);
    free(by_id);
}

static void test_ndjson_bulk_order(void **state)
{
    (void)state;
    static const char *names[] = {"zeta", "alpha", "mid", "alpha"};
    static const char *versions[] = {"1", "2", "1", "1"};
    static const int vuls[] = {2, 0, 1, 3}, apps[] = {1, 4, 0, 2}, mal[] = {0, 1, 0, 0};
    char *body = strdup("");
    for (int i = 0; i < 4; i++) {
        char *d = doc(names[i], versions[i], vuls[i], apps[i], mal[i], NULL);
        char *nb = h_strdupf("%s%s\n", body, d);
        free(body);
        free(d);
        body = nb;
    }
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "s2", body, true, &r);
    assert_status(&r, 200);
    json_t *images = json_object_get(r.json, "images");
    assert_int_equal(json_array_size(images), 4);
    char ids[4][32];
    for (int i = 0; i < 4; i++) {
        json_t *e = json_array_get(images, (size_t)i);
        const char *id = json_string_value(json_object_get(e, "id"));
        assert_true(is_decimal_id(id));
        snprintf(ids[i], sizeof ids[i], "%s", id);
        assert_string_equal(json_string_value(json_object_get(e, "image_name")), names[i]);
        assert_string_equal(json_string_value(json_object_get(e, "image_version")), versions[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "records")),
                         vuls[i] + apps[i] + mal[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    http_resp_free(&r);
    free(body);
    long long want[8] = {6, 0, 1, 7, 0, 0, 0, 0};
    assert_totals("s2", want, "after the bulk");

    /* Each id names the image of its line. */
    for (int i = 0; i < 4; i++) {
        char *extra = h_strdupf("\"operate_all\":false,\"image_id_list\":[\"%s\"]", ids[i]);
        assert_count("vulnerability", "s2", extra, vuls[i]);
        assert_count("apps", "s2", extra, apps[i]);
        free(extra);
    }

    /* The same identity sent as a single JSON document gets the same id. */
    char *d = doc("mid", "1", 1, 0, 0, NULL);
    char one[1][32];
    assert_int_equal(ingest(T_ADM, "P1", "s2", d, false, one, 1), 1);
    assert_string_equal(one[0], ids[2]);
    free(d);
    assert_totals("s2", want, "after re-sending an identical document");
}

static void test_reingest_replaces(void **state)
{
    (void)state;
    char id1[1][32], id2[1][32], id3[1][32];
    char *a = doc("shop-api", "3.1", 3, 2, 0,
                  "\"container_num\":0,\"image_size\":10,\"image_id\":\"sha256:old\"");
    assert_int_equal(ingest(T_ADM, "P1", "s3", a, false, id1, 1), 1);
    long long want1[8] = {3, 0, 0, 2, 0, 0, 0, 0};
    assert_totals("s3", want1, "first version");
    assert_count("apps", "s3", "\"has_container\":true", 0);
    assert_count("apps", "s3", "\"image_id\":\"sha256:old\"", 2);

    /* Same identity, new attributes and records: the id stays, everything is replaced. */
    char *b = h_strdupf(
        "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":"
        "\"shop-api\",\"image_version\":\"3.1\",\"scan_status\":\"failed\",\"container_num\":4,"
        "\"image_size\":20,\"image_id\":\"sha256:new\"},"
        "\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"app_vul\",\"severity\":\"Critical\"}],"
        "\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"},{\"app_name\":\"c\"},{\"app_name\":\"d\"},"
        "{\"app_name\":\"e\"}],\"malwares\":[{\"file_path\":\"/x\"},{\"file_path\":\"/y\"}]}");
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "s3", b, false, &r);
    assert_status(&r, 200);
    assert_int_equal(ingest_ids(&r, id2, 1), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "images"), 0), "records")),
                     8);
    http_resp_free(&r);
    assert_string_equal(id1[0], id2[0]);
    long long want2[8] = {1, 0, 2, 5, 0, 0, 0, 0};
    assert_totals("s3", want2, "second version");
    assert_count("apps", "s3", "\"has_container\":true", 5);
    assert_count("apps", "s3", "\"scan_status\":\"success\"", 0);
    assert_count("apps", "s3", "\"scan_status\":\"failed\"", 5);
    assert_count("apps", "s3", "\"image_id\":\"sha256:old\"", 0);
    assert_count("apps", "s3", "\"image_id\":\"sha256:new\"", 5);
    assert_count("apps", "s3", "\"image_size\":19", 0);
    assert_count("apps", "s3", "\"has_malicious_file\":true", 5);
    assert_count("vulnerability", "s3", "\"vul_type\":\"linux_vul\"", 0);
    assert_count("vulnerability", "s3", "\"vul_id_list\":[\"CVE-2024-0\"]", 0);
    assert_count("apps", "s3", "\"severity_level\":\"High\"", 0); /* failed scan: no level */

    /* cicd_name is part of the identity: a new image. */
    char *c = doc("shop-api", "3.1", 0, 1, 0, "\"cicd_name\":\"jenkins\"");
    assert_int_equal(ingest(T_ADM, "P1", "s3", c, false, id3, 1), 1);
    assert_string_not_equal(id3[0], id1[0]);
    assert_count("apps", "s3", NULL, 6);
    free(a);
    free(b);
    free(c);
}

static void test_invalid_documents(void **state)
{
    (void)state;
    char ids[1][32];
    char *base = doc("base", "1", 1, 2, 0, NULL);
    assert_int_equal(ingest(T_ADM, "P1", "s4", base, false, ids, 1), 1);
    free(base);
    long long want[8];
    totals("s4", want);
    assert_int_equal(want[3], 2);

    char *s257 = h_repeat('n', 257), *s129 = h_repeat('v', 129), *s65536 = h_repeat('d', 65536);
#define IMG "\"image\":{\"image_type\":\"private_image\",\"image_name\":\"bad\",\"scan_status\":\"success\"}"
#define APPS "\"apps\":[{\"app_name\":\"a1\"},{\"app_name\":\"a2\"},{\"app_name\":\"a3\"}]"
    struct {
        char *doc;
        const char *path;
    } rows[] = {
        {h_strdupf("{" APPS "}"), "image"},
        {h_strdupf("{\"image\":\"web\"," APPS "}"), "image"},
        {h_strdupf("{\"image\":{\"image_type\":\"bogus\",\"image_name\":\"x\",\"scan_status\":\"success\"}," APPS "}"), "image_type"},
        {h_strdupf("{\"image\":{\"image_name\":\"x\",\"scan_status\":\"success\"}," APPS "}"), "image_type"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"scan_status\":\"success\"}," APPS "}"), "image_name"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"\",\"scan_status\":\"success\"}," APPS "}"), "image_name"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"%s\",\"scan_status\":\"success\"}," APPS "}", s257), "image_name"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"namespace\":\"%s\",\"scan_status\":\"success\"}," APPS "}", s257), "namespace"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"image_version\":\"%s\",\"scan_status\":\"success\"}," APPS "}", s129), "image_version"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"ok\"}," APPS "}"), "scan_status"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"image_size\":-1}," APPS "}"), "image_size"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"image_size\":\"1\"}," APPS "}"), "image_size"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"latest_update_time\":\"x\"}," APPS "}"), "latest_update_time"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"latest_scan_time\":-5}," APPS "}"), "latest_scan_time"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"container_num\":-3}," APPS "}"), "container_num"},
        {h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"x\",\"scan_status\":\"success\",\"image_id\":\"%s\"}," APPS "}", s129), "image_id"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"os_vul\",\"severity\":\"high\"}]}"), "vulnerabilities[0].vul_type"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},{\"vul_id\":\"CVE-2\",\"vul_type\":\"app_vul\",\"severity\":\"severe\"}]}"), "vulnerabilities[1].severity"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[{\"vul_type\":\"linux_vul\",\"severity\":\"high\"}]}"), "vulnerabilities[0].vul_id"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"high\",\"cvss_score\":\"9.8\"}]}"), "vulnerabilities[0].cvss_score"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"high\",\"description\":\"%s\"}]}", s65536), "vulnerabilities[0].description"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":{\"vul_id\":\"CVE-1\"}}"), "vulnerabilities"},
        {h_strdupf("{" IMG "," APPS ",\"vulnerabilities\":[\"CVE-1\"]}"), "vulnerabilities[0]"},
        {h_strdupf("{" IMG "," APPS ",\"risk_configs\":[{\"check_name\":\"c\",\"check_rule_id\":\"r\",\"severity\":\"low\",\"standard\":\"eu_standard\"}]}"), "risk_configs[0].standard"},
        {h_strdupf("{" IMG "," APPS ",\"risk_configs\":[{\"check_name\":\"c\",\"severity\":\"low\"}]}"), "risk_configs[0].check_rule_id"},
        {h_strdupf("{" IMG "," APPS ",\"malwares\":[{\"file_name\":\"m\"}]}"), "malwares[0].file_path"},
        {h_strdupf("{" IMG ",\"apps\":[{\"app_name\":\"a\"},{\"app_version\":\"1\"}]}"), "apps[1].app_name"},
        {h_strdupf("{" IMG "," APPS ",\"files\":[{\"file_path\":\"/f\",\"mode\":\"0999\"}]}"), "files[0].mode"},
        {h_strdupf("{" IMG "," APPS ",\"files\":[{\"file_path\":\"/f\",\"size\":-1}]}"), "files[0].size"},
        {h_strdupf("{" IMG "," APPS ",\"sensitive_info\":[{\"rule_id\":\"k\",\"severity\":\"low\"}]}"), "sensitive_info[0].file_path"},
        {h_strdupf("{" IMG "," APPS ",\"non_compliant_apps\":[{\"reason\":\"r\"}]}"), "non_compliant_apps[0].app_name"},
        {h_strdupf("{" IMG "," APPS ",\"build_command_risks\":[{\"rule_id\":\"DS1\",\"risk_name\":\"n\",\"build_instruction\":\"RUN\"}]}"), "build_command_risks[0].risk_level"},
        {h_strdupf("{" IMG "," APPS ",\"build_command_risks\":[{\"rule_id\":\"DS1\",\"risk_name\":\"n\",\"risk_level\":\"urgent\",\"build_instruction\":\"RUN\"}]}"), "build_command_risks[0].risk_level"},
        {h_strdupf("{" IMG "," APPS ",\"build_command_risks\":[{\"rule_id\":\"DS1\",\"risk_name\":\"n\",\"risk_level\":\"low\"}]}"), "build_command_risks[0].build_instruction"},
    };
#undef IMG
#undef APPS
    int fails = 0;
    char *valid = doc("bulk-ok", "1", 2, 3, 1, NULL);
    char *base_changed = doc("base", "1", 5, 5, 5, NULL); /* would replace the base image */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        /* alone */
        http_resp r;
        api_ingest(&S, T_ADM, "P1", "s4", rows[i].doc, false, &r);
        if (!is_400(&r, "HSS.0001", rows[i].path)) {
            fails++;
            print_error("row %zu alone: want 400 HSS.0001 naming %s, got %ld %.300s\n", i,
                        rows[i].path, r.status, r.body);
        }
        http_resp_free(&r);
        /* as line 2 of 3 in a bulk */
        char *bulk = h_strdupf("%s\n%s\n%s\n", valid, rows[i].doc, base_changed);
        api_ingest(&S, T_ADM, "P1", "s4", bulk, true, &r);
        if (!is_400(&r, "HSS.0001", rows[i].path)) {
            fails++;
            print_error("row %zu in a bulk: want 400 HSS.0001 naming %s, got %ld %.300s\n", i,
                        rows[i].path, r.status, r.body);
        }
        http_resp_free(&r);
        free(bulk);
        free(rows[i].doc);
    }
    free(valid);
    free(base_changed);
    free(s257);
    free(s129);
    free(s65536);
    assert_int_equal(fails, 0);
    assert_totals("s4", want, "after the rejected documents and bulks");
}

static void test_unparsable_bodies(void **state)
{
    (void)state;
    char ids[1][32];
    char *base = doc("base", "1", 2, 1, 0, NULL);
    assert_int_equal(ingest(T_ADM, "P1", "s5", base, false, ids, 1), 1);
    long long want[8];
    totals("s5", want);
    char *good = doc("other", "1", 4, 4, 4, NULL);
    http_resp r;

    static const char *singles[] = {"not json", "{\"image\":", "[1,2]", "\"doc\"", "42",
                                    "{\"image\":{\"image_name\":\"\xff\"}}"};
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
        api_ingest(&S, T_ADM, "P1", "s5", singles[i], false, &r);
        assert_api_error(&r, 400, "HSS.0002", NULL);
        http_resp_free(&r);
    }
    /* NDJSON: the message gives the (1-based) line */
    struct {
        char *body;
        const char *line;
    } nd[] = {
        {h_strdupf("%s\n{bad\n%s\n", good, base), "line 2"},
        {h_strdupf("%s\n%s\n[1]\n", good, base), "line 3"},
        {h_strdupf("not json\n%s\n", good), "line 1"},
        {h_strdupf("%s\n%s\n%s\n{\"image\":\"\xff\"}\n", good, good, good), "line 4"},
    };
    for (size_t i = 0; i < sizeof nd / sizeof nd[0]; i++) {
        api_ingest(&S, T_ADM, "P1", "s5", nd[i].body, true, &r);
        assert_api_error(&r, 400, "HSS.0002", nd[i].line);
        http_resp_free(&r);
        free(nd[i].body);
    }
    free(good);
    free(base);
    assert_totals("s5", want, "after the unparsable bodies");
}

static void test_roles_and_scope(void **state)
{
    (void)state;
    char *d = doc("roles", "1", 1, 1, 0, NULL);
    http_resp r;
    /* a reader cannot ingest, not even a broken body (role before body) */
    api_ingest(&S, T_R, "P1", "s6", d, false, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    api_ingest(&S, T_R, "P1", "s6", "not json", false, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    assert_count("apps", "s6", NULL, 0);
    /* a writer can, into the EPs it holds only */
    api_ingest(&S, T_W, "P1", "ep-x", d, false, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    assert_count("apps", "ep-x", NULL, 0);
    char ids[1][32];
    assert_int_equal(ingest(T_W, "P1", "ep-w", d, false, ids, 1), 1);
    assert_count("apps", "ep-w", NULL, 1);
    /* the default EP is "0" */
    long long before = count("apps", "0", NULL);
    char *d0 = doc("default-ep", "1", 0, 3, 0, NULL);
    char id0[1][32];
    assert_int_equal(ingest(T_W, "P1", NULL, d0, false, id0, 1), 1);
    assert_count("apps", "0", NULL, before + 3);
    free(d0);
    /* a reader cannot delete */
    char *path = h_strdupf("/v5/P1/image/scan-results/%s", ids[0]);
    api_call(&S, "DELETE", path, NULL, T_R, S.region, NULL, NULL, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    assert_count("apps", "ep-w", NULL, 1);
    /* the writer can */
    api_call(&S, "DELETE", path, NULL, T_W, S.region, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_count("apps", "ep-w", NULL, 0);
    free(path);
    /* all_granted_eps names no single EP to ingest into */
    api_ingest(&S, T_ADM, "P1", "all_granted_eps", d, false, &r);
    assert_api_error(&r, 400, "HSS.0001", "enterprise_project_id");
    http_resp_free(&r);
    /* credentials, project, region */
    api_ingest(&S, NULL, "P1", "s6", d, false, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    api_ingest(&S, "bogus", "P1", "s6", d, false, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    api_ingest(&S, T_P2, "P1", "s6", d, false, &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    api_call(&S, "POST", "/v5/P1/image/scan-results", "enterprise_project_id=s6", T_ADM, NULL, d,
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    api_call(&S, "POST", "/v5/P1/image/scan-results", "enterprise_project_id=s6", T_ADM,
             "elsewhere-9", d, "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    assert_count("apps", "s6", NULL, 0);
    free(d);
}

static void delete_image(const char *token, const char *project, const char *id, http_resp *r)
{
    char *path = h_strdupf("/v5/%s/image/scan-results/%s", project, id);
    api_call(&S, "DELETE", path, NULL, token, S.region, NULL, NULL, r);
    free(path);
}

static void test_delete(void **state)
{
    (void)state;
    char *a = doc("del", "1", 2, 2, 0, NULL), *b = doc("del", "2", 1, 1, 0, NULL);
    char *bulk = h_strdupf("%s\n%s\n", a, b);
    char ids[2][32];
    assert_int_equal(ingest(T_ADM, "P1", "s8", bulk, true, ids, 2), 2);
    char p2id[1][32];
    assert_int_equal(ingest(T_P2, "P2", "s8", a, false, p2id, 1), 1);
    free(a);
    free(b);
    free(bulk);
    assert_count("vulnerability", "s8", NULL, 3);

    http_resp r;
    delete_image(T_ADM, "P1", ids[0], &r);
    assert_status(&r, 200);
    json_t *empty = json_object();
    if (!json_equal(r.json, empty)) {
        print_error("DELETE body: want {}, got %s\n", r.body);
        fail();
    }
    json_decref(empty);
    http_resp_free(&r);
    assert_count("vulnerability", "s8", NULL, 1);
    assert_count("apps", "s8", NULL, 1);

    delete_image(T_ADM, "P1", ids[0], &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    delete_image(T_ADM, "P1", "987654321987", &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    /* another project's image is not found from P1, and stays */
    if (strcmp(p2id[0], ids[1]) != 0) {
        delete_image(T_ADM, "P1", p2id[0], &r);
        assert_api_error(&r, 404, "HSS.0011", NULL);
        http_resp_free(&r);
    }
    stat_res st = api_stat(&S, T_P2, "P2", "vulnerability", "s8", "{\"operate_all\":true}");
    assert_stat_total(st, 2, "P2 image after P1 tried to delete it");
    assert_count("vulnerability", "s8", NULL, 1);
    /* P2 deletes its own */
    delete_image(T_P2, "P2", p2id[0], &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    st = api_stat(&S, T_P2, "P2", "vulnerability", "s8", "{\"operate_all\":true}");
    assert_stat_total(st, 0, "P2 after its delete");
    /* credentials and region apply */
    delete_image(NULL, "P1", ids[1], &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    delete_image(T_P2, "P1", ids[1], &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    assert_count("vulnerability", "s8", NULL, 1);
}

/* latest_version follows deletes and re-ingests; ties go to the greatest id. */
static void test_latest_version_follows_changes(void **state)
{
    (void)state;
    char *v1 = doc("lv", "1", 1, 0, 0, "\"latest_update_time\":1000");
    char *v2 = doc("lv", "2", 2, 0, 0, "\"latest_update_time\":2000");
    char *v3 = doc("lv", "3", 4, 0, 0, "\"latest_update_time\":3000");
    char *bulk = h_strdupf("%s\n%s\n%s\n", v1, v2, v3);
    char ids[3][32];
    assert_int_equal(ingest(T_ADM, "P1", "s9", bulk, true, ids, 3), 3);
    const char *lv = "\"latest_version\":true";
    assert_count("vulnerability", "s9", lv, 4);
    http_resp r;
    delete_image(T_ADM, "P1", ids[2], &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_count("vulnerability", "s9", lv, 2);
    /* v1 re-ingested with a later time becomes the latest */
    char *v1b = doc("lv", "1", 1, 0, 0, "\"latest_update_time\":5000");
    char one[1][32];
    assert_int_equal(ingest(T_ADM, "P1", "s9", v1b, false, one, 1), 1);
    assert_string_equal(one[0], ids[0]);
    assert_count("vulnerability", "s9", lv, 1);
    /* a tie at 5000: the greatest id wins */
    char *v4 = doc("lv", "4", 8, 0, 0, "\"latest_update_time\":5000");
    char id4[1][32];
    assert_int_equal(ingest(T_ADM, "P1", "s9", v4, false, id4, 1), 1);
    long long id_v1 = strtoll(ids[0], NULL, 10), id_v4 = strtoll(id4[0], NULL, 10);
    assert_count("vulnerability", "s9", lv, id_v4 > id_v1 ? 8 : 1);
    /* the group spans EPs of the project: a newer version in another EP wins */
    char *v5 = doc("lv", "5", 16, 0, 0, "\"latest_update_time\":9000");
    char id5[1][32];
    assert_int_equal(ingest(T_ADM, "P1", "s9-other", v5, false, id5, 1), 1);
    assert_count("vulnerability", "s9", lv, 0);
    assert_count("vulnerability", "s9-other", lv, 16);
    free(v1);
    free(v2);
    free(v3);
    free(bulk);
    free(v1b);
    free(v4);
    free(v5);
}

/* `imgsec import` under a running server: its next answer sees the file. */
static void test_import_cli(void **state)
{
    (void)state;
    char *a = doc("imp", "1", 1, 2, 0, NULL), *b = doc("imp", "2", 3, 0, 1, NULL);
    char *nd = h_strdupf("%s\n%s\n", a, b);
    char *path = h_strdupf("%s/import.ndjson", S.dir);
    assert_int_equal(h_write_file(path, nd, strlen(nd)), 0);
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "imp",
                     path, NULL);
    if (rc != 0)
        print_error("imgsec import: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    long long want[8] = {4, 0, 1, 2, 0, 0, 0, 0};
    assert_totals("imp", want, "right after imgsec import");

    /* a JSON array file, re-sending one identity and adding one; with the
     * search indexes dropped and built again at the end (--bulk yes) */
    char *c = doc("imp", "3", 0, 7, 0, NULL), *b2 = doc("imp", "2", 1, 0, 0, NULL);
    char *arr = h_strdupf("[%s,\n%s]\n", c, b2);
    char *path2 = h_strdupf("%s/import.json", S.dir);
    assert_int_equal(h_write_file(path2, arr, strlen(arr)), 0);
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "imp",
                 "--bulk", "yes", path2, NULL);
    if (rc != 0)
        print_error("imgsec import (array): exit %d: %s\n", rc, out);
    assert_non_null(strstr(out, "building 6 indexes (--bulk)"));
    free(out);
    assert_int_equal(rc, 0);
    long long want2[8] = {2, 0, 0, 9, 0, 0, 0, 0};
    assert_totals("imp", want2, "after the second import");

    /* a file with a bad document: non-zero, nothing changes */
    char *bad = h_strdupf("%s\n{\"image\":{\"image_type\":\"nope\",\"image_name\":\"x\"}}\n", c);
    char *path3 = h_strdupf("%s/bad.ndjson", S.dir);
    assert_int_equal(h_write_file(path3, bad, strlen(bad)), 0);
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "imp-bad",
                 path3, NULL);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(out) > 0);
    free(out);
    assert_count("apps", "imp-bad", NULL, 0);
    assert_totals("imp", want2, "after a failed import");
    /* the same with --bulk yes: the indexes come back with the rollback */
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "imp-bad",
                 "--bulk", "yes", path3, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "nothing from this file was stored"));
    free(out);
    assert_count("apps", "imp-bad", NULL, 0);
    assert_totals("imp", want2, "after a failed import (--bulk yes)");

    /* without --ep the images go into EP "0" */
    long long before = count("non-compliant-app", "0", NULL);
    char *nca = h_strdupf("{\"image\":{\"image_type\":\"cicd\",\"image_name\":\"imp-default\","
                          "\"scan_status\":\"unscan\"},\"non_compliant_apps\":[{\"app_name\":\"x\"},"
                          "{\"app_name\":\"y\"}]}\n");
    char *path4 = h_strdupf("%s/default-ep.ndjson", S.dir);
    assert_int_equal(h_write_file(path4, nca, strlen(nca)), 0);
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", path4, NULL);
    if (rc != 0)
        print_error("imgsec import (default EP): exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    assert_count("non-compliant-app", "0", NULL, before + 2);
    free(nca);
    free(path4);

    free(a);
    free(b);
    free(nd);
    free(path);
    free(c);
    free(b2);
    free(arr);
    free(path2);
    free(bad);
    free(path3);
}

/* Readers never see a mix of an image's old and new records. */
typedef struct {
    atomic_int reads; /* the writer starts once the first read is answered */
    int bad;
    long long last_bad;
    atomic_int stop;
} reader_state;

static void *reader_main(void *arg)
{
    reader_state *rs = arg;
    while (!rs->stop && rs->reads < 2000) {
        stat_res st = api_stat(&S, T_ADM, "P1", "vulnerability", "atom", "{\"operate_all\":true}");
        rs->reads++;
        if (st.status != 200 || st.total != 5) {
            rs->bad++;
            rs->last_bad = st.status == 200 ? st.total : -st.status;
        }
    }
    http_thread_done();
    return NULL;
}

static void test_replacement_is_atomic(void **state)
{
    (void)state;
    /* Version A: 5 linux_vul records; version B: 5 app_vul records of other ids. */
    char *va = doc("atomic", "1", 5, 1, 0, NULL);
    char *vb = h_strdupf(
        "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":"
        "\"atomic\",\"image_version\":\"1\",\"scan_status\":\"success\"},\"vulnerabilities\":["
        "{\"vul_id\":\"X1\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
        "{\"vul_id\":\"X2\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
        "{\"vul_id\":\"X3\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
        "{\"vul_id\":\"X4\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
        "{\"vul_id\":\"X5\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}]}");
    char ids[1][32];
    assert_int_equal(ingest(T_ADM, "P1", "atom", va, false, ids, 1), 1);
    reader_state rs = {0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &rs), 0);
    /* Without this wait a loaded machine could run all 40 writes before the
     * reader's first request, and the test would prove nothing (it failed
     * that way at load 20). */
    while (rs.reads == 0)
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    int writes = 0;
    for (int i = 0; i < 40; i++) {
        char again[1][32];
        if (ingest(T_ADM, "P1", "atom", i % 2 ? va : vb, false, again, 1) == 1 &&
            strcmp(again[0], ids[0]) == 0)
            writes++;
    }
    rs.stop = 1;
    pthread_join(th, NULL);
    free(va);
    free(vb);
    assert_int_equal(writes, 40);
    if (rs.bad)
        print_error("%d of %d reads saw a total other than 5 (last: %lld)\n", rs.bad, rs.reads,
                    rs.last_bad);
    assert_int_equal(rs.bad, 0);
    assert_true(rs.reads > 0);
    assert_count("vulnerability", "atom", "\"vul_type\":\"linux_vul\"", 5);
}

/* Ingests d into EP fz: 1 (printed) unless the answer is 200, or 400
 * HSS.0001 naming field, or 400 HSS.0002. */
static int hostile_fails(const char *d, const char *field)
{
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "fz", d, false, &r);
    bool good = r.status == 200 || is_400(&r, "HSS.0001", field) || is_400(&r, "HSS.0002", NULL);
    if (!good)
        print_error("%s: got %ld %s\n", d, r.status, r.body);
    http_resp_free(&r);
    return good ? 0 : 1;
}

/* Any value of any type in any document field: 200, or 400 HSS.0001
 * naming the field (HSS.0002 for what JSON itself refuses). */
static void test_hostile_documents(void **state)
{
    (void)state;
    static const char *image_fields[] = {
        "image_type", "namespace", "image_name", "image_version", "image_id", "image_digest",
        "image_size", "latest_update_time", "latest_scan_time", "scan_status", "instance_id",
        "instance_name", "cicd_name", "container_num"};
    static const struct {
        const char *key, *rec, *field;
    } rec_fields[] = {
        {"vulnerabilities", "{\"vul_id\":\"C\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}", "vul_id"},
        {"vulnerabilities", "{\"vul_id\":\"C\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}", "vul_type"},
        {"vulnerabilities", "{\"vul_id\":\"C\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}", "severity"},
        {"vulnerabilities", "{\"vul_id\":\"C\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}", "cvss_score"},
        {"vulnerabilities", "{\"vul_id\":\"C\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}", "app_name"},
        {"risk_configs", "{\"check_name\":\"c\",\"check_rule_id\":\"r\",\"severity\":\"low\"}", "standard"},
        {"malwares", "{\"file_path\":\"/f\"}", "size"},
        {"files", "{\"file_path\":\"/f\"}", "mode"},
        {"sensitive_info", "{\"rule_id\":\"k\",\"severity\":\"low\",\"file_path\":\"/f\"}", "content"},
        {"build_command_risks", "{\"rule_id\":\"D\",\"risk_name\":\"n\",\"risk_level\":\"low\",\"build_instruction\":\"RUN\"}", "risk_level"},
        {"apps", "{\"app_name\":\"a\"}", "app_name"},
        {"non_compliant_apps", "{\"app_name\":\"a\"}", "reason"},
    };
    static const char *values[] = {
        "null", "true", "0", "-1", "1.5", "1e308", "\"\"", "\"x\"", "\"0755\"", "\"\\u00e9\"",
        "[]", "{}", "[1]", "9223372036854775807", "-9223372036854775808", "\"HIGH\"",
        "\"harbor\"", "\"success\"", "\"app_vul\"", "\"hw_standard\""};
    int fails = 0;
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
        for (size_t f = 0; f < sizeof image_fields / sizeof *image_fields; f++) {
            json_t *doc = json_pack("{s:{s:s,s:s,s:s}}", "image", "image_type", "local_image",
                                    "image_name", "fz", "scan_status", "success");
            json_t *val = json_loads(values[v], JSON_DECODE_ANY, NULL);
            assert_non_null(doc);
            assert_non_null(val);
            json_object_set_new(json_object_get(doc, "image"), image_fields[f], val);
            char *d = h_json_text(doc);
            json_decref(doc);
            fails += hostile_fails(d, image_fields[f]);
            free(d);
        }
        for (size_t f = 0; f < sizeof rec_fields / sizeof *rec_fields; f++) {
            /* the record with the field set to the value (replacing it) */
            json_t *rec = json_loads(rec_fields[f].rec, 0, NULL);
            json_t *val = json_loads(values[v], JSON_DECODE_ANY, NULL);
            assert_non_null(rec);
            assert_non_null(val);
            json_object_set_new(rec, rec_fields[f].field, val);
            char *rtxt = h_json_text(rec);
            json_decref(rec);
            char *d = h_strdupf("{\"image\":{\"image_type\":\"local_image\",\"image_name\":"
                                "\"fzr\",\"scan_status\":\"success\"},\"%s\":[%s]}",
                                rec_fields[f].key, rtxt);
            free(rtxt);
            char path[128];
            snprintf(path, sizeof path, "%s[0].%s", rec_fields[f].key, rec_fields[f].field);
            fails += hostile_fails(d, path);
            free(d);
        }
    }
    assert_int_equal(fails, 0);
}

/* Runs last: a restart on the same file keeps images, users and tokens. */
static void test_restart_keeps_state(void **state)
{
    (void)state;
    static const char *eps[] = {"s1", "s2", "s3", "imp", "s9"};
    long long before[5][8];
    for (int e = 0; e < 5; e++)
        totals(eps[e], before[e]);
    assert_int_equal(srv_stop(&S, false), 0);
    assert_int_equal(srv_start(&S), 0);
    for (int e = 0; e < 5; e++)
        assert_totals(eps[e], before[e], "after a restart");
    assert_count("vulnerability", "s9", "\"latest_version\":true", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_document),
        cmocka_unit_test(test_ndjson_bulk_order),
        cmocka_unit_test(test_reingest_replaces),
        cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_unparsable_bodies),
        cmocka_unit_test(test_roles_and_scope),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_latest_version_follows_changes),
        cmocka_unit_test(test_import_cli),
        cmocka_unit_test(test_replacement_is_atomic),
        cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_restart_keeps_state),
    };
    int failed = cmocka_run_group_tests_name("ingest", tests, setup, teardown);
    return failed + harness_failures();
}
