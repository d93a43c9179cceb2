/* auth.h - passwords and tokens (auth.md).
 *
 * Passwords are kept only as Argon2id hashes (libsodium crypto_pwhash_str).
 * Tokens are 256-bit random strings; the store keeps only their SHA-256.
 * Every secret comparison is constant-time.
 */
#ifndef IMGSEC_AUTH_H
#define IMGSEC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "imgsec/err.h"
#include "imgsec/store.h"

#define AUTH_PASSWORD_MAX 1024     /* bytes; longer passwords are refused */
#define AUTH_PW_HASH_MAX 128       /* crypto_pwhash_STRBYTES */
#define AUTH_TOKEN_CHARS 43        /* base64url of 32 random bytes, no padding */
#define AUTH_TOKEN_MAX 512         /* longest X-Auth-Token header we look at */
#define AUTH_TOKEN_TTL_MS (24LL * 3600 * 1000)

/* Initialises libsodium; call once before anything else here. */
int auth_init(imgsec_err *err);

/* Argon2id hash of pw into out (>= AUTH_PW_HASH_MAX bytes). */
int auth_password_hash(const char *pw, char *out, size_t out_size, imgsec_err *err);
/* True if pw matches hash. With hash == NULL it still spends the time of a
 * verification (against a fixed dummy hash), so unknown users and wrong
 * passwords take the same time. */
bool auth_password_verify(const char *hash, const char *pw);

/* A fresh token string, NUL-terminated (out >= AUTH_TOKEN_CHARS + 1). */
void auth_token_new(char *out);
/* SHA-256 of a token string, as stored. */
void auth_token_hash(const char *token, size_t len, unsigned char out[STORE_TOKEN_HASH_BYTES]);

#endif
