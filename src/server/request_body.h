/* request_body.h - the JSON object body shared by the HSS POST routes. */
#ifndef IMGSECD_REQUEST_BODY_H
#define IMGSECD_REQUEST_BODY_H

#include <jansson.h>

#include "http.h"

/* The body as a JSON object; an empty body is {} (statistic.md). Returns
 * NULL with IMGSEC_EPARSE (not JSON, bad UTF-8, not an object) in err. */
json_t *request_body_object(request *req, imgsec_err *err);

#endif
