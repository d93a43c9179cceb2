/* index_bits.c - see index_bits.h. */
#include "index_bits.h"

#include <stdlib.h>

/* Below this many rows per 64 rows of universe (or this few rows at all),
 * qsort beats a pass over the dense bitset. */
#define BITS_SORT_MAX 256

int bits_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int bits_add_rows(roaring_bitmap_t *bm, uint32_t *rows, size_t n, uint32_t universe)
{
    size_t words = ((size_t)universe + 63) / 64;
    if (n < BITS_SORT_MAX || n < words / 4) {
        qsort(rows, n, sizeof *rows, bits_cmp_u32);
    } else {
        uint64_t *bits = calloc(words, sizeof *bits);
        if (!bits)
            return -1;
        for (size_t i = 0; i < n; i++)
            bits[rows[i] >> 6] |= UINT64_C(1) << (rows[i] & 63);
        n = 0;
        for (size_t w = 0; w < words; w++)
            for (uint64_t b = bits[w]; b; b &= b - 1)
                rows[n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
        free(bits);
    }
    if (n)
        roaring_bitmap_add_many(bm, n, rows);
    return 0;
}
