/* router.c - a linear table: a handful of routes, matched segment by
 * segment; {name} segments capture one non-empty path segment. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/list.h"
#include "routes.h"

#define SEGMENT_MAX 256

/* One line per route: what it requires (router.h), enforced by the gate
 * (gate.c). Region per sdk-routes.md's column; the scan-results routes
 * are imgsec's own and keep the contract's required region (data-model.md). */
#define PUBLIC(m, p, op, flags, body, handle) {m, p, op, flags, ROLE_READER, SCOPE_NONE, \
                                               REGION_ABSENT, body, NULL, handle}
#define V5(m, p, op, role, scope, region, body, prepare, handle) \
    {m, p, op, ROUTE_AUTH | ROUTE_V5, role, scope, region, body, prepare, handle}

static const route ROUTES[] = {
    PUBLIC("GET", "/healthz", "health", 0, ROUTE_BODY_SMALL, health_handle),
    /* the web console: static files, no credentials, no region (route_console.c) */
    PUBLIC("GET", "/", "imgsec:Console", 0, ROUTE_BODY_SMALL, console_root_handle),
    PUBLIC("GET", "/console", "imgsec:Console", 0, ROUTE_BODY_SMALL, console_index_handle),
    PUBLIC("GET", "/console/{file}", "imgsec:Console", 0, ROUTE_BODY_SMALL, console_file_handle),
    PUBLIC("POST", "/v3/auth/tokens", "KeystoneCreateUserTokenByPassword", ROUTE_KEYSTONE,
           ROUTE_BODY_SMALL, tokens_create_handle),
    PUBLIC("DELETE", "/v3/auth/tokens", "KeystoneRevokeToken", ROUTE_KEYSTONE, ROUTE_BODY_SMALL,
           tokens_delete_handle),
    /* the EPS service's shape: the caller's EPs on the token's project (route_eps.c) */
    {"GET", "/v1.0/enterprise-projects", "ListEnterpriseProject", ROUTE_AUTH, ROLE_READER,
     SCOPE_NONE, REGION_ABSENT, ROUTE_BODY_SMALL, NULL, eps_list_handle},
    V5("POST", "/v5/{project_id}/image/scan-results", "imgsec:IngestScanResults", ROLE_WRITER,
       SCOPE_ONE, REGION_REQUIRED, ROUTE_BODY_CONFIG, ingest_prepare, ingest_handle),
    V5("DELETE", "/v5/{project_id}/image/scan-results/{id}", "imgsec:DeleteImage", ROLE_WRITER,
       SCOPE_NONE, REGION_REQUIRED, ROUTE_BODY_SMALL, NULL, ingest_delete_handle),
    V5("POST", "/v5/{project_id}/image/security-report/statistic",
       "ShowImageSecurityReportStatistic", ROLE_READER, SCOPE_ANY, REGION_REQUIRED,
       ROUTE_BODY_QUERY, statistic_prepare, statistic_handle),
    V5("POST", "/v5/{project_id}/image/security-report/export-tasks",
       "ExportImageSecurityReportTask", ROLE_WRITER, SCOPE_ANY, REGION_ABSENT, ROUTE_BODY_QUERY,
       NULL, export_tasks_handle),
    V5("POST", "/v5/{project_id}/image/baseline/export", "BatchExportBaselineTask", ROLE_WRITER,
       SCOPE_ANY, REGION_OPTIONAL, ROUTE_BODY_QUERY, export_sized_prepare, export_baseline_handle),
    V5("POST", "/v5/{project_id}/image/local-vulnerability/export", "BatchExportLocalVulTask",
       ROLE_WRITER, SCOPE_ANY, REGION_REQUIRED, ROUTE_BODY_QUERY, export_sized_prepare,
       export_local_vul_handle),
    V5("GET", "/v5/{project_id}/export-task/{task_id}", "ListQueryExportTask", ROLE_READER,
       SCOPE_CHECKED, REGION_OPTIONAL, ROUTE_BODY_SMALL, NULL, export_task_status_handle),
    V5("GET", "/v5/{project_id}/download/{file_id}", "ListDownloadExportedFile", ROLE_READER,
       SCOPE_CHECKED, REGION_OPTIONAL, ROUTE_BODY_SMALL, NULL, export_download_handle),
    V5("GET", "/v5/{project_id}/image/registries/images", "ListRegistryImages", ROLE_READER,
       SCOPE_ANY, REGION_ABSENT, ROUTE_BODY_SMALL, images_registry_prepare, images_registry_handle),
    V5("GET", "/v5/{project_id}/image/cicd/images", "ListCicdImages", ROLE_READER, SCOPE_ANY,
       REGION_ABSENT, ROUTE_BODY_SMALL, images_cicd_prepare, images_cicd_handle),
    V5("GET", "/v5/{project_id}/image/local-repositories", "ListImageLocal", ROLE_READER,
       SCOPE_ANY, REGION_ABSENT, ROUTE_BODY_SMALL, images_local_prepare, images_local_handle),
    /* a project's registries (route_registries.c): project-wide, so an EP given is only
     * checked; before the finding lists, whose paths are fixed */
    V5("POST", "/v5/{project_id}/image/registries", "AddRegistry", ROLE_ADMIN, SCOPE_CHECKED,
       REGION_ABSENT, ROUTE_BODY_SMALL, NULL, registries_add_handle),
    V5("GET", "/v5/{project_id}/image/registries", "ListRegistry", ROLE_READER, SCOPE_CHECKED,
       REGION_ABSENT, ROUTE_BODY_SMALL, NULL, registries_list_handle),
    V5("GET", "/v5/{project_id}/image/registries/statistics", "ListRegistryStatistics",
       ROLE_READER, SCOPE_CHECKED, REGION_ABSENT, ROUTE_BODY_SMALL, NULL,
       registries_statistics_handle),
    V5("POST", "/v5/{project_id}/image/registries/batch-delete", "BatchDeleteRegistry",
       ROLE_ADMIN, SCOPE_CHECKED, REGION_ABSENT, ROUTE_BODY_SMALL, NULL,
       registries_batch_delete_handle),
    V5("PUT", "/v5/{project_id}/image/registries/{id}", "UpdateRegistry", ROLE_ADMIN,
       SCOPE_CHECKED, REGION_ABSENT, ROUTE_BODY_SMALL, NULL, registries_update_handle),
    V5("DELETE", "/v5/{project_id}/image/registries/{id}", "DeleteRegistry", ROLE_ADMIN,
       SCOPE_CHECKED, REGION_ABSENT, ROUTE_BODY_SMALL, NULL, registries_delete_handle),
    /* registry sync and scan tasks (route_tasks.c): project-wide, as the registries */
    V5("POST", "/v5/{project_id}/image/image-scan/tasks", "CreateManualImageScanTask",
       ROLE_WRITER, SCOPE_CHECKED, REGION_OPTIONAL, ROUTE_BODY_QUERY, NULL,
       tasks_scan_create_handle),
    V5("GET", "/v5/{project_id}/image/tasks", "ListImageScanTask", ROLE_READER, SCOPE_CHECKED,
       REGION_ABSENT, ROUTE_BODY_SMALL, NULL, tasks_list_handle),
    V5("PUT", "/v5/{project_id}/image/image-scan/tasks/{task_id}/stop", "StopImageScanTask",
       ROLE_WRITER, SCOPE_CHECKED, REGION_OPTIONAL, ROUTE_BODY_SMALL, NULL, tasks_stop_handle),
    V5("POST", "/v5/{project_id}/image/image-sync/tasks", "CreateImageSynchronizeTask",
       ROLE_WRITER, SCOPE_CHECKED, REGION_OPTIONAL, ROUTE_BODY_QUERY, NULL,
       tasks_sync_create_handle),
    /* the finding lists: one route per row of LIST_KINDS (imgsec/list.h) */
#define LIST_ROUTE(kind, op, path, report, region, min_limit, cli)                                \
    V5("GET", path, op, ROLE_READER, SCOPE_ANY, REGION_##region, ROUTE_BODY_SMALL, lists_prepare, \
       lists_handle),
    LIST_KINDS(LIST_ROUTE)
#undef LIST_ROUTE
};

const route *router_table(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}

typedef enum { MATCH_NO, MATCH_YES, MATCH_NO_MEMORY } match_result;

/* Matches path against pattern; captures placeholders into params when
 * params != NULL (MATCH_NO_MEMORY if a capture cannot be copied: nothing
 * is left captured). A single trailing '/' on the path is tolerated. */
static match_result pattern_match(const char *pattern, const char *path, char **params,
                                  size_t *nparams)
{
    size_t n = 0;
    match_result miss = MATCH_NO;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            goto fail;
        p++, s++;
        const char *pend = strchr(p, '/');
        const char *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (plen > 1 && p[0] == '{') {
            if (slen == 0 || slen > SEGMENT_MAX || n >= HTTP_MAX_PATH_PARAMS)
                goto fail; /* frees what earlier placeholders captured */
            if (params && !(params[n] = strndup(s, slen))) {
                miss = MATCH_NO_MEMORY;
                goto fail;
            }
            n++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            goto fail;
        }
        p += plen, s += slen;
    }
    if (*p == '\0' && (*s == '\0' || (s[0] == '/' && s[1] == '\0'))) {
        if (nparams)
            *nparams = n;
        return MATCH_YES;
    }
fail:
    if (params)
        for (size_t i = 0; i < n; i++) {
            free(params[i]);
            params[i] = NULL;
        }
    return miss;
}

router_result router_match(request *req, const route **out, char *allow, size_t allow_size)
{
    size_t nroutes = sizeof ROUTES / sizeof ROUTES[0];
    for (size_t i = 0; i < nroutes; i++) {
        if (strcmp(ROUTES[i].method, req->method) != 0)
            continue;
        switch (pattern_match(ROUTES[i].pattern, req->path, req->params, &req->nparams)) {
        case MATCH_YES: *out = &ROUTES[i]; return ROUTER_FOUND;
        case MATCH_NO_MEMORY: return ROUTER_NO_MEMORY;
        case MATCH_NO: break;
        }
    }
    bool any = false;
    allow[0] = '\0';
    for (size_t i = 0; i < nroutes; i++) {
        if (pattern_match(ROUTES[i].pattern, req->path, NULL, NULL) != MATCH_YES)
            continue;
        if (strstr(allow, ROUTES[i].method))
            continue;
        size_t used = strlen(allow);
        if (used + strlen(ROUTES[i].method) + 3 < allow_size) {
            if (any)
                strcat(allow, ", ");
            strcat(allow, ROUTES[i].method);
        }
        any = true;
    }
    return any ? ROUTER_NO_METHOD : ROUTER_NO_PATH;
}
