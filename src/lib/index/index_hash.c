/* index_hash.c - open-addressing hash maps (see index_hash.h).
 *
 * Linear probing keeps a probe sequence in one or two cache lines; the
 * backward-shift delete moves later members of a cluster into the hole so
 * that lookups stay correct without tombstones.
 */
#include "index_hash.h"

#include <stdlib.h>
#include <string.h>

#define MAP_MIN_CAP 16

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t mix_word(uint64_t w)
{
    w *= 0x87c37b91114253d5ULL;
    w = rotl64(w, 31);
    return w * 0x4cf5ad432745937fULL;
}

/* Eight bytes per step (MurmurHash3's mixing): keys such as content ids
 * are 70 bytes long, and a byte-wise hash would dominate a lookup. */
uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h ^= mix_word(w);
        h = rotl64(h, 27) * 5 + 0x52dce729;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h ^= mix_word(w);
    return mix64(h);
}

static bool too_full(size_t n, size_t cap)
{
    return cap == 0 || (n + 1) * 10 > cap * 7;
}

/* Is slot j's ideal position k outside the cyclic range (i, j]? Then the
 * entry at j may move back into the hole at i. */
static bool can_shift(size_t i, size_t j, size_t k)
{
    if (i <= j)
        return k <= i || k > j;
    return k <= i && k > j;
}

/* ---- strmap ---- */

void strmap_init(strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void strmap_free(strmap *m)
{
    free(m->slots);
    strmap_init(m);
}

static size_t strmap_find(const strmap *m, const char *key, size_t len, uint32_t h, bool *found)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    for (;;) {
        const strmap_slot *s = &m->slots[i];
        if (!s->val) {
            *found = false;
            return i;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int strmap_grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : MAP_MIN_CAP;
    strmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    strmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].val)
            continue;
        bool found;
        size_t j = strmap_find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash, &found);
        m->slots[j] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

void strmap_prefetch(const strmap *m, uint64_t h)
{
    if (m->cap)
        __builtin_prefetch(&m->slots[(uint32_t)h & (m->cap - 1)]);
}

void *strmap_get_hashed(const strmap *m, const char *key, size_t len, uint64_t h)
{
    if (m->n == 0)
        return NULL;
    bool found;
    size_t i = strmap_find(m, key, len, (uint32_t)h, &found);
    return found ? m->slots[i].val : NULL;
}

/* The key is only hashed when the map has entries. */
void *strmap_get(const strmap *m, const char *key, size_t len)
{
    return m->n ? strmap_get_hashed(m, key, len, hash_bytes(key, len)) : NULL;
}

int strmap_put(strmap *m, const char *key, size_t len, void *val)
{
    if (len > UINT32_MAX)
        return -1;
    if (too_full(m->n, m->cap) && strmap_grow(m) != 0)
        return -1;
    uint32_t h = (uint32_t)hash_bytes(key, len);
    bool found;
    size_t i = strmap_find(m, key, len, h, &found);
    if (!found)
        m->n++;
    m->slots[i] = (strmap_slot){key, (uint32_t)len, h, val};
    return 0;
}

void *strmap_del(strmap *m, const char *key, size_t len)
{
    if (m->n == 0)
        return NULL;
    bool found;
    size_t i = strmap_find(m, key, len, (uint32_t)hash_bytes(key, len), &found);
    if (!found)
        return NULL;
    void *val = m->slots[i].val;
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
        if (can_shift(i, j, m->slots[j].hash & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (strmap_slot){0};
    m->n--;
    return val;
}

/* ---- idmap ---- */

static size_t id_hash(int64_t key)
{
    return (size_t)mix64((uint64_t)key);
}

void idmap_init(idmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void idmap_free(idmap *m)
{
    free(m->slots);
    idmap_init(m);
}

static size_t idmap_find(const idmap *m, int64_t key, uint32_t h, idmap_key_fn fn,
                         const void *ctx, bool *found)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    for (;;) {
        const idmap_slot *s = &m->slots[i];
        if (s->row == IDMAP_EMPTY) {
            *found = false;
            return i;
        }
        if (s->hash == h && fn(ctx, s->row) == key) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

/* Places a slot whose key is known to be absent (growing: no key read). */
static void idmap_place(idmap *m, idmap_slot s)
{
    size_t mask = m->cap - 1, i = s.hash & mask;
    while (m->slots[i].row != IDMAP_EMPTY)
        i = (i + 1) & mask;
    m->slots[i] = s;
}

static int idmap_grow(idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : MAP_MIN_CAP;
    idmap_slot *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cap; i++)
        slots[i] = (idmap_slot){0, IDMAP_EMPTY};
    idmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].row != IDMAP_EMPTY)
            idmap_place(m, old.slots[i]);
    free(old.slots);
    return 0;
}

bool idmap_get(const idmap *m, int64_t key, idmap_key_fn fn, const void *ctx, uint32_t *row)
{
    if (m->n == 0)
        return false;
    bool found;
    size_t i = idmap_find(m, key, (uint32_t)id_hash(key), fn, ctx, &found);
    if (found)
        *row = m->slots[i].row;
    return found;
}

int idmap_put(idmap *m, int64_t key, uint32_t row, idmap_key_fn fn, const void *ctx)
{
    if (row == IDMAP_EMPTY)
        return -1;
    if (too_full(m->n, m->cap) && idmap_grow(m) != 0)
        return -1;
    bool found;
    uint32_t h = (uint32_t)id_hash(key);
    size_t i = idmap_find(m, key, h, fn, ctx, &found);
    if (!found)
        m->n++;
    m->slots[i] = (idmap_slot){h, row};
    return 0;
}

bool idmap_del(idmap *m, int64_t key, idmap_key_fn fn, const void *ctx)
{
    if (m->n == 0)
        return false;
    bool found;
    size_t i = idmap_find(m, key, (uint32_t)id_hash(key), fn, ctx, &found);
    if (!found)
        return false;
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].row != IDMAP_EMPTY; j = (j + 1) & mask) {
        if (can_shift(i, j, m->slots[j].hash & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (idmap_slot){0, IDMAP_EMPTY};
    m->n--;
    return true;
}

/* ---- rowmap ---- */

void rowmap_init(rowmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void rowmap_free(rowmap *m)
{
    free(m->slots);
    rowmap_init(m);
}

static rowmap_slot *rowmap_alloc(size_t cap)
{
    rowmap_slot *slots = malloc(cap * sizeof *slots);
    for (size_t i = 0; slots && i < cap; i++)
        slots[i] = (rowmap_slot){0, IDMAP_EMPTY};
    return slots;
}

/* The slot of the key, or the empty slot ending its probe. */
static size_t rowmap_find(const rowmap *m, const char *key, size_t len, uint32_t h,
                          rowmap_key_fn fn, const void *ctx, bool *found)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const rowmap_slot *s = &m->slots[i];
        if (s->row == IDMAP_EMPTY) {
            *found = false;
            return i;
        }
        if (s->hash == h) {
            size_t klen;
            const char *k = fn(ctx, s->row, &klen);
            if (klen == len && memcmp(k, key, len) == 0) {
                *found = true;
                return i;
            }
        }
    }
}

/* Places a slot whose key is known to be absent (growing: no key read). */
static void rowmap_place(rowmap *m, rowmap_slot s)
{
    size_t mask = m->cap - 1, i = s.hash & mask;
    while (m->slots[i].row != IDMAP_EMPTY)
        i = (i + 1) & mask;
    m->slots[i] = s;
}

static int rowmap_grow(rowmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : MAP_MIN_CAP;
    rowmap_slot *slots = rowmap_alloc(cap);
    if (!slots)
        return -1;
    rowmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].row != IDMAP_EMPTY)
            rowmap_place(m, old.slots[i]);
    free(old.slots);
    return 0;
}

uint32_t rowmap_get(const rowmap *m, const char *key, size_t len, rowmap_key_fn fn,
                    const void *ctx)
{
    if (m->n == 0)
        return IDMAP_EMPTY;
    bool found;
    size_t i = rowmap_find(m, key, len, (uint32_t)hash_bytes(key, len), fn, ctx, &found);
    return found ? m->slots[i].row : IDMAP_EMPTY;
}

int rowmap_put(rowmap *m, uint32_t row, rowmap_key_fn fn, const void *ctx)
{
    if (row == IDMAP_EMPTY)
        return -1;
    if (too_full(m->n, m->cap) && rowmap_grow(m) != 0)
        return -1;
    size_t len;
    const char *key = fn(ctx, row, &len);
    rowmap_place(m, (rowmap_slot){(uint32_t)hash_bytes(key, len), row});
    m->n++;
    return 0;
}

bool rowmap_del(rowmap *m, uint32_t row, const char *key, size_t len)
{
    if (m->n == 0)
        return false;
    size_t mask = m->cap - 1;
    uint32_t h = (uint32_t)hash_bytes(key, len);
    size_t i = h & mask;
    /* the row itself, not a key compare: the key is the row's */
    while (m->slots[i].row != IDMAP_EMPTY && m->slots[i].row != row)
        i = (i + 1) & mask;
    if (m->slots[i].row == IDMAP_EMPTY)
        return false;
    for (size_t j = (i + 1) & mask; m->slots[j].row != IDMAP_EMPTY; j = (j + 1) & mask) {
        if (can_shift(i, j, m->slots[j].hash & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (rowmap_slot){0, IDMAP_EMPTY};
    m->n--;
    return true;
}

int rowmap_copy(rowmap *dst, const rowmap *src)
{
    if (!src->cap)
        return 0;
    if (!(dst->slots = malloc(src->cap * sizeof *src->slots)))
        return -1;
    memcpy(dst->slots, src->slots, src->cap * sizeof *src->slots);
    dst->cap = src->cap;
    dst->n = src->n;
    return 0;
}
