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

typedef enum {
    IMGSEC_OK = 0,
    IMGSEC_EINVAL,     /* 400 HSS.0001: bad, missing or out-of-range parameter */
    IMGSEC_EPARSE,     /* 400 HSS.0002: body is not JSON / not an object / bad NDJSON line */
    IMGSEC_EAUTH,      /* 401 APIGW.0301: no or bad credentials */
    IMGSEC_EPROJECT,   /* 403 HSS.0010: credentials scoped to another project */
    IMGSEC_EFORBIDDEN, /* 403 HSS.0013: role or enterprise project not held */
    IMGSEC_ENOTFOUND,  /* 404 HSS.0011: named resource does not exist here */
    IMGSEC_ETOOLARGE,  /* 413 HSS.0001: body over the route's limit */
    IMGSEC_ECONFLICT,  /* 409: e.g. user already exists (CLI) */
    IMGSEC_EINTERNAL   /* 500 HSS.0041: anything unexpected (I/O, SQLite, OOM) */
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

#endif
