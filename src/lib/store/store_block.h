/* store_block.h - the record block codec (docs/plan-packed-records.md 2.1),
 * internal to the store.
 *
 * A block holds the records of one (image, report type): n records of
 * nfields cells each, a cell being NULL, an int64, a double or a text
 * (bytes, NUL bytes allowed). The records are cut into frames of F
 * records (the writer's choice: 16 for vulnerabilities, 128 for the
 * other types; the last frame may be shorter), and each frame is
 * compressed on its own with zstd level 3, with a dictionary or without
 * (dictionary id 0). A reader decompresses only the frames that cover
 * the records it asks for.
 *
 * Contract:
 *   - Round trip: what block_enc_* writes, block_decode gives back cell
 *     for cell: the same tags, int64 values, doubles bit for bit (-0.0
 *     and NaN payloads included), texts byte for byte.
 *   - Untrusted input: block_decode and block_info take any bytes. Every
 *     length is checked against the frame, every frame against the block,
 *     the field count against BLOCK_FIELDS_MAX and the reader's, the
 *     record count against the reader's expectation, and every size is
 *     bounded (the BLOCK_*_MAX below) before memory is allocated for it.
 *     The header carries a checksum of its own and each frame zstd's
 *     content checksum, so a changed byte gives an error, never a
 *     different record (zstd's encoding is not canonical: a few bits of a
 *     frame can change without changing what it decompresses to, and then
 *     the records are the same). Anything wrong is an
 *     IMGSEC_EINTERNAL error ("record block: ..."): stored data that does
 *     not decode is the server's fault, never the caller's. Nothing is
 *     read outside [blk, blk + len).
 *   - Dictionaries are data (R4): a block names its dictionary by id, and
 *     a block whose dictionary is not among the reader's is an error
 *     naming the id. Id 0 means none; ids are the caller's (block_dicts).
 *   - Schema evolution (R8): a block written with fewer fields than the
 *     reader expects decodes the missing trailing fields as NULL. A block
 *     with more fields than the reader expects is an error (it was written
 *     by a newer imgsec).
 *   - Memory: an encoder and a decoder each own their buffers, reused from
 *     call to call; the output of block_enc_finish and the cells of
 *     block_decode (texts included: they point into the decoder's buffer
 *     of decompressed frames) stay valid until the next call on the same
 *     encoder or decoder, or its free. Every text cell's bytes are
 *     followed by a '\0' (s[len] == '\0'), so texts without NUL bytes are
 *     C strings.
 *   - Threads: a block_dict is immutable once made and may be shared by
 *     any number of threads; an encoder or a decoder is one thread's at a
 *     time.
 */
#ifndef IMGSEC_STORE_BLOCK_H
#define IMGSEC_STORE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"

#define BLOCK_FORMAT_VERSION 1
#define BLOCK_ZSTD_LEVEL 3
#define BLOCK_FIELDS_MAX 64                       /* cells per record */
#define BLOCK_RECORDS_MAX (1u << 20)              /* records per block */
#define BLOCK_FRAME_RECORDS_MAX 4096u             /* F */
#define BLOCK_TEXT_MAX (16u << 20)                /* bytes of one text */
#define BLOCK_FRAME_RAW_MAX (64u << 20)           /* bytes of one decompressed frame */
#define BLOCK_RAW_MAX (256u << 20)                /* bytes of a block's decompressed frames */
#define BLOCK_DICT_MAX 32768u                     /* bytes of a dictionary */

typedef enum { BLOCK_NULL = 0, BLOCK_INT = 1, BLOCK_REAL = 2, BLOCK_TEXT = 3 } block_tag;

/* One cell. The encoder reads v.i (BLOCK_INT), v.r (BLOCK_REAL) or v.s and
 * len (BLOCK_TEXT: len bytes, any values, v.s may be NULL when len is 0). */
typedef struct {
    union {
        int64_t i;
        double r;
        const char *s;
    } v;
    uint32_t len;
    uint8_t tag; /* a block_tag */
} block_cell;

/* Are a and b the same cell, as the round trip promises: the same tag,
 * and the same int64, double bits or text bytes? */
bool block_cell_same(const block_cell *a, const block_cell *b);

/* ---- dictionaries ---- */

typedef struct block_dict block_dict;

/* A dictionary with id (1 .. UINT32_MAX) from len bytes (1 ..
 * BLOCK_DICT_MAX): a trained one (block_dict_train) or any bytes (zstd
 * then takes them as raw content). The bytes are copied. */
int block_dict_new(uint32_t id, const void *bytes, size_t len, block_dict **out, imgsec_err *err);
void block_dict_free(block_dict *d);
uint32_t block_dict_id(const block_dict *d);

/* Trains a dictionary of at most cap (<= BLOCK_DICT_MAX) bytes into out
 * from nsamples samples laid end to end at samples (sizes[i] bytes each):
 * the decompressed frames of sample blocks (block_enc_raw). *len is the
 * dictionary's size. zstd needs enough samples (a few hundred frames, a
 * few times cap bytes in all); fewer is an EINVAL error. */
int block_dict_train(const void *samples, const size_t *sizes, size_t nsamples, void *out,
                     size_t cap, size_t *len, imgsec_err *err);

/* ---- encoding ---- */

typedef struct block_enc block_enc;

block_enc *block_enc_new(void); /* NULL when out of memory */
void block_enc_free(block_enc *e);

/* Starts a block of records of nfields (1 .. BLOCK_FIELDS_MAX) cells, in
 * frames of frame_records (1 .. BLOCK_FRAME_RECORDS_MAX), compressed with
 * dict (NULL: none, dictionary id 0). */
int block_enc_begin(block_enc *e, size_t nfields, size_t frame_records, const block_dict *dict,
                    imgsec_err *err);
/* Appends one record: nfields cells. EINVAL, the record not appended and
 * the block still open, for a bad tag, a text over BLOCK_TEXT_MAX, or a
 * block over BLOCK_RECORDS_MAX records or over the raw size limits; any
 * other error (out of memory, zstd) abandons the block: begin again. */
int block_enc_record(block_enc *e, const block_cell *cells, imgsec_err *err);
/* Compresses what is left and gives the block: *out, *len bytes. */
int block_enc_finish(block_enc *e, const uint8_t **out, size_t *len, imgsec_err *err);
/* After block_enc_finish: the block's decompressed frames laid end to end,
 * *nframes of them, sizes[i] bytes each (samples for block_dict_train),
 * and their total (the record data before compression). */
void block_enc_raw(const block_enc *e, const uint8_t **raw, const size_t **sizes, size_t *nframes,
                   size_t *total);

/* ---- decoding ---- */

/* What a block holds, from its header alone (checked as block_decode
 * checks it, frames not decompressed). */
typedef struct {
    uint32_t version;
    uint32_t dict_id;
    size_t nfields;
    size_t n;       /* records */
    size_t nframes;
    size_t header_len; /* bytes before the first frame */
} block_info;

int block_info_get(const void *blk, size_t len, block_info *out, imgsec_err *err);

/* What the reader expects. */
typedef struct {
    size_t nfields;   /* cells per record of the result (1 .. BLOCK_FIELDS_MAX);
                       * a block with fewer fields gives NULLs for the rest */
    int64_t expect_n; /* the records the block must hold; -1: any */
    const block_dict *const *dicts; /* the dictionaries the reader has */
    size_t ndicts;
} block_read;

/* The result of a decode: records [first, first + n) of the block, as
 * n * nfields cells (row-major: cell f of record first + r is
 * cells[r * nfields + f]). */
typedef struct {
    const block_cell *cells;
    size_t first, n, nfields;
    size_t block_n;      /* records in the block */
    size_t block_fields; /* fields the block was written with */
} block_rows;

typedef struct block_dec block_dec;

block_dec *block_dec_new(void); /* NULL when out of memory */
void block_dec_free(block_dec *d);

/* Decodes records [from, from + take) of the block blk (len bytes), the
 * range clipped to the block (a from at or past the end gives no records;
 * take SIZE_MAX means to the end), decompressing only the frames that
 * cover it. The whole header is checked, whatever the range. */
int block_decode(block_dec *d, const void *blk, size_t len, const block_read *r, size_t from,
                 size_t take, block_rows *out, imgsec_err *err);

#endif
