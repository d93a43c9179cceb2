/* scan_int.h - what the analyzer's modules share (internal).
 *
 * scan_result is what analyzers emit into: one JSON array per report type
 * (records in the shape of data-model.md), the image's operating system
 * from os-release, and non-fatal warnings. The driver (scan.c) turns it
 * into one ingest document.
 */
#ifndef IMGSEC_SCAN_INT_H
#define IMGSEC_SCAN_INT_H

#include <jansson.h>

#include "imgsec/scan.h"

#define SCAN_WARN_MAX 256 /* warnings kept per scan; more are counted, not kept */

struct scan_result {
    json_t *records[REPORT_TYPE_COUNT]; /* owned arrays, never NULL after scan_result_new */
    char *os_id, *os_version;           /* from os-release, or NULL */
    json_t *warnings;                   /* owned array of strings */
    size_t warnings_dropped;
    int oom;                            /* an emit or warn ran out of memory */
};

/* NULL on out of memory. */
scan_result *scan_result_new(void);
void scan_result_free(scan_result *res);

/* Every analyzer, in the order they are offered an entry
 * (scan_analyzers.c). */
extern const scan_analyzer *const scan_analyzers[];
extern const size_t scan_analyzers_count;

#endif
