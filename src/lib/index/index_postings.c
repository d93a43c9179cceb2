/* index_postings.c - inverted indexes with back references (see
 * index_postings.h). */
#include "index_postings.h"

#include <stdlib.h>
#include <string.h>

void postings_init(postings *P)
{
    memset(P, 0, sizeof *P);
    strmap_init(&P->map);
}

static void term_free(pterm *t)
{
    free(t->p);
    free(t->key);
    free(t);
}

void postings_free(postings *P)
{
    for (uint32_t i = 0; i < P->n_ids; i++)
        if (P->terms[i])
            term_free(P->terms[i]);
    free(P->terms);
    free(P->free_ids);
    for (uint32_t r = 0; r < P->n_rows; r++)
        if (P->rows[r].cap > 1)
            free(P->rows[r].refs);
    free(P->rows);
    strmap_free(&P->map);
    postings_init(P);
}

pterm *postings_term_rw(postings *P, uint32_t id)
{
    return id < P->n_ids ? P->terms[id] : NULL;
}

/* Grows *arr (of *cap elements of size sz) to hold at least need. */
static int grow(void **arr, uint32_t *cap, uint32_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    uint64_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    if (c > UINT32_MAX)
        c = UINT32_MAX;
    void *p = realloc(*arr, (size_t)c * sz);
    if (!p)
        return -1;
    *arr = p;
    *cap = (uint32_t)c;
    return 0;
}

/* Rows up to row exist (empty when new). Only rows below n_rows are
 * written: the spare capacity of a doubling stays untouched, so it costs
 * no resident memory. */
static int ensure_row(postings *P, uint32_t row)
{
    if (row < P->n_rows)
        return 0;
    if (grow((void **)&P->rows, &P->cap_rows, row + 1, sizeof *P->rows) != 0)
        return -1;
    memset(P->rows + P->n_rows, 0, (size_t)(row + 1 - P->n_rows) * sizeof *P->rows);
    P->n_rows = row + 1;
    return 0;
}

/* A new empty term for key, registered in the map and the id table. */
static pterm *term_new(postings *P, const char *key, size_t klen)
{
    if (P->n_free == 0 &&
        grow((void **)&P->terms, &P->cap_ids, P->n_ids + 1, sizeof *P->terms) != 0)
        return NULL;
    /* the id is released again when the term is deleted, so reserve room now */
    if (grow((void **)&P->free_ids, &P->cap_free, P->n_ids + 1, sizeof *P->free_ids) != 0)
        return NULL;
    pterm *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->key = malloc(klen + 1);
    if (!t->key) {
        free(t);
        return NULL;
    }
    memcpy(t->key, key, klen);
    t->key[klen] = '\0';
    t->klen = klen;
    t->aux = PTERM_NO_AUX;
    if (strmap_put(&P->map, t->key, klen, t) != 0) {
        term_free(t);
        return NULL;
    }
    t->id = P->n_free ? P->free_ids[--P->n_free] : P->n_ids++;
    P->terms[t->id] = t;
    return t;
}

static void term_delete(postings *P, pterm *t)
{
    strmap_del(&P->map, t->key, t->klen);
    P->terms[t->id] = NULL;
    P->free_ids[P->n_free++] = t->id;
    term_free(t);
}

int postings_row_add(postings *P, const char *key, size_t klen, posting p)
{
    uint32_t row = p.row, n = p.n;
    if (ensure_row(P, row) != 0)
        return -1;
    prow *r = &P->rows[row];
    if (r->n == 0 && r->cap == 0) {
        r->cap = 1; /* in place */
    } else if (r->cap == 1 && r->n == 1) {
        pref *arr = malloc(4 * sizeof *arr);
        if (!arr)
            return -1;
        arr[0] = r->one;
        r->refs = arr;
        r->cap = 4;
    } else if (r->cap > 1 && grow((void **)&r->refs, &r->cap, r->n + 1, sizeof *r->refs) != 0) {
        return -1;
    }
    pterm *t = strmap_get(&P->map, key, klen);
    bool fresh = !t;
    if (fresh && !(t = term_new(P, key, klen)))
        return -1;
    if (grow((void **)&t->p, &t->cap, t->len + 1, sizeof *t->p) != 0) {
        if (fresh)
            term_delete(P, t);
        return -1;
    }
    t->p[t->len] = p;
    prow_refs(r)[r->n++] = (pref){t->id, t->len};
    t->len++;
    t->total += n;
    P->n_postings++;
    return 0;
}

static bool pref_less(pref a, pref b)
{
    return a.term != b.term ? a.term < b.term : a.pos < b.pos;
}

static int pref_cmp(const void *a, const void *b)
{
    pref x = *(const pref *)a, y = *(const pref *)b;
    return pref_less(x, y) ? -1 : pref_less(y, x) ? 1 : 0;
}

/* Sorts refs[0..n) by term, then position. */
static void refs_sort(pref *refs, uint32_t n)
{
    if (n > 16) {
        qsort(refs, n, sizeof *refs, pref_cmp);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        pref x = refs[i];
        uint32_t j = i;
        for (; j > 0 && pref_less(x, refs[j - 1]); j--)
            refs[j] = refs[j - 1];
        refs[j] = x;
    }
}

/* The reference of row r to posting pos of term: a binary search when r's
 * refs are sorted (postings_row_trim sorts them), else - or when the
 * search misses because they are not - a scan. The posting exists, so
 * this finds it. */
static pref *ref_find(prow *r, uint32_t term, uint32_t pos)
{
    pref *refs = prow_refs(r);
    uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (refs[mid].term < term)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i < r->n && refs[i].term == term; i++)
        if (refs[i].pos == pos)
            return &refs[i];
    for (uint32_t i = 0; i < r->n; i++)
        if (refs[i].term == term && refs[i].pos == pos)
            return &refs[i];
    return NULL;
}

void postings_row_trim(postings *P, uint32_t row)
{
    if (row >= P->n_rows)
        return;
    prow *r = &P->rows[row];
    if (r->cap > 1)
        refs_sort(r->refs, r->n);
    if (r->n == r->cap || r->cap <= 1)
        return;
    if (r->n <= 1) { /* none, or one: in place */
        pref one = r->n ? r->refs[0] : (pref){0};
        free(r->refs);
        *r = (prow){.one = one, .n = r->n, .cap = r->n};
        return;
    }
    pref *refs = realloc(r->refs, (size_t)r->n * sizeof *refs);
    if (refs) { /* on failure the longer list is kept, which is harmless */
        r->refs = refs;
        r->cap = r->n;
    }
}

void postings_row_clear(postings *P, uint32_t row)
{
    if (row >= P->n_rows)
        return;
    prow *r = &P->rows[row];
    /* Moving a posting may rewrite a later ref of this same row (a term
     * listed twice for one row), so read each ref only when its turn comes. */
    for (uint32_t i = 0; i < r->n; i++) {
        pref ref = prow_refs(r)[i];
        pterm *t = P->terms[ref.term];
        t->total -= t->p[ref.pos].n;
        uint32_t last = t->len - 1;
        if (ref.pos != last) {
            posting moved = t->p[last];
            t->p[ref.pos] = moved;
            ref_find(&P->rows[moved.row], ref.term, last)->pos = ref.pos;
        }
        /* a spent ref must not be taken for a live one by ref_find: this
         * row may hold another posting of t, moved to where this was */
        prow_refs(r)[i].pos = UINT32_MAX;
        t->len--;
        P->n_postings--;
        if (t->len == 0)
            term_delete(P, t);
    }
    if (r->cap > 1)
        free(r->refs);
    *r = (prow){0};
}

/* A copy of n elements of size sz (NULL for none); *ok false when out of memory. */
static void *dup_array(const void *src, size_t n, size_t sz, bool *ok)
{
    if (!src || n == 0)
        return NULL;
    void *p = malloc(n * sz);
    if (!p) {
        *ok = false;
        return NULL;
    }
    memcpy(p, src, n * sz);
    return p;
}

/* The terms are copied by id, each with exactly its postings (no spare
 * room: a term grows again only when a later batch adds to it); the map is
 * copied slot by slot, each slot pointed at the copy of its term, so that
 * probing finds every key where it did in src. */
int postings_clone(postings *dst, const postings *src)
{
    bool ok = true;
    postings_init(dst);
    if (src->cap_ids && !(dst->terms = calloc(src->cap_ids, sizeof *dst->terms)))
        return -1;
    dst->cap_ids = src->cap_ids;
    dst->n_ids = src->n_ids;
    dst->free_ids = dup_array(src->free_ids, src->cap_free, sizeof *src->free_ids, &ok);
    dst->cap_free = ok ? src->cap_free : 0;
    dst->n_free = ok ? src->n_free : 0;
    for (uint32_t i = 0; ok && i < src->n_ids; i++) {
        const pterm *s = src->terms[i];
        if (!s)
            continue;
        pterm *t = calloc(1, sizeof *t);
        if (!t) {
            ok = false;
            break;
        }
        dst->terms[i] = t;
        t->key = dup_array(s->key, s->klen + 1, 1, &ok);
        t->p = dup_array(s->p, s->len, sizeof *s->p, &ok);
        if (!ok)
            break;
        t->klen = s->klen;
        t->id = s->id;
        t->aux = s->aux;
        t->len = t->cap = s->len;
        t->total = s->total;
    }
    if (ok && src->map.cap) {
        if (!(dst->map.slots = malloc(src->map.cap * sizeof *dst->map.slots))) {
            ok = false;
        } else {
            dst->map.cap = src->map.cap;
            dst->map.n = src->map.n;
            for (size_t i = 0; i < src->map.cap; i++) {
                strmap_slot sl = src->map.slots[i];
                if (sl.val) {
                    pterm *t = dst->terms[((const pterm *)sl.val)->id];
                    sl.key = t->key;
                    sl.val = t;
                }
                dst->map.slots[i] = sl;
            }
        }
    }
    if (ok && src->n_rows) {
        if (!(dst->rows = calloc(src->n_rows, sizeof *dst->rows))) {
            ok = false;
        } else {
            dst->n_rows = dst->cap_rows = src->n_rows;
            for (uint32_t r = 0; ok && r < src->n_rows; r++) {
                const prow *s = &src->rows[r];
                if (s->cap <= 1 || s->n <= 1) { /* in place */
                    if (s->n)
                        dst->rows[r].one = s->cap <= 1 ? s->one : s->refs[0];
                    dst->rows[r].n = dst->rows[r].cap = s->n;
                    continue;
                }
                dst->rows[r].refs = dup_array(s->refs, s->n, sizeof *s->refs, &ok);
                if (ok)
                    dst->rows[r].n = dst->rows[r].cap = s->n;
            }
        }
    }
    dst->n_postings = src->n_postings;
    if (!ok) {
        postings_free(dst);
        return -1;
    }
    return 0;
}

void postings_trim(postings *P)
{
    for (uint32_t i = 0; i < P->n_ids; i++) {
        pterm *t = P->terms[i];
        if (!t || t->len == t->cap)
            continue;
        /* on failure the longer array is kept, which is harmless */
        posting *p = realloc(t->p, (size_t)t->len * sizeof *p);
        if (p) {
            t->p = p;
            t->cap = t->len;
        }
    }
}
