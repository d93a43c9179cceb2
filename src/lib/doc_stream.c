/* doc_stream.c - ingest documents from bytes, through yajl's callbacks
 * (imgsec/doc.h "streaming").
 *
 * No JSON tree: yajl reports each token, this file keeps where it is
 * (the document, its image, a record kind's array, a record, or a value
 * nobody reads, skipped by depth) and hands the values of known keys to
 * the builder of doc_int.h, which checks them by the rules of doc.c and
 * keeps each record as a row of doc_val. A document goes to the caller
 * as soon as it ends (NDJSON: when its line ends, as a line's JSON error
 * comes before its document's), and only one is held at a time.
 *
 * The input must be refused exactly where jansson (the parser before
 * this one, and still the importers') refuses it, with EPARSE. yajl
 * accepts a few things jansson does not, so this file refuses them
 * itself: \u0000 and unpaired UTF-16 surrogates in escapes (yajl passes
 * the first and turns the second into '?'; checked on the raw bytes by a
 * small scanner that follows backslashes across pieces), vertical tab and
 * form feed (white space to yajl), overlong UTF-8,
 * encoded surrogates and code points above U+10FFFF (yajl checks only the
 * byte pattern), integers outside int64 and reals that overflow (yajl
 * hands the number's text over), and nesting deeper than jansson's 2048.
 * One difference is kept on purpose: a raw NUL byte right after a number
 * or a literal, which jansson silently drops ("[1\0]" reads as [1]), is
 * refused here as yajl refuses it.
 * The texts of JSON errors are this parser's own (yajl's, or the rule
 * above), in the shapes doc_list_parse has always used. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "doc_int.h"
#include "imgsec/doc.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

/* Where the parser is: what the next token belongs to. */
typedef enum {
    AT_TOP,   /* before the top-level value */
    AT_DOCS,  /* in the top-level array: elements are documents */
    AT_DOC,   /* in a document object */
    AT_IMAGE, /* in its image object */
    AT_RECS,  /* in a record kind's array */
    AT_REC,   /* in one record object */
    AT_AFTER  /* after the top-level value */
} at_t;

#define KEY_UNKNOWN (-1)
#define KEY_IMAGE (-2)

struct doc_stream {
    bool ndjson;
    doc_stream_fn fn;
    void *arg;
    yajl_handle h;
    doc_build b;

    at_t at;
    int depth;     /* open arrays and objects */
    int skip;      /* > 0: inside a value nobody reads, this deep */
    int key;       /* what the next value is: KEY_*, a kind (AT_DOC), an index (AT_IMAGE, AT_REC) */
    int kind;      /* the record kind of AT_RECS / AT_REC */
    bool building; /* a document is being built (not skipped) */
    bool top_array; /* the top-level value is an array */
    bool top_ended; /* the top-level value has ended ... */
    size_t top_end; /* ... at this offset of the piece being parsed */
    char where[48];

    size_t docs;   /* documents seen (a JSON array's elements; NDJSON: handed) */
    size_t handed; /* documents given to fn */

    /* The document that ended last (NDJSON: until its line has ended). */
    bool have_doc;
    int doc_rc;
    imgsec_doc doc;
    imgsec_err doc_err;

    /* A JSON value's first bad document (reported at the end). */
    int first_rc;
    imgsec_err first_err;

    /* An error a callback raised: a JSON error (json) or a fatal one. */
    int cb_rc;
    bool cb_json;
    imgsec_err cb_err;

    /* The stream's final error, once certain. */
    int rc;
    imgsec_err err;

    /* NDJSON: the current line; JSON: newlines before the current piece. */
    char *line;
    size_t line_len, line_cap, lineno;
    bool not_object;
    size_t lines_before, col_before;

    /* The escape scanner (esc_scan). */
    int esc;
    unsigned esc_cp, esc_n;
};

/* ---- errors ---- */

/* A JSON error found by a callback: ends the parse. */
static int json_error(doc_stream *ds, const char *text)
{
    if (!ds->cb_rc) {
        ds->cb_rc = IMGSEC_EPARSE;
        ds->cb_json = true;
        snprintf(ds->cb_err.msg, sizeof ds->cb_err.msg, "%s", text);
    }
    return 0;
}

/* Any other error from a callback (out of memory, fn's error). */
static int fatal(doc_stream *ds, int rc, const imgsec_err *err)
{
    if (!ds->cb_rc) {
        ds->cb_rc = rc;
        ds->cb_json = false;
        ds->cb_err = *err;
    }
    return 0;
}

static int oom(doc_stream *ds)
{
    imgsec_err e = {0};
    err_set(&e, IMGSEC_EINTERNAL, "out of memory");
    return fatal(ds, IMGSEC_EINTERNAL, &e);
}

/* ---- what yajl lets through ---- */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF. */
static bool utf8_strict(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (len - i <= n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Follows the escapes of buf (continuing the state of the last piece):
 * the offset of the byte that makes \u0000 or an unpaired surrogate,
 * else len. Backslashes only occur in strings in valid JSON, and invalid
 * JSON fails in yajl anyway. */
static size_t esc_scan(doc_stream *ds, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
#define BAD() return (size_t)(p - 1 - buf)
    while (p < end) {
        if (ds->esc == 0) {
            p = memchr(p, '\\', (size_t)(end - p));
            if (!p)
                return len;
            p++;
            ds->esc = 1;
            continue;
        }
        int c = (unsigned char)*p++;
        switch (ds->esc) {
        case 1: /* after a backslash */
        case 4: /* after a high surrogate's backslash */
            if (c == 'u') {
                ds->esc = ds->esc == 1 ? 2 : 5;
                ds->esc_n = 0;
                if (ds->esc == 2)
                    ds->esc_cp = 0;
                else
                    ds->esc_cp <<= 16;
            } else if (ds->esc == 4) {
                BAD();
            } else {
                ds->esc = 0;
            }
            break;
        case 3: /* after a high surrogate */
            if (c != '\\')
                BAD();
            ds->esc = 4;
            break;
        case 2:
        case 5: {
            int h = hexval(c);
            if (h < 0) { /* yajl refuses it */
                ds->esc = 0;
                break;
            }
            ds->esc_cp = (ds->esc_cp << 4) | (unsigned)h;
            if (++ds->esc_n < 4)
                break;
            unsigned cp = ds->esc_cp & 0xFFFF;
            if (ds->esc == 5) { /* the second half of a pair */
                if (cp < 0xDC00 || cp > 0xDFFF)
                    BAD();
                ds->esc = 0;
            } else if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
                BAD();
            } else {
                ds->esc = cp >= 0xD800 && cp <= 0xDBFF ? 3 : 0;
            }
            break;
        }
        }
    }
#undef BAD
    return len;
}

/* The offset of the first byte of buf that jansson refuses and yajl
 * does not: the end of a bad escape (esc_scan), or a vertical tab or
 * form feed (white space to yajl, not to JSON; never valid in a string
 * either). len if none; *why says which. */
static size_t first_bad(doc_stream *ds, const char *buf, size_t len, const char **why)
{
    size_t vf = len;
    const char *v = memchr(buf, '\v', len), *f = memchr(buf, '\f', len);
    if (v)
        vf = (size_t)(v - buf);
    if (f && (size_t)(f - buf) < vf)
        vf = (size_t)(f - buf);
    size_t e = esc_scan(ds, buf, vf);
    *why = e < vf ? "invalid Unicode escape" : "invalid character";
    return e < vf ? e : vf;
}

/* A string or key: strict UTF-8 and no NUL (yajl decoded the escapes). */
static bool text_ok(doc_stream *ds, const unsigned char *s, size_t len)
{
    if (memchr(s, '\0', len)) {
        json_error(ds, "\\u0000 is not allowed");
        return false;
    }
    if (!utf8_strict(s, len)) {
        json_error(ds, "invalid UTF-8 in a string");
        return false;
    }
    return true;
}

/* ---- values ---- */

/* v goes where the parser is (a scalar; objects and arrays start below). */
static int put_value(doc_stream *ds, const doc_val *v)
{
    if (ds->skip)
        return 1;
    switch (ds->at) {
    case AT_TOP:
        return json_error(ds, "'[' or '{' expected");
    case AT_DOCS:
        if (!ds->first_rc && ds->docs < DOC_BULK_MAX) {
            ds->first_rc = err_set(&ds->first_err, IMGSEC_EPARSE,
                                   "invalid JSON body: documents[%zu] is not a JSON object",
                                   ds->docs);
        }
        ds->docs++;
        return 1;
    case AT_DOC:
        if (ds->key == KEY_IMAGE)
            doc_build_image(&ds->b, v->kind == DOC_V_NULL ? DB_NULL : DB_OTHER);
        else if (ds->key >= 0)
            doc_build_kind(&ds->b, (report_type)ds->key, v->kind == DOC_V_NULL ? DB_NULL : DB_OTHER);
        return 1;
    case AT_IMAGE:
        if (ds->key >= 0)
            ds->b.image[ds->key] = *v;
        return 1;
    case AT_RECS:
        doc_build_not_object(&ds->b, (report_type)ds->kind);
        return 1;
    case AT_REC:
        if (ds->key >= 0)
            ds->b.rec[ds->key] = *v;
        return 1;
    case AT_AFTER:
        break;
    }
    return json_error(ds, "end of input expected");
}

static int cb_null(void *ctx)
{
    doc_val v = {.kind = DOC_V_NULL};
    return put_value(ctx, &v);
}

static int cb_boolean(void *ctx, int b)
{
    (void)b;
    doc_val v = {.kind = DOC_V_OTHER};
    return put_value(ctx, &v);
}

/* Integers are int64 (else an error, as jansson's "too big integer"),
 * other numbers doubles (an overflow is an error). */
static int cb_number(void *ctx, const char *s, size_t len)
{
    doc_stream *ds = ctx;
    char small[64], *txt = small;
    doc_val v = {0};
    if (len >= sizeof small && !(txt = malloc(len + 1)))
        return oom(ds);
    memcpy(txt, s, len);
    txt[len] = '\0';
    int ok = 1;
    errno = 0;
    if (memchr(txt, '.', len) || memchr(txt, 'e', len) || memchr(txt, 'E', len)) {
        v.kind = DOC_V_REAL;
        v.u.d = strtod(txt, NULL);
        if ((v.u.d == HUGE_VAL || v.u.d == -HUGE_VAL) && errno == ERANGE)
            ok = json_error(ds, "real number overflow");
    } else {
        v.kind = DOC_V_INT;
        long long i = strtoll(txt, NULL, 10);
        v.u.i = i;
        if (errno == ERANGE)
            ok = json_error(ds, i < 0 ? "too big negative integer" : "too big integer");
    }
    if (txt != small)
        free(txt);
    return ok ? put_value(ds, &v) : 0;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    doc_stream *ds = ctx;
    if (!text_ok(ds, s, len))
        return 0;
    doc_val v = {.kind = DOC_V_TEXT};
    if (ds->skip == 0 && ((ds->at == AT_IMAGE || ds->at == AT_REC) && ds->key >= 0)) {
        if (len > UINT32_MAX)
            len = UINT32_MAX; /* fails every length rule anyway */
        v.len = (uint32_t)len;
        if (!(v.u.s = doc_build_str(&ds->b, (const char *)s, len)))
            return oom(ds);
    }
    return put_value(ds, &v);
}

/* ---- documents ---- */

static void begin_doc(doc_stream *ds, bool indexed)
{
    imgsec_err e = {0};
    if (indexed)
        snprintf(ds->where, sizeof ds->where, "documents[%zu].", ds->ndjson ? ds->handed : ds->docs);
    else
        ds->where[0] = '\0';
    doc_build_begin(&ds->b, ds->where, &e);
    ds->building = true;
    ds->at = AT_DOC;
    ds->key = KEY_UNKNOWN;
}

/* The document's closing brace. */
static int end_doc(doc_stream *ds)
{
    ds->building = false;
    ds->have_doc = true;
    ds->doc_rc = doc_build_end(&ds->b, &ds->doc, &ds->doc_err);
    if (ds->ndjson)
        return 1; /* decided when the line ends */
    ds->have_doc = false;
    size_t index = ds->docs++;
    if (ds->doc_rc) {
        if (ds->doc_rc == IMGSEC_EINTERNAL)
            return fatal(ds, ds->doc_rc, &ds->doc_err);
        ds->first_rc = ds->doc_rc;
        ds->first_err = ds->doc_err;
        return 1;
    }
    imgsec_err e = {0};
    int rc = ds->fn(ds->arg, &ds->doc, index, &e);
    ds->handed++;
    memset(&ds->doc, 0, sizeof ds->doc);
    return rc ? fatal(ds, rc, &e) : 1;
}

static int open_value(doc_stream *ds, bool object)
{
    if (++ds->depth > MAX_DEPTH)
        return json_error(ds, "maximum parsing depth reached");
    if (ds->skip) {
        ds->skip++;
        return 1;
    }
    switch (ds->at) {
    case AT_TOP:
        if (object) {
            begin_doc(ds, ds->ndjson);
        } else if (ds->ndjson) {
            ds->top_array = true;
            ds->not_object = true; /* reported when the line has parsed */
            ds->skip = 1;
        } else {
            ds->top_array = true;
            ds->at = AT_DOCS;
        }
        return 1;
    case AT_DOCS:
        /* After the first bad document or past the limit nothing is built. */
        if (!object || ds->first_rc || ds->docs >= DOC_BULK_MAX) {
            if (!object && !ds->first_rc && ds->docs < DOC_BULK_MAX)
                ds->first_rc = err_set(&ds->first_err, IMGSEC_EPARSE,
                                       "invalid JSON body: documents[%zu] is not a JSON object",
                                       ds->docs);
            ds->docs++;
            ds->skip = 1;
            return 1;
        }
        begin_doc(ds, true);
        return 1;
    case AT_DOC:
        if (ds->key == KEY_IMAGE && object) {
            doc_build_image(&ds->b, DB_OBJECT_OR_ARRAY);
            ds->at = AT_IMAGE;
            ds->key = KEY_UNKNOWN;
            return 1;
        }
        if (ds->key >= 0 && !object) {
            doc_build_kind(&ds->b, (report_type)ds->key, DB_OBJECT_OR_ARRAY);
            ds->kind = ds->key;
            ds->at = AT_RECS;
            return 1;
        }
        if (ds->key == KEY_IMAGE)
            doc_build_image(&ds->b, DB_OTHER);
        else if (ds->key >= 0)
            doc_build_kind(&ds->b, (report_type)ds->key, DB_OTHER);
        ds->skip = 1;
        return 1;
    case AT_RECS:
        if (object && ds->b.kinds[ds->kind].n < DOC_RECORDS_MAX && !ds->b.kinds[ds->kind].bad) {
            doc_build_record_begin(&ds->b, (report_type)ds->kind);
            ds->at = AT_REC;
            ds->key = KEY_UNKNOWN;
            return 1;
        }
        if (object)
            ds->b.kinds[ds->kind].n++; /* counted, not read */
        else
            doc_build_not_object(&ds->b, (report_type)ds->kind);
        ds->skip = 1;
        return 1;
    case AT_IMAGE:
    case AT_REC:
        if (ds->key >= 0) {
            doc_val v = {.kind = DOC_V_OTHER};
            if (ds->at == AT_IMAGE)
                ds->b.image[ds->key] = v;
            else
                ds->b.rec[ds->key] = v;
        }
        ds->skip = 1;
        return 1;
    case AT_AFTER:
        break;
    }
    return json_error(ds, "end of input expected");
}

static int close_value(doc_stream *ds)
{
    if (--ds->depth == 0) { /* only white space may follow (ends_clean) */
        ds->top_ended = true;
        ds->top_end = yajl_get_bytes_consumed(ds->h);
    }
    if (ds->skip) {
        ds->skip--;
        if (ds->skip == 0 && ds->at == AT_TOP)
            ds->at = AT_AFTER;
        return 1;
    }
    switch (ds->at) {
    case AT_REC:
        ds->at = AT_RECS;
        return doc_build_record_end(&ds->b, (report_type)ds->kind) ? 1 : oom(ds);
    case AT_RECS:
    case AT_IMAGE:
        ds->at = AT_DOC;
        ds->key = KEY_UNKNOWN;
        return 1;
    case AT_DOC:
        ds->at = ds->depth > 0 ? AT_DOCS : AT_AFTER;
        return end_doc(ds);
    case AT_DOCS:
        ds->at = AT_AFTER;
        return 1;
    default:
        return 1;
    }
}

static int cb_start_map(void *ctx)
{
    return open_value(ctx, true);
}

static int cb_start_array(void *ctx)
{
    return open_value(ctx, false);
}

static int cb_end(void *ctx)
{
    return close_value(ctx);
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
    doc_stream *ds = ctx;
    if (!text_ok(ds, k, len))
        return 0;
    if (ds->skip)
        return 1;
    const char *key = (const char *)k;
    switch (ds->at) {
    case AT_DOC:
        if (len == 5 && memcmp(key, "image", 5) == 0)
            ds->key = KEY_IMAGE;
        else
            ds->key = doc_kind_key(key, len);
        break;
    case AT_IMAGE: ds->key = doc_image_key(key, len); break;
    case AT_REC: ds->key = doc_field_key((report_type)ds->kind, key, len); break;
    default: ds->key = KEY_UNKNOWN; break;
    }
    return 1;
}

static const yajl_callbacks CALLBACKS = {
    cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
    cb_start_map, cb_map_key, cb_end, cb_start_array, cb_end,
};

/* ---- the parser ---- */

static bool reset_parser(doc_stream *ds)
{
    if (ds->h)
        yajl_free(ds->h);
    ds->h = yajl_alloc(&CALLBACKS, NULL, ds);
    ds->at = AT_TOP;
    ds->depth = ds->skip = 0;
    ds->esc = 0;
    ds->building = false;
    ds->not_object = false;
    ds->top_ended = false;
    ds->cb_rc = 0;
    return ds->h != NULL;
}

doc_stream *doc_stream_new(bool ndjson, doc_stream_fn fn, void *arg)
{
    doc_stream *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->ndjson = ndjson;
    ds->fn = fn;
    ds->arg = arg;
    if (!doc_build_init(&ds->b) || !reset_parser(ds)) {
        doc_stream_free(ds);
        return NULL;
    }
    return ds;
}

void doc_stream_free(doc_stream *ds)
{
    if (!ds)
        return;
    if (ds->h)
        yajl_free(ds->h);
    doc_build_free(&ds->b);
    doc_free(&ds->doc);
    free(ds->line);
    free(ds);
}

size_t doc_stream_count(const doc_stream *ds)
{
    return ds->handed;
}

/* The stream's error becomes final. */
static int fail(doc_stream *ds, int rc, imgsec_err *err)
{
    ds->rc = rc;
    if (err != &ds->err)
        ds->err = *err;
    return rc;
}

/* yajl's text for the error of the last parse, without its newline. */
static void yajl_text(doc_stream *ds, const char *buf, size_t len, char *out, size_t size)
{
    unsigned char *t = yajl_get_error(ds->h, 0, (const unsigned char *)buf, len);
    snprintf(out, size, "%s", t ? (const char *)t : "invalid JSON");
    if (t)
        yajl_free_error(ds->h, t);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* After a failed yajl call: a callback's fatal error, or the JSON error's text. */
static bool parse_failed(doc_stream *ds, const char *buf, size_t len, char *text, size_t size)
{
    if (ds->cb_rc && !ds->cb_json) {
        fail(ds, ds->cb_rc, &ds->cb_err);
        return false;
    }
    if (ds->cb_rc)
        snprintf(text, size, "%s", ds->cb_err.msg);
    else
        yajl_text(ds, buf, len, text, size);
    return true;
}

/* The offset of the first byte of buf[from..len) that is not JSON white
 * space, else len. yajl lets an unfinished token after the top-level
 * value pass ("{}\"x": it waits for the string's end), jansson does not. */
static size_t not_space(const char *buf, size_t from, size_t len)
{
    while (from < len && (buf[from] == ' ' || buf[from] == '\t' || buf[from] == '\n' ||
                          buf[from] == '\r'))
        from++;
    return from;
}

/* ---- NDJSON: one line at a time ---- */

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int line_error(doc_stream *ds, const char *text, size_t column)
{
    err_set(&ds->err, IMGSEC_EPARSE, "invalid NDJSON body: line %zu: %s (column %zu)", ds->lineno,
            text, column);
    return fail(ds, IMGSEC_EPARSE, &ds->err);
}

static int ndjson_line(doc_stream *ds, const char *p, size_t n)
{
    char text[IMGSEC_ERR_MSG_MAX];
    ds->lineno++;
    if (blank(p, n))
        return IMGSEC_OK;
    if (!reset_parser(ds))
        return fail(ds, IMGSEC_EINTERNAL, &(imgsec_err){IMGSEC_EINTERNAL, "out of memory"});
    /* yajl reads up to the first byte only jansson refuses: the error
     * is the first in the line either way */
    const char *why;
    size_t bad = first_bad(ds, p, n, &why);
    yajl_status st = yajl_parse(ds->h, (const unsigned char *)p, bad);
    size_t at = yajl_get_bytes_consumed(ds->h);
    if (st == yajl_status_ok && ds->top_ended && not_space(p, ds->top_end, bad) < bad) {
        why = "end of input expected";
        bad = not_space(p, ds->top_end, bad);
    }
    if (st == yajl_status_ok && bad < n) {
        if (ds->building)
            doc_build_abandon(&ds->b);
        doc_free(&ds->doc);
        ds->have_doc = false;
        return line_error(ds, why, bad + 1);
    }
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(ds->h);
        at = n;
    }
    if (st != yajl_status_ok) {
        if (ds->building)
            doc_build_abandon(&ds->b);
        doc_free(&ds->doc);
        ds->have_doc = false;
        if (!parse_failed(ds, p, n, text, sizeof text))
            return ds->rc;
        return line_error(ds, text, at + 1);
    }
    if (ds->not_object || !ds->have_doc) {
        err_set(&ds->err, IMGSEC_EPARSE, "invalid NDJSON body: line %zu: not a JSON object",
                ds->lineno);
        return fail(ds, IMGSEC_EPARSE, &ds->err);
    }
    ds->have_doc = false;
    if (ds->handed >= DOC_BULK_MAX) {
        doc_free(&ds->doc);
        return fail(ds, doc_too_many_documents(&ds->err), &ds->err);
    }
    if (ds->doc_rc)
        return fail(ds, ds->doc_rc, &ds->doc_err);
    imgsec_err e = {0};
    int rc = ds->fn(ds->arg, &ds->doc, ds->handed, &e);
    memset(&ds->doc, 0, sizeof ds->doc);
    ds->handed++;
    return rc ? fail(ds, rc, &e) : IMGSEC_OK;
}

static int ndjson_feed(doc_stream *ds, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (ds->line_len == 0 && nl) { /* a whole line in the piece: no copy */
            int rc = ndjson_line(ds, p, n);
            if (rc)
                return rc;
        } else {
            if (ds->line_len + n + 1 > ds->line_cap) {
                size_t cap = ds->line_cap ? ds->line_cap : 65536;
                while (cap < ds->line_len + n + 1)
                    cap *= 2;
                char *line = realloc(ds->line, cap);
                if (!line)
                    return fail(ds, IMGSEC_EINTERNAL,
                                &(imgsec_err){IMGSEC_EINTERNAL, "out of memory"});
                ds->line = line;
                ds->line_cap = cap;
            }
            memcpy(ds->line + ds->line_len, p, n);
            ds->line_len += n;
            if (nl) {
                int rc = ndjson_line(ds, ds->line, ds->line_len);
                ds->line_len = 0;
                if (rc)
                    return rc;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return IMGSEC_OK;
}

/* ---- one JSON value ---- */

/* why: the error's text, NULL: yajl's or a callback's. */
static int json_fail(doc_stream *ds, const char *buf, size_t len, size_t at, const char *why)
{
    char text[IMGSEC_ERR_MSG_MAX];
    if (ds->building)
        doc_build_abandon(&ds->b);
    if (why)
        snprintf(text, sizeof text, "%s", why);
    else if (!parse_failed(ds, buf, len, text, sizeof text))
        return ds->rc;
    size_t line = ds->lines_before + 1, col = ds->col_before;
    for (size_t i = 0; i < at && i < len; i++) {
        if (buf[i] == '\n') {
            line++;
            col = 0;
        } else {
            col++;
        }
    }
    err_set(&ds->err, IMGSEC_EPARSE, "invalid JSON body: line %zu column %zu: %s", line, col + 1,
            text);
    return fail(ds, IMGSEC_EPARSE, &ds->err);
}

static int json_feed(doc_stream *ds, const char *buf, size_t len)
{
    const char *why;
    size_t bad = first_bad(ds, buf, len, &why);
    if (ds->top_ended) { /* a later piece: white space only */
        ds->top_end = 0;
        if (not_space(buf, 0, bad) < bad)
            return json_fail(ds, buf, len, not_space(buf, 0, bad), "end of input expected");
    }
    bool ended = ds->top_ended;
    if (yajl_parse(ds->h, (const unsigned char *)buf, bad) != yajl_status_ok)
        return json_fail(ds, buf, bad, yajl_get_bytes_consumed(ds->h), NULL);
    if (!ended && ds->top_ended && not_space(buf, ds->top_end, bad) < bad)
        return json_fail(ds, buf, len, not_space(buf, ds->top_end, bad), "end of input expected");
    if (bad < len)
        return json_fail(ds, buf, len, bad, why);
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            ds->col_before += (size_t)(end - p);
            break;
        }
        ds->lines_before++;
        ds->col_before = 0;
        p = nl + 1;
    }
    return IMGSEC_OK;
}

static int json_end(doc_stream *ds)
{
    if (yajl_complete_parse(ds->h) != yajl_status_ok)
        return json_fail(ds, "", 0, 0, NULL);
    if (ds->top_array && ds->docs == 0)
        return fail(ds, doc_no_documents(&ds->err), &ds->err); /* [] */
    if (ds->docs > DOC_BULK_MAX)
        return fail(ds, doc_too_many_documents(&ds->err), &ds->err);
    if (ds->first_rc)
        return fail(ds, ds->first_rc, &ds->first_err);
    return IMGSEC_OK;
}

int doc_stream_feed(doc_stream *ds, const char *buf, size_t len, imgsec_err *err)
{
    if (!ds->rc && len)
        ds->ndjson ? ndjson_feed(ds, buf, len) : json_feed(ds, buf, len);
    if (ds->rc)
        *err = ds->err;
    return ds->rc;
}

int doc_stream_end(doc_stream *ds, imgsec_err *err)
{
    if (!ds->rc) {
        if (ds->ndjson) {
            if (ds->line_len) {
                size_t n = ds->line_len;
                ds->line_len = 0;
                ndjson_line(ds, ds->line, n);
            }
            if (!ds->rc && ds->handed == 0)
                fail(ds, doc_no_documents(&ds->err), &ds->err);
        } else {
            json_end(ds);
        }
    }
    if (ds->rc)
        *err = ds->err;
    return ds->rc;
}
