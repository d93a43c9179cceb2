/* util.h - small helpers shared by the library, the server and the CLI. */
#ifndef IMGSEC_UTIL_H
#define IMGSEC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (wall clock). */
int64_t util_now_ms(void);
/* Monotonic nanoseconds, for durations. */
int64_t util_mono_ns(void);

/* FNV-1a (32 bits) of len bytes at p: a cheap hash for in-memory tables
 * (not against adversaries: callers bound their probe runs) and the
 * record blocks' header checksum (store_block.c), so it must not change. */
uint32_t util_fnv1a(const void *p, size_t len);

/* Lower-case hex of n random bytes into out (>= 2n+1 bytes). */
void util_random_hex(char *out, size_t nbytes);
/* Lower-case hex encoding of data. out >= 2*len+1. */
void util_hex(const unsigned char *data, size_t len, char *out);

/* ISO 8601 UTC with microseconds, Keystone style: 2026-11-28T19:35:00.000000Z.
 * out >= UTIL_ISO_TIME_MAX. */
#define UTIL_ISO_TIME_MAX 32
void util_iso_time(int64_t ms, char *out);

/* Reads exactly n ASCII digits at s as a decimal number; false if one of
 * them is not a digit. */
bool util_parse_digits(const char *s, size_t n, int *out);
/* Seconds since the epoch of a UTC date and time (month 1-12, second up
 * to 60); -1 when a field is out of range or the year is before 1970. */
int64_t util_utc_seconds(int year, int month, int day, int hour, int min, int sec);

/* UTF-8 code points of s[0..len): the bytes that are not continuation
 * bytes (the text is validated elsewhere). */
size_t util_utf8_chars(const char *s, size_t len);

/* Moves ts forward by ms (a deadline for pthread_cond_timedwait). */
void util_timespec_add_ms(struct timespec *ts, int64_t ms);

/* Parses a decimal int64 that is the whole string: an optional '-', then
 * digits only (leading zeros allowed; no '+', no white space anywhere).
 * false on anything else and on overflow, leaving *out alone. */
bool util_parse_int64(const char *s, int64_t *out);

/* Makes room for need elements of elem bytes in the malloc'd array *p
 * of *cap elements (doubling, from 16); true when there is room. false,
 * leaving *p and *cap alone, when out of memory or when need * elem does
 * not fit a size_t. */
bool util_grow(void **p, size_t *cap, size_t need, size_t elem);

/* A growing NUL-terminated string. An allocation failure sticks (failed)
 * and turns later appends into no-ops, so a builder checks once, at the
 * end. Starts as {0}; the caller frees buf. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} util_buf;
/* Appends the n bytes at s. */
void util_buf_put(util_buf *b, const char *s, size_t n);
/* Appends printf-formatted text. */
void util_buf_printf(util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file into a malloc'd buffer (NUL-terminated). NULL on error
 * (errno set). */
char *util_read_file(const char *path, size_t *len);

#endif
