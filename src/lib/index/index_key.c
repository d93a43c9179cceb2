/* index_key.c - NUL-joined composite keys (see index_key.h). */
#include "index_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void key_init(ixkey *k)
{
    k->p = k->inl;
    k->len = 0;
    k->cap = sizeof k->inl;
    k->parts = 0;
    k->failed = 0;
}

void key_free(ixkey *k)
{
    if (k->p != k->inl)
        free(k->p);
    key_init(k);
}

static void key_append(ixkey *k, const void *data, size_t n)
{
    if (k->failed)
        return;
    if (k->len + n > k->cap) {
        size_t cap = k->cap * 2;
        while (cap < k->len + n)
            cap *= 2;
        char *p = k->p == k->inl ? malloc(cap) : realloc(k->p, cap);
        if (!p) {
            k->failed = 1;
            return;
        }
        if (k->p == k->inl)
            memcpy(p, k->inl, k->len);
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, data, n);
    k->len += n;
}

static void key_sep(ixkey *k)
{
    static const char nul = '\0';
    if (k->parts++)
        key_append(k, &nul, 1);
}

void key_str(ixkey *k, const char *s)
{
    key_sep(k);
    if (s)
        key_append(k, s, strlen(s));
}

void key_byte(ixkey *k, unsigned char b)
{
    key_sep(k);
    key_append(k, &b, 1);
}

/* Is s the decimal spelling of an image id, exactly as the server writes
 * it (no sign but '-', no leading zeros, no spaces)? */
bool key_decimal_id(const char *s, int64_t *id)
{
    bool neg = *s == '-';
    const char *p = s + neg;
    if (!*p || (p[0] == '0' && (p[1] || neg)))
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > (uint64_t)INT64_MAX + neg)
        return false;
    *id = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

