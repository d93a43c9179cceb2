/* test_auth_cache.c - token hash -> principal, cached per file generation
 * (src/server/auth_cache.c).
 *
 * A wrong hit here lets a request in under someone else's name, or after
 * its token was revoked or expired; so what is checked is that a hit gives
 * back exactly the principal stored for that same hash (every field, the
 * longest EP list included), only at the generation it was stored at and
 * only while it has not expired (expires_at_ms > now_ms, as the SQL), that
 * another hash never gets it (also one sharing the slot), that a single
 * slot holds the newest token only, that the cache off stores nothing,
 * and that readers and writers on shared slots never see a torn
 * principal. The module's own source is compiled into this test
 * (tests/CMakeLists.txt). */
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

#include "auth_cache.h"

/* A SHA-256 stand-in: distinct seeds give distinct (well mixed) hashes. */
static void hash_of(unsigned char h[STORE_TOKEN_HASH_BYTES], unsigned seed)
{
    for (unsigned i = 0; i < STORE_TOKEN_HASH_BYTES / 8; i++) {
        uint64_t z = (uint64_t)seed * 4 + i + 0x9e3779b97f4a7c15u; /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        memcpy(h + 8 * i, &z, 8);
    }
}

static void principal_of(store_principal *p, int64_t id, int64_t expires)
{
    memset(p, 0, sizeof *p);
    p->user.id = id;
    snprintf(p->user.domain, sizeof p->user.domain, "domain-%lld", (long long)id);
    snprintf(p->user.name, sizeof p->user.name, "user-%lld", (long long)id);
    snprintf(p->grant.project_id, sizeof p->grant.project_id, "proj-%lld", (long long)id);
    p->grant.role = (role)(id % ROLE_COUNT);
    p->grant.eps_all = id % 2 == 0;
    snprintf(p->grant.eps, sizeof p->grant.eps, "0,ep-%lld,ep-b", (long long)id);
    p->expires_at_ms = expires;
}

static bool same_principal(const store_principal *a, const store_principal *b)
{
    return a->user.id == b->user.id && strcmp(a->user.domain, b->user.domain) == 0 &&
           strcmp(a->user.name, b->user.name) == 0 &&
           strcmp(a->grant.project_id, b->grant.project_id) == 0 &&
           a->grant.role == b->grant.role && a->grant.eps_all == b->grant.eps_all &&
           strcmp(a->grant.eps, b->grant.eps) == 0 && a->expires_at_ms == b->expires_at_ms;
}

static void assert_same_principal(const store_principal *a, const store_principal *b)
{
    assert_int_equal(a->user.id, b->user.id);
    assert_string_equal(a->user.domain, b->user.domain);
    assert_string_equal(a->user.name, b->user.name);
    assert_string_equal(a->grant.project_id, b->grant.project_id);
    assert_int_equal(a->grant.role, b->grant.role);
    assert_int_equal(a->grant.eps_all, b->grant.eps_all);
    assert_string_equal(a->grant.eps, b->grant.eps);
    assert_int_equal(a->expires_at_ms, b->expires_at_ms);
}

/* c has nothing for hash at gen and now_ms; out must be left as it was
 * on a miss. */
static void assert_miss(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES],
                        int64_t gen, int64_t now_ms)
{
    store_principal out, blank;
    memset(&out, 0x5a, sizeof out);
    memset(&blank, 0x5a, sizeof blank);
    assert_false(auth_cache_get(c, hash, gen, now_ms, &out));
    assert_memory_equal(&out, &blank, sizeof blank);
}

static void test_off(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(0);
    assert_non_null(c);
    unsigned char h[STORE_TOKEN_HASH_BYTES];
    hash_of(h, 1);
    store_principal p, out;
    principal_of(&p, 1, 1000000);
    auth_cache_put(c, h, 1, &p);
    assert_miss(c, h, 1, 0);
    auth_cache_free(c);
    /* NULL is off too */
    assert_false(auth_cache_get(NULL, h, 1, 0, &out));
    auth_cache_put(NULL, h, 1, &p);
    auth_cache_free(NULL);
}

static void test_hit_same_generation(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64);
    assert_non_null(c);
    unsigned char h[STORE_TOKEN_HASH_BYTES];
    hash_of(h, 7);
    store_principal p, out;
    memset(&p, 0, sizeof p);
    p.user.id = 4242;
    /* the longest names and EP list the store allows */
    memset(p.user.domain, 'd', STORE_NAME_MAX);
    memset(p.user.name, 'n', STORE_NAME_MAX);
    memset(p.grant.project_id, 'p', MODEL_PROJECT_ID_MAX);
    p.grant.role = ROLE_WRITER;
    p.grant.eps_all = false;
    for (size_t i = 0; i < STORE_EPS_MAX; i++)
        p.grant.eps[i] = i % 9 == 8 ? ',' : (char)('a' + i % 26);
    p.grant.eps[STORE_EPS_MAX - 1] = 'Z';
    p.expires_at_ms = 1700000000123;
    auth_cache_put(c, h, 3, &p);
    /* the caller's copy may change or go away after the put */
    store_principal expect = p;
    memset(&p, 0, sizeof p);

    memset(&out, 0, sizeof out);
    assert_true(auth_cache_get(c, h, 3, 1700000000000, &out));
    assert_same_principal(&out, &expect);
    assert_int_equal(strlen(out.grant.eps), STORE_EPS_MAX);
    assert_int_equal(out.grant.eps[STORE_EPS_MAX - 1], 'Z');
    assert_int_equal(strlen(out.user.name), STORE_NAME_MAX);
    /* the same hash in another buffer hits too (compared by value) */
    unsigned char h2[STORE_TOKEN_HASH_BYTES];
    memcpy(h2, h, sizeof h2);
    memset(&out, 0, sizeof out);
    assert_true(auth_cache_get(c, h2, 3, 0, &out));
    assert_same_principal(&out, &expect);
    auth_cache_free(c);
}

static void test_other_generation_misses(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64);
    assert_non_null(c);
    unsigned char h[STORE_TOKEN_HASH_BYTES];
    hash_of(h, 9);
    store_principal p, out;
    principal_of(&p, 9, 1000000);
    auth_cache_put(c, h, 5, &p);
    assert_miss(c, h, 4, 0);
    assert_miss(c, h, 6, 0);
    assert_miss(c, h, 0, 0);
    assert_true(auth_cache_get(c, h, 5, 0, &out));
    assert_same_principal(&out, &p);

    /* a newer generation's principal replaces the older one */
    store_principal p2;
    principal_of(&p2, 10, 2000000);
    auth_cache_put(c, h, 6, &p2);
    assert_miss(c, h, 5, 0);
    assert_true(auth_cache_get(c, h, 6, 0, &out));
    assert_same_principal(&out, &p2);
    auth_cache_free(c);
}

static void test_expiry(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64);
    assert_non_null(c);
    unsigned char h[STORE_TOKEN_HASH_BYTES];
    hash_of(h, 11);
    store_principal p, out;
    principal_of(&p, 11, 5000);
    auth_cache_put(c, h, 1, &p);
    assert_miss(c, h, 1, 5000); /* expires_at == now: expired */
    assert_miss(c, h, 1, 5001);
    assert_miss(c, h, 1, INT64_MAX);
    assert_true(auth_cache_get(c, h, 1, 4999, &out)); /* expires_at == now + 1 */
    assert_same_principal(&out, &p);
    assert_true(auth_cache_get(c, h, 1, 0, &out));
    assert_int_equal(out.expires_at_ms, 5000);
    auth_cache_free(c);
}

static void test_one_slot_newest_wins(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(1);
    assert_non_null(c);
    unsigned char a[STORE_TOKEN_HASH_BYTES], b[STORE_TOKEN_HASH_BYTES];
    hash_of(a, 21);
    hash_of(b, 22);
    store_principal pa, pb, out;
    principal_of(&pa, 21, 1000000);
    principal_of(&pb, 22, 1000000);
    auth_cache_put(c, a, 1, &pa);
    assert_true(auth_cache_get(c, a, 1, 0, &out));
    assert_same_principal(&out, &pa);

    auth_cache_put(c, b, 1, &pb);
    assert_miss(c, a, 1, 0);
    assert_true(auth_cache_get(c, b, 1, 0, &out));
    assert_same_principal(&out, &pb);

    auth_cache_put(c, a, 1, &pa);
    assert_miss(c, b, 1, 0);
    assert_true(auth_cache_get(c, a, 1, 0, &out));
    assert_same_principal(&out, &pa);
    auth_cache_free(c);
}

static void test_other_hash_never_hits(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64);
    assert_non_null(c);
    unsigned char a[STORE_TOKEN_HASH_BYTES];
    hash_of(a, 31);
    store_principal pa, out;
    principal_of(&pa, 31, 1000000);
    auth_cache_put(c, a, 1, &pa);

    /* one byte changed anywhere: in the slot-picking prefix or after it
     * (then it shares the slot with a) */
    for (unsigned i = 0; i < STORE_TOKEN_HASH_BYTES; i++) {
        unsigned char b[STORE_TOKEN_HASH_BYTES];
        memcpy(b, a, sizeof b);
        b[i] ^= 0x01;
        assert_miss(c, b, 1, 0);
        b[i] ^= 0x81; /* the top bit alone */
        assert_miss(c, b, 1, 0);
    }
    /* a never-used slot holds nothing, whatever is asked: an all-zero
     * hash at generation 0, even at a clock before 0 */
    unsigned char z[STORE_TOKEN_HASH_BYTES] = {0};
    for (unsigned i = 0; i < 256; i++) {
        z[0] = (unsigned char)i; /* lands on every slot */
        assert_miss(c, z, 0, INT64_MIN);
    }

    /* b on a's slot (same first bytes) evicts a; a then misses and b
     * answers with b's principal */
    unsigned char b[STORE_TOKEN_HASH_BYTES];
    memcpy(b, a, sizeof b);
    b[STORE_TOKEN_HASH_BYTES - 1] ^= 0xff;
    store_principal pb;
    principal_of(&pb, 32, 1000000);
    auth_cache_put(c, b, 1, &pb);
    assert_miss(c, a, 1, 0);
    assert_true(auth_cache_get(c, b, 1, 0, &out));
    assert_same_principal(&out, &pb);

    /* many tokens at once: each answers with its own principal or not at all */
    int hits = 0;
    for (unsigned t = 100; t < 400; t++) {
        unsigned char h[STORE_TOKEN_HASH_BYTES];
        store_principal p;
        hash_of(h, t);
        principal_of(&p, t, 1000000);
        auth_cache_put(c, h, 2, &p);
    }
    for (unsigned t = 100; t < 400; t++) {
        unsigned char h[STORE_TOKEN_HASH_BYTES];
        store_principal p;
        hash_of(h, t);
        principal_of(&p, t, 1000000);
        if (auth_cache_get(c, h, 2, 0, &out)) {
            assert_same_principal(&out, &p);
            hits++;
        }
    }
    assert_true(hits > 0 && hits <= 64);
    auth_cache_free(c);
}

/* ---- threads: readers and writers on a few shared slots ---- */

#define MT_THREADS 4
#define MT_OPS 5000

typedef struct {
    auth_cache *c;
    int id;
    atomic_int *torn, *hits;
} mt_arg;

static void *mt_main(void *arg)
{
    mt_arg *a = arg;
    unsigned rng = 12345u + (unsigned)a->id * 7919u;
    for (int op = 0; op < MT_OPS; op++) {
        rng = rng * 1103515245u + 12345u;
        unsigned t = (rng >> 16) % 40;
        unsigned char h[STORE_TOKEN_HASH_BYTES];
        hash_of(h, t);
        store_principal p, out;
        principal_of(&p, t, 1000000 + t);
        if ((rng >> 8) % 3 == 0) {
            auth_cache_put(a->c, h, 1, &p);
        } else if (auth_cache_get(a->c, h, 1, 0, &out)) {
            atomic_fetch_add(a->hits, 1);
            if (!same_principal(&out, &p))
                atomic_fetch_add(a->torn, 1);
        }
    }
    return NULL;
}

static void test_threads_no_torn_principal(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(8); /* 40 tokens on 8 slots */
    assert_non_null(c);
    pthread_t t[MT_THREADS];
    mt_arg args[MT_THREADS];
    atomic_int torn = 0, hits = 0;
    for (int i = 0; i < MT_THREADS; i++) {
        args[i] = (mt_arg){.c = c, .id = i, .torn = &torn, .hits = &hits};
        assert_int_equal(pthread_create(&t[i], NULL, mt_main, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(atomic_load(&torn), 0);
    assert_true(atomic_load(&hits) > 0);
    auth_cache_free(c);
}

/* Access keys: the principal and the sealed SK come back whole at the
 * generation they were stored at, never at another; a key's entry never
 * answers a token lookup nor a token's a key lookup, even for the same
 * hash; hits and misses are counted. */
static void test_access_keys(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64);
    assert_non_null(c);
    unsigned char h[STORE_TOKEN_HASH_BYTES], sealed[STORE_SK_SEALED_MAX], got[STORE_SK_SEALED_MAX];
    hash_of(h, 7);
    for (size_t i = 0; i < sizeof sealed; i++)
        sealed[i] = (unsigned char)(i * 31 + 1);
    store_principal p, out;
    principal_of(&p, 12, 0); /* keys do not expire */
    auth_cache_put_key(c, h, 3, &p, sealed, sizeof sealed);
    size_t got_len = 0;
    memset(got, 0, sizeof got);
    assert_true(auth_cache_get_key(c, h, 3, &out, got, &got_len));
    assert_same_principal(&out, &p);
    assert_int_equal(got_len, sizeof sealed);
    assert_memory_equal(got, sealed, sizeof sealed);
    assert_false(auth_cache_get_key(c, h, 4, &out, got, &got_len));
    assert_miss(c, h, 3, 0); /* not a token */
    store_principal tp;
    principal_of(&tp, 13, 1000);
    auth_cache_put(c, h, 5, &tp); /* a token in the same slot replaces the key */
    assert_false(auth_cache_get_key(c, h, 5, &out, got, &got_len));
    assert_true(auth_cache_get(c, h, 5, 10, &out));
    assert_same_principal(&out, &tp);
    uint64_t hits = 0, misses = 0;
    auth_cache_counts(c, &hits, &misses);
    /* hits: the key at 3, the token at 5; misses: the key at 4, the token
     * lookup of assert_miss, the key at 5 */
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 3);
    auth_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_hit_same_generation),
        cmocka_unit_test(test_other_generation_misses),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_one_slot_newest_wins),
        cmocka_unit_test(test_other_hash_never_hits),
        cmocka_unit_test(test_threads_no_torn_principal),
        cmocka_unit_test(test_access_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
