/* err.c - see imgsec/err.h. */
#include "imgsec/err.h"

#include <stdio.h>

int err_set(imgsec_err *err, imgsec_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_clear(imgsec_err *err)
{
    if (err) {
        err->code = IMGSEC_OK;
        err->msg[0] = '\0';
    }
}

const char *err_code_name(imgsec_code code)
{
    switch (code) {
    case IMGSEC_OK: return "OK";
    case IMGSEC_EINVAL: return "EINVAL";
    case IMGSEC_EPARSE: return "EPARSE";
    case IMGSEC_EAUTH: return "EAUTH";
    case IMGSEC_EPROJECT: return "EPROJECT";
    case IMGSEC_EFORBIDDEN: return "EFORBIDDEN";
    case IMGSEC_ENOTFOUND: return "ENOTFOUND";
    case IMGSEC_ETOOLARGE: return "ETOOLARGE";
    case IMGSEC_ECONFLICT: return "ECONFLICT";
    case IMGSEC_EINTERNAL: return "EINTERNAL";
    }
    return "UNKNOWN";
}
