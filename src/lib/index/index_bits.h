/* index_bits.h - turning lists of rows into roaring bitmaps quickly.
 *
 * Roaring inserts sorted values far faster than scattered ones, and a
 * union of a thousand small bitmaps (a substring matching many dictionary
 * entries) is slow when done bitmap by bitmap. Both become: gather the rows
 * in an array, sort them, add them in one call. A long list is sorted by
 * spreading it over a dense bitset of all rows and reading it back - linear
 * time, and repeats disappear.
 */
#ifndef IMGSEC_INDEX_BITS_H
#define IMGSEC_INDEX_BITS_H

#include <roaring/roaring.h>
#include <stddef.h>
#include <stdint.h>

/* bm |= rows[0..n) (any order, repeats allowed; rows < universe). rows is
 * reordered. 0, or -1 when out of memory (bm unchanged). */
int bits_add_rows(roaring_bitmap_t *bm, uint32_t *rows, size_t n, uint32_t universe);

/* qsort / bsearch order of uint32_t. */
int bits_cmp_u32(const void *a, const void *b);

#endif
