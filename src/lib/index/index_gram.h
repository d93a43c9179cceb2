/* index_gram.h - n-gram postings over a dictionary's distinct strings, for
 * substring filters.
 *
 * A gram index belongs to one dictionary (index_dict.h) and names its
 * entries by their place in the dictionary's dense entries array. For each
 * byte value it keeps the places of the strings holding that byte, and for
 * each trigram (three consecutive bytes) the places of the strings holding
 * it, each as a roaring bitmap. The dictionary keeps it in step: a new
 * entry adds its place under its bytes and trigrams, a deleted one removes
 * its place, and the entry moved into the hole is moved in the postings.
 *
 * gram_match finds every place whose string contains a needle, exactly
 * (bytes, case-sensitive, no normalisation: UTF-8 is bytes like any
 * other):
 *   - 1 byte: the byte's postings, nothing to verify;
 *   - 2 bytes "ab": the union of the trigrams "abX" and "Xab" over every X
 *     present, and the string "ab" itself (the caller's exact lookup):
 *     nothing to verify;
 *   - 3 bytes or more: the intersection of the needle's trigrams, smallest
 *     first, then each candidate verified by a byte search of its string
 *     (a needle of exactly 3 bytes needs no verification).
 * Readers never write, so any number may share an index that no writer
 * changes.
 */
#ifndef IMGSEC_INDEX_GRAM_H
#define IMGSEC_INDEX_GRAM_H

#include <roaring/roaring.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t key;          /* GRAM_USED | the trigram's bytes; 0: empty slot */
    roaring_bitmap_t *pos; /* places of the strings holding it (never empty) */
} gram_slot;

typedef struct {
    gram_slot *slots;          /* open addressing, linear probing */
    size_t cap;                /* 0 or a power of two */
    size_t n;                  /* trigrams with a posting */
    roaring_bitmap_t *uni[256]; /* per byte; NULL until a string has it */
} gram_index;

void gram_init(gram_index *g);
void gram_free(gram_index *g);

/* Adds place pos under every byte and trigram of s[0..len). 0, or -1 when
 * out of memory (then nothing is added). */
int gram_add(gram_index *g, const char *s, size_t len, uint32_t pos);
/* Removes place pos from every byte and trigram of s[0..len). */
void gram_remove(gram_index *g, const char *s, size_t len, uint32_t pos);
/* The string s at place from is now at place to (to < from, to free). 0,
 * or -1 when out of memory (then it is still at from, and to is free). */
int gram_move(gram_index *g, const char *s, size_t len, uint32_t from, uint32_t to);

/* Calls back for the candidate verification of gram_match: does the
 * string at place pos contain needle[0..nlen)? */
typedef int (*gram_verify_fn)(const void *ctx, uint32_t pos, const char *needle, size_t nlen);

/* out (empty on entry) |= the places whose string contains needle[0..nlen)
 * (nlen > 0), except for a needle of 2 bytes the string equal to it, which
 * the caller adds (a dictionary's exact lookup). 0, or -1 when out of
 * memory. */
int gram_match(const gram_index *g, const char *needle, size_t nlen, gram_verify_fn verify,
               const void *ctx, roaring_bitmap_t *out);

#endif
