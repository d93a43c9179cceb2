/* importers.h - turn what real scanners write into ingest documents.
 *
 * Teams already run Trivy, Grype or Syft and keep CycloneDX / SPDX SBOMs.
 * Each importer converts ONE scanner report into ONE native ingest
 * document (a json_t in the shape of data-model.md), so that the one
 * validation (doc_from_json) and the one store path (store_ingest) apply
 * to every format alike. The mapping of each format is written down in
 * docs/importers.md.
 *
 * A report that is not what its format says is refused with an error
 * naming the source (file name or "body") and the position inside the
 * report ("trivy report: Results[2].Vulnerabilities[5].Severity ...");
 * bad JSON gives IMGSEC_EPARSE with line and column, a wrong shape
 * IMGSEC_EINVAL. Nothing is produced on error.
 */
#ifndef IMGSEC_IMPORTERS_H
#define IMGSEC_IMPORTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/doc.h"
#include "imgsec/err.h"
#include "imgsec/store.h"

typedef enum {
    IMPORT_NATIVE,    /* data-model.md ingest documents (object, array or NDJSON) */
    IMPORT_TRIVY,     /* trivy --format json, SchemaVersion 2 */
    IMPORT_GRYPE,     /* grype -o json */
    IMPORT_SYFT,      /* syft -o json */
    IMPORT_CYCLONEDX, /* CycloneDX 1.4-1.7 JSON */
    IMPORT_SPDX,      /* SPDX 2.3 JSON */
    IMPORT_FORMAT_COUNT,
    IMPORT_AUTO = IMPORT_FORMAT_COUNT /* detect from the content */
} import_format;

/* "auto" "native" "trivy" "grype" "syft" "cyclonedx" "spdx"; -1 otherwise. */
int import_format_parse(const char *s);
const char *import_format_name(import_format f);
/* "auto, native, trivy, ..." for messages. */
const char *import_format_choices(void);

/* Image identity the caller imposes; NULL fields come from the report. */
typedef struct {
    const char *image_type;    /* NULL: "local_image" */
    const char *namespace_;    /* NULL: "" */
    const char *image_name;    /* NULL: from the report (error if it names none) */
    const char *image_version; /* NULL: from the report ("" if none) */
    int64_t now_ms;            /* latest_scan_time when the report carries no time */
} import_options;

/* The format of an already parsed report, from its top-level keys;
 * IMPORT_AUTO when it is none of them. */
import_format import_detect(const json_t *root);

/* Converts one parsed report of format f (not NATIVE/AUTO) into a new
 * ingest document in *out (caller owns it). source names the input in
 * errors ("body", a file path). */
int import_convert(import_format f, const json_t *report, const import_options *opt,
                   const char *source, json_t **out, imgsec_err *err);

/* The whole path for a buffer: format AUTO detects (a buffer that is not
 * one JSON value, e.g. NDJSON, is native), NATIVE goes to doc_list_parse
 * (ndjson as given), any other format parses, converts and validates one
 * document. *fmt_out (may be NULL) gets the format used. On error list
 * is empty and err names source and position. */
int import_buffer(const char *buf, size_t len, import_format format, bool ndjson,
                  const import_options *opt, const char *source, doc_list *list,
                  import_format *fmt_out, imgsec_err *err);

/* The large-report path: streams a Trivy report FILE into the store
 * (yajl, two passes; store_stream.h) without loading it, in one
 * transaction, with the same mapping and validation as import_buffer.
 * Memory is bounded by the largest single finding plus the aggregates. */
int import_trivy_stream(store *st, const char *project_id, const char *ep, const char *path,
                        const import_options *opt, const store_grant *grant,
                        store_ingest_result *res, imgsec_err *err);

/* Reports at least this large are streamed by `imgsec import` when they
 * look like Trivy reports (--stream forces it). */
#define IMPORT_STREAM_MIN_BYTES (32 * 1024 * 1024)

/* Secret redaction used for sensitive-info content: keeps the first
 * IMPORT_REDACT_KEEP characters, then one '*' per further character, at
 * most IMPORT_REDACT_MAX characters in all. Returns a malloc'd string. */
#define IMPORT_REDACT_KEEP 4
#define IMPORT_REDACT_MAX 64
char *import_redact(const char *s);

#endif
