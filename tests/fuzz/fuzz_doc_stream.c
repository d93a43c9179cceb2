/* fuzz_doc_stream.c - libFuzzer target: the streamed ingest parser
 * (doc_stream.c) fed in pieces. The first byte picks NDJSON or one JSON
 * value (bit 0) and the piece size (the rest, 1-128 bytes), so the
 * fuzzer also explores tokens, escapes and UTF-8 split across pieces;
 * the same input whole must give the same result (for a JSON syntax
 * error in a JSON value: the same code; its text and position may be
 * found at another token when the pieces end elsewhere). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int take(void *arg, imgsec_doc *doc, size_t index, imgsec_err *err)
{
    size_t *n = arg;
    (void)err;
    if (index != *n)
        abort();
    (*n)++;
    doc_free(doc);
    return IMGSEC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool ndjson = data[0] & 1;
    size_t piece = (size_t)(data[0] >> 1) + 1, n = 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    imgsec_err err = {0}, whole_err = {0};
    doc_stream *ds = doc_stream_new(ndjson, take, &n);
    if (!ds)
        return 0;
    int rc = IMGSEC_OK;
    for (size_t off = 0; off < len && rc == IMGSEC_OK; off += piece)
        rc = doc_stream_feed(ds, buf + off, len - off < piece ? len - off : piece, &err);
    if (rc == IMGSEC_OK)
        rc = doc_stream_end(ds, &err);
    if (doc_stream_count(ds) != n)
        abort();
    doc_stream_free(ds);

    doc_list l;
    int whole = doc_list_parse(buf, len, ndjson, &l, &whole_err);
    bool syntax = !ndjson && rc == IMGSEC_EPARSE && !strstr(err.msg, "is not a JSON object") &&
                  strncmp(whole_err.msg, "invalid JSON body:", 18) == 0 &&
                  strncmp(err.msg, "invalid JSON body:", 18) == 0;
    if (whole != rc || (!syntax && strcmp(err.msg, whole_err.msg) != 0)) { /* pieces must not change the result */
        fprintf(stderr, "fuzz_doc_stream: pieces of %zu: %d \"%s\"; whole: %d \"%s\"\n", piece, rc,
                err.msg, whole, whole_err.msg);
        abort();
    }
    if (whole == IMGSEC_OK) {
        if (l.n != n)
            abort();
        doc_list_free(&l);
    }
    return 0;
}
