/* test_statistic_errors.c - every error row of statistic.md, the
 * validation of every body field (type, range, enum, list sizes, item
 * lengths) with the boundary values that must still pass, the body size
 * limit, and the order in which the server checks a request.
 *
 * Table rows are all run and every mismatch printed before the test
 * fails, so one run lists every deviation.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define VUL "vulnerability"
#define OPERATE_ALL "{\"operate_all\":true}"

static srv_t S;
static char *T_ADMIN;  /* admin, P1, all EPs */
static char *T_READER; /* reader, P1, EPs 0 and ep-a */
static char *T_P2;     /* admin, P2 */
static char ID1[32];   /* image ids of the seed data, P1 EP "0" */

/* Seed data in P1/EP 0: 3 vulnerability records, 4 apps, over 3 images. */
static const char SEED[] =
    "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":\"web\","
    "\"image_version\":\"1.0\",\"image_id\":\"sha256:aaa\",\"image_size\":100,"
    "\"latest_update_time\":1000,\"latest_scan_time\":2000,\"scan_status\":\"success\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-A\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},"
    "{\"vul_id\":\"CVE-B\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}]}\n"
    "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\",\"image_name\":\"web\","
    "\"image_version\":\"2.0\",\"image_id\":\"sha256:bbb\",\"image_size\":0,"
    "\"latest_update_time\":3000,\"latest_scan_time\":4000,\"scan_status\":\"success\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-A\",\"vul_type\":\"linux_vul\",\"severity\":\"HIGH\"}]}\n"
    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"redis\",\"image_version\":\"7\","
    "\"scan_status\":\"unscan\"},"
    "\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"},{\"app_name\":\"c\"},{\"app_name\":\"d\"}]}\n";

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADMIN = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    T_READER = user_token(&S, "acme", "rita", "rita-pw-2", "P1", "reader", "0,ep-a");
    T_P2 = user_token(&S, "acme", "pat", "pat-pw-3", "P2", "admin", "all");
    if (!T_ADMIN || !T_READER || !T_P2)
        return -1;
    http_resp r;
    api_ingest(&S, T_ADMIN, "P1", "0", SEED, true, &r);
    char ids[3][32];
    int n = ingest_ids(&r, ids, 3);
    if (r.status != 200 || n != 3) {
        fprintf(stderr, "seed ingest failed: %ld %s\n", r.status, r.body);
        http_resp_free(&r);
        return -1;
    }
    snprintf(ID1, sizeof ID1, "%s", ids[0]);
    http_resp_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADMIN);
    free(T_READER);
    free(T_P2);
    T_ADMIN = T_READER = T_P2 = NULL;
    return srv_stop(&S, true);
}

/* ---- a table of statistic calls ---- */

typedef struct {
    char *body;          /* owned; NULL = no body */
    const char *type;    /* security_report_type; NULL = absent */
    long status;
    const char *code;    /* for errors */
    const char *part;    /* error_msg must contain it */
    long long total;     /* for 200 */
    const char *ep;      /* enterprise_project_id or NULL */
    const char *token;   /* NULL = T_ADMIN */
} row;

typedef struct {
    row *rows;
    size_t n, cap;
} table;

static row *add(table *t, char *body, long status, const char *code, const char *part)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->rows = realloc(t->rows, t->cap * sizeof *t->rows);
        if (!t->rows)
            abort();
    }
    row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    r->body = body;
    r->type = VUL;
    r->status = status;
    r->code = code;
    r->part = part;
    return r;
}

/* A 400 HSS.0001 row naming part. */
static row *bad(table *t, const char *part, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static row *bad(table *t, const char *part, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = h_vstrdupf(fmt, ap);
    va_end(ap);
    return add(t, body, 400, "HSS.0001", part);
}

static row *ok(table *t, long long total, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static row *ok(table *t, long long total, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = h_vstrdupf(fmt, ap);
    va_end(ap);
    row *r = add(t, body, 200, NULL, NULL);
    r->total = total;
    return r;
}

static void run_table(table *t)
{
    int fails = 0;
    for (size_t i = 0; i < t->n; i++) {
        row *w = &t->rows[i];
        stat_res st = api_stat(&S, w->token ? w->token : T_ADMIN, "P1", w->type, w->ep, w->body);
        bool good;
        if (w->status == 200)
            good = st.status == 200 && st.total == w->total;
        else
            good = st.status == w->status && strcmp(st.code, w->code) == 0 &&
                   (!w->part || strstr(st.msg, w->part));
        if (!good) {
            fails++;
            print_error("row %zu: type=%s ep=%s body=%.200s%s\n    want %ld %s%s%s%s total %lld\n"
                        "    got  %ld %.600s\n",
                        i, w->type ? w->type : "(none)", w->ep ? w->ep : "(none)",
                        w->body ? w->body : "(no body)",
                        w->body && strlen(w->body) > 200 ? "..." : "", w->status,
                        w->code ? w->code : "", w->part ? " naming \"" : "",
                        w->part ? w->part : "", w->part ? "\"" : "", w->total, st.status, st.body);
        }
        free(w->body);
    }
    free(t->rows);
    t->rows = NULL;
    t->n = t->cap = 0;
    if (fails)
        print_error("%d row(s) failed\n", fails);
    assert_int_equal(fails, 0);
}

/* JSON array text of n strings, each `len` chars long and distinct. */
static char *str_list(size_t n, size_t len)
{
    size_t cap = n * (len + 3) + 3;
    char *s = malloc(cap);
    if (!s)
        abort();
    size_t o = 0;
    s[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[o++] = ',';
        s[o++] = '"';
        char num[32];
        int k = snprintf(num, sizeof num, "%zu", i);
        for (size_t j = 0; j < len; j++)
            s[o++] = j < (size_t)k ? num[j] : 'z';
        s[o++] = '"';
    }
    s[o++] = ']';
    s[o] = '\0';
    return s;
}

/* ---- tests ---- */

static void test_seed_example(void **state)
{
    (void)state;
    /* The cloud page's example request, byte for byte. */
    http_resp r;
    api_call(&S, "POST", "/v5/P1/image/security-report/statistic",
             "security_report_type=vulnerability", T_ADMIN, S.region,
             "{\n\"operate_all\" : true\n}", "application/json", &r);
    assert_status(&r, 200);
    json_t *want = json_pack("{s:I}", "total_num", (json_int_t)3);
    if (!json_equal(r.json, want)) {
        print_error("want exactly {\"total_num\": 3}, got %s\n", r.body);
        fail();
    }
    json_decref(want);
    http_resp_free(&r);
    stat_res st = api_stat(&S, T_ADMIN, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_total(st, 4, "apps");
    st = api_stat(&S, T_ADMIN, "P1", "apps", "0", OPERATE_ALL);
    assert_stat_total(st, 4, "apps, explicit EP 0");
    st = api_stat(&S, T_ADMIN, "P1", "malwares", NULL, OPERATE_ALL);
    assert_stat_total(st, 0, "malwares");
}

static void test_auth_rows(void **state)
{
    (void)state;
    stat_res st = api_stat(&S, NULL, "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_error(st, 401, "APIGW.0301", NULL, "no token");
    st = api_stat(&S, "bogus-token", "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_error(st, 401, "APIGW.0301", NULL, "unknown token");
    st = api_stat(&S, T_P2, "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0010", NULL, "token of another project");
    st = api_stat(&S, T_ADMIN, "P2", VUL, NULL, OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0010", NULL, "P1 token on P2");

    /* The reader holds EPs 0 and ep-a. */
    st = api_stat(&S, T_READER, "P1", VUL, "ep-b", OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "EP not held");
    st = api_stat(&S, T_READER, "P1", VUL, "ep-zzz", OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "unknown EP not held");
    st = api_stat(&S, T_READER, "P1", VUL, "0", OPERATE_ALL);
    assert_stat_total(st, 3, "reader, EP 0");
    st = api_stat(&S, T_READER, "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_total(st, 3, "reader, default EP");
    st = api_stat(&S, T_READER, "P1", VUL, "ep-a", OPERATE_ALL);
    assert_stat_total(st, 0, "reader, ep-a");
    st = api_stat(&S, T_READER, "P1", VUL, "all_granted_eps", OPERATE_ALL);
    assert_stat_total(st, 3, "reader, all_granted_eps");
    st = api_stat(&S, T_ADMIN, "P1", VUL, "ep-zzz", OPERATE_ALL);
    assert_stat_total(st, 0, "admin, an EP with no images");
}

static void test_query_and_region_rows(void **state)
{
    (void)state;
    stat_res st = api_stat(&S, T_ADMIN, "P1", NULL, NULL, OPERATE_ALL);
    assert_stat_error(st, 400, "HSS.0001", "security_report_type", "missing type");
    static const char *bad_types[] = {"", "Vulnerability", "vuln", "risk_config",
                                      "build-command-risk", "VULNERABILITY", "apps "};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        /* the trailing space goes percent-encoded */
        const char *q = strcmp(bad_types[i], "apps ") == 0 ? "apps%20" : bad_types[i];
        st = api_stat(&S, T_ADMIN, "P1", q, NULL, OPERATE_ALL);
        assert_stat_error(st, 400, "HSS.0001", "security_report_type", bad_types[i]);
    }
    static const char *types[] = {"vulnerability", "risk-config", "malwares", "apps", "files",
                                  "sensitive-info", "non-compliant-app", "build-command-risks"};
    for (size_t i = 0; i < 8; i++) {
        st = api_stat(&S, T_ADMIN, "P1", types[i], NULL, OPERATE_ALL);
        assert_stat_total(st, i == 0 ? 3 : i == 3 ? 4 : 0, types[i]);
    }

    http_resp r;
    const char *path = "/v5/P1/image/security-report/statistic";
    api_call(&S, "POST", path, "security_report_type=apps", T_ADMIN, NULL, OPERATE_ALL,
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    static const char *bad_regions[] = {"other-region", "TEST-REGION-1", "test-region-1x",
                                        "test-region"};
    for (size_t i = 0; i < sizeof bad_regions / sizeof bad_regions[0]; i++) {
        api_call(&S, "POST", path, "security_report_type=apps", T_ADMIN, bad_regions[i],
                 OPERATE_ALL, "application/json", &r);
        assert_api_error(&r, 400, "HSS.0001", "region");
        http_resp_free(&r);
    }
}

static void test_starting_set_rows(void **state)
{
    (void)state;
    table t = {0};
    add(&t, NULL, 400, "HSS.0001", "image_id_list");   /* absent body */
    bad(&t, "image_id_list", "%s", "");                 /* empty body */
    bad(&t, "image_id_list", "{}");
    bad(&t, "image_id_list", "{\"operate_all\":false}");
    bad(&t, "image_id_list", "{\"operate_all\":false,\"image_id_list\":[]}");
    bad(&t, "image_id_list", "{\"image_id_list\":[]}");
    bad(&t, "image_id_list", "{\"image_id_list\":null}");
    bad(&t, "image_id_list", "{\"operate_all\":null}");
    bad(&t, "image_id_list", "{\"image_type\":\"private_image\"}");
    ok(&t, 3, "{\"operate_all\":true,\"image_id_list\":[]}");
    ok(&t, 3, "{\"operate_all\":true,\"image_id_list\":[\"no-such\"]}");
    ok(&t, 2, "{\"image_id_list\":[\"%s\"]}", ID1);
    ok(&t, 2, "{\"operate_all\":false,\"image_id_list\":[\"%s\"]}", ID1);
    ok(&t, 2, "{\"operate_all\":null,\"image_id_list\":[\"sha256:aaa\"]}");
    ok(&t, 3, "{\"image_id_list\":[\"sha256:aaa\",\"sha256:bbb\"]}");
    ok(&t, 2, "{\"image_id_list\":[\"%s\",\"sha256:aaa\"]}", ID1);
    ok(&t, 0, "{\"image_id_list\":[\"no-such\"]}");
    run_table(&t);
}

static void test_body_field_rows(void **state)
{
    (void)state;
    table t = {0};
    char *s65536 = h_repeat('q', 65536), *s65535 = h_repeat('q', 65535);
    char *s129 = h_repeat('q', 129), *s128 = h_repeat('q', 128);

    /* operate_all */
    bad(&t, "operate_all", "{\"operate_all\":\"true\"}");
    bad(&t, "operate_all", "{\"operate_all\":1}");
    bad(&t, "operate_all", "{\"operate_all\":[true]}");
    /* image_id_list */
    bad(&t, "image_id_list", "{\"image_id_list\":\"%s\"}", ID1);
    bad(&t, "image_id_list", "{\"image_id_list\":{\"a\":\"b\"}}");
    bad(&t, "image_id_list", "{\"image_id_list\":[1]}");
    bad(&t, "image_id_list", "{\"image_id_list\":[\"%s\",null]}", ID1);
    bad(&t, "image_id_list", "{\"image_id_list\":[\"\"]}");
    bad(&t, "image_id_list", "{\"image_id_list\":[\"%s\"]}", s129);
    char *l10001 = str_list(10001, 6), *l10000 = str_list(10000, 6);
    bad(&t, "image_id_list", "{\"image_id_list\":%s}", l10001);
    ok(&t, 0, "{\"image_id_list\":%s}", l10000);
    ok(&t, 0, "{\"image_id_list\":[\"%s\"]}", s128);
    /* enums */
    static const struct {
        const char *field, *value;
    } enum_bad[] = {
        {"image_type", "\"bogus\""}, {"image_type", "\"PRIVATE_IMAGE\""}, {"image_type", "\"\""},
        {"image_type", "3"}, {"scan_status", "\"done\""}, {"scan_status", "\"Success\""},
        {"scan_status", "false"}, {"severity_level", "\"high\""},
        {"severity_level", "\"Critical\""}, {"severity_level", "\"security\""},
        {"severity_level", "\"\""}, {"severity_level", "3"}, {"vul_type", "\"os_vul\""},
        {"vul_type", "\"LINUX_VUL\""}, {"vul_type", "1"},
        {"build_command_risk_level", "\"unknown\""}, {"build_command_risk_level", "\"severe\""},
        {"build_command_risk_level", "\"\""}, {"build_command_risk_level", "2"},
    };
    for (size_t i = 0; i < sizeof enum_bad / sizeof enum_bad[0]; i++)
        bad(&t, enum_bad[i].field, "{\"operate_all\":true,\"%s\":%s}", enum_bad[i].field,
            enum_bad[i].value);
    /* strings: type and length */
    static const char *long_fields[] = {"namespace", "image_name", "image_version"};
    for (size_t i = 0; i < 3; i++) {
        bad(&t, long_fields[i], "{\"operate_all\":true,\"%s\":\"%s\"}", long_fields[i], s65536);
        bad(&t, long_fields[i], "{\"operate_all\":true,\"%s\":5}", long_fields[i]);
        bad(&t, long_fields[i], "{\"operate_all\":true,\"%s\":[\"web\"]}", long_fields[i]);
        ok(&t, 0, "{\"operate_all\":true,\"%s\":\"%s\"}", long_fields[i], s65535);
    }
    static const char *short_fields[] = {"instance_name", "cicd_name", "image_id", "instance_id"};
    for (size_t i = 0; i < 4; i++) {
        bad(&t, short_fields[i], "{\"operate_all\":true,\"%s\":\"%s\"}", short_fields[i], s129);
        bad(&t, short_fields[i], "{\"operate_all\":true,\"%s\":7}", short_fields[i]);
        bad(&t, short_fields[i], "{\"operate_all\":true,\"%s\":true}", short_fields[i]);
        ok(&t, 0, "{\"operate_all\":true,\"%s\":\"%s\"}", short_fields[i], s128);
    }
    /* booleans */
    static const char *bools[] = {"latest_version", "has_malicious_file", "has_vul",
                                  "has_unsafe_setting", "has_container", "risky"};
    for (size_t i = 0; i < 6; i++) {
        bad(&t, bools[i], "{\"operate_all\":true,\"%s\":\"true\"}", bools[i]);
        bad(&t, bools[i], "{\"operate_all\":true,\"%s\":0}", bools[i]);
        bad(&t, bools[i], "{\"operate_all\":true,\"%s\":1}", bools[i]);
    }
    /* int64 fields */
    static const char *ints[] = {"image_size", "start_latest_update_time", "end_latest_update_time",
                                 "start_latest_scan_time", "end_latest_scan_time"};
    for (size_t i = 0; i < 5; i++) {
        bad(&t, ints[i], "{\"operate_all\":true,\"%s\":-1}", ints[i]);
        bad(&t, ints[i], "{\"operate_all\":true,\"%s\":\"5\"}", ints[i]);
        bad(&t, ints[i], "{\"operate_all\":true,\"%s\":1.5}", ints[i]);
        bad(&t, ints[i], "{\"operate_all\":true,\"%s\":true}", ints[i]);
    }
    ok(&t, 1, "{\"operate_all\":true,\"image_size\":0}");
    ok(&t, 3, "{\"operate_all\":true,\"image_size\":100}");
    ok(&t, 1, "{\"operate_all\":true,\"image_size\":99}");
    ok(&t, 3, "{\"operate_all\":true,\"end_latest_update_time\":9223372036854775807}");
    ok(&t, 3, "{\"operate_all\":true,\"start_latest_scan_time\":0,"
              "\"end_latest_scan_time\":9223372036854775807}");
    ok(&t, 0, "{\"operate_all\":true,\"start_latest_update_time\":2147483648000}");
    /* start > end; start == end is fine */
    bad(&t, "latest_update_time",
        "{\"operate_all\":true,\"start_latest_update_time\":1001,\"end_latest_update_time\":1000}");
    bad(&t, "latest_scan_time",
        "{\"operate_all\":true,\"start_latest_scan_time\":5,\"end_latest_scan_time\":4}");
    ok(&t, 2, "{\"operate_all\":true,\"start_latest_update_time\":1000,\"end_latest_update_time\":1000}");
    ok(&t, 1, "{\"operate_all\":true,\"start_latest_scan_time\":4000,\"end_latest_scan_time\":4000}");
    /* vul_id_list */
    char *v2049 = str_list(2049, 10), *v2048 = str_list(2048, 128), *v129 = str_list(1, 129);
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":\"CVE-A\"}");
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":[1]}");
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":[\"\"]}");
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":%s}", v129);
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":%s}", v2049);
    ok(&t, 0, "{\"operate_all\":true,\"vul_id_list\":%s}", v2048);
    ok(&t, 3, "{\"operate_all\":true,\"vul_id_list\":[]}");
    ok(&t, 2, "{\"operate_all\":true,\"vul_id_list\":[\"CVE-A\"]}");
    ok(&t, 2, "{\"operate_all\":true,\"vul_id_list\":[\"CVE-A\",\"CVE-A\"]}");
    ok(&t, 3, "{\"operate_all\":true,\"vul_id_list\":[\"CVE-A\",\"CVE-B\",\"CVE-C\"]}");
    /* build filters */
    char *r2049 = str_list(2049, 5), *r2048 = str_list(2048, 200), *r201 = str_list(1, 201);
    bad(&t, "build_command_risk_name", "{\"operate_all\":true,\"build_command_risk_name\":\"\"}");
    bad(&t, "build_command_risk_name", "{\"operate_all\":true,\"build_command_risk_name\":\"%s\"}",
        s129);
    bad(&t, "build_command_risk_name", "{\"operate_all\":true,\"build_command_risk_name\":7}");
    ok(&t, 3, "{\"operate_all\":true,\"build_command_risk_name\":\"%s\"}", s128);
    bad(&t, "build_command_rule_id_list",
        "{\"operate_all\":true,\"build_command_rule_id_list\":\"DS001\"}");
    bad(&t, "build_command_rule_id_list",
        "{\"operate_all\":true,\"build_command_rule_id_list\":[true]}");
    bad(&t, "build_command_rule_id_list",
        "{\"operate_all\":true,\"build_command_rule_id_list\":[\"\"]}");
    bad(&t, "build_command_rule_id_list",
        "{\"operate_all\":true,\"build_command_rule_id_list\":%s}", r201);
    bad(&t, "build_command_rule_id_list",
        "{\"operate_all\":true,\"build_command_rule_id_list\":%s}", r2049);
    /* a record filter of another report type is validated, then has no effect */
    ok(&t, 3, "{\"operate_all\":true,\"build_command_rule_id_list\":%s}", r2048);
    ok(&t, 3, "{\"operate_all\":true,\"build_command_risk_level\":\"critical\"}");
    bad(&t, "vul_type", "{\"operate_all\":true,\"vul_type\":\"os_vul\"}")->type = "apps";
    bad(&t, "vul_id_list", "{\"operate_all\":true,\"vul_id_list\":[\"\"]}")->type = "apps";
    bad(&t, "build_command_risk_level",
        "{\"operate_all\":true,\"build_command_risk_level\":\"unknown\"}")->type = "apps";
    ok(&t, 4, "{\"operate_all\":true,\"vul_type\":\"app_vul\",\"vul_id_list\":[\"X\"]}")->type =
        "apps";
    /* null is absent; unknown keys are ignored; "" filters nothing */
    ok(&t, 3,
       "{\"operate_all\":true,\"image_type\":null,\"scan_status\":null,\"namespace\":null,"
       "\"image_name\":null,\"image_version\":null,\"image_id\":null,\"latest_version\":null,"
       "\"image_size\":null,\"start_latest_update_time\":null,\"end_latest_update_time\":null,"
       "\"start_latest_scan_time\":null,\"end_latest_scan_time\":null,\"has_malicious_file\":null,"
       "\"has_vul\":null,\"has_unsafe_setting\":null,\"risky\":null,\"severity_level\":null,"
       "\"instance_name\":null,\"instance_id\":null,\"cicd_name\":null,"
       "\"build_command_risk_level\":null,\"build_command_risk_name\":null,"
       "\"build_command_rule_id_list\":null,\"has_container\":null,\"vul_id_list\":null,"
       "\"vul_type\":null,\"image_id_list\":null}");
    ok(&t, 3, "{\"operate_all\":true,\"foo\":1,\"bar\":{\"x\":[1,\"y\"]},\"Operate_All\":false}");
    ok(&t, 3,
       "{\"operate_all\":true,\"namespace\":\"\",\"image_name\":\"\",\"image_version\":\"\","
       "\"instance_name\":\"\",\"cicd_name\":\"\",\"image_id\":\"\",\"instance_id\":\"\"}");
    ok(&t, 3, "{\"operate_all\":true,\"latest_version\":false}");
    ok(&t, 1, "{\"operate_all\":true,\"latest_version\":true}");
    run_table(&t);
    free(s65536);
    free(s65535);
    free(s129);
    free(s128);
    free(l10001);
    free(l10000);
    free(v2049);
    free(v2048);
    free(v129);
    free(r2049);
    free(r2048);
    free(r201);
}

static void test_unparsable_bodies(void **state)
{
    (void)state;
    static const char *bodies[] = {
        "not json", "{", "{\"operate_all\":true", "{\"operate_all\":true}}", "{\"a\":1,}",
        "[]", "[{\"operate_all\":true}]", "\"operate_all\"", "42", "true", "null",
        "{\"operate_all\":true,\"image_name\":\"\xff\xfe\"}", "{'operate_all':true}",
        "{\"operate_all\":tru}",
    };
    table t = {0};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        add(&t, h_strdupf("%s", bodies[i]), 400, "HSS.0002", NULL);
    /* 200,000 levels of nesting: refused, not a stack overflow */
    char *deep = h_repeat('[', 200000);
    add(&t, deep, 400, "HSS.0002", NULL);
    char *deep_obj = malloc(6 * 100000 + 64);
    if (!deep_obj)
        abort();
    size_t o = (size_t)sprintf(deep_obj, "{\"operate_all\":true,\"x\":");
    for (int i = 0; i < 100000; i++)
        o += (size_t)sprintf(deep_obj + o, "{\"a\":");
    deep_obj[o] = '\0';
    add(&t, deep_obj, 400, "HSS.0002", NULL);
    /* 40,000 unknown keys are still just ignored */
    char *wide = malloc(40000 * 16 + 64);
    if (!wide)
        abort();
    o = (size_t)sprintf(wide, "{\"operate_all\":true");
    for (int i = 0; i < 40000; i++)
        o += (size_t)sprintf(wide + o, ",\"k%d\":%d", i, i);
    sprintf(wide + o, "}");
    add(&t, wide, 200, NULL, NULL)->total = 3;
    run_table(&t);
}

/* A statistic body of len bytes (OPERATE_ALL, then spaces) as the admin:
 * counted up to 1 MiB, 413 above. With Content-Length and Expect:
 * 100-continue, or chunked (no length known up front). */
static void check_body_of_len(size_t len, bool chunked)
{
    char *body = h_repeat(' ', len);
    memcpy(body, OPERATE_ALL, strlen(OPERATE_ALL));
    char *tok = h_strdupf("X-Auth-Token: %s", T_ADMIN);
    char *reg = h_strdupf("region: %s", S.region);
    const char *hdrs[] = {tok, reg, chunked ? NULL : "Expect: 100-continue", NULL};
    http_req rq = {.method = "POST",
                   .path = "/v5/P1/image/security-report/statistic",
                   .query = "security_report_type=vulnerability",
                   .headers = hdrs,
                   .body = body,
                   .body_len = len,
                   .content_type = "application/json",
                   .chunked = chunked};
    http_resp r;
    http_do(&S, &rq, &r);
    if (len <= H_MIB) {
        assert_status(&r, 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "total_num")), 3);
    } else {
        assert_api_error(&r, 413, "HSS.0001", NULL);
    }
    http_resp_free(&r);
    free(tok);
    free(reg);
    free(body);
}

/* 1 MiB is the limit: exactly 1 MiB passes, one byte more is 413. */
static void test_body_limit(void **state)
{
    (void)state;
    size_t lens[] = {H_MIB - 1, H_MIB, H_MIB + 1, 4 * H_MIB};
    for (size_t i = 0; i < 4; i++)
        check_body_of_len(lens[i], false);
    /* Without Content-Length (chunked), the limit holds all the same. */
    size_t clens[] = {100000, H_MIB, H_MIB + 1, 3 * H_MIB};
    for (size_t i = 0; i < 4; i++)
        check_body_of_len(clens[i], true);
    /* The server is still fine afterwards. */
    stat_res st = api_stat(&S, T_ADMIN, "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_total(st, 3, "after the big bodies");
}

/* route -> authentication -> project -> region -> query -> EP -> role -> body */
static void test_check_order(void **state)
{
    (void)state;
    const char *path = "/v5/P1/image/security-report/statistic";
    http_resp r;
    /* no token beats everything after it */
    api_call(&S, "POST", path, "security_report_type=bogus&enterprise_project_id=ep-b", NULL,
             NULL, "not json", "application/json", &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    /* project beats region, query, EP and body */
    api_call(&S, "POST", path, "security_report_type=bogus&enterprise_project_id=ep-b", T_P2,
             NULL, "not json", "application/json", &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    /* region beats query, EP and body */
    api_call(&S, "POST", path, "security_report_type=bogus&enterprise_project_id=ep-b", T_READER,
             NULL, "not json", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    api_call(&S, "POST", path, "security_report_type=bogus&enterprise_project_id=ep-b", T_READER,
             "elsewhere-1", "not json", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    /* query beats EP and body */
    api_call(&S, "POST", path, "security_report_type=bogus&enterprise_project_id=ep-b", T_READER,
             S.region, "not json", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "security_report_type");
    http_resp_free(&r);
    /* EP beats body */
    api_call(&S, "POST", path, "security_report_type=apps&enterprise_project_id=ep-b", T_READER,
             S.region, "not json", "application/json", &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    api_call(&S, "POST", path, "security_report_type=apps&enterprise_project_id=ep-b", T_READER,
             S.region, "{\"image_type\":\"bogus\"}", "application/json", &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    /* parse error (HSS.0002) when everything before it passes */
    api_call(&S, "POST", path, "security_report_type=apps&enterprise_project_id=ep-a", T_READER,
             S.region, "not json", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0002", NULL);
    http_resp_free(&r);
    /* a body over the limit loses to credentials and to the EP check */
    char *big = h_repeat(' ', 2 * H_MIB);
    memcpy(big, OPERATE_ALL, strlen(OPERATE_ALL));
    char *tok = h_strdupf("X-Auth-Token: %s", T_READER);
    char *reg = h_strdupf("region: %s", S.region);
    const char *h_none[] = {reg, "Expect: 100-continue", NULL};
    const char *h_reader[] = {tok, reg, "Expect: 100-continue", NULL};
    http_req rq = {.method = "POST", .path = path,
                   .query = "security_report_type=apps&enterprise_project_id=ep-b",
                   .headers = h_none, .body = big, .body_len = 2 * H_MIB,
                   .content_type = "application/json"};
    http_do(&S, &rq, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    rq.headers = h_reader;
    http_do(&S, &rq, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    rq.query = "security_report_type=apps&enterprise_project_id=ep-a";
    http_do(&S, &rq, &r);
    assert_api_error(&r, 413, "HSS.0001", NULL);
    http_resp_free(&r);
    free(big);
    free(tok);
    free(reg);
}

/* Any value of any type in any field, and randomly damaged bodies: the
 * answer is always 200 or a well-formed 400, and the server lives on
 * (its exit status at teardown also says it did not leak or crash). */
static void test_hostile_bodies(void **state)
{
    (void)state;
    static const char *fields[] = {
        "operate_all", "image_id_list", "image_type", "scan_status", "namespace", "image_name",
        "image_version", "image_id", "latest_version", "image_size", "start_latest_update_time",
        "end_latest_update_time", "start_latest_scan_time", "end_latest_scan_time",
        "has_malicious_file", "has_vul", "has_unsafe_setting", "risky", "severity_level",
        "instance_name", "instance_id", "cicd_name", "build_command_risk_level",
        "build_command_risk_name", "build_command_rule_id_list", "has_container", "vul_id_list",
        "vul_type"};
    static const char *values[] = {
        "null", "true", "false", "0", "-1", "1.5", "-0.0", "1e308", "\"\"", "\"x\"",
        "\"\\u0000\"", "\"\\ud800\"", "[]", "{}", "[1]", "[null]", "[\"\"]", "[[\"a\"]]",
        "{\"a\":[]}", "9223372036854775807", "-9223372036854775808", "\"Low\"", "\"linux_vul\"",
        "\"high\"", "\"harbor\"", "\"success\""};
    int fails = 0;
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            for (int all = 0; all < 2; all++) {
                char *body = all ? h_strdupf("{\"operate_all\":true,\"%s\":%s}", fields[f], values[v])
                                 : h_strdupf("{\"%s\":%s,\"image_id_list\":[\"%s\"]}", fields[f],
                                             values[v], ID1);
                stat_res st = api_stat(&S, T_ADMIN, "P1", VUL, NULL, body);
                bool good = (st.status == 200 && st.total >= 0) ||
                            (st.status == 400 && (strcmp(st.code, "HSS.0001") == 0 ||
                                                  strcmp(st.code, "HSS.0002") == 0) && st.msg[0]);
                /* a value of the wrong type is HSS.0001 naming the field */
                if (st.status == 400 && strcmp(st.code, "HSS.0001") == 0 &&
                    !strstr(st.msg, fields[f]) && !strstr(st.msg, "image_id_list"))
                    good = false;
                if (!good) {
                    fails++;
                    print_error("body %s: got %ld %s\n", body, st.status, st.body);
                }
                free(body);
            }
        }
    }
    /* random damage to a valid body, fixed seed */
    static const char base[] =
        "{\"operate_all\":true,\"image_type\":\"private_image\",\"namespace\":\"shop\","
        "\"vul_id_list\":[\"CVE-A\",\"CVE-B\"],\"image_size\":100,\"has_vul\":true,"
        "\"build_command_rule_id_list\":[\"DS1\"],\"severity_level\":\"High\"}";
    unsigned long long x = 88172645463325252ULL;
    size_t blen = sizeof base - 1;
    char *tok = h_strdupf("X-Auth-Token: %s", T_ADMIN);
    char *reg = h_strdupf("region: %s", S.region);
    const char *hdrs[] = {tok, reg, NULL};
    for (int n = 0; n < 400; n++) {
        char body[sizeof base + 64];
        memcpy(body, base, blen + 1);
        size_t len = blen;
        int edits = 1 + (int)(x % 4);
        for (int e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t pos = (size_t)(x % len);
            switch ((x >> 32) % 4) {
            case 0: body[pos] = (char)(x >> 40); break;                         /* any byte */
            case 1: memmove(body + pos, body + pos + 1, len - pos); len--; break; /* delete */
            case 2:
                if (len + 1 < sizeof body) { /* insert a JSON-ish char */
                    memmove(body + pos + 1, body + pos, len - pos + 1);
                    body[pos] = "{}[]\",:0-e\\ "[(x >> 48) % 12];
                    len++;
                }
                break;
            default: body[pos] = (char)('0' + (x >> 40) % 10); break;
            }
        }
        http_resp r;
        http_req rq = {.method = "POST", .path = "/v5/P1/image/security-report/statistic",
                       .query = "security_report_type=vulnerability", .headers = hdrs,
                       .body = body, .body_len = len, .content_type = "application/json"};
        http_do(&S, &rq, &r);
        const char *code = json_string_value(json_object_get(r.json, "error_code"));
        bool good = r.status == 200 ||
                    (r.status == 400 && code &&
                     (strcmp(code, "HSS.0001") == 0 || strcmp(code, "HSS.0002") == 0));
        if (!good) {
            fails++;
            print_error("damaged body #%d: got %ld %s\n", n, r.status, r.status ? r.body : r.error);
        }
        http_resp_free(&r);
    }
    free(tok);
    free(reg);
    assert_int_equal(fails, 0);
    stat_res st = api_stat(&S, T_ADMIN, "P1", VUL, NULL, OPERATE_ALL);
    assert_stat_total(st, 3, "after the hostile bodies");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example),
        cmocka_unit_test(test_auth_rows),
        cmocka_unit_test(test_query_and_region_rows),
        cmocka_unit_test(test_starting_set_rows),
        cmocka_unit_test(test_body_field_rows),
        cmocka_unit_test(test_unparsable_bodies),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_hostile_bodies),
    };
    int failed = cmocka_run_group_tests_name("statistic_errors", tests, setup, teardown);
    return failed + harness_failures();
}
