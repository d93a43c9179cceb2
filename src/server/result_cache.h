/* result_cache.h - statistic answers, remembered for one content of the
 * index.
 *
 * Consoles and scripts ask the same few questions over and over (the
 * dashboard's counts, a report's size before export), and the answer to a
 * statistic request is a function of four things only: the report type,
 * the caller's resolved scope (project and EP set), the body, and the data.
 * The data is named by the index's content (follower_view, follow.h),
 * which moves only when an image or its records change, not on a login or
 * an export task. So an answer is stored under the first three, byte for
 * byte, with the content it was counted on, and given again only once the
 * index reflects the file as of the request and still has that content: a
 * cached answer is never older than the file, exactly as a computed one.
 * (The functions below call that name `gen`: any number that only grows.)
 *
 * Keys are compared in full, not only by hash, so two bodies never share
 * an answer by collision. Memory is bounded by a byte budget over keys;
 * answers of earlier generations are dropped first when it is reached. */
#ifndef IMGSECD_RESULT_CACHE_H
#define IMGSECD_RESULT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct result_cache result_cache;

/* max_bytes: budget for keys and entries (0: the cache is off). */
result_cache *result_cache_new(size_t max_bytes);
void result_cache_free(result_cache *c);
/* False when the cache is off (or NULL): callers then need no key at all. */
bool result_cache_enabled(const result_cache *c);

/* A key: the scope part (report, project, EPs: built by the caller, short)
 * and the body, as received. */
typedef struct {
    const char *scope;
    size_t scope_len;
    const char *body;
    size_t body_len;
    uint64_t hash; /* result_cache_key_hash fills it */
} result_key;
void result_cache_key_hash(result_key *k);

bool result_cache_get(result_cache *c, const result_key *k, int64_t gen, int64_t *total);
void result_cache_put(result_cache *c, const result_key *k, int64_t gen, int64_t total);

typedef struct {
    uint64_t hits, misses, entries, bytes;
} result_cache_stats;
void result_cache_stats_get(result_cache *c, result_cache_stats *out);

#endif
