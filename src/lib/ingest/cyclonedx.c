/* cyclonedx.c - CycloneDX 1.2-1.7 JSON -> one ingest document.
 *
 * components (nested ones too) are the inventory: every component that is
 * a package (it has a purl, or its type is library or framework) becomes
 * an apps record. vulnerabilities[] carry their packages by bom-ref in
 * affects[]: each (vulnerability, affected ref) pair is one vulnerability
 * record, OS or language by the package's purl type. metadata.component
 * names the image. See docs/importers.md "CycloneDX". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imp_int.h"

#define AT(buf, ...) imp_at(buf, sizeof buf, __VA_ARGS__)
#define CDX_DEPTH_MAX 32 /* nested components deeper than this are refused */

static const char *property(const json_t *comp, const char *name)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(comp, "properties"), i, p) {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(p, "value"));
    }
    return NULL;
}

/* licenses: [{"license": {"id"|"name"}}, {"expression": "..."}]. */
static void join_licenses(const json_t *lic, char *buf, size_t size)
{
    size_t i, used = 0;
    const json_t *l;
    buf[0] = '\0';
    json_array_foreach(lic, i, l) {
        const json_t *one = json_object_get(l, "license");
        const char *s = json_string_value(json_object_get(one, "id"));
        if (!s)
            s = json_string_value(json_object_get(one, "name"));
        if (!s)
            s = json_string_value(json_object_get(l, "expression"));
        if (s && *s)
            imp_join(buf, size, &used, s);
    }
}

static int component(imp_ctx *c, json_t *doc, json_t *refs, const json_t *comp, const char *at,
                     int depth)
{
    const char *name, *ver, *type, *purl, *ref;
    const json_t *lic, *children, *child;
    int rc;
    if (depth > CDX_DEPTH_MAX)
        return imp_fail(c, at, "nests components deeper than %d", CDX_DEPTH_MAX);
    if ((rc = imp_elem_obj(c, comp, at)) || (rc = imp_str(c, comp, at, "name", &name)) ||
        (rc = imp_str(c, comp, at, "version", &ver)) || (rc = imp_str(c, comp, at, "type", &type)) ||
        (rc = imp_str(c, comp, at, "purl", &purl)) || (rc = imp_str(c, comp, at, "bom-ref", &ref)) ||
        (rc = imp_arr(c, comp, at, "licenses", &lic)) ||
        (rc = imp_arr(c, comp, at, "components", &children)))
        return rc;
    if (!name || !*name)
        return imp_fail_required(c, at, "name");
    if (ref && *ref && json_object_set(refs, ref, (json_t *)comp) != 0)
        return imp_oom(c);
    int is_pkg = (purl && *purl) || (type && (!strcmp(type, "library") || !strcmp(type, "framework")));
    if (is_pkg) {
        char ptype[32], licenses[1024];
        const char *t = imp_purl_type(purl, ptype, sizeof ptype);
        join_licenses(lic, licenses, sizeof licenses);
        json_t *rec = json_object();
        if (!rec || imp_set_str(rec, "app_name", name) || imp_set_str(rec, "app_version", ver) ||
            imp_set_str(rec, "app_type", *t ? t : type) ||
            imp_set_str(rec, "app_path", property(comp, "aquasecurity:trivy:FilePath")) ||
            imp_set_str(rec, "layer_digest", property(comp, "aquasecurity:trivy:LayerDigest")) ||
            imp_set_str(rec, "license", licenses)) {
            json_decref(rec);
            return imp_oom(c);
        }
        if (imp_push(doc, "apps", rec))
            return imp_oom(c);
    }
    size_t i;
    json_array_foreach(children, i, child) {
        char cat[IMP_AT_MAX];
        AT(cat, "%s.components[%zu]", at, i);
        if ((rc = component(c, doc, refs, child, cat, depth + 1)))
            return rc;
    }
    return IMGSEC_OK;
}

static int vulnerability(imp_ctx *c, json_t *doc, const json_t *refs, const json_t *v,
                         const char *at)
{
    const char *id, *desc, *rec_s, *sev = NULL;
    const json_t *ratings, *affects, *source, *r;
    int rc;
    if ((rc = imp_elem_obj(c, v, at)) || (rc = imp_str(c, v, at, "id", &id)) ||
        (rc = imp_str(c, v, at, "description", &desc)) ||
        (rc = imp_str(c, v, at, "recommendation", &rec_s)) ||
        (rc = imp_arr(c, v, at, "ratings", &ratings)) ||
        (rc = imp_arr(c, v, at, "affects", &affects)) || (rc = imp_obj(c, v, at, "source", &source)))
        return rc;
    if (!id || !*id)
        return imp_fail_required(c, at, "id");
    char where[IMP_AT_MAX];
    /* The most severe rating and the highest score (sources disagree). */
    double score = -1;
    size_t i;
    json_array_foreach(ratings, i, r) {
        AT(where, "%s.ratings[%zu]", at, i);
        const char *s;
        if ((rc = imp_elem_obj(c, r, where)) || (rc = imp_str(c, r, where, "severity", &s)))
            return rc;
        const char *canon = imp_severity(s);
        if (!canon) {
            AT(where, "%s.ratings[%zu].severity", at, i);
            return imp_fail(c, where, "must be one of critical, high, medium, low, info, none, unknown");
        }
        sev = imp_severity_max(sev, canon);
        const json_t *sc = json_object_get(r, "score");
        if (json_is_number(sc) && json_number_value(sc) > score)
            score = json_number_value(sc);
    }
    if (!sev)
        sev = "unknown";
    const char *url = json_string_value(json_object_get(source, "url"));
    size_t n = json_array_size(affects) ? json_array_size(affects) : 1;
    for (i = 0; i < n; i++) {
        const json_t *a = json_array_get(affects, i), *comp = NULL;
        if (a) {
            const char *ref;
            AT(where, "%s.affects[%zu]", at, i);
            if ((rc = imp_elem_obj(c, a, where)) || (rc = imp_str(c, a, where, "ref", &ref)))
                return rc;
            comp = ref ? json_object_get(refs, ref) : NULL;
            if (!comp) {
                AT(where, "%s.affects[%zu].ref", at, i);
                return imp_fail(c, where, "names no component of this BOM");
            }
        }
        char ptype[32];
        const char *purl = json_string_value(json_object_get(comp, "purl"));
        json_t *rec = json_object();
        if (!rec || imp_set_str(rec, "vul_id", id) ||
            imp_set_str(rec, "vul_type",
                        imp_is_os_pkg_type(imp_purl_type(purl, ptype, sizeof ptype)) ? "linux_vul"
                                                                                     : "app_vul") ||
            imp_set_str(rec, "severity", sev) ||
            imp_set_str(rec, "app_name", json_string_value(json_object_get(comp, "name"))) ||
            imp_set_str(rec, "app_version", json_string_value(json_object_get(comp, "version"))) ||
            imp_set_str(rec, "description", desc) || imp_set_str(rec, "solution", rec_s) ||
            imp_set_str(rec, "url", url) ||
            (score >= 0 && json_object_set_new(rec, "cvss_score", json_real(score)))) {
            json_decref(rec);
            return imp_oom(c);
        }
        if (imp_push(doc, "vulnerabilities", rec))
            return imp_oom(c);
    }
    return IMGSEC_OK;
}

/* 1.2 is the first CycloneDX with a JSON format; the keys read here
 * (components, purl, licenses, metadata, vulnerabilities) mean the same
 * from 1.2 to 1.7 (1.2 and 1.3 have no vulnerabilities array). */
static const char *const SPEC_VERSIONS[] = {"1.2", "1.3", "1.4", "1.5", "1.6", "1.7"};

static int spec_version_ok(const char *v)
{
    for (size_t i = 0; v && i < sizeof SPEC_VERSIONS / sizeof SPEC_VERSIONS[0]; i++)
        if (!strcmp(v, SPEC_VERSIONS[i]))
            return 1;
    return 0;
}

int imp_cyclonedx(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out)
{
    const char *fmt, *spec, *ts = NULL;
    const json_t *meta, *mc = NULL, *comps, *vulns, *item;
    int rc;
    if ((rc = imp_str(c, r, "", "bomFormat", &fmt)) || (rc = imp_str(c, r, "", "specVersion", &spec)) ||
        (rc = imp_obj(c, r, "", "metadata", &meta)) || (rc = imp_arr(c, r, "", "components", &comps)) ||
        (rc = imp_arr(c, r, "", "vulnerabilities", &vulns)))
        return rc;
    if (!fmt || strcmp(fmt, "CycloneDX") != 0)
        return imp_fail(c, "bomFormat", "must be \"CycloneDX\"");
    if (!spec_version_ok(spec))
        return imp_fail(c, "specVersion", "must be 1.2, 1.3, 1.4, 1.5, 1.6 or 1.7 (got %.16s)",
                        spec ? spec : "none");
    if (meta && ((rc = imp_str(c, meta, "metadata", "timestamp", &ts)) ||
                 (rc = imp_obj(c, meta, "metadata", "component", &mc))))
        return rc;

    imp_image img = {.size = -1, .created_ms = -1, .scan_ms = imp_time_ms(ts)};
    if (mc) {
        const char *name = json_string_value(json_object_get(mc, "name"));
        const char *ver = json_string_value(json_object_get(mc, "version"));
        const char *tag = property(mc, "aquasecurity:trivy:RepoTag");
        const char *rd = property(mc, "aquasecurity:trivy:RepoDigest");
        const char *size = property(mc, "aquasecurity:trivy:Size");
        const char *at_sign = rd ? strchr(rd, '@') : NULL;
        if (tag)
            img.ref = tag;
        else if (ver && *ver)
            img.name = name, img.version = ver;
        else
            img.ref = name;
        img.image_id = property(mc, "aquasecurity:trivy:ImageID");
        img.digest = at_sign ? at_sign + 1 : NULL;
        img.size = size ? strtoll(size, NULL, 10) : -1;
    }
    json_t *doc, *refs = json_object();
    if (!refs)
        return imp_oom(c);
    if ((rc = imp_doc_new(c, &img, opt, &doc))) {
        json_decref(refs);
        return rc;
    }
    size_t i;
    char at[IMP_AT_MAX];
    json_array_foreach(comps, i, item) {
        AT(at, "components[%zu]", i);
        if ((rc = component(c, doc, refs, item, at, 0)))
            goto fail;
    }
    json_array_foreach(vulns, i, item) {
        AT(at, "vulnerabilities[%zu]", i);
        if ((rc = vulnerability(c, doc, refs, item, at)))
            goto fail;
    }
    json_decref(refs);
    *out = doc;
    return IMGSEC_OK;
fail:
    json_decref(refs);
    json_decref(doc);
    return rc;
}
