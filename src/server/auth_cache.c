/* auth_cache.c - see auth_cache.h. A direct-mapped table: the slot is
 * chosen by the first bytes of the (uniform) SHA-256, and a newer token
 * simply takes the slot of an older one. A caller who picks tokens to
 * collide only evicts entries, which costs a SQLite lookup, never an
 * answer. Each slot has its own reader-writer lock, held for a 1 KiB copy
 * at most. */
#include "auth_cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_rwlock_t lock; /* one client's token is read by every thread at once */
    bool used;
    bool access_key; /* an access key's entry (sealed holds its SK), else a token's */
    int64_t gen;
    unsigned char hash[STORE_TOKEN_HASH_BYTES];
    store_principal p;
    unsigned char sealed[STORE_SK_SEALED_MAX];
    size_t sealed_len;
} slot;

struct auth_cache {
    unsigned n;
    slot *slots;
    atomic_uint_fast64_t hits, misses;
    pthread_mutex_t epoch_lock; /* guards the pair below */
    bool epoch_known;
    int64_t epoch_gen, epoch;   /* the auth epoch read at file generation epoch_gen */
};

auth_cache *auth_cache_new(unsigned slots)
{
    auth_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->epoch_lock, NULL);
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
    pthread_mutex_destroy(&c->epoch_lock);
    free(c);
}

bool auth_cache_enabled(const auth_cache *c)
{
    return c && c->n > 0;
}

bool auth_cache_epoch_at(auth_cache *c, int64_t gen, int64_t *epoch)
{
    if (!auth_cache_enabled(c))
        return false;
    pthread_mutex_lock(&c->epoch_lock);
    bool known = c->epoch_known && c->epoch_gen == gen;
    if (known)
        *epoch = c->epoch;
    pthread_mutex_unlock(&c->epoch_lock);
    return known;
}

void auth_cache_epoch_set(auth_cache *c, int64_t gen, int64_t epoch)
{
    if (!auth_cache_enabled(c))
        return;
    pthread_mutex_lock(&c->epoch_lock);
    if (!c->epoch_known || gen > c->epoch_gen) {
        c->epoch_known = true;
        c->epoch_gen = gen;
        c->epoch = epoch;
    }
    pthread_mutex_unlock(&c->epoch_lock);
}

static slot *slot_of(auth_cache *c, const unsigned char *hash)
{
    uint32_t h;
    memcpy(&h, hash, sizeof h);
    return &c->slots[h % c->n];
}

/* The entry of kind access_key under hash at gen (and, for a token, not
 * expired at now_ms): principal and, for a key, the sealed SK. */
static bool get(auth_cache *c, const unsigned char *hash, bool access_key, int64_t gen,
                int64_t now_ms, store_principal *out, unsigned char *sealed, size_t *sealed_len)
{
    if (!c || c->n == 0)
        return false;
    slot *s = slot_of(c, hash);
    pthread_rwlock_rdlock(&s->lock);
    bool hit = s->used && s->access_key == access_key && s->gen == gen &&
               sodium_memcmp(s->hash, hash, STORE_TOKEN_HASH_BYTES) == 0 &&
               (access_key || s->p.expires_at_ms > now_ms); /* as the SQL: expires_ms > now */
    if (hit) {
        *out = s->p;
        if (access_key) {
            memcpy(sealed, s->sealed, s->sealed_len);
            *sealed_len = s->sealed_len;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

static void put(auth_cache *c, const unsigned char *hash, bool access_key, int64_t gen,
                const store_principal *p, const unsigned char *sealed, size_t sealed_len)
{
    if (!c || c->n == 0 || sealed_len > STORE_SK_SEALED_MAX)
        return;
    slot *s = slot_of(c, hash);
    pthread_rwlock_wrlock(&s->lock);
    sodium_memzero(s->sealed, sizeof s->sealed);
    s->used = true;
    s->access_key = access_key;
    s->gen = gen;
    memcpy(s->hash, hash, STORE_TOKEN_HASH_BYTES);
    s->p = *p;
    if (sealed_len)
        memcpy(s->sealed, sealed, sealed_len);
    s->sealed_len = sealed_len;
    pthread_rwlock_unlock(&s->lock);
}

bool auth_cache_get(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    int64_t now_ms, store_principal *out)
{
    return get(c, hash, false, gen, now_ms, out, NULL, NULL);
}

void auth_cache_put(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    const store_principal *p)
{
    put(c, hash, false, gen, p, NULL, 0);
}

bool auth_cache_get_key(auth_cache *c, const unsigned char key[STORE_TOKEN_HASH_BYTES],
                        int64_t gen, store_principal *out, unsigned char *sealed,
                        size_t *sealed_len)
{
    return get(c, key, true, gen, 0, out, sealed, sealed_len);
}

void auth_cache_put_key(auth_cache *c, const unsigned char key[STORE_TOKEN_HASH_BYTES],
                        int64_t gen, const store_principal *p, const unsigned char *sealed,
                        size_t sealed_len)
{
    put(c, key, true, gen, p, sealed, sealed_len);
}

void auth_cache_counts(auth_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *misses = c ? atomic_load(&c->misses) : 0;
}
