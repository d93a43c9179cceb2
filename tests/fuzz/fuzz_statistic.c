/* fuzz_statistic.c - libFuzzer target: the statistic body parser.
 * Input: a request body. It goes the way route_statistic.c sends it:
 * JSON object (or blank = {}) -> filter_from_json -> filter_free. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imgsec/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, 0, &jerr);
    if (!body)
        return 0;
    stat_query q;
    memset(&q, 0, sizeof q);
    imgsec_err err = {0};
    if (filter_from_json(body, &q, &err) == IMGSEC_OK)
        filter_free(&q);
    json_decref(body);
    return 0;
}
