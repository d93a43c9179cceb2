/* test_health_and_errors.c - what every response shares (errors.md):
 * /healthz, X-Request-Id, the 404 and 405 rows, the JSON Content-Type,
 * the per-request log line, and start-up from the environment
 * (README.md "Running").
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_CT H_JSON_CT
#define STAT_PATH "/v5/P1/image/security-report/statistic"

static srv_t S;
static char *T_ADMIN; /* admin on P1, every EP */

/* Starts s with an admin of P1 (every EP); its token into *token. */
static int start_with_admin(srv_t *s, char **token)
{
    if (srv_start(s) != 0)
        return -1;
    *token = user_token(s, "acme", "root", "root-pw-123", "P1", "admin", "all");
    return *token ? 0 : -1;
}

static int stop_with_admin(srv_t *s, char **token)
{
    free(*token);
    *token = NULL;
    return srv_stop(s, true); /* 0 only if the server exited 0 */
}

static int setup(void **state)
{
    (void)state;
    return start_with_admin(&S, &T_ADMIN);
}

static int teardown(void **state)
{
    (void)state;
    return stop_with_admin(&S, &T_ADMIN);
}

static void assert_request_id(const http_resp *r)
{
    const char *id = http_header(r, "X-Request-Id");
    if (!id || http_header_count(r, "X-Request-Id") != 1 || !h_is_hex(id, 32)) {
        print_error("%s: want one X-Request-Id of 32+ hex chars, got %zu: \"%s\"\n", r->desc,
                    http_header_count(r, "X-Request-Id"), id ? id : "(none)");
        fail();
    }
}

static void assert_json_ct(const http_resp *r)
{
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strcmp(ct, JSON_CT) != 0) {
        print_error("%s (status %ld): want Content-Type %s, got \"%s\"\n", r->desc, r->status,
                    JSON_CT, ct ? ct : "(none)");
        fail();
    }
}

static void test_healthz(void **state)
{
    (void)state;
    http_req rq = {.method = "GET", .path = "/healthz"};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    json_t *want = json_pack("{s:s}", "status", "ok");
    if (!json_equal(r.json, want)) {
        print_error("healthz body: want {\"status\":\"ok\"}, got %s\n", r.body);
        fail();
    }
    json_decref(want);
    assert_json_ct(&r);
    assert_request_id(&r);
    http_resp_free(&r);
    /* the start logged nothing of libmicrohttpd's own (its logger was once
     * given after other options, and it complained at every start) */
    if (srv_log_contains(&S, "libmicrohttpd")) {
        char *log = srv_log(&S);
        print_error("imgsecd's log has a libmicrohttpd message:\n%s\n", log);
        free(log);
        fail();
    }
}

/* Routes that read no body bound it like token requests (64 KiB), not like
 * ingest: a request nobody authenticated cannot make the server hold
 * --max-ingest-bytes. 64 KiB is still accepted. */
static void test_bodyless_routes_bound_the_body(void **state)
{
    (void)state;
    char *ok = h_repeat('x', 64 * 1024), *big = h_repeat('x', 64 * 1024 + 1);
    http_req rq = {.method = "GET", .path = "/healthz", .body = ok, .body_len = strlen(ok),
                   .content_type = "text/plain"};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    rq.body = big;
    rq.body_len = strlen(big);
    http_do(&S, &rq, &r);
    assert_api_error(&r, 413, "HSS.0001", "65536 bytes");
    http_resp_free(&r);
    free(ok);
    free(big);
}

/* A POST without a body (no byte ever arrives) reads as an empty body on
 * every route that takes one: each answers its own 400, nothing crashes. */
static void test_absent_bodies_read_as_empty(void **state)
{
    (void)state;
    static const struct {
        const char *path, *query, *code, *part;
    } rows[] = {
        {STAT_PATH, "security_report_type=apps", "HSS.0001", "image_id_list"},
        {"/v5/P1/image/scan-results", NULL, "HSS.0002", "JSON"},
        {"/v5/P1/image/scan-results", "format=trivy", "HSS.0002", "JSON"},
        {"/v5/P1/image/security-report/export-tasks", NULL, "HSS.0001", "security_report_type"},
    };
    http_resp r;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_call(&S, "POST", rows[i].path, rows[i].query, T_ADMIN, S.region, NULL, NULL, &r);
        assert_api_error(&r, 400, rows[i].code, rows[i].part);
        http_resp_free(&r);
    }
    api_call(&S, "POST", "/v3/auth/tokens", NULL, NULL, NULL, NULL, NULL, &r);
    assert_keystone_error(&r, 400, "Bad Request");
    http_resp_free(&r);
}

/* One request of each kind; every answer has a fresh X-Request-Id. */
static void test_request_ids(void **state)
{
    (void)state;
    enum { N = 8 };
    char ids[N][128];
    http_resp r;
    for (int i = 0; i < N; i++) {
        switch (i) {
        case 0:
        case 1:
            api_call(&S, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL, &r);
            assert_status(&r, 200);
            break;
        case 2:
            api_call(&S, "GET", "/no/such/route", NULL, NULL, NULL, NULL, NULL, &r);
            assert_status(&r, 404);
            break;
        case 3:
            api_call(&S, "GET", STAT_PATH, "security_report_type=apps", T_ADMIN, S.region, NULL,
                     NULL, &r);
            assert_status(&r, 405);
            break;
        case 4:
            api_call(&S, "POST", STAT_PATH, "security_report_type=apps", NULL, S.region,
                     "{\"operate_all\":true}", "application/json", &r);
            assert_status(&r, 401);
            break;
        case 5:
            api_call(&S, "POST", STAT_PATH, "security_report_type=apps", T_ADMIN, S.region,
                     "{\"operate_all\":true}", "application/json", &r);
            assert_status(&r, 200);
            break;
        case 6:
            api_call(&S, "POST", STAT_PATH, "security_report_type=apps", T_ADMIN, NULL,
                     "{\"operate_all\":true}", "application/json", &r);
            assert_status(&r, 400);
            break;
        default:
            api_call(&S, "POST", "/v3/auth/tokens", NULL, NULL, NULL, "{}", "application/json",
                     &r);
            break;
        }
        assert_request_id(&r);
        snprintf(ids[i], sizeof ids[i], "%s", http_header(&r, "X-Request-Id"));
        http_resp_free(&r);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (strcmp(ids[i], ids[j]) == 0) {
                print_error("requests %d and %d share X-Request-Id %s\n", i, j, ids[i]);
                fail();
            }
}

/* Unknown routes: 404 APIGW.0101, decided before any credential check. */
static void test_not_found(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
    } rows[] = {
        {"GET", "/nothing/here"}, /* "/" redirects to the console (test_console.c) */
        {"GET", "/nope"},
        {"GET", "/healthz/x"},
        {"POST", "/v5"},
        {"POST", "/v5/P1"},
        {"POST", "/v5/P1/image"},
        {"POST", "/v5/P1/image/security-report"},
        {"POST", "/v5/P1/image/security-report/statistics"},
        {"POST", "/v5/P1/image/security-report/statistic/extra"},
        {"POST", "/v4/P1/image/security-report/statistic"},
        {"POST", "/v5/P1/image/Security-Report/statistic"},
        {"POST", "/v5/P1/image/scan-result"},
        {"DELETE", "/v5/P1/image/scan-results/1/records"},
        {"POST", "/v3/auth"},
        {"POST", "/v3/auth/tokens/extra"},
        {"GET", "/v3/auth/token"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (int with_token = 0; with_token < 2; with_token++) {
            http_resp r;
            api_call(&S, rows[i].method, rows[i].path, "security_report_type=apps",
                     with_token ? T_ADMIN : NULL, with_token ? S.region : NULL,
                     strcmp(rows[i].method, "POST") == 0 ? "{}" : NULL,
                     strcmp(rows[i].method, "POST") == 0 ? "application/json" : NULL, &r);
            assert_api_error(&r, 404, "APIGW.0101", NULL);
            assert_json_ct(&r);
            assert_request_id(&r);
            http_resp_free(&r);
        }
    }
}

/* True if the comma-separated Allow value lists method. */
static bool allow_has(const char *allow, const char *method)
{
    if (!allow)
        return false;
    size_t n = strlen(method);
    const char *p = allow;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncmp(p, method, n) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Known route, wrong method: 405 APIGW.0101 with Allow, before credentials. */
static void test_method_not_allowed(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *allow1, *allow2, *not_allowed;
        bool v5;
    } rows[] = {
        {"GET", STAT_PATH, "POST", NULL, "GET", true},
        {"PUT", STAT_PATH, "POST", NULL, "PUT", true},
        {"DELETE", STAT_PATH, "POST", NULL, "DELETE", true},
        {"GET", "/v5/P1/image/scan-results", "POST", NULL, "GET", true},
        {"DELETE", "/v5/P1/image/scan-results", "POST", NULL, "DELETE", true},
        {"POST", "/v5/P1/image/scan-results/12", "DELETE", NULL, "POST", true},
        {"PUT", "/v5/P1/image/scan-results/12", "DELETE", NULL, "PUT", true},
        {"POST", "/healthz", "GET", NULL, "POST", true},
        {"DELETE", "/healthz", "GET", NULL, "DELETE", true},
        {"PUT", "/v3/auth/tokens", "POST", "DELETE", "PUT", false},
        {"PATCH", "/v3/auth/tokens", "POST", "DELETE", "PATCH", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_resp r;
        bool body = strcmp(rows[i].method, "POST") == 0 || strcmp(rows[i].method, "PUT") == 0 ||
                    strcmp(rows[i].method, "PATCH") == 0;
        api_call(&S, rows[i].method, rows[i].path, NULL, NULL, NULL, body ? "{}" : NULL,
                 body ? "application/json" : NULL, &r);
        if (rows[i].v5)
            assert_api_error(&r, 405, "APIGW.0101", NULL);
        else
            assert_status(&r, 405);
        const char *allow = http_header(&r, "Allow");
        if (!allow_has(allow, rows[i].allow1) ||
            (rows[i].allow2 && !allow_has(allow, rows[i].allow2)) ||
            allow_has(allow, rows[i].not_allowed)) {
            print_error("%s: Allow should list %s%s%s and not %s, got \"%s\"\n", r.desc,
                        rows[i].allow1, rows[i].allow2 ? " and " : "",
                        rows[i].allow2 ? rows[i].allow2 : "", rows[i].not_allowed,
                        allow ? allow : "(none)");
            fail();
        }
        assert_request_id(&r);
        http_resp_free(&r);
    }
}

/* Every JSON body comes with Content-Type application/json;charset=UTF-8. */
static void test_content_type(void **state)
{
    (void)state;
    http_resp r;
    /* 201 token */
    api_token_req(&S, "acme", "root", "root-pw-123", "P1", false, &r);
    assert_status(&r, 201);
    assert_json_ct(&r);
    http_resp_free(&r);
    /* 401 Keystone */
    api_token_req(&S, "acme", "root", "wrong", "P1", false, &r);
    assert_status(&r, 401);
    assert_json_ct(&r);
    http_resp_free(&r);
    /* 200 ingest, 200 statistic, 200 delete */
    static const char doc[] =
        "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"ct\",\"image_version\":\"1\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a\"}]}";
    api_ingest(&S, T_ADMIN, "P1", "ct", doc, false, &r);
    assert_status(&r, 200);
    assert_json_ct(&r);
    char ids[1][32];
    assert_int_equal(ingest_ids(&r, ids, 1), 1);
    http_resp_free(&r);
    api_call(&S, "POST", STAT_PATH, "security_report_type=apps&enterprise_project_id=ct", T_ADMIN,
             S.region, "{\"operate_all\":true}", "application/json", &r);
    assert_status(&r, 200);
    assert_json_ct(&r);
    http_resp_free(&r);
    char *path = h_strdupf("/v5/P1/image/scan-results/%s", ids[0]);
    api_call(&S, "DELETE", path, NULL, T_ADMIN, S.region, NULL, NULL, &r);
    assert_status(&r, 200);
    assert_json_ct(&r);
    http_resp_free(&r);
    /* 404 HSS.0011 */
    api_call(&S, "DELETE", path, NULL, T_ADMIN, S.region, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    assert_json_ct(&r);
    http_resp_free(&r);
    free(path);
    /* 400, 401, 403 */
    api_call(&S, "POST", STAT_PATH, "security_report_type=bogus", T_ADMIN, S.region, "{}",
             "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "security_report_type");
    assert_json_ct(&r);
    http_resp_free(&r);
    api_call(&S, "POST", STAT_PATH, "security_report_type=apps", "not-a-token", S.region, "{}",
             "application/json", &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    assert_json_ct(&r);
    http_resp_free(&r);
    api_call(&S, "POST", "/v5/P2/image/security-report/statistic", "security_report_type=apps",
             T_ADMIN, S.region, "{}", "application/json", &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    assert_json_ct(&r);
    http_resp_free(&r);
    /* 405, 404 route */
    api_call(&S, "GET", STAT_PATH, NULL, NULL, NULL, NULL, NULL, &r);
    assert_status(&r, 405);
    assert_json_ct(&r);
    http_resp_free(&r);
    api_call(&S, "GET", "/nope", NULL, NULL, NULL, NULL, NULL, &r);
    assert_status(&r, 404);
    assert_json_ct(&r);
    http_resp_free(&r);
}

/* One log line per request: method, path without query values, status,
 * request id; never the body, query values or the token. */
static void test_request_log(void **state)
{
    (void)state;
    static const char marker_q[] = "epqmarker7731";
    static const char marker_b[] = "bodymarker9912";
    char *query = h_strdupf("security_report_type=apps&enterprise_project_id=%s", marker_q);
    char *body = h_strdupf("{\"operate_all\":true,\"image_name\":\"%s\"}", marker_b);
    http_resp r;
    api_call(&S, "POST", STAT_PATH, query, T_ADMIN, S.region, body, "application/json", &r);
    assert_status(&r, 200);
    char rid[128];
    snprintf(rid, sizeof rid, "%s", http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    free(query);
    free(body);

    if (!srv_log_wait_for(&S, rid, 3000)) {
        print_error("request id %s never appeared in the log %s\n", rid, S.log);
        fail();
    }
    char *log = srv_log(&S);
    int lines = 0;
    for (char *line = log, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!strstr(line, rid))
            continue;
        lines++;
        if (!strstr(line, "POST") || !strstr(line, STAT_PATH) || !strstr(line, "200")) {
            print_error("log line lacks method, path or status: %s\n", line);
            fail();
        }
    }
    assert_int_equal(lines, 1);
    free(log);
    assert_false(srv_log_contains(&S, marker_q));
    assert_false(srv_log_contains(&S, marker_b));
    assert_false(srv_log_contains(&S, T_ADMIN));
    assert_false(srv_log_contains(&S, "root-pw-123"));
}

/* IMGSEC_DB, IMGSEC_LISTEN and IMGSEC_REGION configure the server too. */
static void test_env_config(void **state)
{
    (void)state;
    srv_t e;
    assert_int_equal(srv_init(&e), 0);
    snprintf(e.region, sizeof e.region, "env-region-9");
    assert_int_equal(srv_start_mode(&e, SRV_ENV), 0);
    struct stat sb;
    if (!e.pg_name[0]) /* the database is where IMGSEC_DB says */
        assert_int_equal(stat(e.db, &sb), 0);
    assert_int_equal(cli_user_add(&e, "acme", "eve", "eve-pw-1", "P1", "reader", "0"), 0);
    char *tok = get_token(&e, "acme", "eve", "eve-pw-1", "P1");
    assert_non_null(tok);
    stat_res st = api_stat(&e, tok, "P1", "apps", NULL, "{\"operate_all\":true}");
    assert_stat_total(st, 0, "env-configured server, its region");
    http_resp r;
    api_call(&e, "POST", STAT_PATH, "security_report_type=apps", tok, H_REGION,
             "{\"operate_all\":true}", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "region");
    http_resp_free(&r);
    free(tok);
    assert_int_equal(srv_stop(&e, true), 0);
}

/* HTTP header names are case-insensitive; query values are percent-decoded. */
static void test_http_basics(void **state)
{
    (void)state;
    char *tok = h_strdupf("x-auth-token: %s", T_ADMIN);
    char *reg = h_strdupf("REGION: %s", S.region);
    const char *hdrs[] = {tok, reg, NULL};
    http_req rq = {.method = "POST", .path = STAT_PATH,
                   .query = "security_report_type=apps&enterprise_project_id=all%5Fgranted%5Feps",
                   .headers = hdrs, .body = "{\"operate_all\":true}", .body_len = 20,
                   .content_type = "application/json"};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    assert_true(json_is_integer(json_object_get(r.json, "total_num")));
    http_resp_free(&r);
    rq.query = "security_report_type=non%2Dcompliant%2Dapp";
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(tok);
    free(reg);
}

/* Reads what the server answers on fd within timeout_ms (or until it closes). */
static size_t read_answer(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t got = 0;
    while (got + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* Reads until the bytes end with end (or size - 1 bytes, the peer's
 * close, or timeout_ms without a byte), NUL-terminated. */
static size_t read_answer_until(int fd, char *buf, size_t size, const char *end, int timeout_ms)
{
    size_t got = 0, el = strlen(end);
    buf[0] = '\0';
    while (got + 1 < size && (got < el || memcmp(buf + got - el, end, el) != 0)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t n = read(fd, buf + got, 1); /* byte by byte: nothing past end is taken */
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    return got;
}

/* Broken HTTP never brings the server down, and is never answered with
 * success or with 500. */
static void test_malformed_http(void **state)
{
    (void)state;
    char *huge_header = h_repeat('h', 200000);
    char *long_path = h_repeat('p', 100000);
    char *cases[] = {
        h_strdupf("GARBAGE\r\n\r\n"),
        h_strdupf("GET / HTTP/9.9\r\n\r\n"),
        h_strdupf("GET\r\n\r\n"),
        h_strdupf("\r\n\r\n\r\n"),
        h_strdupf("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", huge_header),
        h_strdupf("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", long_path),
        h_strdupf("POST %s?security_report_type=apps HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", STAT_PATH),
        h_strdupf("POST %s?security_report_type=apps HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", STAT_PATH),
        h_strdupf("POST %s?security_report_type=apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n", STAT_PATH),
        h_strdupf("POST %s?security_report_type=apps&%%zz=%%%%&&=& HTTP/1.1\r\nHost: x\r\nregion: %s\r\nX-Auth-Token: %s\r\nContent-Length: 2\r\n\r\n{}", STAT_PATH, S.region, T_ADMIN),
        h_strdupf("POST /v5/%%00/image/security-report/statistic HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        h_strdupf("DELETE /v5/P1/image/scan-results/%%2e%%2e HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nregion: %s\r\n\r\n", T_ADMIN, S.region),
        h_strdupf("DELETE /v5/P1/image/scan-results/99999999999999999999999 HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nregion: %s\r\n\r\n", T_ADMIN, S.region),
        h_strdupf("POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"auth\""),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = srv_connect(&S);
        assert_true(fd >= 0);
        h_send_all(fd, cases[i], strlen(cases[i]));
        char buf[4096];
        read_answer(fd, buf, sizeof buf, 500);
        close(fd);
        /* no success, and no 500 (which means "unexpected", errors.md);
         * protocol-level answers such as 400, 413, 431 or 505 are fine */
        if (strncmp(buf, "HTTP/1.", 7) == 0 &&
            (buf[9] == '2' || strncmp(buf + 9, "500", 3) == 0)) {
            print_error("case %zu: unexpected answer %.200s\n", i, buf);
            fail();
        }
        free(cases[i]);
    }
    free(huge_header);
    free(long_path);
    http_resp r;
    api_call(&S, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
}

/* ---- SIGTERM drains a request in flight (its own server) ---- */

static srv_t D;
static char *T_D;

static int setup_drain(void **state)
{
    (void)state;
    return start_with_admin(&D, &T_D);
}

static int teardown_drain(void **state)
{
    (void)state;
    return stop_with_admin(&D, &T_D);
}

/* Headers and half the body are sent, then SIGTERM, then the rest: the
 * request still gets its full answer, and the server then exits 0. */
static void test_sigterm_drains(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"drain\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"}]}";
    size_t len = strlen(doc);
    char *head = h_strdupf("POST /v5/P1/image/scan-results?enterprise_project_id=dr HTTP/1.1\r\n"
                           "Host: 127.0.0.1:%d\r\nX-Auth-Token: %s\r\nregion: %s\r\n"
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                           "Expect: 100-continue\r\nConnection: close\r\n\r\n",
                           D.port, T_D, D.region, len);
    int fd = srv_connect(&D);
    assert_true(fd >= 0);
    h_send_exact(fd, head, strlen(head));
    /* the server's 100 Continue: it has read the head and begun the
     * request (in flight) before the SIGTERM, however loaded the machine
     * (a fixed sleep alone once lost that race under load) */
    char cont[256];
    read_answer_until(fd, cont, sizeof cont, "\r\n\r\n", 10000);
    if (strncmp(cont, "HTTP/1.1 100", 12) != 0) {
        print_error("want 100 Continue before the body, got: %.200s\n", cont);
        fail();
    }
    h_send_exact(fd, doc, len / 2);
    h_sleep_ms(200);
    assert_int_equal(kill(D.pid, SIGTERM), 0);
    h_sleep_ms(200);
    h_send_exact(fd, doc + len / 2, len - len / 2);

    char buf[8192];
    read_answer(fd, buf, sizeof buf, 10000);
    close(fd);
    free(head);
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !strstr(buf, "\"images\"")) {
        print_error("request in flight at SIGTERM: want 200 with images, got: %.600s\n", buf);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_bodyless_routes_bound_the_body),
        cmocka_unit_test(test_absent_bodies_read_as_empty),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_request_log),
        cmocka_unit_test(test_env_config),
        cmocka_unit_test(test_http_basics),
        cmocka_unit_test(test_malformed_http),
    };
    int failed = cmocka_run_group_tests_name("health_and_errors", tests, setup, teardown);
    const struct CMUnitTest drain[] = {
        cmocka_unit_test(test_sigterm_drains),
    };
    failed += cmocka_run_group_tests_name("sigterm", drain, setup_drain, teardown_drain);
    return failed + harness_failures();
}
