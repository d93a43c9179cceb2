/* scan_risk_support.h - drives one analyzer the way the scan driver does,
 * for the risk analyzers' unit tests (test_scan_risk_*.c). Header-only,
 * include it after <cmocka.h>.
 *
 * Each test lists the entries of a merged filesystem (path, mode, owner,
 * and content from a fixture file or inline bytes); risk_run offers them
 * to the analyzer through open / want / entry / finish / close exactly as
 * scan.h describes (content capped at what want asked for), into a fresh
 * scan_result the caller frees.
 */
#ifndef IMGSEC_SCAN_RISK_SUPPORT_H
#define IMGSEC_SCAN_RISK_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgsec/util.h"
#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif
#define RISK_FIXTURE(rel) IMGSEC_FIXTURES_DIR "/scan/" rel

typedef struct {
    const char *path;    /* in the image */
    mode_t mode;         /* 0: S_IFREG | 0644 */
    const char *fixture; /* content: a file under fixtures/scan/, or NULL */
    const char *data;    /* content: these bytes (NUL-terminated), or NULL */
    int64_t uid;
    const char *uname;
    const char *layer;   /* NULL: "sha256:layer1" */
} risk_file;

/* Bytes of f's content, malloc'd; *len set. */
static inline unsigned char *risk_content(const risk_file *f, size_t *len)
{
    if (f->fixture) {
        char path[1024];
        snprintf(path, sizeof path, "%s/scan/%s", IMGSEC_FIXTURES_DIR, f->fixture);
        char *b = util_read_file(path, len);
        if (!b)
            fail_msg("cannot read fixture %s", path);
        return (unsigned char *)b;
    }
    const char *d = f->data ? f->data : "";
    *len = strlen(d);
    unsigned char *b = malloc(*len + 1);
    assert_non_null(b);
    memcpy(b, d, *len + 1);
    return b;
}

/* Runs analyzer a over files[0..n) with options opt (NULL: defaults) and
 * image config (may be NULL). Returns the result; *rc gets the first
 * error code (IMGSEC_OK when every step succeeded), err its message. */
static inline scan_result *risk_run_rc(const scan_analyzer *a, const scan_options *opt,
                                       const risk_file *files, size_t n, const json_t *config,
                                       int *rc, imgsec_err *err)
{
    static const scan_options defaults;
    scan_result *res = scan_result_new();
    assert_non_null(res);
    void *st = NULL;
    *rc = a->open ? a->open(opt ? opt : &defaults, &st, err) : IMGSEC_OK;
    if (*rc != IMGSEC_OK)
        return res;
    for (size_t i = 0; i < n && *rc == IMGSEC_OK; i++) {
        const risk_file *f = &files[i];
        size_t clen = 0;
        unsigned char *content = NULL;
        if (S_ISREG(f->mode) || !f->mode) {
            content = risk_content(f, &clen);
        }
        scan_entry e = {
            .path = f->path,
            .layer = f->layer ? f->layer : "sha256:layer1",
            .mode = f->mode ? f->mode : (S_IFREG | 0644),
            .uid = f->uid,
            .gid = f->uid,
            .uname = f->uname,
            .size = (int64_t)clen,
        };
        int64_t w = a->want ? a->want(st, &e) : SCAN_WANT_NONE;
        if (w != SCAN_WANT_NONE) {
            size_t give = 0;
            if (w != SCAN_WANT_META) {
                give = clen < SCAN_CONTENT_MAX ? clen : SCAN_CONTENT_MAX;
                if (w > 0 && (uint64_t)w < give)
                    give = (size_t)w;
            }
            *rc = a->entry(st, &e, w == SCAN_WANT_META ? NULL : content, give, res, err);
        }
        free(content);
    }
    static const char *const diff_ids[] = {"sha256:layer1"};
    scan_image img = {.config = config, .diff_ids = diff_ids, .n_layers = 1};
    if (*rc == IMGSEC_OK && a->finish)
        *rc = a->finish(st, &img, res, err);
    if (a->close)
        a->close(st);
    return res;
}

static inline scan_result *risk_run(const scan_analyzer *a, const scan_options *opt,
                                    const risk_file *files, size_t n, const json_t *config)
{
    int rc;
    imgsec_err err = {0};
    scan_result *res = risk_run_rc(a, opt, files, n, config, &rc, &err);
    if (rc != IMGSEC_OK)
        fail_msg("analyzer %s failed: %s", a->name, err.msg);
    assert_int_equal(res->oom, 0);
    return res;
}

/* The records of type t, "field=value" joined by ";" per record and "\n"
 * between records, for exact comparisons; malloc'd. */
static inline char *risk_dump(const scan_result *res, report_type t, const char *const *fields)
{
    util_buf b = {0};
    size_t i;
    json_t *rec;
    json_array_foreach(res->records[t], i, rec) {
        for (size_t k = 0; fields[k]; k++) {
            json_t *v = json_object_get(rec, fields[k]);
            if (json_is_string(v))
                util_buf_printf(&b, "%s%s", k ? ";" : "", json_string_value(v));
            else if (json_is_integer(v))
                util_buf_printf(&b, "%s%lld", k ? ";" : "", (long long)json_integer_value(v));
            else
                util_buf_printf(&b, "%s-", k ? ";" : "");
        }
        util_buf_put(&b, "\n", 1);
    }
    util_buf_put(&b, "", 0);
    assert_false(b.failed);
    if (!b.buf) {
        b.buf = malloc(1);
        assert_non_null(b.buf);
        b.buf[0] = '\0';
    }
    return b.buf;
}

#define RISK_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
