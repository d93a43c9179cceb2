/* index_postings.h - inverted indexes: term -> list of (row, n).
 *
 * A term is a byte-string key: a (vul_id, vul_type), a build-command risk
 * (rule_id, risk_name, level), or a latest-version group. Each term lists
 * the rows that have it and, per row, how many records (n). Each row also
 * lists its references into the terms, so that the row's postings can be
 * deleted precisely when the image is replaced or removed, and so that a
 * small selection can be summed from the rows' side.
 *
 * Posting order means nothing: a deletion moves the term's last posting
 * into the hole and fixes that posting's reference in its row, found by
 * a binary search of the row's references (postings_row_trim sorts them
 * by term and position; a scan when they are not sorted). Rows have few
 * references, terms many postings: a back reference per posting (4 bytes
 * each) would cost more than the search. Term ids are
 * stable while the term lives (freed ids are reused), so queries can keep
 * sets of term ids.
 */
#ifndef IMGSEC_INDEX_POSTINGS_H
#define IMGSEC_INDEX_POSTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index_hash.h"

/* 16 bytes: the three small values share one 32-bit word. */
typedef struct {
    uint32_t row;
    uint32_t n;
    uint32_t seq;       /* vuls: the row's representative record (vul_agg.rep_seq) */
    uint32_t cvss : 13; /* vuls: the row's highest CVSS score, as a pcvss code */
    uint32_t rcvss : 13; /* vuls: the representative's CVSS score, as a pcvss code */
    uint32_t v : 6;     /* the owner's per-posting value (vuls: the row's highest
                           severity rank of the term, vul_agg.rank, 0..4) */
} posting;
_Static_assert(sizeof(posting) == 16, "a posting is 16 bytes");

/* A CVSS score in 13 bits, in the order of the scores: 0 for none, k + 1
 * for exactly k / 100.0 (k <= 8189: 0.00 .. 81.89, every score a scanner
 * writes: CVSS scores are 0 to 10), PCVSS_OTHER for any other number,
 * which the index does not hold (its group is read from the store). k /
 * 100.0 is the double nearest to the decimal, as a JSON parser reads
 * "9.8", so the code is exact, not a rounding. */
#define PCVSS_OTHER 8191u
static inline uint16_t pcvss_code(bool has, double v)
{
    if (!has)
        return 0;
    if (!(v >= 0 && v <= 81.89))
        return PCVSS_OTHER;
    int64_t k = (int64_t)(v * 100 + 0.5);
    return (double)k / 100.0 == v ? (uint16_t)(k + 1) : PCVSS_OTHER;
}
static inline double pcvss_value(uint16_t code)
{
    return (double)(code - 1) / 100.0;
}

#define PTERM_NO_AUX UINT32_MAX

typedef struct {
    char *key;        /* NUL-terminated copy of the key */
    size_t klen;
    uint32_t id;      /* index in postings.terms */
    uint32_t aux;     /* free for the owner (groups: the latest row); starts PTERM_NO_AUX */
    posting *p;
    uint32_t len, cap; /* of p */
    int64_t total;    /* the sum of n over p: a term's records, read in O(1) */
} pterm;

typedef struct {
    uint32_t term;    /* term id */
    uint32_t pos;     /* index in that term's postings */
} pref;

/* A row's references: one is kept in place (most rows have one group,
 * one build-command risk or none), more in an array of cap elements. */
typedef struct {
    union {
        pref *refs;   /* cap >= 2 */
        pref one;     /* cap <= 1 */
    };
    uint32_t n, cap;
} prow;

static inline pref *prow_refs(prow *r)
{
    return r->cap <= 1 ? &r->one : r->refs;
}

typedef struct {
    strmap map;       /* key -> pterm */
    pterm **terms;    /* by id; NULL = free id */
    uint32_t n_ids, cap_ids;
    uint32_t *free_ids;
    uint32_t n_free, cap_free;
    prow *rows;       /* by row number: n_rows of them in use, cap_rows allocated */
    uint32_t n_rows, cap_rows;
    size_t n_postings;
} postings;

void postings_init(postings *P);
void postings_free(postings *P);

/* Adds posting p to the term key (creating it) and its reference to the
 * row p.row. 0, or -1 when out of memory with nothing changed. */
int postings_row_add(postings *P, const char *key, size_t klen, posting p);
/* Gives back the spare room of row's reference list and sorts it by term
 * (call once a row's postings are all added: rows are many, their lists
 * short; the sort makes a deletion's search for a reference a binary
 * one). */
void postings_row_trim(postings *P, uint32_t row);
/* Deletes every posting of row; terms left empty are deleted. */
void postings_row_clear(postings *P, uint32_t row);

/* Gives back the spare room of every term's postings (the arrays grow by
 * doubling: a quarter of them is spare on average). For the end of a full
 * rebuild, when the terms are complete. */
void postings_trim(postings *P);

/* Makes dst (uninitialized) a copy of src: the same terms under the same
 * ids, the same postings in the same places, the same free ids, so that
 * the same adds and deletes change both alike. 0, or -1 when out of
 * memory (dst is then empty, initialized). */
int postings_clone(postings *dst, const postings *src);

/* The live term with this id, or NULL; writable for the owner's aux field. */
pterm *postings_term_rw(postings *P, uint32_t id);
/* The references of row (n == 0 for a row without postings). */
static inline const pref *postings_row_refs(const postings *P, uint32_t row, uint32_t *n)
{
    if (row >= P->n_rows) {
        *n = 0;
        return NULL;
    }
    const prow *r = &P->rows[row];
    *n = r->n;
    return r->cap <= 1 ? &r->one : r->refs;
}

#endif
