/* test_image_lists.c - ListRegistryImages, ListCicdImages and
 * ListImageLocal over randomized data (docs/api.md "Image lists"):
 *
 *   - one truth: for every filter tried, total_num equals the number of
 *     images the statistic selects (the statistic over apps with one app
 *     per image counts images), and each item's vul_num,
 *     unsafe_setting_num and malicious_file_num equal the statistic for
 *     that image alone;
 *   - paging: the pages of every limit and offset concatenate to the
 *     whole list, in id order or by latest_scan_time asc/desc;
 *   - the SDK's JSON types (id a number, counts integers, bools) and
 *     the items' fields equal what was ingested;
 *   - bounds and refusals name the parameter; other EPs are not listed.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define N_IMAGES 60
#define REG "/v5/P1/image/registries/images"
#define CICD "/v5/P1/image/cicd/images"
#define LOCAL "/v5/P1/image/local-repositories"

static srv_t S;
static char *T_ADM, *T_EP0;

typedef struct {
    long long id;
    const char *type;
    char name[32], ns[16], version[8], digest[40];
    long long size, scan_time;
    int vuls, risks, malwares;
} img;
static img IMGS[N_IMAGES];

static const char *TYPES[] = {"private_image", "shared_image", "cicd", "local_image", "harbor"};

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static char *doc_of(const img *m)
{
    char *recs = h_strdupf("%s", "");
    for (int i = 0; i < m->vuls; i++) {
        char *n = h_strdupf("%s%s{\"vul_id\":\"CVE-%d\",\"vul_type\":\"linux_vul\",\"severity\":\"%s\"}",
                            recs, i ? "," : "", i, i % 2 ? "low" : "high");
        free(recs);
        recs = n;
    }
    char *risks = h_strdupf("%s", "");
    for (int i = 0; i < m->risks; i++) {
        char *n = h_strdupf("%s%s{\"check_name\":\"c\",\"check_rule_id\":\"r%d\",\"severity\":\"low\"}",
                            risks, i ? "," : "", i);
        free(risks);
        risks = n;
    }
    char *mal = h_strdupf("%s", "");
    for (int i = 0; i < m->malwares; i++) {
        char *n = h_strdupf("%s%s{\"file_path\":\"/m%d\"}", mal, i ? "," : "", i);
        free(mal);
        mal = n;
    }
    char *d = h_strdupf(
        "{\"image\":{\"image_type\":\"%s\",\"namespace\":\"%s\",\"image_name\":\"%s\","
        "\"image_version\":\"%s\",\"image_id\":\"sha256:%s\",\"image_digest\":\"%s\","
        "\"image_size\":%lld,\"latest_update_time\":%lld,\"latest_scan_time\":%lld,"
        "\"scan_status\":\"success\",\"container_num\":%d%s},"
        "\"vulnerabilities\":[%s],\"risk_configs\":[%s],\"malwares\":[%s],"
        "\"apps\":[{\"app_name\":\"one\"}]}\n",
        m->type, strcmp(m->type, "local_image") == 0 ? "" : m->ns, m->name, m->version, m->name,
        m->digest, m->size, m->scan_time, m->scan_time, m->vuls,
        strcmp(m->type, "cicd") == 0 ? ",\"cicd_name\":\"pipe\"" : "", recs, risks, mal);
    free(recs);
    free(risks);
    free(mal);
    return d;
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "list-pw-123", "P1", "admin", "all");
    T_EP0 = user_token(&S, "acme", "ria", "list-pw-456", "P1", "reader", "0");
    if (!T_ADM || !T_EP0)
        return -1;
    char *body = h_strdupf("%s", "");
    for (int i = 0; i < N_IMAGES; i++) {
        img *m = &IMGS[i];
        m->type = TYPES[rnd(5)];
        snprintf(m->name, sizeof m->name, "img%02d", i);
        snprintf(m->ns, sizeof m->ns, "ns%u", rnd(3));
        snprintf(m->version, sizeof m->version, "v%u", rnd(4));
        snprintf(m->digest, sizeof m->digest, "sha256:d%02d", i);
        m->size = 1000 + rnd(1000);
        m->scan_time = 1000 + rnd(50); /* ties on purpose */
        m->vuls = (int)rnd(4);
        m->risks = (int)rnd(3);
        m->malwares = (int)rnd(2);
        char *d = doc_of(m);
        char *n = h_strdupf("%s%s", body, d);
        free(d);
        free(body);
        body = n;
    }
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "0", body, true, &r);
    free(body);
    char ids[N_IMAGES][32];
    int n = ingest_ids(&r, ids, N_IMAGES);
    http_resp_free(&r);
    if (n != N_IMAGES)
        return -1;
    for (int i = 0; i < N_IMAGES; i++)
        IMGS[i].id = atoll(ids[i]);
    /* one image in another EP, which EP-0 callers must not see */
    api_ingest(&S, T_ADM, "P1", "ep-b",
               "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"hidden\"}}", false,
               &r);
    long st = r.status;
    http_resp_free(&r);
    return st == 200 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    free(T_EP0);
    return srv_stop(&S, true);
}

static json_t *list(const char *path, const char *query, const char *token, long want)
{
    http_resp r;
    api_call(&S, "GET", path, query, token, NULL, NULL, NULL, &r);
    if (r.status != want || !r.json) {
        fprintf(stderr, "GET %s?%s: %ld %s\n", path, query ? query : "", r.status, r.body);
        http_resp_free(&r);
        fail();
    }
    json_t *j = json_incref(r.json);
    http_resp_free(&r);
    return j;
}

static long long num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) {
        fprintf(stderr, "%s is not an integer\n", k);
        fail();
    }
    return (long long)json_integer_value(v);
}

static const img *by_digest(const char *d)
{
    for (int i = 0; i < N_IMAGES; i++)
        if (strcmp(IMGS[i].digest, d) == 0)
            return &IMGS[i];
    return NULL;
}

/* The statistic's count of images selected by extra (apps: one per image). */
static long long stat_images(const char *extra, const char *type)
{
    char *e = type ? h_strdupf("\"image_type\":\"%s\"%s%s", type, extra ? "," : "",
                               extra ? extra : "")
                   : h_strdupf("%s", extra ? extra : "");
    long long n = api_count(&S, T_ADM, "P1", "apps", "0", *e ? e : NULL);
    free(e);
    return n;
}

static bool is_registry(const char *t)
{
    return strcmp(t, "cicd") != 0 && strcmp(t, "local_image") != 0;
}

static void test_items_and_types(void **state)
{
    (void)state;
    json_t *j = list(REG, "limit=200", T_ADM, 200);
    int want = 0;
    for (int i = 0; i < N_IMAGES; i++)
        want += is_registry(IMGS[i].type);
    assert_int_equal(num(j, "total_num"), want);
    json_t *items = json_object_get(j, "data_list");
    assert_int_equal(json_array_size(items), want);
    long long prev = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const img *m = by_digest(json_string_value(json_object_get(it, "image_digest")));
        assert_non_null(m);
        assert_int_equal(num(it, "id"), m->id); /* a JSON number */
        assert_true(m->id > prev);               /* id order by default */
        prev = m->id;
        assert_string_equal(json_string_value(json_object_get(it, "image_name")), m->name);
        assert_string_equal(json_string_value(json_object_get(it, "namespace")), m->ns);
        assert_string_equal(json_string_value(json_object_get(it, "image_version")), m->version);
        assert_string_equal(json_string_value(json_object_get(it, "image_type")), m->type);
        assert_string_equal(json_string_value(json_object_get(it, "scan_status")), "success");
        assert_int_equal(num(it, "image_size"), m->size);
        assert_int_equal(num(it, "latest_scan_time"), m->scan_time);
        assert_int_equal(num(it, "vul_num"), m->vuls);
        assert_int_equal(num(it, "unsafe_setting_num"), m->risks);
        assert_int_equal(num(it, "malicious_file_num"), m->malwares);
        assert_true(json_is_boolean(json_object_get(it, "latest_version")));
        /* each count is the statistic for this image alone */
        char *e = h_strdupf("{\"image_id_list\":[\"%lld\"]}", m->id);
        static const char *types[3] = {"vulnerability", "risk-config", "malwares"};
        static const char *keys[3] = {"vul_num", "unsafe_setting_num", "malicious_file_num"};
        for (int t = 0; t < 3; t++) {
            stat_res st = api_stat(&S, T_ADM, "P1", types[t], "0", e);
            assert_int_equal(st.total, num(it, keys[t]));
        }
        free(e);
    }
    json_decref(j);

    j = list(CICD, "limit=200", T_ADM, 200);
    json_array_foreach(json_object_get(j, "data_list"), i, it) {
        assert_null(json_object_get(it, "id"));
        assert_string_equal(json_string_value(json_object_get(it, "cicd_name")), "pipe");
        assert_string_equal(json_string_value(json_object_get(it, "image_type")), "cicd");
    }
    assert_int_equal(num(j, "total_num"), stat_images(NULL, "cicd"));
    json_decref(j);
    j = list(LOCAL, "limit=200", T_ADM, 200);
    json_array_foreach(json_object_get(j, "data_list"), i, it) {
        const img *m = by_digest(json_string_value(json_object_get(it, "image_digest")));
        assert_non_null(m);
        assert_int_equal(num(it, "container_num"), m->vuls);
        assert_int_equal(num(it, "component_num"), 1);
    }
    assert_int_equal(num(j, "total_num"), stat_images(NULL, "local_image"));
    json_decref(j);
}

/* total_num of a list with filter == statistic with the same body field. */
static void test_one_truth(void **state)
{
    (void)state;
    static const struct {
        const char *path, *query, *body, *type;
    } rows[] = {
        {CICD, "namespace=ns1", "\"namespace\":\"ns1\"", "cicd"},
        {CICD, "has_vul=true", "\"has_vul\":true", "cicd"},
        {CICD, "has_vul=false&has_malicious_file=true",
         "\"has_vul\":false,\"has_malicious_file\":true", "cicd"},
        {CICD, "latest_version=true", "\"latest_version\":true", "cicd"},
        {CICD, "image_size=1500&severity_level=High", "\"image_size\":1500,\"severity_level\":\"High\"",
         "cicd"},
        {CICD, "start_latest_scan_time=1010&end_latest_scan_time=1030",
         "\"start_latest_scan_time\":1010,\"end_latest_scan_time\":1030", "cicd"},
        {LOCAL, "image_name=img1", "\"image_name\":\"img1\"", "local_image"},
        {LOCAL, "has_container=true", "\"has_container\":true", "local_image"},
        {REG, "image_type=harbor&has_unsafe_setting=true", "\"has_unsafe_setting\":true", "harbor"},
        {REG, "image_type=shared_image&image_version=v2", "\"image_version\":\"v2\"",
         "shared_image"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *j = list(rows[i].path, rows[i].query, T_ADM, 200);
        long long want = stat_images(rows[i].body, rows[i].type);
        if (num(j, "total_num") != want)
            fprintf(stderr, "%s?%s: total_num %lld, statistic %lld\n", rows[i].path,
                    rows[i].query, num(j, "total_num"), want);
        assert_int_equal(num(j, "total_num"), want);
        json_decref(j);
    }
}

/* Every page of every order concatenates to the whole list. */
static void test_paging(void **state)
{
    (void)state;
    static const char *orders[] = {"", "&sort_key=latest_scan_time",
                                   "&sort_key=latest_scan_time&sort_dir=desc", "&sort_dir=desc"};
    for (size_t o = 0; o < 4; o++) {
        char *q = h_strdupf("limit=200%s", orders[o]);
        json_t *all = list(REG, q, T_ADM, 200);
        free(q);
        json_t *whole = json_object_get(all, "data_list");
        size_t n = json_array_size(whole);
        /* the order itself */
        for (size_t i = 1; i < n; i++) {
            json_t *a = json_array_get(whole, i - 1), *b = json_array_get(whole, i);
            long long ka = o == 1 || o == 2 ? num(a, "latest_scan_time") : 0;
            long long kb = o == 1 || o == 2 ? num(b, "latest_scan_time") : 0;
            bool desc = o >= 2;
            if (ka == kb)
                assert_true(desc && o == 3 ? num(a, "id") > num(b, "id")
                            : desc         ? num(a, "id") > num(b, "id")
                                           : num(a, "id") < num(b, "id"));
            else
                assert_true(desc ? ka > kb : ka < kb);
        }
        static const int limits[] = {1, 7, 13};
        for (size_t l = 0; l < 3; l++)
            for (size_t off = 0; off <= n + 2; off += (size_t)limits[l]) {
                char *pq = h_strdupf("limit=%d&offset=%zu%s", limits[l], off, orders[o]);
                json_t *p = list(REG, pq, T_ADM, 200);
                free(pq);
                assert_int_equal(num(p, "total_num"), (long long)n);
                json_t *items = json_object_get(p, "data_list");
                size_t want = off >= n ? 0 : (n - off < (size_t)limits[l] ? n - off : (size_t)limits[l]);
                assert_int_equal(json_array_size(items), want);
                for (size_t i = 0; i < want; i++)
                    assert_int_equal(num(json_array_get(items, i), "id"),
                                     num(json_array_get(whole, off + i), "id"));
                json_decref(p);
            }
        json_decref(all);
    }
    /* the deepest offset the SDK allows: an empty page, the same total */
    json_t *p = list(REG, "offset=2000000&limit=200", T_ADM, 200);
    assert_int_equal(json_array_size(json_object_get(p, "data_list")), 0);
    json_decref(p);
}

static void test_scope_and_refusals(void **state)
{
    (void)state;
    json_t *a = list(REG, "enterprise_project_id=all_granted_eps&limit=200", T_ADM, 200);
    json_t *z = list(REG, "limit=200", T_EP0, 200);
    assert_int_equal(num(a, "total_num"), num(z, "total_num") + 1);
    json_decref(a);
    json_decref(z);
    json_t *e = list(REG, "enterprise_project_id=ep-b", T_EP0, 403);
    json_decref(e);
    static const struct {
        const char *path, *query, *part;
    } bad[] = {
        {REG, "limit=0", "limit"},           {REG, "limit=201", "limit"},
        {CICD, "limit=9", "limit"},          {LOCAL, "limit=9", "limit"},
        {REG, "offset=2000001", "offset"},   {REG, "offset=-1", "offset"},
        {REG, "limit=1.0", "limit"},         {REG, "has_vul=1", "has_vul"},
        {REG, "image_type=cicd", "image_type"}, {REG, "sort_key=id", "sort_key"},
        {REG, "sort_dir=up", "sort_dir"},    {REG, "registry_name=x", "registry_name"},
        {LOCAL, "host_name=h", "host_name"}, {CICD, "scan_status=done", "scan_status"},
        {REG, "start_latest_scan_time=5&end_latest_scan_time=4", "start_latest_scan_time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_resp r;
        api_call(&S, "GET", bad[i].path, bad[i].query, T_ADM, NULL, NULL, NULL, &r);
        assert_api_error(&r, 400, "HSS.0001", bad[i].part);
        http_resp_free(&r);
    }
    /* an empty value (the Go SDK's bare key) is not a filter */
    json_t *b = list(REG, "namespace&limit=200&image_type", T_ADM, 200);
    json_t *c = list(REG, "limit=200", T_ADM, 200);
    assert_int_equal(num(b, "total_num"), num(c, "total_num"));
    json_decref(b);
    json_decref(c);
    json_t *w = list(CICD, "scan_status=waiting_for_scan", T_ADM, 200);
    assert_int_equal(num(w, "total_num"), 0);
    json_decref(w);
}

/* Strings that JSON must escape come back as they went in. */
static void test_escaping(void **state)
{
    (void)state;
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "esc",
               "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"q\\\"b\\\\c\\u0001\\n\u00e9\","
               "\"namespace\":\"\\t<>&\\u2028\"}}",
               false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    json_t *j = list(REG, "enterprise_project_id=esc", T_ADM, 200);
    json_t *it = json_array_get(json_object_get(j, "data_list"), 0);
    assert_int_equal(num(j, "total_num"), 1);
    assert_string_equal(json_string_value(json_object_get(it, "image_name")), "q\"b\\c\001\n\u00e9");
    assert_string_equal(json_string_value(json_object_get(it, "namespace")), "\t<>&\u2028");
    json_decref(j);
}

/* Rows freed by deletes are reused by later images: the order stays the
 * ids', and every page follows the file at once. */
static void test_deletes_and_reused_rows(void **state)
{
    (void)state;
    http_resp r;
    char ids[6][32];
    api_ingest(&S, T_ADM, "P1", "del",
               "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"d0\"}}\n"
               "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"d1\"}}\n"
               "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"d2\"}}\n"
               "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"d3\"}}\n",
               true, &r);
    assert_int_equal(ingest_ids(&r, ids, 4), 4);
    http_resp_free(&r);
    for (int i = 0; i < 2; i++) { /* d0 and d2 */
        char *path = h_strdupf("/v5/P1/image/scan-results/%s", ids[i * 2]);
        api_call(&S, "DELETE", path, NULL, T_ADM, S.region, NULL, NULL, &r);
        assert_status(&r, 200);
        http_resp_free(&r);
        free(path);
    }
    api_ingest(&S, T_ADM, "P1", "del",
               "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"d4\"}}\n", true, &r);
    assert_int_equal(ingest_ids(&r, ids + 4, 1), 1);
    http_resp_free(&r);
    static const char *want[] = {"d1", "d3", "d4"};
    for (int desc = 0; desc < 2; desc++) {
        json_t *j = list(REG, desc ? "enterprise_project_id=del&sort_dir=desc"
                                   : "enterprise_project_id=del",
                         T_ADM, 200);
        json_t *items = json_object_get(j, "data_list");
        assert_int_equal(num(j, "total_num"), 3);
        assert_int_equal(json_array_size(items), 3);
        for (int i = 0; i < 3; i++)
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(items, (size_t)i), "image_name")),
                want[desc ? 2 - i : i]);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_and_types),
        cmocka_unit_test(test_one_truth),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_scope_and_refusals),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_deletes_and_reused_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
