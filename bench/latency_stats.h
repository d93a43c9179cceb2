/* bench/latency_stats.h - timing and percentiles shared by the
 * one-connection clients (bench/latency.c, bench/list_latency.c,
 * bench/pg_latency.c).
 *
 * Requests are timed with CLOCK_MONOTONIC (bench/latency.c says why not
 * wrk's gettimeofday); a percentile is the nearest rank of the sorted
 * samples (p of n samples: the ceil(p/100 * n)-th smallest), so p99 of
 * fewer than 100 samples is the largest. Header only: each client is one
 * `cc` command.
 */
#ifndef BENCH_LATENCY_STATS_H
#define BENCH_LATENCY_STATS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double lat_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Samples in milliseconds. */
typedef struct {
    double *v;
    size_t n, cap;
    double sum;
} lat_samples;

/* Adds one sample; 0, or -1 when out of memory (the sample is dropped). */
static inline int lat_add(lat_samples *s, double ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1 << 16;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = ms;
    s->sum += ms;
    return 0;
}

/* Appends the samples (ms, one per line) to path, for pooling over
 * runs; 0, or -1 after perror when it cannot be opened. */
static inline int lat_save(const lat_samples *s, const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%.4f\n", s->v[i]);
    fclose(f);
    return 0;
}

/* Forgets the samples (keeps the room). */
static inline void lat_reset(lat_samples *s)
{
    s->n = 0;
    s->sum = 0;
}

static inline int lat_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the samples: call once before lat_pct / lat_max. */
static inline void lat_sort(lat_samples *s)
{
    qsort(s->v, s->n, sizeof *s->v, lat_cmp);
}

static inline double lat_pct(const lat_samples *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)s->n);
    return s->v[i ? i - 1 : 0];
}

static inline double lat_max(const lat_samples *s)
{
    return s->n ? s->v[s->n - 1] : 0;
}

static inline double lat_mean(const lat_samples *s)
{
    return s->n ? s->sum / (double)s->n : 0;
}

static inline void lat_free(lat_samples *s)
{
    free(s->v);
    *s = (lat_samples){0};
}

#endif
