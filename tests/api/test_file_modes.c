/* test_file_modes.c - data at rest is private whatever the umask.
 *
 * With umask 022 (files would be 0644, directories 0755): the database
 * made by imgsecd, its -wal and -shm, the key file, export files of both
 * formats and the export directory are exactly 0600/0700, and so is a
 * database the command line makes. A server started on an existing
 * database or export directory that others can read warns, one line per
 * path naming its mode.
 *
 * On PostgreSQL (pg.api.test_file_modes) the database is the server's
 * files, not imgsecd's: what imgsecd makes on its machine is checked the
 * same (the key file, the export directory and its files, the warning
 * for an opened export directory, a SQLite file the command line makes);
 * the checks of the database file, its -wal and -shm have nothing to look
 * at there.
 */
#include "harness.h"

#include "db/db.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static srv_t S;

static unsigned mode_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        fail_msg("cannot stat %s", path);
    return (unsigned)(sb.st_mode & 07777);
}

#define assert_mode(path, want)                                                                    \
    do {                                                                                           \
        unsigned got_ = mode_of(path);                                                             \
        if (got_ != (want))                                                                        \
            fail_msg("%s: mode %04o, want %04o", (path), got_, (unsigned)(want));                  \
    } while (0)

static const char *jstr(const http_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

/* Creates a task of format fmt and waits for its success. */
static void export_one(const char *token, const char *fmt)
{
    http_resp r;
    char *body = h_strdupf("{\"operate_all\": true, \"security_report_type\": \"vulnerability\", "
                           "\"export_size\": 100, \"file_format\": \"%s\"}",
                           fmt);
    api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks", NULL, token, H_REGION, body,
             "application/json", &r);
    free(body);
    assert_status(&r, 200);
    char *path = h_strdupf("/v5/P1/export-task/%s", jstr(&r, "task_id"));
    http_resp_free(&r);
    for (int i = 0; i < 1500; i++) {
        api_call(&S, "GET", path, NULL, token, H_REGION, NULL, NULL, &r);
        assert_status(&r, 200);
        bool running = strcmp(jstr(&r, "task_status"), "running") == 0;
        if (!running) {
            assert_string_equal(jstr(&r, "task_status"), "success");
            http_resp_free(&r);
            break;
        }
        http_resp_free(&r);
        usleep(20000);
    }
    free(path);
}

static void test_modes_and_warnings(void **state)
{
    (void)state;
    char *tok = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    assert_non_null(tok);
    char *doc = "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"m\","
                "\"image_version\":\"1\",\"scan_status\":\"success\"},"
                "\"vulnerabilities\":[{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}]}";
    http_resp r;
    api_ingest(&S, tok, "P1", "0", doc, false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);

    /* the server made the database: it, -wal and -shm are 0600; and the
     * key file (S.beside is the database file on SQLite, where the key
     * file and exports go on PostgreSQL: harness.h) */
    bool pg = db_uri_is_pg(S.db);
    char *wal = h_strdupf("%s-wal", S.db), *shm = h_strdupf("%s-shm", S.db);
    char *exports = h_strdupf("%s.exports", S.beside), *key = h_strdupf("%s.key", S.beside);
    if (!pg) {
        assert_mode(S.db, 0600);
        assert_mode(wal, 0600);
        assert_mode(shm, 0600);
    }
    assert_mode(key, 0600);
    assert_mode(exports, 0700);
    export_one(tok, "csv");
    export_one(tok, "xlsx");
    DIR *d = opendir(exports);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = h_strdupf("%s/%s", exports, e->d_name);
        assert_mode(p, 0600);
        free(p);
        files++;
    }
    closedir(d);
    assert_int_equal(files, 2);
    assert_false(srv_log_contains(&S, "warning"));

    /* a database the command line makes */
    char *cli_db = h_strdupf("%s/cli.db", S.dir);
    char *db_arg = h_strdupf("--db=%s", cli_db);
    assert_int_equal(cli_run(&S, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "3",
                             NULL),
                     0);
    assert_mode(cli_db, 0600);

    /* opened up by someone: the next start says so, per path */
    assert_int_equal(srv_stop(&S, false), 0);
    if (!pg)
        assert_int_equal(chmod(S.db, 0644), 0);
    assert_int_equal(chmod(exports, 0755), 0);
    assert_int_equal(srv_start(&S), 0);
    char *want_db = h_strdupf("imgsecd: warning: %s has mode 0644: other users can read it; "
                              "chmod 600 it\n",
                              S.db);
    char *want_dir = h_strdupf("imgsecd: warning: %s has mode 0755: other users can read it; "
                               "chmod 700 it\n",
                               exports);
    assert_int_equal(srv_log_contains(&S, want_db), !pg);
    assert_true(srv_log_contains(&S, want_dir));
    /* and still serves */
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", "0", NULL), 1);
    free(want_db);
    free(want_dir);
    free(cli_db);
    free(db_arg);
    free(wal);
    free(shm);
    free(key);
    free(exports);
    free(tok);
}

static int setup(void **state)
{
    (void)state;
    return srv_start(&S);
}

static int teardown(void **state)
{
    (void)state;
    return srv_stop(&S, true);
}

int main(void)
{
    umask(022); /* the servers' and the command line's too */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_and_warnings),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
