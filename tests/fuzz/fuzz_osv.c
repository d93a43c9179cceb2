/* fuzz_osv.c - libFuzzer target: the OSV record parser (osv.c), which
 * reads records from files, archives and downloads, and the CVSS vector
 * parser it calls. */
#include <stddef.h>
#include <stdint.h>

#include "vulndb/vulndb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osv_record rec;
    imgsec_err err = {0};
    osv_parse((const char *)data, size, &rec, &err);
    osv_record_free(&rec);
    return 0;
}
