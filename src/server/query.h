/* query.h - the request's query parameters as the cloud SDKs send them
 * (sdk-routes.md section 3, "Query serialisation").
 *
 *   - a key without '=' (the Go SDK's empty value: `...&namespace&tag=1`)
 *     is present with the value "";
 *   - a repeated key is a list (both SDKs send slices that way);
 *   - for the typed readers below, a parameter given as "" is not given
 *     (the Go SDK sends every required field, empty or not), and a scalar
 *     parameter given twice is a 400 naming it.
 *
 * Every refusal is 400 HSS.0001 whose message names the parameter; the
 * reader replies itself and returns false. */
#ifndef IMGSECD_QUERY_H
#define IMGSECD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* The first value of name ("" for a bare key), NULL when absent.
 * (Declared in http.h as http_query, defined in query.c.) */

/* How many times name occurs; the first cap values (a bare key's is "")
 * go into out. */
size_t query_values(request *req, const char *name, const char **out, size_t cap);

/* A string parameter of 0..max_len characters (code points); *out NULL
 * when not given. */
bool query_string(request *req, const char *name, size_t max_len, const char **out);

/* An integer parameter in [min, max]; *out = dflt and *given = false when
 * not given (given may be NULL). */
bool query_int(request *req, const char *name, int64_t min, int64_t max, int64_t dflt,
               int64_t *out, bool *given);

/* A boolean parameter: `true` or `false` exactly (how both SDKs write
 * bools); *out unchanged and *given false when not given. */
bool query_bool(request *req, const char *name, bool *out, bool *given);

/* One of a NULL-terminated list of names: *out its index, or -1 when not
 * given. */
bool query_enum(request *req, const char *name, const char *const *names, int *out);

/* offset / limit as every HSS list has them: offset 0..2,000,000 (default
 * 0), limit limit_min..200 (default 10). */
#define QUERY_OFFSET_MAX 2000000
#define QUERY_LIMIT_MAX 200
#define QUERY_LIMIT_DEFAULT 10
bool query_page(request *req, int64_t limit_min, int64_t *offset, int64_t *limit);

#endif
