/* rec_text.h - the tests read records through the record API
 * (imgsec/records.h), not with SQL on the record tables, so that they hold
 * whatever stores the records (rows today, the packed blocks of
 * docs/plan-packed-records.md next) to the same answers.
 *
 *   rec_text(st, t, image, "f1,f2")  image's records of type t (image < 0:
 *                                    every image's, in id order) as text,
 *                                    one line a record: "image|seq|f1|f2|"
 *                                    (fields NULL: every field of the type,
 *                                    in model order). An absent value is
 *                                    <null>, an integer its digits, a real
 *                                    as few digits as read back to it, with
 *                                    ".0" when it has no point (7 against
 *                                    7.0: the type shows). malloc'd.
 *   rec_count(st, t, image)          how many records image has of type t,
 *                                    through the API (image < 0: every
 *                                    image's).
 *   rec_stored(st, t)                the records of type t the storage
 *                                    holds, also of images that are gone
 *                                    (store_records_stored): what a delete
 *                                    or a rollback is checked against.
 *
 * All of it in one read (store_snapshot_begin); a failure fails the test. */
#ifndef IMGSEC_TEST_REC_TEXT_H
#define IMGSEC_TEST_REC_TEXT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/records.h"

typedef struct {
    FILE *out;
    int want[64];
    size_t nwant;
    int64_t n;
} rec_text_ctx;

static void rec_text_cell(FILE *f, const store_cell *c)
{
    char buf[40];
    switch (c->kind) {
    case CELL_NULL: fputs("<null>", f); break;
    case CELL_INT: fprintf(f, "%" PRId64, c->i); break;
    case CELL_REAL:
        for (int p = 15; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, c->d);
            if (strtod(buf, NULL) == c->d)
                break;
        }
        fputs(buf, f);
        if (!strpbrk(buf, ".eEni"))
            fputs(".0", f);
        break;
    case CELL_STRING: fwrite(c->s, 1, c->len, f); break;
    }
}

/* cells: every field, then image and seq (store_image_records_all) */
static int rec_text_row(const store_cell *cells, size_t n, void *arg)
{
    rec_text_ctx *x = arg;
    x->n++;
    if (!x->out)
        return 0;
    rec_text_cell(x->out, &cells[n - 2]);
    fputc('|', x->out);
    rec_text_cell(x->out, &cells[n - 1]);
    fputc('|', x->out);
    for (size_t i = 0; i < x->nwant; i++) {
        if ((size_t)x->want[i] >= n - 2)
            return IMGSEC_EINTERNAL;
        rec_text_cell(x->out, &cells[x->want[i]]);
        fputc('|', x->out);
    }
    fputc('\n', x->out);
    return 0;
}

typedef struct {
    store *st;
    report_type t;
    rec_text_ctx *x;
    imgsec_err *err;
} rec_text_walk;

static int rec_text_image(int64_t image, int64_t n, void *arg)
{
    (void)n;
    rec_text_walk *w = arg;
    return store_image_records_all(w->st, image, w->t, rec_text_row, w->x, w->err);
}

static void rec_text_run(store *st, report_type t, int64_t image, rec_text_ctx *x)
{
    imgsec_err err = {0};
    int64_t pos = 0;
    int rc = store_snapshot_begin(st, &pos, &err);
    if (rc == IMGSEC_OK) {
        rec_text_walk w = {st, t, x, &err};
        rc = image >= 0 ? store_image_records_all(st, image, t, rec_text_row, x, &err)
                        : store_record_images(st, t, NULL, rec_text_image, &w, &err);
        store_snapshot_end(st);
    }
    if (rc != IMGSEC_OK)
        fail_msg("rec_text: %s (%d)", err.msg, rc);
}

static char *rec_text(store *st, report_type t, int64_t image, const char *fields)
{
    const record_kind *k = record_kind_get(t);
    assert_non_null(k);
    rec_text_ctx x = {0};
    if (!fields) {
        for (size_t f = 0; f < k->nfields; f++)
            x.want[x.nwant++] = (int)f;
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", fields);
        char *save = NULL;
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            int f = record_field_index(t, p);
            if (f < 0)
                fail_msg("rec_text: %s has no field %s", k->name, p);
            x.want[x.nwant++] = f;
        }
    }
    char *out = NULL;
    size_t len = 0;
    x.out = open_memstream(&out, &len);
    assert_non_null(x.out);
    rec_text_run(st, t, image, &x);
    fclose(x.out);
    return out;
}

static int64_t rec_count(store *st, report_type t, int64_t image)
{
    rec_text_ctx x = {0};
    rec_text_run(st, t, image, &x);
    return x.n;
}

static int64_t rec_stored(store *st, report_type t)
{
    imgsec_err err = {0};
    int64_t n = -1;
    if (store_records_stored(st, t, &n, &err) != IMGSEC_OK)
        fail_msg("rec_stored: %s", err.msg);
    return n;
}

#endif
