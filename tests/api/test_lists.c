/* test_lists.c - the finding lists (list.h) against the statistic: one truth.
 *
 * The inventory is made by the project's own generator (gen.h) with a
 * fixed seed: 90 images of every type over the EPs "0" and "ep-a" of
 * project P1, and 6 more in project P2. Each is ingested over HTTP, so
 * the test knows every image's id, type and EP. Then, for every image and
 * every per-image list, total_num must equal the statistic for the same
 * report type with image_id_list = that image (and the same record filter
 * where the statistic has one); paging through a whole list must yield
 * exactly total_num items; each count an item shows (failed_rule_num,
 * image_num, risk_num, undeal_number) must equal the length or total of
 * the list it summarises, or the statistic of the same selection. Then the
 * tenant-wide lists against operate_all statistics per image type,
 * deep offsets against a walk, EP scopes, other projects and bad
 * parameters. Every comparison is exact; mismatches are all printed before
 * the test fails.
 */
#include "harness.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/gen.h"
#include "imgsec/list.h"
#include "imgsec/records.h"
#include "../support/name_recount.h"

#define N_IMAGES 90
#define N_P2 6
#define SEED 20261206

static srv_t S;
static char *T_WRITER, *T_P1_ALL, *T_EP0, *T_P2;

typedef struct {
    char id[32];
    char type[32];
    char ep[16];
    char project[4];
} image;
static image IMG[N_IMAGES + N_P2];
static int N_IMG;
static int MISMATCHES;

static const char *const EPS[] = {"0", "ep-a"};

/* ---- calls ---- */

/* GET a list; the parsed response (caller decrefs) or NULL when not 200. */
static json_t *list_get(const char *token, const char *project, const char *path, const char *query,
                        long *status)
{
    char *full = h_strdupf("/v5/%s/%s", project, path);
    http_resp r;
    long st = api_call(&S, "GET", full, query, token, H_REGION, NULL, "application/json", &r);
    if (status)
        *status = st;
    json_t *out = NULL;
    if (st == 200 && r.json)
        out = json_incref(r.json);
    else if (!status)
        fprintf(stderr, "GET %s?%s -> %ld %s\n", full, query ? query : "", st, r.body ? r.body : "");
    http_resp_free(&r);
    free(full);
    return out;
}

static long long total_of(const json_t *o)
{
    json_t *t = json_object_get(o, "total_num");
    return json_is_integer(t) ? (long long)json_integer_value(t) : -1;
}

/* Every item of a list, paging with limit 200; NULL on any failure. The
 * number of items must equal total_num on every page. */
static json_t *list_all(const char *token, const char *path, const char *query)
{
    json_t *all = json_array();
    long long total = -1;
    for (long long offset = 0;; offset += 200) {
        char *q = h_strdupf("%s%senterprise_project_id=all_granted_eps&limit=200&offset=%lld",
                            query ? query : "", query && *query ? "&" : "", offset);
        json_t *page = list_get(token, "P1", path, q, NULL);
        free(q);
        if (!page) {
            json_decref(all);
            return NULL;
        }
        long long t = total_of(page);
        if (total >= 0 && t != total) {
            fprintf(stderr, "%s: total_num changed between pages: %lld then %lld\n", path, total, t);
            MISMATCHES++;
        }
        total = t;
        json_t *items = json_object_get(page, "data_list");
        json_array_extend(all, items);
        size_t got = json_array_size(items);
        json_decref(page);
        if (got == 0 || (long long)json_array_size(all) >= total)
            break;
    }
    if ((long long)json_array_size(all) != total) {
        fprintf(stderr, "%s?%s: paged %zu items, total_num %lld\n", path, query ? query : "",
                json_array_size(all), total);
        MISMATCHES++;
    }
    return all;
}

/* The statistic of type over the body, in all granted EPs. */
static long long stat_of(const char *type, const char *body)
{
    stat_res r = api_stat(&S, T_P1_ALL, "P1", type, "all_granted_eps", body);
    if (r.status != 200) {
        fprintf(stderr, "statistic %s %s -> %ld %s\n", type, body, r.status, r.body);
        return -2;
    }
    return r.total;
}

static long long stat_image(const char *type, const char *id, const char *extra)
{
    char *body = h_strdupf("{\"image_id_list\":[\"%s\"]%s%s}", id, extra ? "," : "",
                           extra ? extra : "");
    long long n = stat_of(type, body);
    free(body);
    return n;
}

static void expect_eq(long long got, long long want, const char *what, const char *detail)
{
    if (got != want) {
        fprintf(stderr, "MISMATCH %s (%s): list says %lld, expected %lld\n", what, detail, got, want);
        MISMATCHES++;
    }
}

static long long int_field(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* ---- setup ---- */

static int ingest_doc(const char *token, const char *project, const char *ep, json_t *doc)
{
    char *text = h_json_text(doc);
    http_resp r;
    long st = api_ingest(&S, token, project, ep, text, false, &r);
    free(text);
    char ids[1][32];
    int ok = st == 200 && ingest_ids(&r, ids, 1) == 1;
    if (ok) {
        image *im = &IMG[N_IMG++];
        snprintf(im->id, sizeof im->id, "%s", ids[0]);
        const char *t = json_string_value(json_object_get(json_object_get(doc, "image"), "image_type"));
        snprintf(im->type, sizeof im->type, "%s", t ? t : "");
        snprintf(im->ep, sizeof im->ep, "%s", ep);
        snprintf(im->project, sizeof im->project, "%s", project);
    } else {
        fprintf(stderr, "ingest -> %ld %s\n", st, r.body ? r.body : "");
    }
    http_resp_free(&r);
    return ok ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_WRITER = user_token(&S, "acme", "wes", "wes-pw-123", "P1", "writer", "all");
    T_P1_ALL = user_token(&S, "acme", "ann", "ann-pw-123", "P1", "reader", "all");
    T_EP0 = user_token(&S, "acme", "bob", "bob-pw-123", "P1", "reader", "0");
    T_P2 = user_token(&S, "acme", "pat", "pat-pw-123", "P2", "writer", "all");
    if (!T_WRITER || !T_P1_ALL || !T_EP0 || !T_P2)
        return -1;
    gen_options o = {.seed = SEED, .images = N_IMAGES + N_P2, .eps = EPS, .n_eps = 2,
                     .records_per_image = 60};
    gen *g = gen_new(&o);
    if (!g)
        return -1;
    const char *ep;
    json_t *doc;
    int rc = 0;
    for (int k = 0; rc == 0 && (doc = gen_next(g, &ep)); k++) {
        bool p2 = k >= N_IMAGES;
        rc = ingest_doc(p2 ? T_P2 : T_WRITER, p2 ? "P2" : "P1", ep, doc);
        json_decref(doc);
    }
    bool failed = gen_failed(g);
    gen_free(g);
    return rc == 0 && !failed && N_IMG == N_IMAGES + N_P2 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_WRITER);
    free(T_P1_ALL);
    free(T_EP0);
    free(T_P2);
    return srv_stop(&S, true);
}

/* ---- one image's lists ---- */

typedef struct {
    const char *path;      /* after /v5/P1/image/<id>/ */
    const char *version;   /* tag_name or image_version */
    const char *report;
} image_list;

static const image_list IMAGE_LISTS[] = {
    {"vulnerabilities", "tag_name", "vulnerability"},
    {"apps", "tag_name", "apps"},
    {"malwares", "tag_name", "malwares"},
    {"files", "tag_name", "files"},
    {"sensitive", "image_version", "sensitive-info"},
    {"non-compliant-app", "image_version", "non-compliant-app"},
};

static void test_image_lists_match_statistic(void **state)
{
    (void)state;
    MISMATCHES = 0;
    int nonzero = 0;
    for (int k = 0; k < N_IMAGES; k++) {
        const image *im = &IMG[k];
        for (size_t l = 0; l < sizeof IMAGE_LISTS / sizeof IMAGE_LISTS[0]; l++) {
            char *path = h_strdupf("image/%s/%s", im->id, IMAGE_LISTS[l].path);
            /* the Go SDK's bare keys for its empty required strings */
            char *q = h_strdupf("image_type=%s&namespace&image_name&%s", im->type,
                                IMAGE_LISTS[l].version);
            json_t *all = list_all(T_P1_ALL, path, q);
            long long want = stat_image(IMAGE_LISTS[l].report, im->id, NULL);
            expect_eq(all ? (long long)json_array_size(all) : -1, want, path, "all records");
            nonzero += want > 0;
            json_decref(all);
            free(q);
            free(path);
        }
        /* the vulnerability list's type filter is the statistic's vul_type */
        for (int t = 0; t < 2; t++) {
            static const char *const VT[] = {"linux_vul", "app_vul"};
            char *path = h_strdupf("image/%s/vulnerabilities", im->id);
            char *q = h_strdupf("image_type=%s&type=%s", im->type, VT[t]);
            char *extra = h_strdupf("\"vul_type\":\"%s\"", VT[t]);
            json_t *all = list_all(T_P1_ALL, path, q);
            expect_eq(all ? (long long)json_array_size(all) : -1,
                      stat_image("vulnerability", im->id, extra), path, q);
            json_decref(all);
            free(extra);
            free(q);
            free(path);
        }
    }
    assert_true(nonzero > 200); /* the data exercises the comparison */
    assert_int_equal(MISMATCHES, 0);
}

/* An app's vul_num is the number of the image's vulnerabilities (its
 * vulnerability list) with the app's name and version. */
static void test_app_vul_num(void **state)
{
    (void)state;
    MISMATCHES = 0;
    long long with_vuls = 0;
    for (int k = 0; k < N_IMAGES; k += 3) {
        const image *im = &IMG[k];
        char *q = h_strdupf("image_type=%s", im->type);
        char *ap = h_strdupf("image/%s/apps", im->id), *vp = h_strdupf("image/%s/vulnerabilities", im->id);
        json_t *apps = list_all(T_P1_ALL, ap, q), *vuls = list_all(T_P1_ALL, vp, q);
        assert_non_null(apps);
        assert_non_null(vuls);
        size_t i, j;
        json_t *a, *v;
        json_array_foreach(apps, i, a) {
            long long want = 0;
            json_array_foreach(vuls, j, v) {
                json_t *an = json_object_get(a, "app_name"), *vn = json_object_get(v, "app_name");
                json_t *av = json_object_get(a, "app_version"), *vv = json_object_get(v, "version");
                want += json_equal(an, vn) && (av ? json_equal(av, vv) : vv == NULL);
            }
            expect_eq(int_field(a, "vul_num"), want, ap, json_string_value(json_object_get(a, "app_name")));
            with_vuls += want > 0;
        }
        json_decref(apps);
        json_decref(vuls);
        free(ap);
        free(vp);
        free(q);
    }
    fprintf(stderr, "apps with vulnerabilities: %lld\n", with_vuls);
    assert_int_equal(MISMATCHES, 0);
}

/* Baseline checks: the failed rules of all checks are the image's
 * risk-config records, and each check's count is its rules list. */
static void test_risk_configs_and_rules(void **state)
{
    (void)state;
    MISMATCHES = 0;
    int checks = 0;
    for (int k = 0; k < N_IMAGES; k++) {
        const image *im = &IMG[k];
        char *q = h_strdupf("image_type=%s&image_id=%s", im->type, im->id);
        json_t *groups = list_all(T_P1_ALL, "image/baseline/risk-configs", q);
        long long failed = 0;
        size_t g;
        json_t *item;
        json_array_foreach(groups, g, item) {
            long long n = int_field(item, "failed_rule_num");
            failed += n;
            checks++;
            const char *std = json_string_value(json_object_get(item, "standard"));
            const char *name = json_string_value(json_object_get(item, "check_name"));
            if (!std || !name)
                continue; /* a check without a standard has no rules route */
            char escaped[256];
            size_t e = 0;
            for (const char *p = name; *p && e + 4 < sizeof escaped; p++)
                e += (size_t)(*p == ' ' ? snprintf(escaped + e, 4, "%%20")
                                        : snprintf(escaped + e, 2, "%c", *p));
            char *path = h_strdupf("image/baseline/risk-configs/%s/rules", escaped);
            char *rq = h_strdupf("%s&standard=%s", q, std);
            json_t *rules = list_all(T_P1_ALL, path, rq);
            expect_eq(rules ? (long long)json_array_size(rules) : -1, n, path, "failed_rule_num");
            json_decref(rules);
            free(rq);
            free(path);
        }
        expect_eq(failed, stat_image("risk-config", im->id, NULL), "risk-configs", im->id);
        json_decref(groups);
        free(q);
    }
    assert_true(checks > 20);
    assert_int_equal(MISMATCHES, 0);
}

/* ---- tenant-wide lists ---- */

static const char *const TYPES[] = {"private_image", "shared_image", "local_image",
                                    "instance_image", "harbor", "jfrog", "cicd"};

/* The statistic summed over the image types of an SDK group word. */
static long long stat_types(const char *report, const char *word, const char *extra)
{
    long long sum = 0;
    for (int t = 0; t < 7; t++) {
        bool in = !word || strcmp(word, TYPES[t]) == 0 ||
                  (strcmp(word, "registry") == 0 && strcmp(TYPES[t], "local_image") != 0 &&
                   strcmp(TYPES[t], "cicd") != 0) ||
                  (strcmp(word, "local") == 0 && strcmp(TYPES[t], "local_image") == 0);
        if (!in)
            continue;
        char *body = h_strdupf("{\"operate_all\":true,\"image_type\":\"%s\"%s%s}", TYPES[t],
                               extra ? "," : "", extra ? extra : "");
        sum += stat_of(report, body);
        free(body);
    }
    return sum;
}

static long long list_total(const char *token, const char *path, const char *query)
{
    char *q = h_strdupf("%s&enterprise_project_id=all_granted_eps", query);
    json_t *o = list_get(token, "P1", path, q, NULL);
    free(q);
    long long t = o ? total_of(o) : -1;
    json_decref(o);
    return t;
}

static void test_global_lists_match_statistic(void **state)
{
    (void)state;
    MISMATCHES = 0;
    static const char *const WORDS[] = {"registry", "local", "cicd", "private_image", "jfrog"};
    for (size_t w = 0; w < sizeof WORDS / sizeof WORDS[0]; w++) {
        char *q = h_strdupf("image_type=%s", WORDS[w]);
        expect_eq(list_total(T_P1_ALL, "image/apps", q), stat_types("apps", WORDS[w], NULL),
                  "image/apps", q);
        char *nc = h_strdupf("%s&is_compliant=false", q);
        expect_eq(list_total(T_P1_ALL, "image/apps", nc),
                  stat_types("non-compliant-app", WORDS[w], NULL), "image/apps", nc);
        expect_eq(list_total(T_P1_ALL, "image/malwares", q), stat_types("malwares", WORDS[w], NULL),
                  "image/malwares", q);
        expect_eq(list_total(T_P1_ALL, "image/files", q), stat_types("files", WORDS[w], NULL),
                  "image/files", q);
        expect_eq(list_total(T_P1_ALL, "image/sensitive-information", q),
                  stat_types("sensitive-info", WORDS[w], NULL), "image/sensitive-information", q);
        free(nc);
        free(q);
    }
    /* cluster: imgsec holds no cluster images */
    expect_eq(list_total(T_P1_ALL, "image/files", "image_type=cluster"), 0, "image/files", "cluster");
    expect_eq(list_total(T_P1_ALL, "image/apps", "image_type=cluster&app_name=lib"), 0, "image/apps",
              "cluster");
    /* without image_type: every image (sensitive-information: registry, the SDK's default) */
    expect_eq(list_total(T_P1_ALL, "image/apps", "limit=10"), stat_types("apps", NULL, NULL),
              "image/apps", "all");
    expect_eq(list_total(T_P1_ALL, "image/files", "limit=10"), stat_types("files", NULL, NULL),
              "image/files", "all");
    expect_eq(list_total(T_P1_ALL, "image/sensitive-information", "limit=10"),
              stat_types("sensitive-info", "registry", NULL), "image/sensitive-information", "dflt");
    assert_int_equal(MISMATCHES, 0);
}

/* Build-command risks: per rule, image_num is its images list's total and
 * the risk_num of those images sum to the statistic of that rule. */
static void test_build_risks(void **state)
{
    (void)state;
    MISMATCHES = 0;
    static const char *const WORDS[] = {"cicd", "registry", "local"};
    int rules_seen = 0;
    for (size_t w = 0; w < 3; w++) {
        char *q = h_strdupf("image_type=%s", WORDS[w]);
        json_t *rules = list_all(T_P1_ALL, "image/build-command-risks", q);
        long long sum_all = 0;
        size_t k;
        json_t *rule;
        json_array_foreach(rules, k, rule) {
            const char *id = json_string_value(json_object_get(rule, "rule_id"));
            char *iq = h_strdupf("%s&rule_id=%s", q, id);
            json_t *imgs = list_all(T_P1_ALL, "image/build-command-risks/images", iq);
            expect_eq(imgs ? (long long)json_array_size(imgs) : -1, int_field(rule, "image_num"),
                      "image_num", iq);
            long long risks = 0;
            size_t j;
            json_t *im;
            json_array_foreach(imgs, j, im) {
                json_t *d = json_object_get(im, "risk_detail_info");
                long long n = int_field(d, "risk_num");
                expect_eq((long long)json_array_size(json_object_get(d, "risk_list")), n, "risk_num",
                          iq);
                risks += n;
            }
            char *extra = h_strdupf("\"build_command_rule_id_list\":[\"%s\"]", id);
            expect_eq(risks, stat_types("build-command-risks", WORDS[w], extra), "risks", iq);
            sum_all += risks;
            rules_seen++;
            free(extra);
            json_decref(imgs);
            free(iq);
        }
        expect_eq(sum_all, stat_types("build-command-risks", WORDS[w], NULL), "all rules", q);
        json_decref(rules);
        free(q);
    }
    assert_true(rules_seen > 5);
    assert_int_equal(MISMATCHES, 0);
}

/* Per vulnerability: image_num is its affected images' total, and the
 * tenant-wide list's undeal_number is the statistic of that vul_id. */
static void test_vulnerability_views(void **state)
{
    (void)state;
    MISMATCHES = 0;
    json_t *vuls = list_all(T_P1_ALL, "images/vulnerabilities",
                            "type=app_vul&handle_status=unhandled&image_type=registry");
    assert_non_null(vuls);
    assert_true(json_array_size(vuls) > 10);
    size_t k;
    json_t *v;
    json_array_foreach(vuls, k, v) {
        if (k % 4)
            continue; /* a quarter of them, spread over the list */
        const char *id = json_string_value(json_object_get(v, "vul_id"));
        char *q = h_strdupf("is_handled=false&vul_id=%s&type=app_vul&image_type=registry", id);
        expect_eq(list_total(T_P1_ALL, "vulnerability/images", q), int_field(v, "image_num"),
                  "image_num", q);
        free(q);
    }
    json_decref(vuls);

    json_t *global = list_all(T_P1_ALL, "image/vulnerabilities", "");
    assert_non_null(global);
    long long sum = 0;
    json_array_foreach(global, k, v) {
        long long n = int_field(v, "undeal_number");
        sum += n;
        if (k % 7)
            continue;
        const char *id = json_string_value(json_object_get(v, "vul_id"));
        char *extra = h_strdupf("{\"operate_all\":true,\"vul_id_list\":[\"%s\"]}", id);
        expect_eq(n, stat_of("vulnerability", extra), "undeal_number", id);
        free(extra);
        /* its CVE list */
        char *path = h_strdupf("image/vulnerability/%s/cve", id);
        long long cves = list_total(T_P1_ALL, path, "limit=10");
        expect_eq(cves, (long long)json_array_size(json_object_get(v, "data_list")), path, "cves");
        free(path);
    }
    expect_eq(sum, stat_of("vulnerability", "{\"operate_all\":true}"), "undeal_number", "sum");
    json_decref(global);
    assert_int_equal(MISMATCHES, 0);
}

/* ---- paging ---- */

static char *item_text(const json_t *page, size_t i)
{
    return h_json_text(json_array_get(json_object_get(page, "data_list"), i));
}

/* A page at any offset is the same items as the same stretch of a walk
 * from the start, whichever way the list finds its page. */
static void test_deep_offsets(void **state)
{
    (void)state;
    const char *const LISTS[][2] = {
        {"image/apps", ""},
        {"image/apps", "app_name=lib&"},
        {"image/vulnerabilities", "type=app_vul&"},
    };
    for (size_t l = 0; l < 3; l++) {
        json_t *all = list_all(T_P1_ALL, LISTS[l][0], LISTS[l][1]);
        assert_non_null(all);
        size_t n = json_array_size(all);
        if (n <= 220)
            fprintf(stderr, "%s?%s: only %zu items\n", LISTS[l][0], LISTS[l][1], n);
        assert_true(n > 220);
        size_t offsets[] = {0, 1, 199, 200, 201, n / 2, n - 11, n - 1};
        for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
            char *q = h_strdupf("%senterprise_project_id=all_granted_eps&limit=10&offset=%zu",
                                LISTS[l][1], offsets[o]);
            json_t *page = list_get(T_P1_ALL, "P1", LISTS[l][0], q, NULL);
            assert_non_null(page);
            assert_int_equal(total_of(page), (long long)n);
            size_t got = json_array_size(json_object_get(page, "data_list"));
            assert_int_equal(got, n - offsets[o] < 10 ? n - offsets[o] : 10);
            for (size_t i = 0; i < got; i++) {
                char *a = item_text(page, i), *b = h_json_text(json_array_get(all, offsets[o] + i));
                assert_string_equal(a, b);
                free(a);
                free(b);
            }
            json_decref(page);
            free(q);
        }
        /* past the end: the total, no items */
        char *q = h_strdupf("%senterprise_project_id=all_granted_eps&limit=10&offset=%zu",
                            LISTS[l][1], n + 5);
        json_t *page = list_get(T_P1_ALL, "P1", LISTS[l][0], q, NULL);
        assert_int_equal(total_of(page), (long long)n);
        assert_int_equal(json_array_size(json_object_get(page, "data_list")), 0);
        json_decref(page);
        free(q);
        json_decref(all);
    }
}

/* app_name and file_name of the tenant-wide lists (read through the
 * distinct names and their index since schema 14, or record by record
 * for a needle in many names) give exactly the records of the unfiltered
 * list whose name contains the needle, in the same order, with total_num
 * equal to their number on every page (list_all); a name first seen in a
 * later ingest is found too. token's scope and extra ("image_type=...",
 * or "") apply to both lists. */
static void expect_named_equal_walk_as(const char *token, const char *extra, const char *path,
                                       const char *param, const char *field, const char *needle,
                                       size_t want_min)
{
    json_t *all = list_all(token, path, extra);
    char *q = h_strdupf("%s%s%s=%s", extra, *extra ? "&" : "", param, needle);
    json_t *got = list_all(token, path, q);
    assert_non_null(all);
    assert_non_null(got);
    json_t *want = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it) {
        const char *name = json_string_value(json_object_get(it, field));
        if (name && strstr(name, needle))
            json_array_append(want, it);
    }
    if (json_array_size(want) != json_array_size(got) || json_array_size(want) < want_min)
        fprintf(stderr, "%s?%s: %zu items, want %zu (at least %zu)\n", path, q,
                json_array_size(got), json_array_size(want), want_min);
    assert_int_equal(json_array_size(got), json_array_size(want));
    assert_true(json_array_size(want) >= want_min);
    for (i = 0; i < json_array_size(want); i++) {
        char *a = h_json_text(json_array_get(got, i)), *b = h_json_text(json_array_get(want, i));
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    /* one page deep in the list: its total and items as the walk's */
    if (json_array_size(want) > 12) {
        size_t off = json_array_size(want) - 11;
        char *q2 = h_strdupf("%s&enterprise_project_id=all_granted_eps&limit=10&offset=%zu", q,
                             off);
        json_t *page = list_get(token, "P1", path, q2, NULL);
        assert_non_null(page);
        assert_int_equal(total_of(page), (long long)json_array_size(want));
        json_t *items = json_object_get(page, "data_list");
        assert_int_equal(json_array_size(items), 10);
        for (i = 0; i < 10; i++) {
            char *a = h_json_text(json_array_get(items, i));
            char *b = h_json_text(json_array_get(want, off + i));
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
        json_decref(page);
        free(q2);
    }
    assert_int_equal(MISMATCHES, 0);
    json_decref(want);
    json_decref(got);
    json_decref(all);
    free(q);
}

static void expect_named_equal_walk(const char *path, const char *param, const char *field,
                                    const char *needle, size_t want_min)
{
    expect_named_equal_walk_as(T_P1_ALL, "", path, param, field, needle, want_min);
}

/* every needle of NEEDLES on both lists, in the scopes a name filter
 * narrows differently: every EP, one EP, and one image type */
static void expect_all_named_equal_walk(void)
{
    static const char *const NEEDLES[] = {"lib", "a", "e", "zz-", "zz-no-such-name"};
    const char *tokens[] = {T_P1_ALL, T_EP0};
    for (size_t n = 0; n < sizeof NEEDLES / sizeof NEEDLES[0]; n++)
        for (int t = 0; t < 2; t++)
            for (int x = 0; x < 2; x++) {
                const char *extra = x ? "image_type=harbor" : "";
                expect_named_equal_walk_as(tokens[t], extra, "image/apps", "app_name", "app_name",
                                           NEEDLES[n], 0);
                expect_named_equal_walk_as(tokens[t], extra, "image/files", "file_name",
                                           "file_name", NEEDLES[n], 0);
            }
}

static void expect_counts_equal_records(void);

static void test_name_filters_equal_walk(void **state)
{
    (void)state;
    expect_counts_equal_records(); /* the setup's ingests */
    expect_named_equal_walk("image/apps", "app_name", "app_name", "lib", 220);
    expect_named_equal_walk("image/apps", "app_name", "app_name", "zz-no-such-name", 0);
    expect_named_equal_walk("image/files", "file_name", "file_name", "a", 1);
    expect_named_equal_walk("image/files", "file_name", "file_name", "zz-no-such-name", 0);
    static const char DOC[] =
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"nf\",\"image_name\":\"names\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},"
        "\"apps\":[{\"app_name\":\"zz-fresh-app\",\"app_version\":\"1\"},"
        "{\"app_name\":\"zz-fresh-app\",\"app_version\":\"2\"}],"
        "\"files\":[{\"file_path\":\"/zz\",\"file_name\":\"zz-fresh-file\"},"
        "{\"file_path\":\"/nameless\"}]}";
    http_resp r;
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", DOC, false, &r), 200);
    http_resp_free(&r);
    expect_named_equal_walk("image/apps", "app_name", "app_name", "zz-fresh", 2);
    expect_named_equal_walk("image/files", "file_name", "file_name", "fresh-f", 1);
    json_t *o = list_get(T_P1_ALL, "P1", "image/apps", "app_name=zz-fresh-app&limit=10", NULL);
    assert_int_equal(total_of(o), 2);
    json_decref(o);
    expect_all_named_equal_walk();
    expect_counts_equal_records();
}

static long long named_total(const char *token, const char *path, const char *query)
{
    json_t *o = list_get(token, "P1", path, query, NULL);
    long long t = total_of(o);
    json_decref(o);
    return t;
}

static int row_first_int(const store_cell *cells, int n, void *arg)
{
    *(int64_t *)arg = n > 0 && cells[0].kind == CELL_INT ? cells[0].i : -1;
    return 0;
}

static int64_t sql_int(const char *sql)
{
    store *st = NULL;
    imgsec_err err = {0};
    int64_t v = -2;
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    assert_int_equal(store_list_query(st, sql, NULL, 0, row_first_int, &v, &err), IMGSEC_OK);
    store_close(st);
    return v;
}

typedef struct {
    int64_t ids[4096];
    size_t n;
} image_ids;

static int add_image_id(int64_t id, int64_t n, void *arg)
{
    (void)n;
    image_ids *x = arg;
    if (x->n == sizeof x->ids / sizeof x->ids[0])
        return IMGSEC_EINTERNAL;
    x->ids[x->n++] = id;
    return 0;
}

static int no_record(const store_cell *cells, size_t n, void *arg)
{
    (void)cells;
    (void)n;
    (void)arg;
    return 0;
}

/* How many of project's apps have needle in their name, through the
 * record API's own condition (not the list's name tables). */
static int64_t apps_containing(const char *project, const char *needle)
{
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    int64_t pos = 0, sum = 0;
    assert_int_equal(store_snapshot_begin(st, &pos, &err), IMGSEC_OK);
    image_ids *ids = calloc(1, sizeof *ids);
    assert_non_null(ids);
    assert_int_equal(store_record_images(st, REPORT_APPS, project, add_image_id, ids, &err),
                     IMGSEC_OK);
    rec_preds ps = {.type = REPORT_APPS};
    rec_preds_substr(&ps, "app_name", needle);
    for (size_t i = 0; i < ids->n; i++) {
        int64_t total = 0;
        if (store_image_records(st, ids->ids[i], &ps, NULL, 0, 0, 0, &total, no_record, NULL,
                                &err) != IMGSEC_OK)
            fail_msg("%s", err.msg);
        sum += total;
    }
    store_snapshot_end(st);
    free(ids);
    store_close(st);
    return sum;
}

/* name_counts (schema 16, kept by the store's write code) holds exactly
 * the counts a recount of the records (through the record API) finds, row
 * for row, both ways: a write path that forgets them fails here. */
static void expect_counts_equal_records(void)
{
    assert_true(sql_int("SELECT count(*) FROM name_counts") > 0);
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(S.db, &st, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(name_counts_differ(st), 0);
    store_close(st);
    /* a substring total is the records' count by plain SQL */
    json_t *o = list_get(T_P1_ALL, "P1", "image/apps",
                         "app_name=lib&limit=10&enterprise_project_id=all_granted_eps", NULL);
    int64_t want = apps_containing("P1", "lib");
    assert_true(want > 0);
    assert_int_equal(total_of(o), want);
    json_decref(o);
}

/* Name filters follow every change of the records: a re-ingest that
 * replaces an image's records, one that moves the image to another EP,
 * and a delete; totals and pages still equal the walk's in every scope. */
static void test_name_filters_follow_changes(void **state)
{
    (void)state;
    static const char DOC1[] =
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"nc\",\"image_name\":\"moving\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},"
        "\"apps\":[{\"app_name\":\"zz-move-app\",\"app_version\":\"1\"},"
        "{\"app_name\":\"zz-move-app\",\"app_version\":\"2\"},"
        "{\"app_name\":\"zz-move-other\",\"app_version\":\"1\"}],"
        "\"files\":[{\"file_path\":\"/m\",\"file_name\":\"zz-move-file\"}]}";
    static const char DOC2[] = /* the same image: one app less, one file more */
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"nc\",\"image_name\":\"moving\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},"
        "\"apps\":[{\"app_name\":\"zz-move-app\",\"app_version\":\"3\"},"
        "{\"app_name\":\"zz-move-other\",\"app_version\":\"1\"}],"
        "\"files\":[{\"file_path\":\"/m\",\"file_name\":\"zz-move-file\"},"
        "{\"file_path\":\"/n\",\"file_name\":\"zz-move-file\"}]}";
    const char *AQ = "app_name=zz-move&limit=10&enterprise_project_id=all_granted_eps",
               *FQ = "file_name=zz-move&limit=10&enterprise_project_id=all_granted_eps";
    http_resp r;
    char ids[1][32];
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", DOC1, false, &r), 200);
    assert_int_equal(ingest_ids(&r, ids, 1), 1);
    http_resp_free(&r);
    assert_int_equal(named_total(T_P1_ALL, "image/apps", AQ), 3);
    assert_int_equal(named_total(T_EP0, "image/apps", AQ), 3);
    assert_int_equal(named_total(T_EP0, "image/files", FQ), 1);
    expect_counts_equal_records();
    /* replaced records */
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", DOC2, false, &r), 200);
    http_resp_free(&r);
    assert_int_equal(named_total(T_P1_ALL, "image/apps", AQ), 2);
    assert_int_equal(named_total(T_EP0, "image/apps", AQ), 2);
    assert_int_equal(named_total(T_EP0, "image/files", FQ), 2);
    expect_counts_equal_records();
    expect_all_named_equal_walk();
    /* moved to another EP: EP 0's reader no longer counts them */
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "ep-a", DOC2, false, &r), 200);
    http_resp_free(&r);
    assert_int_equal(named_total(T_P1_ALL, "image/apps", AQ), 2);
    assert_int_equal(named_total(T_EP0, "image/apps", AQ), 0);
    assert_int_equal(named_total(T_EP0, "image/files", FQ), 0);
    assert_int_equal(named_total(T_P1_ALL, "image/files",
                                 "file_name=zz-move&image_type=harbor&limit=10&"
                                 "enterprise_project_id=all_granted_eps"),
                     2);
    assert_int_equal(named_total(T_P1_ALL, "image/files",
                                 "file_name=zz-move&image_type=jfrog&limit=10&"
                                 "enterprise_project_id=all_granted_eps"),
                     0);
    expect_counts_equal_records();
    expect_all_named_equal_walk();
    /* deleted */
    char *path = h_strdupf("/v5/P1/image/scan-results/%s", ids[0]);
    assert_int_equal(api_call(&S, "DELETE", path, NULL, T_WRITER, H_REGION, NULL, NULL, &r), 200);
    http_resp_free(&r);
    free(path);
    assert_int_equal(named_total(T_P1_ALL, "image/apps", AQ), 0);
    assert_int_equal(named_total(T_P1_ALL, "image/files", FQ), 0);
    expect_counts_equal_records();
    expect_all_named_equal_walk();
}

/* ---- scope, isolation, errors ---- */

static void test_scope_and_isolation(void **state)
{
    (void)state;
    /* a reader of EP "0" sees the EP "0" statistic and no image of ep-a */
    json_t *o = list_get(T_EP0, "P1", "image/files", "limit=10", NULL);
    stat_res r = api_stat(&S, T_EP0, "P1", "files", NULL, "{\"operate_all\":true}");
    assert_int_equal(r.status, 200);
    assert_int_equal(total_of(o), r.total);
    json_decref(o);
    int checked = 0;
    for (int k = 0; k < N_IMAGES && checked < 6; k++) {
        const image *im = &IMG[k];
        char *path = h_strdupf("image/%s/apps", im->id);
        char *q = h_strdupf("image_type=%s", im->type);
        long st;
        json_t *got = list_get(T_EP0, "P1", path, q, &st);
        if (strcmp(im->ep, "0") == 0) {
            assert_int_equal(st, 200);
        } else {
            http_resp resp;
            char *full = h_strdupf("/v5/P1/%s", path);
            api_call(&S, "GET", full, q, T_EP0, H_REGION, NULL, NULL, &resp);
            assert_api_error(&resp, 404, "HSS.0011", "not found");
            http_resp_free(&resp);
            free(full);
            /* and with its EP named, the reader is refused */
            char *q2 = h_strdupf("%s&enterprise_project_id=%s", q, im->ep);
            full = h_strdupf("/v5/P1/%s", path);
            api_call(&S, "GET", full, q2, T_EP0, H_REGION, NULL, NULL, &resp);
            assert_api_error(&resp, 403, "HSS.0013", NULL);
            http_resp_free(&resp);
            free(full);
            free(q2);
            checked++;
        }
        json_decref(got);
        free(q);
        free(path);
    }
    assert_int_equal(checked, 6);
    /* another project's image is 404, even by its own project's reader path */
    const image *p2 = &IMG[N_IMAGES];
    char *full = h_strdupf("/v5/P1/image/%s/vulnerabilities", p2->id);
    char *q = h_strdupf("image_type=%s&enterprise_project_id=all_granted_eps", p2->type);
    http_resp resp;
    api_call(&S, "GET", full, q, T_P1_ALL, H_REGION, NULL, NULL, &resp);
    assert_api_error(&resp, 404, "HSS.0011", NULL);
    http_resp_free(&resp);
    /* and P1's token on P2's path is refused */
    free(full);
    full = h_strdupf("/v5/P2/image/%s/vulnerabilities", p2->id);
    api_call(&S, "GET", full, q, T_P1_ALL, H_REGION, NULL, NULL, &resp);
    assert_api_error(&resp, 403, "HSS.0010", NULL);
    http_resp_free(&resp);
    /* P2 sees its own */
    api_call(&S, "GET", full, q, T_P2, H_REGION, NULL, NULL, &resp);
    assert_status(&resp, 200);
    http_resp_free(&resp);
    free(q);
    free(full);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    const image *im = &IMG[0];
    char *vul_path = h_strdupf("/v5/P1/image/%s/vulnerabilities", im->id);
    const struct {
        const char *path, *query, *names;
    } CASES[] = {
        {vul_path, "namespace=&tag_name=", "image_type is required"},
        {vul_path, "image_type=nope", "image_type must be one of"},
        {vul_path, "image_type=cicd&limit=9", "limit must be between 10 and 200"},
        {vul_path, "image_type=cicd&limit=201", "limit must be between 10 and 200"},
        {vul_path, "image_type=cicd&offset=2000001", "offset must be between 0 and 2000000"},
        {vul_path, "image_type=cicd&offset=-1", "offset must be between"},
        {vul_path, "image_type=cicd&limit=ten", "limit must be an integer"},
        {vul_path, "image_type=cicd&repair_necessity=High", "repair_necessity must be one of"},
        {"/v5/P1/images/vulnerabilities", "type=linux_vul&image_type=registry", "handle_status is required"},
        {"/v5/P1/vulnerability/images", "vul_id=CVE-1&type=app_vul&image_type=local", "is_handled is required"},
        {"/v5/P1/vulnerability/images", "is_handled=maybe&vul_id=x&type=app_vul&image_type=local", "is_handled must be one of"},
        {"/v5/P1/image/build-command-risks/images", "image_type=cicd", "rule_id is required"},
        {"/v5/P1/image/baseline/risk-configs", "image_type=cicd", "image_id or image_name is required"},
        {"/v5/P1/image/malwares", "file_name=x", "image_type is required"},
    };
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        http_resp r;
        char *q = h_strdupf("%s&enterprise_project_id=all_granted_eps", CASES[k].query);
        api_call(&S, "GET", CASES[k].path, q, T_P1_ALL, H_REGION, NULL, NULL, &r);
        assert_api_error(&r, 400, "HSS.0001", CASES[k].names);
        http_resp_free(&r);
        free(q);
    }
    /* an unknown image and an unknown vulnerability are 404 */
    http_resp r;
    api_call(&S, "GET", "/v5/P1/image/999999/apps", "image_type=cicd", T_P1_ALL, H_REGION, NULL,
             NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", "not found");
    http_resp_free(&r);
    api_call(&S, "GET", "/v5/P1/image/vulnerability/CVE-0000-0000/cve", NULL, T_P1_ALL, H_REGION,
             NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", "not found");
    http_resp_free(&r);
    /* region as the SDK declares it: absent is fine where the SDK has none
     * or an optional one, refused where it is required (ListGlobalMalware);
     * a wrong one is refused everywhere */
    api_call(&S, "GET", "/v5/P1/image/files", NULL, T_P1_ALL, NULL, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    char *tq = h_strdupf("image_type=%s", im->type);
    api_call(&S, "GET", vul_path, tq, T_P1_ALL, NULL, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(tq);
    api_call(&S, "GET", "/v5/P1/image/malwares", "image_type=registry", T_P1_ALL, NULL, NULL, NULL,
             &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    api_call(&S, "GET", "/v5/P1/image/files", NULL, T_P1_ALL, "elsewhere-1", NULL, NULL, &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    /* no credentials */
    api_call(&S, "GET", "/v5/P1/image/files", NULL, NULL, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    free(vul_path);
}

/* imgsec list: offline on the file and against the server, the same
 * totals and items as the API, as JSON, CSV and a table. */
static void test_cli_same_numbers(void **state)
{
    (void)state;
    char tokfile[H_PATH_MAX + 16];
    snprintf(tokfile, sizeof tokfile, "%s/token", S.dir);
    assert_int_equal(h_write_file(tokfile, T_P1_ALL, strlen(T_P1_ALL)), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", S.port);
    const image *im = &IMG[3];
    const struct {
        const char *what, *path, *query;
        bool image;
    } CASES[] = {
        {"apps", "image/apps", "", false},
        {"non-compliant", "image/apps", "is_compliant=false", false},
        {"files", "image/files", "", false},
        {"vulnerabilities", "image/vulnerabilities", "", false},
        {"build-risks", "image/build-command-risks", "image_type=registry", false},
        {"vulnerabilities", NULL, NULL, true},
        {"sensitive", NULL, NULL, true},
    };
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        json_t *api;
        char *ipath = h_strdupf("image/%s/%s", im->id,
                                strcmp(CASES[k].what, "sensitive") == 0 ? "sensitive" : "vulnerabilities");
        char *iq = h_strdupf("image_type=%s", im->type);
        api = list_all(T_P1_ALL, CASES[k].image ? ipath : CASES[k].path, CASES[k].image ? iq : CASES[k].query);
        assert_non_null(api);
        for (int online = 0; online < 2; online++) {
            const char *args[32];
            int n = 0;
            args[n++] = "list";
            args[n++] = CASES[k].what;
            args[n++] = "--project";
            args[n++] = "P1";
            args[n++] = "--all";
            args[n++] = "--output";
            args[n++] = "json";
            if (online) {
                args[n++] = "--server";
                args[n++] = url;
                args[n++] = "--token-file";
                args[n++] = tokfile;
                args[n++] = "--region";
                args[n++] = H_REGION;
            } else {
                args[n++] = "--db";
                args[n++] = S.db;
            }
            if (CASES[k].image) {
                args[n++] = "--image";
                args[n++] = im->id;
                args[n++] = "--image-type";
                args[n++] = im->type;
            } else if (strstr(CASES[k].query, "image_type")) {
                args[n++] = "--image-type";
                args[n++] = "registry";
            }
            args[n] = NULL;
            char *out = NULL;
            int rc = cli_runv(&S, NULL, args, &out);
            if (rc != 0)
                fprintf(stderr, "imgsec list %s: %s\n", CASES[k].what, out ? out : "");
            assert_int_equal(rc, 0);
            json_t *got = json_loads(out, 0, NULL);
            assert_non_null(got);
            assert_int_equal(total_of(got), (long long)json_array_size(api));
            assert_true(json_equal(json_object_get(got, "data_list"), api));
            json_decref(got);
            free(out);
        }
        json_decref(api);
        free(ipath);
        free(iq);
    }
    /* CSV: a header and one line per item; the table: the total first */
    char *out = NULL;
    assert_int_equal(cli_run(&S, NULL, &out, "list", "files", "--project", "P1", "--db", S.db,
                             "--all", "--output", "csv", NULL), 0);
    long long lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    json_t *files = list_get(T_P1_ALL, "P1", "image/files", "enterprise_project_id=all_granted_eps&limit=10", NULL);
    assert_int_equal(lines, total_of(files) + 1);
    assert_true(strncmp(out, "file_name,file_path,size\n", 25) == 0);
    free(out);
    assert_int_equal(cli_run(&S, NULL, &out, "list", "files", "--project", "P1", "--db", S.db, NULL), 0);
    char *head = h_strdupf("total_num: %lld\n", total_of(files));
    assert_true(strncmp(out, head, strlen(head)) == 0);
    free(head);
    free(out);
    json_decref(files);
    /* the token is never taken from the command line */
    assert_int_equal(cli_run(&S, NULL, &out, "list", "files", "--project", "P1", "--server", url,
                             "--token", T_P1_ALL, NULL), 2);
    free(out);
    /* a bad parameter names it, offline too */
    assert_int_equal(cli_run(&S, NULL, &out, "list", "files", "--project", "P1", "--db", S.db,
                             "--limit", "5", NULL), 1);
    assert_non_null(strstr(out, "limit must be between 10 and 200"));
    free(out);
}

/* vul_num on data made for it (the generator's vulnerabilities name
 * other versions than its apps): exact numbers, per image and tenant-wide. */
static void test_app_vul_num_exact(void **state)
{
    (void)state;
    static const char DOC[] =
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"vn\",\"image_name\":\"vulnum\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},"
        "\"apps\":[{\"app_name\":\"openssl\",\"app_version\":\"3.0.2\"},"
        "{\"app_name\":\"zlib\",\"app_version\":\"1.2.13\"},{\"app_name\":\"busybox\"}],"
        "\"vulnerabilities\":["
        "{\"vul_id\":\"CVE-2023-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"high\","
        "\"app_name\":\"openssl\",\"app_version\":\"3.0.2\"},"
        "{\"vul_id\":\"CVE-2023-0002\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
        "\"app_name\":\"openssl\",\"app_version\":\"3.0.2\"},"
        "{\"vul_id\":\"CVE-2023-0003\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
        "\"app_name\":\"zlib\",\"app_version\":\"1.2.11\"},"
        "{\"vul_id\":\"CVE-2023-0004\",\"vul_type\":\"linux_vul\",\"severity\":\"low\","
        "\"app_name\":\"busybox\"}]}";
    http_resp r;
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", DOC, false, &r), 200);
    char ids[1][32];
    assert_int_equal(ingest_ids(&r, ids, 1), 1);
    http_resp_free(&r);
    char *path = h_strdupf("image/%s/apps", ids[0]);
    json_t *o = list_get(T_P1_ALL, "P1", path, "image_type=harbor&limit=10", NULL);
    json_t *items = json_object_get(o, "data_list");
    assert_int_equal(json_array_size(items), 3);
    assert_int_equal(int_field(json_array_get(items, 0), "vul_num"), 2); /* openssl 3.0.2 */
    assert_int_equal(int_field(json_array_get(items, 1), "vul_num"), 0); /* zlib: another version */
    assert_int_equal(int_field(json_array_get(items, 2), "vul_num"), 1); /* busybox: no version */
    json_decref(o);
    free(path);
    o = list_get(T_P1_ALL, "P1", "image/apps", "app_name=openssl&image_type=harbor&limit=10", NULL);
    items = json_object_get(o, "data_list");
    size_t i;
    json_t *it;
    int seen = 0;
    json_array_foreach(items, i, it)
        if (strcmp(json_string_value(json_object_get(it, "namespace")), "vn") == 0) {
            assert_int_equal(int_field(it, "vul_num"), 2);
            assert_true(json_is_true(json_object_get(it, "is_compliant")));
            seen++;
        }
    assert_int_equal(seen, 1);
    json_decref(o);
}

/* Item fields carry the SDK models' JSON types. */
static void test_item_types(void **state)
{
    (void)state;
    json_t *o = list_get(T_P1_ALL, "P1", "images/vulnerabilities",
                         "type=linux_vul&handle_status=unhandled&image_type=registry&"
                         "enterprise_project_id=all_granted_eps&limit=10",
                         NULL);
    json_t *v = json_array_get(json_object_get(o, "data_list"), 0);
    assert_true(json_is_integer(json_object_get(v, "image_num")));
    assert_true(json_is_integer(json_object_get(v, "scan_time")));
    assert_true(json_is_array(json_object_get(v, "cve_list")));
    assert_true(json_is_string(json_object_get(v, "severity_level")));
    json_decref(o);
    o = list_get(T_P1_ALL, "P1", "image/sensitive-information",
                 "enterprise_project_id=all_granted_eps&limit=10", NULL);
    v = json_array_get(json_object_get(o, "data_list"), 0);
    assert_true(json_is_string(json_object_get(v, "sensitive_info_id")));
    assert_true(json_is_integer(json_object_get(v, "latest_scan_time")));
    assert_string_equal(json_string_value(json_object_get(v, "handle_status")), "unhandled");
    json_decref(o);
}

/* The grouped lists and the images of one vulnerability or build rule are
 * answered by imgsecd from the query index (index_list.c) and by list_run
 * without an index (the command line's way) from SQL: both must give the
 * same answer under every filter, EP scope and image type, at offset 0
 * and inside the list. */
typedef struct {
    const char *const *kv; /* "key=value" */
    size_t n;
} kv_params;

static const char *kv_get(void *ctx, const char *name)
{
    const kv_params *p = ctx;
    size_t len = strlen(name);
    for (size_t k = 0; k < p->n; k++)
        if (strncmp(p->kv[k], name, len) == 0 && p->kv[k][len] == '=')
            return p->kv[k] + len + 1;
    return NULL;
}

/* s with every byte but [A-Za-z0-9._-] as %XX (caller frees) */
static char *url_enc(const char *s)
{
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-')
            *o++ = (char)c;
        else
            o += sprintf(o, "%%%02X", c);
    }
    *o = 0;
    return out;
}

/* Both answers of list k (path argument arg) for params under EP ep (NULL:
 * every EP), page [offset, offset + limit); 1 when they differ (printed). */
static int compare_routes(store *st, list_kind k, const char *arg, const char *const *params,
                          size_t np, const char *ep, int offset, int limit)
{
    char off_s[16], lim_s[16];
    snprintf(off_s, sizeof off_s, "offset=%d", offset);
    snprintf(lim_s, sizeof lim_s, "limit=%d", limit);
    const char *kv[16];
    size_t n = 0;
    for (size_t i = 0; i < np; i++)
        kv[n++] = params[i];
    kv[n++] = off_s;
    kv[n++] = lim_s;
    kv_params p = {kv, n};
    list_params lp = {kv_get, &p};
    const char *eps[1] = {ep};
    index_scope scope = {"P1", ep == NULL, ep ? eps : NULL, ep ? 1 : 0};
    imgsec_err err = {0};
    json_t *off = NULL;
    int rc = list_run(st, k, &scope, arg, &lp, &off, &err);
    /* the route: path with the argument, the same parameters */
    const list_def *d = list_def_get(k);
    const char *rest = d->path + strlen("/v5/{project_id}/");
    char path[256];
    const char *brace = strchr(rest, '{');
    if (brace) {
        char *enc = url_enc(arg);
        snprintf(path, sizeof path, "%.*s%s%s", (int)(brace - rest), rest, enc,
                 strchr(brace, '}') + 1);
        free(enc);
    } else {
        snprintf(path, sizeof path, "%s", rest);
    }
    char query[2048];
    size_t q = (size_t)snprintf(query, sizeof query, "enterprise_project_id=%s",
                                ep ? ep : "all_granted_eps");
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        char *enc = url_enc(eq + 1);
        q += (size_t)snprintf(query + q, sizeof query - q, "&%.*s=%s", (int)(eq - kv[i]), kv[i],
                              enc);
        free(enc);
    }
    long status = 0;
    json_t *on = list_get(T_P1_ALL, "P1", path, query, &status);
    int differ = 0;
    if (rc == IMGSEC_OK ? !(on && json_equal(off, on))
                        : status != (rc == IMGSEC_ENOTFOUND ? 404 : rc == IMGSEC_EINVAL ? 400 : 500)) {
        char *a = off ? json_dumps(off, JSON_COMPACT) : NULL;
        char *z = on ? json_dumps(on, JSON_COMPACT) : NULL;
        fprintf(stderr, "MISMATCH %s %s?%s (rc %d, status %ld)\n sql   %.600s\n index %.600s\n",
                d->operation, path, query, rc, status, a ? a : err.msg, z ? z : "-");
        free(a);
        free(z);
        differ = 1;
    }
    json_decref(off);
    json_decref(on);
    return differ;
}

static void test_index_groups_equal_sql(void **state)
{
    (void)state;
    /* a vulnerability, a CVE substring, a rule, an image and a name to filter by */
    json_t *g = list_get(T_P1_ALL, "P1", "images/vulnerabilities",
                         "type=linux_vul&handle_status=unhandled&image_type=registry&"
                         "enterprise_project_id=all_granted_eps&limit=10&offset=3",
                         NULL);
    json_t *b = list_get(T_P1_ALL, "P1", "image/build-command-risks",
                         "image_type=registry&enterprise_project_id=all_granted_eps&limit=10", NULL);
    assert_non_null(g);
    assert_non_null(b);
    json_t *g0 = json_array_get(json_object_get(g, "data_list"), 0);
    json_t *b0 = json_array_get(json_object_get(b, "data_list"), 0);
    assert_non_null(g0);
    assert_non_null(b0);
    char *vul = strdup(json_string_value(json_object_get(g0, "vul_id")));
    char *sev0 = strdup(json_string_value(json_object_get(g0, "severity_level")));
    char *rule = strdup(json_string_value(json_object_get(b0, "rule_id")));
    char *risk = strdup(json_string_value(json_object_get(b0, "risk_name")));
    json_decref(g);
    json_decref(b);
    const image *im = NULL;
    for (int k = 0; k < N_IMG && !im; k++)
        if (strcmp(IMG[k].project, "P1") == 0 &&
            strstr("private_image shared_image instance_image harbor jfrog", IMG[k].type))
            im = &IMG[k];
    assert_non_null(im);
    char *p_sub = h_strdupf("vul_id=%.7s", vul), *p_cve = h_strdupf("cve_id=%s", vul);
    char *p_name = h_strdupf("vul_name=%s", vul + 5), *p_vul = h_strdupf("vul_id=%s", vul);
    char *p_rule = h_strdupf("rule_id=%s", rule), *p_image = h_strdupf("image_id=%s", im->id);
    char *p_risk = h_strdupf("risk_name=%.2s", risk + 1);
    /* the first group's own level: a repair_necessity filter that keeps images */
    char *p_sev = h_strdupf("repair_necessity=%s", sev0);
    free(sev0);
    const struct {
        list_kind k;
        const char *arg;
        const char *params[6];
    } CASES[] = {
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=registry"}},
        {LIST_GENERAL_VULS, NULL, {"type=app_vul", "handle_status=unhandled", "image_type=cicd"}},
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=local_image", p_sub}},
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=registry", p_cve}},
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=harbor", p_name, p_sub}},
        {LIST_GLOBAL_VULS, NULL, {NULL}},
        {LIST_GLOBAL_VULS, NULL, {"type=app_vul"}},
        {LIST_GLOBAL_VULS, NULL, {p_sub}},
        /* severity filters: maxima per (image, vulnerability) on the postings */
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=registry", "severity_level=Critical"}},
        {LIST_GENERAL_VULS, NULL, {"type=app_vul", "handle_status=unhandled", "image_type=registry", "severity_level=High"}},
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=local_image", "severity_level=Medium"}},
        {LIST_GENERAL_VULS, NULL, {"type=linux_vul", "handle_status=unhandled", "image_type=registry", "severity_level=Low", p_sub}},
        {LIST_GLOBAL_VULS, NULL, {"repair_necessity=immediate_repair"}},
        {LIST_GLOBAL_VULS, NULL, {"repair_necessity=delay_repair", "type=app_vul"}},
        {LIST_GLOBAL_VULS, NULL, {"repair_necessity=not_needed_repair"}},
        {LIST_VUL_AFFECT_IMAGES, NULL, {"is_handled=false", p_vul, "type=linux_vul", "image_type=registry", p_sev}},
        {LIST_VUL_AFFECT_IMAGES, NULL, {"is_handled=false", p_vul, "type=linux_vul", "image_type=registry", "repair_necessity=Low"}},
        {LIST_VUL_AFFECT_IMAGES, NULL, {"is_handled=false", p_vul, "type=linux_vul", "image_type=registry"}},
        {LIST_VUL_AFFECT_IMAGES, NULL, {"is_handled=false", p_vul, "type=linux_vul", "image_type=private_image", "image_name=a"}},
        {LIST_VUL_AFFECT_IMAGES, NULL, {"is_handled=false", p_vul, "type=linux_vul", "image_type=registry", p_image}},
        {LIST_VUL_CVE, vul, {NULL}},
        {LIST_BUILD_RISKS, NULL, {"image_type=registry"}},
        {LIST_BUILD_RISKS, NULL, {"image_type=cicd", "risk_level=high"}},
        {LIST_BUILD_RISKS, NULL, {"image_type=registry", p_risk}},
        {LIST_BUILD_RISKS, NULL, {"image_type=registry", p_image}},
        {LIST_BUILD_RISK_IMAGES, NULL, {"image_type=registry", p_rule}},
        {LIST_BUILD_RISK_IMAGES, NULL, {"image_type=local_image", p_rule}},
        {LIST_BUILD_RISK_IMAGES, NULL, {"image_type=registry", p_rule, p_image}},
    };
    const char *SCOPES[] = {NULL, "0", "ep-a"};
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    int differ = 0;
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        size_t np = 0;
        while (np < 6 && CASES[k].params[np])
            np++;
        for (size_t e = 0; e < 3; e++) {
            differ += compare_routes(st, CASES[k].k, CASES[k].arg, CASES[k].params, np,
                                     SCOPES[e], 0, 200);
            differ += compare_routes(st, CASES[k].k, CASES[k].arg, CASES[k].params, np,
                                     SCOPES[e], 7, 10);
        }
    }
    store_close(st);
    free(vul), free(rule), free(risk);
    free(p_sub), free(p_cve), free(p_name), free(p_vul), free(p_rule), free(p_image),
        free(p_risk), free(p_sev);
    assert_int_equal(differ, 0);
}

/* One vulnerability in two new images, then one of them ingested again
 * with a lower severity, CVSS score and texts: every grouped view and
 * severity filter follows (the per-image maxima kept at ingest, not the
 * old image's), and the index route still equals the SQL over records. */
static json_t *first_item(const char *path, const char *query)
{
    json_t *o = list_get(T_P1_ALL, "P1", path, query, NULL);
    assert_non_null(o);
    json_t *it = json_incref(json_array_get(json_object_get(o, "data_list"), 0));
    json_decref(o);
    return it;
}

/* Five more records of the vulnerability per image: more than list.c's
 * VUL_RECORDS_PER_AGG per image, so the server reads the group's details
 * from agg_vul (with two records it reads them from the records). */
#define LOW1 ",{\"vul_id\":\"CVE-2098-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}"
#define LOW5 LOW1 LOW1 LOW1 LOW1 LOW1

static void ingest_vul_image(const char *name, const char *sev, const char *cvss, const char *desc)
{
    char *doc = h_strdupf(
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"mx\",\"image_name\":\"%s\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},\"vulnerabilities\":["
        "{\"vul_id\":\"CVE-2098-0001\",\"vul_type\":\"linux_vul\",\"severity\":\"%s\","
        "\"cvss_score\":%s,\"description\":\"%s\"}%s]}",
        name, sev, cvss, desc, LOW5);
    http_resp r;
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", doc, false, &r), 200);
    http_resp_free(&r);
    free(doc);
}

static void expect_global(const char *repair, const char *desc, double cvss)
{
    json_t *it = first_item("image/vulnerabilities",
                            "vul_id=CVE-2098-0001&enterprise_project_id=all_granted_eps&limit=10");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "repair_necessity")), repair);
    assert_string_equal(json_string_value(json_object_get(it, "description")), desc);
    assert_int_equal(int_field(it, "history_number"), 12);
    json_t *cve = json_array_get(json_object_get(it, "data_list"), 0);
    assert_true(json_real_value(json_object_get(cve, "cvss_score")) == cvss);
    json_decref(it);
}

static long long total_where(const char *path, const char *query)
{
    char *q = h_strdupf("%s&enterprise_project_id=all_granted_eps&limit=10", query);
    json_t *o = list_get(T_P1_ALL, "P1", path, q, NULL);
    free(q);
    long long t = total_of(o);
    json_decref(o);
    return t;
}

static void test_maxima_after_reingest(void **state)
{
    (void)state;
    ingest_vul_image("max-a", "critical", "9.25", "zz");
    ingest_vul_image("max-b", "medium", "5.5", "mm");
    expect_global("immediate_repair", "zz", 9.25);
    const char *GEN = "images/vulnerabilities";
    const char *GQ = "type=linux_vul&handle_status=unhandled&image_type=harbor&vul_id=CVE-2098-0001";
    char *q = h_strdupf("%s&severity_level=Critical", GQ);
    assert_int_equal(total_where(GEN, q), 1);
    free(q);
    const char *AFF = "vulnerability/images";
    const char *AQ = "is_handled=false&vul_id=CVE-2098-0001&type=linux_vul&image_type=harbor";
    q = h_strdupf("%s&repair_necessity=Medium", AQ);
    assert_int_equal(total_where(AFF, q), 1);
    free(q);

    ingest_vul_image("max-a", "low", "1.0", "aa"); /* the same image, lower */
    expect_global("delay_repair", "mm", 5.5);
    q = h_strdupf("%s&severity_level=Critical", GQ);
    assert_int_equal(total_where(GEN, q), 0);
    free(q);
    q = h_strdupf("%s&severity_level=Medium", GQ);
    assert_int_equal(total_where(GEN, q), 1);
    free(q);
    q = h_strdupf("%s&repair_necessity=Low", AQ);
    assert_int_equal(total_where(AFF, q), 1);
    free(q);
    q = h_strdupf("%s&repair_necessity=Critical", AQ);
    assert_int_equal(total_where(AFF, q), 0);
    free(q);

    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    const char *const P_GEN[] = {"type=linux_vul", "handle_status=unhandled", "image_type=harbor",
                                 "vul_id=CVE-2098", "severity_level=Medium"};
    const char *const P_GLOB[] = {"vul_id=CVE-2098", "repair_necessity=delay_repair"};
    const char *const P_AFF[] = {"is_handled=false", "vul_id=CVE-2098-0001", "type=linux_vul",
                                 "image_type=harbor", "repair_necessity=Low"};
    int differ = 0;
    for (int e = 0; e < 2; e++) {
        const char *ep = e ? "0" : NULL;
        differ += compare_routes(st, LIST_GENERAL_VULS, NULL, P_GEN, 5, ep, 0, 200);
        differ += compare_routes(st, LIST_GLOBAL_VULS, NULL, P_GLOB, 2, ep, 0, 200);
        differ += compare_routes(st, LIST_VUL_AFFECT_IMAGES, NULL, P_AFF, 5, ep, 0, 200);
        differ += compare_routes(st, LIST_VUL_CVE, "CVE-2098-0001", NULL, 0, ep, 0, 200);
    }
    store_close(st);
    assert_int_equal(differ, 0);
}

/* A group's texts are those of ONE representative record (docs/api.md,
 * "Finding lists"): the highest severity, then the highest CVSS score (none
 * lowest), then the lowest (image, seq); its CVSS score is the group's
 * highest. CVE-2098-0002 in three images:
 *   rep-a (harbor): high 7.0 "zz-a" / sa / ua, critical (no score) "aa-a"
 *   rep-b (jfrog):  critical 9.0 "mm-b" / sb, critical 9.0 "nn-b", low 9.9 "zz-b"
 * Everywhere: rep-b's first record (a greatest-text rule would show "zz-"
 * and ua), CVSS 9.9. Harbor only: rep-a's critical record, CVSS 7.0. Then
 * rep-c (harbor) critical 1000.5 "cc-c": a score the index's postings do
 * not hold exactly, so that group is read from the store, and wins. */
static void ingest_rep_image(const char *name, const char *type, const char *vuls)
{
    char *doc = h_strdupf(
        "{\"image\":{\"image_type\":\"%s\",\"namespace\":\"mx\",\"image_name\":\"%s\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},\"vulnerabilities\":[%s]}",
        type, name, vuls);
    http_resp r;
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", doc, false, &r), 200);
    http_resp_free(&r);
    free(doc);
}

#define REP_V(sev, rest) \
    "{\"vul_id\":\"CVE-2098-0002\",\"vul_type\":\"linux_vul\",\"severity\":\"" sev "\"" rest "}"

static void expect_rep(const char *path, const char *query, const char *desc_key,
                       const char *desc, const char *sol_key, const char *sol, const char *url,
                       const char *cvss_list, const char *cvss_key, double cvss)
{
    json_t *it = first_item(path, query);
    if (!it)
        fail_msg("%s?%s: no item", path, query);
    char *dump = json_dumps(it, JSON_COMPACT);
    const char *d = json_string_value(json_object_get(it, desc_key));
    const char *so = json_string_value(json_object_get(it, sol_key));
    const char *u = json_string_value(json_object_get(it, "url"));
    json_t *cve = json_array_get(json_object_get(it, cvss_list), 0);
    if (!d || strcmp(d, desc) != 0 || (sol ? !so || strcmp(so, sol) != 0 : so != NULL) ||
        (url ? !u || strcmp(u, url) != 0 : u != NULL) ||
        json_real_value(json_object_get(cve, cvss_key)) != cvss)
        fail_msg("%s?%s: got %s", path, query, dump);
    free(dump);
    json_decref(it);
}

static void test_group_representative(void **state)
{
    (void)state;
    ingest_rep_image("rep-a", "harbor",
                     REP_V("high", ",\"cvss_score\":7.0,\"description\":\"zz-a\",\"solution\":"
                                   "\"sa\",\"url\":\"ua\"") "," REP_V("critical", ",\"description\":\"aa-a\""));
    ingest_rep_image("rep-b", "jfrog",
                     REP_V("critical", ",\"cvss_score\":9.0,\"description\":\"mm-b\",\"solution\":\"sb\"")
                     "," REP_V("critical", ",\"cvss_score\":9.0,\"description\":\"nn-b\"")
                     "," REP_V("low", ",\"cvss_score\":9.9,\"description\":\"zz-b\""));
    const char *GLOB = "image/vulnerabilities", *GEN = "images/vulnerabilities";
    const char *GQ = "vul_id=CVE-2098-0002&enterprise_project_id=all_granted_eps&limit=10";
    const char *HQ = "type=linux_vul&handle_status=unhandled&image_type=harbor&vul_id=CVE-2098-0002"
                     "&enterprise_project_id=all_granted_eps&limit=10";
    const char *RQ = "type=linux_vul&handle_status=unhandled&image_type=registry&vul_id=CVE-2098-0002"
                     "&enterprise_project_id=all_granted_eps&limit=10";
    expect_rep(GLOB, GQ, "description", "mm-b", "solution", "sb", NULL, "data_list", "cvss_score", 9.9);
    expect_rep(GEN, RQ, "description", "mm-b", "solution_detail", "sb", NULL, "cve_list", "cvss", 9.9);
    expect_rep(GEN, HQ, "description", "aa-a", "solution_detail", NULL, NULL, "cve_list", "cvss", 7.0);
    json_t *it = first_item("image/vulnerability/CVE-2098-0002/cve",
                            "enterprise_project_id=all_granted_eps&limit=10");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "description")), "mm-b");
    assert_true(json_real_value(json_object_get(it, "cvss_score")) == 9.9);
    json_decref(it);

    ingest_rep_image("rep-c", "harbor",
                     REP_V("critical", ",\"cvss_score\":1000.5,\"description\":\"cc-c\""));
    expect_rep(GEN, HQ, "description", "cc-c", "solution_detail", NULL, NULL, "cve_list", "cvss", 1000.5);
    expect_rep(GLOB, GQ, "description", "cc-c", "solution", NULL, NULL, "data_list", "cvss_score", 1000.5);

    /* and the index route equals the SQL over records, page for page */
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    const char *const P_GEN[] = {"type=linux_vul", "handle_status=unhandled", "image_type=harbor",
                                 "vul_id=CVE-2098"};
    const char *const P_REG[] = {"type=linux_vul", "handle_status=unhandled", "image_type=registry",
                                 "vul_id=CVE-2098"};
    const char *const P_GLOB[] = {"vul_id=CVE-2098"};
    int differ = 0;
    for (int e = 0; e < 2; e++) {
        const char *ep = e ? "0" : NULL;
        differ += compare_routes(st, LIST_GENERAL_VULS, NULL, P_GEN, 4, ep, 0, 200);
        differ += compare_routes(st, LIST_GENERAL_VULS, NULL, P_REG, 4, ep, 0, 200);
        differ += compare_routes(st, LIST_GLOBAL_VULS, NULL, P_GLOB, 1, ep, 0, 200);
        differ += compare_routes(st, LIST_VUL_CVE, "CVE-2098-0002", NULL, 0, ep, 0, 200);
    }
    store_close(st);
    assert_int_equal(differ, 0);
}

/* A list query stops when its caller is gone (store_list_watch): a query
 * of 50 million steps with a watch that answers "gone" at its first call
 * fails with "client gone" after one call; unwatched, the same connection
 * then runs a query to its end. */
static int gone_calls;
static bool gone_now(void *arg)
{
    (void)arg;
    gone_calls++;
    return true;
}

/* ListImageBuildCommandRisks' description is the rule's first one (in
 * record order) in its least image: the server reads a page's at once
 * (rule_texts_read), the command line an item at a time; both give the
 * same, and a record without one is passed over. */
static void test_build_rule_description(void **state)
{
    (void)state;
    const char *doc =
        "{\"image\":{\"image_type\":\"harbor\",\"namespace\":\"bd\",\"image_name\":\"desc\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},\"build_command_risks\":["
        "{\"rule_id\":\"RD-1\",\"risk_name\":\"descorder\",\"risk_level\":\"low\","
        "\"build_instruction\":\"RUN a\"},"
        "{\"rule_id\":\"RD-2\",\"risk_name\":\"descorder\",\"risk_level\":\"low\","
        "\"build_instruction\":\"RUN b\",\"description\":\"two\"},"
        "{\"rule_id\":\"RD-1\",\"risk_name\":\"descorder\",\"risk_level\":\"low\","
        "\"build_instruction\":\"RUN c\",\"description\":\"first\"},"
        "{\"rule_id\":\"RD-1\",\"risk_name\":\"descorder\",\"risk_level\":\"low\","
        "\"build_instruction\":\"RUN d\",\"description\":\"second\"},"
        "{\"rule_id\":\"RD-3\",\"risk_name\":\"descorder\",\"risk_level\":\"low\","
        "\"build_instruction\":\"RUN e\"}]}";
    http_resp r;
    assert_int_equal(api_ingest(&S, T_WRITER, "P1", "0", doc, false, &r), 200);
    http_resp_free(&r);
    json_t *o = list_get(T_P1_ALL, "P1", "image/build-command-risks",
                         "image_type=registry&risk_name=descorder&enterprise_project_id="
                         "all_granted_eps&limit=10",
                         NULL);
    assert_non_null(o);
    json_t *items = json_object_get(o, "data_list");
    assert_int_equal(json_array_size(items), 3);
    static const char *const WANT[3][2] = {{"RD-1", "first"}, {"RD-2", "two"}, {"RD-3", NULL}};
    for (size_t k = 0; k < 3; k++) {
        json_t *it = json_array_get(items, k);
        assert_string_equal(json_string_value(json_object_get(it, "rule_id")), WANT[k][0]);
        json_t *d = json_object_get(it, "description");
        if (WANT[k][1])
            assert_string_equal(json_string_value(d), WANT[k][1]);
        else
            assert_null(d);
    }
    json_decref(o);
    char *out = NULL;
    assert_int_equal(cli_run(&S, NULL, &out, "list", "build-risks", "--project", "P1", "--db", S.db,
                             "--param", "image_type=registry", "--param", "risk_name=descorder",
                             "--output", "json", NULL),
                     0);
    assert_non_null(strstr(out, "\"description\": \"first\""));
    assert_non_null(strstr(out, "\"description\": \"two\""));
    assert_null(strstr(out, "\"second\""));
    free(out);
}

static int count_rows(const store_cell *cells, int n, void *arg)
{
    (void)cells, (void)n;
    (*(int64_t *)arg)++;
    return 0;
}

static void test_list_query_stops_when_gone(void **state)
{
    (void)state;
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(S.db, &st, &err), IMGSEC_OK);
    const char *LONG = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
                       "WHERE x < 5000000) SELECT count(*) FROM n";
    int64_t rows = 0;
    store_list_watch(st, gone_now, NULL);
    assert_int_equal(store_list_query(st, LONG, NULL, 0, count_rows, &rows, &err),
                     IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "client gone");
    assert_int_equal(gone_calls, 1);
    assert_int_equal(rows, 0);
    store_list_watch(st, NULL, NULL);
    err = (imgsec_err){0};
    assert_int_equal(store_list_query(st, "SELECT count(*) FROM images", NULL, 0, count_rows,
                                      &rows, &err), IMGSEC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(gone_calls, 1);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_lists_match_statistic),
        cmocka_unit_test(test_app_vul_num),
        cmocka_unit_test(test_risk_configs_and_rules),
        cmocka_unit_test(test_global_lists_match_statistic),
        cmocka_unit_test(test_build_risks),
        cmocka_unit_test(test_vulnerability_views),
        cmocka_unit_test(test_deep_offsets),
        cmocka_unit_test(test_scope_and_isolation),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_item_types),
        cmocka_unit_test(test_cli_same_numbers),
        cmocka_unit_test(test_index_groups_equal_sql),
        cmocka_unit_test(test_list_query_stops_when_gone),
        cmocka_unit_test(test_app_vul_num_exact), /* last: these add images */
        cmocka_unit_test(test_name_filters_equal_walk),
        cmocka_unit_test(test_name_filters_follow_changes),
        cmocka_unit_test(test_maxima_after_reingest),
        cmocka_unit_test(test_group_representative),
        cmocka_unit_test(test_build_rule_description),
    };
    int failed = cmocka_run_group_tests_name("lists", tests, setup, teardown);
    return failed + harness_failures();
}
