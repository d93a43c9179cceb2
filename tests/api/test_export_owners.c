/* test_export_owners.c - several servers on one database, and the export
 * directory coming back.
 *
 * Two imgsecd on one file: the second one's start leaves the first one's
 * running export alone (it finishes, whole, and downloads from either
 * server); a server killed with SIGKILL is gone, and the next server to
 * start fails its running task with the reason and removes its partial
 * file, while the tasks of a server still alive keep running. Then: the
 * export directory deleted while a server runs is made again (0700) by
 * the next task, which succeeds. Files made before they lived in the
 * database (schema 12) are moved in at the next start, and then served
 * without the directory's copy.
 */
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *jstr(const http_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

static long long jint(const http_resp *r, const char *key)
{
    return json_integer_value(json_object_get(r->json, key));
}

static char *create_on(srv_t *s, const char *token, const char *type, long long size)
{
    http_resp r;
    char *body = h_strdupf("{\"operate_all\": true, \"security_report_type\": \"%s\", "
                           "\"export_size\": %lld, \"file_format\": \"csv\"}",
                           type, size);
    api_call(s, "POST", "/v5/P1/image/security-report/export-tasks", NULL, token, H_REGION, body,
             "application/json", &r);
    free(body);
    assert_status(&r, 200);
    char *task = strdup(jstr(&r, "task_id"));
    http_resp_free(&r);
    return task;
}

/* How many names in dir end in suffix. */
static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += l > sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

static void kill9(srv_t *s)
{
    assert_int_equal(kill(s->pid, SIGKILL), 0);
    int wst;
    assert_int_equal(waitpid(s->pid, &wst, 0), s->pid);
    s->pid = 0;
}

/* A second server on the same file as a running export (srv_init'd, db
 * pointed at first's). */
static void srv_same_db(srv_t *s, const srv_t *first)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(srv_init(s), 0);
    snprintf(s->db, sizeof s->db, "%s", first->db);
    snprintf(s->beside, sizeof s->beside, "%s", first->beside);
}

static void test_servers_share_a_database(void **state)
{
    (void)state;
    srv_t A = {0}, B, C;
    assert_int_equal(srv_init(&A), 0);
    char *db_arg = h_strdupf("--db=%s", A.db);
    assert_int_equal(cli_run(&A, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "300",
                             "--eps", "0", NULL),
                     0);
    free(db_arg);
    assert_int_equal(cli_user_add(&A, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    char *exports = h_strdupf("%s.exports", A.beside);
    /* slow: 4 s per 1,024 rows; the 5,158 vulnerabilities take 20 s */
    setenv("IMGSEC_EXPORT_TEST_PACE_MS", "4000", 1);
    assert_int_equal(srv_start(&A), 0);
    char *tok = get_token(&A, "acme", "root", "root-pw-1", "P1");
    assert_non_null(tok);
    stat_res sr = api_stat(&A, tok, "P1", "vulnerability", NULL, "{\"operate_all\": true}");
    assert_int_equal(sr.status, 200);
    assert_int_equal(sr.total, 5158);

    /* 1. A writes a task; B starts on the same file meanwhile */
    char *t1 = create_on(&A, tok, "vulnerability", 100000);
    wait_export_rows(&A, tok, "P1", t1);
    assert_int_equal(count_suffix(exports, ".part"), 1);
    srv_same_db(&B, &A);
    setenv("IMGSEC_EXPORT_TEST_PACE_MS", "8000", 1); /* B's task outlives the steps below */
    assert_int_equal(srv_start(&B), 0);
    assert_false(srv_log_contains(&B, "interrupted"));
    /* still A's, still running, its partial file still there */
    http_resp r;
    api_export_status(&B, tok, "P1", t1, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(jstr(&r, "task_status"), "running");
    http_resp_free(&r);
    assert_int_equal(count_suffix(exports, ".part"), 1);
    wait_export_rows(&A, tok, "P1", t1);
    /* B runs a task of its own */
    char *t3 = create_on(&B, tok, "vulnerability", 100000);
    wait_export_rows(&B, tok, "P1", t3);

    /* 2. A is killed while writing a second task; C starts: A's tasks
     * are failed with the reason and A's partial files removed, B's task
     * runs on */
    wait_export_ended(&A, tok, "P1", t1, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "success");
    assert_int_equal(jint(&r, "record_num"), 5158);
    char *f1 = strdup(jstr(&r, "file_id"));
    http_resp_free(&r);
    assert_int_equal(count_suffix(exports, ".part"), 1); /* t3's */
    char *t2 = create_on(&A, tok, "vulnerability", 100000);
    wait_export_rows(&A, tok, "P1", t2);
    kill9(&A);
    assert_int_equal(count_suffix(exports, ".part"), 2);
    srv_same_db(&C, &A);
    assert_int_equal(srv_start(&C), 0);
    /* C's start found A gone, unless B's janitor (every 15 s) was first */
    assert_true(srv_log_contains(&C, "1 export tasks were interrupted by the last stop") ||
                srv_log_contains(&B, "1 export tasks were interrupted by the stop of their server"));
    api_export_status(&C, tok, "P1", t2, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    http_resp_free(&r);
    assert_int_equal(count_suffix(exports, ".part"), 1); /* B's */
    api_export_status(&C, tok, "P1", t3, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "running");
    http_resp_free(&r);
    wait_export_rows(&B, tok, "P1", t3);
    /* A's finished file downloads from C: 5,158 rows and the header */
    char *path = h_strdupf("/v5/P1/download/%s", f1);
    api_call(&C, "GET", path, NULL, tok, H_REGION, NULL, NULL, &r);
    assert_status(&r, 200);
    int lines = 0;
    for (size_t i = 0; i < r.body_len; i++)
        lines += r.body[i] == '\n';
    assert_int_equal(lines, 5159);
    http_resp_free(&r);

    /* 3. B's clean stop fails its own task, as before */
    assert_int_equal(srv_stop(&B, true), 0);
    api_export_status(&C, tok, "P1", t3, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    http_resp_free(&r);
    assert_int_equal(count_suffix(exports, ".part"), 0);

    /* 4. the export directory deleted under a running server: the next
     * task makes it again, 0700, and succeeds */
    unsetenv("IMGSEC_EXPORT_TEST_PACE_MS");
    char *rm = h_strdupf("rm -rf '%s'", exports);
    assert_int_equal(system(rm), 0);
    free(rm);
    char *t4 = create_on(&C, tok, "malwares", 100000);
    wait_export_ended(&C, tok, "P1", t4, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "success");
    http_resp_free(&r);
    struct stat sb;
    assert_int_equal(stat(exports, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(count_suffix(exports, ".csv"), 1);

    assert_int_equal(srv_stop(&C, true), 0);
    char *cleanup = h_strdupf("rm -rf '%s'", A.dir);
    assert_int_equal(system(cleanup), 0);
    free(cleanup);
    free(path);
    free(f1);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    free(tok);
    free(exports);
}

/* Servers on different machines cannot see each other's processes: only
 * the lease tells. A (machine node-a, 1 s lease) is killed mid-task; B
 * (node-b) fails the task once the lease has run out, from its janitor
 * (or its start, if the lease ran out before it), and removes the partial
 * file. */
static void test_takeover_after_lease(void **state)
{
    (void)state;
    srv_t A = {0}, B;
    assert_int_equal(srv_init(&A), 0);
    char *db_arg = h_strdupf("--db=%s", A.db);
    assert_int_equal(cli_run(&A, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "300",
                             "--eps", "0", NULL),
                     0);
    free(db_arg);
    assert_int_equal(cli_user_add(&A, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    char *exports = h_strdupf("%s.exports", A.beside);
    setenv("IMGSEC_EXPORT_TEST_PACE_MS", "4000", 1);
    setenv("IMGSEC_EXPORT_TEST_LEASE_MS", "1000", 1);
    setenv("IMGSEC_EXPORT_TEST_NODE", "node-a", 1);
    assert_int_equal(srv_start(&A), 0);
    char *tok = get_token(&A, "acme", "root", "root-pw-1", "P1");
    assert_non_null(tok);
    char *t = create_on(&A, tok, "vulnerability", 100000);
    wait_export_rows(&A, tok, "P1", t);
    kill9(&A);
    assert_int_equal(count_suffix(exports, ".part"), 1);

    setenv("IMGSEC_EXPORT_TEST_NODE", "node-b", 1);
    srv_same_db(&B, &A);
    assert_int_equal(srv_start(&B), 0);
    http_resp r;
    wait_export_ended(&B, tok, "P1", t, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    http_resp_free(&r);
    assert_true(srv_log_wait_for(&B, "1 export tasks were interrupted by", 10000));
    assert_int_equal(count_suffix(exports, ".part"), 0);

    unsetenv("IMGSEC_EXPORT_TEST_PACE_MS");
    unsetenv("IMGSEC_EXPORT_TEST_LEASE_MS");
    unsetenv("IMGSEC_EXPORT_TEST_NODE");
    assert_int_equal(srv_stop(&B, true), 0);
    char *cleanup = h_strdupf("rm -rf '%s'", A.dir);
    assert_int_equal(system(cleanup), 0);
    free(cleanup);
    free(t);
    free(tok);
    free(exports);
}

/* GET the file; 200 with its bytes into out (malloc'd), *len. */
static void download_on(srv_t *s, const char *token, const char *fid, char **out, size_t *len)
{
    char *path = h_strdupf("/v5/P1/download/%s", fid);
    http_resp r;
    api_call(s, "GET", path, NULL, token, H_REGION, NULL, NULL, &r);
    free(path);
    assert_status(&r, 200);
    *out = malloc(r.body_len + 1);
    assert_non_null(*out);
    memcpy(*out, r.body, r.body_len);
    *len = r.body_len;
    http_resp_free(&r);
}

static void sql(const char *db, const char *text)
{
    sqlite3 *h = NULL;
    char *e = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    if (sqlite3_exec(h, text, NULL, NULL, &e) != SQLITE_OK)
        fail_msg("%s: %s", text, e ? e : "?");
    sqlite3_close(h);
}

/* A file made before schema 12 (only in the export directory: its rows in
 * export_files and export_file_chunks removed, as an older server left
 * it) is moved into the database at the next start, and then served the
 * same without the directory's copy; one whose copy is gone too is marked
 * deleted (404), never served half. */
static void test_files_move_into_database(void **state)
{
    (void)state;
    srv_t A = {0};
    assert_int_equal(srv_init(&A), 0);
    if (strncmp(A.db, "postgres", 8) == 0) { /* files an older server left beside a SQLite file */
        srv_stop(&A, true);
        print_message("SQLite only: a PostgreSQL database never had its files on disk alone\n");
        skip();
    }
    char *db_arg = h_strdupf("--db=%s", A.db);
    assert_int_equal(cli_run(&A, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "20",
                             "--eps", "0", NULL),
                     0);
    free(db_arg);
    assert_int_equal(cli_user_add(&A, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    assert_int_equal(srv_start(&A), 0);
    char *tok = get_token(&A, "acme", "root", "root-pw-1", "P1");
    assert_non_null(tok);
    char *fids[2];
    for (int i = 0; i < 2; i++) {
        char *t = create_on(&A, tok, i ? "apps" : "vulnerability", 100000);
        http_resp r;
        wait_export_ended(&A, tok, "P1", t, NULL, &r);
        assert_string_equal(jstr(&r, "task_status"), "success");
        fids[i] = strdup(jstr(&r, "file_id"));
        http_resp_free(&r);
        free(t);
    }
    char *before = NULL;
    size_t before_len = 0;
    download_on(&A, tok, fids[0], &before, &before_len);
    assert_int_equal(srv_stop(&A, false), 0);

    sql(A.db, "DELETE FROM export_file_chunks; DELETE FROM export_files;");
    char *gone = h_strdupf("%s.exports/%s.csv", A.beside, fids[1]);
    assert_int_equal(unlink(gone), 0);
    assert_int_equal(srv_start(&A), 0);
    assert_true(srv_log_wait_for(&A, "moved 1 export files into the database", 10000));
    char *copy = h_strdupf("%s.exports/%s.csv", A.beside, fids[0]);
    assert_int_equal(unlink(copy), 0);
    char *after = NULL;
    size_t after_len = 0;
    download_on(&A, tok, fids[0], &after, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    /* the one whose copy was gone: deleted, not found */
    char *path = h_strdupf("/v5/P1/download/%s", fids[1]);
    http_resp r;
    api_call(&A, "GET", path, NULL, tok, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);

    assert_int_equal(srv_stop(&A, true), 0);
    free(path);
    free(copy);
    free(gone);
    free(before);
    free(after);
    free(fids[0]);
    free(fids[1]);
    free(tok);
}

int main(void)
{
    umask(022); /* the servers' too: modes must not depend on it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_servers_share_a_database),
        cmocka_unit_test(test_takeover_after_lease),
        cmocka_unit_test(test_files_move_into_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL) + harness_failures();
}
