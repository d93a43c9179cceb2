/* version_apk.c - Alpine package versions (apk-package(5)):
 *
 *   number{.number}...[letter]{_suffix[number]}...[~hash][-r#]
 *
 * compared part by part: the numbers (after the first, a number with a
 * leading zero compares as a string, apk's "fractional" rule; a missing
 * one is 0), then the letter (none < a < ... < z), then the suffixes in
 * the order alpha beta pre rc (none) cvs svn git hg p with their numbers,
 * then the -r build number (missing = 0). The commit hash is not ordered.
 * What apk cannot read is still compared as `apk version -t` does:
 * text after -rN makes a version sort below the same version without it
 * (two such tails are equal); a version that does not end in a readable
 * -rN, hash or suffix sorts the same way, and two of those compare as
 * plain strings. An empty string, or one with white space or control
 * characters, is an error.
 */
#include <ctype.h>
#include <string.h>

#include "vulndb/version_int.h"

#define APK_PARTS_MAX 64

typedef struct { const char *s; size_t n; } span;

typedef struct {
    const char *orig;
    span num[APK_PARTS_MAX];
    size_t n_num;
    int letter;                      /* 0 when none */
    struct { int weight; span n; } suf[APK_PARTS_MAX];
    size_t n_suf;
    span build;
    const char *rest;                /* what could not be read ("" when all) */
    int invalid;                     /* rest does not follow a -rN */
} aver;

static const char *const SUFFIXES[] = {"alpha", "beta", "pre", "rc", "", "cvs", "svn", "git",
                                       "hg", "p"};
#define SUFFIX_NONE 4
#define N_SUFFIXES (sizeof SUFFIXES / sizeof *SUFFIXES)

static size_t digits(const char *s)
{
    size_t i = 0;
    while (isdigit((unsigned char)s[i])) i++;
    return i;
}

static int apk_parse(const char *s, aver *v, const char **why)
{
    memset(v, 0, sizeof *v);
    v->orig = s;
    if (!*s) return *why = "empty version", -1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return *why = "white space or control character", -1;
    while (isdigit((unsigned char)*s)) {
        size_t d = digits(s);
        if (v->n_num == APK_PARTS_MAX) return *why = "too many number parts", -1;
        v->num[v->n_num++] = (span){s, d};
        s += d;
        if (*s == '.' && isdigit((unsigned char)s[1])) { s++; continue; }
        break;
    }
    if (*s == '.' && v->n_num) s++; /* "1." reads as "1" */
    if (*s >= 'a' && *s <= 'z') v->letter = *s++;
    while (*s == '_') {
        size_t k = N_SUFFIXES, len = 0;
        for (size_t i = 0; i < N_SUFFIXES; i++) {
            size_t l = strlen(SUFFIXES[i]);
            if (l && strncmp(s + 1, SUFFIXES[i], l) == 0 && l > len) k = i, len = l;
        }
        if (k == N_SUFFIXES) break;
        if (v->n_suf == APK_PARTS_MAX) return *why = "too many suffixes", -1;
        s += 1 + len;
        size_t d = digits(s);
        v->suf[v->n_suf].weight = (int)k;
        v->suf[v->n_suf++].n = (span){s, d};
        s += d;
    }
    if (*s == '~') {
        size_t i = 1;
        while ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) i++;
        if (i > 1) s += i;
    }
    if (s[0] == '-' && s[1] == 'r') {
        size_t d = digits(s + 2);
        v->build = (span){s + 2, d};
        s += 2 + d;
    } else if (*s) {
        v->invalid = 1;
    }
    v->rest = s;
    return 0;
}

static int num_part_cmp(const aver *a, const aver *b, size_t i)
{
    span x = i < a->n_num ? a->num[i] : (span){"0", 1};
    span y = i < b->n_num ? b->num[i] : (span){"0", 1};
    if (i > 0 && i < a->n_num && i < b->n_num && (x.s[0] == '0' || y.s[0] == '0')) {
        size_t m = x.n < y.n ? x.n : y.n;
        int c = memcmp(x.s, y.s, m);
        if (c) return vsign(c);
        return x.n == y.n ? 0 : (x.n < y.n ? -1 : 1);
    }
    return vnum_cmp(x.s, x.n, y.s, y.n);
}

static int apk_cmp(const aver *a, const aver *b)
{
    if (a->invalid && b->invalid) return vsign(strcmp(a->orig, b->orig));
    size_t n = a->n_num > b->n_num ? a->n_num : b->n_num;
    for (size_t i = 0; i < n; i++) {
        int c = num_part_cmp(a, b, i);
        if (c) return c;
    }
    if (a->letter != b->letter) return a->letter < b->letter ? -1 : 1;
    n = a->n_suf > b->n_suf ? a->n_suf : b->n_suf;
    for (size_t i = 0; i < n; i++) {
        int wa = i < a->n_suf ? a->suf[i].weight : SUFFIX_NONE;
        int wb = i < b->n_suf ? b->suf[i].weight : SUFFIX_NONE;
        if (wa != wb) return wa < wb ? -1 : 1;
        span x = i < a->n_suf ? a->suf[i].n : (span){"", 0};
        span y = i < b->n_suf ? b->suf[i].n : (span){"", 0};
        int c = vnum_cmp(x.s, x.n, y.s, y.n);
        if (c) return c;
    }
    int c = vnum_cmp(a->build.s ? a->build.s : "", a->build.n, b->build.s ? b->build.s : "",
                     b->build.n);
    if (c) return c;
    if (!*a->rest && *b->rest) return 1;
    if (*a->rest && !*b->rest) return -1;
    return 0;
}

int vcmp_apk(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    static _Thread_local aver va, vb; /* ~3 KB each: off the caller's stack */
    if (apk_parse(a, &va, why)) return *bad = 0, -1;
    if (apk_parse(b, &vb, why)) return *bad = 1, -1;
    *cmp = apk_cmp(&va, &vb);
    return 0;
}
