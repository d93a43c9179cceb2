/* index_scan.c - a pass over every row, split across the cores (see
 * index_internal.h, "index_scan.c").
 *
 * A count whose ranges leave every image a candidate reads whole columns
 * (index_query.c ranges_sum): at 1.1M images about 13 MB, 0.4 ms on one
 * core. The rows are cut into chunks of SCAN_CHUNK; the caller and the
 * helpers of a pool (work.h: one queue, a worker per other core, started
 * by the first scan large enough to split) take chunks from one counter
 * until none is left, each summing its own. A helper is a job; the
 * caller never waits for one to start:
 *
 *   - A job is WAITING until its worker takes it, RUNNING while it takes
 *     chunks, DONE when it has added its sum; the caller, once no chunk
 *     is left, moves each WAITING job to GONE (compare and swap) and
 *     waits only for the RUNNING ones, which are each in their last
 *     chunk. A GONE job, when its worker gets to it, touches nothing but
 *     itself: the caller's context (its stack) may be gone by then.
 *   - A job is freed by the last of its two holders (refs: the caller and
 *     the pool); the pool's cancel at stop drops its hold like a GONE run.
 *   - No place free in the queue (helpers busy with other scans): the
 *     caller takes every chunk itself. The sum is the same either way:
 *     chunks are disjoint and sums of unsigned counts are exact in any
 *     order.
 */
#include "index_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "imgsec/work.h"

#define SCAN_CHUNK 65536u /* rows: about 25 us of a range pass at 1.1M rows */
#define SCAN_HELPERS_MAX 7

enum { JOB_WAITING, JOB_RUNNING, JOB_DONE, JOB_GONE };

/* The caller's side of one scan: on its stack. */
typedef struct {
    uint32_t n;
    _Atomic uint32_t next; /* the next chunk to take */
    scan_fn *fn;
    const void *arg;
} scan_ctx;

typedef struct {
    work_job job; /* first: the pool sees this */
    _Atomic int state;
    _Atomic int refs;
    scan_ctx *ctx; /* read only while RUNNING */
    uint64_t sum;  /* written before DONE */
} scan_job;

struct ix_scan {
    pthread_mutex_t lock; /* over starting the pool */
    work_pool *pool;      /* NULL until the first large scan */
    bool failed;          /* the pool could not be started: scans stay serial */
    unsigned helpers;
};

ix_scan *scan_new(void)
{
    ix_scan *s = calloc(1, sizeof *s);
    if (s && pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void scan_free(ix_scan *s)
{
    if (!s)
        return;
    if (s->pool) {
        work_stop(s->pool);
        work_free(s->pool);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void job_drop(scan_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1)
        free(j);
}

/* Chunks from ctx until none is left: their sum. */
static uint64_t take_chunks(scan_ctx *c)
{
    uint64_t sum = 0;
    uint32_t chunks = (c->n + SCAN_CHUNK - 1) / SCAN_CHUNK;
    for (;;) {
        uint32_t k = atomic_fetch_add(&c->next, 1);
        if (k >= chunks)
            return sum;
        uint32_t from = k * SCAN_CHUNK;
        sum += c->fn(c->arg, from, c->n - from < SCAN_CHUNK ? c->n : from + SCAN_CHUNK);
    }
}

static void job_run(work_job *job, store *st)
{
    (void)st;
    scan_job *j = (scan_job *)job;
    int waiting = JOB_WAITING;
    if (atomic_compare_exchange_strong(&j->state, &waiting, JOB_RUNNING)) {
        j->sum = take_chunks(j->ctx);
        atomic_store(&j->state, JOB_DONE); /* after sum: the caller reads it */
    }
    job_drop(j);
}

static void job_cancel(work_job *job, store *st)
{
    (void)st;
    job_drop((scan_job *)job);
}

/* The pool, started by the first caller that needs it; NULL when it
 * cannot be (then every scan is serial). */
static work_pool *scan_pool(ix_scan *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->pool && !s->failed) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        s->helpers = cores > 1 ? (unsigned)(cores - 1) : 0;
        if (s->helpers > SCAN_HELPERS_MAX)
            s->helpers = SCAN_HELPERS_MAX;
        /* a waiting place per helper and another scan's worth */
        work_queue_spec q = {.workers = s->helpers, .queue = s->helpers};
        s->failed = s->helpers == 0 ||
                    work_start(&(work_opts){.queues = &q, .n_queues = 1}, &s->pool, NULL) !=
                        IMGSEC_OK;
    }
    work_pool *p = s->pool;
    pthread_mutex_unlock(&s->lock);
    return p;
}

uint64_t scan_sum(ix_scan *s, uint32_t n, scan_fn *fn, const void *arg)
{
    work_pool *pool = s && n >= 2 * SCAN_CHUNK ? scan_pool(s) : NULL;
    if (!pool)
        return fn(arg, 0, n);
    scan_ctx c = {.n = n, .fn = fn, .arg = arg};
    atomic_init(&c.next, 0);
    scan_job *jobs[SCAN_HELPERS_MAX];
    unsigned n_jobs = 0;
    for (unsigned i = 0; i < s->helpers && work_reserve(pool, 0); i++) {
        scan_job *j = calloc(1, sizeof *j);
        if (!j) {
            work_unreserve(pool, 0);
            break;
        }
        j->job = (work_job){.type = 0, .run = job_run, .cancel = job_cancel};
        atomic_init(&j->state, JOB_WAITING);
        atomic_init(&j->refs, 2);
        j->ctx = &c;
        jobs[n_jobs++] = j;
        work_submit(pool, &j->job);
    }
    uint64_t sum = take_chunks(&c);
    for (unsigned i = 0; i < n_jobs; i++) {
        int state = JOB_WAITING;
        if (!atomic_compare_exchange_strong(&jobs[i]->state, &state, JOB_GONE)) {
            while ((state = atomic_load(&jobs[i]->state)) != JOB_DONE)
                sched_yield(); /* in its last chunk */
            sum += jobs[i]->sum;
        }
        job_drop(jobs[i]);
    }
    return sum;
}
