/* index_key.c - NUL-joined composite keys (see index_key.h). */
#include "index_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

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
    if (data)
        memcpy(k->p + k->len, data, n);
    k->len += n;
}

/* n more bytes at the end of k, for the caller to fill (a whole key
 * written in one go); NULL once an append has failed. */
static char *key_room(ixkey *k, size_t n)
{
    size_t at = k->len;
    key_append(k, NULL, n);
    return k->failed ? NULL : k->p + at;
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

void key_project_ep(ixkey *k, const char *project_id, const char *ep)
{
    key_str(k, project_id);
    key_str(k, ep);
}

size_t key_vul_write(char *dst, const char *vul_id, size_t len, unsigned char type)
{
    memcpy(dst, vul_id, len);
    dst[len] = '\0';
    dst[len + 1] = (char)type;
    return KEY_VUL_LEN(len);
}

void key_vul(ixkey *k, const char *vul_id, unsigned char type)
{
    /* through key_vul_write, so that both forms are one layout */
    size_t len = strlen(vul_id);
    char *dst = key_room(k, KEY_VUL_LEN(len));
    if (dst)
        key_vul_write(dst, vul_id, len, type);
    k->parts = 2;
}

void key_build(ixkey *k, const char *rule_id, const char *risk_name, unsigned char level)
{
    key_str(k, rule_id);
    key_str(k, risk_name);
    key_byte(k, level);
}

/* The key is rule NUL risk NUL level (key_build): the rule ends at the
 * first NUL, the level is the last byte. */
void key_build_split(const char *key, size_t klen, key_build_parts *out)
{
    out->rule = key;
    out->rule_len = strlen(key);
    out->risk = key + out->rule_len + 1;
    out->risk_len = klen - out->rule_len - 3;
    out->level = (unsigned char)key[klen - 1];
}

/* util_parse_int64 (digits, an optional '-', in range) plus what "%lld"
 * never writes: a leading zero, or "-0". */
bool key_decimal_id(const char *s, int64_t *id)
{
    const char *digits = s + (*s == '-');
    if (digits[0] == '0' && (digits[1] || digits != s))
        return false;
    return util_parse_int64(s, id);
}

