/* metrics.h - what GET /metrics counts: requests per route and status, and
 * their latency, kept on the request path without a lock.
 *
 * One slot per row of the route table (router_table) and one more for the
 * requests that matched no route (404, 405, refusals before routing). Per
 * slot: a counter per status code (100..599; 0 for a request that ended
 * without a reply), and a latency histogram (METRICS_BUCKETS, seconds)
 * with its sum. metrics_request_done is three relaxed atomic additions;
 * readers may see a request's count before its latency, never a torn
 * value. The route handler (route_health.c) formats these with the other
 * gauges in the Prometheus text exposition format, 0.0.4.
 */
#ifndef IMGSECD_METRICS_H
#define IMGSECD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "imgsec/util.h"

struct route;

/* Upper bounds of the latency buckets, in seconds; +Inf is implied. */
#define METRICS_BUCKETS_SECONDS \
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
#define METRICS_STATUS_MAX 600 /* codes 100..599 counted each; others as 0 */

typedef struct metrics metrics;

/* Slots for every route of router_table; NULL when out of memory. */
metrics *metrics_new(void);
void metrics_free(metrics *m);

/* A request ended: r is its route (NULL: none matched), status what it
 * was answered (0: nothing), ns how long it took from its first byte to
 * the end of its reply. No lock, no allocation. */
void metrics_request_done(metrics *m, const struct route *r, unsigned status, int64_t ns);

/* Requests of route r (NULL: unmatched) answered status, so far. */
uint64_t metrics_requests(metrics *m, const struct route *r, unsigned status);

/* Appends the request counters and histograms in the text format (their
 * HELP and TYPE lines included) to out. */
void metrics_write_requests(metrics *m, util_buf *out);

/* Appends one metric with no labels: its HELP, TYPE (counter or gauge) and
 * value lines. */
void metrics_write_one(util_buf *out, const char *name, const char *type, const char *help,
                       double value);

#endif
