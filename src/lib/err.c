/* err.c - see imgsec/err.h. */
#include "imgsec/err.h"

#include <stddef.h>
#include <stdio.h>

static const err_info ERR_INFO[] = {
#define ERR_ROW(name, status, hss, public_msg) [IMGSEC_##name] = {#name, status, hss, public_msg},
    IMGSEC_ERR_MAP(ERR_ROW)
#undef ERR_ROW
};

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

const err_info *err_code_info(imgsec_code code)
{
    size_t i = (size_t)code;
    if (code == IMGSEC_OK || i >= sizeof ERR_INFO / sizeof ERR_INFO[0])
        return &ERR_INFO[IMGSEC_EINTERNAL];
    return &ERR_INFO[i];
}

const char *err_code_name(imgsec_code code)
{
    size_t i = (size_t)code;
    if (code == IMGSEC_OK)
        return "OK";
    if (i >= sizeof ERR_INFO / sizeof ERR_INFO[0])
        return "UNKNOWN";
    return ERR_INFO[i].name;
}
