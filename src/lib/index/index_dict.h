/* index_dict.h - dictionaries of distinct strings, each with its rows.
 *
 * One dictionary per string attribute of an image (project, namespace,
 * image_name, ...). A row holds a pointer to its entry instead of a copy of
 * the string, so a string shared by many images is stored once. Exact
 * filters are one hash lookup. Substring filters find the matching entries
 * through the dictionary's gram index (index_gram.h) when it has one (the
 * attributes filtered by substring), else by scanning the entries (far
 * fewer than the images), and OR the row sets of those that match.
 *
 * The rows of an entry are kept in the cheapest form for their number:
 * one row inline (most content ids and versions belong to one image), up
 * to DICT_ARRAY_MAX rows as one sorted array, more as a roaring bitmap.
 * The array matters for substring filters: a short needle can match
 * thousands of entries (image names), and gathering their rows from
 * contiguous arrays is several times faster than from small bitmaps, each
 * spread over many roaring containers (one cache miss per container).
 */
#ifndef IMGSEC_INDEX_DICT_H
#define IMGSEC_INDEX_DICT_H

#include <roaring/roaring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index_gram.h"
#include "index_hash.h"

#define DICT_ARRAY_MAX 4096

typedef struct {
    char *s;              /* NUL-terminated copy; may contain NULs (composite keys) */
    size_t len;
    uint32_t n;           /* rows holding the string (>= 1) */
    uint32_t one;         /* the row, when arr and bm are NULL (exactly when n == 1) */
    uint32_t *arr;        /* the rows, sorted, when not NULL (cap_arr slots) */
    uint32_t cap_arr;
    uint32_t pos;         /* index in dict.entries (each entry has a row: < 2^32) */
    roaring_bitmap_t *bm; /* the rows, when not NULL */
    int64_t *sums;        /* the owner's running sums over the rows, or NULL
                             (index_rows.c); freed with the entry */
} dict_entry;

typedef struct {
    strmap map;           /* string -> dict_entry */
    dict_entry **entries; /* dense, for scans; order is arbitrary */
    size_t n, cap;
    gram_index *grams;    /* places in entries by byte and trigram, or NULL */
} dict;

void dict_init(dict *d);
void dict_free(dict *d);
/* Gives d a gram index over its entries, kept in step from now on, so that
 * substring matches look up postings instead of scanning. 0, or -1 when
 * out of memory (d then scans, as before). If memory runs out later while
 * the index is kept in step, d drops it and scans: answers stay exact. */
int dict_index_grams(dict *d);

/* Adds row to the entry of s (creating it). NULL when out of memory, with
 * nothing changed. */
dict_entry *dict_ref(dict *d, const char *s, size_t len, uint32_t row);
/* Removes row from e, deleting e when no row is left. */
void dict_unref(dict *d, dict_entry *e, uint32_t row);
dict_entry *dict_find(const dict *d, const char *s, size_t len);

/* bm |= rows of e (e may be NULL). */
void dict_entry_or(roaring_bitmap_t *bm, const dict_entry *e);
/* bm &= rows of e (e NULL: bm becomes empty). 0, or -1 when out of memory. */
int dict_entry_and(roaring_bitmap_t *bm, const dict_entry *e);
/* Writes the e->n rows of e, ascending, to out. */
void dict_entry_rows(const dict_entry *e, uint32_t *out);

/* Does hay[0..hlen) contain needle[0..nlen) (nlen > 0)? */
bool dict_contains(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* places (empty on entry) = the places i in entries whose string contains
 * needle[0..nlen) (nlen > 0), exact bytes. 0, or -1 when out of memory. */
int dict_match_substring(const dict *d, const char *needle, size_t nlen,
                         roaring_bitmap_t *places);
/* The number of rows of the entries at places. */
size_t dict_places_rows(const dict *d, const roaring_bitmap_t *places);
/* A new bitmap of the rows of the entries at places (others: of the
 * entries not at places), which hold total rows (< universe). NULL when
 * out of memory. */
roaring_bitmap_t *dict_rows_of(const dict *d, const roaring_bitmap_t *places, bool others,
                               size_t total, uint32_t universe);

#endif
