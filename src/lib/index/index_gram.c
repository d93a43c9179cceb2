/* index_gram.c - n-gram postings for substring filters (see index_gram.h).
 *
 * The trigram table maps a trigram (its three bytes in the low 24 bits of
 * a key, GRAM_USED set so that 0 marks an empty slot) to a roaring bitmap
 * of places, with linear probing and backward-shift deletion like
 * index_hash.c, at most 70% full. A trigram whose last place is removed
 * leaves the table, so a dictionary that churns keeps no dead postings.
 *
 * A needle of 3 bytes or more is looked up by at most GRAM_PROBES of its
 * trigrams, spread over its length (every trigram of the needle is a
 * necessary condition, so any subset is; verification makes the answer
 * exact), which bounds the work for a 64 KB needle. The postings are
 * intersected smallest first, and the intersection stops early when few
 * candidates are left, since verifying a handful is cheaper than more
 * intersections.
 */
#include "index_gram.h"

#include <stdlib.h>
#include <string.h>

#define GRAM_USED 0x80000000u
#define GRAM_PROBES 32
#define GRAM_FEW 16 /* candidates left below which intersecting stops */

void gram_init(gram_index *g)
{
    memset(g, 0, sizeof *g);
}

void gram_free(gram_index *g)
{
    for (size_t i = 0; i < g->cap; i++)
        if (g->slots[i].key)
            roaring_bitmap_free(g->slots[i].pos);
    free(g->slots);
    for (int b = 0; b < 256; b++)
        if (g->uni[b])
            roaring_bitmap_free(g->uni[b]);
    gram_init(g);
}

static uint32_t tri_key(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return GRAM_USED | (uint32_t)u[0] << 16 | (uint32_t)u[1] << 8 | u[2];
}

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

static gram_slot *tri_find(const gram_index *g, uint32_t key)
{
    if (!g->cap)
        return NULL;
    for (size_t i = slot_of(key, g->cap);; i = (i + 1) & (g->cap - 1)) {
        if (g->slots[i].key == key)
            return &g->slots[i];
        if (!g->slots[i].key)
            return NULL;
    }
}

static int tri_grow(gram_index *g)
{
    size_t cap = g->cap ? g->cap * 2 : 64;
    gram_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < g->cap; i++) {
        if (!g->slots[i].key)
            continue;
        size_t j = slot_of(g->slots[i].key, cap);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = g->slots[i];
    }
    free(g->slots);
    g->slots = slots;
    g->cap = cap;
    return 0;
}

/* The posting of key, created empty if absent. NULL when out of memory. */
static roaring_bitmap_t *tri_get_or_add(gram_index *g, uint32_t key)
{
    gram_slot *s = tri_find(g, key);
    if (s)
        return s->pos;
    if ((g->n + 1) * 10 > g->cap * 7 && tri_grow(g) != 0)
        return NULL;
    roaring_bitmap_t *bm = roaring_bitmap_create();
    if (!bm)
        return NULL;
    size_t i = slot_of(key, g->cap);
    while (g->slots[i].key)
        i = (i + 1) & (g->cap - 1);
    g->slots[i].key = key;
    g->slots[i].pos = bm;
    g->n++;
    return bm;
}

/* Removes the slot at i (its bitmap freed), shifting back the run after it. */
static void tri_del_at(gram_index *g, size_t i)
{
    roaring_bitmap_free(g->slots[i].pos);
    size_t mask = g->cap - 1;
    for (size_t j = (i + 1) & mask; g->slots[j].key; j = (j + 1) & mask) {
        size_t home = slot_of(g->slots[j].key, g->cap);
        /* j's entry may move to i when i lies on its probe path home..j */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            g->slots[i] = g->slots[j];
            i = j;
        }
    }
    g->slots[i].key = 0;
    g->slots[i].pos = NULL;
    g->n--;
}

int gram_add(gram_index *g, const char *s, size_t len, uint32_t pos)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (!g->uni[u[i]] && !(g->uni[u[i]] = roaring_bitmap_create()))
            goto fail;
        roaring_bitmap_add(g->uni[u[i]], pos);
    }
    for (size_t i = 0; i + 3 <= len; i++) {
        roaring_bitmap_t *bm = tri_get_or_add(g, tri_key(s + i));
        if (!bm)
            goto fail;
        roaring_bitmap_add(bm, pos);
    }
    return 0;
fail:
    gram_remove(g, s, len, pos);
    return -1;
}

void gram_remove(gram_index *g, const char *s, size_t len, uint32_t pos)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++)
        if (g->uni[u[i]])
            roaring_bitmap_remove(g->uni[u[i]], pos);
    for (size_t i = 0; i + 3 <= len; i++) {
        gram_slot *slot = tri_find(g, tri_key(s + i));
        if (!slot)
            continue;
        roaring_bitmap_remove(slot->pos, pos);
        if (roaring_bitmap_is_empty(slot->pos))
            tri_del_at(g, (size_t)(slot - g->slots));
    }
}

int gram_move(gram_index *g, const char *s, size_t len, uint32_t from, uint32_t to)
{
    if (gram_add(g, s, len, to) != 0)
        return -1;
    gram_remove(g, s, len, from);
    return 0;
}

static int by_cardinality(const void *a, const void *b)
{
    uint64_t ca = roaring_bitmap_get_cardinality(*(const roaring_bitmap_t *const *)a);
    uint64_t cb = roaring_bitmap_get_cardinality(*(const roaring_bitmap_t *const *)b);
    return ca < cb ? -1 : ca > cb;
}

/* "ab": the trigrams that start or end with it (a string longer than 2
 * bytes contains "ab" exactly when it holds one of them). */
static int match_two(const gram_index *g, const char *needle, roaring_bitmap_t *out)
{
    const roaring_bitmap_t *hits[512];
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)needle;
    for (uint32_t x = 0; x < 256; x++) {
        const gram_slot *s = tri_find(g, GRAM_USED | (uint32_t)u[0] << 16 | (uint32_t)u[1] << 8 | x);
        if (s)
            hits[n++] = s->pos;
        s = tri_find(g, GRAM_USED | x << 16 | (uint32_t)u[0] << 8 | u[1]);
        if (s)
            hits[n++] = s->pos;
    }
    if (!n)
        return 0;
    roaring_bitmap_t *all = roaring_bitmap_or_many(n, hits);
    if (!all)
        return -1;
    roaring_bitmap_or_inplace(out, all);
    roaring_bitmap_free(all);
    return 0;
}

typedef struct {
    const char *needle;
    size_t nlen;
    gram_verify_fn verify;
    const void *ctx;
    roaring_bitmap_t *out;
} verify_walk;

static bool verify_one(uint32_t pos, void *arg)
{
    verify_walk *w = arg;
    if (w->verify(w->ctx, pos, w->needle, w->nlen))
        roaring_bitmap_add(w->out, pos);
    return true;
}

static int match_long(const gram_index *g, const char *needle, size_t nlen,
                      gram_verify_fn verify, const void *ctx, roaring_bitmap_t *out)
{
    size_t n_tri = nlen - 2, n = 0;
    size_t probes = n_tri < GRAM_PROBES ? n_tri : GRAM_PROBES;
    const roaring_bitmap_t *post[GRAM_PROBES];
    for (size_t k = 0; k < probes; k++) {
        /* spread over the needle, the first and last trigram included */
        size_t at = probes == 1 ? 0 : k * (n_tri - 1) / (probes - 1);
        const gram_slot *s = tri_find(g, tri_key(needle + at));
        if (!s)
            return 0; /* a trigram no string holds: no match */
        post[n++] = s->pos;
    }
    qsort(post, n, sizeof *post, by_cardinality);
    if (nlen == 3) {
        roaring_bitmap_or_inplace(out, post[0]);
        return 0;
    }
    roaring_bitmap_t *cand = n > 1 ? roaring_bitmap_and(post[0], post[1])
                                   : roaring_bitmap_copy(post[0]);
    if (!cand)
        return -1;
    for (size_t k = 2; k < n && roaring_bitmap_get_cardinality(cand) > GRAM_FEW; k++)
        roaring_bitmap_and_inplace(cand, post[k]);
    verify_walk w = {needle, nlen, verify, ctx, out};
    roaring_iterate(cand, verify_one, &w);
    roaring_bitmap_free(cand);
    return 0;
}

int gram_match(const gram_index *g, const char *needle, size_t nlen, gram_verify_fn verify,
               const void *ctx, roaring_bitmap_t *out)
{
    if (nlen == 1) {
        const roaring_bitmap_t *u = g->uni[(unsigned char)needle[0]];
        if (u)
            roaring_bitmap_or_inplace(out, u);
        return 0;
    }
    if (nlen == 2)
        return match_two(g, needle, out);
    return match_long(g, needle, nlen, verify, ctx, out);
}
