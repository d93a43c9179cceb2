/* metrics.c - see metrics.h.
 *
 * Mechanism. One array of slots, allocated at start for the route table's
 * length plus one; a request's slot is its route's offset in the table.
 * Every cell is an atomic 64-bit counter updated with relaxed order: the
 * counts need no ordering with anything else, and a scrape that races a
 * request sees it in some counters and not yet in others, which the next
 * scrape settles. A histogram is written per bucket (not cumulative) and
 * summed at scrape, and its _count is that sum, so the +Inf bucket and
 * _count always agree within one scrape.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "router.h"

static const double BOUNDS[] = {METRICS_BUCKETS_SECONDS};
#define NBOUNDS (sizeof BOUNDS / sizeof BOUNDS[0])

typedef struct {
    atomic_uint_fast64_t status[METRICS_STATUS_MAX];
    atomic_uint_fast64_t bucket[NBOUNDS + 1]; /* the last: above every bound */
    atomic_uint_fast64_t sum_ns;
} slot;

struct metrics {
    const route *table;
    size_t nroutes;
    slot *slots; /* nroutes + 1: the last for requests no route matched */
};

metrics *metrics_new(void)
{
    metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->table = router_table(&m->nroutes);
    /* calloc's zero bytes are valid zero atomics on every target we build for */
    if (!(m->slots = calloc(m->nroutes + 1, sizeof *m->slots))) {
        free(m);
        return NULL;
    }
    return m;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static slot *slot_of(metrics *m, const route *r)
{
    if (r && r >= m->table && r < m->table + m->nroutes)
        return &m->slots[r - m->table];
    return &m->slots[m->nroutes];
}

void metrics_request_done(metrics *m, const route *r, unsigned status, int64_t ns)
{
    if (!m)
        return;
    slot *s = slot_of(m, r);
    if (status >= METRICS_STATUS_MAX)
        status = 0;
    if (ns < 0)
        ns = 0;
    double secs = (double)ns / 1e9;
    size_t b = 0;
    while (b < NBOUNDS && secs > BOUNDS[b])
        b++;
    atomic_fetch_add_explicit(&s->status[status], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_ns, (uint_fast64_t)ns, memory_order_relaxed);
}

uint64_t metrics_requests(metrics *m, const route *r, unsigned status)
{
    if (status >= METRICS_STATUS_MAX)
        return 0;
    return atomic_load_explicit(&slot_of(m, r)->status[status], memory_order_relaxed);
}

/* The labels of slot i: the route's method and pattern (the table's own
 * text: no quote, backslash or newline in it), or empty for no route. */
static void labels(metrics *m, size_t i, const char **method, const char **pattern)
{
    if (i < m->nroutes) {
        *method = m->table[i].method;
        *pattern = m->table[i].pattern;
    } else {
        *method = "";
        *pattern = "";
    }
}

void metrics_write_requests(metrics *m, util_buf *out)
{
    util_buf_printf(out, "# HELP imgsec_http_requests_total Requests answered, by route "
                         "(method and pattern; empty: none matched) and status code "
                         "(0: ended without a reply).\n"
                         "# TYPE imgsec_http_requests_total counter\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        const char *method, *pattern;
        labels(m, i, &method, &pattern);
        for (unsigned c = 0; c < METRICS_STATUS_MAX; c++) {
            uint64_t n = atomic_load_explicit(&m->slots[i].status[c], memory_order_relaxed);
            if (n)
                util_buf_printf(out,
                                "imgsec_http_requests_total{method=\"%s\",route=\"%s\","
                                "code=\"%u\"} %llu\n",
                                method, pattern, c, (unsigned long long)n);
        }
    }
    util_buf_printf(out, "# HELP imgsec_http_request_duration_seconds Time from a request's "
                         "first byte to the end of its reply, by route.\n"
                         "# TYPE imgsec_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        const char *method, *pattern;
        labels(m, i, &method, &pattern);
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBOUNDS; b++) {
            cum += atomic_load_explicit(&m->slots[i].bucket[b], memory_order_relaxed);
            if (b < NBOUNDS)
                util_buf_printf(out,
                                "imgsec_http_request_duration_seconds_bucket{method=\"%s\","
                                "route=\"%s\",le=\"%g\"} %llu\n",
                                method, pattern, BOUNDS[b], (unsigned long long)cum);
            else
                util_buf_printf(out,
                                "imgsec_http_request_duration_seconds_bucket{method=\"%s\","
                                "route=\"%s\",le=\"+Inf\"} %llu\n",
                                method, pattern, (unsigned long long)cum);
        }
        uint64_t sum_ns = atomic_load_explicit(&m->slots[i].sum_ns, memory_order_relaxed);
        util_buf_printf(out,
                        "imgsec_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
                        "%.9f\n"
                        "imgsec_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
                        "%llu\n",
                        method, pattern, (double)sum_ns / 1e9, method, pattern,
                        (unsigned long long)cum);
    }
}

void metrics_write_one(util_buf *out, const char *name, const char *type, const char *help,
                       double value)
{
    util_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                    value);
}
