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

#include "imgsec/err.h"
#include "imgsec/model.h"

/* Limits of one document (data-model.md "Image"; lengths in characters,
 * i.e. UTF-8 code points) and a hard cap on the records of one kind, so a
 * single document cannot make the store or the index grow without bound. */
#define DOC_IMAGE_NAME_MAX 256   /* namespace, image_name */
#define DOC_IMAGE_FIELD_MAX 128  /* the other string attributes of an image (model.h) */
#define DOC_RECORDS_MAX 1000000  /* records of one report type in one document */

typedef struct {
    json_t *root;          /* owned reference to the whole document */
    image_summary summary; /* strings borrowed from root or from the aggs below;
                              project_id/ep are NULL until the caller sets them */
    json_t *records[REPORT_TYPE_COUNT]; /* borrowed arrays inside root (never NULL:
                                           an absent key gives an empty array owned by root) */
    vul_agg *vuls;         /* owned arrays behind summary.vuls / summary.builds */
    build_agg *builds;
} imgsec_doc;

/* Validates and normalises root (takes its own reference; root may be
 * modified in place). On error nothing needs freeing and err names the
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

#endif
