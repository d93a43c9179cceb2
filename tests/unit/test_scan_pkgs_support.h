/* test_scan_pkgs_support.h - runs one package analyzer over fixture files
 * as the scan driver would (open, want, entry, finish, close), without
 * the driver: each fixture becomes a scan_entry at the image path the
 * test names, its bytes are read from ../shared/fixtures/scan in place
 * and capped at what want() asked for. Header-only: one test file each.
 */
#ifndef TEST_SCAN_PKGS_SUPPORT_H
#define TEST_SCAN_PKGS_SUPPORT_H

#include <ctype.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "imgsec/util.h"
#include "scan/an_pkg.h"
#include "scan/analyzers.h"
#include "scan/scan_int.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif

#define LAYER_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* One file of the image: the fixture (relative to fixtures/scan, or NULL
 * for bytes given inline) and where it sits in the image. */
typedef struct {
    const char *fixture;
    const char *path;
    const char *bytes; /* when fixture is NULL */
    size_t len;
    mode_t mode;       /* 0: S_IFREG|0644 */
} test_file;

#define TEST_FX(fx, p) {.fixture = (fx), .path = (p)}
#define TEST_BYTES(p, b) {.path = (p), .bytes = (b), .len = sizeof(b) - 1}

static inline char *test_fixture_read(const char *rel, size_t *len)
{
    char src[1024];
    snprintf(src, sizeof src, "%s/scan/%s", IMGSEC_FIXTURES_DIR, rel);
    char *buf = util_read_file(src, len);
    if (!buf)
        fail_msg("cannot read fixture %s", src);
    return buf;
}

/* Runs analyzer a over files; os_id/os_version (may be NULL) are set as
 * the os analyzer would during the entry phase. The caller frees the
 * result. */
static inline scan_result *test_run_analyzer(const scan_analyzer *a, const test_file *files,
                                             size_t n, const char *os_id, const char *os_version)
{
    scan_result *res = scan_result_new();
    assert_non_null(res);
    scan_options opt = {0};
    imgsec_err err = {0};
    void *state = NULL;
    if (a->open)
        assert_int_equal(a->open(&opt, &state, &err), IMGSEC_OK);
    for (size_t i = 0; i < n; i++) {
        size_t len = files[i].len;
        char *buf = NULL;
        if (files[i].fixture) {
            buf = test_fixture_read(files[i].fixture, &len);
        } else {
            buf = malloc(len + 1);
            assert_non_null(buf);
            memcpy(buf, files[i].bytes, len);
        }
        scan_entry e = {.path = files[i].path, .layer = LAYER_A,
                        .mode = files[i].mode ? files[i].mode : (S_IFREG | 0644),
                        .uid = 0, .gid = 0, .size = (int64_t)len};
        int64_t w = a->want(state, &e);
        if (w != SCAN_WANT_NONE) {
            size_t give = w == SCAN_WANT_META ? 0 : len;
            if (w > 0 && (uint64_t)w < give)
                give = (size_t)w;
            if (give > SCAN_CONTENT_MAX)
                give = SCAN_CONTENT_MAX;
            assert_int_equal(a->entry(state, &e, give ? (const unsigned char *)buf : NULL, give,
                                      res, &err), IMGSEC_OK);
        }
        free(buf);
    }
    if (os_id)
        scan_set_os(res, os_id, os_version);
    scan_image img = {0};
    if (a->finish)
        assert_int_equal(a->finish(state, &img, res, &err), IMGSEC_OK);
    if (a->close)
        a->close(state);
    assert_int_equal(res->oom, 0);
    return res;
}

static inline json_t *test_apps(const scan_result *res)
{
    return res->records[REPORT_APPS];
}

static inline const char *test_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/* The one app named name (and version, when not NULL); fails if there is
 * not exactly one. */
static inline json_t *test_app(const scan_result *res, const char *name, const char *version)
{
    json_t *found = NULL, *rec;
    size_t i, hits = 0;
    json_array_foreach(test_apps(res), i, rec) {
        if (strcmp(test_str(rec, "app_name"), name) != 0)
            continue;
        if (version && (!test_str(rec, "app_version") ||
                        strcmp(test_str(rec, "app_version"), version) != 0))
            continue;
        found = rec;
        hits++;
    }
    if (hits != 1)
        fail_msg("%zu apps named %s %s, want 1", hits, name, version ? version : "");
    return found;
}

/* Asserts a string field (NULL: absent). */
static inline void test_expect_str(const json_t *rec, const char *key, const char *want)
{
    const char *got = test_str(rec, key), *app = test_str(rec, "app_name");
    if (!want) {
        if (got)
            fail_msg("%s %s: want absent, got \"%s\"", app, key, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s %s: want \"%s\", got \"%s\"", app, key, want, got ? got : "(absent)");
}

/* Checks every field of one app (NULL: the field is absent). */
static inline void test_expect_app(const scan_result *res, const char *name, const char *version,
                                   const char *type, const char *path, const char *license,
                                   const char *purl)
{
    json_t *rec = test_app(res, name, version);
    test_expect_str(rec, "app_version", version);
    test_expect_str(rec, "app_type", type);
    test_expect_str(rec, "app_path", path);
    test_expect_str(rec, "layer_digest", LAYER_A);
    test_expect_str(rec, "license", license);
    test_expect_str(rec, "purl", purl);
}

/* Percent-encodes a purl version the way purl-spec says (written again
 * here, independently of an_pkg.c). */
static inline void test_purl_enc(char *out, size_t size, const char *s, bool keep_colon)
{
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr(".-_~", c) || (keep_colon && c == ':'))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", c);
    }
    out[o] = '\0';
}

#endif
