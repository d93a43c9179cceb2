/* fuzz_doc_diff.c - libFuzzer target: the streamed ingest parser against
 * the jansson-based one it replaced (tests/unit/doc_ref.c): the same
 * documents or the same error for every input (doc_diff.h). The first
 * byte picks NDJSON or one JSON value (bit 0) and a piece size for the
 * new parser (the rest; 0: whole). A difference aborts with the reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "doc_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[1024];
    if (size < 1)
        return 0;
    if (!doc_diff((const char *)data + 1, size - 1, data[0] & 1, data[0] >> 1, why, sizeof why)) {
        fprintf(stderr, "fuzz_doc_diff: %s\n", why);
        abort();
    }
    return 0;
}
