/* model.h - the vocabulary of imgsec: enums, record types, image summaries.
 *
 * Everything that names a value of the API (image types, scan statuses,
 * severities, report types, record fields) is defined once here, as
 * tables, so that parsing, validation, storage and export all walk the
 * same description instead of repeating field lists (data-model.md).
 */
#ifndef IMGSEC_MODEL_H
#define IMGSEC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (data-model.md, statistic.md) ---- */
#define MODEL_PROJECT_ID_MAX 64      /* project_id and EP ids: 1-64 of A-Za-z0-9_- */
#define MODEL_RECORD_STRING_MAX 65535 /* bytes of any record string */
#define MODEL_DEFAULT_EP "0"

/* ---- enums; every enum has *_COUNT and a parse returning -1 on no match ---- */
typedef enum {
    IMAGE_TYPE_PRIVATE, IMAGE_TYPE_SHARED, IMAGE_TYPE_LOCAL, IMAGE_TYPE_INSTANCE,
    IMAGE_TYPE_HARBOR, IMAGE_TYPE_JFROG, IMAGE_TYPE_CICD,
    IMAGE_TYPE_COUNT
} image_type;

typedef enum {
    SCAN_STATUS_UNSCAN, SCAN_STATUS_SUCCESS, SCAN_STATUS_SCANNING, SCAN_STATUS_FAILED,
    SCAN_STATUS_DOWNLOAD_FAILED, SCAN_STATUS_IMAGE_OVERSIZED,
    SCAN_STATUS_WAITING, /* "waiting_for_scan": synced from a registry, not scanned yet */
    SCAN_STATUS_COUNT
} scan_status;

/* Record severity, ordered so that a greater value is more severe. */
typedef enum {
    SEVERITY_UNKNOWN, SEVERITY_LOW, SEVERITY_MEDIUM, SEVERITY_HIGH, SEVERITY_CRITICAL,
    SEVERITY_COUNT
} severity;

/* Image severity_level (derived). NONE = null (scan_status != success). */
typedef enum {
    SEVERITY_LEVEL_SECURITY, SEVERITY_LEVEL_LOW, SEVERITY_LEVEL_MEDIUM, SEVERITY_LEVEL_HIGH,
    SEVERITY_LEVEL_COUNT,
    SEVERITY_LEVEL_NONE = SEVERITY_LEVEL_COUNT
} severity_level;

typedef enum { VUL_TYPE_LINUX, VUL_TYPE_APP, VUL_TYPE_COUNT } vul_type;

typedef enum {
    REPORT_VULNERABILITY, REPORT_RISK_CONFIG, REPORT_MALWARES, REPORT_APPS, REPORT_FILES,
    REPORT_SENSITIVE_INFO, REPORT_NON_COMPLIANT_APP, REPORT_BUILD_COMMAND_RISKS,
    REPORT_TYPE_COUNT
} report_type;

int image_type_parse(const char *s);          /* exact, e.g. "private_image" */
const char *image_type_name(image_type t);
int scan_status_parse(const char *s);         /* exact, e.g. "download_failed" */
const char *scan_status_name(scan_status s);
int severity_parse(const char *s);            /* case-insensitive, e.g. "HIGH" */
const char *severity_name(severity s);        /* lower-case */
int severity_level_parse(const char *s);      /* exact: Security Low Medium High */
const char *severity_level_name(severity_level l); /* NULL for NONE */
int vul_type_parse(const char *s);            /* exact: linux_vul app_vul */
const char *vul_type_name(vul_type t);
int report_type_parse(const char *s);         /* exact, e.g. "risk-config" */
const char *report_type_name(report_type t);

/* "one of a, b, c" lists for error messages, e.g. image_type_choices(). */
const char *image_type_choices(void);
const char *scan_status_choices(void);
const char *severity_level_choices(void);
const char *vul_type_choices(void);
const char *report_type_choices(void);
/* "a, b, c" from a NULL-terminated list of names, written into buf (cut
 * short if it does not fit); returns buf. */
const char *model_join_names(const char *const *names, char *buf, size_t size);
/* The record severities from critical down to lowest ("critical, high,
 * ..."), written into buf; returns buf. */
const char *severity_choices(severity lowest, char *buf, size_t size);

/* 1-64 chars of A-Za-z0-9_- (project and enterprise project ids). */
bool model_scope_id_valid(const char *s);

/* ---- record types ---- */
typedef enum {
    FIELD_STRING,   /* string, 0..MODEL_RECORD_STRING_MAX bytes */
    FIELD_INT64,    /* integer >= 0 */
    FIELD_NUMBER,   /* any JSON number (real or integer) */
    FIELD_SEVERITY, /* critical high medium low unknown, any case; stored lower-case */
    FIELD_ENUM,     /* one of enum_values, exact */
    FIELD_OCTAL     /* string of 1-7 octal digits (file mode) */
} field_kind;

typedef struct {
    const char *name;                /* JSON key, SQL column, export header */
    field_kind kind;
    bool required;
    const char *const *enum_values;  /* FIELD_ENUM: NULL-terminated */
} record_field;

typedef struct {
    report_type type;
    const char *name;      /* security_report_type value, e.g. "risk-config" */
    const char *doc_key;   /* key in an ingest document, e.g. "risk_configs" */
    const char *table;     /* SQL table name, e.g. "rec_risk_config" */
    const record_field *fields;
    size_t nfields;
} record_kind;

/* The eight record kinds, indexed by report_type. */
const record_kind *record_kind_get(report_type t);

/* ---- the attributes of an image, declared once ----
 *
 * One line per string attribute (data-model.md "Image"):
 *
 *   X(member, "key", doc_min, doc_max, filter, filter_max, query_lists, item_lists,
 *     store_col, exported)
 *
 *   member       its member in image_summary, stat_query and index_image
 *   "key"        its JSON key in the ingest document, the statistic body,
 *                the image lists' query and items; its store column's name
 *   doc_min/max  characters it may have in an ingest document (doc.c); a
 *                doc_min above 0 makes the store column NOT NULL without
 *                a default
 *   filter       how the statistic body and the image lists filter by it:
 *                SUBSTR (the attribute contains the value) or EXACT
 *   filter_max   characters of a filter value (filter.c, route_images.c)
 *   query_lists  the image lists taking it as a query filter, item_lists
 *                those whose items show it (MODEL_LIST_* bits)
 *   store_col    its column's place among the string columns of the
 *                store's images table (0, 1, ...: each once). Fixed: it is
 *                the column order of every existing database, so a new
 *                attribute takes the next number
 *   exported     1: a column of every export row (export.md), in the
 *                order of this table, after id and image_type
 *
 * The index keeps each in a dictionary of its own (index_internal.h
 * str_attr); the store in a column of its own (store_schema.c, store_bind.c
 * and store_images.c, all generated from this table). MODEL_IMAGE_STRINGS
 * adds the attributes that are shown, never filtered. */
#define MODEL_LIST_REGISTRY 1u /* ListRegistryImages */
#define MODEL_LIST_CICD 2u     /* ListCicdImages */
#define MODEL_LIST_LOCAL 4u    /* ListImageLocal */
#define MODEL_LIST_ALL 7u

#define MODEL_IMAGE_FILTER_STRINGS(X)                                                           \
    X(namespace_, "namespace", 0, DOC_IMAGE_NAME_MAX, SUBSTR, FILTER_LONG_STRING_MAX,           \
      MODEL_LIST_REGISTRY | MODEL_LIST_CICD, MODEL_LIST_REGISTRY | MODEL_LIST_CICD, 0, 1)      \
    X(image_name, "image_name", 1, DOC_IMAGE_NAME_MAX, SUBSTR, FILTER_LONG_STRING_MAX,          \
      MODEL_LIST_ALL, MODEL_LIST_ALL, 1, 1)                                                    \
    X(image_version, "image_version", 0, DOC_IMAGE_FIELD_MAX, SUBSTR, FILTER_LONG_STRING_MAX,   \
      MODEL_LIST_ALL, MODEL_LIST_ALL, 2, 1)                                                    \
    X(instance_name, "instance_name", 0, DOC_IMAGE_FIELD_MAX, SUBSTR, FILTER_SHORT_STRING_MAX,  \
      MODEL_LIST_REGISTRY, MODEL_LIST_REGISTRY, 6, 0)                                          \
    X(cicd_name, "cicd_name", 0, DOC_IMAGE_FIELD_MAX, SUBSTR, FILTER_SHORT_STRING_MAX,          \
      MODEL_LIST_CICD, MODEL_LIST_CICD, 7, 0)                                                  \
    X(image_id, "image_id", 0, DOC_IMAGE_FIELD_MAX, EXACT, FILTER_SHORT_STRING_MAX,             \
      MODEL_LIST_CICD, MODEL_LIST_ALL, 3, 1)                                                   \
    X(instance_id, "instance_id", 0, DOC_IMAGE_FIELD_MAX, EXACT, FILTER_SHORT_STRING_MAX,       \
      MODEL_LIST_REGISTRY, MODEL_LIST_REGISTRY, 5, 0)

#define MODEL_IMAGE_STRINGS(X)                                                                  \
    MODEL_IMAGE_FILTER_STRINGS(X)                                                               \
    X(image_digest, "image_digest", 0, DOC_IMAGE_FIELD_MAX, NONE, 0, 0, MODEL_LIST_ALL, 4, 0)

/* The integer attributes, one line each: X(member, "key", store_col).
 * member and key as above; values are integers >= 0 in an ingest document
 * (doc.c); store_col is the column's place among the store's integer
 * columns (fixed, as above). How each is filtered (an upper bound, a time
 * range) and indexed (index_internal.h's columns) differs per attribute
 * and is written where it is done. */
#define MODEL_IMAGE_NUMBERS(X)                                                                  \
    X(image_size, "image_size", 0)                                                              \
    X(latest_update_time, "latest_update_time", 1)                                              \
    X(latest_scan_time, "latest_scan_time", 2)                                                  \
    X(container_num, "container_num", 3)

/* How many lines each table has: (0 MODEL_IMAGE_STRINGS(MODEL_ONE_LINE)). */
#define MODEL_ONE_LINE(...) +1
#define MODEL_IMAGE_STRING_COUNT (0 MODEL_IMAGE_STRINGS(MODEL_ONE_LINE))
#define MODEL_IMAGE_NUMBER_COUNT (0 MODEL_IMAGE_NUMBERS(MODEL_ONE_LINE))

/* A `const char *member;` per string attribute, an `int64_t member;` per
 * integer one, for the structs that hold them. */
#define MODEL_IMAGE_STRING_MEMBER(m, ...) const char *m;
#define MODEL_IMAGE_NUMBER_MEMBER(m, ...) int64_t m;

/* ---- per-image aggregates that feed the query index ---- */

/* Number of vulnerability records of one image with this (vul_id, vul_type),
 * and what the grouped finding lists show of them (docs/api.md): rank is
 * the highest severity's rank (critical 4, high 3, medium 2, low 1, other
 * 0), cvss the highest CVSS score (has_cvss false when none has one), and
 * rep_seq the seq of the image's representative record of it: the highest
 * rank, then the highest CVSS score (none lowest), then the lowest seq;
 * rep_cvss its CVSS score (has_rep_cvss false when it has none). A group's
 * texts are those of the best representative of its images (vul_rep_cmp),
 * so this is all a group needs per image. */
typedef struct {
    const char *vul_id;
    vul_type type;
    int64_t n;
    int rank;
    bool has_cvss;
    double cvss;
    int64_t rep_seq;
    bool has_rep_cvss;
    double rep_cvss;
} vul_agg;

/* Number of build-command-risk records of one image with this
 * (rule_id, risk_name, risk_level). */
typedef struct {
    const char *rule_id;
    const char *risk_name;
    severity level;
    int64_t n;
} build_agg;

/* What the query index knows of one image: its filterable attributes, its
 * derived attributes and its record counts. Strings are borrowed from
 * whoever filled the struct (an ingest document or a store row); the
 * index copies what it keeps. */
typedef struct {
    int64_t id;                 /* server-assigned image id */
    const char *project_id;
    const char *ep;             /* enterprise project id */
    image_type type;
    scan_status status;
    /* namespace_ (trailing _: a C++ keyword), image_name, ..., image_id (the
     * content id, e.g. sha256:...), image_digest: the table above */
    MODEL_IMAGE_STRINGS(MODEL_IMAGE_STRING_MEMBER)
    MODEL_IMAGE_NUMBERS(MODEL_IMAGE_NUMBER_MEMBER) /* image_size, ..., container_num */
    severity_level severity_level; /* derived; SEVERITY_LEVEL_NONE unless scan success */
    int64_t counts[REPORT_TYPE_COUNT];  /* records per report type */
    int64_t vul_counts[VUL_TYPE_COUNT]; /* vulnerability records per vul_type */
    const vul_agg *vuls;        /* one per distinct (vul_id, vul_type) */
    size_t n_vuls;
    const build_agg *builds;    /* one per distinct (rule_id, risk_name, risk_level) */
    size_t n_builds;
} image_summary;

/* data-model.md "Derived attributes": the image level from the highest
 * record severity, NONE unless scan succeeded. */
severity_level model_severity_level(scan_status status, int have_max, severity max_severity);
/* The same with the rule for malware applied: every malware record counts
 * as high. What an image's severity_level is. */
severity_level model_image_severity_level(scan_status status, int have_max, severity max_severity,
                                          int64_t n_malware);

#endif
