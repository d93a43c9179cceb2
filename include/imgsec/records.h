/* records.h - one record API: an image's records of one report type,
 * whatever stores them (docs/plan-packed-records.md, step 2).
 *
 * A reader asks for records through here instead of naming a record table
 * in SQL, so that the storage under it can change (today one row per
 * record; the plan's compressed blocks next) without touching the reader.
 *
 * A record condition is data (rec_pred): a field of the report type, an
 * operator and its values. The row store renders it as SQL
 * (store_image_records); rec_preds_match evaluates the same condition in
 * C over a record's cells, which is what a store that decodes blocks
 * does. Both agree on every record, valid UTF-8 or not
 * (tests/unit/test_records.c compares them on both engines).
 */
#ifndef IMGSEC_RECORDS_H
#define IMGSEC_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/model.h"
#include "imgsec/store.h"
#include "imgsec/store_exports.h"

#define REC_PRED_VALUES_MAX 4 /* values of one REC_PRED_EQ */
#define REC_PREDS_MAX 8       /* conditions of one call */

typedef enum {
    /* the field holds v[0] as a part, as SQL's instr(field, v) > 0: on
     * SQLite a match starts at the text's first byte or at a byte that
     * is not a UTF-8 continuation byte; an empty v matches any text */
    REC_PRED_SUBSTR,
    /* the field is one of v[0..nv), byte for byte */
    REC_PRED_EQ,
} rec_pred_op;

/* One condition, on a field stored as text (not FIELD_INT64 or
 * FIELD_NUMBER). A NULL field never passes one, as in SQL. */
typedef struct {
    int field; /* its place in record_kind_get(type)->fields */
    rec_pred_op op;
    const char *v[REC_PRED_VALUES_MAX]; /* NUL-terminated, borrowed */
    size_t nv;
} rec_pred;

/* The conditions of one call on one report type, all of which a record
 * must pass. Starts as {.type = t}. */
typedef struct {
    report_type type;
    rec_pred p[REC_PREDS_MAX];
    size_t n;
    bool none;  /* no record passes (e.g. handle_status=handled) */
    bool wrong; /* a condition named no text field of type, had no or too
                 * many values, or too many were added: store_image_records
                 * then fails with IMGSEC_EINTERNAL */
} rec_preds;

/* The place of field name among type's fields, or -1. */
int record_field_index(report_type type, const char *name);

/* Adds "field contains v" / "field is one of vals[0..nv)". */
void rec_preds_substr(rec_preds *ps, const char *field, const char *v);
void rec_preds_eq(rec_preds *ps, const char *field, const char *const *vals, size_t nv);

/* Whether cell (a field's value) passes p. */
bool rec_pred_match(const rec_pred *p, const store_cell *cell);
/* Whether a record passes every condition of ps; fields holds every field
 * of ps->type, in model order. */
bool rec_preds_match(const rec_preds *ps, const store_cell *fields);

/* The order of ORDER BY on both engines' text (SQLite's BINARY,
 * PostgreSQL's COLLATE "C"), with NULL first as SQLite puts it: NULL,
 * then numbers, then text bytewise (a prefix first). <0, 0, >0. */
int store_cell_cmp(const store_cell *a, const store_cell *b);

/* Records kept past a read's callback: each record's cells, with their
 * bytes copied into one arena. Starts as {0}; rec_batch_add is a
 * store_record_cb (arg: the batch): out of memory, it sets failed and
 * returns -1, which stops the read. After the read, rec_batch_seal (once)
 * points the cells at their bytes; then record i is cells + i * width. */
typedef struct {
    store_cell *cells;
    size_t n, width, cap;
    char *bytes;
    size_t len, size;
    bool failed; /* out of memory, or records of different widths */
} rec_batch;

int rec_batch_add(const store_cell *x, size_t n, void *arg);
void rec_batch_seal(rec_batch *b);
/* Empties b for another read, keeping its memory. */
void rec_batch_clear(rec_batch *b);
void rec_batch_free(rec_batch *b);

/* What a store_record_cb returns to stop a read early without an error:
 * imgsec codes are >= 0, so a negative value is the reader's own. */
#define REC_STOP (-2)

/* Inside the caller's read transaction (a list call's, or a snapshot):
 * image's records of ps->type passing ps, in seq order. *total (unless
 * total is NULL) gets how many pass; cb gets the passing records
 * [from, from + take) (take < 0: all from from), each as the fields
 * fields[0..nf) asks for (places in the type's fields) followed by the
 * image id and the record's seq: nf + 2 cells, valid during the call. A
 * non-zero return from cb stops and is returned. */
int store_image_records(store *st, int64_t image, const rec_preds *ps, const int *fields,
                        size_t nf, int64_t from, int64_t take, int64_t *total, store_record_cb cb,
                        void *arg, imgsec_err *err);

/* Every record of image of type t, in seq order, each as every field of
 * the type in model order, then the image id and the seq: what
 * store_image_records gives for all fields and no condition, through one
 * statement prepared once per handle. The readers of the write side
 * (rematch, exports, the severities of a replaced image) read an image
 * this way; cb must not start another such read of the same type on the
 * same handle. */
int store_image_records_all(store *st, int64_t image, report_type t, store_record_cb cb,
                            void *arg, imgsec_err *err);

/* Inside the caller's read transaction: the images that have records of
 * type t (of project_id project, unless project is NULL), in id order,
 * each with how many (images.n_<type>, kept exactly by every writer).
 * A non-zero return from cb stops and is returned. What walks a whole
 * store's records (imgsec records) starts here. */
int store_record_images(store *st, report_type t, const char *project,
                        int (*cb)(int64_t image, int64_t n, void *arg), void *arg,
                        imgsec_err *err);

/* How many records of type t the store holds, counted in its storage
 * itself: also those of an image that no longer exists, which no writer
 * may leave behind. For checks of deletes and rollbacks (the tests), not
 * for answers: a reader wants images.n_<type> or store_record_images. */
int store_records_stored(store *st, report_type t, int64_t *n, imgsec_err *err);

/* A run of one image's records: take of them from seq on. */
typedef struct {
    int64_t image, seq, take;
} store_span;

#define STORE_SPANS_MAX 200 /* spans of one store_record_spans */

/* Inside the caller's read transaction: the records of type t in
 * spans[0..n) (n <= STORE_SPANS_MAX; spans that do not overlap), in
 * (image, seq) order, each as fields[0..nf) followed by the image id and
 * the seq, as store_image_records gives them. One read for all the spans
 * (a page of group representatives, one record each, is one read). */
int store_record_spans(store *st, report_type t, const store_span *spans, size_t n,
                       const int *fields, size_t nf, store_record_cb cb, void *arg,
                       imgsec_err *err);

/* Inside the caller's read transaction: the records of ps->type passing
 * ps of the images images[0..n) (n <= STORE_SPANS_MAX: a page's; in any
 * order, an image named twice read once), in (image, seq) order, each as
 * store_image_records gives them. One read for all (a page of build-rule
 * images and their risk lists). */
int store_images_records(store *st, const rec_preds *ps, const int64_t *images, size_t n,
                         const int *fields, size_t nf, store_record_cb cb, void *arg,
                         imgsec_err *err);

/* An app of an image: its name, version and path bytes (version or path
 * NULL: the app has none). */
typedef struct {
    int64_t image;
    const char *name, *version, *path;
    size_t name_len, version_len, path_len;
} store_app_ref;

typedef enum {
    /* the image's vulnerability records naming the app: the same app_name,
     * and the same app_version or both none (ListImageApps' and
     * ListGlobalImageApps' vul_num) */
    STORE_APP_VULS,
    /* the image's non-compliant-app records of the app: the same app_name,
     * app_version and app_path, or both none (is_compliant is 0 of them) */
    STORE_APP_NON_COMPLIANT,
} store_app_count;

/* Inside the caller's read transaction: out[i] gets the count what of
 * apps[i]; n <= STORE_SPANS_MAX (a page). On PostgreSQL one statement for
 * all (no round trip per app); on SQLite one cached statement run per
 * app. */
int store_app_counts(store *st, store_app_count what, const store_app_ref *apps, size_t n,
                     int64_t *out, imgsec_err *err);

#endif
