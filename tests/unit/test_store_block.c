/* test_store_block.c - the record block codec (src/lib/store/store_block.h).
 *
 * Every case compares exact values: tags, int64s, doubles bit for bit,
 * texts byte for byte with their terminating '\0', record and frame
 * counts. A decoder that returned nothing, zeros, or the wrong frame's
 * records fails the round trips; one that skipped a check fails the
 * truncation and bit-flip cases, which require an error for every prefix
 * of a small block and for every byte XORed with 0x01 and with 0x80 (each
 * frame carries zstd's content checksum, so a flip in the data is caught
 * too).
 *
 * With IMGSEC_BLOCK_CORPUS=DIR set, test_write_corpus writes the seed
 * corpus of tests/fuzz/fuzz_block.c into DIR (its dictionary is
 * tests/fuzz/fuzz_block.h's). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "../fuzz/fuzz_block.h"
#include "store/store_block.h"

/* ---- cells ---- */

static block_cell c_null(void)
{
    return (block_cell){.tag = BLOCK_NULL};
}

static block_cell c_int(int64_t i)
{
    return (block_cell){.tag = BLOCK_INT, .v.i = i};
}

static block_cell c_real(double r)
{
    return (block_cell){.tag = BLOCK_REAL, .v.r = r};
}

static block_cell c_real_bits(uint64_t bits)
{
    block_cell c = {.tag = BLOCK_REAL};
    memcpy(&c.v.r, &bits, sizeof bits);
    return c;
}

static block_cell c_text(const char *s, size_t len)
{
    return (block_cell){.tag = BLOCK_TEXT, .v.s = s, .len = (uint32_t)len};
}

static block_cell c_str(const char *s)
{
    return c_text(s, strlen(s));
}

/* got equals want exactly; where says which cell, for the failure. */
static void cell_eq(const block_cell *got, const block_cell *want, const char *where)
{
    if (got->tag != want->tag)
        fail_msg("%s: tag %u, want %u", where, got->tag, want->tag);
    switch (want->tag) {
    case BLOCK_INT:
        if (got->v.i != want->v.i)
            fail_msg("%s: %lld, want %lld", where, (long long)got->v.i, (long long)want->v.i);
        break;
    case BLOCK_REAL:
        if (memcmp(&got->v.r, &want->v.r, sizeof want->v.r) != 0)
            fail_msg("%s: %.17g, want %.17g (bits differ)", where, got->v.r, want->v.r);
        break;
    case BLOCK_TEXT:
        if (got->len != want->len)
            fail_msg("%s: text of %u bytes, want %u", where, got->len, want->len);
        if (want->len && memcmp(got->v.s, want->v.s, want->len) != 0)
            fail_msg("%s: text bytes differ", where);
        if (got->v.s[got->len] != '\0')
            fail_msg("%s: text not followed by a NUL", where);
        break;
    default: break;
    }
}

/* ---- generated records: NF fields, every kind, NULLs in a pattern ---- */

#define NF 6
static const char *const SEV[] = {"critical", "high", "medium", "low"};

static void gen_record(size_t i, block_cell *c, char *buf, size_t size)
{
    int n = snprintf(buf, size, "CVE-2024-%05zu openssl 3.0.%zu", i * 7919 % 100000, i % 13);
    c[0] = c_text(buf, (size_t)n);
    c[1] = c_int((int64_t)i * 1000003 - 500000);
    c[2] = c_real((double)i * 0.25 - 3.0);
    c[3] = i % 3 == 0 ? c_null() : c_str(SEV[i % 4]);
    c[4] = i % 5 == 0 ? c_text("", 0) : c_str("/usr/lib/x86_64-linux-gnu/libssl.so.3");
    c[5] = i % 2 ? c_int(-(int64_t)i) : c_null();
}

/* Encodes records [0, n) of gen_record with nfields of them (<= NF) in
 * frames of f; a malloc'd copy of the block in *blk. */
static size_t encode_gen(block_enc *e, size_t n, size_t f, size_t nfields, const block_dict *dict,
                         uint8_t **blk)
{
    imgsec_err err = {0};
    assert_int_equal(block_enc_begin(e, nfields, f, dict, &err), IMGSEC_OK);
    for (size_t i = 0; i < n; i++) {
        block_cell c[NF];
        char buf[64];
        gen_record(i, c, buf, sizeof buf);
        assert_int_equal(block_enc_record(e, c, &err), IMGSEC_OK);
    }
    const uint8_t *out;
    size_t len;
    assert_int_equal(block_enc_finish(e, &out, &len, &err), IMGSEC_OK);
    *blk = malloc(len ? len : 1);
    assert_non_null(*blk);
    memcpy(*blk, out, len);
    return len;
}

/* rows are records [rows->first, + rows->n) of gen_record, with the
 * reader's fields past block_fields NULL. */
static void check_gen(const block_rows *rows, size_t block_fields)
{
    for (size_t r = 0; r < rows->n; r++) {
        block_cell want[NF];
        char buf[64], where[64];
        gen_record(rows->first + r, want, buf, sizeof buf);
        for (size_t f = 0; f < rows->nfields; f++) {
            block_cell w = f < block_fields ? want[f] : c_null();
            snprintf(where, sizeof where, "record %zu field %zu", rows->first + r, f);
            cell_eq(&rows->cells[r * rows->nfields + f], &w, where);
        }
    }
}

static block_read reader(size_t nfields, int64_t expect_n, const block_dict *const *dicts,
                         size_t ndicts)
{
    return (block_read){.nfields = nfields, .expect_n = expect_n, .dicts = dicts,
                        .ndicts = ndicts};
}

/* A dictionary trained on the raw frames of 400 generated blocks (of
 * 16 .. 55 records each, frames of 16). */
static block_dict *trained_dict(uint32_t id)
{
    block_enc *e = block_enc_new();
    assert_non_null(e);
    uint8_t *samples = NULL;
    size_t *sizes = NULL, nsamples = 0, bytes = 0;
    for (size_t b = 0; b < 400; b++) {
        uint8_t *blk;
        encode_gen(e, 16 + b % 40, 16, NF, NULL, &blk);
        free(blk);
        const uint8_t *raw;
        const size_t *fs;
        size_t nf, total;
        block_enc_raw(e, &raw, &fs, &nf, &total);
        samples = realloc(samples, bytes + total);
        sizes = realloc(sizes, (nsamples + nf) * sizeof *sizes);
        assert_non_null(samples);
        assert_non_null(sizes);
        memcpy(samples + bytes, raw, total);
        memcpy(sizes + nsamples, fs, nf * sizeof *sizes);
        bytes += total;
        nsamples += nf;
    }
    block_enc_free(e);
    uint8_t dict[8192];
    size_t dlen;
    imgsec_err err = {0};
    assert_int_equal(block_dict_train(samples, sizes, nsamples, dict, sizeof dict, &dlen, &err),
                     IMGSEC_OK);
    assert_true(dlen > 0 && dlen <= sizeof dict);
    free(samples);
    free(sizes);
    block_dict *d = NULL;
    assert_int_equal(block_dict_new(id, dict, dlen, &d, &err), IMGSEC_OK);
    return d;
}

/* ---- cases ---- */

/* Every kind of cell, in every field (the record rotated), frames of 2. */
static void test_kinds_round_trip(void **state)
{
    (void)state;
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31 % 256); /* NUL bytes included */
    const block_cell kinds[] = {
        c_null(),
        c_text("", 0),
        c_text("a\0b\0c", 5),
        c_text("\0", 1),
        c_text(big, sizeof big),
        c_int(INT64_MIN),
        c_int(INT64_MAX),
        c_int(0),
        c_int(-1),
        c_int(1),
        c_int(63),
        c_int(-64),
        c_int(64),
        c_real(9.8),
        c_real(-0.0),
        c_real(0.0),
        c_real(1e308),
        c_real(-1e308),
        c_real(5e-324),
        c_real(INFINITY),
        c_real_bits(0x7ff8dead0000beefULL), /* a quiet NaN with a payload */
        c_real_bits(0xfff0000000000001ULL), /* a signalling NaN, sign set */
        c_str("x"),
    };
    enum { K = sizeof kinds / sizeof kinds[0] };
    block_dict *dict = trained_dict(7);
    for (int with_dict = 0; with_dict < 2; with_dict++) {
        block_enc *e = block_enc_new();
        block_dec *d = block_dec_new();
        assert_non_null(e);
        assert_non_null(d);
        imgsec_err err = {0};
        assert_int_equal(block_enc_begin(e, K, 2, with_dict ? dict : NULL, &err), IMGSEC_OK);
        for (size_t r = 0; r < K; r++) {
            block_cell rec[K];
            for (size_t f = 0; f < K; f++)
                rec[f] = kinds[(f + r) % K];
            assert_int_equal(block_enc_record(e, rec, &err), IMGSEC_OK);
        }
        const uint8_t *blk;
        size_t len;
        assert_int_equal(block_enc_finish(e, &blk, &len, &err), IMGSEC_OK);
        block_info info;
        assert_int_equal(block_info_get(blk, len, &info, &err), IMGSEC_OK);
        assert_int_equal(info.version, BLOCK_FORMAT_VERSION);
        assert_int_equal(info.dict_id, with_dict ? 7 : 0);
        assert_int_equal(info.nfields, K);
        assert_int_equal(info.n, K);
        assert_int_equal(info.nframes, (K + 1) / 2);
        const block_dict *dicts[] = {dict};
        block_read rd = reader(K, K, dicts, 1);
        block_rows rows;
        assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
        assert_int_equal(rows.first, 0);
        assert_int_equal(rows.n, K);
        assert_int_equal(rows.nfields, K);
        assert_int_equal(rows.block_n, K);
        assert_int_equal(rows.block_fields, K);
        for (size_t r = 0; r < K; r++)
            for (size_t f = 0; f < K; f++) {
                char where[64];
                snprintf(where, sizeof where, "dict %d record %zu field %zu", with_dict, r, f);
                cell_eq(&rows.cells[r * K + f], &kinds[(f + r) % K], where);
            }
        block_dec_free(d);
        block_enc_free(e);
    }
    block_dict_free(dict);
}

/* Frame boundaries with frames of 16: the frame count, the whole block,
 * and every range [from, from + take) against the generated records. */
static void test_frame_boundaries(void **state)
{
    (void)state;
    static const size_t NS[] = {0, 1, 15, 16, 17, 33};
    block_dict *dict = trained_dict(3);
    const block_dict *dicts[] = {dict};
    block_enc *e = block_enc_new();
    block_dec *d = block_dec_new();
    assert_non_null(e);
    assert_non_null(d);
    for (int with_dict = 0; with_dict < 2; with_dict++)
        for (size_t k = 0; k < sizeof NS / sizeof NS[0]; k++) {
            size_t n = NS[k];
            uint8_t *blk;
            size_t len = encode_gen(e, n, 16, NF, with_dict ? dict : NULL, &blk);
            imgsec_err err = {0};
            block_info info;
            assert_int_equal(block_info_get(blk, len, &info, &err), IMGSEC_OK);
            assert_int_equal(info.n, n);
            assert_int_equal(info.nframes, (n + 15) / 16);
            block_read rd = reader(NF, (int64_t)n, dicts, 1);
            block_rows rows;
            assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
            assert_int_equal(rows.n, n);
            assert_int_equal(rows.block_n, n);
            check_gen(&rows, NF);
            for (size_t from = 0; from <= n + 1; from++)
                for (size_t take = 0; take <= n + 2; take++) {
                    assert_int_equal(block_decode(d, blk, len, &rd, from, take, &rows, &err),
                                     IMGSEC_OK);
                    size_t want_first = from < n ? from : n;
                    size_t want_n = n - want_first < take ? n - want_first : take;
                    assert_int_equal(rows.first, want_first);
                    assert_int_equal(rows.n, want_n);
                    check_gen(&rows, NF);
                }
            free(blk);
        }
    block_dec_free(d);
    block_enc_free(e);
    block_dict_free(dict);
}

/* A range in the middle equals the same records of a whole decode, and
 * decompresses only its frames: with the last frame's checksum broken,
 * the middle still decodes and the whole block does not. */
static void test_partial_decode(void **state)
{
    (void)state;
    block_dict *dict = trained_dict(2);
    const block_dict *dicts[] = {dict};
    block_enc *e = block_enc_new();
    block_dec *whole = block_dec_new(), *part = block_dec_new();
    assert_non_null(e);
    assert_non_null(whole);
    assert_non_null(part);
    for (int with_dict = 0; with_dict < 2; with_dict++) {
        uint8_t *blk;
        size_t len = encode_gen(e, 100, 16, NF, with_dict ? dict : NULL, &blk);
        imgsec_err err = {0};
        block_read rd = reader(NF, 100, dicts, 1);
        block_rows all, mid;
        assert_int_equal(block_decode(whole, blk, len, &rd, 0, SIZE_MAX, &all, &err), IMGSEC_OK);
        assert_int_equal(all.n, 100);
        check_gen(&all, NF);
        assert_int_equal(block_decode(part, blk, len, &rd, 37, 20, &mid, &err), IMGSEC_OK);
        assert_int_equal(mid.first, 37);
        assert_int_equal(mid.n, 20);
        for (size_t r = 0; r < 20; r++)
            for (size_t f = 0; f < NF; f++)
                cell_eq(&mid.cells[r * NF + f], &all.cells[(37 + r) * NF + f], "middle");
        check_gen(&mid, NF);

        blk[len - 1] ^= 0x01; /* the last frame's checksum */
        assert_int_equal(block_decode(part, blk, len, &rd, 37, 20, &mid, &err), IMGSEC_OK);
        check_gen(&mid, NF);
        assert_int_equal(block_decode(part, blk, len, &rd, 0, 96, &mid, &err), IMGSEC_OK);
        assert_int_equal(mid.n, 96);
        check_gen(&mid, NF);
        err = (imgsec_err){0};
        assert_int_equal(block_decode(part, blk, len, &rd, 95, 2, &mid, &err), IMGSEC_EINTERNAL);
        assert_non_null(strstr(err.msg, "frame 6"));
        assert_int_equal(block_decode(whole, blk, len, &rd, 0, SIZE_MAX, &all, &err),
                         IMGSEC_EINTERNAL);
        assert_int_equal(all.n, 0);
        free(blk);
    }
    block_dec_free(part);
    block_dec_free(whole);
    block_enc_free(e);
    block_dict_free(dict);
}

/* A trained dictionary makes small blocks smaller; a block whose
 * dictionary the reader lacks, or has under its id with other bytes, is
 * an error (R4). */
static void test_dictionaries(void **state)
{
    (void)state;
    block_dict *dict = trained_dict(1), *other = trained_dict(2), *impostor = NULL;
    imgsec_err err = {0};
    assert_int_equal(block_dict_new(1, FUZZ_BLOCK_DICT, sizeof FUZZ_BLOCK_DICT - 1, &impostor,
                                    &err),
                     IMGSEC_OK);
    assert_int_equal(block_dict_id(dict), 1);
    block_enc *e = block_enc_new();
    block_dec *d = block_dec_new();
    assert_non_null(e);
    assert_non_null(d);
    uint8_t *plain, *packed;
    size_t plain_len = encode_gen(e, 40, 16, NF, NULL, &plain);
    size_t packed_len = encode_gen(e, 40, 16, NF, dict, &packed);
    assert_true(packed_len < plain_len);

    block_rows rows;
    const block_dict *both[] = {other, dict}, *only_other[] = {other}, *wrong[] = {impostor};
    block_read rd = reader(NF, 40, both, 2);
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 0, SIZE_MAX, &rows, &err),
                     IMGSEC_OK);
    assert_int_equal(rows.n, 40);
    check_gen(&rows, NF);

    rd = reader(NF, 40, NULL, 0);
    assert_int_equal(block_decode(d, plain, plain_len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    check_gen(&rows, NF);
    err = (imgsec_err){0};
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 0, SIZE_MAX, &rows, &err),
                     IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: dictionary 1 is not available");
    assert_int_equal(rows.n, 0);
    /* even for a range of no records */
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 0, 0, &rows, &err), IMGSEC_EINTERNAL);
    rd = reader(NF, 40, only_other, 1);
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 3, 1, &rows, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: dictionary 1 is not available");
    rd = reader(NF, 40, wrong, 1);
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 0, SIZE_MAX, &rows, &err),
                     IMGSEC_EINTERNAL);
    /* a raw-content dictionary (fuzz_block.h's) round-trips too */
    free(packed);
    packed_len = encode_gen(e, 40, 16, NF, impostor, &packed);
    assert_int_equal(block_decode(d, packed, packed_len, &rd, 0, SIZE_MAX, &rows, &err),
                     IMGSEC_OK);
    check_gen(&rows, NF);

    /* bad dictionaries and training input */
    block_dict *bad = NULL;
    assert_int_equal(block_dict_new(0, "abc", 3, &bad, &err), IMGSEC_EINVAL);
    assert_int_equal(block_dict_new(5, "abc", 0, &bad, &err), IMGSEC_EINVAL);
    static char huge[BLOCK_DICT_MAX + 1];
    assert_int_equal(block_dict_new(5, huge, sizeof huge, &bad, &err), IMGSEC_EINVAL);
    assert_null(bad);
    uint8_t out[1024];
    size_t olen = 99, one = 3;
    assert_int_equal(block_dict_train("abc", &one, 1, out, sizeof out, &olen, &err),
                     IMGSEC_EINVAL);
    assert_int_equal(olen, 0);
    assert_int_equal(block_dict_train("abc", &one, 1, out, BLOCK_DICT_MAX + 1, &olen, &err),
                     IMGSEC_EINVAL);

    free(plain);
    free(packed);
    block_dec_free(d);
    block_enc_free(e);
    block_dict_free(dict);
    block_dict_free(other);
    block_dict_free(impostor);
}

/* R8: a block written with fewer fields decodes the rest as NULL; one
 * with more fields than the reader's is an error. The record count must
 * be the expected one. */
static void test_fields_and_counts(void **state)
{
    (void)state;
    block_enc *e = block_enc_new();
    block_dec *d = block_dec_new();
    assert_non_null(e);
    assert_non_null(d);
    uint8_t *blk;
    size_t len = encode_gen(e, 21, 16, 3, NULL, &blk);
    imgsec_err err = {0};
    block_rows rows;
    block_read rd = reader(NF, 21, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    assert_int_equal(rows.n, 21);
    assert_int_equal(rows.nfields, NF);
    assert_int_equal(rows.block_fields, 3);
    check_gen(&rows, 3);
    for (size_t r = 0; r < 21; r++)
        for (size_t f = 3; f < NF; f++)
            assert_int_equal(rows.cells[r * NF + f].tag, BLOCK_NULL);
    /* the NULLs also in a range */
    assert_int_equal(block_decode(d, blk, len, &rd, 15, 3, &rows, &err), IMGSEC_OK);
    assert_int_equal(rows.n, 3);
    check_gen(&rows, 3);

    rd = reader(2, 21, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: 3 fields, more than the 2 this imgsec knows");
    rd = reader(NF, 20, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: 21 records, expected 20");
    rd = reader(NF, -1, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    assert_int_equal(rows.n, 21);
    rd = reader(0, -1, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINVAL);
    rd = reader(BLOCK_FIELDS_MAX + 1, -1, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINVAL);
    free(blk);

    /* another format version */
    len = encode_gen(e, 2, 16, NF, NULL, &blk);
    blk[0] = BLOCK_FORMAT_VERSION + 1;
    rd = reader(NF, -1, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: format version 2; this imgsec reads version 1");
    free(blk);
    block_dec_free(d);
    block_enc_free(e);
}

/* The encoder refuses what it cannot write, and the block stays usable
 * after a refused record. */
static void test_encoder_refusals(void **state)
{
    (void)state;
    block_enc *e = block_enc_new();
    assert_non_null(e);
    imgsec_err err = {0};
    const uint8_t *blk;
    size_t len;
    assert_int_equal(block_enc_record(e, NULL, &err), IMGSEC_EINVAL); /* not begun */
    assert_int_equal(block_enc_begin(e, 0, 16, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(block_enc_begin(e, BLOCK_FIELDS_MAX + 1, 16, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(block_enc_begin(e, 2, 0, NULL, &err), IMGSEC_EINVAL);
    assert_int_equal(block_enc_begin(e, 2, BLOCK_FRAME_RECORDS_MAX + 1, NULL, &err),
                     IMGSEC_EINVAL);
    assert_int_equal(block_enc_finish(e, &blk, &len, &err), IMGSEC_EINVAL);
    assert_int_equal(block_enc_begin(e, 2, 16, NULL, &err), IMGSEC_OK);
    block_cell bad[2] = {c_int(1), {.tag = 4}};
    assert_int_equal(block_enc_record(e, bad, &err), IMGSEC_EINVAL);
    bad[1] = (block_cell){.tag = BLOCK_TEXT, .v.s = NULL, .len = 3};
    assert_int_equal(block_enc_record(e, bad, &err), IMGSEC_EINVAL);
    bad[1] = (block_cell){.tag = BLOCK_TEXT, .v.s = "x", .len = BLOCK_TEXT_MAX + 1};
    assert_int_equal(block_enc_record(e, bad, &err), IMGSEC_EINVAL);
    block_cell good[2] = {c_int(-5), c_text(NULL, 0)};
    assert_int_equal(block_enc_record(e, good, &err), IMGSEC_OK);
    assert_int_equal(block_enc_finish(e, &blk, &len, &err), IMGSEC_OK);
    block_dec *d = block_dec_new();
    assert_non_null(d);
    block_read rd = reader(2, 1, NULL, 0);
    block_rows rows;
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    assert_int_equal(rows.n, 1);
    cell_eq(&rows.cells[0], &good[0], "int");
    block_cell empty = c_text("", 0);
    cell_eq(&rows.cells[1], &empty, "empty text");
    block_dec_free(d);
    block_enc_free(e);
}

/* Every prefix of a small block, and the block with a byte more, is an
 * error; so is every byte of its header XORed with 0x01 and with 0x80.
 * The same flips in a frame give an error or, where the bit is one zstd's
 * decoder does not depend on (its encoding is not canonical; the content
 * checksum proves the output unchanged), exactly the original records:
 * never a different record. */
static void test_truncations_and_flips(void **state)
{
    (void)state;
    block_dict *dict = trained_dict(1);
    const block_dict *dicts[] = {dict};
    block_enc *e = block_enc_new();
    block_dec *d = block_dec_new();
    assert_non_null(e);
    assert_non_null(d);
    for (int with_dict = 0; with_dict < 2; with_dict++) {
        uint8_t *blk;
        size_t len = encode_gen(e, 20, 16, NF, with_dict ? dict : NULL, &blk);
        block_read rd = reader(NF, -1, dicts, 1);
        block_rows rows;
        block_info info;
        imgsec_err err = {0};
        assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
        assert_int_equal(rows.n, 20);
        uint8_t *copy = malloc(len + 1);
        assert_non_null(copy);
        for (size_t cut = 0; cut < len; cut++) {
            /* exactly cut bytes, so that ASan sees a read past them */
            uint8_t *exact = malloc(cut ? cut : 1);
            assert_non_null(exact);
            memcpy(exact, blk, cut);
            if (block_decode(d, exact, cut, &rd, 0, SIZE_MAX, &rows, &err) != IMGSEC_EINTERNAL)
                fail_msg("dict %d: a prefix of %zu of %zu bytes decoded", with_dict, cut, len);
            if (block_info_get(exact, cut, &info, &err) != IMGSEC_EINTERNAL)
                fail_msg("dict %d: the header of a prefix of %zu bytes passed", with_dict, cut);
            free(exact);
        }
        memcpy(copy, blk, len);
        copy[len] = 0;
        assert_int_equal(block_decode(d, copy, len + 1, &rd, 0, SIZE_MAX, &rows, &err),
                         IMGSEC_EINTERNAL);
        assert_int_equal(block_info_get(blk, len, &info, &err), IMGSEC_OK);
        assert_true(info.header_len > 5 && info.header_len < len);
        static const uint8_t MASKS[] = {0x01, 0x80};
        size_t flips = 0, caught = 0;
        for (size_t i = 0; i < len; i++)
            for (size_t m = 0; m < 2; m++) {
                memcpy(copy, blk, len);
                copy[i] ^= MASKS[m];
                int rc = block_decode(d, copy, len, &rd, 0, SIZE_MAX, &rows, &err);
                flips++;
                if (rc == IMGSEC_EINTERNAL) {
                    caught++;
                    continue;
                }
                if (rc != IMGSEC_OK || i < info.header_len)
                    fail_msg("dict %d: byte %zu of %zu (header %zu) XOR 0x%02x: rc %d",
                             with_dict, i, len, info.header_len, MASKS[m], rc);
                assert_int_equal(rows.n, 20);
                check_gen(&rows, NF); /* the same records, exactly */
            }
        assert_int_equal(flips, 2 * len);
        print_message("dict %d: %zu of %zu flips an error, the rest the same records\n",
                      with_dict, caught, flips);
        assert_true(caught >= flips * 95 / 100);
        free(copy);
        free(blk);
    }
    block_dec_free(d);
    block_enc_free(e);
    block_dict_free(dict);
}

/* Hand-made headers (their checksum appended, then tail): each bound is
 * checked before anything is allocated or decompressed, with its own
 * message. */
static uint32_t fnv1a(const uint8_t *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static size_t make_block(uint8_t *out, const uint8_t *head, size_t hlen, const uint8_t *tail,
                         size_t tlen)
{
    memcpy(out, head, hlen);
    uint32_t sum = fnv1a(head, hlen);
    for (int b = 0; b < 4; b++)
        out[hlen + (size_t)b] = (uint8_t)(sum >> (8 * b));
    if (tlen)
        memcpy(out + hlen + 4, tail, tlen);
    return hlen + 4 + tlen;
}

static void test_bad_headers(void **state)
{
    (void)state;
    static const struct {
        const char *msg;
        uint8_t head[16];
        size_t hlen;
        uint8_t tail[4];
        size_t tlen;
    } CASES[] = {
        {"0 fields; 1 to 64 allowed", {1, 0, 0, 0, 0}, 5, {0}, 0},
        {"65 fields; 1 to 64 allowed", {1, 0, 65, 0, 0}, 5, {0}, 0},
        {"1 frames for 0 records", {1, 0, 1, 0, 1, 1, 1, 1}, 8, {0}, 0},
        {"0 frames for 1 records", {1, 0, 1, 1, 0}, 5, {0}, 0},
        {"1048577 records; at most 1048576", {1, 0, 1, 0x81, 0x80, 0x40, 1, 1, 1, 1}, 10, {0}, 0},
        {"header cut short", /* an 11-byte varint */
         {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1, 1, 0, 0}, 15, {0}, 0},
        {"dictionary id out of range", {1, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0, 0}, 9, {0}, 0},
        {"frame table cut short", {1, 0, 1, 2, 2, 1, 1, 1}, 8, {0}, 0},
        {"frame 0: 0 records does not fit", {1, 0, 1, 1, 1, 0, 1, 1}, 8, {0}, 0},
        {"frame 0: 2 records does not fit", {1, 0, 1, 1, 1, 2, 2, 1}, 8, {0}, 0},
        {"frame 0: 3 bytes cannot hold 1 records", {1, 0, 4, 1, 1, 1, 3, 1}, 8, {0}, 0},
        {"frame 0: 67108865 bytes cannot hold", {1, 0, 1, 1, 1, 1, 0x81, 0x80, 0x80, 0x20, 1}, 11,
         {0}, 0},
        {"frame 0: 0 compressed bytes", {1, 0, 1, 1, 1, 1, 1, 0}, 8, {0}, 0},
        {"frames take 5 bytes but 2 follow", {1, 0, 1, 1, 1, 1, 1, 5}, 8, {0, 0}, 2},
        {"frames take 0 bytes but 1 follow", {1, 0, 1, 0, 0}, 5, {9}, 1},
        {"frame 0 does not match the header", {1, 0, 1, 1, 1, 1, 1, 4}, 8, {1, 2, 3, 4}, 4},
    };
    block_dec *d = block_dec_new();
    assert_non_null(d);
    block_read rd = reader(BLOCK_FIELDS_MAX, -1, NULL, 0);
    uint8_t blk[32];
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        imgsec_err err = {0};
        block_rows rows;
        size_t len = make_block(blk, CASES[i].head, CASES[i].hlen, CASES[i].tail, CASES[i].tlen);
        if (block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err) != IMGSEC_EINTERNAL)
            fail_msg("%s: decoded", CASES[i].msg);
        if (strncmp(err.msg, "record block: ", 14) != 0 || !strstr(err.msg, CASES[i].msg))
            fail_msg("want \"%s\", got \"%s\"", CASES[i].msg, err.msg);
    }
    /* the empty block is fine, and not with its checksum changed */
    static const uint8_t head[] = {1, 0, 1, 0, 0};
    size_t len = make_block(blk, head, sizeof head, NULL, 0);
    imgsec_err err = {0};
    block_rows rows;
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    assert_int_equal(rows.n, 0);
    assert_int_equal(rows.block_n, 0);
    blk[len - 1] ^= 0x40;
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "record block: header checksum does not match");
    block_dec_free(d);
}

/* A valid block around a frame of raw bytes (records of nfields cells),
 * the header's checksum and zstd's right, so that the record parser sees
 * the bytes: the frame-level checks the checksums otherwise hide. */
static size_t raw_block(uint8_t *out, size_t cap, const uint8_t *raw, size_t len, size_t nfields,
                        size_t records)
{
    uint8_t head[16] = {1, 0, (uint8_t)nfields, (uint8_t)records, 1, (uint8_t)records,
                        (uint8_t)len};
    uint8_t comp[256];
    assert_true(len < 128 && nfields < 128 && records < 128);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)));
    size_t clen = ZSTD_compress2(c, comp, sizeof comp, raw, len);
    ZSTD_freeCCtx(c);
    assert_false(ZSTD_isError(clen));
    assert_true(clen < 128 && 8 + 4 + clen <= cap);
    head[7] = (uint8_t)clen;
    return make_block(out, head, 8, comp, clen);
}

static void test_bad_frames(void **state)
{
    (void)state;
    static const struct {
        const char *msg; /* NULL: decodes */
        size_t nfields, records, len;
        uint8_t raw[16];
    } CASES[] = {
        {NULL, 1, 1, 4, {BLOCK_TEXT, 1, 'a', 0}},
        {NULL, 2, 1, 12, {BLOCK_INT, 0x81, 0x01, BLOCK_REAL, 0, 0, 0, 0, 0, 0, 0, 0x80}},
        {"frame 0: 1 bytes after its last record", 1, 1, 2, {BLOCK_NULL, 0}},
        {"frame 0: record 0: bad text", 1, 1, 5, {BLOCK_TEXT, 2, 'a', 'b', 'x'}},
        {"frame 0: record 0: bad text", 1, 1, 4, {BLOCK_TEXT, 2, 'a', 0}},
        {"frame 0: record 0: bad text", 1, 1, 3, {BLOCK_TEXT, 0x80, 0}},
        {"frame 0: record 0: unknown tag 7", 1, 1, 1, {7}},
        {"frame 0: record 0: bad integer", 1, 1, 2, {BLOCK_INT, 0x80}},
        {"frame 0: record 0: bad integer", 1, 1, 12,
         {BLOCK_INT, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0}},
        {"frame 0: record 0: real cut short", 1, 1, 4, {BLOCK_REAL, 1, 2, 3}},
        {"frame 0: record 1 cut short", 2, 2, 5, {BLOCK_NULL, BLOCK_TEXT, 1, 'a', 0}},
    };
    block_dec *d = block_dec_new();
    assert_non_null(d);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint8_t blk[256];
        size_t len = raw_block(blk, sizeof blk, CASES[i].raw, CASES[i].len, CASES[i].nfields,
                               CASES[i].records);
        block_read rd = reader(CASES[i].nfields, (int64_t)CASES[i].records, NULL, 0);
        block_rows rows;
        imgsec_err err = {0};
        int rc = block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err);
        if (!CASES[i].msg) {
            if (rc != IMGSEC_OK)
                fail_msg("case %zu: %s", i, err.msg);
            continue;
        }
        if (rc != IMGSEC_EINTERNAL || !strstr(err.msg, CASES[i].msg))
            fail_msg("case %zu: want \"%s\", got rc %d \"%s\"", i, CASES[i].msg, rc, err.msg);
    }
    /* the two that decode, exactly */
    uint8_t blk[256];
    block_rows rows;
    imgsec_err err = {0};
    size_t len = raw_block(blk, sizeof blk, CASES[1].raw, CASES[1].len, 2, 1);
    block_read rd = reader(2, 1, NULL, 0);
    assert_int_equal(block_decode(d, blk, len, &rd, 0, SIZE_MAX, &rows, &err), IMGSEC_OK);
    block_cell want[2] = {c_int(-65), c_real(-0.0)}; /* zigzag 129 = -65; 0x80 << 56 = -0.0 */
    cell_eq(&rows.cells[0], &want[0], "int");
    cell_eq(&rows.cells[1], &want[1], "real");
    block_dec_free(d);
}

/* The seed corpus of fuzz_block, when asked for. */
static void write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_write_corpus(void **state)
{
    (void)state;
    const char *dir = getenv("IMGSEC_BLOCK_CORPUS");
    if (!dir || !*dir)
        skip();
    block_dict *fixed = NULL;
    imgsec_err err = {0};
    assert_int_equal(block_dict_new(FUZZ_BLOCK_DICT_ID, FUZZ_BLOCK_DICT,
                                    sizeof FUZZ_BLOCK_DICT - 1, &fixed, &err),
                     IMGSEC_OK);
    block_enc *e = block_enc_new();
    assert_non_null(e);
    static const struct {
        const char *name;
        size_t n, f, nfields;
        int dict;
    } SEEDS[] = {
        {"empty", 0, 16, NF, 0},      {"one", 1, 16, NF, 0},
        {"frames17", 17, 16, NF, 0},  {"frames33_dict", 33, 16, NF, 1},
        {"three_fields", 5, 16, 3, 0}, {"f128_dict", 150, 128, NF, 1},
        {"f4", 9, 4, NF, 1},
    };
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++) {
        uint8_t *blk;
        size_t len = encode_gen(e, SEEDS[i].n, SEEDS[i].f, SEEDS[i].nfields,
                                SEEDS[i].dict ? fixed : NULL, &blk);
        write_file(dir, SEEDS[i].name, blk, len);
        free(blk);
    }
    /* every kind of cell, one record per rotation, frames of 3 */
    const block_cell kinds[] = {c_null(),          c_text("", 0),      c_text("a\0b", 3),
                                c_int(INT64_MIN),  c_int(INT64_MAX),   c_int(-1),
                                c_real(-0.0),      c_real(9.8),        c_real_bits(0x7ff8dead0000beefULL),
                                c_str("CVE-2024-0001")};
    enum { K = sizeof kinds / sizeof kinds[0] };
    assert_int_equal(block_enc_begin(e, K, 3, fixed, &err), IMGSEC_OK);
    for (size_t r = 0; r < K; r++) {
        block_cell rec[K];
        for (size_t f = 0; f < K; f++)
            rec[f] = kinds[(f + r) % K];
        assert_int_equal(block_enc_record(e, rec, &err), IMGSEC_OK);
    }
    const uint8_t *blk;
    size_t len;
    assert_int_equal(block_enc_finish(e, &blk, &len, &err), IMGSEC_OK);
    write_file(dir, "kinds_dict", blk, len);
    /* the same records as a raw frame for fuzz_block's second mode:
     * 0, fields - 1, records - 1, the frame's decompressed bytes */
    assert_int_equal(block_enc_begin(e, K, K, NULL, &err), IMGSEC_OK);
    for (size_t r = 0; r < K; r++) {
        block_cell rec[K];
        for (size_t f = 0; f < K; f++)
            rec[f] = kinds[(f + r) % K];
        assert_int_equal(block_enc_record(e, rec, &err), IMGSEC_OK);
    }
    assert_int_equal(block_enc_finish(e, &blk, &len, &err), IMGSEC_OK);
    const uint8_t *raw;
    const size_t *sizes;
    size_t nframes, total;
    block_enc_raw(e, &raw, &sizes, &nframes, &total);
    assert_int_equal(nframes, 1);
    uint8_t *seed = malloc(3 + total);
    assert_non_null(seed);
    seed[0] = 0;
    seed[1] = K - 1;
    seed[2] = K - 1;
    memcpy(seed + 3, raw, total);
    write_file(dir, "raw_kinds", seed, 3 + total);
    free(seed);
    block_enc_free(e);
    block_dict_free(fixed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_round_trip),     cmocka_unit_test(test_frame_boundaries),
        cmocka_unit_test(test_partial_decode),       cmocka_unit_test(test_dictionaries),
        cmocka_unit_test(test_fields_and_counts),    cmocka_unit_test(test_encoder_refusals),
        cmocka_unit_test(test_truncations_and_flips), cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_write_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
