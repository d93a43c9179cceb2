/* spdx.c - SPDX 2.3 JSON (2.2 accepted) -> one ingest document.
 *
 * An SPDX document describes one subject (documentDescribes, or a
 * DESCRIBES relationship from SPDXRef-DOCUMENT): that package names the
 * image; every other package is an apps record. SPDX carries no findings,
 * so it yields nothing else. See docs/importers.md "SPDX". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imp_int.h"

#define AT(buf, ...) imp_at(buf, sizeof buf, __VA_ARGS__)

/* The ids the document describes: documentDescribes[] and DESCRIBES
 * relationships from SPDXRef-DOCUMENT, as the keys of an object. */
static json_t *described_ids(const json_t *r)
{
    json_t *set = json_object();
    size_t i;
    const json_t *x;
    if (!set)
        return NULL;
    json_array_foreach(json_object_get(r, "documentDescribes"), i, x) {
        if (json_is_string(x) && json_object_set_new(set, json_string_value(x), json_true()))
            goto oom;
    }
    json_array_foreach(json_object_get(r, "relationships"), i, x) {
        const char *from = json_string_value(json_object_get(x, "spdxElementId"));
        const char *to = json_string_value(json_object_get(x, "relatedSpdxElement"));
        const char *type = json_string_value(json_object_get(x, "relationshipType"));
        if (from && to && type && !strcmp(from, "SPDXRef-DOCUMENT") &&
            !strcmp(type, "DESCRIBES") && json_object_set_new(set, to, json_true()))
            goto oom;
    }
    return set;
oom:
    json_decref(set);
    return NULL;
}

static const char *purl_of(const json_t *pkg)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(pkg, "externalRefs"), i, x) {
        const char *type = json_string_value(json_object_get(x, "referenceType"));
        if (type && strcmp(type, "purl") == 0)
            return json_string_value(json_object_get(x, "referenceLocator"));
    }
    return NULL;
}

static const char *license_of(const json_t *pkg)
{
    const char *keys[] = {"licenseConcluded", "licenseDeclared"};
    for (int i = 0; i < 2; i++) {
        const char *s = json_string_value(json_object_get(pkg, keys[i]));
        if (s && *s && strcmp(s, "NOASSERTION") != 0 && strcmp(s, "NONE") != 0)
            return s;
    }
    return NULL;
}

int imp_spdx(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out)
{
    const char *version, *docname, *created = NULL;
    const json_t *pkgs, *info, *item;
    int rc;
    if ((rc = imp_str(c, r, "", "spdxVersion", &version)) ||
        (rc = imp_str(c, r, "", "name", &docname)) || (rc = imp_arr(c, r, "", "packages", &pkgs)) ||
        (rc = imp_obj(c, r, "", "creationInfo", &info)))
        return rc;
    if (!version || (strcmp(version, "SPDX-2.3") != 0 && strcmp(version, "SPDX-2.2") != 0))
        return imp_fail(c, "spdxVersion", "must be \"SPDX-2.3\" (or SPDX-2.2)");
    if (info && (rc = imp_str(c, info, "creationInfo", "created", &created)))
        return rc;

    json_t *subjects = described_ids(r);
    if (!subjects)
        return imp_oom(c);
    /* First pass: check shapes, find the subject. */
    imp_image img = {.name = docname, .size = -1, .created_ms = -1, .scan_ms = imp_time_ms(created)};
    size_t i;
    char at[IMP_AT_MAX];
    json_array_foreach(pkgs, i, item) {
        const char *id, *name, *ver;
        AT(at, "packages[%zu]", i);
        if ((rc = imp_elem_obj(c, item, at)) || (rc = imp_str(c, item, at, "SPDXID", &id)) ||
            (rc = imp_str(c, item, at, "name", &name)) ||
            (rc = imp_str(c, item, at, "versionInfo", &ver))) {
            json_decref(subjects);
            return rc;
        }
        if (!id || !*id || !name || !*name) {
            json_decref(subjects);
            return imp_fail_required(c, at, !id || !*id ? "SPDXID" : "name");
        }
        if (json_object_get(subjects, id)) {
            if (ver && *ver)
                img.name = name, img.version = ver;
            else
                img.ref = name;
        }
    }
    json_t *doc;
    if ((rc = imp_doc_new(c, &img, opt, &doc))) {
        json_decref(subjects);
        return rc;
    }
    json_array_foreach(pkgs, i, item) {
        const char *id = json_string_value(json_object_get(item, "SPDXID"));
        if (json_object_get(subjects, id))
            continue;
        char ptype[32];
        const char *t = imp_purl_type(purl_of(item), ptype, sizeof ptype);
        json_t *rec = json_object();
        if (!rec || imp_set_str(rec, "app_name", json_string_value(json_object_get(item, "name"))) ||
            imp_set_str(rec, "app_version", json_string_value(json_object_get(item, "versionInfo"))) ||
            imp_set_str(rec, "app_type", t) || imp_set_str(rec, "license", license_of(item))) {
            json_decref(rec);
            rec = NULL;
        }
        if (!rec || imp_push(doc, "apps", rec)) {
            json_decref(subjects);
            json_decref(doc);
            return imp_oom(c);
        }
    }
    json_decref(subjects);
    *out = doc;
    return IMGSEC_OK;
}
