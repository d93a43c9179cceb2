/* test_import_formats.c - scanner reports through the API and the CLI
 * (POST /v5/{project_id}/image/scan-results?format=..., imgsec import).
 *
 * Every real fixture of ../shared/fixtures/scanners (copied into the
 * server's temp dir first) is posted with its format, each into its own
 * enterprise project; the statistic route must then count exactly the
 * records worked out by hand in tests/unit/test_importers.c (repeated
 * here as the table FIXTURES). Truncated and wrong-format bodies are
 * refused naming the position, and nothing of them is stored. The CLI
 * imports the same files offline (--db, in memory and --stream) and
 * through the server (--server, identity overrides escaped). The CLI's
 * argument checks that come before any database is opened (--eps lists,
 * imgsec user's subcommand and flags) are here too.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/util.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif
#ifndef IMGSEC_REPO_FIXTURES_DIR
#error "IMGSEC_REPO_FIXTURES_DIR must point at tests/fixtures"
#endif
/* A fixture name starting with this is under tests/fixtures, not shared. */
#define REPO_PREFIX "repo:"

static srv_t S;
static char *T_ADM;

static const char *const TYPES[8] = {"vulnerability", "risk-config", "malwares", "apps",
                                     "files", "sensitive-info", "non-compliant-app",
                                     "build-command-risks"};

/* Record counts per type, in TYPES order, and linux_vul / app_vul. */
typedef struct {
    const char *file, *format, *ep;
    long long want[8];
    long long linux_vul, app_vul;
} fixture_case;

static const fixture_case FIXTURES[] = {
    /* 4 os-pkgs vulnerabilities (2 CVEs x libcrypto1.1/libssl1.1). */
    {"trivy/alpine-310.json", "trivy", "f-alpine", {4, 0, 0, 0, 0, 0, 0, 0}, 4, 0},
    /* 2 os-pkgs vulnerabilities (bash, libidn2-0). */
    {"trivy/debian-buster.json", "trivy", "f-debian", {2, 0, 0, 0, 0, 0, 0, 0}, 2, 0},
    /* 2 secrets in deploy.sh. */
    {"trivy/secrets.json", "trivy", "f-secrets", {0, 0, 0, 0, 0, 2, 0, 0}, 0, 0},
    /* 1 failed Dockerfile check DS-0002. */
    {"trivy/dockerfile.json", "trivy", "f-docker", {0, 0, 0, 0, 0, 0, 0, 1}, 0, 0},
    /* 12 npm libraries (the package-lock.json application is not one), 1 vuln. */
    {"trivy/npm-cyclonedx.json", "cyclonedx", "f-npm", {1, 0, 0, 12, 0, 0, 0, 0}, 0, 1},
    /* 3 packages, one is the described subject. */
    {"trivy/conda-spdx.json", "spdx", "f-conda", {0, 0, 0, 2, 0, 0, 0, 0}, 0, 0},
    /* 2 matches on rpm and deb packages. */
    {"grype/image.json", "grype", "f-grype", {2, 0, 0, 0, 0, 0, 0, 0}, 2, 0},
    /* 1115 npm libraries. */
    {"cyclonedx/juice-shop-1.4.json", "cyclonedx", "f-juice", {0, 0, 0, 1115, 0, 0, 0, 0}, 0, 0},
    /* 62 composer libraries, CycloneDX 1.2 and 1.3 (tests/fixtures). */
    {REPO_PREFIX "cyclonedx/laravel-7.12.0.bom.1.2.json", "cyclonedx", "f-cdx12",
     {0, 0, 0, 62, 0, 0, 0, 0}, 0, 0},
    {REPO_PREFIX "cyclonedx/laravel-7.12.0.bom.1.3.json", "cyclonedx", "f-cdx13",
     {0, 0, 0, 62, 0, 0, 0, 0}, 0, 0},
};
#define N_FIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    T_ADM = user_token(&S, "acme", "root", "root-pw-1", "P1", "admin", "all");
    return T_ADM ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(T_ADM);
    T_ADM = NULL;
    return srv_stop(&S, true);
}

/* Copies fixture rel into the server's temp dir; returns the copy's path
 * (malloc'd) and, when body is not NULL, its bytes. */
static char *fixture_copy(const char *rel, char **body)
{
    bool repo = strncmp(rel, REPO_PREFIX, strlen(REPO_PREFIX)) == 0;
    char *src = repo ? h_strdupf("%s/%s", IMGSEC_REPO_FIXTURES_DIR, rel + strlen(REPO_PREFIX))
                     : h_strdupf("%s/scanners/%s", IMGSEC_FIXTURES_DIR, rel);
    size_t len;
    char *buf = util_read_file(src, &len);
    if (!buf)
        fail_msg("cannot read fixture %s", src);
    const char *base = strrchr(rel, '/');
    char *dst = h_strdupf("%s/%s", S.dir, base ? base + 1 : rel);
    assert_int_equal(h_write_file(dst, buf, len), 0);
    free(src);
    if (body)
        *body = buf; /* the copy holds these very bytes */
    else
        free(buf);
    return dst;
}

static long long count(const char *type, const char *ep, const char *extra)
{
    return api_count(&S, T_ADM, "P1", type, ep, extra);
}

static void assert_case_at(const fixture_case *c, const char *ep, const char *file, int line)
{
    for (int t = 0; t < 8; t++) {
        long long got = count(TYPES[t], ep, NULL);
        if (got != c->want[t]) {
            print_error("%s:%d: %s in EP %s, %s: want %lld, got %lld\n", file, line, c->file, ep,
                        TYPES[t], c->want[t], got);
            _fail(file, line);
        }
    }
    long long lx = count("vulnerability", ep, "\"vul_type\":\"linux_vul\"");
    long long ap = count("vulnerability", ep, "\"vul_type\":\"app_vul\"");
    if (lx != c->linux_vul || ap != c->app_vul) {
        print_error("%s:%d: %s in EP %s: linux_vul %lld/%lld, app_vul %lld/%lld\n", file, line,
                    c->file, ep, lx, c->linux_vul, ap, c->app_vul);
        _fail(file, line);
    }
}
#define assert_case(c, ep) assert_case_at((c), (ep), __FILE__, __LINE__)

static void assert_empty_at(const char *ep, const char *file, int line)
{
    static const fixture_case none = {"(nothing)", "", "", {0}, 0, 0};
    assert_case_at(&none, ep, file, line);
}
#define assert_empty(ep) assert_empty_at((ep), __FILE__, __LINE__)

static long post(const char *ep, const char *query_extra, const char *body, http_resp *r)
{
    char *q = h_strdupf("enterprise_project_id=%s%s%s", ep, query_extra ? "&" : "",
                        query_extra ? query_extra : "");
    long st = api_call(&S, "POST", "/v5/P1/image/scan-results", q, T_ADM, H_REGION, body,
                       "application/json", r);
    free(q);
    return st;
}

/* ---- tests ---- */

static void test_each_fixture_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const fixture_case *c = &FIXTURES[i];
        char *body;
        free(fixture_copy(c->file, &body));
        char *fq = h_strdupf("format=%s", c->format);
        http_resp r;
        post(c->ep, fq, body, &r);
        assert_status(&r, 200);
        long long records = 0;
        for (int t = 0; t < 8; t++)
            records += c->want[t];
        json_t *e = json_array_get(json_object_get(r.json, "images"), 0);
        assert_int_equal(json_array_size(json_object_get(r.json, "images")), 1);
        assert_int_equal(json_integer_value(json_object_get(e, "records")), records);
        http_resp_free(&r);
        assert_case(c, c->ep);
        /* Posting it again replaces the image: the same counts, not double. */
        post(c->ep, fq, body, &r);
        assert_status(&r, 200);
        http_resp_free(&r);
        assert_case(c, c->ep);
        free(fq);
        free(body);
    }
}

static void test_auto_format_and_identity(void **state)
{
    (void)state;
    char *body;
    free(fixture_copy("trivy/alpine-310.json", &body));
    http_resp r;
    post("f-auto", "format=auto&image_type=cicd&image_name=alpine&image_version=3.10", body, &r);
    assert_status(&r, 200);
    json_t *e = json_array_get(json_object_get(r.json, "images"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "image_name")), "alpine");
    assert_string_equal(json_string_value(json_object_get(e, "image_version")), "3.10");
    http_resp_free(&r);
    assert_case(&FIXTURES[0], "f-auto");
    assert_int_equal(count("vulnerability", "f-auto", "\"image_type\":\"cicd\",\"image_name\":\"alpine\""), 4);
    assert_int_equal(count("vulnerability", "f-auto", "\"image_type\":\"local_image\""), 0);
    /* Medium is the highest record severity of alpine-310. */
    assert_int_equal(count("vulnerability", "f-auto", "\"severity_level\":\"Medium\""), 4);
    free(body);
}

static void test_refusals_store_nothing(void **state)
{
    (void)state;
    char *trivy, *grype;
    free(fixture_copy("trivy/alpine-310.json", &trivy));
    free(fixture_copy("grype/image.json", &grype));
    http_resp r;

    /* Truncated: HSS.0002 with line and column. */
    trivy[strlen(trivy) / 2] = '\0';
    post("f-bad", "format=trivy", trivy, &r);
    assert_api_error(&r, 400, "HSS.0002", "body: not a trivy report: invalid JSON at line");
    http_resp_free(&r);
    post("f-bad", "format=auto", trivy, &r);
    assert_api_error(&r, 400, "HSS.0002", "body: invalid JSON at line");
    http_resp_free(&r);

    /* A Grype report said to be Trivy. */
    post("f-bad", "format=trivy", grype, &r);
    assert_api_error(&r, 400, "HSS.0001", "body: not a trivy report: top level has no SchemaVersion");
    http_resp_free(&r);

    /* A bad element deep inside names its position. */
    static const char bad[] =
        "{\"SchemaVersion\":2,\"ArtifactName\":\"x:1\",\"Results\":[{\"Class\":\"os-pkgs\","
        "\"Vulnerabilities\":[{\"VulnerabilityID\":\"CVE-1\",\"Severity\":\"LOW\"},"
        "{\"VulnerabilityID\":\"CVE-2\",\"Severity\":[]}]}]}";
    post("f-bad", "format=trivy", bad, &r);
    assert_api_error(&r, 400, "HSS.0001",
                     "body: trivy report: Results[0].Vulnerabilities[1].Severity must be a string");
    http_resp_free(&r);

    /* Unknown format and bad identity override. */
    post("f-bad", "format=sarif", grype, &r);
    assert_api_error(&r, 400, "HSS.0001", "format must be one of auto, native, trivy");
    http_resp_free(&r);
    post("f-bad", "format=grype&image_type=vm", grype, &r);
    assert_api_error(&r, 400, "HSS.0001", "image_type must be one of");
    http_resp_free(&r);

    /* A native document with format=trivy is not a Trivy report. */
    static const char native[] = "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"n\"}}";
    post("f-bad", "format=trivy", native, &r);
    assert_api_error(&r, 400, "HSS.0001", "not a trivy report");
    http_resp_free(&r);
    /* ... but format=native (and no format) still takes it. */
    post("f-native", "format=native", native, &r);
    assert_status(&r, 200);
    http_resp_free(&r);

    assert_empty("f-bad");
    free(trivy);
    free(grype);
}

static void test_cli_offline_and_server(void **state)
{
    (void)state;
    char *path = fixture_copy("trivy/debian-buster.json", NULL);
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c-off",
                     path, NULL);
    if (rc != 0)
        print_error("imgsec import: %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "(format trivy)"));
    free(out);
    assert_case(&FIXTURES[1], "c-off");

    /* The streaming path (large Trivy reports; forced here) counts the same. */
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c-stream",
                 "--stream", path, NULL);
    if (rc != 0)
        print_error("imgsec import --stream: %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "(format trivy, streamed)"));
    free(out);
    assert_case(&FIXTURES[1], "c-stream");

    char *url = h_strdupf("http://127.0.0.1:%d", S.port);
    /* the token from a file: out of ps and shell history */
    char *tok_file = h_strdupf("%s/token", S.dir);
    assert_int_equal(h_write_file(tok_file, T_ADM, strlen(T_ADM)), 0);
    rc = cli_run(&S, NULL, &out, "import", "--server", url, "--token-file", tok_file, "--region",
                 H_REGION, "--project", "P1", "--ep", "c-srv", "--format", "trivy", path, NULL);
    free(tok_file);
    if (rc != 0)
        print_error("imgsec import --server: %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    free(out);
    assert_case(&FIXTURES[1], "c-srv");

    /* Identity overrides travel as escaped query parameters: '&', '=' and
     * ' ' in a name must reach the server as part of the name. */
    rc = cli_run(&S, NULL, &out, "import", "--server", url, "--token", T_ADM, "--region", H_REGION,
                 "--project", "P1", "--ep", "c-srv-id", "--image-type", "cicd", "--image-name",
                 "deb &x=1 ian", "--image-version", "10+b", "--namespace", "ns/a", path, NULL);
    if (rc != 0)
        print_error("imgsec import --server (identity): %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    free(out);
    assert_case(&FIXTURES[1], "c-srv-id");
    assert_int_equal(count("vulnerability", "c-srv-id",
                           "\"image_type\":\"cicd\",\"image_name\":\"deb &x=1 ian\","
                           "\"image_version\":\"10+b\",\"namespace\":\"ns/a\""),
                     2);

    /* Wrong format, offline and through the server: refused, nothing stored. */
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c-bad",
                 "--format", "spdx", path, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "not a SPDX document"));
    assert_non_null(strstr(out, path));
    free(out);
    rc = cli_run(&S, NULL, &out, "import", "--server", url, "--token", T_ADM, "--region", H_REGION,
                 "--project", "P1", "--ep", "c-bad", "--format", "grype", path, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "not a grype report"));
    free(out);
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--format", "xml",
                 path, NULL);
    assert_int_equal(rc, 2);
    free(out);
    assert_empty("c-bad");
    free(url);
    free(path);
}

/* imgsec import - with the input on standard input: `import -` given
 * ingest documents streams them like a file (the pipe is read once: the
 * bytes sniffed to tell NDJSON from a JSON array stay in front of the
 * rest); a pretty-printed array whose objects start lines is an array
 * (its first byte is '['), not NDJSON; a bad document anywhere stores
 * nothing; a scanner report on stdin is read whole and converted. */
#define STDIN_DOC(name, nvul)                                                                    \
    "{\"image\":{\"image_type\":\"local_image\",\"image_name\":\"" name "\"},"                    \
    "\"vulnerabilities\":[" nvul "]}"
#define VUL(id) "{\"vul_id\":\"" id "\",\"vul_type\":\"linux_vul\",\"severity\":\"low\"}"

static char *import_stdin(const char *ep, const char *body, int want_rc)
{
    char *in = h_strdupf("%s/stdin-%s.json", S.dir, ep);
    assert_int_equal(h_write_file(in, body, strlen(body)), 0);
    char *out = NULL;
    int rc = cli_runv_in(&S, NULL,
                         (const char *const[]){"import", "--db", S.db, "--project", "P1", "--ep",
                                               ep, "-", NULL},
                         in, &out);
    if (rc != want_rc)
        print_error("imgsec import - (%s): want %d, got %d: %s\n", ep, want_rc, rc, out);
    assert_int_equal(rc, want_rc);
    free(in);
    return out;
}

static void test_cli_native_from_stdin(void **state)
{
    (void)state;
    /* NDJSON: three documents, 2 + 0 + 3 vulnerabilities */
    char *out = import_stdin("c-in-nd",
                             STDIN_DOC("a", VUL("CVE-1") "," VUL("CVE-2")) "\n" STDIN_DOC("b", "")
                                 "\n" STDIN_DOC("c", VUL("CVE-1") "," VUL("CVE-3") "," VUL("CVE-4")) "\n",
                             0);
    assert_non_null(strstr(out, "-: streaming (NDJSON)"));
    assert_non_null(strstr(out, "-: imported 3 images, 5 records into project P1, EP c-in-nd"));
    free(out);
    assert_int_equal(count("vulnerability", "c-in-nd", NULL), 5);

    /* a pretty-printed array whose objects start lines: an array */
    out = import_stdin("c-in-arr",
                       "[\n" STDIN_DOC("a", VUL("CVE-1")) ",\n" STDIN_DOC("b", VUL("CVE-2") "," VUL("CVE-3"))
                       "\n]\n",
                       0);
    assert_non_null(strstr(out, "-: streaming (JSON)"));
    assert_non_null(strstr(out, "-: imported 2 images, 3 records"));
    free(out);
    assert_int_equal(count("vulnerability", "c-in-arr", NULL), 3);

    /* the third document is bad (no image_name): nothing is stored */
    out = import_stdin("c-in-bad",
                       STDIN_DOC("a", VUL("CVE-1")) "\n" STDIN_DOC("b", VUL("CVE-2")) "\n"
                       "{\"image\":{\"image_type\":\"local_image\"}}\n",
                       1);
    assert_non_null(strstr(out, "(nothing from this file was stored)"));
    free(out);
    assert_empty("c-in-bad");

    /* a scanner report on stdin: read whole, detected, converted */
    char *body = NULL;
    free(fixture_copy("trivy/debian-buster.json", &body));
    out = import_stdin("c-in-trivy", body, 0);
    assert_non_null(strstr(out, "(format trivy)"));
    free(out);
    free(body);
    assert_case(&FIXTURES[1], "c-in-trivy");
}

/* Runs the CLI expecting usage exit 2 and needle in its output. */
static void expect_usage_at(const char *needle, const char *const *args, const char *file,
                            int line)
{
    char *out = NULL;
    int rc = cli_runv(&S, NULL, args, &out);
    if (rc != 2 || !out || !strstr(out, needle)) {
        print_error("%s:%d: imgsec %s: want exit 2 with \"%s\", got %d: %s\n", file, line,
                    args[0], needle, rc, out ? out : "");
        free(out);
        _fail(file, line);
    }
    free(out);
}
#define expect_usage(needle, ...)                                                                 \
    expect_usage_at((needle), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* EP lists (--eps of export, demo and gen) are checked whole, by one
 * parser: nothing is cut at 1024 bytes or dropped past the EP cap, and
 * every id must be valid. None of these creates a database. */
/* An NDJSON file of 600 documents: b0..b599, two apps each; document bad
 * (if < 600) has an image_type no scanner uses. */
static char *batches_file(const char *name, int bad)
{
    char *path = h_strdupf("%s/%s", S.dir, name);
    size_t cap = 600 * 160, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"image\": {\"image_type\": \"%s\", \"image_name\": \"b%d\"},"
                                " \"apps\": [{\"app_name\": \"a\"}, {\"app_name\": \"b\"}]}\n",
                                i == bad ? "vm" : "local_image", i);
    assert_true(len < cap);
    assert_int_equal(h_write_file(path, text, len), 0);
    free(text);
    return path;
}

/* imgsec import stores a file's batches (256 documents) in a thread while
 * it parses the next: every batch lands, in one transaction, and a bad
 * document in the third batch - the first stored, the second stored or
 * in flight - leaves nothing of the file. */
static void test_cli_ndjson_batches(void **state)
{
    (void)state;
    char *out = NULL;
    char *good = batches_file("batches.ndjson", 600);
    int rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c-batch",
                     good, NULL);
    if (rc != 0)
        print_error("imgsec import: %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "imported 600 images, 1200 records into project P1, EP c-batch"));
    free(out);
    static const fixture_case batch = {"batches.ndjson", "", "", {0, 0, 0, 1200, 0, 0, 0, 0}, 0, 0};
    assert_case(&batch, "c-batch");

    char *bad = batches_file("batches-bad.ndjson", 520);
    rc = cli_run(&S, NULL, &out, "import", "--db", S.db, "--project", "P1", "--ep", "c-batch-bad",
                 bad, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "documents[520].image.image_type must be one of"));
    assert_non_null(strstr(out, "(nothing from this file was stored)"));
    free(out);
    assert_empty("c-batch-bad");
    free(good);
    free(bad);
}

static void test_cli_ep_lists(void **state)
{
    (void)state;
    char *db = h_strdupf("%s/eps-unused.db", S.dir);
    char *o = h_strdupf("%s/eps-unused.csv", S.dir);
    /* 16 valid ids of 64 characters: 16 * 65 - 1 = 1039 bytes, past the 1024 a list may hold */
    char long_list[1100];
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        if (i)
            long_list[n++] = ',';
        n += (size_t)snprintf(long_list + n, sizeof long_list - n, "%02d", i);
        memset(long_list + n, 'e', 62);
        n += 62;
    }
    long_list[n] = '\0';
    assert_int_equal(n, 1039);
    /* 65 valid ids, well under 1024 bytes */
    char many[400] = "";
    for (int i = 0, k = 0; i < 65; i++)
        k += snprintf(many + k, sizeof many - (size_t)k, "%s%d", i ? "," : "", i);

    expect_usage("--eps is 1039 bytes long", "export", "--db", db, "--project", "P1", "--type",
                 "vulnerability", "--format", "csv", "-o", o, "--eps", long_list);
    expect_usage("--eps names more than 64 EPs", "export", "--db", db, "--project", "P1",
                 "--type", "vulnerability", "--format", "csv", "-o", o, "--eps", many);
    expect_usage("--eps: 'b c' is not an EP id", "export", "--db", db, "--project", "P1", "--type",
                 "vulnerability", "--format", "csv", "-o", o, "--eps", "a,b c");
    expect_usage("--eps: '' is not an EP id", "export", "--db", db, "--project", "P1", "--type",
                 "vulnerability", "--format", "csv", "-o", o, "--eps", "a,,b");
    expect_usage("--eps: '' is not an EP id", "export", "--db", db, "--project", "P1", "--type",
                 "vulnerability", "--format", "csv", "-o", o, "--eps", "a,");
    expect_usage("--eps names more than 16 EPs", "demo", "--db", db, "--project", "P1", "--eps",
                 many);
    expect_usage("imgsec demo: --eps: 'ep.1' is not an EP id", "demo", "--db", db, "--eps",
                 "0,ep.1");
    expect_usage("imgsec gen: --eps is 1039 bytes long", "gen", "--images", "1", "--eps",
                 long_list);
    expect_usage("imgsec gen: --eps: '' is not an EP id", "gen", "--images", "1", "--eps", "");
    assert_false(exists(db));
    assert_false(exists(o));

    /* A good list still works: 16 EPs for gen, one document each at most. */
    char *out = NULL;
    int rc = cli_run(&S, NULL, &out, "gen", "--images", "3", "--eps",
                     "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", NULL);
    if (rc != 0)
        print_error("imgsec gen: %d: %s\n", rc, out);
    assert_int_equal(rc, 0);
    free(out);
    free(db);
    free(o);
}

/* imgsec user checks its subcommand and flags before it opens (creates)
 * the database, as imgsec key does. */
static void test_cli_user_validates_first(void **state)
{
    (void)state;
    char *db = h_strdupf("%s/user-unused.db", S.dir);
    expect_usage("unknown subcommand 'frobnicate'", "user", "frobnicate", "--db", db);
    expect_usage("--domain is required", "user", "add", "--db", db);
    expect_usage("--project is required", "user", "grant", "--db", db, "--domain", "d", "--name",
                 "n");
    expect_usage("--role must be reader, writer or admin", "user", "grant", "--db", db,
                 "--domain", "d", "--name", "n", "--project", "P1", "--role", "boss", "--eps", "0");
    expect_usage("--project is required", "user", "revoke", "--db", db, "--domain", "d", "--name",
                 "n");
    expect_usage("--name is required", "user", "del", "--db", db, "--domain", "d");
    assert_false(exists(db));
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_fixture_counts),
        cmocka_unit_test(test_auto_format_and_identity),
        cmocka_unit_test(test_refusals_store_nothing),
        cmocka_unit_test(test_cli_offline_and_server),
        cmocka_unit_test(test_cli_native_from_stdin),
        cmocka_unit_test(test_cli_ndjson_batches),
        cmocka_unit_test(test_cli_ep_lists),
        cmocka_unit_test(test_cli_user_validates_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
