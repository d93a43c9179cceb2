/* doc.h - one ingest document: parse, validate, normalise, summarise.
 *
 * A document is one JSON object per image (data-model.md "Ingest
 * document"). doc_from_json checks every rule of data-model.md and names
 * the first offending field by its path ("vulnerabilities[3].vul_type")
 * in an IMGSEC_EINVAL error; a valid document comes back normalised
 * (severities lower-cased in place) and summarised (counts, derived
 * severity level, aggregates for the query index), ready for the store.
 *
 * Also here: splitting a request body or file into documents (one JSON
 * object, a JSON array of objects, or NDJSON).
 */
#ifndef IMGSEC_DOC_H
#define IMGSEC_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/model.h"

/* Limits of one document (data-model.md "Image"; lengths in characters,
 * i.e. UTF-8 code points) and a hard cap on the records of one kind, so a
 * single document cannot make the store or the index grow without bound. */
#define DOC_IMAGE_NAME_MAX 256   /* namespace, image_name */
#define DOC_IMAGE_FIELD_MAX 128  /* the other string attributes of an image (model.h) */
#define DOC_RECORDS_MAX 1000000  /* records of one report type in one document */

/* One field value of a stored record, in the form it is bound: after
 * validation every value is NULL (absent or null), TEXT (string fields,
 * severities in their canonical lower-case spelling), INT (integer
 * fields) or REAL (number fields, integers included: they are stored as
 * REAL). Text is NUL-terminated and owned by the document. */
typedef enum { DOC_V_NULL, DOC_V_TEXT, DOC_V_INT, DOC_V_REAL } doc_vkind;
typedef struct {
    union {
        const char *s;
        int64_t i;
        double d;
    } u;
    uint32_t len; /* DOC_V_TEXT: bytes */
    uint8_t kind; /* doc_vkind (doc.c uses further kinds before validation) */
} doc_val;

/* The records of one kind: n records of record_kind_get(t)->nfields
 * values each, in the order of that table's fields. */
typedef struct {
    doc_val *vals;
    size_t n, cap; /* records; cap: records allocated */
} doc_records;

/* The record j of r, kind t. */
#define DOC_RECORD(r, t, j) (&(r)->vals[(size_t)(j) * record_kind_get(t)->nfields])

typedef struct doc_arena doc_arena; /* the document's strings (doc.c) */

typedef struct {
    image_summary summary; /* strings owned by the document (never NULL after parsing);
                              project_id/ep are NULL until the caller sets them */
    doc_records records[REPORT_TYPE_COUNT]; /* validated, normalised records */
    vul_agg *vuls;         /* owned arrays behind summary.vuls / summary.builds */
    build_agg *builds;
    doc_arena *arena;
} imgsec_doc;

/* Validates root and builds the document from it (root is only read;
 * the document owns copies of its strings). On error nothing needs freeing and err names the
 * field, e.g. "invalid parameter: image.image_type must be one of ...".
 * The error prefix `where` (may be NULL or "") is prepended to the
 * field path, e.g. "documents[4]." for bulk bodies. */
int doc_from_json(json_t *root, const char *where, imgsec_doc *doc, imgsec_err *err);
void doc_free(imgsec_doc *doc);
/* Validates and normalises ONE record of kind t by the same rules as
 * doc_from_json (severities lower-cased in place), for callers that
 * stream records one at a time (store_stream.h). Errors name
 * "<where><doc_key>[index].<field>". *have_max / *max are raised to the
 * record's severity when it has one (severity or risk_level). */
int doc_record_check(json_t *rec, report_type t, const char *where, size_t index,
                     bool *have_max, severity *max, imgsec_err *err);

/* Validates an array of vulnerability records by the rules of
 * doc_record_check, record by record (the first error, naming
 * "<where>vulnerabilities[i].<field>", is the one it would give), into a
 * document holding only them: doc->records[REPORT_VULNERABILITY] in their
 * stored form (severities canonical, numbers REAL; strings copied into
 * the document, vuls is only read) and its summary's vul_counts and
 * vuls (doc_vul_summary's aggregates, their strings the document's).
 * *have_max / *max: the highest record severity. One builder for the
 * whole array, so cheaper than doc_record_check per record; the store's
 * replacement of an image's vulnerabilities binds from it
 * (store_vul_prepare). On error nothing needs freeing. */
int doc_vuls_from_json(const json_t *vuls, const char *where, imgsec_doc *doc, bool *have_max,
                       severity *max, imgsec_err *err);

/* The vulnerability part of a summary, from an array of vulnerability
 * records that passed doc_record_check: the per-vul_type counts and the
 * aggregates (sorted by vul_id then vul_type, equal ones merged), in a
 * new array *aggs (the caller frees it; its vul_id strings are borrowed
 * from vuls). doc_from_json summarises its vulnerabilities with it; the
 * store uses it to replace an image's vulnerabilities alone. */
int doc_vul_summary(const json_t *vuls, vul_agg **aggs, size_t *n_aggs,
                    int64_t vul_counts[VUL_TYPE_COUNT], imgsec_err *err);
/* The order of vul_agg arrays (qsort comparator): vul_id (strcmp), then
 * type. doc_vul_summary's aggregates and every image summary the store
 * reads are in it. */
int doc_vul_cmp(const void *a, const void *b);
/* The parts of vul_agg for whoever folds records one at a time
 * (store_stream.c): the rank of a stored (canonical) severity, as the
 * lists' SQL computes it (critical 4, high 3, medium 2, low 1, else 0),
 * and the representative order of two records by (rank, CVSS score):
 * > 0 when a comes first (higher rank, then higher score, no score lowest,
 * as SQLite's ORDER BY rank DESC, cvss_score DESC), < 0 when b does, 0
 * on a tie (the lower seq, then image, wins it). */
int doc_vul_rank(const char *severity);
int doc_rep_cmp(int rank_a, bool has_a, double cvss_a, int rank_b, bool has_b, double cvss_b);

/* A list of parsed documents. */
typedef struct {
    imgsec_doc *items;
    size_t n, cap;
} doc_list;

void doc_list_free(doc_list *list);

/* Hard bounds on a bulk body, so a request can never make us allocate
 * without limit (the body size limit bounds it too). */
#define DOC_BULK_MAX 100000

/* Parses buf[0..len) as one JSON object, or (ndjson) as one object per
 * non-empty line, and validates each as a document. A JSON array of
 * objects is accepted where ndjson is false (the import file format).
 * Errors: IMGSEC_EPARSE for bad JSON / bad UTF-8 / not an object (the
 * message gives the line for NDJSON, "line 7: ..."), IMGSEC_EINVAL from
 * doc_from_json with the document's index in the path for bulk bodies
 * ("documents[6].image.image_name ..."). On error list is left empty. */
int doc_list_parse(const char *buf, size_t len, bool ndjson, doc_list *list, imgsec_err *err);

/* The same for a body the caller has already parsed (e.g. to detect its
 * format), so it is not parsed twice: root is one document or an array
 * of documents, with the results and errors of doc_list_parse (ndjson
 * false) after its parse. root stays the caller's; the documents take
 * their own references and may modify it in place (doc_from_json). */
int doc_list_from_json(json_t *root, doc_list *list, imgsec_err *err);

/* ---- streaming: documents as the bytes arrive ----
 *
 * A doc_stream parses ingest documents from bytes fed in pieces of any
 * size (yajl's callback parser, no JSON tree): NDJSON (one document per
 * non-blank line) or one JSON value (one document, or an array of them).
 * Each valid document goes to fn as soon as it is complete; fn takes it
 * (it must doc_free it) and returns IMGSEC_OK or an error that ends the
 * stream. The results and the errors, codes and texts, are those of
 * doc_list_parse, which is this parser collecting into a list, in the
 * same order of precedence: for NDJSON, line by line (a line's JSON
 * error before its document's); for a JSON value, any JSON error first,
 * then too many documents, then the first bad document. So a JSON-value
 * stream may hand documents to fn and still fail at doc_stream_end: the
 * caller keeps what it did with them undoable (one transaction).
 * Memory: one document at a time (its strings, records and aggregates),
 * plus yajl's buffer of the current token; every count is bounded as
 * doc_list_parse bounds it (DOC_BULK_MAX, DOC_RECORDS_MAX, depth 2048). */
typedef int (*doc_stream_fn)(void *arg, imgsec_doc *doc, size_t index, imgsec_err *err);
typedef struct doc_stream doc_stream;

/* NULL when out of memory. */
doc_stream *doc_stream_new(bool ndjson, doc_stream_fn fn, void *arg);
/* Returns the stream's error as soon as it is certain (every later call
 * returns it again), else IMGSEC_OK. */
int doc_stream_feed(doc_stream *ds, const char *buf, size_t len, imgsec_err *err);
/* The end of the input: the final result. */
int doc_stream_end(doc_stream *ds, imgsec_err *err);
/* Documents handed to fn so far (a JSON value's document count may be higher). */
size_t doc_stream_count(const doc_stream *ds);
void doc_stream_free(doc_stream *ds);

#endif
