/* test_multinode.c - three imgsecd nodes on one PostgreSQL database
 * (issue 16 item 5; run only as pg.api.test_multinode).
 *
 * Nodes A, B and C each have their own port, log and export directory,
 * the same database and the same key file. One user, made once by the
 * command line on the URI; its token comes from a login on A. Then:
 *
 *  - freshness across nodes: right after A (or `imgsec import`)
 *    acknowledges a write, one statistic on B and one on C, with no
 *    sleep and no retry, answer the new total; the same for a
 *    replacement and a delete;
 *  - tokens: issued by A, accepted by B and C; revoked on B, refused by
 *    A and C at once;
 *  - an export made on A is polled on B and C and downloads from all
 *    three byte for byte the same;
 *  - A killed (SIGKILL) right after a large ingest's body went out: B,
 *    polling meanwhile, and C afterwards see the old total or the new
 *    one, never another number, and every write acknowledged before is
 *    still there; A started again builds its index from the database;
 *  - A killed while running an export task: B or C fails the task with
 *    the stored reason (docs/design.md "Stateless nodes": export tasks
 *    are failed, not taken over), so it is never left running;
 *  - following by LISTEN/NOTIFY: B, started to look for writes only once
 *    an hour, applies each write of A to its index with no request of its
 *    own (its /metrics, which never syncs, shows the index position reach
 *    A's change-log position, the syncs counted as woken by
 *    notifications, none by polling or requests), also across the loss
 *    of every listening connection (terminated on the server: the
 *    listeners reconnect, listen again and catch up); and B with
 *    notifications off and the same hourly look still answers a
 *    statistic with A's write at once (the per-request probe).
 *
 * The nodes run with a 1 s export lease (IMGSEC_EXPORT_TEST_LEASE_MS), so
 * the janitor looks every 250 ms; on one machine a dead owner's pid makes
 * the recovery immediate at the next look.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static srv_t A, B, C;
static char *TOK; /* admin of P1, all EPs, from a login on A */

#define DEMO_VULNS 5158 /* `imgsec demo --images 300 --eps 0` */

static const char *jstr(const http_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

/* B (or C): a node on A's database (srv_init_node). */
static int srv_node(srv_t *s)
{
    return srv_init_node(s, &A);
}

static int setup(void **state)
{
    (void)state;
    if (srv_init(&A) != 0)
        return -1;
    char *db_arg = h_strdupf("--db=%s", A.db);
    int rc = cli_run(&A, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "300",
                     "--eps", "0", NULL);
    free(db_arg);
    if (rc != 0 || cli_user_add(&A, "acme", "root", "root-pw-1", "P1", "admin", "all") != 0)
        return -1;
    setenv("IMGSEC_EXPORT_TEST_LEASE_MS", "1000", 1);
    if (srv_start(&A) != 0 || srv_node(&B) != 0 || srv_start(&B) != 0 || srv_node(&C) != 0 ||
        srv_start(&C) != 0)
        return -1;
    TOK = get_token(&A, "acme", "root", "root-pw-1", "P1");
    return TOK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(TOK);
    TOK = NULL;
    unsetenv("IMGSEC_EXPORT_TEST_LEASE_MS");
    int rc = srv_stop(&C, true);
    rc |= srv_stop(&B, true);
    rc |= srv_stop(&A, true); /* last: it drops the database */
    return rc;
}

/* total_num of type in EP ep of P1 on node s; -1 (printed) on error. */
static long long count_on(const srv_t *s, const char *type, const char *ep)
{
    return api_count(s, TOK, "P1", type, ep, NULL);
}

/* One statistic on each of B and C, no retry: both exactly want. */
#define assert_seen_by_b_and_c(type, ep, want)                                                \
    do {                                                                                       \
        assert_int_equal(count_on(&B, (type), (ep)), (want));                                  \
        assert_int_equal(count_on(&C, (type), (ep)), (want));                                  \
    } while (0)

/* A document with vuls vulnerabilities and apps apps. */
static char *doc(const char *name, const char *version, int vuls, int apps)
{
    size_t cap = 256 + 80 * (size_t)(vuls + apps);
    char *s = malloc(cap);
    if (!s)
        abort();
    int n = snprintf(s, cap,
                     "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"mn\","
                     "\"image_name\":\"%s\",\"image_version\":\"%s\",\"scan_status\":\"success\"},"
                     "\"vulnerabilities\":[",
                     name, version);
    for (int i = 0; i < vuls; i++)
        n += snprintf(s + n, cap - (size_t)n,
                      "%s{\"vul_id\":\"CVE-2024-%d\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}",
                      i ? "," : "", i);
    n += snprintf(s + n, cap - (size_t)n, "],\"apps\":[");
    for (int i = 0; i < apps; i++)
        n += snprintf(s + n, cap - (size_t)n, "%s{\"app_name\":\"pkg%d\"}", i ? "," : "", i);
    snprintf(s + n, cap - (size_t)n, "]}");
    return s;
}

/* n documents name-0..n-1 (version v), each with vuls vulnerabilities, as NDJSON. */
static char *bulk(const char *name, const char *v, int n, int vuls)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    for (int i = 0; i < n; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s-%d", name, i);
        char *d = doc(nm, v, vuls, 0);
        size_t dl = strlen(d);
        if (len + dl + 2 > cap) {
            cap = (len + dl + 2) * 2;
            if (!(out = realloc(out, cap)))
                abort();
        }
        memcpy(out + len, d, dl);
        len += dl;
        out[len++] = '\n';
        free(d);
    }
    out[len] = '\0';
    return out;
}

/* Ingests body on s into EP ep of P1: 200 and the ids (up to n). */
static int ingest_on(const srv_t *s, const char *ep, const char *body, char (*ids)[32], size_t n)
{
    http_resp r;
    api_ingest(s, TOK, "P1", ep, body, true, &r);
    assert_status(&r, 200);
    int got = ingest_ids(&r, ids, n);
    http_resp_free(&r);
    return got;
}

/* 1. A write acknowledged by A, or by the command line, is in the next
 * answer of B and C. */
static void test_freshness_across_nodes(void **state)
{
    (void)state;
    assert_seen_by_b_and_c("vulnerability", "0", DEMO_VULNS); /* built from the database */
    assert_seen_by_b_and_c("vulnerability", "fresh", 0);

    /* 5 documents x 3 vulnerabilities through A */
    char *b1 = bulk("fr", "1", 5, 3);
    char ids[5][32];
    assert_int_equal(ingest_on(&A, "fresh", b1, ids, 5), 5);
    assert_seen_by_b_and_c("vulnerability", "fresh", 15);
    /* each in turn: a write on A, read at once on B and C */
    for (int i = 1; i <= 10; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "fr-more-%d", i);
        char *d = doc(nm, "1", i, 1);
        char one[1][32];
        assert_int_equal(ingest_on(&A, "fresh", d, one, 1), 1);
        free(d);
        assert_seen_by_b_and_c("vulnerability", "fresh", 15 + i * (i + 1) / 2);
        assert_seen_by_b_and_c("apps", "fresh", i);
    }
    /* 15 + 55 = 70 */

    /* a replacement (same identity, 3 -> 7 vulnerabilities) through A */
    char *r0 = doc("fr-0", "1", 7, 2);
    char rid[1][32];
    assert_int_equal(ingest_on(&A, "fresh", r0, rid, 1), 1);
    assert_string_equal(rid[0], ids[0]);
    assert_seen_by_b_and_c("vulnerability", "fresh", 74);
    assert_seen_by_b_and_c("apps", "fresh", 12);
    free(r0);

    /* a delete through A */
    char *path = h_strdupf("/v5/P1/image/scan-results/%s", ids[1]);
    http_resp r;
    api_call(&A, "DELETE", path, NULL, TOK, H_REGION, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    free(path);
    assert_seen_by_b_and_c("vulnerability", "fresh", 71);

    /* a write by the command line on the URI (no node involved) */
    char *nd = bulk("fr-cli", "1", 4, 2);
    char *file = h_strdupf("%s/cli.ndjson", A.dir);
    assert_int_equal(h_write_file(file, nd, strlen(nd)), 0);
    char *out = NULL;
    int rc = cli_run(&A, NULL, &out, "import", "--db", A.db, "--project", "P1", "--ep", "fresh",
                     file, NULL);
    if (rc != 0)
        print_error("imgsec import: exit %d: %s\n", rc, out);
    free(out);
    assert_int_equal(rc, 0);
    assert_seen_by_b_and_c("vulnerability", "fresh", 79);
    assert_int_equal(count_on(&A, "vulnerability", "fresh"), 79);
    free(file);
    free(nd);
    free(b1);
}

static long delete_token(const srv_t *s, const char *caller, const char *subject)
{
    char *a = h_strdupf("X-Auth-Token: %s", caller), *sub = h_strdupf("X-Subject-Token: %s", subject);
    const char *h[] = {a, sub, NULL};
    http_req rq = {.method = "DELETE", .path = "/v3/auth/tokens", .headers = h};
    http_resp r;
    long st = http_do(s, &rq, &r);
    http_resp_free(&r);
    free(a);
    free(sub);
    return st;
}

/* 2. A token from A works on B and C; revoked on B, A and C refuse it at once. */
static void test_tokens_across_nodes(void **state)
{
    (void)state;
    char *t = get_token(&A, "acme", "root", "root-pw-1", "P1");
    assert_non_null(t);
    const srv_t *nodes[3] = {&A, &B, &C};
    for (int i = 0; i < 3; i++)
        assert_int_equal(api_count(nodes[i], t, "P1", "vulnerability", "0", NULL), DEMO_VULNS);
    assert_int_equal(delete_token(&B, TOK, t), 204);
    for (int i = 0; i < 3; i++) {
        stat_res sr = api_stat(nodes[i], t, "P1", "vulnerability", "0", "{\"operate_all\":true}");
        assert_stat_error(sr, 401, "APIGW.0301", NULL, "a token revoked on B");
    }
    /* the revoker's own token is untouched everywhere */
    for (int i = 0; i < 3; i++)
        assert_int_equal(api_count(nodes[i], TOK, "P1", "vulnerability", "0", NULL), DEMO_VULNS);
    free(t);
}

static char *create_export(const srv_t *s, const char *type)
{
    http_resp r;
    char *body = h_strdupf("{\"operate_all\": true, \"security_report_type\": \"%s\", "
                           "\"export_size\": 100000, \"file_format\": \"csv\"}",
                           type);
    api_call(s, "POST", "/v5/P1/image/security-report/export-tasks", NULL, TOK, H_REGION, body,
             "application/json", &r);
    free(body);
    assert_status(&r, 200);
    char *task = strdup(jstr(&r, "task_id"));
    http_resp_free(&r);
    return task;
}

static void download_on(const srv_t *s, const char *fid, http_resp *r)
{
    char *path = h_strdupf("/v5/P1/download/%s", fid);
    api_call(s, "GET", path, NULL, TOK, H_REGION, NULL, NULL, r);
    free(path);
    assert_status(r, 200);
}

/* 3. An export made on A: B and C see it end, and all three serve the same bytes. */
static void test_export_across_nodes(void **state)
{
    (void)state;
    char *t = create_export(&A, "vulnerability");
    http_resp rb, rc;
    wait_export_ended(&B, TOK, "P1", t, NULL, &rb);
    assert_string_equal(jstr(&rb, "task_status"), "success");
    api_export_status(&C, TOK, "P1", t, NULL, &rc);
    assert_status(&rc, 200);
    assert_string_equal(jstr(&rc, "task_status"), "success");
    assert_string_equal(jstr(&rc, "file_id"), jstr(&rb, "file_id"));
    assert_int_equal(json_integer_value(json_object_get(rb.json, "record_num")), DEMO_VULNS);
    char *fid = strdup(jstr(&rb, "file_id"));
    http_resp_free(&rb);
    http_resp_free(&rc);

    http_resp da, db, dc;
    download_on(&A, fid, &da);
    download_on(&B, fid, &db);
    download_on(&C, fid, &dc);
    int lines = 0;
    for (size_t i = 0; i < da.body_len; i++)
        lines += da.body[i] == '\n';
    assert_int_equal(lines, DEMO_VULNS + 1); /* and the header */
    assert_int_equal(db.body_len, da.body_len);
    assert_int_equal(dc.body_len, da.body_len);
    assert_memory_equal(db.body, da.body, da.body_len);
    assert_memory_equal(dc.body, da.body, da.body_len);
    http_resp_free(&da);
    http_resp_free(&db);
    http_resp_free(&dc);
    free(fid);
    free(t);
}

static void kill9(srv_t *s)
{
    assert_int_equal(kill(s->pid, SIGKILL), 0);
    int wst;
    assert_int_equal(waitpid(s->pid, &wst, 0), s->pid);
    assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
    s->pid = 0;
}

/* B's statistic of EP "big", polled until stop: any answer other than
 * old or new is counted. */
typedef struct {
    const char *ep;
    long long old_total, new_total;
    atomic_int stop;
    int reads, bad;
    long long bad_total;
} poller;

static void *poll_main(void *arg)
{
    poller *p = arg;
    while (!atomic_load(&p->stop)) {
        long long n = count_on(&B, "vulnerability", p->ep);
        p->reads++;
        if (n != p->old_total && n != p->new_total) {
            p->bad++;
            p->bad_total = n;
        }
        h_sleep_ms(5); /* leaves A the cores */
    }
    http_thread_done();
    return NULL;
}

#define BIG_DOCS 2000
#define BIG_VULNS 5

/* Sends a BIG_DOCS ingest into EP ep to A, waits wait_ms, kills A
 * (SIGKILL), and checks that B (polling all along) and C then see the
 * EP's old total or its new one, never another; starts A again.
 * Returns whether the ingest was committed. */
static bool ingest_and_kill(const char *ep, const char *body, long long old_total, int wait_ms)
{
    size_t blen = strlen(body);
    char *req = h_strdupf("POST /v5/P1/image/scan-results?enterprise_project_id=%s HTTP/1.1\r\n"
                          "Host: 127.0.0.1:%d\r\nX-Auth-Token: %s\r\nregion: %s\r\n"
                          "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                          ep, A.port, TOK, H_REGION, blen);
    poller p = {.ep = ep, .old_total = old_total, .new_total = old_total + BIG_DOCS * BIG_VULNS};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poll_main, &p), 0);
    int fd = srv_connect(&A);
    assert_true(fd >= 0);
    h_send_exact(fd, req, strlen(req));
    h_send_exact(fd, body, blen);
    if (wait_ms)
        h_sleep_ms(wait_ms);
    kill9(&A); /* the body is out: the kill lands while A reads or stores it, or after */
    close(fd);
    /* B polls a little longer, across whatever A's death left behind */
    int until = p.reads + 20;
    while (p.reads < until)
        h_sleep_ms(H_POLL_MS);
    atomic_store(&p.stop, 1);
    pthread_join(th, NULL);
    if (p.bad)
        fail_msg("%d of %d reads on B saw %lld (want %lld or %lld)", p.bad, p.reads, p.bad_total,
                 p.old_total, p.new_total);
    long long on_c = count_on(&C, "vulnerability", ep);
    if (on_c != p.old_total && on_c != p.new_total)
        fail_msg("C saw %lld (want %lld or %lld)", on_c, p.old_total, p.new_total);
    assert_int_equal(count_on(&B, "vulnerability", ep), on_c);
    print_message("killed %d ms after the body went out: the ingest was %s (%d reads on B)\n",
                  wait_ms, on_c == p.new_total ? "committed" : "not committed", p.reads);
    /* A comes back, builds its index from the database, and agrees */
    assert_int_equal(srv_start(&A), 0);
    assert_int_equal(count_on(&A, "vulnerability", ep), on_c);
    free(req);
    return on_c == p.new_total;
}

/* 4. A killed during large ingests, at three points of the time one
 * takes (right after the body went out, half way, near the end): the others see the old total or the new one, and every
 * acknowledged write. */
static void test_kill_during_ingest(void **state)
{
    (void)state;
    /* acknowledged before: 3 x 2 in EP big */
    char *b0 = bulk("pre", "1", 3, 2);
    char ids[3][32];
    assert_int_equal(ingest_on(&A, "big", b0, ids, 3), 3);
    free(b0);
    assert_seen_by_b_and_c("vulnerability", "big", 6);

    /* one whole, acknowledged, timed for the kills' points (which are
     * not asserted on: any point must give old or new) */
    char *body = bulk("big", "1", BIG_DOCS, BIG_VULNS);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char one[1][32];
    assert_int_equal(ingest_on(&A, "big-ref", body, one, 1), BIG_DOCS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int took = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    assert_seen_by_b_and_c("vulnerability", "big-ref", BIG_DOCS * BIG_VULNS);

    const char *eps[3] = {"big", "big-1", "big-2"};
    long long olds[3] = {6, 0, 0};
    bool committed[3];
    for (int i = 0; i < 3; i++) { /* images of their own (an identity moves between EPs) */
        char name[16];
        snprintf(name, sizeof name, "kill%d", i);
        char *b = bulk(name, "1", BIG_DOCS, BIG_VULNS);
        committed[i] = ingest_and_kill(eps[i], b, olds[i], took * (int[]){0, 50, 95}[i] / 100);
        free(b);
    }
    print_message("a whole ingest took %d ms on A\n", took);

    /* every acknowledged write is still there, on every node */
    const srv_t *nodes[3] = {&A, &B, &C};
    for (int n = 0; n < 3; n++) {
        assert_int_equal(count_on(nodes[n], "vulnerability", "0"), DEMO_VULNS);
        assert_int_equal(count_on(nodes[n], "vulnerability", "fresh"), 79);
        assert_int_equal(count_on(nodes[n], "vulnerability", "big-ref"), BIG_DOCS * BIG_VULNS);
        for (int i = 0; i < 3; i++)
            assert_int_equal(count_on(nodes[n], "vulnerability", eps[i]),
                             olds[i] + (committed[i] ? BIG_DOCS * BIG_VULNS : 0));
    }
    free(body);
}

/* ---- following by LISTEN/NOTIFY ---- */

/* The value of a series (name and labels as written) in s's /metrics, or
 * -1 when absent. GET /metrics reads positions and counters; it never
 * syncs the index. */
static double metric_on(const srv_t *s, const char *series)
{
    http_req rq = {.method = "GET", .path = "/metrics"};
    http_resp r;
    http_do(s, &rq, &r);
    assert_status(&r, 200);
    double v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    http_resp_free(&r);
    return v;
}

#define FOLLOW_WAIT_MS 30000 /* a bound for a node that never learns: the test then fails */

/* Polls s's /metrics (nothing else) until series reaches want; returns
 * the last value (less than want after FOLLOW_WAIT_MS). */
static double metric_reaches(const srv_t *s, const char *series, double want)
{
    double v = metric_on(s, series);
    for (int waited = 0; v < want && waited < FOLLOW_WAIT_MS; waited += H_POLL_MS) {
        h_sleep_ms(H_POLL_MS);
        v = metric_on(s, series);
    }
    return v;
}

/* B again, with the environment's follower settings (NULL: unset). */
static void restart_b(const char *poll_ms, const char *notify)
{
    assert_int_equal(srv_stop(&B, false), 0);
    if (poll_ms)
        setenv("IMGSEC_FOLLOW_POLL_MS", poll_ms, 1);
    if (notify)
        setenv("IMGSEC_FOLLOW_NOTIFY", notify, 1);
    int rc = srv_start(&B);
    unsetenv("IMGSEC_FOLLOW_POLL_MS");
    unsetenv("IMGSEC_FOLLOW_NOTIFY");
    assert_int_equal(rc, 0);
}

/* psql -c sql on the nodes' database: its output (malloc'd, trimmed). */
static char *psql(const char *sql)
{
    char *out = h_strdupf("%s/psql.out", A.dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *const argv[] = {"psql", "-X", "-q", "-A", "-t", "-d", A.db, "-c", (char *)sql, NULL};
    extern char **environ;
    pid_t pid;
    assert_int_equal(posix_spawnp(&pid, "psql", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    char *text = calloc(1, 4096);
    assert_non_null(text);
    FILE *f = fopen(out, "rb");
    size_t len = f ? fread(text, 1, 4095, f) : 0;
    if (f)
        fclose(f);
    free(out);
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        fail_msg("psql -c \"%s\": %s", sql, text);
    return text;
}

/* One document into EP "notify" on A; returns A's change-log position
 * after the acknowledgement. */
static double write_on_a(int i)
{
    char nm[32];
    snprintf(nm, sizeof nm, "nt-%d", i);
    char *d = doc(nm, "1", 2, 0);
    char one[1][32];
    assert_int_equal(ingest_on(&A, "notify", d, one, 1), 1);
    free(d);
    double pos = metric_on(&A, "imgsec_changelog_position");
    assert_true(pos > 0);
    return pos;
}

#define SYNCS(cause) "imgsec_follow_syncs_total{cause=\"" cause "\"}"

/* 6. B looks once an hour: A's writes reach its index by notification. */
static void test_follow_by_notify(void **state)
{
    (void)state;
    restart_b("3600000", NULL);
    assert_true(metric_on(&B, "imgsec_follow_listening") == 1);
    double notes0 = metric_on(&B, "imgsec_follow_notifications_total");
    for (int i = 1; i <= 3; i++) {
        double pos = write_on_a(i);
        double got = metric_reaches(&B, "imgsec_index_position", pos);
        if (got != pos)
            fail_msg("write %d: B's index position is %.0f, A's change log %.0f", i, got, pos);
    }
    assert_true(metric_on(&B, "imgsec_follow_notifications_total") >= notes0 + 3);
    assert_true(metric_on(&B, SYNCS("notify")) >= 3);
    assert_true(metric_on(&B, SYNCS("poll")) == 0);
    assert_true(metric_on(&B, SYNCS("request")) == 0);
    assert_true(metric_on(&B, "imgsec_follow_listen_reconnects_total") == 0);

    /* every listening connection (A's, B's, C's) ended by the server: each
     * listener reconnects, listens again and catches up with what it
     * missed, whether A's write came before or after that */
    char *n = psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND query = 'LISTEN imgsec_changes'");
    assert_string_equal(n, "3");
    free(n);
    double pos = write_on_a(4);
    double got = metric_reaches(&B, "imgsec_index_position", pos);
    if (got != pos)
        fail_msg("after the loss: B's index position is %.0f, A's change log %.0f", got, pos);
    assert_true(metric_reaches(&B, "imgsec_follow_listen_reconnects_total", 1) == 1);
    assert_true(metric_on(&B, SYNCS("poll")) == 0);
    assert_true(metric_on(&B, SYNCS("request")) == 0);
    /* and it listens on: the next write comes by notification again */
    double syncs = metric_on(&B, SYNCS("notify"));
    pos = write_on_a(5);
    got = metric_reaches(&B, "imgsec_index_position", pos);
    if (got != pos)
        fail_msg("after the reconnection: B's index position is %.0f, A's change log %.0f", got,
                 pos);
    assert_true(metric_on(&B, SYNCS("notify")) > syncs);
    assert_int_equal(count_on(&B, "vulnerability", "notify"), 10);

    /* no notifications, the same hourly look: a statistic on B right
     * after A's write has it all the same (the request's probe) */
    restart_b("3600000", "off");
    assert_true(metric_on(&B, "imgsec_follow_listening") == 0);
    write_on_a(6);
    assert_int_equal(count_on(&B, "vulnerability", "notify"), 12);
    assert_true(metric_on(&B, SYNCS("request")) == 1);
    assert_true(metric_on(&B, SYNCS("notify")) == 0);
    assert_true(metric_on(&B, "imgsec_follow_notifications_total") == 0);
    restart_b(NULL, NULL); /* as the other tests want it */
}

/* 5. A killed while running an export: B or C fails the task with the
 * stored reason; it never stays running. */
static void test_kill_during_export(void **state)
{
    (void)state;
    /* A again, slowed: 4 s per 1,024 rows, so the task still runs when killed */
    assert_int_equal(srv_stop(&A, false), 0);
    setenv("IMGSEC_EXPORT_TEST_PACE_MS", "4000", 1);
    assert_int_equal(srv_start(&A), 0);
    unsetenv("IMGSEC_EXPORT_TEST_PACE_MS");
    char *t = create_export(&A, "vulnerability");
    /* progress lives in the memory of the node that runs the task
     * (export_workers.c), so it is watched on A; B and C see it running */
    wait_export_rows(&A, TOK, "P1", t);
    http_resp r;
    for (int i = 0; i < 2; i++) {
        api_export_status(i ? &C : &B, TOK, "P1", t, NULL, &r);
        assert_status(&r, 200);
        assert_string_equal(jstr(&r, "task_status"), "running");
        print_message("%s: %s\n", i ? "C" : "B", r.body);
        http_resp_free(&r);
    }
    kill9(&A);
    wait_export_ended(&C, TOK, "P1", t, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    http_resp_free(&r);
    api_export_status(&B, TOK, "P1", t, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    http_resp_free(&r);
    /* exactly one of the survivors recovered it */
    const char *line = "1 export tasks were interrupted by the stop of their server";
    bool on_b = srv_log_wait_for(&B, line, 2000), on_c = srv_log_contains(&C, line);
    if (on_b == on_c)
        fail_msg("the recovery logged on B: %d, on C: %d (want exactly one)", on_b, on_c);
    /* the other nodes still serve, and a new export succeeds on them */
    char *t2 = create_export(&B, "malwares");
    wait_export_ended(&C, TOK, "P1", t2, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "success");
    http_resp_free(&r);
    /* A back for the teardown (it drops the database) */
    assert_int_equal(srv_start(&A), 0);
    free(t);
    free(t2);
}

int main(void)
{
    const char *pg = getenv("IMGSEC_TEST_PG");
    if (!pg || !*pg) {
        printf("test_multinode: PostgreSQL only (IMGSEC_TEST_PG unset): nothing to test\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freshness_across_nodes),
        cmocka_unit_test(test_tokens_across_nodes),
        cmocka_unit_test(test_export_across_nodes),
        cmocka_unit_test(test_follow_by_notify),
        cmocka_unit_test(test_kill_during_ingest),
        cmocka_unit_test(test_kill_during_export),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
