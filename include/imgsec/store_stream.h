/* store_stream.h - store one image whose records arrive one at a time.
 *
 * store_ingest takes whole documents, so a 500 MB scanner report would
 * need all its records in memory at once. A stream writes the image row
 * at begin, each record as it comes (validated by doc_record_check, the
 * same rules as a document), and at commit the final counts, derived
 * severity level, aggregates and change-log entry, all inside ONE write
 * transaction: readers see the old image or the new one, never a mix, and
 * an abort (or any error) stores nothing. Memory held: the running counts
 * and one entry per distinct (vul_id, vul_type) and (rule_id, risk_name,
 * risk_level), never the records.
 *
 * The write transaction stays open from begin to commit/abort: other
 * writers on the file wait (busy timeout) for that long.
 */
#ifndef IMGSEC_STORE_STREAM_H
#define IMGSEC_STORE_STREAM_H

#include <jansson.h>

#include "imgsec/doc.h"
#include "imgsec/err.h"
#include "imgsec/model.h"
#include "imgsec/store.h"

typedef struct store_stream store_stream;

/* Opens the transaction and writes (or, same identity, replaces) the
 * image of `image`, a document validated by doc_from_json whose records
 * are ignored; it must stay alive until commit or abort. grant as for
 * store_ingest (NULL: no check). */
int store_stream_begin(store *st, const char *project_id, const char *ep, const imgsec_doc *image,
                       const store_grant *grant, store_stream **out, imgsec_err *err);

/* Validates (doc_record_check, `where` prefixes the path in errors) and
 * stores one record of type t. rec may be normalised in place; the caller
 * keeps its reference. On error the stream must be aborted. */
int store_stream_record(store_stream *ss, report_type t, json_t *rec, const char *where,
                        imgsec_err *err);

/* Finishes the image (counts, level, aggregates, change log) and commits.
 * Frees ss whatever happens; on error nothing is stored. */
int store_stream_commit(store_stream *ss, store_ingest_result *res, imgsec_err *err);

/* Rolls back and frees ss (NULL is fine). */
void store_stream_abort(store_stream *ss);

#endif
