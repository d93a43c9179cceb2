/* ratelimit.c - see ratelimit.h. One mutex over a small table, touched on
 * failures and, while some address is blocked, on requests that carry
 * credentials; the rest of the time a request reads one atomic. */
#include "ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

#define RL_SLOTS 4096
#define RL_PROBE 8
#define RL_KEY RATELIMIT_KEY_BYTES

typedef struct {
    unsigned char key[RL_KEY]; /* IPv4 mapped into IPv6 form, or IPv6 */
    bool used;
    int64_t window_start_ms;
    unsigned failures;
} rl_slot;

struct ratelimit {
    pthread_mutex_t lock;
    unsigned limit;
    int64_t window_ms;
    /* no address is blocked at or after this time: the lock-free answer */
    atomic_llong blocked_until_ms;
    rl_slot slots[RL_SLOTS];
};

ratelimit *ratelimit_new(unsigned limit, int64_t window_ms)
{
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->limit = limit;
    rl->window_ms = window_ms > 0 ? window_ms : 60000;
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

bool ratelimit_addr_key(const struct sockaddr *addr, unsigned char key[RL_KEY])
{
    memset(key, 0, RL_KEY);
    if (!addr)
        return false;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &a->sin_addr, 4);
        return true;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        memcpy(key, &a->sin6_addr, RL_KEY);
        return true;
    }
    return false;
}

/* The slot of key (creating it when create), or NULL. Caller holds the lock. */
static rl_slot *slot_find(ratelimit *rl, const unsigned char key[RL_KEY], int64_t now_ms,
                          bool create)
{
    uint32_t h = util_fnv1a(key, RL_KEY);
    rl_slot *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < RL_PROBE; i++) {
        rl_slot *s = &rl->slots[(h + (uint32_t)i) % RL_SLOTS];
        if (s->used && memcmp(s->key, key, RL_KEY) == 0)
            return s;
        /* Reuse a free or expired slot first, else the oldest window. */
        if (!s->used || now_ms - s->window_start_ms >= rl->window_ms) {
            if (!free_slot)
                free_slot = s;
        } else if (!oldest || s->window_start_ms < oldest->window_start_ms) {
            oldest = s;
        }
    }
    rl_slot *victim = free_slot ? free_slot : oldest;
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->key, key, RL_KEY);
    victim->used = true;
    victim->window_start_ms = now_ms;
    return victim;
}

/* The slot of key with its window current at now_ms. Caller holds the lock. */
static rl_slot *slot_current(ratelimit *rl, const unsigned char key[RL_KEY], int64_t now_ms)
{
    rl_slot *s = slot_find(rl, key, now_ms, true);
    if (now_ms - s->window_start_ms >= rl->window_ms) {
        s->window_start_ms = now_ms;
        s->failures = 0;
    }
    return s;
}

/* Counts one failure in s. Caller holds the lock. */
static void slot_count(ratelimit *rl, rl_slot *s)
{
    if (s->failures < rl->limit)
        s->failures++;
    int64_t until = s->window_start_ms + rl->window_ms;
    if (s->failures >= rl->limit && until > atomic_load(&rl->blocked_until_ms))
        atomic_store(&rl->blocked_until_ms, until); /* stores happen under the lock */
}

static unsigned retry_after(const ratelimit *rl, const rl_slot *s, int64_t now_ms)
{
    int64_t left = s->window_start_ms + rl->window_ms - now_ms;
    unsigned secs = (unsigned)((left + 999) / 1000);
    return secs ? secs : 1;
}

void ratelimit_fail(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms)
{
    unsigned char key[RL_KEY];
    if (!rl || !rl->limit || !ratelimit_addr_key(addr, key))
        return;
    pthread_mutex_lock(&rl->lock);
    slot_count(rl, slot_current(rl, key, now_ms));
    pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_reserve(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms,
                       int64_t *ticket, unsigned *retry_after_s)
{
    unsigned char key[RL_KEY];
    *ticket = -1;
    if (!rl || !rl->limit || !ratelimit_addr_key(addr, key))
        return true;
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = slot_current(rl, key, now_ms);
    bool ok = s->failures < rl->limit;
    if (ok) {
        slot_count(rl, s);
        *ticket = s->window_start_ms;
    } else {
        *retry_after_s = retry_after(rl, s, now_ms);
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

void ratelimit_refund(ratelimit *rl, const struct sockaddr *addr, int64_t ticket)
{
    unsigned char key[RL_KEY];
    if (!rl || !rl->limit || ticket < 0 || !ratelimit_addr_key(addr, key))
        return;
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = slot_find(rl, key, ticket, false);
    /* blocked_until_ms may stay ahead: it is only the lock-free hint */
    if (s && s->window_start_ms == ticket && s->failures > 0)
        s->failures--;
    pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_blocked(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms,
                       unsigned *retry_after_s)
{
    unsigned char key[RL_KEY];
    if (!rl || !rl->limit || now_ms >= atomic_load(&rl->blocked_until_ms) ||
        !ratelimit_addr_key(addr, key))
        return false;
    bool blocked = false;
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = slot_find(rl, key, now_ms, false);
    if (s && s->failures >= rl->limit && now_ms - s->window_start_ms < rl->window_ms) {
        blocked = true;
        *retry_after_s = retry_after(rl, s, now_ms);
    }
    pthread_mutex_unlock(&rl->lock);
    return blocked;
}
