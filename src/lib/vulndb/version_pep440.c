/* version_pep440.c - Python package versions (PEP 440, as packaging's
 * Version reads and orders them).
 *
 * The string is matched against PEP 440's own regular expression (the
 * VERSION_PATTERN of the PEP's appendix, through PCRE2, case-insensitive,
 * surrounding white space allowed), which also accepts the alternative
 * spellings the PEP normalises (1.0-1 = 1.0.post1, 1.0a = 1.0a0,
 * alpha/beta/c/pre/preview/rev/r). Ordering key, as packaging's _cmpkey:
 * epoch; release with trailing zeros dropped; pre-release (a < b < rc;
 * none sorts after any pre-release, except that a bare dev release sorts
 * before all pre-releases); post-release (none lowest); dev release
 * (none highest); local version (none lowest; segments compare numbers
 * above strings). A string the pattern refuses is an error: packaging
 * >= 22 has no LegacyVersion either. A bare release ("1.2.3": digits
 * and single dots) is read without the pattern, to the same result.
 */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "vulndb/version_int.h"

static const char PATTERN[] =
    "^\\s*v?"
    "(?:(?:(?<epoch>[0-9]+)!)?"
    "(?<release>[0-9]+(?:\\.[0-9]+)*)"
    "(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?"
    "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?"
    "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?)"
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?"
    "\\s*$";

static pcre2_code *re;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key; /* each thread's match block, freed when the thread ends */
/* the pattern's named groups, numbered once */
enum { G_EPOCH, G_RELEASE, G_PRE_L, G_PRE_N, G_POST, G_POST_N1, G_POST_N2, G_DEV, G_DEV_N, G_LOCAL,
       G_COUNT };
static const char *const GROUP_NAMES[G_COUNT] = {"epoch", "release", "pre_l", "pre_n", "post",
                                                 "post_n1", "post_n2", "dev", "dev_n", "local"};
static int group_no[G_COUNT];

static void md_free(void *md) { pcre2_match_data_free(md); }

static void re_compile(void)
{
    int e;
    PCRE2_SIZE off;
    re = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &e, &off, NULL);
    for (int g = 0; re && g < G_COUNT; g++)
        group_no[g] = pcre2_substring_number_from_name(re, (PCRE2_SPTR)GROUP_NAMES[g]);
    if (re && pthread_key_create(&md_key, md_free) != 0) {
        pcre2_code_free(re);
        re = NULL;
    }
}

typedef struct { const char *s; size_t n; } span;

typedef struct {
    span epoch;
    span rel[64];
    size_t n_rel;
    int pre;        /* -1 none, else 0 a, 1 b, 2 rc */
    span pre_n;
    int has_post;
    span post_n;
    int has_dev;
    span dev_n;
    span local;     /* n == 0: none */
} pver;

static span group(pcre2_match_data *md, const char *s, int g)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int k = group_no[g];
    if (k < 0 || ov[2 * k] == PCRE2_UNSET) return (span){NULL, 0};
    return (span){s + ov[2 * k], ov[2 * k + 1] - ov[2 * k]};
}

/* Splits a release "1.2.3" into v (trailing zero components dropped);
 * -1 when there are too many components. */
static int set_release(pver *v, span rel, const char **why)
{
    for (const char *p = rel.s, *e = rel.s + rel.n; p < e;) {
        const char *d = memchr(p, '.', (size_t)(e - p));
        size_t n = d ? (size_t)(d - p) : (size_t)(e - p);
        if (v->n_rel == sizeof v->rel / sizeof *v->rel) return *why = "too many release components", -1;
        v->rel[v->n_rel++] = (span){p, n};
        p += n + 1;
    }
    while (v->n_rel > 1 && vnum_cmp(v->rel[v->n_rel - 1].s, v->rel[v->n_rel - 1].n, "0", 1) == 0)
        v->n_rel--;
    return 0;
}

static int pep440_parse(const char *s, pver *v, const char **why)
{
    /* the usual case, a bare release (digits separated by single dots):
     * what the pattern would give, without running it */
    const char *p = s;
    while (isdigit((unsigned char)*p) || (*p == '.' && p > s && p[-1] != '.')) p++;
    if (!*p && p > s && p[-1] != '.') {
        memset(v, 0, sizeof *v);
        v->epoch = (span){"0", 1};
        v->pre = -1;
        return set_release(v, (span){s, (size_t)(p - s)}, why);
    }
    pthread_once(&re_once, re_compile);
    if (!re) return *why = "the PEP 440 pattern did not compile", -1;
    /* one match block per thread, kept: a comparison allocates nothing */
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (!md) {
        if (!(md = pcre2_match_data_create_from_pattern(re, NULL))) return *why = "out of memory", -1;
        if (pthread_setspecific(md_key, md) != 0) {
            pcre2_match_data_free(md);
            return *why = "out of memory", -1;
        }
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    if (rc < 0) return *why = "not a PEP 440 version", -1;
    memset(v, 0, sizeof *v);
    v->epoch = group(md, s, G_EPOCH);
    if (!v->epoch.s) v->epoch = (span){"0", 1};
    if (set_release(v, group(md, s, G_RELEASE), why)) return -1;
    span pl = group(md, s, G_PRE_L);
    v->pre = -1;
    if (pl.s) {
        int c = tolower((unsigned char)pl.s[0]);
        v->pre = c == 'a' ? 0 : (c == 'b' ? 1 : 2);
        v->pre_n = group(md, s, G_PRE_N);
    }
    if (group(md, s, G_POST).s) {
        v->has_post = 1;
        v->post_n = group(md, s, G_POST_N1);
        if (!v->post_n.s) v->post_n = group(md, s, G_POST_N2);
    }
    if (group(md, s, G_DEV).s) {
        v->has_dev = 1;
        v->dev_n = group(md, s, G_DEV_N);
    }
    v->local = group(md, s, G_LOCAL);
    return 0;
}

/* The pre-release slot of _cmpkey: -2 (-inf: dev only), 1 (+inf: none),
 * else 0 with the letter and number compared separately. */
static int pre_slot(const pver *v)
{
    if (v->pre < 0 && !v->has_post && v->has_dev) return -2;
    if (v->pre < 0) return 1;
    return 0;
}

static int local_cmp(span a, span b)
{
    if (!a.n || !b.n) return a.n == b.n ? 0 : (a.n ? 1 : -1);
    const char *ap = a.s, *ae = a.s + a.n, *bp = b.s, *be = b.s + b.n;
    while (ap < ae && bp < be) {
        size_t an = strcspn(ap, "-_."), bn = strcspn(bp, "-_.");
        if (an > (size_t)(ae - ap)) an = (size_t)(ae - ap);
        if (bn > (size_t)(be - bp)) bn = (size_t)(be - bp);
        int ad = 1, bd = 1;
        for (size_t i = 0; i < an; i++) ad &= isdigit((unsigned char)ap[i]) != 0;
        for (size_t i = 0; i < bn; i++) bd &= isdigit((unsigned char)bp[i]) != 0;
        int c;
        if (ad && bd) c = vnum_cmp(ap, an, bp, bn);
        else if (ad) c = 1;
        else if (bd) c = -1;
        else {
            c = 0;
            for (size_t i = 0; i < an && i < bn && !c; i++)
                c = tolower((unsigned char)ap[i]) - tolower((unsigned char)bp[i]);
            if (!c && an != bn) c = an < bn ? -1 : 1;
        }
        if (c) return vsign(c);
        ap += an + 1;
        bp += bn + 1;
    }
    if (ap < ae) return 1;
    if (bp < be) return -1;
    return 0;
}

static int num_or_zero(span a, span b)
{
    return vnum_cmp(a.s ? a.s : "0", a.s ? a.n : 1, b.s ? b.s : "0", b.s ? b.n : 1);
}

static int pep440_cmp(const pver *a, const pver *b)
{
    int c = vnum_cmp(a->epoch.s, a->epoch.n, b->epoch.s, b->epoch.n);
    if (c) return c;
    size_t n = a->n_rel > b->n_rel ? a->n_rel : b->n_rel;
    for (size_t i = 0; i < n; i++) {
        span x = i < a->n_rel ? a->rel[i] : (span){"0", 1};
        span y = i < b->n_rel ? b->rel[i] : (span){"0", 1};
        if ((c = vnum_cmp(x.s, x.n, y.s, y.n))) return c;
    }
    int pa = pre_slot(a), pb = pre_slot(b);
    if (pa != pb) return pa < pb ? -1 : 1;
    if (pa == 0) {
        if (a->pre != b->pre) return a->pre < b->pre ? -1 : 1;
        if ((c = num_or_zero(a->pre_n, b->pre_n))) return c;
    }
    if (a->has_post != b->has_post) return a->has_post ? 1 : -1;
    if (a->has_post && (c = num_or_zero(a->post_n, b->post_n))) return c;
    if (a->has_dev != b->has_dev) return a->has_dev ? -1 : 1;
    if (a->has_dev && (c = num_or_zero(a->dev_n, b->dev_n))) return c;
    return local_cmp(a->local, b->local);
}

int vcmp_pep440(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    pver va, vb;
    if (pep440_parse(a, &va, why)) return *bad = 0, -1;
    if (pep440_parse(b, &vb, why)) return *bad = 1, -1;
    *cmp = pep440_cmp(&va, &vb);
    return 0;
}
