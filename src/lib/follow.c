/* follow.c - see imgsec/follow.h.
 *
 * Who does what:
 *
 *   - A request calls follower_sync. It asks the database, on one of a few
 *     connections kept for that alone (the probes), whether anyone
 *     committed since that connection's last look (store_data_version,
 *     under the connection's mutex for that one statement: SQLite's PRAGMA
 *     data_version, or on PostgreSQL the change log's last seq plus the
 *     auth epoch, read outside any transaction). Each change a probe
 *     sees starts a new generation of the file; the request needs the
 *     generation current after its probe. If the published
 *     index already reflects it, the request goes on at once: the usual
 *     case, which costs one probe and no other lock.
 *   - Otherwise the request asks the follower thread for a sync and waits
 *     until the index reflects its generation: the commits made before it
 *     arrived must be in its answer (a server never answers from state
 *     older than the file). It waits for that data, never for a lock: the
 *     queries of others go on meanwhile on the published instance.
 *   - The follower thread alone reads the change log (on its own
 *     connection) and writes the index. A sync probes first, then reads
 *     every change from a snapshot that starts after that probe, applies
 *     it as one batch to the hidden instance of the index, publishes it,
 *     and wakes the waiters; only then does it bring the other instance
 *     up to date (index_catch_up), while nobody waits for it. It also
 *     polls every FOLLOW_POLL_MS, so that commits by other processes are
 *     usually applied before a request has to ask.
 *
 * Why it is correct: a commit C made before request R arrived is seen by
 * R's probe connection, at R's probe or earlier, so R's generation is at
 * least the one that counted C (probe() below). A sync that publishes
 * generation g got g from its own probe before its snapshot began, so its
 * snapshot holds C.
 *
 * A sync that fails part-way (a bad row, SQLite I/O, out of memory)
 * publishes nothing: it aborts its batch, so readers keep the last whole
 * state, and the index tells the next sync whether the hidden instance
 * still holds that state (then the changes are read again) or must be
 * rebuilt in full. Failed syncs are retried after a pause that doubles
 * from FOLLOW_POLL_MS up to FOLLOW_RETRY_MAX_MS, so that a lasting fault
 * (a full rebuild failing at the same row) does not take a core.
 */
#include "imgsec/follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "imgsec/store.h"
#include "imgsec/util.h"

#define FOLLOW_POLL_MS 10
#define FOLLOW_RETRY_MAX_MS 1000
#define FOLLOW_PROBES 4

/* A connection for store_data_version only. There are several so that
 * request threads do not queue behind one another's probe: each probe
 * takes whichever is free. */
typedef struct {
    store *st;
    pthread_mutex_t lock;
    int64_t dv;                /* the last store_data_version seen on st */
    int64_t ns_max;            /* the longest probe on it, lock wait included */
} probe_conn;

struct follower {
    imgsec_index *ix;
    store *st;                 /* the follower thread's (and open's) alone */
    probe_conn probes[FOLLOW_PROBES];
    atomic_llong file_gen;     /* +1 each time a probe sees a change */
    atomic_llong applied_gen;  /* generation the published index reflects */
    atomic_ullong content;     /* seqlock: odd while a publish that changes the index runs;
                                * content / 2 names the index's content (follower_view) */

    pthread_mutex_t hold;      /* held by each apply, and by follower_hold (exports) */
    pthread_mutex_t lock;      /* guards the fields below */
    pthread_cond_t kick;       /* wakes the follower thread */
    pthread_cond_t done;       /* a sync finished */
    bool wanted, stop;
    int64_t started, finished; /* syncs, counted */
    int last_rc;               /* and the outcome of the last one */
    imgsec_err last_err;
    int64_t waits, wait_ns_total, wait_ns_max; /* follower_stats */
    int64_t position;          /* change-log seq the index reflects */
    int64_t rebuilds;
    bool thread_started;
    pthread_t thread;
};

typedef struct {
    imgsec_index *ix;
    imgsec_err *err;
} apply_ctx;

static int apply_upsert(const image_summary *s, void *arg)
{
    apply_ctx *c = arg;
    return index_upsert(c->ix, s, c->err);
}

static void apply_gone(int64_t id, void *arg)
{
    apply_ctx *c = arg;
    index_remove(c->ix, id);
}

/* The generation of the file as of now.
 *
 * Each probe connection sees every commit (none of them writes; on
 * PostgreSQL each probe is a statement of its own, whose snapshot holds
 * every transaction committed before it began, whichever process or node
 * committed it), so a
 * change seen on any of them moves the one shared counter; the same commit
 * seen by two connections moves it twice, which only costs the caches an
 * extra miss. What the syncs rely on: a generation g returned here was
 * taken after a probe that had seen every commit made before the call
 * began (a change: g is the increment that came after the probe; no
 * change: the connection's previous probe saw them all, and g is at least
 * the generation that probe returned). So a snapshot that starts after the
 * counter reached g holds every one of those commits. */
static int64_t probe(follower *f)
{
    int64_t t0 = util_mono_ns();
    probe_conn *p = NULL;
    for (size_t i = 0; i < FOLLOW_PROBES && !p; i++)
        if (pthread_mutex_trylock(&f->probes[i].lock) == 0)
            p = &f->probes[i];
    if (!p) {
        p = &f->probes[(uint64_t)t0 % FOLLOW_PROBES];
        pthread_mutex_lock(&p->lock);
    }
    int64_t dv = store_data_version(p->st);
    int64_t g;
    if (dv != p->dv || dv < 0) { /* an error counts as a change: sync, and see */
        p->dv = dv;
        g = atomic_fetch_add(&f->file_gen, 1) + 1;
    } else {
        g = atomic_load(&f->file_gen);
    }
    int64_t took = util_mono_ns() - t0;
    if (took > p->ns_max)
        p->ns_max = took;
    pthread_mutex_unlock(&p->lock);
    return g;
}

static void set_position(follower *f, int64_t seq, bool rebuilt)
{
    pthread_mutex_lock(&f->lock);
    f->position = seq;
    f->rebuilds += rebuilt;
    pthread_mutex_unlock(&f->lock);
}

/* Publishes the batch and the position it reflects. A batch that moves
 * the position or rebuilds changes the content: the seqlock is odd from
 * before the publish until the position is set, so that a follower_view
 * taken on either side names the content its reader counted. A batch of
 * no change (a commit that touched no image: a login, an export task)
 * publishes an equal index and leaves the content's name alone. */
static void publish(follower *f, int64_t seq, bool rebuilt)
{
    bool changes = rebuilt || seq != f->position;
    if (changes)
        atomic_fetch_add(&f->content, 1);
    /* published, whatever it returns: see rebuild_batch and changes_batch */
    (void)index_write_end(f->ix);
    set_position(f, seq, rebuilt);
    if (changes)
        atomic_fetch_add(&f->content, 1);
}

/* The rest of a write batch (begun by the caller) as a full rebuild:
 * readers see the old index or the new one, never a part. */
static int rebuild_batch(follower *f, imgsec_err *err)
{
    apply_ctx c = {f->ix, err};
    int64_t seq = 0;
    index_clear(f->ix);
    int rc = store_summary_foreach(f->st, apply_upsert, &c, &seq, err);
    if (rc != IMGSEC_OK) {
        index_write_abort(f->ix);
        return rc;
    }
    /* published, whatever it returns (a batch with index_clear is never
     * refused); if it could not be recorded for the second instance, the
     * next begin asks for another rebuild */
    publish(f, seq, true);
    return IMGSEC_OK;
}

/* The rest of a write batch (begun by the caller, on an up-to-date hidden
 * instance): the changes since the position, or everything if the log was
 * pruned past it. */
static int changes_batch(follower *f, imgsec_err *err)
{
    apply_ctx c = {f->ix, err};
    int64_t seq = f->position;
    int rc = store_changes_since(f->st, f->position, apply_upsert, apply_gone, &c, &seq, err);
    if (rc == IMGSEC_ENOTFOUND) /* the log was pruned past us; the batch starts again */
        return rebuild_batch(f, err);
    if (rc != IMGSEC_OK) {
        index_write_abort(f->ix);
        return rc;
    }
    publish(f, seq, false); /* published: as in rebuild_batch */
    return IMGSEC_OK;
}

static int follower_apply_held(follower *f, imgsec_err *err);

/* One sync, with the index and position held still for follower_hold. */
static int follower_apply(follower *f, imgsec_err *err)
{
    pthread_mutex_lock(&f->hold);
    int rc = follower_apply_held(f, err);
    pthread_mutex_unlock(&f->hold);
    return rc;
}

/* One sync: what changed since the position, or everything when the
 * index asks for it (its hidden instance could not be kept equal, or the
 * last batch was aborted after changing it). */
static int follower_apply_held(follower *f, imgsec_err *err)
{
    int64_t gen = probe(f);
    int rc = index_write_begin(f->ix) == IMGSEC_OK ? changes_batch(f, err)
                                                    : rebuild_batch(f, err);
    if (rc == IMGSEC_OK)
        atomic_store(&f->applied_gen, gen);
    return rc;
}

/* The pause before retrying after a sync failed, given the last one. */
static int64_t retry_ms_next(int64_t last)
{
    if (last <= 0)
        return FOLLOW_POLL_MS;
    return last * 2 < FOLLOW_RETRY_MAX_MS ? last * 2 : FOLLOW_RETRY_MAX_MS;
}

/* Under f->lock: sleeps ms, through kicks (requests asking for a sync
 * wait for the retry like everyone), waking early only to stop. */
static void pause_locked(follower *f, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    util_timespec_add_ms(&until, ms);
    while (!f->stop && pthread_cond_timedwait(&f->kick, &f->lock, &until) != ETIMEDOUT)
        ;
}

static void *follower_main(void *arg)
{
    follower *f = arg;
    int64_t retry_ms = 0; /* > 0 after a failed sync: the pause before the next */
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        if (retry_ms > 0) {
            pause_locked(f, retry_ms);
            if (f->stop)
                break;
        }
        if (!f->wanted) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            util_timespec_add_ms(&ts, FOLLOW_POLL_MS);
            pthread_cond_timedwait(&f->kick, &f->lock, &ts);
            if (f->stop)
                break;
            if (!f->wanted) {
                pthread_mutex_unlock(&f->lock);
                bool behind = probe(f) > atomic_load(&f->applied_gen);
                pthread_mutex_lock(&f->lock);
                if (!behind && !f->wanted)
                    continue;
            }
        }
        f->wanted = false;
        f->started++;
        pthread_mutex_unlock(&f->lock);

        imgsec_err err = {0};
        int rc = follower_apply(f, &err);
        retry_ms = rc == IMGSEC_OK ? 0 : retry_ms_next(retry_ms);

        pthread_mutex_lock(&f->lock);
        f->finished++;
        f->last_rc = rc;
        f->last_err = err;
        pthread_cond_broadcast(&f->done);
        pthread_mutex_unlock(&f->lock);
        index_catch_up(f->ix); /* nobody waits for this one */
        pthread_mutex_lock(&f->lock);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int follower_open(const char *db_path, imgsec_index *ix, follower **out, imgsec_err *err)
{
    follower *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    f->ix = ix;
    atomic_init(&f->applied_gen, 0);
    atomic_init(&f->content, 0);
    atomic_init(&f->file_gen, 0);
    for (size_t i = 0; i < FOLLOW_PROBES; i++)
        pthread_mutex_init(&f->probes[i].lock, NULL);
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->hold, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->kick, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&f->done, NULL);
    int rc = store_open(db_path, &f->st, err);
    if (rc == IMGSEC_OK)
        for (size_t i = 0; i < FOLLOW_PROBES && rc == IMGSEC_OK; i++)
            rc = store_open(db_path, &f->probes[i].st, err);
    if (rc == IMGSEC_OK) {
        /* generation 0 is what the probe sees now; the snapshot of the
         * build starts after that look, so it holds generation 0 */
        for (size_t i = 0; i < FOLLOW_PROBES; i++)
            f->probes[i].dv = store_data_version(f->probes[i].st);
        index_write_begin(ix); /* a rebuild, whatever it answers */
        rc = rebuild_batch(f, err);
    }
    /* The second instance now, before anyone asks: replaying the build
     * later would hold up the first sync that a request waits for. */
    if (rc == IMGSEC_OK)
        index_catch_up(ix);
    if (rc == IMGSEC_OK) {
        if (pthread_create(&f->thread, NULL, follower_main, f) != 0)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the follower thread");
        else
            f->thread_started = true;
    }
    if (rc != IMGSEC_OK) {
        follower_close(f);
        return rc;
    }
    *out = f;
    return IMGSEC_OK;
}

void follower_close(follower *f)
{
    if (!f)
        return;
    if (f->thread_started) {
        pthread_mutex_lock(&f->lock);
        f->stop = true;
        pthread_cond_broadcast(&f->kick);
        pthread_cond_broadcast(&f->done);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    for (size_t i = 0; i < FOLLOW_PROBES; i++)
        store_close(f->probes[i].st);
    store_close(f->st);
    pthread_cond_destroy(&f->kick);
    pthread_cond_destroy(&f->done);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->hold);
    for (size_t i = 0; i < FOLLOW_PROBES; i++)
        pthread_mutex_destroy(&f->probes[i].lock);
    free(f);
}

int64_t follower_generation(follower *f)
{
    return probe(f);
}

int follower_sync(follower *f, imgsec_err *err)
{
    return follower_sync_to(f, probe(f), err);
}

int follower_sync_to(follower *f, int64_t need, imgsec_err *err)
{
    if (atomic_load(&f->applied_gen) >= need)
        return IMGSEC_OK;
    int64_t t0 = util_mono_ns();
    pthread_mutex_lock(&f->lock);
    /* a sync that starts after this point probes after us: when it
     * succeeds, the index holds our generation */
    int64_t ticket = f->started;
    f->wanted = true;
    pthread_cond_signal(&f->kick);
    while (atomic_load(&f->applied_gen) < need && f->finished <= ticket && !f->stop)
        pthread_cond_wait(&f->done, &f->lock);
    int rc = IMGSEC_OK;
    if (atomic_load(&f->applied_gen) < need) {
        if (f->finished > ticket && f->last_rc != IMGSEC_OK) {
            rc = f->last_rc;
            *err = f->last_err;
        } else {
            rc = err_set(err, IMGSEC_EINTERNAL, "the index follower is stopping");
        }
    }
    int64_t waited = util_mono_ns() - t0;
    f->waits++;
    f->wait_ns_total += waited;
    if (waited > f->wait_ns_max)
        f->wait_ns_max = waited;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

bool follower_view_begin(follower *f, follower_view *v)
{
    uint64_t s = atomic_load(&f->content);
    v->content = (int64_t)(s / 2);
    return (s & 1) == 0;
}

bool follower_view_still(follower *f, const follower_view *v)
{
    return atomic_load(&f->content) == (uint64_t)v->content * 2;
}

int64_t follower_position(follower *f)
{
    pthread_mutex_lock(&f->lock);
    int64_t p = f->position;
    pthread_mutex_unlock(&f->lock);
    return p;
}

void follower_stats_get(follower *f, follower_stats *out)
{
    pthread_mutex_lock(&f->lock);
    *out = (follower_stats){f->finished, f->waits, f->wait_ns_total,
                            f->wait_ns_max, 0};
    pthread_mutex_unlock(&f->lock);
    for (size_t i = 0; i < FOLLOW_PROBES; i++) {
        pthread_mutex_lock(&f->probes[i].lock);
        if (f->probes[i].ns_max > out->probe_ns_max)
            out->probe_ns_max = f->probes[i].ns_max;
        pthread_mutex_unlock(&f->probes[i].lock);
    }
}

int64_t follower_rebuilds(follower *f)
{
    pthread_mutex_lock(&f->lock);
    int64_t r = f->rebuilds;
    pthread_mutex_unlock(&f->lock);
    return r;
}

/* Exports (follow_snapshot.c): no apply runs while fn does, and the
 * position is set inside an apply, so it names the published index. */
int follower_hold(follower *f, int (*fn)(int64_t position, void *arg), void *arg)
{
    pthread_mutex_lock(&f->hold);
    int rc = fn(follower_position(f), arg);
    pthread_mutex_unlock(&f->hold);
    return rc;
}
