/* doc_diff.c - the streamed ingest parser against the old one (doc_ref.c),
 * for test_doc_stream and the differential fuzz target (doc_diff.h). */
#include "doc_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_ref.h"

static char *WHY;
static size_t WHY_SIZE;

static bool differ(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool differ(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(WHY, WHY_SIZE, fmt, ap);
    va_end(ap);
    return false;
}


static bool summary_equal(const image_summary *a, const image_summary *b, const char *what)
{
#define STR_EQ(m, ...)                                                                            \
    if (strcmp(a->m, b->m) != 0)                                                                  \
        return differ("%s: " #m " \"%s\" != \"%s\"", what, a->m, b->m);
#define NUM_EQ(m, ...)                                                                            \
    if (a->m != b->m)                                                                             \
        return differ("%s: " #m " %lld != %lld", what, (long long)a->m, (long long)b->m);
    MODEL_IMAGE_STRINGS(STR_EQ)
    MODEL_IMAGE_NUMBERS(NUM_EQ)
#undef STR_EQ
#undef NUM_EQ
    if (a->type != b->type || a->status != b->status || a->severity_level != b->severity_level)
        return differ("%s: type/status/severity_level differ", what);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (a->counts[t] != b->counts[t])
            return differ("%s: counts[%d] %lld != %lld", what, t, (long long)a->counts[t],
                     (long long)b->counts[t]);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        if (a->vul_counts[v] != b->vul_counts[v])
            return differ("%s: vul_counts[%d] differ", what, v);
    if (a->n_vuls != b->n_vuls || a->n_builds != b->n_builds)
        return differ("%s: %zu/%zu vul aggregates, %zu/%zu build aggregates", what, a->n_vuls,
                 b->n_vuls, a->n_builds, b->n_builds);
    for (size_t i = 0; i < a->n_vuls; i++) {
        const vul_agg *x = &a->vuls[i], *y = &b->vuls[i];
        if (strcmp(x->vul_id, y->vul_id) || x->type != y->type || x->n != y->n ||
            x->rank != y->rank || x->has_cvss != y->has_cvss || x->cvss != y->cvss ||
            x->rep_seq != y->rep_seq || x->has_rep_cvss != y->has_rep_cvss ||
            x->rep_cvss != y->rep_cvss)
            return differ("%s: vul aggregate %zu (%s) differs", what, i, x->vul_id);
    }
    for (size_t i = 0; i < a->n_builds; i++) {
        const build_agg *x = &a->builds[i], *y = &b->builds[i];
        if (strcmp(x->rule_id, y->rule_id) || strcmp(x->risk_name, y->risk_name) ||
            x->level != y->level || x->n != y->n)
            return differ("%s: build aggregate %zu differs", what, i);
    }
    return true;
}

/* A field as the old store bound it from JSON (store_bind.c before), and
 * as the new one binds it. */
static bool field_equal(const json_t *v, const record_field *f, const doc_val *d, const char *what)
{
    if (!v || json_is_null(v)) {
        if (d->kind != DOC_V_NULL)
            return differ("%s.%s: null != kind %d", what, f->name, d->kind);
        return true;
    }
    switch (f->kind) {
    case FIELD_STRING:
    case FIELD_SEVERITY:
    case FIELD_ENUM:
    case FIELD_OCTAL:
        if (d->kind != DOC_V_TEXT || d->len != json_string_length(v) ||
            memcmp(d->u.s, json_string_value(v), d->len) != 0 || d->u.s[d->len] != '\0')
            return differ("%s.%s: \"%s\" != \"%.*s\"", what, f->name, json_string_value(v),
                     (int)d->len, d->kind == DOC_V_TEXT ? d->u.s : "");
        return true;
    case FIELD_INT64:
        if (d->kind != DOC_V_INT || d->u.i != json_integer_value(v))
            return differ("%s.%s: integer differs", what, f->name);
        return true;
    case FIELD_NUMBER:
        if (d->kind != DOC_V_REAL || d->u.d != json_number_value(v))
            return differ("%s.%s: number %.17g != %.17g", what, f->name, json_number_value(v), d->u.d);
        return true;
    }
    return differ("%s.%s: unknown field kind", what, f->name);
}

static bool doc_equal(const ref_imgsec_doc *r, const imgsec_doc *d, const char *what)
{
    if (!summary_equal(&r->summary, &d->summary, what))
        return false;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        if (json_array_size(r->records[t]) != d->records[t].n)
            return differ("%s: %s: %zu != %zu records", what, k->doc_key,
                     json_array_size(r->records[t]), d->records[t].n);
        for (size_t j = 0; j < d->records[t].n; j++) {
            const json_t *rec = json_array_get(r->records[t], j);
            const doc_val *vals = DOC_RECORD(&d->records[t], (report_type)t, j);
            char at[600];
            snprintf(at, sizeof at, "%s: %s[%zu]", what, k->doc_key, j);
            for (size_t f = 0; f < k->nfields; f++)
                if (!field_equal(json_object_get(rec, k->fields[f].name), &k->fields[f], &vals[f], at))
                    return false;
        }
    }
    return true;
}

/* The part of a JSON syntax error both parsers give alike. */
static size_t syntax_prefix(const char *msg, bool ndjson)
{
    if (!ndjson)
        return strlen("invalid JSON body:");
    const char *c = strchr(msg, ':');
    c = c ? strchr(c + 1, ':') : NULL; /* "invalid NDJSON body: line N:" */
    return c ? (size_t)(c - msg) + 1 : strlen(msg);
}

static bool errors_equal(int rc_ref, const imgsec_err *ref, int rc, const imgsec_err *err,
                         bool ndjson, const char *what)
{
    if (rc_ref != rc)
        return differ("%s: old %s \"%s\", new %s \"%s\"", what, err_code_name(rc_ref), ref->msg,
                 err_code_name(rc), err->msg);
    bool syntax = rc == IMGSEC_EPARSE && !strstr(ref->msg, "is not a JSON object");
    size_t n = syntax ? syntax_prefix(ref->msg, ndjson) : strlen(ref->msg) + 1;
    if (strncmp(ref->msg, err->msg, n) != 0)
        return differ("%s: old \"%s\", new \"%s\"", what, ref->msg, err->msg);
    return true;
}

/* doc_list_parse's collector, by hand: documents are moved into l. */
static int test_take(void *arg, imgsec_doc *doc, size_t index, imgsec_err *err)
{
    doc_list *l = arg;
    imgsec_doc *items = index == l->n ? realloc(l->items, (l->n + 1) * sizeof *items) : NULL;
    if (!items) {
        doc_free(doc);
        return err_set(err, IMGSEC_EINTERNAL, index == l->n ? "out of memory" : "index out of order");
    }
    l->items = items;
    l->items[l->n++] = *doc;
    memset(doc, 0, sizeof *doc);
    return IMGSEC_OK;
}

/* The streamed parser fed in pieces of `piece` bytes (0: whole). */
static int parse_pieces(const char *buf, size_t len, bool ndjson, size_t piece, doc_list *l,
                        imgsec_err *err)
{
    if (piece == 0)
        return doc_list_parse(buf, len, ndjson, l, err);
    *l = (doc_list){0};
    doc_stream *ds = doc_stream_new(ndjson, test_take, l);
    if (!ds)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    int rc = IMGSEC_OK;
    for (size_t off = 0; off < len && rc == IMGSEC_OK; off += piece)
        rc = doc_stream_feed(ds, buf + off, len - off < piece ? len - off : piece, err);
    if (rc == IMGSEC_OK)
        rc = doc_stream_end(ds, err);
    if (doc_stream_count(ds) != l->n)
        rc = err_set(err, IMGSEC_EINTERNAL, "doc_stream_count %zu != %zu", doc_stream_count(ds), l->n);
    doc_stream_free(ds);
    if (rc)
        doc_list_free(l);
    return rc;
}


bool doc_diff(const char *buf, size_t len, bool ndjson, size_t piece, char *why, size_t size)
{
    ref_doc_list ref;
    doc_list l;
    imgsec_err e_ref = {0}, e = {0};
    bool same;
    WHY = why;
    WHY_SIZE = size;
    why[0] = '\0';
    int rc_ref = ref_doc_list_parse(buf, len, ndjson, &ref, &e_ref);
    int rc = parse_pieces(buf, len, ndjson, piece, &l, &e);
    const char *what = ndjson ? "NDJSON" : "JSON";
    if (rc_ref != IMGSEC_EPARSE && rc == IMGSEC_EPARSE && memchr(buf, '\0', len)) {
        /* The one known difference: jansson drops a NUL byte that follows
         * a number or a literal ("[1\0]" is [1]); yajl refuses it. */
        same = true;
    } else if (rc_ref != IMGSEC_OK || rc != IMGSEC_OK) {
        same = errors_equal(rc_ref, &e_ref, rc, &e, ndjson, what);
    } else if (ref.n != l.n) {
        same = differ("%s: %zu != %zu documents", what, ref.n, l.n);
    } else {
        same = true;
        for (size_t i = 0; i < l.n && same; i++)
            same = doc_equal(&ref.items[i], &l.items[i], what);
    }
    if (rc == IMGSEC_OK)
        doc_list_free(&l);
    if (rc_ref == IMGSEC_OK)
        ref_doc_list_free(&ref);
    return same;
}
