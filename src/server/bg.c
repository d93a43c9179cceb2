/* bg.c - see bg.h.
 *
 * Mechanism. One mutex guards the whole pool: per type a FIFO of jobs
 * (head, tail), the places taken, the capacity (workers + queue) and a
 * condition its workers wait on; a flag for the stop; the clock's ticks
 * and its condition. Jobs are rare and short to hand over (a login, an
 * export task, a rematch), so one lock costs nothing measurable, and one
 * stop flag read under it makes "refused" and "accepted" exclusive.
 *
 * A worker of type t loops: wait until t's FIFO has a job, or the pool
 * is stopping and t has no place taken; take the head (FIFO order), run
 * it (or cancel it, when stopping and it has a cancel function) unlocked
 * with the worker's own store connection, then give its place back. A
 * place reserved and not yet filled keeps the workers of its type alive
 * while stopping, so the job submitted on it is still settled; the last
 * place given back while stopping wakes them all to end.
 *
 * The clock waits on a CLOCK_MONOTONIC condition until the earliest tick
 * is due (or the stop), runs every due tick unlocked, and schedules each
 * one interval after it was due (after now when it ran late: no bursts).
 */
#include "bg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "imgsec/util.h"

#define LOGIN_TEST_WORKERS_MAX 16
#define LOGIN_TEST_QUEUE_MAX 4096

typedef struct bg_worker {
    struct bg *b;
    bg_type type;
    store *st;
    pthread_t thread;
    bool started;
} bg_worker;

typedef struct {
    bg_job *head, *tail;
    unsigned places;    /* reserved + waiting + running */
    unsigned capacity;  /* workers + queue */
    pthread_cond_t wake; /* a job queued, or the last place given back while stopping */
} bg_queue;

typedef struct {
    int64_t every_ms;
    int64_t due_ns;     /* monotonic */
    void (*fn)(void *ctx, store *st);
    void *ctx;
} bg_tick;

struct bg {
    pthread_mutex_t lock;
    bool stopping;
    bool stopped;       /* bg_stop returned (main thread only) */
    bg_queue q[BG_TYPES];
    bg_worker *workers; /* every type's, in type order */
    unsigned nworkers;  /* with a store connection */
    /* the clock */
    pthread_cond_t tick_wake; /* CLOCK_MONOTONIC: a tick added, or the stop */
    bg_tick ticks[BG_TICKS_MAX];
    unsigned nticks;
    store *clock_st;
    pthread_t clock;
    bool clock_started;
};

static void *worker_main(void *arg)
{
    bg_worker *w = arg;
    bg *b = w->b;
    bg_queue *q = &b->q[w->type];
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!q->head && !(b->stopping && q->places == 0))
            pthread_cond_wait(&q->wake, &b->lock);
        if (!q->head)
            break;
        bg_job *job = q->head;
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        bool cancel = b->stopping && job->cancel;
        pthread_mutex_unlock(&b->lock);
        if (cancel) /* the job belongs to its submitter's code from here on */
            job->cancel(job, w->st);
        else
            job->run(job, w->st);
        pthread_mutex_lock(&b->lock);
        q->places--;
        if (b->stopping && q->places == 0)
            pthread_cond_broadcast(&q->wake);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static void mono_deadline(struct timespec *ts, int64_t ns)
{
    ts->tv_sec = (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void *clock_main(void *arg)
{
    bg *b = arg;
    pthread_mutex_lock(&b->lock);
    while (!b->stopping) {
        int64_t now = util_mono_ns(), next = INT64_MAX;
        for (unsigned i = 0; i < b->nticks; i++)
            if (b->ticks[i].due_ns < next)
                next = b->ticks[i].due_ns;
        if (next > now) {
            if (next == INT64_MAX) {
                pthread_cond_wait(&b->tick_wake, &b->lock);
            } else {
                struct timespec ts;
                mono_deadline(&ts, next);
                pthread_cond_timedwait(&b->tick_wake, &b->lock, &ts);
            }
            continue; /* woken, timed out or spurious: look again */
        }
        for (unsigned i = 0; i < b->nticks && !b->stopping; i++) {
            bg_tick *t = &b->ticks[i];
            if (t->due_ns > now)
                continue;
            bg_tick run = *t;
            t->due_ns += t->every_ms * 1000000LL;
            pthread_mutex_unlock(&b->lock);
            run.fn(run.ctx, b->clock_st);
            int64_t after = util_mono_ns();
            pthread_mutex_lock(&b->lock);
            if (t->due_ns <= after) /* ran late: the next one an interval from now */
                t->due_ns = after + t->every_ms * 1000000LL;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* A test knob from the environment within [min, max], or fallback. */
static unsigned env_knob(const char *name, int64_t min, int64_t max, unsigned fallback)
{
    const char *s = getenv(name);
    int64_t v;
    if (!s || !*s || !util_parse_int64(s, &v) || v < min || v > max)
        return fallback;
    return (unsigned)v;
}

int bg_start(const config *cfg, bg **out, imgsec_err *err)
{
    *out = NULL;
    unsigned workers[BG_TYPES], queue[BG_TYPES];
    workers[BG_LOGIN] = env_knob("IMGSEC_LOGIN_TEST_WORKERS", 1, LOGIN_TEST_WORKERS_MAX,
                                 BG_LOGIN_WORKERS);
    queue[BG_LOGIN] = env_knob("IMGSEC_LOGIN_TEST_QUEUE", 0, LOGIN_TEST_QUEUE_MAX, BG_LOGIN_QUEUE);
    workers[BG_EXPORT] = cfg->export_workers;
    queue[BG_EXPORT] = cfg->export_queue;
    workers[BG_MAINT] = BG_MAINT_WORKERS;
    queue[BG_MAINT] = BG_MAINT_QUEUE;
    workers[BG_SCAN] = cfg->scan_workers;
    queue[BG_SCAN] = 0;
    unsigned total = 0;
    for (int t = 0; t < BG_TYPES; t++)
        total += workers[t];

    bg *b = calloc(1, sizeof *b);
    if (!b || !(b->workers = calloc(total, sizeof *b->workers))) {
        free(b);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->tick_wake, &ca);
    pthread_condattr_destroy(&ca);
    for (int t = 0; t < BG_TYPES; t++) {
        b->q[t].capacity = workers[t] + queue[t];
        pthread_cond_init(&b->q[t].wake, NULL);
    }
    int rc = store_open(cfg->db_path, &b->clock_st, err);
    for (int t = 0; t < BG_TYPES && rc == IMGSEC_OK; t++) {
        for (unsigned i = 0; i < workers[t] && rc == IMGSEC_OK; i++) {
            bg_worker *w = &b->workers[b->nworkers];
            *w = (bg_worker){.b = b, .type = (bg_type)t};
            rc = store_open(cfg->db_path, &w->st, err);
            if (rc == IMGSEC_OK)
                b->nworkers++;
        }
    }
    for (unsigned i = 0; i < b->nworkers && rc == IMGSEC_OK; i++) {
        if (pthread_create(&b->workers[i].thread, NULL, worker_main, &b->workers[i]) != 0)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the background threads");
        else
            b->workers[i].started = true;
    }
    if (rc == IMGSEC_OK) {
        b->clock_started = pthread_create(&b->clock, NULL, clock_main, b) == 0;
        if (!b->clock_started)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the background clock");
    }
    if (rc != IMGSEC_OK) {
        bg_stop(b);
        bg_free(b);
        return rc;
    }
    *out = b;
    return IMGSEC_OK;
}

bool bg_reserve(bg *b, bg_type t)
{
    pthread_mutex_lock(&b->lock);
    bg_queue *q = &b->q[t];
    bool ok = !b->stopping && q->places < q->capacity;
    if (ok)
        q->places++;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void bg_unreserve(bg *b, bg_type t)
{
    pthread_mutex_lock(&b->lock);
    bg_queue *q = &b->q[t];
    q->places--;
    if (b->stopping && q->places == 0)
        pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&b->lock);
}

void bg_submit(bg *b, bg_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&b->lock);
    bg_queue *q = &b->q[job->type];
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&b->lock);
}

unsigned bg_places(bg *b, bg_type t)
{
    pthread_mutex_lock(&b->lock);
    unsigned n = b->q[t].places;
    pthread_mutex_unlock(&b->lock);
    return n;
}

bool bg_stopping(bg *b)
{
    pthread_mutex_lock(&b->lock);
    bool s = b->stopping;
    pthread_mutex_unlock(&b->lock);
    return s;
}

int bg_every(bg *b, int64_t every_ms, void (*fn)(void *ctx, store *st), void *ctx,
             imgsec_err *err)
{
    pthread_mutex_lock(&b->lock);
    if (b->nticks == BG_TICKS_MAX) {
        pthread_mutex_unlock(&b->lock);
        return err_set(err, IMGSEC_EINTERNAL, "too many periodic background tasks");
    }
    if (every_ms < 1)
        every_ms = 1;
    if (every_ms > BG_EVERY_MAX_MS)
        every_ms = BG_EVERY_MAX_MS; /* so every_ms * 1e6 ns never overflows */
    b->ticks[b->nticks++] = (bg_tick){
        .every_ms = every_ms,
        .due_ns = util_mono_ns() + every_ms * 1000000LL,
        .fn = fn,
        .ctx = ctx,
    };
    pthread_cond_signal(&b->tick_wake);
    pthread_mutex_unlock(&b->lock);
    return IMGSEC_OK;
}

void bg_stop(bg *b)
{
    if (!b || b->stopped)
        return;
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    for (int t = 0; t < BG_TYPES; t++)
        pthread_cond_broadcast(&b->q[t].wake);
    pthread_cond_broadcast(&b->tick_wake);
    pthread_mutex_unlock(&b->lock);
    if (b->clock_started)
        pthread_join(b->clock, NULL);
    for (unsigned i = 0; i < b->nworkers; i++)
        if (b->workers[i].started)
            pthread_join(b->workers[i].thread, NULL);
    b->stopped = true;
}

void bg_free(bg *b)
{
    if (!b)
        return;
    for (unsigned i = 0; i < b->nworkers; i++)
        store_close(b->workers[i].st);
    store_close(b->clock_st);
    for (int t = 0; t < BG_TYPES; t++)
        pthread_cond_destroy(&b->q[t].wake);
    pthread_cond_destroy(&b->tick_wake);
    pthread_mutex_destroy(&b->lock);
    free(b->workers);
    free(b);
}
