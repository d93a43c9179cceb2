/* test_vulndb_update.c - vulndb_update against a real HTTP server on
 * loopback (vulndb_etag_server.py: ETag, Last-Modified, 304) serving
 * all.zip archives written here with libarchive: the first update fetches
 * and imports, the next sends the validators and gets 304 (nothing
 * imported), a changed archive is fetched again, a missing one fails the
 * run naming the ecosystem and changes nothing. No internet. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "imgsec/util.h"
#include "imgsec/vulndb.h"
#include "unit_tmp.h"

static char g_dir[1024], g_log[1200], g_base[128];
static pid_t g_server;
static int g_server_out = -1; /* kept open: the server must never see EPIPE */

static void write_zip(const char *eco, int n, const char *fixed)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/www/%s", g_dir, eco);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/www/%s/all.zip", g_dir, eco);
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        char name[64], body[512];
        snprintf(name, sizeof name, "%s-%d.json", eco, i);
        snprintf(body, sizeof body,
                 "{\"id\":\"%s-%d\",\"modified\":\"2024-0%d-01T00:00:00Z\",\"affected\":[{\"package\":"
                 "{\"ecosystem\":\"npm\",\"name\":\"p%d\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":"
                 "[{\"introduced\":\"0\"},{\"fixed\":\"%s\"}]}]}]}",
                 eco, i, fixed[0] == '1' ? 1 : 2, i, fixed);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(body));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_write_data(a, body, strlen(body));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static int setup(void **state)
{
    (void)state;
    if (unit_tmp_dir(g_dir, sizeof g_dir, "vulndbupd") != 0) return -1;
    char www[1100];
    snprintf(www, sizeof www, "%s/www", g_dir);
    mkdir(www, 0700);
    snprintf(g_log, sizeof g_log, "%s/requests.log", g_dir);
    int out[2];
    if (pipe(out) != 0) return -1;
    char script[1024];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    snprintf(slash + 1, sizeof script - (size_t)(slash + 1 - script), "vulndb_etag_server.py");
    g_server = fork();
    if (g_server == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execlp("python3", "python3", script, www, g_log, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char port[16] = {0};
    size_t got = 0;
    while (got < sizeof port - 1 && !strchr(port, '\n')) {
        ssize_t n = read(out[0], port + got, sizeof port - 1 - got);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    g_server_out = out[0];
    port[strcspn(port, "\n")] = '\0';
    snprintf(g_base, sizeof g_base, "http://127.0.0.1:%s", port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        waitpid(g_server, NULL, 0);
    }
    if (g_server_out >= 0) close(g_server_out);
    return unit_tmp_dir_remove(g_dir);
}

static int log_lines(void)
{
    size_t len = 0;
    char *s = util_read_file(g_log, &len);
    int n = 0;
    for (size_t i = 0; s && i < len; i++) n += s[i] == '\n';
    free(s);
    return n;
}

static char *log_line(int k)
{
    static char line[1024];
    FILE *f = fopen(g_log, "r");
    assert_non_null(f);
    for (int i = 0; i <= k; i++) assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void test_conditional_update(void **state)
{
    (void)state;
    write_zip("npm", 3, "1.0.0");
    char path[1200];
    snprintf(path, sizeof path, "%s/v.sqlite", g_dir);
    vulndb *db;
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(path, true, &db, &err), IMGSEC_OK);
    const char *ecos[] = {"npm"};
    vulndb_update_stats st;
    if (vulndb_update(db, g_base, ecos, 1, NULL, NULL, &st, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.fetched, 1);
    assert_int_equal(st.unchanged, 0);
    assert_int_equal(st.import.records, 3);
    assert_int_equal(st.import.added, 3);
    assert_int_equal(log_lines(), 1);
    assert_string_equal(log_line(0), "GET /npm/all.zip 200 if-none-match=- if-modified-since=-");
    /* unchanged: conditional request, 304, nothing imported */
    assert_int_equal(vulndb_update(db, g_base, ecos, 1, NULL, NULL, &st, &err), IMGSEC_OK);
    assert_int_equal(st.fetched, 0);
    assert_int_equal(st.unchanged, 1);
    assert_int_equal(st.import.records, 0);
    assert_int_equal(log_lines(), 2);
    char *l = log_line(1);
    assert_true(strncmp(l, "GET /npm/all.zip 304 if-none-match=\"", 36) == 0);
    assert_non_null(strstr(l, "if-modified-since=") );
    assert_null(strstr(l, "if-modified-since=-"));
    /* changed archive: fetched again, the newer records replace the old */
    write_zip("npm", 4, "2.0.0");
    assert_int_equal(vulndb_update(db, g_base, ecos, 1, NULL, NULL, &st, &err), IMGSEC_OK);
    assert_int_equal(st.fetched, 1);
    assert_int_equal(st.import.replaced, 3);
    assert_int_equal(st.import.added, 1);
    assert_true(strncmp(log_line(2), "GET /npm/all.zip 200 if-none-match=\"", 36) == 0);
    /* a missing archive fails the run with the ecosystem named; the
     * archives before it stay imported */
    write_zip("PyPI", 1, "1.0.0");
    const char *two[] = {"PyPI", "Rocky Linux"};
    assert_int_equal(vulndb_update(db, g_base, two, 2, NULL, NULL, &st, &err), IMGSEC_EINTERNAL);
    char want[256];
    snprintf(want, sizeof want, "Rocky Linux: %s/Rocky%%20Linux/all.zip: HTTP 404", g_base);
    assert_string_equal(err.msg, want);
    assert_int_equal(st.fetched, 1);
    json_t *status;
    assert_int_equal(vulndb_status(db, &status, &err), IMGSEC_OK);
    assert_int_equal(json_integer_value(json_object_get(status, "records")), 5);
    json_t *srcs = json_object_get(status, "sources");
    assert_int_equal(json_array_size(srcs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(srcs, 0), "ecosystem")), "PyPI");
    assert_string_equal(json_string_value(json_object_get(json_array_get(srcs, 1), "ecosystem")), "npm");
    json_decref(status);
    /* only http(s) */
    assert_int_equal(vulndb_update(db, "file:///etc", ecos, 1, NULL, NULL, &st, &err), IMGSEC_EINVAL);
    vulndb_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditional_update),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
