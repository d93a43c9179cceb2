/* list.h - the HSS v5 finding lists (sdk-routes.md 2.2, 2.3): one image's
 * findings, the vulnerability-centric views and the tenant-wide lists.
 *
 * Every list is declared once in LIST_KINDS below (operation name, method
 * and path as the SDKs define them, the report type it shows, where the
 * `region` header stands, the lower bound of `limit`); the server's route
 * table has one route per row and the command line names the same rows.
 *
 * list_run validates the query parameters (HSS.0001 naming the parameter),
 * reads the store inside ONE read transaction (so total_num and the page
 * come from the same state of the file, never older than the file at the
 * call) and builds the SDK's response object {"total_num", "data_list"}
 * with the item fields in the JSON types of the SDK models. The meaning of
 * each parameter and how each item field is derived is docs/api.md.
 *
 * Errors: IMGSEC_EINVAL (a parameter), IMGSEC_ENOTFOUND (the named image,
 * check or vulnerability is not in the caller's scope), IMGSEC_EINTERNAL.
 */
#ifndef IMGSEC_LIST_H
#define IMGSEC_LIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/index.h"
#include "imgsec/store.h"
#include "imgsec/store_exports.h"

#define LIST_OFFSET_MAX 2000000 /* sdk-routes.md section 2: offset 0..2,000,000 */
#define LIST_LIMIT_MAX 200
#define LIST_LIMIT_DEFAULT 10

/* X(kind, operation, path, report type, region, min limit, cli name);
 * region is where the SDK puts the `region` header (sdk-routes.md section
 * 1: ABSENT, OPTIONAL or REQUIRED), which the server's route gate
 * enforces (router.c expands it to REGION_<region>). */
#define LIST_KINDS(X)                                                                            \
    X(LIST_IMAGE_VULS, "ListImageVulnerabilities", "/v5/{project_id}/image/{image_id}/vulnerabilities", \
      REPORT_VULNERABILITY, ABSENT, 10, "vulnerabilities")                          \
    X(LIST_IMAGE_APPS, "ListImageApps", "/v5/{project_id}/image/{image_id}/apps", REPORT_APPS,     \
      ABSENT, 10, "apps")                                                            \
    X(LIST_IMAGE_MALWARE, "ListImageMalware", "/v5/{project_id}/image/{image_id}/malwares",       \
      REPORT_MALWARES, OPTIONAL, 10, "malwares")                                     \
    X(LIST_IMAGE_FILES, "ListImageFiles", "/v5/{project_id}/image/{image_id}/files", REPORT_FILES, \
      ABSENT, 10, "files")                                                           \
    X(LIST_IMAGE_SENSITIVE, "ListImageSensitive", "/v5/{project_id}/image/{image_id}/sensitive",  \
      REPORT_SENSITIVE_INFO, OPTIONAL, 10, "sensitive")                              \
    X(LIST_IMAGE_NON_COMPLIANT, "ListImageNonCompliantApp",                                      \
      "/v5/{project_id}/image/{image_id}/non-compliant-app", REPORT_NON_COMPLIANT_APP,           \
      OPTIONAL, 10, "non-compliant")                                                 \
    X(LIST_IMAGE_RISK_CONFIGS, "ListImageRiskConfigs", "/v5/{project_id}/image/baseline/risk-configs", \
      REPORT_RISK_CONFIG, ABSENT, 10, "risk-configs")                                \
    X(LIST_IMAGE_RISK_CONFIG_RULES, "ListImageRiskConfigRules",                                  \
      "/v5/{project_id}/image/baseline/risk-configs/{check_name}/rules", REPORT_RISK_CONFIG,     \
      OPTIONAL, 1, "risk-config-rules")                                              \
    X(LIST_BUILD_RISKS, "ListImageBuildCommandRisks", "/v5/{project_id}/image/build-command-risks", \
      REPORT_BUILD_COMMAND_RISKS, OPTIONAL, 10, "build-risks")                       \
    X(LIST_BUILD_RISK_IMAGES, "ListImageBuildCommandRisksImages",                                \
      "/v5/{project_id}/image/build-command-risks/images", REPORT_BUILD_COMMAND_RISKS,           \
      ABSENT, 10, "build-risk-images")                                               \
    X(LIST_GENERAL_VULS, "ListGeneralImageVuls", "/v5/{project_id}/images/vulnerabilities",       \
      REPORT_VULNERABILITY, ABSENT, 10, "general-vuls")                              \
    X(LIST_VUL_AFFECT_IMAGES, "ListVulAffectImages", "/v5/{project_id}/vulnerability/images",     \
      REPORT_VULNERABILITY, ABSENT, 10, "vul-images")                                \
    X(LIST_VUL_CVE, "ListVulnerabilityCve", "/v5/{project_id}/image/vulnerability/{vul_id}/cve",  \
      REPORT_VULNERABILITY, OPTIONAL, 1, "vul-cves")                                 \
    X(LIST_GLOBAL_VULS, "ListGlobalVulnerabilities", "/v5/{project_id}/image/vulnerabilities",    \
      REPORT_VULNERABILITY, OPTIONAL, 10, "global-vulnerabilities")                  \
    X(LIST_GLOBAL_APPS, "ListGlobalImageApps", "/v5/{project_id}/image/apps", REPORT_APPS,        \
      OPTIONAL, 10, "global-apps")                                                   \
    X(LIST_GLOBAL_MALWARE, "ListGlobalMalware", "/v5/{project_id}/image/malwares", REPORT_MALWARES, \
      REQUIRED, 1, "global-malwares")                                                \
    X(LIST_GLOBAL_FILES, "ListGlobalImageFiles", "/v5/{project_id}/image/files", REPORT_FILES,    \
      OPTIONAL, 10, "global-files")                                                  \
    X(LIST_GLOBAL_SENSITIVE, "ListImageSensitiveInfo", "/v5/{project_id}/image/sensitive-information", \
      REPORT_SENSITIVE_INFO, OPTIONAL, 10, "global-sensitive")

typedef enum {
#define LIST_ENUM(kind, op, path, rt, region, min_limit, cli) kind,
    LIST_KINDS(LIST_ENUM)
#undef LIST_ENUM
    LIST_KIND_COUNT
} list_kind;

typedef struct {
    list_kind kind;
    const char *operation;   /* the SDK's operation name */
    const char *path;        /* route pattern; {x} is one path segment */
    report_type report;      /* the statistic's report type of the same records */
    int min_limit;           /* limit: min_limit..LIST_LIMIT_MAX */
    const char *cli_name;    /* imgsec list NAME */
} list_def;

const list_def *list_def_get(list_kind k);
/* The row whose path pattern is exactly path (NULL if none). */
const list_def *list_def_by_path(const char *pattern);
/* The row whose cli_name is name (NULL if none). */
const list_def *list_def_by_cli_name(const char *name);

/* The query parameters of a call: get(ctx, name) is the value of the
 * parameter (a bare key reads as ""), NULL when absent. */
typedef struct {
    const char *(*get)(void *ctx, const char *name);
    void *ctx;
} list_params;

/* Runs list k for scope over st. path_arg is the {image_id}, {check_name}
 * or {vul_id} path segment (NULL for paths without one). *out gets a new
 * reference to the response object. st must have no transaction open. */
int list_run(store *st, list_kind k, const index_scope *scope, const char *path_arg,
             const list_params *params, json_t **out, imgsec_err *err);

/* ---- index_record_page.c: a tenant-wide page from the query index ---- */

/* take records of image image_id from its seq-th on (seq order). */
typedef struct {
    int64_t image_id;
    int64_t seq;
    int64_t take;
} index_record_span;

/* The records of report type over the images of scope whose type is in
 * type_mask (bits 1u << image_type; 0 = every type), in (image id, seq)
 * order: *total gets how many, spans[0..*n_spans) the page [offset,
 * offset + limit) (limit <= LIST_LIMIT_MAX, so spans needs at most
 * LIST_LIMIT_MAX entries). From one published state of the index. */
int index_record_page(imgsec_index *ix, const index_scope *scope, report_type report,
                      unsigned type_mask, int64_t offset, int64_t limit, int64_t *total,
                      index_record_span *spans, size_t *n_spans, imgsec_err *err);

/* ---- index_list.c: the images and groups of vulnerabilities and build
 * rules from the query index's postings ---- */

/* Per-image conditions beyond the scope and the image types, as list.c's
 * SQL writes them: ref (NULL: any) is the image's id in decimal or its
 * content id (IMAGE_REF_COND); name (NULL: any) is a substring of its
 * image_name. */
typedef struct {
    const char *ref;
    const char *name;
} index_image_match;

/* The images of scope with a type in type_mask (0 = every type) that pass
 * m (NULL: all) and have a record of vulnerability (vul_id, type) whose
 * highest severity rank among them (vul_agg.rank) is in [rank_lo,
 * rank_hi] (0 and 4: any) - or,
 * for index_build_images, a build-command risk with rule_id - in id
 * order: *total gets how many, ids[0..*n_ids) the page [offset, offset +
 * limit) (limit <= LIST_LIMIT_MAX). The cost is the postings of the one
 * vulnerability or rule and the number of images, never the offset.
 * ranks (NULL: not wanted) gets, for index_vul_images, image ids[i]'s
 * highest severity rank of the vulnerability in ranks[i] (its vul_agg.rank,
 * which ListVulAffectImages shows). */
int index_vul_images(imgsec_index *ix, const index_scope *scope, unsigned type_mask,
                     const index_image_match *m, const char *vul_id, vul_type type,
                     int rank_lo, int rank_hi, int64_t offset, int64_t limit, int64_t *total, int64_t *ids,
                     uint8_t *ranks, size_t *n_ids, imgsec_err *err);
int index_build_images(imgsec_index *ix, const index_scope *scope, unsigned type_mask,
                       const index_image_match *m, const char *rule_id, int64_t offset,
                       int64_t limit, int64_t *total, int64_t *ids, size_t *n_ids,
                       imgsec_err *err);

/* One group of a grouped list, computed over the selected images' records:
 * per vulnerability (key = vul_id) or per build rule (key = rule_id). */
typedef struct {
    char *key;          /* owned (index_groups_free) */
    char *name;         /* build rules: the greatest risk_name (owned); else NULL */
    int level;          /* build rules: the greatest level (a severity);
                           vulnerabilities: the highest severity rank of its
                           records in the selection (vul_agg.rank) */
    int64_t images;     /* distinct images */
    int64_t records;    /* records (vulnerabilities: the postings' counts) */
    int64_t scan_time;  /* the greatest latest_scan_time of those images */
    int64_t min_image;  /* the smallest image id */
    /* Vulnerabilities (docs/api.md "Finding lists"): the representative
     * record (image id, seq) - the highest severity rank, then the
     * highest CVSS score, then the lowest (image, seq) among the group's
     * records in the selection - and the highest CVSS score (has_cvss
     * false when none has one). held false: a posting's score is one the
     * index does not hold exactly (pcvss codes), and rep and cvss must be
     * read from the store. */
    bool held;
    int64_t rep_image, rep_seq;
    bool has_cvss;
    double cvss;
} index_group;

/* Which groups, and which page of them in key order (bytewise, as
 * SQLite's BINARY collation). */
typedef struct {
    unsigned type_mask;         /* image types; 0 = every type */
    const index_image_match *m; /* NULL: every image */
    int vul_type;               /* vulnerabilities: a vul_type, or -1 for both */
    const char *contains[2];    /* substrings the key must contain (NULL: none) */
    const char *equals;         /* vulnerabilities: the key must equal this ... */
    bool equals_cve;            /* ... and start with "CVE-" (any case, as LIKE) */
    const char *name_contains;  /* build rules: a substring of the risk_name */
    int level;                  /* build rules: the risk's level (a severity), or -1 */
    bool by_rank;               /* vulnerabilities: keep only groups whose highest */
    int rank_lo, rank_hi;       /* severity rank in the selection is in [lo, hi] */
    int64_t offset, limit;      /* limit <= LIST_LIMIT_MAX */
} index_group_req;

/* *total gets the number of groups with at least one record in the
 * selection, out[0..*n_out) the page (out needs LIST_LIMIT_MAX entries;
 * free them with index_groups_free, also after an error). */
int index_vul_groups(imgsec_index *ix, const index_scope *scope, const index_group_req *r,
                     int64_t *total, index_group *out, size_t *n_out, imgsec_err *err);
int index_build_groups(imgsec_index *ix, const index_scope *scope, const index_group_req *r,
                       int64_t *total, index_group *out, size_t *n_out, imgsec_err *err);
void index_groups_free(index_group *g, size_t n);

/* What list_run may ask of a faster source than the store for an
 * unfiltered tenant-wide page: index_record_page's answer for the store
 * snapshot at change-log position pos. A source that cannot answer for
 * exactly that position returns IMGSEC_ENOTFOUND (list_run then reads the
 * store); any other error fails the list. */
typedef struct {
    int (*record_page)(void *arg, int64_t pos, const index_scope *scope, report_type report,
                       unsigned type_mask, int64_t offset, int64_t limit, int64_t *total,
                       index_record_span *spans, size_t *n_spans, imgsec_err *err);
    void *arg;
    /* Runs fn on the index if the index is at exactly position pos (fn's
     * return is returned); IMGSEC_ENOTFOUND when it is not (list_run then
     * reads the store). NULL: no such source. */
    int (*with_index)(void *arg, int64_t pos,
                      int (*fn)(imgsec_index *ix, void *fn_arg, imgsec_err *err), void *fn_arg,
                      imgsec_err *err);
    /* Has the caller stopped waiting (NULL: never asked)? Long SQL stops
     * then (store_list_watch), and the list fails with IMGSEC_EINTERNAL
     * "client gone". */
    bool (*gone)(void *arg);
    /* A name filter's page whose cheapest read (list.c) costs more than
     * this many record reads is read through the needle's per-image
     * counts at the snapshot's position ("needle maps"); 0: the default,
     * LIST_NEEDLE_MAP_MIN. Tests lower it to use the maps on small data. */
    int64_t needle_map_min;
    /* A page read another way that took more of the thread's CPU than
     * this (ns) leaves the map wanted: the next request at that position
     * builds it (the estimate can be wrong when a scope's images gather
     * at some ids); 0: LIST_NEEDLE_MAP_SLOW_NS. */
    int64_t needle_map_slow_ns;
} list_accel;

#define LIST_NEEDLE_MAP_MIN 50000
#define LIST_NEEDLE_MAP_SLOW_NS 5000000

/* list_run with an accelerator (NULL: none). */
int list_run_accel(store *st, list_kind k, const index_scope *scope, const char *path_arg,
                   const list_params *params, const list_accel *accel, json_t **out,
                   imgsec_err *err);

/* ---- store_lists.c: the SQL side ---- */

/* While gone is set (NULL: unset), a statement of st that runs long asks
 * gone(arg) about every STORE_LIST_WATCH_STEPS virtual-machine steps (a few
 * milliseconds of work) and is interrupted when it answers true: the
 * query then fails with IMGSEC_EINTERNAL "client gone". */
#define STORE_LIST_WATCH_STEPS 200000
void store_list_watch(store *st, bool (*gone)(void *arg), void *arg);

/* A cache the list layer keeps with the handle (list.c's name tables):
 * NULL until set; store_close frees it with the free_fn given to
 * store_list_cache_set, which also frees a cache it replaces. The handle
 * is used by one thread at a time, and so is its cache. */
void *store_list_cache(store *st);
void store_list_cache_set(store *st, void *cache, void (*free_fn)(void *));

/* A bound value: text when s is not NULL, else the integer i. */
typedef struct {
    const char *s;
    int64_t i;
} store_list_bind;

/* Runs sql (read only) with binds[0..n) bound to ?1..?n and calls row with
 * each result row's cells (store_exports.h's store_cell), valid during
 * the call. A non-zero return from row stops and is returned. */
int store_list_query(store *st, const char *sql, const store_list_bind *binds, size_t n,
                     int (*row)(const store_cell *cells, int ncols, void *arg), void *arg,
                     imgsec_err *err);

#endif
