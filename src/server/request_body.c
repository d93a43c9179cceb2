/* request_body.c - see request_body.h. */
#include "request_body.h"

#include <ctype.h>

static bool body_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)p[i]))
            return false;
    return true;
}

json_t *request_body_object(request *req, imgsec_err *err)
{
    size_t len;
    const char *text = http_body(req, &len);
    if (body_blank(text, len))
        return json_object();
    json_error_t jerr;
    json_t *body = json_loadb(text, len, 0, &jerr);
    if (!body) {
        err_set(err, IMGSEC_EPARSE, "request body is not valid JSON: line %d column %d: %s",
                jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        err_set(err, IMGSEC_EPARSE, "request body must be a JSON object");
        return NULL;
    }
    return body;
}
