/* bench/proc_stats.h - what this process has cost so far, for the engine-
 * alone benches (bench/index_bench.c, bench/substr_bench.c,
 * bench/index_mem.c): a /proc/self/status field in MB and the process's CPU
 * time. Header only: each bench is one `cc` command.
 */
#ifndef BENCH_PROC_STATS_H
#define BENCH_PROC_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The field key of /proc/self/status ("VmRSS", "VmHWM") in MB; -1 when
 * it cannot be read. */
static inline long proc_status_mb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            kb = atol(line + n + 1);
            break;
        }
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

/* CPU time of the process (every thread), in ns. */
static inline int64_t proc_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
