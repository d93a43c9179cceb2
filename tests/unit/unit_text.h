/* unit_text.h - building long test strings, for the unit tests' limit cases.
 * Header-only, like unit_tmp.h; include it after <cmocka.h>. */
#ifndef IMGSEC_UNIT_TEXT_H
#define IMGSEC_UNIT_TEXT_H

#include <stdlib.h>
#include <string.h>

/* A malloc'd string of n copies of unit (unit may be several bytes). */
static inline char *unit_repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

#endif
