/* export_xlsx.c - the XLSX format of exports (see imgsec/export_writer.h).
 *
 * libxlsxwriter in constant-memory mode keeps only the current row in
 * memory and streams each finished row to a temp file per sheet; the zip
 * is assembled at workbook_close. Rows must therefore be written in
 * order, one sheet after the other, which is how exports produce them.
 * Strings are copied into one reusable buffer to add the NUL libxlsxwriter
 * needs, to cut them at Excel's cell limit and to escape what
 * libxlsxwriter leaves as it is.
 *
 * Escaping (ECMA-376 Part 1, 22.9.2.19 ST_Xstring): a character XML 1.0
 * cannot carry is written as _xHHHH_, and so a literal "_xHHHH_" in the
 * text must have its '_' escaped as _x005F_ or a reader turns it into the
 * character. libxlsxwriter 1.1 escapes & < > and the C0 controls (CR too)
 * itself; it writes U+FFFE and U+FFFF raw (not XML characters: the sheet
 * is not well-formed and no reader opens it) and leaves "_xHHHH_" alone.
 * escape_text adds exactly those two, and turns bytes that are not UTF-8
 * (never stored by ingest, which reads JSON) into U+FFFD rather than write
 * an invalid sheet. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "export_internal.h"
#include "imgsec/util.h"

#define SHEET_NAME_BASE_MAX 24 /* room for " 12345" within Excel's 31 */

typedef struct {
    export_writer base;
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *bold;
    const char *const *header;
    uint32_t rows_per_sheet;
    uint32_t row;           /* next data row on the current sheet, 1-based (0 is the header) */
    unsigned sheets;
    char sheet[SHEET_NAME_BASE_MAX + 1];
    util_buf text;          /* string cell buffer, reused */
    char *path;             /* the file, made 0600 at open: removed on abort */
} xlsx_writer;

static int lxw_fail(imgsec_err *err, const char *what, lxw_error e)
{
    return err_set(err, IMGSEC_EINTERNAL, "export: %s: %s", what, lxw_strerror(e));
}

/* The byte length of the first max_chars UTF-8 characters of s[0..len). */
static size_t utf8_prefix(const char *s, size_t len, size_t max_chars)
{
    size_t chars = 0, i = 0;
    while (i < len && chars < max_chars) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return i;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* The length of the valid UTF-8 sequence at s[0..len) and its code point,
 * or 0 when the bytes there are not one (overlong, surrogate, cut). */
static size_t utf8_one(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n;
    uint32_t c, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        n = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Appends s[0..len) to b with the escapes libxlsxwriter lacks (above). */
static void escape_text(util_buf *b, const char *s, size_t len)
{
    size_t i = 0, plain = 0; /* s[plain..i) is still to copy as it is */
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_one((const unsigned char *)s + i, len - i, &cp);
        const char *esc = NULL;
        if (n == 1 && s[i] == '_' && len - i >= 7 && s[i + 1] == 'x' && is_hex(s[i + 2]) &&
            is_hex(s[i + 3]) && is_hex(s[i + 4]) && is_hex(s[i + 5]) && s[i + 6] == '_')
            esc = "_x005F_"; /* the '_' only; "xHHHH_" follows as it is */
        else if (n == 3 && cp == 0xFFFE)
            esc = "_xFFFE_";
        else if (n == 3 && cp == 0xFFFF)
            esc = "_xFFFF_";
        else if (n == 0)
            esc = "\xEF\xBF\xBD", n = 1; /* U+FFFD for one bad byte */
        if (esc) {
            util_buf_put(b, s + plain, i - plain);
            util_buf_put(b, esc, strlen(esc));
            plain = i + n;
        }
        i += n;
    }
    util_buf_put(b, s + plain, len - plain);
}

static int write_string(xlsx_writer *w, uint32_t row, uint16_t col, const char *s, size_t len,
                        lxw_format *fmt, imgsec_err *err)
{
    len = utf8_prefix(s, len, EXPORT_XLSX_CELL_CHARS);
    w->text.len = 0; /* a NUL-terminated copy, which libxlsxwriter wants */
    escape_text(&w->text, s, len);
    if (w->text.failed)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (len == 0)
        return IMGSEC_OK; /* an empty string is an empty cell */
    lxw_error e = worksheet_write_string(w->ws, row, col, w->text.buf, fmt);
    return e == LXW_NO_ERROR ? IMGSEC_OK : lxw_fail(err, "writing a cell", e);
}

static int next_sheet(xlsx_writer *w, imgsec_err *err)
{
    char name[LXW_SHEETNAME_MAX + 1];
    w->sheets++;
    if (w->sheets == 1)
        snprintf(name, sizeof name, "%s", w->sheet);
    else
        snprintf(name, sizeof name, "%s %u", w->sheet, w->sheets);
    if (!(w->ws = workbook_add_worksheet(w->wb, name)))
        return err_set(err, IMGSEC_EINTERNAL, "export: cannot add a worksheet");
    for (size_t c = 0; c < w->base.ncols; c++) {
        int rc = write_string(w, 0, (uint16_t)c, w->header[c], strlen(w->header[c]), w->bold, err);
        if (rc != IMGSEC_OK)
            return rc;
    }
    w->row = 1;
    return IMGSEC_OK;
}

static int xlsx_row(export_writer *base, const store_cell *cells, size_t ncols, imgsec_err *err)
{
    xlsx_writer *w = (xlsx_writer *)base;
    int rc;
    if (w->row > w->rows_per_sheet && (rc = next_sheet(w, err)) != IMGSEC_OK)
        return rc;
    for (size_t c = 0; c < ncols; c++) {
        const store_cell *x = &cells[c];
        lxw_error e = LXW_NO_ERROR;
        switch (x->kind) {
        case CELL_STRING:
            if ((rc = write_string(w, w->row, (uint16_t)c, x->s, x->len, NULL, err)) != IMGSEC_OK)
                return rc;
            break;
        case CELL_INT: e = worksheet_write_number(w->ws, w->row, (uint16_t)c, (double)x->i, NULL); break;
        case CELL_REAL: e = worksheet_write_number(w->ws, w->row, (uint16_t)c, x->d, NULL); break;
        case CELL_NULL: break;
        }
        if (e != LXW_NO_ERROR)
            return lxw_fail(err, "writing a cell", e);
    }
    w->row++;
    return IMGSEC_OK;
}

static void xlsx_free(xlsx_writer *w)
{
    free(w->path);
    free(w->text.buf);
    free(w);
}

static int xlsx_close(export_writer *base, imgsec_err *err)
{
    xlsx_writer *w = (xlsx_writer *)base;
    lxw_error e = workbook_close(w->wb);
    xlsx_free(w);
    return e == LXW_NO_ERROR ? IMGSEC_OK : lxw_fail(err, "writing the workbook", e);
}

static void xlsx_abort(export_writer *base)
{
    xlsx_writer *w = (xlsx_writer *)base;
    /* frees without assembling the zip (the sheets' temp files are
     * anonymous and vanish when closed) and removes the file made at open */
    lxw_workbook_free(w->wb);
    unlink(w->path);
    xlsx_free(w);
}

static const export_ops XLSX_OPS = {xlsx_row, xlsx_close, xlsx_abort};

int export_xlsx_open(const char *path, const char *sheet, const char *const *header, size_t ncols,
                     const export_writer_options *opt, export_writer **out, imgsec_err *err)
{
    if (ncols > LXW_COL_MAX)
        return err_set(err, IMGSEC_EINVAL, "export: too many columns");
    xlsx_writer *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    w->base.ops = &XLSX_OPS;
    w->base.ncols = ncols;
    w->header = header;
    w->rows_per_sheet = opt && opt->rows_per_sheet ? opt->rows_per_sheet : EXPORT_XLSX_ROWS_PER_SHEET;
    if (w->rows_per_sheet > EXPORT_XLSX_ROWS_PER_SHEET)
        w->rows_per_sheet = EXPORT_XLSX_ROWS_PER_SHEET;
    snprintf(w->sheet, sizeof w->sheet, "%s", sheet && *sheet ? sheet : "export");
    /* made 0600 now (libxlsxwriter writes it at the end with fopen, which
     * keeps an existing file's mode); an existing file is never replaced */
    int fd, rc = export_file_create(path, &fd, err);
    if (rc != IMGSEC_OK) {
        xlsx_free(w);
        return rc;
    }
    close(fd);
    if (!(w->path = strdup(path))) {
        unlink(path);
        xlsx_free(w);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    lxw_workbook_options o = {
        .constant_memory = LXW_TRUE,
        .tmpdir = opt && opt->tmpdir ? (char *)opt->tmpdir : NULL,
        .use_zip64 = opt && opt->zip64 ? LXW_TRUE : LXW_FALSE,
    };
    if (!(w->wb = workbook_new_opt(path, &o))) {
        unlink(path);
        xlsx_free(w);
        return err_set(err, IMGSEC_EINTERNAL, "export: cannot create the workbook");
    }
    w->bold = workbook_add_format(w->wb);
    if (w->bold)
        format_set_bold(w->bold);
    rc = next_sheet(w, err);
    if (rc != IMGSEC_OK) {
        xlsx_abort(&w->base);
        return rc;
    }
    *out = &w->base;
    return IMGSEC_OK;
}
