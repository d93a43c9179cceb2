/* an_pkg.c - shared helpers of the package analyzers (an_pkg.h). */
#include "scan/an_pkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

bool an_line_next(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end)
        return false;
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    *line = s;
    *len = (size_t)(e - s);
    return true;
}

void an_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

void an_stanzas_init(an_stanzas *r, const unsigned char *data, size_t len)
{
    r->p = an_text(data);
    r->end = r->p + len;
    r->in_stanza = false;
}

int an_stanza_next(an_stanzas *r, an_span *key, an_span *value)
{
    const char *line;
    size_t n;
    for (;;) {
        bool more = an_line_next(&r->p, r->end, &line, &n);
        if (!more || n == 0) {
            if (r->in_stanza) {
                r->in_stanza = false;
                return AN_STANZA_END;
            }
            if (!more)
                return AN_STANZAS_DONE;
            continue;
        }
        r->in_stanza = true;
        if (line[0] == ' ' || line[0] == '\t')
            continue;
        const char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        key->v = line;
        key->n = (size_t)(colon - line);
        value->v = colon + 1;
        value->n = n - key->n - 1;
        an_trim(&value->v, &value->n);
        return AN_STANZA_FIELD;
    }
}

bool an_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

const char *an_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *an_json_strn(const char *s, size_t n, size_t max)
{
    char *out = malloc((n < max ? n : max) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0 || u[i] == 0) { /* invalid, or a NUL inside: one '?' per byte */
            if (o + 1 > max)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + k > max)
            break;
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

/* Percent-encodes s into b: everything but A-Z a-z 0-9 . - _ ~ (and the
 * characters of keep). */
static void purl_encode(util_buf *b, const char *s, size_t n, const char *keep)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_' || c == '~' || (c && keep && strchr(keep, c))) {
            util_buf_put(b, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', HEX[c >> 4], HEX[c & 15]};
            util_buf_put(b, esc, 3);
        }
    }
}

static int qual_cmp(const void *a, const void *b)
{
    return strcmp(((const an_qual *)a)->key, ((const an_qual *)b)->key);
}

#define AN_PURL_QUALS_MAX 8

char *an_purl(const char *type, const char *ns, const char *name, const char *version,
              const an_qual *quals, size_t n_quals)
{
    if (!name || !*name || n_quals > AN_PURL_QUALS_MAX)
        return strdup(""); /* no purl, not out of memory */
    util_buf b = {0};
    util_buf_printf(&b, "pkg:%s/", type);
    if (ns && *ns) {
        const char *s = ns;
        while (*s) {
            const char *slash = strchr(s, '/');
            size_t n = slash ? (size_t)(slash - s) : strlen(s);
            if (n) {
                purl_encode(&b, s, n, NULL);
                util_buf_put(&b, "/", 1);
            }
            s += n + (slash ? 1 : 0);
        }
    }
    purl_encode(&b, name, strlen(name), NULL);
    if (version && *version) {
        util_buf_put(&b, "@", 1);
        purl_encode(&b, version, strlen(version), ":");
    }
    an_qual sorted[AN_PURL_QUALS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < n_quals; i++)
        if (quals[i].value && *quals[i].value)
            sorted[n++] = quals[i];
    qsort(sorted, n, sizeof *sorted, qual_cmp);
    for (size_t i = 0; i < n; i++) {
        util_buf_put(&b, i ? "&" : "?", 1);
        util_buf_printf(&b, "%s=", sorted[i].key);
        purl_encode(&b, sorted[i].value, strlen(sorted[i].value), NULL);
    }
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

static int obj_set(json_t *obj, const char *key, const char *s, size_t max)
{
    if (!s || !*s)
        return 0;
    return an_obj_setn(obj, key, s, strlen(s), max);
}

json_t *an_app_json(const an_app *a)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = obj_set(o, "app_name", a->name, AN_NAME_MAX) |
             obj_set(o, "app_version", a->version, AN_VERSION_MAX) |
             obj_set(o, "app_type", a->type, AN_VERSION_MAX) |
             obj_set(o, "app_path", a->path, AN_PATH_MAX) |
             obj_set(o, "layer_digest", a->layer, AN_VERSION_MAX) |
             obj_set(o, "license", a->license, AN_LICENSE_MAX) |
             obj_set(o, "purl", a->purl, AN_PATH_MAX);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int an_emit_app(scan_result *res, const an_app *a)
{
    if (!a->name || !*a->name)
        return 0;
    return scan_emit(res, REPORT_APPS, an_app_json(a));
}

int an_pending_init(an_pending *p)
{
    p->dropped = 0;
    p->items = json_array();
    return p->items ? 0 : -1;
}

void an_pending_free(an_pending *p)
{
    json_decref(p->items);
    p->items = NULL;
}

int an_pending_add(an_pending *p, json_t *obj)
{
    if (!obj)
        return -1;
    if (json_array_size(p->items) >= AN_PENDING_MAX) {
        json_decref(obj);
        p->dropped++;
        return 1;
    }
    return json_array_append_new(p->items, obj) == 0 ? 0 : -1;
}

int an_obj_setn(json_t *obj, const char *key, const char *s, size_t n, size_t max)
{
    if (!n)
        return 0;
    json_t *v = an_json_strn(s, n, max);
    return v && json_object_set_new(obj, key, v) == 0 ? 0 : -1;
}

const char *an_obj_get(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int an_pending_emit(scan_result *res, json_t *obj, char *purl)
{
    json_t *rec = json_object();
    if (!rec) {
        free(purl);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (key[0] != '_' && json_object_set(rec, key, v) != 0)
            goto oom;
    }
    if (purl && *purl) {
        json_t *p = json_string(purl); /* ASCII: percent-encoded */
        if (!p || json_object_set_new(rec, "purl", p) != 0)
            goto oom;
    }
    free(purl);
    return scan_emit(res, REPORT_APPS, rec);
oom:
    free(purl);
    json_decref(rec);
    return -1;
}

const char *an_distro(const scan_result *res, char *buf, size_t size)
{
    const char *id = scan_os_id(res), *ver = scan_os_version(res);
    if (!id)
        return NULL;
    if (ver)
        snprintf(buf, size, "%s-%s", id, ver);
    else
        snprintf(buf, size, "%s", id);
    return buf;
}
