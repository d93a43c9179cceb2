/* bg.c - see bg.h.
 *
 * Mechanism. imgsecd's pool is one library pool (work.c: the queues,
 * places, workers, stop and clock) started with one queue per bg_type,
 * sized here from the configuration and the login test knobs, with the
 * database for the workers' and the clock's store connections. Every
 * other function hands its call to the pool as it is.
 */
#include "bg.h"

#include <stdlib.h>

#include "imgsec/util.h"

#define LOGIN_TEST_WORKERS_MAX 16
#define LOGIN_TEST_QUEUE_MAX 4096

_Static_assert(BG_TYPES <= WORK_QUEUES_MAX, "a work pool has a queue per bg_type");

struct bg {
    work_pool *p;
};

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
    work_queue_spec q[BG_TYPES];
    q[BG_LOGIN] = (work_queue_spec){
        .workers = env_knob("IMGSEC_LOGIN_TEST_WORKERS", 1, LOGIN_TEST_WORKERS_MAX,
                            BG_LOGIN_WORKERS),
        .queue = env_knob("IMGSEC_LOGIN_TEST_QUEUE", 0, LOGIN_TEST_QUEUE_MAX, BG_LOGIN_QUEUE)};
    q[BG_EXPORT] = (work_queue_spec){.workers = cfg->export_workers, .queue = cfg->export_queue};
    q[BG_MAINT] = (work_queue_spec){.workers = BG_MAINT_WORKERS, .queue = BG_MAINT_QUEUE};
    q[BG_SCAN] = (work_queue_spec){.workers = cfg->scan_workers, .queue = 0};

    bg *b = calloc(1, sizeof *b);
    if (!b)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    work_opts o = {.queues = q, .n_queues = BG_TYPES, .db_path = cfg->db_path, .clock = true};
    int rc = work_start(&o, &b->p, err);
    if (rc != IMGSEC_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return IMGSEC_OK;
}

bool bg_reserve(bg *b, bg_type t)
{
    return work_reserve(b->p, (unsigned)t);
}

void bg_unreserve(bg *b, bg_type t)
{
    work_unreserve(b->p, (unsigned)t);
}

void bg_submit(bg *b, bg_job *job)
{
    work_submit(b->p, job);
}

unsigned bg_places(bg *b, bg_type t)
{
    return work_places(b->p, (unsigned)t);
}

void bg_stats_get(bg *b, bg_queue_stats out[BG_TYPES])
{
    work_stats(b->p, out);
}

const char *bg_type_name(bg_type t)
{
    static const char *const NAMES[BG_TYPES] = {
#define BG_X_NAME(suffix, name) [BG_##suffix] = name,
        BG_TYPE_MAP(BG_X_NAME)
#undef BG_X_NAME
    };
    return (unsigned)t < BG_TYPES ? NAMES[t] : "other";
}

bool bg_stopping(bg *b)
{
    return work_stopping(b->p);
}

int bg_every(bg *b, int64_t every_ms, void (*fn)(void *ctx, store *st), void *ctx,
             imgsec_err *err)
{
    return work_every(b->p, every_ms, fn, ctx, err);
}

void bg_stop(bg *b)
{
    if (b)
        work_stop(b->p);
}

void bg_free(bg *b)
{
    if (!b)
        return;
    work_free(b->p);
    free(b);
}
