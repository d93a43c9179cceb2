/* index_log.c - the ops of one write batch, kept to be replayed on the
 * second instance of the index (index.c).
 *
 * The writer applies a batch to the hidden instance and publishes it; the
 * instance readers used until then is brought to the same state later, by
 * applying the same ops in the same order. Both instances then make the
 * same decisions (row numbers, dictionary entries) and stay equal. Upserts
 * are kept as deep copies, because the caller's summary (a store row, an
 * ingest document) is gone by then; the copies live in an arena that is
 * dropped whole once replayed.
 *
 * A batch that begins with a clear (a full rebuild: the start, or a log
 * pruned past the follower) is not logged: the other instance becomes a
 * copy of the published one (rows_clone), which is faster than building
 * it again and needs no copy of every summary (that copy was the peak of
 * the start: about a third of the index at a million images).
 */
#include "index_internal.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES ((size_t)1 << 20)

struct ix_chunk {
    ix_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(ix_log *log, size_t n)
{
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    ix_chunk *c = log->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        ix_chunk *fresh = malloc(sizeof *fresh + cap);
        if (!fresh)
            return NULL;
        fresh->used = 0;
        fresh->cap = cap;
        if (c && n > CHUNK_BYTES) { /* a big one: keep filling the current chunk after it */
            fresh->next = c->next;
            c->next = fresh;
        } else {
            fresh->next = c;
            log->chunks = fresh;
        }
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* Copies *sp into the arena; NULL stays NULL. false when out of memory. */
static bool arena_str(ix_log *log, const char **sp)
{
    if (!*sp)
        return true;
    size_t n = strlen(*sp) + 1;
    char *d = arena_alloc(log, n);
    if (!d)
        return false;
    memcpy(d, *sp, n);
    *sp = d;
    return true;
}

static image_summary *summary_copy(ix_log *log, const image_summary *s)
{
    image_summary *d = arena_alloc(log, sizeof *d);
    vul_agg *vuls = s->n_vuls ? arena_alloc(log, s->n_vuls * sizeof *vuls) : NULL;
    build_agg *builds = s->n_builds ? arena_alloc(log, s->n_builds * sizeof *builds) : NULL;
    if (!d || (s->n_vuls && !vuls) || (s->n_builds && !builds))
        return NULL;
    *d = *s;
#define COPY_STRING(m, ...) &&arena_str(log, &d->m)
    bool ok = arena_str(log, &d->project_id) && arena_str(log, &d->ep)
              MODEL_IMAGE_STRINGS(COPY_STRING);
#undef COPY_STRING
    for (size_t i = 0; ok && i < s->n_vuls; i++) {
        vuls[i] = s->vuls[i];
        ok = arena_str(log, &vuls[i].vul_id);
    }
    for (size_t i = 0; ok && i < s->n_builds; i++) {
        builds[i] = s->builds[i];
        ok = arena_str(log, &builds[i].rule_id) && arena_str(log, &builds[i].risk_name);
    }
    d->vuls = vuls;
    d->builds = builds;
    return ok ? d : NULL;
}

void ix_log_add(ix_log *log, ix_op_kind kind, int64_t id, const image_summary *s)
{
    if (kind == IX_OP_CLEAR) {
        ix_log_reset(log); /* everything before a clear is moot, even a lost op */
        log->clone = true;
    }
    if (log->lost)
        return;
    if (log->clone) { /* counted, for index_write_abort: the batch changed the instance */
        log->n++;
        return;
    }
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 256;
        ix_op *ops = realloc(log->ops, cap * sizeof *ops);
        if (!ops) {
            log->lost = true;
            return;
        }
        log->ops = ops;
        log->cap = cap;
    }
    ix_op op = {.kind = kind, .id = id};
    if (kind == IX_OP_UPSERT && !(op.s = summary_copy(log, s))) {
        log->lost = true;
        return;
    }
    log->ops[log->n++] = op;
}

int ix_log_replay(const ix_log *log, ix_inst *ix, const ix_inst *donor)
{
    for (size_t i = 0; i < log->n; i++) {
        const ix_op *op = &log->ops[i];
        int rc = 0;
        switch (op->kind) {
        case IX_OP_UPSERT: {
            imgsec_err err;
            /* it succeeded on the other instance, which was equal: it can
             * only fail here when out of memory, and then this instance
             * lacks the image, which the other one has */
            rc = rows_upsert(ix, op->s, donor, &err) == IMGSEC_OK ? 0 : -1;
            break;
        }
        case IX_OP_REMOVE: rows_remove(ix, op->id); break;
        case IX_OP_CLEAR:
            rows_destroy(ix);
            rc = rows_init(ix);
            break;
        }
        if (rc != 0)
            return -1; /* diverged: the rest would not make it equal again */
    }
    return 0;
}

void ix_log_reset(ix_log *log)
{
    while (log->chunks) {
        ix_chunk *next = log->chunks->next;
        free(log->chunks);
        log->chunks = next;
    }
    free(log->ops);
    log->ops = NULL;
    log->n = log->cap = 0;
    log->lost = false;
    log->clone = false;
}
