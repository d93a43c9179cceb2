/* access_log.c - see access_log.h. Two buffers: callers fill one under the
 * lock while the thread writes the other without it. */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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
