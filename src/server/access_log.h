/* access_log.h - the one line per request, written in batches.
 *
 * A write(2) per request costs more than answering a cached statistic, so
 * lines are appended to a buffer and a thread writes it out when it fills,
 * and at the latest ACCESS_LOG_FLUSH_MS after the first line waiting; on
 * close everything is written. A line can thus trail its response by that
 * long, and a crash loses at most that much. If the buffer is full and the
 * writer cannot keep up, the caller writes the line itself: lines are
 * never dropped. Other messages (startup, internal errors) still go
 * straight to stderr. */
#ifndef IMGSECD_ACCESS_LOG_H
#define IMGSECD_ACCESS_LOG_H

#include <stddef.h>

#include "imgsec/err.h"

#define ACCESS_LOG_FLUSH_MS 50

typedef struct access_log access_log;

/* path NULL: stderr; otherwise appended to, created 0640 if absent. */
int access_log_open(const char *path, access_log **out, imgsec_err *err);
/* Writes what waits, stops the thread, closes a file it opened. */
void access_log_close(access_log *l);
/* Queues one whole line (with its newline). Thread-safe. */
void access_log_write(access_log *l, const char *line, size_t len);

#endif
