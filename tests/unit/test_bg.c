/* test_bg.c - the background pool of imgsecd (src/server/bg.c), against
 * the contract in bg.h.
 *
 * What is checked, each on a real pool over a real SQLite file in a temp
 * directory: a queue has exactly workers + queue places (bg_reserve says
 * false on the next one, for each type, from the config and the login
 * test knobs, with out-of-range knobs falling back to BG_LOGIN_*), the
 * queues do not share places, a running job holds its place until it has
 * returned, and a place given back can be taken again; jobs of one worker
 * run in the order submitted; at bg_stop a job still waiting is run when
 * it has no cancel function and cancelled (not run) when it has one, a
 * running job sees bg_stopping and is run to its end (never cancelled),
 * and a place reserved but not yet filled is waited for and settled the
 * same way; four threads reserving and submitting while the pool stops
 * get every accepted job settled exactly once and every later reserve
 * refused; every worker has a store connection of its own (the workers
 * of all three queues run at once, each sees a different working
 * connection, none is the clock's); a tick runs no earlier than its
 * interval after the one before it, on the clock's one connection, and
 * never after bg_stop (a tick running at stop is the last one); the
 * BG_TICKS_MAX + 1st bg_every is refused; after bg_stop every reserve
 * says false and a second bg_stop does nothing; a pool whose database
 * cannot be opened fails to start, and one that runs out of file
 * descriptors at any of its connections fails with nothing left open.
 *
 * Jobs are malloc'd and freed by their run or cancel function, so the
 * sanitizer build also checks that the pool does not touch a job after
 * handing it over. Nothing is timed: the test waits on a condition
 * variable (or polls a state) with a 10 s bound that only a hung pool
 * reaches. The module's own source is compiled into this test
 * (tests/CMakeLists.txt). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bg.h"
#include "imgsec/auth.h"
#include "imgsec/util.h"
#include "unit_tmp.h"

#define WAIT_BOUND_NS (10 * 1000000000LL) /* only a hung pool gets there */
#define MAXJ 64

static char DIR_[256];
static char DB[300];

static void add_user(void);

/* One directory and database for the whole group (a pool leaves nothing
 * in it but the database), with one user in it. */
static int group_setup(void **state)
{
    (void)state;
    if (unit_tmp_dir(DIR_, sizeof DIR_, "bg-") != 0)
        return -1;
    snprintf(DB, sizeof DB, "%s/bg.db", DIR_);
    add_user();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(DIR_);
}

/* Each test starts with the login knobs unset (BG_LOGIN_*). */
static int setup(void **state)
{
    (void)state;
    unsetenv("IMGSEC_LOGIN_TEST_WORKERS");
    unsetenv("IMGSEC_LOGIN_TEST_QUEUE");
    return 0;
}

static void login_knobs(const char *workers, const char *queue)
{
    setenv("IMGSEC_LOGIN_TEST_WORKERS", workers, 1);
    setenv("IMGSEC_LOGIN_TEST_QUEUE", queue, 1);
}

static bg *start(unsigned export_workers, unsigned export_queue)
{
    config cfg = {.db_path = DB, .export_workers = export_workers, .export_queue = export_queue};
    bg *b = NULL;
    imgsec_err err = {0};
    int rc = bg_start(&cfg, &b, &err);
    if (rc != IMGSEC_OK)
        fail_msg("bg_start: %s", err.msg);
    assert_non_null(b);
    return b;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- what the jobs and ticks record ---- */

typedef enum {
    HOLD_NONE,    /* return at once */
    HOLD_RELEASE, /* wait until the test sets release */
    HOLD_STOP,    /* wait until bg_stopping says true */
    HOLD_ALL,     /* wait until R.gather jobs are inside run at once */
} hold;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bg *b;
    int running;   /* jobs inside run now */
    int entered;   /* jobs that entered run */
    int gather;    /* HOLD_ALL: how many must be inside run at once */
    bool gathered; /* they were */
    bool release;
    int runs[MAXJ], cancels[MAXJ];
    store *st[MAXJ];
    bool saw_stop[MAXJ];
    bool timed_out[MAXJ];
    bool store_ok[MAXJ];
    int order[MAXJ], norder;
} R;

static void reset(bg *b)
{
    pthread_mutex_lock(&R.mu);
    R.b = b;
    R.running = R.entered = R.gather = R.norder = 0;
    R.release = false;
    R.gathered = false;
    memset(R.runs, 0, sizeof R.runs);
    memset(R.cancels, 0, sizeof R.cancels);
    memset(R.st, 0, sizeof R.st);
    memset(R.saw_stop, 0, sizeof R.saw_stop);
    memset(R.timed_out, 0, sizeof R.timed_out);
    memset(R.store_ok, 0, sizeof R.store_ok);
    memset(R.order, 0, sizeof R.order);
    pthread_mutex_unlock(&R.mu);
}

static void deadline(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += WAIT_BOUND_NS / 1000000000LL;
}

/* Waits (R.mu held) until cond holds; fails the test after the bound. */
#define WAIT_UNTIL(cond)                                                        \
    do {                                                                        \
        struct timespec ts_;                                                    \
        deadline(&ts_);                                                         \
        while (!(cond))                                                         \
            if (pthread_cond_timedwait(&R.cv, &R.mu, &ts_) != 0 && !(cond)) {   \
                pthread_mutex_unlock(&R.mu);                                    \
                fail_msg("waited 10 s for %s", #cond);                          \
            }                                                                   \
    } while (0)

static void wait_entered(int n)
{
    pthread_mutex_lock(&R.mu);
    WAIT_UNTIL(R.entered >= n);
    pthread_mutex_unlock(&R.mu);
}

static void release_all(void)
{
    pthread_mutex_lock(&R.mu);
    R.release = true;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

static int runs_total(void)
{
    pthread_mutex_lock(&R.mu);
    int n = 0;
    for (int i = 0; i < MAXJ; i++)
        n += R.runs[i];
    pthread_mutex_unlock(&R.mu);
    return n;
}

/* bg_places(t) reaches want (a place is given back just after its job's
 * run returns, so this is polled). */
static void wait_places(bg *b, bg_type t, unsigned want)
{
    int64_t end = util_mono_ns() + WAIT_BOUND_NS;
    while (bg_places(b, t) != want) {
        if (util_mono_ns() > end)
            fail_msg("queue %d: %u places taken, waited 10 s for %u", (int)t, bg_places(b, t),
                     want);
        sleep_ms(1);
    }
}

typedef struct {
    bg_job job; /* first: the pool sees this */
    int id;
    hold hold;
} tjob;

/* A user in the database, so that a job can show its connection works. */
#define USER_DOMAIN "acme"
#define USER_NAME "bg-user"

static void job_run(bg_job *j, store *st)
{
    tjob *t = (tjob *)j;
    int id = t->id;
    hold h = t->hold;
    free(t); /* the job is ours from here on (bg.h): the pool must not touch it */

    store_user u;
    char hash[AUTH_PW_HASH_MAX];
    imgsec_err err = {0};
    bool store_ok = st && store_user_get(st, USER_DOMAIN, USER_NAME, &u, hash, sizeof hash,
                                         &err) == IMGSEC_OK &&
                    strcmp(hash, "not-a-hash") == 0;

    pthread_mutex_lock(&R.mu);
    R.runs[id]++;
    R.st[id] = st;
    R.store_ok[id] = store_ok;
    if (R.norder < MAXJ)
        R.order[R.norder++] = id;
    R.running++;
    R.entered++;
    if (R.gather > 0 && R.running >= R.gather)
        R.gathered = true;
    pthread_cond_broadcast(&R.cv);
    struct timespec ts;
    deadline(&ts);
    if (h == HOLD_RELEASE || h == HOLD_ALL) {
        while (!(h == HOLD_RELEASE ? R.release : R.gathered))
            if (pthread_cond_timedwait(&R.cv, &R.mu, &ts) != 0) {
                R.timed_out[id] = true;
                break;
            }
    }
    pthread_mutex_unlock(&R.mu);
    if (h == HOLD_STOP) {
        int64_t end = util_mono_ns() + WAIT_BOUND_NS;
        bool seen = false;
        while (!(seen = bg_stopping(R.b)) && util_mono_ns() < end)
            sleep_ms(1);
        pthread_mutex_lock(&R.mu);
        R.saw_stop[id] = seen;
        R.timed_out[id] = !seen;
        pthread_mutex_unlock(&R.mu);
    }
    pthread_mutex_lock(&R.mu);
    R.running--;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

static void job_cancel(bg_job *j, store *st)
{
    tjob *t = (tjob *)j;
    int id = t->id;
    free(t);
    pthread_mutex_lock(&R.mu);
    R.cancels[id]++;
    R.st[id] = st;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

/* Reserves a place of type t (must succeed) and submits job id on it. */
static void submit(bg *b, bg_type t, int id, hold h, bool with_cancel)
{
    assert_true(id >= 0 && id < MAXJ);
    assert_true(bg_reserve(b, t));
    tjob *j = calloc(1, sizeof *j);
    assert_non_null(j);
    j->job = (bg_job){.type = t, .run = job_run, .cancel = with_cancel ? job_cancel : NULL};
    j->id = id;
    j->hold = h;
    bg_submit(b, &j->job);
}

static void add_user(void)
{
    store *st = NULL;
    imgsec_err err = {0};
    assert_int_equal(store_open(DB, &st, &err), IMGSEC_OK);
    store_grant g = {.project_id = "p1", .role = ROLE_READER, .eps_all = true};
    assert_int_equal(store_user_add(st, USER_DOMAIN, USER_NAME, "not-a-hash", &g, &err),
                     IMGSEC_OK);
    store_close(st);
}

/* ---- places ---- */

/* Reserves places of t until refused; returns how many were taken. */
static unsigned fill(bg *b, bg_type t)
{
    unsigned n = 0;
    while (n < 10000 && bg_reserve(b, t))
        n++;
    return n;
}

static void test_places_are_workers_plus_queue_per_type(void **state)
{
    (void)state;
    bg *b = start(3, 4);
    for (int t = 0; t < BG_TYPES; t++)
        assert_int_equal(bg_places(b, (bg_type)t), 0);
    /* maintenance full: the others still take all of theirs */
    assert_int_equal(fill(b, BG_MAINT), BG_MAINT_WORKERS + BG_MAINT_QUEUE);
    assert_int_equal(fill(b, BG_EXPORT), 3 + 4);
    assert_int_equal(fill(b, BG_LOGIN), BG_LOGIN_WORKERS + BG_LOGIN_QUEUE);
    assert_false(bg_reserve(b, BG_MAINT));
    assert_false(bg_reserve(b, BG_EXPORT));
    assert_false(bg_reserve(b, BG_LOGIN));
    assert_int_equal(bg_places(b, BG_MAINT), 2);
    assert_int_equal(bg_places(b, BG_EXPORT), 7);
    assert_int_equal(bg_places(b, BG_LOGIN), 34);
    /* one export place back: exactly one more export, nothing for the others */
    bg_unreserve(b, BG_EXPORT);
    assert_int_equal(bg_places(b, BG_EXPORT), 6);
    assert_false(bg_reserve(b, BG_MAINT));
    assert_false(bg_reserve(b, BG_LOGIN));
    assert_true(bg_reserve(b, BG_EXPORT));
    assert_false(bg_reserve(b, BG_EXPORT));
    /* all back */
    for (int i = 0; i < 2; i++)
        bg_unreserve(b, BG_MAINT);
    for (int i = 0; i < 7; i++)
        bg_unreserve(b, BG_EXPORT);
    for (int i = 0; i < 34; i++)
        bg_unreserve(b, BG_LOGIN);
    for (int t = 0; t < BG_TYPES; t++)
        assert_int_equal(bg_places(b, (bg_type)t), 0);
    assert_false(bg_stopping(b));
    bg_stop(b);
    bg_free(b);
}

static void test_login_knobs(void **state)
{
    (void)state;
    static const struct {
        const char *workers, *queue;
        unsigned places;
    } cases[] = {
        {"1", "0", 1},
        {"16", "4096", 16 + 4096},
        /* out of range or not a number: BG_LOGIN_*, each knob by itself */
        {"0", "2", BG_LOGIN_WORKERS + 2},
        {"17", "4097", BG_LOGIN_WORKERS + BG_LOGIN_QUEUE},
        {"1", "-1", 1 + BG_LOGIN_QUEUE},
        {"x", "", BG_LOGIN_WORKERS + BG_LOGIN_QUEUE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        login_knobs(cases[i].workers, cases[i].queue);
        bg *b = start(1, 1);
        unsigned n = fill(b, BG_LOGIN);
        if (n != cases[i].places)
            fail_msg("workers=%s queue=%s: %u places, want %u", cases[i].workers,
                     cases[i].queue, n, cases[i].places);
        assert_int_equal(fill(b, BG_EXPORT), 2);
        for (unsigned k = 0; k < n; k++)
            bg_unreserve(b, BG_LOGIN);
        bg_unreserve(b, BG_EXPORT);
        bg_unreserve(b, BG_EXPORT);
        bg_stop(b);
        bg_free(b);
    }
}

/* A running job keeps its place until its run has returned. */
static void test_running_jobs_hold_their_places(void **state)
{
    (void)state;
    bg *b = start(2, 1);
    reset(b);
    submit(b, BG_EXPORT, 0, HOLD_RELEASE, false);
    submit(b, BG_EXPORT, 1, HOLD_RELEASE, false);
    wait_entered(2);
    submit(b, BG_EXPORT, 2, HOLD_RELEASE, false); /* waits: both workers busy */
    assert_false(bg_reserve(b, BG_EXPORT));
    assert_int_equal(bg_places(b, BG_EXPORT), 3);
    assert_int_equal(bg_places(b, BG_LOGIN), 0);
    assert_int_equal(bg_places(b, BG_MAINT), 0);
    assert_true(bg_reserve(b, BG_MAINT));
    assert_true(bg_reserve(b, BG_LOGIN));
    /* the stats: two running, one waiting; a reserved place is neither */
    bg_queue_stats qs[BG_TYPES];
    bg_stats_get(b, qs);
    assert_int_equal(qs[BG_EXPORT].running, 2);
    assert_int_equal(qs[BG_EXPORT].waiting, 1);
    assert_int_equal(qs[BG_EXPORT].places, 3);
    assert_int_equal(qs[BG_EXPORT].capacity, 3);
    assert_int_equal(qs[BG_MAINT].running, 0);
    assert_int_equal(qs[BG_MAINT].waiting, 0);
    assert_int_equal(qs[BG_MAINT].places, 1);
    assert_int_equal(qs[BG_MAINT].capacity, BG_MAINT_WORKERS + BG_MAINT_QUEUE);
    assert_int_equal(qs[BG_LOGIN].places, 1);
    assert_int_equal(qs[BG_LOGIN].capacity, BG_LOGIN_WORKERS + BG_LOGIN_QUEUE);
    assert_string_equal(bg_type_name(BG_EXPORT), "export");
    assert_string_equal(bg_type_name(BG_LOGIN), "login");
    assert_string_equal(bg_type_name(BG_MAINT), "maintenance");
    assert_string_equal(bg_type_name(BG_SCAN), "scan");
    bg_unreserve(b, BG_MAINT);
    bg_unreserve(b, BG_LOGIN);
    release_all();
    wait_entered(3);
    wait_places(b, BG_EXPORT, 0);
    bg_stats_get(b, qs);
    assert_int_equal(qs[BG_EXPORT].running, 0);
    assert_int_equal(qs[BG_EXPORT].waiting, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(R.runs[i], 1);
        assert_int_equal(R.cancels[i], 0);
        assert_false(R.timed_out[i]);
        assert_true(R.store_ok[i]);
    }
    assert_int_equal(fill(b, BG_EXPORT), 3);
    for (int i = 0; i < 3; i++)
        bg_unreserve(b, BG_EXPORT);
    bg_stop(b);
    bg_free(b);
    assert_int_equal(runs_total(), 3);
}

/* One worker: the jobs run in the order they were submitted. */
static void test_one_worker_runs_in_submit_order(void **state)
{
    (void)state;
    bg *b = start(1, 5);
    reset(b);
    submit(b, BG_EXPORT, 0, HOLD_RELEASE, true);
    wait_entered(1);
    for (int i = 1; i <= 5; i++)
        submit(b, BG_EXPORT, i, HOLD_NONE, i % 2 == 0);
    assert_false(bg_reserve(b, BG_EXPORT));
    release_all();
    wait_entered(6);
    wait_places(b, BG_EXPORT, 0);
    assert_int_equal(R.norder, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(R.order[i], i);
    bg_stop(b);
    bg_free(b);
}

/* ---- stop ---- */

static void test_stop_runs_waiting_jobs_without_cancel_cancels_the_others(void **state)
{
    (void)state;
    login_knobs("1", "3");
    bg *b = start(1, 6);
    reset(b);
    /* one running job per queue, each until it sees the stop; the export one
     * has a cancel function and must be run, not cancelled */
    submit(b, BG_LOGIN, 0, HOLD_STOP, false);
    submit(b, BG_EXPORT, 1, HOLD_STOP, true);
    submit(b, BG_MAINT, 2, HOLD_STOP, false);
    wait_entered(3);
    /* waiting behind them: logins (no cancel), exports half and half,
     * one maintenance job with a cancel function */
    for (int i = 10; i < 13; i++)
        submit(b, BG_LOGIN, i, HOLD_NONE, false);
    for (int i = 20; i < 26; i++)
        submit(b, BG_EXPORT, i, HOLD_NONE, i % 2 == 1);
    submit(b, BG_MAINT, 30, HOLD_NONE, true);
    assert_false(bg_reserve(b, BG_LOGIN));
    assert_false(bg_reserve(b, BG_EXPORT));
    assert_false(bg_reserve(b, BG_MAINT));
    assert_int_equal(R.entered, 3); /* nothing else could start */

    bg_stop(b);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(R.runs[i], 1);
        assert_int_equal(R.cancels[i], 0);
        assert_true(R.saw_stop[i]);
        assert_false(R.timed_out[i]);
    }
    for (int i = 10; i < 13; i++) {
        assert_int_equal(R.runs[i], 1);
        assert_int_equal(R.cancels[i], 0);
    }
    for (int i = 20; i < 26; i++) {
        bool with_cancel = i % 2 == 1;
        assert_int_equal(R.runs[i], with_cancel ? 0 : 1);
        assert_int_equal(R.cancels[i], with_cancel ? 1 : 0);
        assert_non_null(R.st[i]); /* cancel gets the worker's connection too */
        assert_ptr_equal(R.st[i], R.st[1]);
    }
    assert_int_equal(R.runs[30], 0);
    assert_int_equal(R.cancels[30], 1);
    assert_ptr_equal(R.st[30], R.st[2]);
    assert_int_equal(runs_total(), 3 + 3 + 3);
    for (int t = 0; t < BG_TYPES; t++) {
        assert_int_equal(bg_places(b, (bg_type)t), 0);
        assert_false(bg_reserve(b, (bg_type)t));
    }
    bg_free(b);
}

typedef struct {
    bg *b;
    atomic_bool returned;
} stopper;

static void *stop_main(void *arg)
{
    stopper *s = arg;
    bg_stop(s->b);
    atomic_store(&s->returned, true);
    return NULL;
}

static void wait_stopping(bg *b)
{
    int64_t end = util_mono_ns() + WAIT_BOUND_NS;
    while (!bg_stopping(b)) {
        if (util_mono_ns() > end)
            fail_msg("bg_stopping still false after 10 s");
        sleep_ms(1);
    }
}

/* A place reserved before the stop and filled after it began is waited
 * for, and its job settled like any other; one given back ends the wait. */
static void test_stop_waits_for_reserved_places(void **state)
{
    (void)state;
    bg *b = start(1, 1);
    reset(b);
    assert_true(bg_reserve(b, BG_LOGIN));
    assert_true(bg_reserve(b, BG_EXPORT));
    assert_true(bg_reserve(b, BG_MAINT));
    stopper s = {.b = b};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stop_main, &s), 0);
    wait_stopping(b);
    for (int t = 0; t < BG_TYPES; t++)
        assert_false(bg_reserve(b, (bg_type)t));
    assert_int_equal(bg_places(b, BG_LOGIN), 1);
    assert_int_equal(bg_places(b, BG_EXPORT), 1);
    assert_int_equal(bg_places(b, BG_MAINT), 1);

    tjob *login = calloc(1, sizeof *login), *exp = calloc(1, sizeof *exp);
    assert_non_null(login);
    assert_non_null(exp);
    *login = (tjob){.job = {.type = BG_LOGIN, .run = job_run}, .id = 0};
    *exp = (tjob){.job = {.type = BG_EXPORT, .run = job_run, .cancel = job_cancel}, .id = 1};
    bg_submit(b, &login->job);
    assert_false(atomic_load(&s.returned)); /* the maintenance place is still taken */
    bg_submit(b, &exp->job);
    bg_unreserve(b, BG_MAINT);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(atomic_load(&s.returned));

    assert_int_equal(R.runs[0], 1);
    assert_int_equal(R.cancels[0], 0);
    assert_int_equal(R.runs[1], 0);
    assert_int_equal(R.cancels[1], 1);
    for (int t = 0; t < BG_TYPES; t++)
        assert_int_equal(bg_places(b, (bg_type)t), 0);
    bg_free(b);
}

/* Four threads reserve and submit until after the pool stopped: every
 * job accepted is settled exactly once (run if it has no cancel
 * function), every reserve after the stop began is refused. */
#define RACE_THREADS 4
#define RACE_AFTER_STOP 100 /* tries by each thread once it saw the stop */

static atomic_int race_accepted[2], race_ran[2], race_cancelled;
static atomic_int race_refused_after_stop_seen, race_accepted_after_stop_seen;

typedef struct {
    bg_job job;
    bool with_cancel;
} race_job;

static void race_run(bg_job *j, store *st)
{
    (void)st;
    race_job *r = (race_job *)j;
    atomic_fetch_add(&race_ran[r->with_cancel], 1);
    free(r);
}

static void race_cancel(bg_job *j, store *st)
{
    (void)st;
    free(j);
    atomic_fetch_add(&race_cancelled, 1);
}

static void *race_main(void *arg)
{
    bg *b = arg;
    int after_stop = 0;
    int64_t end = util_mono_ns() + WAIT_BOUND_NS;
    for (int i = 0; util_mono_ns() < end; i++) {
        bg_type t = (bg_type)(i % BG_TYPES);
        bool stop_seen = bg_stopping(b);
        if (stop_seen && after_stop++ == RACE_AFTER_STOP)
            break;
        if (!bg_reserve(b, t)) {
            if (stop_seen)
                atomic_fetch_add(&race_refused_after_stop_seen, 1);
            continue;
        }
        if (stop_seen)
            atomic_fetch_add(&race_accepted_after_stop_seen, 1);
        bool with_cancel = (i / BG_TYPES) % 2 == 1;
        if (i % 7 == 3) { /* changed its mind */
            bg_unreserve(b, t);
            continue;
        }
        race_job *r = calloc(1, sizeof *r);
        if (!r) {
            bg_unreserve(b, t);
            continue;
        }
        r->job = (bg_job){.type = t, .run = race_run, .cancel = with_cancel ? race_cancel : NULL};
        r->with_cancel = with_cancel;
        atomic_fetch_add(&race_accepted[with_cancel], 1);
        bg_submit(b, &r->job);
    }
    return NULL;
}

static void test_stop_while_submitting_settles_each_job_once(void **state)
{
    (void)state;
    login_knobs("2", "3");
    bg *b = start(2, 3);
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_main, b), 0);
    /* stop once some work went through, while the threads go on */
    int64_t end = util_mono_ns() + WAIT_BOUND_NS;
    while (atomic_load(&race_ran[0]) + atomic_load(&race_ran[1]) < 50 && util_mono_ns() < end)
        sleep_ms(1);
    bg_stop(b);
    for (int t = 0; t < BG_TYPES; t++)
        assert_false(bg_reserve(b, (bg_type)t));
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int t = 0; t < BG_TYPES; t++)
        assert_int_equal(bg_places(b, (bg_type)t), 0);
    bg_free(b);

    assert_true(atomic_load(&race_ran[0]) + atomic_load(&race_ran[1]) >= 50);
    assert_int_equal(atomic_load(&race_ran[0]), atomic_load(&race_accepted[0]));
    assert_int_equal(atomic_load(&race_ran[1]) + atomic_load(&race_cancelled),
                     atomic_load(&race_accepted[1]));
    assert_int_equal(atomic_load(&race_accepted_after_stop_seen), 0);
    assert_int_equal(atomic_load(&race_refused_after_stop_seen), RACE_THREADS * RACE_AFTER_STOP);
}

/* ---- store connections ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    store *st[4];
    int64_t at[64];
    int64_t every_ms;
    int block_first; /* the first call waits: 1 until bg_stopping, 2 until released */
    bool released;
    bg *b;
    bool saw_stop;
} tick_rec;

static void tick_fn(void *ctx, store *st)
{
    tick_rec *t = ctx;
    int64_t now = util_mono_ns();
    pthread_mutex_lock(&t->mu);
    int n = t->calls++;
    if (n < 64)
        t->at[n] = now;
    if (n < 4)
        t->st[n] = st;
    pthread_cond_broadcast(&t->cv);
    if (t->block_first == 2 && n == 0) {
        struct timespec ts;
        deadline(&ts);
        while (!t->released)
            if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
                break;
    }
    bool block = t->block_first == 1 && n == 0;
    pthread_mutex_unlock(&t->mu);
    if (block) {
        int64_t end = util_mono_ns() + WAIT_BOUND_NS;
        bool seen = false;
        while (!(seen = bg_stopping(t->b)) && util_mono_ns() < end)
            sleep_ms(1);
        pthread_mutex_lock(&t->mu);
        t->saw_stop = seen;
        pthread_mutex_unlock(&t->mu);
    }
}

static void tick_init(tick_rec *t, bg *b, int64_t every_ms)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->b = b;
    t->every_ms = every_ms;
}

static void tick_destroy(tick_rec *t)
{
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

static int tick_calls(tick_rec *t)
{
    pthread_mutex_lock(&t->mu);
    int n = t->calls;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void tick_wait_calls(tick_rec *t, int n)
{
    struct timespec ts;
    deadline(&ts);
    pthread_mutex_lock(&t->mu);
    while (t->calls < n)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0 && t->calls < n) {
            pthread_mutex_unlock(&t->mu);
            fail_msg("tick every %lld ms: %d calls, waited 10 s for %d",
                     (long long)t->every_ms, t->calls, n);
        }
    pthread_mutex_unlock(&t->mu);
}

static void test_every_worker_has_its_own_store(void **state)
{
    (void)state;
    login_knobs("2", "0");
    bg *b = start(3, 0);
    reset(b);
    tick_rec tick;
    tick_init(&tick, b, 1);
    imgsec_err err = {0};
    assert_int_equal(bg_every(b, 1, tick_fn, &tick, &err), IMGSEC_OK);

    /* every worker of every queue inside a job at once: 2 + 3 + 1 */
    enum { ALL = 2 + 3 + BG_MAINT_WORKERS };
    pthread_mutex_lock(&R.mu);
    R.gather = ALL;
    pthread_mutex_unlock(&R.mu);
    int id = 0;
    for (int i = 0; i < 2; i++)
        submit(b, BG_LOGIN, id++, HOLD_ALL, false);
    for (int i = 0; i < 3; i++)
        submit(b, BG_EXPORT, id++, HOLD_ALL, false);
    for (int i = 0; i < BG_MAINT_WORKERS; i++)
        submit(b, BG_MAINT, id++, HOLD_ALL, false);
    pthread_mutex_lock(&R.mu);
    WAIT_UNTIL(R.entered == ALL && R.running == 0);
    pthread_mutex_unlock(&R.mu);
    tick_wait_calls(&tick, 2);
    bg_stop(b);

    for (int i = 0; i < ALL; i++) {
        assert_false(R.timed_out[i]);
        assert_int_equal(R.runs[i], 1);
        assert_non_null(R.st[i]);
        assert_true(R.store_ok[i]); /* a working connection to the pool's database */
        for (int k = 0; k < i; k++)
            assert_ptr_not_equal(R.st[i], R.st[k]);
        assert_ptr_not_equal(R.st[i], tick.st[0]);
    }
    assert_non_null(tick.st[0]);
    assert_ptr_equal(tick.st[1], tick.st[0]); /* the clock's one connection */
    bg_free(b);
    tick_destroy(&tick);
}

/* ---- the clock ---- */

static void test_ticks_run_at_their_interval_until_stop(void **state)
{
    (void)state;
    bg *b = start(1, 1);
    tick_rec fast, slow;
    tick_init(&fast, b, 2);
    tick_init(&slow, b, 15);
    imgsec_err err = {0};
    int64_t t0_fast = util_mono_ns();
    assert_int_equal(bg_every(b, 2, tick_fn, &fast, &err), IMGSEC_OK);
    int64_t t0_slow = util_mono_ns();
    assert_int_equal(bg_every(b, 15, tick_fn, &slow, &err), IMGSEC_OK);
    tick_wait_calls(&slow, 3);
    tick_wait_calls(&fast, 8);
    bg_stop(b);
    int nf = tick_calls(&fast), ns = tick_calls(&slow);
    /* the k-th call (from 1) comes no earlier than k intervals after bg_every */
    for (int k = 1; k <= nf && k <= 64; k++)
        if (fast.at[k - 1] < t0_fast + k * 2 * 1000000LL)
            fail_msg("fast tick %d at +%lld ns, before %d x 2 ms", k,
                     (long long)(fast.at[k - 1] - t0_fast), k);
    for (int k = 1; k <= ns && k <= 64; k++)
        if (slow.at[k - 1] < t0_slow + k * 15 * 1000000LL)
            fail_msg("slow tick %d at +%lld ns, before %d x 15 ms", k,
                     (long long)(slow.at[k - 1] - t0_slow), k);
    assert_ptr_equal(fast.st[0], slow.st[0]);
    assert_non_null(fast.st[0]);
    /* none after bg_stop: the clock is joined */
    sleep_ms(40);
    assert_int_equal(tick_calls(&fast), nf);
    assert_int_equal(tick_calls(&slow), ns);
    bg_free(b);
    tick_destroy(&fast);
    tick_destroy(&slow);
}

/* A tick running when the stop comes sees it, and is the last one: a
 * tick due meanwhile does not run. To have both due in the same round of
 * the clock, the clock is held in a first tick (b) while a (the one that
 * waits for the stop) and c (the one that must not run) are registered,
 * and let go once both are past due. */
static void test_tick_running_at_stop_is_the_last(void **state)
{
    (void)state;
    bg *pool = start(1, 1);
    tick_rec a, b, c;
    tick_init(&b, pool, 1);
    tick_init(&a, pool, 1);
    tick_init(&c, pool, 1);
    b.block_first = 2;
    a.block_first = 1;
    imgsec_err err = {0};
    assert_int_equal(bg_every(pool, 1, tick_fn, &b, &err), IMGSEC_OK);
    tick_wait_calls(&b, 1); /* the clock is inside b's first call */
    assert_int_equal(bg_every(pool, 1, tick_fn, &a, &err), IMGSEC_OK);
    assert_int_equal(bg_every(pool, 1, tick_fn, &c, &err), IMGSEC_OK);
    int64_t due = util_mono_ns() + 1000000LL; /* both are due by then */
    while (util_mono_ns() <= due)
        sleep_ms(1);
    pthread_mutex_lock(&b.mu);
    b.released = true;
    pthread_cond_broadcast(&b.cv);
    pthread_mutex_unlock(&b.mu);
    tick_wait_calls(&a, 1); /* the clock is inside a's first call until the stop */
    bg_stop(pool);
    assert_int_equal(tick_calls(&a), 1);
    assert_true(a.saw_stop);
    assert_int_equal(tick_calls(&c), 0);
    bg_free(pool);
    tick_destroy(&a);
    tick_destroy(&b);
    tick_destroy(&c);
}

static void test_ticks_max(void **state)
{
    (void)state;
    bg *b = start(1, 1);
    tick_rec t;
    tick_init(&t, b, 3600 * 1000);
    imgsec_err err = {0};
    for (int i = 0; i < BG_TICKS_MAX; i++)
        assert_int_equal(bg_every(b, 3600 * 1000, tick_fn, &t, &err), IMGSEC_OK);
    assert_int_equal(bg_every(b, 3600 * 1000, tick_fn, &t, &err), IMGSEC_EINTERNAL);
    bg_stop(b);
    assert_int_equal(tick_calls(&t), 0); /* an hour away */
    bg_free(b);
    tick_destroy(&t);
}

/* ---- after the stop, and a failed start ---- */

static void test_after_stop_everything_refused(void **state)
{
    (void)state;
    bg *b = start(2, 8);
    bg_stop(b);
    assert_true(bg_stopping(b));
    for (int t = 0; t < BG_TYPES; t++) {
        assert_false(bg_reserve(b, (bg_type)t));
        assert_int_equal(bg_places(b, (bg_type)t), 0);
    }
    bg_stop(b); /* nothing */
    assert_false(bg_reserve(b, BG_LOGIN));
    bg_free(b);
    bg_stop(NULL);
    bg_free(NULL);
}

static void test_start_fails_without_database(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/missing/bg.db", DIR_);
    config cfg = {.db_path = path, .export_workers = 2, .export_queue = 8};
    bg *b = (bg *)&cfg; /* overwritten */
    imgsec_err err = {0};
    assert_int_equal(bg_start(&cfg, &b, &err), IMGSEC_EINTERNAL);
    assert_null(b);
    assert_non_null(strstr(err.msg, path));
}

/* A start that fails part way (out of file descriptors at the clock's
 * connection, or at one of the workers') leaves nothing running or
 * open: with the descriptor limit raised one at a time from the lowest
 * free descriptor, every start either fails with out NULL or gives a working pool
 * (the sanitizer build checks that the failed ones leaked nothing). */
/* How many descriptors are open. */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* The descriptor the next open would get. */
static int first_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

static void test_start_failing_part_way_leaves_nothing(void **state)
{
    (void)state;
    login_knobs("1", "0");
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int base = open_fds(), first = first_free_fd();
    int failed = 0, started = 0;
    for (int extra = 0; extra <= 100 && !started; extra++) {
        struct rlimit lim = old;
        lim.rlim_cur = (rlim_t)(first + extra);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
        config cfg = {.db_path = DB, .export_workers = 1, .export_queue = 1};
        bg *b = NULL;
        imgsec_err err = {0};
        int rc = bg_start(&cfg, &b, &err);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (rc != IMGSEC_OK) {
            assert_null(b);
            assert_true(err.msg[0] != 0);
            assert_int_equal(open_fds(), base);
            failed++;
            continue;
        }
        started++;
        reset(b);
        submit(b, BG_EXPORT, 0, HOLD_NONE, false);
        submit(b, BG_LOGIN, 1, HOLD_NONE, false);
        submit(b, BG_MAINT, 2, HOLD_NONE, false);
        bg_stop(b);
        bg_free(b);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(R.runs[i], 1);
            assert_true(R.store_ok[i]);
        }
        assert_int_equal(open_fds(), base);
    }
    /* each of the 4 connections (the clock's, 1 + 1 + 1 workers') failed once at least */
    assert_true(failed >= 4);
    assert_int_equal(started, 1);
}

int main(void)
{
    pthread_mutex_init(&R.mu, NULL);
    pthread_cond_init(&R.cv, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_places_are_workers_plus_queue_per_type, setup),
        cmocka_unit_test_setup(test_login_knobs, setup),
        cmocka_unit_test_setup(test_running_jobs_hold_their_places, setup),
        cmocka_unit_test_setup(test_one_worker_runs_in_submit_order, setup),
        cmocka_unit_test_setup(test_stop_runs_waiting_jobs_without_cancel_cancels_the_others,
                               setup),
        cmocka_unit_test_setup(test_stop_waits_for_reserved_places, setup),
        cmocka_unit_test_setup(test_stop_while_submitting_settles_each_job_once, setup),
        cmocka_unit_test_setup(test_every_worker_has_its_own_store, setup),
        cmocka_unit_test_setup(test_ticks_run_at_their_interval_until_stop, setup),
        cmocka_unit_test_setup(test_tick_running_at_stop_is_the_last, setup),
        cmocka_unit_test_setup(test_ticks_max, setup),
        cmocka_unit_test_setup(test_after_stop_everything_refused, setup),
        cmocka_unit_test_setup(test_start_fails_without_database, setup),
        cmocka_unit_test_setup(test_start_failing_part_way_leaves_nothing, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
