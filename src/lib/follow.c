/* follow.c - see imgsec/follow.h. */
#include "imgsec/follow.h"

#include <pthread.h>
#include <stdlib.h>

#include "imgsec/store.h"

struct follower {
    store *st;
    imgsec_index *ix;
    pthread_mutex_t lock;   /* one sync at a time; guards the fields below */
    int64_t data_version;   /* last PRAGMA data_version seen */
    int64_t position;       /* change-log seq the index reflects */
    int64_t rebuilds;
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

/* Full rebuild inside one write batch: readers see the old index or the
 * new one. Called with f->lock held. */
static int follower_rebuild(follower *f, imgsec_err *err)
{
    apply_ctx c = {f->ix, err};
    int64_t seq = 0;
    index_write_begin(f->ix);
    index_clear(f->ix);
    int rc = store_summary_foreach(f->st, apply_upsert, &c, &seq, err);
    index_write_end(f->ix);
    if (rc == IMGSEC_OK) {
        f->position = seq;
        f->rebuilds++;
    }
    return rc;
}

int follower_open(const char *db_path, imgsec_index *ix, follower **out, imgsec_err *err)
{
    follower *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    f->ix = ix;
    pthread_mutex_init(&f->lock, NULL);
    int rc = store_open(db_path, &f->st, err);
    if (rc == IMGSEC_OK) {
        f->data_version = store_data_version(f->st);
        rc = follower_rebuild(f, err);
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
    store_close(f->st);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int follower_sync(follower *f, imgsec_err *err)
{
    pthread_mutex_lock(&f->lock);
    int rc = IMGSEC_OK;
    int64_t dv = store_data_version(f->st);
    if (dv != f->data_version) {
        apply_ctx c = {f->ix, err};
        int64_t seq = f->position;
        index_write_begin(f->ix);
        rc = store_changes_since(f->st, f->position, apply_upsert, apply_gone, &c, &seq, err);
        index_write_end(f->ix);
        if (rc == IMGSEC_OK)
            f->position = seq;
        else if (rc == IMGSEC_ENOTFOUND)
            rc = follower_rebuild(f, err);
        if (rc == IMGSEC_OK)
            f->data_version = dv;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int64_t follower_position(follower *f)
{
    pthread_mutex_lock(&f->lock);
    int64_t p = f->position;
    pthread_mutex_unlock(&f->lock);
    return p;
}

int64_t follower_rebuilds(follower *f)
{
    pthread_mutex_lock(&f->lock);
    int64_t r = f->rebuilds;
    pthread_mutex_unlock(&f->lock);
    return r;
}
