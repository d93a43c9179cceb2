/* fuzz_statistic.c - libFuzzer target: the statistic body parser.
 * Input: a request body. It goes both ways route_statistic.c may send it:
 * the text front end (filter_from_text) and, as for any text that one
 * does not take, JSON object (or blank = {}) -> filter_from_json ->
 * filter_free. The two must agree (tests/unit/filter_diff.h): a
 * difference aborts, with both outcomes on stderr. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/filter_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char why[65536];
    if (!filter_diff_text((const char *)data, size, NULL, why, sizeof why)) {
        fprintf(stderr, "fuzz_statistic: the two front ends differ:\n%s\n", why);
        abort();
    }
    return 0;
}
