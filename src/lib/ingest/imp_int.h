/* imp_int.h - what the per-format importers share (internal).
 *
 * Every importer walks a parsed report with the same small readers: each
 * one checks the JSON type of a key and, when it is wrong, names the
 * position ("trivy report: Results[2].Vulnerabilities[5].Severity must be
 * a string"), so a report not of its format is refused precisely. Record
 * values are written with imp_set_str, which drops empty values and cuts
 * free text at MODEL_RECORD_STRING_MAX bytes on a UTF-8 boundary, so the
 * converted document never fails validation for a scanner's long text.
 */
#ifndef IMGSEC_IMP_INT_H
#define IMGSEC_IMP_INT_H

#include <jansson.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/importers.h"

/* Where we are in a report, for messages. */
typedef struct {
    const char *source; /* "body" or a file name */
    const char *what;   /* "trivy report" */
    imgsec_err *err;
} imp_ctx;

#define IMP_AT_MAX 160

/* IMGSEC_EINVAL "SOURCE: WHAT: AT must be ..." */
int imp_fail(imp_ctx *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int imp_oom(imp_ctx *c);
/* snprintf for positions: a path cut short is still a useful message. */
void imp_at(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Typed getters: absent or null gives *out = NULL and OK; a value of
 * another type fails naming at.key. obj must be an object. */
int imp_str(imp_ctx *c, const json_t *obj, const char *at, const char *key, const char **out);
int imp_arr(imp_ctx *c, const json_t *obj, const char *at, const char *key, const json_t **out);
int imp_obj(imp_ctx *c, const json_t *obj, const char *at, const char *key, const json_t **out);
/* Array elements that must be objects. */
int imp_elem_obj(imp_ctx *c, const json_t *elem, const char *at);
/* IMGSEC_EINVAL "...: AT.KEY is required", for a value absent or empty. */
int imp_fail_required(imp_ctx *c, const char *at, const char *key);
/* IMGSEC_EINVAL "SOURCE: not a WHAT: top level has no KEY": the report
 * lacks the top-level key by which import_detect knows format f. */
int imp_not_of_format(const char *source, import_format f, imgsec_err *err);

/* Record helpers: sets key to s unless s is NULL or "" (cut to the record
 * string limit on a UTF-8 boundary). Returns 0 or -1 (out of memory). */
int imp_set_str(json_t *rec, const char *key, const char *s);
/* Appends rec (stolen) to doc[key]; -1 on out of memory. */
int imp_push(json_t *doc, const char *key, json_t *rec);
/* Appends s to the ", "-separated list in buf; *used is the list's length
 * so far (0 at first). A list too long for buf is cut and stays cut. */
void imp_join(char *buf, size_t size, size_t *used, const char *s);

/* Scanner severity spellings -> "critical" "high" "medium" "low" "unknown";
 * NULL for a spelling we do not know. NULL or "" -> "unknown". */
const char *imp_severity(const char *s);
/* Higher of two canonical severities. */
const char *imp_severity_max(const char *a, const char *b);

/* RFC 3339 / ISO 8601 time -> ms since epoch; -1 if s is not one. */
int64_t imp_time_ms(const char *s);

/* The image as a report describes it; strings borrowed, NULL = unknown. */
typedef struct {
    const char *ref;      /* "registry/repo:tag@sha256:..." or a plain name */
    const char *name;     /* used when ref is NULL */
    const char *version;
    const char *image_id;
    const char *digest;
    int64_t size;         /* -1 unknown */
    int64_t created_ms;   /* -1 unknown */
    int64_t scan_ms;      /* -1 unknown */
} imp_image;

/* Fills img from a source target object in Syft's shape (Grype embeds
 * Syft's): ref from tags[0] or userInput, digest from repoDigests[0]
 * (after '@') or manifestDigest, image_id from imageID, size from
 * imageSize. */
void imp_image_from_target(const json_t *target, imp_image *img);

/* A new ingest document {"image": {...}} from what the report says and
 * what the caller imposes (opt wins). */
int imp_doc_new(imp_ctx *c, const imp_image *img, const import_options *opt, json_t **out);

/* Package ecosystem of a purl ("pkg:deb/debian/bash@5" -> "deb"), written
 * into buf; "" when s is not a purl. */
const char *imp_purl_type(const char *purl, char *buf, size_t size);
/* deb, rpm, apk (and other OS package managers) -> true. */
int imp_is_os_pkg_type(const char *type);

/* Risky build-history commands (docs/importers.md "history rules"):
 * appends one build_command_risks record per rule that created_by breaks. */
int imp_history_risks(imp_ctx *c, json_t *doc, const char *created_by);
/* Sets rec's build_instruction to text, with every assigned value replaced
 * by '*' when text assigns a secret (NAME=value, NAME holding PASSWORD,
 * TOKEN, ...): raw secrets never reach the store. Nonzero when out of memory. */
int imp_set_instruction(json_t *rec, const char *text);

/* The converters, one per file. */
int imp_trivy(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out);
/* The finding lists of a Trivy Result, in the order they are converted. */
#define IMP_TRIVY_NLISTS 5
extern const char *const IMP_TRIVY_LISTS[IMP_TRIVY_NLISTS];
/* One element of Results[i].<kind> (kind one of IMP_TRIVY_LISTS) appended
 * to doc as records; res holds the Result's Target, Class and Type. */
int imp_trivy_item(imp_ctx *c, json_t *doc, const char *kind, const json_t *item,
                   const char *at, const json_t *res);
int imp_grype(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out);
int imp_syft(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out);
int imp_cyclonedx(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out);
int imp_spdx(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out);

#endif
