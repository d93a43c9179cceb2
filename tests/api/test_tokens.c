/* test_tokens.c - users, grants and tokens (auth.md), driven through the
 * imgsec command line and POST/DELETE /v3/auth/tokens, with the effect
 * checked on a v5 route (statistic.md errors: 401 APIGW.0301, 403 HSS.0010).
 */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

#define OPERATE_ALL "{\"operate_all\":true}"

static srv_t S;
static char *issued[64]; /* every token seen, to check the log never holds one */
static size_t n_issued;

static void remember(const char *tok)
{
    if (tok && n_issued < sizeof issued / sizeof issued[0])
        issued[n_issued++] = strdup(tok);
}

static char *token(const char *domain, const char *name, const char *pw, const char *project)
{
    char *t = get_token(&S, domain, name, pw, project);
    remember(t);
    return t;
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    /* Users added before any request; more are added while it runs. */
    if (cli_user_add(&S, "acme", "alice", "alice-pw-1", "P1", "reader", "0,ep-a") != 0 ||
        cli_user_grant(&S, "acme", "alice", "P2", "writer", "all") != 0 ||
        cli_user_add(&S, "acme", "bob", "bob-pw-22", "P1", "writer", "all") != 0 ||
        cli_user_add(&S, "other", "alice", "other-pw-3", "P1", "admin", "all") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_issued; i++)
        free(issued[i]);
    n_issued = 0;
    return srv_stop(&S, true);
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", or -1. */
static double parse_iso(const char *s)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n < 20 || s[n - 1] != 'Z')
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        double scale = 0.1;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            frac += (*rest - '0') * scale;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    return (double)timegm(&tm) + frac;
}

static stat_res stat_with(const char *tok, const char *project)
{
    return api_stat(&S, tok, project, "apps", NULL, OPERATE_ALL);
}

static void test_issue(void **state)
{
    (void)state;
    http_resp r;
    time_t before = time(NULL);
    api_token_req(&S, "acme", "alice", "alice-pw-1", "P1", false, &r);
    assert_status(&r, 201);
    const char *tok = http_header(&r, "X-Subject-Token");
    assert_non_null(tok);
    remember(tok);
    assert_true(strlen(tok) >= 43); /* >= 256 bits of entropy in any sane encoding */

    json_t *t = json_object_get(r.json, "token");
    assert_true(json_is_object(t));
    const char *exp = json_string_value(json_object_get(t, "expires_at"));
    const char *iss = json_string_value(json_object_get(t, "issued_at"));
    assert_non_null(exp);
    assert_non_null(iss);
    assert_int_equal(exp[strlen(exp) - 1], 'Z');
    assert_int_equal(iss[strlen(iss) - 1], 'Z');
    double e = parse_iso(exp), i = parse_iso(iss);
    if (e < 0 || i < 0) {
        print_error("unparsable times: issued_at %s expires_at %s\n", iss, exp);
        fail();
    }
    if (e - i < 86400 - 60 || e - i > 86400 + 60) {
        print_error("expires_at - issued_at = %.0f s, want ~86400\n", e - i);
        fail();
    }
    if (i < (double)before - 120 || i > (double)time(NULL) + 120) {
        print_error("issued_at %s is not now\n", iss);
        fail();
    }
    json_t *methods = json_object_get(t, "methods");
    assert_int_equal(json_array_size(methods), 1);
    assert_string_equal(json_string_value(json_array_get(methods, 0)), "password");
    json_t *user = json_object_get(t, "user");
    assert_string_equal(json_string_value(json_object_get(user, "name")), "alice");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(user, "domain"), "name")), "acme");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "project"), "id")),
                        "P1");
    json_t *roles = json_object_get(t, "roles");
    assert_true(json_array_size(roles) >= 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 0), "name")),
                        "reader");

    /* The token works on its project. */
    stat_res st = stat_with(tok, "P1");
    assert_stat_total(st, 0, "fresh token");

    /* A second login gives another token. */
    char *tok2 = token("acme", "alice", "alice-pw-1", "P1");
    assert_non_null(tok2);
    assert_string_not_equal(tok, tok2);
    free(tok2);
    http_resp_free(&r);
}

static void test_roles_in_token(void **state)
{
    (void)state;
    static const struct {
        const char *domain, *name, *pw, *project, *role;
    } rows[] = {
        {"acme", "bob", "bob-pw-22", "P1", "writer"},
        {"other", "alice", "other-pw-3", "P1", "admin"},
        {"acme", "alice", "alice-pw-1", "P2", "writer"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_resp r;
        api_token_req(&S, rows[i].domain, rows[i].name, rows[i].pw, rows[i].project, false, &r);
        assert_status(&r, 201);
        remember(http_header(&r, "X-Subject-Token"));
        json_t *t = json_object_get(r.json, "token");
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(json_object_get(t, "roles"), 0), "name")),
            rows[i].role);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(json_object_get(t, "user"), "domain"), "name")),
            rows[i].domain);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(t, "project"), "id")), rows[i].project);
        http_resp_free(&r);
    }
}

static void test_scope_by_name(void **state)
{
    (void)state;
    http_resp r;
    api_token_req(&S, "acme", "alice", "alice-pw-1", "P1", true, &r);
    assert_status(&r, 201);
    const char *tok = http_header(&r, "X-Subject-Token");
    assert_non_null(tok);
    remember(tok);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r.json, "token"), "project"), "id")),
                        "P1");
    stat_res st = stat_with(tok, "P1");
    assert_stat_total(st, 0, "token scoped by project name");
    http_resp_free(&r);
}

/* Wrong password, unknown user, unknown domain, a project without a grant:
 * all 401 in the Keystone shape with one and the same message. */
static void test_login_failures_look_alike(void **state)
{
    (void)state;
    static const struct {
        const char *domain, *name, *pw, *project, *why;
    } rows[] = {
        {"acme", "alice", "alice-pw-2", "P1", "wrong password"},
        {"acme", "alice", "", "P1", "empty password"},
        {"acme", "alice", "other-pw-3", "P1", "another user's password"},
        {"acme", "nobody", "alice-pw-1", "P1", "unknown user"},
        {"nodomain", "alice", "alice-pw-1", "P1", "unknown domain"},
        {"acme", "alice", "alice-pw-1", "P3", "project without a grant"},
        {"acme", "bob", "bob-pw-22", "P2", "project without a grant (bob)"},
    };
    char first[1024] = "";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_resp r;
        api_token_req(&S, rows[i].domain, rows[i].name, rows[i].pw, rows[i].project, false, &r);
        if (r.status != 401)
            print_error("%s: want 401, got %ld %s\n", rows[i].why, r.status, r.body);
        assert_keystone_error(&r, 401, "Unauthorized");
        assert_null(http_header(&r, "X-Subject-Token"));
        const char *msg =
            json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
        if (i == 0) {
            snprintf(first, sizeof first, "%s", msg);
        } else if (strcmp(first, msg) != 0) {
            print_error("%s: message \"%s\" differs from \"%s\" (user enumeration)\n",
                        rows[i].why, msg, first);
            fail();
        }
        http_resp_free(&r);
    }
}

static void test_malformed_token_request(void **state)
{
    (void)state;
    http_resp r;
    api_call(&S, "POST", "/v3/auth/tokens", NULL, NULL, NULL, "{\"auth\":", "application/json",
             &r);
    assert_keystone_error(&r, 400, NULL);
    http_resp_free(&r);
}

/* The body of r is exactly want, and it carries the contract's type. */
static void assert_body_is(const http_resp *r, const char *want)
{
    if (!r->body || strcmp(r->body, want) != 0)
        fail_msg("%s: want body\n  %s\ngot\n  %s", r->desc, want, r->body ? r->body : "(none)");
    assert_string_equal(http_header(r, "Content-Type"), H_JSON_CT);
}

/* The front door's own refusals on /v3/auth/tokens are Keystone's too
 * (errors.md): a method the route does not take (405, with Allow), a body
 * over its 64 KiB, declared or chunked (413), a target too long (414). */
static void test_route_errors_keystone_shape(void **state)
{
    (void)state;
    http_resp r;
    static const char *const methods[] = {"PUT", "PATCH", "GET"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        api_call(&S, methods[i], "/v3/auth/tokens", NULL, NULL, NULL, NULL, NULL, &r);
        assert_int_equal(r.status, 405);
        char *want = h_strdupf("{\"error\":{\"code\":405,\"title\":\"Method Not Allowed\","
                               "\"message\":\"method %s is not allowed here; allowed: POST, "
                               "DELETE\"}}",
                               methods[i]);
        assert_body_is(&r, want);
        assert_string_equal(http_header(&r, "Allow"), "POST, DELETE");
        free(want);
        http_resp_free(&r);
    }
    static const char TOO_LARGE[] =
        "{\"error\":{\"code\":413,\"title\":\"Request Entity Too Large\",\"message\":\"request "
        "body too large: the limit of this route is 65536 bytes\"}}";
    char *big = h_repeat(' ', (64u << 10) + 1);
    for (int chunked = 0; chunked < 2; chunked++) {
        http_req rq = {.method = "POST", .path = "/v3/auth/tokens", .body = big,
                       .body_len = strlen(big), .content_type = "application/json",
                       .chunked = chunked};
        http_do(&S, &rq, &r);
        assert_int_equal(r.status, 413);
        assert_body_is(&r, TOO_LARGE);
        http_resp_free(&r);
    }
    free(big);
    char *query = h_repeat('a', 9000);
    http_req rq = {.method = "POST", .path = "/v3/auth/tokens", .query = query, .body = "{}",
                   .body_len = 2, .content_type = "application/json"};
    http_do(&S, &rq, &r);
    assert_int_equal(r.status, 414);
    assert_body_is(&r, "{\"error\":{\"code\":414,\"title\":\"Request-URI Too Long\",\"message\":"
                       "\"the request target is longer than 8192 bytes\"}}");
    http_resp_free(&r);
    free(query);
    /* a path that is no route stays an HSS 404, /v3 or not */
    api_call(&S, "POST", "/v3/auth/tokens/x", NULL, NULL, NULL, "{}", "application/json", &r);
    assert_api_error(&r, 404, "APIGW.0101", NULL);
    http_resp_free(&r);
}

static void test_delete_revokes(void **state)
{
    (void)state;
    char *t1 = token("acme", "bob", "bob-pw-22", "P1");
    char *t2 = token("acme", "bob", "bob-pw-22", "P1");
    assert_non_null(t1);
    assert_non_null(t2);
    stat_res st = stat_with(t2, "P1");
    assert_stat_total(st, 0, "t2 before revocation");

    /* Without X-Auth-Token: refused, Keystone shape, nothing revoked. */
    char *sub = h_strdupf("X-Subject-Token: %s", t2);
    const char *h_noauth[] = {sub, NULL};
    http_req rq = {.method = "DELETE", .path = "/v3/auth/tokens", .headers = h_noauth};
    http_resp r;
    http_do(&S, &rq, &r);
    assert_keystone_error(&r, 401, "Unauthorized");
    http_resp_free(&r);
    st = stat_with(t2, "P1");
    assert_stat_total(st, 0, "t2 after a refused revocation");

    /* t1 revokes t2. */
    char *auth = h_strdupf("X-Auth-Token: %s", t1);
    const char *h[] = {auth, sub, NULL};
    rq.headers = h;
    http_do(&S, &rq, &r);
    assert_status(&r, 204);
    assert_int_equal(r.body_len, 0);
    assert_non_null(http_header(&r, "X-Request-Id"));
    http_resp_free(&r);

    st = stat_with(t2, "P1");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "revoked token");
    st = stat_with(t1, "P1");
    assert_stat_total(st, 0, "the revoking token still works");

    /* A revoked token cannot revoke. */
    char *auth2 = h_strdupf("X-Auth-Token: %s", t2);
    char *sub1 = h_strdupf("X-Subject-Token: %s", t1);
    const char *h2[] = {auth2, sub1, NULL};
    rq.headers = h2;
    http_do(&S, &rq, &r);
    assert_keystone_error(&r, 401, "Unauthorized");
    http_resp_free(&r);
    st = stat_with(t1, "P1");
    assert_stat_total(st, 0, "t1 after a revoked token tried to revoke it");

    /* A token revokes itself. */
    const char *h3[] = {auth, sub1, NULL};
    rq.headers = h3;
    http_do(&S, &rq, &r);
    assert_status(&r, 204);
    http_resp_free(&r);
    st = stat_with(t1, "P1");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "self-revoked token");

    free(sub);
    free(auth);
    free(auth2);
    free(sub1);
    free(t1);
    free(t2);
}

static void test_bad_tokens(void **state)
{
    (void)state;
    static const char *bad[] = {
        "x", "not-a-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "0000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stat_res st = stat_with(bad[i], "P1");
        assert_stat_error(st, 401, "APIGW.0301", NULL, bad[i]);
    }
    /* An overlong header must not break anything. */
    char *huge = h_repeat('A', 6000);
    stat_res st = stat_with(huge, "P1");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "6000-char token");
    free(huge);
}

static void test_project_scope(void **state)
{
    (void)state;
    char *p1 = token("acme", "alice", "alice-pw-1", "P1");
    char *p2 = token("acme", "alice", "alice-pw-1", "P2");
    assert_non_null(p1);
    assert_non_null(p2);
    stat_res st = stat_with(p1, "P2");
    assert_stat_error(st, 403, "HSS.0010", NULL, "P1 token on P2");
    st = stat_with(p2, "P1");
    assert_stat_error(st, 403, "HSS.0010", NULL, "P2 token on P1");
    st = stat_with(p2, "P2");
    assert_stat_total(st, 0, "P2 token on P2");
    st = stat_with(p1, "P3");
    assert_stat_error(st, 403, "HSS.0010", NULL, "P1 token on P3");
    free(p1);
    free(p2);
}

/* Users added, deleted, granted and revoked with the CLI while the server
 * runs take effect at the server's next request. */
static void test_user_added_while_running(void **state)
{
    (void)state;
    assert_int_equal(cli_user_add(&S, "acme", "erin", "erin-pw-5", "P1", "reader", "0"), 0);
    char *t = token("acme", "erin", "erin-pw-5", "P1");
    assert_non_null(t);
    free(t);
}

static void test_deleted_user(void **state)
{
    (void)state;
    assert_int_equal(cli_user_add(&S, "acme", "carol", "carol-pw-4", "P1", "reader", "0"), 0);
    char *t = token("acme", "carol", "carol-pw-4", "P1");
    assert_non_null(t);
    stat_res st = stat_with(t, "P1");
    assert_stat_total(st, 0, "carol before deletion");
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "user", "del", "--db", S.db, "--domain", "acme", "--name",
                     "carol", NULL);
    if (rc != 0)
        print_error("imgsec user del: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    st = stat_with(t, "P1");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "deleted user's token");
    http_resp r;
    api_token_req(&S, "acme", "carol", "carol-pw-4", "P1", false, &r);
    assert_keystone_error(&r, 401, "Unauthorized");
    http_resp_free(&r);
    /* Re-adding the same name does not bring the old token back. */
    assert_int_equal(cli_user_add(&S, "acme", "carol", "carol-pw-4", "P1", "reader", "0"), 0);
    st = stat_with(t, "P1");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "old token of a re-added user");
    free(t);
}

static void test_revoked_grant(void **state)
{
    (void)state;
    assert_int_equal(cli_user_add(&S, "acme", "dave", "dave-pw-6", "P1", "reader", "0"), 0);
    assert_int_equal(cli_user_grant(&S, "acme", "dave", "P2", "reader", "0"), 0);
    char *t1 = token("acme", "dave", "dave-pw-6", "P1");
    char *t2 = token("acme", "dave", "dave-pw-6", "P2");
    assert_non_null(t1);
    assert_non_null(t2);
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "user", "revoke", "--db", S.db, "--domain", "acme", "--name",
                     "dave", "--project", "P2", NULL);
    if (rc != 0)
        print_error("imgsec user revoke: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    stat_res st = stat_with(t2, "P2");
    assert_stat_error(st, 401, "APIGW.0301", NULL, "token of a revoked grant");
    st = stat_with(t1, "P1");
    assert_stat_total(st, 0, "token of the grant that stays");
    http_resp r;
    api_token_req(&S, "acme", "dave", "dave-pw-6", "P2", false, &r);
    assert_keystone_error(&r, 401, "Unauthorized");
    http_resp_free(&r);
    free(t1);
    free(t2);
}

/* A grant replaced with `imgsec user grant` applies to the next request of
 * an existing token: reader -> writer lets it ingest, EPs widen. */
static void test_grant_change_applies_at_once(void **state)
{
    (void)state;
    assert_int_equal(cli_user_add(&S, "acme", "frank", "frank-pw-7", "P1", "reader", "0"), 0);
    char *t = token("acme", "frank", "frank-pw-7", "P1");
    assert_non_null(t);
    static const char doc[] =
        "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"g\",\"scan_status\":\"unscan\"},"
        "\"apps\":[{\"app_name\":\"a\"},{\"app_name\":\"b\"}]}";
    http_resp r;
    api_ingest(&S, t, "P1", "0", doc, false, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    stat_res st = api_stat(&S, t, "P1", "apps", "ep-g", OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "reader of EP 0 asking ep-g");

    assert_int_equal(cli_user_grant(&S, "acme", "frank", "P1", "writer", "0,ep-g"), 0);
    api_ingest(&S, t, "P1", "ep-g", doc, false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    st = api_stat(&S, t, "P1", "apps", "ep-g", OPERATE_ALL);
    assert_stat_total(st, 2, "after the grant widened");

    /* And narrowing takes effect too. */
    assert_int_equal(cli_user_grant(&S, "acme", "frank", "P1", "reader", "0"), 0);
    st = api_stat(&S, t, "P1", "apps", "ep-g", OPERATE_ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "after the grant narrowed");
    api_ingest(&S, t, "P1", "0", doc, false, &r);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    free(t);
}

/* The command line's own contract: exit 0 on success, non-zero with a
 * message otherwise. */
static void test_cli_errors(void **state)
{
    (void)state;
    char *out = NULL;
    int rc;
    /* duplicate user */
    rc = cli_run(&S, "x-pw-1", &out, "user", "add", "--db", S.db, "--domain", "acme", "--name",
                 "bob", "--project", "P1", "--role", "reader", "--eps", "0", NULL);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(out) > 0);
    free(out);
    /* bad role */
    rc = cli_run(&S, "x-pw-1", &out, "user", "add", "--db", S.db, "--domain", "acme", "--name",
                 "zed", "--project", "P1", "--role", "owner", "--eps", "0", NULL);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(out) > 0);
    free(out);
    /* no password anywhere (stdin is /dev/null) */
    rc = cli_run(&S, NULL, &out, "user", "add", "--db", S.db, "--domain", "acme", "--name", "zed",
                 "--project", "P1", "--role", "reader", "--eps", "0", NULL);
    assert_int_not_equal(rc, 0);
    free(out);
    /* deleting an unknown user */
    rc = cli_run(&S, NULL, &out, "user", "del", "--db", S.db, "--domain", "acme", "--name",
                 "nobody", NULL);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(out) > 0);
    free(out);
    /* granting to an unknown user */
    rc = cli_run(&S, NULL, &out, "user", "grant", "--db", S.db, "--domain", "acme", "--name",
                 "nobody", "--project", "P1", "--role", "reader", "--eps", "0", NULL);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(out) > 0);
    free(out);
    /* list shows users and never a password */
    rc = cli_run(&S, NULL, &out, "user", "list", "--db", S.db, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "alice"));
    assert_non_null(strstr(out, "bob"));
    assert_null(strstr(out, "bob-pw-22"));
    free(out);
    /* a failed add left nothing behind: zed cannot log in */
    http_resp r;
    api_token_req(&S, "acme", "zed", "x-pw-1", "P1", false, &r);
    assert_keystone_error(&r, 401, "Unauthorized");
    http_resp_free(&r);
}

/* ---- a server of its own, whose database this process changes ---- */

/* Starts t with name=value in imgsecd's environment and an admin of P1;
 * *tok1 and *tok2 get two of the admin's tokens. */
static void start_own(srv_t *t, const char *name, const char *value, char **tok1, char **tok2)
{
    memset(t, 0, sizeof *t);
    setenv(name, value, 1);
    int started = srv_start(t);
    unsetenv(name);
    assert_int_equal(started, 0);
    assert_int_equal(cli_user_add(t, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    *tok1 = get_token(t, "acme", "root", "root-pw-1", "P1");
    *tok2 = get_token(t, "acme", "root", "root-pw-1", "P1");
    assert_non_null(*tok1);
    assert_non_null(*tok2);
}

/* t's database through the driver (db.h), as another process would
 * open it: the same code on SQLite and PostgreSQL (a SQLite connection
 * waits DB_BUSY_TIMEOUT_MS for the write lock, as the server's do). */
static db_conn *sql_open(const srv_t *t)
{
    db_conn *c = NULL;
    imgsec_err err = {0};
    if (db_open(t->db, &c, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    return c;
}

/* Runs sql on t's database (one statement per call for SQLite's sake). */
static void sql_exec(const srv_t *t, const char *sql)
{
    db_conn *c = sql_open(t);
    imgsec_err err = {0};
    int rc = db_exec(c, sql, "test", &err);
    if (rc != IMGSEC_OK)
        print_error("%s: %s\n", sql, err.msg);
    db_close(c);
    assert_int_equal(rc, IMGSEC_OK);
}

static bool on_pg(const srv_t *t)
{
    return db_uri_is_pg(t->db);
}

static long long db_tokens(const srv_t *t)
{
    db_conn *c = sql_open(t);
    imgsec_err err = {0};
    db_stmt *q = db_prepare(c, "SELECT count(*) FROM tokens", false, "count", &err);
    assert_non_null(q);
    assert_int_equal(db_step(q), DB_ROW);
    long long n = db_column_int64(q, 0);
    db_finalize(q);
    db_close(c);
    return n;
}

/* DELETE /v3/auth/tokens on t: auth revokes subject. */
static long revoke_on(const srv_t *t, const char *auth, const char *subject, http_resp *out)
{
    char *a = h_strdupf("X-Auth-Token: %s", auth);
    char *s = h_strdupf("X-Subject-Token: %s", subject);
    const char *h[] = {a, s, NULL};
    http_req rq = {.method = "DELETE", .path = "/v3/auth/tokens", .headers = h};
    long st = http_do(t, &rq, out);
    free(a);
    free(s);
    return st;
}

/* A store that fails during a revocation is a 500, its cause logged: not
 * a refused credential (401, counted against the address) nor an unknown
 * token (404). */
static void test_revoke_store_failure_is_500(void **state)
{
    (void)state;
    srv_t t;
    char *t1, *t2;
    start_own(&t, "IMGSEC_AUTH_FAIL_LIMIT", "2", &t1, &t2);
    http_resp r;
    /* the delete fails */
    if (on_pg(&t)) {
        sql_exec(&t, "CREATE FUNCTION keep_tokens() RETURNS trigger LANGUAGE plpgsql AS "
                     "'BEGIN RAISE EXCEPTION ''tokens are kept''; END'");
        sql_exec(&t, "CREATE TRIGGER keep_tokens BEFORE DELETE ON tokens "
                     "FOR EACH ROW EXECUTE FUNCTION keep_tokens()");
    } else {
        sql_exec(&t, "CREATE TRIGGER keep_tokens BEFORE DELETE ON tokens "
                     "BEGIN SELECT RAISE(ABORT, 'tokens are kept'); END");
    }
    revoke_on(&t, t1, t2, &r);
    assert_keystone_error(&r, 500, "Internal Server Error");
    http_resp_free(&r);
    assert_true(srv_log_wait_for(&t, "tokens are kept", 3000));
    sql_exec(&t, on_pg(&t) ? "DROP TRIGGER keep_tokens ON tokens" : "DROP TRIGGER keep_tokens");
    /* the lookups fail, as often as the limit of failed logins (the auth
     * epoch too: with it readable, t1's principal, cached at an epoch
     * that did not move, would be used without reading tokens) */
    sql_exec(&t, "ALTER TABLE tokens RENAME TO tokens_away");
    sql_exec(&t, "ALTER TABLE auth_epoch RENAME TO auth_epoch_away");
    for (int i = 0; i < 2; i++) {
        revoke_on(&t, t1, t2, &r);
        assert_keystone_error(&r, 500, "Internal Server Error");
        http_resp_free(&r);
    }
    stat_res st = api_stat(&t, t1, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_error(st, 500, "HSS.0041", NULL, "a v5 route while tokens cannot be read");
    sql_exec(&t, "ALTER TABLE tokens_away RENAME TO tokens");
    sql_exec(&t, "ALTER TABLE auth_epoch_away RENAME TO auth_epoch");
    /* no failed login was counted (no 429), and nothing was revoked */
    st = api_stat(&t, t2, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_total(st, 0, "t2 after the failed revocations");
    revoke_on(&t, t1, t2, &r);
    assert_status(&r, 204);
    http_resp_free(&r);
    st = api_stat(&t, t2, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_error(st, 401, "APIGW.0301", NULL, "t2 once revoked");
    free(t1);
    free(t2);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* Expired tokens are deleted while the server runs, not only when it
 * starts (IMGSEC_TOKEN_PURGE_TEST_MS stands for the hour between purges). */
static void test_expired_tokens_purged_while_running(void **state)
{
    (void)state;
    srv_t t;
    char *old, *fresh;
    start_own(&t, "IMGSEC_TOKEN_PURGE_TEST_MS", "1000", &old, &fresh);
    /* both expired long ago, as far as the server can tell; then a new one */
    sql_exec(&t, "UPDATE tokens SET expires_ms = 1");
    free(fresh);
    fresh = get_token(&t, "acme", "root", "root-pw-1", "P1");
    assert_non_null(fresh);
    stat_res st = api_stat(&t, old, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_error(st, 401, "APIGW.0301", NULL, "an expired token");
    long long n = db_tokens(&t);
    for (int i = 0; i < 500 && n > 1; i++) {
        h_sleep_ms(20);
        n = db_tokens(&t);
    }
    assert_int_equal(n, 1);
    assert_true(srv_log_wait_for(&t, "imgsecd: deleted 2 expired tokens", 3000));
    st = api_stat(&t, fresh, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_total(st, 0, "the token that had not expired");
    free(old);
    free(fresh);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* ---- logins off the HTTP threads (the login queue of bg.h) ----
 *
 * A login's password check runs on the background pool's login queue
 * while its connection is suspended. These tests hold logins there without timing
 * anything: this process takes the database's write lock (BEGIN
 * IMMEDIATE), so a login of a real user checks its password and then waits
 * in SQLite's busy handler (10 s) to insert its token until the test lets
 * go. What is asserted is an order of events, never a duration. */

#define LOGIN_TEST_USER "root"
#define LOGIN_TEST_PW "root-pw-1"

/* imgsecd with --threads 1 (the harness passes no --threads): one HTTP
 * thread, so a login handled on it would hold every other request. */
static void start_one_http_thread(srv_t *t)
{
    assert_int_equal(srv_init(t), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(t->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("IMGSEC_AUTH_FAIL_LIMIT", "0", 0);
        /* the key file and exports where the harness puts them (harness.h:
         * beside the file on SQLite, in the temp dir on PostgreSQL) */
        char key[H_PATH_MAX + 8], exports[H_PATH_MAX + 16];
        snprintf(key, sizeof key, "%s.key", t->beside);
        snprintf(exports, sizeof exports, "%s.exports", t->beside);
        setenv("IMGSEC_KEY_FILE", key, 1);
        execl(IMGSECD_PATH, IMGSECD_PATH, "--db", t->db, "--listen", "127.0.0.1:0", "--region",
              t->region, "--port-file", t->port_file, "--threads", "1", "--export-dir", exports,
              (char *)NULL);
        _exit(127);
    }
    t->pid = pid;
    /* the port file is written by rename once the server listens */
    for (int i = 0; i < H_START_TIMEOUT_MS / H_POLL_MS && t->port == 0; i++) {
        FILE *f = fopen(t->port_file, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            t->port = port;
            break;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            t->pid = 0;
            print_error("imgsecd --threads 1 exited during start-up\n");
            fail();
        }
        h_sleep_ms(H_POLL_MS);
    }
    assert_true(t->port > 0);
    http_resp r;
    api_call(t, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_int_equal(cli_user_add(t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1", "admin", "all"),
                     0);
}

/* Another connection holding SQLite's write lock: logins wait to insert
 * their token, after their password check. */
static db_conn *hold_write_lock(const srv_t *t)
{
    db_conn *c = sql_open(t);
    imgsec_err err = {0};
    assert_int_equal(db_begin_write(c, &err), IMGSEC_OK);
    return c;
}

static void release_write_lock(db_conn *c)
{
    assert_true(db_in_transaction(c));
    db_rollback(c);
    db_close(c);
}

static atomic_int answer_seq; /* the order in which answers arrived */

/* A login sent on a socket of its own, all of it before the call returns,
 * and read by a thread that notes when its answer came. */
typedef struct {
    int fd;
    pthread_t thread;
    char buf[8192];
    size_t len;
    int order;         /* answer_seq when the whole answer was in */
} raw_login;

static void *raw_login_read(void *arg)
{
    raw_login *l = arg;
    for (;;) {
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        if (poll(&p, 1, 60000) <= 0) /* a hang guard, not an assertion */
            break;
        ssize_t n = read(l->fd, l->buf + l->len, sizeof l->buf - 1 - l->len);
        if (n <= 0)
            break;
        l->len += (size_t)n;
    }
    l->buf[l->len] = '\0';
    l->order = atomic_fetch_add(&answer_seq, 1);
    return NULL;
}

static void raw_login_start(const srv_t *t, raw_login *l)
{
    memset(l, 0, sizeof *l);
    char *body = h_strdupf(
        "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"%s\","
        "\"password\":\"%s\",\"domain\":{\"name\":\"acme\"}}}},\"scope\":{\"project\":{\"id\":"
        "\"P1\"}}}}",
        LOGIN_TEST_USER, LOGIN_TEST_PW);
    char *req = h_strdupf("POST /v3/auth/tokens HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n%s",
                          t->port, strlen(body), body);
    l->fd = srv_connect(t);
    assert_true(l->fd >= 0);
    assert_int_equal(h_send_all(l->fd, req, strlen(req)), strlen(req));
    free(req);
    free(body);
    assert_int_equal(pthread_create(&l->thread, NULL, raw_login_read, l), 0);
}

/* Joins the reader; the answer's status (0 if none). */
static int raw_login_end(raw_login *l)
{
    pthread_join(l->thread, NULL);
    close(l->fd);
    int status = 0;
    if (sscanf(l->buf, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    if (status != 201)
        print_error("login answer: %.600s\n", l->buf);
    return status;
}

#define HELD_LOGINS 3 /* more than the pool's 2 workers: one waits in its queue */
#define HEALTHZ_CALLS 3

/* With one HTTP thread and logins in progress, /healthz is answered, again
 * and again, before any of them: their password checks do not run on the
 * HTTP thread. (Were they run there, /healthz would wait behind them, and
 * come after the first login's 500 once SQLite's busy timeout ended it.) */
static void test_login_leaves_http_thread_free(void **state)
{
    (void)state;
    srv_t t;
    start_one_http_thread(&t);
    db_conn *db = hold_write_lock(&t);
    atomic_store(&answer_seq, 0);
    raw_login logins[HELD_LOGINS];
    for (int i = 0; i < HELD_LOGINS; i++)
        raw_login_start(&t, &logins[i]);
    /* Several in a row on one kept-alive connection: one HTTP thread may
     * take a new connection before others that arrived with it, but once
     * it has answered one it has seen the logins' bytes too. */
    for (int k = 0; k < HEALTHZ_CALLS; k++) {
        http_resp r;
        api_call(&t, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL, &r);
        assert_status(&r, 200);
        http_resp_free(&r);
    }
    int healthz_order = atomic_fetch_add(&answer_seq, 1);
    release_write_lock(db);
    int status[HELD_LOGINS];
    for (int i = 0; i < HELD_LOGINS; i++)
        status[i] = raw_login_end(&logins[i]);
    for (int i = 0; i < HELD_LOGINS; i++) {
        if (logins[i].order < healthz_order) {
            print_error("login %d was answered (#%d) before the last /healthz (#%d): the "
                        "HTTP thread was held\n",
                        i, logins[i].order, healthz_order);
            fail();
        }
    }
    assert_int_equal(healthz_order, 0);
    for (int i = 0; i < HELD_LOGINS; i++)
        assert_int_equal(status[i], 201);
    /* the held logins' tokens work */
    char *tok = get_token(&t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1");
    assert_non_null(tok);
    stat_res st = api_stat(&t, tok, "P1", "apps", NULL, OPERATE_ALL);
    assert_stat_total(st, 0, "a token issued by the login queue");
    free(tok);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* Logins on curl threads, against a server whose login queue has 1 worker
 * and 1 place to wait (the test knobs): 2 places in all. */
#define SMALL_POOL_PLACES 2

typedef struct {
    const srv_t *t;
    pthread_t thread;
    http_resp r;
    atomic_bool done;
} curl_login;

static void *curl_login_run(void *arg)
{
    curl_login *c = arg;
    api_token_req(c->t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1", false, &c->r);
    http_thread_done();
    atomic_store(&c->done, true);
    return NULL;
}

static void start_small_pool(srv_t *t)
{
    memset(t, 0, sizeof *t);
    setenv("IMGSEC_LOGIN_TEST_WORKERS", "1", 1);
    setenv("IMGSEC_LOGIN_TEST_QUEUE", "1", 1);
    int started = srv_start(t);
    unsetenv("IMGSEC_LOGIN_TEST_WORKERS");
    unsetenv("IMGSEC_LOGIN_TEST_QUEUE");
    assert_int_equal(started, 0);
    assert_int_equal(cli_user_add(t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1", "admin", "all"),
                     0);
}

static void curl_logins_start(const srv_t *t, curl_login *c, int n)
{
    memset(c, 0, sizeof *c * (size_t)n);
    for (int i = 0; i < n; i++) {
        c[i].t = t;
        assert_int_equal(pthread_create(&c[i].thread, NULL, curl_login_run, &c[i]), 0);
    }
}

/* With the write lock held no login can finish: the logins answered are
 * exactly those the pool refused. Waits for want of them (the bound is a
 * hang guard only) and checks their answers: 429 in the Keystone shape,
 * with Retry-After. Once they are in, every login has been taken by an
 * HTTP thread, and the others hold the pool's places. */
static void wait_refused(curl_login *c, int n, int want)
{
    int answered = 0;
    for (int i = 0; i < 60000 / H_POLL_MS; i++) {
        answered = 0;
        for (int k = 0; k < n; k++)
            answered += atomic_load(&c[k].done);
        if (answered >= want)
            break;
        h_sleep_ms(H_POLL_MS);
    }
    assert_int_equal(answered, want);
    for (int k = 0; k < n; k++) {
        if (!atomic_load(&c[k].done))
            continue;
        assert_keystone_error(&c[k].r, 429, "Too Many Requests");
        const char *ra = http_header(&c[k].r, "Retry-After");
        assert_non_null(ra);
        assert_true(atoi(ra) >= 1);
        assert_null(http_header(&c[k].r, "X-Subject-Token"));
    }
}

/* Joins them all: how many got a token and how many 429. */
static void curl_logins_end(curl_login *c, int n, int *issued_n, int *refused)
{
    *issued_n = *refused = 0;
    for (int k = 0; k < n; k++) {
        pthread_join(c[k].thread, NULL);
        if (c[k].r.status == 201)
            ++*issued_n;
        else if (c[k].r.status == 429)
            ++*refused;
        else
            print_error("login %d: %ld %s\n", k, c[k].r.status, c[k].r.body);
        http_resp_free(&c[k].r);
    }
}

/* A login the pool has no place for is refused at once (429), without
 * waiting for the logins ahead of it; those still get their tokens, and
 * give their places back. */
static void test_login_queue_full_is_429(void **state)
{
    (void)state;
    enum { n = 5 };
    srv_t t;
    start_small_pool(&t);
    db_conn *db = hold_write_lock(&t);
    curl_login c[n];
    curl_logins_start(&t, c, n);
    wait_refused(c, n, n - SMALL_POOL_PLACES);
    release_write_lock(db);
    int issued_n, refused;
    curl_logins_end(c, n, &issued_n, &refused);
    assert_int_equal(issued_n, SMALL_POOL_PLACES);
    assert_int_equal(refused, n - SMALL_POOL_PLACES);
    char *tok = get_token(&t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1");
    assert_non_null(tok);
    free(tok);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* SIGTERM while logins are in the pool, one checking and one waiting:
 * both still get their tokens, and the server then exits 0 (under ASan:
 * no leak, and no connection left suspended for MHD_stop_daemon). */
static void test_sigterm_answers_held_logins(void **state)
{
    (void)state;
    enum { n = SMALL_POOL_PLACES + 1 };
    srv_t t;
    start_small_pool(&t);
    db_conn *db = hold_write_lock(&t);
    curl_login c[n];
    curl_logins_start(&t, c, n);
    wait_refused(c, n, 1);
    assert_int_equal(kill(t.pid, SIGTERM), 0);
    assert_true(srv_log_wait_for(&t, "SIGTERM received", 10000));
    release_write_lock(db);
    int issued_n, refused;
    curl_logins_end(c, n, &issued_n, &refused);
    assert_int_equal(issued_n, SMALL_POOL_PLACES);
    assert_int_equal(refused, 1);
    assert_true(srv_log_wait_for(&t, "imgsecd: stopped", 30000));
    assert_int_equal(srv_stop(&t, true), 0);
}

/* ---- the failed-login limit under concurrent logins ---- */

#define CONCURRENT_LOGINS 34 /* the login queue's 2 workers + 32 places: none refused for room */
#define CONCURRENT_FAIL_LIMIT 20

typedef struct {
    const srv_t *t;
    pthread_t thread;
    long status;
    char title[64];
} wrong_login;

static void *wrong_login_run(void *arg)
{
    wrong_login *w = arg;
    http_resp r;
    api_token_req(w->t, "acme", LOGIN_TEST_USER, "not-the-password", "P1", false, &r);
    w->status = r.status;
    const char *t = json_string_value(json_object_get(json_object_get(r.json, "error"), "title"));
    snprintf(w->title, sizeof w->title, "%s", t ? t : "");
    http_resp_free(&r);
    http_thread_done();
    return NULL;
}

/* 34 wrong passwords sent at once against a limit of 20: exactly 20
 * password checks (401), the other 14 refused (429) before theirs. Each
 * login reserves its attempt before the check, so concurrent ones cannot
 * all pass the limit checked at their start. Whatever the order the
 * server takes them in, the counts are exact. */
static void test_concurrent_logins_respect_fail_limit(void **state)
{
    (void)state;
    srv_t t;
    memset(&t, 0, sizeof t);
    setenv("IMGSEC_AUTH_FAIL_LIMIT", "20", 1);
    int started = srv_start(&t);
    unsetenv("IMGSEC_AUTH_FAIL_LIMIT");
    assert_int_equal(started, 0);
    assert_int_equal(cli_user_add(&t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1", "admin", "all"),
                     0);
    wrong_login w[CONCURRENT_LOGINS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < CONCURRENT_LOGINS; i++) {
        w[i].t = &t;
        assert_int_equal(pthread_create(&w[i].thread, NULL, wrong_login_run, &w[i]), 0);
    }
    int unauthorized = 0, limited = 0;
    for (int i = 0; i < CONCURRENT_LOGINS; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].status == 401 && strcmp(w[i].title, "Unauthorized") == 0)
            unauthorized++;
        else if (w[i].status == 429 && strcmp(w[i].title, "Too Many Requests") == 0)
            limited++;
        else
            print_error("login %d: %ld \"%s\"\n", i, w[i].status, w[i].title);
    }
    assert_int_equal(unauthorized, CONCURRENT_FAIL_LIMIT);
    assert_int_equal(limited, CONCURRENT_LOGINS - CONCURRENT_FAIL_LIMIT);
    /* the address stays locked out, even with the right password */
    http_resp r;
    api_token_req(&t, "acme", LOGIN_TEST_USER, LOGIN_TEST_PW, "P1", false, &r);
    assert_keystone_error(&r, 429, "Too Many Requests");
    http_resp_free(&r);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* A login that succeeds gives its reserved attempt back: with a limit of
 * 2, any number of good logins leave both attempts to wrong passwords. */
static void test_good_logins_do_not_count(void **state)
{
    (void)state;
    srv_t t;
    char *t1, *t2;
    start_own(&t, "IMGSEC_AUTH_FAIL_LIMIT", "2", &t1, &t2);
    for (int i = 0; i < 3; i++)
        free(get_token(&t, "acme", "root", "root-pw-1", "P1"));
    http_resp r;
    for (int i = 0; i < 2; i++) {
        api_token_req(&t, "acme", "root", "wrong-pw", "P1", false, &r);
        assert_keystone_error(&r, 401, "Unauthorized");
        http_resp_free(&r);
    }
    api_token_req(&t, "acme", "root", "root-pw-1", "P1", false, &r);
    assert_keystone_error(&r, 429, "Too Many Requests");
    http_resp_free(&r);
    free(t1);
    free(t2);
    assert_int_equal(srv_stop(&t, true), 0);
}

/* The log never holds a token or a password. Runs last. */
static void test_log_has_no_secrets(void **state)
{
    (void)state;
    http_resp r;
    api_call(&S, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL, &r);
    char rid[128];
    snprintf(rid, sizeof rid, "%s", http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    assert_true(srv_log_wait_for(&S, rid, 3000));
    char *log = srv_log(&S); /* read once: no request runs from here on */
    static const char *pws[] = {"alice-pw-1", "bob-pw-22", "other-pw-3", "carol-pw-4",
                                "dave-pw-6", "frank-pw-7", "erin-pw-5"};
    for (size_t i = 0; i < sizeof pws / sizeof pws[0]; i++)
        if (strstr(log, pws[i])) {
            print_error("the log holds password %s\n", pws[i]);
            fail();
        }
    assert_true(n_issued > 5);
    for (size_t i = 0; i < n_issued; i++)
        if (strstr(log, issued[i])) {
            print_error("the log holds token %s\n", issued[i]);
            fail();
        }
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue),
        cmocka_unit_test(test_roles_in_token),
        cmocka_unit_test(test_scope_by_name),
        cmocka_unit_test(test_login_failures_look_alike),
        cmocka_unit_test(test_malformed_token_request),
        cmocka_unit_test(test_route_errors_keystone_shape),
        cmocka_unit_test(test_delete_revokes),
        cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_project_scope),
        cmocka_unit_test(test_user_added_while_running),
        cmocka_unit_test(test_deleted_user),
        cmocka_unit_test(test_revoked_grant),
        cmocka_unit_test(test_grant_change_applies_at_once),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_revoke_store_failure_is_500),
        cmocka_unit_test(test_expired_tokens_purged_while_running),
        cmocka_unit_test(test_login_leaves_http_thread_free),
        cmocka_unit_test(test_login_queue_full_is_429),
        cmocka_unit_test(test_sigterm_answers_held_logins),
        cmocka_unit_test(test_concurrent_logins_respect_fail_limit),
        cmocka_unit_test(test_good_logins_do_not_count),
        cmocka_unit_test(test_log_has_no_secrets),
    };
    int failed = cmocka_run_group_tests_name("tokens", tests, setup, teardown);
    return failed + harness_failures();
}
