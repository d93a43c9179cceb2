/* sign.h - AK/SK request signatures, SDK-HMAC-SHA256 (auth.md).
 *
 * The cloud SDKs sign a canonical form of the request; the server rebuilds
 * the same canonical form from the request exactly as it arrived on the
 * wire (raw path and raw query, before any unescaping) and compares HMACs
 * in constant time. The module is pure: no I/O, no clock, no store, so the
 * same code is unit-tested against known vectors and fuzzed. Every input
 * is bounded; anything over a bound is simply "does not authenticate".
 */
#ifndef IMGSEC_SIGN_H
#define IMGSEC_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"

#define SIGN_ALGORITHM "SDK-HMAC-SHA256"
#define SIGN_AUTH_HEADER_MAX 2048   /* longest Authorization header looked at */
#define SIGN_AK_MAX 64              /* an AK of the cloud is 20 chars */
#define SIGN_MAX_SIGNED_HEADERS 32
#define SIGN_HEADER_NAME_MAX 64
#define SIGN_SIGNATURE_HEX 64
#define SIGN_DATE_LEN 16            /* YYYYMMDDTHHMMSSZ */
#define SIGN_MAX_SKEW_MS (15LL * 60 * 1000)
#define SIGN_URI_MAX 8192           /* raw request target (path + query) */
#define SIGN_MAX_QUERY_PARAMS 128
#define SIGN_HEADER_VALUE_MAX 4096  /* a signed header's value */

/* The parsed Authorization header. */
typedef struct {
    char ak[SIGN_AK_MAX + 1];
    /* lowercase names, in the order the header lists them */
    char headers[SIGN_MAX_SIGNED_HEADERS][SIGN_HEADER_NAME_MAX + 1];
    size_t nheaders;
    char signed_headers[SIGN_MAX_SIGNED_HEADERS * (SIGN_HEADER_NAME_MAX + 1) + 1]; /* "a;b;c" */
    char signature[SIGN_SIGNATURE_HEX + 1];  /* lowercase hex */
} sign_auth;

/* Is the header an SDK-HMAC-SHA256 one (the scheme word only)? */
bool sign_is_signed(const char *authorization);

/* Parses "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex".
 * Header names are lowercased; host and x-sdk-date must be listed.
 * IMGSEC_EAUTH with a reason (never an echo of the input) otherwise. */
int sign_parse_authorization(const char *value, size_t len, sign_auth *out, imgsec_err *err);

/* Does the list name this (lowercase) header? */
bool sign_auth_lists(const sign_auth *a, const char *name);

/* Parses X-Sdk-Date (YYYYMMDDTHHMMSSZ) into ms since the epoch. */
bool sign_parse_date(const char *s, int64_t *ms);

/* A header value of the request, looked up by lowercase name; NULL if absent. */
typedef const char *(*sign_header_fn)(void *arg, const char *lower_name);

typedef struct {
    const char *method;
    const char *raw_target;     /* the request target as received: "/v5/p/x?b=2&a=1" */
    sign_header_fn header;
    void *header_arg;
    const unsigned char *body;  /* may be NULL when body_len == 0 */
    size_t body_len;
    bool unsigned_payload;      /* X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD */
} sign_request;

/* The canonical request (auth.md steps 1-6) as a malloc'd string. */
char *sign_canonical_request(const sign_request *r, const sign_auth *a, imgsec_err *err);

/* Lowercase hex signature of the request under sk, with the X-Sdk-Date
 * value `date`. out gets SIGN_SIGNATURE_HEX + 1 bytes. */
int sign_compute(const sign_request *r, const sign_auth *a, const char *date, const char *sk,
                 size_t sk_len, char out[SIGN_SIGNATURE_HEX + 1], imgsec_err *err);

/* True if the request's signature is a's, compared in constant time. */
bool sign_verify(const sign_request *r, const sign_auth *a, const char *date, const char *sk,
                 size_t sk_len);

#endif
