/* bg.h - background work of imgsecd: one pool, typed queues, a clock.
 *
 * The pool is the library's (imgsec/work.h: the mechanism, and the
 * contract below in general terms); this module is imgsecd's use of it:
 * its queues, their sizes from the configuration, a store connection per
 * worker and one for the clock.
 *
 * Work that must not run on an HTTP thread (a login's Argon2 check, an
 * export file, a rematch of the stored images) is a job: a bg_job with a
 * type, handed to the pool. Each type has a queue of its own with its own
 * worker threads and its own bound (bg_start says which), so a long
 * export never delays a login and a rematch never delays an export.
 * Every worker has a store connection of its own, opened at start: a job
 * never waits for one of the HTTP threads' connections (pool.h).
 *
 * Places. A queue of type t has workers(t) + queue(t) places: a job
 * holds one from bg_reserve until it has been run or cancelled (waiting,
 * then running). bg_reserve says false when they are all taken or the
 * pool is stopping; the caller then refuses the work without doing any
 * of it (the routes answer 429). A place is reserved first and filled
 * (bg_submit) or given back (bg_unreserve) after, so that a caller can
 * do the work's preparation (an export's snapshot and row) only once it
 * knows the job will be taken.
 *
 * Stop (bg_stop). New places are refused at once; every place already
 * taken is settled before the workers end: a job not yet started is run
 * when it has no cancel function (logins: each accepted request gets its
 * answer) and cancelled otherwise (exports are marked interrupted); a
 * running job sees bg_stopping and ends at its next step if it is long.
 * A place reserved and not yet filled is waited for. Then the clock and
 * the workers are joined.
 *
 * The clock. bg_every runs short periodic work (the export janitor, the
 * token purge, the watch of the vulnerability database) on one thread of
 * the pool with a store connection of its own. A tick must be short (the
 * ticks share the thread): long work is submitted as a job from a tick.
 */
#ifndef IMGSECD_BG_H
#define IMGSECD_BG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "imgsec/err.h"
#include "imgsec/store.h"
#include "imgsec/work.h"

/* The job types: X(enum suffix, name in /metrics). One list, so that a
 * new queue cannot lack its name. */
#define BG_TYPE_MAP(X)                                                                   \
    X(LOGIN, "login")         /* password checks (route_tokens.c) */                     \
    X(EXPORT, "export")       /* export files (export_workers.c) */                      \
    X(MAINT, "maintenance")   /* long maintenance: the rematch of stored images (rematch.c) */ \
    X(SCAN, "scan")           /* registry sync and scan tasks (scan_tasks.c) */

typedef enum {
#define BG_X_ENUM(suffix, name) BG_##suffix,
    BG_TYPE_MAP(BG_X_ENUM)
#undef BG_X_ENUM
    BG_TYPES
} bg_type;

/* Workers and waiting places per type. */
#define BG_LOGIN_WORKERS 2  /* checks at once: 2 x 64 MiB of Argon2 memory at most */
#define BG_LOGIN_QUEUE 32   /* checks waiting beyond those (~2 s of work at most) */
/* exports: --export-workers and --export-queue (config.h) */
#define BG_MAINT_WORKERS 1  /* one maintenance job at a time */
#define BG_MAINT_QUEUE 1    /* and one more waiting: a change during a run is one more run */
/* scan tasks: --scan-workers (config.h) workers and no waiting place: each
 * job drains the tasks' waiting images itself (scan_tasks.h) */
#define BG_TICKS_MAX WORK_TICKS_MAX /* bg_every registrations */
#define BG_EVERY_MAX_MS WORK_EVERY_MAX_MS /* longer intervals are taken as a year */

typedef struct bg bg;

/* One job: the library pool's (work.h), its type a bg_type. run is called
 * on a worker of the type with that worker's store connection; cancel
 * (NULL: such a job is run even at stop) instead of run for a job that had
 * not started when the pool stopped. Either must settle and free the job:
 * the pool does not touch it once it has called one of them. */
typedef work_job bg_job;

/* Opens a store connection per worker and one for the clock on
 * cfg->db_path, and starts the threads: BG_LOGIN_* for logins
 * (IMGSEC_LOGIN_TEST_WORKERS and IMGSEC_LOGIN_TEST_QUEUE replace them,
 * for tests), cfg->export_workers and cfg->export_queue for exports,
 * BG_MAINT_* for maintenance, cfg->scan_workers for scan tasks. Nothing is left running on failure. */
int bg_start(const config *cfg, bg **out, imgsec_err *err);

/* Takes a place of type t; false when all are taken or the pool is
 * stopping: the caller refuses the work. */
bool bg_reserve(bg *b, bg_type t);
/* Gives a reserved place back unfilled (the job was not made after all). */
void bg_unreserve(bg *b, bg_type t);
/* Queues job on a place of job->type taken with bg_reserve; the job is
 * the pool's from here on (see bg_job). */
void bg_submit(bg *b, bg_job *job);
/* Places of type t taken now (reserved, waiting or running). */
unsigned bg_places(bg *b, bg_type t);
/* A queue as it is now, for monitoring (/metrics): jobs submitted and not
 * yet started, jobs running, places taken (those two plus places reserved
 * and not yet filled), and workers + queue. */
typedef work_queue_stats bg_queue_stats;
/* Every type's, read at one instant (under the pool's lock). */
void bg_stats_get(bg *b, bg_queue_stats out[BG_TYPES]);
/* A short lowercase name of the type ("login", "export", "maintenance"),
 * the metrics' queue label. */
const char *bg_type_name(bg_type t);

/* True once bg_stop began: long jobs end at their next step. */
bool bg_stopping(bg *b);

/* Runs fn(ctx, st) on the clock every every_ms (clamped to 1 ..
 * BG_EVERY_MAX_MS), the first time every_ms from now, until bg_stop; st
 * is the clock's store connection.
 * ctx must stay valid until bg_stop has returned. IMGSEC_EINTERNAL when
 * BG_TICKS_MAX are registered already. */
int bg_every(bg *b, int64_t every_ms, void (*fn)(void *ctx, store *st), void *ctx,
             imgsec_err *err);

/* Stops as the header says and joins every thread; a second call does
 * nothing. The pool stays valid (bg_reserve says false) until bg_free.
 * NULL is fine for both. */
void bg_stop(bg *b);
void bg_free(bg *b);

#endif
