/* err.h - the one error type of libimgsec.
 *
 * Library code never prints or exits: a failing call fills an imgsec_err
 * and returns its code. The codes are the API's error classes (errors.md),
 * so the server maps a library error to a status and error_code without
 * guessing. Messages are written for the API caller: they name the
 * offending parameter and never carry secrets or SQL.
 */
#ifndef IMGSEC_ERR_H
#define IMGSEC_ERR_H

#include <stdarg.h>

/* Every error code, once: X(code, HTTP status, HSS error_code, public
 * message). The server answers a code with that status and error_code; its
 * error_msg is the error's own message, or, where a public message is
 * given, that message (the error's own is logged, never sent: it may name
 * files or SQLite's words). Declared here, enforced by err_code_info and
 * the server's http_reply_err, so a new code is one line. */
#define IMGSEC_ERR_MAP(X)                                                                          \
    /* bad, missing or out-of-range parameter */                                                   \
    X(EINVAL, 400, "HSS.0001", NULL)                                                               \
    /* body is not JSON / not an object / bad NDJSON line */                                       \
    X(EPARSE, 400, "HSS.0002", NULL)                                                               \
    /* no or bad credentials */                                                                    \
    X(EAUTH, 401, "APIGW.0301", NULL)                                                              \
    /* credentials scoped to another project */                                                    \
    X(EPROJECT, 403, "HSS.0010", NULL)                                                             \
    /* role or enterprise project not held */                                                      \
    X(EFORBIDDEN, 403, "HSS.0013", NULL)                                                           \
    /* named resource does not exist here */                                                       \
    X(ENOTFOUND, 404, "HSS.0011", NULL)                                                            \
    /* body over the route's limit */                                                              \
    X(ETOOLARGE, 413, "HSS.0001", NULL)                                                            \
    /* e.g. user already exists (CLI) */                                                           \
    X(ECONFLICT, 409, "HSS.0001", NULL)                                                            \
    /* the disk (or filesystem quota) holding the data is full: SQLITE_FULL,                     \
     * ENOSPC, EDQUOT. 507 Insufficient Storage (RFC 4918): a server-side                         \
     * condition that lasts until an operator frees space, so not a 503                            \
     * that clients and proxies retry at once (docs/api.md "Errors"). */                          \
    X(ENOSPACE, 507, "HSS.0041",                                                                   \
      "storage is full: the server cannot store data until its operator frees disk space")        \
    /* the database server cannot be reached (a PostgreSQL connection lost):                     \
     * the node reconnects by itself, so a 503 with Retry-After (every 503                       \
     * carries one, http_reply_err) that clients and proxies retry */                             \
    X(EUNAVAILABLE, 503, "HSS.0041",                                                               \
      "the database is unreachable: the server reconnects by itself; retry later")                \
    /* anything unexpected (I/O, SQLite, OOM) */                                                   \
    X(EINTERNAL, 500, "HSS.0041", "internal error")

typedef enum {
    IMGSEC_OK = 0,
#define IMGSEC_ERR_ENUM(name, status, hss, public_msg) IMGSEC_##name,
    IMGSEC_ERR_MAP(IMGSEC_ERR_ENUM)
#undef IMGSEC_ERR_ENUM
} imgsec_code;

#define IMGSEC_ERR_MSG_MAX 512

typedef struct {
    imgsec_code code;
    char msg[IMGSEC_ERR_MSG_MAX];
} imgsec_err;

/* Sets code and formats msg (truncated to fit). Returns code (as int, the
 * type every libimgsec call returns), so callers
 * can write `return err_set(err, IMGSEC_EINVAL, "...")`. err may be NULL. */
int err_set(imgsec_err *err, imgsec_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to IMGSEC_OK with an empty message. */
void err_clear(imgsec_err *err);

/* A stable name for a code ("EINVAL", ...), for logs and tests. */
const char *err_code_name(imgsec_code code);

/* One row of IMGSEC_ERR_MAP. */
typedef struct {
    const char *name;       /* "EINVAL" */
    unsigned http_status;   /* 400 */
    const char *error_code; /* "HSS.0001" */
    const char *public_msg; /* NULL: the error's own message is the answer's */
} err_info;

/* The row of code; an unknown code (or IMGSEC_OK, which is no error) gets
 * EINTERNAL's row. Never NULL. */
const err_info *err_code_info(imgsec_code code);

#endif
