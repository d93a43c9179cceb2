/* work.h - a pool of worker threads for background work: one job struct,
 * typed queues, a fixed set of workers per queue, a clock.
 *
 * Every piece of work a process does off its own thread goes through one
 * of these (docs/design.md "Background work"): imgsecd's logins, exports,
 * rematches and scan tasks (src/server/bg.h, whose queues these are), a
 * full index rebuild's vulnerability postings (src/lib/index/
 * index_bulk.c) and a range count's pass over every row (index_scan.c).
 * A job is a work_job with a type (its queue) and a run function, handed
 * to the pool; the pool runs it on a worker of its queue.
 *
 * Queues. work_start is given the queues: per queue a number of workers
 * and of waiting places. Each queue has its own worker threads, FIFO and
 * bound, so a slow kind of work never delays another. A queue's jobs are
 * started in the order they were submitted; with one worker they also run
 * one at a time in that order (each ends before the next begins).
 *
 * Places. A queue of workers w and queue n has w + n places: a job holds
 * one from work_reserve until it has been run or cancelled (waiting, then
 * running). work_reserve says false when they are all taken or the pool is
 * stopping; the caller then refuses the work without doing any of it.
 * work_reserve_wait waits for a place instead (back-pressure for a
 * producer that must not refuse). A place is reserved first and filled
 * (work_submit) or given back (work_unreserve) after, so that a caller can
 * prepare the work only once it knows the job will be taken.
 *
 * Store connections. With a database (work_opts.db_path), every worker and
 * the clock open a store connection of their own at start, and each job
 * and tick is given its worker's: a job never waits for someone else's
 * connection. Without one, jobs and ticks are given NULL.
 *
 * Stop (work_stop). New places are refused at once; every place already
 * taken is settled before the workers end: a job not yet started is run
 * when it has no cancel function and cancelled otherwise; a running job
 * sees work_stopping and ends at its next step if it is long. A place
 * reserved and not yet filled is waited for. Then the clock and the
 * workers are joined.
 *
 * The clock (work_opts.clock). work_every runs short periodic work on one
 * thread of the pool. A tick must be short (the ticks share the thread):
 * long work is submitted as a job from a tick.
 *
 * Threads. Every function but work_start, work_stop and work_free may be
 * called from any thread, jobs and ticks included (a job must not wait
 * for its own queue: work_wait and work_reserve_wait from a job of the
 * same queue can wait forever). work_stop and work_free are called once,
 * by the pool's owner, not from a job or a tick.
 */
#ifndef IMGSEC_WORK_H
#define IMGSEC_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/store.h"

#define WORK_QUEUES_MAX 8   /* queues per pool */
#define WORK_TICKS_MAX 8    /* work_every registrations per pool */
#define WORK_EVERY_MAX_MS (366LL * 24 * 3600 * 1000) /* longer intervals are taken as a year */

typedef struct work_pool work_pool;

/* One job. The submitter fills type, run and cancel, usually as the first
 * member of a struct of its own; next is the pool's. run is called on a
 * worker of queue type with that worker's store connection (NULL without
 * a database); cancel (NULL: such a job is run even at stop) instead of
 * run for a job that had not started when the pool stopped. Either must
 * settle and free the job: the pool does not touch it once it has called
 * one of them. */
typedef struct work_job {
    unsigned type;
    void (*run)(struct work_job *job, store *st);
    void (*cancel)(struct work_job *job, store *st);
    struct work_job *next;
} work_job;

/* One queue: its worker threads and its waiting places beyond them. A
 * queue with no worker must have no waiting place either (it never runs
 * anything: every reserve is refused). */
typedef struct {
    unsigned workers, queue;
} work_queue_spec;

typedef struct {
    const work_queue_spec *queues; /* queues[t] is queue t */
    unsigned n_queues;             /* 1 .. WORK_QUEUES_MAX */
    const char *db_path;           /* NULL: no store connections */
    bool clock;                    /* a clock thread for work_every */
} work_opts;

/* Opens the store connections and starts the threads. IMGSEC_EINVAL for
 * queues out of bounds; the store's error for a connection that cannot
 * be opened; IMGSEC_EINTERNAL when out of memory or threads. Nothing is
 * left running on failure. */
int work_start(const work_opts *o, work_pool **out, imgsec_err *err);

/* Takes a place of queue t; false when all are taken or the pool is
 * stopping: the caller refuses the work. */
bool work_reserve(work_pool *p, unsigned t);
/* Takes a place of queue t, waiting until one is given back when all are
 * taken; false only when the pool is stopping. */
bool work_reserve_wait(work_pool *p, unsigned t);
/* Gives a reserved place back unfilled (the job was not made after all). */
void work_unreserve(work_pool *p, unsigned t);
/* Queues job on a place of job->type taken with work_reserve(_wait); the
 * job is the pool's from here on (see work_job). */
void work_submit(work_pool *p, work_job *job);
/* Waits until queue t has no place taken: every job submitted on it has
 * been run or cancelled, and whatever they wrote is visible to the
 * caller. Places reserved meanwhile (by other threads) are waited for too. */
void work_wait(work_pool *p, unsigned t);

/* Places of queue t taken now (reserved, waiting or running). */
unsigned work_places(work_pool *p, unsigned t);
/* A queue as it is now, for monitoring: jobs submitted and not yet
 * started, jobs running, places taken (those two plus places reserved and
 * not yet filled), and workers + queue. */
typedef struct {
    unsigned waiting, running, places, capacity;
} work_queue_stats;
/* Every queue's (out[0 .. n_queues)), read at one instant. */
void work_stats(work_pool *p, work_queue_stats *out);

/* True once work_stop began: long jobs end at their next step. */
bool work_stopping(work_pool *p);

/* Runs fn(ctx, st) on the clock every every_ms (clamped to 1 ..
 * WORK_EVERY_MAX_MS), the first time every_ms from now, until work_stop;
 * st is the clock's store connection (NULL without a database). ctx must
 * stay valid until work_stop has returned. IMGSEC_EINTERNAL when
 * WORK_TICKS_MAX are registered already or the pool has no clock. */
int work_every(work_pool *p, int64_t every_ms, void (*fn)(void *ctx, store *st), void *ctx,
               imgsec_err *err);

/* Stops as the header says and joins every thread; a second call does
 * nothing. The pool stays valid (work_reserve says false) until
 * work_free, which closes the connections. NULL is fine for both. */
void work_stop(work_pool *p);
void work_free(work_pool *p);

#endif
