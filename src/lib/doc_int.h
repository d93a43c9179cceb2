/* doc_int.h - the document builder shared by the two front ends of doc.c
 * (a jansson tree: doc_from_json; bytes through yajl: doc_stream.c).
 *
 * A front end reports what it reads key by key, in input order, and the
 * builder holds the values until the end of the object they belong to,
 * then checks them in the order of the rule tables, so the first error
 * is the one doc.c has always reported, whatever order the keys came in.
 * Errors are kept per part (the image, each record kind) and resolved at
 * the end of the document in the rules' order: image, then the kinds in
 * report_type order. A later key of the same name replaces the earlier
 * value (as jansson's object does).
 */
#ifndef IMGSEC_DOC_INT_H
#define IMGSEC_DOC_INT_H

#include "imgsec/doc.h"

/* Value kinds before validation, beyond doc_vkind. */
enum {
    DOC_V_OTHER = 4,  /* true, false, an object or an array */
    DOC_V_TEXTNUL = 5 /* a string holding a NUL (only from a json_t built in code) */
};

/* What a document key holds. */
enum { DB_ABSENT, DB_NULL, DB_OBJECT_OR_ARRAY, DB_OTHER };

#define DB_MAX_FIELDS 32 /* fields of the widest record kind (checked in doc.c) */

typedef struct {
    int state;      /* DB_*: DB_OBJECT_OR_ARRAY means an array */
    size_t n;       /* records seen (stored while no error and n < DOC_RECORDS_MAX) */
    bool bad;       /* err holds the first bad record */
    bool have_max;  /* highest severity of the stored records */
    severity max;
    imgsec_err err;
} db_kind;

typedef struct {
    imgsec_doc doc;  /* under construction */
    const char *where;
    int image_state; /* DB_*: DB_OBJECT_OR_ARRAY means an object */
    doc_val *image;  /* doc_image_nkeys() values */
    db_kind kinds[REPORT_TYPE_COUNT];
    doc_val rec[DB_MAX_FIELDS]; /* the record being read */
} doc_build;

/* Image keys: an index for doc_build.image, or -1 for a key that is not one. */
int doc_image_key(const char *key, size_t len);
/* Record fields of kind t: an index for doc_build.rec, or -1. */
int doc_field_key(report_type t, const char *key, size_t len);
/* The record kind whose document key this is, or -1. */
int doc_kind_key(const char *key, size_t len);

/* Starts a document (where: "" or "documents[4]."). */
int doc_build_begin(doc_build *b, const char *where, imgsec_err *err);
/* Copies s[0..len) (NUL-terminated) into the document; NULL when out of memory. */
const char *doc_build_str(doc_build *b, const char *s, size_t len);
/* The "image" key: its state; a new object clears the values. */
void doc_build_image(doc_build *b, int state);
/* A record kind's key: its state; starts the kind afresh. */
void doc_build_kind(doc_build *b, report_type t, int state);
/* A record of kind t starts (its values in b->rec, cleared here)... */
void doc_build_record_begin(doc_build *b, report_type t);
/* ... and ends: checked and kept. false when out of memory. */
bool doc_build_record_end(doc_build *b, report_type t);
/* An array element of kind t that is not an object. */
void doc_build_not_object(doc_build *b, report_type t);
/* The end of the document: checks, summarises, moves it to *out. On error
 * nothing needs freeing. */
int doc_build_end(doc_build *b, imgsec_doc *out, imgsec_err *err);
/* Frees what a document under construction holds (after an abandoned one). */
void doc_build_abandon(doc_build *b);
/* The image's values (once per builder; doc_build_free frees it). */
bool doc_build_init(doc_build *b);
void doc_build_free(doc_build *b);

/* The errors of a body (doc_list_parse's texts). */
int doc_too_many_documents(imgsec_err *err);
int doc_no_documents(imgsec_err *err);

#endif
