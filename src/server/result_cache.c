/* result_cache.c - see result_cache.h.
 *
 * A set-associative table (RC_SETS sets of RC_WAYS entries) under one
 * reader-writer lock: lookups, the common case, run side by side and only
 * a miss's insert takes the lock exclusively, for a pointer swap. In a set,
 * an insert takes an empty way, else one of an earlier generation, else
 * the least recently used. The hash is XXH3 (libxxhash): fast enough that
 * hashing a 5,000-id body costs microseconds, where parsing it costs a
 * millisecond. */
#include "result_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define RC_SETS 1024
#define RC_WAYS 4
/* One key may use at most this share of the budget, so that a few huge
 * bodies cannot push everything else out. */
#define RC_MAX_KEY_SHARE 16

typedef struct {
    char *key; /* scope bytes then body bytes; NULL: empty way */
    size_t scope_len, body_len;
    uint64_t hash;
    int64_t gen, total;
    atomic_uint_fast64_t last_use;
} entry;

struct result_cache {
    size_t max_bytes;
    pthread_rwlock_t lock;
    entry (*sets)[RC_WAYS];
    size_t bytes, entries; /* under the write lock */
    int64_t oldest_gen;    /* no entry is older (write lock): skips useless sweeps */
    atomic_uint_fast64_t tick, hits, misses;
};

result_cache *result_cache_new(size_t max_bytes)
{
    result_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_bytes = max_bytes;
    if (max_bytes == 0)
        return c;
    c->sets = calloc(RC_SETS, sizeof *c->sets);
    if (!c->sets) {
        free(c);
        return NULL;
    }
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

bool result_cache_enabled(const result_cache *c)
{
    return c && c->sets;
}

static size_t entry_bytes(const entry *e)
{
    return sizeof *e + e->scope_len + e->body_len;
}

static void entry_clear(result_cache *c, entry *e)
{
    if (!e->key)
        return;
    c->bytes -= entry_bytes(e);
    c->entries--;
    free(e->key);
    e->key = NULL;
}

void result_cache_free(result_cache *c)
{
    if (!c)
        return;
    if (c->sets) {
        for (size_t s = 0; s < RC_SETS; s++)
            for (size_t w = 0; w < RC_WAYS; w++)
                free(c->sets[s][w].key);
        free(c->sets);
        pthread_rwlock_destroy(&c->lock);
    }
    free(c);
}

void result_cache_key_hash(result_key *k)
{
    XXH64_hash_t seed = XXH3_64bits(k->scope, k->scope_len);
    k->hash = XXH3_64bits_withSeed(k->body, k->body_len, seed);
}

static bool same_key(const entry *e, const result_key *k)
{
    return e->key && e->hash == k->hash && e->scope_len == k->scope_len &&
           e->body_len == k->body_len && memcmp(e->key, k->scope, k->scope_len) == 0 &&
           memcmp(e->key + k->scope_len, k->body, k->body_len) == 0;
}

static entry *set_of(result_cache *c, uint64_t hash)
{
    return c->sets[hash & (RC_SETS - 1)];
}

bool result_cache_get(result_cache *c, const result_key *k, int64_t gen, int64_t *total)
{
    if (!c || !c->sets)
        return false;
    bool hit = false;
    pthread_rwlock_rdlock(&c->lock);
    entry *set = set_of(c, k->hash);
    for (size_t w = 0; w < RC_WAYS; w++) {
        entry *e = &set[w];
        if (e->gen == gen && same_key(e, k)) {
            *total = e->total;
            atomic_store_explicit(&e->last_use, atomic_fetch_add(&c->tick, 1) + 1,
                                  memory_order_relaxed);
            hit = true;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return hit;
}

/* Frees every entry of a generation before gen (write lock held). */
static void drop_older(result_cache *c, int64_t gen)
{
    for (size_t s = 0; s < RC_SETS; s++)
        for (size_t w = 0; w < RC_WAYS; w++)
            if (c->sets[s][w].key && c->sets[s][w].gen < gen)
                entry_clear(c, &c->sets[s][w]);
}

/* The way for k: its own (a key is never stored twice), else an empty
 * one, else one of an earlier generation, else the least recently used. */
static entry *victim(entry *set, int64_t gen, const result_key *k)
{
    entry *empty = NULL, *older = NULL;
    for (size_t w = 0; w < RC_WAYS; w++) {
        entry *e = &set[w];
        if (same_key(e, k))
            return e;
        if (!e->key && !empty)
            empty = e;
        else if (e->key && e->gen < gen && !older)
            older = e;
    }
    if (empty)
        return empty;
    if (older)
        return older;
    entry *best = &set[0];
    for (size_t w = 1; w < RC_WAYS; w++)
        if (atomic_load_explicit(&set[w].last_use, memory_order_relaxed) <
            atomic_load_explicit(&best->last_use, memory_order_relaxed))
            best = &set[w];
    return best;
}

/* Does the budget hold need more bytes once e, the way to be reused, is
 * freed? (write lock held) */
static bool room_for(const result_cache *c, const entry *e, size_t need)
{
    size_t freed = e->key ? entry_bytes(e) : 0;
    return c->bytes - freed + need <= c->max_bytes;
}

void result_cache_put(result_cache *c, const result_key *k, int64_t gen, int64_t total)
{
    if (!c || !c->sets)
        return;
    size_t need = sizeof(entry) + k->scope_len + k->body_len;
    if (need > c->max_bytes / RC_MAX_KEY_SHARE)
        return;
    char *key = malloc(k->scope_len + k->body_len);
    if (!key)
        return;
    memcpy(key, k->scope, k->scope_len);
    memcpy(key + k->scope_len, k->body, k->body_len);

    pthread_rwlock_wrlock(&c->lock);
    entry *e = victim(set_of(c, k->hash), gen, k);
    if (e->key && e->gen > gen) { /* a newer answer is already there */
        pthread_rwlock_unlock(&c->lock);
        free(key);
        return;
    }
    /* e is cleared only once the new entry is sure to go in: an insert the
     * budget refuses must not cost the answer that was there. */
    if (!room_for(c, e, need) && c->oldest_gen < gen) {
        drop_older(c, gen); /* may clear e too */
        c->oldest_gen = gen;
    }
    if (!room_for(c, e, need)) {
        pthread_rwlock_unlock(&c->lock);
        free(key);
        return;
    }
    entry_clear(c, e);
    e->key = key;
    e->scope_len = k->scope_len;
    e->body_len = k->body_len;
    e->hash = k->hash;
    e->gen = gen;
    e->total = total;
    if (c->entries == 0 || gen < c->oldest_gen)
        c->oldest_gen = gen;
    atomic_store_explicit(&e->last_use, atomic_fetch_add(&c->tick, 1) + 1, memory_order_relaxed);
    c->bytes += need;
    c->entries++;
    pthread_rwlock_unlock(&c->lock);
}

void result_cache_stats_get(result_cache *c, result_cache_stats *out)
{
    *out = (result_cache_stats){0};
    if (!c)
        return;
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    if (!c->sets)
        return;
    pthread_rwlock_rdlock(&c->lock);
    out->entries = c->entries;
    out->bytes = c->bytes;
    pthread_rwlock_unlock(&c->lock);
}
