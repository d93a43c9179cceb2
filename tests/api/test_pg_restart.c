/* test_pg_restart.c - PostgreSQL stopped and started again under load,
 * end to end (issue 16 item 5; run only as pg.api.test_pg_restart).
 *
 * `api_test_pg_restart PG_CLUSTER_SH DIR` starts a cluster of its own in
 * DIR (tests/support/pg_cluster.sh: the shared fixture's cluster is not
 * stopped under the other pg tests) and runs two imgsecd nodes, A and B,
 * on one database of it. Two threads ask for a statistic without pause
 * (one on each node) and a third writes without pause (alternating
 * nodes): write n is 2 documents x 3 vulnerabilities and 1 app each, into
 * an enterprise project of its own ("w-n"). Twice, once with `pg_ctl stop
 * -m fast` and once with `-m immediate` (a crash: the start replays the
 * WAL), the test
 *
 *   - stops PostgreSQL; while it is down, every answer to a request sent
 *     and answered while it was down (by the load threads and by the
 *     test's own checks on each node) is 503 with Retry-After: 2 and
 *     exactly {"error_code":"HSS.0041","error_msg":...}: never a 200 from
 *     the index the node still holds; /readyz is 503 with Retry-After and
 *     reason "the database does not answer";
 *   - starts it again; each node, never restarted, answers /readyz 200
 *     and the exact statistic within RECOVER_TRIES tries (each after the
 *     Retry-After the previous answer asked for), and takes writes again.
 *
 * Every answer at any time is a 200 (with the exact base total, for the
 * statistic) or that 503. At the end a third node, C, started on the
 * database, builds its index from it; for every write, the three nodes
 * give the same counts, which are all of it (6 vulnerabilities, 2 apps)
 * or nothing (no half of a write), and all of it when the write was
 * acknowledged. A write whose answer was lost with the connection may
 * be either (its commit may have landed); the test says how many were.
 *
 * No timed assertions: waits are bounded by counts of answers and of
 * retries.
 */
#include "harness.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/db.h"

#include "../support/pg_cluster_run.h"

static const char *CLUSTER_SH, *CLUSTER_DIR;
static srv_t A, B, C;
static char *TOK; /* admin of P1, all EPs */

#define BASE_VULNS 12     /* EP "base": 4 documents x 3 vulnerabilities */
#define WRITES_MAX 2000
#define WRITE_VULNS 6     /* per write: 2 documents x 3 */
#define WRITE_APPS 2
#define RECOVER_TRIES 10  /* tries per node after the start, each after its Retry-After */
#define DOWN_ANSWERS 20   /* load answers wanted while the database is down */
#define UP_WRITES 10      /* acknowledged writes wanted before each stop and after each start */

static int cluster(const char *cmd, char *out, size_t size)
{
    return pg_cluster_run(CLUSTER_SH, cmd, CLUSTER_DIR, out, size);
}

/* ---- the answers ---- */

/* Is r the answer to an unreachable database: 503, Retry-After: 2, and
 * exactly {"error_code":"HSS.0041","error_msg":<string>}? Says why not in why. */
static bool is_unavailable(const http_resp *r, char *why, size_t size)
{
    const char *ra = http_header(r, "Retry-After");
    json_t *code = json_object_get(r->json, "error_code");
    json_t *msg = json_object_get(r->json, "error_msg");
    if (r->status == 503 && ra && strcmp(ra, "2") == 0 && json_object_size(r->json) == 2 &&
        json_is_string(code) && strcmp(json_string_value(code), "HSS.0041") == 0 &&
        json_is_string(msg))
        return true;
    snprintf(why, size, "%s: %ld, Retry-After %s: %.200s", r->desc, r->status, ra ? ra : "(none)",
             r->body ? r->body : "");
    return false;
}

static long stat_call(const srv_t *s, const char *ep, http_resp *r)
{
    char *q = h_strdupf("security_report_type=vulnerability&enterprise_project_id=%s", ep);
    long st = api_call(s, "POST", "/v5/P1/image/security-report/statistic", q, TOK, H_REGION,
                       "{\"operate_all\":true}", "application/json", r);
    free(q);
    return st;
}

static long long total_of(const http_resp *r)
{
    json_t *t = json_object_get(r->json, "total_num");
    return json_is_integer(t) ? (long long)json_integer_value(t) : -1;
}

/* ---- the load ---- */

/* Odd while the database is down: set after the stop returned, cleared
 * before the start begins. A request that saw the same odd value before
 * it was sent and after it was answered ran entirely while it was down. */
static atomic_int EPOCH;
static atomic_int STOP_LOAD;

typedef struct {
    atomic_int answers, ok, unavailable, down_answers; /* down_answers: within an odd epoch */
    atomic_int bad;
    char bad_msg[512];
} tally;

static void tally_bad(tally *t, const char *what, const char *detail)
{
    if (atomic_fetch_add(&t->bad, 1) == 0)
        snprintf(t->bad_msg, sizeof t->bad_msg, "%s: %s", what, detail);
}

/* Classifies one answer: 200 (checked by ok_check), or the 503. */
static void tally_answer(tally *t, const http_resp *r, int e0, int e1, bool ok_good)
{
    char why[400];
    bool down = e0 == e1 && (e0 & 1);
    atomic_fetch_add(&t->answers, 1);
    if (down)
        atomic_fetch_add(&t->down_answers, 1);
    if (r->status == 200) {
        atomic_fetch_add(&t->ok, 1);
        if (down)
            tally_bad(t, "a 200 while the database was down", r->desc);
        else if (!ok_good)
            tally_bad(t, "a wrong 200", r->body ? r->body : "");
    } else if (is_unavailable(r, why, sizeof why)) {
        atomic_fetch_add(&t->unavailable, 1);
    } else {
        tally_bad(t, "neither 200 nor the 503", why);
    }
}

typedef struct {
    const srv_t *node;
    tally t;
} reader;

static void *reader_main(void *arg)
{
    reader *rd = arg;
    while (!atomic_load(&STOP_LOAD)) {
        http_resp r;
        int e0 = atomic_load(&EPOCH);
        stat_call(rd->node, "base", &r);
        int e1 = atomic_load(&EPOCH);
        tally_answer(&rd->t, &r, e0, e1, total_of(&r) == BASE_VULNS);
        http_resp_free(&r);
        h_sleep_ms(2); /* leaves the nodes some of the two cores */
    }
    http_thread_done();
    return NULL;
}

static tally WT;                 /* the writer's answers */
static atomic_int NWRITES;       /* writes sent (w-0 .. w-(n-1)) */
static atomic_int ACKED_N;       /* of them acknowledged */
static atomic_char ACKED[WRITES_MAX];

static char *write_body(int n)
{
    char *docs[2];
    for (int d = 0; d < 2; d++)
        docs[d] = h_strdupf(
            "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"pgr\","
            "\"image_name\":\"w%d-%d\",\"image_version\":\"1\",\"scan_status\":\"success\"},"
            "\"vulnerabilities\":["
            "{\"vul_id\":\"CVE-2024-1\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"},"
            "{\"vul_id\":\"CVE-2024-2\",\"vul_type\":\"linux_vul\",\"severity\":\"high\"},"
            "{\"vul_id\":\"CVE-2024-3\",\"vul_type\":\"linux_vul\",\"severity\":\"medium\"}],"
            "\"apps\":[{\"app_name\":\"pkg%d\"}]}",
            n, d, d);
    char *body = h_strdupf("%s\n%s\n", docs[0], docs[1]);
    free(docs[0]);
    free(docs[1]);
    return body;
}

static void *writer_main(void *arg)
{
    (void)arg;
    for (int n = 0; n < WRITES_MAX && !atomic_load(&STOP_LOAD); n++) {
        char *body = write_body(n);
        char ep[16];
        snprintf(ep, sizeof ep, "w-%d", n);
        http_resp r;
        int e0 = atomic_load(&EPOCH);
        atomic_store(&NWRITES, n + 1);
        api_ingest(n % 2 ? &B : &A, TOK, "P1", ep, body, true, &r);
        int e1 = atomic_load(&EPOCH);
        char ids[2][32];
        tally_answer(&WT, &r, e0, e1, r.status == 200 && ingest_ids(&r, ids, 2) == 2);
        if (r.status == 200) {
            atomic_store(&ACKED[n], (char)(e1 + 1)); /* 1 + the epoch it came in */
            atomic_fetch_add(&ACKED_N, 1);
        }
        bool refused = r.status != 200;
        http_resp_free(&r);
        free(body);
        h_sleep_ms(refused ? 50 : 2); /* fewer writes to check at the end */
    }
    http_thread_done();
    return NULL;
}

/* ---- the nodes ---- */

/* B (or C): a node on A's database (srv_init_node). */
static int srv_node(srv_t *s)
{
    return srv_init_node(s, &A);
}

static int setup(void **state)
{
    (void)state;
    if (srv_init(&A) != 0 || cli_user_add(&A, "acme", "root", "root-pw-1", "P1", "admin", "all") != 0)
        return -1;
    if (srv_start(&A) != 0 || srv_node(&B) != 0 || srv_start(&B) != 0)
        return -1;
    TOK = get_token(&A, "acme", "root", "root-pw-1", "P1");
    if (!TOK)
        return -1;
    char *body = h_strdupf("%s", "");
    for (int i = 0; i < 4; i++) { /* b0 .. b3, 3 vulnerabilities each */
        char *more = h_strdupf(
            "%s{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"pgr\","
            "\"image_name\":\"b%d\",\"image_version\":\"1\",\"scan_status\":\"success\"},"
            "\"vulnerabilities\":["
            "{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"},"
            "{\"vul_id\":\"CVE-2\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"},"
            "{\"vul_id\":\"CVE-3\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}]}\n",
            body, i);
        free(body);
        body = more;
    }
    http_resp r;
    api_ingest(&A, TOK, "P1", "base", body, true, &r);
    free(body);
    char ids[4][32];
    int ok = r.status == 200 && ingest_ids(&r, ids, 4) == 4;
    if (!ok)
        fprintf(stderr, "the base ingest: %ld %s\n", r.status, r.body);
    http_resp_free(&r);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(TOK);
    TOK = NULL;
    int rc = srv_stop(&C, true);
    rc |= srv_stop(&B, true);
    rc |= srv_stop(&A, true); /* last: it drops the database */
    return rc;
}

/* Polls until cond or tries x 20 ms went by; the bound is a count. */
#define WAIT_FOR(cond, tries)                                                                  \
    do {                                                                                       \
        for (int w_ = 0; w_ < (tries) && !(cond); w_++)                                        \
            h_sleep_ms(H_POLL_MS);                                                             \
    } while (0)

/* While the database is down: on node s, a statistic, an ingest and
 * /readyz, each answered with the 503. */
static void check_down(const srv_t *s)
{
    char why[400];
    for (int i = 0; i < 3; i++) {
        http_resp r;
        stat_call(s, "base", &r);
        if (!is_unavailable(&r, why, sizeof why))
            fail_msg("statistic while the database is down: %s", why);
        http_resp_free(&r);
    }
    http_resp r;
    api_ingest(s, TOK, "P1", "down", "{\"image\":{\"image_type\":\"private_image\","
               "\"namespace\":\"pgr\",\"image_name\":\"down\",\"image_version\":\"1\","
               "\"scan_status\":\"success\"}}", false, &r);
    if (!is_unavailable(&r, why, sizeof why))
        fail_msg("ingest while the database is down: %s", why);
    http_resp_free(&r);
    /* a login (it stores its token): Keystone's shape */
    api_token_req(s, "acme", "root", "root-pw-1", "P1", false, &r);
    assert_keystone_error(&r, 503, "Service Unavailable");
    assert_string_equal(http_header(&r, "Retry-After"), "2");
    http_resp_free(&r);
    http_req mq = {.method = "GET", .path = "/metrics"};
    http_do(s, &mq, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\nimgsec_database_up 0\n"));
    http_resp_free(&r);
    http_req rq = {.method = "GET", .path = "/readyz"};
    http_do(s, &rq, &r);
    assert_int_equal(r.status, 503);
    assert_non_null(http_header(&r, "Retry-After"));
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "not ready");
    assert_string_equal(json_string_value(json_object_get(r.json, "reason")),
                        "the database does not answer");
    http_resp_free(&r);
}

/* The Retry-After of r in seconds (1 if absent or odd, at most 5). */
static int retry_after(const http_resp *r)
{
    const char *ra = http_header(r, "Retry-After");
    int s = ra ? atoi(ra) : 1;
    return s < 1 ? 1 : s > 5 ? 5 : s;
}

/* After the start: node s answers /readyz 200 and then the exact base
 * total within RECOVER_TRIES tries each, every failed try a 503. */
static void check_recovers(const srv_t *s, const char *name)
{
    char why[400];
    int tries = 0;
    http_resp r;
    http_req rq = {.method = "GET", .path = "/readyz"};
    for (;;) {
        http_do(s, &rq, &r);
        tries++;
        if (r.status == 200 || tries == RECOVER_TRIES)
            break;
        assert_int_equal(r.status, 503);
        int wait = retry_after(&r);
        http_resp_free(&r);
        h_sleep_ms(wait * 1000);
    }
    if (r.status != 200)
        fail_msg("%s: /readyz after %d tries: %ld %s", name, tries, r.status, r.body);
    http_resp_free(&r);
    print_message("%s: ready again at try %d\n", name, tries);
    for (tries = 1;; tries++) {
        stat_call(s, "base", &r);
        if (r.status == 200 || tries == RECOVER_TRIES)
            break;
        if (!is_unavailable(&r, why, sizeof why))
            fail_msg("%s after the start: %s", name, why);
        int wait = retry_after(&r);
        http_resp_free(&r);
        h_sleep_ms(wait * 1000);
    }
    assert_int_equal(r.status, 200);
    assert_int_equal(total_of(&r), BASE_VULNS);
    http_resp_free(&r);
}

static reader RA, RB;

static int down_answers(void)
{
    return atomic_load(&RA.t.down_answers) + atomic_load(&RB.t.down_answers) +
           atomic_load(&WT.down_answers);
}

/* One stop (mode: "pause" = -m fast, "crash" = -m immediate) and start
 * under the load. */
static void stop_and_start(const char *mode)
{
    /* the load runs, with writes acknowledged, before the stop */
    int acked0 = atomic_load(&ACKED_N);
    WAIT_FOR(atomic_load(&ACKED_N) >= acked0 + UP_WRITES, 5000);
    assert_true(atomic_load(&ACKED_N) >= acked0 + UP_WRITES);

    assert_int_equal(cluster(mode, NULL, 0), 0);
    atomic_fetch_add(&EPOCH, 1); /* odd: down */
    int down0 = down_answers();
    check_down(&A);
    check_down(&B);
    WAIT_FOR(down_answers() >= down0 + DOWN_ANSWERS, 5000);
    assert_true(down_answers() >= down0 + DOWN_ANSWERS);
    check_down(&A);
    check_down(&B);
    atomic_fetch_add(&EPOCH, 1); /* even: up, or coming up */
    assert_int_equal(cluster("resume", NULL, 0), 0);

    check_recovers(&A, "A");
    check_recovers(&B, "B");
    /* and writes are acknowledged again, on both (the writer alternates) */
    acked0 = atomic_load(&ACKED_N);
    WAIT_FOR(atomic_load(&ACKED_N) >= acked0 + UP_WRITES, 5000);
    assert_true(atomic_load(&ACKED_N) >= acked0 + UP_WRITES);
}

static void check_tally(const char *name, const tally *t)
{
    print_message("%s: %d answers: %d 200, %d 503 (%d while down)\n", name, t->answers, t->ok,
                  t->unavailable, t->down_answers);
    if (t->bad)
        fail_msg("%s: %d bad answers; the first: %s", name, t->bad, t->bad_msg);
}

/* The node's log while the database was down: the 503s are logged at
 * most once a second (http_log_internal), each line saying how many
 * requests it stands for; never one line per request. Its reader alone
 * had t->unavailable 503s, hundreds within a second of each other. */
static void check_outage_log(const srv_t *n, const char *name, const tally *t)
{
    char *log = srv_log(n);
    int lines = 0, per_request = 0;
    for (char *line = log, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lines += strstr(line, "imgsecd: database unreachable rid=") != NULL;
        per_request += strstr(line, "imgsecd: internal error rid=") != NULL;
    }
    free(log);
    print_message("%s: %d 503s by its reader, %d log lines for them\n", name, t->unavailable,
                  lines);
    assert_int_equal(per_request, 0);
    assert_true(lines >= 1);
    assert_true(lines < t->unavailable);
}

static void test_stop_and_start_under_load(void **state)
{
    (void)state;
    RA.node = &A;
    RB.node = &B;
    pthread_t ta, tb, tw;
    assert_int_equal(pthread_create(&ta, NULL, reader_main, &RA), 0);
    assert_int_equal(pthread_create(&tb, NULL, reader_main, &RB), 0);
    assert_int_equal(pthread_create(&tw, NULL, writer_main, NULL), 0);

    stop_and_start("pause"); /* pg_ctl stop -m fast */
    stop_and_start("crash"); /* pg_ctl stop -m immediate */

    atomic_store(&STOP_LOAD, 1);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tw, NULL);
    check_tally("statistic on A", &RA.t);
    check_tally("statistic on B", &RB.t);
    check_tally("writes", &WT);
    check_outage_log(&A, "A", &RA.t);
    check_outage_log(&B, "B", &RB.t);

    /* C builds its index from the database: every node agrees with it,
     * write by write, and no write is there in part */
    assert_int_equal(srv_node(&C), 0);
    assert_int_equal(srv_start(&C), 0);
    const srv_t *nodes[3] = {&C, &A, &B};
    int n = atomic_load(&NWRITES), present = 0, unacked_present = 0;
    for (int i = 0; i < n; i++) {
        char ep[16];
        snprintf(ep, sizeof ep, "w-%d", i);
        long long v = api_count(&C, TOK, "P1", "vulnerability", ep, NULL);
        long long a = api_count(&C, TOK, "P1", "apps", ep, NULL);
        if (!((v == 0 && a == 0) || (v == WRITE_VULNS && a == WRITE_APPS)))
            fail_msg("write %d is in part: %lld vulnerabilities, %lld apps", i, v, a);
        if (atomic_load(&ACKED[i]) && v == 0)
            fail_msg("write %d (to %s, acknowledged in epoch %d) is not there; A, B: %lld %lld", i,
                     i % 2 ? "B" : "A", atomic_load(&ACKED[i]) - 1,
                     api_count(&A, TOK, "P1", "vulnerability", ep, NULL),
                     api_count(&B, TOK, "P1", "vulnerability", ep, NULL));
        present += v != 0;
        unacked_present += v != 0 && !atomic_load(&ACKED[i]);
        for (int k = 1; k < 3; k++) /* (a write's apps and vulnerabilities are one commit) */
            assert_int_equal(api_count(nodes[k], TOK, "P1", "vulnerability", ep, NULL), v);
    }
    for (int k = 0; k < 3; k++)
        assert_int_equal(api_count(nodes[k], TOK, "P1", "vulnerability", "base", NULL), BASE_VULNS);
    print_message("%d writes sent, %d acknowledged, %d stored (%d of them unacknowledged)\n", n,
                  atomic_load(&ACKED_N), present, unacked_present);
    assert_int_equal(present - unacked_present, atomic_load(&ACKED_N));
}

/* Whether the cluster at uri acknowledges a commit only once its WAL is
 * written. */
static bool synchronous_commit_on(const char *uri)
{
    db_conn *c = NULL;
    imgsec_err err = {0};
    if (db_open(uri, &c, &err) != IMGSEC_OK)
        return false;
    db_stmt *q = db_prepare(c, "SELECT current_setting('synchronous_commit')", false, "show", &err);
    bool on = q && db_step(q) == DB_ROW && strcmp(db_column_text(q, 0), "on") == 0;
    db_finalize(q);
    db_close(c);
    return on;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PG_CLUSTER_SH DIR\n", argv[0]);
        return 2;
    }
    CLUSTER_SH = argv[1];
    CLUSTER_DIR = argv[2];
    char uri[PATH_MAX + 64];
    /* a commit is acknowledged once its WAL is written: an immediate stop
     * keeps it (pg_cluster.sh) */
    setenv("IMGSEC_PG_SYNCHRONOUS_COMMIT", "on", 1);
    if (cluster("start", uri, sizeof uri) != 0 || !uri[0]) {
        fprintf(stderr, "cannot start a PostgreSQL cluster in %s\n", CLUSTER_DIR);
        return 1;
    }
    setenv("IMGSEC_TEST_PG", uri, 1); /* the harness makes A's database there */
    if (!synchronous_commit_on(uri)) {
        fprintf(stderr, "the cluster in %s runs without synchronous_commit\n", CLUSTER_DIR);
        cluster("stop", NULL, 0);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_and_start_under_load),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
    cluster("stop", NULL, 0);
    return rc;
}
