/* doc_ref.c - the ingest document parser as it was before the streamed
 * parser (src/lib/doc.c at b9b2a92: jansson tree, then the rules walked
 * over it), symbols prefixed ref_. Compiled only into the differential
 * test (test_doc_stream) and the differential fuzz target (fuzz_doc_diff),
 * which check that the streamed parser gives the same documents and the
 * same errors. Not used by imgsec itself; delete it with those two once
 * the old parser is no longer worth comparing against.
 *
 * The original header comment follows. */
/* doc.c - ingest documents: validate, normalise, summarise (imgsec/doc.h).
 *
 * Why it is shaped this way: the rules of data-model.md are data (the
 * record tables of model.c plus the image tables below), so validation is
 * one walk over tables instead of eight hand-written record parsers, and a
 * new record field is one table line. The walk works on an already parsed
 * json_t in three steps:
 *   1. the image object, field by field against IMAGE_STRINGS/IMAGE_INTS;
 *   2. every record of every kind against its record_field table, with
 *      severities rewritten lower-case in place (the stored form), so the
 *      store and the exporters never see another spelling;
 *   3. the summary the query index needs (counts, derived severity level,
 *      vul/build aggregates), computed once here so neither the store nor
 *      the index derives it again.
 * A bulk body may hold 10^5 documents of up to 10^6 records each, so the
 * happy path never formats anything: a field's path ("documents[4].
 * vulnerabilities[3].vul_type") is only built when a check fails. The first
 * failing rule ends the call; a document is accepted whole or not at all.
 *
 * Decisions where the spec is silent:
 * - Image lengths ("chars") count UTF-8 code points (jansson guarantees
 *   valid UTF-8); record strings count bytes, as data-model.md says.
 * - An absent or null scan_status means "unscan": nobody scanned the image.
 * - A required record string must not be empty: "" carries no more
 *   information than a missing key (vul_id "" would be an aggregate key
 *   that no filter can name).
 * - Strings holding a NUL character are refused. The JSON parser already
 *   refuses \u0000; this catches documents built in code, which would
 *   otherwise be silently truncated by the store.
 * - The image "id" and derived keys (has_vul, severity_level, ...) are
 *   ignored: the server assigns or computes them. Unknown keys are ignored.
 * - Bodies: an empty JSON body is not JSON (EPARSE); an NDJSON body without
 *   a non-blank line, or an empty JSON array, holds "no documents" (EINVAL).
 */
#include "doc_ref.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

/* ---- error paths, built only on failure ---- */

#define NO_INDEX ((size_t)-1)

/* where + key + "[index]" + "." + field; any part may be absent. */
typedef struct {
    const char *where; /* "" or "documents[4]." */
    const char *key;   /* "image" or a record kind's doc_key; NULL: the document */
    size_t index;      /* record index or NO_INDEX */
    const char *field; /* NULL: the object or array itself */
} field_path;

static void path_format(const field_path *p, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s%s", p->where, p->key ? p->key : "");
    if (n >= 0 && (size_t)n < size && p->index != NO_INDEX)
        n += snprintf(buf + n, size - (size_t)n, "[%zu]", p->index);
    if (n >= 0 && (size_t)n < size && p->field)
        snprintf(buf + n, size - (size_t)n, ".%s", p->field);
    /* The document itself: "documents[4]." names it as "documents[4]". */
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '.')
        buf[len - 1] = '\0';
    if (!buf[0])
        snprintf(buf, size, "document");
}

static int invalid(imgsec_err *err, const field_path *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int invalid(imgsec_err *err, const field_path *p, const char *fmt, ...)
{
    char path[160], what[IMGSEC_ERR_MSG_MAX];
    va_list ap;
    path_format(p, path, sizeof path);
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s %s", path, what);
}

static int out_of_memory(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

/* ---- value checks ---- */

/* A JSON string without NUL characters; its byte length in *len. */
static bool plain_string(const json_t *v, size_t *len)
{
    if (!json_is_string(v))
        return false;
    *len = json_string_length(v);
    return strlen(json_string_value(v)) == *len;
}

static bool is_int64_nonneg(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* ---- step 1: the image ---- */

typedef struct {
    const char *key;
    size_t min, max; /* characters */
    size_t off;      /* const char * inside ref_imgsec_doc */
} image_string;

#define IMAGE_STRING(m, key, dmin, dmax, ...) {key, dmin, dmax, offsetof(ref_imgsec_doc, summary.m)},
static const image_string IMAGE_STRINGS[] = {MODEL_IMAGE_STRINGS(IMAGE_STRING)};
#undef IMAGE_STRING

static const struct {
    const char *key;
    size_t off; /* int64_t inside ref_imgsec_doc */
} IMAGE_INTS[] = {
#define IMAGE_INT(m, key, ...) {key, offsetof(ref_imgsec_doc, summary.m)},
    MODEL_IMAGE_NUMBERS(IMAGE_INT)
#undef IMAGE_INT
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* An enum key of the image: absent or null gives dflt (-1: required). */
static int image_enum(const json_t *image, field_path *p, int (*parse)(const char *),
                      const char *(*choices)(void), int dflt, int *out, imgsec_err *err)
{
    const json_t *v = json_object_get(image, p->field);
    if (!v || json_is_null(v)) {
        if (dflt < 0)
            return invalid(err, p, "is required");
        *out = dflt;
        return IMGSEC_OK;
    }
    *out = json_is_string(v) ? parse(json_string_value(v)) : -1;
    if (*out < 0)
        return invalid(err, p, "must be one of %s", choices());
    return IMGSEC_OK;
}

static int parse_image(json_t *root, const char *where, ref_imgsec_doc *doc, imgsec_err *err)
{
    field_path p = {where, "image", NO_INDEX, NULL};
    const json_t *image = json_object_get(root, "image");
    if (!image || json_is_null(image))
        return invalid(err, &p, "is required");
    if (!json_is_object(image))
        return invalid(err, &p, "must be an object");

    int type = -1, status = -1, rc;
    p.field = "image_type";
    if ((rc = image_enum(image, &p, image_type_parse, image_type_choices, -1, &type, err)))
        return rc;
    p.field = "scan_status";
    if ((rc = image_enum(image, &p, scan_status_parse, scan_status_choices, SCAN_STATUS_UNSCAN,
                         &status, err)))
        return rc;
    doc->summary.type = (image_type)type;
    doc->summary.status = (scan_status)status;

    for (size_t i = 0; i < COUNT_OF(IMAGE_STRINGS); i++) {
        const image_string *f = &IMAGE_STRINGS[i];
        const char **out = (const char **)((char *)doc + f->off);
        const json_t *v = json_object_get(image, f->key);
        size_t len, chars;
        p.field = f->key;
        *out = ""; /* absent strings read as "", never NULL */
        if (!v || json_is_null(v)) {
            if (f->min > 0)
                return invalid(err, &p, "is required");
            continue;
        }
        if (!plain_string(v, &len) || (chars = util_utf8_chars(json_string_value(v), len)) < f->min ||
            chars > f->max)
            return invalid(err, &p, "must be a string of %zu-%zu characters", f->min, f->max);
        *out = json_string_value(v);
    }

    for (size_t i = 0; i < COUNT_OF(IMAGE_INTS); i++) {
        const json_t *v = json_object_get(image, IMAGE_INTS[i].key);
        int64_t *out = (int64_t *)((char *)doc + IMAGE_INTS[i].off);
        p.field = IMAGE_INTS[i].key;
        *out = 0;
        if (!v || json_is_null(v))
            continue;
        if (!is_int64_nonneg(v))
            return invalid(err, &p, "must be an integer >= 0");
        *out = (int64_t)json_integer_value(v);
    }
    return IMGSEC_OK;
}

/* ---- step 2: the records ---- */

/* What validation learns on the way that the summary needs. */
typedef struct {
    bool have_max;
    severity max; /* highest record severity seen */
} doc_scan;

static bool octal_mode(const char *s, size_t len)
{
    if (len < 1 || len > 7)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '7')
            return false;
    return true;
}

static int check_field(json_t *rec, const record_field *f, field_path *p, doc_scan *scan,
                       imgsec_err *err)
{
    json_t *v = json_object_get(rec, f->name);
    char choices[128];
    size_t len;
    int idx;

    if (!v || json_is_null(v))
        return f->required ? invalid(err, p, "is required") : IMGSEC_OK;

    switch (f->kind) {
    case FIELD_STRING:
        if (!plain_string(v, &len) || len > MODEL_RECORD_STRING_MAX)
            return invalid(err, p, "must be a string of at most %d bytes", MODEL_RECORD_STRING_MAX);
        if (f->required && len == 0)
            return invalid(err, p, "must not be empty");
        return IMGSEC_OK;
    case FIELD_INT64:
        return is_int64_nonneg(v) ? IMGSEC_OK : invalid(err, p, "must be an integer >= 0");
    case FIELD_NUMBER:
        return json_is_number(v) ? IMGSEC_OK : invalid(err, p, "must be a number");
    case FIELD_SEVERITY:
        idx = plain_string(v, &len) ? severity_parse(json_string_value(v)) : -1;
        if (idx < 0)
            return invalid(err, p, "must be one of %s",
                           severity_choices(SEVERITY_UNKNOWN, choices, sizeof choices));
        if (!scan->have_max || (severity)idx > scan->max) {
            scan->have_max = true;
            scan->max = (severity)idx;
        }
        /* Store the canonical lower-case spelling (data-model.md). */
        if (strcmp(json_string_value(v), severity_name((severity)idx)) != 0 &&
            json_object_set_new(rec, f->name, json_string(severity_name((severity)idx))) != 0)
            return out_of_memory(err);
        return IMGSEC_OK;
    case FIELD_ENUM:
        if (plain_string(v, &len))
            for (size_t i = 0; f->enum_values[i]; i++)
                if (strcmp(f->enum_values[i], json_string_value(v)) == 0)
                    return IMGSEC_OK;
        return invalid(err, p, "must be one of %s",
                       model_join_names(f->enum_values, choices, sizeof choices));
    case FIELD_OCTAL:
        if (!plain_string(v, &len) || !octal_mode(json_string_value(v), len))
            return invalid(err, p, "must be a string of 1-7 octal digits");
        return IMGSEC_OK;
    }
    return err_set(err, IMGSEC_EINTERNAL, "unknown field kind");
}

/* One record of kind k; p names it (where, doc_key, index). */
static int check_record(json_t *rec, const record_kind *k, field_path *p, doc_scan *scan,
                        imgsec_err *err)
{
    p->field = NULL;
    if (!json_is_object(rec))
        return invalid(err, p, "must be an object");
    for (size_t j = 0; j < k->nfields; j++) {
        p->field = k->fields[j].name;
        int rc = check_field(rec, &k->fields[j], p, scan, err);
        if (rc)
            return rc;
    }
    return IMGSEC_OK;
}

static int parse_records(json_t *root, const char *where, report_type t, ref_imgsec_doc *doc,
                         doc_scan *scan, imgsec_err *err)
{
    const record_kind *k = record_kind_get(t);
    field_path p = {where, k->doc_key, NO_INDEX, NULL};
    json_t *arr = json_object_get(root, k->doc_key);

    if (!arr || json_is_null(arr)) {
        /* Absent is empty; the array lives in root so records[t] is never NULL. */
        arr = json_array();
        if (!arr || json_object_set_new(root, k->doc_key, arr) != 0)
            return out_of_memory(err);
    } else if (!json_is_array(arr)) {
        return invalid(err, &p, "must be an array of objects");
    } else if (json_array_size(arr) > DOC_RECORDS_MAX) {
        return invalid(err, &p, "must hold at most %d records", DOC_RECORDS_MAX);
    }
    doc->records[t] = arr;

    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec) {
        p.index = i;
        int rc = check_record(rec, k, &p, scan, err);
        if (rc)
            return rc;
    }
    doc->summary.counts[t] = (int64_t)json_array_size(arr);
    return IMGSEC_OK;
}

/* One record on its own, for callers that stream records instead of
 * building a whole document (store_stream.h): the same walk as above. */
int ref_doc_record_check(json_t *rec, report_type t, const char *where, size_t index,
                     bool *have_max, severity *max, imgsec_err *err)
{
    if ((unsigned)t >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINTERNAL, "unknown report type");
    const record_kind *k = record_kind_get(t);
    field_path p = {where ? where : "", k->doc_key, index, NULL};
    doc_scan scan = {*have_max, *max};
    int rc = check_record(rec, k, &p, &scan, err);
    if (rc)
        return rc;
    *have_max = scan.have_max;
    *max = scan.max;
    return IMGSEC_OK;
}

/* ---- step 3: aggregates for the query index ---- */

static const char *rec_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

int ref_doc_vul_cmp(const void *a, const void *b)
{
    const vul_agg *x = a, *y = b;
    int c = strcmp(x->vul_id, y->vul_id);
    return c ? c : (int)x->type - (int)y->type;
}

static int build_cmp(const void *a, const void *b)
{
    const build_agg *x = a, *y = b;
    int c = strcmp(x->rule_id, y->rule_id);
    if (!c)
        c = strcmp(x->risk_name, y->risk_name);
    return c ? c : (int)x->level - (int)y->level;
}

int ref_doc_vul_rank(const char *s)
{
    /* the severity enum's order is the rank (model.h); exact names, as SQL's CASE */
    for (int i = SEVERITY_LOW; s && i < SEVERITY_COUNT; i++)
        if (strcmp(s, severity_name((severity)i)) == 0)
            return i;
    return 0;
}

int ref_doc_rep_cmp(int rank_a, bool has_a, double cvss_a, int rank_b, bool has_b, double cvss_b)
{
    if (rank_a != rank_b)
        return rank_a > rank_b ? 1 : -1;
    if (has_a != has_b)
        return has_a ? 1 : -1;
    if (!has_a || cvss_a == cvss_b)
        return 0;
    return cvss_a > cvss_b ? 1 : -1;
}

/* Merges the neighbours of a sorted aggregate array that compare equal
 * by adding their n and taking their maxima and representative (of two
 * that tie, the lower seq: qsort is not stable); returns the number of
 * distinct entries. */
static size_t merge_vuls(vul_agg *a, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        vul_agg *o = out ? &a[out - 1] : NULL;
        if (!o || ref_doc_vul_cmp(o, &a[i]) != 0) {
            a[out++] = a[i];
            continue;
        }
        o->n += a[i].n;
        int c = ref_doc_rep_cmp(a[i].rank, a[i].has_rep_cvss, a[i].rep_cvss, o->rank, o->has_rep_cvss,
                            o->rep_cvss);
        if (c > 0 || (c == 0 && a[i].rep_seq < o->rep_seq)) {
            o->rep_seq = a[i].rep_seq;
            o->has_rep_cvss = a[i].has_rep_cvss;
            o->rep_cvss = a[i].rep_cvss;
        }
        if (a[i].rank > o->rank)
            o->rank = a[i].rank;
        if (a[i].has_cvss && (!o->has_cvss || a[i].cvss > o->cvss)) {
            o->has_cvss = true;
            o->cvss = a[i].cvss;
        }
    }
    return out;
}

static size_t merge_builds(build_agg *a, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && build_cmp(&a[out - 1], &a[i]) == 0)
            a[out - 1].n += a[i].n;
        else
            a[out++] = a[i];
    }
    return out;
}

int ref_doc_vul_summary(const json_t *vuls, vul_agg **aggs, size_t *n_aggs,
                    int64_t vul_counts[VUL_TYPE_COUNT], imgsec_err *err)
{
    const json_t *rec;
    size_t i, n = json_array_size(vuls);
    *aggs = NULL;
    *n_aggs = 0;
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        vul_counts[v] = 0;
    if (!n)
        return IMGSEC_OK;
    if (!(*aggs = malloc(n * sizeof **aggs)))
        return out_of_memory(err);
    json_array_foreach(vuls, i, rec) {
        vul_type t = (vul_type)vul_type_parse(rec_str(rec, "vul_type"));
        vul_counts[t]++;
        const json_t *cv = json_object_get(rec, "cvss_score");
        bool has = json_is_number(cv);
        double v = has ? json_number_value(cv) : 0;
        (*aggs)[i] = (vul_agg){rec_str(rec, "vul_id"), t, 1, ref_doc_vul_rank(rec_str(rec, "severity")),
                               has, v, (int64_t)i, has, v};
    }
    qsort(*aggs, n, sizeof **aggs, ref_doc_vul_cmp);
    *n_aggs = merge_vuls(*aggs, n);
    return IMGSEC_OK;
}

static int summarise(ref_imgsec_doc *doc, const doc_scan *scan, imgsec_err *err)
{
    image_summary *s = &doc->summary;
    json_t *rec;
    size_t i, n;

    int rc = ref_doc_vul_summary(doc->records[REPORT_VULNERABILITY], &doc->vuls, &n, s->vul_counts, err);
    if (rc)
        return rc;
    s->vuls = doc->vuls;
    s->n_vuls = n;

    n = json_array_size(doc->records[REPORT_BUILD_COMMAND_RISKS]);
    if (n) {
        if (!(doc->builds = malloc(n * sizeof *doc->builds)))
            return out_of_memory(err);
        json_array_foreach(doc->records[REPORT_BUILD_COMMAND_RISKS], i, rec) {
            doc->builds[i] = (build_agg){rec_str(rec, "rule_id"), rec_str(rec, "risk_name"),
                                         (severity)severity_parse(rec_str(rec, "risk_level")), 1};
        }
        qsort(doc->builds, n, sizeof *doc->builds, build_cmp);
        n = merge_builds(doc->builds, n);
    }
    s->builds = doc->builds;
    s->n_builds = n;

    s->severity_level = model_image_severity_level(s->status, scan->have_max, scan->max,
                                                   s->counts[REPORT_MALWARES]);
    return IMGSEC_OK;
}

/* ---- one document ---- */

int ref_doc_from_json(json_t *root, const char *where, ref_imgsec_doc *doc, imgsec_err *err)
{
    doc_scan scan = {false, SEVERITY_UNKNOWN};
    int rc;

    memset(doc, 0, sizeof *doc);
    doc->summary.severity_level = SEVERITY_LEVEL_NONE;
    if (!where)
        where = "";
    if (!json_is_object(root)) {
        field_path p = {where, NULL, NO_INDEX, NULL};
        return invalid(err, &p, "must be a JSON object");
    }
    if ((rc = parse_image(root, where, doc, err)))
        goto fail;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if ((rc = parse_records(root, where, (report_type)t, doc, &scan, err)))
            goto fail;
    if ((rc = summarise(doc, &scan, err)))
        goto fail;
    doc->root = json_incref(root);
    return IMGSEC_OK;

fail:
    free(doc->vuls);
    free(doc->builds);
    memset(doc, 0, sizeof *doc);
    return rc;
}

void ref_doc_free(ref_imgsec_doc *doc)
{
    if (!doc)
        return;
    json_decref(doc->root);
    free(doc->vuls);
    free(doc->builds);
    memset(doc, 0, sizeof *doc);
}

/* ---- bodies: one object, an array of objects, or NDJSON ---- */

void ref_doc_list_free(ref_doc_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        ref_doc_free(&list->items[i]);
    free(list->items);
    *list = (ref_doc_list){0};
}

static int too_many_documents(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: a body holds at most %d documents",
                   DOC_BULK_MAX);
}

static int no_documents(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: the body holds no documents");
}

/* Validates root as document number list->n and appends it (own reference). */
static int list_push(ref_doc_list *list, json_t *root, bool indexed, imgsec_err *err)
{
    char where[48];
    if (list->n >= DOC_BULK_MAX)
        return too_many_documents(err);
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 4;
        if (cap > DOC_BULK_MAX)
            cap = DOC_BULK_MAX;
        ref_imgsec_doc *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return out_of_memory(err);
        list->items = items;
        list->cap = cap;
    }
    snprintf(where, sizeof where, "documents[%zu].", list->n);
    int rc = ref_doc_from_json(root, indexed ? where : NULL, &list->items[list->n], err);
    if (rc)
        return rc;
    list->n++;
    return IMGSEC_OK;
}

/* The documents of an already parsed JSON body: one object, or an
 * array of objects. root stays the caller's. */
static int list_from_root(json_t *root, ref_doc_list *list, imgsec_err *err)
{
    if (json_is_object(root))
        return list_push(list, root, false, err);
    if (!json_is_array(root)) /* jansson's parser refuses other top levels; a caller's json_t may not */
        return err_set(err, IMGSEC_EPARSE, "invalid JSON body: not a JSON object or array");
    if (json_array_size(root) > DOC_BULK_MAX)
        return too_many_documents(err);
    if (json_array_size(root) == 0)
        return no_documents(err);
    size_t i;
    json_t *item;
    json_array_foreach(root, i, item) {
        if (!json_is_object(item))
            return err_set(err, IMGSEC_EPARSE,
                           "invalid JSON body: documents[%zu] is not a JSON object", i);
        int rc = list_push(list, item, true, err);
        if (rc)
            return rc;
    }
    return IMGSEC_OK;
}

static int parse_json_body(const char *buf, size_t len, ref_doc_list *list, imgsec_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    if (!root)
        return err_set(err, IMGSEC_EPARSE, "invalid JSON body: line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
    int rc = list_from_root(root, list, err);
    json_decref(root);
    return rc;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int parse_ndjson_body(const char *buf, size_t len, ref_doc_list *list, imgsec_err *err)
{
    const char *p = buf, *end = buf + len;
    size_t line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        line++;
        /* The CR of a CRLF line end is JSON whitespace: no special case. */
        if (!blank(p, n)) {
            json_error_t jerr;
            json_t *root;
            int rc;
            if (!(root = json_loadb(p, n, 0, &jerr)))
                return err_set(err, IMGSEC_EPARSE, "invalid NDJSON body: line %zu: %s (column %d)",
                               line, jerr.text, jerr.column);
            if (!json_is_object(root)) {
                json_decref(root);
                return err_set(err, IMGSEC_EPARSE,
                               "invalid NDJSON body: line %zu: not a JSON object", line);
            }
            rc = list_push(list, root, true, err);
            json_decref(root);
            if (rc)
                return rc;
        }
        p = nl ? nl + 1 : end;
    }
    return list->n ? IMGSEC_OK : no_documents(err);
}

int ref_doc_list_parse(const char *buf, size_t len, bool ndjson, ref_doc_list *list, imgsec_err *err)
{
    *list = (ref_doc_list){0};
    if (!buf) { /* json_loadb refuses NULL; NULL + 0 is not valid C */
        buf = "";
        len = 0;
    }
    int rc = ndjson ? parse_ndjson_body(buf, len, list, err) : parse_json_body(buf, len, list, err);
    if (rc)
        ref_doc_list_free(list);
    return rc;
}

int ref_doc_list_from_json(json_t *root, ref_doc_list *list, imgsec_err *err)
{
    *list = (ref_doc_list){0};
    int rc = list_from_root(root, list, err);
    if (rc)
        ref_doc_list_free(list);
    return rc;
}
