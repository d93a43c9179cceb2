/* test_front_door.c - the HTTP front door (security.md "Limits"): bounded
 * headers and request targets, body limits per route, slow clients that
 * cannot hold the server, 429 after repeated failed authentications from
 * one address, and HTTPS with a certificate the test makes itself.
 *
 * The 429 test runs last in its group: once it has failed enough times,
 * the test's own address is locked out for a minute.
 */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAT_PATH "/v5/P1/image/security-report/statistic"
#define STAT_QUERY "security_report_type=vulnerability"
#define FAIL_LIMIT 5

static srv_t S;
static char *T_ADMIN;

static int setup(void **state)
{
    (void)state;
    setenv("IMGSEC_AUTH_FAIL_LIMIT", "5", 1);
    int rc = srv_start(&S);
    unsetenv("IMGSEC_AUTH_FAIL_LIMIT");
    if (rc != 0)
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

/* Sends raw bytes on a fresh connection; returns the start of the reply. */
static char *raw_exchange(const char *data, size_t len)
{
    int fd = srv_connect(&S);
    assert_true(fd >= 0);
    h_send_all(fd, data, len);
    char *buf = calloc(1, 4096);
    size_t got = 0;
    ssize_t n;
    while (got < 4095 && (n = recv(fd, buf + got, 4095 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    return buf;
}

static void test_header_too_large(void **state)
{
    (void)state;
    size_t big = 100 * 1024;
    char *req = malloc(big + 128);
    int n = snprintf(req, 128, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    memcpy(req + n + big, "\r\n\r\n", 4);
    char *reply = raw_exchange(req, (size_t)n + big + 4);
    if (strncmp(reply, "HTTP/1.1 431 ", 13) != 0)
        fail_msg("100 KiB of headers: want 431, got: %.80s", reply);
    free(reply);
    free(req);
}

static void test_target_too_long(void **state)
{
    (void)state;
    char *query = h_repeat('a', 9000);
    http_resp r;
    http_req rq = {.method = "GET", .path = "/healthz", .query = query};
    http_do(&S, &rq, &r);
    assert_api_error(&r, 414, "HSS.0001", "longer than 8192 bytes");
    http_resp_free(&r);
    free(query);
}

static void test_body_limits(void **state)
{
    (void)state;
    /* statistic: 1 MiB accepted as a size (then parsed), 1 MiB + 1 refused. */
    size_t limit = 1u << 20;
    char *body = malloc(limit + 2);
    memset(body, ' ', limit + 1);
    memcpy(body, "{\"operate_all\":true", strlen("{\"operate_all\":true"));
    body[limit - 1] = '}';
    body[limit] = ' ';
    body[limit + 1] = '\0';
    http_resp r;
    api_call(&S, "POST", STAT_PATH, STAT_QUERY, T_ADMIN, H_REGION, body, "application/json", &r);
    assert_api_error(&r, 413, "HSS.0001", "limit of this route is 1048576 bytes");
    http_resp_free(&r);
    body[limit] = '\0';
    api_call(&S, "POST", STAT_PATH, STAT_QUERY, T_ADMIN, H_REGION, body, "application/json", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);

    /* the same limit with no Content-Length (chunked): counted as it arrives */
    body[limit] = ' ';
    const char *hdrs[] = {"region: " H_REGION, NULL};
    char *tok = h_strdupf("X-Auth-Token: %s", T_ADMIN);
    const char *hdrs2[] = {hdrs[0], tok, NULL};
    http_req rq = {.method = "POST", .path = STAT_PATH, .query = STAT_QUERY, .headers = hdrs2,
                   .body = body, .body_len = limit + 1, .content_type = "application/json",
                   .chunked = true};
    http_do(&S, &rq, &r);
    assert_api_error(&r, 413, "HSS.0001", "limit of this route is 1048576 bytes");
    http_resp_free(&r);
    free(tok);

    /* tokens: 64 KiB */
    char *big = h_repeat(' ', (64u << 10) + 1);
    http_req tr = {.method = "POST", .path = "/v3/auth/tokens", .body = big,
                   .body_len = strlen(big), .content_type = "application/json"};
    http_do(&S, &tr, &r);
    assert_int_equal(r.status, 413);
    http_resp_free(&r);
    free(big);
    free(body);
}

/* A slow client: sends a request's headers one byte every 200 ms. */
typedef struct {
    int fd;
    atomic_int stop;
    atomic_int bytes;
} slow_t;

static void *slow_client(void *arg)
{
    slow_t *s = arg;
    static const char HEAD[] = "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nX-Padding: ";
    size_t i = 0;
    while (!s->stop) {
        char c = i < sizeof HEAD - 1 ? HEAD[i] : 'a';
        if (send(s->fd, &c, 1, MSG_NOSIGNAL) != 1)
            break;
        i++;
        s->bytes++;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_slow_clients_do_not_hold_the_server(void **state)
{
    (void)state;
    enum { SLOW = 8 };
    slow_t slow[SLOW];
    pthread_t th[SLOW];
    for (int i = 0; i < SLOW; i++) {
        slow[i].fd = srv_connect(&S);
        atomic_init(&slow[i].stop, 0);
        atomic_init(&slow[i].bytes, 0);
        assert_true(slow[i].fd >= 0);
        pthread_create(&th[i], NULL, slow_client, &slow[i]);
    }
    /* Every slow client has begun its request (a few bytes in) ... */
    for (int i = 0; i < SLOW; i++)
        while (slow[i].bytes < 3) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    /* ... and while they trickle, others are served, one after another. */
    for (int i = 0; i < 20; i++) {
        stat_res r =
            api_stat(&S, T_ADMIN, "P1", "vulnerability", NULL, "{\"operate_all\": true}");
        assert_stat_total(r, 0, "while slow clients trickle");
    }
    for (int i = 0; i < SLOW; i++) {
        atomic_store(&slow[i].stop, 1);
        pthread_join(th[i], NULL);
        /* still connected, unanswered: the server waits for the rest */
        char c;
        assert_int_equal(recv(slow[i].fd, &c, 1, MSG_DONTWAIT), -1);
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        close(slow[i].fd);
    }
}

/* 70 connections from one address: at most 64 (the per-address limit) are
 * served, the rest are closed unanswered; then the address is served again.
 * The requests keep their connections alive: with "Connection: close" the
 * server frees a slot after each answer, and a connection still waiting in
 * the kernel's accept queue could then be served, which makes the count
 * depend on how fast the server accepts. */
static void test_per_address_connection_limit(void **state)
{
    (void)state;
    enum { N = 70, LIMIT = 64 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = srv_connect(&S);
        assert_true(fds[i] >= 0);
    }
    static const char REQ[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int served = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        (void)send(fds[i], REQ, sizeof REQ - 1, MSG_NOSIGNAL);
        char buf[64] = {0};
        ssize_t n = recv(fds[i], buf, sizeof buf - 1, 0);
        if (n > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0)
            served++;
        else
            refused++;
        /* keep every socket open until all were tried */
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    if (served > LIMIT || refused < N - LIMIT)
        fail_msg("70 connections: %d served, %d refused; want <= %d served", served, refused, LIMIT);
    /* the limit frees up as connections close */
    http_resp r;
    http_req rq = {.method = "GET", .path = "/healthz"};
    for (int i = 0; i < 250 && http_do(&S, &rq, &r) != 200; i++) {
        http_resp_free(&r);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* The access log line of the request answered r: from the method to the
 * end of the line (without its newline), malloc'd. Fails if not found. */
static char *log_line_of(const http_resp *r)
{
    const char *rid = http_header(r, "X-Request-Id");
    assert_non_null(rid);
    char *needle = h_strdupf("rid=%s\n", rid);
    assert_true(srv_log_wait_for(&S, needle, 5000));
    char *log = srv_log(&S);
    char *end = strstr(log, needle);
    char *start = end;
    while (start > log && start[-1] != '\n')
        start--;
    char *method = strchr(start, ' '); /* after the timestamp */
    assert_non_null(method);
    char *line = h_strdupf("%.*s", (int)(end + strlen(needle) - 1 - (method + 1)), method + 1);
    free(needle);
    free(log);
    return line;
}

/* What the client put in the path reaches the log escaped (access_log.h):
 * a %0a cannot start a forged line, %1b cannot drive a terminal, bytes
 * that are not UTF-8 come out as \xNN, and a space cannot pass for the end
 * of the path field. One request, one line. */
static void test_log_injection_is_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *path, *logged;
    } rows[] = {
        {"/healthz%0a2026-01-01T00:00:00Z%20DELETE%20/v5/demo/image/scan-results/7%20200%201.0ms",
         "GET /healthz\\x0a2026-01-01T00:00:00Z\\x20DELETE\\x20/v5/demo/image/scan-results/7"
         "\\x20200\\x201.0ms 404 "},
        {"/x%1b[31mred%1b[0m%0d", "GET /x\\x1b[31mred\\x1b[0m\\x0d 404 "},
        {"/bad%ff%c3%28%c0%af/%e2%82%ac%5c", "GET /bad\\xff\\xc3(\\xc0\\xaf/\xe2\x82\xac\\x5c 404 "},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_resp r;
        http_req rq = {.method = "GET", .path = rows[i].path};
        http_do(&S, &rq, &r);
        assert_api_error(&r, 404, "APIGW.0101", NULL);
        char *line = log_line_of(&r);
        if (strncmp(line, rows[i].logged, strlen(rows[i].logged)) != 0)
            fail_msg("%s logged as\n  %s\nwant it to start\n  %s", rows[i].path, line,
                     rows[i].logged);
        free(line);
        http_resp_free(&r);
    }
    /* and the log as a whole holds none of the raw bytes */
    char *log = srv_log(&S);
    assert_null(strstr(log, "\n2026-01-01T00:00:00Z"));
    assert_null(strchr(log, '\x1b'));
    assert_null(strchr(log, '\r'));
    assert_null(strchr(log, '\xff'));
    free(log);
}

/* Request smuggling shapes (RFC 9112 §6.3): each request is followed on
 * the same connection by a second, well-formed one, which a server that
 * read the first one's body length differently would answer. Each must
 * get 400 and a closed connection: exactly one response, then EOF (the
 * server's 15 s idle timeout would close it too, but only after a second
 * response had been sent if one was coming; raw_exchange reads to EOF). */
static void test_ambiguous_framing_is_400_and_close(void **state)
{
    (void)state;
    static const char NEXT[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    static const struct {
        const char *what, *head, *body;
        bool keystone;
    } rows[] = {
        {"two different Content-Length",
         "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 4\r\n",
         "{}{}", false},
        {"two equal Content-Length",
         "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n",
         "{}", false},
        {"Content-Length and chunked",
         "POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n",
         "0\r\n\r\n", true},
        {"chunked and Content-Length",
         "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 40\r\n",
         "0\r\n\r\n", false},
        {"Transfer-Encoding gzip", "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n",
         "", false},
        {"Transfer-Encoding gzip, chunked",
         "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n",
         false},
        {"Transfer-Encoding twice",
         "POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n",
         "0\r\n\r\n", false},
        {"Transfer-Encoding in HTTP/1.0",
         "POST " STAT_PATH " HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
         "0\r\n\r\n", false},
        {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n", "", false},
        {"two Host headers", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n", "", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *req = h_strdupf("%s\r\n%s%s", rows[i].head, rows[i].body, NEXT);
        char *reply = raw_exchange(req, strlen(req));
        if (strncmp(reply, "HTTP/1.1 400 ", 13) != 0)
            fail_msg("%s: want 400, got: %.200s", rows[i].what, reply);
        if (!strstr(reply, "\r\nConnection: close\r\n"))
            fail_msg("%s: the 400 does not say Connection: close: %.300s", rows[i].what, reply);
        const char *body = strstr(reply, "\r\n\r\n");
        const char *cl = strstr(reply, "\r\nContent-Length: ");
        assert_non_null(body);
        assert_non_null(cl);
        /* exactly one response: its body ends where the bytes received end */
        if (strlen(body + 4) != strtoul(cl + 18, NULL, 10))
            fail_msg("%s: more than the 400 came back: %.600s", rows[i].what, reply);
        json_t *j = json_loads(body + 4, 0, NULL);
        assert_non_null(j);
        if (rows[i].keystone)
            assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"),
                                                                "code")),
                             400);
        else
            assert_string_equal(json_string_value(json_object_get(j, "error_code")), "HSS.0001");
        json_decref(j);
        free(reply);
        free(req);
    }
    /* A Content-Length that is no number ("2, 2", "x") libmicrohttpd
     * refuses itself, before any callback of ours: 400, closed, nothing
     * after it answered (0.9.75 repeats its 400's header block, so only
     * that is checked). */
    static const char *const bad_lengths[] = {"2, 2", "x", "-2"};
    for (size_t i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
        char *req = h_strdupf("POST " STAT_PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n"
                              "\r\n{}%s",
                              bad_lengths[i], NEXT);
        char *reply = raw_exchange(req, strlen(req));
        if (strncmp(reply, "HTTP/1.1 400 ", 13) != 0 || strstr(reply, "HTTP/1.1 200 ") ||
            !strstr(reply, "\r\nConnection: close\r\n"))
            fail_msg("Content-Length: %s: want one 400 and close, got: %.400s", bad_lengths[i],
                     reply);
        free(reply);
        free(req);
    }
    /* the control: two well-formed requests on one connection get two answers */
    char *two = h_strdupf("%s%.*sConnection: close\r\n\r\n", NEXT, (int)strlen(NEXT) - 2, NEXT);
    char *reply = raw_exchange(two, strlen(two));
    const char *second = strstr(reply + 1, "HTTP/1.1 200 ");
    if (strncmp(reply, "HTTP/1.1 200 ", 13) != 0 || !second)
        fail_msg("two pipelined /healthz: want two 200s, got: %.400s", reply);
    free(reply);
    free(two);
}

static void test_failed_auth_gets_429(void **state)
{
    (void)state;
    http_resp r;
    for (int i = 0; i < FAIL_LIMIT; i++) {
        api_call(&S, "POST", STAT_PATH, STAT_QUERY, "not-a-token", H_REGION, "{}",
                 "application/json", &r);
        assert_api_error(&r, 401, "APIGW.0301", NULL);
        http_resp_free(&r);
    }
    /* the next attempt, even with a good token, waits */
    api_call(&S, "POST", STAT_PATH, STAT_QUERY, T_ADMIN, H_REGION, "{}", "application/json", &r);
    assert_api_error(&r, 429, "APIGW.0308", "too many failed authentications");
    const char *ra = http_header(&r, "Retry-After");
    assert_non_null(ra);
    int secs = atoi(ra);
    if (secs < 1 || secs > 60)
        fail_msg("Retry-After %s: want 1..60 seconds", ra);
    http_resp_free(&r);
    /* passwords too (Keystone shape) */
    api_token_req(&S, "acme", "root", "root-pw-123", "P1", false, &r);
    assert_keystone_error(&r, 429, "Too Many Requests");
    assert_non_null(http_header(&r, "Retry-After"));
    http_resp_free(&r);
    /* routes without credentials are not affected */
    http_req rq = {.method = "GET", .path = "/healthz"};
    http_do(&S, &rq, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* ---- HTTPS ---- */

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    http_resp *r = arg;
    size_t len = size * n;
    char *b = realloc(r->body, r->body_len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->body_len, p, len);
    r->body = b;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* GET url with curl; the status (0 on a transport error). */
static long curl_get(const char *url, const char *cainfo, http_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (cainfo)
        curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    out->status = status;
    return status;
}

static void test_https(void **state)
{
    (void)state;
    srv_t t = {0};
    assert_int_equal(srv_init(&t), 0);
    char *cert = h_strdupf("%s/cert.pem", t.dir), *key = h_strdupf("%s/key.pem", t.dir);
    char *cmd = h_strdupf("openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
                          "-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 "
                          ">/dev/null 2>&1",
                          key, cert);
    assert_int_equal(system(cmd), 0);
    t.tls_cert = cert;
    t.tls_key = key;
    assert_int_equal(srv_start(&t), 0);
    int port = t.port;
    char *https = h_strdupf("https://127.0.0.1:%d/healthz", port);
    char *plain = h_strdupf("http://127.0.0.1:%d/healthz", port);
    http_resp r;
    assert_int_equal(curl_get(https, cert, &r), 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    free(r.body);
    /* without the certificate as a trust anchor, curl refuses the server */
    assert_int_equal(curl_get(https, "/dev/null", &r), 0);
    free(r.body);
    /* plain HTTP on the TLS port gets no HTTP answer */
    assert_int_equal(curl_get(plain, NULL, &r), 0);
    free(r.body);
    /* a key file was made beside the database, 0600 */
    char *kf = h_strdupf("%s.key", t.beside);
    struct stat ks;
    assert_int_equal(stat(kf, &ks), 0);
    assert_int_equal(ks.st_mode & 0777, 0600);
    free(kf);
    /* SIGTERM, and the server exits 0 */
    assert_int_equal(srv_stop(&t, true), 0);
    free(https);
    free(plain);
    free(cmd);
    free(cert);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_too_large),
        cmocka_unit_test(test_target_too_long),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_slow_clients_do_not_hold_the_server),
        cmocka_unit_test(test_per_address_connection_limit),
        cmocka_unit_test(test_log_injection_is_escaped),
        cmocka_unit_test(test_ambiguous_framing_is_400_and_close),
        cmocka_unit_test(test_failed_auth_gets_429), /* last: locks the address out */
    };
    int failed = cmocka_run_group_tests_name("front_door", tests, setup, teardown);
    const struct CMUnitTest tls[] = {
        cmocka_unit_test(test_https),
    };
    failed += cmocka_run_group_tests_name("tls", tls, NULL, NULL);
    return failed + harness_failures();
}
