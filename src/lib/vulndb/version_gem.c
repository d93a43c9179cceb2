/* version_gem.c - RubyGems versions, as Gem::Version reads and orders
 * them.
 *
 * Valid: digits first, then '.'-separated runs of [0-9A-Za-z], then an
 * optional '-' part (which RubyGems reads as ".pre."); surrounding white
 * space allowed. Segments are maximal runs of digits or of letters. A
 * version with a letter segment is a pre-release; trailing zero segments
 * of the release part (before the first letter segment) and trailing
 * zeros overall do not count. Segment by segment: numbers numerically,
 * strings in byte order, a string below a number; a missing segment is 0.
 */
#include <ctype.h>
#include <string.h>

#include "vulndb/version_int.h"

#define GEM_SEGS_MAX 128

typedef struct { const char *s; size_t n; int num; } gseg;
typedef struct { gseg seg[GEM_SEGS_MAX]; size_t n; } gver;

static int gem_parse(const char *s, gver *v, const char **why)
{
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0) return *why = "empty version", -1;
    if (!isdigit((unsigned char)s[0])) return *why = "does not start with a number", -1;
    int dash = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (isalnum((unsigned char)c)) continue;
        if (c == '-' && !dash) { dash = 1; if (i + 1 == len) return *why = "empty pre-release", -1; continue; }
        if (c == '.' && i + 1 < len && s[i + 1] != '.' && s[i + 1] != '-') continue;
        if (c == '-' && dash) continue;
        return *why = "not a RubyGems version", -1;
    }
    v->n = 0;
    for (size_t i = 0; i < len;) {
        if (!isalnum((unsigned char)s[i])) {
            if (s[i] == '-') {
                if (v->n == GEM_SEGS_MAX) return *why = "too many segments", -1;
                v->seg[v->n++] = (gseg){"pre", 3, 0};
            }
            i++;
            continue;
        }
        int d = isdigit((unsigned char)s[i]) != 0;
        size_t j = i;
        while (j < len && isalnum((unsigned char)s[j]) && (isdigit((unsigned char)s[j]) != 0) == d) j++;
        if (v->n == GEM_SEGS_MAX) return *why = "too many segments", -1;
        v->seg[v->n++] = (gseg){s + i, j - i, d};
        i = j;
    }
    /* canonical segments: drop zeros at the end of the release part and at the end */
    size_t first_str = v->n;
    for (size_t i = 0; i < v->n; i++)
        if (!v->seg[i].num) { first_str = i; break; }
    size_t keep = first_str;
    while (keep > 0 && v->seg[keep - 1].num && vnum_cmp(v->seg[keep - 1].s, v->seg[keep - 1].n, "0", 1) == 0)
        keep--;
    if (keep < first_str) {
        memmove(&v->seg[keep], &v->seg[first_str], (v->n - first_str) * sizeof(gseg));
        v->n -= first_str - keep;
    }
    while (v->n > 0 && v->seg[v->n - 1].num && vnum_cmp(v->seg[v->n - 1].s, v->seg[v->n - 1].n, "0", 1) == 0)
        v->n--;
    return 0;
}

int vcmp_gem(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    static _Thread_local gver va, vb;
    if (gem_parse(a, &va, why)) return *bad = 0, -1;
    if (gem_parse(b, &vb, why)) return *bad = 1, -1;
    size_t n = va.n > vb.n ? va.n : vb.n;
    static const gseg ZERO = {"0", 1, 1};
    for (size_t i = 0; i < n; i++) {
        const gseg *x = i < va.n ? &va.seg[i] : &ZERO, *y = i < vb.n ? &vb.seg[i] : &ZERO;
        int c;
        if (x->num && y->num) c = vnum_cmp(x->s, x->n, y->s, y->n);
        else if (x->num) c = 1;
        else if (y->num) c = -1;
        else {
            c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
            if (!c && x->n != y->n) c = x->n < y->n ? -1 : 1;
        }
        if (c) return *cmp = vsign(c), 0;
    }
    *cmp = 0;
    return 0;
}
