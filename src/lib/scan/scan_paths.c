/* scan_paths.c - the paths upper layers wrote, whited out or made opaque
 * (scan_int.h): an open-addressing hash table of path -> flags whose keys
 * live in one growing arena, so a million paths cost one allocation per
 * doubling, not one per path. Also path normalisation, the one walker of
 * member names and link targets. */
#include "scan/scan_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    uint32_t off, len; /* key in the arena; len 0 = empty slot (keys are never empty) */
    unsigned flags;
} slot;

struct scan_paths {
    slot *slots;
    size_t cap, n; /* cap a power of two */
    char *arena;
    size_t arena_len, arena_cap;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ? h : 1;
}

scan_paths *scan_paths_new(void)
{
    scan_paths *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cap = 1024;
    if (!(p->slots = calloc(p->cap, sizeof *p->slots))) {
        free(p);
        return NULL;
    }
    return p;
}

void scan_paths_free(scan_paths *p)
{
    if (!p)
        return;
    free(p->slots);
    free(p->arena);
    free(p);
}

static slot *find(const scan_paths *p, const char *path, size_t len, uint64_t h)
{
    for (size_t i = h & (p->cap - 1);; i = (i + 1) & (p->cap - 1)) {
        slot *s = &p->slots[i];
        if (s->len == 0 || (s->hash == h && s->len == len && memcmp(p->arena + s->off, path, len) == 0))
            return s;
    }
}

static int grow(scan_paths *p)
{
    size_t cap = p->cap * 2;
    slot *old = p->slots, *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    size_t oldcap = p->cap;
    p->slots = ns;
    p->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].len)
            *find(p, p->arena + old[i].off, old[i].len, old[i].hash) = old[i];
    free(old);
    return 0;
}

int scan_paths_add(scan_paths *p, const char *path, size_t len, unsigned flags)
{
    if (len == 0 || len > UINT32_MAX)
        return 0;
    uint64_t h = hash_bytes(path, len);
    slot *s = find(p, path, len, h);
    if (s->len) {
        s->flags |= flags;
        return 0;
    }
    if (p->arena_len + len > UINT32_MAX)
        return -1;
    if (p->arena_len + len > p->arena_cap) {
        size_t cap = p->arena_cap ? p->arena_cap * 2 : 65536;
        while (cap < p->arena_len + len)
            cap *= 2;
        char *a = realloc(p->arena, cap);
        if (!a)
            return -1;
        p->arena = a;
        p->arena_cap = cap;
    }
    memcpy(p->arena + p->arena_len, path, len);
    s->hash = h;
    s->off = (uint32_t)p->arena_len;
    s->len = (uint32_t)len;
    s->flags = flags;
    p->arena_len += len;
    if (++p->n * 4 > p->cap * 3)
        return grow(p);
    return 0;
}

unsigned scan_paths_get(const scan_paths *p, const char *path, size_t len)
{
    if (len == 0)
        return 0;
    slot *s = find(p, path, len, hash_bytes(path, len));
    return s->len ? s->flags : 0;
}

size_t scan_paths_bytes(const scan_paths *p)
{
    return p->cap * sizeof(slot) + p->arena_cap;
}

int scan_path_normalise(const char *name, char *out, size_t size, int dotdot)
{
    size_t o = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - c);
        if (n == 0 || (n == 1 && c[0] == '.'))
            continue;
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (dotdot != SCAN_DOTDOT_RESOLVE || o == 0)
                return -1;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the '/' before the dropped component */
            continue;
        }
        if (o + (o ? 1 : 0) + n + 1 > size)
            return -1;
        if (o)
            out[o++] = '/';
        memcpy(out + o, c, n);
        o += n;
    }
    if (size)
        out[o] = '\0';
    return (int)o;
}
