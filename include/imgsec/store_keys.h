/* store_keys.h - access keys (AK/SK) in the store (auth.md).
 *
 * A row is (ak, user, sealed sk, created). The store never sees a plain
 * SK: the caller seals it (keyfile.h) before insert and opens it after
 * lookup. A key belongs to a user, not a project: a signed request gets
 * the user's grant on the project it names, like a token of that project.
 * Deleting the user deletes its keys (ON DELETE CASCADE).
 */
#ifndef IMGSEC_STORE_KEYS_H
#define IMGSEC_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/keyfile.h"
#include "imgsec/store.h"

#define STORE_AK_LEN 20   /* uppercase letters and digits, as the cloud's */
#define STORE_SK_LEN 40   /* letters and digits */
#define STORE_SK_SEALED_MAX (STORE_SK_LEN + KEYFILE_SEAL_OVERHEAD)

/* A fresh AK (STORE_AK_LEN uppercase alphanumerics) and SK (STORE_SK_LEN
 * alphanumerics), NUL-terminated, from the OS random generator. */
void store_key_generate(char ak[STORE_AK_LEN + 1], char sk[STORE_SK_LEN + 1]);

/* Is s shaped like an AK of ours (cheap check before any lookup)? */
bool store_key_ak_valid(const char *s);

int store_key_insert(store *st, const char *ak, int64_t user_id, const unsigned char *sealed,
                     size_t sealed_len, int64_t created_ms, imgsec_err *err);

/* The user holding ak and the sealed SK (out >= STORE_SK_SEALED_MAX).
 * IMGSEC_EAUTH if no such key. */
int store_key_lookup(store *st, const char *ak, store_user *u, unsigned char *sealed,
                     size_t *sealed_len, imgsec_err *err);

/* IMGSEC_ENOTFOUND if no such key. */
int store_key_delete(store *st, const char *ak, imgsec_err *err);

typedef struct {
    char ak[STORE_AK_LEN + 1];
    store_user user;
    int64_t created_ms;
} store_key_info;

/* Every key, ordered by domain, name, created; never the SK. */
int store_key_list(store *st, void (*cb)(const store_key_info *k, void *arg), void *arg,
                   imgsec_err *err);

#endif
