/* test_err.c - the error table (imgsec/err.h): every code's name, HTTP
 * status and error_code as errors.md and docs/api.md list them, and what a
 * code outside the table answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "imgsec/err.h"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        imgsec_code code;
        const char *name;
        unsigned status;
        const char *error_code;
        bool public_msg;
    } WANT[] = {
        {IMGSEC_EINVAL, "EINVAL", 400, "HSS.0001", false},
        {IMGSEC_EPARSE, "EPARSE", 400, "HSS.0002", false},
        {IMGSEC_EAUTH, "EAUTH", 401, "APIGW.0301", false},
        {IMGSEC_EPROJECT, "EPROJECT", 403, "HSS.0010", false},
        {IMGSEC_EFORBIDDEN, "EFORBIDDEN", 403, "HSS.0013", false},
        {IMGSEC_ENOTFOUND, "ENOTFOUND", 404, "HSS.0011", false},
        {IMGSEC_ETOOLARGE, "ETOOLARGE", 413, "HSS.0001", false},
        {IMGSEC_ECONFLICT, "ECONFLICT", 409, "HSS.0001", false},
        {IMGSEC_ENOSPACE, "ENOSPACE", 507, "HSS.0041", true},
        {IMGSEC_EUNAVAILABLE, "EUNAVAILABLE", 503, "HSS.0041", true},
        {IMGSEC_EINTERNAL, "EINTERNAL", 500, "HSS.0041", true},
    };
    for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++) {
        const err_info *e = err_code_info(WANT[i].code);
        assert_string_equal(err_code_name(WANT[i].code), WANT[i].name);
        assert_string_equal(e->name, WANT[i].name);
        assert_int_equal(e->http_status, WANT[i].status);
        assert_string_equal(e->error_code, WANT[i].error_code);
        assert_int_equal(e->public_msg != NULL, WANT[i].public_msg);
    }
    assert_string_equal(err_code_info(IMGSEC_ENOSPACE)->public_msg,
                        "storage is full: the server cannot store data until its operator frees "
                        "disk space");
    assert_string_equal(err_code_info(IMGSEC_EUNAVAILABLE)->public_msg,
                        "the database is unreachable: the server reconnects by itself; retry later");
    assert_string_equal(err_code_info(IMGSEC_EINTERNAL)->public_msg, "internal error");
    /* OK is no error, and a code outside the table is an internal one */
    assert_string_equal(err_code_name(IMGSEC_OK), "OK");
    assert_int_equal(err_code_info(IMGSEC_OK)->http_status, 500);
    assert_string_equal(err_code_name((imgsec_code)999), "UNKNOWN");
    assert_int_equal(err_code_info((imgsec_code)999)->http_status, 500);
}

static void test_set_clear(void **state)
{
    (void)state;
    imgsec_err err;
    assert_int_equal(err_set(&err, IMGSEC_ENOSPACE, "disk %s", "full"), IMGSEC_ENOSPACE);
    assert_int_equal(err.code, IMGSEC_ENOSPACE);
    assert_string_equal(err.msg, "disk full");
    err_clear(&err);
    assert_int_equal(err.code, IMGSEC_OK);
    assert_string_equal(err.msg, "");
    assert_int_equal(err_set(NULL, IMGSEC_EINVAL, "x"), IMGSEC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_set_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
