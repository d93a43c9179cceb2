/* pool.c - see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned size, nfree;
    store **all;
    store **free_list;
};

int store_pool_open(const char *db_path, unsigned size, store_pool **out, imgsec_err *err)
{
    store_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->all = calloc(size, sizeof *p->all)) ||
        !(p->free_list = calloc(size, sizeof *p->free_list))) {
        if (p)
            free(p->all);
        free(p);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    for (unsigned i = 0; i < size; i++) {
        int rc = store_open(db_path, &p->all[i], err);
        if (rc != IMGSEC_OK) {
            store_pool_close(p);
            return rc;
        }
        p->size++;
        p->free_list[p->nfree++] = p->all[i];
    }
    *out = p;
    return IMGSEC_OK;
}

void store_pool_close(store_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->size; i++)
        store_close(p->all[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->all);
    free(p->free_list);
    free(p);
}

store *store_pool_acquire(store_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        pthread_cond_wait(&p->freed, &p->lock);
    store *st = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return st;
}

void store_pool_release(store_pool *p, store *st)
{
    pthread_mutex_lock(&p->lock);
    p->free_list[p->nfree++] = st;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}
