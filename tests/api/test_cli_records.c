/* test_cli_records.c - imgsec records dumps the stored records exactly:
 * CSV bytes (absent against empty, quoting, numbers), the SQLite output
 * cell for cell with its types, the filters, and every refusal with
 * nothing left behind. On both engines (the dump reads through the
 * record API, whichever database is behind it). */
#include "harness.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static srv_t S;
static char *T_ADM;

/* Image 1 (P1): two vulnerabilities with every kind of cell; image 2
 * (P1): one file; image 3 (P2): one vulnerability. */
static const char SEED_P1[] =
    "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"a\",\"scan_status\":\"success\"},"
    "\"vulnerabilities\":["
    "{\"vul_id\":\"CVE-1\",\"vul_type\":\"linux_vul\",\"severity\":\"High\",\"cvss_score\":9.8,"
    "\"description\":\"a, \\\"b\\\"\\nc\",\"solution\":\"\",\"app_name\":\"=sum\"},"
    "{\"vul_id\":\"CVE-2\",\"vul_type\":\"app_vul\",\"severity\":\"low\",\"cvss_score\":7,"
    "\"url\":\"https://x/y?a=1\"}]}\n"
    "{\"image\":{\"image_type\":\"private_image\",\"image_name\":\"b\",\"scan_status\":\"success\"},"
    "\"files\":[{\"file_path\":\"/etc/p w\",\"size\":1234,\"mode\":\"644\",\"owner\":\"r\\u00e9\"}]}\n";
static const char SEED_P2[] =
    "{\"image\":{\"image_type\":\"cicd\",\"image_name\":\"c\",\"cicd_name\":\"p\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-3\",\"vul_type\":\"linux_vul\",\"severity\":\"medium\","
    "\"cvss_score\":0.1}]}\n";

static const char HEADER_VUL[] = "image,seq,vul_id,vul_type,severity,app_name,app_version,app_path,"
                                 "fixed_version,cvss_score,description,solution,url\n";
static const char VULS_P1[] = "1,0,CVE-1,linux_vul,high,=sum,,,,9.8,\"a, \"\"b\"\"\nc\",\"\",\n"
                              "1,1,CVE-2,app_vul,low,,,,,7,,,https://x/y?a=1\n";
static const char VULS_P2[] = "3,0,CVE-3,linux_vul,medium,,,,,0.1,,,\n";

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "records-pw-1", "P1", "admin", "all");
    char *t2 = user_token(&S, "acme", "two", "records-pw-2", "P2", "admin", "all");
    if (!T_ADM || !t2)
        return -1;
    http_resp r;
    api_ingest(&S, T_ADM, "P1", "0", SEED_P1, true, &r);
    long a = r.status;
    http_resp_free(&r);
    api_ingest(&S, t2, "P2", "0", SEED_P2, true, &r);
    long b = r.status;
    http_resp_free(&r);
    free(t2);
    return a == 200 && b == 200 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    return srv_stop(&S, true);
}

static char *run_ok(const char *const *args)
{
    return cli_run_expect(&S, 0, args);
}

static void test_csv_exact(void **state)
{
    (void)state;
    char want[1024];
    snprintf(want, sizeof want, "%s%s%s", HEADER_VUL, VULS_P1, VULS_P2);
    char *out = run_ok((const char *[]){"records", "--db", S.db, "--type", "vulnerability", NULL});
    assert_string_equal(out, want);
    free(out);
    /* --project, --no-header */
    out = run_ok((const char *[]){"records", "--db", S.db, "--type", "vulnerability", "--project",
                                  "P1", "--no-header", NULL});
    assert_string_equal(out, VULS_P1);
    free(out);
    /* --image: only that image, also of a type it has none of */
    out = run_ok((const char *[]){"records", "--db", S.db, "--type", "vulnerability", "--image",
                                  "3", "--no-header", NULL});
    assert_string_equal(out, VULS_P2);
    free(out);
    out = run_ok((const char *[]){"records", "--db", S.db, "--type", "files", "--image", "1",
                                  "--no-header", NULL});
    assert_string_equal(out, "");
    free(out);
    out = run_ok((const char *[]){"records", "--db", S.db, "--type", "files", NULL});
    assert_string_equal(out, "image,seq,file_path,file_name,size,mode,owner\n"
                             "2,0,/etc/p w,,1234,644,r\xc3\xa9\n");
    free(out);
    /* a type nobody has: the header alone */
    out = run_ok((const char *[]){"records", "--db", S.db, "--type", "malwares", NULL});
    assert_string_equal(out, "image,seq,file_path,file_name,size,malware_name,description,sha256\n");
    free(out);
}

/* -o FILE: the same bytes, private, a summary on stderr, no .part left. */
static void test_csv_file(void **state)
{
    (void)state;
    char path[H_PATH_MAX + 32], part[H_PATH_MAX + 40], want[H_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/v2.csv", S.dir);
    snprintf(part, sizeof part, "%s.part", path);
    char *out = run_ok((const char *[]){"records", "--db", S.db, "--type", "vulnerability",
                                        "--project", "P2", "-o", path, NULL});
    snprintf(want, sizeof want, "records: 1 records into %s (change position ", path);
    assert_memory_equal(out, want, strlen(want));
    free(out);
    size_t len = 0;
    char *data = h_read_file(path, &len);
    assert_non_null(data);
    char body[512];
    snprintf(body, sizeof body, "%s%s", HEADER_VUL, VULS_P2);
    assert_string_equal(data, body);
    free(data);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_not_equal(access(part, F_OK), 0);
}

static int64_t q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static char *rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const unsigned char *v = sqlite3_column_text(s, c);
            fprintf(f, "%s%s", v ? (const char *)v : "<null>", "|");
        }
        fputc('\n', f);
    }
    sqlite3_finalize(s);
    fclose(f);
    return out;
}

static void test_sqlite_output(void **state)
{
    (void)state;
    char path[H_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/r.db", S.dir);
    char *out = run_ok((const char *[]){"records", "--db", S.db, "--format", "sqlite", "-o", path,
                                        NULL});
    free(out);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    /* one table per type, all eight */
    assert_int_equal(q1(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                            "LIKE 'rec\\_%' ESCAPE '\\'"),
                     8);
    char *v = rows(db, "SELECT image, seq, vul_id, severity, typeof(cvss_score), cvss_score, "
                       "quote(solution), quote(app_version), description FROM rec_vulnerability "
                       "ORDER BY image, seq");
    assert_string_equal(v, "1|0|CVE-1|high|real|9.8|''|NULL|a, \"b\"\nc|\n"
                           "1|1|CVE-2|low|real|7.0|NULL|NULL|<null>|\n"
                           "3|0|CVE-3|medium|real|0.1|NULL|NULL|<null>|\n");
    free(v);
    v = rows(db, "SELECT image, seq, typeof(size), size, mode, owner FROM rec_file");
    assert_string_equal(v, "2|0|integer|1234|644|r\xc3\xa9|\n");
    free(v);
    assert_int_equal(q1(db, "SELECT count(*) FROM rec_app"), 0);
    sqlite3_close(db);

    /* an existing file is never replaced: refused before the store is
     * opened, the file as it was */
    assert_int_equal(h_write_file(path, "keep", 4), 0);
    out = cli_run_expect(&S, 1, (const char *[]){"records", "--db", S.db, "--format", "sqlite",
                                                 "-o", path, NULL});
    assert_non_null(strstr(out, "exists: a SQLite output is always a new file"));
    free(out);
    size_t len = 0;
    char *data = h_read_file(path, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "keep", 4);
    free(data);
    /* --type narrows the tables */
    snprintf(path, sizeof path, "%s/r2.db", S.dir);
    out = run_ok((const char *[]){"records", "--db", S.db, "--format", "sqlite", "--type",
                                  "files,apps", "-o", path, NULL});
    free(out);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    v = rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    assert_string_equal(v, "rec_app|\nrec_file|\n");
    free(v);
    sqlite3_close(db);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[H_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/none.csv", S.dir);
    struct {
        int rc;
        const char *const *args;
        const char *says;
    } cases[] = {
        {2, (const char *[]){"records", "--db", S.db, NULL}, "csv holds one report type"},
        {2, (const char *[]){"records", "--db", S.db, "--type", "apps,files", NULL},
         "csv holds one report type"},
        {2, (const char *[]){"records", "--db", S.db, "--type", "bogus", NULL},
         "no report type 'bogus'"},
        {2, (const char *[]){"records", "--db", S.db, "--type", "apps", "--image", "0", NULL},
         "not an image id: '0'"},
        {2, (const char *[]){"records", "--db", S.db, "--type", "apps", "--image", "1x", NULL},
         "not an image id: '1x'"},
        {2, (const char *[]){"records", "--db", S.db, "--type", "apps", "--project", "a b", NULL},
         "not a project id"},
        {2, (const char *[]){"records", "--db", S.db, "--format", "xml", NULL},
         "--format: csv or sqlite, not 'xml'"},
        {2, (const char *[]){"records", "--db", S.db, "--format", "sqlite", NULL},
         "--format sqlite needs -o FILE"},
        {1, (const char *[]){"records", "--db", S.db, "--type", "apps", "--image", "99", "-o", path,
                             NULL},
         "--image: no image 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = cli_run_expect(&S, cases[i].rc, cases[i].args);
        if (!strstr(out, cases[i].says))
            fail_msg("case %zu: %s", i, out);
        free(out);
    }
    /* the failed dump left no file and no part */
    assert_int_not_equal(access(path, F_OK), 0);
    char part[H_PATH_MAX + 40];
    snprintf(part, sizeof part, "%s.part", path);
    assert_int_not_equal(access(part, F_OK), 0);
    char *out = run_ok((const char *[]){"records", "--help", NULL});
    assert_non_null(strstr(out, "usage: imgsec records"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_exact),
        cmocka_unit_test(test_csv_file),
        cmocka_unit_test(test_sqlite_output),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
