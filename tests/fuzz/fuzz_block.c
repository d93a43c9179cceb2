/* fuzz_block.c - libFuzzer target: a record block (src/lib/store/store_block.h).
 * Input: the bytes of a block, decoded with fuzz_block.h's dictionary
 * available as id 1 and a reader that knows one field more than the
 * block's header says (R8). Beyond memory safety (every text is read in
 * full, up to its terminating NUL), it aborts when
 *   - a block decodes whose header alone does not pass, or the result's
 *     counts differ from the header's;
 *   - a cell has an unknown tag, a text is not NUL-terminated, or a field
 *     past the block's own is not NULL;
 *   - a range [from, from + take) differs from the same records of the
 *     whole decode;
 *   - the records, encoded again (frames of 16, no dictionary) and decoded,
 *     differ from the first decode;
 *   - a block that names a dictionary decodes without one.
 * The header's checksum and zstd's content checksum reject nearly every
 * mutation of a block before its records are parsed, so an input whose
 * first byte is not the format version (1) is taken as the raw bytes of
 * one frame instead: byte 1 gives the field count (1 + b % 64), byte 2
 * the records (1 + b % 64), the rest is the frame's content; the target
 * compresses it and writes a valid header around it (its own FNV-1a, the
 * format's), so the record parser sees the fuzzer's bytes.
 * The seed corpus (tests/fuzz/corpus/block) is written by
 * `IMGSEC_BLOCK_CORPUS=DIR build/tests/unit_test_store_block`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "fuzz_block.h"
#include "store/store_block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static block_dict *g_dict;
static block_dec *g_whole, *g_part, *g_again;
static block_enc *g_enc;
static ZSTD_CCtx *g_cctx; /* frame_block's: level 3, content checksum, no dictionary id */

static void setup(void)
{
    imgsec_err err = {0};
    if (g_whole)
        return;
    if (block_dict_new(FUZZ_BLOCK_DICT_ID, FUZZ_BLOCK_DICT, sizeof FUZZ_BLOCK_DICT - 1, &g_dict,
                       &err) != IMGSEC_OK)
        abort();
    g_whole = block_dec_new();
    g_part = block_dec_new();
    g_again = block_dec_new();
    g_enc = block_enc_new();
    g_cctx = ZSTD_createCCtx();
    if (!g_whole || !g_part || !g_again || !g_enc || !g_cctx ||
        ZSTD_isError(ZSTD_CCtx_setParameter(g_cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(g_cctx, ZSTD_c_dictIDFlag, 0)))
        abort();
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

/* A block of one frame holding raw (len bytes), records of nfields; a
 * malloc'd buffer, its size in *out_len; NULL when it cannot be made. */
static uint8_t *frame_block(const uint8_t *raw, size_t len, size_t nfields, size_t records,
                            size_t *out_len)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *b = malloc(64 + bound);
    if (!b)
        return NULL;
    size_t h = 0;
    b[h++] = BLOCK_FORMAT_VERSION;
    h += put_varint(b + h, 0);
    h += put_varint(b + h, nfields);
    h += put_varint(b + h, records);
    h += put_varint(b + h, 1);
    h += put_varint(b + h, records);
    h += put_varint(b + h, len);
    uint8_t *comp_at = b + h;
    size_t hsum = h; /* the compressed size's varint goes first; written below */
    uint8_t *tmp = malloc(bound);
    size_t comp = tmp ? ZSTD_compress2(g_cctx, tmp, bound, raw, len) : 0;
    if (!tmp || ZSTD_isError(comp)) {
        free(tmp);
        free(b);
        return NULL;
    }
    hsum += put_varint(comp_at, comp);
    uint32_t sum = 2166136261u;
    for (size_t i = 0; i < hsum; i++) {
        sum ^= b[i];
        sum *= 16777619u;
    }
    for (int i = 0; i < 4; i++)
        b[hsum++] = (uint8_t)(sum >> (8 * i));
    memcpy(b + hsum, tmp, comp);
    free(tmp);
    *out_len = hsum + comp;
    return b;
}

static int one_block(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size >= 3 && data[0] != BLOCK_FORMAT_VERSION) {
        size_t len;
        uint8_t *b = frame_block(data + 3, size - 3, 1 + data[1] % 64u, 1 + data[2] % 64u, &len);
        if (b)
            one_block(b, len);
        free(b);
        return 0;
    }
    return one_block(data, size);
}

static int one_block(const uint8_t *data, size_t size)
{
    imgsec_err err = {0};
    block_info info;
    int info_rc = block_info_get(data, size, &info, &err);
    size_t nfields = info_rc == IMGSEC_OK && info.nfields < BLOCK_FIELDS_MAX ? info.nfields + 1
                                                                               : BLOCK_FIELDS_MAX;
    const block_dict *dicts[] = {g_dict};
    block_read rd = {.nfields = nfields, .expect_n = -1, .dicts = dicts, .ndicts = 1};
    block_rows all;
    int rc = block_decode(g_whole, data, size, &rd, 0, SIZE_MAX, &all, &err);
    if (rc != IMGSEC_OK) {
        if (rc != IMGSEC_EINTERNAL || strncmp(err.msg, "record block: ", 14) != 0)
            abort();
        return 0;
    }
    if (info_rc != IMGSEC_OK || all.first != 0 || all.n != info.n || all.block_n != info.n ||
        all.block_fields != info.nfields || all.nfields != nfields)
        abort();
    size_t sum = 0;
    for (size_t r = 0; r < all.n; r++)
        for (size_t f = 0; f < nfields; f++) {
            const block_cell *c = &all.cells[r * nfields + f];
            if (c->tag > BLOCK_TEXT || (f >= info.nfields && c->tag != BLOCK_NULL))
                abort();
            if (c->tag == BLOCK_TEXT) {
                for (size_t i = 0; i < c->len; i++)
                    sum += (unsigned char)c->v.s[i];
                if (c->v.s[c->len] != '\0')
                    abort();
            }
        }
    (void)sum;

    /* a range picked by the input's size and first byte */
    size_t from = size % (all.n + 1), take = size ? 1 + data[0] % 40 : 1;
    block_rows part;
    if (block_decode(g_part, data, size, &rd, from, take, &part, &err) != IMGSEC_OK)
        abort();
    if (part.first != from || part.n != (all.n - from < take ? all.n - from : take))
        abort();
    for (size_t i = 0; i < part.n * nfields; i++)
        if (!block_cell_same(&part.cells[i], &all.cells[from * nfields + i]))
            abort();

    /* encoded again, decoded again (unless the extra field and frames of
     * 16 take it over the encoder's size limits: EINVAL) */
    if (block_enc_begin(g_enc, nfields, 16, NULL, &err) != IMGSEC_OK)
        abort();
    for (size_t r = 0; r < all.n; r++) {
        rc = block_enc_record(g_enc, &all.cells[r * nfields], &err);
        if (rc == IMGSEC_EINVAL)
            goto no_dict;
        if (rc != IMGSEC_OK)
            abort();
    }
    const uint8_t *blk;
    size_t len;
    if (block_enc_finish(g_enc, &blk, &len, &err) != IMGSEC_OK)
        abort();
    block_rows again;
    block_read rd2 = {.nfields = nfields, .expect_n = (int64_t)all.n};
    if (block_decode(g_again, blk, len, &rd2, 0, SIZE_MAX, &again, &err) != IMGSEC_OK ||
        again.n != all.n)
        abort();
    for (size_t i = 0; i < all.n * nfields; i++)
        if (!block_cell_same(&again.cells[i], &all.cells[i]))
            abort();

no_dict:
    /* without the dictionary it names */
    if (info.dict_id != 0) {
        block_read none = {.nfields = nfields, .expect_n = -1};
        if (block_decode(g_part, data, size, &none, 0, SIZE_MAX, &part, &err) != IMGSEC_EINTERNAL)
            abort();
    }
    return 0;
}
