/* index_bulk.c - a full rebuild's vulnerability postings, built on a
 * second thread (see index_internal.h, "bulk").
 *
 * A full rebuild (a batch begun with index_clear) spends about half of
 * its indexing in the vulnerability postings: a hash lookup of the
 * (vul_id, vul_type) term per aggregate, and an append to the term's
 * postings and the row's references. Nothing else in an instance reads or
 * writes ix->vuls while the batch is being built (readers use the other
 * instance), so during a rebuild the writer hands each image's postings
 * to a worker thread that owns ix->vuls until the batch ends:
 *
 *   - rows_upsert (attach_postings) writes the image's row and its
 *     postings (key bytes and the 16-byte posting, everything computed)
 *     into the current chunk; a full chunk goes to the worker's queue.
 *   - The worker applies chunks in the order they were queued, each
 *     record (one row) with postings_row_add and postings_row_trim, as
 *     attach_postings would have: the same adds in the same order, so the
 *     postings, their term ids and positions are those of a serial build.
 *   - Anything that reads or changes ix->vuls outside the worker first
 *     waits until the worker has applied every chunk (bulk_drain): a
 *     detach (an image replaced or removed within the batch, or an attach
 *     that failed), the end of the batch (bulk_stop), rows_destroy.
 *
 * Out of memory in the worker is remembered and reported by the next
 * drain or stop (-1): the batch is then incomplete and must not be
 * published (index_write_flush, index_write_end). Memory in flight is
 * bounded: at most BULK_MAX_QUEUED chunks wait, after which the writer
 * waits for the worker.
 */
#include "index_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "index_key.h"

#define BULK_CHUNK (256 * 1024) /* bytes of records per chunk, at least */
#define BULK_MAX_QUEUED 16

typedef struct bulk_chunk {
    struct bulk_chunk *next;
    size_t len, cap;
    unsigned char data[];
} bulk_chunk;

/* One record: a row and its postings, each posting followed by its key. */
typedef struct {
    uint32_t row, n;
} rec_head;
typedef struct {
    posting p;
    uint32_t klen;
} rec_item;

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

struct ix_bulk {
    postings *P;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more, idle;
    bulk_chunk *head, *tail;  /* queued, oldest first */
    size_t queued;
    bool busy;                /* the worker is applying a chunk */
    bool stop;
    bool failed;              /* a postings_row_add ran out of memory */
    bulk_chunk *cur;          /* the writer's chunk being filled */
};

/* Applies one chunk's records to P. -1 when out of memory. */
static int chunk_apply(postings *P, const bulk_chunk *c)
{
    size_t at = 0;
    while (at < c->len) {
        rec_head h;
        memcpy(&h, c->data + at, sizeof h);
        at += sizeof h;
        for (uint32_t i = 0; i < h.n; i++) {
            rec_item it;
            memcpy(&it, c->data + at, sizeof it);
            at += sizeof it;
            if (postings_row_add(P, (const char *)c->data + at, it.klen, it.p) != 0)
                return -1;
            at += ALIGN8(it.klen);
        }
        postings_row_trim(P, h.row);
    }
    return 0;
}

static void *bulk_main(void *arg)
{
    ix_bulk *b = arg;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->head && !b->stop)
            pthread_cond_wait(&b->more, &b->lock);
        if (!b->head)
            break; /* stopping, and nothing left */
        bulk_chunk *c = b->head;
        b->head = c->next;
        if (!b->head)
            b->tail = NULL;
        b->queued--;
        b->busy = true;
        bool failed = b->failed;
        pthread_cond_broadcast(&b->idle); /* room in the queue */
        pthread_mutex_unlock(&b->lock);
        int rc = failed ? -1 : chunk_apply(b->P, c);
        free(c);
        pthread_mutex_lock(&b->lock);
        b->busy = false;
        if (rc != 0)
            b->failed = true;
        pthread_cond_broadcast(&b->idle);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int bulk_start(ix_inst *ix)
{
    ix_bulk *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->P = &ix->vuls;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->more, NULL);
    pthread_cond_init(&b->idle, NULL);
    if (pthread_create(&b->thread, NULL, bulk_main, b) != 0) {
        pthread_cond_destroy(&b->idle);
        pthread_cond_destroy(&b->more);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return -1;
    }
    ix->bulk = b;
    return 0;
}

/* Hands the current chunk to the worker (waiting while the queue is full). */
static void chunk_send(ix_bulk *b)
{
    bulk_chunk *c = b->cur;
    b->cur = NULL;
    if (!c)
        return;
    if (c->len == 0) {
        free(c);
        return;
    }
    pthread_mutex_lock(&b->lock);
    while (b->queued >= BULK_MAX_QUEUED)
        pthread_cond_wait(&b->idle, &b->lock);
    c->next = NULL;
    if (b->tail)
        b->tail->next = c;
    else
        b->head = c;
    b->tail = c;
    b->queued++;
    pthread_cond_signal(&b->more);
    pthread_mutex_unlock(&b->lock);
}

int bulk_drain(ix_inst *ix)
{
    ix_bulk *b = ix->bulk;
    if (!b)
        return 0;
    chunk_send(b);
    pthread_mutex_lock(&b->lock);
    while (b->head || b->busy)
        pthread_cond_wait(&b->idle, &b->lock);
    bool failed = b->failed;
    pthread_mutex_unlock(&b->lock);
    return failed ? -1 : 0;
}

int bulk_stop(ix_inst *ix)
{
    ix_bulk *b = ix->bulk;
    if (!b)
        return 0;
    chunk_send(b);
    pthread_mutex_lock(&b->lock);
    b->stop = true;
    pthread_cond_signal(&b->more);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    bool failed = b->failed;
    pthread_cond_destroy(&b->idle);
    pthread_cond_destroy(&b->more);
    pthread_mutex_destroy(&b->lock);
    free(b);
    ix->bulk = NULL;
    return failed ? -1 : 0;
}

int bulk_add_vuls(ix_inst *ix, uint32_t row, const image_summary *s)
{
    ix_bulk *b = ix->bulk;
    size_t need = sizeof(rec_head);
    uint32_t n = 0;
    for (size_t i = 0; i < s->n_vuls; i++)
        if (s->vuls[i].n > 0) {
            need += sizeof(rec_item) + ALIGN8(KEY_VUL_LEN(strlen(s->vuls[i].vul_id)));
            n++;
        }
    if (n == 0)
        return 0; /* attach_postings would add nothing, and its trim does nothing */
    if (b->cur && b->cur->len + need > b->cur->cap)
        chunk_send(b);
    if (!b->cur) {
        size_t cap = need > BULK_CHUNK ? need : BULK_CHUNK;
        if (!(b->cur = malloc(sizeof *b->cur + cap)))
            return -1;
        b->cur->len = 0;
        b->cur->cap = cap;
    }
    unsigned char *d = b->cur->data + b->cur->len;
    rec_head h = {row, n};
    memcpy(d, &h, sizeof h);
    d += sizeof h;
    for (size_t i = 0; i < s->n_vuls; i++) {
        const vul_agg *v = &s->vuls[i];
        if (v->n <= 0)
            continue;
        size_t len = strlen(v->vul_id);
        rec_item it = {{.row = row, .n = (uint32_t)v->n, .seq = (uint32_t)v->rep_seq,
                        .cvss = pcvss_code(v->has_cvss, v->cvss),
                        .rcvss = pcvss_code(v->has_rep_cvss, v->rep_cvss),
                        .v = (uint8_t)v->rank},
                       (uint32_t)KEY_VUL_LEN(len)};
        memcpy(d, &it, sizeof it);
        d += sizeof it;
        key_vul_write((char *)d, v->vul_id, len, (unsigned char)v->type);
        d += ALIGN8(it.klen);
    }
    b->cur->len += need;
    return 0;
}
