/* test_list_names.c - the name filters' totals from a handle's name
 * table (list.c, "name tables"): app_name / file_name of the tenant-wide
 * lists answered with an accelerator (as the server runs them) equal the
 * answers of the plain SQL sum (as the command line runs them) in every
 * scope, type filter and page; the table read at one change-log position
 * is reused at that position and read again at the next. On SQLite, and
 * on PostgreSQL with `unit_test_list_names pg` (pg.test_list_names). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/list.h"
#include "imgsec/store.h"
#include "unit_pg.h"
#include "unit_tmp.h"

static bool use_pg;
/* the accelerator's needle_map_min (0: the default, which these small
 * data sets never reach) */
static int64_t map_min, map_slow_ns;

typedef struct {
    char path[PATH_MAX]; /* the file, or the PostgreSQL URI */
    char pg_name[64];
    store *st;
} fx;

static void ingest(store *st, const char *ep, const char *text)
{
    json_error_t je;
    imgsec_err err = {0};
    imgsec_doc d;
    json_t *root = json_loads(text, 0, &je);
    if (!root)
        fail_msg("bad test JSON: %s", je.text);
    if (doc_from_json(root, NULL, &d, &err) != IMGSEC_OK)
        fail_msg("doc_from_json: %s", err.msg);
    json_decref(root);
    store_ingest_result r = {0, 0};
    if (store_ingest(st, "P1", ep, &d, 1, NULL, &r, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    doc_free(&d);
}

/* An image of type type named name with the apps and files given as JSON
 * array texts. */
static char *doc(const char *type, const char *name, const char *apps, const char *files)
{
    static const char FMT[] =
        "{\"image\":{\"image_type\":\"%s\",\"namespace\":\"ns\",\"image_name\":\"%s\","
        "\"image_version\":\"1\",\"scan_status\":\"success\"},\"apps\":%s,\"files\":%s}";
    int n = snprintf(NULL, 0, FMT, type, name, apps, files);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    assert_non_null(s);
    snprintf(s, (size_t)n + 1, FMT, type, name, apps, files);
    return s;
}

static const char APPS_A[] =
    "[{\"app_name\":\"libssl\",\"app_version\":\"1\"},{\"app_name\":\"zlib\",\"app_version\":\"1\"},"
    "{\"app_name\":\"busybox\"},{\"app_name\":\"libssl\",\"app_version\":\"2\"},"
    "{\"app_name\":\"caf\\u00e9-lib\"}]";
static const char APPS_B[] =
    "[{\"app_name\":\"libcurl\",\"app_version\":\"7\"},{\"app_name\":\"busybox\"},"
    "{\"app_name\":\"zlib\",\"app_version\":\"2\"}]";
static const char FILES_A[] =
    "[{\"file_path\":\"/usr/bin/perl\",\"file_name\":\"perl\"},"
    "{\"file_path\":\"/lib/libc.so\",\"file_name\":\"libc.so\"},{\"file_path\":\"/nameless\"}]";
static const char FILES_B[] = "[{\"file_path\":\"/lib/libz.so\",\"file_name\":\"libz.so\"}]";

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err = {0};
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->path, sizeof f->path,
                                  "test_list_names_"),
                     0);
    if (store_open(f->path, &f->st, &err) != IMGSEC_OK)
        fail_msg("store_open: %s", err.msg);
    /* two EPs, two image types, names shared between them */
    static const struct {
        const char *ep, *type, *name;
        int a;
    } IMGS[] = {{"0", "harbor", "h0", 1},    {"0", "harbor", "h1", 0},
                {"ep-a", "harbor", "h2", 1}, {"ep-a", "jfrog", "j0", 0},
                {"0", "jfrog", "j1", 1},     {"ep-b", "local_image", "l0", 0}};
    for (size_t k = 0; k < sizeof IMGS / sizeof IMGS[0]; k++) {
        char *d = doc(IMGS[k].type, IMGS[k].name, IMGS[k].a ? APPS_A : APPS_B,
                      IMGS[k].a ? FILES_A : FILES_B);
        ingest(f->st, IMGS[k].ep, d);
        free(d);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    unit_db_remove(use_pg, f->pg_name, f->path);
    free(f);
    return 0;
}

/* list_params over a query string "k=v&k=v" (no escapes) */
static const char *get_param(void *ctx, const char *name)
{
    /* a buffer per call, several calls' worth: a list reads app_name, then
     * is_compliant, and keeps the first */
    static char bufs[8][256];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    const char *q = ctx;
    size_t n = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        if ((size_t)(end - q) > n && strncmp(q, name, n) == 0 && q[n] == '=') {
            size_t len = (size_t)(end - q) - n - 1;
            assert_true(len < sizeof bufs[0]);
            memcpy(buf, q + n + 1, len);
            buf[len] = 0;
            return buf;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int no_page(void *arg, int64_t pos, const index_scope *scope, report_type report,
                   unsigned type_mask, int64_t offset, int64_t limit, int64_t *total,
                   index_record_span *spans, size_t *n_spans, imgsec_err *err)
{
    (void)arg, (void)pos, (void)scope, (void)report, (void)type_mask, (void)offset, (void)limit,
        (void)total, (void)spans, (void)n_spans, (void)err;
    return IMGSEC_ENOTFOUND;
}

/* The answer's text, with (accel) or without the accelerator. */
static char *run(store *st, bool accel, list_kind k, const index_scope *scope, const char *query)
{
    list_params p = {get_param, (void *)query};
    list_accel a = {.record_page = no_page, .needle_map_min = map_min,
                    .needle_map_slow_ns = map_slow_ns};
    json_t *o = NULL;
    imgsec_err err = {0};
    int rc = accel ? list_run_accel(st, k, scope, NULL, &p, &a, &o, &err)
                   : list_run(st, k, scope, NULL, &p, &o, &err);
    if (rc != IMGSEC_OK)
        fail_msg("%s: %s", query, err.msg);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static long long total(store *st, bool accel, list_kind k, const index_scope *scope,
                       const char *query)
{
    char *s = run(st, accel, k, scope, query);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    long long t = json_integer_value(json_object_get(o, "total_num"));
    json_decref(o);
    return t;
}

static const char *const EPS_0[] = {"0"};
static const char *const EPS_0A[] = {"ep-a", "0"};

/* Every needle, scope, type filter and page: the same bytes with and
 * without the accelerator; and the totals some plain counts give. */
static void test_cached_totals_equal_sql(void **state)
{
    fx *f = *state;
    static const char *const NEEDLES[] = {"lib", "l", "busybox", "zz-none", "caf\xc3\xa9", "\xc3\xa9",
                                          "so", "perl"};
    static const char *const TYPES[] = {"", "&image_type=harbor", "&image_type=jfrog",
                                        "&image_type=registry", "&image_type=cluster"};
    const index_scope scopes[] = {{"P1", true, NULL, 0},
                                  {"P1", false, EPS_0, 1},
                                  {"P1", false, EPS_0A, 2},
                                  {"P1", false, NULL, 0},
                                  {"P2", true, NULL, 0}};
    size_t compared = 0;
    for (int kind = 0; kind < 2; kind++)
        for (size_t n = 0; n < sizeof NEEDLES / sizeof NEEDLES[0]; n++)
            for (size_t s = 0; s < sizeof scopes / sizeof scopes[0]; s++)
                for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++)
                    for (int off = 0; off < 3; off++) {
                        char q[256];
                        snprintf(q, sizeof q, "%s=%s%s&limit=10&offset=%d",
                                 kind ? "file_name" : "app_name", NEEDLES[n], TYPES[t],
                                 off * 6);
                        list_kind k = kind ? LIST_GLOBAL_FILES : LIST_GLOBAL_APPS;
                        char *a = run(f->st, true, k, &scopes[s], q);
                        char *b = run(f->st, false, k, &scopes[s], q);
                        if (strcmp(a, b) != 0)
                            fail_msg("%s (scope %zu): accel %s, sql %s", q, s, a, b);
                        free(a);
                        free(b);
                        compared++;
                    }
    assert_int_equal(compared, 2 * 8 * 5 * 5 * 3);
    /* apps: A (libssl x2, zlib, busybox, café-lib) on h0, h2, j1; B (libcurl,
     * busybox, zlib) on h1, j0, l0 */
    const index_scope all = {"P1", true, NULL, 0}, ep0 = {"P1", false, EPS_0, 1};
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, "app_name=lib&limit=10"), 3 * 4 + 3 * 2);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &ep0, "app_name=lib&limit=10"), 2 * 4 + 2);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all,
                           "app_name=lib&image_type=jfrog&limit=10"),
                     4 + 2);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, "app_name=caf\xc3\xa9&limit=10"), 3);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_FILES, &all, "file_name=so&limit=10"), 6);
}

/* Pages read through the matching names in a window of image ids
 * (list.c global_records_window): a rare name (one record in 6) spread
 * thinly over 120 images and dense in the last 10, so a window from
 * either end sometimes holds the page at once and sometimes grows; every
 * page equals the SQL walk's, in three scopes. */
static void test_window_pages(void **state)
{
    fx *f = *state;
    for (int k = 0; k < 120; k++) {
        char name[32];
        snprintf(name, sizeof name, "w%03d", k);
        bool rare = k % 10 == 0 || k >= 110;
        char apps[256];
        snprintf(apps, sizeof apps,
                 "[{\"app_name\":\"common-a\"},{\"app_name\":\"common-b\"},"
                 "{\"app_name\":\"common-c\"},{\"app_name\":\"%s\",\"app_version\":\"%d\"}]",
                 rare ? (k % 20 ? "rare-x" : "rare-y") : "common-d", k);
        char *d = doc(k % 3 ? "harbor" : "jfrog", name, apps, "[]");
        ingest(f->st, k % 4 ? "0" : "ep-a", d);
        free(d);
    }
    const index_scope scopes[] = {
        {"P1", true, NULL, 0}, {"P1", false, EPS_0, 1}, {"P1", true, NULL, 0}};
    const char *types[] = {"", "", "&image_type=harbor"};
    size_t compared = 0;
    for (size_t s = 0; s < 3; s++) {
        char q0[128];
        snprintf(q0, sizeof q0, "app_name=rare%s&limit=10", types[s]);
        long long t = total(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q0);
        assert_true(t >= 10);
        (void)total(f->st, true, LIST_GLOBAL_APPS, &scopes[s], q0); /* reads the table */
        for (long long off = 0; off < t; off++) {
            char q[160];
            snprintf(q, sizeof q, "app_name=rare%s&limit=10&offset=%lld", types[s], off);
            char *a = run(f->st, true, LIST_GLOBAL_APPS, &scopes[s], q);
            char *b = run(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q);
            if (strcmp(a, b) != 0)
                fail_msg("%s (scope %zu): window %s, walk %s", q, s, a, b);
            free(a);
            free(b);
            compared++;
        }
    }
    assert_true(compared >= 40);
    const index_scope all = {"P1", true, NULL, 0};
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, "app_name=rare&limit=10"), 12 + 10 - 1);
}

static void bump(const char *path, const char *name, int by)
{
    db_conn *c = NULL;
    imgsec_err err = {0};
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE name_counts SET n = n + %d WHERE kind = 0 AND project_id = 'P1' AND "
             "name = '%s'",
             by, name);
    assert_int_equal(db_open(path, &c, &err), IMGSEC_OK);
    assert_int_equal(db_exec(c, sql, "test", &err), IMGSEC_OK);
    db_close(c);
}

/* A direct change of name_counts that appends nothing to the change log
 * (no write path does that: the test stands in for "the same position
 * means the same counts") shows which answer read the handle's table: a
 * table read at this position still answers the old counts, while the
 * SQL sum sees the change. The first request at a position sums in SQL,
 * the second reads the table; a write (of this handle or another) moves
 * the position, and the table is read again. Without the tables every
 * answer would follow the change at once. */
static void test_table_per_position(void **state)
{
    fx *f = *state;
    const index_scope all = {"P1", true, NULL, 0};
    const char *Q = "app_name=lib&limit=10";
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18);  /* SQL */
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18);  /* reads the table */
    assert_int_equal(total(f->st, false, LIST_GLOBAL_APPS, &all, Q), 18);
    /* libcurl is on h1 (harbor, 0), j0 (jfrog, ep-a), l0 (local_image, ep-b): 3 rows */
    bump(f->path, "libcurl", 100);
    assert_int_equal(total(f->st, false, LIST_GLOBAL_APPS, &all, Q), 18 + 300);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18);
    /* the file table of the same project is another slot: its first
     * request sums in SQL and leaves the app table alone */
    assert_int_equal(total(f->st, true, LIST_GLOBAL_FILES, &all, "file_name=so&limit=10"), 6);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18);
    /* another handle writes: a new position; the first request sums */
    store *w = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(f->path, &w, &err), IMGSEC_OK);
    char *d = doc("harbor", "fresh", "[{\"app_name\":\"libfresh\"}]", "[]");
    ingest(w, "0", d);
    free(d);
    store_close(w);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 1);
    bump(f->path, "libfresh", 1000);
    /* the second reads the table: the bump is in it */
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 1 + 1000);
    bump(f->path, "libfresh", -1000);
    assert_int_equal(total(f->st, false, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 1);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 1 + 1000);
    /* this handle's own write */
    d = doc("jfrog", "fresh2", "[{\"app_name\":\"libfresh\"},{\"app_name\":\"glibc\"}]", "[]");
    ingest(f->st, "ep-a", d);
    free(d);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 3);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 3);
    bump(f->path, "glibc", 5);
    assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 3);
    assert_int_equal(total(f->st, false, LIST_GLOBAL_APPS, &all, Q), 18 + 300 + 3 + 5);
}

/* Renames the libssl apps of the first image that has them (two
 * records), straight in the table: no change-log row and no name count
 * follow, which no write path allows; a test stands in for "the same
 * position means the same records". */
static void rename_first_libssl(const char *path)
{
    db_conn *conn = NULL;
    imgsec_err err = {0};
    assert_int_equal(db_open(path, &conn, &err), IMGSEC_OK);
    assert_int_equal(db_exec(conn,
                             "UPDATE rec_app SET app_name = 'zzz' WHERE app_name = 'libssl' AND "
                             "image = (SELECT min(image) FROM rec_app WHERE app_name = 'libssl')",
                             "test", &err),
                     IMGSEC_OK);
    db_close(conn);
}

/* (inserted as the files' JSON: no files, then non-compliant apps) */
static const char NC_TWIN[] =
    "[],\"non_compliant_apps\":[{\"app_name\":\"coreutils\",\"reason\":\"r\"},"
    "{\"app_name\":\"glib\",\"reason\":\"r\"},{\"app_name\":\"glib\",\"reason\":\"again\"}]";
static const char NC_ALONE[] =
    "[],\"non_compliant_apps\":[{\"app_name\":\"libnc-only\",\"app_version\":\"9\","
    "\"reason\":\"r\"},{\"app_name\":\"glib\",\"app_version\":\"2\",\"reason\":\"r\"}]";

/* Needle maps (list.c): with the threshold at 1 every name filter's page
 * of the accelerator goes through its needle's per-image counts from its
 * third request at a position on (the first sums in SQL, the second reads
 * the name table and builds the map or leaves it waiting); at every
 * offset, scope and type filter the bytes equal the walk's. Images of
 * another project with the same names must not count. Then a direct
 * change of two records (no change-log row, which no write path does)
 * shows that the pages came from the map built before it: a page after
 * the changed image still answers as before, while the walk's shifts by
 * two; a real write moves the position, and the accelerator's answers
 * are the walk's again (the map built there no longer matches the
 * counts, and is not used). */
static void test_needle_map_pages(void **state)
{
    fx *f = *state;
    imgsec_err err = {0};
    for (int k = 0; k < 40; k++) {
        char name[32], apps[512];
        snprintf(name, sizeof name, "m%03d", k);
        snprintf(apps, sizeof apps,
                 "[{\"app_name\":\"bash\"},{\"app_name\":\"lib%d\",\"app_version\":\"1\"},"
                 "{\"app_name\":\"coreutils\"},{\"app_name\":\"libxml-%d\"}%s]",
                 k % 7, k % 3, k % 5 ? ",{\"app_name\":\"glib\"},{\"app_name\":\"libz\"}" : "");
        /* non-compliant apps: twins of an app record (same name, version
         * and path) and ones without an app record */
        const char *files = k % 6 == 1 ? NC_TWIN : k % 6 == 3 ? NC_ALONE : "[]";
        char *d = doc(k % 3 ? "harbor" : "jfrog", name, apps, files);
        if (k % 9 == 4) { /* another project, the same names */
            json_error_t je;
            json_t *root = json_loads(d, 0, &je);
            imgsec_doc dd;
            assert_int_equal(doc_from_json(root, NULL, &dd, &err), IMGSEC_OK);
            json_decref(root);
            store_ingest_result r = {0, 0};
            assert_int_equal(store_ingest(f->st, "P2", "0", &dd, 1, NULL, &r, NULL, NULL, &err),
                             IMGSEC_OK);
            doc_free(&dd);
        } else
            ingest(f->st, k % 4 ? "0" : "ep-a", d);
        free(d);
    }
    const index_scope scopes[] = {
        {"P1", true, NULL, 0}, {"P1", false, EPS_0, 1}, {"P1", true, NULL, 0}};
    const char *types[] = {"", "", "&image_type=harbor"};
    const char *needles[] = {"lib", "xml-2"};
    map_min = 1;
    size_t compared = 0;
    for (size_t s = 0; s < 3; s++)
        for (size_t nd = 0; nd < 2; nd++) {
            char q0[128];
            snprintf(q0, sizeof q0, "app_name=%s%s&limit=10", needles[nd], types[s]);
            long long t = total(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q0);
            assert_true(t >= 10);
            for (long long off = 0; off < t; off++) {
                char q[160];
                snprintf(q, sizeof q, "app_name=%s%s&limit=10&offset=%lld", needles[nd], types[s],
                         off);
                char *b = run(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q);
                for (int rep = 0; rep < 3; rep++) { /* SQL sum, table and map, map */
                    char *a = run(f->st, true, LIST_GLOBAL_APPS, &scopes[s], q);
                    if (strcmp(a, b) != 0)
                        fail_msg("%s (scope %zu, try %d): map %s, walk %s", q, s, rep, a, b);
                    free(a);
                }
                free(b);
                compared++;
            }
        }
    assert_true(compared >= 100);
    /* with is_compliant: the maps of compliant apps (all, or with a name)
     * and of non-compliant ones with a name, built at once, equal to the
     * walk at every offset; then the totals, counted from the data */
    const char *cq[] = {"is_compliant=true", "is_compliant=false", "app_name=lib&is_compliant=true",
                        "app_name=lib&is_compliant=false", "app_name=libnc&is_compliant=false",
                        "app_name=glib&is_compliant=true"};
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < sizeof cq / sizeof cq[0]; k++) {
            char q0[160];
            snprintf(q0, sizeof q0, "%s%s&limit=10", cq[k], types[s]);
            long long t = total(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q0);
            for (long long off = 0; off < t + 1; off += off < 30 ? 1 : 7) {
                char q[200];
                snprintf(q, sizeof q, "%s%s&limit=10&offset=%lld", cq[k], types[s], off);
                char *b = run(f->st, false, LIST_GLOBAL_APPS, &scopes[s], q);
                for (int rep = 0; rep < 2; rep++) {
                    char *a = run(f->st, true, LIST_GLOBAL_APPS, &scopes[s], q);
                    if (strcmp(a, b) != 0)
                        fail_msg("%s (scope %zu, try %d): map %s, walk %s", q, s, rep, a, b);
                    free(a);
                }
                free(b);
                compared++;
            }
        }
    long long apps = 3 * 5 + 3 * 3, twins = 0, nc_rows = 0, lib_twins = 0, lib_nc = 0, nc_only = 0,
              glib = 0, glib_twins = 0;
    for (int k = 0; k < 40; k++) {
        if (k % 9 == 4)
            continue; /* P2 */
        apps += k % 5 ? 6 : 4;
        glib += k % 5 ? 1 : 0;
        if (k % 6 == 1) { /* coreutils, and glib (twice) when the image has it */
            twins += k % 5 ? 2 : 1;
            lib_twins += k % 5 ? 1 : 0;
            glib_twins += k % 5 ? 1 : 0;
            nc_rows += 3;
            lib_nc += 2;
        }
        if (k % 6 == 3) { /* libnc-only 9 and glib 2: no app record has them */
            nc_rows += 2;
            lib_nc += 2;
            nc_only++;
        }
    }
    const index_scope whole = {"P1", true, NULL, 0};
    long long lib_all = total(f->st, false, LIST_GLOBAL_APPS, &whole, "app_name=lib&limit=10");
    const struct {
        const char *q;
        long long want;
    } TOT[] = {{"is_compliant=true&limit=10", apps - twins},
               {"is_compliant=false&limit=10", nc_rows},
               {"app_name=lib&is_compliant=true&limit=10", lib_all - lib_twins},
               {"app_name=lib&is_compliant=false&limit=10", lib_nc},
               {"app_name=libnc&is_compliant=false&limit=10", nc_only},
               {"app_name=glib&is_compliant=true&limit=10", glib - glib_twins}};
    for (size_t k = 0; k < sizeof TOT / sizeof TOT[0]; k++) {
        assert_int_equal(total(f->st, true, LIST_GLOBAL_APPS, &whole, TOT[k].q), TOT[k].want);
        assert_int_equal(total(f->st, false, LIST_GLOBAL_APPS, &whole, TOT[k].q), TOT[k].want);
    }
    assert_int_equal(twins, 9); /* k = 1, 7, 19, 25, 37: 2, 2, 2, 1, 2 */
    /* the whole project: 6 setup images hold 18 `lib` records (test_table_per_position);
     * 36 of the 40 are P1's, each with 2 or 4 */
    const index_scope all = {"P1", true, NULL, 0};
    long long t = total(f->st, true, LIST_GLOBAL_APPS, &all, "app_name=lib&limit=10");
    long long want = 18;
    for (int k = 0; k < 40; k++)
        if (k % 9 != 4)
            want += k % 5 ? 4 : 2;
    assert_int_equal(t, want);
    const char *Q = "app_name=lib&limit=10&offset=30";
    for (int rep = 0; rep < 2; rep++) /* (the loop's maps were 6: this one was evicted) */
        free(run(f->st, true, LIST_GLOBAL_APPS, &all, Q));
    char *before = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);
    char *walk_before = run(f->st, false, LIST_GLOBAL_APPS, &all, Q);
    assert_string_equal(before, walk_before);
    rename_first_libssl(f->path);
    char *after = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);
    char *walk_after = run(f->st, false, LIST_GLOBAL_APPS, &all, Q);
    assert_string_equal(after, before);
    assert_string_not_equal(walk_after, walk_before);
    char *d = doc("harbor", "moved", "[{\"app_name\":\"bash\"}]", "[]");
    ingest(f->st, "0", d);
    free(d);
    for (int rep = 0; rep < 3; rep++) {
        char *a = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);
        assert_string_equal(a, walk_after);
        free(a);
    }
    free(before), free(walk_before), free(after), free(walk_after);
    map_min = 0;
}

/* A page read the other way that proves dear marks the needle's map
 * wanted, whatever the estimate said: with the threshold so high that
 * the estimate never asks for a map, and the slowness bound at 1 ns, the
 * first request at a position walks (and marks), the second builds the
 * map and reads from it; a direct change of two records (no change-log
 * row) then shows that the third still reads the map (its page as before
 * the change, the walk's shifted), as test_needle_map_pages does. First,
 * with the bound at its default (5 ms, not reached by this small data),
 * the accelerator's answers are the walk's. */
static void test_needle_map_when_slow(void **state)
{
    fx *f = *state;
    const index_scope all = {"P1", true, NULL, 0};
    /* offset 4: the page begins at the second image, after the changed
     * one, and the walk (no accelerator) reads forward, so it shows the
     * change (at offset 10 it would read backward from the end) */
    const char *Q = "app_name=lib&limit=10&offset=4";
    map_min = INT64_MAX;
    char *walk_before = run(f->st, false, LIST_GLOBAL_APPS, &all, Q);
    for (int rep = 0; rep < 3; rep++) { /* SQL sum, table (walks: default bound) */
        char *a = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);
        assert_string_equal(a, walk_before);
        free(a);
    }
    map_slow_ns = 1;
    char *first = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);   /* walks, marks */
    char *second = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);  /* builds the map */
    assert_string_equal(first, walk_before);
    assert_string_equal(second, walk_before);
    rename_first_libssl(f->path);
    char *third = run(f->st, true, LIST_GLOBAL_APPS, &all, Q);
    char *walk_after = run(f->st, false, LIST_GLOBAL_APPS, &all, Q);
    assert_string_equal(third, walk_before);
    assert_string_not_equal(walk_after, walk_before);
    free(walk_before), free(first), free(second), free(third), free(walk_after);
    map_min = 0;
    map_slow_ns = 0;
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    use_pg = pg == 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cached_totals_equal_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_per_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needle_map_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needle_map_when_slow, setup, teardown),
    };
    return cmocka_run_group_tests_name(use_pg ? "list names on PostgreSQL" : "list names", tests,
                                       NULL, NULL);
}
