/* list.c - the finding lists of imgsec/list.h.
 *
 * Each list is a function that validates its parameters into SQL
 * conditions (values always bound) and then runs two queries in the same
 * read transaction: the total and the page. Three shapes cover them all:
 *
 *   - one image's records: the image is resolved first (404 outside the
 *     caller's scope), then its rows are read by the primary key (image,
 *     seq). seq is dense from 0 per image and type (store_images.c), so an
 *     unfiltered page starts at seq = offset without walking.
 *   - records of many images (the tenant-wide lists): without a record
 *     filter the page is found from the per-image counts of the images
 *     table (one row per image, never per record), then read by primary
 *     key from the image where the offset falls; with a record filter the
 *     rows are walked in (image, seq) order.
 *   - groups (per vulnerability, per build rule, per baseline check):
 *     GROUP BY over the per-image aggregates (agg_vul, agg_build) or one
 *     image's rows, with the group's numbers counted from the same rows
 *     its drill-down list shows.
 *
 * When the server lends its query index (list_accel.with_index, at
 * exactly the read transaction's position), the per-vulnerability and
 * per-rule groups and the images of one vulnerability or rule come from
 * the index's postings instead (index_list.c): total, order, page, the
 * counts, the highest severity rank and the severity filters (each
 * posting carries its image's rank, agg_vul.rank), and for vulnerabilities
 * the highest CVSS score and the representative record whose texts a
 * group shows (docs/api.md); the store then reads only the page's rows
 * (for groups: the page's representative records, by primary key). The
 * command line has no index: it always runs the SQL over records, and
 * test_lists compares both.
 *
 * Item fields that imgsec does not hold are derived by the rules written
 * in docs/api.md ("Finding lists"), or left out (every item field of the
 * SDK models is optional); nothing is invented.
 */
#include "imgsec/list.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgsec/records.h"
#include "imgsec/util.h"

/* ---- the table ---- */

static const list_def DEFS[LIST_KIND_COUNT] = {
#define LIST_ROW(kind, op, path, rt, region, min_limit, cli) {kind, op, path, rt, min_limit, cli},
    LIST_KINDS(LIST_ROW)
#undef LIST_ROW
};

const list_def *list_def_get(list_kind k)
{
    return (unsigned)k < LIST_KIND_COUNT ? &DEFS[k] : NULL;
}

const list_def *list_def_by_path(const char *pattern)
{
    for (int k = 0; pattern && k < LIST_KIND_COUNT; k++)
        if (strcmp(DEFS[k].path, pattern) == 0)
            return &DEFS[k];
    return NULL;
}

const list_def *list_def_by_cli_name(const char *name)
{
    for (int k = 0; name && k < LIST_KIND_COUNT; k++)
        if (strcmp(DEFS[k].cli_name, name) == 0)
            return &DEFS[k];
    return NULL;
}

/* ---- SQL with positional binds ---- */

#define QB_BINDS_MAX 1200 /* scope EPs (<= 512 in a grant's 1 KiB list), filters, 3 per span */

typedef struct {
    util_buf sql;
    store_list_bind b[QB_BINDS_MAX];
    size_t nb;
    bool overflow;
} qb;

static void qb_sql(qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qb_sql(qb *q, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        q->overflow = true;
    else
        util_buf_put(&q->sql, tmp, (size_t)n);
}

static void qb_text(qb *q, const char *s)
{
    if (q->nb >= QB_BINDS_MAX) {
        q->overflow = true;
        return;
    }
    q->b[q->nb++] = (store_list_bind){.s = s ? s : ""};
    util_buf_put(&q->sql, "?", 1);
}

static void qb_int(qb *q, int64_t v)
{
    if (q->nb >= QB_BINDS_MAX) {
        q->overflow = true;
        return;
    }
    q->b[q->nb++] = (store_list_bind){.i = v};
    util_buf_put(&q->sql, "?", 1);
}

static void qb_free(qb *q)
{
    free(q->sql.buf);
    q->sql = (util_buf){0};
    q->nb = 0;
}

/* A filter condition: an SQL fragment with at most one '?' and its value. */
typedef struct {
    const char *sql; /* e.g. "instr(r.file_name, ?) > 0"; no '?': no value */
    const char *s;   /* text value, or NULL for the integer i */
    int64_t i;
} cond;

#define CONDS_MAX 16

typedef struct {
    cond c[CONDS_MAX];
    size_t n;
    bool none; /* a filter that matches nothing (e.g. handle_status=handled) */
} conds;

static void conds_add(conds *cs, const char *sql, const char *s, int64_t i)
{
    if (cs->n < CONDS_MAX)
        cs->c[cs->n++] = (cond){sql, s, i};
}

/* Appends " AND <cond>" for each condition; every '?' of a condition
 * binds the condition's value. */
static void qb_conds(qb *q, const conds *cs)
{
    if (cs->none)
        qb_sql(q, " AND 0");
    for (size_t k = 0; k < cs->n; k++) {
        const char *sql = cs->c[k].sql, *mark;
        qb_sql(q, " AND ");
        while ((mark = strchr(sql, '?'))) {
            util_buf_put(&q->sql, sql, (size_t)(mark - sql));
            if (cs->c[k].s)
                qb_text(q, cs->c[k].s);
            else
                qb_int(q, cs->c[k].i);
            sql = mark + 1;
        }
        util_buf_put(&q->sql, sql, strlen(sql));
    }
}

/* ---- one call ---- */

typedef struct {
    store *st;
    const list_def *d;
    const index_scope *scope;
    const char *arg;
    const list_params *p;
    imgsec_err *err;
    int64_t offset, limit;
    int64_t total;
    json_t *items;
    const list_accel *accel; /* may be NULL */
    int64_t pos;             /* change-log position of the read transaction */
    json_t *risk_lists;      /* NULL, or the page's risk lists by image id (images_ix) */
    json_t *rule_texts;      /* NULL, or the page's first descriptions by "image US rule"
                                (build_groups_ix) */
    store_cell scan_time;    /* the latest_scan_time of the image resolve_image found */
} lctx;

static const char *param(lctx *c, const char *name)
{
    return c->p && c->p->get ? c->p->get(c->p->ctx, name) : NULL;
}

static int bad(lctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(lctx *c, const char *fmt, ...)
{
    char msg[IMGSEC_ERR_MSG_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(c->err, IMGSEC_EINVAL, "invalid parameter: %s", msg);
}

static int oom(lctx *c)
{
    return err_set(c->err, IMGSEC_EINTERNAL, "out of memory");
}

/* A string filter of at most max bytes; *out NULL when absent or "" (an
 * empty filter filters nothing). required: absent is an error ("" is
 * not: the Go SDK sends required strings bare when empty). */
static int p_str(lctx *c, const char *name, size_t max, bool required, const char **out)
{
    const char *v = param(c, name);
    *out = NULL;
    if (!v)
        return required ? bad(c, "%s is required", name) : IMGSEC_OK;
    if (strlen(v) > max)
        return bad(c, "%s must be at most %zu characters", name, max);
    *out = *v ? v : NULL;
    return IMGSEC_OK;
}

/* One of choices (NULL-terminated); *out -1 when absent or "". */
static int p_enum(lctx *c, const char *name, const char *const *choices, bool required, int *out)
{
    const char *v = param(c, name);
    *out = -1;
    if (!v || !*v) {
        if (required)
            return bad(c, "%s is required", name);
        return IMGSEC_OK;
    }
    for (int k = 0; choices[k]; k++)
        if (strcmp(v, choices[k]) == 0) {
            *out = k;
            return IMGSEC_OK;
        }
    char buf[256];
    return bad(c, "%s must be one of %s", name, model_join_names(choices, buf, sizeof buf));
}

static const char *const BOOL_WORDS[] = {"false", "true", NULL};

static int p_bool(lctx *c, const char *name, bool required, int *out)
{
    return p_enum(c, name, BOOL_WORDS, required, out);
}

static int p_int(lctx *c, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    const char *v = param(c, name);
    *out = def;
    if (!v || !*v)
        return IMGSEC_OK;
    int64_t x;
    if (!util_parse_int64(v, &x))
        return bad(c, "%s must be an integer", name);
    if (x < lo || x > hi)
        return bad(c, "%s must be between %" PRId64 " and %" PRId64, name, lo, hi);
    *out = x;
    return IMGSEC_OK;
}

static int p_paging(lctx *c)
{
    int rc = p_int(c, "offset", 0, LIST_OFFSET_MAX, 0, &c->offset);
    if (rc == IMGSEC_OK)
        rc = p_int(c, "limit", c->d->min_limit, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &c->limit);
    if (rc == IMGSEC_OK && c->limit < c->d->min_limit)
        c->limit = c->d->min_limit;
    return rc;
}

/* ---- image types: the data-model values and the SDK's groups ---- */

#define TYPE_BIT(t) (1u << (t))
#define REGISTRY_TYPES                                                                          \
    (TYPE_BIT(IMAGE_TYPE_PRIVATE) | TYPE_BIT(IMAGE_TYPE_SHARED) | TYPE_BIT(IMAGE_TYPE_INSTANCE) | \
     TYPE_BIT(IMAGE_TYPE_HARBOR) | TYPE_BIT(IMAGE_TYPE_JFROG))
#define ALL_TYPES ((1u << IMAGE_TYPE_COUNT) - 1)

/* "registry", "local", "cicd", "cluster" and every data-model image type. */
static const char *const TYPE_WORDS[] = {"private_image", "shared_image", "local_image",
                                         "instance_image", "harbor", "jfrog", "cicd",
                                         "registry", "local", "cluster", NULL};

static unsigned type_word_mask(int w)
{
    if (w < IMAGE_TYPE_COUNT)
        return TYPE_BIT(w);
    switch (w - IMAGE_TYPE_COUNT) {
    case 0: return REGISTRY_TYPES;
    case 1: return TYPE_BIT(IMAGE_TYPE_LOCAL);
    default: return 0; /* cluster: imgsec holds no cluster images */
    }
}

/* *mask: the image types selected (dflt when absent); *word the value given or NULL. */
static int p_types(lctx *c, bool required, unsigned dflt, unsigned *mask, const char **word)
{
    int w;
    int rc = p_enum(c, "image_type", TYPE_WORDS, required, &w);
    if (rc != IMGSEC_OK)
        return rc;
    *mask = w < 0 ? dflt : type_word_mask(w);
    if (word)
        *word = w < 0 ? NULL : TYPE_WORDS[w];
    return IMGSEC_OK;
}

/* " AND i.project_id = ? AND i.ep IN (...) AND i.image_type IN (...)" */
/* The caller's scope on the columns project_id, ep, image_type of table
 * alias a (images "i", or name_counts). */
static void qb_scope_as(qb *q, const lctx *c, unsigned mask, const char *a)
{
    qb_sql(q, " AND %s.project_id = ", a);
    qb_text(q, c->scope->project_id);
    if (!c->scope->all_eps) {
        qb_sql(q, " AND %s.ep IN (", a);
        for (size_t k = 0; k < c->scope->n_eps; k++) {
            qb_sql(q, k ? ", " : "");
            qb_text(q, c->scope->eps[k]);
        }
        qb_sql(q, c->scope->n_eps ? ")" : "NULL)");
    }
    if ((mask & ALL_TYPES) != ALL_TYPES) {
        qb_sql(q, " AND %s.image_type IN ('-'", a);
        for (int t = 0; t < IMAGE_TYPE_COUNT; t++)
            if (mask & TYPE_BIT(t))
                qb_sql(q, ", '%s'", image_type_name((image_type)t));
        qb_sql(q, ")");
    }
}

static void qb_scope(qb *q, const lctx *c, unsigned mask)
{
    qb_scope_as(q, c, mask, "i");
}

/* ---- severities ---- */

#define RANK(col)                                                                               \
    "(CASE " col " WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' " \
    "THEN 1 ELSE 0 END)"

/* repair_necessity of a record severity (docs/api.md). */
static const char *const REPAIR_WORDS[] = {"immediate_repair", "delay_repair", "not_needed_repair",
                                           NULL};
static const char *repair_of_rank(int64_t rank)
{
    return rank >= 3 ? "immediate_repair" : rank == 2 ? "delay_repair" : "not_needed_repair";
}

/* The capitalised level of a rank: Critical High Medium Low (unknown: Low). */
static const char *const CAP_WORDS[] = {"Critical", "High", "Medium", "Low", NULL};
static const char *cap_of_rank(int64_t rank)
{
    return rank >= 4 ? "Critical" : rank == 3 ? "High" : rank == 2 ? "Medium" : "Low";
}
/* HAVING/WHERE fragment on a rank expression for CAP_WORDS[w], and the
 * same as a range of ranks (for the query index). */
static const char *const CAP_RANK_SQL[] = {"= 4", "= 3", "= 2", "<= 1"};
static const int CAP_RANK_LO[] = {4, 3, 2, 0}, CAP_RANK_HI[] = {4, 3, 2, 1};

/* Baseline check level (Security Low Medium High) of its failed rules' highest rank. */
static const char *const LEVEL_WORDS[] = {"Security", "Low", "Medium", "High", NULL};
static const char *level_of_rank(int64_t rank)
{
    return rank >= 3 ? "High" : rank == 2 ? "Medium" : "Low";
}

static const char *const SEV_WORDS[] = {"critical", "high", "medium", "low", NULL};
static const char *const HANDLE_WORDS[] = {"unhandled", "handled", NULL};
static const char *const VUL_TYPE_WORDS[] = {"linux_vul", "app_vul", NULL};
static const char *const STANDARD_WORDS[] = {"cn_standard", "hw_standard", NULL};

/* ---- JSON ---- */

static bool put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

static bool put_str(json_t *o, const char *k, const store_cell *c)
{
    if (c->kind == CELL_STRING)
        return put(o, k, json_stringn(c->s, c->len));
    if (c->kind == CELL_INT) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRId64, c->i);
        return put(o, k, json_string(buf));
    }
    return true; /* NULL: left out */
}

static bool put_cstr(json_t *o, const char *k, const char *s)
{
    return put(o, k, json_string(s));
}

static bool put_int(json_t *o, const char *k, const store_cell *c, bool int32)
{
    if (c->kind != CELL_INT || c->i < 0 || (int32 && c->i > INT32_MAX))
        return true; /* absent, or out of the field's declared width: left out */
    return put(o, k, json_integer(c->i));
}

static bool put_i(json_t *o, const char *k, int64_t v)
{
    return put(o, k, json_integer(v));
}

/* "<image id>-<seq>": the stable id of one record (docs/api.md). */
static bool put_record_id(json_t *o, const char *k, const store_cell *image, const store_cell *seq)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%" PRId64 "-%" PRId64, image->i, seq->i);
    return put_cstr(o, k, buf);
}

static bool is_cve(const char *s, size_t n)
{
    return n > 4 && strncmp(s, "CVE-", 4) == 0;
}

/* ---- running queries ---- */

static int q_run(lctx *c, qb *q, int (*row)(const store_cell *, int, void *), void *arg)
{
    if (q->overflow || q->sql.failed) {
        qb_free(q);
        return q->overflow ? bad(c, "too many values in the scope or filters") : oom(c);
    }
    int rc = store_list_query(c->st, q->sql.buf, q->b, q->nb, row, arg, c->err);
    qb_free(q);
    return rc;
}

static int row_int(const store_cell *cells, int n, void *arg)
{
    *(int64_t *)arg = n > 0 && cells[0].kind == CELL_INT ? cells[0].i : 0;
    return 0;
}

static int q_count(lctx *c, qb *q, int64_t *out)
{
    *out = 0;
    return q_run(c, q, row_int, out);
}

static void qb_page(qb *q, const lctx *c)
{
    qb_sql(q, " LIMIT ");
    qb_int(q, c->limit);
    qb_sql(q, " OFFSET ");
    qb_int(q, c->offset);
}

typedef bool (*item_fn)(json_t *item, const store_cell *cells, int n, lctx *c);

typedef struct {
    lctx *c;
    item_fn fn;
} item_ctx;

static int row_item(const store_cell *cells, int n, void *arg)
{
    item_ctx *x = arg;
    json_t *item = json_object();
    if (!item || !x->fn(item, cells, n, x->c) || json_array_append_new(x->c->items, item) != 0) {
        json_decref(item);
        return oom(x->c);
    }
    return 0;
}

static int q_items(lctx *c, qb *q, item_fn fn)
{
    item_ctx x = {c, fn};
    return q_run(c, q, row_item, &x);
}

/* ---- the query index, when the server lends it (list_accel.with_index) ---- */

/* Runs fn on the index if it is at the read transaction's position:
 * IMGSEC_ENOTFOUND (with *c->err cleared) when there is no index or it is
 * elsewhere; the caller then answers from the store. */
static int with_ix(lctx *c, int (*fn)(imgsec_index *ix, void *arg, imgsec_err *err), void *arg)
{
    if (!c->accel || !c->accel->with_index)
        return IMGSEC_ENOTFOUND;
    int rc = c->accel->with_index(c->accel->arg, c->pos, fn, arg, c->err);
    if (rc == IMGSEC_ENOTFOUND)
        *c->err = (imgsec_err){0};
    return rc;
}

static store_cell cell_int(int64_t v)
{
    return (store_cell){.kind = CELL_INT, .i = v};
}

static store_cell cell_str(const char *s)
{
    return s ? (store_cell){.kind = CELL_STRING, .s = s, .len = strlen(s)}
             : (store_cell){.kind = CELL_NULL};
}

/* " AND <col> IN (id, ...)" of n image ids */
static void qb_ids(qb *q, const char *col, const int64_t *ids, size_t n)
{
    qb_sql(q, " AND %s IN (", col);
    for (size_t k = 0; k < n; k++) {
        qb_sql(q, k ? ", " : "");
        qb_int(q, ids[k]);
    }
    qb_sql(q, ")");
}

/* ---- resolving one image ---- */

typedef struct {
    int64_t id;
    int64_t found;        /* how many images matched (0, 1, 2 = more) */
    store_cell scan_time; /* the first's latest_scan_time (NULL if none) */
} img_ref;

static int row_img(const store_cell *cells, int n, void *arg)
{
    img_ref *r = arg;
    if (n < 1 || cells[0].kind != CELL_INT)
        return 0;
    if (r->found == 0 || r->id != cells[0].i)
        r->found++;
    if (r->found == 1) {
        r->id = cells[0].i;
        r->scan_time = n > 1 && cells[1].kind == CELL_INT ? cells[1] : (store_cell){0};
    }
    return 0;
}

/* The image a per-image route names: ref is its id or its content id
 * (image_id_list's rule, statistic.md), narrowed by the identity
 * parameters that are given. 404 outside the caller's scope, 400 when
 * the parameters leave several images. */
static int resolve_image(lctx *c, const char *ref, unsigned mask, const char *ver_param,
                         int64_t *id)
{
    const char *ns, *name, *ver, *inst;
    int rc;
    if ((rc = p_str(c, "namespace", 256, false, &ns)) != IMGSEC_OK ||
        (rc = p_str(c, "image_name", 256, false, &name)) != IMGSEC_OK ||
        (rc = p_str(c, ver_param, 128, false, &ver)) != IMGSEC_OK ||
        (rc = p_str(c, "instance_id", 128, false, &inst)) != IMGSEC_OK)
        return rc;
    if (ref && strlen(ref) > 128)
        return bad(c, "image_id must be at most 128 characters");
    img_ref r = {0};
    int64_t num;
    bool decimal = ref && util_parse_int64(ref, &num) && num > 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 && !decimal)
            continue;
        qb q = {0};
        qb_sql(&q, "SELECT i.id, i.latest_scan_time FROM images i WHERE ");
        if (pass == 0) {
            qb_sql(&q, "i.id = ");
            qb_int(&q, num);
        } else if (ref) {
            qb_sql(&q, "i.image_id = ");
            qb_text(&q, ref);
        } else {
            qb_sql(&q, "1");
        }
        qb_scope(&q, c, mask);
        conds cs = {0};
        if (ns)
            conds_add(&cs, "i.namespace = ?", ns, 0);
        if (name)
            conds_add(&cs, "i.image_name = ?", name, 0);
        if (ver)
            conds_add(&cs, "i.image_version = ?", ver, 0);
        if (inst)
            conds_add(&cs, "i.instance_id = ?", inst, 0);
        qb_conds(&q, &cs);
        qb_sql(&q, " ORDER BY i.id LIMIT 2");
        if ((rc = q_run(c, &q, row_img, &r)) != IMGSEC_OK)
            return rc;
    }
    if (r.found == 0)
        return err_set(c->err, IMGSEC_ENOTFOUND, "image %s not found", ref ? ref : "(by name)");
    if (r.found > 1)
        return bad(c, "image_id %s names more than one image; give namespace, image_name and %s",
                   ref ? ref : "", ver_param);
    *id = r.id;
    c->scan_time = r.scan_time;
    return IMGSEC_OK;
}

/* ---- the per-image record lists ---- */

/* What follows a record's fields in an image list's cells. */
typedef enum {
    VIEW_PLAIN,
    VIEW_SCAN_TIME, /* the image's latest_scan_time (resolve_image reads it) */
    VIEW_VUL_NUM,   /* the app's vul_num: the fields start app_name, app_type,
                     * app_version; counted for the page after it is read */
} view_extra;

/* One image's list: the report type, the fields its items read (in the
 * item function's order) and what follows them. The item function gets
 * those cells, then the image id and the record's seq. */
typedef struct {
    report_type type;
    const char *const *fields; /* NULL-terminated, at most IMAGE_VIEW_FIELDS_MAX */
    view_extra extra;
    item_fn fn;
} rec_view;

#define IMAGE_VIEW_FIELDS_MAX 12

typedef struct {
    lctx *c;
    const rec_view *v;
    store_cell extra;
    rec_batch apps; /* VIEW_VUL_NUM: the page's (app_name, app_version) */
} image_rows;

static int row_image_record(const store_cell *x, size_t n, void *arg)
{
    image_rows *r = arg;
    store_cell cells[IMAGE_VIEW_FIELDS_MAX + 3];
    size_t nf = n - 2, k = nf;
    memcpy(cells, x, nf * sizeof *x);
    if (r->v->extra != VIEW_PLAIN)
        cells[k++] = r->extra;
    cells[k++] = x[nf];
    cells[k++] = x[nf + 1];
    if (r->v->extra == VIEW_VUL_NUM && rec_batch_add((store_cell[]){x[0], x[2]}, 2, &r->apps))
        return oom(r->c);
    return row_item(cells, (int)k, &(item_ctx){r->c, r->v->fn});
}

/* VIEW_VUL_NUM: the vul_num of the page's items, from the apps read. */
static int page_vul_nums(lctx *c, int64_t id, image_rows *r, size_t first)
{
    size_t n = r->apps.n;
    rec_batch_seal(&r->apps);
    int64_t *num = calloc(n + 1, sizeof *num);
    store_app_ref *refs = calloc(n + 1, sizeof *refs);
    for (size_t i = 0; num && refs && i < n; i++) {
        const store_cell *a = r->apps.cells + 2 * i;
        refs[i] = (store_app_ref){.image = id,
                                  .name = a[0].kind == CELL_STRING ? a[0].s : "",
                                  .version = a[1].kind == CELL_STRING ? a[1].s : NULL,
                                  .name_len = a[0].len,
                                  .version_len = a[1].len};
    }
    int rc = num && refs ? store_app_counts(c->st, STORE_APP_VULS, refs, n, num, c->err) : oom(c);
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++) {
        json_t *item = json_array_get(c->items, first + i);
        if (!item || json_object_set_new(item, "vul_num", json_integer(num[i])) != 0)
            rc = oom(c);
    }
    free(num);
    free(refs);
    return rc;
}

/* The places of v's fields in its report type (records.h). */
static size_t view_fields(const rec_view *v, int *out)
{
    size_t n = 0;
    while (v->fields[n] && n < IMAGE_VIEW_FIELDS_MAX) {
        out[n] = record_field_index(v->type, v->fields[n]);
        n++;
    }
    return n;
}

/* Total and page of image id's records of v passing ps, in seq order,
 * through the record API (records.h). */
static int image_records(lctx *c, int64_t id, const rec_view *v, const rec_preds *ps)
{
    int fields[IMAGE_VIEW_FIELDS_MAX];
    size_t nf = view_fields(v, fields);
    image_rows r = {c, v, {.kind = CELL_NULL}, {0}};
    if (v->extra == VIEW_VUL_NUM)
        r.extra = cell_int(0); /* page_vul_nums sets it */
    if (v->extra == VIEW_SCAN_TIME) /* read with the image (resolve_image) */
        r.extra = c->scan_time;
    size_t first = json_array_size(c->items);
    int rc = store_image_records(c->st, id, ps, fields, nf, c->offset, c->limit, &c->total,
                                 row_image_record, &r, c->err);
    if (rc == IMGSEC_OK && v->extra == VIEW_VUL_NUM)
        rc = page_vul_nums(c, id, &r, first);
    rec_batch_free(&r.apps);
    return rc;
}

/* A record's severity as its rank, as RANK gives it: the severity's
 * value (model.h orders them so), 0 for any other text. */
static int64_t rank_of_cell(const store_cell *x)
{
    for (int r = SEVERITY_CRITICAL; x->kind == CELL_STRING && r > SEVERITY_UNKNOWN; r--) {
        const char *w = severity_name((severity)r);
        if (x->len == strlen(w) && memcmp(x->s, w, x->len) == 0)
            return r;
    }
    return 0;
}

/* Resolves {image_id} with image_type (required) and the identity
 * parameters; ver_param is tag_name or image_version. */
static int path_image(lctx *c, const char *ver_param, int64_t *id)
{
    unsigned mask;
    int rc = p_types(c, true, ALL_TYPES, &mask, NULL);
    return rc != IMGSEC_OK ? rc : resolve_image(c, c->arg, mask, ver_param, id);
}

/* ListImageVulnerabilities: ImageVulInfo */
static bool item_image_vul(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_str(o, "vul_id", &x[0]) &&
           put_cstr(o, "repair_necessity", repair_of_rank(rank_of_cell(&x[1]))) &&
           put_str(o, "description", &x[2]) && put_str(o, "app_name", &x[3]) &&
           put_str(o, "app_path", &x[4]) && put_str(o, "version", &x[5]) &&
           put_str(o, "solution", &x[6]) && put_str(o, "url", &x[7]);
}

static int list_image_vuls(lctx *c)
{
    int64_t id;
    int repair, type, handle;
    const char *vul_id, *app_name;
    int rc;
    if ((rc = p_enum(c, "repair_necessity", REPAIR_WORDS, false, &repair)) != IMGSEC_OK ||
        (rc = p_enum(c, "type", VUL_TYPE_WORDS, false, &type)) != IMGSEC_OK ||
        (rc = p_enum(c, "handle_status", HANDLE_WORDS, false, &handle)) != IMGSEC_OK ||
        (rc = p_str(c, "vul_id", 128, false, &vul_id)) != IMGSEC_OK ||
        (rc = p_str(c, "app_name", 65535, false, &app_name)) != IMGSEC_OK ||
        (rc = path_image(c, "tag_name", &id)) != IMGSEC_OK)
        return rc;
    rec_preds ps = {.type = REPORT_VULNERABILITY, .none = handle == 1};
    static const char *const REPAIR_SEVERITIES[][3] = {
        {"critical", "high"}, {"medium"}, {"low", "unknown"}};
    if (repair >= 0)
        rec_preds_eq(&ps, "severity", REPAIR_SEVERITIES[repair], repair == 1 ? 1 : 2);
    if (type >= 0)
        rec_preds_eq(&ps, "vul_type", &VUL_TYPE_WORDS[type], 1);
    if (vul_id)
        rec_preds_substr(&ps, "vul_id", vul_id);
    if (app_name)
        rec_preds_substr(&ps, "app_name", app_name);
    static const char *const F[] = {"vul_id",      "severity", "description", "app_name",
                                    "app_path",    "app_version", "solution", "url", NULL};
    static const rec_view V = {REPORT_VULNERABILITY, F, VIEW_PLAIN, item_image_vul};
    return image_records(c, id, &V, &ps);
}


/* ListImageApps: ImageAppsInfo */
static bool item_image_app(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_str(o, "app_name", &x[0]) && put_str(o, "app_type", &x[1]) &&
           put_str(o, "app_version", &x[2]) && put_int(o, "vul_num", &x[3], true);
}

static int list_image_apps(lctx *c)
{
    int64_t id;
    const char *app_name;
    int rc = p_str(c, "app_name", 65535, false, &app_name);
    if (rc != IMGSEC_OK || (rc = path_image(c, "tag_name", &id)) != IMGSEC_OK)
        return rc;
    rec_preds ps = {.type = REPORT_APPS};
    if (app_name)
        rec_preds_substr(&ps, "app_name", app_name);
    static const char *const F[] = {"app_name", "app_type", "app_version", NULL};
    static const rec_view V = {REPORT_APPS, F, VIEW_VUL_NUM, item_image_app};
    return image_records(c, id, &V, &ps);
}

/* ListImageMalware: ImageMalwareInfo; ListImageFiles: ImageFileInfo (size int32) */
static bool item_image_file(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)c;
    return put_str(o, "file_name", &x[0]) && put_str(o, "file_path", &x[1]) &&
           put_int(o, "size", &x[2], true) && (n < 6 || put_str(o, "description", &x[3]));
}

static int list_image_files(lctx *c, bool malware)
{
    int64_t id;
    const char *file_name;
    int rc = p_str(c, "file_name", 65535, false, &file_name);
    if (rc != IMGSEC_OK || (rc = path_image(c, "tag_name", &id)) != IMGSEC_OK)
        return rc;
    rec_preds ps = {.type = malware ? REPORT_MALWARES : REPORT_FILES};
    if (file_name)
        rec_preds_substr(&ps, "file_name", file_name);
    static const char *const MF[] = {"file_name", "file_path", "size", "description", NULL};
    static const char *const FF[] = {"file_name", "file_path", "size", NULL};
    static const rec_view M = {REPORT_MALWARES, MF, VIEW_PLAIN, item_image_file};
    static const rec_view F = {REPORT_FILES, FF, VIEW_PLAIN, item_image_file};
    return image_records(c, id, malware ? &M : &F, &ps);
}

/* ImageSensitiveInfo (one image's, and the tenant-wide list's) */
static bool item_sensitive(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)c;
    return put_record_id(o, "sensitive_info_id", &x[n - 2], &x[n - 1]) &&
           put_str(o, "severity", &x[0]) && put_str(o, "name", &x[1]) &&
           put_str(o, "position", &x[2]) && put_str(o, "file_path", &x[3]) &&
           put_str(o, "content", &x[4]) && put_int(o, "latest_scan_time", &x[5], false) &&
           put_cstr(o, "handle_status", "unhandled");
}


static int sensitive_preds(lctx *c, rec_preds *ps)
{
    const char *path;
    int sev, handle;
    int rc;
    if ((rc = p_str(c, "file_path", 65535, false, &path)) != IMGSEC_OK ||
        (rc = p_enum(c, "severity", SEV_WORDS, false, &sev)) != IMGSEC_OK ||
        (rc = p_enum(c, "handle_status", HANDLE_WORDS, false, &handle)) != IMGSEC_OK)
        return rc;
    ps->none = handle == 1;
    if (path)
        rec_preds_substr(ps, "file_path", path);
    if (sev >= 0)
        rec_preds_eq(ps, "severity", &SEV_WORDS[sev], 1);
    return IMGSEC_OK;
}

static int list_image_sensitive(lctx *c)
{
    int64_t id;
    rec_preds ps = {.type = REPORT_SENSITIVE_INFO};
    int rc = sensitive_preds(c, &ps);
    if (rc != IMGSEC_OK || (rc = path_image(c, "image_version", &id)) != IMGSEC_OK)
        return rc;
    /* item_sensitive's cells: the fields, then the image's latest_scan_time */
    static const char *const F[] = {"severity", "name", "position", "file_path", "content", NULL};
    static const rec_view V = {REPORT_SENSITIVE_INFO, F, VIEW_SCAN_TIME, item_sensitive};
    return image_records(c, id, &V, &ps);
}

/* ListImageNonCompliantApp: ImageNonCompliantAppInfo */
static bool item_non_compliant(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)c;
    return put_record_id(o, "id", &x[n - 2], &x[n - 1]) && put_str(o, "app_name", &x[0]) &&
           put_str(o, "app_path", &x[1]) && put_str(o, "app_version", &x[2]) &&
           put_str(o, "layer_digest", &x[3]);
}

static int list_image_non_compliant(lctx *c)
{
    int64_t id;
    const char *app_name;
    int rc = p_str(c, "app_name", 65535, false, &app_name);
    if (rc != IMGSEC_OK || (rc = path_image(c, "image_version", &id)) != IMGSEC_OK)
        return rc;
    rec_preds ps = {.type = REPORT_NON_COMPLIANT_APP};
    if (app_name)
        rec_preds_substr(&ps, "app_name", app_name);
    static const char *const F[] = {"app_name", "app_path", "app_version", "layer_digest", NULL};
    static const rec_view V = {REPORT_NON_COMPLIANT_APP, F, VIEW_PLAIN, item_non_compliant};
    return image_records(c, id, &V, &ps);
}

/* ---- baseline checks of one image ---- */

/* The image of the baseline routes: image_id if given, else the identity. */
static int baseline_image(lctx *c, int64_t *id)
{
    unsigned mask;
    const char *ref, *name;
    int rc = p_types(c, true, ALL_TYPES, &mask, NULL);
    if (rc != IMGSEC_OK || (rc = p_str(c, "image_id", 128, false, &ref)) != IMGSEC_OK ||
        (rc = p_str(c, "image_name", 256, false, &name)) != IMGSEC_OK)
        return rc;
    if (!ref && !name)
        return bad(c, "image_id or image_name is required");
    return resolve_image(c, ref, mask, "image_version", id);
}

static bool item_check(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_cstr(o, "severity", level_of_rank(x[4].i)) && put_str(o, "check_name", &x[0]) &&
           put_str(o, "check_type", &x[2]) && put_str(o, "standard", &x[1]) &&
           put_int(o, "check_rule_num", &x[3], true) && put_int(o, "failed_rule_num", &x[3], true);
}

/* check_name, then standard: a baseline check, in ORDER BY's order */
static int check_cmp(const void *pa, const void *pb)
{
    const store_cell *a = *(const store_cell *const *)pa, *b = *(const store_cell *const *)pb;
    int r = store_cell_cmp(&a[0], &b[0]);
    return r ? r : store_cell_cmp(&a[1], &b[1]);
}

/* The severity words of ListImageRiskConfigs' filter (LEVEL_WORDS) as
 * ranges of a group's rank: Security none, Low 0-1, Medium 2, High 3-4. */
static bool level_has(int level, int64_t rank)
{
    return level < 0 || (level == 1 && rank <= 1) || (level == 2 && rank == 2) ||
           (level == 3 && rank >= 3);
}

/* ListImageRiskConfigs: the image's risk-config records grouped by
 * (check_name, standard) in C, from the record API (records.h). */
static int list_image_risk_configs(lctx *c)
{
    int64_t id;
    const char *check_name;
    int level, standard;
    int rc;
    if ((rc = p_str(c, "check_name", 256, false, &check_name)) != IMGSEC_OK ||
        (rc = p_enum(c, "severity", LEVEL_WORDS, false, &level)) != IMGSEC_OK ||
        (rc = p_enum(c, "standard", STANDARD_WORDS, false, &standard)) != IMGSEC_OK ||
        (rc = baseline_image(c, &id)) != IMGSEC_OK)
        return rc;
    rec_preds ps = {.type = REPORT_RISK_CONFIG};
    if (check_name)
        rec_preds_eq(&ps, "check_name", &check_name, 1);
    if (standard >= 0)
        rec_preds_eq(&ps, "standard", &STANDARD_WORDS[standard], 1);
    int fields[4] = {record_field_index(REPORT_RISK_CONFIG, "check_name"),
                     record_field_index(REPORT_RISK_CONFIG, "standard"),
                     record_field_index(REPORT_RISK_CONFIG, "check_type"),
                     record_field_index(REPORT_RISK_CONFIG, "severity")};
    rec_batch b = {0};
    rc = store_image_records(c->st, id, &ps, fields, 4, 0, -1, NULL, rec_batch_add, &b, c->err);
    const store_cell **rows = NULL;
    if (rc == IMGSEC_OK && !b.failed && b.n && !(rows = calloc(b.n, sizeof *rows)))
        b.failed = true;
    if (b.failed)
        rc = oom(c);
    if (rc == IMGSEC_OK) {
        rec_batch_seal(&b);
        for (size_t i = 0; i < b.n; i++)
            rows[i] = b.cells + i * b.width;
        if (b.n > 1)
            qsort(rows, b.n, sizeof *rows, check_cmp);
    }
    /* each run of equal (check_name, standard) is a group, as GROUP BY
     * gives it: its records, highest rank, highest check_type */
    c->total = 0;
    for (size_t i = 0, end; rc == IMGSEC_OK && i < b.n; i = end) {
        int64_t rank = rank_of_cell(&rows[i][3]);
        const store_cell *type = &rows[i][2];
        for (end = i + 1; end < b.n && check_cmp(&rows[i], &rows[end]) == 0; end++) {
            if (rank_of_cell(&rows[end][3]) > rank)
                rank = rank_of_cell(&rows[end][3]);
            if (store_cell_cmp(&rows[end][2], type) > 0)
                type = &rows[end][2];
        }
        if (level_has(level, rank) && c->total++ >= c->offset &&
            c->total <= c->offset + c->limit) {
            store_cell x[5] = {rows[i][0], rows[i][1], *type, cell_int((int64_t)(end - i)),
                               cell_int(rank)};
            rc = row_item(x, 5, &(item_ctx){c, item_check});
        }
    }
    free(rows);
    rec_batch_free(&b);
    return rc;
}

static bool item_rule(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_cstr(o, "severity", cap_of_rank(rank_of_cell(&x[0]))) &&
           put_str(o, "check_name", &x[1]) &&
           put_str(o, "check_type", &x[2]) && put_str(o, "standard", &x[3]) &&
           put_str(o, "check_rule_name", &x[4]) && put_str(o, "check_rule_id", &x[5]) &&
           put_cstr(o, "scan_result", "failed");
}

static int list_image_risk_config_rules(lctx *c)
{
    int64_t id;
    int standard, result, sev;
    const char *rule_name;
    static const char *const RESULT_WORDS[] = {"pass", "failed", NULL};
    static const char *const RULE_SEV[] = {"Security", "Low", "Medium", "High", "Critical", NULL};
    /* the record severities of each; Security: none */
    static const char *const RULE_SEVERITIES[][2] = {
        {NULL}, {"low", "unknown"}, {"medium"}, {"high"}, {"critical"}};
    int rc;
    if ((rc = p_enum(c, "standard", STANDARD_WORDS, true, &standard)) != IMGSEC_OK ||
        (rc = p_enum(c, "result_type", RESULT_WORDS, false, &result)) != IMGSEC_OK ||
        (rc = p_str(c, "check_rule_name", 65535, false, &rule_name)) != IMGSEC_OK ||
        (rc = p_enum(c, "severity", RULE_SEV, false, &sev)) != IMGSEC_OK ||
        (rc = baseline_image(c, &id)) != IMGSEC_OK)
        return rc;
    if (strlen(c->arg) > 256)
        return bad(c, "check_name must be at most 256 characters");
    /* imgsec keeps failed rules only */
    rec_preds ps = {.type = REPORT_RISK_CONFIG, .none = result == 0 || sev == 0};
    rec_preds_eq(&ps, "check_name", &c->arg, 1);
    rec_preds_eq(&ps, "standard", &STANDARD_WORDS[standard], 1);
    if (rule_name)
        rec_preds_substr(&ps, "check_rule_name", rule_name);
    if (sev > 0)
        rec_preds_eq(&ps, "severity", RULE_SEVERITIES[sev], sev == 1 ? 2 : 1);
    static const char *const F[] = {"severity",        "check_name",    "check_type", "standard",
                                    "check_rule_name", "check_rule_id", NULL};
    static const rec_view V = {REPORT_RISK_CONFIG, F, VIEW_PLAIN, item_rule};
    return image_records(c, id, &V, &ps);
}

/* ---- build-command risks ---- */

/* an image named by its id or its content id (statistic.md's image_id_list rule) */
#define IMAGE_REF_COND "(CAST(i.id AS TEXT) = ? OR i.image_id = ?)"

/* an image's highest severity of one vulnerability: its agg_vul row's rank */
#define IMAGE_VUL_RANK "a.rank"

static const char *const RISK_LEVEL_WORDS[] = {"critical", "high", "medium", "low", NULL};

/* " FROM agg_build a JOIN images i ... WHERE <scope> <filters>" */
static int build_from(lctx *c, qb *q, conds *cs, unsigned mask, bool with_risk_filters)
{
    const char *ref, *risk_name = NULL;
    int level = -1, rc;
    if ((rc = p_str(c, "image_id", 128, false, &ref)) != IMGSEC_OK)
        return rc;
    if (with_risk_filters &&
        ((rc = p_str(c, "risk_name", 512, false, &risk_name)) != IMGSEC_OK ||
         (rc = p_enum(c, "risk_level", RISK_LEVEL_WORDS, false, &level)) != IMGSEC_OK))
        return rc;
    if (ref)
        conds_add(cs, IMAGE_REF_COND, ref, 0);
    if (risk_name)
        conds_add(cs, "instr(a.risk_name, ?) > 0", risk_name, 0);
    if (level >= 0)
        conds_add(cs, "a.risk_level = ?", RISK_LEVEL_WORDS[level], 0);
    qb_sql(q, " FROM agg_build a JOIN images i ON i.id = a.image WHERE 1");
    qb_scope(q, c, mask);
    qb_conds(q, cs);
    return IMGSEC_OK;
}

typedef struct {
    const char *image_type; /* the request's value */
} build_ctx;

/* the first text read, into *arg (a json_t *); then the read stops */
static int rec_first_text(const store_cell *cells, size_t n, void *arg)
{
    json_t **out = arg;
    if (n == 0 || cells[0].kind != CELL_STRING)
        return 0;
    *out = json_stringn(cells[0].s, cells[0].len);
    return *out ? REC_STOP : IMGSEC_EINTERNAL; /* found: stop */
}

/* An image's records of one build rule, through the record API: the
 * fields asked for, in seq order. */
static int build_rule_records(lctx *c, int64_t image, const char *rule_id, const char *f0,
                              const char *f1, store_record_cb cb, void *arg)
{
    rec_preds ps = {.type = REPORT_BUILD_COMMAND_RISKS};
    rec_preds_eq(&ps, "rule_id", &rule_id, 1);
    int fields[2] = {record_field_index(ps.type, f0), f1 ? record_field_index(ps.type, f1) : 0};
    return store_image_records(c->st, image, &ps, fields, f1 ? 2 : 1, 0, -1, NULL, cb, arg,
                               c->err);
}

/* The key of c->rule_texts for rule (its bytes) in image: "<image> US
 * <rule>" into key[RULE_TEXT_KEY], its length; 0 when it does not fit
 * (such a rule is read item by item). */
#define RULE_TEXT_KEY (24 + 1 + 512)
static size_t rule_text_key(char *key, int64_t image, const store_cell *rule)
{
    int len = snprintf(key, RULE_TEXT_KEY, "%" PRId64 "\x1f%.*s", image, (int)rule->len, rule->s);
    return len > 0 && len < RULE_TEXT_KEY ? (size_t)len : 0;
}

static bool item_build_rule(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n;
    /* the first description of the rule in its representative image:
     * read for the whole page at once (build_groups_ix), else here */
    json_t *desc = NULL;
    char key[RULE_TEXT_KEY];
    size_t len = rule_text_key(key, x[5].i, &x[0]);
    if (c->rule_texts && len) {
        desc = json_incref(json_object_getn(c->rule_texts, key, len));
    } else {
        int rc = build_rule_records(c, x[5].i, x[0].s, "description", NULL, rec_first_text, &desc);
        if (rc != IMGSEC_OK && rc != REC_STOP)
            return false;
    }
    bool ok = put_int(o, "latest_scan_time", &x[4], false) && put_int(o, "image_num", &x[3], true) &&
              put_str(o, "risk_id", &x[0]) && put_str(o, "rule_id", &x[0]) &&
              put_str(o, "risk_name", &x[1]) &&
              put_cstr(o, "risk_level", severity_name((severity)x[2].i)) &&
              (!desc || put(o, "description", desc));
    const char *word = param(c, "image_type");
    return ok && (!word || !*word || put_cstr(o, "image_type", word));
}

typedef struct {
    const index_scope *scope;
    index_group_req r;
    int64_t total;
    index_group g[LIST_LIMIT_MAX];
    size_t n;
    bool build;
} groups_call;

static int ix_groups(imgsec_index *ix, void *arg, imgsec_err *err)
{
    groups_call *x = arg;
    return (x->build ? index_build_groups : index_vul_groups)(ix, x->scope, &x->r, &x->total, x->g,
                                                              &x->n, err);
}

/* (rule_id, description, image, seq) into c->rule_texts: the first
 * description of each rule in each image (records come in seq order) */
static int rec_rule_text(const store_cell *x, size_t n, void *arg)
{
    json_t *texts = arg;
    if (n != 4 || x[0].kind != CELL_STRING || x[1].kind != CELL_STRING)
        return 0;
    char key[RULE_TEXT_KEY];
    size_t len = rule_text_key(key, x[2].i, &x[0]);
    if (!len || json_object_getn(texts, key, len))
        return 0; /* a rule id too long for a key is read item by item */
    json_t *d = json_stringn(x[1].s, x[1].len);
    return d && json_object_setn_new_nocheck(texts, key, len, d) == 0 ? 0 : IMGSEC_EINTERNAL;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The page's descriptions in one read: the build records of the groups'
 * representative images (a page of up to 200; an image holds few, and
 * one named by several groups is read once, records.h), each rule's
 * first description per image kept. One statement where an item at a
 * time was a statement each (a round trip each on PostgreSQL). */
static int rule_texts_read(lctx *c, const index_group *g, size_t n)
{
    int64_t ids[LIST_LIMIT_MAX];
    size_t m = 0;
    for (size_t k = 0; k < n && m < LIST_LIMIT_MAX; k++)
        ids[m++] = g[k].min_image;
    if (!(c->rule_texts = json_object()))
        return oom(c);
    rec_preds ps = {.type = REPORT_BUILD_COMMAND_RISKS};
    int fields[2] = {record_field_index(ps.type, "rule_id"),
                     record_field_index(ps.type, "description")};
    int rc = store_images_records(c->st, &ps, ids, m, fields, 2, rec_rule_text, c->rule_texts,
                                  c->err);
    return rc != IMGSEC_OK && c->err->code == IMGSEC_OK ? oom(c) : rc;
}

/* The groups of the index as the SQL's rows: rule_id, risk_name, level,
 * image_num, scan time, least image (item_build_rule's columns). */
static int build_groups_ix(lctx *c, unsigned mask)
{
    const char *ref, *risk_name;
    int level, rc;
    if ((rc = p_str(c, "image_id", 128, false, &ref)) != IMGSEC_OK ||
        (rc = p_str(c, "risk_name", 512, false, &risk_name)) != IMGSEC_OK ||
        (rc = p_enum(c, "risk_level", RISK_LEVEL_WORDS, false, &level)) != IMGSEC_OK)
        return rc;
    if (mask == 0) /* no type selected (cluster); the index reads 0 as all */
        return IMGSEC_ENOTFOUND;
    static const severity LEVEL_OF[] = {SEVERITY_CRITICAL, SEVERITY_HIGH, SEVERITY_MEDIUM,
                                        SEVERITY_LOW};
    index_image_match m = {ref, NULL};
    groups_call *x = calloc(1, sizeof *x);
    if (!x)
        return oom(c);
    *x = (groups_call){.scope = c->scope, .build = true,
                       .r = {.type_mask = mask == ALL_TYPES ? 0 : mask, .m = ref ? &m : NULL,
                             .vul_type = -1, .name_contains = risk_name,
                             .level = level >= 0 ? (int)LEVEL_OF[level] : -1,
                             .offset = c->offset, .limit = c->limit}};
    rc = with_ix(c, ix_groups, x);
    if (rc == IMGSEC_OK)
        c->total = x->total;
    if (rc == IMGSEC_OK && x->n)
        rc = rule_texts_read(c, x->g, x->n);
    for (size_t k = 0; rc == IMGSEC_OK && k < x->n; k++) {
        const index_group *g = &x->g[k];
        store_cell cells[6] = {cell_str(g->key), cell_str(g->name), cell_int(g->level),
                               cell_int(g->images), cell_int(g->scan_time),
                               cell_int(g->min_image)};
        json_t *item = json_object();
        if (!item || !item_build_rule(item, cells, 6, c) ||
            json_array_append_new(c->items, item) != 0) {
            json_decref(item);
            rc = c->err->code != IMGSEC_OK ? (int)c->err->code : oom(c);
        }
    }
    json_decref(c->rule_texts);
    c->rule_texts = NULL;
    index_groups_free(x->g, x->n);
    free(x);
    return rc;
}

static int list_build_risks(lctx *c)
{
    unsigned mask;
    int rc = p_types(c, true, ALL_TYPES, &mask, NULL);
    if (rc != IMGSEC_OK)
        return rc;
    if ((rc = build_groups_ix(c, mask)) != IMGSEC_ENOTFOUND)
        return rc;
    json_array_clear(c->items);
    conds cs = {0};
    qb q = {0};
    qb_sql(&q, "SELECT count(DISTINCT a.rule_id)");
    if ((rc = build_from(c, &q, &cs, mask, true)) != IMGSEC_OK) {
        qb_free(&q);
        return rc;
    }
    if ((rc = q_count(c, &q, &c->total)) != IMGSEC_OK || c->offset >= c->total)
        return rc;
    cs = (conds){0};
    /* the level's rank is its severity enum value: the model orders them alike */
    qb_sql(&q, "SELECT a.rule_id, max(a.risk_name), max(CASE a.risk_level WHEN 'critical' THEN %d "
               "WHEN 'high' THEN %d WHEN 'medium' THEN %d WHEN 'low' THEN %d ELSE %d END), "
               "count(DISTINCT a.image), max(i.latest_scan_time), min(a.image)",
           SEVERITY_CRITICAL, SEVERITY_HIGH, SEVERITY_MEDIUM, SEVERITY_LOW, SEVERITY_UNKNOWN);
    build_from(c, &q, &cs, mask, true);
    qb_sql(&q, " GROUP BY a.rule_id ORDER BY a.rule_id");
    qb_page(&q, c);
    return q_items(c, &q, item_build_rule);
}

static int row_risk(const store_cell *x, int n, void *arg)
{
    json_t *list = arg, *o = json_object();
    (void)n; /* remediation, build_instruction[, ...] */
    if (!o || !put_str(o, "remediation", &x[0]) || !put_str(o, "build_instruction", &x[1]) ||
        json_array_append_new(list, o) != 0) {
        json_decref(o);
        return IMGSEC_EINTERNAL;
    }
    return 0;
}

static int rec_risk(const store_cell *x, size_t n, void *arg)
{
    return row_risk(x, (int)n, arg);
}

static bool item_build_image(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n;
    json_t *list = json_array(), *detail = json_object();
    if (!list || !detail) {
        json_decref(list);
        json_decref(detail);
        return false;
    }
    bool ok;
    if (c->risk_lists) { /* read for the whole page at once */
        char key[24];
        snprintf(key, sizeof key, "%" PRId64, x[0].i);
        json_t *got = json_object_get(c->risk_lists, key);
        ok = !got || json_array_extend(list, got) == 0;
    } else {
        ok = build_rule_records(c, x[0].i, param(c, "rule_id"), "remediation",
                                "build_instruction", rec_risk, list) == IMGSEC_OK;
    }
    ok = ok && put_i(detail, "risk_num", (int64_t)json_array_size(list)) &&
         json_object_set_new(detail, "risk_list", list) == 0;
    if (!ok) {
        json_decref(detail);
        return false;
    }
    return put(o, "risk_detail_info", detail) && put_str(o, "namespace", &x[1]) &&
           put_str(o, "image_digest", &x[2]) && put_str(o, "image_id", &x[3]) &&
           put_str(o, "image_name", &x[4]) && put_str(o, "image_version", &x[5]) &&
           put_str(o, "image_type", &x[6]) && put_int(o, "image_size", &x[7], false) &&
           put_int(o, "latest_scan_time", &x[8], false);
}

/* (remediation, build_instruction, image, seq) into {"<image>": [risk, ...]} */
static int rec_risk_of(const store_cell *x, size_t n, void *arg)
{
    json_t *by_image = arg;
    char key[24];
    if (n != 4 || x[2].kind != CELL_INT)
        return IMGSEC_EINTERNAL;
    snprintf(key, sizeof key, "%" PRId64, x[2].i);
    json_t *list = json_object_get(by_image, key);
    if (!list && (!(list = json_array()) || json_object_set_new(by_image, key, list) != 0))
        return IMGSEC_EINTERNAL;
    return row_risk(x, 2, list);
}

typedef struct {
    const index_scope *scope;
    unsigned mask;
    index_image_match m;
    const char *key; /* rule_id, or vul_id when type >= 0 */
    int type;
    int rank_lo, rank_hi; /* vulnerabilities: the image's highest rank of it */
    int64_t offset, limit, total;
    int64_t ids[LIST_LIMIT_MAX];
    uint8_t ranks[LIST_LIMIT_MAX]; /* vulnerabilities: each image's rank of it */
    size_t n;
} images_call;

static int ix_images(imgsec_index *ix, void *arg, imgsec_err *err)
{
    images_call *x = arg;
    /* no image condition: NULL, which lets the index answer from its
     * cached per-type rows (index_list.c) */
    const index_image_match *m = x->m.ref || x->m.name ? &x->m : NULL;
    if (x->type >= 0)
        return index_vul_images(ix, x->scope, x->mask, m, x->key, (vul_type)x->type, x->rank_lo,
                                x->rank_hi, x->offset, x->limit, &x->total, x->ids, x->ranks,
                                &x->n, err);
    return index_build_images(ix, x->scope, x->mask, m, x->key, x->offset, x->limit,
                              &x->total, x->ids, &x->n, err);
}

/* item_vul_image over a page's image rows, each followed by its rank of
 * the vulnerability from the index (the page's ids are in id order, as
 * the rows). */
typedef struct {
    const images_call *x;
    item_ctx item;
} rank_ctx;

static int row_vul_image(const store_cell *cells, int n, void *arg)
{
    rank_ctx *r = arg;
    store_cell with[11];
    if (n != 10 || cells[0].kind != CELL_INT)
        return err_set(r->item.c->err, IMGSEC_EINTERNAL, "list: an image row of another shape");
    const int64_t *at = bsearch(&cells[0].i, r->x->ids, r->x->n, sizeof *r->x->ids, id_cmp);
    if (!at)
        return err_set(r->item.c->err, IMGSEC_EINTERNAL, "list: an image the index named is gone");
    memcpy(with, cells, 10 * sizeof *cells);
    with[10] = cell_int(r->x->ranks[at - r->x->ids]);
    return row_item(with, 11, &r->item);
}

/* The page of images of one build rule (type < 0) or vulnerability (with
 * its highest rank in [rank_lo, rank_hi]) from the index, then their rows
 * from the store: the columns of item_build_image, or of item_vul_image
 * (the rank is the index's, agg_vul's rank). */
static int images_ix(lctx *c, unsigned mask, const char *key, int type, const char *name,
                     int rank_lo, int rank_hi, item_fn fn)
{
    const char *ref;
    int rc = p_str(c, "image_id", 128, false, &ref);
    if (rc != IMGSEC_OK)
        return rc;
    if (mask == 0)
        return IMGSEC_ENOTFOUND;
    images_call *x = calloc(1, sizeof *x);
    if (!x)
        return oom(c);
    *x = (images_call){.scope = c->scope, .mask = mask == ALL_TYPES ? 0 : mask,
                       .m = {ref, name}, .key = key, .type = type, .rank_lo = rank_lo,
                       .rank_hi = rank_hi, .offset = c->offset, .limit = c->limit};
    rc = with_ix(c, ix_images, x);
    if (rc == IMGSEC_OK)
        c->total = x->total;
    if (rc == IMGSEC_OK && x->n > 0) {
        qb q = {0};
        if (type < 0) { /* the risk lists of the page's images, in one read */
            rec_preds ps = {.type = REPORT_BUILD_COMMAND_RISKS};
            rec_preds_eq(&ps, "rule_id", &key, 1);
            int fields[2] = {record_field_index(ps.type, "remediation"),
                             record_field_index(ps.type, "build_instruction")};
            if (!(c->risk_lists = json_object()))
                rc = oom(c);
            else if ((rc = store_images_records(c->st, &ps, x->ids, x->n, fields, 2, rec_risk_of,
                                                c->risk_lists, c->err)) != IMGSEC_OK &&
                     c->err->code == IMGSEC_OK)
                rc = oom(c);
            qb_sql(&q, "SELECT i.id, i.namespace, i.image_digest, i.image_id, i.image_name, "
                       "i.image_version, i.image_type, i.image_size, i.latest_scan_time "
                       "FROM images i WHERE 1");
            qb_ids(&q, "i.id", x->ids, x->n);
            qb_sql(&q, " ORDER BY i.id");
        } else {
            qb_sql(&q, "SELECT i.id, i.image_id, i.image_name, i.container_num, "
                       "i.image_digest, i.image_version, i.latest_scan_time, i.image_type, "
                       "i.image_size, i.namespace FROM images i WHERE 1");
            qb_ids(&q, "i.id", x->ids, x->n);
            qb_sql(&q, " ORDER BY i.id");
        }
        if (rc == IMGSEC_OK && type >= 0)
            rc = q_run(c, &q, row_vul_image, &(rank_ctx){x, {c, fn}});
        else if (rc == IMGSEC_OK)
            rc = q_items(c, &q, fn);
        else
            qb_free(&q);
        json_decref(c->risk_lists);
        c->risk_lists = NULL;
    }
    free(x);
    return rc;
}

static int list_build_risk_images(lctx *c)
{
    unsigned mask;
    const char *rule_id;
    int rc = p_types(c, true, ALL_TYPES, &mask, NULL);
    if (rc != IMGSEC_OK || (rc = p_str(c, "rule_id", 64, true, &rule_id)) != IMGSEC_OK)
        return rc;
    if (!rule_id)
        return bad(c, "rule_id must be 1-64 characters");
    if ((rc = images_ix(c, mask, rule_id, -1, NULL, 0, 4, item_build_image)) != IMGSEC_ENOTFOUND)
        return rc;
    conds cs = {0};
    conds_add(&cs, "a.rule_id = ?", rule_id, 0);
    qb q = {0};
    qb_sql(&q, "SELECT count(DISTINCT a.image)");
    if ((rc = build_from(c, &q, &cs, mask, false)) != IMGSEC_OK) {
        qb_free(&q);
        return rc;
    }
    if ((rc = q_count(c, &q, &c->total)) != IMGSEC_OK || c->offset >= c->total)
        return rc;
    cs = (conds){0};
    conds_add(&cs, "a.rule_id = ?", rule_id, 0);
    qb_sql(&q, "SELECT i.id, i.namespace, i.image_digest, i.image_id, i.image_name, "
               "i.image_version, i.image_type, i.image_size, i.latest_scan_time");
    build_from(c, &q, &cs, mask, false);
    /* by images' key (= a.image): its other columns may stand beside it on
     * both engines (PostgreSQL knows they depend on the key) */
    qb_sql(&q, " GROUP BY i.id ORDER BY i.id");
    qb_page(&q, c);
    return q_items(c, &q, item_build_image);
}

/* ---- vulnerability-centric views ---- */

/* One vulnerability over the selection: the highest rank and CVSS score
 * and its texts, from every record of it in the selected images. */
typedef struct {
    int64_t records;
    int64_t rank;
    store_cell cvss;
    double cvss_v;
    json_t *description, *solution, *url;
} vul_detail;

static int row_vul_detail(const store_cell *x, int n, void *arg)
{
    vul_detail *d = arg;
    d->records = x[0].i;
    d->rank = x[1].kind == CELL_INT ? x[1].i : 0;
    d->cvss = x[2];
    d->cvss_v = x[2].kind == CELL_REAL ? x[2].d : (double)x[2].i;
    if (n < 6) /* the counts alone (vul_detail_get reads the texts apart) */
        return 0;
    if (x[3].kind == CELL_STRING)
        d->description = json_stringn(x[3].s, x[3].len);
    if (x[4].kind == CELL_STRING)
        d->solution = json_stringn(x[4].s, x[4].len);
    if (x[5].kind == CELL_STRING)
        d->url = json_stringn(x[5].s, x[5].len);
    return 0;
}

static void vul_detail_free(vul_detail *d)
{
    json_decref(d->description);
    json_decref(d->solution);
    json_decref(d->url);
}

/* " ORDER BY" the representative record of a group first (docs/api.md,
 * "Finding lists"): the highest severity rank, then the highest CVSS score
 * (none lowest: NULLS LAST said, since PostgreSQL sorts NULL above every
 * value and SQLite below), then the lowest (image, seq). Over agg_vul a,
 * whose rows hold each image's representative (schema 11): its rank is
 * the image's highest and rep_cvss the best score at that rank, so the
 * best row names the best record of the whole selection. */
#define AGG_REP_ORDER " ORDER BY a.rank DESC, a.rep_cvss DESC NULLS LAST, a.image, a.rep_seq LIMIT 1"

/* A representative record's (image, seq) as one integer, rk = image * 2^32
 * + seq (a seq is far below 2^32: records per image are bounded), so that
 * one scalar subquery names it (qb_rep_key); the record's texts are then
 * read by key through the record API (rep_texts_read), a page's in one
 * read. */
#define REP_KEY_SHIFT "4294967296"
#define REP_KEY_SHIFT_N INT64_C(4294967296)

/* " FROM agg_vul a JOIN images i ON i.id = a.image WHERE a.vul_id = <vul_expr,
 * or the text vul_id> [AND a.vul_type = <type>] <scope>": one
 * vulnerability's agg_vul rows in the selection (one per image and type),
 * by agg_vul_vul. */
static void qb_agg_vul_of(qb *q, lctx *c, unsigned mask, const char *vul_expr,
                          const char *vul_id, int type)
{
    qb_sql(q, " FROM agg_vul a JOIN images i ON i.id = a.image WHERE a.vul_id = ");
    if (vul_expr)
        qb_sql(q, "%s", vul_expr);
    else
        qb_text(q, vul_id);
    if (type >= 0) {
        qb_sql(q, " AND a.vul_type = ");
        qb_text(q, VUL_TYPE_WORDS[type]);
    }
    qb_scope(q, c, mask);
}

/* "(rk of the representative of the group vul_expr in the selection:
 * scope, mask, type >= 0, cs)" (the record conditions of the group lists
 * are on vul_id and vul_type, which agg_vul's rows carry, as a.vul_id and
 * a.vul_type). */
static void qb_rep_key(qb *q, lctx *c, unsigned mask, const char *vul_expr, const char *vul_id,
                       int type, const conds *cs)
{
    qb_sql(q, "(SELECT a.image * " REP_KEY_SHIFT " + a.rep_seq");
    qb_agg_vul_of(q, c, mask, vul_expr, vul_id, type);
    if (cs)
        qb_conds(q, cs);
    qb_sql(q, AGG_REP_ORDER ")");
}

typedef struct {
    int64_t id, image, seq;
    bool have;
    json_t *texts[3]; /* description, solution, url (NULL: none) */
} rep_texts;

typedef struct {
    rep_texts *reps;
    const size_t *order; /* the reps with have, by (image, seq) */
    size_t n, at;
} rep_rows;

static int rep_cmp(const void *pa, const void *pb, void *arg)
{
    const rep_texts *r = arg, *a = &r[*(const size_t *)pa], *b = &r[*(const size_t *)pb];
    return a->image != b->image ? (a->image > b->image) - (a->image < b->image)
                                : (a->seq > b->seq) - (a->seq < b->seq);
}

/* description, solution, url, image, seq: the texts of the reps at that
 * record (the rows come in the order's order) */
static int row_rep_texts(const store_cell *x, size_t n, void *arg)
{
    rep_rows *r = arg;
    (void)n;
    while (r->at < r->n) {
        rep_texts *rep = &r->reps[r->order[r->at]];
        if (rep->image > x[3].i || (rep->image == x[3].i && rep->seq > x[4].i))
            break; /* a later record's */
        r->at++;
        if (rep->image != x[3].i || rep->seq != x[4].i)
            continue; /* gone meanwhile: no texts */
        for (int k = 0; k < 3; k++)
            if (x[k].kind == CELL_STRING && !(rep->texts[k] = json_stringn(x[k].s, x[k].len)))
                return IMGSEC_EINTERNAL;
    }
    return 0;
}

_Static_assert(STORE_SPANS_MAX >= LIST_LIMIT_MAX, "a page's representatives are one read");

/* The texts of the n representative records reps[k].(image, seq) (those
 * with have), read by primary key in one read (records.h). */
static int rep_texts_read(lctx *c, rep_texts *reps, size_t n)
{
    store_span spans[STORE_SPANS_MAX];
    size_t order[STORE_SPANS_MAX], m = 0;
    for (size_t k = 0; k < n && m < STORE_SPANS_MAX; k++)
        if (reps[k].have)
            order[m++] = k;
    if (m > 1)
        qsort_r(order, m, sizeof *order, rep_cmp, reps);
    for (size_t i = 0; i < m; i++)
        spans[i] = (store_span){reps[order[i]].image, reps[order[i]].seq, 1};
    static const char *const TEXTS[] = {"description", "solution", "url"};
    int fields[3];
    for (int k = 0; k < 3; k++)
        fields[k] = record_field_index(REPORT_VULNERABILITY, TEXTS[k]);
    rep_rows r = {reps, order, m, 0};
    int rc = store_record_spans(c->st, REPORT_VULNERABILITY, spans, m, fields, 3, row_rep_texts,
                                &r, c->err);
    return rc != IMGSEC_OK && c->err->code == IMGSEC_OK ? oom(c) : rc;
}

static void rep_texts_free(rep_texts *reps, size_t n)
{
    for (size_t k = 0; k < n; k++)
        for (int t = 0; t < 3; t++)
            json_decref(reps[k].texts[t]);
}

/* One row of a group query whose last column is the representative's
 * key (rk, qb_rep_key): its other cells copied (the texts of vul_id
 * included), and the key as (image, seq). */
#define GROUP_ROW_CELLS 8
typedef struct {
    store_cell cells[GROUP_ROW_CELLS];
    char *text; /* the bytes of the row's text cells, one allocation */
    int n;
    int64_t image, seq;
    bool have;
} group_row;

static int row_group_key(const store_cell *x, int n, void *arg)
{
    group_row *g = arg;
    if (n < 1 || n - 1 > GROUP_ROW_CELLS)
        return IMGSEC_EINTERNAL;
    g->n = n - 1;
    size_t bytes = 0;
    for (int k = 0; k < g->n; k++)
        bytes += x[k].kind == CELL_STRING ? x[k].len + 1 : 0;
    if (bytes && !(g->text = malloc(bytes)))
        return IMGSEC_EINTERNAL;
    char *p = g->text;
    for (int k = 0; k < g->n; k++) {
        g->cells[k] = x[k];
        if (x[k].kind == CELL_STRING) {
            memcpy(p, x[k].s, x[k].len);
            p[x[k].len] = '\0';
            g->cells[k].s = p;
            p += x[k].len + 1;
        }
    }
    const store_cell *rk = &x[n - 1];
    if ((g->have = rk->kind == CELL_INT)) {
        g->image = rk->i / REP_KEY_SHIFT_N;
        g->seq = rk->i % REP_KEY_SHIFT_N;
    }
    return 0;
}

typedef struct {
    rep_texts *rep;
    store_cell cvss;
} agg_rep_row;

/* (max cvss, rk) of a group's agg_vul rows into an agg_rep_row */
static int row_agg_rep(const store_cell *x, int n, void *arg)
{
    agg_rep_row *r = arg;
    (void)n;
    if (x[0].kind != CELL_NULL)
        r->cvss = (store_cell){.kind = CELL_REAL,
                               .d = x[0].kind == CELL_REAL ? x[0].d : (double)x[0].i};
    if (x[1].kind == CELL_INT) {
        r->rep->image = x[1].i / REP_KEY_SHIFT_N;
        r->rep->seq = x[1].i % REP_KEY_SHIFT_N;
        r->rep->have = true;
    }
    return 0;
}

/* A group the index does not hold exactly (a CVSS score it cannot code):
 * its representative and highest CVSS score from its agg_vul rows in the
 * selection (one per image). */
static int agg_rep(lctx *c, const char *vul_id, int type, unsigned mask, rep_texts *rep,
                   store_cell *cvss)
{
    agg_rep_row r = {rep, {.kind = CELL_NULL}};
    qb q = {0};
    qb_sql(&q, "SELECT max(a.cvss), ");
    qb_rep_key(&q, c, mask, NULL, vul_id, type, NULL);
    qb_agg_vul_of(&q, c, mask, NULL, vul_id, type);
    int rc = q_run(c, &q, row_agg_rep, &r);
    *cvss = r.cvss;
    return rc;
}

static int vul_groups_ix(lctx *c, unsigned mask, const index_group_req *r, item_fn fn);

/* ListVulnerabilityCve's one item: the records, rank and CVSS score of one
 * vulnerability and its representative's texts. */
static int vul_detail_get(lctx *c, const char *vul_id, unsigned mask, int type, vul_detail *d)
{
    memset(d, 0, sizeof *d);
    if (c->accel && c->accel->with_index) {
        /* the server: the index's group of the one vulnerability
         * (test_index_groups_equal_sql compares it with the SQL below) */
        index_group_req r = {.vul_type = type, .equals = vul_id, .level = -1};
        json_t *saved = c->items;
        if (!(c->items = json_array())) {
            c->items = saved;
            return oom(c);
        }
        int64_t offset = c->offset, limit = c->limit;
        c->offset = 0;
        c->limit = 1;
        int rc = vul_groups_ix(c, mask, &r, NULL);
        c->offset = offset;
        c->limit = limit;
        json_t *got = c->items;
        c->items = saved;
        if (rc == IMGSEC_OK) {
            json_t *row = json_array_get(got, 0);
            if (row) {
                d->records = json_integer_value(json_array_get(row, 0));
                d->rank = json_integer_value(json_array_get(row, 1));
                json_t *cv = json_array_get(row, 2);
                if (json_is_real(cv)) {
                    d->cvss = (store_cell){.kind = CELL_REAL, .d = json_real_value(cv)};
                    d->cvss_v = json_real_value(cv);
                }
                json_t **texts[3] = {&d->description, &d->solution, &d->url};
                for (int t = 0; t < 3; t++) {
                    json_t *v = json_array_get(row, 3 + (size_t)t);
                    *texts[t] = json_is_string(v) ? json_incref(v) : NULL;
                }
            }
        }
        json_decref(got);
        if (rc != IMGSEC_ENOTFOUND)
            return rc;
    }
    /* the counts and the representative's key, then its texts by key */
    qb q = {0};
    qb_sql(&q, "SELECT CAST(coalesce(sum(a.n), 0) AS BIGINT), max(a.rank), max(a.cvss), ");
    qb_rep_key(&q, c, mask, NULL, vul_id, type, NULL);
    qb_agg_vul_of(&q, c, mask, NULL, vul_id, type);
    group_row g = {0};
    int rc = q_run(c, &q, row_group_key, &g);
    if (rc != IMGSEC_OK)
        return rc;
    row_vul_detail(g.cells, 3, d);
    free(g.text);
    rep_texts rep = {.image = g.image, .seq = g.seq, .have = g.have};
    if ((rc = rep_texts_read(c, &rep, 1)) == IMGSEC_OK) {
        json_t **texts[3] = {&d->description, &d->solution, &d->url};
        for (int t = 0; t < 3; t++)
            *texts[t] = json_incref(rep.texts[t]);
    }
    rep_texts_free(&rep, 1);
    return rc;
}

/* [{cve_id, <score key>: cvss[, description]}] when the vul id is a CVE id. */
static json_t *cve_list(const char *vul_id, size_t len, const vul_detail *d, const char *score_key,
                        bool with_description)
{
    json_t *list = json_array();
    if (!list || !is_cve(vul_id, len))
        return list;
    json_t *o = json_object();
    bool ok = o && put(o, "cve_id", json_stringn(vul_id, len)) &&
              (d->cvss.kind == CELL_NULL || put(o, score_key, json_real(d->cvss_v))) &&
              (!with_description || !d->description ||
               put(o, "description", json_incref(d->description))) &&
              json_array_append_new(list, o) == 0;
    if (!ok) {
        json_decref(list);
        return NULL;
    }
    return list;
}

typedef struct {
    unsigned mask;
    int type;
} vul_sel;

/* ListGeneralImageVuls: GeneralImageVulsResponseInfo */
static bool item_general_vul(json_t *o, const store_cell *x, int n, lctx *c)
{
    unsigned mask;
    const char *word;
    int type = -1;
    if (p_types(c, true, ALL_TYPES, &mask, &word) != IMGSEC_OK ||
        p_enum(c, "type", VUL_TYPE_WORDS, true, &type) != IMGSEC_OK)
        return false;
    (void)mask;
    vul_detail d = {0};
    row_vul_detail(x + 3, n - 3, &d);
    json_t *cves = cve_list(x[0].s, x[0].len, &d, "cvss", false);
    bool ok = cves && put_str(o, "vul_name", &x[0]) && put_str(o, "vul_id", &x[0]) &&
              put_cstr(o, "type", VUL_TYPE_WORDS[type]) && put_cstr(o, "image_type", word) &&
              put_cstr(o, "severity_level", cap_of_rank(d.rank)) &&
              put_int(o, "image_num", &x[1], true) && put(o, "cve_list", json_incref(cves)) &&
              (d.cvss.kind == CELL_NULL || put(o, "max_cvss_score", json_real(d.cvss_v))) &&
              put_int(o, "scan_time", &x[2], false) &&
              (!d.description || put(o, "description", json_incref(d.description))) &&
              (!d.url || put(o, "url", json_incref(d.url))) &&
              (!d.solution || put(o, "solution_detail", json_incref(d.solution)));
    json_decref(cves);
    vul_detail_free(&d);
    return ok;
}

/* Per vulnerability, in one scan of its agg_vul rows in the selection (one
 * per image and vulnerability type): vul_id, image_num, scan time,
 * records, then the row_vul_detail columns. cs is on a.vul_id and
 * a.vul_type only. */
static void qb_vul_groups(qb *q, lctx *c, unsigned mask, const conds *cs, const char *having)
{
    qb_sql(q, " FROM agg_vul a JOIN images i ON i.id = a.image WHERE 1");
    qb_scope(q, c, mask);
    qb_conds(q, cs);
    qb_sql(q, " GROUP BY a.vul_id");
    if (having)
        qb_sql(q, " HAVING max(a.rank) %s", having);
}

/* vul_groups from the index: the groups, their image and record counts,
 * scan time, level, representative and CVSS score from its postings
 * (index_vul_groups); then the page's representative records by primary
 * key for their texts. A group whose CVSS scores the index does not hold
 * exactly takes its representative and score from agg_vul. fn NULL:
 * each item is the JSON array of row_vul_detail's columns instead
 * (vul_detail_get). */
static int vul_groups_ix(lctx *c, unsigned mask, const index_group_req *r, item_fn fn)
{
    if (mask == 0)
        return IMGSEC_ENOTFOUND;
    groups_call *x = calloc(1, sizeof *x);
    rep_texts *reps = calloc(LIST_LIMIT_MAX, sizeof *reps);
    store_cell *cvss = calloc(LIST_LIMIT_MAX, sizeof *cvss);
    if (!x || !reps || !cvss) {
        free(x), free(reps), free(cvss);
        return oom(c);
    }
    x->scope = c->scope;
    x->r = *r;
    x->r.type_mask = mask == ALL_TYPES ? 0 : mask;
    x->r.offset = c->offset;
    x->r.limit = c->limit;
    int rc = with_ix(c, ix_groups, x);
    if (rc == IMGSEC_OK)
        c->total = x->total;
    for (size_t k = 0; rc == IMGSEC_OK && k < x->n; k++) {
        const index_group *g = &x->g[k];
        if (g->held) {
            reps[k] = (rep_texts){.image = g->rep_image, .seq = g->rep_seq, .have = true};
            cvss[k] = g->has_cvss ? (store_cell){.kind = CELL_REAL, .d = g->cvss}
                                  : (store_cell){.kind = CELL_NULL};
        } else {
            rc = agg_rep(c, g->key, r->vul_type, mask, &reps[k], &cvss[k]);
        }
    }
    if (rc == IMGSEC_OK)
        rc = rep_texts_read(c, reps, x->n);
    for (size_t k = 0; rc == IMGSEC_OK && k < x->n; k++) {
        const index_group *g = &x->g[k];
        json_t *item = NULL;
        bool ok;
        if (fn) {
            store_cell cells[9] = {cell_str(g->key), cell_int(g->images), cell_int(g->scan_time),
                                   cell_int(g->records), cell_int(g->level), cvss[k]};
            for (int t = 0; t < 3; t++) {
                json_t *s = reps[k].texts[t];
                cells[6 + t] = s ? (store_cell){.kind = CELL_STRING, .s = json_string_value(s),
                                                .len = json_string_length(s)}
                                 : (store_cell){.kind = CELL_NULL};
            }
            ok = (item = json_object()) && fn(item, cells, 9, c);
        } else {
            ok = (item = json_pack("[IIoOOO]", (json_int_t)g->records, (json_int_t)g->level,
                                   cvss[k].kind == CELL_REAL ? json_real(cvss[k].d) : json_null(),
                                   reps[k].texts[0] ? reps[k].texts[0] : json_null(),
                                   reps[k].texts[1] ? reps[k].texts[1] : json_null(),
                                   reps[k].texts[2] ? reps[k].texts[2] : json_null())) != NULL;
        }
        if (!ok || json_array_append_new(c->items, item) != 0) {
            json_decref(item);
            rc = c->err->code != IMGSEC_OK ? (int)c->err->code : oom(c);
        }
    }
    rep_texts_free(reps, x->n);
    index_groups_free(x->g, x->n);
    free(x), free(reps), free(cvss);
    return rc;
}

/* A page of group rows (row_group_key each). */
typedef struct {
    group_row rows[LIST_LIMIT_MAX];
    size_t n;
} group_page;

static int row_group_page(const store_cell *x, int n, void *arg)
{
    group_page *p = arg;
    if (p->n == LIST_LIMIT_MAX)
        return IMGSEC_EINTERNAL;
    int rc = row_group_key(x, n, &p->rows[p->n]);
    if (rc == 0)
        p->n++;
    return rc;
}

static void group_page_free(group_page *p)
{
    for (size_t k = 0; k < p->n; k++)
        free(p->rows[k].text);
}

/* r: the same selection for the index (NULL: the store only), with the
 * rank range of having (r->by_rank) when there is one. */
static int vul_groups(lctx *c, unsigned mask, const conds *cs, const char *having, item_fn fn,
                      const index_group_req *r)
{
    int rc;
    if (r && !cs->none && (rc = vul_groups_ix(c, mask, r, fn)) != IMGSEC_ENOTFOUND)
        return rc;
    json_array_clear(c->items);
    qb q = {0};
    qb_sql(&q, "SELECT count(*) FROM (SELECT 1");
    qb_vul_groups(&q, c, mask, cs, having);
    qb_sql(&q, ") AS g"); /* PostgreSQL wants a subquery named */
    rc = q_count(c, &q, &c->total);
    if (rc != IMGSEC_OK || c->offset >= c->total)
        return rc;
    /* the page's groups with their representatives' keys, then those
     * records' texts in one read by key (as vul_groups_ix) */
    qb_sql(&q, "SELECT p.*, ");
    qb_rep_key(&q, c, mask, "p.vul_id", NULL, -1, cs);
    qb_sql(&q, " AS rk FROM (SELECT a.vul_id AS vul_id, count(DISTINCT a.image) AS images, "
               "max(i.latest_scan_time) AS scan, CAST(sum(a.n) AS BIGINT) AS n, "
               "max(a.rank) AS rank, max(a.cvss) AS cvss");
    qb_vul_groups(&q, c, mask, cs, having);
    qb_sql(&q, " ORDER BY a.vul_id");
    qb_page(&q, c);
    qb_sql(&q, ") p ORDER BY p.vul_id");
    group_page *gp = calloc(1, sizeof *gp);
    rep_texts *reps = calloc(LIST_LIMIT_MAX, sizeof *reps);
    if (!gp || !reps) {
        free(gp), free(reps);
        qb_free(&q);
        return oom(c);
    }
    rc = q_run(c, &q, row_group_page, gp);
    if (rc != IMGSEC_OK && c->err->code == IMGSEC_OK)
        rc = oom(c);
    for (size_t k = 0; rc == IMGSEC_OK && k < gp->n; k++)
        reps[k] = (rep_texts){.image = gp->rows[k].image, .seq = gp->rows[k].seq,
                              .have = gp->rows[k].have};
    if (rc == IMGSEC_OK)
        rc = rep_texts_read(c, reps, gp->n);
    item_ctx ic = {c, fn};
    for (size_t k = 0; rc == IMGSEC_OK && k < gp->n; k++) {
        store_cell cells[GROUP_ROW_CELLS + 3];
        const group_row *g = &gp->rows[k];
        memcpy(cells, g->cells, (size_t)g->n * sizeof *cells);
        for (int t = 0; t < 3; t++) {
            json_t *s = reps[k].texts[t];
            cells[g->n + t] = s ? (store_cell){.kind = CELL_STRING, .s = json_string_value(s),
                                               .len = json_string_length(s)}
                                : (store_cell){.kind = CELL_NULL};
        }
        rc = row_item(cells, g->n + 3, &ic);
    }
    rep_texts_free(reps, gp->n);
    free(reps);
    group_page_free(gp);
    free(gp);
    return rc;
}

static int list_general_vuls(lctx *c)
{
    unsigned mask;
    int type, handle, sev, status;
    const char *vul_id, *vul_name, *cve_id, *labels, *cluster;
    static const char *const STATUS_WORDS[] = {"vul_status_unfix", "vul_status_ignored", NULL};
    int rc;
    if ((rc = p_enum(c, "type", VUL_TYPE_WORDS, true, &type)) != IMGSEC_OK ||
        (rc = p_enum(c, "handle_status", HANDLE_WORDS, true, &handle)) != IMGSEC_OK ||
        (rc = p_types(c, true, ALL_TYPES, &mask, NULL)) != IMGSEC_OK ||
        (rc = p_enum(c, "severity_level", CAP_WORDS, false, &sev)) != IMGSEC_OK ||
        (rc = p_str(c, "vul_id", 128, false, &vul_id)) != IMGSEC_OK ||
        (rc = p_str(c, "vul_name", 256, false, &vul_name)) != IMGSEC_OK ||
        (rc = p_str(c, "cve_id", 256, false, &cve_id)) != IMGSEC_OK ||
        (rc = p_str(c, "label_list", 256, false, &labels)) != IMGSEC_OK ||
        (rc = p_enum(c, "status", STATUS_WORDS, false, &status)) != IMGSEC_OK ||
        (rc = p_str(c, "cluster_id", 128, false, &cluster)) != IMGSEC_OK)
        return rc;
    /* nothing is handled, ignored, labelled or in a cluster (docs/api.md) */
    conds cs = {.none = handle == 1 || status == 1 || labels || cluster};
    conds_add(&cs, "a.vul_type = ?", VUL_TYPE_WORDS[type], 0);
    if (vul_id)
        conds_add(&cs, "instr(a.vul_id, ?) > 0", vul_id, 0);
    if (vul_name) /* a vulnerability's name is its id */
        conds_add(&cs, "instr(a.vul_id, ?) > 0", vul_name, 0);
    if (cve_id)
        conds_add(&cs, "a.vul_id = ? AND a.vul_id LIKE 'CVE-%'", cve_id, 0);
    index_group_req r = {.vul_type = type, .contains = {vul_id, vul_name}, .equals = cve_id,
                         .equals_cve = true, .level = -1, .by_rank = sev >= 0,
                         .rank_lo = sev >= 0 ? CAP_RANK_LO[sev] : 0,
                         .rank_hi = sev >= 0 ? CAP_RANK_HI[sev] : 4};
    return vul_groups(c, mask, &cs, sev >= 0 ? CAP_RANK_SQL[sev] : NULL, item_general_vul, &r);
}

/* ListGlobalVulnerabilities: GlobalVulInfo */
static bool item_global_vul(json_t *o, const store_cell *x, int n, lctx *c)
{
    int type = -1;
    if (p_enum(c, "type", VUL_TYPE_WORDS, false, &type) != IMGSEC_OK)
        return false;
    (void)type;
    vul_detail d = {0};
    row_vul_detail(x + 3, n - 3, &d);
    json_t *cves = cve_list(x[0].s, x[0].len, &d, "cvss_score", true);
    bool ok = cves && put_str(o, "vul_name", &x[0]) && put_str(o, "vul_id", &x[0]) &&
              put_cstr(o, "repair_necessity", repair_of_rank(d.rank)) &&
              (!d.description || (put(o, "description", json_incref(d.description)) &&
                                  put(o, "decription", json_incref(d.description)))) &&
              (!d.solution || put(o, "solution", json_incref(d.solution))) &&
              (!d.url || put(o, "url", json_incref(d.url))) &&
              put_int(o, "history_number", &x[3], true) && put_int(o, "undeal_number", &x[3], true) &&
              put(o, "data_list", json_incref(cves));
    json_decref(cves);
    vul_detail_free(&d);
    return ok;
}

static int list_global_vuls(lctx *c)
{
    int repair, type;
    const char *vul_id;
    int rc;
    if ((rc = p_enum(c, "repair_necessity", REPAIR_WORDS, false, &repair)) != IMGSEC_OK ||
        (rc = p_enum(c, "type", VUL_TYPE_WORDS, false, &type)) != IMGSEC_OK ||
        (rc = p_str(c, "vul_id", 128, false, &vul_id)) != IMGSEC_OK)
        return rc;
    static const char *const REPAIR_RANK_SQL[] = {">= 3", "= 2", "<= 1"};
    static const int REPAIR_LO[] = {3, 2, 0}, REPAIR_HI[] = {4, 2, 1};
    conds cs = {0};
    if (type >= 0)
        conds_add(&cs, "a.vul_type = ?", VUL_TYPE_WORDS[type], 0);
    if (vul_id)
        conds_add(&cs, "instr(a.vul_id, ?) > 0", vul_id, 0);
    index_group_req r = {.vul_type = type, .contains = {vul_id}, .level = -1,
                         .by_rank = repair >= 0, .rank_lo = repair >= 0 ? REPAIR_LO[repair] : 0,
                         .rank_hi = repair >= 0 ? REPAIR_HI[repair] : 4};
    return vul_groups(c, ALL_TYPES, &cs, repair >= 0 ? REPAIR_RANK_SQL[repair] : NULL,
                      item_global_vul, &r);
}

/* ListVulAffectImages: VulAffectImagesResponseInfo (several numbers as strings) */
static bool item_vul_image(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n;
    const char *vul_id = param(c, "vul_id");
    const char *t = x[7].kind == CELL_STRING ? x[7].s : "";
    int it = image_type_parse(t);
    const char *group = it == IMAGE_TYPE_LOCAL ? "local_image" : it == IMAGE_TYPE_CICD ? "cicd"
                                                                                      : "registry";
    return put_str(o, "image_id", &x[1]) && put_str(o, "image_name", &x[2]) &&
           put_cstr(o, "vul_id", vul_id) && put_cstr(o, "repair_necessity", cap_of_rank(x[10].i)) &&
           put_int(o, "container_num", &x[3], true) && put_str(o, "image_digest", &x[4]) &&
           put_str(o, "image_version", &x[5]) && put_cstr(o, "status", "vul_status_unfix") &&
           put_str(o, "latest_scan_time", &x[6]) && put_cstr(o, "image_type", group) &&
           put_str(o, "image_size", &x[8]) && put_str(o, "organization", &x[9]);
}


static int list_vul_affect_images(lctx *c)
{
    unsigned mask;
    int handled, type, repair, status;
    const char *vul_id, *ref, *name, *registry_name, *registry_type, *cluster;
    static const char *const STATUS_WORDS[] = {"vul_status_unfix", "vul_status_ignored", NULL};
    static const char *const REPAIR_COND[] = {IMAGE_VUL_RANK " = 4", IMAGE_VUL_RANK " = 3",
                                              IMAGE_VUL_RANK " = 2", IMAGE_VUL_RANK " <= 1"};
    int rc;
    if ((rc = p_bool(c, "is_handled", true, &handled)) != IMGSEC_OK ||
        (rc = p_str(c, "vul_id", 128, true, &vul_id)) != IMGSEC_OK ||
        (rc = p_enum(c, "type", VUL_TYPE_WORDS, true, &type)) != IMGSEC_OK ||
        (rc = p_types(c, true, ALL_TYPES, &mask, NULL)) != IMGSEC_OK ||
        (rc = p_enum(c, "repair_necessity", CAP_WORDS, false, &repair)) != IMGSEC_OK ||
        (rc = p_str(c, "image_id", 128, false, &ref)) != IMGSEC_OK ||
        (rc = p_str(c, "image_name", 256, false, &name)) != IMGSEC_OK ||
        (rc = p_str(c, "registry_name", 256, false, &registry_name)) != IMGSEC_OK ||
        (rc = p_str(c, "registry_type", 64, false, &registry_type)) != IMGSEC_OK ||
        (rc = p_enum(c, "status", STATUS_WORDS, false, &status)) != IMGSEC_OK ||
        (rc = p_str(c, "cluster_id", 128, false, &cluster)) != IMGSEC_OK)
        return rc;
    if (!vul_id)
        return bad(c, "vul_id must be 1-128 characters");
    conds cs = {.none = handled == 1 || status == 1 || registry_name || registry_type || cluster};
    conds_add(&cs, "a.vul_id = ?", vul_id, 0);
    conds_add(&cs, "a.vul_type = ?", VUL_TYPE_WORDS[type], 0);
    if (ref)
        conds_add(&cs, IMAGE_REF_COND, ref, 0);
    if (name)
        conds_add(&cs, "instr(i.image_name, ?) > 0", name, 0);
    if (repair >= 0)
        conds_add(&cs, REPAIR_COND[repair], NULL, 0);
    /* the index's postings carry each image's highest rank (agg_vul.rank) */
    if (!cs.none && (rc = images_ix(c, mask, vul_id, type, name,
                                    repair >= 0 ? CAP_RANK_LO[repair] : 0,
                                    repair >= 0 ? CAP_RANK_HI[repair] : 4,
                                    item_vul_image)) != IMGSEC_ENOTFOUND)
        return rc;
    for (int pass = 0; pass < 2; pass++) {
        qb q = {0};
        qb_sql(&q, pass == 0 ? "SELECT count(*)"
                             : "SELECT i.id, i.image_id, i.image_name, i.container_num, "
                               "i.image_digest, i.image_version, i.latest_scan_time, i.image_type, "
                               "i.image_size, i.namespace, " IMAGE_VUL_RANK);
        qb_sql(&q, " FROM agg_vul a JOIN images i ON i.id = a.image WHERE 1");
        qb_scope(&q, c, mask);
        qb_conds(&q, &cs);
        if (pass == 0) {
            if ((rc = q_count(c, &q, &c->total)) != IMGSEC_OK || c->offset >= c->total)
                return rc;
            continue;
        }
        qb_sql(&q, " ORDER BY a.image");
        qb_page(&q, c);
        return q_items(c, &q, item_vul_image);
    }
    return IMGSEC_OK;
}

static int list_vul_cve(lctx *c)
{
    if (strlen(c->arg) > 128)
        return bad(c, "vul_id must be at most 128 characters");
    vul_detail d;
    int rc = vul_detail_get(c, c->arg, ALL_TYPES, -1, &d);
    if (rc != IMGSEC_OK) {
        vul_detail_free(&d);
        return rc;
    }
    if (d.records == 0) {
        vul_detail_free(&d);
        return err_set(c->err, IMGSEC_ENOTFOUND, "vulnerability %s not found", c->arg);
    }
    json_t *cves = cve_list(c->arg, strlen(c->arg), &d, "cvss_score", true);
    vul_detail_free(&d);
    if (!cves)
        return oom(c);
    c->total = (int64_t)json_array_size(cves);
    if (c->offset >= c->total)
        json_array_clear(cves);
    json_decref(c->items);
    c->items = cves;
    return IMGSEC_OK;
}

/* ---- tenant-wide record lists ---- */

typedef struct {
    int64_t *ids, *counts;
    size_t n, cap;
} img_counts;

static int row_img_count(const store_cell *x, int n, void *arg)
{
    img_counts *ic = arg;
    (void)n;
    if (ic->n == ic->cap) {
        size_t cap = ic->cap ? ic->cap * 2 : 1024;
        int64_t *a = realloc(ic->ids, cap * sizeof *a);
        if (!a)
            return IMGSEC_EINTERNAL;
        ic->ids = a;
        int64_t *b = realloc(ic->counts, cap * sizeof *b);
        if (!b)
            return IMGSEC_EINTERNAL;
        ic->counts = b;
        ic->cap = cap;
    }
    ic->ids[ic->n] = x[0].i;
    ic->counts[ic->n++] = x[1].i;
    return 0;
}

/* Where a column of a tenant-wide list comes from. */
typedef enum {
    COL_END,       /* ends a view's columns */
    COL_IMAGE,     /* the images column name */
    COL_RECORD,    /* the record field name */
    COL_VUL_NUM,   /* an app's vul_num (APP_VUL_NUM) */
    COL_COMPLIANT, /* an app's is_compliant, 1 or 0 (APP_COMPLIANT) */
    COL_NULL,      /* NULL */
    COL_ZERO,      /* 0 */
} col_from;

typedef struct {
    col_from from;
    const char *name;
} view_col;

#define VIEW_COLS_MAX 16

typedef struct {
    report_type report;
    const char *table;
    /* the item function's cells in order, then r.image and r.seq: as SQL
     * (qb_view_cols) and through the record API (rows_of_spans) */
    const view_col *cols;
    item_fn fn;
    /* Few records in all (malware: 4,494 at 100,000 images): a filtered
     * list reads them first, each with its image by primary key, instead
     * of the scope's images by index, each with a probe of the records
     * (60,000 probes: 53 ms for a page of file_name=a) */
    bool few;
} global_view;

/* vul_num of an app: the image's vulnerability records with the app's
 * name and version, one range of rec_vul_app (store_schema_lists.c) per
 * row; an app is compliant unless the image has a non-compliant-app
 * record for it. As SQL, a correlated subquery per row; through the
 * record API, store_app_counts over the same rows. */
#define APP_VUL_NUM                                                                             \
    "(SELECT count(*) FROM rec_vulnerability v WHERE v.image = r.image AND v.app_name = "     \
    "r.app_name AND v.app_version IS r.app_version)"
#define APP_COMPLIANT                                                                           \
    "NOT EXISTS (SELECT 1 FROM rec_non_compliant_app nc WHERE nc.image = r.image AND "        \
    "nc.app_name = r.app_name AND nc.app_version IS r.app_version AND nc.app_path IS "        \
    "r.app_path)"

/* v's columns as a SELECT list over r (the record) and i (its image) */
static void qb_view_cols(qb *q, const global_view *v)
{
    for (const view_col *col = v->cols; col->from != COL_END; col++) {
        if (col != v->cols)
            qb_sql(q, ", ");
        switch (col->from) {
        case COL_IMAGE: qb_sql(q, "i.%s", col->name); break;
        case COL_RECORD: qb_sql(q, "r.%s", col->name); break;
        case COL_VUL_NUM: qb_sql(q, "%s", APP_VUL_NUM); break;
        case COL_COMPLIANT: qb_sql(q, "%s", APP_COMPLIANT); break;
        case COL_NULL: qb_sql(q, "NULL"); break;
        default: qb_sql(q, "0"); break;
        }
    }
}

/* The start and end of the SELECT of a page of v's rows: "SELECT <v's
 * columns>, r.image, r.seq FROM ", then the caller's FROM and WHERE over
 * r and i and its ORDER BY, LIMIT and OFFSET, then qb_page_end. On
 * PostgreSQL, whose Limit runs above the SELECT list, a view's per-row
 * subqueries (an app's vul_num and compliance) ran for every row the
 * OFFSET skips: ListGlobalImageApps with is_compliant=true deep in one
 * image of 3,000 apps, 20,000 images, ran them 3,019 times for a page of
 * 200 (8 ms). There the page is chosen in a derived table of the records
 * alone (not flattened: it has a LIMIT), and the columns are computed
 * over its rows, when the OFFSET (skip) passes over at least
 * PAGE_WRAP_SKIP_MIN rows: the derived table costs a second read of the
 * page's images, about what the subqueries of 200 skipped rows cost
 * (2.6 us a row there), and skipping one row measured 5.6-7.0 ms
 * unwrapped against 6.4-6.8 wrapped. SQLite skips the OFFSET's rows
 * before it computes a row's columns, so its SQL stays as it was.
 * Returns whether it wrapped. */
#define PAGE_WRAP_SKIP_MIN 200

static bool qb_page_start(qb *q, const lctx *c, const global_view *v, int64_t skip)
{
    bool wrap = false;
    for (const view_col *col = v->cols; col->from != COL_END; col++)
        wrap |= col->from == COL_VUL_NUM || col->from == COL_COMPLIANT;
    wrap = wrap && skip >= PAGE_WRAP_SKIP_MIN && store_is_pg(c->st);
    qb_sql(q, "SELECT ");
    qb_view_cols(q, v);
    qb_sql(q, ", r.image, r.seq FROM %s", wrap ? "(SELECT r.* FROM " : "");
    return wrap;
}

static void qb_page_end(qb *q, bool wrap, bool backward)
{
    if (wrap)
        qb_sql(q, ") r JOIN images i ON i.id = r.image ORDER BY %s",
               backward ? "r.image DESC, r.seq DESC" : "r.image, r.seq");
}

/* A page's records read through the record API, with what the view
 * shows of their images and apps (rows_of_spans). */
typedef struct {
    rec_batch recs;        /* the record fields the view needs, then image, seq */
    rec_batch imgs;        /* id, then the view's image columns, ORDER BY id */
    int rec_at[VIEW_COLS_MAX], img_at[VIEW_COLS_MAX]; /* a column's cell in either */
    int name, version, path; /* app_name, app_version, app_path in recs (-1: none) */
    bool images, vul_num_col, compliant_col; /* what the view shows beside the fields */
    int64_t *vul_num, *non_compliant;
} span_page;

static void span_page_free(span_page *p)
{
    rec_batch_free(&p->recs);
    rec_batch_free(&p->imgs);
    free(p->vul_num);
    free(p->non_compliant);
}

static int row_batch(const store_cell *x, int n, void *arg)
{
    return rec_batch_add(x, (size_t)n, arg);
}

/* Where each of the view's record fields is in a record's cells, the
 * app fields the derived columns need added at the end, and which of
 * the other reads the view needs. */
static size_t span_fields(const global_view *v, span_page *p, int *fields)
{
    size_t nf = 0, ni = 1;
    for (size_t k = 0; v->cols[k].from != COL_END && k < VIEW_COLS_MAX; k++) {
        const view_col *col = &v->cols[k];
        if (col->from == COL_RECORD) {
            p->rec_at[k] = (int)nf;
            fields[nf++] = record_field_index(v->report, col->name);
        } else if (col->from == COL_IMAGE) {
            p->img_at[k] = (int)ni++;
        }
        p->images = p->images || col->from == COL_IMAGE;
        p->vul_num_col = p->vul_num_col || col->from == COL_VUL_NUM;
        p->compliant_col = p->compliant_col || col->from == COL_COMPLIANT;
    }
    p->name = p->version = p->path = -1;
    if (p->vul_num_col || p->compliant_col) {
        p->name = (int)nf, fields[nf++] = record_field_index(v->report, "app_name");
        p->version = (int)nf, fields[nf++] = record_field_index(v->report, "app_version");
        p->path = (int)nf, fields[nf++] = record_field_index(v->report, "app_path");
    }
    return nf;
}

/* The counts what of the page's records' apps into *out. */
static int span_counts(lctx *c, span_page *p, store_app_count what, int64_t **out)
{
    size_t n = p->recs.n;
    store_app_ref *refs = calloc(n + 1, sizeof *refs);
    if (!refs || !(*out = calloc(n + 1, sizeof **out))) {
        free(refs);
        return oom(c);
    }
    for (size_t i = 0; i < n; i++) {
        const store_cell *r = p->recs.cells + i * p->recs.width;
        const store_cell *nm = &r[p->name], *ver = &r[p->version], *path = &r[p->path];
        refs[i] = (store_app_ref){r[p->recs.width - 2].i,
                                  nm->kind == CELL_STRING ? nm->s : "",
                                  ver->kind == CELL_STRING ? ver->s : NULL,
                                  path->kind == CELL_STRING ? path->s : NULL,
                                  nm->len, ver->len, path->len};
    }
    int rc = store_app_counts(c->st, what, refs, n, *out, c->err);
    free(refs);
    return rc;
}

/* The rows of n spans (primary-key ranges of records; n <= a page), in
 * (image, seq) order, through the record API (records.h): the records'
 * fields in one read, their images' columns in another, the apps' counts
 * in a third when the view shows them; then each row's cells are laid
 * out as the SQL of qb_view_cols would give them. */
static int rows_of_spans(lctx *c, const global_view *v, const index_record_span *sp, size_t n)
{
    if (n == 0)
        return IMGSEC_OK;
    if (n > STORE_SPANS_MAX)
        return err_set(c->err, IMGSEC_EINTERNAL, "list: a page of too many spans");
    span_page p = {0};
    int fields[VIEW_COLS_MAX + 3];
    size_t nf = span_fields(v, &p, fields);
    store_span spans[STORE_SPANS_MAX];
    for (size_t k = 0; k < n; k++)
        spans[k] = (store_span){sp[k].image_id, sp[k].seq, sp[k].take};
    int rc = store_record_spans(c->st, v->report, spans, n, fields, nf, rec_batch_add, &p.recs,
                                c->err);
    if (rc == IMGSEC_OK && p.recs.failed)
        rc = oom(c);
    rec_batch_seal(&p.recs);
    size_t w = p.recs.width;
    bool images = p.images;
    if (rc == IMGSEC_OK && images && p.recs.n) { /* the distinct images, in id order */
        qb q = {0};
        qb_sql(&q, "SELECT i.id");
        for (const view_col *col = v->cols; col->from != COL_END; col++)
            if (col->from == COL_IMAGE)
                qb_sql(&q, ", i.%s", col->name);
        int64_t ids[STORE_SPANS_MAX]; /* at most an image a span */
        size_t ni = 0;
        for (size_t i = 0; i < p.recs.n && ni < n; i++) {
            int64_t id = p.recs.cells[i * w + w - 2].i;
            if (ni == 0 || ids[ni - 1] != id)
                ids[ni++] = id;
        }
        qb_sql(&q, " FROM images i WHERE 1");
        qb_ids(&q, "i.id", ids, ni);
        qb_sql(&q, " ORDER BY i.id");
        rc = q_run(c, &q, row_batch, &p.imgs);
        if (rc == IMGSEC_OK && p.imgs.failed)
            rc = oom(c);
        rec_batch_seal(&p.imgs);
    }
    if (rc == IMGSEC_OK && p.vul_num_col)
        rc = span_counts(c, &p, STORE_APP_VULS, &p.vul_num);
    if (rc == IMGSEC_OK && p.compliant_col)
        rc = span_counts(c, &p, STORE_APP_NON_COMPLIANT, &p.non_compliant);
    size_t img = 0;
    for (size_t i = 0; rc == IMGSEC_OK && i < p.recs.n; i++) {
        const store_cell *r = p.recs.cells + i * w;
        const store_cell *im = NULL;
        while (images && img < p.imgs.n && p.imgs.cells[img * p.imgs.width].i < r[w - 2].i)
            img++;
        if (images && img < p.imgs.n && p.imgs.cells[img * p.imgs.width].i == r[w - 2].i)
            im = p.imgs.cells + img * p.imgs.width;
        if (images && !im)
            continue; /* the image is gone: so are its records, in this snapshot */
        store_cell cells[VIEW_COLS_MAX + 2];
        size_t k = 0;
        for (const view_col *col = v->cols; col->from != COL_END && k < VIEW_COLS_MAX;
             col++, k++) {
            switch (col->from) {
            case COL_IMAGE: cells[k] = im[p.img_at[k]]; break;
            case COL_RECORD: cells[k] = r[p.rec_at[k]]; break;
            case COL_VUL_NUM: cells[k] = cell_int(p.vul_num[i]); break;
            case COL_COMPLIANT: cells[k] = cell_int(p.non_compliant[i] == 0); break;
            case COL_NULL: cells[k] = (store_cell){.kind = CELL_NULL}; break;
            default: cells[k] = cell_int(0); break;
            }
        }
        cells[k++] = r[w - 2];
        cells[k++] = r[w - 1];
        rc = row_item(cells, (int)k, &(item_ctx){c, v->fn});
    }
    span_page_free(&p);
    return rc;
}

/* The rows of one image from seq on, at most take of them. */
static int image_span(lctx *c, const global_view *v, int64_t image, int64_t seq, int64_t take)
{
    index_record_span sp = {.image_id = image, .seq = seq, .take = take};
    return rows_of_spans(c, v, &sp, 1);
}

/* The page from the accelerator (the server's index), when it can answer
 * for this snapshot: IMGSEC_ENOTFOUND when it cannot. */
static int accel_records(lctx *c, const global_view *v, unsigned mask)
{
    index_record_span spans[LIST_LIMIT_MAX];
    size_t n = 0;
    int rc = c->accel->record_page(c->accel->arg, c->pos, c->scope, v->report,
                                   mask == ALL_TYPES ? 0 : mask, c->offset, c->limit, &c->total,
                                   spans, &n, c->err);
    if (rc != IMGSEC_OK || n == 0)
        return rc;
    if (n == 1)
        return image_span(c, v, spans[0].image_id, spans[0].seq, spans[0].take);
    return rows_of_spans(c, v, spans, n);
}

/* A substring filter on a name column whose records name_counts counts
 * (schema 17, store_names.c: per project, image type, EP and name, kept
 * by the store's write code). */
typedef struct {
    int kind;          /* name_counts.kind: 0 app_name, 1 file_name */
    const char *col;   /* "app_name" (of the record table) */
    const char *walk;  /* the same filter record by record: "instr(r.app_name, ?) > 0" */
    const char *needle;
    bool compliant;    /* the list's one other condition is APP_COMPLIANT (apps only) */
} name_filter;

static int row_span(const store_cell *x, int n, void *arg)
{
    index_record_span *sp = arg;
    size_t *k = (size_t *)(sp + LIST_LIMIT_MAX);
    if (n >= 2 && *k < LIST_LIMIT_MAX)
        sp[(*k)++] = (index_record_span){x[0].i, x[1].i, 1};
    return 0;
}

/* " FROM (the names of kind nf->kind in the project that contain the
 * needle) n CROSS JOIN <table> r JOIN images i ..." */
static void qb_named_from(qb *q, const lctx *c, const global_view *v, const name_filter *nf)
{
    qb_sql(q, " FROM (SELECT DISTINCT name FROM name_counts WHERE kind = %d AND project_id = ",
           nf->kind);
    qb_text(q, c->scope->project_id);
    qb_sql(q, " AND instr(name, ");
    qb_text(q, nf->needle);
    qb_sql(q, ") > 0) n CROSS JOIN \"%s\" r JOIN images i ON i.id = r.image WHERE r.\"%s\" = "
              "n.name",
           v->table, nf->col);
}

/* Total and page of the records of v over the selected images that have a
 * name containing nf->needle, read through the names that contain it
 * (name_counts, tens of thousands of rows) and the index (name, image)
 * of the records, which also holds the key (image, seq): the cost follows
 * the matching records, not every record of the selection. The names
 * are read first (CROSS JOIN keeps SQLite's join order; PostgreSQL plans
 * it alike). The page's keys are sorted from the index alone, then its
 * rows read by primary key (the view's columns hold per-row subqueries
 * that must not run for every matching record). counted: c->total is
 * already known (from the counts), only the page is read. */
static int global_records_named(lctx *c, const global_view *v, unsigned mask, const conds *cs,
                                const name_filter *nf, bool counted)
{
    qb q = {0};
    int rc;
    for (int pass = counted ? 1 : 0; pass < 2; pass++) {
        qb_sql(&q, pass == 0 ? "SELECT count(*)" : "SELECT r.image, r.seq");
        qb_named_from(&q, c, v, nf);
        qb_scope(&q, c, mask);
        qb_conds(&q, cs);
        if (pass == 0 && ((rc = q_count(c, &q, &c->total)) != IMGSEC_OK || c->offset >= c->total))
            return rc;
    }
    qb_sql(&q, " ORDER BY r.image, r.seq");
    qb_page(&q, c);
    /* the page's keys, and their number after them */
    index_record_span *sp = malloc(LIST_LIMIT_MAX * sizeof *sp + sizeof(size_t));
    if (!sp) {
        qb_free(&q);
        return oom(c);
    }
    size_t *n = (size_t *)(sp + LIST_LIMIT_MAX);
    *n = 0;
    rc = q_run(c, &q, row_span, sp);
    if (rc == IMGSEC_OK) /* then their rows by primary key, a span of one each */
        rc = rows_of_spans(c, v, sp, *n);
    free(sp);
    return rc;
}

/* The records of the selection (all) and those with a matching name
 * (match), summed from name_counts: names are scanned once each per
 * (type, EP), whatever the number of records. */
typedef struct {
    int64_t all, match;
} name_sums;

static int row_name_sums(const store_cell *x, int n, void *arg)
{
    name_sums *s = arg;
    if (n >= 2) {
        s->all = x[0].kind == CELL_INT ? x[0].i : 0;
        s->match = x[1].kind == CELL_INT ? x[1].i : 0;
    }
    return 0;
}

/* ---- name tables: a handle's copy of name_counts, per change-log position ----
 *
 * A name filter's total is a sum over the scope's name_counts rows whose
 * name contains the needle. In SQL that is one instr per (name, image
 * type, EP) row of the project: ~180,000 app rows at 100,000 images,
 * ~54 ms a request, needle or not. The server's lists (c->accel set)
 * instead keep the project's rows of one kind in memory, grouped by name,
 * with the change-log position of the snapshot they were read in: a
 * later request at the same position reuses them (every write of
 * rec_app/rec_file rows appends to the change log in the same
 * transaction, store_names.c, and writers take turns, so the same
 * position means the same counts), and a request at another position
 * reads them again (name_tab_get: at its second request there). Then a
 * total tests each distinct name once (24,152 at 100,000 images) and
 * adds the entries of those that match. The command line (no accel)
 * keeps the SQL sum; tests/unit/test_list_names.c compares the two. */

typedef struct {
    int64_t n;
    uint32_t ep;  /* index in eps */
    uint32_t type; /* image_type, or IMAGE_TYPE_COUNT for a name the model does not know */
} nt_ent;

typedef struct {
    size_t name;  /* offset in pool (NUL-terminated) */
    size_t first; /* its first entry; its last is before the next name's first */
    int64_t n;    /* its records of every type and EP */
} nt_name;

typedef struct {
    int kind;
    char *project;
    int64_t pos;
    uint64_t used; /* the cache's clock when last used */
    char *pool;
    size_t pool_len, pool_cap;
    nt_name *names;
    size_t n_names, cap_names;
    nt_ent *ents;
    size_t n_ents, cap_ents;
    char **eps;
    size_t n_eps, cap_eps;
    int64_t *cell; /* records per (EP, type): cell[ep * (IMAGE_TYPE_COUNT + 1) + type] */
    json_t *ep_ix; /* ep -> index, while loading */
    bool loaded;   /* read at pos; else waiting at pos for a second request */
    bool failed;   /* could not be read at pos (out of memory, over NT_ENTS_MAX) */
} name_tab;

/* Tables per handle (kinds x projects used lately) and entries per table:
 * above that the SQL sum answers (memory stays bounded). */
#define NT_TABS 4
#define NT_ENTS_MAX 8000000

/* What a needle map counts per image: the records whose name contains
 * the needle (ND_NAME); those of them that are compliant apps
 * (ND_COMPLIANT: ND_NAME less the app records that have a non-compliant
 * twin, list_global_apps' APP_COMPLIANT); or the non-compliant-app
 * records whose name contains it (ND_NONCOMPLIANT: the table of the
 * is_compliant=false list). */
typedef enum { ND_NAME, ND_COMPLIANT, ND_NONCOMPLIANT } nd_variant;

/* A needle's per-image counts at one change-log position (needle maps,
 * below): the images of the scope with at least one counted record,
 * ascending, and the number of such records before each. */
typedef struct {
    char *key;    /* kind, variant, project, needle, EPs and type mask (nd_key) */
    int64_t pos;
    uint64_t used;
    int64_t *ids; /* n images */
    int64_t *cum; /* n + 1: cum[k] = matching records of ids[0..k) */
    size_t n;
    bool loaded, failed;
} needle_map;

/* Maps per handle, and the id range a build counts in (an array of
 * 32-bit counts over it: 64 MB at most while it is built). */
#define ND_MAPS 4
#define ND_SPAN_MAX (16 * 1024 * 1024)

typedef struct {
    name_tab *tab[NT_TABS];
    needle_map *map[ND_MAPS];
    uint64_t clock;
} name_cache;

static void nd_free(needle_map *m)
{
    if (!m)
        return;
    free(m->key);
    free(m->ids);
    free(m->cum);
    free(m);
}

static void nt_free(name_tab *t)
{
    if (!t)
        return;
    free(t->project);
    free(t->pool);
    free(t->names);
    free(t->ents);
    for (size_t k = 0; k < t->n_eps; k++)
        free(t->eps[k]);
    free(t->eps);
    free(t->cell);
    json_decref(t->ep_ix);
    free(t);
}

static void name_cache_free(void *p)
{
    name_cache *nc = p;
    if (!nc)
        return;
    for (int k = 0; k < NT_TABS; k++)
        nt_free(nc->tab[k]);
    for (int k = 0; k < ND_MAPS; k++)
        nd_free(nc->map[k]);
    free(nc);
}

/* one name_counts row: name, image_type, ep, n */
static int row_name_tab(const store_cell *x, int n, void *arg)
{
    name_tab *t = arg;
    if (t->failed)
        return 1; /* stops the query */
    if (n < 4 || x[0].kind != CELL_STRING || x[1].kind != CELL_STRING ||
        x[2].kind != CELL_STRING || x[3].kind != CELL_INT)
        return 0;
    if (t->n_ents >= NT_ENTS_MAX) {
        t->failed = true;
        return 1;
    }
    const nt_name *last = t->n_names ? &t->names[t->n_names - 1] : NULL;
    if (!last || strlen(t->pool + last->name) != x[0].len ||
        memcmp(t->pool + last->name, x[0].s, x[0].len) != 0) {
        if (memchr(x[0].s, 0, x[0].len) ||
            !util_grow((void **)&t->pool, &t->pool_cap, t->pool_len + x[0].len + 1, 1) ||
            !util_grow((void **)&t->names, &t->cap_names, t->n_names + 1, sizeof *t->names)) {
            t->failed = true;
            return 1;
        }
        memcpy(t->pool + t->pool_len, x[0].s, x[0].len);
        t->pool[t->pool_len + x[0].len] = 0;
        t->names[t->n_names++] = (nt_name){t->pool_len, t->n_ents, 0};
        t->pool_len += x[0].len + 1;
    }
    json_t *e = json_object_getn(t->ep_ix, x[2].s, x[2].len);
    size_t ep;
    if (e)
        ep = (size_t)json_integer_value(e);
    else {
        char *s = malloc(x[2].len + 1);
        if (!s || !util_grow((void **)&t->eps, &t->cap_eps, t->n_eps + 1, sizeof *t->eps) ||
            json_object_setn_new_nocheck(t->ep_ix, x[2].s, x[2].len,
                                         json_integer((json_int_t)t->n_eps)) != 0) {
            free(s);
            t->failed = true;
            return 1;
        }
        memcpy(s, x[2].s, x[2].len);
        s[x[2].len] = 0;
        ep = t->n_eps;
        t->eps[t->n_eps++] = s;
    }
    char ty[64];
    int type = IMAGE_TYPE_COUNT;
    if (x[1].len < sizeof ty) {
        memcpy(ty, x[1].s, x[1].len);
        ty[x[1].len] = 0;
        int p = image_type_parse(ty);
        if (p >= 0 && p < IMAGE_TYPE_COUNT)
            type = p;
    }
    if (!util_grow((void **)&t->ents, &t->cap_ents, t->n_ents + 1, sizeof *t->ents)) {
        t->failed = true;
        return 1;
    }
    t->ents[t->n_ents++] = (nt_ent){x[3].i, (uint32_t)ep, (uint32_t)type};
    t->names[t->n_names - 1].n += x[3].i;
    return 0;
}

/* The name table of (kind, the scope's project) at c->pos, when this
 * handle has it, or reads it when the handle's previous request for it
 * was at the same position. A first request at a new position gets NULL
 * (the caller sums in SQL, ~54 ms at 100,000 images) and leaves the slot
 * waiting at that position: reading the table costs about twice one SQL
 * sum (~117 ms, measured), so a handle that sees a write between every
 * two requests keeps paying one sum per request, as before the tables,
 * and one that sees the position hold reads the table once. NULL also
 * when the table cannot be had (out of memory, over NT_ENTS_MAX rows). An
 * error of the read itself is returned. now: read it at once (a caller
 * whose other way costs more than the read). */
static int name_tab_get(lctx *c, int kind, bool now, name_tab **out)
{
    *out = NULL;
    name_cache *nc = store_list_cache(c->st);
    if (!nc) {
        if (!(nc = calloc(1, sizeof *nc)))
            return IMGSEC_OK;
        store_list_cache_set(c->st, nc, name_cache_free);
    }
    int slot = -1, oldest = 0;
    for (int k = 0; k < NT_TABS && slot < 0; k++) {
        name_tab *t = nc->tab[k];
        if (t && t->kind == kind && strcmp(t->project, c->scope->project_id) == 0)
            slot = k;
        else if (!t || (nc->tab[oldest] && t->used < nc->tab[oldest]->used))
            oldest = k;
    }
    name_tab *t = slot >= 0 ? nc->tab[slot] : NULL;
    if (t && t->pos == c->pos) {
        t->used = ++nc->clock;
        if (t->loaded)
            *out = t;
        if (t->loaded || t->failed)
            return IMGSEC_OK;
    } else { /* a slot waiting at this position, the table unread */
        if (slot < 0)
            slot = oldest;
        nt_free(nc->tab[slot]);
        nc->tab[slot] = t = calloc(1, sizeof *t);
        if (t && !(t->project = strdup(c->scope->project_id))) {
            free(t);
            nc->tab[slot] = NULL;
            return IMGSEC_OK;
        }
        if (!t)
            return IMGSEC_OK;
        t->kind = kind;
        t->pos = c->pos;
        t->used = ++nc->clock;
        if (!now)
            return IMGSEC_OK;
    }
    /* the second request at this position (or now): read the table, in the key's
     * order (kind, project_id, name, ...): a name's rows are adjacent (and
     * were they not, a name read twice sums the same) */
    if (!(t->ep_ix = json_object())) {
        t->failed = true;
        return IMGSEC_OK;
    }
    qb q = {0};
    qb_sql(&q, "SELECT name, image_type, ep, n FROM name_counts WHERE kind = %d AND project_id = ",
           kind);
    qb_text(&q, c->scope->project_id);
    qb_sql(&q, " ORDER BY name");
    int rc = q_run(c, &q, row_name_tab, t);
    json_decref(t->ep_ix);
    t->ep_ix = NULL;
    if (t->failed) { /* stopped by row_name_tab: the SQL sum answers */
        *c->err = (imgsec_err){0};
        rc = IMGSEC_OK;
    } else if (rc == IMGSEC_OK && !(t->cell = calloc((t->n_eps ? t->n_eps : 1) *
                                                         (IMAGE_TYPE_COUNT + 1),
                                                     sizeof *t->cell)))
        t->failed = true;
    if (rc != IMGSEC_OK || t->failed) {
        /* keep only what marks the position as tried */
        free(t->pool), free(t->names), free(t->ents);
        t->pool = NULL, t->names = NULL, t->ents = NULL;
        t->n_names = t->n_ents = t->pool_len = t->pool_cap = t->cap_names = t->cap_ents = 0;
        t->failed = true;
        return rc;
    }
    for (size_t e = 0; e < t->n_ents; e++)
        t->cell[t->ents[e].ep * (IMAGE_TYPE_COUNT + 1) + t->ents[e].type] += t->ents[e].n;
    t->loaded = true;
    *out = t;
    return IMGSEC_OK;
}

/* Is s pure ASCII? (A needle with other bytes is summed in SQL, whose
 * instr matches characters, not bytes.) */
static bool ascii_only(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* The names of the table that contain the needle (pointers into the
 * table, valid during the request), when at most NAME_WINDOW_MAX: the
 * page may then be read through them (global_records_window). */
#define NAME_WINDOW_MAX 400
typedef struct {
    const char *v[NAME_WINDOW_MAX];
    size_t n;
    bool over;           /* more than NAME_WINDOW_MAX (v not filled), or no table */
    const name_tab *tab; /* the table the names are from (NULL: none) */
    int64_t proj_match;  /* the project's records with a matching name, any scope */
    int64_t proj_all;    /* the project's records of the kind, any scope */
} name_match;

/* name_sums from the name table: false when it cannot answer (the caller
 * sums in SQL); *rc an error of reading the table. m (may be NULL) gets
 * the matching names. */
static bool name_sums_cached(lctx *c, const name_filter *nf, unsigned mask, bool now,
                             name_sums *out, name_match *m, int *rc)
{
    *rc = IMGSEC_OK;
    if (!c->accel || !ascii_only(nf->needle))
        return false;
    name_tab *t;
    if ((*rc = name_tab_get(c, nf->kind, now, &t)) != IMGSEC_OK || !t)
        return false;
    bool *ep_ok = NULL;
    if (!c->scope->all_eps) {
        if (!(ep_ok = calloc(t->n_eps ? t->n_eps : 1, sizeof *ep_ok)))
            return false;
        for (size_t e = 0; e < t->n_eps; e++)
            for (size_t k = 0; k < c->scope->n_eps && !ep_ok[e]; k++)
                ep_ok[e] = strcmp(t->eps[e], c->scope->eps[k]) == 0;
    }
    bool by_type = (mask & ALL_TYPES) != ALL_TYPES;
#define NT_IN_SCOPE(ep, type)                                                                   \
    ((!ep_ok || ep_ok[ep]) && (!by_type || ((type) < IMAGE_TYPE_COUNT && (mask & TYPE_BIT(type)))))
    name_sums s = {0};
    for (size_t e = 0; e < t->n_eps; e++)
        for (uint32_t ty = 0; ty <= IMAGE_TYPE_COUNT; ty++)
            if (NT_IN_SCOPE(e, ty))
                s.all += t->cell[e * (IMAGE_TYPE_COUNT + 1) + ty];
    /* each distinct name tested once; its entries read only when it
     * matches and the scope is not the whole project */
    bool whole = !ep_ok && !by_type;
    for (size_t k = 0; k < t->n_names && s.all; k++) {
        if (!strstr(t->pool + t->names[k].name, nf->needle))
            continue;
        if (m && !m->over) {
            if (m->n < NAME_WINDOW_MAX)
                m->v[m->n++] = t->pool + t->names[k].name;
            else
                m->over = true;
        }
        if (m)
            m->proj_match += t->names[k].n;
        if (whole) {
            s.match += t->names[k].n;
            continue;
        }
        size_t end = k + 1 < t->n_names ? t->names[k + 1].first : t->n_ents;
        for (size_t e = t->names[k].first; e < end; e++)
            if (NT_IN_SCOPE(t->ents[e].ep, t->ents[e].type))
                s.match += t->ents[e].n;
    }
#undef NT_IN_SCOPE
    free(ep_ok);
    if (m) {
        m->tab = t;
        for (size_t e = 0; e < t->n_eps * (IMAGE_TYPE_COUNT + 1); e++)
            m->proj_all += t->cell[e];
    }
    *out = s;
    return true;
}

/* Reverses the items from index from on (a page read backwards). */
static void items_reverse(json_t *a, size_t from)
{
    size_t n = json_array_size(a);
    for (size_t i = from, j = n ? n - 1 : 0; i < j; i++, j--) {
        json_t *x = json_incref(json_array_get(a, i));
        json_array_set(a, i, json_array_get(a, j));
        json_array_set_new(a, j, x);
    }
}

/* The page of a name filter whose total the counts gave (c->total, the
 * records of the selection: all). The records are in (image, seq) order
 * (docs/api.md "Order"), which the names do not follow, so the page is
 * read the cheapest of three ways, each cost in records read: forward
 * in that order testing each record (about (offset + limit) x all /
 * total), backward from the end ((total - offset) x all / total), or
 * through the matching names' index entries, sorted (global_records_named,
 * about 2 x total). A broad needle reads from the nearer end, a rare one
 * through its names. */
static int row_two_ints(const store_cell *x, int n, void *arg)
{
    int64_t *v = arg;
    if (n >= 2) {
        v[0] = x[0].kind == CELL_INT ? x[0].i : 0;
        v[1] = x[1].kind == CELL_INT ? x[1].i : 0;
    }
    return 0;
}

/* The page of a name filter through its matching names m (from the name
 * table, at most NAME_WINDOW_MAX) and the records' index (name, image,
 * seq), within a window of image ids from the nearer end: the matches of
 * the images up to id X (from the start; from X on, backward) are a
 * prefix (suffix) of the list, since the list is in image order, so when
 * the window holds the page's last match, the window's matches at the
 * page's positions are the page. The window starts at the share of the
 * id range the page's depth is of the total (x 1.5) and grows 4x until
 * it holds the page or is the whole range. Each try reads the window's
 * index entries of those names (and their images' rows, for the scope):
 * about the page's depth from that end, where a walk of the records reads
 * that times all / total (`util-linux`: 78 records per match). */
/* The least and greatest image id (0, 0: no image), one subquery each:
 * each is one end of the B-tree (min and max in one SELECT scan the
 * table). */
static int image_id_range(lctx *c, int64_t *lo, int64_t *hi)
{
    int64_t ids[2] = {0, 0};
    qb q = {0};
    qb_sql(&q, "SELECT (SELECT min(id) FROM images), (SELECT max(id) FROM images)");
    int rc = q_run(c, &q, row_two_ints, ids);
    *lo = ids[0];
    *hi = ids[1];
    return rc;
}

static void qb_names_page(qb *q, const lctx *c, const global_view *v, unsigned mask,
                          const conds *cs, const name_filter *nf, const name_match *m,
                          int64_t from, int64_t to, bool backward, int64_t want, int64_t skip)
{
    qb_sql(q, "SELECT r.image, r.seq FROM (VALUES ");
    for (size_t k = 0; k < m->n; k++) {
        qb_sql(q, k ? ", (CAST(" : "(CAST(");
        qb_text(q, m->v[k]);
        qb_sql(q, " AS TEXT))");
    }
    qb_sql(q, ") n CROSS JOIN \"%s\" r JOIN images i ON i.id = r.image WHERE r.\"%s\" = n.column1",
           v->table, nf->col);
    if (from != INT64_MIN) {
        qb_sql(q, " AND r.image >= ");
        qb_int(q, from);
    }
    if (to != INT64_MAX) {
        qb_sql(q, " AND r.image <= ");
        qb_int(q, to);
    }
    qb_scope(q, c, mask);
    if (cs)
        qb_conds(q, cs);
    qb_sql(q, backward ? " ORDER BY r.image DESC, r.seq DESC" : " ORDER BY r.image, r.seq");
    qb_sql(q, " LIMIT ");
    qb_int(q, want);
    qb_sql(q, " OFFSET ");
    qb_int(q, skip);
}

static int global_records_window(lctx *c, const global_view *v, unsigned mask,
                                 const name_filter *nf, const name_match *m, bool backward)
{
    int64_t end = c->offset + c->limit < c->total ? c->offset + c->limit : c->total;
    int64_t want = end - c->offset, skip = backward ? c->total - end : c->offset;
    int64_t lo, hi;
    int rc = image_id_range(c, &lo, &hi);
    if (rc != IMGSEC_OK)
        return rc;
    qb q = {0};
    double depth = (double)(skip + want) / (double)c->total;
    int64_t span = (int64_t)(depth * 1.5 * (double)(hi - lo + 1)) + 1;
    index_record_span *sp = malloc(LIST_LIMIT_MAX * sizeof *sp + sizeof(size_t));
    if (!sp)
        return oom(c);
    size_t *n = (size_t *)(sp + LIST_LIMIT_MAX);
    for (;;) {
        bool whole = span >= hi - lo;
        qb_names_page(&q, c, v, mask, NULL, nf, m, whole || !backward ? INT64_MIN : hi - span,
                      whole || backward ? INT64_MAX : lo + span, backward, want, skip);
        *n = 0;
        if ((rc = q_run(c, &q, row_span, sp)) != IMGSEC_OK)
            break;
        if ((int64_t)*n == want || whole) { /* (rows_of_spans reads in the list's order) */
            rc = rows_of_spans(c, v, sp, *n);
            break;
        }
        span = span > (hi - lo) / 4 ? hi - lo : span * 4;
    }
    free(sp);
    return rc;
}

/* ---- needle maps: a needle's per-image counts, per change-log position ----
 *
 * The page of a broad needle in the middle of its list (`lib` at offset
 * 1,000,000 of 2.1M) costs every way above a walk of about half the list:
 * the list is in image order and the counts per name say nothing about
 * where in it a name's records are. A needle map is that position's
 * answer to "where": the images of the scope that hold a matching record,
 * in id order, with the number of matching records before each. It is
 * built in one pass over the matching names' index entries (name, image)
 * - no record row, no image row per entry, no sort: the counts go to an
 * array over the id range - and one read of the scope's image ids. Then
 * any offset is a binary search to the image holding the page's first
 * match, and the page is read from that image on, bounded by the image
 * holding its last (global_records_mapped): the records of one page's
 * images, whatever the depth.
 *
 * A map is kept with the handle like the name tables (and for the same
 * reason is exact: the same position means the same records), per
 * (kind, project, needle, EPs, type mask), ND_MAPS of them, and is used
 * only when the page's cheapest other read would cost more than the
 * accelerator's needle_map_min record reads. It is built at once when
 * the build reads at most twice what that other read would (about two
 * units per matching entry: `lib` at 1,000,000 builds at once for less
 * than the walk it replaces); otherwise the first such request at a
 * position reads the page the other way and leaves the map waiting, and
 * the second builds it. Every later page of that needle at that position
 * costs one page. */

/* the key of a map: project, needle, EPs (or all) and type mask, each
 * length-prefixed */
static char *nd_key(const lctx *c, const name_filter *nf, unsigned mask, nd_variant var)
{
    util_buf b = {0};
    char num[64];
    snprintf(num, sizeof num, "%d:%d:%u:%zu:", nf->kind, (int)var, mask,
             strlen(c->scope->project_id));
    util_buf_put(&b, num, strlen(num));
    util_buf_put(&b, c->scope->project_id, strlen(c->scope->project_id));
    const char *needle = nf->needle ? nf->needle : "";
    snprintf(num, sizeof num, ":%d:%zu:", nf->needle != NULL, strlen(needle));
    util_buf_put(&b, num, strlen(num));
    util_buf_put(&b, needle, strlen(needle));
    if (c->scope->all_eps)
        util_buf_put(&b, ":*", 2);
    else
        for (size_t k = 0; k < c->scope->n_eps; k++) {
            snprintf(num, sizeof num, ":%zu:", strlen(c->scope->eps[k]));
            util_buf_put(&b, num, strlen(num));
            util_buf_put(&b, c->scope->eps[k], strlen(c->scope->eps[k]));
        }
    util_buf_put(&b, "", 1);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

typedef struct {
    uint32_t *counts; /* over [lo, lo + span) */
    int64_t lo, span;
    bool over;        /* a count would overflow */
} nd_count;

static int row_nd_count(const store_cell *x, int n, void *arg)
{
    nd_count *k = arg;
    if (n < 1 || x[0].kind != CELL_INT || x[0].i < k->lo || x[0].i - k->lo >= k->span)
        return 0; /* an image of another project beyond the range: not in the scope */
    uint32_t *p = &k->counts[x[0].i - k->lo];
    if (*p == UINT32_MAX) {
        k->over = true;
        return 1;
    }
    ++*p;
    return 0;
}

/* an image's records (id, n): all counted (ND_COMPLIANT without a needle) */
static int row_nd_add(const store_cell *x, int n, void *arg)
{
    nd_count *k = arg;
    if (n < 2 || x[0].kind != CELL_INT || x[1].kind != CELL_INT || x[0].i < k->lo ||
        x[0].i - k->lo >= k->span)
        return 0;
    if (x[1].i < 0 || x[1].i > (int64_t)UINT32_MAX) {
        k->over = true;
        return 1;
    }
    k->counts[x[0].i - k->lo] = (uint32_t)x[1].i;
    return 0;
}

/* an app record with a non-compliant twin: not counted (ND_COMPLIANT) */
static int row_nd_uncount(const store_cell *x, int n, void *arg)
{
    nd_count *k = arg;
    if (n < 1 || x[0].kind != CELL_INT || x[0].i < k->lo || x[0].i - k->lo >= k->span)
        return 0;
    uint32_t *p = &k->counts[x[0].i - k->lo];
    if (*p) /* 0: an image of another project, whose names were not counted */
        --*p;
    return 0;
}

typedef struct {
    needle_map *m;
    const nd_count *k;
    size_t cap_ids, cap_cum;
} nd_fill;

/* one image id of the scope, ascending: kept when it has matches */
static int row_nd_image(const store_cell *x, int n, void *arg)
{
    nd_fill *f = arg;
    if (n < 1 || x[0].kind != CELL_INT || x[0].i < f->k->lo || x[0].i - f->k->lo >= f->k->span)
        return 0;
    uint32_t got = f->k->counts[x[0].i - f->k->lo];
    if (!got)
        return 0;
    needle_map *m = f->m;
    if (!util_grow((void **)&m->ids, &f->cap_ids, m->n + 1, sizeof *m->ids) ||
        !util_grow((void **)&m->cum, &f->cap_cum, m->n + 2, sizeof *m->cum))
        return IMGSEC_EINTERNAL;
    m->ids[m->n] = x[0].i;
    m->cum[m->n + 1] = m->cum[m->n] + got;
    m->n++;
    return 0;
}

/* Builds m for the needle of nf over the scope: *m->failed when it cannot
 * (the id range or memory), which is not an error; an error of a query is
 * returned. */
static int nd_build(lctx *c, const global_view *v, unsigned mask, const name_filter *nf,
                    const name_match *mt, nd_variant var, needle_map *m)
{
    int64_t lo, hi;
    int rc = image_id_range(c, &lo, &hi);
    if (rc != IMGSEC_OK)
        return rc;
    qb q = {0};
    nd_count k = {NULL, lo, hi - lo + 1, false};
    if (k.span <= 0 || k.span > ND_SPAN_MAX || !(k.counts = calloc((size_t)k.span, sizeof *k.counts))) {
        m->failed = true;
        return IMGSEC_OK;
    }
    /* the matching names' index entries, in chunks of binds */
    const name_tab *t = var == ND_NONCOMPLIANT || !nf->needle ? NULL : mt->tab;
    size_t in_q = 0;
    for (size_t x = 0; t && x <= t->n_names && rc == IMGSEC_OK && !k.over; x++) {
        bool last = x == t->n_names;
        if (!last && strstr(t->pool + t->names[x].name, nf->needle)) {
            qb_sql(&q, in_q ? ", (CAST(" : "SELECT r.image FROM (VALUES (CAST(");
            qb_text(&q, t->pool + t->names[x].name);
            qb_sql(&q, " AS TEXT))");
            in_q++;
        }
        if (in_q && (last || in_q == 1000)) {
            qb_sql(&q, ") n CROSS JOIN \"%s\" r WHERE r.\"%s\" = n.column1", v->table, nf->col);
            rc = q_run(c, &q, row_nd_count, &k);
            in_q = 0;
        }
    }
    qb_free(&q);
    if (rc == IMGSEC_OK && !k.over && var == ND_COMPLIANT && !nf->needle) {
        /* every record of each image (images' n_<type>) */
        qb_sql(&q, "SELECT id, \"n_%s\" FROM images WHERE \"n_%s\" > 0", v->table + 4,
               v->table + 4);
        rc = q_run(c, &q, row_nd_add, &k);
    }
    if (rc == IMGSEC_OK && !k.over && var != ND_NAME) {
        /* the non-compliant apps with a matching name (a few per image:
         * 170,051 rows at 100,000 images), or the app records they make
         * non-compliant, each once (CROSS JOIN: the non-compliant apps
         * drive, each finding its twins through rec_app_name; SQLite
         * otherwise scans every app record, 3.3 s instead of 0.27) */
        qb_sql(&q, var == ND_NONCOMPLIANT
                       ? "SELECT nc.image FROM rec_non_compliant_app nc WHERE 1"
                       : "SELECT DISTINCT r.image, r.seq FROM rec_non_compliant_app nc CROSS JOIN "
                         "rec_app r WHERE r.app_name = nc.app_name AND r.image = nc.image AND "
                         "r.app_version IS nc.app_version AND r.app_path IS nc.app_path");
        if (nf->needle) {
            qb_sql(&q, " AND instr(nc.app_name, ");
            qb_text(&q, nf->needle);
            qb_sql(&q, ") > 0");
        }
        rc = q_run(c, &q, var == ND_NONCOMPLIANT ? row_nd_count : row_nd_uncount, &k);
    }
    if (rc == IMGSEC_OK && !k.over) {
        nd_fill f = {m, &k, 0, 1};
        if (!(m->cum = calloc(1, sizeof *m->cum)))
            k.over = true;
        else {
            qb_sql(&q, "SELECT i.id FROM images i WHERE 1");
            qb_scope(&q, c, mask);
            qb_sql(&q, " ORDER BY i.id");
            if ((rc = q_run(c, &q, row_nd_image, &f)) != IMGSEC_OK && c->err->code == IMGSEC_OK)
                k.over = true; /* out of memory in row_nd_image */
        }
    }
    if (k.over) {
        *c->err = (imgsec_err){0};
        rc = IMGSEC_OK;
        m->failed = true;
    }
    free(k.counts);
    /* a map of the names must hold the total the name table gave (the
     * same snapshot); the others give the total */
    if (rc == IMGSEC_OK && !m->failed && var == ND_NAME && m->cum[m->n] != c->total)
        m->failed = true;
    if (rc != IMGSEC_OK || m->failed) {
        free(m->ids), free(m->cum);
        m->ids = m->cum = NULL;
        m->n = 0;
        m->failed = true;
        return rc;
    }
    m->loaded = true;
    return IMGSEC_OK;
}

/* What nd_get does about a map it does not have at c->pos: ND_NOW builds
 * it; ND_WAIT leaves it waiting (the next request for it builds it);
 * ND_USE nothing; ND_MARK leaves it waiting and never builds or returns
 * one (a read the other way turned out dear). A waiting map is built by
 * ND_NOW, ND_WAIT and ND_USE. */
typedef enum { ND_USE, ND_WAIT, ND_NOW, ND_MARK } nd_mode;

/* The map of nf's needle over the scope at c->pos: *out NULL when there
 * is none to use (then the caller reads the page another way). */
static int nd_get(lctx *c, const global_view *v, unsigned mask, const name_filter *nf,
                  const name_match *mt, nd_variant var, nd_mode mode, const needle_map **out)
{
    *out = NULL;
    name_cache *nc = store_list_cache(c->st);
    if (!nc) {
        if (!(nc = calloc(1, sizeof *nc)))
            return IMGSEC_OK;
        store_list_cache_set(c->st, nc, name_cache_free);
    }
    /* the names come from the name table; the other passes need none */
    bool names = var != ND_NONCOMPLIANT && nf->needle;
    char *key = !names || (mt && mt->tab) ? nd_key(c, nf, mask, var) : NULL;
    if (!key)
        return IMGSEC_OK;
    int slot = -1, oldest = 0;
    for (int k = 0; k < ND_MAPS && slot < 0; k++) {
        needle_map *x = nc->map[k];
        if (x && strcmp(x->key, key) == 0)
            slot = k;
        else if (!x || (nc->map[oldest] && x->used < nc->map[oldest]->used))
            oldest = k;
    }
    needle_map *m = slot >= 0 ? nc->map[slot] : NULL;
    if (m && m->pos == c->pos) {
        free(key);
        m->used = ++nc->clock;
        if (m->loaded && mode != ND_MARK)
            *out = m;
        if (m->loaded || m->failed || mode == ND_MARK)
            return IMGSEC_OK;
    } else {
        if (mode == ND_USE) {
            free(key);
            return IMGSEC_OK;
        }
        if (slot < 0)
            slot = oldest;
        nd_free(nc->map[slot]);
        if (!(nc->map[slot] = m = calloc(1, sizeof *m))) {
            free(key);
            return IMGSEC_OK;
        }
        m->key = key;
        m->pos = c->pos;
        m->used = ++nc->clock;
        if (mode != ND_NOW)
            return IMGSEC_OK;
    }
    int rc = nd_build(c, v, mask, nf, mt, var, m);
    if (rc == IMGSEC_OK && m->loaded)
        *out = m;
    return rc;
}

/* The page from a needle map: the image holding the page's first match
 * (binary search of cum), the one holding its last, and the matches
 * between them from the first's skip-th on - through the names' index
 * entries in that id range when few names match and a walk would read
 * several records per match, else the records of those images (by
 * primary key, in key order). */
static int global_records_mapped(lctx *c, const global_view *v, unsigned mask, const conds *cs,
                                 const name_filter *nf, const name_match *mt,
                                 const needle_map *m, double per)
{
    int64_t end = c->offset + c->limit < c->total ? c->offset + c->limit : c->total;
    size_t lo = 0, hi = m->n; /* the last k with cum[k] <= offset */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cum[mid] <= c->offset)
            lo = mid;
        else
            hi = mid;
    }
    size_t first = lo, last = m->n - 1; /* the first k >= first with cum[k + 1] >= end */
    while (lo < last) {
        size_t mid = lo + (last - lo) / 2;
        if (m->cum[mid + 1] >= end)
            last = mid;
        else
            lo = mid + 1;
    }
    last = lo;
    int64_t skip = c->offset - m->cum[first], want = end - c->offset;
    qb q = {0};
    if (mt && !mt->over && mt->n && per >= 4.0) {
        index_record_span *sp = malloc(LIST_LIMIT_MAX * sizeof *sp + sizeof(size_t));
        if (!sp)
            return oom(c);
        size_t *n = (size_t *)(sp + LIST_LIMIT_MAX);
        *n = 0;
        qb_names_page(&q, c, v, mask, cs, nf, mt, m->ids[first], m->ids[last], false, want, skip);
        int rc = q_run(c, &q, row_span, sp);
        if (rc == IMGSEC_OK)
            rc = rows_of_spans(c, v, sp, *n);
        free(sp);
        return rc;
    }
    /* the images themselves (at most the page's number + 1: each holds a
     * match), not their id range, which a type or EP filter may make
     * sparse */
    bool wrap = qb_page_start(&q, c, v, skip);
    qb_sql(&q, "\"%s\" r CROSS JOIN images i WHERE i.id = r.image", v->table);
    qb_ids(&q, "r.image", m->ids + first, last - first + 1);
    qb_scope(&q, c, mask);
    qb_conds(&q, cs);
    qb_sql(&q, " ORDER BY r.image, r.seq LIMIT ");
    qb_int(&q, want);
    qb_sql(&q, " OFFSET ");
    qb_int(&q, skip);
    qb_page_end(&q, wrap, false);
    return q_items(c, &q, v->fn);
}

static int global_records_other(lctx *c, const global_view *v, unsigned mask, const conds *cs,
                                const name_filter *nf, const name_match *m, bool window,
                                bool by_names, bool backward, int64_t end);

/* this thread's CPU time since *t0, in ns */
static int64_t cpu_ns_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000000 + (t1.tv_nsec - t0->tv_nsec);
}

static int global_records_counted(lctx *c, const global_view *v, unsigned mask, const conds *cs,
                                  const name_filter *nf, int64_t all, const name_match *m)
{
    int64_t end = c->offset + c->limit < c->total ? c->offset + c->limit : c->total;
    double per = (double)all / (double)c->total; /* records read per match */
    double fwd = (double)end * per, back = (double)(c->total - c->offset) * per,
           named = 2.0 * (double)c->total;
    /* through the names in a window: about the page's depth in index
     * entries (and image rows) from the nearer end, worth it when a walk
     * reads several records per match; each entry costs about 40 records
     * of a walk (its image's row, the sort: lists11's util-linux at
     * 50,000, 418 ms for ~45,000 entries) */
    bool window = m && !m->over && m->n && per >= 4.0;
    double depth = (double)(back < fwd ? c->total - c->offset : end);
    /* a walk reads the records of every image in its id range, also those
     * a type or EP filter leaves out: spread = project's / scope's */
    double spread = m && m->proj_all > all && all > 0 ? (double)m->proj_all / (double)all : 1.0;
    bool by_names = !window && named < fwd && named < back;
    double cost = window ? 40.0 * depth : by_names ? named : (fwd < back ? fwd : back) * spread;
    int64_t min = c->accel && c->accel->needle_map_min > 0 ? c->accel->needle_map_min
                                                            : LIST_NEEDLE_MAP_MIN;
    if (m && m->tab) {
        const needle_map *map = NULL;
        /* the build reads one index entry per matching record of the
         * project, about half a walk's record each (`lib`: 2.1M entries
         * in 194 ms of CPU; its walk at 1,000,000, 3.9M records in 727 ms) */
        nd_mode mode = cost <= (double)min                               ? ND_USE
                       : 0.5 * (double)m->proj_match <= 2.0 * cost ? ND_NOW
                                                                     : ND_WAIT;
        int rc = nd_get(c, v, mask, nf, m, ND_NAME, mode, &map);
        if (rc != IMGSEC_OK)
            return rc;
        if (map)
            return global_records_mapped(c, v, mask, cs, nf, m, map, per);
    }
    /* The estimate assumes the scope's images spread evenly over the ids,
     * which they need not be (the bench's ep-dev begins at id 2,001: `lib`
     * at offset 0 walked 148,000 records, 35 ms, estimated at 2,500): a
     * read that took more of this thread's CPU than the accelerator's
     * needle_map_slow_ns leaves the map waiting, and the next request at
     * this position builds it. */
    int64_t slow = c->accel && c->accel->needle_map_slow_ns > 0 ? c->accel->needle_map_slow_ns
                                                               : LIST_NEEDLE_MAP_SLOW_NS;
    struct timespec t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int rc = global_records_other(c, v, mask, cs, nf, m, window, by_names, back < fwd, end);
    if (rc == IMGSEC_OK && m && m->tab && cpu_ns_since(&t0) > slow) {
        const needle_map *none;
        rc = nd_get(c, v, mask, nf, m, ND_NAME, ND_MARK, &none);
    }
    return rc;
}

/* global_records_counted's reads other than a map: the window, the names,
 * or the walk from the nearer end. */
static int global_records_other(lctx *c, const global_view *v, unsigned mask, const conds *cs,
                                const name_filter *nf, const name_match *m, bool window,
                                bool by_names, bool backward, int64_t end)
{
    if (window)
        return global_records_window(c, v, mask, nf, m, backward);
    if (by_names)
        return global_records_named(c, v, mask, cs, nf, true);
    qb q = {0};
    /* the records drive (CROSS JOIN: SQLite would otherwise take the
     * project's images from an index out of id order and sort every
     * match), read in primary-key order from either end */
    bool wrap = qb_page_start(&q, c, v, backward ? c->total - end : c->offset);
    qb_sql(&q, "\"%s\" r CROSS JOIN images i WHERE i.id = r.image", v->table);
    qb_scope(&q, c, mask);
    qb_conds(&q, cs);
    qb_sql(&q, backward ? " ORDER BY r.image DESC, r.seq DESC" : " ORDER BY r.image, r.seq");
    qb_sql(&q, " LIMIT ");
    qb_int(&q, end - c->offset);
    qb_sql(&q, " OFFSET ");
    qb_int(&q, backward ? c->total - end : c->offset);
    qb_page_end(&q, wrap, backward);
    size_t before = json_array_size(c->items);
    int rc = q_items(c, &q, v->fn);
    if (rc == IMGSEC_OK && backward)
        items_reverse(c->items, before);
    return rc;
}

/* Total and page of the records that are compliant apps, with a name
 * containing nf->needle or (needle NULL) all of them (ListGlobalImageApps
 * is_compliant=true), from the map of ND_COMPLIANT, built at once: the
 * walk it replaces counts every (matching) app record with a NOT EXISTS
 * each (5.6 s for all, 19 s at offset 1,000,000; `lib` 4.4-9 s); the
 * build is the name map's (or the images' n_app) plus one pass over the
 * non-compliant apps (with a matching name). IMGSEC_ENOTFOUND (nothing
 * answered) when there is no table or map to be had. */
static int global_records_compliant(lctx *c, const global_view *v, unsigned mask,
                                    const conds *cs0, const name_filter *nf)
{
    if (!c->accel)
        return IMGSEC_ENOTFOUND;
    name_sums sums = {0};
    name_match *m = calloc(1, sizeof *m);
    if (!m)
        return oom(c);
    int rc = IMGSEC_OK;
    const needle_map *map = NULL;
    if ((!nf->needle || name_sums_cached(c, nf, mask, true, &sums, m, &rc)) &&
        (rc = nd_get(c, v, mask, nf, nf->needle ? m : NULL, ND_COMPLIANT, ND_NOW, &map)) ==
            IMGSEC_OK &&
        map) {
        c->total = map->cum[map->n];
        if (c->offset < c->total) {
            conds all = *cs0;
            if (nf->needle)
                conds_add(&all, nf->walk, nf->needle, 0);
            rc = global_records_mapped(c, v, mask, &all, nf, nf->needle ? m : NULL, map,
                                       nf->needle ? (double)sums.all / (double)c->total : 1.0);
        }
    } else if (rc == IMGSEC_OK)
        rc = IMGSEC_ENOTFOUND;
    free(m);
    return rc;
}

/* The same for the non-compliant apps whose name contains the needle
 * (is_compliant=false: their own table, cs0 the name's condition), from
 * the map of ND_NONCOMPLIANT: one pass over that table instead of a count
 * and a page that each read all of it. */
static int global_records_noncompliant(lctx *c, const global_view *v, unsigned mask,
                                       const conds *cs0, const name_filter *nf)
{
    if (!c->accel || !ascii_only(nf->needle))
        return IMGSEC_ENOTFOUND;
    const needle_map *map = NULL;
    int rc = nd_get(c, v, mask, nf, NULL, ND_NONCOMPLIANT, ND_NOW, &map);
    if (rc != IMGSEC_OK || !map)
        return rc != IMGSEC_OK ? rc : IMGSEC_ENOTFOUND;
    c->total = map->cum[map->n];
    return c->offset < c->total ? global_records_mapped(c, v, mask, cs0, nf, NULL, map, 1.0)
                                : IMGSEC_OK;
}

/* Total and page of the records of v over the selected images. Without a
 * record filter the page is located from the per-image counts (the
 * images table's n_<type> column), so a deep offset skips whole images.
 * nf (may be NULL): a name filter. Alone, its total is a sum over
 * name_counts and its page global_records_counted's; with another record
 * filter (is_compliant), the records are counted through the names
 * (global_records_named) or, when the needle is in more than
 * NAME_MATCH_MAX names, walked. */
/* Through the names, each matching record costs a random read of its
 * image's row: at 100,000 images `lib` (5,277 names, 2.1M records) took
 * 3x the walk's CPU, while `util-linux` (153 names, 95,384 records) took
 * an eighth of it. */
#define NAME_MATCH_MAX 500

static int global_records(lctx *c, const global_view *v, unsigned mask, const conds *cs0,
                          const name_filter *nf)
{
    conds all = *cs0;
    const conds *cs = &all;
    if (nf && nf->needle) {
        qb n = {0};
        int rc;
        if (cs0->n == 0 && !cs0->none) {
            name_sums sums = {0};
            name_match *m = calloc(1, sizeof *m);
            if (!m)
                return oom(c);
            if (!name_sums_cached(c, nf, mask, false, &sums, m, &rc)) {
                m->over = true;
                if (rc != IMGSEC_OK) {
                    free(m);
                    return rc;
                }
                /* PostgreSQL's sum of bigints is a numeric: cast back */
                qb_sql(&n, "SELECT CAST(coalesce(sum(c.n), 0) AS BIGINT), "
                           "CAST(coalesce(sum(CASE WHEN instr(c.name, ");
                qb_text(&n, nf->needle);
                qb_sql(&n, ") > 0 THEN c.n ELSE 0 END), 0) AS BIGINT) FROM name_counts c "
                           "WHERE c.kind = %d",
                       nf->kind);
                qb_scope_as(&n, c, mask, "c");
                if ((rc = q_run(c, &n, row_name_sums, &sums)) != IMGSEC_OK) {
                    free(m);
                    return rc;
                }
            }
            c->total = sums.match;
            conds_add(&all, nf->walk, nf->needle, 0);
            if (c->offset >= c->total) {
                free(m);
                return IMGSEC_OK;
            }
            rc = global_records_counted(c, v, mask, cs, nf, sums.all, m);
            free(m);
            return rc;
        }
        if (nf->compliant && cs0->n == 1 && !cs0->none) {
            rc = global_records_compliant(c, v, mask, cs0, nf);
            if (rc != IMGSEC_ENOTFOUND)
                return rc;
            *c->err = (imgsec_err){0};
        }
        int64_t names = 0;
        qb_sql(&n, "SELECT count(DISTINCT name) FROM name_counts WHERE kind = %d AND project_id = ",
               nf->kind);
        qb_text(&n, c->scope->project_id);
        qb_sql(&n, " AND instr(name, ");
        qb_text(&n, nf->needle);
        qb_sql(&n, ") > 0");
        if ((rc = q_count(c, &n, &names)) != IMGSEC_OK)
            return rc;
        if (names <= NAME_MATCH_MAX)
            return global_records_named(c, v, mask, cs, nf, false);
        conds_add(&all, nf->walk, nf->needle, 0);
    }
    if (nf && !nf->needle && nf->compliant && cs0->n == 1 && !cs0->none) {
        int rc = global_records_compliant(c, v, mask, cs0, nf);
        if (rc != IMGSEC_ENOTFOUND)
            return rc;
        *c->err = (imgsec_err){0};
    }
    bool filtered = cs->n || cs->none;
    qb q = {0};
    int rc;
    if (filtered) {
        const char *join = v->few ? "CROSS JOIN images i WHERE i.id = r.image"
                                  : "JOIN images i ON i.id = r.image WHERE 1";
        qb_sql(&q, "SELECT count(*) FROM \"%s\" r %s", v->table, join);
        qb_scope(&q, c, mask);
        qb_conds(&q, cs);
        if ((rc = q_count(c, &q, &c->total)) != IMGSEC_OK || c->offset >= c->total)
            return rc;
        bool wrap = qb_page_start(&q, c, v, c->offset);
        qb_sql(&q, "\"%s\" r %s", v->table, join);
        qb_scope(&q, c, mask);
        qb_conds(&q, cs);
        qb_sql(&q, " ORDER BY r.image, r.seq");
        qb_page(&q, c);
        qb_page_end(&q, wrap, false);
        return q_items(c, &q, v->fn);
    }
    if (c->accel && mask != 0) { /* 0: no type selected (cluster); the index reads 0 as all */
        rc = accel_records(c, v, mask);
        if (rc != IMGSEC_ENOTFOUND)
            return rc;
        *c->err = (imgsec_err){0};
        json_array_clear(c->items);
    }
    const char *count_col = v->table + 4; /* "rec_x" -> n_x (store_schema.c) */
    qb_sql(&q, "SELECT i.id, i.\"n_%s\" FROM images i WHERE i.\"n_%s\" > 0", count_col, count_col);
    qb_scope(&q, c, mask);
    qb_sql(&q, " ORDER BY i.id");
    img_counts ic = {0};
    rc = q_run(c, &q, row_img_count, &ic);
    if (rc != IMGSEC_OK && c->err->code == IMGSEC_OK)
        rc = oom(c);
    c->total = 0;
    for (size_t k = 0; rc == IMGSEC_OK && k < ic.n; k++)
        c->total += ic.counts[k];
    /* the page's spans from the images' counts, then one read of them */
    index_record_span spans[LIST_LIMIT_MAX];
    size_t n = 0;
    int64_t skip = c->offset, want = c->limit;
    for (size_t k = 0; rc == IMGSEC_OK && k < ic.n && want > 0 && n < LIST_LIMIT_MAX; k++) {
        if (skip >= ic.counts[k]) {
            skip -= ic.counts[k];
            continue;
        }
        int64_t take = ic.counts[k] - skip < want ? ic.counts[k] - skip : want;
        spans[n++] = (index_record_span){.image_id = ic.ids[k], .seq = skip, .take = take};
        want -= take;
        skip = 0;
    }
    if (rc == IMGSEC_OK)
        rc = rows_of_spans(c, v, spans, n);
    free(ic.ids);
    free(ic.counts);
    return rc;
}

/* the image columns that open a view (put_image_cols reads them) */
#define VIEW_IMAGE_COLS                                                                         \
    {COL_IMAGE, "image_type"}, {COL_IMAGE, "namespace"}, {COL_IMAGE, "image_name"},             \
        {COL_IMAGE, "image_version"}, {COL_IMAGE, "image_id"}

static bool put_image_cols(json_t *o, const store_cell *x)
{
    return put_str(o, "image_type", &x[0]) && put_str(o, "namespace", &x[1]) &&
           put_str(o, "image_name", &x[2]) && put_str(o, "image_version", &x[3]) &&
           put_str(o, "image_id", &x[4]);
}

/* ListGlobalImageApps: ImageAppResponseInfo */
static bool item_global_app(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_image_cols(o, x) && put_str(o, "app_name", &x[5]) &&
           put_str(o, "app_type", &x[6]) && put_str(o, "app_version", &x[7]) &&
           put_int(o, "vul_num", &x[8], true) && put_str(o, "app_path", &x[9]) &&
           put_str(o, "layer_digest", &x[10]) && put(o, "is_compliant", json_boolean(x[11].i)) &&
           put_int(o, "latest_scan_time", &x[12], false);
}


static int list_global_apps(lctx *c)
{
    unsigned mask;
    const char *app_name;
    int compliant;
    int rc;
    if ((rc = p_types(c, false, ALL_TYPES, &mask, NULL)) != IMGSEC_OK ||
        (rc = p_str(c, "app_name", 65535, false, &app_name)) != IMGSEC_OK ||
        (rc = p_bool(c, "is_compliant", false, &compliant)) != IMGSEC_OK)
        return rc;
    conds cs = {0};
    name_filter nf = {0, "app_name", "instr(r.app_name, ?) > 0", app_name, compliant == 1};
    if (compliant == 0) {
        static const view_col NC_COLS[] = {VIEW_IMAGE_COLS,
                                           {COL_RECORD, "app_name"},
                                           {COL_NULL, NULL},
                                           {COL_RECORD, "app_version"},
                                           {COL_NULL, NULL},
                                           {COL_RECORD, "app_path"},
                                           {COL_RECORD, "layer_digest"},
                                           {COL_ZERO, NULL},
                                           {COL_IMAGE, "latest_scan_time"},
                                           {COL_END, NULL}};
        static const global_view NC = {REPORT_NON_COMPLIANT_APP, "rec_non_compliant_app",
                                       NC_COLS, item_global_app, true};
        if (app_name) {
            conds_add(&cs, "instr(r.app_name, ?) > 0", app_name, 0);
            rc = global_records_noncompliant(c, &NC, mask, &cs, &nf);
            if (rc != IMGSEC_ENOTFOUND)
                return rc;
            *c->err = (imgsec_err){0};
        }
        return global_records(c, &NC, mask, &cs, NULL);
    }
    if (compliant == 1)
        conds_add(&cs, APP_COMPLIANT, NULL, 0);
    static const view_col COLS[] = {VIEW_IMAGE_COLS,
                                    {COL_RECORD, "app_name"},
                                    {COL_RECORD, "app_type"},
                                    {COL_RECORD, "app_version"},
                                    {COL_VUL_NUM, NULL},
                                    {COL_RECORD, "app_path"},
                                    {COL_RECORD, "layer_digest"},
                                    {COL_COMPLIANT, NULL},
                                    {COL_IMAGE, "latest_scan_time"},
                                    {COL_END, NULL}};
    static const global_view A = {REPORT_APPS, "rec_app", COLS, item_global_app, false};
    return global_records(c, &A, mask, &cs, &nf);
}

/* ListGlobalMalware: GlobalMalwareInfo */
static bool item_global_malware(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_image_cols(o, x) && put_str(o, "instance_id", &x[5]) &&
           put_str(o, "file_name", &x[6]) && put_str(o, "file_path", &x[7]) &&
           put_int(o, "size", &x[8], false) && put_int(o, "latest_scan_time", &x[9], false) &&
           put_str(o, "description", &x[10]);
}

static int list_global_malware(lctx *c)
{
    unsigned mask;
    const char *file_name;
    int rc;
    if ((rc = p_types(c, true, ALL_TYPES, &mask, NULL)) != IMGSEC_OK ||
        (rc = p_str(c, "file_name", 65535, false, &file_name)) != IMGSEC_OK)
        return rc;
    conds cs = {0};
    if (file_name)
        conds_add(&cs, "instr(r.file_name, ?) > 0", file_name, 0);
    static const view_col COLS[] = {VIEW_IMAGE_COLS,
                                    {COL_IMAGE, "instance_id"},
                                    {COL_RECORD, "file_name"},
                                    {COL_RECORD, "file_path"},
                                    {COL_RECORD, "size"},
                                    {COL_IMAGE, "latest_scan_time"},
                                    {COL_RECORD, "description"},
                                    {COL_END, NULL}};
    static const global_view V = {REPORT_MALWARES, "rec_malware", COLS, item_global_malware,
                                  true};
    return global_records(c, &V, mask, &cs, NULL);
}

/* ListGlobalImageFiles: ImageFileResponseInfo (size int64) */
static bool item_global_file(json_t *o, const store_cell *x, int n, lctx *c)
{
    (void)n, (void)c;
    return put_str(o, "file_name", &x[0]) && put_str(o, "file_path", &x[1]) &&
           put_int(o, "size", &x[2], false);
}

static int list_global_files(lctx *c)
{
    unsigned mask;
    const char *file_name;
    int rc;
    if ((rc = p_types(c, false, ALL_TYPES, &mask, NULL)) != IMGSEC_OK ||
        (rc = p_str(c, "file_name", 65535, false, &file_name)) != IMGSEC_OK)
        return rc;
    conds cs = {0};
    name_filter nf = {1, "file_name", "instr(r.file_name, ?) > 0", file_name, false};
    static const view_col COLS[] = {{COL_RECORD, "file_name"},
                                    {COL_RECORD, "file_path"},
                                    {COL_RECORD, "size"},
                                    {COL_END, NULL}};
    static const global_view V = {REPORT_FILES, "rec_file", COLS, item_global_file, false};
    return global_records(c, &V, mask, &cs, &nf);
}

static int list_global_sensitive(lctx *c)
{
    unsigned mask;
    /* the SDK's default image_type here is registry */
    int rc = p_types(c, false, REGISTRY_TYPES, &mask, NULL);
    if (rc != IMGSEC_OK)
        return rc;
    conds cs = {0};
    static const view_col COLS[] = {{COL_RECORD, "severity"}, {COL_RECORD, "name"},
                                    {COL_RECORD, "position"}, {COL_RECORD, "file_path"},
                                    {COL_RECORD, "content"},  {COL_IMAGE, "latest_scan_time"},
                                    {COL_END, NULL}};
    static const global_view V = {REPORT_SENSITIVE_INFO, "rec_sensitive_info", COLS,
                                  item_sensitive, false};
    return global_records(c, &V, mask, &cs, NULL);
}

/* ---- entry ---- */

static int dispatch(lctx *c)
{
    switch (c->d->kind) {
    case LIST_IMAGE_VULS: return list_image_vuls(c);
    case LIST_IMAGE_APPS: return list_image_apps(c);
    case LIST_IMAGE_MALWARE: return list_image_files(c, true);
    case LIST_IMAGE_FILES: return list_image_files(c, false);
    case LIST_IMAGE_SENSITIVE: return list_image_sensitive(c);
    case LIST_IMAGE_NON_COMPLIANT: return list_image_non_compliant(c);
    case LIST_IMAGE_RISK_CONFIGS: return list_image_risk_configs(c);
    case LIST_IMAGE_RISK_CONFIG_RULES: return list_image_risk_config_rules(c);
    case LIST_BUILD_RISKS: return list_build_risks(c);
    case LIST_BUILD_RISK_IMAGES: return list_build_risk_images(c);
    case LIST_GENERAL_VULS: return list_general_vuls(c);
    case LIST_VUL_AFFECT_IMAGES: return list_vul_affect_images(c);
    case LIST_VUL_CVE: return list_vul_cve(c);
    case LIST_GLOBAL_VULS: return list_global_vuls(c);
    case LIST_GLOBAL_APPS: return list_global_apps(c);
    case LIST_GLOBAL_MALWARE: return list_global_malware(c);
    case LIST_GLOBAL_FILES: return list_global_files(c);
    case LIST_GLOBAL_SENSITIVE: return list_global_sensitive(c);
    case LIST_KIND_COUNT: break;
    }
    return err_set(c->err, IMGSEC_EINTERNAL, "list: unknown kind");
}

int list_run(store *st, list_kind k, const index_scope *scope, const char *path_arg,
             const list_params *params, json_t **out, imgsec_err *err)
{
    return list_run_accel(st, k, scope, path_arg, params, NULL, out, err);
}

int list_run_accel(store *st, list_kind k, const index_scope *scope, const char *path_arg,
                   const list_params *params, const list_accel *accel, json_t **out,
                   imgsec_err *err)
{
    *out = NULL;
    lctx c = {.st = st, .d = list_def_get(k), .scope = scope, .arg = path_arg ? path_arg : "",
              .p = params, .err = err, .accel = accel};
    if (!c.d || !scope || !scope->project_id)
        return err_set(err, IMGSEC_EINTERNAL, "list: bad call");
    int rc = p_paging(&c);
    if (rc != IMGSEC_OK)
        return rc;
    if (!(c.items = json_array()))
        return oom(&c);
    if ((rc = store_snapshot_begin(st, &c.pos, err)) != IMGSEC_OK) {
        json_decref(c.items);
        return rc;
    }
    if (accel && accel->gone)
        store_list_watch(st, accel->gone, accel->arg);
    rc = dispatch(&c);
    if (accel && accel->gone)
        store_list_watch(st, NULL, NULL);
    store_snapshot_end(st);
    json_t *o = NULL;
    if (rc == IMGSEC_OK) {
        o = json_object();
        if (o && put_i(o, "total_num", c.total)) {
            json_t *items = c.items;
            c.items = NULL; /* json_object_set_new takes it, even when it fails */
            if (json_object_set_new(o, "data_list", items) == 0) {
                *out = o;
                return IMGSEC_OK;
            }
        }
    }
    json_decref(o);
    json_decref(c.items);
    if (err->code == IMGSEC_OK) /* a row callback ran out of memory */
        oom(&c);
    return (int)err->code;
}
