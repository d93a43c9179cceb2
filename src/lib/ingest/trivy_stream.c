/* trivy_stream.c - a Trivy report file into the store without loading it.
 *
 * jansson loads whole documents; a 500 MB Trivy report would need several
 * GB. Here yajl (a push parser) reads the file in 64 KiB chunks, twice:
 *   pass 1 builds only the small part: every top-level key but Results,
 *          and of each Results[i] its scalar members (Target, Class,
 *          Type). imp_trivy turns that into the image (and history risks)
 *          and doc_from_json validates it as usual;
 *   pass 2 builds one element of Results[i].<list>[j] at a time, converts
 *          it with the same code as the in-memory path (imp_trivy_item)
 *          and hands each record to store_stream_record, which validates
 *          it with doc_record_check and inserts it.
 * All of it runs in one store transaction (store_stream.h): an error at
 * any point, in the JSON or in a record, rolls everything back.
 * Memory is bounded by the largest single element plus the aggregates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "imgsec/store_stream.h"
#include "imp_int.h"

#define STREAM_DEPTH_MAX 128
#define STREAM_CHUNK (64 * 1024)
#define STREAM_KEY_MAX 65536

typedef enum { F_WALK, F_BUILD, F_SKIP } frame_mode;

typedef struct {
    bool is_map;
    frame_mode mode;
    json_t *node;     /* F_BUILD: the container being built */
    char *key;        /* maps: the current key (owned) */
    size_t index;     /* arrays: index of the next element */
} frame;

typedef enum { K_SCALAR, K_MAP, K_ARRAY } value_kind;

typedef struct sctx sctx;
/* Decides what to do with a value starting under a WALK frame at depth d
 * (d = number of open containers; frames[d-1] is the parent). */
typedef frame_mode (*decide_fn)(sctx *x, size_t d, value_kind kind);
/* A value built under a WALK parent is complete (v is stolen). */
typedef int (*done_fn)(sctx *x, size_t d, json_t *v);

struct sctx {
    frame frames[STREAM_DEPTH_MAX];
    size_t depth;
    decide_fn decide;
    done_fn done;
    int rc;            /* first error of a callback */
    imp_ctx *c;
    /* pass 1 */
    json_t *meta, *results;
    bool saw_results;
    /* pass 2 */
    store_stream *ss;
    const char *where;
    size_t list;       /* index into IMP_TRIVY_LISTS of the current list */
};

static frame *parent(sctx *x)
{
    return x->depth ? &x->frames[x->depth - 1] : NULL;
}

/* Where the parser is, for messages: Results[3].Packages[7]. */
static void position(const sctx *x, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < x->depth && used < size; i++) {
        const frame *f = &x->frames[i];
        if (f->is_map && f->key)
            used += (size_t)snprintf(buf + used, size - used, "%s%.40s", used ? "." : "", f->key);
        else if (!f->is_map && f->index)
            used += (size_t)snprintf(buf + used, size - used, "[%zu]", f->index - 1);
    }
}

/* Attaches a finished value to its BUILD parent or reports it (WALK parent). */
static int place(sctx *x, json_t *v)
{
    frame *p = parent(x);
    if (!v)
        return x->rc = imp_oom(x->c);
    if (p->mode == F_BUILD) {
        int bad = p->is_map ? json_object_set_new(p->node, p->key ? p->key : "", v)
                            : json_array_append_new(p->node, v);
        return bad ? (x->rc = imp_oom(x->c)) : 0;
    }
    return x->rc = x->done(x, x->depth, v);
}

/* The mode of a value starting now: a BUILD or SKIP parent decides for
 * its children, a WALK parent asks the pass. Counts array elements. */
static frame_mode mode_for(sctx *x, value_kind kind)
{
    frame *p = parent(x);
    if (!p->is_map)
        p->index++;
    return p->mode != F_WALK ? p->mode : x->decide(x, x->depth, kind);
}

static int top_level_not_object(sctx *x)
{
    x->rc = imp_fail(x->c, NULL, "is not a JSON object");
    return 0;
}

static int scalar(sctx *x, json_t *v)
{
    if (!x->depth) {
        json_decref(v);
        return top_level_not_object(x);
    }
    if (mode_for(x, K_SCALAR) != F_BUILD) {
        json_decref(v);
        return 1;
    }
    return place(x, v) ? 0 : 1;
}

static int cb_null(void *ctx)
{
    return scalar(ctx, json_null());
}

static int cb_bool(void *ctx, int b)
{
    return scalar(ctx, json_boolean(b));
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    char buf[64];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    json_t *v;
    errno = 0;
    if (!strpbrk(buf, ".eE")) {
        long long n = strtoll(buf, NULL, 10);
        v = errno ? json_real(strtod(buf, NULL)) : json_integer(n);
    } else {
        v = json_real(strtod(buf, NULL));
    }
    return scalar(ctx, v);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    sctx *x = ctx;
    frame *p = parent(x);
    if (p && p->mode == F_SKIP) { /* skipped strings are never copied */
        if (!p->is_map)
            p->index++;
        return 1;
    }
    return scalar(x, json_stringn((const char *)s, len));
}

static int open_container(sctx *x, bool is_map)
{
    frame_mode m = F_WALK;
    if (!x->depth && !is_map)
        return top_level_not_object(x);
    if (x->depth)
        m = mode_for(x, is_map ? K_MAP : K_ARRAY);
    if (x->depth >= STREAM_DEPTH_MAX) {
        x->rc = imp_fail(x->c, NULL, "nests deeper than %d levels", STREAM_DEPTH_MAX);
        return 0;
    }
    frame *f = &x->frames[x->depth];
    *f = (frame){.is_map = is_map, .mode = m};
    if (m == F_BUILD && !(f->node = is_map ? json_object() : json_array())) {
        x->rc = imp_oom(x->c);
        return 0;
    }
    x->depth++;
    /* Pass 1 keeps one object per Results[i] (opened in WALK mode). */
    if (x->meta && is_map && m == F_WALK && x->depth == 3) {
        json_t *o = json_object();
        if (!o || json_array_append_new(x->results, o)) {
            x->rc = imp_oom(x->c);
            return 0;
        }
    }
    return 1;
}

static int cb_end(void *ctx)
{
    sctx *x = ctx;
    frame f = x->frames[--x->depth];
    free(f.key);
    if (f.mode != F_BUILD)
        return 1;
    return place(x, f.node) ? 0 : 1;
}

static int cb_start_map(void *ctx)
{
    return open_container(ctx, true);
}

static int cb_start_array(void *ctx)
{
    return open_container(ctx, false);
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
    sctx *x = ctx;
    frame *f = parent(x);
    free(f->key);
    f->key = NULL;
    if (f->mode == F_SKIP)
        return 1;
    if (len > STREAM_KEY_MAX) {
        x->rc = imp_fail(x->c, NULL, "has a key longer than %d bytes", STREAM_KEY_MAX);
        return 0;
    }
    if (!(f->key = strndup((const char *)k, len))) {
        x->rc = imp_oom(x->c);
        return 0;
    }
    return 1;
}

static const yajl_callbacks CALLBACKS = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string, cb_start_map, cb_map_key, cb_end,
    cb_start_array, cb_end,
};

static int list_index(const char *key)
{
    for (int i = 0; key && i < IMP_TRIVY_NLISTS; i++)
        if (strcmp(key, IMP_TRIVY_LISTS[i]) == 0)
            return i;
    return -1;
}

static bool is_results(const frame *f)
{
    return f->key && strcmp(f->key, "Results") == 0;
}

/* ---- pass 1: everything but the finding lists ----
 * depth 1: top-level values, all built except an array Results (walked);
 * depth 2: Results[i], objects walked (one object each in results);
 * depth 3: members of Results[i]: scalars built, finding lists skipped
 *          (a list that is not an array is built, so imp_trivy refuses it). */

static frame_mode decide_meta(sctx *x, size_t d, value_kind kind)
{
    const frame *p = &x->frames[d - 1];
    if (d == 1) {
        if (is_results(p) && kind == K_ARRAY) {
            x->saw_results = true;
            return F_WALK;
        }
        return F_BUILD;
    }
    if (d == 2)
        return kind == K_MAP ? F_WALK : F_BUILD;
    if (kind == K_SCALAR)
        return F_BUILD;
    return list_index(p->key) >= 0 && kind != K_ARRAY ? F_BUILD : F_SKIP;
}

static int done_meta(sctx *x, size_t d, json_t *v)
{
    const frame *p = &x->frames[d - 1];
    json_t *target = d == 1   ? x->meta
                     : d == 2 ? NULL
                              : json_array_get(x->results, json_array_size(x->results) - 1);
    int bad = target ? json_object_set_new(target, p->key ? p->key : "", v)
                     : json_array_append_new(x->results, v); /* refused later: not an object */
    return bad ? imp_oom(x->c) : IMGSEC_OK;
}

/* ---- pass 2: the finding lists, one element at a time ---- */

static frame_mode decide_items(sctx *x, size_t d, value_kind kind)
{
    const frame *p = &x->frames[d - 1];
    if (d == 1)
        return is_results(p) && kind == K_ARRAY ? F_WALK : F_SKIP;
    if (d == 2)
        return kind == K_MAP ? F_WALK : F_SKIP;
    if (d == 3) {
        int k = list_index(p->key);
        if (k < 0 || kind != K_ARRAY)
            return F_SKIP; /* pass 1 checked the shapes */
        x->list = (size_t)k;
        return F_WALK;
    }
    return F_BUILD; /* d == 4: one element of a finding list */
}

static int push_records(sctx *x, json_t *tmp)
{
    const char *key;
    json_t *arr;
    json_object_foreach(tmp, key, arr) {
        for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
            if (strcmp(record_kind_get((report_type)t)->doc_key, key) != 0)
                continue;
            size_t i;
            json_t *rec;
            json_array_foreach(arr, i, rec) {
                int rc = store_stream_record(x->ss, (report_type)t, rec, x->where, x->c->err);
                if (rc)
                    return rc;
            }
        }
    }
    return IMGSEC_OK;
}

static int done_items(sctx *x, size_t d, json_t *v)
{
    char at[IMP_AT_MAX];
    json_t *tmp = d == 4 ? json_object() : NULL;
    int rc = IMGSEC_OK;
    if (d == 4 && !tmp)
        rc = imp_oom(x->c);
    if (tmp) {
        size_t ri = x->frames[1].index - 1, ii = x->frames[3].index - 1;
        imp_at(at, sizeof at, "Results[%zu].%s[%zu]", ri, IMP_TRIVY_LISTS[x->list], ii);
        rc = imp_trivy_item(x->c, tmp, IMP_TRIVY_LISTS[x->list], v, at,
                            json_array_get(x->results, ri));
        if (!rc)
            rc = push_records(x, tmp);
    }
    json_decref(v);
    json_decref(tmp);
    return rc;
}

/* ---- driving yajl over a file ---- */

static int parse_file(sctx *x, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(x->c->err, IMGSEC_EINVAL, "%s: cannot read: %s", path, strerror(errno));
    yajl_handle h = yajl_alloc(&CALLBACKS, NULL, x);
    unsigned char *buf = malloc(STREAM_CHUNK);
    int rc = IMGSEC_OK;
    size_t total = 0;
    if (!h || !buf) {
        rc = imp_oom(x->c);
        goto done;
    }
    for (;;) {
        size_t n = fread(buf, 1, STREAM_CHUNK, f);
        yajl_status s = n ? yajl_parse(h, buf, n) : yajl_complete_parse(h);
        if (s != yajl_status_ok) {
            if (x->rc) {
                rc = x->rc;
            } else {
                unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
                char at[IMP_AT_MAX];
                size_t ml = msg ? strlen((char *)msg) : 0;
                while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
                    msg[--ml] = '\0'; /* yajl ends its message with a newline */
                position(x, at, sizeof at);
                size_t off = total + (n ? yajl_get_bytes_consumed(h) : 0);
                rc = err_set(x->c->err, IMGSEC_EPARSE,
                             "%s: not a trivy report: invalid JSON at byte %zu%s%s: %s", path, off,
                             *at ? " in " : "", at, msg ? (const char *)msg : "parse error");
                if (msg)
                    yajl_free_error(h, msg);
            }
            goto done;
        }
        if (!n)
            break;
        total += n;
    }
    if (ferror(f))
        rc = err_set(x->c->err, IMGSEC_EINVAL, "%s: read error", path);
done:
    while (x->depth) { /* whatever an error left open */
        frame *fr = &x->frames[--x->depth];
        free(fr->key);
        json_decref(fr->node);
    }
    if (h)
        yajl_free(h);
    free(buf);
    fclose(f);
    return rc;
}

int import_trivy_stream(store *st, const char *project_id, const char *ep, const char *path,
                        const import_options *opt, const store_grant *grant,
                        store_ingest_result *res, imgsec_err *err)
{
    imp_ctx c = {path, "trivy report", err};
    sctx *x = calloc(1, sizeof *x);
    json_t *doc = NULL;
    imgsec_doc image = {0};
    store_stream *ss = NULL;
    char where[IMP_AT_MAX + 64];
    int rc;

    if (!x)
        return imp_oom(&c);
    x->c = &c;
    x->decide = decide_meta;
    x->done = done_meta;
    x->meta = json_object();
    x->results = json_array();
    if (!x->meta || !x->results) {
        rc = imp_oom(&c);
        goto out;
    }
    if ((rc = parse_file(x, path)))
        goto out;
    if (x->saw_results && json_object_set(x->meta, "Results", x->results)) {
        rc = imp_oom(&c);
        goto out;
    }
    if (import_detect(x->meta) != IMPORT_TRIVY) {
        rc = imp_not_of_format(path, IMPORT_TRIVY, err);
        goto out;
    }
    if ((rc = imp_trivy(&c, x->meta, opt, &doc)))
        goto out;
    snprintf(where, sizeof where, "%s: converted trivy report: ", path);
    if ((rc = doc_from_json(doc, where, &image, err)) ||
        (rc = store_stream_begin(st, project_id, ep, &image, grant, &ss, err)))
        goto out;

    /* Pass 2: the findings, then the history risks pass 1 found. */
    x->decide = decide_items;
    x->done = done_items;
    x->ss = ss;
    x->where = where;
    json_t *meta = x->meta;
    x->meta = NULL; /* no per-Result objects in pass 2 */
    rc = parse_file(x, path);
    x->meta = meta;
    size_t i;
    json_t *rec; /* the converted document's own array, validated above */
    json_array_foreach(json_object_get(doc, record_kind_get(REPORT_BUILD_COMMAND_RISKS)->doc_key), i,
                       rec) {
        if (rc)
            break;
        rc = store_stream_record(ss, REPORT_BUILD_COMMAND_RISKS, rec, where, err);
    }
    if (rc) {
        store_stream_abort(ss);
        goto out;
    }
    rc = store_stream_commit(ss, res, err);
out:
    doc_free(&image);
    json_decref(doc);
    json_decref(x->meta);
    json_decref(x->results);
    free(x);
    return rc;
}
