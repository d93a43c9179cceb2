/* body_budget.c - see body_budget.h. One mutex over a small table, touched
 * only by signed requests that carry a body. */
#include "body_budget.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

#include "ratelimit.h"

/* Four times the connections that can exist at once (http.c's 1,024), and
 * a long probe run: an address finds a free slot whenever fewer than a
 * quarter are held, however the addresses cluster. */
#define BB_SLOTS 4096
#define BB_PROBE 64

typedef struct {
    unsigned char key[RATELIMIT_KEY_BYTES];
    size_t held; /* 0: free */
} bb_slot;

struct body_budget {
    pthread_mutex_t lock;
    size_t total, per_address;
    size_t held;
    bb_slot slots[BB_SLOTS];
};

body_budget *body_budget_new(size_t total, size_t per_address)
{
    body_budget *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->total = total;
    b->per_address = per_address;
    return b;
}

void body_budget_free(body_budget *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* The slot holding key, else (when create) a free one in its probe run,
 * else NULL. Caller holds the lock. */
static bb_slot *slot_find(body_budget *b, const unsigned char *key, bool create)
{
    uint32_t h = util_fnv1a(key, RATELIMIT_KEY_BYTES);
    h ^= h >> 16; /* MurmurHash3's finalizer: neighbouring addresses spread */
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    bb_slot *free_slot = NULL;
    for (int i = 0; i < BB_PROBE; i++) {
        bb_slot *s = &b->slots[(h + (uint32_t)i) % BB_SLOTS];
        if (s->held && memcmp(s->key, key, RATELIMIT_KEY_BYTES) == 0)
            return s;
        if (!s->held && !free_slot)
            free_slot = s;
    }
    if (create && free_slot)
        memcpy(free_slot->key, key, RATELIMIT_KEY_BYTES);
    return create ? free_slot : NULL;
}

body_budget_result body_budget_take(body_budget *b, const struct sockaddr *addr, size_t n)
{
    unsigned char key[RATELIMIT_KEY_BYTES];
    ratelimit_addr_key(addr, key); /* no address: the zero key, shared */
    if (n == 0)
        return BODY_BUDGET_OK;
    body_budget_result r = BODY_BUDGET_OK;
    pthread_mutex_lock(&b->lock);
    bb_slot *s = slot_find(b, key, true);
    if (n > b->total - b->held || !s)
        r = BODY_BUDGET_TOTAL;
    else if (n > b->per_address - s->held)
        r = BODY_BUDGET_ADDRESS;
    if (r == BODY_BUDGET_OK) {
        s->held += n;
        b->held += n;
    }
    pthread_mutex_unlock(&b->lock);
    return r;
}

void body_budget_give(body_budget *b, const struct sockaddr *addr, size_t n)
{
    unsigned char key[RATELIMIT_KEY_BYTES];
    ratelimit_addr_key(addr, key);
    if (n == 0)
        return;
    pthread_mutex_lock(&b->lock);
    bb_slot *s = slot_find(b, key, false);
    if (s) {
        size_t k = n < s->held ? n : s->held;
        s->held -= k;
        b->held -= k;
    }
    pthread_mutex_unlock(&b->lock);
}

size_t body_budget_held(body_budget *b)
{
    pthread_mutex_lock(&b->lock);
    size_t n = b->held;
    pthread_mutex_unlock(&b->lock);
    return n;
}
