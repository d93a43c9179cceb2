/* access_log.c - see access_log.h. Two buffers: callers fill one under the
 * lock while the thread writes the other without it. */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/util.h"

#define ACCESS_LOG_BUF (256u << 10)

struct access_log {
    int fd;
    bool own_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_mutex_t write_lock; /* one write(2) at a time: on a pipe, a write
                                   larger than PIPE_BUF is not atomic */
    pthread_cond_t wake;
    bool stop;
    char *fill;     /* callers append here, under lock */
    size_t fill_len;
    char *spare;    /* the thread writes this one, without the lock */
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report a log that cannot be written */
        p += w;
        n -= (size_t)w;
    }
}


static void *writer_main(void *arg)
{
    access_log *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (l->fill_len == 0 && !l->stop)
            pthread_cond_wait(&l->wake, &l->lock);
        if (l->fill_len == 0 && l->stop)
            break;
        /* lines wait at most ACCESS_LOG_FLUSH_MS, or less when the buffer fills */
        if (!l->stop && l->fill_len < ACCESS_LOG_BUF / 2) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            util_timespec_add_ms(&ts, ACCESS_LOG_FLUSH_MS);
            while (!l->stop && l->fill_len < ACCESS_LOG_BUF / 2 &&
                   pthread_cond_timedwait(&l->wake, &l->lock, &ts) == 0)
                ;
        }
        char *out = l->fill;
        size_t n = l->fill_len;
        l->fill = l->spare;
        l->fill_len = 0;
        pthread_mutex_unlock(&l->lock);
        pthread_mutex_lock(&l->write_lock);
        write_all(l->fd, out, n);
        pthread_mutex_unlock(&l->write_lock);
        pthread_mutex_lock(&l->lock);
        l->spare = out;
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int access_log_open(const char *path, access_log **out, imgsec_err *err)
{
    access_log *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    l->fd = STDERR_FILENO;
    if (path) {
        l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (l->fd < 0) {
            free(l);
            return err_set(err, IMGSEC_EINVAL, "cannot open --access-log %s: %s", path,
                           strerror(errno));
        }
        l->own_fd = true;
    }
    l->fill = malloc(ACCESS_LOG_BUF);
    l->spare = malloc(ACCESS_LOG_BUF);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->write_lock, NULL);
    if (!l->fill || !l->spare || pthread_create(&l->thread, NULL, writer_main, l) != 0) {
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->lock);
        pthread_mutex_destroy(&l->write_lock);
        if (l->own_fd)
            close(l->fd);
        free(l->fill);
        free(l->spare);
        free(l);
        return err_set(err, IMGSEC_EINTERNAL, "cannot start the access log writer");
    }
    *out = l;
    return IMGSEC_OK;
}

void access_log_close(access_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    if (l->own_fd)
        close(l->fd);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    pthread_mutex_destroy(&l->write_lock);
    free(l->fill);
    free(l->spare);
    free(l);
}

void access_log_write(access_log *l, const char *line, size_t len)
{
    pthread_mutex_lock(&l->lock);
    if (l->fill_len + len > ACCESS_LOG_BUF) {
        /* the writer is behind: write this line ourselves, between the
         * writer's batches (write_lock), so lines never interleave; it may
         * land before lines that still wait in the buffer, but it is not
         * lost */
        pthread_mutex_unlock(&l->lock);
        pthread_mutex_lock(&l->write_lock);
        write_all(l->fd, line, len);
        pthread_mutex_unlock(&l->write_lock);
        return;
    }
    bool was_empty = l->fill_len == 0;
    memcpy(l->fill + l->fill_len, line, len);
    l->fill_len += len;
    bool half = l->fill_len >= ACCESS_LOG_BUF / 2;
    pthread_mutex_unlock(&l->lock);
    if (was_empty || half)
        pthread_cond_signal(&l->wake);
}

/* The length of the well-formed UTF-8 sequence at p (n bytes left) that is
 * not a C1 control, or 0 (RFC 3629's table: no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_char_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t want;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        want = 2, lo = c == 0xc2 ? 0xa0 : 0x80; /* C2 80-9F are the C1 controls */
    else if (c >= 0xe0 && c <= 0xef)
        want = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        want = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < want || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < want; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return want;
}

size_t access_log_escape(char *out, size_t out_size, const char *in, size_t len, bool field)
{
    static const char HEX[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t keep = 0; /* bytes copied as they are */
        if (c >= 0x20 && c < 0x7f)
            keep = c == '\\' || (field && c == ' ') ? 0 : 1;
        else if (c >= 0x80)
            keep = utf8_char_len(p + i, len - i);
        size_t need = keep ? keep : 4;
        if (o + need + 1 > out_size)
            break;
        if (keep) {
            memcpy(out + o, p + i, keep);
            o += keep;
            i += keep;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = HEX[c >> 4];
            out[o++] = HEX[c & 15];
            i++;
        }
    }
    out[o] = '\0';
    return o;
}

void server_log(const char *fmt, ...)
{
    char msg[ACCESS_LOG_LINE_MAX], esc[ACCESS_LOG_ESCAPE_MAX(ACCESS_LOG_LINE_MAX)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    access_log_escape(esc, sizeof esc, msg, len, false);
    fprintf(stderr, "imgsecd: %s\n", esc);
}
