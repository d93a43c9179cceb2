/* test_store_replace_vuls.c - store_replace_vulnerabilities against the
 * full ingest it stands for, and its version check.
 *
 * Equivalence: for each case, store A ingests an image and a neighbour,
 * then replaces the image's vulnerabilities; store B ingests the same
 * image with those vulnerabilities in its document, and the neighbour.
 * Every table the statistic, the lists and the index read (images, every
 * record table, agg_vul, agg_build) must then be equal row by row, and
 * A's change log must name the image once more. The cases move the
 * image's severity level every way it can go: down to another record's
 * severity, to a malware's implied high, to none, and for a failed scan.
 *
 * Lost update: a document ingested for the image after the version was
 * read wins (skipped, its records stay); so does a delete; a version read
 * after it writes; an invalid record changes nothing.
 *
 * Writing by difference: a replacement keeps the stored rows whose values
 * it has (their rowids stay: not deleted and inserted again), moves those
 * whose position changed, deletes and inserts only the others, updates an
 * aggregate whose count moved in place, and still equals the ingest row
 * for row; the summaries the index reads list the aggregates in key order
 * though their rowids no longer are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/doc.h"
#include "imgsec/store.h"
#include "store/store_int.h"
#include "unit_tmp.h"
#include "unit_ingest.h"
#include "../support/rec_text.h"

static char g_dir[1024];

/* One image document with the vulnerabilities vuls (a JSON array text),
 * status and extra (",\"malwares\":[...]" etc., may be ""). */
static char *make_doc(const char *name, const char *status, const char *vuls, const char *extra)
{
    char *s = NULL;
    int n = asprintf(&s,
                     "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"%s\","
                     "\"image_version\":\"1\",\"scan_status\":\"%s\"},"
                     "\"vulnerabilities\":%s,"
                     "\"apps\":[{\"app_name\":\"dpkg\",\"app_version\":\"1.18.25\","
                     "\"purl\":\"pkg:deb/debian/dpkg@1.18.25\"}],"
                     "\"build_command_risks\":[{\"rule_id\":\"B1\",\"risk_name\":\"curl pipe\","
                     "\"risk_level\":\"low\",\"build_instruction\":\"RUN curl | sh\"}]%s}",
                     name, status, vuls, extra);
    assert_true(n > 0);
    return s;
}

static void ingest(store *st, const char *doc1, const char *doc2)
{
    char *body = NULL;
    assert_true(asprintf(&body, "%s\n%s\n", doc1, doc2 ? doc2 : "") > 0);
    unit_ingest_ndjson(st, body, strlen(body));
    free(body);
}

/* Every row of a query as text, one line per row, columns tagged by type. */
static char *dump(store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++)
            fprintf(f, "%d:%s|", sqlite3_column_type(s, c),
                    sqlite3_column_type(s, c) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(s, c));
        fputc('\n', f);
    }
    sqlite3_finalize(s);
    fclose(f);
    return out;
}

static void assert_same(store *a, store *b, const char *sql)
{
    char *x = dump(a, sql), *y = dump(b, sql);
    if (strcmp(x, y) != 0)
        fail_msg("%s differs:\nreplaced:\n%s\ningested:\n%s", sql, x, y);
    free(x);
    free(y);
}

static void assert_tables_equal(store *a, store *b)
{
    char sql[256];
    assert_same(a, b, "SELECT * FROM images ORDER BY id");
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY image, seq",
                 record_kind_get((report_type)t)->table);
        assert_same(a, b, sql);
    }
    /* aggregate rows kept by the diff keep their rowids: compared in key
     * order, which is the order the summary readers give them in */
    assert_same(a, b, "SELECT * FROM agg_vul ORDER BY image, vul_id, vul_type");
    assert_same(a, b, "SELECT * FROM agg_build ORDER BY image, rowid");
}

/* One replacement on its own. */
static int replace1(store *st, int64_t id, int64_t seen, json_t *vuls, bool *skipped, imgsec_err *err)
{
    store_vul_replace r = {id, seen, vuls, true, NULL};
    int rc = store_replace_vulnerabilities(st, &r, 1, err);
    *skipped = r.skipped;
    return rc;
}

static store *open_store(const char *name)
{
    char path[1200];
    static const char *const SUFFIX[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.db%s", g_dir, name, SUFFIX[i]);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/%s.db", g_dir, name);
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(path, &st, &err), IMGSEC_OK);
    return st;
}

typedef struct {
    const char *status, *old_vuls, *new_vuls, *extra, *level; /* level: expected, NULL for none */
} replace_case;

static const char NEIGHBOUR_VULS[] =
    "[{\"vul_id\":\"CVE-2020-9\",\"vul_type\":\"app_vul\",\"severity\":\"critical\"}]";

static void run_case(const replace_case *k, int mode);

static void test_replace_equals_ingest(void **state)
{
    (void)state;
    static const replace_case CASES[] = {
        /* critical -> medium: the level falls to the risk config's medium;
         * a vul_id twice merges into one aggregate of n 2 */
        {"success",
         "[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"critical\"},"
         "{\"vul_id\":\"CVE-2020-2\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}]",
         "[{\"vul_id\":\"CVE-2021-3\",\"vul_type\":\"linux_vul\",\"severity\":\"Low\","
         "\"app_name\":\"dpkg\",\"app_version\":\"1.18.25\",\"cvss_score\":3.5,\"url\":\"u\"},"
         "{\"vul_id\":\"CVE-2021-3\",\"vul_type\":\"linux_vul\",\"severity\":\"low\",\"app_name\":\"tar\"},"
         "{\"vul_id\":\"CVE-2021-4\",\"vul_type\":\"app_vul\",\"severity\":\"unknown\"}]",
         ",\"risk_configs\":[{\"check_name\":\"ssh\",\"check_rule_id\":\"R1\",\"severity\":\"medium\"}]",
         "Medium"},
        /* all gone: the build risk's low */
        {"success", "[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"high\"}]",
         "[]", "", "Low"},
        /* none before, high after */
        {"success", "[]",
         "[{\"vul_id\":\"CVE-2022-5\",\"vul_type\":\"app_vul\",\"severity\":\"high\"}]", "", "High"},
        /* a malware keeps the level at high whatever the vulnerabilities */
        {"success", "[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"critical\"}]",
         "[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"medium\"}]",
         ",\"malwares\":[{\"file_path\":\"/x\",\"malware_name\":\"EICAR\"}]", "High"},
        /* a failed scan has no level, whatever its records */
        {"failed", "[]", "[{\"vul_id\":\"CVE-2022-5\",\"vul_type\":\"app_vul\",\"severity\":\"high\"}]",
         "", NULL},
    };
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++)
        for (int mode = 0; mode < 3; mode++)
            run_case(&CASES[c], mode);
}

/* Replaces the image's vulnerabilities with k->new_vuls in store a and
 * compares with store b, which ingested them; mode 1: through
 * store_vul_prepare first, the JSON released before the write; mode 2:
 * that inside a bulk write (store_vul_bulk_begin/end). */
static void run_case(const replace_case *k, int mode)
{
    {
        store *a = open_store("a"), *b = open_store("b");
        char *old_doc = make_doc("img", k->status, k->old_vuls, k->extra);
        char *new_doc = make_doc("img", k->status, k->new_vuls, k->extra);
        char *neighbour = make_doc("other", "success", NEIGHBOUR_VULS, "");
        ingest(a, old_doc, neighbour);
        ingest(b, new_doc, neighbour);

        imgsec_err err = {0};
        int64_t seen = -1, after = -1;
        assert_int_equal(store_change_seq(a, &seen, &err), IMGSEC_OK);
        assert_int_equal(seen, 2);
        json_t *vuls = json_loads(k->new_vuls, 0, NULL);
        assert_non_null(vuls);
        bool skipped = true;
        if (mode == 2)
            assert_int_equal(store_vul_bulk_begin(a, &err), IMGSEC_OK);
        if (mode) {
            store_vul_replace r = {1, seen, vuls, true, NULL};
            if (store_vul_prepare(&r, "", &err) != IMGSEC_OK) fail_msg("%s", err.msg);
            assert_non_null(r.prep);
            json_decref(vuls); /* the prep holds copies */
            r.vuls = NULL;
            assert_int_equal(store_replace_vulnerabilities(a, &r, 1, &err), IMGSEC_OK);
            skipped = r.skipped;
            store_vul_prep_free(r.prep);
        } else {
            assert_int_equal(replace1(a, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
            json_decref(vuls);
        }
        if (mode == 2)
            assert_int_equal(store_vul_bulk_end(a, NULL, NULL, &err), IMGSEC_OK);
        assert_false(skipped);

        assert_tables_equal(a, b);
        char *level = dump(a, "SELECT severity_level FROM images WHERE id = 1");
        char want[64];
        if (k->level)
            snprintf(want, sizeof want, "3:%s|\n", k->level);
        else
            snprintf(want, sizeof want, "5:|\n");
        assert_string_equal(level, want);
        free(level);
        /* the change log names the image once more, after seen */
        assert_int_equal(store_change_seq(a, &after, &err), IMGSEC_OK);
        assert_int_equal(after, seen + 1);
        char *log = dump(a, "SELECT seq, image FROM changes ORDER BY seq");
        assert_string_equal(log, "1:1|1:1|\n1:2|1:2|\n1:3|1:1|\n");
        free(log);

        free(old_doc);
        free(new_doc);
        free(neighbour);
        store_close(a);
        store_close(b);
    }
}

/* An image's first 37 vulnerabilities: in a bulk write on SQLite the
 * rows go in by INSERTs of 16 (store_vul_diff.c MULTI_ROWS), 5 one by
 * one, and their 20 aggregates (17 of them of two records) 16 and 4;
 * every field of every row must land where the ingest puts it. */
static void test_replace_many_equals_ingest(void **state)
{
    (void)state;
    char *vuls = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&vuls, &len);
    assert_non_null(f);
    static const char *const SEV[] = {"Critical", "high", "medium", "low", "unknown"};
    for (int i = 0; i < 37; i++) {
        fprintf(f, "%s{\"vul_id\":\"CVE-2023-%d\",\"vul_type\":\"%s\",\"severity\":\"%s\","
                   "\"app_name\":\"app%d\",\"app_version\":\"1.%d\"",
                i ? "," : "[", i % 20, i % 2 ? "app_vul" : "linux_vul", SEV[i % 5], i, i);
        if (i % 3 == 0)
            fprintf(f, ",\"cvss_score\":%d.5,\"fixed_version\":\"2.%d\",\"url\":\"u%d\"", i % 10, i, i);
        if (i % 4 == 1)
            fprintf(f, ",\"cvss_score\":%d,\"description\":\"d%d\",\"solution\":\"s%d\"", i % 9, i, i);
        if (i % 5 == 2)
            fprintf(f, ",\"app_path\":\"/p/%d\"", i);
        fputc('}', f);
    }
    fputc(']', f);
    fclose(f);
    replace_case k = {"success", "[]", vuls, "", "High"};
    for (int mode = 0; mode < 3; mode++)
        run_case(&k, mode);
    free(vuls);
}

/* store_vul_prepare checks as the replacement does, and keeps nothing
 * on error. */
static void test_prepare_errors(void **state)
{
    (void)state;
    imgsec_err err = {0};
    store_vul_replace r = {1, 0, json_loads("[{\"vul_id\":\"CVE-1\",\"vul_type\":\"app_vul\",\"severity\":\"low\"},"
                                            "{\"vul_id\":\"CVE-2\",\"vul_type\":\"app_vul\","
                                            "\"severity\":\"dire\"}]", 0, NULL),
                           false, NULL};
    assert_non_null(r.vuls);
    assert_int_equal(store_vul_prepare(&r, "x.", &err), IMGSEC_EINVAL);
    assert_null(r.prep);
    if (!strstr(err.msg, "invalid parameter: x.vulnerabilities[1].severity must be one of "))
        fail_msg("%s", err.msg);
    json_decref(r.vuls);
    r.vuls = json_string("no");
    assert_int_equal(store_vul_prepare(&r, "", &err), IMGSEC_EINVAL);
    assert_string_equal(err.msg, "invalid parameter: vulnerabilities must be an array");
    assert_null(r.prep);
    json_decref(r.vuls);
}

static void test_lost_update(void **state)
{
    (void)state;
    store *st = open_store("lost");
    imgsec_err err = {0};
    char *old_doc = make_doc("img", "success",
                             "[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}]", "");
    char *newer = make_doc("img", "success",
                           "[{\"vul_id\":\"CVE-2024-7\",\"vul_type\":\"app_vul\",\"severity\":\"high\"},"
                           "{\"vul_id\":\"CVE-2024-8\",\"vul_type\":\"app_vul\",\"severity\":\"high\"}]",
                           "");
    char *neighbour = make_doc("other", "success", NEIGHBOUR_VULS, "");
    ingest(st, old_doc, neighbour);
    int64_t seen = 0;
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);

    /* a scan of the image arrives between the read and the write */
    ingest(st, newer, NULL);
    char *before = rec_text(st, REPORT_VULNERABILITY, -1, NULL);
    char *before_img = dump(st, "SELECT * FROM images ORDER BY id");
    int64_t version = store_data_version(st);
    json_t *vuls = json_loads("[{\"vul_id\":\"CVE-2020-1\",\"vul_type\":\"app_vul\",\"severity\":\"medium\"}]",
                              0, NULL);
    bool skipped = false;
    assert_int_equal(replace1(st, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_true(skipped);
    char *after = rec_text(st, REPORT_VULNERABILITY, -1, NULL);
    char *after_img = dump(st, "SELECT * FROM images ORDER BY id");
    assert_string_equal(after, before);
    assert_string_equal(after_img, before_img);
    assert_int_equal(store_data_version(st), version);
    free(after);
    free(after_img);
    char *ids = rec_text(st, REPORT_VULNERABILITY, 1, "vul_id");
    assert_string_equal(ids, "1|0|CVE-2024-7|\n1|1|CVE-2024-8|\n");
    free(ids);

    /* a change of another image does not block it */
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);
    ingest(st, neighbour, NULL);
    assert_int_equal(replace1(st, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_false(skipped);
    ids = rec_text(st, REPORT_VULNERABILITY, 1, "vul_id,severity");
    assert_string_equal(ids, "1|0|CVE-2020-1|medium|\n");
    free(ids);

    /* the rematch's own write moved the version: an old token is stale */
    assert_int_equal(replace1(st, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_true(skipped);

    /* an invalid record: EINVAL, nothing written */
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);
    version = store_data_version(st);
    json_t *bad = json_loads("[{\"vul_id\":\"CVE-1\",\"vul_type\":\"app_vul\",\"severity\":\"dire\"}]", 0,
                             NULL);
    assert_int_equal(replace1(st, 1, seen, bad, &skipped, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "vulnerabilities[0].severity"));
    assert_int_equal(store_data_version(st), version);
    json_decref(bad);
    bad = NULL;

    /* several in one call: each checked on its own */
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);
    ingest(st, neighbour, NULL); /* image 2 changes after seen, image 1 does not */
    json_t *two = json_loads("[{\"vul_id\":\"CVE-2020-2\",\"vul_type\":\"app_vul\",\"severity\":\"low\"}]",
                             0, NULL);
    store_vul_replace batch[2] = {{2, seen, two, false, NULL}, {1, seen, two, true, NULL}};
    assert_int_equal(store_replace_vulnerabilities(st, batch, 2, &err), IMGSEC_OK);
    assert_true(batch[0].skipped);
    assert_false(batch[1].skipped);
    ids = rec_text(st, REPORT_VULNERABILITY, -1, "vul_id");
    assert_string_equal(ids, "1|0|CVE-2020-2|\n2|0|CVE-2020-9|\n");
    free(ids);
    /* an invalid record in the second: named by its index, nothing written */
    version = store_data_version(st);
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);
    bad = json_loads("[{\"vul_id\":\"CVE-1\",\"vul_type\":\"os_vul\",\"severity\":\"low\"}]", 0, NULL);
    store_vul_replace batch2[2] = {{1, seen, vuls, false, NULL}, {2, seen, bad, false, NULL}};
    assert_int_equal(store_replace_vulnerabilities(st, batch2, 2, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "documents[1].vulnerabilities[0].vul_type"));
    assert_int_equal(store_data_version(st), version);
    json_decref(bad);
    json_decref(two);

    /* deleted meanwhile: skipped, nothing comes back */
    assert_int_equal(store_image_delete(st, "P1", 1, NULL, &err), IMGSEC_OK);
    assert_int_equal(replace1(st, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_true(skipped);
    assert_int_equal(store_change_seq(st, &seen, &err), IMGSEC_OK);
    assert_int_equal(replace1(st, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_true(skipped);
    assert_int_equal(rec_count(st, REPORT_VULNERABILITY, 1), 0);
    assert_int_equal(rec_stored(st, REPORT_VULNERABILITY), 1); /* image 2's, no orphan */

    json_decref(vuls);
    free(before);
    free(before_img);
    free(old_doc);
    free(newer);
    free(neighbour);
    store_close(st);
}

/* The summaries of store st, image by image: id, then each vul aggregate. */
static int summary_line(const image_summary *s, void *arg)
{
    FILE *f = arg;
    fprintf(f, "%lld:", (long long)s->id);
    for (size_t i = 0; i < s->n_vuls; i++)
        fprintf(f, " %s/%d/%lld", s->vuls[i].vul_id, (int)s->vuls[i].type, (long long)s->vuls[i].n);
    fputc('\n', f);
    return 0;
}

static char *summaries(store *st)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    imgsec_err err = {0};
    assert_int_equal(store_summary_foreach(st, summary_line, f, NULL, &err), IMGSEC_OK);
    fclose(f);
    return out;
}

static void test_replace_writes_differences(void **state)
{
    (void)state;
#define V_(id, type, sev, more) "{\"vul_id\":\"" id "\",\"vul_type\":\"" type "\",\"severity\":\"" sev "\"" more "}"
    /* A..E stored; the replacement keeps A, B and C (B and C one place
     * later), inserts X between A and B, changes D's description, drops
     * E and adds A2 (A's vul_id again: its aggregate's n goes 1 -> 2) */
    static const char OLD[] =
        "[" V_("CVE-2020-1", "app_vul", "high", "") "," V_("CVE-2020-3", "linux_vul", "low", "") ","
        V_("CVE-2020-5", "app_vul", "medium", ",\"app_name\":\"zlib\",\"cvss_score\":7.5") ","
        V_("CVE-2020-7", "app_vul", "low", ",\"description\":\"d\"") ","
        V_("CVE-2020-9", "linux_vul", "low", "") "]";
    static const char NEW[] =
        "[" V_("CVE-2020-1", "app_vul", "high", "") "," V_("CVE-2020-4", "app_vul", "critical", "") ","
        V_("CVE-2020-3", "linux_vul", "low", "") ","
        V_("CVE-2020-5", "app_vul", "medium", ",\"app_name\":\"zlib\",\"cvss_score\":7.5") ","
        V_("CVE-2020-7", "app_vul", "low", ",\"description\":\"d2\"") ","
        V_("CVE-2020-1", "app_vul", "high", ",\"app_name\":\"tar\"") "]";
#undef V_
    store *a = open_store("diff_a"), *b = open_store("diff_b");
    char *old_doc = make_doc("img", "success", OLD, "");
    char *new_doc = make_doc("img", "success", NEW, "");
    char *neighbour = make_doc("other", "success", NEIGHBOUR_VULS, "");
    ingest(a, old_doc, neighbour);
    ingest(b, new_doc, neighbour);
    /* image 1's rows are rowids 1-5 (A-E), the neighbour's 6; the same for
     * the aggregates (in key order) */
    char *rows = dump(a, "SELECT rowid, vul_id FROM rec_vulnerability ORDER BY rowid");
    assert_string_equal(rows, "1:1|3:CVE-2020-1|\n1:2|3:CVE-2020-3|\n1:3|3:CVE-2020-5|\n"
                              "1:4|3:CVE-2020-7|\n1:5|3:CVE-2020-9|\n1:6|3:CVE-2020-9|\n");
    free(rows);

    imgsec_err err = {0};
    int64_t seen = 0;
    assert_int_equal(store_change_seq(a, &seen, &err), IMGSEC_OK);
    json_t *vuls = json_loads(NEW, 0, NULL);
    assert_non_null(vuls);
    bool skipped = true;
    assert_int_equal(replace1(a, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_false(skipped);
    json_decref(vuls);
    assert_tables_equal(a, b);

    /* A, B, C kept their rows (B and C moved to seq 2 and 3); D and E were
     * deleted; X, D' and A2 inserted, in seq order, after the neighbour's 6 */
    rows = dump(a, "SELECT rowid, seq, vul_id FROM rec_vulnerability WHERE image = 1 ORDER BY seq");
    assert_string_equal(rows, "1:1|1:0|3:CVE-2020-1|\n1:7|1:1|3:CVE-2020-4|\n1:2|1:2|3:CVE-2020-3|\n"
                              "1:3|1:3|3:CVE-2020-5|\n1:8|1:4|3:CVE-2020-7|\n1:9|1:5|3:CVE-2020-1|\n");
    free(rows);
    /* CVE-2020-1's aggregate kept its row with n 2; CVE-2020-9 linux gone;
     * CVE-2020-4 a new row, after the rest */
    rows = dump(a, "SELECT rowid, vul_id, n FROM agg_vul WHERE image = 1 ORDER BY rowid");
    assert_string_equal(rows, "1:1|3:CVE-2020-1|1:2|\n1:2|3:CVE-2020-3|1:1|\n1:3|3:CVE-2020-5|1:1|\n"
                              "1:4|3:CVE-2020-7|1:1|\n1:7|3:CVE-2020-4|1:1|\n");
    free(rows);
    /* the summaries (what the index reads) are the ingest's, in key order */
    char *sa = summaries(a), *sb = summaries(b);
    assert_string_equal(sa, sb);
    assert_string_equal(sa, "1: CVE-2020-1/1/2 CVE-2020-3/0/1 CVE-2020-4/1/1 CVE-2020-5/1/1 "
                            "CVE-2020-7/1/1\n2: CVE-2020-9/1/1\n");
    free(sa);
    free(sb);

    /* the same records again: no row or aggregate rewritten */
    char *before = dump(a, "SELECT rowid, * FROM rec_vulnerability ORDER BY rowid");
    char *before_agg = dump(a, "SELECT rowid, * FROM agg_vul ORDER BY rowid");
    assert_int_equal(store_change_seq(a, &seen, &err), IMGSEC_OK);
    vuls = json_loads(NEW, 0, NULL);
    assert_int_equal(replace1(a, 1, seen, vuls, &skipped, &err), IMGSEC_OK);
    assert_false(skipped);
    json_decref(vuls);
    char *after = dump(a, "SELECT rowid, * FROM rec_vulnerability ORDER BY rowid");
    char *after_agg = dump(a, "SELECT rowid, * FROM agg_vul ORDER BY rowid");
    assert_string_equal(after, before);
    assert_string_equal(after_agg, before_agg);
    free(before);
    free(before_agg);
    free(after);
    free(after_agg);

    /* reversed: every row moves, none is rewritten, and it still equals
     * the ingest of the reversed list */
    json_t *rev = json_loads(NEW, 0, NULL);
    json_t *rv = json_array();
    for (size_t i = json_array_size(rev); i-- > 0;)
        json_array_append(rv, json_array_get(rev, i));
    char *rv_text = json_dumps(rv, JSON_COMPACT);
    char *rv_doc = make_doc("img", "success", rv_text, "");
    store *c = open_store("diff_c");
    ingest(c, rv_doc, neighbour);
    assert_int_equal(store_change_seq(a, &seen, &err), IMGSEC_OK);
    assert_int_equal(replace1(a, 1, seen, rv, &skipped, &err), IMGSEC_OK);
    assert_false(skipped);
    assert_tables_equal(a, c);
    rows = dump(a, "SELECT group_concat(rowid, ',') FROM "
                   "(SELECT rowid FROM rec_vulnerability WHERE image = 1 ORDER BY seq)");
    assert_string_equal(rows, "3:9,8,3,2,7,1|\n");
    free(rows);
    json_decref(rev);
    json_decref(rv);
    free(rv_text);
    free(rv_doc);
    store_close(c);

    free(old_doc);
    free(new_doc);
    free(neighbour);
    store_close(a);
    store_close(b);
}

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(g_dir, sizeof g_dir, "replvuls");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replace_equals_ingest),
                                       cmocka_unit_test(test_replace_many_equals_ingest),
                                       cmocka_unit_test(test_prepare_errors),
                                       cmocka_unit_test(test_lost_update),
                                       cmocka_unit_test(test_replace_writes_differences)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
