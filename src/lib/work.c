/* work.c - see work.h.
 *
 * Mechanism. One mutex guards the whole pool: per queue a FIFO of jobs
 * (head, tail), the places taken, the capacity (workers + queue), a
 * condition its workers wait on (wake) and one its producers and waiters
 * wait on (room: a place given back); a flag for the stop; the clock's
 * ticks and its condition. Jobs are few and cheap to hand over (a login,
 * an export task, a 256 KB chunk of postings: four lock round trips per
 * job), so one lock costs nothing measurable, and one stop flag read
 * under it makes "refused" and "accepted" exclusive.
 *
 * A worker of queue t loops: wait until t's FIFO has a job, or the pool
 * is stopping and t has no place taken; take the head (FIFO order), run
 * it (or cancel it, when stopping and it has a cancel function) unlocked
 * with the worker's own store connection, then give its place back
 * (waking the room waiters). A place reserved and not yet filled keeps
 * the workers of its queue alive while stopping, so the job submitted on
 * it is still settled; the last place given back while stopping wakes
 * them all to end. The lock taken to give the place back is what makes a
 * job's writes visible to work_wait's caller.
 *
 * The clock waits on a CLOCK_MONOTONIC condition until the earliest tick
 * is due (or the stop), runs every due tick unlocked, and schedules each
 * one interval after it was due (after now when it ran late: no bursts).
 */
#include "imgsec/work.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "imgsec/util.h"

typedef struct {
    work_pool *p;
    unsigned type;
    store *st;
    pthread_t thread;
    bool started;
} worker;

typedef struct {
    work_job *head, *tail;
    unsigned places;    /* reserved + waiting + running */
    unsigned waiting, running; /* jobs in the FIFO; jobs a worker runs (or cancels) */
    unsigned capacity;  /* workers + queue */
    pthread_cond_t wake; /* a job queued, or the last place given back while stopping */
    pthread_cond_t room; /* a place given back */
} queue;

typedef struct {
    int64_t every_ms;
    int64_t due_ns;     /* monotonic */
    void (*fn)(void *ctx, store *st);
    void *ctx;
} tick;

struct work_pool {
    pthread_mutex_t lock;
    bool stopping;
    bool stopped;       /* work_stop returned (owner's thread only) */
    unsigned n_queues;
    queue q[WORK_QUEUES_MAX];
    worker *workers;    /* every queue's, in queue order */
    unsigned nworkers;  /* set up (with a store connection when there is a database) */
    /* the clock */
    bool has_clock;
    pthread_cond_t tick_wake; /* CLOCK_MONOTONIC: a tick added, or the stop */
    tick ticks[WORK_TICKS_MAX];
    unsigned nticks;
    store *clock_st;
    pthread_t clock;
    bool clock_started;
};

/* A place of q given back (under the lock). */
static void place_back(work_pool *p, queue *q)
{
    q->places--;
    pthread_cond_broadcast(&q->room);
    if (p->stopping && q->places == 0)
        pthread_cond_broadcast(&q->wake);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    work_pool *p = w->p;
    queue *q = &p->q[w->type];
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!q->head && !(p->stopping && q->places == 0))
            pthread_cond_wait(&q->wake, &p->lock);
        if (!q->head)
            break;
        work_job *job = q->head;
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        q->waiting--;
        q->running++;
        bool cancel = p->stopping && job->cancel;
        pthread_mutex_unlock(&p->lock);
        if (cancel) /* the job belongs to its submitter's code from here on */
            job->cancel(job, w->st);
        else
            job->run(job, w->st);
        pthread_mutex_lock(&p->lock);
        q->running--;
        place_back(p, q);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void *clock_main(void *arg)
{
    work_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        int64_t now = util_mono_ns(), next = INT64_MAX;
        for (unsigned i = 0; i < p->nticks; i++)
            if (p->ticks[i].due_ns < next)
                next = p->ticks[i].due_ns;
        if (next > now) {
            if (next == INT64_MAX) {
                pthread_cond_wait(&p->tick_wake, &p->lock);
            } else {
                struct timespec ts = {.tv_sec = (time_t)(next / 1000000000LL),
                                      .tv_nsec = (long)(next % 1000000000LL)};
                pthread_cond_timedwait(&p->tick_wake, &p->lock, &ts);
            }
            continue; /* woken, timed out or spurious: look again */
        }
        for (unsigned i = 0; i < p->nticks && !p->stopping; i++) {
            tick *t = &p->ticks[i];
            if (t->due_ns > now)
                continue;
            tick run = *t;
            t->due_ns += t->every_ms * 1000000LL;
            pthread_mutex_unlock(&p->lock);
            run.fn(run.ctx, p->clock_st);
            int64_t after = util_mono_ns();
            pthread_mutex_lock(&p->lock);
            if (t->due_ns <= after) /* ran late: the next one an interval from now */
                t->due_ns = after + t->every_ms * 1000000LL;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int work_start(const work_opts *o, work_pool **out, imgsec_err *err)
{
    *out = NULL;
    if (o->n_queues < 1 || o->n_queues > WORK_QUEUES_MAX)
        return err_set(err, IMGSEC_EINVAL, "work: %u queues (1 to %d)", o->n_queues,
                       WORK_QUEUES_MAX);
    unsigned total = 0;
    for (unsigned t = 0; t < o->n_queues; t++) {
        if (o->queues[t].workers == 0 && o->queues[t].queue > 0)
            return err_set(err, IMGSEC_EINVAL, "work: queue %u has places but no worker", t);
        total += o->queues[t].workers;
    }

    work_pool *p = calloc(1, sizeof *p);
    if (!p || (total && !(p->workers = calloc(total, sizeof *p->workers)))) {
        free(p);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->tick_wake, &ca);
    pthread_condattr_destroy(&ca);
    p->n_queues = o->n_queues;
    for (unsigned t = 0; t < p->n_queues; t++) {
        p->q[t].capacity = o->queues[t].workers + o->queues[t].queue;
        pthread_cond_init(&p->q[t].wake, NULL);
        pthread_cond_init(&p->q[t].room, NULL);
    }
    p->has_clock = o->clock;
    int rc = IMGSEC_OK;
    if (o->db_path && o->clock)
        rc = store_open(o->db_path, &p->clock_st, err);
    for (unsigned t = 0; t < p->n_queues && rc == IMGSEC_OK; t++) {
        for (unsigned i = 0; i < o->queues[t].workers && rc == IMGSEC_OK; i++) {
            worker *w = &p->workers[p->nworkers];
            *w = (worker){.p = p, .type = t};
            if (o->db_path)
                rc = store_open(o->db_path, &w->st, err);
            if (rc == IMGSEC_OK)
                p->nworkers++;
        }
    }
    for (unsigned i = 0; i < p->nworkers && rc == IMGSEC_OK; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the background threads");
        else
            p->workers[i].started = true;
    }
    if (rc == IMGSEC_OK && o->clock) {
        p->clock_started = pthread_create(&p->clock, NULL, clock_main, p) == 0;
        if (!p->clock_started)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the background clock");
    }
    if (rc != IMGSEC_OK) {
        work_stop(p);
        work_free(p);
        return rc;
    }
    *out = p;
    return IMGSEC_OK;
}

bool work_reserve(work_pool *p, unsigned t)
{
    pthread_mutex_lock(&p->lock);
    queue *q = &p->q[t];
    bool ok = !p->stopping && q->places < q->capacity;
    if (ok)
        q->places++;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

bool work_reserve_wait(work_pool *p, unsigned t)
{
    pthread_mutex_lock(&p->lock);
    queue *q = &p->q[t];
    while (!p->stopping && q->capacity > 0 && q->places >= q->capacity)
        pthread_cond_wait(&q->room, &p->lock);
    bool ok = !p->stopping && q->places < q->capacity;
    if (ok)
        q->places++;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void work_unreserve(work_pool *p, unsigned t)
{
    pthread_mutex_lock(&p->lock);
    place_back(p, &p->q[t]);
    pthread_mutex_unlock(&p->lock);
}

void work_submit(work_pool *p, work_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->lock);
    queue *q = &p->q[job->type];
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->waiting++;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&p->lock);
}

void work_wait(work_pool *p, unsigned t)
{
    pthread_mutex_lock(&p->lock);
    queue *q = &p->q[t];
    while (q->places > 0)
        pthread_cond_wait(&q->room, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

unsigned work_places(work_pool *p, unsigned t)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->q[t].places;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void work_stats(work_pool *p, work_queue_stats *out)
{
    pthread_mutex_lock(&p->lock);
    for (unsigned t = 0; t < p->n_queues; t++)
        out[t] = (work_queue_stats){.waiting = p->q[t].waiting,
                                    .running = p->q[t].running,
                                    .places = p->q[t].places,
                                    .capacity = p->q[t].capacity};
    pthread_mutex_unlock(&p->lock);
}

bool work_stopping(work_pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool s = p->stopping;
    pthread_mutex_unlock(&p->lock);
    return s;
}

int work_every(work_pool *p, int64_t every_ms, void (*fn)(void *ctx, store *st), void *ctx,
               imgsec_err *err)
{
    pthread_mutex_lock(&p->lock);
    if (!p->has_clock || p->nticks == WORK_TICKS_MAX) {
        pthread_mutex_unlock(&p->lock);
        return err_set(err, IMGSEC_EINTERNAL, "too many periodic background tasks");
    }
    if (every_ms < 1)
        every_ms = 1;
    if (every_ms > WORK_EVERY_MAX_MS)
        every_ms = WORK_EVERY_MAX_MS; /* so every_ms * 1e6 ns never overflows */
    p->ticks[p->nticks++] = (tick){
        .every_ms = every_ms,
        .due_ns = util_mono_ns() + every_ms * 1000000LL,
        .fn = fn,
        .ctx = ctx,
    };
    pthread_cond_signal(&p->tick_wake);
    pthread_mutex_unlock(&p->lock);
    return IMGSEC_OK;
}

void work_stop(work_pool *p)
{
    if (!p || p->stopped)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    for (unsigned t = 0; t < p->n_queues; t++) {
        pthread_cond_broadcast(&p->q[t].wake);
        pthread_cond_broadcast(&p->q[t].room); /* work_reserve_wait says false */
    }
    pthread_cond_broadcast(&p->tick_wake);
    pthread_mutex_unlock(&p->lock);
    if (p->clock_started)
        pthread_join(p->clock, NULL);
    for (unsigned i = 0; i < p->nworkers; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
    p->stopped = true;
}

void work_free(work_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nworkers; i++)
        store_close(p->workers[i].st);
    store_close(p->clock_st);
    for (unsigned t = 0; t < p->n_queues; t++) {
        pthread_cond_destroy(&p->q[t].wake);
        pthread_cond_destroy(&p->q[t].room);
    }
    pthread_cond_destroy(&p->tick_wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}
