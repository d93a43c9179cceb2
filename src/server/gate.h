/* gate.h - one place that enforces what a route declares (router.h).
 *
 * After credentials (authn.h), in this order, each refusal replying in the
 * contract's shape (errors.md) and stopping there:
 *
 *   loopback ROUTE_LOOPBACK: a client on a loopback address, unless
 *            --metrics-from any (403 HSS.0013)
 *   project  ROUTE_V5: the path's {project_id} is the credentials' (403 HSS.0010)
 *   region   present: equals the server's; REGION_REQUIRED: present (400 HSS.0001)
 *   query    the route's prepare(), its own query parameters
 *   scope    enterprise_project_id resolved per route_scope into req->scope
 *            (400 HSS.0001, 403 HSS.0013)
 *   role     the caller's role >= min_role (403 HSS.0013)
 *
 * For a token this runs at header time, before the body is read; for an
 * AK/SK signature after the signature was verified over the whole body.
 */
#ifndef IMGSECD_GATE_H
#define IMGSECD_GATE_H

#include <stdbool.h>

#include "http.h"

/* Runs the checks above for req->route; false when it replied (refused). */
bool gate_admit(request *req);

/* The one refusal of credentials scoped to another project than the path's. */
void gate_reply_other_project(request *req);

/* Frees what gate_admit resolved (req->scope); request_free calls it. */
void gate_request_free(request *req);

#endif
