/* test_gen.c - the deterministic data-set generator (imgsec/gen.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/doc.h"
#include "imgsec/gen.h"
#include "imgsec/model.h"

#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)

static gen *make(uint64_t seed, size_t images, double records_per_image)
{
    gen_options opt = {.seed = seed, .images = images, .records_per_image = records_per_image};
    gen *g = gen_new(&opt);
    assert_non_null(g);
    return g;
}

static const char *image_str(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(doc, "image"), key));
    return s ? s : "";
}

static int64_t image_int(const json_t *doc, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(doc, "image"), key));
}

static size_t json_doc_records(const json_t *doc)
{
    size_t n = 0;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        n += json_array_size(json_object_get(doc, record_kind_get((report_type)t)->doc_key));
    return n;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- determinism ---- */

static void test_same_seed_identical(void **state)
{
    (void)state;
    gen *a = make(42, 200, 40), *b = make(42, 200, 40);
    for (int i = 0; i < 50; i++) {
        const char *ea = NULL, *eb = NULL;
        json_t *da = gen_next(a, &ea), *db = gen_next(b, &eb);
        assert_non_null(da);
        assert_non_null(db);
        char *sa = json_dumps(da, DUMP_FLAGS), *sb = json_dumps(db, DUMP_FLAGS);
        assert_string_equal(sa, sb);
        assert_string_equal(ea, eb);
        free(sa);
        free(sb);
        json_decref(da);
        json_decref(db);
    }
    gen_free(a);
    gen_free(b);
}

static void test_different_seed_differs(void **state)
{
    (void)state;
    gen *a = make(42, 50, 40), *b = make(43, 50, 40);
    int differ = 0;
    for (int i = 0; i < 50; i++) {
        json_t *da = gen_next(a, NULL), *db = gen_next(b, NULL);
        char *sa = json_dumps(da, DUMP_FLAGS), *sb = json_dumps(db, DUMP_FLAGS);
        differ += strcmp(sa, sb) != 0;
        free(sa);
        free(sb);
        json_decref(da);
        json_decref(db);
    }
    assert_int_equal(differ, 50);
    gen_free(a);
    gen_free(b);
}

static void test_exact_count(void **state)
{
    (void)state;
    gen *g = make(7, 37, 5);
    size_t n = 0;
    json_t *d;
    while ((d = gen_next(g, NULL))) {
        n++;
        json_decref(d);
    }
    assert_int_equal(n, 37);
    assert_null(gen_next(g, NULL));
    assert_false(gen_failed(g)); /* the end, not a failure */
    gen_free(g);

    g = make(7, 0, 5);
    assert_null(gen_next(g, NULL));
    gen_free(g);

    assert_null(gen_new(NULL));
    assert_null(gen_next(NULL, NULL));
    assert_true(gen_failed(NULL));
    gen_free(NULL);
}

/* jansson's allocator, failing once ALLOCS_LEFT allocations have been made. */
static long ALLOCS_LEFT = -1; /* -1: never fail */

static void *failing_malloc(size_t n)
{
    if (ALLOCS_LEFT == 0)
        return NULL;
    if (ALLOCS_LEFT > 0)
        ALLOCS_LEFT--;
    return malloc(n);
}

/* Out of memory in the middle of the sequence is not its end: gen_next's
 * NULL then comes with gen_failed, and stays NULL (no gap in the images). */
static void test_out_of_memory_told(void **state)
{
    (void)state;
    gen *g = make(7, 37, 5);
    json_t *d = gen_next(g, NULL);
    assert_non_null(d);
    json_decref(d);
    assert_false(gen_failed(g));
    json_set_alloc_funcs(failing_malloc, free);
    ALLOCS_LEFT = 5; /* well inside the next document */
    d = gen_next(g, NULL);
    json_set_alloc_funcs(malloc, free);
    ALLOCS_LEFT = -1;
    assert_null(d);
    assert_true(gen_failed(g));
    assert_null(gen_next(g, NULL)); /* memory is back, but the sequence has a hole: stay ended */
    assert_true(gen_failed(g));
    gen_free(g);
}

/* ---- validity ---- */

static bool is_field_of(const record_kind *k, const char *key)
{
    for (size_t i = 0; i < k->nfields; i++)
        if (strcmp(k->fields[i].name, key) == 0)
            return true;
    return false;
}

static void test_every_doc_valid(void **state)
{
    (void)state;
    gen *g = make(2024, 2000, 100);
    json_t *d;
    size_t i = 0;
    while ((d = gen_next(g, NULL))) {
        /* No misnamed record field (doc_from_json would silently ignore it). */
        for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
            const record_kind *k = record_kind_get((report_type)t);
            size_t ri;
            json_t *rec;
            json_array_foreach(json_object_get(d, k->doc_key), ri, rec) {
                const char *key;
                json_t *v;
                json_object_foreach(rec, key, v) {
                    if (!is_field_of(k, key))
                        fail_msg("doc %zu %s[%zu].%s is not a field", i, k->doc_key, ri, key);
                }
            }
        }
        char *text = json_dumps(d, DUMP_FLAGS);
        imgsec_doc doc;
        imgsec_err err;
        int rc = doc_from_json(d, "", &doc, &err);
        if (rc != IMGSEC_OK)
            fail_msg("doc %zu invalid: %s\n%.400s", i, err.msg, text);
        /* The image keys were read, not ignored. */
        assert_int_equal(strncmp(doc.summary.image_id, "sha256:", 7), 0);
        assert_int_equal(strlen(doc.summary.image_id), 7 + 64);
        assert_int_equal(strncmp(doc.summary.image_digest, "sha256:", 7), 0);
        assert_true(doc.summary.image_name[0] != '\0');
        assert_true(doc.summary.latest_update_time >= 1704067200000LL);
        assert_true(doc.summary.latest_update_time < 1798761600000LL);
        assert_true(doc.summary.image_size >= (5LL << 20) && doc.summary.image_size <= (2LL << 30));
        assert_true(doc.summary.container_num >= 0 && doc.summary.container_num <= 50);
        if (doc.summary.status == SCAN_STATUS_UNSCAN)
            assert_int_equal(doc.summary.latest_scan_time, 0);
        else
            assert_true(doc.summary.latest_scan_time > doc.summary.latest_update_time);
        if (doc.summary.type == IMAGE_TYPE_LOCAL)
            assert_string_equal(doc.summary.namespace_, "");
        bool has_instance = doc.summary.type == IMAGE_TYPE_INSTANCE ||
                            doc.summary.type == IMAGE_TYPE_HARBOR ||
                            doc.summary.type == IMAGE_TYPE_JFROG;
        assert_int_equal(doc.summary.instance_id[0] != '\0', has_instance);
        assert_int_equal(doc.summary.instance_name[0] != '\0', has_instance);
        assert_int_equal(doc.summary.cicd_name[0] != '\0', doc.summary.type == IMAGE_TYPE_CICD);
        /* Failed, unscanned and oversized images have no records. */
        if (doc.summary.status != SCAN_STATUS_SUCCESS &&
            doc.summary.status != SCAN_STATUS_SCANNING)
            assert_int_equal(json_doc_records(d), 0);
        doc_free(&doc);
        free(text);
        json_decref(d);
        i++;
    }
    assert_int_equal(i, 2000);
    gen_free(g);
}

/* ---- distributions over 2,000 images ---- */

typedef struct {
    char *group; /* type \x1f instance \x1f namespace \x1f name */
    int64_t time;
} version_time;

static int version_time_cmp(const void *a, const void *b)
{
    const version_time *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : (x->time > y->time) - (x->time < y->time);
}

static bool has_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return true;
    return false;
}

static void test_distributions(void **state)
{
    (void)state;
    enum { N = 2000 };
    const double mean_wanted = 100;
    gen *g = make(2024, N, mean_wanted);
    size_t types[IMAGE_TYPE_COUNT] = {0}, statuses[SCAN_STATUS_COUNT] = {0};
    size_t kinds[REPORT_TYPE_COUNT] = {0};
    char **ids = calloc(N, sizeof *ids);
    char **image_ids = calloc(N, sizeof *image_ids);
    version_time *vt = calloc(N, sizeof *vt);
    size_t total = 0, max = 0, upper_severities = 0, root_rules = 0;
    char root_seen[100] = {0};
    assert_non_null(ids);
    assert_non_null(vt);

    for (size_t i = 0; i < N; i++) {
        json_t *d = gen_next(g, NULL);
        assert_non_null(d);
        types[image_type_parse(image_str(d, "image_type"))]++;
        statuses[scan_status_parse(image_str(d, "scan_status"))]++;
        char buf[2048];
        snprintf(buf, sizeof buf, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", image_str(d, "image_type"),
                 image_str(d, "instance_id"), image_str(d, "cicd_name"),
                 image_str(d, "namespace"), image_str(d, "image_name"),
                 image_str(d, "image_version"));
        ids[i] = strdup(buf);
        image_ids[i] = strdup(image_str(d, "image_id"));
        snprintf(buf, sizeof buf, "%s\x1f%s\x1f%s\x1f%s", image_str(d, "image_type"),
                 image_str(d, "instance_id"), image_str(d, "namespace"),
                 image_str(d, "image_name"));
        vt[i].group = strdup(buf);
        vt[i].time = image_int(d, "latest_update_time");

        for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
            const record_kind *k = record_kind_get((report_type)t);
            json_t *arr = json_object_get(d, k->doc_key);
            kinds[t] += json_array_size(arr);
            size_t ri;
            json_t *rec;
            json_array_foreach(arr, ri, rec) {
                for (size_t fi = 0; fi < k->nfields; fi++) {
                    if (k->fields[fi].kind != FIELD_SEVERITY)
                        continue;
                    const char *s = json_string_value(json_object_get(rec, k->fields[fi].name));
                    upper_severities += s && has_upper(s);
                }
                if (t == REPORT_BUILD_COMMAND_RISKS) {
                    /* field 0 is rule_id "DSnnn", field 1 risk_name */
                    const char *rule = json_string_value(json_object_get(rec, k->fields[0].name));
                    const char *name = json_string_value(json_object_get(rec, k->fields[1].name));
                    int n = atoi(rule + 2);
                    if (strstr(name, "root") && n > 0 && n < 100 && !root_seen[n]) {
                        root_seen[n] = 1;
                        root_rules++;
                    }
                }
            }
        }
        size_t n = json_doc_records(d);
        total += n;
        if (n > max)
            max = n;
        json_decref(d);
    }
    assert_null(gen_next(g, NULL));
    gen_free(g);

    for (int t = 0; t < IMAGE_TYPE_COUNT; t++)
        if (!types[t])
            fail_msg("no image of type %s", image_type_name((image_type)t));
    for (int s = 0; s < SCAN_STATUS_COUNT; s++)
        if (!statuses[s] && s != SCAN_STATUS_WAITING) /* a sync's state: the generator has none */
            fail_msg("no image with status %s", scan_status_name((scan_status)s));
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (!kinds[t])
            fail_msg("no %s record", record_kind_get((report_type)t)->doc_key);
    assert_true(statuses[SCAN_STATUS_SUCCESS] > N * 3 / 4);
    assert_true(upper_severities > 0);
    assert_true(root_rules >= 2);

    /* Identities and image ids are unique. */
    qsort(ids, N, sizeof *ids, str_cmp);
    qsort(image_ids, N, sizeof *image_ids, str_cmp);
    for (size_t i = 1; i < N; i++) {
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate identity %s", ids[i]);
        if (strcmp(image_ids[i - 1], image_ids[i]) == 0)
            fail_msg("duplicate image_id %s", image_ids[i]);
    }

    /* Names are shared across versions, with some update-time ties. */
    qsort(vt, N, sizeof *vt, version_time_cmp);
    size_t groups = 1, ties = 0;
    for (size_t i = 1; i < N; i++) {
        if (strcmp(vt[i - 1].group, vt[i].group) != 0)
            groups++;
        else if (vt[i - 1].time == vt[i].time)
            ties++;
    }
    assert_true(groups < N * 3 / 4);
    assert_true(ties >= 1);

    /* Mean records per image near the request; a heavy tail. */
    double mean = (double)total / N;
    print_message("mean %.1f records/image, max %zu, %zu groups, %zu ties\n", mean, max, groups,
                  ties);
    assert_true(mean >= 0.7 * mean_wanted && mean <= 1.3 * mean_wanted);
    assert_true((double)max >= 10.0 * mean);
    assert_true((double)max <= 100.0 * mean_wanted);

    for (size_t i = 0; i < N; i++) {
        free(ids[i]);
        free(image_ids[i]);
        free(vt[i].group);
    }
    free(ids);
    free(image_ids);
    free(vt);
}

/* ---- enterprise projects ---- */

static void test_eps(void **state)
{
    (void)state;
    static const char *const EPS[] = {"0", "ep-a", "ep-b", "ep-c"};
    gen_options opt = {.seed = 5, .images = 3000, .eps = EPS, .n_eps = 4, .records_per_image = 1};
    gen *g = gen_new(&opt);
    size_t counts[4] = {0};
    json_t *d;
    const char *ep;
    while ((d = gen_next(g, &ep))) {
        size_t e = 0;
        while (e < 4 && ep != EPS[e])
            e++;
        assert_true(e < 4); /* one of the caller's pointers */
        counts[e]++;
        json_decref(d);
    }
    gen_free(g);
    for (int e = 0; e < 4; e++)
        assert_true(counts[e] > 0);
    for (int e = 1; e < 4; e++)
        assert_true(counts[0] > counts[e]);

    g = make(5, 10, 1);
    while ((d = gen_next(g, &ep))) {
        assert_string_equal(ep, MODEL_DEFAULT_EP);
        json_decref(d);
    }
    gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_identical),
        cmocka_unit_test(test_different_seed_differs),
        cmocka_unit_test(test_exact_count),
        cmocka_unit_test(test_out_of_memory_told),
        cmocka_unit_test(test_every_doc_valid),
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_eps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
