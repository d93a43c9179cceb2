/* test_aksk.c - access keys end to end (auth.md "AK/SK signatures",
 * security.md): imgsec key create|list|del, the key file (made 0600 by
 * whoever runs first, refused when looser or damaged), signed requests
 * that get the AK's user and grant exactly as a token would, and a server
 * log that never holds a token, password, SK or request body.
 *
 * The requests here are signed with libimgsec's own sign.c; that the
 * official SDK's signatures are accepted is tests/conformance/'s job, and
 * tests/unit/test_sign.c checks sign.c against vectors the SDK made.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/sign.h"
#include "imgsec/util.h"

#define STAT_PATH "/v5/P1/image/security-report/statistic"
#define STAT_QUERY "security_report_type=vulnerability&enterprise_project_id=0"
#define PASSWORD "very-secret-password-42"
#define BODY_MARK "body-marker-ZQXJ"

static srv_t S;
static char AK[32], SK[64];        /* writer on P1 */
static char AK_R[32], SK_R[64];    /* reader on P1 */

/* imgsec key create on t's database; fills ak/sk from its output. */
static int key_create_on(const srv_t *t, const char *domain, const char *name, char *ak, char *sk)
{
    char *out = NULL;
    int rc = cli_run(t, NULL, &out, "key", "create", "--db", t->db, "--domain", domain, "--name",
                     name, (char *)NULL);
    if (rc != 0 || !out || sscanf(strstr(out, "AK: ") ? strstr(out, "AK: ") : "", "AK: %31s", ak) != 1 ||
        sscanf(strstr(out, "SK: ") ? strstr(out, "SK: ") : "", "SK: %63s", sk) != 1) {
        fprintf(stderr, "key create failed (%d): %s\n", rc, out ? out : "");
        free(out);
        return -1;
    }
    free(out);
    return 0;
}

static int key_create(const char *domain, const char *name, char *ak, char *sk)
{
    return key_create_on(&S, domain, name, ak, sk);
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    if (cli_user_add(&S, "acme", "wendy", PASSWORD, "P1", "writer", "all") != 0 ||
        cli_user_add(&S, "acme", "rita", PASSWORD, "P1", "reader", "0") != 0)
        return -1;
    if (key_create("acme", "wendy", AK, SK) != 0 || key_create("acme", "rita", AK_R, SK_R) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return srv_stop(&S, true);
}

/* ---- a signed request, as an SDK would send it ---- */

typedef struct {
    const char *names[8];
    const char *values[8];
} hdrs;

static const char *lookup(void *arg, const char *name)
{
    hdrs *h = arg;
    for (int i = 0; i < 8 && h->names[i]; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

static void sdk_date(char out[SIGN_DATE_LEN + 1], int64_t offset_s)
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SIGN_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

typedef struct {
    const char *method, *path, *query, *body, *ctype;
    const char *ak, *sk;
    const char *project_header; /* X-Project-Id, or NULL */
    const char *token;          /* also send X-Auth-Token, or NULL */
    int64_t date_offset_s;
} signed_call;

static long send_signed(const signed_call *c, http_resp *out)
{
    char host[64], date[SIGN_DATE_LEN + 1];
    snprintf(host, sizeof host, "127.0.0.1:%d", S.port);
    sdk_date(date, c->date_offset_s);
    hdrs h = {{"content-type", "host", "region", "x-sdk-date"},
              {c->ctype, host, H_REGION, date}};
    if (c->project_header) {
        h.names[4] = "x-project-id";
        h.values[4] = c->project_header;
    }
    char list[128];
    snprintf(list, sizeof list, "content-type;host;region;%sx-sdk-date",
             c->project_header ? "x-project-id;" : "");
    char auth[512];
    snprintf(auth, sizeof auth, "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%064d",
             c->ak, list, 0);
    sign_auth a;
    imgsec_err err = {0};
    assert_int_equal(sign_parse_authorization(auth, strlen(auth), &a, &err), IMGSEC_OK);
    char *target = h_strdupf("%s%s%s", c->path, c->query ? "?" : "", c->query ? c->query : "");
    sign_request r = {.method = c->method, .raw_target = target, .header = lookup, .header_arg = &h,
                      .body = (const unsigned char *)c->body, .body_len = c->body ? strlen(c->body) : 0};
    char sig[SIGN_SIGNATURE_HEX + 1];
    assert_int_equal(sign_compute(&r, &a, date, c->sk, strlen(c->sk), sig, &err), IMGSEC_OK);
    free(target);
    char *authz = h_strdupf("Authorization: SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, "
                            "Signature=%s", c->ak, list, sig);
    char *xdate = h_strdupf("X-Sdk-Date: %s", date);
    char *xproj = c->project_header ? h_strdupf("X-Project-Id: %s", c->project_header) : NULL;
    char *xtok = c->token ? h_strdupf("X-Auth-Token: %s", c->token) : NULL;
    const char *lines[8] = {authz, xdate, "region: " H_REGION};
    int n = 3;
    if (xproj)
        lines[n++] = xproj;
    if (xtok)
        lines[n++] = xtok;
    http_req rq = {.method = c->method, .path = c->path, .query = c->query, .headers = lines,
                   .body = c->body, .body_len = c->body ? strlen(c->body) : 0,
                   .content_type = c->ctype};
    long st = http_do(&S, &rq, out);
    free(authz);
    free(xdate);
    free(xproj);
    free(xtok);
    return st;
}

static signed_call stat_call(const char *ak, const char *sk)
{
    return (signed_call){.method = "POST", .path = STAT_PATH, .query = STAT_QUERY,
                         .body = "{\"operate_all\":true}", .ctype = "application/json", .ak = ak,
                         .sk = sk, .project_header = "P1"};
}

/* ---- tests ---- */

static void test_key_create_list_del(void **state)
{
    (void)state;
    /* the AK: 20 uppercase alphanumerics; the SK: 40 alphanumerics */
    assert_int_equal(strlen(AK), 20);
    assert_int_equal(strlen(SK), 40);
    for (const char *p = AK; *p; p++)
        assert_true((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
    /* the key file beside the database: 32 bytes, 0600 */
    char *kf = h_strdupf("%s.key", S.beside);
    struct stat st;
    assert_int_equal(stat(kf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    free(kf);
    /* list names both keys with their users and never an SK */
    char *out = NULL;
    assert_int_equal(cli_run(&S, NULL, &out, "key", "list", "--db", S.db, (char *)NULL), 0);
    assert_non_null(strstr(out, AK));
    assert_non_null(strstr(out, AK_R));
    assert_non_null(strstr(out, "acme/wendy"));
    assert_null(strstr(out, SK));
    assert_null(strstr(out, SK_R));
    free(out);
    /* the database (and its WAL) holds no SK in plain text */
    const char *suffix[] = {"", "-wal"};
    for (int i = 0; i < 2; i++) {
        char *path = h_strdupf("%s%s", S.db, suffix[i]);
        size_t len = 0;
        char *data = util_read_file(path, &len);
        if (data) {
            assert_null(memmem(data, len, SK, strlen(SK)));
            assert_null(memmem(data, len, SK_R, strlen(SK_R)));
        }
        free(data);
        free(path);
    }
    /* create + del of a third key */
    char ak[32], sk[64];
    assert_int_equal(key_create("acme", "wendy", ak, sk), 0);
    assert_int_equal(cli_run(&S, NULL, NULL, "key", "del", "--db", S.db, "--ak", ak, (char *)NULL), 0);
    assert_int_equal(cli_run(&S, NULL, NULL, "key", "del", "--db", S.db, "--ak", ak, (char *)NULL), 1);
    /* an unknown user */
    assert_int_equal(cli_run(&S, NULL, NULL, "key", "create", "--db", S.db, "--domain", "acme",
                             "--name", "nobody", (char *)NULL), 1);
}

static void test_signed_requests_accepted(void **state)
{
    (void)state;
    http_resp r;
    signed_call c = stat_call(AK, SK);
    send_signed(&c, &r);
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total_num")), 0);
    http_resp_free(&r);
    /* without X-Project-Id too */
    c.project_header = NULL;
    send_signed(&c, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    /* ingest (writer), then the statistic counts it */
    signed_call in = {.method = "POST", .path = "/v5/P1/image/scan-results",
                      .query = "enterprise_project_id=0",
                      .body = "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\""
                              BODY_MARK "\",\"image_version\":\"1\",\"scan_status\":\"success\"},"
                              "\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\","
                              "\"severity\":\"HIGH\",\"app_name\":\"a\",\"app_version\":\"1\"}]}",
                      .ctype = "application/json", .ak = AK, .sk = SK, .project_header = "P1"};
    send_signed(&in, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    c.project_header = "P1";
    send_signed(&c, &r);
    assert_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "total_num")), 1);
    http_resp_free(&r);
    /* a GET without a body (export task status): authenticated, then 404 */
    signed_call g = {.method = "GET", .path = "/v5/P1/export-task/0123456789abcdef0123456789abcdef",
                     .ctype = "application/json", .ak = AK, .sk = SK, .project_header = "P1"};
    send_signed(&g, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    /* a date 14 minutes off is still fresh */
    c.date_offset_s = -14 * 60;
    send_signed(&c, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
}

static void test_signed_requests_refused(void **state)
{
    (void)state;
    http_resp r;
    signed_call c = stat_call(AK, SK);
    /* stale and future dates */
    c.date_offset_s = -16 * 60;
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", "15 minutes");
    http_resp_free(&r);
    c.date_offset_s = 16 * 60;
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", "15 minutes");
    http_resp_free(&r);
    /* wrong SK, unknown AK */
    c = stat_call(AK, SK_R);
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", "bad signature");
    http_resp_free(&r);
    c = stat_call("ABCDEFGHIJKLMNOPQRST", SK);
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", "bad signature");
    http_resp_free(&r);
    /* a header without host in SignedHeaders */
    const char *lines[] = {"Authorization: SDK-HMAC-SHA256 Access=ABC, SignedHeaders=x-sdk-date, "
                           "Signature=0000000000000000000000000000000000000000000000000000000000000000",
                           "X-Sdk-Date: 20261128T000000Z", "region: " H_REGION, NULL};
    http_req rq = {.method = "POST", .path = STAT_PATH, .query = STAT_QUERY, .headers = lines,
                   .body = "{}", .body_len = 2, .content_type = "application/json"};
    http_do(&S, &rq, &r);
    assert_api_error(&r, 401, "APIGW.0301", "host and x-sdk-date");
    http_resp_free(&r);
}

static void test_signed_request_scope(void **state)
{
    (void)state;
    http_resp r;
    /* X-Project-Id other than the path's */
    signed_call c = stat_call(AK, SK);
    c.project_header = "P2";
    send_signed(&c, &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    /* a project the user holds no grant on */
    c = stat_call(AK, SK);
    c.path = "/v5/P2/image/security-report/statistic";
    c.project_header = "P2";
    send_signed(&c, &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    /* the reader's key: statistic yes (EP 0), ingest no, EP ep-x no */
    c = stat_call(AK_R, SK_R);
    send_signed(&c, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    c.query = "security_report_type=vulnerability&enterprise_project_id=ep-x";
    send_signed(&c, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    signed_call in = {.method = "POST", .path = "/v5/P1/image/scan-results", .body = "{}",
                      .ctype = "application/json", .ak = AK_R, .sk = SK_R};
    send_signed(&in, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    /* a grant change applies at once: rita becomes a reader of P2 */
    assert_int_equal(cli_user_grant(&S, "acme", "rita", "P2", "reader", "all"), 0);
    c = stat_call(AK_R, SK_R);
    c.path = "/v5/P2/image/security-report/statistic";
    c.project_header = "P2";
    send_signed(&c, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
}

static void test_deleted_user_kills_keys(void **state)
{
    (void)state;
    char ak[32], sk[64];
    assert_int_equal(cli_user_add(&S, "acme", "temp", PASSWORD, "P1", "reader", "all"), 0);
    assert_int_equal(key_create("acme", "temp", ak, sk), 0);
    http_resp r;
    signed_call c = stat_call(ak, sk);
    send_signed(&c, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_int_equal(cli_run(&S, NULL, NULL, "user", "del", "--db", S.db, "--domain", "acme",
                             "--name", "temp", (char *)NULL), 0);
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
}

/* A key's principal is read once per generation of the file: five signed
 * questions are one read and four answers from the cache; deleting the
 * key (a commit) refuses the next request at once. On a server of its
 * own, whose count of principals is exact. */
static void test_signed_principals_cached(void **state)
{
    (void)state;
    srv_t saved = S; /* send_signed talks to S */
    memset(&S, 0, sizeof S);
    assert_int_equal(srv_start(&S), 0);
    assert_int_equal(cli_user_add(&S, "acme", "kim", PASSWORD, "P1", "reader", "all"), 0);
    char ak[32], sk[64];
    assert_int_equal(key_create("acme", "kim", ak, sk), 0);
    http_resp r;
    signed_call c = stat_call(ak, sk);
    for (int i = 0; i < 5; i++) {
        send_signed(&c, &r);
        assert_status(&r, 200);
        http_resp_free(&r);
    }
    assert_int_equal(cli_run(&S, NULL, NULL, "key", "del", "--db", S.db, "--ak", ak, (char *)NULL),
                     0);
    send_signed(&c, &r);
    assert_api_error(&r, 401, "APIGW.0301", "bad signature");
    http_resp_free(&r);
    assert_int_equal(srv_stop(&S, false), 0);
    const char *want = "imgsecd: principals (tokens and access keys): 4 from the cache, "
                       "2 not in it\n";
    if (!srv_log_contains(&S, want)) {
        char *log = srv_log(&S);
        print_error("want the line \"%s\" in the log:\n%s\n", want, log);
        free(log);
        fail();
    }
    srv_stop(&S, true);
    S = saved;
}

static void test_log_holds_no_secrets(void **state)
{
    (void)state;
    char *token = get_token(&S, "acme", "wendy", PASSWORD, "P1");
    assert_non_null(token);
    http_resp r;
    api_call(&S, "POST", STAT_PATH, STAT_QUERY, token, H_REGION, "{\"operate_all\":true}",
             "application/json", &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    api_call(&S, "POST", STAT_PATH, STAT_QUERY, "wrong-token-" BODY_MARK, H_REGION, "{}",
             "application/json", &r);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    signed_call c = stat_call(AK, SK);
    send_signed(&c, &r);
    assert_status(&r, 200);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    /* Lines are written in batches, and earlier tests logged the same
     * request line: wait for this request's own id, the last of the three. */
    assert_true(srv_log_wait_for(&S, rid, 5000));
    char *log = srv_log(&S);
    assert_null(strstr(log, token));
    assert_null(strstr(log, PASSWORD));
    assert_null(strstr(log, SK));
    assert_null(strstr(log, SK_R));
    assert_null(strstr(log, BODY_MARK));        /* bodies (ingest) and bad tokens */
    assert_null(strstr(log, "Signature="));
    assert_null(strstr(log, "security_report_type")); /* no query values */
    free(log);
    free(token);
}

static void test_key_file_guarded(void **state)
{
    (void)state;
    /* a server of its own on a fresh database, key file made by the server */
    srv_t t = {0};
    assert_int_equal(srv_start(&t), 0);
    assert_int_equal(srv_stop(&t, false), 0);
    char *kf = h_strdupf("%s.key", t.beside);
    struct stat st;
    assert_int_equal(stat(kf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    /* looser permissions: the server refuses to start, and says why */
    assert_int_equal(chmod(kf, 0644), 0);
    assert_int_not_equal(srv_start(&t), 0);
    srv_stop(&t, false);
    assert_true(srv_log_contains(&t, "accessible to group or others"));
    /* the wrong size */
    assert_int_equal(chmod(kf, 0600), 0);
    assert_int_equal(h_write_file(kf, "short", 5), 0);
    assert_int_equal(chmod(kf, 0600), 0);
    assert_int_not_equal(srv_start(&t), 0);
    srv_stop(&t, false);
    assert_true(srv_log_contains(&t, "exactly 32 bytes"));
    /* the CLI refuses it too */
    assert_int_equal(cli_user_add(&t, "acme", "x", PASSWORD, "P1", "reader", "all"), 0);
    char *out = NULL;
    assert_int_equal(cli_run(&t, NULL, &out, "key", "create", "--db", t.db, "--domain", "acme",
                             "--name", "x", (char *)NULL), 1);
    assert_non_null(strstr(out, "exactly 32 bytes"));
    free(out);
    free(kf);
    srv_stop(&t, true);
}

/* ---- bodies held before their signature is checked (body_budget.h) ---- */

#define UNVERIFIED_KIB 600 /* each body; the budgets: 1 MiB per address, 2 MiB in all */

static srv_t B;
static char B_AK[32], B_SK[64];

/* A connection to t from 127.0.0.<last>: the loopback net is all local, so
 * each is another client address to the server. */
static int connect_from(const srv_t *t, int last)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)(last - 1));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    a.sin_port = htons((uint16_t)t->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* The head of an ingest signed with B_AK but a signature of zeros: well
 * formed, a known AK, a fresh date; what only the body can show is wrong.
 * length < 0: chunked. unsigned_payload: the body is not covered. */
static char *unverified_head(long length, bool unsigned_payload)
{
    char date[SIGN_DATE_LEN + 1];
    sdk_date(date, 0);
    char framing[64];
    if (length >= 0)
        snprintf(framing, sizeof framing, "Content-Length: %ld", length);
    else
        snprintf(framing, sizeof framing, "Transfer-Encoding: chunked");
    return h_strdupf("POST /v5/P1/image/scan-results HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Authorization: SDK-HMAC-SHA256 Access=%s, SignedHeaders=host;x-sdk-date, "
                     "Signature=%064d\r\nX-Sdk-Date: %s\r\nregion: " H_REGION "\r\n%s"
                     "Content-Type: application/json\r\n%s\r\nExpect: 100-continue\r\n\r\n",
                     B.port, B_AK, 0, date,
                     unsigned_payload ? "X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD\r\n" : "", framing);
}

/* Reads one response head (through the blank line) into buf; its status. */
static int read_head(int fd, char *buf, size_t size)
{
    size_t got = 0;
    buf[0] = '\0';
    while (got < size - 1 && !strstr(buf, "\r\n\r\n")) {
        ssize_t n = recv(fd, buf + got, 1, 0); /* byte by byte: nothing past the head */
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    return status;
}

/* Sends the head from 127.0.0.<last>: the fd once the server said 100
 * Continue (the body's bytes are held for it), or -1 once it refused,
 * which must be with want_status, HSS shape, want_code, and the
 * connection closed (nothing of the body was asked for). */
static int unverified_start(int last, long length, bool unsigned_payload, int want_status,
                            const char *want_code)
{
    int fd = connect_from(&B, last);
    char *head = unverified_head(length, unsigned_payload);
    assert_int_equal(h_send_all(fd, head, strlen(head)), strlen(head));
    free(head);
    char buf[4096];
    int status = read_head(fd, buf, sizeof buf);
    if (status != want_status)
        fail_msg("from 127.0.0.%d, %ld bytes: want %d, got: %.600s", last, length, want_status,
                 buf);
    if (status == 100)
        return fd;
    /* the rest of the answer, then EOF */
    size_t got = strlen(buf);
    ssize_t n;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    char *want = h_strdupf("{\"error_code\":\"%s\",", want_code);
    if (!strstr(buf, want) || !strstr(buf, "\r\nConnection: close\r\n"))
        fail_msg("from 127.0.0.%d: want %s in the body and Connection: close: %.600s", last,
                 want_code, buf);
    if ((want_status == 429 || want_status == 503) && !strstr(buf, "\r\nRetry-After: 1\r\n"))
        fail_msg("from 127.0.0.%d: no Retry-After: %.600s", last, buf);
    free(want);
    return -1;
}

/* Sends the body the server asked for; its answer must be 401 (the
 * signature of zeros), then closes. */
static void unverified_finish(int fd, long length)
{
    char *body = h_repeat(' ', (size_t)length);
    assert_int_equal(h_send_all(fd, body, (size_t)length), (size_t)length);
    free(body);
    char buf[4096];
    int status = read_head(fd, buf, sizeof buf);
    if (status != 401)
        fail_msg("the body sent: want 401, got: %.600s", buf);
    close(fd);
}

static int budget_setup(void **state)
{
    (void)state;
    setenv("IMGSEC_UNVERIFIED_BODY_MB", "2", 1);
    setenv("IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB", "1", 1);
    setenv("IMGSEC_AUTH_FAIL_LIMIT", "0", 1); /* the 401s here are the point */
    int rc = srv_start(&B);
    unsetenv("IMGSEC_UNVERIFIED_BODY_MB");
    unsetenv("IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB");
    unsetenv("IMGSEC_AUTH_FAIL_LIMIT");
    if (rc != 0 || cli_user_add(&B, "acme", "wendy", PASSWORD, "P1", "writer", "all") != 0)
        return -1;
    return key_create_on(&B, "acme", "wendy", B_AK, B_SK);
}

static int budget_teardown(void **state)
{
    (void)state;
    /* at stop the server says if any byte is still accounted */
    int rc = srv_stop(&B, false);
    if (srv_log_contains(&B, "unverified bodies still accounted")) {
        fprintf(stderr, "the server still accounted unverified bytes at stop\n");
        return -1;
    }
    char *rm = h_strdupf("rm -rf '%s'", B.dir);
    if (rc == 0 && !getenv("IMGSEC_API_KEEP"))
        rc = system(rm) == 0 ? 0 : -1;
    free(rm);
    return rc;
}

/* An access key ID alone (public) must not make the server hold more than
 * its budgets of body bytes: requests over the per-address budget are 429,
 * over the total 503, one no budget could hold 413, each before its body
 * is read; those admitted get 401 once their bodies are in, and their
 * bytes come back: afterwards an address can hold its whole budget again,
 * and two addresses the whole total. */
static void test_unverified_bodies_bounded(void **state)
{
    (void)state;
    const long len = UNVERIFIED_KIB * 1024L, mib = 1024L * 1024;
    int a1 = unverified_start(1, len, false, 100, NULL);
    unverified_start(1, len, false, 429, "APIGW.0308");          /* 1.2 MiB from .1 */
    int b1 = unverified_start(2, len, false, 100, NULL);
    int c1 = unverified_start(3, len, false, 100, NULL);
    unverified_start(4, len, false, 503, "APIGW.0308");          /* 2.4 MiB in all */
    unverified_start(5, 2 * mib, false, 413, "HSS.0001");        /* never fits */
    unverified_finish(a1, len);
    unverified_finish(b1, len);
    unverified_finish(c1, len);
    /* all given back: .1 may hold its whole MiB, .2 and .3 the whole 2 MiB */
    int full = unverified_start(1, mib, false, 100, NULL);
    unverified_finish(full, mib);
    int x = unverified_start(2, mib, false, 100, NULL);
    int y = unverified_start(3, mib, false, 100, NULL);
    unverified_finish(x, mib);
    unverified_finish(y, mib);
}

/* A chunked body is held as it arrives: past the budget it is dropped and
 * the request refused once it is over (429), and nothing stays held. */
static void test_unverified_chunked_bounded(void **state)
{
    (void)state;
    const long mib = 1024L * 1024;
    int fd = unverified_start(6, -1, false, 100, NULL);
    char *chunk = h_repeat(' ', 256 * 1024);
    char size_line[32];
    snprintf(size_line, sizeof size_line, "%x\r\n", 256 * 1024);
    for (int i = 0; i < 6; i++) { /* 1.5 MiB */
        h_send_all(fd, size_line, strlen(size_line));
        h_send_all(fd, chunk, 256 * 1024);
        h_send_all(fd, "\r\n", 2);
    }
    h_send_all(fd, "0\r\n\r\n", 5);
    free(chunk);
    char buf[4096];
    int status = read_head(fd, buf, sizeof buf);
    if (status != 429)
        fail_msg("a chunked 1.5 MiB body from .6: want 429, got: %.600s", buf);
    close(fd);
    int full = unverified_start(6, mib, false, 100, NULL);
    unverified_finish(full, mib);
}

/* With X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD the signature covers no
 * body: it is checked at header time, so a bad one is refused (401)
 * before any body is held or read. */
static void test_unsigned_payload_checked_at_header_time(void **state)
{
    (void)state;
    unverified_start(7, 4L * 1024 * 1024, true, 401, "APIGW.0301");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_create_list_del),
        cmocka_unit_test(test_signed_requests_accepted),
        cmocka_unit_test(test_signed_requests_refused),
        cmocka_unit_test(test_signed_request_scope),
        cmocka_unit_test(test_deleted_user_kills_keys),
        cmocka_unit_test(test_signed_principals_cached),
        cmocka_unit_test(test_log_holds_no_secrets),
    };
    int failed = cmocka_run_group_tests_name("aksk", tests, setup, teardown);
    const struct CMUnitTest keyfile[] = {
        cmocka_unit_test(test_key_file_guarded),
    };
    failed += cmocka_run_group_tests_name("key_file", keyfile, NULL, NULL);
    const struct CMUnitTest budget[] = {
        cmocka_unit_test(test_unverified_bodies_bounded),
        cmocka_unit_test(test_unverified_chunked_bounded),
        cmocka_unit_test(test_unsigned_payload_checked_at_header_time),
    };
    failed += cmocka_run_group_tests_name("unverified_bodies", budget, budget_setup,
                                          budget_teardown);
    return failed + harness_failures();
}
