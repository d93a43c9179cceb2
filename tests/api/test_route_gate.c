/* test_route_gate.c - what every route requires, as the contract declares
 * it (sdk-routes.md's region column; auth.md's roles), driven over HTTP:
 * each route x (no region header, a wrong one, the right one) x (reader,
 * writer, admin) answers either the gate's refusal or the route's own
 * status, nothing else. The table below is written from the contract,
 * not read from the server, so a route declared wrongly in router.c
 * fails here.
 *
 *   no region:    R routes 400 HSS.0001 "region"; o and - routes go on
 *   wrong region: 400 HSS.0001 "region" on every route (before the role)
 *   then role:    below the route's minimum 403 HSS.0013
 *   then:         the route's own answer (pass)
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static srv_t S;
static char *T[3]; /* reader, writer, admin: P1, every EP */
static const char *ROLE_NAMES[3] = {"reader", "writer", "admin"};

#define DOC "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"g\"," \
            "\"scan_status\":\"success\"}}"
#define NO_TASK "0123456789abcdef0123456789abcdef"

typedef struct {
    const char *method;
    const char *path;
    const char *query;
    const char *body;  /* NULL: none */
    char region;       /* 'R', 'o', '-' as in sdk-routes.md */
    int min_role;      /* index into T */
    long pass;         /* status once admitted */
} gate_row;

static const gate_row ROWS[] = {
    {"POST", "/v5/P1/image/security-report/statistic", "security_report_type=apps",
     "{\"operate_all\":true}", 'R', 0, 200},
    {"POST", "/v5/P1/image/security-report/export-tasks", NULL,
     "{\"export_size\":10,\"security_report_type\":\"apps\",\"operate_all\":true}", '-', 1, 200},
    {"POST", "/v5/P1/image/baseline/export", "export_size=10", "{\"operate_all\":true}", 'o', 1,
     200},
    {"POST", "/v5/P1/image/local-vulnerability/export", "export_size=10", "{\"operate_all\":true}",
     'R', 1, 200},
    {"GET", "/v5/P1/export-task/" NO_TASK, NULL, NULL, 'o', 0, 404},
    {"GET", "/v5/P1/download/" NO_TASK, NULL, NULL, 'o', 0, 404},
    {"POST", "/v5/P1/image/scan-results", "enterprise_project_id=g", DOC, 'R', 1, 200},
    {"DELETE", "/v5/P1/image/scan-results/987654321", NULL, NULL, 'R', 1, 404},
    {"GET", "/v5/P1/image/registries/images", NULL, NULL, '-', 0, 200},
    {"GET", "/v5/P1/image/cicd/images", NULL, NULL, '-', 0, 200},
    {"GET", "/v5/P1/image/local-repositories", NULL, NULL, '-', 0, 200},
};

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", i);
        T[i] = user_token(&S, "acme", name, "gate-pw-123", "P1", ROLE_NAMES[i], "all");
        if (!T[i])
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        free(T[i]);
        T[i] = NULL;
    }
    return srv_stop(&S, true);
}

/* One call; prints and counts a mismatch instead of stopping, so one run
 * lists every deviation. */
static int expect(const gate_row *row, int role, const char *region, long status,
                  const char *code, const char *part)
{
    http_resp r;
    api_call(&S, row->method, row->path, row->query, T[role], region, row->body,
             row->body ? "application/json" : NULL, &r);
    const char *got_code = "";
    const char *got_msg = "";
    if (r.json) {
        json_t *c = json_object_get(r.json, "error_code"), *m = json_object_get(r.json, "error_msg");
        got_code = json_is_string(c) ? json_string_value(c) : "";
        got_msg = json_is_string(m) ? json_string_value(m) : "";
    }
    int bad = r.status != status || (code && strcmp(got_code, code) != 0) ||
              (part && !strstr(got_msg, part));
    if (bad)
        fprintf(stderr, "%s %s as %s, region %s: want %ld %s, got %ld %s\n", row->method,
                row->path, ROLE_NAMES[role], region ? region : "(none)", status,
                code ? code : "", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return bad;
}

static void test_every_route_region_and_role(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const gate_row *row = &ROWS[i];
        for (int role = 0; role < 3; role++) {
            bad += expect(row, role, "elsewhere-2", 400, "HSS.0001", "region");
            long admitted = role < row->min_role ? 403 : row->pass;
            const char *acode = role < row->min_role ? "HSS.0013" : NULL;
            if (row->region == 'R')
                bad += expect(row, role, NULL, 400, "HSS.0001", "region");
            else
                bad += expect(row, role, NULL, admitted, acode, NULL);
            bad += expect(row, role, S.region, admitted, acode, NULL);
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_region_and_role),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
