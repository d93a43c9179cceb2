/* scan.c - the driver: one pass over an image, every analyzer fed from it
 * (scan.h; docs/scanning.md "The driver").
 *
 * For each entry of the merged filesystem (scan_layer.c walks the layers
 * top first), every enabled analyzer is asked what it wants; the content
 * is read once, up to the largest want (at most SCAN_CONTENT_MAX bytes,
 * into one buffer reused for every entry), and handed to each analyzer
 * that asked. After the last layer, finish runs in table order, so a
 * later analyzer (e.g. vulnerability matching, issue 13) sees what the
 * earlier ones emitted: that is the post-analysis hook. The first error
 * stops the scan.
 */
#include "scan/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgsec/util.h"

#define ANALYZERS_MAX 64

struct scan_run_ctx {
    const scan_options *opt;
    const scan_analyzer *an[ANALYZERS_MAX];
    void *state[ANALYZERS_MAX];
    int64_t want[ANALYZERS_MAX];
    size_t n;
    scan_result *res;
    unsigned char *buf;
    size_t cap;
    bool read_failed, analyzer_failed;
    /* progress */
    char phase[96];
    int64_t done, total, last_shown;
};

scan_result *scan_run_result(scan_run_ctx *rc)
{
    return rc->res;
}

bool scan_offer_read_failed(const scan_run_ctx *rc)
{
    return rc->read_failed;
}

void scan_progress_add(scan_run_ctx *rc, int64_t n)
{
    rc->done += n;
    if (rc->opt->progress && rc->done - rc->last_shown >= (8 << 20)) {
        rc->last_shown = rc->done;
        rc->opt->progress(rc->opt->progress_ctx, rc->phase, rc->done, rc->total);
    }
}

int scan_offer(scan_run_ctx *rc, const scan_entry *e, scan_content_fn rd, void *rd_ctx,
               imgsec_err *err)
{
    int64_t maxw = SCAN_WANT_NONE;
    bool any = false;
    rc->read_failed = false;
    rc->res->info.entries++;
    if (rc->opt->observe)
        rc->opt->observe(rc->opt->observe_ctx, e);
    for (size_t i = 0; i < rc->n; i++) {
        int64_t w = rc->an[i]->want ? rc->an[i]->want(rc->state[i], e) : SCAN_WANT_NONE;
        rc->want[i] = w;
        if (w != SCAN_WANT_NONE)
            any = true;
        if (w > maxw)
            maxw = w;
    }
    if (!any)
        return IMGSEC_OK;
    static const unsigned char empty[1];
    size_t len = 0;
    if (maxw > 0 && S_ISREG(e->mode) && e->size > 0) {
        uint64_t n = (uint64_t)e->size;
        if (n > (uint64_t)maxw)
            n = (uint64_t)maxw;
        if (n > SCAN_CONTENT_MAX)
            n = SCAN_CONTENT_MAX;
        if (n > rc->cap) {
            size_t cap = rc->cap ? rc->cap : 65536;
            while (cap < n)
                cap *= 2;
            unsigned char *b = realloc(rc->buf, cap);
            if (!b)
                return err_set(err, IMGSEC_EINTERNAL, "out of memory reading %.200s", e->path);
            rc->buf = b;
            rc->cap = cap;
        }
        while (len < n) {
            ssize_t k = rd(rd_ctx, rc->buf + len, (size_t)n - len);
            if (k < 0) {
                rc->read_failed = true;
                return err_set(err, IMGSEC_EINVAL, "%.200s: read failed", e->path);
            }
            if (k == 0)
                break;
            len += (size_t)k;
        }
    }
    for (size_t i = 0; i < rc->n; i++) {
        int64_t w = rc->want[i];
        if (w == SCAN_WANT_NONE || !rc->an[i]->entry)
            continue;
        const unsigned char *data = w == SCAN_WANT_META ? NULL : (len ? rc->buf : empty);
        size_t n = w == SCAN_WANT_META ? 0 : ((uint64_t)w < len ? (size_t)w : len);
        int r = rc->an[i]->entry(rc->state[i], e, data, n, rc->res, err);
        if (r != IMGSEC_OK) {
            rc->analyzer_failed = true;
            return r;
        }
    }
    return rc->res->oom ? err_set(err, IMGSEC_EINTERNAL, "out of memory") : IMGSEC_OK;
}

/* ---- analyzer selection ---- */

const char *scan_analyzer_names(void)
{
    static char names[1024];
    if (!names[0]) {
        util_buf b = {0};
        for (size_t i = 0; i < scan_analyzers_count; i++)
            util_buf_printf(&b, "%s%s", i ? "," : "", scan_analyzers[i]->name);
        snprintf(names, sizeof names, "%s", b.buf ? b.buf : "");
        free(b.buf);
    }
    return names;
}

static int select_analyzers(scan_run_ctx *rc, const char *list, imgsec_err *err)
{
    bool on[ANALYZERS_MAX] = {0};
    if (scan_analyzers_count > ANALYZERS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "too many analyzers");
    if (!list) {
        for (size_t i = 0; i < scan_analyzers_count; i++)
            on[i] = true;
    } else {
        const char *p = list;
        while (*p) {
            const char *q = strchr(p, ',');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            size_t i = 0;
            for (; i < scan_analyzers_count; i++)
                if (strlen(scan_analyzers[i]->name) == n && strncmp(scan_analyzers[i]->name, p, n) == 0)
                    break;
            if (i == scan_analyzers_count)
                return err_set(err, IMGSEC_EINVAL, "unknown analyzer '%.*s'; the analyzers are %s",
                               (int)(n > 64 ? 64 : n), p, scan_analyzer_names());
            on[i] = true;
            p += n + (q ? 1 : 0);
        }
    }
    for (size_t i = 0; i < scan_analyzers_count; i++)
        if (on[i])
            rc->an[rc->n++] = scan_analyzers[i];
    return IMGSEC_OK;
}

/* ---- the run ---- */

static char *keep(scan_result *res, size_t slot, const char *s)
{
    if (!s)
        return NULL;
    free(res->info_strings[slot]);
    if (!(res->info_strings[slot] = strdup(s)))
        res->oom = 1;
    return res->info_strings[slot];
}

static int walk_layers(scan_run_ctx *rc, scan_plan *plan, imgsec_err *err)
{
    scan_paths *seen = scan_paths_new();
    if (!seen)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    int out = IMGSEC_OK;
    for (size_t k = plan->n_layers; k-- > 0 && out == IMGSEC_OK;) {
        const scan_blob *b = &plan->layers[k];
        char label[400];
        snprintf(label, sizeof label, "layer %zu/%zu (%.300s)", plan->n_layers - k, plan->n_layers,
                 b->member);
        snprintf(rc->phase, sizeof rc->phase, "layer %zu/%zu", plan->n_layers - k, plan->n_layers);
        scan_src *src = scan_plan_layer(plan, k, err);
        if (!src) {
            out = err->code;
            break;
        }
        scan_layer_spec spec = {.diff_id = plan->diff_ids[k], .blob_digest = b->digest,
                                .blob_size = b->size, .label = label, .record = k > 0};
        int64_t raw = 0, plain = 0;
        out = scan_layer_walk(rc, src, &spec, seen, &raw, &plain, err);
        scan_src_close(src);
        rc->res->info.blob_bytes += raw;
        rc->res->info.layer_bytes += plain;
    }
    scan_paths_free(seen);
    return out;
}

static void drop_records(scan_result *res)
{
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        json_array_clear(res->records[t]);
    res->failed = true;
}

int scan_run(const char *input, scan_input_kind kind, const scan_options *opt_in, scan_result **out,
             imgsec_err *err)
{
    static const scan_options defaults;
    const scan_options *opt = opt_in ? opt_in : &defaults;
    *out = NULL;
    scan_run_ctx rc = {.opt = opt};
    scan_plan plan = {0};
    int r;
    if (!(rc.res = scan_result_new()))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if ((r = select_analyzers(&rc, opt->analyzers, err)))
        goto refuse;
    scan_info *info = &rc.res->info;
    struct stat sb;
    if (kind == SCAN_INPUT_ROOTFS) {
        if (stat(input, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            r = err_set(err, IMGSEC_EINVAL, "%s: not a directory", input);
            goto refuse;
        }
        info->format = "rootfs";
    } else {
        if ((r = scan_plan_open(input, kind, opt, &plan, err)))
            goto refuse;
        info->format = plan.format;
        info->config_digest = keep(rc.res, 0, plan.config_digest);
        info->manifest_digest = keep(rc.res, 1, plan.manifest_digest);
        info->repo_tag = keep(rc.res, 2, plan.repo_tag);
        const char *os = json_string_value(json_object_get(plan.config, "os"));
        const char *arch = json_string_value(json_object_get(plan.config, "architecture"));
        if (os && arch) {
            char p[128];
            const char *v = json_string_value(json_object_get(plan.config, "variant"));
            snprintf(p, sizeof p, "%s/%s%s%s", os, arch, v ? "/" : "", v ? v : "");
            info->platform = keep(rc.res, 3, p);
        }
        info->n_layers = plan.n_layers;
    }
    /* Identified: from here a failure stores the image as failed. */
    size_t opened = 0;
    for (; opened < rc.n; opened++) {
        rc.state[opened] = NULL;
        if (rc.an[opened]->open && (r = rc.an[opened]->open(opt, &rc.state[opened], err)) != IMGSEC_OK)
            break;
    }
    if (r != IMGSEC_OK) {
        for (size_t i = 0; i < opened; i++)
            if (rc.an[i]->close)
                rc.an[i]->close(rc.state[i]);
        goto refuse; /* a bad rule file or policy: the options are wrong, not the image */
    }
    r = kind == SCAN_INPUT_ROOTFS ? scan_rootfs_walk(&rc, input, err) : walk_layers(&rc, &plan, err);
    scan_image img = {.config = plan.config, .diff_ids = (const char *const *)plan.diff_ids,
                      .n_layers = plan.n_layers};
    for (size_t i = 0; i < rc.n && r == IMGSEC_OK; i++)
        if (rc.an[i]->finish && (r = rc.an[i]->finish(rc.state[i], &img, rc.res, err)) != IMGSEC_OK)
            rc.analyzer_failed = true;
    for (size_t i = 0; i < rc.n; i++)
        if (rc.an[i]->close)
            rc.an[i]->close(rc.state[i]);
    if (r == IMGSEC_OK && rc.res->oom)
        r = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (opt->progress)
        opt->progress(opt->progress_ctx, "done", rc.done, rc.total);
    free(rc.buf);
    scan_plan_free(&plan);
    if (r != IMGSEC_OK && r == IMGSEC_EINVAL && !rc.analyzer_failed) {
        scan_result_free(rc.res); /* the input is not an intact image: refuse it whole */
        return r;
    }
    if (r != IMGSEC_OK)
        drop_records(rc.res);
    *out = rc.res;
    return r;
refuse:
    free(rc.buf);
    scan_plan_free(&plan);
    scan_result_free(rc.res);
    return r;
}

int scan_run_source(scan_src *src, const scan_options *opt_in, scan_result **out, imgsec_err *err)
{
    static const scan_options defaults;
    const scan_options *opt = opt_in ? opt_in : &defaults;
    *out = NULL;
    scan_run_ctx rc = {.opt = opt};
    scan_paths *seen = scan_paths_new();
    int r = IMGSEC_OK;
    size_t opened = 0;
    if (!seen || !(rc.res = scan_result_new())) {
        r = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    if ((r = select_analyzers(&rc, opt->analyzers, err)))
        goto done;
    for (; opened < rc.n; opened++)
        if (rc.an[opened]->open && (r = rc.an[opened]->open(opt, &rc.state[opened], err)))
            goto done;
    scan_layer_spec spec = {.label = src->name, .blob_size = -1, .record = false};
    int64_t raw, plain;
    r = scan_layer_walk(&rc, src, &spec, seen, &raw, &plain, err);
    scan_image img = {0};
    for (size_t i = 0; i < rc.n && r == IMGSEC_OK; i++)
        if (rc.an[i]->finish)
            r = rc.an[i]->finish(rc.state[i], &img, rc.res, err);
done:
    for (size_t i = 0; i < opened; i++)
        if (rc.an[i]->close)
            rc.an[i]->close(rc.state[i]);
    scan_paths_free(seen);
    free(rc.buf);
    if (r == IMGSEC_OK)
        *out = rc.res;
    else
        scan_result_free(rc.res);
    return r;
}

void scan_result_destroy(scan_result *res)
{
    scan_result_free(res);
}

const scan_info *scan_result_info(const scan_result *res)
{
    return &res->info;
}

bool scan_result_failed(const scan_result *res)
{
    return res->failed;
}

const json_t *scan_result_records(const scan_result *res, report_type t)
{
    return (unsigned)t < REPORT_TYPE_COUNT ? res->records[t] : NULL;
}

const json_t *scan_result_warnings(const scan_result *res, size_t *dropped)
{
    if (dropped)
        *dropped = res->warnings_dropped;
    return res->warnings;
}

/* ---- the ingest document ---- */

/* "registry.example.com:5000/team/app:1.2" -> namespace "team", name
 * "app", version "1.2"; "alpine:3.10" -> "", "alpine", "3.10"; no tag ->
 * "latest"; a digest reference keeps its digest as the version. */
static void split_ref(const char *ref, char *ns, char *name, char *ver, size_t size)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", ref);
    char *at = strchr(buf, '@');
    snprintf(ver, size, "%s", at ? at + 1 : "latest");
    if (at)
        *at = '\0';
    char *slash = strrchr(buf, '/');
    char *colon = strrchr(slash ? slash : buf, ':');
    if (colon && !at) {
        snprintf(ver, size, "%s", colon + 1);
        *colon = '\0';
    } else if (colon) {
        *colon = '\0';
    }
    char *first = strchr(buf, '/');
    char *rest = buf;
    if (first) {
        size_t n = (size_t)(first - buf);
        if (memchr(buf, '.', n) || memchr(buf, ':', n) || (n == 9 && strncmp(buf, "localhost", 9) == 0))
            rest = first + 1; /* a registry host */
    }
    slash = strrchr(rest, '/');
    if (slash) {
        *slash = '\0';
        snprintf(ns, size, "%s", rest);
        snprintf(name, size, "%s", slash + 1);
    } else {
        ns[0] = '\0';
        snprintf(name, size, "%s", rest);
    }
}

int scan_set_str(json_t *rec, const char *key, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (n > MODEL_RECORD_STRING_MAX) {
        n = MODEL_RECORD_STRING_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    json_t *v = json_stringn(s, n);
    if (!v) { /* not UTF-8: keep what is readable */
        char *c = strndup(s, n);
        if (!c)
            return -1;
        for (char *p = c; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        v = json_string(c);
        free(c);
    }
    return json_object_set_new(rec, key, v);
}

json_t *scan_result_document(const scan_result *res, const scan_identity *id)
{
    static const scan_identity none;
    if (!id)
        id = &none;
    char ns[1024] = "", name[1024] = "", ver[1024] = "";
    if (res->info.repo_tag)
        split_ref(res->info.repo_tag, ns, name, ver, sizeof name);
    else if (res->info.config_digest)
        snprintf(name, sizeof name, "sha256-%.12s", res->info.config_digest + 7);
    else
        snprintf(name, sizeof name, "rootfs");
    json_t *doc = json_object(), *img = json_object();
    if (!doc || !img || json_object_set_new(doc, "image", img) != 0) {
        json_decref(doc);
        json_decref(img);
        return NULL;
    }
    int64_t now = id->scan_ms ? id->scan_ms : util_now_ms();
    int bad = scan_set_str(img, "image_type", id->image_type ? id->image_type : "local_image") ||
              scan_set_str(img, "namespace", id->namespace_ ? id->namespace_ : ns) ||
              scan_set_str(img, "image_name", id->image_name ? id->image_name : name) ||
              scan_set_str(img, "image_version", id->image_version ? id->image_version : ver) ||
              scan_set_str(img, "image_id", res->info.config_digest) ||
              scan_set_str(img, "image_digest", res->info.manifest_digest) ||
              json_object_set_new(img, "image_size", json_integer(res->info.layer_bytes)) ||
              json_object_set_new(img, "latest_scan_time", json_integer(now)) ||
              json_object_set_new(img, "latest_update_time", json_integer(now)) ||
              scan_set_str(img, "scan_status", res->failed ? "failed" : "success");
    for (int t = 0; t < REPORT_TYPE_COUNT && !bad && !res->failed; t++)
        if (json_array_size(res->records[t]))
            bad = json_object_set(doc, record_kind_get((report_type)t)->doc_key, res->records[t]) != 0;
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
