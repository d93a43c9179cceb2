/* export_writer.h - writes rows of cells into an export file (export.md).
 *
 * One interface, two formats, both streaming: a row goes to the file (or
 * to libxlsxwriter's constant-memory temp file) as it is written, so memory
 * does not grow with the number of rows.
 *
 *  - CSV: RFC 4180, UTF-8 (no BOM), CRLF line ends; a cell is quoted when
 *    it holds a comma, a quote, CR or LF (quotes doubled); a cell whose text
 *    starts with = + - or @ is prefixed with ' so spreadsheets do not run
 *    it as a formula. Integers print as %lld, reals as %.15g (8.7, not
 *    8.6999999999999993); absent values are empty cells.
 *  - XLSX: libxlsxwriter in constant-memory mode; strings as inline
 *    strings, numbers as numbers, absent values as empty cells. A sheet
 *    holds a header row and at most rows_per_sheet data rows (Excel's
 *    1,048,575 by default); further rows continue on sheets named
 *    "<name> 2", "<name> 3", ... each with the header again. A string
 *    longer than Excel's cell limit (32,767 characters) is cut there, on a
 *    UTF-8 character boundary.
 */
#ifndef IMGSEC_EXPORT_WRITER_H
#define IMGSEC_EXPORT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/store_exports.h"

typedef enum { EXPORT_XLSX, EXPORT_CSV, EXPORT_FORMAT_COUNT } export_format;

/* "xlsx" / "csv" (exact); -1 otherwise. */
int export_format_parse(const char *s);
const char *export_format_name(export_format f);
/* The download's Content-Type. */
const char *export_format_mime(export_format f);

#define EXPORT_XLSX_ROWS_PER_SHEET 1048575u /* 1,048,576 rows minus the header */
#define EXPORT_XLSX_CELL_CHARS 32767u

typedef struct {
    uint32_t rows_per_sheet;   /* XLSX: 0 = EXPORT_XLSX_ROWS_PER_SHEET */
    bool zip64;                /* XLSX: ZIP64 extensions (files over 4 GiB) */
    const char *tmpdir;        /* XLSX: libxlsxwriter's temp files (NULL: system default) */
} export_writer_options;

typedef struct export_writer export_writer;

/* Creates path and writes the header row. sheet: the XLSX sheet name
 * (at most 28 bytes of [A-Za-z0-9 _-]); ignored for CSV. opt may be NULL. */
int export_writer_open(export_format fmt, const char *path, const char *sheet,
                       const char *const *header, size_t ncols, const export_writer_options *opt,
                       export_writer **out, imgsec_err *err);
/* Appends one data row of ncols cells. */
int export_writer_row(export_writer *w, const store_cell *cells, size_t ncols, imgsec_err *err);
/* Finishes the file and frees w (also on error). */
int export_writer_close(export_writer *w, imgsec_err *err);
/* Frees w without finishing; the caller removes the partial file. */
void export_writer_abort(export_writer *w);

#endif
