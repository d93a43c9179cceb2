/* auth_cache.c - see auth_cache.h. A direct-mapped table: the slot is
 * chosen by the first bytes of the (uniform) SHA-256, and a newer token
 * simply takes the slot of an older one. A caller who picks tokens to
 * collide only evicts entries, which costs a SQLite lookup, never an
 * answer. Each slot has its own reader-writer lock, held for a 1 KiB copy
 * at most. */
#include "auth_cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_rwlock_t lock; /* one client's token is read by every thread at once */
    bool used;
    int64_t gen;
    unsigned char hash[STORE_TOKEN_HASH_BYTES];
    store_principal p;
} slot;

struct auth_cache {
    unsigned n;
    slot *slots;
};

auth_cache *auth_cache_new(unsigned slots)
{
    auth_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (slots == 0)
        return c;
    c->slots = calloc(slots, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->n = slots;
    for (unsigned i = 0; i < slots; i++)
        pthread_rwlock_init(&c->slots[i].lock, NULL);
    return c;
}

void auth_cache_free(auth_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n; i++)
        pthread_rwlock_destroy(&c->slots[i].lock);
    if (c->slots)
        sodium_memzero(c->slots, c->n * sizeof *c->slots);
    free(c->slots);
    free(c);
}

static slot *slot_of(auth_cache *c, const unsigned char *hash)
{
    uint32_t h;
    memcpy(&h, hash, sizeof h);
    return &c->slots[h % c->n];
}

bool auth_cache_get(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    int64_t now_ms, store_principal *out)
{
    if (!c || c->n == 0)
        return false;
    slot *s = slot_of(c, hash);
    pthread_rwlock_rdlock(&s->lock);
    bool hit = s->used && s->gen == gen &&
               sodium_memcmp(s->hash, hash, STORE_TOKEN_HASH_BYTES) == 0 &&
               s->p.expires_at_ms > now_ms; /* as the SQL: expires_ms > now */
    if (hit)
        *out = s->p;
    pthread_rwlock_unlock(&s->lock);
    return hit;
}

void auth_cache_put(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    const store_principal *p)
{
    if (!c || c->n == 0)
        return;
    slot *s = slot_of(c, hash);
    pthread_rwlock_wrlock(&s->lock);
    s->used = true;
    s->gen = gen;
    memcpy(s->hash, hash, STORE_TOKEN_HASH_BYTES);
    s->p = *p;
    pthread_rwlock_unlock(&s->lock);
}
