/* test_eps.c - GET /v1.0/enterprise-projects (docs/api.md "Enterprise
 * projects"): the caller's EPs on the token's project, in the EPS
 * service's ListEnterpriseProject shape, against a real imgsecd. A reader
 * with a listed grant sees exactly its list; an `all` grant and an admin
 * see "0" and every EP holding the project's images, never another
 * project's; paging, the id / name filters and bad queries exactly. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static srv_t S;
static char *admin1, *reader_ac, *writer_all, *admin2;

static void ingest(const char *token, const char *project, const char *ep, const char *name)
{
    http_resp r;
    char *body = h_strdupf("{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"%s\"}}", name);
    api_ingest(&S, token, project, ep, body, false, &r);
    free(body);
    assert_status(&r, 200);
    http_resp_free(&r);
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    admin1 = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    reader_ac = user_token(&S, "acme", "ro", "ro-pw-12", "P1", "reader", "ep-c,ep-a,ep-a");
    writer_all = user_token(&S, "acme", "rw", "rw-pw-123", "P1", "writer", "all");
    admin2 = user_token(&S, "beta", "root", "root-pw-2", "P2", "admin", "all");
    if (!admin1 || !reader_ac || !writer_all || !admin2)
        return -1;
    ingest(admin1, "P1", "ep-b", "b1");
    ingest(admin1, "P1", "ep-b", "b2");
    ingest(admin1, "P1", "ep-a", "a1");
    ingest(admin1, "P1", "0", "z1");
    ingest(admin2, "P2", "ep-other", "o1");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(admin1), free(reader_ac), free(writer_all), free(admin2);
    return srv_stop(&S, true);
}

static long eps(const char *token, const char *query, http_resp *out)
{
    return api_call(&S, "GET", "/v1.0/enterprise-projects", query, token, NULL, NULL, NULL, out);
}

/* The ids answered, comma-joined, and total_count; asserts the shape. */
static void ids_of(const char *token, const char *query, char *ids, size_t size, long long *total)
{
    http_resp r;
    eps(token, query, &r);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, "enterprise_projects");
    assert_true(json_is_array(list));
    assert_int_equal(json_object_size(r.json), 2);
    *total = json_integer_value(json_object_get(r.json, "total_count"));
    ids[0] = '\0';
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *name = json_string_value(json_object_get(it, "name"));
        assert_non_null(id);
        assert_string_equal(name, strcmp(id, "0") == 0 ? "default" : id);
        assert_string_equal(json_string_value(json_object_get(it, "description")), "");
        assert_int_equal(json_integer_value(json_object_get(it, "status")), 1);
        assert_int_equal(json_object_size(it), 4);
        size_t used = strlen(ids);
        snprintf(ids + used, size - used, "%s%s", used ? "," : "", id);
    }
    http_resp_free(&r);
}

#define CHECK_IDS(token, query, want_ids, want_total)                                              \
    do {                                                                                           \
        char ids_[512];                                                                            \
        long long total_;                                                                          \
        ids_of(token, query, ids_, sizeof ids_, &total_);                                          \
        assert_string_equal(ids_, want_ids);                                                       \
        assert_int_equal(total_, want_total);                                                      \
    } while (0)

static void test_reader_sees_only_its_grant(void **state)
{
    (void)state;
    /* listed, sorted, once; ep-c holds no image yet is granted */
    CHECK_IDS(reader_ac, NULL, "ep-a,ep-c", 2);
    /* and the statistic agrees: ep-a is held, ep-b refused */
    assert_int_equal(api_count(&S, reader_ac, "P1", "vulnerability", "ep-a", NULL), 0);
    stat_res st = api_stat(&S, reader_ac, "P1", "vulnerability", "ep-b", "{\"operate_all\":true}");
    assert_int_equal(st.status, 403);
    assert_string_equal(st.code, "HSS.0013");
}

static void test_admin_and_all_grant_see_the_projects_eps(void **state)
{
    (void)state;
    CHECK_IDS(admin1, NULL, "0,ep-a,ep-b", 3);
    CHECK_IDS(writer_all, NULL, "0,ep-a,ep-b", 3);
    /* another project's EPs never show */
    CHECK_IDS(admin2, NULL, "0,ep-other", 2);
    /* a new EP appears once it holds an image */
    ingest(admin1, "P1", "ep-new", "n1");
    CHECK_IDS(admin1, NULL, "0,ep-a,ep-b,ep-new", 4);
}

static void test_filters_and_paging(void **state)
{
    (void)state;
    CHECK_IDS(admin1, "limit=2", "0,ep-a", 4);
    CHECK_IDS(admin1, "offset=2&limit=1", "ep-b", 4);
    CHECK_IDS(admin1, "offset=9", "", 4);
    CHECK_IDS(admin1, "id=ep-b", "ep-b", 1);
    CHECK_IDS(admin1, "id=ep-zzz", "", 0);
    CHECK_IDS(admin1, "name=defa", "0", 1);
    CHECK_IDS(admin1, "name=ep-", "ep-a,ep-b,ep-new", 3);
    CHECK_IDS(reader_ac, "name=ep-b", "", 0);
    CHECK_IDS(admin1, "id=&name=", "0,ep-a,ep-b,ep-new", 4); /* "" is not given */
}

static void test_refusals(void **state)
{
    (void)state;
    http_resp r;
    eps(NULL, NULL, &r);
    assert_api_error(&r, 401, "APIGW.0301", "X-Auth-Token");
    http_resp_free(&r);
    eps("not-a-token", NULL, &r);
    assert_api_error(&r, 401, "APIGW.0301", "invalid");
    http_resp_free(&r);
    static const char *bad[][2] = {
        {"limit=0", "limit"}, {"limit=1001", "limit"}, {"offset=-1", "offset"},
        {"limit=x", "limit"}, {"limit=1&limit=2", "limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eps(admin1, bad[i][0], &r);
        assert_api_error(&r, 400, "HSS.0001", bad[i][1]);
        http_resp_free(&r);
    }
    char *a65 = h_repeat('a', 65);
    char *q = h_strdupf("id=%s", a65);
    free(a65);
    eps(admin1, q, &r);
    assert_api_error(&r, 400, "HSS.0001", "id");
    http_resp_free(&r);
    free(q);
    /* the route reads no body and takes only GET */
    api_call(&S, "POST", "/v1.0/enterprise-projects", NULL, admin1, NULL, "{}",
             "application/json", &r);
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_sees_only_its_grant),
        cmocka_unit_test(test_admin_and_all_grant_see_the_projects_eps),
        cmocka_unit_test(test_filters_and_paging),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
