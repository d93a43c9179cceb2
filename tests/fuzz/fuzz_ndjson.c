/* fuzz_ndjson.c - libFuzzer target: the NDJSON splitter (one document per
 * line, as POST scan-results takes application/x-ndjson). */
#include <stddef.h>
#include <stdint.h>

#include "imgsec/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    doc_list list;
    imgsec_err err = {0};
    if (doc_list_parse((const char *)data, size, true, &list, &err) == IMGSEC_OK)
        doc_list_free(&list);
    return 0;
}
