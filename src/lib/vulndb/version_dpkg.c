/* version_dpkg.c - Debian versions as dpkg compares them (deb-version(7)).
 *
 * [epoch:]upstream[-revision]: the epoch is decimal digits before the
 * first ':', the revision what follows the last '-'. Upstream and
 * revision compare with verrevcmp: alternating runs of non-digits
 * (character by character, '~' lowest, then the end of the string, then
 * letters, then everything else) and of digits (numerically). What dpkg
 * refuses is an error here: an empty string, white space inside, a
 * non-numeric or empty epoch, an empty upstream or revision. dpkg only
 * warns about an upstream that does not start with a digit and about
 * unusual characters, and still compares: so do we.
 */
#include <ctype.h>
#include <string.h>

#include "vulndb/version_int.h"

typedef struct {
    const char *epoch; size_t epoch_n;
    const char *up; size_t up_n;
    const char *rev; size_t rev_n;
} dver;

static int dpkg_parse(const char *s, dver *v, const char **why)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0) return *why = "version string is empty", -1;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i])) return *why = "version string has embedded spaces", -1;
    const char *colon = memchr(s, ':', n);
    v->epoch = "0"; v->epoch_n = 1;
    if (colon) {
        size_t en = (size_t)(colon - s);
        if (en == 0) return *why = "epoch in version is empty", -1;
        for (size_t i = 0; i < en; i++)
            if (!isdigit((unsigned char)s[i])) return *why = "epoch in version is not number", -1;
        v->epoch = s; v->epoch_n = en;
        n -= en + 1; s = colon + 1;
        if (n == 0) return *why = "nothing after colon in version number", -1;
    }
    const char *dash = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '-') dash = s + i;
    v->up = s; v->up_n = n; v->rev = ""; v->rev_n = 0;
    if (dash) {
        v->up_n = (size_t)(dash - s);
        v->rev = dash + 1; v->rev_n = n - v->up_n - 1;
        if (v->rev_n == 0) return *why = "revision number is empty", -1;
        if (v->up_n == 0) return *why = "version number is empty", -1;
    }
    return 0;
}

static int order(int c)
{
    if (isdigit(c)) return 0;
    if (isalpha(c)) return c;
    if (c == '~') return -1;
    if (c) return c + 256;
    return 0;
}

static int verrevcmp(const char *a, size_t an, const char *b, size_t bn)
{
    const char *ae = a + an, *be = b + bn;
#define AC (a < ae ? (unsigned char)*a : 0)
#define BC (b < be ? (unsigned char)*b : 0)
    while (a < ae || b < be) {
        while ((AC && !isdigit(AC)) || (BC && !isdigit(BC))) {
            int ac = order(AC), bc = order(BC);
            if (ac != bc) return ac - bc;
            a++; b++;
        }
        const char *as = a, *bs = b;
        while (isdigit(AC)) a++;
        while (isdigit(BC)) b++;
        int c = vnum_cmp(as, (size_t)(a - as), bs, (size_t)(b - bs));
        if (c) return c;
    }
#undef AC
#undef BC
    return 0;
}

int vcmp_dpkg(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    dver va, vb;
    if (dpkg_parse(a, &va, why)) return *bad = 0, -1;
    if (dpkg_parse(b, &vb, why)) return *bad = 1, -1;
    int c = vnum_cmp(va.epoch, va.epoch_n, vb.epoch, vb.epoch_n);
    if (!c) c = verrevcmp(va.up, va.up_n, vb.up, vb.up_n);
    if (!c) c = verrevcmp(va.rev, va.rev_n, vb.rev, vb.rev_n);
    *cmp = vsign(c);
    return 0;
}
