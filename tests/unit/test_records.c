/* test_records.c - the record API (imgsec/records.h): every record
 * condition gives the same records as SQL on the store's rows
 * (store_image_records) and as C on the records read whole
 * (rec_preds_match), which is what the plan's blocks will do. On SQLite,
 * and on PostgreSQL with `unit_test_records pg` (pg.test_records).
 *
 * The records are imgsec gen's (every report type), an image of non-ASCII
 * texts, and on SQLite texts that are not valid UTF-8 or hold a NUL byte,
 * written into the rows by hand (PostgreSQL holds valid UTF-8 only). The
 * needles are pieces of the stored values (whole, first and last bytes,
 * middles) and bytes chosen to start a match inside a character. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "imgsec/doc.h"
#include "imgsec/gen.h"
#include "imgsec/list.h"
#include "imgsec/records.h"
#include "imgsec/store.h"
#include "unit_pg.h"
#include "unit_tmp.h"

static bool use_pg;

typedef struct {
    char path[PATH_MAX]; /* the file, or the PostgreSQL URI */
    char pg_name[64];
    store *st;
    int64_t ids[8];
    size_t n_ids;
} fx;

static void ingest_json(store *st, json_t *root, const char *ep)
{
    imgsec_err err = {0};
    imgsec_doc d;
    if (doc_from_json(root, NULL, &d, &err) != IMGSEC_OK)
        fail_msg("doc_from_json: %s", err.msg);
    if (store_ingest(st, "P1", ep, &d, 1, NULL, NULL, NULL, NULL, &err) != IMGSEC_OK)
        fail_msg("store_ingest: %s", err.msg);
    doc_free(&d);
}

/* texts that are not ASCII, in every kind of field the lists filter */
static const char NON_ASCII[] =
    "{\"image\":{\"image_type\":\"harbor\",\"image_name\":\"\xc3\xa9t\xc3\xa9\","
    "\"image_version\":\"1\",\"scan_status\":\"success\"},"
    "\"vulnerabilities\":[{\"vul_id\":\"CVE-\xe4\xb8\xad-1\",\"vul_type\":\"app_vul\","
    "\"severity\":\"HIGH\",\"app_name\":\"caf\xc3\xa9\",\"app_version\":\"1\"},"
    "{\"vul_id\":\"CVE-2024-1\",\"vul_type\":\"linux_vul\",\"severity\":\"unknown\","
    "\"app_name\":\"\xc3\xa9\xc3\xa9\"}],"
    "\"apps\":[{\"app_name\":\"caf\xc3\xa9\",\"app_version\":\"1\"},"
    "{\"app_name\":\"\xe4\xb8\xad\xe6\x96\x87\"},"
    "{\"app_name\":\"a\xc3\xa9\"},{\"app_name\":\"\xc3\xa9\",\"app_path\":\"/p\"},"
    "{\"app_name\":\"\xc3\xa9\"}],"
    "\"files\":[{\"file_path\":\"/\xc3\xa9/x\",\"file_name\":\"\xc3\xa9\"}],"
    "\"risk_configs\":[{\"check_name\":\"\xc3\xa9-check\",\"check_rule_id\":\"r1\","
    "\"check_rule_name\":\"r\xc3\xa8gle\",\"standard\":\"hw_standard\",\"severity\":\"low\"},"
    "{\"check_name\":\"\xc3\xa9-check\",\"check_rule_id\":\"r2\",\"severity\":\"critical\"},"
    "{\"check_name\":\"a-check\",\"check_rule_id\":\"r3\",\"check_type\":\"y\","
    "\"standard\":\"cn_standard\",\"severity\":\"high\"},"
    "{\"check_name\":\"a-check\",\"check_rule_id\":\"r4\",\"check_type\":\"x\","
    "\"standard\":\"cn_standard\",\"severity\":\"medium\"},"
    "{\"check_name\":\"m-check\",\"check_rule_id\":\"r5\",\"severity\":\"medium\"}],"
    "\"sensitive_info\":[{\"rule_id\":\"s\",\"file_path\":\"/\xc3\xa9\",\"severity\":\"low\"}],"
    "\"non_compliant_apps\":[{\"app_name\":\"\xc3\xa9\"}],"
    "\"build_command_risks\":[{\"rule_id\":\"zz-rule\",\"risk_name\":\"zz-name\","
    "\"risk_level\":\"high\",\"build_instruction\":\"RUN a\",\"remediation\":\"r1\"},"
    "{\"rule_id\":\"zz-rule\",\"risk_name\":\"zz-name\",\"risk_level\":\"high\","
    "\"build_instruction\":\"RUN b\",\"description\":\"d2\"}]}";

static int row_id(const store_cell *x, int n, void *arg)
{
    fx *f = arg;
    if (n > 0 && x[0].kind == CELL_INT && f->n_ids < sizeof f->ids / sizeof f->ids[0])
        f->ids[f->n_ids++] = x[0].i;
    return 0;
}

/* On SQLite: texts the ingest never writes (invalid UTF-8, a NUL byte)
 * put into existing rows, so that C and SQL meet them too. */
static void odd_bytes(fx *f)
{
    static const struct {
        const char *table, *col, *hex;
        int seq;
    } ODD[] = {
        {"rec_app", "app_name", "c3a980782d62", 0},        /* a continuation byte inside */
        {"rec_app", "app_name", "80616263", 1},            /* one first */
        {"rec_app", "app_name", "61006280", 2},            /* a NUL byte */
        {"rec_app", "app_version", "ff7a", 0},             /* a byte UTF-8 never has */
        {"rec_vulnerability", "app_name", "e4b8ad80e4", 0}, /* a character cut short */
        {"rec_vulnerability", "vul_id", "80804356", 1},
        {"rec_file", "file_name", "c380c380", 0},
    };
    db_conn *c = NULL;
    imgsec_err err = {0};
    assert_int_equal(db_open(f->path, &c, &err), IMGSEC_OK);
    for (size_t i = 0; i < sizeof ODD / sizeof ODD[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "UPDATE %s SET %s = CAST(x'%s' AS TEXT) WHERE seq = %d AND image = "
                 "(SELECT min(id) FROM images)",
                 ODD[i].table, ODD[i].col, ODD[i].hex, ODD[i].seq);
        if (db_exec(c, sql, "writing odd bytes", &err) != IMGSEC_OK)
            fail_msg("%s: %s", sql, err.msg);
    }
    db_close(c);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err = {0};
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->path, sizeof f->path,
                                  "test_records_"),
                     0);
    if (store_open(f->path, &f->st, &err) != IMGSEC_OK)
        fail_msg("store_open: %s", err.msg);
    gen *g = gen_new(&(gen_options){.seed = 5, .images = 4, .records_per_image = 60});
    const char *ep;
    json_t *d;
    while ((d = gen_next(g, &ep))) {
        ingest_json(f->st, d, ep);
        json_decref(d);
    }
    assert_false(gen_failed(g));
    gen_free(g);
    json_error_t je;
    json_t *root = json_loads(NON_ASCII, 0, &je);
    if (!root)
        fail_msg("bad test JSON: %s", je.text);
    ingest_json(f->st, root, "0");
    json_decref(root);
    if (!use_pg)
        odd_bytes(f);
    assert_int_equal(store_list_query(f->st, "SELECT id FROM images ORDER BY id", NULL, 0, row_id,
                                      f, &err),
                     IMGSEC_OK);
    assert_int_equal(f->n_ids, 5);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    unit_db_remove(use_pg, f->pg_name, f->path);
    free(f);
    return 0;
}

/* ---- an image's records, read whole and kept ---- */

#define FIELDS_MAX 16

/* record i of a sealed batch, and its seq (the last cell) */
static const store_cell *rec_at(const rec_batch *b, size_t i)
{
    return b->cells + i * b->width;
}

static int64_t seq_at(const rec_batch *b, size_t i)
{
    return rec_at(b, i)[b->width - 1].i;
}

/* records [from, from + take) of image id passing ps, every field */
static int64_t read_recs(fx *f, int64_t id, const rec_preds *ps, int64_t from, int64_t take,
                         rec_batch *out)
{
    const record_kind *k = record_kind_get(ps->type);
    int fields[FIELDS_MAX];
    assert_true(k->nfields <= FIELDS_MAX);
    for (size_t i = 0; i < k->nfields; i++)
        fields[i] = (int)i;
    *out = (rec_batch){0};
    int64_t total = -1;
    imgsec_err err = {0};
    if (store_image_records(f->st, id, ps, fields, k->nfields, from, take, &total, rec_batch_add,
                            out, &err) != IMGSEC_OK)
        fail_msg("store_image_records: %s", err.msg);
    assert_false(out->failed);
    assert_true(out->n == 0 || out->width == k->nfields + 2);
    rec_batch_seal(out);
    return total;
}

/* The read of a whole image (store_image_records_all: the handle's one
 * cached statement) gives the same cells as the general read. */
static void whole_equal(fx *f, int64_t id, report_type t, const rec_batch *all)
{
    rec_batch w = {0};
    imgsec_err err = {0};
    assert_int_equal(store_image_records_all(f->st, id, t, rec_batch_add, &w, &err), IMGSEC_OK);
    rec_batch_seal(&w);
    assert_int_equal(w.n, all->n);
    for (size_t i = 0; i < w.n * w.width; i++) {
        assert_int_equal(w.cells[i].kind, all->cells[i].kind);
        assert_int_equal(store_cell_cmp(&w.cells[i], &all->cells[i]), 0);
    }
    rec_batch_free(&w);
}

/* the SQL answer for ps on image id equals the C answer over all: the
 * total, the whole list, and two pages */
static size_t check_same(fx *f, int64_t id, const rec_preds *ps, const rec_batch *all)
{
    size_t want[4096], nw = 0;
    for (size_t i = 0; i < all->n; i++)
        if (rec_preds_match(ps, rec_at(all, i))) {
            assert_true(nw < sizeof want / sizeof want[0]);
            want[nw++] = i;
        }
    rec_batch got;
    int64_t total = read_recs(f, id, ps, 0, -1, &got);
    if (total != (int64_t)nw || got.n != nw) {
        const rec_pred *p = &ps->p[0];
        fail_msg("type %d image %lld field %s op %d \"%s\": SQL %lld (%zu read), C %zu",
                 (int)ps->type, (long long)id, record_kind_get(ps->type)->fields[p->field].name,
                 (int)p->op, p->v[0], (long long)total, got.n, nw);
    }
    for (size_t i = 0; i < nw; i++) /* the same records, in seq order */
        assert_int_equal(seq_at(&got, i), seq_at(all, want[i]));
    rec_batch_free(&got);
    if (nw >= 3) { /* a page in the middle, and one past the end */
        total = read_recs(f, id, ps, 1, 2, &got);
        assert_int_equal(total, (int64_t)nw);
        assert_int_equal(got.n, 2);
        assert_int_equal(seq_at(&got, 0), seq_at(all, want[1]));
        assert_int_equal(seq_at(&got, 1), seq_at(all, want[2]));
        rec_batch_free(&got);
        total = read_recs(f, id, ps, (int64_t)nw, 5, &got);
        assert_int_equal(total, (int64_t)nw);
        assert_int_equal(got.n, 0);
        rec_batch_free(&got);
    }
    return nw;
}

/* Whether s is valid UTF-8 (PostgreSQL refuses a value that is not). */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return false;
        for (p++; n > 0; n--, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* the needles of a field: fixed ones, then pieces of up to 12 of its
 * values; on PostgreSQL the valid UTF-8 ones only */
#define NEEDLES_MAX 96
#define NEEDLE_LEN 64

static size_t needles_of(const rec_batch *all, int field, char out[][NEEDLE_LEN])
{
    static const char *const FIXED[] = {"",     "a",        "-",    "1",        "\x80",
                                        "\xc3", "\xa9",     "\xc3\xa9", "\xe4\xb8\xad", "\x80x",
                                        "\x80" "a", "b\x80", "CVE-", "no such text"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof FIXED / sizeof FIXED[0]; i++)
        if (!use_pg || utf8_valid(FIXED[i]))
            snprintf(out[n++], NEEDLE_LEN, "%s", FIXED[i]);
    size_t step = all->n / 12 + 1;
    for (size_t i = 0; i < all->n && n + 6 <= NEEDLES_MAX; i += step) {
        const store_cell *x = &rec_at(all, i)[field];
        if (x->kind != CELL_STRING || x->len == 0 || x->len >= NEEDLE_LEN ||
            memchr(x->s, 0, x->len))
            continue;
        size_t len = x->len;
        const struct {
            size_t at, len;
        } P[] = {/* whole, first bytes, last bytes, middle */
                 {0, len},
                 {0, 1},
                 {0, len < 3 ? len : 3},
                 {len > 2 ? len - 2 : 0, len < 2 ? len : 2},
                 {len - 1, 1},
                 {1, len > 2 ? len - 2 : 0}};
        for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
            snprintf(out[n], NEEDLE_LEN, "%.*s", (int)P[k].len, x->s + P[k].at);
            if (P[k].len && (!use_pg || utf8_valid(out[n])))
                n++;
        }
    }
    return n;
}

/* Every text field of every type, every needle, as a part and as the
 * whole value: the same records from SQL and from C, on every image. */
static void test_conditions_equal(void **state)
{
    fx *f = *state;
    size_t checked = 0, matched = 0;
    static char needles[NEEDLES_MAX][NEEDLE_LEN];
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        for (size_t im = 0; im < f->n_ids; im++) {
            rec_batch all;
            rec_preds none = {.type = (report_type)t};
            int64_t total = read_recs(f, f->ids[im], &none, 0, -1, &all);
            assert_int_equal(total, (int64_t)all.n); /* images.n_<type> */
            for (size_t i = 0; i < all.n; i++) /* seq is dense from 0 */
                assert_int_equal(seq_at(&all, i), (int64_t)i);
            whole_equal(f, f->ids[im], (report_type)t, &all);
            for (size_t fi = 0; fi < k->nfields; fi++) {
                if (k->fields[fi].kind == FIELD_INT64 || k->fields[fi].kind == FIELD_NUMBER)
                    continue;
                size_t nn = needles_of(&all, (int)fi, needles);
                for (size_t j = 0; j < nn; j++) {
                    rec_preds ps = {.type = (report_type)t};
                    rec_preds_substr(&ps, k->fields[fi].name, needles[j]);
                    matched += check_same(f, f->ids[im], &ps, &all);
                    ps = (rec_preds){.type = (report_type)t};
                    const char *two[] = {needles[j], needles[(j + 7) % nn]};
                    rec_preds_eq(&ps, k->fields[fi].name, two, 2);
                    matched += check_same(f, f->ids[im], &ps, &all);
                    checked += 2;
                }
            }
            rec_batch_free(&all);
        }
    }
    /* enough of both outcomes that an always-true or always-false C side fails */
    assert_true(checked > 2000);
    assert_true(matched > 1000);
}

/* Conditions together, "none", and the pages of an unfiltered read. */
static void test_conditions_combined(void **state)
{
    fx *f = *state;
    for (size_t im = 0; im < f->n_ids; im++) {
        rec_batch all;
        rec_preds ps = {.type = REPORT_VULNERABILITY};
        read_recs(f, f->ids[im], &ps, 0, -1, &all);
        static const char *const HIGH[] = {"critical", "high"};
        rec_preds_eq(&ps, "severity", HIGH, 2);
        rec_preds_substr(&ps, "vul_id", "-");
        rec_preds_substr(&ps, "app_name", "");
        check_same(f, f->ids[im], &ps, &all);
        ps.none = true;
        assert_int_equal(check_same(f, f->ids[im], &ps, &all), 0);
        if (all.n >= 3) { /* unfiltered pages start at seq = from */
            rec_batch page;
            rec_preds plain = {.type = REPORT_VULNERABILITY};
            assert_int_equal(read_recs(f, f->ids[im], &plain, 1, 2, &page), (int64_t)all.n);
            assert_int_equal(page.n, 2);
            assert_int_equal(seq_at(&page, 0), 1);
            assert_int_equal(seq_at(&page, 1), 2);
            rec_batch_free(&page);
        }
        rec_batch_free(&all);
    }
}

/* SQLite's instr() meaning, byte by byte, without a store. */
static void test_substr_bytes(void **state)
{
    (void)state;
    rec_preds ps = {.type = REPORT_APPS};
    rec_preds_substr(&ps, "app_name", "");
    const rec_pred *p = &ps.p[0];
    store_cell x = {.kind = CELL_STRING, .s = "\xc3\xa9\x80x", .len = 4};
    assert_true(rec_pred_match(p, &x)); /* an empty needle: any text */
    store_cell null = {.kind = CELL_NULL};
    assert_false(rec_pred_match(p, &null));
    struct {
        const char *hay;
        size_t len;
        const char *needle;
        bool match;
    } C[] = {
        {"\xc3\xa9\x80x", 4, "\x80x", false}, /* only inside a character */
        {"\xc3\xa9\x80x", 4, "\xa9", false},
        {"\xc3\xa9\x80x", 4, "x", true},
        {"\x80" "abc", 4, "\x80" "a", true}, /* the first byte is always tried */
        {"\x80\x80" "a", 3, "\x80" "a", false},
        {"a\0b", 3, "b", true}, /* past a NUL byte */
        {"ab", 2, "abc", false},
        {"\xc3\xa9\xc3\xa9", 4, "\xc3\xa9", true},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        rec_preds q = {.type = REPORT_APPS};
        rec_preds_substr(&q, "app_name", C[i].needle);
        store_cell h = {.kind = CELL_STRING, .s = C[i].hay, .len = C[i].len};
        if (rec_pred_match(&q.p[0], &h) != C[i].match)
            fail_msg("case %zu", i);
    }
    rec_preds q = {.type = REPORT_APPS};
    static const char *const V[] = {"ab"};
    rec_preds_eq(&q, "app_name", V, 1);
    store_cell nul = {.kind = CELL_STRING, .s = "ab\0", .len = 3};
    assert_false(rec_pred_match(&q.p[0], &nul)); /* lengths differ */
    /* conditions the store refuses: no such field, a number field, no value */
    rec_preds bad = {.type = REPORT_APPS};
    rec_preds_substr(&bad, "no_such_field", "a");
    assert_true(bad.wrong);
    bad = (rec_preds){.type = REPORT_FILES};
    rec_preds_substr(&bad, "size", "1");
    assert_true(bad.wrong);
    bad = (rec_preds){.type = REPORT_FILES};
    rec_preds_eq(&bad, "file_name", V, 0);
    assert_true(bad.wrong);
}

static void test_wrong_condition_refused(void **state)
{
    fx *f = *state;
    rec_preds bad = {.type = REPORT_APPS};
    rec_preds_substr(&bad, "no_such_field", "a");
    int field = 0;
    imgsec_err err = {0};
    rec_batch b = {0};
    assert_int_equal(store_image_records(f->st, f->ids[0], &bad, &field, 1, 0, -1, NULL,
                                         rec_batch_add, &b, &err),
                     IMGSEC_EINTERNAL);
    rec_preds ok = {.type = REPORT_APPS};
    field = 99;
    assert_int_equal(store_image_records(f->st, f->ids[0], &ok, &field, 1, 0, -1, NULL,
                                         rec_batch_add, &b, &err),
                     IMGSEC_EINTERNAL);
    assert_int_equal(b.n, 0);
    rec_batch_free(&b);
}

/* Spans over several images give exactly the records of those seq ranges,
 * in (image, seq) order, cut at each image's end; too many spans fail. */
static void test_spans(void **state)
{
    fx *f = *state;
    const record_kind *k = record_kind_get(REPORT_APPS);
    int fields[FIELDS_MAX];
    for (size_t i = 0; i < k->nfields; i++)
        fields[i] = (int)i;
    rec_batch img[8];
    for (size_t im = 0; im < f->n_ids; im++)
        read_recs(f, f->ids[im], &(rec_preds){.type = REPORT_APPS}, 0, -1, &img[im]);
    /* given out of order: the answer is in (image, seq) order anyway */
    store_span sp[] = {{f->ids[2], 3, 2}, {f->ids[0], 0, 1}, {f->ids[0], 5, 3},
                       {f->ids[4], 2, 100} /* past the end: what there is */};
    rec_batch got = {0};
    imgsec_err err = {0};
    assert_int_equal(store_record_spans(f->st, REPORT_APPS, sp, 4, fields, k->nfields,
                                        rec_batch_add, &got, &err),
                     IMGSEC_OK);
    rec_batch_seal(&got);
    /* the same spans in (image, seq) order, each cut at its image's end */
    const struct {
        size_t im;
        int64_t seq, take;
    } sorted[] = {{0, 0, 1}, {0, 5, 3}, {2, 3, 2}, {4, 2, 100}};
    size_t at = 0;
    for (size_t s = 0; s < 4; s++) {
        const rec_batch *b = &img[sorted[s].im];
        for (int64_t q = sorted[s].seq; q < sorted[s].seq + sorted[s].take && q < (int64_t)b->n;
             q++, at++) {
            assert_true(at < got.n);
            const store_cell *g = rec_at(&got, at), *w = rec_at(b, (size_t)q);
            for (size_t c = 0; c < got.width; c++)
                assert_int_equal(store_cell_cmp(&g[c], &w[c]), 0);
        }
    }
    assert_int_equal(got.n, at);
    assert_true(at >= 4); /* something of each kind was read */
    rec_batch_free(&got);
    /* as many spans as may be, one record each: the first half seq q of
     * image q % n, the second seq q of image (q + 1) % n (q < half), so
     * both ends of the list ask for records there are; the answer is,
     * image by image (ids ascending), the records of those seqs that the
     * image has */
    store_span many[STORE_SPANS_MAX + 1] = {{0}};
    size_t want = 0, half = STORE_SPANS_MAX / 2, in_half[2] = {0, 0};
    for (size_t s = 0; s < STORE_SPANS_MAX; s++) {
        size_t q = s % half, im = (q + s / half) % f->n_ids;
        many[s] = (store_span){f->ids[im], (int64_t)q, 1};
        in_half[s / half] += q < img[im].n;
    }
    want = in_half[0] + in_half[1];
    assert_true(in_half[0] > 0 && in_half[1] > 0);
    got = (rec_batch){0};
    assert_int_equal(store_record_spans(f->st, REPORT_APPS, many, STORE_SPANS_MAX, fields,
                                        k->nfields, rec_batch_add, &got, &err),
                     IMGSEC_OK);
    rec_batch_seal(&got);
    assert_int_equal(got.n, want);
    size_t r = 0;
    for (size_t im = 0; im < f->n_ids; im++) {
        assert_true(im == 0 || f->ids[im - 1] < f->ids[im]);
        for (size_t q = 0; q < half && q < img[im].n; q++) {
            if (q % f->n_ids != im && (q + 1) % f->n_ids != im)
                continue;
            const store_cell *g = rec_at(&got, r++), *w = rec_at(&img[im], q);
            for (size_t c = 0; c < got.width; c++)
                assert_int_equal(store_cell_cmp(&g[c], &w[c]), 0);
        }
    }
    assert_int_equal(r, want);
    rec_batch_free(&got);
    memset(many, 0, sizeof many);
    assert_int_equal(store_record_spans(f->st, REPORT_APPS, many, STORE_SPANS_MAX + 1, fields, 1,
                                        rec_batch_add, &got, &err),
                     IMGSEC_EINTERNAL);
    for (size_t im = 0; im < f->n_ids; im++)
        rec_batch_free(&img[im]);
}

/* The records of several images passing a condition (named out of order
 * and one twice) are, image by image in id order, each image's own
 * passing records, once. */
static void test_images_records(void **state)
{
    fx *f = *state;
    assert_true(f->n_ids >= 4);
    const record_kind *k = record_kind_get(REPORT_APPS);
    int fields[FIELDS_MAX];
    for (size_t i = 0; i < k->nfields; i++)
        fields[i] = (int)i;
    rec_preds ps = {.type = REPORT_APPS};
    rec_preds_substr(&ps, "app_name", "a");
    const int64_t named[] = {f->ids[3], f->ids[0], f->ids[3], f->ids[1]};
    const size_t order[] = {0, 1, 3};
    rec_batch got = {0}, want[3];
    imgsec_err err = {0};
    assert_int_equal(store_images_records(f->st, &ps, named, 4, fields, k->nfields, rec_batch_add,
                                          &got, &err),
                     IMGSEC_OK);
    rec_batch_seal(&got);
    size_t r = 0, all = 0;
    for (size_t j = 0; j < 3; j++) {
        rec_batch every;
        all += (size_t)read_recs(f, f->ids[order[j]], &(rec_preds){.type = REPORT_APPS}, 0, -1,
                                 &every);
        rec_batch_free(&every);
        read_recs(f, f->ids[order[j]], &ps, 0, -1, &want[j]);
        for (size_t i = 0; i < want[j].n; i++, r++) {
            assert_true(r < got.n);
            const store_cell *g = rec_at(&got, r), *w = rec_at(&want[j], i);
            for (size_t c = 0; c < got.width; c++)
                assert_int_equal(store_cell_cmp(&g[c], &w[c]), 0);
        }
        rec_batch_free(&want[j]);
    }
    assert_int_equal(got.n, r);
    assert_true(r > 0 && r < all); /* the condition kept some and not all */
    rec_batch_free(&got);
}

/* ListImageApps' vul_num: per app, the image's vulnerability records
 * with its name and version (none matching none) */
static void test_app_vul_nums(void **state)
{
    fx *f = *state;
    int64_t id = f->ids[f->n_ids - 1]; /* the non-ASCII image */
    store_app_ref apps[] = {
        {id, "caf\xc3\xa9", "1", NULL, 5, 1, 0},  /* one record */
        {id, "caf\xc3\xa9", NULL, NULL, 5, 0, 0}, /* that record has a version */
        {id, "\xc3\xa9\xc3\xa9", NULL, NULL, 4, 0, 0}, /* one record without a version */
        {id, "caf", "1", NULL, 3, 1, 0},          /* whole names only */
    };
    int64_t out[4] = {-1, -1, -1, -1};
    imgsec_err err = {0};
    assert_int_equal(store_app_counts(f->st, STORE_APP_VULS, apps, 4, out, &err), IMGSEC_OK);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 1);
    assert_int_equal(out[3], 0);
}

/* list_params over "k=v&k=v" (no escapes) */
static const char *get_param(void *ctx, const char *name)
{
    static char bufs[8][256];
    static unsigned next;
    char *buf = bufs[next++ % 8];
    size_t n = strlen(name);
    for (const char *q = ctx; q && *q;) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        if ((size_t)(end - q) > n && strncmp(q, name, n) == 0 && q[n] == '=') {
            snprintf(buf, sizeof bufs[0], "%.*s", (int)(end - q - (ptrdiff_t)n - 1), q + n + 1);
            return buf;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* the answer of list k on the non-ASCII image, compact, without its
 * total when items is true (then only the items) */
static char *run_list(fx *f, list_kind k, const char *arg, const char *query)
{
    const index_scope scope = {"P1", true, NULL, 0};
    list_params p = {get_param, (void *)query};
    json_t *o = NULL;
    imgsec_err err = {0};
    if (list_run(f->st, k, &scope, arg, &p, &o, &err) != IMGSEC_OK)
        fail_msg("%s: %s", query, err.msg);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static void expect_list(fx *f, list_kind k, const char *arg, const char *query, const char *want)
{
    char *got = run_list(f, k, arg, query);
    if (strcmp(got, want) != 0)
        fail_msg("%s?%s\n got: %s\nwant: %s", list_def_get(k)->operation, query, got, want);
    free(got);
}

/* The lists moved onto the record API, exactly: ListImageRiskConfigs'
 * groups (merged and ordered in C: bytewise, a check without a standard
 * first on both engines; the highest rank and check_type), each of its
 * filters and a page; ListImageApps' vul_num; a severity set. */
static void test_image_lists_exact(void **state)
{
    fx *f = *state;
    char q[256], id[24];
    snprintf(id, sizeof id, "%lld", (long long)f->ids[f->n_ids - 1]);
    const char *rc = "image_type=harbor&image_id=";
    static const char A[] = "{\"severity\":\"High\",\"check_name\":\"a-check\","
                            "\"check_type\":\"y\","
                            "\"standard\":\"cn_standard\",\"check_rule_num\":2,\"failed_rule_num\":2}";
    static const char E0[] = "{\"severity\":\"High\",\"check_name\":\"\\u00E9-check\","
                             "\"check_rule_num\":1,\"failed_rule_num\":1}";
    static const char E1[] = "{\"severity\":\"Low\",\"check_name\":\"\\u00E9-check\","
                             "\"standard\":\"hw_standard\",\"check_rule_num\":1,\"failed_rule_num\":1}";
    static const char M[] = "{\"severity\":\"Medium\",\"check_name\":\"m-check\","
                            "\"check_rule_num\":1,\"failed_rule_num\":1}";
    char want[1024];
    snprintf(q, sizeof q, "%s%s", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":4,\"data_list\":[%s,%s,%s,%s]}", A, M, E0, E1);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&severity=High", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":2,\"data_list\":[%s,%s]}", A, E0);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&severity=Low", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":1,\"data_list\":[%s]}", E1);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&severity=Medium", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":1,\"data_list\":[%s]}", M);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&severity=Security", rc, id);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, "{\"total_num\":0,\"data_list\":[]}");
    snprintf(q, sizeof q, "%s%s&standard=hw_standard", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":1,\"data_list\":[%s]}", E1);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&check_name=a-check", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":1,\"data_list\":[%s]}", A);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    snprintf(q, sizeof q, "%s%s&offset=2&limit=10", rc, id);
    snprintf(want, sizeof want, "{\"total_num\":4,\"data_list\":[%s,%s]}", E0, E1);
    expect_list(f, LIST_IMAGE_RISK_CONFIGS, NULL, q, want);
    /* its rules: the severity word High is the record severity high */
    snprintf(q, sizeof q, "%s%s&standard=cn_standard&severity=High", rc, id);
    char *got = run_list(f, LIST_IMAGE_RISK_CONFIG_RULES, "a-check", q);
    assert_non_null(strstr(got, "\"total_num\":1,"));
    assert_non_null(strstr(got, "\"check_rule_id\":\"r3\""));
    free(got);
    /* ListImageApps: vul_num per app, counted after the page is read */
    expect_list(f, LIST_IMAGE_APPS, id, "image_type=harbor",
                "{\"total_num\":5,\"data_list\":["
                "{\"app_name\":\"caf\\u00E9\",\"app_version\":\"1\",\"vul_num\":1},"
                "{\"app_name\":\"\\u4E2D\\u6587\",\"vul_num\":0},"
                "{\"app_name\":\"a\\u00E9\",\"vul_num\":0},"
                "{\"app_name\":\"\\u00E9\",\"vul_num\":0},"
                "{\"app_name\":\"\\u00E9\",\"vul_num\":0}]}");
    expect_list(f, LIST_IMAGE_APPS, id, "image_type=harbor&app_name=\xc3\xa9&offset=1",
                "{\"total_num\":4,\"data_list\":["
                "{\"app_name\":\"a\\u00E9\",\"vul_num\":0},"
                "{\"app_name\":\"\\u00E9\",\"vul_num\":0},"
                "{\"app_name\":\"\\u00E9\",\"vul_num\":0}]}");
    /* ListGlobalImageApps: its last page is this image's apps (the last
     * image), with their image's columns, vul_num and is_compliant (the
     * non-compliant record names the app without a path) */
    got = run_list(f, LIST_GLOBAL_APPS, NULL, "image_type=harbor&limit=10");
    json_t *o = json_loads(got, 0, NULL);
    assert_non_null(o);
    long long total = json_integer_value(json_object_get(o, "total_num"));
    json_decref(o);
    free(got);
    snprintf(q, sizeof q, "image_type=harbor&limit=10&offset=%lld", total - 5);
    static const char G[] = "{\"image_type\":\"harbor\",\"namespace\":\"\","
                            "\"image_name\":\"\\u00E9t\\u00E9\",\"image_version\":\"1\","
                            "\"image_id\":\"\",";
    char gwant[2048];
    snprintf(gwant, sizeof gwant,
             "{\"total_num\":%lld,\"data_list\":["
             "%s\"app_name\":\"caf\\u00E9\",\"app_version\":\"1\",\"vul_num\":1,"
             "\"is_compliant\":true,\"latest_scan_time\":0},"
             "%s\"app_name\":\"\\u4E2D\\u6587\",\"vul_num\":0,\"is_compliant\":true,"
             "\"latest_scan_time\":0},"
             "%s\"app_name\":\"a\\u00E9\",\"vul_num\":0,\"is_compliant\":true,"
             "\"latest_scan_time\":0},"
             "%s\"app_name\":\"\\u00E9\",\"vul_num\":0,\"app_path\":\"/p\","
             "\"is_compliant\":true,\"latest_scan_time\":0},"
             "%s\"app_name\":\"\\u00E9\",\"vul_num\":0,\"is_compliant\":false,"
             "\"latest_scan_time\":0}]}",
             total, G, G, G, G, G);
    expect_list(f, LIST_GLOBAL_APPS, NULL, q, gwant);
    /* ListImageBuildCommandRisks: a rule's description is its first one
     * that is there (the first record has none) */
    got = run_list(f, LIST_BUILD_RISKS, NULL, "image_type=harbor&risk_name=zz-name");
    assert_non_null(strstr(got, "\"total_num\":1,"));
    assert_non_null(strstr(got, "\"rule_id\":\"zz-rule\",\"risk_name\":\"zz-name\","
                                "\"risk_level\":\"high\",\"description\":\"d2\""));
    free(got);
    /* ListImageBuildCommandRisksImages: the rule's records in the image */
    got = run_list(f, LIST_BUILD_RISK_IMAGES, NULL, "image_type=harbor&rule_id=zz-rule");
    assert_non_null(strstr(got, "\"risk_num\":2,\"risk_list\":[{\"remediation\":\"r1\","
                                "\"build_instruction\":\"RUN a\"},"
                                "{\"build_instruction\":\"RUN b\"}]"));
    free(got);
    /* ListImageVulnerabilities: not_needed_repair is low and unknown */
    got = run_list(f, LIST_IMAGE_VULS, id, "image_type=harbor&repair_necessity=not_needed_repair");
    assert_non_null(strstr(got, "\"total_num\":1,"));
    assert_non_null(strstr(got, "\"vul_id\":\"CVE-2024-1\""));
    free(got);
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    use_pg = pg == 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substr_bytes),
        cmocka_unit_test_setup_teardown(test_conditions_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditions_combined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_condition_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_vul_nums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_lists_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images_records, setup, teardown),
    };
    return cmocka_run_group_tests_name(use_pg ? "records on PostgreSQL" : "records", tests, NULL,
                                       NULL);
}
