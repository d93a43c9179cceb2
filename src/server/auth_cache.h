/* auth_cache.h - who holds a token or an access key, remembered for one
 * auth epoch.
 *
 * Looking a token up in SQLite costs a read transaction (file locks and
 * all) per request. The answer can only change when a token is revoked, a
 * user, grant or key changes (each moves the store's auth epoch, by
 * trigger: store_auth_epoch), or the token expires with time. So an entry
 * is kept with the epoch it was read at and is used only while the epoch
 * is still that and the token has not expired: revocation stays
 * immediate, as the contract wants, and a login, an ingest or an export
 * task (commits that leave the epoch) keep every entry. The epoch itself
 * is read once per generation of the file (follow.h): the cache remembers
 * the last (generation, epoch) pair read, so a request at a generation
 * already seen reads nothing at all.
 *
 * Entries are keyed by the token's SHA-256 (never the token), compared in
 * constant time, and wiped when replaced or freed.
 *
 * Access keys (AK/SK-signed requests) are kept the same way, keyed by a
 * SHA-256 over the AK and the request's project (authn.c), with the
 * principal (user and grant on that project) and the SK as stored: sealed
 * (keyfile.h), so that the cache holds no secret the database does not;
 * the request unseals it, checks the signature and wipes it. A key
 * deleted, a user deleted or a grant changed is a commit: the next
 * request reads SQLite again. */
#ifndef IMGSECD_AUTH_CACHE_H
#define IMGSECD_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "imgsec/store.h"
#include "imgsec/store_keys.h"

typedef struct auth_cache auth_cache;

/* slots: how many tokens are remembered at once (0: the cache is off). */
auth_cache *auth_cache_new(unsigned slots);
void auth_cache_free(auth_cache *c);

/* The epoch at file generation gen, if the pair was remembered
 * (auth_cache_epoch_set); the caller reads it from the store otherwise. */
bool auth_cache_epoch_at(auth_cache *c, int64_t gen, int64_t *epoch);
/* Remembers epoch for generation gen; read after the generation was
 * probed. An older generation never replaces a newer one. */
void auth_cache_epoch_set(auth_cache *c, int64_t gen, int64_t epoch);
/* False when the cache is off (or NULL): no epoch is needed then. */
bool auth_cache_enabled(const auth_cache *c);

/* Below, gen is the auth epoch the entry was read at. */

/* The principal of hash if it was stored at epoch gen and expires after
 * now_ms. */
bool auth_cache_get(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    int64_t now_ms, store_principal *out);
void auth_cache_put(auth_cache *c, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t gen,
                    const store_principal *p);

/* An access key's principal and sealed SK (sealed: STORE_SK_SEALED_MAX
 * bytes) if stored under key at generation gen. Keys and tokens never
 * answer for each other. */
bool auth_cache_get_key(auth_cache *c, const unsigned char key[STORE_TOKEN_HASH_BYTES],
                        int64_t gen, store_principal *out, unsigned char *sealed,
                        size_t *sealed_len);
void auth_cache_put_key(auth_cache *c, const unsigned char key[STORE_TOKEN_HASH_BYTES],
                        int64_t gen, const store_principal *p, const unsigned char *sealed,
                        size_t sealed_len);

/* Lookups answered from the cache (hits) and not (misses), both kinds,
 * since new: what imgsecd logs when it stops. */
void auth_cache_counts(auth_cache *c, uint64_t *hits, uint64_t *misses);

#endif
