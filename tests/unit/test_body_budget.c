/* test_body_budget.c - the budget of bytes held for requests not yet
 * authenticated (src/server/body_budget.c), and the failed-login
 * reservations of the limiter (src/server/ratelimit.c), with exact
 * numbers. Budget: takes within both bounds succeed, the per-address bound
 * says BODY_BUDGET_ADDRESS and the total BODY_BUDGET_TOTAL and neither
 * takes anything, giving back restores both to the byte, IPv4 and IPv6
 * addresses and "no address" are separate buckets, and 1,024 addresses
 * each holding a byte are all kept (none evicted) and all given back.
 * Limiter: reservations count as failures at once, the limit refuses the
 * next with a Retry-After, a refund gives one back, and a refund from a
 * window that has ended changes nothing. The modules' own sources are
 * compiled into this test (tests/CMakeLists.txt). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "body_budget.h"
#include "ratelimit.h"

static struct sockaddr_in v4(uint32_t host_order)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(host_order);
    return a;
}

#define SA(a) ((const struct sockaddr *)&(a))

static void test_bounds_exact(void **state)
{
    (void)state;
    body_budget *b = body_budget_new(1000, 600);
    assert_non_null(b);
    struct sockaddr_in x = v4(0x7f000001), y = v4(0x7f000002), z = v4(0x7f000003);
    assert_int_equal(body_budget_take(b, SA(x), 600), BODY_BUDGET_OK);  /* x: its whole share */
    assert_int_equal(body_budget_take(b, SA(x), 1), BODY_BUDGET_ADDRESS);
    assert_int_equal(body_budget_take(b, SA(y), 400), BODY_BUDGET_OK);  /* the whole total */
    assert_int_equal(body_budget_take(b, SA(z), 1), BODY_BUDGET_TOTAL);
    assert_int_equal(body_budget_held(b), 1000);
    body_budget_give(b, SA(x), 600);
    assert_int_equal(body_budget_held(b), 400);
    assert_int_equal(body_budget_take(b, SA(z), 600), BODY_BUDGET_OK);
    assert_int_equal(body_budget_take(b, SA(y), 1), BODY_BUDGET_TOTAL);
    /* giving back more than held clamps, and touches no one else */
    body_budget_give(b, SA(y), 5000);
    assert_int_equal(body_budget_held(b), 600);
    body_budget_give(b, SA(x), 10); /* x holds nothing */
    assert_int_equal(body_budget_held(b), 600);
    body_budget_give(b, SA(z), 600);
    assert_int_equal(body_budget_held(b), 0);
    assert_int_equal(body_budget_take(b, SA(x), 0), BODY_BUDGET_OK);
    assert_int_equal(body_budget_held(b), 0);
    body_budget_free(b);
}

static void test_families_are_separate(void **state)
{
    (void)state;
    body_budget *b = body_budget_new(100, 10);
    struct sockaddr_in a4 = v4(0x0a000001);
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr), 1);
    assert_int_equal(body_budget_take(b, SA(a4), 10), BODY_BUDGET_OK);
    assert_int_equal(body_budget_take(b, SA(a6), 10), BODY_BUDGET_OK);
    assert_int_equal(body_budget_take(b, NULL, 10), BODY_BUDGET_OK);
    assert_int_equal(body_budget_take(b, NULL, 1), BODY_BUDGET_ADDRESS);
    assert_int_equal(body_budget_take(b, SA(a6), 1), BODY_BUDGET_ADDRESS);
    assert_int_equal(body_budget_held(b), 30);
    body_budget_give(b, SA(a4), 10);
    body_budget_give(b, SA(a6), 10);
    body_budget_give(b, NULL, 10);
    assert_int_equal(body_budget_held(b), 0);
    body_budget_free(b);
}

/* An address that holds bytes keeps its slot however many others come. */
static void test_holders_never_evicted(void **state)
{
    (void)state;
    enum { N = 1024 }; /* as many as there can be connections */
    body_budget *b = body_budget_new(N * 2 + 1, 2); /* the total never the one to say no */
    for (uint32_t i = 0; i < N; i++) {
        struct sockaddr_in a = v4(0x0a000000 + i);
        assert_int_equal(body_budget_take(b, SA(a), 1), BODY_BUDGET_OK);
    }
    for (uint32_t i = 0; i < N; i++) { /* each still holds its byte: one more fills it */
        struct sockaddr_in a = v4(0x0a000000 + i);
        assert_int_equal(body_budget_take(b, SA(a), 1), BODY_BUDGET_OK);
        assert_int_equal(body_budget_take(b, SA(a), 1), BODY_BUDGET_ADDRESS);
    }
    assert_int_equal(body_budget_held(b), 2 * N);
    for (uint32_t i = 0; i < N; i++) {
        struct sockaddr_in a = v4(0x0a000000 + i);
        body_budget_give(b, SA(a), 2);
    }
    assert_int_equal(body_budget_held(b), 0);
    body_budget_free(b);
}

static void test_login_reservations(void **state)
{
    (void)state;
    ratelimit *rl = ratelimit_new(3, 60000);
    struct sockaddr_in a = v4(0x7f000001);
    int64_t t[4];
    unsigned retry = 0;
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_reserve(rl, SA(a), 1000 + i, &t[i], &retry));
    assert_false(ratelimit_reserve(rl, SA(a), 2000, &t[3], &retry));
    assert_int_equal(retry, 59); /* the window began at 1000: 59 s left at 2000 */
    assert_true(ratelimit_blocked(rl, SA(a), 2000, &retry));
    /* a success gives its attempt back: one more may be reserved, not two */
    ratelimit_refund(rl, SA(a), t[0]);
    assert_false(ratelimit_blocked(rl, SA(a), 2000, &retry));
    assert_true(ratelimit_reserve(rl, SA(a), 2000, &t[3], &retry));
    assert_false(ratelimit_reserve(rl, SA(a), 2000, &t[0], &retry));
    /* a new window: a refund from the old one changes nothing */
    assert_true(ratelimit_reserve(rl, SA(a), 70000, &t[0], &retry));
    ratelimit_refund(rl, SA(a), t[1]);
    assert_true(ratelimit_reserve(rl, SA(a), 70001, &t[1], &retry));
    assert_true(ratelimit_reserve(rl, SA(a), 70002, &t[2], &retry));
    assert_false(ratelimit_reserve(rl, SA(a), 70003, &t[3], &retry));
    /* failures counted at the reply and reservations share the count */
    struct sockaddr_in b = v4(0x7f000002);
    ratelimit_fail(rl, SA(b), 1000);
    ratelimit_fail(rl, SA(b), 1000);
    assert_true(ratelimit_reserve(rl, SA(b), 1000, &t[0], &retry));
    assert_false(ratelimit_reserve(rl, SA(b), 1000, &t[1], &retry));
    ratelimit_free(rl);
    /* the limiter off: every reservation succeeds, refunds do nothing */
    rl = ratelimit_new(0, 60000);
    for (int i = 0; i < 10; i++)
        assert_true(ratelimit_reserve(rl, SA(a), 1000, &t[0], &retry));
    ratelimit_refund(rl, SA(a), t[0]);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_exact),
        cmocka_unit_test(test_families_are_separate),
        cmocka_unit_test(test_holders_never_evicted),
        cmocka_unit_test(test_login_reservations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
