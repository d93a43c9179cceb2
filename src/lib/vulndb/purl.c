/* purl.c - package URLs (purl-spec): pkg:type/namespace/name@version?qualifiers#subpath.
 * Only what matching needs is kept: type, namespace, name, version and the
 * distro and upstream qualifiers, percent-decoded. */
#include <ctype.h>
#include <string.h>

#include "vulndb/vulndb_int.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes s[0..n) into out (size bytes); false when it does not fit or a
 * %XX is malformed. */
static bool decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return false;
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0) return false;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= size) return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

bool purl_parse(const char *s, purl *p)
{
    memset(p, 0, sizeof *p);
    if (!s || strncmp(s, "pkg:", 4) != 0 || strlen(s) > PURL_MAX) return false;
    s += 4;
    while (*s == '/') s++;
    size_t n = strcspn(s, "#");
    const char *q = memchr(s, '?', n);
    size_t path_n = q ? (size_t)(q - s) : n;
    /* type */
    const char *slash = memchr(s, '/', path_n);
    if (!slash) return false;
    if (!decode(s, (size_t)(slash - s), p->type, sizeof p->type)) return false;
    for (char *c = p->type; *c; c++) *c = (char)tolower((unsigned char)*c);
    const char *rest = slash + 1;
    size_t rest_n = path_n - (size_t)(rest - s);
    /* version after the last '@' of the last segment */
    const char *last = rest;
    for (size_t i = 0; i < rest_n; i++)
        if (rest[i] == '/') last = rest + i + 1;
    const char *at = memchr(last, '@', rest_n - (size_t)(last - rest));
    size_t name_end = at ? (size_t)(at - rest) : rest_n;
    if (at && !decode(at + 1, rest_n - name_end - 1, p->version, sizeof p->version)) return false;
    if (last > rest) {
        if (!decode(rest, (size_t)(last - rest) - 1, p->namespace_, sizeof p->namespace_)) return false;
    }
    if (!decode(last, (size_t)(rest + name_end - last), p->name, sizeof p->name) || !p->name[0])
        return false;
    if (q) {
        const char *e = s + n;
        for (const char *k = q + 1; k < e;) {
            const char *amp = memchr(k, '&', (size_t)(e - k));
            const char *ke = amp ? amp : e;
            const char *eq = memchr(k, '=', (size_t)(ke - k));
            if (eq) {
                size_t kn = (size_t)(eq - k);
                if (kn == 6 && strncasecmp(k, "distro", 6) == 0) {
                    if (!decode(eq + 1, (size_t)(ke - eq - 1), p->distro, sizeof p->distro)) return false;
                } else if (kn == 8 && strncasecmp(k, "upstream", 8) == 0) {
                    if (!decode(eq + 1, (size_t)(ke - eq - 1), p->upstream, sizeof p->upstream))
                        return false;
                }
            }
            k = ke + (amp != NULL);
            if (!amp) break;
        }
    }
    return true;
}
