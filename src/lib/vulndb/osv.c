/* osv.c - OSV records (https://ossf.github.io/osv-schema/) as the
 * vulnerability database keeps them.
 *
 * A record becomes: its id and modified time, withdrawn or not, the
 * fields a vulnerability record shows (vul_id = the first CVE of aliases,
 * else of upstream, else of related, else the id; severity and score;
 * description; url), and one entry per affected
 * package with the package's lookup key and its ranges and versions in
 * the binary spec encoding of vulndb_int.h (only ECOSYSTEM and SEMVER
 * ranges: GIT ranges name commits, which an image's packages do not
 * carry).
 *
 * Severity, first that applies: a CVSS v3.x vector in severity[] (score
 * from the v3.1 formula), a CVSS v4.0 vector, then the ecosystem's own
 * rating: database_specific.severity (GitHub: LOW MODERATE HIGH
 * CRITICAL), severity[] of type Ubuntu, affected[].ecosystem_specific or
 * database_specific severity; else unknown.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"
#include "vulndb/vulndb_int.h"

static const osv_ecosystem ECOSYSTEMS[] = {
    {"Debian", VERSION_DPKG, VUL_TYPE_LINUX},
    {"Ubuntu", VERSION_DPKG, VUL_TYPE_LINUX},
    {"Alpine", VERSION_APK, VUL_TYPE_LINUX},
    {"AlmaLinux", VERSION_RPM, VUL_TYPE_LINUX},
    {"Rocky Linux", VERSION_RPM, VUL_TYPE_LINUX},
    {"Red Hat", VERSION_RPM, VUL_TYPE_LINUX},
    {"openSUSE", VERSION_RPM, VUL_TYPE_LINUX},
    {"SUSE", VERSION_RPM, VUL_TYPE_LINUX},
    {"Mageia", VERSION_RPM, VUL_TYPE_LINUX},
    {"Azure Linux", VERSION_RPM, VUL_TYPE_LINUX},
    {"npm", VERSION_SEMVER, VUL_TYPE_APP},
    {"crates.io", VERSION_SEMVER, VUL_TYPE_APP},
    {"Go", VERSION_SEMVER, VUL_TYPE_APP},
    {"PyPI", VERSION_PEP440, VUL_TYPE_APP},
    {"Maven", VERSION_MAVEN, VUL_TYPE_APP},
    {"RubyGems", VERSION_GEM, VUL_TYPE_APP},
};

const osv_ecosystem *osv_ecosystem_find(const char *full)
{
    size_t n = strcspn(full, ":");
    for (size_t i = 0; i < sizeof ECOSYSTEMS / sizeof *ECOSYSTEMS; i++)
        if (strlen(ECOSYSTEMS[i].name) == n && strncmp(ECOSYSTEMS[i].name, full, n) == 0)
            return &ECOSYSTEMS[i];
    return NULL;
}

bool osv_key(const char *ecosystem, const char *name, char *eco_out, size_t eco_size,
             char *name_out, size_t name_size)
{
    size_t en = strlen(ecosystem);
    if (strncmp(ecosystem, "Ubuntu:", 7) == 0 && en > 11 && strcmp(ecosystem + en - 4, ":LTS") == 0)
        en -= 4;
    if (en + 1 > eco_size) return false;
    memcpy(eco_out, ecosystem, en);
    eco_out[en] = '\0';
    if (strcmp(eco_out, "PyPI") == 0) {
        /* PEP 503: lower case, runs of - _ . as one - */
        size_t o = 0;
        for (const char *p = name; *p; p++) {
            char c = *p;
            if (c == '-' || c == '_' || c == '.') {
                while (p[1] == '-' || p[1] == '_' || p[1] == '.') p++;
                c = '-';
            }
            if (o + 1 >= name_size) return false;
            name_out[o++] = (char)tolower((unsigned char)c);
        }
        name_out[o] = '\0';
        return true;
    }
    size_t nn = strlen(name);
    if (nn + 1 > name_size) return false;
    memcpy(name_out, name, nn + 1);
    return true;
}

static char *dup_bounded(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* whole UTF-8 characters */
    }
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static const char *str_field(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* "LOW", "MODERATE", "medium", ... -> severity; -1 when not a rating. */
static int rating_parse(const char *s)
{
    if (!s) return -1;
    if (strcasecmp(s, "moderate") == 0) return SEVERITY_MEDIUM;
    if (strcasecmp(s, "important") == 0) return SEVERITY_HIGH;
    if (strcasecmp(s, "negligible") == 0 || strcasecmp(s, "unimportant") == 0) return SEVERITY_LOW;
    int r = severity_parse(s);
    return r;
}

static int rating_of(const json_t *o)
{
    const json_t *ds = json_object_get(o, "database_specific");
    int r = rating_parse(str_field(ds, "severity"));
    if (r < 0) r = rating_parse(str_field(json_object_get(o, "ecosystem_specific"), "severity"));
    return r;
}

static void record_severity(const json_t *root, osv_record *rec)
{
    rec->sev = SEVERITY_UNKNOWN;
    rec->score = -1;
    const json_t *sev = json_object_get(root, "severity");
    int rating = -1;
    double s3 = -1, s4 = -1;
    size_t i;
    const json_t *e;
    json_array_foreach(sev, i, e) {
        const char *type = str_field(e, "type"), *score = str_field(e, "score");
        if (!type || !score) continue;
        double s;
        if (strcmp(type, "CVSS_V3") == 0 && s3 < 0 && cvss3_score(score, &s) == 0) s3 = s;
        else if (strcmp(type, "CVSS_V4") == 0 && s4 < 0 && cvss4_score(score, &s) == 0) s4 = s;
        else if (strcmp(type, "Ubuntu") == 0 && rating < 0) rating = rating_parse(score);
    }
    if (s3 >= 0 || s4 >= 0) {
        rec->score = s3 >= 0 ? s3 : s4;
        rec->sev = cvss_severity(rec->score);
        if (rec->sev != SEVERITY_UNKNOWN) return;
    }
    if (rating < 0) rating = rating_of(root);
    const json_t *aff = json_object_get(root, "affected");
    json_array_foreach(aff, i, e) {
        if (rating >= 0) break;
        rating = rating_of(e);
    }
    if (rating >= 0) rec->sev = (severity)rating;
}

void osv_record_free(osv_record *rec)
{
    if (!rec) return;
    free(rec->id);
    free(rec->modified);
    free(rec->vul_id);
    free(rec->description);
    free(rec->url);
    free(rec->json);
    for (size_t i = 0; i < rec->n_affected; i++) {
        free(rec->affected[i].ecosystem);
        free(rec->affected[i].name);
        free(rec->affected[i].spec);
    }
    free(rec->affected);
    memset(rec, 0, sizeof *rec);
}

#define FAIL(code, ...) do { err_set(err, code, __VA_ARGS__); goto fail; } while (0)

static void put_u32(util_buf *b, uint32_t v)
{
    char le[4] = {(char)(v & 0xff), (char)(v >> 8 & 0xff), (char)(v >> 16 & 0xff), (char)(v >> 24)};
    util_buf_put(b, le, 4);
}

static void put_u32_at(util_buf *b, size_t at, uint32_t v)
{
    if (b->failed) return;
    for (int i = 0; i < 4; i++) b->buf[at + (size_t)i] = (char)(v >> (8 * i) & 0xff);
}

static void put_str(util_buf *b, const char *s)
{
    util_buf_put(b, s, strlen(s) + 1);
}

/* The ranges an image's package can be matched against, and the versions
 * list, in the spec encoding (vulndb_int.h). */
static unsigned char *affected_spec(const json_t *a, const char *id, size_t idx, size_t *len,
                                    imgsec_err *err)
{
    util_buf b = {0};
    const json_t *rs = json_object_get(a, "ranges");
    if (rs && !json_is_array(rs)) {
        err_set(err, IMGSEC_EINVAL, "%s: affected[%zu].ranges: not an array", id, idx);
        return NULL;
    }
    const json_t *vs = json_object_get(a, "versions");
    if (vs && !json_is_array(vs)) {
        err_set(err, IMGSEC_EINVAL, "%s: affected[%zu].versions: not an array", id, idx);
        return NULL;
    }
    size_t i;
    const json_t *v;
    uint32_t n = 0;
    put_u32(&b, 0);
    json_array_foreach(vs, i, v) {
        if (json_is_string(v) && strlen(json_string_value(v)) <= VERSION_MAX) {
            put_str(&b, json_string_value(v));
            n++;
        }
    }
    put_u32_at(&b, 0, n);
    size_t n_ranges_at = b.len;
    uint32_t n_ranges = 0;
    put_u32(&b, 0);
    const json_t *r;
    json_array_foreach(rs, i, r) {
        const char *type = str_field(r, "type");
        const json_t *events = json_object_get(r, "events");
        if (!type || !json_is_array(events)) {
            err_set(err, IMGSEC_EINVAL, "%s: affected[%zu].ranges[%zu]: needs type and events", id,
                    idx, i);
            goto fail;
        }
        if (strcmp(type, "ECOSYSTEM") != 0 && strcmp(type, "SEMVER") != 0) continue;
        char t = strcmp(type, "SEMVER") == 0 ? SPEC_SEMVER : SPEC_ECOSYSTEM;
        util_buf_put(&b, &t, 1);
        size_t n_events_at = b.len;
        put_u32(&b, 0);
        uint32_t n_events = 0;
        size_t j;
        const json_t *ev;
        json_array_foreach(events, j, ev) {
            static const char *const KINDS[] = {[SPEC_INTRODUCED] = "introduced", [SPEC_FIXED] = "fixed",
                                                [SPEC_LAST_AFFECTED] = "last_affected",
                                                [SPEC_LIMIT] = "limit"};
            const char *k;
            const json_t *val;
            int found = 0;
            json_object_foreach((json_t *)ev, k, val) {
                int kind = -1;
                for (int c = 0; c < 4; c++)
                    if (strcmp(k, KINDS[c]) == 0) kind = c;
                if (kind < 0) continue;
                if (!json_is_string(val) || strlen(json_string_value(val)) > VERSION_MAX) {
                    err_set(err, IMGSEC_EINVAL,
                            "%s: affected[%zu].ranges[%zu].events[%zu].%s: not a version string", id,
                            idx, i, j, k);
                    goto fail;
                }
                char kb = (char)kind;
                util_buf_put(&b, &kb, 1);
                put_str(&b, json_string_value(val));
                found++;
            }
            if (found != 1) {
                err_set(err, IMGSEC_EINVAL, "%s: affected[%zu].ranges[%zu].events[%zu]: one event each",
                        id, idx, i, j);
                goto fail;
            }
            n_events++;
        }
        put_u32_at(&b, n_events_at, n_events);
        n_ranges++;
    }
    put_u32_at(&b, n_ranges_at, n_ranges);
    if (b.failed) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto fail;
    }
    *len = b.len;
    return (unsigned char *)b.buf;
fail:
    free(b.buf);
    return NULL;
}

int osv_from_json(const json_t *root, osv_record *rec, imgsec_err *err)
{
    return osv_from_json_raw(root, NULL, 0, rec, err);
}

int osv_from_json_raw(const json_t *root, const char *raw, size_t raw_len, osv_record *rec,
                      imgsec_err *err)
{
    memset(rec, 0, sizeof *rec);
    if (!json_is_object(root)) return err_set(err, IMGSEC_EINVAL, "an OSV record is a JSON object");
    const char *id = str_field(root, "id"), *modified = str_field(root, "modified");
    if (!id || !*id || strlen(id) > OSV_ID_MAX)
        return err_set(err, IMGSEC_EINVAL, "OSV record: id missing or longer than %d bytes", OSV_ID_MAX);
    if (!modified || !*modified || strlen(modified) > 64)
        return err_set(err, IMGSEC_EINVAL, "%s: modified missing or not a time", id);
    rec->id = strdup(id);
    rec->modified = strdup(modified);
    rec->withdrawn = json_object_get(root, "withdrawn") != NULL;
    const char *vul_id = strncmp(id, "CVE-", 4) == 0 ? id : NULL;
    size_t i;
    const json_t *e;
    /* aliases first; distribution advisories (DLA, DSA, ALSA) list their
     * CVEs in upstream or related instead */
    static const char *const CVE_LISTS[] = {"aliases", "upstream", "related"};
    for (size_t l = 0; l < sizeof CVE_LISTS / sizeof *CVE_LISTS && !vul_id; l++) {
        json_array_foreach(json_object_get(root, CVE_LISTS[l]), i, e) {
            const char *a = json_string_value(e);
            if (!vul_id && a && strncmp(a, "CVE-", 4) == 0 && strlen(a) <= OSV_ID_MAX) vul_id = a;
        }
    }
    rec->vul_id = strdup(vul_id ? vul_id : id);
    const char *desc = str_field(root, "summary");
    if (!desc || !*desc) desc = str_field(root, "details");
    rec->description = dup_bounded(desc ? desc : "", OSV_DESCRIPTION_MAX);
    const char *url = NULL;
    const json_t *refs = json_object_get(root, "references");
    json_array_foreach(refs, i, e) {
        const char *type = str_field(e, "type"), *u = str_field(e, "url");
        if (u && type && strcmp(type, "ADVISORY") == 0) { url = u; break; }
    }
    json_array_foreach(refs, i, e) {
        if (!url) url = str_field(e, "url");
    }
    if (url) rec->url = dup_bounded(url, 2048);
    else if (asprintf(&rec->url, "https://osv.dev/vulnerability/%s", id) < 0) rec->url = NULL;
    if (!rec->id || !rec->modified || !rec->vul_id || !rec->description || !rec->url)
        FAIL(IMGSEC_EINTERNAL, "out of memory");
    record_severity(root, rec);
    const json_t *aff = json_object_get(root, "affected");
    if (aff && !json_is_array(aff)) FAIL(IMGSEC_EINVAL, "%s: affected: not an array", id);
    if (json_array_size(aff) > OSV_AFFECTED_MAX)
        FAIL(IMGSEC_EINVAL, "%s: more than %d affected entries", id, OSV_AFFECTED_MAX);
    rec->affected = calloc(json_array_size(aff) + 1, sizeof *rec->affected);
    if (!rec->affected) FAIL(IMGSEC_EINTERNAL, "out of memory");
    json_array_foreach(aff, i, e) {
        const json_t *pkg = json_object_get(e, "package");
        const char *eco = str_field(pkg, "ecosystem"), *name = str_field(pkg, "name");
        if (!eco || !name) continue; /* affected without a package: nothing to match */
        char ek[OSV_NAME_MAX + 1], nk[OSV_NAME_MAX + 1];
        if (!osv_key(eco, name, ek, sizeof ek, nk, sizeof nk))
            FAIL(IMGSEC_EINVAL, "%s: affected[%zu].package: name longer than %d bytes", id, i,
                 OSV_NAME_MAX);
        osv_affected *a = &rec->affected[rec->n_affected];
        a->spec = affected_spec(e, id, i, &a->spec_len, err);
        if (!a->spec) goto fail;
        rec->n_affected++;
        a->ecosystem = strdup(ek);
        a->name = strdup(nk);
        if (!a->ecosystem || !a->name) FAIL(IMGSEC_EINTERNAL, "out of memory");
    }
    rec->json = raw ? strndup(raw, raw_len) : json_dumps(root, JSON_COMPACT);
    if (!rec->json) FAIL(IMGSEC_EINTERNAL, "out of memory");
    return IMGSEC_OK;
fail:
    osv_record_free(rec);
    return err ? (int)err->code : IMGSEC_EINVAL;
}

int osv_parse(const char *buf, size_t len, osv_record *rec, imgsec_err *err)
{
    memset(rec, 0, sizeof *rec);
    if (len > OSV_RECORD_MAX)
        return err_set(err, IMGSEC_ETOOLARGE, "OSV record larger than %u bytes", OSV_RECORD_MAX);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return err_set(err, IMGSEC_EPARSE, "not JSON: %s (line %d)", je.text, je.line);
    int rc = osv_from_json_raw(root, buf, len, rec, err);
    json_decref(root);
    return rc;
}
