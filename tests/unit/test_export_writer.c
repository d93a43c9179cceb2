/* test_export_writer.c - the export file formats (imgsec/export_writer.h):
 * CSV bytes exactly (RFC 4180 quoting, CRLF, the formula guard, number
 * formatting, empty cells), and XLSX read back by openpyxl (sheet
 * splitting, numbers, long strings cut at Excel's limit on a character
 * boundary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/export_writer.h"
#include "imgsec/util.h"
#include "unit_tmp.h"

static char DIR_[512];

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(DIR_, sizeof DIR_, "imgsec-export-");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(DIR_);
}

static store_cell S_(const char *s)
{
    return (store_cell){.kind = CELL_STRING, .s = s, .len = strlen(s)};
}
static store_cell I_(int64_t i)
{
    return (store_cell){.kind = CELL_INT, .i = i};
}
static store_cell D_(double d)
{
    return (store_cell){.kind = CELL_REAL, .d = d};
}
static const store_cell NUL_ = {.kind = CELL_NULL};

static void test_format_names(void **state)
{
    (void)state;
    assert_int_equal(export_format_parse("xlsx"), EXPORT_XLSX);
    assert_int_equal(export_format_parse("csv"), EXPORT_CSV);
    assert_int_equal(export_format_parse("CSV"), -1);
    assert_int_equal(export_format_parse(""), -1);
    assert_int_equal(export_format_parse(NULL), -1);
    assert_string_equal(export_format_name(EXPORT_CSV), "csv");
    assert_string_equal(export_format_mime(EXPORT_CSV), "text/csv; charset=utf-8");
    assert_string_equal(export_format_mime(EXPORT_XLSX),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
}

static void test_csv_bytes(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/t.csv", DIR_);
    static const char *const hdr[] = {"a", "b,c", "d"};
    export_writer *w;
    imgsec_err err = {0};
    assert_int_equal(export_writer_open(EXPORT_CSV, path, "x", hdr, 3, NULL, &w, &err), IMGSEC_OK);
    store_cell rows[][3] = {
        {S_("=SUM(A1)"), S_("+1"), S_("-1")},
        {S_("@x"), S_("a,b"), S_("q\"q")},
        {S_("line\nbreak"), S_("cr\rx"), S_("")},
        {NUL_, I_(-5), D_(8.7)},
        {D_(0.1 + 0.2), I_(42), S_("'quoted first")},
        {S_("=a,b"), S_(" lead"), S_("caf\xc3\xa9")},
        {D_(1e21), D_(-0.5), D_(7.0)},
        /* OWASP: TAB and CR open a formula too; a TAB inside is just text */
        {S_("\t=1+1"), S_("\r=2"), S_("a\tb")},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(export_writer_row(w, rows[i], 3, &err), IMGSEC_OK);
    /* a row of the wrong width is refused */
    assert_int_equal(export_writer_row(w, rows[0], 2, &err), IMGSEC_EINTERNAL);
    assert_int_equal(export_writer_close(w, &err), IMGSEC_OK);
    size_t len;
    char *got = util_read_file(path, &len);
    assert_non_null(got);
    assert_string_equal(got, "a,\"b,c\",d\r\n"
                             "'=SUM(A1),'+1,'-1\r\n"
                             "'@x,\"a,b\",\"q\"\"q\"\r\n"
                             "\"line\nbreak\",\"cr\rx\",\r\n"
                             ",'-5,8.7\r\n"
                             "0.3,42,'quoted first\r\n"
                             "\"'=a,b\", lead,caf\xc3\xa9\r\n"
                             "1e+21,'-0.5,7\r\n"
                             "'\t=1+1,\"'\r=2\",a\tb\r\n");
    free(got);
    /* an existing file is never overwritten */
    assert_int_equal(export_writer_open(EXPORT_CSV, path, "x", hdr, 3, NULL, &w, &err),
                     IMGSEC_EINTERNAL);
    assert_null(w);
    unlink(path);
}

/* read_export.py's JSON of path. */
static json_t *read_back(const char *fmt, const char *path)
{
    char *dir = strdup(__FILE__);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/../api/read_export.py' %s '%s'",
             slash ? dir : ".", fmt, path);
    free(dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_t *j = json_loadf(p, 0, NULL);
    assert_int_equal(pclose(p), 0);
    assert_non_null(j);
    return j;
}

static void test_xlsx_sheets_numbers_long_strings(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/t.xlsx", DIR_);
    static const char *const hdr[] = {"id", "n", "text"};
    export_writer *w;
    imgsec_err err = {0};
    export_writer_options opt = {.rows_per_sheet = 2, .tmpdir = DIR_};
    assert_int_equal(export_writer_open(EXPORT_XLSX, path, "vulnerability", hdr, 3, &opt, &w, &err),
                     IMGSEC_OK);
    /* 40,000 two-byte characters: cut to 32,767 characters */
    size_t nlong = 40000;
    char *lng = malloc(nlong * 2 + 1);
    for (size_t i = 0; i < nlong; i++)
        memcpy(lng + 2 * i, "\xc3\xa9", 2);
    lng[nlong * 2] = '\0';
    store_cell rows[5][3] = {
        {S_("1"), I_(12), S_("=1+1")},
        {S_("2"), D_(8.7), NUL_},
        {S_("3"), NUL_, S_(lng)},
        {S_("4"), I_(0), S_("tab\there")},
        {S_("5"), D_(-1.25), S_("")},
    };
    for (int i = 0; i < 5; i++)
        assert_int_equal(export_writer_row(w, rows[i], 3, &err), IMGSEC_OK);
    assert_int_equal(export_writer_close(w, &err), IMGSEC_OK);
    json_t *j = read_back("xlsx", path);
    const json_t *sheets = json_object_get(j, "sheets");
    assert_int_equal(json_array_size(sheets), 3);
    static const char *const names[] = {"vulnerability", "vulnerability 2", "vulnerability 3"};
    static const int counts[] = {3, 3, 2};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(json_string_value(json_array_get(json_array_get(sheets, (size_t)i), 0)),
                            names[i]);
        assert_int_equal(json_integer_value(json_array_get(json_array_get(sheets, (size_t)i), 1)),
                         counts[i]);
    }
    const json_t *r = json_object_get(j, "rows");
    /* each sheet opens with the header */
    for (size_t at = 0; at < 8; at += 3)
        assert_string_equal(json_string_value(json_array_get(json_array_get(r, at), 1)), "n");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 1), 1)), "12");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 1), 2)), "=1+1");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 2), 1)), "8.7");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 2), 2)), "");
    const char *cut = json_string_value(json_array_get(json_array_get(r, 4), 2));
    assert_int_equal(strlen(cut), (size_t)EXPORT_XLSX_CELL_CHARS * 2);
    assert_memory_equal(cut, lng, strlen(cut));
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 5), 0)), "4");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 5), 2)), "tab\there");
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 7), 1)), "-1.25");
    json_decref(j);
    free(lng);
    unlink(path);
}

/* Text that OOXML must escape (ECMA-376 ST_Xstring) reads back exactly:
 * every part parses as strict XML 1.0 (read_export.py) and openpyxl, with
 * the _xHHHH_ unescaping Excel does, gives the original text. */
static void test_xlsx_escapes(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/esc.xlsx", DIR_);
    static const char *const hdr[] = {"_x0041_ header"};
    static const char *const cells[] = {
        "_x0041_",                        /* would read back as "A" */
        "a_x005F_b",                      /* an escape of '_' itself */
        "x_x00e9__x0041",                 /* lower-case hex; a cut one is plain */
        "_X0041_ _x00G1_ _x004_",         /* not escapes: left alone */
        "a\xef\xbf\xbe" "b\xef\xbf\xbf" "c", /* U+FFFE, U+FFFF: not XML characters */
        "\xef\xbf\xbd ok \xef\xbf\xbc",     /* U+FFFD, U+FFFC: XML characters, raw */
        "ctl\x01\r\x1f<&>",             /* libxlsxwriter's own escapes still apply */
    };
    size_t n = sizeof cells / sizeof cells[0];
    export_writer *w;
    imgsec_err err = {0};
    assert_int_equal(export_writer_open(EXPORT_XLSX, path, "apps", hdr, 1, NULL, &w, &err),
                     IMGSEC_OK);
    for (size_t i = 0; i < n; i++) {
        store_cell c = S_(cells[i]);
        assert_int_equal(export_writer_row(w, &c, 1, &err), IMGSEC_OK);
    }
    assert_int_equal(export_writer_close(w, &err), IMGSEC_OK);
    json_t *j = read_back("xlsx", path);
    const json_t *r = json_object_get(j, "rows");
    assert_int_equal(json_array_size(r), n + 1);
    assert_string_equal(json_string_value(json_array_get(json_array_get(r, 0), 0)), hdr[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(json_array_get(r, i + 1), 0)),
                            cells[i]);
    json_decref(j);
    unlink(path);
}

/* An aborted XLSX leaves no file behind and frees everything (ASan). */
static void test_abort(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/aborted.xlsx", DIR_);
    static const char *const hdr[] = {"a"};
    export_writer *w;
    imgsec_err err = {0};
    assert_int_equal(export_writer_open(EXPORT_XLSX, path, "apps", hdr, 1, NULL, &w, &err), IMGSEC_OK);
    store_cell c = S_("x");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(export_writer_row(w, &c, 1, &err), IMGSEC_OK);
    export_writer_abort(w);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/aborted.csv", DIR_);
    assert_int_equal(export_writer_open(EXPORT_CSV, path, "apps", hdr, 1, NULL, &w, &err), IMGSEC_OK);
    assert_int_equal(export_writer_row(w, &c, 1, &err), IMGSEC_OK);
    export_writer_abort(w);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_csv_bytes),
        cmocka_unit_test(test_xlsx_sheets_numbers_long_strings),
        cmocka_unit_test(test_xlsx_escapes),
        cmocka_unit_test(test_abort),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
