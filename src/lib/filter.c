/* filter.c - the statistic request body, validated into a stat_query
 * (imgsec/filter.h, statistic.md "Body fields").
 *
 * Why it is shaped this way: every body field is one of six shapes (bool,
 * tri-state bool, int64 >= 0, bounded string, enum, bounded string list),
 * so there is one small reader per shape and filter_from_json is the body
 * table of statistic.md written as a list of reader calls, in table order.
 * Each reader treats an absent key and JSON null alike (statistic.md) and
 * names the key in its error, so the first offending field is reported.
 * Cross-field rules (start <= end, operate_all) run after every field has
 * passed its own check. Nothing is copied: strings are borrowed from the
 * body, lists are arrays of borrowed pointers.
 *
 * Two front ends feed the same readers through one value type (fval): a
 * jansson tree (filter_from_json), and the body text itself
 * (filter_from_text), for the statistic route, where building a tree of
 * a 5,000-id list cost more than counting it. The text front end takes
 * only a plain subset of JSON (see fast_parse) and hands anything else
 * back (FILTER_NOT_PLAIN) for the tree, so every error that depends on
 * JSON's finer rules is jansson's, and the field checks are the same code
 * either way; its strings are copied once into one buffer the query owns.
 *
 * Decisions where the spec is silent:
 * - Lengths ("chars") count UTF-8 code points; jansson guarantees valid
 *   UTF-8. Strings holding a NUL character are refused, since the C
 *   string seen by the index would be a truncated filter.
 * - With operate_all true, image_id_list is still checked (a malformed
 *   body is malformed whatever it asks for) but then dropped from the
 *   query (image_ids NULL, n_image_ids 0), so no consumer can use it.
 * - An empty substring/exact filter ("") is stored as NULL: both mean
 *   "filters nothing" (filter.h), NULL is the one consumers test.
 * - Duplicate ids in a list are kept; the index deduplicates.
 */
#include "imgsec/filter.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

static int invalid_type(imgsec_err *err, const char *key, const char *what)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be %s", key, what);
}

/* ---- one value type for both front ends ---- */

typedef enum { FV_NONE, FV_BOOL, FV_INT, FV_REAL, FV_STR, FV_ARR, FV_OBJ } fv_kind;

typedef struct fval {
    fv_kind kind;      /* FV_NONE: absent or null */
    bool b;
    int64_t i;
    const char *s;     /* FV_STR: NUL-terminated, slen bytes before any inner NUL */
    size_t slen;
    size_t n;          /* FV_ARR: items */
    const json_t *arr; /* FV_ARR from a tree */
    const struct fval *items; /* FV_ARR from the text */
} fval;

/* A body: a tree, or the fields the text front end read (NULL: {}). */
typedef struct {
    const char *key;
    size_t klen;
    fval v;
} fast_field;

typedef struct {
    const json_t *json;
    const fast_field *fields;
    size_t nfields;
} body_src;

static fval fval_of_json(const json_t *v)
{
    fval f = {0};
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE: f.kind = FV_BOOL, f.b = true; break;
    case JSON_FALSE: f.kind = FV_BOOL; break;
    case JSON_INTEGER: f.kind = FV_INT, f.i = (int64_t)json_integer_value(v); break;
    case JSON_REAL: f.kind = FV_REAL; break;
    case JSON_STRING:
        f.kind = FV_STR, f.s = json_string_value(v), f.slen = json_string_length(v);
        break;
    case JSON_ARRAY: f.kind = FV_ARR, f.arr = v, f.n = json_array_size(v); break;
    case JSON_OBJECT: f.kind = FV_OBJ; break;
    case JSON_NULL: break;
    }
    return f;
}

/* The value of key; FV_NONE when absent or null. */
static fval field(const body_src *b, const char *key)
{
    if (b->json)
        return fval_of_json(json_object_get(b->json, key));
    size_t klen = strlen(key);
    for (size_t i = 0; i < b->nfields; i++)
        if (b->fields[i].klen == klen && memcmp(b->fields[i].key, key, klen) == 0)
            return b->fields[i].v;
    return (fval){0};
}

static fval item(const fval *arr, size_t i)
{
    return arr->arr ? fval_of_json(json_array_get(arr->arr, i)) : arr->items[i];
}

/* A string of min..max UTF-8 code points without NUL characters. */
static bool string_fits(const fval *v, size_t min, size_t max)
{
    if (v->kind != FV_STR || strlen(v->s) != v->slen)
        return false;
    size_t chars = util_utf8_chars(v->s, v->slen);
    return chars >= min && chars <= max;
}

/* ---- one reader per field shape ---- */

static int read_bool(const body_src *body, const char *key, bool *out, imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    if (v.kind != FV_BOOL)
        return invalid_type(err, key, "true or false");
    *out = v.b;
    return IMGSEC_OK;
}

static int read_tri(const body_src *body, const char *key, tri_bool *out, imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    if (v.kind != FV_BOOL)
        return invalid_type(err, key, "true or false");
    *out = v.b ? TRI_TRUE : TRI_FALSE;
    return IMGSEC_OK;
}

static int read_int64(const body_src *body, const char *key, bool *has, int64_t *out,
                      imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    if (v.kind != FV_INT || v.i < 0)
        return invalid_type(err, key, "an integer >= 0");
    *has = true;
    *out = v.i;
    return IMGSEC_OK;
}

/* "" is stored as NULL (see the top comment). */
static int read_string(const body_src *body, const char *key, size_t min, size_t max,
                       const char **out, imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    if (!string_fits(&v, min, max))
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must be a string of %zu-%zu characters", key, min,
                       max);
    *out = v.slen ? v.s : NULL;
    return IMGSEC_OK;
}

/* choices() spells the accepted values for the error message: it is only
 * called on that path. */
static int read_enum(const body_src *body, const char *key, int (*parse)(const char *),
                     const char *(*choices)(void), int *out, imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    int value = v.kind == FV_STR ? parse(v.s) : -1;
    if (value < 0)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be one of %s", key,
                       choices());
    *out = value;
    return IMGSEC_OK;
}

static int read_list(const body_src *body, const char *key, size_t max_items, size_t item_max,
                     const char ***out, size_t *n, imgsec_err *err)
{
    fval v = field(body, key);
    if (v.kind == FV_NONE)
        return IMGSEC_OK;
    if (v.kind != FV_ARR)
        return invalid_type(err, key, "an array of strings");
    size_t count = v.n;
    if (count > max_items)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must have at most %zu items",
                       key, max_items);
    for (size_t i = 0; i < count; i++) {
        fval it = item(&v, i);
        if (!string_fits(&it, 1, item_max))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s[%zu] must be a string of 1-%zu characters", key,
                           i, item_max);
    }
    if (count == 0)
        return IMGSEC_OK;
    const char **items = malloc(count * sizeof *items);
    if (!items)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        items[i] = item(&v, i).s;
    *out = items;
    *n = count;
    return IMGSEC_OK;
}

/* build_command_risk_level: a record severity other than unknown, spelled
 * exactly as model.c spells it (lower-case; severity_parse ignores case). */
static int parse_build_level(const char *s)
{
    int level = severity_parse(s);
    if (level <= (int)SEVERITY_UNKNOWN || strcmp(s, severity_name((severity)level)) != 0)
        return -1;
    return level;
}

/* "critical, high, medium, low", built once per thread like model.c's
 * other choices (the table is constant, so the text is too). */
static const char *build_level_choices(void)
{
    static _Thread_local char buf[64];
    return buf[0] ? buf : severity_choices(SEVERITY_LOW, buf, sizeof buf);
}

static int check_range(bool has_start, int64_t start, bool has_end, int64_t end,
                       const char *start_key, const char *end_key, imgsec_err *err)
{
    if (has_start && has_end && start > end)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must not be greater than %s", start_key, end_key);
    return IMGSEC_OK;
}

/* Everything but q->report, which filter_from_json's caller may set after. */
static void query_reset(stat_query *q)
{
    _Static_assert(offsetof(stat_query, report) == 0, "report must stay the first member");
    const size_t from = offsetof(stat_query, operate_all);
    memset((char *)q + from, 0, sizeof *q - from);
    q->image_type = q->scan_status = q->severity_level = -1;
    q->vul_type = q->build_level = -1;
    q->has_malicious_file = q->has_vul = q->has_unsafe_setting = q->has_container = q->risky =
        TRI_ANY;
}

void filter_init(stat_query *q, report_type report)
{
    q->report = report;
    query_reset(q);
}

/* ---- the body ---- */

/* Every field of body into q (already reset), in statistic.md's order. */
static int filter_from_src(const body_src *body, stat_query *q, imgsec_err *err)
{
    int rc;

#define TRY(call)                 \
    do {                          \
        if ((rc = (call)) != 0)   \
            goto fail;            \
    } while (0)

    TRY(read_bool(body, "operate_all", &q->operate_all, err));
    TRY(read_list(body, "image_id_list", FILTER_IMAGE_ID_LIST_MAX, FILTER_IMAGE_ID_ITEM_MAX,
                  &q->image_ids, &q->n_image_ids, err));
    TRY(read_enum(body, "image_type", image_type_parse, image_type_choices, &q->image_type, err));
    TRY(read_enum(body, "scan_status", scan_status_parse, scan_status_choices, &q->scan_status,
                  err));
#define READ_IMAGE_STRING(m, key, dmin, dmax, filter, fmax, ...)                                \
    TRY(read_string(body, key, 0, fmax, &q->m, err));
    MODEL_IMAGE_FILTER_STRINGS(READ_IMAGE_STRING)
#undef READ_IMAGE_STRING
    TRY(read_bool(body, "latest_version", &q->latest_version, err));
    TRY(read_int64(body, "image_size", &q->has_image_size, &q->image_size, err));
    TRY(read_int64(body, "start_latest_update_time", &q->has_update_start, &q->update_start, err));
    TRY(read_int64(body, "end_latest_update_time", &q->has_update_end, &q->update_end, err));
    TRY(read_int64(body, "start_latest_scan_time", &q->has_scan_start, &q->scan_start, err));
    TRY(read_int64(body, "end_latest_scan_time", &q->has_scan_end, &q->scan_end, err));
    TRY(read_tri(body, "has_malicious_file", &q->has_malicious_file, err));
    TRY(read_tri(body, "has_vul", &q->has_vul, err));
    TRY(read_tri(body, "has_unsafe_setting", &q->has_unsafe_setting, err));
    TRY(read_tri(body, "has_container", &q->has_container, err));
    TRY(read_tri(body, "risky", &q->risky, err));
    TRY(read_enum(body, "severity_level", severity_level_parse, severity_level_choices,
                  &q->severity_level, err));
    /* Record filters: validated whatever the report type (statistic.md). */
    TRY(read_enum(body, "vul_type", vul_type_parse, vul_type_choices, &q->vul_type, err));
    TRY(read_list(body, "vul_id_list", FILTER_VUL_ID_LIST_MAX, FILTER_VUL_ID_ITEM_MAX,
                  &q->vul_ids, &q->n_vul_ids, err));
    TRY(read_enum(body, "build_command_risk_level", parse_build_level, build_level_choices,
                  &q->build_level, err));
    TRY(read_string(body, "build_command_risk_name", 1, FILTER_SHORT_STRING_MAX, &q->build_name,
                    err));
    TRY(read_list(body, "build_command_rule_id_list", FILTER_RULE_ID_LIST_MAX,
                  FILTER_RULE_ID_ITEM_MAX, &q->build_rule_ids, &q->n_build_rule_ids, err));
#undef TRY

    if ((rc = check_range(q->has_update_start, q->update_start, q->has_update_end, q->update_end,
                          "start_latest_update_time", "end_latest_update_time", err)) ||
        (rc = check_range(q->has_scan_start, q->scan_start, q->has_scan_end, q->scan_end,
                          "start_latest_scan_time", "end_latest_scan_time", err)))
        goto fail;

    if (q->operate_all) {
        free(q->image_ids); /* ignored when operate_all is true (statistic.md) */
        q->image_ids = NULL;
        q->n_image_ids = 0;
    } else if (q->n_image_ids == 0) {
        rc = err_set(err, IMGSEC_EINVAL,
                     "invalid parameter: image_id_list must not be empty unless operate_all is true");
        goto fail;
    }
    return IMGSEC_OK;

fail:
    filter_free(q);
    return rc;
}

int filter_from_json(const json_t *body, stat_query *q, imgsec_err *err)
{
    query_reset(q);
    /* An absent or null body is {} (statistic.md): every reader then sees
     * absent keys, and the operate_all rule still applies. */
    if (json_is_null(body))
        body = NULL;
    if (body && !json_is_object(body))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: the body must be a JSON object");
    body_src src = {.json = body};
    return filter_from_src(&src, q, err);
}

/* ---- the text front end ---- */

/* The plain subset fast_parse takes: an object (or blank text: {}) whose
 * keys are printable ASCII without escapes, each once, and whose values
 * are true, false, null, integers of up to 18 digits without sign,
 * fraction or exponent, strings of printable ASCII without escapes, and
 * arrays of such strings; white space is JSON's four characters. Anything
 * else (escapes, other bytes, reals, nested objects, duplicate keys, a
 * syntax error, more than FAST_FIELDS_MAX keys) is not plain: jansson
 * decides. The strings are copied, NUL-terminated, into *owned (at most
 * len bytes: each loses its two quotes and gains one NUL). */
#define FAST_FIELDS_MAX 64

typedef struct {
    const char *p, *end;
    char *out;            /* next free byte of the owned buffer */
    fast_field fields[FAST_FIELDS_MAX];
    size_t nfields;
    fval *items;          /* every array's items, one after another */
    size_t nitems, items_cap;
} fast_parser;

static void fast_ws(fast_parser *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
        f->p++;
}

/* A plain string at f->p (its opening quote): its bytes, and unless
 * copy is false, a NUL-terminated copy in the owned buffer. */
static bool fast_string(fast_parser *f, bool copy, const char **s, size_t *len)
{
    if (f->p >= f->end || *f->p != '"')
        return false;
    const char *start = ++f->p;
    while (f->p < f->end && *f->p != '"') {
        unsigned char c = (unsigned char)*f->p;
        if (c < 0x20 || c > 0x7e || c == '\\')
            return false;
        f->p++;
    }
    if (f->p >= f->end)
        return false;
    *len = (size_t)(f->p - start);
    f->p++; /* the closing quote */
    if (!copy) {
        *s = start;
        return true;
    }
    memcpy(f->out, start, *len);
    f->out[*len] = '\0';
    *s = f->out;
    f->out += *len + 1;
    return true;
}

static bool fast_literal(fast_parser *f, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return false;
    f->p += n;
    return true;
}

/* After a member or an item: 1 for a ',' (another follows), 0 for the
 * closing byte, -1 for anything else; either byte is consumed. */
static int fast_next(fast_parser *f, char close)
{
    fast_ws(f);
    if (f->p < f->end && (*f->p == ',' || *f->p == close))
        return *f->p++ == ',' ? 1 : 0;
    return -1;
}

static bool fast_push_item(fast_parser *f, const fval *v)
{
    if (f->nitems == f->items_cap) {
        size_t cap = f->items_cap ? f->items_cap * 2 : 64;
        fval *grown = realloc(f->items, cap * sizeof *grown);
        if (!grown)
            return false;
        f->items = grown;
        f->items_cap = cap;
    }
    f->items[f->nitems++] = *v;
    return true;
}

static bool fast_value(fast_parser *f, fval *v)
{
    *v = (fval){0};
    if (f->p >= f->end)
        return false;
    char c = *f->p;
    if (c == '"') {
        v->kind = FV_STR;
        return fast_string(f, true, &v->s, &v->slen);
    }
    if (c == 't' || c == 'f') {
        v->kind = FV_BOOL, v->b = c == 't';
        return fast_literal(f, c == 't' ? "true" : "false");
    }
    if (c == 'n')
        return fast_literal(f, "null"); /* FV_NONE, as an absent key */
    if (c >= '0' && c <= '9') {
        const char *start = f->p;
        int64_t i = 0;
        while (f->p < f->end && *f->p >= '0' && *f->p <= '9') {
            if (f->p - start == 18)
                return false;
            i = i * 10 + (*f->p++ - '0');
        }
        if ((c == '0' && f->p - start > 1) ||
            (f->p < f->end && (*f->p == '.' || *f->p == 'e' || *f->p == 'E')))
            return false;
        v->kind = FV_INT, v->i = i;
        return true;
    }
    if (c != '[')
        return false;
    /* an array of plain strings: its items go to f->items; v->items is
     * set once the whole body is read (the array may still move) */
    f->p++;
    v->kind = FV_ARR;
    v->i = (int64_t)f->nitems; /* where its items start */
    fast_ws(f);
    if (f->p < f->end && *f->p == ']') {
        f->p++;
        return true;
    }
    for (;;) {
        fval it = {.kind = FV_STR};
        fast_ws(f);
        if (!fast_string(f, true, &it.s, &it.slen) || !fast_push_item(f, &it))
            return false;
        v->n++;
        int more = fast_next(f, ']');
        if (more <= 0)
            return more == 0;
    }
}

static bool fast_parse(fast_parser *f)
{
    fast_ws(f);
    if (f->p == f->end)
        return true; /* blank: {} */
    if (*f->p++ != '{')
        return false;
    fast_ws(f);
    if (f->p < f->end && *f->p == '}') {
        f->p++;
    } else {
        for (;;) {
            fast_ws(f);
            if (f->nfields == FAST_FIELDS_MAX)
                return false;
            fast_field *fd = &f->fields[f->nfields];
            if (!fast_string(f, false, &fd->key, &fd->klen))
                return false;
            for (size_t i = 0; i < f->nfields; i++)
                if (f->fields[i].klen == fd->klen && memcmp(f->fields[i].key, fd->key, fd->klen) == 0)
                    return false; /* a duplicate: jansson's rule decides */
            fast_ws(f);
            if (f->p >= f->end || *f->p++ != ':')
                return false;
            fast_ws(f);
            if (!fast_value(f, &fd->v))
                return false;
            f->nfields++;
            int more = fast_next(f, '}');
            if (more < 0)
                return false;
            if (more == 0)
                break;
        }
    }
    fast_ws(f);
    if (f->p != f->end)
        return false;
    for (size_t i = 0; i < f->nfields; i++)
        if (f->fields[i].v.kind == FV_ARR) {
            /* an empty array keeps NULL (f->items may be NULL: no offset) */
            if (f->fields[i].v.n)
                f->fields[i].v.items = f->items + f->fields[i].v.i;
            f->fields[i].v.i = 0;
        }
    return true;
}

int filter_from_text(const char *text, size_t len, stat_query *q, imgsec_err *err)
{
    query_reset(q);
    if (len > FILTER_TEXT_MAX)
        return FILTER_NOT_PLAIN;
    char *owned = malloc(len + 1);
    fast_parser *f = malloc(sizeof *f);
    if (!owned || !f) {
        free(owned);
        free(f);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    *f = (fast_parser){.p = text, .end = text + len, .out = owned};
    int rc;
    if (!fast_parse(f)) {
        rc = FILTER_NOT_PLAIN;
        free(owned);
    } else {
        body_src src = {.fields = f->fields, .nfields = f->nfields};
        rc = filter_from_src(&src, q, err);
        if (rc == IMGSEC_OK)
            q->owned = owned; /* the query's strings */
        else
            free(owned);
    }
    free(f->items);
    free(f);
    return rc;
}

void filter_free(stat_query *q)
{
    if (!q)
        return;
    free(q->image_ids);
    free(q->vul_ids);
    free(q->build_rule_ids);
    free(q->owned);
    q->owned = NULL;
    q->image_ids = q->vul_ids = q->build_rule_ids = NULL;
    q->n_image_ids = q->n_vul_ids = q->n_build_rule_ids = 0;
}
