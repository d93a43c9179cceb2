/* test_export.c - export tasks, status and downloads (export.md), end to end.
 *
 * A generated fleet (gen.h, fixed seed) plus one hand-made image with
 * awkward strings is ingested over HTTP into project P1; the test keeps
 * the documents and builds every expected file itself, from data-model.md
 * and export.md alone: the header (image columns, then the record fields
 * as the spec lists them), one row per record, images by id, records by
 * the natural key documented in store_exports.h then document order,
 * CSV formula guard. Files are read back by independent readers
 * (read_export.py: Python's csv module, openpyxl) and compared cell by
 * cell. Then: the count is the statistic's (also with record filters and
 * export_size below N), the cloud-named routes, the count under
 * concurrent re-ingest, roles and project isolation, a stop in the
 * middle of a task, a crash in the middle of a task, and retention.
 */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imgsec/gen.h"
#include "imgsec/util.h"

static srv_t S;
static char *T_ADM;  /* admin, P1 */
static char *T_RD;   /* reader, P1, EP 0 only */
static char *T_P2;   /* admin, P2 */
static char *T_EPA;  /* reader, P1, EP ep-a only */

/* ---- the record fields, as data-model.md lists them ---- */

enum { NTYPES = 8, MAXF = 12 };
static const char *const TYPES[NTYPES] = {"vulnerability", "risk-config", "malwares", "apps",
                                          "files", "sensitive-info", "non-compliant-app",
                                          "build-command-risks"};
static const char *const DOC_KEYS[NTYPES] = {"vulnerabilities", "risk_configs", "malwares", "apps",
                                             "files", "sensitive_info", "non_compliant_apps",
                                             "build_command_risks"};
static const char *const FIELDS[NTYPES][MAXF] = {
    {"vul_id", "vul_type", "severity", "app_name", "app_version", "app_path", "fixed_version",
     "cvss_score", "description", "solution", "url"},
    {"check_name", "check_rule_id", "check_rule_name", "check_type", "standard", "severity",
     "current_value", "suggest_value"},
    {"file_path", "file_name", "size", "malware_name", "description", "sha256"},
    {"app_name", "app_version", "app_type", "app_path", "layer_digest", "license", "purl"},
    {"file_path", "file_name", "size", "mode", "owner"},
    {"rule_id", "name", "severity", "file_path", "position", "content"},
    {"app_name", "app_version", "app_path", "layer_digest", "reason"},
    {"rule_id", "risk_name", "risk_level", "build_instruction", "remediation", "description"},
};
/* natural keys (store_exports.h), then document order */
static const char *const KEYS[NTYPES][5] = {
    {"vul_id", "app_name", "app_version", "app_path"}, {"check_rule_id", "check_name"},
    {"file_path"}, {"app_name", "app_version", "app_type", "app_path"}, {"file_path"},
    {"rule_id", "file_path", "position"}, {"app_name", "app_version", "app_path"},
    {"rule_id", "build_instruction"},
};
static const char *const IMAGE_COLS[7] = {"id", "image_type", "namespace", "image_name",
                                          "image_version", "image_id", "enterprise_project_id"};

static size_t nfields(int t)
{
    size_t n = 0;
    while (n < MAXF && FIELDS[t][n])
        n++;
    return n;
}

/* ---- the fleet ---- */

enum { N_GEN = 40, MAX_IMAGES = 64 };
typedef struct {
    long long id;
    char ep[16];
    json_t *doc;
} image;
static image IMG[MAX_IMAGES];
static size_t N_IMG;

/* An image whose strings test CSV quoting, the formula guard and UTF-8. */
static const char *AWKWARD =
    "{\"image\": {\"image_type\": \"local_image\", \"image_name\": \"=cmd|' /C calc'!A0\","
    " \"image_version\": \"1,0\", \"scan_status\": \"success\"},"
    " \"vulnerabilities\": ["
    "  {\"vul_id\": \"CVE-2024-0001\", \"vul_type\": \"app_vul\", \"severity\": \"HIGH\","
    "   \"app_name\": \"+plus\", \"description\": \"line one\\nline \\\"two\\\", with comma\","
    "   \"cvss_score\": 8.7, \"solution\": \"-minus\", \"url\": \"@at\"},"
    "  {\"vul_id\": \"CVE-2024-0001\", \"vul_type\": \"app_vul\", \"severity\": \"low\","
    "   \"app_name\": \"+plus\", \"cvss_score\": 7, \"description\": \"caf\\u00e9 \\u6f22\\u5b57 \\r\\n end\"},"
    "  {\"vul_id\": \"CVE-2023-9\", \"vul_type\": \"linux_vul\", \"severity\": \"medium\"}],"
    " \"files\": [{\"file_path\": \"/b\", \"size\": 12, \"mode\": \"0755\"}, {\"file_path\": \"/a\", \"owner\": \"=1+1\"}],"
    " \"build_command_risks\": [{\"rule_id\": \"DS002\", \"risk_name\": \"image runs as root\","
    "   \"risk_level\": \"High\", \"build_instruction\": \"USER root\"}]}";

static int ingest_doc(json_t *doc, const char *ep)
{
    char *text = h_json_text(doc);
    http_resp r;
    long st = api_ingest(&S, T_ADM, "P1", ep, text, false, &r);
    char ids[1][32];
    int n = st == 200 ? ingest_ids(&r, ids, 1) : -1;
    if (n != 1) {
        fprintf(stderr, "ingest failed: %ld %s\n", st, r.body ? r.body : "");
        http_resp_free(&r);
        free(text);
        return -1;
    }
    IMG[N_IMG].id = atoll(ids[0]);
    snprintf(IMG[N_IMG].ep, sizeof IMG[N_IMG].ep, "%s", ep);
    IMG[N_IMG].doc = json_incref(doc);
    N_IMG++;
    http_resp_free(&r);
    free(text);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    T_RD = user_token(&S, "acme", "rita", "rita-pw-2", "P1", "reader", "0");
    T_P2 = user_token(&S, "acme", "pat", "pat-pw-4", "P2", "admin", "all");
    T_EPA = user_token(&S, "acme", "edna", "edna-pw-5", "P1", "reader", "ep-a");
    if (!T_ADM || !T_RD || !T_P2 || !T_EPA)
        return -1;
    static const char *const eps[] = {"0", "ep-a"};
    gen_options opt = {.seed = 4242, .images = N_GEN, .eps = eps, .n_eps = 2,
                       .records_per_image = 30};
    gen *g = gen_new(&opt);
    const char *ep;
    json_t *doc;
    while (g && (doc = gen_next(g, &ep))) {
        int rc = ingest_doc(doc, ep);
        json_decref(doc);
        if (rc != 0) {
            gen_free(g);
            return -1;
        }
    }
    gen_free(g);
    json_t *awk = json_loads(AWKWARD, 0, NULL);
    int rc = awk ? ingest_doc(awk, "0") : -1;
    json_decref(awk);
    return N_IMG == N_GEN + 1 && rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = srv_stop(&S, true);
    for (size_t i = 0; i < N_IMG; i++)
        json_decref(IMG[i].doc);
    free(T_ADM);
    free(T_RD);
    free(T_P2);
    return rc;
}

/* ---- expected rows ---- */

typedef struct {
    char **cells;      /* 7 + nfields */
    const json_t *rec; /* for sorting */
    size_t seq;
    long long image;
} row;

typedef struct {
    row *rows;
    size_t n;
    int type;
} table;

static char *cell_text(const json_t *v, bool lower)
{
    if (!v || json_is_null(v))
        return strdup("");
    if (json_is_integer(v))
        return h_strdupf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return h_strdupf("%.15g", json_real_value(v));
    char *s = strdup(json_string_value(v));
    for (char *p = s; lower && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

static int KEY_TYPE;
/* absent < any string; strings bytewise; then document order */
static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->image != y->image)
        return x->image < y->image ? -1 : 1;
    for (int k = 0; k < 5 && KEYS[KEY_TYPE][k]; k++) {
        const json_t *u = json_object_get(x->rec, KEYS[KEY_TYPE][k]);
        const json_t *v = json_object_get(y->rec, KEYS[KEY_TYPE][k]);
        bool ua = u && !json_is_null(u), va = v && !json_is_null(v);
        if (ua != va)
            return ua ? 1 : -1;
        if (ua) {
            int c = strcmp(json_string_value(u), json_string_value(v));
            if (c)
                return c < 0 ? -1 : 1;
        }
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef bool (*rec_pred)(const image *img, const json_t *rec);

/* Every record of type t of the images passing pred (NULL: all), sorted. */
static table expected(int t, rec_pred pred)
{
    table tb = {.type = t};
    size_t nf = nfields(t);
    for (size_t i = 0; i < N_IMG; i++) {
        const json_t *img = json_object_get(IMG[i].doc, "image");
        const json_t *recs = json_object_get(IMG[i].doc, DOC_KEYS[t]);
        size_t j;
        const json_t *rec;
        json_array_foreach(recs, j, rec) {
            if (pred && !pred(&IMG[i], rec))
                continue;
            tb.rows = realloc(tb.rows, (tb.n + 1) * sizeof *tb.rows);
            row *r = &tb.rows[tb.n++];
            r->cells = calloc(7 + nf, sizeof *r->cells);
            r->rec = rec;
            r->seq = j;
            r->image = IMG[i].id;
            r->cells[0] = h_strdupf("%lld", IMG[i].id);
            for (int c = 1; c < 6; c++)
                r->cells[c] = cell_text(json_object_get(img, IMAGE_COLS[c]), false);
            r->cells[6] = strdup(IMG[i].ep);
            for (size_t f = 0; f < nf; f++) {
                bool sev = strcmp(FIELDS[t][f], "severity") == 0 ||
                           strcmp(FIELDS[t][f], "risk_level") == 0;
                r->cells[7 + f] = cell_text(json_object_get(rec, FIELDS[t][f]), sev);
            }
        }
    }
    KEY_TYPE = t;
    if (tb.n)
        qsort(tb.rows, tb.n, sizeof *tb.rows, row_cmp);
    return tb;
}

static void table_free(table *tb)
{
    size_t nf = nfields(tb->type);
    for (size_t i = 0; i < tb->n; i++) {
        for (size_t c = 0; c < 7 + nf; c++)
            free(tb->rows[i].cells[c]);
        free(tb->rows[i].cells);
    }
    free(tb->rows);
}

/* ---- talking to the server ---- */

static long long statistic(const char *type, const char *body)
{
    stat_res r = api_stat(&S, T_ADM, "P1", type, "all_granted_eps", body);
    assert_int_equal(r.status, 200);
    return r.total;
}

/* POST export-tasks with body + the export keys; returns the task id (malloc'd). */
static char *create_task(const char *token, const char *project, const char *type,
                         const char *filters, long long size, const char *fmt, http_resp *out)
{
    char *body = h_strdupf("{%s%s\"security_report_type\": \"%s\", \"export_size\": %lld%s%s%s}",
                           filters ? filters : "\"operate_all\": true", ", ", type, size,
                           fmt ? ", \"file_format\": \"" : "", fmt ? fmt : "", fmt ? "\"" : "");
    char *path = h_strdupf("/v5/%s/image/security-report/export-tasks", project);
    api_call(&S, "POST", path, "enterprise_project_id=all_granted_eps", token, H_REGION, body,
             "application/json", out);
    free(body);
    free(path);
    const json_t *id = out->status == 200 ? json_object_get(out->json, "task_id") : NULL;
    return id && json_is_string(id) ? strdup(json_string_value(id)) : NULL;
}

#define ALL_EPS "enterprise_project_id=all_granted_eps"

static long get_status(const char *token, const char *project, const char *task, http_resp *out)
{
    return api_export_status(&S, token, project, task, ALL_EPS, out);
}

static const char *jstr(const http_resp *r, const char *key)
{
    const json_t *v = json_object_get(r->json, key);
    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

static long long jint(const http_resp *r, const char *key)
{
    const json_t *v = json_object_get(r->json, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Polls until the admin's task leaves "running"; out holds the last status. */
#define wait_task(task, out) wait_export_ended(&S, T_ADM, "P1", (task), ALL_EPS, (out))

static json_t *read_back(const char *fmt, const http_resp *file)
{
    char *path = h_strdupf("%s/readback.%s", S.dir, fmt);
    assert_int_equal(h_write_file(path, file->body, file->body_len), 0);
    char *dir = strdup(__FILE__);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char *cmd = h_strdupf("/usr/bin/python3 '%s/read_export.py' %s '%s'", slash ? dir : ".", fmt,
                          path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t jerr;
    json_t *j = json_loadf(p, 0, &jerr);
    int st = pclose(p);
    if (!j || st != 0)
        fail_msg("%s: exit %d, %s", cmd, st, jerr.text);
    unlink(path);
    free(cmd);
    free(dir);
    free(path);
    return j;
}

/* Downloads the task's file; checks the headers. */
static void download(const char *token, const char *project, const char *file_id, const char *fmt,
                     const char *file_name, http_resp *out)
{
    char *path = h_strdupf("/v5/%s/download/%s", project, file_id);
    api_call(&S, "GET", path, NULL, token, H_REGION, NULL, NULL, out);
    free(path);
    assert_status(out, 200);
    assert_string_equal(http_header(out, "Content-Type"),
                        strcmp(fmt, "csv") == 0
                            ? "text/csv; charset=utf-8"
                            : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    char *disp = h_strdupf("attachment; filename=\"%s\"", file_name);
    assert_string_equal(http_header(out, "Content-Disposition"), disp);
    free(disp);
    const char *cl = http_header(out, "Content-Length");
    assert_non_null(cl);
    assert_int_equal(atoll(cl), (long long)out->body_len);
    assert_true(h_is_hex(http_header(out, "X-Request-Id"), 32));
}

/* The file's rows (header included) against tb's first `want` rows. */
static void check_rows(const json_t *got, const table *tb, size_t want, const char *fmt)
{
    int t = tb->type;
    size_t nf = nfields(t), ncols = 7 + nf;
    const json_t *rows = json_object_get(got, "rows");
    const json_t *sheets = json_object_get(got, "sheets");
    size_t nsheets = json_array_size(sheets);
    assert_int_equal(nsheets, 1);
    if (strcmp(fmt, "xlsx") == 0)
        assert_string_equal(json_string_value(json_array_get(json_array_get(sheets, 0), 0)),
                            TYPES[t]);
    assert_int_equal(json_array_size(rows), want + 1);
    const json_t *hdr = json_array_get(rows, 0);
    assert_int_equal(json_array_size(hdr), ncols);
    for (size_t c = 0; c < ncols; c++)
        assert_string_equal(json_string_value(json_array_get(hdr, c)),
                            c < 7 ? IMAGE_COLS[c] : FIELDS[t][c - 7]);
    bool csv = strcmp(fmt, "csv") == 0;
    for (size_t i = 0; i < want; i++) {
        const json_t *r = json_array_get(rows, i + 1);
        if (json_array_size(r) != ncols)
            fail_msg("%s %s row %zu has %zu cells", TYPES[t], fmt, i + 1, json_array_size(r));
        for (size_t c = 0; c < ncols; c++) {
            const char *want_s = tb->rows[i].cells[c];
            char *guarded = NULL;
            if (csv && strchr("=+-@", want_s[0]) && want_s[0])
                want_s = guarded = h_strdupf("'%s", want_s);
            const char *got_s = json_string_value(json_array_get(r, c));
            if (!got_s || strcmp(got_s, want_s) != 0)
                fail_msg("%s %s row %zu column %s: got \"%s\", want \"%s\"", TYPES[t], fmt, i + 1,
                         c < 7 ? IMAGE_COLS[c] : FIELDS[t][c - 7], got_s ? got_s : "(null)",
                         want_s);
            free(guarded);
        }
    }
}

/* Creates a task for type t (filters, size, fmt), waits, downloads, reads
 * back, compares with tb (whose n is N); returns nothing, asserts all. */
static void export_and_check(int t, const char *filters, long long size, const char *fmt,
                             const table *tb)
{
    http_resp r, st, file;
    char *task = create_task(T_ADM, "P1", TYPES[t], filters, size, fmt, &r);
    if (!task)
        fail_msg("create %s: %ld %s", TYPES[t], r.status, r.body ? r.body : "");
    assert_true(h_is_hex(task, 32));
    http_resp_free(&r);
    wait_task(task, &st);
    size_t want = (size_t)((long long)tb->n < size ? (long long)tb->n : size);
    assert_string_equal(jstr(&st, "task_status"), "success");
    assert_string_equal(jstr(&st, "task_id"), task);
    assert_int_equal(jint(&st, "record_num"), (long long)want);
    assert_int_equal(jint(&st, "progress"), 100);
    assert_string_equal(jstr(&st, "failure_reason"), "");
    assert_true(h_is_hex(jstr(&st, "file_id"), 32));
    const char *name = jstr(&st, "file_name");
    size_t nl = strlen(name), el = strlen(fmt);
    assert_true(nl > el + 1 && strcmp(name + nl - el, fmt) == 0 && name[nl - el - 1] == '.');
    assert_true(strncmp(name, TYPES[t], strlen(TYPES[t])) == 0);
    download(T_ADM, "P1", jstr(&st, "file_id"), fmt, name, &file);
    json_t *got = read_back(fmt, &file);
    check_rows(got, tb, want, fmt);
    json_decref(got);
    http_resp_free(&file);
    http_resp_free(&st);
    free(task);
}

/* ---- tests ---- */

/* Every type, both formats: the file is the statistic's count of rows,
 * equal cell by cell to what was ingested, in the documented order. */
static void test_every_type_both_formats(void **state)
{
    (void)state;
    for (int t = 0; t < NTYPES; t++) {
        table tb = expected(t, NULL);
        long long n = statistic(TYPES[t], "{\"operate_all\": true}");
        assert_int_equal(n, (long long)tb.n);
        assert_true(n > 0);
        export_and_check(t, NULL, 10000000, "csv", &tb);
        export_and_check(t, NULL, 10000000, "xlsx", &tb);
        table_free(&tb);
    }
}

/* The awkward image, byte for byte in CSV: quoting, CRLF, the guard. */
static void test_csv_bytes(void **state)
{
    (void)state;
    http_resp r, st, file;
    char *task = create_task(T_ADM, "P1", "files", "\"image_id_list\": [\"" "%ID%" "\"]", 10,
                             "csv", &r);
    /* the placeholder is not an image: nothing selected */
    assert_non_null(task);
    http_resp_free(&r);
    wait_task(task, &st);
    assert_string_equal(jstr(&st, "task_status"), "success");
    assert_int_equal(jint(&st, "record_num"), 0);
    download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    assert_string_equal(file.body,
                        "id,image_type,namespace,image_name,image_version,image_id,"
                        "enterprise_project_id,file_path,file_name,size,mode,owner\r\n");
    http_resp_free(&file);
    http_resp_free(&st);
    free(task);

    const image *awk = &IMG[N_IMG - 1];
    char *filters = h_strdupf("\"image_id_list\": [\"%lld\"]", awk->id);
    task = create_task(T_ADM, "P1", "files", filters, 10, "csv", &r);
    assert_non_null(task);
    http_resp_free(&r);
    wait_task(task, &st);
    download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    char *want = h_strdupf(
        "id,image_type,namespace,image_name,image_version,image_id,enterprise_project_id,"
        "file_path,file_name,size,mode,owner\r\n"
        "%lld,local_image,,'=cmd|' /C calc'!A0,\"1,0\",,0,/a,,,,'=1+1\r\n"
        "%lld,local_image,,'=cmd|' /C calc'!A0,\"1,0\",,0,/b,,12,0755,\r\n",
        awk->id, awk->id);
    assert_string_equal(file.body, want);
    free(want);
    http_resp_free(&file);
    http_resp_free(&st);
    free(task);

    task = create_task(T_ADM, "P1", "vulnerability", filters, 10, "csv", &r);
    assert_non_null(task);
    http_resp_free(&r);
    wait_task(task, &st);
    download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    want = h_strdupf(
        "id,image_type,namespace,image_name,image_version,image_id,enterprise_project_id,"
        "vul_id,vul_type,severity,app_name,app_version,app_path,fixed_version,cvss_score,"
        "description,solution,url\r\n"
        "%lld,local_image,,'=cmd|' /C calc'!A0,\"1,0\",,0,CVE-2023-9,linux_vul,medium,,,,,,,,\r\n"
        "%lld,local_image,,'=cmd|' /C calc'!A0,\"1,0\",,0,CVE-2024-0001,app_vul,high,'+plus,,,,"
        "8.7,\"line one\nline \"\"two\"\", with comma\",'-minus,'@at\r\n"
        "%lld,local_image,,'=cmd|' /C calc'!A0,\"1,0\",,0,CVE-2024-0001,app_vul,low,'+plus,,,,"
        "7,\"caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \r\n end\",,\r\n",
        awk->id, awk->id, awk->id);
    assert_string_equal(file.body, want);
    free(want);
    http_resp_free(&file);
    http_resp_free(&st);
    free(task);
    free(filters);
}

static bool pred_vul_filter(const image *img, const json_t *rec)
{
    (void)img;
    const char *id = json_string_value(json_object_get(rec, "vul_id"));
    const char *vt = json_string_value(json_object_get(rec, "vul_type"));
    return vt && strcmp(vt, "app_vul") == 0 && id &&
           (strcmp(id, "CVE-2024-0001") == 0 || strcmp(id, "CVE-2023-9") == 0 ||
            strncmp(id, "CVE-2019", 8) == 0);
}

static bool pred_build_filter(const image *img, const json_t *rec)
{
    (void)img;
    const char *lv = json_string_value(json_object_get(rec, "risk_level"));
    const char *name = json_string_value(json_object_get(rec, "risk_name"));
    return lv && strcasecmp(lv, "high") == 0 && name && strstr(name, "root");
}

static bool pred_local(const image *img, const json_t *rec)
{
    (void)rec;
    const char *t = json_string_value(json_object_get(json_object_get(img->doc, "image"),
                                                      "image_type"));
    return t && strcmp(t, "local_image") == 0;
}

/* Record filters: the rows written are exactly the rows counted; and
 * export_size below N cuts the file at the first export_size rows. */
static void test_record_filters_and_size(void **state)
{
    (void)state;
    /* every CVE-2019-* id of the fleet, plus two of the awkward image's */
    json_t *ids = json_array();
    json_array_append_new(ids, json_string("CVE-2024-0001"));
    json_array_append_new(ids, json_string("CVE-2023-9"));
    for (size_t i = 0; i < N_IMG; i++) {
        size_t j;
        json_t *rec;
        json_array_foreach(json_object_get(IMG[i].doc, "vulnerabilities"), j, rec) {
            const char *id = json_string_value(json_object_get(rec, "vul_id"));
            if (id && strncmp(id, "CVE-2019", 8) == 0)
                json_array_append_new(ids, json_string(id));
        }
    }
    char *idtext = h_json_text(ids);
    json_decref(ids);
    char *filters = h_strdupf("\"operate_all\": true, \"vul_type\": \"app_vul\", \"vul_id_list\": %s",
                              idtext);
    char *body = h_strdupf("{%s}", filters);
    table tb = expected(0, pred_vul_filter);
    assert_int_equal(statistic("vulnerability", body), (long long)tb.n);
    assert_true(tb.n >= 2);
    export_and_check(0, filters, 10000000, "csv", &tb);
    export_and_check(0, filters, 1, "xlsx", &tb);
    table_free(&tb);
    free(body);
    free(filters);
    free(idtext);

    filters = strdup("\"operate_all\": true, \"build_command_risk_level\": \"high\", "
                     "\"build_command_risk_name\": \"root\"");
    body = h_strdupf("{%s}", filters);
    tb = expected(7, pred_build_filter);
    assert_int_equal(statistic("build-command-risks", body), (long long)tb.n);
    assert_true(tb.n >= 1);
    export_and_check(7, filters, 10000000, "xlsx", &tb);
    table_free(&tb);
    free(body);
    free(filters);

    tb = expected(3, NULL);
    assert_true(tb.n > 7);
    export_and_check(3, NULL, 7, "csv", &tb);
    table_free(&tb);
}

/* The cloud's own routes: record_total_num is the statistic's answer. */
static void test_cloud_routes(void **state)
{
    (void)state;
    http_resp r, st;
    api_call(&S, "POST", "/v5/P1/image/baseline/export",
             "export_size=100000&enterprise_project_id=all_granted_eps", T_ADM, H_REGION,
             "{\"operate_all\": true, \"file_format\": \"csv\"}", "application/json", &r);
    assert_status(&r, 200);
    long long n = statistic("risk-config", "{\"operate_all\": true}");
    assert_int_equal(jint(&r, "record_total_num"), n);
    wait_task(jstr(&r, "task_id"), &st);
    assert_int_equal(jint(&st, "record_num"), n);
    http_resp_free(&st);
    http_resp_free(&r);

    table tb = expected(0, pred_local);
    api_call(&S, "POST", "/v5/P1/image/local-vulnerability/export",
             "export_size=100000&enterprise_project_id=all_granted_eps", T_ADM, H_REGION,
             "{\"operate_all\": true, \"image_type\": \"private_image\", \"file_format\": \"csv\"}",
             "application/json", &r);
    assert_status(&r, 200);
    assert_int_equal(jint(&r, "record_total_num"), (long long)tb.n);
    assert_int_equal(statistic("vulnerability", "{\"operate_all\": true, \"image_type\": \"local_image\"}"),
                     (long long)tb.n);
    wait_task(jstr(&r, "task_id"), &st);
    http_resp file;
    download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    json_t *got = read_back("csv", &file);
    check_rows(got, &tb, tb.n, "csv");
    json_decref(got);
    http_resp_free(&file);
    http_resp_free(&st);
    http_resp_free(&r);
    table_free(&tb);

    /* export_size is required on these routes */
    api_call(&S, "POST", "/v5/P1/image/baseline/export", NULL, T_ADM, H_REGION,
             "{\"operate_all\": true}", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0001", "export_size");
    http_resp_free(&r);
}

/* Bad bodies, roles and project isolation. */
static void test_errors_roles_isolation(void **state)
{
    (void)state;
    http_resp r;
    static const struct {
        const char *body, *part;
    } BAD[] = {
        {"{\"operate_all\": true, \"export_size\": 5}", "security_report_type"},
        {"{\"operate_all\": true, \"security_report_type\": \"nope\", \"export_size\": 5}",
         "security_report_type"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\"}", "export_size"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 0}",
         "export_size"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 10000001}",
         "export_size"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": \"5\"}",
         "export_size"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 5, "
         "\"file_format\": \"pdf\"}",
         "file_format"},
        {"{\"security_report_type\": \"apps\", \"export_size\": 5}", "image_id_list"},
        {"{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 5, "
         "\"image_type\": \"boat\"}",
         "image_type"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks", NULL, T_ADM, H_REGION,
                 BAD[i].body, "application/json", &r);
        assert_api_error(&r, 400, "HSS.0001", BAD[i].part);
        http_resp_free(&r);
    }
    api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks", NULL, T_ADM, H_REGION,
             "{\"operate_all\": tru", "application/json", &r);
    assert_api_error(&r, 400, "HSS.0002", NULL);
    http_resp_free(&r);

    /* a reader may not create; may read status and download in its EP */
    char *task = create_task(T_RD, "P1", "apps", NULL, 5, "csv", &r);
    assert_null(task);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);

    api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks", "enterprise_project_id=0",
             T_ADM, H_REGION,
             "{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 3, "
             "\"file_format\": \"csv\"}",
             "application/json", &r);
    assert_status(&r, 200);
    char *t0 = strdup(jstr(&r, "task_id"));
    http_resp_free(&r);
    http_resp st, file;
    wait_task(t0, &st);
    char *fid = strdup(jstr(&st, "file_id"));
    assert_int_equal(get_status(T_RD, "P1", t0, &r), 200);
    assert_string_equal(jstr(&r, "task_status"), "success");
    http_resp_free(&r);
    download(T_RD, "P1", fid, "csv", jstr(&st, "file_name"), &file);
    http_resp_free(&file);
    http_resp_free(&st);

    /* the all-EPs task of another test is beyond the reader's EP 0 */
    task = create_task(T_ADM, "P1", "apps", NULL, 3, "csv", &r);
    assert_non_null(task);
    http_resp_free(&r);
    wait_task(task, &st);
    assert_int_equal(get_status(T_RD, "P1", task, &r), 403);
    assert_api_error(&r, 403, "HSS.0013", NULL);
    http_resp_free(&r);
    http_resp_free(&st);
    free(task);

    /* A reader of ep-a only polls and downloads an ep-a task without naming
     * the EP (a missing one is not EP 0 here); naming EP 0 is refused. */
    api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks",
             "enterprise_project_id=ep-a", T_ADM, H_REGION,
             "{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 2, "
             "\"file_format\": \"csv\"}",
             "application/json", &r);
    assert_status(&r, 200);
    char *ta = strdup(jstr(&r, "task_id"));
    http_resp_free(&r);
    wait_task(ta, &st);
    char *path = h_strdupf("/v5/P1/export-task/%s", ta);
    api_call(&S, "GET", path, NULL, T_EPA, H_REGION, NULL, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(jstr(&r, "task_status"), "success");
    assert_string_equal(jstr(&r, "file_id"), jstr(&st, "file_id"));
    http_resp_free(&r);
    api_call(&S, "GET", path, "enterprise_project_id=0", T_EPA, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 403, "HSS.0013", "enterprise_project_id 0");
    http_resp_free(&r);
    free(path);
    download(T_EPA, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    size_t rows = 0; /* the header and export_size records, each ending in CRLF */
    for (size_t i = 0; i + 1 < file.body_len; i++)
        rows += file.body[i] == '\r' && file.body[i + 1] == '\n';
    assert_int_equal(rows, 3);
    http_resp_free(&file);
    /* ... and rita (EP 0 only) may not read it */
    assert_int_equal(get_status(T_RD, "P1", ta, &r), 403);
    http_resp_free(&r);
    http_resp_free(&st);
    free(ta);

    /* another project: its own path finds nothing; ours is refused */
    path = h_strdupf("/v5/P2/download/%s", fid);
    api_call(&S, "GET", path, NULL, T_P2, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    free(path);
    path = h_strdupf("/v5/P2/export-task/%s", t0);
    api_call(&S, "GET", path, NULL, T_P2, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    free(path);
    path = h_strdupf("/v5/P1/download/%s", fid);
    api_call(&S, "GET", path, NULL, T_P2, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 403, "HSS.0010", NULL);
    http_resp_free(&r);
    api_call(&S, "GET", path, NULL, NULL, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 401, "APIGW.0301", NULL);
    http_resp_free(&r);
    free(path);
    /* a task id is not a file id, and unknown ids are not found */
    path = h_strdupf("/v5/P1/download/%s", t0);
    api_call(&S, "GET", path, NULL, T_ADM, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    free(path);
    api_call(&S, "GET", "/v5/P1/export-task/not-a-task", NULL, T_ADM, H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    api_call(&S, "GET", "/v5/P1/export-task/00000000000000000000000000000000", NULL, T_ADM,
             H_REGION, NULL, NULL, &r);
    assert_api_error(&r, 404, "HSS.0011", NULL);
    http_resp_free(&r);
    free(fid);
    free(t0);
}

/* On the status and download routes a named enterprise_project_id is
 * checked as on every route (bad: 400; not granted: 403), all_granted_eps
 * is fine for any reader, and the task's own scope decides the rest. */
static void test_read_routes_check_a_named_ep(void **state)
{
    (void)state;
    http_resp r, st;
    api_call(&S, "POST", "/v5/P1/image/security-report/export-tasks",
             "enterprise_project_id=ep-a", T_ADM, H_REGION,
             "{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 1, "
             "\"file_format\": \"csv\"}",
             "application/json", &r);
    assert_status(&r, 200);
    char *task = strdup(jstr(&r, "task_id"));
    http_resp_free(&r);
    wait_task(task, &st);
    assert_string_equal(jstr(&st, "task_status"), "success");
    char *paths[2] = {h_strdupf("/v5/P1/export-task/%s", task),
                      h_strdupf("/v5/P1/download/%s", jstr(&st, "file_id"))};
    for (int i = 0; i < 2; i++) {
        api_call(&S, "GET", paths[i], "enterprise_project_id=not%20an%20ep", T_EPA, H_REGION,
                 NULL, NULL, &r);
        assert_api_error(&r, 400, "HSS.0001", "enterprise_project_id must be 1-64 characters");
        http_resp_free(&r);
        api_call(&S, "GET", paths[i], "enterprise_project_id=ep-b", T_EPA, H_REGION, NULL, NULL,
                 &r);
        assert_api_error(&r, 403, "HSS.0013", "enterprise_project_id ep-b");
        http_resp_free(&r);
        api_call(&S, "GET", paths[i], "enterprise_project_id=ep-a", T_EPA, H_REGION, NULL, NULL,
                 &r);
        assert_status(&r, 200);
        http_resp_free(&r);
        api_call(&S, "GET", paths[i], "enterprise_project_id=all_granted_eps", T_EPA, H_REGION,
                 NULL, NULL, &r);
        assert_status(&r, 200);
        http_resp_free(&r);
        api_call(&S, "GET", paths[i], "enterprise_project_id=", T_EPA, H_REGION, NULL, NULL, &r);
        assert_status(&r, 200); /* empty: as if missing, not EP 0 */
        http_resp_free(&r);
        free(paths[i]);
    }
    http_resp_free(&st);
    free(task);
}

/* ---- under concurrent ingest ---- */

static atomic_bool STOP_INGEST;
static atomic_int INGESTS;

/* Re-ingests the fleet's images with their vulnerabilities doubled or
 * halved, and new images, as fast as it can. */
static void *ingester(void *arg)
{
    (void)arg;
    for (int round = 0; !atomic_load(&STOP_INGEST); round++) {
        size_t i = (size_t)round % N_GEN;
        json_t *doc = json_deep_copy(IMG[i].doc);
        json_t *v = json_object_get(doc, "vulnerabilities");
        if (round % 2) {
            json_t *copy = json_deep_copy(v);
            json_array_extend(v, copy);
            json_decref(copy);
        } else {
            while (json_array_size(v) > 1)
                json_array_remove(v, 0);
        }
        if (round % 5 == 0) {
            char name[64];
            snprintf(name, sizeof name, "burst-%d", round);
            json_object_set_new(json_object_get(doc, "image"), "image_name", json_string(name));
        }
        char *text = h_json_text(doc);
        http_resp r;
        api_ingest(&S, T_ADM, "P1", "ep-burst", text, false, &r);
        if (r.status == 200)
            atomic_fetch_add(&INGESTS, 1);
        http_resp_free(&r);
        free(text);
        json_decref(doc);
    }
    http_thread_done();
    return NULL;
}

static void test_count_under_concurrent_ingest(void **state)
{
    (void)state;
    pthread_t th;
    atomic_store(&STOP_INGEST, false);
    assert_int_equal(pthread_create(&th, NULL, ingester, NULL), 0);
    while (atomic_load(&INGESTS) < 5)
        usleep(1000);
    for (int i = 0; i < 6; i++) {
        http_resp r, st, file;
        api_call(&S, "POST", "/v5/P1/image/local-vulnerability/export",
                 "export_size=10000000&enterprise_project_id=ep-burst", T_ADM, H_REGION,
                 i % 2 ? "{\"operate_all\": true, \"file_format\": \"csv\"}"
                       : "{\"operate_all\": true}",
                 "application/json", &r);
        /* the cloud's route answers N (record_total_num) from the task's
         * snapshot: the file must hold exactly N, whatever was ingested */
        assert_status(&r, 200);
        long long n = jint(&r, "record_total_num");
        wait_task(jstr(&r, "task_id"), &st);
        assert_string_equal(jstr(&st, "task_status"), "success");
        assert_int_equal(jint(&st, "record_num"), n);
        const char *fmt = i % 2 ? "csv" : "xlsx";
        download(T_ADM, "P1", jstr(&st, "file_id"), fmt, jstr(&st, "file_name"), &file);
        json_t *got = read_back(fmt, &file);
        assert_int_equal(json_array_size(json_object_get(got, "rows")), (size_t)n + 1);
        json_decref(got);
        http_resp_free(&file);
        http_resp_free(&st);
        http_resp_free(&r);

        /* The generic route, all granted EPs, answers no N: the file must
         * hold what the status counts, and "success" means every image's
         * rows matched the snapshot's index count (the worker checks). */
        char *task = create_task(T_ADM, "P1", "vulnerability", NULL, 10000000, "csv", &r);
        assert_non_null(task);
        http_resp_free(&r);
        wait_task(task, &st);
        assert_string_equal(jstr(&st, "task_status"), "success");
        download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
        got = read_back("csv", &file);
        assert_int_equal(json_array_size(json_object_get(got, "rows")),
                         (size_t)jint(&st, "record_num") + 1);
        json_decref(got);
        http_resp_free(&file);
        http_resp_free(&st);
        free(task);
    }
    atomic_store(&STOP_INGEST, true);
    pthread_join(th, NULL);
    assert_true(atomic_load(&INGESTS) > 5);
}

/* ---- restarts and retention (a server of their own) ---- */

static void assert_interrupted(srv_t *s, const char *token, const char *task)
{
    http_resp r;
    api_export_status(s, token, "P1", task, NULL, &r);
    assert_status(&r, 200);
    assert_string_equal(jstr(&r, "task_status"), "failure");
    assert_string_equal(jstr(&r, "failure_reason"), "interrupted by a server stop");
    assert_string_equal(jstr(&r, "file_id"), "");
    assert_string_equal(jstr(&r, "file_name"), "");
    http_resp_free(&r);
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

static void test_restart_mid_task(void **state)
{
    (void)state;
    srv_t R = {0};
    assert_int_equal(srv_init(&R), 0);
    char *db_arg = h_strdupf("--db=%s", R.db);
    assert_int_equal(cli_run(&R, NULL, NULL, "demo", db_arg, "--project", "P1", "--images", "300",
                             "--eps", "0", NULL),
                     0);
    free(db_arg);
    assert_int_equal(cli_user_add(&R, "acme", "root", "root-pw-1", "P1", "admin", "all"), 0);
    /* slow the tasks down: 1 s per 1,024 rows */
    setenv("IMGSEC_EXPORT_TEST_PACE_MS", "1000", 1);
    /* retention 20 s: longer than the restarts below take under ASan on a
     * loaded machine (with 6 s the file expired before step 1's check) */
    setenv("IMGSEC_EXPORT_RETENTION", "20", 1);
    assert_int_equal(srv_start(&R), 0);
    char *tok = get_token(&R, "acme", "root", "root-pw-1", "P1");
    assert_non_null(tok);

    /* a finished file survives restarts until its retention ends */
    stat_res sr = api_stat(&R, tok, "P1", "malwares", NULL, "{\"operate_all\": true}");
    assert_int_equal(sr.status, 200);
    char *done = create_on(&R, tok, "malwares", 10);
    http_resp r;
    wait_export_ended(&R, tok, "P1", done, NULL, &r);
    assert_string_equal(jstr(&r, "task_status"), "success");
    char *fid = strdup(jstr(&r, "file_id"));
    http_resp_free(&r);

    /* 1. SIGTERM in the middle of a task: marked failure by the stop */
    char *t1 = create_on(&R, tok, "vulnerability", 10000000);
    wait_export_rows(&R, tok, "P1", t1);
    /* 2 running + 8 waiting is the bound: the 11th task is refused */
    char *more[9];
    for (int i = 0; i < 9; i++)
        more[i] = create_on(&R, tok, "apps", 10000000);
    api_call(&R, "POST", "/v5/P1/image/security-report/export-tasks", NULL, tok, H_REGION,
             "{\"operate_all\": true, \"security_report_type\": \"apps\", \"export_size\": 1}",
             "application/json", &r);
    assert_api_error(&r, 429, "APIGW.0308", NULL);
    assert_string_equal(http_header(&r, "Retry-After"), "10");
    http_resp_free(&r);
    assert_int_equal(srv_stop(&R, false), 0);
    assert_int_equal(srv_start(&R), 0);
    free(tok);
    tok = get_token(&R, "acme", "root", "root-pw-1", "P1");
    assert_interrupted(&R, tok, t1);
    for (int i = 0; i < 9; i++) {
        assert_interrupted(&R, tok, more[i]);
        free(more[i]);
    }

    /* the finished file is still there after the restart (retention 20 s) */
    char *path = h_strdupf("/v5/P1/download/%s", fid);
    api_call(&R, "GET", path, NULL, tok, H_REGION, NULL, NULL, &r);
    assert_status(&r, 200);
    http_resp_free(&r);

    /* 2. a crash in the middle of a task: marked failure by the next start */
    char *t2 = create_on(&R, tok, "vulnerability", 10000000);
    wait_export_rows(&R, tok, "P1", t2);
    assert_int_equal(kill(R.pid, SIGKILL), 0);
    int wst;
    assert_int_equal(waitpid(R.pid, &wst, 0), R.pid);
    R.pid = 0;
    assert_int_equal(srv_start(&R), 0);
    assert_interrupted(&R, tok, t2);
    assert_true(srv_log_contains(&R, "1 export tasks were interrupted by the last stop"));

    /* 3. retention: the file is gone 20 s after it was made (polled for
     * up to 20 s more) */
    bool gone = false;
    for (int i = 0; i < 1600 && !gone; i++) {
        api_call(&R, "GET", path, NULL, tok, H_REGION, NULL, NULL, &r);
        gone = r.status == 404;
        if (gone)
            assert_api_error(&r, 404, "HSS.0011", NULL);
        http_resp_free(&r);
        if (!gone)
            usleep(25000);
    }
    assert_true(gone);
    char *file = h_strdupf("%s.exports/%s.csv", R.beside, fid);
    for (int i = 0; i < 200 && access(file, F_OK) == 0; i++)
        usleep(25000);
    assert_int_not_equal(access(file, F_OK), 0);
    free(file);

    unsetenv("IMGSEC_EXPORT_TEST_PACE_MS");
    unsetenv("IMGSEC_EXPORT_RETENTION");
    assert_int_equal(srv_stop(&R, true), 0);
    free(path);
    free(fid);
    free(done);
    free(t1);
    free(t2);
    free(tok);
}

/* Any server serves any file: the file is in the database, so with this
 * server's own copy gone (another node's request) the download streams
 * it from there, byte for byte the same, headers and all. */
static void test_download_from_database(void **state)
{
    (void)state;
    const char *fmts[] = {"csv", "xlsx"};
    for (size_t k = 0; k < 2; k++) {
        http_resp r, st, local, remote;
        char *task = create_task(T_ADM, "P1", TYPES[0], NULL, 10000000, fmts[k], &r);
        assert_non_null(task);
        http_resp_free(&r);
        wait_task(task, &st);
        assert_string_equal(jstr(&st, "task_status"), "success");
        const char *fid = jstr(&st, "file_id"), *name = jstr(&st, "file_name");
        download(T_ADM, "P1", fid, fmts[k], name, &local);
        char *copy = h_strdupf("%s.exports/%s.%s", S.beside, fid, fmts[k]);
        assert_int_equal(access(copy, F_OK), 0);
        assert_int_equal(unlink(copy), 0);
        download(T_ADM, "P1", fid, fmts[k], name, &remote);
        assert_int_equal(remote.body_len, local.body_len);
        assert_true(local.body_len > 0);
        assert_memory_equal(remote.body, local.body, local.body_len);
        /* another project still finds nothing */
        char *other = h_strdupf("/v5/P2/download/%s", fid);
        http_resp no;
        api_call(&S, "GET", other, NULL, T_P2, H_REGION, NULL, NULL, &no);
        assert_api_error(&no, 404, "HSS.0011", NULL);
        http_resp_free(&no);
        free(other);
        free(copy);
        http_resp_free(&local);
        http_resp_free(&remote);
        http_resp_free(&st);
        free(task);
    }
}

/* The file at path holds the downloaded file's bytes, no more, no less. */
static void assert_file_is_download(const char *path, const http_resp *file)
{
    size_t len = 0;
    char *buf = util_read_file(path, &len);
    assert_non_null(buf);
    assert_int_equal(len, file->body_len);
    assert_memory_equal(buf, file->body, len);
    free(buf);
}

/* imgsec export offline gives the server's file, byte for byte. */
static void test_cli_offline_matches_server(void **state)
{
    (void)state;
    http_resp r, st, file;
    char *task = create_task(T_ADM, "P1", "sensitive-info", NULL, 10000000, "csv", &r);
    assert_non_null(task);
    http_resp_free(&r);
    wait_task(task, &st);
    download(T_ADM, "P1", jstr(&st, "file_id"), "csv", jstr(&st, "file_name"), &file);
    char *out = h_strdupf("%s/cli.csv", S.dir);
    char *db_arg = h_strdupf("--db=%s", S.db);
    char *log = NULL;
    int rc = cli_run(&S, NULL, &log, "export", db_arg, "--project", "P1", "--all-eps", "--type",
                     "sensitive-info", "--format", "csv", "-o", out, NULL);
    if (rc != 0)
        fail_msg("imgsec export: %d: %s", rc, log ? log : "");
    assert_file_is_download(out, &file);
    free(log);
    log = NULL;
    unlink(out);

    /* and against the server: a task, the progress, the download */
    char *url = h_strdupf("http://127.0.0.1:%d", S.port);
    rc = cli_run(&S, NULL, &log, "export", "--server", url, "--token", T_ADM, "--region", H_REGION,
                 "--project", "P1", "--all-eps", "--type", "sensitive-info", "--format", "csv",
                 "-o", out, NULL);
    if (rc != 0)
        fail_msg("imgsec export --server: %d: %s", rc, log ? log : "");
    assert_non_null(strstr(log, "created"));
    assert_file_is_download(out, &file);
    free(log);
    /* the token from a file (kept out of ps) and from IMGSEC_TOKEN */
    char *tok_file = h_strdupf("%s/token", S.dir);
    char *tok_line = h_strdupf("%s\n", T_ADM);
    assert_int_equal(h_write_file(tok_file, tok_line, strlen(tok_line)), 0);
    for (int how = 0; how < 2; how++) {
        unlink(out);
        if (how == 1)
            setenv("IMGSEC_TOKEN", T_ADM, 1);
        const char *args[] = {"export", "--server", url, "--region", H_REGION, "--project", "P1",
                              "--all-eps", "--type", "sensitive-info", "--format", "csv", "-o",
                              out, how == 0 ? "--token-file" : NULL, tok_file, NULL};
        rc = cli_runv(&S, NULL, args, &log);
        if (rc != 0)
            fail_msg("imgsec export --server (%s): %d: %s", how ? "IMGSEC_TOKEN" : "--token-file",
                     rc, log ? log : "");
        assert_file_is_download(out, &file);
        free(log);
        log = NULL;
    }
    /* both flags, or a file without a token: refused before any request */
    const char *both[] = {"export", "--server", url, "--token", T_ADM, "--token-file", tok_file,
                          "--project", "P1", "--type", "apps", "-o", out, NULL};
    assert_int_equal(cli_runv(&S, NULL, both, &log), 2);
    assert_non_null(strstr(log, "imgsec export: give --token or --token-file, not both"));
    free(log);
    assert_int_equal(h_write_file(tok_file, "\n", 1), 0);
    const char *empty[] = {"export", "--server", url, "--token-file", tok_file, "--project", "P1",
                           "--type", "apps", "-o", out, NULL};
    assert_int_equal(cli_runv(&S, NULL, empty, &log), 2);
    assert_non_null(strstr(log, "holds no token"));
    free(log);
    unsetenv("IMGSEC_TOKEN");
    free(tok_file);
    free(tok_line);
    free(url);
    /* a bad token fails with the server's answer */
    rc = cli_run(&S, NULL, &log, "export", "--server", "http://127.0.0.1:1", "--token", "x",
                 "--project", "P1", "--type", "apps", "-o", out, NULL);
    assert_int_not_equal(rc, 0);
    free(log);
    free(db_arg);
    unlink(out);
    free(out);
    http_resp_free(&file);
    http_resp_free(&st);
    free(task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_both_formats),
        cmocka_unit_test(test_csv_bytes),
        cmocka_unit_test(test_record_filters_and_size),
        cmocka_unit_test(test_cloud_routes),
        cmocka_unit_test(test_errors_roles_isolation),
        cmocka_unit_test(test_read_routes_check_a_named_ep),
        cmocka_unit_test(test_cli_offline_matches_server),
        cmocka_unit_test(test_download_from_database),
        cmocka_unit_test(test_count_under_concurrent_ingest),
        cmocka_unit_test(test_restart_mid_task),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
