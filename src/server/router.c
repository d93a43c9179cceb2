/* router.c - a linear table: a handful of routes, matched segment by
 * segment; {name} segments capture one non-empty path segment. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define SEGMENT_MAX 256

static const route ROUTES[] = {
    {"GET", "/healthz", 0, ROUTE_BODY_SMALL, NULL, health_handle},
    {"POST", "/v3/auth/tokens", ROUTE_KEYSTONE, ROUTE_BODY_SMALL, NULL, tokens_create_handle},
    {"DELETE", "/v3/auth/tokens", ROUTE_KEYSTONE, ROUTE_BODY_SMALL, NULL, tokens_delete_handle},
    {"POST", "/v5/{project_id}/image/scan-results", ROUTE_AUTH | ROUTE_V5, ROUTE_BODY_CONFIG,
     ingest_prepare, ingest_handle},
    {"DELETE", "/v5/{project_id}/image/scan-results/{id}", ROUTE_AUTH | ROUTE_V5, ROUTE_BODY_SMALL,
     ingest_delete_prepare, ingest_delete_handle},
    {"POST", "/v5/{project_id}/image/security-report/statistic", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_QUERY, statistic_prepare, statistic_handle},
    {"POST", "/v5/{project_id}/image/security-report/export-tasks", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_QUERY, export_tasks_prepare, export_tasks_handle},
    {"POST", "/v5/{project_id}/image/baseline/export", ROUTE_AUTH | ROUTE_V5, ROUTE_BODY_QUERY,
     export_sized_prepare, export_baseline_handle},
    {"POST", "/v5/{project_id}/image/local-vulnerability/export", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_QUERY, export_sized_prepare, export_local_vul_handle},
    {"GET", "/v5/{project_id}/export-task/{task_id}", ROUTE_AUTH | ROUTE_V5, ROUTE_BODY_SMALL,
     export_read_prepare, export_task_status_handle},
    {"GET", "/v5/{project_id}/download/{file_id}", ROUTE_AUTH | ROUTE_V5, ROUTE_BODY_SMALL,
     export_read_prepare, export_download_handle},
    /* the finding lists: the rows of LIST_KINDS (imgsec/list.h), in its order */
    {"GET", "/v5/{project_id}/image/{image_id}/vulnerabilities", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/{image_id}/apps", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/{image_id}/malwares", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/{image_id}/files", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/{image_id}/sensitive", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/{image_id}/non-compliant-app", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/baseline/risk-configs", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/baseline/risk-configs/{check_name}/rules", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/build-command-risks", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/build-command-risks/images", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/images/vulnerabilities", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/vulnerability/images", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/vulnerability/{vul_id}/cve", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/vulnerabilities", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/apps", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/malwares", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/files", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
    {"GET", "/v5/{project_id}/image/sensitive-information", ROUTE_AUTH | ROUTE_V5,
     ROUTE_BODY_SMALL, lists_prepare, lists_handle},
};

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
