/* export_csv.c - the CSV format of exports (see imgsec/export_writer.h).
 *
 * Cells are written straight into a large stdio buffer: no per-row
 * allocation, no row assembled in memory. Quoting and the formula guard
 * are decided per cell by one scan of its bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_internal.h"

#define CSV_BUFFER (1u << 20)

typedef struct {
    export_writer base;
    FILE *f;
    char *buf;
} csv_writer;

/* The first bytes a spreadsheet may read as the start of a formula
 * (OWASP "CSV Injection": = + - @, TAB and CR). */
static const char CSV_FORMULA_FIRST[] = "=+-@\t\r";

/* Writes one cell's text: guarded against formulas, quoted when needed. */
static void csv_text(FILE *f, const char *s, size_t len)
{
    bool guard = len > 0 && s[0] != '\0' && strchr(CSV_FORMULA_FIRST, s[0]) != NULL;
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    if (!quote) {
        fwrite(s, 1, len, f);
        return;
    }
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) {
            fwrite(p, 1, (size_t)(end - p), f);
            break;
        }
        fwrite(p, 1, (size_t)(q - p) + 1, f);
        fputc('"', f);
        p = q + 1;
    }
    fputc('"', f);
}

static void csv_cell(FILE *f, const store_cell *c)
{
    char num[40];
    int n;
    switch (c->kind) {
    case CELL_STRING: csv_text(f, c->s, c->len); break;
    case CELL_INT:
        n = snprintf(num, sizeof num, "%lld", (long long)c->i);
        csv_text(f, num, (size_t)n);
        break;
    case CELL_REAL:
        n = snprintf(num, sizeof num, "%.15g", c->d);
        csv_text(f, num, (size_t)n);
        break;
    case CELL_NULL: break;
    }
}

static int csv_fail(imgsec_err *err, const char *what)
{
    int e = errno ? errno : EIO;
    return err_set(err, e == ENOSPC || e == EDQUOT ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                   "export: %s: %s", what, strerror(e));
}

static int csv_row(export_writer *base, const store_cell *cells, size_t ncols, imgsec_err *err)
{
    csv_writer *w = (csv_writer *)base;
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            fputc(',', w->f);
        csv_cell(w->f, &cells[i]);
    }
    fputs("\r\n", w->f);
    return ferror(w->f) ? csv_fail(err, "writing the file") : IMGSEC_OK;
}

static void csv_free(csv_writer *w)
{
    free(w->buf);
    free(w);
}

static int csv_close(export_writer *base, imgsec_err *err)
{
    csv_writer *w = (csv_writer *)base;
    int rc = IMGSEC_OK;
    if (fflush(w->f) != 0 || ferror(w->f))
        rc = csv_fail(err, "writing the file");
    if (fclose(w->f) != 0 && rc == IMGSEC_OK)
        rc = csv_fail(err, "closing the file");
    csv_free(w);
    return rc;
}

static void csv_abort(export_writer *base)
{
    csv_writer *w = (csv_writer *)base;
    fclose(w->f);
    csv_free(w);
}

static const export_ops CSV_OPS = {csv_row, csv_close, csv_abort};

int export_csv_open(const char *path, const char *const *header, size_t ncols,
                    export_writer **out, imgsec_err *err)
{
    csv_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->buf = malloc(CSV_BUFFER))) {
        free(w);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    w->base.ops = &CSV_OPS;
    w->base.ncols = ncols;
    int fd = -1;
    int rc = export_file_create(path, &fd, err);
    if (rc != IMGSEC_OK || !(w->f = fdopen(fd, "wb"))) {
        if (rc == IMGSEC_OK)
            rc = err_set(err, IMGSEC_EINTERNAL, "export: cannot open the file: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        csv_free(w);
        return rc;
    }
    setvbuf(w->f, w->buf, _IOFBF, CSV_BUFFER);
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            fputc(',', w->f);
        csv_text(w->f, header[i], strlen(header[i]));
    }
    fputs("\r\n", w->f);
    *out = &w->base;
    return IMGSEC_OK;
}
