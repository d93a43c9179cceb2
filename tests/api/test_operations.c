/* test_operations.c - the operators' routes (docs/operations.md): /readyz
 * and /metrics on a real imgsecd.
 *
 * What is checked: after N requests of a route its counter in /metrics
 * for that status went up by exactly N and no other status of it moved,
 * and its latency histogram's _count and +Inf bucket went up by N too (a
 * request is counted as its reply ends, so the test scrapes until the
 * count arrived, then asserts it exactly); requests no route matched are
 * counted under the empty route; a scrape is counted by a later one; a
 * route never called has its histogram, all zero; the index gauges give
 * the ingested images and records exactly (0 and 0 once the image is
 * deleted), and the lag is 0 once /readyz caught up; the result cache
 * counts one miss then three hits for the same statistic asked four
 * times; the queue gauges give the export queue's configured size;
 * /readyz says 200 with the index's size when ready, and 503 with
 * Retry-After once SIGTERM began the drain (asked on a kept-alive
 * connection, while another request keeps the drain going); /metrics is
 * answered 403 HSS.0013 to a client on this machine's non-loopback
 * address and 200 to loopback, and 200 to both with --metrics-from any
 * (IMGSEC_METRICS_FROM), while /healthz and /readyz answer both.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_CT "text/plain; version=0.0.4; charset=utf-8"
#define HEALTHZ "{method=\"GET\",route=\"/healthz\""

static srv_t S;
static char *T_ADMIN;

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADMIN = user_token(&S, "acme", "root", "root-pw-123", "P1", "admin", "all");
    return T_ADMIN ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADMIN);
    T_ADMIN = NULL;
    return srv_stop(&S, true);
}

/* The body of GET /metrics (malloc'd), checked to be 200 in the text format. */
static char *scrape(void)
{
    http_req rq = {.method = "GET", .path = "/metrics"};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    const char *ct = http_header(&r, "Content-Type");
    if (!ct || strcmp(ct, METRICS_CT) != 0) {
        print_error("/metrics Content-Type: want %s, got %s\n", METRICS_CT, ct ? ct : "(none)");
        fail();
    }
    char *body = strdup(r.body);
    http_resp_free(&r);
    assert_non_null(body);
    return body;
}

/* The value of the series (name and labels exactly as written), or -1
 * when the text has no such line. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

/* 0 for a series not (yet) written, as for a counter never incremented. */
static double count_of(const char *text, const char *series)
{
    double v = value_of(text, series);
    return v < 0 ? 0 : v;
}

/* A request is counted once its reply is sent (the access log's moment),
 * so the reply can reach the client a moment before its count does (when
 * the next request goes on another connection, to another thread).
 * Scrapes until each series[i] reached at least want[i] (only a server
 * that never counts takes the 10 s bound); the caller then asserts the
 * exact values. */
static char *scrape_until(const char *const *series, const double *want, size_t n)
{
    for (int tries = 0;; tries++) {
        char *text = scrape();
        size_t i = 0;
        while (i < n && count_of(text, series[i]) >= want[i])
            i++;
        if (i == n || tries == 500)
            return text;
        free(text);
        h_sleep_ms(20);
    }
}

static void get(const char *path, long want)
{
    http_req rq = {.method = "GET", .path = path};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_status(&r, want);
    http_resp_free(&r);
}

#define REQS(route_labels, code) "imgsec_http_requests_total" route_labels ",code=\"" code "\"}"
#define HIST(suffix, route_labels) "imgsec_http_request_duration_seconds_" suffix route_labels "}"

static void test_requests_counted_per_route_and_status(void **state)
{
    (void)state;
    char *before = scrape();
    for (int i = 0; i < 7; i++)
        get("/healthz", 200);
    for (int i = 0; i < 3; i++)
        get("/no/such/route", 404);
    const char *const series[] = {REQS(HEALTHZ, "200"), HIST("count", HEALTHZ),
                                  REQS("{method=\"\",route=\"\"", "404"),
                                  HIST("count", "{method=\"\",route=\"\"")};
    double want[4];
    for (size_t i = 0; i < 4; i++)
        want[i] = count_of(before, series[i]) + (i < 2 ? 7 : 3);
    char *after = scrape_until(series, want, 4);
    assert_int_equal((long)(count_of(after, REQS(HEALTHZ, "200")) -
                            count_of(before, REQS(HEALTHZ, "200"))), 7);
    assert_int_equal((long)count_of(after, REQS(HEALTHZ, "404")), 0);
    assert_int_equal((long)(count_of(after, REQS("{method=\"\",route=\"\"", "404")) -
                            count_of(before, REQS("{method=\"\",route=\"\"", "404"))), 3);
    /* the histogram counts the same requests: _count and +Inf agree */
    double c0 = value_of(before, HIST("count", HEALTHZ)), c1 = value_of(after, HIST("count", HEALTHZ));
    assert_true(c0 >= 0 && c1 >= 0);
    assert_int_equal((long)(c1 - c0), 7);
    assert_int_equal((long)value_of(after, HIST("bucket", HEALTHZ ",le=\"+Inf\"")), (long)c1);
    assert_int_equal((long)c1, (long)count_of(after, REQS(HEALTHZ, "200")));
    /* a scrape is counted by a later one, not by itself */
#define m "{method=\"GET\",route=\"/metrics\""
    assert_true(count_of(after, REQS(m, "200")) >= count_of(before, REQS(m, "200")) + 1);
    /* a route never called has its histogram, all zero */
#define dl "{method=\"GET\",route=\"/v5/{project_id}/download/{file_id}\""
    assert_int_equal((long)value_of(after, HIST("count", dl)), 0);
    assert_int_equal((long)value_of(after, HIST("bucket", dl ",le=\"0.0005\"")), 0);
#undef m
#undef dl
    free(before);
    free(after);
}

static void test_v5_statuses_counted(void **state)
{
    (void)state;
#define st "{method=\"POST\",route=\"/v5/{project_id}/image/security-report/statistic\""
    char *before = scrape();
    for (int i = 0; i < 4; i++) {
        stat_res r = api_stat(&S, T_ADMIN, "P1", "apps", "all_granted_eps", "{\"operate_all\":true}");
        assert_int_equal(r.status, 200);
    }
    for (int i = 0; i < 2; i++) {
        stat_res r = api_stat(&S, NULL, "P1", "apps", NULL, "{\"operate_all\":true}");
        assert_int_equal(r.status, 401);
    }
    const char *const series[] = {REQS(st, "200"), REQS(st, "401"), HIST("count", st)};
    double want[3] = {count_of(before, series[0]) + 4, count_of(before, series[1]) + 2,
                      count_of(before, series[2]) + 6};
    char *after = scrape_until(series, want, 3);
    assert_int_equal((long)(count_of(after, REQS(st, "200")) - count_of(before, REQS(st, "200"))), 4);
    assert_int_equal((long)(count_of(after, REQS(st, "401")) - count_of(before, REQS(st, "401"))), 2);
    assert_int_equal((long)(value_of(after, HIST("count", st)) - value_of(before, HIST("count", st))),
                     6);
#undef st
    /* the same statistic four times: one computed, three from the result cache */
    assert_int_equal((long)(value_of(after, "imgsec_result_cache_misses_total") -
                            value_of(before, "imgsec_result_cache_misses_total")), 1);
    assert_int_equal((long)(value_of(after, "imgsec_result_cache_hits_total") -
                            value_of(before, "imgsec_result_cache_hits_total")), 3);
    free(before);
    free(after);
}

static void test_index_gauges_and_ready(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"ops\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"},"
        "{\"app_name\":\"c\"}]}";
    http_resp r;
    char id[1][32];
    api_ingest(&S, T_ADMIN, "P1", "0", doc, false, &r);
    assert_status(&r, 200);
    assert_int_equal(ingest_ids(&r, id, 1), 1);
    http_resp_free(&r);

    http_req rq = {.method = "GET", .path = "/readyz"};
    http_do(&S, &rq, &r);
    assert_status(&r, 200);
    json_t *want = json_pack("{s:s, s:i, s:i}", "status", "ready", "images", 1, "position", 1);
    if (!json_equal(r.json, want)) {
        print_error("readyz: want {\"status\":\"ready\",\"images\":1,\"position\":1}, got %s\n",
                    r.body);
        fail();
    }
    json_decref(want);
    http_resp_free(&r);

    char *m = scrape();
    assert_int_equal((long)value_of(m, "imgsec_index_images"), 1);
    assert_int_equal((long)value_of(m, "imgsec_index_records"), 3);
    assert_int_equal((long)value_of(m, "imgsec_index_position"), 1);
    assert_int_equal((long)value_of(m, "imgsec_changelog_position"), 1);
    assert_int_equal((long)value_of(m, "imgsec_index_lag_changes"), 0);
    assert_int_equal((long)value_of(m, "imgsec_database_up"), 1);
    assert_int_equal((long)value_of(m, "imgsec_database_errors_total"), 0);
    /* the defaults: 2 export workers + 8 waiting, nothing queued */
    assert_int_equal((long)value_of(m, "imgsec_queue_capacity{queue=\"export\"}"), 10);
    assert_int_equal((long)value_of(m, "imgsec_queue_waiting{queue=\"export\"}"), 0);
    assert_int_equal((long)value_of(m, "imgsec_queue_running{queue=\"export\"}"), 0);
    assert_int_equal((long)value_of(m, "imgsec_queue_capacity{queue=\"maintenance\"}"), 2);
    free(m);

    /* deleted: no image, no record left in the index */
    char *path = h_strdupf("/v5/P1/image/scan-results/%s", id[0]);
    api_call(&S, "DELETE", path, NULL, T_ADMIN, S.region, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(path);
    get("/readyz", 200);
    m = scrape();
    assert_int_equal((long)value_of(m, "imgsec_index_images"), 0);
    assert_int_equal((long)value_of(m, "imgsec_index_records"), 0);
    assert_int_equal((long)value_of(m, "imgsec_index_position"), 2);
    assert_int_equal((long)value_of(m, "imgsec_index_lag_changes"), 0);
    free(m);
}

/* ---- draining ---- */

/* One whole response of a kept-alive connection into buf (headers and a
 * Content-Length body); fails after 10 s. */
static void read_response(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(buf, "Content-Length: ");
            size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
            if (len >= (size_t)(end + 4 - buf) + body)
                return;
        }
        assert_true(len < size - 1); /* the response fits */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t n = read(fd, buf + len, size - 1 - len);
        assert_true(n > 0);
        len += (size_t)n;
    }
}

static void test_readyz_503_while_draining(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"drain\","
        "\"scan_status\":\"success\"},\"apps\":[{\"app_name\":\"a\"}]}";
    size_t len = strlen(doc);
    char *head = h_strdupf("POST /v5/P1/image/scan-results HTTP/1.1\r\n"
                           "Host: 127.0.0.1:%d\r\nX-Auth-Token: %s\r\nregion: %s\r\n"
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           S.port, T_ADMIN, S.region, len);
    char *ready = h_strdupf("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", S.port);
    char buf[8192];
    int keep = srv_connect(&S);
    assert_true(keep >= 0);
    h_send_exact(keep, ready, strlen(ready));
    read_response(keep, buf, sizeof buf);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    /* a request in flight keeps the drain going */
    int busy = srv_connect(&S);
    assert_true(busy >= 0);
    h_send_exact(busy, head, strlen(head));
    h_send_exact(busy, doc, len / 2);
    h_sleep_ms(200); /* its headers are in: it is in flight */
    assert_int_equal(kill(S.pid, SIGTERM), 0);
    bool got = false;
    for (int i = 0; i < 500 && !got; i++) { /* until the signal is taken: 10 s at most */
        h_send_exact(keep, ready, strlen(ready));
        read_response(keep, buf, sizeof buf);
        got = strncmp(buf, "HTTP/1.1 503", 12) == 0;
        if (!got) {
            assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
            h_sleep_ms(20);
        }
    }
    if (!got || !strstr(buf, "\r\nRetry-After: 5\r\n") || !strstr(buf, "\"reason\":\"draining")) {
        print_error("readyz while draining: want 503, Retry-After: 5, draining; got %.600s\n", buf);
        fail();
    }
    close(keep);
    h_send_exact(busy, doc + len / 2, len - len / 2);
    read_response(busy, buf, sizeof buf);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    close(busy);
    free(head);
    free(ready);
}

/* ---- who may read /metrics ---- */

/* A non-loopback IPv4 address of this machine into out; false if none. */
static bool local_address(struct in_addr *out)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
            !(i->ifa_flags & IFF_UP))
            continue;
        *out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        found = (ntohl(out->s_addr) >> 24) != 127;
    }
    freeifaddrs(ifs);
    return found;
}

/* The status of GET path on s, asked from address from (127.0.0.1 or this
 * machine's other address): the server sees the connection come from it. */
static int status_from(const srv_t *s, struct in_addr from, const char *path, char *buf,
                       size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                            .sin_addr = from};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char *rq = h_strdupf("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    h_send_exact(fd, rq, strlen(rq));
    free(rq);
    read_response(fd, buf, size);
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.1 %d", &status);
    return status;
}

/* /metrics answers loopback clients only, unless --metrics-from any;
 * /healthz and /readyz answer everyone. */
static void test_metrics_loopback_only(void **state)
{
    (void)state;
    struct in_addr other = {0}, lo = {.s_addr = htonl(INADDR_LOOPBACK)};
    if (!local_address(&other)) {
        print_message("no non-loopback IPv4 address on this machine: not checked\n");
        skip();
    }
    static char buf[1 << 20];
    for (int any = 0; any <= 1; any++) {
        srv_t t;
        assert_int_equal(srv_init(&t), 0);
        t.listen = "0.0.0.0:0";
        if (any)
            setenv("IMGSEC_METRICS_FROM", "any", 1);
        int rc = srv_start(&t);
        unsetenv("IMGSEC_METRICS_FROM");
        assert_int_equal(rc, 0);
        assert_int_equal(status_from(&t, lo, "/metrics", buf, sizeof buf), 200);
        int st = status_from(&t, other, "/metrics", buf, sizeof buf);
        if (any) {
            assert_int_equal(st, 200);
        } else if (st != 403 || !strstr(buf, "\"error_code\":\"HSS.0013\"") ||
                   !strstr(buf, "loopback clients only")) {
            print_error("/metrics from %s: want 403 HSS.0013, got %.400s\n", inet_ntoa(other), buf);
            fail();
        }
        assert_int_equal(status_from(&t, other, "/healthz", buf, sizeof buf), 200);
        assert_int_equal(status_from(&t, other, "/readyz", buf, sizeof buf), 200);
        assert_int_equal(srv_stop(&t, true), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_counted_per_route_and_status),
        cmocka_unit_test(test_v5_statuses_counted),
        cmocka_unit_test(test_index_gauges_and_ready),
        cmocka_unit_test(test_readyz_503_while_draining), /* last: the server stops */
    };
    int failed = cmocka_run_group_tests_name("operations", tests, setup, teardown);
    const struct CMUnitTest access[] = {
        cmocka_unit_test(test_metrics_loopback_only),
    };
    failed += cmocka_run_group_tests_name("metrics_access", access, NULL, NULL);
    return failed + harness_failures();
}
