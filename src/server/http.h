/* http.h - one HTTP request as the route handlers see it.
 *
 * The libmicrohttpd glue (http.c) turns MHD's callback protocol into two
 * steps per request: checks that need only the headers run first (route,
 * credentials, project, region, query parameters), so a refused request
 * is answered before its body is read; the handler then runs once with
 * the whole body, bounded by the route's limit. Every reply carries
 * X-Request-Id and, for JSON, the contract's Content-Type (errors.md).
 */
#ifndef IMGSECD_HTTP_H
#define IMGSECD_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "imgsec/err.h"
#include "imgsec/sign.h"
#include "imgsec/store.h"
#include "imgsec/util.h"

#define HTTP_REQUEST_ID_HEX 32
#define HTTP_MAX_PATH_PARAMS 4
#define HTTP_MAX_EXTRA_HEADERS 8
/* Longer request targets are refused (414): the longest an AK/SK signature
 * covers (sign.h), so that every target served can be signed. */
#define HTTP_RAW_TARGET_MAX SIGN_URI_MAX
#define HTTP_JSON_TYPE "application/json;charset=UTF-8"
/* Retry-After of a 503 for an unreachable database (IMGSEC_EUNAVAILABLE):
 * the driver's longest reconnect backoff, DB_RETRY_AFTER_S in db.h. */
#define HTTP_RETRY_AFTER_UNAVAILABLE "2"

struct route;
struct ep_scope;

typedef struct request {
    struct MHD_Connection *conn;
    app *app;
    const char *method;
    char *path;                          /* decoded path, no query */
    char *raw_target;                    /* request target as received, before any
                                            unescaping (for AK/SK signatures) */
    bool target_too_long;                /* over HTTP_RAW_TARGET_MAX: not copied */
    bool begun;                          /* the access handler has seen it */
    char request_id[HTTP_REQUEST_ID_HEX + 1];
    int64_t start_ns;

    const struct route *route;
    char *params[HTTP_MAX_PATH_PARAMS];  /* {placeholders} of the route, in order */
    size_t nparams;

    util_buf body;                       /* .buf NULL until a byte arrived: read it
                                            with http_body */
    size_t body_max;
    bool body_too_large;                 /* over body_max, or out of memory */

    /* A failed-authentication attempt reserved before a password check
     * (http_auth_attempt_reserve): settled by the reply. */
    bool auth_reserved;
    int64_t auth_ticket;

    bool authenticated;
    store_principal principal;           /* valid when authenticated */
    /* The route's EP scope as the gate resolved it (gate.h); NULL on routes
     * that resolve none (router.h route_scope). */
    struct ep_scope *scope;
    /* The file generation (follow.h) as of this request: probed once, after
     * it arrived, by http_file_gen. */
    int64_t file_gen;
    bool file_gen_known;
    /* AK/SK: the HMAC covers the body, so it is checked once the body is
     * in; until then the request is only provisionally admitted (authn.c)
     * and the project, region and route checks wait too. */
    bool sign_pending;
    struct authn_sign *sign;             /* authn.c's per-request state */
    /* Bytes of body_budget.h taken for this request while sign_pending:
     * given back once the signature is checked, or when it ends. */
    size_t unverified_held;
    int unverified_refused;              /* a body_budget_result other than OK:
                                            the budget ran out while the body came */

    void *state;                         /* a route's own per-request data */
    void (*state_free)(void *state);
    /* Suspended by its handler (http_suspend): resumed() answers it once
     * http_resume handed it back. */
    bool suspended;
    void (*resumed)(struct request *req);

    unsigned status;                     /* 0 until a reply is queued */
    const char *extra_names[HTTP_MAX_EXTRA_HEADERS];
    char *extra_values[HTTP_MAX_EXTRA_HEADERS];
    size_t nextra;
} request;

/* Header / query lookups (NULL when absent). A query key sent without
 * '=' is present with the value "" (query.c; query.h has the typed and
 * list readers). */
const char *http_header(request *req, const char *name);
const char *http_query(request *req, const char *name);

/* The whole body and its length: never NULL, "" with 0 when none came. */
const char *http_body(const request *req, size_t *len);

/* Adds a header to the reply about to be sent (value is copied). */
void http_add_header(request *req, const char *name, const char *value);

/* Replies. Each queues exactly one response; later calls are ignored. */
void http_reply_json(request *req, unsigned status, json_t *body); /* steals body; NULL = no body */
/* JSON already serialized (copied). */
void http_reply_json_text(request *req, unsigned status, const char *text, size_t len);
void http_reply_error(request *req, unsigned status, const char *error_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a library error to its status and error_code (errors.md); an
 * internal error is logged and answered without its details. */
void http_reply_err(request *req, const imgsec_err *err);
/* Internals go to the log under the request id, never to the caller.
 * code is the error's (err.h): an unreachable database (EUNAVAILABLE)
 * fails every request until it is back, so those lines are rate-limited
 * to one per HTTP_LOG_UNAVAILABLE_EVERY_MS, each saying how many it
 * stands for; every other error is logged each time. */
void http_log_internal(request *req, int code, const char *msg);
#define HTTP_LOG_UNAVAILABLE_EVERY_MS 1000
/* An internal error (500 HSS.0041): the message goes to the log only. */
void http_reply_internal(request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A file's bytes, streamed by MHD from fd (which it closes), with a
 * Content-Disposition unless disposition is NULL. False if the response
 * cannot be made: fd is closed and nothing is queued. */
bool http_reply_fd(request *req, unsigned status, int fd, size_t size, const char *type,
                   const char *disposition);
/* Any other body (copied), with its Content-Type: /metrics' text. */
/* A body of size bytes that MHD pulls from read(cls, ...) as the client
 * takes it (memory bounded by what read keeps); free_cls(cls) when done,
 * or at once when the response cannot be made (false, nothing queued).
 * With a Content-Disposition unless disposition is NULL. */
bool http_reply_stream(request *req, unsigned status, uint64_t size, MHD_ContentReaderCallback read,
                       MHD_ContentReaderFreeCallback free_cls, void *cls, const char *type,
                       const char *disposition);
void http_reply_text(request *req, unsigned status, const char *text, size_t len,
                     const char *type);
/* Keystone's own error shape, for /v3/auth/tokens. */
void http_reply_keystone_error(request *req, unsigned status, const char *title, const char *msg);

/* Long work off the HTTP threads. A handler that cannot answer at once
 * (its work would hold the HTTP thread and every connection it serves)
 * calls http_suspend as the last thing before it returns, without a reply,
 * and hands the work elsewhere; libmicrohttpd then leaves the connection
 * alone (no timeout, no disconnect detection) until http_resume, which
 * any thread may call, once, when the work is done; resumed(req) then runs
 * on an HTTP thread and must reply, as a handler does. The request stays
 * valid until then. http_stop stops the background pool (bg.h), which
 * runs every login it accepted and so resumes its request, before the
 * daemon: nothing else may suspend a request unless http_stop resumes it
 * too. */
void http_suspend(request *req, void (*resumed)(request *req));
void http_resume(request *req);
/* Wipes the request body in place (a password in it). */
void http_body_wipe(request *req);

/* The file generation as of this request (follow.h): the first call
 * probes, later ones give the same. Caches keyed on it (the token cache,
 * the statistic answers) and the index sync of the request all use this
 * one value, so they agree on what "now" is. */
int64_t http_file_gen(request *req);

/* Before a password check: reserves one failed-authentication attempt of
 * the client's address (ratelimit_reserve), so that logins sent at once
 * cannot get past --auth-fail-limit together. When none is left, replies
 * 429 with Retry-After and returns false. The reply settles the attempt:
 * a 401 keeps it as the failure, any other status gives it back; a
 * request never answered keeps it. */
bool http_auth_attempt_reserve(request *req);

/* The client's address (NULL if unknown). */
const struct sockaddr *http_client_addr(request *req);

/* Has the client closed its side of the connection (or has the connection
 * failed) while its request is being answered? One poll(2) of the socket,
 * without reading: for long work (a list that reads millions of rows) to
 * stop when nobody waits for the answer. A client that only shut down its
 * sending side but still reads counts as gone (HTTP clients do not). */
bool http_client_gone(request *req);

/* Starts the daemon on cfg->listen (a->bg started first: logins run on
 * it); *port gets the bound port. */
int http_start(app *a, unsigned *port, imgsec_err *err);
/* Stops accepting, waits up to drain_seconds for requests in flight,
 * stops the background pool (bg_stop: the logins still accepted are run),
 * stops. */
void http_stop(app *a);

#endif
