/* route_health.c - GET /healthz: the server is up and its index is built
 * (the daemon only starts listening after that). */
#include "routes.h"

void health_handle(request *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}
