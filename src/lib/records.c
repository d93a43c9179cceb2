/* records.c - record conditions evaluated in C (imgsec/records.h).
 *
 * These are the conditions the finding lists put on records, with the
 * meaning their SQL has on both engines, so that a store reading records
 * out of blocks filters them exactly as the row store's WHERE does:
 *
 *  - REC_PRED_SUBSTR is SQLite's instr() over TEXT: it tries the first
 *    byte, then steps a character at a time, skipping UTF-8 continuation
 *    bytes (10xxxxxx), and compares bytes there. So a byte match at a
 *    continuation byte other than the first is no match. On valid UTF-8
 *    that is a plain byte search, which is also PostgreSQL's strpos (it
 *    holds valid UTF-8 only). An empty needle matches any text.
 *  - REC_PRED_EQ is "=" under SQLite's BINARY collation and PostgreSQL's
 *    COLLATE "C" (db_ddl): equal lengths, equal bytes.
 */
/* memmem: _GNU_SOURCE comes from the build (CMakeLists.txt) */
#include <stdlib.h>
#include <string.h>

#include "imgsec/records.h"

int record_field_index(report_type type, const char *name)
{
    const record_kind *k = record_kind_get(type);
    for (size_t i = 0; k && i < k->nfields; i++)
        if (strcmp(k->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static rec_pred *pred_new(rec_preds *ps, const char *field, rec_pred_op op)
{
    int f = record_field_index(ps->type, field);
    field_kind kind = f < 0 ? FIELD_INT64 : record_kind_get(ps->type)->fields[f].kind;
    if (kind == FIELD_INT64 || kind == FIELD_NUMBER || ps->n >= REC_PREDS_MAX) {
        ps->wrong = true;
        return NULL;
    }
    rec_pred *p = &ps->p[ps->n++];
    *p = (rec_pred){.field = f, .op = op};
    return p;
}

void rec_preds_substr(rec_preds *ps, const char *field, const char *v)
{
    rec_pred *p = pred_new(ps, field, REC_PRED_SUBSTR);
    if (p) {
        p->v[0] = v;
        p->nv = 1;
    }
}

void rec_preds_eq(rec_preds *ps, const char *field, const char *const *vals, size_t nv)
{
    rec_pred *p = pred_new(ps, field, REC_PRED_EQ);
    if (!p)
        return;
    if (nv == 0 || nv > REC_PRED_VALUES_MAX) {
        ps->wrong = true;
        return;
    }
    for (size_t i = 0; i < nv; i++)
        p->v[i] = vals[i];
    p->nv = nv;
}

/* SQLite's instr(h, n) > 0 over TEXT (see the top of the file). */
static bool instr_match(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0)
        return true;
    size_t at = 0;
    while (at + nn <= hn) {
        const char *f = memmem(h + at, hn - at, n, nn);
        if (!f)
            return false;
        size_t q = (size_t)(f - h);
        if (q == 0 || ((unsigned char)h[q] & 0xC0) != 0x80)
            return true;
        at = q + 1;
    }
    return false;
}

bool rec_pred_match(const rec_pred *p, const store_cell *cell)
{
    if (cell->kind != CELL_STRING)
        return false; /* NULL; and no condition is on a number field */
    if (p->op == REC_PRED_SUBSTR)
        return p->nv == 1 && instr_match(cell->s, cell->len, p->v[0], strlen(p->v[0]));
    for (size_t i = 0; i < p->nv; i++) {
        size_t len = strlen(p->v[i]);
        if (len == cell->len && memcmp(cell->s, p->v[i], len) == 0)
            return true;
    }
    return false;
}

bool rec_preds_match(const rec_preds *ps, const store_cell *fields)
{
    if (ps->none || ps->wrong)
        return false;
    for (size_t i = 0; i < ps->n; i++)
        if (!rec_pred_match(&ps->p[i], &fields[ps->p[i].field]))
            return false;
    return true;
}

/* ---- order and kept records ---- */

int store_cell_cmp(const store_cell *a, const store_cell *b)
{
    /* NULL < numbers < text, as SQLite orders storage classes */
    static const int CLASS[] = {[CELL_NULL] = 0, [CELL_INT] = 1, [CELL_REAL] = 1,
                                [CELL_STRING] = 2};
    int ca = CLASS[a->kind], cb = CLASS[b->kind];
    if (ca != cb || ca == 0)
        return (ca > cb) - (ca < cb);
    if (ca == 1) {
        double x = a->kind == CELL_INT ? (double)a->i : a->d;
        double y = b->kind == CELL_INT ? (double)b->i : b->d;
        if (a->kind == CELL_INT && b->kind == CELL_INT)
            return (a->i > b->i) - (a->i < b->i);
        return (x > y) - (x < y);
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int r = n ? memcmp(a->s, b->s, n) : 0;
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* While a batch is filled, a text cell's s holds its offset in bytes
 * (the arena moves as it grows); rec_batch_seal makes it a pointer. */
int rec_batch_add(const store_cell *x, size_t n, void *arg)
{
    rec_batch *b = arg;
    if (b->failed || (b->n && n != b->width)) {
        b->failed = true;
        return -1;
    }
    b->width = n;
    if ((b->n + 1) * n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64 * n;
        while (cap < (b->n + 1) * n)
            cap *= 2;
        store_cell *c = realloc(b->cells, cap * sizeof *c);
        if (!c) {
            b->failed = true;
            return -1;
        }
        b->cells = c, b->cap = cap;
    }
    store_cell *out = b->cells + b->n * n;
    for (size_t i = 0; i < n; i++) {
        out[i] = x[i];
        if (x[i].kind != CELL_STRING)
            continue;
        if (b->len + x[i].len + 1 > b->size) {
            size_t size = b->size ? b->size * 2 : 4096;
            while (size < b->len + x[i].len + 1)
                size *= 2;
            char *bytes = realloc(b->bytes, size);
            if (!bytes) {
                b->failed = true;
                return -1;
            }
            b->bytes = bytes, b->size = size;
        }
        if (x[i].len)
            memcpy(b->bytes + b->len, x[i].s, x[i].len);
        b->bytes[b->len + x[i].len] = '\0';
        out[i].s = (const char *)(uintptr_t)b->len;
        b->len += x[i].len + 1;
    }
    b->n++;
    return 0;
}

void rec_batch_seal(rec_batch *b)
{
    for (size_t i = 0; !b->failed && i < b->n * b->width; i++)
        if (b->cells[i].kind == CELL_STRING)
            b->cells[i].s = b->bytes + (uintptr_t)b->cells[i].s;
}

void rec_batch_clear(rec_batch *b)
{
    b->n = b->width = b->len = 0;
    b->failed = false;
}

void rec_batch_free(rec_batch *b)
{
    free(b->cells);
    free(b->bytes);
    *b = (rec_batch){0};
}
