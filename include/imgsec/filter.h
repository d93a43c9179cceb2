/* filter.h - the statistic request body, validated into a query.
 *
 * filter_from_json implements every body rule of statistic.md: types,
 * enums, lengths, list sizes, ranges and the operate_all/image_id_list
 * rule. It never touches the store; the result is evaluated by the index.
 * The export routes (export.md) take the same body plus their own keys.
 */
#ifndef IMGSEC_FILTER_H
#define IMGSEC_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/model.h"

#define FILTER_IMAGE_ID_LIST_MAX 10000
#define FILTER_IMAGE_ID_ITEM_MAX 128
#define FILTER_VUL_ID_LIST_MAX 2048
#define FILTER_VUL_ID_ITEM_MAX 128
#define FILTER_RULE_ID_LIST_MAX 2048
#define FILTER_RULE_ID_ITEM_MAX 200
#define FILTER_LONG_STRING_MAX 65535 /* namespace, image_name, image_version */
#define FILTER_SHORT_STRING_MAX 128  /* the shorter image attributes (model.h), risk name */

/* Tri-state for optional booleans: absent/null, false, true. */
typedef enum { TRI_ANY = -1, TRI_FALSE = 0, TRI_TRUE = 1 } tri_bool;

/* A validated body. Strings point into the json_t the query was parsed
 * from: keep that alive while the query is used. A string filter that is
 * NULL or "" filters nothing; an enum filter of -1 filters nothing. */
typedef struct {
    report_type report;          /* from the query string, set by the caller */

    bool operate_all;
    const char **image_ids;      /* owned array of borrowed strings */
    size_t n_image_ids;

    int image_type;              /* image_type or -1 */
    int scan_status;             /* scan_status or -1 */
    /* the string filters of model.h's table (namespace_, ..., instance_id) */
    MODEL_IMAGE_FILTER_STRINGS(MODEL_IMAGE_STRING_MEMBER)
    bool latest_version;         /* true: only latest versions */
    bool has_image_size;
    int64_t image_size;          /* at most this many bytes */
    bool has_update_start, has_update_end, has_scan_start, has_scan_end;
    int64_t update_start, update_end, scan_start, scan_end; /* inclusive */
    tri_bool has_malicious_file, has_vul, has_unsafe_setting, has_container, risky;
    int severity_level;          /* severity_level or -1 */

    /* record filters */
    int vul_type;                /* vul_type or -1 */
    const char **vul_ids;        /* owned array of borrowed strings */
    size_t n_vul_ids;
    int build_level;             /* severity (not UNKNOWN) or -1 */
    const char *build_name;      /* substring of risk_name, or NULL */
    const char **build_rule_ids; /* owned array of borrowed strings */
    size_t n_build_rule_ids;

    char *owned;                 /* the strings filter_from_text copied, or NULL */
} stat_query;

/* q for report with no filter at all (and operate_all false). */
void filter_init(stat_query *q, report_type report);

/* Fills q from body (a JSON object; NULL means {}). q->report must be set
 * by the caller before or after; filter_from_json does not read it.
 * Errors are IMGSEC_EINVAL naming the parameter. Call filter_free after
 * success; on error nothing needs freeing. */
int filter_from_json(const json_t *body, stat_query *q, imgsec_err *err);
/* The same from the body's text (blank text is {}), without a JSON tree,
 * when the text is plain JSON (filter.c, fast_parse: printable ASCII
 * strings without escapes, integers, booleans, null, arrays of strings,
 * each key once): then exactly what json_loadb + filter_from_json give
 * (q, or the error). Otherwise FILTER_NOT_PLAIN, q untouched but reset,
 * nothing to free: the caller parses the text with jansson instead, which
 * also words any syntax error. */
#define FILTER_NOT_PLAIN (-1)
#define FILTER_TEXT_MAX (64u << 20)
int filter_from_text(const char *text, size_t len, stat_query *q, imgsec_err *err);
void filter_free(stat_query *q);

#endif
