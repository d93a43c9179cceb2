/* test_result_cache.c - the caches in front of the statistic route give
 * the answers the engine would, never older than the file.
 *
 * imgsecd keeps statistic answers (result_cache.h) and token principals
 * (auth_cache.h) for one generation of the database file. Here the same
 * body bytes are sent around every kind of change (ingest over HTTP,
 * re-ingest, `imgsec import` from another process, delete, a grant
 * widened or revoked by the CLI) and each answer must be the new one at
 * once; the same body under another report, EP or caller must not share
 * an answer; a refused body is never remembered; and the server's own
 * count of hits, printed when it stops, is exact, also while an export
 * task runs (its progress is no commit). Also here: the request lines go
 * to --access-log when it is given.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static srv_t S;
static char *T_ADM; /* admin, P1, all EPs */
static char *T_BOB; /* reader, P1, EP c1 only */

#define ALL "{\"operate_all\":true}"

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    T_BOB = user_token(&S, "acme", "bob", "bob-pw-2", "P1", "reader", "c1");
    return T_ADM && T_BOB ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    free(T_BOB);
    return srv_stop(&S, true);
}

/* A document with n vulnerabilities and m apps. */
static char *doc(const char *name, int n, int m)
{
    size_t cap = 8192;
    char *s = malloc(cap);
    if (!s)
        abort();
    int k = snprintf(s, cap,
                     "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"rc\","
                     "\"image_name\":\"%s\",\"image_version\":\"1\",\"scan_status\":\"success\"},"
                     "\"vulnerabilities\":[",
                     name);
    for (int i = 0; i < n; i++)
        k += snprintf(s + k, cap - (size_t)k,
                      "%s{\"vul_id\":\"CVE-2025-%d\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"}",
                      i ? "," : "", i);
    k += snprintf(s + k, cap - (size_t)k, "],\"apps\":[");
    for (int i = 0; i < m; i++)
        k += snprintf(s + k, cap - (size_t)k, "%s{\"app_name\":\"a%d\"}", i ? "," : "", i);
    snprintf(s + k, cap - (size_t)k, "]}");
    return s;
}

/* Ingests one document into P1/ep as admin; its id into id. */
static void ingest_one(const char *ep, const char *body, char id[32])
{
    http_resp r;
    api_ingest(&S, T_ADM, "P1", ep, body, false, &r);
    assert_status(&r, 200);
    char ids[1][32];
    assert_int_equal(ingest_ids(&r, ids, 1), 1);
    if (id)
        memcpy(id, ids[0], 32);
    http_resp_free(&r);
}

#define assert_total(token, type, ep, body, want)                                   \
    do {                                                                            \
        stat_res st_ = api_stat(&S, (token), "P1", (type), (ep), (body));           \
        assert_stat_total(st_, (want), (type));                                     \
    } while (0)

/* The same bytes, asked after each change, get the new count at once. */
static void test_same_body_follows_every_change(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_total(T_ADM, "vulnerability", "c9", ALL, 0);
    char *a = doc("follow-a", 3, 0);
    char id_a[32];
    ingest_one("c9", a, id_a);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 3);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 3);

    char *a2 = doc("follow-a", 5, 0); /* the same identity: replaced */
    ingest_one("c9", a2, NULL);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 5);

    /* another process writes the file */
    char *b = doc("follow-b", 2, 0);
    char *path = h_strdupf("%s/follow-b.json", S.dir);
    assert_int_equal(h_write_file(path, b, strlen(b)), 0);
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c9", path,
                     NULL);
    if (rc != 0)
        print_error("imgsec import: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 7);

    char *del = h_strdupf("/v5/P1/image/scan-results/%s", id_a);
    http_resp r;
    api_call(&S, "DELETE", del, NULL, T_ADM, S.region, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 2);
    assert_total(T_ADM, "vulnerability", "c9", ALL, 2);
    free(a);
    free(a2);
    free(b);
    free(path);
    free(del);
}

/* Report, EP and caller are part of the key; the body's spelling is not
 * part of the answer. */
static void test_scope_is_part_of_the_key(void **state)
{
    (void)state;
    char *c1 = doc("scope-1", 4, 1), *c2 = doc("scope-2", 6, 2);
    ingest_one("c1", c1, NULL);
    ingest_one("c2", c2, NULL);
    assert_total(T_ADM, "vulnerability", "c1", ALL, 4);
    assert_total(T_ADM, "vulnerability", "c2", ALL, 6);
    assert_total(T_ADM, "apps", "c1", ALL, 1);
    assert_total(T_ADM, "apps", "c2", ALL, 2);
    /* all_granted_eps: the admin sees every EP, bob only c1 */
    long long everything = api_stat(&S, T_ADM, "P1", "vulnerability", "all_granted_eps", ALL).total;
    assert_true(everything >= 10);
    assert_total(T_BOB, "vulnerability", "all_granted_eps", ALL, 4);
    assert_total(T_ADM, "vulnerability", "all_granted_eps", ALL, everything);
    assert_total(T_BOB, "vulnerability", "all_granted_eps", ALL, 4);
    /* bob may not read c2, cached answer or not */
    stat_res st = api_stat(&S, T_BOB, "P1", "vulnerability", "c2", ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "bob in c2");
    /* the same question spelled differently */
    assert_total(T_ADM, "vulnerability", "c1", "{ \"operate_all\" : true }", 4);
    assert_total(T_ADM, "vulnerability", "c1", "{\"operate_all\":true,\"image_name\":\"scope-1\"}", 4);
    assert_total(T_ADM, "vulnerability", "c1", "{\"operate_all\":true,\"image_name\":\"scope-2\"}", 0);
    free(c1);
    free(c2);
}

/* A grant changed by the CLI changes the next answer of a token in use. */
static void test_grant_changes_are_seen(void **state)
{
    (void)state;
    assert_total(T_BOB, "apps", "all_granted_eps", ALL, 1);
    assert_int_equal(cli_user_grant(&S, "acme", "bob", "P1", "reader", "c1,c2"), 0);
    assert_total(T_BOB, "apps", "all_granted_eps", ALL, 3);
    assert_total(T_BOB, "apps", "c2", ALL, 2);
    assert_int_equal(cli_user_grant(&S, "acme", "bob", "P1", "reader", "c1"), 0);
    assert_total(T_BOB, "apps", "all_granted_eps", ALL, 1);
    stat_res st = api_stat(&S, T_BOB, "P1", "apps", "c2", ALL);
    assert_stat_error(st, 403, "HSS.0013", NULL, "bob in c2 after the grant narrowed");
    /* revoked: the token dies with the grant */
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "user", "revoke", "--db", S.db, "--domain", "acme", "--name",
                     "bob", "--project", "P1", NULL);
    if (rc != 0)
        print_error("imgsec user revoke: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    st = api_stat(&S, T_BOB, "P1", "apps", "all_granted_eps", ALL);
    assert_stat_error(st, 401, "APIGW.0301", NULL, "bob after revoke");
}

/* A refused body is refused every time: only answers are remembered. */
static void test_refused_bodies_are_not_remembered(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        stat_res st = api_stat(&S, T_ADM, "P1", "vulnerability", "c1", "{\"operate_all\":\"yes\"}");
        assert_stat_error(st, 400, "HSS.0001", "operate_all", "operate_all as a string");
        st = api_stat(&S, T_ADM, "P1", "vulnerability", "c1", "{\"operate_all\":true");
        assert_stat_error(st, 400, "HSS.0002", NULL, "truncated JSON");
    }
    assert_total(T_ADM, "vulnerability", "c1", ALL, 4);
}

/* Starts t, a server of its own, with name=value in imgsecd's environment
 * (value NULL: left out) and an admin of P1; returns the admin's token. */
static char *start_own(srv_t *t, const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    int started = srv_start(t);
    unsetenv(name);
    assert_int_equal(started, 0);
    assert_int_equal(cli_user_add(t, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    char *tok = get_token(t, "acme", "root", "root-pw-1", "P1");
    assert_non_null(tok);
    return tok;
}

/* The server's own count, on a server of its own: N identical questions
 * are one miss and N-1 hits; a refused body is a miss each time; with
 * --result-cache-mb 0 nothing is remembered and the answers are the same. */
static void hit_count_run(const char *cache_mb, const char *want_line)
{
    srv_t t;
    memset(&t, 0, sizeof t);
    char *tok = start_own(&t, "IMGSEC_RESULT_CACHE_MB", cache_mb);
    for (int i = 0; i < 5; i++) {
        stat_res st = api_stat(&t, tok, "P1", "apps", "0", ALL);
        assert_stat_total(st, 0, "empty server");
    }
    for (int i = 0; i < 2; i++) {
        stat_res st = api_stat(&t, tok, "P1", "apps", "0", "[]");
        assert_stat_error(st, 400, "HSS.0002", NULL, "an array body");
    }
    free(tok);
    assert_int_equal(srv_stop(&t, false), 0);
    if (!srv_log_contains(&t, want_line)) {
        char *log = srv_log(&t);
        print_error("want the line \"%s\" in the log:\n%s\n", want_line, log);
        free(log);
        fail();
    }
    srv_stop(&t, true);
}

static void test_hit_count_is_exact(void **state)
{
    (void)state;
    hit_count_run(NULL, "imgsecd: statistic answers: 4 from the result cache, 3 not in it\n");
    hit_count_run("0", "imgsecd: statistic answers: result cache off\n");
}

/* GET the status of task on t; its record_num, and whether it runs. */
static bool task_running(srv_t *t, const char *tok, const char *task, long long *record_num)
{
    char *path = h_strdupf("/v5/P1/export-task/%s", task);
    http_resp r;
    api_call(t, "GET", path, NULL, tok, H_REGION, NULL, NULL, &r);
    free(path);
    assert_status(&r, 200);
    const json_t *status = json_object_get(r.json, "task_status");
    const json_t *n = json_object_get(r.json, "record_num");
    bool running = json_is_string(status) && strcmp(json_string_value(status), "running") == 0;
    *record_num = json_is_integer(n) ? (long long)json_integer_value(n) : -1;
    http_resp_free(&r);
    return running;
}

/* The server's "statistic answers: H from the result cache, M not in it"
 * line, once it has stopped: H and M, or false. */
static bool answer_counts(const srv_t *t, unsigned long long *hits, unsigned long long *misses)
{
    char *log = srv_log(t);
    const char *line = strstr(log, "imgsecd: statistic answers: ");
    bool ok = line && sscanf(line, "imgsecd: statistic answers: %llu from the result cache, "
                                   "%llu not in it", hits, misses) == 2;
    if (!ok)
        print_error("no statistic answers line in the log:\n%s\n", log);
    free(log);
    return ok;
}

/* One vulnerability statistic on t, all EPs: the total must be want. */
static void ask(srv_t *t, const char *tok, long long want, const char *what)
{
    stat_res st = api_stat(t, tok, "P1", "vulnerability", "0", ALL);
    assert_stat_total(st, want, what);
}

/* Commits that touch no image keep the answers: logins (each a new token
 * row) and a revocation between identical questions are all hits; an
 * ingest moves the index's content, so the next question is a miss and
 * the one after it a hit again. (Keyed by the file's generation, every
 * one of those commits cost a miss.) */
static void test_logins_keep_answers(void **state)
{
    (void)state;
    srv_t t;
    memset(&t, 0, sizeof t);
    char *tok = start_own(&t, "IMGSEC_RESULT_CACHE_MB", NULL);
    ask(&t, tok, 0, "first: a miss");
    char *last = NULL;
    for (int i = 0; i < 5; i++) {
        free(last);
        last = get_token(&t, "acme", "root", "root-pw-1", "P1");
        assert_non_null(last);
        ask(&t, tok, 0, "after a login");
    }
    char *a = h_strdupf("X-Auth-Token: %s", tok);
    char *sub = h_strdupf("X-Subject-Token: %s", last);
    const char *h[] = {a, sub, NULL};
    http_req rq = {.method = "DELETE", .path = "/v3/auth/tokens", .headers = h};
    http_resp r;
    assert_int_equal(http_do(&t, &rq, &r), 204);
    http_resp_free(&r);
    free(a);
    free(sub);
    free(last);
    ask(&t, tok, 0, "after a revocation");
    char *body = doc("moved", 3, 0);
    api_ingest(&t, tok, "P1", "0", body, false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(body);
    for (int i = 0; i < 2; i++)
        ask(&t, tok, 3, "after an ingest");
    free(tok);
    assert_int_equal(srv_stop(&t, false), 0);
    unsigned long long hits = 0, misses = 0;
    assert_true(answer_counts(&t, &hits, &misses));
    assert_int_equal(misses, 2); /* the first question, and the first after the ingest */
    assert_int_equal(hits, 7);
    /* The token cache, keyed by the auth epoch, keeps the caller's token
     * through the logins: 12 lookups of a token (9 questions, the ingest,
     * the revocation's caller and subject), of which three read SQLite:
     * the first question, the revoked token, and the first question after
     * the revocation (it moved the epoch). */
    const char *want = "imgsecd: principals (tokens and access keys): 9 from the cache, "
                       "3 not in it\n";
    if (!srv_log_contains(&t, want)) {
        char *log = srv_log(&t);
        print_error("want the line \"%s\" in the log:\n%s\n", want, log);
        free(log);
        fail();
    }
    srv_stop(&t, true);
}

/* An export task reports its progress as it goes, yet that is no commit:
 * the same question asked while it runs stays a hit. */
static void test_hits_while_an_export_runs(void **state)
{
    (void)state;
    srv_t t;
    memset(&t, 0, sizeof t);
    assert_int_equal(srv_init(&t), 0);
    char *db_arg = h_strdupf("--db=%s", t.db);
    assert_int_equal(cli_run(&t, NULL, NULL, "demo", db_arg, "--project", "P1", "--images",
                             "1200", "--eps", "0", NULL),
                     0);
    free(db_arg);
    /* 0.5 s per 1,024 rows: the task runs for about ten seconds, and its
     * progress moves twice a second */
    char *tok = start_own(&t, "IMGSEC_EXPORT_TEST_PACE_MS", "500");
    http_resp r;
    api_call(&t, "POST", "/v5/P1/image/security-report/export-tasks", NULL, tok, H_REGION,
             "{\"operate_all\": true, \"security_report_type\": \"vulnerability\", "
             "\"export_size\": 10000000, \"file_format\": \"csv\"}",
             "application/json", &r);
    assert_status(&r, 200);
    char *task = strdup(json_string_value(json_object_get(r.json, "task_id")));
    http_resp_free(&r);
    long long before = 0, after = 0;
    for (int i = 0; i < 1500 && task_running(&t, tok, task, &before) && before <= 0; i++)
        h_sleep_ms(20);
    assert_true(before > 0); /* running, and its progress shows */

    enum { ASKED = 20 }; /* over 4 s: some 8 progress updates */
    long long want = api_stat(&t, tok, "P1", "vulnerability", "0", ALL).total;
    assert_true(want > 0);
    for (int i = 1; i < ASKED; i++) {
        h_sleep_ms(200);
        stat_res st = api_stat(&t, tok, "P1", "vulnerability", "0", ALL);
        assert_stat_total(st, want, "while the export runs");
    }
    assert_true(task_running(&t, tok, task, &after));
    assert_true(after > before); /* the progress moved meanwhile */
    free(task);
    free(tok);
    assert_int_equal(srv_stop(&t, false), 0);
    unsigned long long hits = 0, misses = 0;
    assert_true(answer_counts(&t, &hits, &misses));
    assert_int_equal(hits + misses, ASKED);
    /* One miss, the first: the answers are keyed by the index's content,
     * which no commit of the export task moves. */
    if (misses != 1) {
        print_error("%llu of %d questions missed the cache while the export ran\n", misses,
                    ASKED);
        fail();
    }
    srv_stop(&t, true);
}

/* IMGSEC_ACCESS_LOG (--access-log): the request lines go to that file,
 * whole, and no longer to standard error. */
static void test_access_log_file(void **state)
{
    (void)state;
    srv_t t;
    memset(&t, 0, sizeof t);
    assert_int_equal(srv_init(&t), 0);
    char *path = h_strdupf("%s/access.log", t.dir);
    char *tok = start_own(&t, "IMGSEC_ACCESS_LOG", path);
    for (int i = 0; i < 3; i++) {
        stat_res st = api_stat(&t, tok, "P1", "apps", "0", ALL);
        assert_stat_total(st, 0, "empty server");
    }
    free(tok);
    assert_int_equal(srv_stop(&t, false), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int stat_lines = 0, token_lines = 0, other = 0;
    while (fgets(line, sizeof line, f)) {
        assert_non_null(strchr(line, '\n')); /* whole lines */
        if (strstr(line, " POST /v5/P1/image/security-report/statistic 200 "))
            stat_lines++;
        else if (strstr(line, " POST /v3/auth/tokens 201 "))
            token_lines++;
        else if (!strstr(line, " GET /healthz 200 "))
            other++;
    }
    fclose(f);
    assert_int_equal(stat_lines, 3);
    assert_int_equal(token_lines, 1);
    assert_int_equal(other, 0);
    assert_false(srv_log_contains(&t, "security-report/statistic"));
    assert_true(srv_log_contains(&t, "imgsecd: serving"));
    free(path);
    srv_stop(&t, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_body_follows_every_change),
        cmocka_unit_test(test_scope_is_part_of_the_key),
        cmocka_unit_test(test_grant_changes_are_seen),
        cmocka_unit_test(test_refused_bodies_are_not_remembered),
        cmocka_unit_test(test_hit_count_is_exact),
        cmocka_unit_test(test_logins_keep_answers),
        cmocka_unit_test(test_hits_while_an_export_runs),
        cmocka_unit_test(test_access_log_file),
    };
    int failed = cmocka_run_group_tests_name("result cache", tests, setup, teardown);
    return failed + harness_failures();
}
