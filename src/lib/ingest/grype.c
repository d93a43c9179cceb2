/* grype.c - Grype JSON (grype -o json) -> one ingest document.
 *
 * A Grype report is a list of matches (one vulnerability of one package)
 * plus the scanned source: each match becomes one vulnerability record.
 * Grype lists only the packages that matched, not the inventory, so it
 * yields no apps records (run Syft for those); see docs/importers.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imp_int.h"

#define AT(buf, ...) imp_at(buf, sizeof buf, __VA_ARGS__)

static int match(imp_ctx *c, json_t *doc, const json_t *m, const char *at)
{
    char vat[IMP_AT_MAX], aat[IMP_AT_MAX], where[IMP_AT_MAX];
    const json_t *vul, *art, *fix = NULL, *versions = NULL, *cvss = NULL, *urls = NULL,
                              *locations = NULL;
    const char *id, *sev_s, *sev, *name, *ver, *type, *desc, *source;
    int rc;
    AT(vat, "%s.vulnerability", at);
    AT(aat, "%s.artifact", at);
    if ((rc = imp_elem_obj(c, m, at)) || (rc = imp_obj(c, m, at, "vulnerability", &vul)) ||
        (rc = imp_obj(c, m, at, "artifact", &art)))
        return rc;
    if (!vul)
        return imp_fail(c, vat, "is required");
    if (!art)
        return imp_fail(c, aat, "is required");
    if ((rc = imp_str(c, vul, vat, "id", &id)) || (rc = imp_str(c, vul, vat, "severity", &sev_s)) ||
        (rc = imp_str(c, vul, vat, "description", &desc)) ||
        (rc = imp_str(c, vul, vat, "dataSource", &source)) ||
        (rc = imp_obj(c, vul, vat, "fix", &fix)) || (rc = imp_arr(c, vul, vat, "cvss", &cvss)) ||
        (rc = imp_arr(c, vul, vat, "urls", &urls)) || (rc = imp_str(c, art, aat, "name", &name)) ||
        (rc = imp_str(c, art, aat, "version", &ver)) || (rc = imp_str(c, art, aat, "type", &type)) ||
        (rc = imp_arr(c, art, aat, "locations", &locations)))
        return rc;
    if (!id || !*id)
        return imp_fail_required(c, vat, "id");
    if (!(sev = imp_severity(sev_s))) {
        AT(where, "%s.severity", vat);
        return imp_fail(c, where, "must be one of Critical, High, Medium, Low, Negligible, Unknown");
    }
    AT(where, "%s.fix", vat);
    if (fix && (rc = imp_arr(c, fix, where, "versions", &versions)))
        return rc;

    /* All fixed versions, comma-separated; the highest CVSS base score. */
    char fixed[512] = "";
    size_t i, used = 0;
    const json_t *v;
    json_array_foreach(versions, i, v) {
        if (json_is_string(v))
            imp_join(fixed, sizeof fixed, &used, json_string_value(v));
    }
    double score = -1;
    json_array_foreach(cvss, i, v) {
        const json_t *s = json_object_get(json_object_get(v, "metrics"), "baseScore");
        if (json_is_number(s) && json_number_value(s) > score)
            score = json_number_value(s);
    }
    const char *path = json_string_value(json_object_get(json_array_get(locations, 0), "path"));
    const char *url = source && *source ? source : json_string_value(json_array_get(urls, 0));
    char solution[600] = "";
    if (*fixed && name)
        snprintf(solution, sizeof solution, "upgrade %s to %s", name, fixed);

    json_t *rec = json_object();
    if (!rec || imp_set_str(rec, "vul_id", id) ||
        imp_set_str(rec, "vul_type", imp_is_os_pkg_type(type) ? "linux_vul" : "app_vul") ||
        imp_set_str(rec, "severity", sev) || imp_set_str(rec, "app_name", name) ||
        imp_set_str(rec, "app_version", ver) || imp_set_str(rec, "app_path", path) ||
        imp_set_str(rec, "fixed_version", fixed) || imp_set_str(rec, "description", desc) ||
        imp_set_str(rec, "solution", solution) || imp_set_str(rec, "url", url) ||
        (score >= 0 && json_object_set_new(rec, "cvss_score", json_real(score)))) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, "vulnerabilities", rec) ? imp_oom(c) : IMGSEC_OK;
}

int imp_grype(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out)
{
    const json_t *matches, *source, *descriptor, *item;
    const char *stype = NULL, *timestamp = NULL; /* source.type: image, directory, file */
    int rc;
    if ((rc = imp_arr(c, r, "", "matches", &matches)) ||
        (rc = imp_obj(c, r, "", "source", &source)) ||
        (rc = imp_obj(c, r, "", "descriptor", &descriptor)))
        return rc;
    if (!matches)
        return imp_fail(c, "matches", "is required");
    if (source && (rc = imp_str(c, source, "source", "type", &stype)))
        return rc;
    if (descriptor && (rc = imp_str(c, descriptor, "descriptor", "timestamp", &timestamp)))
        return rc;

    imp_image img = {.size = -1, .created_ms = -1, .scan_ms = imp_time_ms(timestamp)};
    const json_t *t = json_object_get(source, "target");
    if (json_is_object(t))
        imp_image_from_target(t, &img);
    else if (json_is_string(t))
        img.name = json_string_value(t); /* directory / file scans: the path */
    if (!img.ref && !img.name && stype && strcmp(stype, "image") != 0)
        img.name = json_string_value(json_object_get(source, "name"));
    json_t *doc;
    if ((rc = imp_doc_new(c, &img, opt, &doc)))
        return rc;
    size_t i;
    json_array_foreach(matches, i, item) {
        char at[IMP_AT_MAX];
        AT(at, "matches[%zu]", i);
        if ((rc = match(c, doc, item, at))) {
            json_decref(doc);
            return rc;
        }
    }
    *out = doc;
    return IMGSEC_OK;
}
