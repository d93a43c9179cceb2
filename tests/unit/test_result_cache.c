/* test_result_cache.c - statistic answers cached per file generation
 * (src/server/result_cache.c).
 *
 * A cached answer must be exactly the one computed for the same key at the
 * same generation, or nothing: a stale or borrowed total would be a wrong
 * count on a dashboard with no error to show for it. So what is checked:
 * the cache off does nothing; a hit gives back the stored total only at
 * the generation it was stored at; keys are compared byte for byte (scope,
 * body, and where one ends and the other begins), also when two keys are
 * forced onto the same hash; an older answer never replaces a newer one;
 * the byte budget is never exceeded, one key may not take more than its
 * share, and older generations make room for a newer one; a full set
 * evicts an older generation first, else the least recently used; the
 * hit and miss counters are exact; and under four threads every hit is
 * the value its key was stored with. The module's own source is compiled
 * into this test (tests/CMakeLists.txt). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "result_cache.h"

static result_key key_of(const char *scope, size_t scope_len, const char *body, size_t body_len)
{
    result_key k = {.scope = scope, .scope_len = scope_len, .body = body, .body_len = body_len};
    result_cache_key_hash(&k);
    return k;
}

static result_key skey(const char *scope, const char *body)
{
    return key_of(scope, strlen(scope), body, strlen(body));
}

static result_cache_stats stats(result_cache *c)
{
    result_cache_stats s;
    result_cache_stats_get(c, &s);
    return s;
}

/* What one entry costs the budget beyond its key bytes, measured, so the
 * budget tests do not depend on the entry's layout. */
static uint64_t entry_overhead(void)
{
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key k = skey("s", "b");
    result_cache_put(c, &k, 1, 1);
    result_cache_stats s = stats(c);
    assert_int_equal(s.entries, 1);
    assert_true(s.bytes > 2);
    result_cache_free(c);
    return s.bytes - 2;
}

static void test_off(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(0);
    assert_non_null(c);
    result_key k = skey("count|p1|all", "{\"a\":1}");
    result_cache_put(c, &k, 1, 42);
    int64_t total = -7;
    assert_false(result_cache_get(c, &k, 1, &total));
    assert_int_equal(total, -7);
    result_cache_stats s = stats(c);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.bytes, 0);
    result_cache_free(c);
    result_cache_free(NULL);
    /* a NULL cache is off too */
    assert_false(result_cache_get(NULL, &k, 1, &total));
    result_cache_put(NULL, &k, 1, 1);
    result_cache_stats_get(NULL, &s);
    assert_int_equal(s.hits + s.misses + s.entries + s.bytes, 0);
}

static void test_hash_deterministic(void **state)
{
    (void)state;
    result_key a = skey("count|p1|all", "{\"a\":1}");
    result_key b = skey("count|p1|all", "{\"a\":1}");
    result_key c = skey("count|p1|all", "{\"a\":2}");
    result_key d = skey("count|p2|all", "{\"a\":1}");
    assert_int_equal(a.hash, b.hash);
    assert_int_not_equal(a.hash, c.hash);
    assert_int_not_equal(a.hash, d.hash);
}

static void test_hit_same_generation(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key k = skey("count|p1|ep-a,ep-b", "{\"severity\":[\"High\"]}");
    result_cache_put(c, &k, 7, INT64_MAX - 3);
    int64_t total = 0;
    assert_true(result_cache_get(c, &k, 7, &total));
    assert_int_equal(total, INT64_MAX - 3);
    /* a key built again from equal bytes at other addresses hits too */
    char scope[] = "count|p1|ep-a,ep-b", body[] = "{\"severity\":[\"High\"]}";
    result_key k2 = skey(scope, body);
    total = 0;
    assert_true(result_cache_get(c, &k2, 7, &total));
    assert_int_equal(total, INT64_MAX - 3);
    /* zero and negative totals are answers like any other */
    result_key z = skey("count|p1|all", "{}");
    result_cache_put(c, &z, 7, 0);
    total = 99;
    assert_true(result_cache_get(c, &z, 7, &total));
    assert_int_equal(total, 0);
    result_cache_stats s = stats(c);
    assert_int_equal(s.hits, 3);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.entries, 2);
    result_cache_free(c);
}

static void test_other_generation_misses(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key k = skey("count|p1|all", "{\"a\":1}");
    result_cache_put(c, &k, 7, 5);
    int64_t total = -1;
    assert_false(result_cache_get(c, &k, 6, &total));
    assert_false(result_cache_get(c, &k, 8, &total));
    assert_false(result_cache_get(c, &k, 0, &total));
    assert_int_equal(total, -1);
    assert_true(result_cache_get(c, &k, 7, &total));
    assert_int_equal(total, 5);
    result_cache_stats s = stats(c);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 3);
    result_cache_free(c);
}

static void test_scope_or_body_differs(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    char scope[] = "count|p1|ep-a", body[] = "{\"image\":\"nginx\"}";
    result_key k = skey(scope, body);
    result_cache_put(c, &k, 3, 11);
    int64_t total = -1;

    /* one byte of the scope changed, same length */
    char scope2[sizeof scope];
    memcpy(scope2, scope, sizeof scope);
    scope2[sizeof scope - 2] = 'b';
    result_key ks = skey(scope2, body);
    assert_false(result_cache_get(c, &ks, 3, &total));

    /* one byte of the body changed, same length */
    char body2[sizeof body];
    memcpy(body2, body, sizeof body);
    body2[10] ^= 1;
    result_key kb = skey(scope, body2);
    assert_false(result_cache_get(c, &kb, 3, &total));

    /* the body a prefix of the stored one */
    result_key kp = key_of(scope, strlen(scope), body, strlen(body) - 1);
    assert_false(result_cache_get(c, &kp, 3, &total));

    /* the same bytes split differently between scope and body, even on
     * the same hash: "count|p1|ep-a{" + "\"image..." */
    char joined[64];
    snprintf(joined, sizeof joined, "%s%s", scope, body);
    result_key kj = key_of(joined, strlen(scope) + 1, joined + strlen(scope) + 1,
                           strlen(body) - 1);
    kj.hash = k.hash;
    assert_false(result_cache_get(c, &kj, 3, &total));

    /* a longer scope that starts with the whole stored key, with a body
     * of the stored body's length, on the same hash */
    char longer[64];
    snprintf(longer, sizeof longer, "%s%s", scope, body);
    result_key kl = key_of(longer, strlen(longer), body, strlen(body));
    kl.hash = k.hash;
    assert_false(result_cache_get(c, &kl, 3, &total));

    assert_int_equal(total, -1);
    assert_true(result_cache_get(c, &k, 3, &total));
    assert_int_equal(total, 11);
    result_cache_free(c);
}

static void test_forced_collision(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key a = skey("count|p1|all", "{\"a\":1}");
    result_key b = skey("count|p1|all", "{\"a\":2}");
    b.hash = a.hash; /* as if XXH3 collided */
    result_cache_put(c, &a, 1, 100);
    int64_t total = -1;
    assert_false(result_cache_get(c, &b, 1, &total));
    assert_int_equal(total, -1);
    result_cache_put(c, &b, 1, 200);
    assert_true(result_cache_get(c, &a, 1, &total));
    assert_int_equal(total, 100);
    assert_true(result_cache_get(c, &b, 1, &total));
    assert_int_equal(total, 200);
    assert_int_equal(stats(c).entries, 2);
    result_cache_free(c);
}

static void test_newer_generation_wins(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key k = skey("count|p1|all", "{\"a\":1}");
    int64_t total = -1;

    /* a newer answer replaces the older one for the same key */
    result_cache_put(c, &k, 4, 40);
    result_cache_put(c, &k, 5, 50);
    assert_int_equal(stats(c).entries, 1);
    assert_true(result_cache_get(c, &k, 5, &total));
    assert_int_equal(total, 50);
    assert_false(result_cache_get(c, &k, 4, &total));

    /* an older answer (a slow request finishing late) does not */
    result_cache_put(c, &k, 3, 30);
    assert_true(result_cache_get(c, &k, 5, &total));
    assert_int_equal(total, 50);
    assert_false(result_cache_get(c, &k, 3, &total));
    assert_int_equal(stats(c).entries, 1);

    /* the same generation again: the later answer is kept */
    result_cache_put(c, &k, 5, 51);
    assert_true(result_cache_get(c, &k, 5, &total));
    assert_int_equal(total, 51);
    assert_int_equal(stats(c).entries, 1);
    result_cache_free(c);
}

static void test_key_share_limit(void **state)
{
    (void)state;
    uint64_t ov = entry_overhead();
    size_t max = 16 * 1024;
    size_t share = max / 16; /* the most one entry may take */
    assert_true(share > ov + 8);
    result_cache *c = result_cache_new(max);
    assert_non_null(c);
    char *body = malloc(share);
    assert_non_null(body);
    memset(body, 'x', share);
    int64_t total = -1;

    /* one byte over the share: not stored */
    result_key big = key_of("sc", 2, body, share - ov - 2 + 1);
    result_cache_put(c, &big, 1, 1);
    assert_false(result_cache_get(c, &big, 1, &total));
    assert_int_equal(stats(c).entries, 0);
    assert_int_equal(stats(c).bytes, 0);

    /* exactly the share: stored */
    result_key fit = key_of("sc", 2, body, share - ov - 2);
    result_cache_put(c, &fit, 1, 2);
    assert_true(result_cache_get(c, &fit, 1, &total));
    assert_int_equal(total, 2);
    assert_int_equal(stats(c).entries, 1);
    assert_int_equal(stats(c).bytes, share);

    /* far over (a huge body) */
    char *huge = malloc(max * 2);
    assert_non_null(huge);
    memset(huge, 'y', max * 2);
    result_key hk = key_of("sc", 2, huge, max * 2);
    result_cache_put(c, &hk, 1, 3);
    assert_false(result_cache_get(c, &hk, 1, &total));
    assert_int_equal(stats(c).entries, 1);
    free(huge);
    free(body);
    result_cache_free(c);
}

/* Keys of a fixed length, each forced into its own set (hash = i), so what
 * is stored depends on the budget only. */
typedef struct {
    char scope[8];
    char body[16];
    result_key k;
} fixed_key;

static void fixed_key_make(fixed_key *f, int i)
{
    snprintf(f->scope, sizeof f->scope, "scope");
    snprintf(f->body, sizeof f->body, "{\"i\":%04d}", i);
    f->k = key_of(f->scope, 5, f->body, 10);
    f->k.hash = (uint64_t)i;
}

static void test_budget_older_generations_make_room(void **state)
{
    (void)state;
    uint64_t need = entry_overhead() + 15;
    size_t max = 20 * need + need / 2; /* room for 20 entries */
    result_cache *c = result_cache_new(max);
    assert_non_null(c);
    fixed_key f;
    int64_t total;

    for (int i = 0; i < 40; i++) {
        fixed_key_make(&f, i);
        result_cache_put(c, &f.k, 1, 1000 + i);
        assert_true(stats(c).bytes <= max);
    }
    result_cache_stats s = stats(c);
    assert_int_equal(s.entries, 20);
    assert_int_equal(s.bytes, 20 * need);
    /* the first 20 went in; the rest found the budget spent by answers
     * of the same generation, which are not dropped for them */
    for (int i = 0; i < 40; i++) {
        fixed_key_make(&f, i);
        total = -1;
        bool hit = result_cache_get(c, &f.k, 1, &total);
        assert_int_equal(hit, i < 20);
        assert_int_equal(total, i < 20 ? 1000 + i : -1);
    }

    /* a newer generation: the older answers are dropped to make room */
    fixed_key_make(&f, 100);
    result_cache_put(c, &f.k, 2, 7);
    s = stats(c);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.bytes, need);
    total = -1;
    assert_true(result_cache_get(c, &f.k, 2, &total));
    assert_int_equal(total, 7);
    for (int i = 0; i < 20; i++) {
        fixed_key_make(&f, i);
        assert_false(result_cache_get(c, &f.k, 1, &total));
    }
    result_cache_free(c);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_budget_never_exceeded(void **state)
{
    (void)state;
    uint64_t ov = entry_overhead();
    size_t max = 8192;
    size_t share = max / 16;
    result_cache *c = result_cache_new(max);
    assert_non_null(c);
    char body[512];
    memset(body, 'q', sizeof body);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 3000; i++) {
        int64_t gen = 1 + i / 150;
        char scope[32];
        int sl = snprintf(scope, sizeof scope, "s%d", (int)(xorshift(&rng) % 5000));
        size_t bl = (size_t)(xorshift(&rng) % (share - ov - (size_t)sl + 1));
        result_key k = key_of(scope, (size_t)sl, body, bl);
        result_cache_put(c, &k, gen, i);
        result_cache_stats s = stats(c);
        assert_true(s.bytes <= max);
        /* every entry costs at least its overhead and at most the share */
        assert_true(s.bytes >= s.entries * (ov + 2));
        assert_true(s.bytes <= s.entries * share);
        /* the answer just put is there unless the budget is held by
         * answers of this same generation */
        int64_t total = -1;
        if (result_cache_get(c, &k, gen, &total))
            assert_int_equal(total, i);
        else
            assert_true(s.bytes + ov + (size_t)sl + bl > max);
    }
    result_cache_free(c);
}

/* Five keys "sc" + "b<i>" forced onto one set (the same hash): one more
 * than a set holds. */
static void one_set_keys(char bodies[5][8], result_key k[5], uint64_t hash)
{
    for (int i = 0; i < 5; i++) {
        snprintf(bodies[i], 8, "b%d", i);
        k[i] = skey("sc", bodies[i]);
        k[i].hash = hash;
    }
}

/* Four keys on one set (same hash), a fifth arrives at the same
 * generation: the least recently used one goes. */
static void test_set_evicts_least_recently_used(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    char bodies[5][8];
    result_key k[5];
    one_set_keys(bodies, k, 0xabcdef0000000007u);
    int64_t total;
    for (int i = 0; i < 4; i++)
        result_cache_put(c, &k[i], 1, 10 + i);
    /* touch 0, 2 and 3: 1 is now the least recently used */
    assert_true(result_cache_get(c, &k[0], 1, &total));
    assert_true(result_cache_get(c, &k[2], 1, &total));
    assert_true(result_cache_get(c, &k[3], 1, &total));
    result_cache_put(c, &k[4], 1, 14);
    assert_int_equal(stats(c).entries, 4);
    for (int i = 0; i < 5; i++) {
        total = -1;
        bool hit = result_cache_get(c, &k[i], 1, &total);
        assert_int_equal(hit, i != 1);
        assert_int_equal(total, i != 1 ? 10 + i : -1);
    }
    result_cache_free(c);
}

/* A full set with answers of two generations: a newer answer takes the
 * way of an older generation, not one of its own. */
static void test_set_evicts_older_generation_first(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    char bodies[5][8];
    result_key k[5];
    one_set_keys(bodies, k, 0x5555000000000123u);
    int64_t total;
    result_cache_put(c, &k[0], 2, 10);
    result_cache_put(c, &k[1], 1, 11);
    result_cache_put(c, &k[2], 2, 12);
    result_cache_put(c, &k[3], 2, 13);
    /* make the generation-1 answer the most recently used: LRU alone
     * would evict another */
    assert_true(result_cache_get(c, &k[1], 1, &total));
    result_cache_put(c, &k[4], 2, 14);
    assert_int_equal(stats(c).entries, 4);
    assert_false(result_cache_get(c, &k[1], 1, &total));
    for (int i = 0; i < 5; i++) {
        if (i == 1)
            continue;
        total = -1;
        assert_true(result_cache_get(c, &k[i], 2, &total));
        assert_int_equal(total, 10 + i);
    }
    result_cache_free(c);
}

/* A key is stored in one way only: a late answer of an older generation
 * for a key that a newer one already holds is refused, even when an empty
 * way comes first in the set (drop_older can leave one there). */
static void test_key_stored_once(void **state)
{
    (void)state;
    uint64_t need = entry_overhead() + 8; /* every key here: 4 + 4 bytes */
    result_cache *c = result_cache_new((size_t)need * 16); /* 16 keys, each its full share */
    assert_non_null(c);
    const uint64_t H = 5; /* set 5 */
    char names[16][5];
    result_key others[15];
    for (int i = 0; i < 15; i++) {
        snprintf(names[i], sizeof names[i], "o%03d", i);
        others[i] = key_of(names[i], 4, "body", 4);
        others[i].hash = 100 + (uint64_t)i; /* sets of their own */
        result_cache_put(c, &others[i], 1, i);
    }
    result_key a = key_of("aaaa", 4, "body", 4), x = key_of("xxxx", 4, "body", 4);
    a.hash = x.hash = H;
    result_cache_put(c, &a, 1, 1); /* way 0 of set 5; the budget is now full */
    assert_int_equal(stats(c).entries, 16);
    result_cache_put(c, &x, 2, 200); /* way 1; generation 1 is dropped to make room */
    assert_int_equal(stats(c).entries, 1);
    result_cache_put(c, &x, 1, 100); /* late, older: refused, way 0 stays empty */
    assert_int_equal(stats(c).entries, 1);
    assert_int_equal(stats(c).bytes, need);
    int64_t total = 0;
    assert_false(result_cache_get(c, &x, 1, &total));
    assert_true(result_cache_get(c, &x, 2, &total));
    assert_int_equal(total, 200);
    result_cache_put(c, &x, 3, 300); /* newer: replaces its own way, no copy left */
    assert_int_equal(stats(c).entries, 1);
    assert_false(result_cache_get(c, &x, 2, &total));
    assert_true(result_cache_get(c, &x, 3, &total));
    assert_int_equal(total, 300);
    result_cache_free(c);
}

static void test_stats_counts(void **state)
{
    (void)state;
    result_cache *c = result_cache_new(1 << 20);
    assert_non_null(c);
    result_key a = skey("x", "1"), b = skey("x", "22"), miss = skey("x", "3");
    result_cache_put(c, &a, 1, 1);
    result_cache_put(c, &b, 1, 2);
    int64_t total;
    for (int i = 0; i < 5; i++)
        assert_true(result_cache_get(c, &a, 1, &total));
    for (int i = 0; i < 2; i++)
        assert_true(result_cache_get(c, &b, 1, &total));
    for (int i = 0; i < 3; i++)
        assert_false(result_cache_get(c, &miss, 1, &total));
    assert_false(result_cache_get(c, &a, 2, &total));
    result_cache_stats s = stats(c);
    assert_int_equal(s.hits, 7);
    assert_int_equal(s.misses, 4);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.bytes, 2 * entry_overhead() + 2 + 3);
    result_cache_free(c);
}

/* ---- threads ---- */

#define MT_THREADS 4
#define MT_OPS 4000
#define MT_KEYS 300

typedef struct {
    result_cache *c;
    int id;
    atomic_uint_fast64_t *wrong, *hits;
} mt_arg;

static int64_t mt_value(int key, int64_t gen)
{
    return (int64_t)key * 1000003 + gen * 7919 + 1;
}

static void *mt_main(void *p)
{
    mt_arg *a = p;
    uint64_t rng = 0x1234567u + (uint64_t)a->id * 0x9e3779b97f4a7c15u;
    for (int op = 0; op < MT_OPS; op++) {
        int key = (int)(xorshift(&rng) % MT_KEYS);
        /* generations move on as the run goes, with stragglers one behind */
        int64_t gen = 1 + op / 400 - (int64_t)(xorshift(&rng) % 4 == 0);
        char scope[32], body[96];
        int sl = snprintf(scope, sizeof scope, "count|p%d|all", key % 7);
        /* bodies of varied lengths */
        int bl = snprintf(body, sizeof body, "{\"k\":%d,\"pad\":\"%.*s\"}", key, key % 50,
                          "..................................................");
        result_key k = key_of(scope, (size_t)sl, body, (size_t)bl);
        if (key % 2 == 0)
            k.hash = (uint64_t)(key % 6); /* many keys on few hashes */
        int64_t total = -1;
        if (result_cache_get(a->c, &k, gen, &total)) {
            atomic_fetch_add(a->hits, 1);
            if (total != mt_value(key, gen))
                atomic_fetch_add(a->wrong, 1);
        } else {
            result_cache_put(a->c, &k, gen, mt_value(key, gen));
        }
    }
    return NULL;
}

static void test_threads_hits_are_right(void **state)
{
    (void)state;
    /* a budget for some 60 of the keys: eviction and dropping happen */
    const size_t budget = 60 * (entry_overhead() + 60);
    result_cache *c = result_cache_new(budget);
    assert_non_null(c);
    pthread_t t[MT_THREADS];
    mt_arg args[MT_THREADS];
    atomic_uint_fast64_t wrong = 0, hits = 0;
    for (int i = 0; i < MT_THREADS; i++) {
        args[i] = (mt_arg){.c = c, .id = i, .wrong = &wrong, .hits = &hits};
        assert_int_equal(pthread_create(&t[i], NULL, mt_main, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(atomic_load(&wrong), 0);
    result_cache_stats s = stats(c);
    assert_int_equal(s.hits + s.misses, MT_THREADS * MT_OPS);
    assert_int_equal(s.hits, atomic_load(&hits));
    assert_true(s.hits > 0); /* the test did test something */
    assert_true(s.bytes <= budget);
    result_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_hash_deterministic),
        cmocka_unit_test(test_hit_same_generation),
        cmocka_unit_test(test_other_generation_misses),
        cmocka_unit_test(test_scope_or_body_differs),
        cmocka_unit_test(test_forced_collision),
        cmocka_unit_test(test_newer_generation_wins),
        cmocka_unit_test(test_key_share_limit),
        cmocka_unit_test(test_budget_older_generations_make_room),
        cmocka_unit_test(test_budget_never_exceeded),
        cmocka_unit_test(test_set_evicts_least_recently_used),
        cmocka_unit_test(test_set_evicts_older_generation_first),
        cmocka_unit_test(test_key_stored_once),
        cmocka_unit_test(test_stats_counts),
        cmocka_unit_test(test_threads_hits_are_right),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
