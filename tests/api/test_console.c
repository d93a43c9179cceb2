/* test_console.c - the web console's static files (route_console.c):
 * the redirects, the headers every file carries, revalidation, and every
 * way out of --console-dir refused (symlinks in and out, directories,
 * hidden names, unknown types, oversized files, paths below the dir). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static srv_t S;
static char DIR_[H_PATH_MAX];

static void put(const char *name, const char *text, size_t len)
{
    char p[H_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", DIR_, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (srv_init(&S) != 0)
        return -1;
    snprintf(DIR_, sizeof DIR_, "%s/console", S.dir);
    char p[H_PATH_MAX + 64];
    if (mkdir(DIR_, 0700) != 0)
        return -1;
    put("index.html", "<!doctype html><p>hi</p>", 25);
    put("app.js", "export const x = 1;\n", 20);
    put("style.css", "p{}", 3);
    put("x.txt", "text", 4);
    put(".hidden.js", "h", 1);
    char *big = calloc(1, (1u << 20) + 1);
    if (!big)
        return -1;
    memset(big, 'a', (1u << 20) + 1);
    put("big.js", big, (1u << 20) + 1);
    free(big);
    snprintf(p, sizeof p, "%s/secret.js", S.dir); /* outside the console dir */
    FILE *f = fopen(p, "w");
    if (!f || fputs("secret", f) < 0 || fclose(f) != 0)
        return -1;
    char link[H_PATH_MAX + 64];
    snprintf(link, sizeof link, "%s/out.js", DIR_);
    if (symlink(p, link) != 0)
        return -1;
    snprintf(link, sizeof link, "%s/in.js", DIR_);
    if (symlink("app.js", link) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/dir.js", DIR_);
    if (mkdir(p, 0700) != 0)
        return -1;
    setenv("IMGSEC_CONSOLE_DIR", DIR_, 1);
    return srv_start(&S);
}

static int teardown(void **state)
{
    (void)state;
    return srv_stop(&S, true);
}

static long get(const char *path, const char *const *headers, http_resp *r)
{
    http_req rq = {.method = "GET", .path = path, .headers = headers};
    return http_do(&S, &rq, r);
}

static void test_redirects(void **state)
{
    (void)state;
    static const char *const paths[] = {"/", "/console"};
    for (size_t i = 0; i < 2; i++) {
        http_resp r;
        assert_int_equal(get(paths[i], NULL, &r), 302);
        assert_string_equal(http_header(&r, "Location"), "/console/");
        http_resp_free(&r);
    }
}

static void test_files_and_headers(void **state)
{
    (void)state;
    static const struct {
        const char *path, *type, *body;
    } rows[] = {
        {"/console/", "text/html; charset=utf-8", "<!doctype html><p>hi</p>"},
        {"/console/index.html", "text/html; charset=utf-8", "<!doctype html><p>hi</p>"},
        {"/console/app.js", "text/javascript; charset=utf-8", "export const x = 1;\n"},
        {"/console/style.css", "text/css; charset=utf-8", "p{}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_resp r;
        assert_int_equal(get(rows[i].path, NULL, &r), 200);
        assert_string_equal(http_header(&r, "Content-Type"), rows[i].type);
        assert_string_equal(r.body, rows[i].body);
        const char *csp = http_header(&r, "Content-Security-Policy");
        assert_non_null(csp);
        assert_non_null(strstr(csp, "default-src 'self'"));
        assert_non_null(strstr(csp, "script-src 'self';"));
        assert_null(strstr(csp, "unsafe"));
        assert_string_equal(http_header(&r, "X-Content-Type-Options"), "nosniff");
        assert_string_equal(http_header(&r, "Referrer-Policy"), "no-referrer");
        assert_string_equal(http_header(&r, "Cache-Control"), "no-cache");
        const char *etag = http_header(&r, "ETag");
        assert_non_null(etag);
        char inm[128];
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        const char *const h[] = {inm, NULL};
        http_resp r2;
        assert_int_equal(get(rows[i].path, h, &r2), 304);
        assert_int_equal(r2.body_len, 0);
        http_resp_free(&r2);
        http_resp_free(&r);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/console/out.js",        /* symlink out of the dir */
        "/console/in.js",         /* symlink inside: refused too */
        "/console/dir.js",        /* a directory */
        "/console/big.js",        /* over 1 MiB */
        "/console/x.txt",         /* unknown type */
        "/console/.hidden.js",    /* hidden */
        "/console/nope.js",       /* absent */
        "/console/..%2fsecret.js", /* decoded to a path below the dir */
        "/console/%2e%2e/secret.js",
        "/console/a/app.js",
        "/console/app.js%00.css",
        "/console/app.JS",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_resp r;
        long st = get(paths[i], NULL, &r);
        if (st != 404)
            fprintf(stderr, "%s: %ld\n", paths[i], st);
        assert_int_equal(st, 404);
        assert_null(strstr(r.body, "secret"));
        http_resp_free(&r);
    }
    http_req rq = {.method = "POST", .path = "/console/app.js", .body = "", .content_type = NULL};
    http_resp r;
    assert_int_equal(http_do(&S, &rq, &r), 405);
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_files_and_headers),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("console", tests, setup, teardown) + harness_failures();
}
