/* login_pool.h - password checks off the HTTP threads.
 *
 * A login (POST /v3/auth/tokens) costs an Argon2id verification: 64 MiB
 * and 50-150 ms of one core. Run in the access handler it would hold a
 * libmicrohttpd thread, and with it every other connection that thread
 * serves, for that long, on a route that anyone can call without
 * credentials. The token route instead suspends its connection
 * (http_suspend), hands the check to this pool, and answers once a worker
 * has resumed it (http_resume).
 *
 * The pool is bounded: LOGIN_WORKERS threads, so at most that many Argon2
 * buffers exist at once, and LOGIN_QUEUE checks waiting beyond them; a
 * login beyond that is refused (429) without any work. Each worker has a
 * store connection of its own, so a check never waits for one of the HTTP
 * threads' connections (pool.h).
 *
 * Stopping runs every check already accepted: each waiting request gets
 * its answer (or at least is resumed) before the daemon stops, as
 * libmicrohttpd requires of suspended connections.
 */
#ifndef IMGSECD_LOGIN_POOL_H
#define IMGSECD_LOGIN_POOL_H

#include <stdbool.h>

#include "imgsec/err.h"
#include "imgsec/store.h"

#define LOGIN_WORKERS 2  /* checks at once: 2 x 64 MiB of Argon2 memory at most */
#define LOGIN_QUEUE 32   /* checks waiting beyond those (~2 s of work at most) */

typedef struct login_pool login_pool;

/* One check. run is called on a worker with that worker's store
 * connection; it must end by handing its request back (http_resume), and
 * the pool does not touch the task once run is called. */
typedef struct login_task {
    void (*run)(struct login_task *t, store *st);
    struct login_task *next;
} login_task;

/* Opens a store connection per worker on db_path and starts the threads.
 * IMGSEC_LOGIN_TEST_WORKERS and IMGSEC_LOGIN_TEST_QUEUE (tests only)
 * replace LOGIN_WORKERS and LOGIN_QUEUE. */
int login_pool_start(const char *db_path, login_pool **out, imgsec_err *err);

/* Takes a place (running or waiting); false when all are taken or the
 * pool has stopped: the caller refuses the login. A place taken must be
 * filled with login_pool_submit. */
bool login_pool_reserve(login_pool *p);
/* Queues t on a place taken with login_pool_reserve. */
void login_pool_submit(login_pool *p, login_task *t);

/* Refuses new places, runs every task reserved or queued, joins the
 * threads. The pool stays valid (login_pool_reserve says false) until
 * login_pool_free. NULL is fine for both. */
void login_pool_stop(login_pool *p);
void login_pool_free(login_pool *p);

#endif
