/* index_hash.h - the small open-addressing hash maps of the query index.
 *
 * strmap maps a byte string to a pointer; idmap maps an int64 image id to a
 * row number; rowmap is a set of rows keyed by a string each row holds
 * (the key is read through a function, so a slot is 8 bytes and the map
 * keeps no key). All use linear probing with backward-shift deletion (no
 * tombstones, so a map that churns never degrades) and a power-of-two table
 * kept at most 70% full. Neither copies keys: a strmap key must live in the
 * value it maps to (dictionary entries and posting terms own their key).
 * Lookups never write, so any number of readers may share a map.
 */
#ifndef IMGSEC_INDEX_HASH_H
#define IMGSEC_INDEX_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 64-bit hash of n bytes. */
uint64_t hash_bytes(const void *p, size_t n);

typedef struct {
    const char *key;   /* borrowed from val */
    uint32_t len;
    uint32_t hash;
    void *val;         /* NULL: empty slot */
} strmap_slot;

typedef struct {
    strmap_slot *slots;
    size_t cap;        /* 0 or a power of two */
    size_t n;
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m);
/* The value of key, or NULL. */
void *strmap_get(const strmap *m, const char *key, size_t len);
/* The same in two steps, for many lookups at once: strmap_prefetch asks
 * the CPU for key's slot (h = hash_bytes(key, len)) and returns at once;
 * strmap_get_hashed, called a little later, finds it in the cache. A big
 * map misses the cache on every lookup, and overlapping the misses of a
 * batch is what makes a list of thousands of keys cheap. */
void strmap_prefetch(const strmap *m, uint64_t h);
void *strmap_get_hashed(const strmap *m, const char *key, size_t len, uint64_t h);
/* Maps key (which must stay valid while mapped) to val (non-NULL),
 * replacing any previous value. 0, or -1 when out of memory. */
int strmap_put(strmap *m, const char *key, size_t len, void *val);
/* Unmaps key; returns its value or NULL if absent. */
void *strmap_del(strmap *m, const char *key, size_t len);

#define IDMAP_EMPTY UINT32_MAX

/* idmap: image id -> row. The id is the row's (the caller's, read through
 * an idmap_key_fn), so a slot holds only the row and the id's 32-bit hash:
 * 8 bytes instead of 16, and growing and deleting never read an id. */
typedef struct {
    uint32_t hash;
    uint32_t row;      /* IDMAP_EMPTY: empty slot */
} idmap_slot;

typedef struct {
    idmap_slot *slots;
    size_t cap;
    size_t n;
} idmap;

/* The id of row (which the map holds or is about to): the caller's, with ctx. */
typedef int64_t (*idmap_key_fn)(const void *ctx, uint32_t row);

void idmap_init(idmap *m);
void idmap_free(idmap *m);
bool idmap_get(const idmap *m, int64_t key, idmap_key_fn fn, const void *ctx, uint32_t *row);
/* Maps key to row (< IDMAP_EMPTY; fn(ctx, row) must already give key),
 * replacing. 0, or -1 when out of memory. */
int idmap_put(idmap *m, int64_t key, uint32_t row, idmap_key_fn fn, const void *ctx);
bool idmap_del(idmap *m, int64_t key, idmap_key_fn fn, const void *ctx);

/* ---- rowmap: rows keyed by their own string ----
 *
 * For a string attribute nearly every image has its own value of (content
 * ids): a dictionary entry per image would cost more than the string. The
 * row owns the string; the map finds the row from the string. A key is in
 * the map at most once (the caller keeps strings held by several rows
 * elsewhere). Slots hold the row and the key's 32-bit hash, so growing and
 * deleting never read a key. */
typedef struct {
    uint32_t hash;
    uint32_t row;      /* IDMAP_EMPTY: empty slot */
} rowmap_slot;

typedef struct {
    rowmap_slot *slots;
    size_t cap;
    size_t n;
} rowmap;

/* The key of row (a string of *len bytes): the caller's, with ctx. */
typedef const char *(*rowmap_key_fn)(const void *ctx, uint32_t row, size_t *len);

void rowmap_init(rowmap *m);
void rowmap_free(rowmap *m);
/* The row whose key is key[0..len), or IDMAP_EMPTY. */
uint32_t rowmap_get(const rowmap *m, const char *key, size_t len, rowmap_key_fn fn,
                    const void *ctx);
/* Adds row, whose key (fn(ctx, row)) must not be in the map. 0, or -1 when
 * out of memory. */
int rowmap_put(rowmap *m, uint32_t row, rowmap_key_fn fn, const void *ctx);
/* Removes row if the map holds it under its key key[0..len). */
bool rowmap_del(rowmap *m, uint32_t row, const char *key, size_t len);
/* dst (initialized, empty) = a copy of src. 0, or -1 when out of memory. */
int rowmap_copy(rowmap *dst, const rowmap *src);

#endif
