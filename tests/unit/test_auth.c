/* test_auth.c - passwords, tokens and constant-time comparison (auth.c),
 * and the small helpers of util.c they lean on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/auth.h"
#include "imgsec/util.h"

static int setup(void **state)
{
    (void)state;
    return auth_init(NULL) == IMGSEC_OK ? 0 : -1;
}

static void test_password_hash_and_verify(void **state)
{
    (void)state;
    char hash[AUTH_PW_HASH_MAX];
    imgsec_err err;
    assert_int_equal(auth_password_hash("correct horse", hash, sizeof hash, &err), IMGSEC_OK);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_null(strstr(hash, "correct horse")); /* only the hash is kept */
    assert_true(auth_password_verify(hash, "correct horse"));
    assert_false(auth_password_verify(hash, "correct horsf"));
    assert_false(auth_password_verify(hash, ""));
    assert_false(auth_password_verify(NULL, "correct horse")); /* unknown user */

    char again[AUTH_PW_HASH_MAX];
    assert_int_equal(auth_password_hash("correct horse", again, sizeof again, &err), IMGSEC_OK);
    assert_string_not_equal(hash, again); /* salted */
}

static void test_password_limits(void **state)
{
    (void)state;
    char hash[AUTH_PW_HASH_MAX];
    imgsec_err err;
    assert_int_equal(auth_password_hash("", hash, sizeof hash, &err), IMGSEC_EINVAL);
    static char longest[AUTH_PASSWORD_MAX + 2];
    memset(longest, 'p', AUTH_PASSWORD_MAX + 1);
    assert_int_equal(auth_password_hash(longest, hash, sizeof hash, &err), IMGSEC_EINVAL);
    longest[AUTH_PASSWORD_MAX] = '\0';
    assert_int_equal(auth_password_hash(longest, hash, sizeof hash, &err), IMGSEC_OK);
    assert_int_equal(auth_password_hash("x", hash, 16, &err), IMGSEC_EINTERNAL);
}

static void test_tokens(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_CHARS + 1], b[AUTH_TOKEN_CHARS + 1];
    auth_token_new(a);
    auth_token_new(b);
    assert_int_equal(strlen(a), AUTH_TOKEN_CHARS);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < AUTH_TOKEN_CHARS; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));

    /* SHA-256("abc"), FIPS 180-2 test vector. */
    unsigned char h[STORE_TOKEN_HASH_BYTES];
    char hex[2 * STORE_TOKEN_HASH_BYTES + 1];
    auth_token_hash("abc", 3, h);
    util_hex(h, sizeof h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_util(void **state)
{
    (void)state;
    int64_t v;
    assert_true(util_parse_int64("9223372036854775807", &v));
    assert_true(v == INT64_MAX);
    assert_false(util_parse_int64("9223372036854775808", &v));
    assert_false(util_parse_int64("12x", &v));
    assert_false(util_parse_int64("", &v));
    assert_true(util_parse_int64("-5", &v) && v == -5);
    /* the decimal is the whole string: no white space, no '+' (DELETE
     * .../scan-results/+7 or %207 must not name image 7) */
    v = 99;
    assert_false(util_parse_int64(" 7", &v));
    assert_false(util_parse_int64("\t7", &v));
    assert_false(util_parse_int64("\n7", &v));
    assert_false(util_parse_int64("+7", &v));
    assert_false(util_parse_int64("7 ", &v));
    assert_false(util_parse_int64("- 7", &v));
    assert_false(util_parse_int64("-+7", &v));
    assert_false(util_parse_int64("--7", &v));
    assert_false(util_parse_int64("-", &v));
    assert_false(util_parse_int64("0x10", &v));
    assert_false(util_parse_int64("-9223372036854775809", &v));
    assert_false(util_parse_int64(NULL, &v));
    assert_true(v == 99); /* a refusal leaves *out alone */
    assert_true(util_parse_int64("0", &v) && v == 0);
    assert_true(util_parse_int64("-0", &v) && v == 0);
    assert_true(util_parse_int64("007", &v) && v == 7);
    assert_true(util_parse_int64("-9223372036854775808", &v) && v == INT64_MIN);

    char iso[UTIL_ISO_TIME_MAX];
    util_iso_time(1764000000123LL, iso);
    assert_string_equal(iso, "2025-11-24T16:00:00.123000Z");
    util_iso_time(0, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00.000000Z");

    /* util_grow: doubling from 16, and a size that does not fit a
     * size_t refused with the array left as it was */
    int *arr = NULL;
    size_t cap = 0;
    assert_true(util_grow((void **)&arr, &cap, 1, sizeof *arr) && arr && cap == 16);
    arr[15] = 42;
    assert_true(util_grow((void **)&arr, &cap, 16, sizeof *arr) && cap == 16);
    assert_true(util_grow((void **)&arr, &cap, 17, sizeof *arr) && cap == 32 && arr[15] == 42);
    assert_true(util_grow((void **)&arr, &cap, 100, sizeof *arr) && cap == 128);
    int *was = arr;
    assert_false(util_grow((void **)&arr, &cap, SIZE_MAX / 2, sizeof *arr));
    assert_false(util_grow((void **)&arr, &cap, SIZE_MAX, 1 + SIZE_MAX / 2));
    assert_true(arr == was && cap == 128 && arr[15] == 42);
    free(arr);

    char hex[33];
    util_random_hex(hex, 16);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_and_verify), cmocka_unit_test(test_password_limits),
        cmocka_unit_test(test_tokens), cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
