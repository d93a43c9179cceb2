/* store_records.c - snapshots and the record walk of an export (see
 * imgsec/store_exports.h).
 *
 * An export reads many images' records long after the request that asked
 * for it, while ingest goes on. It does so inside one read transaction
 * (WAL: writers are not blocked, the reader sees the state of its first
 * read), opened before the selection is taken from the index, so the
 * rows and the count come from the same state.
 *
 * Records are read per image through the record API (records.h: one
 * statement per handle for a whole image) and sorted by natural key here,
 * one image at a time, so memory is bounded by the largest image, not the
 * export, and the order is the same on both engines (absent values first:
 * PostgreSQL's ORDER BY would put them last). The record
 * filters are applied here in C with the index's own semantics (exact
 * vul_type and risk_level, vul_id and rule_id in a list, risk_name
 * substring) rather than in SQL, so there is one meaning of each filter
 * to keep in step with index_records.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/records.h"
#include "imgsec/store_exports.h"
#include "imgsec/util.h"
#include "store_int.h"

/* The export's image columns from model.h: an attribute's key is both
 * its header and its column in the images table. */
#define EXPORTED_0(key)
#define EXPORTED_1(key) key,
#define EXPORTED_NAME(m, key, dmin, dmax, filter, fmax, qlists, ilists, col, exported) \
    EXPORTED_##exported(key)
const char *const STORE_EXPORT_IMAGE_COL_NAMES[STORE_EXPORT_IMAGE_COLS] = {
    "id", "image_type", MODEL_IMAGE_STRINGS(EXPORTED_NAME) "enterprise_project_id"};
#undef EXPORTED_1
#define EXPORTED_1(key) key ", "
static const char EXPORT_IMAGE_SQL[] =
    "SELECT id, image_type, " MODEL_IMAGE_STRINGS(EXPORTED_NAME) "ep FROM images WHERE id = ?1";
#undef EXPORTED_0
#undef EXPORTED_1
#undef EXPORTED_NAME

/* Natural keys, per report type (documented in the header), then seq. */
#define NATURAL_KEY_MAX 4
static const char *const NATURAL_KEY[REPORT_TYPE_COUNT][NATURAL_KEY_MAX + 1] = {
    [REPORT_VULNERABILITY] = {"vul_id", "app_name", "app_version", "app_path"},
    [REPORT_RISK_CONFIG] = {"check_rule_id", "check_name"},
    [REPORT_MALWARES] = {"file_path"},
    [REPORT_APPS] = {"app_name", "app_version", "app_type", "app_path"},
    [REPORT_FILES] = {"file_path"},
    [REPORT_SENSITIVE_INFO] = {"rule_id", "file_path", "position"},
    [REPORT_NON_COMPLIANT_APP] = {"app_name", "app_version", "app_path"},
    [REPORT_BUILD_COMMAND_RISKS] = {"rule_id", "build_instruction"},
};

int store_snapshot_begin(store *st, int64_t *position, imgsec_err *err)
{
    int rc = store_read_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    /* the range's max: the cached statement, one B-tree end */
    db_stmt *s = store_dstmt(st, STMT_CHANGES_RANGE, err);
    if (!s || db_step(s) != DB_ROW) {
        rc = s ? store_derr(st, err, "reading the change log") : IMGSEC_EINTERNAL;
        db_reset(s);
        store_rollback(st);
        return rc;
    }
    *position = db_column_int64(s, 1); /* NULL (an empty log) reads as 0 */
    db_reset(s);
    return IMGSEC_OK;
}

void store_snapshot_end(store *st)
{
    store_rollback(st);
}

/* ---- record filters ---- */

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, distinct copies of list[0..n); NULL items skipped. */
static int copy_list(const char *const *list, size_t n, char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!n)
        return 0;
    char **v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!list[i])
            continue;
        if (!(v[k] = strdup(list[i]))) {
            for (size_t j = 0; j < k; j++)
                free(v[j]);
            free(v);
            return -1;
        }
        k++;
    }
    qsort(v, k, sizeof *v, cmp_strp);
    size_t d = 0;
    for (size_t i = 0; i < k; i++) {
        if (d && strcmp(v[d - 1], v[i]) == 0)
            free(v[i]);
        else
            v[d++] = v[i];
    }
    *out = v;
    *n_out = d;
    return 0;
}

int store_record_filter_init(store_record_filter *f, const stat_query *q, imgsec_err *err)
{
    memset(f, 0, sizeof *f);
    f->report = q->report;
    f->vul_type = -1;
    f->build_level = -1;
    if ((unsigned)q->report >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "security_report_type: must be %s", report_type_choices());
    bool fail = false;
    if (q->report == REPORT_VULNERABILITY) {
        f->vul_type = q->vul_type;
        /* an empty list filters nothing; a list of only NULLs (impossible
         * from filter_from_json) would count nothing, as in the index */
        fail = copy_list(q->vul_ids, q->n_vul_ids, &f->vul_ids, &f->n_vul_ids) != 0;
        if (q->n_vul_ids && !f->n_vul_ids)
            f->n_vul_ids = 0, f->vul_type = -2; /* matches nothing */
    } else if (q->report == REPORT_BUILD_COMMAND_RISKS) {
        f->build_level = q->build_level;
        if (q->build_name && *q->build_name && !(f->build_name = strdup(q->build_name)))
            fail = true;
        if (!fail && copy_list(q->build_rule_ids, q->n_build_rule_ids, &f->build_rule_ids,
                               &f->n_build_rule_ids) != 0)
            fail = true;
        if (q->n_build_rule_ids && !f->n_build_rule_ids)
            f->build_level = -2; /* matches nothing */
    }
    if (fail) {
        store_record_filter_free(f);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

void store_record_filter_free(store_record_filter *f)
{
    for (size_t i = 0; i < f->n_vul_ids; i++)
        free(f->vul_ids[i]);
    free(f->vul_ids);
    for (size_t i = 0; i < f->n_build_rule_ids; i++)
        free(f->build_rule_ids[i]);
    free(f->build_rule_ids);
    free(f->build_name);
    memset(f, 0, sizeof *f);
}

/* Column positions (in the record part of the row) the filters read. */
typedef struct {
    int vul_id, vul_type, rule_id, risk_name, risk_level;
} filter_cols;

static bool in_list(char *const *list, size_t n, const char *s)
{
    return s && bsearch(&s, list, n, sizeof *list, cmp_strp) != NULL;
}

static bool filter_pass(const store_record_filter *f, const filter_cols *c, const store_cell *rec)
{
    if (f->report == REPORT_VULNERABILITY) {
        if (f->vul_type == -2)
            return false;
        if (f->vul_type >= 0 && (rec[c->vul_type].kind != CELL_STRING ||
                                 strcmp(rec[c->vul_type].s, vul_type_name((vul_type)f->vul_type)) != 0))
            return false;
        if (f->n_vul_ids && (rec[c->vul_id].kind != CELL_STRING ||
                             !in_list(f->vul_ids, f->n_vul_ids, rec[c->vul_id].s)))
            return false;
    } else if (f->report == REPORT_BUILD_COMMAND_RISKS) {
        if (f->build_level == -2)
            return false;
        if (f->build_level >= 0 &&
            (rec[c->risk_level].kind != CELL_STRING ||
             strcmp(rec[c->risk_level].s, severity_name((severity)f->build_level)) != 0))
            return false;
        if (f->build_name && (rec[c->risk_name].kind != CELL_STRING ||
                              !memmem(rec[c->risk_name].s, rec[c->risk_name].len, f->build_name,
                                      strlen(f->build_name))))
            return false;
        if (f->n_build_rule_ids && (rec[c->rule_id].kind != CELL_STRING ||
                                    !in_list(f->build_rule_ids, f->n_build_rule_ids,
                                             rec[c->rule_id].s)))
            return false;
    }
    return true;
}

/* ---- the walk ---- */

void store_cell_from_column(db_stmt *s, int c, store_cell *out)
{
    memset(out, 0, sizeof *out);
    switch (db_column_type(s, c)) {
    case DB_INT:
        out->kind = CELL_INT;
        out->i = db_column_int64(s, c);
        break;
    case DB_FLOAT:
        out->kind = CELL_REAL;
        out->d = db_column_double(s, c);
        break;
    case DB_NULL:
        out->kind = CELL_NULL;
        break;
    default:
        out->kind = CELL_STRING;
        out->s = db_column_text(s, c);
        out->len = db_column_bytes(s, c);
        if (!out->s)
            out->s = "", out->len = 0;
    }
}

typedef struct {
    store *st;
    db_stmt *img;
    const record_kind *k;
    store_cell *cells;
    char id_text[24];
    int key[NATURAL_KEY_MAX]; /* the natural key's fields, -1 after the last */
    rec_batch recs;           /* the image's records */
} walk;

/* natural key, then seq (the cell after the fields and the image id) */
static int natural_cmp(const void *pa, const void *pb, void *arg)
{
    const walk *w = arg;
    const store_cell *a = *(const store_cell *const *)pa, *b = *(const store_cell *const *)pb;
    for (int i = 0; i < NATURAL_KEY_MAX && w->key[i] >= 0; i++) {
        int r = store_cell_cmp(&a[w->key[i]], &b[w->key[i]]);
        if (r)
            return r;
    }
    size_t seq = w->k->nfields + 1;
    return (a[seq].i > b[seq].i) - (a[seq].i < b[seq].i);
}

/* Image id's records in natural-key order into w->recs and *order (grown
 * as needed to *cap entries); *n gets their number. */
static int image_sorted(walk *w, int64_t id, const store_cell ***order, size_t *cap, size_t *n,
                        imgsec_err *err)
{
    rec_batch_clear(&w->recs);
    int rc = store_image_records_all(w->st, id, w->k->type, rec_batch_add, &w->recs, err);
    if (w->recs.failed)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (rc != IMGSEC_OK)
        return rc;
    rec_batch_seal(&w->recs);
    if (w->recs.n > *cap) {
        const store_cell **o = realloc(*order, w->recs.n * sizeof *o);
        if (!o)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        *order = o, *cap = w->recs.n;
    }
    for (size_t i = 0; i < w->recs.n; i++)
        (*order)[i] = w->recs.cells + i * w->recs.width;
    if (w->recs.n > 1)
        qsort_r(*order, w->recs.n, sizeof **order, natural_cmp, w);
    *n = w->recs.n;
    return IMGSEC_OK;
}

/* Loads image id's columns into w->cells[0..7); *found false if absent. */
static int load_image(walk *w, int64_t id, bool *found, imgsec_err *err)
{
    db_reset(w->img);
    db_bind_int64(w->img, 1, id);
    int step = db_step(w->img);
    *found = step == DB_ROW;
    if (step != DB_ROW && step != DB_DONE)
        return store_derr(w->st, err, "reading an image for export");
    if (!*found)
        return IMGSEC_OK;
    snprintf(w->id_text, sizeof w->id_text, "%lld", (long long)id);
    w->cells[0] = (store_cell){.kind = CELL_STRING, .s = w->id_text, .len = strlen(w->id_text)};
    for (int c = 1; c < STORE_EXPORT_IMAGE_COLS; c++)
        store_cell_from_column(w->img, c, &w->cells[c]);
    return IMGSEC_OK;
}

int store_records_walk(store *st, const store_record_filter *f, const int64_t *ids,
                       const int64_t *expect, size_t n, int64_t limit, store_record_cb cb,
                       void *arg, imgsec_err *err)
{
    if ((unsigned)f->report >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "security_report_type: must be %s", report_type_choices());
    walk w = {.st = st, .k = record_kind_get(f->report)};
    filter_cols fc = {
        .vul_id = record_field_index(f->report, "vul_id"),
        .vul_type = record_field_index(f->report, "vul_type"),
        .rule_id = record_field_index(f->report, "rule_id"),
        .risk_name = record_field_index(f->report, "risk_name"),
        .risk_level = record_field_index(f->report, "risk_level"),
    };
    if ((f->report == REPORT_VULNERABILITY && (fc.vul_id < 0 || fc.vul_type < 0)) ||
        (f->report == REPORT_BUILD_COMMAND_RISKS &&
         (fc.rule_id < 0 || fc.risk_name < 0 || fc.risk_level < 0)))
        return err_set(err, IMGSEC_EINTERNAL, "store: record filter fields missing from the model");
    for (int i = 0; i < NATURAL_KEY_MAX; i++) {
        const char *name = NATURAL_KEY[f->report][i];
        if ((w.key[i] = name ? record_field_index(f->report, name) : -1) < 0 && name)
            return err_set(err, IMGSEC_EINTERNAL,
                           "store: a natural key field missing from the model");
    }
    size_t ncells = STORE_EXPORT_IMAGE_COLS + w.k->nfields;
    w.cells = calloc(ncells, sizeof *w.cells);
    const store_cell **order = NULL;
    size_t order_cap = 0;
    int rc = IMGSEC_OK;
    if (!w.cells) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    w.img = store_dprepare(st, EXPORT_IMAGE_SQL, "preparing the export query", err);
    if (!w.img) {
        rc = IMGSEC_EINTERNAL;
        goto done;
    }
    store_cell *rec = w.cells + STORE_EXPORT_IMAGE_COLS;
    int64_t written = 0;
    for (size_t i = 0; i < n && written < limit && rc == IMGSEC_OK; i++) {
        bool found;
        if ((rc = load_image(&w, ids[i], &found, err)) != IMGSEC_OK)
            break;
        int64_t got = 0;
        bool cut = false;
        size_t nrec = 0;
        if (found && (rc = image_sorted(&w, ids[i], &order, &order_cap, &nrec, err)) != IMGSEC_OK)
            break;
        for (size_t r = 0; r < nrec; r++) {
            memcpy(rec, order[r], w.k->nfields * sizeof *rec);
            if (!filter_pass(f, &fc, rec))
                continue;
            if (written >= limit) {
                cut = true;
                break;
            }
            got++;
            written++;
            if ((rc = cb(w.cells, ncells, arg)) != 0)
                break;
        }
        if (rc == IMGSEC_OK && expect && !cut && written < limit && got != expect[i])
            rc = err_set(err, IMGSEC_EINTERNAL,
                         "export: image %lld has %lld matching records in the snapshot, the index "
                         "counted %lld",
                         (long long)ids[i], (long long)got, (long long)expect[i]);
    }
done:
    db_finalize(w.img);
    rec_batch_free(&w.recs);
    free(order);
    free(w.cells);
    return rc;
}
