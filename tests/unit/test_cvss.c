/* test_cvss.c - CVSS base scores from vectors, against the scores FIRST's
 * calculators give for them (v3.1 and v4.0 examples, NVD entries). */
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

static void test_v4_scores(void **state)
{
    (void)state;
    static const struct { const char *v; double score; } CASES[] = {
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3},
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0},
        {"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5},
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7},
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7},
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9},
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0},
        /* threat metric: E:U moves to MacroVector 000220 */
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1},
        /* supplemental metrics do not change the score */
        {"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/U:Red", 9.3},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        double s = -1;
        assert_int_equal(cvss4_score(CASES[i].v, &s), 0);
        if (s < CASES[i].score - 1e-9 || s > CASES[i].score + 1e-9)
            fail_msg("%s: %.1f, expected %.1f", CASES[i].v, s, CASES[i].score);
    }
    double s = 42;
    assert_int_equal(cvss4_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", &s), -1);
    assert_int_equal(cvss4_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:Q", &s), -1);
    assert_int_equal(cvss4_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", &s), -1);
    assert_true(s == 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_scores),
        cmocka_unit_test(test_v3_refused),
        cmocka_unit_test(test_v4_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
