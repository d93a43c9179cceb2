/* syft.c - Syft JSON (syft -o json) -> one ingest document.
 *
 * Syft is an SBOM tool: artifacts[] is the package inventory, so it only
 * yields apps records (one per artifact). The image comes from source
 * (the same shape as Grype's, which embeds Syft's). */
#include "imp_int.h"

#define AT(buf, ...) imp_at(buf, sizeof buf, __VA_ARGS__)

/* licenses: ["MIT"] (old) or [{"value": "MIT", "spdxExpression": "MIT"}]. */
static void join_licenses(const json_t *lic, char *buf, size_t size)
{
    size_t i, used = 0;
    const json_t *l;
    buf[0] = '\0';
    json_array_foreach(lic, i, l) {
        const char *s = json_string_value(l);
        if (!s)
            s = json_string_value(json_object_get(l, "spdxExpression"));
        if (!s || !*s)
            s = json_string_value(json_object_get(l, "value"));
        if (s && *s)
            imp_join(buf, size, &used, s);
    }
}

static int artifact(imp_ctx *c, json_t *doc, const json_t *a, const char *at)
{
    const char *name, *ver, *type;
    const json_t *locations, *lic;
    int rc;
    if ((rc = imp_elem_obj(c, a, at)) || (rc = imp_str(c, a, at, "name", &name)) ||
        (rc = imp_str(c, a, at, "version", &ver)) || (rc = imp_str(c, a, at, "type", &type)) ||
        (rc = imp_arr(c, a, at, "locations", &locations)) ||
        (rc = imp_arr(c, a, at, "licenses", &lic)))
        return rc;
    if (!name || !*name)
        return imp_fail_required(c, at, "name");
    const json_t *loc = json_array_get(locations, 0);
    char licenses[1024];
    join_licenses(lic, licenses, sizeof licenses);
    json_t *rec = json_object();
    if (!rec || imp_set_str(rec, "app_name", name) || imp_set_str(rec, "app_version", ver) ||
        imp_set_str(rec, "app_type", type) ||
        imp_set_str(rec, "app_path", json_string_value(json_object_get(loc, "path"))) ||
        imp_set_str(rec, "layer_digest", json_string_value(json_object_get(loc, "layerID"))) ||
        imp_set_str(rec, "license", licenses)) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, "apps", rec) ? imp_oom(c) : IMGSEC_OK;
}

int imp_syft(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out)
{
    const json_t *artifacts, *source, *item;
    int rc;
    if ((rc = imp_arr(c, r, "", "artifacts", &artifacts)) ||
        (rc = imp_obj(c, r, "", "source", &source)))
        return rc;
    if (!artifacts)
        return imp_fail(c, "artifacts", "is required");

    imp_image img = {.size = -1, .created_ms = -1, .scan_ms = -1};
    const json_t *t = json_object_get(source, "target"), *md = json_object_get(source, "metadata");
    if (!json_is_object(t) && json_is_object(md))
        t = md; /* Syft >= 0.99 calls it metadata */
    if (json_is_object(t)) {
        imp_image_from_target(t, &img);
        if (!img.ref)
            img.ref = json_string_value(json_object_get(t, "path"));
    } else if (json_is_string(t)) {
        img.name = json_string_value(t);
    }
    if (!img.ref && !img.name)
        img.name = json_string_value(json_object_get(source, "name"));
    json_t *doc;
    if ((rc = imp_doc_new(c, &img, opt, &doc)))
        return rc;
    size_t i;
    json_array_foreach(artifacts, i, item) {
        char at[IMP_AT_MAX];
        AT(at, "artifacts[%zu]", i);
        if ((rc = artifact(c, doc, item, at))) {
            json_decref(doc);
            return rc;
        }
    }
    *out = doc;
    return IMGSEC_OK;
}
