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

#include <stdbool.h>
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

/* The one escaping of every value that reaches a log line, the access log
 * or stderr (security.md "Logs"): so that one request writes exactly one
 * line, and a value can neither forge a line nor drive a terminal. Copies
 * in[0..len) to out, turning into \xNN (lower-case hex) every byte that is
 * not printable ASCII nor part of well-formed UTF-8: control bytes
 * (0x00-0x1f, 0x7f), C1 controls (U+0080-U+009F), invalid, overlong or
 * surrogate sequences; and the backslash itself, so the escaping reads
 * back unambiguously. With field set the space is escaped too, for values
 * that are one space-separated field of the access log line (method,
 * path). out gets at most out_size - 1 bytes and a NUL (out_size >= 1);
 * a value that does not fit is cut before an escape or a character, never
 * inside one. Returns the length written. */
#define ACCESS_LOG_ESCAPE_MAX(n) ((n) * 4 + 1) /* out_size that always fits n bytes */
size_t access_log_escape(char *out, size_t out_size, const char *in, size_t len, bool field);

/* One line on stderr, "imgsecd: " and the formatted message escaped as
 * above (so a value from a client, a file or an error can never start a
 * second line). Messages longer than ACCESS_LOG_LINE_MAX bytes are cut. */
#define ACCESS_LOG_LINE_MAX 1024
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
