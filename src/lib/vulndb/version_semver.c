/* version_semver.c - SemVer 2.0 precedence (semver.org item 11), as the
 * OSV ecosystems that use it apply it (npm, crates.io, Go, SEMVER ranges):
 *
 * Leading white space, '=' and 'v' are skipped (node-semver's loose form;
 * Go versions carry the 'v'). Then numeric components separated by '.',
 * any number of them (a missing one is 0, so 1.2 == 1.2.0); the first
 * other character starts the pre-release ('-') or the build metadata
 * ('+'), or, for anything else, a pre-release spelled without its '-'.
 * Pre-release identifiers compare numerically when all digits, else in
 * ASCII order, numeric below non-numeric, more identifiers higher; a
 * version without a pre-release is higher than one with. Build metadata
 * never counts. A Go pseudo-version (v0.0.0-20210817142637-7d9622a276b7)
 * is a pre-release whose first identifier is its timestamp, so it orders
 * by time, as Go's own rule says. No leading number is an error.
 */
#include <ctype.h>
#include <string.h>

#include "vulndb/version_int.h"

#define SEMVER_PARTS_MAX 32

typedef struct {
    const char *num[SEMVER_PARTS_MAX];
    size_t num_n[SEMVER_PARTS_MAX];
    size_t n_num;
    const char *pre; /* identifiers, without the leading '-' */
    size_t pre_n;    /* 0: no pre-release */
} sver;

static int semver_parse(const char *s, sver *v, const char **why)
{
    memset(v, 0, sizeof *v);
    while (isspace((unsigned char)*s)) s++;
    if (*s == '=') s++;
    while (isspace((unsigned char)*s)) s++;
    if (*s == 'v' || *s == 'V') s++;
    while (isspace((unsigned char)*s)) s++;
    if (!isdigit((unsigned char)*s)) return *why = "does not start with a number", -1;
    for (;;) {
        size_t d = 0;
        while (isdigit((unsigned char)s[d])) d++;
        if (v->n_num == SEMVER_PARTS_MAX) return *why = "too many components", -1;
        v->num[v->n_num] = s;
        v->num_n[v->n_num++] = d;
        s += d;
        if (*s == '.' && isdigit((unsigned char)s[1])) { s++; continue; }
        break;
    }
    if (*s == '.') return *why = "empty component", -1;
    if (*s == '+' || *s == '\0') {
        const char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1])) e--;
        for (const char *p = s; p < e; p++)
            if (isspace((unsigned char)*p)) return *why = "white space inside", -1;
        return 0;
    }
    if (*s == '-') s++;
    const char *plus = strchr(s, '+');
    size_t n = plus ? (size_t)(plus - s) : strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0) return *why = "empty pre-release", -1;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]) || (s[i] == '.' && (i == 0 || i + 1 == n || s[i + 1] == '.')))
            return *why = "malformed pre-release", -1;
    v->pre = s;
    v->pre_n = n;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return n > 0;
}

static int pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    const char *ae = a + an, *be = b + bn;
    while (a < ae && b < be) {
        const char *x = memchr(a, '.', (size_t)(ae - a)), *y = memchr(b, '.', (size_t)(be - b));
        size_t xn = x ? (size_t)(x - a) : (size_t)(ae - a), yn = y ? (size_t)(y - b) : (size_t)(be - b);
        int xd = all_digits(a, xn), yd = all_digits(b, yn), c;
        if (xd && yd) c = vnum_cmp(a, xn, b, yn);
        else if (xd) c = -1;
        else if (yd) c = 1;
        else {
            c = memcmp(a, b, xn < yn ? xn : yn);
            if (!c && xn != yn) c = xn < yn ? -1 : 1;
        }
        if (c) return vsign(c);
        a += xn + (x != NULL);
        b += yn + (y != NULL);
        if (!x) a = ae;
        if (!y) b = be;
    }
    if (a < ae) return 1;
    if (b < be) return -1;
    return 0;
}

int vcmp_semver(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    sver va, vb;
    if (semver_parse(a, &va, why)) return *bad = 0, -1;
    if (semver_parse(b, &vb, why)) return *bad = 1, -1;
    size_t n = va.n_num > vb.n_num ? va.n_num : vb.n_num;
    for (size_t i = 0; i < n; i++) {
        int c = vnum_cmp(i < va.n_num ? va.num[i] : "0", i < va.n_num ? va.num_n[i] : 1,
                         i < vb.n_num ? vb.num[i] : "0", i < vb.n_num ? vb.num_n[i] : 1);
        if (c) return *cmp = c, 0;
    }
    if (!va.pre_n || !vb.pre_n)
        *cmp = va.pre_n == vb.pre_n ? 0 : (va.pre_n ? -1 : 1);
    else
        *cmp = pre_cmp(va.pre, va.pre_n, vb.pre, vb.pre_n);
    return 0;
}
