/* test_access_log.c - the batched request-line writer
 * (src/server/access_log.c).
 *
 * The access log is the record of who asked what; its contract is that
 * lines are never dropped nor cut, reach the file within
 * ACCESS_LOG_FLUSH_MS without waiting for close, and that a bad path is
 * refused at start-up. What is checked: lines written to a file come out
 * whole and in order after close, appended to what the file held, in a
 * file created 0640; a line shows up by itself (polled for up to 2 s, so
 * a loaded machine does not fail the test but a writer that only flushes
 * on close does); 20,000 lines from two threads (some 2 MB, eight times
 * the buffer) all arrive exactly once and intact; a line longer than the
 * buffer is written by the caller, whole; the stderr log (path NULL)
 * writes to fd 2; and a path in a missing directory fails with
 * IMGSEC_EINVAL naming the path. access_log_escape, the one escaping of
 * every logged value, is checked byte for byte: control bytes, C1
 * controls and each kind of malformed UTF-8 become \xNN, well-formed
 * UTF-8 stays, and a short buffer cuts between escapes. The module's own source is compiled into
 * this test (tests/CMakeLists.txt). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "access_log.h"
#include "imgsec/util.h"
#include "unit_tmp.h"

static char DIR_[256];

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(DIR_, sizeof DIR_, "access_log-");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(DIR_);
}

static void path_in_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", DIR_, name);
}

/* The whole file, NUL-terminated; *len its size. */
static char *read_all(const char *path, size_t *len)
{
    char *buf = util_read_file(path, len);
    if (!buf)
        fail_msg("cannot read %s", path);
    return buf;
}

static access_log *open_log(const char *path)
{
    access_log *l = NULL;
    imgsec_err err = {0};
    int rc = access_log_open(path, &l, &err);
    if (rc != IMGSEC_OK)
        fail_msg("access_log_open(%s): %s", path ? path : "NULL", err.msg);
    assert_non_null(l);
    return l;
}

static void test_lines_in_order_after_close(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "order.log");
    /* a file that exists is appended to */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("earlier line\n", f);
    fclose(f);

    access_log *l = open_log(path);
    char expect[16384];
    size_t elen = (size_t)snprintf(expect, sizeof expect, "earlier line\n");
    for (int i = 0; i < 200; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "2024-01-01T00:00:00Z GET /v5/x/%d 200 rid=%04d\n",
                         i, i);
        access_log_write(l, line, (size_t)n);
        memcpy(expect + elen, line, (size_t)n);
        elen += (size_t)n;
    }
    access_log_close(l);
    size_t len;
    char *got = read_all(path, &len);
    assert_int_equal(len, elen);
    assert_memory_equal(got, expect, elen);
    free(got);
}

static void test_file_created_0640(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "mode.log");
    mode_t old = umask(022);
    access_log *l = open_log(path);
    umask(old);
    access_log_write(l, "x\n", 2);
    access_log_close(l);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(st.st_size, 2);

    /* closing a log with nothing written leaves an empty file */
    char empty[300];
    path_in_dir(empty, sizeof empty, "empty.log");
    access_log_close(open_log(empty));
    assert_int_equal(stat(empty, &st), 0);
    assert_int_equal(st.st_size, 0);
    access_log_close(NULL);
}

/* The file once it holds at least want bytes, polled for up to 2 s: a
 * loaded machine gets there late, a writer that only flushes on close
 * never does. */
static char *read_when_written(const char *path, size_t want, size_t *len)
{
    int64_t until = util_mono_ns() + 2000 * (int64_t)1000000;
    for (;;) {
        char *got = read_all(path, len);
        if (*len >= want || util_mono_ns() > until)
            return got;
        free(got);
        usleep(10 * 1000);
    }
}

static void test_line_appears_without_close(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "soon.log");
    access_log *l = open_log(path);
    const char *line = "2024-01-01T00:00:00Z GET /v5/p/image/statistic 200 0.1ms rid=ab\n";
    access_log_write(l, line, strlen(line));
    size_t len = 0;
    char *got = read_when_written(path, strlen(line), &len);
    assert_int_equal(len, strlen(line));
    assert_string_equal(got, line);
    free(got);

    /* and a second one, after the writer went back to sleep */
    const char *line2 = "2024-01-01T00:00:01Z GET /v5/p/image/statistic 200 0.1ms rid=cd\n";
    access_log_write(l, line2, strlen(line2));
    got = read_when_written(path, strlen(line) + strlen(line2), &len);
    assert_int_equal(len, strlen(line) + strlen(line2));
    assert_memory_equal(got + strlen(line), line2, strlen(line2));
    free(got);
    access_log_close(l);
}

/* ---- many lines from two threads ---- */

#define MT_THREADS 2
#define MT_LINES 10000
#define MT_LINE_LEN 100 /* with the newline */

typedef struct {
    access_log *l;
    int id;
} mt_arg;

/* "T<t> S<seq:06> <pad of x to 99 bytes>\n": exactly MT_LINE_LEN bytes */
static void mt_line(char line[MT_LINE_LEN + 1], int t, int seq)
{
    int n = snprintf(line, MT_LINE_LEN + 1, "T%d S%06d ", t, seq);
    memset(line + n, 'a' + (char)((t + seq) % 26), (size_t)(MT_LINE_LEN - 1 - n));
    line[MT_LINE_LEN - 1] = '\n';
    line[MT_LINE_LEN] = '\0';
}

static void *mt_main(void *arg)
{
    mt_arg *a = arg;
    for (int s = 0; s < MT_LINES; s++) {
        char line[MT_LINE_LEN + 1];
        mt_line(line, a->id, s);
        access_log_write(a->l, line, MT_LINE_LEN);
    }
    return NULL;
}

static void test_no_line_lost_under_load(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "load.log");
    access_log *l = open_log(path);
    pthread_t t[MT_THREADS];
    mt_arg args[MT_THREADS];
    for (int i = 0; i < MT_THREADS; i++) {
        args[i] = (mt_arg){.l = l, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, mt_main, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    access_log_close(l);

    size_t len;
    char *got = read_all(path, &len);
    assert_int_equal(len, (size_t)MT_THREADS * MT_LINES * MT_LINE_LEN);
    static unsigned char seen[MT_THREADS][MT_LINES];
    memset(seen, 0, sizeof seen);
    int lines = 0;
    int last[MT_THREADS] = {-1, -1};
    int out_of_order = 0;
    for (const char *p = got; p < got + len;) {
        const char *nl = memchr(p, '\n', (size_t)(got + len - p));
        assert_non_null(nl);
        assert_int_equal(nl - p + 1, MT_LINE_LEN);
        int tid = -1, seq = -1, used = 0;
        assert_int_equal(sscanf(p, "T%d S%6d %n", &tid, &seq, &used), 2);
        assert_true(tid >= 0 && tid < MT_THREADS);
        assert_true(seq >= 0 && seq < MT_LINES);
        char expect[MT_LINE_LEN + 1];
        mt_line(expect, tid, seq);
        assert_memory_equal(p, expect, MT_LINE_LEN);
        assert_int_equal(seen[tid][seq], 0);
        seen[tid][seq] = 1;
        /* order within a thread holds except where a caller wrote its
         * line itself past a full buffer (allowed by access_log.h) */
        out_of_order += seq < last[tid];
        last[tid] = seq;
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, MT_THREADS * MT_LINES);
    for (int i = 0; i < MT_THREADS; i++)
        for (int s = 0; s < MT_LINES; s++)
            assert_int_equal(seen[i][s], 1);
    print_message("lines out of per-thread order (caller wrote them): %d\n", out_of_order);
    free(got);
}

/* A line longer than the buffer cannot be queued: the caller writes it. */
static void test_line_longer_than_buffer(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "long.log");
    access_log *l = open_log(path);
    size_t big_len = (300u << 10) + 1;
    char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len - 1; i++)
        big[i] = (char)('A' + i % 26);
    big[big_len - 1] = '\n';
    access_log_write(l, "before\n", 7);
    access_log_write(l, big, big_len);
    access_log_write(l, "after\n", 6);
    access_log_close(l);

    size_t len;
    char *got = read_all(path, &len);
    assert_int_equal(len, 7 + big_len + 6);
    /* "before" may still wait in the buffer when the long line goes
     * out, so it may come first or second; each line is whole */
    const char *b = strstr(got, "before\n");
    const char *a = strstr(got, "after\n");
    assert_non_null(b);
    assert_non_null(a);
    assert_true(b < a);
    const char *start = b == got ? got + 7 : got;
    assert_memory_equal(start, big, big_len);
    free(got);
    free(big);
}

static void test_stderr_when_no_path(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "stderr.log");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);

    access_log *l = NULL;
    imgsec_err err = {0};
    int rc = access_log_open(NULL, &l, &err);
    if (rc == IMGSEC_OK) {
        access_log_write(l, "to stderr 1\n", 12);
        access_log_write(l, "to stderr 2\n", 12);
        access_log_close(l); /* does not close fd 2 */
    }
    int still_open = fcntl(STDERR_FILENO, F_GETFD) >= 0;
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, IMGSEC_OK);
    assert_true(still_open);

    size_t len;
    char *got = read_all(path, &len);
    assert_string_equal(got, "to stderr 1\nto stderr 2\n");
    free(got);
}

static void test_missing_directory_fails(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "no-such-dir/sub/access.log");
    access_log *l = NULL;
    imgsec_err err = {0};
    assert_int_equal(access_log_open(path, &l, &err), IMGSEC_EINVAL);
    assert_int_equal(err.code, IMGSEC_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err.msg, path));
    /* the reason is given too */
    assert_non_null(strstr(err.msg, "No such file or directory"));
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);

    /* a directory is not a log file either */
    assert_int_equal(access_log_open(DIR_, &l, &err), IMGSEC_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err.msg, DIR_));
}

/* ---- access_log_escape: what any value becomes on a log line ---- */

/* Escapes in (n bytes) into a buffer of out_size and compares with want. */
static void check_escape(const char *in, size_t n, bool field, size_t out_size, const char *want)
{
    char out[256];
    assert_true(out_size <= sizeof out);
    memset(out, 'Z', sizeof out);
    size_t len = access_log_escape(out, out_size, in, n, field);
    if (strcmp(out, want) != 0)
        fail_msg("escape of %zu bytes (field %d, out %zu): want \"%s\", got \"%s\"", n, field,
                 out_size, want, out);
    assert_int_equal(len, strlen(want));
}

#define ESC(lit, field, want) check_escape((lit), sizeof(lit) - 1, (field), 256, (want))

/* server_log: the server's own messages (export workers, ...) are one
 * escaped line each, whatever the formatted values hold. */
static void test_server_log_one_line(void **state)
{
    (void)state;
    char path[300];
    path_in_dir(path, sizeof path, "server.log");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    server_log("export task %s failed: %s", "t1", "no such file\n2026-01-01 forged \x1b[31m\xff");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t len;
    char *got = read_all(path, &len);
    assert_string_equal(got, "imgsecd: export task t1 failed: no such file\\x0a2026-01-01 forged "
                             "\\x1b[31m\\xff\n");
    free(got);
}

static void test_escape_controls_and_bad_utf8(void **state)
{
    (void)state;
    /* a forged second line, terminal escapes, DEL, NUL, tab, CR */
    ESC("/healthz\n2026-01-01T00:00:00Z DELETE /x 200", true,
        "/healthz\\x0a2026-01-01T00:00:00Z\\x20DELETE\\x20/x\\x20200");
    ESC("\x1b[31mred\x1b[0m", false, "\\x1b[31mred\\x1b[0m");
    ESC("a\x7f" "b\0c\td\re", false, "a\\x7fb\\x00c\\x09d\\x0de");
    /* the backslash itself, so "\x0a" sent literally stays apart from a newline */
    ESC("a\\x0a", false, "a\\x5cx0a");
    /* spaces are kept in messages, escaped in fields */
    ESC("a b", false, "a b");
    ESC("a b", true, "a\\x20b");
    /* well-formed UTF-8 is kept: 2, 3 and 4 bytes */
    ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", false, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
    /* C1 controls (U+0085 NEL, U+009B CSI) are escaped, U+00A0 is not */
    ESC("\xc2\x85\xc2\x9b\xc2\xa0", false, "\\xc2\\x85\\xc2\\x9b\xc2\xa0");
    /* invalid: a lone continuation, a bad second byte, overlong '/', a
     * surrogate, above U+10FFFF, a sequence cut at the end, 0xff */
    ESC("\x80", false, "\\x80");
    ESC("\xc3\x28", false, "\\xc3(");
    ESC("\xc0\xaf", false, "\\xc0\\xaf");
    ESC("\xe0\x80\xaf", false, "\\xe0\\x80\\xaf");
    ESC("\xed\xa0\x80", false, "\\xed\\xa0\\x80");
    ESC("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80");
    ESC("ok\xe2\x82", false, "ok\\xe2\\x82");
    ESC("\xff\xfe", true, "\\xff\\xfe");
    ESC("", true, "");
}

/* Too small an output is cut before an escape or a character, never
 * inside one, and always NUL-terminated. */
static void test_escape_cuts_whole(void **state)
{
    (void)state;
    check_escape("ab\ncd", 5, false, 5, "ab");       /* "ab\x0a" needs 6 */
    check_escape("ab\ncd", 5, false, 8, "ab\\x0ac");
    check_escape("a\xe2\x82\xac", 4, false, 4, "a"); /* the euro sign needs 3 more */
    check_escape("a\xe2\x82\xac", 4, false, 5, "a\xe2\x82\xac");
    check_escape("abc", 3, false, 1, "");
    /* the bound always fits */
    char in[64], out[ACCESS_LOG_ESCAPE_MAX(sizeof in)];
    memset(in, '\n', sizeof in);
    assert_int_equal(access_log_escape(out, sizeof out, in, sizeof in, true), 4 * sizeof in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_in_order_after_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_log_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_created_0640, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_appears_without_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_line_lost_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_longer_than_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_when_no_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_fails, setup, teardown),
        cmocka_unit_test(test_escape_controls_and_bad_utf8),
        cmocka_unit_test(test_escape_cuts_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
