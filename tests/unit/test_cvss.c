/* test_cvss.c - CVSS base scores from vectors, against the scores FIRST's
 * calculator gives for them (v3.1 spec examples and NVD entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vulndb/vulndb_int.h"

static void test_v3_scores(void **state)
{
    (void)state;
    static const struct { const char *v; double score; severity sev; } CASES[] = {
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, SEVERITY_CRITICAL},
        {"CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0, SEVERITY_HIGH},     /* ALPINE-CVE-2025-26519 */
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, SEVERITY_MEDIUM},   /* typical XSS */
        {"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, SEVERITY_CRITICAL},
        {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, SEVERITY_MEDIUM},
        {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5, SEVERITY_MEDIUM},
        {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, SEVERITY_LOW},
        {"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1, SEVERITY_CRITICAL},
        {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0, SEVERITY_UNKNOWN},
        /* temporal metrics are ignored */
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C", 9.8, SEVERITY_CRITICAL},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        double s = -1;
        assert_int_equal(cvss3_score(CASES[i].v, &s), 0);
        if (s < CASES[i].score - 1e-9 || s > CASES[i].score + 1e-9)
            fail_msg("%s: %.1f, expected %.1f", CASES[i].v, s, CASES[i].score);
        assert_int_equal(cvss_severity(s), CASES[i].sev);
    }
}

static void test_v3_refused(void **state)
{
    (void)state;
    double s = 42;
    assert_int_equal(cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", &s), -1);     /* A missing */
    assert_int_equal(cvss3_score("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", &s), -1);
    assert_int_equal(cvss3_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", &s), -1);
    assert_int_equal(cvss3_score("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", &s), -1);
    assert_int_equal(cvss3_score("AV:N/AC:L/Au:N/C:P/I:P/A:P", &s), -1);
    assert_int_equal(cvss3_score("CVSS:3.1/", &s), -1);
    assert_true(s == 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_scores),
        cmocka_unit_test(test_v3_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
