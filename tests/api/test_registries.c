/* test_registries.c - a project's image registries (docs/api.md
 * "Registries"): AddRegistry, ListRegistry, UpdateRegistry, DeleteRegistry,
 * BatchDeleteRegistry, ListRegistryStatistics against a real imgsecd:
 * exact statuses, codes and fields; roles and project isolation; bad input
 * changes nothing; the password is never answered, logged or stored in
 * plain text (the database files' bytes are searched for it). */
#include "harness.h"

#include <dirent.h>

#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW1 "Reg1stry-Passw0rd-alpha"
#define PW2 "Reg1stry-Passw0rd-bravo"
#define PW_BAD "Reg1stry-Passw0rd-refused"

static srv_t S;
static char *admin1, *reader1, *writer1, *admin2;

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    admin1 = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    reader1 = user_token(&S, "acme", "ro", "ro-pw-12", "P1", "reader", "all");
    writer1 = user_token(&S, "acme", "rw", "rw-pw-123", "P1", "writer", "all");
    admin2 = user_token(&S, "beta", "root", "root-pw-2", "P2", "admin", "all");
    return admin1 && reader1 && writer1 && admin2 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(admin1), free(reader1), free(writer1), free(admin2);
    return srv_stop(&S, true);
}

/* method on /v5/{project}/image/registries[suffix]. */
static long reg(const char *token, const char *project, const char *method, const char *suffix,
                const char *query, const char *body, http_resp *out)
{
    char *path = h_strdupf("/v5/%s/image/registries%s", project, suffix ? suffix : "");
    long st = api_call(&S, method, path, query, token, NULL, body,
                       body ? "application/json" : NULL, out);
    free(path);
    return st;
}

/* total_num of ListRegistry with query (asserted 200); *list_out the answer
 * when not NULL (free it), else freed. */
static long long list(const char *token, const char *project, const char *query,
                      http_resp *list_out)
{
    http_resp r;
    reg(token, project, "GET", NULL, query, NULL, &r);
    assert_status(&r, 200);
    json_t *t = json_object_get(r.json, "total_num");
    assert_true(json_is_integer(t));
    long long n = json_integer_value(t);
    assert_true(json_is_array(json_object_get(r.json, "data_list")));
    if (list_out)
        *list_out = r;
    else
        http_resp_free(&r);
    return n;
}

/* The id of the project's registry called name ("" when none). */
static void id_of(const char *token, const char *project, const char *name, char id[32])
{
    http_resp r;
    char *q = h_strdupf("registry_name=%s&limit=200", name);
    list(token, project, q, &r);
    free(q);
    id[0] = '\0';
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "data_list"), i, item)
        if (strcmp(json_string_value(json_object_get(item, "registry_name")), name) == 0)
            snprintf(id, 32, "%s", json_string_value(json_object_get(item, "id")));
    http_resp_free(&r);
}

static void add_ok(const char *token, const char *project, const char *body)
{
    http_resp r;
    reg(token, project, "POST", NULL, NULL, body, &r);
    assert_status(&r, 200);
    assert_string_equal(r.body, "{}");
    http_resp_free(&r);
}

static void delete_all(const char *token, const char *project)
{
    http_resp r;
    list(token, project, "limit=200", &r);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "data_list"), i, item)
    {
        http_resp d;
        char *suffix = h_strdupf("/%s", json_string_value(json_object_get(item, "id")));
        reg(token, project, "DELETE", suffix, NULL, NULL, &d);
        assert_status(&d, 200);
        free(suffix);
        http_resp_free(&d);
    }
    http_resp_free(&r);
    assert_int_equal(list(token, project, NULL, NULL), 0);
}

/* Each test starts from no registries, whatever the one before left. */
static int clean(void **state)
{
    (void)state;
    delete_all(admin1, "P1");
    delete_all(admin2, "P2");
    return 0;
}

static void test_add_and_list(void **state)
{
    (void)state;
    add_ok(admin1, "P1",
           "{\"registry_name\":\"harbor-main\",\"registry_type\":\"Harbor\",\"protocol\":"
           "\"https\",\"registry_addr\":\"harbor.example.com:8443\",\"registry_username\":"
           "\"robot$scan\",\"registry_password\":\"" PW1 "\",\"namespace\":\"library\","
           "\"get_scan_image_channel\":\"Other\",\"connect_cluster_id\":\"c-1\"}");
    add_ok(admin1, "P1",
           "{\"registry_name\":\"jfrog-b\",\"registry_type\":\"Jfrog\",\"api_version\":\"V1\","
           "\"protocol\":\"http\",\"registry_addr\":\"10.0.0.7:8082\"}");
    http_resp r;
    assert_int_equal(list(reader1, "P1", NULL, &r), 2);
    json_t *items = json_object_get(r.json, "data_list");
    assert_int_equal(json_array_size(items), 2);
    json_t *a = json_array_get(items, 0);
    /* every key of RegistryInfo, exactly, and nothing else */
    assert_int_equal(json_object_size(a), 14);
    char id[32];
    assert_non_null(json_string_value(json_object_get(a, "id")));
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(a, "id")));
    assert_true(atoll(id) > 0);
    char *want = h_strdupf(
        "{\"id\":\"%s\",\"registry_name\":\"harbor-main\",\"registry_type\":\"Harbor\","
        "\"api_version\":\"V2\",\"protocol\":\"https\",\"registry_addr\":"
        "\"harbor.example.com:8443\",\"registry_username\":\"robot$scan\",\"namespace\":"
        "\"library\",\"connect_cluster_id\":\"c-1\",\"get_scan_image_channel\":\"Other\","
        "\"status\":\"accessing\",\"fail_reason\":\"\",\"images_num\":0,\"latest_sync_time\":0}",
        id);
    json_t *wj = json_loads(want, 0, NULL);
    assert_true(json_equal(wj, a));
    json_decref(wj);
    free(want);
    json_t *b = json_array_get(items, 1);
    assert_string_equal(json_string_value(json_object_get(b, "registry_name")), "jfrog-b");
    assert_string_equal(json_string_value(json_object_get(b, "api_version")), "V1");
    assert_string_equal(json_string_value(json_object_get(b, "registry_username")), "");
    assert_null(strstr(r.body, PW1));
    assert_null(strstr(r.body, "password"));
    http_resp_free(&r);

    /* filters */
    assert_int_equal(list(reader1, "P1", "registry_name=harbor", NULL), 1);
    assert_int_equal(list(reader1, "P1", "registry_name=nothing", NULL), 0);
    assert_int_equal(list(reader1, "P1", "registry_type=Jfrog", NULL), 1);
    assert_int_equal(list(reader1, "P1", "registry_type=Harbor,Jfrog", NULL), 2);
    assert_int_equal(list(reader1, "P1", "registry_type=SwrPrivate", NULL), 0);
    assert_int_equal(list(reader1, "P1", "registry_addr=10.0.0.7", NULL), 1);
    assert_int_equal(list(reader1, "P1", "status=accessing", NULL), 2);
    assert_int_equal(list(reader1, "P1", "status=success", NULL), 0);
    char *q = h_strdupf("registry_id=%s", id);
    assert_int_equal(list(reader1, "P1", q, NULL), 1);
    free(q);
    assert_int_equal(list(reader1, "P1", "registry_id=not-an-id", NULL), 0);
    /* paging: total counts all, the page holds what is left */
    assert_int_equal(list(reader1, "P1", "offset=1&limit=10", &r), 2);
    assert_int_equal(json_array_size(json_object_get(r.json, "data_list")), 1);
    http_resp_free(&r);
    /* the project-wide statistic */
    reg(reader1, "P1", "GET", "/statistics", NULL, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(r.body, "{\"fail_num\":0,\"success_num\":0}");
    http_resp_free(&r);

    static const struct {
        const char *query, *param;
    } BAD[] = {
        {"limit=9", "limit"},           {"limit=201", "limit"},
        {"offset=-1", "offset"},        {"offset=2000001", "offset"},
        {"status=ok", "status"},        {"registry_type=Harbor,Docker", "registry_type"},
        {"registry_type=harbor", "registry_type"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        reg(reader1, "P1", "GET", NULL, BAD[i].query, NULL, &r);
        assert_api_error(&r, 400, "HSS.0001", BAD[i].param);
        http_resp_free(&r);
    }
    reg(reader1, "P1", "GET", "/statistics", "registry_type=Docker", NULL, &r);
    assert_api_error(&r, 400, "HSS.0001", "registry_type");
    http_resp_free(&r);
    delete_all(admin1, "P1");
}

static void test_bad_input_changes_nothing(void **state)
{
    (void)state;
    add_ok(admin1, "P1",
           "{\"registry_name\":\"keep\",\"registry_type\":\"Other\",\"protocol\":\"https\","
           "\"registry_addr\":\"reg.local\"}");
    static const struct {
        const char *body, *code, *part;
        long status;
    } BAD[] = {
        {"not json", "HSS.0002", "JSON", 400},
        {"[1]", "HSS.0002", "JSON object", 400},
        {"{\"registry_type\":\"Harbor\",\"protocol\":\"https\",\"registry_addr\":\"h\"}",
         "HSS.0001", "registry_name", 400},
        {"{\"registry_name\":\"x\",\"protocol\":\"https\",\"registry_addr\":\"h\"}", "HSS.0001",
         "registry_type", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Docker\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\"}",
         "HSS.0001", "registry_type", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"ftp\","
         "\"registry_addr\":\"h\"}",
         "HSS.0001", "protocol", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\"}",
         "HSS.0001", "registry_addr", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"https://h/v2\"}",
         "HSS.0001", "registry_addr", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"api_version\":\"V3\"}",
         "HSS.0001", "api_version", 400},
        {"{\"registry_name\":\"\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\"}",
         "HSS.0001", "registry_name", 400},
        {"{\"registry_name\":7,\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\"}",
         "HSS.0001", "registry_name", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"registry_password\":\"" PW_BAD "\"}",
         "HSS.0001", "registry_username", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"registry_username\":\"u\"}",
         "HSS.0001", "registry_password", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"registry_username\":\"u\",\"registry_password\":123}",
         "HSS.0001", "registry_password", 400},
        {"{\"registry_name\":\"x\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"get_scan_image_channel\":\"Other\"}",
         "HSS.0001", "namespace", 400},
        {"{\"registry_name\":\"keep\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
         "\"registry_addr\":\"h\",\"registry_username\":\"u\",\"registry_password\":\"" PW_BAD
         "\"}",
         "HSS.0001", "registry_name", 409},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        http_resp r;
        reg(admin1, "P1", "POST", NULL, NULL, BAD[i].body, &r);
        assert_api_error(&r, BAD[i].status, BAD[i].code, BAD[i].part);
        assert_null(strstr(r.body, PW_BAD));
        http_resp_free(&r);
    }
    /* too long: 129 characters of name, 129 of password */
    char *name = h_repeat('n', 129), *pw = h_repeat('p', 129);
    char *body = h_strdupf("{\"registry_name\":\"%s\",\"registry_type\":\"Harbor\",\"protocol\":"
                           "\"https\",\"registry_addr\":\"h\"}",
                           name);
    http_resp r;
    reg(admin1, "P1", "POST", NULL, NULL, body, &r);
    assert_api_error(&r, 400, "HSS.0001", "registry_name");
    http_resp_free(&r);
    free(body);
    body = h_strdupf("{\"registry_name\":\"y\",\"registry_type\":\"Harbor\",\"protocol\":"
                     "\"https\",\"registry_addr\":\"h\",\"registry_username\":\"u\","
                     "\"registry_password\":\"%s\"}",
                     pw);
    reg(admin1, "P1", "POST", NULL, NULL, body, &r);
    assert_api_error(&r, 400, "HSS.0001", "registry_password");
    http_resp_free(&r);
    free(body), free(name), free(pw);

    assert_int_equal(list(admin1, "P1", NULL, &r), 1);
    assert_non_null(strstr(r.body, "\"registry_name\":\"keep\""));
    assert_non_null(strstr(r.body, "\"registry_type\":\"Other\""));
    http_resp_free(&r);
    assert_false(srv_log_contains(&S, PW_BAD));
    delete_all(admin1, "P1");
}

static void test_update(void **state)
{
    (void)state;
    add_ok(admin1, "P1",
           "{\"registry_name\":\"upd\",\"registry_type\":\"Harbor\",\"protocol\":\"http\","
           "\"registry_addr\":\"old.example\",\"registry_username\":\"u1\","
           "\"registry_password\":\"" PW1 "\"}");
    char id[32];
    id_of(admin1, "P1", "upd", id);
    assert_true(id[0]);
    char *suffix = h_strdupf("/%s", id);
    http_resp r;
    reg(admin1, "P1", "PUT", suffix, NULL,
        "{\"registry_addr\":\"new.example:5000\",\"protocol\":\"https\",\"registry_username\":"
        "\"u2\",\"registry_password\":\"" PW2 "\"}",
        &r);
    assert_status(&r, 200);
    assert_string_equal(r.body, "{}");
    http_resp_free(&r);
    list(admin1, "P1", "registry_name=upd", &r);
    json_t *it = json_array_get(json_object_get(r.json, "data_list"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "registry_addr")),
                        "new.example:5000");
    assert_string_equal(json_string_value(json_object_get(it, "protocol")), "https");
    assert_string_equal(json_string_value(json_object_get(it, "registry_username")), "u2");
    assert_string_equal(json_string_value(json_object_get(it, "registry_type")), "Harbor");
    assert_string_equal(json_string_value(json_object_get(it, "api_version")), "V2");
    http_resp_free(&r);

    static const struct {
        const char *body, *part;
    } BAD[] = {
        {"{}", "body"},
        {"{\"registry_name\":\"renamed\"}", "registry_name"},
        {"{\"registry_type\":\"Jfrog\"}", "registry_type"},
        {"{\"protocol\":\"gopher\"}", "protocol"},
        {"{\"registry_password\":\"" PW_BAD "\"}", "registry_username"},
        {"{\"registry_addr\":\"a b\"}", "registry_addr"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        reg(admin1, "P1", "PUT", suffix, NULL, BAD[i].body, &r);
        assert_api_error(&r, 400, "HSS.0001", BAD[i].part);
        http_resp_free(&r);
    }
    /* unknown ids: 404 naming id */
    static const char *const MISSING[] = {"/999999", "/0", "/abc", "/-3"};
    for (size_t i = 0; i < 4; i++) {
        reg(admin1, "P1", "PUT", MISSING[i], NULL, "{\"protocol\":\"http\"}", &r);
        assert_api_error(&r, 404, "HSS.0011", "id");
        http_resp_free(&r);
    }
    list(admin1, "P1", "registry_name=upd", &r);
    it = json_array_get(json_object_get(r.json, "data_list"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "registry_addr")),
                        "new.example:5000");
    assert_string_equal(json_string_value(json_object_get(it, "protocol")), "https");
    http_resp_free(&r);
    free(suffix);
    assert_false(srv_log_contains(&S, PW_BAD));
    delete_all(admin1, "P1");
}

static void add_named(const char *project, const char *token, const char *name)
{
    char *body = h_strdupf("{\"registry_name\":\"%s\",\"registry_type\":\"Harbor\",\"protocol\":"
                           "\"https\",\"registry_addr\":\"h.example\"}",
                           name);
    add_ok(token, project, body);
    free(body);
}

static void test_delete_and_batch(void **state)
{
    (void)state;
    add_named("P1", admin1, "d1");
    add_named("P1", admin1, "d2");
    add_named("P1", admin1, "d3");
    char a[32], b[32], c[32];
    id_of(admin1, "P1", "d1", a);
    id_of(admin1, "P1", "d2", b);
    id_of(admin1, "P1", "d3", c);
    http_resp r;
    char *suffix = h_strdupf("/%s", a);
    reg(admin1, "P1", "DELETE", suffix, NULL, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(r.body, "{}");
    http_resp_free(&r);
    reg(admin1, "P1", "DELETE", suffix, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", "id");
    http_resp_free(&r);
    free(suffix);
    assert_int_equal(list(admin1, "P1", NULL, NULL), 2);

    /* all or nothing: one missing id deletes none */
    char *body = h_strdupf("{\"ids\":[\"%s\",\"%s\",\"%s\"]}", b, a, c);
    reg(admin1, "P1", "POST", "/batch-delete", NULL, body, &r);
    assert_api_error(&r, 404, "HSS.0011", "ids");
    http_resp_free(&r);
    free(body);
    assert_int_equal(list(admin1, "P1", NULL, NULL), 2);
    body = h_strdupf("{\"ids\":[\"%s\",\"%s\"]}", b, b);
    reg(admin1, "P1", "POST", "/batch-delete", NULL, body, &r);
    assert_api_error(&r, 400, "HSS.0001", "ids[1]");
    http_resp_free(&r);
    free(body);
    static const char *const BAD[] = {"{}", "{\"ids\":[]}", "{\"ids\":\"1\"}", "{\"ids\":[1]}"};
    for (size_t i = 0; i < 4; i++) {
        reg(admin1, "P1", "POST", "/batch-delete", NULL, BAD[i], &r);
        assert_api_error(&r, 400, "HSS.0001", "ids");
        http_resp_free(&r);
    }
    /* 101 ids: over the bound before any lookup */
    char *many = h_strdupf("{\"ids\":[\"1\"");
    for (int i = 2; i <= 101; i++) {
        char *next = h_strdupf("%s,\"%d\"", many, i);
        free(many);
        many = next;
    }
    body = h_strdupf("%s]}", many);
    free(many);
    reg(admin1, "P1", "POST", "/batch-delete", NULL, body, &r);
    assert_api_error(&r, 400, "HSS.0001", "ids");
    http_resp_free(&r);
    free(body);
    assert_int_equal(list(admin1, "P1", NULL, NULL), 2);

    body = h_strdupf("{\"ids\":[\"%s\",\"%s\"]}", c, b);
    reg(admin1, "P1", "POST", "/batch-delete", NULL, body, &r);
    assert_status(&r, 200);
    assert_string_equal(r.body, "{}");
    http_resp_free(&r);
    free(body);
    assert_int_equal(list(admin1, "P1", NULL, NULL), 0);
}

static void test_roles_and_isolation(void **state)
{
    (void)state;
    add_named("P1", admin1, "mine");
    add_named("P2", admin2, "mine"); /* names are unique per project only */
    char id1[32];
    id_of(admin1, "P1", "mine", id1);
    const char *body = "{\"registry_name\":\"r\",\"registry_type\":\"Harbor\",\"protocol\":"
                       "\"https\",\"registry_addr\":\"h\"}";
    http_resp r;
    /* reader and writer may list, not change */
    const char *const TOKENS[] = {reader1, writer1};
    char *suffix = h_strdupf("/%s", id1);
    char *batch = h_strdupf("{\"ids\":[\"%s\"]}", id1);
    for (size_t i = 0; i < 2; i++) {
        reg(TOKENS[i], "P1", "POST", NULL, NULL, body, &r);
        assert_api_error(&r, 403, "HSS.0013", NULL);
        http_resp_free(&r);
        reg(TOKENS[i], "P1", "PUT", suffix, NULL, "{\"protocol\":\"http\"}", &r);
        assert_api_error(&r, 403, "HSS.0013", NULL);
        http_resp_free(&r);
        reg(TOKENS[i], "P1", "DELETE", suffix, NULL, NULL, &r);
        assert_api_error(&r, 403, "HSS.0013", NULL);
        http_resp_free(&r);
        reg(TOKENS[i], "P1", "POST", "/batch-delete", NULL, batch, &r);
        assert_api_error(&r, 403, "HSS.0013", NULL);
        http_resp_free(&r);
        assert_int_equal(list(TOKENS[i], "P1", NULL, NULL), 1);
    }
    /* another project's admin: its own list; P1's id is not there (404) */
    assert_int_equal(list(admin2, "P2", NULL, NULL), 1);
    reg(admin2, "P2", "PUT", suffix, NULL, "{\"protocol\":\"http\"}", &r);
    assert_api_error(&r, 404, "HSS.0011", "id");
    http_resp_free(&r);
    reg(admin2, "P2", "DELETE", suffix, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", "id");
    http_resp_free(&r);
    reg(admin2, "P2", "POST", "/batch-delete", NULL, batch, &r);
    assert_api_error(&r, 404, "HSS.0011", "ids");
    http_resp_free(&r);
    /* and P1's path with P2's credentials: the project check (403) */
    reg(admin2, "P1", "GET", NULL, NULL, NULL, &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    /* without credentials */
    reg(NULL, "P1", "GET", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    list(admin1, "P1", NULL, &r);
    assert_non_null(strstr(r.body, "\"protocol\":\"https\""));
    http_resp_free(&r);
    free(suffix), free(batch);
    delete_all(admin1, "P1");
    delete_all(admin2, "P2");
}

static void test_project_bound(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%03d", i);
        add_named("P2", admin2, name);
    }
    http_resp r;
    reg(admin2, "P2", "POST", NULL, NULL,
        "{\"registry_name\":\"one-more\",\"registry_type\":\"Harbor\",\"protocol\":\"https\","
        "\"registry_addr\":\"h\"}",
        &r);
    assert_api_error(&r, 400, "HSS.0001", "100");
    http_resp_free(&r);
    assert_int_equal(list(admin2, "P2", "limit=200", &r), 100);
    assert_int_equal(json_array_size(json_object_get(r.json, "data_list")), 100);
    http_resp_free(&r);
    delete_all(admin2, "P2");
}

/* Searches the file's bytes for needle; false if the file does not exist. */
static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 1 << 20, len = 0, n;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
        }
    }
    fclose(f);
    bool found = memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* Whether any file directly in dir has needle in its bytes. */
static bool dir_has(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = h_strdupf("%s/%s", dir, e->d_name);
        found = file_has(p, needle);
        free(p);
    }
    closedir(d);
    return found;
}

/* The directory of the files PostgreSQL keeps the database uri in
 * (<data_directory>/base/<oid>), everything committed written there
 * first (CHECKPOINT: the cluster's superuser is the test's, pg_cluster.sh). */
static void pg_files_of(const char *uri, char *out, size_t size)
{
    db_conn *c = NULL;
    imgsec_err err = {0};
    assert_int_equal(db_open(uri, &c, &err), IMGSEC_OK);
    assert_int_equal(db_exec(c, "CHECKPOINT", "checkpoint", &err), IMGSEC_OK);
    db_stmt *q = db_prepare(c, "SELECT current_setting('data_directory'), oid FROM pg_database "
                               "WHERE datname = current_database()", false, "where", &err);
    assert_non_null(q);
    assert_int_equal(db_step(q), DB_ROW);
    snprintf(out, size, "%s/base/%lld", db_column_text(q, 0), (long long)db_column_int64(q, 1));
    db_finalize(q);
    db_close(c);
}

static void test_password_sealed(void **state)
{
    (void)state;
    add_ok(admin1, "P1",
           "{\"registry_name\":\"sealed\",\"registry_type\":\"Jfrog\",\"protocol\":\"https\","
           "\"registry_addr\":\"jf.example\",\"registry_username\":\"svc\","
           "\"registry_password\":\"" PW1 "\"}");
    char id[32];
    id_of(admin1, "P1", "sealed", id);
    char *suffix = h_strdupf("/%s", id);
    http_resp r;
    reg(admin1, "P1", "PUT", suffix, NULL,
        "{\"registry_username\":\"svc2\",\"registry_password\":\"" PW2 "\"}", &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(suffix);
    /* the user name is stored as given (a control that the search works) */
    const char *const PWS[] = {PW1, PW2};
    if (db_uri_is_pg(S.db)) {
        char base[H_PATH_MAX];
        pg_files_of(S.db, base, sizeof base);
        assert_true(dir_has(base, "jf.example"));
        for (size_t i = 0; i < 2; i++)
            assert_false(dir_has(base, PWS[i]));
    } else {
        char *wal = h_strdupf("%s-wal", S.db);
        assert_true(file_has(S.db, "jf.example") || file_has(wal, "jf.example"));
        for (size_t i = 0; i < 2; i++) {
            assert_false(file_has(S.db, PWS[i]));
            assert_false(file_has(wal, PWS[i]));
        }
        free(wal);
    }
    for (size_t i = 0; i < 2; i++)
        assert_false(srv_log_contains(&S, PWS[i]));
    delete_all(admin1, "P1");
}

/* imgsec registry add|list|rm on the server's database: the server answers
 * what the command line wrote, and the password stays sealed. */
static void test_cli(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&S, PW2, &out, "registry", "add", "--db", S.db, "--project", "P1",
                             "--name", "from-cli", "--type", "Jfrog", "--addr", "jf.cli:8082",
                             "--username", "svc", NULL),
                     0);
    free(out);
    http_resp r;
    assert_int_equal(list(reader1, "P1", NULL, &r), 1);
    json_t *it = json_array_get(json_object_get(r.json, "data_list"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "registry_name")), "from-cli");
    assert_string_equal(json_string_value(json_object_get(it, "registry_type")), "Jfrog");
    assert_string_equal(json_string_value(json_object_get(it, "protocol")), "https");
    assert_string_equal(json_string_value(json_object_get(it, "registry_username")), "svc");
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(it, "id")));
    http_resp_free(&r);
    /* the API's checks, the API's message */
    assert_int_equal(cli_run(&S, NULL, &out, "registry", "add", "--db", S.db, "--project", "P1",
                             "--name", "bad", "--type", "Docker", "--addr", "h", NULL),
                     1);
    assert_non_null(strstr(out, "registry_type"));
    free(out);
    assert_int_equal(cli_run(&S, NULL, &out, "registry", "list", "--db", S.db, "--project", "P1",
                             NULL),
                     0);
    assert_non_null(strstr(out, "from-cli  Jfrog  https://jf.cli:8082  user=svc  accessing"));
    assert_null(strstr(out, PW2));
    free(out);
    char *wal = h_strdupf("%s-wal", S.db);
    assert_false(file_has(S.db, PW2));
    assert_false(file_has(wal, PW2));
    free(wal);
    assert_int_equal(cli_run(&S, NULL, &out, "registry", "rm", "--db", S.db, "--project", "P2",
                             "--id", id, NULL),
                     1); /* another project's */
    free(out);
    assert_int_equal(cli_run(&S, NULL, &out, "registry", "rm", "--db", S.db, "--project", "P1",
                             "--id", id, NULL),
                     0);
    free(out);
    assert_int_equal(list(reader1, "P1", NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_and_list, clean),
        cmocka_unit_test_setup(test_bad_input_changes_nothing, clean),
        cmocka_unit_test_setup(test_update, clean),
        cmocka_unit_test_setup(test_delete_and_batch, clean),
        cmocka_unit_test_setup(test_roles_and_isolation, clean),
        cmocka_unit_test_setup(test_project_bound, clean),
        cmocka_unit_test_setup(test_password_sealed, clean),
        cmocka_unit_test_setup(test_cli, clean),
    };
    int failed = cmocka_run_group_tests_name("registries", tests, setup, teardown);
    return failed + harness_failures();
}
