/* util.h - small helpers shared by the library, the server and the CLI. */
#ifndef IMGSEC_UTIL_H
#define IMGSEC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch (wall clock). */
int64_t util_now_ms(void);
/* Monotonic nanoseconds, for durations. */
int64_t util_mono_ns(void);

/* Lower-case hex of n random bytes into out (>= 2n+1 bytes). */
void util_random_hex(char *out, size_t nbytes);
/* Lower-case hex encoding of data. out >= 2*len+1. */
void util_hex(const unsigned char *data, size_t len, char *out);

/* ISO 8601 UTC with microseconds, Keystone style: 2026-11-28T19:35:00.000000Z.
 * out >= UTIL_ISO_TIME_MAX. */
#define UTIL_ISO_TIME_MAX 32
void util_iso_time(int64_t ms, char *out);

/* Parses a decimal int64 that is the whole string; false on junk/overflow. */
bool util_parse_int64(const char *s, int64_t *out);

/* Reads a whole file into a malloc'd buffer (NUL-terminated). NULL on error
 * (errno set). */
char *util_read_file(const char *path, size_t *len);

#endif
