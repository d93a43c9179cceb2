/* index_bulk.c - a full rebuild's vulnerability postings, built on a
 * worker of a pool (work.h; see index_internal.h, "bulk").
 *
 * A full rebuild (a batch begun with index_clear) spends about half of
 * its indexing in the vulnerability postings: a hash lookup of the
 * (vul_id, vul_type) term per aggregate, and an append to the term's
 * postings and the row's references. Nothing else in an instance reads or
 * writes ix->vuls while the batch is being built (readers use the other
 * instance), so during a rebuild the writer hands each image's postings
 * to a worker that owns ix->vuls until the batch ends:
 *
 *   - bulk_start starts a pool of one queue with one worker and
 *     BULK_MAX_QUEUED waiting places, no store, no clock.
 *   - rows_upsert (bulk_add_vuls) writes the image's row and its postings
 *     (key bytes and the 16-byte posting, everything computed) into the
 *     current chunk; a full chunk is a job, submitted on a place taken
 *     with work_reserve_wait: when BULK_MAX_QUEUED chunks wait, the
 *     writer waits for the worker (memory in flight is bounded).
 *   - The one worker runs the chunks one at a time in the order they were
 *     submitted (work.h), each record (one row) with postings_row_add and
 *     postings_row_trim, as attach_postings would have: the same adds in
 *     the same order, so the postings, their term ids and positions are
 *     those of a serial build.
 *   - Anything that reads or changes ix->vuls outside the worker first
 *     waits until every chunk has been applied (bulk_drain: work_wait): a
 *     detach (an image replaced or removed within the batch, or an attach
 *     that failed), the end of the batch (bulk_stop: work_stop, which runs
 *     the chunks still waiting, since they have no cancel function),
 *     rows_destroy.
 *
 * Out of memory in the worker is remembered (failed: written by the one
 * worker only, read by the writer after work_wait or work_stop, which
 * order it) and reported by the next drain or stop (-1): the batch is
 * then incomplete and must not be published (index_write_flush,
 * index_write_end); the chunks after it are freed unapplied.
 */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/work.h"
#include "index_key.h"

#define BULK_CHUNK (256 * 1024) /* bytes of records per chunk, at least */
#define BULK_MAX_QUEUED 16

typedef struct bulk_chunk {
    work_job job; /* first: the pool sees this */
    struct ix_bulk *b;
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
    work_pool *pool;
    bool failed;              /* a postings_row_add ran out of memory (the worker's) */
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

/* The job: applies one chunk (none after a failure) and frees it. */
static void chunk_run(work_job *job, store *st)
{
    (void)st;
    bulk_chunk *c = (bulk_chunk *)job;
    ix_bulk *b = c->b;
    if (!b->failed && chunk_apply(b->P, c) != 0)
        b->failed = true;
    free(c);
}

int bulk_start(ix_inst *ix)
{
    ix_bulk *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->P = &ix->vuls;
    static const work_queue_spec Q = {.workers = 1, .queue = BULK_MAX_QUEUED};
    if (work_start(&(work_opts){.queues = &Q, .n_queues = 1}, &b->pool, NULL) != IMGSEC_OK) {
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
    if (c->len == 0 || !work_reserve_wait(b->pool, 0)) { /* the pool stops only in bulk_stop */
        free(c);
        return;
    }
    c->job = (work_job){.type = 0, .run = chunk_run};
    c->b = b;
    work_submit(b->pool, &c->job);
}

int bulk_drain(ix_inst *ix)
{
    ix_bulk *b = ix->bulk;
    if (!b)
        return 0;
    chunk_send(b);
    work_wait(b->pool, 0);
    return b->failed ? -1 : 0;
}

int bulk_stop(ix_inst *ix)
{
    ix_bulk *b = ix->bulk;
    if (!b)
        return 0;
    chunk_send(b);
    work_stop(b->pool); /* runs what waits: the chunks have no cancel */
    work_free(b->pool);
    bool failed = b->failed;
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
