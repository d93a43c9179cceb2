/* bench/pg_latency.c - PostgreSQL, the server peer of bench/peers.sh, through
 * its own client library (libpq), one connection over the unix socket.
 *
 *   pg_latency CONNINFO SQLFILE SECONDS [SAMPLES_FILE]
 *
 * Prepares the one statement of SQLFILE (a count) once, then executes it
 * back to back until SECONDS have passed (at least once), timing each
 * PQexecPrepared with CLOCK_MONOTONIC: the round trip over the socket,
 * execution and the result's transfer are in, planning is not (a prepared
 * statement; PostgreSQL may still re-plan a custom plan per execution, as
 * it chooses for any client). Each sample (ms) is appended to SAMPLES_FILE;
 * prints bench/latency.c's RESULT line, plus count=C (the value read).
 * SECONDS 0 runs once: the count check.
 * Build: cc -O2 -o pg_latency bench/pg_latency.c -I$(pg_config --includedir) -lpq -lm
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_stats.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        /* a prepared statement is one statement: drop the trailing ';' */
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == ';'))
            buf[--len] = '\0';
    }
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: pg_latency CONNINFO SQLFILE SECONDS [SAMPLES_FILE]\n");
        return 2;
    }
    double seconds = atof(argv[3]);
    char *sql = slurp(argv[2]);
    if (!sql) {
        perror(argv[2]);
        return 2;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_latency: %s", PQerrorMessage(c));
        return 1;
    }
    PGresult *r = PQprepare(c, "q", sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pg_latency: prepare %s: %s", argv[2], PQerrorMessage(c));
        return 1;
    }
    PQclear(r);
    lat_samples lat = {0};
    char count[64] = "";
    size_t errors = 0;
    double t0 = lat_now_s(), t = t0;
    while (lat.n == 0 || t - t0 < seconds) {
        double a = lat_now_s();
        r = PQexecPrepared(c, "q", 0, NULL, NULL, NULL, 0);
        t = lat_now_s();
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            fprintf(stderr, "pg_latency: %s: %s", argv[2], PQerrorMessage(c));
            PQclear(r);
            if (++errors > 3)
                return 1;
            continue;
        }
        snprintf(count, sizeof count, "%s", PQgetisnull(r, 0, 0) ? "0" : PQgetvalue(r, 0, 0));
        PQclear(r);
        lat_add(&lat, (t - a) * 1e3);
    }
    if (argc > 4 && lat_save(&lat, argv[4]) != 0)
        return 2;
    double dur = t - t0;
    lat_sort(&lat);
    printf("RESULT requests=%zu seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
           "p999_ms=%.3f max_ms=%.3f mean_ms=%.3f errors=%zu non2xx=0 count=%s\n",
           lat.n, dur, (double)lat.n / (dur > 0 ? dur : 1), lat_pct(&lat, 50), lat_pct(&lat, 90),
           lat_pct(&lat, 99), lat_pct(&lat, 99.9), lat_max(&lat), lat_mean(&lat), errors, count);
    lat_free(&lat);
    PQfinish(c);
    free(sql);
    return 0;
}
