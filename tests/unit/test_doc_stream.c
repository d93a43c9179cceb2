/* test_doc_stream.c - the streamed ingest parser (doc_stream.c) against
 * the parser it replaced (doc_ref.c: jansson tree, then the rules), on
 * every ingest document the repository has:
 *   - the fuzz seed corpora and regressions of doc and ndjson,
 *   - documents of `imgsec gen` (every record kind) and the documents the
 *     importers make of the scanner fixtures (tests/fixtures,
 *     ../shared/fixtures/scanners),
 *   - each of those mutated: every image key and every record field of
 *     the first record of each kind set to each JSON type and to the
 *     values the rules single out, keys removed, arrays replaced,
 *     and the text cut short at several places,
 *   - hand-written JSON edge cases (escapes, UTF-8, numbers, depth,
 *     duplicate keys, NDJSON lines and blank lines).
 * Each input is parsed as a JSON body and as NDJSON, the new parser fed
 * whole and in pieces of 1 and 13 bytes. Both parsers must accept it with
 * the same documents (summary, aggregates, and every record field as the
 * store binds it) or refuse it with the same code and, for every refusal
 * but a JSON syntax error, the same message; a JSON syntax error must have
 * the same shape (for NDJSON the same line). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doc_diff.h"
#include "imgsec/doc.h"
#include "imgsec/gen.h"
#include "imgsec/importers.h"
#include "imgsec/util.h"

#ifndef SOURCE_DIR
#error "SOURCE_DIR must be defined"
#endif

static size_t COMPARED;

/* One input, one mode: old against new, the new one whole and in pieces. */
static void compare_mode(const char *buf, size_t len, bool ndjson, const char *what)
{
    static const size_t PIECES[] = {0, 1, 13};
    char why[1024];
    for (size_t p = 0; p < sizeof PIECES / sizeof PIECES[0]; p++) {
        if ((PIECES[p] == 1 && len > 4096) || (PIECES[p] && len > 16384))
            continue; /* small pieces are for the small inputs */
        if (!doc_diff(buf, len, ndjson, PIECES[p], why, sizeof why))
            fail_msg("%s (pieces of %zu): %s", what, PIECES[p], why);
        COMPARED++;
    }
}

static void compare(const char *buf, size_t len, const char *what)
{
    compare_mode(buf, len, false, what);
    compare_mode(buf, len, true, what);
}

static void compare_str(const char *s)
{
    compare(s, strlen(s), s);
}

/* ---- mutations of a valid document ---- */

static const char *const VALUES[] = {
    "null", "true", "false", "0", "-1", "7", "1.5", "-0", "1e2", "9223372036854775807",
    "\"\"", "\"x\"", "\"HIGH\"", "\"Critical\"", "\"unknown\"", "\"0755\"", "\"07558\"",
    "\"12345678\"", "\"local_image\"", "\"cicd\"", "\"success\"", "\"linux_vul\"", "\"app_vul\"",
    "\"\\u00e9t\\u00e9\"", "[]", "{}", "[1]", "{\"a\": 1}",
};

/* doc with key set to each VALUES[i] (and removed) in obj, compared. */
static void mutate_key(json_t *doc, json_t *obj, const char *key, const char *what)
{
    json_t *saved = json_incref(json_object_get(obj, key));
    char at[600];
    for (size_t i = 0; i <= sizeof VALUES / sizeof VALUES[0]; i++) {
        if (i < sizeof VALUES / sizeof VALUES[0])
            json_object_set_new(obj, key, json_loads(VALUES[i], JSON_DECODE_ANY, NULL));
        else
            json_object_del(obj, key);
        char *text = json_dumps(doc, JSON_COMPACT);
        snprintf(at, sizeof at, "%s with %s = %s", what, key,
                 i < sizeof VALUES / sizeof VALUES[0] ? VALUES[i] : "(absent)");
        compare(text, strlen(text), at);
        free(text);
    }
    if (saved)
        json_object_set_new(obj, key, saved);
    else
        json_object_del(obj, key);
}

static void mutate(json_t *doc, const char *what)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    size_t len = strlen(text);
    compare(text, len, what);
    /* cut short */
    for (size_t k = 1; k < 8; k++)
        compare(text, len * k / 8, "(cut short)");
    free(text);

    json_t *image = json_object_get(doc, "image");
    if (json_is_object(image)) {
        static const char *const IMAGE_KEYS[] = {"image_type", "scan_status", "image_name",
                                                 "namespace", "image_size", "image_digest"};
        for (size_t i = 0; i < sizeof IMAGE_KEYS / sizeof IMAGE_KEYS[0]; i++)
            mutate_key(doc, image, IMAGE_KEYS[i], what);
    }
    mutate_key(doc, doc, "image", what);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        json_t *arr = json_object_get(doc, k->doc_key);
        json_t *rec = json_array_get(arr, 0);
        if (json_is_object(rec))
            for (size_t f = 0; f < k->nfields; f++)
                mutate_key(doc, rec, k->fields[f].name, what);
        mutate_key(doc, doc, k->doc_key, what);
    }
}

/* ---- the inputs ---- */

static char *read_all(const char *path, size_t *len)
{
    char *buf = util_read_file(path, len);
    if (!buf)
        fail_msg("cannot read %s", path);
    return buf;
}

static void each_file(const char *dir, void (*fn)(const char *path))
{
    DIR *d = opendir(dir);
    if (!d)
        return; /* an empty regressions directory is not in git */
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fn(path);
    }
    closedir(d);
}

static void compare_file(const char *path)
{
    size_t len;
    char *buf = read_all(path, &len);
    compare(buf, len, path);
    free(buf);
}

static void test_corpora(void **state)
{
    (void)state;
    static const char *const DIRS[] = {"corpus/doc", "corpus/ndjson", "regressions/doc",
                                       "regressions/ndjson", "corpus/doc_stream"};
    for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", SOURCE_DIR, DIRS[i]);
        each_file(dir, compare_file);
    }
}

static void test_generated(void **state)
{
    (void)state;
    gen_options opt = {.seed = 17, .images = 6, .records_per_image = 60};
    gen *g = gen_new(&opt);
    util_buf nd = {0};
    json_t *d;
    size_t i = 0;
    while ((d = gen_next(g, NULL))) {
        char *text = json_dumps(d, JSON_COMPACT);
        util_buf_printf(&nd, "%s\n", text);
        free(text);
        if (i++ < 2)
            mutate(d, "gen");
        json_decref(d);
    }
    gen_free(g);
    compare(nd.buf, nd.len, "gen NDJSON");
    /* the same documents as one JSON array */
    util_buf arr = {0};
    util_buf_printf(&arr, "[");
    for (size_t k = 0; k < nd.len; k++)
        util_buf_printf(&arr, "%c", nd.buf[k] == '\n' ? (k + 1 < nd.len ? ',' : ' ') : nd.buf[k]);
    util_buf_printf(&arr, "]");
    compare(arr.buf, arr.len, "gen array");
    free(nd.buf);
    free(arr.buf);
}

static void convert_file(const char *path)
{
    size_t len;
    char *buf = read_all(path, &len);
    json_t *report = json_loadb(buf, len, 0, NULL), *doc = NULL;
    free(buf);
    imgsec_err err = {0};
    import_options opt = {.image_name = "fixture", .now_ms = 1764000000000LL};
    import_format f = report ? import_detect(report) : IMPORT_AUTO;
    if (f != IMPORT_AUTO && f != IMPORT_NATIVE &&
        import_convert(f, report, &opt, path, &doc, &err) == IMGSEC_OK) {
        mutate(doc, path);
        json_decref(doc);
    }
    json_decref(report);
}

static void test_converted_fixtures(void **state)
{
    (void)state;
    static const char *const DIRS[] = {"tests/fixtures/cyclonedx", "../shared/fixtures/scanners/trivy",
                                       "../shared/fixtures/scanners/grype",
                                       "../shared/fixtures/scanners/cyclonedx"};
    for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", SOURCE_DIR, DIRS[i]);
        each_file(dir, convert_file);
    }
}

#define IMG "\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\"}"
#define DOC "{" IMG "}"
static void test_edge_cases(void **state)
{
    (void)state;
    static const char *const CASES[] = {
        "", " ", "\n\n", "\r\n", "{}", "[]", "[ ]", "null", "1", "\"s\"", "[1]", "[[]]", "[{}]",
        DOC, " " DOC " ", DOC "\n", DOC "\r\n", DOC "x", DOC DOC, DOC "\n" DOC, DOC "\n\n" DOC "\n",
        DOC "\n \t\r\n" DOC, "[" DOC "]", "[" DOC "," DOC "]", "[" DOC ",]", "[" DOC "," "1]",
        "[" DOC ", []]", "[1, {\"image\": 5}]", "[{\"image\": 5}, 1]", "\xef\xbb\xbf" DOC,
        /* duplicate keys: the last wins */
        "{" IMG ", \"image\": null}", "{\"image\": null, " IMG "}",
        "{" IMG ", \"vulnerabilities\": 5, \"vulnerabilities\": []}",
        "{" IMG ", \"vulnerabilities\": [], \"vulnerabilities\": 5}",
        "{" IMG ", \"apps\": [{}], \"apps\": [{\"app_name\": \"x\", \"app_version\": \"1\"}]}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_name\": 5}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": 5, \"image_name\": \"b\"}}",
        /* order of errors: the image before the records, kinds in order */
        "{\"vulnerabilities\": [1], \"image\": {}}", "{\"malwares\": 1, \"vulnerabilities\": [1], " IMG "}",
        "{\"vulnerabilities\": [{}, 1], " IMG "}", "{\"vulnerabilities\": [1, {}], " IMG "}",
        /* escapes and UTF-8 */
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\u0000\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\ud800\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\udc00\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\ud800\\u0041\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\ud83d\\ude00\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\\\ud800\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\\\\\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\\ud800\\\\\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\xc0\x80\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\xed\xa0\x80\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\xf4\x90\x80\x80\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\xf0\x9f\x98\x80\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"\xc3\"}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\tb\"}}",
        "{\"x\\u0000\": 1, " IMG "}", "{\"x\": \"\\ud800\", " IMG "}",
        "{\"\\u00e9\": 1, " IMG "}",
        /* numbers */
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 9223372036854775808}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": -9223372036854775809}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 9223372036854775807}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 1e400}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 1e-400}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": -0}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 01}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": 1.}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": .5}}",
        "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"a\", \"image_size\": +1}}",
        "{\"n\": 1e999, " IMG "}", "{\"n\": 99999999999999999999, " IMG "}",
        "{" IMG ", \"vulnerabilities\": [{\"vul_id\": \"C\", \"vul_type\": \"linux_vul\", "
        "\"severity\": \"High\", \"cvss_score\": 7}]}",
        "{" IMG ", \"vulnerabilities\": [{\"vul_id\": \"C\", \"vul_type\": \"linux_vul\", "
        "\"severity\": \"High\", \"cvss_score\": 1e308}]}",
        /* literals and comments */
        "{" IMG ", \"x\": tru}", "{" IMG ", \"x\": nul}", "{" IMG ", /* c */ \"x\": 1}",
        "{" IMG ", \"x\": NaN}", "{" IMG ", \"x\": 'a'}", "{" IMG ",}", "{" IMG " \"x\": 1}",
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        compare_str(CASES[i]);

    /* depth: jansson's limit is 2048 */
    for (size_t depth = 2046; depth <= 2050; depth++) {
        util_buf b = {0};
        util_buf_printf(&b, "{" IMG ", \"x\": ");
        for (size_t k = 0; k < depth - 1; k++)
            util_buf_printf(&b, "[");
        for (size_t k = 0; k < depth - 1; k++)
            util_buf_printf(&b, "]");
        util_buf_printf(&b, "}");
        compare(b.buf, b.len, "deep");
        free(b.buf);
    }
    /* a long string: record strings are at most 65535 bytes */
    for (size_t n = 65534; n <= 65536; n++) {
        util_buf b = {0};
        util_buf_printf(&b, "{" IMG ", \"apps\": [{\"app_name\": \"");
        for (size_t k = 0; k < n; k++)
            util_buf_printf(&b, "a");
        util_buf_printf(&b, "\", \"app_version\": \"1\"}]}");
        compare(b.buf, b.len, "long");
        free(b.buf);
    }
}

/* DOC_BULK_MAX: at the limit, one over, and a bad document after it. */
static void test_document_limit(void **state)
{
    (void)state;
    for (size_t n = DOC_BULK_MAX; n <= DOC_BULK_MAX + 1; n++) {
        util_buf a = {0}, nd = {0};
        util_buf_printf(&a, "[");
        for (size_t i = 0; i < n; i++) {
            util_buf_printf(&a, "%s" DOC, i ? "," : "");
            util_buf_printf(&nd, DOC "\n");
        }
        util_buf_printf(&a, "]");
        assert_false(a.failed || nd.failed);
        compare_mode(a.buf, a.len, false, "bulk array");
        compare_mode(nd.buf, nd.len, true, "bulk NDJSON");
        free(a.buf);
        free(nd.buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpora),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_converted_fixtures),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_document_limit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fprintf(stderr, "test_doc_stream: %zu comparisons\n", COMPARED);
    return rc;
}
