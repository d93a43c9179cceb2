/* doc.c - ingest documents: validate, normalise, summarise (imgsec/doc.h).
 *
 * Why it is shaped this way: the rules of data-model.md are data (the
 * record tables of model.c plus the image tables below), so validation is
 * one walk over tables instead of eight hand-written record parsers, and a
 * new record field is one table line. The rules run on values, not on a
 * JSON tree: a front end (doc_from_json for a jansson tree an importer
 * built; doc_stream.c for bytes, through yajl's callbacks) hands the
 * builder of doc_int.h each value of a known key, and the builder
 *   1. checks the image object field by field against IMAGE_STRINGS/IMAGE_INTS;
 *   2. checks every record of every kind against its record_field table
 *      when the record ends, with severities rewritten to their canonical
 *      lower-case spelling, and keeps it as a row of doc_val (the form the
 *      store binds), its strings in one arena per document;
 *   3. computes the summary the query index needs (counts, derived
 *      severity level, vul/build aggregates) once, so neither the store nor
 *      the index derives it again.
 * A bulk body may hold 10^5 documents of up to 10^6 records each, so the
 * happy path never formats anything: a field's path ("documents[4].
 * vulnerabilities[3].vul_type") is only built when a check fails. Errors
 * are resolved in the rules' order (image, then the kinds in order, each
 * kind at its first bad record), whatever order the keys came in; a
 * document is accepted whole or not at all.
 *
 * Decisions where the spec is silent:
 * - Image lengths ("chars") count UTF-8 code points (both parsers refuse
 *   invalid UTF-8); record strings count bytes, as data-model.md says.
 * - An absent or null scan_status means "unscan": nobody scanned the image.
 * - A required record string must not be empty: "" carries no more
 *   information than a missing key (vul_id "" would be an aggregate key
 *   that no filter can name).
 * - Strings holding a NUL character are refused. The JSON parsers already
 *   refuse \u0000; this catches documents built in code, which would
 *   otherwise be silently truncated by the store.
 * - The image "id" and derived keys (has_vul, severity_level, ...) are
 *   ignored: the server assigns or computes them. Unknown keys are ignored.
 * - A key given twice: the last value counts (as in a jansson object).
 * - Bodies: an empty JSON body is not JSON (EPARSE); an NDJSON body without
 *   a non-blank line, or an empty JSON array, holds "no documents" (EINVAL).
 */
#include "imgsec/doc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"
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

/* ---- the document's strings: one arena ---- */

struct doc_arena {
    struct doc_arena *next;
    size_t used, cap;
    char data[];
};

#define ARENA_BLOCK 65536

static char *arena_alloc(doc_arena **a, size_t n)
{
    doc_arena *b = *a;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        b->next = *a;
        b->used = 0;
        b->cap = cap;
        *a = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(doc_arena *a)
{
    while (a) {
        doc_arena *next = a->next;
        free(a);
        a = next;
    }
}

const char *doc_build_str(doc_build *b, const char *s, size_t len)
{
    char *p = arena_alloc(&b->doc.arena, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* ---- the keys ---- */

typedef struct {
    const char *key;
    size_t min, max; /* characters */
    size_t off;      /* const char * inside imgsec_doc */
} image_string;

#define IMAGE_STRING(m, key, dmin, dmax, ...) {key, dmin, dmax, offsetof(imgsec_doc, summary.m)},
static const image_string IMAGE_STRINGS[] = {MODEL_IMAGE_STRINGS(IMAGE_STRING)};
#undef IMAGE_STRING

static const struct {
    const char *key;
    size_t off; /* int64_t inside imgsec_doc */
} IMAGE_INTS[] = {
#define IMAGE_INT(m, key, ...) {key, offsetof(imgsec_doc, summary.m)},
    MODEL_IMAGE_NUMBERS(IMAGE_INT)
#undef IMAGE_INT
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The image's values: image_type, scan_status, IMAGE_STRINGS, IMAGE_INTS. */
enum { IK_TYPE, IK_STATUS, IK_STRINGS };
#define IK_INTS (IK_STRINGS + (int)COUNT_OF(IMAGE_STRINGS))
#define IK_COUNT (IK_INTS + (int)COUNT_OF(IMAGE_INTS))

static bool key_is(const char *want, const char *key, size_t len)
{
    return strncmp(want, key, len) == 0 && want[len] == '\0';
}

int doc_image_key(const char *key, size_t len)
{
    if (key_is("image_type", key, len))
        return IK_TYPE;
    if (key_is("scan_status", key, len))
        return IK_STATUS;
    for (size_t i = 0; i < COUNT_OF(IMAGE_STRINGS); i++)
        if (key_is(IMAGE_STRINGS[i].key, key, len))
            return IK_STRINGS + (int)i;
    for (size_t i = 0; i < COUNT_OF(IMAGE_INTS); i++)
        if (key_is(IMAGE_INTS[i].key, key, len))
            return IK_INTS + (int)i;
    return -1;
}

int doc_field_key(report_type t, const char *key, size_t len)
{
    const record_kind *k = record_kind_get(t);
    for (size_t i = 0; i < k->nfields; i++)
        if (key_is(k->fields[i].name, key, len))
            return (int)i;
    return -1;
}

int doc_kind_key(const char *key, size_t len)
{
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (key_is(record_kind_get((report_type)t)->doc_key, key, len))
            return t;
    return -1;
}

/* ---- value checks ---- */

static bool is_int64_nonneg(const doc_val *v)
{
    return v->kind == DOC_V_INT && v->u.i >= 0;
}

static bool is_text(const doc_val *v)
{
    return v->kind == DOC_V_TEXT || v->kind == DOC_V_TEXTNUL;
}

/* ---- step 1: the image ---- */

/* An enum key of the image: absent or null gives dflt (-1: required). */
static int image_enum(const doc_val *v, field_path *p, int (*parse)(const char *),
                      const char *(*choices)(void), int dflt, int *out, imgsec_err *err)
{
    if (v->kind == DOC_V_NULL) {
        if (dflt < 0)
            return invalid(err, p, "is required");
        *out = dflt;
        return IMGSEC_OK;
    }
    *out = is_text(v) ? parse(v->u.s) : -1;
    if (*out < 0)
        return invalid(err, p, "must be one of %s", choices());
    return IMGSEC_OK;
}

static int check_image(doc_build *b, imgsec_err *err)
{
    field_path p = {b->where, "image", NO_INDEX, NULL};
    imgsec_doc *doc = &b->doc;
    if (b->image_state == DB_ABSENT || b->image_state == DB_NULL)
        return invalid(err, &p, "is required");
    if (b->image_state != DB_OBJECT_OR_ARRAY)
        return invalid(err, &p, "must be an object");

    int type = -1, status = -1, rc;
    p.field = "image_type";
    if ((rc = image_enum(&b->image[IK_TYPE], &p, image_type_parse, image_type_choices, -1, &type,
                         err)))
        return rc;
    p.field = "scan_status";
    if ((rc = image_enum(&b->image[IK_STATUS], &p, scan_status_parse, scan_status_choices,
                         SCAN_STATUS_UNSCAN, &status, err)))
        return rc;
    doc->summary.type = (image_type)type;
    doc->summary.status = (scan_status)status;

    for (size_t i = 0; i < COUNT_OF(IMAGE_STRINGS); i++) {
        const image_string *f = &IMAGE_STRINGS[i];
        const char **out = (const char **)((char *)doc + f->off);
        const doc_val *v = &b->image[IK_STRINGS + (int)i];
        size_t chars;
        p.field = f->key;
        *out = ""; /* absent strings read as "", never NULL */
        if (v->kind == DOC_V_NULL) {
            if (f->min > 0)
                return invalid(err, &p, "is required");
            continue;
        }
        if (v->kind != DOC_V_TEXT || (chars = util_utf8_chars(v->u.s, v->len)) < f->min ||
            chars > f->max)
            return invalid(err, &p, "must be a string of %zu-%zu characters", f->min, f->max);
        *out = v->u.s;
    }

    for (size_t i = 0; i < COUNT_OF(IMAGE_INTS); i++) {
        const doc_val *v = &b->image[IK_INTS + (int)i];
        int64_t *out = (int64_t *)((char *)doc + IMAGE_INTS[i].off);
        p.field = IMAGE_INTS[i].key;
        *out = 0;
        if (v->kind == DOC_V_NULL)
            continue;
        if (!is_int64_nonneg(v))
            return invalid(err, &p, "must be an integer >= 0");
        *out = v->u.i;
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

/* Checks v against f and leaves it in its stored form (doc_vkind). */
static int check_field(doc_val *v, const record_field *f, field_path *p, doc_scan *scan,
                       imgsec_err *err)
{
    char choices[128];
    int idx;

    if (v->kind == DOC_V_NULL)
        return f->required ? invalid(err, p, "is required") : IMGSEC_OK;

    switch (f->kind) {
    case FIELD_STRING:
        if (v->kind != DOC_V_TEXT || v->len > MODEL_RECORD_STRING_MAX)
            return invalid(err, p, "must be a string of at most %d bytes", MODEL_RECORD_STRING_MAX);
        if (f->required && v->len == 0)
            return invalid(err, p, "must not be empty");
        return IMGSEC_OK;
    case FIELD_INT64:
        return is_int64_nonneg(v) ? IMGSEC_OK : invalid(err, p, "must be an integer >= 0");
    case FIELD_NUMBER:
        if (v->kind == DOC_V_INT) { /* stored as REAL, as json_number_value gave it */
            v->u.d = (double)v->u.i;
            v->kind = DOC_V_REAL;
        }
        return v->kind == DOC_V_REAL ? IMGSEC_OK : invalid(err, p, "must be a number");
    case FIELD_SEVERITY:
        idx = v->kind == DOC_V_TEXT ? severity_parse(v->u.s) : -1;
        if (idx < 0)
            return invalid(err, p, "must be one of %s",
                           severity_choices(SEVERITY_UNKNOWN, choices, sizeof choices));
        if (!scan->have_max || (severity)idx > scan->max) {
            scan->have_max = true;
            scan->max = (severity)idx;
        }
        /* Store the canonical lower-case spelling (data-model.md). */
        v->u.s = severity_name((severity)idx);
        v->len = (uint32_t)strlen(v->u.s);
        return IMGSEC_OK;
    case FIELD_ENUM:
        if (v->kind == DOC_V_TEXT)
            for (size_t i = 0; f->enum_values[i]; i++)
                if (strcmp(f->enum_values[i], v->u.s) == 0)
                    return IMGSEC_OK;
        return invalid(err, p, "must be one of %s",
                       model_join_names(f->enum_values, choices, sizeof choices));
    case FIELD_OCTAL:
        if (v->kind != DOC_V_TEXT || !octal_mode(v->u.s, v->len))
            return invalid(err, p, "must be a string of 1-7 octal digits");
        return IMGSEC_OK;
    }
    return err_set(err, IMGSEC_EINTERNAL, "unknown field kind");
}

/* The values of one record of kind k (an object); p names it. */
static int check_record(doc_val *vals, const record_kind *k, field_path *p, doc_scan *scan,
                        imgsec_err *err)
{
    for (size_t j = 0; j < k->nfields; j++) {
        p->field = k->fields[j].name;
        int rc = check_field(&vals[j], &k->fields[j], p, scan, err);
        if (rc)
            return rc;
    }
    return IMGSEC_OK;
}

/* ---- the builder (doc_int.h) ---- */

bool doc_build_init(doc_build *b)
{
    memset(b, 0, sizeof *b);
    b->image = calloc(IK_COUNT, sizeof *b->image);
    return b->image != NULL;
}

void doc_build_free(doc_build *b)
{
    doc_build_abandon(b);
    free(b->image);
    b->image = NULL;
}

void doc_build_abandon(doc_build *b)
{
    doc_free(&b->doc);
}

int doc_build_begin(doc_build *b, const char *where, imgsec_err *err)
{
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (record_kind_get((report_type)t)->nfields > DB_MAX_FIELDS)
            return err_set(err, IMGSEC_EINTERNAL, "a record kind has too many fields");
    doc_build_abandon(b);
    b->where = where ? where : "";
    b->image_state = DB_ABSENT;
    memset(b->image, 0, IK_COUNT * sizeof *b->image);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        b->kinds[t].state = DB_ABSENT;
        b->kinds[t].n = 0;
        b->kinds[t].bad = false;
        b->kinds[t].have_max = false;
    }
    b->doc.summary.severity_level = SEVERITY_LEVEL_NONE;
    return IMGSEC_OK;
}

void doc_build_image(doc_build *b, int state)
{
    b->image_state = state;
    memset(b->image, 0, IK_COUNT * sizeof *b->image);
}

void doc_build_kind(doc_build *b, report_type t, int state)
{
    db_kind *k = &b->kinds[t];
    k->state = state;
    k->n = 0;
    k->bad = false;
    k->have_max = false;
    b->doc.records[t].n = 0;
}

void doc_build_record_begin(doc_build *b, report_type t)
{
    memset(b->rec, 0, record_kind_get(t)->nfields * sizeof b->rec[0]);
}

/* Whether record number k->n of kind t still needs checking. */
static bool kind_open(const db_kind *k)
{
    return !k->bad && k->n < DOC_RECORDS_MAX;
}

bool doc_build_record_end(doc_build *b, report_type t)
{
    db_kind *k = &b->kinds[t];
    const record_kind *rk = record_kind_get(t);
    if (!kind_open(k)) {
        k->n++;
        return true;
    }
    field_path p = {b->where, rk->doc_key, k->n, NULL};
    doc_scan scan = {k->have_max, k->max};
    if (check_record(b->rec, rk, &p, &scan, &k->err) != IMGSEC_OK) {
        k->bad = true;
        k->n++;
        return true;
    }
    doc_records *r = &b->doc.records[t];
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        if (cap > DOC_RECORDS_MAX)
            cap = DOC_RECORDS_MAX;
        doc_val *vals = realloc(r->vals, cap * rk->nfields * sizeof *vals);
        if (!vals)
            return false;
        r->vals = vals;
        r->cap = cap;
    }
    memcpy(&r->vals[r->n * rk->nfields], b->rec, rk->nfields * sizeof *b->rec);
    r->n++;
    k->n++;
    k->have_max = scan.have_max;
    k->max = scan.max;
    return true;
}

void doc_build_not_object(doc_build *b, report_type t)
{
    db_kind *k = &b->kinds[t];
    if (kind_open(k)) {
        field_path p = {b->where, record_kind_get(t)->doc_key, k->n, NULL};
        invalid(&k->err, &p, "must be an object");
        k->bad = true;
    }
    k->n++;
}

/* ---- step 3: aggregates for the query index ---- */

int doc_vul_cmp(const void *a, const void *b)
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

int doc_vul_rank(const char *s)
{
    /* the severity enum's order is the rank (model.h); exact names, as SQL's CASE */
    for (int i = SEVERITY_LOW; s && i < SEVERITY_COUNT; i++)
        if (strcmp(s, severity_name((severity)i)) == 0)
            return i;
    return 0;
}

int doc_rep_cmp(int rank_a, bool has_a, double cvss_a, int rank_b, bool has_b, double cvss_b)
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
        if (!o || doc_vul_cmp(o, &a[i]) != 0) {
            a[out++] = a[i];
            continue;
        }
        o->n += a[i].n;
        int c = doc_rep_cmp(a[i].rank, a[i].has_rep_cvss, a[i].rep_cvss, o->rank, o->has_rep_cvss,
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

/* The aggregate of one vulnerability record, seq i. */
static vul_agg vul_one(const char *vul_id, const char *type, const char *sev, bool has, double cvss,
                       size_t i)
{
    return (vul_agg){vul_id, (vul_type)vul_type_parse(type), 1, doc_vul_rank(sev), has, cvss,
                     (int64_t)i, has, cvss};
}

static const char *rec_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

int doc_vul_summary(const json_t *vuls, vul_agg **aggs, size_t *n_aggs,
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
        const json_t *cv = json_object_get(rec, "cvss_score");
        bool has = json_is_number(cv);
        (*aggs)[i] = vul_one(rec_str(rec, "vul_id"), rec_str(rec, "vul_type"),
                             rec_str(rec, "severity"), has, has ? json_number_value(cv) : 0, i);
        vul_counts[(*aggs)[i].type]++;
    }
    qsort(*aggs, n, sizeof **aggs, doc_vul_cmp);
    *n_aggs = merge_vuls(*aggs, n);
    return IMGSEC_OK;
}

/* The column of a field of kind t by name (the aggregates' inputs). */
static size_t field_at(report_type t, const char *name)
{
    int i = doc_field_key(t, name, strlen(name));
    return i < 0 ? 0 : (size_t)i; /* every name asked for is in model.c's tables */
}

static const char *val_str(const doc_val *v)
{
    return v->kind == DOC_V_TEXT ? v->u.s : NULL;
}

/* The vulnerability part of the summary: counts and aggregates. */
static int summarise_vuls(imgsec_doc *doc, imgsec_err *err)
{
    image_summary *s = &doc->summary;
    const doc_records *r = &doc->records[REPORT_VULNERABILITY];
    size_t n = r->n;

    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        s->vul_counts[v] = 0;
    if (n) {
        const report_type V = REPORT_VULNERABILITY;
        size_t nf = record_kind_get(V)->nfields, c_id = field_at(V, "vul_id"),
               c_type = field_at(V, "vul_type"), c_sev = field_at(V, "severity"),
               c_cvss = field_at(V, "cvss_score");
        if (!(doc->vuls = malloc(n * sizeof *doc->vuls)))
            return out_of_memory(err);
        for (size_t i = 0; i < n; i++) {
            const doc_val *rec = &r->vals[i * nf];
            bool has = rec[c_cvss].kind == DOC_V_REAL;
            doc->vuls[i] = vul_one(val_str(&rec[c_id]), val_str(&rec[c_type]), val_str(&rec[c_sev]),
                                   has, has ? rec[c_cvss].u.d : 0, i);
            s->vul_counts[doc->vuls[i].type]++;
        }
        qsort(doc->vuls, n, sizeof *doc->vuls, doc_vul_cmp);
        n = merge_vuls(doc->vuls, n);
    }
    s->vuls = doc->vuls;
    s->n_vuls = n;
    return IMGSEC_OK;
}

static int summarise(imgsec_doc *doc, const doc_scan *scan, imgsec_err *err)
{
    image_summary *s = &doc->summary;
    int rc = summarise_vuls(doc, err);
    if (rc != IMGSEC_OK)
        return rc;
    const doc_records *r = &doc->records[REPORT_BUILD_COMMAND_RISKS];
    size_t n = r->n;
    if (n) {
        const report_type B = REPORT_BUILD_COMMAND_RISKS;
        size_t nf = record_kind_get(B)->nfields, c_rule = field_at(B, "rule_id"),
               c_name = field_at(B, "risk_name"), c_level = field_at(B, "risk_level");
        if (!(doc->builds = malloc(n * sizeof *doc->builds)))
            return out_of_memory(err);
        for (size_t i = 0; i < n; i++) {
            const doc_val *rec = &r->vals[i * nf];
            doc->builds[i] = (build_agg){val_str(&rec[c_rule]), val_str(&rec[c_name]),
                                         (severity)severity_parse(val_str(&rec[c_level])), 1};
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

int doc_build_end(doc_build *b, imgsec_doc *out, imgsec_err *err)
{
    doc_scan scan = {false, SEVERITY_UNKNOWN};
    int rc = check_image(b, err);
    for (int t = 0; t < REPORT_TYPE_COUNT && rc == IMGSEC_OK; t++) {
        const db_kind *k = &b->kinds[t];
        field_path p = {b->where, record_kind_get((report_type)t)->doc_key, NO_INDEX, NULL};
        if (k->state == DB_OTHER)
            rc = invalid(err, &p, "must be an array of objects");
        else if (k->n > DOC_RECORDS_MAX)
            rc = invalid(err, &p, "must hold at most %d records", DOC_RECORDS_MAX);
        else if (k->bad)
            rc = err_set(err, k->err.code, "%s", k->err.msg);
        else if (k->have_max && (!scan.have_max || k->max > scan.max))
            scan = (doc_scan){true, k->max};
        b->doc.summary.counts[t] = (int64_t)b->doc.records[t].n;
    }
    if (rc == IMGSEC_OK)
        rc = summarise(&b->doc, &scan, err);
    if (rc != IMGSEC_OK) {
        doc_build_abandon(b);
        memset(out, 0, sizeof *out);
        return rc;
    }
    *out = b->doc;
    memset(&b->doc, 0, sizeof b->doc);
    return IMGSEC_OK;
}

/* ---- a jansson tree: the importers' documents ---- */

/* v as a value for the builder (strings copied); false when out of memory. */
static bool json_val(doc_build *b, const json_t *v, doc_val *out)
{
    memset(out, 0, sizeof *out);
    switch (json_typeof(v)) {
    case JSON_NULL: out->kind = DOC_V_NULL; return true;
    case JSON_INTEGER: out->kind = DOC_V_INT; out->u.i = json_integer_value(v); return true;
    case JSON_REAL: out->kind = DOC_V_REAL; out->u.d = json_real_value(v); return true;
    case JSON_STRING: {
        size_t len = json_string_length(v);
        const char *s = json_string_value(v);
        out->kind = memchr(s, '\0', len) ? DOC_V_TEXTNUL : DOC_V_TEXT;
        out->len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
        return (out->u.s = doc_build_str(b, s, len)) != NULL;
    }
    default: out->kind = DOC_V_OTHER; return true;
    }
}

static int json_records(doc_build *b, report_type t, const json_t *arr, imgsec_err *err)
{
    size_t i;
    const json_t *rec;
    if (!arr || json_is_null(arr)) {
        doc_build_kind(b, t, arr ? DB_NULL : DB_ABSENT);
        return IMGSEC_OK;
    }
    if (!json_is_array(arr)) {
        doc_build_kind(b, t, DB_OTHER);
        return IMGSEC_OK;
    }
    doc_build_kind(b, t, DB_OBJECT_OR_ARRAY);
    if (json_array_size(arr) > DOC_RECORDS_MAX) { /* the error needs no record read */
        b->kinds[t].n = json_array_size(arr);
        return IMGSEC_OK;
    }
    json_array_foreach(arr, i, rec) {
        if (!json_is_object(rec)) {
            doc_build_not_object(b, t);
            continue;
        }
        if (!kind_open(&b->kinds[t])) {
            b->kinds[t].n++;
            continue;
        }
        const char *key;
        const json_t *v;
        doc_build_record_begin(b, t);
        json_object_foreach((json_t *)rec, key, v) {
            int f = doc_field_key(t, key, strlen(key));
            if (f >= 0 && !json_val(b, v, &b->rec[f]))
                return out_of_memory(err);
        }
        if (!doc_build_record_end(b, t))
            return out_of_memory(err);
    }
    return IMGSEC_OK;
}

int doc_from_json(json_t *root, const char *where, imgsec_doc *doc, imgsec_err *err)
{
    doc_build b;
    int rc;
    memset(doc, 0, sizeof *doc);
    if (!where)
        where = "";
    if (!json_is_object(root)) {
        field_path p = {where, NULL, NO_INDEX, NULL};
        return invalid(err, &p, "must be a JSON object");
    }
    if (!doc_build_init(&b))
        return out_of_memory(err);
    if ((rc = doc_build_begin(&b, where, err)))
        goto out;
    const json_t *image = json_object_get(root, "image");
    doc_build_image(&b, !image ? DB_ABSENT
                        : json_is_null(image) ? DB_NULL
                        : json_is_object(image) ? DB_OBJECT_OR_ARRAY
                                                : DB_OTHER);
    if (json_is_object(image)) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)image, key, v) {
            int i = doc_image_key(key, strlen(key));
            if (i >= 0 && !json_val(&b, v, &b.image[i])) {
                rc = out_of_memory(err);
                goto out;
            }
        }
    }
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if ((rc = json_records(&b, (report_type)t,
                               json_object_get(root, record_kind_get((report_type)t)->doc_key), err)))
            goto out;
    rc = doc_build_end(&b, doc, err);
out:
    doc_build_free(&b);
    return rc;
}

int doc_vuls_from_json(const json_t *vuls, const char *where, imgsec_doc *doc, bool *have_max,
                       severity *max, imgsec_err *err)
{
    const report_type V = REPORT_VULNERABILITY;
    doc_build b;
    memset(doc, 0, sizeof *doc);
    *have_max = false;
    *max = SEVERITY_UNKNOWN;
    if (!doc_build_init(&b))
        return out_of_memory(err);
    int rc = doc_build_begin(&b, where, err);
    if (rc == IMGSEC_OK && json_is_array(vuls) && json_array_size(vuls) > DOC_RECORDS_MAX) {
        field_path p = {b.where, record_kind_get(V)->doc_key, NO_INDEX, NULL};
        rc = invalid(err, &p, "must hold at most %d records", DOC_RECORDS_MAX);
    }
    if (rc == IMGSEC_OK)
        rc = json_records(&b, V, vuls, err);
    const db_kind *k = &b.kinds[V];
    if (rc == IMGSEC_OK && k->state == DB_OTHER) {
        field_path p = {b.where, record_kind_get(V)->doc_key, NO_INDEX, NULL};
        rc = invalid(err, &p, "must be an array of objects");
    } else if (rc == IMGSEC_OK && k->bad) {
        rc = err_set(err, k->err.code, "%s", k->err.msg);
    }
    if (rc == IMGSEC_OK) {
        b.doc.summary.counts[V] = (int64_t)b.doc.records[V].n;
        rc = summarise_vuls(&b.doc, err);
    }
    if (rc == IMGSEC_OK) {
        *have_max = k->have_max;
        *max = k->max;
        *doc = b.doc;
        memset(&b.doc, 0, sizeof b.doc);
    }
    doc_build_free(&b);
    return rc;
}

/* One record on its own, for callers that stream records instead of
 * building a whole document (store_stream.h): the same rules; the
 * severities are rewritten in rec itself, which the caller stores. */
int doc_record_check(json_t *rec, report_type t, const char *where, size_t index,
                     bool *have_max, severity *max, imgsec_err *err)
{
    if ((unsigned)t >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINTERNAL, "unknown report type");
    const record_kind *k = record_kind_get(t);
    field_path p = {where ? where : "", k->doc_key, index, NULL};
    if (!json_is_object(rec))
        return invalid(err, &p, "must be an object");
    doc_build b;
    if (!doc_build_init(&b))
        return out_of_memory(err);
    int rc = doc_build_begin(&b, where, err);
    doc_build_record_begin(&b, t);
    for (size_t j = 0; j < k->nfields && rc == IMGSEC_OK; j++)
        if (!json_val(&b, json_object_get(rec, k->fields[j].name) ? json_object_get(rec, k->fields[j].name)
                                                                  : json_null(),
                      &b.rec[j]))
            rc = out_of_memory(err);
    doc_scan scan = {*have_max, *max};
    if (rc == IMGSEC_OK)
        rc = check_record(b.rec, k, &p, &scan, err);
    for (size_t j = 0; j < k->nfields && rc == IMGSEC_OK; j++) {
        const json_t *v = json_object_get(rec, k->fields[j].name);
        if (k->fields[j].kind == FIELD_SEVERITY && json_is_string(v) &&
            strcmp(json_string_value(v), b.rec[j].u.s) != 0 &&
            json_object_set_new(rec, k->fields[j].name, json_string(b.rec[j].u.s)) != 0)
            rc = out_of_memory(err);
    }
    if (rc == IMGSEC_OK) {
        *have_max = scan.have_max;
        *max = scan.max;
    }
    doc_build_free(&b);
    return rc;
}

void doc_free(imgsec_doc *doc)
{
    if (!doc)
        return;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        free(doc->records[t].vals);
    free(doc->vuls);
    free(doc->builds);
    arena_free(doc->arena);
    memset(doc, 0, sizeof *doc);
}

/* ---- bodies: one object, an array of objects, or NDJSON ---- */

void doc_list_free(doc_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        doc_free(&list->items[i]);
    free(list->items);
    *list = (doc_list){0};
}

int doc_too_many_documents(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: a body holds at most %d documents",
                   DOC_BULK_MAX);
}

int doc_no_documents(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: the body holds no documents");
}

/* Appends doc (taken) to list. */
static int list_take(void *arg, imgsec_doc *doc, size_t index, imgsec_err *err)
{
    doc_list *list = arg;
    (void)index;
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 4;
        if (cap > DOC_BULK_MAX)
            cap = DOC_BULK_MAX;
        imgsec_doc *items = cap > list->n ? realloc(list->items, cap * sizeof *items) : NULL;
        if (!items) {
            doc_free(doc);
            return out_of_memory(err);
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = *doc;
    memset(doc, 0, sizeof *doc);
    return IMGSEC_OK;
}

int doc_list_parse(const char *buf, size_t len, bool ndjson, doc_list *list, imgsec_err *err)
{
    *list = (doc_list){0};
    doc_stream *ds = doc_stream_new(ndjson, list_take, list);
    if (!ds)
        return out_of_memory(err);
    int rc = doc_stream_feed(ds, buf ? buf : "", buf ? len : 0, err);
    if (rc == IMGSEC_OK)
        rc = doc_stream_end(ds, err);
    doc_stream_free(ds);
    if (rc)
        doc_list_free(list);
    return rc;
}

/* The documents of an already parsed JSON body: one object, or an
 * array of objects. root stays the caller's. */
static int list_from_root(json_t *root, doc_list *list, imgsec_err *err)
{
    imgsec_doc d;
    int rc;
    if (json_is_object(root)) {
        if ((rc = doc_from_json(root, NULL, &d, err)))
            return rc;
        return list_take(list, &d, 0, err);
    }
    if (!json_is_array(root)) /* jansson's parser refuses other top levels; a caller's json_t may not */
        return err_set(err, IMGSEC_EPARSE, "invalid JSON body: not a JSON object or array");
    if (json_array_size(root) > DOC_BULK_MAX)
        return doc_too_many_documents(err);
    if (json_array_size(root) == 0)
        return doc_no_documents(err);
    size_t i;
    json_t *item;
    json_array_foreach(root, i, item) {
        char where[48];
        if (!json_is_object(item))
            return err_set(err, IMGSEC_EPARSE,
                           "invalid JSON body: documents[%zu] is not a JSON object", i);
        snprintf(where, sizeof where, "documents[%zu].", i);
        if ((rc = doc_from_json(item, where, &d, err)) || (rc = list_take(list, &d, i, err)))
            return rc;
    }
    return IMGSEC_OK;
}

int doc_list_from_json(json_t *root, doc_list *list, imgsec_err *err)
{
    *list = (doc_list){0};
    int rc = list_from_root(root, list, err);
    if (rc)
        doc_list_free(list);
    return rc;
}
