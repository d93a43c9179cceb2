/* http.c - libmicrohttpd glue: request life cycle, replies, logging.
 *
 * MHD calls the access handler several times per request: once with the
 * headers, then once per chunk of body, then once more with nothing left.
 * We run the header-time checks on the first call (so a 401 or 413 is sent
 * without reading a body that nobody will use), collect the body up to the
 * route's limit, and call the route's handler on the last call. The
 * completion callback writes the one log line per request and frees.
 *
 * An AK/SK-signed request cannot be fully checked on the first call: its
 * signature covers the body. Its header-time step only admits it
 * provisionally (well-formed header, known AK, fresh date); the HMAC, and
 * after it the project, region and route checks, run on the last call,
 * before the handler. The request object is made earlier than MHD's first
 * call, in the URI log callback, because that is the one place MHD shows
 * the request target as it arrived, before unescaping: the signature is
 * over those bytes.
 *
 * A handler whose work would hold the HTTP thread (a login's Argon2 check)
 * suspends its connection instead of replying (http_suspend) and hands the
 * work to a pool; the pool's worker resumes it (http_resume), MHD calls the
 * access handler once more, and the route's resumed() replies there.
 *
 * The front door (security.md): headers are bounded by the connection
 * memory limit, bodies by the route's limit, connections in total and per
 * client address, idle connections time out, and an address that keeps
 * failing authentication is answered 429 for a while (ratelimit.c).
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "authn.h"
#include "body_budget.h"
#include "gate.h"
#include "imgsec/util.h"
#include "bg.h"
#include "metrics.h"
#include "ratelimit.h"
#include "router.h"

#define HTTP_CONNECTION_LIMIT 1024
#define HTTP_PER_IP_CONNECTION_LIMIT 64
#define HTTP_CONNECTION_TIMEOUT_S 15       /* idle: a client silent this long is dropped */
#define HTTP_CONNECTION_MEMORY (32u << 10) /* bounds request line + headers */
/* The access log's method and path, escaped (longer ones are cut). */
#define HTTP_LOG_METHOD_MAX 64
#define HTTP_LOG_PATH_MAX 2048

const struct sockaddr *http_client_addr(request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci ? ci->client_addr : NULL;
}

bool http_client_gone(request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

const char *http_header(request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const request *req, size_t *len)
{
    *len = req->body.buf ? req->body.len : 0;
    return req->body.buf ? req->body.buf : "";
}

int64_t http_file_gen(request *req)
{
    if (!req->file_gen_known) {
        req->file_gen = follower_generation(req->app->follow);
        req->file_gen_known = true;
    }
    return req->file_gen;
}

void http_body_wipe(request *req)
{
    if (req->body.buf)
        sodium_memzero(req->body.buf, req->body.len);
}

void http_suspend(request *req, void (*resumed)(request *req))
{
    req->suspended = true;
    req->resumed = resumed;
    MHD_suspend_connection(req->conn);
}

void http_resume(request *req)
{
    /* MHD_resume_connection takes the daemon's lock, which the HTTP thread
     * takes too before it calls resumed(): what the caller wrote before
     * this is seen there. */
    MHD_resume_connection(req->conn);
}

void http_add_header(request *req, const char *name, const char *value)
{
    if (req->nextra < HTTP_MAX_EXTRA_HEADERS) {
        req->extra_names[req->nextra] = name;
        req->extra_values[req->nextra] = strdup(value);
        req->nextra++;
    }
}

/* Sends resp (destroyed here) with what every reply carries: the request
 * id, type when given, and the headers added with http_add_header. */
static void reply_response(request *req, unsigned status, struct MHD_Response *resp,
                           const char *type)
{
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    for (size_t i = 0; i < req->nextra; i++)
        if (req->extra_values[i])
            MHD_add_response_header(resp, req->extra_names[i], req->extra_values[i]);
    if (MHD_queue_response(req->conn, status, resp) == MHD_YES)
        req->status = status;
    MHD_destroy_response(resp);
    /* Every refused credential (token, signature, password) counts; an
     * attempt reserved before a password check is already counted. */
    if (req->auth_reserved) {
        req->auth_reserved = false;
        if (status != 401)
            ratelimit_refund(req->app->limiter, http_client_addr(req), req->auth_ticket);
    } else if (status == 401) {
        ratelimit_fail(req->app->limiter, http_client_addr(req), util_now_ms());
    }
}

static void reply_raw(request *req, unsigned status, char *body, size_t len, const char *type)
{
    if (req->status)
        return free(body);
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return;
    }
    reply_response(req, status, resp, body ? type : NULL);
}

bool http_reply_fd(request *req, unsigned status, int fd, size_t size, const char *type,
                   const char *disposition)
{
    struct MHD_Response *resp = req->status ? NULL : MHD_create_response_from_fd(size, fd);
    if (!resp) {
        close(fd);
        return false;
    }
    if (disposition) /* only now: a reply sent instead must not carry it */
        http_add_header(req, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    reply_response(req, status, resp, type);
    return true;
}

bool http_reply_stream(request *req, unsigned status, uint64_t size, MHD_ContentReaderCallback read,
                       MHD_ContentReaderFreeCallback free_cls, void *cls, const char *type,
                       const char *disposition)
{
    struct MHD_Response *resp =
        req->status ? NULL : MHD_create_response_from_callback(size, 64 * 1024, read, cls, free_cls);
    if (!resp) {
        free_cls(cls);
        return false;
    }
    if (disposition)
        http_add_header(req, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    reply_response(req, status, resp, type);
    return true;
}

void http_reply_text(request *req, unsigned status, const char *text, size_t len,
                     const char *type)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return reply_raw(req, 500, NULL, 0, NULL);
    memcpy(copy, text, len);
    copy[len] = '\0';
    reply_raw(req, status, copy, len, type);
}

void http_reply_json_text(request *req, unsigned status, const char *text, size_t len)
{
    http_reply_text(req, status, text, len, HTTP_JSON_TYPE);
}

void http_reply_json(request *req, unsigned status, json_t *body)
{
    if (!body)
        return reply_raw(req, status, NULL, 0, NULL);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return reply_raw(req, 500, NULL, 0, NULL);
    reply_raw(req, status, text, strlen(text), HTTP_JSON_TYPE);
}

static void reply_error_text(request *req, unsigned status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s}", "error_code", code, "error_msg", msg);
    http_reply_json(req, status, o);
}

void http_reply_error(request *req, unsigned status, const char *error_code, const char *fmt, ...)
{
    char msg[IMGSEC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_error_text(req, status, error_code, msg);
}

/* Keystone's titles: Python's reason phrases, which Keystone puts there. */
static const char *keystone_title(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* Does the request answer in Keystone's error shape (errors.md)? Its
 * route's flag says; before a route is chosen (a method the path does not
 * take, a target too long, bad framing) the route its path takes under
 * the method asked, or else under the first method it allows, says. */
static bool request_keystone(request *req)
{
    if (req->route)
        return req->route->flags & ROUTE_KEYSTONE;
    if (!req->path || !req->method)
        return false;
    request probe;
    memset(&probe, 0, sizeof probe);
    probe.path = req->path;
    probe.method = req->method;
    char allow[64], method[16];
    const route *r = NULL;
    router_result rr = router_match(&probe, &r, allow, sizeof allow);
    if (rr == ROUTER_NO_METHOD) {
        size_t n = strcspn(allow, ", ");
        if (n > 0 && n < sizeof method) {
            memcpy(method, allow, n);
            method[n] = '\0';
            for (size_t i = 0; i < probe.nparams; i++)
                free(probe.params[i]);
            probe.nparams = 0;
            probe.method = method;
            rr = router_match(&probe, &r, allow, sizeof allow);
        }
    }
    for (size_t i = 0; i < probe.nparams; i++)
        free(probe.params[i]);
    return rr == ROUTER_FOUND && (r->flags & ROUTE_KEYSTONE);
}

/* An error of the front door or the router (no route, method, target,
 * body size, framing, limits): Keystone's shape on Keystone's routes, the
 * HSS shape with hss_code elsewhere. */
static void reply_front_error(request *req, unsigned status, const char *hss_code,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_front_error(request *req, unsigned status, const char *hss_code,
                              const char *fmt, ...)
{
    char msg[IMGSEC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (request_keystone(req))
        http_reply_keystone_error(req, status, keystone_title(status), msg);
    else
        reply_error_text(req, status, hss_code, msg);
}

void http_reply_internal(request *req, const char *fmt, ...)
{
    imgsec_err err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    err.code = IMGSEC_EINTERNAL;
    if (request_keystone(req)) {
        http_log_internal(req, err.code, err.msg);
        return reply_front_error(req, 500, "HSS.0041", "internal error, request id %s",
                                 req->request_id);
    }
    http_reply_err(req, &err);
}

void http_reply_keystone_error(request *req, unsigned status, const char *title, const char *msg)
{
    json_t *o = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", (int)status, "title", title,
                          "message", msg);
    http_reply_json(req, status, o);
}

/* The lines for an unreachable database not written since the last one. */
static atomic_int_fast64_t unavailable_last_ms = INT64_MIN / 2;
static atomic_uint_fast64_t unavailable_unlogged;

void http_log_internal(request *req, int code, const char *msg)
{
    char esc[ACCESS_LOG_ESCAPE_MAX(IMGSEC_ERR_MSG_MAX)];
    access_log_escape(esc, sizeof esc, msg, strnlen(msg, IMGSEC_ERR_MSG_MAX), false);
    if (code != IMGSEC_EUNAVAILABLE) {
        fprintf(stderr, "imgsecd: internal error rid=%s: %s\n", req->request_id, esc);
        return;
    }
    /* one thread per interval wins the exchange and writes the line */
    int64_t now = util_mono_ns() / 1000000;
    int_fast64_t last = atomic_load(&unavailable_last_ms);
    if (now - last < HTTP_LOG_UNAVAILABLE_EVERY_MS ||
        !atomic_compare_exchange_strong(&unavailable_last_ms, &last, now)) {
        atomic_fetch_add(&unavailable_unlogged, 1);
        return;
    }
    uint_fast64_t more = atomic_exchange(&unavailable_unlogged, 0);
    if (more)
        fprintf(stderr,
                "imgsecd: database unreachable rid=%s: %s (and %llu more requests since the "
                "last such line)\n",
                req->request_id, esc, (unsigned long long)more);
    else
        fprintf(stderr, "imgsecd: database unreachable rid=%s: %s\n", req->request_id, esc);
}

/* libmicrohttpd's own messages, escaped like ours: one line each. */
static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512], esc[ACCESS_LOG_ESCAPE_MAX(sizeof msg)];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    while (len > 0 && msg[len - 1] == '\n') /* its own line ends */
        len--;
    access_log_escape(esc, sizeof esc, msg, len, false);
    fprintf(stderr, "imgsecd: libmicrohttpd: %s\n", esc);
}

void http_reply_err(request *req, const imgsec_err *err)
{
    /* status, error_code and what the caller may read: err.h's table */
    const err_info *e = err_code_info(err->code);
    /* every 503 says when to come back (the database reconnects itself) */
    if (e->http_status == 503)
        http_add_header(req, "Retry-After", HTTP_RETRY_AFTER_UNAVAILABLE);
    if (!e->public_msg)
        return reply_error_text(req, e->http_status, e->error_code, err->msg);
    http_log_internal(req, err->code, err->msg);
    http_reply_error(req, e->http_status, e->error_code, "%s, request id %s", e->public_msg,
                     req->request_id);
}

/* Request ids: unique and unguessable, without a getrandom(2) per request:
 * ChaCha20 of a counter under a key drawn once per process. */
static unsigned char request_id_key[crypto_stream_chacha20_ietf_KEYBYTES];
static atomic_uint_fast64_t request_id_counter;

static void request_id_next(char out[HTTP_REQUEST_ID_HEX + 1])
{
    unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    uint64_t n = atomic_fetch_add(&request_id_counter, 1);
    memcpy(nonce, &n, sizeof n);
    unsigned char id[HTTP_REQUEST_ID_HEX / 2];
    crypto_stream_chacha20_ietf(id, sizeof id, nonce, request_id_key);
    util_hex(id, sizeof id, out);
    out[HTTP_REQUEST_ID_HEX] = '\0';
}

static void log_request(request *req, int64_t ns)
{
    char ts[UTIL_ISO_TIME_MAX];
    util_iso_time(util_now_ms(), ts);
    double ms = (double)ns / 1e6;
    /* Method and path as the client sent them, escaped: one line, whatever
     * they hold (access_log.h). */
    char method[HTTP_LOG_METHOD_MAX], path[HTTP_LOG_PATH_MAX];
    access_log_escape(method, sizeof method, req->method, strlen(req->method), true);
    const char *raw_path = req->path ? req->path : ""; /* NULL: out of memory */
    access_log_escape(path, sizeof path, raw_path, strlen(raw_path), true);
    /* Whole lines only, so lines from different threads never interleave. */
    char line[HTTP_LOG_PATH_MAX + 256];
    int n = snprintf(line, sizeof line, "%s %s %s %u %.3fms rid=%s\n", ts, method, path,
                     req->status, ms, req->request_id);
    if (n > 0)
        access_log_write(req->app->alog, line,
                         (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* ---- bodies held before their signature is checked (body_budget.h) ---- */

/* Gives back what the request holds of the budget. */
static void unverified_release(request *req)
{
    if (req->unverified_held)
        body_budget_give(req->app->unverified, http_client_addr(req), req->unverified_held);
    req->unverified_held = 0;
}

/* Holds total bytes of the request's body (more than held so far) against
 * the budget: BODY_BUDGET_OK, or why not (nothing more is taken). */
static body_budget_result unverified_hold(request *req, size_t total)
{
    if (total <= req->unverified_held)
        return BODY_BUDGET_OK;
    body_budget_result r = body_budget_take(req->app->unverified, http_client_addr(req),
                                            total - req->unverified_held);
    if (r == BODY_BUDGET_OK)
        req->unverified_held = total;
    return r;
}

/* The refusal when the budget cannot take a body: 413 when no budget could
 * ever hold it, else 429 (this address holds too much) or 503 (the server
 * does), each with Retry-After. */
static void reply_unverified_refused(request *req, body_budget_result why, size_t want)
{
    const config *c = &req->app->cfg;
    size_t most = c->unverified_body_per_address_bytes < c->unverified_body_bytes
                      ? c->unverified_body_per_address_bytes
                      : c->unverified_body_bytes;
    if (want > most)
        return reply_front_error(req, 413, "HSS.0001",
                                 "request body too large: a signed request's body is limited to "
                                 "%zu bytes until its signature is checked",
                                 most);
    http_add_header(req, "Retry-After", "1");
    if (why == BODY_BUDGET_ADDRESS)
        return reply_front_error(req, 429, "APIGW.0308",
                                 "too many bytes of signed request bodies not yet checked from "
                                 "this address; retry later");
    reply_front_error(req, 503, "APIGW.0308",
                      "too many bytes of signed request bodies not yet checked; retry later");
}

/* Header time, a signed request provisionally admitted: the length it
 * declares is held at once, so one the budget cannot take is refused
 * before a byte of its body is read. A chunked body is held as it comes
 * (unverified_append). */
static bool unverified_admit(request *req)
{
    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (!cl || !util_parse_int64(cl, &n) || n <= 0)
        return true;
    body_budget_result r = unverified_hold(req, (size_t)n);
    if (r == BODY_BUDGET_OK)
        return true;
    reply_unverified_refused(req, r, (size_t)n);
    return false;
}

/* A chunk of a body not yet verified: false when the budget cannot hold
 * it; the request then holds nothing, keeps no body and is refused once
 * the rest has passed. */
static bool unverified_append(request *req, size_t len)
{
    if (req->unverified_refused)
        return false;
    body_budget_result r = unverified_hold(req, req->body.len + len);
    if (r == BODY_BUDGET_OK)
        return true;
    req->unverified_refused = (int)r;
    unverified_release(req);
    free(req->body.buf);
    memset(&req->body, 0, sizeof req->body);
    return false;
}

static void request_free(request *req)
{
    if (req->state_free)
        req->state_free(req->state);
    for (size_t i = 0; i < req->nparams; i++)
        free(req->params[i]);
    for (size_t i = 0; i < req->nextra; i++)
        free(req->extra_values[i]);
    unverified_release(req);
    gate_request_free(req);
    authn_sign_free(req->sign);
    free(req->raw_target);
    free(req->path);
    free(req->body.buf);
    free(req);
}

static void reply_rate_limited(request *req, unsigned retry)
{
    char value[16];
    snprintf(value, sizeof value, "%u", retry);
    http_add_header(req, "Retry-After", value);
    reply_front_error(req, 429, "APIGW.0308",
                      "too many failed authentications from this address; retry in %u s", retry);
}

/* An address over its failed-authentication budget gets 429 on every route
 * that takes credentials, until its window ends. */
static bool check_rate(request *req)
{
    const route *r = req->route;
    unsigned retry;
    if (!(r->flags & (ROUTE_AUTH | ROUTE_KEYSTONE)) ||
        !ratelimit_blocked(req->app->limiter, http_client_addr(req), util_now_ms(), &retry))
        return true;
    reply_rate_limited(req, retry);
    return false;
}

bool http_auth_attempt_reserve(request *req)
{
    unsigned retry = 1;
    if (!ratelimit_reserve(req->app->limiter, http_client_addr(req), util_now_ms(),
                           &req->auth_ticket, &retry)) {
        reply_rate_limited(req, retry);
        return false;
    }
    req->auth_reserved = true;
    return true;
}

static void reply_too_large(request *req)
{
    reply_front_error(req, 413, "HSS.0001",
                      "request body too large: the limit of this route is %zu bytes", req->body_max);
}

/* The body limit, announced by Content-Length before any byte is read. */
static bool check_declared_length(request *req)
{
    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (cl && util_parse_int64(cl, &n) && n > (int64_t)req->body_max) {
        reply_too_large(req);
        return false;
    }
    return true;
}

/* Message framing (RFC 9112 §6.3, §6.1, §3.2), checked before anything
 * else: a request whose body length two parties could read differently is
 * refused, so a proxy in front can never be desynchronised from us.
 * Refused: more than one Content-Length (even equal, or as a list: RFC 9110
 * §8.6 allows either, and refusing leaves nothing to disagree on) or one
 * that is not 1*DIGIT; Content-Length with Transfer-Encoding; a
 * Transfer-Encoding that is not exactly one "chunked" (any other coding, a
 * list, the header twice), or any in HTTP/1.0; HTTP/1.1 without Host, or
 * more than one Host. libmicrohttpd keeps every header line, repeated
 * ones included, and MHD_get_connection_values walks them all. */
typedef struct {
    unsigned content_length, transfer_encoding, host;
    bool content_length_bad, transfer_encoding_bad;
} framing;

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static enum MHD_Result framing_count(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (!key)
        return MHD_YES;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
        f->content_length_bad |= !value || !all_digits(value);
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->transfer_encoding_bad |= !value || strcasecmp(value, "chunked") != 0;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        f->host++;
    }
    return MHD_YES;
}

/* Replies 400 and closes the connection (the rest of its bytes are never
 * read as a request) when the framing is ambiguous; true when it is not. */
static bool check_framing(request *req, const char *version)
{
    framing f = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, framing_count, &f);
    bool http11 = version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
    const char *why = NULL;
    if (f.content_length > 1)
        why = "more than one Content-Length header";
    else if (f.content_length_bad)
        why = "Content-Length must be a decimal number";
    else if (f.content_length && f.transfer_encoding)
        why = "Content-Length together with Transfer-Encoding";
    else if (f.transfer_encoding && !http11)
        why = "Transfer-Encoding in an HTTP/1.0 request";
    else if (f.transfer_encoding > 1 || f.transfer_encoding_bad)
        why = "the only Transfer-Encoding accepted is chunked, once";
    else if (http11 && f.host == 0)
        why = "an HTTP/1.1 request needs a Host header";
    else if (f.host > 1)
        why = "more than one Host header";
    if (!why)
        return true;
    http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
    reply_front_error(req, 400, "HSS.0001", "bad request framing: %s", why);
    return false;
}

static bool finish_signed(request *req);

static void request_begin(request *req)
{
    char allow[64];
    const route *r = NULL;
    switch (router_match(req, &r, allow, sizeof allow)) {
    case ROUTER_NO_PATH:
        return reply_front_error(req, 404, "APIGW.0101", "the requested route %s does not exist",
                                 "path");
    case ROUTER_NO_METHOD:
        http_add_header(req, "Allow", allow);
        return reply_front_error(req, 405, "APIGW.0101",
                                 "method %s is not allowed here; allowed: %s", req->method, allow);
    case ROUTER_NO_MEMORY:
        return http_reply_internal(req, "out of memory copying the path parameters");
    case ROUTER_FOUND:
        break;
    }
    req->route = r;
    req->body_max = r->body_max == ROUTE_BODY_CONFIG ? req->app->cfg.ingest_max_bytes : r->body_max;
    if (!check_rate(req))
        return;
    if ((r->flags & ROUTE_AUTH) && authn_is_signed(req)) {
        if (!authn_signed_begin(req))
            return;
        /* An unsigned payload: the HMAC covers no body, so it is checked
         * now, and the body is never held unverified. */
        if (!authn_signed_covers_body(req)) {
            if (finish_signed(req))
                check_declared_length(req);
            return;
        }
        /* Provisional: the HMAC and everything after it wait for the
         * body, which the budget must first be able to hold. */
        if (check_declared_length(req))
            unverified_admit(req);
        return;
    }
    if ((r->flags & ROUTE_AUTH) && !authn_request(req))
        return;
    if (!gate_admit(req))
        return;
    check_declared_length(req);
}

/* The last call of a signed request: the signature over the whole body,
 * then the checks a token request passed at header time. */
static bool finish_signed(request *req)
{
    bool ok = authn_signed_finish(req);
    unverified_release(req); /* checked, one way or the other */
    if (!ok)
        return false;
    return gate_admit(req);
}

static void body_append(request *req, const char *data, size_t len)
{
    if (req->body_too_large || len > req->body_max - req->body.len) {
        req->body_too_large = true;
        return;
    }
    if (req->sign_pending && !unverified_append(req, len))
        return;
    util_buf_put(&req->body, data, len);
    if (req->body.failed) /* out of memory: refused like an oversized body */
        req->body_too_large = true;
}

/* MHD's URI log callback: runs once per request, with the request target
 * exactly as received; what it returns becomes the request's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->conn = conn;
    /* A copy that fails is not a long target: on_request tells them apart. */
    req->target_too_long = uri && strnlen(uri, HTTP_RAW_TARGET_MAX + 1) > HTTP_RAW_TARGET_MAX;
    if (uri && !req->target_too_long)
        req->raw_target = strdup(uri);
    return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    app *a = cls;
    request *req = *con_cls;
    if (!req)
        return MHD_NO; /* out of memory in on_uri */
    if (!req->begun) {
        req->begun = true;
        req->conn = conn;
        req->app = a;
        req->method = method;
        req->path = strdup(url);
        req->start_ns = util_mono_ns();
        request_id_next(req->request_id);
        atomic_fetch_add(&a->in_flight, 1);
        if (!req->path)
            return MHD_NO;
        if (!check_framing(req, version))
            return MHD_YES;
        if (req->target_too_long) {
            reply_front_error(req, 414, "HSS.0001", "the request target is longer than %d bytes",
                              HTTP_RAW_TARGET_MAX);
            return MHD_YES;
        }
        if (!req->raw_target) {
            http_reply_internal(req, "out of memory copying the request target");
            return MHD_YES;
        }
        request_begin(req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->status)
            body_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->status)
        return MHD_YES;
    if (req->suspended) { /* called again after http_resume */
        req->suspended = false;
        req->resumed(req);
        if (!req->status)
            http_reply_internal(req, "resumed handler of %s sent no reply", req->route->pattern);
        return MHD_YES;
    }
    if (req->body_too_large) {
        reply_too_large(req);
        return MHD_YES;
    }
    if (req->unverified_refused) {
        reply_unverified_refused(req, (body_budget_result)req->unverified_refused, 0);
        return MHD_YES;
    }
    if (req->sign_pending && !finish_signed(req))
        return MHD_YES;
    req->route->handle(req);
    if (!req->status && !req->suspended)
        http_reply_internal(req, "handler of %s sent no reply", req->route->pattern);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    app *a = cls;
    request *req = *con_cls;
    if (!req)
        return;
    bool begun = req->begun;
    if (begun) {
        int64_t ns = util_mono_ns() - req->start_ns;
        log_request(req, ns);
        metrics_request_done(a->metrics, req->route, req->status, ns);
    }
    request_free(req);
    *con_cls = NULL;
    if (begun)
        atomic_fetch_sub(&a->in_flight, 1);
}

/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4 interfaces). */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, imgsec_err *err)
{
    const char *colon = strrchr(listen, ':');
    int64_t port;
    if (!colon || !util_parse_int64(colon + 1, &port) || port < 0 || port > 65535)
        return err_set(err, IMGSEC_EINVAL, "--listen must be HOST:PORT, got '%s'", listen);
    char host[256];
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof host)
        return err_set(err, IMGSEC_EINVAL, "--listen host is too long");
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    memset(ss, 0, sizeof *ss);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        host[hlen - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return err_set(err, IMGSEC_EINVAL, "--listen: bad IPv6 address '%s'", host + 1);
        return IMGSEC_OK;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (hlen == 0 || strcmp(host, "0.0.0.0") == 0)
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return err_set(err, IMGSEC_EINVAL, "--listen: bad IPv4 address '%s'", host);
    return IMGSEC_OK;
}

int http_start(app *a, unsigned *port, imgsec_err *err)
{
    struct sockaddr_storage ss;
    int rc = parse_listen(a->cfg.listen, &ss, err);
    if (rc != IMGSEC_OK)
        return rc;
    randombytes_buf(request_id_key, sizeof request_id_key);
    /* Suspend/resume: logins wait for their password check off the HTTP
     * threads (bg.h). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
    if (a->tls_cert_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return err_set(err, IMGSEC_EINVAL,
                           "--tls-cert: this libmicrohttpd was built without TLS support");
        flags |= MHD_USE_TLS;
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert_pem};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key_pem};
    }
    if (!(a->unverified = body_budget_new(a->cfg.unverified_body_bytes,
                                          a->cfg.unverified_body_per_address_bytes)))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    a->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, a,
        /* first: libmicrohttpd reports the options after it through it, and
         * says so on standard error at every start otherwise */
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)a->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, a,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (!a->daemon)
        return err_set(err, IMGSEC_EINTERNAL, "cannot listen on %s", a->cfg.listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return IMGSEC_OK;
}

void http_stop(app *a)
{
    if (!a->daemon)
        return;
    /* Quiesce hands the listen socket back to us; it may only be closed
     * after MHD_stop_daemon, since MHD's threads still poll it until then. */
    atomic_store(&a->draining, true); /* /readyz: 503 from now on */
    MHD_socket listen_fd = MHD_quiesce_daemon(a->daemon);
    int64_t deadline = util_mono_ns() + (int64_t)a->cfg.drain_seconds * 1000000000LL;
    while (atomic_load(&a->in_flight) > 0 && util_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Before the daemon: stopping the background pool runs every login
     * already accepted and resumes its connection, and MHD_stop_daemon must
     * not find a connection still suspended; it also ends the exports
     * (marked interrupted) and a rematch. Requests that come on a
     * kept-alive connection from here on are refused a login or an export
     * (429). */
    bg_stop(a->bg);
    MHD_stop_daemon(a->daemon);
    a->daemon = NULL;
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    /* every request has ended: nothing may be held any more */
    size_t held = body_budget_held(a->unverified);
    if (held)
        fprintf(stderr, "imgsecd: %zu bytes of unverified bodies still accounted at stop\n", held);
    body_budget_free(a->unverified);
    a->unverified = NULL;
}
