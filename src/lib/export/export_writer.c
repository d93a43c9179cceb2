/* export_writer.c - format names and dispatch (see imgsec/export_writer.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_internal.h"

static const char *const FORMAT_NAMES[EXPORT_FORMAT_COUNT] = {"xlsx", "csv"};
static const char *const FORMAT_MIME[EXPORT_FORMAT_COUNT] = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv; charset=utf-8"};

int export_format_parse(const char *s)
{
    for (int i = 0; i < EXPORT_FORMAT_COUNT; i++)
        if (s && strcmp(s, FORMAT_NAMES[i]) == 0)
            return i;
    return -1;
}

const char *export_format_name(export_format f)
{
    return (unsigned)f < EXPORT_FORMAT_COUNT ? FORMAT_NAMES[f] : "";
}

const char *export_format_mime(export_format f)
{
    return (unsigned)f < EXPORT_FORMAT_COUNT ? FORMAT_MIME[f] : "application/octet-stream";
}

int export_file_create(const char *path, int *fd, imgsec_err *err)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0 || fchmod(*fd, 0600) != 0) {
        int e = errno;
        if (*fd >= 0) {
            close(*fd);
            unlink(path);
            *fd = -1;
        }
        return err_set(err, e == ENOSPC || e == EDQUOT ? IMGSEC_ENOSPACE : IMGSEC_EINTERNAL,
                       "export: cannot create the file: %s", strerror(e));
    }
    return IMGSEC_OK;
}

int export_writer_open(export_format fmt, const char *path, const char *sheet,
                       const char *const *header, size_t ncols, const export_writer_options *opt,
                       export_writer **out, imgsec_err *err)
{
    *out = NULL;
    if (!path || !header || ncols == 0)
        return err_set(err, IMGSEC_EINVAL, "export: no file or no columns");
    switch (fmt) {
    case EXPORT_CSV: return export_csv_open(path, header, ncols, out, err);
    case EXPORT_XLSX: return export_xlsx_open(path, sheet, header, ncols, opt, out, err);
    default: return err_set(err, IMGSEC_EINVAL, "file_format must be one of xlsx, csv");
    }
}

int export_writer_row(export_writer *w, const store_cell *cells, size_t ncols, imgsec_err *err)
{
    if (ncols != w->ncols)
        return err_set(err, IMGSEC_EINTERNAL, "export: a row of %zu cells, the header has %zu",
                       ncols, w->ncols);
    return w->ops->row(w, cells, ncols, err);
}

int export_writer_close(export_writer *w, imgsec_err *err)
{
    return w ? w->ops->close(w, err) : IMGSEC_OK;
}

void export_writer_abort(export_writer *w)
{
    if (w)
        w->ops->abort(w);
}
