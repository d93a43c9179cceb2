/* imp_common.c - shared readers and mappings of the importers (imp_int.h).
 *
 * Kept apart from the per-format files so that every format normalises
 * severities, times, image references and secrets the same way; the rules
 * here are the ones docs/importers.md documents. */
#include "imp_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imgsec/buildrisk.h"
#include "imgsec/model.h"
#include "imgsec/util.h"

int imp_fail(imp_ctx *c, const char *at, const char *fmt, ...)
{
    char what[IMGSEC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(c->err, IMGSEC_EINVAL, "%s: %s: %s%s%s", c->source, c->what, at ? at : "",
                   at && *at ? " " : "", what);
}

int imp_oom(imp_ctx *c)
{
    return err_set(c->err, IMGSEC_EINTERNAL, "out of memory");
}

void imp_at(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static void at_key(char *buf, size_t size, const char *at, const char *key)
{
    imp_at(buf, size, "%s%s%s", at ? at : "", at && *at ? "." : "", key);
}

static int imp_typed(imp_ctx *c, const json_t *obj, const char *at, const char *key,
                     const json_t **out, json_type type, const char *type_name)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return IMGSEC_OK;
    if (json_typeof(v) != type) {
        char where[IMP_AT_MAX];
        at_key(where, sizeof where, at, key);
        return imp_fail(c, where, "must be %s", type_name);
    }
    *out = v;
    return IMGSEC_OK;
}

int imp_str(imp_ctx *c, const json_t *obj, const char *at, const char *key, const char **out)
{
    const json_t *v;
    int rc = imp_typed(c, obj, at, key, &v, JSON_STRING, "a string");
    *out = v ? json_string_value(v) : NULL;
    return rc;
}

int imp_arr(imp_ctx *c, const json_t *obj, const char *at, const char *key, const json_t **out)
{
    return imp_typed(c, obj, at, key, out, JSON_ARRAY, "an array");
}

int imp_obj(imp_ctx *c, const json_t *obj, const char *at, const char *key, const json_t **out)
{
    return imp_typed(c, obj, at, key, out, JSON_OBJECT, "an object");
}

int imp_elem_obj(imp_ctx *c, const json_t *elem, const char *at)
{
    return json_is_object(elem) ? IMGSEC_OK : imp_fail(c, at, "must be an object");
}

int imp_fail_required(imp_ctx *c, const char *at, const char *key)
{
    char where[IMP_AT_MAX];
    at_key(where, sizeof where, at, key);
    return imp_fail(c, where, "is required");
}

int imp_set_str(json_t *rec, const char *key, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t len = strlen(s);
    if (len > MODEL_RECORD_STRING_MAX) {
        len = MODEL_RECORD_STRING_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--; /* never cut inside a UTF-8 sequence */
    }
    return json_object_set_new(rec, key, json_stringn(s, len)) == 0 ? 0 : -1;
}

int imp_push(json_t *doc, const char *key, json_t *rec)
{
    json_t *arr = json_object_get(doc, key);
    if (!rec)
        return -1;
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(doc, key, arr) != 0) {
            json_decref(rec);
            return -1;
        }
    }
    return json_array_append_new(arr, rec) == 0 ? 0 : -1;
}

void imp_join(char *buf, size_t size, size_t *used, const char *s)
{
    /* snprintf counts what did not fit too, so once cut *used >= size */
    if (*used < size)
        *used += (size_t)snprintf(buf + *used, size - *used, "%s%s", *used ? ", " : "", s);
}

/* ---- severities ---- */

static const struct {
    const char *spelling, *canon;
} SEVERITIES[] = {
    {"critical", "critical"}, {"high", "high"},       {"important", "high"},
    {"medium", "medium"},     {"moderate", "medium"}, {"low", "low"},
    {"negligible", "low"},    {"info", "low"},        {"informational", "low"},
    {"unknown", "unknown"},   {"none", "unknown"},    {"unspecified", "unknown"},
};

const char *imp_severity(const char *s)
{
    if (!s || !*s)
        return "unknown";
    for (size_t i = 0; i < sizeof SEVERITIES / sizeof SEVERITIES[0]; i++)
        if (strcasecmp(s, SEVERITIES[i].spelling) == 0)
            return SEVERITIES[i].canon;
    return NULL;
}

const char *imp_severity_max(const char *a, const char *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return severity_parse(b) > severity_parse(a) ? b : a;
}

/* ---- times ---- */

int64_t imp_time_ms(const char *s)
{
    int y, mo, d, h, mi, sec, ms = 0;
    if (!s || strlen(s) < 19 || !util_parse_digits(s, 4, &y) || s[4] != '-' ||
        !util_parse_digits(s + 5, 2, &mo) || s[7] != '-' || !util_parse_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != ' ') || !util_parse_digits(s + 11, 2, &h) || s[13] != ':' ||
        !util_parse_digits(s + 14, 2, &mi) || s[16] != ':' || !util_parse_digits(s + 17, 2, &sec))
        return -1;
    int64_t secs = util_utc_seconds(y, mo, d, h, mi, sec);
    if (secs < 0)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        for (; n < 3; n++)
            ms *= 10;
    }
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (!util_parse_digits(p + 1, 2, &oh) || p[3] != ':' || !util_parse_digits(p + 4, 2, &om))
            return -1;
        off = (int64_t)(oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
    } else if (*p != 'Z' && *p != 'z' && *p != '\0') {
        return -1;
    }
    int64_t t = secs - off;
    return t < 0 ? -1 : t * 1000 + ms;
}

/* ---- image identity ---- */

/* Splits "registry/ns/repo:tag@sha256:..." into name, tag and digest. */
static int ref_split(const char *ref, char **name, char **tag, char **digest)
{
    const char *at = strchr(ref, '@');
    size_t len = at ? (size_t)(at - ref) : strlen(ref);
    const char *slash = NULL, *colon = NULL;
    for (size_t i = 0; i < len; i++) {
        if (ref[i] == '/')
            slash = ref + i;
        else if (ref[i] == ':')
            colon = ref + i;
    }
    if (colon && slash && colon < slash)
        colon = NULL; /* registry:port/repo */
    size_t nlen = colon ? (size_t)(colon - ref) : len;
    *name = strndup(ref, nlen);
    *tag = colon ? strndup(colon + 1, len - nlen - 1) : NULL;
    *digest = at ? strdup(at + 1) : NULL;
    return *name ? 0 : -1;
}

void imp_image_from_target(const json_t *t, imp_image *img)
{
    const json_t *size = json_object_get(t, "imageSize");
    const char *tag = json_string_value(json_array_get(json_object_get(t, "tags"), 0));
    const char *rd = json_string_value(json_array_get(json_object_get(t, "repoDigests"), 0));
    const char *at_sign = rd ? strchr(rd, '@') : NULL;
    img->ref = tag ? tag : json_string_value(json_object_get(t, "userInput"));
    img->image_id = json_string_value(json_object_get(t, "imageID"));
    img->digest = at_sign ? at_sign + 1 : json_string_value(json_object_get(t, "manifestDigest"));
    img->size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
}

int imp_doc_new(imp_ctx *c, const imp_image *img, const import_options *opt, json_t **out)
{
    char *rname = NULL, *rtag = NULL, *rdigest = NULL;
    if (img->ref && ref_split(img->ref, &rname, &rtag, &rdigest) != 0)
        return imp_oom(c);
    const char *name = opt->image_name ? opt->image_name : rname ? rname : img->name;
    const char *version = opt->image_version ? opt->image_version
                          : rtag                ? rtag
                          : img->version        ? img->version
                                                : "";
    const char *digest = img->digest ? img->digest : rdigest ? rdigest : "";
    int rc = IMGSEC_OK;
    json_t *doc = NULL, *image = NULL;

    if (!name || !*name) {
        rc = imp_fail(c, NULL, "names no image: give one (--image-name, or query image_name)");
        goto done;
    }
    image = json_object();
    doc = json_object();
    if (!image || !doc || json_object_set_new(doc, "image", image) != 0) {
        json_decref(image);
        rc = imp_oom(c);
        goto done;
    }
    int64_t scan = img->scan_ms >= 0 ? img->scan_ms : opt->now_ms;
    if (json_object_set_new(image, "image_type",
                            json_string(opt->image_type ? opt->image_type : "local_image")) ||
        json_object_set_new(image, "namespace",
                            json_string(opt->namespace_ ? opt->namespace_ : "")) ||
        json_object_set_new(image, "image_name", json_string(name)) ||
        json_object_set_new(image, "image_version", json_string(version)) ||
        json_object_set_new(image, "image_id", json_string(img->image_id ? img->image_id : "")) ||
        json_object_set_new(image, "image_digest", json_string(digest)) ||
        json_object_set_new(image, "image_size", json_integer(img->size > 0 ? img->size : 0)) ||
        json_object_set_new(image, "latest_update_time",
                            json_integer(img->created_ms > 0 ? img->created_ms : 0)) ||
        json_object_set_new(image, "latest_scan_time", json_integer(scan > 0 ? scan : 0)) ||
        json_object_set_new(image, "scan_status", json_string("success")))
        rc = imp_oom(c);
done:
    free(rname);
    free(rtag);
    free(rdigest);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return IMGSEC_OK;
}

/* ---- packages ---- */

const char *imp_purl_type(const char *purl, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!purl || strncmp(purl, "pkg:", 4) != 0)
        return buf;
    const char *p = purl + 4, *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : 0;
    if (n == 0 || n >= size)
        return buf;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)p[i]);
    buf[n] = '\0';
    return buf;
}

int imp_is_os_pkg_type(const char *type)
{
    static const char *const OS[] = {"deb", "rpm", "apk", "alpm", "portage", "dpkg", NULL};
    for (int i = 0; type && OS[i]; i++)
        if (strcasecmp(type, OS[i]) == 0)
            return 1;
    return 0;
}

/* ---- secrets ---- */

char *import_redact(const char *s)
{
    size_t len = s ? strlen(s) : 0, out = 0, chars = 0;
    char *r = malloc(len < IMPORT_REDACT_MAX * 4 ? len + 1 : IMPORT_REDACT_MAX * 4 + 1);
    if (!r)
        return NULL;
    for (size_t i = 0; i < len && chars < IMPORT_REDACT_MAX; chars++) {
        size_t n = 1; /* bytes of this UTF-8 character */
        while (i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
            n++;
        if (chars < IMPORT_REDACT_KEEP) {
            memcpy(r + out, s + i, n);
            out += n;
        } else {
            r[out++] = '*';
        }
        i += n;
    }
    r[out] = '\0';
    return r;
}

/* ---- risky build history (the rules: buildrisk.c) ---- */

int imp_set_instruction(json_t *rec, const char *text)
{
    char *shown = buildrisk_redact(text);
    int bad = !shown || imp_set_str(rec, "build_instruction", shown);
    free(shown);
    return bad;
}

int imp_history_risks(imp_ctx *c, json_t *doc, const char *created_by)
{
    if (!created_by || !*created_by)
        return IMGSEC_OK;
    for (size_t i = 0; i < buildrisk_rules_count; i++) {
        const buildrisk_rule *r = &buildrisk_rules[i];
        if (r->scan_only || !r->match(created_by))
            continue;
        json_t *rec = json_object();
        int bad = !rec || imp_set_str(rec, "rule_id", r->rule_id) ||
                  imp_set_str(rec, "risk_name", r->name) ||
                  imp_set_str(rec, "risk_level", r->level) ||
                  imp_set_instruction(rec, created_by) ||
                  imp_set_str(rec, "remediation", r->remediation) ||
                  imp_set_str(rec, "description", "found in the image's build history");
        if (bad) {
            json_decref(rec);
            return imp_oom(c);
        }
        if (imp_push(doc, "build_command_risks", rec) != 0)
            return imp_oom(c);
    }
    return IMGSEC_OK;
}
