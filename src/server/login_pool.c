/* login_pool.c - see login_pool.h. */
#include "login_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "imgsec/util.h"

#define LOGIN_TEST_WORKERS_MAX 16
#define LOGIN_TEST_QUEUE_MAX 4096

typedef struct {
    struct login_pool *p;
    store *st;
    pthread_t thread;
} worker;

struct login_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;   /* a task queued, or the last place given back while stopping */
    login_task *head, *tail;
    unsigned places;       /* reserved + queued + running */
    unsigned capacity;     /* workers + queue */
    bool stopping;
    worker *workers;
    unsigned nworkers;     /* with a store connection */
    unsigned nthreads;     /* started */
};

static void *worker_main(void *arg)
{
    worker *w = arg;
    login_pool *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        /* While stopping, a place may still be reserved by a handler about
         * to submit: only when none is left is there nothing more to run. */
        while (!p->head && !(p->stopping && p->places == 0))
            pthread_cond_wait(&p->wake, &p->lock);
        if (!p->head)
            break;
        login_task *t = p->head;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        t->run(t, w->st); /* t belongs to its request from here on */
        pthread_mutex_lock(&p->lock);
        p->places--;
        if (p->stopping && p->places == 0)
            pthread_cond_broadcast(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* A test knob from the environment within [min, max], or fallback. */
static unsigned env_knob(const char *name, int64_t min, int64_t max, unsigned fallback)
{
    const char *s = getenv(name);
    int64_t v;
    if (!s || !*s || !util_parse_int64(s, &v) || v < min || v > max)
        return fallback;
    return (unsigned)v;
}

int login_pool_start(const char *db_path, login_pool **out, imgsec_err *err)
{
    *out = NULL;
    unsigned nworkers = env_knob("IMGSEC_LOGIN_TEST_WORKERS", 1, LOGIN_TEST_WORKERS_MAX,
                                 LOGIN_WORKERS);
    unsigned queue = env_knob("IMGSEC_LOGIN_TEST_QUEUE", 0, LOGIN_TEST_QUEUE_MAX, LOGIN_QUEUE);
    login_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc(nworkers, sizeof *p->workers))) {
        free(p);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->capacity = nworkers + queue;
    int rc = IMGSEC_OK;
    for (unsigned i = 0; i < nworkers && rc == IMGSEC_OK; i++) {
        p->workers[i].p = p;
        rc = store_open(db_path, &p->workers[i].st, err);
        if (rc == IMGSEC_OK)
            p->nworkers++;
    }
    for (unsigned i = 0; i < p->nworkers && rc == IMGSEC_OK; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            rc = err_set(err, IMGSEC_EINTERNAL, "cannot start the login threads");
        else
            p->nthreads++;
    }
    if (rc != IMGSEC_OK) {
        login_pool_stop(p);
        login_pool_free(p);
        return rc;
    }
    *out = p;
    return IMGSEC_OK;
}

bool login_pool_reserve(login_pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool ok = !p->stopping && p->places < p->capacity;
    if (ok)
        p->places++;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void login_pool_submit(login_pool *p, login_task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void login_pool_stop(login_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->workers[i].thread, NULL);
    p->nthreads = 0;
}

void login_pool_free(login_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nworkers; i++)
        store_close(p->workers[i].st);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}
