/* test_index.c - the in-memory query index (index.h, statistic.md,
 * data-model.md "Derived attributes").
 *
 * Each filter is checked alone with exact totals: images carry record
 * counts that are distinct powers of ten, so a total names exactly which
 * images were selected. Then replacement, removal, row reuse, clear and
 * index_select; finally a randomized run compares index_count and
 * index_select with a naive evaluator written here from the spec, over
 * the same summaries, through inserts, replacements and removals.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/index.h"
#include "index/index_dict.h"
#include "imgsec/list.h"
#include "index/index_hash.h"
#include "index/index_internal.h"
#include "index/index_key.h"

/* ---- building summaries ---- */

#define MAX_AGGS 16

/* A summary with room for its aggregates. Never copy one: s points into it. */
typedef struct {
    image_summary s;
    vul_agg vuls[MAX_AGGS];
    build_agg builds[MAX_AGGS];
} timg;

static void timg_init(timg *t, int64_t id)
{
    memset(t, 0, sizeof *t);
    image_summary *s = &t->s;
    s->id = id;
    s->project_id = "p1";
    s->ep = "0";
    s->type = IMAGE_TYPE_PRIVATE;
    s->status = SCAN_STATUS_SUCCESS;
    s->namespace_ = "shop";
    s->image_name = "web";
    s->image_version = "1.0";
    s->image_id = "";
    s->instance_id = "";
    s->instance_name = "";
    s->cicd_name = "";
    s->severity_level = SEVERITY_LEVEL_SECURITY;
    s->vuls = t->vuls;
    s->builds = t->builds;
}

static void add_vul(timg *t, const char *vul_id, vul_type vt, int64_t n)
{
    assert_true(t->s.n_vuls < MAX_AGGS);
    t->vuls[t->s.n_vuls++] = (vul_agg){.vul_id = vul_id, .type = vt, .n = n};
    t->s.counts[REPORT_VULNERABILITY] += n;
    t->s.vul_counts[vt] += n;
}

static void add_build(timg *t, const char *rule, const char *name, severity lv, int64_t n)
{
    assert_true(t->s.n_builds < MAX_AGGS);
    t->builds[t->s.n_builds++] = (build_agg){rule, name, lv, n};
    t->s.counts[REPORT_BUILD_COMMAND_RISKS] += n;
}

/* An image of p1 with `apps` app records (the usual marker of a test). */
static void timg_apps(timg *t, int64_t id, int64_t apps)
{
    timg_init(t, id);
    t->s.counts[REPORT_APPS] = apps;
}

static void put(imgsec_index *ix, const timg *t)
{
    imgsec_err err;
    err_clear(&err);
    index_write_begin(ix);
    int rc = index_upsert(ix, &t->s, &err);
    index_write_end(ix);
    if (rc != IMGSEC_OK)
        fail_msg("upsert %lld: %s", (long long)t->s.id, err.msg);
}

static void del(imgsec_index *ix, int64_t id)
{
    index_write_begin(ix);
    index_remove(ix, id);
    index_write_end(ix);
}

/* A query selecting everything, with no filter. */
static stat_query q_all(report_type r)
{
    stat_query q;
    filter_init(&q, r);
    q.operate_all = true;
    return q;
}

static int64_t count_scope(imgsec_index *ix, const index_scope *sc, const stat_query *q)
{
    int64_t total = -1;
    imgsec_err err;
    err_clear(&err);
    int rc = index_count(ix, sc, q, &total, &err);
    if (rc != IMGSEC_OK)
        fail_msg("index_count: %s", err.msg);
    return total;
}

static int64_t count_in(imgsec_index *ix, const char *project, const stat_query *q)
{
    index_scope sc = {project, true, NULL, 0};
    return count_scope(ix, &sc, q);
}

static int64_t count(imgsec_index *ix, const stat_query *q)
{
    return count_in(ix, "p1", q);
}

static int64_t count_eps(imgsec_index *ix, const char *project, const char *const *eps, size_t n,
                         const stat_query *q)
{
    index_scope sc = {project, false, eps, n};
    return count_scope(ix, &sc, q);
}

/* apps total of p1 with image_id_list ids[0..n) */
static int64_t count_ids(imgsec_index *ix, const char *project, const char **ids, size_t n)
{
    stat_query q = q_all(REPORT_APPS);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = n;
    return count_in(ix, project, &q);
}

/* ---- basics ---- */

static void test_empty(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    assert_non_null(ix);
    assert_int_equal(index_size(ix), 0);
    for (int r = 0; r < REPORT_TYPE_COUNT; r++) {
        stat_query q = q_all((report_type)r);
        assert_int_equal(count(ix, &q), 0);
    }
    index_free(ix);
}

static void test_counts_per_report(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b;
    timg_init(&a, 1);
    a.s.counts[REPORT_APPS] = 7;
    a.s.counts[REPORT_FILES] = 3;
    a.s.counts[REPORT_SENSITIVE_INFO] = 2;
    add_vul(&a, "CVE-1", VUL_TYPE_LINUX, 2);
    timg_init(&b, 2);
    b.s.image_name = "api";
    b.s.counts[REPORT_APPS] = 5;
    b.s.counts[REPORT_NON_COMPLIANT_APP] = 9;
    add_build(&b, "DS002", "root", SEVERITY_HIGH, 4);
    put(ix, &a);
    put(ix, &b);
    assert_int_equal(index_size(ix), 2);
    const int64_t want[REPORT_TYPE_COUNT] = {
        [REPORT_VULNERABILITY] = 2, [REPORT_APPS] = 12, [REPORT_FILES] = 3,
        [REPORT_SENSITIVE_INFO] = 2, [REPORT_NON_COMPLIANT_APP] = 9,
        [REPORT_BUILD_COMMAND_RISKS] = 4};
    for (int r = 0; r < REPORT_TYPE_COUNT; r++) {
        stat_query q = q_all((report_type)r);
        assert_int_equal(count(ix, &q), want[r]);
    }
    index_free(ix);
}

static void test_project_isolation(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    timg_apps(&b, 2, 10);
    b.s.project_id = "p2";
    timg_apps(&c, 3, 100);
    c.s.project_id = "p2";
    c.s.ep = "e1";
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    stat_query q = q_all(REPORT_APPS);
    assert_int_equal(count_in(ix, "p1", &q), 1);
    assert_int_equal(count_in(ix, "p2", &q), 110);
    assert_int_equal(count_in(ix, "p3", &q), 0);
    assert_int_equal(count_in(ix, NULL, &q), 0);
    assert_int_equal(count_in(ix, "p", &q), 0);
    /* another project's image named by id is still out of scope */
    const char *ids[] = {"2", "1"};
    assert_int_equal(count_ids(ix, "p1", ids, 2), 1);
    assert_int_equal(count_ids(ix, "p2", ids, 2), 10);
    index_free(ix);
}

static void test_ep_scope(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c, d;
    timg_apps(&a, 1, 1);
    timg_apps(&b, 2, 10);
    b.s.ep = "e1";
    timg_apps(&c, 3, 100);
    c.s.ep = "e2";
    timg_apps(&d, 4, 1000);
    d.s.ep = "e1";
    d.s.project_id = "p2";
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    put(ix, &d);
    stat_query q = q_all(REPORT_APPS);
    const char *e1[] = {"e1"};
    const char *e0e2[] = {"0", "e2"};
    const char *e1e1[] = {"e1", "e1"};
    const char *nope[] = {"nope"};
    const char *all3[] = {"e2", "0", "e1"};
    assert_int_equal(count_eps(ix, "p1", e1, 1, &q), 10);
    assert_int_equal(count_eps(ix, "p1", e0e2, 2, &q), 101);
    assert_int_equal(count_eps(ix, "p1", e1e1, 2, &q), 10);
    assert_int_equal(count_eps(ix, "p1", NULL, 0, &q), 0);
    assert_int_equal(count_eps(ix, "p1", nope, 1, &q), 0);
    assert_int_equal(count_eps(ix, "p1", all3, 3, &q), 111);
    assert_int_equal(count_in(ix, "p1", &q), 111);
    assert_int_equal(count_eps(ix, "p2", e1, 1, &q), 1000);
    assert_int_equal(count_eps(ix, "p2", e0e2, 2, &q), 0);
    index_free(ix);
}

/* index_project_eps: each EP of the project once, never another
 * project's (nor one whose project id is a prefix), gone with its last image. */
static void eps_cb(const char *ep, void *arg)
{
    char *out = arg;
    size_t used = strlen(out);
    snprintf(out + used, 256 - used, "%s%s", used ? "," : "", ep);
}

/* The EPs as a sorted comma list (index_project_eps gives no order). */
static void project_eps(imgsec_index *ix, const char *project, char out[256], int want_n)
{
    char raw[256] = "";
    assert_int_equal(index_project_eps(ix, project, eps_cb, raw), want_n);
    const char *v[16];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(raw, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *x = v[j];
            v[j] = v[j - 1], v[j - 1] = x;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        eps_cb(v[i], out);
}

static void test_project_eps(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    char got[256];
    project_eps(ix, "p1", got, 0);
    assert_string_equal(got, "");
    timg a, b, c, d, e;
    timg_apps(&a, 1, 1);
    timg_apps(&b, 2, 1);
    b.s.ep = "e1";
    timg_apps(&c, 3, 1);
    c.s.ep = "e1";
    timg_apps(&d, 4, 1);
    d.s.ep = "e9";
    d.s.project_id = "p2";
    timg_apps(&e, 5, 1);
    e.s.ep = "e8";
    e.s.project_id = "p1x"; /* "p1" is a prefix of it */
    put(ix, &a), put(ix, &b), put(ix, &c), put(ix, &d), put(ix, &e);
    project_eps(ix, "p1", got, 2);
    assert_string_equal(got, "0,e1");
    project_eps(ix, "p2", got, 1);
    assert_string_equal(got, "e9");
    project_eps(ix, "p1x", got, 1);
    assert_string_equal(got, "e8");
    project_eps(ix, "p", got, 0);
    assert_string_equal(got, "");
    del(ix, 2);
    project_eps(ix, "p1", got, 2); /* c still holds e1 */
    assert_string_equal(got, "0,e1");
    del(ix, 3);
    project_eps(ix, "p1", got, 1);
    assert_string_equal(got, "0");
    index_free(ix);
}

static void test_image_ids(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c, d, e;
    timg_apps(&a, 7, 1);
    a.s.image_id = "sha256:aa";
    timg_apps(&b, 8, 10);
    b.s.image_id = "sha256:bb";
    timg_apps(&c, 9, 100);
    c.s.image_id = "sha256:aa"; /* same content id as image 7 */
    timg_apps(&d, 70, 1000);
    d.s.image_id = "7"; /* a content id that spells another image's id */
    timg_apps(&e, 10, 10000);
    e.s.project_id = "p2";
    e.s.image_id = "sha256:aa";
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    put(ix, &d);
    put(ix, &e);

    const char *l7[] = {"7"};
    assert_int_equal(count_ids(ix, "p1", l7, 1), 1001);
    const char *l8[] = {"8"};
    assert_int_equal(count_ids(ix, "p1", l8, 1), 10);
    const char *laa[] = {"sha256:aa"};
    assert_int_equal(count_ids(ix, "p1", laa, 1), 101);
    assert_int_equal(count_ids(ix, "p2", laa, 1), 10000);
    const char *both[] = {"8", "sha256:bb"};
    assert_int_equal(count_ids(ix, "p1", both, 2), 10);
    const char *twice[] = {"8", "8", "9", "sha256:aa"};
    assert_int_equal(count_ids(ix, "p1", twice, 4), 111);
    const char *bad[] = {"007", "+8", " 8", "8 ", "abc", "", "sha256:a", "99999999999999999999"};
    assert_int_equal(count_ids(ix, "p1", bad, 8), 0);
    const char *other[] = {"10"};
    assert_int_equal(count_ids(ix, "p1", other, 1), 0);
    assert_int_equal(count_ids(ix, "p2", other, 1), 10000);

    /* negative and extreme ids are spelled as the server writes them */
    timg f, g;
    timg_apps(&f, -5, 100000);
    timg_apps(&g, INT64_MAX, 1000000);
    put(ix, &f);
    put(ix, &g);
    const char *neg[] = {"-5"};
    assert_int_equal(count_ids(ix, "p1", neg, 1), 100000);
    const char *max[] = {"9223372036854775807"};
    assert_int_equal(count_ids(ix, "p1", max, 1), 1000000);
    const char *odd[] = {"-05", "-0", "--5", "-", "9223372036854775808", "-9223372036854775809"};
    assert_int_equal(count_ids(ix, "p1", odd, 6), 0);
    del(ix, -5);
    del(ix, INT64_MAX);

    /* operate_all ignores the list */
    stat_query q = q_all(REPORT_APPS);
    q.image_ids = l8;
    q.n_image_ids = 1;
    assert_int_equal(count(ix, &q), 1111);

    /* without any decimal content id left, "7" names image 7 only; with
     * one back (on another image), both again */
    del(ix, 70);
    assert_int_equal(count_ids(ix, "p1", l7, 1), 1);
    b.s.image_id = "7";
    put(ix, &b);
    assert_int_equal(count_ids(ix, "p1", l7, 1), 11);
    b.s.image_id = "sha256:bb";
    put(ix, &b);
    assert_int_equal(count_ids(ix, "p1", l7, 1), 1);

    /* a long list (sorted through a bitset) gives the same answers */
    static char many[3000][24];
    const char *long_list[3000];
    for (int i = 0; i < 3000; i++) {
        snprintf(many[i], sizeof many[i], "%d", i % 3 == 0 ? 8 : i);
        long_list[i] = many[i];
    }
    long_list[1] = "sha256:aa";
    assert_int_equal(count_ids(ix, "p1", long_list, 3000), 111);
    index_free(ix);
}

static void test_enum_filters(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    timg_apps(&b, 2, 10);
    b.s.type = IMAGE_TYPE_HARBOR;
    b.s.status = SCAN_STATUS_FAILED;
    b.s.severity_level = SEVERITY_LEVEL_NONE;
    timg_apps(&c, 3, 100);
    c.s.type = IMAGE_TYPE_HARBOR;
    c.s.status = SCAN_STATUS_SUCCESS;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    stat_query q = q_all(REPORT_APPS);
    q.image_type = IMAGE_TYPE_HARBOR;
    assert_int_equal(count(ix, &q), 110);
    q.image_type = IMAGE_TYPE_PRIVATE;
    assert_int_equal(count(ix, &q), 1);
    q.image_type = IMAGE_TYPE_CICD;
    assert_int_equal(count(ix, &q), 0);
    q = q_all(REPORT_APPS);
    q.scan_status = SCAN_STATUS_SUCCESS;
    assert_int_equal(count(ix, &q), 101);
    q.scan_status = SCAN_STATUS_FAILED;
    assert_int_equal(count(ix, &q), 10);
    q.image_type = IMAGE_TYPE_PRIVATE;
    assert_int_equal(count(ix, &q), 0);
    q.scan_status = SCAN_STATUS_UNSCAN;
    q.image_type = -1;
    assert_int_equal(count(ix, &q), 0);
    index_free(ix);
}

/* ---- string filters ---- */

static void put_three_named(imgsec_index *ix)
{
    timg a, b, c;
    timg_apps(&a, 1, 1);
    a.s.namespace_ = "shop";
    a.s.image_name = "web-frontend";
    a.s.image_version = "1.4.2";
    a.s.image_id = "sha256:abc";
    a.s.instance_id = "ins-1";
    a.s.instance_name = "harbor-prod";
    a.s.cicd_name = "pipe-main";
    timg_apps(&b, 2, 10);
    b.s.namespace_ = "shopping";
    b.s.image_name = "api";
    b.s.image_version = "2.0";
    b.s.image_id = "sha256:abcd";
    b.s.instance_id = "ins-12";
    b.s.instance_name = "harbor-test";
    b.s.cicd_name = "pipe-dev";
    timg_apps(&c, 3, 100);
    c.s.namespace_ = NULL; /* NULL strings count as "" */
    c.s.image_name = "Web";
    c.s.image_version = "1.4";
    c.s.image_id = NULL;
    c.s.instance_id = NULL;
    c.s.instance_name = NULL;
    c.s.cicd_name = NULL;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
}

typedef struct {
    size_t off; /* offsetof(stat_query, field) */
    const char *value;
    int64_t want;
} str_case;

static void check_str_cases(imgsec_index *ix, const str_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        stat_query q = q_all(REPORT_APPS);
        *(const char **)((char *)&q + cases[i].off) = cases[i].value;
        int64_t got = count(ix, &q);
        if (got != cases[i].want)
            fail_msg("case %zu (\"%s\"): got %lld, want %lld", i,
                     cases[i].value ? cases[i].value : "(null)", (long long)got,
                     (long long)cases[i].want);
    }
}

static void test_substring_and_exact(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_three_named(ix);
    const str_case cases[] = {
        {offsetof(stat_query, namespace_), "shop", 11},
        {offsetof(stat_query, namespace_), "opp", 10},
        {offsetof(stat_query, namespace_), "", 111},
        {offsetof(stat_query, namespace_), NULL, 111},
        {offsetof(stat_query, namespace_), "SHOP", 0},
        {offsetof(stat_query, image_name), "web", 1},
        {offsetof(stat_query, image_name), "Web", 100},
        {offsetof(stat_query, image_name), "eb", 101},
        {offsetof(stat_query, image_name), "web-frontend-x", 0},
        {offsetof(stat_query, image_version), "1.4", 101},
        {offsetof(stat_query, image_version), ".2", 1},
        {offsetof(stat_query, instance_name), "harbor", 11},
        {offsetof(stat_query, instance_name), "test", 10},
        {offsetof(stat_query, cicd_name), "pipe", 11},
        {offsetof(stat_query, cicd_name), "main", 1},
        {offsetof(stat_query, cicd_name), "", 111},
        /* exact */
        {offsetof(stat_query, image_id), "sha256:abc", 1},
        {offsetof(stat_query, image_id), "sha256:abcd", 10},
        {offsetof(stat_query, image_id), "sha256:ab", 0},
        {offsetof(stat_query, image_id), "", 111},
        {offsetof(stat_query, instance_id), "ins-1", 1},
        {offsetof(stat_query, instance_id), "ins", 0},
        {offsetof(stat_query, instance_id), "ins-12", 10},
        {offsetof(stat_query, instance_id), NULL, 111},
    };
    check_str_cases(ix, cases, sizeof cases / sizeof cases[0]);

    stat_query q = q_all(REPORT_APPS);
    q.namespace_ = "shop";
    q.image_version = "2.";
    assert_int_equal(count(ix, &q), 10);
    q.instance_name = "prod";
    assert_int_equal(count(ix, &q), 0);
    index_free(ix);
}

/* With few candidates left and many dictionary entries, substring filters
 * are tested on the rows instead of the dictionary: same answers. */
static void test_substring_row_path(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_three_named(ix);
    static char names[60][24];
    for (int i = 0; i < 60; i++) {
        timg f;
        snprintf(names[i], sizeof names[i], "filler-%d", i);
        timg_apps(&f, 100 + i, 0);
        f.s.image_name = names[i];
        f.s.image_version = names[i];
        f.s.namespace_ = names[i];
        f.s.instance_name = names[i];
        f.s.cicd_name = names[i];
        put(ix, &f);
    }
    stat_query q = q_all(REPORT_APPS);
    q.image_id = "sha256:abc";
    q.image_name = "web";
    assert_int_equal(count(ix, &q), 1);
    q.image_name = "api";
    assert_int_equal(count(ix, &q), 0);
    q.image_name = NULL;
    q.image_version = "1.4";
    q.namespace_ = "sho";
    q.instance_name = "harbor-p";
    q.cicd_name = "main";
    assert_int_equal(count(ix, &q), 1);
    q.cicd_name = "dev";
    assert_int_equal(count(ix, &q), 0);

    const char *ids[] = {"1", "2", "3"};
    q = q_all(REPORT_APPS);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 3;
    q.image_name = "eb";
    assert_int_equal(count(ix, &q), 101);
    q.image_version = "1.4";
    q.namespace_ = "sh";
    assert_int_equal(count(ix, &q), 1);
    /* the same over the dictionary path (all candidates) */
    q.operate_all = true;
    assert_int_equal(count(ix, &q), 1);
    q.namespace_ = "filler-1";
    q.image_version = NULL;
    q.image_name = "filler";
    assert_int_equal(count(ix, &q), 0);
    index_free(ix);
}

/* A string's rows move between their three forms (inline, array, bitmap)
 * as images come and go; filters answer the same in each. */
static void test_dict_forms(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg t;
    for (int64_t id = 1; id <= 5000; id++) {
        timg_apps(&t, id, 1);
        t.s.image_name = "big";
        t.s.instance_id = "ins-big";
        put(ix, &t);
    }
    for (int64_t id = 10001; id <= 10010; id++) {
        timg_apps(&t, id, 1000);
        t.s.image_name = "sig";
        put(ix, &t);
    }
    for (int64_t id = 20001; id <= 25100; id++) {
        timg_apps(&t, id, 100000);
        t.s.image_name = "other";
        t.s.namespace_ = "ns-other";
        put(ix, &t);
    }
    /* "other" matches more images than it misses: the filter is applied as
     * "not the rows of the other names", a bitmap ("big") and an array */
    stat_query q0 = q_all(REPORT_APPS);
    q0.image_name = "o";
    assert_int_equal(count(ix, &q0), 510000000);
    q0.image_name = "s"; /* fewer hits: the rows of "sig" */
    assert_int_equal(count(ix, &q0), 10000);
    q0.image_name = NULL;
    q0.namespace_ = "sho"; /* the "shop" entry holds a bitmap */
    assert_int_equal(count(ix, &q0), 15000);
    static const struct {
        int64_t removed_upto;
        int64_t want_big;
    } steps[] = {{0, 5000}, {4000, 1000}, {4998, 2}, {4999, 1}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        index_write_begin(ix);
        for (int64_t id = 1; id <= steps[i].removed_upto; id++)
            index_remove(ix, id);
        index_write_end(ix);
        stat_query q = q_all(REPORT_APPS);
        q.image_name = "big";
        assert_int_equal(count(ix, &q), steps[i].want_big);
        q.image_name = "ig"; /* both names, by dictionary scan */
        assert_int_equal(count(ix, &q), steps[i].want_big + 10000);
        q.image_name = "o";
        assert_int_equal(count(ix, &q), 510000000);
        q = q_all(REPORT_APPS);
        q.instance_id = "ins-big";
        assert_int_equal(count(ix, &q), steps[i].want_big);
        const char *ids[] = {"5000", "10001"};
        q.operate_all = false;
        q.image_ids = ids;
        q.n_image_ids = 2;
        assert_int_equal(count(ix, &q), 1);
        q.instance_id = NULL;
        q.image_name = "b"; /* few candidates: tested per row */
        assert_int_equal(count(ix, &q), 1);
        q.latest_version = true; /* image 5000 is the latest "big" (ties: greatest id) */
        assert_int_equal(count(ix, &q), 1);
    }
    timg_apps(&t, 2, 1);
    t.s.image_name = "big";
    t.s.instance_id = "ins-big";
    put(ix, &t);
    stat_query q = q_all(REPORT_APPS);
    q.instance_id = "ins-big";
    assert_int_equal(count(ix, &q), 2);
    index_free(ix);
}

static void test_ranges(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    a.s.image_size = 100;
    a.s.latest_update_time = 1000;
    a.s.latest_scan_time = 0;
    timg_apps(&b, 2, 10);
    b.s.image_size = 200;
    b.s.latest_update_time = 2000;
    b.s.latest_scan_time = 5000;
    timg_apps(&c, 3, 100);
    c.s.image_size = 300;
    c.s.latest_update_time = 3000;
    c.s.latest_scan_time = 6000;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);

    stat_query q = q_all(REPORT_APPS);
    q.has_image_size = true;
    q.image_size = 200;
    assert_int_equal(count(ix, &q), 11);
    q.image_size = 99;
    assert_int_equal(count(ix, &q), 0);
    q.image_size = 300;
    assert_int_equal(count(ix, &q), 111);
    q.image_size = 0;
    assert_int_equal(count(ix, &q), 0);

    q = q_all(REPORT_APPS);
    q.has_update_start = true;
    q.update_start = 2000;
    assert_int_equal(count(ix, &q), 110);
    q.has_update_end = true;
    q.update_end = 2000;
    assert_int_equal(count(ix, &q), 10);
    q.has_update_start = false;
    assert_int_equal(count(ix, &q), 11);
    q.has_update_start = true;
    q.update_start = 3001;
    q.has_update_end = false;
    assert_int_equal(count(ix, &q), 0);

    q = q_all(REPORT_APPS);
    q.has_scan_end = true;
    q.scan_end = 0;
    assert_int_equal(count(ix, &q), 1);
    q.has_scan_start = true;
    q.scan_start = 5000;
    q.scan_end = 5999;
    assert_int_equal(count(ix, &q), 10);
    q.scan_end = 6000;
    assert_int_equal(count(ix, &q), 110);
    q.has_image_size = true;
    q.image_size = 250;
    assert_int_equal(count(ix, &q), 10);
    index_free(ix);
}

/* Sums over most of a fleet, with free rows among its rows: a selection
 * of more than half of the rows is summed through its complement, and
 * ranges with every image a candidate are summed over every row, where a
 * removed image's row reads size 0 and times 0 (inside a range from 0)
 * and must count nothing. WF_IMAGES is odd so that rows are left after
 * the last group of four. Each total is checked against the images
 * themselves. */
#define WF_IMAGES 301

typedef struct {
    bool live;
    int64_t size, upd, scan, apps, files, vul_app;
    scan_status st;
    image_type type;
    severity_level level;
    const char *ep, *name;
} wf_ref;

static const char *const WF_EPS[] = {"0", "e1", "e2"};
/* Image names: two held by many images (their dictionary entries keep
 * running sums: index_rows.c ENTRY_SUMS_MIN), one by about 30, and 30
 * held by a few each (no sums: their rows are read). */
static const char *const WF_NAMES[] = {
    "web-front", "api-web", "db-main", "svc-0", "svc-1", "svc-2", "svc-3", "svc-4",
    "svc-5", "svc-6", "svc-7", "svc-8", "svc-9", "svc-10", "svc-11", "svc-12",
    "svc-13", "svc-14", "svc-15", "svc-16", "svc-17", "svc-18", "svc-19", "svc-20",
    "svc-21", "svc-22", "svc-23", "svc-24", "svc-25", "svc-26", "svc-27", "svc-28",
    "svc-29"};
/* Needles: the two large entries (fewer matching entries than not), the
 * small ones (fewer not matching), one small entry and ten of them,
 * nothing, everything, and the medium entry alone. */
static const char *const WF_NEEDLES[] = {"web", "svc-", "svc-7", "svc-1", "zzz", "-", "db-"};

static uint64_t wf_rnd(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

/* A new image id (random attributes from *r) in t, and in ref[id]. */
static void wf_make(timg *t, wf_ref *ref, int64_t id, uint64_t *r)
{
    timg_apps(t, id, 1 + (int64_t)(wf_rnd(r) % 50));
    t->s.counts[REPORT_FILES] = (int64_t)(wf_rnd(r) % 7);
    t->s.image_size = (int64_t)(wf_rnd(r) % 1000);
    t->s.latest_update_time = 1000 + (int64_t)(wf_rnd(r) % 1000);
    t->s.latest_scan_time = wf_rnd(r) % 3 ? 5000 + (int64_t)(wf_rnd(r) % 1000) : 0;
    t->s.status = wf_rnd(r) % 10 ? SCAN_STATUS_SUCCESS : SCAN_STATUS_FAILED;
    t->s.type = (image_type)(wf_rnd(r) % IMAGE_TYPE_COUNT);
    t->s.severity_level = t->s.status == SCAN_STATUS_SUCCESS
                             ? (severity_level)(wf_rnd(r) % SEVERITY_LEVEL_COUNT)
                             : SEVERITY_LEVEL_NONE;
    t->s.ep = WF_EPS[wf_rnd(r) % 3];
    uint64_t pick = wf_rnd(r) % 10;
    t->s.image_name = pick < 7 ? WF_NAMES[pick % 3] : WF_NAMES[3 + wf_rnd(r) % 30];
    add_vul(t, "CVE-1", VUL_TYPE_APP, (int64_t)(wf_rnd(r) % 4));
    add_vul(t, "CVE-2", VUL_TYPE_LINUX, 1 + (int64_t)(wf_rnd(r) % 4));
    ref[id] = (wf_ref){true,
                       t->s.image_size,
                       t->s.latest_update_time,
                       t->s.latest_scan_time,
                       t->s.counts[REPORT_APPS],
                       t->s.counts[REPORT_FILES],
                       t->s.vul_counts[VUL_TYPE_APP],
                       t->s.status,
                       t->s.type,
                       t->s.severity_level,
                       t->s.ep,
                       t->s.image_name};
}

static void wf_put(imgsec_index *ix, wf_ref *ref, int64_t id, uint64_t *r)
{
    timg t;
    wf_make(&t, ref, id, r);
    put(ix, &t);
}

/* ep: the one EP of the scope, or NULL for all of them */
static int64_t wf_expect(const wf_ref *ref, const char *ep, const stat_query *q)
{
    int64_t sum = 0;
    for (int64_t id = 1; id <= WF_IMAGES; id++) {
        const wf_ref *x = &ref[id];
        if (!x->live || (ep && strcmp(ep, x->ep) != 0) ||
            (q->image_type >= 0 && x->type != (image_type)q->image_type) ||
            (q->severity_level >= 0 && x->level != (severity_level)q->severity_level) ||
            (q->scan_status >= 0 && x->st != (scan_status)q->scan_status) ||
            (q->has_image_size && x->size > q->image_size) ||
            (q->has_update_start && x->upd < q->update_start) ||
            (q->has_update_end && x->upd > q->update_end) ||
            (q->has_scan_start && x->scan < q->scan_start) ||
            (q->has_scan_end && x->scan > q->scan_end) ||
            (q->image_name && *q->image_name && !strstr(x->name, q->image_name)))
            continue;
        sum += q->report == REPORT_APPS ? x->apps
               : q->report == REPORT_FILES ? x->files
                                           : x->vul_app; /* vulnerabilities of vul_type app */
    }
    return sum;
}

/* index_count in p1, all EPs or only ep, against the images */
static void wf_check(imgsec_index *ix, const wf_ref *ref, const char *ep, const stat_query *q,
                     const char *what)
{
    const char *eps[] = {ep};
    int64_t want = wf_expect(ref, ep, q);
    int64_t got = ep ? count_eps(ix, "p1", eps, 1, q) : count(ix, q);
    if (got != want)
        fail_msg("%s, EP %s: %lld, want %lld", what, ep ? ep : "(all)", (long long)got,
                 (long long)want);
}

/* The categorical values' and the EPs' running sums: every value alone,
 * in every scope, and combined (where the sums no longer apply). */
static void wf_check_values(imgsec_index *ix, const wf_ref *ref)
{
    for (int e = -1; e < 3; e++) {
        const char *ep = e < 0 ? NULL : WF_EPS[e];
        for (int rep = 0; rep < 3; rep++) {
            stat_query base = q_all(rep == 0 ? REPORT_APPS : rep == 1 ? REPORT_FILES
                                                                     : REPORT_VULNERABILITY);
            if (rep == 2)
                base.vul_type = VUL_TYPE_APP;
            wf_check(ix, ref, ep, &base, "no filter");
            for (int v = 0; v < IMAGE_TYPE_COUNT; v++) {
                stat_query q = base;
                q.image_type = v;
                wf_check(ix, ref, ep, &q, "image_type");
                q.scan_status = SCAN_STATUS_FAILED;
                wf_check(ix, ref, ep, &q, "image_type and scan_status");
            }
            for (int v = 0; v < SCAN_STATUS_COUNT; v++) {
                stat_query q = base;
                q.scan_status = v;
                wf_check(ix, ref, ep, &q, "scan_status");
            }
            for (int v = 0; v < SEVERITY_LEVEL_COUNT; v++) {
                stat_query q = base;
                q.severity_level = v;
                wf_check(ix, ref, ep, &q, "severity_level");
                q.has_image_size = true;
                q.image_size = 500;
                wf_check(ix, ref, ep, &q, "severity_level and image_size");
            }
            /* a substring filter alone (over every image: the matching
             * entries' sums, or the column's less the others'), and with
             * another filter (where the entries' sums do not apply) */
            for (size_t n = 0; n < sizeof WF_NEEDLES / sizeof WF_NEEDLES[0]; n++) {
                stat_query q = base;
                q.image_name = WF_NEEDLES[n];
                wf_check(ix, ref, ep, &q, WF_NEEDLES[n]);
                q.image_type = IMAGE_TYPE_PRIVATE;
                wf_check(ix, ref, ep, &q, "image_name and image_type");
                q.image_type = -1;
                q.has_image_size = true;
                q.image_size = 500;
                wf_check(ix, ref, ep, &q, "image_name and image_size");
            }
        }
    }
}

static void test_sums_whole_fleet(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    static wf_ref ref[WF_IMAGES + 1];
    memset(ref, 0, sizeof ref);
    uint64_t r = 88172645463325252ULL;
    for (int64_t id = 1; id <= WF_IMAGES; id++)
        wf_put(ix, ref, id, &r);
    for (int64_t id = 7; id <= WF_IMAGES; id += 7) {
        del(ix, id);
        ref[id].live = false;
    }
    wf_put(ix, ref, 14, &r); /* back, in a row freed by another image */
    wf_put(ix, ref, 70, &r);

    struct {
        bool size, ustart, uend, sstart, send;
        int64_t size_v, ustart_v, uend_v, sstart_v, send_v;
    } cases[] = {
        {true, false, false, false, false, 0, 0, 0, 0, 0},
        {true, false, false, false, false, 499, 0, 0, 0, 0},
        {true, false, false, false, false, 999, 0, 0, 0, 0},
        {false, true, true, false, false, 0, 1200, 1800, 0, 0},
        {false, false, false, false, true, 0, 0, 0, 0, 0},
        {false, false, false, true, true, 0, 0, 0, 5000, 5500},
        {false, false, false, true, false, 0, 0, 0, 5990, 0},
        {true, true, false, false, false, 600, 1500, 0, 0, 0},
        {true, true, true, true, true, 600, 1100, 1900, 0, 5700},
    };
    int64_t seen = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int rep = 0; rep < 2; rep++) {
            for (int st = -1; st < 2; st++) {
                stat_query q = q_all(rep ? REPORT_FILES : REPORT_APPS);
                q.scan_status = st < 0 ? -1 : st ? SCAN_STATUS_FAILED : SCAN_STATUS_SUCCESS;
                q.has_image_size = cases[i].size;
                q.image_size = cases[i].size_v;
                q.has_update_start = cases[i].ustart;
                q.update_start = cases[i].ustart_v;
                q.has_update_end = cases[i].uend;
                q.update_end = cases[i].uend_v;
                q.has_scan_start = cases[i].sstart;
                q.scan_start = cases[i].sstart_v;
                q.has_scan_end = cases[i].send;
                q.scan_end = cases[i].send_v;
                int64_t want = wf_expect(ref, NULL, &q);
                if (count(ix, &q) != want)
                    fail_msg("case %zu, %s, status %d: %lld, want %lld", i,
                             rep ? "files" : "apps", st, (long long)count(ix, &q),
                             (long long)want);
                seen += want;
            }
        }
    }
    /* no range: the whole column, the status's rows and their complement */
    for (int st = -1; st < 2; st++) {
        stat_query q = q_all(REPORT_APPS);
        q.scan_status = st < 0 ? -1 : st ? SCAN_STATUS_FAILED : SCAN_STATUS_SUCCESS;
        assert_int_equal(count(ix, &q), wf_expect(ref, NULL, &q));
    }
    assert_true(seen > 0);
    wf_check_values(ix, ref);
    /* an image moved to another EP, type and level, and one removed: the
     * sums follow */
    wf_put(ix, ref, 3, &r);
    del(ix, 5);
    ref[5].live = false;
    wf_check_values(ix, ref);
    /* the sums over the second instance, made by copying the first (a
     * clear and a rebuild in one batch: rows_clone) */
    index_write_begin(ix);
    index_clear(ix);
    for (int64_t id = 1; id <= WF_IMAGES; id++) {
        if (!ref[id].live)
            continue;
        timg t;
        wf_make(&t, ref, id, &r);
        imgsec_err err;
        if (index_upsert(ix, &t.s, &err) != IMGSEC_OK)
            fail_msg("upsert: %s", err.msg);
    }
    index_write_end(ix);
    wf_check_values(ix, ref);
    index_write_begin(ix);
    index_write_end(ix); /* the other instance, published */
    wf_check_values(ix, ref);
    /* another project: p1 no longer holds every image, so "all of p1" is
     * no running sum; answers stay the same */
    timg o;
    timg_apps(&o, WF_IMAGES + 1, 1000);
    o.s.project_id = "p2";
    o.s.image_name = "web-front";
    put(ix, &o);
    wf_check_values(ix, ref);
    index_free(ix);
}

/* A range count over every image reads the range columns quantized
 * (index_internal.h ix_quantize: steps of 32 bytes and 1.024 s) and the
 * 64-bit columns only for rows on a bound's step: sizes and times on
 * either side of each bound, on its step and the next, at the clamps
 * (negative, 0, beyond 2^37 bytes and 2^42 ms), with free rows, against
 * the images. RS_IMAGES is not a multiple of 8 (the last rows are
 * tested one by one). */
#define RS_IMAGES 203
#define RS_T 1700000000000LL /* a time bound: ms */
#define RS_S 123456789LL     /* a size bound: bytes */

static const int64_t RS_DT[] = {-1025, -1024, -1023, -1, 0, 1, 1023, 1024, 1025, -5000000,
                                 86400000};
static const int64_t RS_DS[] = {-33, -32, -31, -1, 0, 1, 31, 32, 33, -100000, 100000};

typedef struct {
    int64_t id, size, upd, scan;
} rs_item;
typedef struct {
    rs_item img[RS_IMAGES];
    int64_t n;
} rs_page;

static void rs_page_cb(const index_image *img, void *arg)
{
    rs_page *p = arg;
    if (p->n < RS_IMAGES)
        p->img[p->n++] =
            (rs_item){img->id, img->image_size, img->latest_update_time, img->latest_scan_time};
}

typedef struct {
    bool live;
    int64_t size, upd, scan, apps;
} rs_ref;

/* Image id's attributes from *r, into t and ref[id]: steps on each side
 * of the bounds, and outliers (negative, beyond the last step). */
static void rs_make(timg *t, rs_ref *ref, int64_t id, uint64_t *r)
{
    timg_apps(t, id, 1 + (int64_t)(wf_rnd(r) % 9));
    uint64_t a = wf_rnd(r), b = wf_rnd(r), c = wf_rnd(r);
    size_t nt = sizeof RS_DT / sizeof RS_DT[0], ns = sizeof RS_DS / sizeof RS_DS[0];
    t->s.image_size = a % 23 == 0   ? INT64_MAX / 2
                      : a % 23 == 1 ? 0
                      : a % 23 == 2 ? (1LL << 37) + 5
                      : a % 23 == 3 ? -7
                                    : RS_S + RS_DS[a % ns];
    t->s.latest_update_time = b % 19 == 0   ? 0
                              : b % 19 == 1 ? (1LL << 42) + 7
                              : b % 19 == 2 ? -1500
                                            : RS_T + RS_DT[b % nt];
    t->s.latest_scan_time = c % 17 == 0 ? 0 : RS_T + 3600000 + RS_DT[c % nt];
    ref[id] = (rs_ref){true, t->s.image_size, t->s.latest_update_time, t->s.latest_scan_time,
                       t->s.counts[REPORT_APPS]};
}

/* Every query shape around the bounds against ref; and each image's
 * values as a page shows them. */
static void rs_check(imgsec_index *ix, const rs_ref *ref)
{
    int64_t checked = 0, nonzero = 0;
    for (size_t i = 0; i < sizeof RS_DT / sizeof RS_DT[0]; i++) {
        for (size_t j = 0; j < sizeof RS_DS / sizeof RS_DS[0]; j++) {
            for (int shape = 0; shape < 9; shape++) {
                stat_query q = q_all(REPORT_APPS);
                int64_t t = RS_T + RS_DT[i], sz = RS_S + RS_DS[j];
                /* 2, 7 and 8: windows of two steps, one or two (adjacent
                 * steps: none sure), and one value */
                q.has_update_start = shape == 0 || shape == 2 || shape == 4 || shape >= 7;
                q.update_start = t;
                q.has_update_end = shape == 1 || shape == 2 || shape == 5 || shape >= 7;
                q.update_end = shape == 2 ? t + 2048 : shape == 7 ? t + 1000 : t;
                q.has_image_size = shape >= 3;
                q.image_size = shape == 5 ? (1LL << 37) + 5 : shape == 6 ? -7 : sz;
                q.has_scan_start = shape == 4;
                q.scan_start = t + 3600000 - 1023;
                q.has_scan_end = shape == 4;
                q.scan_end = t + 3600000 + 5000;
                int64_t want = 0;
                for (int64_t id = 1; id <= RS_IMAGES; id++) {
                    if (!ref[id].live || (q.has_update_start && ref[id].upd < q.update_start) ||
                        (q.has_update_end && ref[id].upd > q.update_end) ||
                        (q.has_image_size && ref[id].size > q.image_size) ||
                        (q.has_scan_start && ref[id].scan < q.scan_start) ||
                        (q.has_scan_end && ref[id].scan > q.scan_end))
                        continue;
                    want += ref[id].apps;
                }
                int64_t got = count(ix, &q);
                if (got != want)
                    fail_msg("time %+lld, size %+lld, shape %d: %lld, want %lld",
                             (long long)RS_DT[i], (long long)RS_DS[j], shape, (long long)got,
                             (long long)want);
                checked++;
                nonzero += want > 0;
            }
        }
    }
    assert_int_equal(checked, 11 * 11 * 9);
    assert_true(nonzero > checked / 2);
    /* the whole values, as a page lists them */
    stat_query q = q_all(REPORT_APPS);
    index_scope sc = {.project_id = "p1", .all_eps = true};
    index_page_req p = {.order = INDEX_ORDER_ID, .limit = RS_IMAGES};
    static rs_page got;
    got.n = 0;
    int64_t total;
    imgsec_err err;
    assert_int_equal(index_page(ix, &sc, &q, &p, &total, rs_page_cb, &got, &err), IMGSEC_OK);
    int64_t n = 0;
    for (int64_t id = 1; id <= RS_IMAGES; id++) {
        if (!ref[id].live)
            continue;
        assert_true(n < got.n);
        assert_int_equal(got.img[n].id, id);
        if (got.img[n].size != ref[id].size || got.img[n].upd != ref[id].upd ||
            got.img[n].scan != ref[id].scan)
            fail_msg("image %lld: %lld %lld %lld, want %lld %lld %lld", (long long)id,
                     (long long)got.img[n].size, (long long)got.img[n].upd,
                     (long long)got.img[n].scan, (long long)ref[id].size,
                     (long long)ref[id].upd, (long long)ref[id].scan);
        n++;
    }
    assert_int_equal(n, got.n);
    /* exactly the live images' outliers are kept (a replaced or removed
     * image's are dropped) */
    size_t outliers = 0;
    for (int64_t id = 1; id <= RS_IMAGES; id++)
        if (ref[id].live)
            outliers += (ref[id].size < 0 || ref[id].size >> IX_QSHIFT_SIZE >= UINT32_MAX) +
                        (ref[id].upd < 0 || ref[id].upd >> IX_QSHIFT_TIME >= UINT32_MAX) +
                        (ref[id].scan < 0 || ref[id].scan >> IX_QSHIFT_TIME >= UINT32_MAX);
    assert_true(outliers > 0);
    assert_int_equal(index_published(ix)->n_outliers, outliers);
}

static void test_range_steps(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    static rs_ref ref[RS_IMAGES + 1];
    uint64_t r = 2463534242ULL;
    for (int64_t id = 1; id <= RS_IMAGES; id++) {
        timg t;
        rs_make(&t, ref, id, &r);
        put(ix, &t);
    }
    for (int64_t id = 5; id <= RS_IMAGES; id += 11) {
        del(ix, id);
        ref[id].live = false;
    }
    rs_check(ix, ref);
    /* images replaced in place (their outliers dropped and made again),
     * then a clear and a rebuild in one batch (the instance copied:
     * rows_clone), then the other instance published */
    for (int64_t id = 2; id <= RS_IMAGES; id += 7) {
        if (!ref[id].live)
            continue;
        timg t;
        rs_make(&t, ref, id, &r);
        put(ix, &t);
    }
    rs_check(ix, ref);
    index_write_begin(ix);
    index_clear(ix);
    for (int64_t id = 1; id <= RS_IMAGES; id++) {
        if (!ref[id].live)
            continue;
        timg t;
        rs_make(&t, ref, id, &r);
        imgsec_err err;
        if (index_upsert(ix, &t.s, &err) != IMGSEC_OK)
            fail_msg("upsert: %s", err.msg);
    }
    index_write_end(ix);
    rs_check(ix, ref);
    index_write_begin(ix);
    index_write_end(ix);
    rs_check(ix, ref);
    index_free(ix);
}

/* ---- a pass over every row across the cores (index_scan.c) ---- */

#define SC_ROWS 1000003u
static _Atomic unsigned char sc_seen[SC_ROWS];
static _Atomic int sc_bad_from;

/* row r's value is 3r + 1; each row visited is marked */
static uint64_t sc_part(const void *arg, uint32_t from, uint32_t to)
{
    (void)arg;
    if (from % 64)
        atomic_store(&sc_bad_from, 1);
    uint64_t sum = 0;
    for (uint32_t r = from; r < to; r++) {
        sum += 3 * (uint64_t)r + 1;
        atomic_fetch_add(&sc_seen[r], 1);
    }
    return sum;
}

static uint64_t sc_expect(uint64_t n)
{
    return 3 * (n * (n - 1) / 2) + n;
}

static void *sc_thread(void *arg)
{
    ix_scan *s = arg;
    for (int i = 0; i < 20; i++)
        if (scan_sum(s, SC_ROWS, sc_part, NULL) != sc_expect(SC_ROWS))
            return (void *)1;
    return NULL;
}

/* Every row summed once, whatever thread takes its chunk: alone, from
 * four threads at once (more scans than helpers: some run serial, some
 * helpers are left waiting and given up), too small to split, and
 * without a scanner. */
static void test_scan_sum(void **state)
{
    (void)state;
    ix_scan *s = scan_new();
    assert_non_null(s);
    for (int i = 0; i < 5; i++) {
        memset((void *)sc_seen, 0, sizeof sc_seen);
        assert_true(scan_sum(s, SC_ROWS, sc_part, NULL) == sc_expect(SC_ROWS));
        for (uint32_t r = 0; r < SC_ROWS; r++)
            if (atomic_load(&sc_seen[r]) != 1)
                fail_msg("row %u visited %u times", r, (unsigned)atomic_load(&sc_seen[r]));
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sc_thread, s), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    assert_true(scan_sum(s, 1000, sc_part, NULL) == sc_expect(1000));
    assert_true(scan_sum(NULL, SC_ROWS, sc_part, NULL) == sc_expect(SC_ROWS));
    assert_true(scan_sum(s, 0, sc_part, NULL) == 0);
    assert_int_equal(atomic_load(&sc_bad_from), 0);
    scan_free(s);
}

/* A range count over more rows than one chunk (split across the cores),
 * with free rows, against the images. */
#define SR_IMAGES 140001
static void test_scan_ranges(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    static int64_t size[SR_IMAGES + 1], upd[SR_IMAGES + 1], apps[SR_IMAGES + 1];
    uint64_t r = 1181783497276652981ULL;
    index_write_begin(ix);
    for (int64_t id = 1; id <= SR_IMAGES; id++) {
        timg t;
        timg_apps(&t, id, 1 + (int64_t)(wf_rnd(&r) % 5));
        t.s.image_size = (int64_t)(wf_rnd(&r) % 4000000);
        t.s.latest_update_time = RS_T + (int64_t)(wf_rnd(&r) % 86400000);
        imgsec_err err;
        if (index_upsert(ix, &t.s, &err) != IMGSEC_OK)
            fail_msg("upsert: %s", err.msg);
        size[id] = t.s.image_size;
        upd[id] = t.s.latest_update_time;
        apps[id] = t.s.counts[REPORT_APPS];
    }
    index_write_end(ix);
    index_write_begin(ix);
    for (int64_t id = 1000; id <= SR_IMAGES; id += 1000) {
        index_remove(ix, id);
        apps[id] = 0;
    }
    index_write_end(ix);
    for (int k = 0; k < 3; k++) {
        stat_query q = q_all(REPORT_APPS);
        q.has_image_size = k != 1;
        q.image_size = 1000000 + k * 777777;
        q.has_update_start = q.has_update_end = k != 0;
        q.update_start = RS_T + 3600000 + k;
        q.update_end = RS_T + 43200000 - k;
        int64_t want = 0;
        for (int64_t id = 1; id <= SR_IMAGES; id++)
            if ((!q.has_image_size || size[id] <= q.image_size) &&
                (!q.has_update_start || (upd[id] >= q.update_start && upd[id] <= q.update_end)))
                want += apps[id];
        assert_int_equal(count(ix, &q), want);
    }
    index_free(ix);
}

/* ---- derived attributes ---- */

static void put_four_derived(imgsec_index *ix)
{
    timg a, b, c, d;
    timg_apps(&a, 1, 1);
    add_vul(&a, "CVE-1", VUL_TYPE_LINUX, 1);
    a.s.severity_level = SEVERITY_LEVEL_SECURITY;
    timg_apps(&b, 2, 10);
    b.s.counts[REPORT_MALWARES] = 2;
    b.s.container_num = 3;
    b.s.severity_level = SEVERITY_LEVEL_HIGH;
    timg_apps(&c, 3, 100);
    c.s.counts[REPORT_RISK_CONFIG] = 1;
    c.s.severity_level = SEVERITY_LEVEL_LOW;
    timg_apps(&d, 4, 1000);
    d.s.status = SCAN_STATUS_FAILED;
    d.s.severity_level = SEVERITY_LEVEL_NONE;
    d.s.container_num = 1;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    put(ix, &d);
}

static void test_tristate(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_four_derived(ix);
    static const struct {
        size_t off;
        int64_t if_true, if_false;
    } cases[] = {
        {offsetof(stat_query, has_vul), 1, 1110},
        {offsetof(stat_query, has_malicious_file), 10, 1101},
        {offsetof(stat_query, has_unsafe_setting), 100, 1011},
        {offsetof(stat_query, has_container), 1010, 101},
        {offsetof(stat_query, risky), 110, 1001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stat_query q = q_all(REPORT_APPS);
        tri_bool *t = (tri_bool *)((char *)&q + cases[i].off);
        *t = TRI_TRUE;
        assert_int_equal(count(ix, &q), cases[i].if_true);
        *t = TRI_FALSE;
        assert_int_equal(count(ix, &q), cases[i].if_false);
        *t = TRI_ANY;
        assert_int_equal(count(ix, &q), 1111);
    }
    stat_query q = q_all(REPORT_APPS);
    q.has_container = TRI_TRUE;
    q.risky = TRI_FALSE;
    assert_int_equal(count(ix, &q), 1000);
    index_free(ix);
}

static void test_severity_level(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_four_derived(ix);
    const int64_t want[SEVERITY_LEVEL_COUNT] = {
        [SEVERITY_LEVEL_SECURITY] = 1, [SEVERITY_LEVEL_LOW] = 100,
        [SEVERITY_LEVEL_MEDIUM] = 0, [SEVERITY_LEVEL_HIGH] = 10};
    for (int l = 0; l < SEVERITY_LEVEL_COUNT; l++) {
        stat_query q = q_all(REPORT_APPS);
        q.severity_level = l;
        assert_int_equal(count(ix, &q), want[l]); /* image 4 (no level) never */
    }
    /* the NONE image becomes Medium on a successful rescan */
    timg d;
    timg_apps(&d, 4, 1000);
    d.s.severity_level = SEVERITY_LEVEL_MEDIUM;
    put(ix, &d);
    stat_query q = q_all(REPORT_APPS);
    q.severity_level = SEVERITY_LEVEL_MEDIUM;
    assert_int_equal(count(ix, &q), 1000);
    q = q_all(REPORT_APPS);
    q.risky = TRI_TRUE;
    assert_int_equal(count(ix, &q), 1110);
    q.has_container = TRI_TRUE; /* container_num is 0 now */
    assert_int_equal(count(ix, &q), 10);
    index_free(ix);
}

/* ---- latest_version ---- */

static void put_latest(imgsec_index *ix, int64_t id, int64_t apps, const char *name,
                       int64_t update)
{
    timg t;
    timg_apps(&t, id, apps);
    t.s.image_name = name;
    t.s.latest_update_time = update;
    put(ix, &t);
}

static int64_t count_latest(imgsec_index *ix, const char *project)
{
    stat_query q = q_all(REPORT_APPS);
    q.latest_version = true;
    return count_in(ix, project, &q);
}

static void test_latest_version(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    /* group web of p1 */
    put_latest(ix, 1, 1, "web", 1000);
    put_latest(ix, 3, 100, "web", 2000); /* tie with 2 on time: the greater id wins */
    put_latest(ix, 2, 10, "web", 2000);
    /* group api */
    put_latest(ix, 4, 1000, "api", 500);
    /* same names, other project: its own group */
    timg t;
    timg_apps(&t, 5, 10000);
    t.s.project_id = "p2";
    t.s.latest_update_time = 9999;
    put(ix, &t);
    /* same name, other type / other instance: own groups */
    timg_apps(&t, 6, 100000);
    t.s.type = IMAGE_TYPE_SHARED;
    t.s.latest_update_time = 1;
    put(ix, &t);
    timg_apps(&t, 7, 1000000);
    t.s.instance_id = "ins-1";
    t.s.latest_update_time = 1;
    put(ix, &t);
    /* version, cicd and ep do not split a group */
    timg_apps(&t, 8, 10000000);
    t.s.image_version = "9";
    t.s.cicd_name = "pipe";
    t.s.ep = "e1";
    t.s.latest_update_time = 1500;
    put(ix, &t);

    assert_int_equal(count_latest(ix, "p1"), 100 + 1000 + 100000 + 1000000);
    assert_int_equal(count_latest(ix, "p2"), 10000);

    /* false filters nothing */
    stat_query q = q_all(REPORT_APPS);
    q.latest_version = false;
    assert_int_equal(count(ix, &q), 11101111);

    /* image 3 moves to group api: it becomes api's latest, web's is 2 */
    put_latest(ix, 3, 100, "api", 2000);
    assert_int_equal(count_latest(ix, "p1"), 10 + 100 + 100000 + 1000000);

    /* removing 2 leaves 1 (1000) and 8 (1500): 8 */
    del(ix, 2);
    assert_int_equal(count_latest(ix, "p1"), 10000000 + 100 + 100000 + 1000000);

    /* 1 gets newer in place */
    put_latest(ix, 1, 1, "web", 5000);
    assert_int_equal(count_latest(ix, "p1"), 1 + 100 + 100000 + 1000000);

    /* removing 3 gives api back to 4 */
    del(ix, 3);
    assert_int_equal(count_latest(ix, "p1"), 1 + 1000 + 100000 + 1000000);

    /* 4 goes older than nothing: still the only member */
    put_latest(ix, 4, 1000, "api", 0);
    assert_int_equal(count_latest(ix, "p1"), 1 + 1000 + 100000 + 1000000);

    /* the last member of a group leaves, a new one starts it again */
    del(ix, 4);
    assert_int_equal(count_latest(ix, "p1"), 1 + 100000 + 1000000);
    put_latest(ix, 9, 1000, "api", 0);
    assert_int_equal(count_latest(ix, "p1"), 1 + 1000 + 100000 + 1000000);

    /* 8 moves to p2 (same names): it is older than 5 there */
    timg_apps(&t, 8, 10000000);
    t.s.project_id = "p2";
    t.s.latest_update_time = 1500;
    put(ix, &t);
    assert_int_equal(count_latest(ix, "p2"), 10000);
    assert_int_equal(count_latest(ix, "p1"), 1 + 1000 + 100000 + 1000000);
    index_free(ix);
}

/* ---- record filters ---- */

static void put_vuls(imgsec_index *ix)
{
    timg a, b, c;
    timg_init(&a, 1);
    add_vul(&a, "CVE-1", VUL_TYPE_LINUX, 2);
    add_vul(&a, "CVE-2", VUL_TYPE_APP, 1);
    add_vul(&a, "CVE-3", VUL_TYPE_LINUX, 4);
    timg_init(&b, 2);
    add_vul(&b, "CVE-1", VUL_TYPE_APP, 10);
    add_vul(&b, "CVE-2", VUL_TYPE_APP, 20);
    timg_init(&c, 3);
    c.s.ep = "e1";
    add_vul(&c, "CVE-1", VUL_TYPE_LINUX, 100);
    a.s.counts[REPORT_APPS] = 1000;
    a.s.counts[REPORT_BUILD_COMMAND_RISKS] = 5;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
}

static int64_t count_vuls(imgsec_index *ix, int vt, const char **ids, size_t n)
{
    stat_query q = q_all(REPORT_VULNERABILITY);
    q.vul_type = vt;
    q.vul_ids = ids;
    q.n_vul_ids = n;
    return count(ix, &q);
}

/* The ops of a rebuild test_bulk_rebuild_is_the_serial_build applies:
 * 2,000 images with vulnerability aggregates, every 13th replaced (its
 * postings cleared and added again within the batch), every 17th
 * removed; then BULK_PLAIN more with two each and no replacement, whose
 * postings fill several of index_bulk.c's 256 KB chunks between two
 * drains (the 2,000 before drain at every 13th image, so each of their
 * chunks is small): records split across chunk boundaries, and applied
 * chunk after chunk, must give the serial build too. */
#define BULK_PLAIN 24000
static void bulk_ops(imgsec_index *ix, bool clear)
{
    static const char *const CVES[] = {"CVE-0", "CVE-1", "CVE-2", "CVE-3", "CVE-4"};
    imgsec_err err;
    timg t;
    index_write_begin(ix);
    if (clear)
        index_clear(ix);
    for (int64_t id = 1; id <= 2000; id++) {
        timg_init(&t, id);
        add_vul(&t, CVES[id % 5], VUL_TYPE_APP, 1 + id % 3);
        if (id % 7 == 0)
            add_vul(&t, "CVE-X", VUL_TYPE_LINUX, 2);
        assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
        if (id % 13 == 1) { /* replaced: CVE-R only */
            timg_init(&t, id);
            add_vul(&t, "CVE-R", VUL_TYPE_LINUX, 5);
            assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
        }
    }
    for (int64_t id = 1; id <= 2000; id += 17)
        index_remove(ix, id);
    for (int64_t id = 2001; id <= 2000 + BULK_PLAIN; id++) {
        timg_init(&t, id);
        add_vul(&t, CVES[id % 5], VUL_TYPE_APP, 1 + id % 3);
        add_vul(&t, "CVE-PLAIN", VUL_TYPE_LINUX, 1);
        assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    }
    assert_int_equal(index_write_flush(ix, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
}

/* A full rebuild (a batch begun with index_clear) builds its
 * vulnerability postings on a second thread (index_bulk.c), draining it
 * for each replacement and removal inside the batch. The result is the
 * serial build's: the same terms under the same ids, the same postings in
 * the same order, and the counts a model of the ops gives. */
static void test_bulk_rebuild_is_the_serial_build(void **state)
{
    (void)state;
    imgsec_index *serial = index_new(), *bulk = index_new();
    bulk_ops(serial, false); /* no clear: upserts applied in place */
    bulk_ops(bulk, true);
    int64_t want[5] = {0}, want_x = 0, want_r = 0;
    for (int64_t id = 1; id <= 2000; id++) {
        if (id % 17 == 1)
            continue;
        if (id % 13 == 1) {
            want_r += 5;
            continue;
        }
        want[id % 5] += 1 + id % 3;
        want_x += id % 7 == 0 ? 2 : 0;
    }
    for (int64_t id = 2001; id <= 2000 + BULK_PLAIN; id++)
        want[id % 5] += 1 + id % 3;
    assert_int_equal(want_r, 720);
    imgsec_index *both[2] = {serial, bulk};
    for (int k = 0; k < 2; k++) {
        imgsec_index *ix = both[k];
        assert_int_equal(index_size(ix), 2000 - 118 + BULK_PLAIN);
        const char *x[] = {"CVE-X"}, *r[] = {"CVE-R"}, *pl[] = {"CVE-PLAIN"};
        assert_int_equal(count_vuls(ix, -1, pl, 1), BULK_PLAIN);
        assert_int_equal(count_vuls(ix, -1, x, 1), want_x);
        assert_int_equal(count_vuls(ix, -1, r, 1), 720);
        for (int c = 0; c < 5; c++) {
            char id[8];
            snprintf(id, sizeof id, "CVE-%d", c);
            const char *one[] = {id};
            assert_int_equal(count_vuls(ix, VUL_TYPE_APP, one, 1), want[c]);
        }
    }
    const postings *a = &index_published(serial)->vuls, *b = &index_published(bulk)->vuls;
    assert_int_equal(a->n_ids, b->n_ids);
    assert_int_equal(a->n_postings, b->n_postings);
    for (uint32_t i = 0; i < a->n_ids; i++) {
        const pterm *ta = a->terms[i], *tb = b->terms[i];
        assert_int_equal(ta == NULL, tb == NULL);
        if (!ta)
            continue;
        assert_string_equal(ta->key, tb->key);
        assert_int_equal(ta->len, tb->len);
        assert_int_equal(ta->total, tb->total);
        assert_memory_equal(ta->p, tb->p, ta->len * sizeof *ta->p);
    }
    index_free(serial);
    index_free(bulk);
}

static void test_vul_filters(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_vuls(ix);
    assert_int_equal(count_vuls(ix, -1, NULL, 0), 137);
    assert_int_equal(count_vuls(ix, VUL_TYPE_LINUX, NULL, 0), 106);
    assert_int_equal(count_vuls(ix, VUL_TYPE_APP, NULL, 0), 31);
    const char *c1[] = {"CVE-1"};
    assert_int_equal(count_vuls(ix, -1, c1, 1), 112);
    assert_int_equal(count_vuls(ix, VUL_TYPE_LINUX, c1, 1), 102);
    assert_int_equal(count_vuls(ix, VUL_TYPE_APP, c1, 1), 10);
    const char *c11[] = {"CVE-1", "CVE-1"};
    assert_int_equal(count_vuls(ix, -1, c11, 2), 112);
    const char *c12[] = {"CVE-1", "CVE-2"};
    assert_int_equal(count_vuls(ix, -1, c12, 2), 133);
    const char *c9[] = {"CVE-9"};
    assert_int_equal(count_vuls(ix, -1, c9, 1), 0);
    const char *c2[] = {"CVE-2"};
    assert_int_equal(count_vuls(ix, VUL_TYPE_LINUX, c2, 1), 0);
    const char *c232[] = {"CVE-2", "CVE-3", "CVE-2", "CVE-9"};
    assert_int_equal(count_vuls(ix, VUL_TYPE_APP, c232, 4), 21);
    assert_int_equal(count_vuls(ix, -1, c232, 4), 25);
    const char *cpre[] = {"CVE-"};
    assert_int_equal(count_vuls(ix, -1, cpre, 1), 0); /* exact ids, not substrings */

    /* with the image filters and scope */
    const char *e1[] = {"e1"};
    stat_query q = q_all(REPORT_VULNERABILITY);
    q.vul_ids = c1;
    q.n_vul_ids = 1;
    assert_int_equal(count_eps(ix, "p1", e1, 1, &q), 100);
    const char *ids[] = {"1"}; /* a small selection: summed from the row side */
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 1;
    assert_int_equal(count(ix, &q), 2);
    q.vul_ids = c232;
    q.n_vul_ids = 4;
    assert_int_equal(count(ix, &q), 5);
    q.vul_type = VUL_TYPE_APP;
    assert_int_equal(count(ix, &q), 1);

    /* record filters of another report type have no effect */
    q = q_all(REPORT_APPS);
    q.vul_ids = c9;
    q.n_vul_ids = 1;
    q.vul_type = VUL_TYPE_APP;
    assert_int_equal(count(ix, &q), 1000);
    q.report = REPORT_BUILD_COMMAND_RISKS;
    assert_int_equal(count(ix, &q), 5);
    index_free(ix);
}

/* The three ways of summing postings give the same answers: from the rows
 * (small selection), probing the selection per posting (few postings, many
 * rows: bitmap or array selection), a dense bitset (many postings). */
static void test_vul_sum_paths(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    for (int64_t id = 1; id <= 200; id++) {
        timg t;
        timg_init(&t, id);
        t.s.image_size = id;
        add_vul(&t, "CVE-COMMON", VUL_TYPE_LINUX, 1);
        if (id == 7)
            add_vul(&t, "CVE-RARE", VUL_TYPE_APP, 5);
        if (id == 9)
            add_vul(&t, "CVE-NONE", VUL_TYPE_APP, 0); /* an empty aggregate is no posting */
        put(ix, &t);
    }
    const char *rare[] = {"CVE-RARE"};
    const char *common[] = {"CVE-COMMON"};
    const char *both[] = {"CVE-COMMON", "CVE-RARE", "CVE-NONE"};
    const char *none[] = {"CVE-NONE"};
    assert_int_equal(count_vuls(ix, -1, rare, 1), 5);
    assert_int_equal(count_vuls(ix, -1, common, 1), 200);
    assert_int_equal(count_vuls(ix, -1, both, 3), 205);
    assert_int_equal(count_vuls(ix, -1, none, 1), 0);
    stat_query q = q_all(REPORT_VULNERABILITY);
    q.has_image_size = true; /* the selection becomes an array */
    q.image_size = 150;
    q.vul_ids = rare;
    q.n_vul_ids = 1;
    assert_int_equal(count(ix, &q), 5);
    q.image_size = 6;
    assert_int_equal(count(ix, &q), 0);
    q.image_size = 150;
    q.vul_ids = both;
    q.n_vul_ids = 3;
    assert_int_equal(count(ix, &q), 155);
    const char *ids[] = {"7", "8"};
    q = q_all(REPORT_VULNERABILITY);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 2;
    q.vul_ids = both;
    q.n_vul_ids = 3;
    assert_int_equal(count(ix, &q), 7);
    index_free(ix);
}

static void put_builds(imgsec_index *ix)
{
    timg a, b;
    timg_init(&a, 1);
    add_build(&a, "DS002", "image runs as root", SEVERITY_HIGH, 2);
    add_build(&a, "DS001", "apt-get without pin", SEVERITY_LOW, 1);
    a.s.counts[REPORT_APPS] = 1000;
    timg_init(&b, 2);
    add_build(&b, "DS002", "image runs as root", SEVERITY_HIGH, 5);
    add_build(&b, "DS003", "secret in env", SEVERITY_CRITICAL, 1);
    add_build(&b, "DS002", "runs as root user", SEVERITY_MEDIUM, 7);
    add_vul(&b, "CVE-1", VUL_TYPE_LINUX, 3);
    put(ix, &a);
    put(ix, &b);
}

static int64_t count_builds(imgsec_index *ix, int level, const char *name, const char **rules,
                            size_t n)
{
    stat_query q = q_all(REPORT_BUILD_COMMAND_RISKS);
    q.build_level = level;
    q.build_name = name;
    q.build_rule_ids = rules;
    q.n_build_rule_ids = n;
    return count(ix, &q);
}

static void test_build_filters(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_builds(ix);
    assert_int_equal(count_builds(ix, -1, NULL, NULL, 0), 16);
    assert_int_equal(count_builds(ix, SEVERITY_HIGH, NULL, NULL, 0), 7);
    assert_int_equal(count_builds(ix, SEVERITY_CRITICAL, NULL, NULL, 0), 1);
    assert_int_equal(count_builds(ix, SEVERITY_MEDIUM, NULL, NULL, 0), 7);
    assert_int_equal(count_builds(ix, SEVERITY_LOW, NULL, NULL, 0), 1);
    assert_int_equal(count_builds(ix, SEVERITY_UNKNOWN, NULL, NULL, 0), 0);
    assert_int_equal(count_builds(ix, -1, "root", NULL, 0), 14);
    assert_int_equal(count_builds(ix, -1, "Root", NULL, 0), 0);
    assert_int_equal(count_builds(ix, -1, "apt", NULL, 0), 1);
    assert_int_equal(count_builds(ix, -1, "", NULL, 0), 16);
    const char *r2[] = {"DS002"};
    const char *r22[] = {"DS002", "DS002"};
    const char *r13[] = {"DS001", "DS003"};
    const char *rx[] = {"DSX", "DS00"};
    const char *r12[] = {"DS001", "DS002", "DS001"};
    assert_int_equal(count_builds(ix, -1, NULL, r2, 1), 14);
    assert_int_equal(count_builds(ix, -1, NULL, r22, 2), 14);
    assert_int_equal(count_builds(ix, -1, NULL, r13, 2), 2);
    assert_int_equal(count_builds(ix, -1, NULL, rx, 2), 0);
    /* combined with AND */
    assert_int_equal(count_builds(ix, SEVERITY_HIGH, NULL, r2, 1), 7);
    assert_int_equal(count_builds(ix, -1, "user", r2, 1), 7);
    assert_int_equal(count_builds(ix, SEVERITY_HIGH, "apt", NULL, 0), 0);
    assert_int_equal(count_builds(ix, SEVERITY_LOW, "pin", r12, 3), 1);
    assert_int_equal(count_builds(ix, SEVERITY_MEDIUM, "root", r12, 3), 7);
    assert_int_equal(count_builds(ix, SEVERITY_MEDIUM, "root", r13, 2), 0);

    /* a small selection (row side) */
    const char *ids[] = {"2"};
    stat_query q = q_all(REPORT_BUILD_COMMAND_RISKS);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 1;
    q.build_name = "root";
    assert_int_equal(count(ix, &q), 12);
    q.build_rule_ids = r13;
    q.n_build_rule_ids = 2;
    assert_int_equal(count(ix, &q), 0);

    /* no effect on other report types */
    q = q_all(REPORT_VULNERABILITY);
    q.build_level = SEVERITY_UNKNOWN;
    q.build_name = "nothing";
    q.build_rule_ids = rx;
    q.n_build_rule_ids = 2;
    assert_int_equal(count(ix, &q), 3);
    q.report = REPORT_APPS;
    assert_int_equal(count(ix, &q), 1000);
    index_free(ix);
}

/* ---- replacing, removing, clearing ---- */

static void test_upsert_replaces(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a;
    timg_init(&a, 1);
    add_vul(&a, "CVE-1", VUL_TYPE_LINUX, 5);
    add_build(&a, "DS002", "root", SEVERITY_HIGH, 2);
    a.s.counts[REPORT_APPS] = 3;
    a.s.counts[REPORT_MALWARES] = 1;
    a.s.image_id = "sha256:old";
    put(ix, &a);
    timg other;
    timg_init(&other, 2);
    add_vul(&other, "CVE-1", VUL_TYPE_LINUX, 50);
    put(ix, &other);

    const char *c1[] = {"CVE-1"};
    const char *c2[] = {"CVE-2"};
    const char *r2[] = {"DS002"};
    assert_int_equal(count_vuls(ix, -1, c1, 1), 55);
    stat_query q = q_all(REPORT_APPS);
    assert_int_equal(count(ix, &q), 3);

    timg b;
    timg_init(&b, 1);
    add_vul(&b, "CVE-2", VUL_TYPE_APP, 2);
    b.s.counts[REPORT_APPS] = 4;
    b.s.ep = "e1";
    b.s.namespace_ = "other";
    b.s.image_id = "sha256:new";
    put(ix, &b);
    assert_int_equal(index_size(ix), 2);
    assert_int_equal(count_vuls(ix, -1, c1, 1), 50);
    assert_int_equal(count_vuls(ix, -1, c2, 1), 2);
    assert_int_equal(count_vuls(ix, VUL_TYPE_LINUX, NULL, 0), 50);
    assert_int_equal(count_vuls(ix, -1, NULL, 0), 52);
    assert_int_equal(count(ix, &q), 4);
    assert_int_equal(count_builds(ix, -1, NULL, NULL, 0), 0);
    assert_int_equal(count_builds(ix, -1, NULL, r2, 1), 0);
    const char *e0[] = {"0"};
    const char *e1[] = {"e1"};
    assert_int_equal(count_eps(ix, "p1", e0, 1, &q), 0);
    assert_int_equal(count_eps(ix, "p1", e1, 1, &q), 4);
    q.namespace_ = "shop";
    assert_int_equal(count(ix, &q), 0);
    q.namespace_ = "other";
    assert_int_equal(count(ix, &q), 4);
    q = q_all(REPORT_APPS);
    q.has_malicious_file = TRI_TRUE;
    assert_int_equal(count(ix, &q), 0);
    const char *old[] = {"sha256:old"};
    const char *new[] = {"sha256:new"};
    assert_int_equal(count_ids(ix, "p1", old, 1), 0);
    assert_int_equal(count_ids(ix, "p1", new, 1), 4);

    /* the same summary again changes nothing */
    put(ix, &b);
    assert_int_equal(index_size(ix), 2);
    assert_int_equal(count_vuls(ix, -1, c2, 1), 2);
    assert_int_equal(count_vuls(ix, -1, NULL, 0), 52);
    index_free(ix);
}

static void test_remove_and_reuse(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    add_vul(&a, "CVE-1", VUL_TYPE_LINUX, 1);
    timg_apps(&b, 2, 10);
    add_vul(&b, "CVE-1", VUL_TYPE_LINUX, 10);
    add_build(&b, "DS001", "x", SEVERITY_LOW, 1);
    b.s.image_id = "sha256:b";
    timg_apps(&c, 3, 100);
    add_vul(&c, "CVE-1", VUL_TYPE_LINUX, 100);
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    assert_int_equal(index_published(ix)->n_rows, 3);

    del(ix, 2);
    assert_int_equal(index_size(ix), 2);
    stat_query q = q_all(REPORT_APPS);
    assert_int_equal(count(ix, &q), 101);
    const char *c1[] = {"CVE-1"};
    assert_int_equal(count_vuls(ix, -1, c1, 1), 101);
    assert_int_equal(count_builds(ix, -1, NULL, NULL, 0), 0);
    assert_int_equal(count_builds(ix, SEVERITY_LOW, NULL, NULL, 0), 0);
    const char *ids[] = {"2", "sha256:b"};
    assert_int_equal(count_ids(ix, "p1", ids, 2), 0);

    /* removing what is not there */
    del(ix, 2);
    del(ix, 999);
    assert_int_equal(index_size(ix), 2);

    /* a new image takes the freed row */
    timg d;
    timg_apps(&d, 4, 1000);
    d.s.image_name = "db";
    put(ix, &d);
    assert_int_equal(index_published(ix)->n_rows, 3);
    assert_int_equal(index_size(ix), 3);
    assert_int_equal(count(ix, &q), 1101);
    assert_int_equal(count_vuls(ix, -1, c1, 1), 101);
    q.latest_version = true;
    assert_int_equal(count(ix, &q), 1000 + 100); /* 3 and 1 share group web: 3 wins the tie */
    const char *l4[] = {"4"};
    assert_int_equal(count_ids(ix, "p1", l4, 1), 1000);

    /* remove everything, one by one */
    del(ix, 1);
    del(ix, 3);
    del(ix, 4);
    assert_int_equal(index_size(ix), 0);
    q = q_all(REPORT_APPS);
    assert_int_equal(count(ix, &q), 0);
    assert_int_equal(count_vuls(ix, -1, c1, 1), 0);
    put(ix, &b);
    assert_int_equal(index_published(ix)->n_rows, 3);
    assert_int_equal(count(ix, &q), 10);
    index_free(ix);
}

static void test_clear(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_vuls(ix);
    put_builds(ix);
    assert_int_equal(index_size(ix), 3);
    index_write_begin(ix);
    index_clear(ix);
    index_write_end(ix);
    assert_int_equal(index_size(ix), 0);
    for (int r = 0; r < REPORT_TYPE_COUNT; r++) {
        stat_query q = q_all((report_type)r);
        assert_int_equal(count(ix, &q), 0);
    }
    const char *c1[] = {"CVE-1"};
    assert_int_equal(count_vuls(ix, -1, c1, 1), 0);
    put_vuls(ix);
    assert_int_equal(index_size(ix), 3);
    assert_int_equal(count_vuls(ix, -1, c1, 1), 112);
    index_free(ix);
}

/* ---- index_select ---- */

typedef struct {
    int64_t ids[64];
    int64_t records[64];
    size_t n;
    size_t stop_after; /* 0: never */
} sel_log;

/* ---- pages (index_page) ---- */

typedef struct {
    int64_t ids[64];
    size_t n;
} page_ids;

static void page_cb(const index_image *img, void *arg)
{
    page_ids *p = arg;
    assert_true(p->n < 64);
    p->ids[p->n++] = img->id;
}

typedef struct {
    int64_t id, scan;
} ref_row;

static int64_t ref_key;
static int ref_cmp(const void *a, const void *b)
{
    const ref_row *x = a, *y = b;
    int64_t kx = ref_key ? x->scan : x->id, ky = ref_key ? y->scan : y->id;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Every page of every order equals a brute-force sort of what is left
 * after removals that free rows and images that reuse them. */
static void test_page(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    enum { N = 600 };
    static ref_row live[N];
    static bool gone[N + 200];
    size_t n_live = 0;
    uint64_t r = 7;
    timg t;
    imgsec_err err;
    /* three batches: the images, removals that free rows, images reusing them */
    index_write_begin(ix);
    for (int64_t id = 1; id <= N; id++) {
        timg_init(&t, id);
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        t.s.latest_scan_time = (int64_t)(r >> 58); /* 0..63: many ties */
        t.s.type = (r >> 40) % 3 == 0 ? IMAGE_TYPE_LOCAL : IMAGE_TYPE_PRIVATE;
        assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    }
    index_write_end(ix);
    index_write_begin(ix);
    for (int64_t id = 3; id <= N; id += 3) {
        index_remove(ix, id);
        gone[id] = true;
    }
    index_write_end(ix);
    index_write_begin(ix);
    for (int64_t id = N + 1; id <= N + 100; id++) {
        timg_init(&t, id);
        t.s.latest_scan_time = id % 17;
        assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    }
    index_write_end(ix);
    /* the reference: private images only (the type mask below) */
    r = 7;
    for (int64_t id = 1; id <= N; id++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if (!gone[id] && (r >> 40) % 3 != 0)
            live[n_live++] = (ref_row){id, (int64_t)(r >> 58)};
    }
    for (int64_t id = N + 1; id <= N + 100 && n_live < N; id++)
        live[n_live++] = (ref_row){id, id % 17};
    stat_query q = q_all(REPORT_APPS);
    index_scope sc = {.project_id = "p1", .all_eps = true};
    /* the selection as a bitmap, then as the array of rows a range that
     * every image passes leaves (the type mask applies to both) */
    for (int ranged = 0; ranged < 2; ranged++)
    for (int order = 0; order < 2; order++) {
        q.has_image_size = ranged;
        q.image_size = INT64_MAX;
        ref_key = order;
        qsort(live, n_live, sizeof *live, ref_cmp);
        for (int desc = 0; desc < 2; desc++) {
            static const int64_t offsets[] = {0, 1, 63, 64, 65, 200, 399, 500};
            for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
                index_page_req p = {.type_mask = 1u << IMAGE_TYPE_PRIVATE,
                                    .order = (index_order)order, .desc = desc,
                                    .offset = offsets[o], .limit = 50};
                page_ids got = {0};
                int64_t total = -1;
                assert_int_equal(index_page(ix, &sc, &q, &p, &total, page_cb, &got, &err),
                                 IMGSEC_OK);
                assert_int_equal(total, (int64_t)n_live);
                size_t want = p.offset >= (int64_t)n_live ? 0
                              : n_live - (size_t)p.offset < 50 ? n_live - (size_t)p.offset : 50;
                assert_int_equal(got.n, want);
                for (size_t i = 0; i < want; i++) {
                    size_t k = (size_t)p.offset + i;
                    assert_int_equal(got.ids[i], live[desc ? n_live - 1 - k : k].id);
                }
            }
        }
    }
    index_page_req bad = {.order = INDEX_ORDER_COUNT, .limit = 1};
    int64_t total;
    assert_int_equal(index_page(ix, &sc, &q, &bad, &total, page_cb, NULL, &err), IMGSEC_EINVAL);
    filter_free(&q);
    index_free(ix);
}

/* The grouped vulnerability list read from the per-type sums of the
 * terms (a selection that is exactly some image types) equals the same
 * list walked posting by posting (an image condition that every image
 * passes forces the walk): totals, pages, counts, level, representative
 * and CVSS score; again after a write, which must drop the sums. */
static void expect_groups_same(imgsec_index *ix)
{
    static const index_image_match every = {NULL, NULL};
    static const unsigned MASKS[] = {0, 1u << IMAGE_TYPE_PRIVATE,
                                     (1u << IMAGE_TYPE_HARBOR) | (1u << IMAGE_TYPE_LOCAL)};
    /* every EP (the per-type sums), then one EP (the selection's cached
     * walk, sel_cache), each against the walk */
    static const char *const EP_A[] = {"ep-a"};
    for (int scoped = 0; scoped < 2; scoped++) {
    index_scope sc = {"p1", !scoped, scoped ? EP_A : NULL, scoped ? 1 : 0};
    index_group *a = calloc(LIST_LIMIT_MAX, sizeof *a), *b = calloc(LIST_LIMIT_MAX, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    /* every group, then one vul_id (ListVulnerabilityCve, cve_id); then
     * needles in the vul_id (vul_id / vul_name substrings: the cached
     * needle_groups), twice each so that the second reads the cache */
    static const char *const ONE[] = {NULL, "CVE-01", "GHSA-1", "CVE-0"};
    static const char *const NEEDLES[][2] = {{NULL, NULL}, {"CVE-0", NULL}, {"0", "3"},
                                             {"E-05", NULL}, {"GHSA", NULL}, {"nomatch", NULL},
                                             {"0", "3"}, {"E-05", NULL}};
    for (size_t nd = 0; nd < sizeof NEEDLES / sizeof NEEDLES[0]; nd++)
    for (size_t m = 0; m < sizeof MASKS / sizeof MASKS[0]; m++)
        for (int vt = -1; vt < VUL_TYPE_COUNT; vt++)
            for (int rk = 0; rk < 3; rk++)
                for (size_t e = 0; e < 2 * sizeof ONE / sizeof ONE[0]; e++)
                for (int64_t off = 0; off < (e < 2 ? 6 : 2); off += e < 2 ? 5 : 1) {
                    index_group_req r = {.type_mask = MASKS[m], .vul_type = vt, .level = -1,
                                         .by_rank = rk > 0, .rank_lo = rk == 2 ? 3 : 0,
                                         .rank_hi = 4, .offset = off, .limit = 7,
                                         .equals = ONE[e / 2], .equals_cve = e % 2,
                                         .contains = {NEEDLES[nd][0], NEEDLES[nd][1]}};
                    if ((!r.equals && r.equals_cve) || (nd > 0 && r.equals))
                        continue;
                    index_group_req w = r;
                    w.m = &every;
                    int64_t ta = -1, tb = -2;
                    size_t na = 0, nb = 0;
                    imgsec_err err;
                    err_clear(&err);
                    assert_int_equal(index_vul_groups(ix, &sc, &r, &ta, a, &na, &err), IMGSEC_OK);
                    assert_int_equal(index_vul_groups(ix, &sc, &w, &tb, b, &nb, &err), IMGSEC_OK);
                    assert_int_equal(ta, tb);
                    assert_int_equal(na, nb);
                    for (size_t i = 0; i < na; i++) {
                        assert_string_equal(a[i].key, b[i].key);
                        assert_int_equal(a[i].images, b[i].images);
                        assert_int_equal(a[i].records, b[i].records);
                        assert_int_equal(a[i].level, b[i].level);
                        assert_int_equal(a[i].scan_time, b[i].scan_time);
                        assert_int_equal(a[i].min_image, b[i].min_image);
                        assert_int_equal(a[i].held, b[i].held);
                        assert_int_equal(a[i].rep_image, b[i].rep_image);
                        assert_int_equal(a[i].rep_seq, b[i].rep_seq);
                        assert_int_equal(a[i].has_cvss, b[i].has_cvss);
                        assert_true(a[i].cvss == b[i].cvss);
                    }
                    index_groups_free(a, na);
                    index_groups_free(b, nb);
                }
    free(a);
    free(b);
    }
}

static void test_vul_groups_by_type(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    static const char *const IDS[] = {"CVE-01", "CVE-02", "CVE-03", "CVE-04", "CVE-05", "CVE-06"};
    static const image_type TYPES[] = {IMAGE_TYPE_PRIVATE, IMAGE_TYPE_HARBOR, IMAGE_TYPE_LOCAL,
                                       IMAGE_TYPE_CICD};
    uint64_t r = 11;
    for (int64_t id = 1; id <= 40; id++) {
        timg t;
        timg_init(&t, id);
        t.s.type = TYPES[id % 4];
        t.s.latest_scan_time = id % 9;
        if (id % 3 == 0)
            t.s.ep = "ep-a";
        for (int v = 0; v < 6; v++)
            for (int vt = 0; vt < VUL_TYPE_COUNT; vt++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                if ((r >> 60) % 3 == 0)
                    continue;
                add_vul(&t, IDS[v], (vul_type)vt, 1 + (int64_t)((r >> 50) % 4));
                vul_agg *a = &t.vuls[t.s.n_vuls - 1];
                a->rank = (int)((r >> 40) % 5);
                a->has_cvss = a->has_rep_cvss = (r >> 30) % 4 != 0;
                a->cvss = (double)((r >> 20) % 100) / 10;
                a->rep_cvss = a->cvss - (double)((r >> 12) % 2) / 10;
                a->rep_seq = (int64_t)((r >> 5) % 3);
            }
        put(ix, &t);
    }
    expect_groups_same(ix);
    timg t; /* a write: the sums are rebuilt */
    timg_init(&t, 41);
    t.s.type = IMAGE_TYPE_PRIVATE;
    add_vul(&t, IDS[0], VUL_TYPE_LINUX, 9);
    t.vuls[0].rank = 4;
    put(ix, &t);
    del(ix, 2);
    expect_groups_same(ix);
    index_free(ix);
}

/* The build-rule groups and the images of one vulnerability or rule, read
 * from the cached per-type sums and rows (no image condition, every image
 * selected), equal the same read walked posting by posting (an image
 * condition every image passes forces the walk). */
static void expect_builds_and_images_same(imgsec_index *ix, const char *const *vul_ids, size_t n_vul,
                                          const char *const *rules, size_t n_rules)
{
    static const index_image_match every = {NULL, NULL};
    static const unsigned MASKS[] = {0, 1u << IMAGE_TYPE_PRIVATE,
                                     (1u << IMAGE_TYPE_HARBOR) | (1u << IMAGE_TYPE_LOCAL),
                                     1u << IMAGE_TYPE_JFROG};
    static const int64_t OFFSETS[] = {0, 1, 63, 64, 130};
    index_scope sc = {"p1", true, NULL, 0};
    index_group *a = calloc(LIST_LIMIT_MAX, sizeof *a), *b = calloc(LIST_LIMIT_MAX, sizeof *b);
    int64_t *ia = calloc(LIST_LIMIT_MAX, sizeof *ia), *ib = calloc(LIST_LIMIT_MAX, sizeof *ib);
    unsigned ranks_seen = 0; /* the images' ranks of their vulnerability, as a set */
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(ia);
    assert_non_null(ib);
    imgsec_err err;
    err_clear(&err);
    for (size_t m = 0; m < sizeof MASKS / sizeof MASKS[0]; m++) {
        for (size_t o = 0; o < 3; o++) {
            index_group_req r = {.type_mask = MASKS[m], .vul_type = -1, .level = -1,
                                 .offset = OFFSETS[o], .limit = 3};
            index_group_req w = r;
            w.m = &every;
            int64_t ta = -1, tb = -2;
            size_t na = 0, nb = 0;
            assert_int_equal(index_build_groups(ix, &sc, &r, &ta, a, &na, &err), IMGSEC_OK);
            assert_int_equal(index_build_groups(ix, &sc, &w, &tb, b, &nb, &err), IMGSEC_OK);
            assert_int_equal(ta, tb);
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++) {
                assert_string_equal(a[i].key, b[i].key);
                assert_string_equal(a[i].name, b[i].name);
                assert_int_equal(a[i].level, b[i].level);
                assert_int_equal(a[i].images, b[i].images);
                assert_int_equal(a[i].records, b[i].records);
                assert_int_equal(a[i].scan_time, b[i].scan_time);
                assert_int_equal(a[i].min_image, b[i].min_image);
            }
            index_groups_free(a, na);
            index_groups_free(b, nb);
        }
        for (size_t o = 0; o < sizeof OFFSETS / sizeof OFFSETS[0]; o++) {
            for (size_t v = 0; v < n_vul; v++)
                for (int vt = 0; vt < VUL_TYPE_COUNT; vt++)
                    for (int rk = 0; rk < 4; rk++) { /* every rank, then ranges */
                        static const int LO[] = {0, 2, 4, 0}, HI[] = {4, 3, 4, 1};
                        int lo = LO[rk], hi = HI[rk];
                        int64_t ta = -1, tb = -2;
                        size_t na = 0, nb = 0;
                        uint8_t ra[50], rb[50];
                        memset(ra, 9, sizeof ra);
                        memset(rb, 8, sizeof rb);
                        assert_int_equal(index_vul_images(ix, &sc, MASKS[m], NULL, vul_ids[v],
                                                          (vul_type)vt, lo, hi, OFFSETS[o], 50,
                                                          &ta, ia, ra, &na, &err), IMGSEC_OK);
                        assert_int_equal(index_vul_images(ix, &sc, MASKS[m], &every, vul_ids[v],
                                                          (vul_type)vt, lo, hi, OFFSETS[o], 50,
                                                          &tb, ib, rb, &nb, &err), IMGSEC_OK);
                        assert_int_equal(ta, tb);
                        assert_int_equal(na, nb);
                        for (size_t i = 0; i < na; i++) {
                            assert_int_equal(ia[i], ib[i]);
                            assert_int_equal(ra[i], rb[i]);
                            assert_true(ra[i] >= lo && ra[i] <= hi);
                            ranks_seen |= 1u << ra[i];
                        }
                    }
            for (size_t k = 0; k < n_rules; k++) {
                int64_t ta = -1, tb = -2;
                size_t na = 0, nb = 0;
                assert_int_equal(index_build_images(ix, &sc, MASKS[m], NULL, rules[k], OFFSETS[o],
                                                    50, &ta, ia, &na, &err), IMGSEC_OK);
                assert_int_equal(index_build_images(ix, &sc, MASKS[m], &every, rules[k],
                                                    OFFSETS[o], 50, &tb, ib, &nb, &err),
                                 IMGSEC_OK);
                assert_int_equal(ta, tb);
                assert_int_equal(na, nb);
                for (size_t i = 0; i < na; i++)
                    assert_int_equal(ia[i], ib[i]);
            }
        }
    }
    if (n_vul) /* ranks of more than one value came back */
        assert_true(__builtin_popcount(ranks_seen) >= 2);
    free(a);
    free(b);
    free(ia);
    free(ib);
}

static uint64_t rnd_next(uint64_t *r)
{
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    return *r >> 33;
}

/* The cached answers (per-term sums, per-unit rows) after a random
 * sequence of ingests, replacements and deletes, against the same
 * questions walked posting by posting after every batch. */
static void test_group_caches_after_changes(void **state)
{
    (void)state;
    static const char *const VULS[] = {"CVE-10", "CVE-11", "CVE-12", "GHSA-1", "NO-SUCH"};
    static const char *const RULES[] = {"R1", "R2", "R3", "R30", "R-none"};
    static const char *const NAMES[] = {"apt", "curl", "sudo"};
    static const image_type TYPES[] = {IMAGE_TYPE_PRIVATE, IMAGE_TYPE_HARBOR, IMAGE_TYPE_LOCAL,
                                       IMAGE_TYPE_CICD, IMAGE_TYPE_JFROG};
    imgsec_index *ix = index_new();
    uint64_t r = 99;
#define RND() rnd_next(&r)
    for (int round = 0; round < 4; round++) {
        index_write_begin(ix);
        for (int k = 0; k < 60; k++) {
            imgsec_err err;
            err_clear(&err);
            int64_t id = (int64_t)(RND() % 150) - 20; /* replacements, negative ids */
            if (round > 0 && RND() % 5 == 0) {
                index_remove(ix, id);
                continue;
            }
            timg t;
            timg_init(&t, id);
            t.s.type = TYPES[RND() % 5];
            t.s.latest_scan_time = (int64_t)(RND() % 13);
            for (int v = 0; v < 4; v++)
                for (int vt = 0; vt < VUL_TYPE_COUNT; vt++) {
                    if (RND() % 3 == 0 || t.s.n_vuls >= 10)
                        continue;
                    add_vul(&t, VULS[v], (vul_type)vt, 1 + (int64_t)(RND() % 4));
                    vul_agg *a = &t.vuls[t.s.n_vuls - 1];
                    a->rank = (int)(RND() % 5);
                    a->has_cvss = a->has_rep_cvss = RND() % 4 != 0;
                    a->cvss = (double)(RND() % 100) / 10;
                    a->rep_cvss = a->cvss - (double)(RND() % 2) / 10;
                    a->rep_seq = (int64_t)(RND() % 3);
                }
            for (int b = 0; b < 4; b++) /* a rule under several names: counted once */
                for (int nm = 0; nm < 3; nm++)
                    if (RND() % 4 == 0)
                        add_build(&t, RULES[b], NAMES[nm],
                                  RND() % 2 ? SEVERITY_HIGH : SEVERITY_LOW, 1 + (int64_t)(RND() % 3));
            assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
        }
        index_write_end(ix);
        expect_groups_same(ix);
        expect_builds_and_images_same(ix, VULS, 5, RULES, 5);
    }
#undef RND
    index_free(ix);
}

static int sel_cb(int64_t image_id, int64_t records, void *arg)
{
    sel_log *log = arg;
    if (log->n < 64) {
        log->ids[log->n] = image_id;
        log->records[log->n] = records;
    }
    log->n++;
    return log->stop_after && log->n >= log->stop_after ? 42 : 0;
}

static void test_select(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    const int64_t ids[] = {30, 10, 20, 40, -5};
    const int64_t apps[] = {3, 1, 0, 4, 7};
    for (size_t i = 0; i < 5; i++) {
        timg t;
        timg_apps(&t, ids[i], apps[i]);
        add_vul(&t, "CVE-1", VUL_TYPE_LINUX, ids[i] > 0 ? ids[i] : 1);
        if (ids[i] == 30)
            add_vul(&t, "CVE-2", VUL_TYPE_APP, 2);
        put(ix, &t);
    }
    index_scope sc = {"p1", true, NULL, 0};
    imgsec_err err;
    sel_log log = {0};
    stat_query q = q_all(REPORT_APPS);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 4);
    const int64_t want_ids[] = {-5, 10, 30, 40};
    const int64_t want_n[] = {7, 1, 3, 4};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(log.ids[i], want_ids[i]);
        assert_int_equal(log.records[i], want_n[i]);
    }

    /* record filters: per-image counts */
    const char *c2[] = {"CVE-2", "CVE-1", "CVE-2"};
    q = q_all(REPORT_VULNERABILITY);
    q.vul_ids = c2;
    q.n_vul_ids = 3;
    q.vul_type = VUL_TYPE_APP;
    memset(&log, 0, sizeof log);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.ids[0], 30);
    assert_int_equal(log.records[0], 2);
    q.vul_type = -1;
    memset(&log, 0, sizeof log);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 5);
    const int64_t want_ids2[] = {-5, 10, 20, 30, 40};
    const int64_t want_n2[] = {1, 10, 20, 32, 40};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(log.ids[i], want_ids2[i]);
        assert_int_equal(log.records[i], want_n2[i]);
    }

    /* filters and an empty result */
    q = q_all(REPORT_APPS);
    q.image_name = "nothing";
    memset(&log, 0, sizeof log);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 0);

    /* a non-zero callback result stops the walk and is returned */
    q = q_all(REPORT_APPS);
    memset(&log, 0, sizeof log);
    log.stop_after = 2;
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), 42);
    assert_int_equal(log.n, 2);
    index_free(ix);
}

/* Record filters that name no term of the index (unknown vul ids, rule
 * ids) pass no record: 0 and no callback, whatever the image filters; an
 * out-of-range image filter is still refused, as when the selection was
 * made first. */
static void test_unmatched_record_filters(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    put_vuls(ix);
    timg t;
    timg_init(&t, 4);
    add_build(&t, "DS002", "image runs as root", SEVERITY_HIGH, 2);
    put(ix, &t);
    index_scope sc = {"p1", true, NULL, 0};
    imgsec_err err;
    const char *unknown[] = {"CVE-404", "CVE-405"};
    stat_query q = q_all(REPORT_VULNERABILITY);
    q.vul_ids = unknown;
    q.n_vul_ids = 2;
    assert_int_equal(count(ix, &q), 0);
    q.image_name = "e";       /* a substring filter, and a range */
    q.has_image_size = true;
    q.image_size = 1 << 30;
    assert_int_equal(count(ix, &q), 0);
    sel_log log = {0};
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 0);
    const char *c1[] = {"CVE-1", "CVE-404"}; /* one known id: selected as before */
    q = q_all(REPORT_VULNERABILITY);
    q.vul_ids = c1;
    q.n_vul_ids = 2;
    assert_int_equal(count(ix, &q), 112);
    const char *rx[] = {"DSX"};
    q = q_all(REPORT_BUILD_COMMAND_RISKS);
    q.build_rule_ids = rx;
    q.n_build_rule_ids = 1;
    assert_int_equal(count(ix, &q), 0);
    q.build_rule_ids = NULL; /* the known rule, by name */
    q.n_build_rule_ids = 0;
    q.build_name = "root";
    assert_int_equal(count(ix, &q), 2);
    q.build_rule_ids = rx;
    q.n_build_rule_ids = 1;
    memset(&log, 0, sizeof log);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_OK);
    assert_int_equal(log.n, 0);

    int64_t total = -1;
    q = q_all(REPORT_VULNERABILITY);
    q.vul_ids = unknown;
    q.n_vul_ids = 2;
    q.image_type = IMAGE_TYPE_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    assert_int_equal(total, 0);
    q.image_type = -1;
    q.scan_status = SCAN_STATUS_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q.scan_status = -1;
    q.severity_level = SEVERITY_LEVEL_NONE;
    memset(&log, 0, sizeof log);
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_EINVAL);
    assert_int_equal(log.n, 0);
    q.severity_level = -1;
    q.vul_type = VUL_TYPE_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    index_free(ix);
}

/* ---- readers during write batches ---- */

#define CONC_IMAGES 200

typedef struct {
    imgsec_index *ix;
    atomic_int stop;
    atomic_int bad;
    atomic_long reads;
} conc_state;

static void *conc_reader(void *arg)
{
    conc_state *c = arg;
    stat_query q = q_all(REPORT_APPS);
    index_scope sc = {"p1", true, NULL, 0};
    while (!atomic_load(&c->stop)) {
        int64_t total = -1;
        imgsec_err err;
        if (index_count(c->ix, &sc, &q, &total, &err) != IMGSEC_OK ||
            (total != CONC_IMAGES && total != 2 * CONC_IMAGES))
            atomic_fetch_add(&c->bad, 1);
        atomic_fetch_add(&c->reads, 1);
    }
    return NULL;
}

/* Every batch rewrites all images (1 app each, then 2 each): a reader
 * must see one total or the other, never a mix. */
static void test_concurrent_batches(void **state)
{
    (void)state;
    conc_state c = {.ix = index_new()};
    timg t;
    for (int64_t id = 1; id <= CONC_IMAGES; id++) {
        timg_apps(&t, id, 1);
        add_vul(&t, "CVE-1", VUL_TYPE_LINUX, 1);
        put(c.ix, &t);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, conc_reader, &c), 0);
    for (int round = 0; round < 100; round++) {
        imgsec_err err;
        index_write_begin(c.ix);
        assert_int_equal(index_size(c.ix), CONC_IMAGES); /* does not block in a batch */
        for (int64_t id = 1; id <= CONC_IMAGES; id++) {
            timg_apps(&t, id, round % 2 ? 1 : 2);
            t.s.image_name = id % 2 ? "web" : "api";
            assert_int_equal(index_upsert(c.ix, &t.s, &err), IMGSEC_OK);
        }
        index_write_end(c.ix);
        while (atomic_load(&c.reads) < round) /* let the readers in */
            ;
    }
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&c.bad), 0); /* the loop above waited for the reads */
    index_free(c.ix);
}

/* A reader is never held up by an open write batch: while the writer
 * holds a batch open (between two barriers), the reader completes its
 * queries and sees none of the batch; after index_write_end, all of it.
 * If queries waited for the writer, this test would deadlock (and the
 * ctest timeout would fail it): no timing is asserted. */
typedef struct {
    imgsec_index *ix;
    pthread_barrier_t batch_open, reads_done, published;
    int64_t during[50], after;
} open_batch_state;

static int64_t apps_of(imgsec_index *ix)
{
    stat_query q = q_all(REPORT_APPS);
    return count(ix, &q);
}

static void *open_batch_reader(void *arg)
{
    open_batch_state *st = arg;
    pthread_barrier_wait(&st->batch_open);
    for (size_t i = 0; i < 50; i++)
        st->during[i] = apps_of(st->ix);
    pthread_barrier_wait(&st->reads_done);
    pthread_barrier_wait(&st->published);
    st->after = apps_of(st->ix);
    return NULL;
}

static void test_readers_never_wait(void **state)
{
    (void)state;
    open_batch_state st = {.ix = index_new()};
    timg t;
    for (int64_t id = 1; id <= 10; id++) {
        timg_apps(&t, id, 1);
        put(st.ix, &t);
    }
    pthread_barrier_init(&st.batch_open, NULL, 2);
    pthread_barrier_init(&st.reads_done, NULL, 2);
    pthread_barrier_init(&st.published, NULL, 2);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, open_batch_reader, &st), 0);

    imgsec_err err;
    index_write_begin(st.ix);
    for (int64_t id = 1; id <= 10; id++) { /* 1 -> 100 apps each, and 10 new images */
        timg_apps(&t, id, 100);
        assert_int_equal(index_upsert(st.ix, &t.s, &err), IMGSEC_OK);
        timg_apps(&t, 100 + id, 1000);
        assert_int_equal(index_upsert(st.ix, &t.s, &err), IMGSEC_OK);
    }
    index_remove(st.ix, 5);
    pthread_barrier_wait(&st.batch_open);  /* the batch is open ... */
    pthread_barrier_wait(&st.reads_done);  /* ... while the reader runs 50 queries */
    assert_int_equal(index_write_end(st.ix), IMGSEC_OK);
    pthread_barrier_wait(&st.published);
    pthread_join(th, NULL);

    for (size_t i = 0; i < 50; i++)
        assert_int_equal(st.during[i], 10);
    assert_int_equal(st.after, 9 * 100 + 10 * 1000);
    assert_int_equal(index_size(st.ix), 19);
    pthread_barrier_destroy(&st.batch_open);
    pthread_barrier_destroy(&st.reads_done);
    pthread_barrier_destroy(&st.published);
    index_free(st.ix);
}

/* The two instances stay equal: each batch is applied to one and replayed
 * on the other, and every query after a batch may land on either. A clear
 * inside a batch drops what the other instance has yet to replay. */
static void test_instances_agree(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg t;
    imgsec_err err;
    /* one batch of many images, with replacements and removals inside it */
    index_write_begin(ix);
    for (int64_t id = 1; id <= 300; id++) {
        timg_apps(&t, id, id);
        add_vul(&t, id % 3 ? "CVE-A" : "CVE-B", VUL_TYPE_APP, 2);
        t.s.image_name = id % 2 ? "web" : "api";
        assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    }
    for (int64_t id = 1; id <= 300; id += 10)
        index_remove(ix, id);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    const char *a[] = {"CVE-A"};
    int64_t apps = apps_of(ix), vul_a = count_vuls(ix, -1, a, 1);
    /* empty batches flip between the instances: both answer the same */
    for (int i = 0; i < 4; i++) {
        index_write_begin(ix);
        assert_int_equal(index_write_end(ix), IMGSEC_OK);
        assert_int_equal(apps_of(ix), apps);
        assert_int_equal(count_vuls(ix, -1, a, 1), vul_a);
        assert_int_equal(index_size(ix), 270);
        index_catch_up(ix); /* harmless when there is nothing to replay */
    }
    /* a clear and a refill in one batch, then flips */
    index_write_begin(ix);
    index_clear(ix);
    timg_apps(&t, 7, 7);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(apps_of(ix), 7);
        assert_int_equal(count_vuls(ix, -1, a, 1), 0);
        assert_int_equal(index_size(ix), 1);
        index_write_begin(ix);
        index_write_end(ix);
    }
    /* an invalid summary changes neither instance */
    timg_apps(&t, 8, 8);
    t.s.type = (image_type)99;
    index_write_begin(ix);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    index_write_end(ix);
    index_write_begin(ix);
    index_write_end(ix);
    assert_int_equal(apps_of(ix), 7);
    index_free(ix);
}

/* The rest of a rebuild batch (begun by the caller): images 1-3 with one
 * app each, image 4 (left in t) with 1,000; published. */
static void rebuild_four(imgsec_index *ix, timg *t)
{
    imgsec_err err;
    index_clear(ix);
    for (int64_t id = 1; id <= 4; id++) {
        timg_apps(t, id, id == 4 ? 1000 : 1);
        assert_int_equal(index_upsert(ix, &t->s, &err), IMGSEC_OK);
    }
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
}

/* A batch that fails part-way is aborted: readers keep the last published
 * state, whole. The hidden instance holds part of the batch, so the index
 * asks for a full rebuild and refuses to publish anything else; a batch
 * that failed before changing anything may just be tried again. */
static void test_write_abort(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg t;
    imgsec_err err;
    for (int64_t id = 1; id <= 3; id++) {
        timg_apps(&t, id, 1);
        put(ix, &t);
    }
    assert_int_equal(index_write_begin(ix), IMGSEC_OK);
    timg_apps(&t, 1, 100);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    timg_apps(&t, 4, 1000);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    index_remove(ix, 2);
    timg_apps(&t, 5, 10000);
    t.s.type = (image_type)99; /* the writer's source fails here */
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    index_write_abort(ix);
    assert_int_equal(apps_of(ix), 3);
    assert_int_equal(index_size(ix), 3);

    /* not a rebuild: refused, and nothing of it shows */
    assert_int_equal(index_write_begin(ix), IMGSEC_EINTERNAL);
    timg_apps(&t, 6, 100000);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_EINVAL);
    assert_int_equal(apps_of(ix), 3);
    assert_int_equal(index_size(ix), 3);

    /* a rebuild aborted part-way: the same */
    assert_int_equal(index_write_begin(ix), IMGSEC_EINTERNAL);
    index_clear(ix);
    timg_apps(&t, 1, 100);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    index_write_abort(ix);
    assert_int_equal(apps_of(ix), 3);
    assert_int_equal(index_size(ix), 3);

    /* a whole rebuild is published, and both instances hold it after */
    assert_int_equal(index_write_begin(ix), IMGSEC_EINTERNAL);
    rebuild_four(ix, &t);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(apps_of(ix), 1003);
        assert_int_equal(index_size(ix), 4);
        assert_int_equal(index_write_begin(ix), IMGSEC_OK);
        assert_int_equal(index_write_end(ix), IMGSEC_OK);
    }

    /* any upsert counts as a change, even one that rewrites an image as
     * it was (t: image 4) */
    assert_int_equal(index_write_begin(ix), IMGSEC_OK);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    index_write_abort(ix);
    assert_int_equal(index_write_begin(ix), IMGSEC_EINTERNAL);
    rebuild_four(ix, &t);
    /* failed before any change: the hidden instance is still good, and
     * the batch is simply tried again */
    assert_int_equal(index_write_begin(ix), IMGSEC_OK);
    t.s.type = (image_type)99;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    index_write_abort(ix);
    assert_int_equal(index_write_begin(ix), IMGSEC_OK);
    timg_apps(&t, 4, 2000);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(apps_of(ix), 2003);
        assert_int_equal(index_write_begin(ix), IMGSEC_OK);
        assert_int_equal(index_write_end(ix), IMGSEC_OK);
    }
    index_free(ix);
}

/* A replay that fails says so (index_catch_up then empties the instance
 * and the next index_write_begin asks for a rebuild). Out of memory is
 * the real cause; a summary the instance refuses stands in for it. */
static void test_replay_failure(void **state)
{
    (void)state;
    ix_log log = {0};
    timg t;
    timg_apps(&t, 1, 1);
    ix_log_add(&log, IX_OP_UPSERT, 1, &t.s);
    ix_inst inst = {0};
    assert_int_equal(rows_init(&inst), 0);
    assert_int_equal(ix_log_replay(&log, &inst, NULL), 0);
    assert_int_equal(inst.ids.n, 1);
    ix_log_reset(&log);
    timg_apps(&t, 2, 1);
    t.s.type = (image_type)99;
    ix_log_add(&log, IX_OP_UPSERT, 2, &t.s);
    ix_log_add(&log, IX_OP_REMOVE, 1, NULL);
    assert_int_equal(ix_log_replay(&log, &inst, NULL), -1);
    assert_int_equal(inst.ids.n, 1); /* it stops at the failure */
    ix_log_reset(&log);
    rows_destroy(&inst);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    imgsec_err err;
    timg t;
    timg_apps(&t, 1, 1);
    t.s.type = (image_type)99;
    index_write_begin(ix);
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    timg_apps(&t, 1, 1);
    t.s.project_id = NULL;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    timg_apps(&t, 1, 1);
    add_vul(&t, "CVE-1", VUL_TYPE_LINUX, 1);
    t.vuls[0].type = (vul_type)7;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    timg_apps(&t, 1, 1);
    t.s.counts[REPORT_FILES] = -1;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    /* counts are kept in 32 bits */
    timg_apps(&t, 1, 1);
    t.s.counts[REPORT_FILES] = (int64_t)UINT32_MAX + 1;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    t.s.counts[REPORT_FILES] = 0;
    t.s.vul_counts[VUL_TYPE_APP] = (int64_t)UINT32_MAX + 1;
    assert_int_equal(index_upsert(ix, &t.s, &err), IMGSEC_EINVAL);
    index_write_end(ix);
    assert_int_equal(index_size(ix), 0);

    timg_apps(&t, 1, 1);
    put(ix, &t);
    index_scope sc = {"p1", true, NULL, 0};
    int64_t total = -1;
    stat_query q = q_all((report_type)REPORT_TYPE_COUNT);
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    assert_int_equal(total, 0);
    q = q_all(REPORT_APPS);
    q.image_type = 99;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q = q_all(REPORT_VULNERABILITY);
    q.vul_type = VUL_TYPE_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q = q_all(REPORT_BUILD_COMMAND_RISKS);
    q.build_level = SEVERITY_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q = q_all(REPORT_APPS);
    q.scan_status = SCAN_STATUS_COUNT;
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q.scan_status = -1;
    q.severity_level = SEVERITY_LEVEL_NONE; /* "no level" is not a filter value */
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_EINVAL);
    q = q_all((report_type)REPORT_TYPE_COUNT);
    sel_log log = {0};
    assert_int_equal(index_select(ix, &sc, &q, sel_cb, &log, &err), IMGSEC_EINVAL);
    assert_int_equal(log.n, 0);
    q = q_all(REPORT_APPS);
    assert_int_equal(index_count(ix, NULL, &q, &total, &err), IMGSEC_EINVAL);
    assert_int_equal(index_count(ix, &sc, &q, &total, &err), IMGSEC_OK);
    assert_int_equal(total, 1);
    index_free(ix);
    index_free(NULL);
}

/* ---- hash maps against a plain array ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Every posting is named by exactly one reference of its row, every row
 * has no other references, and every term's total is the sum of its
 * postings, after random adds (a term may be listed twice for one row),
 * clears, and trims (which sort a row's references) or none. */
static void check_postings(const postings *P)
{
    size_t n = 0, n_refs_all = 0;
    for (uint32_t id = 0; id < P->n_ids; id++) {
        const pterm *t = P->terms[id];
        if (!t)
            continue;
        int64_t total = 0;
        for (uint32_t k = 0; k < t->len; k++) {
            uint32_t n_refs, named = 0;
            const pref *refs = postings_row_refs(P, t->p[k].row, &n_refs);
            for (uint32_t i = 0; i < n_refs; i++)
                named += refs[i].term == id && refs[i].pos == k;
            assert_int_equal(named, 1);
            total += t->p[k].n;
        }
        assert_int_equal(t->total, total);
        n += t->len;
    }
    for (uint32_t row = 0; row < P->n_rows; row++) {
        uint32_t n_refs;
        postings_row_refs(P, row, &n_refs);
        n_refs_all += n_refs;
    }
    assert_int_equal(P->n_postings, n);
    assert_int_equal(n_refs_all, n);
}

/* A posting's CVSS codes are 13 bits: every score 0.00 .. 81.89 exactly,
 * anything else PCVSS_OTHER (read from the store), and the codes survive
 * the posting's bit fields. */
static void test_pcvss_codes(void **state)
{
    (void)state;
    assert_int_equal(pcvss_code(false, 9.8), 0);
    assert_int_equal(pcvss_code(true, 0.0), 1);
    assert_int_equal(pcvss_code(true, 9.8), 981);
    assert_int_equal(pcvss_code(true, 10.0), 1001);
    assert_int_equal(pcvss_code(true, 81.89), 8190);
    assert_int_equal(pcvss_code(true, 81.9), PCVSS_OTHER);
    assert_int_equal(pcvss_code(true, 9.85 + 1e-9), PCVSS_OTHER);
    assert_int_equal(pcvss_code(true, -1.0), PCVSS_OTHER);
    assert_true(pcvss_value(981) == 9.8);
    posting p = {.cvss = pcvss_code(true, 81.89), .rcvss = PCVSS_OTHER, .v = 4};
    assert_int_equal(p.cvss, 8190);
    assert_int_equal(p.rcvss, PCVSS_OTHER);
    assert_int_equal(p.v, 4);
    assert_int_equal(sizeof p, 16);
}

static void test_postings_back_references(void **state)
{
    (void)state;
    postings P;
    postings_init(&P);
    uint64_t seed = 99;
    for (int round = 0; round < 400; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t row = (uint32_t)(seed >> 33) % 40;
        postings_row_clear(&P, row);
        uint32_t k = (uint32_t)(seed >> 20) % 12;
        for (uint32_t j = 0; j < k; j++) {
            char key[8];
            int len = snprintf(key, sizeof key, "t%u", (unsigned)((seed >> (j % 24)) % 9));
            assert_int_equal(postings_row_add(&P, key, (size_t)len, (posting){.row = row, .n = j + 1}), 0);
        }
        if (round % 3)
            postings_row_trim(&P, row);
        check_postings(&P);
    }
    for (uint32_t row = 0; row < 40; row++)
        postings_row_clear(&P, row);
    check_postings(&P);
    assert_int_equal(P.n_postings, 0);
    postings_free(&P);
}

/* test_hash_maps's id map: row k + 1 holds key k * 7919 - 100000 */
static int64_t test_row_key(const void *ctx, uint32_t row)
{
    (void)ctx;
    return (int64_t)(row - 1) * 7919 - 100000;
}

static void test_hash_maps(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15ULL;
    enum { NKEYS = 3000 };
    static char keys[NKEYS][16];
    static int present[NKEYS];
    static int vals[NKEYS];
    strmap m;
    idmap im;
    strmap_init(&m);
    idmap_init(&im);
    for (int i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof keys[i], "k%d", i);
    memset(present, 0, sizeof present);
    for (int step = 0; step < 60000; step++) {
        unsigned k = rn(NKEYS);
        int64_t id = (int64_t)k * 7919 - 100000; /* negatives too */
        if (rn(3)) {
            vals[k] = (int)k;
            assert_int_equal(strmap_put(&m, keys[k], strlen(keys[k]), &vals[k]), 0);
            assert_int_equal(idmap_put(&im, id, k + 1, test_row_key, NULL), 0);
            present[k] = 1;
        } else {
            void *v = strmap_del(&m, keys[k], strlen(keys[k]));
            bool gone = idmap_del(&im, id, test_row_key, NULL);
            assert_int_equal(v != NULL, present[k]);
            assert_int_equal(gone, present[k]);
            present[k] = 0;
        }
        if (step % 5000 == 0 || step == 59999) {
            size_t n = 0;
            for (int i = 0; i < NKEYS; i++) {
                int *v = strmap_get(&m, keys[i], strlen(keys[i]));
                uint32_t row = 0;
                bool has = idmap_get(&im, (int64_t)i * 7919 - 100000, test_row_key, NULL, &row);
                assert_int_equal(v != NULL, present[i]);
                assert_int_equal(has, present[i]);
                if (present[i]) {
                    assert_int_equal(*v, i);
                    assert_int_equal(row, (uint32_t)i + 1);
                }
                n += (size_t)present[i];
            }
            assert_int_equal(m.n, n);
            assert_int_equal(im.n, n);
        }
    }
    /* "" is a key like any other */
    assert_int_equal(strmap_put(&m, "", 0, &vals[0]), 0);
    assert_ptr_equal(strmap_get(&m, "", 0), &vals[0]);
    strmap_free(&m);
    idmap_free(&im);
}

static bool contains(const char *hay, const char *needle)
{
    return dict_contains(hay, strlen(hay), needle, strlen(needle));
}

static void test_contains(void **state)
{
    (void)state;
    assert_true(contains("web-frontend", "web"));
    assert_true(contains("web-frontend", "end"));
    assert_true(contains("web-frontend", "d"));
    assert_true(contains("web-frontend", "web-frontend"));
    assert_false(contains("web-frontend", "web-frontendx"));
    assert_false(contains("web", "Web"));
    assert_true(contains("aaab", "aab"));
    assert_false(contains("abababa", "abb"));
    assert_false(contains("", "a"));
    /* beyond the short-haystack path */
    static char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(contains(big, "ab"));
    big[sizeof big - 2] = 'b';
    assert_true(contains(big, "ab"));
    assert_true(contains(big, "aaaaaaaaab"));
    big[300] = 'x';
    assert_true(contains(big, "axa"));
    big[sizeof big - 2] = 'a';
    big[1000] = 'b';
    assert_true(contains(big + 600, "ab")); /* 1399 bytes */
    assert_true(contains(big + 1500, "aaa"));
}

/* ---- composite keys (index_key.h) ---- */

/* The key layouts that are written on one side (index_rows.c) and read on
 * the other (index_query.c, index_records.c) come from one place: the
 * forms agree, a split gives back the parts, and a vul_id longer than the
 * key's inline room (320 bytes) is found by a query. */
static void test_keys(void **state)
{
    (void)state;
    ixkey k;
    key_init(&k);
    key_vul(&k, "CVE-1", VUL_TYPE_APP);
    char buf[KEY_VUL_LEN(5)];
    assert_int_equal(key_vul_write(buf, "CVE-1", 5, VUL_TYPE_APP), sizeof buf);
    assert_int_equal(k.len, sizeof buf);
    assert_memory_equal(k.p, "CVE-1\0\1", sizeof buf);
    assert_memory_equal(k.p, buf, sizeof buf);
    key_free(&k);

    key_init(&k);
    key_build(&k, "DS002", "runs as root", SEVERITY_HIGH);
    assert_int_equal(k.len, 5 + 1 + 12 + 1 + 1);
    key_build_parts parts;
    key_build_split(k.p, k.len, &parts);
    assert_int_equal(parts.rule_len, 5);
    assert_memory_equal(parts.rule, "DS002", 5);
    assert_int_equal(parts.risk_len, 12);
    assert_memory_equal(parts.risk, "runs as root", 12);
    assert_int_equal(parts.level, SEVERITY_HIGH);
    key_free(&k);
    key_init(&k);
    key_build(&k, "", "", SEVERITY_LOW); /* empty parts stay apart */
    key_build_split(k.p, k.len, &parts);
    assert_int_equal(parts.rule_len, 0);
    assert_int_equal(parts.risk_len, 0);
    assert_int_equal(parts.level, SEVERITY_LOW);
    key_free(&k);

    key_init(&k);
    key_project_ep(&k, "p1", "e1");
    assert_int_equal(k.len, 5);
    assert_memory_equal(k.p, "p1\0e1", 5);
    key_free(&k);

    /* a 400-byte vul_id (a heap key when indexed, a batch key when asked) */
    char long_id[401];
    memset(long_id, 'x', 400);
    long_id[400] = '\0';
    imgsec_index *ix = index_new();
    timg t;
    timg_init(&t, 1);
    add_vul(&t, long_id, VUL_TYPE_LINUX, 3);
    add_vul(&t, "CVE-1", VUL_TYPE_LINUX, 1);
    add_build(&t, "DS002", "runs as root", SEVERITY_HIGH, 2);
    put(ix, &t);
    const char *ids[] = {long_id};
    assert_int_equal(count_vuls(ix, -1, ids, 1), 3);
    assert_int_equal(count_vuls(ix, VUL_TYPE_LINUX, ids, 1), 3);
    assert_int_equal(count_vuls(ix, VUL_TYPE_APP, ids, 1), 0);
    const char *r2[] = {"DS002"};
    assert_int_equal(count_builds(ix, SEVERITY_HIGH, "as", r2, 1), 2);
    index_free(ix);
}

/* An image_id_list item is an image id only when spelled as "%lld" would
 * spell it; anything else can only be a content id. */
static void test_decimal_ids(void **state)
{
    (void)state;
    int64_t id = 99;
    assert_true(key_decimal_id("7", &id) && id == 7);
    assert_true(key_decimal_id("0", &id) && id == 0);
    assert_true(key_decimal_id("-5", &id) && id == -5);
    assert_true(key_decimal_id("9223372036854775807", &id) && id == INT64_MAX);
    assert_true(key_decimal_id("-9223372036854775808", &id) && id == INT64_MIN);
    id = 99;
    const char *no[] = {"", "-", "07", "00", "-0", "-07", "+7", " 7", "7 ", "\t7", "1e3",
                        "9223372036854775808", "-9223372036854775809", "--7", "sha256:7"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (key_decimal_id(no[i], &id))
            fail_msg("'%s' taken as an image id", no[i]);
    assert_int_equal(id, 99);

    /* through a query: "+7" and "07" are content ids, not image 7 */
    imgsec_index *ix = index_new();
    timg t;
    timg_apps(&t, 7, 1);
    put(ix, &t);
    timg_apps(&t, 8, 10);
    t.s.image_id = "07";
    put(ix, &t);
    const char *plus[] = {"+7"}, *zero[] = {"07"}, *seven[] = {"7"};
    assert_int_equal(count_ids(ix, "p1", plus, 1), 0);
    assert_int_equal(count_ids(ix, "p1", zero, 1), 10);
    assert_int_equal(count_ids(ix, "p1", seven, 1), 1);
    index_free(ix);
}

/* ---- randomized comparison with a naive evaluator ---- */

#define RND_IMAGES 600

typedef struct {
    bool live;
    timg t;
} ref_img;

static ref_img REF[RND_IMAGES + 1]; /* by id */

static const char *const PROJECTS[] = {"p1", "p2"};
static const char *const EPS[] = {"0", "e1", "e2"};
static const char *const NAMESPACES[] = {"", "shop", "shopping", "lib", "team-a"};
static const char *const NAMES[] = {"web", "web-api", "api", "db", "cache", "Web"};
static const char *const VERSIONS[] = {"1.0", "1.1", "2.0", "latest", "1.0-rc", ""};
static const char *const INSTANCE_IDS[] = {"", "ins-1", "ins-2", "ins-10"};
static const char *const INSTANCE_NAMES[] = {"", "harbor-prod", "harbor-test", "jfrog"};
static const char *const CICDS[] = {"", "pipe-main", "pipe-dev"};
static const char *const VUL_IDS[] = {"CVE-1", "CVE-2", "CVE-3", "CVE-4",
                                      "CVE-5", "CVE-6", "CVE-7", "CVE-8"};
static const char *const RULES[] = {"DS001", "DS002", "DS003", "DS004"};
static const char *const RISKS[] = {"runs as root", "apt-get without pin", "secret in env",
                                    "root shell"};
static char CONTENT_IDS[64][24];

#define PICK(arr) ((arr)[rn(sizeof(arr) / sizeof((arr)[0]))])

static void gen_image(timg *t, int64_t id)
{
    timg_init(t, id);
    image_summary *s = &t->s;
    s->project_id = rn(10) < 7 ? "p1" : "p2";
    s->ep = PICK(EPS);
    s->type = (image_type)(rn(4) ? rn(3) : rn(IMAGE_TYPE_COUNT));
    s->status = (scan_status)rn(SCAN_STATUS_COUNT);
    s->namespace_ = PICK(NAMESPACES);
    s->image_name = PICK(NAMES);
    s->image_version = PICK(VERSIONS);
    s->image_id = CONTENT_IDS[rn(64)];
    s->instance_id = PICK(INSTANCE_IDS);
    s->instance_name = PICK(INSTANCE_NAMES);
    s->cicd_name = PICK(CICDS);
    s->image_size = rn(1000);
    s->latest_update_time = rn(20) * 100;
    s->latest_scan_time = rn(10) * 1000;
    s->container_num = rn(3);
    s->severity_level = (severity_level)rn(SEVERITY_LEVEL_COUNT + 1);
    for (int r = 0; r < REPORT_TYPE_COUNT; r++)
        if (r != REPORT_VULNERABILITY && r != REPORT_BUILD_COMMAND_RISKS)
            s->counts[r] = rn(3) ? 0 : rn(5);
    unsigned nv = rn(6);
    for (unsigned i = 0; i < nv; i++) {
        /* duplicates of a (vul_id, type) within one image happen on purpose */
        const char *v = rn(50) ? PICK(VUL_IDS) : "CVE-RARE";
        add_vul(t, v, (vul_type)rn(VUL_TYPE_COUNT), 1 + rn(3));
    }
    unsigned nb = rn(4);
    for (unsigned i = 0; i < nb; i++)
        add_build(t, PICK(RULES), PICK(RISKS), (severity)rn(SEVERITY_COUNT), 1 + rn(3));
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool ref_latest(const image_summary *s)
{
    for (int j = 1; j <= RND_IMAGES; j++) {
        if (!REF[j].live)
            continue;
        const image_summary *o = &REF[j].t.s;
        if (o == s || !str_eq(o->project_id, s->project_id) || o->type != s->type ||
            !str_eq(o->instance_id, s->instance_id) || !str_eq(o->namespace_, s->namespace_) ||
            !str_eq(o->image_name, s->image_name))
            continue;
        if (o->latest_update_time > s->latest_update_time ||
            (o->latest_update_time == s->latest_update_time && o->id > s->id))
            return false;
    }
    return true;
}

static bool substr_ok(const char *hay, const char *needle)
{
    return !needle || !*needle || strstr(hay ? hay : "", needle);
}

static bool exact_ok(const char *have, const char *want)
{
    return !want || !*want || str_eq(have, want);
}

static bool tri_ok(tri_bool want, bool have)
{
    return want == TRI_ANY || (want == TRI_TRUE) == have;
}

static bool ref_selected(const index_scope *sc, const stat_query *q, const image_summary *s)
{
    if (!str_eq(s->project_id, sc->project_id))
        return false;
    if (!sc->all_eps) {
        bool in = false;
        for (size_t i = 0; i < sc->n_eps; i++)
            in |= str_eq(s->ep, sc->eps[i]);
        if (!in)
            return false;
    }
    if (!q->operate_all) {
        bool named = false;
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)s->id);
        for (size_t i = 0; i < q->n_image_ids; i++)
            named |= strcmp(q->image_ids[i], idbuf) == 0 || str_eq(s->image_id, q->image_ids[i]);
        if (!named)
            return false;
    }
    if (q->image_type >= 0 && (int)s->type != q->image_type)
        return false;
    if (q->scan_status >= 0 && (int)s->status != q->scan_status)
        return false;
    if (!substr_ok(s->namespace_, q->namespace_) || !substr_ok(s->image_name, q->image_name) ||
        !substr_ok(s->image_version, q->image_version) ||
        !substr_ok(s->instance_name, q->instance_name) || !substr_ok(s->cicd_name, q->cicd_name))
        return false;
    if (!exact_ok(s->image_id, q->image_id) || !exact_ok(s->instance_id, q->instance_id))
        return false;
    if (q->latest_version && !ref_latest(s))
        return false;
    if (q->has_image_size && s->image_size > q->image_size)
        return false;
    if ((q->has_update_start && s->latest_update_time < q->update_start) ||
        (q->has_update_end && s->latest_update_time > q->update_end) ||
        (q->has_scan_start && s->latest_scan_time < q->scan_start) ||
        (q->has_scan_end && s->latest_scan_time > q->scan_end))
        return false;
    bool risky = s->severity_level == SEVERITY_LEVEL_LOW ||
                 s->severity_level == SEVERITY_LEVEL_MEDIUM ||
                 s->severity_level == SEVERITY_LEVEL_HIGH;
    if (!tri_ok(q->has_vul, s->counts[REPORT_VULNERABILITY] > 0) ||
        !tri_ok(q->has_malicious_file, s->counts[REPORT_MALWARES] > 0) ||
        !tri_ok(q->has_unsafe_setting, s->counts[REPORT_RISK_CONFIG] > 0) ||
        !tri_ok(q->has_container, s->container_num > 0) || !tri_ok(q->risky, risky))
        return false;
    if (q->severity_level >= 0 && (int)s->severity_level != q->severity_level)
        return false;
    return true;
}

static bool in_list(const char *s, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Records of s under the record filters, from the aggregates (records). */
static int64_t ref_records(const stat_query *q, const image_summary *s)
{
    int64_t sum = 0;
    if (q->report == REPORT_VULNERABILITY && (q->vul_type >= 0 || q->n_vul_ids)) {
        for (size_t i = 0; i < s->n_vuls; i++)
            if ((q->vul_type < 0 || (int)s->vuls[i].type == q->vul_type) &&
                (!q->n_vul_ids || in_list(s->vuls[i].vul_id, q->vul_ids, q->n_vul_ids)))
                sum += s->vuls[i].n;
        return sum;
    }
    if (q->report == REPORT_BUILD_COMMAND_RISKS &&
        (q->build_level >= 0 || q->build_name || q->n_build_rule_ids)) {
        for (size_t i = 0; i < s->n_builds; i++)
            if ((q->build_level < 0 || (int)s->builds[i].level == q->build_level) &&
                substr_ok(s->builds[i].risk_name, q->build_name) &&
                (!q->n_build_rule_ids ||
                 in_list(s->builds[i].rule_id, q->build_rule_ids, q->n_build_rule_ids)))
                sum += s->builds[i].n;
        return sum;
    }
    return s->counts[q->report];
}

static int64_t ref_count(const index_scope *sc, const stat_query *q)
{
    int64_t total = 0;
    for (int i = 1; i <= RND_IMAGES; i++)
        if (REF[i].live && ref_selected(sc, q, &REF[i].t.s))
            total += ref_records(q, &REF[i].t.s);
    return total;
}

/* A random query; strings it points to are static, lists live in the bufs. */
typedef struct {
    stat_query q;
    index_scope sc;
    const char *eps[4];
    const char *image_ids[8];
    char idbufs[8][24];
    const char *vul_ids[6];
    const char *rules[4];
} rnd_query;

static void gen_query(rnd_query *r)
{
    static const char *const SCOPE_EPS[] = {"0", "e1", "e2", "ex"};
    static const char *const SUB_NS[] = {"shop", "op", "lib", "team", "x"};
    static const char *const SUB_NAMES[] = {"web", "api", "eb", "Web", "a"};
    static const char *const SUB_VERSIONS[] = {"1.", "2", "rc", "latest"};
    static const char *const SUB_INAMES[] = {"harbor", "prod", "jfrog"};
    static const char *const SUB_CICDS[] = {"pipe", "main"};
    static const char *const EXACT_INSTANCE[] = {"ins-1", "ins-", "ins-10"};
    static const char *const BUILD_NAMES[] = {"root", "pin", "env", "shell", "x"};
    memset(r, 0, sizeof *r);
    stat_query *q = &r->q;
    *q = q_all((report_type)rn(REPORT_TYPE_COUNT));
    if (rn(3) == 0)
        q->report = rn(2) ? REPORT_VULNERABILITY : REPORT_BUILD_COMMAND_RISKS;
    r->sc.project_id = rn(10) ? PICK(PROJECTS) : "p3";
    r->sc.all_eps = rn(2);
    if (!r->sc.all_eps) {
        r->sc.n_eps = rn(8) ? 1 + rn(3) : 0;
        for (size_t i = 0; i < r->sc.n_eps; i++)
            r->eps[i] = PICK(SCOPE_EPS);
        r->sc.eps = r->eps;
    }
    if (rn(4) == 0) {
        q->operate_all = false;
        q->n_image_ids = 1 + rn(8);
        for (size_t i = 0; i < q->n_image_ids; i++) {
            switch (rn(4)) {
            case 0:
            case 1:
                snprintf(r->idbufs[i], sizeof r->idbufs[i], "%u", 1 + rn(RND_IMAGES));
                r->image_ids[i] = r->idbufs[i];
                break;
            case 2: r->image_ids[i] = CONTENT_IDS[rn(64)]; break;
            default:
                snprintf(r->idbufs[i], sizeof r->idbufs[i], "0%u", 1 + rn(RND_IMAGES));
                r->image_ids[i] = rn(2) ? r->idbufs[i] : "junk";
            }
        }
        q->image_ids = r->image_ids;
    }
#define MAYBE (rn(100) < 6)
    if (MAYBE) q->image_type = (int)rn(IMAGE_TYPE_COUNT);
    if (MAYBE) q->scan_status = (int)rn(SCAN_STATUS_COUNT);
    if (MAYBE) q->namespace_ = PICK(SUB_NS);
    if (MAYBE) q->image_name = PICK(SUB_NAMES);
    if (MAYBE) q->image_version = PICK(SUB_VERSIONS);
    if (MAYBE) q->instance_name = PICK(SUB_INAMES);
    if (MAYBE) q->cicd_name = PICK(SUB_CICDS);
    if (MAYBE) q->image_id = CONTENT_IDS[rn(64)];
    if (MAYBE) q->instance_id = PICK(EXACT_INSTANCE);
    if (MAYBE) q->latest_version = true;
    if (MAYBE) {
        q->has_image_size = true;
        q->image_size = rn(1000);
    }
    if (MAYBE) {
        q->has_update_start = true;
        q->update_start = rn(20) * 100;
    }
    if (MAYBE) {
        q->has_update_end = true;
        q->update_end = rn(20) * 100 + rn(2) * 50;
    }
    if (MAYBE) {
        q->has_scan_start = true;
        q->scan_start = rn(10) * 1000;
    }
    if (MAYBE) {
        q->has_scan_end = true;
        q->scan_end = rn(10) * 1000;
    }
    tri_bool *tris[] = {&q->has_malicious_file, &q->has_vul, &q->has_unsafe_setting,
                        &q->has_container, &q->risky};
    for (size_t i = 0; i < 5; i++)
        if (MAYBE)
            *tris[i] = rn(2) ? TRI_TRUE : TRI_FALSE;
    if (MAYBE) q->severity_level = (int)rn(SEVERITY_LEVEL_COUNT);
    /* record filters, more often since they are the intricate part */
    if (rn(4) == 0) q->vul_type = (int)rn(VUL_TYPE_COUNT);
    if (rn(3) == 0) {
        q->n_vul_ids = 1 + rn(6);
        for (size_t i = 0; i < q->n_vul_ids; i++)
            r->vul_ids[i] = rn(8) ? PICK(VUL_IDS) : (rn(2) ? "CVE-RARE" : "CVE-404");
        q->vul_ids = r->vul_ids;
    }
    if (rn(4) == 0) q->build_level = (int)rn(SEVERITY_COUNT);
    if (rn(4) == 0) q->build_name = PICK(BUILD_NAMES);
    if (rn(4) == 0) {
        q->n_build_rule_ids = 1 + rn(4);
        for (size_t i = 0; i < q->n_build_rule_ids; i++)
            r->rules[i] = rn(6) ? PICK(RULES) : "DS999";
        q->build_rule_ids = r->rules;
    }
#undef MAYBE
}

typedef struct {
    int64_t last_id;
    int64_t sum;
    size_t n;
    const stat_query *q;
    bool ok;
} sel_check;

static int sel_check_cb(int64_t image_id, int64_t records, void *arg)
{
    sel_check *c = arg;
    if (image_id <= c->last_id || image_id < 1 || image_id > RND_IMAGES || records <= 0 ||
        !REF[image_id].live || ref_records(c->q, &REF[image_id].t.s) != records)
        c->ok = false;
    c->last_id = image_id;
    c->sum += records;
    c->n++;
    return 0;
}

static void run_random_queries(imgsec_index *ix, int n, int *nonzero)
{
    for (int i = 0; i < n; i++) {
        rnd_query r;
        gen_query(&r);
        int64_t want = ref_count(&r.sc, &r.q);
        int64_t got = count_scope(ix, &r.sc, &r.q);
        if (got != want)
            fail_msg("query %d (report %d): index %lld, reference %lld", i, r.q.report,
                     (long long)got, (long long)want);
        *nonzero += want > 0;
        sel_check c = {.last_id = 0, .q = &r.q, .ok = true};
        imgsec_err err;
        assert_int_equal(index_select(ix, &r.sc, &r.q, sel_check_cb, &c, &err), IMGSEC_OK);
        assert_true(c.ok);
        assert_int_equal(c.sum, want);
    }
}

/* What the index derives instead of counting (index_internal.h): the
 * images are the id map's (rows in use = ids.n), and the latest bitmap is
 * exactly the groups' latest rows, each a row in use. */
static void check_rows(const ix_inst *ix)
{
    assert_int_equal(ix->n_rows - ix->n_free, ix->ids.n);
    roaring_bitmap_t *want = roaring_bitmap_create();
    for (uint32_t id = 0; id < ix->groups.n_ids; id++) {
        const pterm *g = ix->groups.terms[id];
        if (!g)
            continue;
        uint32_t row;
        assert_true(idmap_get(&ix->ids, ix->rows[g->aux].id, ix_row_id, ix, &row));
        assert_int_equal(row, g->aux);
        roaring_bitmap_add(want, g->aux);
    }
    assert_true(roaring_bitmap_equals(want, ix->latest));
    roaring_bitmap_free(want);
    check_postings(&ix->groups);
    check_postings(&ix->vuls);
    check_postings(&ix->builds);
}

static void random_upsert(imgsec_index *ix, int64_t id)
{
    imgsec_err err;
    gen_image(&REF[id].t, id);
    REF[id].live = true;
    assert_int_equal(index_upsert(ix, &REF[id].t.s, &err), IMGSEC_OK);
}

/* image_digest is only shown (model.h: filter NONE): each row owns its
 * string, in no dictionary. Pages show it through replacements, removals,
 * a rebuild whose second instance is a copy, and both instances. */
typedef struct {
    char digest[8][32];
    int64_t ids[8];
    size_t n;
} digest_page;

static void digest_cb(const index_image *img, void *arg)
{
    digest_page *p = arg;
    assert_true(p->n < 8);
    p->ids[p->n] = img->id;
    snprintf(p->digest[p->n++], sizeof p->digest[0], "%s", img->image_digest);
}

static void expect_digests(imgsec_index *ix, const char *const *want, size_t n)
{
    for (int flip = 0; flip < 2; flip++) { /* the published instance, then the other */
        index_scope sc = {"p1", true, NULL, 0};
        stat_query q = q_all(REPORT_APPS);
        index_page_req req = {.order = INDEX_ORDER_ID, .limit = 8};
        digest_page got = {0};
        int64_t total = -1;
        imgsec_err err;
        assert_int_equal(index_page(ix, &sc, &q, &req, &total, digest_cb, &got, &err), IMGSEC_OK);
        assert_int_equal(total, n);
        assert_int_equal(got.n, n);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(got.digest[i], want[i]);
        index_write_begin(ix);
        index_write_end(ix);
    }
}

static void test_shown_only_strings(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    a.s.image_digest = "sha256:aa";
    timg_apps(&b, 2, 1);
    b.s.image_digest = "sha256:aa"; /* the same digest: each row has its own copy */
    timg_apps(&c, 3, 1);            /* none: shown as "" */
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    const char *w1[] = {"sha256:aa", "sha256:aa", ""};
    expect_digests(ix, w1, 3);
    a.s.image_digest = "sha256:a2";
    put(ix, &a);
    del(ix, 2);
    const char *w2[] = {"sha256:a2", ""};
    expect_digests(ix, w2, 2);
    /* a rebuild: the second instance copies the strings */
    imgsec_err err;
    index_write_begin(ix);
    index_clear(ix);
    b.s.image_digest = "sha256:bb";
    assert_int_equal(index_upsert(ix, &b.s, &err), IMGSEC_OK);
    assert_int_equal(index_upsert(ix, &a.s, &err), IMGSEC_OK);
    assert_int_equal(index_upsert(ix, &c.s, &err), IMGSEC_OK);
    index_remove(ix, 3); /* a free row in the copy */
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    const char *w3[] = {"sha256:a2", "sha256:bb"};
    expect_digests(ix, w3, 2);
    c.s.image_digest = "sha256:cc"; /* takes the free row, in both instances */
    put(ix, &c);
    const char *w4[] = {"sha256:a2", "sha256:bb", "sha256:cc"};
    expect_digests(ix, w4, 3);
    index_free(ix);
}

/* The content id is the row's own string (sa_row_owned): found through
 * the rowmap while one row holds it, through a dictionary entry once
 * several do (and after they leave, until none does). Both instances share
 * each string, after a rebuild's copy and after a replayed batch. */
static int64_t count_cid(imgsec_index *ix, const char *cid)
{
    stat_query q = q_all(REPORT_APPS);
    q.image_id = cid;
    return count(ix, &q);
}

static void expect_cids(imgsec_index *ix, int64_t aa, int64_t bb, int64_t cc)
{
    for (int flip = 0; flip < 2; flip++) { /* the published instance, then the other */
        assert_int_equal(count_cid(ix, "sha256:aa"), aa);
        assert_int_equal(count_cid(ix, "sha256:bb"), bb);
        assert_int_equal(count_cid(ix, "sha256:cc"), cc);
        const char *ids[] = {"sha256:aa", "sha256:cc"};
        assert_int_equal(count_ids(ix, "p1", ids, 2), aa + cc);
        index_write_begin(ix);
        index_write_end(ix);
    }
}

/* Do the two instances share the content id string of image id? */
static bool cid_shared(imgsec_index *ix, int64_t id)
{
    index_catch_up(ix);
    uint32_t r0, r1;
    const ix_inst *a = index_published(ix), *b;
    /* the other instance: published by an empty batch */
    assert_true(idmap_get(&a->ids, id, ix_row_id, a, &r0));
    const ix_str *s0 = a->rows[r0].str[SA_image_id].own;
    index_write_begin(ix);
    index_write_end(ix);
    b = index_published(ix);
    assert_true(b != a);
    assert_true(idmap_get(&b->ids, id, ix_row_id, b, &r1));
    return s0 == b->rows[r1].str[SA_image_id].own;
}

static void test_row_owned_strings(void **state)
{
    (void)state;
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    a.s.image_id = "sha256:aa";
    timg_apps(&b, 2, 10);
    b.s.image_id = "sha256:bb";
    timg_apps(&c, 3, 100);
    c.s.image_id = "sha256:cc";
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    expect_cids(ix, 1, 10, 100);
    assert_true(cid_shared(ix, 1)); /* a replayed batch shares */
    b.s.image_id = "sha256:aa"; /* a second row with aa: into a dictionary entry */
    put(ix, &b);
    expect_cids(ix, 11, 0, 100);
    c.s.image_id = "sha256:aa"; /* a third */
    put(ix, &c);
    expect_cids(ix, 111, 0, 0);
    del(ix, 1);
    expect_cids(ix, 110, 0, 0);
    c.s.image_id = "sha256:cc";
    put(ix, &c);
    expect_cids(ix, 10, 0, 100); /* aa: an entry of one row now */
    a.s.image_id = "sha256:aa";
    put(ix, &a);
    expect_cids(ix, 11, 0, 100);
    del(ix, 1);
    del(ix, 2);
    expect_cids(ix, 0, 0, 100);
    put(ix, &a); /* aa again, in no entry: the rowmap */
    expect_cids(ix, 1, 0, 100);
    /* a rebuild: the copy shares every string */
    imgsec_err err;
    index_write_begin(ix);
    index_clear(ix);
    b.s.image_id = "sha256:cc";
    assert_int_equal(index_upsert(ix, &a.s, &err), IMGSEC_OK);
    assert_int_equal(index_upsert(ix, &b.s, &err), IMGSEC_OK);
    assert_int_equal(index_upsert(ix, &c.s, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    expect_cids(ix, 1, 0, 110);
    assert_true(cid_shared(ix, 1));
    assert_true(cid_shared(ix, 3));
    /* a batch that replaces an image twice: the replay's first upsert
     * cannot share (the other instance holds the second string), the
     * second does */
    index_write_begin(ix);
    a.s.image_id = "sha256:bb";
    assert_int_equal(index_upsert(ix, &a.s, &err), IMGSEC_OK);
    a.s.image_id = "sha256:dd";
    assert_int_equal(index_upsert(ix, &a.s, &err), IMGSEC_OK);
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    expect_cids(ix, 0, 0, 110);
    assert_int_equal(count_cid(ix, "sha256:dd"), 1);
    assert_true(cid_shared(ix, 1));
    index_free(ix);
}

/* Content ids and digests spelled "sha256:" + 64 lowercase hex digits
 * are kept packed (32 bytes) and spelled out again exactly; any other
 * spelling (upper case, a non-hex digit, one digit short) is kept as it
 * is and never equals the packed one. Filters, pages, the sharing of a
 * string by the instances and its move into a dictionary entry (a second
 * row with the same id) work alike on both kinds. */
typedef struct {
    char cid[4][80], digest[4][80];
    size_t n;
} cid_page;

static void cid_cb(const index_image *img, void *arg)
{
    cid_page *p = arg;
    assert_true(p->n < 4);
    snprintf(p->cid[p->n], sizeof p->cid[0], "%s", img->image_id);
    snprintf(p->digest[p->n++], sizeof p->digest[0], "%s", img->image_digest);
}

static bool own_packed(imgsec_index *ix, int64_t id, str_attr a)
{
    uint32_t r;
    const ix_inst *in = index_published(ix);
    assert_true(idmap_get(&in->ids, id, ix_row_id, in, &r));
    return in->rows[r].str[a].own->packed;
}

static void test_row_owned_packed(void **state)
{
    (void)state;
    static const char P1[] = "sha256:0123456789abcdef00112233445566778899aabbccddeeff0f1e2d3c4b5a6978";
    static const char P2[] = "sha256:0123456789ABCDEF00112233445566778899aabbccddeeff0f1e2d3c4b5a6978";
    static const char P3[] = "sha256:0123456789abcdef00112233445566778899aabbccddeeff0f1e2d3c4b5a697g";
    static const char P4[] = "sha256:ffeeddccbbaa99887766554433221100fedcba98765432100123456789abcdef";
    static const char SHORT[] = "sha256:0123456789abcdef00112233445566778899aabbccddeeff0f1e2d3c4b5a697";
    assert_int_equal(strlen(P1), IX_STR_PACKED_LEN);
    imgsec_index *ix = index_new();
    timg a, b, c;
    timg_apps(&a, 1, 1);
    a.s.image_id = P1;
    a.s.image_digest = P4;
    timg_apps(&b, 2, 10);
    b.s.image_id = P2;
    b.s.image_digest = P1;
    timg_apps(&c, 3, 100);
    c.s.image_id = P3;
    c.s.image_digest = SHORT;
    put(ix, &a);
    put(ix, &b);
    put(ix, &c);
    assert_true(own_packed(ix, 1, SA_image_id));
    assert_true(own_packed(ix, 1, SA_image_digest));
    assert_false(own_packed(ix, 2, SA_image_id));
    assert_true(own_packed(ix, 2, SA_image_digest));
    assert_false(own_packed(ix, 3, SA_image_id));
    assert_false(own_packed(ix, 3, SA_image_digest));
    assert_true(cid_shared(ix, 1));
    for (int round = 0; round < 2; round++) {
        for (int flip = 0; flip < 2; flip++) { /* the published instance, then the other */
            assert_int_equal(count_cid(ix, P1), round ? 11 : 1);
            assert_int_equal(count_cid(ix, P2), round ? 0 : 10);
            assert_int_equal(count_cid(ix, P3), 100);
            assert_int_equal(count_cid(ix, P4), 0);
            assert_int_equal(count_cid(ix, SHORT), 0);
            const char *ids[] = {P1, P3};
            assert_int_equal(count_ids(ix, "p1", ids, 2), round ? 111 : 101);
            index_scope sc = {"p1", true, NULL, 0};
            stat_query q = q_all(REPORT_APPS);
            index_page_req req = {.order = INDEX_ORDER_ID, .limit = 4};
            cid_page got = {0};
            int64_t total = -1;
            imgsec_err err;
            assert_int_equal(index_page(ix, &sc, &q, &req, &total, cid_cb, &got, &err), IMGSEC_OK);
            assert_int_equal(got.n, 3);
            assert_string_equal(got.cid[0], P1);
            assert_string_equal(got.digest[0], P4);
            assert_string_equal(got.cid[1], round ? P1 : P2);
            assert_string_equal(got.digest[1], P1);
            assert_string_equal(got.cid[2], P3);
            assert_string_equal(got.digest[2], SHORT);
            index_write_begin(ix);
            index_write_end(ix);
        }
        b.s.image_id = P1; /* a second row with P1: into a dictionary entry */
        put(ix, &b);
    }
    del(ix, 2); /* P1 back to one row */
    assert_int_equal(count_cid(ix, P1), 1);
    assert_true(cid_shared(ix, 1));
    index_free(ix);
}

/* n batches of replacements, removals and new images, each checked on
 * both instances (the second once it has replayed the batch). */
static void random_batches(imgsec_index *ix, int n, int *nonzero)
{
    for (int batch = 0; batch < n; batch++) {
        index_write_begin(ix);
        for (int k = 0; k < 60; k++) {
            int64_t id = 1 + rn(RND_IMAGES);
            if (rn(4) == 0) {
                index_remove(ix, id);
                REF[id].live = false;
            } else {
                random_upsert(ix, id);
            }
        }
        index_write_end(ix);
        size_t live = 0;
        for (int i = 1; i <= RND_IMAGES; i++)
            live += REF[i].live;
        assert_int_equal(index_size(ix), live);
        check_rows(index_published(ix));
        index_write_begin(ix); /* and the other instance, once it has replayed the batch */
        index_write_end(ix);
        check_rows(index_published(ix));
        run_random_queries(ix, 20, nonzero);
    }
}

static void test_randomized(void **state)
{
    (void)state;
    rng_state = 20240601;
    for (int i = 0; i < 64; i++) {
        if (i < 8) /* content ids that spell an image id */
            snprintf(CONTENT_IDS[i], sizeof CONTENT_IDS[i], "%d", 1 + i * 37);
        else
            snprintf(CONTENT_IDS[i], sizeof CONTENT_IDS[i], "sha256:%02x", i);
    }
    memset(REF, 0, sizeof REF);
    imgsec_index *ix = index_new();
    int nonzero = 0;

    /* 500 images, inserted in a shuffled order */
    int order[500];
    for (int i = 0; i < 500; i++)
        order[i] = i + 1;
    for (int i = 499; i > 0; i--) {
        int j = (int)rn((unsigned)i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    index_write_begin(ix);
    for (int i = 0; i < 500; i++)
        random_upsert(ix, order[i]);
    index_write_end(ix);
    assert_int_equal(index_size(ix), 500);
    run_random_queries(ix, 100, &nonzero);

    random_batches(ix, 5, &nonzero);

    /* A full rebuild (the start; a log pruned past the follower) with
     * removals inside it, so that the copy has free rows: the other
     * instance becomes a copy of the published one (rows_clone) instead of
     * replaying the batch. Both must answer alike, now and after batches
     * that each of them applies on its own. */
    index_write_begin(ix);
    index_clear(ix);
    for (int64_t id = 1; id <= RND_IMAGES; id++)
        if (REF[id].live)
            random_upsert(ix, id);
    for (int k = 0; k < 20; k++) {
        int64_t id = 1 + rn(RND_IMAGES);
        index_remove(ix, id);
        REF[id].live = false;
    }
    assert_int_equal(index_write_end(ix), IMGSEC_OK);
    check_rows(index_published(ix));
    run_random_queries(ix, 20, &nonzero);
    assert_int_equal(index_write_begin(ix), IMGSEC_OK); /* copies it */
    assert_int_equal(index_write_end(ix), IMGSEC_OK);   /* and publishes the copy */
    check_rows(index_published(ix));
    run_random_queries(ix, 20, &nonzero);
    random_batches(ix, 3, &nonzero);

    /* most queries must select something, or the test proves little */
    assert_true(nonzero > 160);
    print_message("randomized: 300 queries, %d with a non-zero total, %zu images at the end\n",
                  nonzero, index_size(ix));
    index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counts_per_report),
        cmocka_unit_test(test_project_isolation),
        cmocka_unit_test(test_project_eps),
        cmocka_unit_test(test_ep_scope),
        cmocka_unit_test(test_image_ids),
        cmocka_unit_test(test_enum_filters),
        cmocka_unit_test(test_substring_and_exact),
        cmocka_unit_test(test_substring_row_path),
        cmocka_unit_test(test_dict_forms),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_sums_whole_fleet),
        cmocka_unit_test(test_range_steps),
        cmocka_unit_test(test_scan_sum),
        cmocka_unit_test(test_scan_ranges),
        cmocka_unit_test(test_tristate),
        cmocka_unit_test(test_severity_level),
        cmocka_unit_test(test_latest_version),
        cmocka_unit_test(test_vul_filters),
        cmocka_unit_test(test_bulk_rebuild_is_the_serial_build),
        cmocka_unit_test(test_vul_sum_paths),
        cmocka_unit_test(test_build_filters),
        cmocka_unit_test(test_upsert_replaces),
        cmocka_unit_test(test_remove_and_reuse),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_unmatched_record_filters),
        cmocka_unit_test(test_concurrent_batches),
        cmocka_unit_test(test_readers_never_wait),
        cmocka_unit_test(test_instances_agree),
        cmocka_unit_test(test_write_abort),
        cmocka_unit_test(test_replay_failure),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_hash_maps),
        cmocka_unit_test(test_postings_back_references),
        cmocka_unit_test(test_pcvss_codes),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_decimal_ids),
        cmocka_unit_test(test_shown_only_strings),
        cmocka_unit_test(test_row_owned_strings),
        cmocka_unit_test(test_row_owned_packed),
        cmocka_unit_test(test_randomized),
        cmocka_unit_test(test_vul_groups_by_type),
        cmocka_unit_test(test_group_caches_after_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
