/* name_recount.h - name_counts (store_names.c) recounted from the records,
 * read through the record API (imgsec/records.h), for the tests that hold
 * the write code to it (unit test_store, api test_lists).
 *
 *   name_counts_differ(st)  the rows of name_counts (kind, project_id,
 *                           image_type, ep, name, n) that a recount of
 *                           every image's app_name (kind 0) and file_name
 *                           (kind 1) does not give, plus the recount's
 *                           rows that name_counts lacks: 0 when the counts
 *                           are exact. Names are compared as bytes (a
 *                           name may hold a NUL). A failure fails the
 *                           test. */
#ifndef IMGSEC_TEST_NAME_RECOUNT_H
#define IMGSEC_TEST_NAME_RECOUNT_H

#include <stdlib.h>
#include <string.h>

#include "imgsec/list.h"
#include "imgsec/records.h"

/* One row as bytes: the five key cells, each length-prefixed, then n. */
typedef struct {
    char *key;
    size_t len;
    int64_t n;
} name_row;

typedef struct {
    name_row *rows;
    size_t n, cap;
} name_rows;

static void name_rows_add(name_rows *r, int kind, const store_cell *proj, const store_cell *type,
                          const store_cell *ep, const char *name, size_t name_len, int64_t n)
{
    const store_cell *c[3] = {proj, type, ep};
    size_t len = 1 + name_len + sizeof(size_t);
    for (int i = 0; i < 3; i++)
        len += c[i]->len + sizeof(size_t);
    char *k = malloc(len), *p = k;
    assert_non_null(k);
    *p++ = (char)kind;
    for (int i = 0; i < 4; i++) {
        const char *s = i < 3 ? c[i]->s : name;
        size_t l = i < 3 ? c[i]->len : name_len;
        memcpy(p, &l, sizeof l);
        p += sizeof l;
        if (l)
            memcpy(p, s, l);
        p += l;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->rows = realloc(r->rows, r->cap * sizeof *r->rows);
        assert_non_null(r->rows);
    }
    r->rows[r->n++] = (name_row){k, len, n};
}

static int name_row_cmp(const void *a, const void *b)
{
    const name_row *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, m);
    if (c || x->len != y->len)
        return c ? c : (x->len < y->len ? -1 : 1);
    return x->n < y->n ? -1 : x->n > y->n;
}

static void name_rows_free(name_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->rows[i].key);
    free(r->rows);
}

/* The recount: one row per record with a name (n = 1), folded after. */
typedef struct {
    store *st;
    name_rows *out;
    int kind, field;
    const store_cell *img; /* project_id, image_type, ep */
} name_recount_ctx;

static int name_recount_record(const store_cell *cells, size_t n, void *arg)
{
    (void)n;
    name_recount_ctx *x = arg;
    const store_cell *name = &cells[x->field];
    if (name->kind == CELL_STRING)
        name_rows_add(x->out, x->kind, &x->img[0], &x->img[1], &x->img[2], name->s, name->len, 1);
    return 0;
}

/* The images first (id, then project_id, image_type and ep as a row of
 * name_rows), then each one's records: no read runs inside another. */
static int name_recount_image(const store_cell *cells, int n, void *arg)
{
    assert_int_equal(n, 4);
    name_rows_add(arg, 0, &cells[1], &cells[2], &cells[3], "", 0, cells[0].i);
    return 0;
}

static void name_recount_images(store *st, const name_rows *images, name_rows *out)
{
    imgsec_err err = {0};
    static const report_type types[2] = {REPORT_APPS, REPORT_FILES};
    static const char *const fields[2] = {"app_name", "file_name"};
    for (size_t i = 0; i < images->n; i++) {
        /* the image's key cells back out of its row */
        store_cell c[3];
        const char *p = images->rows[i].key + 1;
        for (int k = 0; k < 3; k++) {
            size_t l;
            memcpy(&l, p, sizeof l);
            p += sizeof l;
            c[k] = (store_cell){.kind = CELL_STRING, .s = p, .len = l};
            p += l;
        }
        name_recount_ctx x = {st, out, 0, 0, c};
        for (int k = 0; k < 2; k++) {
            x.kind = k;
            x.field = record_field_index(types[k], fields[k]);
            if (store_image_records_all(st, images->rows[i].n, types[k], name_recount_record, &x,
                                        &err) != IMGSEC_OK)
                fail_msg("name recount: %s", err.msg);
        }
    }
}

static int name_counts_row(const store_cell *cells, int n, void *arg)
{
    assert_int_equal(n, 6);
    name_rows_add(arg, (int)cells[0].i, &cells[1], &cells[2], &cells[3], cells[4].s, cells[4].len,
                  cells[5].i);
    return 0;
}

static int64_t name_counts_differ(store *st)
{
    name_rows want = {0}, have = {0};
    imgsec_err err = {0};
    int64_t pos = 0;
    if (store_snapshot_begin(st, &pos, &err) != IMGSEC_OK)
        fail_msg("name recount: %s", err.msg);
    name_rows images = {0};
    if (store_list_query(st, "SELECT id, project_id, image_type, ep FROM images ORDER BY id", NULL,
                         0, name_recount_image, &images, &err) != IMGSEC_OK ||
        store_list_query(st, "SELECT kind, project_id, image_type, ep, name, n FROM name_counts",
                         NULL, 0, name_counts_row, &have, &err) != IMGSEC_OK)
        fail_msg("name recount: %s", err.msg);
    name_recount_images(st, &images, &want);
    name_rows_free(&images);
    store_snapshot_end(st);
    /* fold the recount's ones into counts */
    qsort(want.rows, want.n, sizeof *want.rows, name_row_cmp);
    size_t w = 0;
    for (size_t i = 0; i < want.n; i++) {
        if (w && want.rows[w - 1].len == want.rows[i].len &&
            memcmp(want.rows[w - 1].key, want.rows[i].key, want.rows[i].len) == 0) {
            want.rows[w - 1].n++;
            free(want.rows[i].key);
            continue;
        }
        want.rows[w++] = want.rows[i];
    }
    want.n = w;
    qsort(want.rows, want.n, sizeof *want.rows, name_row_cmp);
    qsort(have.rows, have.n, sizeof *have.rows, name_row_cmp);
    int64_t differ = 0;
    size_t i = 0, j = 0;
    while (i < want.n || j < have.n) {
        int c = i == want.n ? 1 : j == have.n ? -1 : name_row_cmp(&want.rows[i], &have.rows[j]);
        differ += c != 0;
        i += c <= 0;
        j += c >= 0;
    }
    name_rows_free(&want);
    name_rows_free(&have);
    return differ;
}

#endif
