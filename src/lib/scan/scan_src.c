/* scan_src.c - layer sources: a file, memory, or a member of an outer
 * archive (scan_image.c); see scan_int.h. Every source hands out blocks
 * it owns, so the layer reader never copies a byte it does not need. */
#include "scan/scan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/util.h"

#define SRC_BLOCK (1u << 20)

typedef struct {
    scan_src base;
    int fd;
    unsigned char *buf;
} file_src;

static ssize_t file_read(scan_src *s, const void **buf, imgsec_err *err)
{
    file_src *f = (file_src *)s;
    for (;;) {
        ssize_t n = read(f->fd, f->buf, SRC_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(err, IMGSEC_EINTERNAL, "%s: read error: %s", s->name, strerror(errno)),
                   -1;
        *buf = f->buf;
        return n;
    }
}

static void file_close(scan_src *s)
{
    file_src *f = (file_src *)s;
    close(f->fd);
    free(f->buf);
    free(f);
}

scan_src *scan_src_file(const char *path, const char *name, imgsec_err *err)
{
    file_src *f = calloc(1, sizeof *f);
    if (!f || !(f->buf = malloc(SRC_BLOCK))) {
        free(f);
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f->fd < 0) {
        err_set(err, errno == ENOENT ? IMGSEC_EINVAL : IMGSEC_EINTERNAL, "%s: cannot open: %s",
                name ? name : path, strerror(errno));
        free(f->buf);
        free(f);
        return NULL;
    }
    snprintf(f->base.name, sizeof f->base.name, "%s", name ? name : path);
    f->base.read = file_read;
    f->base.close = file_close;
    return &f->base;
}

typedef struct {
    scan_src base;
    const void *data;
    size_t len;
    bool done;
    void *owned; /* freed at close (scan_src_memory_owned), or NULL */
} mem_src;

static ssize_t mem_read(scan_src *s, const void **buf, imgsec_err *err)
{
    (void)err;
    mem_src *m = (mem_src *)s;
    if (m->done)
        return 0;
    m->done = true;
    *buf = m->data;
    return (ssize_t)m->len;
}

static void mem_close(scan_src *s)
{
    free(((mem_src *)s)->owned);
    free(s);
}

scan_src *scan_src_memory(const void *data, size_t len, const char *name, imgsec_err *err)
{
    mem_src *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    m->data = data;
    m->len = len;
    snprintf(m->base.name, sizeof m->base.name, "%s", name);
    m->base.read = mem_read;
    m->base.close = mem_close;
    return &m->base;
}

scan_src *scan_src_memory_owned(void *data, size_t len, const char *name, imgsec_err *err)
{
    scan_src *s = scan_src_memory(data, len, name, err);
    if (!s) {
        free(data);
        return NULL;
    }
    ((mem_src *)s)->owned = data;
    return s;
}

void scan_src_close(scan_src *s)
{
    if (s)
        s->close(s);
}

char *scan_src_slurp(scan_src *s, size_t max, size_t *len, char *hex, imgsec_err *err)
{
    util_buf b = {0};
    scan_sha256 st;
    if (scan_sha256_init(&st) != 0) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    const void *blk;
    ssize_t n;
    while ((n = s->read(s, &blk, err)) > 0) {
        if ((size_t)n > max - b.len) {
            free(b.buf);
            scan_sha256_free(&st);
            err_set(err, IMGSEC_EINVAL, "%s: larger than %zu bytes", s->name, max);
            return NULL;
        }
        scan_sha256_update(&st, blk, (size_t)n);
        util_buf_put(&b, blk, (size_t)n);
    }
    if (n < 0 || b.failed) {
        free(b.buf);
        scan_sha256_free(&st);
        if (n >= 0)
            err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    if (!b.buf) {
        util_buf_put(&b, "", 0);
        if (!b.buf && !(b.buf = calloc(1, 1))) {
            scan_sha256_free(&st);
            err_set(err, IMGSEC_EINTERNAL, "out of memory");
            return NULL;
        }
    }
    char h[65];
    scan_sha256_final(&st, h);
    if (hex)
        memcpy(hex, h, sizeof h);
    *len = b.len;
    return b.buf;
}
