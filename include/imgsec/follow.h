/* follow.h - keeps a query index equal to the store (a SQLite file or a
 * PostgreSQL database).
 *
 * The server answers from memory, but the database is the truth and other
 * processes (the CLI, other imgsecd nodes on one PostgreSQL) write it too.
 * A follower owns a thread, the only writer of the index, and store
 * connections of its own. follower_sync asks the database whether anyone
 * committed since the last look (store_data_version: SQLite's PRAGMA
 * data_version, a few hundred nanoseconds; on PostgreSQL one indexed
 * statement, a round trip to the server); only if the index does not yet
 * reflect those commits does the caller wait, for the thread to read the
 * change log and apply the touched images to the index as one write batch.
 * So a request never sees state older than the file, nor half of a bulk
 * ingest, and a request that needs no new commit never waits at all: not
 * for the thread, not for another request's sync. The thread also polls
 * the file (SQLite), or is woken by the writers' notifications
 * (PostgreSQL LISTEN/NOTIFY, follower_opts), so most commits are applied
 * before anyone asks. If the log
 * was pruned past the follower's position it rebuilds the index from a
 * full snapshot. A sync that fails part-way publishes nothing (readers
 * keep the last whole state; the requests waiting for it get its error)
 * and is retried after a pause that doubles from 10 ms to 1 s while the
 * failures last. src/lib/follow.c explains why this is correct.
 */
#ifndef IMGSEC_FOLLOW_H
#define IMGSEC_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/index.h"

typedef struct follower follower;

/* How the follower learns of other processes' commits between requests. */
typedef struct {
    /* PostgreSQL: LISTEN for the writers' notifications (store.h
     * STORE_CHANGES_CHANNEL) on a connection and thread of its own, and
     * sync when one arrives or that connection was made again; ignored
     * on SQLite. A missed notification costs only speed: requests still
     * probe (follower_sync). */
    bool listen;
    /* Milliseconds between unwoken looks (a probe; a sync if behind). 0:
     * 10 without a listener, 1000 with one (a fallback, for a listener
     * that cannot reach the server). */
    int64_t poll_ms;
} follower_opts;

/* Opens db_path, builds ix from a full snapshot, starts the thread. ix is
 * borrowed, and from now on written by the follower alone. opts NULL:
 * no listener, a look every 10 ms (follower_open). */
int follower_open_opts(const char *db_path, imgsec_index *ix, const follower_opts *opts,
                       follower **out, imgsec_err *err);
int follower_open(const char *db_path, imgsec_index *ix, follower **out, imgsec_err *err);
void follower_close(follower *f);

/* Returns once ix reflects every commit made to the file before the call.
 * Thread-safe; one probe and no wait when the index is already there.
 * When commits came but none changed an image (the change log still ends
 * at the index's position: a login, a task, the server's own start), one
 * read of the log's end on a probe connection and no wait either, not
 * even for a sync or copy the thread is running. */
int follower_sync(follower *f, imgsec_err *err);

/* The two halves of follower_sync, for callers that key caches on the
 * file: follower_generation probes and returns the generation of the file
 * now (it changes whenever any connection commits, so anything derived
 * from the file at generation g is still true while the generation is g);
 * follower_sync_to(f, g) returns once ix reflects generation g. */
int64_t follower_generation(follower *f);
int follower_sync_to(follower *f, int64_t need, imgsec_err *err);

/* The index's content, named for caches (result_cache.h). A view taken
 * with follower_view_begin names the content readers see from then on:
 * content is a number that moves (up, never back, never to a value used
 * before in this process) only when a publish changes the index, that is
 * when the change-log position moves or the index is rebuilt; a commit
 * that touches no image (a login, a revocation, an export task) leaves it
 * alone. Begin says false while such a publish is under way (then there is
 * no name to give; ask again later or do without). A reader that counted
 * between a begin that said true and a follower_view_still that says true
 * counted exactly the content v names. Lock-free: two atomic loads. */
typedef struct {
    int64_t content; /* the name: the seqlock's (even) value at begin, halved */
} follower_view;
bool follower_view_begin(follower *f, follower_view *v);
bool follower_view_still(follower *f, const follower_view *v);

/* Change-log position the index reflects, and how many full rebuilds ran. */
int64_t follower_position(follower *f);
int64_t follower_rebuilds(follower *f);

/* What started a sync of the follower thread. */
typedef enum {
    FOLLOW_BY_REQUEST, /* a request's probe saw a commit the index lacked */
    FOLLOW_BY_NOTIFY,  /* the listener woke the thread (a notification, a reconnection) */
    FOLLOW_BY_POLL,    /* an unwoken look (follower_opts.poll_ms) */
    FOLLOW_CAUSES
} follow_cause;

/* What following cost the requests, since open. */
typedef struct {
    int64_t syncs;         /* syncs the thread ran since open */
    int64_t waits;         /* follower_sync calls that had to wait for a commit */
    int64_t wait_ns_total; /* and how long they waited, in all */
    int64_t wait_ns_max;   /* and at most */
    int64_t probe_ns_max;  /* the longest probe (store_data_version, its lock included) */
    int64_t syncs_by[FOLLOW_CAUSES]; /* syncs begun, by cause (a sync that fails counts too) */
    int64_t notifications;     /* notifications the listener took */
    int64_t listen_reconnects; /* times its connection was made again */
    int64_t listen_errors;     /* waits that found the connection lost */
    bool listening;            /* a listener runs (PostgreSQL, follower_opts.listen) */
    int64_t quiet;             /* follower_sync calls behind the file that needed no
                                  sync: the change log had not moved since the
                                  index's position (no image changed) */
} follower_stats;
void follower_stats_get(follower *f, follower_stats *out);

/* Runs fn(position, arg) while no sync can change ix: position is the
 * change-log position ix reflects during the call. Used by exports
 * (follow_snapshot.c) to pair the index with a store snapshot of the same
 * position; fn must be short and must not call follower_sync. Returns fn's
 * result. */
int follower_hold(follower *f, int (*fn)(int64_t position, void *arg), void *arg);

#endif
