/* version_maven.c - Maven versions, ordered as Maven's ComparableVersion
 * (3.9/4: MNG-7644 ".X" = "-X" for a qualifier X) orders them.
 *
 * The lower-cased string becomes a tree of items: '.' separates items of
 * one list, '-' (and a switch from digits to letters) opens a sub-list,
 * a letter run directly followed by digits is one combination item
 * ("rc1": qualifier rc, number 1), and a trailing ".qualifier" opens a
 * sub-list as "-qualifier" does. Each list drops its null items (0, "",
 * an empty list) at the end and before a qualifier. Items compare as:
 *   numbers      numerically (any length); above qualifiers and lists
 *   qualifiers   alpha < beta < milestone < rc (= cr) < snapshot < ""
 *                (= ga = final = release, but only "" is a null item) <
 *                sp < unknown ones
 *                alphabetically; "a", "b", "m" right before a digit are
 *                alpha, beta, milestone
 *   lists        item by item, a missing item compared as null (a
 *                whole list against null: its first non-null answer)
 * Every non-empty string is a Maven version; "" is an error.
 */
#include <ctype.h>
#include <string.h>

#include "imgsec/version.h"
#include "vulndb/version_int.h"

enum { M_INT, M_STR, M_COMB, M_LIST };

#define M_ITEMS_MAX (3 * VERSION_MAX + 8)

typedef struct mitem mitem;
struct mitem {
    int type;
    const char *s; size_t n;      /* M_INT: digits (no leading zeros); M_STR/M_COMB: qualifier */
    int q;                         /* M_STR/M_COMB: qualifier index, 7 = unknown */
    const char *d; size_t dn;      /* M_COMB: digit part */
    mitem *first, *last, *next;    /* M_LIST children; sibling link */
    mitem *parent;
};

typedef struct {
    char buf[VERSION_MAX + 1];
    mitem pool[M_ITEMS_MAX];
    size_t used;
    mitem *root;
} mver;

static const char *const QUAL[] = {"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
#define Q_RELEASE 5
#define Q_UNKNOWN 7

static mitem *new_item(mver *v, int type)
{
    if (v->used == M_ITEMS_MAX) return NULL;
    mitem *it = &v->pool[v->used++];
    memset(it, 0, sizeof *it);
    it->type = type;
    return it;
}

static void add(mitem *list, mitem *it)
{
    it->parent = list;
    if (list->last) list->last->next = it;
    else list->first = it;
    list->last = it;
}

static void set_qualifier(mitem *it, const char *s, size_t n, int followed_by_digit)
{
    if (followed_by_digit && n == 1) {
        if (*s == 'a') s = "alpha", n = 5;
        else if (*s == 'b') s = "beta", n = 4;
        else if (*s == 'm') s = "milestone", n = 9;
    }
    if (n == 2 && memcmp(s, "cr", 2) == 0) s = "rc";
    it->s = s; /* the value: is_null only when it is "" */
    it->n = n;
    it->q = Q_UNKNOWN;
    if ((n == 2 && memcmp(s, "ga", 2) == 0) || (n == 5 && memcmp(s, "final", 5) == 0) ||
        (n == 7 && memcmp(s, "release", 7) == 0))
        it->q = Q_RELEASE;
    for (int i = 0; i < Q_UNKNOWN; i++)
        if (strlen(QUAL[i]) == n && memcmp(QUAL[i], s, n) == 0) it->q = i;
}

static mitem *parse_item(mver *v, int combination, int digit, const char *s, size_t n)
{
    mitem *it;
    if (combination) {
        /* "x-1" is read as "x1": drop the '-' by using the parts around it */
        size_t k = 0;
        while (k < n && !isdigit((unsigned char)s[k])) k++;
        if (!(it = new_item(v, M_COMB))) return NULL;
        size_t qn = k;
        if (qn > 0 && s[qn - 1] == '-') qn--;
        set_qualifier(it, s, qn, 1);
        it->d = s + k;
        it->dn = n - k;
        while (it->dn > 1 && *it->d == '0') it->d++, it->dn--;
    } else if (digit) {
        if (!(it = new_item(v, M_INT))) return NULL;
        while (n > 1 && *s == '0') s++, n--;
        if (n == 1 && *s == '0') n = 0; /* zero: no digits */
        it->s = s;
        it->n = n;
    } else {
        if (!(it = new_item(v, M_STR))) return NULL;
        set_qualifier(it, s, n, 0);
    }
    return it;
}

static int is_null(const mitem *it)
{
    switch (it->type) {
    case M_INT: return it->n == 0;
    case M_STR: return it->n == 0;
    case M_LIST: return it->first == NULL;
    default: return 0;
    }
}

/* Removes null items at the end and before a qualifier (ListItem.normalize). */
static void normalize(mitem *list)
{
    size_t n = 0;
    mitem *items[M_ITEMS_MAX];
    for (mitem *c = list->first; c; c = c->next) items[n++] = c;
    for (size_t i = n; i-- > 0;) {
        if (!items[i]) continue;
        if (!is_null(items[i])) continue;
        size_t j = i + 1;
        while (j < n && !items[j]) j++;
        int drop = 0;
        if (j == n || items[j]->type == M_STR) drop = 1;
        else if (items[j]->type == M_LIST && items[j]->first &&
                 (items[j]->first->type == M_COMB || items[j]->first->type == M_STR))
            drop = 1;
        if (drop) items[i] = NULL;
    }
    list->first = list->last = NULL;
    for (size_t i = 0; i < n; i++)
        if (items[i]) {
            items[i]->next = NULL;
            add(list, items[i]);
        }
}

static int maven_parse(const char *in, mver *v)
{
    size_t len = strlen(in);
    for (size_t i = 0; i <= len; i++) v->buf[i] = (char)tolower((unsigned char)in[i]);
    const char *s = v->buf;
    v->used = 0;
    mitem *list = v->root = new_item(v, M_LIST);
    mitem *lists[M_ITEMS_MAX];
    size_t n_lists = 0;
    lists[n_lists++] = list;
    int digit = 0, comb = 0;
    size_t start = 0;
    mitem *it;
#define PUSH_LIST() do { mitem *l_ = new_item(v, M_LIST); if (!l_) return -1; add(list, l_); \
                         list = l_; lists[n_lists++] = l_; } while (0)
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            it = i == start ? new_item(v, M_INT) : parse_item(v, comb, digit, s + start, i - start);
            if (!it) return -1;
            add(list, it);
            comb = 0;
            start = i + 1;
        } else if (c == '-') {
            if (i == start) {
                if (!(it = new_item(v, M_INT))) return -1;
                add(list, it);
            } else {
                if (!digit && i + 1 < len && isdigit((unsigned char)s[i + 1])) {
                    comb = 1;
                    continue;
                }
                if (!(it = parse_item(v, comb, digit, s + start, i - start))) return -1;
                add(list, it);
            }
            start = i + 1;
            if (list->first) PUSH_LIST();
            comb = 0;
        } else if (isdigit((unsigned char)c)) {
            if (!digit && i > start) {
                comb = 1;
                if (list->first) PUSH_LIST();
            }
            digit = 1;
        } else {
            if (digit && i > start) {
                if (!(it = parse_item(v, comb, 1, s + start, i - start))) return -1;
                add(list, it);
                start = i;
                PUSH_LIST();
                comb = 0;
            }
            digit = 0;
        }
    }
    if (len > start) {
        if (!digit && list->first) PUSH_LIST();
        if (!(it = parse_item(v, comb, digit, s + start, len - start))) return -1;
        add(list, it);
    }
#undef PUSH_LIST
    while (n_lists > 0) normalize(lists[--n_lists]);
    return 0;
}

static int qual_cmp(const mitem *a, const mitem *b)
{
    if (a->q != b->q) return a->q < b->q ? -1 : 1;
    if (a->q != Q_UNKNOWN) return 0;
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    if (c) return vsign(c);
    return a->n == b->n ? 0 : (a->n < b->n ? -1 : 1);
}

static int item_cmp(const mitem *a, const mitem *b);

/* a compared with a missing item (Item.compareTo(null)). */
static int null_cmp(const mitem *a)
{
    switch (a->type) {
    case M_INT: return a->n == 0 ? 0 : 1;
    case M_STR: case M_COMB: return a->q == Q_RELEASE ? 0 : (a->q < Q_RELEASE ? -1 : 1);
    default: /* the whole list against null (MNG-6964) */
        for (const mitem *x = a->first; x; x = x->next) {
            int c = null_cmp(x);
            if (c) return c;
        }
        return 0;
    }
}

static int item_cmp(const mitem *a, const mitem *b)
{
    if (!b) return null_cmp(a);
    if (!a) return -null_cmp(b);
    switch (a->type) {
    case M_INT:
        if (b->type == M_INT) return vnum_cmp(a->s, a->n, b->s, b->n);
        return 1;
    case M_STR:
        if (b->type == M_STR) return qual_cmp(a, b);
        if (b->type == M_COMB) return -item_cmp(b, a);
        return -1;
    case M_COMB:
        if (b->type == M_STR) { int c = qual_cmp(a, b); return c ? c : 1; }
        if (b->type == M_COMB) {
            int c = qual_cmp(a, b);
            return c ? c : vnum_cmp(a->d, a->dn, b->d, b->dn);
        }
        return -1;
    default:
        if (b->type == M_INT) return -1;
        if (b->type != M_LIST) return 1;
        for (const mitem *x = a->first, *y = b->first; x || y;
             x = x ? x->next : NULL, y = y ? y->next : NULL) {
            int c = item_cmp(x, y);
            if (c) return c;
        }
        return 0;
    }
}

int vcmp_maven(const char *a, const char *b, int *cmp, int *bad, const char **why)
{
    static _Thread_local mver va, vb; /* ~60 KB each: not on the caller's stack */
    if (!*a) return *bad = 0, *why = "empty version", -1;
    if (!*b) return *bad = 1, *why = "empty version", -1;
    if (maven_parse(a, &va)) return *bad = 0, *why = "too many parts", -1;
    if (maven_parse(b, &vb)) return *bad = 1, *why = "too many parts", -1;
    *cmp = vsign(item_cmp(va.root, vb.root));
    return 0;
}
