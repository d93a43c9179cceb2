/* unit_ingest.h - NDJSON ingest documents stored into a test's store.
 *
 * Include after <cmocka.h> (it fails the test through fail_msg and
 * assert_int_equal). Header-only: each test is one file.
 */
#ifndef IMGSEC_UNIT_INGEST_H
#define IMGSEC_UNIT_INGEST_H

#include "imgsec/doc.h"
#include "imgsec/store.h"

/* Parses the len bytes of NDJSON at nd and stores every document into
 * project P1, EP "0" in one store_ingest; fails the test otherwise. */
static inline void unit_ingest_ndjson(store *st, const char *nd, size_t len)
{
    doc_list list;
    imgsec_err err = {0};
    if (doc_list_parse(nd, len, true, &list, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(store_ingest(st, "P1", "0", list.items, list.n, NULL, NULL, NULL, NULL, &err),
                     IMGSEC_OK);
    doc_list_free(&list);
}

#endif
