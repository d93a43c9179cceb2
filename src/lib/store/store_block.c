/* store_block.c - the record block codec (see store_block.h for the
 * contract).
 *
 * A block is a header, uncompressed, then its frames' zstd frames end to
 * end. Integers in the header and the records are LEB128 varints (7 bits
 * a byte, low bits first, at most 10 bytes).
 *
 *   u8      format version (BLOCK_FORMAT_VERSION)
 *   varint  dictionary id (0: none)
 *   varint  field count (1 .. BLOCK_FIELDS_MAX)
 *   varint  record count n (0 .. BLOCK_RECORDS_MAX)
 *   varint  frame count (0 when n is 0, else 1 .. n)
 *   per frame: varint records (1 .. F), varint raw bytes, varint compressed bytes
 *   u32     FNV-1a (32 bits) of the header's bytes before it, little-endian
 *   the frames' compressed bytes, in order, nothing after them
 *
 * A frame's raw (decompressed) bytes are its records one after the other,
 * row-major: for each record, for each field, a tag byte (block_tag) and
 *
 *   BLOCK_NULL  nothing
 *   BLOCK_INT   the zigzag varint of the value (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...)
 *   BLOCK_REAL  the 8 bytes of the IEEE double, little-endian
 *   BLOCK_TEXT  a varint length, the bytes, then one 0 byte (so a decoded
 *               text is NUL-terminated in place; the decoder checks it)
 *
 * and nothing after the last record. Every cell takes at least one byte,
 * so a frame's raw size is at least records * fields: the header is
 * checked against that before anything is decompressed.
 *
 * Each frame is one zstd frame (ZSTD_compress2: level 3 or the
 * dictionary's, the content size and the XXH64 content checksum in the
 * frame header and footer, no dictionary id: the block header names the
 * dictionary). Before decompressing, the zstd frame's own content size
 * must equal the header's raw size and its compressed size the header's
 * compressed size, and the result must be exactly that many bytes; the
 * checksum catches a frame decompressed with another dictionary or with
 * changed bytes. The header's own checksum catches a changed byte there
 * (FNV-1a changes for any one changed byte): without it, a dictionary id
 * flipped from 0 to an id the reader has, or a field count flipped lower
 * (R8 reads that as fields added later), could go unnoticed. Decompression
 * is single-pass into a buffer of the
 * declared (bounded) size, so zstd allocates no window of its own.
 *
 * A decode reads the whole header (the frame table is kept in the
 * decoder), picks the frames that cover the range, decompresses them end
 * to end into the decoder's raw buffer, and parses them into cells that
 * point into that buffer. Cells of the reader's fields past the block's
 * field count stay zero, which is BLOCK_NULL.
 */
#include "store_block.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zdict.h>
#include <zstd.h>

#include "imgsec/util.h"

#define BLOCK_CELLS_MAX (1u << 24) /* cells of one decode's result */
#define VARINT_MAX 10
#define HEADER_SUM 4 /* bytes of the header's checksum */

struct block_dict {
    uint32_t id;
    ZSTD_CDict *c;
    ZSTD_DDict *d;
};

typedef struct {
    size_t records, raw, comp;
    size_t first;      /* the frame's first record (decoder) */
    size_t comp_at;    /* offset of its compressed bytes in the block (decoder) */
} frame_ent;

struct block_enc {
    ZSTD_CCtx *cctx;
    const block_dict *dict;
    size_t nfields, frame_records, n;
    size_t cur_records, cur_start; /* the open frame: records, offset in raw */
    uint8_t *raw;                  /* every frame's raw bytes, end to end */
    size_t raw_len, raw_cap;
    uint8_t *comp; /* compressed frames, end to end */
    size_t comp_len, comp_cap;
    frame_ent *frames;
    size_t nframes, frames_cap;
    size_t *raw_sizes; /* frames[i].raw, for block_enc_raw */
    size_t raw_sizes_cap;
    uint8_t *out;
    size_t out_len, out_cap;
    bool open;
};

struct block_dec {
    ZSTD_DCtx *dctx;
    frame_ent *frames;
    size_t frames_cap;
    uint8_t *raw;
    size_t raw_cap;
    block_cell *cells;
    size_t cells_cap;
};

/* ---- varints ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Reads a varint at p[*pos] (len bytes in all); false when it runs past
 * len, takes more than 10 bytes or does not fit 64 bits. */
static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < VARINT_MAX; i++) {
        if (*pos >= len)
            return false;
        uint8_t b = p[(*pos)++];
        if (i == VARINT_MAX - 1 && b > 1)
            return false;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static uint64_t zigzag(int64_t i)
{
    uint64_t u;
    memcpy(&u, &i, sizeof u);
    return (u << 1) ^ (0 - (u >> 63));
}

static int64_t unzigzag(uint64_t u)
{
    uint64_t v = (u >> 1) ^ (0 - (u & 1));
    int64_t i;
    memcpy(&i, &v, sizeof i);
    return i;
}

bool block_cell_same(const block_cell *a, const block_cell *b)
{
    if (a->tag != b->tag)
        return false;
    switch (a->tag) {
    case BLOCK_INT: return a->v.i == b->v.i;
    case BLOCK_REAL: return memcmp(&a->v.r, &b->v.r, sizeof a->v.r) == 0;
    case BLOCK_TEXT: return a->len == b->len && (a->len == 0 || memcmp(a->v.s, b->v.s, a->len) == 0);
    default: return true;
    }
}

static int corrupt(imgsec_err *err, const char *what)
{
    return err_set(err, IMGSEC_EINTERNAL, "record block: %s", what);
}

static int oom(imgsec_err *err)
{
    return err_set(err, IMGSEC_EINTERNAL, "record block: out of memory");
}

/* ---- dictionaries ---- */

int block_dict_new(uint32_t id, const void *bytes, size_t len, block_dict **out, imgsec_err *err)
{
    *out = NULL;
    if (id == 0)
        return err_set(err, IMGSEC_EINVAL, "record block: dictionary id 0 means none");
    if (!bytes || len == 0 || len > BLOCK_DICT_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "record block: dictionary %u has %zu bytes; 1 to %u allowed", id, len,
                       BLOCK_DICT_MAX);
    block_dict *d = calloc(1, sizeof *d);
    if (!d)
        return oom(err);
    d->id = id;
    d->c = ZSTD_createCDict(bytes, len, BLOCK_ZSTD_LEVEL);
    d->d = ZSTD_createDDict(bytes, len);
    if (!d->c || !d->d) {
        block_dict_free(d);
        return err_set(err, IMGSEC_EINTERNAL, "record block: dictionary %u is not usable", id);
    }
    *out = d;
    return IMGSEC_OK;
}

void block_dict_free(block_dict *d)
{
    if (!d)
        return;
    ZSTD_freeCDict(d->c);
    ZSTD_freeDDict(d->d);
    free(d);
}

uint32_t block_dict_id(const block_dict *d)
{
    return d->id;
}

int block_dict_train(const void *samples, const size_t *sizes, size_t nsamples, void *out,
                     size_t cap, size_t *len, imgsec_err *err)
{
    *len = 0;
    if (cap == 0 || cap > BLOCK_DICT_MAX || nsamples == 0 || nsamples > UINT_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "record block: a dictionary of 1 to %u bytes from 1 or more samples",
                       BLOCK_DICT_MAX);
    size_t r = ZDICT_trainFromBuffer(out, cap, samples, sizes, (unsigned)nsamples);
    if (ZDICT_isError(r))
        return err_set(err, IMGSEC_EINVAL, "record block: training a dictionary: %s",
                       ZDICT_getErrorName(r));
    *len = r;
    return IMGSEC_OK;
}

/* ---- encoding ---- */

block_enc *block_enc_new(void)
{
    block_enc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cctx = ZSTD_createCCtx();
    if (!e->cctx) {
        free(e);
        return NULL;
    }
    return e;
}

void block_enc_free(block_enc *e)
{
    if (!e)
        return;
    ZSTD_freeCCtx(e->cctx);
    free(e->raw);
    free(e->comp);
    free(e->frames);
    free(e->raw_sizes);
    free(e->out);
    free(e);
}

static int zstd_fail(imgsec_err *err, const char *what, size_t code)
{
    return err_set(err, IMGSEC_EINTERNAL, "record block: %s: %s", what, ZSTD_getErrorName(code));
}

int block_enc_begin(block_enc *e, size_t nfields, size_t frame_records, const block_dict *dict,
                    imgsec_err *err)
{
    e->open = false;
    if (nfields < 1 || nfields > BLOCK_FIELDS_MAX)
        return err_set(err, IMGSEC_EINVAL, "record block: %zu fields; 1 to %d allowed", nfields,
                       BLOCK_FIELDS_MAX);
    if (frame_records < 1 || frame_records > BLOCK_FRAME_RECORDS_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "record block: frames of %zu records; 1 to %u allowed", frame_records,
                       BLOCK_FRAME_RECORDS_MAX);
    size_t r = ZSTD_CCtx_reset(e->cctx, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, BLOCK_ZSTD_LEVEL);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_dictIDFlag, 0);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_refCDict(e->cctx, dict ? dict->c : NULL);
    if (ZSTD_isError(r))
        return zstd_fail(err, "setting up the compressor", r);
    e->dict = dict;
    e->nfields = nfields;
    e->frame_records = frame_records;
    e->n = e->cur_records = e->cur_start = 0;
    e->raw_len = e->comp_len = e->nframes = e->out_len = 0;
    e->open = true;
    return IMGSEC_OK;
}

/* Compresses the open frame (cur_records > 0). */
static int flush_frame(block_enc *e, imgsec_err *err)
{
    size_t raw = e->raw_len - e->cur_start;
    size_t bound = ZSTD_compressBound(raw);
    if (!util_grow((void **)&e->comp, &e->comp_cap, e->comp_len + bound, 1) ||
        !util_grow((void **)&e->frames, &e->frames_cap, e->nframes + 1, sizeof *e->frames) ||
        !util_grow((void **)&e->raw_sizes, &e->raw_sizes_cap, e->nframes + 1,
                   sizeof *e->raw_sizes))
        return oom(err);
    size_t c = ZSTD_compress2(e->cctx, e->comp + e->comp_len, bound, e->raw + e->cur_start, raw);
    if (ZSTD_isError(c))
        return zstd_fail(err, "compressing a frame", c);
    e->frames[e->nframes] = (frame_ent){.records = e->cur_records, .raw = raw, .comp = c};
    e->raw_sizes[e->nframes] = raw;
    e->nframes++;
    e->comp_len += c;
    e->cur_records = 0;
    e->cur_start = e->raw_len;
    return IMGSEC_OK;
}

int block_enc_record(block_enc *e, const block_cell *cells, imgsec_err *err)
{
    if (!e->open)
        return err_set(err, IMGSEC_EINVAL, "record block: no block begun");
    if (e->n >= BLOCK_RECORDS_MAX)
        return err_set(err, IMGSEC_EINVAL, "record block: more than %u records",
                       BLOCK_RECORDS_MAX);
    /* the record's size first, so that a bad cell writes nothing */
    size_t size = 0;
    for (size_t f = 0; f < e->nfields; f++) {
        const block_cell *c = &cells[f];
        switch (c->tag) {
        case BLOCK_NULL: size += 1; break;
        case BLOCK_INT: size += 1 + varint_size(zigzag(c->v.i)); break;
        case BLOCK_REAL: size += 1 + 8; break;
        case BLOCK_TEXT:
            if (c->len > BLOCK_TEXT_MAX)
                return err_set(err, IMGSEC_EINVAL,
                               "record block: field %zu: a text of %u bytes; at most %u", f,
                               c->len, BLOCK_TEXT_MAX);
            if (c->len && !c->v.s)
                return err_set(err, IMGSEC_EINVAL, "record block: field %zu: no text", f);
            size += 1 + varint_size(c->len) + c->len + 1;
            break;
        default:
            return err_set(err, IMGSEC_EINVAL, "record block: field %zu: tag %u", f, c->tag);
        }
    }
    if (e->raw_len - e->cur_start + size > BLOCK_FRAME_RAW_MAX ||
        e->raw_len + size > BLOCK_RAW_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "record block: over %u bytes a frame or %u bytes a block",
                       BLOCK_FRAME_RAW_MAX, BLOCK_RAW_MAX);
    if (!util_grow((void **)&e->raw, &e->raw_cap, e->raw_len + size, 1))
        return oom(err);
    uint8_t *p = e->raw + e->raw_len;
    for (size_t f = 0; f < e->nfields; f++) {
        const block_cell *c = &cells[f];
        *p++ = c->tag;
        if (c->tag == BLOCK_INT) {
            p += put_varint(p, zigzag(c->v.i));
        } else if (c->tag == BLOCK_REAL) {
            uint64_t u;
            memcpy(&u, &c->v.r, sizeof u);
            for (int b = 0; b < 8; b++)
                *p++ = (uint8_t)(u >> (8 * b));
        } else if (c->tag == BLOCK_TEXT) {
            p += put_varint(p, c->len);
            if (c->len)
                memcpy(p, c->v.s, c->len);
            p += c->len;
            *p++ = 0;
        }
    }
    e->raw_len += size;
    e->n++;
    if (++e->cur_records == e->frame_records) {
        int rc = flush_frame(e, err);
        if (rc != IMGSEC_OK)
            e->open = false; /* the block is lost: begin again */
        return rc;
    }
    return IMGSEC_OK;
}

int block_enc_finish(block_enc *e, const uint8_t **out, size_t *len, imgsec_err *err)
{
    if (!e->open)
        return err_set(err, IMGSEC_EINVAL, "record block: no block begun");
    e->open = false;
    if (e->cur_records) {
        int rc = flush_frame(e, err);
        if (rc != IMGSEC_OK)
            return rc;
    }
    size_t head = 1 + 4 * VARINT_MAX + e->nframes * 3 * VARINT_MAX + HEADER_SUM;
    if (!util_grow((void **)&e->out, &e->out_cap, head + e->comp_len, 1))
        return oom(err);
    uint8_t *p = e->out;
    *p++ = BLOCK_FORMAT_VERSION;
    p += put_varint(p, e->dict ? e->dict->id : 0);
    p += put_varint(p, e->nfields);
    p += put_varint(p, e->n);
    p += put_varint(p, e->nframes);
    for (size_t i = 0; i < e->nframes; i++) {
        p += put_varint(p, e->frames[i].records);
        p += put_varint(p, e->frames[i].raw);
        p += put_varint(p, e->frames[i].comp);
    }
    uint32_t sum = util_fnv1a(e->out, (size_t)(p - e->out));
    for (int b = 0; b < HEADER_SUM; b++)
        *p++ = (uint8_t)(sum >> (8 * b));
    if (e->comp_len)
        memcpy(p, e->comp, e->comp_len);
    p += e->comp_len;
    e->out_len = (size_t)(p - e->out);
    *out = e->out;
    *len = e->out_len;
    return IMGSEC_OK;
}

void block_enc_raw(const block_enc *e, const uint8_t **raw, const size_t **sizes, size_t *nframes,
                   size_t *total)
{
    *raw = e->raw;
    *sizes = e->raw_sizes;
    *nframes = e->nframes;
    *total = e->raw_len;
}

/* ---- decoding ---- */

block_dec *block_dec_new(void)
{
    block_dec *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->dctx = ZSTD_createDCtx();
    if (!d->dctx) {
        free(d);
        return NULL;
    }
    return d;
}

void block_dec_free(block_dec *d)
{
    if (!d)
        return;
    ZSTD_freeDCtx(d->dctx);
    free(d->frames);
    free(d->raw);
    free(d->cells);
    free(d);
}

/* Reads and checks the header of blk into *info and, when d is not NULL,
 * the frame table into d->frames (first record and compressed offset of
 * each frame filled in). */
static int read_header(block_dec *d, const uint8_t *p, size_t len, block_info *info,
                       imgsec_err *err)
{
    size_t pos = 0;
    uint64_t dict_id, nfields, n, nframes;
    if (len < 1)
        return corrupt(err, "empty");
    if (p[0] != BLOCK_FORMAT_VERSION)
        return err_set(err, IMGSEC_EINTERNAL,
                       "record block: format version %u; this imgsec reads version %d", p[0],
                       BLOCK_FORMAT_VERSION);
    pos = 1;
    if (!get_varint(p, len, &pos, &dict_id) || !get_varint(p, len, &pos, &nfields) ||
        !get_varint(p, len, &pos, &n) || !get_varint(p, len, &pos, &nframes))
        return corrupt(err, "header cut short");
    if (dict_id > UINT32_MAX)
        return corrupt(err, "dictionary id out of range");
    if (nfields < 1 || nfields > BLOCK_FIELDS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "record block: %llu fields; 1 to %d allowed",
                       (unsigned long long)nfields, BLOCK_FIELDS_MAX);
    if (n > BLOCK_RECORDS_MAX)
        return err_set(err, IMGSEC_EINTERNAL, "record block: %llu records; at most %u",
                       (unsigned long long)n, BLOCK_RECORDS_MAX);
    if (nframes > n || (n > 0 && nframes == 0))
        return err_set(err, IMGSEC_EINTERNAL, "record block: %llu frames for %llu records",
                       (unsigned long long)nframes, (unsigned long long)n);
    /* each frame's entry takes 3 bytes at least: bound the table before
     * allocating it */
    if (len - pos < HEADER_SUM || nframes > (len - pos - HEADER_SUM) / 3)
        return corrupt(err, "frame table cut short");
    if (d && !util_grow((void **)&d->frames, &d->frames_cap, (size_t)nframes, sizeof *d->frames))
        return oom(err);
    size_t records = 0, raw_total = 0, comp_total = 0;
    for (size_t i = 0; i < nframes; i++) {
        uint64_t fr, raw, comp;
        if (!get_varint(p, len, &pos, &fr) || !get_varint(p, len, &pos, &raw) ||
            !get_varint(p, len, &pos, &comp))
            return corrupt(err, "frame table cut short");
        if (fr < 1 || fr > BLOCK_FRAME_RECORDS_MAX || fr > n - records)
            return err_set(err, IMGSEC_EINTERNAL,
                           "record block: frame %zu: %llu records does not fit the block", i,
                           (unsigned long long)fr);
        if (raw > BLOCK_FRAME_RAW_MAX || raw < fr * nfields)
            return err_set(err, IMGSEC_EINTERNAL,
                           "record block: frame %zu: %llu bytes cannot hold %llu records", i,
                           (unsigned long long)raw, (unsigned long long)fr);
        if (raw > BLOCK_RAW_MAX - raw_total)
            return corrupt(err, "decompressed size over the limit");
        if (comp < 1 || comp > len)
            return err_set(err, IMGSEC_EINTERNAL,
                           "record block: frame %zu: %llu compressed bytes out of range", i,
                           (unsigned long long)comp);
        if (d)
            d->frames[i] = (frame_ent){.records = (size_t)fr, .raw = (size_t)raw,
                                       .comp = (size_t)comp, .first = records,
                                       .comp_at = comp_total};
        records += (size_t)fr;
        raw_total += (size_t)raw;
        comp_total += (size_t)comp;
        if (comp_total > len)
            return corrupt(err, "frames larger than the block");
    }
    if (len - pos < HEADER_SUM)
        return corrupt(err, "header cut short");
    uint32_t sum = 0;
    for (int b = 0; b < HEADER_SUM; b++)
        sum |= (uint32_t)p[pos + (size_t)b] << (8 * b);
    if (sum != util_fnv1a(p, pos))
        return corrupt(err, "header checksum does not match");
    pos += HEADER_SUM;
    if (records != n)
        return err_set(err, IMGSEC_EINTERNAL, "record block: frames hold %zu records, not %llu",
                       records, (unsigned long long)n);
    if (comp_total != len - pos)
        return err_set(err, IMGSEC_EINTERNAL,
                       "record block: frames take %zu bytes but %zu follow the header",
                       comp_total, len - pos);
    if (d)
        for (size_t i = 0; i < nframes; i++)
            d->frames[i].comp_at += pos;
    info->version = p[0];
    info->dict_id = (uint32_t)dict_id;
    info->nfields = (size_t)nfields;
    info->n = (size_t)n;
    info->nframes = (size_t)nframes;
    info->header_len = pos;
    return IMGSEC_OK;
}

int block_info_get(const void *blk, size_t len, block_info *out, imgsec_err *err)
{
    memset(out, 0, sizeof *out);
    if (!blk && len)
        return err_set(err, IMGSEC_EINVAL, "record block: no bytes");
    return read_header(NULL, blk, len, out, err);
}

/* Parses the raw bytes of one frame (records records of bnf cells), and
 * keeps the cells of its records [keep_from, keep_to) (frame-relative)
 * at cells, rnf a record. */
static int parse_frame(const uint8_t *raw, size_t len, size_t records, size_t bnf, size_t rnf,
                       size_t keep_from, size_t keep_to, block_cell *cells, size_t frame_no,
                       imgsec_err *err)
{
    size_t pos = 0;
    for (size_t r = 0; r < records; r++) {
        bool keep = r >= keep_from && r < keep_to;
        block_cell *row = keep ? cells + (r - keep_from) * rnf : NULL;
        for (size_t f = 0; f < bnf; f++) {
            if (pos >= len)
                return err_set(err, IMGSEC_EINTERNAL,
                               "record block: frame %zu: record %zu cut short", frame_no, r);
            uint8_t tag = raw[pos++];
            block_cell c = {.tag = tag};
            uint64_t u;
            switch (tag) {
            case BLOCK_NULL: break;
            case BLOCK_INT:
                if (!get_varint(raw, len, &pos, &u))
                    return err_set(err, IMGSEC_EINTERNAL,
                                   "record block: frame %zu: record %zu: bad integer", frame_no,
                                   r);
                c.v.i = unzigzag(u);
                break;
            case BLOCK_REAL:
                if (len - pos < 8)
                    return err_set(err, IMGSEC_EINTERNAL,
                                   "record block: frame %zu: record %zu: real cut short",
                                   frame_no, r);
                u = 0;
                for (int b = 0; b < 8; b++)
                    u |= (uint64_t)raw[pos + (size_t)b] << (8 * b);
                memcpy(&c.v.r, &u, sizeof c.v.r);
                pos += 8;
                break;
            case BLOCK_TEXT:
                if (!get_varint(raw, len, &pos, &u) || u > BLOCK_TEXT_MAX || u >= len - pos ||
                    raw[pos + u] != 0)
                    return err_set(err, IMGSEC_EINTERNAL,
                                   "record block: frame %zu: record %zu: bad text", frame_no, r);
                c.v.s = (const char *)raw + pos;
                c.len = (uint32_t)u;
                pos += (size_t)u + 1;
                break;
            default:
                return err_set(err, IMGSEC_EINTERNAL,
                               "record block: frame %zu: record %zu: unknown tag %u", frame_no,
                               r, tag);
            }
            if (row)
                row[f] = c;
        }
    }
    if (pos != len)
        return err_set(err, IMGSEC_EINTERNAL,
                       "record block: frame %zu: %zu bytes after its last record", frame_no,
                       len - pos);
    return IMGSEC_OK;
}

int block_decode(block_dec *d, const void *blk, size_t len, const block_read *r, size_t from,
                 size_t take, block_rows *out, imgsec_err *err)
{
    memset(out, 0, sizeof *out);
    if (!r || r->nfields < 1 || r->nfields > BLOCK_FIELDS_MAX || (!blk && len))
        return err_set(err, IMGSEC_EINVAL, "record block: the reader expects 1 to %d fields",
                       BLOCK_FIELDS_MAX);
    const uint8_t *p = blk;
    block_info info;
    int rc = read_header(d, p, len, &info, err);
    if (rc != IMGSEC_OK)
        return rc;
    if (info.nfields > r->nfields)
        return err_set(err, IMGSEC_EINTERNAL,
                       "record block: %zu fields, more than the %zu this imgsec knows",
                       info.nfields, r->nfields);
    if (r->expect_n >= 0 && (uint64_t)r->expect_n != info.n)
        return err_set(err, IMGSEC_EINTERNAL, "record block: %zu records, expected %lld",
                       info.n, (long long)r->expect_n);
    const ZSTD_DDict *ddict = NULL;
    if (info.dict_id) {
        for (size_t i = 0; i < r->ndicts && !ddict; i++)
            if (r->dicts[i] && r->dicts[i]->id == info.dict_id)
                ddict = r->dicts[i]->d;
        if (!ddict)
            return err_set(err, IMGSEC_EINTERNAL,
                           "record block: dictionary %u is not available", info.dict_id);
    }
    /* the range, clipped to the block */
    if (from > info.n)
        from = info.n;
    if (take > info.n - from)
        take = info.n - from;
    out->first = from;
    out->nfields = r->nfields;
    out->block_n = info.n;
    out->block_fields = info.nfields;
    if (take == 0) {
        out->cells = d->cells;
        return IMGSEC_OK;
    }
    if (take > BLOCK_CELLS_MAX / r->nfields)
        return err_set(err, IMGSEC_EINTERNAL,
                       "record block: %zu records of %zu fields in one decode; at most %u cells",
                       take, r->nfields, BLOCK_CELLS_MAX);
    /* the frames covering [from, from + take) */
    size_t f0 = 0, f1;
    while (d->frames[f0].first + d->frames[f0].records <= from)
        f0++;
    f1 = f0;
    size_t raw_total = 0;
    while (f1 < info.nframes && d->frames[f1].first < from + take)
        raw_total += d->frames[f1++].raw;
    if (!util_grow((void **)&d->raw, &d->raw_cap, raw_total, 1) ||
        !util_grow((void **)&d->cells, &d->cells_cap, take * r->nfields, sizeof *d->cells))
        return oom(err);
    memset(d->cells, 0, take * r->nfields * sizeof *d->cells); /* BLOCK_NULL */
    size_t at = 0;
    for (size_t i = f0; i < f1; i++) {
        const frame_ent *fe = &d->frames[i];
        const uint8_t *src = p + fe->comp_at;
        unsigned long long csize = ZSTD_getFrameContentSize(src, fe->comp);
        if (csize != fe->raw || ZSTD_findFrameCompressedSize(src, fe->comp) != fe->comp)
            return err_set(err, IMGSEC_EINTERNAL,
                           "record block: frame %zu does not match the header", i);
        size_t got = ddict ? ZSTD_decompress_usingDDict(d->dctx, d->raw + at, fe->raw, src,
                                                        fe->comp, ddict)
                           : ZSTD_decompressDCtx(d->dctx, d->raw + at, fe->raw, src, fe->comp);
        if (ZSTD_isError(got))
            return err_set(err, IMGSEC_EINTERNAL, "record block: frame %zu: %s", i,
                           ZSTD_getErrorName(got));
        if (got != fe->raw)
            return err_set(err, IMGSEC_EINTERNAL, "record block: frame %zu: %zu bytes, not %zu",
                           i, got, fe->raw);
        /* the frame's records within the range, frame-relative */
        size_t keep_from = from > fe->first ? from - fe->first : 0;
        size_t keep_to = from + take - fe->first;
        if (keep_to > fe->records)
            keep_to = fe->records;
        size_t first_out = fe->first + keep_from - from;
        rc = parse_frame(d->raw + at, fe->raw, fe->records, info.nfields, r->nfields, keep_from,
                         keep_to, d->cells + first_out * r->nfields, i, err);
        if (rc != IMGSEC_OK)
            return rc;
        at += fe->raw;
    }
    out->cells = d->cells;
    out->n = take;
    return IMGSEC_OK;
}
