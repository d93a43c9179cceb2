/* doc_ref.h - the old (jansson tree) ingest document parser, for the
 * differential test and fuzz target only (doc_ref.c). */
#ifndef IMGSEC_DOC_REF_H
#define IMGSEC_DOC_REF_H

#include <jansson.h>

#include "imgsec/doc.h"

typedef struct {
    json_t *root;
    image_summary summary;
    json_t *records[REPORT_TYPE_COUNT];
    vul_agg *vuls;
    build_agg *builds;
} ref_imgsec_doc;

typedef struct {
    ref_imgsec_doc *items;
    size_t n, cap;
} ref_doc_list;

int ref_doc_from_json(json_t *root, const char *where, ref_imgsec_doc *doc, imgsec_err *err);
void ref_doc_free(ref_imgsec_doc *doc);
int ref_doc_record_check(json_t *rec, report_type t, const char *where, size_t index,
                         bool *have_max, severity *max, imgsec_err *err);
int ref_doc_vul_summary(const json_t *vuls, vul_agg **aggs, size_t *n_aggs,
                        int64_t vul_counts[VUL_TYPE_COUNT], imgsec_err *err);
int ref_doc_vul_cmp(const void *a, const void *b);
int ref_doc_vul_rank(const char *severity);
int ref_doc_rep_cmp(int rank_a, bool has_a, double cvss_a, int rank_b, bool has_b, double cvss_b);
void ref_doc_list_free(ref_doc_list *list);
int ref_doc_list_parse(const char *buf, size_t len, bool ndjson, ref_doc_list *list, imgsec_err *err);
int ref_doc_list_from_json(json_t *root, ref_doc_list *list, imgsec_err *err);

#endif
