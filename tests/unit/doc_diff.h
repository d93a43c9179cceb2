/* doc_diff.h - the streamed ingest parser (doc_stream.c) against the
 * parser it replaced (doc_ref.c), for test_doc_stream and fuzz_doc_diff. */
#ifndef IMGSEC_DOC_DIFF_H
#define IMGSEC_DOC_DIFF_H

#include <stdbool.h>
#include <stddef.h>

/* Parses buf[0..len) with both (the new one fed in pieces of `piece`
 * bytes; 0: whole) as a JSON body or NDJSON. True when both accept it
 * with the same documents (summary, aggregates, every record field as the
 * store binds it), or refuse it with the same code and message (for a
 * JSON syntax error: the same shape, and for NDJSON the same line);
 * except that a raw NUL byte, which jansson drops after a number or a
 * literal, is refused by the new parser;
 * otherwise false with why[0..size) saying how they differ. */
bool doc_diff(const char *buf, size_t len, bool ndjson, size_t piece, char *why, size_t size);

#endif
