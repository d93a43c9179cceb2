/* fuzz_doc.c - libFuzzer target: the ingest document parser (one JSON
 * document, or an array of them, as POST scan-results takes it). */
#include <stddef.h>
#include <stdint.h>

#include "imgsec/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    doc_list list;
    imgsec_err err = {0};
    if (doc_list_parse((const char *)data, size, false, &list, &err) == IMGSEC_OK)
        doc_list_free(&list);
    return 0;
}
