/* test_work.c - the library's pool of worker threads (src/lib/work.c),
 * against the contract in imgsec/work.h, without a database (the store
 * connections, the clock's timing and imgsecd's queues are test_bg.c's).
 *
 * What is checked: work_start refuses no queue, too many queues and a
 * queue with places but no worker (IMGSEC_EINVAL, nothing started); every
 * job of every queue is run exactly once, with a NULL store; the queues
 * are independent (a queue whose one worker is held does not hold another
 * queue's job); a one-worker queue runs 200 jobs one at a time in the
 * order submitted; a queue has exactly workers + queue places (the next
 * work_reserve says false) and a place given back (run or unreserved) can
 * be taken again; work_reserve_wait waits for a place to be given back and
 * says false when the pool stops while it waits; work_wait returns only
 * once every job of its queue has run, and sees what they wrote; at
 * work_stop a running job sees work_stopping and is run to its end, a
 * waiting job without cancel is run and one with cancel is cancelled, a
 * reserved place is waited for and its job settled; after work_stop every
 * reserve says false and a second work_stop does nothing; work_every needs
 * a clock, runs its tick with a NULL store and never after work_stop.
 *
 * Jobs are malloc'd and freed by their run or cancel function, so the
 * sanitizer builds also check that the pool does not touch a job after
 * handing it over (ASan) and that what a job writes reaches work_wait's
 * caller ordered (TSan). Nothing is timed: waits are on a condition
 * variable with a 10 s bound that only a hung pool reaches. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imgsec/work.h"

#define MAXJ 256

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    work_pool *p;
    int runs[MAXJ], cancels[MAXJ];
    bool saw_stop[MAXJ], st_null[MAXJ];
    int order[MAXJ], norder;
    int inside, most_inside; /* jobs inside run at once, and the most ever */
    int entered;
    bool release;
    int ticks;
    bool tick_st_null;
} R;

static void reset(work_pool *p)
{
    pthread_mutex_lock(&R.mu);
    memset(R.runs, 0, sizeof R.runs);
    memset(R.cancels, 0, sizeof R.cancels);
    memset(R.saw_stop, 0, sizeof R.saw_stop);
    memset(R.st_null, 0, sizeof R.st_null);
    memset(R.order, 0, sizeof R.order);
    R.p = p;
    R.norder = R.inside = R.most_inside = R.entered = R.ticks = 0;
    R.release = false;
    R.tick_st_null = false;
    pthread_mutex_unlock(&R.mu);
}

/* Waits (R.mu held) until cond holds; fails the test after 10 s. */
#define WAIT_UNTIL(cond)                                                      \
    do {                                                                      \
        struct timespec ts_;                                                  \
        clock_gettime(CLOCK_REALTIME, &ts_);                                  \
        ts_.tv_sec += 10;                                                     \
        while (!(cond))                                                       \
            if (pthread_cond_timedwait(&R.cv, &R.mu, &ts_) != 0 && !(cond)) { \
                pthread_mutex_unlock(&R.mu);                                  \
                fail_msg("waited 10 s for %s", #cond);                        \
            }                                                                 \
    } while (0)

typedef enum {
    HOLD_NONE,    /* return at once */
    HOLD_RELEASE, /* wait until the test sets release */
    HOLD_STOP,    /* wait until work_stopping says true */
} hold;

typedef struct {
    work_job job; /* first */
    int id;
    hold h;
    int *plain; /* HOLD_NONE: written without a lock (work_wait orders it) */
} tjob;

static void job_run(work_job *base, store *st)
{
    tjob *j = (tjob *)base;
    pthread_mutex_lock(&R.mu);
    R.entered++;
    if (++R.inside > R.most_inside)
        R.most_inside = R.inside;
    pthread_cond_broadcast(&R.cv);
    if (j->h == HOLD_RELEASE)
        WAIT_UNTIL(R.release);
    pthread_mutex_unlock(&R.mu);
    if (j->h == HOLD_STOP) {
        struct timespec d = {0, 1000000};
        for (int i = 0; i < 10000 && !work_stopping(R.p); i++)
            nanosleep(&d, NULL);
    }
    if (j->plain)
        *j->plain = j->id + 1;
    pthread_mutex_lock(&R.mu);
    assert_true(R.norder < MAXJ);
    R.inside--;
    R.runs[j->id]++;
    R.st_null[j->id] = st == NULL;
    R.saw_stop[j->id] = work_stopping(R.p);
    R.order[R.norder++] = j->id;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    free(j);
}

static void job_cancel(work_job *base, store *st)
{
    (void)st;
    tjob *j = (tjob *)base;
    pthread_mutex_lock(&R.mu);
    R.cancels[j->id]++;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    free(j);
}

static tjob *make(unsigned type, int id, hold h, bool cancellable)
{
    tjob *j = calloc(1, sizeof *j);
    assert_non_null(j);
    j->job = (work_job){.type = type, .run = job_run, .cancel = cancellable ? job_cancel : NULL};
    j->id = id;
    j->h = h;
    return j;
}

/* Reserves a place of type and submits a job on it (the place must be free). */
static void put(work_pool *p, unsigned type, int id, hold h, bool cancellable)
{
    assert_true(work_reserve(p, type));
    work_submit(p, &make(type, id, h, cancellable)->job);
}

static work_pool *start(const work_queue_spec *q, unsigned n, bool clock)
{
    work_pool *p = NULL;
    imgsec_err err = {0};
    work_opts o = {.queues = q, .n_queues = n, .clock = clock};
    if (work_start(&o, &p, &err) != IMGSEC_OK)
        fail_msg("work_start: %s", err.msg);
    assert_non_null(p);
    reset(p);
    return p;
}

static void release(void)
{
    pthread_mutex_lock(&R.mu);
    R.release = true;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

static void wait_entered(int n)
{
    pthread_mutex_lock(&R.mu);
    WAIT_UNTIL(R.entered >= n);
    pthread_mutex_unlock(&R.mu);
}

static void test_start_refuses_bad_queues(void **state)
{
    (void)state;
    work_queue_spec q[WORK_QUEUES_MAX + 1] = {{1, 0}, {1, 0}, {1, 0}, {1, 0}, {1, 0},
                                              {1, 0}, {1, 0}, {1, 0}, {1, 0}};
    work_queue_spec idle[2] = {{1, 1}, {0, 1}};
    const work_opts bad[] = {
        {.queues = q, .n_queues = 0},
        {.queues = q, .n_queues = WORK_QUEUES_MAX + 1},
        {.queues = idle, .n_queues = 2}, /* places that nothing would ever run */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        work_pool *p = (work_pool *)&R; /* overwritten with NULL */
        imgsec_err err = {0};
        assert_int_equal(work_start(&bad[i], &p, &err), IMGSEC_EINVAL);
        assert_null(p);
        assert_int_equal(err.code, IMGSEC_EINVAL);
    }
    /* a queue with no worker and no place is fine: it refuses everything */
    work_queue_spec none[2] = {{1, 0}, {0, 0}};
    work_pool *p = start(none, 2, false);
    assert_false(work_reserve(p, 1));
    assert_false(work_reserve_wait(p, 1));
    work_stop(p);
    work_free(p);
}

static void test_every_queue_runs_its_jobs_once(void **state)
{
    (void)state;
    work_queue_spec q[3] = {{1, 20}, {2, 20}, {3, 20}};
    work_pool *p = start(q, 3, false);
    for (int i = 0; i < 60; i++)
        put(p, (unsigned)(i % 3), i, HOLD_NONE, i % 2 == 0);
    for (unsigned t = 0; t < 3; t++)
        work_wait(p, t);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(R.runs[i], 1);
        assert_int_equal(R.cancels[i], 0);
        assert_true(R.st_null[i]); /* no database: no store */
        assert_false(R.saw_stop[i]);
    }
    assert_int_equal(R.norder, 60);
    work_queue_stats s[3];
    work_stats(p, s);
    for (unsigned t = 0; t < 3; t++) {
        assert_int_equal(s[t].waiting, 0);
        assert_int_equal(s[t].running, 0);
        assert_int_equal(s[t].places, 0);
        assert_int_equal(s[t].capacity, q[t].workers + 20);
    }
    work_stop(p);
    work_free(p);
}

static void test_queues_are_independent(void **state)
{
    (void)state;
    work_queue_spec q[2] = {{1, 1}, {1, 0}};
    work_pool *p = start(q, 2, false);
    put(p, 0, 0, HOLD_RELEASE, false);
    wait_entered(1);
    put(p, 0, 1, HOLD_NONE, false); /* waits behind job 0 */
    put(p, 1, 2, HOLD_NONE, false); /* the other queue's: runs now */
    work_wait(p, 1);
    pthread_mutex_lock(&R.mu);
    assert_int_equal(R.runs[2], 1);
    assert_int_equal(R.runs[0], 0);
    assert_int_equal(R.runs[1], 0);
    pthread_mutex_unlock(&R.mu);
    work_queue_stats s[2];
    work_stats(p, s);
    assert_int_equal(s[0].running, 1);
    assert_int_equal(s[0].waiting, 1);
    assert_int_equal(s[0].places, 2);
    release();
    work_wait(p, 0);
    assert_int_equal(R.runs[0], 1);
    assert_int_equal(R.runs[1], 1);
    work_stop(p);
    work_free(p);
}

static void test_one_worker_runs_one_at_a_time_in_submit_order(void **state)
{
    (void)state;
    work_queue_spec q = {1, 200};
    work_pool *p = start(&q, 1, false);
    for (int i = 0; i < 200; i++)
        put(p, 0, i, HOLD_NONE, false);
    work_wait(p, 0);
    assert_int_equal(R.norder, 200);
    for (int i = 0; i < 200; i++)
        assert_int_equal(R.order[i], i);
    assert_int_equal(R.most_inside, 1);
    work_stop(p);
    work_free(p);
}

static void test_places_are_workers_plus_queue(void **state)
{
    (void)state;
    work_queue_spec q[2] = {{2, 3}, {1, 0}};
    work_pool *p = start(q, 2, false);
    put(p, 0, 0, HOLD_RELEASE, false);
    put(p, 0, 1, HOLD_RELEASE, false);
    wait_entered(2);
    for (int i = 2; i < 5; i++)
        put(p, 0, i, HOLD_NONE, false);
    assert_false(work_reserve(p, 0)); /* the sixth place: refused */
    assert_int_equal(work_places(p, 0), 5);
    assert_true(work_reserve(p, 1)); /* the other queue's is its own */
    assert_false(work_reserve(p, 1));
    work_unreserve(p, 1);
    assert_int_equal(work_places(p, 1), 0);
    assert_true(work_reserve(p, 1)); /* given back: taken again */
    work_unreserve(p, 1);
    release();
    work_wait(p, 0);
    assert_int_equal(work_places(p, 0), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(R.runs[i], 1);
    for (int i = 0; i < 5; i++) /* all free again */
        assert_true(work_reserve(p, 0));
    assert_false(work_reserve(p, 0));
    for (int i = 0; i < 5; i++)
        work_unreserve(p, 0);
    work_stop(p);
    work_free(p);
}

typedef struct {
    work_pool *p;
    bool got;
    bool done;
} waiter;

static void *reserve_waiter(void *arg)
{
    waiter *w = arg;
    bool got = work_reserve_wait(w->p, 0);
    pthread_mutex_lock(&R.mu);
    w->got = got;
    w->done = true;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

static void test_reserve_wait_waits_for_a_place(void **state)
{
    (void)state;
    work_queue_spec q = {1, 1};
    work_pool *p = start(&q, 1, false);
    put(p, 0, 0, HOLD_RELEASE, false);
    wait_entered(1);
    put(p, 0, 1, HOLD_NONE, false);
    assert_false(work_reserve(p, 0));
    waiter w = {.p = p};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reserve_waiter, &w), 0);
    /* it cannot have a place while job 0 runs and job 1 waits */
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&R.mu);
    assert_false(w.done);
    pthread_mutex_unlock(&R.mu);
    release(); /* job 0 ends: its place goes to the waiter */
    pthread_mutex_lock(&R.mu);
    WAIT_UNTIL(w.done);
    pthread_mutex_unlock(&R.mu);
    pthread_join(th, NULL);
    assert_true(w.got);
    work_submit(p, &make(0, 2, HOLD_NONE, false)->job);
    work_wait(p, 0);
    assert_int_equal(R.norder, 3);
    assert_int_equal(R.order[0], 0);
    assert_int_equal(R.order[1], 1);
    assert_int_equal(R.order[2], 2);

    /* a waiter when the pool stops: false, and the stop does not hang */
    reset(p);
    put(p, 0, 3, HOLD_STOP, false);
    wait_entered(1);
    put(p, 0, 4, HOLD_NONE, false);
    waiter w2 = {.p = p};
    assert_int_equal(pthread_create(&th, NULL, reserve_waiter, &w2), 0);
    nanosleep(&d, NULL);
    work_stop(p);
    pthread_join(th, NULL);
    assert_true(w2.done);
    assert_false(w2.got);
    assert_int_equal(R.runs[3], 1);
    assert_int_equal(R.runs[4], 1);
    work_free(p);
}

static void test_wait_sees_every_job_done(void **state)
{
    (void)state;
    work_queue_spec q = {2, 64};
    work_pool *p = start(&q, 1, false);
    static int cell[64];
    memset(cell, 0, sizeof cell);
    for (int round = 0; round < 20; round++) {
        reset(p);
        for (int i = 0; i < 64; i++) {
            assert_true(work_reserve(p, 0));
            tjob *j = make(0, i, HOLD_NONE, false);
            j->plain = &cell[i];
            work_submit(p, &j->job);
        }
        work_wait(p, 0);
        /* read without a lock: work_wait ordered the jobs' writes */
        for (int i = 0; i < 64; i++) {
            assert_int_equal(cell[i], i + 1);
            assert_int_equal(R.runs[i], 1);
            cell[i] = 0;
        }
        assert_int_equal(R.norder, 64);
        assert_int_equal(work_places(p, 0), 0);
    }
    work_stop(p);
    work_free(p);
}

static void *stopper(void *p)
{
    work_stop(p);
    return NULL;
}

static void test_stop_settles_pending_jobs(void **state)
{
    (void)state;
    work_queue_spec q = {1, 8};
    work_pool *p = start(&q, 1, false);
    put(p, 0, 0, HOLD_STOP, true); /* running at stop: run to its end */
    wait_entered(1);
    for (int i = 1; i <= 6; i++) /* waiting at stop */
        put(p, 0, i, HOLD_NONE, i % 2 == 0);
    assert_true(work_reserve(p, 0)); /* reserved at stop, filled after */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, p), 0);
    for (int i = 0; i < 10000 && !work_stopping(p); i++) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    assert_true(work_stopping(p));
    assert_false(work_reserve(p, 0)); /* stopping: refused */
    work_submit(p, &make(0, 7, HOLD_NONE, true)->job);
    pthread_join(th, NULL);
    assert_int_equal(R.runs[0], 1);
    assert_true(R.saw_stop[0]);
    for (int i = 1; i <= 6; i++) {
        assert_int_equal(R.runs[i], i % 2 == 0 ? 0 : 1);
        assert_int_equal(R.cancels[i], i % 2 == 0 ? 1 : 0);
    }
    assert_int_equal(R.runs[7], 0);
    assert_int_equal(R.cancels[7], 1);
    assert_int_equal(work_places(p, 0), 0);
    assert_false(work_reserve(p, 0));
    assert_false(work_reserve_wait(p, 0));
    work_stop(p); /* a second stop does nothing */
    work_free(p);
    work_stop(NULL);
    work_free(NULL);
}

static void tick_fn(void *ctx, store *st)
{
    (void)ctx;
    pthread_mutex_lock(&R.mu);
    R.ticks++;
    R.tick_st_null = st == NULL;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

static void test_clock(void **state)
{
    (void)state;
    work_queue_spec q = {1, 0};
    imgsec_err err = {0};
    work_pool *p = start(&q, 1, false);
    assert_int_equal(work_every(p, 1, tick_fn, NULL, &err), IMGSEC_EINTERNAL); /* no clock */
    work_stop(p);
    work_free(p);

    p = start(&q, 1, true);
    for (int i = 0; i < WORK_TICKS_MAX; i++)
        assert_int_equal(work_every(p, 5, tick_fn, NULL, &err), IMGSEC_OK);
    assert_int_equal(work_every(p, 5, tick_fn, NULL, &err), IMGSEC_EINTERNAL);
    pthread_mutex_lock(&R.mu);
    WAIT_UNTIL(R.ticks >= 2 * WORK_TICKS_MAX);
    assert_true(R.tick_st_null);
    pthread_mutex_unlock(&R.mu);
    work_stop(p);
    pthread_mutex_lock(&R.mu);
    int n = R.ticks;
    pthread_mutex_unlock(&R.mu);
    struct timespec d = {0, 30 * 1000000L};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&R.mu);
    assert_int_equal(R.ticks, n); /* none after the stop */
    pthread_mutex_unlock(&R.mu);
    work_free(p);
}

int main(void)
{
    pthread_mutex_init(&R.mu, NULL);
    pthread_cond_init(&R.cv, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_refuses_bad_queues),
        cmocka_unit_test(test_every_queue_runs_its_jobs_once),
        cmocka_unit_test(test_queues_are_independent),
        cmocka_unit_test(test_one_worker_runs_one_at_a_time_in_submit_order),
        cmocka_unit_test(test_places_are_workers_plus_queue),
        cmocka_unit_test(test_reserve_wait_waits_for_a_place),
        cmocka_unit_test(test_wait_sees_every_job_done),
        cmocka_unit_test(test_stop_settles_pending_jobs),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
