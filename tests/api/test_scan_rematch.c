/* test_scan_rematch.c - issue 13 item 4: imgsecd started with a
 * vulnerability database (IMGSEC_VULNDB, as --vulndb) notices when that
 * file changes and rematches the stored images in the background.
 *
 * The image is test_scan_vulns.c's Debian 9 image (see the worked-out
 * matches there). The database first holds three of the four Debian
 * records that affect it (DLA-3008-1, DLA-3012-1, DLA-3022-1), so the scan
 * stores 3 vulnerability records: CVE-2022-1292, CVE-2022-29824,
 * CVE-2022-1664. Then, while the server runs, `imgsec vulndb import` adds
 * DLA-3051-1 (tzdata 2021a-0+deb9u3 < fixed 2021a-0+deb9u4) to that file:
 * the server's statistic must move to exactly 4, with DLA-3051-1 among
 * them, without any command but the import. Nothing is timed: the count
 * is polled until it changes or a generous deadline passes.
 *
 * Then a change made while the server is stopped (a record for zlib, the
 * source of zlib1g 1:1.2.8.dfsg-5) is not seen by the watch, whose
 * baseline is the file at start; the marker <db>.rematch-pending (which a
 * run stopped or failed leaves, and an operator may make) has the next
 * start run it: 5.
 *
 * And a server stopped during a run (IMGSEC_REMATCH_TEST_PACE_MS holds
 * each image 10 s, a pause the stop cuts short) exits cleanly, says the
 * run was stopped, keeps the marker, and its next start finishes it.
 *
 * On PostgreSQL (pg.api.test_scan_rematch) the same, with the marker the
 * database's rematch_owed row (store_rematch_owe/_owed) instead of the
 * file beside a SQLite database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/scan_builder.h"
#include "deb9_image.h"
#include "harness.h"
#include "imgsec/store.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

#define REMATCH_DEADLINE_MS 120000


static srv_t S;

static const char ZLIB_RECORD[] =
    "{\"id\": \"TEST-ZLIB-1\", \"modified\": \"2026-01-01T00:00:00Z\", \"affected\": [{"
    "\"package\": {\"name\": \"zlib\", \"ecosystem\": \"Debian:9\"}, \"ranges\": [{"
    "\"type\": \"ECOSYSTEM\", \"events\": [{\"introduced\": \"0\"}, "
    "{\"fixed\": \"1:1.2.8.dfsg-6\"}]}]}]}";

/* Polls the vulnerability count while it is from (or the deadline passes). */
static long long count_after(const char *tok, long long from)
{
    long long n = from;
    for (int waited = 0; n == from && waited < REMATCH_DEADLINE_MS; waited += 100) {
        h_sleep_ms(100);
        n = api_count(&S, tok, "P1", "vulnerability", NULL, NULL);
    }
    return n;
}

/* The marker that says a rematch is owed: <db>.rematch-pending beside a
 * SQLite database, the rematch_owed row of a PostgreSQL one. */
static bool marker_exists(void)
{
    if (!store_db_is_pg(S.db)) {
        char *marker = h_strdupf("%s.rematch-pending", S.db);
        bool yes = access(marker, F_OK) == 0;
        free(marker);
        return yes;
    }
    store *st = NULL;
    imgsec_err e = {0};
    int64_t gen = 0;
    assert_int_equal(store_open(S.db, &st, &e), IMGSEC_OK);
    assert_int_equal(store_rematch_owed(st, &gen, &e), IMGSEC_OK);
    store_close(st);
    return gen > 0;
}

/* What an operator does to have the next start rematch. */
static void marker_make(void)
{
    if (!store_db_is_pg(S.db)) {
        char *marker = h_strdupf("%s.rematch-pending", S.db);
        assert_int_equal(h_write_file(marker, "", 0), 0);
        free(marker);
        return;
    }
    store *st = NULL;
    imgsec_err e = {0};
    assert_int_equal(store_open(S.db, &st, &e), IMGSEC_OK);
    assert_int_equal(store_rematch_owe(st, &e), IMGSEC_OK);
    store_close(st);
}

static char *run(int want_rc, const char *const *args)
{
    return cli_run_expect(&S, want_rc, args);
}

static void test_import_while_serving_rematches(void **state)
{
    (void)state;
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    if (!fx || !*fx)
        fx = IMGSEC_FIXTURES_DIR;
    assert_int_equal(srv_init(&S), 0);
    char *vdb = h_strdupf("%s/osv.sqlite", S.dir), *img = h_strdupf("%s/deb9.tar", S.dir);
    char *deb = h_strdupf("%s/scan/osv/osv-scanner-offline-db/Debian", fx);
    char *r1 = h_strdupf("%s/DLA-3008-1.json", deb), *r2 = h_strdupf("%s/DLA-3012-1.json", deb),
         *r3 = h_strdupf("%s/DLA-3022-1.json", deb), *r4 = h_strdupf("%s/DLA-3051-1.json", deb);
    const char *imp3[] = {"vulndb", "import", "--vulndb", vdb, r1, r2, r3, NULL};
    char *out = run(0, imp3);
    assert_non_null(strstr(out, "imported 3 records from 3 files: 3 new, 0 replaced, 0 unchanged"));
    free(out);

    setenv("IMGSEC_VULNDB", vdb, 1);
    int started = srv_start(&S);
    unsetenv("IMGSEC_VULNDB");
    assert_int_equal(started, 0);
    char *tok = user_token(&S, "acme", "vulns", "vulns-pw-1", "P1", "admin", "all");
    assert_non_null(tok);

    sb_layer l = sb_layer_make(FILES, 2, SB_GZIP);
    char *cfg = sb_config(&l, 1, "app", NULL, NULL);
    sb_docker_archive(img, &l, 1, cfg, "library/stretch-app:1");
    const char *scan[] = {"scan", "--db", S.db, "--vulndb", vdb, "--project", "P1", img, NULL};
    out = run(0, scan);
    free(out);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", NULL, NULL), 3);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", NULL,
                               "\"vul_id_list\":[\"DLA-3051-1\"]"),
                     0);

    /* the fourth record arrives in the file the server watches */
    const char *imp1[] = {"vulndb", "import", "--vulndb", vdb, r4, NULL};
    out = run(0, imp1);
    assert_non_null(strstr(out, "imported 1 records from 1 files: 1 new, 0 replaced, 0 unchanged"));
    free(out);
    assert_int_equal(count_after(tok, 3), 4);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", NULL,
                               "\"vul_id_list\":[\"DLA-3051-1\"]"),
                     1);
    assert_int_equal(api_count(&S, tok, "P1", "apps", NULL, NULL), 6);
    /* the run's one-line summary (its time varies, the rest does not) */
    assert_true(srv_log_wait_for(&S,
                                 "s: 1 images, 1 rematched, 0 unchanged, 0 without purls; "
                                 "4 vulnerability records, 0 versions not comparable",
                                 10000));

    /* a change while stopped, and the marker */
    assert_int_equal(srv_stop(&S, false), 0);
    char *zrec = h_strdupf("%s/zlib.json", S.dir);
    assert_int_equal(h_write_file(zrec, ZLIB_RECORD, strlen(ZLIB_RECORD)), 0);
    const char *impz[] = {"vulndb", "import", "--vulndb", vdb, zrec, NULL};
    out = run(0, impz);
    free(out);
    marker_make();
    setenv("IMGSEC_VULNDB", vdb, 1);
    started = srv_start(&S);
    unsetenv("IMGSEC_VULNDB");
    assert_int_equal(started, 0);
    assert_int_equal(count_after(tok, 4), 5);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", NULL,
                               "\"vul_id_list\":[\"TEST-ZLIB-1\"]"),
                     1);
    /* the run that completed removed the marker */
    assert_true(srv_log_wait_for(&S, "5 vulnerability records, 0 versions not comparable", 10000));
    assert_false(marker_exists());
    free(zrec);

    free(l.data);
    free(cfg);
    free(tok);
    free(vdb);
    free(img);
    free(deb);
    free(r1);
    free(r2);
    free(r3);
    free(r4);
    assert_int_equal(srv_stop(&S, true), 0);
}

static void test_stop_during_a_run(void **state)
{
    (void)state;
    const char *fx = getenv("IMGSEC_FIXTURES_DIR");
    if (!fx || !*fx)
        fx = IMGSEC_FIXTURES_DIR;
    memset(&S, 0, sizeof S);
    assert_int_equal(srv_init(&S), 0);
    char *vdb = h_strdupf("%s/osv.sqlite", S.dir);
    char *deb = h_strdupf("%s/scan/osv/osv-scanner-offline-db/Debian", fx);
    char *r1 = h_strdupf("%s/DLA-3008-1.json", deb), *r2 = h_strdupf("%s/DLA-3012-1.json", deb),
         *r3 = h_strdupf("%s/DLA-3022-1.json", deb), *r4 = h_strdupf("%s/DLA-3051-1.json", deb);
    const char *imp3[] = {"vulndb", "import", "--vulndb", vdb, r1, r2, r3, NULL};
    free(run(0, imp3));
    /* three images, 3 records each */
    sb_layer l = sb_layer_make(FILES, 2, SB_GZIP);
    char *cfg = sb_config(&l, 1, "app", NULL, NULL);
    for (int i = 0; i < 3; i++) {
        char *img = h_strdupf("%s/deb9-%d.tar", S.dir, i);
        char *name = h_strdupf("library/stretch-app:%d", i);
        sb_docker_archive(img, &l, 1, cfg, name);
        const char *scan[] = {"scan", "--db", S.db, "--vulndb", vdb, "--project", "P1", img, NULL};
        free(run(0, scan));
        free(img);
        free(name);
    }
    setenv("IMGSEC_VULNDB", vdb, 1);
    setenv("IMGSEC_REMATCH_TEST_PACE_MS", "10000", 1);
    int started = srv_start(&S);
    unsetenv("IMGSEC_REMATCH_TEST_PACE_MS");
    assert_int_equal(started, 0);
    char *tok = user_token(&S, "acme", "vulns", "vulns-pw-1", "P1", "admin", "all");
    assert_non_null(tok);
    assert_int_equal(api_count(&S, tok, "P1", "vulnerability", NULL, NULL), 9);

    const char *imp1[] = {"vulndb", "import", "--vulndb", vdb, r4, NULL};
    free(run(0, imp1));
    assert_true(srv_log_wait_for(&S, "rematch: rematching the stored images against",
                                 REMATCH_DEADLINE_MS));
    assert_int_equal(srv_stop(&S, false), 0); /* exit 0, within the harness's stop timeout */
    assert_true(srv_log_contains(&S, "rematch stopped by the server stop"));
    assert_true(marker_exists());

    assert_int_equal(srv_start(&S), 0);
    unsetenv("IMGSEC_VULNDB");
    assert_int_equal(count_after(tok, 9), 12);
    assert_true(srv_log_wait_for(&S, "3 images, 3 rematched, 0 unchanged", 10000));
    assert_false(marker_exists());
    assert_int_equal(srv_stop(&S, true), 0);

    free(l.data);
    free(cfg);
    free(tok);
    free(vdb);
    free(deb);
    free(r1);
    free(r2);
    free(r3);
    free(r4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_while_serving_rematches),
        cmocka_unit_test(test_stop_during_a_run),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc || harness_failures();
}
