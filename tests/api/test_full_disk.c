/* test_full_disk.c - a full disk answers a clear error and reads go on.
 *
 * The database lives on a small tmpfs mounted for this test (the test
 * runs as root in CI; where mount(2) is not permitted the test is skipped,
 * never failed). With the users and their token made, a filler file takes
 * every free block; an ingest then cannot grow the WAL: it must answer
 * 507 HSS.0041 "storage is full: ...", store nothing, and the statistic
 * must still answer 200 with the count from before; a login (which
 * stores its token) answers 507 in Keystone's shape. With the filler gone
 * the same ingest succeeds.
 *
 * On PostgreSQL (pg.api.test_full_disk) the disk that fills is the
 * database server's: the test puts the tables of the server's database
 * on that small tmpfs (a tablespace there, the database's
 * default_tablespace, set before imgsecd makes its schema; the catalogs
 * and the WAL stay on the cluster's disk), fills it, and checks the same
 * ingest: PostgreSQL refuses to extend a table (SQLSTATE 53100), the
 * answer is the same 507, nothing of it is stored, reads go on, and with
 * space again it goes through. The login is not checked there: a token
 * row fits in a page the tokens table already has, so PostgreSQL stores
 * it without asking the file system for space (whether it must depends
 * on the page's free space, not on anything imgsec does).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "imgsec/util.h"

#define FS_BYTES (8 * H_MIB)

static srv_t S;
static char MNT[H_PATH_MAX - 64], FILLER[H_PATH_MAX];
static bool MOUNTED;
static char TABLESPACE[64]; /* on PostgreSQL: the tablespace on MNT, "" if none */

/* Runs sql on the cluster's admin database (PostgreSQL); 0 or -1. */
static int admin_exec(const char *sql)
{
    const char *admin = getenv("IMGSEC_TEST_PG");
    db_conn *c = NULL;
    imgsec_err err = {0};
    int rc = admin && db_open(admin, &c, &err) == IMGSEC_OK &&
                     db_exec(c, sql, "test", &err) == IMGSEC_OK
                 ? 0
                 : -1;
    if (rc != 0)
        fprintf(stderr, "test_full_disk: %s: %s\n", sql, err.msg);
    db_close(c);
    return rc;
}

/* PostgreSQL: the tables of S's database go to a tablespace on MNT. The
 * directory must belong to the server's user (pg_cluster.sh: postgres
 * when the tests run as root). */
static int tables_on_mnt(void)
{
    struct stat sb;
    char data_dir[H_PATH_MAX];
    const char *host = strstr(getenv("IMGSEC_TEST_PG"), "host=");
    if (!host)
        return -1;
    snprintf(data_dir, sizeof data_dir, "%.*s/data", (int)strcspn(host + 5, "&"), host + 5);
    if (stat(data_dir, &sb) != 0 || chown(MNT, sb.st_uid, sb.st_gid) != 0)
        return -1;
    snprintf(TABLESPACE, sizeof TABLESPACE, "imgsec_full_%ld", (long)getpid());
    char *sql = h_strdupf("CREATE TABLESPACE %s LOCATION '%s'", TABLESPACE, MNT);
    int rc = admin_exec(sql);
    free(sql);
    if (rc != 0) {
        TABLESPACE[0] = '\0';
        return -1;
    }
    sql = h_strdupf("ALTER DATABASE %s SET default_tablespace = %s", S.pg_name, TABLESPACE);
    rc = admin_exec(sql);
    free(sql);
    return rc;
}

/* One image with n vulnerabilities, as an ingest document (malloc'd). */
static char *doc(const char *name, int n)
{
    util_buf b = {0};
    util_buf_printf(&b,
                    "{\"image\":{\"image_type\":\"private_image\",\"namespace\":\"shop\","
                    "\"image_name\":\"%s\",\"image_version\":\"1\",\"scan_status\":\"success\"},"
                    "\"vulnerabilities\":[",
                    name);
    for (int i = 0; i < n; i++)
        util_buf_printf(&b,
                        "%s{\"vul_id\":\"CVE-2024-%d\",\"vul_type\":\"linux_vul\","
                        "\"severity\":\"low\",\"description\":\"%0200d\"}",
                        i ? "," : "", i, i);
    util_buf_printf(&b, "]}");
    assert_false(b.failed);
    return b.buf;
}

/* Writes to FILLER until the filesystem refuses: ENOSPC. */
static void fill_disk(void)
{
    int fd = open(FILLER, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[64 * 1024];
    ssize_t w;
    while ((w = write(fd, block, sizeof block)) > 0)
        ;
    assert_int_equal(w, -1);
    assert_int_equal(errno, ENOSPC);
    /* the last partial block too */
    while (write(fd, block, 1) == 1)
        ;
    close(fd);
}

static void test_full_disk_ingest_507_reads_200(void **state)
{
    (void)state;
    if (!MOUNTED)
        skip();
    char *tok = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    assert_non_null(tok);
    http_resp r;
    char *small = doc("before", 3);
    api_ingest(&S, tok, "P1", "0", small, false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", "0", NULL), 3);

    fill_disk();
    /* ~2,000 records, 500 KB: more than any WAL space already allocated */
    char *big = doc("after", 2000);
    api_ingest(&S, tok, "P1", "0", big, false, &r);
    assert_api_error(&r, 507, "HSS.0041",
                     "storage is full: the server cannot store data until its operator frees "
                     "disk space, request id ");
    /* the request id, not SQLite's words */
    const char *msg = json_string_value(json_object_get(r.json, "error_msg"));
    assert_non_null(msg);
    assert_null(strstr(msg, "database or disk"));
    assert_string_equal(strrchr(msg, ' ') + 1, http_header(&r, "X-Request-Id"));
    http_resp_free(&r);
    if (!db_uri_is_pg(S.db)) {
        /* a login must store its token: 507 in Keystone's shape, not a 401 */
        api_token_req(&S, "acme", "root", "root-pw-1", "P1", false, &r);
        assert_keystone_error(&r, 507, "Insufficient Storage");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"),
                                                              "message")),
                            "storage is full: the server cannot store data until its operator "
                            "frees disk space");
        http_resp_free(&r);
    }
    /* reads keep working, and nothing of the refused image is there */
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", "0", NULL), 3);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", "0", NULL), 3);

    /* space again: the same ingest goes through */
    assert_int_equal(unlink(FILLER), 0);
    api_ingest(&S, tok, "P1", "0", big, false, &r);
    assert_status(&r, 200);
    http_resp_free(&r);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", "0", NULL), 2003);
    free(small);
    free(big);
    free(tok);
}

static int setup(void **state)
{
    (void)state;
    if (srv_init(&S) != 0)
        return -1;
    /* on PostgreSQL in the cluster's own directory (its server's user
     * cannot enter the test's temp dir) */
    const char *pg = getenv("IMGSEC_TEST_PG"), *host = pg ? strstr(pg, "host=") : NULL;
    int n = host ? snprintf(MNT, sizeof MNT, "%.*s/full-%ld", (int)strcspn(host + 5, "&"),
                            host + 5, (long)getpid())
                 : snprintf(MNT, sizeof MNT, "%s/small-fs", S.dir);
    if (n < 0 || n >= (int)sizeof MNT)
        return -1;
    snprintf(FILLER, sizeof FILLER, "%s/filler", MNT);
    if (mkdir(MNT, 0700) != 0)
        return -1;
    char opts[64];
    snprintf(opts, sizeof opts, "size=%d,mode=0700", FS_BYTES);
    if (mount("tmpfs", MNT, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        print_message("test_full_disk: cannot mount a tmpfs (%s): skipped\n", strerror(errno));
        return 0;
    }
    MOUNTED = true;
    if (db_uri_is_pg(S.db)) {
        if (tables_on_mnt() != 0)
            return -1;
    } else {
        snprintf(S.db, sizeof S.db, "%s/imgsec.db", MNT);
    }
    return srv_start(&S);
}

static int teardown(void **state)
{
    (void)state;
    int rc = srv_stop(&S, false);
    if (TABLESPACE[0]) { /* the database first: it has tables there */
        char *sql = h_strdupf("DROP DATABASE IF EXISTS %s WITH (FORCE)", S.pg_name);
        rc |= admin_exec(sql);
        free(sql);
        sql = h_strdupf("DROP TABLESPACE %s", TABLESPACE);
        rc |= admin_exec(sql);
        free(sql);
        S.pg_name[0] = '\0';
    }
    if (MOUNTED && umount(MNT) != 0)
        rc = -1;
    if (TABLESPACE[0] || MNT[0])
        rmdir(MNT); /* on PostgreSQL it is not in S.dir */
    char *cmd = h_strdupf("rm -rf '%s'", S.dir);
    if (rc == 0 && !getenv("IMGSEC_API_KEEP") && system(cmd) != 0)
        rc = -1;
    free(cmd);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_disk_ingest_507_reads_200),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
