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
 *     up to date (index_catch_up), while nobody waits for it. Commits by
 *     other processes are usually applied before a request has to ask:
 *     on SQLite the thread polls every FOLLOW_POLL_MS; on PostgreSQL
 *     (follower_opts.listen) a listener thread waits on a LISTEN
 *     connection of its own (poll(2) on its socket and on a pipe that
 *     stops it) and wakes the follower thread for each notification
 *     writers send with their change-log rows (store_change_append), and
 *     for a catch-up whenever its connection was made again (what was
 *     sent meanwhile is lost); the follower thread then polls only every
 *     FOLLOW_FALLBACK_MS, for a listener that cannot reach the server.
 *     A wake-up is a hint: it leads to a probe, and the probe decides.
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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/store.h"
#include "imgsec/store_exports.h"
#include "imgsec/util.h"

#define FOLLOW_POLL_MS 10
#define FOLLOW_FALLBACK_MS 1000 /* with a listener (PostgreSQL) */
#define LISTEN_RETRY_MS 250     /* a listener whose connection is lost tries again */
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
    int64_t quiet;             /* syncs that quiet_since answered (follower_stats) */
    int64_t poll_ms;           /* the follower thread looks this often unwoken */
    bool notified;             /* the listener saw a notification (or reconnected) */
    int64_t syncs_by[FOLLOW_CAUSES]; /* follower_stats */
    int64_t notifications, listen_reconnects, listen_errors;
    bool thread_started;
    pthread_t thread;

    /* the listener (PostgreSQL, follower_opts.listen) */
    store *lst;                /* its LISTEN connection, its alone */
    int stop_pipe[2];          /* written at close: the listener's poll returns */
    bool listener_started;
    pthread_t listener;
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

/* applied_gen = max(applied_gen, g): syncs and quiet_since (below) raise
 * it from several threads, and a generation once reflected stays so. */
static void applied_raise(follower *f, int64_t g)
{
    long long cur = atomic_load(&f->applied_gen);
    while (cur < g && !atomic_compare_exchange_weak(&f->applied_gen, &cur, g))
        ;
}

/* Does the index already reflect generation need although no sync has
 * run since? True when the change log ends at the position the published
 * index reflects: the commits since were none of them an image's (a
 * token, a task, a migration at start), and a sync would publish an
 * equal index. The log is read on a probe connection, in a snapshot
 * taken now, after the probe that returned need: that snapshot holds
 * every commit counted by generations up to need (probe()), so if it
 * ends at the position, the index holds them too (the position only
 * moves forward, and is set once its batch is published). No write
 * batch, no wait for the follower thread: at start, /readyz is answered
 * while that thread still copies the second instance of the index. */
static bool quiet_since(follower *f, int64_t need)
{
    probe_conn *p = NULL;
    for (size_t i = 0; i < FOLLOW_PROBES && !p; i++)
        if (pthread_mutex_trylock(&f->probes[i].lock) == 0)
            p = &f->probes[i];
    if (!p) {
        p = &f->probes[(uint64_t)util_mono_ns() % FOLLOW_PROBES];
        pthread_mutex_lock(&p->lock);
    }
    imgsec_err err = {0};
    int64_t last = -1;
    int rc = store_snapshot_begin(p->st, &last, &err);
    if (rc == IMGSEC_OK)
        store_snapshot_end(p->st);
    pthread_mutex_unlock(&p->lock);
    if (rc != IMGSEC_OK)
        return false; /* the sync will say what is wrong */
    pthread_mutex_lock(&f->lock);
    bool quiet = !f->stop && last == f->position;
    if (quiet)
        f->quiet++;
    pthread_mutex_unlock(&f->lock);
    if (quiet)
        applied_raise(f, need);
    return quiet;
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

/* ---- a full rebuild: reading and indexing on two cores ----
 *
 * Reading the snapshot (SQLite, each image's row and aggregates) is about
 * a quarter of a rebuild, indexing the rest. A reader thread, started for
 * the rebuild and joined at its end, runs store_summary_foreach on the
 * follower's connection (nobody else uses it meanwhile) and hands each
 * summary, copied into one block, to the follower thread, which applies
 * them in the same order: the index sees the same upserts from the same
 * thread as before. The queue is bounded (REBUILD_QUEUE summaries), so
 * memory does not grow with the store. A failed upsert stops the reader
 * (its callback returns the error), as a failed callback always did. */

#define REBUILD_QUEUE 1024

typedef struct {
    store *st;
    pthread_mutex_t lock;
    pthread_cond_t more, room;
    image_summary *q[REBUILD_QUEUE]; /* ring */
    size_t head, n;
    bool done, stop;                 /* the reader ended; the writer gave up */
    int rc;                          /* the reader's */
    int64_t seq;
    imgsec_err err;
} rebuild_pipe;

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies *sp to *at (NULL stays NULL) and points *sp at the copy. */
static void str_move(const char **sp, char **at)
{
    if (!*sp)
        return;
    size_t n = strlen(*sp) + 1;
    memcpy(*at, *sp, n);
    *sp = *at;
    *at += n;
}

/* s and everything it points to as one malloc block (free() frees all). */
static image_summary *summary_dup(const image_summary *s)
{
    size_t n = sizeof *s + s->n_vuls * sizeof *s->vuls + s->n_builds * sizeof *s->builds;
    n += str_size(s->project_id) + str_size(s->ep);
#define DUP_SIZE(m, ...) n += str_size(s->m);
    MODEL_IMAGE_STRINGS(DUP_SIZE)
#undef DUP_SIZE
    for (size_t i = 0; i < s->n_vuls; i++)
        n += str_size(s->vuls[i].vul_id);
    for (size_t i = 0; i < s->n_builds; i++)
        n += str_size(s->builds[i].rule_id) + str_size(s->builds[i].risk_name);
    image_summary *d = malloc(n);
    if (!d)
        return NULL;
    *d = *s;
    vul_agg *vuls = (vul_agg *)(d + 1);
    build_agg *builds = (build_agg *)(vuls + s->n_vuls);
    char *at = (char *)(builds + s->n_builds);
    if (s->n_vuls)
        memcpy(vuls, s->vuls, s->n_vuls * sizeof *vuls);
    if (s->n_builds)
        memcpy(builds, s->builds, s->n_builds * sizeof *builds);
    d->vuls = s->n_vuls ? vuls : NULL;
    d->builds = s->n_builds ? builds : NULL;
    str_move(&d->project_id, &at);
    str_move(&d->ep, &at);
#define DUP_MOVE(m, ...) str_move(&d->m, &at);
    MODEL_IMAGE_STRINGS(DUP_MOVE)
#undef DUP_MOVE
    for (size_t i = 0; i < s->n_vuls; i++)
        str_move(&vuls[i].vul_id, &at);
    for (size_t i = 0; i < s->n_builds; i++) {
        str_move(&builds[i].rule_id, &at);
        str_move(&builds[i].risk_name, &at);
    }
    return d;
}

/* The reader's callback: one summary into the queue. */
static int pipe_put(const image_summary *s, void *arg)
{
    rebuild_pipe *p = arg;
    image_summary *d = summary_dup(s);
    if (!d)
        return err_set(&p->err, IMGSEC_EINTERNAL, "out of memory");
    pthread_mutex_lock(&p->lock);
    while (p->n == REBUILD_QUEUE && !p->stop)
        pthread_cond_wait(&p->room, &p->lock);
    bool stop = p->stop;
    if (!stop) {
        p->q[(p->head + p->n) % REBUILD_QUEUE] = d;
        if (p->n++ == 0)
            pthread_cond_signal(&p->more);
    }
    pthread_mutex_unlock(&p->lock);
    if (stop) {
        free(d);
        return IMGSEC_EINTERNAL; /* the writer's error is the one reported */
    }
    return 0;
}

static void *pipe_reader(void *arg)
{
    rebuild_pipe *p = arg;
    int rc = store_summary_foreach(p->st, pipe_put, p, &p->seq, &p->err);
    pthread_mutex_lock(&p->lock);
    p->rc = rc;
    p->done = true;
    pthread_cond_signal(&p->more);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Every image of the snapshot into the index (in a batch begun with
 * index_clear), as store_summary_foreach(f->st, apply_upsert) would, the
 * reading on a second thread. *seq: the snapshot's change-log position. */
static int rebuild_apply(follower *f, int64_t *seq, imgsec_err *err)
{
    rebuild_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    p->st = f->st;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    pthread_cond_init(&p->room, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, pipe_reader, p) != 0) { /* no thread: read here */
        apply_ctx c = {f->ix, err};
        int rc = store_summary_foreach(f->st, apply_upsert, &c, seq, err);
        pthread_cond_destroy(&p->room);
        pthread_cond_destroy(&p->more);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return rc;
    }
    int rc = IMGSEC_OK;
    image_summary *batch[REBUILD_QUEUE];
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->n == 0 && !p->done)
            pthread_cond_wait(&p->more, &p->lock);
        size_t n = p->n;
        for (size_t i = 0; i < n; i++)
            batch[i] = p->q[(p->head + i) % REBUILD_QUEUE];
        p->head = (p->head + n) % REBUILD_QUEUE;
        p->n = 0;
        bool done = p->done;
        if (rc != IMGSEC_OK)
            p->stop = true;
        pthread_cond_signal(&p->room);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < n; i++) {
            if (rc == IMGSEC_OK)
                rc = index_upsert(f->ix, batch[i], err);
            free(batch[i]);
        }
        if (done && n == 0)
            break;
        if (rc != IMGSEC_OK) { /* stop the reader, then drain what it queued */
            pthread_mutex_lock(&p->lock);
            p->stop = true;
            pthread_cond_signal(&p->room);
            pthread_mutex_unlock(&p->lock);
        }
    }
    pthread_join(t, NULL);
    if (rc == IMGSEC_OK && p->rc != IMGSEC_OK) {
        rc = p->rc;
        *err = p->err;
    }
    *seq = p->seq;
    pthread_cond_destroy(&p->room);
    pthread_cond_destroy(&p->more);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return rc;
}

/* The rest of a write batch (begun by the caller) as a full rebuild:
 * readers see the old index or the new one, never a part. */
static int rebuild_batch(follower *f, imgsec_err *err)
{
    int64_t seq = 0;
    index_clear(f->ix);
    int rc = rebuild_apply(f, &seq, err);
    if (rc == IMGSEC_OK)
        rc = index_write_flush(f->ix, err); /* the postings' thread (index.h) */
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
        applied_raise(f, gen);
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
    index_catch_up(f->ix); /* the second instance of the start's build (follower_open) */
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        if (retry_ms > 0) {
            pause_locked(f, retry_ms);
            if (f->stop)
                break;
        }
        follow_cause cause = FOLLOW_BY_REQUEST;
        if (!f->wanted) {
            if (!f->notified) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                util_timespec_add_ms(&ts, f->poll_ms);
                pthread_cond_timedwait(&f->kick, &f->lock, &ts);
                if (f->stop)
                    break;
            }
            if (!f->wanted) {
                cause = f->notified ? FOLLOW_BY_NOTIFY : FOLLOW_BY_POLL;
                f->notified = false; /* the probe below comes after what woke us */
                pthread_mutex_unlock(&f->lock);
                bool behind = probe(f) > atomic_load(&f->applied_gen);
                pthread_mutex_lock(&f->lock);
                if (!behind && !f->wanted)
                    continue;
                if (f->wanted)
                    cause = FOLLOW_BY_REQUEST;
            }
        }
        f->wanted = false;
        f->syncs_by[cause]++;
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

/* ---- the listener (PostgreSQL) ---- */

/* Wakes the follower thread for a look (a probe, then a sync if behind). */
static void listener_kick(follower *f, int64_t notifications, bool reconnected)
{
    pthread_mutex_lock(&f->lock);
    f->notifications += notifications;
    f->listen_reconnects += reconnected;
    f->notified = true;
    pthread_cond_signal(&f->kick);
    pthread_mutex_unlock(&f->lock);
}

static void *listener_main(void *arg)
{
    follower *f = arg;
    int64_t reconnects = store_reconnects(f->lst);
    for (;;) {
        int fd = store_listen_socket(f->lst);
        struct pollfd pfd[2] = {{.fd = f->stop_pipe[0], .events = POLLIN},
                                {.fd = fd, .events = POLLIN}};
        /* a lost connection: try again after a pause (the driver spaces
         * its attempts too); else sleep until the server sends something */
        int n = poll(pfd, fd >= 0 ? 2 : 1, fd >= 0 ? -1 : LISTEN_RETRY_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break; /* follower_close */
        imgsec_err err = {0};
        int got = store_changes_wait(f->lst, 0, &err); /* takes them, or reconnects */
        int64_t r = store_reconnects(f->lst);
        if (got > 0 || r != reconnects)
            listener_kick(f, got > 0 ? got : 0, r != reconnects);
        reconnects = r;
        if (got < 0) { /* lost: the next round's socket is -1, so it pauses first */
            pthread_mutex_lock(&f->lock);
            f->listen_errors++;
            pthread_mutex_unlock(&f->lock);
        }
    }
    return NULL;
}

/* Opens the LISTEN connection and starts the listener (nothing on
 * SQLite, which has no notifications). */
static int listener_start(follower *f, const char *db_path, imgsec_err *err)
{
    if (!store_db_is_pg(db_path))
        return IMGSEC_OK;
    int rc = store_open(db_path, &f->lst, err);
    if (rc != IMGSEC_OK)
        return rc;
    if ((rc = store_changes_listen(f->lst, err)) != IMGSEC_OK)
        return rc;
    if (pipe2(f->stop_pipe, O_CLOEXEC) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "cannot make the listener's pipe");
    if (pthread_create(&f->listener, NULL, listener_main, f) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "cannot start the listener thread");
    f->listener_started = true;
    return IMGSEC_OK;
}

int follower_open(const char *db_path, imgsec_index *ix, follower **out, imgsec_err *err)
{
    return follower_open_opts(db_path, ix, NULL, out, err);
}

int follower_open_opts(const char *db_path, imgsec_index *ix, const follower_opts *opts,
                       follower **out, imgsec_err *err)
{
    follower *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    f->stop_pipe[0] = f->stop_pipe[1] = -1;
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
    /* listening starts before the build: a commit after the build's
     * snapshot is announced to it, whatever the follower thread does */
    bool listen = opts && opts->listen;
    if (rc == IMGSEC_OK && listen)
        rc = listener_start(f, db_path, err);
    f->poll_ms = opts && opts->poll_ms > 0 ? opts->poll_ms
                 : f->listener_started   ? FOLLOW_FALLBACK_MS
                                         : FOLLOW_POLL_MS;
    if (rc == IMGSEC_OK) {
        /* generation 0 is what the probe sees now; the snapshot of the
         * build starts after that look, so it holds generation 0 */
        for (size_t i = 0; i < FOLLOW_PROBES; i++)
            f->probes[i].dv = store_data_version(f->probes[i].st);
        index_write_begin(ix); /* a rebuild, whatever it answers */
        rc = rebuild_batch(f, err);
    }
    /* The second instance (a copy of the first: index.h) is made by the
     * follower thread as its first act, not here: the index answers from
     * the first instance meanwhile, so the start is ready a copy sooner
     * (about a third of the start at a million images). Only a sync that
     * comes during the copy waits for it, as it would for any batch. */
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
    if (f->listener_started) {
        ssize_t w = write(f->stop_pipe[1], "x", 1);
        (void)w; /* a pipe of one byte never fills */
        pthread_join(f->listener, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (f->stop_pipe[i] >= 0)
            close(f->stop_pipe[i]);
    store_close(f->lst);
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
    if (atomic_load(&f->applied_gen) >= need || quiet_since(f, need))
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
                            f->wait_ns_max, 0, {0}, f->notifications, f->listen_reconnects,
                            f->listen_errors, f->listener_started, f->quiet};
    memcpy(out->syncs_by, f->syncs_by, sizeof out->syncs_by);
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
