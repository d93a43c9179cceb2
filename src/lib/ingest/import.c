/* import.c - the one entry of the importers: buffer -> validated documents.
 *
 * Shaped so that the server route and the command line share every step:
 * parse (jansson, with line/column on error), detect when asked, convert
 * with the format's importer, then validate with doc_from_json like any
 * native document. Native input keeps its own path, the streamed parser
 * (doc_list_parse: no JSON tree), and so does a JSON array given as auto
 * (only ingest documents come in arrays, import_detect); a single object
 * given as auto is parsed once, by jansson to detect its format, and that
 * tree is used for the document (doc_list_from_json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imp_int.h"

static const char *const NAMES[IMPORT_FORMAT_COUNT + 1] = {
    "native", "trivy", "grype", "syft", "cyclonedx", "spdx", "auto",
};

static const char *const WHAT[IMPORT_FORMAT_COUNT] = {
    "ingest document", "trivy report", "grype report", "syft report", "CycloneDX BOM",
    "SPDX document",
};

int import_format_parse(const char *s)
{
    for (int i = 0; s && i <= IMPORT_FORMAT_COUNT; i++)
        if (strcmp(s, NAMES[i]) == 0)
            return i;
    return -1;
}

const char *import_format_name(import_format f)
{
    return (unsigned)f <= IMPORT_FORMAT_COUNT ? NAMES[f] : "?";
}

const char *import_format_choices(void)
{
    return "auto, native, trivy, grype, syft, cyclonedx, spdx";
}

int import_convert(import_format f, const json_t *report, const import_options *opt,
                   const char *source, json_t **out, imgsec_err *err)
{
    imp_ctx c = {source ? source : "input",
                 (unsigned)f < IMPORT_FORMAT_COUNT ? WHAT[f] : "report", err};
    *out = NULL;
    if (!json_is_object(report))
        return imp_fail(&c, NULL, "is not a JSON object");
    switch (f) {
    case IMPORT_TRIVY: return imp_trivy(&c, report, opt, out);
    case IMPORT_GRYPE: return imp_grype(&c, report, opt, out);
    case IMPORT_SYFT: return imp_syft(&c, report, opt, out);
    case IMPORT_CYCLONEDX: return imp_cyclonedx(&c, report, opt, out);
    case IMPORT_SPDX: return imp_spdx(&c, report, opt, out);
    default: return err_set(err, IMGSEC_EINVAL, "invalid parameter: format must be one of %s",
                            import_format_choices());
    }
}

/* A scanner report is refused when its own top-level key is missing:
 * naming the key tells the caller what we looked for. */
int imp_not_of_format(const char *source, import_format f, imgsec_err *err)
{
    static const char *const KEY[IMPORT_FORMAT_COUNT] = {
        "image", "SchemaVersion and Results", "matches", "artifacts",
        "bomFormat \"CycloneDX\"", "spdxVersion",
    };
    return err_set(err, IMGSEC_EINVAL, "%s: not a %s: top level has no %s", source, WHAT[f],
                   KEY[f]);
}

int import_buffer(const char *buf, size_t len, import_format format, bool ndjson,
                  const import_options *opt, const char *source, doc_list *list,
                  import_format *fmt_out, imgsec_err *err)
{
    json_error_t jerr;
    json_t *root = NULL, *doc = NULL;
    int rc;

    *list = (doc_list){0};
    if (!source)
        source = "input";
    if (!buf)
        buf = "", len = 0;
    if (format == IMPORT_AUTO && !ndjson) {
        size_t i = 0;
        while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
            i++;
        if (i < len && buf[i] == '[') { /* an array: ingest documents (import_detect) */
            if (fmt_out)
                *fmt_out = IMPORT_NATIVE;
            return doc_list_parse(buf, len, false, list, err);
        }
        root = json_loadb(buf, len, 0, &jerr);
        if (!root)
            return err_set(err, IMGSEC_EPARSE, "%s: invalid JSON at line %d column %d: %s",
                           source, jerr.line, jerr.column, jerr.text);
        format = import_detect(root);
        if (format == IMPORT_AUTO) {
            json_decref(root);
            return err_set(err, IMGSEC_EINVAL,
                           "%s: unknown format: not an ingest document, Trivy, Grype, Syft, "
                           "CycloneDX or SPDX report (give the format explicitly)",
                           source);
        }
    } else if (format == IMPORT_AUTO) {
        format = IMPORT_NATIVE;
    }
    if (fmt_out)
        *fmt_out = format;
    if (format == IMPORT_NATIVE) {
        if (!root) /* given explicitly, or NDJSON: doc_list_parse does the parsing */
            return doc_list_parse(buf, len, ndjson, list, err);
        /* detected: the body is already parsed, do not parse it again */
        rc = doc_list_from_json(root, list, err);
        json_decref(root);
        return rc;
    }
    if (!root && !(root = json_loadb(buf, len, 0, &jerr)))
        return err_set(err, IMGSEC_EPARSE, "%s: not a %s: invalid JSON at line %d column %d: %s",
                       source, WHAT[format], jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root) || import_detect(root) != format) {
        json_decref(root);
        return imp_not_of_format(source, format, err);
    }
    rc = import_convert(format, root, opt, source, &doc, err);
    json_decref(root);
    if (rc)
        return rc;
    if (!(list->items = calloc(1, sizeof *list->items))) {
        json_decref(doc);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    list->cap = 1;
    char where[256];
    snprintf(where, sizeof where, "%s: converted %s: ", source, WHAT[format]);
    rc = doc_from_json(doc, where, &list->items[0], err);
    json_decref(doc);
    if (rc) {
        doc_list_free(list);
        return rc;
    }
    list->n = 1;
    return IMGSEC_OK;
}
