/* route_images.c - the image lists (sdk-routes.md 2.1, docs/api.md):
 *
 *   GET /v5/{project_id}/image/registries/images   ListRegistryImages
 *   GET /v5/{project_id}/image/cicd/images         ListCicdImages
 *   GET /v5/{project_id}/image/local-repositories  ListImageLocal
 *
 * A list is the statistic's image selection with a page on top: each query
 * filter that names an image attribute becomes the statistic body field of
 * the same name (so a list's total_num is the statistic's image count for
 * that filter, and every count in an item is the statistic for that image),
 * the route fixes the image types, and index_page cuts the page in the
 * order asked for, from the index at the file's generation (never older
 * than the file, as the statistic). Filters the SDK has that name nothing
 * imgsec holds (registry_name, hosts, pods, ...) are refused when given
 * (400 naming them) rather than ignored: ignoring would answer a question
 * nobody asked. */
#include <stdlib.h>
#include <string.h>

#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "authn.h"
#include "query.h"
#include "routes.h"

/* The query filters a route takes beyond offset/limit and the string
 * attributes, which model.h's table assigns to the lists. */
enum {
    P_REGISTRY_TYPE = 1u << 0, /* image_type among the registry types */
    P_SORT = 1u << 1,          /* sort_key, sort_dir */
    P_LATEST_VERSION = 1u << 2,
    P_IMAGE_SIZE = 1u << 3,
    P_SCAN_STATUS = 1u << 4,
    P_TIMES = 1u << 5,         /* start_/end_latest_update_time, start_/end_latest_scan_time */
    P_HAS_MALICIOUS = 1u << 6,
    P_HAS_UNSAFE = 1u << 7,
    P_HAS_VUL = 1u << 8,
    P_RISKY = 1u << 9,
    P_SEVERITY = 1u << 10,
    P_LOCAL_TYPE = 1u << 11,   /* local_image_type */
    P_HAS_CONTAINER = 1u << 12,
};

#define TYPE_BIT(t) (1u << (t))
#define REGISTRY_TYPES                                                                 \
    (TYPE_BIT(IMAGE_TYPE_PRIVATE) | TYPE_BIT(IMAGE_TYPE_SHARED) |                      \
     TYPE_BIT(IMAGE_TYPE_INSTANCE) | TYPE_BIT(IMAGE_TYPE_HARBOR) | TYPE_BIT(IMAGE_TYPE_JFROG))

typedef struct jw jw; /* a JSON text writer (below) */
typedef struct list_kind list_kind;
struct list_kind {
    unsigned list;                  /* MODEL_LIST_*: its string filters and item strings */
    unsigned params;
    const char *const *unsupported; /* SDK parameters naming nothing imgsec holds */
    int64_t limit_min;
    unsigned types;                 /* the image types the route lists */
    void (*item)(jw *w, const index_image *img); /* writes the item's keys */
};

static const char *const REGISTRY_TYPE_NAMES[] = {"private_image", "shared_image",
                                                  "instance_image", "harbor", "jfrog", NULL};
static const image_type REGISTRY_TYPE_VALUES[] = {IMAGE_TYPE_PRIVATE, IMAGE_TYPE_SHARED,
                                                  IMAGE_TYPE_INSTANCE, IMAGE_TYPE_HARBOR,
                                                  IMAGE_TYPE_JFROG};
/* registry_type of an item, derived from image_type (docs/api.md). */
static const char *registry_type_of(image_type t)
{
    switch (t) {
    case IMAGE_TYPE_PRIVATE: return "SwrPrivate";
    case IMAGE_TYPE_SHARED: return "SwrShared";
    case IMAGE_TYPE_INSTANCE: return "SwrEnterprise";
    case IMAGE_TYPE_HARBOR: return "Harbor";
    case IMAGE_TYPE_JFROG: return "Jfrog";
    default: return "Other";
    }
}

/* The scan_status values a list query takes: imgsec's own (waiting_for_scan:
 * synced from a registry, not scanned yet, scan_tasks.h) and the SDK's
 * "waiting", which imgsec never holds (it selects nothing). */
static const char *const LIST_SCAN_STATUS[] = {"unscan",          "success",
                                               "scanning",        "failed",
                                               "download_failed", "image_oversized",
                                               "waiting_for_scan", "waiting",
                                               NULL};
static const char *const SORT_KEYS[] = {"latest_scan_time", NULL};
static const char *const SORT_DIRS[] = {"asc", "desc", NULL};
static const char *const LOCAL_IMAGE_TYPES[] = {"other_image", "swr_image", NULL};

/* ---- items, with the SDK models' JSON types ----
 *
 * Written straight into the reply as JSON text: a page is 200 objects of
 * some twenty keys, and building them as jansson objects first costs
 * several times the rest of the request. Strings come from the index,
 * which holds only what ingest validated as JSON strings (valid UTF-8), so
 * escaping '"', '\\' and control characters is all JSON needs. */

struct jw {
    util_buf b;
    bool first; /* no key written yet in the current object */
};

static void jw_key(jw *w, const char *key)
{
    util_buf_put(&w->b, w->first ? "\"" : ",\"", w->first ? 1 : 2);
    util_buf_put(&w->b, key, strlen(key));
    util_buf_put(&w->b, "\":", 2);
    w->first = false;
}

static void put_str(jw *w, const char *key, const char *v)
{
    static const char HEX[] = "0123456789abcdef";
    jw_key(w, key);
    util_buf_put(&w->b, "\"", 1);
    const char *run = v ? v : "";
    for (const char *p = run; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        util_buf_put(&w->b, run, (size_t)(p - run));
        char esc[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 15]};
        if (c == '"' || c == '\\')
            util_buf_put(&w->b, (char[]){'\\', (char)c}, 2);
        else
            util_buf_put(&w->b, esc, 6);
        run = p + 1;
    }
    util_buf_put(&w->b, run, strlen(run));
    util_buf_put(&w->b, "\"", 1);
}

static void put_int(jw *w, const char *key, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    jw_key(w, key);
    util_buf_put(&w->b, num, (size_t)n);
}

static void put_bool(jw *w, const char *key, bool v)
{
    jw_key(w, key);
    util_buf_put(&w->b, v ? "true" : "false", v ? 4 : 5);
}

/* What the three items share; the string attributes the table shows in
 * this list. */
static void item_common(jw *w, const index_image *img, unsigned list)
{
#define ITEM_STRING(m, key, dmin, dmax, filter, fmax, qlists, ilists, ...) \
    if ((ilists) & list)                                                                       \
        put_str(w, key, img->m);
    MODEL_IMAGE_STRINGS(ITEM_STRING)
#undef ITEM_STRING
    put_str(w, "scan_status", scan_status_name(img->status));
    put_int(w, "image_size", img->image_size);
    put_int(w, "latest_update_time", img->latest_update_time);
    put_int(w, "latest_scan_time", img->latest_scan_time);
    put_int(w, "vul_num", img->counts[REPORT_VULNERABILITY]);
    put_int(w, "unsafe_setting_num", img->counts[REPORT_RISK_CONFIG]);
    put_int(w, "malicious_file_num", img->counts[REPORT_MALWARES]);
    const char *level = severity_level_name(img->severity_level);
    if (level) /* null until a scan succeeded: left out, as the SDK's "shown after scan" */
        put_str(w, "severity_level", level);
}

static void item_registry(jw *w, const index_image *img)
{
    item_common(w, img, MODEL_LIST_REGISTRY);
    put_int(w, "id", img->id);
    put_str(w, "image_type", image_type_name(img->type));
    put_str(w, "registry_type", registry_type_of(img->type));
    put_bool(w, "latest_version", img->latest_version);
}

static void item_cicd(jw *w, const index_image *img)
{
    item_common(w, img, MODEL_LIST_CICD);
    put_str(w, "image_type", "cicd");
    put_str(w, "registry_type", "cicd");
    put_bool(w, "latest_version", img->latest_version);
}

static void item_local(jw *w, const index_image *img)
{
    item_common(w, img, MODEL_LIST_LOCAL);
    put_int(w, "container_num", img->container_num);
    put_int(w, "component_num", img->counts[REPORT_APPS]);
}

static const char *const REGISTRY_UNSUPPORTED[] = {
    "registry_name", "start_latest_sync_time", "end_latest_sync_time", "is_multarch", NULL};
static const char *const CICD_UNSUPPORTED[] = {"pipeline_type", NULL};
static const char *const LOCAL_UNSUPPORTED[] = {"host_name", "host_id", "host_ip",
                                                "container_id", "container_name", "pod_id",
                                                "pod_name", "app_name", NULL};

static const list_kind REGISTRY = {
    MODEL_LIST_REGISTRY,
    P_REGISTRY_TYPE | P_SORT | P_LATEST_VERSION | P_IMAGE_SIZE | P_SCAN_STATUS | P_TIMES |
        P_HAS_MALICIOUS | P_HAS_UNSAFE | P_HAS_VUL | P_RISKY | P_SEVERITY,
    REGISTRY_UNSUPPORTED, 1, REGISTRY_TYPES, item_registry};
static const list_kind CICD = {
    MODEL_LIST_CICD,
    P_SORT | P_LATEST_VERSION | P_IMAGE_SIZE | P_SCAN_STATUS | P_TIMES | P_HAS_MALICIOUS |
        P_HAS_UNSAFE | P_HAS_VUL | P_RISKY | P_SEVERITY,
    CICD_UNSUPPORTED, 10, TYPE_BIT(IMAGE_TYPE_CICD), item_cicd};
static const list_kind LOCAL = {
    MODEL_LIST_LOCAL,
    P_IMAGE_SIZE | P_SCAN_STATUS | P_TIMES | P_HAS_VUL | P_LOCAL_TYPE | P_HAS_CONTAINER,
    LOCAL_UNSUPPORTED, 10, TYPE_BIT(IMAGE_TYPE_LOCAL), item_local};

/* ---- the query, into a statistic query and a page ---- */

typedef struct {
    stat_query q;
    index_page_req page;
    bool nothing; /* a filter value imgsec never holds: the answer is empty */
} list_state;

static void list_state_free(void *p)
{
    list_state *s = p;
    filter_free(&s->q);
    free(s);
}

static bool tri(request *req, const char *name, tri_bool *out)
{
    bool v = false, given = false;
    if (!query_bool(req, name, &v, &given))
        return false;
    *out = given ? (v ? TRI_TRUE : TRI_FALSE) : TRI_ANY;
    return true;
}

/* start_X / end_X: 0..2^63-1 ms, start <= end. */
static bool time_range(request *req, const char *what, bool *has_start, int64_t *start,
                       bool *has_end, int64_t *end)
{
    char sname[48], ename[48];
    snprintf(sname, sizeof sname, "start_%s", what);
    snprintf(ename, sizeof ename, "end_%s", what);
    if (!query_int(req, sname, 0, INT64_MAX, 0, start, has_start) ||
        !query_int(req, ename, 0, INT64_MAX, 0, end, has_end))
        return false;
    if (*has_start && *has_end && *start > *end) {
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: %s must not be after %s",
                         sname, ename);
        return false;
    }
    return true;
}

static bool unsupported_absent(request *req, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++) {
        const char *v = http_query(req, names[i]);
        if (v && *v) {
            http_reply_error(req, 400, "HSS.0001",
                             "invalid parameter: %s is not supported: imgsec holds no such "
                             "attribute of an image",
                             names[i]);
            return false;
        }
    }
    return true;
}

/* The string filters model.h's table gives this list, with the
 * statistic's rules (the same stat_query members). */
static bool parse_strings(request *req, unsigned list, stat_query *q)
{
#define QUERY_STRING(m, key, dmin, dmax, filter, fmax, qlists, ilists, ...) \
    if (((qlists) & list) && !query_string(req, key, fmax, &q->m))                             \
        return false;
    MODEL_IMAGE_FILTER_STRINGS(QUERY_STRING)
#undef QUERY_STRING
    return true;
}

static bool parse_enums(request *req, const list_kind *k, list_state *s)
{
    stat_query *q = &s->q;
    int v;
    if (k->params & P_REGISTRY_TYPE) {
        if (!query_enum(req, "image_type", REGISTRY_TYPE_NAMES, &v))
            return false;
        if (v >= 0)
            q->image_type = (int)REGISTRY_TYPE_VALUES[v];
    }
    if (k->params & P_SCAN_STATUS) {
        if (!query_enum(req, "scan_status", LIST_SCAN_STATUS, &v))
            return false;
        if (v >= 0 && v < SCAN_STATUS_COUNT)
            q->scan_status = scan_status_parse(LIST_SCAN_STATUS[v]);
        else if (v >= SCAN_STATUS_COUNT)
            s->nothing = true;
    }
    if (k->params & P_SEVERITY) {
        static const char *const LEVELS[] = {"Security", "Low", "Medium", "High", NULL};
        if (!query_enum(req, "severity_level", LEVELS, &v))
            return false;
        if (v >= 0)
            q->severity_level = severity_level_parse(LEVELS[v]);
    }
    if (k->params & P_LOCAL_TYPE) {
        /* imgsec records no SWR origin of a local image: every one is other_image */
        if (!query_enum(req, "local_image_type", LOCAL_IMAGE_TYPES, &v))
            return false;
        if (v == 1)
            s->nothing = true;
    }
    if (k->params & P_SORT) {
        int key, dir;
        if (!query_enum(req, "sort_key", SORT_KEYS, &key) ||
            !query_enum(req, "sort_dir", SORT_DIRS, &dir))
            return false;
        s->page.order = key == 0 ? INDEX_ORDER_SCAN_TIME : INDEX_ORDER_ID;
        s->page.desc = dir == 1;
    }
    return true;
}

static bool parse_flags(request *req, unsigned p, stat_query *q)
{
    struct {
        unsigned bit;
        const char *name;
        tri_bool *dst;
    } flags[] = {
        {P_HAS_MALICIOUS, "has_malicious_file", &q->has_malicious_file},
        {P_HAS_UNSAFE, "has_unsafe_setting", &q->has_unsafe_setting},
        {P_HAS_VUL, "has_vul", &q->has_vul},
        {P_RISKY, "risky", &q->risky},
        {P_HAS_CONTAINER, "has_container", &q->has_container},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if ((p & flags[i].bit) && !tri(req, flags[i].name, flags[i].dst))
            return false;
    if (p & P_LATEST_VERSION) {
        bool v = false;
        if (!query_bool(req, "latest_version", &v, NULL))
            return false;
        q->latest_version = v;
    }
    if ((p & P_IMAGE_SIZE) &&
        !query_int(req, "image_size", 0, INT64_MAX, 0, &q->image_size, &q->has_image_size))
        return false;
    if (p & P_TIMES)
        return time_range(req, "latest_update_time", &q->has_update_start, &q->update_start,
                          &q->has_update_end, &q->update_end) &&
               time_range(req, "latest_scan_time", &q->has_scan_start, &q->scan_start,
                          &q->has_scan_end, &q->scan_end);
    return true;
}

static bool list_prepare(request *req, const list_kind *k)
{
    list_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    filter_init(&s->q, REPORT_VULNERABILITY);
    s->q.operate_all = true;
    s->page.type_mask = k->types;
    req->state = s;
    req->state_free = list_state_free;
    return query_page(req, k->limit_min, &s->page.offset, &s->page.limit) &&
           unsupported_absent(req, k->unsupported) && parse_strings(req, k->list, &s->q) &&
           parse_enums(req, k, s) && parse_flags(req, k->params, &s->q);
}

bool images_registry_prepare(request *req)
{
    return list_prepare(req, &REGISTRY);
}

bool images_cicd_prepare(request *req)
{
    return list_prepare(req, &CICD);
}

bool images_local_prepare(request *req)
{
    return list_prepare(req, &LOCAL);
}

/* ---- the answer ---- */

typedef struct {
    jw w;
    const list_kind *k;
    bool any;
} page_out;

static void page_item(const index_image *img, void *arg)
{
    page_out *o = arg;
    util_buf_put(&o->w.b, o->any ? ",{" : "{", o->any ? 2 : 1);
    o->w.first = true;
    o->k->item(&o->w, img);
    util_buf_put(&o->w.b, "}", 1);
    o->any = true;
}

static void list_handle(request *req, const list_kind *k)
{
    list_state *s = req->state;
    imgsec_err err = {0};
    int64_t total = 0;
    page_out out = {.k = k};
    util_buf_put(&out.w.b, "{\"data_list\":[", 14);
    int rc = IMGSEC_OK;
    if (!s->nothing) {
        rc = follower_sync_to(req->app->follow, http_file_gen(req), &err);
        if (rc == IMGSEC_OK)
            rc = index_page(req->app->ix, &req->scope->ix, &s->q, &s->page, &total, page_item,
                            &out, &err);
    }
    util_buf_printf(&out.w.b, "],\"total_num\":%lld}", (long long)total);
    if (rc != IMGSEC_OK)
        http_reply_err(req, &err);
    else if (out.w.b.failed)
        http_reply_internal(req, "out of memory writing the list");
    else
        http_reply_json_text(req, 200, out.w.b.buf, out.w.b.len);
    free(out.w.b.buf);
}

void images_registry_handle(request *req)
{
    list_handle(req, &REGISTRY);
}

void images_cicd_handle(request *req)
{
    list_handle(req, &CICD);
}

void images_local_handle(request *req)
{
    list_handle(req, &LOCAL);
}
