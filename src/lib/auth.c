/* auth.c - passwords and tokens, on libsodium.
 *
 * Argon2id with libsodium's "interactive" cost: strong enough for an
 * online login route and cheap enough (~0.1 s, 64 MiB) that a test suite
 * can log in a few dozen times. Unknown users are verified against a
 * dummy hash so that "no such user" and "wrong password" cost the same.
 */
#include "imgsec/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_hash_make(void)
{
    char pw[33];
    randombytes_buf(pw, 32);
    pw[32] = '\0';
    if (crypto_pwhash_str(dummy_hash, pw, 32, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
    sodium_memzero(pw, sizeof pw);
}

int auth_init(imgsec_err *err)
{
    if (sodium_init() < 0)
        return err_set(err, IMGSEC_EINTERNAL, "libsodium failed to initialise");
    return IMGSEC_OK;
}

int auth_password_hash(const char *pw, char *out, size_t out_size, imgsec_err *err)
{
    size_t len = strlen(pw);
    if (len == 0 || len > AUTH_PASSWORD_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: password must be 1-%d bytes",
                       AUTH_PASSWORD_MAX);
    if (out_size < crypto_pwhash_STRBYTES)
        return err_set(err, IMGSEC_EINTERNAL, "password hash buffer too small");
    if (crypto_pwhash_str(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory hashing a password");
    return IMGSEC_OK;
}

bool auth_password_verify(const char *hash, const char *pw)
{
    size_t len = strlen(pw);
    if (len > AUTH_PASSWORD_MAX)
        len = AUTH_PASSWORD_MAX;
    if (!hash) {
        pthread_once(&dummy_once, dummy_hash_make);
        /* The result is meaningless; the work is the point. */
        if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, pw, len) == 0)
            return false;
        return false;
    }
    return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

void auth_token_new(char *out)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_CHARS + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void auth_token_hash(const char *token, size_t len, unsigned char out[STORE_TOKEN_HASH_BYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)token, len);
}
