/* export_internal.h - the format vtable behind export_writer.h. Each
 * format (export_csv.c, export_xlsx.c) fills one; export_writer.c
 * dispatches. */
#ifndef IMGSEC_EXPORT_INTERNAL_H
#define IMGSEC_EXPORT_INTERNAL_H

#include "imgsec/export_writer.h"

typedef struct {
    int (*row)(export_writer *w, const store_cell *cells, size_t ncols, imgsec_err *err);
    int (*close)(export_writer *w, imgsec_err *err);
    void (*abort)(export_writer *w);
} export_ops;

struct export_writer {
    const export_ops *ops;
    size_t ncols;
};

/* Creates path 0600 whatever the umask, never over an existing file;
 * *fd gets its descriptor. */
int export_file_create(const char *path, int *fd, imgsec_err *err);

int export_csv_open(const char *path, const char *const *header, size_t ncols,
                    export_writer **out, imgsec_err *err);
int export_xlsx_open(const char *path, const char *sheet, const char *const *header, size_t ncols,
                     const export_writer_options *opt, export_writer **out, imgsec_err *err);

#endif
