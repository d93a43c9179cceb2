/* block_codec.c - the record block codec (src/lib/store/store_block.c) on
 * the records of a real store: bytes and CPU a record, per report type
 * (docs/plan-packed-records.md, step 1 and risk R1).
 *
 * Not a test and not part of the build; bench/block_codec.sh builds it
 * against build/libimgsec.a and runs it. It reads a SQLite store of
 * schema 17 or 18 read-only: each record table (rec_vulnerability, ...,
 * every column but image and seq, ORDER BY image, seq) and agg_vul
 * (ORDER BY image, rowid; the plan's block type 8, reported apart from
 * the records), and makes one block per (image, type), in frames of 16
 * records for vulnerabilities and 128 for the rest. For each type:
 *
 *   raw        the row-major encoding (block_enc_raw's total) a record
 *   zstd3      the blocks' bytes (headers included) a record, no dictionary
 *   +dict      the same with a dictionary per type trained (ZDICT, <= 32 KB)
 *              on the decompressed frames of the first P % of the images'
 *              blocks (--train first:P, default 10), or of all of them
 *              (--train all: optimistic, the dictionary has seen the data)
 *   enc        CPU µs a record to encode and compress every block
 *   dec        CPU µs a record to decompress and decode every block whole
 *
 * CPU is CLOCK_PROCESS_CPUTIME_ID around the loop over every block of a
 * type, the minimum of --repeat runs (default 3). Every decoded block is
 * compared cell for cell with the rows it came from (outside the timed
 * loops); a difference exits 1.
 *
 *   block_codec DB [--repeat N] [--train first:P|all] [--frame-vul F] [--frame-other F]
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgsec/model.h"
#include "imgsec/util.h"
#include "store/store_block.h"

#define NTYPES (REPORT_TYPE_COUNT + 1) /* the record types, then agg_vul */

typedef struct {
    size_t first, n; /* records [first, first + n) of the type */
} span;

typedef struct {
    char name[48];
    size_t nfields, frame;
    block_cell *cells; /* records * nfields; a text's v.i holds its arena offset until loaded */
    size_t ncells, cells_cap;
    char *arena;
    size_t arena_len, arena_cap;
    span *spans;
    size_t nspans, spans_cap;
    size_t records;
    /* results */
    size_t raw_bytes, plain_bytes, dict_bytes, dict_size;
    double enc_plain, dec_plain, enc_dict, dec_dict; /* CPU seconds, best run */
    int dict_ok;
    char dict_err[IMGSEC_ERR_MSG_MAX];
} type_data;

/* util_grow, or the bench stops */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (!util_grow(&p, cap, need, elem)) {
        fprintf(stderr, "block_codec: out of memory\n");
        exit(2);
    }
    return p;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_err(const char *what, const imgsec_err *err)
{
    fprintf(stderr, "block_codec: %s: %s\n", what, err->msg);
    exit(2);
}

/* Reads a table's rows into t: one span per image. */
static int load(sqlite3 *db, type_data *t, const char *sql)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1; /* no such table in this store */
    int ncol = sqlite3_column_count(s), image_col = -1;
    int fields[BLOCK_FIELDS_MAX];
    size_t nf = 0;
    for (int c = 0; c < ncol; c++) {
        const char *name = sqlite3_column_name(s, c);
        if (strcmp(name, "image") == 0)
            image_col = c;
        else if (strcmp(name, "seq") != 0 && nf < BLOCK_FIELDS_MAX)
            fields[nf++] = c;
    }
    if (image_col < 0 || nf == 0) {
        sqlite3_finalize(s);
        return -1;
    }
    t->nfields = nf;
    int64_t last = INT64_MIN;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t image = sqlite3_column_int64(s, image_col);
        if (image != last || t->nspans == 0) {
            t->spans = grow(t->spans, &t->spans_cap, t->nspans + 1, sizeof *t->spans);
            t->spans[t->nspans++] = (span){.first = t->records, .n = 0};
            last = image;
        }
        t->cells = grow(t->cells, &t->cells_cap, t->ncells + nf, sizeof *t->cells);
        for (size_t f = 0; f < nf; f++) {
            block_cell *c = &t->cells[t->ncells++];
            memset(c, 0, sizeof *c);
            switch (sqlite3_column_type(s, fields[f])) {
            case SQLITE_INTEGER:
                c->tag = BLOCK_INT;
                c->v.i = sqlite3_column_int64(s, fields[f]);
                break;
            case SQLITE_FLOAT:
                c->tag = BLOCK_REAL;
                c->v.r = sqlite3_column_double(s, fields[f]);
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                const void *p = sqlite3_column_type(s, fields[f]) == SQLITE_TEXT
                                    ? (const void *)sqlite3_column_text(s, fields[f])
                                    : sqlite3_column_blob(s, fields[f]);
                size_t len = (size_t)sqlite3_column_bytes(s, fields[f]);
                t->arena = grow(t->arena, &t->arena_cap, t->arena_len + len + 1, 1);
                if (len)
                    memcpy(t->arena + t->arena_len, p, len);
                t->arena[t->arena_len + len] = '\0';
                c->tag = BLOCK_TEXT;
                c->v.i = (int64_t)t->arena_len;
                c->len = (uint32_t)len;
                t->arena_len += len + 1;
                break;
            }
            default: c->tag = BLOCK_NULL;
            }
        }
        t->spans[t->nspans - 1].n++;
        t->records++;
    }
    sqlite3_finalize(s);
    for (size_t i = 0; i < t->ncells; i++)
        if (t->cells[i].tag == BLOCK_TEXT)
            t->cells[i].v.s = t->arena + t->cells[i].v.i;
    return 0;
}

typedef struct {
    uint8_t *data; /* every block of the type, end to end */
    size_t len, cap;
    size_t *at; /* block i at data + at[i], at[i + 1] - at[i] bytes */
    /* training samples: decompressed frames of the first blocks */
    uint8_t *samples;
    size_t samples_len, samples_cap;
    size_t *sizes;
    size_t nsamples, sizes_cap;
} blocks;

/* Encodes every block of t (keeping the first train_blocks' frames as
 * samples when samples is set); returns the CPU seconds of the loop. */
static double encode_all(type_data *t, const block_dict *dict, block_enc *e, blocks *b,
                         size_t train_blocks, int samples)
{
    imgsec_err err = {0};
    b->len = 0;
    b->at = realloc(b->at, (t->nspans + 1) * sizeof *b->at);
    if (!b->at)
        exit(2);
    size_t raw = 0;
    double t0 = cpu_now();
    for (size_t i = 0; i < t->nspans; i++) {
        const span *sp = &t->spans[i];
        if (block_enc_begin(e, t->nfields, t->frame, dict, &err) != IMGSEC_OK)
            die_err("begin", &err);
        for (size_t r = 0; r < sp->n; r++)
            if (block_enc_record(e, &t->cells[(sp->first + r) * t->nfields], &err) != IMGSEC_OK)
                die_err("encode", &err);
        const uint8_t *out;
        size_t len;
        if (block_enc_finish(e, &out, &len, &err) != IMGSEC_OK)
            die_err("finish", &err);
        b->data = grow(b->data, &b->cap, b->len + len, 1);
        memcpy(b->data + b->len, out, len);
        b->at[i] = b->len;
        b->len += len;
        const uint8_t *rawp;
        const size_t *sizes;
        size_t nframes, total;
        block_enc_raw(e, &rawp, &sizes, &nframes, &total);
        raw += total;
        if (samples && i < train_blocks) {
            b->samples = grow(b->samples, &b->samples_cap, b->samples_len + total, 1);
            memcpy(b->samples + b->samples_len, rawp, total);
            b->samples_len += total;
            b->sizes = grow(b->sizes, &b->sizes_cap, b->nsamples + nframes, sizeof *b->sizes);
            memcpy(b->sizes + b->nsamples, sizes, nframes * sizeof *sizes);
            b->nsamples += nframes;
        }
    }
    double dt = cpu_now() - t0;
    b->at[t->nspans] = b->len;
    t->raw_bytes = raw;
    return dt;
}

static double decode_all(const type_data *t, const block_dict *dict, block_dec *d, const blocks *b,
                         int verify)
{
    imgsec_err err = {0};
    const block_dict *dicts[] = {dict};
    double t0 = cpu_now();
    for (size_t i = 0; i < t->nspans; i++) {
        const span *sp = &t->spans[i];
        block_read rd = {.nfields = t->nfields, .expect_n = (int64_t)sp->n, .dicts = dicts,
                         .ndicts = dict ? 1 : 0};
        block_rows rows;
        if (block_decode(d, b->data + b->at[i], b->at[i + 1] - b->at[i], &rd, 0, SIZE_MAX, &rows,
                         &err) != IMGSEC_OK)
            die_err("decode", &err);
        if (verify)
            for (size_t c = 0; c < sp->n * t->nfields; c++)
                if (!block_cell_same(&rows.cells[c], &t->cells[sp->first * t->nfields + c])) {
                    fprintf(stderr, "block_codec: %s: block %zu cell %zu differs after decoding\n",
                            t->name, i, c);
                    exit(1);
                }
    }
    return cpu_now() - t0;
}

static double min_d(double a, double b)
{
    return a < b ? a : b;
}

static void measure(type_data *t, int repeat, int train_pct)
{
    block_enc *e = block_enc_new();
    block_dec *d = block_dec_new();
    if (!e || !d)
        exit(2);
    blocks b = {0};
    size_t train_blocks = train_pct >= 100 ? t->nspans : (t->nspans * (size_t)train_pct + 99) / 100;
    t->enc_plain = t->dec_plain = t->enc_dict = t->dec_dict = 1e30;
    for (int r = 0; r < repeat; r++)
        t->enc_plain = min_d(t->enc_plain, encode_all(t, NULL, e, &b, train_blocks, r == 0));
    t->plain_bytes = b.len;
    decode_all(t, NULL, d, &b, 1);
    for (int r = 0; r < repeat; r++)
        t->dec_plain = min_d(t->dec_plain, decode_all(t, NULL, d, &b, 0));

    static uint8_t dict_bytes[BLOCK_DICT_MAX];
    size_t dlen = 0;
    imgsec_err err = {0};
    block_dict *dict = NULL;
    if (block_dict_train(b.samples, b.sizes, b.nsamples, dict_bytes, sizeof dict_bytes, &dlen,
                         &err) != IMGSEC_OK ||
        block_dict_new(1, dict_bytes, dlen, &dict, &err) != IMGSEC_OK) {
        snprintf(t->dict_err, sizeof t->dict_err, "%s", err.msg);
    } else {
        t->dict_ok = 1;
        t->dict_size = dlen;
        for (int r = 0; r < repeat; r++)
            t->enc_dict = min_d(t->enc_dict, encode_all(t, dict, e, &b, 0, 0));
        t->dict_bytes = b.len;
        decode_all(t, dict, d, &b, 1);
        for (int r = 0; r < repeat; r++)
            t->dec_dict = min_d(t->dec_dict, decode_all(t, dict, d, &b, 0));
    }
    block_dict_free(dict);
    free(b.data);
    free(b.at);
    free(b.samples);
    free(b.sizes);
    block_dec_free(d);
    block_enc_free(e);
}

static double per(double x, size_t n)
{
    return n ? x / (double)n : 0;
}

static void row(const char *name, size_t blocks_n, size_t records, size_t raw, size_t plain,
                size_t dictb, size_t dsize, double encp, double decp, double encd, double decd,
                int dict_ok)
{
    printf("%-22s %7zu %9zu %8.1f %8.1f ", name, blocks_n, records, per((double)raw, records),
           per((double)plain, records));
    if (dict_ok)
        printf("%8.1f %7zu %6.3f %6.3f %6.3f %6.3f\n", per((double)dictb, records), dsize,
               per(encp * 1e6, records), per(encd * 1e6, records), per(decp * 1e6, records),
               per(decd * 1e6, records));
    else
        printf("%8s %7s %6.3f %6s %6.3f %6s\n", "-", "-", per(encp * 1e6, records), "-",
               per(decp * 1e6, records), "-");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int repeat = 3, train_pct = 10, bad = 0;
    size_t frame_vul = 16, frame_other = 128;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--train") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "all") == 0)
                train_pct = 100;
            else if (strncmp(v, "first:", 6) == 0)
                train_pct = atoi(v + 6);
            else
                bad = 1;
        } else if (strcmp(argv[i], "--frame-vul") == 0 && i + 1 < argc)
            frame_vul = (size_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--frame-other") == 0 && i + 1 < argc)
            frame_other = (size_t)atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            bad = 1;
    }
    if (bad || !path || repeat < 1 || train_pct < 1 || train_pct > 100) {
        fprintf(stderr, "usage: block_codec DB [--repeat N] [--train first:P|all] "
                        "[--frame-vul F] [--frame-other F]\n");
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "block_codec: %s: %s\n", path, sqlite3_errmsg(db));
        return 2;
    }
    sqlite3_stmt *s;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);

    static type_data types[NTYPES];
    double load_t0 = cpu_now();
    for (int t = 0; t < NTYPES; t++) {
        char sql[160];
        if (t < REPORT_TYPE_COUNT) {
            const record_kind *k = record_kind_get((report_type)t);
            snprintf(types[t].name, sizeof types[t].name, "%s", k->name);
            snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY image, seq", k->table);
            types[t].frame = t == REPORT_VULNERABILITY ? frame_vul : frame_other;
        } else {
            snprintf(types[t].name, sizeof types[t].name, "(agg_vul)");
            snprintf(sql, sizeof sql, "SELECT * FROM agg_vul ORDER BY image, rowid");
            types[t].frame = frame_other;
        }
        if (load(db, &types[t], sql) != 0)
            types[t].nfields = 0;
    }
    double load_s = cpu_now() - load_t0;
    sqlite3_close(db);

    printf("store %s (schema %d): rows read in %.2f s CPU; frames of %zu (vulnerability), "
           "%zu (others); dictionaries trained on %s; best of %d runs\n",
           path, version, load_s, frame_vul, frame_other,
           train_pct >= 100 ? "every block (optimistic)" : "the first blocks", repeat);
    if (train_pct < 100)
        printf("  (the first %d %% of each type's blocks, in image order)\n", train_pct);
    printf("%-22s %7s %9s %8s %8s %8s %7s %6s %6s %6s %6s\n", "type", "blocks", "records",
           "raw B/r", "zstd3", "+dict", "dict B", "enc", "enc+d", "dec", "dec+d");
    printf("%-22s %7s %9s %8s %8s %8s %7s %6s %6s %6s %6s\n", "", "", "", "", "B/rec", "B/rec",
           "", "µs/rec", "µs/rec", "µs/rec", "µs/rec");
    size_t tb = 0, tr = 0, traw = 0, tplain = 0, tdict = 0, tdsize = 0;
    double tep = 0, tdp = 0, ted = 0, tdd = 0;
    int all_dict = 1;
    for (int t = 0; t < NTYPES; t++) {
        type_data *ty = &types[t];
        if (!ty->nfields || !ty->records)
            continue;
        measure(ty, repeat, train_pct);
        if (t == REPORT_TYPE_COUNT)
            printf("%-22s\n", "------");
        row(ty->name, ty->nspans, ty->records, ty->raw_bytes, ty->plain_bytes, ty->dict_bytes,
            ty->dict_size, ty->enc_plain, ty->dec_plain, ty->enc_dict, ty->dec_dict, ty->dict_ok);
        if (!ty->dict_ok)
            printf("%-22s   no dictionary: %s\n", "", ty->dict_err);
        if (t == REPORT_TYPE_COUNT)
            continue; /* agg_vul is not a record */
        tb += ty->nspans;
        tr += ty->records;
        traw += ty->raw_bytes;
        tplain += ty->plain_bytes;
        /* a type without a dictionary counts its plain bytes in the +dict total */
        tdict += ty->dict_ok ? ty->dict_bytes : ty->plain_bytes;
        tdsize += ty->dict_size;
        tep += ty->enc_plain;
        tdp += ty->dec_plain;
        ted += ty->dict_ok ? ty->enc_dict : ty->enc_plain;
        tdd += ty->dict_ok ? ty->dec_dict : ty->dec_plain;
        all_dict &= ty->dict_ok;
    }
    printf("%-22s\n", "------");
    row("records", tb, tr, traw, tplain, tdict, tdsize, tep, tdp, ted, tdd, 1);
    printf("records, +dict counting the dictionaries' %zu bytes: %.1f B/record%s\n", tdsize,
           per((double)(tdict + tdsize), tr),
           all_dict ? "" : " (types without a dictionary counted at zstd3)");
    return 0;
}
