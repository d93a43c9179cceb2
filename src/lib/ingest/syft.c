/* syft.c - Syft JSON (syft -o json) -> one ingest document.
 *
 * Syft is an SBOM tool: artifacts[] is the package inventory, so it only
 * yields apps records (one per artifact). The image comes from source
 * (the same shape as Grype's, which embeds Syft's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (s && *s && used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", s);
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
    if (!name || !*name) {
        char where[IMP_AT_MAX];
        AT(where, "%s.name", at);
        return imp_fail(c, where, "is required");
    }
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
        const json_t *size = json_object_get(t, "imageSize");
        const char *tag = json_string_value(json_array_get(json_object_get(t, "tags"), 0));
        const char *rd = json_string_value(json_array_get(json_object_get(t, "repoDigests"), 0));
        const char *at_sign = rd ? strchr(rd, '@') : NULL;
        img.ref = tag ? tag : json_string_value(json_object_get(t, "userInput"));
        if (!img.ref)
            img.ref = json_string_value(json_object_get(t, "path"));
        img.image_id = json_string_value(json_object_get(t, "imageID"));
        img.digest = at_sign ? at_sign + 1 : json_string_value(json_object_get(t, "manifestDigest"));
        img.size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
    } else if (json_is_string(t)) {
        img.name = json_string_value(t);
    }
    if (!img.ref && !img.name)
        img.name = json_string_value(json_object_get(source, "name"));
    if (img.ref && img.name == NULL && !*img.ref)
        img.ref = NULL;
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
