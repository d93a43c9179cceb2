/* scan_hash.c - SHA-256 of layer streams (scan_int.h). Every layer byte is
 * hashed once or twice (blob digest, diff id), so the digest is on the
 * scan's hot path: OpenSSL's EVP uses the CPU's SHA extensions (about
 * 1.5 GB/s per core here, docs/performance.md), libsodium's is portable.
 * The malware analyzer's whole-file hashes use it too (scan_sha256_mem). */
#include "scan/scan_int.h"

#include <openssl/evp.h>

#include "imgsec/util.h"

int scan_sha256_init(scan_sha256 *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        h->ctx = NULL;
        return -1;
    }
    h->ctx = c;
    return 0;
}

void scan_sha256_update(scan_sha256 *h, const void *p, size_t n)
{
    if (h->ctx && n)
        EVP_DigestUpdate(h->ctx, p, n);
}

void scan_sha256_final(scan_sha256 *h, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!h->ctx || EVP_DigestFinal_ex(h->ctx, d, &n) != 1 || n != 32) {
        hex[0] = '\0';
    } else {
        util_hex(d, 32, hex);
    }
    scan_sha256_free(h);
}

void scan_sha256_free(scan_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int scan_sha256_mem(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

bool scan_is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}
