/* test_sign.c - SDK-HMAC-SHA256 (sign.c, auth.md).
 *
 * The expected signatures were made by the official Node SDK's own signer
 * (@huaweicloud/huaweicloud-sdk-core 3.1.211, AKSKSigner.sign) for the
 * requests below, with the AK/SK shown; the server must arrive at the
 * same bytes from the request as it travels on the wire. Then the parser
 * of the Authorization header, at and past each of its bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imgsec/sign.h"

#define SK "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
#define DATE "20261128T201500Z"

typedef struct {
    const char *names[8];
    const char *values[8];
} hdrs;

static const char *lookup(void *arg, const char *name)
{
    hdrs *h = arg;
    for (int i = 0; i < 8 && h->names[i]; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

static void verify_vector(const char *method, const char *target, hdrs *h, const char *body,
                          bool unsigned_payload, const char *auth, bool want)
{
    sign_auth a;
    imgsec_err err = {0};
    assert_int_equal(sign_parse_authorization(auth, strlen(auth), &a, &err), IMGSEC_OK);
    sign_request r = {.method = method, .raw_target = target, .header = lookup, .header_arg = h,
                      .body = (const unsigned char *)body, .body_len = body ? strlen(body) : 0,
                      .unsigned_payload = unsigned_payload};
    char sig[SIGN_SIGNATURE_HEX + 1];
    assert_int_equal(sign_compute(&r, &a, DATE, SK, strlen(SK), sig, &err), IMGSEC_OK);
    if (want)
        assert_string_equal(sig, a.signature);
    assert_int_equal(sign_verify(&r, &a, DATE, SK, strlen(SK)), want);
}

static void test_sdk_vector_post_json(void **state)
{
    (void)state;
    hdrs h = {{"content-type", "host", "x-project-id", "x-sdk-date"},
              {"application/json", "127.0.0.1:8080", "P1", DATE}};
    const char *auth = "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
                       "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
                       "Signature=a4a2c3d813cbfe50b5a6b3714d25bdbdca3c264cc9fcfa6bf0fd84684249fc51";
    const char *target = "/v5/P1/image/security-report/statistic"
                         "?security_report_type=vulnerability&enterprise_project_id=0";
    verify_vector("POST", target, &h, "{\"operate_all\":true}", false, auth, true);
    /* one byte of body, query, path, method or a signed header changed: no */
    verify_vector("POST", target, &h, "{\"operate_all\":false}", false, auth, false);
    verify_vector("POST", "/v5/P1/image/security-report/statistic?security_report_type=malwares"
                  "&enterprise_project_id=0", &h, "{\"operate_all\":true}", false, auth, false);
    verify_vector("POST", "/v5/P2/image/security-report/statistic"
                  "?security_report_type=vulnerability&enterprise_project_id=0",
                  &h, "{\"operate_all\":true}", false, auth, false);
    verify_vector("PUT", target, &h, "{\"operate_all\":true}", false, auth, false);
    h.values[2] = "P2";
    verify_vector("POST", target, &h, "{\"operate_all\":true}", false, auth, false);
}

static void test_sdk_vector_escapes(void **state)
{
    (void)state;
    /* The SDK sent path "/a b/c%2F~x" as "/a%20b/c%2F~x" and encodes each
     * segment again; the query in any order and escaping. */
    hdrs h = {{"host", "x-sdk-date"}, {"h.example", DATE}};
    const char *auth = "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=host;x-sdk-date, "
                       "Signature=f1f42cb98f5e081ae97ff19471944bdb92aa4a06663942b72484802aafc1db13";
    verify_vector("GET", "/a%20b/c%2F~x?b=2&b=1&a=x%20y*%2B%C3%A9", &h, NULL, false, auth, true);
    verify_vector("GET", "/a%20b/c%2F~x?a=x%20y%2a%2b%c3%a9&b=1&b=2", &h, NULL, false, auth, true);
    verify_vector("GET", "/a%20b/c%2F~x?a=x%20y*%2B%C3%A9&b=1", &h, NULL, false, auth, false);
    verify_vector("GET", "/a%20b/c/~x?a=x%20y*%2B%C3%A9&b=1&b=2", &h, NULL, false, auth, false);
}

static void test_sdk_vector_unsigned_payload(void **state)
{
    (void)state;
    hdrs h = {{"content-type", "host", "x-sdk-content-sha256", "x-sdk-date"},
              {"application/x-ndjson", "h.example", "UNSIGNED-PAYLOAD", DATE}};
    const char *auth = "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
                       "SignedHeaders=content-type;host;x-sdk-content-sha256;x-sdk-date, "
                       "Signature=6bda2c72939ce60b53f1c139d88cd37aa7ac2d46d16160a609dc6192c99c2b09";
    verify_vector("POST", "/v5/P1/image/scan-results", &h, "{\"a\":1}\n", true, auth, true);
    verify_vector("POST", "/v5/P1/image/scan-results", &h, "anything else", true, auth, true);
    /* without the UNSIGNED-PAYLOAD flag the body's hash is used: no */
    verify_vector("POST", "/v5/P1/image/scan-results", &h, "{\"a\":1}\n", false, auth, false);
}

static void test_signed_header_missing(void **state)
{
    (void)state;
    hdrs h = {{"host", "x-sdk-date"}, {"h.example", DATE}};
    const char *auth = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date;x-project-id, "
                       "Signature=f1f42cb98f5e081ae97ff19471944bdb92aa4a06663942b72484802aafc1db13";
    sign_auth a;
    imgsec_err err = {0};
    assert_int_equal(sign_parse_authorization(auth, strlen(auth), &a, &err), IMGSEC_OK);
    sign_request r = {.method = "GET", .raw_target = "/x", .header = lookup, .header_arg = &h};
    char *c = sign_canonical_request(&r, &a, &err);
    assert_null(c);
    assert_int_equal(err.code, IMGSEC_EAUTH);
    assert_false(sign_verify(&r, &a, DATE, SK, strlen(SK)));
}

static void test_canonical_request_shape(void **state)
{
    (void)state;
    hdrs h = {{"host", "x-sdk-date"}, {"  h.example \t", DATE}};
    const char *auth = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature="
                       "0000000000000000000000000000000000000000000000000000000000000000";
    sign_auth a;
    imgsec_err err = {0};
    assert_int_equal(sign_parse_authorization(auth, strlen(auth), &a, &err), IMGSEC_OK);
    sign_request r = {.method = "GET", .raw_target = "/v5/p?z=&y&x=1", .header = lookup,
                      .header_arg = &h};
    char *c = sign_canonical_request(&r, &a, &err);
    assert_non_null(c);
    assert_string_equal(c, "GET\n/v5/p/\nx=1&y=&z=\nhost:h.example\nx-sdk-date:" DATE "\n\n"
                           "host;x-sdk-date\n"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(c);
    /* a bad percent escape in the query does not authenticate */
    r.raw_target = "/v5/p?a=%zz";
    assert_null(sign_canonical_request(&r, &a, &err));
    r.raw_target = "/v5/p?a=%4";
    assert_null(sign_canonical_request(&r, &a, &err));
}

static void expect_refused(const char *header, const char *why)
{
    sign_auth a;
    imgsec_err err = {0};
    if (sign_parse_authorization(header, strlen(header), &a, &err) != IMGSEC_EAUTH)
        fail_msg("accepted (%s): %s", why, header);
}

static void test_parse_authorization(void **state)
{
    (void)state;
    const char *sig64 = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789";
    char ok[256];
    snprintf(ok, sizeof ok,
             "SDK-HMAC-SHA256   Access=AK1,SignedHeaders=Host;X-Sdk-Date;X-Project-Id,Signature=%s",
             sig64);
    sign_auth a;
    imgsec_err err = {0};
    assert_int_equal(sign_parse_authorization(ok, strlen(ok), &a, &err), IMGSEC_OK);
    assert_string_equal(a.ak, "AK1");
    assert_int_equal(a.nheaders, 3);
    assert_string_equal(a.headers[2], "x-project-id");
    assert_string_equal(a.signed_headers, "host;x-sdk-date;x-project-id");
    assert_string_equal(a.signature,
                        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");

    expect_refused("", "empty");
    expect_refused("Bearer x", "another scheme");
    expect_refused("SDK-HMAC-SHA256", "no fields");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date", "no signature");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature="
                   "0000000000000000000000000000000000000000000000000000000000000000",
                   "no x-sdk-date");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature="
                   "0000000000000000000000000000000000000000000000000000000000000000",
                   "no host");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=00",
                   "short signature");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature="
                   "000000000000000000000000000000000000000000000000000000000000000g",
                   "not hex");
    expect_refused("SDK-HMAC-SHA256 Access=A-K, SignedHeaders=host;x-sdk-date, Signature="
                   "0000000000000000000000000000000000000000000000000000000000000000",
                   "bad AK character");
    expect_refused("SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=host;x-sdk-date, "
                   "Signature=0000000000000000000000000000000000000000000000000000000000000000",
                   "repeated field");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x-sdk-date, Signature="
                   "0000000000000000000000000000000000000000000000000000000000000000",
                   "empty header name");
    expect_refused("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x sdk;x-sdk-date, Signature="
                   "0000000000000000000000000000000000000000000000000000000000000000",
                   "space in a name");

    /* bounds: an AK of SIGN_AK_MAX chars is read, one more is refused */
    char buf[SIGN_AUTH_HEADER_MAX + 64];
    char ak[SIGN_AK_MAX + 2];
    memset(ak, 'A', SIGN_AK_MAX + 1);
    ak[SIGN_AK_MAX] = '\0';
    snprintf(buf, sizeof buf, "SDK-HMAC-SHA256 Access=%s, SignedHeaders=host;x-sdk-date, "
             "Signature=%s", ak, sig64);
    assert_int_equal(sign_parse_authorization(buf, strlen(buf), &a, &err), IMGSEC_OK);
    ak[SIGN_AK_MAX] = 'A';
    ak[SIGN_AK_MAX + 1] = '\0';
    snprintf(buf, sizeof buf, "SDK-HMAC-SHA256 Access=%s, SignedHeaders=host;x-sdk-date, "
             "Signature=%s", ak, sig64);
    expect_refused(buf, "AK too long");
    /* more signed headers than SIGN_MAX_SIGNED_HEADERS */
    char list[SIGN_MAX_SIGNED_HEADERS * 8 + 32] = "host;x-sdk-date";
    for (int i = 0; i < SIGN_MAX_SIGNED_HEADERS - 1; i++)
        strcat(list, ";h");
    snprintf(buf, sizeof buf, "SDK-HMAC-SHA256 Access=AK, SignedHeaders=%s, Signature=%s", list,
             sig64);
    expect_refused(buf, "too many signed headers");
    /* the whole header longer than SIGN_AUTH_HEADER_MAX */
    memset(buf, ' ', sizeof buf);
    memcpy(buf, ok, strlen(ok));
    buf[SIGN_AUTH_HEADER_MAX + 1] = '\0';
    expect_refused(buf, "header too long");
}

static void test_parse_date(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(sign_parse_date("20261128T201500Z", &ms));
    assert_int_equal(ms, 1795896900000LL);
    assert_true(sign_parse_date("19700101T000000Z", &ms));
    assert_int_equal(ms, 0);
    assert_false(sign_parse_date("2026-11-28T20:15:00Z", &ms));
    assert_false(sign_parse_date("20261128T201500", &ms));
    assert_false(sign_parse_date("20261328T201500Z", &ms));
    assert_false(sign_parse_date("20261128T251500Z", &ms));
    assert_false(sign_parse_date("2026112xT201500Z", &ms));
    assert_false(sign_parse_date(NULL, &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_vector_post_json),
        cmocka_unit_test(test_sdk_vector_escapes),
        cmocka_unit_test(test_sdk_vector_unsigned_payload),
        cmocka_unit_test(test_signed_header_missing),
        cmocka_unit_test(test_canonical_request_shape),
        cmocka_unit_test(test_parse_authorization),
        cmocka_unit_test(test_parse_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
